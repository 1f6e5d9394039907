/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A small streaming JSON writer: commas and escaping handled here. */
#ifndef NETFENCE_JSON_H
#define NETFENCE_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	int depth;
	bool first[JSON_MAX_DEPTH];	/* no member written yet at this depth */
	bool after_key;
};

/* A writer to f in the caller's storage (nothing allocated, nothing to check): j. */
struct json *json_init(struct json *j, FILE *f);
/* Ends the document with a newline and flushes. */
void json_end(struct json *j);

void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s);	/* NULL writes null */
void json_uint(struct json *j, uint64_t v);
void json_int(struct json *j, int64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* A finite number with this many decimals ("6.469"). */
void json_fixed(struct json *j, double v, int decimals);

void json_kv_str(struct json *j, const char *key, const char *s);
void json_kv_uint(struct json *j, const char *key, uint64_t v);
void json_kv_int(struct json *j, const char *key, int64_t v);
void json_kv_bool(struct json *j, const char *key, bool v);

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * form, no surrogate, nothing above U+10FFFF; p is NUL-terminated), 0 when
 * there is none (an ASCII byte included).
 */
size_t utf8_len(const unsigned char *p);

/*
 * Writes s as a JSON string literal (quotes included) to f; a byte that is
 * not UTF-8 becomes U+FFFD.
 */
void json_write_escaped(FILE *f, const char *s);

#endif /* NETFENCE_JSON_H */
