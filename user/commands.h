/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The commands: each returns an exit status (EXIT_OK, EXIT_FAIL, EXIT_USAGE). */
#ifndef NETFENCE_COMMANDS_H
#define NETFENCE_COMMANDS_H

#include <getopt.h>
#include <stddef.h>

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

/* Prints a command's usage to stdout (for --help). */
void print_usage(const char *usage);

/* --cgroup PATH or --pid PID (as text) to a path; reports errors. */
int pid_cgroup_arg(const char *path, const char *pid_arg, char *buf,
		   size_t len, const char **out);

/*
 * The command line of detach, status and events: --cgroup PATH | --pid PID,
 * --help, and the command's own options (extra: any other ids, handled by
 * fn). *path is the cgroup named (resolved from --pid into buf), or NULL.
 * Returns 0, -1 after --help, or an exit status (errors reported).
 */
int parse_cgroup_cmd(int argc, char **argv, const char *usage,
		     const struct option *extra,
		     int (*fn)(void *ctx, int id, const char *arg), void *ctx,
		     char *buf, size_t len, const char **path);

/* Root and a cgroup v2 mount; prints the error. 0 or an exit status. */
int require_root(const char *what);

#endif /* NETFENCE_COMMANDS_H */
