// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* netfence events: stream the verdict events of attached cgroups. */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "commands.h"
#include "events.h"
#include "log.h"

const char events_usage[] =
	"Usage: netfence events [--cgroup PATH | --pid PID] [--count N] [--timeout SECONDS]\n"
	"Stream verdict events (refusals at connect, send and socket creation; allowed\n"
	"connections too with --log-allowed at attach): one line each, or one JSON\n"
	"object per line with -j. Packet drops and deny_norecord are counted only.\n"
	"Events still in the buffer from before it started come first.\n"
	"Stops on Ctrl-C, after N events, or after SECONDS. Events lost to a full\n"
	"buffer are counted in 'netfence status' (events_lost).\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct events_ctx {
	unsigned long seen;
	unsigned long max;
};

static int on_event(void *ctx, void *data, size_t len)
{
	struct events_ctx *c = ctx;

	if (len < sizeof(struct nf_event) || (c->max && c->seen >= c->max))
		return 0;
	event_print(stdout, data, len, json_output);
	c->seen++;
	if (c->max && c->seen >= c->max)
		stop = 1;
	return 0;
}

/* A positive decimal number: digits only, no leading zero, no sign or space. */
static int parse_ulong(const char *flag, const char *s, unsigned long *out)
{
	unsigned long v = 0;

	if (*out) {
		p_err("%s given twice", flag);
		return EXIT_USAGE;
	}
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > (ULONG_MAX - 9) / 10) {
			v = 0;
			break;
		}
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (!v || s[0] == '0') {
		p_err("%s '%s': expected a positive number", flag, s);
		return EXIT_USAGE;
	}
	*out = v;
	return 0;
}

struct events_opts {
	struct events_ctx *ctx;
	unsigned long *timeout;
};

static int events_flag(void *ctx, int id, const char *arg)
{
	struct events_opts *o = ctx;

	if (id == 'n')
		return parse_ulong("--count", arg, &o->ctx->max);
	return parse_ulong("--timeout", arg, o->timeout);
}

int do_events(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ 0 },
	};
	struct events_ctx ctx = { 0 };
	struct cgroup_ref cg = { .fd = -1 };
	unsigned long timeout = 0;
	struct events_opts opts = { &ctx, &timeout };
	struct sigaction sa = { .sa_handler = on_signal };
	char cgbuf[CGROUP_PATH_MAX];
	struct ring_buffer *rb;
	struct timespec t0, now;
	const char *path;
	int n, ret;

	ret = parse_cgroup_cmd(argc, argv, events_usage, extra, events_flag, &opts,
			       cgbuf, sizeof(cgbuf), &path);
	if (ret)
		return cli_exit(ret);
	ret = require_root("events");
	if (ret)
		return ret;
	if (path && cli_open_cgroup("--cgroup", path, &cg))
		return EXIT_USAGE;
	cgroup_close(&cg);
	rb = events_open(path ? cg.id : 0, on_event, &ctx, &n);
	if (!rb) {
		if (errno == ENOENT)
			p_err(path ? "--cgroup '%s': no netfence policy is attached" :
				     "no cgroup is under a netfence policy%s",
			      path ? path : "");
		else
			p_err("cannot read the events: %s", strerror(errno));
		return EXIT_FAIL;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	pr_info("netfence: following %d polic%s", n, n == 1 ? "y" : "ies");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop) {
		ret = ring_buffer__poll(rb, 200);
		if (ret < 0 && ret != -EINTR) {
			p_err("reading events: %s", strerror(-ret));
			ring_buffer__free(rb);
			return EXIT_FAIL;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout && (unsigned long)(now.tv_sec - t0.tv_sec) >= timeout)
			break;
	}
	ring_buffer__free(rb);
	return EXIT_OK;
}
