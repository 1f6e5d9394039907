// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_sink: the server side of the benchmarks.
 *
 *   bench_sink [-c CGROUP_DIR] [-n NETNS] [-C CPU] [--listen IP:PORT]...
 *              [--orig IP:PORT]...
 *
 * Every listener accepts, reads until the client closes (discarding what it
 * sent: connect benchmarks send nothing, bulk senders send a stream), then
 * closes. On an --orig listener each accepted connection first asks
 * getsockopt(SOL_IP, SO_ORIGINAL_DST), as Squid in intercept mode does, so a
 * netfence redirect pays for its responder and its record is consumed.
 *
 * Prints READY on stdout once every listener is up. SIGUSR1 prints the
 * counters, SIGTERM/SIGINT print them and exit. Counters, one JSON line on
 * stderr per listener:
 *   {"listen":"IP:PORT","accepted":N,"orig_ok":N,"orig_err":N,"bytes":N}
 *
 * Single-threaded, epoll, non-blocking sockets. Exit status: 0 after a
 * signal, 1 on an error, 2 bad usage or setup failure.
 */
#include <getopt.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "toolkit.h"

/* <linux/netfilter_ipv4.h> */
#define BS_SO_ORIGINAL_DST 80

#define MAX_LISTENERS 16
#define MAX_EVENTS 256
#define ACCEPT_BURST 256
#define RECV_BUF (256 * 1024)
#define CONN_TAG (1ull << 32) /* epoll data: CONN_TAG | fd, or a listener */

struct listener {
	int fd;
	bool orig;
	char label[INET_ADDRSTRLEN + 8];
	unsigned long long accepted, orig_ok, orig_err, bytes;
};

static struct listener ls[MAX_LISTENERS];
static int nls;
/* which listener a connection came from, by fd (bytes are counted there) */
static signed char *conn_owner;
static int conn_owner_max;
static char *buf;
static volatile sig_atomic_t got_term, got_usr1;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

static void print_stats(void)
{
	int i;

	for (i = 0; i < nls; i++)
		fprintf(stderr,
			"{\"listen\":\"%s\",\"accepted\":%llu,\"orig_ok\":%llu,"
			"\"orig_err\":%llu,\"bytes\":%llu}\n",
			ls[i].label, ls[i].accepted, ls[i].orig_ok,
			ls[i].orig_err, ls[i].bytes);
	fflush(stderr);
}

static void add_listener(const char *arg, bool orig)
{
	struct sockaddr_in sin;
	struct listener *l;
	int one = 1;

	if (nls == MAX_LISTENERS)
		usage_error("at most %d listeners", MAX_LISTENERS);
	if (!parse_ipv4_port(arg, 0, &sin))
		usage_error("bad listen address '%s' (want IP:PORT)", arg);
	l = &ls[nls++];
	l->orig = orig;
	snprintf(l->label, sizeof(l->label), "%s", arg);
	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		usage_error("socket: %s", strerror(errno));
	if (setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		usage_error("SO_REUSEADDR: %s", strerror(errno));
	if (bind(l->fd, (struct sockaddr *)&sin, sizeof(sin)))
		usage_error("bind %s: %s", arg, strerror(errno));
	if (listen(l->fd, 4096))
		usage_error("listen %s: %s", arg, strerror(errno));
}

static bool track(int fd, int owner)
{
	if (fd >= conn_owner_max) {
		int n = fd * 2 + 64;
		signed char *p = realloc(conn_owner, (size_t)n);

		if (!p)
			return false;
		memset(p + conn_owner_max, -1, (size_t)(n - conn_owner_max));
		conn_owner = p;
		conn_owner_max = n;
	}
	conn_owner[fd] = (signed char)owner;
	return true;
}

/* Reads what is there. Returns true when the connection is finished. */
static bool drain(int fd)
{
	struct listener *l = &ls[conn_owner[fd]];
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, RECV_BUF, 0);
		if (n > 0) {
			l->bytes += (unsigned long long)n;
			continue;
		}
		if (n < 0 && (errno == EINTR))
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		return true; /* EOF or an error (a reset) */
	}
}

static void finish(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	conn_owner[fd] = -1;
	close(fd);
}

static void accept_burst(int ep, int idx)
{
	struct listener *l = &ls[idx];
	struct sockaddr_in od;
	struct epoll_event ev;
	socklen_t olen;
	int i, fd;

	for (i = 0; i < ACCEPT_BURST; i++) {
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or EMFILE and friends: retry later */
		l->accepted++;
		if (l->orig) {
			olen = sizeof(od);
			if (getsockopt(fd, SOL_IP, BS_SO_ORIGINAL_DST, &od,
				       &olen))
				l->orig_err++;
			else
				l->orig_ok++;
		}
		if (!track(fd, idx)) {
			close(fd);
			continue;
		}
		/* a connect benchmark's client has usually closed already */
		if (drain(fd)) {
			conn_owner[fd] = -1;
			close(fd);
			continue;
		}
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.u64 = CONN_TAG | (uint64_t)fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
			conn_owner[fd] = -1;
			close(fd);
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_sink [-c CGROUP_DIR] [-n NETNS] [-C CPU] [--listen IP:PORT]...\n"
		"                  [--orig IP:PORT]...\n"
		"  --listen IP:PORT  accept, read to EOF, close\n"
		"  --orig IP:PORT    the same, after getsockopt(SO_ORIGINAL_DST) like Squid\n");
}

int main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "orig", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct place pl = { 0 };
	const char *largs[MAX_LISTENERS];
	bool lorig[MAX_LISTENERS];
	struct epoll_event evs[MAX_EVENTS], ev;
	struct sigaction sa = { .sa_handler = on_signal };
	int nargs = 0, c, i, n, ep, rc = EXIT_OK;

	usage_error_prog = "bench_sink";
	while ((c = place_getopt(argc, argv, "+c:n:C:h", lopts, &pl)) != -1) {
		switch (c) {
		case 'l':
		case 'o':
			if (nargs == MAX_LISTENERS)
				usage_error("at most %d listeners",
					    MAX_LISTENERS);
			largs[nargs] = optarg;
			lorig[nargs++] = c == 'o';
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!nargs)
		usage_error("no listener (--listen or --orig)");
	buf = malloc(RECV_BUF);
	if (!buf)
		usage_error("no memory");

	place_process(&pl, false);

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		usage_error("epoll_create1: %s", strerror(errno));
	for (i = 0; i < nargs; i++) {
		add_listener(largs[i], lorig[i]);
		ev.events = EPOLLIN;
		ev.data.u64 = (uint64_t)(nls - 1);
		if (epoll_ctl(ep, EPOLL_CTL_ADD, ls[nls - 1].fd, &ev))
			usage_error("epoll_ctl: %s", strerror(errno));
	}
	printf("READY\n");
	fflush(stdout);

	while (!got_term) {
		n = epoll_wait(ep, evs, MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR) {
				if (got_usr1) {
					got_usr1 = 0;
					print_stats();
				}
				continue;
			}
			fprintf(stderr, "Error: bench_sink: epoll_wait: %s\n",
				strerror(errno));
			rc = EXIT_ERR;
			break;
		}
		for (i = 0; i < n; i++) {
			uint64_t d = evs[i].data.u64;

			if (d & CONN_TAG) {
				int fd = (int)(d & 0xffffffffu);

				if (drain(fd))
					finish(ep, fd);
			} else {
				accept_burst(ep, (int)d);
			}
		}
		if (got_usr1) {
			got_usr1 = 0;
			print_stats();
		}
	}
	print_stats();
	return rc;
}
