// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The Squid configuration generator (squid_conf.c) fed with fuzzed domain
 * lists, two ways: through the --allow-domains parser (what run does), and
 * as raw rules that skip the parser (the generator's own checks). Every line
 * of every configuration written must have one of the shapes the generator
 * can produce:
 *   - a line of the configuration for the same options and empty lists
 *     (the fixed part: comments, listeners, files, DNS, fixed ACLs);
 *   - "acl NAME TYPE ENTRY..." with NAME one of the twelve domain ACLs,
 *     TYPE its type, 1..8 entries, each a rule's name (".name" for a
 *     domain and its subdomains);
 *   - "http_access" / "ssl_bump" followed by words from a fixed vocabulary
 *     (deny, allow, terminate, splice, CONNECT, all, nf_badnet, nf_loopback,
 *     [!]ACL names).
 * A newline, '#', a quote or a space inside a domain would show up as a line
 * of another shape, or an entry that is not a rule.
 */
#include <errno.h>
#include <stdbool.h>

#include "domains.h"
#include "fuzz_common.h"
#include "squid_conf.h"

#define MAX_LINES 4096

struct lines {
	char *buf;
	char *v[MAX_LINES];
	size_t n;
};

static int write_conf(const struct squid_conf_opts *o, struct lines *out)
{
	size_t len = 0;
	char err[512];
	FILE *f = open_memstream(&out->buf, &len);
	int ret;

	if (!f)
		abort();
	memset(err, 0x55, sizeof(err));
	ret = squid_conf_write(f, o, err, sizeof(err));
	fclose(f);
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL, "ret %d", ret);
		fuzz_check_reason(err, sizeof(err));
		free(out->buf);
		out->buf = NULL;
		return ret;
	}
	FUZZ_CHECK(strlen(out->buf) == len, "NUL byte in the configuration");
	FUZZ_CHECK(len && out->buf[len - 1] == '\n', "last line unterminated");
	out->n = 0;
	for (char *p = out->buf, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		*nl = '\0';
		FUZZ_CHECK(out->n < MAX_LINES, "too many lines");
		out->v[out->n++] = p;
	}
	return 0;
}

static const char *const acl_names[] = {
	"nf_http_allow", "nf_http_allow_x", "nf_http_block", "nf_http_block_x",
	"nf_conn_allow", "nf_conn_allow_x", "nf_conn_block", "nf_conn_block_x",
	"nf_sni_allow",	 "nf_sni_allow_x",  "nf_sni_block",  "nf_sni_block_x",
	"nf_http_allow_re", "nf_http_block_re", "nf_conn_allow_re",
	"nf_conn_block_re", "nf_sni_allow_re", "nf_sni_block_re",
};

static bool is_acl_name(const char *t)
{
	for (size_t i = 0; i < sizeof(acl_names) / sizeof(acl_names[0]); i++)
		if (!strcmp(t, acl_names[i]))
			return true;
	return false;
}

static bool is_rule(const struct domain_list *l, const char *name)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (l->v[i].name && !strcmp(l->v[i].name, name))
			return true;
	return false;
}

/* re is the regex of a pattern rule of one of the lists. */
static bool is_rule_regex(const struct domain_list *l, const char *re)
{
	char want[DOM_REGEX_MAX];

	for (size_t i = 0; l && i < l->n; i++)
		if (l->v[i].pattern &&
		    domain_rule_regex(&l->v[i], want, sizeof(want)) > 0 &&
		    !strcmp(want, re))
			return true;
	return false;
}

static bool in_base(const struct lines *base, const char *line)
{
	for (size_t i = 0; i < base->n; i++)
		if (!strcmp(base->v[i], line))
			return true;
	return false;
}

static void check_line(const struct lines *base, const char *line,
		       const struct domain_list *allow,
		       const struct domain_list *block)
{
	char copy[8192], *save = NULL, *t;
	size_t entries = 0;

	for (const char *p = line; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
			   "byte 0x%02x in line \"%s\"", (unsigned char)*p, line);
	if (in_base(base, line))
		return;
	FUZZ_CHECK(strlen(line) < sizeof(copy), "line too long");
	strcpy(copy, line);
	t = strtok_r(copy, " ", &save);
	FUZZ_CHECK(t, "empty line not in the fixed part");
	if (!strcmp(t, "acl")) {
		const char *name = strtok_r(NULL, " ", &save), *type;

		FUZZ_CHECK(name && is_acl_name(name), "acl line \"%s\"", line);
		type = strtok_r(NULL, " ", &save);
		if (strlen(name) > 3 && !strcmp(name + strlen(name) - 3, "_re")) {
			/* a pattern: one anchored regex of a pattern rule */
			FUZZ_CHECK(type && !strcmp(type, strncmp(name, "nf_sni_", 7) ?
							 "dstdom_regex" : "ssl::server_name_regex"),
				   "type in \"%s\"", line);
			if (strncmp(name, "nf_sni_", 7)) {
				t = strtok_r(NULL, " ", &save);
				FUZZ_CHECK(t && !strcmp(t, "-n"), "flag in \"%s\"", line);
			}
			t = strtok_r(NULL, " ", &save);
			FUZZ_CHECK(t && !strcmp(t, "-i"), "flag in \"%s\"", line);
			t = strtok_r(NULL, " ", &save);
			FUZZ_CHECK(t && (is_rule_regex(allow, t) || is_rule_regex(block, t)),
				   "regex in \"%s\" is no rule's", line);
			FUZZ_CHECK(!strtok_r(NULL, " ", &save), "two regexes in \"%s\"", line);
			return;
		}
		if (!strncmp(name, "nf_sni_", 7)) {
			FUZZ_CHECK(type && !strcmp(type, "ssl::server_name"),
				   "type in \"%s\"", line);
		} else {
			FUZZ_CHECK(type && !strcmp(type, "dstdomain"), "type in \"%s\"", line);
			type = strtok_r(NULL, " ", &save);
			FUZZ_CHECK(type && !strcmp(type, "-n"), "flag in \"%s\"", line);
		}
		while ((t = strtok_r(NULL, " ", &save))) {
			const char *n = t[0] == '.' ? t + 1 : t;

			FUZZ_CHECK(is_rule(allow, n) || is_rule(block, n),
				   "entry \"%s\" is no rule, in \"%s\"", t, line);
			entries++;
		}
		FUZZ_CHECK(entries >= 1 && entries <= 8, "%zu entries in \"%s\"",
			   entries, line);
		return;
	}
	FUZZ_CHECK(!strcmp(t, "http_access") || !strcmp(t, "ssl_bump"),
		   "unexpected line \"%s\"", line);
	while ((t = strtok_r(NULL, " ", &save))) {
		const char *w = t[0] == '!' ? t + 1 : t;

		FUZZ_CHECK(!strcmp(t, "deny") || !strcmp(t, "allow") ||
				   !strcmp(t, "terminate") || !strcmp(t, "splice") ||
				   !strcmp(t, "CONNECT") || !strcmp(t, "all") ||
				   !strcmp(t, "nf_badnet") || !strcmp(t, "nf_loopback") ||
				   is_acl_name(w),
			   "word \"%s\" in \"%s\"", t, line);
	}
}

static void check_conf(const struct squid_conf_opts *o,
		       const struct lines *base)
{
	struct lines conf = { 0 };

	if (write_conf(o, &conf))
		return;
	for (size_t i = 0; i < conf.n; i++)
		check_line(base, conf.v[i], o->allow, o->block);
	free(conf.buf);
}

/* Rules straight from the bytes, as a corrupt caller could pass them. */
static void raw_list(const char *s, struct domain_list *l, unsigned scheme_bits)
{
	char *copy = strdup(s), *save = NULL, *t;

	l->cap = 8;
	l->v = calloc(l->cap, sizeof(*l->v));
	for (t = strtok_r(copy, ",", &save); t && l->n < l->cap;
	     t = strtok_r(NULL, ",", &save)) {
		struct domain_rule *r = &l->v[l->n++];

		r->wildcard = scheme_bits & 4;
		r->scheme = scheme_bits & 3;
		/* right or wrong: the generator must check it */
		r->pattern = (scheme_bits & 8) ? !strchr(t, '*') : !!strchr(t, '*');
		r->name = strdup(t);
		scheme_bits >>= 1;
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct squid_conf_opts o = {
		.run_dir = "/run/netfence-fuzz",
		.listen_addr = "127.0.0.1",
		.http_port = 3129,
		.https_port = 3130,
		.fwd_port = 3128,
		.cert_path = "/run/netfence-fuzz/intercept.pem",
		.hosts_file = "/run/netfence-fuzz/hosts",
		.dns_servers = "10.0.0.1 10.0.0.2",
	};
	struct domain_list allow = { 0 }, block = { 0 };
	struct lines base = { 0 };
	const uint8_t *sep;
	char *a, *b;
	unsigned bits = size ? data[0] : 0;

	if (size)
		data++, size--;
	o.allow_loopback_dst = bits & 1;
	if (write_conf(&o, &base))
		abort();
	sep = memchr(data, 0xff, size);
	a = fuzz_str(data, sep ? (size_t)(sep - data) : size);
	b = sep ? fuzz_str(sep + 1, size - (size_t)(sep - data) - 1) : strdup("");

	/* through the parser, as run does */
	if (!domain_list_add_spec(&allow, a, NULL, 0) &&
	    (!*b || !domain_list_add_spec(&block, b, NULL, 0))) {
		o.allow = &allow;
		o.block = &block;
		check_conf(&o, &base);
	}
	domain_list_free(&allow);
	domain_list_free(&block);

	/* raw rules: the generator must refuse or stay in shape */
	raw_list(a, &allow, bits >> 1);
	raw_list(b, &block, bits >> 3);
	o.allow = &allow;
	o.block = &block;
	check_conf(&o, &base);
	domain_list_free(&allow);
	domain_list_free(&block);

	free(base.buf);
	free(a);
	free(b);
	return 0;
}
