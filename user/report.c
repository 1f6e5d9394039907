// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The run report: parsing and aggregation. Rendering: report_render.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include "domains.h"
#include "jsonread.h"
#include "parse.h"
#include "report.h"

#define EVENT_NODES	96
#define META_MAX	(1u << 20)	/* run.json is small; more is not ours */
#define NAME_MAX_LEN	512		/* longer names are cut */
#define TIME_MAX_NS	(INT64_C(7258118400) * 1000000000)	/* 2200-01-01 */

struct rep_procset {
	char *addr;
	char *procs[REP_PROCS_MAX];
	int nprocs;
	uint64_t more;
};

static const char *const verdict_keys[RV_N] = {
	[RV_KERNEL_REFUSED] = "kernel_refused",
	[RV_SQUID_REFUSED] = "squid_refused",
	[RV_DNS_REFUSED] = "dns_refused",
	[RV_ALLOWED] = "allowed",
	[RV_BYPASSED] = "bypassed",
};

static const char *const verdict_labels[RV_N] = {
	[RV_KERNEL_REFUSED] = "refused in the kernel",
	[RV_SQUID_REFUSED] = "refused by Squid",
	[RV_DNS_REFUSED] = "DNS refused",
	[RV_ALLOWED] = "allowed through Squid",
	[RV_BYPASSED] = "bypassed direct",
};

const char *rep_verdict_key(int v)
{
	return v >= 0 && v < RV_N ? verdict_keys[v] : "unknown";
}

const char *rep_verdict_label(int v)
{
	return v >= 0 && v < RV_N ? verdict_labels[v] : "unknown";
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("Error: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = xrealloc(NULL, n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

static uint64_t fnv(const char *s, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void report_init(struct report *r)
{
	memset(r, 0, sizeof(*r));
}

static void list_free(struct rep_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void report_free(struct report *r)
{
	struct rep_meta *m = &r->meta;

	for (size_t i = 0; i < r->n_dests; i++) {
		struct rep_dest *d = &r->dests[i];

		free(d->name);
		free(d->reason);
		free(d->proto);
		for (int k = 0; k < d->nprocs; k++)
			free(d->procs[k]);
		for (int k = 0; k < d->naddrs; k++)
			free(d->addrs[k]);
	}
	for (size_t i = 0; i < r->n_procsets; i++) {
		free(r->procsets[i].addr);
		for (int k = 0; k < r->procsets[i].nprocs; k++)
			free(r->procsets[i].procs[k]);
	}
	free(r->dests);
	free(r->slots);
	free(r->procsets);
	free(r->pslots);
	free(r->points);
	free(r->nodes);
	free(r->strbuf);
	free(m->command);
	free(m->version);
	free(m->kernel);
	free(m->redirect_ports);
	free(m->tls_ports);
	free(m->tls_decryption);
	free(m->upstream);
	list_free(&m->urls);
	free(m->host_ports);
	free(m->loopback);
	list_free(&m->allow);
	list_free(&m->block);
	list_free(&m->bypass);
	list_free(&m->resolvers);
	list_free(&m->gateways);
	memset(r, 0, sizeof(*r));
}

/* ---- time ------------------------------------------------------------- */

void rfc3339_ns(int64_t ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ns / 1000000000);
	long us = (long)((ns % 1000000000) / 1000);
	struct tm tm;

	if (ns < 0 || !gmtime_r(&sec, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, us);
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int rfc3339_parse(const char *s, int64_t *ns)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, scale = 100000000;
	struct tm tm = { 0 };
	time_t t;

	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' ||
	    digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
	    s[16] != ':' || digits(s + 17, 2, &sec))
		return -EINVAL;
	s += 19;
	if (*s == '.') {
		if (s[1] < '0' || s[1] > '9')
			return -EINVAL;
		for (s++; *s >= '0' && *s <= '9'; s++) {
			frac += (*s - '0') * scale;
			scale /= 10;
		}
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s == '-' ? -1 : 1;
		if (digits(s + 1, 2, &oh) || s[3] != ':' || digits(s + 4, 2, &om))
			return -EINVAL;
		s += 6;
	} else {
		return -EINVAL;
	}
	/* 1970 to 2200: nanoseconds since the epoch fit in 64 bits */
	if (*s || y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	t -= sign * (oh * 3600 + om * 60);
	if (t < 0)
		return -EINVAL;
	*ns = (int64_t)t * 1000000000 + frac;
	return 0;
}

/* ---- destinations ------------------------------------------------------ */

static void grow_slots(uint32_t **slots, size_t *n_slots, size_t used,
		       uint64_t (*hash)(const void *, size_t), const void *ctx)
{
	size_t n = *n_slots ? *n_slots * 2 : 256;
	uint32_t *s;

	if (used * 2 < *n_slots)
		return;
	s = xrealloc(NULL, n * sizeof(*s));
	memset(s, 0, n * sizeof(*s));
	for (size_t i = 0; i < used; i++) {
		size_t h = (size_t)hash(ctx, i) & (n - 1);

		while (s[h])
			h = (h + 1) & (n - 1);
		s[h] = (uint32_t)(i + 1);
	}
	free(*slots);
	*slots = s;
	*n_slots = n;
}

static uint64_t dest_hash(int verdict, const char *name, size_t n)
{
	unsigned char v = (unsigned char)verdict;

	return fnv(name, n, fnv((const char *)&v, 1, 0xcbf29ce484222325ull));
}

static uint64_t dest_hash_at(const void *ctx, size_t i)
{
	const struct report *r = ctx;

	return dest_hash(r->dests[i].verdict, r->dests[i].name,
			 strlen(r->dests[i].name));
}

/* The row of (verdict, name), made on first sight. */
static struct rep_dest *dest_get(struct report *r, int verdict, const char *name,
				 size_t n)
{
	struct rep_dest *d;
	size_t h;

	if (n > NAME_MAX_LEN)
		n = NAME_MAX_LEN;
	grow_slots(&r->slots, &r->n_slots, r->n_dests, dest_hash_at, r);
	h = (size_t)dest_hash(verdict, name, n) & (r->n_slots - 1);
	while (r->slots[h]) {
		d = &r->dests[r->slots[h] - 1];
		if (d->verdict == verdict && !strncmp(d->name, name, n) &&
		    !d->name[n])
			return d;
		h = (h + 1) & (r->n_slots - 1);
	}
	if (r->n_dests == r->cap_dests) {
		r->cap_dests = r->cap_dests ? r->cap_dests * 2 : 64;
		r->dests = xrealloc(r->dests, r->cap_dests * sizeof(*r->dests));
	}
	d = &r->dests[r->n_dests];
	memset(d, 0, sizeof(*d));
	d->name = xstrndup(name, n);
	d->verdict = verdict;
	r->slots[h] = (uint32_t)++r->n_dests;
	return d;
}

static void add_point(struct report *r, int64_t t, int verdict)
{
	if (!t) {
		r->untimed++;
		return;
	}
	if (r->n_points == r->cap_points) {
		r->cap_points = r->cap_points ? r->cap_points * 2 : 1024;
		r->points = xrealloc(r->points, r->cap_points * sizeof(*r->points));
	}
	r->points[r->n_points].t_ns = t;
	r->points[r->n_points].verdict = (uint8_t)verdict;
	r->n_points++;
}

/* Adds s to a small set of strings (kept up to max, then counted). */
static void set_add(char **v, int *n, int max, uint64_t *more, const char *s)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(v[i], s))
			return;
	if (*n < max)
		v[(*n)++] = xstrdup(s);
	else if (more)
		(*more)++;
}

static void count_attempt(struct report *r, struct rep_dest *d, int64_t t,
			  const char *reason, const char *proto)
{
	d->count++;
	r->totals[d->verdict]++;
	if (t && (!d->first_ns || t < d->first_ns))
		d->first_ns = t;
	if (t && t > d->last_ns)
		d->last_ns = t;
	if (!d->reason && reason)
		d->reason = xstrdup(reason);
	if (!d->proto && proto)
		d->proto = xstrdup(proto);
	add_point(r, t, d->verdict);
}

/* "a.b.c.d:port" or "[v6]:port": the port, 0 if none. */
static uint16_t port_of(const char *s)
{
	const char *c = strrchr(s, ':');
	unsigned long v;
	char *end;

	if (!c || !c[1])
		return 0;
	v = strtoul(c + 1, &end, 10);
	return *end || v > 65535 ? 0 : (uint16_t)v;
}

static bool is_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

/* ---- access.log -------------------------------------------------------- */

/*
 * The netfence logformat (squid_conf.h SQUID_LOGFORMAT), 14 fields:
 * time client orig-dst listen method domain sni bump status result server
 * bytes-in bytes-out ms.
 */
#define ACCESS_FIELDS 14

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool field_is(const char *f, size_t n, const char *s)
{
	return strlen(s) == n && !memcmp(f, s, n);
}

int report_access_line(struct report *r, const char *line, size_t len)
{
	const char *f[ACCESS_FIELDS];
	size_t fl[ACCESS_FIELDS], nf = 0, i = 0;
	char name[NAME_MAX_LEN + 1], reason[64], addr[80];
	const char *dot, *nm;
	size_t nn;
	int64_t t;
	int status, verdict;
	bool https;
	struct rep_dest *d;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (!len)
		return 0;
	r->lines_access++;
	while (i < len) {
		while (i < len && line[i] == ' ')
			i++;
		if (i >= len)
			break;
		if (nf == ACCESS_FIELDS)
			goto skip;
		f[nf] = line + i;
		while (i < len && line[i] != ' ') {
			if ((unsigned char)line[i] < 0x20)
				goto skip;
			i++;
		}
		fl[nf] = (size_t)(line + i - f[nf]);
		nf++;
	}
	if (nf != ACCESS_FIELDS)
		goto skip;
	/* time: seconds.millis */
	dot = memchr(f[0], '.', fl[0]);
	if (!dot || !all_digits(f[0], (size_t)(dot - f[0])) ||
	    !all_digits(dot + 1, fl[0] - (size_t)(dot - f[0]) - 1) ||
	    dot - f[0] > 10 || fl[0] - (size_t)(dot - f[0]) - 1 > 9)
		goto skip;
	/* up to 10 digits of seconds: 64-bit nanoseconds until 2262 */
	t = strtoll(f[0], NULL, 10);
	if (t > 9000000000LL)
		goto skip;
	t *= 1000000000;
	{
		int64_t frac = 0, scale = 100000000;

		for (const char *p = dot + 1; p < f[0] + fl[0]; p++, scale /= 10)
			frac += (*p - '0') * scale;
		t += frac;
	}
	if (fl[8] > 3 || !all_digits(f[8], fl[8]) || !all_digits(f[11], fl[11]) ||
	    !all_digits(f[12], fl[12]) || fl[11] > 19 || fl[12] > 19)
		goto skip;
	status = 0;
	for (size_t k = 0; k < fl[8]; k++)
		status = status * 10 + (f[8][k] - '0');
	/*
	 * A spliced TLS connection is logged twice: Squid's own CONNECT at the
	 * splice (NONE_NONE, status 0), then the tunnel. The tunnel counts.
	 */
	if (!status && field_is(f[7], fl[7], "splice") &&
	    fl[9] >= 4 && !memcmp(f[9], "NONE", 4))
		return 0;

	https = field_is(f[4], fl[4], "CONNECT") || !field_is(f[7], fl[7], "-");
	verdict = RV_ALLOWED;
	if (memmem(f[9], fl[9], "DENIED", 6) || status == 403 || status == 409 ||
	    field_is(f[7], fl[7], "terminate"))
		verdict = RV_SQUID_REFUSED;
	/* the name asked for: TLS SNI, else the request's host, else the address */
	if (!field_is(f[6], fl[6], "-")) {
		nm = f[6];
		nn = fl[6];
	} else if (!field_is(f[5], fl[5], "-")) {
		nm = f[5];
		nn = fl[5];
	} else {
		nm = f[2];
		nn = fl[2];
	}
	if (nn > NAME_MAX_LEN)
		nn = NAME_MAX_LEN;
	memcpy(name, nm, nn);
	name[nn] = '\0';
	snprintf(reason, sizeof(reason), "%.*s/%03d", (int)(fl[9] < 40 ? fl[9] : 40),
		 f[9], status);
	d = dest_get(r, verdict, name, nn);
	count_attempt(r, d, t, reason, https ? "https" : "http");
	d->has_bytes = true;
	d->bytes_in += strtoull(f[11], NULL, 10);
	d->bytes_out += strtoull(f[12], NULL, 10);
	if (fl[2] < sizeof(addr)) {
		memcpy(addr, f[2], fl[2]);
		addr[fl[2]] = '\0';
		set_add(d->addrs, &d->naddrs, REP_ADDRS_MAX, NULL, addr);
		if (!d->port)
			d->port = port_of(addr);
	}
	d->ip_literal = is_ipv4(d->name);
	return 0;
skip:
	r->skipped_access++;
	return -EINVAL;
}

/* ---- events.jsonl ------------------------------------------------------- */

static uint64_t pset_hash_at(const void *ctx, size_t i)
{
	const struct report *r = ctx;

	return fnv(r->procsets[i].addr, strlen(r->procsets[i].addr),
		   0xcbf29ce484222325ull);
}

static struct rep_procset *procset_get(struct report *r, const char *addr,
				       bool create)
{
	struct rep_procset *p;
	size_t h;

	if (!r->n_pslots && !create)
		return NULL;
	if (create)
		grow_slots(&r->pslots, &r->n_pslots, r->n_procsets, pset_hash_at, r);
	h = (size_t)fnv(addr, strlen(addr), 0xcbf29ce484222325ull) &
	    (r->n_pslots - 1);
	while (r->pslots[h]) {
		p = &r->procsets[r->pslots[h] - 1];
		if (!strcmp(p->addr, addr))
			return p;
		h = (h + 1) & (r->n_pslots - 1);
	}
	if (!create)
		return NULL;
	if (r->n_procsets == r->cap_procsets) {
		r->cap_procsets = r->cap_procsets ? r->cap_procsets * 2 : 64;
		r->procsets = xrealloc(r->procsets,
				       r->cap_procsets * sizeof(*r->procsets));
	}
	p = &r->procsets[r->n_procsets];
	memset(p, 0, sizeof(*p));
	p->addr = xstrdup(addr);
	r->pslots[h] = (uint32_t)++r->n_procsets;
	return p;
}

static int ensure_scratch(struct report *r, size_t len)
{
	if (!r->nodes)
		r->nodes = xrealloc(NULL, EVENT_NODES * sizeof(struct jr_node));
	if (r->strbuf_cap < len + 8) {
		r->strbuf_cap = len + 8 > 4096 ? len + 8 : 4096;
		free(r->strbuf);
		r->strbuf = xrealloc(NULL, r->strbuf_cap);
	}
	return 0;
}

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

int report_event_line(struct report *r, const char *line, size_t len)
{
	const char *verdict, *reason, *hook, *dest, *comm, *proto, *time_s, *name;
	const struct jr_node *root, *n;
	struct jr_doc doc;
	char who[64], sock[64];
	struct rep_dest *d;
	uint64_t pid = 0;
	int64_t t = 0;
	int v;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (!len)
		return 0;
	r->lines_events++;
	ensure_scratch(r, len);
	doc = (struct jr_doc){ .nodes = r->nodes, .cap = EVENT_NODES,
			       .buf = r->strbuf, .bufcap = r->strbuf_cap };
	if (jr_parse(&doc, line, len))
		goto skip;
	root = &doc.nodes[0];
	if (root->type != JR_OBJ)
		goto skip;
	verdict = jr_get_str(&doc, root, "verdict");
	reason = jr_get_str(&doc, root, "reason");
	hook = jr_get_str(&doc, root, "hook");
	dest = jr_get_str(&doc, root, "destination");
	comm = jr_get_str(&doc, root, "comm");
	proto = jr_get_str(&doc, root, "proto");
	time_s = jr_get_str(&doc, root, "time");
	name = jr_get_str(&doc, root, "name");
	if (!verdict || !reason || (!streq(verdict, "allowed") &&
				    !streq(verdict, "refused")))
		goto skip;
	n = jr_get(&doc, root, "tgid");
	if (n && n->type == JR_NUM && n->is_uint)
		pid = n->u;
	if (time_s) {
		if (rfc3339_parse(time_s, &t))
			goto skip;
	} else if ((n = jr_get(&doc, root, "ts_ns")) && n->type == JR_NUM &&
		   n->is_uint && r->meta.has_offset && n->u < TIME_MAX_NS) {
		t = (int64_t)n->u + r->meta.clock_offset_ns;
		if (t <= 0 || t > TIME_MAX_NS)
			t = 0;
	}
	snprintf(who, sizeof(who), "%.16s/%llu", comm ? comm : "?",
		 (unsigned long long)pid);

	if (streq(verdict, "allowed")) {
		if (streq(reason, "bypass") && dest) {
			v = RV_BYPASSED;
		} else {
			/* a redirected connection: Squid's line counts it */
			if (dest && (streq(reason, "redirect") ||
				     streq(reason, "redirect_tls") ||
				     streq(reason, "fwd_proxy"))) {
				struct rep_procset *p = procset_get(r, dest, true);

				set_add(p->procs, &p->nprocs, REP_PROCS_MAX,
					&p->more, who);
			}
			return 0;
		}
	} else if (streq(hook, "dns") || streq(reason, "dns_refused")) {
		v = RV_DNS_REFUSED;
		dest = name ? name : dest;
		proto = "dns";
	} else {
		v = RV_KERNEL_REFUSED;
	}
	if (!dest) {
		snprintf(sock, sizeof(sock), "socket (%.20s)", proto ? proto : "?");
		dest = sock;
	}
	d = dest_get(r, v, dest, strlen(dest));
	count_attempt(r, d, t, reason, proto);
	set_add(d->procs, &d->nprocs, REP_PROCS_MAX, &d->more_procs, who);
	if (!d->port && v != RV_DNS_REFUSED)
		d->port = port_of(d->name);
	d->ip_literal = v != RV_DNS_REFUSED;
	return 0;
skip:
	r->skipped_events++;
	return -EINVAL;
}

/* ---- run.json ------------------------------------------------------------ */

static char *meta_str(const struct jr_doc *d, const struct jr_node *o,
		      const char *key)
{
	const char *s = jr_get_str(d, o, key);

	return s ? xstrdup(s) : NULL;
}

static void meta_list(const struct jr_doc *d, const struct jr_node *o,
		      const char *key, struct rep_list *l)
{
	const struct jr_node *a = jr_get(d, o, key);

	if (!a || a->type != JR_ARR)
		return;
	for (const struct jr_node *e = jr_child(d, a); e; e = jr_next(d, e)) {
		if (e->type != JR_STR)
			continue;
		l->total++;
		if (l->n >= REP_LIST_MAX)
			continue;
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = xstrdup(e->str);
	}
}

static bool meta_num(const struct jr_doc *d, const struct jr_node *o,
		     const char *key, double *out)
{
	const struct jr_node *n = jr_get(d, o, key);

	if (!n || n->type != JR_NUM)
		return false;
	*out = n->num;
	return true;
}

int report_meta(struct report *r, const char *text, size_t len)
{
	struct rep_meta *m = &r->meta;
	const struct jr_node *root, *pol, *cmd;
	size_t ncap = len / 2 + 16;
	struct jr_doc doc = { 0 };
	const char *s;
	double v;
	int ret = -EINVAL;

	doc.nodes = xrealloc(NULL, ncap * sizeof(*doc.nodes));
	doc.cap = (int)ncap;
	doc.buf = xrealloc(NULL, len + 8);
	doc.bufcap = len + 8;
	if (jr_parse(&doc, text, len) || doc.nodes[0].type != JR_OBJ)
		goto out;
	root = &doc.nodes[0];
	m->present = true;
	cmd = jr_get(&doc, root, "command");
	if (cmd && cmd->type == JR_ARR) {
		size_t total = 1;
		char *c;

		for (const struct jr_node *e = jr_child(&doc, cmd); e; e = jr_next(&doc, e))
			if (e->type == JR_STR)
				total += strlen(e->str) + 1;
		c = xrealloc(NULL, total);
		c[0] = '\0';
		for (const struct jr_node *e = jr_child(&doc, cmd); e; e = jr_next(&doc, e)) {
			if (e->type != JR_STR)
				continue;
			if (c[0])
				strcat(c, " ");
			strcat(c, e->str);
		}
		m->command = c;
	}
	m->version = meta_str(&doc, root, "netfence_version");
	m->kernel = meta_str(&doc, root, "kernel");
	if ((s = jr_get_str(&doc, root, "start")))
		rfc3339_parse(s, &m->start_ns);
	if ((s = jr_get_str(&doc, root, "end")))
		rfc3339_parse(s, &m->end_ns);
	if (meta_num(&doc, root, "exit_status", &v) && v >= 0 && v <= 255) {
		m->has_exit = true;
		m->exit_status = (int)v;
	}
	if (meta_num(&doc, root, "clock_offset_ns", &v) && v >= 0 &&
	    v < (double)TIME_MAX_NS) {
		const struct jr_node *n = jr_get(&doc, root, "clock_offset_ns");

		m->has_offset = true;
		m->clock_offset_ns = n->is_uint ? (int64_t)n->u : (int64_t)v;
	}
	if (meta_num(&doc, root, "events_lost", &v) && v >= 0 && v < 1e18)
		m->events_lost = (uint64_t)v;
	pol = jr_get(&doc, root, "policy");
	if (pol && pol->type == JR_OBJ) {
		meta_list(&doc, pol, "allow_domains", &m->allow);
		meta_list(&doc, pol, "block_domains", &m->block);
		meta_list(&doc, pol, "host_bypass", &m->bypass);
		meta_list(&doc, pol, "resolvers", &m->resolvers);
		meta_list(&doc, pol, "host_gateways", &m->gateways);
		if (meta_num(&doc, pol, "host_bypass_total", &v) &&
		    v > (double)m->bypass.total && v < 1e18)
			m->bypass.total = (uint64_t)v;
		m->redirect_ports = meta_str(&doc, pol, "redirect_ports");
		m->tls_ports = meta_str(&doc, pol, "tls_ports");
		m->host_ports = meta_str(&doc, pol, "host_ports");
		m->loopback = meta_str(&doc, pol, "loopback");
		m->tls_decryption = meta_str(&doc, pol, "tls_decryption");
		m->upstream = meta_str(&doc, pol, "upstream_proxy");
		meta_list(&doc, pol, "url_rules", &m->urls);
	}
	ret = 0;
out:
	if (ret)
		r->skipped_meta++;
	free(doc.nodes);
	free(doc.buf);
	return ret;
}

/* ---- finishing ------------------------------------------------------------ */

static int dest_cmp(const void *a, const void *b)
{
	const struct rep_dest *x = a, *y = b;

	if (x->verdict != y->verdict)
		return x->verdict < y->verdict ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int point_cmp(const void *a, const void *b)
{
	const struct rep_point *x = a, *y = b;

	return x->t_ns < y->t_ns ? -1 : x->t_ns > y->t_ns;
}

void report_finish(struct report *r)
{
	if (r->finished)
		return;
	r->finished = true;
	for (size_t i = 0; i < r->n_dests; i++) {
		struct rep_dest *d = &r->dests[i];

		for (int k = 0; k < d->naddrs; k++) {
			struct rep_procset *p = procset_get(r, d->addrs[k], false);

			if (!p)
				continue;
			for (int j = 0; j < p->nprocs; j++)
				set_add(d->procs, &d->nprocs, REP_PROCS_MAX,
					&d->more_procs, p->procs[j]);
			d->more_procs += p->more;
		}
	}
	if (r->n_dests)
		qsort(r->dests, r->n_dests, sizeof(*r->dests), dest_cmp);
	free(r->slots);
	r->slots = NULL;
	r->n_slots = 0;
	if (r->n_points)
		qsort(r->points, r->n_points, sizeof(*r->points), point_cmp);
}

/* ---- the directory ------------------------------------------------------- */

typedef int (*line_fn)(struct report *r, const char *line, size_t len);

static int read_lines(struct report *r, const char *path, line_fn fn, bool *found)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	*found = true;
	while ((n = getline(&line, &cap, f)) > 0)
		fn(r, line, (size_t)n);
	free(line);
	fclose(f);
	return 0;
}

int report_load(struct report *r, const char *dir, char *err, size_t errlen)
{
	char path[4096];
	struct stat st;
	bool any = false;
	int ret;

	if (stat(dir, &st)) {
		ret = -errno;
		snprintf(err, errlen, "%s", strerror(errno));
		return ret;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "not a directory");
		return -ENOTDIR;
	}
	snprintf(path, sizeof(path), "%s/run.json", dir);
	{
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			char *buf = xrealloc(NULL, META_MAX);
			ssize_t n, got = 0;

			any = true;
			while (got < (ssize_t)META_MAX &&
			       (n = read(fd, buf + got, META_MAX - (size_t)got)) > 0)
				got += n;
			close(fd);
			report_meta(r, buf, (size_t)got);
			free(buf);
		} else if (errno != ENOENT) {
			ret = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return ret;
		}
	}
	snprintf(path, sizeof(path), "%s/access.log", dir);
	ret = read_lines(r, path, report_access_line, &r->have_access);
	if (!ret) {
		snprintf(path, sizeof(path), "%s/events.jsonl", dir);
		ret = read_lines(r, path, report_event_line, &r->have_events);
	}
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (!any && !r->have_access && !r->have_events) {
		snprintf(err, errlen,
			 "no run.json, access.log or events.jsonl: not a run's --log-dir");
		return -ENOENT;
	}
	report_finish(r);
	return 0;
}

/* ---- suggestions ---------------------------------------------------------- */

static bool in_list(const struct rep_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

/* A domain the allowlist could take: a valid name that is not an address. */
static bool domain_suggestion(const struct report *r, const char *name,
			      char *note, size_t notelen)
{
	struct domain_list one = { 0 }, block = { 0 };
	char why[256];
	bool ok = false;

	if (domain_list_add_spec(&one, name, why, sizeof(why)) || one.n != 1 ||
	    strchr(name, ',')) {
		snprintf(note, notelen, "not a domain name the allowlist takes");
		goto out;
	}
	if (one.v[0].is_ip || one.v[0].wildcard || one.v[0].pattern) {
		snprintf(note, notelen,
			 "a raw IP address: allow the domain name the client should use instead");
		goto out;
	}
	for (size_t i = 0; i < r->meta.block.n; i++)
		domain_list_add_spec(&block, r->meta.block.v[i], why, sizeof(why));
	if (domain_check(&one, &block, one.v[0].name, DOM_HTTP) == DOM_DENY_BLOCKED ||
	    domain_check(&one, &block, one.v[0].name, DOM_HTTPS) == DOM_DENY_BLOCKED) {
		snprintf(note, notelen, "listed in --block-domains");
		goto out;
	}
	ok = true;
out:
	domain_list_free(&one);
	domain_list_free(&block);
	return ok;
}

/* The address part of "a.b.c.d:port". */
static bool addr_of(const char *dest, char *buf, size_t len)
{
	const char *c = strrchr(dest, ':');

	if (!c || (size_t)(c - dest) >= len || dest[0] == '[')
		return false;
	memcpy(buf, dest, (size_t)(c - dest));
	buf[c - dest] = '\0';
	return is_ipv4(buf);
}

bool report_suggest(const struct report *r, const struct rep_dest *d,
		    char *flag, size_t flaglen, char *value, size_t valuelen,
		    char *note, size_t notelen)
{
	char addr[INET_ADDRSTRLEN];
	const char *reason = d->reason ? d->reason : "";

	flag[0] = value[0] = note[0] = '\0';
	switch (d->verdict) {
	case RV_SQUID_REFUSED:
		if (strstr(reason, "/409")) {
			snprintf(note, notelen,
				 "the name does not resolve to the address connected to (Host or SNI forgery check)");
			return false;
		}
		/* fall through */
	case RV_DNS_REFUSED:
		if (!domain_suggestion(r, d->name, note, notelen))
			return false;
		snprintf(flag, flaglen, "--allow-domains");
		snprintf(value, valuelen, "%s", d->name);
		return true;
	case RV_KERNEL_REFUSED:
		break;
	default:
		return false;
	}
	if (!strcmp(reason, "deny_port")) {
		bool host;

		if (!d->port || !addr_of(d->name, addr, sizeof(addr))) {
			snprintf(note, notelen, "no port to allow");
			return false;
		}
		if (port_is_dangerous(d->port)) {
			snprintf(note, notelen,
				 "port %u is a dangerous port: never allowed", d->port);
			return false;
		}
		host = in_list(&r->meta.gateways, addr) ||
		       (!strncmp(addr, "127.", 4) && r->meta.loopback &&
			!strcmp(r->meta.loopback, "host"));
		if (host) {
			snprintf(flag, flaglen, "--allow-host-ports");
			snprintf(value, valuelen, "%u", d->port);
			snprintf(note, notelen, "with --enable-host-access: goes direct to the host");
		} else {
			snprintf(flag, flaglen, "--redirect-ports");
			snprintf(value, valuelen, "%u", d->port);
			snprintf(note, notelen,
				 "sends the port to Squid, whose --allow-domains then "
				 "decides (a raw IP is no domain to allow)");
		}
		return true;
	}
	if (!strcmp(reason, "deny_udp"))
		snprintf(note, notelen, "UDP other than DNS to an allowed resolver is never allowed");
	else if (!strcmp(reason, "deny_ipv6"))
		snprintf(note, notelen, "native IPv6 is refused");
	else if (!strcmp(reason, "deny_reserved"))
		snprintf(note, notelen, "metadata, multicast or broadcast: never allowed");
	else if (!strcmp(reason, "deny_intercept"))
		snprintf(note, notelen, "straight to Squid's intercept port: use the name or address wanted");
	else if (!strcmp(reason, "deny_socket") || !strcmp(reason, "deny_proto"))
		snprintf(note, notelen, "a socket kind the policy does not cover");
	else if (!strcmp(reason, "deny_nopolicy"))
		snprintf(note, notelen, "refused while a policy was being changed");
	else
		snprintf(note, notelen, "no flag allows this");
	return false;
}
