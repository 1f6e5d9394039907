/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The sandbox `netfence run` puts its command in, besides the network
 * policy: a mount namespace without bpffs and cgroup mounts, with /proc/sys,
 * /sys and the host's system directories read-only and a /dev of its own; a
 * PID namespace; a short list of capabilities; a seccomp filter. The
 * command's first process in the namespaces (pid 1 there) is a reaper that
 * forwards run's signals to the command.
 */
#ifndef NETFENCE_SANDBOX_H
#define NETFENCE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The file system type ("cgroup2", "cgroup", "bpf") when PATH is on one a
 * command must not start in, NULL otherwise (and when statfs fails).
 */
const char *sandbox_unsafe_fs(const char *path);

/*
 * In a new mount namespace (and as pid 1 of a new PID namespace): hide
 * bpffs and cgroup mounts, mount a /proc of the PID namespace with its
 * kernel tunables read-only, make /sys and the system directories
 * read-only, give /dev a tmpfs of its own. Then re-enter the working
 * directory through the new mounts. 0 or a negative errno; err says what.
 */
int sandbox_mounts(char *err, size_t errlen);

/* Drops every capability but the kept ones from all sets, the bounding set too. */
int sandbox_caps(char *err, size_t errlen);

/*
 * With the DNS filter: the host's resolver daemons' Unix sockets
 * (systemd-resolved's varlink, nscd's), which resolve any name for any user
 * past the filter, are masked with /dev/null (a connect is refused). After
 * sandbox_mounts. 0, or a negative errno with the reason in err.
 */
int sandbox_hide_resolvers(char *err, size_t errlen);

/* no_new_privs, then the seccomp filter (libseccomp). */
int sandbox_seccomp(char *err, size_t errlen);

/*
 * pid 1's job: forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2
 * to cmd, reap every orphan, and return cmd's status as an exit code
 * (128+N when signal N ended it). Call with those signals and SIGCHLD blocked.
 */
int sandbox_reap(pid_t cmd);

/* Capabilities a root command keeps (a CAP_* list ending with -1). */
extern const int sandbox_kept_caps[];

#endif
