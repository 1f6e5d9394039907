#!/usr/bin/env bash
# Prints the Debian packages a `make` of netfence needs and this machine lacks, space
# separated, nothing when all are present (the Makefile turns it into one error line).
# Honours CC, CLANG and BPFTOOL as make passes them; headers are looked up through $CC.
set -u
CC=${CC:-gcc} CLANG=${CLANG:-clang} BPFTOOL=${BPFTOOL:-bpftool}
missing=()
have() { command -v "${1%% *}" >/dev/null 2>&1; }
have "$CC" || missing+=(gcc)
have "$CLANG" || missing+=(clang)
have "$BPFTOOL" || missing+=(bpftool)
# header -> package (bpf/bpf_helpers.h is the one a fresh machine stops at); one compiler
# run when all are there
headers=(bpf/bpf_helpers.h:libbpf-dev libelf.h:libelf-dev zlib.h:zlib1g-dev seccomp.h:libseccomp-dev
	idn2.h:libidn2-dev unistr.h:libunistring-dev)
if have "$CC" && printf '#include <%s>\n' "${headers[@]%%:*}" | $CC -E -x c - >/dev/null 2>&1; then
	headers=()
fi
for pair in "${headers[@]}"; do
	h=${pair%%:*} pkg=${pair#*:}
	have "$CC" && printf '#include <%s>\n' "$h" | $CC -E -x c - >/dev/null 2>&1 && continue
	missing+=("$pkg")
done
echo "${missing[*]}"
