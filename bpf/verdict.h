/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The policy decision for one IPv4 destination: where the host bypass, the
 * proxy ports, DNS and the refusals are decided. IPv6 hooks map v4-mapped
 * destinations here, so both families get exactly one policy.
 */
#ifndef NETFENCE_BPF_VERDICT_H
#define NETFENCE_BPF_VERDICT_H

#define VERDICT_DENY	0	/* connect()/sendmsg() fails with EPERM */
#define VERDICT_ALLOW	1

#define EEXIST		17	/* a map update with BPF_NOEXIST found the key */

#define AF_INET		2
#define AF_INET6	10
#define SOCK_STREAM	1
#define SOCK_DGRAM	2
#define IPPROTO_TCP	6
#define IPPROTO_UDP	17

#define IP4(a, b, c, d) ((__u32)(a) << 24 | (__u32)(b) << 16 | (__u32)(c) << 8 | (d))

struct decision {
	__u32 stat;		/* enum nf_stat */
	bool allow;
	bool redirect;		/* rewrite the destination to addr:port */
	bool events_allowed;	/* the policy wants events for allowed ones */
	bool dns;		/* the redirect goes to the DNS filter */
	__u32 max_conns;	/* the policy's limit on redirected connections */
	__be32 addr;		/* net */
	__be16 port;		/* net */
};

static __always_inline void count(__u32 stat)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &stat);

	if (c)
		*c += 1;
}

/*
 * A verdict event from a hook that runs in the process's context. addr is
 * NULL (socket creation), 4 bytes (AF_INET) or 16 bytes (AF_INET6). task:
 * whether the hook may ask for the process's pid and comm (cgroup/setsockopt
 * may not on 5.10): without, those stay 0 and empty.
 */
static __always_inline void event_fill_as(struct nf_event *e, __u8 hook,
					  __u32 stat, __u8 family, __u16 proto,
					  __u16 type, const __u32 *addr,
					  __be16 port, bool task)
{
	__u64 pid_tgid = task ? bpf_get_current_pid_tgid() : 0;

	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pid = (__u32)pid_tgid;
	e->tgid = pid_tgid >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->stat = stat;
	e->hook = hook;
	e->family = family;
	e->proto = proto;
	e->type = type;
	e->port = port;
	if (addr) {
		__builtin_memcpy(e->addr, addr, 4);
		if (family == AF_INET6)
			__builtin_memcpy(e->addr + 4, addr + 1, 12);
	}
	if (task)
		bpf_get_current_comm(e->comm, sizeof(e->comm));
}

static __always_inline void event_fill(struct nf_event *e, __u8 hook,
				       __u32 stat, __u8 family, __u16 proto,
				       __u16 type, const __u32 *addr, __be16 port)
{
	event_fill_as(e, hook, stat, family, proto, type, addr, port, true);
}

static __always_inline void emit_as(__u8 hook, __u32 stat, __u8 family,
				    __u16 proto, __u16 type, const __u32 *addr,
				    __be16 port, bool task)
{
	struct nf_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(NF_STAT_EVENT_LOST);
		return;
	}
	event_fill_as(e, hook, stat, family, proto, type, addr, port, task);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void emit(__u8 hook, __u32 stat, __u8 family,
				 __u16 proto, __u16 type, const __u32 *addr,
				 __be16 port)
{
	emit_as(hook, stat, family, proto, type, addr, port, true);
}

/* Counts a connect/send verdict; refusals (and, by setting, the rest) emit. */
static __always_inline void report(const struct decision *d, __u8 hook,
				   __u8 family, __u16 proto, __u16 type,
				   const __u32 *addr, __be16 port)
{
	count(d->stat);
	if (!d->allow || d->events_allowed)
		emit(hook, d->stat, family, proto, type, addr, port);
}

/* The policy in force and its slot, or NULL when the gate is closed. */
static __always_inline const struct nf_policy *policy_in_force(__u32 *slot)
{
	__u32 zero = 0, *s = bpf_map_lookup_elem(&state, &zero);

	if (!s || *s == NF_GATE_CLOSED || *s > NF_GENERATIONS)
		return NULL;
	*slot = *s - 1;
	return bpf_map_lookup_elem(&policy, slot);
}

static __always_inline bool port_in(const __u8 *bitmap, __u16 port /* host */)
{
	__u32 idx = port >> 3;

	/* keep the mask: the verifier must see the index bounded */
	barrier_var(idx);
	idx &= NF_PORT_BITMAP_BYTES - 1;
	return bitmap[idx] & (1u << (port & 7));
}

static __always_inline bool is_resolver(const struct nf_policy *p, __be32 addr)
{
	for (int i = 0; i < NF_MAX_RESOLVERS; i++) {
		if (i >= p->nr_resolvers)
			break;
		if (p->resolvers[i] == addr)
			return true;
	}
	return false;
}

static __always_inline bool is_bypass(__u32 slot, __be32 addr, __be16 port)
{
	struct nf_bypass_key key = { .addr = addr, .port = port };
	void *inner = bpf_map_lookup_elem(&bypass, &slot);

	return inner && bpf_map_lookup_elem(inner, &key);
}

/* 0.0.0.0 connects to the local host, like 127.0.0.0/8. */
static __always_inline bool is_loopback4(__u32 a /* host */)
{
	return (a >> 24) == 127 || a == 0;
}

/* Destinations refused whatever the policy says. */
static __always_inline bool is_reserved4(__u32 a /* host */)
{
	return a == IP4(169, 254, 169, 254) ||	/* cloud metadata */
	       (a >> 28) == 0xe ||		/* multicast 224.0.0.0/4 */
	       (a >> 28) == 0xf ||		/* 240.0.0.0/4, broadcast */
	       (a >> 24) == 0;			/* 0.0.0.0/8 ("this network") */
}

static __always_inline void deny(struct decision *d, __u32 stat)
{
	d->allow = false;
	d->stat = stat;
}

static __always_inline void allow(struct decision *d, __u32 stat)
{
	d->allow = true;
	d->stat = stat;
}

/*
 * With a DNS filter in the policy, TCP and UDP to port 53 of any address go
 * to it (the caller checked the protocol). Returns whether it decided.
 */
static __always_inline bool dns_filter(struct decision *d,
				       const struct nf_policy *p, __be16 port)
{
	if (!(p->flags & NF_F_DNS_PROXY) || port != bpf_htons(NF_DNS_PORT))
		return false;
	allow(d, NF_STAT_DNS_REDIRECT);
	d->redirect = true;
	d->dns = true;
	d->addr = p->dns_proxy_addr;
	d->port = p->dns_proxy_port;
	return true;
}

/*
 * Decide for an IPv4 destination. proto is the socket's protocol; addr and
 * port are as the application asked (net order).
 */
static __always_inline void decide4(struct decision *d, __u32 proto,
				    __be32 addr, __be16 port)
{
	const struct nf_policy *p;
	__u32 slot, a = bpf_ntohl(addr);
	__u16 hport = bpf_ntohs(port);
	bool loopback;

	/*
	 * Every field, on every path: the compiler may load addr and port
	 * before it tests redirect, and 5.10's verifier, which cannot rule
	 * that path out, refuses the read of a stack slot never written
	 * ("invalid read from stack").
	 */
	__builtin_memset(d, 0, sizeof(*d));
	p = policy_in_force(&slot);
	if (!p) {
		deny(d, NF_STAT_DENY_NOPOLICY);
		return;
	}
	d->events_allowed = p->flags & NF_F_EVENTS_ALLOWED;
	d->max_conns = p->max_conns;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) {
		deny(d, NF_STAT_DENY_PROTO);
		return;
	}

	/* a DNS filter takes every port-53 destination, loopback included */
	if (dns_filter(d, p, port))
		return;
	if ((p->flags & NF_F_DNS_PROXY) && addr == p->dns_proxy_addr &&
	    port == p->dns_proxy_port) {
		allow(d, NF_STAT_DNS);
		return;
	}

	loopback = is_loopback4(a);
	if (loopback) {
		/*
		 * Docker's embedded DNS server listens on 127.0.0.11 in the
		 * container's namespace, outside its cgroup, and resolves any
		 * name: never the agent's own, only DNS (port 53) reaches it
		 */
		if (p->loopback == NF_LOOPBACK_ALLOW && a != IP4(127, 0, 0, 11)) {
			allow(d, NF_STAT_LOOPBACK);
			return;
		}
		/* the host's own loopback: governed like the host gateway */
	} else if (is_reserved4(a)) {
		deny(d, NF_STAT_DENY_RESERVED);
		return;
	}

	if (hport == NF_DNS_PORT && is_resolver(p, addr)) {
		allow(d, NF_STAT_DNS);
		return;
	}
	if (proto != IPPROTO_TCP) {
		deny(d, NF_STAT_DENY_UDP);
		return;
	}

	if ((p->flags & NF_F_FWD_PROXY) && addr == p->fwd_proxy_addr &&
	    port == p->fwd_proxy_port) {
		allow(d, NF_STAT_FWD_PROXY);
		return;
	}
	/* straight to an intercept port would be a lookup miss at the proxy */
	if ((addr == p->proxy_addr && port == p->proxy_port) ||
	    ((p->flags & NF_F_TLS_PROXY) && addr == p->tls_proxy_addr &&
	     port == p->tls_proxy_port)) {
		deny(d, NF_STAT_DENY_INTERCEPT);
		return;
	}

	if (is_bypass(slot, loopback ? bpf_htonl(IP4(127, 0, 0, 1)) : addr, port)) {
		allow(d, NF_STAT_BYPASS);
		return;
	}

	if (port_in(p->tls_ports, hport)) {
		allow(d, NF_STAT_REDIRECT_TLS);
		d->redirect = true;
		if (p->flags & NF_F_TLS_PROXY) {
			d->addr = p->tls_proxy_addr;
			d->port = p->tls_proxy_port;
		} else {
			d->addr = p->proxy_addr;
			d->port = p->proxy_port;
		}
		return;
	}
	if (port_in(p->redirect_ports, hport)) {
		allow(d, NF_STAT_REDIRECT);
		d->redirect = true;
		d->addr = p->proxy_addr;
		d->port = p->proxy_port;
		return;
	}
	deny(d, NF_STAT_DENY_PORT);
}

#endif /* NETFENCE_BPF_VERDICT_H */
