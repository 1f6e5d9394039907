// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What the commands' command lines share (cli.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "cgroup.h"
#include "cli.h"
#include "log.h"
#include "policy.h"

void cli_json(void)
{
	json_output = true;
}

void print_usage(const char *usage)
{
	fputs(usage, stdout);
}

int require_root(const char *what)
{
	char mnt[512];

	if (geteuid() != 0) {
		p_err("netfence %s needs root (CAP_SYS_ADMIN, CAP_BPF, CAP_NET_ADMIN)",
		      what);
		return EXIT_FAIL;
	}
	if (cgroup2_mount("/proc/self/mounts", mnt, sizeof(mnt))) {
		p_err("no cgroup v2 file system is mounted");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int pid_cgroup_arg(const char *path, const char *pid_arg, char *buf,
		   size_t len, const char **out)
{
	struct policy_opts o;
	char err[256];

	*out = path;
	if (!pid_arg)
		return EXIT_OK;
	policy_opts_init(&o);
	if (policy_opt_set(&o, OPT_PID, pid_arg, err, sizeof(err))) {
		p_err("%s", err);
		return EXIT_USAGE;
	}
	return cgroup_arg(path, o.pid, "--cgroup", "--pid", buf, len, out);
}

int parse_cgroup_cmd(int argc, char **argv, const char *usage,
		     const struct option *extra,
		     int (*fn)(void *ctx, int id, const char *arg), void *ctx,
		     char *buf, size_t len, const char **path)
{
	struct option longopts[16] = {
		{ "cgroup", required_argument, NULL, 'c' },
		{ "pid", required_argument, NULL, 'p' },
		CLI_HELP_OPTION,
		CLI_JSON_OPTION,
	};
	const char *pid_arg = NULL;
	size_t n = 4;
	int c, ret;

	for (; extra && extra->name && n < 15; extra++)
		longopts[n++] = *extra;
	*path = NULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CLI_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			print_usage(usage);
			return CLI_HELP;
		case 'j':
			cli_json();
			break;
		case 'c':
		case 'p':
			if (c == 'c' ? *path != NULL : pid_arg != NULL) {
				p_err("%s given twice", c == 'c' ? "--cgroup" : "--pid");
				return EXIT_USAGE;
			}
			*(c == 'c' ? path : &pid_arg) = optarg;
			break;
		case '?':
		case ':':
			return bad_option(argv, c);
		default:
			ret = fn(ctx, c, optarg);
			if (ret)
				return ret;
		}
	}
	if (optind < argc) {
		p_err("unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	return pid_cgroup_arg(*path, pid_arg, buf, len, path);
}

int bad_option(char **argv, int c)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		p_err("%s needs a value", arg);
	else
		p_err("unknown option '%s'", arg);
	return EXIT_USAGE;
}

int cgroup_arg(const char *path, int pid, const char *path_flag,
	       const char *pid_flag, char *buf, size_t len, const char **out)
{
	*out = path;
	if (path && pid) {
		p_err("give %s or %s, not both", path_flag, pid_flag);
		return EXIT_USAGE;
	}
	if (!pid)
		return 0;
	if (kill(pid, 0) && errno == ESRCH) {
		p_err("%s '%d': no such process", pid_flag, pid);
		return EXIT_USAGE;
	}
	if (cgroup_of_pid(pid, buf, len)) {
		p_err("%s '%d': cannot read its cgroup v2 path from /proc/%d/cgroup",
		      pid_flag, pid, pid);
		return EXIT_USAGE;
	}
	*out = buf;
	return 0;
}

int cli_open_cgroup(const char *flag, const char *path, struct cgroup_ref *ref)
{
	char why[256];

	if (cgroup_open(path, ref, why, sizeof(why))) {
		p_err("%s '%s': %s", flag, path, why);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}
