// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * nfprobe: the test probe of the root integration tests.
 *
 *   nfprobe [-c CGROUP_DIR] [-n NETNS] COMMAND ARGS...
 *
 * -n enters a network namespace with setns() (never "ip netns exec", which
 * remounts /sys and hides the cgroup mount), -c then joins a cgroup v2
 * directory (so every socket the probe creates is charged to it).
 *
 * Commands:
 *   serve    TCP/UDP servers: HELLO answers, SO_ORIGINAL_DST lookups like a
 *            transparent proxy, and Squid 5.7's "stop accepting after one
 *            failed lookup" bug (--strict).
 *   connect  one TCP or UDP exchange, reported as one line of JSON.
 *   storm    many TCP connects, each reset right after the handshake.
 *
 * Exit status: 0 ok, 1 error, 2 bad usage or setup failure, 3 timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
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
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "toolkit.h"

/* <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h> */
#define NFP_SO_ORIGINAL_DST	80
#define NFP_IP6T_SO_ORIGINAL_DST	80

#define EXIT_TIMEOUT	3

#define MAX_LISTENERS	64
#define MAX_NAME	128
#define MAX_LINE	4096
#define ADDR_STRLEN	(INET6_ADDRSTRLEN + 16)
#define STORM_MAX	100000
#define STORM_BATCH	512
#define STORM_WAIT_MS	1000
#define ACCEPT_BURST	64

static const char *prog = "nfprobe";

/* ---------------------------------------------------------------------- */
/* Small helpers                                                           */
/* ---------------------------------------------------------------------- */

/*
 * The errnos nfprobe names; any other prints as E<n> (where errname() would
 * give glibc's name).
 */
static const struct {
	int num;
	const char *name;
} errno_names[] = {
	{ EPERM, "EPERM" },		{ ENOENT, "ENOENT" },
	{ ESRCH, "ESRCH" },		{ EINTR, "EINTR" },
	{ EIO, "EIO" },			{ ENXIO, "ENXIO" },
	{ E2BIG, "E2BIG" },		{ EBADF, "EBADF" },
	{ EAGAIN, "EAGAIN" },		{ ENOMEM, "ENOMEM" },
	{ EACCES, "EACCES" },		{ EFAULT, "EFAULT" },
	{ EBUSY, "EBUSY" },		{ EEXIST, "EEXIST" },
	{ ENODEV, "ENODEV" },		{ ENOTDIR, "ENOTDIR" },
	{ EINVAL, "EINVAL" },		{ ENFILE, "ENFILE" },
	{ EMFILE, "EMFILE" },		{ ENOSPC, "ENOSPC" },
	{ EPIPE, "EPIPE" },		{ ERANGE, "ERANGE" },
	{ ENOSYS, "ENOSYS" },		{ ENODATA, "ENODATA" },
	{ ENOTSOCK, "ENOTSOCK" },	{ EDESTADDRREQ, "EDESTADDRREQ" },
	{ EMSGSIZE, "EMSGSIZE" },	{ EPROTOTYPE, "EPROTOTYPE" },
	{ ENOPROTOOPT, "ENOPROTOOPT" },
	{ EPROTONOSUPPORT, "EPROTONOSUPPORT" },
	{ EOPNOTSUPP, "EOPNOTSUPP" },	{ EAFNOSUPPORT, "EAFNOSUPPORT" },
	{ EADDRINUSE, "EADDRINUSE" },	{ EADDRNOTAVAIL, "EADDRNOTAVAIL" },
	{ ENETDOWN, "ENETDOWN" },	{ ENETUNREACH, "ENETUNREACH" },
	{ ENETRESET, "ENETRESET" },	{ ECONNABORTED, "ECONNABORTED" },
	{ ECONNRESET, "ECONNRESET" },	{ ENOBUFS, "ENOBUFS" },
	{ EISCONN, "EISCONN" },		{ ENOTCONN, "ENOTCONN" },
	{ ETIMEDOUT, "ETIMEDOUT" },	{ ECONNREFUSED, "ECONNREFUSED" },
	{ EHOSTDOWN, "EHOSTDOWN" },	{ EHOSTUNREACH, "EHOSTUNREACH" },
	{ EALREADY, "EALREADY" },	{ EINPROGRESS, "EINPROGRESS" },
	{ EPROTO, "EPROTO" },		{ ENOTSUP, "ENOTSUP" },
};

static const char *errno_name(int e, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].num == e)
			return errno_names[i].name;
	snprintf(buf, len, "E%d", e);
	return buf;
}

static bool parse_port(const char *s, uint16_t *port)
{
	unsigned long v;

	if (!parse_num(s, 10, 0, 65535, &v))
		return false;
	*port = (uint16_t)v;
	return true;
}

/*
 * An IP literal (brackets allowed around IPv6) into ss. With want_v6 an
 * IPv4 literal becomes ::ffff:a.b.c.d on AF_INET6.
 */
static bool parse_ip(const char *s, bool want_v6, uint16_t port,
		     struct sockaddr_storage *ss, socklen_t *len)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(s);
	struct in_addr a4;
	struct in6_addr a6;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return false;
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
	} else {
		if (n >= sizeof(buf))
			return false;
		memcpy(buf, s, n + 1);
		if (inet_pton(AF_INET, buf, &a4) == 1) {
			if (!want_v6) {
				sin->sin_family = AF_INET;
				sin->sin_port = htons(port);
				sin->sin_addr = a4;
				*len = sizeof(*sin);
				return true;
			}
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(port);
			map_v4(&a4, &sin6->sin6_addr);
			*len = sizeof(*sin6);
			return true;
		}
	}
	if (inet_pton(AF_INET6, buf, &a6) != 1)
		return false;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	sin6->sin6_addr = a6;
	*len = sizeof(*sin6);
	return true;
}

/*
 * "a.b.c.d:PORT" (family AF_INET) or "[v6]:PORT" (AF_INET6); AF_UNSPEC
 * takes either.
 */
static bool parse_hostport(const char *s, int family,
			   struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *p = split_hostport(s, host, sizeof(host));
	size_t hl;
	uint16_t port;

	if (!p || !parse_port(p, &port))
		return false;
	hl = strlen(host);
	if (host[0] == '[') {
		if (host[hl - 1] != ']' || family == AF_INET)
			return false;
	} else if (family == AF_INET6 || strchr(host, ':')) {
		return false;
	}
	if (!parse_ip(host, false, port, ss, len))
		return false;
	return family == AF_UNSPEC || ss->ss_family == family;
}

static void set_linger0(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* Unknown option or missing argument, from getopt_long with ":" first. */
static void __attribute__((noreturn))
bad_option(const char *cmd, int c, char *const argv[])
{
	const char *what = argv[optind - 1];

	if (c == ':')
		usage_error("%s: option '%s' needs an argument", cmd, what);
	if (optopt)
		usage_error("%s: unknown option '-%c'", cmd, optopt);
	usage_error("%s: unknown option '%s'", cmd, what);
}

/* ---------------------------------------------------------------------- */
/* serve                                                                   */
/* ---------------------------------------------------------------------- */

enum lkind { L_TCP, L_UDP };

struct listener {
	int fd;
	enum lkind kind;
	bool active;		/* in the poll set */
	char label[ADDR_STRLEN + 8];
};

struct serve_opts {
	const char *name;
	bool orig;
	bool orig_squid;
	bool strict;
	bool http;		/* answer one HTTP request with 200 "HELLO NAME" */
	unsigned long max;	/* 0: unlimited */
};

struct serve_stats {
	unsigned long accepted;
	unsigned long orig_ok;
	unsigned long orig_err;
};

static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_usr1;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

static void print_stats(const struct serve_stats *st)
{
	fprintf(stderr, "stats accepted=%lu orig_ok=%lu orig_err=%lu\n",
		st->accepted, st->orig_ok, st->orig_err);
}

static int open_listener(struct listener *l, enum lkind kind,
			 const struct sockaddr_storage *ss, socklen_t len)
{
	int type = kind == L_TCP ? SOCK_STREAM : SOCK_DGRAM;
	char ebuf[16];
	int one = 1, zero = 0;
	int fd;

	l->kind = kind;
	l->active = true;
	fmt_sockaddr(ss, false, l->label, sizeof(l->label));
	if (kind == L_UDP) {
		size_t n = strlen(l->label);

		snprintf(l->label + n, sizeof(l->label) - n, "/udp");
	}
	fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "Error: socket for %s: %s\n", l->label,
			errno_name(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	l->fd = fd;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (ss->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)))) {
		fprintf(stderr, "Error: setsockopt on %s: %s\n", l->label,
			errno_name(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)ss, len)) {
		fprintf(stderr, "Error: bind %s: %s\n", l->label,
			errno_name(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (kind == L_TCP && listen(fd, SOMAXCONN)) {
		fprintf(stderr, "Error: listen %s: %s\n", l->label,
			errno_name(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	return 0;
}

/*
 * The original destination of an accepted connection, as a transparent
 * proxy asks for it. By default the level follows the socket family
 * (SOL_IP + sockaddr_in on AF_INET, SOL_IPV6 + sockaddr_in6 on AF_INET6).
 * With orig_squid it follows Squid 5.7 (Ip::Intercept::NetfilterInterception),
 * which decides on the *local address*: a v4-mapped local address on an
 * AF_INET6 socket is asked with SOL_IP and a sockaddr_in.
 * Returns true on success; the answer (without newline) is in out.
 */
static bool lookup_orig(int fd, int family, bool orig_squid, char *out,
			size_t len)
{
	struct sockaddr_storage ss, local;
	socklen_t optlen, want, llen = sizeof(local);
	char addr[ADDR_STRLEN], ebuf[16];
	bool v4 = family == AF_INET;
	int n = 0;

	if (!v4 && orig_squid &&
	    getsockname(fd, (struct sockaddr *)&local, &llen) == 0 &&
	    local.ss_family == AF_INET6 &&
	    is_v4_mapped(&((struct sockaddr_in6 *)&local)->sin6_addr))
		v4 = true;

	memset(&ss, 0, sizeof(ss));
	want = v4 ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	optlen = want;
	if (getsockopt(fd, v4 ? SOL_IP : SOL_IPV6,
		       v4 ? NFP_SO_ORIGINAL_DST : NFP_IP6T_SO_ORIGINAL_DST,
		       &ss, &optlen)) {
		snprintf(out, len, "ORIGERR %s",
			 errno_name(errno, ebuf, sizeof(ebuf)));
		return false;
	}
	if (v4 && ss.ss_family != AF_INET) {
		/* Squid reads the bytes as an IPv4 sockaddr anyway */
		uint16_t fam = ss.ss_family;

		ss.ss_family = AF_INET;
		fmt_sockaddr(&ss, true, addr, sizeof(addr));
		n = snprintf(out, len, "ORIG %s family=%u", addr, fam);
	} else {
		fmt_sockaddr(&ss, true, addr, sizeof(addr));
		n = snprintf(out, len, "ORIG %s", addr);
	}
	if (optlen != want && n > 0 && (size_t)n < len)
		snprintf(out + n, len - (size_t)n, " len=%u", optlen);
	return true;
}

/*
 * --http: read the request head (bounded: 8 KiB, 2 s), answer 200 with the
 * body "HELLO NAME\n", close.
 */
static void serve_http(int cfd, const char *paddr, const struct serve_opts *o)
{
	struct timeval tv = { .tv_sec = 2 };
	char req[8192], resp[MAX_NAME + 160], method[16] = "-";
	size_t got = 0;
	ssize_t n;
	int len;

	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < sizeof(req) - 1) {
		n = recv(cfd, req + got, sizeof(req) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[got] = '\0';
	sscanf(req, "%15s", method);
	len = snprintf(resp, sizeof(resp),
		       "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		       "Content-Length: %zu\r\nConnection: close\r\n\r\n"
		       "HELLO %s\n",
		       strlen(o->name) + 7, o->name);
	if (send(cfd, resp, (size_t)len, MSG_NOSIGNAL) < 0)
		fprintf(stderr, "http %s: send failed\n", paddr);
	fprintf(stderr, "http %s %s -> 200 HELLO %s\n", paddr, method, o->name);
	close(cfd);
}

/* Returns true when the listener must stop (strict mode, failed lookup). */
static bool serve_conn(struct listener *l, int cfd,
		       const struct sockaddr_storage *peer,
		       const struct serve_opts *o, struct serve_stats *st)
{
	char answer[MAX_NAME + ADDR_STRLEN + 32];
	char paddr[ADDR_STRLEN], ebuf[16];
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	bool failed = false;
	size_t n;

	fmt_sockaddr(peer, false, paddr, sizeof(paddr));
	if (o->http) {
		serve_http(cfd, paddr, o);
		return false;
	}
	if (o->orig) {
		int family = AF_INET;

		if (getsockname(cfd, (struct sockaddr *)&local, &llen) == 0)
			family = local.ss_family;
		if (lookup_orig(cfd, family, o->orig_squid, answer,
				sizeof(answer))) {
			st->orig_ok++;
		} else {
			st->orig_err++;
			failed = true;
		}
	} else {
		snprintf(answer, sizeof(answer), "HELLO %s", o->name);
	}
	fprintf(stderr, "conn %s -> %s\n", paddr, answer);
	n = strlen(answer);
	answer[n++] = '\n';
	/* a client that already reset makes this fail: nothing to do */
	if (send(cfd, answer, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		fprintf(stderr, "conn %s: send failed: %s\n", paddr,
			errno_name(errno, ebuf, sizeof(ebuf)));
	close(cfd);
	if (failed && o->strict) {
		fprintf(stderr, "strict: stopped listening on %s\n", l->label);
		return true;
	}
	return false;
}

/* Accept what is queued; returns true when --max is reached. */
static bool serve_accept(struct listener *l, const struct serve_opts *o,
			 struct serve_stats *st)
{
	char ebuf[16];
	int i;

	for (i = 0; i < ACCEPT_BURST && l->active; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int cfd;

		memset(&peer, 0, sizeof(peer));
		cfd = accept4(l->fd, (struct sockaddr *)&peer, &plen,
			      SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EPROTO)
				continue;
			fprintf(stderr, "accept on %s: %s\n", l->label,
				errno_name(errno, ebuf, sizeof(ebuf)));
			break;
		}
		st->accepted++;
		if (serve_conn(l, cfd, &peer, o, st))
			/*
			 * Squid 5.7: the socket stays in LISTEN, nothing
			 * accepts any more, later clients hang.
			 */
			l->active = false;
		if (o->max && st->accepted >= o->max)
			return true;
	}
	return false;
}

static void serve_udp(struct listener *l, const struct serve_opts *o)
{
	char buf[2048], reply[MAX_NAME + 8], paddr[ADDR_STRLEN];
	char ebuf[16];
	int i, n;

	n = snprintf(reply, sizeof(reply), "HELLO %s\n", o->name);
	for (i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		ssize_t r;

		memset(&peer, 0, sizeof(peer));
		r = recvfrom(l->fd, buf, sizeof(buf), 0,
			     (struct sockaddr *)&peer, &plen);
		if (r < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				fprintf(stderr, "recvfrom on %s: %s\n",
					l->label,
					errno_name(errno, ebuf, sizeof(ebuf)));
			break;
		}
		fmt_sockaddr(&peer, false, paddr, sizeof(paddr));
		fprintf(stderr, "udp %s -> HELLO %s\n", paddr, o->name);
		if (sendto(l->fd, reply, (size_t)n, MSG_NOSIGNAL,
			   (struct sockaddr *)&peer, plen) < 0)
			fprintf(stderr, "udp %s: sendto failed: %s\n", paddr,
				errno_name(errno, ebuf, sizeof(ebuf)));
	}
}

static int cmd_serve(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "orig", no_argument, NULL, 'o' },
		{ "orig-squid", no_argument, NULL, 'Q' },
		{ "strict", no_argument, NULL, 's' },
		{ "http", no_argument, NULL, 'H' },
		{ "listen", required_argument, NULL, 'l' },
		{ "listen6", required_argument, NULL, '6' },
		{ "udp", required_argument, NULL, 'u' },
		{ "max", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct listener ls[MAX_LISTENERS];
	struct pollfd pfd[MAX_LISTENERS];
	struct sockaddr_storage addrs[MAX_LISTENERS];
	socklen_t alen[MAX_LISTENERS];
	enum lkind kinds[MAX_LISTENERS];
	struct serve_opts o = { 0 };
	struct serve_stats st = { 0 };
	struct sigaction sa;
	sigset_t block, orig;
	int nl = 0, i, c, rc = EXIT_OK;
	bool done = false;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'N':
			if (!*optarg || strlen(optarg) >= MAX_NAME ||
			    strpbrk(optarg, "\n\r"))
				usage_error("serve: --name must be 1..%d "
					    "characters on one line",
					    MAX_NAME - 1);
			o.name = optarg;
			break;
		case 'o':
			o.orig = true;
			break;
		case 'Q':
			o.orig = true;
			o.orig_squid = true;
			break;
		case 's':
			o.strict = true;
			break;
		case 'H':
			o.http = true;
			break;
		case 'l':
		case '6':
		case 'u':
			if (nl >= MAX_LISTENERS)
				usage_error("serve: at most %d listeners",
					    MAX_LISTENERS);
			if (!parse_hostport(optarg,
					    c == 'l' ? AF_INET :
					    c == '6' ? AF_INET6 : AF_UNSPEC,
					    &addrs[nl], &alen[nl]))
				usage_error("serve: bad address '%s' for "
					    "--%s (want %s)", optarg,
					    c == 'l' ? "listen" :
					    c == '6' ? "listen6" : "udp",
					    c == 'l' ? "IP:PORT" :
					    c == '6' ? "[IP6]:PORT" :
					    "IP:PORT or [IP6]:PORT");
			kinds[nl++] = c == 'u' ? L_UDP : L_TCP;
			break;
		case 'm':
			if (!parse_num(optarg, 10, 1, ULONG_MAX / 2, &o.max))
				usage_error("serve: bad --max '%s'", optarg);
			break;
		default:
			bad_option("serve", c, argv);
		}
	}
	if (optind < argc)
		usage_error("serve: unexpected argument '%s'", argv[optind]);
	if (!o.name)
		usage_error("serve: --name is required");
	if (!nl)
		usage_error("serve: give at least one --listen, --listen6 or "
			    "--udp");
	if (o.strict && !o.orig)
		usage_error("serve: --strict needs --orig");

	/* Signals only arrive inside ppoll(): no race, no SA_RESTART. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &orig);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigdelset(&orig, SIGTERM);
	sigdelset(&orig, SIGINT);
	sigdelset(&orig, SIGUSR1);

	for (i = 0; i < nl; i++) {
		ls[i].fd = -1;
		if (open_listener(&ls[i], kinds[i], &addrs[i], alen[i])) {
			rc = EXIT_ERR;
			nl = i + 1;
			goto out;
		}
	}
	printf("READY\n");
	fflush(stdout);

	while (!done && !got_term) {
		int np = 0, idx[MAX_LISTENERS];

		for (i = 0; i < nl; i++) {
			if (!ls[i].active)
				continue;
			pfd[np].fd = ls[i].fd;
			pfd[np].events = POLLIN;
			pfd[np].revents = 0;
			idx[np++] = i;
		}
		if (ppoll(pfd, (nfds_t)np, NULL, &orig) < 0) {
			if (errno != EINTR) {
				perror("ppoll");
				rc = EXIT_ERR;
				break;
			}
		} else {
			for (i = 0; i < np && !done; i++) {
				struct listener *l = &ls[idx[i]];

				if (!pfd[i].revents)
					continue;
				if (l->kind == L_UDP)
					serve_udp(l, &o);
				else
					done = serve_accept(l, &o, &st);
			}
		}
		if (got_usr1) {
			got_usr1 = 0;
			print_stats(&st);
		}
	}
	print_stats(&st);
out:
	for (i = 0; i < nl; i++)
		if (ls[i].fd >= 0)
			close(ls[i].fd);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* connect                                                                 */
/* ---------------------------------------------------------------------- */

static int report_error(const char *stage, int err)
{
	char ebuf[16];

	printf("{\"result\":\"error\",\"stage\":\"%s\",\"errno\":%d,"
	       "\"error\":\"%s\"}\n",
	       stage, err, errno_name(err, ebuf, sizeof(ebuf)));
	return EXIT_ERR;
}

static int report_timeout(const char *stage)
{
	printf("{\"result\":\"timeout\",\"stage\":\"%s\"}\n", stage);
	return EXIT_TIMEOUT;
}

static int report_ok(const char *reply, size_t n,
		     const struct sockaddr_storage *peer)
{
	char paddr[ADDR_STRLEN];

	fmt_sockaddr(peer, false, paddr, sizeof(paddr));
	fputs("{\"result\":\"ok\",\"reply\":", stdout);
	json_str(stdout, reply, n);
	fputs(",\"peer\":", stdout);
	json_str(stdout, paddr, strlen(paddr));
	fputs("}\n", stdout);
	return EXIT_OK;
}

static size_t strip_eol(const char *buf, size_t n)
{
	if (n && buf[n - 1] == '\n')
		n--;
	if (n && buf[n - 1] == '\r')
		n--;
	return n;
}

struct connect_opts {
	bool udp, connected, v6, linger0;
	unsigned long timeout;
	const char *send;
	bool have_bind;
	struct sockaddr_storage bind;
	socklen_t bind_len;
};

static int do_tcp(const struct connect_opts *o,
		  const struct sockaddr_storage *dst, socklen_t dlen)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	char buf[MAX_LINE];
	size_t got = 0;
	int64_t deadline;
	int fd, r, err = 0, rc;
	socklen_t elen = sizeof(err);

	fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return report_error("socket", errno);
	if (o->have_bind &&
	    bind(fd, (const struct sockaddr *)&o->bind, o->bind_len)) {
		rc = report_error("socket", errno);
		goto out;
	}

	deadline = now_ms() + (int64_t)o->timeout;
	if (connect(fd, (const struct sockaddr *)dst, dlen)) {
		if (errno != EINPROGRESS) {
			rc = report_error("connect", errno);
			goto out;
		}
		r = wait_fd(fd, POLLOUT, deadline);
		if (r == 0) {
			rc = report_timeout("connect");
			goto out;
		}
		if (r < 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen)) {
			rc = report_error("connect", errno);
			goto out;
		}
		if (err) {
			rc = report_error("connect", err);
			goto out;
		}
	}
	memset(&peer, 0, sizeof(peer));
	if (getpeername(fd, (struct sockaddr *)&peer, &plen)) {
		rc = report_error("connect", errno);
		goto out;
	}

	if (o->send) {
		size_t len = strlen(o->send), off = 0;

		deadline = now_ms() + (int64_t)o->timeout;
		while (off < len) {
			ssize_t w = send(fd, o->send + off, len - off,
					 MSG_NOSIGNAL);

			if (w >= 0) {
				off += (size_t)w;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				rc = report_error("send", errno);
				goto out;
			}
			r = wait_fd(fd, POLLOUT, deadline);
			if (r == 0) {
				rc = report_timeout("send");
				goto out;
			}
			if (r < 0) {
				rc = report_error("send", errno);
				goto out;
			}
		}
	}

	deadline = now_ms() + (int64_t)o->timeout;
	while (got < sizeof(buf)) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - got, 0);

		if (n > 0) {
			/* one line: stop at the first newline */
			char *nl = memchr(buf + got, '\n', (size_t)n);

			if (nl) {
				got = (size_t)(nl - buf) + 1;
				break;
			}
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			rc = report_error("recv", errno);
			goto out;
		}
		r = wait_fd(fd, POLLIN, deadline);
		if (r == 0) {
			rc = report_timeout("recv");
			goto out;
		}
		if (r < 0) {
			rc = report_error("recv", errno);
			goto out;
		}
	}
	rc = report_ok(buf, strip_eol(buf, got), &peer);
out:
	if (o->linger0)
		set_linger0(fd);
	close(fd);
	return rc;
}

static int do_udp(const struct connect_opts *o,
		  const struct sockaddr_storage *dst, socklen_t dlen)
{
	const char *payload = o->send ? o->send : "ping";
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	char buf[MAX_LINE];
	int64_t deadline;
	ssize_t n;
	int fd, r, rc;

	fd = socket(dst->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return report_error("socket", errno);
	if (o->have_bind &&
	    bind(fd, (const struct sockaddr *)&o->bind, o->bind_len)) {
		rc = report_error("socket", errno);
		goto out;
	}
	if (o->connected) {
		if (connect(fd, (const struct sockaddr *)dst, dlen)) {
			rc = report_error("connect", errno);
			goto out;
		}
		n = send(fd, payload, strlen(payload), MSG_NOSIGNAL);
	} else {
		n = sendto(fd, payload, strlen(payload), MSG_NOSIGNAL,
			   (const struct sockaddr *)dst, dlen);
	}
	if (n < 0) {
		rc = report_error("send", errno);
		goto out;
	}

	deadline = now_ms() + (int64_t)o->timeout;
	for (;;) {
		r = wait_fd(fd, POLLIN, deadline);
		if (r == 0) {
			rc = report_timeout("recv");
			goto out;
		}
		if (r < 0) {
			rc = report_error("recv", errno);
			goto out;
		}
		memset(&peer, 0, sizeof(peer));
		plen = sizeof(peer);
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&peer, &plen);
		if (n >= 0)
			break;
		if (errno != EINTR && errno != EAGAIN &&
		    errno != EWOULDBLOCK) {
			rc = report_error("recv", errno);
			goto out;
		}
	}
	rc = report_ok(buf, strip_eol(buf, (size_t)n), &peer);
out:
	close(fd);
	return rc;
}

static int cmd_connect(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "udp", no_argument, NULL, 'u' },
		{ "connected", no_argument, NULL, 'C' },
		{ "v6", no_argument, NULL, '6' },
		{ "timeout", required_argument, NULL, 't' },
		{ "send", required_argument, NULL, 's' },
		{ "linger0", no_argument, NULL, 'L' },
		{ "bind", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	struct connect_opts o = { .timeout = 2000 };
	struct sockaddr_storage dst;
	const char *bind_arg = NULL;
	socklen_t dlen;
	uint16_t port;
	int c;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			o.udp = true;
			break;
		case 'C':
			o.connected = true;
			break;
		case '6':
			o.v6 = true;
			break;
		case 't':
			if (!parse_num(optarg, 10, 1, 600000, &o.timeout))
				usage_error("connect: bad --timeout '%s' "
					    "(1..600000 ms)", optarg);
			break;
		case 's':
			o.send = optarg;
			break;
		case 'L':
			o.linger0 = true;
			break;
		case 'b':
			bind_arg = optarg;
			break;
		default:
			bad_option("connect", c, argv);
		}
	}
	if (argc - optind != 2)
		usage_error("connect: want HOST PORT");
	if (o.connected && !o.udp)
		usage_error("connect: --connected needs --udp");
	if (o.linger0 && o.udp)
		usage_error("connect: --linger0 is for TCP");
	if (o.udp && o.send && !*o.send)
		usage_error("connect: --send TEXT must not be empty for UDP");
	if (!parse_port(argv[optind + 1], &port))
		usage_error("connect: bad port '%s'", argv[optind + 1]);
	if (!parse_ip(argv[optind], o.v6, port, &dst, &dlen))
		usage_error("connect: bad host '%s' (want an IP literal)",
			    argv[optind]);
	if (bind_arg) {
		if (!parse_ip(bind_arg, dst.ss_family == AF_INET6, 0, &o.bind,
			      &o.bind_len) ||
		    o.bind.ss_family != dst.ss_family)
			usage_error("connect: bad --bind '%s' for this "
				    "address family", bind_arg);
		o.have_bind = true;
	}
	signal(SIGPIPE, SIG_IGN);
	return o.udp ? do_udp(&o, &dst, dlen) : do_tcp(&o, &dst, dlen);
}

/* ---------------------------------------------------------------------- */
/* storm                                                                   */
/* ---------------------------------------------------------------------- */

struct storm_count {
	unsigned long attempted, connected, refused, timeouts, other;
};

static void storm_classify(struct storm_count *sc, int err)
{
	if (!err)
		sc->connected++;
	else if (err == ECONNREFUSED)
		sc->refused++;
	else
		sc->other++;
}

/* Wait for a batch of connects, reset each one as soon as it resolves. */
static void storm_reap(struct pollfd *p, int n, struct storm_count *sc)
{
	int64_t deadline = now_ms() + STORM_WAIT_MS;
	int left = 0, i;

	for (i = 0; i < n; i++)
		if (p[i].fd >= 0)
			left++;
	while (left > 0) {
		int r = poll(p, (nfds_t)n, remaining_ms(deadline));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (i = 0; i < n; i++) {
			int err = 0;
			socklen_t elen = sizeof(err);

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			if (getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &err,
				       &elen))
				err = errno;
			storm_classify(sc, err);
			close(p[i].fd);	/* SO_LINGER {1,0}: RST */
			p[i].fd = -1;
			left--;
		}
	}
	for (i = 0; i < n; i++) {
		if (p[i].fd < 0)
			continue;
		sc->timeouts++;
		close(p[i].fd);
		p[i].fd = -1;
	}
}

static int cmd_storm(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "v6", no_argument, NULL, '6' },
		{ NULL, 0, NULL, 0 },
	};
	struct pollfd p[STORM_BATCH];
	struct storm_count sc = { 0 };
	struct sockaddr_storage dst;
	unsigned long count = 0, i;
	struct rlimit rl;
	socklen_t dlen;
	bool v6 = false;
	int batch = STORM_BATCH, n = 0, c, rc = EXIT_OK;
	uint16_t port;
	char ebuf[16];

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!parse_num(optarg, 10, 1, STORM_MAX, &count))
				usage_error("storm: bad --count '%s' "
					    "(1..%d)", optarg, STORM_MAX);
			break;
		case '6':
			v6 = true;
			break;
		default:
			bad_option("storm", c, argv);
		}
	}
	if (!count)
		usage_error("storm: --count is required");
	if (argc - optind != 2)
		usage_error("storm: want HOST PORT");
	if (!parse_port(argv[optind + 1], &port))
		usage_error("storm: bad port '%s'", argv[optind + 1]);
	if (!parse_ip(argv[optind], v6, port, &dst, &dlen))
		usage_error("storm: bad host '%s' (want an IP literal)",
			    argv[optind]);

	/* Leave room under the fd limit. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)STORM_BATCH + 32)
		batch = rl.rlim_cur > 48 ? (int)rl.rlim_cur - 32 : 16;

	for (i = 0; i < count; i++) {
		int fd = socket(dst.ss_family,
				SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			fprintf(stderr, "Error: storm: socket: %s\n",
				errno_name(errno, ebuf, sizeof(ebuf)));
			rc = EXIT_ERR;
			break;
		}
		sc.attempted++;
		set_linger0(fd);
		if (connect(fd, (struct sockaddr *)&dst, dlen) == 0) {
			storm_classify(&sc, 0);
			close(fd);
		} else if (errno != EINPROGRESS) {
			storm_classify(&sc, errno);
			close(fd);
		} else {
			p[n].fd = fd;
			p[n].events = POLLOUT;
			p[n].revents = 0;
			n++;
		}
		if (n >= batch) {
			storm_reap(p, n, &sc);
			n = 0;
		}
	}
	storm_reap(p, n, &sc);
	printf("{\"attempted\":%lu,\"refused\":%lu,\"errors\":%lu}\n",
	       sc.attempted, sc.refused, sc.other + sc.timeouts);
	fprintf(stderr, "storm: connected=%lu refused=%lu timeouts=%lu "
		"other=%lu\n", sc.connected, sc.refused, sc.timeouts, sc.other);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* main                                                                    */
/* ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: %s [-c CGROUP_DIR] [-n NETNS] COMMAND ARGS...\n"
"  -n NAME  setns() into /run/netns/NAME (or a path with '/') first\n"
"  -c DIR   then write our pid to DIR/cgroup.procs\n"
"commands:\n"
"  serve --name NAME [--orig|--orig-squid] [--strict] [--http] [--listen IP:PORT]...\n"
"        [--listen6 [IP6]:PORT]... [--udp IP:PORT]... [--max N]\n"
"  connect [--udp [--connected]] [--v6] [--timeout MS] [--send TEXT]\n"
"        [--linger0] [--bind IP] HOST PORT\n"
"  storm --count N [--v6] HOST PORT\n", prog);
}

int main(int argc, char *argv[])
{
	struct place pl = { 0 };
	const char *cmd;
	int c;

	opterr = 0;
	while ((c = place_getopt(argc, argv, "+:c:n:h", NULL, &pl)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			usage_error("option '-%c' needs an argument", optopt);
		default:
			usage_error("unknown option '-%c' (try -h)", optopt);
		}
	}
	if (optind >= argc)
		usage_error("missing COMMAND (serve, connect, storm; try -h)");
	cmd = argv[optind];
	if (strcmp(cmd, "serve") && strcmp(cmd, "connect") &&
	    strcmp(cmd, "storm")) {
		if (!strcmp(cmd, "help")) {
			usage(stdout);
			return EXIT_OK;
		}
		usage_error("unknown command '%s' (serve, connect, storm)",
			    cmd);
	}

	place_process(&pl, true);

	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "serve"))
		return cmd_serve(argc, argv);
	if (!strcmp(cmd, "connect"))
		return cmd_connect(argc, argv);
	return cmd_storm(argc, argv);
}
