// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "veth.h"

#define err_set(...) snprintf(err, errlen, __VA_ARGS__)

/* Linux 6.6's tcx attach types (the uapi headers we build with may lack them). */
#define NF_BPF_TCX_INGRESS	46
#define CAP_NET_RAW_BIT		13

static int attach_tc(int prog_fd, int ifindex, struct nf_meta *m, char *err,
		     size_t errlen)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd,
		    .handle = NF_TC_HANDLE, .priority = NF_TC_PRIO);
	int ret;

	ret = bpf_tc_hook_create(&hook);
	if (ret && ret != -EEXIST) {
		err_set("cannot create the clsact qdisc on ifindex %d: %s", ifindex,
			strerror(-ret));
		return ret;
	}
	ret = bpf_tc_attach(&hook, &opts);
	if (ret) {
		err_set("cannot attach the tc filter on ifindex %d: %s%s", ifindex,
			strerror(-ret), ret == -EEXIST ?
			" (a filter with netfence's handle is there: another policy?)" : "");
		return ret;
	}
	m->veth_mode = NF_VETH_TC;
	m->veth_tc_handle = opts.handle;
	m->veth_tc_prio = opts.priority;
	m->veth_prog_id = opts.prog_id;
	return 0;
}

int veth_attach(int prog_fd, int ifindex, const char *dir, struct nf_meta *m,
		char *err, size_t errlen)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	const char *force = getenv("NETFENCE_VETH_TC");
	char path[PATH_MAX];
	int link;

	m->veth_ifindex = (uint32_t)ifindex;
	if (!bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		m->veth_prog_id = info.id;
	if (force && !strcmp(force, "1"))
		return attach_tc(prog_fd, ifindex, m, err, errlen);
	link = bpf_link_create(prog_fd, ifindex, NF_BPF_TCX_INGRESS, NULL);
	if (link < 0) {
		/* no tcx (before Linux 6.6): tc clsact */
		if (errno == EINVAL || errno == EOPNOTSUPP)
			return attach_tc(prog_fd, ifindex, m, err, errlen);
		err_set("cannot attach the veth filter to ifindex %d: %s", ifindex,
			strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, VETH_LINK_PIN);
	if (bpf_obj_pin(link, path)) {
		int ret = -errno;

		err_set("cannot pin %s: %s", path, strerror(errno));
		bpf_link_detach(link);
		close(link);
		return ret;
	}
	close(link);
	m->veth_mode = NF_VETH_TCX;
	return 0;
}

/* Our tc filter's program id, 0 when the filter is not there. */
static uint32_t tc_prog_id(const struct nf_meta *m)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)m->veth_ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = m->veth_tc_handle,
		    .priority = m->veth_tc_prio);

	if (bpf_tc_query(&hook, &opts))
		return 0;
	return opts.prog_id;
}

void veth_detach(const struct nf_meta *m)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)m->veth_ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = m->veth_tc_handle,
		    .priority = m->veth_tc_prio);

	/* only our own filter: the handle could have been reused since */
	if (m->veth_mode != NF_VETH_TC || !m->veth_prog_id ||
	    tc_prog_id(m) != m->veth_prog_id)
		return;
	bpf_tc_detach(&hook, &opts);
}

const char *veth_state(const struct nf_meta *m, const char *dir)
{
	char path[PATH_MAX];

	if (m->veth_mode == NF_VETH_TC)
		return m->veth_prog_id && tc_prog_id(m) == m->veth_prog_id ? "tc" : NULL;
	if (m->veth_mode == NF_VETH_TCX) {
		struct bpf_link_info info = { 0 };
		uint32_t len = sizeof(info);
		int fd;
		bool ok;

		snprintf(path, sizeof(path), "%s/%s", dir, VETH_LINK_PIN);
		fd = bpf_obj_get(path);
		if (fd < 0)
			return NULL;
		/* tcx.ifindex shares its place with cgroup.cgroup_id */
		ok = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.cgroup.cgroup_id;
		close(fd);
		return ok ? "tcx" : NULL;
	}
	return NULL;
}

bool netns_differs(int pid)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (stat(path, &a) || stat("/proc/self/ns/net", &b))
		return false;
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

int netns_addrs(int pid, uint32_t *out, int max)
{
	char path[64];
	int pfd[2], fd, n = 0, status;
	ssize_t r;
	pid_t child;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pipe2(pfd, O_CLOEXEC)) {
		close(fd);
		return -errno;
	}
	child = fork();
	if (child < 0) {
		n = -errno;
		goto out;
	}
	if (!child) {
		struct ifaddrs *ifa, *i;

		close(pfd[0]);
		if (setns(fd, CLONE_NEWNET) || getifaddrs(&ifa))
			_exit(1);
		for (i = ifa; i; i = i->ifa_next) {
			uint32_t a;

			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
				continue;
			a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
			if ((ntohl(a) >> 24) == 127)
				continue;
			if (write(pfd[1], &a, sizeof(a)) != sizeof(a))
				_exit(1);
		}
		_exit(0);
	}
	close(pfd[1]);
	pfd[1] = -1;
	for (;;) {
		uint32_t a;

		r = read(pfd[0], &a, sizeof(a));
		if (r != sizeof(a))
			break;
		if (n < max)
			out[n++] = a;
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		n = -EIO;
out:
	close(fd);
	close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	return n;
}

/*
 * Calls fn(pid, ctx) for every process of the subtree (cgroup.procs of each
 * directory) until fn returns non-zero; returns that, or 0.
 */
static int for_each_pid(const char *dir, int depth, int (*fn)(int pid, void *ctx),
			void *ctx)
{
	char path[PATH_MAX], line[32];
	struct dirent *de;
	FILE *f;
	DIR *d;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (!ret && fgets(line, sizeof(line), f))
		ret = fn(atoi(line), ctx);
	fclose(f);
	if (ret || depth > 32)
		return ret;
	d = opendir(dir);
	if (!d)
		return 0;
	while (!ret && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ret = for_each_pid(path, depth + 1, fn, ctx);
	}
	closedir(d);
	return ret;
}

static int raw_capable(int pid, void *ctx)
{
	bool host_only = *(bool *)ctx;
	char path[64], buf[4096];
	struct stat st;
	uint64_t caps;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;	/* gone */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (capeff_parse(buf, &caps) || !(caps >> CAP_NET_RAW_BIT & 1))
		return 0;
	/*
	 * A zombie has closed its files and makes no socket; its ns/net can
	 * no longer be read, which netns_differs() takes as "ours". Short
	 * processes exiting while attach looks (test_enforce's probes in a
	 * slow 5.10 guest) made attach refuse the cgroup.
	 */
	if (strstr(buf, "\nState:\tZ") || strstr(buf, "\nState:\tX"))
		return 0;
	/* exiting (namespaces already dropped, files closed before) or gone */
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (host_only && stat(path, &st) && errno == ENOENT)
		return 0;
	if (host_only && netns_differs(pid))
		return 0;
	return pid;
}

int cgroup_raw_capable(const char *cg_path, bool host_netns_only)
{
	return for_each_pid(cg_path, 0, raw_capable, &host_netns_only);
}

static int shares_netns(int pid, void *ctx)
{
	(void)ctx;
	return pid > 0 && kill(pid, 0) == 0 && !netns_differs(pid) ? pid : 0;
}

int cgroup_in_our_netns(const char *cg_path)
{
	int ret = for_each_pid(cg_path, 0, shares_netns, NULL);

	return ret > 0 ? ret : 0;
}
