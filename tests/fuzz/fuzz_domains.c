// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Domain allow/block lists (--allow-domains, --block-domains,
 * --allow-domains-file) and the reference verdict. Properties: every rule
 * that is accepted is valid (domain_rule_valid) and made only of
 * [a-z0-9._-], so nothing that could end a Squid config line, start a
 * comment or a quote gets through; a refused spec leaves the list as it was
 * and gives a one-line reason; the file reader and the spec reader agree on
 * one-line files; every accepted rule allows its own name (or, for "*.x",
 * a subdomain of x; for a pattern, its '*' filled in); an allowed host
 * matches some rule; the Squid regex of every rule (domain_rule_regex) is
 * one token of [a-z0-9^$[]().*+_-], compiles, and takes a valid host
 * exactly when the reference matcher does.
 */
#include <errno.h>
#include <regex.h>

#include "domains.h"
#include "fuzz_common.h"

static void check_rules(const struct domain_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct domain_rule *r = &l->v[i];

		FUZZ_CHECK(!domain_rule_valid(r), "invalid rule \"%s\"", r->name);
		FUZZ_CHECK(r->name[strspn(r->name,
					  "abcdefghijklmnopqrstuvwxyz0123456789._-*")] == '\0',
			   "rule \"%s\"", r->name);
		FUZZ_CHECK(!strchr(r->name, '*') == !r->pattern, "rule \"%s\"", r->name);
	}
}

static void check_verdicts(const struct domain_list *l)
{
	char host[DOM_NAME_MAX + 8];

	for (size_t i = 0; i < l->n; i++) {
		const struct domain_rule *r = &l->v[i];
		unsigned scheme = r->scheme & DOM_HTTP ? DOM_HTTP : DOM_HTTPS;

		if (r->wildcard) {
			if (strlen(r->name) + 2 > DOM_NAME_MAX)
				continue;
			snprintf(host, sizeof(host), "a.%s", r->name);
		} else {
			snprintf(host, sizeof(host), "%s", r->name);
		}
		/* a pattern's '*' as one character: still a valid name */
		for (char *c = host; *c; c++)
			if (*c == '*')
				*c = 'q';
		FUZZ_CHECK(domain_check(l, NULL, host, scheme) == DOM_ALLOW,
			   "rule \"%s\" does not allow \"%s\"", r->name, host);
		/* the blocklist beats the allowlist */
		FUZZ_CHECK(domain_check(l, l, host, scheme) != DOM_ALLOW,
			   "blocked \"%s\" allowed", host);
	}
}

/* The regex of each rule agrees with domain_rule_match() on host. */
static void check_regex(const struct domain_list *l, const char *host)
{
	char re[DOM_REGEX_MAX], h[DOM_NAME_MAX + 2];
	size_t n = strlen(host), i;
	struct domain_list one = { 0 };
	bool valid;

	/* the host as domain_check() takes it, when it is a name */
	if (n && host[n - 1] == '.')
		n--;
	if (n > DOM_NAME_MAX)
		return;
	for (i = 0; i < n; i++)
		h[i] = (host[i] >= 'A' && host[i] <= 'Z') ? (char)(host[i] + 32) : host[i];
	h[i] = '\0';
	valid = domain_check(&one, NULL, h, DOM_HTTP) == DOM_DENY_UNLISTED;
	for (i = 0; i < l->n; i++) {
		const struct domain_rule *r = &l->v[i];
		regex_t rx;
		int len = domain_rule_regex(r, re, sizeof(re));
		bool got;

		if (r->is_ip) {
			FUZZ_CHECK(len == -EINVAL, "regex for IP rule %s", r->name);
			continue;
		}
		FUZZ_CHECK(len > 0 && (size_t)len == strlen(re), "regex of \"%s\": %d",
			   r->name, len);
		FUZZ_CHECK(re[strspn(re, "abcdefghijklmnopqrstuvwxyz0123456789"
					 "^$[]().*+_-")] == '\0', "regex \"%s\"", re);
		FUZZ_CHECK(!regcomp(&rx, re, REG_EXTENDED | REG_ICASE | REG_NOSUB),
			   "regex \"%s\" does not compile", re);
		got = !regexec(&rx, valid ? h : host, 0, NULL, 0);
		if (valid)
			FUZZ_CHECK(got == domain_rule_match(r, h),
				   "rule \"%s\" (%s) on \"%s\": regex %d", r->name, re, h, got);
		else
			FUZZ_CHECK(!got, "rule \"%s\" (%s) takes \"%s\"", r->name, re, host);
		regfree(&rx);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct domain_list l = { 0 }, f = { 0 };
	char err[512], path[64], *s = fuzz_str(data, size);
	enum domain_verdict v;
	int ret, fd;

	/* a list with one rule already: a refused spec must leave it alone */
	if (domain_list_add_spec(&l, "seed.example.com", NULL, 0))
		abort();
	memset(err, 0x55, sizeof(err));
	ret = domain_list_add_spec(&l, s, err, sizeof(err));
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL, "ret %d", ret);
		fuzz_check_reason(err, sizeof(err));
		FUZZ_CHECK(l.n == 1 && !strcmp(l.v[0].name, "seed.example.com"),
			   "list changed by a refused spec");
	}
	check_rules(&l);
	check_verdicts(&l);
	check_regex(&l, s);
	check_regex(&l, "api-1.example.com");

	/* the same bytes as a file */
	fd = fuzz_memfile(data, size, path, sizeof(path));
	memset(err, 0x55, sizeof(err));
	ret = domain_list_add_file(&f, path, err, sizeof(err));
	close(fd);
	if (ret) {
		fuzz_check_reason(err, sizeof(err));
		FUZZ_CHECK(f.n == 0, "list changed by a refused file");
	}
	check_rules(&f);
	/* one line without comment: the file and the spec agree */
	if (size && !memchr(data, '\n', size) && !memchr(data, '#', size) &&
	    !memchr(data, '\r', size) && !memchr(data, '\0', size) &&
	    s[strspn(s, " \t,")] != '\0') {
		struct domain_list g = { 0 };
		int r2 = domain_list_add_spec(&g, s, NULL, 0);

		FUZZ_CHECK(!r2 == !ret, "file %d, spec %d for \"%s\"", ret, r2, s);
		domain_list_free(&g);
	}

	/* any host: no crash, and an allowed host matches a rule */
	v = domain_check(&l, &f, s, DOM_HTTPS);
	if (v == DOM_ALLOW) {
		char h[DOM_NAME_MAX + 2];
		size_t n = strlen(s), i;
		bool any = false;

		if (n && s[n - 1] == '.')
			n--;
		for (i = 0; i < n && i < sizeof(h) - 1; i++)
			h[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
		h[i] = '\0';
		for (i = 0; i < l.n; i++)
			any |= (l.v[i].scheme & DOM_HTTPS) && domain_rule_match(&l.v[i], h);
		FUZZ_CHECK(any, "\"%s\" allowed by no rule", s);
	}
	domain_list_free(&l);
	domain_list_free(&f);
	free(s);
	return 0;
}
