/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maps of one netfence policy (one agent cgroup), and the one map all
 * policies share. Layout and byte order of keys and values: include/netfence.h.
 */
#ifndef NETFENCE_BPF_MAPS_H
#define NETFENCE_BPF_MAPS_H

/* The gate and the slot in force: NF_GATE_CLOSED or 1..NF_GENERATIONS. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} state SEC(".maps");

/* Two policy generations; the loader fills the one not in force. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NF_GENERATIONS);
	__type(key, __u32);
	__type(value, struct nf_policy);
} policy SEC(".maps");

/* Host bypass pairs, one inner hash per generation (sized by the loader). */
struct bypass_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NF_BYPASS_MIN_ENTRIES);
	/* sizes, not types: BTF would only hold a forward declaration here */
	__uint(key_size, sizeof(struct nf_bypass_key));
	__uint(value_size, sizeof(__u8));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, NF_GENERATIONS);
	__type(key, __u32);
	__array(values, struct bypass_inner);
} bypass SEC(".maps");

/* Counters, indexed by enum nf_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NF_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/*
 * Redirected connections of the cgroup now open (sockets counted at connect,
 * released at close): checked against nf_policy.max_conns.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} conns SEC(".maps");

/* This CPU's egress-drop events in the current window (NF_DROP_EVENTS_PER_SEC). */
struct nf_rate {
	__u64 window;	/* bpf_ktime_get_ns() >> 30 */
	__u32 n;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nf_rate);
} drop_rate SEC(".maps");

/* Verdict events for `netfence events`. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, NF_EVENTS_BYTES);
} events SEC(".maps");

/* Bookkeeping for `netfence status`; programs never read it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32);
	__type(value, struct nf_meta);
} meta SEC(".maps");

/*
 * Per-socket records by socket cookie (never reused while the machine runs,
 * so a record is never read for another socket): the original destination of
 * a redirected socket, written at connect().
 * Preallocated: a record costs no allocation, and a full map refuses the
 * connect (NF_STAT_DENY_NORECORD), never evicts a live socket's record.
 * sock_release deletes a record with its socket; where sock_release cannot
 * load, the loader makes this an LRU hash so that records age out.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NF_SK_RECORDS);
	__type(key, __u64);
	__type(value, struct nf_orig);
} orig_ck SEC(".maps");

/*
 * Connections a listener of the agent answered (its SYN-ACK): the first
 * packet of the socket accept() returns finds its 4-tuple here and marks the
 * socket passive (passive_sk). The kernel sends a SYN-ACK only in answer to a
 * SYN it received: no socket of the agent can make an entry for a
 * destination of its choosing.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NF_PASSIVE_SYN_ENTRIES);
	__type(key, struct nf_flow);
	__type(value, __u8);
} passive_syn SEC(".maps");

/* Accepted sockets (see passive_syn): their packets may leave. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u8);
} passive_sk SEC(".maps");

/* Refused UDP connects whose refusal waits for the first datagram. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct nf_udp_refusal);
} udp_refused SEC(".maps");

/*
 * DNS sockets redirected to the filter: the resolver asked for (replies and
 * getpeername show it) and the last sender (refusal events).
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct nf_dns_orig);
} dns_sk SEC(".maps");

/*
 * Records by 4-tuple, where the proxy's responder finds them. Shared by all
 * policies (pinned by name under the netfence root) because one proxy may
 * serve several agent cgroups. A record is deleted when the proxy reads it;
 * one never read (the client reset during the handshake) ages out of the LRU.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NF_ORIG_MAX_ENTRIES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__type(key, struct nf_tuple);
	__type(value, struct nf_orig);
} orig4 SEC(".maps");

#endif /* NETFENCE_BPF_MAPS_H */
