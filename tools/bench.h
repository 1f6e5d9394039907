/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Helpers shared by the benchmark tools (tools/bench_*.c): usage errors,
 * number and address parsing, joining a cgroup and a network namespace,
 * CPU pinning and the clock. Header-only (static inline): every tool is
 * built from its one .c file.
 *
 * -c DIR joins a cgroup v2 directory before any socket exists (a socket is
 * charged to the cgroup of the process that creates it); -n NAME then enters
 * /run/netns/NAME with setns(), never "ip netns exec" (which remounts /sys and
 * hides the cgroup mount), as tools/nfprobe does.
 */
#ifndef NETFENCE_TOOLS_BENCH_H
#define NETFENCE_TOOLS_BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#define BENCH_EXIT_OK 0
#define BENCH_EXIT_ERR 1
#define BENCH_EXIT_USAGE 2

static const char *bench_prog = "bench";

static inline void __attribute__((format(printf, 1, 2), noreturn))
bench_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "Error: %s: ", bench_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(BENCH_EXIT_USAGE);
}

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Decimal number in [min, max], the whole string. */
static inline bool bench_parse_ulong(const char *s, unsigned long min,
				     unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* "a.b.c.d:PORT" into sin (IPv4 only: the benchmark is an IPv4 one). */
static inline bool bench_parse_hostport(const char *s, struct sockaddr_in *sin)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	unsigned long port;
	size_t hl;

	if (!colon || !bench_parse_ulong(colon + 1, 0, 65535, &port))
		return false;
	hl = (size_t)(colon - s);
	if (hl == 0 || hl >= sizeof(host))
		return false;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(sin, 0, sizeof(*sin));
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return false;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return true;
}

/* HOST PORT as two arguments. */
static inline bool bench_parse_host_and_port(const char *host, const char *p,
					     struct sockaddr_in *sin)
{
	unsigned long port;

	if (!bench_parse_ulong(p, 1, 65535, &port))
		return false;
	memset(sin, 0, sizeof(*sin));
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return false;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return true;
}

static inline void bench_join_cgroup(const char *dir)
{
	char path[PATH_MAX], pid[32];
	int fd, n;
	ssize_t w;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >=
	    (int)sizeof(path))
		bench_usage_error("-c: path too long");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		bench_usage_error("-c: open %s: %s", path, strerror(errno));
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	w = write(fd, pid, (size_t)n);
	if (w != n) {
		int e = w < 0 ? errno : EIO;

		close(fd);
		bench_usage_error("-c: join %s: %s", dir, strerror(e));
	}
	close(fd);
}

static inline void bench_join_netns(const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (!*name || strchr(name, '/'))
		bench_usage_error("-n: want a name under /run/netns, got '%s'",
				  name);
	if (snprintf(path, sizeof(path), "/run/netns/%s", name) >=
	    (int)sizeof(path))
		bench_usage_error("-n: name too long");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		bench_usage_error("-n: open %s: %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET)) {
		int e = errno;

		close(fd);
		bench_usage_error("-n: setns %s: %s", path, strerror(e));
	}
	close(fd);
}

/* -C CPU: run on that CPU only (less noise from migrations). */
static inline void bench_pin_cpu(const char *arg)
{
	unsigned long cpu;
	cpu_set_t set;

	if (!bench_parse_ulong(arg, 0, CPU_SETSIZE - 1, &cpu))
		bench_usage_error("-C: bad CPU '%s'", arg);
	CPU_ZERO(&set);
	CPU_SET((int)cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		bench_usage_error("-C: CPU %lu: %s", cpu, strerror(errno));
}

#endif /* NETFENCE_TOOLS_BENCH_H */
