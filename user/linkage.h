/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * How this binary was linked: the ordinary build links libbpf, libelf and
 * zlib as shared libraries; `make static` links everything statically
 * (NETFENCE_STATIC), glibc included.
 */
#ifndef NETFENCE_LINKAGE_H
#define NETFENCE_LINKAGE_H

#include <stdbool.h>

/* True in build/netfence-static. */
bool linkage_static(void);

/* "static" or "dynamic". */
const char *linkage_name(void);

/*
 * Before anything looks up a name or a user. In the static binary: hosts
 * from /etc/hosts then DNS (/etc/resolv.conf), users and groups from
 * /etc/passwd and /etc/group, whatever /etc/nsswitch.conf names, so that no
 * NSS module (a shared object of the machine's glibc) is ever loaded.
 * Nothing in the ordinary build.
 */
void linkage_init(void);

#endif
