#!/usr/bin/env bash
# Bad input: every malformed invocation of attach, detach, status, run and
# events (and of netfence itself) exits 2 (127 for a command that does not
# exist) with exactly one line on stderr, "Error: " naming the flag and the
# value; with -j, stdout is one JSON object with "error" (the same text);
# and nothing is attached, pinned, created or started. No namespaces, no
# traffic. As root every case runs and the "nothing left" checks too; as
# another user the cases that need root (cgroup paths are checked after the
# root check) are skipped, with a reason.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ ! -x $NETFENCE ]]; then
	t_fail "needs $NETFENCE" "run 'make'"
	t_summary
	exit 1
fi
# Debian's python3 first: a version manager's shim costs a second a call
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
if [[ -z $PY ]]; then
	t_fail "needs python3" "to check the JSON"
	t_summary
	exit 1
fi

private_pins
PIN=$NETFENCE_PIN_ROOT
on_cleanup '[[ -n ${SHMDIR:-} ]] && rmdir "$SHMDIR" 2>/dev/null'
ROOT=0
if ((EUID == 0)) && [[ -n $CG2 ]]; then
	ROOT=1
	CG=$(make_cgroup bad) || exit 1
	CG_OTHER=$(make_cgroup other) || exit 1
else
	CG=/sys/fs/cgroup/nftest-$$-bad
	CG_OTHER=/sys/fs/cgroup/nftest-$$-other
fi
# a directory on a file system that is not cgroup2 (tmpfs)
SHMDIR=/dev/shm/nftest-$$-dir
mkdir -p "$SHMDIR"
printf 'a.com\nexa mple.com\n' >"$TDIR/domains-bad"
OKP=(--proxy 10.9.8.1:3128 --dns-servers 10.9.8.1)	# valid policy flags
RUNOK=(--dns-servers 10.9.8.1)

# leftovers: what a refused invocation could have left, as one string
# (empty when nothing): pins, programs on the test's cgroups. Few
# processes: each costs ~25 ms on a small VM.
shopt -s nullglob
leftovers() {
	local pins=("$PIN"/*) progs
	((${#pins[@]})) && echo "pins: ${pins[*]}"
	if ((ROOT)); then
		progs=$(bpftool cgroup show "$CG" 2>/dev/null)
		[[ -n $progs ]] && echo "programs on $CG: $progs"
	fi
}

# json_error FILE: the "error" string of the one JSON object in FILE, or
# "NOT-JSON: why".
json_error() {
	"$PY" -c '
import json, sys
s = open(sys.argv[1]).read()
try:
    d = json.loads(s)
except Exception as e:
    print("NOT-JSON: %s: %r" % (e, s[:200])); sys.exit()
if not isinstance(d, dict) or not isinstance(d.get("error"), str):
    print("NOT-JSON: not an object with an error string: %r" % s[:200]); sys.exit()
print(d["error"])' "$1"
}

# bad NAME RC FLAG VALUE ARGS...: netfence ARGS, plain and with -j.
# RC: 2 or 127; "2r" when the case needs root to get that far. FLAG and
# VALUE must appear in the Error line (empty: not checked).
bad() {
	local name=$1 want=$2 flag=$3 value=$4 mode pid got err lines je why= lo errl=()
	local -a left
	shift 4
	if [[ $want == *r ]]; then
		want=${want%r}
		if ((!ROOT)); then
			t_skip "$name" "needs root: the cgroup is checked after the root check"
			return
		fi
	fi
	for mode in plain json; do
		local pre=()
		[[ $mode == json ]] && pre=(-j)
		"$NETFENCE" "${pre[@]}" "$@" >"$TDIR/out" 2>"$TDIR/err" </dev/null &
		pid=$!
		wait $pid
		got=$?
		mapfile -t errl <"$TDIR/err"
		lines=${#errl[@]}
		err=${errl[*]}
		if [[ $got != "$want" ]]; then
			why+="[$mode] exit $got, want $want; "
		fi
		if [[ $lines != 1 || $err != "Error: "* ]]; then
			why+="[$mode] stderr is not one Error line ($lines lines): $err; "
		else
			[[ -n $flag && $err != *"$flag"* ]] && why+="[$mode] does not name $flag: $err; "
			[[ -n $value && $err != *"$value"* ]] && why+="[$mode] does not show '$value': $err; "
		fi
		if [[ $mode == plain && -s $TDIR/out ]]; then
			why+="[plain] stdout not empty: $(<"$TDIR/out"); "
		fi
		if [[ $mode == json ]]; then
			je=$(json_error "$TDIR/out")
			if [[ $je == NOT-JSON* ]]; then
				why+="[json] stdout: $je; "
			elif [[ $lines == 1 && "Error: $je" != "$err" ]]; then
				why+="[json] error '$je' differs from stderr '$err'; "
			fi
		fi
		if [[ -n ${ABSENT:-} && -e $ABSENT ]]; then
			why+="[$mode] created $ABSENT; "
			rm -rf "$ABSENT"
		fi
		lo=$(leftovers)
		if [[ -n $lo ]]; then
			why+="[$mode] left $lo; "
			"$NETFENCE" detach --cgroup "$CG" >/dev/null 2>&1
			rm -rf "$PIN"
		fi
		if ((ROOT)) && [[ -e $CG2/netfence-run-$pid ]]; then
			why+="[$mode] left cgroup netfence-run-$pid; "
			rmdir "$CG2/netfence-run-$pid"/* "$CG2/netfence-run-$pid" 2>/dev/null
		fi
		left=(/tmp/netfence-run-"$pid"-* /dev/shm/nf"$pid"r*)
		((${#left[@]})) && why+="[$mode] left ${left[*]}; "
	done
	if [[ -n $why ]]; then
		t_fail "$name" "${why%; }"
	else
		t_pass "$name: exit $want, one Error line, JSON error, nothing left"
	fi
}

A=(attach --cgroup "$CG")

# --- port specs ---------------------------------------------------------------
bad "port 0" 2 --redirect-ports "'0'" "${A[@]}" "${OKP[@]}" --redirect-ports 0
bad "port 65536" 2 --redirect-ports 65536 "${A[@]}" "${OKP[@]}" --redirect-ports 65536
bad "reversed range 80-70" 2 --redirect-ports 80-70 "${A[@]}" "${OKP[@]}" --redirect-ports 80-70
bad "leading zero 080" 2 --redirect-ports 080 "${A[@]}" "${OKP[@]}" --redirect-ports 080
bad "empty item 80,,443" 2 --redirect-ports 80,,443 "${A[@]}" "${OKP[@]}" --redirect-ports 80,,443
bad "leading comma ,80" 2 --redirect-ports ,80 "${A[@]}" "${OKP[@]}" --redirect-ports ,80
bad "trailing comma 80," 2 --redirect-ports 80, "${A[@]}" "${OKP[@]}" --redirect-ports 80,
bad "space inside '80, 443'" 2 --redirect-ports "80, 443" "${A[@]}" "${OKP[@]}" --redirect-ports "80, 443"
bad "leading space ' 80'" 2 --redirect-ports "' 80'" "${A[@]}" "${OKP[@]}" --redirect-ports " 80"
bad "letter in a port 8O" 2 --redirect-ports 8O "${A[@]}" "${OKP[@]}" --redirect-ports 8O
bad "range without a start -80" 2 --redirect-ports -80 "${A[@]}" "${OKP[@]}" --redirect-ports=-80
bad "range 1-2-3" 2 --redirect-ports 1-2-3 "${A[@]}" "${OKP[@]}" --redirect-ports 1-2-3
bad "newline inside a port list" 2 --redirect-ports 80 "${A[@]}" "${OKP[@]}" --redirect-ports $'80\n443'
bad "empty port list" 2 --redirect-ports "''" "${A[@]}" "${OKP[@]}" --redirect-ports ""
bad "TLS port 99999" 2 --tls-ports 99999 "${A[@]}" "${OKP[@]}" --tls-ports 99999
bad "dangerous host port 22" 2 --allow-host-ports 22 "${A[@]}" "${OKP[@]}" \
	--enable-host-access --host-gateway 10.9.8.1 --allow-host-ports 22
bad "range over a dangerous port 5000-6000" 2 --allow-host-ports 5000-6000 "${A[@]}" "${OKP[@]}" \
	--enable-host-access --host-gateway 10.9.8.1 --allow-host-ports 5000-6000
bad "--allow-host-ports without --enable-host-access" 2 --allow-host-ports 8080 \
	"${A[@]}" "${OKP[@]}" --allow-host-ports 8080

# --- addresses and names ------------------------------------------------------
bad "--host-gateway without --enable-host-access" 2 --host-gateway 10.9.8.1 \
	"${A[@]}" "${OKP[@]}" --host-gateway 10.9.8.1
bad "host gateway that does not resolve" 2 --host-gateway nosuch.invalid \
	"${A[@]}" "${OKP[@]}" --enable-host-access --host-gateway nosuch.invalid
bad "host gateway 300.1.1.1" 2 --host-gateway 300.1.1.1 "${A[@]}" "${OKP[@]}" \
	--enable-host-access --host-gateway 300.1.1.1
bad "host gateway IPv6" 2 --host-gateway fd00::1 "${A[@]}" "${OKP[@]}" \
	--enable-host-access --host-gateway fd00::1
bad "host gateway with a space" 2 --host-gateway "a b" "${A[@]}" "${OKP[@]}" \
	--enable-host-access --host-gateway "a b"
bad "proxy 300.1.1.1" 2 --proxy 300.1.1.1:3128 "${A[@]}" --proxy 300.1.1.1:3128
bad "proxy IPv6 where IPv4 is needed" 2 --proxy "[fd00::1]:3128" "${A[@]}" --proxy "[fd00::1]:3128"
bad "proxy without a port" 2 --proxy 10.9.8.1 "${A[@]}" --proxy 10.9.8.1
bad "proxy port 0" 2 --proxy 10.9.8.1:0 "${A[@]}" --proxy 10.9.8.1:0
bad "proxy port 65536" 2 --proxy 10.9.8.1:65536 "${A[@]}" --proxy 10.9.8.1:65536
bad "proxy with a leading zero" 2 --proxy 010.9.8.1:3128 "${A[@]}" --proxy 010.9.8.1:3128
bad "proxy with three parts" 2 --proxy 10.9.8:3128 "${A[@]}" --proxy 10.9.8:3128
bad "proxy with a leading space" 2 --proxy "' 10.9.8.1:3128'" "${A[@]}" --proxy " 10.9.8.1:3128"
bad "TLS proxy not an address" 2 --tls-proxy proxy.example:3130 "${A[@]}" "${OKP[@]}" \
	--tls-proxy proxy.example:3130
bad "dns proxy without a value" 2 --dns-proxy "" "${A[@]}" "${OKP[@]}" --dns-proxy
bad "dns proxy without a port" 2 --dns-proxy 10.9.8.1 "${A[@]}" "${OKP[@]}" --dns-proxy 10.9.8.1
bad "dns proxy empty" 2 --dns-proxy "''" "${A[@]}" "${OKP[@]}" --dns-proxy ''
bad "dns proxy IPv6" 2 --dns-proxy "::1" "${A[@]}" "${OKP[@]}" --dns-proxy '[::1]:53'
bad "forward proxy port a name" 2 --forward-proxy 10.9.8.1:http "${A[@]}" "${OKP[@]}" \
	--forward-proxy 10.9.8.1:http
bad "DNS servers with an empty item" 2 --dns-servers 10.9.8.1,,10.9.8.2 "${A[@]}" \
	--proxy 10.9.8.1:3128 --dns-servers 10.9.8.1,,10.9.8.2
bad "DNS server IPv6" 2 --dns-servers ::1 "${A[@]}" --proxy 10.9.8.1:3128 --dns-servers ::1
bad "DNS server 256.0.0.1" 2 --dns-servers 256.0.0.1 "${A[@]}" --proxy 10.9.8.1:3128 \
	--dns-servers 256.0.0.1
bad "loopback neither allow nor host" 2 --loopback maybe "${A[@]}" "${OKP[@]}" --loopback maybe
for v in -1 +5 1048577 99999999999999999999 5x 0x10 " 5"; do
	bad "max-connections '$v'" 2 --max-connections "'$v'" "${A[@]}" "${OKP[@]}" \
		--max-connections "$v"
done

# --- flags --------------------------------------------------------------------
bad "--proxy given twice" 2 --proxy "twice" "${A[@]}" "${OKP[@]}" --proxy 10.9.8.2:3128
bad "--redirect-ports given twice" 2 --redirect-ports "twice" "${A[@]}" "${OKP[@]}" \
	--redirect-ports 80 --redirect-ports 443
bad "unknown flag" 2 --no-such-flag "" "${A[@]}" "${OKP[@]}" --no-such-flag
bad "flag without its value" 2 --proxy "" "${A[@]}" --dns-servers 10.9.8.1 --proxy
bad "attach without --cgroup" 2 --cgroup "" attach "${OKP[@]}"
bad "attach without --proxy" 2 --proxy "" "${A[@]}" --dns-servers 10.9.8.1
bad "attach with a stray argument" 2 "" stray "${A[@]}" "${OKP[@]}" stray

# --- cgroup paths -------------------------------------------------------------
bad "attach: cgroup that does not exist" 2r --cgroup /nonexistent/nf \
	attach --cgroup /nonexistent/nf "${OKP[@]}"
bad "attach: /proc is not a cgroup" 2r --cgroup /proc attach --cgroup /proc "${OKP[@]}"
bad "attach: a tmpfs directory is not a cgroup" 2r --cgroup "$SHMDIR" \
	attach --cgroup "$SHMDIR" "${OKP[@]}"
bad "attach: a file where a directory is expected" 2r --cgroup /etc/hostname \
	attach --cgroup /etc/hostname "${OKP[@]}"
bad "attach: --proxy-cgroup /proc" 2r --proxy-cgroup /proc "${A[@]}" "${OKP[@]}" \
	--proxy-cgroup /proc
bad "attach: proxy in the agent's cgroup" 2r --proxy-cgroup "$CG" "${A[@]}" "${OKP[@]}" \
	--proxy-cgroup "$CG"
bad "detach: /proc is not a cgroup" 2r --cgroup /proc detach --cgroup /proc
bad "detach: a file where a directory is expected" 2r --cgroup /etc/hostname \
	detach --cgroup /etc/hostname
bad "detach: --cgroup given twice" 2 --cgroup "twice" detach --cgroup "$CG" --cgroup "$CG_OTHER"
bad "detach without --cgroup" 2 --cgroup "" detach
bad "detach: unknown flag" 2 --force "" detach --cgroup "$CG" --force
bad "status: /proc is not a cgroup" 2r --cgroup /proc status --cgroup /proc
bad "status: cgroup that does not exist" 2r --cgroup /nonexistent/nf \
	status --cgroup /nonexistent/nf
bad "status: --cgroup given twice" 2 --cgroup "twice" status --cgroup "$CG" --cgroup "$CG_OTHER"
bad "status: stray argument" 2 "" stray status stray

# --- events -------------------------------------------------------------------
bad "events: --count 0" 2 --count "'0'" events --count 0
bad "events: --count abc" 2 --count abc events --count abc
bad "events: --count -1" 2 --count -1 events --count=-1
bad "events: --count with a leading space" 2 --count "' 5'" events --count " 5" --timeout 1
bad "events: --count with a leading zero" 2 --count 05 events --count 05 --timeout 1
bad "events: --timeout 1x" 2 --timeout 1x events --timeout 1x
bad "events: /proc is not a cgroup" 2r --cgroup /proc events --cgroup /proc
bad "events: --cgroup given twice" 2 --cgroup "twice" events --cgroup "$CG" \
	--cgroup "$CG_OTHER" --timeout 1
bad "events: --count given twice" 2 --count "twice" events --count 3 --count 4 --timeout 1

# --- run ----------------------------------------------------------------------
bad "run: domain *" 2 --allow-domains "'*'" run "${RUNOK[@]}" --allow-domains '*' -- true
bad "run: domain *.*" 2 --allow-domains "*.*" run "${RUNOK[@]}" --allow-domains '*.*' -- true
bad "run: domain a..b" 2 --allow-domains a..b run "${RUNOK[@]}" --allow-domains a..b.com -- true
bad "run: newline inside a domain list" 2 --allow-domains a.com run "${RUNOK[@]}" \
	--allow-domains $'a.com\nb.com' -- true
bad "run: empty item in a domain list" 2 --allow-domains "a.com,,b.com" run "${RUNOK[@]}" \
	--allow-domains a.com,,b.com -- true
bad "run: space inside a domain" 2 --allow-domains "exa mple.com" run "${RUNOK[@]}" \
	--allow-domains "exa mple.com" -- true
bad "run: '#' in a domain" 2 --allow-domains "a.com#x" run "${RUNOK[@]}" \
	--allow-domains "a.com#x" -- true
bad "run: quotes around a domain" 2 --allow-domains "a.com" run "${RUNOK[@]}" \
	--allow-domains '"a.com"' -- true
bad "run: a whole top-level domain" 2 --allow-domains "'com'" run "${RUNOK[@]}" \
	--allow-domains com -- true
bad "run: scheme other than http(s)" 2 --allow-domains ftp://a.com run "${RUNOK[@]}" \
	--allow-domains ftp://a.com -- true
bad "run: block list *" 2 --block-domains "'*'" run "${RUNOK[@]}" --allow-domains a.com \
	--block-domains '*' -- true
# patterns ('*' inside a label): never every name, never a whole top-level domain
bad "run: pattern *-*.com (a whole TLD)" 2 --allow-domains "*-*.com" run "${RUNOK[@]}" \
	--allow-domains 'a.com,*-*.com' -- true
bad "run: pattern *.com" 2 --allow-domains "*.com" run "${RUNOK[@]}" --allow-domains '*.com' -- true
bad "run: pattern **.example.com" 2 --allow-domains "**.example.com" run "${RUNOK[@]}" \
	--allow-domains '**.example.com' -- true
bad "run: pattern example.*" 2 --allow-domains "example.*" run "${RUNOK[@]}" \
	--allow-domains 'example.*' -- true
bad "run: pattern with a regex bracket" 2 --allow-domains "a*[b].example.com" \
	run "${RUNOK[@]}" --allow-domains 'a*[b].example.com' -- true
bad "run: pattern with a regex group" 2 --allow-domains "a*(b|c).example.com" \
	run "${RUNOK[@]}" --allow-domains 'a*(b|c).example.com' -- true
bad "run: block pattern *.*" 2 --block-domains "*.*" run "${RUNOK[@]}" --allow-domains a.com \
	--block-domains '*.*' -- true
printf 'a.com\n*-*.org\n' >"$TDIR/domains-badpat"
bad "run: block file with a TLD pattern" 2 --block-domains-file "*-*.org" \
	run "${RUNOK[@]}" --allow-domains a.com --block-domains-file "$TDIR/domains-badpat" -- true
bad "run: URL rule host with a pattern" 2 --allow-urls "api-*.example.com" \
	run "${RUNOK[@]}" --allow-urls 'http://api-*.example.com/x' -- true
# internationalised names: converted with libidn2, refused when not IDNA2008
bad "run: an invalid internationalised name" 2 --allow-domains '\xe2\x98\x83.example' \
	run "${RUNOK[@]}" --allow-domains $'a.com,\xe2\x98\x83.example' -- true
# -j: a value that is not UTF-8 still gives valid JSON (U+FFFD for each bad byte)
bad "run: a name that is not UTF-8" 2 --block-domains '\xff.example' \
	run "${RUNOK[@]}" --allow-domains a.com --block-domains $'\xff.example' -- true
bad "run: '*' inside an internationalised label" 2 --allow-domains 'b\xc3\xbc*.example.com' \
	run "${RUNOK[@]}" --allow-domains $'b\xc3\xbc*.example.com' -- true
# --allow-domains localhost: host access, and still no dangerous port
bad "run: localhost with a dangerous host port" 2 --allow-host-ports "5432" run "${RUNOK[@]}" \
	--allow-domains localhost --allow-host-ports 8080,5432 -- true
bad "run: localhost is no keyword in a block list" 2 --block-domains localhost run "${RUNOK[@]}" \
	--allow-domains a.com --block-domains localhost -- true
bad "run: domain file that does not exist" 2 --allow-domains-file /nonexistent/d \
	run "${RUNOK[@]}" --allow-domains-file /nonexistent/d -- true
bad "run: domain file with a bad line" 2 --allow-domains-file "exa mple.com" \
	run "${RUNOK[@]}" --allow-domains-file "$TDIR/domains-bad" -- true
bad "run: hosts file that does not exist" 2 --hosts-file /nonexistent/h \
	run "${RUNOK[@]}" --hosts-file /nonexistent/h -- true
bad "run: user that does not exist" 2 --user nosuchuser-nf run "${RUNOK[@]}" \
	--user nosuchuser-nf -- true
bad "run: a file as --log-dir" 2 --log-dir /etc/hostname run "${RUNOK[@]}" \
	--log-dir /etc/hostname -- true
bad "run: --hosts-file given twice" 2 --hosts-file "twice" run "${RUNOK[@]}" \
	--hosts-file /etc/hosts --hosts-file /etc/hosts -- true
bad "run: --user given twice" 2 --user "twice" run "${RUNOK[@]}" --user root --user root -- true
bad "run: bad redirect port" 2 --redirect-ports 0 run "${RUNOK[@]}" --redirect-ports 0 -- true
bad "run: --cgroup is not a run flag" 2 --cgroup "" run "${RUNOK[@]}" --cgroup "$CG" -- true
bad "run: no command" 2 "" "" run "${RUNOK[@]}" --allow-domains a.com
bad "run: command that does not exist (path)" 127 "" /nonexistent/cmd run "${RUNOK[@]}" \
	-- /nonexistent/cmd
bad "run: command that does not exist (PATH)" 127 "" nosuchcmd-nf run "${RUNOK[@]}" \
	-- nosuchcmd-nf
bad "run: own proxy and a command that does not exist" 127 "" /nonexistent/cmd run \
	"${RUNOK[@]}" --proxy 10.9.8.1:3128 -- /nonexistent/cmd

ABSENT=$TDIR/newlog bad "run: --log-dir not created when the command does not exist" 127 "" \
	nosuchcmd-nf run "${RUNOK[@]}" --log-dir "$TDIR/newlog" -- nosuchcmd-nf
ABSENT=$TDIR/newlog bad "run: --log-dir not created when the policy is refused" 2 \
	--allow-host-ports 8080 run "${RUNOK[@]}" --log-dir "$TDIR/newlog" --allow-host-ports 8080 -- true
# --ssl-bump, --allow-urls, --origin-ca-file
printf -- '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nx\n' \
	>"$TDIR/with-key.pem"
bad "run: URL rule without a scheme" 2 --allow-urls "github.com/x" run "${RUNOK[@]}" \
	--ssl-bump --allow-urls github.com/x -- true
bad "run: URL rule with '\$'" 2 --allow-urls 'https://a.com/$x' run "${RUNOK[@]}" \
	--ssl-bump --allow-urls 'https://a.com/$x' -- true
bad "run: URL rule with a dot segment" 2 --allow-urls "https://a.com/a/../b" run "${RUNOK[@]}" \
	--ssl-bump --allow-urls https://a.com/a/../b -- true
bad "run: URL rule for every name" 2 --allow-urls "https://*/x" run "${RUNOK[@]}" \
	--ssl-bump --allow-urls 'https://*/x' -- true
bad "run: URL rule with a newline" 2 --allow-urls "" run "${RUNOK[@]}" \
	--ssl-bump --allow-urls $'https://a.com/x\nacl all src all' -- true
bad "run: empty URL list" 2 --allow-urls "''" run "${RUNOK[@]}" --ssl-bump --allow-urls "" -- true
bad "run: https:// URL rule without --ssl-bump" 2 --allow-urls "https://a.com" run "${RUNOK[@]}" \
	--allow-urls https://a.com/x/ -- true
bad "run: --ssl-bump with --proxy" 2 --ssl-bump "" run "${OKP[@]}" --ssl-bump -- true
bad "run: --allow-urls with --proxy" 2 --allow-urls "" run "${OKP[@]}" \
	--allow-urls http://a.com/x -- true
bad "run: --ssl-bump given twice" 2 --ssl-bump "" run "${RUNOK[@]}" --ssl-bump --ssl-bump -- true
bad "run: --origin-ca-file without --ssl-bump" 2 --origin-ca-file /etc/ssl/certs/ca-certificates.crt \
	run "${RUNOK[@]}" --origin-ca-file /etc/ssl/certs/ca-certificates.crt -- true
bad "run: --origin-ca-file that does not exist" 2 --origin-ca-file /nonexistent/ca \
	run "${RUNOK[@]}" --ssl-bump --origin-ca-file /nonexistent/ca -- true
bad "run: --origin-ca-file relative" 2 --origin-ca-file ca.pem \
	run "${RUNOK[@]}" --ssl-bump --origin-ca-file ca.pem -- true
bad "run: --origin-ca-file without a certificate" 2 --origin-ca-file /etc/hostname \
	run "${RUNOK[@]}" --ssl-bump --origin-ca-file /etc/hostname -- true
bad "run: --block-domains-file that does not exist" 2 --block-domains-file /nonexistent/b \
	run "${RUNOK[@]}" --block-domains-file /nonexistent/b -- true
bad "run: --block-domains-file with a bad line" 2 --block-domains-file "exa mple.com" \
	run "${RUNOK[@]}" --block-domains-file "$TDIR/domains-bad" -- true
bad "run: --upstream-proxy without a port" 2 --upstream-proxy proxy.corp \
	run "${RUNOK[@]}" --upstream-proxy proxy.corp -- true
bad "run: --upstream-proxy port 0" 2 --upstream-proxy proxy.corp:0 \
	run "${RUNOK[@]}" --upstream-proxy proxy.corp:0 -- true
bad "run: --upstream-proxy 300.1.1.1" 2 --upstream-proxy 300.1.1.1:3128 \
	run "${RUNOK[@]}" --upstream-proxy 300.1.1.1:3128 -- true
bad "run: --upstream-proxy with a space" 2 --upstream-proxy "'a b:3128'" \
	run "${RUNOK[@]}" --upstream-proxy "a b:3128" -- true
bad "run: --upstream-proxy with a newline" 2 --upstream-proxy "" \
	run "${RUNOK[@]}" --upstream-proxy $'a\ncache_peer x:1' -- true
bad "run: --upstream-proxy with --proxy" 2 --upstream-proxy "" run "${OKP[@]}" \
	--upstream-proxy 10.9.8.1:3128 -- true
bad "run: --origin-ca-file holding a private key" 2 --origin-ca-file "$TDIR/with-key.pem" \
	run "${RUNOK[@]}" --ssl-bump --origin-ca-file "$TDIR/with-key.pem" -- true

# --- report -------------------------------------------------------------------
mkdir -p "$TDIR/emptylogs"
bad "report: no directory" 2 "" "" report
bad "report: a directory that does not exist" 2 "" /nonexistent/logs report /nonexistent/logs
bad "report: a file, not a directory" 2 "" /etc/hostname report /etc/hostname
bad "report: a directory with no log" 2 "" "$TDIR/emptylogs" report "$TDIR/emptylogs"
bad "report: two directories" 2 "" /tmp report /tmp /tmp
bad "report: unknown flag" 2 --bogus "" report --bogus /tmp
bad "report: --text takes no value" 2 --text "" report --text=yes /tmp

# --- netfence itself ----------------------------------------------------------
bad "no command at all" 2 "" "" 
bad "unknown command" 2 "" frobnicate frobnicate
bad "unknown global flag" 2 --bogus "" --bogus status
bad "unknown short global flag" 2 -x "" -x attach

t_summary
