// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * URL rules (--allow-urls): parsing, refusals with their reasons, and the
 * translation into regular expressions, compiled with the C library's
 * POSIX regcomp (the engine Squid's url_regex uses) and checked against
 * the reference matcher on URLs made to sit on every edge: hostile paths,
 * metacharacters, other hosts, ports, schemes, case.
 */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "urls.h"

#define ERRLEN 256

static struct url_list parse_ok(const char *spec)
{
	struct url_list l = { 0 };
	char err[ERRLEN];

	if (url_list_add_spec(&l, spec, err, sizeof(err)))
		fail_msg("%s: %s", spec, err);
	return l;
}

static void refused(const char *spec, const char *why)
{
	struct url_list l = { 0 };
	char err[ERRLEN] = "";

	if (!url_list_add_spec(&l, spec, err, sizeof(err)))
		fail_msg("accepted: %s", spec);
	assert_int_equal(l.n, 0);
	if (!strstr(err, why))
		fail_msg("%s: reason '%s' lacks '%s'", spec, err, why);
	assert_null(strchr(err, '\n'));
}

static void test_parse(void **state)
{
	struct url_list l;

	(void)state;
	l = parse_ok("https://github.com/myorg/*, https://api.github.com/repos/myorg/*");
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].host.name, "github.com");
	assert_int_equal(l.v[0].host.scheme, DOM_HTTPS);
	assert_string_equal(l.v[0].path, "/myorg/*");
	assert_int_equal(l.v[0].port, 0);
	url_list_free(&l);

	l = parse_ok("HTTP://Example.COM");
	assert_int_equal(l.v[0].host.scheme, DOM_HTTP);
	assert_string_equal(l.v[0].host.name, "example.com");
	assert_string_equal(l.v[0].path, "/*");
	url_list_free(&l);

	l = parse_ok("https://a.example.com:443/x,https://a.example.com:8443/x**y");
	assert_int_equal(l.v[0].port, 0); /* the default port is no port */
	assert_int_equal(l.v[1].port, 8443);
	assert_string_equal(l.v[1].path, "/x*y");
	url_list_free(&l);

	l = parse_ok("https://*.example.com/a,https://*.example.com/a,https://192.0.2.7/p?q=1");
	assert_int_equal(l.n, 2); /* equal rules once */
	assert_true(l.v[0].host.wildcard);
	assert_true(l.v[1].host.is_ip);
	url_list_free(&l);
	assert_true(url_list_has(&(struct url_list){ 0 }, DOM_HTTP) == false);
}

static void test_refused(void **state)
{
	(void)state;
	refused("", "empty list");
	refused("https://a.com/x,,https://b.com", "rule 2 is empty");
	refused("a.com/x", "must start with http:// or https://");
	refused("ftp://a.com/x", "must start with");
	refused("https://api-*.example.com/x", "inside a label");
	refused("https://*.api-*.example.com/", "inside a label");
	refused("https:///x", "no host");
	refused("https://a.com?x", "a query needs a path");
	refused("https://a.com:0/x", "port");
	refused("https://a.com:99999/x", "port");
	refused("https://a.com:/x", "bad port");
	refused("https://*/x", "every name");
	refused("https://*.com/x", "top-level");
	refused("https://com/x", "top-level");
	refused("https://a..com/x", "empty label");
	refused("https://a.com/x y", "space");
	refused("https://a.com/x\ny", "control");
	refused("https://a.com/\xc3\xa9", "outside ASCII");
	refused("https://a.com/a$b", "'$'");
	refused("https://a.com/a#b", "'#'");
	refused("https://a.com/a\\b", "'\\'");
	refused("https://a.com/a\"b", "'\"'");
	refused("https://a.com/a'b", "'''");
	refused("https://a.com/a[b]", "'['");
	refused("https://a.com/a{1}", "'{'");
	refused("https://a.com/a|b", "'|'");
	refused("https://a.com/a^b", "'^'");
	refused("https://a.com/%zz", "two hex digits");
	refused("https://a.com/%4", "two hex digits");
	refused("https://a.com/a%2Fb", "encoded");
	refused("https://a.com/a%2e%2E/b", "encoded");
	refused("https://a.com/a%5cb", "encoded");
	refused("https://a.com/a/../b", "dot segment");
	refused("https://a.com/a/./b", "dot segment");
	refused("https://a.com/a/..", "dot segment");
	refused("https://a.com/..;/b", "dot segment");
	refused("https://user@a.com/x", "user info");
	refused("https://[::1]/x", "IPv6");
	{
		char big[URL_RULE_MAX + 64];

		snprintf(big, sizeof(big), "https://a.com/%0*d", URL_RULE_MAX, 0);
		refused(big, "longer than");
	}
}

static void test_unsafe_paths(void **state)
{
	(void)state;
	assert_false(url_path_unsafe("/a/b"));
	assert_false(url_path_unsafe("/a/..b/c"));
	assert_false(url_path_unsafe("/a/b..?x=/../"));
	assert_false(url_path_unsafe("/a.b/c.d"));
	assert_false(url_path_unsafe("/a?x=%2f"));
	assert_true(url_path_unsafe("/a/../b"));
	assert_true(url_path_unsafe("/a/./b"));
	assert_true(url_path_unsafe("/a/.."));
	assert_true(url_path_unsafe("/a/..?x"));
	assert_true(url_path_unsafe("/a/..;x/b"));
	assert_true(url_path_unsafe("/a%2Fb"));
	assert_true(url_path_unsafe("/a%2eb"));
	assert_true(url_path_unsafe("/a%5Cb"));
	assert_true(url_path_unsafe("/a\\b"));
}

/* The regex of rule spec matches url exactly when the reference does. */
static void agree(const struct url_rule *r, const char *url)
{
	char re[URL_REGEX_MAX];
	regex_t rx;
	bool m_re, m_ref;

	assert_true(url_rule_regex(r, re, sizeof(re)) > 0);
	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB))
		fail_msg("regcomp failed: %s", re);
	m_re = !regexec(&rx, url, 0, NULL, 0);
	regfree(&rx);
	m_ref = url_rule_match(r, url);
	if (m_re != m_ref)
		fail_msg("%s on %s: regex %d, reference %d", re, url, m_re, m_ref);
}

static const char *const urls[] = {
	"https://github.com/myorg/repo",
	"https://github.com/myorg/",
	"https://github.com/myorg",
	"https://github.com/myorgevil/x",
	"https://github.com:443/myorg/x",
	"https://github.com:8443/myorg/x",
	"https://github.com:0443/myorg/x",
	"http://github.com/myorg/x",
	"https://GitHub.com/myorg/x",
	"https://evil.com/github.com/myorg/x",
	"https://github.com.evil.com/myorg/x",
	"https://githubXcom/myorg/x",
	"https://api.github.com/myorg/x",
	"https://a.b.github.com/myorg/x",
	"https://.github.com/myorg/x",
	"https://a..github.com/myorg/x",
	"https://github.com/myorg/x?y=1",
	"https://github.com/myorg/x?y=/../z",
	"https://github.com/a.b(c)+d?e",
	"https://github.com/aXb(c)+d?e",
	"https://github.com/a.b(c)+d.e",
	"https://github.com/a.b((c))+d?e",
	"https://github.com/a.bc+d?e",
	"https://github.com/x/y/z",
	"https://github.com/x",
	"https://github.com",
	"https://github.com/",
	"https://192.0.2.7/p?q=1",
	"https://192x0.2.7/p?q=1",
	"https://sub.example.com:8443/ab",
	"https://sub.example.com:8443/a",
	"https://example.com:8443/ab",
	"https://a-b_c.example.com:8443/a/b/c",
	"http://example.com/~user/;p=1&q=@:!",
	"http://example.com/~user/;p=1&q=@:!x",
};

static void test_regex_agrees(void **state)
{
	const char *specs =
		"https://github.com/myorg/*,https://github.com/myorg/,"
		"http://github.com/myorg/*,https://github.com,"
		"https://*.github.com/myorg/*,https://github.com/a.b(c)+d?e,"
		"https://github.com/x/*/z,https://github.com/*,"
		"https://192.0.2.7/p?q=1,https://*.example.com:8443/a*,"
		"https://example.com:8443/a?,http://example.com/~user/;p=1&q=@:!,"
		"https://github.com/*x*y*z";
	struct url_list l = parse_ok(specs);

	(void)state;
	for (size_t i = 0; i < l.n; i++)
		for (size_t j = 0; j < sizeof(urls) / sizeof(urls[0]); j++)
			agree(&l.v[i], urls[j]);
	url_list_free(&l);
}

/* A few fixed results of the reference, so that both cannot be wrong alike. */
static void test_reference(void **state)
{
	struct url_list l = parse_ok("https://github.com/myorg/*,https://*.example.com/a,"
				     "http://x.example.org:8080/b*");

	(void)state;
	assert_true(url_rule_match(&l.v[0], "https://github.com/myorg/repo"));
	assert_true(url_rule_match(&l.v[0], "https://github.com:443/myorg/"));
	assert_false(url_rule_match(&l.v[0], "https://github.com/myorg"));
	assert_false(url_rule_match(&l.v[0], "https://github.com/other/myorg/"));
	assert_false(url_rule_match(&l.v[0], "http://github.com/myorg/repo"));
	assert_false(url_rule_match(&l.v[0], "https://api.github.com/myorg/repo"));
	assert_true(url_rule_match(&l.v[1], "https://b.example.com/a"));
	assert_false(url_rule_match(&l.v[1], "https://example.com/a"));
	assert_false(url_rule_match(&l.v[1], "https://b.example.com/a/"));
	assert_true(url_rule_match(&l.v[2], "http://x.example.org:8080/b"));
	assert_true(url_rule_match(&l.v[2], "http://x.example.org:8080/bcd?e"));
	assert_false(url_rule_match(&l.v[2], "http://x.example.org/b"));
	url_list_free(&l);
}

/* Hostile rules: whatever is accepted makes a regex of the promised characters. */
static void test_hostile(void **state)
{
	static const char *const specs[] = {
		"https://a.com/.*", "https://a.com/(.*)+", "https://a.com/a+b?c=d",
		"https://a.com/@:;=&!~_-", "https://a.com/***", "https://a.com/%41%42",
		"https://a-.com/x", "https://-a.com/x", "https://a.com./x",
		"https://a.com/)(", "https://a.com/?", "https://a.com/" "%%",
	};
	char re[URL_REGEX_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct url_list l = { 0 };
		char err[ERRLEN];

		if (url_list_add_spec(&l, specs[i], err, sizeof(err)))
			continue;
		for (size_t k = 0; k < l.n; k++) {
			regex_t rx;

			assert_true(url_rule_regex(&l.v[k], re, sizeof(re)) > 0);
			assert_int_equal(re[strspn(re, "abcdefghijklmnopqrstuvwxyz"
						       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
						       "/-_~%!&;=:@^$()[].*+?|")],
					 '\0');
			assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
			regfree(&rx);
		}
		url_list_free(&l);
	}
	/* a small buffer: -E2BIG and an empty string */
	{
		struct url_list l = parse_ok("https://github.com/myorg/*");

		assert_int_equal(url_rule_regex(&l.v[0], re, 8), -E2BIG);
		assert_string_equal(re, "");
		assert_int_equal(url_host_regex(&l.v[0].host, re, 4), -E2BIG);
		assert_true(url_host_regex(&l.v[0].host, re, sizeof(re)) > 0);
		assert_string_equal(re, "^github[.]com$");
		url_list_free(&l);
	}
	/* a refused spec leaves the list alone */
	{
		struct url_list l = parse_ok("https://a.com/x");
		char err[ERRLEN];

		assert_int_equal(url_list_add_spec(&l, "https://b.com/y,https://c.com/$", err,
						   sizeof(err)),
				 -EINVAL);
		assert_int_equal(l.n, 1);
		url_list_free(&l);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_unsafe_paths),
		cmocka_unit_test(test_regex_agrees),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
