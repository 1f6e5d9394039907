#!/usr/bin/env bash
# The build's dependencies are right, in a copy of the tree (the real one is left alone):
#   - after a full build a second `make` does nothing (`make -q` exits 0);
#   - editing bpf/verdict.h or bpf/maps.h rebuilds the BPF object (BPF dependency files);
#   - a machine missing build packages gets one line naming them and `make deps`.
# Needs no root. The copy starts from this tree's build/, so only what differs is rebuilt.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../root/lib.sh"

COPY=$TDIR/tree
mkdir -p "$COPY"
# the sources as they are now (tracked or not), with build/ and its timestamps
tar -C "$NFT_ROOT" --exclude=./.git --exclude=./build/fuzz --exclude=./build/san \
	--exclude=./build/kernels -cf - . |
	tar -C "$COPY" -xf - || { t_fail "copy the tree"; t_summary; exit 1; }
# a make of its own, also under `make test` (no MAKELEVEL: "make:", not "make[1]:")
mk() { env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make -C "$COPY" --no-print-directory "$@" 2>&1; }

out=$(mk -j2 all) || { t_fail "make all in the copy" "$(tail -n 3 <<<"$out")"; t_summary; exit 1; }
mk -q all >/dev/null
assert_eq "a second make does nothing (make -q after make)" "$?" 0
out=$(mk all)
assert_eq "a second make prints nothing to do" "$out" "make: Nothing to be done for 'all'."
[[ -e $COPY/build/netfence.skel.h ]] && t_pass "the skeleton (an intermediate) is kept" ||
	t_fail "the skeleton (an intermediate) is kept" "build/netfence.skel.h deleted"

for h in bpf/verdict.h bpf/maps.h; do
	before=$(stat -c %y "$COPY/build/netfence.bpf.o")
	sleep 1.1	# a newer mtime at any filesystem timestamp granularity
	printf '\n/* edited by %s */\n' "$NFT_NAME" >>"$COPY/$h"
	mk -q all >/dev/null
	assert_eq "editing $h makes the build out of date" "$?" 1
	out=$(mk all)
	assert_match "editing $h rebuilds the BPF object" "$out" "BPF +build/netfence\.bpf\.o"
	after=$(stat -c %y "$COPY/build/netfence.bpf.o")
	[[ $after != "$before" ]] && t_pass "$h: build/netfence.bpf.o is new" ||
		t_fail "$h: build/netfence.bpf.o is new" "mtime still $after"
	mk -q all >/dev/null
	assert_eq "after rebuilding for $h, make -q exits 0" "$?" 0
done

# missing build dependencies: one line, the packages, and `make deps`
out=$(mk CLANG=/nonexistent/clang all)
rc=$?
assert_eq "no clang: make fails" "$rc" 2
assert_eq "no clang: one line" "$(wc -l <<<"$out")" 1
assert_match "no clang: names clang and make deps" "$out" \
	"missing build packages: clang; .make deps. installs them"
# a compiler that sees no system headers stands for a machine without libbpf-dev & co
before=$(stat -c %y "$COPY/build/netfence.bpf.o")
sleep 1.1
touch "$COPY/bpf/verdict.h"
out=$(mk CC='gcc -nostdinc' BPFTOOL=/nonexistent/bpftool all)
assert_match "no headers, no bpftool: names the packages" "$out" \
	"missing build packages: bpftool libbpf-dev libelf-dev zlib1g-dev libseccomp-dev libidn2-dev libunistring-dev; .make deps. installs them"
assert_eq "no headers: stops before compiling anything" "$(stat -c %y "$COPY/build/netfence.bpf.o")" "$before"
out=$(mk CLANG=/nonexistent/clang -n clean)
assert_match "make clean needs no build packages" "$out" "rm -rf"

t_summary
