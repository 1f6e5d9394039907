// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* netfence report: a run's log directory as a page, JSON or a summary. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "report.h"

const char report_usage[] =
	"Usage: netfence report [--text] DIR\n"
	"Write DIR/report.html from a run's log directory (run --log-dir DIR):\n"
	"one self-contained page with the run, totals by verdict, a timeline, every\n"
	"destination tried and what to add to allow the refused ones. Then print its\n"
	"path, or with -j the same summary as one JSON document.\n"
	"  --text    a short summary instead of the path (the default on a terminal)\n"
	"Malformed lines are skipped and counted. Exit status 2 when DIR is missing\n"
	"or holds no run.json, access.log or events.jsonl.\n";

int do_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "text", no_argument, NULL, 't' },
		CLI_HELP_OPTION,
		CLI_JSON_OPTION,
		{ 0 },
	};
	char err[512], path[PATH_MAX + 16];
	struct report r;
	bool text = false;
	const char *dir;
	int c, ret;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+" CLI_SHORTOPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			print_usage(report_usage);
			return EXIT_OK;
		case 'j':
			cli_json();
			break;
		case 't':
			text = true;
			break;
		default:
			p_err("report: unknown option '%s'", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		p_err("report: no directory (netfence report [--text] DIR)");
		return EXIT_USAGE;
	}
	if (argc - optind > 1) {
		p_err("report: one directory only, not '%s'", argv[optind + 1]);
		return EXIT_USAGE;
	}
	dir = argv[optind];
	report_init(&r);
	ret = report_load(&r, dir, err, sizeof(err));
	if (ret) {
		p_err("report: '%s': %s", dir, err);
		report_free(&r);
		return EXIT_USAGE;
	}
	ret = report_write_html(&r, dir, path, sizeof(path), err, sizeof(err));
	if (ret) {
		p_err("report: %s", err);
		report_free(&r);
		return EXIT_FAIL;
	}
	if (json_output)
		report_json(stdout, &r, path);
	else if (text || isatty(STDOUT_FILENO))
		report_text(stdout, &r, path);
	else
		printf("%s\n", path);
	report_free(&r);
	return EXIT_OK;
}
