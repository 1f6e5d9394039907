#!/usr/bin/env bash
# make soak: bounded load through `netfence run` and its embedded Squid.
#
# Inside one `netfence run`, two load generators run at the same time:
#   bypass       SOAK_N requests to the MCP-gateway stand-in on 127.0.0.1:PORT, an
#                allowed host port: direct, Squid never sees them;
#   intercepted  SOAK_N requests to soak.test = 127.77.K.2:80: the kernel redirects
#                each connect to Squid's intercept port, Squid answers from the origin.
# Each with SOAK_C (64) concurrent connections; about SOAK_KEEPALIVE (half) of the
# requests reuse a keep-alive connection, the others open a new one; SOAK_STREAM (2%)
# are 2-second chunked streams (like MCP's SSE). Then one more request through Squid.
#
#   make soak                 SOAK_N=2000 each way, well under a minute
#   SOAK_SSL_BUMP=1 make soak  the same with run --ssl-bump
#   SOAK_N=20000 make soak    well past the ~13,000 requests at which the iptables
#                             design crashed Squid 5.7
#
# Reports failed requests (goal 0), whether Squid still serves, and the entries of
# the shared original-destination map (orig4) before and after the load (goal: back
# to where it started). Writes build/soak/results.json. Exit 0 only when all three
# goals are met. Root only; traffic on loopback only. Everything it starts is stopped
# on every exit path, and nothing it did not start is touched (SOAK_KEEP=1 keeps the
# work directory with the logs).
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
NETFENCE=$ROOT/build/netfence
LOADGEN=$ROOT/build/tools/loadgen
OUT_DIR=$ROOT/build/soak

N=${SOAK_N:-2000}
C=${SOAK_C:-64}
KA=${SOAK_KEEPALIVE:-0.5}
SF=${SOAK_STREAM:-0.02}
STREAM_CHUNKS=20
STREAM_MS=100

die() {
	echo "soak: $*" >&2
	exit 2
}

[[ $N =~ ^[0-9]+$ ]] && ((N >= 1 && N <= 1000000)) || die "SOAK_N '$N': 1-1000000"
[[ $C =~ ^[0-9]+$ ]] && ((C >= 1 && C <= 1024)) || die "SOAK_C '$C': 1-1024"
[[ $KA =~ ^(0(\.[0-9]+)?|1(\.0*)?)$ ]] || die "SOAK_KEEPALIVE '$KA': 0-1"
[[ $SF =~ ^(0(\.[0-9]+)?|1(\.0*)?)$ ]] || die "SOAK_STREAM '$SF': 0-1"
((EUID == 0)) || die "needs root (netfence run attaches BPF programs to a cgroup)"
for f in "$NETFENCE" "$LOADGEN"; do
	[[ -x $f ]] || die "$f missing: run 'make' first"
done
for t in bpftool /usr/sbin/squid; do
	command -v "$t" >/dev/null || die "needs $t: run scripts/install-deps.sh"
done
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[[ -n $CG2 ]] || die "no cgroup2 mount"

# Each client's deadline grows with N (loadgen caps it at one hour).
DEADLINE_MS=$((60000 + N * 20))
((DEADLINE_MS > 3600000)) && DEADLINE_MS=3600000

export NETFENCE_PIN_ROOT=/sys/fs/bpf/nfsoak-$$
WORK=$(mktemp -d /tmp/netfence-soak.XXXXXX) || die "mktemp failed"
chmod 755 "$WORK"
PIDS=()		# "pid start name" of every process started here
RUN_PID='' RUN_START=''
T0=$(date +%s.%N)

# ---------------------------------------------------------------------------
# Processes: recorded with their start time, so a recycled PID is never signalled.

starttime() {
	local s f
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	read -r -a f <<<"$s"
	[[ ${f[0]} == Z || ${f[0]} == X ]] && return 1
	printf '%s\n' "${f[19]}"
}

alive() {	# alive PID START
	local now
	[[ -n $1 && -n $2 ]] || return 1
	now=$(starttime "$1") || return 1
	[[ $now == "$2" ]]
}

start_bg() {	# start_bg NAME CMD...: output in $WORK/NAME.out and .err
	local name=$1 pid
	shift
	"$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
	pid=$!
	PIDS+=("$pid $(starttime "$pid" || echo -) $name")
	LAST_PID=$pid
}

stop_pid() {	# stop_pid PID START SECONDS: TERM, then KILL after SECONDS
	local pid=$1 start=$2 i
	alive "$pid" "$start" || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < $3 * 10; i++)); do
		alive "$pid" "$start" || return 0
		sleep 0.1
	done
	echo "soak: $pid ignored SIGTERM for $3 s: killing it" >&2
	alive "$pid" "$start" && kill -KILL "$pid" 2>/dev/null
	return 0
}

wait_file() {	# wait_file PATH SECONDS: 1 if it never appears or the run ended
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[[ -e $1 ]] && return 0
		[[ -n $RUN_PID ]] && ! alive "$RUN_PID" "$RUN_START" && {
			[[ -e $1 ]]
			return
		}
		sleep 0.1
	done
	return 1
}

cleanup() {
	local e pid start name d
	trap '' INT TERM HUP
	# netfence run first, with time for its own teardown (detach, cgroups, Squid).
	[[ -n $RUN_PID ]] && stop_pid "$RUN_PID" "$RUN_START" 20
	for e in "${PIDS[@]+"${PIDS[@]}"}"; do
		read -r pid start name <<<"$e"
		[[ $pid == "$RUN_PID" ]] || stop_pid "$pid" "$start" 3
	done
	for e in "${PIDS[@]+"${PIDS[@]}"}"; do
		wait "${e%% *}" 2>/dev/null
	done
	# Only if netfence run itself had to be killed: what it left.
	if [[ -n $RUN_PID ]]; then
		d=$CG2/netfence-run-$RUN_PID
		if [[ -d $d ]]; then
			"$NETFENCE" detach --cgroup "$d/agent" >/dev/null 2>&1
			for e in "$d/agent" "$d/proxy" "$d"; do
				[[ -d $e ]] || continue
				echo 1 >"$e/cgroup.kill" 2>/dev/null
				for _ in 1 2 3 4 5 6 7 8 9 10; do
					rmdir "$e" 2>/dev/null && break
					sleep 0.1
				done
			done
		fi
	fi
	rm -rf "$NETFENCE_PIN_ROOT"
	if [[ ${SOAK_KEEP:-0} == 1 ]]; then
		echo "soak: work directory kept: $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'echo "soak: interrupted" >&2; exit 130' INT
trap 'echo "soak: terminated" >&2; exit 143' TERM HUP

# ---------------------------------------------------------------------------
# Measurements, from outside the agent (it has no CAP_BPF).

# Entries in the shared record map; "-" when it is not there. In bpftool's JSON
# each entry has one raw "key":[bytes] (the BTF-formatted key is an object).
orig4_count() {
	local out
	out=$(bpftool -j map dump pinned "$NETFENCE_PIN_ROOT/orig4" 2>/dev/null) || {
		echo -
		return
	}
	grep -o '"key":\[' <<<"$out" | wc -l
}

jnum() {	# jnum JSON KEY: a number from flat JSON, or "-"
	local re='"'$2'":(-?[0-9.]+)'
	[[ $1 =~ $re ]] && echo "${BASH_REMATCH[1]}" || echo -
}

jstr() {	# jstr JSON KEY: a plain string from flat JSON, or "-"
	local re='"'$2'":"([^"]*)"'
	[[ $1 =~ $re ]] && echo "${BASH_REMATCH[1]}" || echo -
}

proc_kb() {	# proc_kb PID FIELD: VmRSS / VmHWM in kB, or "-"
	local v
	v=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null)
	echo "${v:--}"
}

declare -A M
measure() {	# measure LABEL
	local l=$1 st
	M[$l.orig4]=$(orig4_count)
	st=$("$NETFENCE" -j status 2>/dev/null | tr -d ' \n')
	M[$l.stored]=$(jnum "$st" orig_stored)
	M[$l.hit]=$(jnum "$st" orig_hit)
	M[$l.miss]=$(jnum "$st" orig_miss)
	M[$l.store_fail]=$(jnum "$st" orig_store_fail)
	M[$l.redirect]=$(jnum "$st" redirect)
	M[$l.bypass]=$(jnum "$st" bypass)
	M[$l.rss]=$(proc_kb "$SQUID_PID" VmRSS)
	M[$l.hwm]=$(proc_kb "$SQUID_PID" VmHWM)
	M[$l.fds]=$(ls "/proc/$SQUID_PID/fd" 2>/dev/null | wc -l)
	M[$l.tw]=$(ss -tan state time-wait 2>/dev/null | tail -n +2 | wc -l)
}

# ---------------------------------------------------------------------------
# Servers: the MCP stand-in on 127.0.0.1 (a free port), the origin on 127.77.K.2:80.

start_bg mcp "$LOADGEN" serve --listen 127.0.0.1:0 --name mcp
MCP_SERVE=$LAST_PID
for _ in $(seq 50); do grep -qx READY "$WORK/mcp.out" && break; sleep 0.1; done
MCP_PORT=$(sed -n 's/^LISTENING 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/mcp.out")
[[ -n $MCP_PORT ]] || die "the MCP stand-in did not start: $(cat "$WORK/mcp.err")"

A=''
for try in 1 2 3 4 5; do
	K=$((RANDOM % 200 + 20))
	start_bg "origin$try" "$LOADGEN" serve --listen "127.77.$K.2:80" --name origin
	for _ in $(seq 50); do
		grep -qx READY "$WORK/origin$try.out" && { A=127.77.$K.2; break; }
		alive "$LAST_PID" "$(starttime "$LAST_PID")" || break
		sleep 0.1
	done
	[[ -n $A ]] && break
done
ORIGIN_SERVE=$LAST_PID
ORIGIN_NAME=origin$try
[[ -n $A ]] || die "the origin did not start on 127.77.K.2:80: $(cat "$WORK/origin$try.err")"
printf '%s soak.test\n' "$A" >"$WORK/hosts"

# ---------------------------------------------------------------------------
# The agent: runs under the policy; signals its phases with files.

cat >"$WORK/agent.sh" <<EOF
set -u
W=$WORK
LG=$LOADGEN
touch \$W/attached
for i in \$(seq 600); do [ -e \$W/go ] && break; sleep 0.1; done
common="--requests $N --concurrency $C --keepalive-fraction $KA --stream-fraction $SF
	--stream-chunks $STREAM_CHUNKS --stream-ms $STREAM_MS --timeout-ms 15000
	--deadline-ms $DEADLINE_MS"
\$LG client --connect 127.0.0.1:$MCP_PORT --host host.docker.internal \$common \\
	--expect 'HELLO mcp' --seed 1 >\$W/bypass.json 2>\$W/bypass.err &
b=\$!
\$LG client --connect $A:80 --host soak.test \$common \\
	--expect 'HELLO origin' --seed 2 >\$W/intercept.json 2>\$W/intercept.err &
i=\$!
wait \$b
wait \$i
touch \$W/loaded
for i in \$(seq 600); do [ -e \$W/measured ] && break; sleep 0.1; done
\$LG client --connect $A:80 --host soak.test --requests 1 --concurrency 1 \\
	--stream-fraction 0 --expect 'HELLO origin' >\$W/final.json 2>\$W/final.err
touch \$W/done
for i in \$(seq 600); do [ -e \$W/finished ] && break; sleep 0.1; done
EOF

echo "soak: $N requests each way, concurrency $C, keep-alive $KA, streams $SF" \
	"(${STREAM_CHUNKS}x${STREAM_MS} ms); MCP stand-in 127.0.0.1:$MCP_PORT, origin $A:80"
# SOAK_SSL_BUMP=1: the same load with `run --ssl-bump` (Squid's bumping configuration,
# its certificate helper and the run's CA in place; the load itself is plain HTTP)
bump=()
[[ ${SOAK_SSL_BUMP:-0} == 1 ]] && bump=(--ssl-bump)
start_bg run "$NETFENCE" -v run "${bump[@]}" --allow-domains soak.test --hosts-file "$WORK/hosts" \
	--squid-allow-loopback --enable-host-access --allow-host-ports "$MCP_PORT" \
	--log-dir "$WORK/logs" -- bash "$WORK/agent.sh"
RUN_PID=$LAST_PID
RUN_START=$(starttime "$RUN_PID")

wait_file "$WORK/attached" 60 || die "netfence run did not start the agent: $(tail -n 5 "$WORK/run.err")"
TA=$(date +%s.%N)
SQUID_PID=$(sed -n 's/.*Squid \([0-9]*\) listening.*/\1/p' "$WORK/run.err" | head -n 1)
[[ -n $SQUID_PID ]] || die "no Squid PID in netfence -v run's output: $(tail -n 5 "$WORK/run.err")"
SQUID_START=$(starttime "$SQUID_PID")

measure before
touch "$WORK/go"
L0=$(date +%s.%N)
wait_file "$WORK/loaded" $((DEADLINE_MS / 1000 + 60))
L1=$(date +%s.%N)
squid_alive_load=no
alive "$SQUID_PID" "$SQUID_START" && squid_alive_load=yes
measure after
touch "$WORK/measured"
wait_file "$WORK/done" 60
measure final
touch "$WORK/finished"
TF=$(date +%s.%N)
for _ in $(seq 300); do alive "$RUN_PID" "$RUN_START" || break; sleep 0.1; done
wait "$RUN_PID" 2>/dev/null
RUN_RC=$?
TE=$(date +%s.%N)
alive "$RUN_PID" "$RUN_START" && RUN_RC=timeout

# Servers' own counts (SIGTERM prints them).
stop_pid "$MCP_SERVE" "$(starttime "$MCP_SERVE")" 3
stop_pid "$ORIGIN_SERVE" "$(starttime "$ORIGIN_SERVE")" 3
T1=$(date +%s.%N)

# ---------------------------------------------------------------------------
# Report

BY=$(cat "$WORK/bypass.json" 2>/dev/null)
IN=$(cat "$WORK/intercept.json" 2>/dev/null)
FI=$(cat "$WORK/final.json" 2>/dev/null)
MCP_SRV=$(grep '^{' "$WORK/mcp.out" 2>/dev/null | tail -n 1)
ORG_SRV=$(grep '^{' "$WORK/$ORIGIN_NAME.out" 2>/dev/null | tail -n 1)

log=$WORK/logs/access.log
squid_lines=$(wc -l <"$log" 2>/dev/null || echo 0)
squid_200=$(awk -v d="$A:80" '$3 == d && $6 == "soak.test" && $9 == 200' "$log" 2>/dev/null | wc -l)
squid_miss=$(awk '$3 == "127.0.0.1:1"' "$log" 2>/dev/null | wc -l)
squid_mcp=$(grep -c ":$MCP_PORT " "$log" 2>/dev/null)
cache=$WORK/logs/cache.log
squid_fd=$(sed -n 's/.*With \([0-9]*\) file descriptors available.*/\1/p' "$cache" 2>/dev/null | tail -n 1)
squid_warn=$(grep -ciE 'assertion|FATAL|WARNING' "$cache" 2>/dev/null)
squid_warn_text=$(grep -iE 'assertion|FATAL|WARNING' "$cache" 2>/dev/null | sort | uniq -c |
	sort -rn | head -n 5)

by_failed=$(jnum "$BY" failed)
in_failed=$(jnum "$IN" failed)
total_failed=null
[[ $by_failed =~ ^[0-9]+$ && $in_failed =~ ^[0-9]+$ ]] && total_failed=$((by_failed + in_failed))
serves=no
[[ $(jnum "$FI" ok) == 1 && $squid_alive_load == yes ]] && serves=yes
leftover=''
[[ -d $CG2/netfence-run-$RUN_PID ]] && leftover+=" cgroup"
[[ -n $(find "$NETFENCE_PIN_ROOT" -mindepth 1 2>/dev/null) ]] && leftover+=" pins"
alive "$SQUID_PID" "$SQUID_START" && leftover+=" squid"

kinds() {	# the non-zero failure kinds of a client's JSON
	local k v s=''
	for k in refused eperm addr_unavail connect_timeout connect_other reset closed \
		timeout bad_status bad_response io_other deadline not_run; do
		v=$(jnum "$1" "$k")
		[[ $v != 0 && $v != - ]] && s+=" $k=$v"
	done
	echo "${s:- none}"
}

dur() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

line() {	# line LABEL JSON
	printf '  %-12s %7s requests  %7s ok  %5s failed  %6s new conns  %6s reused  %4s streams  p50 %s ms  p99 %s ms  %s req/s\n' \
		"$1" "$(jnum "$2" requests)" "$(jnum "$2" ok)" "$(jnum "$2" failed)" \
		"$(jnum "$2" connections)" "$(jnum "$2" reused)" "$(jnum "$2" streams_ok)" \
		"$(jnum "$2" p50_ms)" "$(jnum "$2" p99_ms)" "$(jnum "$2" rps)"
	printf '  %-12s failures by kind:%s\n' "" "$(kinds "$2")"
}

echo
echo "soak report ($(date -u +%Y-%m-%dT%H:%M:%SZ), kernel $(uname -r), $(/usr/sbin/squid -v | head -n 1))"
line bypass "$BY"
line intercepted "$IN"
printf '  time         load %s s (both at once); netfence run start to agent %s s, teardown %s s; whole soak %s s\n' \
	"$(dur "$L0" "$L1")" "$(dur "$T0" "$TA")" "$(dur "$TF" "$TE")" "$(dur "$T0" "$T1")"
printf '  failed       %s bypass + %s intercepted (goal 0)\n' "$by_failed" "$in_failed"
printf '  Squid        still serves after the load: %s (final request %s, process alive: %s)\n' \
	"$serves" "$(jnum "$FI" ok)/1" "$squid_alive_load"
printf '  Squid        RSS %s kB before, %s kB after (peak %s kB); fds %s before, %s after; %s fds available\n' \
	"${M[before.rss]}" "${M[after.rss]}" "${M[after.hwm]}" "${M[before.fds]}" \
	"${M[after.fds]}" "${squid_fd:--}"
printf '  Squid        access.log: %s lines, %s soak.test 200s with original destination %s, %s lookup misses, %s MCP requests\n' \
	"$squid_lines" "$squid_200" "$A:80" "$squid_miss" "${squid_mcp:-0}"
printf '  Squid        cache.log warnings/assertions: %s\n' "${squid_warn:-0}"
[[ -n $squid_warn_text ]] && sed 's/^/                 /' <<<"$squid_warn_text"
printf '  orig4        entries before the load %s, after %s, after the final request %s (goal: back to %s)\n' \
	"${M[before.orig4]}" "${M[after.orig4]}" "${M[final.orig4]}" "${M[before.orig4]}"
printf '  records      stored %s, read by Squid %s, misses %s, store failures %s (after the load)\n' \
	"${M[after.stored]}" "${M[after.hit]}" "${M[after.miss]}" "${M[after.store_fail]}"
printf '  verdicts     redirected %s, bypass %s\n' "${M[after.redirect]}" "${M[after.bypass]}"
printf '  servers      MCP stand-in %s requests on %s connections, origin %s requests on %s connections\n' \
	"$(jnum "$MCP_SRV" requests)" "$(jnum "$MCP_SRV" connections)" \
	"$(jnum "$ORG_SRV" requests)" "$(jnum "$ORG_SRV" connections)"
printf '  TIME_WAIT    %s sockets on the host after the load\n' "${M[after.tw]}"
printf '  netfence run exit %s; left behind:%s\n' "$RUN_RC" "${leftover:- nothing}"

# The run's report from this log directory again (run wrote one at exit):
# how long it takes and how big the page is (a benchmark, not a goal checked).
R0=$(date +%s.%N)
"$NETFENCE" -j report "$WORK/logs" >"$WORK/report.json" 2>"$WORK/report.err"
report_rc=$?
R1=$(date +%s.%N)
report_html=$(stat -c %s "$WORK/logs/report.html" 2>/dev/null || echo 0)
report_lines=$(cat "$WORK/logs/access.log" "$WORK/logs/events.jsonl" 2>/dev/null | wc -l)
report_totals=$(grep -o '"totals":{[^}]*}' "$WORK/report.json" 2>/dev/null)
printf '  report       %s s for %s log lines (exit %s), report.html %s bytes; %s\n' \
	"$(awk -v a="$R0" -v b="$R1" 'BEGIN { printf "%.3f", b - a }')" "$report_lines" "$report_rc" "$report_html" "${report_totals:-no totals}"

mkdir -p "$OUT_DIR"
jv() { [[ $1 == - || -z $1 ]] && echo null || echo "$1"; }
cat >"$OUT_DIR/results.json" <<EOF
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "kernel": "$(uname -r)",
  "requests_each_way": $N,
  "concurrency": $C,
  "keepalive_fraction": $KA,
  "stream_fraction": $SF,
  "load_seconds": $(dur "$L0" "$L1"),
  "run_seconds": $(dur "$T0" "$T1"),
  "bypass": ${BY:-null},
  "intercepted": ${IN:-null},
  "final": ${FI:-null},
  "failed": $total_failed,
  "squid_still_serves": $([[ $serves == yes ]] && echo true || echo false),
  "squid_rss_kb": {"before": $(jv "${M[before.rss]}"), "after": $(jv "${M[after.rss]}"), "peak": $(jv "${M[after.hwm]}")},
  "squid_fds": {"before": $(jv "${M[before.fds]}"), "after": $(jv "${M[after.fds]}"), "available": $(jv "${squid_fd:-}")},
  "squid_access_log": {"lines": $squid_lines, "soak_200": $squid_200, "lookup_misses": $squid_miss},
  "squid_cache_log_warnings": ${squid_warn:-0},
  "orig4_entries": {"before": $(jv "${M[before.orig4]}"), "after": $(jv "${M[after.orig4]}"), "after_final": $(jv "${M[final.orig4]}")},
  "orig4_counters_after": {"stored": $(jv "${M[after.stored]}"), "hit": $(jv "${M[after.hit]}"), "miss": $(jv "${M[after.miss]}"), "store_fail": $(jv "${M[after.store_fail]}")},
  "servers": {"mcp": ${MCP_SRV:-null}, "origin": ${ORG_SRV:-null}},
  "netfence_run_exit": "$RUN_RC",
  "report": {"seconds": $(awk -v a="$R0" -v b="$R1" 'BEGIN { printf "%.3f", b - a }'), "log_lines": $report_lines, "html_bytes": $report_html, "exit": $report_rc},
  "left_behind": "${leftover# }"
}
EOF
echo "  results      $OUT_DIR/results.json"

ok=1
[[ $by_failed == 0 && $in_failed == 0 ]] || ok=0
[[ $serves == yes ]] || ok=0
[[ ${M[before.orig4]} =~ ^[0-9]+$ && ${M[after.orig4]} == "${M[before.orig4]}" ]] || ok=0
[[ -z $leftover ]] || ok=0
if ((ok)); then
	echo "soak: PASS (0 failed, Squid serves, orig4 back to ${M[before.orig4]})"
	exit 0
fi
echo "soak: FAIL (see above; SOAK_KEEP=1 keeps $WORK with Squid's logs)"
exit 1
