// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The generated squid.conf: required directives, paths, injection, and a
 * small model of Squid's http_access / ssl_bump evaluation that checks the
 * configuration gives domain_check()'s verdict on every path.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <regex.h>

#include "domains.h"
#include "squid.h"
#include "squid_conf.h"

#define ERRLEN 256
#define RUN "/run/netfence/t1"
#define CERT "/run/netfence/t1/intercept.pem"

static void add(struct domain_list *l, const char *spec)
{
	char err[ERRLEN];

	if (domain_list_add_spec(l, spec, err, sizeof(err)))
		fail_msg("%s: %s", spec, err);
}

static void base_opts(struct squid_conf_opts *o, struct domain_list *allow,
		      struct domain_list *block)
{
	*o = (struct squid_conf_opts){
		.run_dir = RUN,
		.listen_addr = "127.0.0.1",
		.http_port = 3129,
		.https_port = 3130,
		.fwd_port = 3128,
		.cert_path = CERT,
		.allow = allow,
		.block = block,
	};
}

/* Writes the config into a string (caller frees) and returns the rc. */
static int gen(const struct squid_conf_opts *o, char **text, char *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	err[0] = '\0';
	rc = squid_conf_write(f, o, err, ERRLEN);
	assert_int_equal(fclose(f), 0);
	*text = buf;
	return rc;
}

static char *gen_ok(const struct squid_conf_opts *o)
{
	char err[ERRLEN], *text;

	if (gen(o, &text, err))
		fail_msg("squid_conf_write: %s", err);
	return text;
}

/* Index of the line equal to want (0-based), or -1. */
static int line_index(const char *text, const char *want)
{
	size_t n = strlen(want);
	const char *p = text;
	int i = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len == n && !memcmp(p, want, n))
			return i;
		if (!nl)
			break;
		p = nl + 1;
		i++;
	}
	return -1;
}

/* Index of the last line that starts with prefix, or -1. */
static int last_with_prefix(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *p = text;
	int i = 0, last = -1;

	while (*p) {
		const char *nl = strchr(p, '\n');

		if (!strncmp(p, prefix, n))
			last = i;
		if (!nl)
			break;
		p = nl + 1;
		i++;
	}
	return last;
}

static void assert_line(const char *text, const char *want)
{
	if (line_index(text, want) < 0)
		fail_msg("no line \"%s\" in:\n%s", want, text);
}

static void assert_no_line(const char *text, const char *want)
{
	if (line_index(text, want) >= 0)
		fail_msg("unexpected line \"%s\"", want);
}

static void test_required_directives(void **state)
{
	struct domain_list allow = { 0 }, block = { 0 };
	struct squid_conf_opts o;
	char *t;

	(void)state;
	add(&allow, "example.com");
	base_opts(&o, &allow, &block);
	t = gen_ok(&o);
	assert_line(t, "http_port 127.0.0.1:3128 name=nf_fwd");
	assert_line(t, "http_port 127.0.0.1:3129 intercept name=nf_http");
	assert_line(
		t, "https_port 127.0.0.1:3130 intercept ssl-bump tls-cert=" CERT
		   " generate-host-certificates=off name=nf_tls");
	assert_line(t, "ssl_bump peek nf_step1");
	assert_line(t, "ssl_bump splice nf_sni_allow");
	assert_line(t, "acl nf_sni_allow ssl::server_name .example.com");
	assert_line(t, "acl nf_http_allow dstdomain -n .example.com");
	assert_line(t, "acl nf_conn_allow dstdomain -n .example.com");
	assert_line(t, "acl nf_step1 at_step SslBump1");
	assert_line(t, "http_access allow nf_tls");
	assert_line(t, "http_access deny CONNECT !nf_tls_ports");
	assert_line(t, "acl nf_tls_ports port 443");
	assert_line(t, "acl nf_http_ports port 80");
	assert_line(t, "shutdown_lifetime 0 seconds");
	assert_line(t, "cache deny all");
	assert_line(t, "hosts_file " SQUID_DEFAULT_HOSTS);
	assert_line(t, "cache_effective_user proxy");
	assert_line(t, "host_verify_strict on");
	assert_line(t, "pinger_enable off");
	assert_line(t, "netdb_filename none");
	assert_line(t, "http_access deny manager");
	assert_line(t, "http_access deny nf_loopback");
	assert_line(t, "logformat netfence " SQUID_LOGFORMAT);
	assert_line(t, "access_log stdio:" RUN "/" SQUID_ACCESS_LOG
		       " logformat=netfence");
	assert_line(t, "pid_filename " RUN "/" SQUID_PID_FILE);
	assert_line(t, "cache_log " RUN "/" SQUID_CACHE_LOG);
	assert_line(t, "coredump_dir " RUN);
	assert_no_line(t, "via off"); /* Via is Squid's loop detection */
	assert_null(strstr(t, "dns_nameservers"));
	/* the log shows the original destination, SNI and bump decision */
	assert_non_null(strstr(SQUID_LOGFORMAT, "%>la:%>lp"));
	assert_non_null(strstr(SQUID_LOGFORMAT, "%ssl::>sni"));
	assert_non_null(strstr(SQUID_LOGFORMAT, "%ssl::bump_mode"));
	/* ssl_bump: peek is the first rule, terminate all the last */
	assert_true(line_index(t, "ssl_bump peek nf_step1") <
		    line_index(t, "ssl_bump splice nf_sni_allow"));
	assert_true(line_index(t, "ssl_bump splice nf_sni_allow") <
		    line_index(t, "ssl_bump terminate all"));
	assert_int_equal(last_with_prefix(t, "ssl_bump "),
			 line_index(t, "ssl_bump terminate all"));
	/* http_access ends with deny all */
	assert_int_equal(last_with_prefix(t, "http_access "),
			 line_index(t, "http_access deny all"));
	free(t);

	/* options: dns, hosts, user, ports, loopback */
	static const uint16_t hp[] = { 80, 8080 }, tp[] = { 443, 8443 };
	o.dns_servers = "192.0.2.53 198.51.100.53";
	o.hosts_file = "/etc/netfence/hosts";
	o.user = "squid_user";
	o.http_ports = hp;
	o.n_http_ports = 2;
	o.tls_ports = tp;
	o.n_tls_ports = 2;
	o.allow_loopback_dst = true;
	t = gen_ok(&o);
	assert_line(t, "dns_nameservers 192.0.2.53 198.51.100.53");
	assert_line(t, "hosts_file /etc/netfence/hosts");
	assert_line(t, "cache_effective_user squid_user");
	assert_line(t, "acl nf_http_ports port 80 8080");
	assert_line(t, "acl nf_tls_ports port 443 8443");
	assert_no_line(t, "http_access deny nf_loopback");
	assert_no_line(t, "http_access deny nf_tls nf_loopback");
	assert_no_line(t, "http_access deny CONNECT nf_loopback");
	free(t);
	domain_list_free(&allow);
}

/* Every absolute path in a directive is under run_dir, or is an input. */
static void check_paths(const char *text, const char *run_dir)
{
	static const char *const inputs[] = { CERT, "/etc/hosts", NULL };
	char *copy = strdup(text), *line, *save = NULL;
	size_t rl = strlen(run_dir);
	int seen = 0;

	assert_non_null(copy);
	while (rl > 1 && run_dir[rl - 1] == '/')
		rl--;
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *tok, *s2 = NULL;

		if (line[0] == '#')
			continue;
		for (tok = strtok_r(line, " ", &s2); tok;
		     tok = strtok_r(NULL, " ", &s2)) {
			const char *p = NULL;
			size_t i;

			if (tok[0] == '/')
				p = tok;
			else if (!strncmp(tok, "stdio:", 6))
				p = tok + 6;
			else if (!strncmp(tok, "tls-cert=", 9))
				p = tok + 9;
			if (!p)
				continue;
			for (i = 0; inputs[i]; i++)
				if (!strcmp(p, inputs[i]))
					break;
			if (inputs[i])
				continue;
			if (strncmp(p, run_dir, rl) || (p[rl] && p[rl] != '/'))
				fail_msg("path %s not under %s", p, run_dir);
			if (strstr(p, "//"))
				fail_msg("path %s has //", p);
			seen++;
		}
	}
	free(copy);
	assert_int_equal(seen, 4); /* pid, cache_log, coredump, access_log */
}

static void expect_refused(const struct squid_conf_opts *o, const char *what);

static void test_paths_under_run_dir(void **state)
{
	struct domain_list allow = { 0 };
	struct squid_conf_opts o;
	char *t;

	(void)state;
	add(&allow, "example.com");
	base_opts(&o, &allow, NULL);
	t = gen_ok(&o);
	check_paths(t, RUN);
	free(t);

	o.run_dir = RUN "//";
	t = gen_ok(&o);
	check_paths(t, RUN);
	assert_line(t, "pid_filename " RUN "/squid.pid");
	assert_line(t, "coredump_dir " RUN);
	free(t);

	o.run_dir = "/";
	expect_refused(&o, "run_dir /");
	o.run_dir = "//";
	expect_refused(&o, "run_dir //");
	domain_list_free(&allow);
}

/* ---- nothing a caller passes can add a line ---- */

static const char *const evil[] = {
	"/a\nhttp_access allow all",
	"/a\rb",
	"/a#b",
	"/a\"b",
	"/a'b",
	"/a`b",
	"/a b",
	"/a\tb",
	"/a\\b",
	"/a${service_name}",
	"/a\x01",
	"/a\x7f",
	"/a\xc3\xa9",
	"127.0.0.1\nhttp_access allow all",
	"127.0.0.1 #",
};

enum field { F_RUN, F_CERT, F_HOSTS, F_LISTEN, F_DNS, F_USER, F_MAX };

static const char *const field_name[] = {
	"run_dir",     "cert_path",   "hosts_file",
	"listen_addr", "dns_servers", "user",
};

static void expect_refused(const struct squid_conf_opts *o, const char *what)
{
	char err[ERRLEN], *text;
	int rc = gen(o, &text, err);

	if (rc != -EINVAL)
		fail_msg("%s accepted (rc %d):\n%s", what, rc, text);
	/* nothing at all was written */
	assert_true(!text || !text[0]);
	assert_true(err[0] != '\0');
	for (const char *p = err; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	free(text);
}

static void test_injection(void **state)
{
	struct domain_list allow = { 0 };
	struct squid_conf_opts o;
	size_t i;
	int f;

	(void)state;
	add(&allow, "example.com");
	for (f = 0; f < F_MAX; f++) {
		for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
			char err[ERRLEN], *text;

			base_opts(&o, &allow, NULL);
			switch (f) {
			case F_RUN:
				o.run_dir = evil[i];
				break;
			case F_CERT:
				o.cert_path = evil[i];
				break;
			case F_HOSTS:
				o.hosts_file = evil[i];
				break;
			case F_LISTEN:
				o.listen_addr = evil[i];
				break;
			case F_DNS:
				o.dns_servers = evil[i];
				break;
			case F_USER:
				o.user = evil[i];
				break;
			}
			expect_refused(&o, field_name[f]);
			gen(&o, &text, err);
			if (!strstr(err, field_name[f]))
				fail_msg("reason \"%s\" does not name %s", err,
					 field_name[f]);
			free(text);
		}
	}
	domain_list_free(&allow);
}

/* Rules built by hand, around the parser, are checked again. */
static void test_injection_rules(void **state)
{
	static const char *const names[] = {
		"a.com\nhttp_access allow all",
		"a.com #",
		"a.com all",
		"-i.com",
		"A.com",
		"a..com",
		"all",
		"",
	};
	struct domain_rule r;
	struct domain_list l = { .v = &r, .n = 1, .cap = 1 };
	struct squid_conf_opts o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		r = (struct domain_rule){ (char *)names[i], DOM_ANY, false,
					  false, false };
		base_opts(&o, &l, NULL);
		expect_refused(&o, "allow rule");
		base_opts(&o, NULL, &l);
		expect_refused(&o, "block rule");
	}
	r = (struct domain_rule){ NULL, DOM_ANY, false, false, false };
	base_opts(&o, &l, NULL);
	expect_refused(&o, "NULL name");
	r = (struct domain_rule){ (char *)"a.com", 0, false, false, false };
	expect_refused(&o, "no scheme");
	l = (struct domain_list){ .v = NULL, .n = 1 };
	expect_refused(&o, "NULL vector");
}

static void test_bad_options(void **state)
{
	static const uint16_t zero[] = { 80, 0 };
	uint16_t many[SQUID_MAX_PORTS + 1];
	struct squid_conf_opts o;
	char err[ERRLEN], *text;
	size_t i;

	(void)state;
	for (i = 0; i < SQUID_MAX_PORTS + 1; i++)
		many[i] = (uint16_t)(1000 + i);

	assert_int_equal(squid_conf_write(stdout, NULL, err, sizeof(err)),
			 -EINVAL);
	base_opts(&o, NULL, NULL);
	assert_int_equal(squid_conf_write(NULL, &o, err, sizeof(err)), -EINVAL);
	assert_int_equal(squid_conf_validate(&o, err, sizeof(err)), 0);
	/* no allowlist at all is valid: everything is denied */
	text = gen_ok(&o);
	assert_line(text, "http_access deny CONNECT all");
	assert_line(text, "http_access deny all");
	assert_null(strstr(text, "ssl_bump splice"));
	free(text);

#define BAD(field, value, word)                                            \
	do {                                                               \
		base_opts(&o, NULL, NULL);                                 \
		o.field = value;                                           \
		expect_refused(&o, #field);                                \
		gen(&o, &text, err);                                       \
		if (!strstr(err, word))                                    \
			fail_msg("%s: reason \"%s\" lacks \"%s\"", #field, \
				 err, word);                               \
		free(text);                                                \
	} while (0)

	BAD(run_dir, NULL, "run_dir: missing");
	BAD(run_dir, "", "run_dir: missing");
	BAD(run_dir, "run/nf", "absolute");
	BAD(cert_path, NULL, "cert_path: missing");
	BAD(cert_path, "intercept.pem", "absolute");
	BAD(hosts_file, "hosts", "absolute");
	BAD(listen_addr, NULL, "listen_addr");
	BAD(listen_addr, "localhost", "dotted-quad");
	BAD(listen_addr, "127.1", "dotted-quad");
	BAD(listen_addr, "::1", "dotted-quad");
	BAD(listen_addr, "127.0.0.1:3128", "dotted-quad");
	BAD(http_port, 0, "must all be set");
	BAD(https_port, 0, "must all be set");
	BAD(fwd_port, 0, "must all be set");
	BAD(https_port, 3129, "must differ");
	BAD(fwd_port, 3130, "must differ");
	BAD(dns_servers, "192.0.2.1  192.0.2.2", "single spaces");
	BAD(dns_servers, " 192.0.2.1", "single spaces");
	BAD(dns_servers, "192.0.2.1 ", "single spaces");
	BAD(dns_servers, "192.0.2.1,192.0.2.2", "dotted-quad");
	BAD(dns_servers, "dns.example", "dotted-quad");
	BAD(dns_servers,
	    "1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 1.1.1.7 1.1.1.8 1.1.1.9",
	    "more than 8");
	BAD(user, "", "user");
	BAD(user, "Root", "user");
	BAD(user, "9lives", "user");
	BAD(user, "a.b", "user");
	BAD(user, "abcdefghijklmnopqrstuvwxyz0123456", "user");
	BAD(n_http_ports, 1, "http_ports: missing");
	BAD(n_tls_ports, 1, "tls_ports: missing");
#undef BAD

	base_opts(&o, NULL, NULL);
	o.http_ports = zero;
	o.n_http_ports = 2;
	expect_refused(&o, "port 0");
	base_opts(&o, NULL, NULL);
	o.tls_ports = many;
	o.n_tls_ports = SQUID_MAX_PORTS + 1;
	expect_refused(&o, "too many ports");
	/* the empty dns string means "not set" */
	base_opts(&o, NULL, NULL);
	o.dns_servers = "";
	text = gen_ok(&o);
	assert_null(strstr(text, "dns_nameservers"));
	free(text);
}

/* Squid refuses overlapping entries: the lists are reduced first. */
static void test_acl_reduction(void **state)
{
	struct domain_list allow = { 0 }, block = { 0 };
	struct squid_conf_opts o;
	char *t;

	(void)state;
	add(&allow, "a.com,*.a.com,b.a.com,*.b.a.com,*.w.org,x.w.org,"
		    "*.y.io,y.io,*.z.net,*.q.z.net,192.0.2.1,"
		    "http://h.net,https://t.net,https://*.s.net");
	add(&block, "*.ads.a.com,http://up.t.net,198.51.100.1");
	base_opts(&o, &allow, &block);
	t = gen_ok(&o);
	assert_line(t, "acl nf_http_allow dstdomain -n .a.com .h.net .w.org "
		       ".y.io .z.net 192.0.2.1");
	assert_line(t, "acl nf_http_allow_x dstdomain -n w.org z.net");
	assert_line(t, "acl nf_conn_allow dstdomain -n .a.com .s.net .t.net "
		       ".w.org .y.io .z.net 192.0.2.1");
	assert_line(t, "acl nf_conn_allow_x dstdomain -n s.net w.org z.net");
	assert_line(t, "acl nf_sni_allow ssl::server_name .a.com .s.net "
		       ".t.net .w.org .y.io .z.net 192.0.2.1");
	assert_line(t, "acl nf_sni_allow_x ssl::server_name s.net w.org z.net");
	assert_line(t, "acl nf_http_block dstdomain -n .ads.a.com .up.t.net "
		       "198.51.100.1");
	assert_line(t, "acl nf_http_block_x dstdomain -n ads.a.com");
	assert_line(t,
		    "acl nf_conn_block dstdomain -n .ads.a.com 198.51.100.1");
	assert_line(t, "acl nf_conn_block_x dstdomain -n ads.a.com");
	assert_line(t, "http_access deny nf_http_block !nf_http_block_x");
	assert_line(t,
		    "http_access deny CONNECT nf_conn_block !nf_conn_block_x");
	assert_line(t, "ssl_bump terminate nf_sni_block !nf_sni_block_x");
	assert_line(t, "http_access deny nf_http_allow_x");
	assert_line(t, "http_access deny !nf_http_allow");
	assert_line(t, "http_access allow nf_http_allow");
	/* blocked before allowed */
	assert_true(
		line_index(t,
			   "http_access deny nf_http_block !nf_http_block_x") <
		line_index(t, "http_access allow nf_http_allow"));
	assert_true(
		line_index(t,
			   "ssl_bump terminate nf_sni_block !nf_sni_block_x") <
		line_index(t, "ssl_bump splice nf_sni_allow"));
	free(t);
	domain_list_free(&allow);
	domain_list_free(&block);
}

/* ---- a model of Squid's evaluation of the generated rules ---- */

#define MAX_ACLS 64
#define MAX_ENTRIES 512
#define MAX_RULES 96

struct acl {
	char name[32];
	char type[32];
	char *entries[MAX_ENTRIES];
	int n;
};

struct rule {
	bool allow; /* http_access allow / ssl_bump splice or peek */
	bool peek;
	char *acls[8];
	bool neg[8];
	int n;
};

struct model {
	char *text; /* tokens point into it */
	struct acl acls[MAX_ACLS];
	int nacls;
	struct rule http[MAX_RULES], bump[MAX_RULES];
	int nhttp, nbump;
};

static struct acl *find_acl(struct model *m, const char *name)
{
	int i;

	for (i = 0; i < m->nacls; i++)
		if (!strcmp(m->acls[i].name, name))
			return &m->acls[i];
	return NULL;
}

static void parse_rule(struct rule *r, char **save)
{
	char *tok;

	while ((tok = strtok_r(NULL, " ", save))) {
		assert_true(r->n < 8);
		r->neg[r->n] = tok[0] == '!';
		r->acls[r->n++] = tok + (tok[0] == '!');
	}
}

static bool domain_entry_match(const char *e, const char *host);

/*
 * Squid refuses (ssl::server_name) or warns about (dstdomain) an entry
 * that another entry of the same ACL covers.
 */
static void check_no_overlap(const struct acl *a)
{
	int i, j;

	if (strcmp(a->type, "dstdomain") && strcmp(a->type, "ssl::server_name"))
		return;
	for (i = 0; i < a->n; i++) {
		const char *ni = a->entries[i] + (a->entries[i][0] == '.');

		for (j = 0; j < a->n; j++) {
			if (i != j && domain_entry_match(a->entries[j], ni))
				fail_msg("ACL %s: %s overlaps %s", a->name,
					 a->entries[i], a->entries[j]);
		}
	}
}

static void model_load(struct model *m, const char *conf)
{
	char *line, *save = NULL;

	memset(m, 0, sizeof(*m));
	m->text = strdup(conf);
	assert_non_null(m->text);
	for (line = strtok_r(m->text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *s2 = NULL, *tok = strtok_r(line, " ", &s2);

		if (!tok || tok[0] == '#')
			continue;
		if (!strcmp(tok, "acl")) {
			char *name = strtok_r(NULL, " ", &s2);
			char *type = strtok_r(NULL, " ", &s2);
			struct acl *a = find_acl(m, name);

			if (!a) {
				assert_true(m->nacls < MAX_ACLS);
				a = &m->acls[m->nacls++];
				snprintf(a->name, sizeof(a->name), "%s", name);
				snprintf(a->type, sizeof(a->type), "%s", type);
			}
			assert_string_equal(a->type, type);
			while ((tok = strtok_r(NULL, " ", &s2))) {
				if (!strcmp(tok, "-n") || !strcmp(tok, "-i"))
					continue;
				assert_true(a->n < MAX_ENTRIES);
				a->entries[a->n++] = tok;
			}
		} else if (!strcmp(tok, "http_access")) {
			struct rule *r = &m->http[m->nhttp++];

			tok = strtok_r(NULL, " ", &s2);
			r->allow = !strcmp(tok, "allow");
			parse_rule(r, &s2);
		} else if (!strcmp(tok, "ssl_bump")) {
			struct rule *r = &m->bump[m->nbump++];

			tok = strtok_r(NULL, " ", &s2);
			r->peek = !strcmp(tok, "peek");
			r->allow = !strcmp(tok, "splice") || r->peek;
			parse_rule(r, &s2);
		}
	}
	for (int i = 0; i < m->nacls; i++)
		check_no_overlap(&m->acls[i]);
}

/* A request as Squid sees it. */
struct req {
	const char *port; /* myportname: nf_fwd, nf_http, nf_tls */
	bool connect;
	bool http_url; /* proto HTTP */
	const char *host; /* URL host or CONNECT target, normalised */
	const char *sni; /* ssl::server_name */
	unsigned dport;
	bool step1;
	bool loopback; /* the destination resolves to 127/8 */
};

/* dstdomain: ".x" matches x and its subdomains, "x" only x. */
static bool domain_entry_match(const char *e, const char *host)
{
	size_t el, hl = strlen(host);

	if (e[0] != '.')
		return !strcmp(e, host);
	e++;
	el = strlen(e);
	if (hl == el)
		return !strcmp(e, host);
	return hl > el && host[hl - el - 1] == '.' &&
	       !strcmp(host + hl - el, e);
}

static bool acl_match(struct model *m, const char *name, const struct req *q)
{
	struct acl *a;
	int i;

	if (!strcmp(name, "all"))
		return true;
	if (!strcmp(name, "manager"))
		return false;
	if (!strcmp(name, "CONNECT"))
		return q->connect;
	a = find_acl(m, name);
	if (!a)
		fail_msg("ACL %s used, not defined", name);
	if (!strcmp(a->type, "myportname"))
		return !strcmp(a->entries[0], q->port);
	if (!strcmp(a->type, "at_step"))
		return q->step1;
	if (!strcmp(a->type, "proto"))
		return q->http_url;
	if (!strcmp(a->type, "dst"))
		return !strcmp(a->name, "nf_loopback") && q->loopback;
	if (!strcmp(a->type, "port")) {
		for (i = 0; i < a->n; i++)
			if ((unsigned)atoi(a->entries[i]) == q->dport)
				return true;
		return false;
	}
	if (!strcmp(a->type, "dstdomain") ||
	    !strcmp(a->type, "ssl::server_name")) {
		const char *h = strcmp(a->type, "dstdomain") ? q->sni : q->host;

		for (i = 0; i < a->n; i++)
			if (domain_entry_match(a->entries[i], h))
				return true;
		return false;
	}
	if (!strcmp(a->type, "dstdom_regex") ||
	    !strcmp(a->type, "ssl::server_name_regex")) {
		const char *h = strcmp(a->type, "dstdom_regex") ? q->sni : q->host;
		bool hit = false;

		for (i = 0; i < a->n && !hit; i++) {
			regex_t rx;

			/* as Squid is told: -i */
			assert_int_equal(regcomp(&rx, a->entries[i],
						 REG_EXTENDED | REG_ICASE | REG_NOSUB), 0);
			hit = !regexec(&rx, h, 0, NULL, 0);
			regfree(&rx);
		}
		return hit;
	}
	fail_msg("ACL type %s not modelled", a->type);
	return false;
}

/* First rule whose ACLs all match; Squid's default never applies here. */
static const struct rule *eval(struct model *m, struct rule *rules, int n,
			       const struct req *q)
{
	int i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < rules[i].n; k++)
			if (acl_match(m, rules[i].acls[k], q) ==
			    rules[i].neg[k])
				break;
		if (k == rules[i].n)
			return &rules[i];
	}
	fail_msg("no rule matched %s %s", q->port, q->host);
	return NULL;
}

static bool http_allowed(struct model *m, const struct req *q)
{
	return eval(m, m->http, m->nhttp, q)->allow;
}

/*
 * Intercepted TLS as measured: the internal CONNECT to the original
 * address passes http_access, ssl_bump peeks at step 1, decides at step 2
 * by SNI, and a spliced connection's CONNECT to the SNI name passes
 * http_access again.
 */
static bool tls_spliced(struct model *m, const char *sni, bool loopback)
{
	struct req q = { .port = "nf_tls",
			 .connect = true,
			 .host = "192.0.2.200",
			 .sni = sni,
			 .dport = 443,
			 .step1 = true,
			 .loopback = loopback };
	const struct rule *r;

	if (!http_allowed(m, &q))
		return false;
	r = eval(m, m->bump, m->nbump, &q);
	assert_true(r->peek);
	q.step1 = false;
	r = eval(m, m->bump, m->nbump, &q);
	assert_false(r->peek);
	if (!r->allow)
		return false;
	q.host = sni;
	return http_allowed(m, &q);
}

static void model_free(struct model *m)
{
	free(m->text);
}

/* Compares the model with domain_check() for host on every path. */
static void compare(struct model *m, const struct domain_list *allow,
		    const struct domain_list *block, const char *host,
		    const char *what)
{
	bool want_http = domain_check(allow, block, host, DOM_HTTP) ==
			 DOM_ALLOW;
	bool want_tls = domain_check(allow, block, host, DOM_HTTPS) ==
			DOM_ALLOW;
	struct req q;

	/*
	 * A '*' in a host (a pattern's own text) or an empty label is no
	 * name: Squid (check_hostnames off) need not agree with
	 * domain_check() there.
	 */
	if (domain_check(NULL, NULL, host, DOM_HTTP) == DOM_DENY_INVALID)
		return;
	/* intercepted plain HTTP: Host header */
	q = (struct req){
		.port = "nf_http", .http_url = true, .host = host, .dport = 80
	};
	if (http_allowed(m, &q) != want_http)
		fail_msg("%s: intercepted http://%s: model %d, want %d", what,
			 host, !want_http, want_http);
	q.loopback = true;
	assert_false(http_allowed(m, &q));
	/* forward proxy, plain HTTP, port 80 and another port */
	q = (struct req){
		.port = "nf_fwd", .http_url = true, .host = host, .dport = 80
	};
	if (http_allowed(m, &q) != want_http)
		fail_msg("%s: forward http://%s", what, host);
	q.dport = 8080;
	assert_false(http_allowed(m, &q));
	/* forward proxy, a non-HTTP URL (ftp://, https:// in GET) */
	q = (struct req){ .port = "nf_fwd", .host = host, .dport = 80 };
	assert_false(http_allowed(m, &q));
	/* forward proxy CONNECT, to 443 and to another port */
	q = (struct req){
		.port = "nf_fwd", .connect = true, .host = host, .dport = 443
	};
	if (http_allowed(m, &q) != want_tls)
		fail_msg("%s: CONNECT %s:443", what, host);
	q.dport = 22;
	assert_false(http_allowed(m, &q));
	q.dport = 443;
	q.loopback = true;
	assert_false(http_allowed(m, &q));
	/* CONNECT sent to the intercept HTTP port */
	q = (struct req){
		.port = "nf_http", .connect = true, .host = host, .dport = 443
	};
	assert_false(http_allowed(m, &q));
	/* intercepted TLS, by SNI */
	if (tls_spliced(m, host, false) != want_tls)
		fail_msg("%s: intercepted TLS, SNI %s", what, host);
	assert_false(tls_spliced(m, host, true));
	/* a plain request arriving on the TLS port (after a bad splice) */
	q = (struct req){
		.port = "nf_tls", .http_url = true, .host = host, .dport = 443
	};
	assert_false(http_allowed(m, &q));
}

static void model_check(const char *allow_spec, const char *block_spec)
{
	static const char *const prefixes[] = { "",	"x.",  "a.b.",
						"ads.", "up.", "q." };
	struct domain_list allow = { 0 }, block = { 0 };
	struct squid_conf_opts o;
	struct model m;
	char *t, host[300];
	size_t i, j, p;

	if (allow_spec)
		add(&allow, allow_spec);
	if (block_spec)
		add(&block, block_spec);
	base_opts(&o, &allow, &block);
	t = gen_ok(&o);
	model_load(&m, t);
	for (j = 0; j < 2; j++) {
		const struct domain_list *l = j ? &block : &allow;

		for (i = 0; i < l->n; i++) {
			const char *n = l->v[i].name;
			const char *dot = strchr(n, '.');

			for (p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]);
			     p++) {
				snprintf(host, sizeof(host), "%s%s",
					 prefixes[p], n);
				compare(&m, &allow, &block, host, allow_spec);
			}
			snprintf(host, sizeof(host), "x%s", n);
			compare(&m, &allow, &block, host, allow_spec);
			/* a pattern: its '*' as a few runs, a dot included */
			for (p = 0; strchr(n, '*') && p < 5; p++) {
				static const char *const runs[] = { "", "v1", "a-b",
								    "x.y", "Q" };
				size_t o = 0;

				for (const char *c = n; *c && o < sizeof(host) - 8; c++) {
					if (*c != '*') {
						host[o++] = *c;
						continue;
					}
					memcpy(host + o, runs[p], strlen(runs[p]));
					o += strlen(runs[p]);
				}
				host[o] = '\0';
				compare(&m, &allow, &block, host, allow_spec);
				snprintf(host + o, sizeof(host) - o, ".evil.example");
				compare(&m, &allow, &block, host, allow_spec);
			}
			if (dot)
				compare(&m, &allow, &block, dot + 1,
					allow_spec);
		}
	}
	compare(&m, &allow, &block, "unrelated.example", "unrelated");
	compare(&m, &allow, &block, "192.0.2.99", "unlisted ip");
	model_free(&m);
	free(t);
	domain_list_free(&allow);
	domain_list_free(&block);
}

static void test_model_fixed(void **state)
{
	(void)state;
	model_check("example.com", NULL);
	model_check("*.example.com", NULL);
	model_check("*.example.com,example.com", NULL);
	model_check("http://example.com,https://*.example.com", NULL);
	model_check("a.com,*.a.com,b.a.com,*.b.a.com,*.w.org,x.w.org,"
		    "*.y.io,y.io,*.z.net,*.q.z.net,192.0.2.1,"
		    "http://h.net,https://t.net,https://*.s.net",
		    "*.ads.a.com,http://up.t.net,198.51.100.1,https://h.net");
	model_check("a.com", "a.com");
	model_check("*.a.com", "*.x.a.com,b.a.com");
	model_check("192.0.2.1,http://192.0.2.2,https://192.0.2.3",
		    "192.0.2.3");
	model_check(NULL, "a.com");
	model_check(NULL, NULL);
	/* patterns: '*' inside a label */
	model_check("api-*.example.com", NULL);
	model_check("https://api-*.example.com,http://*-cdn.example.com", NULL);
	model_check("example.com,api-*.example.com", "api-t*.example.com");
	/* a pattern that takes the apex back from "*.example.com" */
	model_check("*.example.co.uk,exam*le.co.uk", NULL);
	model_check("*.example.co.uk", "exam*le.co.uk");
	model_check("*.api-*.example.com,*-cdn.example.com,a*b*c.example.com",
		    "*.x-cdn.example.com,ab*.example.com");
	model_check("a.com", "*.b*.a.com");
}

/* Random rule sets over a small family of related names. */
static void test_model_random(void **state)
{
	static const char *const names[] = {
		"a.com",     "b.a.com", "c.b.a.com", "x.org",	  "y.x.org",
		"z.y.x.org", "q.net",	"192.0.2.1", "192.0.2.2",
		"b*.a.com", "*-y.x.org", "z.*.x.org",
	};
	static const char *const schemes[] = { "", "http://", "https://" };
	unsigned seed = 12345;
	int round;

	(void)state;
	for (round = 0; round < 300; round++) {
		char allow[512] = "", block[512] = "";
		int k, n;

		for (k = 0; k < 2; k++) {
			char *buf = k ? block : allow;

			n = (int)(rand_r(&seed) % 5) + (k ? 0 : 1);
			while (n--) {
				size_t ni = rand_r(&seed) %
					    (sizeof(names) / sizeof(names[0]));
				bool ip = names[ni][0] == '1';
				bool wild = !ip && rand_r(&seed) % 2;

				snprintf(buf + strlen(buf), 512 - strlen(buf),
					 "%s%s%s%s", buf[0] ? "," : "",
					 schemes[rand_r(&seed) % 3],
					 wild ? "*." : "", names[ni]);
			}
		}
		model_check(allow, block[0] ? block : NULL);
	}
}

/* ---- the certificate ---- */

static bool have_openssl(void)
{
	return !access("/usr/bin/openssl", X_OK) ||
	       !access("/usr/local/bin/openssl", X_OK);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = calloc(1, 8192);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, 8191, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_cert_generate(void **state)
{
	char dir[] = "/tmp/nf-test-cert.XXXXXX", path[512], want[600];
	char err[ERRLEN];
	struct stat st;
	char *pem;
	int round;

	(void)state;
	if (!have_openssl())
		skip();
	assert_non_null(mkdtemp(dir));
	for (round = 0; round < 2; round++) {
		/* the second round replaces the first certificate */
		if (cert_generate(dir, path, sizeof(path), err, sizeof(err)))
			fail_msg("cert_generate: %s", err);
		snprintf(want, sizeof(want), "%s/" SQUID_CERT_FILE, dir);
		assert_string_equal(path, want);
		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0600);
		pem = slurp(path);
		assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
		assert_non_null(strstr(pem, "PRIVATE KEY-----"));
		free(pem);
		/* no temporary file is left behind */
		assert_int_equal(count_entries(dir), 1);
	}
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_cert_errors(void **state)
{
	char dir[] = "/tmp/nf-test-cert.XXXXXX", path[512], err[ERRLEN];
	char small[8];

	(void)state;
	assert_int_equal(cert_generate(NULL, path, sizeof(path), err,
				       sizeof(err)),
			 -EINVAL);
	assert_int_equal(cert_generate("/tmp/a#b", path, sizeof(path), err,
				       sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "'#'"));
	assert_int_equal(cert_generate("/tmp/a\nb", path, sizeof(path), err,
				       sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "newline"));
	assert_int_equal(cert_generate("/tmp", small, sizeof(small), err,
				       sizeof(err)),
			 -ENAMETOOLONG);
	assert_int_equal(cert_generate("/nonexistent/netfence/dir", path,
				       sizeof(path), err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/netfence/dir"));
	/* nothing is left in a directory after a failure */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(cert_generate(dir, small, sizeof(small), err,
				       sizeof(err)),
			 -ENAMETOOLONG);
	assert_int_equal(count_entries(dir), 0);
	assert_int_equal(rmdir(dir), 0);
}

/*
 * Squid's service name: "nf<pid>r" and 16 hex digits, letters and digits
 * only (Squid refuses others), different each time (another user cannot
 * pre-create its /dev/shm segment names), and the prefix `cleanup` matches.
 */
static void test_squid_name(void **state)
{
	char a[48], b[48];

	(void)state;
	assert_int_equal(squid_name(a, sizeof(a), 4242), 0);
	assert_int_equal(squid_name(b, sizeof(b), 4242), 0);
	assert_int_equal(strlen(a), strlen("nf4242r") + 16);
	assert_int_equal(strncmp(a, "nf4242r", 7), 0);
	for (const char *p = a + 7; *p; p++)
		assert_non_null(strchr("0123456789abcdef", *p));
	assert_string_not_equal(a, b);
}

/* --ssl-bump and --allow-urls: the lines that carry the meaning, in order. */
static void test_bump_and_urls(void **state)
{
	struct domain_list allow = { 0 }, block = { 0 };
	struct url_list urls = { 0 };
	struct squid_conf_opts o;
	char err[ERRLEN], *t;
	int i_uh, i_deny, i_tls, i_https, i_all;

	(void)state;
	add(&allow, "other.test");
	add(&block, "bad.other.test");
	assert_int_equal(url_list_add_spec(&urls, "https://secure.test/ok/*,http://secure.test/p/*",
					   err, sizeof(err)),
			 0);
	base_opts(&o, &allow, &block);
	o.urls = &urls;

	/* https rules need bump */
	assert_int_equal(gen(&o, &t, err), -EINVAL);
	assert_non_null(strstr(err, "ssl-bump"));
	free(t);

	o.bump = true;
	o.cert_path = RUN "/ca.pem";
	o.certgen = "/usr/lib/squid/security_file_certgen";
	o.cert_db = RUN "/ssl_db";
	o.origin_ca = RUN "/origin-ca.crt";
	t = gen_ok(&o);
	assert_true(line_index(t, "https_port 127.0.0.1:3130 intercept ssl-bump tls-cert=" RUN
				  "/ca.pem generate-host-certificates=on dynamic_cert_mem_cache_size=4MB name=nf_tls") >= 0);
	assert_true(line_index(t, "http_port 127.0.0.1:3128 ssl-bump tls-cert=" RUN
				  "/ca.pem generate-host-certificates=on dynamic_cert_mem_cache_size=4MB name=nf_fwd") >= 0);
	assert_true(line_index(t, "sslcrtd_program /usr/lib/squid/security_file_certgen -s " RUN
				  "/ssl_db -M 4MB") >= 0);
	assert_true(line_index(t, "tls_outgoing_options cafile=" RUN "/origin-ca.crt") >= 0);
	assert_true(line_index(t, "acl nf_urls url_regex ^https://secure[.]test(:443)?/ok/.*$") >= 0);
	assert_true(line_index(t, "acl nf_urls url_regex ^http://secure[.]test(:80)?/p/.*$") >= 0);
	assert_true(line_index(t, "acl nf_uh_sni ssl::server_name_regex -i ^secure[.]test$") >= 0);
	i_uh = line_index(t, "http_access deny nf_https_proto nf_uh_tls !nf_urls");
	i_deny = line_index(t, "http_access deny nf_https_proto nf_uh_tls nf_url_unsafe");
	i_tls = line_index(t, "http_access allow nf_tls CONNECT");
	i_https = line_index(t, "http_access allow nf_https_proto");
	i_all = line_index(t, "http_access deny all");
	assert_true(i_deny >= 0 && i_deny < i_uh && i_uh < i_tls && i_tls < i_https &&
		    i_https < i_all);
	assert_true(line_index(t, "http_access deny nf_http_proto nf_uh_http !nf_urls") >= 0);
	/* the unlisted line lets URL hosts through, the block list still wins */
	assert_true(line_index(t, "http_access deny nf_https_proto !nf_conn_allow !nf_uh_tls") >= 0);
	assert_true(line_index(t, "http_access deny nf_https_proto nf_conn_block") <
		    line_index(t, "http_access allow nf_https_proto"));
	assert_true(line_index(t, "http_access allow nf_uh_http") >= 0);
	assert_true(line_index(t, "ssl_bump bump nf_sni_allow") >= 0);
	assert_true(line_index(t, "ssl_bump bump nf_uh_sni") >= 0);
	assert_int_equal(line_index(t, "ssl_bump splice nf_sni_allow"), -1);
	assert_true(line_index(t, "ssl_bump terminate nf_sni_block") <
		    line_index(t, "ssl_bump bump nf_sni_allow"));
	free(t);

	/* without bump: nothing is decrypted, http rules still apply */
	url_list_free(&urls);
	assert_int_equal(url_list_add_spec(&urls, "http://secure.test/p/*", err, sizeof(err)), 0);
	o.bump = false;
	o.cert_path = CERT;
	t = gen_ok(&o);
	assert_true(line_index(t, "ssl_bump splice nf_sni_allow") >= 0);
	assert_int_equal(line_index(t, "ssl_bump bump nf_sni_allow"), -1);
	assert_null(strstr(t, "sslcrtd_program"));
	assert_null(strstr(t, "generate-host-certificates=on"));
	assert_null(strstr(t, "tls_outgoing_options"));
	assert_true(line_index(t, "http_access deny nf_http_proto nf_uh_http !nf_urls") >= 0);
	free(t);

	/* a bad helper path is refused */
	o.bump = true;
	o.cert_path = RUN "/ca.pem";
	o.certgen = "relative/certgen";
	assert_int_equal(gen(&o, &t, err), -EINVAL);
	assert_non_null(strstr(err, "certgen"));
	free(t);
	o.certgen = "/usr/lib/squid/security_file_certgen";
	o.cert_db = RUN "/ssl db";
	assert_int_equal(gen(&o, &t, err), -EINVAL);
	free(t);

	url_list_free(&urls);
	domain_list_free(&allow);
	domain_list_free(&block);
}

/* --upstream-proxy: a parent, never direct; a bad host is refused. */
static void test_upstream(void **state)
{
	struct domain_list allow = { 0 };
	struct squid_conf_opts o;
	char err[ERRLEN], *t;
	static const char *const bad[] = { "a b", "a#b", "", "proxy.example.com\nacl x", "a$b" };

	(void)state;
	add(&allow, "example.com");
	base_opts(&o, &allow, NULL);
	o.upstream_host = "proxy.corp.example";
	o.upstream_port = 3128;
	t = gen_ok(&o);
	assert_true(line_index(t, "cache_peer proxy.corp.example parent 3128 0 no-query no-digest "
				  "no-netdb-exchange name=nf_upstream") >= 0);
	assert_true(line_index(t, "never_direct allow all") >= 0);
	free(t);
	o.upstream_host = "192.0.2.8";
	t = gen_ok(&o);
	assert_true(line_index(t, "cache_peer 192.0.2.8 parent 3128 0 no-query no-digest "
				  "no-netdb-exchange name=nf_upstream") >= 0);
	free(t);
	o.upstream_host = NULL;
	t = gen_ok(&o);
	assert_null(strstr(t, "cache_peer"));
	assert_null(strstr(t, "never_direct"));
	free(t);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.upstream_host = bad[i];
		assert_int_equal(gen(&o, &t, err), -EINVAL);
		free(t);
	}
	o.upstream_host = "proxy.corp.example";
	o.upstream_port = 0;
	assert_int_equal(gen(&o, &t, err), -EINVAL);
	free(t);
	domain_list_free(&allow);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upstream),
		cmocka_unit_test(test_bump_and_urls),
		cmocka_unit_test(test_required_directives),
		cmocka_unit_test(test_paths_under_run_dir),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_injection_rules),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_acl_reduction),
		cmocka_unit_test(test_model_fixed),
		cmocka_unit_test(test_model_random),
		cmocka_unit_test(test_cert_generate),
		cmocka_unit_test(test_cert_errors),
		cmocka_unit_test(test_squid_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
