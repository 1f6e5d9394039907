/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Pure parsers for command-line values: ports, port specs, IPv4 addresses
 * and endpoints. No I/O, no allocation, no global state.
 *
 * Every parser returns 0 on success or a negative errno:
 *   -EINVAL  malformed (bad character, leading zero, empty item, ...)
 *   -ERANGE  a number outside its range (port 0 or above 65535, an address
 *            part above 255)
 *   -E2BIG   more items than the caller's limit, or an output buffer too
 *            small
 * and on failure writes a short reason into err (at most errlen bytes,
 * always NUL-terminated when errlen > 0; err may be NULL when errlen is 0).
 * The reason names the bad value but not the option it came from and has no
 * trailing newline: the caller prefixes "Error: --flag: ".
 *
 * Byte order is stated at every address and port: "_be" is network order.
 */
#ifndef NETFENCE_PARSE_H
#define NETFENCE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netfence.h"

/*
 * Port sets: NF_PORT_BITMAP_BYTES bytes, one bit per port, the layout of
 * struct nf_policy's bitmaps. Host-order port p is bit (p & 7) of byte
 * (p >> 3).
 */
static inline void portset_add(uint8_t *bm, uint16_t port)
{
	bm[port >> 3] |= (uint8_t)(1u << (port & 7));
}

static inline bool portset_has(const uint8_t *bm, uint16_t port)
{
	return bm[port >> 3] & (1u << (port & 7));
}

/* Number of ports in the set. */
size_t portset_count(const uint8_t *bm);

/* Empty the set. */
void portset_clear(uint8_t *bm);

/*
 * A decimal port 1-65535: digits only, no sign, no leading zero, no spaces.
 * *port is host order.
 */
int parse_port(const char *s, uint16_t *port, char *err, size_t errlen);

/*
 * A port spec: comma-separated items, each a port or a range "N-M" with
 * N <= M (ports as parse_port). No empty items, no spaces. ADDS the ports to
 * bm, which it does not clear first; on error bm may hold part of the spec,
 * so parse into a scratch set.
 */
int parse_port_spec(const char *spec, uint8_t *bm, char *err, size_t errlen);

/*
 * The canonical spec of a set, ascending, ranges collapsed:
 * "80,443,8000-8010" ("" for the empty set). Returns the length of the
 * string, or -E2BIG when it does not fit in len bytes (buf then holds "").
 * buf is always NUL-terminated when len > 0.
 */
int portset_format(const uint8_t *bm, char *buf, size_t len);

/*
 * The ports the agent firewall calls dangerous (remote shells, mail,
 * databases, search and metrics stores), ascending.
 */
extern const uint16_t nf_dangerous_ports[];
extern const size_t nf_dangerous_ports_count;

bool port_is_dangerous(uint16_t port);

/* The lowest dangerous port in the set, or 0 when there is none. */
uint16_t portset_first_dangerous(const uint8_t *bm);

/*
 * A strict dotted quad: exactly 4 decimal parts 0-255, no leading zero
 * (except "0" itself), no spaces. An IPv6 literal is refused with the reason
 * "IPv6 address where an IPv4 address is needed".
 */
int parse_ipv4(const char *s, uint32_t *addr_be, char *err, size_t errlen);

/* "IPv4:PORT", the address as parse_ipv4, the port as parse_port. */
int parse_endpoint4(const char *s, uint32_t *addr_be, uint16_t *port_be,
		    char *err, size_t errlen);

/*
 * Comma-separated IPv4 addresses (as parse_ipv4), no empty items. Duplicates
 * are dropped, the first occurrence keeps its place. More than max distinct
 * addresses is -E2BIG. *n is the number stored (0 on failure).
 */
int parse_ipv4_list(const char *s, uint32_t *out_be, size_t max, size_t *n,
		    char *err, size_t errlen);

/* "a.b.c.d" and "a.b.c.d:port", NUL-terminated. */
void format_ipv4(uint32_t addr_be, char buf[16]);
void format_endpoint4(uint32_t addr_be, uint16_t port_be, char buf[22]);

/* 127.0.0.0/8. */
bool ipv4_is_loopback(uint32_t addr_be);

/*
 * A user value made safe to quote in a reason: '"', backslash and bytes
 * outside printable ASCII escaped, cut with "..." past SHOW_VALUE_BUF - 4
 * characters. Returns buf.
 */
#define SHOW_VALUE_BUF 52
const char *show_value(char buf[SHOW_VALUE_BUF], const char *s, size_t len);
/* The same into a buffer of size bytes, in double quotes when quote is set. */
const char *quote_text(char *buf, size_t size, const char *s, size_t len,
		      bool quote);

/* A reason in err (errlen bytes, NULL or 0 for none): every module's one way to say why. */
void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* NETFENCE_PARSE_H */
