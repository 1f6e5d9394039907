// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests for user/parse.c: ports, port specs, IPv4 addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ERRLEN 256

/* An IPv4 address a.b.c.d in host order (a constant), and network order. */
#define H(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (c) << 8 | (d))
#define IP(a, b, c, d) htonl(H(a, b, c, d))

struct reject {
	const char *in;
	int ret;
	const char *why; /* a part of the reason, or NULL */
};

/*
 * A failure's reason: one line, not empty, NUL-terminated inside the buffer,
 * holding why when given.
 */
static void check_reason(const char *in, const char *err, const char *why)
{
	if (!err[0] || strchr(err, '\n') || strlen(err) >= ERRLEN)
		fail_msg("bad reason for \"%s\": \"%s\"", in, err);
	if (why && !strstr(err, why))
		fail_msg("reason for \"%s\" is \"%s\", expected \"%s\" in it",
			 in, err, why);
}

static void check_ret(const char *in, int ret, int expected)
{
	if (ret != expected)
		fail_msg("\"%s\": returned %d, expected %d", in, ret, expected);
}

static void test_portset_layout(void **state)
{
	uint8_t bm[NF_PORT_BITMAP_BYTES] = { 0 };

	(void)state;
	assert_int_equal(sizeof(((struct nf_policy *)0)->redirect_ports),
			 NF_PORT_BITMAP_BYTES);
	portset_add(bm, 80);
	assert_int_equal(bm[10], 0x01);
	portset_add(bm, 443);
	assert_int_equal(bm[55], 0x08);
	portset_add(bm, 65535);
	assert_int_equal(bm[8191], 0x80);
	portset_add(bm, 0);
	assert_int_equal(bm[0], 0x01);

	assert_true(portset_has(bm, 0));
	assert_true(portset_has(bm, 80));
	assert_true(portset_has(bm, 443));
	assert_true(portset_has(bm, 65535));
	assert_false(portset_has(bm, 81));
	assert_false(portset_has(bm, 65534));
	assert_int_equal(portset_count(bm), 4);

	portset_add(bm, 80); /* again: no change */
	assert_int_equal(portset_count(bm), 4);

	portset_clear(bm);
	assert_int_equal(portset_count(bm), 0);
	assert_false(portset_has(bm, 65535));
}

static void test_parse_port_accept(void **state)
{
	static const struct {
		const char *in;
		uint16_t port;
	} t[] = {
		{ "1", 1 },	    { "9", 9 },		{ "10", 10 },
		{ "22", 22 },	    { "80", 80 },	{ "100", 100 },
		{ "443", 443 },	    { "3128", 3128 },	{ "8080", 8080 },
		{ "10000", 10000 }, { "65534", 65534 }, { "65535", 65535 },
	};
	char err[ERRLEN];
	uint16_t port;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		port = 0;
		err[0] = '\0';
		check_ret(t[i].in, parse_port(t[i].in, &port, err, sizeof(err)),
			  0);
		assert_int_equal(port, t[i].port);
		assert_string_equal(err, "");
	}
}

static void test_parse_port_reject(void **state)
{
	static const struct reject t[] = {
		{ "", -EINVAL, "empty" },
		{ "0", -ERANGE, "out of range 1-65535" },
		{ "65536", -ERANGE, "out of range 1-65535" },
		{ "99999", -ERANGE, "out of range" },
		/* 2^32 + 80 and 2^64 + 80: no wrap-around */
		{ "4294967376", -ERANGE, "out of range" },
		{ "18446744073709551696", -ERANGE, "out of range" },
		{ "0080", -EINVAL, "leading zeros" },
		{ "00", -EINVAL, "leading zeros" },
		{ "01", -EINVAL, "leading zeros" },
		{ "-80", -EINVAL, "not a decimal number" },
		{ "+80", -EINVAL, "not a decimal number" },
		{ "-0", -EINVAL, NULL },
		{ " 80", -EINVAL, "spaces" },
		{ "80 ", -EINVAL, "spaces" },
		{ "8 0", -EINVAL, "spaces" },
		{ "\t80", -EINVAL, "spaces" },
		{ "80\n", -EINVAL, "spaces" },
		{ "0x50", -EINVAL, "not a decimal number" },
		{ "80a", -EINVAL, "not a decimal number" },
		{ "http", -EINVAL, "not a decimal number" },
		{ "1e3", -EINVAL, NULL },
		{ "80,443", -EINVAL, NULL },
		{ "80-90", -EINVAL, NULL },
		/* "80" in fullwidth digits */
		{ "\xef\xbc\x98\xef\xbc\x90", -EINVAL, NULL },
	};
	char err[ERRLEN];
	uint16_t port;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		port = 4242;
		err[0] = '\0';
		check_ret(t[i].in, parse_port(t[i].in, &port, err, sizeof(err)),
			  t[i].ret);
		assert_int_equal(port, 4242); /* untouched on failure */
		check_reason(t[i].in, err, t[i].why);
		/* the same verdict without a reason buffer */
		check_ret(t[i].in, parse_port(t[i].in, &port, NULL, 0),
			  t[i].ret);
	}
	check_ret("NULL", parse_port(NULL, &port, err, sizeof(err)), -EINVAL);
	check_reason("NULL", err, "empty");
}

/* A spec, its canonical form and how many ports it holds. */
static const struct {
	const char *in;
	const char *canon;
	size_t count;
} spec_ok[] = {
	{ "80", "80", 1 },
	{ "1", "1", 1 },
	{ "65535", "65535", 1 },
	{ "80,443", "80,443", 2 },
	{ "443,80", "80,443", 2 },
	{ "80,80", "80", 1 },
	{ "80-80", "80", 1 },
	{ "80,81,82", "80-82", 3 },
	{ "82,80,81", "80-82", 3 },
	{ "8000-8010", "8000-8010", 11 },
	{ "80,443,8000-8010", "80,443,8000-8010", 13 },
	{ "100-200,150-250", "100-250", 151 },
	{ "1-10,12", "1-10,12", 11 },
	{ "1-65535", "1-65535", 65535 },
	{ "65534-65535", "65534-65535", 2 },
	{ "1,65535", "1,65535", 2 },
	{ "22,80,443,3306,8080,65000-65010", "22,80,443,3306,8080,65000-65010",
	  16 },
};

static void test_parse_port_spec_accept(void **state)
{
	uint8_t *bm = calloc(1, NF_PORT_BITMAP_BYTES);
	char err[ERRLEN], buf[128];
	size_t i;

	(void)state;
	assert_non_null(bm);
	for (i = 0; i < ARRAY_SIZE(spec_ok); i++) {
		portset_clear(bm);
		err[0] = '\0';
		check_ret(spec_ok[i].in,
			  parse_port_spec(spec_ok[i].in, bm, err, sizeof(err)),
			  0);
		assert_string_equal(err, "");
		assert_int_equal(portset_count(bm), spec_ok[i].count);
		assert_int_equal(portset_format(bm, buf, sizeof(buf)),
				 strlen(spec_ok[i].canon));
		assert_string_equal(buf, spec_ok[i].canon);
		assert_false(portset_has(bm, 0));
	}
	free(bm);
}

static void test_parse_port_spec_reject(void **state)
{
	static const struct reject t[] = {
		{ "", -EINVAL, "empty port list" },
		{ ",", -EINVAL, "starts with a comma" },
		{ ",80", -EINVAL, "starts with a comma" },
		{ "80,", -EINVAL, "ends with a comma" },
		{ "80,,443", -EINVAL, "empty item between commas" },
		{ "0", -ERANGE, "item \"0\": out of range 1-65535" },
		{ "65536", -ERANGE, "item \"65536\": out of range 1-65535" },
		{ "80,65536", -ERANGE, "item \"65536\"" },
		{ "99999999999999999999", -ERANGE, "out of range" },
		{ "80-70", -EINVAL,
		  "item \"80-70\": range start 80 above end 70" },
		{ "443,90-89", -EINVAL, "range start 90 above end 89" },
		{ "-80", -EINVAL, "item \"-80\": range without a start" },
		{ "80-", -EINVAL, "item \"80-\": range without an end" },
		{ "-", -EINVAL, "range without a start" },
		{ "1-2-3", -EINVAL, "not a port nor a range" },
		{ "80--90", -EINVAL, "not a port nor a range" },
		{ "0080", -EINVAL, "item \"0080\": leading zeros" },
		{ "80,0443", -EINVAL, "item \"0443\": leading zeros" },
		{ "080-90", -EINVAL, "range start: leading zeros" },
		{ "80-090", -EINVAL, "range end: leading zeros" },
		{ "0-80", -ERANGE, "range start: out of range 1-65535" },
		{ "1-65536", -ERANGE, "range end: out of range 1-65535" },
		{ "80, 443", -EINVAL, "spaces" },
		{ " 80", -EINVAL, "spaces" },
		{ "80 ", -EINVAL, "spaces" },
		{ "80 - 90", -EINVAL, "spaces" },
		{ "80,\t443", -EINVAL, "spaces" },
		{ "http", -EINVAL, "not a decimal number" },
		{ "80;443", -EINVAL, "not a decimal number" },
		{ "80:90", -EINVAL, "not a decimal number" },
		{ "+80", -EINVAL, "not a decimal number" },
		{ "0x50", -EINVAL, "not a decimal number" },
		{ "80,abc,443", -EINVAL, "item \"abc\"" },
	};
	uint8_t *bm = calloc(1, NF_PORT_BITMAP_BYTES);
	char err[ERRLEN];
	size_t i;

	(void)state;
	assert_non_null(bm);
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		err[0] = '\0';
		check_ret(t[i].in,
			  parse_port_spec(t[i].in, bm, err, sizeof(err)),
			  t[i].ret);
		check_reason(t[i].in, err, t[i].why);
		check_ret(t[i].in, parse_port_spec(t[i].in, bm, NULL, 0),
			  t[i].ret);
	}
	check_ret("NULL", parse_port_spec(NULL, bm, err, sizeof(err)), -EINVAL);
	check_reason("NULL", err, "empty");
	free(bm);
}

static void test_parse_port_spec_adds(void **state)
{
	uint8_t *bm = calloc(1, NF_PORT_BITMAP_BYTES);
	char buf[64];

	(void)state;
	assert_non_null(bm);
	portset_add(bm, 22);
	assert_int_equal(parse_port_spec("80,443", bm, NULL, 0), 0);
	assert_int_equal(parse_port_spec("443,8080-8081", bm, NULL, 0), 0);
	assert_int_equal(portset_count(bm), 5);
	assert_int_equal(portset_format(bm, buf, sizeof(buf)), 19);
	assert_string_equal(buf, "22,80,443,8080-8081");
	free(bm);
}

static void test_reason_buffer(void **state)
{
	static const char long_spec[] =
		"80,443,"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	uint8_t *bm = calloc(1, NF_PORT_BITMAP_BYTES);
	char err[ERRLEN], tiny[8];
	uint16_t port;

	(void)state;
	assert_non_null(bm);

	/* A short buffer holds the start of the reason, NUL-terminated. */
	memset(tiny, 'x', sizeof(tiny));
	assert_int_equal(parse_port("0080", &port, tiny, sizeof(tiny)),
			 -EINVAL);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	assert_memory_equal(tiny, "\"0080\":", 7);

	/* errlen 0 leaves the buffer alone. */
	memset(tiny, 'x', sizeof(tiny));
	assert_int_equal(parse_port("0", &port, tiny, 0), -ERANGE);
	assert_int_equal(tiny[0], 'x');

	/* A long value is cut, and the reason stays short. */
	assert_int_equal(parse_port_spec(long_spec, bm, err, sizeof(err)),
			 -EINVAL);
	check_reason(long_spec, err, "...\": not a decimal number");
	assert_true(strlen(err) < 100);

	/* Control bytes, quotes and backslashes are escaped. */
	assert_int_equal(parse_port_spec("80,\x1b[31m", bm, err, sizeof(err)),
			 -EINVAL);
	check_reason("ESC", err, "item \"\\x1b[31m\"");
	assert_int_equal(parse_port("8\"0\\", &port, err, sizeof(err)),
			 -EINVAL);
	check_reason("quote", err, "\"8\\\"0\\\\\"");
	assert_int_equal(parse_port("\xff", &port, err, sizeof(err)), -EINVAL);
	check_reason("0xff", err, "\"\\xff\"");

	free(bm);
}

static void test_portset_format(void **state)
{
	uint8_t *bm = calloc(1, NF_PORT_BITMAP_BYTES);
	char buf[32];

	(void)state;
	assert_non_null(bm);

	/* The empty set. */
	assert_int_equal(portset_format(bm, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(portset_format(bm, buf, 1), 0);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(portset_format(bm, buf, 0), -E2BIG);
	assert_int_equal(buf[0], 'x');

	/* Port 0 is not a port a spec can name, but a set can hold it. */
	portset_add(bm, 0);
	portset_add(bm, 1);
	portset_add(bm, 2);
	assert_int_equal(portset_format(bm, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "0-2");
	portset_clear(bm);

	/* Exactly fitting, one byte short, no room at all. */
	portset_add(bm, 80);
	portset_add(bm, 443);
	assert_int_equal(portset_format(bm, buf, 7), 6);
	assert_string_equal(buf, "80,443");
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(portset_format(bm, buf, 6), -E2BIG);
	assert_string_equal(buf, "");
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(portset_format(bm, buf, 3), -E2BIG);
	assert_string_equal(buf, "");
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(portset_format(bm, buf, 0), -E2BIG);
	assert_int_equal(buf[0], 'x');

	/* Every port. */
	memset(bm, 0xff, NF_PORT_BITMAP_BYTES);
	assert_int_equal(portset_format(bm, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "0-65535");
	free(bm);
}

static void test_portset_format_round_trip(void **state)
{
	uint8_t *bm = calloc(1, NF_PORT_BITMAP_BYTES);
	uint8_t *back = calloc(1, NF_PORT_BITMAP_BYTES);
	size_t len = 256 * 1024, i;
	char *buf = malloc(len);
	uint32_t p;
	int n;

	(void)state;
	assert_non_null(bm);
	assert_non_null(back);
	assert_non_null(buf);

	for (i = 0; i < ARRAY_SIZE(spec_ok); i++) {
		portset_clear(bm);
		portset_clear(back);
		assert_int_equal(parse_port_spec(spec_ok[i].in, bm, NULL, 0),
				 0);
		n = portset_format(bm, buf, len);
		assert_true(n > 0);
		assert_int_equal(parse_port_spec(buf, back, NULL, 0), 0);
		assert_memory_equal(bm, back, NF_PORT_BITMAP_BYTES);
	}

	/* The longest spec: every other port, no range to collapse. */
	portset_clear(bm);
	portset_clear(back);
	for (p = 1; p <= 65535; p += 2)
		portset_add(bm, (uint16_t)p);
	n = portset_format(bm, buf, len);
	assert_int_equal(n, (int)strlen(buf));
	assert_true(n > 190000);
	assert_memory_equal(buf, "1,3,5,7,9,11,", 13);
	assert_string_equal(buf + n - 12, ",65533,65535");
	assert_int_equal(parse_port_spec(buf, back, NULL, 0), 0);
	assert_memory_equal(bm, back, NF_PORT_BITMAP_BYTES);
	assert_int_equal(portset_count(back), 32768);
	assert_int_equal(portset_format(bm, buf, (size_t)n), -E2BIG);
	assert_int_equal(portset_format(bm, buf, (size_t)n + 1), n);

	free(buf);
	free(back);
	free(bm);
}

static void test_dangerous_ports(void **state)
{
	static const uint16_t expected[] = {
		22,   23,   25,	  110,	143,   445,   1433,
		1521, 3306, 3389, 5432, 5984,  6379,  6984,
		8086, 8088, 9200, 9300, 27017, 27018, 28017,
	};
	static const uint16_t safe[] = { 0,    1,     21,   24,	  53,
					 80,   443,   3128, 8080, 8443,
					 9000, 27019, 65535 };
	uint8_t *bm = calloc(1, NF_PORT_BITMAP_BYTES);
	size_t i;

	(void)state;
	assert_non_null(bm);
	assert_int_equal(nf_dangerous_ports_count, ARRAY_SIZE(expected));
	assert_memory_equal(nf_dangerous_ports, expected, sizeof(expected));
	for (i = 0; i < ARRAY_SIZE(expected); i++) {
		assert_true(port_is_dangerous(expected[i]));
		if (i)
			assert_true(expected[i - 1] < expected[i]);
	}
	for (i = 0; i < ARRAY_SIZE(safe); i++)
		assert_false(port_is_dangerous(safe[i]));

	assert_int_equal(portset_first_dangerous(bm), 0);
	assert_int_equal(parse_port_spec("80,443,8080", bm, NULL, 0), 0);
	assert_int_equal(portset_first_dangerous(bm), 0);
	assert_int_equal(parse_port_spec("27017", bm, NULL, 0), 0);
	assert_int_equal(portset_first_dangerous(bm), 27017);
	assert_int_equal(parse_port_spec("6379", bm, NULL, 0), 0);
	assert_int_equal(portset_first_dangerous(bm), 6379);

	portset_clear(bm);
	assert_int_equal(parse_port_spec("3000-7000", bm, NULL, 0), 0);
	assert_int_equal(portset_first_dangerous(bm), 3306);
	portset_clear(bm);
	assert_int_equal(parse_port_spec("1-65535", bm, NULL, 0), 0);
	assert_int_equal(portset_first_dangerous(bm), 22);
	portset_clear(bm);
	assert_int_equal(parse_port_spec("28017", bm, NULL, 0), 0);
	assert_int_equal(portset_first_dangerous(bm), 28017);

	/* Every dangerous port is found, and nothing else is. */
	for (i = 0; i < ARRAY_SIZE(expected); i++) {
		uint16_t below = (uint16_t)(expected[i] - 1);
		uint16_t above = (uint16_t)(expected[i] + 1);

		portset_clear(bm);
		if (!port_is_dangerous(below))
			portset_add(bm, below);
		if (!port_is_dangerous(above))
			portset_add(bm, above);
		assert_int_equal(portset_first_dangerous(bm), 0);
		portset_add(bm, expected[i]);
		assert_int_equal(portset_first_dangerous(bm), expected[i]);
	}
	free(bm);
}

static void test_parse_ipv4_accept(void **state)
{
	static const struct {
		const char *in;
		uint32_t host; /* host order */
	} t[] = {
		{ "0.0.0.0", H(0, 0, 0, 0) },
		{ "1.2.3.4", H(1, 2, 3, 4) },
		{ "127.0.0.1", H(127, 0, 0, 1) },
		{ "10.0.0.10", H(10, 0, 0, 10) },
		{ "192.168.100.200", H(192, 168, 100, 200) },
		{ "172.17.0.1", H(172, 17, 0, 1) },
		{ "255.255.255.255", H(255, 255, 255, 255) },
		{ "9.99.199.250", H(9, 99, 199, 250) },
	};
	char err[ERRLEN];
	uint32_t addr;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		err[0] = '\0';
		check_ret(t[i].in, parse_ipv4(t[i].in, &addr, err, sizeof(err)),
			  0);
		assert_int_equal(ntohl(addr), t[i].host);
		assert_string_equal(err, "");
	}
	/* network order: the first byte in memory is the first number */
	assert_int_equal(parse_ipv4("10.20.30.40", &addr, NULL, 0), 0);
	assert_memory_equal(&addr, "\x0a\x14\x1e\x28", 4);
}

#define V6 "IPv6 address where an IPv4 address is needed"

static const struct reject ipv4_bad[] = {
	{ "", -EINVAL, "empty" },
	{ "300.1.1.1", -ERANGE, "\"300\" above 255" },
	{ "256.0.0.0", -ERANGE, "above 255" },
	{ "1.2.3.256", -ERANGE, "above 255" },
	{ "1.2.99999999999999999999.4", -ERANGE, "above 255" },
	{ "1.2.3", -EINVAL, "dotted quad" },
	{ "1.2.3.4.5", -EINVAL, "dotted quad" },
	{ "127.1", -EINVAL, "dotted quad" },
	{ "4294967295", -EINVAL, "dotted quad" },
	{ "1..3.4", -EINVAL, "empty number" },
	{ ".1.2.3", -EINVAL, "empty number" },
	{ "1.2.3.", -EINVAL, "empty number" },
	{ "...", -EINVAL, "empty number" },
	{ "01.2.3.4", -EINVAL, "leading zeros" },
	{ "1.2.3.04", -EINVAL, "leading zeros" },
	{ "1.2.3.00", -EINVAL, "leading zeros" },
	{ "010.0.0.1", -EINVAL, "leading zeros" },
	{ "::1", -EINVAL, V6 },
	{ "::", -EINVAL, V6 },
	{ "fe80::1", -EINVAL, V6 },
	{ "2001:db8::10", -EINVAL, V6 },
	{ "::ffff:1.2.3.4", -EINVAL, V6 },
	{ "[::1]", -EINVAL, V6 },
	{ " 1.2.3.4", -EINVAL, "spaces" },
	{ "1.2.3.4 ", -EINVAL, "spaces" },
	{ "1. 2.3.4", -EINVAL, "spaces" },
	{ "1.2.3.4\n", -EINVAL, "spaces" },
	{ "a.b.c.d", -EINVAL, "not an IPv4 address" },
	{ "localhost", -EINVAL, "not an IPv4 address" },
	{ "0x7f.0.0.1", -EINVAL, "not an IPv4 address" },
	{ "+1.2.3.4", -EINVAL, "not an IPv4 address" },
	{ "1.2.3.-4", -EINVAL, "not an IPv4 address" },
	{ "1.2.3.4/32", -EINVAL, "not an IPv4 address" },
	{ "1.2.3.4:80", -EINVAL, "not an IPv4 address" },
	{ "1,2,3,4", -EINVAL, "not an IPv4 address" },
};

static void test_parse_ipv4_reject(void **state)
{
	uint32_t addr = 0x5a5a5a5a;
	char err[ERRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ipv4_bad); i++) {
		err[0] = '\0';
		check_ret(ipv4_bad[i].in,
			  parse_ipv4(ipv4_bad[i].in, &addr, err, sizeof(err)),
			  ipv4_bad[i].ret);
		check_reason(ipv4_bad[i].in, err, ipv4_bad[i].why);
		assert_int_equal(addr, 0x5a5a5a5a);
		check_ret(ipv4_bad[i].in,
			  parse_ipv4(ipv4_bad[i].in, &addr, NULL, 0),
			  ipv4_bad[i].ret);
	}
	check_ret("NULL", parse_ipv4(NULL, &addr, err, sizeof(err)), -EINVAL);
	check_reason("NULL", err, "empty");

	/* The reason quotes the value first. */
	assert_int_equal(parse_ipv4("300.1.1.1", &addr, err, sizeof(err)),
			 -ERANGE);
	assert_string_equal(err, "\"300.1.1.1\": number \"300\" above 255");
	assert_int_equal(parse_ipv4("::1", &addr, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "\"::1\": " V6);
}

static void test_parse_endpoint4(void **state)
{
	static const struct {
		const char *in;
		uint32_t host; /* host order */
		uint16_t port;
	} ok[] = {
		{ "127.0.0.1:3128", H(127, 0, 0, 1), 3128 },
		{ "10.0.0.1:65535", H(10, 0, 0, 1), 65535 },
		{ "0.0.0.0:1", H(0, 0, 0, 0), 1 },
		{ "192.168.65.254:8080", H(192, 168, 65, 254), 8080 },
	};
	static const struct reject bad[] = {
		{ "", -EINVAL, "empty" },
		{ "127.0.0.1", -EINVAL, "missing \":PORT\"" },
		{ "localhost", -EINVAL, "missing \":PORT\"" },
		{ "127.0.0.1:", -EINVAL, "port: empty" },
		{ ":80", -EINVAL, "empty address" },
		{ ":", -EINVAL, "empty address" },
		{ "127.0.0.1:0", -ERANGE, "port: out of range 1-65535" },
		{ "127.0.0.1:65536", -ERANGE, "port: out of range 1-65535" },
		{ "127.0.0.1:080", -EINVAL, "port: leading zeros" },
		{ "127.0.0.1: 80", -EINVAL, "port: spaces" },
		{ "127.0.0.1 :80", -EINVAL, "spaces" },
		{ "127.0.0.1:http", -EINVAL, "port: not a decimal number" },
		{ "127.0.0.1:-1", -EINVAL, "port: not a decimal number" },
		{ "300.0.0.1:80", -ERANGE, "above 255" },
		{ "1.2.3:80", -EINVAL, "dotted quad" },
		{ "01.2.3.4:80", -EINVAL, "leading zeros" },
		{ "localhost:80", -EINVAL, "not an IPv4 address" },
		{ "1.2.3.4:80:90", -EINVAL, "not an IPv4 address" },
		{ "[::1]:80", -EINVAL, V6 },
		{ "::1", -EINVAL, V6 },
		{ "::1:80", -EINVAL, V6 },
		{ "fe80::1:3128", -EINVAL, V6 },
		{ "[2001:db8::1]:443", -EINVAL, V6 },
	};
	char err[ERRLEN], buf[22];
	uint16_t port_be;
	uint32_t addr;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		err[0] = '\0';
		check_ret(ok[i].in,
			  parse_endpoint4(ok[i].in, &addr, &port_be, err,
					  sizeof(err)),
			  0);
		assert_int_equal(ntohl(addr), ok[i].host);
		assert_int_equal(port_be, htons(ok[i].port));
		assert_string_equal(err, "");
		format_endpoint4(addr, port_be, buf);
		assert_string_equal(buf, ok[i].in);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		addr = 0x5a5a5a5a;
		port_be = 0x5a5a;
		err[0] = '\0';
		check_ret(bad[i].in,
			  parse_endpoint4(bad[i].in, &addr, &port_be, err,
					  sizeof(err)),
			  bad[i].ret);
		check_reason(bad[i].in, err, bad[i].why);
		assert_int_equal(addr, 0x5a5a5a5a);
		assert_int_equal(port_be, 0x5a5a);
		check_ret(bad[i].in,
			  parse_endpoint4(bad[i].in, &addr, &port_be, NULL, 0),
			  bad[i].ret);
	}
	check_ret("NULL", parse_endpoint4(NULL, &addr, &port_be, err, 16),
		  -EINVAL);
}

static void test_parse_ipv4_list(void **state)
{
	uint32_t out[8];
	char err[ERRLEN];
	size_t n;

	(void)state;
	assert_int_equal(
		parse_ipv4_list("1.2.3.4", out, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], IP(1, 2, 3, 4));

	assert_int_equal(
		parse_ipv4_list("5.6.7.8,1.2.3.4", out, 8, &n, NULL, 0), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], IP(5, 6, 7, 8));
	assert_int_equal(out[1], IP(1, 2, 3, 4));

	/* Duplicates dropped, first order kept. */
	assert_int_equal(
		parse_ipv4_list("5.6.7.8,1.2.3.4,5.6.7.8,1.2.3.4,9.9.9.9", out,
				8, &n, NULL, 0),
		0);
	assert_int_equal(n, 3);
	assert_int_equal(out[0], IP(5, 6, 7, 8));
	assert_int_equal(out[1], IP(1, 2, 3, 4));
	assert_int_equal(out[2], IP(9, 9, 9, 9));
}

static void test_parse_ipv4_list_limit(void **state)
{
	static const char eight[] = "10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,"
				    "10.0.0.5,10.0.0.6,10.0.0.7,10.0.0.8";
	uint32_t out[9];
	char err[ERRLEN], spec[256];
	size_t n, i;

	(void)state;
	/* Exactly max. */
	assert_int_equal(parse_ipv4_list(eight, out, 8, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 8);
	for (i = 0; i < 8; i++)
		assert_int_equal(out[i], IP(10, 0, 0, i + 1));

	/* Repeats past max are no new addresses. */
	snprintf(spec, sizeof(spec), "%s,10.0.0.1,10.0.0.8", eight);
	assert_int_equal(parse_ipv4_list(spec, out, 8, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 8);

	/* One more distinct: -E2BIG, naming the limit. */
	snprintf(spec, sizeof(spec), "%s,10.0.0.9", eight);
	n = 42;
	assert_int_equal(parse_ipv4_list(spec, out, 8, &n, err, sizeof(err)),
			 -E2BIG);
	assert_int_equal(n, 0);
	check_reason(spec, err, "at most 8");

	assert_int_equal(parse_ipv4_list("1.2.3.4", out, 0, &n, err,
					 sizeof(err)),
			 -E2BIG);
	check_reason("max 0", err, "at most 0");
	assert_int_equal(
		parse_ipv4_list("1.2.3.4,1.2.3.4", out, 1, &n, NULL, 0), 0);
	assert_int_equal(n, 1);
}

static void test_parse_ipv4_list_reject(void **state)
{
	static const struct reject t[] = {
		{ "", -EINVAL, "empty address list" },
		{ ",", -EINVAL, "starts with a comma" },
		{ ",1.2.3.4", -EINVAL, "starts with a comma" },
		{ "1.2.3.4,", -EINVAL, "ends with a comma" },
		{ "1.2.3.4,,5.6.7.8", -EINVAL, "empty item between commas" },
		{ "1.2.3.4, 5.6.7.8", -EINVAL, "spaces" },
		{ "1.2.3.4 ,5.6.7.8", -EINVAL, "spaces" },
		{ "1.2.3.4,::1", -EINVAL, "item \"::1\": " V6 },
		{ "1.2.3.4,300.1.1.1", -ERANGE, "item \"300.1.1.1\"" },
		{ "1.2.3.4;5.6.7.8", -EINVAL, "not an IPv4 address" },
		{ "1.2.3.4,localhost", -EINVAL, "item \"localhost\"" },
		{ "1.2.3.4,01.2.3.4", -EINVAL, "leading zeros" },
		{ "1.2.3", -EINVAL, "dotted quad" },
	};
	char err[ERRLEN];
	uint32_t out[8];
	size_t n, i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		n = 42;
		err[0] = '\0';
		check_ret(t[i].in,
			  parse_ipv4_list(t[i].in, out, 8, &n, err,
					  sizeof(err)),
			  t[i].ret);
		assert_int_equal(n, 0);
		check_reason(t[i].in, err, t[i].why);
	}
	/* Every single-address rejection holds in a list too. */
	for (i = 0; i < ARRAY_SIZE(ipv4_bad); i++) {
		char spec[64];

		snprintf(spec, sizeof(spec), "9.9.9.9,%s", ipv4_bad[i].in);
		check_ret(spec, parse_ipv4_list(spec, out, 8, &n, NULL, 0),
			  ipv4_bad[i].ret);
	}
	check_ret("NULL", parse_ipv4_list(NULL, out, 8, &n, err, sizeof(err)),
		  -EINVAL);
}

static void test_format_ipv4(void **state)
{
	static const char *const t[] = {
		"0.0.0.0",	  "1.2.3.4",	     "10.0.0.1",    "127.0.0.1",
		"192.168.65.254", "255.255.255.255", "100.64.0.10",
	};
	char buf[16], ep[22];
	uint32_t addr;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		assert_int_equal(parse_ipv4(t[i], &addr, NULL, 0), 0);
		memset(buf, 'x', sizeof(buf));
		format_ipv4(addr, buf);
		assert_string_equal(buf, t[i]);
	}
	format_ipv4(IP(255, 255, 255, 255), buf);
	assert_int_equal(strlen(buf), 15);

	/* The longest endpoint fills the buffer exactly. */
	memset(ep, 'x', sizeof(ep));
	format_endpoint4(IP(255, 255, 255, 255), htons(65535), ep);
	assert_string_equal(ep, "255.255.255.255:65535");
	assert_int_equal(strlen(ep), sizeof(ep) - 1);
	format_endpoint4(IP(10, 0, 0, 1), htons(80), ep);
	assert_string_equal(ep, "10.0.0.1:80");
}

static void test_ipv4_is_loopback(void **state)
{
	(void)state;
	assert_true(ipv4_is_loopback(IP(127, 0, 0, 1)));
	assert_true(ipv4_is_loopback(IP(127, 0, 0, 0)));
	assert_true(ipv4_is_loopback(IP(127, 1, 2, 3)));
	assert_true(ipv4_is_loopback(IP(127, 255, 255, 255)));
	assert_false(ipv4_is_loopback(IP(126, 255, 255, 255)));
	assert_false(ipv4_is_loopback(IP(128, 0, 0, 1)));
	assert_false(ipv4_is_loopback(IP(0, 0, 0, 0)));
	assert_false(ipv4_is_loopback(IP(10, 0, 0, 127)));
	assert_false(ipv4_is_loopback(IP(1, 0, 0, 127)));
	assert_false(ipv4_is_loopback(IP(255, 255, 255, 255)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_portset_layout),
		cmocka_unit_test(test_parse_port_accept),
		cmocka_unit_test(test_parse_port_reject),
		cmocka_unit_test(test_parse_port_spec_accept),
		cmocka_unit_test(test_parse_port_spec_reject),
		cmocka_unit_test(test_parse_port_spec_adds),
		cmocka_unit_test(test_reason_buffer),
		cmocka_unit_test(test_portset_format),
		cmocka_unit_test(test_portset_format_round_trip),
		cmocka_unit_test(test_dangerous_ports),
		cmocka_unit_test(test_parse_ipv4_accept),
		cmocka_unit_test(test_parse_ipv4_reject),
		cmocka_unit_test(test_parse_endpoint4),
		cmocka_unit_test(test_parse_ipv4_list),
		cmocka_unit_test(test_parse_ipv4_list_limit),
		cmocka_unit_test(test_parse_ipv4_list_reject),
		cmocka_unit_test(test_format_ipv4),
		cmocka_unit_test(test_ipv4_is_loopback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
