/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * URL rules (--allow-urls): which URLs of a host the embedded Squid lets
 * through. A rule is
 *
 *   SCHEME://HOST[:PORT][PATH]
 *
 *   SCHEME  http or https (required). https rules need --ssl-bump: the path
 *           of an HTTPS request is only visible decrypted.
 *   HOST    that name exactly (not its subdomains, unlike --allow-domains),
 *           or "*.NAME" for the subdomains of NAME (not NAME itself), or a
 *           dotted-quad IPv4 address; names as --allow-domains checks them;
 *           case does not matter.
 *   PORT    optional; without it the scheme's default port (80, 443) only.
 *   PATH    optional, starts with '/'. '*' matches any run of characters,
 *           '/' and '?' included; every other character matches itself.
 *           The WHOLE rest of the URL (path and query) must match: "/a/"
 *           is that path only, "/a/<star>" everything below it, "/a<star>" also
 *           "/ab". No path at all is the same as "/<star>" (<star> is the asterisk).
 *
 * A host named by a rule is taken over by the rules: a request to it is
 * allowed only when its URL matches a rule of its scheme, whatever
 * --allow-domains says about the host. Requests to such a host whose path
 * holds a dot segment ("/./", "/../", also before ';' or '?') or an encoded
 * '.', '/' or '\' (%2e, %2f, %5c) are refused: the origin would read them
 * as a different path from the one the rule saw.
 *
 * Characters a PATH may hold: A-Z a-z 0-9 - . _ ~ ! & ( ) * + ; = : @ / ?
 * and '%' followed by two hex digits (not %2e, %2f, %5c). Not: ',' (it
 * separates rules), '$', quotes, '#', '\', spaces, brackets, braces, '|',
 * '^', '<', '>', bytes outside ASCII. No dot segments in the rule itself.
 *
 * Functions return 0 or a negative errno and write a one-line reason into
 * err (always NUL-terminated when errlen > 0), naming the bad rule but not
 * the flag: the caller prefixes "Error: --allow-urls 'SPEC': ".
 */
#ifndef NETFENCE_URLS_H
#define NETFENCE_URLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domains.h"

#define URL_RULE_MAX 1024 /* longest rule, scheme included */
#define URL_REGEX_MAX (4 * URL_RULE_MAX + 64) /* room for url_rule_regex() */

struct url_rule {
	/* name (lowercase), scheme (exactly one of DOM_HTTP, DOM_HTTPS), wildcard, is_ip */
	struct domain_rule host;
	uint16_t port; /* host order; 0: the scheme's default */
	char *path; /* starts with '/', '*' a wildcard; "/" + star when none given */
};

/* Zero-initialise ({0}) before the first add. */
struct url_list {
	struct url_rule *v;
	size_t n, cap;
};

void url_list_free(struct url_list *l);

/*
 * Adds the comma-separated rules of spec (spaces around a rule trimmed).
 * All or nothing: on error the list is unchanged. Equal rules are kept once.
 */
int url_list_add_spec(struct url_list *l, const char *spec, char *err,
		      size_t errlen);

/* Whether the list has a rule of scheme (DOM_HTTP or DOM_HTTPS). */
bool url_list_has(const struct url_list *l, unsigned scheme);

/*
 * The POSIX extended regular expression, anchored at both ends, that
 * matches exactly the absolute URLs (as Squid writes them: lowercase host,
 * default port left out) the rule allows. Made of [a-z0-9] and the
 * characters / - _ ~ % ! & ; = : @ ^ $ ( ) [ ] . * + ? | only: one
 * squid.conf token. Returns its length, or -E2BIG (buf then "") when it
 * does not fit in len.
 */
int url_rule_regex(const struct url_rule *r, char *buf, size_t len);

/*
 * The anchored regular expression for the rule's host alone (for
 * dstdom_regex and ssl::server_name_regex). Returns its length or -E2BIG.
 */
int url_host_regex(const struct domain_rule *h, char *buf, size_t len);

/*
 * The reference for the rules above, without regular expressions: whether
 * the absolute URL (as Squid writes it) is allowed by rule r. Tests check
 * url_rule_regex() against it.
 */
bool url_rule_match(const struct url_rule *r, const char *url);

/*
 * Whether a request path (what follows the host and port, query included)
 * holds a dot segment or an encoded '.', '/' or '\' before its query.
 */
bool url_path_unsafe(const char *path);

#endif /* NETFENCE_URLS_H */
