#!/usr/bin/env bash
# --upstream-proxy with the real Squid: a stand-in corporate parent proxy on
# loopback logs every request line it gets. Allowed requests (plain HTTP,
# spliced TLS, bumped TLS) arrive there and nowhere else; refused ones never
# arrive; with the parent down nothing goes direct; the command cannot reach
# the parent itself.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_env

private_pins
need_tools "run scripts/install-deps.sh" curl python3 openssl /usr/sbin/squid

K=$((RANDOM % 200 + 20))
A=127.77.$K.2	# secure.test, plain.test
E=127.77.$K.3	# evil.test: not allowed
PP=$((20000 + RANDOM % 20000))	# the parent proxy
DEAD=$((PP + 1))		# nothing listens here
ORIGIN=$NFT_ROOT/tests/root/tls_origin.py

origin_certs secure.test evil.test
chmod 644 "$TDIR/oca.crt"
chmod 755 "$TDIR"
cat >"$TDIR/hosts" <<EOF
$A secure.test plain.test
$E evil.test
EOF
chmod 644 "$TDIR/hosts"

bg_start tls python3 "$ORIGIN" --listen "$A:443" --name tls --log "$TDIR/origin.log" \
	--cert "$TDIR/origin.crt" --key "$TDIR/origin.key"
bg_start plain python3 "$ORIGIN" --listen "$A:80" --name plain --log "$TDIR/origin.log"
bg_start evil python3 "$ORIGIN" --listen "$E:80" --name evil --log "$TDIR/origin.log"
bg_start parent python3 "$NFT_ROOT/tests/root/parent_proxy.py" --listen "127.0.0.1:$PP" \
	--hosts "$TDIR/hosts" --log "$TDIR/parent.log"
for p in tls plain evil parent; do
	wait_ready "$p" 10 || { t_fail "start $p" "$(cat "$TDIR/$p.err")"; t_summary; exit 1; }
done
touch "$TDIR/origin.log" "$TDIR/parent.log"

cat >"$TDIR/agent.sh" <<EOF
set -u
out=\$1
r() { printf '%s %s\n' "\$1" "\$2" >>"\$out"; }
code() { curl -sS -m 10 -o /dev/null -w '%{http_code}' "\$@" 2>/dev/null; }
r http "\$(code --resolve plain.test:80:$A http://plain.test/up/http)"
r https "\$(code --cacert $TDIR/oca.crt --resolve secure.test:443:$A https://secure.test/up/tls)"
r https_fwd "\$(code --cacert $TDIR/oca.crt -x "\$NETFENCE_FORWARD_PROXY" https://secure.test/up/fwd)"
r refused "\$(code --resolve evil.test:80:$E http://evil.test/up/refused)"
r refused_path "\$(code --resolve secure.test:443:$A https://secure.test/nope/bumped)"
r bumped "\$(code --resolve secure.test:443:$A https://secure.test/ok/bumped)"
curl -sS -m 5 -o /dev/null -x http://127.0.0.1:$PP http://plain.test/up/direct-to-parent 2>/dev/null
r to_parent_exit \$?
EOF

# run_up NAME FLAGS...: results in $TDIR/NAME.res
run_up() {
	local name=$1

	shift
	: >"$TDIR/$name.res"
	bg_start "$name" "$NETFENCE" -v run --hosts-file "$TDIR/hosts" --squid-allow-loopback \
		--log-dir "$TDIR/$name.logs" "$@" -- bash "$TDIR/agent.sh" "$TDIR/$name.res"
	bg_wait "$name" 120
	RUN_RC=$?
}
res() { awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$TDIR/$1.res"; }

# 1. Splicing: plain HTTP and TLS through the parent.
run_up splice --allow-domains plain.test,secure.test --upstream-proxy "127.0.0.1:$PP"
assert_eq "splice: run exits 0" "$RUN_RC" 0
assert_eq "splice: plain HTTP allowed" "$(res splice http)" 200
assert_eq "splice: spliced TLS allowed" "$(res splice https)" 200
assert_eq "splice: forward-proxy CONNECT allowed" "$(res splice https_fwd)" 200
assert_eq "splice: a name not allowed: 403" "$(res splice refused)" 403
assert_eq "splice: the command cannot reach the parent itself" "$(res splice to_parent_exit)" 7
pl=$(cat "$TDIR/parent.log")
assert_match "splice: the parent got the HTTP request" "$pl" "GET http://plain.test/up/http"
assert_match "splice: the parent got a CONNECT for the spliced TLS" "$pl" "CONNECT (secure.test|$A):443"
assert_eq "splice: the refused request never reached the parent" "$(grep -c 'evil.test\|refused' "$TDIR/parent.log")" 0
# every request the origins saw came through the parent (the parent also saw
# tunnels whose TLS the client then refused: it does not trust the test CA)
tls_origin=$(grep -c '^GET secure.test' "$TDIR/origin.log")
tls_parent=$(grep -c '^CONNECT secure.test:443' "$TDIR/parent.log")
assert_eq "splice: the parent tunnelled at least every TLS request the origin saw" \
	"$((tls_parent >= tls_origin && tls_origin >= 2))" 1
assert_eq "splice: the plain HTTP request the origin saw came through the parent" \
	"$(grep -c '^GET plain.test /up/http' "$TDIR/origin.log")" \
	"$(grep -c '^GET http://plain.test/up/http' "$TDIR/parent.log")"
assert_match "splice: access.log names the parent" "$(cat "$TDIR/splice.logs/access.log")" \
	"127.0.0.1:$PP"
: >"$TDIR/origin.log"
: >"$TDIR/parent.log"

# 2. Bumping through the parent: URL rules apply, refused paths never leave.
printf '# blocked for this run\nplain.test  # and its subdomains\n' >"$TDIR/blocked"
run_up bump --ssl-bump --origin-ca-file "$TDIR/oca.crt" --allow-domains plain.test \
	--block-domains-file "$TDIR/blocked" \
	--allow-urls 'https://secure.test/ok/*' --upstream-proxy "127.0.0.1:$PP"
assert_eq "bump: run exits 0" "$RUN_RC" 0
assert_eq "bump: allowed path through the parent" "$(res bump bumped)" 200
assert_eq "bump: refused path: 403" "$(res bump refused_path)" 403
assert_match "bump: the parent got the CONNECT" "$(cat "$TDIR/parent.log")" "CONNECT secure.test:443"
assert_match "bump: the origin got the allowed path" "$(cat "$TDIR/origin.log")" "GET secure.test /ok/bumped"
assert_eq "bump: the refused path never reached the origin" "$(grep -c nope "$TDIR/origin.log")" 0
assert_eq "bump: --block-domains-file beats --allow-domains" "$(res bump http)" 403
assert_eq "bump: the blocked name never reached the origin" "$(grep -c 'plain.test' "$TDIR/origin.log")" 0
: >"$TDIR/origin.log"

# 3. The parent down: nothing goes direct.
run_up dead --allow-domains plain.test,secure.test --upstream-proxy "127.0.0.1:$DEAD"
assert_match "parent down: plain HTTP fails" "$(res dead http)" '^5[0-9][0-9]$'
assert_match "parent down: TLS fails" "$(res dead https)" '^(000|5[0-9][0-9])$'
assert_eq "parent down: nothing reached an origin" "$(grep -c . "$TDIR/origin.log")" 0

t_summary
