/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Helpers shared by the test and benchmark tools in tools/: usage errors,
 * the clock, number and address parsing, JSON strings, errno names, and
 * where a tool runs (-C CPU, -c CGROUP_DIR, -n NETNS). Header-only (static
 * inline): every tool is built from its one .c file.
 *
 * -c DIR joins a cgroup v2 directory before any socket exists (a socket is
 * charged to the cgroup of the process that creates it); -n NAME then enters
 * /run/netns/NAME with setns(), never "ip netns exec" (which remounts /sys and
 * hides the cgroup mount).
 */
#ifndef NETFENCE_TOOLS_TOOLKIT_H
#define NETFENCE_TOOLS_TOOLKIT_H

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
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
#include <sys/socket.h>

#define EXIT_OK 0
#define EXIT_ERR 1
#define EXIT_USAGE 2

/* ---------------------------------------------------------------------- */
/* Usage errors                                                            */
/* ---------------------------------------------------------------------- */

/*
 * usage_error() prints "Error: [PROG: ]MESSAGE[HINT]" on stderr and exits
 * with EXIT_USAGE. A tool that names itself there (the benchmarks) sets
 * usage_error_prog, one that points to its help sets usage_error_hint.
 */
static const char *usage_error_prog;
static const char *usage_error_hint;

static inline void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("Error: ", stderr);
	if (usage_error_prog)
		fprintf(stderr, "%s: ", usage_error_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (usage_error_hint)
		fputs(usage_error_hint, stderr);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

/* ---------------------------------------------------------------------- */
/* The monotonic clock                                                     */
/* ---------------------------------------------------------------------- */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* now_us() and now_ms() are signed: deadlines, time left. */
static inline int64_t now_us(void)
{
	return (int64_t)(now_ns() / 1000);
}

static inline int64_t now_ms(void)
{
	return (int64_t)(now_ns() / 1000000);
}

/* Milliseconds to deadline (a now_ms() value), 0 once past: a poll timeout. */
static inline int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	if (left < 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* Waits for events on fd until deadline: 1 ready, 0 timeout, -1 error. */
static inline int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	for (;;) {
		p.revents = 0;
		r = poll(&p, 1, remaining_ms(deadline));
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* ---------------------------------------------------------------------- */
/* Numbers                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * The whole of s as a number in [min, max], read by strtoul() in base (0:
 * also 0x.. and 0..), except that s must not start with a sign or a space.
 */
static inline bool parse_num(const char *s, int base, unsigned long min,
			     unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Decimal digits in [min, max], the whole string. */
static inline bool parse_ulong(const char *s, unsigned long min,
			       unsigned long max, unsigned long *out)
{
	return s && *s >= '0' && *s <= '9' && parse_num(s, 10, min, max, out);
}

/* The value of option -OPT, decimal in [min, max], or a usage error. */
static inline unsigned long opt_ulong(int opt, const char *arg,
				      unsigned long min, unsigned long max)
{
	unsigned long v;

	if (!parse_ulong(arg, min, max, &v))
		usage_error("bad -%c '%s' (%lu..%lu)", opt, arg, min, max);
	return v;
}

/* ---------------------------------------------------------------------- */
/* Addresses                                                               */
/* ---------------------------------------------------------------------- */

/*
 * "HOST:PORT" split at its last ':'. HOST, not empty and shorter than len,
 * goes into host; returns PORT, or NULL when there is no ':' or HOST does
 * not fit.
 */
static inline const char *split_hostport(const char *s, char *host, size_t len)
{
	const char *colon = strrchr(s, ':');
	size_t hl;

	if (!colon)
		return NULL;
	hl = (size_t)(colon - s);
	if (hl == 0 || hl >= len)
		return NULL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	return colon + 1;
}

/* An IPv4 literal and a port into sin. */
static inline bool ipv4_sockaddr(const char *host, unsigned long port,
				 struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return false;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return true;
}

/* "a.b.c.d:PORT", PORT in [minport, 65535], into sin. */
static inline bool parse_ipv4_port(const char *s, unsigned long minport,
				   struct sockaddr_in *sin)
{
	char host[INET_ADDRSTRLEN];
	const char *p = split_hostport(s, host, sizeof(host));
	unsigned long port;

	return p && parse_ulong(p, minport, 65535, &port) &&
	       ipv4_sockaddr(host, port, sin);
}

/* HOST PORT as two arguments: an IPv4 literal, a port from 1. */
static inline bool parse_ipv4_and_port(const char *host, const char *p,
				       struct sockaddr_in *sin)
{
	unsigned long port;

	return parse_ulong(p, 1, 65535, &port) &&
	       ipv4_sockaddr(host, port, sin);
}

/* a4 as ::ffff:a.b.c.d */
static inline void map_v4(const struct in_addr *a4, struct in6_addr *a6)
{
	memset(a6, 0, sizeof(*a6));
	a6->s6_addr[10] = 0xff;
	a6->s6_addr[11] = 0xff;
	memcpy(&a6->s6_addr[12], a4, 4);
}

static inline bool is_v4_mapped(const struct in6_addr *a)
{
	static const uint8_t pfx[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a->s6_addr, pfx, sizeof(pfx)) == 0;
}

/*
 * "a.b.c.d:port" or "[v6]:port" ("family=N" for another family); with unmap,
 * a v4-mapped address prints as IPv4.
 */
static inline void fmt_sockaddr(const struct sockaddr_storage *ss, bool unmap,
				char *out, size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	char ip[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(out, len, "%s:%u", ip, ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		if (unmap && is_v4_mapped(&sin6->sin6_addr)) {
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], ip,
				  sizeof(ip));
			snprintf(out, len, "%s:%u", ip, ntohs(sin6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
			snprintf(out, len, "[%s]:%u", ip,
				 ntohs(sin6->sin6_port));
		}
	} else {
		snprintf(out, len, "family=%d", ss->ss_family);
	}
}

/* ---------------------------------------------------------------------- */
/* Output                                                                  */
/* ---------------------------------------------------------------------- */

/*
 * s[0..n-1] as a JSON string into f: \" and \\, with named \n \r \t, every
 * other byte below 0x20 or from 0x7f as \u00XX (bytes, not UTF-8: always
 * valid JSON). Without named, \n \r \t are \u00XX too.
 */
static inline void json_str_esc(FILE *f, const char *s, size_t n, bool named)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (named && c == '\n')
			fputs("\\n", f);
		else if (named && c == '\r')
			fputs("\\r", f);
		else if (named && c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static inline void json_str(FILE *f, const char *s, size_t n)
{
	json_str_esc(f, s, n, true);
}

/* "ECONNREFUSED" and so on; "E<n>" for a number glibc has no name for. */
static inline const char *errname(int e)
{
	static char buf[16];
	const char *n = strerrorname_np(e);

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

/* ---------------------------------------------------------------------- */
/* Where a tool runs: -C CPU, -c CGROUP_DIR, -n NETNS                      */
/* ---------------------------------------------------------------------- */

/* -C CPU: run on that CPU only (less noise from migrations). */
static inline void pin_cpu(const char *arg)
{
	unsigned long cpu;
	cpu_set_t set;

	if (!parse_ulong(arg, 0, CPU_SETSIZE - 1, &cpu))
		usage_error("-C: bad CPU '%s'", arg);
	CPU_ZERO(&set);
	CPU_SET((int)cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		usage_error("-C: CPU %lu: %s", cpu, strerror(errno));
}

enum cgroup_step { CGROUP_PATH, CGROUP_OPEN, CGROUP_WRITE };

/*
 * Moves this process into the cgroup v2 directory dir: our pid into
 * dir/cgroup.procs. 0, or an errno with *failed (unless NULL) the step that
 * failed (CGROUP_PATH: the file name does not fit PATH_MAX).
 */
static inline int cgroup_enter(const char *dir, enum cgroup_step *failed)
{
	char path[PATH_MAX], pid[32];
	enum cgroup_step step;
	int fd, n, e = 0;
	ssize_t w;

	if (!failed)
		failed = &step;
	*failed = CGROUP_PATH;
	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >=
	    (int)sizeof(path))
		return ENAMETOOLONG;
	*failed = CGROUP_OPEN;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	*failed = CGROUP_WRITE;
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	w = write(fd, pid, (size_t)n);
	if (w != n)
		e = w < 0 ? errno : EIO;
	close(fd);
	return e;
}

/* -c DIR: cgroup_enter(), a failure being a usage error. */
static inline void join_cgroup(const char *dir)
{
	enum cgroup_step step;
	int e = cgroup_enter(dir, &step);

	if (!e)
		return;
	if (step == CGROUP_PATH)
		usage_error("-c: path too long");
	if (step == CGROUP_OPEN)
		usage_error("-c: open %s/cgroup.procs: %s", dir, strerror(e));
	usage_error("-c: join %s: %s", dir, strerror(e));
}

/*
 * The file of the network namespace NAME into path: /run/netns/NAME, or
 * NAME itself when it has a '/'. False when it does not fit (cut short).
 */
static inline bool netns_path(const char *name, char *path, size_t len)
{
	int n = strchr(name, '/') ? snprintf(path, len, "%s", name) :
				    snprintf(path, len, "/run/netns/%s", name);

	return n < (int)len;
}

/*
 * -n NAME: setns() into /run/netns/NAME, or with allow_path into the
 * namespace file NAME when it has a '/'. A failure is a usage error.
 */
static inline void join_netns(const char *name, bool allow_path)
{
	char path[PATH_MAX];
	int fd;

	if (!allow_path && (!*name || strchr(name, '/')))
		usage_error("-n: want a name under /run/netns, got '%s'", name);
	if (!*name)
		usage_error("-n: empty name");
	if (!netns_path(name, path, sizeof(path)))
		usage_error("-n: %s too long",
			    strchr(name, '/') ? "path" : "name");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		usage_error("-n: open %s: %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET)) {
		int e = errno;

		close(fd);
		usage_error("-n: setns %s: %s", path, strerror(e));
	}
	close(fd);
}

/* -C CPU, -c CGROUP_DIR and -n NETNS as given (NULL: not given). */
struct place {
	const char *cpu;
	const char *cgroup;
	const char *netns;
};

/*
 * getopt(), or getopt_long() with longopts, except that -C, -c and -n (those
 * of them optstring has) go into pl instead of being returned.
 */
static inline int place_getopt(int argc, char *argv[], const char *optstring,
			       const struct option *longopts, struct place *pl)
{
	int c;

	for (;;) {
		if (longopts)
			c = getopt_long(argc, argv, optstring, longopts, NULL);
		else
			c = getopt(argc, argv, optstring);
		if (c == 'C')
			pl->cpu = optarg;
		else if (c == 'c')
			pl->cgroup = optarg;
		else if (c == 'n')
			pl->netns = optarg;
		else
			return c;
	}
}

/*
 * Goes where pl says, in this order: the CPU, the network namespace (see
 * join_netns() for allow_path), then the cgroup, before any socket exists.
 * Namespace first: a probe in the agent cgroup but still in the host's
 * namespace, holding CAP_NET_RAW there, makes a concurrent attach refuse
 * the cgroup where the BPF LSM is missing (test_enforce's swap loop, 5.10).
 */
static inline void place_process(const struct place *pl, bool allow_path)
{
	if (pl->cpu)
		pin_cpu(pl->cpu);
	if (pl->netns)
		join_netns(pl->netns, allow_path);
	if (pl->cgroup)
		join_cgroup(pl->cgroup);
}

#endif /* NETFENCE_TOOLS_TOOLKIT_H */
