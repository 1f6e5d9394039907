/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Verdict events: reading the policies' ring buffers and printing events. */
#ifndef NETFENCE_EVENTS_H
#define NETFENCE_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "netfence.h"

/* One event as a line of text, or as one JSON object on one line. */
void event_print(FILE *f, const struct nf_event *e, bool json);

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
