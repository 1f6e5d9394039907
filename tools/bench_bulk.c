// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_bulk: one TCP data stream, bounded in bytes and time.
 *
 *   bench_bulk [-c CGROUP_DIR] [-n NETNS] [-C CPU] [-b BYTES] [-T SECONDS]
 *              HOST PORT
 *
 * Connects (from the cgroup and namespace given, so the policy decides the
 * connect as it would any other), sends BYTES (default 256 MiB) in 128 KiB
 * writes, or what it managed in SECONDS (default 10), then shuts down its
 * side and waits for the receiver (bench_sink) to close: every byte has been
 * read by then. Time runs from the completed connect to that close.
 *
 * Prints one line of JSON:
 *   {"bytes":N,"elapsed_ns":N,"gbit_s":X,"cpu_ns":N,"timeout":false,
 *    "error":null}
 * cpu_ns is the CPU time this process ran meanwhile (/proc/self/schedstat):
 * its system calls and the network stack work done in its context (the
 * sending side and, over a veth pair, most of the receiving side's softirq
 * work). With the receiver's own CPU time it gives a throughput per CPU
 * second, which other load on the machine disturbs far less than the wall
 * clock.
 *
 * Exit status: 0 ok (also when the time bound cut the stream short: the JSON
 * says so), 1 an error, 2 bad usage or setup failure.
 */
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include "toolkit.h"

#define CHUNK (128 * 1024)
#define MAX_BYTES (64ull << 30)
#define MAX_SECONDS 600ul
#define CLOSE_WAIT_MS 5000

/* Nanoseconds this process has run, 0 when unknown. */
static uint64_t cpu_ns(void)
{
	unsigned long long v = 0;
	FILE *f = fopen("/proc/self/schedstat", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static int report(unsigned long long bytes, uint64_t ns, uint64_t cpu,
		  bool timeout, int err)
{
	const char *ename = err ? strerrorname_np(err) : NULL;

	printf("{\"bytes\":%llu,\"elapsed_ns\":%llu,\"gbit_s\":%.3f,"
	       "\"cpu_ns\":%llu,\"timeout\":%s,",
	       bytes, (unsigned long long)ns,
	       ns ? (double)bytes * 8.0 / (double)ns : 0.0,
	       (unsigned long long)cpu, timeout ? "true" : "false");
	if (err)
		printf("\"error\":\"%s\"}\n", ename ? ename : "unknown");
	else
		printf("\"error\":null}\n");
	return err ? EXIT_ERR : EXIT_OK;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_bulk [-c CGROUP_DIR] [-n NETNS] [-C CPU] [-b BYTES] [-T SECONDS]\n"
		"                  HOST PORT\n"
		"  -b BYTES    bytes to send (default 268435456)\n"
		"  -T SECONDS  stop sending after this long (default 10)\n");
}

int main(int argc, char *argv[])
{
	unsigned long long want = 256ull << 20, sent = 0;
	unsigned long seconds = 10;
	struct place pl = { 0 };
	struct sockaddr_in dst;
	struct pollfd pfd;
	uint64_t start, deadline, end, cpu0;
	bool timeout = false;
	char *data, tail[4096];
	int fd, c, err = 0;
	ssize_t n;

	usage_error_prog = "bench_bulk";
	while ((c = place_getopt(argc, argv, "+c:n:C:b:T:h", NULL, &pl)) !=
	       -1) {
		switch (c) {
		case 'b':
			want = opt_ulong(c, optarg, 1, MAX_BYTES);
			break;
		case 'T':
			seconds = opt_ulong(c, optarg, 1, MAX_SECONDS);
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		usage_error("want HOST PORT (try -h)");
	if (!parse_ipv4_and_port(argv[optind], argv[optind + 1], &dst))
		usage_error("bad destination '%s' '%s'", argv[optind],
			    argv[optind + 1]);
	data = malloc(CHUNK);
	if (!data)
		usage_error("no memory");
	memset(data, 'x', CHUNK);

	place_process(&pl, false);
	signal(SIGPIPE, SIG_IGN);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return report(0, 0, 0, false, errno);
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)))
		return report(0, 0, 0, false, errno);

	cpu0 = cpu_ns();
	start = now_ns();
	deadline = start + (uint64_t)seconds * 1000000000ull;
	while (sent < want) {
		size_t len = want - sent < CHUNK ? (size_t)(want - sent) :
						   CHUNK;

		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		sent += (unsigned long long)n;
		/* the clock every 64 writes or so is plenty */
		if ((sent & ((64ull * CHUNK) - 1)) < (unsigned long long)n &&
		    now_ns() > deadline) {
			timeout = true;
			break;
		}
	}
	if (!err && shutdown(fd, SHUT_WR))
		err = errno;
	/* the receiver closes once it has read everything */
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (!err) {
		int r = poll(&pfd, 1, CLOSE_WAIT_MS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r ? errno : ETIMEDOUT;
			break;
		}
		n = recv(fd, tail, sizeof(tail), 0);
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			err = errno;
			break;
		}
	}
	end = now_ns();
	cpu0 = cpu_ns() - cpu0;
	close(fd);
	free(data);
	return report(sent, end - start, cpu0, timeout, err);
}
