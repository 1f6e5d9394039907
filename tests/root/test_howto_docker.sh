#!/usr/bin/env bash
# docs/docker.md, end to end, with namespaces and cgroups standing in for
# the containers (no Docker engine runs here). The files the page shows are
# the files used: squid.conf, the policy file agents.conf (their paths and
# addresses mapped to the test's, nothing else changed) and the page's
# attach command lines.
#
#   "agent container"  netns AGENT_NS (10.200.K.2), cgroups below a parent
#                      made first: nftest-$$-agents/ctr-1 (cgroup_parent)
#                      and nftest-$$-ctr-2 (attached by --pid)
#   "squid container"  Squid in netns HOST_NS, listening on SQUID_IP
#                      (10.201.K.2), cgroup nftest-$$-proxy/squid-N
#   host gateway       GW_IP (10.200.K.1): the MCP stand-in on :8080, another
#                      service on :9000
#   "internet"         ORIGIN1 (10.201.K.1): HTTP :80 and TLS :443
#   Docker's DNS       a UDP responder on 127.0.0.11:53 in the agent's netns
#
# Only addresses inside the test's namespaces carry traffic.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_env

DOC=$NFT_ROOT/docs/docker.md
need_tools "run scripts/install-deps.sh and make" curl openssl /usr/sbin/squid "$NFPROBE" \
	"$NETFENCE"

private_pins

# doc_file NAME: the fenced block after "<!-- file: NAME -->" in docker.md
doc_file() {
	awk -v want="<!-- file: $1 -->" '
		$0 == want { found = 1; next }
		found && /^```/ { if (inside) exit; inside = 1; next }
		inside { print }' "$DOC"
}

for f in squid.conf allowed-domains agents.conf; do
	doc_file "$f" >"$TDIR/doc-$f"
	if [[ -s $TDIR/doc-$f ]]; then
		t_pass "docs/docker.md shows $f"
	else
		t_fail "docs/docker.md shows $f" "no block after <!-- file: $f -->"
		t_summary
		exit 1
	fi
done

topo_up || { t_fail topo_up "could not build the namespaces"; t_summary; exit 1; }
SQUID_IP=$ORIGIN2	# the squid container's address on the compose network

# --- the "squid container" ------------------------------------------------------

mkdir -p "$TDIR/etc" "$TDIR/log"
chown proxy "$TDIR/log" 2>/dev/null
chmod 755 "$TDIR"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=netfence-intercept -keyout "$TDIR/key.pem" -out "$TDIR/cert.pem" 2>/dev/null
cat "$TDIR/cert.pem" "$TDIR/key.pem" >"$TDIR/etc/intercept.pem"
# the test's allowlist (the page's format); names resolve through a hosts file
printf '# test names\n.allowed.test\nsecure.test\n' >"$TDIR/etc/allowed-domains"
cat >"$TDIR/hosts" <<EOF
$ORIGIN1 allowed.test www.allowed.test secure.test blocked.test evil.test
EOF
chmod 644 "$TDIR/hosts" "$TDIR/etc/allowed-domains"
# the page's squid.conf, its paths mapped into the work dir, plus the hosts file
sed -e "s|/etc/squid/|$TDIR/etc/|g" -e "s|/var/log/squid/|$TDIR/log/|g" \
	-e "s|/run/squid.pid|$TDIR/log/squid.pid|" "$TDIR/doc-squid.conf" >"$TDIR/etc/squid.conf"
printf 'hosts_file %s\ncoredump_dir %s\n' "$TDIR/hosts" "$TDIR/log" >>"$TDIR/etc/squid.conf"
if out=$(/usr/sbin/squid -k parse -f "$TDIR/etc/squid.conf" 2>&1); then
	t_pass "Squid 5.7 accepts the page's squid.conf"
else
	t_fail "Squid 5.7 accepts the page's squid.conf" "$(grep -iE 'error|fatal' <<<"$out" | head -n 5)"
fi

# in_cg CGROUP NETNS CMD...: CMD in the cgroup, then in the namespace (ip
# netns exec remounts /sys: join the cgroup first). One process all along
# (exec), so that bg_start records CMD's own PID.
IN_CG=(bash -c 'echo $$ >"$1/cgroup.procs" && ns=$2 && shift 2 && exec ip netns exec "$ns" "$@"' _)
in_cg() {
	"${IN_CG[@]}" "$@"
}

# start_squid N: Squid in a new cgroup nftest-$$-proxy/squid-N (a container
# start), waits until its three ports listen
start_squid() {
	local cg i

	cg=$(make_cgroup "proxy/squid-$1") || return 1
	bg_start "squid$1" "${IN_CG[@]}" "$cg" "$HOST_NS" /usr/sbin/squid -N -f "$TDIR/etc/squid.conf"
	for ((i = 0; i < 100; i++)); do
		[[ $(ip netns exec "$HOST_NS" ss -Hltn "( sport = :3128 or sport = :3129 or sport = :3130 )" |
			wc -l) -ge 3 ]] && return 0
		sleep 0.1
	done
	echo "squid $1 did not listen: $(tail -n 5 "$TDIR/log/cache.log" 2>/dev/null)" >&2
	return 1
}

make_cgroup proxy >/dev/null || { t_fail "make_cgroup proxy"; t_summary; exit 1; }
if start_squid 1; then
	t_pass "Squid with the page's squid.conf listens on 3128, 3129, 3130"
else
	t_fail "Squid with the page's squid.conf listens" "$(cat "$TDIR/squid1.err")"
	t_summary
	exit 1
fi

# --- origins, the host's services, Docker's DNS ------------------------------------

bg_start origin "$NFPROBE" -n "$HOST_NS" serve --http --name origin --listen "$ORIGIN1:80"
bg_start mcp "$NFPROBE" -n "$HOST_NS" serve --http --name mcp --listen "$GW_IP:8080"
bg_start other "$NFPROBE" -n "$HOST_NS" serve --http --name other --listen "$GW_IP:9000"
bg_start dns "$NFPROBE" -n "$AGENT_NS" serve --name dockerdns --udp 127.0.0.11:53
bg_start hostdns "$NFPROBE" -n "$HOST_NS" serve --name hostdns --udp "$GW_IP:53"
for p in origin mcp other dns hostdns; do
	wait_ready "$p" || { t_fail "start $p" "$(cat "$TDIR/$p.err")"; t_summary; exit 1; }
done
bg_start tls ip netns exec "$HOST_NS" openssl s_server -quiet -www -accept "$ORIGIN1:443" \
	-cert "$TDIR/cert.pem" -key "$TDIR/key.pem"
for ((i = 0; i < 50; i++)); do
	ip netns exec "$HOST_NS" ss -Hltn "( sport = :443 )" | grep -q . && break
	sleep 0.1
done

# the page's policy file, with the test's addresses for the page's
sed -e "s/172\.30\.0\.3/$SQUID_IP/g" -e "s/172\.17\.0\.1/$GW_IP/g" \
	"$TDIR/doc-agents.conf" >"$TDIR/agents.conf"
if grep -q '172\.' "$TDIR/agents.conf"; then
	t_fail "the page's policy file maps onto the test's addresses" "$(cat "$TDIR/agents.conf")"
fi

# --- the parent cgroups, attached before any "container" starts ---------------------

AGENTS=nftest-$$-agents
make_cgroup agents >/dev/null
out=$("$NETFENCE" attach --cgroup "$AGENTS" --proxy-cgroup "nftest-$$-proxy" \
	--config "$TDIR/agents.conf" 2>&1)
assert_match "attach --cgroup PARENT --proxy-cgroup PARENT --config agents.conf" "$out" \
	"^attached to $CG2/$AGENTS: redirect to $SQUID_IP:3129"
state=$("$NETFENCE" -j status --cgroup "$AGENTS" 2>&1)
assert_match "status: enforcing" "$state" '"state":"enforcing"'

# the "container" starts below the attached parent (docker run --cgroup-parent)
CTR1=$(make_cgroup agents/ctr-1)

# check NAME CGROUP: every verdict the page lists, from inside the "container"
check() {
	local n=$1 cg=$2 code out

	code=$(in_cg "$cg" "$AGENT_NS" curl -sS -m 10 -o "$TDIR/body" -w '%{http_code}' \
		--resolve "allowed.test:80:$ORIGIN1" http://allowed.test/ 2>&1)
	assert_eq "$n: HTTP to an allowed name: through Squid to the origin" \
		"$code $(cat "$TDIR/body" 2>/dev/null)" "200 HELLO origin"
	code=$(in_cg "$cg" "$AGENT_NS" curl -sS -m 10 -k -o /dev/null -w '%{http_code}' \
		--resolve "secure.test:443:$ORIGIN1" https://secure.test/ 2>&1)
	assert_eq "$n: HTTPS to an allowed name: SNI peeked, spliced" "$code" 200
	code=$(in_cg "$cg" "$AGENT_NS" curl -sS -m 10 -o /dev/null -w '%{http_code}' \
		--resolve "blocked.test:80:$ORIGIN1" http://blocked.test/ 2>&1)
	assert_eq "$n: HTTP to a name not allowed: 403 from Squid" "$code" 403
	in_cg "$cg" "$AGENT_NS" curl -sS -m 10 -k -o /dev/null \
		--resolve "evil.test:443:$ORIGIN1" https://evil.test/ >/dev/null 2>&1
	assert_match "$n: HTTPS to a name not allowed: terminated" "$?" '^(35|56|52)$'
	code=$(in_cg "$cg" "$AGENT_NS" curl -sS -m 10 -o "$TDIR/body" -w '%{http_code}' \
		"http://$GW_IP:8080/" 2>&1)
	assert_eq "$n: host gateway on an allowed port: direct (the MCP gateway)" \
		"$code $(cat "$TDIR/body" 2>/dev/null)" "200 HELLO mcp"
	out=$(in_cg "$cg" "$AGENT_NS" curl -sS -m 5 "http://$GW_IP:9000/" 2>&1)
	assert_match "$n: host gateway on another port: refused at connect()" "$out" \
		"Operation not permitted|Failed to connect"
	out=$(in_cg "$cg" "$AGENT_NS" curl -sS -m 5 "http://$ORIGIN1:22/" 2>&1)
	assert_match "$n: a dangerous port: refused" "$out" "Operation not permitted|Failed to connect"
	code=$(in_cg "$cg" "$AGENT_NS" curl -sS -m 10 -o /dev/null -w '%{http_code}' \
		-x "http://$SQUID_IP:3128" http://allowed.test/ 2>&1)
	assert_eq "$n: HTTP_PROXY client, forward-proxy port: direct to Squid" "$code" 200
	out=$("$NFPROBE" -c "$cg" -n "$AGENT_NS" connect --udp 127.0.0.11 53 2>&1)
	assert_eq "$n: DNS to Docker's resolver at 127.0.0.11" "$(json_field "$out" reply)" \
		"HELLO dockerdns"
	out=$("$NFPROBE" -c "$cg" -n "$AGENT_NS" connect --udp --timeout 1000 "$GW_IP" 53 2>&1)
	assert_match "$n: DNS to another resolver: refused" "$(json_field "$out" result)" \
		'^(error|refused|denied|timeout)'
}

bg_start events "$NETFENCE" events --cgroup "$AGENTS" --timeout 60
sleep 0.3
check "parent, container 1" "$CTR1"

log=$(cat "$TDIR/log/access.log" 2>/dev/null)
assert_match "access.log: intercepted HTTP, from the agent's own address, ORIGINAL_DST" \
	"$log" "$AGENT_IP TCP_MISS/200 [0-9]+ GET http://allowed.test/ - ORIGINAL_DST/$ORIGIN1 "
assert_match "access.log: intercepted TLS spliced by SNI to the original destination" \
	"$log" "$AGENT_IP TCP_TUNNEL/[0-9]+ [0-9]+ CONNECT secure.test:443 - ORIGINAL_DST/$ORIGIN1 "
assert_match "access.log: the refusal" "$log" "$AGENT_IP TCP_DENIED/403 [0-9]+ GET http://blocked.test/"
out=$("$NETFENCE" -j status --cgroup "$AGENTS" 2>&1)
assert_match "status counts the redirects" "$out" '"redirect":[1-9]'
assert_match "status: no lookup ever missed" "$out" '"orig_miss":0[,}]'
bg_stop events
assert_match "netfence events: the refused connect to the gateway's other port" \
	"$(cat "$TDIR/events.out")" "refused connect tcp $GW_IP:9000"

# --- a Squid container restart: a new cgroup below the same parent ----------------------

bg_stop squid1
if ip netns exec "$HOST_NS" ss -Hltn "( sport = :3129 )" | grep -q .; then
	t_fail "Squid 1 stopped" "still listening"
fi
if start_squid 2; then
	t_pass "Squid restarted in a new cgroup below the proxy parent"
else
	t_fail "Squid restarted in a new cgroup below the proxy parent" "$(cat "$TDIR/squid2.err")"
fi
code=$(in_cg "$CTR1" "$AGENT_NS" curl -sS -m 10 -k -o /dev/null -w '%{http_code}' \
	--resolve "secure.test:443:$ORIGIN1" https://secure.test/ 2>&1)
assert_eq "restarted Squid (new cgroup): HTTPS still answered" "$code" 200
code=$(in_cg "$CTR1" "$AGENT_NS" curl -sS -m 10 -o /dev/null -w '%{http_code}' \
	--resolve "allowed.test:80:$ORIGIN1" http://allowed.test/ 2>&1)
assert_eq "restarted Squid (new cgroup): HTTP still answered" "$code" 200

# an agent container started later is confined from its first connect
CTR3=$(make_cgroup agents/ctr-3)
out=$(in_cg "$CTR3" "$AGENT_NS" curl -sS -m 5 "http://$GW_IP:9000/" 2>&1)
assert_match "a second container below the parent: confined too" "$out" \
	"Operation not permitted|Failed to connect"

# --- a running container, by PID ----------------------------------------------------------

CTR2=$(make_cgroup ctr-2)
bg_start init2 "${IN_CG[@]}" "$CTR2" "$AGENT_NS" sleep 300	# the container's init
for ((i = 0; i < 50; i++)); do
	grep -qx "$(bg_pid init2)" "$CTR2/cgroup.procs" 2>/dev/null && break
	sleep 0.05
done
out=$(in_cg "$CTR2" "$AGENT_NS" curl -sS -m 5 -o /dev/null -w '%{http_code}' \
	"http://$GW_IP:9000/" 2>&1)
assert_eq "before attach --pid: the container is not confined" "$out" 200
SQUID_PID=$(bg_pid squid2)
out=$("$NETFENCE" attach --pid "$(bg_pid init2)" --proxy-pid "$SQUID_PID" \
	--config "$TDIR/agents.conf" 2>&1)
assert_match "attach --pid INIT --proxy-pid SQUID --config agents.conf" "$out" \
	"attached to $CG2/nftest-$$-ctr-2:"
check "by pid, container 2" "$CTR2"

out=$("$NETFENCE" detach --pid "$(bg_pid init2)" 2>&1)
assert_match "detach --pid" "$out" "^detached "

# --- taking it off --------------------------------------------------------------------------

out=$("$NETFENCE" detach --cgroup "$AGENTS" 2>&1)
assert_match "detach --cgroup PARENT" "$out" "^detached $CG2/$AGENTS"
out=$(in_cg "$CTR1" "$AGENT_NS" curl -sS -m 5 -o /dev/null -w '%{http_code}' \
	"http://$GW_IP:9000/" 2>&1)
assert_eq "after detach: the container is unconfined again" "$out" 200
assert_eq "after detach: no policy, no pins" \
	"$("$NETFENCE" -j status 2>&1) $(find "$NETFENCE_PIN_ROOT" -mindepth 1 2>/dev/null | wc -l)" "[] 0"

t_summary
