// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The JSON writer (user/json.c) and -j error objects (user/log.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"
#include "log.h"

/* Runs fn with a JSON writer on a memory stream; returns the text. */
static char *render(void (*fn)(struct json *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json jw, *j;

	assert_non_null(f);
	j = json_init(&jw, f);
	fn(j);
	json_end(j);
	fclose(f);
	return buf;
}

static void nested(struct json *j)
{
	json_object_begin(j);
	json_kv_str(j, "a", "x");
	json_key(j, "list");
	json_array_begin(j);
	json_uint(j, 1);
	json_int(j, -2);
	json_object_begin(j);
	json_object_end(j);
	json_array_begin(j);
	json_array_end(j);
	json_null(j);
	json_array_end(j);
	json_kv_bool(j, "t", true);
	json_kv_str(j, "none", NULL);
	json_kv_uint(j, "big", UINT64_MAX);
	json_object_end(j);
}

static void test_nesting_and_commas(void **state)
{
	char *s = render(nested);

	(void)state;
	assert_string_equal(s, "{\"a\":\"x\",\"list\":[1,-2,{},[],null],\"t\":true,"
			       "\"none\":null,\"big\":18446744073709551615}\n");
	free(s);
}

static void escapes(struct json *j)
{
	json_str(j, "q\"b\\n\n\t\x01\x1f/\xc3\xa9");
}

static void test_escaping(void **state)
{
	char *s = render(escapes);

	(void)state;
	assert_string_equal(s, "\"q\\\"b\\\\n\\n\\t\\u0001\\u001f/\xc3\xa9\"\n");
	free(s);
}

/* bytes that are not UTF-8 (a command-line value): U+FFFD, valid JSON */
static void bad_utf8(struct json *j)
{
	json_str(j, "a\xff" "b\xc3" "c\xe2\x82" "d\xc0\xaf" "e\xed\xa0\x80"
		    "f\xf4\x90\x80\x80" "g\xe2\x98\x83\xf0\x9f\x98\x80\xc3");
}

static void test_bad_utf8(void **state)
{
	char *s = render(bad_utf8);

	(void)state;
	assert_string_equal(s, "\"a\\ufffdb\\ufffdc\\ufffd\\ufffdd\\ufffd\\ufffde"
			       "\\ufffd\\ufffd\\ufffdf\\ufffd\\ufffd\\ufffd\\ufffdg"
			       "\xe2\x98\x83\xf0\x9f\x98\x80\\ufffd\"\n");
	free(s);
}

static void empty_array(struct json *j)
{
	json_array_begin(j);
	json_array_end(j);
}

static void test_empty_array(void **state)
{
	char *s = render(empty_array);

	(void)state;
	assert_string_equal(s, "[]\n");
	free(s);
}

static void test_error_object_with_json(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *saved = stdout;

	(void)state;
	stdout = open_memstream(&buf, &len);
	assert_non_null(stdout);
	log_init(LOG_WARN, true);
	p_err("--proxy '%s': bad \"value\"", "x");
	p_err("second error is not a second JSON document");
	fclose(stdout);
	stdout = saved;
	assert_string_equal(buf, "{\"error\":\"--proxy 'x': bad \\\"value\\\"\"}\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting_and_commas),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_bad_utf8),
		cmocka_unit_test(test_empty_array),
		cmocka_unit_test(test_error_object_with_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
