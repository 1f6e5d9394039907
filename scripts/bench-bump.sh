#!/usr/bin/env bash
# Through Squid, HTTPS: a bumped request (`run --ssl-bump`: Squid decrypts,
# checks, re-encrypts to the origin) against a spliced one (Squid reads the
# SNI and tunnels), a new TLS connection per request, rounds alternating
# between the two kinds of `netfence run` in one invocation; ratio of
# medians. Loopback only (a TLS origin on 127.77.K.3 with a test CA);
# everything it starts is removed.
#   BENCH_BUMP_ROUNDS (default 6), BENCH_BUMP_N requests per round (200)
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${BENCH_BUMP_ROUNDS:-6}
N=${BENCH_BUMP_N:-200}
OUT=build/bench
mkdir -p "$OUT"
((EUID == 0)) || { echo "bench-bump: needs root" >&2; exit 2; }

work=$(mktemp -d /tmp/nfbench-bump.XXXXXX)
chmod 755 "$work"
export NETFENCE_PIN_ROOT=/sys/fs/bpf/nfbench-bump-$$
pids=()
cleanup() {
	local p
	for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]+"${pids[@]}"}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work" "$NETFENCE_PIN_ROOT"
}
trap cleanup EXIT INT TERM

K=$((RANDOM % 200 + 20))
ORIGIN=127.77.$K.3
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=bench-ca -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=tls.test \
	-keyout "$work/o.key" -out "$work/o.csr" 2>/dev/null
printf 'subjectAltName=DNS:tls.test\n' >"$work/san"
openssl x509 -req -in "$work/o.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
	-days 1 -extfile "$work/san" -out "$work/o.crt" 2>/dev/null
chmod 644 "$work/ca.crt"
python3 tests/root/tls_origin.py --listen "$ORIGIN:443" --name o --log /dev/null \
	--cert "$work/o.crt" --key "$work/o.key" >"$work/origin.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q READY "$work/origin.out" && break; sleep 0.1; done
echo "$ORIGIN tls.test" >"$work/hosts"
chmod 644 "$work/hosts"

# the client: N requests, a new connection each, p50 in ms as JSON
cat >"$work/client.py" <<'PY'
import http.client, json, socket, ssl, statistics, sys, time
addr, n, cafile, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=None if cafile == "-" else cafile)
lat, failed = [], 0
for i in range(n):
    t = time.perf_counter()
    try:
        s = socket.create_connection((addr, 443), 10)
        c = http.client.HTTPSConnection("tls.test", 443, context=ctx, timeout=10)
        c.sock = ctx.wrap_socket(s, server_hostname="tls.test")
        c.request("GET", "/bench")
        r = c.getresponse(); r.read(); c.close()
        failed += r.status != 200
    except Exception:
        failed += 1
    lat.append((time.perf_counter() - t) * 1000)
open(out, "a").write(json.dumps({"p50_ms": statistics.median(lat), "failed": failed}) + "\n")
PY

for r in $(seq "$ROUNDS"); do
	build/netfence run --ssl-bump --origin-ca-file "$work/ca.crt" --allow-domains tls.test \
		--hosts-file "$work/hosts" --squid-allow-loopback \
		-- python3 "$work/client.py" "$ORIGIN" "$N" - "$work/bumped.jsonl"
	build/netfence run --allow-domains tls.test --hosts-file "$work/hosts" --squid-allow-loopback \
		-- python3 "$work/client.py" "$ORIGIN" "$N" "$work/ca.crt" "$work/spliced.jsonl"
done

python3 - "$work" "$OUT/bump.json" "$ROUNDS" "$N" <<'PY'
import json, statistics, sys
work, out, rounds, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
b = [json.loads(l) for l in open(f"{work}/bumped.jsonl")]
s = [json.loads(l) for l in open(f"{work}/spliced.jsonl")]
ratios = [x["p50_ms"] / y["p50_ms"] for x, y in zip(b, s)]
res = {"rounds": rounds, "requests_per_round": n,
       "bumped_p50_ms": [x["p50_ms"] for x in b], "spliced_p50_ms": [y["p50_ms"] for y in s],
       "failed": sum(x["failed"] for x in b + s),
       "ratio_median": statistics.median(ratios),
       "ratio_of_medians": statistics.median(x["p50_ms"] for x in b) /
                           statistics.median(y["p50_ms"] for y in s)}
json.dump(res, open(out, "w"), indent=1)
print(f"HTTPS through Squid (new TLS connection per request, {rounds} alternating rounds x {n}):")
print(f"  bumped p50 {statistics.median(res['bumped_p50_ms']):.3f} ms, "
      f"spliced p50 {statistics.median(res['spliced_p50_ms']):.3f} ms, "
      f"bumped/spliced x{res['ratio_median']:.3f} (median of per-round ratios), "
      f"x{res['ratio_of_medians']:.3f} (ratio of medians); failed {res['failed']}")
PY
