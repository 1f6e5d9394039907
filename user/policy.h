/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Policy flags (shared by attach and run) and the policy they build: the
 * struct nf_policy the BPF programs read and the host bypass pairs.
 * Pure logic: no BPF, no privileges; file paths are injectable for tests.
 */
#ifndef NETFENCE_POLICY_H
#define NETFENCE_POLICY_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netfence.h"

#define DEFAULT_REDIRECT_PORTS	"80,443"
#define DEFAULT_TLS_PORTS	"443"
#define DEFAULT_HOST_PORTS	"80,443"
#define DEFAULT_HOST_GATEWAY	"host.docker.internal"
/* run --allow-domains localhost: the agent firewall's development ports */
#define LOCALHOST_HOST_PORTS	"3000,3001,4000,4200,5000,5173,8000,8080,8081,8888,9000,9090"
#define MAX_GATEWAYS		16
/* the largest --max-connections (more than any proxy's descriptors) */
#define MAX_CONNS_LIMIT		1048576
/* the largest bypass map the loader builds: gateways x ports */
#define MAX_BYPASS_ENTRIES	(1u << 20)

#define OPT_MAX_OWNED 32

struct endpoint4 {
	bool set;
	uint32_t addr;	/* net */
	uint16_t port;	/* net */
};

struct policy_opts {
	const char *cgroup;		/* --cgroup */
	int pid;			/* --pid: the cgroup of this process */
	const char *proxy_cgroup;	/* --proxy-cgroup */
	int proxy_pid;			/* --proxy-pid */
	struct endpoint4 proxy;		/* --proxy */
	struct endpoint4 tls_proxy;	/* --tls-proxy */
	struct endpoint4 fwd_proxy;	/* --forward-proxy */
	bool host_access;		/* --enable-host-access */
	const char *host_gateway;	/* --host-gateway, NULL: default name */
	const char *host_ports;		/* --allow-host-ports, NULL: default */
	const char *dns_servers;	/* --dns-servers, NULL: resolv.conf */
	struct endpoint4 dns_proxy;	/* --dns-proxy: all DNS goes there */
	const char *redirect_ports;	/* --redirect-ports */
	const char *tls_ports;		/* --tls-ports */
	int loopback;			/* enum nf_loopback, -1: not given */
	bool log_allowed;		/* --log-allowed: events for allowed too */
	bool inbound_local;		/* accepted connections answer local peers only (run) */
	long max_conns;			/* --max-connections, -1: not given */
	/* --veth: the agent's own addresses, learnt by attach (net) */
	uint32_t agent_addrs[NF_MAX_AGENT_ADDRS];
	uint32_t nr_agent_addrs;

	/* where names and resolvers come from (tests inject their own) */
	const char *agent_hosts_path;	/* the agent's own hosts file, first */
	const char *hosts_path;
	const char *resolv_path;

	uint64_t seen;			/* bit per option id: repeated flags */
	uint64_t from_file;		/* of those, set by --config (overridable) */
	const char *config;		/* --config FILE */
	char *owned[OPT_MAX_OWNED];	/* values copied from the file */
	int n_owned;
};

/* Option ids (getopt_long values) of the policy flags. */
enum policy_opt {
	OPT_CGROUP = 0x100,
	OPT_PROXY,
	OPT_TLS_PROXY,
	OPT_FWD_PROXY,
	OPT_PROXY_CGROUP,
	OPT_HOST_ACCESS,
	OPT_HOST_GATEWAY,
	OPT_HOST_PORTS,
	OPT_DNS_SERVERS,
	OPT_REDIRECT_PORTS,
	OPT_TLS_PORTS,
	OPT_LOOPBACK,
	OPT_LOG_ALLOWED,
	OPT_PID,
	OPT_PROXY_PID,
	OPT_CONFIG,
	OPT_DNS_PROXY,
	OPT_MAX_CONNS,
	OPT_POLICY_END,
};

/* The policy flags as getopt_long entries, terminated by a zero entry. */
extern const struct option policy_options[];

void policy_opts_init(struct policy_opts *o);
/* Frees what policy_config_load copied. */
void policy_opts_free(struct policy_opts *o);

/*
 * Takes one policy flag (id from policy_options, arg its value). Returns 0,
 * or -EINVAL with "Error"-ready text in err naming the flag and value.
 */
int policy_opt_set(struct policy_opts *o, int id, const char *arg, char *err,
		   size_t errlen);

/* Name of an option id ("--proxy"). */
const char *policy_opt_name(int id);

/*
 * Loads a policy file: one flag a line, `name = value` or `name` (long
 * option names without the dashes), `#` comments, blank lines. Flags set
 * here may be given again on the command line, which wins. Returns 0 or
 * -EINVAL/-errno with a reason naming the file and line.
 */
int policy_config_load(struct policy_opts *o, const char *path, char *err,
		       size_t errlen);

/*
 * Applies the policy flags of argv (getopt_long over longopts, which holds
 * policy_options and the command's own): first --config, then the flags.
 * Flags that are not policy flags are passed to other(ctx, id, arg), which
 * returns 0, an exit status, or -1 to stop with success (--help). Returns 0 or
 * an exit status; errors are reported.
 */
int policy_parse_args(struct policy_opts *o, int argc, char **argv,
		      const struct option *longopts,
		      int (*other)(void *ctx, int id, const char *arg, char **argv),
		      void *ctx);

/* The host bypass: the gateways found and the (gateway, port) pairs. */
struct host_bypass {
	struct nf_bypass_key *bypass;	/* malloc'd, n_bypass entries */
	size_t n_bypass;
	uint32_t gateways[MAX_GATEWAYS];	/* net */
	uint8_t gateway_src[MAX_GATEWAYS];	/* enum gw_source, per gateway */
	size_t n_gateways;
	const char *agent_hosts;	/* the agent's hosts file read, or NULL */
};

/* The built policy. */
struct policy {
	struct nf_policy pol;
	struct host_bypass host;
};

/*
 * What the flags name, looked up: the resolvers and the host bypass. Needs
 * no proxy endpoint (run knows its Squid's ports only once it listens, and
 * starts it with these resolvers).
 */
struct policy_names {
	uint32_t resolvers[NF_MAX_RESOLVERS];	/* net */
	uint16_t nr_resolvers;
	struct host_bypass host;
};

/*
 * The first half of policy_build: checks the flags together (host flags
 * need --enable-host-access; dangerous ports refused in host ports) and
 * looks up the resolvers, the host gateway and the bypass pairs. Every
 * user error of the flags is found here, before anything is started.
 * Returns 0, or a negative errno with a reason naming the flag and value in
 * err (nothing kept).
 */
int policy_resolve(const struct policy_opts *o, struct policy_names *out,
		   char *err, size_t errlen);
void policy_names_free(struct policy_names *n);

/*
 * The second half: the policy of the flags (the proxy endpoints included:
 * --proxy is required) and of names, whose bypass pairs it takes over
 * (names is left empty). Port sets have the dangerous ports removed, TLS
 * ports only among the redirect ports. The result is read-only from here
 * on. Returns 0 or -EINVAL (no --proxy) with the reason in err.
 */
int policy_assemble(const struct policy_opts *o, struct policy_names *names,
		    struct policy *out, char *err, size_t errlen);

/*
 * Both halves at once (attach: every endpoint is a flag). Returns 0, or a
 * negative errno with a reason naming the flag and value in err. Nothing
 * is kept on error.
 */
int policy_build(const struct policy_opts *o, struct policy *out, char *err,
		 size_t errlen);
void policy_free(struct policy *p);

/*
 * "ADDR ports P (from SOURCE)": one host gateway, the ports it is allowed
 * direct on (from the bypass pairs) and where its address came from (an
 * enum gw_source; agent_hosts is the agent's hosts file, NULL if none).
 */
void gateway_describe(uint32_t addr_be, uint8_t src, const char *agent_hosts,
		      const struct nf_bypass_key *bypass, size_t n_bypass,
		      char *buf, size_t len);

#endif /* NETFENCE_POLICY_H */
