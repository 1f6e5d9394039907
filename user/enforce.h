/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * BPF lifecycle of a policy: load, attach (BPF links), pin, replace, detach.
 *
 * Pins live under one root (NF_PIN_ROOT, or $NETFENCE_PIN_ROOT), one
 * directory per agent cgroup, "cg-<cgroup id>". Every change happens under an
 * flock on the root. A first attach pins into "tmp-cg-<id>" with the gate
 * closed, renames it into place and only then opens the gate; a re-attach
 * writes the inactive policy slot and flips the state word. A run killed at
 * any point leaves the complete old policy, the complete new one, or a closed
 * gate (everything refused), never an open path; status shows it and detach
 * removes it.
 */
#ifndef NETFENCE_ENFORCE_H
#define NETFENCE_ENFORCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"
#include "netfence.h"
#include "policy.h"

#define NF_PIN_ROOT "/sys/fs/bpf/netfence"

struct attach_result {
	bool replaced;		/* the cgroup had a policy; it was swapped */
	uint32_t generation;	/* policies written for this cgroup so far */
	bool no_lsm;		/* the BPF LSM hook is not attached */
	const char *veth_mode;	/* "tcx", "tc", or NULL: no veth filter */
};

/* What attach does besides the cgroup hooks. */
struct enforce_opts {
	int veth_ifindex;	/* --veth: host side of the agent's veth, 0: none */
	const char *veth_name;	/* its name, for status */
	bool allow_raw;		/* --allow-raw-sockets */
	bool caller_drops_raw;	/* run: the command has no CAP_NET_RAW */
};

/* The pin root in force (NETFENCE_PIN_ROOT overrides, for tests). */
const char *pin_root(void);

/*
 * pid: the --pid the cgroup was named by (0: a path), kept for status. For
 * run: its command is started later and without CAP_NET_RAW.
 */
int enforce_attach(const struct cgroup_ref *cg, const struct cgroup_ref *proxy_cg,
		   const struct policy *pol, int pid, struct attach_result *res,
		   char *err, size_t errlen);

/*
 * The same, with a packet filter on the agent's veth (eo->veth_ifindex; the
 * policy must hold the agent's addresses), and the raw-socket rule: where
 * the BPF LSM hook cannot be attached and no veth filter is asked for, a
 * process of the cgroup in our network namespace holding CAP_NET_RAW makes
 * the attach fail (-EPERM, nothing pinned) unless eo->allow_raw.
 */
int enforce_attach_opts(const struct cgroup_ref *cg,
			const struct cgroup_ref *proxy_cg, const struct policy *pol,
			int pid, const struct enforce_opts *eo,
			struct attach_result *res, char *err, size_t errlen);

/*
 * Removes everything attach made for the cgroup with this id (or, when the
 * cgroup is gone, the one recorded with this path). -ENOENT: no policy.
 */
int enforce_detach(uint64_t cgroup_id, const char *path, char *err,
		   size_t errlen);

/* What status shows of one attached cgroup. */
struct policy_state {
	char dir[64];		/* "cg-<id>" or "tmp-cg-<id>" */
	uint64_t id;		/* the cgroup id the policy was attached to */
	bool complete;		/* renamed into place */
	uint32_t state;		/* NF_GATE_CLOSED or the slot in force + 1 */
	struct nf_meta meta;
	struct nf_policy pol;	/* the slot in force (zero when closed) */
	struct nf_bypass_key *bypass;	/* malloc'd */
	size_t n_bypass;
	uint64_t stats[NF_STAT_MAX];	/* summed over CPUs */
	uint64_t conns;		/* redirected connections open now */
	int links;		/* links pinned */
	int links_attached;	/* of those, still attached (cgroup or veth) */
	const char *veth;	/* the veth filter: "tcx", "tc", "gone", or NULL */
	bool cgroup_exists;
	/*
	 * The path exists but holds another cgroup (a new id: a restarted
	 * container, a re-created unit): that cgroup is NOT under this policy.
	 */
	bool cgroup_replaced;
	uint64_t current_id;	/* the id now at the path, 0 when gone */
};

/*
 * Calls fn for every policy under the pin root (filtered by cgroup id when
 * id != 0). Returns the number found or a negative errno.
 */
int enforce_list(uint64_t id, int (*fn)(const struct policy_state *, void *),
		 void *ctx, char *err, size_t errlen);

/*
 * Opens the "events" ring buffer of every policy in place under the pin root
 * (of the one of cgroup id when id != 0): up to max descriptors in fds, the
 * caller closes them. Returns how many, or a negative errno (-ENOENT: no pin
 * root). The pin layout stays enforce.c's.
 */
int enforce_events_fds(uint64_t id, int *fds, int max);

const char *nf_stat_name(int stat);
/* The counter is a refusal (connect/sendmsg failed, socket refused, packet dropped). */
bool nf_stat_refuses(int stat);

/* The kernel can count open redirected connections (--max-connections). */
bool enforce_conn_count_supported(void);
bool enforce_sockopt_task_supported(void);

#endif /* NETFENCE_ENFORCE_H */
