#!/usr/bin/env bash
# --ssl-bump and --allow-urls with the real Squid: `netfence run` decrypts
# TLS to allowed names with a CA made for the run, checks every request's
# URL against the URL rules and refuses the rest with 403. Origins (HTTPS
# with a certificate from a test CA that Squid is told to trust with
# --origin-ca-file) listen on loopback addresses 127.77.K.x of this test and
# log every request they get. The command trusts the run's CA without a
# flag: curl, wget, Python, git and Node. It never reads the CA's key, and
# the CA is gone after the run, after Ctrl-C and after `cleanup` of a
# SIGKILLed run.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_env

private_pins
need_tools "run scripts/install-deps.sh" curl wget git node python3 openssl /usr/sbin/squid \
	/usr/lib/squid/security_file_certgen

K=$((RANDOM % 200 + 20))
A=127.77.$K.2	# secure.test (URL rules), other.test (a domain rule)
E=127.77.$K.3	# evil.test: not allowed
ORIGIN=$NFT_ROOT/tests/root/tls_origin.py

# The origins' CA and certificate (names of both addresses).
origin_certs secure.test other.test evil.test api-1.pat.test apix.pat.test
chmod 644 "$TDIR/oca.crt"
chmod 755 "$TDIR"

bg_start tls python3 "$ORIGIN" --listen "$A:443" --name tls --log "$TDIR/origin.log" \
	--cert "$TDIR/origin.crt" --key "$TDIR/origin.key"
bg_start plain python3 "$ORIGIN" --listen "$A:80" --name plain --log "$TDIR/origin.log"
bg_start evil python3 "$ORIGIN" --listen "$E:443" --name evil --log "$TDIR/evil.log" \
	--cert "$TDIR/origin.crt" --key "$TDIR/origin.key"
for p in tls plain evil; do
	wait_ready "$p" 10 || { t_fail "start $p" "$(cat "$TDIR/$p.err")"; t_summary; exit 1; }
done
touch "$TDIR/origin.log" "$TDIR/evil.log"

cat >"$TDIR/hosts" <<EOF
$A secure.test other.test api-1.pat.test apix.pat.test
$E evil.test
EOF
chmod 644 "$TDIR/hosts"

URLS='https://secure.test/ok/*,http://secure.test/plain/*'

# The agent: "name result" lines into $1. Clients that resolve names
# themselves (wget, Python, git) go through the forward port (a bumped
# CONNECT); curl and Node are redirected in the kernel (intercepted TLS).
cat >"$TDIR/agent.sh" <<EOF
set -u
out=\$1
r() { printf '%s %s\n' "\$1" "\$2" >>"\$out"; }
code() { curl -sS -m 10 -o /dev/null -w '%{http_code}' "\$@" 2>/dev/null; }
fwd=\$NETFENCE_FORWARD_PROXY
r id "\$(id -u)"
r t0 "\$(date +%s.%N)"
r curl_ok "\$(code --resolve secure.test:443:$A https://secure.test/ok/curl)"
r curl_query "\$(code --resolve secure.test:443:$A 'https://secure.test/ok/q?x=1')"
r curl_refused "\$(code --resolve secure.test:443:$A https://secure.test/nope/curl)"
r curl_apex_path "\$(code --resolve secure.test:443:$A https://secure.test/ok)"
r curl_dotdot "\$(code --path-as-is --resolve secure.test:443:$A https://secure.test/ok/../nope/dotdot)"
r curl_enc "\$(code --resolve secure.test:443:$A 'https://secure.test/ok/..%2Fnope/enc')"
r curl_semi "\$(code --path-as-is --resolve secure.test:443:$A 'https://secure.test/ok/..;/nope/semi')"
r curl_other "\$(code --resolve other.test:443:$A https://other.test/any/path)"
r curl_pattern "\$(code --resolve api-1.pat.test:443:$A https://api-1.pat.test/pat/path)"
curl -sS -m 10 -o /dev/null --resolve apix.pat.test:443:$A https://apix.pat.test/pat/x 2>/dev/null
r pattern_nomatch_exit \$?
r curl_fwd "\$(code -x "\$fwd" https://secure.test/ok/curl-fwd)"
r curl_fwd_refused "\$(code -x "\$fwd" https://secure.test/nope/curl-fwd)"
curl -sS -m 10 -o /dev/null --resolve evil.test:443:$E https://evil.test/ok/evil 2>/dev/null
r evil_exit \$?
r http_ok "\$(code --resolve secure.test:80:$A http://secure.test/plain/x)"
r http_refused "\$(code --resolve secure.test:80:$A http://secure.test/nope/http)"
https_proxy=\$fwd wget -q -O /dev/null https://secure.test/ok/wget 2>"\$out.wget"
r wget_exit \$?
r python "\$(https_proxy=\$fwd python3 -c 'import urllib.request as u; print(u.urlopen("https://secure.test/ok/python").status)' 2>&1 | tail -1)"
https_proxy=\$fwd GIT_TERMINAL_PROMPT=0 git ls-remote https://secure.test/ok/repo.git >/dev/null 2>"\$out.git"
r git_tls "\$(grep -ciE 'ssl|certificate' "\$out.git")"
r node "\$(node -e '
const https = require("https");
https.get({ host: "$A", servername: "secure.test", path: "/ok/node",
	headers: { Host: "secure.test" }, agent: false },
	(res) => { console.log(res.statusCode); process.exit(0); })
	.on("error", (e) => { console.log("error " + e.code); process.exit(0); });
' 2>&1)"
for v in SSL_CERT_FILE NODE_EXTRA_CA_CERTS REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO; do
	r "env_\$v" "\${!v:-unset}"
done
r bundle_has_ca "\$(grep -c 'BEGIN CERTIFICATE' /etc/ssl/certs/ca-certificates.crt)"
# the CA's key: not in the run directory (covered), not behind /proc/1/root,
# not in Squid's memory
run_dir=\$(awk '\$5 ~ /^\/tmp\/netfence-run-/ { print \$5; exit }' /proc/self/mountinfo)
r run_dir_found "\${run_dir:-none}"
r t1 "\$(date +%s.%N)"
r run_dir_listing "\$(ls -A "\$run_dir" 2>&1 | wc -l)"
r key_direct "\$(cat "\$run_dir/ca.pem" 2>&1 | grep -c 'PRIVATE KEY')"
r key_proc1 "\$(cat /proc/1/root\$run_dir/ca.pem 2>&1 | grep -c 'PRIVATE KEY')"
r key_anywhere "\$(cat /proc/1/root\$run_dir/* 2>/dev/null | grep -c 'PRIVATE KEY')"
sq=\$(pgrep -x squid | head -1)
[ -n "\$sq" ] || sq=none
r squid_mem "\$(python3 -c '
import sys
try:
    f = open("/proc/'"\$sq"'/mem", "rb"); print("opened")
except OSError as e:
    print("refused", e.errno)
' 2>&1)"
EOF

# run_bump NAME [FLAGS...]: one run with the agent, results in $TDIR/NAME.res
run_bump() {
	local name=$1

	shift
	: >"$TDIR/$name.res"
	: >"$TDIR/$name.res.wget"
	: >"$TDIR/$name.res.git"
	chmod 666 "$TDIR/$name.res" "$TDIR/$name.res.wget" "$TDIR/$name.res.git"
	bg_start "$name" "$NETFENCE" -v run --ssl-bump --allow-urls "$URLS" \
		--allow-domains 'other.test,api-*.pat.test' --origin-ca-file "$TDIR/oca.crt" \
		--hosts-file "$TDIR/hosts" --squid-allow-loopback --log-dir "$TDIR/$name.logs" \
		"$@" -- bash "$TDIR/agent.sh" "$TDIR/$name.res"
	bg_wait "$name" 120
	RUN_RC=$?
}
res() { awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$TDIR/$1.res"; }

check_run() {
	local n=$1 who=$2 ol

	assert_eq "$who: curl, bumped HTTPS to an allowed path" "$(res "$n" curl_ok)" 200
	assert_eq "$who: curl, allowed path with a query" "$(res "$n" curl_query)" 200
	assert_eq "$who: curl, path not allowed: 403" "$(res "$n" curl_refused)" 403
	assert_eq "$who: '/ok' is not under '/ok/*'" "$(res "$n" curl_apex_path)" 403
	assert_eq "$who: dot segment '/ok/../nope' refused" "$(res "$n" curl_dotdot)" 403
	assert_eq "$who: encoded slash '/ok/..%2Fnope' refused" "$(res "$n" curl_enc)" 403
	assert_eq "$who: '/ok/..;/nope' refused" "$(res "$n" curl_semi)" 403
	assert_eq "$who: a domain rule (other.test) still allows every path" "$(res "$n" curl_other)" 200
	assert_eq "$who: a pattern (api-*.pat.test): api-1.pat.test bumped" "$(res "$n" curl_pattern)" 200
	assert_match "$who: a pattern: apix.pat.test terminated" "$(res "$n" pattern_nomatch_exit)" \
		'^(35|56|52)$'
	assert_eq "$who: forward proxy CONNECT is bumped too: allowed path" "$(res "$n" curl_fwd)" 200
	assert_eq "$who: forward proxy CONNECT is bumped too: refused path" "$(res "$n" curl_fwd_refused)" 403
	assert_match "$who: a name not allowed is terminated at the handshake" "$(res "$n" evil_exit)" '^(35|56|52)$'
	assert_eq "$who: plain HTTP, the same URL rules: allowed" "$(res "$n" http_ok)" 200
	assert_eq "$who: plain HTTP, the same URL rules: refused" "$(res "$n" http_refused)" 403
	assert_eq "$who: wget trusts the run's CA" "$(res "$n" wget_exit)" 0
	assert_eq "$who: Python trusts the run's CA" "$(res "$n" python)" 200
	assert_eq "$who: git: no TLS complaint" "$(res "$n" git_tls)" 0
	assert_eq "$who: Node trusts the run's CA" "$(res "$n" node)" 200
	for v in SSL_CERT_FILE NODE_EXTRA_CA_CERTS REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO; do
		assert_eq "$who: $v names the bundle" "$(res "$n" "env_$v")" /etc/ssl/certs/ca-certificates.crt
	done
	assert_eq "$who: the bundle is the system's plus one" "$(res "$n" bundle_has_ca)" \
		"$(($(grep -c 'BEGIN CERTIFICATE' /etc/ssl/certs/ca-certificates.crt) + 1))"
	assert_match "$who: the command sees its run directory covered" "$(res "$n" run_dir_found)" \
		'^/tmp/netfence-run-[0-9]+-'
	assert_eq "$who: the run directory is empty for the command" "$(res "$n" run_dir_listing)" 0
	assert_eq "$who: CA key not readable in the run directory" "$(res "$n" key_direct)" 0
	assert_eq "$who: CA key not readable through /proc/1/root" "$(res "$n" key_proc1)" 0
	assert_eq "$who: no private key in the real run directory" "$(res "$n" key_anywhere)" 0
	assert_match "$who: Squid's memory not readable (or Squid not even visible)" \
		"$(res "$n" squid_mem)" '^refused '
	ol=$(cat "$TDIR/origin.log")
	assert_match "$who: the origin saw the allowed request" "$ol" "GET secure.test /ok/curl"
	assert_match "$who: the origin saw the forward-proxy request" "$ol" "GET secure.test /ok/curl-fwd"
	assert_match "$who: the origin saw wget, Python, git, Node" "$ol" \
		"/ok/wget.*/ok/python.*/ok/repo.git/info/refs.*/ok/node"
	assert_match "$who: access.log shows bumped requests" "$(cat "$TDIR/$n.logs/access.log")" \
		"GET secure.test secure.test bump 200"
	assert_match "$who: --log-dir keeps the squid.conf it ran with" \
		"$(cat "$TDIR/$n.logs/squid.conf")" "ssl_bump bump nf_uh_sni"
	assert_match "$who: the report says TLS was decrypted" "$(cat "$TDIR/$n.logs/report.html" 2>&1)" \
		"TLS decryption.*Squid decrypts the TLS of allowed names"
	assert_match "$who: the report lists the URL rules" "$(cat "$TDIR/$n.logs/report.html" 2>&1)" \
		"https://secure.test/ok/\\*"
}

run_bump root
assert_eq "root: the run exits with the command's status" "$RUN_RC" 0
assert_eq "root: the command ran as root" "$(res root id)" 0
check_run root root
assert_eq "no refused path reached the origin" \
	"$(grep -cE 'nope' "$TDIR/origin.log")" 0
assert_eq "nothing reached the origin of the name not allowed" "$(wc -l <"$TDIR/evil.log")" 0
: >"$TDIR/origin.log"

run_bump user --user nobody
assert_eq "--user: the run exits with the command's status" "$RUN_RC" 0
assert_eq "--user: the command ran as nobody" "$(res user id)" "$(id -u nobody)"
check_run user "--user nobody"
assert_eq "--user: no refused path reached the origin" \
	"$(grep -cE 'nope' "$TDIR/origin.log")" 0

# Nothing of the CA is left after a run, after Ctrl-C, after cleanup of a
# SIGKILLed run.
left() { ls -d /tmp/netfence-run-"$1"-* 2>/dev/null | wc -l; }
assert_eq "after the runs: their directories (CA, certificates) are gone" \
	"$(($(left "$(bg_pid root)") + $(left "$(bg_pid user)")))" 0

bg_start intr "$NETFENCE" run --ssl-bump --allow-domains other.test -- sleep 60
wait_run_cmd intr
d=$(ls -d /tmp/netfence-run-"$(bg_pid intr)"-* 2>/dev/null | head -1)
assert_eq "while a run is up: the CA certificate is there" "$([ -e "$d/ca.crt" ] && echo yes)" yes
assert_eq "while a run is up: its key is already gone (Squid holds it)" "$([ -e "$d/ca.pem" ] && echo yes || echo no)" no
kill -INT "$(bg_pid intr)"
# sleep ignores SIGINT here (a background job of a script): run kills it 5 s later
bg_wait intr 40
assert_eq "after Ctrl-C: the CA is gone" "$(left "$(bg_pid intr)")" 0

bg_start killed "$NETFENCE" run --ssl-bump --allow-domains other.test -- sleep 60
wait_run_cmd killed
kpid=$(bg_pid killed)
kill -9 "$kpid"
bg_wait killed 5
assert_eq "a SIGKILLed run leaves its directory" "$(left "$kpid")" 1
assert_eq "... with the certificate database" "$(ls -d /tmp/netfence-run-"$kpid"-*/ssl_db 2>/dev/null | wc -l)" 1
out=$("$NETFENCE" -j cleanup)
assert_match "cleanup removes it" "$out" \
	"\"kind\":\"run-directory\",\"name\":\"/tmp/netfence-run-$kpid-[^\"]*\",\"result\":\"removed\""
assert_eq "after cleanup: the CA is gone" "$(left "$kpid")" 0

t_summary
