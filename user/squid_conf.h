/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The embedded Squid's configuration: a complete squid.conf for Squid 5.7
 * with three listeners on one address,
 *
 *   http_port  HTTP_PORT  intercept   redirected plain HTTP, the Host header
 *                                     decides (name=nf_http)
 *   https_port HTTPS_PORT intercept   redirected TLS, peeked at for the SNI,
 *              ssl-bump               then spliced or terminated; never
 *                                     decrypted (name=nf_tls)
 *   http_port  FWD_PORT               an ordinary forward proxy for
 *                                     HTTP_PROXY clients and CONNECT; Squid
 *                                     also refuses to start without one
 *                                     (name=nf_fwd)
 *
 * and the domain policy of domains.h: blocked beats allowed, http:// items
 * only on the plain HTTP paths, https:// items only on the TLS and CONNECT
 * paths, raw-IP hosts only when listed, CONNECT only to the TLS ports,
 * plain HTTP on the forward port only to the HTTP ports and only http://
 * URLs, everything else denied. Squid itself never connects to 127.0.0.0/8
 * (unless allow_loopback_dst) nor 169.254.0.0/16, whatever a name resolves to.
 *
 * Everything Squid writes (pid file, logs, core dumps) lives in run_dir.
 * Squid 5.7 refuses to run as root. It starts as root, binds, reads this
 * file and the certificate, then runs as `user` (default "proxy"):
 *   - run_dir must be owned by (or writable for) that user and every
 *     directory above it searchable by it (o+x): Squid opens its logs after
 *     the switch and exits ("Cannot open ... for writing") otherwise;
 *   - hosts_file is read after the switch too: it must be readable by that
 *     user, or Squid only logs "parseEtcHosts: Permission denied" and falls
 *     back to DNS;
 *   - the certificate may stay root-only (0600).
 * Start Squid with an ABSOLUTE path to the configuration: Squid changes
 * directory to run_dir (coredump_dir), so a relative -f path makes the
 * next reconfigure fail and Squid exit.
 *
 * Functions return 0 or a negative errno and write a one-line reason into
 * err (always NUL-terminated when errlen > 0).
 */
#ifndef NETFENCE_SQUID_CONF_H
#define NETFENCE_SQUID_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "domains.h"
#include "urls.h"

/* Files Squid writes, relative to run_dir. */
#define SQUID_PID_FILE "squid.pid"
#define SQUID_ACCESS_LOG "access.log"
#define SQUID_CACHE_LOG "cache.log"
/* The file cert_generate() writes, relative to its dir. */
#define SQUID_CERT_FILE "intercept.pem"
/* The files ca_generate() writes, relative to its dir. */
#define SQUID_CA_FILE "ca.pem"
#define SQUID_CA_CERT_FILE "ca.crt"
#define SQUID_CERTGEN "/usr/lib/squid/security_file_certgen"

#define SQUID_DEFAULT_HOSTS "/etc/hosts"
#define SQUID_DEFAULT_USER "proxy"
#define SQUID_DEFAULT_HTTP_PORT 80 /* forward proxy, plain HTTP */
#define SQUID_DEFAULT_TLS_PORT 443 /* forward proxy, CONNECT */
#define SQUID_MAX_PORTS 64 /* per port list */
#define SQUID_MAX_DNS 8 /* dns_servers addresses */

/*
 * access.log, one line per transaction, fields separated by one space, "-"
 * when empty, in this order:
 *   time           seconds.milliseconds since the epoch
 *   client         agent address and port
 *   local          address and port the agent's connection reached: on the
 *                  intercept ports the ORIGINAL destination (from
 *                  SO_ORIGINAL_DST), on the forward port Squid's own
 *   listener       Squid's listening address and port (tells the three
 *                  ports apart)
 *   method         GET, CONNECT, ... (CONNECT also for intercepted TLS)
 *   host           the request's host: Host header / URL / CONNECT target
 *   sni            the TLS client's SNI ("-" for plain HTTP)
 *   bump           ssl_bump decision: peek, splice, terminate, "-"
 *   status         HTTP status sent to the agent (Squid 5.7 logs 500 or
 *                  200 for spliced tunnels that worked)
 *   result         Squid's code: TCP_MISS, TCP_DENIED, TCP_TUNNEL, ...
 *   server         address and port Squid connected to ("-" if none)
 *   bytes_in       bytes received from the agent
 *   bytes_out      bytes sent to the agent
 *   duration       milliseconds
 */
#define SQUID_LOGFORMAT                                             \
	"%ts.%03tu %>a:%>p %>la:%>lp %la:%lp %>rm %>rd %ssl::>sni " \
	"%ssl::bump_mode %>Hs %Ss %<a:%<p %>st %<st %tr"

struct squid_conf_opts {
	const char *run_dir; /* everything Squid writes lives here */
	const char *listen_addr; /* dotted IPv4 */
	uint16_t http_port; /* intercept, Host header decides */
	uint16_t https_port; /* intercept ssl-bump peek/splice */
	uint16_t fwd_port; /* ordinary forward proxy for HTTP_PROXY / CONNECT */
	const char *cert_path; /* PEM with key+cert for the ssl-bump port */
	const char *hosts_file; /* hosts_file directive, default /etc/hosts */
	const struct domain_list *allow, *block;
	/* optional "a.b.c.d a.b.c.d" for dns_nameservers */
	const char *dns_servers;

	/* Optional; zero values mean the defaults. */
	const char *user; /* cache_effective_user, default "proxy" */
	const uint16_t *http_ports; /* forward port: plain HTTP only to these */
	size_t n_http_ports; /* 0: port 80 only */
	const uint16_t *tls_ports; /* forward port: CONNECT only to these */
	size_t n_tls_ports; /* 0: port 443 only */
	bool allow_loopback_dst; /* let Squid connect to 127/8 (tests only) */

	/*
	 * ssl-bump: DECRYPT the TLS of allowed names (intercepted and CONNECT)
	 * so that Squid sees each request and the URL rules apply. cert_path
	 * is then the run's CA (certificate and key), which signs a
	 * certificate per name through the certgen helper (Squid's
	 * security_file_certgen) and its database directory cert_db.
	 */
	bool bump;
	const char *certgen; /* absolute path of security_file_certgen */
	const char *cert_db; /* its database (made with certgen -c) */
	const char *origin_ca; /* optional: more CAs to trust for origins */
	/* optional: --allow-urls; https:// rules need bump */
	const struct url_list *urls;

	/*
	 * Optional parent proxy (a dotted quad or a host name, and its port):
	 * every allowed request goes through it (CONNECT for TLS, spliced or
	 * bumped), never direct.
	 */
	const char *upstream_host;
	uint16_t upstream_port;
};

/*
 * Checks every option: absolute paths, a dotted-quad listen address, three
 * distinct non-zero ports, valid rules, DNS servers as dotted quads. No
 * string option may contain whitespace, a control character, '#', a quote,
 * a backslash, '$' or a byte outside ASCII: nothing a caller passes can
 * start another configuration line or change how one is read.
 */
int squid_conf_validate(const struct squid_conf_opts *o, char *err,
			size_t errlen);

/*
 * Validates o (as squid_conf_validate) and writes the whole configuration
 * to f. -EINVAL for bad options (nothing written), -EIO when writing to f
 * failed.
 */
int squid_conf_write(FILE *f, const struct squid_conf_opts *o, char *err,
		     size_t errlen);

/*
 * Makes a throwaway self-signed certificate and key (EC P-256, CN
 * netfence-intercept, valid one day) with the openssl command, run without a
 * shell, and stores both in DIR/intercept.pem, mode 0600, replacing an
 * older one. Writes that path into path_out. Squid needs it only to accept
 * TLS on the ssl-bump port: with splice and terminate nothing is ever
 * signed with it. The caller must not have SIGCHLD ignored.
 */
int cert_generate(const char *dir, char *path_out, size_t len, char *err,
		  size_t errlen);

/*
 * The run's CA for ssl-bump (EC P-256, valid one day, CA:TRUE, pathlen 0,
 * keyCertSign): DIR/ca.pem (certificate and key, 0600; its path goes to
 * path_out) and DIR/ca.crt (the certificate alone, 0644, for the clients).
 */
int ca_generate(const char *dir, char *path_out, size_t len, char *err,
		size_t errlen);

/* Makes the certificate helper's database: `certgen -c -s DB -M 4MB`. */
int cert_db_init(const char *certgen, const char *db, char *err, size_t errlen);

#endif /* NETFENCE_SQUID_CONF_H */
