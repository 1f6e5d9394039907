/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cgroup v2: finding the mount, validating paths, cgroup ids. */
#ifndef NETFENCE_CGROUP_H
#define NETFENCE_CGROUP_H

#include <stddef.h>
#include <stdint.h>

#define CGROUP_PATH_MAX 512

struct cgroup_ref {
	int fd;			/* O_RDONLY|O_DIRECTORY, or -1 */
	uint64_t id;		/* the kernel's cgroup id */
	char path[CGROUP_PATH_MAX];	/* canonical absolute path */
};

/*
 * The first cgroup2 mount in mounts_path (normally /proc/self/mounts).
 * Returns 0 or -ENOENT.
 */
int cgroup2_mount(const char *mounts_path, char *out, size_t len);

/*
 * Opens a cgroup v2 directory. PATH is absolute, or relative to the cgroup2
 * mount. Fills ref (fd, id, canonical path). On failure returns a negative
 * errno and a reason in err (no flag name): does not exist, not a directory,
 * not on a cgroup v2 file system, no cgroup2 mount.
 */
int cgroup_open(const char *path, struct cgroup_ref *ref, char *err,
		size_t errlen);
void cgroup_close(struct cgroup_ref *ref);

/*
 * rmdir of a cgroup, retried every 10 ms for up to ms while it is busy (its
 * last tasks are still exiting). 0 (also when it is already gone) or -errno.
 */
int cgroup_rmdir(const char *path, int ms);
/* Moves process PID into the cgroup at DIR (cgroup.procs); 0 or -errno. */
int cgroup_enter(const char *dir, int pid);

/* The cgroup v2 path of a process (from /proc/PID/cgroup), absolute. */
int cgroup_of_pid(int pid, char *out, size_t len);

/*
 * A process of the cgroup at dir (or of one below it) that holds a UDP
 * socket bound to addr:port (net order; a socket bound to 0.0.0.0 counts),
 * as its network namespace shows it. Returns its pid, or 0 when none.
 */
int cgroup_udp_owner(const char *dir, uint32_t addr, uint16_t port);

/*
 * A process in the cgroup at dir (absolute) or below it, depth first, the
 * cgroup itself first: its PID, or 0 when the subtree has none.
 */
int cgroup_first_pid(const char *dir);

/*
 * SIGKILL to every process in the cgroup at path and its descendants:
 * cgroup.kill (Linux 5.14+), else, on older kernels, the subtree frozen
 * (cgroup.freeze, 5.2+, so nothing forks meanwhile) and each process of
 * each cgroup.procs killed until none is left (bounded). Returns 0, or a
 * negative errno when processes are still listed at the end.
 */
int cgroup_kill_all(const char *path);

#endif /* NETFENCE_CGROUP_H */
