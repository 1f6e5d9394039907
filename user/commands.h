/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The commands: each returns an exit status (EXIT_OK, EXIT_FAIL, EXIT_USAGE). */
#ifndef NETFENCE_COMMANDS_H
#define NETFENCE_COMMANDS_H

#include "cli.h"

/* What `run` creates, named by its pid (`cleanup` finds dead runs' by it). */
#define RUN_CGROUP_PREFIX "netfence-run-"	/* under the cgroup2 mount */
#define RUN_DIR_PREFIX "/tmp/netfence-run-"	/* + "<pid>-XXXXXX" */

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;	/* the synopsis and flags, shown by --help */
};

int do_attach(int argc, char **argv);
int do_detach(int argc, char **argv);
int do_status(int argc, char **argv);
int do_run(int argc, char **argv);
int do_check(int argc, char **argv);
int do_events(int argc, char **argv);
int do_cleanup(int argc, char **argv);
int do_report(int argc, char **argv);

extern const char attach_usage[];
extern const char detach_usage[];
extern const char status_usage[];
extern const char run_usage[];
extern const char check_usage[];
extern const char events_usage[];
extern const char cleanup_usage[];
extern const char report_usage[];

#endif /* NETFENCE_COMMANDS_H */
