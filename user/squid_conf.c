// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * squid.conf for the embedded Squid 5.7, and its throwaway certificate.
 *
 * The domain lists become dstdomain (requests) and ssl::server_name (TLS
 * SNI) ACLs. Squid has no "subdomains only" entry and refuses (or warns
 * about) an entry that another entry of the same ACL already covers, so
 * each list is first reduced, per scheme, to three sets:
 *
 *   dots  ".name" entries: no entry is a subdomain of another
 *   ips   raw IPv4 addresses, matched exactly
 *   excl  apexes of "*.name" rules that no other rule of the list covers
 *
 * and the list matches exactly (dots + ips) minus excl, which is what
 * domain_check() computes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "files.h"
#include "parse.h"
#include "proc.h"
#include "squid_conf.h"
#include "urls.h"

#define SHOW_BUF 72
/* Entries per ACL line: short lines, far from Squid's line limit. */
#define ACL_PER_LINE 8

/* s, double-quoted and escaped, safe to print; long values cut. */
static const char *show(char buf[SHOW_BUF], const char *s)
{
	return quote_text(buf, SHOW_BUF, s, strlen(s), true);
}

/*
 * Why s cannot go into squid.conf as one token, or NULL. Squid reads a
 * line as whitespace-separated tokens, '#' starts a comment, quotes and
 * backslashes change tokenising, "${...}" is a macro.
 */
static const char *token_problem(const char *s)
{
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '\n' || c == '\r')
			return "contains a newline";
		if (c < 0x20 || c == 0x7f)
			return "contains a control character";
		if (c >= 0x80)
			return "contains a byte outside ASCII";
		if (c == ' ')
			return "contains a space";
		if (c == '#')
			return "contains '#'";
		if (c == '"' || c == '\'' || c == '`')
			return "contains a quote";
		if (c == '\\')
			return "contains a backslash";
		if (c == '$')
			return "contains '$'";
	}
	return NULL;
}

static int check_path(const char *what, const char *p, char *err, size_t errlen)
{
	char sb[SHOW_BUF];
	const char *why;

	if (!p || !*p) {
		set_err(err, errlen, "%s: missing", what);
		return -EINVAL;
	}
	why = token_problem(p);
	if (why) {
		set_err(err, errlen, "%s %s: %s", what, show(sb, p), why);
		return -EINVAL;
	}
	if (p[0] != '/') {
		set_err(err, errlen, "%s %s: not an absolute path", what,
			show(sb, p));
		return -EINVAL;
	}
	if (strlen(p) > PATH_MAX - 64) {
		set_err(err, errlen, "%s: path too long", what);
		return -EINVAL;
	}
	return 0;
}

static bool is_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static int check_ports(const char *what, const uint16_t *v, size_t n, char *err,
		       size_t errlen)
{
	size_t i;

	if (n && !v) {
		set_err(err, errlen, "%s: missing", what);
		return -EINVAL;
	}
	if (n > SQUID_MAX_PORTS) {
		set_err(err, errlen, "%s: more than %d ports", what,
			SQUID_MAX_PORTS);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (!v[i]) {
			set_err(err, errlen, "%s: port 0", what);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_dns(const char *s, char *err, size_t errlen)
{
	char sb[SHOW_BUF], sb2[SHOW_BUF], tok[INET_ADDRSTRLEN];
	const char *p = s;
	unsigned count = 0;

	for (;;) {
		size_t n = strcspn(p, " ");

		if (!n) {
			set_err(err, errlen,
				"dns_servers %s: want IPv4 addresses separated by single spaces",
				show(sb, s));
			return -EINVAL;
		}
		if (n >= sizeof(tok)) {
			set_err(err, errlen,
				"dns_servers %s: not a list of dotted-quad IPv4 addresses",
				show(sb, s));
			return -EINVAL;
		}
		memcpy(tok, p, n);
		tok[n] = '\0';
		if (!is_ipv4(tok)) {
			set_err(err, errlen,
				"dns_servers %s: %s is not a dotted-quad IPv4 address",
				show(sb, s), show(sb2, tok));
			return -EINVAL;
		}
		if (++count > SQUID_MAX_DNS) {
			set_err(err, errlen,
				"dns_servers: more than %d addresses",
				SQUID_MAX_DNS);
			return -EINVAL;
		}
		p += n;
		if (!*p)
			return 0;
		p++; /* the space; a trailing one fails as an empty token */
	}
}

static int check_user(const char *u, char *err, size_t errlen)
{
	char sb[SHOW_BUF];
	size_t i, n = strlen(u);

	if (!n || n > 32)
		goto bad;
	for (i = 0; i < n; i++) {
		char c = u[i];

		if ((c >= 'a' && c <= 'z') || c == '_' ||
		    (i && ((c >= '0' && c <= '9') || c == '-')))
			continue;
		goto bad;
	}
	return 0;
bad:
	set_err(err, errlen, "user %s: not a valid user name", show(sb, u));
	return -EINVAL;
}

static int check_list(const char *what, const struct domain_list *l, char *err,
		      size_t errlen)
{
	char sb[SHOW_BUF];
	size_t i;

	if (!l)
		return 0;
	if (l->n && !l->v) {
		set_err(err, errlen, "%s: corrupt list", what);
		return -EINVAL;
	}
	for (i = 0; i < l->n; i++) {
		if (domain_rule_valid(&l->v[i])) {
			set_err(err, errlen, "%s: invalid rule %s", what,
				l->v[i].name ? show(sb, l->v[i].name) :
					       "(null)");
			return -EINVAL;
		}
	}
	return 0;
}

/* A regex of url_rule_regex(): one token, only the characters it promises. */
static bool regex_ok(const char *re)
{
	return re[strspn(re, "abcdefghijklmnopqrstuvwxyz"
			     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			     "/-_~%!&;=:@^$()[].*+?|")] == '\0';
}

static int check_urls(const struct squid_conf_opts *o, char *err, size_t errlen)
{
	char sb[SHOW_BUF], re[URL_REGEX_MAX];

	if (!o->urls)
		return 0;
	if (o->urls->n && !o->urls->v) {
		set_err(err, errlen, "urls: corrupt list");
		return -EINVAL;
	}
	for (size_t i = 0; i < o->urls->n; i++) {
		const struct url_rule *r = &o->urls->v[i];

		if (domain_rule_valid(&r->host) || !r->path || r->path[0] != '/' ||
		    (r->host.scheme != DOM_HTTP && r->host.scheme != DOM_HTTPS) ||
		    url_rule_regex(r, re, sizeof(re)) < 0 || !regex_ok(re) ||
		    url_host_regex(&r->host, re, sizeof(re)) < 0 || !regex_ok(re)) {
			set_err(err, errlen, "urls: invalid rule for %s",
				r->host.name ? show(sb, r->host.name) : "(null)");
			return -EINVAL;
		}
		if (r->host.scheme == DOM_HTTPS && !o->bump) {
			set_err(err, errlen,
				"urls: an https:// rule (%s) needs ssl-bump: the path of an HTTPS request is only visible decrypted",
				show(sb, r->host.name));
			return -EINVAL;
		}
	}
	return 0;
}

int squid_conf_validate(const struct squid_conf_opts *o, char *err,
			size_t errlen)
{
	char sb[SHOW_BUF];
	const char *why;
	int e;

	if (!o) {
		set_err(err, errlen, "no options");
		return -EINVAL;
	}
	e = check_path("run_dir", o->run_dir, err, errlen);
	if (e)
		return e;
	if (!o->run_dir[strspn(o->run_dir, "/")]) {
		set_err(err, errlen, "run_dir %s: not the root directory",
			show(sb, o->run_dir));
		return -EINVAL;
	}
	e = check_path("cert_path", o->cert_path, err, errlen);
	if (e)
		return e;
	if (o->hosts_file) {
		e = check_path("hosts_file", o->hosts_file, err, errlen);
		if (e)
			return e;
	}
	if (!o->listen_addr) {
		set_err(err, errlen, "listen_addr: missing");
		return -EINVAL;
	}
	why = token_problem(o->listen_addr);
	if (why || !is_ipv4(o->listen_addr)) {
		set_err(err, errlen,
			"listen_addr %s: not a dotted-quad IPv4 address",
			show(sb, o->listen_addr));
		return -EINVAL;
	}
	if (!o->http_port || !o->https_port || !o->fwd_port) {
		set_err(err, errlen,
			"http_port, https_port and fwd_port must all be set");
		return -EINVAL;
	}
	if (o->http_port == o->https_port || o->http_port == o->fwd_port ||
	    o->https_port == o->fwd_port) {
		set_err(err, errlen,
			"http_port %u, https_port %u and fwd_port %u must differ",
			o->http_port, o->https_port, o->fwd_port);
		return -EINVAL;
	}
	if (o->dns_servers && *o->dns_servers) {
		why = token_problem(o->dns_servers);
		/* spaces separate the addresses; check_dns() checks them */
		if (why && strcmp(why, "contains a space")) {
			set_err(err, errlen, "dns_servers %s: %s",
				show(sb, o->dns_servers), why);
			return -EINVAL;
		}
		e = check_dns(o->dns_servers, err, errlen);
		if (e)
			return e;
	}
	if (o->user) {
		e = check_user(o->user, err, errlen);
		if (e)
			return e;
	}
	e = check_ports("http_ports", o->http_ports, o->n_http_ports, err,
			errlen);
	if (e)
		return e;
	e = check_ports("tls_ports", o->tls_ports, o->n_tls_ports, err, errlen);
	if (e)
		return e;
	e = check_list("allow", o->allow, err, errlen);
	if (e)
		return e;
	e = check_list("block", o->block, err, errlen);
	if (e)
		return e;
	if (o->bump) {
		e = check_path("certgen", o->certgen, err, errlen);
		if (!e)
			e = check_path("cert_db", o->cert_db, err, errlen);
		if (!e && o->origin_ca)
			e = check_path("origin_ca", o->origin_ca, err, errlen);
		if (e)
			return e;
	}
	if (o->upstream_host) {
		why = token_problem(o->upstream_host);
		if (why || !o->upstream_port || !*o->upstream_host ||
		    strlen(o->upstream_host) > 253 ||
		    o->upstream_host[strspn(o->upstream_host,
					    "abcdefghijklmnopqrstuvwxyz"
					    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")]) {
			set_err(err, errlen, "upstream %s: not a host name or IPv4 address with a port",
				show(sb, o->upstream_host));
			return -EINVAL;
		}
	}
	return check_urls(o, err, errlen);
}

/* A growable array of borrowed names. */
struct name_set {
	const char **v;
	size_t n, cap;
};

static void ns_free(struct name_set *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static int ns_push(struct name_set *s, const char *name)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		const char **v;

		if (cap > SIZE_MAX / sizeof(*v))
			return -ENOMEM;
		v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = name;
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void ns_sort_uniq(struct name_set *s)
{
	size_t i, o;

	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof(*s->v), str_cmp);
	for (i = 1, o = 0; i < s->n; i++)
		if (strcmp(s->v[o], s->v[i]))
			s->v[++o] = s->v[i];
	s->n = o + 1;
}

static bool ns_has(const struct name_set *s, const char *name)
{
	return s->n &&
	       bsearch(&name, s->v, s->n, sizeof(*s->v), str_cmp) != NULL;
}

/* Whether a proper parent domain of name ("b.c" of "a.b.c") is in s. */
static bool ns_has_parent(const struct name_set *s, const char *name)
{
	const char *p = name;

	while ((p = strchr(p, '.'))) {
		p++;
		if (ns_has(s, p))
			return true;
	}
	return false;
}

/* A growable array of borrowed rules (the patterns). */
struct rule_set {
	const struct domain_rule **v;
	size_t n, cap;
};

static int rs_push(struct rule_set *s, const struct domain_rule *r)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		const struct domain_rule **v;

		if (cap > SIZE_MAX / sizeof(*v))
			return -ENOMEM;
		v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = r;
	return 0;
}

struct acl_sets {
	struct name_set dots; /* ".name": the name and its subdomains */
	struct name_set ips; /* exact raw IPv4 addresses */
	struct name_set excl; /* exact names to take out again */
	struct rule_set pats; /* patterns ("api-*.x.com"): regexes */
};

static void sets_free(struct acl_sets *s)
{
	ns_free(&s->dots);
	ns_free(&s->ips);
	ns_free(&s->excl);
	free(s->pats.v);
	s->pats.v = NULL;
	s->pats.n = s->pats.cap = 0;
}

/* Reduces the rules of l that apply to scheme to dots + ips - excl. */
static int sets_build(const struct domain_list *l, unsigned scheme,
		      struct acl_sets *out)
{
	struct name_set plain = { 0 }, wild = { 0 }, all = { 0 };
	size_t i;
	int e = 0;

	for (i = 0; l && i < l->n && !e; i++) {
		const struct domain_rule *r = &l->v[i];

		if (!(r->scheme & scheme))
			continue;
		if (r->is_ip) {
			e = ns_push(&out->ips, r->name);
			continue;
		}
		if (r->pattern) {
			/* its own regex ACL; it covers no other rule's names */
			e = rs_push(&out->pats, r);
			continue;
		}
		e = ns_push(&all, r->name);
		if (!e)
			e = ns_push(r->wildcard ? &wild : &plain, r->name);
	}
	if (e)
		goto out;
	ns_sort_uniq(&out->ips);
	ns_sort_uniq(&all);
	ns_sort_uniq(&plain);
	ns_sort_uniq(&wild);

	/* A name under another listed name adds nothing to ".other". */
	for (i = 0; i < all.n && !e; i++)
		if (!ns_has_parent(&all, all.v[i]))
			e = ns_push(&out->dots, all.v[i]);
	/*
	 * "*.w" put ".w" in dots, which also matches w itself: take w out
	 * again unless a plain rule for w or any rule for a parent covers it.
	 */
	for (i = 0; i < wild.n && !e; i++) {
		if (ns_has(&plain, wild.v[i]) || ns_has_parent(&all, wild.v[i]))
			continue;
		e = ns_push(&out->excl, wild.v[i]);
	}
out:
	ns_free(&plain);
	ns_free(&wild);
	ns_free(&all);
	return e;
}

/*
 * "acl NAME TYPE entries..." over as many lines as needed (Squid adds up
 * lines of one ACL). dots entries get a leading '.'. Writes nothing and
 * returns false when there are no entries: Squid warns about empty ACLs.
 */
static bool put_acl(FILE *f, const char *name, const char *type,
		    const struct name_set *dots, const struct name_set *exact)
{
	size_t nd = dots ? dots->n : 0, ne = exact ? exact->n : 0;
	size_t i, k = 0;

	for (i = 0; i < nd + ne; i++) {
		if (!k)
			fprintf(f, "acl %s %s", name, type);
		if (i < nd)
			fprintf(f, " .%s", dots->v[i]);
		else
			fprintf(f, " %s", exact->v[i - nd]);
		if (++k == ACL_PER_LINE || i + 1 == nd + ne) {
			fputc('\n', f);
			k = 0;
		}
	}
	return nd + ne > 0;
}

/*
 * One regex ACL line per pattern (a regex can be long: one a line).
 * Returns false, writing nothing, when there is none.
 */
static bool put_re_acl(FILE *f, const char *name, const char *type,
		       const struct rule_set *pats)
{
	char re[DOM_REGEX_MAX];
	bool any = false;

	for (size_t i = 0; i < pats->n; i++) {
		/* validated rules always translate; a failure leaves it out */
		if (domain_rule_regex(pats->v[i], re, sizeof(re)) <= 0)
			continue;
		fprintf(f, "acl %s %s %s\n", name, type, re);
		any = true;
	}
	return any;
}

/* Which of the six ACLs of one (scheme, ACL type) pair exist. */
struct acl_group {
	char allow[32], allow_x[32], allow_re[32];
	char block[32], block_x[32], block_re[32];
	bool has_allow, has_allow_x, has_allow_re;
	bool has_block, has_block_x, has_block_re;
};

static void put_group(FILE *f, struct acl_group *g, const char *prefix,
		      const char *type, const char *re_type,
		      const struct acl_sets *allow,
		      const struct acl_sets *block)
{
	snprintf(g->allow, sizeof(g->allow), "%s_allow", prefix);
	snprintf(g->allow_x, sizeof(g->allow_x), "%s_allow_x", prefix);
	snprintf(g->allow_re, sizeof(g->allow_re), "%s_allow_re", prefix);
	snprintf(g->block, sizeof(g->block), "%s_block", prefix);
	snprintf(g->block_x, sizeof(g->block_x), "%s_block_x", prefix);
	snprintf(g->block_re, sizeof(g->block_re), "%s_block_re", prefix);
	g->has_allow = put_acl(f, g->allow, type, &allow->dots, &allow->ips);
	g->has_allow_x = put_acl(f, g->allow_x, type, NULL, &allow->excl);
	g->has_allow_re = put_re_acl(f, g->allow_re, re_type, &allow->pats);
	g->has_block = put_acl(f, g->block, type, &block->dots, &block->ips);
	g->has_block_x = put_acl(f, g->block_x, type, NULL, &block->excl);
	g->has_block_re = put_re_acl(f, g->block_re, re_type, &block->pats);
}

/*
 * The deny lines of one group, for directive dir ("http_access",
 * "ssl_bump") with deny word deny ("deny", "terminate") and extra ACLs pre
 * ("CONNECT " or ""): blocked names (patterns included), then the apexes
 * taken out again (unless a pattern allows them), then (with unlisted)
 * every name no allow ACL matches. What is left is allowed and falls
 * through to the lines after these. extra (or NULL) names an ACL of more
 * allowed names (the hosts of URL rules): never denied as unlisted or as
 * an apex taken out.
 */
static void put_denials(FILE *f, const struct acl_group *g, const char *dir,
			const char *deny, const char *pre, bool unlisted,
			const char *extra)
{
	char not_extra[40] = "", not_re[40] = "", terms[128];

	if (extra)
		snprintf(not_extra, sizeof(not_extra), " !%s", extra);
	if (g->has_allow_re)
		snprintf(not_re, sizeof(not_re), " !%s", g->allow_re);
	if (g->has_block && g->has_block_x)
		fprintf(f, "%s %s %s%s !%s\n", dir, deny, pre, g->block,
			g->block_x);
	else if (g->has_block)
		fprintf(f, "%s %s %s%s\n", dir, deny, pre, g->block);
	if (g->has_block_re)
		fprintf(f, "%s %s %s%s\n", dir, deny, pre, g->block_re);
	if (g->has_allow_x)
		fprintf(f, "%s %s %s%s%s%s\n", dir, deny, pre, g->allow_x,
			not_re, not_extra);
	if (!unlisted)
		return;
	snprintf(terms, sizeof(terms), "%s%s%s%s",
		 g->has_allow ? " !" : "", g->has_allow ? g->allow : "",
		 not_re, not_extra);
	if (terms[0])
		fprintf(f, "%s %s %s%s\n", dir, deny, pre, terms + 1);
	else
		fprintf(f, "%s %s %sall\n", dir, deny, pre);
}

static void put_ports(FILE *f, const char *acl, const uint16_t *v, size_t n,
		      uint16_t dflt)
{
	size_t i;

	fprintf(f, "acl %s port", acl);
	if (!n)
		fprintf(f, " %u", dflt);
	for (i = 0; i < n; i++)
		fprintf(f, " %u", v[i]);
	fputc('\n', f);
}

static const char conf_head[] =
	"# squid.conf for Squid 5.7, generated by netfence: do not edit, it is\n"
	"# written anew at every start.\n"
	"#\n"
	"# Squid starts as root, binds, reads this file and the certificate,\n"
	"# then runs as cache_effective_user: the run directory (pid file, logs,\n"
	"# core dumps) must be writable by that user and every directory above\n"
	"# it searchable by it (o+x). The hosts file is read as that user too;\n"
	"# the certificate may stay root-only.\n"
	"\n";

static void put_files(FILE *f, const struct squid_conf_opts *o, int rl)
{
	const char *rd = o->run_dir;

	fprintf(f,
		"# Process and files: everything Squid writes is in the run directory.\n"
		"cache_effective_user %s\n"
		"pid_filename %.*s/" SQUID_PID_FILE "\n"
		"cache_log %.*s/" SQUID_CACHE_LOG "\n"
		"coredump_dir %.*s\n"
		"logformat netfence %s\n"
		"access_log stdio:%.*s/" SQUID_ACCESS_LOG
		" logformat=netfence\n"
		"cache_store_log none\n"
		"netdb_filename none\n"
		"logfile_rotate 0\n"
		"pinger_enable off\n"
		"workers 1\n"
		"# Squid (root when it reads this) raises its own descriptor limit\n"
		"# instead of inheriting the caller's soft limit: 1024, the default\n"
		"# of a shell or a unit, stops it accepting at ~500 concurrent\n"
		"# intercepted clients. 65536 is the Debian build's ceiling.\n"
		"max_filedescriptors 65536\n"
		"shutdown_lifetime 0 seconds\n"
		"visible_hostname netfence\n"
		"icp_port 0\n"
		"htcp_port 0\n"
		"\n"
		"# No cache: every request goes to the origin.\n"
		"cache deny all\n"
		"\n",
		o->user ? o->user : SQUID_DEFAULT_USER, rl, rd, rl, rd, rl, rd,
		SQUID_LOGFORMAT, rl, rd);
}

static void put_upstream(FILE *f, const struct squid_conf_opts *o)
{
	if (!o->upstream_host)
		return;
	fprintf(f,
		"# Everything allowed goes through the parent proxy (CONNECT for TLS,\n"
		"# spliced or bumped), never direct.\n"
		"cache_peer %s parent %u 0 no-query no-digest no-netdb-exchange name=nf_upstream\n"
		"cache_peer_access nf_upstream allow all\n"
		"never_direct allow all\n"
		"\n",
		o->upstream_host, o->upstream_port);
}

static void put_dns(FILE *f, const struct squid_conf_opts *o)
{
	fprintf(f,
		"# Names resolve as the agent's do: on splice Squid requires the SNI\n"
		"# name to resolve to the original destination, and an intercepted\n"
		"# request's Host name to the address the agent connected to.\n"
		"hosts_file %s\n",
		o->hosts_file ? o->hosts_file : SQUID_DEFAULT_HOSTS);
	if (o->dns_servers && *o->dns_servers)
		fprintf(f, "dns_nameservers %s\n", o->dns_servers);
	fprintf(f,
		"\n"
		"# A Host that does not resolve to the original destination is\n"
		"# refused (409), not forwarded to that destination anyway; Squid\n"
		"# connects to the original destination, not to a new lookup. Via\n"
		"# stays on: it is how Squid detects a request looping through it.\n"
		"host_verify_strict on\n"
		"client_dst_passthru on\n"
		"forwarded_for delete\n"
		"httpd_suppress_version_string on\n"
		"\n");
}

static void put_listeners(FILE *f, const struct squid_conf_opts *o)
{
	const char *a = o->listen_addr;

	if (!o->bump) {
		fprintf(f,
			"# Listeners. Squid refuses to start with intercept ports only;\n"
			"# the forward-proxy port is the ordinary one it needs.\n"
			"http_port %s:%u name=nf_fwd\n"
			"http_port %s:%u intercept name=nf_http\n"
			"https_port %s:%u intercept ssl-bump tls-cert=%s generate-host-certificates=off name=nf_tls\n"
			"\n",
			a, o->fwd_port, a, o->http_port, a, o->https_port,
			o->cert_path);
		return;
	}
	fprintf(f,
		"# Listeners. Squid refuses to start with intercept ports only;\n"
		"# the forward-proxy port is the ordinary one it needs.\n"
		"# ssl-bump: TLS to allowed names is DECRYPTED. Squid signs a\n"
		"# certificate for each name with the run's CA (tls-cert, key and\n"
		"# certificate), made by its certificate helper, and sees every\n"
		"# request; the forward port bumps CONNECT tunnels the same way.\n"
		"http_port %s:%u ssl-bump tls-cert=%s generate-host-certificates=on dynamic_cert_mem_cache_size=4MB name=nf_fwd\n"
		"http_port %s:%u intercept name=nf_http\n"
		"https_port %s:%u intercept ssl-bump tls-cert=%s generate-host-certificates=on dynamic_cert_mem_cache_size=4MB name=nf_tls\n"
		"sslcrtd_program %s -s %s -M 4MB\n"
		"sslcrtd_children 8 startup=1 idle=1\n",
		a, o->fwd_port, o->cert_path, a, o->http_port, a, o->https_port,
		o->cert_path, o->certgen, o->cert_db);
	if (o->origin_ca)
		fprintf(f,
			"# Origins are verified against the system's CAs and these.\n"
			"tls_outgoing_options cafile=%s\n",
			o->origin_ca);
	fputc('\n', f);
}

/* One regex ACL line per distinct host of the URL rules of one scheme. */
static bool put_url_hosts(FILE *f, const struct url_list *l, unsigned scheme,
			  const char *name, const char *type)
{
	char re[URL_REGEX_MAX];
	bool any = false;

	for (size_t i = 0; i < l->n; i++) {
		const struct url_rule *r = &l->v[i];
		bool seen = false;

		if (!(r->host.scheme & scheme))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = (l->v[j].host.scheme & scheme) &&
			       l->v[j].host.wildcard == r->host.wildcard &&
			       !strcmp(l->v[j].host.name, r->host.name);
		if (seen || url_host_regex(&r->host, re, sizeof(re)) < 0)
			continue;
		fprintf(f, "acl %s %s %s\n", name, type, re);
		any = true;
	}
	return any;
}

/*
 * The URL rules: nf_urls (every rule's URL), the hosts they take over per
 * scheme (nf_uh_http, nf_uh_tls for requests, nf_uh_sni for the TLS
 * handshake), and nf_url_unsafe (paths an origin could read differently).
 * *x_* are set to the names of the host ACLs written (NULL: none).
 */
static void put_url_acls(FILE *f, const struct squid_conf_opts *o,
			 const char **x_http, const char **x_tls,
			 const char **x_sni)
{
	char re[URL_REGEX_MAX];
	bool tls = o->bump && url_list_has(o->urls, DOM_HTTPS);

	if (!o->urls || !o->urls->n)
		return;
	fprintf(f,
		"\n"
		"# URL rules (--allow-urls): a host they name is allowed only for\n"
		"# the URLs of its rules; its paths with dot segments or an encoded\n"
		"# '.', '/' or '\\' are refused.\n");
	for (size_t i = 0; i < o->urls->n; i++) {
		const struct url_rule *r = &o->urls->v[i];

		if (r->host.scheme == DOM_HTTPS && !tls)
			continue;
		if (url_rule_regex(r, re, sizeof(re)) > 0)
			fprintf(f, "acl nf_urls url_regex %s\n", re);
	}
	fprintf(f,
		"acl nf_url_unsafe urlpath_regex -i ^[^?]*/[.][.]?([/;?]|$) ^[^?]*%%(2e|2f|5c) ^[^?]*[\\\\]\n");
	if (put_url_hosts(f, o->urls, DOM_HTTP, "nf_uh_http", "dstdom_regex -n -i"))
		*x_http = "nf_uh_http";
	if (tls && put_url_hosts(f, o->urls, DOM_HTTPS, "nf_uh_tls",
				 "dstdom_regex -n -i")) {
		*x_tls = "nf_uh_tls";
		put_url_hosts(f, o->urls, DOM_HTTPS, "nf_uh_sni",
			      "ssl::server_name_regex -i");
		*x_sni = "nf_uh_sni";
	}
}

/* Requests to a host taken over by URL rules: only the rules' URLs. */
static void put_url_access(FILE *f, const char *x_http, const char *x_tls)
{
	if (!x_http && !x_tls)
		return;
	fprintf(f, "\n# URL rules first: they only refuse.\n");
	if (x_http)
		fprintf(f,
			"http_access deny nf_http_proto %s nf_url_unsafe\n"
			"http_access deny nf_http_proto %s !nf_urls\n",
			x_http, x_http);
	if (x_tls)
		fprintf(f,
			"http_access deny nf_https_proto %s nf_url_unsafe\n"
			"http_access deny nf_https_proto %s !nf_urls\n",
			x_tls, x_tls);
}

static int put_conf(FILE *f, const struct squid_conf_opts *o)
{
	struct acl_sets allow_http = { 0 }, allow_tls = { 0 };
	struct acl_sets block_http = { 0 }, block_tls = { 0 };
	struct acl_group http, conn, sni;
	int rl = (int)strlen(o->run_dir);
	const char *x_http = NULL, *x_tls = NULL, *x_sni = NULL;
	int e;

	/* "/run/x/" and "/run/x" are the same directory; never just "/" */
	while (rl > 1 && o->run_dir[rl - 1] == '/')
		rl--;

	e = sets_build(o->allow, DOM_HTTP, &allow_http);
	if (!e)
		e = sets_build(o->allow, DOM_HTTPS, &allow_tls);
	if (!e)
		e = sets_build(o->block, DOM_HTTP, &block_http);
	if (!e)
		e = sets_build(o->block, DOM_HTTPS, &block_tls);
	if (e)
		goto out;

	fputs(conf_head, f);
	put_listeners(f, o);
	put_files(f, o, rl);
	put_dns(f, o);
	put_upstream(f, o);

	fprintf(f, "# Where a request came in and where it goes.\n"
		   "acl nf_fwd myportname nf_fwd\n"
		   "acl nf_http myportname nf_http\n"
		   "acl nf_tls myportname nf_tls\n"
		   "acl nf_step1 at_step SslBump1\n"
		   "acl nf_http_proto proto HTTP\n");
	if (o->bump)
		fprintf(f, "acl nf_https_proto proto HTTPS\n");
	put_ports(f, "nf_http_ports", o->http_ports, o->n_http_ports,
		  SQUID_DEFAULT_HTTP_PORT);
	put_ports(f, "nf_tls_ports", o->tls_ports, o->n_tls_ports,
		  SQUID_DEFAULT_TLS_PORT);
	fprintf(f,
		"# Squid itself never connects here, whatever a name resolves to.\n"
		"acl nf_badnet dst 0.0.0.0/8 169.254.0.0/16 224.0.0.0/3 fe80::/10 ff00::/8\n"
		"acl nf_loopback dst 127.0.0.0/8 ::1 ::\n"
		"\n"
		"# Domain lists. NAME_allow matches the allowed names, NAME_allow_x\n"
		"# the apexes of \"*.name\" rules taken out again; the same for block.\n"
		"# nf_http_*: plain HTTP. nf_conn_*: CONNECT. nf_sni_*: TLS SNI.\n");
	put_group(f, &http, "nf_http", "dstdomain -n", "dstdom_regex -n -i",
		  &allow_http, &block_http);
	put_group(f, &conn, "nf_conn", "dstdomain -n", "dstdom_regex -n -i",
		  &allow_tls, &block_tls);
	put_group(f, &sni, "nf_sni", "ssl::server_name",
		  "ssl::server_name_regex -i", &allow_tls, &block_tls);
	put_url_acls(f, o, &x_http, &x_tls, &x_sni);

	fprintf(f,
		"\n"
		"http_access deny manager\n");
	put_url_access(f, x_http, x_tls);
	if (o->bump) {
		fprintf(f,
			"\n"
			"# Intercepted TLS: allow the internal CONNECT Squid makes for the\n"
			"# original destination; the SNI decides below, in ssl_bump.\n"
			"http_access deny nf_tls CONNECT nf_badnet\n");
		if (!o->allow_loopback_dst)
			fprintf(f, "http_access deny nf_tls CONNECT nf_loopback\n");
		fprintf(f,
			"http_access allow nf_tls CONNECT\n"
			"\n"
			"# Decrypted (bumped) requests, from the TLS port or a CONNECT\n"
			"# tunnel: the TLS domain lists again, on the request's host.\n");
		put_denials(f, &conn, "http_access", "deny", "nf_https_proto ",
			    true, x_tls);
		if (conn.has_allow || conn.has_allow_re || x_tls) {
			fprintf(f, "http_access deny nf_https_proto nf_badnet\n");
			if (!o->allow_loopback_dst)
				fprintf(f, "http_access deny nf_https_proto nf_loopback\n");
			fprintf(f, "http_access allow nf_https_proto\n");
		}
		fprintf(f, "http_access deny nf_tls\n");
	} else {
		fprintf(f,
			"\n"
			"# Intercepted TLS: allow the internal CONNECT Squid makes for the\n"
			"# original destination (without it Squid bumps and refuses); the\n"
			"# SNI decides below, in ssl_bump.\n"
			"http_access deny nf_tls !CONNECT\n"
			"http_access deny nf_tls nf_badnet\n");
		if (!o->allow_loopback_dst)
			fprintf(f, "http_access deny nf_tls nf_loopback\n");
		fprintf(f, "http_access allow nf_tls\n");
	}
	fprintf(f,
		"\n"
		"# CONNECT: on the forward port only, to the TLS ports only.\n"
		"http_access deny CONNECT !nf_fwd\n"
		"http_access deny CONNECT !nf_tls_ports\n");
	put_denials(f, &conn, "http_access", "deny", "CONNECT ", true, x_tls);
	if (conn.has_allow || conn.has_allow_re || x_tls) {
		fprintf(f, "http_access deny CONNECT nf_badnet\n");
		if (!o->allow_loopback_dst)
			fprintf(f, "http_access deny CONNECT nf_loopback\n");
		fprintf(f, "http_access allow CONNECT\n");
	}
	fprintf(f,
		"\n"
		"# Plain HTTP: by Host on the intercept port, by URL on the forward\n"
		"# port (http:// URLs to the HTTP ports only).\n"
		"http_access deny !nf_http_proto\n"
		"http_access deny nf_fwd !nf_http_ports\n");
	put_denials(f, &http, "http_access", "deny", "", true, x_http);
	if (http.has_allow || http.has_allow_re || x_http) {
		fprintf(f, "http_access deny nf_badnet\n");
		if (!o->allow_loopback_dst)
			fprintf(f, "http_access deny nf_loopback\n");
		if (http.has_allow)
			fprintf(f, "http_access allow %s\n", http.allow);
		if (http.has_allow_re)
			fprintf(f, "http_access allow %s\n", http.allow_re);
		if (x_http)
			fprintf(f, "http_access allow %s\n", x_http);
	}
	fprintf(f, "http_access deny all\n\n");
	if (o->bump)
		fprintf(f,
			"# TLS: peek at the client hello for the SNI, bump (decrypt: Squid\n"
			"# sees the requests) what is allowed, terminate the rest.\n"
			"ssl_bump peek nf_step1\n");
	else
		fprintf(f,
			"# TLS: peek at the client hello for the SNI, splice (never decrypt)\n"
			"# what is allowed, terminate the rest.\n"
			"ssl_bump peek nf_step1\n");
	put_denials(f, &sni, "ssl_bump", "terminate", "", false, x_sni);
	if (sni.has_allow)
		fprintf(f, "ssl_bump %s %s\n", o->bump ? "bump" : "splice",
			sni.allow);
	if (sni.has_allow_re)
		fprintf(f, "ssl_bump %s %s\n", o->bump ? "bump" : "splice",
			sni.allow_re);
	if (x_sni)
		fprintf(f, "ssl_bump bump %s\n", x_sni);
	fprintf(f, "ssl_bump terminate all\n");
out:
	sets_free(&allow_http);
	sets_free(&allow_tls);
	sets_free(&block_http);
	sets_free(&block_tls);
	return e;
}

int squid_conf_write(FILE *f, const struct squid_conf_opts *o, char *err,
		     size_t errlen)
{
	int e;

	if (!f) {
		set_err(err, errlen, "no output file");
		return -EINVAL;
	}
	e = squid_conf_validate(o, err, errlen);
	if (e)
		return e;
	e = put_conf(f, o);
	if (e) {
		set_err(err, errlen, "out of memory");
		return e;
	}
	if (fflush(f) || ferror(f)) {
		set_err(err, errlen, "writing the configuration failed");
		return -EIO;
	}
	return 0;
}

/* ---- the certificate ---- */

#define CMD_OUT_MAX 512

/*
 * The first line of openssl's stderr that says something (it also prints
 * progress dots and dashes), cleaned up for a one-line reason.
 */
static const char *first_words(char *s)
{
	char *line = s, *next;

	for (; line && *line; line = next) {
		char *p;
		bool words = false;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		for (p = line; *p; p++) {
			if ((unsigned char)*p < 0x20 ||
			    (unsigned char)*p >= 0x7f)
				*p = ' ';
			if ((*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z'))
				words = true;
		}
		if (words)
			return line;
	}
	return "no message";
}

static int make_temp(char *path, size_t len, const char *dir, const char *stem)
{
	int fd;

	if ((size_t)snprintf(path, len, "%s/.%s.XXXXXX", dir, stem) >= len) {
		path[0] = '\0';
		return -ENAMETOOLONG;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		path[0] = '\0';
		return -errno;
	}
	return fd;
}

/*
 * openssl req -x509 with extra arguments (NULL-terminated), key and
 * certificate stored together in DIR/pem_name (0600); with crt_name also
 * the certificate alone in DIR/crt_name (0644). what names it in reasons.
 */
static int gen_cert(const char *dir, const char *what, const char *pem_name,
		    const char *crt_name, const char *const *extra,
		    char *path_out, size_t len, char *err, size_t errlen)
{
	static const char *const paths[] = { "/usr/bin/openssl",
					     "/usr/local/bin/openssl", NULL };
	char key[PATH_MAX] = "", crt[PATH_MAX] = "", tmp[PATH_MAX] = "";
	char final[PATH_MAX], pub[PATH_MAX] = "", msg[CMD_OUT_MAX], sb[SHOW_BUF];
	const char *why;
	int fd, e = 0, status;

	if (!dir || !*dir || !path_out) {
		set_err(err, errlen, "%s: no directory", what);
		return -EINVAL;
	}
	why = token_problem(dir);
	if (why) {
		set_err(err, errlen, "%s directory %s: %s", what,
			show(sb, dir), why);
		return -EINVAL;
	}
	if ((size_t)snprintf(final, sizeof(final), "%s/%s", dir, pem_name) >=
		    sizeof(final) ||
	    (crt_name && (size_t)snprintf(pub, sizeof(pub), "%s/%s", dir,
					  crt_name) >= sizeof(pub)) ||
	    strlen(final) >= len) {
		set_err(err, errlen, "%s directory %s: path too long", what,
			show(sb, dir));
		return -ENAMETOOLONG;
	}

	/* openssl writes into these private (0600) files of ours. */
	fd = make_temp(key, sizeof(key), dir, "gen-key");
	if (fd < 0) {
		e = fd;
		goto fail_io;
	}
	close(fd);
	fd = make_temp(crt, sizeof(crt), dir, "gen-crt");
	if (fd < 0) {
		e = fd;
		goto fail_io;
	}
	close(fd);

	{
		const char *argv[32] = {
			"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
			"ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
			"-keyout", key, "-out", crt,
		};
		int n = 14;

		for (int i = 0; extra[i] && n < 31; i++)
			argv[n++] = extra[i];
		argv[n] = NULL;
		status = proc_capture((char *const *)argv,
				      (const char *const *)paths, 0, 0, msg,
				      sizeof(msg));
	}
	if (status < 0) {
		set_err(err, errlen, "%s: cannot run openssl: %s", what,
			strerror(-status));
		e = status;
		goto cleanup;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			set_err(err, errlen,
				"%s: cannot run openssl (is it installed?)",
				what);
		else if (WIFEXITED(status))
			set_err(err, errlen, "%s: openssl failed (exit %d): %s",
				what, WEXITSTATUS(status), first_words(msg));
		else
			set_err(err, errlen, "%s: openssl killed by signal %d",
				what, WTERMSIG(status));
		e = -EIO;
		goto cleanup;
	}

	fd = make_temp(tmp, sizeof(tmp), dir, "gen");
	if (fd < 0) {
		e = fd;
		goto fail_io;
	}
	e = file_append(fd, crt, O_NOFOLLOW);
	if (!e)
		e = file_append(fd, key, O_NOFOLLOW);
	if (!e && fchmod(fd, 0600))
		e = -errno;
	if (close(fd) && !e)
		e = -errno;
	if (!e && rename(tmp, final))
		e = -errno;
	if (e)
		goto fail_io;
	tmp[0] = '\0';
	if (crt_name) {
		if (chmod(crt, 0644) || rename(crt, pub)) {
			e = -errno;
			unlink(final);
			goto fail_io;
		}
		crt[0] = '\0';
	}
	strcpy(path_out, final); /* length checked above */
	goto cleanup;

fail_io:
	set_err(err, errlen, "%s in %s: %s", what, show(sb, dir),
		strerror(-e));
cleanup:
	if (key[0])
		unlink(key);
	if (crt[0])
		unlink(crt);
	if (tmp[0])
		unlink(tmp);
	return e;
}

int cert_generate(const char *dir, char *path_out, size_t len, char *err,
		  size_t errlen)
{
	static const char *const extra[] = { "-subj", "/CN=netfence-intercept",
					     NULL };

	return gen_cert(dir, "certificate", SQUID_CERT_FILE, NULL, extra,
			path_out, len, err, errlen);
}

int ca_generate(const char *dir, char *path_out, size_t len, char *err,
		size_t errlen)
{
	static const char *const extra[] = {
		"-subj", "/O=netfence/CN=netfence run CA (this run only)",
		"-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
		"-addext", "keyUsage=critical,keyCertSign,cRLSign",
		"-addext", "subjectKeyIdentifier=hash",
		NULL,
	};

	return gen_cert(dir, "CA", SQUID_CA_FILE, SQUID_CA_CERT_FILE, extra,
			path_out, len, err, errlen);
}

int cert_db_init(const char *certgen, const char *db, char *err, size_t errlen)
{
	char msg[CMD_OUT_MAX], sb[SHOW_BUF];
	const char *const none[] = { NULL };
	char *const argv[] = { (char *)certgen, "-c", "-s", (char *)db, "-M",
			       "4MB", NULL };
	int status;

	if (check_path("certificate helper", certgen, err, errlen) ||
	    check_path("certificate database", db, err, errlen))
		return -EINVAL;
	status = proc_capture(argv, none, 0, 0, msg, sizeof(msg));
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		set_err(err, errlen, "%s -c -s %s failed: %s", show(sb, certgen),
			db, status < 0 ? strerror(-status) : first_words(msg));
		return status < 0 ? status : -EIO;
	}
	return 0;
}
