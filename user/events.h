/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Verdict events: reading the policies' ring buffers and printing events. */
#ifndef NETFENCE_EVENTS_H
#define NETFENCE_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "netfence.h"

/*
 * One event (a ring buffer record of len bytes: struct nf_event, or struct
 * nf_dns_event for hook NF_HOOK_DNS) as a line of text, or as one JSON
 * object on one line. A record too short for its kind is skipped.
 */
void event_print(FILE *f, const void *data, size_t len, bool json);

/*
 * A DNS question in wire format (len bytes) as a dotted name in name
 * (bytes other than printable ASCII, '.' and '\\' inside a label as \DDD;
 * cut to fit) and its type. Returns 0, or -EINVAL when the name does not
 * end within len bytes (name then holds what was read, qtype 0).
 */
int dns_question_decode(const uint8_t *q, size_t len, char *name,
			size_t namelen, uint16_t *qtype);

/* "A", "AAAA", "TXT", ..., or "TYPE<n>" written in buf. */
const char *dns_type_name(uint16_t t, char *buf, size_t len);

/* Wall-clock ns (CLOCK_REALTIME) of an event's CLOCK_MONOTONIC ts_ns. */
int64_t event_wall_ns(uint64_t ts_ns);
/* RFC 3339 in UTC with microseconds: "2026-12-05T21:59:43.123456Z". */
void event_time_str(int64_t wall_ns, char *buf, size_t len);

struct ring_buffer;

/*
 * A ring buffer reader over the "events" map of every policy under the pin
 * root (or the one of cgroup id), calling fn for each event. NULL with errno
 * set when there is none (ENOENT) or on failure.
 */
struct ring_buffer *events_open(uint64_t cgroup_id,
				int (*fn)(void *ctx, void *data, size_t len),
				void *ctx, int *n_policies);

#endif /* NETFENCE_EVENTS_H */
