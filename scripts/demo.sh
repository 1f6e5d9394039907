#!/usr/bin/env bash
# netfence's main job on an embedded default: a real shell runs under `netfence run` with the
# embedded Squid, against local servers this script starts on loopback:
#   allowed.test  127.0.0.2:80   on the domain allowlist        -> through Squid
#   blocked.test  127.0.0.3:80   not on the allowlist           -> Squid refuses (403)
#   MCP gateway   127.0.0.1:18080, an allowed host port         -> direct (host bypass)
# and prints what was allowed, refused and bypassed, then writes the run's report
# (build/demo/report.html) and prints its path. Everything it starts is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "Error: the demo needs root (it attaches BPF programs to a cgroup)" >&2
	exit 1
fi
bash scripts/install-deps.sh
make -s all

work=$(mktemp -d /tmp/netfence-demo.XXXXXX)
logs=$PWD/build/demo
rm -rf "$logs"
pids=()
cleanup() {
	local p
	for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]+"${pids[@]}"}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

serve() {
	local name=$1 listen=$2
	build/tools/nfprobe serve --http --name "$name" --listen "$listen" \
		>"$work/$name.out" 2>"$work/$name.err" &
	pids+=($!)
	for _ in $(seq 50); do grep -q READY "$work/$name.out" && return 0; sleep 0.1; done
	echo "Error: $name did not start: $(cat "$work/$name.err")" >&2
	exit 1
}
serve allowed-site 127.0.0.2:80
serve blocked-site 127.0.0.3:80
serve mcp-gateway 127.0.0.1:18080

printf '127.0.0.2 allowed.test\n127.0.0.3 blocked.test\n' >"$work/hosts"

cat >"$work/agent.sh" <<'AGENT'
# runs inside the agent cgroup, under the policy
try() {
	local what=$1 out verdict
	shift
	out=$("$@" 2>&1)
	case "$out" in
	200*18080) verdict="BYPASSED  direct to the host port, Squid never saw it" ;;
	200*) verdict="ALLOWED   through Squid" ;;
	403*) verdict="REFUSED   by Squid (403)" ;;
	*"not permitted"* | *"Couldn't connect"* | *"Failed to connect"*)
		verdict="REFUSED   in the kernel (EPERM)" ;;
	*) verdict="?         $out" ;;
	esac
	printf '  %-46s %s\n' "$what" "$verdict"
}
code() { curl -sS -m 5 -o /dev/null -w '%{http_code} %{remote_port}' "$@"; }
echo "inside the agent cgroup ($(cat /proc/self/cgroup | sed -n 's/^0:://p')):"
try "http://allowed.test/        (allowlisted)"  code --resolve allowed.test:80:127.0.0.2 http://allowed.test/
try "http://blocked.test/        (not allowlisted)" code --resolve blocked.test:80:127.0.0.3 http://blocked.test/
try "http://127.0.0.2/           (raw IP)"       code http://127.0.0.2/
try "MCP gateway 127.0.0.1:18080 (host bypass)"  code http://127.0.0.1:18080/
try "127.0.0.2:8000              (other port)"   code http://127.0.0.2:8000/
try "127.0.0.1:5432              (dangerous port)" code http://127.0.0.1:5432/
try "UDP to 127.0.0.2:9999       (not DNS)"      bash -c 'echo x >/dev/udp/127.0.0.2/9999 && echo sent'
AGENT

echo "netfence run --allow-domains allowed.test --enable-host-access --allow-host-ports 18080 -- bash agent.sh"
set +e
build/netfence -v run --allow-domains allowed.test --hosts-file "$work/hosts" \
	--squid-allow-loopback --enable-host-access --allow-host-ports 18080 \
	--log-dir "$logs" -- bash "$work/agent.sh"
rc=$?
set -e
echo
echo "what Squid saw (access.log: client, original destination, host, status, result):"
awk '{ printf "  %-18s %-16s %-14s %s %s\n", $2, $3, $6, $9, $10 }' "$logs/access.log"
grep -q '127.0.0.1:18080' "$logs/access.log" &&
	echo "  (the MCP gateway appears above: it should not)" ||
	echo "  (the MCP gateway is not there: it went direct, through the host bypass)"
echo
echo "netfence run exited with $rc; cgroups, pins, Squid and its run directory are gone."
echo
echo "the run's report (netfence report --text $logs):"
build/netfence report --text "$logs" | sed 's/^/  /'
echo
echo "open it in a browser: file://$logs/report.html"
exit "$rc"
