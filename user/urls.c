// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * URL rules (--allow-urls): parsing, their translation into POSIX regular
 * expressions for Squid's url_regex, and the reference matcher the
 * translation is tested against. The host part is parsed by domains.c, so
 * a rule's host obeys exactly the --allow-domains rules.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"
#include "urls.h"

#define SHOW_BUF 72
#define WHY_BUF 200

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* Characters a rule's path may hold, '%' aside (checked with its digits). */
static bool path_char_ok(unsigned char c)
{
	return is_alnum(c) || (c && strchr("-._~!&()*+;=:@/?", c));
}

static bool pct_forbidden(const char *p)
{
	return !strncasecmp(p, "%2e", 3) || !strncasecmp(p, "%2f", 3) ||
	       !strncasecmp(p, "%5c", 3);
}

bool url_path_unsafe(const char *path)
{
	const char *p = path, *seg = path;

	for (;; p++) {
		char c = *p;

		if (c == '\\')
			return true;
		if (c == '%' && pct_forbidden(p))
			return true;
		if (c == '/' || c == ';' || c == '?' || !c) {
			size_t n = (size_t)(p - seg);

			/* a segment is what follows a '/' */
			if (seg > path && seg[-1] == '/' &&
			    ((n == 1 && seg[0] == '.') ||
			     (n == 2 && seg[0] == '.' && seg[1] == '.')))
				return true;
			if (c == '?' || !c)
				return false;
			seg = p + 1;
		}
	}
}

void url_list_free(struct url_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].host.name);
		free(l->v[i].path);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

bool url_list_has(const struct url_list *l, unsigned scheme)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (l->v[i].host.scheme & scheme)
			return true;
	return false;
}

/* Parses one trimmed rule s[0..len) into r (allocates); reason into why. */
static int parse_rule(const char *s, size_t len, struct url_rule *r, char *why,
		      size_t whylen)
{
	char buf[URL_RULE_MAX + 1], host[DOM_NAME_MAX + 16], derr[WHY_BUF];
	struct domain_list dl = { 0 };
	const char *p, *hend, *path;
	unsigned scheme;
	uint16_t port = 0;
	size_t i, hlen;
	int e;

	if (len > URL_RULE_MAX) {
		set_err(why, whylen, "longer than %d characters", URL_RULE_MAX);
		return -EINVAL;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (i = 0; i < len; i++) {
		unsigned char c = buf[i];

		if (c < 0x20 || c >= 0x7f) {
			set_err(why, whylen,
				c >= 0x80 ? "byte outside ASCII (write an internationalised name in its xn-- form, a path %%-encoded)" :
					    "control character not allowed");
			return -EINVAL;
		}
		if (c == ' ') {
			set_err(why, whylen, "space inside a rule");
			return -EINVAL;
		}
	}
	if (!strncasecmp(buf, "https://", 8)) {
		scheme = DOM_HTTPS;
		p = buf + 8;
	} else if (!strncasecmp(buf, "http://", 7)) {
		scheme = DOM_HTTP;
		p = buf + 7;
	} else {
		set_err(why, whylen, "must start with http:// or https://");
		return -EINVAL;
	}
	if (*p == '[') {
		set_err(why, whylen, "IPv6 addresses are not supported");
		return -EINVAL;
	}
	hend = p + strcspn(p, ":/?");
	hlen = (size_t)(hend - p);
	if (!hlen) {
		set_err(why, whylen, "no host");
		return -EINVAL;
	}
	if (*hend == '?') {
		set_err(why, whylen, "a query needs a path first (\"/?\")");
		return -EINVAL;
	}
	path = hend;
	if (*hend == ':') {
		char num[8];
		size_t n = strcspn(hend + 1, "/?");
		char perr[64];

		if (!n || n >= sizeof(num)) {
			set_err(why, whylen, "bad port");
			return -EINVAL;
		}
		memcpy(num, hend + 1, n);
		num[n] = '\0';
		if (parse_port(num, &port, perr, sizeof(perr))) {
			set_err(why, whylen, "port: %s", perr);
			return -EINVAL;
		}
		path = hend + 1 + n;
		if (*path == '?') {
			set_err(why, whylen, "a query needs a path first (\"/?\")");
			return -EINVAL;
		}
	}
	if ((scheme == DOM_HTTPS && port == 443) ||
	    (scheme == DOM_HTTP && port == 80))
		port = 0;

	/* the host, as --allow-domains reads it */
	snprintf(host, sizeof(host), "%s%.*s", scheme == DOM_HTTPS ? "https://" : "http://",
		 (int)(hlen > DOM_NAME_MAX + 2 ? DOM_NAME_MAX + 3 : hlen), p);
	e = domain_list_add_spec(&dl, host, derr, sizeof(derr));
	if (e) {
		set_err(why, whylen, "host: %s", derr);
		return e;
	}
	if (dl.v[0].pattern) {
		set_err(why, whylen,
			"host: '*' inside a label is for --allow-domains; a rule's host is a name or \"*.\" and a name");
		goto bad;
	}

	for (i = 0; path[i]; i++) {
		unsigned char c = path[i];

		if (c == '%') {
			if (!is_hex(path[i + 1]) || !is_hex(path[i + 2])) {
				set_err(why, whylen,
					"'%%' must be followed by two hex digits");
				goto bad;
			}
			if (pct_forbidden(path + i)) {
				set_err(why, whylen,
					"an encoded '.', '/' or '\\' (%%2e, %%2f, %%5c) is not allowed");
				goto bad;
			}
			continue;
		}
		if (!path_char_ok(c)) {
			if (c == ',')
				set_err(why, whylen,
					"',' separates rules: write it %%2C in a path");
			else
				set_err(why, whylen,
					"character '%c' not allowed in a path", c);
			goto bad;
		}
	}
	if (path[0] && url_path_unsafe(path)) {
		set_err(why, whylen, "a dot segment (\"/./\", \"/../\") is not allowed");
		goto bad;
	}

	r->host = dl.v[0];
	dl.v[0].name = NULL;
	r->port = port;
	if (path[0]) {
		/* "**" is "*" */
		char *d = malloc(strlen(path) + 1);

		if (!d)
			goto nomem;
		for (i = 0, len = 0; path[i]; i++)
			if (path[i] != '*' || !len || d[len - 1] != '*')
				d[len++] = path[i];
		d[len] = '\0';
		r->path = d;
	} else {
		r->path = strdup("/*");
	}
	if (!r->path) {
		free(r->host.name);
		goto nomem;
	}
	domain_list_free(&dl);
	return 0;
nomem:
	set_err(why, whylen, "out of memory");
	domain_list_free(&dl);
	return -ENOMEM;
bad:
	domain_list_free(&dl);
	return -EINVAL;
}

static bool rule_eq(const struct url_rule *a, const struct url_rule *b)
{
	return a->host.scheme == b->host.scheme &&
	       a->host.wildcard == b->host.wildcard && a->port == b->port &&
	       !strcmp(a->host.name, b->host.name) && !strcmp(a->path, b->path);
}

int url_list_add_spec(struct url_list *l, const char *spec, char *err,
		      size_t errlen)
{
	struct url_rule *v = NULL;
	size_t n = 0, cap = 0, pos = 0, len, item = 0;
	int e = 0;

	if (!spec || !*spec) {
		set_err(err, errlen, "empty list");
		return -EINVAL;
	}
	len = strlen(spec);
	for (;;) {
		const char *comma = memchr(spec + pos, ',', len - pos);
		size_t end = comma ? (size_t)(comma - spec) : len, a = pos, b = end;
		char why[WHY_BUF], sb[SHOW_BUF];
		struct url_rule r = { 0 };

		item++;
		while (a < b && (spec[a] == ' ' || spec[a] == '\t'))
			a++;
		while (b > a && (spec[b - 1] == ' ' || spec[b - 1] == '\t'))
			b--;
		if (a == b) {
			set_err(err, errlen, "rule %zu is empty", item);
			e = -EINVAL;
			goto out;
		}
		e = parse_rule(spec + a, b - a, &r, why, sizeof(why));
		if (e) {
			set_err(err, errlen, "invalid rule %s: %s",
				quote_text(sb, SHOW_BUF, spec + a, b - a, true), why);
			goto out;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct url_rule *nv = realloc(v, nc * sizeof(*nv));

			if (!nv) {
				free(r.host.name);
				free(r.path);
				set_err(err, errlen, "out of memory");
				e = -ENOMEM;
				goto out;
			}
			v = nv;
			cap = nc;
		}
		v[n++] = r;
		if (!comma)
			break;
		pos = end + 1;
	}
	/* all parsed: move into l, equal rules once */
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		for (size_t j = 0; j < l->n && !dup; j++)
			dup = rule_eq(&l->v[j], &v[i]);
		if (dup) {
			free(v[i].host.name);
			free(v[i].path);
			v[i].host.name = NULL;
			v[i].path = NULL;
			continue;
		}
		if (l->n == l->cap) {
			size_t nc = l->cap ? l->cap * 2 : 8;
			struct url_rule *nv = realloc(l->v, nc * sizeof(*nv));

			if (!nv) {
				/* undo: the list must be as it was */
				set_err(err, errlen, "out of memory");
				e = -ENOMEM;
				goto out;
			}
			l->v = nv;
			l->cap = nc;
		}
		l->v[l->n++] = v[i];
		v[i].host.name = NULL;
		v[i].path = NULL;
	}
out:
	for (size_t i = 0; i < n; i++) {
		free(v[i].host.name);
		free(v[i].path);
	}
	free(v);
	return e;
}

/* Appends s to buf (pos, len); false when it does not fit. */
static bool put(char *buf, size_t len, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (*pos + n >= len)
		return false;
	memcpy(buf + *pos, s, n + 1);
	*pos += n;
	return true;
}

static bool put_host(char *buf, size_t len, size_t *pos,
		     const struct domain_rule *h)
{
	char one[2] = { 0 };

	if (h->wildcard && !put(buf, len, pos, "([a-z0-9_-]+[.])+"))
		return false;
	for (const char *c = h->name; *c; c++) {
		one[0] = *c;
		if (!put(buf, len, pos, *c == '.' ? "[.]" : one))
			return false;
	}
	return true;
}

int url_host_regex(const struct domain_rule *h, char *buf, size_t len)
{
	size_t pos = 0;

	if (!len)
		return -E2BIG;
	buf[0] = '\0';
	if (put(buf, len, &pos, "^") && put_host(buf, len, &pos, h) &&
	    put(buf, len, &pos, "$"))
		return (int)pos;
	buf[0] = '\0';
	return -E2BIG;
}

int url_rule_regex(const struct url_rule *r, char *buf, size_t len)
{
	char port[16], one[2] = { 0 };
	size_t pos = 0;
	bool ok;

	if (!len)
		return -E2BIG;
	buf[0] = '\0';
	if (r->port)
		snprintf(port, sizeof(port), ":%u", r->port);
	else
		snprintf(port, sizeof(port), "(:%u)?",
			 r->host.scheme == DOM_HTTPS ? 443 : 80);
	ok = put(buf, len, &pos,
		 r->host.scheme == DOM_HTTPS ? "^https://" : "^http://") &&
	     put_host(buf, len, &pos, &r->host) && put(buf, len, &pos, port);
	for (const char *c = r->path; ok && *c; c++) {
		one[0] = *c;
		if (*c == '*')
			ok = put(buf, len, &pos, ".*");
		else if (strchr(".()+?", *c)) {
			char cls[4] = { '[', *c, ']', 0 };

			ok = put(buf, len, &pos, cls);
		} else {
			ok = put(buf, len, &pos, one);
		}
	}
	ok = ok && put(buf, len, &pos, "$");
	if (!ok) {
		buf[0] = '\0';
		return -E2BIG;
	}
	return (int)pos;
}

/* Glob: '*' any run, everything else itself; the whole of s. */
static bool glob_match(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat == *s) {
			pat++;
			s++;
		} else if (star) {
			pat = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return !*pat;
}

static bool host_ok(const char *h, size_t n)
{
	size_t label = 0;

	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = h[i];

		if (c == '.') {
			if (!label)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
		label++;
	}
	return label > 0;
}

bool url_rule_match(const struct url_rule *r, const char *url)
{
	const char *want = r->host.scheme == DOM_HTTPS ? "https://" : "http://";
	char host[DOM_NAME_MAX * 2 + 2], port[16];
	const char *p, *hend, *path;
	size_t hlen;

	if (strncmp(url, want, strlen(want)))
		return false;
	p = url + strlen(want);
	hend = p + strcspn(p, ":/");
	hlen = (size_t)(hend - p);
	if (hlen >= sizeof(host) || !host_ok(p, hlen))
		return false;
	memcpy(host, p, hlen);
	host[hlen] = '\0';
	/* the host itself; subdomains only with "*." (then not the apex) */
	if (r->host.wildcard ? !domain_rule_match(&r->host, host) :
			       strcmp(r->host.name, host))
		return false;
	path = hend;
	if (*hend == ':') {
		size_t n = strcspn(hend, "/");

		if (n >= sizeof(port))
			return false;
		memcpy(port, hend, n);
		port[n] = '\0';
		path = hend + n;
		snprintf(host, sizeof(host), ":%u",
			 r->port ? r->port : (r->host.scheme == DOM_HTTPS ? 443 : 80));
		if (strcmp(port, host))
			return false;
	} else if (r->port) {
		return false;
	}
	if (*path != '/')
		return false;
	return glob_match(r->path, path);
}
