/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Addresses from the system's files: the resolvers of a resolv.conf, the
 * entries of a hosts file, and the host gateway. Paths are parameters so
 * tests use their own files.
 *
 * Return and reason conventions are parse.h's: 0 or a negative errno, and a
 * short reason in err on failure. Addresses are IPv4, network order, without
 * duplicates, in the order first seen.
 */
#ifndef NETFENCE_RESOLVE_H
#define NETFENCE_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NF_RESOLV_CONF "/etc/resolv.conf"
#define NF_HOSTS_FILE "/etc/hosts"
#define NF_HOST_GATEWAY "host.docker.internal"

/*
 * The IPv4 "nameserver" lines of a resolv.conf. Comments ('#' or ';'),
 * blank lines and other keywords are skipped, and so are IPv6 and malformed
 * nameservers. Stops at max, ignoring the rest (as the C library does past
 * its own limit). No IPv4 nameserver: 0 with *n = 0. A file that cannot be
 * read: -errno, reason "cannot read PATH: ...". path NULL: NF_RESOLV_CONF.
 */
int resolv_conf_nameservers(const char *path, uint32_t *out_be, size_t max,
			    size_t *n, char *err, size_t errlen);

/*
 * The IPv4 addresses a hosts-format file gives name, as canonical name or
 * alias: case-insensitive, a trailing dot on either side ignored, text after
 * '#' ignored, IPv6 lines skipped. Not found: 0 with *n = 0. More than max
 * distinct addresses: -E2BIG. A file that cannot be read: -errno. path
 * NULL: NF_HOSTS_FILE.
 */
int hosts_lookup4(const char *path, const char *name, uint32_t *out_be,
		  size_t max, size_t *n, char *err, size_t errlen);

/*
 * The addresses of --host-gateway's value: a comma-separated list of IPv4
 * literals (taken as they are) and host names. A name is looked up in
 * hosts_path (NULL: NF_HOSTS_FILE; a missing file counts as empty) and,
 * when not there, with getaddrinfo(AF_INET), every address. Names under
 * ".invalid" never resolve and are not sent to DNS (RFC 6761). spec NULL
 * means NF_HOST_GATEWAY.
 *
 * A name that resolves to nothing: -ENOENT with reason
 * "\"NAME\" does not resolve to an IPv4 address"; a temporary DNS failure:
 * -EAGAIN; more than max distinct addresses: -E2BIG. *n is 0 on failure.
 */
int resolve_host_gateway(const char *spec, const char *hosts_path,
			 uint32_t *out_be, size_t max, size_t *n, char *err,
			 size_t errlen);

/* Where a --host-gateway address came from. */
enum gw_source {
	GW_SRC_LITERAL,		/* written as an address */
	GW_SRC_AGENT_HOSTS,	/* the agent's own hosts file */
	GW_SRC_HOSTS,		/* the host's hosts file */
	GW_SRC_DNS,		/* the host's resolver */
};

/* "given", "agent-hosts", "hosts", "dns" */
const char *gw_source_name(enum gw_source what);

/*
 * resolve_host_gateway, with the agent's own view first: a name is looked
 * up in agent_hosts (the agent's hosts file, e.g. a container's
 * /proc/PID/root/etc/hosts; NULL or missing: skipped), then in hosts_path,
 * then with DNS. src (NULL, or max entries) gets each address's source.
 * When agent_hosts is given, a name found nowhere fails with a reason that
 * names every source tried: "\"NAME\" is not in AGENT nor in HOSTS, and
 * DNS: ...".
 */
int resolve_host_gateway_from(const char *spec, const char *agent_hosts,
			      const char *hosts_path, uint32_t *out_be,
			      uint8_t *src, size_t max, size_t *n, char *err,
			      size_t errlen);

/*
 * Whether addr (network order) is on a directly connected network of the
 * routing table in path, a /proc/PID/net/route (the main table of PID's
 * network namespace): a route that is up, has no gateway and is not a
 * default route. A file that cannot be read or has no header line: -errno
 * (-EINVAL), *onlink false.
 */
int route_onlink4(const char *path, uint32_t addr, bool *onlink, char *err,
		  size_t errlen);

/* Whether addr (network order) is an address of this network namespace. */
int local_addr4(uint32_t addr, bool *local, char *err, size_t errlen);

#endif /* NETFENCE_RESOLVE_H */
