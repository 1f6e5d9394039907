// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Domain allow and block lists: parsing of --allow-domains style specs and
 * list files, and the reference verdict (domain_check). Items are checked
 * strictly here because they end up, verbatim, in Squid's configuration.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <idn2.h>

#include "domains.h"
#include "parse.h"

/* Longest rendering of a user value inside a reason, quotes included. */
#define SHOW_BUF 72
#define WHY_BUF 160

/* s quoted and escaped, safe to print in a reason; long values cut. */
static const char *show(char buf[SHOW_BUF], const char *s, size_t len)
{
	return quote_text(buf, SHOW_BUF, s, len, true);
}

static bool is_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_' || c == '.';
}

static bool all_digits(const char *s, size_t len)
{
	size_t i;

	if (!len)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Whether s is a canonical dotted quad (no leading zeros, each part <= 255). */
static bool is_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

/*
 * Checks a lowercase name without trailing dot and without "*.". strict
 * (items of a list) also refuses a label that starts or ends with '-'; hosts
 * being checked are held to RFC 1035 lengths and characters only. pattern
 * lets '*' stand inside labels. On success *numeric_tail says whether the
 * last label is all digits.
 */
static int check_name(const char *n, size_t len, bool strict, bool pattern,
		      bool *numeric_tail, char *why, size_t whylen)
{
	size_t i, start = 0;

	if (!len) {
		set_err(why, whylen, "empty name");
		return -EINVAL;
	}
	if (len > DOM_NAME_MAX) {
		set_err(why, whylen, "name longer than %d characters",
			DOM_NAME_MAX);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = n[i];

		if (!is_name_char(c) && !(pattern && c == '*')) {
			if (c > 0x20 && c < 0x7f)
				set_err(why, whylen,
					"character '%c' not allowed", c);
			else
				set_err(why, whylen,
					"character \\x%02x not allowed", c);
			return -EINVAL;
		}
	}
	for (i = 0; i <= len; i++) {
		size_t llen;

		if (i < len && n[i] != '.')
			continue;
		llen = i - start;
		if (!llen) {
			set_err(why, whylen, "empty label");
			return -EINVAL;
		}
		if (llen > DOM_LABEL_MAX) {
			set_err(why, whylen, "label longer than %d characters",
				DOM_LABEL_MAX);
			return -EINVAL;
		}
		if (strict && (n[start] == '-' || n[i - 1] == '-')) {
			set_err(why, whylen,
				"label starts or ends with a hyphen");
			return -EINVAL;
		}
		if (i == len)
			*numeric_tail = all_digits(n + start, llen);
		start = i + 1;
	}
	return 0;
}

/*
 * A pattern (a name with '*' inside labels, already through check_name):
 * no "**", and at least two literal labels after the last '*', so that it
 * never covers every name or a whole top-level domain. *tail is set to the
 * literal labels after the last '*'.
 */
static int check_pattern(const char *n, const char **tail, char *why,
			 size_t whylen)
{
	const char *last = strrchr(n, '*'), *dot;

	if (strstr(n, "**")) {
		set_err(why, whylen,
			"\"**\" in a label (one '*' already matches any run)");
		return -EINVAL;
	}
	dot = last ? strchr(last, '.') : NULL;
	if (!dot || !strchr(dot + 1, '.')) {
		set_err(why, whylen,
			"would match every name or a whole top-level domain (a pattern needs two labels without '*' after its last '*')");
		return -EINVAL;
	}
	/*
	 * A last label a resolver reads as a number (0x1f; all digits is
	 * refused already): a filled-in '*' could make the whole name an
	 * IPv4 address ("0*.0x7f.0x1" matches "0.0x7f.0x1").
	 */
	dot = strrchr(n, '.');
	if (!strncmp(dot + 1, "0x", 2) &&
	    !dot[3 + strspn(dot + 3, "0123456789abcdef")]) {
		set_err(why, whylen,
			"ambiguous: its last label is a hexadecimal number, a matching name can be an IPv4 address");
		return -EINVAL;
	}
	*tail = last ? strchr(last, '.') + 1 : n;
	return 0;
}

/*
 * Internationalised labels: s[0..len) (no "*.", no trailing dot) holds
 * bytes outside ASCII. Converted with libidn2 (IDNA2008 with the UTS #46
 * non-transitional mapping, as browsers do: case folded, NFC, "ß" kept)
 * into out, the ASCII ("xn--") form. A name without '*' is converted whole;
 * in a pattern each label is, and a label with '*' must be ASCII (a
 * wildcard cannot stand inside an encoded label). The result may only hold
 * [A-Za-z0-9._-]: a Unicode character that maps to '*', '/', ':' ... is
 * refused here, not taken for syntax.
 */
static int idn_convert(const char *s, size_t len, char *out, size_t outlen,
		       char *why, size_t whylen)
{
	const int flags = IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL;
	bool star = memchr(s, '*', len) != NULL;
	size_t o = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		size_t n = i - start;
		const char *lab = s + start;
		bool ascii = true;
		char in[DOM_NAME_MAX * 4 + 8], *a = NULL;
		int rc;

		if (i < len && (!star || s[i] != '.'))
			continue;
		for (size_t k = 0; k < n; k++)
			ascii &= (unsigned char)lab[k] < 0x80;
		if (ascii) {
			if (o + n + 2 > outlen)
				goto long_name;
			memcpy(out + o, lab, n);
			o += n;
		} else {
			if (memchr(lab, '*', n)) {
				set_err(why, whylen,
					"'*' inside a label with non-ASCII characters (a pattern cannot match inside an internationalised label)");
				return -EINVAL;
			}
			if (n >= sizeof(in))
				goto long_name;
			memcpy(in, lab, n);
			in[n] = '\0';
			rc = idn2_to_ascii_8z(in, &a, flags);
			if (rc != IDN2_OK) {
				set_err(why, whylen,
					"not a valid internationalised name (IDNA2008): %s",
					idn2_strerror(rc));
				return -EINVAL;
			}
			n = strlen(a);
			if (a[strspn(a, "abcdefghijklmnopqrstuvwxyz"
					"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")]) {
				idn2_free(a);
				set_err(why, whylen,
					"an internationalised name that maps to characters a name cannot hold");
				return -EINVAL;
			}
			if (o + n + 2 > outlen) {
				idn2_free(a);
				goto long_name;
			}
			memcpy(out + o, a, n);
			o += n;
			idn2_free(a);
		}
		if (i < len)
			out[o++] = '.';
		start = i + 1;
	}
	out[o] = '\0';
	return 0;
long_name:
	set_err(why, whylen, "name longer than %d characters", DOM_NAME_MAX);
	return -EINVAL;
}

/*
 * Parses one item (already trimmed, len > 0) into r; r->name is allocated.
 * On error writes the reason (without the item) into why.
 */
static int parse_item(const char *s, size_t len, struct domain_rule *r,
		      char *why, size_t whylen)
{
	unsigned scheme = DOM_ANY;
	bool wildcard = false, numeric_tail = false, is_ip = false;
	bool pattern, unicode = false;
	const char *p = s, *slash;
	size_t plen = len, i;
	char name[DOM_NAME_MAX + 1], ascii[DOM_NAME_MAX + 2];
	int err;

	/* Bytes that could start another config line, a comment or a quote. */
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == '\n' || c == '\r') {
			set_err(why, whylen, "newline not allowed");
			return -EINVAL;
		}
		if (c < 0x20 && c != '\t') {
			set_err(why, whylen, "control character not allowed");
			return -EINVAL;
		}
		if (c == 0x7f) {
			set_err(why, whylen, "control character not allowed");
			return -EINVAL;
		}
		if (c >= 0x80)
			unicode = true;	/* an IDN: converted below */
		if (c == ' ' || c == '\t') {
			set_err(why, whylen, "space inside an item");
			return -EINVAL;
		}
		if (c == '#') {
			set_err(why, whylen, "'#' not allowed");
			return -EINVAL;
		}
		if (c == '"' || c == '\'' || c == '`') {
			set_err(why, whylen, "quote not allowed");
			return -EINVAL;
		}
		if (c == '\\') {
			set_err(why, whylen, "backslash not allowed");
			return -EINVAL;
		}
	}

	if (plen >= 7 && !strncasecmp(p, "http://", 7)) {
		scheme = DOM_HTTP;
		p += 7;
		plen -= 7;
	} else if (plen >= 8 && !strncasecmp(p, "https://", 8)) {
		scheme = DOM_HTTPS;
		p += 8;
		plen -= 8;
	} else if (memmem(p, plen, "://", 3)) {
		set_err(why, whylen,
			"only http:// and https:// may precede a name");
		return -EINVAL;
	}

	slash = memchr(p, '/', plen);
	if (slash) {
		/* "https://c.net/" is tolerated, "https://c.net/x" is not. */
		if (slash == p || (size_t)(slash - p) != plen - 1) {
			set_err(why, whylen, "a path is not allowed");
			return -EINVAL;
		}
		plen--;
	}
	if (memchr(p, '[', plen) || memchr(p, ']', plen)) {
		set_err(why, whylen, "IPv6 addresses are not supported");
		return -EINVAL;
	}
	if (memchr(p, ':', plen)) {
		const char *c1 = memchr(p, ':', plen);

		if (memchr(c1 + 1, ':', plen - (size_t)(c1 + 1 - p)))
			set_err(why, whylen,
				"IPv6 addresses are not supported");
		else
			set_err(why, whylen, "a port is not allowed");
		return -EINVAL;
	}
	if (memchr(p, '@', plen)) {
		set_err(why, whylen, "user info ('@') is not allowed");
		return -EINVAL;
	}

	/* One trailing dot is the same name. */
	if (plen && p[plen - 1] == '.')
		plen--;
	if (!plen) {
		set_err(why, whylen, "empty name");
		return -EINVAL;
	}

	if (p[0] == '*') {
		if (plen == 1) {
			set_err(why, whylen, "\"*\" would allow every name");
			return -EINVAL;
		}
		if (p[1] == '.') {
			wildcard = true;
			p += 2;
			plen -= 2;
			if (!plen) {
				set_err(why, whylen,
					"empty name after \"*.\"");
				return -EINVAL;
			}
		}
	}
	if (unicode) {
		err = idn_convert(p, plen, ascii, sizeof(ascii), why, whylen);
		if (err)
			return err;
		p = ascii;
		plen = strlen(ascii);
		if (plen && p[plen - 1] == '.')	/* a mapped full stop */
			plen--;
		if (!plen) {
			set_err(why, whylen, "empty name");
			return -EINVAL;
		}
	}
	pattern = memchr(p, '*', plen) != NULL;
	if (plen > DOM_NAME_MAX) {
		set_err(why, whylen, "name longer than %d characters",
			DOM_NAME_MAX);
		return -EINVAL;
	}
	for (i = 0; i < plen; i++) {
		unsigned char c = p[i];

		name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	name[plen] = '\0';

	err = check_name(name, plen, true, pattern, &numeric_tail, why,
			 whylen);
	if (err)
		return err;
	if (pattern) {
		const char *tail;

		err = check_pattern(name, &tail, why, whylen);
		if (err)
			return err;
	}

	if (!numeric_tail && !pattern) {
		struct in_addr legacy;

		/* "17.0x2", "0x7f.1": names to us, addresses to inet_aton */
		if (inet_aton(name, &legacy)) {
			set_err(why, whylen,
				"ambiguous: a resolver reads it as an IPv4 address (write it as a.b.c.d)");
			return -EINVAL;
		}
	}
	if (numeric_tail) {
		if (pattern || !is_ipv4(name)) {
			set_err(why, whylen,
				"numeric last label, and not a dotted-quad IPv4 address");
			return -EINVAL;
		}
		if (wildcard) {
			set_err(why, whylen,
				"\"*.\" cannot precede an IP address");
			return -EINVAL;
		}
		is_ip = true;
	} else if (!memchr(name, '.', plen)) {
		if (wildcard)
			set_err(why, whylen,
				"\"*.%s\" would allow a whole top-level domain (a wildcard needs two labels after \"*.\")",
				name);
		else
			set_err(why, whylen,
				"a single-label name would allow a whole top-level domain");
		return -EINVAL;
	}

	r->name = strdup(name);
	if (!r->name) {
		set_err(why, whylen, "out of memory");
		return -ENOMEM;
	}
	r->scheme = scheme;
	r->wildcard = wildcard;
	r->pattern = pattern;
	r->is_ip = is_ip;
	return 0;
}

void domain_list_free(struct domain_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
	l->localhost = false;	/* the keyword setting stays the caller's */
}

static int list_reserve(struct domain_list *l, size_t extra)
{
	struct domain_rule *v;
	size_t cap;

	if (l->n + extra <= l->cap)
		return 0;
	if (extra > SIZE_MAX / sizeof(*v) / 2 - l->n)
		return -ENOMEM;
	cap = l->cap ? l->cap : 16;
	while (cap < l->n + extra)
		cap *= 2;
	v = realloc(l->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	l->cap = cap;
	return 0;
}

static int rule_cmp(const void *a, const void *b)
{
	const struct domain_rule *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->wildcard != y->wildcard)
		return x->wildcard ? 1 : -1;
	if (x->is_ip != y->is_ip)
		return x->is_ip ? 1 : -1;
	return 0;
}

/*
 * Moves every rule of tmp into l (tmp is left empty), then sorts l and
 * merges equal rules. Cannot fail once the room is reserved.
 */
static int list_merge(struct domain_list *l, struct domain_list *tmp)
{
	size_t i, o;
	int err;

	if (!tmp->n)
		return 0;
	err = list_reserve(l, tmp->n);
	if (err)
		return err;
	memcpy(l->v + l->n, tmp->v, tmp->n * sizeof(*tmp->v));
	l->n += tmp->n;
	free(tmp->v);
	tmp->v = NULL;
	tmp->n = tmp->cap = 0;

	qsort(l->v, l->n, sizeof(*l->v), rule_cmp);
	for (i = 1, o = 0; i < l->n; i++) {
		if (!rule_cmp(&l->v[o], &l->v[i])) {
			l->v[o].scheme |= l->v[i].scheme;
			free(l->v[i].name);
			continue;
		}
		l->v[++o] = l->v[i];
	}
	l->n = o + 1;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The agent firewall's "localhost" keyword, in the forms it takes. */
static bool is_localhost_item(const char *s, size_t len)
{
	if (len >= 7 && !strncasecmp(s, "http://", 7)) {
		s += 7;
		len -= 7;
	} else if (len >= 8 && !strncasecmp(s, "https://", 8)) {
		s += 8;
		len -= 8;
	}
	if (len && (s[len - 1] == '/' || s[len - 1] == '.'))
		len--;
	return len == 9 && !strncasecmp(s, "localhost", 9);
}

/*
 * Parses the comma-separated items of s[0..len) into tmp. where is a
 * prefix for reasons ("" or "PATH:LINE: "). With tmp->localhost_keyword,
 * a "localhost" item sets tmp->localhost instead.
 */
static int add_items(struct domain_list *tmp, const char *s, size_t len,
		     const char *where, char *err, size_t errlen)
{
	size_t pos = 0, item = 0;

	for (;;) {
		const char *comma = memchr(s + pos, ',', len - pos);
		size_t end = comma ? (size_t)(comma - s) : len;
		size_t a = pos, b = end;
		char why[WHY_BUF], sb[SHOW_BUF];
		struct domain_rule r;
		int e;

		item++;
		while (a < b && is_blank(s[a]))
			a++;
		while (b > a && is_blank(s[b - 1]))
			b--;
		if (a == b) {
			set_err(err, errlen, "%sitem %zu is empty", where,
				item);
			return -EINVAL;
		}
		if (tmp->localhost_keyword && is_localhost_item(s + a, b - a)) {
			tmp->localhost = true;
			goto next;
		}
		e = list_reserve(tmp, 1);
		if (e) {
			set_err(err, errlen, "%sout of memory", where);
			return e;
		}
		e = parse_item(s + a, b - a, &r, why, sizeof(why));
		if (e) {
			set_err(err, errlen, "%sinvalid item %s: %s", where,
				show(sb, s + a, b - a), why);
			return e;
		}
		tmp->v[tmp->n++] = r;
next:
		if (!comma)
			return 0;
		pos = end + 1;
	}
}

int domain_list_add_spec(struct domain_list *l, const char *spec, char *err,
			 size_t errlen)
{
	struct domain_list tmp = { .localhost_keyword = l->localhost_keyword };
	int e;

	if (!spec || !*spec) {
		set_err(err, errlen, "empty list");
		return -EINVAL;
	}
	e = add_items(&tmp, spec, strlen(spec), "", err, errlen);
	if (!e) {
		e = list_merge(l, &tmp);
		if (e)
			set_err(err, errlen, "out of memory");
		else
			l->localhost |= tmp.localhost;
	}
	domain_list_free(&tmp);
	return e;
}

int domain_list_add_file(struct domain_list *l, const char *path, char *err,
			 size_t errlen)
{
	struct domain_list tmp = { .localhost_keyword = l->localhost_keyword };
	char sb[SHOW_BUF], where[SHOW_BUF + 32];
	const char *shown;
	unsigned long lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	FILE *f;
	int e = 0;

	/* "PATH:LINE: " reads better without quotes around the path. */
	shown = quote_text(sb, SHOW_BUF, path, strlen(path), false);
	f = fopen(path, "re");
	if (!f) {
		e = -errno;
		set_err(err, errlen, "%s: %s", shown, strerror(-e));
		return e;
	}
	while ((got = getline(&line, &cap, f)) >= 0) {
		size_t len = (size_t)got, i;
		const char *hash;

		lineno++;
		snprintf(where, sizeof(where), "%s:%lu: ", shown, lineno);
		if (len && line[len - 1] == '\n')
			len--;
		if (len && line[len - 1] == '\r')
			len--;
		hash = memchr(line, '#', len);
		if (hash)
			len = (size_t)(hash - line);
		for (i = 0; i < len && is_blank(line[i]); i++)
			;
		if (i == len)
			continue;
		e = add_items(&tmp, line, len, where, err, errlen);
		if (e)
			goto out;
	}
	if (ferror(f)) {
		e = -EIO;
		set_err(err, errlen, "%s: read error", shown);
		goto out;
	}
	e = list_merge(l, &tmp);
	if (e)
		set_err(err, errlen, "out of memory");
	else
		l->localhost |= tmp.localhost;
out:
	free(line);
	fclose(f);
	domain_list_free(&tmp);
	return e;
}

static bool runnable(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/*
 * One label of a pattern against one label of a host: '*' matches any run
 * of [a-z0-9-], every other character itself. A table over the host's
 * characters, one row per pattern character (no backtracking to get
 * wrong); labels longer than a name cannot match.
 */
static bool label_glob(const char *pat, size_t pn, const char *s, size_t sn)
{
	bool row[DOM_NAME_MAX + 2], next[DOM_NAME_MAX + 2];

	if (!sn || sn > DOM_NAME_MAX || pn > DOM_NAME_MAX)
		return false;	/* an empty label is no label */
	row[0] = true;
	for (size_t j = 1; j <= sn; j++)
		row[j] = false;
	for (size_t i = 0; i < pn; i++) {
		next[0] = pat[i] == '*' && row[0];
		for (size_t j = 1; j <= sn; j++) {
			if (pat[i] == '*')
				next[j] = row[j] ||
					  (next[j - 1] && runnable(s[j - 1]));
			else
				next[j] = row[j - 1] && pat[i] == s[j - 1];
		}
		memcpy(row, next, (sn + 1) * sizeof(row[0]));
	}
	return row[sn];
}

/*
 * Whether host is a name the pattern's labels match one for one (sub:
 * with one or more labels in front, for "*." before a pattern).
 */
static bool pattern_match(const char *pat, const char *host, bool sub)
{
	size_t pn = strlen(pat), hn = strlen(host);

	for (;;) {
		const char *pl = pn ? memrchr(pat, '.', pn) : NULL;
		const char *hl = hn ? memrchr(host, '.', hn) : NULL;
		size_t ps = pl ? (size_t)(pl - pat) + 1 : 0;
		size_t hs = hl ? (size_t)(hl - host) + 1 : 0;

		if (!hn)
			return false;
		if (!label_glob(pat + ps, pn - ps, host + hs, hn - hs))
			return false;
		if (!ps)	/* the pattern's first label matched */
			return sub ? hs > 0 : hs == 0;
		pn = ps - 1;
		if (!hs)
			return false;
		hn = hs - 1;
	}
}

bool domain_rule_match(const struct domain_rule *r, const char *host)
{
	size_t n = strlen(r->name), h = strlen(host);

	if (r->is_ip)
		return !strcmp(r->name, host);
	if (r->pattern)
		return pattern_match(r->name, host, r->wildcard);
	if (!r->wildcard && h == n && !memcmp(host, r->name, n))
		return true;
	return h > n && host[h - n - 1] == '.' &&
	       !memcmp(host + h - n, r->name, n);
}

int domain_rule_valid(const struct domain_rule *r)
{
	bool numeric_tail = false, pattern;
	const char *tail;
	size_t len;

	if (!r || !r->name)
		return -EINVAL;
	if (!r->scheme || (r->scheme & ~DOM_ANY))
		return -EINVAL;
	len = strlen(r->name);
	pattern = strchr(r->name, '*') != NULL;
	if (pattern != r->pattern)
		return -EINVAL;
	if (check_name(r->name, len, true, pattern, &numeric_tail, NULL, 0))
		return -EINVAL;
	if (pattern && (r->is_ip || check_pattern(r->name, &tail, NULL, 0)))
		return -EINVAL;
	/* "*.x" alone is the parser's subdomain rule, never a pattern */
	if (pattern && !r->wildcard && !strncmp(r->name, "*.", 2))
		return -EINVAL;
	if (r->is_ip)
		return !r->wildcard && is_ipv4(r->name) ? 0 : -EINVAL;
	if (numeric_tail || !memchr(r->name, '.', len))
		return -EINVAL;
	return 0;
}

int domain_rule_regex(const struct domain_rule *r, char *buf, size_t len)
{
	size_t pos = 0;

	if (!buf || !len)
		return -E2BIG;
	buf[0] = '\0';
	if (domain_rule_valid(r) || r->is_ip)
		return -EINVAL;
	for (const char *c = r->name;; c++) {
		char one[2] = { *c, 0 };
		const char *piece;
		size_t n;

		if (c == r->name)
			piece = r->wildcard ? "^([a-z0-9_-]+[.])+" :
			        r->pattern ? "^" : "^([a-z0-9_-]+[.])*";
		else
			piece = "";
		n = strlen(piece);
		if (n) {
			if (pos + n >= len)
				goto big;
			memcpy(buf + pos, piece, n);
			pos += n;
		}
		if (!*c)
			piece = "$";
		else if (*c == '*' && (c == r->name || c[-1] == '.') &&
			 (!c[1] || c[1] == '.'))
			piece = "[a-z0-9-]+";	/* a whole label: never empty */
		else if (*c == '*')
			piece = "[a-z0-9-]*";
		else if (*c == '.')
			piece = "[.]";
		else if ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
			 *c == '-' || *c == '_')
			piece = one;
		else	/* never: domain_rule_valid() let no other through */
			return -EINVAL;
		n = strlen(piece);
		if (pos + n >= len)
			goto big;
		memcpy(buf + pos, piece, n + 1);
		pos += n;
		if (!*c)
			return (int)pos;
	}
big:
	buf[0] = '\0';
	return -E2BIG;
}

const char *domain_rule_dns_name(const struct domain_rule *r)
{
	const char *last = r->pattern ? strrchr(r->name, '*') : NULL;
	const char *dot = last ? strchr(last, '.') : NULL;

	return dot ? dot + 1 : r->name;
}

static bool any_match(const struct domain_list *l, const char *host,
		      unsigned scheme, bool ip)
{
	size_t i;

	if (!l)
		return false;
	for (i = 0; i < l->n; i++) {
		const struct domain_rule *r = &l->v[i];

		if (!(r->scheme & scheme) || r->is_ip != ip)
			continue;
		if (domain_rule_match(r, host))
			return true;
	}
	return false;
}

enum domain_verdict domain_check(const struct domain_list *allow,
				 const struct domain_list *block,
				 const char *host, unsigned scheme)
{
	char h[DOM_NAME_MAX + 2];
	bool numeric_tail = false, ip;
	struct in_addr a4;
	struct in6_addr a6;
	size_t len, i;

	if (!host || (scheme != DOM_HTTP && scheme != DOM_HTTPS))
		return DOM_DENY_INVALID;
	len = strlen(host);
	if (len && host[len - 1] == '.')
		len--;
	if (!len || len > DOM_NAME_MAX) {
		/* "[::1]" style hosts are short: long ones are just bad. */
		return DOM_DENY_INVALID;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = host[i];

		h[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	h[len] = '\0';

	/* IPv6 literals, bracketed or not: never listed. */
	if (h[0] == '[' || strchr(h, ':')) {
		char b[DOM_NAME_MAX + 2];
		const char *p = h;

		if (h[0] == '[' && len > 2 && h[len - 1] == ']') {
			memcpy(b, h + 1, len - 2);
			b[len - 2] = '\0';
			p = b;
		}
		return inet_pton(AF_INET6, p, &a6) == 1 ? DOM_DENY_IP :
							  DOM_DENY_INVALID;
	}
	/*
	 * Every form a resolver takes as an IPv4 address ("127.1",
	 * "0x7f000001", "2130706433") is an address; only the canonical
	 * dotted quad can be listed.
	 */
	if (inet_aton(h, &a4)) {
		ip = is_ipv4(h);
		if (!ip)
			return DOM_DENY_IP;
	} else {
		if (check_name(h, len, false, false, &numeric_tail, NULL, 0))
			return DOM_DENY_INVALID;
		if (numeric_tail)
			return DOM_DENY_IP;
		ip = false;
	}

	if (any_match(block, h, scheme, ip))
		return DOM_DENY_BLOCKED;
	if (any_match(allow, h, scheme, ip))
		return DOM_ALLOW;
	return ip ? DOM_DENY_IP : DOM_DENY_UNLISTED;
}

const char *domain_verdict_str(enum domain_verdict v)
{
	switch (v) {
	case DOM_ALLOW:
		return "allow";
	case DOM_DENY_UNLISTED:
		return "unlisted";
	case DOM_DENY_BLOCKED:
		return "blocked";
	case DOM_DENY_IP:
		return "ip";
	case DOM_DENY_INVALID:
		return "invalid";
	}
	return "unknown";
}
