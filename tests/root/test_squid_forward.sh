#!/usr/bin/env bash
# Squid smoke test for the generated configuration (user/squid_conf.c).
#
# Builds a throwaway driver around squid_conf_write() and cert_generate(),
# writes a config into a temp dir, checks that `squid -k parse` is clean,
# starts Squid on 127.0.0.1 high ports, measures start-to-listen, and sends
# allowed and refused requests through the forward-proxy port to a tiny
# origin on 127.0.0.1. Loopback only; the intercept ports are only checked
# for LISTEN, never connected to (a connection there without an original
# destination record would make Squid 5.7 stop accepting on that port).
#
# Needs root (Squid starts as root and switches to user proxy), squid,
# openssl, curl, python3 and gcc. Prints PASS/FAIL/SKIP lines and ends with
# "N passed, N failed, N skipped"; exits non-zero when anything failed.
set -euo pipefail

cd "$(dirname "$0")/../.."

SQUID=${SQUID:-/usr/sbin/squid}
WAIT_MS=${WAIT_MS:-10000}	# bound on every wait
pass=0
fail=0
skip=0
T=
squid_pid=
origin_pid=
svc="nfsmoke$$"	# squid -n: its shared memory segments are named after it

ok() { echo "PASS $*"; pass=$((pass + 1)); }
ko() { echo "FAIL $*"; fail=$((fail + 1)); }
sk() { echo "SKIP $*"; skip=$((skip + 1)); }
summary() { echo "$pass passed, $fail failed, $skip skipped"; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Stops a process we started: SIGTERM, then SIGKILL after a bounded wait.
stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap '' INT TERM HUP	# a second signal must not cut the cleanup short
	stop_pid "$squid_pid"
	stop_pid "$origin_pid"
	rm -f /dev/shm/"$svc"-*.shm 2>/dev/null || true
	[ -n "$T" ] && rm -rf -- "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Whether 127.0.0.1:PORT is in LISTEN (read from /proc: no connection made).
listening() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p="0100007F:$hex" 'NR > 1 && $2 == p && $4 == "0A" { f = 1 }
		END { exit !f }' /proc/net/tcp
}

# Whether any TCP socket (any address, any state) uses local port PORT.
port_used() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p { f = 1 }
		END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# A free port below the ephemeral range (no clash with outgoing
# connections), different from the ones given.
pick_port() {
	local p i lo=20000 hi
	read -r hi _ </proc/sys/net/ipv4/ip_local_port_range
	[ "$hi" -gt $((lo + 1000)) ] || { lo=10000; hi=20000; }
	for ((i = 0; i < 200; i++)); do
		p=$((lo + RANDOM % (hi - lo)))
		case " $* " in *" $p "*) continue ;; esac
		port_used "$p" || { echo "$p"; return 0; }
	done
	return 1
}

# --- prerequisites: a missing one is a counted skip, with its reason ---
if [ "$(id -u)" -ne 0 ]; then
	sk "squid smoke: needs root (Squid starts as root, then runs as proxy)"
	summary
	exit 0
fi
for tool in "$SQUID" openssl curl python3 gcc; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		sk "squid smoke: $tool not installed"
		summary
		exit 0
	fi
done
if ! id proxy >/dev/null 2>&1; then
	sk "squid smoke: no user 'proxy' for cache_effective_user"
	summary
	exit 0
fi

T=$(mktemp -d /tmp/netfence-squid-smoke.XXXXXX)
chmod 0711 "$T"			# proxy may traverse, not list
mkdir "$T/run" "$T/www"
chown proxy: "$T/run"		# Squid writes its logs here as proxy
chmod 0700 "$T/run"
marker="netfence-smoke-$$-$RANDOM"
echo "$marker" >"$T/www/index.html"

p_fwd=$(pick_port)
p_http=$(pick_port "$p_fwd")
p_tls=$(pick_port "$p_fwd" "$p_http")
p_origin=$(pick_port "$p_fwd" "$p_http" "$p_tls")
p_other=$(pick_port "$p_fwd" "$p_http" "$p_tls" "$p_origin")

# Squid reads hosts_file after it switched to proxy: world-readable.
cat >"$T/hosts" <<EOF
127.0.0.1 allowed.test sub.allowed.test blocked.allowed.test
127.0.0.1 wild.test sub.wild.test tlsonly.test notlisted.test
EOF
chmod 0644 "$T/hosts"

# --- the driver: squid_conf_write() and cert_generate() as the CLI will ---
cat >"$T/driver.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "squid_conf.h"

/* driver RUN ADDR HTTP HTTPS FWD HOSTS ALLOW BLOCK HTTP_PORTS OUT */
int main(int argc, char **argv)
{
	struct domain_list allow = { 0 }, block = { 0 };
	char err[512], cert[4096];
	uint16_t ports[8];
	size_t np = 0;
	char *spec, *tok, *save = NULL;
	FILE *f;
	int rc = 1;

	if (argc != 11) {
		fprintf(stderr, "usage: driver RUN ADDR HTTP HTTPS FWD HOSTS ALLOW BLOCK PORTS OUT\n");
		return 2;
	}
	if (domain_list_add_spec(&allow, argv[7], err, sizeof(err))) {
		fprintf(stderr, "allow: %s\n", err);
		goto out;
	}
	if (argv[8][0] && domain_list_add_spec(&block, argv[8], err, sizeof(err))) {
		fprintf(stderr, "block: %s\n", err);
		goto out;
	}
	spec = argv[9];
	for (tok = strtok_r(spec, ",", &save); tok && np < 8;
	     tok = strtok_r(NULL, ",", &save))
		ports[np++] = (uint16_t)atoi(tok);
	if (cert_generate(argv[1], cert, sizeof(cert), err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	struct squid_conf_opts o = {
		.run_dir = argv[1],
		.listen_addr = argv[2],
		.http_port = (uint16_t)atoi(argv[3]),
		.https_port = (uint16_t)atoi(argv[4]),
		.fwd_port = (uint16_t)atoi(argv[5]),
		.cert_path = cert,
		.hosts_file = argv[6],
		.allow = &allow,
		.block = &block,
		.http_ports = ports,
		.n_http_ports = np,
		/* the origin is on 127.0.0.1 */
		.allow_loopback_dst = true,
	};
	f = fopen(argv[10], "we");
	if (!f) {
		perror(argv[10]);
		goto out;
	}
	if (squid_conf_write(f, &o, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		fclose(f);
		goto out;
	}
	rc = fclose(f) ? 1 : 0;
out:
	domain_list_free(&allow);
	domain_list_free(&block);
	return rc;
}
EOF

if gcc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-format-truncation -Iinclude -Iuser \
	"$T/driver.c" user/squid_conf.c user/domains.c user/urls.c user/parse.c user/proc.c user/files.c user/cgroup.c -lidn2 -o "$T/driver" 2>"$T/gcc.err"; then
	ok "driver builds"
else
	ko "driver builds: $(head -3 "$T/gcc.err")"
	summary
	exit 1
fi

conf="$T/run/squid.conf"
if "$T/driver" "$T/run" 127.0.0.1 "$p_http" "$p_tls" "$p_fwd" "$T/hosts" \
	"allowed.test,*.wild.test,https://tlsonly.test" "blocked.allowed.test" \
	"80,$p_origin" "$conf" 2>"$T/driver.err"; then
	ok "config and certificate generated"
else
	ko "config and certificate generated: $(cat "$T/driver.err")"
	summary
	exit 1
fi

cert_mode=$(stat -c %a "$T/run/intercept.pem" 2>/dev/null || echo none)
if [ "$cert_mode" = 600 ]; then
	ok "certificate mode 0600"
else
	ko "certificate mode 0600 (got $cert_mode)"
fi

# --- squid -k parse: exit 0 and no warning or error line ---
if "$SQUID" -k parse -f "$conf" >"$T/parse.out" 2>&1; then
	if grep -Eiq 'warning|error|fatal|bungled' "$T/parse.out"; then
		ko "squid -k parse is clean: $(grep -Ei 'warning|error|fatal|bungled' "$T/parse.out" | head -3)"
	else
		ok "squid -k parse is clean"
	fi
else
	ko "squid -k parse is clean: $(tail -3 "$T/parse.out")"
fi

# --- the origin ---
python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$p_origin" \
	>"$T/origin.log" 2>&1 &
origin_pid=$!
deadline=$(($(now_ms) + WAIT_MS))
until curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$p_origin/"; do
	if [ "$(now_ms)" -ge "$deadline" ] || ! kill -0 "$origin_pid" 2>/dev/null; then
		ko "origin listens on 127.0.0.1:$p_origin: $(tail -2 "$T/origin.log")"
		summary
		exit 1
	fi
	sleep 0.05
done

# --- start Squid and time it until all three ports listen ---
t0=$(now_ms)
"$SQUID" -n "$svc" -N -f "$conf" >"$T/squid.out" 2>&1 &
squid_pid=$!
deadline=$((t0 + WAIT_MS))
up=0
while [ "$(now_ms)" -lt "$deadline" ] && kill -0 "$squid_pid" 2>/dev/null; do
	if listening "$p_fwd" && listening "$p_http" && listening "$p_tls"; then
		up=1
		break
	fi
	sleep 0.005
done
t_listen=$(($(now_ms) - t0))
if [ "$up" = 1 ]; then
	ok "squid listens on all three ports after ${t_listen} ms"
else
	ko "squid listens on all three ports within ${WAIT_MS} ms: $(tail -3 "$T/run/cache.log" 2>/dev/null || tail -3 "$T/squid.out")"
	summary
	exit 1
fi
# The forward port accepts (the intercept ports are not connected to).
deadline=$(($(now_ms) + WAIT_MS))
until (exec 3<>"/dev/tcp/127.0.0.1/$p_fwd") 2>/dev/null; do
	[ "$(now_ms)" -ge "$deadline" ] && break
	sleep 0.005
done
t_accept=$(($(now_ms) - t0))
echo "INFO start to accepting on the forward port: ${t_accept} ms"

user=$(ps -o user= -p "$squid_pid" | tr -d ' ')
if [ "$user" = proxy ]; then
	ok "squid runs as proxy"
else
	ko "squid runs as proxy (got '$user')"
fi

# --- requests through the forward port ---
# expect NAME STATUS CURL-ARGS...: the HTTP status (or the CONNECT status).
expect() {
	local name=$1 want=$2 got
	shift 2
	got=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 10 \
		-x "http://127.0.0.1:$p_fwd" "$@" 2>/dev/null) || true
	# curl reports a refused CONNECT as 000 with the proxy's code separate
	if [ "$got" = 000 ]; then
		got=$(curl -s -o /dev/null -w '%{http_connect}' --max-time 10 \
			-x "http://127.0.0.1:$p_fwd" "$@" 2>/dev/null) || true
	fi
	if [ "$got" = "$want" ]; then
		ok "$name: $want"
	else
		ko "$name: want $want, got $got"
	fi
}

expect "allowed apex" 200 "http://allowed.test:$p_origin/"
if grep -qx "$marker" "$T/body" 2>/dev/null; then
	ok "allowed apex: origin's body"
else
	ko "allowed apex: origin's body"
fi
expect "allowed subdomain" 200 "http://sub.allowed.test:$p_origin/"
expect "blocked beats allowed" 403 "http://blocked.allowed.test:$p_origin/"
expect "unlisted" 403 "http://notlisted.test:$p_origin/"
expect "raw IP unlisted" 403 "http://127.0.0.1:$p_origin/"
expect "wildcard apex" 403 "http://wild.test:$p_origin/"
expect "wildcard subdomain" 200 "http://sub.wild.test:$p_origin/"
expect "https:// item over plain HTTP" 403 "http://tlsonly.test:$p_origin/"
expect "allowed name, port not an HTTP port" 403 "http://allowed.test:$p_other/"
expect "CONNECT to a port not TLS" 403 -p "http://allowed.test:$p_origin/"
expect "upper case and trailing dot" 200 "http://ALLOWED.test.:$p_origin/"

# --- the access log ---
log="$T/run/access.log"
if [ -s "$log" ] && grep -q " GET allowed.test " "$log" &&
	grep -q "TCP_DENIED" "$log"; then
	ok "access.log records allowed and denied requests"
else
	ko "access.log records allowed and denied requests"
fi
if awk -v f="127.0.0.1:$p_fwd" '$4 == f && NF == 14 { n++ } END { exit !n }' "$log"; then
	ok "access.log lines have the 14 netfence fields"
else
	ko "access.log lines have the 14 netfence fields: $(head -1 "$log")"
fi
if kill -0 "$squid_pid" 2>/dev/null; then
	ok "squid still running"
else
	ko "squid still running"
fi

# --- stop it: SIGTERM, bounded ---
t0=$(now_ms)
kill -TERM "$squid_pid"
deadline=$((t0 + WAIT_MS))
while kill -0 "$squid_pid" 2>/dev/null && [ "$(now_ms)" -lt "$deadline" ]; do
	sleep 0.02
done
if kill -0 "$squid_pid" 2>/dev/null; then
	ko "squid exits on SIGTERM within ${WAIT_MS} ms"
else
	wait "$squid_pid" 2>/dev/null || true
	ok "squid exits on SIGTERM after $(($(now_ms) - t0)) ms"
	squid_pid=
	if [ ! -e "$T/run/squid.pid" ]; then
		ok "pid file removed"
	else
		ko "pid file removed"
	fi
	if compgen -G "/dev/shm/$svc-*" >/dev/null; then
		ko "shared memory segments removed"
	else
		ok "shared memory segments removed"
	fi
fi

summary
[ "$fail" -eq 0 ]
