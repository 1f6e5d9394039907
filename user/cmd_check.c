// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* netfence check: the command (flags and printing); the probes are check.c's. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "commands.h"
#include "json.h"
#include "linkage.h"
#include "log.h"

const char check_usage[] =
	"Usage: netfence check [--no-squid]\n"
	"Probe whether this machine has what netfence needs, one line each: root and\n"
	"capabilities, BTF, cgroup v2, bpffs, each BPF map, program and attach type\n"
	"netfence uses (loaded and attached with BPF links to a throwaway cgroup that is\n"
	"removed at once), netfence's own programs through the verifier, and Squid with\n"
	"ssl-bump for `run`. Nothing stays attached, pinned or created.\n"
	"\n"
	"  --no-squid   skip the Squid probe (attach with your own proxy, or run --proxy)\n"
	"\n"
	"Exit status: 0 when everything needed is there (warnings aside), 1 when a\n"
	"line says missing or not checked.\n";

int do_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "no-squid", no_argument, NULL, 'S' },
		CLI_HELP_OPTION,
		CLI_JSON_OPTION,
		{ 0 },
	};
	unsigned int flags = CHECK_F_SQUID;
	struct check_report *r;
	int c, missing;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CLI_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			print_usage(check_usage);
			return EXIT_OK;
		case 'j':
			cli_json();
			break;
		case 'S':
			flags &= ~CHECK_F_SQUID;
			break;
		default:
			return bad_option(argv, c);
		}
	}
	if (optind < argc) {
		p_err("unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		p_err("out of memory");
		return EXIT_FAIL;
	}
	missing = check_run(r, flags);
	if (json_output) {
		struct json jw, *j = json_init(&jw, stdout);

		check_print_json(j, r);
		json_end(j);
	} else {
		struct utsname u;

		printf("netfence check: kernel %s, libbpf %s, %s binary\n",
		       uname(&u) ? "?" : u.release, libbpf_version_string(),
		       linkage_name());
		check_print_text(stdout, r);
	}
	free(r);
	return missing ? EXIT_FAIL : EXIT_OK;
}
