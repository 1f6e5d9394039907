// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* netfence attach / detach: put a cgroup under policy, and take it off. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "check.h"
#include "commands.h"
#include "enforce.h"
#include "json.h"
#include "log.h"
#include "parse.h"
#include "policy.h"
#include "resolve.h"
#include "veth.h"

const char attach_usage[] =
	"Usage: netfence attach --cgroup PATH|--pid PID --proxy IP:PORT [OPTIONS]\n"
	"Put a cgroup v2 under an egress policy. The policy is pinned in bpffs and\n"
	"keeps holding after netfence exits; attaching again replaces it atomically.\n"
	"\n"
	"  --cgroup PATH            the agent's cgroup (absolute, or relative to the cgroup2 mount)\n"
	"  --pid PID                the cgroup of that process (a container's init, a unit's main PID)\n"
	"  --config FILE            policy flags from a file (name = value lines); flags override it\n"
	"  --proxy IP:PORT          the proxy's intercept port: redirected connections go here\n"
	"  --tls-proxy IP:PORT      the proxy's TLS intercept port (TLS ports go here)\n"
	"  --forward-proxy IP:PORT  the proxy's forward-proxy port (HTTP_PROXY clients), direct\n"
	"  --proxy-cgroup PATH      the proxy's cgroup: gets the SO_ORIGINAL_DST responder\n"
	"  --proxy-pid PID          the cgroup of that process, as --proxy-cgroup\n"
	"  --enable-host-access     let (host gateway, allowed port) pairs go direct\n"
	"  --host-gateway ADDR[,ADDR...]  gateway IPs or names (default: host.docker.internal)\n"
	"  --hosts-file FILE        the agent's hosts file, read first for gateway names\n"
	"                           (default: /proc/PID/root/etc/hosts of --pid, or of a\n"
	"                           process in the cgroup; then /etc/hosts, then DNS)\n"
	"  --allow-host-ports SPEC  gateway ports that go direct (default: 80,443)\n"
	"  --dns-servers IP[,IP...] allowed resolvers, port 53 (default: /etc/resolv.conf)\n"
	"  --dns-proxy IP:PORT      a filtering resolver: all DNS of the agent (UDP and TCP,\n"
	"                           port 53 of any address) is redirected there\n"
	"  --redirect-ports SPEC    TCP ports redirected to the proxy (default: 80,443)\n"
	"  --tls-ports SPEC         of those, the ones sent to --tls-proxy (default: 443)\n"
	"  --loopback allow|host    loopback is the agent's own (allow, default) or the\n"
	"                           host's, governed like the host gateway (host)\n"
	"  --log-allowed            verdict events for allowed connections too (refusals\n"
	"                           at connect, send and socket creation have one already)\n"
	"  --max-connections N      connections to the proxy (redirected or to the\n"
	"                           forward-proxy port) the cgroup may hold open at once\n"
	"                           (default: 256; 0: no limit); more are refused (EPERM)\n"
	"  --veth IFNAME            the host side of the agent's veth (its own network\n"
	"                           namespace): every frame it sends is checked there too\n"
	"  --allow-raw-sockets      attach even where packet sockets cannot be refused and\n"
	"                           a process of the cgroup in this network namespace holds\n"
	"                           CAP_NET_RAW\n"
	"\n"
	"SPEC: comma-separated ports and ranges N-M, each 1-65535. Dangerous ports\n"
	"(22, 23, 25, 3306, 5432, 6379, ...) are never redirected nor allowed.\n";

const char detach_usage[] =
	"Usage: netfence detach --cgroup PATH | --pid PID\n"
	"Remove everything attach made for the cgroup. Exit 1 if it has no policy.\n";

static void print_attached(const struct cgroup_ref *cg,
			   const struct cgroup_ref *proxy_cg,
			   const struct policy *pol,
			   const struct attach_result *res)
{
	char buf[32];

	if (json_output) {
		struct json jw, *j = json_init(&jw, stdout);

		json_object_begin(j);
		json_kv_str(j, "cgroup", cg->path);
		json_kv_uint(j, "cgroup_id", cg->id);
		json_kv_str(j, "proxy_cgroup", proxy_cg ? proxy_cg->path : NULL);
		json_kv_bool(j, "replaced", res->replaced);
		json_kv_uint(j, "generation", res->generation);
		json_kv_uint(j, "bypass_entries", pol->host.n_bypass);
		json_kv_uint(j, "resolvers", pol->pol.nr_resolvers);
		json_key(j, "host_gateways");
		json_array_begin(j);
		for (size_t i = 0; i < pol->host.n_gateways; i++) {
			char addr[16], desc[1024];

			format_ipv4(pol->host.gateways[i], addr);
			gateway_describe(pol->host.gateways[i], pol->host.gateway_src[i],
					 pol->host.agent_hosts, pol->host.bypass,
					 pol->host.n_bypass, desc, sizeof(desc));
			json_object_begin(j);
			json_kv_str(j, "addr", addr);
			json_kv_str(j, "source", gw_source_name(pol->host.gateway_src[i]));
			json_kv_str(j, "hosts_file",
				    pol->host.gateway_src[i] == GW_SRC_AGENT_HOSTS ?
					    pol->host.agent_hosts : NULL);
			json_kv_str(j, "description", desc);
			json_object_end(j);
		}
		json_array_end(j);
		json_kv_uint(j, "max_connections", pol->pol.max_conns);
		json_kv_bool(j, "bpf_lsm", !res->no_lsm);
		json_kv_str(j, "veth_filter", res->veth_mode);
		json_object_end(j);
		json_end(j);
		return;
	}
	format_endpoint4(pol->pol.proxy_addr, pol->pol.proxy_port, buf);
	printf("%s %s: redirect to %s, %zu bypass pair%s, %u resolver%s%s%s\n",
	       res->replaced ? "replaced policy on" : "attached to", cg->path,
	       buf, pol->host.n_bypass, pol->host.n_bypass == 1 ? "" : "s",
	       pol->pol.nr_resolvers, pol->pol.nr_resolvers == 1 ? "" : "s",
	       proxy_cg ? ", SO_ORIGINAL_DST responder on " : "",
	       proxy_cg ? proxy_cg->path : "");
	for (size_t i = 0; i < pol->host.n_gateways; i++) {
		char desc[1024];

		gateway_describe(pol->host.gateways[i], pol->host.gateway_src[i],
				 pol->host.agent_hosts, pol->host.bypass, pol->host.n_bypass,
				 desc, sizeof(desc));
		printf("  host gateway %s\n", desc);
	}
	if (res->veth_mode)
		printf("packet filter on the agent's veth (%s)\n", res->veth_mode);
}

#define OPT_HOSTS_FILE 0x400
#define OPT_VETH 0x401
#define OPT_ALLOW_RAW 0x402

/* attach's own flags */
struct attach_extra {
	const char *hosts_file;
	const char *veth;
	int veth_ifindex;
	bool allow_raw;
};

static int attach_other(void *ctx, int id, const char *arg, char **argv)
{
	struct attach_extra *x = ctx;

	(void)argv;
	if (id == 'h') {
		print_usage(attach_usage);
		return CLI_HELP;
	}
	if (id == 'j') {
		cli_json();
		return 0;
	}
	if (id == OPT_HOSTS_FILE) {
		if (x->hosts_file) {
			p_err("--hosts-file given twice");
			return EXIT_USAGE;
		}
		if (access(arg, R_OK)) {
			p_err("--hosts-file '%s': %s", arg, strerror(errno));
			return EXIT_USAGE;
		}
		x->hosts_file = arg;
		return 0;
	}
	if (id == OPT_VETH) {
		if (x->veth) {
			p_err("--veth given twice");
			return EXIT_USAGE;
		}
		x->veth = arg;
		if (!*arg || strlen(arg) >= IF_NAMESIZE || strchr(arg, '/')) {
			p_err("--veth '%s': not an interface name", arg);
			return EXIT_USAGE;
		}
		x->veth_ifindex = (int)if_nametoindex(arg);
		if (!x->veth_ifindex) {
			p_err("--veth '%s': no such interface in this network namespace",
			      arg);
			return EXIT_USAGE;
		}
		return 0;
	}
	if (id == OPT_ALLOW_RAW) {
		x->allow_raw = true;
		return 0;
	}
	return EXIT_USAGE;
}

/*
 * --veth: the agent's own IPv4 addresses, the only sources its frames may
 * have, learnt in the network namespace of --pid or of the cgroup's first
 * process. Returns 0 or an exit status (error reported).
 */
static int learn_agent_addrs(const struct attach_extra *x, int pid,
			     const struct cgroup_ref *cg, struct policy_opts *o)
{
	int n;

	if (!pid)
		pid = cgroup_first_pid(cg->path);
	if (pid <= 0) {
		p_err("--veth '%s': no process in %s to learn the agent's addresses from (start the agent first, or give --pid)",
		      x->veth, cg->path);
		return EXIT_USAGE;
	}
	if (!netns_differs(pid)) {
		p_err("--veth '%s': the agent (process %d) shares this network namespace: a filter on a veth would not see its frames",
		      x->veth, pid);
		return EXIT_USAGE;
	}
	n = netns_addrs(pid, o->agent_addrs, NF_MAX_AGENT_ADDRS);
	if (n <= 0) {
		p_err("--veth '%s': %s in the network namespace of process %d",
		      x->veth, n ? strerror(-n) : "no IPv4 address", pid);
		return EXIT_FAIL;
	}
	o->nr_agent_addrs = (uint32_t)n;
	return EXIT_OK;
}

/*
 * The agent's own hosts file: --hosts-file, or /proc/PID/root/etc/hosts of
 * --pid or of a process in the cgroup (or below). Opened by that path, never
 * through a bind mount of it (which would show the host's file).
 */
static const char *agent_hosts(const char *hosts_file, int pid,
			       const char *cgpath, char *buf, size_t len,
			       int *from_pid)
{
	struct cgroup_ref ref = { .fd = -1 };
	char why[64];

	*from_pid = 0;
	if (hosts_file)
		return hosts_file;
	if (!pid && !cgroup_open(cgpath, &ref, why, sizeof(why))) {
		pid = cgroup_first_pid(ref.path);
		cgroup_close(&ref);
	}
	if (pid <= 0)
		return NULL;
	snprintf(buf, len, "/proc/%d/root/etc/hosts", pid);
	*from_pid = pid;
	return buf;
}

/*
 * The agent's own hosts file is the agent's to replace (outside Docker,
 * which bind-mounts it): a FIFO or a device there would hang the read.
 * Missing is fine (the host's files are asked next). Reported.
 */
static bool agent_hosts_regular(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return true;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		p_err("--hosts-file: the agent's own %s is not a regular file: give --hosts-file or --host-gateway",
		      path);
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

/*
 * A gateway address read from the agent's own hosts file is the agent's
 * word: a root agent writes its /etc/hosts, and a bypass pair to a server of
 * its choosing would be a way out. It is taken only where a host gateway can
 * be: an address of this host, or on a network the agent is directly
 * connected to (a route without a gateway in its namespace, which it cannot
 * change without CAP_NET_ADMIN). Returns 0 or an exit status (reported).
 */
static int check_agent_gateways(const struct policy_opts *o,
				const struct host_bypass *h, int pid)
{
	char path[64], err[256], ab[INET_ADDRSTRLEN];
	bool ok;

	snprintf(path, sizeof(path), "/proc/%d/net/route", pid);
	for (size_t i = 0; i < h->n_gateways; i++) {
		if (h->gateway_src[i] != GW_SRC_AGENT_HOSTS)
			continue;
		if (local_addr4(h->gateways[i], &ok, err, sizeof(err)) ||
		    (!ok && route_onlink4(path, h->gateways[i], &ok, err,
					  sizeof(err)))) {
			p_err("--host-gateway '%s': %s", o->host_gateway ?
			      o->host_gateway : NF_HOST_GATEWAY, err);
			return EXIT_FAIL;
		}
		if (ok)
			continue;
		inet_ntop(AF_INET, &h->gateways[i], ab, sizeof(ab));
		p_err("--host-gateway '%s': %s (from %s, which the agent can write) is neither an address of this host nor on the agent's own network: give the gateway's address with --host-gateway",
		      o->host_gateway ? o->host_gateway : NF_HOST_GATEWAY, ab,
		      h->agent_hosts);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int do_attach(int argc, char **argv)
{
	struct cgroup_ref cg = { .fd = -1 }, proxy_cg = { .fd = -1 };
	struct option longopts[OPT_POLICY_END - OPT_CGROUP + 6];
	struct attach_extra x = { 0 };
	struct enforce_opts eo = { 0 };
	char err[1024], cgbuf[CGROUP_PATH_MAX], pcgbuf[CGROUP_PATH_MAX];
	char hostsbuf[64];
	const char *cgpath, *pcgpath;
	struct attach_result res = { 0 };
	struct policy_names names = { 0 };
	struct policy pol = { 0 };
	struct policy_opts o;
	size_t n = 0;
	int ret, hosts_pid = 0;

	policy_opts_init(&o);
	for (const struct option *p = policy_options; p->name; p++)
		longopts[n++] = *p;
	longopts[n++] = (struct option)CLI_HELP_OPTION;
	longopts[n++] = (struct option)CLI_JSON_OPTION;
	longopts[n++] = (struct option){ "hosts-file", required_argument, NULL,
					 OPT_HOSTS_FILE };
	longopts[n++] = (struct option){ "veth", required_argument, NULL, OPT_VETH };
	longopts[n++] = (struct option){ "allow-raw-sockets", no_argument, NULL,
					 OPT_ALLOW_RAW };
	longopts[n] = (struct option){ 0 };

	ret = policy_parse_args(&o, argc, argv, longopts, attach_other, &x);
	if (ret) {
		ret = cli_exit(ret);
		goto out;
	}
	ret = EXIT_USAGE;
	if (optind < argc) {
		p_err("unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (cgroup_arg(o.cgroup, o.pid, "--cgroup", "--pid", cgbuf, sizeof(cgbuf),
		       &cgpath) ||
	    cgroup_arg(o.proxy_cgroup, o.proxy_pid, "--proxy-cgroup", "--proxy-pid",
		       pcgbuf, sizeof(pcgbuf), &pcgpath))
		goto out;
	if (!cgpath) {
		p_err("--cgroup PATH (or --pid PID) is required");
		goto out;
	}
	o.agent_hosts_path = agent_hosts(x.hosts_file, o.pid, cgpath, hostsbuf,
					 sizeof(hostsbuf), &hosts_pid);
	if (hosts_pid && !agent_hosts_regular(o.agent_hosts_path))
		goto out;
	if (!o.proxy.set) {
		p_err("--proxy IP:PORT is required");
		goto out;
	}
	/* every flag checked, every name looked up; built once --veth has the agent's addresses */
	if (policy_resolve(&o, &names, err, sizeof(err))) {
		if (!o.agent_hosts_path && !strncmp(err, "--host-gateway", 14))
			/* a parent cgroup before its containers: say what was not read */
			p_err("%s (and no process in the cgroup to read the agent's own "
			      "hosts file from: give --hosts-file or --host-gateway)", err);
		else
			p_err("%s", err);
		goto out;
	}
	if (hosts_pid) {
		ret = check_agent_gateways(&o, &names.host, hosts_pid);
		if (ret)
			goto out;
		ret = EXIT_USAGE;
	}
	ret = require_root("attach");
	if (ret)
		goto out;
	ret = cli_open_cgroup(o.pid ? "--pid" : "--cgroup", cgpath, &cg);
	if (ret)
		goto out;
	if (pcgpath) {
		ret = cli_open_cgroup(o.proxy_pid ? "--proxy-pid" : "--proxy-cgroup",
				  pcgpath, &proxy_cg);
		if (ret)
			goto out;
		if (proxy_cg.id == cg.id) {
			p_err("%s '%s': the proxy must not run in the agent's cgroup",
			      o.proxy_pid ? "--proxy-pid" : "--proxy-cgroup", pcgpath);
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (o.dns_proxy.set) {
		int owner = cgroup_udp_owner(cg.path, o.dns_proxy.addr,
					     o.dns_proxy.port);

		if (owner) {
			char buf[32];

			format_endpoint4(o.dns_proxy.addr, o.dns_proxy.port, buf);
			p_err("--dns-proxy '%s': the filter (pid %d) runs in the agent's cgroup %s; its own queries would come back to it",
			      buf, owner, cg.path);
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (x.veth) {
		ret = learn_agent_addrs(&x, o.pid, &cg, &o);
		if (ret)
			goto out;
	}
	if (policy_assemble(&o, &names, &pol, err, sizeof(err))) {
		p_err("%s", err);
		ret = EXIT_FAIL;
		goto out;
	}
	eo.veth_ifindex = x.veth_ifindex;
	eo.veth_name = x.veth;
	eo.allow_raw = x.allow_raw;
	if (enforce_attach_opts(&cg, pcgpath ? &proxy_cg : NULL, &pol, o.pid, &eo,
				&res, err, sizeof(err))) {
		/* a missing kernel feature is said as `netfence check` says it */
		check_report_failure(0, err);
		ret = EXIT_FAIL;
		goto out;
	}
	print_attached(&cg, pcgpath ? &proxy_cg : NULL, &pol, &res);
	ret = EXIT_OK;
out:
	cgroup_close(&cg);
	cgroup_close(&proxy_cg);
	policy_free(&pol);
	policy_names_free(&names);
	policy_opts_free(&o);
	return ret;
}

int do_detach(int argc, char **argv)
{
	struct cgroup_ref cg = { .fd = -1 };
	char err[512] = "", why[256], buf[CGROUP_PATH_MAX];
	const char *path;
	int ret;

	ret = parse_cgroup_cmd(argc, argv, detach_usage, NULL, NULL, NULL, buf,
			       sizeof(buf), &path);
	if (ret)
		return cli_exit(ret);
	if (!path || !*path) {
		p_err("--cgroup PATH (or --pid PID) is required");
		return EXIT_USAGE;
	}
	ret = require_root("detach");
	if (ret)
		return ret;
	ret = cgroup_open(path, &cg, why, sizeof(why));
	if (ret == -ENOENT) {
		/* a cgroup removed since attach: found by the path recorded then */
		char abs[CGROUP_PATH_MAX + 8], mnt[CGROUP_PATH_MAX];

		if (path[0] != '/' && !cgroup2_mount("/proc/self/mounts", mnt, sizeof(mnt)))
			snprintf(abs, sizeof(abs), "%s/%s", mnt, path);
		else
			snprintf(abs, sizeof(abs), "%s", path);
		ret = enforce_detach(0, abs, err, sizeof(err));
		if (ret == -ENOENT) {
			p_err("--cgroup '%s': %s", path, why);
			return EXIT_USAGE;
		}
	} else if (ret) {
		p_err("--cgroup '%s': %s", path, why);
		return EXIT_USAGE;
	} else {
		ret = enforce_detach(cg.id, NULL, err, sizeof(err));
		/* the cgroup was re-created at the path: the old id's policy */
		if (ret == -ENOENT)
			ret = enforce_detach(0, cg.path, err, sizeof(err));
	}
	cgroup_close(&cg);
	if (ret == -ENOENT) {
		p_err("--cgroup '%s': no netfence policy is attached", path);
		return EXIT_FAIL;
	}
	if (ret) {
		p_err("%s", err);
		return EXIT_FAIL;
	}
	if (json_output) {
		struct json jw, *j = json_init(&jw, stdout);

		json_object_begin(j);
		json_kv_str(j, "detached", cg.path[0] ? cg.path : path);
		json_object_end(j);
		json_end(j);
	} else {
		printf("detached %s\n", cg.path[0] ? cg.path : path);
	}
	return EXIT_OK;
}
