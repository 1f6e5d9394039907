/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * netfence ABI: the contract between the BPF programs (bpf/) and the loader
 * (user/). Map keys and values, verdicts, reasons and limits live here and
 * nowhere else.
 *
 * Byte order is stated at every address and port field. "net" means network
 * byte order (as on the wire and in struct sockaddr_in), "host" means the
 * CPU's order.
 */
#ifndef NETFENCE_H
#define NETFENCE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Limits. */
#define NF_MAX_RESOLVERS	8	/* allowed DNS servers per policy */
#define NF_MAX_AGENT_ADDRS	8	/* agent addresses the veth filter knows */
#define NF_PORT_BITMAP_BYTES	8192	/* one bit per TCP/UDP port */
#define NF_ORIG_MAX_ENTRIES	65536	/* records awaiting the proxy, all policies */
#define NF_SK_RECORDS		16384	/* open redirected/accepted sockets, per policy */
#define NF_BYPASS_MIN_ENTRIES	16	/* smallest bypass map the loader creates */
#define NF_DNS_PORT		53

/*
 * The double-buffered policy: each agent cgroup has two policy slots and one
 * "state" word. The loader writes the inactive slot completely, then flips
 * the state with one store, so every hook sees either the whole old policy or
 * the whole new one. State 0 (what a new map holds) is the closed gate: every
 * hook refuses. State N (1..NF_GENERATIONS) means slot N - 1 is in force.
 */
#define NF_GENERATIONS		2
#define NF_GATE_CLOSED		0

/* How destinations in 127.0.0.0/8, 0.0.0.0 and ::1 are treated. */
enum nf_loopback {
	/* The agent has its own network namespace: loopback is its own. */
	NF_LOOPBACK_ALLOW = 0,
	/* Loopback is the host: only the proxy and allowed host ports. */
	NF_LOOPBACK_HOST = 1,
};

/* Policy flags (struct nf_policy.flags). */
#define NF_F_TLS_PROXY		(1u << 0)	/* tls_proxy_* is set */
#define NF_F_FWD_PROXY		(1u << 1)	/* fwd_proxy_* is set */
#define NF_F_EVENTS_ALLOWED	(1u << 2)	/* events for allowed connects too */
#define NF_F_DNS_PROXY		(1u << 3)	/* dns_proxy_*: all port-53 traffic there */
#define NF_F_INBOUND_LOCAL	(1u << 4)	/* accepted connections answer local peers only */

/*
 * One policy generation (value of the "policy" array map, NF_GENERATIONS
 * entries). Port bitmaps are indexed by host-order port: bit (p & 7) of
 * byte (p >> 3).
 */
struct nf_policy {
	__u32 flags;
	__u32 loopback;			/* enum nf_loopback */
	__be32 proxy_addr;		/* net: intercept (HTTP) address */
	__be32 tls_proxy_addr;		/* net: TLS intercept address */
	__be32 fwd_proxy_addr;		/* net: explicit forward-proxy address */
	__be16 proxy_port;		/* net */
	__be16 tls_proxy_port;		/* net */
	__be16 fwd_proxy_port;		/* net */
	__u16 nr_resolvers;
	__be32 resolvers[NF_MAX_RESOLVERS];	/* net */
	__be32 dns_proxy_addr;		/* net: the DNS filter (NF_F_DNS_PROXY) */
	__be16 dns_proxy_port;		/* net */
	__u16 pad;			/* zero */
	/* concurrent redirected connections of the cgroup, 0: no limit */
	__u32 max_conns;
	/* the agent's own addresses: the only sources the veth filter passes */
	__u32 nr_agent_addrs;
	__be32 agent_addrs[NF_MAX_AGENT_ADDRS];	/* net */
	__u8 redirect_ports[NF_PORT_BITMAP_BYTES];	/* to proxy */
	__u8 tls_ports[NF_PORT_BITMAP_BYTES];		/* to TLS proxy */
};

/*
 * Host bypass: a (gateway address, port) pair that goes direct. Key of the
 * inner hash maps of "bypass" (an array of maps, one per generation); the
 * value is unused (a __u8 0). Loopback in NF_LOOPBACK_HOST mode is looked up
 * as 127.0.0.1.
 */
struct nf_bypass_key {
	__be32 addr;	/* net */
	__be16 port;	/* net */
	__u16 pad;	/* zero */
};

/*
 * Per-socket record ("orig_ck", keyed by socket cookie): the original
 * destination of a redirected connection.
 */
#define NF_SK_REDIRECTED	(1u << 0)	/* addr/port hold the original */
#define NF_SK_STORED		(1u << 1)	/* copied to orig4 at this connect's SYN */
#define NF_SK_COUNTED		(1u << 2)	/* counted in "conns" until released */

struct nf_orig {
	__be32 addr;	/* net */
	__be16 port;	/* net */
	__u16 flags;	/* NF_SK_* */
};

/*
 * Per-socket record (socket storage "dns_sk") of a DNS socket redirected to
 * the filter: the resolver the application asked for, so that replies
 * (recvmsg) and getpeername show that address, and who sent the last query
 * (for refusal events). An unconnected socket that sent to several resolvers
 * keeps the last one: every reply then appears to come from it.
 */
struct nf_dns_orig {
	__u32 addr[4];		/* net: IPv4 in addr[0] when family is AF_INET */
	__be32 filter_addr;	/* net: where it was redirected */
	__be16 port;		/* net: as asked (53) */
	__be16 filter_port;	/* net */
	__u8 family;		/* AF_INET or AF_INET6: the address as asked */
	__u8 pad[3];
	__u32 tgid;		/* last sender */
	__u32 uid;
	char comm[16];
};

/*
 * Key of "passive_syn": a connection a listener of the agent answered (its
 * SYN-ACK), as the accepted socket will send (local: the agent's side). IPv4 addresses in
 * [0], the rest zero.
 */
struct nf_flow {
	__u32 local[4];		/* net */
	__u32 remote[4];	/* net */
	__be16 local_port;	/* net */
	__be16 remote_port;	/* net */
	__u32 family;		/* AF_INET or AF_INET6 */
};

#define NF_PASSIVE_SYN_ENTRIES	4096	/* answered SYNs not yet accepted, per policy */

/*
 * Key of the global "orig4" map, where the proxy's getsockopt responder finds
 * the record: the connection's 4-tuple as the proxy sees it.
 */
struct nf_tuple {
	__be32 client_addr;	/* net: the agent socket's local address */
	__be32 proxy_addr;	/* net: where the connection was redirected */
	__be16 client_port;	/* net */
	__be16 proxy_port;	/* net */
};

/*
 * Counters: a per-CPU array indexed by enum nf_stat. Verdicts for connect and
 * send, then the proxy side.
 */
enum nf_stat {
	/* allowed */
	NF_STAT_REDIRECT = 0,	/* TCP redirected to the proxy */
	NF_STAT_REDIRECT_TLS,	/* TCP redirected to the TLS proxy */
	NF_STAT_BYPASS,		/* TCP to an allowed (gateway, port) pair */
	NF_STAT_FWD_PROXY,	/* TCP to the forward-proxy port */
	NF_STAT_DNS,		/* UDP or TCP to an allowed resolver, port 53 */
	NF_STAT_DNS_REDIRECT,	/* UDP or TCP port 53 redirected to the filter */
	NF_STAT_LOOPBACK,	/* loopback in NF_LOOPBACK_ALLOW mode */
	/* refused: connect() or sendmsg() fails with EPERM */
	NF_STAT_DENY_PORT,	/* TCP port not redirected nor bypassed */
	NF_STAT_DENY_UDP,	/* UDP other than DNS to an allowed resolver */
	NF_STAT_DENY_IPV6,	/* native IPv6 destination */
	NF_STAT_DENY_RESERVED,	/* metadata, multicast, broadcast, 0.0.0.0/8 */
	NF_STAT_DENY_INTERCEPT,	/* straight to the proxy's intercept port */
	NF_STAT_DENY_NOPOLICY,	/* gate closed: attach or detach under way */
	NF_STAT_DENY_NORECORD,	/* could not store the original destination */
	NF_STAT_DENY_PROTO,	/* neither TCP nor UDP (raw, ICMP, MPTCP, ...) */
	NF_STAT_DENY_SOCKET,	/* socket kind refused at creation */
	NF_STAT_DENY_MCAST,	/* multicast group join (setsockopt) */
	NF_STAT_DENY_CONNLIMIT,	/* redirected connections over max_conns */
	NF_STAT_SKB_DROP,	/* packet dropped by the egress filter */
	NF_STAT_DNS_REFUSED,	/* the filter refused a query (seen in its reply) */
	NF_STAT_VETH_DROP,	/* frame dropped on the host side of the veth */
	/* proxy side and record keeping */
	NF_STAT_ORIG_STORED,	/* record copied to orig4 at the SYN */
	NF_STAT_ORIG_STORE_FAIL,
	NF_STAT_ORIG_HIT,	/* SO_ORIGINAL_DST answered from a record */
	NF_STAT_ORIG_MISS,	/* no record: answered NF_MISS_ADDR:NF_MISS_PORT */
	NF_STAT_EVENT_LOST,	/* verdict events lost to a full ring buffer */
	NF_STAT_EVENT_SUPPRESSED,	/* egress-drop events over the rate limit */
	NF_STAT_MAX,
};

/* Where a verdict was taken (struct nf_event.hook). */
enum nf_hook {
	NF_HOOK_CONNECT = 1,	/* connect4/connect6 */
	NF_HOOK_SENDMSG,	/* sendmsg4/sendmsg6 */
	NF_HOOK_SOCKET,		/* socket creation */
	NF_HOOK_PACKET,		/* egress packet filter */
	NF_HOOK_DNS,		/* a refusal in the DNS filter's reply */
	NF_HOOK_SETSOCKOPT,	/* setsockopt: proto is the level, type the name */
};

#define NF_EVENTS_BYTES		(256 * 1024)	/* ring buffer per policy */
/*
 * Events for packets the egress filter drops, per CPU and per 2^30 ns (about
 * a second): a socket retransmitting into the filter, or a flood of sends
 * from a socket made before the policy, must not fill the ring buffer that
 * every other refusal shares. The rest are counted (NF_STAT_EVENT_SUPPRESSED).
 */
#define NF_DROP_EVENTS_PER_SEC	16

/*
 * A verdict event (ring buffer "events", one per policy): refusals at connect,
 * sendmsg and socket creation (and a refused UDP socket's first dropped
 * datagram), packets the egress filter drops (rate-limited: see
 * NF_DROP_EVENTS_PER_SEC; such events have no pid, tgid or comm: a packet may
 * leave outside its sender's context), and allowed connects too when
 * NF_F_EVENTS_ALLOWED is set.
 */
struct nf_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 cgroup_id;	/* the process's cgroup */
	__u32 pid;		/* thread id */
	__u32 tgid;		/* process id */
	__u32 uid;
	__u32 stat;		/* enum nf_stat: the verdict and its reason */
	__u8 hook;		/* enum nf_hook */
	__u8 family;		/* AF_INET, AF_INET6 (native), or the socket's */
	__u16 proto;		/* IPPROTO_*; setsockopt: the level (SOL_*) */
	__u16 type;		/* SOCK_* (socket creation); setsockopt: optname */
	__be16 port;		/* net: destination as asked */
	__u8 addr[16];		/* net: IPv4 in the first 4 bytes for AF_INET */
	char comm[16];
};

/*
 * A refused UDP connect() that has sent nothing yet (socket storage
 * "udp_refused"): the connect succeeds (glibc's getaddrinfo connects UDP
 * sockets only to sort addresses, RFC 6724), and this event, filled in at
 * connect(), is sent with the first datagram, which the egress filter drops.
 */
struct nf_udp_refusal {
	struct nf_event ev;	/* as at connect(); ts_ns set when sent */
	__u32 pending;		/* 1: not sent yet */
	__u32 pad;
};

/*
 * A refused DNS query (hook NF_HOOK_DNS): the common record (addr/port: the
 * resolver the application asked, pid/comm: its last sender, 0 when not
 * known), then the question as the filter's reply echoes it, in wire format
 * (length-prefixed labels, a zero, the type and class, both net order),
 * len bytes of it at most NF_DNS_QUESTION_MAX.
 */
#define NF_DNS_QUESTION_MAX	256
struct nf_dns_event {
	struct nf_event ev;
	__u16 len;		/* bytes of question: 0 when unreadable */
	__u8 rcode;		/* 5: REFUSED */
	__u8 pad[5];
	__u8 question[NF_DNS_QUESTION_MAX];
};

/* Per-cgroup bookkeeping for status (the "meta" map); BPF never reads it. */
#define NF_PATH_MAX		512
#define NF_META_GATEWAYS	16

/* How the veth filter is attached (struct nf_meta.veth_mode). */
enum nf_veth_mode {
	NF_VETH_NONE = 0,
	NF_VETH_TCX,		/* a tcx link, pinned as link_veth_ingress */
	NF_VETH_TC,		/* a tc clsact filter: ifindex, handle, priority */
};

/* struct nf_meta.flags */
#define NF_META_NO_LSM		(1u << 0)	/* the BPF LSM hook is not attached */
#define NF_META_RAW_ACCEPTED	(1u << 1)	/* --allow-raw-sockets was given */

struct nf_meta {
	__u64 cgroup_id;
	__u64 proxy_cgroup_id;		/* 0: no SO_ORIGINAL_DST responder */
	__u64 attached_at;		/* CLOCK_REALTIME seconds, first attach */
	__u64 updated_at;		/* CLOCK_REALTIME seconds, last policy */
	__u32 generation;		/* policies written so far */
	__u32 pid;			/* --pid given at the last attach, or 0 */
	char cgroup_path[NF_PATH_MAX];
	char proxy_cgroup_path[NF_PATH_MAX];
	/* the host gateway addresses and where each came from (status) */
	__u32 nr_gateways;
	__u32 gateway_addr[NF_META_GATEWAYS];	/* network order */
	__u8 gateway_src[NF_META_GATEWAYS];	/* user space's enum gw_source */
	char hosts_path[NF_PATH_MAX];		/* the agent's hosts file read, or "" */
	__u32 flags;			/* NF_META_* */
	__u32 veth_mode;		/* enum nf_veth_mode */
	__u32 veth_ifindex;		/* host side of the agent's veth */
	__u32 veth_tc_handle;		/* NF_VETH_TC: the filter's handle */
	__u32 veth_tc_prio;		/* NF_VETH_TC: and priority */
	__u32 veth_prog_id;		/* the filter's program (tc: to find it) */
	char veth_name[16];
};

/*
 * A lookup miss is answered with an address where nothing listens. Squid
 * then fails that one client with an error page and keeps serving everyone
 * (a failed getsockopt would make Squid 5.7 stop accepting on the port).
 */
#define NF_MISS_ADDR		0x7f000001u	/* host: 127.0.0.1 */
#define NF_MISS_PORT		1		/* host */

/* getsockopt names the responder answers (from linux/netfilter_ipv4.h). */
#define NF_SOL_IP		0
#define NF_SOL_IPV6		41
#define NF_SO_ORIGINAL_DST	80
#define NF_IP6T_SO_ORIGINAL_DST	80

/*
 * setsockopt names that make the kernel join (or leave) a multicast group:
 * it then sends IGMP/MLD reports whose group addresses the caller chose, from
 * no socket of the agent. Refused on SOL_IP and SOL_IPV6 (an IPv6 UDP socket
 * takes SOL_IP options too). From linux/in.h and linux/in6.h.
 */
#define NF_IP_ADD_MEMBERSHIP		35	/* .. NF_MCAST_MSFILTER: all */
#define NF_MCAST_MSFILTER		48
#define NF_IPV6_ADD_MEMBERSHIP		20	/* IPV6_JOIN_GROUP */
#define NF_IPV6_DROP_MEMBERSHIP		21
#define NF_IPV6_JOIN_ANYCAST		27
#define NF_IPV6_LEAVE_ANYCAST		28
#define NF_MCAST_JOIN_GROUP		42	/* .. NF_MCAST_MSFILTER, both levels */

/* Default --max-connections (see docs/how-it-works.md). */
#define NF_DEFAULT_MAX_CONNS		256

#endif /* NETFENCE_H */
