#!/usr/bin/env bash
# Inside the test-kernels guest (started by tests/kernels/init as root, in the
# host's read-only root file system): runs the root suites named in
# NFT_KERNEL_SUITES (default test_enforce,test_squid,test_static;
# a name with a slash is a path) one after the other, after asserting that
# `netfence check` finds everything netfence needs on this kernel,
# each under a timeout, and writes to $NFT_KERNEL_OUT:
#   SUITE.log   the suite's whole output
#   summary     "N passed, N failed, N skipped", then "seconds S", "kernel R"
# Its own stdout (guest.log) has the PASS/FAIL/SKIP lines.
set -u
cd "$(dirname "$0")/../.." || exit 1

out=${NFT_KERNEL_OUT:?}
suites=${NFT_KERNEL_SUITES:-test_enforce,test_squid,test_static}
per_suite=${NFT_KERNEL_SUITE_TIMEOUT:-900}
NFT_KERNEL=$(uname -r)	# the suites may tell they run in the guest
export NFT_KERNEL
passed=0 failed=0 skipped=0
start=$(date +%s.%N)

# elapsed T0: seconds since T0 (date +%s.%N), one decimal
elapsed() {
	awk -v a="$(date +%s.%N)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'
}

echo "kernel $(uname -r), $(nproc) CPUs, CI=${CI:-}"
# what this kernel has, as netfence check sees it (docs/kernels.md); it must
# say everything netfence needs is here, on every kernel of the matrix
build/netfence check >"$out/check.txt" 2>&1
rc=$?
echo "netfence check: exit $rc ($(tail -n 1 "$out/check.txt"))"
build/netfence -j check >"$out/check.json" 2>/dev/null
if [ "$rc" -eq 0 ] && grep -q '^ok: everything netfence needs is here' "$out/check.txt"; then
	echo "PASS: netfence check on $(uname -r): everything netfence needs is here"
	passed=$((passed + 1))
else
	echo "FAIL: netfence check on $(uname -r): exit $rc: $(grep -E '^  (missing|unchecked)' "$out/check.txt" | head -n 3)"
	failed=$((failed + 1))
fi
for s in ${suites//,/ }; do
	t=tests/root/$s.sh
	[[ $s == */* ]] && t=$s	# a path: a suite of one's own
	s=$(basename "$s" .sh)
	if [ ! -f "$t" ]; then
		echo "FAIL: $s: no such suite ($t)"
		failed=$((failed + 1))
		continue
	fi
	echo "== $t"
	t0=$(date +%s.%N)
	timeout -k 10 "$per_suite" bash "$t" >"$out/$s.log" 2>&1
	rc=$?
	grep -E '^(PASS|FAIL|SKIP)' "$out/$s.log"
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out/$s.log" | tail -1)
	echo "-- $s: exit $rc, $(elapsed "$t0") s"
	if [ -z "$last" ]; then
		echo "FAIL: $s: exit $rc, no summary line"
		tail -n 30 "$out/$s.log"
		failed=$((failed + 1))
		continue
	fi
	read -r p _ f _ k _ <<<"${last//,/}"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + k))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $s: exit $rc"
		failed=$((failed + 1))
	fi
done
secs=$(elapsed "$start")
{
	echo "$passed passed, $failed failed, $skipped skipped"
	echo "seconds $secs"
	echo "kernel $(uname -r)"
} >"$out/summary"
cat "$out/summary"
[ "$failed" -eq 0 ]
