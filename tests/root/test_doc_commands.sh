#!/usr/bin/env bash
# Every netfence command line the documentation shows runs: README.md, docs/*.md (fenced
# blocks) and the manual page's EXAMPLES (.EX blocks). A documented command that does not
# work fails here. Each file's lines run in order (attach, status, events, detach ...) in a
# sandbox: a private pin root; the cgroups the docs name (system.slice/agent.service, ...)
# become throwaway cgroups; --pid/--proxy-pid, ${MAINPID} and `docker inspect` become
# sleeping processes in those; /etc/netfence/NAME is the file the docs show as
# "<!-- file: NAME -->"; host.docker.internal resolves through a private /etc/hosts; the
# command under `run` is `true` and `events` gets --timeout 1. No traffic leaves: attach
# sends nothing, `run -- true` makes no connection.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_env
private_pins

R=$NFT_ROOT

# doc_lines FILE: the logical lines (continuations joined) of its code blocks
doc_lines() {
	local f=$1
	if [[ $f == *.8 ]]; then
		awk '/^\.SH/ { ex = ($0 ~ /EXAMPLES/) } ex && /^\.EX/ { b = 1; next }
			/^\.EE/ { b = 0 } ex && b' "$f" |
			sed -e 's/\\-/-/g' -e 's/\\(aq/'"'"'/g' -e 's/\\e/\\/g'
	else
		awk '/^```/ { b = !b; next } b' "$f"
	fi | awk '{ if (sub(/\\$/, "")) { acc = acc $0; next } print acc $0; acc = "" }'
}

# normalize LINE: in NORM the netfence command in it, without sudo, unit prefixes and
# comments (empty when the line runs something else); a unit's ExecStop*= line is for
# the end (STOP=1), and with systemd's "-" prefix its failure is ignored (MAYFAIL=1)
normalize() {
	local l=$1
	NORM='' STOP=0 MAYFAIL=0
	l=${l#"${l%%[! ]*}"}				# leading blanks
	l=${l#run: }					# a workflow step
	if [[ $l =~ ^Exec([A-Za-z]+)=([-+@!:]*)(.*)$ ]]; then
		[[ ${BASH_REMATCH[1]} == Stop* ]] && STOP=1
		[[ ${BASH_REMATCH[2]} == *-* ]] && MAYFAIL=1
		l=${BASH_REMATCH[3]}
	fi
	l=${l/#\/usr\/sbin\/netfence /netfence }
	l=$(sed -E 's/[[:space:]]+#[^"'"'"']*$//; s/[[:space:]]+\|\| exit 1$//' <<<"$l")
	[[ $l =~ ^(sudo( -E)?( env \"PATH=\$PATH\")? )?netfence( |$) ]] && NORM=$l
}

# the documented file NAME (<!-- file: NAME --> before a fenced block), in $TDIR/etc/NAME
doc_file() {
	local name=$1
	awk -v n="<!-- file: $name -->" '$0 == n { f = 1; next } f && /^```/ { if (b) exit; b = 1; next }
		f && b' "$R"/docs/*.md "$R/README.md"
}

declare -A CGMAP	# documented cgroup -> ours (relative to the cgroup2 mount)
NCG=0
map_cgroup() {	# map_cgroup DOC-PATH: ours in OURS, created (call it in this shell)
	local d=${1//%n/agent.service} cg
	d=${d%/}
	if [[ -z ${CGMAP[$d]:-} ]]; then
		NCG=$((NCG + 1))
		cg=$(make_cgroup "docs/c$NCG") || return 1
		CGMAP[$d]=${cg#"$CG2"/}
	fi
	OURS=${CGMAP[$d]}
}

# sleepers in throwaway cgroups: the processes --pid, --proxy-pid, ${MAINPID} and docker
# inspect name; the agent's is the service's cgroup (system.slice/agent.service)
sleeper() {	# sleeper NAME CGROUP: prints the pid
	local cg=$2 pid
	# not root: no CAP_NET_RAW, which attach refuses where the BPF LSM is missing
	bg_start "sleep-$1" sh -c 'echo $$ >"$0/cgroup.procs" &&
		exec setpriv --reuid=65534 --regid=65534 --clear-groups sleep 600' "$cg"
	for _ in $(seq 50); do
		pid=$(bg_pid "sleep-$1")
		grep -qx "$pid" "$cg/cgroup.procs" 2>/dev/null && break
		sleep 0.05
	done
	printf '%s\n' "$pid"
}
map_cgroup system.slice/agent.service || exit 1
P_AGENT=$(sleeper agent "$CG2/$OURS")
P_SQUID=$(sleeper squid "$(make_cgroup docs/squid)")

# what the lines call
printf '127.0.0.1 localhost\n10.0.0.9 host.docker.internal\n' >"$TDIR/hosts"
netfence() {
	unshare -m --propagation private sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' \
		"$TDIR/hosts" "$NETFENCE" "$@"
}
sudo() {
	[[ ${1:-} == -E ]] && shift
	if [[ ${1:-} == env ]]; then
		shift
		while [[ ${1:-} == *=* ]]; do shift; done
	fi
	"$@"
}
docker() {	# docker inspect -f '{{.State.Pid}}' NAME|ID, docker compose ps -q NAME
	local last=${!#}

	case $last in
	squid) echo "$P_SQUID" ;;
	[0-9]*) echo "$last" ;;	# the id the inner command gave: our pid
	*) echo "$P_AGENT" ;;
	esac
}
export USER=nobody RUNNER_TEMP=$TDIR/runner MAINPID=$P_AGENT
mkdir -p "$RUNNER_TEMP" "$TDIR/etc" "$TDIR/cwd"
cd "$TDIR/cwd" || exit 1

# sandbox LINE: the line with our cgroups, pids, files and a harmless command, in
# SANDBOXED (run in this shell: it records the cgroups it makes)
sandbox() {
	local l=$1 re v ours name

	local done=''
	re='(--(proxy-)?cgroup)[ =]([^ "]+)'
	while [[ $l =~ $re ]]; do	# left to right: what is done is not matched again
		v=${BASH_REMATCH[3]}
		map_cgroup "$v" || return 1
		done+=${l%%"${BASH_REMATCH[0]}"*}"${BASH_REMATCH[1]} $OURS"
		l=${l#*"${BASH_REMATCH[0]}"}
	done
	l=$done$l
	l=$(sed -E "s/--pid [0-9]+/--pid $P_AGENT/; s/--proxy-pid [0-9]+/--proxy-pid $P_SQUID/; \
		s/--user agent/--user nobody/" <<<"$l")
	re='/etc/netfence/([A-Za-z0-9._-]+)'
	while [[ $l =~ $re ]]; do
		name=${BASH_REMATCH[1]}
		if [[ ! -e $TDIR/etc/$name ]]; then
			doc_file "$name" >"$TDIR/etc/$name"
			[[ -s $TDIR/etc/$name ]] || { echo "no documented file $name" >&2; return 1; }
			# its cgroups are ours too
			while read -r v; do
				map_cgroup "$v" || return 1
				sed -i "s#^\(proxy-cgroup *= *\)$v\$#\1$OURS#; s#^\(cgroup *= *\)$v\$#\1$OURS#" \
					"$TDIR/etc/$name"
			done < <(sed -n 's/^\(proxy-\)\{0,1\}cgroup *= *//p' "$TDIR/etc/$name")
		fi
		l=${l//"/etc/netfence/$name"/"$TDIR/etc/$name"}
	done
	# a domain list file the docs name: the documented one, else one domain
	re='--allow-domains-file ([^ ]+)'
	if [[ $l =~ $re ]]; then
		v=${BASH_REMATCH[1]}
		mkdir -p "$TDIR/cwd/$(dirname "$v")"
		doc_file "$v" >"$TDIR/cwd/$v"
		[[ -s $TDIR/cwd/$v ]] || echo example.com >"$TDIR/cwd/$v"
	fi
	l=${l// ... / }	# "..." in a documented line: the reader's other flags
	[[ $l =~ netfence\ (-[a-z]\ )*run\  ]] && l=$(sed -E 's/ -- .*$/ -- true/' <<<"$l")
	if [[ $l =~ netfence\ (-[a-z]\ )*events && ! $l =~ --(timeout|count) ]]; then
		l+=" --timeout 1"
	fi
	SANDBOXED=$l
}

# between files: nothing of the previous file stays attached
reset_pins() {
	nft_remove_pins
}

# run_doc FILE MAYFAIL CMD: the sandboxed CMD exits 0 (or 1 when MAYFAIL: a unit's "-")
total=0
run_doc() {
	local rel=$1 mayfail=$2 cmd=$3 run out rc

	total=$((total + 1))
	sandbox "$cmd" || { t_fail "$rel: $cmd" "no sandbox for it"; return; }
	run=$SANDBOXED
	[[ -n ${DOCS_TRACE:-} ]] && echo "RUN: $run" >&2
	out=$(eval "$run" 2>&1 </dev/null)
	rc=$?
	if ((rc == 0 || (mayfail && rc == 1))); then
		t_pass "$rel: $cmd"
	else
		t_fail "$rel: $cmd" "exit $rc: $(tail -n 3 <<<"$out") (ran: $run)"
	fi
}

for f in "$R/README.md" "$R"/docs/*.md "$R/man/netfence.8"; do
	rel=${f#"$R"/}
	later=()
	while IFS= read -r line; do
		normalize "$line"
		[[ -n $NORM ]] || continue
		if ((STOP)); then
			later+=("$MAYFAIL $NORM")
			continue
		fi
		run_doc "$rel" 0 "$NORM"
	done < <(doc_lines "$f")
	for e in "${later[@]+"${later[@]}"}"; do
		run_doc "$rel" "${e%% *}" "${e#* }"
	done
	reset_pins
done
assert_match "documented netfence command lines found" "$total" '^[1-9][0-9]+$'
t_summary
