#!/usr/bin/env bash
# make bench, the DNS row: lookups through netfence's DNS filter (dnsmasq,
# `netfence run --allow-domains`) against lookups straight to the same
# stand-in upstream (`netfence run` without --allow-domains: DNS allowed
# direct to the resolver), interleaved round by round.
#
#   sudo bash scripts/bench-dns.sh           # about 40 s with the defaults
#
# The upstream is tests/root/dns_upstream.py on 127.54.K.1:53 (loopback
# only). Three measures per round and path: the median latency of lookups
# one at a time for names never asked before (forwarded by the filter), the
# same for names asked just before (the filter answers from its cache), and
# the rate with 50 lookups in flight (distinct names). Ratios are medians of
# the per-round ratios. Environment: BENCH_DNS_ROUNDS (default 5),
# BENCH_DNS_N lookups per measure (default 300;
# the rate measure makes four times as many). Writes build/bench/dns.json.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(realpath -m "${BUILD:-$ROOT/build}")
NETFENCE=$BUILD/netfence
OUT=$BUILD/bench
ROUNDS=${BENCH_DNS_ROUNDS:-5}
N=${BENCH_DNS_N:-300}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
CLIENT=$ROOT/tests/root/dns_client.py
K=$((RANDOM % 200 + 20))
UP=127.54.$K.1
export NETFENCE_PIN_ROOT=/sys/fs/bpf/nfbenchdns-$$
W=$(mktemp -d /tmp/nfbenchdns-$$.XXXXXX)
UPPID=

# (wait reports the upstream's SIGTERM as 143: under set -e that would end
# the trap, and the script with it, before the removal)
cleanup() {
	if [[ -n $UPPID ]] && kill "$UPPID" 2>/dev/null; then
		wait "$UPPID" 2>/dev/null || true
	fi
	rm -rf "$W" "$NETFENCE_PIN_ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

[[ $(id -u) == 0 ]] || { echo "bench-dns: needs root" >&2; exit 1; }
mkdir -p "$OUT"
"$PY" "$ROOT/tests/root/dns_upstream.py" "$UP" 53 /dev/null >"$W/up.out" 2>&1 &
UPPID=$!
for i in $(seq 50); do grep -q READY "$W/up.out" && break; sleep 0.1; done
grep -q READY "$W/up.out" || { echo "bench-dns: upstream did not start: $(cat "$W/up.out")" >&2; exit 1; }

# one measure inside `netfence run`: MODE filter|direct, then the client's args
measure() {
	local mode=$1 extra=()

	shift
	[[ $mode == filter ]] && extra=(--allow-domains '*.bench.test')
	"$NETFENCE" run --proxy 127.0.0.1:9 --dns-servers "$UP" "${extra[@]}" -- \
		env DNS_SALT=$RANDOM bash -c "$PY $CLIENT bench $UP q%d-%d-fwd.bench.test $N; $PY $CLIENT bench $UP q%d-%d-fwd.bench.test $N | sed 's/^/cached_/'; $PY $CLIENT rate $UP r%d-%d.bench.test $((N * 4))" \
		2>/dev/null
}

val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
med() { sort -g | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

for ((r = 1; r <= ROUNDS; r++)); do
	measure direct >"$W/direct.$r"
	measure filter >"$W/filter.$r"
	for k in median_us cached_median_us qps; do
		d=$(val "$k" "$W/direct.$r")
		f=$(val "$k" "$W/filter.$r")
		echo "$d" >>"$W/direct.$k"
		echo "$f" >>"$W/filter.$k"
		[[ -n $d && -n $f && $d != 0 ]] && awk -v d="$d" -v f="$f" 'BEGIN { printf "%.3f\n", f / d }' >>"$W/x.$k"
	done
	for m in direct filter; do
		[[ $(val fails "$W/$m.$r") == 0 && $(val lost "$W/$m.$r") == 0 ]] ||
			echo "bench-dns: round $r $m: lookups failed: $(tr '\n' ' ' <"$W/$m.$r")" >&2
	done
done

declare -A D F X
for k in median_us cached_median_us qps; do
	D[$k]=$(med <"$W/direct.$k")
	F[$k]=$(med <"$W/filter.$k")
	X[$k]=$(med <"$W/x.$k")
done
echo "DNS through the filter (dnsmasq, run --allow-domains) vs direct to the same stand-in upstream"
echo "($ROUNDS interleaved rounds x $N lookups; medians over rounds; x = median of per-round ratios filter/direct)"
echo
printf '| %-38s | %12s | %12s | %10s |\n' "DNS lookups (UDP)" "direct" "filter" "x direct"
echo "|----------------------------------------|-------------:|-------------:|-----------:|"
printf '| %-38s | %12s | %12s | %10s |\n' "latency p50 us, new names (forwarded)" "${D[median_us]}" "${F[median_us]}" "${X[median_us]}"
printf '| %-38s | %12s | %12s | %10s |\n' "latency p50 us, repeated names" "${D[cached_median_us]}" "${F[cached_median_us]}" "${X[cached_median_us]}"
printf '| %-38s | %12s | %12s | %10s |\n' "lookups/s, 50 in flight (new names)" "${D[qps]}" "${F[qps]}" "${X[qps]}"
echo "(the stand-in upstream is a Python server; the filter answers repeated names from its cache)"
printf '{"rounds":%s,"n":%s,"direct":{"p50_us":%s,"cached_p50_us":%s,"qps":%s},"filter":{"p50_us":%s,"cached_p50_us":%s,"qps":%s},"x_direct":{"p50":%s,"cached_p50":%s,"qps":%s}}\n' \
	"$ROUNDS" "$N" "${D[median_us]}" "${D[cached_median_us]}" "${D[qps]}" \
	"${F[median_us]}" "${F[cached_median_us]}" "${F[qps]}" \
	"${X[median_us]}" "${X[cached_median_us]}" "${X[qps]}" >"$OUT/dns.json"
