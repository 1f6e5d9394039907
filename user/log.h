/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One logging module: messages to stderr, errors also as JSON with -j. */
#ifndef NETFENCE_LOG_H
#define NETFENCE_LOG_H

#include <stdbool.h>

enum log_level { LOG_WARN = 0, LOG_INFO = 1, LOG_DEBUG = 2 };

/* Exit statuses of every command. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,	/* runtime failure, or "nothing to do" (detach) */
	EXIT_USAGE = 2,	/* bad usage or input: nothing was changed */
};

extern enum log_level log_level;
extern bool json_output;

void log_init(enum log_level level, bool json);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * One line "Error: ..." on stderr; with -j also {"error": "..."} on stdout,
 * so stdout is valid JSON on failure too. Only the first error of a run is
 * reported as JSON.
 */
void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* NETFENCE_LOG_H */
