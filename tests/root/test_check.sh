#!/usr/bin/env bash
# netfence check on the real kernel: it passes here, -j is valid JSON with
# every probe, a missing feature fails it with its own line, and it leaves no
# cgroup, BPF program or pin of its own behind (also when it is killed, or
# when an earlier check was).
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_env

if ! command -v jq >/dev/null 2>&1; then
	t_fail "$NFT_NAME: environment" "jq is not installed (Debian package jq)"
	t_summary
	exit 1
fi

# What a check could leave behind, from outside: its cgroups, its tiny
# programs (named nfchk_probe), top-level bpffs entries (a pinned-by-name map).
check_cgroups() {
	find "$CG2" -maxdepth 1 -type d -name 'netfence-check-*' 2>/dev/null | sort
}
nfchk_progs() {
	bpftool prog show -j 2>/dev/null | jq -r '.[] | select(.name == "nfchk_probe") | .id'
}
bpffs_top() {
	local bpffs
	bpffs=$(awk '$3 == "bpf" { print $2; exit }' /proc/mounts)
	[ -n "$bpffs" ] || return 0
	find "$bpffs" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort
}
# new_in_bpffs BEFORE: top-level bpffs entries that were not there before,
# other tests' and benchmarks' pin roots (NAME-PID) aside
new_in_bpffs() {
	comm -13 <(printf '%s\n' "$1") <(bpffs_top) | grep -vE '^[a-z]+-[0-9]+$' |
		grep -v '^$' | tr '\n' ' '
}
max_prog_id() {
	bpftool prog show -j 2>/dev/null | jq '[.[].id] | max // 0'
}
# Other tests' and benchmarks' BPF state, which comes and goes meanwhile.
# (a NAME-PID cgroup or pin root, with or without a -suffix; netfence run's)
OTHERS='/([a-z]+|netfence-run)-[0-9]+([-/]|$)'
# prog ids held open by any process (fdinfo of prog and link fds)
held_prog_ids() {
	grep -h '^prog_id:' /proc/[0-9]*/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -u
}
# suspects MAXID: programs loaded after MAXID that no live process holds and
# that are neither pinned nor attached where other tests keep theirs.
suspects() {
	local maxid=$1 id held others
	held=" $(held_prog_ids | tr '\n' ' ') "
	others=" $(bpftool cgroup tree -j 2>/dev/null | jq -r --arg o "$OTHERS" \
		'.[] | select(.cgroup | test($o)) | .programs[].id' | tr '\n' ' ') "
	for id in $(bpftool -f prog show -j 2>/dev/null | jq -r --argjson m "$maxid" \
		--arg o "$OTHERS" '.[] | select(.id > $m)
		| select([.pinned[]? | select(test($o))] | length == 0) | .id'); do
		[[ $held == *" $id "* || $others == *" $id "* ]] || echo "$id"
	done
}
# new_orphans MAXID: suspects that stay suspects over a second: a program a
# check left would (attached or pinned somewhere); others' churn does not.
new_orphans() {
	local maxid=$1 cur id keep left
	# the usual case, cheaply: no program newer than MAXID at all (freed
	# ones may take a moment to go)
	for _ in 1 2 3 4 5; do
		[ "$(max_prog_id)" -le "$maxid" ] && return 0
		sleep 0.1
	done
	left=" $(suspects "$maxid" | tr '\n' ' ') "
	for _ in 1 2 3 4; do
		[[ -z ${left// /} ]] && break
		sleep 0.3
		cur=" $(suspects "$maxid" | tr '\n' ' ') "
		keep=" "
		for id in $left; do
			[[ $cur == *" $id "* ]] && keep+="$id "
		done
		left=$keep
	done
	read -r -a left <<<"$left"
	echo "${left[*]}"
}
# no_leftovers NAME MAXID CGROUPS_BEFORE BPFFS_BEFORE
no_leftovers() {
	local name=$1 maxid=$2 cg_before=$3 fs_before=$4 left
	left=
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		left=$(nfchk_progs)
		[ -z "$left" ] && break
		sleep 0.2
	done
	assert_eq "$name: none of its tiny programs is left" "$left" ""
	assert_eq "$name: no program it loaded is left" "$(new_orphans "$maxid")" ""
	assert_eq "$name: no cgroup of its own is left" "$(check_cgroups)" "$cg_before"
	assert_eq "$name: nothing new in bpffs" "$(new_in_bpffs "$fs_before")" ""
}

cg_before=$(check_cgroups)
fs_before=$(bpffs_top)

# --- it passes here ------------------------------------------------------------
maxid=$(max_prog_id)
out=$("$NETFENCE" check 2>"$TDIR/check.err")
rc=$?
if [ "$rc" -ne 0 ]; then
	t_fail "netfence check exits 0" "exit $rc: $(grep -E '^  (missing|unchecked)' <<<"$out")"
else
	t_pass "netfence check exits 0"
fi
assert_match "its last line says everything is here" "$(tail -n 1 <<<"$out")" \
	'^ok: everything netfence needs is here \([0-9]+ probes'
assert_eq "nothing on stderr" "$(cat "$TDIR/check.err")" ""
no_leftovers "check" "$maxid" "$cg_before" "$fs_before"

# --- -j: valid JSON, every probe ----------------------------------------------------
maxid=$(max_prog_id)
json=$("$NETFENCE" -j check)
rc=$?
assert_eq "check -j exits 0" "$rc" 0
if jq -e . >/dev/null 2>&1 <<<"$json"; then
	t_pass "check -j is valid JSON"
else
	t_fail "check -j is valid JSON" "$json"
fi
assert_eq "check -j: ok is true" "$(jq -r .ok <<<"$json")" true
assert_eq "check -j: nothing missing" "$(jq -c .missing <<<"$json")" "[]"
assert_eq "check -j: every probe has name, title, required, status, detail" \
	"$(jq '(.probes | length) as $n | [.probes[] | select((.name|type) == "string"
		and (.title|type) == "string" and (.required|type) == "boolean"
		and (.detail|length) > 0
		and (.status | IN("present", "missing", "warning", "unchecked", "skipped")))]
		| length == $n and $n > 0' <<<"$json")" true
names=" $(jq -r '.probes[].name' <<<"$json" | tr '\n' ' ') "
want="root cap_sys_admin cap_bpf cap_net_admin btf cgroup2 cgroup_v1_net bpffs
	map_ringbuf map_sk_storage map_lru_hash map_array_of_maps
	prog_cgroup_sock_addr prog_cgroup_sockopt cgroup_links
	attach_cgroup_inet4_connect attach_cgroup_inet6_connect
	attach_cgroup_udp4_sendmsg attach_cgroup_udp6_sendmsg
	attach_cgroup_getsockopt hooks_fire programs_load programs_attach squid"
absent=
for n in $want; do
	[[ $names == *" $n "* ]] || absent+="$n "
done
assert_eq "check -j has every probe" "$absent" ""
assert_eq "check -j: every required probe is present" \
	"$(jq -r '.probes[] | select(.required and .status != "present") | .name' <<<"$json")" ""
assert_eq "human and JSON list the same probes" \
	"$(grep -c '^  [a-z]' <<<"$out")" "$(jq '.probes | length' <<<"$json")"
no_leftovers "check -j" "$maxid" "$cg_before" "$fs_before"

# --- Squid: a missing one fails the check, --no-squid skips it --------------------
out=$(NETFENCE_SQUID=/nonexistent/squid "$NETFENCE" check)
assert_eq "no Squid: check exits 1" "$?" 1
# shellcheck disable=SC2016 # backquotes: literal text
assert_match "no Squid: its line says missing and why" "$out" \
	'  missing   Squid with ssl-bump: /nonexistent/squid: No such file or directory: `netfence run` without --proxy'
assert_match "no Squid: the last line says attach still works" "$(tail -n 1 <<<"$out")" \
	'^missing: Squid with ssl-bump: .*attach works'
json=$(NETFENCE_SQUID=/nonexistent/squid "$NETFENCE" -j check)
assert_eq "no Squid: -j lists it missing" "$(jq -c '[.ok, .missing]' <<<"$json")" '[false,["squid"]]'
out=$(NETFENCE_SQUID=/nonexistent/squid "$NETFENCE" check --no-squid)
assert_eq "no Squid, --no-squid: check exits 0" "$?" 0
assert_match "--no-squid: the line says skipped" "$out" '  skipped   Squid with ssl-bump: '
out=$(NETFENCE_SQUID=/bin/true "$NETFENCE" check)
assert_eq "a Squid without ssl-bump fails the check" "$?" 1
assert_match "... and its line says so" "$out" 'built without --with-openssl'

# --- usage ---------------------------------------------------------------------------
"$NETFENCE" check --bogus >/dev/null 2>"$TDIR/usage.err"
assert_eq "an unknown flag exits 2" "$?" 2
assert_eq "... with one Error line" "$(cat "$TDIR/usage.err")" "Error: unknown option '--bogus'"
assert_match "check --help" "$("$NETFENCE" check --help)" '^Usage: netfence check \[--no-squid\]'
assert_match "netfence --help lists check" "$("$NETFENCE" --help)" $'\n  check    '

# --- not root: it says so and touches nothing --------------------------------------
if command -v setpriv >/dev/null 2>&1; then
	maxid=$(max_prog_id)
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$NETFENCE" check 2>&1)
	assert_eq "as nobody: check exits 1" "$?" 1
	assert_match "as nobody: root is missing" "$out" '  missing   root: running as uid 65534'
	assert_match "as nobody: the BPF probes say why they were not run" "$out" \
		'  unchecked hooks fire: not checked: needs root'
	json=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$NETFENCE" -j check 2>/dev/null)
	assert_eq "as nobody: -j is valid JSON, not ok" "$(jq -r .ok <<<"$json" 2>&1)" false
	no_leftovers "check as nobody" "$maxid" "$cg_before" "$fs_before"
else
	t_skip "check as nobody" "setpriv (util-linux) not installed"
fi

# --- a cgroup left by a killed check is removed by the next one --------------------
dead=
for ((p = 4194000; p > 4190000; p--)); do
	[ -e "/proc/$p" ] || { dead=$p; break; }
done
stale=$CG2/netfence-check-$dead
on_cleanup "rmdir '$stale' 2>/dev/null || true"
if mkdir "$stale"; then
	"$NETFENCE" check --no-squid >/dev/null 2>&1
	assert_eq "a stale netfence-check cgroup of a dead pid is removed" \
		"$([ -d "$stale" ] && echo left || echo removed)" removed
else
	t_fail "a stale netfence-check cgroup of a dead pid is removed" "mkdir $stale failed"
fi

# --- killed while it runs: still nothing left ------------------------------------------
maxid=$(max_prog_id)
for delay in 0 0.01 0.03 0.06 0.1 0.2; do
	bg_start "killed-$delay" "$NETFENCE" check --no-squid
	sleep "$delay"
	bg_stop "killed-$delay" TERM
done
no_leftovers "check killed by SIGTERM" "$maxid" "$cg_before" "$fs_before"

t_summary
