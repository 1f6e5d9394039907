#!/usr/bin/env bash
# The test topology and the probe, without any BPF: the agent/host
# namespaces route, a process joins a cgroup and a namespace, the probe's
# servers answer (TCP, UDP, dual-stack), an original-destination lookup
# fails without NAT, --strict then stops accepting like Squid 5.7, storms
# run, and nothing of the test survives cleanup.
set -u

# shellcheck source=tests/root/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_env

if [[ ! -x $NFPROBE ]]; then
	t_fail build "$NFPROBE missing: run 'make build/tools/nfprobe'"
	t_summary
	exit 1
fi

# probe_agent ARGS...: nfprobe in the agent cgroup and namespace; sets OUT
# (its JSON line) and RC.
probe_agent() {
	OUT=$("$NFPROBE" -c "$CG" -n "$AGENT_NS" "$@" 2>"$TDIR/probe.err")
	RC=$?
}

# --- topology ---------------------------------------------------------------

if ! topo_up; then
	t_fail topo_up "could not build the namespaces"
	t_summary
	exit 1
fi
t_pass "topo_up: $AGENT_NS $AGENT_IP -> $HOST_NS $GW_IP, origins $ORIGIN1 $ORIGIN2"

if ! CG=$(make_cgroup agent); then
	t_fail make_cgroup "cannot create a cgroup under $CG2"
	t_summary
	exit 1
fi
assert_eq "make_cgroup path" "$CG" "$CG2/nftest-$$-agent"

for name in origin origin2 proxy sink; do
	case $name in
	origin)
		bg_start origin "$NFPROBE" -n "$HOST_NS" serve --name origin \
			--listen "$ORIGIN1:80" --udp "$ORIGIN1:5353" ;;
	origin2)
		bg_start origin2 "$NFPROBE" -n "$HOST_NS" serve \
			--name origin2 --listen "$ORIGIN2:80" ;;
	proxy)
		bg_start proxy "$NFPROBE" -n "$HOST_NS" serve --name proxy \
			--orig --strict --listen "$GW_IP:3129" ;;
	sink)
		bg_start sink "$NFPROBE" -n "$HOST_NS" serve --name sink \
			--listen "$GW_IP:9000" ;;
	esac
	if wait_ready "$name"; then
		t_pass "serve $name READY"
	else
		t_fail "serve $name READY" "$(tail -n 3 "$TDIR/$name.err")"
	fi
done

# --- cgroup and namespace of a probe ------------------------------------------

bg_start agentsrv "$NFPROBE" -c "$CG" -n "$AGENT_NS" serve --name agent \
	--listen 127.0.0.1:7000
if wait_ready agentsrv; then
	pid=$(bg_pid agentsrv)
	assert_eq "-c joins the cgroup" \
		"$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")" \
		"${CG#"$CG2"}"
	assert_eq "-n enters the netns" "$(stat -L -c %i "/proc/$pid/ns/net")" \
		"$(stat -L -c %i "/run/netns/$AGENT_NS")"
	probe_agent connect 127.0.0.1 7000
	assert_eq "agent loopback is its own" "$(json_field "$OUT" reply)" \
		"HELLO agent"
else
	t_fail "serve agentsrv READY" "$(tail -n 3 "$TDIR/agentsrv.err")"
fi

# --- TCP and UDP through the veth -------------------------------------------

probe_agent connect "$ORIGIN1" 80
assert_eq "tcp origin1 exit" "$RC" 0
assert_eq "tcp origin1 reply" "$(json_field "$OUT" reply)" "HELLO origin"
assert_eq "tcp origin1 peer" "$(json_field "$OUT" peer)" "$ORIGIN1:80"

probe_agent connect --send 'x' "$ORIGIN2" 80
assert_eq "tcp origin2 reply" "$(json_field "$OUT" reply)" "HELLO origin2"

probe_agent connect --v6 "$ORIGIN1" 80
assert_eq "tcp v4-mapped on AF_INET6" "$OUT" \
	"{\"result\":\"ok\",\"reply\":\"HELLO origin\",\"peer\":\"[::ffff:$ORIGIN1]:80\"}"

probe_agent connect "$ORIGIN1" 81
assert_eq "tcp closed port exit" "$RC" 1
assert_eq "tcp closed port" "$OUT" \
	'{"result":"error","stage":"connect","errno":111,"error":"ECONNREFUSED"}'

probe_agent connect --udp "$ORIGIN1" 5353
assert_eq "udp sendto reply" "$(json_field "$OUT" reply)" "HELLO origin"
assert_eq "udp sendto peer" "$(json_field "$OUT" peer)" "$ORIGIN1:5353"

probe_agent connect --udp --connected --send hi "$ORIGIN1" 5353
assert_eq "udp connected reply" "$(json_field "$OUT" reply)" "HELLO origin"

probe_agent connect --udp --timeout 300 "$ORIGIN2" 5353
assert_eq "udp no server: timeout exit" "$RC" 3
assert_eq "udp no server" "$OUT" '{"result":"timeout","stage":"recv"}'

# --- original destination without NAT, --strict ----------------------------

probe_agent connect "$GW_IP" 3129
assert_match "orig lookup fails without NAT" "$(json_field "$OUT" reply)" \
	'^ORIGERR E[A-Z0-9]+$'
probe_agent connect --timeout 1000 "$GW_IP" 3129
if [[ $RC == 3 || $(json_field "$OUT" error) == ECONNREFUSED ]]; then
	t_pass "strict: next client hangs or is refused ($OUT)"
else
	t_fail "strict: next client hangs or is refused" "rc=$RC $OUT"
fi
assert_match "strict logged" "$(cat "$TDIR/proxy.err")" \
	"strict: stopped listening on $GW_IP:3129"
assert_match "conn logged" "$(cat "$TDIR/proxy.err")" \
	"conn $AGENT_IP:[0-9]+ -> ORIGERR E[A-Z]+"

# Dual-stack listener: v4 clients arrive v4-mapped, asked with SOL_IPV6.
if [[ -e /proc/net/if_inet6 ]]; then
	bg_start proxy6 "$NFPROBE" -n "$HOST_NS" serve --name proxy6 --orig \
		--listen6 '[::]:3130'
	if wait_ready proxy6; then
		probe_agent connect "$GW_IP" 3130
		assert_match "dual-stack orig lookup" \
			"$(json_field "$OUT" reply)" '^ORIGERR E[A-Z0-9]+$'
		assert_match "dual-stack peer is v4-mapped" \
			"$(cat "$TDIR/proxy6.err")" \
			"conn \\[::ffff:$AGENT_IP\\]:[0-9]+ -> ORIGERR"
	else
		t_fail "serve proxy6 READY" "$(tail -n 3 "$TDIR/proxy6.err")"
	fi
else
	t_skip "dual-stack listener" "no IPv6 in this kernel"
fi

# --- storm ------------------------------------------------------------------

probe_agent storm --count 1000 "$GW_IP" 9000
assert_eq "storm to a listener" "$RC/$OUT" \
	'0/{"attempted":1000,"refused":0,"errors":0}'
probe_agent storm --count 300 "$GW_IP" 9001
assert_eq "storm to a closed port" "$RC/$OUT" \
	'0/{"attempted":300,"refused":300,"errors":0}'
# The sink still serves after the resets.
probe_agent connect "$GW_IP" 9000
assert_eq "sink serves after storm" "$(json_field "$OUT" reply)" "HELLO sink"

# --- serve lifecycle --------------------------------------------------------

bg_start once "$NFPROBE" -n "$HOST_NS" serve --name once \
	--listen "$ORIGIN2:81" --max 1
wait_ready once
probe_agent connect "$ORIGIN2" 81
bg_wait once 2
assert_eq "--max 1 exits 0 after one connection" "$?" 0
assert_match "--max stats" "$(cat "$TDIR/once.err")" \
	'stats accepted=1 orig_ok=0 orig_err=0'

kill -USR1 "$(bg_pid origin)"
for ((i = 0; i < 40; i++)); do
	grep -q '^stats ' "$TDIR/origin.err" && break
	sleep 0.05
done
assert_match "SIGUSR1 prints stats" "$(cat "$TDIR/origin.err")" \
	'stats accepted=2 orig_ok=0 orig_err=0'
bg_stop origin TERM
assert_eq "SIGTERM exits 0" "$?" 0

err=$("$NFPROBE" connect 2>&1 >/dev/null)
assert_eq "usage error exit" "$?" 2
assert_match "usage error message" "$err" '^Error: [^'$'\n'']+$'

# --- nothing left behind ----------------------------------------------------

cleanup
leftover=$(nft_leftovers)
assert_eq "cleanup leaves nothing" "$leftover" ""
t_summary
