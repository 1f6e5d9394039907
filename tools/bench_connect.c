// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_connect: TCP connect+close rate and latency.
 *
 *   bench_connect [-c CGROUP_DIR] [-n NETNS] [-C CPU] [-N COUNT] [-w WARMUP]
 *                 [-T SECONDS] HOST PORT
 *
 * Joins the cgroup (-c), enters the network namespace (-n), then makes WARMUP
 * unmeasured connections and COUNT measured ones, one at a time: socket(),
 * blocking connect() (it returns when the handshake is done), close(). Each
 * iteration is timed from before socket() to after close(). The whole run is
 * bounded by -T (default 60 s): a connect still blocked then is interrupted.
 *
 * Prints one line of JSON:
 *   {"n":COUNT,"ok":K,"connects":WARMUP+K,"elapsed_ns":...,"rate":...,
 *    "mean_us":...,"tmean_us":...,"p50_us":...,"p90_us":...,"p99_us":...,
 *    "max_us":...,"error":null|"ECONNREFUSED"|...,"timeout":false}
 * rate is measured connections per second over the measured part; tmean_us
 * is the mean of the samples up to the 99th percentile (a trimmed mean: the
 * shape of the distribution without the rare multi-millisecond stalls a busy
 * or virtual machine adds).
 *
 * Exit status: 0 all COUNT connections made, 1 an error or the time limit
 * stopped the run (the JSON says which), 2 bad usage or setup failure.
 */
#include <getopt.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "toolkit.h"

#define MAX_COUNT 10000000ul
#define MAX_WARMUP 1000000ul
#define MAX_SECONDS 3600ul

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The nearest rank of the q-quantile among n samples, 1..n. */
static size_t quantile_rank(size_t n, double q)
{
	size_t rank = (size_t)(q * (double)n + 0.999999);

	if (rank < 1)
		rank = 1;
	return rank > n ? n : rank;
}

/* The q-quantile of sorted v[0..n-1], in microseconds. */
static double quantile_us(const uint64_t *v, size_t n, double q)
{
	return n ? (double)v[quantile_rank(n, q) - 1] / 1000.0 : 0.0;
}

/* The mean of sorted v[0..n-1] up to the q-quantile, in microseconds. */
static double trimmed_mean_us(const uint64_t *v, size_t n, double q)
{
	size_t i, k;
	double sum = 0;

	if (!n)
		return 0.0;
	k = quantile_rank(n, q);
	for (i = 0; i < k; i++)
		sum += (double)v[i];
	return sum / (double)k / 1000.0;
}

/* One connect+close; 0 or an errno. */
static int one_connect(const struct sockaddr_in *dst)
{
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)))
		err = errno;
	close(fd);
	return err;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_connect [-c CGROUP_DIR] [-n NETNS] [-C CPU] [-N COUNT]\n"
		"                     [-w WARMUP] [-T SECONDS] HOST PORT\n"
		"  -c DIR     join this cgroup v2 directory first\n"
		"  -n NAME    then enter /run/netns/NAME (setns)\n"
		"  -C CPU     run on this CPU only\n"
		"  -N COUNT   measured connections (default 1000)\n"
		"  -w WARMUP  unmeasured connections first (default 100)\n"
		"  -T SECONDS bound on the whole run (default 60)\n");
}

int main(int argc, char *argv[])
{
	unsigned long count = 1000, warmup = 100, seconds = 60;
	struct place pl = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	uint64_t t0, t1, start, sum = 0, *lat;
	struct sockaddr_in dst;
	unsigned long i, ok = 0, done_warmup = 0;
	const char *ename = NULL;
	int c, err = 0;

	usage_error_prog = "bench_connect";
	while ((c = place_getopt(argc, argv, "+c:n:C:N:w:T:h", NULL, &pl)) !=
	       -1) {
		switch (c) {
		case 'N':
			count = opt_ulong(c, optarg, 1, MAX_COUNT);
			break;
		case 'w':
			warmup = opt_ulong(c, optarg, 0, MAX_WARMUP);
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
		usage_error("bad destination '%s' '%s' (want an IPv4 "
			    "literal and a port)",
			    argv[optind], argv[optind + 1]);
	lat = calloc(count, sizeof(*lat));
	if (!lat)
		usage_error("no memory for %lu samples", count);

	place_process(&pl, false);

	/* no SA_RESTART: the alarm interrupts a blocked connect() */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL))
		usage_error("sigaction: %s", strerror(errno));
	alarm((unsigned int)seconds);

	for (i = 0; i < warmup && !timed_out; i++) {
		err = one_connect(&dst);
		if (err)
			break;
		done_warmup++;
	}
	start = now_ns();
	for (i = 0; i < count && !err && !timed_out; i++) {
		t0 = now_ns();
		err = one_connect(&dst);
		t1 = now_ns();
		if (err)
			break;
		lat[ok++] = t1 - t0;
		sum += t1 - t0;
	}
	t1 = now_ns();
	alarm(0);
	if (err == EINTR && timed_out)
		err = 0;
	if (err)
		ename = errname(err);

	qsort(lat, ok, sizeof(*lat), cmp_u64);
	printf("{\"n\":%lu,\"ok\":%lu,\"connects\":%lu,\"elapsed_ns\":%llu,"
	       "\"rate\":%.1f,\"mean_us\":%.3f,\"tmean_us\":%.3f,\"p50_us\":%.3f,"
	       "\"p90_us\":%.3f,\"p99_us\":%.3f,\"max_us\":%.3f,",
	       count, ok, done_warmup + ok, (unsigned long long)(t1 - start),
	       ok && t1 > start ? (double)ok * 1e9 / (double)(t1 - start) : 0.0,
	       ok ? (double)sum / (double)ok / 1000.0 : 0.0,
	       trimmed_mean_us(lat, ok, 0.99), quantile_us(lat, ok, 0.50),
	       quantile_us(lat, ok, 0.90), quantile_us(lat, ok, 0.99),
	       quantile_us(lat, ok, 1.0));
	if (ename)
		printf("\"error\":\"%s\",", ename);
	else
		printf("\"error\":null,");
	printf("\"timeout\":%s}\n", timed_out ? "true" : "false");
	free(lat);
	return ok == count ? EXIT_OK : EXIT_ERR;
}
