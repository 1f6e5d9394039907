#!/usr/bin/env bash
# `make install` and `make uninstall` (mk/install.mk) into a DESTDIR of the
# test's own: exactly the expected tree (the binary, the manual page, the
# bash completion, README.md and docs/), the right modes, the same bytes as
# the sources; PREFIX honoured (and /usr/local by default); what was
# installed works from there (man renders the page, bash loads the
# completion); uninstall removes all of it, leaves files it did not install
# alone, and can run twice. Needs no root; builds netfence if needed.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MAKE=(make --no-print-directory -s -C "$NFT_ROOT")
BIN=$NFT_ROOT/build/netfence

# expected PREFIX: the files make install must lay out, relative to DESTDIR
expected() {
	local p=${1#/} f

	echo "$p/sbin/netfence"
	echo "$p/share/man/man8/netfence.8"
	echo "$p/share/bash-completion/completions/netfence"
	echo "$p/share/doc/netfence/README.md"
	for f in "$NFT_ROOT"/docs/*.md "$NFT_ROOT"/docs/*.svg "$NFT_ROOT"/docs/*.png; do
		[[ -e $f ]] && echo "$p/share/doc/netfence/docs/${f##*/}"
	done
}

# source_of PATH: the repository file an installed file comes from
source_of() {
	case $1 in
	*/sbin/netfence) echo "$BIN" ;;
	*/man8/netfence.8) echo "$NFT_ROOT/man/netfence.8" ;;
	*/completions/netfence) echo "$NFT_ROOT/completion/netfence.bash" ;;
	*/doc/netfence/README.md) echo "$NFT_ROOT/README.md" ;;
	*/doc/netfence/docs/*) echo "$NFT_ROOT/docs/${1##*/}" ;;
	esac
}

files_in() {
	(cd "$1" && find . -type f -o -type l | sed 's|^\./||' | sort)
}

# --- install, PREFIX=/usr ---------------------------------------------------

DEST=$TDIR/dest
mkdir -p "$DEST/usr/sbin" "$DEST/usr/share/man/man8"
# files of other packages, which uninstall must leave alone
echo other >"$DEST/usr/sbin/other-tool"
echo other >"$DEST/usr/share/man/man8/other-tool.8"

out=$("${MAKE[@]}" install DESTDIR="$DEST" PREFIX=/usr 2>&1)
rc=$?
assert_eq "make install DESTDIR=... PREFIX=/usr exits 0" "$rc" 0 || echo "$out"

want=$( (expected /usr; echo usr/sbin/other-tool; echo usr/share/man/man8/other-tool.8) | sort)
got=$(files_in "$DEST")
if [[ $got == "$want" ]]; then
	t_pass "installed tree is exactly the expected one ($(wc -l <<<"$want") files)"
else
	t_fail "installed tree is exactly the expected one" \
		"$(diff <(echo "$want") <(echo "$got") | grep '^[<>]')"
fi

bad=()
while read -r f; do
	src=$(source_of "$f")
	[[ -n $src ]] || continue
	cmp -s "$src" "$DEST/$f" || bad+=("$f differs from $src")
	mode=$(stat -c %a "$DEST/$f")
	case $f in
	*/sbin/netfence) [[ $mode == 755 ]] || bad+=("$f mode $mode, want 755") ;;
	*) [[ $mode == 644 ]] || bad+=("$f mode $mode, want 644") ;;
	esac
done < <(expected /usr)
if ((${#bad[@]} == 0)); then
	t_pass "installed files: same bytes as the sources, modes 755 (binary) and 644"
else
	t_fail "installed files: same bytes as the sources, modes" "${bad[*]}"
fi

out=$("$DEST/usr/sbin/netfence" --version 2>&1)
assert_match "the installed binary runs" "$out" '^netfence [0-9]'

if command -v man >/dev/null; then
	warn=$(MANWIDTH=80 man --warnings=w -l "$DEST/usr/share/man/man8/netfence.8" 2>&1 >/dev/null)
	page=$(MANWIDTH=80 man -l "$DEST/usr/share/man/man8/netfence.8" 2>/dev/null)
	assert_eq "the installed manual page renders without a warning" "$warn" ""
	assert_match "man finds it by name under \$PREFIX/share/man" \
		"$(MANPATH=$DEST/usr/share/man MANWIDTH=80 man 8 netfence 2>/dev/null | head -n 1)" \
		'^NETFENCE\(8\)'
	assert_match "the rendered page has its sections" "$page" "EXIT STATUS.*ENVIRONMENT.*FILES"
else
	t_fail "man" "man is not installed (scripts/install-deps.sh: man-db)"
fi

out=$(bash --norc --noprofile -c \
	'source "$1" && complete -p netfence' bash \
	"$DEST/usr/share/bash-completion/completions/netfence" 2>&1)
assert_eq "the installed completion loads and registers netfence" "$out" \
	"complete -F _netfence netfence"

# links in the installed README and docs resolve where they are installed,
# when they resolve in the repository (a link broken there is not an
# install problem: it is only reported)
broken=()
for md in "$DEST"/usr/share/doc/netfence/README.md "$DEST"/usr/share/doc/netfence/docs/*.md; do
	rel=${md#"$DEST"/usr/share/doc/netfence/}
	while read -r link; do
		[[ $link == *://* || $link == \#* || $link == mailto:* ]] && continue
		target=${link%%#*}
		[[ -z $target ]] && continue
		if [[ ! -e $NFT_ROOT/$(dirname "$rel")/$target ]]; then
			echo "info: $rel links to $target, which is not in the repository"
		elif [[ ! -e $(dirname "$md")/$target ]]; then
			broken+=("$rel: $link")
		fi
	done < <(grep -oE '\]\([^) ]+\)' "$md" | sed 's/^](//; s/)$//')
done
if ((${#broken[@]} == 0)); then
	t_pass "relative links in the installed docs resolve"
else
	t_fail "relative links in the installed docs resolve (install them)" "${broken[*]}"
fi

# --- uninstall ----------------------------------------------------------------

out=$("${MAKE[@]}" uninstall DESTDIR="$DEST" PREFIX=/usr 2>&1)
rc=$?
assert_eq "make uninstall exits 0" "$rc" 0 || echo "$out"
assert_eq "uninstall removes every installed file, and only those" "$(files_in "$DEST")" \
	"$(printf '%s\n' usr/share/man/man8/other-tool.8 usr/sbin/other-tool | sort)"
left=$(cd "$DEST" && find . -name '*netfence*' | sed 's|^\./||')
assert_eq "nothing named netfence is left (doc directory removed)" "$left" ""
assert_eq "shared directories stay" \
	"$( [[ -d $DEST/usr/sbin && -d $DEST/usr/share/man/man8 ]] && echo yes)" yes
out=$("${MAKE[@]}" uninstall DESTDIR="$DEST" PREFIX=/usr 2>&1)
assert_eq "make uninstall again (nothing installed) exits 0" "$?" 0

# --- PREFIX defaults to /usr/local ---------------------------------------------

DEST2=$TDIR/dest2
out=$("${MAKE[@]}" install DESTDIR="$DEST2" 2>&1)
assert_eq "make install DESTDIR=... (default PREFIX) exits 0" "$?" 0
assert_eq "default PREFIX is /usr/local: the same tree there" "$(files_in "$DEST2")" \
	"$(expected /usr/local | sort)"
"${MAKE[@]}" uninstall DESTDIR="$DEST2" >/dev/null 2>&1
assert_eq "uninstall with the default PREFIX leaves no file" "$(files_in "$DEST2")" ""

t_summary
