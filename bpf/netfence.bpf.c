// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfence: egress policy for a cgroup v2, enforced at the socket layer.
 *
 * Agent cgroup: connect4/connect6 decide every TCP and UDP connect (redirect
 * to the proxy, bypass, or refuse), sendmsg4/sendmsg6 every unconnected UDP
 * send, and sockops moves the original destination of a redirected socket to
 * a key the proxy can see once the local port is known.
 *
 * Proxy cgroup: getsockopt answers SO_ORIGINAL_DST from those records.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
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
 * Remember where a redirected socket wanted to go. Without a record the proxy
 * could not serve the connection, so a failure refuses the connect.
 */
static __always_inline int record_orig(struct bpf_sock_addr *ctx, __be32 addr,
				       __be16 port)
{
	struct nf_orig *o;

	o = bpf_sk_storage_get(&orig_sk, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o) {
		count(NF_STAT_DENY_NORECORD);
		return -1;
	}
	o->addr = addr;
	o->port = port;
	return 0;
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx)
{
	__be32 addr = ctx->user_ip4;		/* net */
	__be16 port = (__be16)ctx->user_port;	/* net, in the low 16 bits */
	struct decision d;

	decide4(&d, ctx->protocol, addr, port);
	count(d.stat);
	if (!d.allow)
		return VERDICT_DENY;
	if (d.redirect) {
		if (record_orig(ctx, addr, port))
			return VERDICT_DENY;
		ctx->user_ip4 = d.addr;
		ctx->user_port = d.port;
	}
	return VERDICT_ALLOW;
}

/*
 * IPv6 sockets: a v4-mapped destination gets the IPv4 policy and is
 * redirected to the v4-mapped proxy; native IPv6 is refused, loopback aside.
 */
static __always_inline int decide6(struct bpf_sock_addr *ctx, bool record)
{
	__u32 a[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2],
		       ctx->user_ip6[3] };
	__be16 port = (__be16)ctx->user_port;
	struct decision d;

	if (is_v4mapped(a)) {
		decide4(&d, ctx->protocol, a[3], port);
	} else if (is_loopback6(a)) {
		/* ::1 is 127.0.0.1 for the policy, but never redirected */
		decide4(&d, ctx->protocol, bpf_htonl(IP4(127, 0, 0, 1)), port);
		if (d.redirect)
			deny(&d, NF_STAT_DENY_IPV6);
	} else {
		deny(&d, NF_STAT_DENY_IPV6);
		d.redirect = false;
	}
	count(d.stat);
	if (!d.allow)
		return VERDICT_DENY;
	if (d.redirect) {
		if (!record || record_orig(ctx, a[3], port))
			return VERDICT_DENY;
		ctx->user_ip6[3] = d.addr;
		ctx->user_port = d.port;
	}
	return VERDICT_ALLOW;
}

SEC("cgroup/connect6")
int connect6(struct bpf_sock_addr *ctx)
{
	return decide6(ctx, true);
}

/* Unconnected UDP sends (sendto, sendmsg, sendmmsg). */
SEC("cgroup/sendmsg4")
int sendmsg4(struct bpf_sock_addr *ctx)
{
	struct decision d;

	decide4(&d, ctx->protocol, ctx->user_ip4, (__be16)ctx->user_port);
	count(d.stat);
	/* UDP is never redirected: DNS to an allowed resolver or nothing */
	return d.allow && !d.redirect ? VERDICT_ALLOW : VERDICT_DENY;
}

SEC("cgroup/sendmsg6")
int sendmsg6(struct bpf_sock_addr *ctx)
{
	return decide6(ctx, false);
}

/*
 * Once the local port is bound (TCP_CONNECT_CB comes before the SYN is sent),
 * copy a redirected socket's record to the 4-tuple the proxy will see. Every
 * other callback and every socket without a record leaves at the first test.
 */
SEC("sockops")
int sockops_orig(struct bpf_sock_ops *ctx)
{
	struct bpf_sock *sk;
	struct nf_tuple t;
	struct nf_orig *o;

	if (ctx->op != BPF_SOCK_OPS_TCP_CONNECT_CB)
		return 1;
	sk = ctx->sk;
	if (!sk)
		return 1;
	o = bpf_sk_storage_get(&orig_sk, sk, 0, 0);
	if (!o)
		return 1;

	t.client_addr = sk->src_ip4;			/* net */
	t.client_port = bpf_htons(sk->src_port);	/* src_port is host order */
	t.proxy_addr = sk->dst_ip4;			/* net */
	t.proxy_port = sk->dst_port;			/* net */
	if (bpf_map_update_elem(&orig4, &t, o, BPF_ANY))
		count(NF_STAT_ORIG_STORE_FAIL);
	else
		count(NF_STAT_ORIG_STORED);
	return 1;
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
