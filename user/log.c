// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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

/*
 * An error is one line whatever the user typed: control characters in it
 * (a newline inside a flag's value) and bytes that are not UTF-8 are shown
 * as \xNN.
 */
static void oneline(char *msg, size_t size)
{
	char out[1024];
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)msg; *p && o + 5 < sizeof(out); p++) {
		size_t n = *p >= 0x80 ? utf8_len(p) : 1;

		if (*p < 0x20 || *p == 0x7f || !n) {
			/* a byte that is not UTF-8 too: the JSON error stays the same text */
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", *p);
		} else {
			if (o + n + 5 >= sizeof(out))
				break;
			memcpy(out + o, p, n);
			o += n;
			p += n - 1;
		}
	}
	out[o] = '\0';
	snprintf(msg, size, "%s", out);
}

void p_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	oneline(msg, sizeof(msg));
	fprintf(stderr, "Error: %s\n", msg);
	if (json_output && !error_reported) {
		struct json jw, *j = json_init(&jw, stdout);

		json_object_begin(j);
		json_kv_str(j, "error", msg);
		json_object_end(j);
		json_end(j);
	}
	error_reported = true;
}
