// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonread.h"

struct jr_in {
	const char *s, *end;
	struct jr_doc *d;
	int depth;
};

static void skip_ws(struct jr_in *in)
{
	while (in->s < in->end && (*in->s == ' ' || *in->s == '\t' ||
				   *in->s == '\n' || *in->s == '\r'))
		in->s++;
}

static int new_node(struct jr_in *in, enum jr_type t)
{
	struct jr_doc *d = in->d;
	struct jr_node *n;

	if (d->n >= d->cap)
		return -E2BIG;
	n = &d->nodes[d->n];
	memset(n, 0, sizeof(*n));
	n->type = t;
	n->child = -1;
	n->next = -1;
	return d->n++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string literal at in->s (the opening quote) into the buffer. */
static int parse_string(struct jr_in *in, const char **out)
{
	struct jr_doc *d = in->d;
	char *o = d->buf + d->used, *start = o;
	const char *p = in->s + 1;

	while (p < in->end && *p != '"') {
		unsigned char c = (unsigned char)*p;
		unsigned cp, lo;

		/* the decoded text never outgrows its source, quotes included */
		if ((size_t)(o - d->buf) + 5 > d->bufcap)
			return -E2BIG;
		if (c < 0x20)
			return -EINVAL;
		if (c != '\\') {
			*o++ = (char)c;
			p++;
			continue;
		}
		if (++p >= in->end)
			return -EINVAL;
		switch (*p) {
		case '"':
		case '\\':
		case '/':
			*o++ = *p;
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u':
			if (in->end - p < 5 || hex4(p + 1, &cp))
				return -EINVAL;
			p += 4;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (in->end - p < 7 || p[1] != '\\' || p[2] != 'u' ||
				    hex4(p + 3, &lo) || lo < 0xdc00 || lo > 0xdfff)
					return -EINVAL;
				p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				return -EINVAL;
			}
			if (!cp)
				return -EINVAL;
			o += put_utf8(o, cp);
			break;
		default:
			return -EINVAL;
		}
		p++;
	}
	if (p >= in->end)
		return -EINVAL;
	*o++ = '\0';
	d->used = (size_t)(o - d->buf);
	in->s = p + 1;
	*out = start;
	return 0;
}

static int parse_number(struct jr_in *in, struct jr_node *n)
{
	const char *p = in->s, *digits;
	char tmp[64];
	size_t len;
	bool integer = true;

	if (p < in->end && *p == '-')
		p++;
	digits = p;
	if (p >= in->end || *p < '0' || *p > '9')
		return -EINVAL;
	if (*p == '0' && p + 1 < in->end && p[1] >= '0' && p[1] <= '9')
		return -EINVAL;
	while (p < in->end && *p >= '0' && *p <= '9')
		p++;
	if (p < in->end && *p == '.') {
		integer = false;
		if (++p >= in->end || *p < '0' || *p > '9')
			return -EINVAL;
		while (p < in->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < in->end && (*p == 'e' || *p == 'E')) {
		integer = false;
		p++;
		if (p < in->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= in->end || *p < '0' || *p > '9')
			return -EINVAL;
		while (p < in->end && *p >= '0' && *p <= '9')
			p++;
	}
	len = (size_t)(p - in->s);
	if (len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, in->s, len);
	tmp[len] = '\0';
	n->num = strtod(tmp, NULL);
	if (integer && *in->s != '-' && (size_t)(p - digits) <= 20) {
		errno = 0;
		n->u = strtoull(digits, NULL, 10);
		n->is_uint = errno == 0;
	}
	in->s = p;
	return 0;
}

static int literal(struct jr_in *in, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(in->end - in->s) < n || memcmp(in->s, word, n))
		return -EINVAL;
	in->s += n;
	return 0;
}

static int parse_value(struct jr_in *in);

/* Elements of an array or members of an object, linked under parent. */
static int parse_container(struct jr_in *in, int parent, bool object)
{
	char close = object ? '}' : ']';
	int prev = -1, idx, ret;

	if (++in->depth > JR_MAX_DEPTH)
		return -EINVAL;
	in->s++;
	skip_ws(in);
	if (in->s < in->end && *in->s == close) {
		in->s++;
		in->depth--;
		return 0;
	}
	for (;;) {
		const char *key = NULL;

		skip_ws(in);
		if (object) {
			if (in->s >= in->end || *in->s != '"')
				return -EINVAL;
			ret = parse_string(in, &key);
			if (ret)
				return ret;
			skip_ws(in);
			if (in->s >= in->end || *in->s != ':')
				return -EINVAL;
			in->s++;
			skip_ws(in);
		}
		idx = parse_value(in);
		if (idx < 0)
			return idx;
		in->d->nodes[idx].key = key;
		if (prev < 0)
			in->d->nodes[parent].child = idx;
		else
			in->d->nodes[prev].next = idx;
		prev = idx;
		skip_ws(in);
		if (in->s >= in->end)
			return -EINVAL;
		if (*in->s == ',') {
			in->s++;
			continue;
		}
		if (*in->s != close)
			return -EINVAL;
		in->s++;
		in->depth--;
		return 0;
	}
}

/* One value at in->s; returns its node index or a negative errno. */
static int parse_value(struct jr_in *in)
{
	int idx, ret;

	skip_ws(in);
	if (in->s >= in->end)
		return -EINVAL;
	switch (*in->s) {
	case '{':
	case '[':
		idx = new_node(in, *in->s == '{' ? JR_OBJ : JR_ARR);
		if (idx < 0)
			return idx;
		ret = parse_container(in, idx, in->d->nodes[idx].type == JR_OBJ);
		return ret ? ret : idx;
	case '"':
		idx = new_node(in, JR_STR);
		if (idx < 0)
			return idx;
		ret = parse_string(in, &in->d->nodes[idx].str);
		return ret ? ret : idx;
	case 't':
	case 'f':
		idx = new_node(in, JR_BOOL);
		if (idx < 0)
			return idx;
		in->d->nodes[idx].b = *in->s == 't';
		ret = literal(in, *in->s == 't' ? "true" : "false");
		return ret ? ret : idx;
	case 'n':
		idx = new_node(in, JR_NULL);
		if (idx < 0)
			return idx;
		ret = literal(in, "null");
		return ret ? ret : idx;
	}
	idx = new_node(in, JR_NUM);
	if (idx < 0)
		return idx;
	ret = parse_number(in, &in->d->nodes[idx]);
	return ret ? ret : idx;
}

int jr_parse(struct jr_doc *d, const char *s, size_t len)
{
	struct jr_in in = { s, s + len, d, 0 };
	int idx;

	d->n = 0;
	d->used = 0;
	if (!d->cap || !d->bufcap)
		return -E2BIG;
	idx = parse_value(&in);
	if (idx < 0)
		return idx;
	skip_ws(&in);
	return in.s == in.end ? 0 : -EINVAL;
}

const struct jr_node *jr_child(const struct jr_doc *d, const struct jr_node *n)
{
	return n && n->child >= 0 ? &d->nodes[n->child] : NULL;
}

const struct jr_node *jr_next(const struct jr_doc *d, const struct jr_node *n)
{
	return n && n->next >= 0 ? &d->nodes[n->next] : NULL;
}

const struct jr_node *jr_get(const struct jr_doc *d, const struct jr_node *obj,
			     const char *key)
{
	if (!obj || obj->type != JR_OBJ)
		return NULL;
	for (const struct jr_node *m = jr_child(d, obj); m; m = jr_next(d, m))
		if (m->key && !strcmp(m->key, key))
			return m;
	return NULL;
}

const char *jr_get_str(const struct jr_doc *d, const struct jr_node *obj,
		       const char *key)
{
	const struct jr_node *m = jr_get(d, obj, key);

	return m && m->type == JR_STR ? m->str : NULL;
}
