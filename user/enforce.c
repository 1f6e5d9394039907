// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "enforce.h"
#include "log.h"
#include "parse.h"
#include "netfence.skel.h"
#include "veth.h"


/* Pinned objects of one policy directory. */
static const char *const map_pins[] = { "state", "policy", "bypass", "stats",
					"meta", "events", "conns" };

/*
 * Agent-side links, by the name of their program, in the order they are
 * attached (the packet filter first: see attach_new). All required.
 */
static const char *const agent_links[] = { "egress",	   "connect4",
					   "connect6",	   "sendmsg4",
					   "sendmsg6",	   "sock_create",
					   "getpeername4", "getpeername6",
					   "recvmsg4",	   "recvmsg6",
					   "ingress",	   "mcast_join",
					   "sock_release" };
#define N_AGENT_LINKS (sizeof(agent_links) / sizeof(agent_links[0]))
/* Optional: refuses non-inet families where the BPF LSM is active. */
#define LSM_LINK "socket_create"
#define PROXY_LINK "orig_dst"
#define PROXY_PROG_PIN "prog_orig_dst"

static const char *const stat_names[NF_STAT_MAX] = {
	[NF_STAT_REDIRECT] = "redirect",
	[NF_STAT_REDIRECT_TLS] = "redirect_tls",
	[NF_STAT_BYPASS] = "bypass",
	[NF_STAT_FWD_PROXY] = "forward_proxy",
	[NF_STAT_DNS] = "dns",
	[NF_STAT_DNS_REDIRECT] = "dns_filter",
	[NF_STAT_LOOPBACK] = "loopback",
	[NF_STAT_DENY_PORT] = "deny_port",
	[NF_STAT_DENY_UDP] = "deny_udp",
	[NF_STAT_DENY_IPV6] = "deny_ipv6",
	[NF_STAT_DENY_RESERVED] = "deny_reserved",
	[NF_STAT_DENY_INTERCEPT] = "deny_intercept",
	[NF_STAT_DENY_NOPOLICY] = "deny_nopolicy",
	[NF_STAT_DENY_NORECORD] = "deny_norecord",
	[NF_STAT_DENY_PROTO] = "deny_proto",
	[NF_STAT_DENY_SOCKET] = "deny_socket",
	[NF_STAT_DENY_MCAST] = "deny_multicast",
	[NF_STAT_DENY_CONNLIMIT] = "deny_connlimit",
	[NF_STAT_SKB_DROP] = "packet_drop",
	[NF_STAT_DNS_REFUSED] = "dns_refused",
	[NF_STAT_VETH_DROP] = "veth_drop",
	[NF_STAT_ORIG_STORED] = "orig_stored",
	[NF_STAT_ORIG_STORE_FAIL] = "orig_store_fail",
	[NF_STAT_ORIG_HIT] = "orig_hit",
	[NF_STAT_ORIG_MISS] = "orig_miss",
	[NF_STAT_EVENT_LOST] = "events_lost",
	[NF_STAT_EVENT_SUPPRESSED] = "events_suppressed",
};

const char *nf_stat_name(int stat)
{
	return stat >= 0 && stat < NF_STAT_MAX && stat_names[stat] ?
		       stat_names[stat] : "unknown";
}

bool nf_stat_refuses(int stat)
{
	/* every value named, no default: a new counter does not compile until classified */
	switch ((enum nf_stat)stat) {
	case NF_STAT_DENY_PORT:
	case NF_STAT_DENY_UDP:
	case NF_STAT_DENY_IPV6:
	case NF_STAT_DENY_RESERVED:
	case NF_STAT_DENY_INTERCEPT:
	case NF_STAT_DENY_NOPOLICY:
	case NF_STAT_DENY_NORECORD:
	case NF_STAT_DENY_PROTO:
	case NF_STAT_DENY_SOCKET:
	case NF_STAT_SKB_DROP:
	case NF_STAT_DNS_REFUSED:
	case NF_STAT_DENY_MCAST:
	case NF_STAT_DENY_CONNLIMIT:
	case NF_STAT_VETH_DROP:
		return true;
	case NF_STAT_REDIRECT:
	case NF_STAT_REDIRECT_TLS:
	case NF_STAT_BYPASS:
	case NF_STAT_FWD_PROXY:
	case NF_STAT_DNS:
	case NF_STAT_DNS_REDIRECT:
	case NF_STAT_LOOPBACK:
	case NF_STAT_ORIG_STORED:
	case NF_STAT_ORIG_STORE_FAIL:
	case NF_STAT_ORIG_HIT:
	case NF_STAT_ORIG_MISS:
	case NF_STAT_EVENT_LOST:
	case NF_STAT_EVENT_SUPPRESSED:
	case NF_STAT_MAX:
		break;
	}
	return false;
}

const char *pin_root(void)
{
	const char *env = getenv("NETFENCE_PIN_ROOT");

	return env && *env == '/' ? env : NF_PIN_ROOT;
}

/* Mounts bpffs on the pin root's parent when nothing is mounted there. */
static int ensure_bpffs(char *err, size_t errlen)
{
	char parent[PATH_MAX];
	struct statfs sfs;

	snprintf(parent, sizeof(parent), "%s", pin_root());
	dirname(parent);
	if (!statfs(parent, &sfs) && sfs.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir(parent, 0700) && errno != EEXIST) {
		set_err(err, errlen, "cannot create %s: %s", parent, strerror(errno));
		return -errno;
	}
	if (mount("bpf", parent, "bpf", 0, "mode=0700")) {
		set_err(err, errlen, "no BPF file system at %s and mounting one failed: %s",
			parent, strerror(errno));
		return -errno;
	}
	pr_info("mounted bpffs on %s", parent);
	return 0;
}

/* Creates the pin root when needed and locks it. Returns the lock fd. */
static int lock_root(bool create, char *err, size_t errlen)
{
	const char *root = pin_root();
	int fd, ret;

	if (create) {
		ret = ensure_bpffs(err, errlen);
		if (ret)
			return ret;
		if (mkdir(root, 0700) && errno != EEXIST) {
			set_err(err, errlen, "cannot create %s: %s", root, strerror(errno));
			return -errno;
		}
	}
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		set_err(err, errlen, "cannot open %s: %s", root, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX)) {
		set_err(err, errlen, "cannot lock %s: %s", root, strerror(errno));
		close(fd);
		return -errno;
	}
	return fd;
}

static void unlock_root(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}

/* The cgroup id in a policy directory's name ("cg-<id>", "tmp-cg-<id>"). */
static uint64_t dir_id(const char *name)
{
	const char *p = strstr(name, "cg-");

	return p ? strtoull(p + 3, NULL, 10) : 0;
}

static void policy_dir(char *buf, size_t len, uint64_t id, bool tmp)
{
	/* bpffs refuses names with a dot */
	snprintf(buf, len, "%s/%scg-%" PRIu64, pin_root(), tmp ? "tmp-" : "", id);
}

static int obj_get(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return bpf_obj_get(path);
}

static int read_state(int state_fd, uint32_t *state)
{
	uint32_t zero = 0;

	return bpf_map_lookup_elem(state_fd, &zero, state) ? -errno : 0;
}

static int write_state(int state_fd, uint32_t state)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(state_fd, &zero, &state, BPF_ANY) ? -errno : 0;
}

/*
 * Fills policy slot `slot` completely: a new bypass hash sized for the
 * policy, then the policy value. The slot must not be the one in force.
 */
static int write_slot(int policy_fd, int bypass_fd, uint32_t slot,
		      const struct policy *pol, char *err, size_t errlen)
{
	uint32_t max = pol->host.n_bypass > NF_BYPASS_MIN_ENTRIES ?
			       (uint32_t)pol->host.n_bypass : NF_BYPASS_MIN_ENTRIES;
	char name[16];
	uint8_t one = 1;
	int inner, ret = 0;

	snprintf(name, sizeof(name), "bypass_g%u", slot);
	inner = bpf_map_create(BPF_MAP_TYPE_HASH, name,
			       sizeof(struct nf_bypass_key), sizeof(uint8_t),
			       max, NULL);
	if (inner < 0) {
		set_err(err, errlen, "cannot create the bypass map (%u entries): %s", max,
			strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < pol->host.n_bypass; i++) {
		if (bpf_map_update_elem(inner, &pol->host.bypass[i], &one,
					BPF_NOEXIST)) {
			ret = -errno;
			set_err(err, errlen, "cannot fill the bypass map: %s", strerror(errno));
			goto out;
		}
	}
	if (bpf_map_update_elem(bypass_fd, &slot, &inner, BPF_ANY) ||
	    bpf_map_update_elem(policy_fd, &slot, &pol->pol, BPF_ANY)) {
		ret = -errno;
		set_err(err, errlen, "cannot write the policy: %s", strerror(errno));
	}
out:
	close(inner);
	return ret;
}

static void fill_meta(struct nf_meta *m, const struct cgroup_ref *cg,
		      const struct cgroup_ref *proxy_cg, int pid,
		      const struct policy *pol)
{
	size_t i;

	m->nr_gateways = 0;
	for (i = 0; i < pol->host.n_gateways && i < NF_META_GATEWAYS; i++) {
		m->gateway_addr[i] = pol->host.gateways[i];
		m->gateway_src[i] = pol->host.gateway_src[i];
		m->nr_gateways++;
	}
	snprintf(m->hosts_path, sizeof(m->hosts_path), "%s",
		 pol->host.agent_hosts ? pol->host.agent_hosts : "");
	m->pid = (uint32_t)pid;
	m->cgroup_id = cg->id;
	snprintf(m->cgroup_path, sizeof(m->cgroup_path), "%s", cg->path);
	m->proxy_cgroup_id = proxy_cg ? proxy_cg->id : 0;
	snprintf(m->proxy_cgroup_path, sizeof(m->proxy_cgroup_path), "%s",
		 proxy_cg ? proxy_cg->path : "");
	m->updated_at = (uint64_t)time(NULL);
	if (!m->attached_at)
		m->attached_at = m->updated_at;
	m->generation++;
}

/* Removes every file in dir and dir itself; detaches pinned links first. */
static void remove_dir(const char *dir)
{
	struct dirent *de;
	char path[PATH_MAX];
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!strncmp(de->d_name, "link_", 5)) {
			/*
			 * Unpin first, then detach: killed in between, our fd
			 * was the last reference and the link detaches anyway.
			 */
			int fd = bpf_obj_get(path);

			unlink(path);
			if (fd >= 0) {
				bpf_link_detach(fd);
				close(fd);
			}
			continue;
		}
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* A policy directory: its tc filter first (if any), then its pins. */
static void remove_policy_dir(const char *dir)
{
	struct nf_meta m;
	uint32_t zero = 0;
	int fd = obj_get(dir, "meta");

	if (fd >= 0) {
		if (!bpf_map_lookup_elem(fd, &zero, &m))
			veth_detach(&m);
		close(fd);
	}
	remove_dir(dir);
}

/*
 * Removes policy directories an attach killed right after its mkdir left
 * (no record pinned yet: nothing says whose they are, nothing is attached),
 * then drops the shared record map once no policy uses it. Under the lock:
 * no attach is under way.
 */
static void gc_shared(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	bool used = false;
	DIR *d = opendir(pin_root());

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "tmp-cg-", 7)) {
			char sub[PATH_MAX];
			int fd;

			snprintf(sub, sizeof(sub), "%s/%s", pin_root(), de->d_name);
			fd = obj_get(sub, "meta");
			if (fd < 0) {
				remove_dir(sub);
				continue;
			}
			close(fd);
		}
		if (strstr(de->d_name, "cg-"))
			used = true;
	}
	closedir(d);
	if (!used) {
		snprintf(path, sizeof(path), "%s/orig4", pin_root());
		unlink(path);
	}
}

static int pin_link(struct bpf_link *link, const char *dir, const char *name,
		    char *err, size_t errlen)
{
	char path[PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), "%s/link_%s", dir, name);
	ret = bpf_link__pin(link, path);
	if (ret)
		set_err(err, errlen, "cannot pin %s: %s", path, strerror(-ret));
	return ret;
}

/*
 * Whether cgroup/setsockopt programs may ask for the process's pid and
 * comm (not on 5.10): mcast_join's events name the process only then.
 */
bool enforce_sockopt_task_supported(void)
{
	static int supported = -1;

	if (supported < 0)
		supported = libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCKOPT,
						    BPF_FUNC_get_current_pid_tgid,
						    NULL) == 1 &&
			    libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCKOPT,
						    BPF_FUNC_get_current_comm,
						    NULL) == 1;
	return supported;
}

/*
 * sock_release keeps the count of open redirected connections and deletes
 * each socket's record: it needs the socket cookie in cgroup/sock programs.
 * Without it the object loads without that program, counts nothing, and the
 * records age out of an LRU hash instead.
 */
bool enforce_conn_count_supported(void)
{
	static int supported = -1;

	if (supported < 0)
		supported = libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCK,
						    BPF_FUNC_get_socket_cookie,
						    NULL) == 1;
	return supported;
}

/*
 * Opens and loads the BPF object. The BPF LSM program is optional: when the
 * kernel cannot load it, load again without it.
 */
static struct netfence_bpf *open_and_load(const struct bpf_object_open_opts *opts,
					  int *ret)
{
	struct netfence_bpf *skel;

	/* no BPF LSM programs on this kernel: do not even try */
	int first = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_LSM, NULL) == 1;

	for (int lsm = first; lsm >= 0; lsm--) {
		skel = netfence_bpf__open_opts(opts);
		if (!skel) {
			*ret = -errno;
			return NULL;
		}
		if (!lsm)
			bpf_program__set_autoload(skel->progs.socket_create, false);
		if (!enforce_conn_count_supported()) {
			bpf_program__set_autoload(skel->progs.sock_release, false);
			skel->rodata->count_conns = 0;
			bpf_map__set_type(skel->maps.orig_ck, BPF_MAP_TYPE_LRU_HASH);
		}
		skel->rodata->sockopt_task = enforce_sockopt_task_supported();
		*ret = netfence_bpf__load(skel);
		if (!*ret)
			return skel;
		netfence_bpf__destroy(skel);
		if (lsm)
			pr_info("netfence: loading without the BPF LSM program (%s)",
				strerror(-*ret));
	}
	errno = -*ret;
	return NULL;
}

/*
 * No BPF LSM hook: packet sockets of the cgroup are not refused. With a veth
 * filter their frames are checked on the host side; without one, a process
 * of the cgroup that shares our network namespace and holds CAP_NET_RAW
 * could write any frame on the host's interfaces: refused unless the user
 * accepts it. Said on stderr either way.
 */
static int raw_rule(const struct cgroup_ref *cg, const struct enforce_opts *eo,
		    struct nf_meta *meta, char *err, size_t errlen)
{
	int pid;

	meta->flags |= NF_META_NO_LSM;
	if (eo->caller_drops_raw)
		return 0;
	if (eo->veth_ifindex) {
		pr_warn("netfence: the BPF LSM hook is unavailable: packet sockets are not refused; their frames are checked on the agent's veth");
		return 0;
	}
	pid = cgroup_raw_capable(cg->path, true);
	if (pid > 0 && !eo->allow_raw) {
		set_err(err, errlen, "process %d in %s holds CAP_NET_RAW in the host's network namespace and the BPF LSM hook is unavailable: its packet sockets would bypass the policy (drop CAP_NET_RAW, or pass --allow-raw-sockets to accept it)",
			pid, cg->path);
		return -EPERM;
	}
	if (eo->allow_raw)
		meta->flags |= NF_META_RAW_ACCEPTED;
	if (pid > 0) {
		pr_warn("netfence: the BPF LSM hook is unavailable and process %d in %s holds CAP_NET_RAW: its packet sockets are not refused (accepted with --allow-raw-sockets)",
			pid, cg->path);
		return 0;
	}
	pid = cgroup_raw_capable(cg->path, false);
	if (pid > 0)
		pr_warn("netfence: the BPF LSM hook is unavailable and process %d in %s holds CAP_NET_RAW in its own network namespace: its packet sockets are not refused; give --veth with the host side of its veth to check its frames",
			pid, cg->path);
	else if (cgroup_in_our_netns(cg->path) > 0)
		pr_warn("netfence: the BPF LSM hook is unavailable: packet sockets of %s are not refused (no process of it holds CAP_NET_RAW now; it must not get it)",
			cg->path);
	return 0;
}

static int attach_new(const struct cgroup_ref *cg,
		      const struct cgroup_ref *proxy_cg, const struct policy *pol,
		      int pid, const struct enforce_opts *eo,
		      struct attach_result *res, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root());
	struct bpf_program *progs[N_AGENT_LINKS];
	struct bpf_link *links[N_AGENT_LINKS + 2] = { 0 };
	char tmp[PATH_MAX], dir[PATH_MAX], path[PATH_MAX];
	struct netfence_bpf *skel;
	struct nf_meta meta = { 0 };
	uint32_t zero = 0;
	size_t i;
	int ret;

	bool lsm = false;

	policy_dir(tmp, sizeof(tmp), cg->id, true);
	policy_dir(dir, sizeof(dir), cg->id, false);
	remove_policy_dir(tmp);	/* left by a killed attach: gate closed */

	skel = open_and_load(&opts, &ret);
	if (!skel) {
		set_err(err, errlen, "cannot load the BPF programs: %s (run with -d for the verifier log)",
			strerror(-ret));
		goto out;
	}

	/* state is 0, the closed gate, until everything is in place */
	ret = write_slot(bpf_map__fd(skel->maps.policy),
			 bpf_map__fd(skel->maps.bypass), 0, pol, err, errlen);
	if (ret)
		goto out;
	fill_meta(&meta, cg, proxy_cg, pid, pol);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.meta), &zero, &meta,
				BPF_ANY)) {
		ret = -errno;
		set_err(err, errlen, "cannot write the policy record: %s", strerror(errno));
		goto out;
	}

	if (mkdir(tmp, 0700)) {
		ret = -errno;
		set_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	{
		struct bpf_map *maps[] = { skel->maps.state, skel->maps.policy,
					   skel->maps.bypass, skel->maps.stats,
					   skel->maps.meta, skel->maps.events,
					   skel->maps.conns };

		for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", tmp, map_pins[i]);
			ret = bpf_map__pin(maps[i], path);
			if (ret) {
				set_err(err, errlen, "cannot pin %s: %s", path, strerror(-ret));
				goto out_rm;
			}
		}
	}
	snprintf(path, sizeof(path), "%s/%s", tmp, PROXY_PROG_PIN);
	ret = bpf_program__pin(skel->progs.orig_dst, path);
	if (ret) {
		set_err(err, errlen, "cannot pin %s: %s", path, strerror(-ret));
		goto out_rm;
	}

	/*
	 * The packet filter first: with the gate closed it drops every
	 * packet, so an attach killed after any link refuses everything.
	 */
	for (i = 0; i < N_AGENT_LINKS; i++) {
		/* agent_links are the programs' names */
		progs[i] = bpf_object__find_program_by_name(skel->obj, agent_links[i]);
		if (!progs[i]) {
			ret = -ENOENT;
			set_err(err, errlen, "no program %s in the BPF object", agent_links[i]);
			goto out_rm;
		}
	}
	for (i = 0; i < N_AGENT_LINKS; i++) {
		if (!bpf_program__autoload(progs[i]))
			continue;	/* sock_release: see enforce_conn_count_supported */
		links[i] = bpf_program__attach_cgroup(progs[i], cg->fd);
		if (!links[i]) {
			ret = -errno;
			set_err(err, errlen, "cannot attach %s to %s: %s", agent_links[i],
				cg->path, strerror(errno));
			goto out_rm;
		}
		ret = pin_link(links[i], tmp, agent_links[i], err, errlen);
		if (ret)
			goto out_rm;
	}
	if (bpf_program__autoload(skel->progs.socket_create)) {
		links[i] = bpf_program__attach_cgroup(skel->progs.socket_create,
						      cg->fd);
		if (links[i] && !pin_link(links[i], tmp, LSM_LINK, err, errlen))
			lsm = true;
		i++;
	}
	if (!lsm) {
		ret = raw_rule(cg, eo, &meta, err, errlen);
		if (ret)
			goto out_rm;
	}
	if (eo->veth_ifindex) {
		snprintf(meta.veth_name, sizeof(meta.veth_name), "%s",
			 eo->veth_name ? eo->veth_name : "");
		ret = veth_attach(bpf_program__fd(skel->progs.veth_ingress),
				  eo->veth_ifindex, tmp, &meta, err, errlen);
		if (ret)
			goto out_rm;
	}
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.meta), &zero, &meta,
				BPF_ANY)) {
		ret = -errno;
		set_err(err, errlen, "cannot write the policy record: %s", strerror(errno));
		goto out_rm;
	}
	if (proxy_cg) {
		links[i] = bpf_program__attach_cgroup(skel->progs.orig_dst,
						      proxy_cg->fd);
		if (!links[i]) {
			ret = -errno;
			set_err(err, errlen, "cannot attach the SO_ORIGINAL_DST responder to %s: %s",
				proxy_cg->path, strerror(errno));
			goto out_rm;
		}
		ret = pin_link(links[i], tmp, PROXY_LINK, err, errlen);
		if (ret)
			goto out_rm;
	}

	if (rename(tmp, dir)) {
		ret = -errno;
		set_err(err, errlen, "cannot rename %s to %s: %s", tmp, dir, strerror(errno));
		goto out_rm;
	}
	/* everything is attached and pinned: open the gate */
	ret = write_state(bpf_map__fd(skel->maps.state), 1);
	if (ret) {
		set_err(err, errlen, "cannot enable the policy: %s", strerror(-ret));
		remove_policy_dir(dir);
		goto out;
	}
	res->replaced = false;
	res->generation = meta.generation;
	res->no_lsm = !lsm;
	res->veth_mode = meta.veth_mode == NF_VETH_TCX ? "tcx" :
			 meta.veth_mode == NF_VETH_TC ? "tc" : NULL;
	goto out;

out_rm:
	veth_detach(&meta);
	remove_dir(tmp);
out:
	for (i = 0; i < N_AGENT_LINKS + 2; i++)
		bpf_link__destroy(links[i]);
	netfence_bpf__destroy(skel);
	if (ret)
		gc_shared();
	return ret;
}

/* Swaps (or adds, or removes) the SO_ORIGINAL_DST responder's cgroup. */
static int swap_responder(const char *dir, const struct cgroup_ref *proxy_cg,
			  char *err, size_t errlen)
{
	char path[PATH_MAX], next[PATH_MAX];
	int prog = -1, link = -1, ret = 0;

	snprintf(path, sizeof(path), "%s/link_%s", dir, PROXY_LINK);
	if (!proxy_cg) {
		link = bpf_obj_get(path);
		if (link >= 0) {
			bpf_link_detach(link);
			close(link);
		}
		unlink(path);
		return 0;
	}
	prog = obj_get(dir, PROXY_PROG_PIN);
	if (prog < 0) {
		set_err(err, errlen, "%s/%s is missing: detach and attach again", dir,
			PROXY_PROG_PIN);
		return -ENOENT;
	}
	link = bpf_link_create(prog, proxy_cg->fd, BPF_CGROUP_GETSOCKOPT, NULL);
	if (link < 0) {
		ret = -errno;
		set_err(err, errlen, "cannot attach the SO_ORIGINAL_DST responder to %s: %s",
			proxy_cg->path, strerror(errno));
		goto out;
	}
	/* bpffs refuses names with a dot */
	snprintf(next, sizeof(next), "%s_new", path);
	unlink(next);
	if (bpf_obj_pin(link, next) || rename(next, path)) {
		ret = -errno;
		set_err(err, errlen, "cannot pin %s: %s", path, strerror(errno));
		unlink(next);
		bpf_link_detach(link);
	}
	/* the old link, unpinned by the rename, detaches when released */
out:
	if (link >= 0)
		close(link);
	close(prog);
	return ret;
}

/* All pins of a complete policy directory are there. */
static bool dir_complete(const char *dir)
{
	for (size_t i = 0; i < sizeof(map_pins) / sizeof(map_pins[0]); i++) {
		int fd = obj_get(dir, map_pins[i]);

		if (fd < 0)
			return false;
		close(fd);
	}
	for (size_t i = 0; i < N_AGENT_LINKS; i++) {
		char name[32];
		int fd;

		if (!strcmp(agent_links[i], "sock_release") &&
		    !enforce_conn_count_supported())
			continue;
		snprintf(name, sizeof(name), "link_%s", agent_links[i]);
		fd = obj_get(dir, name);
		if (fd < 0)
			return false;
		close(fd);
	}
	return true;
}

static int attach_replace(const char *dir, const struct cgroup_ref *proxy_cg,
			  const struct cgroup_ref *cg, const struct policy *pol_in,
			  int pid, const struct enforce_opts *eo,
			  struct attach_result *res, char *err, size_t errlen)
{
	int state_fd, policy_fd, bypass_fd, meta_fd, ret;
	struct policy polbuf = *pol_in, *pol = &polbuf;
	char link[PATH_MAX];
	struct nf_meta meta;
	uint32_t state, next, zero = 0;
	bool lsm;

	state_fd = obj_get(dir, "state");
	policy_fd = obj_get(dir, "policy");
	bypass_fd = obj_get(dir, "bypass");
	meta_fd = obj_get(dir, "meta");
	if (state_fd < 0 || policy_fd < 0 || bypass_fd < 0 || meta_fd < 0) {
		ret = -ENOENT;
		set_err(err, errlen, "%s is incomplete: detach and attach again", dir);
		goto out;
	}
	ret = read_state(state_fd, &state);
	if (!ret && bpf_map_lookup_elem(meta_fd, &zero, &meta))
		ret = -errno;
	if (ret) {
		set_err(err, errlen, "cannot read the policy in %s: %s", dir, strerror(-ret));
		goto out;
	}
	snprintf(link, sizeof(link), "%s/link_%s", dir, LSM_LINK);
	lsm = !access(link, F_OK);
	if (eo->veth_ifindex && (meta.veth_mode == NF_VETH_NONE ||
				 meta.veth_ifindex != (uint32_t)eo->veth_ifindex)) {
		ret = -EEXIST;
		set_err(err, errlen, "%s has a policy %s: detach it, then attach with --veth",
			cg->path, meta.veth_mode == NF_VETH_NONE ?
			"without a veth filter" : "with a filter on another veth");
		goto out;
	}
	if (!lsm && meta.veth_mode == NF_VETH_NONE) {
		struct enforce_opts none = *eo;

		ret = raw_rule(cg, &none, &meta, err, errlen);
		if (ret)
			goto out;
	}
	if (meta.veth_mode != NF_VETH_NONE && !pol->pol.nr_agent_addrs &&
	    state != NF_GATE_CLOSED && state <= NF_GENERATIONS) {
		/* the agent's addresses learnt at the first attach */
		struct nf_policy cur;
		uint32_t slot = state - 1;

		if (!bpf_map_lookup_elem(policy_fd, &slot, &cur)) {
			pol->pol.nr_agent_addrs = cur.nr_agent_addrs;
			memcpy(pol->pol.agent_addrs, cur.agent_addrs,
			       sizeof(cur.agent_addrs));
		}
	}
	/* the slot not in force; a closed gate (killed attach) takes slot 0 */
	next = state == 1 ? 2 : 1;
	ret = write_slot(policy_fd, bypass_fd, next - 1, pol, err, errlen);
	if (ret)
		goto out;
	snprintf(link, sizeof(link), "%s/link_%s", dir, PROXY_LINK);
	if ((proxy_cg ? proxy_cg->id : 0) != meta.proxy_cgroup_id ||
	    (proxy_cg && access(link, F_OK))) {
		ret = swap_responder(dir, proxy_cg, err, errlen);
		if (ret)
			goto out;
	}
	ret = write_state(state_fd, next);
	if (ret) {
		set_err(err, errlen, "cannot switch the policy: %s", strerror(-ret));
		goto out;
	}
	fill_meta(&meta, cg, proxy_cg, pid, pol);
	bpf_map_update_elem(meta_fd, &zero, &meta, BPF_ANY);
	res->replaced = true;
	res->generation = meta.generation;
	res->no_lsm = !lsm;
	res->veth_mode = meta.veth_mode == NF_VETH_TCX ? "tcx" :
			 meta.veth_mode == NF_VETH_TC ? "tc" : NULL;
out:
	if (state_fd >= 0)
		close(state_fd);
	if (policy_fd >= 0)
		close(policy_fd);
	if (bypass_fd >= 0)
		close(bypass_fd);
	if (meta_fd >= 0)
		close(meta_fd);
	return ret;
}

int enforce_attach(const struct cgroup_ref *cg, const struct cgroup_ref *proxy_cg,
		   const struct policy *pol, int pid, struct attach_result *res,
		   char *err, size_t errlen)
{
	/* run: its command is started later, without CAP_NET_RAW */
	struct enforce_opts eo = { .caller_drops_raw = true };

	return enforce_attach_opts(cg, proxy_cg, pol, pid, &eo, res, err, errlen);
}

int enforce_attach_opts(const struct cgroup_ref *cg,
			const struct cgroup_ref *proxy_cg, const struct policy *pol,
			int pid, const struct enforce_opts *eo,
			struct attach_result *res, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	int lock, ret;

	if (pol->pol.max_conns && !enforce_conn_count_supported() &&
	    !eo->caller_drops_raw)
		pr_warn("netfence: --max-connections is not enforced: this kernel has no socket cookies in cgroup/sock programs");
	lock = lock_root(true, err, errlen);
	if (lock < 0)
		return lock;
	policy_dir(dir, sizeof(dir), cg->id, false);
	if (!access(dir, F_OK) && dir_complete(dir)) {
		ret = attach_replace(dir, proxy_cg, cg, pol, pid, eo, res, err,
				     errlen);
	} else {
		remove_policy_dir(dir);	/* incomplete leftovers */
		ret = attach_new(cg, proxy_cg, pol, pid, eo, res, err, errlen);
	}
	unlock_root(lock);
	return ret;
}

/* Finds the policy directory of a cgroup that no longer exists, by path. */
static int find_by_path(const char *path, char *dir, size_t len)
{
	struct dirent *de;
	int found = -ENOENT;
	DIR *d = opendir(pin_root());

	if (!d)
		return -ENOENT;
	while (found && (de = readdir(d))) {
		char sub[PATH_MAX];
		struct nf_meta m;
		uint32_t zero = 0;
		int fd;

		if (strncmp(de->d_name, "cg-", 3) &&
		    strncmp(de->d_name, "tmp-cg-", 7))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", pin_root(), de->d_name);
		fd = obj_get(sub, "meta");
		if (fd < 0)
			continue;
		if (!bpf_map_lookup_elem(fd, &zero, &m) &&
		    !strcmp(m.cgroup_path, path)) {
			snprintf(dir, len, "%s", sub);
			found = 0;
		}
		close(fd);
	}
	closedir(d);
	return found;
}

int enforce_detach(uint64_t cgroup_id, const char *path, char *err,
		   size_t errlen)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	int lock, state_fd, ret = 0;
	bool have_tmp;

	lock = lock_root(false, err, errlen);
	if (lock < 0)
		return lock;
	if (cgroup_id) {
		policy_dir(dir, sizeof(dir), cgroup_id, false);
		policy_dir(tmp, sizeof(tmp), cgroup_id, true);
	} else if (find_by_path(path, dir, sizeof(dir))) {
		gc_shared();
		ret = -ENOENT;
		goto out;
	} else {
		tmp[0] = '\0';
	}
	have_tmp = tmp[0] && !access(tmp, F_OK);
	if (access(dir, F_OK) && !have_tmp) {
		ret = -ENOENT;
		goto out;
	}
	/* close the gate first: a detach killed half-way refuses everything */
	state_fd = obj_get(dir, "state");
	if (state_fd >= 0) {
		write_state(state_fd, NF_GATE_CLOSED);
		close(state_fd);
	}
	remove_policy_dir(dir);
	if (have_tmp)
		remove_policy_dir(tmp);
	if (!access(dir, F_OK)) {
		set_err(err, errlen, "cannot remove %s", dir);
		ret = -EBUSY;
	}
	gc_shared();
out:
	unlock_root(lock);
	return ret;
}

static void sum_stats(int fd, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;

	if (ncpu <= 0)
		return;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return;
	for (uint32_t k = 0; k < NF_STAT_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += v[c];
	}
	free(v);
}

static void read_bypass(int outer_fd, uint32_t slot, struct policy_state *ps)
{
	struct nf_bypass_key key, next, *grown;
	uint32_t inner_id;
	size_t cap = 0;
	int fd;

	if (bpf_map_lookup_elem(outer_fd, &slot, &inner_id))
		return;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return;
	for (void *prev = NULL; !bpf_map_get_next_key(fd, prev, &next);
	     prev = &key) {
		if (ps->n_bypass == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(ps->bypass, cap * sizeof(*grown));
			if (!grown)
				break;
			ps->bypass = grown;
		}
		ps->bypass[ps->n_bypass++] = next;
		key = next;
	}
	close(fd);
}

static void read_links(const char *dir, struct policy_state *ps)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct bpf_link_info info = { 0 };
		uint32_t len = sizeof(info);
		int fd;

		if (strncmp(de->d_name, "link_", 5))
			continue;
		fd = obj_get(dir, de->d_name);
		if (fd < 0)
			continue;
		ps->links++;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.cgroup.cgroup_id)
			ps->links_attached++;
		close(fd);
	}
	closedir(d);
}

static int read_policy(const char *name, struct policy_state *ps)
{
	char dir[PATH_MAX];
	struct stat st;
	uint32_t zero = 0;
	int fd;

	memset(ps, 0, sizeof(*ps));
	snprintf(ps->dir, sizeof(ps->dir), "%s", name);
	ps->id = dir_id(name);
	snprintf(dir, sizeof(dir), "%s/%s", pin_root(), name);
	ps->complete = strncmp(name, "tmp-", 4) != 0;

	fd = obj_get(dir, "meta");
	if (fd >= 0) {
		bpf_map_lookup_elem(fd, &zero, &ps->meta);
		close(fd);
	}
	fd = obj_get(dir, "state");
	if (fd >= 0) {
		read_state(fd, &ps->state);
		close(fd);
	}
	if (ps->state != NF_GATE_CLOSED && ps->state <= NF_GENERATIONS) {
		uint32_t slot = ps->state - 1;

		fd = obj_get(dir, "policy");
		if (fd >= 0) {
			bpf_map_lookup_elem(fd, &slot, &ps->pol);
			close(fd);
		}
		fd = obj_get(dir, "bypass");
		if (fd >= 0) {
			read_bypass(fd, slot, ps);
			close(fd);
		}
	}
	fd = obj_get(dir, "stats");
	if (fd >= 0) {
		sum_stats(fd, ps->stats);
		close(fd);
	}
	fd = obj_get(dir, "conns");
	if (fd >= 0) {
		bpf_map_lookup_elem(fd, &zero, &ps->conns);
		close(fd);
	}
	read_links(dir, ps);
	if (ps->meta.cgroup_path[0] && !stat(ps->meta.cgroup_path, &st)) {
		ps->cgroup_exists = true;
		/* on cgroup2 (kernfs) the inode number is the cgroup id */
		ps->current_id = st.st_ino;
		ps->cgroup_replaced = st.st_ino != ps->meta.cgroup_id;
	}
	if (ps->meta.veth_mode != NF_VETH_NONE) {
		ps->veth = veth_state(&ps->meta, dir);
		if (!ps->veth)
			ps->veth = "gone";
	}
	return 0;
}

int enforce_events_fds(uint64_t id, int *fds, int max)
{
	struct dirent *de;
	DIR *d = opendir(pin_root());
	int n = 0;

	if (!d)
		return -ENOENT;
	while (n < max && (de = readdir(d))) {
		char dir[PATH_MAX];
		int fd;

		/* policies in place only: a tmp- one is being attached or was left half-way */
		if (strncmp(de->d_name, "cg-", 3) || (id && dir_id(de->d_name) != id))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", pin_root(), de->d_name);
		fd = obj_get(dir, "events");
		if (fd >= 0)
			fds[n++] = fd;
	}
	closedir(d);
	return n;
}

int enforce_list(uint64_t id, int (*fn)(const struct policy_state *, void *),
		 void *ctx, char *err, size_t errlen)
{
	struct dirent **names;
	int n, found = 0, lock;

	lock = lock_root(false, err, errlen);
	if (lock == -ENOENT)
		return 0;
	if (lock < 0)
		return lock;
	n = scandir(pin_root(), &names, NULL, alphasort);
	if (n < 0) {
		set_err(err, errlen, "cannot read %s: %s", pin_root(), strerror(errno));
		unlock_root(lock);
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		struct policy_state ps;

		if ((!strncmp(name, "cg-", 3) || !strncmp(name, "tmp-cg-", 7)) &&
		    (!id || dir_id(name) == id)) {
			read_policy(name, &ps);
			fn(&ps, ctx);
			free(ps.bypass);
			found++;
		}
		free(names[i]);
	}
	free(names);
	unlock_root(lock);
	return found;
}
