#!/usr/bin/env bash
# Runs netfence's tests and prints one total: "N passed, N failed, N skipped".
#   tests/run.sh unit   cmocka unit tests and the shell suites that need no privileges
#                       (tests/shell/test_*.sh: build, docs)
#   tests/run.sh root   root integration suites on the real kernel (tests/root/test_*.sh)
#   tests/run.sh all    both
# NFT_SUITES="enforce squid" runs only those suites (test_enforce.sh, test_squid.sh).
# A skip is counted and shown with its reason; with CI=true any skip fails the run.
set -u
cd "$(dirname "$0")/.."

mode=${1:-all}
passed=0 failed=0 skipped=0
failures=()

run_unit() {
	local bin out p f
	for bin in build/tests/test_*; do
		[ -x "$bin" ] || continue
		out=$("$bin" 2>&1)
		local rc=$?
		printf '%s\n' "$out" | grep -E '^\[  (FAILED|  OK  |PASSED|  SKIPPED) \]|^\[ +ERROR|^\[ +FAILED' | grep -v '^\[       OK \]' || true
		p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		passed=$((passed + ${p:-0}))
		failed=$((failed + ${f:-0}))
		if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
			failed=$((failed + 1))
			failures+=("$bin (exit $rc)")
			printf '%s\n' "$out" | tail -20
		elif [ "${f:-0}" -ne 0 ]; then
			failures+=("$bin")
		fi
	done
}

# run_suites DIR: every DIR/test_*.sh, each ending with "N passed, N failed, N skipped"
run_suites() {
	local t out last p f s
	for t in "$1"/test_*.sh; do
		[ -f "$t" ] || continue
		# NFT_SUITES="enforce squid ...": only those suites (default: all)
		if [ -n "${NFT_SUITES:-}" ]; then
			case " $NFT_SUITES " in
			*" $(basename "$t" .sh | sed 's/^test_//') "*) ;;
			*) continue ;;
			esac
		fi
		echo "== $t"
		out=$(timeout 900 bash "$t" 2>&1)
		local rc=$?
		printf '%s\n' "$out" | grep -E '^(PASS|FAIL|SKIP)' || true
		last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -1)
		if [ -z "$last" ]; then
			failed=$((failed + 1))
			failures+=("$t (exit $rc, no summary)")
			printf '%s\n' "$out" | tail -30
			continue
		fi
		read -r p _ f _ s _ <<<"${last//,/}"
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + s))
		if [ "$f" -ne 0 ] || [ "$rc" -ne 0 ]; then
			failures+=("$t")
			[ "$f" -eq 0 ] && failed=$((failed + 1))
			printf '%s\n' "$out" | grep -vE '^(PASS|SKIP)' | tail -40
		fi
	done
}

case "$mode" in
unit) run_unit; run_suites tests/shell ;;
root) run_suites tests/root ;;
all) run_unit; run_suites tests/shell; run_suites tests/root ;;
*) echo "Error: unknown mode '$mode' (unit, root or all)" >&2; exit 2 ;;
esac

for f in "${failures[@]+"${failures[@]}"}"; do
	echo "failed: $f"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || exit 1
if [ "${CI:-}" = "true" ] && [ "$skipped" -ne 0 ]; then
	echo "CI=true: $skipped skipped test(s) count as failures here" >&2
	exit 1
fi
exit 0
