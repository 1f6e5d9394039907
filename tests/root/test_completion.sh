#!/usr/bin/env bash
# Bash completion in a real bash, typed into a tmux pane and read back from
# the screen: commands, flags per command, --loopback's words, cgroup paths
# under the cgroup2 mount, the attached cgroups for `detach --cgroup` (from
# `netfence -j status`: root only), and the command after `run --`.
#
# The shell starts with an empty environment, --norc, and an inputrc of its
# own (no bell, no "Display all N possibilities?" question), with `netfence`
# on its PATH and completion/netfence.bash sourced. Everything (the tmux
# server on a socket of its own, the cgroups, the policy and its pins) is
# removed at the end.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COMP=$NFT_ROOT/completion/netfence.bash
if ! command -v tmux >/dev/null; then
	t_fail "needs tmux" "scripts/install-deps.sh installs it"
	t_summary
	exit 1
fi
if [[ ! -x $NETFENCE ]]; then
	t_fail "needs $NETFENCE" "run make"
	t_summary
	exit 1
fi

private_pins
mkdir -p "$TDIR/bin"
ln -s "$NETFENCE" "$TDIR/bin/netfence"
cat >"$TDIR/inputrc" <<'EOF'
set bell-style none
set completion-query-items 10000
set page-completions off
set show-all-if-ambiguous off
EOF

# the server's socket in the work dir: removed with it
export TMUX_TMPDIR=$TDIR
TM=(tmux -L "nft-$$" -f /dev/null)
on_cleanup '"${TM[@]}" kill-server 2>/dev/null'
"${TM[@]}" new-session -d -s c -x 200 -y 50 -c "$TDIR" \
	env -i HOME="$TDIR" TERM=xterm LANG=C.UTF-8 \
	PATH="$TDIR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
	INPUTRC="$TDIR/inputrc" NETFENCE_PIN_ROOT="$NETFENCE_PIN_ROOT" \
	bash --norc --noprofile || {
	t_fail "tmux new-session" "could not start tmux"
	t_summary
	exit 1
}

screen() {
	"${TM[@]}" capture-pane -p -t c
}

# nap: 50 ms without a fork (sleep(1) costs more than that on a busy box)
mkfifo "$TDIR/nap"
exec {NAPFD}<>"$TDIR/nap"
nap() {
	read -r -t 0.05 -u "$NAPFD"
}

# keys KEY...: tmux key names (Tab, Enter, C-u) or literal text (-l TEXT)
keys() {
	"${TM[@]}" send-keys -t c "$@"
}

# prompt_line: the last line of the screen that starts with the prompt
prompt_line() {
	screen | grep '^\$ ' | tail -n 1
}

# wait_prompt_end TEXT: wait (at most 5 s) until the prompt line ends with
# TEXT. bash reads the keys in order, so when the last key typed shows, the
# completions the Tabs before it asked for are on the screen.
wait_prompt_end() {
	local i l

	for ((i = 0; i < 100; i++)); do
		l=$(prompt_line)
		[[ $l == *"$1" ]] && return 0
		nap
	done
	return 1
}

keys -l "PS1='\$ '; source '$COMP'; complete -p netfence"
keys Enter
for ((i = 0; i < 100; i++)); do
	screen | grep -q 'complete -F _netfence netfence' && break
	nap
done
if screen | grep -q 'complete -F _netfence netfence'; then
	t_pass "completion/netfence.bash loads in bash --norc"
else
	t_fail "completion/netfence.bash loads in bash --norc" "$(screen)"
	t_summary
	exit 1
fi

# line TEXT TABS: on a cleared screen, type TEXT, press Tab TABS times, then
# type a marker; sets LINE (the prompt line without "$ ", the marker shown
# as X, so that a space the completion added shows) and SCREEN (the lines
# the completion listed: not the prompt lines). readline's defaults: a Tab
# that completes part of a word inserts it; the next Tab (when it could
# insert nothing) lists the candidates; when the first Tab inserted
# something, the list comes at the third.
line() {
	local i mark

	CASE=$((${CASE:-0} + 1))
	mark=X$CASE
	keys C-u C-l
	keys -l "$1"
	for ((i = 0; i < $2; i++)); do
		keys Tab
	done
	keys -l "$mark"
	if ! wait_prompt_end "$mark"; then
		echo "line '$1': the marker never showed: $(screen)" >&2
	fi
	SCREEN=$(screen | grep -v '^\$ ')
	LINE=$(prompt_line)
	LINE=${LINE#\$ }
	LINE=${LINE%"$mark"}X
}

# listed NAME WORD...: every WORD is in the list the second Tab printed
listed() {
	local name=$1 w missing=()

	shift
	for w in "$@"; do
		grep -qE -- "(^| )$w( |$)" <<<"$SCREEN" || missing+=("$w")
	done
	if ((${#missing[@]} == 0)); then
		t_pass "$name"
	else
		t_fail "$name" "missing: ${missing[*]}; screen: $SCREEN"
	fi
}

line "netfence at" 1
assert_eq "netfence at<TAB>: the command, then a space" "$LINE" "netfence attach X"

line "netfence -j st" 1
assert_eq "netfence -j st<TAB>: global flags before the command" "$LINE" \
	"netfence -j status X"

line "netfence " 2
listed "netfence <TAB><TAB>: every command" attach detach status run check events cleanup

line "netfence --vers" 1
assert_eq "netfence --vers<TAB>: a global flag" "$LINE" "netfence --version X"

line "netfence attach --pr" 1
assert_eq "netfence attach --pr<TAB>: the common prefix" "$LINE" "netfence attach --proxyX"
line "netfence attach --pr" 3
listed "netfence attach --pr<TAB><TAB><TAB>: the proxy flags" --proxy --proxy-cgroup --proxy-pid
line "netfence attach --proxy" 2
listed "netfence attach --proxy<TAB><TAB>: the proxy flags" --proxy --proxy-cgroup --proxy-pid

line "netfence attach --enable-h" 1
assert_eq "netfence attach --enable-h<TAB>: a flag without a value" "$LINE" \
	"netfence attach --enable-host-access X"

line "netfence attach --loopback h" 1
assert_eq "--loopback h<TAB>: host" "$LINE" "netfence attach --loopback host X"

line "netfence attach --loopback=a" 1
assert_eq "--loopback=a<TAB>: allow" "$LINE" "netfence attach --loopback=allow X"

line "netfence run --allow-d" 3
listed "netfence run --allow-d<TAB><TAB><TAB>: run's own flags" --allow-domains --allow-domains-file

line "netfence run --proxy-env -- whoam" 1
assert_eq "netfence run ... -- whoam<TAB>: the command to run" "$LINE" \
	"netfence run --proxy-env -- whoami X"

line "netfence run --proxy-env whoam" 1
assert_eq "netfence run ... whoam<TAB>: the command, without --" "$LINE" \
	"netfence run --proxy-env whoami X"

line "netfence check --" 2
listed "netfence check --<TAB><TAB>: check's flags" --no-squid --help

line "netfence detach --" 2
listed "netfence detach --<TAB><TAB>: detach's flags" --cgroup --pid --help

line "netfence status --cgroup x --" 2
if grep -qE -- '(^| )--cgroup( |$)' <<<"$SCREEN"; then
	t_fail "a flag already given is not offered again" "$SCREEN"
else
	t_pass "a flag already given is not offered again"
fi

# --- cgroup paths --------------------------------------------------------

if [[ -z $CG2 ]]; then
	t_skip "cgroup path completion" "no cgroup2 mount"
	t_summary
	exit $?
fi
if ! { make_cgroup comp/attached >/dev/null && make_cgroup comp/other >/dev/null; }; then
	t_fail "make_cgroup" "cannot create cgroups under $CG2"
	t_summary
	exit 1
fi
top=nftest-$$-comp

line "netfence attach --cgroup nftest-$$-co" 1
assert_eq "--cgroup <TAB>: a directory under the cgroup2 mount, relative to it" \
	"$LINE" "netfence attach --cgroup $top/X"

line "netfence attach --cgroup $top/" 2
listed "--cgroup DIR/<TAB><TAB>: the cgroups below it" "$top/attached/" "$top/other/"

line "netfence attach --proxy-cgroup $top/oth" 1
assert_eq "--proxy-cgroup <TAB>: cgroup paths too" "$LINE" \
	"netfence attach --proxy-cgroup $top/other/X"

line "netfence attach --cgroup $CG2/nftest-$$-co" 1
assert_eq "--cgroup /abs<TAB>: absolute paths" "$LINE" \
	"netfence attach --cgroup $CG2/$top/X"

# --- the attached cgroups for detach ---------------------------------------

if ((EUID != 0)); then
	t_skip "detach --cgroup <TAB>: attached cgroups" "not root (netfence status needs root)"
	t_summary
	exit $?
fi
if out=$("$NETFENCE" attach --cgroup "$top/attached" --proxy 127.0.0.1:3129 \
	--dns-servers 127.0.0.1 2>&1); then
	t_pass "attach a policy to $top/attached (nothing connects)"
else
	t_fail "attach a policy to $top/attached" "$out"
	t_summary
	exit 1
fi

line "netfence detach --cgroup $top/" 1
assert_eq "detach --cgroup DIR/<TAB>: only the attached cgroup, from netfence -j status" \
	"$LINE" "netfence detach --cgroup $top/attached X"

line "netfence status --cgroup nftest-$$-" 1
assert_eq "status --cgroup <TAB>: the attached cgroup too" "$LINE" \
	"netfence status --cgroup $top/attached X"

line "netfence detach --cgroup $CG2/nftest-$$-" 1
assert_eq "detach --cgroup /abs<TAB>: the attached cgroup, absolute" "$LINE" \
	"netfence detach --cgroup $CG2/$top/attached X"

# A cgroup name is not trusted: one that reads as a command substitution
# must come back as a name, never run in the shell that completes it.
evil='$(touch pwned)'
mkdir "$CG2/$top/$evil"	# removed with $top by cleanup
on_cleanup '"$NETFENCE" detach --cgroup "$CG2/nftest-$$-comp/\$(touch pwned)" >/dev/null 2>&1 || true'
if out=$("$NETFENCE" attach --cgroup "$top/$evil" --proxy 127.0.0.1:3129 \
	--dns-servers 127.0.0.1 2>&1); then
	line "netfence detach --cgroup $top/" 3
	listed "detach --cgroup DIR/<TAB><TAB>: both attached cgroups" "$top/attached" "$top/\\\$\\(touch"
	if [[ -e $TDIR/pwned ]]; then
		t_fail "a cgroup named \$(touch pwned) is not run by the completion" "$TDIR/pwned exists"
	else
		t_pass "a cgroup named \$(touch pwned) is not run by the completion"
	fi
	"$NETFENCE" detach --cgroup "$top/$evil" >/dev/null 2>&1
else
	t_fail "attach a policy to $top/$evil" "$out"
fi

out=$("$NETFENCE" detach --cgroup "$top/attached" 2>&1)
assert_match "detach" "$out" "^detached "

line "netfence detach --cgroup $top/" 1
assert_eq "detach --cgroup <TAB> after detach: nothing to offer" "$LINE" \
	"netfence detach --cgroup $top/X"

t_summary
