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

#include "parse.h"
#include "squid_conf.h"

#define SHOW_BUF 72
/* Entries per ACL line: short lines, far from Squid's line limit. */
#define ACL_PER_LINE 8

static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

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
	return check_list("block", o->block, err, errlen);
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

struct acl_sets {
	struct name_set dots; /* ".name": the name and its subdomains */
	struct name_set ips; /* exact raw IPv4 addresses */
	struct name_set excl; /* exact names to take out again */
};

static void sets_free(struct acl_sets *s)
{
	ns_free(&s->dots);
	ns_free(&s->ips);
	ns_free(&s->excl);
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

/* Which of the four ACLs of one (scheme, ACL type) pair exist. */
struct acl_group {
	char allow[32], allow_x[32], block[32], block_x[32];
	bool has_allow, has_allow_x, has_block, has_block_x;
};

static void put_group(FILE *f, struct acl_group *g, const char *prefix,
		      const char *type, const struct acl_sets *allow,
		      const struct acl_sets *block)
{
	snprintf(g->allow, sizeof(g->allow), "%s_allow", prefix);
	snprintf(g->allow_x, sizeof(g->allow_x), "%s_allow_x", prefix);
	snprintf(g->block, sizeof(g->block), "%s_block", prefix);
	snprintf(g->block_x, sizeof(g->block_x), "%s_block_x", prefix);
	g->has_allow = put_acl(f, g->allow, type, &allow->dots, &allow->ips);
	g->has_allow_x = put_acl(f, g->allow_x, type, NULL, &allow->excl);
	g->has_block = put_acl(f, g->block, type, &block->dots, &block->ips);
	g->has_block_x = put_acl(f, g->block_x, type, NULL, &block->excl);
}

/*
 * The deny lines of one group, for directive dir ("http_access",
 * "ssl_bump") with deny word deny ("deny", "terminate") and extra ACLs pre
 * ("CONNECT " or ""): blocked names, then the apexes taken out again, then
 * (with unlisted) every name not on the allowlist. What is left is allowed
 * and falls through to the lines after these.
 */
static void put_denials(FILE *f, const struct acl_group *g, const char *dir,
			const char *deny, const char *pre, bool unlisted)
{
	if (g->has_block && g->has_block_x)
		fprintf(f, "%s %s %s%s !%s\n", dir, deny, pre, g->block,
			g->block_x);
	else if (g->has_block)
		fprintf(f, "%s %s %s%s\n", dir, deny, pre, g->block);
	if (g->has_allow_x)
		fprintf(f, "%s %s %s%s\n", dir, deny, pre, g->allow_x);
	if (!unlisted)
		return;
	if (g->has_allow)
		fprintf(f, "%s %s %s!%s\n", dir, deny, pre, g->allow);
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

static int put_conf(FILE *f, const struct squid_conf_opts *o)
{
	struct acl_sets allow_http = { 0 }, allow_tls = { 0 };
	struct acl_sets block_http = { 0 }, block_tls = { 0 };
	struct acl_group http, conn, sni;
	int rl = (int)strlen(o->run_dir);
	const char *a = o->listen_addr;
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
	fprintf(f,
		"# Listeners. Squid refuses to start with intercept ports only;\n"
		"# the forward-proxy port is the ordinary one it needs.\n"
		"http_port %s:%u name=nf_fwd\n"
		"http_port %s:%u intercept name=nf_http\n"
		"https_port %s:%u intercept ssl-bump tls-cert=%s generate-host-certificates=off name=nf_tls\n"
		"\n",
		a, o->fwd_port, a, o->http_port, a, o->https_port,
		o->cert_path);
	put_files(f, o, rl);
	put_dns(f, o);

	fprintf(f, "# Where a request came in and where it goes.\n"
		   "acl nf_fwd myportname nf_fwd\n"
		   "acl nf_http myportname nf_http\n"
		   "acl nf_tls myportname nf_tls\n"
		   "acl nf_step1 at_step SslBump1\n"
		   "acl nf_http_proto proto HTTP\n");
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
	put_group(f, &http, "nf_http", "dstdomain -n", &allow_http,
		  &block_http);
	put_group(f, &conn, "nf_conn", "dstdomain -n", &allow_tls, &block_tls);
	put_group(f, &sni, "nf_sni", "ssl::server_name", &allow_tls,
		  &block_tls);

	fprintf(f,
		"\n"
		"http_access deny manager\n"
		"\n"
		"# Intercepted TLS: allow the internal CONNECT Squid makes for the\n"
		"# original destination (without it Squid bumps and refuses); the\n"
		"# SNI decides below, in ssl_bump.\n"
		"http_access deny nf_tls !CONNECT\n"
		"http_access deny nf_tls nf_badnet\n");
	if (!o->allow_loopback_dst)
		fprintf(f, "http_access deny nf_tls nf_loopback\n");
	fprintf(f,
		"http_access allow nf_tls\n"
		"\n"
		"# CONNECT: on the forward port only, to the TLS ports only.\n"
		"http_access deny CONNECT !nf_fwd\n"
		"http_access deny CONNECT !nf_tls_ports\n");
	put_denials(f, &conn, "http_access", "deny", "CONNECT ", true);
	if (conn.has_allow) {
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
	put_denials(f, &http, "http_access", "deny", "", true);
	if (http.has_allow) {
		fprintf(f, "http_access deny nf_badnet\n");
		if (!o->allow_loopback_dst)
			fprintf(f, "http_access deny nf_loopback\n");
		fprintf(f, "http_access allow %s\n", http.allow);
	}
	fprintf(f,
		"http_access deny all\n"
		"\n"
		"# TLS: peek at the client hello for the SNI, splice (never decrypt)\n"
		"# what is allowed, terminate the rest.\n"
		"ssl_bump peek nf_step1\n");
	put_denials(f, &sni, "ssl_bump", "terminate", "", false);
	if (sni.has_allow)
		fprintf(f, "ssl_bump splice %s\n", sni.allow);
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
 * Runs argv (no shell; argv[0] is looked up in a fixed list of directories
 * first, then in PATH), stdin and stdout on /dev/null, stderr captured into
 * out. Returns the wait status, or a negative errno if it could not run.
 */
static int run_captured(char *const argv[], const char *const *paths, char *out,
			size_t outlen)
{
	int pfd[2], status, devnull;
	size_t used = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		int e = -errno;

		close(pfd[0]);
		close(pfd[1]);
		return e;
	}
	pid = fork();
	if (pid < 0) {
		int e = -errno;

		close(pfd[0]);
		close(pfd[1]);
		close(devnull);
		return e;
	}
	if (pid == 0) {
		static const char msg[] = "cannot execute the command\n";
		sigset_t none;
		int i;

		/* Only async-signal-safe calls from here on. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (i = 1; i < NSIG; i++)
			if (i != SIGKILL && i != SIGSTOP)
				signal(i, SIG_DFL);
		if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 ||
		    dup2(pfd[1], 2) < 0)
			_exit(127);
		umask(077);
		for (i = 0; paths[i]; i++)
			execv(paths[i], argv);
		execvp(argv[0], argv);
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	close(devnull);
	for (;;) {
		char buf[256];
		ssize_t n = read(pfd[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (outlen && used < outlen - 1) {
			size_t k = (size_t)n;

			if (k > outlen - 1 - used)
				k = outlen - 1 - used;
			memcpy(out + used, buf, k);
			used += k;
		}
	}
	if (outlen)
		out[used] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return status;
}

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

/* Appends the whole file at path to fd. */
static int append_file(int fd, const char *path)
{
	char buf[4096];
	int in, e = 0;

	in = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf)), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = -errno;
			break;
		}
		if (!n)
			break;
		while (off < n) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				e = -errno;
				goto out;
			}
			off += w;
		}
	}
out:
	close(in);
	return e;
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

int cert_generate(const char *dir, char *path_out, size_t len, char *err,
		  size_t errlen)
{
	static const char *const paths[] = { "/usr/bin/openssl",
					     "/usr/local/bin/openssl", NULL };
	char key[PATH_MAX] = "", crt[PATH_MAX] = "", tmp[PATH_MAX] = "";
	char final[PATH_MAX], msg[CMD_OUT_MAX], sb[SHOW_BUF];
	const char *why;
	int fd, e = 0, status;

	if (!dir || !*dir || !path_out) {
		set_err(err, errlen, "certificate: no directory");
		return -EINVAL;
	}
	why = token_problem(dir);
	if (why) {
		set_err(err, errlen, "certificate directory %s: %s",
			show(sb, dir), why);
		return -EINVAL;
	}
	if ((size_t)snprintf(final, sizeof(final), "%s/" SQUID_CERT_FILE,
			     dir) >= sizeof(final) ||
	    strlen(final) >= len) {
		set_err(err, errlen, "certificate directory %s: path too long",
			show(sb, dir));
		return -ENAMETOOLONG;
	}

	/* openssl writes into these private (0600) files of ours. */
	fd = make_temp(key, sizeof(key), dir, "intercept-key");
	if (fd < 0) {
		e = fd;
		goto fail_io;
	}
	close(fd);
	fd = make_temp(crt, sizeof(crt), dir, "intercept-crt");
	if (fd < 0) {
		e = fd;
		goto fail_io;
	}
	close(fd);

	{
		char *const argv[] = {
			"openssl",
			"req",
			"-x509",
			"-newkey",
			"ec",
			"-pkeyopt",
			"ec_paramgen_curve:prime256v1",
			"-nodes",
			"-days",
			"1",
			"-subj",
			"/CN=netfence-intercept",
			"-keyout",
			key,
			"-out",
			crt,
			NULL,
		};

		status = run_captured(argv, (const char *const *)paths, msg,
				      sizeof(msg));
	}
	if (status < 0) {
		set_err(err, errlen, "certificate: cannot run openssl: %s",
			strerror(-status));
		e = status;
		goto cleanup;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			set_err(err, errlen,
				"certificate: cannot run openssl (is it installed?)");
		else if (WIFEXITED(status))
			set_err(err, errlen,
				"certificate: openssl failed (exit %d): %s",
				WEXITSTATUS(status), first_words(msg));
		else
			set_err(err, errlen,
				"certificate: openssl killed by signal %d",
				WTERMSIG(status));
		e = -EIO;
		goto cleanup;
	}

	fd = make_temp(tmp, sizeof(tmp), dir, "intercept");
	if (fd < 0) {
		e = fd;
		goto fail_io;
	}
	e = append_file(fd, crt);
	if (!e)
		e = append_file(fd, key);
	if (!e && fchmod(fd, 0600))
		e = -errno;
	if (close(fd) && !e)
		e = -errno;
	if (!e && rename(tmp, final))
		e = -errno;
	if (e)
		goto fail_io;
	tmp[0] = '\0';
	strcpy(path_out, final); /* length checked above */
	goto cleanup;

fail_io:
	set_err(err, errlen, "certificate in %s: %s", show(sb, dir),
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
