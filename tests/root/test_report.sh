#!/usr/bin/env bash
# The run report end to end: a real `netfence run --log-dir` (embedded Squid,
# the DNS filter) whose command makes a known number of attempts of every
# verdict (allowed through Squid, refused by Squid, refused in the kernel,
# bypassed, DNS refused) and carries hostile names (a command line, a DNS
# name, a process name with markup); then `netfence report`: its JSON figures
# equal the counts made here (HTTPS spliced and cut included); the page in headless Chromium (JavaScript on):
# the rendered DOM text, no console error (a page whose script breaks the
# policy is the control that errors are seen), nothing hostile executed, a
# screenshot into build/; and malformed or missing logs.
# Traffic: loopback only (127.66.K.0/24 and the MCP stand-in on 127.0.0.1).
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_env

PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
if ! command -v chromium >/dev/null; then
	bash "$NFT_ROOT/scripts/install-deps.sh" browser >/dev/null 2>&1
fi
for tool in chromium curl openssl "$PY" /usr/sbin/squid /usr/sbin/dnsmasq; do
	if ! command -v "$tool" >/dev/null; then
		if [[ ${CI:-} == true ]]; then
			t_fail "needs $tool" "scripts/install-deps.sh browser did not install it"
		else
			t_skip "the report suite" "needs $tool (scripts/install-deps.sh browser)"
		fi
		t_summary
		exit $?
	fi
done

private_pins

K=$((RANDOM % 200 + 20))
SITE=127.66.$K.2		# allowed.test, blocked.test (through Squid)
FAR=127.66.$K.3			# refused ports
U=127.66.$K.53			# the allowed resolver (nothing listens: refused names never leave)
MCP_PORT=$((20000 + RANDOM % 9000))
LOGS=$TDIR/logs
SHOTS=$NFT_ROOT/build/test-report
mkdir -p "$SHOTS"

# Counts the command makes, per verdict
N_ALLOWED=3 N_SQUID=2 N_TLS_OK=1 N_TLS_BAD=1 N_KERNEL_TCP=2 N_KERNEL_UDP=1 N_BYPASS=4 N_DNS=2
N_KERNEL=$((N_KERNEL_TCP + N_KERNEL_UDP + 1))	# + the hostile-comm process
HOSTILE_ARG='<script>document.title="PWNED-arg"</script>'
HOSTILE_DNS='<script>document.title="PWNED-dns"</script>.evil.test'
HOSTILE_COMM='<svg onload=x>'

bg_start site "$NFPROBE" serve --http --name site --listen "$SITE:80"
bg_start mcp "$NFPROBE" serve --http --name mcp --listen "127.0.0.1:$MCP_PORT"
for p in site mcp; do
	wait_ready "$p" || { t_fail "start $p" "$(cat "$TDIR/$p.err")"; t_summary; exit 1; }
done
tls_server tls "$SITE:443" allowed.test
printf '%s allowed.test blocked.test\n' "$SITE" >"$TDIR/hosts"
ln -s "$NFPROBE" "$TDIR/$HOSTILE_COMM"

# One DNS query (type A) for a name, to the resolver; waits for the answer.
cat >"$TDIR/ask.py" <<'EOF'
import socket, struct, sys
name, server = sys.argv[1], sys.argv[2]
q = struct.pack(">HHHHHH", 0x4e46, 0x0100, 1, 0, 0, 0)
for label in name.split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(q, (server, 53))
try:
    r = s.recv(512)
    print("rcode", r[3] & 15)
except OSError as e:
    print("error", e)
EOF

cat >"$TDIR/agent.sh" <<EOF
set -u
out=$TDIR/agent.out
for i in \$(seq $N_ALLOWED); do
	curl -sS -m 10 -o /dev/null -w 'allowed %{http_code}\n' --resolve allowed.test:80:$SITE http://allowed.test/ >>\$out 2>&1
done
for i in \$(seq $N_SQUID); do
	curl -sS -m 10 -o /dev/null -w 'squid %{http_code}\n' --resolve blocked.test:80:$SITE http://blocked.test/ >>\$out 2>&1
done
for i in \$(seq $N_TLS_OK); do
	curl -sS -m 10 -k -o /dev/null -w 'tls %{http_code}\n' --resolve allowed.test:443:$SITE https://allowed.test/ >>\$out 2>&1
done
for i in \$(seq $N_TLS_BAD); do
	curl -sS -m 10 -k -o /dev/null --resolve tlsbad.test:443:$SITE https://tlsbad.test/ >/dev/null 2>&1
	echo "tlsbad exit \$?" >>\$out
done
for i in \$(seq $N_KERNEL_TCP); do
	$NFPROBE connect --timeout 1000 $FAR 5000 >>\$out 2>&1
done
for i in \$(seq $N_KERNEL_UDP); do
	$NFPROBE connect --udp --connected --timeout 500 $FAR 9999 >>\$out 2>&1
done
"$TDIR/$HOSTILE_COMM" connect --timeout 1000 $FAR 6000 >>\$out 2>&1
for i in \$(seq $N_BYPASS); do
	curl -sS -m 10 -o /dev/null -w 'bypass %{http_code}\n' http://127.0.0.1:$MCP_PORT/ >>\$out 2>&1
done
for i in \$(seq $((N_DNS - 1))); do
	$PY $TDIR/ask.py refused-\$i.evil.test $U >>\$out 2>&1
done
$PY $TDIR/ask.py '$HOSTILE_DNS' $U >>\$out 2>&1
exit 7
EOF

t0=$(date +%s.%N)
"$NETFENCE" run --allow-domains allowed.test --hosts-file "$TDIR/hosts" \
	--squid-allow-loopback --enable-host-access --allow-host-ports "$MCP_PORT" \
	--dns-servers "$U" --log-dir "$LOGS" --summary \
	-- bash "$TDIR/agent.sh" "$HOSTILE_ARG" >"$TDIR/run.out" 2>"$TDIR/run.err"
rc=$?
t1=$(date +%s.%N)
assert_eq "run exits with the command's status" "$rc" 7
agent=$(cat "$TDIR/agent.out" 2>/dev/null)
assert_eq "the command: allowed requests answered 200" "$(grep -c '^allowed 200' <<<"$agent")" "$N_ALLOWED"
assert_eq "the command: blocked requests answered 403" "$(grep -c '^squid 403' <<<"$agent")" "$N_SQUID"
assert_eq "the command: allowed HTTPS spliced" "$(grep -c '^tls 200' <<<"$agent")" "$N_TLS_OK"
assert_eq "the command: HTTPS to a name not allowed cut" \
	"$(grep -cE '^tlsbad exit (35|52|56)$' <<<"$agent")" "$N_TLS_BAD"
assert_eq "the command: refused connects and sends got EPERM" \
	"$(grep -c '"error":"EPERM"' <<<"$agent")" "$((N_KERNEL_TCP + N_KERNEL_UDP + 1))"
assert_eq "the command: bypassed requests answered 200" "$(grep -c '^bypass 200' <<<"$agent")" "$N_BYPASS"
assert_eq "the command: refused names answered REFUSED (rcode 5)" "$(grep -c '^rcode 5' <<<"$agent")" "$N_DNS"
for f in run.json access.log events.jsonl report.html; do
	assert_eq "--log-dir holds $f" "$([[ -s $LOGS/$f ]] && echo yes)" yes
done
err=$(cat "$TDIR/run.err")
assert_match "--summary: totals on stderr" "$err" "refused in the kernel +$N_KERNEL"
assert_match "--summary: the suggestion" "$err" "blocked.test +refused by Squid +$N_SQUID +add --allow-domains blocked.test"
assert_eq "--summary: nothing on stdout" "$(cat "$TDIR/run.out")" ""

# --- the JSON figures ----------------------------------------------------------
"$NETFENCE" -j report "$LOGS" >"$TDIR/report.json"
assert_eq "report -j exits 0" "$?" 0
"$PY" - "$TDIR/report.json" >"$TDIR/figures" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
t = d["totals"]
print("totals", t["allowed"], t["squid_refused"], t["kernel_refused"], t["bypassed"], t["dns_refused"])
print("exit", d["run"]["exit_status"])
print("skipped", d["skipped_lines"]["access_log"], d["skipped_lines"]["events"])
print("allow", ",".join(d["run"]["policy"]["allow_domains"]))
for x in d["destinations"]:
    s = x.get("suggestion")
    print("dest", x["verdict"], x["destination"], x["count"],
          (s["flag"] + "=" + s["value"]) if s else "-", ",".join(x["processes"]).replace(" ", "_"))
EOF
assert_eq "report -j is one JSON document" "$?" 0
fig=$(cat "$TDIR/figures")
assert_eq "JSON totals (allowed squid_refused kernel_refused bypassed dns_refused) = the counts made" \
	"$(grep '^totals' <<<"$fig")" \
	"totals $((N_ALLOWED + N_TLS_OK)) $((N_SQUID + N_TLS_BAD)) $N_KERNEL $N_BYPASS $N_DNS"
assert_eq "JSON: the exit status" "$(grep '^exit' <<<"$fig")" "exit 7"
assert_eq "JSON: no line skipped" "$(grep '^skipped' <<<"$fig")" "skipped 0 0"
assert_eq "JSON: the allowlist" "$(grep '^allow' <<<"$fig")" "allow allowed.test"
assert_match "JSON: blocked.test refused by Squid, with its suggestion" "$fig" \
	"dest squid_refused blocked.test $N_SQUID --allow-domains=blocked.test"
assert_match "JSON: the TLS name not allowed, refused by Squid, with its suggestion" "$fig" \
	"dest squid_refused tlsbad.test $N_TLS_BAD --allow-domains=tlsbad.test"
assert_match "JSON: the refused port, its count, the process" "$fig" \
	"dest kernel_refused $FAR:5000 $N_KERNEL_TCP --allow-host-ports=5000 nfprobe/"
assert_match "JSON: the UDP send (no suggestion)" "$fig" "dest kernel_refused $FAR:9999 $N_KERNEL_UDP - nfprobe/"
assert_match "JSON: the bypass pair" "$fig" "dest bypassed 127.0.0.1:$MCP_PORT $N_BYPASS - curl/"
assert_match "JSON: a refused name, with its suggestion" "$fig" \
	"dest dns_refused refused-1.evil.test 1 --allow-domains=refused-1.evil.test"
assert_match "JSON: allowed.test through Squid, named to curl" "$fig" \
	"dest allowed allowed.test $((N_ALLOWED + N_TLS_OK)) - curl/"
assert_eq "JSON: no dangerous port or raw IP suggested" \
	"$(grep -cE -- '--allow-domains=[0-9.]+ |--allow-(host|redirect)-ports=(22|3306|5432) ' <<<"$fig")" 0
text=$("$NETFENCE" report --text "$LOGS")
assert_match "report --text: the totals" "$text" "allowed through Squid +$((N_ALLOWED + N_TLS_OK))"
assert_eq "report (not a terminal): the page's path" "$("$NETFENCE" report "$LOGS")" "$LOGS/report.html"

# --- the page: self-contained, escaped, its script allowed by its hash ------------
html=$(cat "$LOGS/report.html")
assert_eq "the page loads nothing from anywhere" \
	"$(grep -ciE 'src=|href="(https?:|//)|url\(|@import' <<<"$html")" 0
assert_eq "the page has one script element" "$(grep -o '<script' <<<"$html" | wc -l)" 1
hash=$(sed -n 's|.*<script>\(.*\)</script>.*|\1|p' "$LOGS/report.html" | tr -d '\n' |
	openssl dgst -sha256 -binary | base64)
assert_eq "the policy allows exactly the page's script (sha256)" \
	"$(grep -cF "script-src 'sha256-$hash'" "$LOGS/report.html")" 1
assert_eq "hostile names are escaped in the file" \
	"$(grep -c '<script>document\|<svg onload' <<<"$html")" 0

# --- the page in Chromium ---------------------------------------------------------
# chromium MODE FILE OUT: headless, JavaScript on; console messages to OUT.err
chrome() {
	local mode=$1 file=$2 out=$3
	DBUS_SESSION_BUS_ADDRESS=disabled: timeout 120 chromium --headless --no-sandbox \
		--disable-gpu --no-first-run --disable-extensions --user-data-dir="$TDIR/chrome" \
		--enable-logging=stderr --v=0 --window-size=1280,2400 "$mode" \
		"file://$file" >"$out" 2>"$out.err"
}
chrome --dump-dom "$LOGS/report.html" "$TDIR/dom.html"
assert_eq "chromium loads the page" "$?" 0
dom=$(cat "$TDIR/dom.html")
assert_match "DOM: its script ran" "$dom" '<body data-js="ok">'
assert_eq "DOM: no console message (script error, policy violation)" \
	"$(grep -c ':CONSOLE' "$TDIR/dom.html.err")" 0
assert_match "DOM: the title was not changed by a hostile name" "$dom" "<title>netfence run report: bash "
assert_eq "DOM: no hostile element was made" \
	"$(grep -c '<script>document\|<svg onload\|PWNED-[a-z]*</title>' <<<"$dom")" 0
assert_match "DOM: the hostile command line is shown as text" "$dom" \
	'&lt;script&gt;document.title="PWNED-arg"&lt;/script&gt;'
assert_match "DOM: the hostile DNS name is shown as text" "$dom" \
	'&lt;script&gt;document.title="PWNED-dns"&lt;/script&gt;.evil.test'
assert_match "DOM: the hostile process name is shown as text" "$dom" '&lt;svg onload=x&gt;/'
assert_match "DOM: the figures" "$dom" \
	"<span class=\"n\">$N_KERNEL</span><span class=\"l\">refused in the kernel</span>"
assert_match "DOM: the allowed figure" "$dom" \
	"<span class=\"n\">$((N_ALLOWED + N_TLS_OK))</span><span class=\"l\">allowed through Squid</span>"
assert_match "DOM: the suggestion list" "$dom" "<code>--allow-domains blocked.test</code>"
assert_match "DOM: the timeline" "$dom" '<svg id="timeline"'
chrome --screenshot="$SHOTS/report.png" "$LOGS/report.html" "$TDIR/shot"
assert_eq "a screenshot of the page: $SHOTS/report.png" \
	"$([[ -s $SHOTS/report.png ]] && echo yes)" yes
# the control: the same page with its script changed breaks the policy; the
# console error is seen and the script does not run
sed 's|document.body.setAttribute|document.body.setAttribute("x","y");document.body.setAttribute|' \
	"$LOGS/report.html" >"$TDIR/broken.html"
chrome --dump-dom "$TDIR/broken.html" "$TDIR/broken.dom"
assert_match "control: a script not allowed by the policy is a console error" \
	"$(cat "$TDIR/broken.dom.err")" ':CONSOLE.*Content Security Policy'
assert_match "control: and it does not run" "$(cat "$TDIR/broken.dom")" '<body data-js="off">'

# --- malformed and missing logs ---------------------------------------------------
mkdir "$TDIR/cut"
cp "$LOGS"/{run.json,access.log,events.jsonl} "$TDIR/cut/"
echo 'a line of another format' >>"$TDIR/cut/access.log"
printf '1796508089.797 127.0.0.1:40030 127.0.0.2:80 127.0' >>"$TDIR/cut/access.log"
printf '{"verdict":"refused","reason":"deny_port","destin' >>"$TDIR/cut/events.jsonl"
out=$("$NETFENCE" -j report "$TDIR/cut")
assert_eq "truncated logs: report still made, exit 0" "$?" 0
assert_match "truncated logs: the skipped lines are counted" "$out" \
	'"skipped_lines":\{"access_log":2,"events":1,'
assert_match "truncated logs: the totals stand" "$out" "\"kernel_refused\":$N_KERNEL,"
mkdir "$TDIR/empty"
out=$("$NETFENCE" report "$TDIR/empty" 2>&1)
assert_eq "an empty directory: exit 2" "$?" 2
assert_match "an empty directory: one Error line" "$out" "^Error: report: '$TDIR/empty': no run.json"
assert_eq "an empty directory: nothing written" "$(ls -A "$TDIR/empty")" ""
out=$("$NETFENCE" report "$TDIR/nonexistent" 2>&1)
assert_eq "a missing directory: exit 2" "$?" 2
assert_eq "a missing directory: one line" "$(wc -l <<<"$out")" 1
out=$("$NETFENCE" report 2>&1)
assert_eq "no directory: exit 2" "$?" 2

echo "run took $(awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.1f\", b - a }") s; the page: $LOGS/report.html, $SHOTS/report.png"
t_summary
