// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "cgroup.h"
#include "cli.h"
#include "log.h"
#include "parse.h"
#include "policy.h"
#include "resolve.h"

const struct option policy_options[] = {
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "proxy", required_argument, NULL, OPT_PROXY },
	{ "tls-proxy", required_argument, NULL, OPT_TLS_PROXY },
	{ "forward-proxy", required_argument, NULL, OPT_FWD_PROXY },
	{ "proxy-cgroup", required_argument, NULL, OPT_PROXY_CGROUP },
	{ "enable-host-access", no_argument, NULL, OPT_HOST_ACCESS },
	{ "host-gateway", required_argument, NULL, OPT_HOST_GATEWAY },
	{ "allow-host-ports", required_argument, NULL, OPT_HOST_PORTS },
	{ "dns-servers", required_argument, NULL, OPT_DNS_SERVERS },
	{ "redirect-ports", required_argument, NULL, OPT_REDIRECT_PORTS },
	{ "tls-ports", required_argument, NULL, OPT_TLS_PORTS },
	{ "loopback", required_argument, NULL, OPT_LOOPBACK },
	{ "log-allowed", no_argument, NULL, OPT_LOG_ALLOWED },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "proxy-pid", required_argument, NULL, OPT_PROXY_PID },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "dns-proxy", required_argument, NULL, OPT_DNS_PROXY },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONNS },
	{ 0 },
};

const char *policy_opt_name(int id)
{
	static char buf[64];

	for (const struct option *opt = policy_options; opt->name; opt++) {
		if (opt->val == id) {
			snprintf(buf, sizeof(buf), "--%s", opt->name);
			return buf;
		}
	}
	return "?";
}

void policy_opts_init(struct policy_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->loopback = -1;
	o->max_conns = -1;
	o->hosts_path = "/etc/hosts";
	o->resolv_path = "/etc/resolv.conf";
}

void policy_opts_free(struct policy_opts *o)
{
	for (int i = 0; i < o->n_owned; i++)
		free(o->owned[i]);
	o->n_owned = 0;
}

static int set_endpoint(struct endpoint4 *ep, const char *flag,
			const char *arg, char *err, size_t errlen)
{
	char why[160];

	if (parse_endpoint4(arg, &ep->addr, &ep->port, why, sizeof(why))) {
		snprintf(err, errlen, "%s '%s': %s", flag, arg, why);
		return -EINVAL;
	}
	ep->set = true;
	return 0;
}

/* Checks a port spec now, so the error names the flag at parse time. */
static int check_spec(const char **dst, const char *flag, const char *arg,
		      char *err, size_t errlen)
{
	uint8_t scratch[NF_PORT_BITMAP_BYTES] = { 0 };
	char why[160];

	if (parse_port_spec(arg, scratch, why, sizeof(why))) {
		snprintf(err, errlen, "%s '%s': %s", flag, arg, why);
		return -EINVAL;
	}
	*dst = arg;
	return 0;
}

int policy_opt_set(struct policy_opts *o, int id, const char *arg, char *err,
		   size_t errlen)
{
	char name[64];

	snprintf(name, sizeof(name), "%s", policy_opt_name(id));
	if (id < OPT_CGROUP || id >= OPT_POLICY_END) {
		snprintf(err, errlen, "unknown option");
		return -EINVAL;
	}
	if (o->seen & (1ull << (id - OPT_CGROUP))) {
		if (!(o->from_file & (1ull << (id - OPT_CGROUP)))) {
			snprintf(err, errlen, "%s given twice", name);
			return -EINVAL;
		}
		/* the command line overrides the policy file */
		o->from_file &= ~(1ull << (id - OPT_CGROUP));
	}
	o->seen |= 1ull << (id - OPT_CGROUP);
	if (arg && !*arg) {
		snprintf(err, errlen, "%s '': empty value", name);
		return -EINVAL;
	}

	switch (id) {
	case OPT_CGROUP:
		o->cgroup = arg;
		return 0;
	case OPT_PROXY_CGROUP:
		o->proxy_cgroup = arg;
		return 0;
	case OPT_PROXY:
		return set_endpoint(&o->proxy, name, arg, err, errlen);
	case OPT_TLS_PROXY:
		return set_endpoint(&o->tls_proxy, name, arg, err, errlen);
	case OPT_FWD_PROXY:
		return set_endpoint(&o->fwd_proxy, name, arg, err, errlen);
	case OPT_DNS_PROXY:
		return set_endpoint(&o->dns_proxy, name, arg, err, errlen);
	case OPT_HOST_ACCESS:
		o->host_access = true;
		return 0;
	case OPT_LOG_ALLOWED:
		o->log_allowed = true;
		return 0;
	case OPT_PID:
	case OPT_PROXY_PID: {
		char *end;
		long v;

		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || v <= 0 || v > 4194304 || arg[0] == '0' ||
		    arg[0] == '+') {
			snprintf(err, errlen, "%s '%s': expected a process id", name, arg);
			return -EINVAL;
		}
		*(id == OPT_PID ? &o->pid : &o->proxy_pid) = (int)v;
		return 0;
	}
	case OPT_CONFIG:
		o->config = arg;
		return 0;
	case OPT_MAX_CONNS: {
		char *end;
		long v;

		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || arg[0] < '0' || arg[0] > '9' || v < 0 ||
		    v > MAX_CONNS_LIMIT) {
			snprintf(err, errlen,
				 "%s '%s': expected a number of connections, 0-%u (0: no limit)",
				 name, arg, MAX_CONNS_LIMIT);
			return -EINVAL;
		}
		o->max_conns = v;
		return 0;
	}
	case OPT_HOST_GATEWAY:
		o->host_gateway = arg;
		return 0;
	case OPT_HOST_PORTS:
		return check_spec(&o->host_ports, name, arg, err, errlen);
	case OPT_DNS_SERVERS: {
		uint32_t tmp[NF_MAX_RESOLVERS];
		char why[160];
		size_t n;

		if (parse_ipv4_list(arg, tmp, NF_MAX_RESOLVERS, &n, why,
				    sizeof(why))) {
			snprintf(err, errlen, "%s '%s': %s", name, arg, why);
			return -EINVAL;
		}
		o->dns_servers = arg;
		return 0;
	}
	case OPT_REDIRECT_PORTS:
		return check_spec(&o->redirect_ports, name, arg, err, errlen);
	case OPT_TLS_PORTS:
		return check_spec(&o->tls_ports, name, arg, err, errlen);
	case OPT_LOOPBACK:
		if (!strcmp(arg, "allow")) {
			o->loopback = NF_LOOPBACK_ALLOW;
		} else if (!strcmp(arg, "host")) {
			o->loopback = NF_LOOPBACK_HOST;
		} else {
			snprintf(err, errlen, "%s '%s': expected 'allow' or 'host'",
				 name, arg);
			return -EINVAL;
		}
		return 0;
	}
	return -EINVAL;
}

static int opt_id(const char *name)
{
	for (const struct option *opt = policy_options; opt->name; opt++) {
		if (!strcmp(opt->name, name))
			return opt->val;
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
			 e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int policy_config_load(struct policy_opts *o, const char *path, char *err,
		       size_t errlen)
{
	char *line = NULL, why[400];
	size_t cap = 0;
	int lineno = 0, ret = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(err, errlen, "--config '%s': %s", path, strerror(errno));
		return -errno;
	}
	while (getline(&line, &cap, f) > 0) {
		const struct option *opt;
		char *key, *val = NULL, *eq;
		int id;

		lineno++;
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (eq) {
			*eq = '\0';
			val = trim(eq + 1);
			key = trim(key);
		}
		id = opt_id(key);
		opt = NULL;
		for (const struct option *p = policy_options; p->name; p++)
			if (p->val == id)
				opt = p;
		if (!id || id == OPT_CONFIG) {
			snprintf(err, errlen, "--config '%s': line %d: unknown flag '%s'",
				 path, lineno, key);
			ret = -EINVAL;
			break;
		}
		if (o->seen & (1ull << (id - OPT_CGROUP))) {
			snprintf(err, errlen, "--config '%s': line %d: --%s given twice",
				 path, lineno, key);
			ret = -EINVAL;
			break;
		}
		if ((opt->has_arg == required_argument) != (val != NULL)) {
			snprintf(err, errlen, "--config '%s': line %d: '%s' %s", path,
				 lineno, key, val ? "takes no value" : "needs '= value'");
			ret = -EINVAL;
			break;
		}
		/* values must outlive the file: keep a copy for the run */
		if (val) {
			if (o->n_owned == OPT_MAX_OWNED || !(val = strdup(val))) {
				ret = -ENOMEM;
				snprintf(err, errlen, "--config '%s': line %d: too many values",
					 path, lineno);
				break;
			}
			o->owned[o->n_owned++] = val;
		}
		ret = policy_opt_set(o, id, val, why, sizeof(why));
		if (ret) {
			snprintf(err, errlen, "--config '%s': line %d: %s", path,
				 lineno, why);
			break;
		}
		o->from_file |= 1ull << (id - OPT_CGROUP);
	}
	free(line);
	fclose(f);
	return ret;
}

static bool from_file(const struct policy_opts *o, int id)
{
	return o->from_file & (1ull << (id - OPT_CGROUP));
}

/* Of a path/pid pair, the one from the file gives way to the other given as a flag. */
static void flag_overrides_file(struct policy_opts *o, int path_id, int pid_id,
				const char **path, int *pid)
{
	if (!*path || !*pid)
		return;
	if (from_file(o, path_id) && !from_file(o, pid_id))
		*path = NULL;
	else if (from_file(o, pid_id) && !from_file(o, path_id))
		*pid = 0;
}

int policy_parse_args(struct policy_opts *o, int argc, char **argv,
		      const struct option *longopts,
		      int (*other)(void *ctx, int id, const char *arg, char **argv),
		      void *ctx)
{
	char err[600];
	int c, ret;

	/* pass 1: the policy file, so that flags override it */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+" CLI_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == OPT_CONFIG) {
			if (o->config) {
				p_err("--config given twice");
				return EXIT_USAGE;
			}
			o->config = optarg;
		}
	}
	if (o->config) {
		if (policy_config_load(o, o->config, err, sizeof(err))) {
			p_err("%s", err);
			return EXIT_USAGE;
		}
		o->seen |= 1ull << (OPT_CONFIG - OPT_CGROUP);
	}

	optind = 0;
	while ((c = getopt_long(argc, argv, "+" CLI_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			p_err(c == ':' ? "%s needs a value" : "unknown option '%s'",
			      argv[optind - 1]);
			return EXIT_USAGE;
		}
		if (c == OPT_CONFIG)
			continue;
		if (c >= OPT_CGROUP && c < OPT_POLICY_END) {
			if (policy_opt_set(o, c, optarg, err, sizeof(err))) {
				p_err("%s", err);
				return EXIT_USAGE;
			}
			continue;
		}
		ret = other(ctx, c, optarg, argv);
		if (ret)
			return ret;
	}
	/* a flag overrides the file: also --pid a file's cgroup, and the other way round */
	flag_overrides_file(o, OPT_CGROUP, OPT_PID, &o->cgroup, &o->pid);
	flag_overrides_file(o, OPT_PROXY_CGROUP, OPT_PROXY_PID, &o->proxy_cgroup,
			    &o->proxy_pid);
	return 0;
}

/* Port set of a spec with the dangerous ports taken out. */
static void redirect_set(const char *spec, uint8_t *bm)
{
	parse_port_spec(spec, bm, NULL, 0);	/* checked when the flag was set */
	for (size_t i = 0; i < nf_dangerous_ports_count; i++)
		bm[nf_dangerous_ports[i] >> 3] &=
			(uint8_t)~(1u << (nf_dangerous_ports[i] & 7));
}

static int build_resolvers(const struct policy_opts *o, struct policy_names *nm,
			   char *err, size_t errlen)
{
	uint32_t r[NF_MAX_RESOLVERS];
	char why[256];
	size_t n = 0;
	int ret;

	if (o->dns_servers) {
		ret = parse_ipv4_list(o->dns_servers, r, NF_MAX_RESOLVERS, &n,
				      why, sizeof(why));
		if (ret) {
			snprintf(err, errlen, "--dns-servers '%s': %s",
				 o->dns_servers, why);
			return ret;
		}
	} else {
		ret = resolv_conf_nameservers(o->resolv_path, r,
					      NF_MAX_RESOLVERS, &n, why,
					      sizeof(why));
		/* no resolv.conf: no resolver is allowed (fail closed) */
		if (ret == -ENOENT)
			n = 0;
		else if (ret) {
			snprintf(err, errlen, "%s (give --dns-servers)", why);
			return ret;
		}
	}
	for (size_t i = 0; i < n; i++)
		nm->resolvers[i] = r[i];
	nm->nr_resolvers = (uint16_t)n;
	return 0;
}

static int build_bypass(const struct policy_opts *o, struct host_bypass *out,
			char *err, size_t errlen)
{
	uint8_t ports[NF_PORT_BITMAP_BYTES] = { 0 };
	const char *spec = o->host_ports ? o->host_ports : DEFAULT_HOST_PORTS;
	size_t nports, naddr, k = 0;
	uint16_t bad;
	char why[256];
	int ret;

	parse_port_spec(spec, ports, NULL, 0);
	bad = portset_first_dangerous(ports);
	if (bad) {
		snprintf(err, errlen,
			 "--allow-host-ports '%s': port %u is a dangerous port and is never allowed",
			 spec, bad);
		return -EINVAL;
	}
	ret = resolve_host_gateway_from(o->host_gateway, o->agent_hosts_path,
					o->hosts_path, out->gateways,
					out->gateway_src, MAX_GATEWAYS,
					&out->n_gateways, why, sizeof(why));
	out->agent_hosts = o->agent_hosts_path;
	if (!o->host_gateway && o->loopback == NF_LOOPBACK_HOST &&
	    (ret || !out->n_gateways)) {
		/* on a bare host the gateway is loopback itself */
		ret = 0;
		out->n_gateways = 0;
	} else if (ret || !out->n_gateways) {
		snprintf(err, errlen, "--host-gateway '%s': %s",
			 o->host_gateway ? o->host_gateway : DEFAULT_HOST_GATEWAY,
			 ret ? why : "no IPv4 address");
		return ret ? ret : -ENOENT;
	}

	nports = portset_count(ports);
	naddr = out->n_gateways + (o->loopback == NF_LOOPBACK_HOST);
	if (nports * naddr > MAX_BYPASS_ENTRIES) {
		snprintf(err, errlen, "--allow-host-ports '%s': %zu gateway/port pairs, more than %u",
			 spec, nports * naddr, MAX_BYPASS_ENTRIES);
		return -E2BIG;
	}
	out->bypass = calloc(nports * naddr + 1, sizeof(*out->bypass));
	if (!out->bypass) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t a = 0; a < naddr; a++) {
		uint32_t addr = a < out->n_gateways ? out->gateways[a] :
						      htonl(INADDR_LOOPBACK);

		for (uint32_t port = 1; port <= 65535; port++) {
			if (!portset_has(ports, (uint16_t)port))
				continue;
			out->bypass[k].addr = addr;
			out->bypass[k].port = htons((uint16_t)port);
			k++;
		}
	}
	out->n_bypass = k;
	return 0;
}

int policy_resolve(const struct policy_opts *o, struct policy_names *out,
		   char *err, size_t errlen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if (!o->host_access && o->host_ports) {
		snprintf(err, errlen, "--allow-host-ports '%s' needs --enable-host-access",
			 o->host_ports);
		return -EINVAL;
	}
	if (!o->host_access && o->host_gateway) {
		snprintf(err, errlen, "--host-gateway '%s' needs --enable-host-access",
			 o->host_gateway);
		return -EINVAL;
	}
	ret = build_resolvers(o, out, err, errlen);
	if (!ret && o->host_access)
		ret = build_bypass(o, &out->host, err, errlen);
	if (ret)
		policy_names_free(out);
	return ret;
}

static void host_bypass_free(struct host_bypass *h)
{
	free(h->bypass);
	h->bypass = NULL;
	h->n_bypass = 0;
}

void policy_names_free(struct policy_names *n)
{
	if (n)
		host_bypass_free(&n->host);
}

int policy_assemble(const struct policy_opts *o, struct policy_names *names,
		    struct policy *out, char *err, size_t errlen)
{
	struct nf_policy *p = &out->pol;

	memset(out, 0, sizeof(*out));
	if (!o->proxy.set) {
		snprintf(err, errlen, "--proxy IP:PORT is required");
		return -EINVAL;
	}

	p->loopback = o->loopback < 0 ? NF_LOOPBACK_ALLOW : (uint32_t)o->loopback;
	p->proxy_addr = o->proxy.addr;
	p->proxy_port = o->proxy.port;
	if (o->tls_proxy.set) {
		p->flags |= NF_F_TLS_PROXY;
		p->tls_proxy_addr = o->tls_proxy.addr;
		p->tls_proxy_port = o->tls_proxy.port;
	}
	if (o->inbound_local)
		p->flags |= NF_F_INBOUND_LOCAL;
	if (o->log_allowed)
		p->flags |= NF_F_EVENTS_ALLOWED;
	if (o->dns_proxy.set) {
		p->flags |= NF_F_DNS_PROXY;
		p->dns_proxy_addr = o->dns_proxy.addr;
		p->dns_proxy_port = o->dns_proxy.port;
	}
	p->max_conns = o->max_conns < 0 ? NF_DEFAULT_MAX_CONNS :
					   (uint32_t)o->max_conns;
	if (o->fwd_proxy.set) {
		p->flags |= NF_F_FWD_PROXY;
		p->fwd_proxy_addr = o->fwd_proxy.addr;
		p->fwd_proxy_port = o->fwd_proxy.port;
	}
	redirect_set(o->redirect_ports ? o->redirect_ports : DEFAULT_REDIRECT_PORTS,
		     p->redirect_ports);
	redirect_set(o->tls_ports ? o->tls_ports : DEFAULT_TLS_PORTS,
		     p->tls_ports);
	/* --tls-ports are "of those": a TLS port outside the redirect set is refused */
	for (size_t i = 0; i < sizeof(p->tls_ports); i++)
		p->tls_ports[i] &= p->redirect_ports[i];

	memcpy(p->agent_addrs, o->agent_addrs, sizeof(p->agent_addrs));
	p->nr_agent_addrs = o->nr_agent_addrs;
	/* what policy_resolve looked up; the bypass pairs change hands */
	for (size_t i = 0; i < names->nr_resolvers; i++)
		p->resolvers[i] = names->resolvers[i];
	p->nr_resolvers = names->nr_resolvers;
	out->host = names->host;
	memset(names, 0, sizeof(*names));
	return 0;
}

int policy_build(const struct policy_opts *o, struct policy *out, char *err,
		 size_t errlen)
{
	struct policy_names names;
	int ret;

	memset(out, 0, sizeof(*out));
	/* without a proxy there is nothing to build: nothing is looked up */
	if (!o->proxy.set) {
		snprintf(err, errlen, "--proxy IP:PORT is required");
		return -EINVAL;
	}
	ret = policy_resolve(o, &names, err, errlen);
	if (ret)
		return ret;
	ret = policy_assemble(o, &names, out, err, errlen);
	policy_names_free(&names);
	return ret;
}

void policy_free(struct policy *p)
{
	if (p)
		host_bypass_free(&p->host);
}

void gateway_describe(uint32_t addr_be, uint8_t src, const char *agent_hosts,
		      const struct nf_bypass_key *bypass, size_t n_bypass,
		      char *buf, size_t len)
{
	static uint8_t ports[NF_PORT_BITMAP_BYTES];
	char addr[16], pbuf[512];
	const char *from;

	memset(ports, 0, sizeof(ports));
	for (size_t i = 0; i < n_bypass; i++)
		if (bypass[i].addr == addr_be)
			portset_add(ports, ntohs(bypass[i].port));
	if (portset_format(ports, pbuf, sizeof(pbuf)) < 0)
		snprintf(pbuf, sizeof(pbuf), "(too many to list)");
	format_ipv4(addr_be, addr);
	switch (src) {
	case GW_SRC_AGENT_HOSTS:
		from = agent_hosts && *agent_hosts ? agent_hosts : "the agent's hosts file";
		break;
	case GW_SRC_HOSTS:
		from = "the host's " NF_HOSTS_FILE;
		break;
	case GW_SRC_DNS:
		from = "the host's DNS";
		break;
	default:
		from = "given as an address";
		break;
	}
	snprintf(buf, len, "%s ports %s (%s%s)", addr, pbuf[0] ? pbuf : "none",
		 src == GW_SRC_LITERAL ? "" : "from ", from);
}
