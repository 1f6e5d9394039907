// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* netfence: eBPF egress enforcer for cgroup v2. The command dispatcher. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "commands.h"
#include "linkage.h"
#include "log.h"

static const struct cmd cmds[] = {
	{ "attach", do_attach, attach_usage },
	{ "detach", do_detach, detach_usage },
	{ "status", do_status, status_usage },
	{ "run", do_run, run_usage },
	{ "check", do_check, check_usage },
	{ "events", do_events, events_usage },
	{ "cleanup", do_cleanup, cleanup_usage },
	{ "report", do_report, report_usage },
	{ 0 },
};

static const char main_usage[] =
	"Usage: netfence [-j|--json] [-v|--verbose] [-d|--debug] COMMAND [ARGS]\n"
	"       netfence --version | --help\n"
	"Confine a cgroup's network egress to a proxy with eBPF.\n"
	"\n"
	"Commands:\n"
	"  attach   put a cgroup under a policy (pinned, outlives netfence)\n"
	"  detach   remove a cgroup's policy\n"
	"  status   show attached cgroups, their policy and counters\n"
	"  run      run a command confined, with an embedded Squid\n"
	"  check    say which kernel features and tools netfence needs are missing\n"
	"  events   stream verdict events (refusals; allowed with --log-allowed)\n"
	"  cleanup  remove what killed runs and attaches left behind\n"
	"  report   a run's --log-dir as one HTML page, JSON or a summary\n"
	"\n"
	"  -j, --json     JSON on stdout (errors too); also after the command\n"
	"  -v, --verbose  more messages; -d, --debug: libbpf and verifier logs\n"
	"\n"
	"Run 'netfence COMMAND --help' for a command's flags.\n"
	"Exit status: 0 success, 1 failure, 2 bad usage or input.\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	enum log_level level = LOG_WARN;
	bool json = false;
	int c;

	linkage_init();
	/* global flags stop at the command name */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+jvdh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'v':
			level = level < LOG_INFO ? LOG_INFO : level;
			break;
		case 'd':
			level = LOG_DEBUG;
			break;
		case 'h':
			fputs(main_usage, stdout);
			return EXIT_OK;
		case 'V':
			/* the libbpf in use, the one built against, the linkage */
			printf("netfence %s (libbpf %s, built with libbpf %d.%d, %s)\n",
			       NETFENCE_VERSION, libbpf_version_string(),
			       LIBBPF_MAJOR_VERSION, LIBBPF_MINOR_VERSION,
			       linkage_name());
			return EXIT_OK;
		default:
			log_init(level, json);
			p_err("unknown option '%s'", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	log_init(level, json);
	if (optind >= argc) {
		p_err("no command (try 'netfence --help')");
		return EXIT_USAGE;
	}
	for (const struct cmd *cmd = cmds; cmd->name; cmd++) {
		if (!strcmp(argv[optind], cmd->name))
			return cmd->fn(argc - optind, argv + optind);
	}
	p_err("unknown command '%s' (try 'netfence --help')", argv[optind]);
	return EXIT_USAGE;
}
