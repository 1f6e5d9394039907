// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfence: egress policy for a cgroup v2, enforced at the socket layer.
 *
 * Agent cgroup: connect4/connect6 decide every TCP and UDP connect (redirect
 * to the proxy, bypass, or refuse) and record a redirected socket's original
 * destination by its cookie, sendmsg4/sendmsg6 decide every unconnected UDP
 * send, and the egress filter copies the record, at the SYN, to the 4-tuple
 * the proxy will see. Defence in depth: sock_create (and, where the BPF LSM
 * is active, socket_create) refuse the socket kinds the policy does not
 * cover, egress drops any packet not on an allowed path, and getpeername4/6
 * report the original destination.
 *
 * Proxy cgroup: orig_dst answers SO_ORIGINAL_DST from those records.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include "netfence.h"
#include "bpf/maps.h"
#include "bpf/verdict.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* ::ffff:a.b.c.d: the IPv4 policy applies. */
static __always_inline bool is_v4mapped(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff);
}

/* ::1, and :: which connects to the local host. */
static __always_inline bool is_loopback6(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == 0 &&
	       (a[3] == 0 || a[3] == bpf_htonl(1));
}

/*
 * Set by the loader: 0 where sock_release cannot load (socket storage in
 * cgroup/sock programs needs Linux 5.12): nothing would uncount a socket,
 * so nothing is counted and --max-connections is not enforced.
 */
const volatile __u32 count_conns = 1;

/*
 * Set by the loader: 0 where cgroup/setsockopt programs may not call
 * bpf_get_current_pid_tgid and bpf_get_current_comm (5.10): mcast_join's
 * events then name the cgroup and uid, not the process.
 */
const volatile __u32 sockopt_task = 1;

/*
 * Remember where a redirected socket wanted to go, and count it among the
 * cgroup's open connections to the proxy (released in sock_release). Without a
 * record the proxy could not serve the connection, and over max_conns one
 * agent would starve a proxy others share: both refuse the connect (d is
 * turned into the refusal). One hash update for a new socket, no allocation.
 * A connect to the forward-proxy port (not redirected) is counted only.
 */
static __always_inline void record_orig(void *ctx, struct decision *d,
					__be32 addr, __be16 port)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	struct nf_orig rec = { .addr = addr, .port = port,
			       .flags = d->redirect ? NF_SK_REDIRECTED : 0 };
	struct nf_orig *o;
	__u32 zero = 0;
	__u64 *n = NULL;
	long err;

	if (count_conns) {
		n = bpf_map_lookup_elem(&conns, &zero);
		if (!n) {
			deny(d, NF_STAT_DENY_NORECORD);
			return;
		}
		rec.flags |= NF_SK_COUNTED;
	}
	err = bpf_map_update_elem(&orig_ck, &cookie, &rec, BPF_NOEXIST);
	if (err == -EEXIST) {
		/* connected again after a failure: counted once already */
		o = bpf_map_lookup_elem(&orig_ck, &cookie);
		if (!o) {
			deny(d, NF_STAT_DENY_NORECORD);
			return;
		}
		if (!d->redirect)
			return;
		o->addr = addr;
		o->port = port;
		/* its next SYN stores the record anew */
		o->flags = (o->flags | NF_SK_REDIRECTED) & ~NF_SK_STORED;
		return;
	}
	if (err) {
		deny(d, NF_STAT_DENY_NORECORD);
		return;
	}
	if (n) {
		/* no fetch (BPF ISA v1): a race at the limit refuses both */
		__sync_fetch_and_add(n, 1);
		if (d->max_conns && *n > d->max_conns) {
			__sync_fetch_and_add(n, -1);
			bpf_map_delete_elem(&orig_ck, &cookie);
			deny(d, NF_STAT_DENY_CONNLIMIT);
		}
	}
}

/*
 * A UDP connect() sends nothing, and glibc's getaddrinfo connects a UDP socket
 * to each address of a name only to sort them (RFC 6724). So a UDP connect
 * the policy refuses succeeds, and its refusal (event and count) waits in
 * udp_refused for the first datagram, which the egress filter drops (the
 * sender gets EPERM). Returns false, and the connect is refused as before,
 * when the socket is not UDP or there is no storage for the refusal.
 */
static __always_inline bool defer_udp(struct bpf_sock *sk, __u32 proto,
				      __u32 type, const struct decision *d,
				      __u8 family, const __u32 *addr, __be16 port)
{
	struct nf_udp_refusal *r;

	if (proto != IPPROTO_UDP)
		return false;
	r = bpf_sk_storage_get(&udp_refused, sk, 0,
			       d->allow ? 0 : BPF_SK_STORAGE_GET_F_CREATE);
	if (!r)
		return false;
	if (d->allow) {
		/* connected again, to an allowed destination */
		r->pending = 0;
		return false;
	}
	event_fill(&r->ev, NF_HOOK_PACKET, d->stat, family, proto, type, addr,
		   port);
	r->pending = 1;
	return true;
}

/*
 * Remember the resolver a DNS socket asked for (family AF_INET: addr[0]) and
 * who asked. Without it replies would come from the filter's address, so a
 * failure refuses the connect or send.
 */
static __always_inline void record_dns(struct bpf_sock_addr *ctx, __u8 family,
				       const __u32 *addr, struct decision *d,
				       __be16 port)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct nf_dns_orig *o;

	o = bpf_sk_storage_get(&dns_sk, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o) {
		deny(d, NF_STAT_DENY_NORECORD);
		return;
	}
	o->family = family;
	o->addr[0] = addr[0];
	if (family == AF_INET6) {
		o->addr[1] = addr[1];
		o->addr[2] = addr[2];
		o->addr[3] = addr[3];
	}
	o->port = port;
	o->filter_addr = d->addr;
	o->filter_port = d->port;
	o->tgid = pid_tgid >> 32;
	o->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/*
 * The record a redirect needs, before the verdict is counted and reported:
 * a redirect that cannot be recorded is one refusal, with its event.
 */
static __always_inline void record(struct bpf_sock_addr *ctx,
				   struct decision *d, __u8 family,
				   const __u32 *addr, __be32 addr4, __be16 port)
{
	if (!d->allow)
		return;
	if (!d->redirect) {
		/* proxy-aware clients hold the proxy's descriptors just the same */
		if (d->stat == NF_STAT_FWD_PROXY && d->max_conns && count_conns)
			record_orig(ctx, d, addr4, port);
		return;
	}
	if (d->dns)
		record_dns(ctx, family, addr, d, port);
	else
		record_orig(ctx, d, addr4, port);
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx)
{
	__be32 addr = ctx->user_ip4;		/* net */
	__be16 port = (__be16)ctx->user_port;	/* net, in the low 16 bits */
	/* whole: 5.10's verifier refuses a read of an unwritten field */
	struct decision d = {};

	decide4(&d, ctx->protocol, addr, port);
	record(ctx, &d, AF_INET, &addr, addr, port);
	if (defer_udp(ctx->sk, ctx->protocol, ctx->type, &d, AF_INET, &addr,
		      port))
		return VERDICT_ALLOW;
	report(&d, NF_HOOK_CONNECT, AF_INET, ctx->protocol, ctx->type, &addr, port);
	if (!d.allow)
		return VERDICT_DENY;
	if (d.redirect) {
		ctx->user_ip4 = d.addr;
		ctx->user_port = d.port;
	}
	return VERDICT_ALLOW;
}

/*
 * IPv6 sockets: a v4-mapped destination gets the IPv4 policy and is
 * redirected to the v4-mapped proxy; native IPv6 is refused, loopback aside.
 * Port 53 of any IPv6 address goes to the v4-mapped DNS filter when the
 * policy has one.
 */
static __always_inline int decide6(struct bpf_sock_addr *ctx, __u8 hook)
{
	bool connecting = hook == NF_HOOK_CONNECT;
	__u32 a[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2],
		       ctx->user_ip6[3] };
	__be16 port = (__be16)ctx->user_port;
	/* read once: the compiler must not address ctx fields by offset */
	__u32 proto = ctx->protocol, type = ctx->type;
	struct bpf_sock *sk = ctx->sk;
	/* whole: 5.10's verifier refuses a read of an unwritten field */
	struct decision d = {};

	if (is_v4mapped(a)) {
		decide4(&d, proto, a[3], port);
		/* a send is redirected to the DNS filter only */
		if (!connecting && d.redirect && !d.dns)
			deny(&d, NF_STAT_DENY_UDP);
	} else if (is_loopback6(a)) {
		/* ::1 is 127.0.0.1 for the policy, never redirected but to DNS */
		decide4(&d, proto, bpf_htonl(IP4(127, 0, 0, 1)), port);
		if (d.redirect && !d.dns)
			deny(&d, NF_STAT_DENY_IPV6);
	} else {
		const struct nf_policy *p;
		__u32 slot;

		d.redirect = false;
		d.dns = false;
		d.events_allowed = false;
		p = policy_in_force(&slot);
		if (!p || (proto != IPPROTO_TCP && proto != IPPROTO_UDP) ||
		    !dns_filter(&d, p, port))
			deny(&d, NF_STAT_DENY_IPV6);
	}
	record(ctx, &d, AF_INET6, a, a[3], port);
	if (connecting && defer_udp(sk, proto, type, &d,
				is_v4mapped(a) ? AF_INET : AF_INET6,
				is_v4mapped(a) ? &a[3] : a, port))
		return VERDICT_ALLOW;
	if (is_v4mapped(a))
		report(&d, hook, AF_INET, proto, type, &a[3], port);
	else
		report(&d, hook, AF_INET6, proto, type, a, port);
	if (!d.allow)
		return VERDICT_DENY;
	if (d.redirect && d.dns) {
		/* to ::ffff:filter, whatever the address asked */
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = d.addr;
		ctx->user_port = d.port;
	} else if (d.redirect) {
		ctx->user_ip6[3] = d.addr;
		ctx->user_port = d.port;
	}
	return VERDICT_ALLOW;
}

SEC("cgroup/connect6")
int connect6(struct bpf_sock_addr *ctx)
{
	return decide6(ctx, NF_HOOK_CONNECT);
}

/* Unconnected UDP sends (sendto, sendmsg, sendmmsg). */
SEC("cgroup/sendmsg4")
int sendmsg4(struct bpf_sock_addr *ctx)
{
	__be32 addr = ctx->user_ip4;		/* net */
	__be16 port = (__be16)ctx->user_port;	/* net */
	/* whole: 5.10's verifier refuses a read of an unwritten field */
	struct decision d = {};

	decide4(&d, ctx->protocol, addr, port);
	/* a send is redirected to the DNS filter only */
	if (d.redirect && !d.dns)
		deny(&d, NF_STAT_DENY_UDP);
	record(ctx, &d, AF_INET, &addr, addr, port);
	report(&d, NF_HOOK_SENDMSG, AF_INET, ctx->protocol, ctx->type, &addr, port);
	if (!d.allow)
		return VERDICT_DENY;
	if (d.redirect) {
		ctx->user_ip4 = d.addr;
		ctx->user_port = d.port;
	}
	return VERDICT_ALLOW;
}

SEC("cgroup/sendmsg6")
int sendmsg6(struct bpf_sock_addr *ctx)
{
	return decide6(ctx, NF_HOOK_SENDMSG);
}

/*
 * On the proxy's cgroup: answer getsockopt(SOL_IP, SO_ORIGINAL_DST) and
 * getsockopt(SOL_IPV6, IP6T_SO_ORIGINAL_DST) for accepted connections. A
 * record is read once and deleted. With no record, an answer the kernel (or an
 * earlier program) already gave stands; otherwise the miss is answered with an
 * address where nothing listens, never with a failure: one failed lookup makes
 * Squid 5.7 stop accepting on that port.
 */
SEC("cgroup/getsockopt")
int orig_dst(struct bpf_sockopt *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct nf_orig ans, *o;
	struct nf_tuple t;
	int level = ctx->level;

	if (ctx->optname != NF_SO_ORIGINAL_DST ||
	    (level != NF_SOL_IP && level != NF_SOL_IPV6))
		return 1;
	if (!sk || sk->protocol != IPPROTO_TCP)
		return 1;

	t.client_addr = sk->dst_ip4;			/* net */
	t.client_port = sk->dst_port;			/* net */
	t.proxy_addr = sk->src_ip4;			/* net */
	t.proxy_port = bpf_htons(sk->src_port);		/* src_port is host order */
	o = bpf_map_lookup_elem(&orig4, &t);
	if (o) {
		ans = *o;
		bpf_map_delete_elem(&orig4, &t);
		count(NF_STAT_ORIG_HIT);
	} else if (ctx->retval == 0) {
		return 1;
	} else {
		ans.addr = bpf_htonl(NF_MISS_ADDR);
		ans.port = bpf_htons(NF_MISS_PORT);
		ans.flags = 0;
		count(NF_STAT_ORIG_MISS);
	}

	if (level == NF_SOL_IP) {
		struct sockaddr_in *sin = ctx->optval;

		if ((void *)(sin + 1) > ctx->optval_end)
			return 1;
		__builtin_memset(sin, 0, sizeof(*sin));
		sin->sin_family = AF_INET;
		sin->sin_port = ans.port;
		sin->sin_addr.s_addr = ans.addr;
		ctx->optlen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = ctx->optval;

		if ((void *)(sin6 + 1) > ctx->optval_end)
			return 1;
		__builtin_memset(sin6, 0, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = ans.port;
		sin6->sin6_addr.in6_u.u6_addr32[2] = bpf_htonl(0xffff);
		sin6->sin6_addr.in6_u.u6_addr32[3] = ans.addr;
		ctx->optlen = sizeof(*sin6);
	}
	ctx->retval = 0;
	return 1;
}

/*
 * getpeername() on a redirected socket reports what the application asked
 * for, not the proxy.
 */
/*
 * The resolver a DNS socket asked for, in place of the filter's address
 * (addr: the address the kernel reports, net order). getpeername on a
 * connected socket, and the source of every reply (recvmsg).
 */
static __always_inline struct nf_orig *orig_of(void *ctx)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);

	return bpf_map_lookup_elem(&orig_ck, &cookie);
}

static __always_inline void dns_source4(struct bpf_sock_addr *ctx)
{
	struct nf_dns_orig *o = bpf_sk_storage_get(&dns_sk, ctx->sk, 0, 0);

	if (o && o->family == AF_INET && ctx->user_ip4 == o->filter_addr &&
	    (__be16)ctx->user_port == o->filter_port) {
		ctx->user_ip4 = o->addr[0];
		ctx->user_port = o->port;
	}
}

static __always_inline void dns_source6(struct bpf_sock_addr *ctx)
{
	struct nf_dns_orig *o = bpf_sk_storage_get(&dns_sk, ctx->sk, 0, 0);

	if (!o || ctx->user_ip6[0] != 0 || ctx->user_ip6[1] != 0 ||
	    ctx->user_ip6[2] != bpf_htonl(0xffff) ||
	    ctx->user_ip6[3] != o->filter_addr ||
	    (__be16)ctx->user_port != o->filter_port)
		return;
	if (o->family == AF_INET6) {
		ctx->user_ip6[0] = o->addr[0];
		ctx->user_ip6[1] = o->addr[1];
		ctx->user_ip6[2] = o->addr[2];
		ctx->user_ip6[3] = o->addr[3];
	} else {
		/* sendto(::ffff:a.b.c.d) on an IPv6 socket ran sendmsg4 */
		ctx->user_ip6[3] = o->addr[0];
	}
	ctx->user_port = o->port;
}

SEC("cgroup/getpeername4")
int getpeername4(struct bpf_sock_addr *ctx)
{
	struct nf_orig *o = orig_of(ctx);

	if (o && (o->flags & NF_SK_REDIRECTED)) {
		ctx->user_ip4 = o->addr;
		ctx->user_port = o->port;
	} else {
		dns_source4(ctx);
	}
	return 1;
}

SEC("cgroup/getpeername6")
int getpeername6(struct bpf_sock_addr *ctx)
{
	struct nf_orig *o = orig_of(ctx);

	/* a redirected IPv6 socket went to a v4-mapped address: keep ::ffff: */
	if (o && (o->flags & NF_SK_REDIRECTED)) {
		ctx->user_ip6[3] = o->addr;
		ctx->user_port = o->port;
	} else {
		dns_source6(ctx);
	}
	return 1;
}

/*
 * UDP replies from the DNS filter appear to come from the resolver asked,
 * so that resolvers that check the source (libc, Go, Node, Python) take them.
 */
SEC("cgroup/recvmsg4")
int recvmsg4(struct bpf_sock_addr *ctx)
{
	dns_source4(ctx);
	return 1;
}

SEC("cgroup/recvmsg6")
int recvmsg6(struct bpf_sock_addr *ctx)
{
	dns_source6(ctx);
	return 1;
}

/* TCP over TCP, UDP over UDP: the only inet sockets the policy covers. */
static __always_inline bool socket_covered(__u32 type, __u32 proto)
{
	return (type == SOCK_STREAM && proto == IPPROTO_TCP) ||
	       (type == SOCK_DGRAM && proto == IPPROTO_UDP);
}

/*
 * inet and inet6 socket creation: raw sockets, ICMP ping sockets, MPTCP,
 * SCTP, UDP-Lite and anything else that is not plain TCP or UDP are refused
 * (socket() fails with EPERM).
 */
SEC("cgroup/sock_create")
int sock_create(struct bpf_sock *sk)
{
	if (socket_covered(sk->type, sk->protocol))
		return VERDICT_ALLOW;
	count(NF_STAT_DENY_SOCKET);
	emit(NF_HOOK_SOCKET, NF_STAT_DENY_SOCKET, sk->family, sk->protocol,
	     sk->type, NULL, 0);
	return VERDICT_DENY;
}

/*
 * A socket with a record is released (closed by its last holder, the
 * process killed, whatever became of the connection): the record goes, and a
 * counted one no longer counts against max_conns.
 */
SEC("cgroup/sock_release")
int sock_release(struct bpf_sock *sk)
{
	struct nf_orig *o;
	__u32 zero = 0;
	__u64 cookie, *n;

	/* records are made for TCP connects only: DNS and other UDP skip */
	if (sk->protocol != IPPROTO_TCP)
		return 1;
	cookie = bpf_get_socket_cookie(sk);
	o = bpf_map_lookup_elem(&orig_ck, &cookie);
	if (!o)
		return 1;
	if (o->flags & NF_SK_COUNTED) {
		n = bpf_map_lookup_elem(&conns, &zero);
		if (n)
			__sync_fetch_and_add(n, -1);
	}
	bpf_map_delete_elem(&orig_ck, &cookie);
	return 1;
}

#define SOCKOPT_PAGE	4096

static __always_inline bool mcast_option(int level, int name)
{
	if (name >= NF_MCAST_JOIN_GROUP && name <= NF_MCAST_MSFILTER)
		return level == NF_SOL_IP || level == NF_SOL_IPV6;
	if (level == NF_SOL_IP)
		return name >= NF_IP_ADD_MEMBERSHIP && name <= NF_MCAST_MSFILTER;
	if (level == NF_SOL_IPV6)
		return name == NF_IPV6_ADD_MEMBERSHIP ||
		       name == NF_IPV6_DROP_MEMBERSHIP ||
		       name == NF_IPV6_JOIN_ANYCAST ||
		       name == NF_IPV6_LEAVE_ANYCAST;
	return false;
}

/*
 * setsockopt() (io_uring's too): multicast and anycast group joins are
 * refused with EPERM. A join makes the kernel send IGMP/MLD membership
 * reports carrying group addresses the agent chose, from no socket of its
 * own, so no other hook would see those bytes leave.
 */
SEC("cgroup/setsockopt")
int mcast_join(struct bpf_sockopt *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	int level = ctx->level, name = ctx->optname;

	if (mcast_option(level, name)) {
		count(NF_STAT_DENY_MCAST);
		emit_as(NF_HOOK_SETSOCKOPT, NF_STAT_DENY_MCAST,
			sk ? sk->family : 0, (__u16)level, (__u16)name, NULL, 0,
			sockopt_task);
		return VERDICT_DENY;
	}
	/*
	 * The kernel gives us at most a page of optval; before Linux 6.5 a
	 * longer option fails with EFAULT unless optlen is set to 0 (which
	 * means: the kernel uses the caller's buffer unchanged).
	 */
	if (ctx->optlen > SOCKOPT_PAGE)
		ctx->optlen = 0;
	return 1;
}

#define AF_UNIX		1
#define AF_NETLINK	16
#define AF_ALG		38
#define SOCK_TYPE_MASK	0xf

/*
 * Every other address family (packet, vsock, xdp, bluetooth, can, ...) at
 * the LSM hook, which sees all families; only where the BPF LSM is active
 * (optional: the loader attaches it when it can). Returns 1 to allow.
 */
SEC("lsm_cgroup/socket_create")
int BPF_PROG(socket_create, int family, int type, int protocol, int kern)
{
	if (kern)
		return 1;
	switch (family) {
	case AF_UNIX:
	case AF_NETLINK:
	case AF_ALG:
	case AF_INET:
	case AF_INET6:	/* their kinds: sock_create */
		return 1;
	}
	count(NF_STAT_DENY_SOCKET);
	emit(NF_HOOK_SOCKET, NF_STAT_DENY_SOCKET, family, protocol,
	     type & SOCK_TYPE_MASK, NULL, 0);
	return 0;
}

#define LOOPBACK_IFINDEX 1	/* "lo", in every network namespace */
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define TCP_LISTEN	10
#define IP_MF		0x2000
#define IP_OFFSET	0x1fff

/* Destinations a packet of the agent may have: the allowed paths. */
static __always_inline bool path_allowed(const struct nf_policy *p, __u32 slot,
					 __u8 proto, __be32 daddr, __be16 dport)
{
	__u32 a = bpf_ntohl(daddr);
	bool loopback = is_loopback4(a);

	if (loopback && p->loopback == NF_LOOPBACK_ALLOW)
		return true;
	if (p->flags & NF_F_DNS_PROXY) {
		/* every query went to the filter: none to a resolver */
		if (daddr == p->dns_proxy_addr && dport == p->dns_proxy_port)
			return true;
	} else if (dport == bpf_htons(NF_DNS_PORT) && is_resolver(p, daddr)) {
		return true;
	}
	if (proto != IPPROTO_TCP)
		return false;
	if ((daddr == p->proxy_addr && dport == p->proxy_port) ||
	    ((p->flags & NF_F_TLS_PROXY) && daddr == p->tls_proxy_addr &&
	     dport == p->tls_proxy_port) ||
	    ((p->flags & NF_F_FWD_PROXY) && daddr == p->fwd_proxy_addr &&
	     dport == p->fwd_proxy_port))
		return true;
	return is_bypass(slot, loopback ? bpf_htonl(IP4(127, 0, 0, 1)) : daddr,
			 dport);
}

#define TCP_FLAG_SYN	0x02
#define TCP_FLAG_ACK	0x10

/* The first 14 bytes of a TCP header: ports, sequence numbers, flags. */
struct tcp_head {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u8 doff_res;
	__u8 flags;
};

static __always_inline bool is_syn(const struct tcp_head *th)
{
	return (th->flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

static __always_inline void flow_key(struct nf_flow *k, __u32 family,
				     const __u32 *local, const __u32 *remote,
				     __be16 lport, __be16 rport)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->family = family;
	k->local[0] = local[0];
	k->remote[0] = remote[0];
	if (family == AF_INET6) {
		for (int i = 1; i < 4; i++) {
			k->local[i] = local[i];
			k->remote[i] = remote[i];
		}
	}
	k->local_port = lport;
	k->remote_port = rport;
}

/*
 * Replies of accepted TCP connections (and the packets of listeners) leave.
 * A listener's SYN-ACK, which the kernel sends only in answer to a SYN it
 * received, leaves the 4-tuple of the socket that accept() will return in
 * passive_syn; that socket's first packet moves the mark into its socket
 * storage (passive_sk), which lives as long as the socket does: its FIN and
 * retransmissions after close() still leave.
 */
static __always_inline bool passive_reply(struct __sk_buff *skb, __u32 family,
					  const __u32 *saddr,
					  const __u32 *daddr,
					  const struct tcp_head *th)
{
	struct bpf_sock *sk = skb->sk;
	struct nf_flow k;

	if (!sk)
		return false;
	sk = bpf_sk_fullsock(sk);
	if (!sk || sk->protocol != IPPROTO_TCP)
		return false;
	if (sk->state == TCP_LISTEN) {
		__u8 one = 1;

		if ((th->flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) ==
		    (TCP_FLAG_SYN | TCP_FLAG_ACK)) {
			flow_key(&k, family, saddr, daddr, th->source, th->dest);
			bpf_map_update_elem(&passive_syn, &k, &one, BPF_ANY);
		}
		return true;
	}
	if (bpf_sk_storage_get(&passive_sk, sk, 0, 0))
		return true;
	flow_key(&k, family, saddr, daddr, th->source, th->dest);
	if (!bpf_map_lookup_elem(&passive_syn, &k))
		return false;
	if (bpf_sk_storage_get(&passive_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE))
		bpf_map_delete_elem(&passive_syn, &k);
	return true;
}

/*
 * The SYN of a redirected connection: copy its record to the 4-tuple the
 * proxy will see, before the proxy can accept it. Once per connect: a
 * retransmitted SYN finds the record there already (the proxy cannot have
 * read it before the handshake completes).
 */
static __always_inline void store_orig(struct __sk_buff *skb,
				       const struct iphdr *iph,
				       const struct tcp_head *th)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct nf_orig ans, *o;
	struct nf_tuple t;

	o = bpf_map_lookup_elem(&orig_ck, &cookie);
	if (!o || (o->flags & (NF_SK_REDIRECTED | NF_SK_STORED)) !=
			  NF_SK_REDIRECTED)
		return;
	t.client_addr = iph->saddr;
	t.client_port = th->source;
	t.proxy_addr = iph->daddr;
	t.proxy_port = th->dest;
	ans = *o;
	ans.flags = 0;
	if (bpf_map_update_elem(&orig4, &t, &ans, BPF_ANY)) {
		count(NF_STAT_ORIG_STORE_FAIL);
		return;
	}
	o->flags |= NF_SK_STORED;
	count(NF_STAT_ORIG_STORED);
}

static __always_inline bool is_intercept(const struct nf_policy *p,
					 __be32 daddr, __be16 dport)
{
	return (daddr == p->proxy_addr && dport == p->proxy_port) ||
	       ((p->flags & NF_F_TLS_PROXY) && daddr == p->tls_proxy_addr &&
		dport == p->tls_proxy_port);
}

/*
 * A reply of an accepted connection: with NF_F_INBOUND_LOCAL (run, whose
 * command shares the host's namespace) only to a local peer (it leaves by
 * lo), never to whoever reached the host from outside.
 */
static __always_inline bool inbound_ok(const struct nf_policy *p,
				       const struct __sk_buff *skb)
{
	return !(p->flags & NF_F_INBOUND_LOCAL) ||
	       skb->ifindex == LOOPBACK_IFINDEX;
}

static __always_inline int drop(struct __sk_buff *skb)
{
	count(NF_STAT_SKB_DROP);
	return 0;
}

/*
 * A dropped packet whose destination is known: counted, and an event, at
 * most NF_DROP_EVENTS_PER_SEC per CPU and window. addr: 4 bytes (AF_INET) or
 * 16 (AF_INET6). The cgroup and uid are the socket's; pid and comm stay
 * empty (a retransmission leaves from a timer, in no sender's context).
 */
static __always_inline int drop_event(struct __sk_buff *skb, __u8 family,
				      __u16 proto, const __u32 *addr,
				      __be16 port)
{
	__u64 now = bpf_ktime_get_ns();
	struct nf_event *e;
	struct nf_rate *r;
	__u32 zero = 0;

	count(NF_STAT_SKB_DROP);
	r = bpf_map_lookup_elem(&drop_rate, &zero);
	if (!r)
		return 0;
	if (r->window != now >> 30) {
		r->window = now >> 30;
		r->n = 0;
	}
	if (r->n >= NF_DROP_EVENTS_PER_SEC) {
		count(NF_STAT_EVENT_SUPPRESSED);
		return 0;
	}
	r->n++;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(NF_STAT_EVENT_LOST);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->cgroup_id = bpf_skb_cgroup_id(skb);
	e->uid = bpf_get_socket_uid(skb);
	e->stat = NF_STAT_SKB_DROP;
	e->hook = NF_HOOK_PACKET;
	e->family = family;
	e->proto = proto;
	e->port = port;
	__builtin_memcpy(e->addr, addr, 4);
	if (family == AF_INET6)
		__builtin_memcpy(e->addr + 4, addr + 1, 12);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/*
 * A dropped UDP datagram: send the deferred refusal of its socket, once;
 * without one, the drop's own event.
 */
static __always_inline int drop_udp(struct __sk_buff *skb, __u8 family,
				    const __u32 *addr, __be16 port)
{
	struct bpf_sock *sk = skb->sk;
	struct nf_udp_refusal *r;
	struct nf_event *e;

	if (sk)
		sk = bpf_sk_fullsock(sk);
	r = sk && sk->protocol == IPPROTO_UDP ?
		    bpf_sk_storage_get(&udp_refused, sk, 0, 0) : NULL;
	if (!r || !r->pending)
		return drop_event(skb, family, IPPROTO_UDP, addr, port);
	/* two CPUs sending at once may both get here: at worst two events */
	r->pending = 0;
	count(r->ev.stat);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		__builtin_memcpy(e, &r->ev, sizeof(*e));
		e->ts_ns = bpf_ktime_get_ns();
		bpf_ringbuf_submit(e, 0);
	} else {
		count(NF_STAT_EVENT_LOST);
	}
	return drop(skb);
}

/*
 * Every packet the agent's sockets send: whatever slipped past the socket
 * hooks (a socket made before the policy, a path the hooks do not see) still
 * does not leave unless its destination is on an allowed path.
 */
SEC("cgroup_skb/egress")
int egress(struct __sk_buff *skb)
{
	const struct nf_policy *p;
	__u32 slot;

	p = policy_in_force(&slot);
	if (!p)
		return drop(skb);

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct tcp_head th;	/* UDP: the ports only */
		struct iphdr iph;

		if (bpf_skb_load_bytes(skb, 0, &iph, sizeof(iph)))
			return drop(skb);
		/*
		 * loopback leaves by lo only: an agent with NET_ADMIN could
		 * route 127.0.0.0/8 out to a host with route_localnet set
		 */
		if (is_loopback4(bpf_ntohl(iph.daddr)) &&
		    skb->ifindex != LOOPBACK_IFINDEX)
			return drop_event(skb, AF_INET, iph.protocol,
					  &iph.daddr, 0);
		if (iph.frag_off & bpf_htons(IP_OFFSET)) {
			/* no ports in later fragments: the address decides */
			if (path_allowed(p, slot, IPPROTO_UDP, iph.daddr,
					 bpf_htons(NF_DNS_PORT)) ||
			    iph.daddr == p->proxy_addr ||
			    ((p->flags & NF_F_DNS_PROXY) &&
			     iph.daddr == p->dns_proxy_addr))
				return 1;
			return drop_event(skb, AF_INET, iph.protocol,
					  &iph.daddr, 0);
		}
		if (iph.protocol == IPPROTO_UDP) {
			if (bpf_skb_load_bytes(skb, iph.ihl * 4, &th, 4))
				return drop(skb);
			if (path_allowed(p, slot, IPPROTO_UDP, iph.daddr, th.dest))
				return 1;
			return drop_udp(skb, AF_INET, &iph.daddr, th.dest);
		}
		if (iph.protocol != IPPROTO_TCP) {
			if (is_loopback4(bpf_ntohl(iph.daddr)) &&
			    p->loopback == NF_LOOPBACK_ALLOW)
				return 1;
			return drop_event(skb, AF_INET, iph.protocol,
					  &iph.daddr, 0);
		}
		if (bpf_skb_load_bytes(skb, iph.ihl * 4, &th, sizeof(th)))
			return drop(skb);
		if (path_allowed(p, slot, IPPROTO_TCP, iph.daddr, th.dest)) {
			if (is_syn(&th) && is_intercept(p, iph.daddr, th.dest))
				store_orig(skb, &iph, &th);
			return 1;
		}
		if (inbound_ok(p, skb) &&
		    passive_reply(skb, AF_INET, &iph.saddr, &iph.daddr, &th))
			return 1;
		return drop_event(skb, AF_INET, IPPROTO_TCP, &iph.daddr,
				  th.dest);
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6h;
		__u32 *d;

		if (bpf_skb_load_bytes(skb, 0, &ip6h, sizeof(ip6h)))
			return drop(skb);
		d = ip6h.daddr.in6_u.u6_addr32;
		if (is_loopback6(d) && p->loopback == NF_LOOPBACK_ALLOW &&
		    skb->ifindex == LOOPBACK_IFINDEX)
			return 1;
		if (ip6h.nexthdr == IPPROTO_UDP) {
			__be16 ports[2];

			if (bpf_skb_load_bytes(skb, sizeof(ip6h), ports,
					       sizeof(ports)))
				return drop(skb);
			return drop_udp(skb, AF_INET6, d, ports[1]);
		}
		if (ip6h.nexthdr == IPPROTO_TCP) {
			struct tcp_head th;

			if (bpf_skb_load_bytes(skb, sizeof(ip6h), &th, sizeof(th)))
				return drop(skb);
			if (inbound_ok(p, skb) &&
			    passive_reply(skb, AF_INET6, ip6h.saddr.in6_u.u6_addr32,
					  d, &th))
				return 1;
			return drop_event(skb, AF_INET6, IPPROTO_TCP, d, th.dest);
		}
		return drop_event(skb, AF_INET6, ip6h.nexthdr, d, 0);
	}
	return 1;
}

#define DNS_HDR_LEN	12
#define DNS_QR		0x8000	/* a response */
#define DNS_RCODE	0x000f
#define DNS_REFUSED	5

/*
 * UDP and TCP replies the agent receives from the DNS filter: a REFUSED one
 * is a verdict event with the question it echoes (as on the wire: user space
 * decodes it), and the sender recorded on the socket (the reply arrives
 * outside the sender's context). off: where the IP payload starts.
 */
static __always_inline void dns_refused(struct __sk_buff *skb,
					const struct nf_policy *p,
					const struct iphdr *iph, __u32 off)
{
	struct nf_dns_event *e;
	struct nf_dns_orig *o;
	struct bpf_sock *sk;
	struct tcphdr th;
	__be16 hdr[4 + DNS_HDR_LEN / 2];	/* UDP, then DNS header */
	__be16 thdr[1 + DNS_HDR_LEN / 2];	/* TCP: length, then DNS header */
	__u32 len, n;
	__u16 flags;

	if (iph->saddr != p->dns_proxy_addr ||
	    (iph->frag_off & bpf_htons(IP_OFFSET | IP_MF)))
		return;
	if (iph->protocol == IPPROTO_TCP) {
		/*
		 * The first message of a segment that starts with one (the
		 * filter's replies are small: one segment each); a segment
		 * that continues a message rarely looks like a header of one
		 * question with the response bit and REFUSED.
		 */
		if (bpf_skb_load_bytes(skb, off, &th, sizeof(th)) ||
		    th.source != p->dns_proxy_port)
			return;
		off += th.doff * 4;
		if (bpf_skb_load_bytes(skb, off, thdr, sizeof(thdr)) ||
		    bpf_ntohs(thdr[0]) < DNS_HDR_LEN || bpf_ntohs(thdr[3]) != 1)
			return;
		flags = bpf_ntohs(thdr[2]);
		off += sizeof(thdr);
	} else {
		if (bpf_skb_load_bytes(skb, off, hdr, sizeof(hdr)) ||
		    hdr[0] != p->dns_proxy_port)
			return;
		flags = bpf_ntohs(hdr[5]);	/* after the UDP header, the id */
		off += sizeof(hdr);
	}
	if (!(flags & DNS_QR) || (flags & DNS_RCODE) != DNS_REFUSED)
		return;
	count(NF_STAT_DNS_REFUSED);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(NF_STAT_EVENT_LOST);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	len = skb->len > off ? skb->len - off : 0;
	if (len > NF_DNS_QUESTION_MAX)
		len = NF_DNS_QUESTION_MAX;
	/*
	 * Constant-size loads only (older verifiers reject a variable
	 * length): 16 bytes at a time, then the tail a byte at a time.
	 */
	n = 0;
	for (int k = 0; k < NF_DNS_QUESTION_MAX / 16; k++) {
		if (n + 16 > len ||
		    bpf_skb_load_bytes(skb, off + n, e->question + (n & 0xf0), 16))
			break;
		n += 16;
	}
	for (int k = 0; k < 15; k++) {
		if (n >= len ||
		    bpf_skb_load_bytes(skb, off + n, e->question + (n & 0xff), 1))
			break;
		n++;
	}
	e->len = n;
	e->rcode = DNS_REFUSED;
	e->ev.ts_ns = bpf_ktime_get_ns();
	e->ev.cgroup_id = bpf_skb_cgroup_id(skb);
	e->ev.stat = NF_STAT_DNS_REFUSED;
	e->ev.hook = NF_HOOK_DNS;
	e->ev.proto = iph->protocol;
	e->ev.family = AF_INET;
	e->ev.port = bpf_htons(NF_DNS_PORT);
	sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	o = sk ? bpf_sk_storage_get(&dns_sk, sk, 0, 0) : NULL;
	if (o) {
		e->ev.tgid = o->tgid;
		e->ev.pid = o->tgid;
		e->ev.uid = o->uid;
		e->ev.family = o->family;
		e->ev.port = o->port;
		__builtin_memcpy(e->ev.addr, o->addr, 16);
		__builtin_memcpy(e->ev.comm, o->comm, sizeof(e->ev.comm));
	}
	bpf_ringbuf_submit(e, 0);
}

/*
 * Every packet the agent's sockets receive: the DNS filter's refusals become
 * events. Never drops.
 */
SEC("cgroup_skb/ingress")
int ingress(struct __sk_buff *skb)
{
	const struct nf_policy *p;
	struct iphdr iph;
	__u32 slot;

	/* a policy without a DNS filter: one look at the policy, no load */
	p = policy_in_force(&slot);
	if (!p || !(p->flags & NF_F_DNS_PROXY) ||
	    skb->protocol != bpf_htons(ETH_P_IP))
		return 1;
	if (!bpf_skb_load_bytes(skb, 0, &iph, sizeof(iph)) &&
	    (iph.protocol == IPPROTO_TCP || iph.protocol == IPPROTO_UDP))
		dns_refused(skb, p, &iph, iph.ihl * 4);
	return 1;
}

#define ETH_HLEN	14
#define ETH_P_ARP	0x0806
#define TC_ACT_OK	0
#define TC_ACT_SHOT	2
#define TCP_NEW_SYN_RECV 12

static __always_inline bool agent_addr(const struct nf_policy *p, __be32 a)
{
	for (int i = 0; i < NF_MAX_AGENT_ADDRS; i++) {
		if (i >= (int)p->nr_agent_addrs)
			break;
		if (p->agent_addrs[i] == a)
			return true;
	}
	return false;
}

/*
 * A TCP segment of a connection a host socket already has (the host
 * connected to the agent, or accepted from it on an allowed path): the host
 * namespace's socket for the segment's 4-tuple exists and is not a listener.
 */
static __always_inline bool host_conn(struct __sk_buff *skb, const struct iphdr *iph,
				      const __be16 *ports)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	bool ok;

	t.ipv4.saddr = iph->saddr;
	t.ipv4.daddr = iph->daddr;
	t.ipv4.sport = ports[0];
	t.ipv4.dport = ports[1];
	sk = bpf_skc_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return false;
	ok = sk->state != TCP_LISTEN && sk->state != TCP_NEW_SYN_RECV;
	bpf_sk_release(sk);
	return ok;
}

static __always_inline int veth_drop(void)
{
	count(NF_STAT_VETH_DROP);
	return TC_ACT_SHOT;
}

/*
 * On the host side of the agent's veth (tcx or tc clsact ingress): every
 * frame the agent's network namespace sends, raw and packet sockets
 * included, which no cgroup hook sees. Passes ARP, and IPv4 from one of the
 * agent's own addresses to an allowed path (proxy ports, bypass pairs,
 * resolvers on port 53) or on a TCP connection a host socket has; drops the
 * rest: spoofed sources, other destinations, IPv6 (the policy refuses
 * native IPv6), IGMP, anything else.
 */
/*
 * An ARP frame speaks for one of the agent's own addresses only (or for
 * 0.0.0.0, a probe): a reply naming another machine of the link (a
 * neighbour container, Squid's) would have the host, and a bridge's other
 * ports, send that machine's traffic to the agent. Ethernet/IPv4 ARP only.
 */
static __always_inline bool arp_own(struct __sk_buff *skb,
				    const struct nf_policy *p)
{
	__u8 h[8 + 6 + 4];	/* header, sender MAC, sender IPv4 (net) */
	__be32 sip;

	if (bpf_skb_load_bytes(skb, ETH_HLEN, h, sizeof(h)))
		return false;
	/* hardware 1 (Ethernet), protocol 0x0800, lengths 6 and 4 */
	if (h[0] || h[1] != 1 || h[2] != 0x08 || h[3] || h[4] != 6 || h[5] != 4)
		return false;
	__builtin_memcpy(&sip, h + 14, sizeof(sip));
	return !sip || agent_addr(p, sip);
}

SEC("tc")
int veth_ingress(struct __sk_buff *skb)
{
	/* read once: the compiler must not address ctx fields by offset */
	__u32 proto = skb->protocol;
	const struct nf_policy *p;
	struct iphdr iph;
	__be16 ports[2];
	__u32 slot;

	p = policy_in_force(&slot);
	if (p && proto == bpf_htons(ETH_P_ARP) && arp_own(skb, p))
		return TC_ACT_OK;
	if (!p || proto != bpf_htons(ETH_P_IP))
		return veth_drop();
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &iph, sizeof(iph)) ||
	    iph.version != 4 || iph.ihl < 5)
		return veth_drop();
	if (!agent_addr(p, iph.saddr) || is_loopback4(bpf_ntohl(iph.daddr)))
		return veth_drop();
	if (iph.frag_off & bpf_htons(IP_OFFSET)) {
		/* no ports in later fragments: the address decides */
		if (path_allowed(p, slot, IPPROTO_UDP, iph.daddr,
				 bpf_htons(NF_DNS_PORT)) ||
		    iph.daddr == p->proxy_addr)
			return TC_ACT_OK;
		return veth_drop();
	}
	if (iph.protocol != IPPROTO_TCP && iph.protocol != IPPROTO_UDP)
		return veth_drop();
	if (bpf_skb_load_bytes(skb, ETH_HLEN + iph.ihl * 4, ports, sizeof(ports)))
		return veth_drop();
	if (path_allowed(p, slot, iph.protocol, iph.daddr, ports[1]))
		return TC_ACT_OK;
	if (iph.protocol == IPPROTO_TCP && host_conn(skb, &iph, ports))
		return TC_ACT_OK;
	return veth_drop();
}
