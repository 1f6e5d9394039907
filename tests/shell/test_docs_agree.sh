#!/usr/bin/env bash
# The three places that list netfence's commands and flags must agree:
#   1. `netfence --help` and `netfence COMMAND --help` (the usage texts in
#      user/*.c), checked against the parser itself: every flag the help
#      names is accepted, with a value exactly when the help shows one;
#   2. the manual page, man/netfence.8 (one .SS per command in COMMANDS, one
#      .TP per flag; `.\" +policy-flags` pulls in POLICY FLAGS);
#   3. the bash completion, completion/netfence.bash, asked the way bash
#      asks it (COMP_WORDS, COMP_CWORD, COMPREPLY).
# For each command: the same flag set, and the same flags taking a value.
# --help/-h is left out (every command takes it), and so are -j/--json after a
# command (every command takes them: checked apart, below). The manual page must also
# render without a groff warning. Needs no root; runs no command but --help
# and flags that fail at parse time.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../root/lib.sh"

MAN=$NFT_ROOT/man/netfence.8
COMP=$NFT_ROOT/completion/netfence.bash

for f in "$NETFENCE" "$MAN" "$COMP"; do
	if [[ ! -e $f ]]; then
		t_fail "needs $f" "build netfence (make) / restore the file"
		t_summary
		exit 1
	fi
done

# ---------------------------------------------------------------------------
# 1. --help
# ---------------------------------------------------------------------------

# help_flags: reads a usage text on stdin, prints "flag value" lines (value
# 1 when the flag takes one). Flags come from the Usage: lines and from the
# option lines (two or more spaces, then the flag); prose that mentions a
# flag elsewhere does not count.
help_flags() {
	awk '
	function add(f, v) { if (!(f in val) || v) val[f] = v }
	# usage lines: "[--count N]", "--cgroup PATH|--pid PID", "[-j|--json]"
	/^Usage:/ || (/^ +netfence / && prev_usage) {
		prev_usage = 1
		line = $0
		gsub(/[][|{}]/, " & ", line)
		n = split(line, w, / +/)
		for (i = 1; i <= n; i++)
			if (w[i] ~ /^--?[a-zA-Z][a-zA-Z0-9-]*$/)
				add(w[i], (i < n && w[i + 1] ~ /^[A-Z][A-Z:_.,]*$/))
		next
	}
	{ prev_usage = 0 }
	# option lines: "  --cgroup PATH    text", "  -j, --json     text"
	/^  +-/ {
		line = $0
		sub(/^ +/, "", line)
		while (match(line, /^-[a-zA-Z](, |$)/)) {
			add(substr(line, 1, 2), 0)
			line = substr(line, RLENGTH + 1)
		}
		if (match(line, /^--[a-zA-Z0-9-]+/)) {
			f = substr(line, 1, RLENGTH)
			rest = substr(line, RLENGTH + 1)
			add(f, (rest ~ /^ [^ ]/ || rest ~ /^=/))
		}
	}
	END { for (f in val) print f, val[f] }'
}

# help_commands: the command names under "Commands:" in netfence --help.
help_commands() {
	awk '/^Commands:/ { on = 1; next } on && /^$/ { exit }
	     on && /^  [a-z]/ { print $1 }'
}

# excluded_by_prose TEXT: flags named after "without" in "Policy flags: as
# for 'netfence attach' ..., without --cgroup (run makes one)".
excluded_by_prose() {
	local text=${1//$'\n'/ } re='without ((--[a-z0-9-]+)([ ,]+(or |and |nor )?--[a-z0-9-]+)*)'

	[[ $text =~ $re ]] || return 0
	grep -oE -- '--[a-z0-9-]+' <<<"${BASH_REMATCH[1]}"
}

declare -A HELP	# HELP[cmd]="flag:v flag:v ..." (sorted), cmd "" is the main help
main_help=$("$NETFENCE" --help 2>&1)
mapfile -t HELP_CMDS < <(help_commands <<<"$main_help" | sort)
if ((${#HELP_CMDS[@]} == 0)); then
	t_fail "netfence --help lists the commands" "$main_help"
	t_summary
	exit 1
fi
t_pass "netfence --help lists ${#HELP_CMDS[@]} commands: ${HELP_CMDS[*]}"

# set_of [main]: "flag value" lines -> sorted "flag:value" words, --help/-h
# dropped, and -j/--json too for a command (the global flags they are)
set_of() {
	awk -v main="${1:-}" '$1 != "--help" && $1 != "-h" &&
		(main || ($1 != "--json" && $1 != "-j")) { print $1 ":" $2 }' |
		sort | tr '\n' ' ' | sed 's/ $//'
}

HELP[main]=$(help_flags <<<"$main_help" | set_of main)
declare -A HELPTEXT
for c in "${HELP_CMDS[@]}"; do
	HELPTEXT[$c]=$("$NETFENCE" "$c" --help 2>&1)
	rc=$?
	if ((rc != 0)); then
		t_fail "netfence $c --help exits 0" "exit $rc: ${HELPTEXT[$c]}"
		continue
	fi
	HELP[$c]=$(help_flags <<<"${HELPTEXT[$c]}" | set_of)
done
# run: "Policy flags: as for 'netfence attach' ..., without --cgroup ..."
if [[ -n ${HELPTEXT[run]:-} && ${HELPTEXT[run]} == *"as for 'netfence attach'"* ]]; then
	excl=" $(excluded_by_prose "${HELPTEXT[run]}" | tr '\n' ' ') "
	read -r -a words <<<"${HELP[run]:-} ${HELP[attach]:-}"
	HELP[run]=$(for w in "${words[@]}"; do
		[[ $excl == *" ${w%:*} "* ]] || echo "$w"
	done | sort -u | tr '\n' ' ' | sed 's/ $//')
fi

# The parser accepts every flag the help names, with a value exactly when
# the help shows one. A flag that takes a value, given last, fails with
# "needs a value"; one that does not, followed by a flag nobody has, fails
# on that other flag. Either way nothing runs: parsing fails first.
BOGUS=--nf-docs-agree-no-such-flag
probe() {	# probe CMD FLAG VALUE
	local cmd=$1 flag=$2 v=$3 out rc args=()

	[[ $cmd == main ]] || args=("$cmd")
	if ((v)); then
		out=$("$NETFENCE" "${args[@]}" "$flag" 2>&1)
		rc=$?
		if ((rc == 2)) && [[ $out == *"$flag needs a value"* ]]; then
			return 0
		fi
		echo "help shows $flag with a value; the parser: exit $rc: $out"
		return 1
	fi
	out=$("$NETFENCE" "${args[@]}" "$flag" "$BOGUS" 2>&1)
	rc=$?
	if ((rc == 0)) || { ((rc == 2)) && [[ $out == *"$BOGUS"* ]]; }; then
		return 0
	fi
	echo "help shows $flag without a value; the parser: exit $rc: $out"
	return 1
}
for c in main "${HELP_CMDS[@]}"; do
	bad=()
	for w in ${HELP[$c]:-}; do
		[[ $c == main && ${w%:*} == --version ]] && continue
		why=$(probe "$c" "${w%:*}" "${w##*:}") || bad+=("$why")
	done
	if ((${#bad[@]} == 0)); then
		t_pass "parser accepts what 'netfence ${c/main/} --help' lists"
	else
		t_fail "parser accepts what 'netfence ${c/main/} --help' lists" \
			"$(printf '%s\n' "${bad[@]}")"
	fi
done
# -j/--json after the command ("netfence status -j"), as before it
for c in "${HELP_CMDS[@]}"; do
	bad=()
	for f in -j --json; do
		why=$(probe "$c" "$f" 0) || bad+=("$why")
	done
	if ((${#bad[@]} == 0)); then
		t_pass "netfence $c takes -j and --json after the command"
	else
		t_fail "netfence $c takes -j and --json after the command" \
			"$(printf '%s\n' "${bad[@]}")"
	fi
done

# ---------------------------------------------------------------------------
# 2. the manual page
# ---------------------------------------------------------------------------

# man_flags: "section flag value" for every .TP tag that starts with a flag;
# section is "main" (OPTIONS), a command (a .SS of COMMANDS) or "policy"
# (POLICY FLAGS); "section +policy" lines for the commands that take them,
# "command NAME" for each command.
man_flags() {
	awk '
	function plain(s) {
		gsub(/\\-/, "-", s); gsub(/\\f[BIRP]/, "", s); gsub(/\\&/, "", s)
		gsub(/\\\(en/, "-", s); gsub(/\\~/, " ", s); gsub(/"/, "", s)
		return s
	}
	/^\.SH/ {
		sh = plain($0); sub(/^\.SH +/, "", sh); ss = ""
		sect = sh == "OPTIONS" ? "main" : sh == "POLICY FLAGS" ? "policy" : ""
		next
	}
	/^\.SS/ && sh == "COMMANDS" {
		ss = plain($0); sub(/^\.SS +/, "", ss); sect = ss
		print "command", ss
		next
	}
	/^\.\\" \+policy-flags/ && sh == "COMMANDS" && ss != "" { print ss, "+policy"; next }
	/^\.TP/ { tag = 1; next }
	tag {
		tag = 0
		if (sect == "" || $0 !~ /^\\fB\\-/) next
		line = plain($0)
		n = split(line, w, /[ ,]+/)
		last = 0
		for (i = 1; i <= n; i++)
			if (w[i] ~ /^--?[a-zA-Z][a-zA-Z0-9-]*$/) { flags[++nf] = w[i]; last = i }
		v = (last < n && w[last + 1] != "")
		for (i = 1; i <= nf; i++) print sect, flags[i], v
		nf = 0
	}' "$MAN"
}
MANOUT=$(man_flags)
mapfile -t MAN_CMDS < <(awk '$1 == "command" { print $2 }' <<<"$MANOUT" | sort)
declare -A MANSET
MANSET[main]=$(awk '$1 == "main" { print $2, $3 }' <<<"$MANOUT" | set_of main)
policy=$(awk '$1 == "policy" { print $2, $3 }' <<<"$MANOUT")
for c in "${MAN_CMDS[@]}"; do
	own=$(awk -v c="$c" '$1 == c && $2 ~ /^-/ { print $2, $3 }' <<<"$MANOUT")
	if grep -qx "$c +policy" <<<"$MANOUT"; then
		own+=$'\n'$policy
	fi
	MANSET[$c]=$(sed '/^$/d' <<<"$own" | set_of)
done

# ---------------------------------------------------------------------------
# 3. the completion
# ---------------------------------------------------------------------------

# complete_words WORD...: what the completion offers for the command line
# "netfence WORD..." with the cursor on the last word.
complete_words() {
	bash --norc --noprofile -c '
		source "$1"; shift
		COMP_WORDS=(netfence "$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMPREPLY=()
		_netfence 2>/dev/null
		printf "%s\n" "${COMPREPLY[@]}"' bash "$COMP" "$@"
}

# comp_set CMD: "flag:value" words; a flag takes a value when, after it, the
# completion offers no flags.
comp_set() {
	local c=$1 f v args=() flags

	[[ $c == main ]] || args=("$c")
	if [[ $c == main ]]; then
		flags=$(complete_words - | grep -- '^-')
	else
		flags=$(complete_words "${args[@]}" '' | grep -- '^-' | grep -vx -- '--')
	fi
	for f in $flags; do
		[[ $f == --help || $f == -h ]] && continue
		[[ $c != main && ($f == --json || $f == -j) ]] && continue
		v=1
		if [[ $c == main ]]; then
			v=0	# global flags take no value
		elif complete_words "${args[@]}" "$f" '' | grep -q -- '^-'; then
			v=0
		fi
		echo "$f:$v"
	done | sort | tr '\n' ' ' | sed 's/ $//'
}
mapfile -t COMP_CMDS < <(complete_words '' | sort)
declare -A COMPSET
for c in main "${HELP_CMDS[@]}"; do
	COMPSET[$c]=$(comp_set "$c")
done

# ---------------------------------------------------------------------------
# Compare
# ---------------------------------------------------------------------------

# differ NAME A B LABEL_A LABEL_B: pass when the word sets are equal.
differ() {
	local name=$1 a=$2 b=$3 la=$4 lb=$5 only_a only_b

	only_a=$(comm -23 <(tr ' ' '\n' <<<"$a" | sed '/^$/d' | sort) \
		<(tr ' ' '\n' <<<"$b" | sed '/^$/d' | sort) | tr '\n' ' ')
	only_b=$(comm -13 <(tr ' ' '\n' <<<"$a" | sed '/^$/d' | sort) \
		<(tr ' ' '\n' <<<"$b" | sed '/^$/d' | sort) | tr '\n' ' ')
	if [[ -z $only_a && -z $only_b ]]; then
		t_pass "$name"
	else
		t_fail "$name" "only in $la: ${only_a:-none}; only in $lb: ${only_b:-none} (flag:1 takes a value)"
	fi
}

differ "commands: --help and the manual page" "${HELP_CMDS[*]}" "${MAN_CMDS[*]}" \
	"--help" "man page"
differ "commands: --help and the completion" "${HELP_CMDS[*]}" "${COMP_CMDS[*]}" \
	"--help" "completion"
for c in main "${HELP_CMDS[@]}"; do
	label=${c/main/global}
	differ "$label flags: --help and the manual page" "${HELP[$c]:-}" "${MANSET[$c]:-}" \
		"--help" "man page"
	differ "$label flags: --help and the completion" "${HELP[$c]:-}" "${COMPSET[$c]:-}" \
		"--help" "completion"
done

# Every command has its line in the SYNOPSIS.
syn=$(awk '/^\.SH SYNOPSIS/ { on = 1; next } /^\.SH/ { on = 0 } on' "$MAN" |
	grep -oE '^\.B netfence [a-z]+' | awk '{ print $3 }' | sort | tr '\n' ' ')
differ "commands: --help and the manual page's SYNOPSIS" "${HELP_CMDS[*]}" "$syn" \
	"--help" "SYNOPSIS"

# The manual page renders without a warning.
if command -v man >/dev/null; then
	warn=$(MANWIDTH=80 man --warnings=w -l "$MAN" 2>&1 >/dev/null)
	assert_eq "man --warnings -l man/netfence.8: no warning" "$warn" ""
else
	t_fail "man -l man/netfence.8" "man is not installed (scripts/install-deps.sh: man-db)"
fi

# The diagram: docs/datapath.svg is rendered from docs/datapath.dot (`make
# docs`), compared by the text it shows (the layout may differ between
# graphviz versions); the PNG is there for readers.
if command -v dot >/dev/null; then
	svg_text() { grep -o '<text[^>]*>[^<]*</text>' | sed 's/<[^>]*>//g' | sort; }
	if dot -Tsvg "$NFT_ROOT/docs/datapath.dot" -o "$TDIR/datapath.svg" 2>"$TDIR/dot.err"; then
		differ "docs/datapath.svg is rendered from docs/datapath.dot (make docs)" \
			"$(svg_text <"$TDIR/datapath.svg" | tr ' ' '_' | tr '\n' ' ')" \
			"$(svg_text <"$NFT_ROOT/docs/datapath.svg" | tr ' ' '_' | tr '\n' ' ')" \
			"datapath.dot" "datapath.svg"
	else
		t_fail "docs/datapath.dot renders" "$(cat "$TDIR/dot.err")"
	fi
else
	t_skip "docs/datapath.svg is rendered from docs/datapath.dot" \
		"graphviz (dot) is not installed: scripts/install-deps.sh"
fi
# the PNG: newer than its source, or its source as committed
png=$NFT_ROOT/docs/datapath.png dotsrc=$NFT_ROOT/docs/datapath.dot
if [[ -s $png ]] && { [[ $png -nt $dotsrc ]] ||
	[[ -z $(git -C "$NFT_ROOT" status --porcelain -- docs/datapath.dot 2>/dev/null) ]]; }; then
	t_pass "docs/datapath.png is there, rendered after datapath.dot changed"
else
	t_fail "docs/datapath.png is there, rendered after datapath.dot changed" "run make docs"
fi
t_summary
