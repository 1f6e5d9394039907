/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The DNS filter's configuration: a complete dnsmasq.conf (dnsmasq 2.86 or
 * later) that answers only the names the allowlist allows, with the
 * semantics of domains.h, and forwards only those to the upstreams:
 *
 *   example.com     server=/example.com/UP           the name and subdomains
 *   *.example.com   server=/(*).example.com/UP       subdomains only
 *   blocked x.com   server=/x.com/# server=/(*).x.com/#
 *
 * ("(*)" is a lone '*': C comments cannot hold it before a '/').
 *
 * With no-resolv there are no "standard servers", so '#' and every name no
 * server= line covers are answered REFUSED, never forwarded. dnsmasq picks
 * the most specific match ("*.a.com" beats "a.com" for "b.a.com"), so a
 * block under an allowed name wins; an allowed rule that a block covers
 * entirely is left out. Only block rules for both schemes block names
 * (https://x.com blocked still resolves x.com for plain HTTP). Raw-IP rules
 * have no name and write nothing. Names in hosts_file are answered from it
 * (addn-hosts), whatever the lists say.
 *
 * Functions return 0 or a negative errno and write a one-line reason into
 * err (always NUL-terminated when errlen > 0).
 */
#ifndef NETFENCE_DNSMASQ_CONF_H
#define NETFENCE_DNSMASQ_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "domains.h"

#define DNSMASQ_MAX_UPSTREAMS 8

struct dnsmasq_conf_opts {
	const char *listen_addr;	/* dotted quad, UDP and TCP */
	uint16_t port;			/* host order */
	const struct domain_list *allow;
	const struct domain_list *block;	/* NULL: none */
	const uint32_t *upstreams;	/* net order, port 53 */
	size_t n_upstreams;
	const char *hosts_file;		/* NULL: none */
	const char *pid_file;		/* NULL: none */
	const char *log_file;		/* NULL: stderr */
	const char *user;		/* NULL: dnsmasq's default */
};

/*
 * Writes the configuration to f. -EINVAL: a bad option, an entry dnsmasq
 * cannot take (the reason names it), or more than DNSMASQ_MAX_UPSTREAMS.
 */
int dnsmasq_conf_write(FILE *f, const struct dnsmasq_conf_opts *o, char *err,
		       size_t errlen);

#endif /* NETFENCE_DNSMASQ_CONF_H */
