#!/usr/bin/env bash
# make bench: netfence against no policy and against iptables, side by side.
#
#   sudo make bench                      # 1-2.5 minutes with the defaults
#   sudo BENCH_ROUNDS=41 BENCH_N=3000 BENCH_BULK_ROUNDS=201 make bench
#
# Measures, each setup in network namespaces and cgroups of its own that this
# script creates (and removes, on every exit path):
#   - TCP connect+close rate and latency (p50, p99) with no policy, through
#     the netfence redirect path, the netfence bypass path, iptables DNAT in
#     the client's namespace with 1 rule and with 1,000 rules in front;
#     rounds are interleaved, figures are medians over rounds, ratios are
#     medians of per-round ratios against "none" from the same round;
#   - BPF program time per connect from the kernel's BPF statistics;
#   - scaling: bypass map of 1, 1,000, 100,000 entries; iptables with 1, 101
#     and 1,001 rules;
#   - bulk throughput on the bypass path against no policy, by the wall
#     clock and per CPU second of sender and receiver;
#   - memory: BPF maps at default sizes, peak RSS of `netfence attach` and
#     `netfence status`.
# Through Squid: scripts/bench-squid.sh, run at the end (transparent against
# explicit proxying of the same request through a real Squid). DNS through
# netfence's filter against direct: scripts/bench-dns.sh, run last.
# Prints a table, writes build/bench/results.json, build/bench/results.md and
# (with gnuplot) docs/bench-connect-cost.png. docs/bench.md explains it all.
#
# Environment: BENCH_ROUNDS (default 21), BENCH_N connects per round and setup
# (default 1000), BENCH_WARMUP (default 100), BENCH_BULK_ROUNDS pairs of
# streams (default 61), BENCH_BULK_MB per stream (default 32), BENCH_PIN=0 to
# leave CPU placement to the scheduler, BENCH_SQUID=0 to skip the Squid, bump
# and DNS benchmarks at the end. Short rounds, many of them: on a
# shared machine the load moves, and a ratio between neighbours in time is
# what survives that.
#
# Traffic goes only to addresses inside the namespaces made here (10.210.x,
# 10.211.0.1; 198.18.x appear only in non-matching iptables rules). iptables
# rules are only ever loaded inside those namespaces. BPF statistics are
# turned on with BPF_ENABLE_STATS by bench_bpfstat, which turns them off when
# it exits; the kernel.bpf_stats_enabled sysctl is not written, and the trap
# puts back its starting value should anything have changed it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(realpath -m "${BUILD:-$ROOT/build}")
TOOLS=$BUILD/tools
NETFENCE=$BUILD/netfence
OUT=$BUILD/bench
PLOT=$ROOT/docs/bench-connect-cost.png

ROUNDS=${BENCH_ROUNDS:-21}
N=${BENCH_N:-1000}
WARMUP=${BENCH_WARMUP:-100}
BULK_MB=${BENCH_BULK_MB:-32}
BULK_ROUNDS=${BENCH_BULK_ROUNDS:-61}
PIN=${BENCH_PIN:-1}
BPF_ROUNDS=7

TAG=nfbench-$$
export NETFENCE_PIN_ROOT=/sys/fs/bpf/$TAG
ORIGIN=10.211.0.1		# an "internet" origin, on the host namespace's lo
PROXY_PORT=3129			# netfence's stand-in proxy (SO_ORIGINAL_DST asked)
DNAT_PORT=3130			# iptables' stand-in proxy
BYPASS_PORT=30000		# the MCP-gateway stand-in on the host gateway

die() {
	echo "Error: bench: $*" >&2
	exit 1
}

is_uint() {
	[[ $1 =~ ^[0-9]+$ ]] && (($1 >= $2 && $1 <= $3))
}

is_uint "$ROUNDS" 1 99 || die "BENCH_ROUNDS='$ROUNDS': want 1..99"
is_uint "$N" 10 1000000 || die "BENCH_N='$N': want 10..1000000"
is_uint "$WARMUP" 0 100000 || die "BENCH_WARMUP='$WARMUP': want 0..100000"
is_uint "$BULK_MB" 1 16384 || die "BENCH_BULK_MB='$BULK_MB': want 1..16384"
is_uint "$BULK_ROUNDS" 1 999 || die "BENCH_BULK_ROUNDS='$BULK_ROUNDS': want 1..999"
((EUID == 0)) || die "needs root (network namespaces, cgroups, BPF): sudo make bench"
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[[ -n $CG2 && -e $CG2/cgroup.procs ]] || die "no cgroup2 mount in /proc/mounts"
for t in bench_connect bench_sink bench_bulk bench_bpfstat bench_rss; do
	[[ -x $TOOLS/$t ]] || die "$TOOLS/$t missing: run 'make' first"
done
[[ -x $NETFENCE ]] || die "$NETFENCE missing: run 'make' first"
for c in ip iptables-restore; do
	command -v "$c" >/dev/null || die "'$c' not found (scripts/install-deps.sh)"
done

# ---------------------------------------------------------------------------
# Everything made here is registered, and removed by cleanup on every exit.
# ---------------------------------------------------------------------------

PIDS=()		# "pid:starttime" of every background process started here
NETNS=()
CGROUPS=()
ATTACHED=()	# cgroups with a netfence policy
STATS_SYSCTL=$(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null || echo -)
W=$(mktemp -d "${TMPDIR:-/tmp}/$TAG.XXXXXX")
cd "$W"		# nothing is written anywhere else by accident
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

starttime() {
	local s f

	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	read -r -a f <<<"$s"
	[[ ${f[0]} != Z && ${f[0]} != X ]] || return 1
	echo "${f[19]}"
}

# is_ours PID START: still the process we started (a recycled PID is not).
is_ours() {
	local now

	now=$(starttime "$1") || return 1
	[[ $now == "$2" ]]
}

cleanup() {
	local rc=$? e pid st i alive ns cg left=()

	trap - EXIT
	trap '' INT TERM HUP
	set +e
	for e in "${PIDS[@]}"; do
		pid=${e%%:*} st=${e#*:}
		is_ours "$pid" "$st" && kill -TERM "$pid" 2>/dev/null
	done
	for ((i = 0; i < 60; i++)); do
		alive=0
		for e in "${PIDS[@]}"; do
			is_ours "${e%%:*}" "${e#*:}" && alive=1
		done
		((alive)) || break
		sleep 0.05
	done
	for e in "${PIDS[@]}"; do
		pid=${e%%:*} st=${e#*:}
		is_ours "$pid" "$st" && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for cg in "${ATTACHED[@]}"; do
		"$NETFENCE" detach --cgroup "$cg" >/dev/null 2>&1 ||
			echo "bench: cleanup: detach $cg failed" >&2
	done
	# what a killed attach may have left: links and maps unpin with it
	[[ $NETFENCE_PIN_ROOT == /sys/fs/bpf/nfbench-$$ && -d $NETFENCE_PIN_ROOT ]] &&
		rm -rf -- "$NETFENCE_PIN_ROOT"
	for ((i = ${#CGROUPS[@]} - 1; i >= 0; i--)); do
		cg=${CGROUPS[i]}
		[[ -d $cg ]] || continue
		for ((e = 0; e < 40; e++)); do
			rmdir "$cg" 2>/dev/null && break
			sleep 0.05
		done
		[[ -d $cg ]] && left+=("cgroup $cg")
	done
	for ((i = ${#NETNS[@]} - 1; i >= 0; i--)); do
		ns=${NETNS[i]}
		[[ -e /run/netns/$ns ]] || continue
		ip netns del "$ns" 2>/dev/null || left+=("netns $ns")
	done
	if [[ $STATS_SYSCTL != - &&
		$(cat /proc/sys/kernel/bpf_stats_enabled) != "$STATS_SYSCTL" ]]; then
		echo "$STATS_SYSCTL" >/proc/sys/kernel/bpf_stats_enabled
	fi
	[[ -d $NETFENCE_PIN_ROOT ]] && left+=("pins $NETFENCE_PIN_ROOT")
	rm -rf -- "$W"
	for e in "${left[@]}"; do
		echo "bench: cleanup: left behind: $e" >&2
	done
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'echo "bench: terminated" >&2; exit 143' TERM
trap 'exit 129' HUP

# bg NAME CMD...: CMD in the background, output in $W/NAME.{out,err}.
bg() {
	local name=$1 pid st

	shift
	"$@" >"$W/$name.out" 2>"$W/$name.err" </dev/null &
	pid=$!
	st=$(starttime "$pid") || st=gone
	PIDS+=("$pid:$st")
}

wait_ready() {
	local i

	for ((i = 0; i < 100; i++)); do
		grep -qx READY "$W/$1.out" 2>/dev/null && return 0
		sleep 0.05
	done
	die "$1 not ready: $(tail -n 3 "$W/$1.err")"
}

# jnum FILE KEY: a number (or null/true/false) from a flat JSON line.
jnum() {
	local re='"'$2'":(-?[0-9.eE+-]+|null|true|false)' s

	s=$(<"$1")
	[[ $s =~ $re ]] || die "no '$2' in $1: $s"
	echo "${BASH_REMATCH[1]}"
}

# calc EXPR [FORMAT]: floating point, with awk.
calc() {
	awk "BEGIN { printf \"${2:-%.6g}\\n\", $1 }"
}

# jfields FILE KEY...: the values of KEYs (numbers) from a flat JSON line, on
# one line, in one awk
jfields() {
	local file=$1

	shift
	awk -v keys="$*" '{
		n = split(keys, k, " ")
		for (i = 1; i <= n; i++) {
			if (!match($0, "\"" k[i] "\":-?[0-9.eE+-]+")) {
				print "no " k[i] " in " FILENAME > "/dev/stderr"
				exit 1
			}
			v = substr($0, RSTART + length(k[i]) + 3, RLENGTH - length(k[i]) - 3)
			printf "%s%s", v, i < n ? " " : "\n"
		}
	}' "$file" || die "bad result file $file: $(cat "$file")"
}

# awk functions: quant(a, n, q) is the q-quantile (nearest rank; 0.5 the
# median, the mean of the two middle values for an even n) of a[1..n]
AWK_STATS='
function quant(a, n, q,    b, i, j, t, r) {
	for (i = 1; i <= n; i++) b[i] = a[i] + 0
	for (i = 2; i <= n; i++) {
		t = b[i]
		for (j = i - 1; j >= 1 && b[j] > t; j--) b[j + 1] = b[j]
		b[j + 1] = t
	}
	if (q == 0.5 && n % 2 == 0) return (b[n / 2] + b[n / 2 + 1]) / 2
	r = int(q * n + 0.999999)
	if (r < 1) r = 1
	if (r > n) r = n
	return b[r]
}'

# ---------------------------------------------------------------------------
# Topology: one "host" namespace with the servers; one agent namespace per
# setup, each with its own veth pair into the host namespace, its own cgroup
# and (for the iptables setups) its own nat table.
#
#   agent ns $TAG-<setup> 10.210.I.2/24 --veth-- 10.210.I.1/24 host ns $TAG-h
#   default via 10.210.I.1                       lo: 10.211.0.1 (ORIGIN)
# ---------------------------------------------------------------------------

SETUPS=(none nf_redirect nf_bypass nf_bypass_1k nf_bypass_100k ipt_1 ipt_100 ipt_1000)
declare -A IDX=() NS=() CG=() DST_IP=() DST_PORT=() LABEL=() FRONT=()
LABEL=(
	[none]="none (no policy)"
	[nf_redirect]="netfence redirect (to proxy)"
	[nf_bypass]="netfence bypass (1 entry)"
	[nf_bypass_1k]="netfence bypass, 1,000 entries"
	[nf_bypass_100k]="netfence bypass, 100,000 entries"
	[ipt_1]="iptables DNAT, 1 rule"
	[ipt_100]="iptables DNAT, 100 rules in front"
	[ipt_1000]="iptables DNAT, 1,000 rules in front"
)
FRONT=([ipt_1]=0 [ipt_100]=100 [ipt_1000]=1000)

mkdir -p "$OUT"
rm -f "$OUT/results.json" "$OUT/results.md"	# no stale results after a failure
HOST_NS=$TAG-h
NETNS+=("$HOST_NS")
ip netns add "$HOST_NS"
ip -n "$HOST_NS" link set lo up
ip -n "$HOST_NS" addr add "$ORIGIN/32" dev lo

i=0
for s in "${SETUPS[@]}"; do
	i=$((i + 1))
	IDX[$s]=$i
	NS[$s]=$TAG-$s
	NETNS+=("${NS[$s]}")
	ip netns add "${NS[$s]}"
	ip -n "${NS[$s]}" link add nb0 type veth peer name "nbh$i" netns "$HOST_NS"
	ip -n "${NS[$s]}" link set lo up
	ip -n "${NS[$s]}" addr add "10.210.$i.2/24" dev nb0
	ip -n "${NS[$s]}" link set nb0 up
	ip -n "$HOST_NS" addr add "10.210.$i.1/24" dev "nbh$i"
	ip -n "$HOST_NS" link set "nbh$i" up
	ip -n "${NS[$s]}" route add default via "10.210.$i.1"
	# many short connections from one address: the whole port range,
	# TIME-WAIT reuse (both per namespace)
	ip netns exec "${NS[$s]}" sysctl -qw \
		net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
	CG[$s]=$CG2/$TAG-$s
	mkdir "${CG[$s]}"
	CGROUPS+=("${CG[$s]}")
	case $s in
	nf_bypass*) DST_IP[$s]=10.210.$i.1 DST_PORT[$s]=$BYPASS_PORT ;;
	*) DST_IP[$s]=$ORIGIN DST_PORT[$s]=80 ;;
	esac
done
PROXY_CG=$CG2/$TAG-proxy
mkdir "$PROXY_CG"
CGROUPS+=("$PROXY_CG")

NCPU=$(nproc)
if awk -v l="${LOAD_START%% *}" -v n="$NCPU" 'BEGIN { exit !(l > n / 2) }'; then
	echo "bench: note: load average ${LOAD_START%% *} on $NCPU CPUs: other work will add noise" >&2
fi
CLIENT_CPU=() SINK_CPU=()
if [[ $PIN == 1 ]] && ((NCPU >= 2)); then
	CLIENT_CPU=(-C 0)
	SINK_CPU=(-C "$((NCPU - 1))")
fi

# The servers: origin (80), netfence's proxy stand-in (asks SO_ORIGINAL_DST
# like Squid, so it sits in the proxy cgroup where netfence's responder is),
# iptables' proxy stand-in, the gateway service (bypass, bulk).
bg sink "$TOOLS/bench_sink" -c "$PROXY_CG" -n "$HOST_NS" "${SINK_CPU[@]}" \
	--listen "0.0.0.0:80" --orig "0.0.0.0:$PROXY_PORT" \
	--listen "0.0.0.0:$DNAT_PORT" --listen "0.0.0.0:$BYPASS_PORT"
wait_ready sink
SINK_PID=${PIDS[-1]%%:*}

# ---------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------

# attach SETUP [RSS-NAME] ARGS...: netfence attach on the setup's cgroup.
nf_attach() {
	local s=$1 rss=$2 i=${IDX[$1]}

	shift 2
	ATTACHED+=("${CG[$s]}")
	"$TOOLS/bench_rss" -o "$W/rss.$rss.json" "$NETFENCE" attach \
		--cgroup "${CG[$s]}" --proxy "10.210.$i.1:$PROXY_PORT" \
		--dns-servers "10.210.$i.1" "$@" >"$W/attach.$s.log" 2>&1 ||
		die "netfence attach for $s failed: $(cat "$W/attach.$s.log")"
}

echo "bench: setting up ${#SETUPS[@]} setups (netns, veth, cgroups, policies, rules) (at ${SECONDS}s)" >&2
nf_attach nf_redirect attach --proxy-cgroup "$PROXY_CG"
nf_attach nf_bypass attach_1 --enable-host-access \
	--host-gateway "10.210.${IDX[nf_bypass]}.1" --allow-host-ports "$BYPASS_PORT"
# 1 gateway x 1,000 ports
nf_attach nf_bypass_1k attach_1k --enable-host-access \
	--host-gateway "10.210.${IDX[nf_bypass_1k]}.1" \
	--allow-host-ports "$BYPASS_PORT-$((BYPASS_PORT + 999))"
# 4 gateways x 25,000 ports; 30000-54999 holds no dangerous port (27017 and
# 28017 are the highest). Only the first gateway exists: the other three are
# map entries, never a destination.
j=${IDX[nf_bypass_100k]}
nf_attach nf_bypass_100k attach_100k --enable-host-access \
	--host-gateway "10.210.$j.1,10.210.$j.3,10.210.$j.4,10.210.$j.5" \
	--allow-host-ports "$BYPASS_PORT-$((BYPASS_PORT + 24999))"

declare -A ENTRIES=()
for s in nf_redirect nf_bypass nf_bypass_1k nf_bypass_100k; do
	st=$("$NETFENCE" -j status --cgroup "${CG[$s]}")
	[[ $st =~ \"state\":\"enforcing\" ]] || die "$s: policy not enforcing: $st"
	[[ $st =~ \"bypass_entries\":([0-9]+) ]] || die "$s: no bypass_entries: $st"
	ENTRIES[$s]=${BASH_REMATCH[1]}
done
[[ ${ENTRIES[nf_bypass]} == 1 && ${ENTRIES[nf_bypass_1k]} == 1000 &&
	${ENTRIES[nf_bypass_100k]} == 100000 ]] ||
	die "bypass entries: ${ENTRIES[nf_bypass]}, ${ENTRIES[nf_bypass_1k]}, ${ENTRIES[nf_bypass_100k]} (want 1, 1000, 100000)"

# iptables: nat OUTPUT in the client's namespace, as the reference system
# did: DNAT of port 80 to the proxy stand-in across the veth, behind FRONT
# non-matching rules of the same shape (198.18.0.0/15 destinations).
IPT_VERSION=$(iptables --version 2>/dev/null || echo unknown)
for s in ipt_1 ipt_100 ipt_1000; do
	i=${IDX[$s]}
	{
		echo "*nat"
		echo ":PREROUTING ACCEPT [0:0]"
		echo ":INPUT ACCEPT [0:0]"
		echo ":OUTPUT ACCEPT [0:0]"
		echo ":POSTROUTING ACCEPT [0:0]"
		for ((k = 0; k < FRONT[$s]; k++)); do
			echo "-A OUTPUT -d 198.18.$((k / 250)).$((k % 250 + 1))/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.210.$i.1:$DNAT_PORT"
		done
		echo "-A OUTPUT -d $ORIGIN/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.210.$i.1:$DNAT_PORT"
		echo "COMMIT"
	} >"$W/rules.$s"
	[[ -n ${NS[$s]} && ${NS[$s]} != "$HOST_NS" ]] || die "no namespace for $s"
	ip netns exec "${NS[$s]}" iptables-restore <"$W/rules.$s"
	n=$(ip netns exec "${NS[$s]}" iptables -t nat -S OUTPUT | grep -c '^-A')
	[[ $n == $((FRONT[$s] + 1)) ]] || die "$s: $n rules loaded, want $((FRONT[$s] + 1))"
done

# ---------------------------------------------------------------------------
# Sanity: each setup reaches the listener it should, through its mechanism.
# ---------------------------------------------------------------------------

# sink_count LISTEN FIELD: a counter of the sink, fresh.
sink_count() {
	local before line re

	before=$(wc -l <"$W/sink.err")
	kill -USR1 "$SINK_PID"
	for ((k = 0; k < 100; k++)); do
		(($(wc -l <"$W/sink.err") >= before + 4)) && break
		sleep 0.02
	done
	line=$(tail -n 4 "$W/sink.err" | grep -F "\"listen\":\"$1\"")
	re='"'$2'":([0-9]+)'
	[[ $line =~ $re ]] || die "sink counters: no $2 for $1"
	echo "${BASH_REMATCH[1]}"
}

connect_once() {
	local s=$1

	shift
	"$TOOLS/bench_connect" -c "${CG[$s]}" -n "${NS[$s]}" "${CLIENT_CPU[@]}" \
		"$@" "${DST_IP[$s]}" "${DST_PORT[$s]}"
}

declare -A EXPECT=(
	[none]="0.0.0.0:80 accepted"
	[nf_redirect]="0.0.0.0:$PROXY_PORT orig_ok"
	[nf_bypass]="0.0.0.0:$BYPASS_PORT accepted"
	[nf_bypass_1k]="0.0.0.0:$BYPASS_PORT accepted"
	[nf_bypass_100k]="0.0.0.0:$BYPASS_PORT accepted"
	[ipt_1]="0.0.0.0:$DNAT_PORT accepted"
	[ipt_100]="0.0.0.0:$DNAT_PORT accepted"
	[ipt_1000]="0.0.0.0:$DNAT_PORT accepted"
)
for s in "${SETUPS[@]}"; do
	# shellcheck disable=SC2086
	set -- ${EXPECT[$s]}
	a=$(sink_count "$1" "$2")
	connect_once "$s" -N 20 -w 0 -T 10 >"$W/sanity.$s.json" ||
		die "$s: connects failed: $(cat "$W/sanity.$s.json")"
	sleep 0.1
	b=$(sink_count "$1" "$2")
	((b - a >= 20)) || die "$s: 20 connects, but $1 counted $((b - a)) $2"
done
e=$(sink_count "0.0.0.0:$PROXY_PORT" orig_err)
((e == 0)) || die "the proxy stand-in saw $e failed SO_ORIGINAL_DST lookups"

# ---------------------------------------------------------------------------
# 1. Connect rate and latency, interleaved rounds.
# ---------------------------------------------------------------------------

echo "bench: connect+close: $ROUNDS rounds x ${#SETUPS[@]} setups x $N connects (at ${SECONDS}s)" >&2
ns=${#SETUPS[@]}
for ((r = 1; r <= ROUNDS; r++)); do
	for ((k = 0; k < ns; k++)); do
		s=${SETUPS[(k + r - 1) % ns]}	# a different order each round
		connect_once "$s" -N "$N" -w "$WARMUP" -T 120 >"$W/c.$s.$r.json" ||
			die "$s round $r: $(cat "$W/c.$s.$r.json")"
	done
done

# One awk pass over all rounds (a subshell per number is slow on a busy box):
# "setup round rate p50 p99 tmean", then medians, per-round ratios, IQRs.
for s in "${SETUPS[@]}"; do
	for ((r = 1; r <= ROUNDS; r++)); do
		printf '%s %s ' "$s" "$r"
		jfields "$W/c.$s.$r.json" rate p50_us p99_us tmean_us
	done
done >"$W/connect.tsv"
declare -A RATE=() P50=() P99=() MEAN=() RP50=() RMEAN=() RP50_LO=() RP50_HI=()
while read -r kind a b c d e f g h i; do
	case $kind in
	S) RATE[$a]=$b P50[$a]=$c P99[$a]=$d MEAN[$a]=$e RP50[$a]=$f RMEAN[$a]=$g
	   RP50_LO[$a]=$h RP50_HI[$a]=$i ;;
	B) BYPASS_100K_VS_1=$a BYPASS_100K_LO=$b BYPASS_100K_HI=$c ;;
	N) NOISE=$a ;;
	esac
done < <(awk "$AWK_STATS"'
	{ rate[$1, $2] = $3; p50[$1, $2] = $4; p99[$1, $2] = $5; tm[$1, $2] = $6
	  if (!($1 in seen)) { seen[$1] = 1; order[++ns] = $1 }
	  if ($2 > nr) nr = $2 }
	END {
		for (k = 1; k <= ns; k++) {
			s = order[k]
			for (r = 1; r <= nr; r++) {
				a1[r] = rate[s, r]; a2[r] = p50[s, r]; a3[r] = p99[s, r]
				a4[r] = tm[s, r]
				a5[r] = p50[s, r] / p50["none", r]
				a6[r] = tm[s, r] / tm["none", r]
			}
			printf "S %s %.0f %.2f %.2f %.2f %.3f %.3f %.3f %.3f\n", s,
			       quant(a1, nr, 0.5), quant(a2, nr, 0.5),
			       quant(a3, nr, 0.5), quant(a4, nr, 0.5),
			       quant(a5, nr, 0.5), quant(a6, nr, 0.5),
			       quant(a5, nr, 0.25), quant(a5, nr, 0.75)
		}
		# the bypass map size: 100,000 entries against 1, per round
		for (r = 1; r <= nr; r++)
			a1[r] = p50["nf_bypass_100k", r] / p50["nf_bypass", r]
		printf "B %.3f %.3f %.3f\n", quant(a1, nr, 0.5),
		       quant(a1, nr, 0.25), quant(a1, nr, 0.75)
		# noise: how far "none" moves between rounds (IQR / median of p50)
		for (r = 1; r <= nr; r++)
			a1[r] = p50["none", r]
		iq = quant(a1, nr, 0.75) - quant(a1, nr, 0.25)
		printf "N %.3f\n", iq / quant(a1, nr, 0.5)
	}' "$W/connect.tsv")

# ---------------------------------------------------------------------------
# 2. BPF program time per connect (kernel BPF statistics).
# ---------------------------------------------------------------------------

BPF_PATHS=(nf_redirect nf_bypass nf_bypass_100k)
echo "bench: BPF statistics: $BPF_ROUNDS rounds x ${#BPF_PATHS[@]} paths x $N connects (at ${SECONDS}s)" >&2
# For scale: what an empty program costs per call in the statistics alone
# (the clock reads around every run), on a cgroup of its own.
CALIB_CG=$CG2/$TAG-calib
mkdir "$CALIB_CG"
CGROUPS+=("$CALIB_CG")
"$TOOLS/bench_bpfstat" calibrate -N 20000 "$CALIB_CG" >"$W/calib.json" ||
	die "BPF statistics calibration failed"
FLOOR=$(calc "$(jnum "$W/calib.json" ns_per_call)" %.1f)
for ((r = 1; r <= BPF_ROUNDS; r++)); do
	for s in "${BPF_PATHS[@]}"; do
		"$TOOLS/bench_bpfstat" measure -o "$W/bpf.$s.$r.json" \
			"${CG[$s]}" "$PROXY_CG" -- \
			"$TOOLS/bench_connect" -c "${CG[$s]}" -n "${NS[$s]}" \
			"${CLIENT_CPU[@]}" -N "$N" -w 0 -T 120 \
			"${DST_IP[$s]}" "${DST_PORT[$s]}" \
			>"$W/bpfc.$s.$r.json" ||
			die "BPF statistics run for $s failed: $(cat "$W/bpfc.$s.$r.json")"
	done
done

# per path, per round: "round connects name attach calls ns"; then per
# program the median over rounds of calls/connect, ns/call and ns/connect,
# and the median over rounds of the per-round total (a round that other work
# on the machine disturbed, interrupts landing inside programs, moves a mean
# but not the median)
declare -A BPF_CONNECTS=() BPF_TOTAL=() BPF_CALLS=() BPF_FLOOR=()
for s in "${BPF_PATHS[@]}"; do
	conns=0
	for ((r = 1; r <= BPF_ROUNDS; r++)); do
		c=$(jnum "$W/bpfc.$s.$r.json" connects)
		conns=$((conns + c))
		grep -o '{"id":[^}]*}' "$W/bpf.$s.$r.json" |
			sed -E "s/.*\"name\":\"([^\"]*)\".*\"attach\":\"([^\"]*)\".*\"run_time_ns\":([0-9]+),\"run_cnt\":([0-9]+).*/$r $c \\1 \\2 \\4 \\3/"
	done >"$W/bpfsum.$s"
	BPF_CONNECTS[$s]=$conns
	# "name attach calls/connect ns/call ns/connect" for the programs that
	# ran, then "TOTAL ns/connect"
	awk "$AWK_STATS"'
		{ k = $3 " " $4
		  if (!(k in seen)) { seen[k] = 1; keys[++nk] = k }
		  cpc[k, $1] = $5 / $2; npc[k, $1] = $5 ? $6 / $5 : 0
		  npn[k, $1] = $6 / $2; tot[$1] += $6 / $2; ran[k] += $5
		  if ($1 > nr) nr = $1 }
		END {
			for (i = 1; i <= nk; i++) {
				k = keys[i]
				if (!ran[k]) continue
				for (r = 1; r <= nr; r++) {
					a1[r] = cpc[k, r]; a2[r] = npc[k, r]
					a3[r] = npn[k, r]
				}
				printf "%s %.3f %.1f %.1f\n", k, quant(a1, nr, 0.5),
				       quant(a2, nr, 0.5), quant(a3, nr, 0.5)
			}
			for (r = 1; r <= nr; r++) a1[r] = tot[r]
			printf "TOTAL %.1f\n", quant(a1, nr, 0.5)
		}' "$W/bpfsum.$s" >"$W/bpfagg.$s"
	grep -v '^TOTAL ' "$W/bpfagg.$s" | sort -k5 -g -r >"$W/bpfprog.$s"
	BPF_TOTAL[$s]=$(awk '$1 == "TOTAL" { print $2 }' "$W/bpfagg.$s")
	# the floor: as many runs of an empty program (the statistics' own cost)
	BPF_CALLS[$s]=$(awk '{ c += $3 } END { printf "%.3f", c }' "$W/bpfprog.$s")
	BPF_FLOOR[$s]=$(calc "${BPF_CALLS[$s]} * $FLOOR" %.1f)
done

# ---------------------------------------------------------------------------
# 3. Bulk throughput: bypass path against no policy, interleaved.
# ---------------------------------------------------------------------------

BULK_BYTES=$((BULK_MB * 1024 * 1024))
echo "bench: bulk: $BULK_ROUNDS rounds x 2 paths x $BULK_MB MiB (at ${SECONDS}s)" >&2
declare -A BULK_DST=(
	[none]=10.210.${IDX[none]}.1
	[nf_bypass]=10.210.${IDX[nf_bypass]}.1
)
# the sink's CPU time in ns (it does nothing else while a stream runs)
sink_cpu() {
	local v

	read -r v _ <"/proc/$SINK_PID/schedstat"
	echo "$v"
}
for ((r = 1; r <= BULK_ROUNDS; r++)); do
	for s in none nf_bypass; do
		((r % 2)) || s=$([[ $s == none ]] && echo nf_bypass || echo none)
		c0=$(sink_cpu)
		"$TOOLS/bench_bulk" -c "${CG[$s]}" -n "${NS[$s]}" "${CLIENT_CPU[@]}" \
			-b "$BULK_BYTES" -T 10 "${BULK_DST[$s]}" "$BYPASS_PORT" \
			>"$W/b.$s.$r.json" ||
			die "bulk $s round $r: $(cat "$W/b.$s.$r.json")"
		echo $(($(sink_cpu) - c0)) >"$W/b.$s.$r.sinkcpu"
	done
done
# "round path bytes gbit_s cpu_ns sink_cpu_ns", then in one awk: wall Gbit/s
# and Gbit per CPU second of sender and receiver together, medians, per-pair
# ratios and their IQR
for ((r = 1; r <= BULK_ROUNDS; r++)); do
	for s in none nf_bypass; do
		printf '%s %s ' "$r" "$s"
		jfields "$W/b.$s.$r.json" bytes gbit_s cpu_ns | tr '\n' ' '
		cat "$W/b.$s.$r.sinkcpu"
	done
done >"$W/bulk.tsv"
read -r BULK_NONE BULK_BYPASS BULK_RATIO BULK_LO BULK_HI BULK_CPU_NONE \
	BULK_CPU_BYPASS BULK_CPU_RATIO BULK_CPU_LO BULK_CPU_HI < <(awk "$AWK_STATS"'
	{ g[$1, $2] = $4; cpu = $5 + $6
	  if (cpu <= 0) { print "no CPU time measured" > "/dev/stderr"; exit 1 }
	  c[$1, $2] = $3 * 8 / cpu; if ($1 > n) n = $1 }
	END {
		for (r = 1; r <= n; r++) {
			gn[r] = g[r, "none"]; gb[r] = g[r, "nf_bypass"]
			gr[r] = gb[r] / gn[r]
			cn[r] = c[r, "none"]; cb[r] = c[r, "nf_bypass"]
			cr[r] = cb[r] / cn[r]
		}
		printf "%.2f %.2f %.3f %.3f %.3f %.2f %.2f %.3f %.3f %.3f\n",
		       quant(gn, n, 0.5), quant(gb, n, 0.5), quant(gr, n, 0.5),
		       quant(gr, n, 0.25), quant(gr, n, 0.75),
		       quant(cn, n, 0.5), quant(cb, n, 0.5), quant(cr, n, 0.5),
		       quant(cr, n, 0.25), quant(cr, n, 0.75)
	}' "$W/bulk.tsv")
[[ -n ${BULK_CPU_HI:-} ]] || die "bulk results incomplete: $(cat "$W/bulk.tsv")"

# ---------------------------------------------------------------------------
# 4. Memory.
# ---------------------------------------------------------------------------

"$TOOLS/bench_bpfstat" maps "${CG[nf_redirect]}" "$PROXY_CG" >"$W/maps.default.json"
"$TOOLS/bench_bpfstat" maps "${CG[nf_bypass_100k]}" >"$W/maps.100k.json"
"$TOOLS/bench_rss" -o "$W/rss.status.json" "$NETFENCE" status >/dev/null
"$TOOLS/bench_rss" -o "$W/rss.status_one.json" "$NETFENCE" status \
	--cgroup "${CG[nf_redirect]}" >/dev/null
MAPS_DEFAULT=$(jnum "$W/maps.default.json" maps_memlock)
MAPS_100K=$(jnum "$W/maps.100k.json" maps_memlock)
PROGS_MEM=$(jnum "$W/maps.default.json" progs_memlock)
declare -A RSS=()
for k in attach attach_100k status status_one; do
	RSS[$k]=$(jnum "$W/rss.$k.json" maxrss_kb)
done
# name memlock, per map at default sizes
grep -o '{"id":[^}]*}' "$W/maps.default.json" |
	sed -E 's/.*"name":"([^"]*)".*"type":"([^"]*)","max_entries":([0-9]+).*"memlock":([0-9]+).*/\1 \2 \3 \4/' \
		>"$W/maplist"


# ---------------------------------------------------------------------------
# Report: table (stdout and results.md), JSON, plot.
# ---------------------------------------------------------------------------

KERNEL=$(uname -r)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
NFVER=$("$NETFENCE" --version 2>/dev/null | head -n 1 || echo unknown)
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
yes_no() { awk "BEGIN { exit !($1) }" && echo met || echo "NOT met"; }
T_REDIRECT=$(yes_no "${RP50[nf_redirect]} <= 1.03")
T_BYPASS=$(yes_no "${RP50[nf_bypass]} <= 1.02")
T_BPF=$(yes_no "${BPF_TOTAL[nf_redirect]} <= 1000")
T_BPF_BYPASS=$(yes_no "${BPF_TOTAL[nf_bypass]} <= 500")
T_BULK=$(yes_no "$BULK_RATIO >= 0.98")
T_BULK_CPU=$(yes_no "$BULK_CPU_RATIO >= 0.98")
# within noise: the middle half of the per-round ratios straddles 1, or the
# median is no further from 1 than "none" moves between rounds
T_SCALE=$(yes_no "($BYPASS_100K_LO <= 1 && $BYPASS_100K_HI >= 1) || ($BYPASS_100K_VS_1 - 1 <= $NOISE && 1 - $BYPASS_100K_VS_1 <= $NOISE)")

{
	echo "netfence bench, $DATE: kernel $KERNEL, $NCPU CPUs ($CPU_MODEL), $IPT_VERSION"
	echo "load average at start $LOAD_START, at the end $LOAD_END (other work on the machine adds noise)"
	echo "$ROUNDS interleaved rounds x $N connects (+$WARMUP warm-up) per setup; medians over rounds;"
	echo "x none = median of per-round ratios to 'none' in the same round, of p50 and of the
trimmed mean (samples up to p99; the rare multi-ms stalls of a shared machine left out)."
	echo
	printf '| %-36s | %9s | %8s | %8s | %12s | %14s |\n' "connect+close" "conn/s" "p50 us" "p99 us" "x none (p50)" "x none (tmean)"
	printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..38})" "----------:" "---------:" "---------:" "-------------:" "---------------:"
	for s in none nf_redirect nf_bypass ipt_1 ipt_1000; do
		printf '| %-36s | %9.0f | %8.1f | %8.1f | %12.3f | %14.3f |\n' "${LABEL[$s]}" \
			"${RATE[$s]}" "${P50[$s]}" "${P99[$s]}" "${RP50[$s]}" "${RMEAN[$s]}"
	done
	echo
	printf '| %-36s | %9s | %8s | %8s | %12s | %14s |\n' "scaling" "entries" "p50 us" "p99 us" "x none (p50)" "x none (tmean)"
	printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..38})" "----------:" "---------:" "---------:" "-------------:" "---------------:"
	for s in nf_bypass nf_bypass_1k nf_bypass_100k ipt_1 ipt_100 ipt_1000; do
		case $s in
		nf_*) e=${ENTRIES[$s]} ;;
		*) e=$((FRONT[$s] + 1)) ;;
		esac
		printf '| %-36s | %9s | %8.1f | %8.1f | %12.3f | %14.3f |\n' "${LABEL[$s]}" \
			"$e" "${P50[$s]}" "${P99[$s]}" "${RP50[$s]}" "${RMEAN[$s]}"
	done
	echo
	echo "100,000 bypass entries vs 1: x$BYPASS_100K_VS_1 (per-round ratios, middle half: $BYPASS_100K_LO..$BYPASS_100K_HI); spread of 'none' p50 between rounds (IQR/median): $(calc "$NOISE * 100" %.1f)%"
	echo
	echo "BPF program time per connect (kernel BPF statistics, $BPF_ROUNDS rounds x $N connects per path,"
	echo "medians over rounds; the proxy's orig_dst included; total: median of the per-round totals)."
	echo "For scale: an empty program on sock_create measures $FLOOR ns per call here (the statistics'"
	echo "own clock reads, and whatever interrupts land inside a run)."
	echo
	printf '| %-16s | %-14s | %-24s | %13s | %9s | %11s |\n' "path" "program" "attach" "calls/connect" "ns/call" "ns/connect"
	echo "|------------------|----------------|--------------------------|--------------:|----------:|------------:|"
	for s in "${BPF_PATHS[@]}"; do
		while read -r name attach calls percall perconn; do
			printf '| %-16s | %-14s | %-24s | %13s | %9s | %11s |\n' "$s" "$name" "$attach" "$calls" "$percall" "$perconn"
		done <"$W/bpfprog.$s"
		printf '| %-16s | %-14s | %-24s | %13s | %9s | %11s |\n' "$s" "**total**" "" "" "" "**${BPF_TOTAL[$s]}**"
		printf '| %-16s | %-14s | %-24s | %13s | %9s | %11s |\n' "$s" "floor" "empty program, as often" "${BPF_CALLS[$s]}" "$FLOOR" "${BPF_FLOOR[$s]}"
	done
	echo
	echo "Bulk throughput ($BULK_MB MiB per stream, $BULK_ROUNDS interleaved pairs; medians, and the middle half of"
	echo "the per-pair ratios):"
	echo "  wall clock:      none $BULK_NONE Gbit/s, netfence bypass $BULK_BYPASS Gbit/s, x$BULK_RATIO ($BULK_LO..$BULK_HI)"
	echo "  per CPU second:  none $BULK_CPU_NONE Gbit, netfence bypass $BULK_CPU_BYPASS Gbit, x$BULK_CPU_RATIO ($BULK_CPU_LO..$BULK_CPU_HI)"
	echo "  (sender and receiver CPU time: what other load on the machine disturbs least)"
	echo
	echo "Memory: BPF maps at default sizes $(calc "$MAPS_DEFAULT / 1024" %.1f) KiB (programs $(calc "$PROGS_MEM / 1024" %.1f) KiB); with 100,000 bypass entries $(calc "$MAPS_100K / 1024" %.1f) KiB."
	while read -r name type max mem; do
		echo "  $name ($type, $max entries): $(calc "$mem / 1024" %.1f) KiB"
	done <"$W/maplist"
	echo "Peak RSS: attach ${RSS[attach]} KiB, attach with 100,000 bypass entries ${RSS[attach_100k]} KiB, status (all ${#ATTACHED[@]} policies) ${RSS[status]} KiB, status --cgroup ${RSS[status_one]} KiB."
	echo
	echo "Targets:"
	echo "  redirect path <= 1.03 x none:        x${RP50[nf_redirect]} (p50), x${RMEAN[nf_redirect]} (trimmed mean): $T_REDIRECT"
	echo "  bypass path <= 1.02 x none:          x${RP50[nf_bypass]} (p50), x${RMEAN[nf_bypass]} (trimmed mean): $T_BYPASS"
	echo "  BPF ns per connect, redirect <= 1000: ${BPF_TOTAL[nf_redirect]} (floor ${BPF_FLOOR[nf_redirect]}, ${BPF_CALLS[nf_redirect]} runs): $T_BPF"
	echo "  BPF ns per connect, bypass <= 500:    ${BPF_TOTAL[nf_bypass]} (floor ${BPF_FLOOR[nf_bypass]}, ${BPF_CALLS[nf_bypass]} runs): $T_BPF_BYPASS"
	echo "  100,000 bypass entries ~ 1 entry:    x$BYPASS_100K_VS_1 ($BYPASS_100K_LO..$BYPASS_100K_HI): $T_SCALE"
	echo "  bypass bulk >= 0.98 x none:          x$BULK_RATIO wall: $T_BULK; x$BULK_CPU_RATIO per CPU second: $T_BULK_CPU"
} >"$OUT/results.md"
cat "$OUT/results.md"

# JSON
json_setup() {
	local s=$1 r sep=

	printf '"%s":{"label":"%s","rate":%s,"p50_us":%s,"p99_us":%s,"tmean_us":%s,"x_none_p50":%s,"x_none_tmean":%s,"x_none_p50_iqr":[%s,%s],"rounds":[' \
		"$s" "${LABEL[$s]}" "${RATE[$s]}" "${P50[$s]}" "${P99[$s]}" "${MEAN[$s]}" \
		"${RP50[$s]}" "${RMEAN[$s]}" "${RP50_LO[$s]}" "${RP50_HI[$s]}"
	for ((r = 1; r <= ROUNDS; r++)); do
		printf '%s%s' "$sep" "$(<"$W/c.$s.$r.json")"
		sep=,
	done
	printf ']}'
}
json_bpf() {
	local s=$1 sep=

	printf '"%s":{"connects":%s,"ns_per_connect":%s,"progs":[' \
		"$s" "${BPF_CONNECTS[$s]}" "${BPF_TOTAL[$s]}"
	while read -r name attach calls percall perconn; do
		printf '%s{"name":"%s","attach":"%s","calls_per_connect":%s,"ns_per_call":%s,"ns_per_connect":%s}' \
			"$sep" "$name" "$attach" "$calls" "$percall" "$perconn"
		sep=,
	done <"$W/bpfprog.$s"
	printf ']}'
}
{
	printf '{"meta":{"date":"%s","kernel":"%s","cpus":%s,"cpu":"%s","netfence":"%s","iptables":"%s","rounds":%s,"n":%s,"warmup":%s,"bulk_mib":%s,"pinned":%s,"loadavg_start":"%s","loadavg_end":"%s","seconds":%s},' \
		"$DATE" "$KERNEL" "$NCPU" "$CPU_MODEL" "$NFVER" "$IPT_VERSION" "$ROUNDS" "$N" "$WARMUP" "$BULK_MB" \
		"$([[ ${#CLIENT_CPU[@]} -gt 0 ]] && echo true || echo false)" "$LOAD_START" "$LOAD_END" "$SECONDS"
	printf '"connect":{'
	sep=
	for s in "${SETUPS[@]}"; do
		printf '%s' "$sep"
		json_setup "$s"
		sep=,
	done
	printf '},"scaling":{"netfence_bypass":['
	printf '{"entries":%s,"setup":"%s","p50_us":%s,"x_none_p50":%s},' \
		"${ENTRIES[nf_bypass]}" nf_bypass "${P50[nf_bypass]}" "${RP50[nf_bypass]}" \
		"${ENTRIES[nf_bypass_1k]}" nf_bypass_1k "${P50[nf_bypass_1k]}" "${RP50[nf_bypass_1k]}"
	printf '{"entries":%s,"setup":"%s","p50_us":%s,"x_none_p50":%s}],"iptables":[' \
		"${ENTRIES[nf_bypass_100k]}" nf_bypass_100k "${P50[nf_bypass_100k]}" "${RP50[nf_bypass_100k]}"
	printf '{"rules":%s,"setup":"%s","p50_us":%s,"x_none_p50":%s},' \
		1 ipt_1 "${P50[ipt_1]}" "${RP50[ipt_1]}" 101 ipt_100 "${P50[ipt_100]}" "${RP50[ipt_100]}"
	printf '{"rules":%s,"setup":"%s","p50_us":%s,"x_none_p50":%s}],' 1001 ipt_1000 "${P50[ipt_1000]}" "${RP50[ipt_1000]}"
	printf '"bypass_100k_vs_1":{"x_p50":%s,"iqr":[%s,%s],"none_spread":%s}},' \
		"$BYPASS_100K_VS_1" "$BYPASS_100K_LO" "$BYPASS_100K_HI" "$NOISE"
	printf '"bpf":{"empty_prog_ns_per_call":%s,' "$FLOOR"
	sep=
	for s in "${BPF_PATHS[@]}"; do
		printf '%s' "$sep"
		json_bpf "$s"
		sep=,
	done
	printf '},"bulk":{"rounds":'"$BULK_ROUNDS"',"mib":%s,"none_gbit_s":%s,"bypass_gbit_s":%s,"x_none":%s,"x_none_iqr":[%s,%s],"cpu":{"none_gbit_per_cpu_s":%s,"bypass_gbit_per_cpu_s":%s,"x_none":%s,"x_none_iqr":[%s,%s]}},' \
		"$BULK_MB" "$BULK_NONE" "$BULK_BYPASS" "$BULK_RATIO" "$BULK_LO" "$BULK_HI" \
		"$BULK_CPU_NONE" "$BULK_CPU_BYPASS" "$BULK_CPU_RATIO" "$BULK_CPU_LO" "$BULK_CPU_HI"
	printf '"bulk_pairs":['
	sep=
	for ((r = 1; r <= BULK_ROUNDS; r++)); do
		printf '%s{"none":%s,"none_sink_cpu_ns":%s,"nf_bypass":%s,"nf_bypass_sink_cpu_ns":%s}' "$sep" \
			"$(<"$W/b.none.$r.json")" "$(<"$W/b.none.$r.sinkcpu")" \
			"$(<"$W/b.nf_bypass.$r.json")" "$(<"$W/b.nf_bypass.$r.sinkcpu")"
		sep=,
	done
	printf '],'
	printf '"memory":{"maps_default":%s,"maps_100k_bypass":%s,"rss_kb":{"attach":%s,"attach_100k":%s,"status":%s,"status_one":%s}},' \
		"$(<"$W/maps.default.json")" "$(<"$W/maps.100k.json")" \
		"${RSS[attach]}" "${RSS[attach_100k]}" "${RSS[status]}" "${RSS[status_one]}"
	printf '"squid":{"file":"%s"},' "$OUT/squid.json"
	printf '"bpf_floor_ns":{"nf_redirect":%s,"nf_bypass":%s},' "${BPF_FLOOR[nf_redirect]}" "${BPF_FLOOR[nf_bypass]}"
	printf '"targets":{"redirect_x_none_max":1.03,"redirect":"%s","bypass_x_none_max":1.02,"bypass":"%s","bpf_redirect_ns_max":1000,"bpf_redirect":"%s","bpf_bypass_ns_max":500,"bpf_bypass":"%s","bypass_100k":"%s","bulk_x_none_min":0.98,"bulk":"%s","bulk_cpu":"%s"}}\n' \
		"$T_REDIRECT" "$T_BYPASS" "$T_BPF" "$T_BPF_BYPASS" "$T_SCALE" "$T_BULK" "$T_BULK_CPU"
} >"$OUT/results.json"
echo
echo "bench: results: $OUT/results.json, $OUT/results.md (${SECONDS}s)"

# Plot: connect cost against the number of rules / entries, as the ratio to
# no policy (more stable from run to run than microseconds on a shared box).
{
	echo "# netfence bypass: entries x_none_p50 p50_us"
	for s in nf_bypass nf_bypass_1k nf_bypass_100k; do
		echo "${ENTRIES[$s]} ${RP50[$s]} ${P50[$s]}"
	done
	echo
	echo
	echo "# iptables DNAT: rules x_none_p50 p50_us"
	for s in ipt_1 ipt_100 ipt_1000; do
		echo "$((FRONT[$s] + 1)) ${RP50[$s]} ${P50[$s]}"
	done
} >"$OUT/scaling.dat"
if ! command -v gnuplot >/dev/null; then
	echo "bench: plot skipped: gnuplot not installed (scripts/install-deps.sh installs gnuplot-nox)"
elif gnuplot 2>"$W/gnuplot.err" <<-EOF
		set terminal png size 860,560 font ",11"
		set output "$OUT/bench-connect-cost.png"
		set title "TCP connect+close cost, p50 relative to no policy\\n(kernel $KERNEL, $NCPU CPUs, $ROUNDS rounds x $N, no policy p50 = ${P50[none]} us)"
		set xlabel "rules (iptables) / bypass entries (netfence)"
		set ylabel "x no policy (median of per-round p50 ratios)"
		set logscale x
		set xrange [0.5:300000]
		set yrange [0.9:*]
		set key below
		set grid
		plot "$OUT/scaling.dat" index 0 using 1:2 with linespoints lw 2 pt 7 title "netfence bypass path", \\
		     "$OUT/scaling.dat" index 1 using 1:2 with linespoints lw 2 pt 5 title "iptables DNAT (nat OUTPUT, client netns)", \\
		     ${RP50[nf_redirect]} with lines dt 2 lw 2 lc rgb "#c00000" title "netfence redirect path (x${RP50[nf_redirect]})", \\
		     1 with lines lw 1 lc rgb "black" title "no policy"
	EOF
then
	cp "$OUT/bench-connect-cost.png" "$PLOT"
	echo "bench: plot: $PLOT"
else
	echo "bench: plot failed: $(tail -n 3 "$W/gnuplot.err")"
fi

[[ ${BENCH_SQUID:-1} == 0 ]] && exit 0	# the BPF figures only

# Through Squid, with a real Squid: its own script, its own cleanup.
echo
bash "$ROOT/scripts/bench-squid.sh" | tee -a "$OUT/results.md"

# HTTPS through Squid, bumped (--ssl-bump) against spliced: its own script.
echo
bash "$ROOT/scripts/bench-bump.sh" | tee -a "$OUT/results.md"

# DNS through netfence's filter (dnsmasq) against direct: its own script too.
echo
bash "$ROOT/scripts/bench-dns.sh" | tee -a "$OUT/results.md"
