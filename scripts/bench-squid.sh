#!/usr/bin/env bash
# Through Squid: the same HTTP request, transparent (redirected in the kernel
# to Squid's intercept port) against explicit (HTTP_PROXY style, to Squid's
# forward port), interleaved rounds in one `netfence run`, ratio of medians.
# Loopback only (origin on 127.77.K.2); everything it starts is removed.
#   BENCH_SQUID_ROUNDS (default 15), BENCH_SQUID_N requests per round (200)
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${BENCH_SQUID_ROUNDS:-15}
N=${BENCH_SQUID_N:-200}
OUT=build/bench
mkdir -p "$OUT"
((EUID == 0)) || { echo "bench-squid: needs root" >&2; exit 2; }

work=$(mktemp -d /tmp/nfbench-squid.XXXXXX)
export NETFENCE_PIN_ROOT=/sys/fs/bpf/nfbench-squid-$$
pids=()
cleanup() {
	local p
	for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]+"${pids[@]}"}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work" "$NETFENCE_PIN_ROOT"
}
trap cleanup EXIT INT TERM

K=$((RANDOM % 200 + 20))
ORIGIN=127.77.$K.2
build/tools/loadgen serve --listen "$ORIGIN:80" --name origin >"$work/origin.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q READY "$work/origin.out" && break; sleep 0.1; done
echo "$ORIGIN sq.test" >"$work/hosts"

cat >"$work/agent.sh" <<EOF
set -eu
fwd=\${NETFENCE_FORWARD_PROXY#http://}
for r in \$(seq $ROUNDS); do
	build/tools/loadgen client --connect $ORIGIN:80 --host sq.test --requests $N \
		--concurrency 1 --keepalive-fraction 0 --stream-fraction 0 --seed \$r \
		>>"$work/transparent.jsonl"
	build/tools/loadgen client --connect "\$fwd" --proxy-form --host sq.test \
		--requests $N --concurrency 1 --keepalive-fraction 0 --stream-fraction 0 \
		--seed \$r >>"$work/explicit.jsonl"
done
EOF

build/netfence run --allow-domains sq.test --hosts-file "$work/hosts" \
	--squid-allow-loopback -- bash "$work/agent.sh"

python3 - "$work" "$OUT/squid.json" "$ROUNDS" "$N" <<'PY'
import json, statistics, sys
work, out, rounds, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def load(name):
    return [json.loads(l) for l in open(f"{work}/{name}.jsonl") if l.strip()]
t, e = load("transparent"), load("explicit")
def p50(r):
    return r.get("p50_ms", r.get("latency_p50_ms"))
ratios = [p50(a) / p50(b) for a, b in zip(t, e)]
res = {
    "rounds": rounds, "requests_per_round": n,
    "transparent_p50_ms": [p50(r) for r in t], "explicit_p50_ms": [p50(r) for r in e],
    "failed": sum(r.get("failed", 0) for r in t + e),
    "ratio_median": statistics.median(ratios),
    "ratio_of_medians": statistics.median(p50(r) for r in t) / statistics.median(p50(r) for r in e),
    "ratio_iqr": [statistics.quantiles(ratios, n=4)[0], statistics.quantiles(ratios, n=4)[2]],
}
json.dump(res, open(out, "w"), indent=1)
print(f"Through Squid (new connection per request, {rounds} interleaved rounds x {n}):")
print(f"  transparent p50 {statistics.median(res['transparent_p50_ms']):.3f} ms, "
      f"explicit p50 {statistics.median(res['explicit_p50_ms']):.3f} ms, "
      f"transparent/explicit x{res['ratio_median']:.3f} (median of per-round ratios, middle half "
      f"{res['ratio_iqr'][0]:.3f}..{res['ratio_iqr'][1]:.3f}), x{res['ratio_of_medians']:.3f} "
      f"(ratio of medians); failed {res['failed']}; target <= 1.05")
PY
