// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * nfstress: the fault and load helper of tests/root/test_faults.sh.
 *
 *   nfstress [-c CGROUP_DIR] [-n NETNS] COMMAND ARGS...
 *
 * -c joins a cgroup v2 directory, -n then enters a network namespace with
 * setns() (as nfprobe does: never "ip netns exec", which hides the cgroup
 * mount).
 *
 * Commands:
 *   killat  run a command and SIGKILL it at a chosen point: after a delay,
 *           or on the K-th file event (inotify, no ptrace) under a
 *           directory such as the pin root (or the K-th whose name starts
 *           with a prefix), optionally a few microseconds later. One JSON
 *           line says where: {"pid", "killed", "after_us", "events",
 *           "named", "exit", "signal"}.
 *   hold    open N TCP connections at once, read one line from each, keep
 *           them all open for a while (ports stay in use), count outcomes.
 *   forks   N short-lived processes, each one TCP connect and one line,
 *           P at a time; outcomes counted from their exit statuses.
 *
 * Outcome names in the JSON: match (the line equals --expect, or any line
 * without --expect), mismatch, eperm, eaddrnotavail, refused (ECONNREFUSED),
 * timeout, emfile (no file descriptor for the socket), other.
 *
 * Exit status: 0 ok, 1 error, 2 bad usage or setup failure.
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
#include <dirent.h>
#include <netinet/in.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#define EXIT_OK		0
#define EXIT_ERR	1
#define EXIT_USAGE	2

#define LINE_MAX_LEN	256
#define MAX_WATCHES	256
#define HOLD_MAX	200000
#define FORKS_MAX	100000

static void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("Error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool parse_ulong(const char *s, unsigned long min, unsigned long max,
			unsigned long *out)
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

/* "a.b.c.d" (or with v6, as ::ffff:a.b.c.d) and a port into ss. */
static bool parse_dst(const char *host, const char *port, bool v6,
		      struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	unsigned long p;
	struct in_addr a4;

	memset(ss, 0, sizeof(*ss));
	if (!parse_ulong(port, 1, 65535, &p) || inet_pton(AF_INET, host, &a4) != 1)
		return false;
	if (!v6) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		sin->sin_addr = a4;
		*len = sizeof(*sin);
		return true;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)p);
	sin6->sin6_addr.s6_addr[10] = 0xff;
	sin6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&sin6->sin6_addr.s6_addr[12], &a4, 4);
	*len = sizeof(*sin6);
	return true;
}

/* ---------------------------------------------------------------------- */
/* outcomes                                                                */
/* ---------------------------------------------------------------------- */

enum outcome {
	O_MATCH,
	O_MISMATCH,
	O_EPERM,
	O_EADDRNOTAVAIL,
	O_REFUSED,
	O_TIMEOUT,
	O_EMFILE,
	O_OTHER,
	O_MAX,
};

static const char *const outcome_names[O_MAX] = {
	"match", "mismatch", "eperm", "eaddrnotavail",
	"refused", "timeout", "emfile", "other",
};

static enum outcome classify_errno(int e)
{
	switch (e) {
	case EPERM:
		return O_EPERM;
	case EADDRNOTAVAIL:
		return O_EADDRNOTAVAIL;
	case ECONNREFUSED:
		return O_REFUSED;
	case ETIMEDOUT:
		return O_TIMEOUT;
	case EMFILE:
	case ENFILE:
		return O_EMFILE;
	default:
		return O_OTHER;
	}
}

static void print_outcomes(const char *what, unsigned long count,
			   const unsigned long *n, const char *extra)
{
	printf("{\"%s\":%lu", what, count);
	for (int i = 0; i < O_MAX; i++)
		printf(",\"%s\":%lu", outcome_names[i], n[i]);
	printf("%s}\n", extra ? extra : "");
	fflush(stdout);
}

/* The line in buf[0..n) without its end of line equals expect (or any). */
static enum outcome judge_line(const char *buf, size_t n, const char *expect)
{
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (!expect)
		return n ? O_MATCH : O_MISMATCH;
	return strlen(expect) == n && !memcmp(buf, expect, n) ? O_MATCH :
								O_MISMATCH;
}

/* ---------------------------------------------------------------------- */
/* killat                                                                  */
/* ---------------------------------------------------------------------- */

struct watches {
	int fd;
	int n;
	unsigned long events;
	const char *prefix;	/* --on-name: count only these names */
	unsigned long named;
};

static void watch_dir(struct watches *w, const char *dir)
{
	uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM;

	if (w->n >= MAX_WATCHES)
		return;
	if (inotify_add_watch(w->fd, dir, mask) >= 0)
		w->n++;
}

/* Watches dir and the directories directly inside it. */
static void watch_tree(struct watches *w, const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	watch_dir(w, dir);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!lstat(path, &st) && S_ISDIR(st.st_mode))
			watch_dir(w, path);
	}
	closedir(d);
}

static int count_entries(const char *dir)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * Reads the pending events; new subdirectories of the top directory are
 * watched too (files made in one before its watch counts as events).
 */
static void drain_events(struct watches *w, const char *top)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t len;

	while ((len = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (!(ev->mask & (IN_Q_OVERFLOW | IN_IGNORED)))
				w->events++;
			if (w->prefix && ev->len &&
			    !strncmp(ev->name, w->prefix, strlen(w->prefix)))
				w->named++;
			if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) &&
			    (ev->mask & IN_ISDIR) && ev->len) {
				char path[PATH_MAX];

				snprintf(path, sizeof(path), "%s/%s", top,
					 ev->name);
				watch_dir(w, path);
				if (ev->mask & IN_CREATE)
					w->events += (unsigned long)count_entries(path);
			}
			p += sizeof(*ev) + ev->len;
		}
	}
}

static void spin_us(int64_t us)
{
	int64_t end = now_us() + us;

	while (now_us() < end)
		;
}

static int cmd_killat(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "delay-us", required_argument, NULL, 'd' },
		{ "watch", required_argument, NULL, 'w' },
		{ "on-event", required_argument, NULL, 'k' },
		{ "on-name", required_argument, NULL, 'N' },
		{ "after-us", required_argument, NULL, 'a' },
		{ "limit-ms", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long delay_us = 0, on_event = 0, after_us = 0;
	unsigned long limit_ms = 60000;
	bool have_delay = false, killed = false;
	struct watches w = { .fd = -1 };
	const char *watch = NULL;
	int64_t t0, deadline, killed_at = 0;
	int c, pidfd, status = 0;
	pid_t pid;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:", lopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (!parse_ulong(optarg, 0, 600000000, &delay_us))
				usage_error("killat: bad --delay-us '%s'", optarg);
			have_delay = true;
			break;
		case 'w':
			watch = optarg;
			break;
		case 'k':
			if (!parse_ulong(optarg, 1, 1000000, &on_event))
				usage_error("killat: bad --on-event '%s'", optarg);
			break;
		case 'N':
			w.prefix = optarg;
			break;
		case 'a':
			if (!parse_ulong(optarg, 0, 10000000, &after_us))
				usage_error("killat: bad --after-us '%s'", optarg);
			break;
		case 'l':
			if (!parse_ulong(optarg, 1, 3600000, &limit_ms))
				usage_error("killat: bad --limit-ms '%s'", optarg);
			break;
		default:
			usage_error("killat: unknown option or missing value '%s'",
				    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error("killat: want -- CMD [ARGS...]");
	if ((on_event || w.prefix) && !watch)
		usage_error("killat: --on-event and --on-name need --watch");
	if (w.prefix && !on_event)
		on_event = 1;

	if (watch) {
		w.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (w.fd < 0)
			usage_error("killat: inotify: %s", strerror(errno));
		watch_tree(&w, watch);
		if (!w.n)
			usage_error("killat: cannot watch %s: %s", watch,
				    strerror(errno));
	}

	t0 = now_us();
	pid = fork();
	if (pid < 0)
		usage_error("killat: fork: %s", strerror(errno));
	if (pid == 0) {
		if (w.fd >= 0)
			close(w.fd);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "Error: killat: %s: %s\n", argv[optind],
			strerror(errno));
		_exit(127);
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		usage_error("killat: pidfd_open: %s", strerror(errno));
	}

	deadline = t0 + (have_delay ? (int64_t)delay_us : (int64_t)limit_ms * 1000);
	for (;;) {
		struct pollfd p[2] = { { pidfd, POLLIN, 0 }, { w.fd, POLLIN, 0 } };
		int64_t left = deadline - now_us();
		struct timespec ts;
		int r;

		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			killed_at = now_us();
			break;
		}
		ts.tv_sec = left / 1000000;
		ts.tv_nsec = (left % 1000000) * 1000;
		r = ppoll(p, w.fd >= 0 ? 2 : 1, &ts, NULL);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		if (p[0].revents)
			break;	/* it exited by itself */
		if (p[1].revents) {
			drain_events(&w, watch);
			if (on_event &&
			    (w.prefix ? w.named : w.events) >= on_event) {
				if (after_us)
					spin_us((int64_t)after_us);
				kill(pid, SIGKILL);
				killed = true;
				killed_at = now_us();
				break;
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (w.fd >= 0) {
		drain_events(&w, watch);
		close(w.fd);
	}
	close(pidfd);
	/* killed: true only when the kill found it still running */
	if (killed && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
		killed = false;
	printf("{\"pid\":%d,\"killed\":%s,\"after_us\":%lld,\"events\":%lu,\"named\":%lu,",
	       (int)pid, killed ? "true" : "false",
	       (long long)((killed ? killed_at : now_us()) - t0), w.events,
	       w.named);
	if (WIFEXITED(status))
		printf("\"exit\":%d,\"signal\":null}\n", WEXITSTATUS(status));
	else
		printf("\"exit\":null,\"signal\":%d}\n",
		       WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return EXIT_OK;
}

/* ---------------------------------------------------------------------- */
/* hold                                                                    */
/* ---------------------------------------------------------------------- */

struct conn {
	char buf[LINE_MAX_LEN];
	size_t got;
};

static void raise_nofile(unsigned long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static int cmd_hold(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "hold-ms", required_argument, NULL, 'H' },
		{ "expect", required_argument, NULL, 'e' },
		{ "raise-nofile", no_argument, NULL, 'r' },
		{ "v6", no_argument, NULL, '6' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long count = 0, timeout_ms = 10000, hold_ms = 0, n[O_MAX] = { 0 };
	unsigned long sockets = 0, i, pending = 0, nfds;
	const char *expect = NULL;
	bool v6 = false, raise = false;
	struct sockaddr_storage dst;
	struct pollfd *p;
	struct conn *cs;
	socklen_t dlen;
	int64_t deadline;
	int c, *fds;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!parse_ulong(optarg, 1, HOLD_MAX, &count))
				usage_error("hold: bad --count '%s'", optarg);
			break;
		case 't':
			if (!parse_ulong(optarg, 1, 600000, &timeout_ms))
				usage_error("hold: bad --timeout-ms '%s'", optarg);
			break;
		case 'H':
			if (!parse_ulong(optarg, 0, 600000, &hold_ms))
				usage_error("hold: bad --hold-ms '%s'", optarg);
			break;
		case 'e':
			expect = optarg;
			break;
		case 'r':
			raise = true;
			break;
		case '6':
			v6 = true;
			break;
		default:
			usage_error("hold: unknown option or missing value '%s'",
				    argv[optind - 1]);
		}
	}
	if (!count || argc - optind != 2)
		usage_error("hold: want --count N HOST PORT");
	if (!parse_dst(argv[optind], argv[optind + 1], v6, &dst, &dlen))
		usage_error("hold: bad destination '%s' '%s'", argv[optind],
			    argv[optind + 1]);
	if (raise)
		raise_nofile(count + 64);

	p = calloc(count, sizeof(*p));
	cs = calloc(count, sizeof(*cs));
	fds = calloc(count, sizeof(*fds));
	if (!p || !cs || !fds)
		usage_error("hold: out of memory");
	signal(SIGPIPE, SIG_IGN);

	/* every socket first, then every connect: all of them at once */
	for (i = 0; i < count; i++) {
		p[i].fd = socket(dst.ss_family,
				 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (p[i].fd < 0) {
			n[classify_errno(errno)]++;
		} else {
			sockets++;
		}
		fds[i] = p[i].fd;
	}
	for (i = 0; i < count; i++) {
		if (p[i].fd < 0)
			continue;
		if (connect(p[i].fd, (struct sockaddr *)&dst, dlen) &&
		    errno != EINPROGRESS) {
			n[classify_errno(errno)]++;
			close(p[i].fd);
			p[i].fd = fds[i] = -1;
			continue;
		}
		p[i].events = POLLOUT;
		pending++;
	}

	/* only live sockets in the poll set: poll refuses more than the fd limit */
	nfds = 0;
	for (i = 0; i < count; i++) {
		if (p[i].fd < 0)
			continue;
		p[nfds] = p[i];
		fds[nfds++] = fds[i];
	}
	deadline = now_us() + (int64_t)timeout_ms * 1000;
	while (pending) {
		int64_t left = (deadline - now_us()) / 1000;
		int r;

		if (left <= 0)
			break;
		r = poll(p, nfds, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (i = 0; i < nfds; i++) {
			int err = 0;
			socklen_t elen = sizeof(err);
			ssize_t got;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			if (p[i].events == POLLOUT) {
				if (getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR,
					       &err, &elen))
					err = errno;
				if (err) {
					n[classify_errno(err)]++;
					close(p[i].fd);
					p[i].fd = fds[i] = -1;
					pending--;
				} else {
					p[i].events = POLLIN;
				}
				continue;
			}
			got = recv(p[i].fd, cs[i].buf + cs[i].got,
				   sizeof(cs[i].buf) - 1 - cs[i].got, 0);
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (got > 0)
				cs[i].got += (size_t)got;
			if (got > 0 && !memchr(cs[i].buf, '\n', cs[i].got) &&
			    cs[i].got < sizeof(cs[i].buf) - 1)
				continue;
			/* a line, EOF or an error: judged; the socket stays open */
			if (got < 0)
				n[classify_errno(errno)]++;
			else
				n[judge_line(cs[i].buf, cs[i].got, expect)]++;
			p[i].fd = -1;	/* judged: poll skips it, it stays open */
			pending--;
		}
	}
	for (i = 0; i < nfds; i++)
		if (p[i].fd >= 0)
			n[O_TIMEOUT]++;
	if (hold_ms) {
		struct timespec ts = { (time_t)(hold_ms / 1000),
				       (long)(hold_ms % 1000) * 1000000 };

		nanosleep(&ts, NULL);
	}
	for (i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	{
		char extra[64];

		snprintf(extra, sizeof(extra), ",\"sockets\":%lu", sockets);
		print_outcomes("count", count, n, extra);
	}
	free(p);
	free(cs);
	free(fds);
	return EXIT_OK;
}

/* ---------------------------------------------------------------------- */
/* forks                                                                   */
/* ---------------------------------------------------------------------- */

/* One connect and one line, in a child; the outcome is the exit status. */
static int __attribute__((noreturn))
one_connect(const struct sockaddr_storage *dst, socklen_t dlen,
	    const char *expect, unsigned long timeout_ms)
{
	char buf[LINE_MAX_LEN];
	struct pollfd p;
	size_t got = 0;
	int64_t deadline = now_us() + (int64_t)timeout_ms * 1000;
	int err = 0;
	socklen_t elen = sizeof(err);

	p.fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p.fd < 0)
		_exit(classify_errno(errno));
	if (connect(p.fd, (const struct sockaddr *)dst, dlen)) {
		if (errno != EINPROGRESS)
			_exit(classify_errno(errno));
		p.events = POLLOUT;
		if (poll(&p, 1, (int)timeout_ms) <= 0)
			_exit(O_TIMEOUT);
		if (getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &elen))
			err = errno;
		if (err)
			_exit(classify_errno(err));
	}
	p.events = POLLIN;
	while (got < sizeof(buf) - 1) {
		int64_t left = (deadline - now_us()) / 1000;
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			_exit(O_TIMEOUT);
		r = recv(p.fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0)
			_exit(classify_errno(errno));
		if (r == 0)
			break;
		got += (size_t)r;
		if (memchr(buf, '\n', got))
			break;
	}
	_exit(judge_line(buf, got, expect));
}

static int cmd_forks(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "parallel", required_argument, NULL, 'p' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "expect", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long count = 0, parallel = 16, timeout_ms = 3000, n[O_MAX] = { 0 };
	unsigned long started = 0, running = 0, fork_failed = 0;
	const char *expect = NULL;
	struct sockaddr_storage dst;
	socklen_t dlen;
	int c, status;
	pid_t pid;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!parse_ulong(optarg, 1, FORKS_MAX, &count))
				usage_error("forks: bad --count '%s'", optarg);
			break;
		case 'p':
			if (!parse_ulong(optarg, 1, 1024, &parallel))
				usage_error("forks: bad --parallel '%s'", optarg);
			break;
		case 't':
			if (!parse_ulong(optarg, 1, 600000, &timeout_ms))
				usage_error("forks: bad --timeout-ms '%s'", optarg);
			break;
		case 'e':
			expect = optarg;
			break;
		default:
			usage_error("forks: unknown option or missing value '%s'",
				    argv[optind - 1]);
		}
	}
	if (!count || argc - optind != 2)
		usage_error("forks: want --count N HOST PORT");
	if (!parse_dst(argv[optind], argv[optind + 1], false, &dst, &dlen))
		usage_error("forks: bad destination '%s' '%s'", argv[optind],
			    argv[optind + 1]);
	signal(SIGPIPE, SIG_IGN);

	while (started < count || running) {
		if (started < count && running < parallel) {
			pid = fork();
			if (pid == 0)
				one_connect(&dst, dlen, expect, timeout_ms);
			started++;
			if (pid < 0) {
				fork_failed++;
				continue;
			}
			running++;
			continue;
		}
		pid = wait(&status);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		running--;
		if (WIFEXITED(status) && WEXITSTATUS(status) < O_MAX)
			n[WEXITSTATUS(status)]++;
		else
			n[O_OTHER]++;
	}
	{
		char extra[64];

		snprintf(extra, sizeof(extra), ",\"fork_failed\":%lu",
			 fork_failed);
		print_outcomes("count", count, n, extra);
	}
	return EXIT_OK;
}

/* ---------------------------------------------------------------------- */
/* main                                                                    */
/* ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("usage: nfstress [-c CGROUP_DIR] [-n NETNS] COMMAND ARGS...\n"
	      "  killat [--delay-us N] [--watch DIR [--on-event K] [--on-name PREFIX]\n"
	      "         [--after-us N]]\n"
	      "         [--limit-ms N] -- CMD [ARGS...]\n"
	      "  hold --count N [--timeout-ms N] [--hold-ms N] [--expect LINE]\n"
	      "       [--raise-nofile] [--v6] HOST PORT\n"
	      "  forks --count N [--parallel P] [--timeout-ms N] [--expect LINE]\n"
	      "        HOST PORT\n",
	      f);
}

static void join_cgroup(const char *dir)
{
	char path[PATH_MAX], pid[32];
	int fd, len;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >=
	    (int)sizeof(path))
		usage_error("-c: path too long");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		usage_error("-c: open %s: %s", path, strerror(errno));
	len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (write(fd, pid, (size_t)len) != len)
		usage_error("-c: join %s: %s", dir, strerror(errno));
	close(fd);
}

static void join_netns(const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		usage_error("-n: open %s: %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET))
		usage_error("-n: setns %s: %s", path, strerror(errno));
	close(fd);
}

int main(int argc, char *argv[])
{
	const char *cg = NULL, *ns = NULL, *cmd;
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, "+:c:n:h")) != -1) {
		switch (c) {
		case 'c':
			cg = optarg;
			break;
		case 'n':
			ns = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage_error("bad option '-%c' (try -h)", optopt);
		}
	}
	if (optind >= argc)
		usage_error("missing COMMAND (killat, hold, forks; try -h)");
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (cg)
		join_cgroup(cg);
	if (ns)
		join_netns(ns);
	if (!strcmp(cmd, "killat"))
		return cmd_killat(argc, argv);
	if (!strcmp(cmd, "hold"))
		return cmd_hold(argc, argv);
	if (!strcmp(cmd, "forks"))
		return cmd_forks(argc, argv);
	usage_error("unknown command '%s' (killat, hold, forks)", cmd);
}
