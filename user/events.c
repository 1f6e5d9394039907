// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "enforce.h"
#include "events.h"
#include "json.h"

static const char *hook_name(uint8_t hook)
{
	switch (hook) {
	case NF_HOOK_CONNECT:
		return "connect";
	case NF_HOOK_SENDMSG:
		return "sendmsg";
	case NF_HOOK_SOCKET:
		return "socket";
	case NF_HOOK_PACKET:
		return "packet";
	}
	return "unknown";
}

static const char *proto_name(uint16_t proto, char *buf, size_t len)
{
	switch (proto) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
		return "icmp";
	case 58:
		return "icmpv6";
	case 255:
		return "raw";
	case 262:
		return "mptcp";
	}
	snprintf(buf, len, "%u", proto);
	return buf;
}

/* "a.b.c.d:port" or "[v6]:port"; empty for socket events. */
static void dest_str(const struct nf_event *e, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (e->hook == NF_HOOK_SOCKET) {
		buf[0] = '\0';
		return;
	}
	if (e->family == AF_INET6) {
		inet_ntop(AF_INET6, e->addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(e->port));
	} else {
		inet_ntop(AF_INET, e->addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(e->port));
	}
}

void event_print(FILE *f, const struct nf_event *e, bool json)
{
	char comm[sizeof(e->comm) + 1], dest[INET6_ADDRSTRLEN + 16], pbuf[8];
	const char *verdict = e->stat >= NF_STAT_FIRST_DENY ? "refused" :
				"allowed";
	const char *proto = proto_name(e->proto, pbuf, sizeof(pbuf));

	memcpy(comm, e->comm, sizeof(e->comm));
	comm[sizeof(e->comm)] = '\0';
	dest_str(e, dest, sizeof(dest));
	if (json) {
		struct json *j = json_new(f);

		json_object_begin(j);
		json_kv_uint(j, "ts_ns", e->ts_ns);
		json_kv_str(j, "verdict", verdict);
		json_kv_str(j, "reason", nf_stat_name((int)e->stat));
		json_kv_str(j, "hook", hook_name(e->hook));
		json_kv_str(j, "proto", proto);
		json_kv_uint(j, "family", e->family);
		if (e->hook == NF_HOOK_SOCKET)
			json_kv_uint(j, "type", e->type);
		json_kv_str(j, "destination", dest[0] ? dest : NULL);
		json_kv_uint(j, "pid", e->pid);
		json_kv_uint(j, "tgid", e->tgid);
		json_kv_uint(j, "uid", e->uid);
		json_kv_str(j, "comm", comm);
		json_kv_uint(j, "cgroup_id", e->cgroup_id);
		json_object_end(j);
		json_end(j);
		return;
	}
	if (e->hook == NF_HOOK_SOCKET)
		fprintf(f, "%s %s socket family %u type %u proto %s (%s) pid %u uid %u %s\n",
			verdict, hook_name(e->hook), e->family, e->type, proto,
			nf_stat_name((int)e->stat), e->tgid, e->uid, comm);
	else
		fprintf(f, "%s %s %s %s (%s) pid %u uid %u %s\n", verdict,
			hook_name(e->hook), proto, dest,
			nf_stat_name((int)e->stat), e->tgid, e->uid, comm);
	fflush(f);
}

struct ring_buffer *events_open(uint64_t cgroup_id,
				int (*fn)(void *ctx, void *data, size_t len),
				void *ctx, int *n_policies)
{
	struct ring_buffer *rb = NULL;
	struct dirent *de;
	DIR *d = opendir(pin_root());
	int n = 0, err = ENOENT;

	*n_policies = 0;
	if (!d)
		return errno = ENOENT, NULL;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		int fd;

		if (strncmp(de->d_name, "cg-", 3))
			continue;
		if (cgroup_id && strtoull(de->d_name + 3, NULL, 10) != cgroup_id)
			continue;
		snprintf(path, sizeof(path), "%s/%s/events", pin_root(), de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (!rb) {
			rb = ring_buffer__new(fd, fn, ctx, NULL);
			if (!rb)
				err = errno;
		} else if (ring_buffer__add(rb, fd, fn, ctx)) {
			err = errno;
			ring_buffer__free(rb);
			rb = NULL;
		}
		close(fd);
		if (!rb)
			break;
		n++;
	}
	closedir(d);
	*n_policies = n;
	if (!rb)
		errno = err;
	return rb;
}
