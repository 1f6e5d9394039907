// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * nfattack: the attack probe of tests/root/test_adversarial.sh. Each CASE is
 * one way around an egress policy, tried from this process, and reported as
 * one line of JSON. "reached" says whether bytes got to a server: a reply
 * from it was read, not merely connect() or send() returning success (a
 * redirected connect succeeds against the proxy, a UDP send succeeds before
 * anything is dropped).
 *
 *   nfattack [-c CGROUP_DIR] [-n NETNS] [-u UID] CASE ARGS...
 *
 * -c joins a cgroup v2 directory, -n then enters a network namespace with
 * setns() (never "ip netns exec", which hides the cgroup mount), -u then
 * drops to UID (and group UID, no supplementary groups). A failure of any
 * of them is reported as JSON (stage "cgroup", "setns", "setuid"), so a test
 * can assert that a confined command cannot do it.
 *
 * Output: {"case":..., "reached":true|false, "reply":..., "stage":...,
 * "error":"EPERM"|"timeout", ...}. "stage" and "error" say where a case
 * stopped when it got no reply. Exit status: 0 reached, 1 not reached,
 * 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
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
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <netpacket/packet.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/bpf.h>
#include <linux/if_tun.h>
#include <linux/io_uring.h>

#include "toolkit.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP	0x200000000ULL
#endif
#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT	30
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP		262
#endif

#define EXIT_REACHED	0
#define EXIT_NOT	1

#define MAX_LINE	1024
#define MAX_LISTEN	64
#define MAX_CONNS	64
#define ADDR_STRLEN	(INET6_ADDRSTRLEN + 16)
#define DEF_TIMEOUT	1500	/* ms */

/* ---------------------------------------------------------------------- */
/* Result: one JSON line                                                   */
/* ---------------------------------------------------------------------- */

struct result {
	bool reached;
	const char *stage;	/* where the case stopped, NULL: it did not */
	int err;		/* errno at stage */
	bool timeout;		/* nothing came back before the deadline */
	char reply[MAX_LINE];
	char replies[4 * MAX_LINE];
	char extra[8192];	/* more ,"key":value pairs */
	size_t extra_len;
};

static struct result R;
static const char *case_name = "-";
static const char *via;		/* fork, exec, double-fork: who ran the case */

/* Appends ,"key":"value" to the result. */
static void extra_str(const char *key, const char *val)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	fprintf(f, ",\"%s\":", key);
	json_str(f, val, strlen(val));
	fclose(f);
	if (R.extra_len + len < sizeof(R.extra)) {
		memcpy(R.extra + R.extra_len, buf, len + 1);
		R.extra_len += len;
	}
	free(buf);
}

static void extra_num(const char *key, long long v)
{
	int n = snprintf(R.extra + R.extra_len, sizeof(R.extra) - R.extra_len,
			 ",\"%s\":%lld", key, v);

	if (n > 0 && R.extra_len + (size_t)n < sizeof(R.extra))
		R.extra_len += (size_t)n;
}

static void extra_bool(const char *key, bool v)
{
	int n = snprintf(R.extra + R.extra_len, sizeof(R.extra) - R.extra_len,
			 ",\"%s\":%s", key, v ? "true" : "false");

	if (n > 0 && R.extra_len + (size_t)n < sizeof(R.extra))
		R.extra_len += (size_t)n;
}

/* The first failure wins; returns -1 so callers can "return fail(...)". */
static int fail(const char *stage, int err)
{
	if (!R.stage && !R.reached) {
		R.stage = stage;
		R.err = err;
	}
	return -1;
}

static int timed_out(const char *stage)
{
	if (!R.stage && !R.reached) {
		R.stage = stage;
		R.timeout = true;
	}
	return -1;
}

/* A reply arrived: bytes reached a server. */
static void got_reply(const char *buf, size_t n)
{
	size_t used = strlen(R.replies);

	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (!R.reached) {
		if (n >= sizeof(R.reply))
			n = sizeof(R.reply) - 1;
		memcpy(R.reply, buf, n);
		R.reply[n] = '\0';
	}
	if (used + n + 3 < sizeof(R.replies)) {
		if (used) {
			memcpy(R.replies + used, "; ", 2);
			used += 2;
		}
		memcpy(R.replies + used, buf, n);
		R.replies[used + n] = '\0';
	}
	R.reached = true;
}

/* "0::/path" of /proc/self/cgroup: the cgroup v2 this process is in. */
static void self_cgroup(char *out, size_t len)
{
	char line[PATH_MAX + 16];
	FILE *f = fopen("/proc/self/cgroup", "re");

	snprintf(out, len, "?");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, len, "%s", line + 3);
		break;
	}
	fclose(f);
}

static int emit(void)
{
	char cg[PATH_MAX];

	self_cgroup(cg, sizeof(cg));
	fputs("{\"case\":", stdout);
	json_str(stdout, case_name, strlen(case_name));
	printf(",\"reached\":%s", R.reached ? "true" : "false");
	if (R.reached) {
		fputs(",\"reply\":", stdout);
		json_str(stdout, R.reply, strlen(R.reply));
		fputs(",\"replies\":", stdout);
		json_str(stdout, R.replies, strlen(R.replies));
	}
	if (R.stage) {
		printf(",\"stage\":\"%s\"", R.stage);
		if (R.timeout)
			fputs(",\"error\":\"timeout\"", stdout);
		else
			printf(",\"error\":\"%s\",\"errno\":%d", errname(R.err),
			       R.err);
	}
	fputs(R.extra, stdout);
	if (via)
		printf(",\"via\":\"%s\"", via);
	printf(",\"uid\":%u,\"cgroup\":", (unsigned int)getuid());
	json_str(stdout, cg, strlen(cg));
	fputs("}\n", stdout);
	fflush(stdout);
	return R.reached ? EXIT_REACHED : EXIT_NOT;
}

/* ---------------------------------------------------------------------- */
/* Time, addresses, I/O                                                    */
/* ---------------------------------------------------------------------- */

static uint16_t parse_port(const char *s)
{
	unsigned long v;

	if (!parse_num(s, 0, 0, 65535, &v))
		usage_error("%s: bad port '%s'", case_name, s);
	return (uint16_t)v;
}

/*
 * HOST (an IPv4 or IPv6 literal, [v6] allowed, or a name looked up with
 * getaddrinfo, so /etc/hosts applies) and PORT into ss. With v6 an IPv4
 * address becomes ::ffff:a.b.c.d on AF_INET6.
 */
static void parse_dst(const char *host, uint16_t port, bool v6,
		      struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	char buf[256];
	size_t n = strlen(host);
	struct in_addr a4;

	memset(ss, 0, sizeof(*ss));
	if (n >= sizeof(buf))
		usage_error("%s: host too long", case_name);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
	} else {
		memcpy(buf, host, n + 1);
	}
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return;
	}
	if (inet_pton(AF_INET, buf, &a4) != 1) {
		struct addrinfo hints = { .ai_family = AF_INET,
					  .ai_socktype = SOCK_STREAM };
		struct addrinfo *res;
		int e = getaddrinfo(buf, NULL, &hints, &res);

		if (e)
			usage_error("%s: cannot resolve '%s': %s", case_name,
				    buf, gai_strerror(e));
		a4 = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
		freeaddrinfo(res);
		extra_str("resolved", inet_ntoa(a4));
	}
	if (!v6) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr = a4;
		*len = sizeof(*sin);
		return;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	map_v4(&a4, &sin6->sin6_addr);
	*len = sizeof(*sin6);
}

/* "IP:PORT" or "[IP6]:PORT" (PORT required). */
static bool parse_hostport(const char *s, bool v6, struct sockaddr_storage *ss,
			   socklen_t *len)
{
	char host[256];
	const char *p = split_hostport(s, host, sizeof(host));
	unsigned long port;

	if (!p || !parse_num(p, 0, 0, 65535, &port))
		return false;
	if (strchr(host, ':') && host[0] != '[')
		return false;
	parse_dst(host, (uint16_t)port, v6, ss, len);
	return true;
}

static void fmt_addr(const struct sockaddr_storage *ss, char *out, size_t len)
{
	if (ss->ss_family == AF_UNIX)
		snprintf(out, len, "unix");
	else
		fmt_sockaddr(ss, false, out, len);
}

/* The socket's local and peer addresses, as extra fields. */
static void note_addrs(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char buf[ADDR_STRLEN];

	memset(&ss, 0, sizeof(ss));
	if (!getsockname(fd, (struct sockaddr *)&ss, &len)) {
		fmt_addr(&ss, buf, sizeof(buf));
		extra_str("local", buf);
	}
	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (!getpeername(fd, (struct sockaddr *)&ss, &len)) {
		fmt_addr(&ss, buf, sizeof(buf));
		extra_str("peer", buf);
	}
}

/* Reads one line (or one datagram) into the result. 0 ok, -1 not. */
static int read_reply(int fd, int64_t deadline)
{
	char buf[MAX_LINE];
	size_t got = 0;
	ssize_t n;
	int r;

	while (got < sizeof(buf)) {
		r = wait_fd(fd, POLLIN, deadline);
		if (r == 0)
			return got ? (got_reply(buf, got), 0) : timed_out("recv");
		if (r < 0)
			return fail("recv", errno);
		n = recv(fd, buf + got, sizeof(buf) - got, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return fail("recv", errno);
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (memchr(buf, '\n', got))
			break;
	}
	if (!got)
		return fail("recv", ECONNRESET);
	/* one line: what the server said first */
	if (memchr(buf, '\n', got))
		got = (size_t)((char *)memchr(buf, '\n', got) - buf);
	got_reply(buf, got);
	return 0;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return fail("send", errno);
		if (wait_fd(fd, POLLOUT, deadline) <= 0)
			return timed_out("send");
	}
	return 0;
}

/* connect() bounded by deadline, whatever the socket's blocking mode. */
static int connect_wait(int fd, const struct sockaddr_storage *dst,
			socklen_t len, int64_t deadline)
{
	int fl = fcntl(fd, F_GETFL), err = 0, r;
	socklen_t elen = sizeof(err);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (connect(fd, (const struct sockaddr *)dst, len)) {
		if (errno != EINPROGRESS)
			return fail("connect", errno);
		r = wait_fd(fd, POLLOUT, deadline);
		if (r == 0)
			return timed_out("connect");
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
			return fail("connect", errno);
		if (err)
			return fail("connect", err);
	}
	fcntl(fd, F_SETFL, fl);
	return 0;
}

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text);
}

/*
 * Cases that write sysctls name the namespace they must be in (--netns
 * NAME, from /run/netns): they refuse to run anywhere else.
 */
static void require_netns(const char *name)
{
	char path[PATH_MAX];
	struct stat self, want;

	if (!name || !*name || strchr(name, '/'))
		usage_error("%s: writes sysctls: --netns NAME (a test namespace) is required",
			    case_name);
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	if (stat("/proc/self/ns/net", &self) || stat(path, &want))
		usage_error("%s: cannot compare with %s: %s", case_name, path,
			    strerror(errno));
	if (self.st_ino != want.st_ino || self.st_dev != want.st_dev)
		usage_error("%s: not in the network namespace %s", case_name,
			    name);
}

/* ---------------------------------------------------------------------- */
/* Options shared by the socket cases                                      */
/* ---------------------------------------------------------------------- */

struct opts {
	unsigned long timeout;
	bool v6;		/* AF_INET6 socket, IPv4 as ::ffff:a.b.c.d */
	bool tcp;		/* dns, hold, presock, pass-fd: TCP, not UDP */
	bool udp;		/* uring, presock, pass-fd, hold: UDP */
	bool async;		/* uring: IOSQE_ASYNC (an io-wq worker) */
	bool uring_socket;	/* uring: the socket too, IORING_OP_SOCKET */
	bool broadcast;		/* SO_BROADCAST */
	bool have_mark;
	unsigned int mark;	/* SO_MARK */
	const char *dev;	/* SO_BINDTODEVICE */
	const char *bind;	/* IP or IP:PORT */
	const char *send;	/* bytes to send (\r \n \t \\ unescaped) */
	const char *via;	/* udp: sendto, sendmsg, sendmmsg, connect */
	const char *connect_first;	/* udp: connect here before sending */
	const char *mix;	/* udp sendmmsg: first datagram here */
	const char *go;		/* hold: wait for this file */
	const char *ready;	/* hold: create this file when held */
	const char *join;	/* presock: cgroup to join after socket() */
	const char *netns;	/* tun: the namespace we must be in */
	int proto;		/* socket protocol, 0: default */
	int fd;			/* an inherited socket instead of socket() */
	unsigned long repeat;	/* hold: send the second line this many times */
};

enum {
	OPT_TIMEOUT = 0x100, OPT_V6, OPT_TCP, OPT_UDP, OPT_ASYNC, OPT_USOCK, OPT_BCAST,
	OPT_MARK, OPT_DEV, OPT_BIND, OPT_SEND, OPT_VIA, OPT_CFIRST, OPT_MIX, OPT_GO, OPT_READY,
	OPT_JOIN, OPT_PROTO, OPT_FD, OPT_NETNS, OPT_REPEAT,
};

static const struct option common_opts[] = {
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "v6", no_argument, NULL, OPT_V6 },
	{ "tcp", no_argument, NULL, OPT_TCP },
	{ "udp", no_argument, NULL, OPT_UDP },
	{ "async", no_argument, NULL, OPT_ASYNC },
	{ "uring-socket", no_argument, NULL, OPT_USOCK },
	{ "broadcast", no_argument, NULL, OPT_BCAST },
	{ "mark", required_argument, NULL, OPT_MARK },
	{ "bindtodevice", required_argument, NULL, OPT_DEV },
	{ "bind", required_argument, NULL, OPT_BIND },
	{ "send", required_argument, NULL, OPT_SEND },
	{ "via", required_argument, NULL, OPT_VIA },
	{ "connect-first", required_argument, NULL, OPT_CFIRST },
	{ "mix", required_argument, NULL, OPT_MIX },
	{ "go", required_argument, NULL, OPT_GO },
	{ "ready", required_argument, NULL, OPT_READY },
	{ "join", required_argument, NULL, OPT_JOIN },
	{ "proto", required_argument, NULL, OPT_PROTO },
	{ "fd", required_argument, NULL, OPT_FD },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "repeat", required_argument, NULL, OPT_REPEAT },
	{ NULL, 0, NULL, 0 },
};

static int parse_proto(const char *s)
{
	static const struct {
		const char *name;
		int proto;
	} t[] = {
		{ "tcp", IPPROTO_TCP },	    { "udp", IPPROTO_UDP },
		{ "icmp", IPPROTO_ICMP },   { "icmpv6", IPPROTO_ICMPV6 },
		{ "raw", IPPROTO_RAW },	    { "mptcp", IPPROTO_MPTCP },
		{ "udplite", IPPROTO_UDPLITE }, { "sctp", IPPROTO_SCTP },
	};
	unsigned long v;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(s, t[i].name))
			return t[i].proto;
	if (!parse_num(s, 0, 0, 65535, &v))
		usage_error("%s: bad protocol '%s'", case_name, s);
	return (int)v;
}

/* Parses the shared options; returns the index of the first positional. */
static int parse_opts(struct opts *o, int argc, char **argv, int npos,
		      const char *want)
{
	unsigned long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout = DEF_TIMEOUT;
	o->fd = -1;
	o->repeat = 1;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", common_opts, NULL)) != -1) {
		switch (c) {
		case OPT_TIMEOUT:
			if (!parse_num(optarg, 0, 1, 600000, &o->timeout))
				usage_error("%s: bad --timeout '%s'", case_name,
					    optarg);
			break;
		case OPT_V6:
			o->v6 = true;
			break;
		case OPT_TCP:
			o->tcp = true;
			break;
		case OPT_UDP:
			o->udp = true;
			break;
		case OPT_ASYNC:
			o->async = true;
			break;
		case OPT_USOCK:
			o->uring_socket = true;
			break;
		case OPT_BCAST:
			o->broadcast = true;
			break;
		case OPT_MARK:
			if (!parse_num(optarg, 0, 0, UINT32_MAX, &v))
				usage_error("%s: bad --mark '%s'", case_name,
					    optarg);
			o->mark = (unsigned int)v;
			o->have_mark = true;
			break;
		case OPT_DEV:
			o->dev = optarg;
			break;
		case OPT_BIND:
			o->bind = optarg;
			break;
		case OPT_SEND:
			o->send = optarg;
			break;
		case OPT_VIA:
			o->via = optarg;
			break;
		case OPT_CFIRST:
			o->connect_first = optarg;
			break;
		case OPT_MIX:
			o->mix = optarg;
			break;
		case OPT_GO:
			o->go = optarg;
			break;
		case OPT_REPEAT:
			if (!parse_num(optarg, 0, 1, 100000, &o->repeat))
				usage_error("%s: bad --repeat '%s'", case_name,
					    optarg);
			break;
		case OPT_READY:
			o->ready = optarg;
			break;
		case OPT_JOIN:
			o->join = optarg;
			break;
		case OPT_NETNS:
			o->netns = optarg;
			break;
		case OPT_PROTO:
			o->proto = parse_proto(optarg);
			break;
		case OPT_FD:
			if (!parse_num(optarg, 0, 0, 1023, &v))
				usage_error("%s: bad --fd '%s'", case_name,
					    optarg);
			o->fd = (int)v;
			break;
		case ':':
			usage_error("%s: option '%s' needs a value", case_name,
				    argv[optind - 1]);
		default:
			usage_error("%s: unknown option '%s'", case_name,
				    argv[optind - 1]);
		}
	}
	if (argc - optind != npos)
		usage_error("%s: want %s", case_name, want);
	return optind;
}

/* --send TEXT with \r, \n, \t and \\ unescaped, into buf. */
static size_t unescape(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	for (; *s && n + 1 < len; s++) {
		if (*s != '\\' || !s[1]) {
			buf[n++] = *s;
			continue;
		}
		s++;
		buf[n++] = *s == 'r' ? '\r' : *s == 'n' ? '\n' :
			   *s == 't' ? '\t' : *s;
	}
	buf[n] = '\0';
	return n;
}

/*
 * A socket (or the inherited --fd) with the options applied: SO_MARK,
 * SO_BINDTODEVICE, SO_BROADCAST, bind(). -1 with the stage recorded.
 */
static int make_socket(const struct opts *o, int family, int type, int proto)
{
	int fd = o->fd, one = 1;

	if (fd < 0) {
		fd = socket(family, type | SOCK_CLOEXEC, o->proto ? o->proto : proto);
		if (fd < 0)
			return fail("socket", errno);
	}
	if (o->have_mark) {
		if (setsockopt(fd, SOL_SOCKET, SO_MARK, &o->mark,
			       sizeof(o->mark)))
			goto err_mark;
		extra_bool("mark_set", true);
	}
	if (o->dev) {
		if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->dev,
			       (socklen_t)strlen(o->dev) + 1))
			goto err_dev;
		extra_bool("bound_to_device", true);
	}
	if (o->broadcast &&
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)))
		goto err_bcast;
	if (o->bind) {
		struct sockaddr_storage ss;
		socklen_t len;

		if (!parse_hostport(o->bind, family == AF_INET6, &ss, &len))
			parse_dst(o->bind, 0, family == AF_INET6, &ss, &len);
		if (bind(fd, (struct sockaddr *)&ss, len))
			goto err_bind;
	}
	return fd;

err_mark:
	fail("so_mark", errno);
	goto out;
err_dev:
	fail("so_bindtodevice", errno);
	goto out;
err_bcast:
	fail("so_broadcast", errno);
	goto out;
err_bind:
	fail("bind", errno);
out:
	close(fd);
	return -1;
}

/* ---------------------------------------------------------------------- */
/* TCP: tcp, http, http-connect, tfo, tfo-connect                          */
/* ---------------------------------------------------------------------- */

/* Connect, send, read one line. */
static int tcp_exchange(const struct opts *o, const struct sockaddr_storage *dst,
			socklen_t dlen, const char *req, size_t reqlen)
{
	int64_t deadline = now_ms() + (int64_t)o->timeout;
	int fd = make_socket(o, dst->ss_family, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (connect_wait(fd, dst, dlen, deadline))
		goto out;
	note_addrs(fd);
	if (reqlen && send_all(fd, req, reqlen, deadline))
		goto out;
	read_reply(fd, deadline);
out:
	close(fd);
	return 0;
}

static int case_tcp(int argc, char **argv)
{
	struct sockaddr_storage dst;
	char req[MAX_LINE];
	struct opts o;
	socklen_t dlen;
	int i = parse_opts(&o, argc, argv, 2, "HOST PORT");
	size_t n = o.send ? unescape(o.send, req, sizeof(req)) : 0;

	parse_dst(argv[i], parse_port(argv[i + 1]), o.v6, &dst, &dlen);
	return tcp_exchange(&o, &dst, dlen, req, n);
}

/* A proxy-unaware HTTP client: GET / straight to HOST:PORT. */
static int case_http(int argc, char **argv)
{
	struct sockaddr_storage dst;
	char req[MAX_LINE];
	struct opts o;
	socklen_t dlen;
	int i = parse_opts(&o, argc, argv, 2, "HOST PORT");
	int n = snprintf(req, sizeof(req),
			 "GET / HTTP/1.1\r\nHost: %s:%s\r\n"
			 "User-Agent: nfattack\r\nAccept: */*\r\n\r\n",
			 argv[i], argv[i + 1]);

	parse_dst(argv[i], parse_port(argv[i + 1]), o.v6, &dst, &dlen);
	return tcp_exchange(&o, &dst, dlen, req, (size_t)n);
}

/* CONNECT TARGET through a forward proxy at PROXY PORT. */
static int case_http_connect(int argc, char **argv)
{
	struct sockaddr_storage dst;
	char req[MAX_LINE];
	struct opts o;
	socklen_t dlen;
	int i = parse_opts(&o, argc, argv, 3, "PROXY PORT TARGET:PORT");
	int n = snprintf(req, sizeof(req),
			 "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n",
			 argv[i + 2], argv[i + 2]);

	parse_dst(argv[i], parse_port(argv[i + 1]), o.v6, &dst, &dlen);
	return tcp_exchange(&o, &dst, dlen, req, (size_t)n);
}

static void set_timeouts(int fd, unsigned long ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* TCP Fast Open: sendto(MSG_FASTOPEN), the connect is implied. */
static int case_tfo(int argc, char **argv)
{
	static const char data[] = "hello fastopen\n";
	struct sockaddr_storage dst;
	struct opts o;
	socklen_t dlen;
	int i = parse_opts(&o, argc, argv, 2, "HOST PORT"), fd;
	int64_t deadline;

	parse_dst(argv[i], parse_port(argv[i + 1]), o.v6, &dst, &dlen);
	deadline = now_ms() + (int64_t)o.timeout;
	fd = make_socket(&o, dst.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	set_timeouts(fd, o.timeout);
	if (sendto(fd, data, sizeof(data) - 1, MSG_FASTOPEN | MSG_NOSIGNAL,
		   (struct sockaddr *)&dst, dlen) < 0) {
		if (errno == EAGAIN)	/* SO_SNDTIMEO: no handshake */
			timed_out("connect");
		else
			fail("sendto", errno);
		goto out;
	}
	note_addrs(fd);
	read_reply(fd, deadline);
out:
	close(fd);
	return 0;
}

/* TCP_FASTOPEN_CONNECT: connect() returns at once, the SYN goes with write. */
static int case_tfo_connect(int argc, char **argv)
{
	static const char data[] = "hello fastopen\n";
	struct sockaddr_storage dst;
	struct opts o;
	socklen_t dlen;
	int i = parse_opts(&o, argc, argv, 2, "HOST PORT"), fd, one = 1;
	int64_t deadline;

	parse_dst(argv[i], parse_port(argv[i + 1]), o.v6, &dst, &dlen);
	deadline = now_ms() + (int64_t)o.timeout;
	fd = make_socket(&o, dst.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	set_timeouts(fd, o.timeout);
	if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one))) {
		fail("tcp_fastopen_connect", errno);
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&dst, dlen)) {
		fail("connect", errno);
		goto out;
	}
	if (send(fd, data, sizeof(data) - 1, MSG_NOSIGNAL) < 0) {
		if (errno == EAGAIN)	/* SO_SNDTIMEO: no handshake */
			timed_out("send");
		else
			fail("send", errno);
		goto out;
	}
	note_addrs(fd);
	read_reply(fd, deadline);
out:
	close(fd);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* io_uring with raw system calls                                          */
/* ---------------------------------------------------------------------- */

struct ring {
	int fd;
	unsigned int *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	void *sq_map, *cq_map;
	size_t sq_len, cq_len, sqes_len;
};

static int ring_init(struct ring *r, unsigned int entries)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	memset(r, 0, sizeof(*r));
	r->fd = (int)syscall(__NR_io_uring_setup, entries, &p);
	if (r->fd < 0)
		return -errno;
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (r->cq_len > r->sq_len)
			r->sq_len = r->cq_len;
		r->cq_len = r->sq_len;
	}
	r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	if (r->sq_map == MAP_FAILED)
		return -errno;
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		r->cq_map = r->sq_map;
	} else {
		r->cq_map = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_POPULATE, r->fd,
				 IORING_OFF_CQ_RING);
		if (r->cq_map == MAP_FAILED)
			return -errno;
	}
	r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		return -errno;
	r->sq_head = (unsigned int *)((char *)r->sq_map + p.sq_off.head);
	r->sq_tail = (unsigned int *)((char *)r->sq_map + p.sq_off.tail);
	r->sq_mask = (unsigned int *)((char *)r->sq_map + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)((char *)r->sq_map + p.sq_off.array);
	r->cq_head = (unsigned int *)((char *)r->cq_map + p.cq_off.head);
	r->cq_tail = (unsigned int *)((char *)r->cq_map + p.cq_off.tail);
	r->cq_mask = (unsigned int *)((char *)r->cq_map + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)((char *)r->cq_map + p.cq_off.cqes);
	return 0;
}

static void ring_free(struct ring *r)
{
	if (r->sqes && r->sqes != MAP_FAILED)
		munmap(r->sqes, r->sqes_len);
	if (r->cq_map && r->cq_map != MAP_FAILED && r->cq_map != r->sq_map)
		munmap(r->cq_map, r->cq_len);
	if (r->sq_map && r->sq_map != MAP_FAILED)
		munmap(r->sq_map, r->sq_len);
	if (r->fd > 0)
		close(r->fd);
}

/*
 * Submits one SQE and waits for its completion until deadline. Returns 0
 * with the CQE's result in *res, -ETIMEDOUT, or a negative errno.
 */
static int ring_run(struct ring *r, const struct io_uring_sqe *sqe,
		    int64_t deadline, int *res)
{
	unsigned int tail = __atomic_load_n(r->sq_tail, __ATOMIC_RELAXED);
	unsigned int idx = tail & *r->sq_mask, head;
	struct pollfd p = { .fd = r->fd, .events = POLLIN };

	r->sqes[idx] = *sqe;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 0, 0, NULL, 0) < 0)
		return -errno;
	for (;;) {
		head = __atomic_load_n(r->cq_head, __ATOMIC_RELAXED);
		if (head != __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
			break;
		if (poll(&p, 1, remaining_ms(deadline)) == 0)
			return -ETIMEDOUT;
	}
	*res = r->cqes[head & *r->cq_mask].res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return 0;
}

/*
 * Socket (plain, or IORING_OP_SOCKET), then IORING_OP_CONNECT and
 * IORING_OP_RECV for TCP, IORING_OP_SENDMSG with a destination for UDP.
 */
static int case_uring(int argc, char **argv)
{
	struct sockaddr_storage dst;
	struct io_uring_sqe sqe;
	char buf[MAX_LINE];
	struct ring ring;
	struct opts o;
	socklen_t dlen;
	int i = parse_opts(&o, argc, argv, 2, "HOST PORT"), fd = -1, res, e;
	int64_t deadline;
	uint8_t flags;
	int type;

	parse_dst(argv[i], parse_port(argv[i + 1]), o.v6, &dst, &dlen);
	deadline = now_ms() + (int64_t)o.timeout;
	flags = o.async ? IOSQE_ASYNC : 0;
	type = o.udp ? SOCK_DGRAM : SOCK_STREAM;
	e = ring_init(&ring, 8);
	if (e) {
		fail("io_uring_setup", -e);
		goto out;
	}
	if (o.uring_socket) {
		memset(&sqe, 0, sizeof(sqe));
		sqe.opcode = IORING_OP_SOCKET;
		sqe.flags = flags;
		sqe.fd = dst.ss_family;
		sqe.off = (uint64_t)type;
		sqe.len = 0;
		e = ring_run(&ring, &sqe, deadline, &res);
		if (e || res < 0) {
			fail("socket", e ? -e : -res);
			goto out;
		}
		fd = res;
	} else {
		fd = make_socket(&o, dst.ss_family, type, 0);
		if (fd < 0)
			goto out;
	}

	memset(&sqe, 0, sizeof(sqe));
	sqe.flags = flags;
	sqe.fd = fd;
	if (o.udp) {
		static const char ping[] = "ping";
		struct iovec iov = { .iov_base = (void *)ping,
				     .iov_len = sizeof(ping) - 1 };
		struct msghdr msg = { .msg_name = &dst, .msg_namelen = dlen,
				      .msg_iov = &iov, .msg_iovlen = 1 };

		sqe.opcode = IORING_OP_SENDMSG;
		sqe.addr = (uint64_t)(uintptr_t)&msg;
		sqe.len = 1;
		e = ring_run(&ring, &sqe, deadline, &res);
		if (e == -ETIMEDOUT) {
			timed_out("sendmsg");
			goto out;
		}
		if (e || res < 0) {
			fail("sendmsg", e ? -e : -res);
			goto out;
		}
		read_reply(fd, deadline);
		goto out;
	}
	sqe.opcode = IORING_OP_CONNECT;
	sqe.addr = (uint64_t)(uintptr_t)&dst;
	sqe.off = dlen;
	e = ring_run(&ring, &sqe, deadline, &res);
	if (e == -ETIMEDOUT) {
		timed_out("connect");
		goto out;
	}
	if (e || res < 0) {
		fail("connect", e ? -e : -res);
		goto out;
	}
	note_addrs(fd);
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_RECV;
	sqe.flags = flags;
	sqe.fd = fd;
	sqe.addr = (uint64_t)(uintptr_t)buf;
	sqe.len = sizeof(buf);
	e = ring_run(&ring, &sqe, deadline, &res);
	if (e == -ETIMEDOUT)
		timed_out("recv");
	else if (e || res < 0)
		fail("recv", e ? -e : -res);
	else if (res == 0)
		fail("recv", ECONNRESET);
	else
		got_reply(buf, (size_t)res);
out:
	if (fd >= 0)
		close(fd);
	ring_free(&ring);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* UDP and DNS                                                             */
/* ---------------------------------------------------------------------- */

/* Collects up to want datagrams until deadline; at least one counts. */
static void read_datagrams(int fd, int want, int64_t deadline)
{
	char buf[MAX_LINE];
	int got = 0, r;
	ssize_t n;

	while (got < want) {
		r = wait_fd(fd, POLLIN, deadline);
		if (r == 0)
			break;
		if (r < 0) {
			fail("recv", errno);
			return;
		}
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			/* an ICMP error on a connected socket */
			fail("recv", errno);
			return;
		}
		got_reply(buf, (size_t)n);
		got++;
	}
	if (!got)
		timed_out("recv");
}

/*
 * One UDP exchange. --via sendto (default), sendmsg, sendmmsg (two
 * datagrams; --mix IP:PORT sends the first one there instead), connect
 * (connect + send). --connect-first IP:PORT connects the socket elsewhere
 * before sending to HOST PORT with an address.
 */
static int udp_exchange(const struct opts *o, const struct sockaddr_storage *dst,
			socklen_t dlen, const char *payload, size_t plen)
{
	const char *how = o->via ? o->via : "sendto";
	int64_t deadline = now_ms() + (int64_t)o->timeout;
	struct iovec iov = { .iov_base = (void *)payload, .iov_len = plen };
	int fd, want = 1;
	ssize_t n;

	fd = make_socket(o, dst->ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	if (o->connect_first) {
		struct sockaddr_storage first;
		socklen_t flen;

		if (!parse_hostport(o->connect_first, dst->ss_family == AF_INET6,
				    &first, &flen))
			usage_error("%s: bad --connect-first '%s'", case_name,
				    o->connect_first);
		if (connect(fd, (struct sockaddr *)&first, flen)) {
			fail("connect_first", errno);
			goto out;
		}
	}
	if (!strcmp(how, "sendto")) {
		n = sendto(fd, payload, plen, MSG_NOSIGNAL,
			   (const struct sockaddr *)dst, dlen);
	} else if (!strcmp(how, "sendmsg")) {
		struct msghdr msg = { .msg_name = (void *)dst,
				      .msg_namelen = dlen, .msg_iov = &iov,
				      .msg_iovlen = 1 };

		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	} else if (!strcmp(how, "sendmmsg")) {
		struct sockaddr_storage mix;
		struct mmsghdr mm[2];
		socklen_t mlen;
		int k;

		memset(mm, 0, sizeof(mm));
		for (k = 0; k < 2; k++) {
			mm[k].msg_hdr.msg_name = (void *)dst;
			mm[k].msg_hdr.msg_namelen = dlen;
			mm[k].msg_hdr.msg_iov = &iov;
			mm[k].msg_hdr.msg_iovlen = 1;
		}
		if (o->mix) {
			if (!parse_hostport(o->mix, dst->ss_family == AF_INET6,
					    &mix, &mlen))
				usage_error("%s: bad --mix '%s'", case_name,
					    o->mix);
			mm[0].msg_hdr.msg_name = &mix;
			mm[0].msg_hdr.msg_namelen = mlen;
		}
		k = sendmmsg(fd, mm, 2, MSG_NOSIGNAL);
		if (k >= 0)
			extra_num("sent", k);
		want = 2;
		n = k;
	} else if (!strcmp(how, "connect")) {
		if (connect(fd, (const struct sockaddr *)dst, dlen)) {
			fail("connect", errno);
			goto out;
		}
		n = send(fd, payload, plen, MSG_NOSIGNAL);
	} else {
		usage_error("%s: bad --via '%s' (sendto, sendmsg, sendmmsg, connect)",
			    case_name, how);
	}
	if (n < 0) {
		fail(how, errno);
		goto out;
	}
	note_addrs(fd);
	read_datagrams(fd, want, deadline);
out:
	close(fd);
	return 0;
}

static int case_udp(int argc, char **argv)
{
	struct sockaddr_storage dst;
	char payload[MAX_LINE];
	struct opts o;
	socklen_t dlen;
	int i = parse_opts(&o, argc, argv, 2, "HOST PORT");
	size_t n = unescape(o.send ? o.send : "ping", payload, sizeof(payload));

	parse_dst(argv[i], parse_port(argv[i + 1]), o.v6, &dst, &dlen);
	return udp_exchange(&o, &dst, dlen, payload, n);
}

/* A DNS query for "example.test" A, over UDP or (--tcp) TCP, to HOST:53. */
static int case_dns(int argc, char **argv)
{
	static const unsigned char q[] = {
		0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e',
		's', 't', 0, 0x00, 0x01, 0x00, 0x01,
	};
	struct sockaddr_storage dst;
	unsigned char tq[sizeof(q) + 2];
	struct opts o;
	socklen_t dlen;
	int i = parse_opts(&o, argc, argv, 1, "HOST");

	parse_dst(argv[i], 53, o.v6, &dst, &dlen);
	if (!o.tcp)
		return udp_exchange(&o, &dst, dlen, (const char *)q, sizeof(q));
	tq[0] = 0;
	tq[1] = sizeof(q);
	memcpy(tq + 2, q, sizeof(q));
	return tcp_exchange(&o, &dst, dlen, (const char *)tq, sizeof(tq));
}

/* ---------------------------------------------------------------------- */
/* ICMP, raw IP, packet sockets, tun                                       */
/* ---------------------------------------------------------------------- */

static uint16_t csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; len -= 2, p += 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* An ICMP echo request to HOST: ping socket (kind "ping") or raw socket. */
static int icmp_echo(int argc, char **argv, bool raw)
{
	struct sockaddr_storage dst;
	struct icmphdr h;
	char buf[1500];
	struct opts o;
	socklen_t dlen;
	int i = parse_opts(&o, argc, argv, 1, "HOST"), fd;
	uint16_t id = (uint16_t)getpid();
	int64_t deadline;
	ssize_t n;

	parse_dst(argv[i], 0, false, &dst, &dlen);
	deadline = now_ms() + (int64_t)o.timeout;
	fd = make_socket(&o, AF_INET, raw ? SOCK_RAW : SOCK_DGRAM, IPPROTO_ICMP);
	if (fd < 0)
		return -1;
	memset(&h, 0, sizeof(h));
	h.type = ICMP_ECHO;
	h.un.echo.id = htons(id);
	h.un.echo.sequence = htons(1);
	h.checksum = csum(&h, sizeof(h));
	if (sendto(fd, &h, sizeof(h), 0, (struct sockaddr *)&dst, dlen) < 0) {
		fail("sendto", errno);
		goto out;
	}
	for (;;) {
		const struct icmphdr *r = (const struct icmphdr *)buf;
		int w = wait_fd(fd, POLLIN, deadline);

		if (w == 0) {
			timed_out("recv");
			break;
		}
		if (w < 0) {
			fail("recv", errno);
			break;
		}
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			continue;
		if (raw) {
			const struct iphdr *ip = (const struct iphdr *)buf;
			size_t hl = (size_t)ip->ihl * 4;

			if ((size_t)n < hl + sizeof(*r))
				continue;
			r = (const struct icmphdr *)(buf + hl);
			if (r->un.echo.id != htons(id))
				continue;
		} else if ((size_t)n < sizeof(*r)) {
			continue;
		}
		if (r->type == ICMP_ECHOREPLY) {
			snprintf(buf, sizeof(buf), "ICMP echo reply from %s",
				 argv[i]);
			got_reply(buf, strlen(buf));
			break;
		}
	}
out:
	close(fd);
	return 0;
}

static int case_ping(int argc, char **argv)
{
	return icmp_echo(argc, argv, false);
}

static int case_raw_icmp(int argc, char **argv)
{
	return icmp_echo(argc, argv, true);
}

/*
 * A UDP socket bound to src (port chosen by the kernel): where the reply to
 * a hand-made datagram from src arrives. Binding is not a policy question.
 */
static int udp_receiver(struct in_addr src, uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = src };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail("receiver", errno);
	if (bind(fd, (struct sockaddr *)&sin, len) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len)) {
		fail("receiver", errno);
		close(fd);
		return -1;
	}
	*port = sin.sin_port;	/* net */
	return fd;
}

/* IPv4 + UDP header and payload "ping" into buf; returns the length. */
static size_t build_udp4(uint8_t *buf, struct in_addr src, uint16_t sport,
			 struct in_addr dst, uint16_t dport /* net */)
{
	static const char payload[] = "ping";
	struct iphdr *ip = (struct iphdr *)buf;
	struct udphdr *udp = (struct udphdr *)(buf + sizeof(*ip));
	size_t len = sizeof(*ip) + sizeof(*udp) + sizeof(payload) - 1;

	memset(buf, 0, len);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)len);
	ip->id = htons((uint16_t)getpid());
	ip->saddr = src.s_addr;
	ip->daddr = dst.s_addr;
	ip->check = csum(ip, sizeof(*ip));
	udp->source = sport;
	udp->dest = dport;
	udp->len = htons((uint16_t)(len - sizeof(*ip)));
	udp->check = 0;		/* optional for IPv4 */
	memcpy(buf + sizeof(*ip) + sizeof(*udp), payload, sizeof(payload) - 1);
	return len;
}

static struct in_addr parse_ip4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		usage_error("%s: bad IPv4 address '%s'", case_name, s);
	return a;
}

/* raw-udp SRC HOST PORT: IP_HDRINCL datagram from SRC, reply read on SRC. */
static int case_raw_udp(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	uint8_t pkt[128];
	struct opts o;
	int i = parse_opts(&o, argc, argv, 3, "SRC HOST PORT"), tx, rx;
	struct in_addr src = parse_ip4(argv[i]);
	uint16_t sport;
	size_t len;

	dst.sin_addr = parse_ip4(argv[i + 1]);
	dst.sin_port = htons(parse_port(argv[i + 2]));
	tx = make_socket(&o, AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (tx < 0)
		return -1;
	rx = udp_receiver(src, &sport);
	if (rx < 0)
		goto out;
	len = build_udp4(pkt, src, sport, dst.sin_addr, dst.sin_port);
	if (sendto(tx, pkt, len, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		fail("sendto", errno);
	else
		read_datagrams(rx, 1, now_ms() + (int64_t)o.timeout);
	close(rx);
out:
	close(tx);
	return 0;
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	int k;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5]) != 6)
		return false;
	for (k = 0; k < 6; k++)
		mac[k] = (uint8_t)b[k];
	return true;
}

/*
 * packet IFNAME DSTMAC HOST PORT: an Ethernet frame carrying IPv4/UDP from
 * IFNAME's address (--bind IP: from IP, spoofed), written on an AF_PACKET
 * socket; the reply is read on a UDP socket bound to that address.
 */
static int case_packet(int argc, char **argv)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET };
	struct ifreq ifr;
	uint8_t frame[256], dmac[6];
	struct in_addr src, dst;
	struct opts o;
	int i = parse_opts(&o, argc, argv, 4, "IFNAME DSTMAC HOST PORT");
	int tx, rx = -1;
	uint16_t sport, dport = htons(parse_port(argv[i + 3]));
	size_t len;

	if (!parse_mac(argv[i + 1], dmac))
		usage_error("%s: bad MAC '%s'", case_name, argv[i + 1]);
	dst = parse_ip4(argv[i + 2]);
	if (strlen(argv[i]) >= IFNAMSIZ)
		usage_error("%s: bad interface '%s'", case_name, argv[i]);
	tx = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (tx < 0)
		return fail("socket", errno);
	extra_bool("socket_created", true);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[i]);
	if (ioctl(tx, SIOCGIFADDR, &ifr)) {
		fail("siocgifaddr", errno);
		goto out;
	}
	src = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
	if (o.bind) {
		/* a spoofed source: any reply goes there, arrivals tell */
		src = parse_ip4(o.bind);
		extra_str("source", o.bind);
	}
	if (ioctl(tx, SIOCGIFHWADDR, &ifr)) {
		fail("siocgifhwaddr", errno);
		goto out;
	}
	memcpy(frame, dmac, 6);
	memcpy(frame + 6, ifr.ifr_hwaddr.sa_data, 6);
	frame[12] = 0x08;	/* ETH_P_IP, net order */
	frame[13] = 0x00;
	rx = udp_receiver(o.bind ? (struct in_addr){ 0 } : src, &sport);
	if (rx < 0)
		goto out;
	len = 14 + build_udp4(frame + 14, src, sport, dst, dport);
	ll.sll_ifindex = (int)if_nametoindex(argv[i]);
	ll.sll_halen = 6;
	memcpy(ll.sll_addr, dmac, 6);
	if (sendto(tx, frame, len, 0, (struct sockaddr *)&ll, sizeof(ll)) < 0) {
		fail("sendto", errno);
		goto out;
	}
	extra_bool("frame_sent", true);
	read_datagrams(rx, 1, now_ms() + (int64_t)o.timeout);
out:
	if (rx >= 0)
		close(rx);
	close(tx);
	return 0;
}

static bool set_sysctl(const char *path, const char *val)
{
	if (write_file(path, val))
		return true;
	fail("sysctl", errno);
	extra_str("sysctl", path);
	return false;
}

/*
 * tun --netns NAME SRC HOST PORT: a tun device in this namespace (which must
 * be NAME: forwarding and rp_filter are set in it), and a
 * hand-made IPv4/UDP packet from SRC written to it. The kernel forwards it
 * out of the namespace with no socket attached to it.
 */
static int case_tun(int argc, char **argv)
{
	struct ifreq ifr;
	uint8_t pkt[128];
	char path[128];
	struct in_addr src, dst;
	struct opts o;
	int i = parse_opts(&o, argc, argv, 3, "SRC HOST PORT");
	int tfd, ctl = -1, rx = -1;
	uint16_t sport, dport = htons(parse_port(argv[i + 2]));
	size_t len;

	require_netns(o.netns);
	src = parse_ip4(argv[i]);
	dst = parse_ip4(argv[i + 1]);
	tfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (tfd < 0)
		return fail("open_tun", errno);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "nfatk%%d");
	if (ioctl(tfd, TUNSETIFF, &ifr)) {
		fail("tunsetiff", errno);
		goto out;
	}
	extra_str("tun", ifr.ifr_name);
	ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ctl < 0) {
		fail("socket", errno);
		goto out;
	}
	ifr.ifr_flags = IFF_UP;
	if (ioctl(ctl, SIOCSIFFLAGS, &ifr)) {
		fail("link_up", errno);
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/accept_local",
		 ifr.ifr_name);
	if (!set_sysctl("/proc/sys/net/ipv4/ip_forward", "1") ||
	    !set_sysctl("/proc/sys/net/ipv4/conf/all/rp_filter", "0") ||
	    !set_sysctl(path, "1"))
		goto out;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter",
		 ifr.ifr_name);
	if (!set_sysctl(path, "0"))
		goto out;
	rx = udp_receiver(src, &sport);
	if (rx < 0)
		goto out;
	len = build_udp4(pkt, src, sport, dst, dport);
	if (write(tfd, pkt, len) != (ssize_t)len) {
		fail("write_tun", errno);
		goto out;
	}
	read_datagrams(rx, 1, now_ms() + (int64_t)o.timeout);
out:
	if (rx >= 0)
		close(rx);
	if (ctl >= 0)
		close(ctl);
	close(tfd);
	return 0;
}

/* socket FAMILY TYPE PROTO: can this kind of socket be made at all? */
static int case_socket(int argc, char **argv)
{
	static const struct {
		const char *name;
		int val;
	} fams[] = { { "inet", AF_INET },     { "inet6", AF_INET6 },
		     { "packet", AF_PACKET }, { "unix", AF_UNIX },
		     { "netlink", AF_NETLINK }, { "xdp", 44 /* AF_XDP */ },
		     { "vsock", 40 /* AF_VSOCK */ } },
	  types[] = { { "stream", SOCK_STREAM }, { "dgram", SOCK_DGRAM },
		      { "raw", SOCK_RAW }, { "seqpacket", SOCK_SEQPACKET } };
	struct opts o;
	int i = parse_opts(&o, argc, argv, 3, "FAMILY TYPE PROTO");
	int fam = -1, type = -1, fd;
	size_t k;

	for (k = 0; k < sizeof(fams) / sizeof(fams[0]); k++)
		if (!strcmp(argv[i], fams[k].name))
			fam = fams[k].val;
	for (k = 0; k < sizeof(types) / sizeof(types[0]); k++)
		if (!strcmp(argv[i + 1], types[k].name))
			type = types[k].val;
	if (fam < 0 || type < 0)
		usage_error("%s: want FAMILY (inet, inet6, packet, unix, netlink, "
			    "xdp, vsock) TYPE (stream, dgram, raw, seqpacket) PROTO",
			    case_name);
	fd = socket(fam, type | SOCK_CLOEXEC,
		    fam == AF_PACKET ? htons(ETH_P_ALL) : parse_proto(argv[i + 2]));
	if (fd < 0)
		return fail("socket", errno);
	extra_bool("created", true);
	close(fd);
	return 0;
}

/* unix PATH: a stream connection to a Unix socket, one line read. */
static int case_unix(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_storage ss;
	struct opts o;
	int i = parse_opts(&o, argc, argv, 1, "PATH"), fd;
	int64_t deadline = now_ms() + (int64_t)o.timeout;

	if (strlen(argv[i]) >= sizeof(sun.sun_path))
		usage_error("%s: path too long", case_name);
	strcpy(sun.sun_path, argv[i]);
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &sun, sizeof(sun));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket", errno);
	if (!connect_wait(fd, &ss, sizeof(sun), deadline))
		read_reply(fd, deadline);
	close(fd);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Cgroups, bpffs, inherited sockets                                       */
/* ---------------------------------------------------------------------- */

/*
 * escape CGDIR HOST PORT: move ourselves into CGDIR (the cgroup2 root, the
 * proxy's cgroup, a child of our own), then a TCP exchange with HOST PORT.
 */
static int case_escape(int argc, char **argv)
{
	struct sockaddr_storage dst;
	struct opts o;
	socklen_t dlen;
	int i = parse_opts(&o, argc, argv, 3, "CGDIR HOST PORT"), e;

	parse_dst(argv[i + 1], parse_port(argv[i + 2]), o.v6, &dst, &dlen);
	e = cgroup_enter(argv[i], NULL);
	extra_str("escape", e ? errname(e) : "moved");
	return tcp_exchange(&o, &dst, dlen, NULL, 0);
}

struct nfa_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/*
 * clone-into CGDIR HOST PORT: clone3(CLONE_INTO_CGROUP) a child straight
 * into CGDIR; the child makes the TCP exchange and hands its result back.
 */
static int case_clone_into(int argc, char **argv)
{
	struct nfa_clone_args ca;
	struct sockaddr_storage dst;
	struct opts o;
	socklen_t dlen;
	int i = parse_opts(&o, argc, argv, 3, "CGDIR HOST PORT"), cg, st;
	int pfd[2];
	long pid;

	parse_dst(argv[i + 1], parse_port(argv[i + 2]), o.v6, &dst, &dlen);
	cg = open(argv[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		/* like an attacker: go on from where we are */
		extra_str("clone", errname(errno));
		return tcp_exchange(&o, &dst, dlen, NULL, 0);
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		close(cg);
		return fail("pipe", errno);
	}
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_INTO_CGROUP;
	ca.exit_signal = SIGCHLD;
	ca.cgroup = (uint64_t)cg;
	fflush(stdout);
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0) {
		extra_str("clone", errname(errno));
		close(cg);
		close(pfd[0]);
		close(pfd[1]);
		/* like an attacker: go on from where we are */
		return tcp_exchange(&o, &dst, dlen, NULL, 0);
	}
	if (pid == 0) {
		char cgp[PATH_MAX];

		close(pfd[0]);
		tcp_exchange(&o, &dst, dlen, NULL, 0);
		self_cgroup(cgp, sizeof(cgp));
		dprintf(pfd[1], "%d %s\n%s\n", R.reached ? 1 : R.timeout ? -1 : R.err,
			cgp, R.reply);
		_exit(0);
	}
	close(pfd[1]);
	close(cg);
	extra_str("clone", "ok");
	{
		char buf[2 * PATH_MAX], cgp[PATH_MAX];
		ssize_t n = 0, r;
		int code = 0;

		while (n < (ssize_t)sizeof(buf) - 1 &&
		       wait_fd(pfd[0], POLLIN, now_ms() + (int64_t)o.timeout + 2000) > 0 &&
		       (r = read(pfd[0], buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
			n += r;
		buf[n] = '\0';
		waitpid((pid_t)pid, &st, 0);
		if (sscanf(buf, "%d %4095s", &code, cgp) == 2)
			extra_str("child_cgroup", cgp);
		if (code == 1) {
			char *nl = strchr(buf, '\n');

			if (nl)
				got_reply(nl + 1, strlen(nl + 1));
		} else if (code == -1) {
			timed_out("child");
		} else {
			fail("child", code);
		}
	}
	close(pfd[0]);
	return 0;
}

static int bpf_obj_get_path(const char *path)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uint64_t)(uintptr_t)path;
	return (int)syscall(__NR_bpf, BPF_OBJ_GET, &attr, sizeof(attr));
}

/* The cgroup2 mount point, from /proc/self/mounts. */
static bool cgroup2_mount(char *out, size_t len)
{
	char dev[256], mnt[PATH_MAX], type[64];
	FILE *f = fopen("/proc/self/mounts", "re");
	bool found = false;

	if (!f)
		return false;
	while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, mnt, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(out, len, "%s", mnt);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

/*
 * bpf-tamper PINROOT HOST PORT: everything a process can try on the pins of
 * its own policy (PINROOT/cg-<id of our cgroup>): get the maps and links with
 * BPF_OBJ_GET, query the cgroup's programs, unlink the link pins (the last
 * reference to a link detaches it). Then a TCP exchange with HOST PORT shows
 * whether the policy still holds.
 */
static int case_bpf_tamper(int argc, char **argv)
{
	static const char *const objs[] = { "state", "policy", "bypass", "meta",
					    "link_connect4", "link_egress" };
	static const char *const links[] = {
		"link_connect4", "link_connect6", "link_sendmsg4",
		"link_sendmsg6", "link_ingress", "link_sock_create",
		"link_getpeername4", "link_getpeername6", "link_egress",
		"link_socket_create",
	};
	char mnt[PATH_MAX], cg[PATH_MAX], dir[PATH_MAX], path[2 * PATH_MAX];
	struct sockaddr_storage dst;
	union bpf_attr attr;
	struct stat st;
	struct opts o;
	socklen_t dlen;
	int i = parse_opts(&o, argc, argv, 3, "PINROOT HOST PORT");
	int got = 0, unlinked = 0, first_err = 0, unlink_err = 0, fd, cgfd;
	uint32_t ids[16], cnt = 16;
	size_t k;

	parse_dst(argv[i + 1], parse_port(argv[i + 2]), o.v6, &dst, &dlen);
	self_cgroup(cg, sizeof(cg));
	mnt[0] = '\0';
	/* no cgroup2 in sight: our cgroup's id is unknown, so is the directory */
	if (!cgroup2_mount(mnt, sizeof(mnt)))
		extra_str("cgroup_fs", "absent");
	snprintf(path, sizeof(path), "%s%s", mnt, cg);
	if (mnt[0] && !stat(path, &st))
		snprintf(dir, sizeof(dir), "%s/cg-%llu", argv[i],
			 (unsigned long long)st.st_ino);
	else
		snprintf(dir, sizeof(dir), "%s/cg-unknown", argv[i]);
	extra_str("pin_dir", dir);

	for (k = 0; k < sizeof(objs) / sizeof(objs[0]); k++) {
		snprintf(path, sizeof(path), "%s/%s", dir, objs[k]);
		fd = bpf_obj_get_path(path);
		if (fd >= 0) {
			got++;
			close(fd);
		} else if (!first_err) {
			first_err = errno;
		}
	}
	extra_num("obj_fds", got);
	extra_str("obj_get", first_err ? errname(first_err) : "ok");

	snprintf(path, sizeof(path), "%s%s", mnt, cg);
	cgfd = mnt[0] ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t)cgfd;
	attr.query.attach_type = BPF_CGROUP_INET4_CONNECT;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = cnt;
	if (syscall(__NR_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)))
		extra_str("prog_query", errname(errno));
	else
		extra_str("prog_query", "ok");
	if (cgfd >= 0)
		close(cgfd);

	for (k = 0; k < sizeof(links) / sizeof(links[0]); k++) {
		snprintf(path, sizeof(path), "%s/%s", dir, links[k]);
		if (!unlink(path))
			unlinked++;
		else if (!unlink_err)
			unlink_err = errno;
	}
	extra_num("unlinked", unlinked);
	extra_str("unlink", unlink_err ? errname(unlink_err) : "ok");
	return tcp_exchange(&o, &dst, dlen, NULL, 0);
}

/*
 * presock --join CGDIR [--udp] HOST PORT: the socket is made first, in the
 * cgroup we are in; then we join CGDIR and use it.
 */
static int case_presock(int argc, char **argv)
{
	struct sockaddr_storage dst;
	char before[PATH_MAX];
	struct opts o;
	socklen_t dlen;
	int i = parse_opts(&o, argc, argv, 2, "--join CGDIR HOST PORT"), fd, e;

	if (!o.join)
		usage_error("%s: --join CGDIR is required", case_name);
	parse_dst(argv[i], parse_port(argv[i + 1]), o.v6, &dst, &dlen);
	fd = socket(dst.ss_family, (o.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return fail("socket", errno);
	self_cgroup(before, sizeof(before));
	extra_str("socket_cgroup", before);
	e = cgroup_enter(o.join, NULL);
	if (e) {
		close(fd);
		return fail("join", e);
	}
	o.fd = fd;
	if (o.udp)
		return udp_exchange(&o, &dst, dlen, "ping", 4);
	return tcp_exchange(&o, &dst, dlen, NULL, 0);
}

/*
 * pass-fd [--udp] FD CMD ARGS...: a socket made here (unconnected) becomes
 * FD of CMD, which is then exec'd (FD survives exec).
 */
static int case_pass_fd(int argc, char **argv)
{
	unsigned long want;
	bool udp = false;
	int k = 1, fd;

	if (k < argc && !strcmp(argv[k], "--udp")) {
		udp = true;
		k++;
	}
	if (argc - k < 2 || !parse_num(argv[k], 0, 3, 1023, &want))
		usage_error("%s: want [--udp] FD CMD ARGS... (FD 3..1023)",
			    case_name);
	fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0)
		return fail("socket", errno);
	if (fd != (int)want) {
		if (dup2(fd, (int)want) < 0)
			return fail("dup2", errno);
		close(fd);
	}
	execvp(argv[k + 1], argv + k + 1);
	return fail("exec", errno);
}

/*
 * hold [--udp] HOST PORT --go FILE [--ready FILE]: one exchange now, then
 * wait (bounded) for FILE to appear, then one more on the same socket. The
 * result is the second exchange; "before" is the first reply.
 */
static int case_hold(int argc, char **argv)
{
	static const char one[] = "one\n", two[] = "two\n";
	struct sockaddr_storage dst;
	struct opts o;
	socklen_t dlen;
	int i = parse_opts(&o, argc, argv, 2, "HOST PORT --go FILE"), fd, k;
	int64_t deadline;

	if (!o.go)
		usage_error("%s: --go FILE is required", case_name);
	parse_dst(argv[i], parse_port(argv[i + 1]), o.v6, &dst, &dlen);
	fd = socket(dst.ss_family, (o.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return fail("socket", errno);
	deadline = now_ms() + (int64_t)o.timeout;
	if (connect_wait(fd, &dst, dlen, deadline))
		goto out;
	note_addrs(fd);
	if (!o.udp && read_reply(fd, deadline))	/* the greeting */
		goto out;
	R.reached = false;
	if (send_all(fd, one, sizeof(one) - 1, deadline) ||
	    read_reply(fd, deadline))
		goto out;
	extra_str("before", R.reply);
	R.reached = false;
	R.replies[0] = '\0';
	if (o.ready) {
		int rfd = open(o.ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		if (rfd >= 0)
			close(rfd);
	}
	for (k = 0; k < 2400 && access(o.go, F_OK); k++)	/* 120 s */
		usleep(50000);
	if (access(o.go, F_OK)) {
		timed_out("go");
		goto out;
	}
	deadline = now_ms() + (int64_t)o.timeout;
	/* --repeat N: N - 1 sends whatever becomes of them, then the last */
	for (unsigned long r = 1; r < o.repeat; r++)
		(void)!send(fd, two, sizeof(two) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (!send_all(fd, two, sizeof(two) - 1, deadline))
		read_reply(fd, deadline);
out:
	close(fd);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* serve: the servers the attacks aim at                                   */
/* ---------------------------------------------------------------------- */

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

struct listener {
	int fd;
	bool udp;
	bool unix_sock;
	char label[ADDR_STRLEN + 8];
};

/*
 * serve --name NAME [--listen IP:PORT]... [--udp IP:PORT]... [--unix PATH]
 *       [--group MCAST --dev IFNAME]
 * TCP and Unix: "HELLO NAME" on accept, then "ECHO <line>" for every line
 * until the client closes. UDP: "HELLO NAME" for every datagram. Every
 * arrival is logged on stderr as "tcp|udp|unix PEER -> LOCAL" before the
 * reply, so a test can count what reached the server.
 */
static int case_serve(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "listen", required_argument, NULL, 'l' },
		{ "udp", required_argument, NULL, 'u' },
		{ "unix", required_argument, NULL, 'x' },
		{ "group", required_argument, NULL, 'g' },
		{ "dev", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct listener ls[MAX_LISTEN];
	struct pollfd pfd[MAX_LISTEN + MAX_CONNS];
	char hello[160], buf[MAX_LINE], peer[ADDR_STRLEN];
	int conns[MAX_CONNS], conn_l[MAX_CONNS];
	const char *name = NULL, *group = NULL, *dev = NULL;
	struct sigaction sa;
	int nl = 0, nc = 0, c, k, one = 1, zero = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:", lopts, NULL)) != -1) {
		struct sockaddr_storage ss;
		socklen_t len;
		struct listener *l = &ls[nl];

		switch (c) {
		case 'N':
			name = optarg;
			continue;
		case 'g':
			group = optarg;
			continue;
		case 'd':
			dev = optarg;
			continue;
		case 'l':
		case 'u':
		case 'x':
			break;
		default:
			usage_error("serve: bad option '%s'", argv[optind - 1]);
		}
		if (nl >= MAX_LISTEN)
			usage_error("serve: at most %d listeners", MAX_LISTEN);
		memset(l, 0, sizeof(*l));
		l->udp = c == 'u';
		l->unix_sock = c == 'x';
		if (c == 'x') {
			struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

			memset(&ss, 0, sizeof(ss));
			sun->sun_family = AF_UNIX;
			if (strlen(optarg) >= sizeof(sun->sun_path))
				usage_error("serve: unix path too long");
			strcpy(sun->sun_path, optarg);
			len = sizeof(*sun);
			unlink(optarg);
			snprintf(l->label, sizeof(l->label), "unix");
		} else {
			if (!parse_hostport(optarg, false, &ss, &len))
				usage_error("serve: bad address '%s'", optarg);
			fmt_addr(&ss, l->label, sizeof(l->label));
		}
		l->fd = socket(ss.ss_family,
			       (l->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK |
				       SOCK_CLOEXEC, 0);
		if (l->fd < 0 ||
		    (!l->unix_sock &&
		     setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) ||
		    (ss.ss_family == AF_INET6 &&
		     setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
				sizeof(zero))) ||
		    bind(l->fd, (struct sockaddr *)&ss, len) ||
		    (!l->udp && listen(l->fd, 128))) {
			fprintf(stderr, "Error: serve: %s: %s\n", optarg,
				strerror(errno));
			return EXIT_USAGE;
		}
		nl++;
	}
	if (!name || !nl || optind != argc)
		usage_error("serve: want --name NAME and --listen/--udp/--unix");
	if (group) {
		struct ip_mreqn mr;

		memset(&mr, 0, sizeof(mr));
		mr.imr_multiaddr = parse_ip4(group);
		mr.imr_ifindex = dev ? (int)if_nametoindex(dev) : 0;
		for (k = 0; k < nl; k++) {
			if (ls[k].udp &&
			    setsockopt(ls[k].fd, IPPROTO_IP, IP_ADD_MEMBERSHIP,
				       &mr, sizeof(mr))) {
				fprintf(stderr, "Error: serve: join %s: %s\n",
					group, strerror(errno));
				return EXIT_USAGE;
			}
		}
	}
	snprintf(hello, sizeof(hello), "HELLO %.128s\n", name);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	printf("READY\n");
	fflush(stdout);

	while (!got_term) {
		int np = 0, polled;

		for (k = 0; k < nl; k++) {
			pfd[np].fd = ls[k].fd;
			pfd[np].events = POLLIN;
			pfd[np++].revents = 0;
		}
		for (k = 0; k < nc; k++) {
			pfd[np].fd = conns[k];
			pfd[np].events = POLLIN;
			pfd[np++].revents = 0;
		}
		if (poll(pfd, (nfds_t)np, 1000) <= 0)
			continue;
		polled = nc;	/* connections accepted below wait for the next poll */
		for (k = 0; k < nl; k++) {
			struct listener *l = &ls[k];
			struct sockaddr_storage ss;
			socklen_t len = sizeof(ss);
			ssize_t n;
			int cfd;

			if (!pfd[k].revents)
				continue;
			memset(&ss, 0, sizeof(ss));
			if (l->udp) {
				n = recvfrom(l->fd, buf, sizeof(buf), 0,
					     (struct sockaddr *)&ss, &len);
				if (n < 0)
					continue;
				fmt_addr(&ss, peer, sizeof(peer));
				fprintf(stderr, "udp %s -> %s\n", peer, l->label);
				sendto(l->fd, hello, strlen(hello), 0,
				       (struct sockaddr *)&ss, len);
				continue;
			}
			cfd = accept4(l->fd, (struct sockaddr *)&ss, &len,
				      SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (cfd < 0)
				continue;
			fmt_addr(&ss, peer, sizeof(peer));
			fprintf(stderr, "%s %s -> %s\n",
				l->unix_sock ? "unix" : "tcp", peer, l->label);
			send(cfd, hello, strlen(hello), MSG_NOSIGNAL);
			if (nc >= MAX_CONNS) {
				close(cfd);
				continue;
			}
			conn_l[nc] = k;
			conns[nc++] = cfd;
		}
		for (k = polled - 1; k >= 0; k--) {
			struct pollfd *p = &pfd[nl + k];
			char out[MAX_LINE + 8];
			ssize_t n;
			char *nlp;

			if (!p->revents)
				continue;
			n = recv(conns[k], buf, sizeof(buf) - 1, 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0) {
				close(conns[k]);
				conns[k] = conns[nc - 1];
				conn_l[k] = conn_l[nc - 1];
				nc--;
				continue;
			}
			buf[n] = '\0';
			nlp = strchr(buf, '\n');
			if (nlp)
				*nlp = '\0';
			fprintf(stderr, "echo %s on %s\n", buf, ls[conn_l[k]].label);
			snprintf(out, sizeof(out), "ECHO %s\n", buf);
			send(conns[k], out, strlen(out), MSG_NOSIGNAL);
		}
	}
	for (k = 0; k < nc; k++)
		close(conns[k]);
	for (k = 0; k < nl; k++)
		close(ls[k].fd);
	return EXIT_REACHED;
}

/* ---------------------------------------------------------------------- */
/* Children: fork, exec, double fork                                       */
/* ---------------------------------------------------------------------- */

static int run_case(int argc, char **argv);

/* fork CASE ARGS...: the child runs the case, the parent waits. */
static int case_fork(int argc, char **argv)
{
	int st = 0;
	pid_t pid;

	if (argc < 2)
		usage_error("fork: want CASE ARGS...");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail("fork", errno);
	if (pid == 0) {
		via = "fork";
		_exit(run_case(argc - 1, argv + 1));
	}
	waitpid(pid, &st, 0);
	exit(WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_NOT);
}

/* exec CASE ARGS...: this program again, through execve. */
static int case_exec_self(int argc, char **argv)
{
	char **nargv = calloc((size_t)argc + 1, sizeof(char *));

	if (argc < 2 || !nargv)
		usage_error("exec-self: want CASE ARGS...");
	nargv[0] = (char *)"nfattack";
	memcpy(nargv + 1, argv + 1, (size_t)(argc - 1) * sizeof(char *));
	setenv("NFATTACK_VIA", "exec", 1);
	execv("/proc/self/exe", nargv);
	return fail("exec", errno);
}

/*
 * double-fork CASE ARGS...: a child forks the grandchild and exits; the
 * orphaned grandchild (re-parented, in a session of its own) runs the
 * case. We wait, bounded, until it is done.
 */
static int case_double_fork(int argc, char **argv)
{
	int done[2], st;
	char c;
	pid_t pid;

	if (argc < 2)
		usage_error("double-fork: want CASE ARGS...");
	if (pipe2(done, O_CLOEXEC))
		return fail("pipe", errno);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail("fork", errno);
	if (pid == 0) {
		pid_t mid = getpid();

		close(done[0]);
		if (fork() != 0)
			_exit(0);
		setsid();
		/* wait until our parent is gone: then we are an orphan */
		for (int k = 0; k < 200 && getppid() == mid; k++)
			usleep(10000);
		extra_bool("orphaned", getppid() != mid);
		via = "double-fork";
		run_case(argc - 1, argv + 1);
		_exit(0);
	}
	close(done[1]);
	waitpid(pid, &st, 0);
	/* EOF when the grandchild exits; bounded */
	if (wait_fd(done[0], POLLIN, now_ms() + 20000) > 0)
		(void)!read(done[0], &c, 1);
	close(done[0]);
	exit(EXIT_REACHED);
}

/* ---------------------------------------------------------------------- */
/* Around the network policy: the host, the terminal, other ABIs           */
/* ---------------------------------------------------------------------- */

/*
 * open-write PATH...: can each PATH be opened for writing (created when
 * absent, O_EXCL)? Nothing is written. Reports "w_<n>":"ok"|errno name per
 * path (n from 0), and "writable": how many were.
 */
static int case_open_write(int argc, char **argv)
{
	char key[32];
	int n = 0, fd;

	if (argc < 2)
		usage_error("%s: want PATH...", case_name);
	for (int i = 1; i < argc; i++) {
		fd = open(argv[i], O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0 && errno == ENOENT)
			fd = open(argv[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				  0644);
		snprintf(key, sizeof(key), "w_%d", i - 1);
		extra_str(key, fd >= 0 ? "ok" : errname(errno));
		if (fd >= 0) {
			n++;
			close(fd);
		}
	}
	extra_num("writable", n);
	return 0;
}

/* signal PID: kill(PID, 0), can this process signal PID at all? */
static int case_signal(int argc, char **argv)
{
	unsigned long pid;

	if (argc != 2 || !parse_num(argv[1], 0, 1, INT32_MAX, &pid))
		usage_error("%s: want PID", case_name);
	extra_str("signal", kill((pid_t)pid, 0) ? errname(errno) : "ok");
	return 0;
}

/*
 * reboot: reboot() with wrong magic numbers. The kernel checks
 * CAP_SYS_BOOT first: EINVAL means the capability was there (nothing
 * happens), EPERM that it was not (or seccomp refused).
 */
static int case_reboot(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	extra_str("reboot", syscall(SYS_reboot, 0, 0, 0, NULL) ? errname(errno) : "ok");
	return 0;
}

/*
 * tiocsti TEXT: push TEXT and a newline into the input of the terminal on
 * standard input (TIOCSTI), as if typed: the caller's shell would read it.
 */
static int case_tiocsti(int argc, char **argv)
{
	size_t n;
	int done = 0;

	if (argc != 2)
		usage_error("%s: want TEXT", case_name);
	n = strlen(argv[1]);
	for (size_t k = 0; k <= n; k++) {
		char c = k < n ? argv[1][k] : '\n';

		if (ioctl(STDIN_FILENO, TIOCSTI, &c))
			return fail("tiocsti", errno);
		done++;
	}
	extra_num("typed", done);
	return 0;
}

/*
 * mcast-join GROUP: join GROUP (IPv4 or IPv6) on a UDP socket with every
 * form of the option; a join makes the kernel send a membership report with
 * the group address in it. Reports "join_<option>":"ok"|errno name.
 */
static int case_mcast_join(int argc, char **argv)
{
	struct group_req gr = { 0 };
	struct in6_addr a6;
	struct in_addr a4;
	bool v6;
	int fd, n = 0;

	if (argc != 2)
		usage_error("%s: want GROUP", case_name);
	v6 = inet_pton(AF_INET6, argv[1], &a6) == 1;
	if (!v6 && inet_pton(AF_INET, argv[1], &a4) != 1)
		usage_error("%s: bad group '%s'", case_name, argv[1]);
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket", errno);
	if (v6) {
		struct ipv6_mreq m = { .ipv6mr_multiaddr = a6 };
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&gr.gr_group;

		n += !setsockopt(fd, SOL_IPV6, IPV6_ADD_MEMBERSHIP, &m, sizeof(m));
		extra_str("join_ipv6_add_membership", n ? "ok" : errname(errno));
		setsockopt(fd, SOL_IPV6, IPV6_DROP_MEMBERSHIP, &m, sizeof(m));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = a6;
		if (!setsockopt(fd, SOL_IPV6, MCAST_JOIN_GROUP, &gr, sizeof(gr))) {
			n++;
			extra_str("join_mcast_join_group", "ok");
		} else {
			extra_str("join_mcast_join_group", errname(errno));
		}
	} else {
		struct ip_mreqn m = { .imr_multiaddr = a4 };
		struct sockaddr_in *sin = (struct sockaddr_in *)&gr.gr_group;

		n += !setsockopt(fd, SOL_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m));
		extra_str("join_ip_add_membership", n ? "ok" : errname(errno));
		setsockopt(fd, SOL_IP, IP_DROP_MEMBERSHIP, &m, sizeof(m));
		sin->sin_family = AF_INET;
		sin->sin_addr = a4;
		if (!setsockopt(fd, SOL_IP, MCAST_JOIN_GROUP, &gr, sizeof(gr))) {
			n++;
			extra_str("join_mcast_join_group", "ok");
		} else {
			extra_str("join_mcast_join_group", errname(errno));
		}
	}
	extra_num("joined", n);
	close(fd);
	return 0;
}

/* A system call through the 32-bit entry (int 0x80, i386 numbers). */
static long int80(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

/*
 * abi32 FAMILY: socket(FAMILY, SOCK_STREAM, 0) through the i386 entry
 * (int 0x80, socket is 359 there) and the x32 one, each in a child: a
 * filter that knows the 64-bit numbers only would let them by. Reports
 * "i386" and "x32": "created", an errno name, or "killed:SIGNAL".
 */
static int case_abi32(int argc, char **argv)
{
	unsigned long fam;

	if (argc != 2 || !parse_num(argv[1], 0, 0, 255, &fam))
		usage_error("%s: want FAMILY (a number)", case_name);
	for (int abi = 0; abi < 2; abi++) {
		int pfd[2], status, err = 0;
		pid_t pid;
		char buf[64];

		if (pipe(pfd))
			return fail("pipe", errno);
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			return fail("fork", errno);
		if (pid == 0) {
			long r = abi == 0 ? int80(359, (long)fam, SOCK_STREAM, 0) :
					    syscall(0x40000000 | __NR_socket, (long)fam,
						    SOCK_STREAM, 0);

			if (abi == 1 && r < 0)
				r = -errno;
			err = r >= 0 ? 0 : (int)-r;
			if (write(pfd[1], &err, sizeof(err)) != sizeof(err))
				_exit(3);
			_exit(0);
		}
		close(pfd[1]);
		if (read(pfd[0], &err, sizeof(err)) != sizeof(err))
			err = -1;
		close(pfd[0]);
		waitpid(pid, &status, 0);
		if (WIFSIGNALED(status))
			snprintf(buf, sizeof(buf), "killed:%s", strsignal(WTERMSIG(status)));
		else
			snprintf(buf, sizeof(buf), "%s", err < 0 ? "?" : err ? errname(err) :
								       "created");
		extra_str(abi == 0 ? "i386" : "x32", buf);
	}
	return 0;
}

/* exec CMD ARGS...: run a command where -c, -n and -u put us. */
static int case_exec(int argc, char **argv)
{
	if (argc < 2)
		usage_error("exec: want CMD ARGS...");
	execvp(argv[1], argv + 1);
	return fail("exec", errno);
}

/* ---------------------------------------------------------------------- */
/* Multicast joins, the sniffer that reads what they leak, connection     */
/* holders and a proxy stand-in with a descriptor budget                   */
/* (tests/root/test_adversarial_net.sh)                                    */
/* ---------------------------------------------------------------------- */

#ifndef IORING_OP_URING_CMD
#define IORING_OP_URING_CMD		46
#endif
#define NF_SOCKET_URING_OP_SETSOCKOPT	3	/* Linux 6.7+ */

/*
 * setsockopt() through io_uring: IORING_OP_URING_CMD with
 * SOCKET_URING_OP_SETSOCKOPT. The SQE fields by offset, as the 6.1 headers
 * this builds with do not name them: cmd_op at 8, level at 16, optname at
 * 20, optlen at 44, optval at 48.
 */
static int uring_setsockopt(int fd, int level, int name, const void *val,
			    socklen_t len)
{
	struct io_uring_sqe sqe;
	unsigned char *b = (unsigned char *)&sqe;
	uint32_t u32;
	uint64_t u64;
	struct ring ring;
	int e, res;

	e = ring_init(&ring, 4);
	if (e) {
		ring_free(&ring);
		errno = -e;
		return -1;
	}
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_URING_CMD;
	sqe.fd = fd;
	u32 = NF_SOCKET_URING_OP_SETSOCKOPT;
	memcpy(b + 8, &u32, 4);
	u32 = (uint32_t)level;
	memcpy(b + 16, &u32, 4);
	u32 = (uint32_t)name;
	memcpy(b + 20, &u32, 4);
	u32 = len;
	memcpy(b + 44, &u32, 4);
	u64 = (uint64_t)(uintptr_t)val;
	memcpy(b + 48, &u64, 8);
	e = ring_run(&ring, &sqe, now_ms() + 2000, &res);
	ring_free(&ring);
	if (e) {
		errno = -e;
		return -1;
	}
	if (res < 0) {
		errno = -res;
		return -1;
	}
	return 0;
}

/*
 * join-group [--v6] [--via uring] [--send HOW] IFNAME GROUP: join GROUP on
 * IFNAME (the kernel then sends IGMP/MLD reports naming it), hold the
 * membership for --timeout ms. HOW: add (IP_ADD_MEMBERSHIP /
 * IPV6_ADD_MEMBERSHIP, the default), mcast (MCAST_JOIN_GROUP), source
 * (IP_ADD_SOURCE_MEMBERSHIP / MCAST_JOIN_SOURCE_GROUP, source GROUP's
 * ...1), msfilter (MCAST_MSFILTER, exclude mode), v4-on-v6 (an IPv6 socket
 * joining an IPv4 group at SOL_IP), anycast (IPV6_JOIN_ANYCAST). "reached":
 * the kernel accepted the join.
 */
static int case_join_group(int argc, char **argv)
{
	struct opts o;
	int i = parse_opts(&o, argc, argv, 2, "IFNAME GROUP"), fd, level, name;
	const char *how;
	unsigned int ifindex;
	union {
		struct ip_mreqn mreqn;
		struct ip_mreq_source mreqs;
		struct ipv6_mreq mreq6;
		struct group_req gr;
		struct group_source_req gsr;
		struct group_filter gf;
	} v;
	socklen_t len;
	bool v6 = o.v6, rc;

	how = o.send ? o.send : "add";
	ifindex = if_nametoindex(argv[i]);
	if (!ifindex)
		return fail("if_nametoindex", errno);
	memset(&v, 0, sizeof(v));
	if (!strcmp(how, "v4-on-v6"))
		v6 = true;
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket", errno);
	if (!strcmp(how, "add") || !strcmp(how, "v4-on-v6")) {
		if (o.v6) {
			if (inet_pton(AF_INET6, argv[i + 1], &v.mreq6.ipv6mr_multiaddr) != 1)
				usage_error("%s: bad group '%s'", case_name, argv[i + 1]);
			v.mreq6.ipv6mr_interface = ifindex;
			level = IPPROTO_IPV6;
			name = IPV6_ADD_MEMBERSHIP;
			len = sizeof(v.mreq6);
		} else {
			v.mreqn.imr_multiaddr = parse_ip4(argv[i + 1]);
			v.mreqn.imr_ifindex = (int)ifindex;
			level = IPPROTO_IP;
			name = IP_ADD_MEMBERSHIP;
			len = sizeof(v.mreqn);
		}
	} else if (!strcmp(how, "anycast")) {
		if (inet_pton(AF_INET6, argv[i + 1], &v.mreq6.ipv6mr_multiaddr) != 1)
			usage_error("%s: bad address '%s'", case_name, argv[i + 1]);
		v.mreq6.ipv6mr_interface = ifindex;
		level = IPPROTO_IPV6;
		name = IPV6_JOIN_ANYCAST;
		len = sizeof(v.mreq6);
	} else if (!strcmp(how, "mcast") || !strcmp(how, "source") ||
		   !strcmp(how, "msfilter")) {
		struct sockaddr_storage grp, src;
		socklen_t glen;

		parse_dst(argv[i + 1], 0, v6, &grp, &glen);
		src = grp;
		if (v6)
			((struct sockaddr_in6 *)&src)->sin6_addr.s6_addr[15] ^= 1;
		else
			((struct sockaddr_in *)&src)->sin_addr.s_addr ^= htonl(1);
		level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
		if (!strcmp(how, "mcast")) {
			v.gr.gr_interface = ifindex;
			memcpy(&v.gr.gr_group, &grp, sizeof(grp));
			name = MCAST_JOIN_GROUP;
			len = sizeof(v.gr);
		} else if (!strcmp(how, "source")) {
			v.gsr.gsr_interface = ifindex;
			memcpy(&v.gsr.gsr_group, &grp, sizeof(grp));
			memcpy(&v.gsr.gsr_source, &src, sizeof(src));
			name = MCAST_JOIN_SOURCE_GROUP;
			len = sizeof(v.gsr);
		} else {
			/* exclude mode, no sources: a join of the whole group */
			v.gf.gf_interface = ifindex;
			memcpy(&v.gf.gf_group, &grp, sizeof(grp));
			v.gf.gf_fmode = MCAST_EXCLUDE;
			v.gf.gf_numsrc = 0;
			name = MCAST_MSFILTER;
			len = (socklen_t)GROUP_FILTER_SIZE(0);
		}
	} else {
		usage_error("%s: bad --send '%s' (add, mcast, source, msfilter, "
			    "v4-on-v6, anycast)", case_name, how);
	}
	extra_num("level", level);
	extra_num("optname", name);
	if (o.via && !strcmp(o.via, "uring"))
		rc = uring_setsockopt(fd, level, name, &v, len) == 0;
	else if (o.via)
		usage_error("%s: bad --via '%s' (uring)", case_name, o.via);
	else
		rc = setsockopt(fd, level, name, &v, len) == 0;
	if (!rc) {
		fail("setsockopt", errno);
		close(fd);
		return 0;
	}
	R.reached = true;
	extra_bool("joined", true);
	/* the reports go out now and are repeated; hold the membership */
	usleep((useconds_t)o.timeout * 1000);
	close(fd);
	return 0;
}

/* Adds one group address to a comma list (no duplicates). */
static void add_group(char *list, size_t len, int family, const void *addr)
{
	char a[INET6_ADDRSTRLEN], item[INET6_ADDRSTRLEN + 2], padded[4100];
	size_t n = strlen(list);

	inet_ntop(family, addr, a, sizeof(a));
	snprintf(item, sizeof(item), ",%s,", a);
	snprintf(padded, sizeof(padded), ",%s,", list);
	if (strstr(padded, item))
		return;
	if (n + strlen(a) + 2 < len)
		snprintf(list + n, len - n, "%s%s", n ? "," : "", a);
}

/* The group addresses of an IGMP (v1/v2/v3) membership report. */
static void igmp_groups(const uint8_t *p, size_t len, char *out, size_t olen)
{
	size_t off, nrec, k;

	if (len < 8)
		return;
	if (p[0] == 0x12 || p[0] == 0x16 || p[0] == 0x17) {	/* v1, v2, leave */
		add_group(out, olen, AF_INET, p + 4);
		return;
	}
	if (p[0] != 0x22)	/* v3 report */
		return;
	nrec = (size_t)p[6] << 8 | p[7];
	for (off = 8, k = 0; k < nrec && off + 8 <= len; k++) {
		size_t nsrc = (size_t)p[off + 2] << 8 | p[off + 3];

		add_group(out, olen, AF_INET, p + off + 4);
		off += 8 + 4 * nsrc + 4 * (size_t)p[off + 1];
	}
}

/* The group addresses of an MLD (v1/v2) report; p is the ICMPv6 message. */
static void mld_groups(const uint8_t *p, size_t len, char *out, size_t olen)
{
	size_t off, nrec, k;

	if (len < 24)
		return;
	if (p[0] == 131 || p[0] == 132) {	/* v1 report, done */
		add_group(out, olen, AF_INET6, p + 8);
		return;
	}
	if (p[0] != 143)	/* v2 report */
		return;
	nrec = (size_t)p[6] << 8 | p[7];
	for (off = 8, k = 0; k < nrec && off + 20 <= len; k++) {
		size_t nsrc = (size_t)p[off + 2] << 8 | p[off + 3];

		add_group(out, olen, AF_INET6, p + off + 4);
		off += 20 + 16 * nsrc + 4 * (size_t)p[off + 1];
	}
}

/*
 * sniff IFNAME: every frame on IFNAME for --timeout ms (AF_PACKET, in this
 * namespace); the group addresses of the IGMP and MLD reports seen, in
 * "groups". Prints READY when listening, then the JSON line.
 */
static int case_sniff(int argc, char **argv)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ALL) };
	static char groups[4096];
	struct opts o;
	int i = parse_opts(&o, argc, argv, 1, "IFNAME"), fd;
	int64_t deadline;
	long frames = 0, reports = 0;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		return fail("socket", errno);
	ll.sll_ifindex = (int)if_nametoindex(argv[i]);
	if (!ll.sll_ifindex || bind(fd, (struct sockaddr *)&ll, sizeof(ll))) {
		fail("bind", errno);
		close(fd);
		return 0;
	}
	printf("READY\n");
	fflush(stdout);
	deadline = now_ms() + (int64_t)o.timeout;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint8_t f[2048];
		size_t before = strlen(groups);
		ssize_t n;

		if (poll(&p, 1, remaining_ms(deadline)) <= 0)
			break;
		n = recv(fd, f, sizeof(f), 0);
		if (n < 14)
			continue;
		frames++;
		if (f[12] == 0x08 && f[13] == 0x00 && n >= 34 && f[23] == 2) {
			size_t ihl = (size_t)(f[14] & 0xf) * 4;

			if (14 + ihl < (size_t)n)
				igmp_groups(f + 14 + ihl, (size_t)n - 14 - ihl,
					    groups, sizeof(groups));
		} else if (f[12] == 0x86 && f[13] == 0xdd && n >= 54) {
			size_t off = 54;
			uint8_t nh = f[20];

			/* hop-by-hop options (the router alert) come first */
			if (nh == 0 && off + 8 <= (size_t)n) {
				nh = f[off];
				off += 8 + 8 * (size_t)f[off + 1];
			}
			if (nh == 58 && off < (size_t)n)
				mld_groups(f + off, (size_t)n - off, groups,
					   sizeof(groups));
		}
		if (strlen(groups) != before)
			reports++;
	}
	close(fd);
	extra_num("frames", frames);
	extra_str("groups", groups);
	R.reached = groups[0] != '\0';
	return 0;
}

/*
 * hold-many N HOST PORT --go FILE [--ready FILE]: N TCP connects (each
 * non-blocking, given up to --timeout ms to complete), all held until FILE
 * appears (at most 120 s). "opened": connects that completed, "refused":
 * connect() failed with EPERM, "failed": other failures.
 */
static int case_hold_many(int argc, char **argv)
{
	static int fds[20000];
	struct sockaddr_storage dst;
	unsigned long n;
	struct opts o;
	int i = parse_opts(&o, argc, argv, 3, "N HOST PORT --go FILE"), k;
	long opened = 0, refused = 0, failed = 0, pending = 0;
	socklen_t dlen;
	int64_t deadline;

	if (!parse_num(argv[i], 0, 1, sizeof(fds) / sizeof(fds[0]), &n))
		usage_error("%s: bad N '%s'", case_name, argv[i]);
	if (!o.go)
		usage_error("%s: --go FILE is required", case_name);
	parse_dst(argv[i + 1], parse_port(argv[i + 2]), o.v6, &dst, &dlen);
	for (k = 0; k < (int)n; k++) {
		fds[k] = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[k] < 0) {
			fail("socket", errno);
			break;
		}
		if (!connect(fds[k], (struct sockaddr *)&dst, dlen)) {
			opened++;
			continue;
		}
		if (errno == EINPROGRESS) {
			pending++;
			continue;
		}
		if (errno == EPERM)
			refused++;
		else
			failed++;
		close(fds[k]);
		fds[k] = -1;
	}
	n = (unsigned long)k;
	deadline = now_ms() + (int64_t)o.timeout;
	while (pending && remaining_ms(deadline) > 0) {
		struct pollfd p[1];

		for (k = 0; k < (int)n; k++) {
			int err = 0;
			socklen_t el = sizeof(err);

			if (fds[k] < 0)
				continue;
			p[0] = (struct pollfd){ .fd = fds[k], .events = POLLOUT };
			if (poll(p, 1, 0) <= 0)
				continue;
			getsockopt(fds[k], SOL_SOCKET, SO_ERROR, &err, &el);
			pending--;
			if (err) {
				failed++;
				close(fds[k]);
				fds[k] = -1;
			} else {
				opened++;
				/* counted: not polled again */
				fds[k] = -fds[k] - 2;
			}
		}
		if (pending)
			usleep(10000);
	}
	extra_num("opened", opened);
	extra_num("refused", refused);
	extra_num("failed", failed);
	extra_num("pending", pending);
	R.reached = opened > 0;
	if (o.ready) {
		int rfd = open(o.ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		if (rfd >= 0)
			close(rfd);
	}
	for (k = 0; k < 2400 && access(o.go, F_OK); k++)	/* 120 s */
		usleep(50000);
	for (k = 0; k < (int)n; k++) {
		if (fds[k] >= 0)
			close(fds[k]);
		else if (fds[k] < -1)
			close(-fds[k] - 2);
	}
	return 0;
}

/*
 * proxy-standin --listen IP:PORT --max-fds N: a proxy as it runs out of
 * descriptors. Every connection is greeted "HELLO proxy" and held open (as
 * a proxy holds a client whose server does not answer) until the client
 * closes; with N connections open it accepts no more, and later clients hang
 * in the backlog, as they do at a proxy out of descriptors. Logs "conn PEER"
 * and "full" on stderr; prints READY.
 */
static int case_proxy_standin(int argc, char **argv)
{
	static struct pollfd p[4097];
	struct sockaddr_storage a;
	unsigned long max;
	struct opts o;
	int i = parse_opts(&o, argc, argv, 2, "IP:PORT MAX_FDS"), lfd, one = 1;
	int nconn = 0, k;
	bool full = false;
	socklen_t alen;

	if (!parse_num(argv[i + 1], 0, 1, 4096, &max))
		usage_error("%s: bad MAX_FDS '%s'", case_name, argv[i + 1]);
	if (!parse_hostport(argv[i], false, &a, &alen))
		usage_error("%s: bad IP:PORT '%s'", case_name, argv[i]);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&a, alen) || listen(lfd, 4096)) {
		fprintf(stderr, "Error: proxy-standin: %s: %s\n", argv[i], strerror(errno));
		return 2;
	}
	signal(SIGTERM, on_term);
	printf("READY\n");
	fflush(stdout);
	p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	while (!got_term) {
		p[0].fd = nconn < (int)max ? lfd : -1;
		if (nconn >= (int)max && !full) {
			fprintf(stderr, "full\n");
			full = true;
		}
		if (poll(p, (nfds_t)nconn + 1, 200) < 0 && errno != EINTR)
			break;
		for (k = 1; k <= nconn; k++) {
			char buf[512];

			if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (recv(p[k].fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
				continue;
			close(p[k].fd);
			p[k] = p[nconn--];
			k--;
			full = false;
		}
		if (p[0].fd >= 0 && (p[0].revents & POLLIN)) {
			struct sockaddr_storage peer;
			socklen_t plen = sizeof(peer);
			char pa[ADDR_STRLEN];
			int c = accept4(lfd, (struct sockaddr *)&peer, &plen,
					SOCK_CLOEXEC);

			if (c < 0)
				continue;
			fmt_addr(&peer, pa, sizeof(pa));
			fprintf(stderr, "conn %s\n", pa);
			send(c, "HELLO proxy\n", 12, MSG_NOSIGNAL | MSG_DONTWAIT);
			p[++nconn] = (struct pollfd){ .fd = c, .events = POLLIN };
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* main                                                                    */
/* ---------------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	bool raw;	/* prints its own output (servers, wrappers) */
} cases[] = {
	{ "tcp", case_tcp, false },
	{ "http", case_http, false },
	{ "http-connect", case_http_connect, false },
	{ "tfo", case_tfo, false },
	{ "tfo-connect", case_tfo_connect, false },
	{ "uring", case_uring, false },
	{ "udp", case_udp, false },
	{ "dns", case_dns, false },
	{ "ping", case_ping, false },
	{ "raw-icmp", case_raw_icmp, false },
	{ "raw-udp", case_raw_udp, false },
	{ "packet", case_packet, false },
	{ "tun", case_tun, false },
	{ "socket", case_socket, false },
	{ "unix", case_unix, false },
	{ "escape", case_escape, false },
	{ "clone-into", case_clone_into, false },
	{ "bpf-tamper", case_bpf_tamper, false },
	{ "presock", case_presock, false },
	{ "pass-fd", case_pass_fd, false },
	{ "hold", case_hold, false },
	{ "serve", case_serve, true },
	{ "fork", case_fork, true },
	{ "exec-self", case_exec_self, true },
	{ "double-fork", case_double_fork, true },
	{ "exec", case_exec, false },
	{ "open-write", case_open_write, false },
	{ "signal", case_signal, false },
	{ "reboot", case_reboot, false },
	{ "tiocsti", case_tiocsti, false },
	{ "mcast-join", case_mcast_join, false },
	{ "abi32", case_abi32, false },
	{ "join-group", case_join_group, false },
	{ "sniff", case_sniff, false },
	{ "hold-many", case_hold_many, false },
	{ "proxy-standin", case_proxy_standin, true },
};

static int run_case(int argc, char **argv)
{
	size_t k;

	case_name = argv[0];
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		if (strcmp(argv[0], cases[k].name))
			continue;
		if (cases[k].raw)
			return cases[k].fn(argc, argv);
		cases[k].fn(argc, argv);
		return emit();
	}
	usage_error("unknown case '%s' (try -h)", argv[0]);
}

static void usage(void)
{
	printf(
"usage: nfattack [-c CGROUP_DIR] [-n NETNS] [-u UID] CASE ARGS...\n"
"  -c DIR   join the cgroup DIR first, -n NAME then setns() into\n"
"           /run/netns/NAME (or a path), -u UID then become UID\n"
"cases (one JSON line each; \"reached\": a server's reply was read):\n"
"  tcp HOST PORT             connect, read a line (--send TEXT first)\n"
"  http HOST PORT            GET / as a proxy-unaware client\n"
"  http-connect PROXY PORT TARGET:PORT   CONNECT through a forward proxy\n"
"  tfo HOST PORT             TCP Fast Open, sendto(MSG_FASTOPEN)\n"
"  tfo-connect HOST PORT     TCP_FASTOPEN_CONNECT, connect, write\n"
"  uring HOST PORT           io_uring connect+recv (--udp: sendmsg;\n"
"                            --async: io-wq; --uring-socket: OP_SOCKET)\n"
"  udp HOST PORT             --via sendto|sendmsg|sendmmsg|connect,\n"
"                            --connect-first IP:PORT, --mix IP:PORT\n"
"  dns HOST                  a DNS query to HOST:53 (--tcp)\n"
"  ping HOST | raw-icmp HOST ICMP echo: ping socket, raw socket\n"
"  raw-udp SRC HOST PORT     IP_HDRINCL datagram from SRC\n"
"  packet IF DSTMAC HOST PORT   IPv4/UDP frame on an AF_PACKET socket\n"
"                            (--bind IP: a spoofed source)\n"
"  tun --netns NS SRC HOST PORT  a packet written to a tun device, forwarded\n"
"  socket FAMILY TYPE PROTO  can the socket be made at all\n"
"  unix PATH                 a Unix stream socket\n"
"  escape CGDIR HOST PORT    move into CGDIR, then tcp\n"
"  clone-into CGDIR HOST PORT   clone3(CLONE_INTO_CGROUP), then tcp\n"
"  bpf-tamper PINROOT HOST PORT get/unlink our policy's pins, then tcp\n"
"  presock --join CGDIR HOST PORT   socket first, then join, then use\n"
"  pass-fd [--udp] FD CMD... a socket made here as FD of CMD\n"
"  hold HOST PORT --go FILE  exchange, wait for FILE, exchange again\n"
"                             (--repeat N: the second line sent N times)\n"
"  fork|exec-self|double-fork CASE ARGS...   the case in a child\n"
"  exec CMD ARGS...          exec CMD here\n"
"  open-write PATH...        open each PATH for writing (O_EXCL create)\n"
"  signal PID                kill(PID, 0)\n"
"  reboot                    reboot() with bad magic: EINVAL = CAP_SYS_BOOT\n"
"  tiocsti TEXT              type TEXT into the terminal on stdin\n"
"  mcast-join GROUP          IP_ADD_MEMBERSHIP/IPV6_JOIN_GROUP, MCAST_JOIN_GROUP\n"
"  abi32 FAMILY              socket() via int 0x80 (i386) and x32\n"
"  join-group IF GROUP       join a group (--v6, --via uring, --send add|mcast|\n"
"                            source|msfilter|v4-on-v6|anycast), held --timeout\n"
"  sniff IF                  groups named by IGMP/MLD reports on IF (--timeout)\n"
"  hold-many N HOST PORT --go FILE   N TCP connects held until FILE exists\n"
"  proxy-standin IP:PORT MAX_FDS     greets and holds; full at MAX_FDS\n"
"  serve --name N [--listen IP:PORT]... [--udp IP:PORT]... [--unix PATH]\n"
"        [--group MCAST --dev IF]   HELLO/ECHO servers, arrivals logged\n"
"socket options: --v6 --bind IP[:PORT] --mark N --bindtodevice IF\n"
"  --broadcast --proto P --fd N --timeout MS\n");
}

int main(int argc, char **argv)
{
	struct place pl = { 0 };
	unsigned long uid = 0;
	bool have_uid = false;
	int c, e;

	via = getenv("NFATTACK_VIA");
	unsetenv("NFATTACK_VIA");
	opterr = 0;
	while ((c = place_getopt(argc, argv, "+:c:n:u:h", NULL, &pl)) != -1) {
		switch (c) {
		case 'u':
			if (!parse_num(optarg, 0, 0, UINT32_MAX - 1, &uid))
				usage_error("bad -u '%s'", optarg);
			have_uid = true;
			break;
		case 'h':
			usage();
			return EXIT_REACHED;
		case ':':
			usage_error("option '-%c' needs an argument", optopt);
		default:
			usage_error("unknown option '-%c' (try -h)", optopt);
		}
	}
	if (optind >= argc)
		usage_error("missing CASE (try -h)");
	case_name = argv[optind];
	signal(SIGPIPE, SIG_IGN);

	if (pl.cgroup) {
		e = cgroup_enter(pl.cgroup, NULL);
		if (e) {
			fail("cgroup", e);
			return emit();
		}
	}
	if (pl.netns) {
		char path[PATH_MAX];
		int fd;

		netns_path(pl.netns, path, sizeof(path));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			usage_error("-n: open %s: %s", path, strerror(errno));
		if (setns(fd, CLONE_NEWNET)) {
			fail("setns", errno);
			close(fd);
			return emit();
		}
		close(fd);
	}
	if (have_uid) {
		if (setgroups(0, NULL) || setgid((gid_t)uid) || setuid((uid_t)uid)) {
			fail("setuid", errno);
			return emit();
		}
	}
	return run_case(argc - optind, argv + optind);
}
