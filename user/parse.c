// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Parsers for command-line values. Numbers are read with bounded digit
 * loops (no strtoul: it takes signs, spaces and "0x"), so nothing overflows
 * and nothing but plain decimal digits is accepted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

/* Longest rendering of a user value inside a reason, before "...". */
#define SHOW_MAX (SHOW_VALUE_BUF - 4)
#define SHOW_BUF SHOW_VALUE_BUF
/* Room for the reason of a part, before the caller adds its context. */
#define WHY_BUF 128

const uint16_t nf_dangerous_ports[] = {
	22, /* ssh */
	23, /* telnet */
	25, /* smtp */
	110, /* pop3 */
	143, /* imap */
	445, /* smb */
	1433, /* mssql */
	1521, /* oracle */
	3306, /* mysql */
	3389, /* rdp */
	5432, /* postgresql */
	5984, /* couchdb */
	6379, /* redis */
	6984, /* couchdb tls */
	8086, /* influxdb */
	8088, /* influxdb rpc */
	9200, /* elasticsearch */
	9300, /* elasticsearch transport */
	27017, /* mongodb */
	27018, /* mongodb shard */
	28017, /* mongodb http */
};

const size_t nf_dangerous_ports_count =
	sizeof(nf_dangerous_ports) / sizeof(nf_dangerous_ports[0]);

void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *quote_text(char *buf, size_t size, const char *s, size_t len,
		      bool quote)
{
	size_t o = 0, i;

	if (quote)
		buf[o++] = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];
		char tmp[5];
		size_t w;

		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			w = 2;
		} else if (c >= 0x20 && c < 0x7f) {
			tmp[0] = (char)c;
			w = 1;
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			w = 4;
		}
		/* room for this, "...", the closing quote and the NUL */
		if (o + w + 4 + quote > size) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, tmp, w);
		o += w;
	}
	if (quote)
		buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

const char *show_value(char buf[SHOW_VALUE_BUF], const char *s, size_t len)
{
	return quote_text(buf, SHOW_VALUE_BUF, s, len, false);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/*
 * Plain decimal s[0..len) no larger than max (max <= 65535): digits only,
 * no leading zero. The reason on failure has no subject ("empty", ...);
 * above max it is -ERANGE with no reason, the caller states the range.
 */
static int parse_dec(const char *s, size_t len, uint32_t max, uint32_t *val,
		     const char **why)
{
	uint32_t v = 0;
	size_t i;

	if (!len) {
		*why = "empty";
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (is_digit(s[i]))
			continue;
		*why = is_space(s[i]) ? "spaces are not allowed" :
					"not a decimal number";
		return -EINVAL;
	}
	if (s[0] == '0' && len > 1) {
		*why = "leading zeros are not allowed";
		return -EINVAL;
	}
	/* v <= max <= 65535 before each step: v * 10 + 9 cannot overflow. */
	for (i = 0; i < len; i++) {
		v = v * 10 + (uint32_t)(s[i] - '0');
		if (v > max) {
			*why = NULL;
			return -ERANGE;
		}
	}
	*val = v;
	return 0;
}

/* A port 1-65535 in s[0..len), host order. */
static int port_slice(const char *s, size_t len, uint16_t *port,
		      const char **why)
{
	uint32_t v = 0;
	int ret;

	ret = parse_dec(s, len, 65535, &v, why);
	if (!ret && v == 0)
		ret = -ERANGE;
	if (ret == -ERANGE)
		*why = "out of range 1-65535";
	if (ret)
		return ret;
	*port = (uint16_t)v;
	return 0;
}

size_t portset_count(const uint8_t *bm)
{
	size_t i, n = 0;

	for (i = 0; i < NF_PORT_BITMAP_BYTES; i++)
		n += (size_t)__builtin_popcount(bm[i]);
	return n;
}

void portset_clear(uint8_t *bm)
{
	memset(bm, 0, NF_PORT_BITMAP_BYTES);
}

int parse_port(const char *s, uint16_t *port, char *err, size_t errlen)
{
	char sb[SHOW_BUF];
	const char *why;
	int ret;

	if (!s || !*s) {
		set_err(err, errlen, "empty port");
		return -EINVAL;
	}
	ret = port_slice(s, strlen(s), port, &why);
	if (ret)
		set_err(err, errlen, "\"%s\": %s", show_value(sb, s, strlen(s)),
			why);
	return ret;
}

/* One item of a port spec, s[0..len) with len > 0: "N" or "N-M". */
static int port_item(const char *s, size_t len, uint8_t *bm, char *err,
		     size_t errlen)
{
	const char *dash = memchr(s, '-', len);
	uint16_t lo, hi;
	char sb[SHOW_BUF];
	const char *why;
	uint32_t p;
	size_t n;
	int ret;

	if (!dash) {
		ret = port_slice(s, len, &lo, &why);
		if (ret) {
			set_err(err, errlen, "item \"%s\": %s",
				show_value(sb, s, len), why);
			return ret;
		}
		portset_add(bm, lo);
		return 0;
	}

	n = (size_t)(dash - s);
	if (memchr(dash + 1, '-', len - n - 1)) {
		set_err(err, errlen, "item \"%s\": not a port nor a range N-M",
			show_value(sb, s, len));
		return -EINVAL;
	}
	if (!n) {
		set_err(err, errlen, "item \"%s\": range without a start",
			show_value(sb, s, len));
		return -EINVAL;
	}
	if (n == len - 1) {
		set_err(err, errlen, "item \"%s\": range without an end",
			show_value(sb, s, len));
		return -EINVAL;
	}
	ret = port_slice(s, n, &lo, &why);
	if (ret) {
		set_err(err, errlen, "item \"%s\": range start: %s",
			show_value(sb, s, len), why);
		return ret;
	}
	ret = port_slice(dash + 1, len - n - 1, &hi, &why);
	if (ret) {
		set_err(err, errlen, "item \"%s\": range end: %s",
			show_value(sb, s, len), why);
		return ret;
	}
	if (lo > hi) {
		set_err(err, errlen, "item \"%s\": range start %u above end %u",
			show_value(sb, s, len), lo, hi);
		return -EINVAL;
	}
	for (p = lo; p <= hi; p++)
		portset_add(bm, (uint16_t)p);
	return 0;
}

/*
 * The reason for an empty item of a comma-separated list: at its start, at
 * its end or between two commas.
 */
static void empty_item(const char *list, const char *item, const char *comma,
		       char *err, size_t errlen)
{
	char sb[SHOW_BUF];
	const char *where;

	if (item == list)
		where = "starts with a comma";
	else if (!comma)
		where = "ends with a comma";
	else
		where = "empty item between commas";
	set_err(err, errlen, "\"%s\": %s", show_value(sb, list, strlen(list)),
		where);
}

int parse_port_spec(const char *spec, uint8_t *bm, char *err, size_t errlen)
{
	const char *item, *comma;
	size_t len;
	int ret;

	if (!spec || !*spec) {
		set_err(err, errlen, "empty port list");
		return -EINVAL;
	}
	for (item = spec;; item = comma + 1) {
		comma = strchr(item, ',');
		len = comma ? (size_t)(comma - item) : strlen(item);
		if (!len) {
			empty_item(spec, item, comma, err, errlen);
			return -EINVAL;
		}
		ret = port_item(item, len, bm, err, errlen);
		if (ret)
			return ret;
		if (!comma)
			return 0;
	}
}

int portset_format(const uint8_t *bm, char *buf, size_t len)
{
	size_t pos = 0;
	uint32_t p, q;

	for (p = 0; p <= 65535; p++) {
		char item[32];
		int n;

		if (!portset_has(bm, (uint16_t)p))
			continue;
		for (q = p; q < 65535 && portset_has(bm, (uint16_t)(q + 1));)
			q++;
		if (q == p)
			n = snprintf(item, sizeof(item), "%s%u", pos ? "," : "",
				     p);
		else
			n = snprintf(item, sizeof(item), "%s%u-%u",
				     pos ? "," : "", p, q);
		if (pos + (size_t)n >= len) {
			if (len)
				buf[0] = '\0';
			return -E2BIG;
		}
		memcpy(buf + pos, item, (size_t)n);
		pos += (size_t)n;
		p = q;
	}
	if (!len)
		return -E2BIG;
	buf[pos] = '\0';
	return (int)pos;
}

bool port_is_dangerous(uint16_t port)
{
	size_t i;

	for (i = 0; i < nf_dangerous_ports_count; i++)
		if (nf_dangerous_ports[i] == port)
			return true;
	return false;
}

uint16_t portset_first_dangerous(const uint8_t *bm)
{
	size_t i;

	for (i = 0; i < nf_dangerous_ports_count; i++)
		if (portset_has(bm, nf_dangerous_ports[i]))
			return nf_dangerous_ports[i];
	return 0;
}

/* s[0..len) is an IPv6 literal, bare or in brackets. */
static bool is_ipv6_literal(const char *s, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	struct in6_addr a6;

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (!len || len >= sizeof(tmp) || !memchr(s, ':', len))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, &a6) == 1;
}

/*
 * A strict dotted quad in s[0..len); the reason (without the value itself)
 * goes to why.
 */
static int ipv4_slice(const char *s, size_t len, uint32_t *addr_be, char *why,
		      size_t whylen)
{
	const char *part = s, *end = s + len, *dot;
	uint8_t b[4];
	char sb[SHOW_BUF];
	const char *w;
	unsigned int i;
	uint32_t v = 0;
	size_t n;
	int ret;

	if (!len) {
		snprintf(why, whylen, "empty address");
		return -EINVAL;
	}
	if (is_ipv6_literal(s, len)) {
		snprintf(why, whylen,
			 "IPv6 address where an IPv4 address is needed");
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (is_digit(s[i]) || s[i] == '.')
			continue;
		snprintf(why, whylen, "%s",
			 is_space(s[i]) ? "spaces are not allowed" :
					  "not an IPv4 address");
		return -EINVAL;
	}
	for (i = 0; i < 4; i++) {
		dot = memchr(part, '.', (size_t)(end - part));
		if ((i < 3 && !dot) || (i == 3 && dot)) {
			snprintf(why, whylen, "not a dotted quad a.b.c.d");
			return -EINVAL;
		}
		n = dot ? (size_t)(dot - part) : (size_t)(end - part);
		ret = parse_dec(part, n, 255, &v, &w);
		if (ret == -ERANGE) {
			snprintf(why, whylen, "number \"%s\" above 255",
				 show_value(sb, part, n));
			return ret;
		}
		if (ret && !n) {
			snprintf(why, whylen,
				 "not an IPv4 address: empty number");
			return ret;
		}
		if (ret) {
			snprintf(why, whylen, "number \"%s\": %s",
				 show_value(sb, part, n), w);
			return ret;
		}
		b[i] = (uint8_t)v;
		if (dot)
			part = dot + 1;
	}
	memcpy(addr_be, b, sizeof(b));
	return 0;
}

int parse_ipv4(const char *s, uint32_t *addr_be, char *err, size_t errlen)
{
	char why[WHY_BUF], sb[SHOW_BUF];
	int ret;

	if (!s || !*s) {
		set_err(err, errlen, "empty address");
		return -EINVAL;
	}
	ret = ipv4_slice(s, strlen(s), addr_be, why, sizeof(why));
	if (ret)
		set_err(err, errlen, "\"%s\": %s", show_value(sb, s, strlen(s)),
			why);
	return ret;
}

int parse_endpoint4(const char *s, uint32_t *addr_be, uint16_t *port_be,
		    char *err, size_t errlen)
{
	char why[WHY_BUF], sb[SHOW_BUF];
	const char *colon, *w;
	uint32_t addr;
	uint16_t port;
	size_t len;
	int ret;

	if (!s || !*s) {
		set_err(err, errlen, "empty address");
		return -EINVAL;
	}
	len = strlen(s);
	colon = strrchr(s, ':');
	if (is_ipv6_literal(s, len) ||
	    (colon && is_ipv6_literal(s, (size_t)(colon - s)))) {
		set_err(err, errlen,
			"\"%s\": IPv6 address where an IPv4 address is needed",
			show_value(sb, s, len));
		return -EINVAL;
	}
	if (!colon) {
		set_err(err, errlen, "\"%s\": missing \":PORT\"",
			show_value(sb, s, len));
		return -EINVAL;
	}
	ret = ipv4_slice(s, (size_t)(colon - s), &addr, why, sizeof(why));
	if (ret) {
		set_err(err, errlen, "\"%s\": %s", show_value(sb, s, len), why);
		return ret;
	}
	ret = port_slice(colon + 1, len - (size_t)(colon - s) - 1, &port, &w);
	if (ret) {
		set_err(err, errlen, "\"%s\": port: %s", show_value(sb, s, len),
			w);
		return ret;
	}
	*addr_be = addr;
	*port_be = htons(port);
	return 0;
}

int parse_ipv4_list(const char *s, uint32_t *out_be, size_t max, size_t *n,
		    char *err, size_t errlen)
{
	char why[WHY_BUF], sb[SHOW_BUF];
	const char *item, *comma;
	size_t len, i, count = 0;
	uint32_t addr;
	int ret;

	*n = 0;
	if (!s || !*s) {
		set_err(err, errlen, "empty address list");
		return -EINVAL;
	}
	for (item = s;; item = comma + 1) {
		comma = strchr(item, ',');
		len = comma ? (size_t)(comma - item) : strlen(item);
		if (!len) {
			empty_item(s, item, comma, err, errlen);
			return -EINVAL;
		}
		ret = ipv4_slice(item, len, &addr, why, sizeof(why));
		if (ret) {
			set_err(err, errlen, "item \"%s\": %s",
				show_value(sb, item, len), why);
			return ret;
		}
		for (i = 0; i < count; i++)
			if (out_be[i] == addr)
				break;
		if (i == count) {
			if (count == max) {
				set_err(err, errlen,
					"too many addresses: at most %zu", max);
				return -E2BIG;
			}
			out_be[count++] = addr;
		}
		if (!comma)
			break;
	}
	*n = count;
	return 0;
}

void format_ipv4(uint32_t addr_be, char buf[16])
{
	const uint8_t *b = (const uint8_t *)&addr_be;

	snprintf(buf, 16, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

void format_endpoint4(uint32_t addr_be, uint16_t port_be, char buf[22])
{
	const uint8_t *b = (const uint8_t *)&addr_be;

	snprintf(buf, 22, "%u.%u.%u.%u:%u", b[0], b[1], b[2], b[3],
		 ntohs(port_be));
}

bool ipv4_is_loopback(uint32_t addr_be)
{
	return (ntohl(addr_be) >> 24) == 127;
}
