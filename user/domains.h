/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Domain allow and block lists, with the agent firewall's semantics:
 *
 *   example.com          the apex and every subdomain, HTTP and HTTPS
 *   *.example.com        subdomains only (not example.com itself)
 *   api-*.example.com    a pattern: '*' inside a label matches any run of
 *                        [a-z0-9-] (never a dot); the names it matches
 *                        exactly, not their subdomains ("*.api-*.x.com"
 *                        for those); at least two literal labels after
 *                        the last '*'
 *   http://example.com   the same names, plain HTTP only
 *   https://example.com  the same names, TLS (HTTPS, CONNECT) only
 *   192.0.2.7            that raw IPv4 address as a host, exactly
 *
 * Case and one trailing dot are normalised away. The blocklist beats the
 * allowlist. A host that is a raw IP address is refused unless that address
 * is listed. domain_check() is the reference for these rules; the Squid
 * configuration (squid_conf.c) implements the same ones.
 *
 * Functions return 0 or a negative errno (-EINVAL bad input, -ENOMEM, or
 * the errno of a failed open/read) and on failure write a one-line reason
 * into err (always NUL-terminated when errlen > 0). The reason names the
 * bad item but not the option it came from: the caller prefixes
 * "Error: --allow-domains: ".
 */
#ifndef NETFENCE_DOMAINS_H
#define NETFENCE_DOMAINS_H

#include <stdbool.h>
#include <stddef.h>

/* Schemes a rule applies to (struct domain_rule.scheme). */
#define DOM_HTTP (1u << 0) /* plain HTTP: intercepted port 80, GET http:// */
#define DOM_HTTPS (1u << 1) /* TLS: intercepted port 443 (SNI), CONNECT */
#define DOM_ANY (DOM_HTTP | DOM_HTTPS)

#define DOM_NAME_MAX 253 /* longest name, without the trailing dot */
#define DOM_LABEL_MAX 63
/* room for domain_rule_regex() of any valid rule, NUL included */
#define DOM_REGEX_MAX (DOM_NAME_MAX * 11 + 64)

struct domain_rule {
	char *name; /* lowercase, no trailing dot, no scheme, no "*." */
	unsigned scheme; /* DOM_HTTP|DOM_HTTPS bits, both by default */
	bool wildcard; /* from "*.x": subdomains only */
	bool is_ip; /* a dotted-quad IPv4 address: exact match */
	bool pattern; /* name holds '*' inside labels: matched exactly */
};

/*
 * A list of rules. Zero-initialise it ({0}) before the first add. An item
 * equal to an earlier one in name, wildcard and is_ip is merged into it (its
 * schemes are added), so every (name, wildcard) appears once.
 */
struct domain_list {
	struct domain_rule *v;
	size_t n, cap;
	/*
	 * Set by the caller before adding (run's --allow-domains): the item
	 * "localhost" (any case; "http://" or "https://" before it, one
	 * trailing '.' or '/' after it) is the agent firewall's keyword for
	 * host access, not a name: it sets localhost and adds no rule.
	 * Without it "localhost" is refused as a single-label name.
	 */
	bool localhost_keyword;
	bool localhost;
};

enum domain_verdict {
	DOM_ALLOW = 0,
	DOM_DENY_UNLISTED, /* on no allow rule for this scheme */
	DOM_DENY_BLOCKED, /* on a block rule for this scheme */
	DOM_DENY_IP, /* a raw IP address (any form) not listed */
	DOM_DENY_INVALID, /* not a host name, or a bad scheme argument */
};

/* Frees the rules and leaves an empty list, ready for reuse. NULL is fine. */
void domain_list_free(struct domain_list *l);

/*
 * Adds the items of a comma-separated spec ("a.com, *.b.org,https://c.net").
 * Spaces and tabs around an item are trimmed. All or nothing: on error the
 * list is unchanged. Refused, with a reason that shows the item:
 *   - an empty spec or an empty item ("a.com,,b.com", a trailing comma);
 *   - inside an item: a newline or other control character, a space or tab,
 *     '#', a quote (" ' `), a backslash;
 *   - a name with bytes outside ASCII that libidn2 does not convert
 *     (IDNA2008, UTS #46 non-transitional mapping: "b\u00fccher.example"
 *     becomes "xn--bcher-kva.example"), or that maps to characters a name
 *     cannot hold, or with '*' inside a non-ASCII label;
 *   - a scheme other than http:// and https://, a path after the name (one
 *     trailing '/' is tolerated), a port, user info, IPv6 addresses;
 *   - "*", "*.*", "*.com", "*-*.com", "a.*.com", "example.*": fewer than
 *     two literal labels after the last '*' (every name, or names of a
 *     whole top-level domain); "**" in a label; '*' in an IP address;
 *   - a name of one label, plain or after "*." ("com", "*.com"): it would
 *     allow a whole top-level domain;
 *   - characters outside [a-z0-9.-_] (after lowercasing), an empty label
 *     ("a..b", ".a.com", "a.com.." ), a label longer than 63 characters, a
 *     name longer than 253, a label that starts or ends with '-';
 *   - a numeric last label that is not a dotted-quad IPv4 address
 *     ("1.2.3", "010.0.0.1", "a.123"), and "*." before an address.
 */
int domain_list_add_spec(struct domain_list *l, const char *spec, char *err,
			 size_t errlen);

/*
 * Adds the items of a file: one item per line (commas also separate), text
 * from '#' to the end of the line is a comment, blank lines are ignored, a
 * CRLF line end is accepted. Reasons start with "PATH:LINE: ". All or
 * nothing, as domain_list_add_spec().
 */
int domain_list_add_file(struct domain_list *l, const char *path, char *err,
			 size_t errlen);

/*
 * The verdict for a request to host (a name or an address, without port,
 * any case, optionally one trailing dot) over one scheme (DOM_HTTP or
 * DOM_HTTPS). Either list may be NULL (empty). An empty allowlist allows
 * nothing.
 */
enum domain_verdict domain_check(const struct domain_list *allow,
				 const struct domain_list *block,
				 const char *host, unsigned scheme);

/* Whether rule r covers the normalised (lowercase, no trailing dot) host. */
bool domain_rule_match(const struct domain_rule *r, const char *host);

/*
 * The POSIX extended regular expression, anchored at both ends, that
 * matches the names rule r covers, as domain_rule_match() (give it to
 * Squid's dstdom_regex and ssl::server_name_regex with -i): '*' becomes
 * [a-z0-9-]* ([a-z0-9-]+ when it is the whole label), '.' [.], a leading "*." ([a-z0-9_-]+[.])+, a name that is
 * not a pattern its subdomains too, ([a-z0-9_-]+[.])*; every other
 * character of a valid name ([a-z0-9_-]) stands for itself. Returns its length, -EINVAL for an
 * invalid rule or an IP address, -E2BIG when len is too small (buf is
 * then "").
 */
int domain_rule_regex(const struct domain_rule *r, char *buf, size_t len);

/*
 * The name whose resolution a DNS filter (dnsmasq: '*' only at the start
 * of a name) allows for rule r: its name, or for a pattern the literal
 * labels after its last '*' ("example.com" for "api-*.example.com"; the
 * filter then answers every subdomain of it). A pointer into r->name.
 */
const char *domain_rule_dns_name(const struct domain_rule *r);

/*
 * 0 when r is a rule domain_list_add_spec() could have produced (name
 * normalised and valid, scheme a non-empty subset of DOM_ANY), else -EINVAL.
 * Writers of configuration files check every rule with it again.
 */
int domain_rule_valid(const struct domain_rule *r);

/* "allow", "blocked", ...: a short name for logs and JSON. */
const char *domain_verdict_str(enum domain_verdict v);

#endif /* NETFENCE_DOMAINS_H */
