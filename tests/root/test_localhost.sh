#!/usr/bin/env bash
# run --allow-domains localhost, the agent firewall's keyword: host access on
# its development ports (3000,3001,4000,4200,5000,5173,8000,8080,8081,8888,
# 9000,9090), said in one stderr line; --allow-host-ports replaces the list;
# a dangerous port is still refused. On a host (no namespace of the
# command's own): loopback is the host. Stand-in servers on 127.0.0.1.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_env

private_pins

for tool in curl ss /usr/sbin/squid /usr/sbin/dnsmasq; do
	if ! command -v "$tool" >/dev/null; then
		t_fail "needs $tool" "run scripts/install-deps.sh"
		t_summary
		exit 1
	fi
done

free_port() {	# free_port P...: the first of the ports nothing listens on
	local p
	for p in "$@"; do
		ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}
DEV=$(free_port 5173 4200 3001 8081 9090 8888 4000 5000 3000 8000 8080 9000) ||
	{ t_fail "a free development port" "all twelve listen already"; t_summary; exit 1; }
OTHER=$(free_port $((20000 + RANDOM % 20000)) $((20000 + RANDOM % 20000))) ||
	{ t_fail "a free port" ""; t_summary; exit 1; }

bg_start dev "$NFPROBE" serve --http --name dev --listen "127.0.0.1:$DEV"
bg_start other "$NFPROBE" serve --http --name other --listen "127.0.0.1:$OTHER"
for p in dev other; do
	wait_ready "$p" || { t_fail "start $p" "$(cat "$TDIR/$p.err")"; t_summary; exit 1; }
done

cat >"$TDIR/agent.sh" <<EOF
set -u
out=\$1
r() { printf '%s %s\n' "\$1" "\$2" >>"\$out"; }
get() { curl -4 -sS -m 10 -w ' %{http_code}' "\$1" 2>/dev/null | tr -d '\n'; echo " rc=\${PIPESTATUS[0]}"; }
r dev "\$(get http://127.0.0.1:$DEV/)"
r dev_name "\$(get http://localhost:$DEV/)"
r other "\$(get http://127.0.0.1:$OTHER/)"
r dangerous "\$(get http://127.0.0.1:5432/)"
r dns "\$(getent ahostsv4 x-\$RANDOM.example.test >/dev/null; echo rc=\$?)"
EOF

# the keyword alone: the development ports, nothing else of the host
"$NETFENCE" run --allow-domains localhost --log-dir "$TDIR/logs1" \
	-- bash "$TDIR/agent.sh" "$TDIR/r1" >"$TDIR/run1.out" 2>"$TDIR/run1.err"
assert_eq "run --allow-domains localhost: the command's status" "$?" 0
res() { awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$1"; }
assert_match "localhost: a development port ($DEV) of loopback goes direct" "$(res "$TDIR/r1" dev)" \
	"^HELLO dev 200 rc=0$"
assert_match "localhost: the name localhost too" "$(res "$TDIR/r1" dev_name)" "^HELLO dev 200 rc=0$"
assert_match "localhost: another port of the host is refused" "$(res "$TDIR/r1" other)" " rc=7$"
assert_match "localhost: a dangerous port (5432) is refused" "$(res "$TDIR/r1" dangerous)" " rc=7$"
assert_match "localhost: the refusals are events" "$(cat "$TDIR/logs1/events.jsonl")" \
	"\"reason\":\"deny_port\".*\"destination\":\"127.0.0.1:$OTHER\""
assert_match "localhost: the DNS filter runs (a name not allowed does not resolve)" \
	"$(res "$TDIR/r1" dns)" "^rc=2$"
assert_eq "localhost: exactly one stderr line" "$(wc -l <"$TDIR/run1.err")" 1
assert_match "localhost: the line says what it enabled" "$(cat "$TDIR/run1.err")" \
	"^netfence: --allow-domains localhost: host access on \(--enable-host-access\): 127\.0\.0\.1 \(loopback\)[^;]* directly on ports 3000,3001,4000,4200,5000,5173,8000,8080,8081,8888,9000,9090 only \(the agent firewall's development ports; --allow-host-ports changes them\); dangerous ports never$"
assert_match "localhost: run.json shows the bypass pairs" "$(cat "$TDIR/logs1/run.json")" \
	"\"host_bypass\":\\[[^]]*\"127\\.0\\.0\\.1:$DEV\".*\"host_ports\":\"3000,3001,4000,4200,5000,5173,8000,8080,8081,8888,9000,9090\""


# --allow-host-ports replaces the list; https:// before the keyword is the same keyword
: >"$TDIR/r2"
"$NETFENCE" run --allow-domains 'example.test,https://LOCALHOST/' --allow-host-ports "$OTHER" \
	-- bash "$TDIR/agent.sh" "$TDIR/r2" >"$TDIR/run2.out" 2>"$TDIR/run2.err"
assert_eq "localhost with --allow-host-ports: the command's status" "$?" 0
assert_match "localhost with --allow-host-ports: that port goes direct" "$(res "$TDIR/r2" other)" \
	"^HELLO other 200 rc=0$"
assert_match "localhost with --allow-host-ports: a development port is refused" \
	"$(res "$TDIR/r2" dev)" " rc=7$"
assert_match "localhost with --allow-host-ports: the line names those ports" "$(cat "$TDIR/run2.err")" \
	"directly on ports $OTHER only \(--allow-host-ports\); dangerous ports never$"

# a dangerous port next to the keyword: refused, nothing started
"$NETFENCE" run --allow-domains localhost --allow-host-ports 3000,5432 -- true \
	>"$TDIR/run3.out" 2>"$TDIR/run3.err"
assert_eq "localhost with a dangerous --allow-host-ports: exit 2" "$?" 2
assert_eq "localhost with a dangerous --allow-host-ports: one Error line" "$(cat "$TDIR/run3.err")" \
	"Error: --allow-host-ports '3000,5432': port 5432 is a dangerous port and is never allowed"

assert_eq "nothing of the runs is left" \
	"$(ls -d "$CG2"/netfence-run-* /tmp/netfence-run-* 2>/dev/null | while read -r d; do
		p=${d##*netfence-run-}; p=${p%%-*}; kill -0 "$p" 2>/dev/null || echo "$d"; done)" ""
t_summary
