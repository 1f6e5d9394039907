// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * loadgen: the soak's HTTP load, one thread, epoll, bounded.
 *
 *   loadgen serve --listen IP:PORT [--name NAME]
 *   loadgen client --connect IP:PORT --host NAME --requests N
 *                  --concurrency C [--keepalive-fraction F]
 *                  [--stream-fraction S] [--stream-chunks K] [--stream-ms M]
 *                  [--timeout-ms T] [--deadline-ms D] [--expect TEXT]
 *                  [--seed X]
 *
 * serve: an HTTP/1.1 server with keep-alive. "GET /" answers "HELLO NAME";
 * "GET /stream?chunks=N&ms=M" answers N chunks (chunked transfer encoding,
 * text/event-stream) M ms apart, a long-lived streaming response like an MCP
 * server's SSE. Port 0 picks a free port. Prints "LISTENING IP:PORT" and
 * "READY" once listening; SIGTERM or SIGINT prints a JSON summary and exits.
 *
 * client: N requests over C concurrent connections to IP:PORT exactly as
 * given (under netfence a connect to an origin's port 80 is redirected to
 * Squid by the kernel, so the same client makes intercepted or bypass
 * traffic). After each response the connection is kept for the next request
 * with probability F (unless the server closes it), else the client closes
 * it and the next request opens a new one; a fraction S of the requests are
 * /stream. A request is ok when it gets a 2xx with a complete body (and TEXT
 * in a plain body, with --expect). Prints one JSON line: counts, failures by
 * kind, latency percentiles of the ok requests, duration. Hard caps: N <=
 * 1,000,000, C <= 1024, D <= 1 h; past D every request still open or not yet
 * started is a failure ("deadline", "not_run").
 *
 * Exit status: 0 every request ok (client) or clean shutdown (serve),
 * 1 failures or errors, 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "toolkit.h"

#define EXIT_FAIL	1

#define MAX_REQUESTS	1000000
#define MAX_CONCURRENCY	1024
#define MAX_DEADLINE_MS	3600000
#define MAX_TIMEOUT_MS	600000
#define MAX_CHUNKS	10000
#define MAX_CHUNK_MS	60000
#define MAX_NAME	64
#define MAX_EXPECT	64
#define SRV_IN		8192	/* request headers, server side */
#define CLI_HEAD	16384	/* response headers, client side */
#define CLI_READ	65536	/* body read buffer */
#define N_EVENTS	256
#define SCAN_US		20000	/* timeout scan period */

static const char *prog = "loadgen";

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */
/* ---------------------------------------------------------------------- */

static void __attribute__((format(printf, 1, 2))) warnx(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool parse_fraction(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0.0 && v <= 1.0))
		return false;
	*out = v;
	return true;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= MAX_NAME)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f || *s == '"' || *s == '\\')
			return false;
	return true;
}

/* As many descriptors as the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Case-insensitive: does header block hdr (len bytes) have name: value? */
static bool header_value(const char *hdr, size_t len, const char *name,
			 char *val, size_t vlen)
{
	const char *p = memchr(hdr, '\n', len), *end = hdr + len;
	size_t nl = strlen(name);

	while (p && p + 1 < end) {
		const char *line = p + 1, *eol = memchr(line, '\n', (size_t)(end - line));
		const char *v;
		size_t n;

		if (!eol)
			eol = end;
		if ((size_t)(eol - line) > nl && !strncasecmp(line, name, nl) &&
		    line[nl] == ':') {
			v = line + nl + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			n = (size_t)(eol - v);
			while (n && (v[n - 1] == '\r' || v[n - 1] == ' ' ||
				     v[n - 1] == '\t'))
				n--;
			if (n >= vlen)
				n = vlen - 1;
			memcpy(val, v, n);
			val[n] = '\0';
			return true;
		}
		p = eol < end ? eol : NULL;
	}
	return false;
}

static bool has_token(const char *val, const char *tok)
{
	return strcasestr(val, tok) != NULL;
}

/* ---------------------------------------------------------------------- */
/* serve                                                                   */
/* ---------------------------------------------------------------------- */

struct sconn {
	int fd;
	char in[SRV_IN];
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	bool close_after;	/* close once out is flushed */
	bool streaming;		/* a /stream response in progress */
	unsigned chunk, chunks, ms;
	uint64_t next_at;
	struct sconn *sprev, *snext;
};

static struct {
	int ep, lfd, sfd;
	char name[MAX_NAME];
	struct sconn *streams;
	uint64_t paused_until;	/* accept paused (out of descriptors) */
	uint64_t conns, open, requests, stream_reqs, accept_errors;
} srv;

static int tag_listen, tag_signal;

static int out_printf(struct sconn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int out_printf(struct sconn *c, const char *fmt, ...)
{
	size_t room, cap;
	va_list ap;
	char *p;
	int n;

	for (;;) {
		room = c->out_cap - c->out_len;
		va_start(ap, fmt);
		n = vsnprintf(c->out ? c->out + c->out_len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -1;
		if ((size_t)n < room) {
			c->out_len += (size_t)n;
			return 0;
		}
		cap = c->out_cap ? c->out_cap * 2 : 1024;
		while (cap - c->out_len <= (size_t)n)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p)
			return -1;
		c->out = p;
		c->out_cap = cap;
	}
}

static void stream_unlink(struct sconn *c)
{
	if (!c->streaming)
		return;
	if (c->sprev)
		c->sprev->snext = c->snext;
	else
		srv.streams = c->snext;
	if (c->snext)
		c->snext->sprev = c->sprev;
	c->sprev = c->snext = NULL;
	c->streaming = false;
}

static void sconn_close(struct sconn *c)
{
	stream_unlink(c);
	close(c->fd);
	free(c->out);
	free(c);
	srv.open--;
}

static int sconn_events(struct sconn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	return epoll_ctl(srv.ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* Writes what is pending: 0 ok (maybe more later), -1 close it now. */
static int sconn_flush(struct sconn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			sconn_events(c, EPOLLIN | EPOLLOUT);
			return 0;
		}
		if (n < 0)
			return -1;
		c->out_off += (size_t)n;
	}
	if (c->out_off) {
		c->out_off = c->out_len = 0;
		sconn_events(c, EPOLLIN);
	}
	if (c->close_after && !c->streaming)
		return -1;
	return 0;
}

static int put_chunk(struct sconn *c)
{
	char data[MAX_NAME + 64];
	int n;

	c->chunk++;
	n = snprintf(data, sizeof(data), "data: %s %u/%u\n\n", srv.name,
		     c->chunk, c->chunks);
	if (out_printf(c, "%x\r\n%s\r\n", n, data))
		return -1;
	if (c->chunk == c->chunks) {
		stream_unlink(c);
		return out_printf(c, "0\r\n\r\n");
	}
	return 0;
}

static void stream_query(const char *target, unsigned *chunks, unsigned *ms)
{
	const char *q = strchr(target, '?');
	unsigned long v;
	char tmp[32];

	while (q && *q) {
		const char *p = q + 1;
		size_t n = strcspn(p, "&");

		if (n < sizeof(tmp)) {
			memcpy(tmp, p, n);
			tmp[n] = '\0';
			if (!strncmp(tmp, "chunks=", 7) &&
			    parse_ulong(tmp + 7, 1, MAX_CHUNKS, &v))
				*chunks = (unsigned)v;
			else if (!strncmp(tmp, "ms=", 3) &&
				 parse_ulong(tmp + 3, 0, MAX_CHUNK_MS, &v))
				*ms = (unsigned)v;
		}
		q = p[n] ? p + n : NULL;
	}
}

static int simple_reply(struct sconn *c, const char *status, const char *body)
{
	return out_printf(c,
			  "HTTP/1.1 %s\r\nContent-Type: text/plain\r\n"
			  "Content-Length: %zu\r\n%s\r\n%s",
			  status, strlen(body),
			  c->close_after ? "Connection: close\r\n" : "", body);
}

/* One request, headers in c->in[0..hlen). Queues the answer. */
static int answer(struct sconn *c, size_t hlen)
{
	char method[16], target[512], version[16], val[128];
	char line[sizeof(target) + 64];
	const char *eol = memchr(c->in, '\n', hlen);
	size_t n = eol ? (size_t)(eol - c->in) : 0;

	srv.requests++;
	if (!n || n >= sizeof(line)) {
		c->close_after = true;
		return simple_reply(c, "400 Bad Request", "bad request\n");
	}
	memcpy(line, c->in, n);
	line[n] = '\0';
	if (sscanf(line, "%15s %511s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7)) {
		c->close_after = true;
		return simple_reply(c, "400 Bad Request", "bad request\n");
	}
	if (header_value(c->in, hlen, "connection", val, sizeof(val))) {
		if (has_token(val, "close"))
			c->close_after = true;
		else if (!strcmp(version, "HTTP/1.0") &&
			 !has_token(val, "keep-alive"))
			c->close_after = true;
	} else if (!strcmp(version, "HTTP/1.0")) {
		c->close_after = true;
	}
	/* no request bodies here: they would desynchronise the stream */
	if ((header_value(c->in, hlen, "content-length", val, sizeof(val)) &&
	     strcmp(val, "0")) ||
	    header_value(c->in, hlen, "transfer-encoding", val, sizeof(val))) {
		c->close_after = true;
		return simple_reply(c, "400 Bad Request", "no bodies\n");
	}
	if (strcmp(method, "GET")) {
		c->close_after = true;
		return simple_reply(c, "405 Method Not Allowed", "GET only\n");
	}
	if (!strcmp(target, "/stream") || !strncmp(target, "/stream?", 8)) {
		unsigned chunks = 10, ms = 100;

		stream_query(target, &chunks, &ms);
		srv.stream_reqs++;
		if (out_printf(c,
			       "HTTP/1.1 200 OK\r\n"
			       "Content-Type: text/event-stream\r\n"
			       "Cache-Control: no-cache\r\n"
			       "Transfer-Encoding: chunked\r\n%s\r\n",
			       c->close_after ? "Connection: close\r\n" : ""))
			return -1;
		c->chunk = 0;
		c->chunks = chunks;
		c->ms = ms;
		c->streaming = true;
		c->sprev = NULL;
		c->snext = srv.streams;
		if (srv.streams)
			srv.streams->sprev = c;
		srv.streams = c;
		c->next_at = now_us() + (uint64_t)ms * 1000;
		return put_chunk(c);
	}
	if (!strcmp(target, "/") || !strncmp(target, "/?", 2)) {
		char body[MAX_NAME + 16];

		snprintf(body, sizeof(body), "HELLO %s\n", srv.name);
		return simple_reply(c, "200 OK", body);
	}
	return simple_reply(c, "404 Not Found", "not found\n");
}

/* Answers every complete request buffered, one at a time. */
static int serve_requests(struct sconn *c)
{
	while (!c->streaming && !c->close_after) {
		char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
		size_t hlen;

		if (!end) {
			if (c->in_len == sizeof(c->in)) {
				c->close_after = true;
				if (simple_reply(c, "431 Request Header Fields Too Large",
						 "too large\n"))
					return -1;
			}
			break;
		}
		hlen = (size_t)(end - c->in) + 4;
		if (answer(c, hlen))
			return -1;
		memmove(c->in, c->in + hlen, c->in_len - hlen);
		c->in_len -= hlen;
	}
	return sconn_flush(c);
}

static void sconn_readable(struct sconn *c)
{
	for (;;) {
		ssize_t n;

		if (c->in_len == sizeof(c->in))
			break;	/* serve_requests() answers 431 */
		n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			sconn_close(c);
			return;
		}
		c->in_len += (size_t)n;
		if (c->streaming)
			break;	/* later requests wait for the stream's end */
	}
	if (serve_requests(c))
		sconn_close(c);
}

static void srv_accept(void)
{
	for (int i = 0; i < 256; i++) {
		struct epoll_event e = { .events = EPOLLIN };
		struct sconn *c;
		int fd = accept4(srv.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			srv.accept_errors++;
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
			    errno == ENOBUFS) {
				struct epoll_event off = { .events = 0,
							   .data.ptr = &tag_listen };

				warnx("accept: %s; pausing 100 ms", strerror(errno));
				epoll_ctl(srv.ep, EPOLL_CTL_MOD, srv.lfd, &off);
				srv.paused_until = now_us() + 100000;
			}
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->fd = fd;
		e.data.ptr = c;
		if (epoll_ctl(srv.ep, EPOLL_CTL_ADD, fd, &e)) {
			close(fd);
			free(c);
			return;
		}
		srv.conns++;
		srv.open++;
	}
}

/* Sends the stream chunks that are due; returns the next due time or 0. */
static uint64_t srv_timers(void)
{
	uint64_t now = now_us(), next = 0;
	struct sconn *c = srv.streams, *nx;

	for (; c; c = nx) {
		nx = c->snext;
		if (c->next_at <= now) {
			c->next_at += (uint64_t)c->ms * 1000;
			if (put_chunk(c) || sconn_flush(c)) {
				sconn_close(c);
				continue;
			}
			if (!c->streaming) {
				/* a request that came in meanwhile */
				if (serve_requests(c))
					sconn_close(c);
				continue;
			}
		}
		if (!next || c->next_at < next)
			next = c->next_at;
	}
	if (srv.paused_until) {
		if (srv.paused_until <= now) {
			struct epoll_event on = { .events = EPOLLIN,
						  .data.ptr = &tag_listen };

			epoll_ctl(srv.ep, EPOLL_CTL_MOD, srv.lfd, &on);
			srv.paused_until = 0;
		} else if (!next || srv.paused_until < next) {
			next = srv.paused_until;
		}
	}
	return next;
}

static const char serve_usage[] =
	"Usage: loadgen serve --listen IP:PORT [--name NAME]\n"
	"HTTP/1.1 with keep-alive: GET / answers \"HELLO NAME\"; GET\n"
	"/stream?chunks=N&ms=M answers N chunks M ms apart (chunked). Port 0 picks\n"
	"a free one. Prints LISTENING IP:PORT and READY; SIGTERM exits.\n";

static int do_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct epoll_event ev[N_EVENTS], e;
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	const char *listen_at = NULL;
	char ip[INET_ADDRSTRLEN];
	sigset_t sigs;
	int c, one = 1;

	snprintf(srv.name, sizeof(srv.name), "loadgen");
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_at = optarg;
			break;
		case 'n':
			if (!name_ok(optarg))
				usage_error("--name '%s': 1-63 printable characters, no spaces",
					    optarg);
			snprintf(srv.name, sizeof(srv.name), "%s", optarg);
			break;
		case 'h':
			fputs(serve_usage, stdout);
			return EXIT_OK;
		default:
			usage_error("serve: bad option");
		}
	}
	if (optind < argc)
		usage_error("serve: unexpected argument '%s'", argv[optind]);
	if (!listen_at || !parse_ipv4_port(listen_at, 0, &sa))
		usage_error("serve: --listen IP:PORT needed (IPv4, port 0-65535)");
	raise_nofile();

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	srv.sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	srv.ep = epoll_create1(EPOLL_CLOEXEC);
	srv.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv.sfd < 0 || srv.ep < 0 || srv.lfd < 0) {
		warnx("setup: %s", strerror(errno));
		return EXIT_FAIL;
	}
	setsockopt(srv.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(srv.lfd, 4096) ||
	    getsockname(srv.lfd, (struct sockaddr *)&sa, &salen)) {
		warnx("listen on %s: %s", listen_at, strerror(errno));
		return EXIT_FAIL;
	}
	e = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &tag_listen };
	epoll_ctl(srv.ep, EPOLL_CTL_ADD, srv.lfd, &e);
	e = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &tag_signal };
	epoll_ctl(srv.ep, EPOLL_CTL_ADD, srv.sfd, &e);

	inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
	printf("LISTENING %s:%u\nREADY\n", ip, ntohs(sa.sin_port));
	fflush(stdout);

	for (;;) {
		uint64_t next = srv_timers();
		int timeout = -1, n;

		if (next) {
			uint64_t now = now_us();

			timeout = next <= now ? 0 : (int)((next - now + 999) / 1000);
		}
		n = epoll_wait(srv.ep, ev, N_EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			warnx("epoll_wait: %s", strerror(errno));
			return EXIT_FAIL;
		}
		for (int i = 0; i < n; i++) {
			void *p = ev[i].data.ptr;

			if (p == &tag_listen) {
				srv_accept();
			} else if (p == &tag_signal) {
				printf("{\"mode\":\"serve\",\"name\":\"%s\",\"listen\":\"%s:%u\","
				       "\"connections\":%lu,\"open\":%lu,\"requests\":%lu,"
				       "\"streams\":%lu,\"accept_errors\":%lu}\n",
				       srv.name, ip, ntohs(sa.sin_port),
				       (unsigned long)srv.conns, (unsigned long)srv.open,
				       (unsigned long)srv.requests,
				       (unsigned long)srv.stream_reqs,
				       (unsigned long)srv.accept_errors);
				fflush(stdout);
				return EXIT_OK;
			} else {
				struct sconn *sc = p;

				if (ev[i].events & EPOLLOUT) {
					if (sconn_flush(sc)) {
						sconn_close(sc);
						continue;
					}
					if (!sc->streaming && !sc->close_after &&
					    serve_requests(sc)) {
						sconn_close(sc);
						continue;
					}
				}
				if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					sconn_readable(sc);
			}
		}
	}
}

/* ---------------------------------------------------------------------- */
/* client                                                                  */
/* ---------------------------------------------------------------------- */

enum kind {
	K_REFUSED,		/* connect: ECONNREFUSED */
	K_EPERM,		/* connect: EPERM/EACCES (a policy refused it) */
	K_ADDR_UNAVAIL,		/* connect: EADDRNOTAVAIL (no local port) */
	K_CONNECT_TIMEOUT,	/* not connected within the timeout */
	K_CONNECT_OTHER,	/* connect: anything else */
	K_RESET,		/* ECONNRESET/EPIPE after connecting */
	K_CLOSED,		/* EOF before the response was complete */
	K_TIMEOUT,		/* connected, response not complete in time */
	K_BAD_STATUS,		/* complete response, not 2xx */
	K_BAD_RESPONSE,		/* unparseable, or --expect text missing */
	K_IO_OTHER,		/* other socket errors */
	K_DEADLINE,		/* still open at the global deadline */
	K_NOT_RUN,		/* never started: the global deadline */
	K_MAX,
};

static const char *const kind_names[K_MAX] = {
	[K_REFUSED] = "refused",
	[K_EPERM] = "eperm",
	[K_ADDR_UNAVAIL] = "addr_unavail",
	[K_CONNECT_TIMEOUT] = "connect_timeout",
	[K_CONNECT_OTHER] = "connect_other",
	[K_RESET] = "reset",
	[K_CLOSED] = "closed",
	[K_TIMEOUT] = "timeout",
	[K_BAD_STATUS] = "bad_status",
	[K_BAD_RESPONSE] = "bad_response",
	[K_IO_OTHER] = "io_other",
	[K_DEADLINE] = "deadline",
	[K_NOT_RUN] = "not_run",
};

enum cstate { C_IDLE, C_CONNECTING, C_SENDING, C_HEAD, C_BODY };
enum body_mode { B_LENGTH, B_CHUNKED, B_EOF };
enum chunk_state { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER };

struct cconn {
	int fd;			/* -1: none */
	enum cstate st;
	bool fresh;		/* this request opened the connection */
	bool stream;
	bool server_close;	/* Connection: close in the response */
	uint64_t t0, deadline;
	char out[1024];
	size_t out_len, out_off;
	char head[CLI_HEAD];
	size_t head_len;
	int status;
	enum body_mode bm;
	uint64_t left;		/* B_LENGTH / CH_DATA: bytes still due */
	enum chunk_state cs;
	char line[128];		/* a chunk-size or trailer line */
	size_t line_len;
	char sample[256];	/* the body's start, for --expect */
	size_t sample_len;
};

static struct {
	struct sockaddr_in dst;
	const char *target;
	const char *host;
	unsigned long requests, concurrency;
	double keepalive, stream_frac;
	unsigned long chunks, chunk_ms, timeout_ms, deadline_ms;
	const char *expect;
	uint64_t seed;
	bool proxy_form;	/* --proxy-form: "GET http://HOST/" (an explicit proxy) */

	int ep;
	struct cconn *conns;
	unsigned long issued, done, ok;
	unsigned long kinds[K_MAX];
	unsigned long fresh_conns, reused, streams, streams_ok;
	unsigned long status_3xx, status_4xx, status_5xx;
	int first_bad_status;
	bool reported[K_MAX];
	uint32_t *lat_us;	/* latency of the ok plain requests */
	unsigned long n_lat;
	uint32_t *slat_us;	/* of the ok streams */
	unsigned long n_slat;
	uint64_t start, deadline;
} cl;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible for a given --seed */
	cl.seed ^= cl.seed >> 12;
	cl.seed ^= cl.seed << 25;
	cl.seed ^= cl.seed >> 27;
	return cl.seed * 2685821657736338717ULL;
}

static bool chance(double p)
{
	return (double)(rnd() >> 11) / 9007199254740992.0 < p;
}

static void cconn_drop(struct cconn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->st = C_IDLE;
}

static void fail(struct cconn *c, enum kind k, int err)
{
	cl.kinds[k]++;
	cl.done++;
	if (!cl.reported[k]) {
		cl.reported[k] = true;
		warnx("first %s failure (%s connection, request %lu): %s", kind_names[k],
		      c->fresh ? "new" : "reused", cl.done,
		      err > 0 ? strerror(err) : err == -1 ? "status" : "-");
	}
	cconn_drop(c);
}

static enum kind connect_kind(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return K_REFUSED;
	case EPERM:
	case EACCES:
		return K_EPERM;
	case EADDRNOTAVAIL:
		return K_ADDR_UNAVAIL;
	case ETIMEDOUT:
		return K_CONNECT_TIMEOUT;
	case ECONNRESET:
		return K_RESET;
	default:
		return K_CONNECT_OTHER;
	}
}

static enum kind io_kind(int err)
{
	return err == ECONNRESET || err == EPIPE ? K_RESET :
	       err == ETIMEDOUT		     ? K_TIMEOUT :
						 K_IO_OTHER;
}

static void complete(struct cconn *c)
{
	uint64_t lat = now_us() - c->t0;
	bool ok = c->status >= 200 && c->status < 300;

	if (!ok) {
		if (c->status >= 500)
			cl.status_5xx++;
		else if (c->status >= 400)
			cl.status_4xx++;
		else
			cl.status_3xx++;
		if (!cl.first_bad_status) {
			size_t n = c->sample_len > 120 ? 120 : c->sample_len;

			for (size_t i = 0; i < n; i++)
				if (c->sample[i] < ' ' || c->sample[i] >= 0x7f)
					c->sample[i] = ' ';
			cl.first_bad_status = c->status;
			warnx("first bad status %d; body starts: %.*s", c->status,
			      (int)n, c->sample);
		}
		fail(c, K_BAD_STATUS, -1);
		return;
	}
	if (cl.expect && !c->stream &&
	    !memmem(c->sample, c->sample_len, cl.expect, strlen(cl.expect))) {
		fail(c, K_BAD_RESPONSE, 0);
		return;
	}
	cl.ok++;
	cl.done++;
	if (lat > UINT32_MAX)
		lat = UINT32_MAX;
	if (c->stream) {
		cl.streams_ok++;
		cl.slat_us[cl.n_slat++] = (uint32_t)lat;
	} else {
		cl.lat_us[cl.n_lat++] = (uint32_t)lat;
	}
	/* keep the connection for the next request, or close it (our side) */
	if (c->server_close || c->bm == B_EOF || !chance(cl.keepalive))
		cconn_drop(c);
	else
		c->st = C_IDLE;
}

static void sample(struct cconn *c, const char *p, size_t n)
{
	size_t room = sizeof(c->sample) - c->sample_len;

	if (n > room)
		n = room;
	memcpy(c->sample + c->sample_len, p, n);
	c->sample_len += n;
}

/*
 * Feeds body bytes. Returns 1 when the response is complete, 0 when more
 * is due, -1 on a malformed chunked body.
 */
static int body(struct cconn *c, const char *p, size_t n)
{
	if (c->bm == B_EOF) {
		sample(c, p, n);
		return 0;
	}
	if (c->bm == B_LENGTH) {
		size_t k = n < c->left ? n : (size_t)c->left;

		sample(c, p, k);
		c->left -= k;
		return c->left ? 0 : 1;	/* bytes past the end: ignored */
	}
	while (n) {
		if (c->cs == CH_DATA) {
			size_t k = n < c->left ? n : (size_t)c->left;

			sample(c, p, k);
			c->left -= k;
			p += k;
			n -= k;
			if (!c->left) {
				c->cs = CH_DATA_END;
				c->line_len = 0;
			}
			continue;
		}
		/* a line: chunk size, the CRLF after data, or a trailer */
		char ch = *p++;

		n--;
		if (ch != '\n') {
			if (c->line_len + 1 >= sizeof(c->line))
				return -1;
			c->line[c->line_len++] = ch;
			continue;
		}
		if (c->line_len && c->line[c->line_len - 1] == '\r')
			c->line_len--;
		c->line[c->line_len] = '\0';
		if (c->cs == CH_DATA_END) {
			if (c->line_len)
				return -1;
			c->cs = CH_SIZE;
		} else if (c->cs == CH_SIZE) {
			char *end;
			unsigned long long sz;

			errno = 0;
			sz = strtoull(c->line, &end, 16);
			if (errno || end == c->line ||
			    (*end && *end != ';' && *end != ' '))
				return -1;
			if (sz) {
				c->left = sz;
				c->cs = CH_DATA;
			} else {
				c->cs = CH_TRAILER;
			}
		} else if (!c->line_len) {	/* CH_TRAILER: the empty line */
			return 1;
		}
		c->line_len = 0;
	}
	return 0;
}

/* Headers complete in c->head: parse them. 0 ok, -1 malformed. */
static int parse_head(struct cconn *c, size_t hlen)
{
	char val[128];

	if (sscanf(c->head, "HTTP/1.%*d %d", &c->status) != 1)
		return -1;
	c->server_close = false;
	if (header_value(c->head, hlen, "connection", val, sizeof(val)) &&
	    has_token(val, "close"))
		c->server_close = true;
	if (!strncmp(c->head, "HTTP/1.0", 8) &&
	    !(header_value(c->head, hlen, "connection", val, sizeof(val)) &&
	      has_token(val, "keep-alive")))
		c->server_close = true;
	if (header_value(c->head, hlen, "transfer-encoding", val, sizeof(val)) &&
	    has_token(val, "chunked")) {
		c->bm = B_CHUNKED;
		c->cs = CH_SIZE;
		c->line_len = 0;
	} else if (header_value(c->head, hlen, "content-length", val,
				sizeof(val))) {
		char *end;

		errno = 0;
		c->left = strtoull(val, &end, 10);
		if (errno || end == val || *end)
			return -1;
		c->bm = B_LENGTH;
	} else if (c->status == 204 || c->status == 304) {
		c->bm = B_LENGTH;
		c->left = 0;
	} else {
		c->bm = B_EOF;
	}
	return 0;
}

static void cconn_read(struct cconn *c)
{
	static char buf[CLI_READ];

	while (c->st == C_HEAD || c->st == C_BODY) {
		char *dst = c->st == C_HEAD ? c->head + c->head_len : buf;
		size_t room = c->st == C_HEAD ? sizeof(c->head) - 1 - c->head_len :
						sizeof(buf);
		ssize_t n = recv(c->fd, dst, room, 0);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			fail(c, io_kind(errno), errno);
			return;
		}
		if (!n) {
			if (c->st == C_BODY && c->bm == B_EOF) {
				c->server_close = true;
				complete(c);
			} else {
				fail(c, K_CLOSED, 0);
			}
			return;
		}
		if (c->st == C_BODY) {
			r = body(c, buf, (size_t)n);
		} else {
			char *end;
			size_t hlen, extra;

			c->head_len += (size_t)n;
			c->head[c->head_len] = '\0';
reparse:
			end = memmem(c->head, c->head_len, "\r\n\r\n", 4);
			if (!end) {
				if (c->head_len == sizeof(c->head) - 1)
					fail(c, K_BAD_RESPONSE, 0);
				continue;
			}
			hlen = (size_t)(end - c->head) + 4;
			extra = c->head_len - hlen;
			if (parse_head(c, hlen)) {
				fail(c, K_BAD_RESPONSE, 0);
				return;
			}
			if (c->status >= 100 && c->status < 200) {
				/* an interim answer: the real one follows */
				memmove(c->head, c->head + hlen, extra);
				c->head_len = extra;
				c->head[extra] = '\0';
				goto reparse;
			}
			c->st = C_BODY;
			if (c->bm == B_LENGTH && !c->left && !extra) {
				complete(c);
				return;
			}
			r = body(c, c->head + hlen, extra);
		}
		if (r < 0) {
			fail(c, K_BAD_RESPONSE, 0);
			return;
		}
		if (r > 0) {
			complete(c);
			return;
		}
	}
}

static void cconn_send(struct cconn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;	/* EPOLLOUT (edge) brings us back */
		if (n < 0) {
			fail(c, io_kind(errno), errno);
			return;
		}
		c->out_off += (size_t)n;
	}
	c->st = C_HEAD;
	cconn_read(c);
}

/* Starts the next request on an idle slot (its kept connection, or new). */
static void start(struct cconn *c)
{
	uint64_t extra = 0;

	cl.issued++;
	c->stream = chance(cl.stream_frac);
	if (c->stream) {
		cl.streams++;
		extra = (uint64_t)cl.chunks * cl.chunk_ms * 1000;
		c->out_len = (size_t)snprintf(c->out, sizeof(c->out),
					      "GET %s%s/stream?chunks=%lu&ms=%lu HTTP/1.1\r\n"
					      "Host: %s\r\nAccept: text/event-stream\r\n"
					      "User-Agent: netfence-loadgen\r\n\r\n",
					      cl.proxy_form ? "http://" : "",
					      cl.proxy_form ? cl.host : "",
					      cl.chunks, cl.chunk_ms, cl.host);
	} else {
		c->out_len = (size_t)snprintf(c->out, sizeof(c->out),
					      "GET %s%s/ HTTP/1.1\r\nHost: %s\r\nAccept: */*\r\n"
					      "User-Agent: netfence-loadgen\r\n\r\n",
					      cl.proxy_form ? "http://" : "",
					      cl.proxy_form ? cl.host : "", cl.host);
	}
	c->out_off = 0;
	c->head_len = 0;
	c->sample_len = 0;
	c->status = 0;
	c->t0 = now_us();
	c->deadline = c->t0 + cl.timeout_ms * 1000 + extra;

	if (c->fd >= 0) {
		c->fresh = false;
		cl.reused++;
		c->st = C_SENDING;
		cconn_send(c);
		return;
	}
	c->fresh = true;
	cl.fresh_conns++;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		fail(c, K_CONNECT_OTHER, errno);
		return;
	}
	{
		struct epoll_event e = {
			.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
			.data.ptr = c,
		};

		if (epoll_ctl(cl.ep, EPOLL_CTL_ADD, c->fd, &e)) {
			fail(c, K_CONNECT_OTHER, errno);
			return;
		}
	}
	if (!connect(c->fd, (struct sockaddr *)&cl.dst, sizeof(cl.dst))) {
		c->st = C_SENDING;
		cconn_send(c);
	} else if (errno == EINPROGRESS) {
		c->st = C_CONNECTING;
	} else {
		fail(c, connect_kind(errno), errno);
	}
}

static void cconn_event(struct cconn *c, uint32_t ev)
{
	int err = 0;
	socklen_t len = sizeof(err);

	switch (c->st) {
	case C_IDLE:
		/* a kept connection the server closed: not a request's failure */
		if (c->fd >= 0 && (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
			cconn_drop(c);
		return;
	case C_CONNECTING:
		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len))
			err = errno;
		if (err) {
			fail(c, connect_kind(err), err);
			return;
		}
		c->st = C_SENDING;
		cconn_send(c);
		return;
	case C_SENDING:
		cconn_send(c);
		return;
	case C_HEAD:
	case C_BODY:
		cconn_read(c);
		return;
	}
}

static void fill(void)
{
	for (unsigned long i = 0; i < cl.concurrency; i++) {
		struct cconn *c = &cl.conns[i];

		while (c->st == C_IDLE && cl.issued < cl.requests)
			start(c);
	}
}

static void scan_timeouts(uint64_t now)
{
	for (unsigned long i = 0; i < cl.concurrency; i++) {
		struct cconn *c = &cl.conns[i];

		if (c->st != C_IDLE && now > c->deadline)
			fail(c, c->st == C_CONNECTING ? K_CONNECT_TIMEOUT : K_TIMEOUT,
			     ETIMEDOUT);
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The p-quantile (nearest rank) of sorted v[0..n), in ms. */
static double pct_ms(const uint32_t *v, unsigned long n, double p)
{
	unsigned long i;

	if (!n)
		return 0;
	i = (unsigned long)(p * (double)n + 0.999999);
	if (i)
		i--;
	if (i >= n)
		i = n - 1;
	return v[i] / 1000.0;
}

static void report(void)
{
	unsigned long failed = 0;
	double dur = (double)(now_us() - cl.start) / 1000.0;

	for (int k = 0; k < K_MAX; k++)
		failed += cl.kinds[k];
	qsort(cl.lat_us, cl.n_lat, sizeof(*cl.lat_us), cmp_u32);
	qsort(cl.slat_us, cl.n_slat, sizeof(*cl.slat_us), cmp_u32);
	printf("{\"mode\":\"client\",\"target\":\"%s\",\"host\":\"%s\","
	       "\"requests\":%lu,\"ok\":%lu,\"failed\":%lu",
	       cl.target, cl.host, cl.requests, cl.ok, failed);
	for (int k = 0; k < K_MAX; k++)
		printf(",\"%s\":%lu", kind_names[k], cl.kinds[k]);
	printf(",\"status_3xx\":%lu,\"status_4xx\":%lu,\"status_5xx\":%lu,"
	       "\"first_bad_status\":%d,\"connections\":%lu,\"reused\":%lu,"
	       "\"streams\":%lu,\"streams_ok\":%lu,\"concurrency\":%lu,"
	       "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,"
	       "\"stream_p50_ms\":%.0f,\"stream_max_ms\":%.0f,"
	       "\"duration_ms\":%.0f,\"rps\":%.0f}\n",
	       cl.status_3xx, cl.status_4xx, cl.status_5xx, cl.first_bad_status,
	       cl.fresh_conns, cl.reused, cl.streams, cl.streams_ok,
	       cl.concurrency, pct_ms(cl.lat_us, cl.n_lat, 0.50),
	       pct_ms(cl.lat_us, cl.n_lat, 0.99), pct_ms(cl.lat_us, cl.n_lat, 1.0),
	       pct_ms(cl.slat_us, cl.n_slat, 0.50),
	       pct_ms(cl.slat_us, cl.n_slat, 1.0), dur,
	       dur > 0 ? (double)cl.done * 1000.0 / dur : 0.0);
	fflush(stdout);
}

static const char client_usage[] =
	"Usage: loadgen client --connect IP:PORT --host NAME --requests N\n"
	"                      --concurrency C [--keepalive-fraction F (0.5)]\n"
	"                      [--stream-fraction S (0.02)] [--stream-chunks K (10)]\n"
	"                      [--stream-ms M (100)] [--timeout-ms T (10000)]\n"
	"                      [--deadline-ms D (600000)] [--expect TEXT] [--seed X]\n"
	"                      [--proxy-form]\n"
	"N requests over C connections; prints one JSON line. N <= 1000000,\n"
	"C <= 1024, D <= 3600000. Exit 0 when every request was ok.\n"
	"--proxy-form: absolute URLs (GET http://NAME/), for an explicit proxy at IP:PORT.\n";

static int do_client(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "host", required_argument, NULL, 'H' },
		{ "requests", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'C' },
		{ "keepalive-fraction", required_argument, NULL, 'k' },
		{ "stream-fraction", required_argument, NULL, 's' },
		{ "stream-chunks", required_argument, NULL, 'K' },
		{ "stream-ms", required_argument, NULL, 'm' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "deadline-ms", required_argument, NULL, 'd' },
		{ "expect", required_argument, NULL, 'e' },
		{ "seed", required_argument, NULL, 'S' },
		{ "proxy-form", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct epoll_event ev[N_EVENTS];
	unsigned long v;
	uint64_t last_scan;
	int c;

	cl.keepalive = 0.5;
	cl.stream_frac = 0.02;
	cl.chunks = 10;
	cl.chunk_ms = 100;
	cl.timeout_ms = 10000;
	cl.deadline_ms = 600000;
	cl.seed = 0x9e3779b97f4a7c15ULL;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cl.target = optarg;
			if (!parse_ipv4_port(optarg, 1, &cl.dst))
				usage_error("--connect '%s': want IPv4:PORT", optarg);
			break;
		case 'H':
			if (!name_ok(optarg))
				usage_error("--host '%s': 1-63 printable characters, no spaces",
					    optarg);
			cl.host = optarg;
			break;
		case 'n':
			if (!parse_ulong(optarg, 1, MAX_REQUESTS, &cl.requests))
				usage_error("--requests '%s': 1-%d", optarg, MAX_REQUESTS);
			break;
		case 'C':
			if (!parse_ulong(optarg, 1, MAX_CONCURRENCY, &cl.concurrency))
				usage_error("--concurrency '%s': 1-%d", optarg,
					    MAX_CONCURRENCY);
			break;
		case 'k':
			if (!parse_fraction(optarg, &cl.keepalive))
				usage_error("--keepalive-fraction '%s': 0-1", optarg);
			break;
		case 's':
			if (!parse_fraction(optarg, &cl.stream_frac))
				usage_error("--stream-fraction '%s': 0-1", optarg);
			break;
		case 'K':
			if (!parse_ulong(optarg, 1, MAX_CHUNKS, &cl.chunks))
				usage_error("--stream-chunks '%s': 1-%d", optarg,
					    MAX_CHUNKS);
			break;
		case 'm':
			if (!parse_ulong(optarg, 0, MAX_CHUNK_MS, &cl.chunk_ms))
				usage_error("--stream-ms '%s': 0-%d", optarg,
					    MAX_CHUNK_MS);
			break;
		case 't':
			if (!parse_ulong(optarg, 1, MAX_TIMEOUT_MS, &cl.timeout_ms))
				usage_error("--timeout-ms '%s': 1-%d", optarg,
					    MAX_TIMEOUT_MS);
			break;
		case 'd':
			if (!parse_ulong(optarg, 1, MAX_DEADLINE_MS, &cl.deadline_ms))
				usage_error("--deadline-ms '%s': 1-%d", optarg,
					    MAX_DEADLINE_MS);
			break;
		case 'e':
			if (!*optarg || strlen(optarg) > MAX_EXPECT)
				usage_error("--expect: 1-%d characters", MAX_EXPECT);
			cl.expect = optarg;
			break;
		case 'S':
			if (!parse_ulong(optarg, 0, ULONG_MAX, &v))
				usage_error("--seed '%s': a number", optarg);
			cl.seed = v ? v : 1;
			break;
		case 'P':
			cl.proxy_form = true;
			break;
		case 'h':
			fputs(client_usage, stdout);
			return EXIT_OK;
		default:
			usage_error("client: bad option");
		}
	}
	if (optind < argc)
		usage_error("client: unexpected argument '%s'", argv[optind]);
	if (!cl.target || !cl.host || !cl.requests || !cl.concurrency)
		usage_error("client: --connect, --host, --requests and --concurrency are needed");
	if (cl.concurrency > cl.requests)
		cl.concurrency = cl.requests;
	if (cl.chunks * cl.chunk_ms > MAX_DEADLINE_MS)
		usage_error("--stream-chunks x --stream-ms: at most %d ms",
			    MAX_DEADLINE_MS);

	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	cl.ep = epoll_create1(EPOLL_CLOEXEC);
	cl.conns = calloc(cl.concurrency, sizeof(*cl.conns));
	cl.lat_us = calloc(cl.requests, sizeof(*cl.lat_us));
	cl.slat_us = calloc(cl.requests, sizeof(*cl.slat_us));
	if (cl.ep < 0 || !cl.conns || !cl.lat_us || !cl.slat_us) {
		warnx("setup: %s", strerror(errno));
		return EXIT_FAIL;
	}
	for (unsigned long i = 0; i < cl.concurrency; i++)
		cl.conns[i].fd = -1;

	cl.start = last_scan = now_us();
	cl.deadline = cl.start + cl.deadline_ms * 1000;
	fill();
	while (cl.done < cl.requests) {
		uint64_t now;
		int n = epoll_wait(cl.ep, ev, N_EVENTS, SCAN_US / 1000);

		if (n < 0 && errno != EINTR) {
			warnx("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++)
			cconn_event(ev[i].data.ptr, ev[i].events);
		now = now_us();
		if (now >= cl.deadline) {
			for (unsigned long i = 0; i < cl.concurrency; i++)
				if (cl.conns[i].st != C_IDLE)
					fail(&cl.conns[i], K_DEADLINE, ETIMEDOUT);
			cl.kinds[K_NOT_RUN] += cl.requests - cl.issued;
			cl.done += cl.requests - cl.issued;
			cl.issued = cl.requests;
			warnx("global deadline (%lu ms) reached", cl.deadline_ms);
			break;
		}
		if (now - last_scan >= SCAN_US) {
			scan_timeouts(now);
			last_scan = now;
		}
		fill();
	}
	report();
	for (unsigned long i = 0; i < cl.concurrency; i++)
		cconn_drop(&cl.conns[i]);
	return cl.ok == cl.requests ? EXIT_OK : EXIT_FAIL;
}

int main(int argc, char **argv)
{
	usage_error_hint = " (loadgen --help)";
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return do_serve(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "client"))
		return do_client(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(serve_usage, stdout);
		fputs(client_usage, stdout);
		return EXIT_OK;
	}
	fputs(serve_usage, stderr);
	fputs(client_usage, stderr);
	return EXIT_USAGE;
}
