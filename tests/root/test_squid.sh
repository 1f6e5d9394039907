#!/usr/bin/env bash
# End to end with a real Squid: `netfence run` with the embedded Squid in
# intercept mode, on a host (no namespace of the command's own: loopback is
# the host). Origins listen on loopback addresses 127.77.K.x of this test's
# own; Squid resolves the test's names through its hosts file, curl through
# --resolve.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_env

private_pins

need_tools "run scripts/install-deps.sh" curl openssl /usr/sbin/squid

K=$((RANDOM % 200 + 20))
A=127.77.$K.2	# allowed origins (HTTP and HTTPS)
B=127.77.$K.3	# blocked origin
E=127.77.$K.4	# HTTPS origin not allowed
MCP_PORT=$((20000 + RANDOM % 20000))
OTHER_PORT=$((MCP_PORT + 1))

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=origin.test -keyout "$TDIR/origin.key" -out "$TDIR/origin.crt" 2>/dev/null

bg_start allowed "$NFPROBE" serve --http --name allowed --listen "$A:80"
bg_start blocked "$NFPROBE" serve --http --name blocked --listen "$B:80"
bg_start mcp "$NFPROBE" serve --http --name mcp --listen "127.0.0.1:$MCP_PORT"
bg_start other "$NFPROBE" serve --http --name other --listen "127.0.0.1:$OTHER_PORT"
for p in allowed blocked mcp other; do
	wait_ready "$p" || { t_fail "start $p" "$(cat "$TDIR/$p.err")"; t_summary; exit 1; }
done
bg_start tls openssl s_server -quiet -www -accept "$A:443" -cert "$TDIR/origin.crt" \
	-key "$TDIR/origin.key"
bg_start tls2 openssl s_server -quiet -www -accept "$E:443" -cert "$TDIR/origin.crt" \
	-key "$TDIR/origin.key"
for i in $(seq 50); do
	ss -ltn | grep -q "$A:443" && ss -ltn | grep -q "$E:443" && break
	sleep 0.1
done

cat >"$TDIR/hosts" <<EOF
$A allowed.test sub.allowed.test bad.allowed.test secure.test
$A api-1.pat.test api-b2.pat.test apix.pat.test x.api-1.pat.test api-1.pat.test.evil.test
$A bad-1.allowed.test xn--bcher-kva.pat.test bucher.pat.test
$B blocked.test
$E evil.test
EOF

# The agent: each check writes "name result" to results; between the two
# phases the test makes a lookup miss from outside the agent's cgroup.
cat >"$TDIR/agent.sh" <<EOF
set -u
out=$TDIR/results
r() { printf '%s %s\n' "\$1" "\$2" >>"\$out"; }
http() { curl -sS -m 10 -o "$TDIR/body.\$1" -w '%{http_code}' "\${@:2}" 2>/dev/null; }
r cgroup "\$(sed -n 's/^0:://p' /proc/self/cgroup)"
r http_allowed "\$(http a --resolve allowed.test:80:$A http://allowed.test/)"
r http_allowed_body "\$(cat $TDIR/body.a)"
r http_sub "\$(http s --resolve sub.allowed.test:80:$A http://sub.allowed.test/)"
r http_blocked "\$(http b --resolve blocked.test:80:$B http://blocked.test/)"
r http_block_beats_allow "\$(http bb --resolve bad.allowed.test:80:$A http://bad.allowed.test/)"
r http_raw_ip "\$(http ip http://$A/)"
r https_allowed "\$(http t -k --resolve secure.test:443:$A https://secure.test/)"
# --allow-domains 'api-*.pat.test' (a pattern: '*' inside a label), --block-domains 'bad-*.allowed.test'
r pat_http "\$(http pa --resolve api-1.pat.test:80:$A http://api-1.pat.test/)"
r pat_http_upper "\$(http pu --resolve API-B2.Pat.Test:80:$A http://API-B2.Pat.Test/)"
r pat_http_nomatch "\$(http pn --resolve apix.pat.test:80:$A http://apix.pat.test/)"
r pat_http_sub "\$(http ps --resolve x.api-1.pat.test:80:$A http://x.api-1.pat.test/)"
r pat_http_suffix "\$(http px --resolve api-1.pat.test.evil.test:80:$A http://api-1.pat.test.evil.test/)"
r pat_http_path "\$(http pp --resolve evil.test:80:$E http://evil.test/api-1.pat.test)"
r pat_http_hosthdr "\$(http ph -H 'Host: evil.test/api-1.pat.test' http://$A/)"
r pat_https "\$(http pt -k --resolve api-1.pat.test:443:$A https://api-1.pat.test/)"
curl -sS -m 10 -k --resolve apix.pat.test:443:$A https://apix.pat.test/ >/dev/null 2>&1
r pat_https_nomatch_exit \$?
r pat_fwd "\$(http pf -x "\$NETFENCE_FORWARD_PROXY" http://api-b2.pat.test/)"
r pat_fwd_trick "\$(http pft -x "\$NETFENCE_FORWARD_PROXY" http://evil.test/api-1.pat.test)"
r pat_fwd_connect "\$(http pfc -k -x "\$NETFENCE_FORWARD_PROXY" https://api-1.pat.test/)"
r pat_fwd_connect_nomatch "\$(curl -sS -m 10 -k -o /dev/null -w '%{http_connect}' -x "\$NETFENCE_FORWARD_PROXY" https://apix.pat.test/ 2>/dev/null)"
r pat_block "\$(http pb --resolve bad-1.allowed.test:80:$A http://bad-1.allowed.test/)"
# an internationalised name given in Unicode (b\u00fccher.pat.test)
r idn_http "\$(http i1 --resolve xn--bcher-kva.pat.test:80:$A http://xn--bcher-kva.pat.test/)"
r idn_https "\$(http i2 -k --resolve xn--bcher-kva.pat.test:443:$A https://xn--bcher-kva.pat.test/)"
r idn_ascii_lookalike "\$(http i3 --resolve bucher.pat.test:80:$A http://bucher.pat.test/)"
curl -sS -m 10 -k --resolve evil.test:443:$E https://evil.test/ >/dev/null 2>&1
r https_blocked_exit \$?
# Forgery: an allowed name on another address (a server of the agent's own);
# Squid must not forward there on the word of the Host header or the SNI
r http_forged_host "\$(http fh --resolve allowed.test:80:$B http://allowed.test/)"
r http_forged_body "\$(cat $TDIR/body.fh)"
curl -sS -m 10 -k -o $TDIR/body.fs --resolve secure.test:443:$E https://secure.test/ >/dev/null 2>&1
r https_forged_sni_exit \$?
r fwd_http "\$(http f -x "\$NETFENCE_FORWARD_PROXY" http://allowed.test/)"
r fwd_https "\$(http fs -k -x "\$NETFENCE_FORWARD_PROXY" https://secure.test/)"
r fwd_blocked "\$(http fb -x "\$NETFENCE_FORWARD_PROXY" http://blocked.test/)"
r mcp_bypass "\$(http m http://127.0.0.1:$MCP_PORT/)"
r mcp_body "\$(cat $TDIR/body.m)"
curl -sS -m 5 http://127.0.0.1:$OTHER_PORT/ >/dev/null 2>&1
r other_port_exit \$?
touch $TDIR/phase1
for i in \$(seq 100); do [ -e $TDIR/phase2 ] && break; sleep 0.1; done
$NFPROBE storm --count 1000 $A 80 >/dev/null 2>&1
# -m 60: Squid drains 1,000 resets first (seconds in a guest under TCG)
r after_storm "\$(http p2 -m 60 --resolve allowed.test:80:$A http://allowed.test/)"
r after_storm_https "\$(http p3 -k --resolve secure.test:443:$A https://secure.test/)"
EOF

bg_start run "$NETFENCE" -v run --allow-domains $'allowed.test,secure.test,api-*.pat.test,B\xc3\x9cCHER.pat.test' \
	--block-domains 'bad.allowed.test,bad-*.allowed.test' --hosts-file "$TDIR/hosts" --squid-allow-loopback \
	--enable-host-access --allow-host-ports "$MCP_PORT" --log-dir "$TDIR/logs" \
	-- bash "$TDIR/agent.sh"

for i in $(seq 300); do [ -e "$TDIR/phase1" ] && break; sleep 0.1; done
if [ -e "$TDIR/phase1" ]; then
	t_pass "phase 1 ran"
else
	t_fail "phase 1 ran" "$(cat "$TDIR/run.err")"
fi
# A connection straight to Squid's intercept ports from outside the agent's
# cgroup: never redirected, so the lookup misses; Squid must keep serving.
ports=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\) (http), :\([0-9]*\) (tls).*/\1 \2/p' \
	"$TDIR/run.err")
read -r http_port tls_port <<<"$ports"
if [ -n "${http_port:-}" ]; then
	out=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -H 'Host: allowed.test' \
		"http://127.0.0.1:$http_port/" 2>&1)
	assert_match "direct to the intercept port: an error for that client only" "$out" '^[45][0-9][0-9]$'
	out=$("$NFPROBE" connect --timeout 2000 127.0.0.1 "$tls_port" 2>&1)
	assert_match "direct to the TLS intercept port: accepted (then closed or silent), not refused" \
		"$out" '"result":"ok"|"stage":"recv"'
	out=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -H 'Host: allowed.test' \
		"http://127.0.0.1:$http_port/" 2>&1)
	assert_match "after the direct TLS connection Squid still answers" "$out" '^[45][0-9][0-9]$'
else
	t_fail "Squid's ports in the -v output" "$(cat "$TDIR/run.err")"
fi
# this run's Squid, while it runs (after the run it would be reparented: find it now)
run_pid=$(bg_pid run)
squid_pid=$(pgrep -f "netfence-run-.*/squid.conf" -P "$run_pid" | head -n 1)
squid_start=$(nft_starttime "${squid_pid:-0}" 2>/dev/null)
assert_match "the run's Squid is a child of netfence run" "${squid_start:-}" '^[0-9]+$'
touch "$TDIR/phase2"
bg_wait run 60
rc=$?
assert_eq "netfence run exits with the command's status" "$rc" 0

res() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$TDIR/results"; }
assert_match "the command ran in its own cgroup" "$(res cgroup)" '^/netfence-run-[0-9]+/agent$'
assert_eq "HTTP, allowed domain" "$(res http_allowed)" 200
assert_eq "HTTP, allowed domain: the origin answered" "$(res http_allowed_body)" "HELLO allowed"
assert_eq "HTTP, subdomain of an allowed domain" "$(res http_sub)" 200
assert_eq "HTTP, domain not allowed: Squid refuses" "$(res http_blocked)" 403
assert_eq "HTTP, block list beats allow list" "$(res http_block_beats_allow)" 403
assert_eq "HTTP, raw IP refused" "$(res http_raw_ip)" 403
assert_eq "HTTPS, allowed SNI spliced to the origin" "$(res https_allowed)" 200
assert_match "HTTPS, SNI not allowed: TLS terminated" "$(res https_blocked_exit)" '^(35|56|52)$'
assert_eq "HTTP, allowed Host on another address: refused (409), not forwarded there" \
	"$(res http_forged_host)" 409
if [[ $(res http_forged_body) == *"HELLO blocked"* ]]; then
	t_fail "HTTP, allowed Host on another address: that server's answer never came back" \
		"$(res http_forged_body)"
else
	t_pass "HTTP, allowed Host on another address: that server's answer never came back"
fi
assert_match "HTTPS, allowed SNI on another address: not spliced there" \
	"$(res https_forged_sni_exit)" '^(35|56|52)$'
assert_eq "pattern api-*.pat.test: api-1.pat.test allowed, the origin answered" "$(res pat_http)" 200
assert_eq "pattern: case does not matter (API-B2.Pat.Test)" "$(res pat_http_upper)" 200
assert_eq "pattern: apix.pat.test (no '-') refused" "$(res pat_http_nomatch)" 403
assert_eq "pattern: a subdomain of a matching name refused (exact names only)" "$(res pat_http_sub)" 403
assert_eq "pattern: api-1.pat.test.evil.test refused (anchored at the end)" "$(res pat_http_suffix)" 403
assert_eq "pattern: http://evil.test/api-1.pat.test refused (the path is no host)" "$(res pat_http_path)" 403
assert_match "pattern: Host 'evil.test/api-1.pat.test' refused" "$(res pat_http_hosthdr)" '^4[0-9][0-9]$'
assert_eq "pattern: HTTPS to api-1.pat.test spliced" "$(res pat_https)" 200
assert_match "pattern: HTTPS to apix.pat.test terminated" "$(res pat_https_nomatch_exit)" '^(35|56|52)$'
assert_eq "pattern: forward proxy, http://api-b2.pat.test/" "$(res pat_fwd)" 200
assert_eq "pattern: forward proxy, http://evil.test/api-1.pat.test refused" "$(res pat_fwd_trick)" 403
assert_eq "pattern: forward proxy, CONNECT api-1.pat.test" "$(res pat_fwd_connect)" 200
assert_eq "pattern: forward proxy, CONNECT apix.pat.test refused" "$(res pat_fwd_connect_nomatch)" 403
assert_eq "block pattern bad-*.allowed.test beats allowed.test" "$(res pat_block)" 403
assert_eq "IDN: B\u00dcCHER.pat.test allows xn--bcher-kva.pat.test (HTTP)" "$(res idn_http)" 200
assert_eq "IDN: and its TLS, spliced" "$(res idn_https)" 200
assert_eq "IDN: bucher.pat.test is another name, refused" "$(res idn_ascii_lookalike)" 403
assert_match "IDN: squid.conf holds the xn-- form" "$(cat "$TDIR/logs/squid.conf")" \
	"acl nf_http_allow dstdomain -n .* \.xn--bcher-kva\.pat\.test"

assert_eq "forward proxy (HTTP_PROXY client), HTTP" "$(res fwd_http)" 200
assert_eq "forward proxy, CONNECT to an allowed domain" "$(res fwd_https)" 200
assert_eq "forward proxy, domain not allowed" "$(res fwd_blocked)" 403
assert_eq "host gateway (loopback) on an allowed port goes direct" "$(res mcp_bypass)" 200
assert_eq "host port bypass: the MCP stand-in answered" "$(res mcp_body)" "HELLO mcp"
assert_eq "loopback on another port is refused" "$(res other_port_exit)" 7
assert_eq "after a miss and 1,000 connect-and-reset clients: HTTP still served" \
	"$(res after_storm)" 200
assert_eq "after a miss and 1,000 connect-and-reset clients: HTTPS still served" \
	"$(res after_storm_https)" 200

log=$TDIR/logs/access.log
if [ -s "$log" ]; then
	t_pass "access.log kept in --log-dir"
else
	t_fail "access.log kept in --log-dir"
fi
assert_match "log: original destination of the HTTP request" "$(cat "$log")" \
	" $A:80 127.0.0.1:[0-9]+ GET allowed.test "
assert_match "log: the spliced TLS connection and its SNI" "$(cat "$log")" \
	" $A:443 127.0.0.1:[0-9]+ CONNECT [^ ]+ secure.test splice "
assert_match "log: the refusal" "$(cat "$log")" "GET blocked.test - - 403 TCP_DENIED"
assert_match "events.jsonl in --log-dir: the refused loopback port" "$(cat "$TDIR/logs/events.jsonl")" \
	"\"reason\":\"deny_port\",\"hook\":\"connect\",\"proto\":\"tcp\",\"family\":2,\"destination\":\"127.0.0.1:$OTHER_PORT\""
assert_eq "log: the host bypass never reached Squid" "$(grep -c ":$MCP_PORT" "$log")" 0
started=$(sed -n 's/.*started \([0-9]*\) ms after netfence run began.*/\1/p' "$TDIR/run.err")
echo "info: netfence run to command start: ${started:-?} ms"
assert_match "start time is reported" "${started:-}" '^[0-9]+$'

# Everything run made is gone.
assert_eq "no run cgroup left" "$(ls -d "$CG2/netfence-run-$run_pid" 2>/dev/null | wc -l)" 0
assert_eq "no run directory left" \
	"$(grep -ls "$TDIR/hosts" /tmp/netfence-run-*/squid.conf 2>/dev/null | wc -l)" 0
assert_eq "no Squid shared memory of this run left" "$(ls /dev/shm | grep -c "^nf${run_pid}r")" 0
assert_eq "no Squid of this run left" \
	"$(nft_is_ours "${squid_pid:-0}" "${squid_start:--}" && echo "pid $squid_pid runs")" ""
assert_eq "no pins left" "$(find "$NETFENCE_PIN_ROOT" -mindepth 1 2>/dev/null | wc -l)" 0

# A run killed with SIGKILL leaves its cgroups, Squid and run directory;
# `netfence cleanup` finds and removes them (never a live run's).
bg_start killed "$NETFENCE" run --allow-domains allowed.test -- sleep 60
# long enough for a slow guest (make test-kernels under TCG): stopped below
bg_start live "$NETFENCE" run --allow-domains allowed.test -- sleep 600
wait_run_cmd killed
wait_run_cmd live
killed_pid=$(bg_pid killed)
kill -9 "$killed_pid"
bg_wait killed 5
assert_eq "a killed run leaves its cgroup" "$(ls -d "$CG2/netfence-run-$killed_pid" 2>/dev/null | wc -l)" 1
assert_eq "a killed run leaves its Squid's shared memory (so the next check can fail)" \
	"$(($(ls /dev/shm | grep -c "^nf${killed_pid}r[0-9a-f]*-") > 0))" 1
out=$("$NETFENCE" -j cleanup)
assert_match "cleanup removes the dead run's cgroup" "$out" \
	"\"kind\":\"run-cgroup\",\"name\":\"$CG2/netfence-run-$killed_pid\",\"result\":\"removed\""
assert_match "cleanup removes the dead run's directory" "$out" \
	"\"kind\":\"run-directory\",\"name\":\"/tmp/netfence-run-$killed_pid-[^\"]*\",\"result\":\"removed\""
assert_eq "cleanup removes the dead Squid's shared memory" "$(ls /dev/shm | grep -c "^nf${killed_pid}r")" 0
assert_eq "nothing of the killed run is left" \
	"$(ls -d "$CG2/netfence-run-$killed_pid" /tmp/netfence-run-"$killed_pid"-* 2>/dev/null | wc -l)" 0
assert_eq "the live run is left alone" "$(ls -d "$CG2/netfence-run-$(bg_pid live)/agent" | wc -l)" 1
bg_stop live TERM >/dev/null
assert_eq "a run stopped with SIGTERM removes everything" \
	"$(ls -d "$CG2/netfence-run-$(bg_pid live)" 2>/dev/null | wc -l)" 0

t_summary
