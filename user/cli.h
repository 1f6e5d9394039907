/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What every command's command line shares: usage, option errors, root, the
 * cgroup named by --cgroup or --pid, and -j/--json after the command. The
 * cmd_*.c files use these and never each other.
 */
#ifndef NETFENCE_CLI_H
#define NETFENCE_CLI_H

#include <getopt.h>
#include <stddef.h>

/* Returned by a parser after --help printed the usage: the command exits 0. */
#define CLI_HELP (-1)

/* A parser's result as the command's exit status (CLI_HELP is success). */
static inline int cli_exit(int ret)
{
	return ret == CLI_HELP ? 0 : ret;
}

/* -j/--json: accepted after the command too ("netfence status -j"). */
#define CLI_JSON_OPTION { "json", no_argument, NULL, 'j' }
#define CLI_HELP_OPTION { "help", no_argument, NULL, 'h' }
/* getopt short options of every command: -h, -j, missing values reported as ':' */
#define CLI_SHORTOPTS ":hj"

/* Prints a command's usage to stdout (for --help). */
void print_usage(const char *usage);

/* One Error: line for getopt_long's '?' (unknown option) or ':' (no value). */
int bad_option(char **argv, int c);

/* -j/--json after the command: JSON output from here on. */
void cli_json(void);

/* Root and a cgroup v2 mount; prints the error. 0 or an exit status. */
int require_root(const char *what);

/*
 * The cgroup named by --cgroup or --pid (flag names for errors), resolved to
 * a path in buf. Returns 0 or an exit status (errors reported).
 */
int cgroup_arg(const char *path, int pid, const char *path_flag,
	       const char *pid_flag, char *buf, size_t len, const char **out);

/* --cgroup PATH or --pid PID (as text) to a path; reports errors. */
int pid_cgroup_arg(const char *path, const char *pid_arg, char *buf,
		   size_t len, const char **out);

/*
 * The command line of detach, status and events: --cgroup PATH | --pid PID,
 * --help, -j, and the command's own options (extra: any other ids, handled by
 * fn). *path is the cgroup named (resolved from --pid into buf), or NULL.
 * Returns 0, CLI_HELP after --help, or an exit status (errors reported).
 */
int parse_cgroup_cmd(int argc, char **argv, const char *usage,
		     const struct option *extra,
		     int (*fn)(void *ctx, int id, const char *arg), void *ctx,
		     char *buf, size_t len, const char **path);

struct cgroup_ref;

/*
 * Opens the cgroup at path (a flag's value) into ref. Returns 0, or
 * EXIT_USAGE after an Error line naming flag and path.
 */
int cli_open_cgroup(const char *flag, const char *path, struct cgroup_ref *ref);

#endif /* NETFENCE_CLI_H */
