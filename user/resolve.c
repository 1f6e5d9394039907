// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * resolv.conf and hosts files, and the host gateway's addresses. Addresses
 * in the files are read with parse_ipv4, as strict as the command line: a
 * line the C library would read differently (octal "010.0.0.1") is skipped,
 * so the policy never allows more than what was written.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/route.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"
#include "resolve.h"

#define BLANKS " \t\r\n\v\f"
#define HOST_NAME_MAX_LEN 253 /* without the trailing dot */
#define LABEL_MAX_LEN 63

/* Distinct addresses in first-seen order, at most max. */
struct addrset {
	uint32_t *v;
	size_t max;
	size_t n;
};

static int read_error(const char *path, int e, char *err, size_t errlen)
{
	char eb[128];

	set_err(err, errlen, "cannot read %s: %s", path,
		strerror_r(e, eb, sizeof(eb)));
	return -e;
}

/* 1 when added, 0 when already there, -E2BIG when full. */
static int addrset_add(struct addrset *set, uint32_t addr)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->v[i] == addr)
			return 0;
	if (set->n == set->max)
		return -E2BIG;
	set->v[set->n++] = addr;
	return 1;
}

static int too_many(size_t max, char *err, size_t errlen)
{
	set_err(err, errlen, "too many addresses: at most %zu", max);
	return -E2BIG;
}

/* The length of name without one trailing dot. */
static size_t name_len(const char *name)
{
	size_t len = strlen(name);

	if (len && name[len - 1] == '.')
		len--;
	return len;
}

int resolv_conf_nameservers(const char *path, uint32_t *out_be, size_t max,
			    size_t *n, char *err, size_t errlen)
{
	struct addrset set = { .v = out_be, .max = max };
	static const char kw[] = "nameserver";
	size_t cap = 0, kwlen = sizeof(kw) - 1;
	char *line = NULL, *p;
	uint32_t addr;
	int ret = 0;
	FILE *f;

	*n = 0;
	if (!path)
		path = NF_RESOLV_CONF;
	f = fopen(path, "re");
	if (!f)
		return read_error(path, errno, err, errlen);

	while (set.n < set.max) {
		errno = 0;
		if (getline(&line, &cap, f) < 0) {
			if (ferror(f))
				ret = read_error(path, errno ? errno : EIO, err,
						 errlen);
			break;
		}
		p = line + strspn(line, BLANKS);
		/* '#' and ';' comments never match the keyword. */
		if (strncmp(p, kw, kwlen) || !p[kwlen] ||
		    !strchr(BLANKS, p[kwlen]))
			continue;
		p += kwlen;
		p += strspn(p, BLANKS);
		/* Like the C library: the first word, the rest ignored. */
		p[strcspn(p, BLANKS)] = '\0';
		if (parse_ipv4(p, &addr, NULL, 0))
			continue; /* IPv6, or not an address */
		addrset_add(&set, addr);
	}
	free(line);
	fclose(f);
	if (!ret)
		*n = set.n;
	return ret;
}

/*
 * Adds the IPv4 addresses path gives name (namelen bytes, no trailing dot)
 * to set; *found tells whether any line names it, even with an address set
 * already holds.
 */
static int hosts_scan(const char *path, const char *name, size_t namelen,
		      struct addrset *set, bool *found, char *err,
		      size_t errlen)
{
	char *line = NULL, *save, *tok;
	size_t cap = 0, len;
	uint32_t addr;
	int ret = 0;
	FILE *f;

	*found = false;
	f = fopen(path, "re");
	if (!f)
		return read_error(path, errno, err, errlen);

	for (;;) {
		errno = 0;
		if (getline(&line, &cap, f) < 0) {
			if (ferror(f))
				ret = read_error(path, errno ? errno : EIO, err,
						 errlen);
			break;
		}
		line[strcspn(line, "#")] = '\0';
		tok = strtok_r(line, BLANKS, &save);
		if (!tok || parse_ipv4(tok, &addr, NULL, 0))
			continue; /* blank, IPv6, or not an address */
		while ((tok = strtok_r(NULL, BLANKS, &save))) {
			len = name_len(tok);
			if (len != namelen || strncasecmp(tok, name, len))
				continue;
			*found = true;
			if (addrset_add(set, addr) < 0)
				ret = too_many(set->max, err, errlen);
			break;
		}
		if (ret)
			break;
	}
	free(line);
	fclose(f);
	return ret;
}

int hosts_lookup4(const char *path, const char *name, uint32_t *out_be,
		  size_t max, size_t *n, char *err, size_t errlen)
{
	struct addrset set = { .v = out_be, .max = max };
	size_t namelen;
	bool found;
	int ret;

	*n = 0;
	if (!path)
		path = NF_HOSTS_FILE;
	namelen = name ? name_len(name) : 0;
	if (!namelen) {
		set_err(err, errlen, "empty host name");
		return -EINVAL;
	}
	ret = hosts_scan(path, name, namelen, &set, &found, err, errlen);
	if (!ret)
		*n = set.n;
	return ret;
}

/*
 * A DNS host name: letters, digits, '-' and '_', dot-separated labels of
 * 1-63 characters, at most 253 in all, one trailing dot allowed.
 */
static bool is_host_name(const char *s)
{
	size_t len = name_len(s), label = 0, i;

	if (!len || len > HOST_NAME_MAX_LEN)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (!label)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (++label > LABEL_MAX_LEN)
			return false;
	}
	return label > 0;
}

/* RFC 6761: names under "invalid." never resolve. */
static bool is_invalid_tld(const char *name)
{
	static const char tld[] = "invalid";
	size_t len = name_len(name), tlen = sizeof(tld) - 1;

	if (len < tlen || strncasecmp(name + len - tlen, tld, tlen))
		return false;
	return len == tlen || name[len - tlen - 1] == '.';
}

static int not_found(const char *name, char *err, size_t errlen)
{
	set_err(err, errlen, "\"%s\" does not resolve to an IPv4 address",
		name);
	return -ENOENT;
}

/* Adds every IPv4 address of name from the C library's resolver. */
static int dns_lookup4(const char *name, struct addrset *set, char *err,
		       size_t errlen)
{
	struct addrinfo hints = {
		.ai_family = AF_INET,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *res = NULL, *ai;
	bool any = false;
	char eb[128];
	int rc, ret = 0;

	if (is_invalid_tld(name))
		return not_found(name, err, errlen);

	rc = getaddrinfo(name, NULL, &hints, &res);
	switch (rc) {
	case 0:
		break;
	case EAI_NONAME:
	case EAI_NODATA:
	case EAI_ADDRFAMILY:
		return not_found(name, err, errlen);
	case EAI_AGAIN:
		set_err(err, errlen, "cannot resolve \"%s\": %s", name,
			gai_strerror(rc));
		return -EAGAIN;
	case EAI_MEMORY:
		set_err(err, errlen, "cannot resolve \"%s\": %s", name,
			gai_strerror(rc));
		return -ENOMEM;
	case EAI_SYSTEM:
		ret = errno ? -errno : -EIO;
		set_err(err, errlen, "cannot resolve \"%s\": %s", name,
			strerror_r(-ret, eb, sizeof(eb)));
		return ret;
	default:
		set_err(err, errlen, "cannot resolve \"%s\": %s", name,
			gai_strerror(rc));
		return -EIO;
	}

	for (ai = res; ai; ai = ai->ai_next) {
		const struct sockaddr_in *sin;

		if (ai->ai_family != AF_INET || !ai->ai_addr ||
		    ai->ai_addrlen < sizeof(*sin))
			continue;
		sin = (const struct sockaddr_in *)ai->ai_addr;
		any = true;
		if (addrset_add(set, sin->sin_addr.s_addr) < 0) {
			ret = too_many(set->max, err, errlen);
			break;
		}
	}
	freeaddrinfo(res);
	if (!ret && !any)
		ret = not_found(name, err, errlen);
	return ret;
}

/* Marks where the addresses added since `from` came from. */
static void mark_source(const struct addrset *set, size_t from, uint8_t *src,
			enum gw_source what)
{
	for (size_t i = from; src && i < set->n; i++)
		src[i] = (uint8_t)what;
}

/* One item of --host-gateway, NUL-terminated. */
static int gateway_item(const char *item, const char *agent_hosts,
			const char *hosts_path, struct addrset *set,
			uint8_t *src, char *err, size_t errlen)
{
	char sb[SHOW_VALUE_BUF];
	struct in_addr legacy;
	size_t from = set->n;
	uint32_t addr;
	bool found = false;
	int ret;

	/* Digits and dots, or a colon: meant as an address, strictly. */
	if (!item[strspn(item, "0123456789.")] || strchr(item, ':')) {
		ret = parse_ipv4(item, &addr, err, errlen);
		if (ret)
			return ret;
		if (addrset_add(set, addr) < 0)
			return too_many(set->max, err, errlen);
		mark_source(set, from, src, GW_SRC_LITERAL);
		return 0;
	}
	if (!is_host_name(item)) {
		set_err(err, errlen,
			"\"%s\": not an IPv4 address nor a host name",
			show_value(sb, item, strlen(item)));
		return -EINVAL;
	}
	/* "0x7f.1" is a host name to us but 127.0.0.1 to getaddrinfo. */
	if (inet_aton(item, &legacy)) {
		set_err(err, errlen,
			"\"%s\": ambiguous address, write it as a.b.c.d", item);
		return -EINVAL;
	}

	/* The agent's own view first: a container's /etc/hosts. */
	if (agent_hosts) {
		ret = hosts_scan(agent_hosts, item, name_len(item), set, &found,
				 err, errlen);
		if (ret && ret != -ENOENT)
			return ret;
		if (found) {
			mark_source(set, from, src, GW_SRC_AGENT_HOSTS);
			return 0;
		}
	}
	ret = hosts_scan(hosts_path, item, name_len(item), set, &found, err,
			 errlen);
	if (ret == -ENOENT) {
		/* No hosts file: ask the resolver, forget the reason. */
		found = false;
		if (err && errlen)
			err[0] = '\0';
	} else if (ret) {
		return ret;
	}
	if (found) {
		mark_source(set, from, src, GW_SRC_HOSTS);
		return 0;
	}
	ret = dns_lookup4(item, set, err, errlen);
	if (!ret) {
		mark_source(set, from, src, GW_SRC_DNS);
	} else if (agent_hosts && err && errlen) {
		/* say every source tried */
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		set_err(err, errlen, "\"%s\" is not in %s nor in %s, and DNS: %s",
			item, agent_hosts, hosts_path, why);
	}
	return ret;
}

const char *gw_source_name(enum gw_source what)
{
	switch (what) {
	case GW_SRC_LITERAL:
		return "given";
	case GW_SRC_AGENT_HOSTS:
		return "agent-hosts";
	case GW_SRC_HOSTS:
		return "hosts";
	case GW_SRC_DNS:
		return "dns";
	}
	return "?";
}

int resolve_host_gateway(const char *spec, const char *hosts_path,
			 uint32_t *out_be, size_t max, size_t *n, char *err,
			 size_t errlen)
{
	return resolve_host_gateway_from(spec, NULL, hosts_path, out_be, NULL,
					 max, n, err, errlen);
}

int resolve_host_gateway_from(const char *spec, const char *agent_hosts,
			      const char *hosts_path, uint32_t *out_be,
			      uint8_t *src, size_t max, size_t *n, char *err,
			      size_t errlen)
{
	struct addrset set = { .v = out_be, .max = max };
	const char *p, *comma, *where;
	char sb[SHOW_VALUE_BUF];
	char *item;
	size_t len;
	int ret = 0;

	*n = 0;
	if (!spec)
		spec = NF_HOST_GATEWAY;
	if (!hosts_path)
		hosts_path = NF_HOSTS_FILE;
	if (!*spec) {
		set_err(err, errlen, "empty host list");
		return -EINVAL;
	}

	for (p = spec;; p = comma + 1) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (!len) {
			if (p == spec)
				where = "starts with a comma";
			else if (!comma)
				where = "ends with a comma";
			else
				where = "empty item between commas";
			set_err(err, errlen, "\"%s\": %s",
				show_value(sb, spec, strlen(spec)), where);
			return -EINVAL;
		}
		item = strndup(p, len);
		if (!item) {
			set_err(err, errlen, "out of memory");
			return -ENOMEM;
		}
		ret = gateway_item(item, agent_hosts, hosts_path, &set, src,
				   err, errlen);
		free(item);
		if (ret)
			return ret;
		if (!comma)
			break;
	}
	*n = set.n;
	return 0;
}

int route_onlink4(const char *path, uint32_t addr, bool *onlink, char *err,
		  size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;
	bool head = false;
	FILE *f;

	*onlink = false;
	f = fopen(path, "re");
	if (!f)
		return read_error(path, errno, err, errlen);
	while (getline(&line, &cap, f) >= 0) {
		char ifname[32];
		unsigned int dst, gw, flags, mask;

		if (!head) {
			/* "Iface Destination Gateway Flags ... Mask ..." */
			head = !strncmp(line, "Iface", 5);
			continue;
		}
		/* addresses as the kernel stores them: network order */
		if (sscanf(line, "%31s %x %x %x %*d %*d %*d %x", ifname, &dst,
			   &gw, &flags, &mask) != 5)
			continue;
		if (!(flags & RTF_UP) || (flags & RTF_GATEWAY) || gw || !mask)
			continue;
		if ((addr & mask) == (dst & mask)) {
			*onlink = true;
			break;
		}
	}
	if (ferror(f))
		ret = read_error(path, errno ? errno : EIO, err, errlen);
	else if (!head) {
		set_err(err, errlen, "%s: not a routing table", path);
		ret = -EINVAL;
	}
	free(line);
	fclose(f);
	return ret;
}

int local_addr4(uint32_t addr, bool *local, char *err, size_t errlen)
{
	struct ifaddrs *ifa, *i;
	char eb[128];
	int e;

	*local = false;
	if (getifaddrs(&ifa)) {
		e = errno;
		set_err(err, errlen, "cannot list this host's addresses: %s",
			strerror_r(e, eb, sizeof(eb)));
		return -e;
	}
	for (i = ifa; i && !*local; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == addr)
			*local = true;
	freeifaddrs(ifa);
	return 0;
}
