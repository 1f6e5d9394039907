// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The DNS filter's dnsmasq.conf: the lines it must hold, injection refused,
 * and a model of dnsmasq's server= matching (most specific pattern wins,
 * "*.x" only below x, no server = REFUSED) that checks the configuration
 * forwards exactly the names domain_check() allows. Also the decoding of
 * the question a refusal event carries.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "dnsmasq_conf.h"
#include "domains.h"
#include "events.h"

#define ERRLEN 256

static void add(struct domain_list *l, const char *spec)
{
	char err[ERRLEN];

	if (domain_list_add_spec(l, spec, err, sizeof(err)))
		fail_msg("%s: %s", spec, err);
}

static int gen(const struct domain_list *allow, const struct domain_list *block,
	       const uint32_t *up, size_t nup, char **text, char *err)
{
	struct dnsmasq_conf_opts o = {
		.listen_addr = "127.0.0.1",
		.port = 5353,
		.allow = allow,
		.block = block,
		.upstreams = up,
		.n_upstreams = nup,
		.hosts_file = "/tmp/netfence-run-1-x/hosts",
		.pid_file = "/tmp/netfence-run-1-x/dnsmasq.pid",
		.log_file = "/tmp/netfence-run-1-x/dnsmasq.log",
		.user = "proxy",
	};
	size_t len = 0;
	FILE *f;
	int rc;

	*text = NULL;
	f = open_memstream(text, &len);
	assert_non_null(f);
	rc = dnsmasq_conf_write(f, &o, err, ERRLEN);
	fclose(f);
	return rc;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, line, n) && (p[n] == '\n' || !p[n]))
			return true;
	}
	return false;
}

/*
 * dnsmasq's choice for a name: the server= pattern of the longest suffix
 * of the name that has one, "/x/" matching x and names under it, "/(*).x/"
 * names under x only; at equal suffix the "*." pattern (it is longer) wins.
 * Returns true when the winner forwards (its server is not '#'), false for
 * REFUSED (no pattern, or '#').
 */
static bool model_forwards(const char *text, const char *qname)
{
	size_t best = 0;
	bool fwd = false;

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		char pat[300], srv[64];
		const char *dom;
		size_t nd, nq = strlen(qname), score;
		bool wild, match;

		srv[0] = '\0';
		if (sscanf(p, "server=/%299[^/]/%63[^\n]", pat, srv) < 1)
			continue;
		wild = !strncmp(pat, "*.", 2);
		dom = wild ? pat + 2 : pat;
		nd = strlen(dom);
		if (wild)
			match = nq > nd && qname[nq - nd - 1] == '.' &&
				!strcasecmp(qname + nq - nd, dom);
		else
			match = !strcasecmp(qname, dom) ||
				(nq > nd && qname[nq - nd - 1] == '.' &&
				 !strcasecmp(qname + nq - nd, dom));
		if (!match)
			continue;
		score = nd * 2 + wild;
		if (score > best) {
			best = score;
			fwd = srv[0] && strcmp(srv, "#");
		}
	}
	return fwd;
}

static void test_required_lines(void **state)
{
	struct domain_list allow = { 0 };
	uint32_t up[2] = { htonl(0x0a000001), htonl(0x0a000002) };
	char err[ERRLEN], *t;

	(void)state;
	add(&allow, "github.com,*.npmjs.org");
	assert_int_equal(gen(&allow, NULL, up, 2, &t, err), 0);
	assert_true(has_line(t, "no-resolv"));
	assert_true(has_line(t, "no-hosts"));
	assert_true(has_line(t, "bind-interfaces"));
	assert_true(has_line(t, "listen-address=127.0.0.1"));
	assert_true(has_line(t, "port=5353"));
	assert_true(has_line(t, "user=proxy"));
	assert_true(has_line(t, "addn-hosts=/tmp/netfence-run-1-x/hosts"));
	assert_true(has_line(t, "server=/github.com/10.0.0.1"));
	assert_true(has_line(t, "server=/github.com/10.0.0.2"));
	assert_true(has_line(t, "server=/*.npmjs.org/10.0.0.1"));
	assert_false(has_line(t, "server=/npmjs.org/10.0.0.1"));
	/* no line may name a server for every domain: that would forward all */
	assert_null(strstr(t, "server=10."));
	assert_null(strstr(t, "server=//"));
	assert_null(strstr(t, "resolv-file"));
	free(t);
	domain_list_free(&allow);
}

static void test_no_upstream_refuses(void **state)
{
	struct domain_list allow = { 0 };
	char err[ERRLEN], *t;

	(void)state;
	add(&allow, "github.com");
	assert_int_equal(gen(&allow, NULL, NULL, 0, &t, err), 0);
	assert_true(has_line(t, "server=/github.com/#"));
	assert_false(model_forwards(t, "github.com"));
	free(t);
	domain_list_free(&allow);
}

/* The configuration forwards exactly what domain_check() allows. */
static void test_matches_domain_check(void **state)
{
	static const char *const names[] = {
		"github.com", "GiThUb.CoM", "api.github.com", "a.b.github.com",
		"evilgithub.com", "github.com.evil.test", "npmjs.org",
		"registry.npmjs.org", "x.registry.npmjs.org", "blocked.npmjs.org",
		"a.blocked.npmjs.org", "pypi.org", "files.pypi.org", "secret.pypi.org",
		"a.secret.pypi.org", "c2VjcmV0.attacker.example", "com", "org",
		"example.org", "sub.example.org", "internal.example.org",
		"deep.internal.example.org", "only.test", "x.only.test",
	};
	struct domain_list allow = { 0 }, block = { 0 };
	uint32_t up = htonl(0x0a000001);
	char err[ERRLEN], *t;

	(void)state;
	add(&allow, "github.com,*.npmjs.org,pypi.org,https://example.org,only.test,192.0.2.7");
	add(&block, "blocked.npmjs.org,*.secret.pypi.org,*.only.test");
	add(&block, "http://internal.example.org");
	assert_int_equal(gen(&allow, &block, &up, 1, &t, err), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char lower[300];
		bool want;

		for (size_t k = 0; k <= strlen(names[i]); k++)
			lower[k] = (char)(names[i][k] >= 'A' && names[i][k] <= 'Z' ?
						  names[i][k] + 32 : names[i][k]);
		/* a name resolves when some scheme allows it */
		want = domain_check(&allow, &block, lower, DOM_HTTP) == DOM_ALLOW ||
		       domain_check(&allow, &block, lower, DOM_HTTPS) == DOM_ALLOW;
		if (model_forwards(t, names[i]) != want)
			fail_msg("%s: configuration %s, domain_check %s", names[i],
				 want ? "refuses" : "forwards", want ? "allows" : "refuses");
	}
	/* the raw-IP rule has no name */
	assert_null(strstr(t, "192.0.2.7"));
	free(t);
	domain_list_free(&allow);
	domain_list_free(&block);
}

static void test_block_covers_allow(void **state)
{
	struct domain_list allow = { 0 }, block = { 0 };
	uint32_t up = htonl(0x0a000001);
	char err[ERRLEN], *t;

	(void)state;
	add(&allow, "*.github.com,api.github.com");
	add(&block, "github.com");
	assert_int_equal(gen(&allow, &block, &up, 1, &t, err), 0);
	/* both allows dropped: no pattern forwards anything */
	assert_null(strstr(t, "/10.0.0.1"));
	assert_true(has_line(t, "server=/github.com/#"));
	assert_true(has_line(t, "server=/*.github.com/#"));
	free(t);
	domain_list_free(&allow);
	domain_list_free(&block);
}

/*
 * A pattern ('*' inside a label): dnsmasq's '*' only starts a name, so the
 * names under its literal labels resolve (a superset, never a name
 * outside them); Squid keeps to the pattern itself.
 */
static void test_pattern(void **state)
{
	struct domain_list allow = { 0 }, block = { 0 };
	uint32_t up = htonl(0x0a000001);
	char err[ERRLEN], *t;

	(void)state;
	add(&allow, "api-*.example.com,*-cdn.example.com,*.v*.pat.example.org");
	add(&block, "api-t*.example.com,x.example.org");
	assert_int_equal(gen(&allow, &block, &up, 1, &t, err), 0);
	assert_true(has_line(t, "server=/*.example.com/10.0.0.1"));
	assert_true(has_line(t, "server=/*.pat.example.org/10.0.0.1"));
	/* two patterns under one name: one line */
	assert_null(strstr(strstr(t, "server=/*.example.com/") + 1,
			   "server=/*.example.com/"));
	/* no '*' inside a label reaches dnsmasq, and a block pattern adds no refusal */
	assert_null(strstr(t, "-*"));
	assert_null(strstr(t, "api-t"));
	assert_true(model_forwards(t, "api-1.example.com"));
	assert_true(model_forwards(t, "img-cdn.example.com"));
	assert_true(model_forwards(t, "a.v1.pat.example.org"));
	assert_false(model_forwards(t, "example.com"));
	assert_false(model_forwards(t, "example.com.evil.test"));
	assert_false(model_forwards(t, "pat.example.org"));
	assert_false(model_forwards(t, "x.example.org"));
	assert_false(model_forwards(t, "evil.org"));
	free(t);
	domain_list_free(&allow);
	domain_list_free(&block);

	/* a block of the pattern's literal name drops it */
	add(&allow, "api-*.example.com");
	add(&block, "example.com");
	assert_int_equal(gen(&allow, &block, &up, 1, &t, err), 0);
	assert_null(strstr(t, "/10.0.0.1"));
	assert_false(model_forwards(t, "api-1.example.com"));
	free(t);
	domain_list_free(&allow);
	domain_list_free(&block);
}

static void test_bad_input(void **state)
{
	struct domain_list allow = { 0 };
	struct domain_rule bad = { .name = (char *)"a.com/1.2.3.4", .scheme = DOM_ANY };
	struct domain_list evil = { .v = &bad, .n = 1, .cap = 1 };
	uint32_t up[9] = { 0 };
	struct dnsmasq_conf_opts o = { .listen_addr = "127.0.0.1", .port = 53 };
	char err[ERRLEN], *t;
	size_t len;
	FILE *f;

	(void)state;
	/* a rule dnsmasq would read as a second server */
	assert_int_equal(gen(&evil, NULL, up, 1, &t, err), -EINVAL);
	assert_non_null(strstr(err, "a.com/1.2.3.4"));
	free(t);
	add(&allow, "github.com");
	assert_int_equal(gen(&allow, NULL, up, 9, &t, err), -EINVAL);
	assert_non_null(strstr(err, "upstream"));
	free(t);

	o.allow = &allow;
	o.hosts_file = "/tmp/x\nserver=8.8.8.8";
	f = open_memstream(&t, &len);
	assert_int_equal(dnsmasq_conf_write(f, &o, err, sizeof(err)), -EINVAL);
	fclose(f);
	assert_null(strstr(t, "8.8.8.8"));
	free(t);
	o.hosts_file = NULL;
	o.listen_addr = "localhost";
	f = open_memstream(&t, &len);
	assert_int_equal(dnsmasq_conf_write(f, &o, err, sizeof(err)), -EINVAL);
	fclose(f);
	free(t);
	o.listen_addr = "127.0.0.1";
	o.port = 0;
	f = open_memstream(&t, &len);
	assert_int_equal(dnsmasq_conf_write(f, &o, err, sizeof(err)), -EINVAL);
	fclose(f);
	free(t);
	domain_list_free(&allow);
}

static void test_question_decode(void **state)
{
	static const uint8_t q[] = { 3, 'w', 'w', 'w', 6, 'g', 'i', 't', 'h', 'u', 'b',
				     3, 'c', 'o', 'm', 0, 0, 16, 0, 1 };
	static const uint8_t odd[] = { 4, 'a', '.', 0x01, '\\', 1, 'x', 0, 0, 255 };
	static const uint8_t cut[] = { 5, 'a', 'b' };
	static const uint8_t ptr[] = { 1, 'a', 0xc0, 12 };
	char name[64], tbuf[16];
	uint16_t t;

	(void)state;
	assert_int_equal(dns_question_decode(q, sizeof(q), name, sizeof(name), &t), 0);
	assert_string_equal(name, "www.github.com");
	assert_int_equal(t, 16);
	assert_string_equal(dns_type_name(t, tbuf, sizeof(tbuf)), "TXT");
	assert_int_equal(dns_question_decode(odd, sizeof(odd), name, sizeof(name), &t), 0);
	assert_string_equal(name, "a\\046\\001\\092.x");
	assert_string_equal(dns_type_name(t, tbuf, sizeof(tbuf)), "ANY");
	assert_int_equal(dns_question_decode(cut, sizeof(cut), name, sizeof(name), &t),
			 -EINVAL);
	assert_int_equal(t, 0);
	assert_int_equal(dns_question_decode(ptr, sizeof(ptr), name, sizeof(name), &t),
			 -EINVAL);
	assert_string_equal(name, "a");
	/* cut to fit, always terminated */
	assert_int_equal(dns_question_decode(q, sizeof(q), name, 6, &t), 0);
	assert_string_equal(name, "www.g");
	assert_string_equal(dns_type_name(999, tbuf, sizeof(tbuf)), "TYPE999");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_required_lines),
		cmocka_unit_test(test_no_upstream_refuses),
		cmocka_unit_test(test_matches_domain_check),
		cmocka_unit_test(test_block_covers_allow),
		cmocka_unit_test(test_pattern),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_question_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
