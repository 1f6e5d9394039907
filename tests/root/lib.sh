# shellcheck shell=bash
# Library for the root integration tests (tests/root/test_*.sh).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   require_root_env
#   topo_up || exit 1
#   CG=$(make_cgroup agent) || exit 1
#   bg_start origin "$NFPROBE" -n "$HOST_NS" serve --name origin --listen "$ORIGIN1:80"
#   wait_ready origin
#   out=$("$NFPROBE" -c "$CG" -n "$AGENT_NS" connect "$ORIGIN1" 80)
#   assert_eq hello "$(json_field "$out" reply)" "HELLO origin"
#   t_summary
#
# Everything a test creates (namespaces, cgroups, processes, the work dir)
# is registered and removed by cleanup(), which runs on EXIT, INT, TERM and
# HUP, also when the script fails half-way. cleanup() only ever touches what
# this script registered: names carry the script's PID ($$), processes are
# recorded with their start time so a recycled PID is never signalled.
#
# Traffic rule: only loopback or addresses inside the namespaces topo_up
# creates. Never give an address to the root namespace.
#
# The library does not set -e; it works with set -u (and set -e, but then a
# failed assert_* ends the script before t_summary: prefer plain set -u).

if [[ -n ${NFT_LIB_LOADED:-} ]]; then
	return 0
fi
NFT_LIB_LOADED=1

NFT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NFPROBE=${NFPROBE:-$NFT_ROOT/build/tools/nfprobe}
NETFENCE=${NETFENCE:-$NFT_ROOT/build/netfence}
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
NFT_NAME=$(basename "$0" .sh)
NFT_MAIN_PID=$$		# names: nft-$$-*, nftest-$$-*
NFT_SHELL_PID=$BASHPID	# the shell that sourced us: owns the cleanup
NFT_PASS=0
NFT_FAIL=0
NFT_SKIP=0
NFT_CLEANED=0
NFT_HOOKS=()
NFT_CLEANED_PIDS=()	# "pid start" of every recorded process, after cleanup

TDIR=$(mktemp -d "${TMPDIR:-/tmp}/nft-work-$$.XXXXXX") || {
	echo "FAIL: $NFT_NAME: mktemp -d failed" >&2
	exit 1
}
# Registry files: written by subshells too ($(make_cgroup ...)).
NFT_REG=$TDIR/.registry
mkdir -p "$NFT_REG"
: >"$NFT_REG/pids"	# pid start name
: >"$NFT_REG/cgroups"	# absolute path, parents before children
: >"$NFT_REG/netns"	# name
export CG2 TDIR NFPROBE NETFENCE

# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------

# nft_oneline TEXT: TEXT on one line, in NFT_LINE (no subshell: a Ctrl-C
# must not eat a result line).
nft_oneline() {
	NFT_LINE=${1//$'\r'/}
	NFT_LINE=${NFT_LINE//$'\n'/ | }
}

# t_pass NAME
t_pass() {
	NFT_PASS=$((NFT_PASS + 1))
	nft_oneline "$1"
	echo "PASS: $NFT_LINE"
}

# t_fail NAME [DETAIL]
t_fail() {
	local name

	NFT_FAIL=$((NFT_FAIL + 1))
	nft_oneline "$1"
	name=$NFT_LINE
	if [[ $# -gt 1 && -n $2 ]]; then
		nft_oneline "$2"
		echo "FAIL: $name: $NFT_LINE"
	else
		echo "FAIL: $name"
	fi
}

# t_skip NAME REASON
t_skip() {
	local name

	NFT_SKIP=$((NFT_SKIP + 1))
	nft_oneline "$1"
	name=$NFT_LINE
	nft_oneline "${2:-no reason given}"
	echo "SKIP: $name: $NFT_LINE"
}

# t_summary: the line "N passed, N failed, N skipped"; non-zero if anything
# failed, or if anything was skipped while CI=true.
t_summary() {
	local rc=0

	if ((NFT_FAIL > 0)); then
		rc=1
	elif ((NFT_SKIP > 0)) && [[ ${CI:-} == true ]]; then
		echo "CI=true: $NFT_SKIP skipped test(s) count as a failure" \
			"(a CI runner must run the whole root suite)"
		rc=1
	fi
	echo "$NFT_PASS passed, $NFT_FAIL failed, $NFT_SKIP skipped"
	return $rc
}

# assert_eq NAME GOT WANT
assert_eq() {
	if [[ $2 == "$3" ]]; then
		t_pass "$1"
	else
		t_fail "$1" "got '$2', want '$3'"
		return 1
	fi
}

# assert_match NAME STRING REGEX (bash ERE)
assert_match() {
	if [[ $2 =~ $3 ]]; then
		t_pass "$1"
	else
		t_fail "$1" "'$2' does not match /$3/"
		return 1
	fi
}

# nft_json_unescape TEXT: a JSON string body, unescaped (\u00XX is the byte
# XX, as nfprobe writes non-ASCII bytes).
nft_json_unescape() {
	local s=$1 out='' c h i n=${#1}

	for ((i = 0; i < n; i++)); do
		c=${s:i:1}
		if [[ $c != \\ ]]; then
			out+=$c
			continue
		fi
		i=$((i + 1))
		c=${s:i:1}
		case $c in
		n) out+=$'\n' ;;
		r) out+=$'\r' ;;
		t) out+=$'\t' ;;
		b) out+=$'\b' ;;
		f) out+=$'\f' ;;
		u)
			h=${s:i+1:4}
			i=$((i + 4))
			if [[ $h == 00[0-9a-fA-F][0-9a-fA-F] ]]; then
				# shellcheck disable=SC2059
				printf -v c "\\x${h:2}"
				out+=$c
			else
				out+="\\u$h"
			fi
			;;
		*) out+=$c ;;
		esac
	done
	printf '%s\n' "$out"
}

# json_field JSON KEY: the value of KEY in nfprobe's flat JSON, unescaped
# (strings) or as written (numbers, true, false, null). Returns 1 if absent.
json_field() {
	local json=$1 key=$2 re

	re='"'$key'":"(([^"\\]|\\.)*)"'
	if [[ $json =~ $re ]]; then
		nft_json_unescape "${BASH_REMATCH[1]}"
		return 0
	fi
	re='"'$key'":(-?[0-9]+|true|false|null)'
	if [[ $json =~ $re ]]; then
		printf '%s\n' "${BASH_REMATCH[1]}"
		return 0
	fi
	return 1
}

# --------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------

# require_root_env: root, a cgroup v2 mount, bpffs (mounted or mountable)
# and iproute2. Otherwise: with CI=true fail loudly, else skip and exit.
require_root_env() {
	local why=

	if ((EUID != 0)); then
		why="not root"
	elif [[ -z $CG2 || ! -e $CG2/cgroup.procs ]]; then
		why="no cgroup2 mount in /proc/mounts"
	elif ! awk '$3 == "bpf" { f = 1 } END { exit !f }' /proc/mounts &&
		! grep -qw bpf /proc/filesystems; then
		why="bpffs unavailable (not mounted, not in /proc/filesystems)"
	elif ! command -v ip >/dev/null 2>&1; then
		why="iproute2 (ip) not installed"
	fi
	[[ -z $why ]] && return 0
	if [[ ${CI:-} == true ]]; then
		t_fail "$NFT_NAME: environment" \
			"$why; CI=true: the root suite must run, not skip"
		t_summary
		exit 1
	fi
	t_skip "$NFT_NAME" "$why"
	t_summary
	exit $?
}

# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------

# nft_starttime PID: field 22 of /proc/PID/stat (empty if gone or a zombie).
nft_starttime() {
	local s f

	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	read -r -a f <<<"$s"
	[[ ${f[0]} == Z || ${f[0]} == X ]] && return 1
	printf '%s\n' "${f[19]}"
}

# nft_is_ours PID START: the same process we recorded, still running.
nft_is_ours() {
	local now

	[[ -n $2 && $2 != - ]] || return 1
	now=$(nft_starttime "$1") || return 1
	[[ $now == "$2" ]]
}

# nft_ppid PID
nft_ppid() {
	local s f

	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	read -r -a f <<<"$s"
	printf '%s\n' "${f[1]}"
}

# nft_descends PID ANCESTOR: ANCESTOR is PID or one of its ancestors.
nft_descends() {
	local p=$1 i

	for ((i = 0; i < 64; i++)); do
		[[ $p == "$2" ]] && return 0
		[[ -z $p || $p -le 1 ]] && return 1
		p=$(nft_ppid "$p") || return 1
	done
	return 1
}

# nft_children_of PID...: live descendants of the given PIDs, "pid start".
nft_children_of() {
	local -A parent=()
	local d pid roots=" $* " p i
	local s f

	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		{ read -r s <"$d/stat"; } 2>/dev/null || continue
		s=${s##*) }
		read -r -a f <<<"$s"
		parent[$pid]=${f[1]}
	done
	for pid in "${!parent[@]}"; do
		p=${parent[$pid]}
		for ((i = 0; i < 64 && p > 1; i++)); do
			if [[ $roots == *" $p "* ]]; then
				s=$(nft_starttime "$pid") &&
					echo "$pid $s"
				break
			fi
			p=${parent[$p]:-0}
		done
	done
}

# bg_start NAME CMD...: CMD in the background, stdout to $TDIR/NAME.out,
# stderr to $TDIR/NAME.err; the PID is recorded for cleanup.
bg_start() {
	local name=$1 pid start

	shift
	if [[ ! $name =~ ^[A-Za-z0-9._-]+$ || $# -eq 0 ]]; then
		echo "bg_start: usage: bg_start NAME CMD..." >&2
		return 2
	fi
	if grep -q " $name\$" "$NFT_REG/pids"; then
		echo "bg_start: '$name' already used" >&2
		return 2
	fi
	"$@" >"$TDIR/$name.out" 2>"$TDIR/$name.err" </dev/null &
	pid=$!
	start=$(nft_starttime "$pid") || start=-
	echo "$pid $start $name" >>"$NFT_REG/pids"
}

# bg_pid NAME: the PID bg_start recorded.
bg_pid() {
	awk -v n="$1" '$3 == n { print $1; exit }' "$NFT_REG/pids"
}

nft_bg_start_time() {
	awk -v n="$1" '$3 == n { print $2; exit }' "$NFT_REG/pids"
}

# wait_run_cmd NAME: wait (10 s at most) until the command of the `netfence run` that
# bg_start started as NAME is in the run's agent cgroup (everything before it is up).
wait_run_cmd() {
	local i

	for i in $(seq 100); do
		[[ -n $(cat "$CG2/netfence-run-$(bg_pid "$1")/agent/cgroup.procs" 2>/dev/null) ]] &&
			return 0
		sleep 0.1
	done
	return 1
}

# need_tools HINT TOOL...: each TOOL (a command or a path) must be there; the first
# missing one fails the suite, with HINT saying how to get it.
need_tools() {
	local hint=$1 tool

	shift
	for tool; do
		if ! command -v "$tool" >/dev/null; then
			t_fail "needs $tool" "$hint"
			t_summary
			exit 1
		fi
	done
}

# origin_certs NAME...: a CA of the test's own ($TDIR/oca.crt, .key) and a certificate
# it signs for the origins, naming each NAME ($TDIR/origin.crt, .key; CN the first).
origin_certs() {
	local san=""

	printf -v san 'DNS:%s,' "$@"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj /CN=nftest-origin-ca -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$TDIR/oca.key" -out "$TDIR/oca.crt" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" \
		-keyout "$TDIR/origin.key" -out "$TDIR/origin.csr" 2>/dev/null
	printf 'subjectAltName=%s\n' "${san%,}" >"$TDIR/san.ext"
	openssl x509 -req -in "$TDIR/origin.csr" -CA "$TDIR/oca.crt" -CAkey "$TDIR/oca.key" \
		-CAcreateserial -days 1 -extfile "$TDIR/san.ext" -out "$TDIR/origin.crt" 2>/dev/null
}

# tls_server NAME ADDR:PORT CN: an openssl s_server (as NAME) with a self-signed
# certificate for CN ($TDIR/NAME.crt, .key), answering with a page; returns once it
# listens (5 s at most).
tls_server() {
	local name=$1 ep=$2 cn=$3 i

	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj "/CN=$cn" -keyout "$TDIR/$name.key" -out "$TDIR/$name.crt" 2>/dev/null
	bg_start "$name" openssl s_server -quiet -www -accept "$ep" -cert "$TDIR/$name.crt" \
		-key "$TDIR/$name.key"
	for i in $(seq 50); do
		ss -ltn | grep -q "$ep" && return 0
		sleep 0.1
	done
	return 1
}

# wait_ready NAME [SECONDS]: wait (default 5 s) for a line READY in
# $TDIR/NAME.out. Fails early if the process exits.
wait_ready() {
	local name=$1 secs=${2:-5} pid start i

	pid=$(bg_pid "$name")
	start=$(nft_bg_start_time "$name")
	if [[ -z $pid ]]; then
		echo "wait_ready: no background process '$name'" >&2
		return 2
	fi
	for ((i = 0; i < secs * 20; i++)); do
		grep -qx READY "$TDIR/$name.out" 2>/dev/null && return 0
		if ! nft_is_ours "$pid" "$start"; then
			grep -qx READY "$TDIR/$name.out" 2>/dev/null && return 0
			echo "wait_ready: '$name' (pid $pid) exited:" \
				"$(tail -n 3 "$TDIR/$name.err" 2>/dev/null)" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "wait_ready: '$name' not READY after ${secs}s:" \
		"$(tail -n 3 "$TDIR/$name.err" 2>/dev/null)" >&2
	return 1
}

# nft_wait_gone SECONDS "pid start"...: wait until all have exited.
nft_wait_gone() {
	local secs=$1 i e alive

	shift
	for ((i = 0; i < secs * 20; i++)); do
		alive=0
		for e in "$@"; do
			# shellcheck disable=SC2086
			nft_is_ours $e && alive=1 && break
		done
		((alive)) || return 0
		sleep 0.05
	done
	return 1
}

# bg_stop NAME [SIGNAL]: signal (default TERM) the process, wait up to 5 s
# (then KILL) and return its exit status (when it is our child).
bg_stop() {
	local name=$1 sig=${2:-TERM} pid start rc=0

	pid=$(bg_pid "$name")
	start=$(nft_bg_start_time "$name")
	[[ -n $pid ]] || return 127
	if nft_is_ours "$pid" "$start"; then
		kill -s "$sig" "$pid" 2>/dev/null
		if ! nft_wait_gone 5 "$pid $start"; then
			echo "bg_stop: '$name' ignored SIG$sig, killing" >&2
			nft_is_ours "$pid" "$start" && kill -KILL "$pid"
		fi
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}

# bg_wait NAME [SECONDS]: wait (default 5 s) for the process to exit on its
# own; its exit status (when it is our child), 124 if it is still running.
bg_wait() {
	local name=$1 secs=${2:-5} pid start

	pid=$(bg_pid "$name")
	start=$(nft_bg_start_time "$name")
	[[ -n $pid ]] || return 127
	nft_wait_gone "$secs" "$pid $start" || return 124
	wait "$pid" 2>/dev/null
}

# --------------------------------------------------------------------------
# Cgroups
# --------------------------------------------------------------------------

# make_cgroup NAME: create $CG2/nftest-$$-NAME (NAME may be nested, a/b),
# register it for cleanup and print its path. Use as
#   CG=$(make_cgroup agent) || exit 1
make_cgroup() {
	local name=$1 top path comp rest

	if [[ ! $name =~ ^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$ ]]; then
		echo "make_cgroup: bad name '$name'" >&2
		return 2
	fi
	if [[ -z $CG2 ]]; then
		echo "make_cgroup: no cgroup2 mount" >&2
		return 1
	fi
	top=${name%%/*}
	path=$CG2/nftest-$NFT_MAIN_PID-$top
	rest=${name#"$top"}
	# Parents first: an existing parent must be one of ours.
	while :; do
		if [[ -d $path ]]; then
			if ! grep -qxF "$path" "$NFT_REG/cgroups"; then
				echo "make_cgroup: $path exists and is not" \
					"ours" >&2
				return 1
			fi
		else
			mkdir "$path" || return 1
			echo "$path" >>"$NFT_REG/cgroups"
		fi
		[[ -z $rest ]] && break
		rest=${rest#/}
		comp=${rest%%/*}
		rest=${rest#"$comp"}
		path=$path/$comp
	done
	printf '%s\n' "$path"
}

# nft_cgroup_empty DIR: kill our processes left in DIR (descendants of this
# script); foreign ones are reported and left alone.
nft_cgroup_empty() {
	local dir=$1 pid start left=()

	while read -r pid; do
		[[ -n $pid ]] || continue
		if nft_descends "$pid" "$NFT_SHELL_PID"; then
			start=$(nft_starttime "$pid") || continue
			kill -KILL "$pid" 2>/dev/null
			left+=("$pid $start")
		else
			echo "cleanup: $dir holds pid $pid, not started by" \
				"this test: left alone" >&2
		fi
	done <"$dir/cgroup.procs"
	((${#left[@]})) && nft_wait_gone 2 "${left[@]}"
	return 0
}

# nft_rmdir_cgroup DIR: rmdir, retrying while the last tasks exit.
nft_rmdir_cgroup() {
	local i

	for ((i = 0; i < 40; i++)); do
		rmdir "$1" 2>/dev/null && return 0
		[[ -d $1 ]] || return 0
		sleep 0.05
	done
	echo "cleanup: cannot remove cgroup $1: $(rmdir "$1" 2>&1)" >&2
	return 1
}

# --------------------------------------------------------------------------
# Pins
# --------------------------------------------------------------------------

# private_pins: a bpffs pin root of this script's own (NETFENCE_PIN_ROOT, exported to
# every netfence it runs), so that no test sees or touches another's policies. At
# cleanup every policy under it is detached and the root removed.
private_pins() {
	export NETFENCE_PIN_ROOT=/sys/fs/bpf/nftest-$NFT_MAIN_PID
	on_cleanup nft_remove_pins
}

# nft_remove_pins: detach each cgroup `netfence status` lists under our pin root (while
# the cgroups exist: hooks run before they go), then remove the root.
nft_remove_pins() {
	local p

	[[ -n ${NETFENCE_PIN_ROOT:-} && -d $NETFENCE_PIN_ROOT ]] || return 0
	while read -r p; do
		[[ -n $p ]] && "$NETFENCE" detach --cgroup "$p" >/dev/null 2>&1
	done < <("$NETFENCE" -j status 2>/dev/null | grep -o '"cgroup":"[^"]*"' | cut -d'"' -f4)
	rm -rf "$NETFENCE_PIN_ROOT"
}

# --------------------------------------------------------------------------
# Topology
# --------------------------------------------------------------------------

nft_netns_exists() {
	[[ -e /run/netns/$1 ]]
}

# nft_subnet_in_use K: another test's namespaces already use 10.20[01].K.
nft_subnet_in_use() {
	local ns addrs

	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		[[ $ns == nft-* ]] || continue
		addrs=$(ip -n "$ns" -4 -o addr show 2>/dev/null) || continue
		[[ $addrs =~ \ 10\.20[01]\.$1\. ]] && return 0
	done
	return 1
}

# topo_up: the container picture on one machine.
#
#   agent netns nft-$$-a            host netns nft-$$-h
#   AGENT_IP 10.200.K.2/24  --veth--  GW_IP 10.200.K.1/24
#   default via GW_IP                 lo: ORIGIN1 10.201.K.1/32,
#                                         ORIGIN2 10.201.K.2/32
topo_up() {
	local k='' i a=nft-$NFT_MAIN_PID-a h=nft-$NFT_MAIN_PID-h

	if [[ $BASHPID != "$NFT_SHELL_PID" ]]; then
		echo "topo_up: call it from the main shell, not a subshell" >&2
		return 2
	fi
	if nft_netns_exists "$a" || nft_netns_exists "$h"; then
		echo "topo_up: $a or $h already exists (not ours)" >&2
		return 1
	fi
	for ((i = 0; i < 50; i++)); do
		k=$((RANDOM % 250 + 1))
		nft_subnet_in_use "$k" || break
		k=
	done
	if [[ -z $k ]]; then
		echo "topo_up: no free 10.200.K.0/24 subnet" >&2
		return 1
	fi
	ip netns add "$a" || return 1
	echo "$a" >>"$NFT_REG/netns"
	ip netns add "$h" || return 1
	echo "$h" >>"$NFT_REG/netns"

	# The veth is created inside the namespaces, never in the root one.
	if ! { ip -n "$a" link add nfa0 type veth peer name nfh0 netns "$h" &&
		ip -n "$a" link set lo up &&
		ip -n "$h" link set lo up &&
		ip -n "$a" addr add "10.200.$k.2/24" dev nfa0 &&
		ip -n "$h" addr add "10.200.$k.1/24" dev nfh0 &&
		ip -n "$h" addr add "10.201.$k.1/32" dev lo &&
		ip -n "$h" addr add "10.201.$k.2/32" dev lo &&
		ip -n "$a" link set nfa0 up &&
		ip -n "$h" link set nfh0 up &&
		ip -n "$a" route add default via "10.200.$k.1" dev nfa0; }; then
		echo "topo_up: configuring $a/$h failed" >&2
		return 1
	fi

	export TOPO_K=$k
	export AGENT_NS=$a HOST_NS=$h
	export GW_IP=10.200.$k.1 AGENT_IP=10.200.$k.2
	export ORIGIN1=10.201.$k.1 ORIGIN2=10.201.$k.2
}

# --------------------------------------------------------------------------
# Cleanup
# --------------------------------------------------------------------------

# on_cleanup CMD...: run CMD (eval'd) at cleanup, last registered first,
# after the processes are gone and before cgroups and namespaces go.
# Main shell only.
on_cleanup() {
	NFT_HOOKS+=("$*")
}

# cleanup: remove everything this script registered. Idempotent; runs on
# EXIT and on signals; also safe to call explicitly before the final checks.
cleanup() {
	local i e pid start name all=() dirs=() d top ns

	[[ $BASHPID == "$NFT_SHELL_PID" ]] || return 0
	((NFT_CLEANED)) && return 0
	[[ -d ${NFT_REG:-} ]] || return 0
	NFT_CLEANED=1
	trap '' INT TERM HUP
	# Best effort to the end, whatever the test's shell options.
	local opts=$-
	set +e

	# 1. Processes: recorded ones and their descendants. TERM, then KILL.
	while read -r pid start name; do
		[[ -n $pid ]] || continue
		NFT_CLEANED_PIDS+=("$pid $start")
		nft_is_ours "$pid" "$start" && all+=("$pid $start")
	done <"$NFT_REG/pids"
	if ((${#all[@]})); then
		local roots=()
		for e in "${all[@]}"; do
			roots+=("${e%% *}")
		done
		while read -r e; do
			[[ -n $e ]] && all+=("$e")
		done < <(nft_children_of "${roots[@]}")
		for e in "${all[@]}"; do
			# shellcheck disable=SC2086
			nft_is_ours $e && kill -TERM "${e%% *}" 2>/dev/null
		done
		if ! nft_wait_gone 3 "${all[@]}"; then
			for e in "${all[@]}"; do
				# shellcheck disable=SC2086
				nft_is_ours $e && kill -KILL "${e%% *}" \
					2>/dev/null
			done
			nft_wait_gone 2 "${all[@]}" ||
				echo "cleanup: some processes survive KILL" >&2
		fi
		for e in "${all[@]}"; do
			wait "${e%% *}" 2>/dev/null
		done
	fi

	# 2. Hooks, last first.
	for ((i = ${#NFT_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${NFT_HOOKS[i]}" ||
			echo "cleanup: hook failed: ${NFT_HOOKS[i]}" >&2
	done
	NFT_HOOKS=()

	# 3. Cgroups, deepest first (also children created inside ours).
	while read -r d; do
		[[ $d == "$CG2/nftest-$NFT_MAIN_PID-"* ]] || continue
		top=${d#"$CG2/"}
		top=$CG2/${top%%/*}
		[[ " ${dirs[*]} " == *" $top "* ]] || dirs+=("$top")
	done <"$NFT_REG/cgroups"
	for top in "${dirs[@]}"; do
		[[ -d $top ]] || continue
		while read -r d; do
			nft_cgroup_empty "$d"
			nft_rmdir_cgroup "$d"
		done < <(find "$top" -depth -type d 2>/dev/null)
	done

	# 4. Network namespaces (this also removes the veth pair).
	while read -r ns; do
		[[ $ns == "nft-$NFT_MAIN_PID-"* ]] || continue
		nft_netns_exists "$ns" || continue
		ip netns del "$ns" ||
			echo "cleanup: cannot delete netns $ns" >&2
	done < <(tac "$NFT_REG/netns")

	# 5. The work dir (NFT_KEEP=1 keeps it for a post-mortem).
	if [[ ${NFT_KEEP:-0} == 1 ]]; then
		echo "cleanup: work dir kept: $TDIR" >&2
	else
		rm -rf -- "$TDIR"
	fi
	trap 'nft_on_signal INT' INT
	trap 'nft_on_signal TERM' TERM
	trap 'nft_on_signal HUP' HUP
	[[ $opts == *e* ]] && set -e
	return 0
}

# nft_leftovers: what this script left behind, one line each (nothing
# printed means clean). Meant to be called after cleanup.
nft_leftovers() {
	local ns d e pid

	while read -r ns; do
		[[ $ns == "nft-$NFT_MAIN_PID-"* ]] && echo "netns $ns"
	done < <(ip netns list 2>/dev/null | awk '{ print $1 }')
	if [[ -n $CG2 ]]; then
		while read -r d; do
			[[ -n $d ]] && echo "cgroup $d"
		done < <(find "$CG2" -maxdepth 1 -type d \
			-name "nftest-$NFT_MAIN_PID-*" 2>/dev/null)
	fi
	for e in "${NFT_CLEANED_PIDS[@]}"; do
		# shellcheck disable=SC2086
		nft_is_ours $e && echo "process ${e%% *}"
	done
	for pid in $(pgrep -x nfprobe 2>/dev/null); do
		nft_descends "$pid" "$NFT_SHELL_PID" && echo "nfprobe $pid"
	done
	[[ -e $TDIR && ${NFT_KEEP:-0} != 1 ]] && echo "workdir $TDIR"
	return 0
}

nft_on_signal() {
	echo "$NFT_NAME: interrupted by SIG$1, cleaning up" >&2
	case $1 in
	INT) exit 130 ;;
	HUP) exit 129 ;;
	*) exit 143 ;;
	esac
}

trap cleanup EXIT
trap 'nft_on_signal INT' INT
trap 'nft_on_signal TERM' TERM
trap 'nft_on_signal HUP' HUP
