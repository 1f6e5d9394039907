#!/usr/bin/env bash
# Faults and hostile load: netfence fails closed, loses nothing, leaves
# nothing behind.
#
#  1. kill -9 of `netfence attach`, re-attach, `detach` and `run` at points
#     the test chooses (random delays over the measured duration, or the
#     moment a file appears or goes under the pin root: inotify, no ptrace).
#     Afterwards six probes from the cgroup (a port both policies redirect,
#     one only the old one redirects, one only the new one, one neither,
#     UDP, v4-mapped) and `netfence -j status` must show the complete old
#     policy, the complete new one, a closed gate (everything refused), or,
#     only while nothing is attached, no policy at all. What is left is found
#     by status and removed by detach; attach again works.
#  2. Concurrent attach/detach and attach/attach of one cgroup (flock).
#  3. Squid killed under `netfence run`: the agent's redirected connections
#     fail, run exits non-zero and removes everything.
#  4. Load: the shared record map (65,536, LRU) overfilled with records
#     nobody reads, ephemeral ports exhausted in the agent namespace,
#     thousands of short-lived processes, 10,000 sockets at once: the policy
#     holds, a stand-in proxy that stops on the first failed lookup (like
#     Squid 5.7) keeps serving, counters equal the connects made.
#
# Knobs (environment): NFT_FAULT_SEED (random seed, printed), and trial
# counts NFT_FAULT_ATTACH, NFT_FAULT_REATTACH, NFT_FAULT_DETACH,
# NFT_FAULT_RUN, NFT_FAULT_RUN_SQUID, NFT_FAULT_PAIRS.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_env

NFSTRESS=${NFSTRESS:-$NFT_ROOT/build/tools/nfstress}
SEED=${NFT_FAULT_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$SEED
echo "seed $SEED (NFT_FAULT_SEED=$SEED repeats this run's choices)"
N_ATTACH=${NFT_FAULT_ATTACH:-40}
N_REATTACH=${NFT_FAULT_REATTACH:-36}
N_DETACH=${NFT_FAULT_DETACH:-30}
N_RUN=${NFT_FAULT_RUN:-14}
N_RUN_SQUID=${NFT_FAULT_RUN_SQUID:-8}
N_PAIRS=${NFT_FAULT_PAIRS:-20}

need_tools "run 'make'" "$NETFENCE" "$NFPROBE" "$NFSTRESS"
# Debian's python3 first: a version manager's shim costs a second a call
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
need_tools "run scripts/install-deps.sh" "$PY" bpftool nsenter curl /usr/sbin/squid

private_pins
PIN=$NETFENCE_PIN_ROOT
# Killed runs of this test: "pid" lines; their leftovers are removed at exit.
: >"$TDIR/runs"
on_cleanup "fault_cleanup"

# rand N: 0..N-1 (N up to 2^30)
rand() {
	echo $(((RANDOM * 32768 + RANDOM) % $1))
}

# cg_kill DIR: kill every process in a cgroup this test made or whose
# netfence this test started, then remove it (children first).
cg_kill() {
	local d=$1 sub i
	[[ -d $d ]] || return 0
	for sub in "$d"/*/; do
		[[ -d $sub ]] && cg_kill "${sub%/}"
	done
	echo 1 >"$d/cgroup.kill" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		rmdir "$d" 2>/dev/null && return 0
		[[ -d $d ]] || return 0
		sleep 0.02
	done
	echo "cleanup: cannot remove $d" >&2
	return 1
}

# run_leftovers_remove PID: what a killed `netfence run` (ours) left.
run_leftovers_remove() {
	local pid=$1 base=$CG2/netfence-run-$1 id
	if [[ -d $base/agent ]]; then
		"$NETFENCE" detach --cgroup "$base/agent" >/dev/null 2>&1
	fi
	cg_kill "$base"
	"$NETFENCE" detach --cgroup "$base/agent" >/dev/null 2>&1
	rm -rf /tmp/netfence-run-"$pid"-* 2>/dev/null
	rm -f /dev/shm/nf"$pid"r* 2>/dev/null
}

fault_cleanup() {
	local pid d
	while read -r pid; do
		[[ -n $pid ]] && run_leftovers_remove "$pid"
	done <"$TDIR/runs"
	for d in "$PIN"/cg-* "$PIN"/tmp-cg-*; do
		[[ -d $d ]] || continue
		for cg in "$TCG" "$MCG" "$FCG" "$GCG"; do
			[[ -n $cg && $(stat -c %i "$cg" 2>/dev/null) == "${d##*-}" ]] &&
				"$NETFENCE" detach --cgroup "$cg" >/dev/null 2>&1
		done
	done
	# pinned links detach when their last reference goes
	rm -rf "$PIN"
	[[ -n ${AGENT_NS:-} ]] && ip netns exec "$AGENT_NS" \
		sysctl -qw net.ipv4.ip_local_port_range="32768 60999" 2>/dev/null
	return 0
}

topo_up || { t_fail "topology" "topo_up failed"; t_summary; exit 1; }
TCG=$(make_cgroup trial) || exit 1	# kill trials
MCG=$(make_cgroup main) || exit 1	# load: the agent
FCG=$(make_cgroup filler) || exit 1	# load: fills the record map
GCG=''					# trials whose cgroup is removed
PROXY_CG=$(make_cgroup proxy) || exit 1
SPROXY_CG=$(make_cgroup sproxy) || exit 1
TCG_ID=$(stat -c %i "$TCG")

# Servers in the host namespace. "proxy" answers every lookup (a failed one
# is reported, not fatal) for the kill trials; "sproxy", in a cgroup of its
# own, stops accepting after one failed lookup like Squid 5.7 (load part).
bg_start proxy "$NFPROBE" -c "$PROXY_CG" -n "$HOST_NS" serve --name proxy --orig \
	--listen "$GW_IP:3129"
bg_start sproxy "$NFPROBE" -c "$SPROXY_CG" -n "$HOST_NS" serve --name sproxy --orig \
	--strict --listen "$GW_IP:3140"
bg_start origin "$NFPROBE" -n "$HOST_NS" serve --name origin --listen "$ORIGIN1:80" \
	--listen "$ORIGIN1:5000" --listen "$ORIGIN1:6000" --listen "$ORIGIN1:7000"
bg_start dns2 "$NFPROBE" -n "$HOST_NS" serve --name dns2 --udp "$ORIGIN2:5353"
bg_start web "$NFPROBE" -n "$HOST_NS" serve --http --name web --listen "$ORIGIN2:80"
for p in proxy sproxy origin dns2 web; do
	wait_ready "$p" || { t_fail "start $p" "$(cat "$TDIR/$p.err")"; t_summary; exit 1; }
done

COMMON=(--proxy "$GW_IP:3129" --proxy-cgroup "$PROXY_CG" --dns-servers "$GW_IP")
POL_A=(--redirect-ports 80,5000)	# the old policy
POL_B=(--redirect-ports 80,6000)	# the new policy
VEC_A="R R X X X X"
VEC_B="R X R X X X"
VEC_NONE="D D D D D D"

# --------------------------------------------------------------------------
# Observation
# --------------------------------------------------------------------------

# probe_token CG PORT ARGS...: one probe from CG (in the agent netns, or
# in PROBE_NS when set; "-" for this one), as a token: R redirected with its
# own destination, D direct (reached the server itself), X refused (EPERM),
# T no answer (dropped), C connection refused, A no local port
# (EADDRNOTAVAIL), M lookup miss, E failed lookup, ? anything else.
PROBE_NS=
probe_token() {
	local cg=$1 port=$2 out reply err ns=(-n "${PROBE_NS:-$AGENT_NS}")
	shift 2
	[[ $PROBE_NS == - ]] && ns=()
	out=$("$NFPROBE" -c "$cg" "${ns[@]}" connect --timeout 400 "$@" 2>&1)
	reply=$(json_field "$out" reply) || reply=
	err=$(json_field "$out" error) || err=
	case "$reply" in
	"ORIG $ORIGIN1:$port") echo R ;;
	"ORIG 127.0.0.1:1") echo M ;;
	ORIGERR*) echo E ;;
	HELLO*) echo D ;;
	*)
		case "$err" in
		EPERM) echo X ;;
		ECONNREFUSED) echo C ;;
		EADDRNOTAVAIL) echo A ;;
		*)
			if [[ $out == *'"result":"timeout"'* ]]; then
				echo T
			else
				echo "?"
			fi
			;;
		esac
		;;
	esac
}

# probe_vec CG: the six probes, in parallel: :80 (both policies redirect),
# :5000 (the old one), :6000 (the new one), :7000 (neither), UDP, v4-mapped.
probe_vec() {
	local cg=$1 d=$TDIR/vec.$BASHPID i
	mkdir -p "$d"
	probe_token "$cg" 80 "$ORIGIN1" 80 >"$d/1" &
	probe_token "$cg" 5000 "$ORIGIN1" 5000 >"$d/2" &
	probe_token "$cg" 6000 "$ORIGIN1" 6000 >"$d/3" &
	probe_token "$cg" 7000 "$ORIGIN1" 7000 >"$d/4" &
	probe_token "$cg" 5353 --udp "$ORIGIN2" 5353 >"$d/5" &
	probe_token "$cg" 7000 --v6 "$ORIGIN1" 7000 >"$d/6" &
	wait
	for i in 1 2 3 4 5 6; do
		printf '%s%s' "$(cat "$d/$i")" "$([[ $i == 6 ]] || echo ' ')"
	done
	echo
	rm -rf "$d"
}

# classify VEC: A, B, NONE, CLOSED (every probe refused or dropped),
# OPENING (refused and direct mixed: hooks half attached or half removed),
# or MIXED (anything else: a partial policy).
classify() {
	local v=$1 t only_xt=1 only_xtd=1
	case "$v" in
	"$VEC_A") echo A; return ;;
	"$VEC_B") echo B; return ;;
	"$VEC_NONE") echo NONE; return ;;
	esac
	for t in $v; do
		[[ $t == X || $t == T ]] || only_xt=0
		[[ $t == X || $t == T || $t == D ]] || only_xtd=0
	done
	if ((only_xt)); then
		echo CLOSED
	elif ((only_xtd)); then
		echo OPENING
	else
		echo MIXED
	fi
}

# progs_on CG: BPF programs attached to the cgroup.
progs_on() {
	bpftool -j cgroup show "$1" 2>/dev/null | grep -o '"attach_type":' | wc -l
}

# responders_on CG: SO_ORIGINAL_DST responders attached to the cgroup.
responders_on() {
	bpftool -j cgroup show "$1" 2>/dev/null | grep -o '"attach_type":"cgroup_getsockopt"' | wc -l
}

# st_info ID: what `netfence -j status` says of the policy directories of
# cgroup ID: "COUNT STATES PORTS LINKS ATTACHED" ("0 - - 0 0" for none;
# "badjson" when stdout is not one JSON value).
st_info() {
	"$NETFENCE" -j status 2>/dev/null | "$PY" -c '
import json, sys
want = sys.argv[1]
try:
    d = json.load(sys.stdin)
except Exception:
    print("badjson"); sys.exit()
m = [e for e in d if e["pin_dir"].split("-")[-1] == want]
if not m:
    print("0 - - 0 0"); sys.exit()
states = ",".join(e["state"] for e in m)
pol = m[0].get("policy") or {}
print(len(m), states, pol.get("redirect_ports") or "-",
      sum(e["links"] for e in m), sum(e["links_attached"] for e in m))' "$1"
}

# pins_of ID: policy directories of cgroup ID under the pin root.
pins_of() {
	find "$PIN" -mindepth 1 -maxdepth 1 -name "*cg-$1" 2>/dev/null | wc -l
}

# check_state CG ID ALLOWED...: the state after a fault. Sets CLASS, VEC,
# ST, PROGS and WHY (empty when it is one of ALLOWED and consistent).
#   A, B     complete: status enforcing with that policy's ports, every
#            pinned link attached, a responder on the proxy cgroup, and no
#            lookup failed
#   CLOSED   everything refused: status shows it (closed or incomplete)
#   NONE     nothing enforced: nothing attached either (NONE_ANY: whatever
#            is attached does not enforce, a detach half done)
#   OPENING  refusals and direct paths mixed (allowed for detach only)
check_state() {
	local cg=$1 id=$2 a ok=0 count states ports links att
	shift 2
	VEC=$(probe_vec "$cg")
	CLASS=$(classify "$VEC")
	PROGS=$(progs_on "$cg")
	ST=$(st_info "$id")
	WHY=
	for a in "$@"; do
		[[ $a == "$CLASS" || ($a == NONE_ANY && $CLASS == NONE) ]] && ok=1
	done
	if ((!ok)); then
		WHY="state $CLASS ($VEC) not one of: $*"
		return 1
	fi
	if [[ $ST == badjson ]]; then
		WHY="status -j is not valid JSON"
		return 1
	fi
	read -r count states ports links att <<<"$ST"
	if ((PROGS > 0 && count == 0)); then
		WHY="$PROGS programs attached but status shows nothing"
		return 1
	fi
	case $CLASS in
	A | B)
		local want=80,5000
		[[ $CLASS == B ]] && want=80,6000
		if [[ $states != enforcing || $ports != "$want" || $links != "$att" ]]; then
			WHY="probes say $CLASS but status says '$ST'"
			return 1
		fi
		if (($(responders_on "$PROXY_CG") != 1)); then
			WHY="policy $CLASS in force but $(responders_on "$PROXY_CG") SO_ORIGINAL_DST responders on the proxy cgroup (status '$ST')"
			return 1
		fi
		;;
	CLOSED)
		if [[ ! $states =~ ^(closed|incomplete)$ ]]; then
			WHY="everything refused but status says '$ST'"
			return 1
		fi
		;;
	NONE)
		if [[ " $* " != *" NONE_ANY "* ]] && ((PROGS > 0)); then
			WHY="no policy enforced but $PROGS programs attached (status '$ST')"
			return 1
		fi
		;;
	esac
	return 0
}

attach_t() {
	"$NETFENCE" attach --cgroup "$TCG" "${COMMON[@]}" "$@"
}

# recover_detach: detach what is there (exit 0, or 1 when status showed
# nothing), then nothing is left and nothing is enforced. Sets WHY.
recover_detach() {
	local count rc
	read -r count _ <<<"$ST"
	"$NETFENCE" detach --cgroup "$TCG" >"$TDIR/detach.out" 2>&1
	rc=$?
	if ((count > 0 && rc != 0)) || ((count == 0 && rc != 1)); then
		WHY="detach exited $rc with status showing '$ST': $(cat "$TDIR/detach.out")"
		return 1
	fi
	if (($(pins_of "$TCG_ID") != 0)); then
		WHY="detach left $(ls "$PIN")"
		return 1
	fi
	if ! check_state "$TCG" "$TCG_ID" NONE; then
		WHY="after detach: $WHY"
		return 1
	fi
	return 0
}

# recover_attach NAME CLASS POLICY...: attach again over whatever is left;
# the complete policy must be in force. Sets WHY.
recover_attach() {
	local want=$1 rc
	shift
	attach_t "$@" >"$TDIR/attach.out" 2>&1
	rc=$?
	if ((rc != 0)); then
		WHY="attach again exited $rc: $(cat "$TDIR/attach.out")"
		return 1
	fi
	if ! check_state "$TCG" "$TCG_ID" "$want"; then
		WHY="after attach again: $WHY"
		return 1
	fi
	return 0
}

# killat ARGS... -- CMD: nfstress killat; sets KILLED (true/false) and KAT.
# Its output goes to a file, not a pipe: what the killed command leaves
# running (a run's command) would hold a pipe open.
killat() {
	"$NFSTRESS" killat "$@" >"$TDIR/killat.out" 2>"$TDIR/killat.err"
	KAT=$(tail -n 1 "$TDIR/killat.out")
	KILLED=$(json_field "$KAT" killed) || KILLED=?
}

# duration_us CMD...: how long CMD takes when nobody kills it.
duration_us() {
	local out
	out=$("$NFSTRESS" killat --limit-ms 60000 -- "$@" 2>/dev/null)
	json_field "$out" after_us
}

declare -A SEEN=()
note() { SEEN[$1]=$((${SEEN[$1]:-0} + 1)); }
seen_summary() {
	local k s=
	for k in "${!SEEN[@]}"; do s+="$k=${SEEN[$k]} "; done
	echo "${s% }"
}

# --------------------------------------------------------------------------
# Before anything: the topology, and what "no policy" looks like
# --------------------------------------------------------------------------

check_state "$TCG" "$TCG_ID" NONE
assert_eq "no policy: every probe reaches its server directly" "$CLASS $VEC" "NONE $VEC_NONE"
# bpffs mounted and the pin root there, so that killat can watch it
"$NETFENCE" detach --cgroup "$TCG" >/dev/null 2>&1
mkdir -p "$PIN"

T_ATTACH=$(duration_us "$NETFENCE" attach --cgroup "$TCG" "${COMMON[@]}" "${POL_B[@]}")
check_state "$TCG" "$TCG_ID" B
assert_eq "attach B, not killed: policy B in force" "$CLASS${WHY:+: $WHY}" B
T_REATTACH=$(duration_us "$NETFENCE" attach --cgroup "$TCG" "${COMMON[@]}" "${POL_A[@]}")
T_DETACH=$(duration_us "$NETFENCE" detach --cgroup "$TCG")
echo "durations: attach ${T_ATTACH}us, re-attach ${T_REATTACH}us, detach ${T_DETACH}us"

echo "time: 1a at ${SECONDS}s"
# --------------------------------------------------------------------------
# 1a. kill -9 during a first attach
# --------------------------------------------------------------------------
# Kill points: a random delay over the whole attach (mostly the BPF load),
# or a random delay after the policy directory appears (pins, links, rename,
# gate). Afterwards: nothing attached, a closed gate, or the complete new
# policy. Then detach (even trials) or attach again (odd trials).
SEEN=()
for ((i = 1; i <= N_ATTACH; i++)); do
	if ((i % 3 == 0)); then
		how="delay $(rand "$T_ATTACH")us"
		killat --delay-us "${how//[!0-9]/}" -- \
			"$NETFENCE" attach --cgroup "$TCG" "${COMMON[@]}" "${POL_B[@]}"
	else
		after=$(rand 2500)
		how="tmp-cg- appeared +${after}us"
		killat --watch "$PIN" --on-name tmp-cg- --after-us "$after" -- \
			"$NETFENCE" attach --cgroup "$TCG" "${COMMON[@]}" "${POL_B[@]}"
	fi
	name="attach killed #$i ($how, killed=$KILLED)"
	if ! check_state "$TCG" "$TCG_ID" NONE CLOSED B; then
		t_fail "$name" "$WHY; status '$ST', $PROGS programs attached"
		"$NETFENCE" detach --cgroup "$TCG" >/dev/null 2>&1
		continue
	fi
	after_kill="$CLASS (status '$ST')"
	note "$CLASS"
	if ((i % 2)); then
		recover_attach B "${POL_B[@]}" && recover_detach
	else
		recover_detach
	fi
	if [[ -n $WHY ]]; then
		t_fail "$name: left $after_kill" "$WHY"
		"$NETFENCE" detach --cgroup "$TCG" >/dev/null 2>&1
	else
		t_pass "$name: left $after_kill, recovered"
	fi
done
echo "first attach killed: $(seen_summary)"

echo "time: 1b at ${SECONDS}s"
# --------------------------------------------------------------------------
# 1b. kill -9 during a re-attach (A in force, B being written)
# --------------------------------------------------------------------------
attach_t "${POL_A[@]}" >/dev/null
SEEN=()
for ((i = 1; i <= N_REATTACH; i++)); do
	d=$(rand $((T_REATTACH + T_REATTACH / 4 + 1)))
	killat --delay-us "$d" -- \
		"$NETFENCE" attach --cgroup "$TCG" "${COMMON[@]}" "${POL_B[@]}"
	name="re-attach killed #$i (delay ${d}us, killed=$KILLED)"
	if ! check_state "$TCG" "$TCG_ID" A B; then
		t_fail "$name" "$WHY; status '$ST'"
		attach_t "${POL_A[@]}" >/dev/null 2>&1
		continue
	fi
	note "$CLASS"
	after_kill=$CLASS
	if recover_attach A "${POL_A[@]}"; then
		t_pass "$name: complete policy $after_kill, then A again"
	else
		t_fail "$name: complete policy $after_kill" "$WHY"
	fi
done
echo "re-attach killed: $(seen_summary)"

# Moving the SO_ORIGINAL_DST responder to another proxy cgroup by
# re-attaching (the proxy was restarted in a new cgroup).
PROXY2_CG=$(make_cgroup proxy2) || exit 1
out=$("$NETFENCE" attach --cgroup "$TCG" --proxy "$GW_IP:3129" --proxy-cgroup "$PROXY2_CG" \
	--dns-servers "$GW_IP" "${POL_A[@]}" 2>&1)
assert_eq "re-attach with another --proxy-cgroup moves the responder [bug: pins a name with a dot]" \
	"$?:$(responders_on "$PROXY2_CG"):$(responders_on "$PROXY_CG")" "0:1:0" ||
	echo "  attach said: $out"
attach_t "${POL_A[@]}" >/dev/null 2>&1

echo "time: 1c at ${SECONDS}s"
# --------------------------------------------------------------------------
# 1c. kill -9 during detach (A in force)
# --------------------------------------------------------------------------
# The gate closes first, then the links go one by one: afterwards A, a
# closed gate, refusals and direct paths mixed (half removed: the request
# was to remove it all), or nothing. Then attach again over the leftovers
# (odd trials) or detach them (even trials).
check_state "$TCG" "$TCG_ID" A
assert_eq "before the detach trials: A in force" "$CLASS${WHY:+: $WHY}" A
SEEN=()
for ((i = 1; i <= N_DETACH; i++)); do
	if ((i % 3 == 0)); then
		how="delay $(rand "$T_DETACH")us"
		killat --delay-us "${how//[!0-9]/}" -- "$NETFENCE" detach --cgroup "$TCG"
	else
		k=$((1 + $(rand 18)))
		after=$(rand 300)
		how="file event $k +${after}us"
		killat --watch "$PIN" --on-event "$k" --after-us "$after" -- \
			"$NETFENCE" detach --cgroup "$TCG"
	fi
	name="detach killed #$i ($how, killed=$KILLED)"
	if ! check_state "$TCG" "$TCG_ID" A CLOSED OPENING NONE_ANY; then
		t_fail "$name" "$WHY; status '$ST'"
		"$NETFENCE" detach --cgroup "$TCG" >/dev/null 2>&1
		attach_t "${POL_A[@]}" >/dev/null 2>&1
		continue
	fi
	note "$CLASS"
	after_kill="$CLASS (status '$ST')"
	if ((i % 2)); then
		recover_attach A "${POL_A[@]}"
	else
		recover_detach && recover_attach A "${POL_A[@]}"
	fi
	if [[ -n $WHY ]]; then
		t_fail "$name: left $after_kill" "$WHY"
		"$NETFENCE" detach --cgroup "$TCG" >/dev/null 2>&1
		attach_t "${POL_A[@]}" >/dev/null 2>&1
	else
		t_pass "$name: left $after_kill, recovered"
	fi
done
echo "detach killed: $(seen_summary)"
"$NETFENCE" detach --cgroup "$TCG" >/dev/null 2>&1

echo "time: 1d at ${SECONDS}s"
# --------------------------------------------------------------------------
# 1d. the cgroup is removed after a killed attach: detach by its path
# --------------------------------------------------------------------------
# `detach --cgroup PATH` of a cgroup that no longer exists finds the policy
# by the path recorded in it. An attach killed between creating its
# directory and pinning the record leaves a directory without one.
left=0
empty=0
for ((i = 1; i <= 6; i++)); do
	GCG=$(make_cgroup "gone$i") || exit 1
	gid=$(stat -c %i "$GCG")
	killat --watch "$PIN" --on-name tmp-cg- --after-us "$(rand 1500)" -- \
		"$NETFENCE" attach --cgroup "$GCG" "${COMMON[@]}" "${POL_B[@]}"
	rmdir "$GCG"
	"$NETFENCE" detach --cgroup "$GCG" >/dev/null 2>&1
	for d in "$PIN"/*cg-"$gid"; do
		[[ -d $d ]] || continue
		if [[ -z $(ls "$d") ]]; then
			empty=$((empty + 1))	# no record of the path: see below
		else
			left=$((left + 1))
			echo "  trial $i left: $d: $(ls "$d" | tr '\n' ' ')"
		fi
		rm -rf "$d"
	done
done
assert_eq "killed attach, cgroup removed: detach by path removes the policy ($empty of 6 left an empty directory)" \
	"$left" 0
# The same state, made on purpose: a policy directory with nothing in it
# yet (what a kill right after its mkdir leaves).
GCG=$(make_cgroup gone0) || exit 1
gid=$(stat -c %i "$GCG")
mkdir "$PIN/tmp-cg-$gid"
rmdir "$GCG"
st=$(st_info "$gid")
assert_match "an empty policy directory is shown by status" "$st" '^1 incomplete '
out=$("$NETFENCE" -j cleanup --dry-run 2>/dev/null)
assert_match "cleanup would remove it" "$out" "\"name\":\"tmp-cg-$gid\""
"$NETFENCE" detach --cgroup "$GCG" >/dev/null 2>&1
assert_eq "an empty policy directory of a removed cgroup: detach by path removes it [bug: no record to match]" \
	"$(pins_of "$gid")" 0
rm -rf "$PIN/tmp-cg-$gid"
GCG=''

echo "time: 2 at ${SECONDS}s"
# --------------------------------------------------------------------------
# 2. concurrent attach/detach of one cgroup (flock)
# --------------------------------------------------------------------------
# A in force; attach B and detach at the same moment: B (detach first) or
# nothing (attach first), both exit 0. From nothing, attach A and attach B
# at once: one attaches, the other replaces; the end is A or B, complete.
SEEN=()
bad=0
for ((i = 1; i <= N_PAIRS; i++)); do
	attach_t "${POL_A[@]}" >/dev/null 2>&1
	attach_t "${POL_B[@]}" >"$TDIR/p1.out" 2>&1 &
	p1=$!
	"$NETFENCE" detach --cgroup "$TCG" >"$TDIR/p2.out" 2>&1 &
	p2=$!
	wait $p1
	r1=$?
	wait $p2
	r2=$?
	if ! check_state "$TCG" "$TCG_ID" B NONE || ((r1 || r2)); then
		bad=$((bad + 1))
		t_fail "attach B || detach #$i" "exits $r1/$r2, $CLASS ($VEC) ${WHY:-} status '$ST': $(cat "$TDIR/p1.out" "$TDIR/p2.out")"
	else
		note "attach||detach:$CLASS"
		[[ $CLASS == B && $(pins_of "$TCG_ID") != 1 ]] && {
			bad=$((bad + 1))
			t_fail "attach B || detach #$i" "B in force with $(pins_of "$TCG_ID") policy directories"
		}
	fi
	"$NETFENCE" detach --cgroup "$TCG" >/dev/null 2>&1
done
for ((i = 1; i <= N_PAIRS / 2; i++)); do
	attach_t "${POL_A[@]}" >"$TDIR/p1.out" 2>&1 &
	p1=$!
	attach_t "${POL_B[@]}" >"$TDIR/p2.out" 2>&1 &
	p2=$!
	wait $p1
	r1=$?
	wait $p2
	r2=$?
	kinds=$(cat "$TDIR/p1.out" "$TDIR/p2.out" | grep -c '^attached to')
	if ! check_state "$TCG" "$TCG_ID" A B || ((r1 || r2 || kinds != 1)); then
		bad=$((bad + 1))
		t_fail "attach A || attach B #$i" "exits $r1/$r2, $kinds first attaches, $CLASS ($VEC) ${WHY:-}: $(cat "$TDIR/p1.out" "$TDIR/p2.out")"
	else
		note "attach||attach:$CLASS"
	fi
	"$NETFENCE" detach --cgroup "$TCG" >/dev/null 2>&1
done
assert_eq "$N_PAIRS attach||detach and $((N_PAIRS / 2)) attach||attach pairs end consistent ($(seen_summary))" "$bad" 0

echo "time: 1e at ${SECONDS}s"
# --------------------------------------------------------------------------
# 1e. kill -9 during `netfence run`
# --------------------------------------------------------------------------
# run_trial MODE NAME KILLAT-ARGS... -- RUN-ARGS...: a run (its command
# sleeps) killed by killat; then what it left: the agent cgroup under the
# complete policy, a closed gate or (nothing attached) none; status shows
# every policy left; `cleanup --dry-run` names the dead run; then this test
# removes it (detach first, then the processes) and nothing is left.
# MODE ns: the policy is POL_B, probed with the six probes from the agent
# netns. MODE lo: the embedded Squid's policy, probed on loopback (a TCP
# port and UDP that it refuses).
run_trial() {
	local mode=$1 name=$2 ka=() pid base agent id= lst= cls=- why= left items vec
	shift 2
	while [[ $1 != -- ]]; do ka+=("$1"); shift; done
	shift
	killat "${ka[@]}" -- "$NETFENCE" run "$@" -- sleep 30
	pid=$(json_field "$KAT" pid) || pid=
	if [[ -z $pid ]]; then
		t_fail "$name" "killat said: $KAT $(cat "$TDIR/killat.err")"
		return
	fi
	echo "$pid" >>"$TDIR/runs"
	base=$CG2/netfence-run-$pid
	agent=$base/agent
	items=
	[[ -d $base ]] && items+="cgroup "
	[[ -n $(cat "$agent/cgroup.procs" 2>/dev/null) ]] && items+="command "
	[[ -n $(cat "$base/proxy/cgroup.procs" 2>/dev/null) ]] && items+="squid "
	compgen -G "/tmp/netfence-run-$pid-*" >/dev/null && items+="rundir "
	compgen -G "/dev/shm/nf${pid}r*" >/dev/null && items+="shm "
	if [[ -d $agent ]]; then
		id=$(stat -c %i "$agent")
		(($(pins_of "$id"))) && items+="pins "
		if [[ $mode == ns ]]; then
			check_state "$agent" "$id" B CLOSED NONE || why=$WHY
			cls=$CLASS
		else
			PROBE_NS=-
			vec="$(probe_token "$agent" 9 127.0.0.1 9) $(probe_token "$agent" 9 --udp 127.0.0.1 9)"
			PROBE_NS=
			PROGS=$(progs_on "$agent")
			ST=$(st_info "$id")
			case "$vec" in
			"X X") cls=POLICY ;;
			"C T") cls=NONE ;;
			*) cls=MIXED ;;
			esac
			if [[ $cls == MIXED ]]; then
				why="partial policy: TCP/UDP probes '$vec'"
			elif [[ $cls == NONE ]] && ((PROGS > 0)); then
				why="nothing enforced but $PROGS programs attached"
			elif [[ $cls == POLICY && ! $ST =~ ^1\ (enforcing|closed|incomplete) ]]; then
				why="refused but status says '$ST'"
			fi
		fi
		lst=$ST
		if [[ -z $why ]] && ((PROGS > 0)) && [[ ${ST%% *} == 0 ]]; then
			why="$PROGS programs attached, status shows nothing"
		fi
		out=$("$NETFENCE" -j cleanup --dry-run 2>/dev/null)
		if [[ -z $why && $out != *"\"$base\""* ]]; then
			why="cleanup --dry-run does not name $base: $out"
		fi
		# removal: the policy first (the command stays confined), then the rest
		"$NETFENCE" detach --cgroup "$agent" >/dev/null 2>&1
	fi
	run_leftovers_remove "$pid"
	left=$(ls -d "$base" /tmp/netfence-run-"$pid"-* /dev/shm/nf"$pid"r* \
		${id:+"$PIN"/*cg-"$id"} 2>/dev/null | tr '\n' ' ')
	[[ -z $why && -n $left ]] && why="left after detach and removal: $left"
	note "$cls"
	if [[ -n $why ]]; then
		t_fail "$name (killed=$KILLED, left: ${items:-nothing})" "$why; status '$lst'"
	else
		t_pass "$name (killed=$KILLED): left ${items:-nothing}, policy $cls; removed"
	fi
}

SEEN=()
RUN_POL=(--proxy "$GW_IP:3129" --proxy-cgroup "$PROXY_CG" --dns-servers "$GW_IP"
	--loopback allow "${POL_B[@]}")
T_RUN=$(duration_us "$NETFENCE" run "${RUN_POL[@]}" -- true)
for ((i = 1; i <= N_RUN; i++)); do
	if ((i % 2)); then
		d=$(rand $((T_RUN + 1)))
		run_trial ns "run (own proxy) killed #$i (delay ${d}us)" --delay-us "$d" -- "${RUN_POL[@]}"
	else
		a=$(rand 2500)
		run_trial ns "run (own proxy) killed #$i (tmp-cg- +${a}us)" --watch "$PIN" \
			--on-name tmp-cg- --after-us "$a" -- "${RUN_POL[@]}"
	fi
done
T_RUNSQ=$(duration_us "$NETFENCE" run --allow-domains web.test --dns-servers "$GW_IP" -- true)
echo "durations: run ${T_RUN}us, run with Squid ${T_RUNSQ}us"
for ((i = 1; i <= N_RUN_SQUID; i++)); do
	d=$(rand $((T_RUNSQ + 200000)))
	run_trial lo "run (embedded Squid) killed #$i (delay ${d}us)" --delay-us "$d" -- \
		--allow-domains web.test --dns-servers "$GW_IP"
done
echo "run killed: $(seen_summary)"
cat <<'EOF'
INFO: what a killed `netfence run` leaves, for `netfence cleanup`:
INFO:   $CG2/netfence-run-<pid>/{agent,proxy}: the command and Squid, still running
INFO:   the agent's policy pins (cg-<agent cgroup id>, or tmp-cg-<id>) in the pin root
INFO:   /tmp/netfence-run-<pid>-XXXXXX (Squid's config, certificate, logs) and
INFO:   /dev/shm/nf<pid>r<random>-*.shm (Squid's segments); <pid> is the dead netfence's
EOF

echo "time: 3 at ${SECONDS}s"
# --------------------------------------------------------------------------
# 3. Squid killed while `netfence run` is going
# --------------------------------------------------------------------------
# The run (and so its Squid) in the agent namespace; the agent fetches a
# page through Squid in a loop. Squid is killed: every fetch that starts
# after that fails (connection refused), none reaches the origin directly;
# run notices, exits non-zero and removes everything.
cat >"$TDIR/hosts" <<EOF
$ORIGIN2 web.test
EOF
# The agent ignores SIGTERM and fetches for 5 s at most: run must still
# stop it soon after Squid dies.
cat >"$TDIR/agent.sh" <<EOF
trap '' TERM
end=\$((SECONDS + 5))
while ((SECONDS < end)); do
	t=\$(date +%s%N)
	c=\$(curl -s -o /dev/null -m 1 -w '%{http_code}' --resolve web.test:80:$ORIGIN2 http://web.test/)
	echo "\$t \$c" >>$TDIR/fetches
	sleep 0.05
done
EOF
: >"$TDIR/fetches"
chmod 644 "$TDIR/agent.sh"
chmod 666 "$TDIR/fetches"
bg_start sqrun nsenter --net="/run/netns/$AGENT_NS" -- "$NETFENCE" run \
	--allow-domains web.test --hosts-file "$TDIR/hosts" --dns-servers "$GW_IP" \
	-- bash "$TDIR/agent.sh"
sqpid=$(bg_pid sqrun)
squid=
for ((i = 0; i < 200; i++)); do
	squid=$(head -1 "$CG2/netfence-run-$sqpid/proxy/cgroup.procs" 2>/dev/null)
	[[ -n $squid ]] && grep -q ' 200$' "$TDIR/fetches" && break
	sleep 0.05
done
assert_match "run: the agent fetches through Squid" "$(grep -c ' 200$' "$TDIR/fetches")" '^[1-9]'
rundir=$(tr '\0' ' ' <"/proc/$squid/cmdline" 2>/dev/null | grep -o '/tmp/netfence-run-[^ ]*/' | head -1)
agent_id=$(stat -c %i "$CG2/netfence-run-$sqpid/agent" 2>/dev/null)
t_kill=$(date +%s%N)
[[ -n $squid ]] && kill -KILL "$squid"
sleep 0.3
hits=$(grep -c '^http ' "$TDIR/web.err")
bg_wait sqrun 20
rc=$?
t_end=$(date +%s%N)
assert_eq "run exits 1 when its Squid dies" "$rc" 1
assert_match "run says why" "$(cat "$TDIR/sqrun.err")" "Squid exited"
after=$(awk -v t="$t_kill" '$1 > t' "$TDIR/fetches")
assert_eq "after Squid died no fetch succeeded (closed, never open): $(grep -c . <<<"$after") tried" \
	"$(grep -c ' 200$' <<<"$after")" 0
assert_eq "no connection reached the origin after Squid died" \
	"$(grep -c '^http ' "$TDIR/web.err")" "$hits"
assert_match "run stopped the agent (it ignores SIGTERM) within 3 s of Squid's death, took $(((t_end - t_kill) / 1000000)) ms [bug: SIGTERM only, then waits]" \
	"$(((t_end - t_kill) < 3000000000))" 1
assert_eq "run removed its cgroups, run directory, pins and Squid" \
	"$(ls -d "$CG2/netfence-run-$sqpid" "${rundir:-/nonexistent}" /dev/shm/nf"$sqpid"r* \
		"$PIN"/*cg-"${agent_id:-x}" 2>/dev/null | wc -l):$(kill -0 "$squid" 2>/dev/null && echo alive)" "0:"

echo "time: 4 at ${SECONDS}s"
# --------------------------------------------------------------------------
# 4. Load: the record map overfilled, ports exhausted, many processes,
#    10,000 sockets
# --------------------------------------------------------------------------
# The agent cgroup M goes to the strict stand-in proxy (stops on the first
# failed lookup); the filler F redirects to ports where nothing listens, so
# every record it stores is never read. Only M's policy answers lookups.
# Both without a limit on open connections (--max-connections 0): the load
# here is many connections at once on purpose.
"$NETFENCE" attach --cgroup "$MCG" --proxy "$GW_IP:3140" --proxy-cgroup "$SPROXY_CG" \
	--dns-servers "$GW_IP" --redirect-ports 80 --max-connections 0 >/dev/null
assert_eq "load: agent policy attached" "$?" 0
MCG_ID=$(stat -c %i "$MCG")
FCG_ID=$(stat -c %i "$FCG")
ORIG="ORIG $ORIGIN1:80"

# counter NAME ID: a counter of the policy of cgroup ID
counter() {
	"$NETFENCE" -j status 2>/dev/null | "$PY" -c '
import json, sys
for e in json.load(sys.stdin):
    if e["pin_dir"] == "cg-" + sys.argv[2]:
        print(e["counters"][sys.argv[1]])' "$1" "$2"
}
jget() { json_field "$1" "$2" || echo "?"; }

echo "time: 4a at ${SECONDS}s"
# 4a. 120,000 records nobody reads: 6 x 20,000 connects, each batch to
# another proxy port where nothing listens (connect() reuses the agent's
# even ports per destination, ~14,000 of them: 6 destinations give far more
# distinct 4-tuples than the map's 65,536 slots).
for port in 4001 4002 4003 4004 4005 4006; do
	"$NETFENCE" attach --cgroup "$FCG" --proxy "$GW_IP:$port" --dns-servers "$GW_IP" \
		--redirect-ports 80 --max-connections 0 >/dev/null
	"$NFPROBE" -c "$FCG" -n "$AGENT_NS" storm --count 20000 "$ORIGIN1" 80 \
		>"$TDIR/storm.$port" 2>&1
done
stored=$(counter orig_stored "$FCG_ID")
assert_eq "filler: 120,000 records stored, none failed" \
	"$stored:$(counter orig_store_fail "$FCG_ID"):$(counter redirect "$FCG_ID")" "120000:0:120000"
entries=$(bpftool -j map dump pinned "$PIN/orig4" 2>/dev/null |
	"$PY" -c 'import json, sys; print(len(json.load(sys.stdin)))')
assert_match "the shared record map overflowed and evicted (65,536 slots, LRU): $entries records in it" \
	"$((entries > 50000 && entries <= 65536))" 1
r0=$(counter redirect "$MCG_ID")
s0=$(counter orig_stored "$MCG_ID")
h0=$(counter orig_hit "$MCG_ID")
out=$("$NFSTRESS" -c "$MCG" -n "$AGENT_NS" forks --count 300 --parallel 8 \
	--expect "$ORIG" "$ORIGIN1" 80)
assert_eq "map full: 300 new redirected connections all get their destination (eviction)" \
	"$(jget "$out" match)" 300
# and while the filler keeps storming
"$NFPROBE" -c "$FCG" -n "$AGENT_NS" storm --count 20000 "$ORIGIN1" 80 >"$TDIR/storm.bg" 2>&1 &
storm=$!
out=$("$NFSTRESS" -c "$MCG" -n "$AGENT_NS" forks --count 500 --parallel 8 \
	--expect "$ORIG" "$ORIGIN1" 80)
wait $storm
assert_eq "map full and filling: 500 redirected connections during a 20,000-record storm" \
	"$(jget "$out" match)" 500
out=$("$NFPROBE" -n "$HOST_NS" connect --timeout 1500 "$GW_IP" 3140)
assert_eq "a lookup miss is answered 127.0.0.1:1" "$(json_field "$out" reply)" "ORIG 127.0.0.1:1"
out=$("$NFPROBE" -c "$MCG" -n "$AGENT_NS" connect --timeout 1500 "$ORIGIN1" 80)
assert_eq "the strict proxy still serves after the miss" "$(json_field "$out" reply)" "$ORIG"
assert_eq "counters: redirects, records stored and lookups answered = 801 connects" \
	"$(($(counter redirect "$MCG_ID") - r0)):$(($(counter orig_stored "$MCG_ID") - s0)):$(($(counter orig_hit "$MCG_ID") - h0))" \
	"801:801:801"
"$NETFENCE" detach --cgroup "$FCG" >/dev/null

echo "time: 4b at ${SECONDS}s"
# 4b. ephemeral ports exhausted in the agent namespace (100 ports)
ip netns exec "$AGENT_NS" sysctl -qw net.ipv4.ip_local_port_range="40000 40099"
echo "time: 4b sysctl at ${SECONDS}s"
r0=$(counter redirect "$MCG_ID")
s0=$(counter orig_stored "$MCG_ID")
d0=$(counter deny_port "$MCG_ID")
"$NFSTRESS" -c "$MCG" -n "$AGENT_NS" hold --count 150 --timeout-ms 5000 --hold-ms 2500 \
	--expect "$ORIG" "$ORIGIN1" 80 >"$TDIR/hold.out" 2>&1 &
holder=$!
sleep 1.2
p_red=$(probe_token "$MCG" 80 "$ORIGIN1" 80)
p_ref=$(probe_token "$MCG" 7000 "$ORIGIN1" 7000)
p_udp=$(probe_token "$MCG" 5353 --udp "$ORIGIN2" 5353)
wait $holder
echo "time: 4b held at ${SECONDS}s"
out=$(cat "$TDIR/hold.out")
m=$(jget "$out" match)
e=$(jget "$out" eaddrnotavail)
assert_eq "ports exhausted: every connect redirected (match) or out of ports, nothing else" \
	"$((m + e)):$(jget "$out" mismatch):$(jget "$out" other):$(jget "$out" timeout)" "150:0:0:0"
assert_match "ports exhausted: $m connected, $e out of ports" "$((m >= 50 && e >= 50))" 1
assert_eq "while exhausted: redirect fails (no port), refused port still EPERM, UDP still EPERM" \
	"$p_red $p_ref $p_udp" "A X X"
assert_eq "while exhausted: counters: 151 redirects, $m records, 1 refusal" \
	"$(($(counter redirect "$MCG_ID") - r0)):$(($(counter orig_stored "$MCG_ID") - s0)):$(($(counter deny_port "$MCG_ID") - d0))" \
	"151:$m:1"
ip netns exec "$AGENT_NS" sysctl -qw net.ipv4.ip_local_port_range="32768 60999"
assert_eq "ports back: a redirected connection works" "$(probe_token "$MCG" 80 "$ORIGIN1" 80)" R

echo "time: 4c at ${SECONDS}s"
# 4c. thousands of short-lived processes in the cgroup (a process costs
# ~10 ms here: 2,000 in all)
r0=$(counter redirect "$MCG_ID")
d0=$(counter deny_port "$MCG_ID")
"$NFSTRESS" -c "$MCG" -n "$AGENT_NS" forks --count 1000 --parallel 16 \
	--expect "$ORIG" "$ORIGIN1" 80 >"$TDIR/forks1" &
f1=$!
"$NFSTRESS" -c "$MCG" -n "$AGENT_NS" forks --count 1000 --parallel 16 \
	"$ORIGIN1" 7000 >"$TDIR/forks2" &
f2=$!
wait $f1 $f2
assert_eq "1,000 processes: every redirected connect got its destination" \
	"$(jget "$(cat "$TDIR/forks1")" match)" 1000
assert_eq "1,000 more at the same time: every connect to a refused port got EPERM" \
	"$(jget "$(cat "$TDIR/forks2")" eperm)" 1000
assert_eq "counters: 1,000 redirects, 1,000 refusals" \
	"$(($(counter redirect "$MCG_ID") - r0)):$(($(counter deny_port "$MCG_ID") - d0))" "1000:1000"

echo "time: 4d at ${SECONDS}s"
# 4d. an agent that opens 10,000 sockets at once
r0=$(counter redirect "$MCG_ID")
s0=$(counter orig_stored "$MCG_ID")
h0=$(counter orig_hit "$MCG_ID")
out=$(ulimit -n 10100 && "$NFSTRESS" -c "$MCG" -n "$AGENT_NS" hold --count 10000 \
	--timeout-ms 30000 --expect "$ORIG" "$ORIGIN1" 80)
assert_eq "10,000 sockets at once (ulimit -n 10100): all redirected with their destination" \
	"$(jget "$out" sockets):$(jget "$out" match)" "10000:10000"
assert_eq "counters: 10,000 redirects, records and lookups" \
	"$(($(counter redirect "$MCG_ID") - r0)):$(($(counter orig_stored "$MCG_ID") - s0)):$(($(counter orig_hit "$MCG_ID") - h0))" \
	"10000:10000:10000"
out=$(ulimit -n 1000 && "$NFSTRESS" -c "$MCG" -n "$AGENT_NS" hold --count 1200 \
	--timeout-ms 10000 --expect "$ORIG" "$ORIGIN1" 80)
assert_eq "past the fd limit: sockets fail with EMFILE, the rest are redirected" \
	"$(($(jget "$out" emfile) > 0)):$(($(jget "$out" match) + $(jget "$out" emfile)))" "1:1200"

assert_eq "no lookup ever failed at the strict stand-in proxy" \
	"$(grep -c ORIGERR "$TDIR/sproxy.err")" 0
out=$("$NFPROBE" -c "$MCG" -n "$AGENT_NS" connect --timeout 1500 "$ORIGIN1" 80)
assert_eq "the strict proxy is still accepting at the end" "$(json_field "$out" reply)" "$ORIG"
"$NETFENCE" detach --cgroup "$MCG" >/dev/null

# --------------------------------------------------------------------------
# Nothing left
# --------------------------------------------------------------------------
assert_eq "no policy directory left in the pin root" \
	"$(find "$PIN" -mindepth 1 -maxdepth 1 -name '*cg-*' | wc -l)" 0
leftover_runs=
while read -r pid; do
	[[ -n $pid ]] && leftover_runs+=$(ls -d "$CG2/netfence-run-$pid" /tmp/netfence-run-"$pid"-* 2>/dev/null)
done <"$TDIR/runs"
assert_eq "no run cgroup or directory of this test left" "$leftover_runs" ""

echo "time: end at ${SECONDS}s"
t_summary
