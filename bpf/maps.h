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
 * The original destination of a redirected socket, stored at connect() and
 * freed with the socket.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct nf_orig);
} orig_sk SEC(".maps");

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
