// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>

#include "json.h"
#include "log.h"

enum log_level log_level = LOG_WARN;
bool json_output;
static bool error_reported;

/* libbpf's messages (verifier logs included) only with -v or -d. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG && log_level < LOG_DEBUG)
		return 0;
	if (level == LIBBPF_INFO && log_level < LOG_INFO)
		return 0;
	if (level == LIBBPF_WARN && log_level < LOG_INFO)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void log_init(enum log_level level, bool json)
{
	log_level = level;
	json_output = json;
	libbpf_set_print(libbpf_print);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void p_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "Error: %s\n", msg);
	if (json_output && !error_reported) {
		struct json *j = json_new(stdout);

		json_object_begin(j);
		json_kv_str(j, "error", msg);
		json_object_end(j);
		json_end(j);
	}
	error_reported = true;
}
