// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* netfence status: the attached cgroups, their policy, their counters. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "commands.h"
#include "enforce.h"
#include "json.h"
#include "log.h"
#include "parse.h"
#include "policy.h"
#include "resolve.h"

const char status_usage[] =
	"Usage: netfence status [--cgroup PATH | --pid PID]\n"
	"Show the attached cgroups (or one), their policy and their counters.\n";

static const char *state_name(const struct policy_state *ps)
{
	if (!ps->complete)
		return "incomplete";	/* a killed attach: everything refused */
	if (ps->state == NF_GATE_CLOSED)
		return "closed";	/* everything refused */
	if (!ps->cgroup_exists)
		return "cgroup-gone";
	if (ps->cgroup_replaced)
		return "cgroup-replaced";	/* the new cgroup is unconfined */
	return "enforcing";
}

static void ports_str(const uint8_t *bm, char *buf, size_t len)
{
	if (portset_format(bm, buf, len) < 0)
		snprintf(buf, len, "(too many to list)");
}

static void json_policy(struct json *j, const struct policy_state *ps)
{
	const struct nf_policy *p = &ps->pol;
	char buf[4096];

	json_key(j, "policy");
	if (ps->state == NF_GATE_CLOSED) {
		json_null(j);
		return;
	}
	json_object_begin(j);
	format_endpoint4(p->proxy_addr, p->proxy_port, buf);
	json_kv_str(j, "proxy", buf);
	if (p->flags & NF_F_TLS_PROXY)
		format_endpoint4(p->tls_proxy_addr, p->tls_proxy_port, buf);
	json_kv_str(j, "tls_proxy", p->flags & NF_F_TLS_PROXY ? buf : NULL);
	if (p->flags & NF_F_FWD_PROXY)
		format_endpoint4(p->fwd_proxy_addr, p->fwd_proxy_port, buf);
	json_kv_str(j, "forward_proxy", p->flags & NF_F_FWD_PROXY ? buf : NULL);
	json_kv_str(j, "loopback", p->loopback == NF_LOOPBACK_HOST ? "host" : "allow");
	ports_str(p->redirect_ports, buf, sizeof(buf));
	json_kv_str(j, "redirect_ports", buf);
	ports_str(p->tls_ports, buf, sizeof(buf));
	json_kv_str(j, "tls_ports", buf);
	json_key(j, "dns_servers");
	json_array_begin(j);
	for (int i = 0; i < p->nr_resolvers && i < NF_MAX_RESOLVERS; i++) {
		format_ipv4(p->resolvers[i], buf);
		json_str(j, buf);
	}
	json_array_end(j);
	if (p->flags & NF_F_DNS_PROXY)
		format_endpoint4(p->dns_proxy_addr, p->dns_proxy_port, buf);
	json_kv_str(j, "dns_proxy", p->flags & NF_F_DNS_PROXY ? buf : NULL);
	json_kv_uint(j, "max_connections", p->max_conns);
	json_kv_uint(j, "bypass_entries", ps->n_bypass);
	json_key(j, "bypass");
	json_array_begin(j);
	for (size_t i = 0; i < ps->n_bypass && i < 256; i++) {
		format_endpoint4(ps->bypass[i].addr, ps->bypass[i].port, buf);
		json_str(j, buf);
	}
	json_array_end(j);
	json_key(j, "host_gateways");
	json_array_begin(j);
	for (uint32_t i = 0; i < ps->meta.nr_gateways && i < NF_META_GATEWAYS; i++) {
		char addr[16];

		format_ipv4(ps->meta.gateway_addr[i], addr);
		json_object_begin(j);
		json_kv_str(j, "addr", addr);
		json_kv_str(j, "source", gw_source_name(ps->meta.gateway_src[i]));
		json_kv_str(j, "hosts_file",
			    ps->meta.gateway_src[i] == GW_SRC_AGENT_HOSTS ?
				    ps->meta.hosts_path : NULL);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

struct status_ctx {
	struct json *j;
	const char *path;	/* only the policy recorded with this path */
	int shown;
	int replaced;		/* policies whose cgroup was replaced */
};

static int show_json(const struct policy_state *ps, struct json *j)
{

	json_object_begin(j);
	json_kv_str(j, "cgroup", ps->meta.cgroup_path);
	json_kv_uint(j, "cgroup_id", ps->meta.cgroup_id);
	json_kv_str(j, "proxy_cgroup", ps->meta.proxy_cgroup_path[0] ?
					       ps->meta.proxy_cgroup_path : NULL);
	json_kv_str(j, "state", state_name(ps));
	json_kv_bool(j, "cgroup_replaced", ps->cgroup_replaced);
	if (ps->cgroup_exists)
		json_kv_uint(j, "current_cgroup_id", ps->current_id);
	else
		json_kv_str(j, "current_cgroup_id", NULL);
	if (ps->meta.pid)
		json_kv_uint(j, "pid_given", ps->meta.pid);
	else
		json_kv_str(j, "pid_given", NULL);
	json_kv_str(j, "pin_dir", ps->dir);
	json_kv_uint(j, "generation", ps->meta.generation);
	json_kv_uint(j, "attached_at", ps->meta.attached_at);
	json_kv_uint(j, "updated_at", ps->meta.updated_at);
	json_kv_int(j, "links", ps->links);
	json_kv_int(j, "links_attached", ps->links_attached);
	json_kv_uint(j, "connections", ps->conns);
	json_kv_bool(j, "bpf_lsm", !(ps->meta.flags & NF_META_NO_LSM));
	json_kv_bool(j, "raw_sockets_accepted", ps->meta.flags & NF_META_RAW_ACCEPTED);
	json_key(j, "veth_filter");
	if (ps->meta.veth_mode == NF_VETH_NONE) {
		json_null(j);
	} else {
		json_object_begin(j);
		json_kv_str(j, "interface", ps->meta.veth_name);
		json_kv_uint(j, "ifindex", ps->meta.veth_ifindex);
		json_kv_str(j, "state", ps->veth);
		json_object_end(j);
	}
	json_policy(j, ps);
	json_key(j, "counters");
	json_object_begin(j);
	for (int s = 0; s < NF_STAT_MAX; s++)
		json_kv_uint(j, nf_stat_name(s), ps->stats[s]);
	json_object_end(j);
	json_object_end(j);
	return 0;
}

static int show_text(const struct policy_state *ps)
{
	const struct nf_policy *p = &ps->pol;
	char buf[4096];

	printf("%s (cgroup id %" PRIu64 "): %s, generation %u, %d/%d links attached\n",
	       ps->meta.cgroup_path[0] ? ps->meta.cgroup_path : ps->dir,
	       (uint64_t)ps->meta.cgroup_id, state_name(ps), ps->meta.generation,
	       ps->links_attached, ps->links);
	if (ps->cgroup_replaced)
		printf("  NOT ENFORCED: the cgroup at this path was replaced (now id %" PRIu64
		       "); the new cgroup is not under this policy. Attach again, or\n"
		       "  attach to a parent cgroup that outlives it; 'netfence cleanup' removes this one\n",
		       ps->current_id);
	if (ps->meta.pid)
		printf("  attached by --pid %u\n", ps->meta.pid);
	if (ps->state != NF_GATE_CLOSED) {
		format_endpoint4(p->proxy_addr, p->proxy_port, buf);
		printf("  proxy %s", buf);
		if (p->flags & NF_F_TLS_PROXY) {
			format_endpoint4(p->tls_proxy_addr, p->tls_proxy_port, buf);
			printf(", tls %s", buf);
		}
		if (p->flags & NF_F_FWD_PROXY) {
			format_endpoint4(p->fwd_proxy_addr, p->fwd_proxy_port, buf);
			printf(", forward %s", buf);
		}
		printf(", loopback %s\n",
		       p->loopback == NF_LOOPBACK_HOST ? "host" : "allow");
		ports_str(p->redirect_ports, buf, sizeof(buf));
		printf("  redirect ports %s; ", buf);
		ports_str(p->tls_ports, buf, sizeof(buf));
		printf("tls ports %s\n", buf);
		printf("  dns servers:");
		for (int i = 0; i < p->nr_resolvers && i < NF_MAX_RESOLVERS; i++) {
			format_ipv4(p->resolvers[i], buf);
			printf(" %s", buf);
		}
		printf("%s\n", p->nr_resolvers ? "" : " none");
		if (p->flags & NF_F_DNS_PROXY) {
			format_endpoint4(p->dns_proxy_addr, p->dns_proxy_port, buf);
			printf("  dns filter %s: every port-53 query goes there\n", buf);
		}
		printf("  host bypass: %zu pair%s", ps->n_bypass,
		       ps->n_bypass == 1 ? "" : "s");
		for (size_t i = 0; i < ps->n_bypass && i < 8; i++) {
			format_endpoint4(ps->bypass[i].addr, ps->bypass[i].port, buf);
			printf(" %s", buf);
		}
		printf("%s\n", ps->n_bypass > 8 ? " ..." : "");
		for (uint32_t i = 0; i < ps->meta.nr_gateways &&
				     i < NF_META_GATEWAYS; i++) {
			gateway_describe(ps->meta.gateway_addr[i],
					 ps->meta.gateway_src[i],
					 ps->meta.hosts_path, ps->bypass,
					 ps->n_bypass, buf, sizeof(buf));
			printf("  host gateway %s\n", buf);
		}
		printf("  redirected connections: %" PRIu64 " open, ", ps->conns);
		if (p->max_conns)
			printf("at most %u\n", p->max_conns);
		else
			printf("no limit\n");
	}
	if (ps->meta.proxy_cgroup_path[0])
		printf("  SO_ORIGINAL_DST responder on %s\n",
		       ps->meta.proxy_cgroup_path);
	if (ps->meta.veth_mode != NF_VETH_NONE)
		printf("  packet filter on the agent's veth %s (ifindex %u): %s\n",
		       ps->meta.veth_name, ps->meta.veth_ifindex, ps->veth);
	if (ps->meta.flags & NF_META_NO_LSM)
		printf("  packet sockets: not refused (no BPF LSM hook)%s\n",
		       ps->meta.veth_mode != NF_VETH_NONE ?
			       "; their frames are checked on the veth" :
		       ps->meta.flags & NF_META_RAW_ACCEPTED ?
			       "; accepted with --allow-raw-sockets" :
			       "; no process had CAP_NET_RAW at attach");
	printf("  counters:");
	for (int s = 0; s < NF_STAT_MAX; s++) {
		if (ps->stats[s])
			printf(" %s=%" PRIu64, nf_stat_name(s), ps->stats[s]);
	}
	printf("\n");
	return 0;
}

static int show(const struct policy_state *ps, void *ctx)
{
	struct status_ctx *c = ctx;

	if (c->path && strcmp(ps->meta.cgroup_path, c->path))
		return 0;
	c->shown++;
	if (ps->cgroup_replaced)
		c->replaced++;
	return c->j ? show_json(ps, c->j) : show_text(ps);
}

int do_status(int argc, char **argv)
{
	struct cgroup_ref cg = { .fd = -1 };
	char err[512], cgbuf[CGROUP_PATH_MAX];
	struct status_ctx c = { 0 };
	struct json jw;
	const char *path;
	int n, ret;

	ret = parse_cgroup_cmd(argc, argv, status_usage, NULL, NULL, NULL, cgbuf,
			       sizeof(cgbuf), &path);
	if (ret)
		return cli_exit(ret);
	ret = require_root("status");
	if (ret)
		return ret;
	if (path && cli_open_cgroup("--cgroup", path, &cg))
		return EXIT_USAGE;
	cgroup_close(&cg);

	if (json_output) {
		c.j = json_init(&jw, stdout);
		json_array_begin(c.j);
	}
	n = enforce_list(path ? cg.id : 0, show, &c, err, sizeof(err));
	if (n == 0 && path) {
		/* a cgroup re-created at the path: its policy is the old id's */
		c.path = cg.path;
		n = enforce_list(0, show, &c, err, sizeof(err));
		if (n > 0)
			n = c.shown;
	}
	if (c.j) {
		json_array_end(c.j);
		if (n >= 0)
			json_end(c.j);
	}
	if (n < 0) {
		p_err("%s", err);
		return EXIT_FAIL;
	}
	if (!n && !json_output)
		printf("no cgroup is under a netfence policy%s\n",
		       path ? " (none on that path)" : "");
	if (c.replaced) {
		/* with -j the state says it; stdout stays one JSON value */
		if (!json_output)
			p_err("%d cgroup%s replaced since attach: not under policy",
			      c.replaced, c.replaced == 1 ? " was" : "s were");
		return EXIT_FAIL;
	}
	return path && !n ? EXIT_FAIL : EXIT_OK;
}
