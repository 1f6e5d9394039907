/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Below the socket layer: the packet filter on the host side of an agent's
 * veth (tcx where the kernel has it, tc clsact otherwise), the agent's own
 * addresses (learnt in its network namespace), and the processes of a
 * cgroup that could write raw frames (CAP_NET_RAW).
 */
#ifndef NETFENCE_VETH_H
#define NETFENCE_VETH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netfence.h"

#define VETH_LINK_PIN	"link_veth_ingress"
#define NF_TC_HANDLE	0x6e66	/* "nf": our tc filter's handle */
#define NF_TC_PRIO	1

/*
 * Attaches prog_fd at ingress of ifindex: a tcx link pinned as
 * dir/VETH_LINK_PIN, or (no tcx, or NETFENCE_VETH_TC=1 in the environment)
 * a tc clsact filter. Records how in m. Returns 0 or a negative errno with
 * a reason in err.
 */
int veth_attach(int prog_fd, int ifindex, const char *dir, struct nf_meta *m,
		char *err, size_t errlen);

/* Removes a tc filter veth_attach made (a tcx link goes with its pin). */
void veth_detach(const struct nf_meta *m);

/* Attached and ours: "tcx", "tc", or NULL when it is gone. */
const char *veth_state(const struct nf_meta *m, const char *dir);

/*
 * The IPv4 addresses (net order) of the network namespace of pid, loopback
 * aside. Returns how many (up to max) or a negative errno.
 */
int netns_addrs(int pid, uint32_t *out, int max);

/* pid's network namespace is not ours. */
bool netns_differs(int pid);

/*
 * A process of the cgroup subtree at cg_path (absolute) holding CAP_NET_RAW
 * in its effective set, in our network namespace (host_netns) or in any.
 * Returns its pid, 0 when there is none, or a negative errno.
 */
int cgroup_raw_capable(const char *cg_path, bool host_netns_only);

/* A process of the cgroup subtree in our network namespace, or 0. */
int cgroup_in_our_netns(const char *cg_path);

#endif /* NETFENCE_VETH_H */
