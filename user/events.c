// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
	case NF_HOOK_DNS:
		return "dns";
	case NF_HOOK_SETSOCKOPT:
		return "setsockopt";
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

	if (e->hook == NF_HOOK_SOCKET || e->hook == NF_HOOK_SETSOCKOPT) {
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

int dns_question_decode(const uint8_t *q, size_t len, char *name,
			size_t namelen, uint16_t *qtype)
{
	size_t i = 0, o = 0;
	bool whole = false;

	*qtype = 0;
	if (!namelen)
		return -EINVAL;
	while (i < len) {
		size_t n = q[i++];

		if (n == 0) {
			whole = true;
			break;
		}
		if (n & 0xc0 || i + n > len)
			break;
		if (o && o + 1 < namelen)
			name[o++] = '.';
		else if (o)
			o = namelen;
		for (size_t k = 0; k < n; k++, i++) {
			uint8_t c = q[i];
			char esc[5];
			size_t m;

			if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
				esc[0] = (char)c;
				m = 1;
			} else {
				m = (size_t)snprintf(esc, sizeof(esc), "\\%03u", c);
			}
			if (o + m < namelen) {	/* else cut: read on for the type */
				memcpy(name + o, esc, m);
				o += m;
			} else {
				o = namelen;
			}
		}
	}
	name[o < namelen ? o : namelen - 1] = '\0';
	if (!whole)
		return -EINVAL;
	if (i + 2 <= len)
		*qtype = (uint16_t)(q[i] << 8 | q[i + 1]);
	return 0;
}

const char *dns_type_name(uint16_t t, char *buf, size_t len)
{
	static const struct {
		uint16_t t;
		const char *name;
	} types[] = { { 1, "A" },     { 2, "NS" },     { 5, "CNAME" },
		      { 6, "SOA" },   { 12, "PTR" },   { 15, "MX" },
		      { 16, "TXT" },  { 28, "AAAA" },  { 33, "SRV" },
		      { 64, "SVCB" }, { 65, "HTTPS" }, { 255, "ANY" } };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].t == t)
			return types[i].name;
	snprintf(buf, len, "TYPE%u", t);
	return buf;
}

/* "inet", "inet6", ...: the address family by name. */
static const char *family_name(uint8_t family, char *buf, size_t len)
{
	switch (family) {
	case AF_INET:
		return "inet";
	case AF_INET6:
		return "inet6";
	case AF_UNIX:
		return "unix";
	case AF_NETLINK:
		return "netlink";
	case AF_PACKET:
		return "packet";
	case AF_VSOCK:
		return "vsock";
	case AF_XDP:
		return "xdp";
	case AF_BLUETOOTH:
		return "bluetooth";
	case AF_CAN:
		return "can";
	}
	snprintf(buf, len, "%u", family);
	return buf;
}

int64_t event_wall_ns(uint64_t ts_ns)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	return (int64_t)ts_ns + ((int64_t)real.tv_sec - mono.tv_sec) * 1000000000 +
	       (real.tv_nsec - mono.tv_nsec);
}

void event_time_str(int64_t wall_ns, char *buf, size_t len)
{
	time_t sec = (time_t)(wall_ns / 1000000000);
	struct tm tm;

	if (wall_ns < 0 || !gmtime_r(&sec, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (long)(wall_ns % 1000000000 / 1000));
}

void event_print(FILE *f, const void *data, size_t len, bool json)
{
	const struct nf_event *e = data;
	const struct nf_dns_event *de = data;
	char name[4 * NF_DNS_QUESTION_MAX + 1], tbuf[16];
	const char *qtype = NULL;
	char fbuf[8], when[40];
	char comm[sizeof(e->comm) + 1], dest[INET6_ADDRSTRLEN + 16], pbuf[8];
	const char *verdict = nf_stat_refuses((int)e->stat) ? "refused" : "allowed";
	const char *proto = proto_name(e->proto, pbuf, sizeof(pbuf));

	if (len < sizeof(*e) || (e->hook == NF_HOOK_DNS && len < sizeof(*de)))
		return;
	if (e->hook == NF_HOOK_DNS) {
		uint16_t t;

		dns_question_decode(de->question,
				    de->len < sizeof(de->question) ? de->len :
								      sizeof(de->question),
				    name, sizeof(name), &t);
		qtype = dns_type_name(t, tbuf, sizeof(tbuf));
	}
	memcpy(comm, e->comm, sizeof(e->comm));
	comm[sizeof(e->comm)] = '\0';
	/*
	 * The agent names its processes (prctl PR_SET_NAME: any byte but NUL):
	 * no escape sequence of its choosing reaches the terminal (JSON
	 * escapes them itself)
	 */
	if (!json)
		for (char *c = comm; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
	dest_str(e, dest, sizeof(dest));
	if (json) {
		struct json jw, *j = json_init(&jw, f);

		event_time_str(event_wall_ns(e->ts_ns), when, sizeof(when));
		json_object_begin(j);
		json_kv_str(j, "time", when);
		json_kv_uint(j, "ts_ns", e->ts_ns);
		json_kv_str(j, "verdict", verdict);
		json_kv_str(j, "reason", nf_stat_name((int)e->stat));
		json_kv_str(j, "hook", hook_name(e->hook));
		if (e->hook == NF_HOOK_SETSOCKOPT) {
			json_kv_uint(j, "level", e->proto);
			json_kv_uint(j, "optname", e->type);
		} else {
			json_kv_str(j, "proto", proto);
		}
		json_kv_uint(j, "family", e->family);
		if (e->hook == NF_HOOK_SOCKET)
			json_kv_uint(j, "type", e->type);
		json_kv_str(j, "destination", dest[0] ? dest : NULL);
		if (qtype) {
			json_kv_str(j, "name", name);
			json_kv_str(j, "qtype", qtype);
		}
		json_kv_uint(j, "pid", e->pid);
		json_kv_uint(j, "tgid", e->tgid);
		json_kv_uint(j, "uid", e->uid);
		json_kv_str(j, "comm", comm);
		json_kv_uint(j, "cgroup_id", e->cgroup_id);
		json_kv_str(j, "family_name",
			    family_name(e->family, fbuf, sizeof(fbuf)));
		json_object_end(j);
		json_end(j);
		return;
	}
	if (qtype)
		fprintf(f, "%s %s %s %s (%s) name %s type %s pid %u uid %u %s\n",
			verdict, hook_name(e->hook), proto, dest,
			nf_stat_name((int)e->stat), name, qtype, e->tgid, e->uid,
			comm);
	else if (e->hook == NF_HOOK_SETSOCKOPT)
		fprintf(f, "%s setsockopt family %u level %u optname %u (%s) pid %u uid %u %s\n",
			verdict, e->family, e->proto, e->type,
			nf_stat_name((int)e->stat), e->tgid, e->uid, comm);
	else if (e->hook == NF_HOOK_SOCKET)
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
	int fds[256], n, i, err = ENOENT;

	*n_policies = 0;
	n = enforce_events_fds(cgroup_id, fds, (int)(sizeof(fds) / sizeof(fds[0])));
	if (n < 0)
		return errno = -n, NULL;
	for (i = 0; i < n && (rb || i == 0); i++) {
		if (!rb) {
			rb = ring_buffer__new(fds[i], fn, ctx, NULL);
			if (!rb)
				err = errno;
		} else if (ring_buffer__add(rb, fds[i], fn, ctx)) {
			err = errno;
			ring_buffer__free(rb);
			rb = NULL;
		}
	}
	for (int k = 0; k < n; k++)
		close(fds[k]);
	*n_policies = rb ? n : 0;
	if (!rb)
		errno = err;
	return rb;
}
