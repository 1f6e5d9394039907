// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * URL rules (--allow-urls). Properties: a refused spec leaves the list as
 * it was and gives a one-line reason; every accepted rule has a valid host
 * and a path starting with '/', translates into a regex made only of the
 * promised characters that POSIX regcomp accepts, and that regex agrees
 * with the reference matcher on the rule's own URL and on the input taken
 * as a URL.
 */
#include <errno.h>
#include <regex.h>

#include "fuzz_common.h"
#include "urls.h"

static const char re_chars[] = "abcdefghijklmnopqrstuvwxyz"
			       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			       "/-_~%!&;=:@^$()[].*+?|";

static void agree(const struct url_rule *r, const regex_t *rx, const char *url)
{
	bool a = !regexec(rx, url, 0, NULL, 0), b = url_rule_match(r, url);

	FUZZ_CHECK(a == b, "regex %d, reference %d on \"%s\"", a, b, url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct url_list l = { 0 };
	char err[512], re[URL_REGEX_MAX], url[URL_RULE_MAX * 2 + 64];
	char *s = fuzz_str(data, size);
	int ret;

	if (url_list_add_spec(&l, "https://seed.example.com/a/*", NULL, 0))
		abort();
	memset(err, 0x55, sizeof(err));
	ret = url_list_add_spec(&l, s, err, sizeof(err));
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL, "ret %d", ret);
		fuzz_check_reason(err, sizeof(err));
		FUZZ_CHECK(l.n == 1, "list changed by a refused spec");
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct url_rule *r = &l.v[i];
		regex_t rx;
		size_t k;

		FUZZ_CHECK(!domain_rule_valid(&r->host), "invalid host");
		FUZZ_CHECK(r->path[0] == '/', "path \"%s\"", r->path);
		FUZZ_CHECK(!url_path_unsafe(r->path), "unsafe path \"%s\"", r->path);
		FUZZ_CHECK(url_rule_regex(r, re, sizeof(re)) > 0, "no regex");
		FUZZ_CHECK(re[strspn(re, re_chars)] == '\0', "regex \"%s\"", re);
		FUZZ_CHECK(!regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), "regcomp \"%s\"", re);
		/* the rule's own URL, its '*' as "x" */
		k = (size_t)snprintf(url, sizeof(url), "%s://%s%s",
				     r->host.scheme == DOM_HTTPS ? "https" : "http",
				     r->host.wildcard ? "w." : "", r->host.name);
		if (r->port)
			k += (size_t)snprintf(url + k, sizeof(url) - k, ":%u", r->port);
		for (const char *p = r->path; *p && k < sizeof(url) - 2; p++)
			url[k++] = *p == '*' ? 'x' : *p;
		url[k] = '\0';
		FUZZ_CHECK(url_rule_match(r, url), "rule does not allow its own \"%s\"", url);
		agree(r, &rx, url);
		agree(r, &rx, s);
		regfree(&rx);
	}
	(void)url_path_unsafe(s);
	url_list_free(&l);
	free(s);
	return 0;
}
