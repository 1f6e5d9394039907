// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Domain lists: item parsing, specs, files, and the reference verdict. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <regex.h>

#include "domains.h"

#define ERRLEN 256

/* ---- items that are accepted, and what they become ---- */

struct good_item {
	const char *spec;
	const char *name;
	unsigned scheme;
	bool wildcard;
	bool is_ip;
	bool pattern;
};

static const struct good_item good_items[] = {
	{ "example.com", "example.com", DOM_ANY, false, false, false },
	{ "EXAMPLE.Com", "example.com", DOM_ANY, false, false, false },
	{ "example.com.", "example.com", DOM_ANY, false, false, false },
	{ "  example.com\t", "example.com", DOM_ANY, false, false, false },
	{ "*.example.com", "example.com", DOM_ANY, true, false, false },
	{ "*.EXAMPLE.com.", "example.com", DOM_ANY, true, false, false },
	{ "http://example.com", "example.com", DOM_HTTP, false, false, false },
	{ "https://example.com", "example.com", DOM_HTTPS, false, false, false },
	{ "HTTPS://Example.com", "example.com", DOM_HTTPS, false, false, false },
	{ "https://example.com/", "example.com", DOM_HTTPS, false, false, false },
	{ "example.com/", "example.com", DOM_ANY, false, false, false },
	{ "https://*.example.com", "example.com", DOM_HTTPS, true, false, false },
	{ "http://*.co.uk", "co.uk", DOM_HTTP, true, false, false },
	{ "api.github.com", "api.github.com", DOM_ANY, false, false, false },
	{ "a-b.example.com", "a-b.example.com", DOM_ANY, false, false, false },
	{ "_dmarc.example.com", "_dmarc.example.com", DOM_ANY, false, false, false },
	{ "xn--bcher-kva.example", "xn--bcher-kva.example", DOM_ANY, false,
	  false, false },
	{ "r3---sn-abc.googlevideo.com", "r3---sn-abc.googlevideo.com", DOM_ANY,
	  false, false, false },
	{ "1.2.3.4.example.com", "1.2.3.4.example.com", DOM_ANY, false, false, false },
	{ "123.example.com", "123.example.com", DOM_ANY, false, false, false },
	{ "a.b", "a.b", DOM_ANY, false, false, false },
	{ "192.0.2.7", "192.0.2.7", DOM_ANY, false, true, false },
	{ "http://192.0.2.7", "192.0.2.7", DOM_HTTP, false, true, false },
	{ "https://10.0.0.1/", "10.0.0.1", DOM_HTTPS, false, true, false },
	{ "0.0.0.0", "0.0.0.0", DOM_ANY, false, true, false },
	{ "255.255.255.255", "255.255.255.255", DOM_ANY, false, true, false },
	/* internationalised names, converted with libidn2 (UTS #46, non-transitional) */
	{ "b\xc3\xbc" "cher.example", "xn--bcher-kva.example", DOM_ANY, false, false,
	  false },
	{ "B\xc3\x9c" "CHER.Example", "xn--bcher-kva.example", DOM_ANY, false, false,
	  false },
	{ "*.\xe4\xbe\x8b\xe3\x81\x88.jp", "xn--r8jz45g.jp", DOM_ANY, true, false,
	  false },
	{ "\xe4\xbe\x8b\xe3\x81\x88\xe3\x80\x82jp", "xn--r8jz45g.jp", DOM_ANY,
	  false, false, false },			/* U+3002 ideographic full stop */
	{ "https://m\xc3\xbc" "nchen.de/", "xn--mnchen-3ya.de", DOM_HTTPS, false,
	  false, false },
	{ "stra\xc3\x9f" "e.de", "xn--strae-oqa.de", DOM_ANY, false, false, false },
	{ "\xef\xbd\x85\xef\xbd\x98.com", "ex.com", DOM_ANY, false, false, false },
	{ "api-*.b\xc3\xbc" "cher.example", "api-*.xn--bcher-kva.example", DOM_ANY,
	  false, false, true },
	{ "_dmarc.b\xc3\xbc" "cher.example.", "_dmarc.xn--bcher-kva.example", DOM_ANY,
	  false, false, false },
	/* patterns: '*' inside a label */
	{ "api-*.example.com", "api-*.example.com", DOM_ANY, false, false, true },
	{ "API-*.Example.COM.", "api-*.example.com", DOM_ANY, false, false, true },
	{ "*-cdn.example.com", "*-cdn.example.com", DOM_ANY, false, false, true },
	{ "a*b.example.com", "a*b.example.com", DOM_ANY, false, false, true },
	{ "a*b*c.example.com", "a*b*c.example.com", DOM_ANY, false, false, true },
	{ "https://api-*.example.com/", "api-*.example.com", DOM_HTTPS, false,
	  false, true },
	{ "*.api-*.example.com", "api-*.example.com", DOM_ANY, true, false,
	  true },
	{ "*.*.example.com", "*.example.com", DOM_ANY, true, false, true },
	{ "a.*.example.co.uk", "a.*.example.co.uk", DOM_ANY, false, false,
	  true },
	{ "x*.1.example.com", "x*.1.example.com", DOM_ANY, false, false, true },
	/* 63-character label */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	  DOM_ANY, false, false, false },
};

static void test_good_items(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good_items) / sizeof(good_items[0]); i++) {
		const struct good_item *g = &good_items[i];
		struct domain_list l = { 0 };
		char err[ERRLEN] = "";
		int rc = domain_list_add_spec(&l, g->spec, err, sizeof(err));

		if (rc)
			fail_msg("\"%s\" refused: %s", g->spec, err);
		assert_int_equal(l.n, 1);
		assert_string_equal(l.v[0].name, g->name);
		assert_int_equal(l.v[0].scheme, g->scheme);
		assert_int_equal(l.v[0].wildcard, g->wildcard);
		assert_int_equal(l.v[0].is_ip, g->is_ip);
		assert_int_equal(l.v[0].pattern, g->pattern);
		assert_int_equal(domain_rule_valid(&l.v[0]), 0);
		domain_list_free(&l);
	}
}

/* ---- items that are refused, and a word the reason must contain ---- */

struct bad_item {
	const char *spec;
	const char *why;
};

static const struct bad_item bad_items[] = {
	{ "", "empty list" },
	{ " ", "item 1 is empty" },
	{ "a.com,", "item 2 is empty" },
	{ ",a.com", "item 1 is empty" },
	{ "a.com,,b.com", "item 2 is empty" },
	{ "a.com, ,b.com", "item 2 is empty" },
	{ "*", "every name" },
	{ "*.*", "every name" },
	{ "**", "\"**\"" },
	{ "**.example.com", "\"**\"" },
	{ "a**b.example.com", "\"**\"" },
	{ "*example.com", "top-level domain" },
	{ "a.*.com", "top-level domain" },
	{ "example.*", "top-level domain" },
	{ "*-*.com", "top-level domain" },
	{ "*.*-*.com", "top-level domain" },
	{ "api-*.com", "top-level domain" },
	{ "*.*.*", "every name" },
	{ "a*.1.2", "numeric" },
	{ "0*.0x7f.0x1", "hexadecimal" },
	{ "a*.b.0x", "hexadecimal" },
	{ "1.2.3.*", "every name" },
	{ "*.1.2.3.4*", "every name" },
	{ "-*.example.com", "hyphen" },
	{ "a*-.example.com", "hyphen" },
	{ "a*[b].example.com", "not supported" },
	{ "a*(b|c).example.com", "'('" },
	{ "a*.b^c.example.com", "'^'" },
	{ "a*$.example.com", "'$'" },
	{ "a*?.example.com", "'?'" },
	{ "a*+.example.com", "'+'" },
	{ "a*{2}.example.com", "'{'" },
	{ "a.*..example.com", "empty label" },
	{ "https://api-*.example.com/x", "path" },
	{ "*.", "every name" }, /* the trailing dot goes first */
	{ "*..", "empty name after" },
	{ "*.com", "top-level domain" },
	{ "*.COM.", "top-level domain" },
	{ "com", "single-label" },
	{ "localhost", "single-label" },
	{ ".", "empty name" },
	{ ".example.com", "empty label" },
	{ "a..b", "empty label" },
	{ "example.com..", "empty label" },
	{ "-a.example.com", "hyphen" },
	{ "a-.example.com", "hyphen" },
	{ "example.-com", "hyphen" },
	{ "exa mple.com", "space" },
	{ "example.com\n", "newline" },
	{ "example.com\nhttp_access allow all", "newline" },
	{ "a.com\r", "newline" },
	{ "a.com\x01", "control" },
	{ "a.com\x7f", "control" },
	{ "a.com#x", "'#'" },
	{ "#a.com", "'#'" },
	{ "\"a.com\"", "quote" },
	{ "a'b.com", "quote" },
	{ "a`b.com", "quote" },
	{ "a\\.com", "backslash" },
	{ "a\tb.com", "space" },
	/* internationalised names that are not valid IDNA2008 */
	{ "\xff\xfe.com", "IDNA2008" },		/* not UTF-8 */
	{ "b\xc3\xbc\xc3.de", "IDNA2008" },		/* cut UTF-8 */
	{ "\xe2\x98\x83.com", "IDNA2008" },		/* U+2603 snowman */
	{ "a\xe2\x80\x8d" "b.com", "IDNA2008" },	/* a zero width joiner */
	{ "-\xc3\xbc.com", "IDNA2008" },		/* a leading hyphen */
	{ "b\xc3\xbc*cher.example", "non-ASCII" },	/* '*' in an encoded label */
	{ "a\xef\xbc\x8a" "b.example.com", "cannot hold" }, /* fullwidth '*' */
	{ "\xef\xbd\x81\xef\xbc\x8f" "b.example.com", "cannot hold" }, /* fullwidth '/' */
	{ "\xc3\xbc", "single-label" },
	{ "*.\xe4\xbe\x8b", "top-level" },		/* *.<one label> */
	{ "exa$mple.com", "'$'" },
	{ "exa!mple.com", "'!'" },
	{ "a+b.com", "'+'" },
	{ "ftp://a.com", "http://" },
	{ "ws://a.com", "http://" },
	{ "https://a.com/path", "path" },
	{ "https://a.com//", "path" },
	{ "a.com/x", "path" },
	{ "/a.com", "path" },
	{ "https://", "empty name" },
	{ "a.com:443", "port" },
	{ "https://a.com:8443", "port" },
	{ "user@a.com", "user info" },
	{ "::1", "IPv6" },
	{ "[2001:db8::1]", "IPv6" },
	{ "2001:db8::1", "IPv6" },
	{ "1.2.3", "numeric" },
	{ "1.2.3.256", "numeric" },
	{ "010.0.0.1", "numeric" },
	{ "1.2.3.4.5", "numeric" },
	{ "a.123", "numeric" },
	{ "*.1.2.3.4", "IP address" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	  "63" },
};

static void test_bad_items(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_items) / sizeof(bad_items[0]); i++) {
		const struct bad_item *b = &bad_items[i];
		struct domain_list l = { 0 };
		char err[ERRLEN] = "";
		int rc = domain_list_add_spec(&l, b->spec, err, sizeof(err));

		if (rc != -EINVAL)
			fail_msg("item %zu accepted (rc %d)", i, rc);
		assert_int_equal(l.n, 0);
		if (!strstr(err, b->why))
			fail_msg("item %zu: reason \"%s\" lacks \"%s\"", i, err,
				 b->why);
		/* the reason is one printable line */
		for (const char *p = err; *p; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
		domain_list_free(&l);
	}
}

static void test_table_size(void **state)
{
	(void)state;
	assert_true(sizeof(good_items) / sizeof(good_items[0]) +
			    sizeof(bad_items) / sizeof(bad_items[0]) >=
		    40);
}

static void test_long_names(void **state)
{
	struct domain_list l = { 0 };
	char name[300], err[ERRLEN];
	size_t i;

	(void)state;
	/* 4 labels of 62, 4 dots and "b": 253, the longest name */
	name[0] = '\0';
	for (i = 0; i < 4; i++) {
		memset(name + strlen(name), 'a' + (int)i, 62);
		name[62 * (i + 1) + i] = '\0';
		strcat(name, ".");
	}
	strcat(name, "b");
	assert_int_equal(strlen(name), 253);
	assert_int_equal(domain_list_add_spec(&l, name, err, sizeof(err)), 0);
	/* one more character is too long, with and without "*." */
	memmove(name + 1, name, strlen(name) + 1);
	name[0] = 'x';
	assert_int_equal(domain_list_add_spec(&l, name, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "253"));
	/* a trailing dot does not count */
	name[0] = 'a';
	memmove(name, name + 1, strlen(name));
	strcat(name, ".");
	assert_int_equal(domain_list_add_spec(&l, name, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1); /* merged: the same name */
	domain_list_free(&l);
}

/* The reason shows the item, escaped, so a terminal shows what was typed. */
static void test_reason_names_item(void **state)
{
	struct domain_list l = { 0 };
	char err[ERRLEN];

	(void)state;
	assert_int_equal(domain_list_add_spec(&l, "good.com, bad..com", err,
					      sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "invalid item \"bad..com\": empty label");
	assert_int_equal(domain_list_add_spec(&l, "a\nb.com", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(
		err, "invalid item \"a\\x0ab.com\": newline not allowed");
	assert_int_equal(domain_list_add_spec(&l, "a\"b", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "invalid item \"a\\\"b\": quote not allowed");
	/* all or nothing: good.com was not added */
	assert_int_equal(l.n, 0);
	/* a tiny buffer is still terminated; NULL err is fine */
	assert_int_equal(domain_list_add_spec(&l, "*", err, 4), -EINVAL);
	assert_int_equal(strlen(err), 3);
	assert_int_equal(domain_list_add_spec(&l, "*", NULL, 0), -EINVAL);
	domain_list_free(&l);
}

static void test_spec_merge(void **state)
{
	struct domain_list l = { 0 };
	char err[ERRLEN];

	(void)state;
	assert_int_equal(domain_list_add_spec(&l,
					      "http://a.com, https://A.com.,"
					      "*.a.com,b.org,192.0.2.1",
					      err, sizeof(err)),
			 0);
	assert_int_equal(domain_list_add_spec(&l, "b.org,http://192.0.2.1", err,
					      sizeof(err)),
			 0);
	/* sorted by name; a.com twice (plain, wildcard) */
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0].name, "192.0.2.1");
	assert_true(l.v[0].is_ip);
	assert_int_equal(l.v[0].scheme, DOM_ANY);
	assert_string_equal(l.v[1].name, "a.com");
	assert_false(l.v[1].wildcard);
	assert_int_equal(l.v[1].scheme, DOM_ANY); /* http + https merged */
	assert_string_equal(l.v[2].name, "a.com");
	assert_true(l.v[2].wildcard);
	assert_string_equal(l.v[3].name, "b.org");
	/* an error leaves the list as it was */
	assert_int_equal(domain_list_add_spec(&l, "c.net,*", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(l.n, 4);
	domain_list_free(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
	domain_list_free(&l); /* twice is fine */
	domain_list_free(NULL);
}

/* ---- files ---- */

static char *write_tmp(const char *text, size_t len)
{
	char *path = strdup("/tmp/nf-test-domains.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_file(void **state)
{
	static const char text[] = "# allowed for the build\n"
				   "\n"
				   "github.com   # the forge\n"
				   "  *.githubusercontent.com\r\n"
				   "https://registry.npmjs.org, pypi.org\n"
				   "\t\n"
				   "   # indented comment\n"
				   "192.0.2.10";
	struct domain_list l = { 0 };
	char err[ERRLEN], *path = write_tmp(text, sizeof(text) - 1);

	(void)state;
	assert_int_equal(domain_list_add_file(&l, path, err, sizeof(err)), 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.v[0].name, "192.0.2.10");
	assert_string_equal(l.v[1].name, "github.com");
	assert_string_equal(l.v[2].name, "githubusercontent.com");
	assert_true(l.v[2].wildcard);
	assert_string_equal(l.v[3].name, "pypi.org");
	assert_string_equal(l.v[4].name, "registry.npmjs.org");
	assert_int_equal(l.v[4].scheme, DOM_HTTPS);
	unlink(path);
	free(path);
	domain_list_free(&l);
}

static void test_file_errors(void **state)
{
	static const char bad_line[] = "a.com\n# fine\n\nb.com,*.c\n";
	static const char nul_line[] = "a.com\nb\0.com\n";
	static const char empty_item[] = "a.com,\n";
	struct domain_list l = { 0 };
	char err[ERRLEN], want[ERRLEN], *path;

	(void)state;
	path = write_tmp(bad_line, sizeof(bad_line) - 1);
	assert_int_equal(domain_list_add_file(&l, path, err, sizeof(err)),
			 -EINVAL);
	snprintf(want, sizeof(want), "%s:4: invalid item \"*.c\"", path);
	if (strncmp(err, want, strlen(want)))
		fail_msg("reason \"%s\", want \"%s...\"", err, want);
	assert_int_equal(l.n, 0); /* a.com was not kept */
	unlink(path);
	free(path);

	path = write_tmp(nul_line, sizeof(nul_line) - 1);
	assert_int_equal(domain_list_add_file(&l, path, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, ":2: invalid item \"b\\x00.com\""));
	unlink(path);
	free(path);

	path = write_tmp(empty_item, sizeof(empty_item) - 1);
	assert_int_equal(domain_list_add_file(&l, path, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, ":1: item 2 is empty"));
	unlink(path);

	/* a missing file: the errno and the path */
	assert_int_equal(domain_list_add_file(&l, path, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file"));
	free(path);

	/* an empty file adds nothing and is not an error */
	path = write_tmp("", 0);
	assert_int_equal(domain_list_add_file(&l, path, err, sizeof(err)), 0);
	assert_int_equal(l.n, 0);
	unlink(path);
	free(path);
	domain_list_free(&l);
}

/* ---- the reference verdict ---- */

struct verdict_case {
	const char *host;
	unsigned scheme;
	enum domain_verdict want;
};

static void check_cases(const char *allow_spec, const char *block_spec,
			const struct verdict_case *c, size_t n)
{
	struct domain_list allow = { 0 }, block = { 0 };
	char err[ERRLEN];
	size_t i;

	if (allow_spec &&
	    domain_list_add_spec(&allow, allow_spec, err, sizeof(err)))
		fail_msg("allow: %s", err);
	if (block_spec &&
	    domain_list_add_spec(&block, block_spec, err, sizeof(err)))
		fail_msg("block: %s", err);
	for (i = 0; i < n; i++) {
		enum domain_verdict v =
			domain_check(&allow, &block, c[i].host, c[i].scheme);

		if (v != c[i].want)
			fail_msg("%s (%s): got %s, want %s", c[i].host,
				 c[i].scheme == DOM_HTTP ? "http" : "https",
				 domain_verdict_str(v),
				 domain_verdict_str(c[i].want));
	}
	domain_list_free(&allow);
	domain_list_free(&block);
}

#define H DOM_HTTP
#define S DOM_HTTPS

static void test_check_apex_sub_wildcard(void **state)
{
	static const struct verdict_case c[] = {
		{ "example.com", H, DOM_ALLOW },
		{ "example.com", S, DOM_ALLOW },
		{ "www.example.com", S, DOM_ALLOW },
		{ "a.b.c.example.com", H, DOM_ALLOW },
		{ "notexample.com", S, DOM_DENY_UNLISTED },
		{ "example.com.evil.net", S, DOM_DENY_UNLISTED },
		{ "com", S, DOM_DENY_UNLISTED },
		{ "wild.org", S, DOM_DENY_UNLISTED }, /* *.wild.org only */
		{ "api.wild.org", S, DOM_ALLOW },
		{ "x.api.wild.org", H, DOM_ALLOW },
		{ "xwild.org", S, DOM_DENY_UNLISTED },
		{ "both.net", S, DOM_ALLOW }, /* both.net and *.both.net */
		{ "a.both.net", S, DOM_ALLOW },
	};

	(void)state;
	check_cases("example.com,*.wild.org,both.net,*.both.net", NULL, c,
		    sizeof(c) / sizeof(c[0]));
}

static void test_check_scheme(void **state)
{
	static const struct verdict_case c[] = {
		{ "plain.com", H, DOM_ALLOW },
		{ "plain.com", S, DOM_DENY_UNLISTED },
		{ "www.plain.com", H, DOM_ALLOW },
		{ "tls.com", S, DOM_ALLOW },
		{ "tls.com", H, DOM_DENY_UNLISTED },
		{ "a.tls.com", S, DOM_ALLOW },
		{ "a.wtls.com", S, DOM_ALLOW },
		{ "a.wtls.com", H, DOM_DENY_UNLISTED },
		{ "mixed.com", H, DOM_ALLOW },
		{ "mixed.com", S, DOM_ALLOW },
		{ "plain.com", 0, DOM_DENY_INVALID },
		{ "plain.com", DOM_ANY, DOM_DENY_INVALID },
		{ "plain.com", 4, DOM_DENY_INVALID },
	};

	(void)state;
	check_cases("http://plain.com,https://tls.com,https://*.wtls.com,"
		    "http://mixed.com,https://mixed.com",
		    NULL, c, sizeof(c) / sizeof(c[0]));
}

static void test_check_block(void **state)
{
	static const struct verdict_case c[] = {
		{ "example.com", S, DOM_ALLOW },
		{ "bad.example.com", S, DOM_DENY_BLOCKED },
		{ "x.bad.example.com", H, DOM_DENY_BLOCKED },
		{ "ads.example.com", S, DOM_ALLOW }, /* *.ads: subs only */
		{ "x.ads.example.com", S, DOM_DENY_BLOCKED },
		{ "upload.example.com", H, DOM_DENY_BLOCKED },
		{ "upload.example.com", S, DOM_ALLOW }, /* http:// block */
		{ "other.com", S, DOM_DENY_UNLISTED },
		{ "blockonly.com", S, DOM_DENY_BLOCKED },
		{ "192.0.2.1", S, DOM_DENY_BLOCKED },
		{ "192.0.2.2", S, DOM_ALLOW },
	};

	(void)state;
	check_cases("example.com,192.0.2.1,192.0.2.2",
		    "bad.example.com,*.ads.example.com,"
		    "http://upload.example.com,blockonly.com,192.0.2.1",
		    c, sizeof(c) / sizeof(c[0]));
}

static void test_check_case_and_dot(void **state)
{
	static const struct verdict_case c[] = {
		{ "Example.COM", S, DOM_ALLOW },
		{ "example.com.", S, DOM_ALLOW },
		{ "WWW.EXAMPLE.COM.", H, DOM_ALLOW },
		{ "BAD.example.com.", S, DOM_DENY_BLOCKED },
		{ "example.com..", S, DOM_DENY_INVALID },
		{ ".example.com", S, DOM_DENY_INVALID },
		{ "", S, DOM_DENY_INVALID },
		{ ".", S, DOM_DENY_INVALID },
		{ "exa mple.com", S, DOM_DENY_INVALID },
		{ "example.com\n", S, DOM_DENY_INVALID },
		{ "*.example.com", S, DOM_DENY_INVALID },
		{ "example.com:443", S, DOM_DENY_INVALID },
	};

	(void)state;
	check_cases("EXAMPLE.com.", "Bad.Example.Com", c,
		    sizeof(c) / sizeof(c[0]));
}

static void test_check_ips(void **state)
{
	static const struct verdict_case c[] = {
		{ "192.0.2.7", S, DOM_ALLOW },
		{ "192.0.2.7", H, DOM_ALLOW },
		{ "192.0.2.7.", H, DOM_ALLOW },
		{ "192.0.2.8", S, DOM_DENY_IP },
		{ "198.51.100.1", H, DOM_ALLOW },
		{ "198.51.100.1", S, DOM_DENY_IP }, /* http:// only */
		{ "127.0.0.1", H, DOM_DENY_IP },
		/* other spellings of an address are never listed */
		{ "3221225991", H, DOM_DENY_IP },
		{ "0xc0.0.2.7", H, DOM_DENY_IP },
		{ "0300.0.2.7", H, DOM_DENY_IP },
		{ "192.0.519", H, DOM_DENY_IP },
		{ "192.0.2.07", H, DOM_DENY_IP },
		{ "1.2.3.4.5", H, DOM_DENY_IP },
		{ "::1", S, DOM_DENY_IP },
		{ "[::1]", S, DOM_DENY_IP },
		{ "[2001:db8::7]", H, DOM_DENY_IP },
		{ "::ffff:192.0.2.7", H, DOM_DENY_IP },
		{ "[::1", H, DOM_DENY_INVALID },
		/* a name rule never matches an address, nor the reverse */
		{ "7.example.com", S, DOM_ALLOW },
		{ "192.0.2.7.example.com", S, DOM_ALLOW },
	};

	(void)state;
	check_cases("192.0.2.7,http://198.51.100.1,example.com", NULL, c,
		    sizeof(c) / sizeof(c[0]));
}

static void test_check_empty_lists(void **state)
{
	struct domain_list empty = { 0 };

	(void)state;
	assert_int_equal(domain_check(NULL, NULL, "example.com", S),
			 DOM_DENY_UNLISTED);
	assert_int_equal(domain_check(&empty, &empty, "example.com", H),
			 DOM_DENY_UNLISTED);
	assert_int_equal(domain_check(NULL, NULL, "192.0.2.1", H), DOM_DENY_IP);
	assert_int_equal(domain_check(NULL, NULL, NULL, H), DOM_DENY_INVALID);
}

static void test_rule_match(void **state)
{
	struct domain_rule plain = { (char *)"a.com", DOM_ANY, false, false , false };
	struct domain_rule wild = { (char *)"a.com", DOM_ANY, true, false , false };
	struct domain_rule ip = { (char *)"192.0.2.1", DOM_ANY, false, true , false };

	(void)state;
	assert_true(domain_rule_match(&plain, "a.com"));
	assert_true(domain_rule_match(&plain, "b.a.com"));
	assert_false(domain_rule_match(&plain, "ba.com"));
	assert_false(domain_rule_match(&plain, "com"));
	assert_false(domain_rule_match(&wild, "a.com"));
	assert_true(domain_rule_match(&wild, "b.a.com"));
	assert_false(domain_rule_match(&wild, "ba.com"));
	assert_true(domain_rule_match(&ip, "192.0.2.1"));
	assert_false(domain_rule_match(&ip, "1.192.0.2.1"));
}

static void test_rule_valid(void **state)
{
	struct domain_rule r;

	(void)state;
	r = (struct domain_rule){ (char *)"a.com", DOM_HTTP, false, false , false };
	assert_int_equal(domain_rule_valid(&r), 0);
	r.scheme = 0;
	assert_int_equal(domain_rule_valid(&r), -EINVAL);
	r.scheme = 8;
	assert_int_equal(domain_rule_valid(&r), -EINVAL);
	r = (struct domain_rule){ (char *)"A.com", DOM_ANY, false, false , false };
	assert_int_equal(domain_rule_valid(&r), -EINVAL);
	r.name = (char *)"a.com.";
	assert_int_equal(domain_rule_valid(&r), -EINVAL);
	r.name = (char *)"a.com\nhttp_access allow all";
	assert_int_equal(domain_rule_valid(&r), -EINVAL);
	r.name = (char *)"-n.com";
	assert_int_equal(domain_rule_valid(&r), -EINVAL);
	r.name = (char *)"com";
	assert_int_equal(domain_rule_valid(&r), -EINVAL);
	r.name = (char *)"*.a.com";
	assert_int_equal(domain_rule_valid(&r), -EINVAL);
	r.name = (char *)"192.0.2.1";
	assert_int_equal(domain_rule_valid(&r), -EINVAL); /* is_ip unset */
	r.is_ip = true;
	assert_int_equal(domain_rule_valid(&r), 0);
	r.wildcard = true;
	assert_int_equal(domain_rule_valid(&r), -EINVAL);
	r = (struct domain_rule){ (char *)"a.com", DOM_ANY, false, true , false };
	assert_int_equal(domain_rule_valid(&r), -EINVAL);
	r.name = NULL;
	assert_int_equal(domain_rule_valid(&r), -EINVAL);
	assert_int_equal(domain_rule_valid(NULL), -EINVAL);
}

/* ---- patterns: the reference matcher and the Squid regex agree ---- */

static const char *const pattern_specs[] = {
	"api-*.example.com", "*-cdn.example.com", "a*b.example.com",
	"a*b*c.example.com", "*.api-*.example.com", "*.*.example.com",
	"a.*.example.com", "example.com", "*.example.com", "x_*.example.com",
};

static const char *const probe_hosts[] = {
	"api-1.example.com", "api-.example.com", "api-v1-b.example.com",
	"apix.example.com", "api.example.com", "x.api-1.example.com",
	"api-1.example.com.evil.com", "evil.com", "api-1.example.co",
	"api-1xexample.com", "api-1.examplexcom", "api-1.example.com.",
	"api-a_b.example.com", "api-a.b.example.com", "cdn.example.com",
	"-cdn.example.com", "a-cdn.example.com", "x.a-cdn.example.com",
	"ab.example.com", "axxb.example.com", "a.b.example.com", "abc.example.com",
	"a-b-c.example.com", "ac.example.com", "a.x.example.com",
	"a.example.com", "a..example.com", "example.com", "x.example.com",
	"x_1.example.com", "x_.example.com", "x_a_b.example.com",
	"evil.com/api-1.example.com", "api-1.example.com/x", "api-1.example.com:443",
	"api-1.example.com\nx", "api-(1).example.com", "api-[1].example.com",
	"api-1.example.com$", "^api-1.example.com", "api-*.example.com",
	"a.b.c.d.api-9.example.com", "",
};

static void test_pattern_regex_agrees(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pattern_specs) / sizeof(*pattern_specs);
	     i++) {
		struct domain_list l = { 0 };
		char err[ERRLEN], re[DOM_REGEX_MAX];
		regex_t rx;
		int n;

		if (domain_list_add_spec(&l, pattern_specs[i], err, sizeof(err)))
			fail_msg("\"%s\" refused: %s", pattern_specs[i], err);
		n = domain_rule_regex(&l.v[0], re, sizeof(re));
		assert_true(n > 0);
		assert_int_equal((size_t)n, strlen(re));
		/* anchored, and nothing Squid's tokeniser or a regex could misread */
		assert_int_equal(re[0], '^');
		assert_int_equal(re[n - 1], '$');
		assert_int_equal(strspn(re, "abcdefghijklmnopqrstuvwxyz0123456789"
					    "^$[]().*+_-"),
				 (size_t)n);
		assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_ICASE | REG_NOSUB), 0);
		for (size_t h = 0; h < sizeof(probe_hosts) / sizeof(*probe_hosts);
		     h++) {
			const char *raw = probe_hosts[h];
			enum domain_verdict v = domain_check(&l, NULL, raw, DOM_HTTPS);
			char norm[DOM_NAME_MAX + 2];
			size_t k;
			bool ref, got;

			if (v == DOM_DENY_INVALID || v == DOM_DENY_IP) {
				/* not a name: the regex never takes it either */
				if (!regexec(&rx, raw, 0, NULL, 0))
					fail_msg("%s (%s) takes \"%s\"", pattern_specs[i],
						 re, raw);
				continue;
			}
			/* as domain_check() sees it: lower case, no trailing dot */
			for (k = 0; raw[k] && k < sizeof(norm) - 1; k++)
				norm[k] = (char)(raw[k] >= 'A' && raw[k] <= 'Z' ?
						 raw[k] + 32 : raw[k]);
			if (k && norm[k - 1] == '.')
				k--;
			norm[k] = '\0';
			ref = domain_rule_match(&l.v[0], norm);
			got = !regexec(&rx, norm, 0, NULL, 0);
			if (ref != got || ref != (v == DOM_ALLOW))
				fail_msg("%s (%s) on \"%s\": reference %d, verdict %s, regex %d",
					 pattern_specs[i], re, raw, ref,
					 domain_verdict_str(v), got);
			/* any case: Squid gets -i */
			if (got) {
				char up[DOM_NAME_MAX + 2];

				for (k = 0; norm[k]; k++)
					up[k] = (char)(norm[k] >= 'a' && norm[k] <= 'z' ?
						       norm[k] - 32 : norm[k]);
				up[k] = '\0';
				assert_int_equal(regexec(&rx, up, 0, NULL, 0), 0);
			}
		}
		regfree(&rx);
		domain_list_free(&l);
	}
}

static void test_pattern_verdicts(void **state)
{
	static const struct check_case {
		const char *host;
		enum domain_verdict v;
	} c[] = {
		{ "api-1.example.com", DOM_ALLOW },
		{ "API-V2.Example.Com.", DOM_ALLOW },
		{ "apix.example.com", DOM_DENY_UNLISTED },
		{ "x.api-1.example.com", DOM_DENY_UNLISTED },
		{ "api-1.example.com.evil.com", DOM_DENY_UNLISTED },
		{ "api-test.example.com", DOM_DENY_BLOCKED },
		{ "img-cdn.example.com", DOM_ALLOW },
		{ "example.com", DOM_DENY_UNLISTED },
	};
	struct domain_list allow = { 0 }, block = { 0 };

	(void)state;
	assert_int_equal(domain_list_add_spec(&allow, "api-*.example.com,*-cdn.example.com",
					      NULL, 0), 0);
	assert_int_equal(domain_list_add_spec(&block, "api-t*t.example.com", NULL, 0), 0);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (domain_check(&allow, &block, c[i].host, DOM_HTTPS) != c[i].v)
			fail_msg("\"%s\": %s, want %s", c[i].host,
				 domain_verdict_str(domain_check(&allow, &block,
								 c[i].host, DOM_HTTPS)),
				 domain_verdict_str(c[i].v));
	domain_list_free(&allow);
	domain_list_free(&block);
}

static void test_pattern_long_and_edges(void **state)
{
	struct domain_list l = { 0 };
	char name[300], re[DOM_REGEX_MAX], err[ERRLEN];
	struct domain_rule ip = { (char *)"192.0.2.1", DOM_ANY, false, true , false };
	size_t i;

	(void)state;
	/* 253 characters, every other one a '*': the longest regex */
	for (i = 0; i < 240; i++)
		name[i] = (i % 64 == 63) ? '.' : (i & 1) ? '*' : 'a';
	name[i] = '\0';
	strcat(name, ".example.com");
	name[253] = '\0';
	name[252] = 'm';
	assert_int_equal(strlen(name), 253);
	if (domain_list_add_spec(&l, name, err, sizeof(err)))
		fail_msg("long pattern refused: %s", err);
	assert_true(l.v[0].pattern);
	assert_true(domain_rule_regex(&l.v[0], re, sizeof(re)) > 1000);
	/* too small a buffer: -E2BIG and "" */
	assert_int_equal(domain_rule_regex(&l.v[0], re, 40), -E2BIG);
	assert_string_equal(re, "");
	assert_int_equal(domain_rule_regex(&l.v[0], re, 0), -E2BIG);
	/* an IP address has no name regex */
	assert_int_equal(domain_rule_regex(&ip, re, sizeof(re)), -EINVAL);
	domain_list_free(&l);
	/* one more character is too long */
	memmove(name + 1, name, strlen(name) + 1);
	name[0] = 'b';
	assert_int_equal(domain_list_add_spec(&l, name, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "253"));
	/* a 64-character label with a '*' is still too long */
	memset(name, 'a', 64);
	name[10] = '*';
	strcpy(name + 64, ".example.com");
	assert_int_equal(domain_list_add_spec(&l, name, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "63"));
	/* a rule a caller made by hand: '*' must agree with pattern */
	{
		struct domain_rule r = { (char *)"api-*.example.com", DOM_ANY,
					 false, false, false };

		assert_int_equal(domain_rule_valid(&r), -EINVAL);
		r.pattern = true;
		assert_int_equal(domain_rule_valid(&r), 0);
		assert_string_equal(domain_rule_dns_name(&r), "example.com");
		r.name = (char *)"*.example.com";	/* the parser's "*." rule */
		assert_int_equal(domain_rule_valid(&r), -EINVAL);
		r.wildcard = true;
		assert_int_equal(domain_rule_valid(&r), 0);
		r.name = (char *)"*.com";
		assert_int_equal(domain_rule_valid(&r), -EINVAL);
		r.name = (char *)"a*.b*.example.co.uk";
		assert_string_equal(domain_rule_dns_name(&r), "example.co.uk");
	}
	assert_int_equal(l.n, 0);
}

/* run's --allow-domains: "localhost" is the agent firewall's keyword */
static void test_localhost_keyword(void **state)
{
	static const char *const forms[] = { "localhost", "LocalHost", "localhost.",
					     "http://localhost", "HTTPS://LOCALHOST/" };
	struct domain_list l = { 0 };
	char err[ERRLEN], path[] = "/tmp/nft-domains-XXXXXX";
	FILE *f;
	int fd;

	(void)state;
	/* without the keyword: a single-label name, refused */
	assert_int_equal(domain_list_add_spec(&l, "localhost", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "single-label"));
	assert_false(l.localhost);
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		l = (struct domain_list){ .localhost_keyword = true };
		if (domain_list_add_spec(&l, forms[i], err, sizeof(err)))
			fail_msg("\"%s\" refused: %s", forms[i], err);
		assert_true(l.localhost);
		assert_int_equal(l.n, 0);	/* no rule: nothing for Squid */
		domain_list_free(&l);
		assert_false(l.localhost);
		assert_true(l.localhost_keyword);
	}
	/* with other items; names that only look like it are names */
	l = (struct domain_list){ .localhost_keyword = true };
	assert_int_equal(domain_list_add_spec(&l, "a.com, localhost ,localhost.a.com",
					      err, sizeof(err)), 0);
	assert_true(l.localhost);
	assert_int_equal(l.n, 2);
	domain_list_free(&l);
	l = (struct domain_list){ .localhost_keyword = true };
	assert_int_equal(domain_list_add_spec(&l, "localhostx", err, sizeof(err)), -EINVAL);
	assert_int_equal(domain_list_add_spec(&l, "*.localhost", err, sizeof(err)), -EINVAL);
	assert_int_equal(domain_list_add_spec(&l, "ftp://localhost", err, sizeof(err)), -EINVAL);
	/* all or nothing: a bad item after it leaves the flag unset */
	assert_int_equal(domain_list_add_spec(&l, "localhost,a..b", err, sizeof(err)), -EINVAL);
	assert_false(l.localhost);
	/* in a file too */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("# dev\nexample.com\nlocalhost   # the host\n", f);
	fclose(f);
	assert_int_equal(domain_list_add_file(&l, path, err, sizeof(err)), 0);
	assert_true(l.localhost);
	assert_int_equal(l.n, 1);
	unlink(path);
	domain_list_free(&l);
}

/* Internationalised names whose ASCII form is too long. */
static void test_idn_long(void **state)
{
	struct domain_list l = { 0 };
	char name[400] = "", err[ERRLEN];

	(void)state;
	/* 40 labels "\xc3\xbc" (u umlaut): 119 bytes in, 319 characters out */
	for (int i = 0; i < 40; i++)
		strcat(name, "\xc3\xbc.");
	strcat(name, "com");
	assert_int_equal(domain_list_add_spec(&l, name, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer than"));
	/* one label of 60 of them: longer than 63 encoded */
	name[0] = '\0';
	for (int i = 0; i < 60; i++)
		strcat(name, "\xc3\xbc");
	strcat(name, ".com");
	assert_int_equal(domain_list_add_spec(&l, name, err, sizeof(err)), -EINVAL);
	assert_true(strstr(err, "IDNA2008") || strstr(err, "63"));
	/* a pattern's encoded labels count too */
	name[0] = '\0';
	strcat(name, "a*.");
	for (int i = 0; i < 40; i++)
		strcat(name, "\xc3\xbc.");
	strcat(name, "com");
	assert_int_equal(domain_list_add_spec(&l, name, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer than"));
	assert_int_equal(l.n, 0);
}

static void test_verdict_str(void **state)
{
	(void)state;
	assert_string_equal(domain_verdict_str(DOM_ALLOW), "allow");
	assert_string_equal(domain_verdict_str(DOM_DENY_BLOCKED), "blocked");
	assert_string_equal(domain_verdict_str(DOM_DENY_UNLISTED), "unlisted");
	assert_string_equal(domain_verdict_str(DOM_DENY_IP), "ip");
	assert_string_equal(domain_verdict_str(DOM_DENY_INVALID), "invalid");
	assert_string_equal(domain_verdict_str((enum domain_verdict)99),
			    "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_items),
		cmocka_unit_test(test_bad_items),
		cmocka_unit_test(test_table_size),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_reason_names_item),
		cmocka_unit_test(test_spec_merge),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_check_apex_sub_wildcard),
		cmocka_unit_test(test_check_scheme),
		cmocka_unit_test(test_check_block),
		cmocka_unit_test(test_check_case_and_dot),
		cmocka_unit_test(test_check_ips),
		cmocka_unit_test(test_check_empty_lists),
		cmocka_unit_test(test_rule_match),
		cmocka_unit_test(test_rule_valid),
		cmocka_unit_test(test_pattern_regex_agrees),
		cmocka_unit_test(test_pattern_verdicts),
		cmocka_unit_test(test_pattern_long_and_edges),
		cmocka_unit_test(test_localhost_keyword),
		cmocka_unit_test(test_idn_long),
		cmocka_unit_test(test_verdict_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
