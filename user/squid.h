/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The embedded Squid's process: start in a cgroup, wait for it, stop it. */
#ifndef NETFENCE_SQUID_H
#define NETFENCE_SQUID_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SQUID_BIN "/usr/sbin/squid"
#define SQUID_NOFILE 65536	/* descriptors (as max_filedescriptors) */

/* The Squid binary ($NETFENCE_SQUID overrides, for tests). */
const char *squid_bin(void);

/*
 * The service name (`squid -n`) of the Squid of run run_pid: "nf<pid>r<16 hex
 * digits>", its own, so that Squids started at the same time never share
 * /dev/shm segments; random, so that no other user can pre-create the
 * segment names (Squid exits when one exists); found by its prefix by
 * `cleanup` after a killed run. Letters and digits only. 0 or -errno.
 */
int squid_name(char *buf, size_t len, int run_pid);

/*
 * Starts `squid -N -n NAME -f CONF` with its pid first written to
 * CGROUP_DIR's cgroup.procs, stdout and stderr to LOG. Returns the pid or a
 * negative errno (reason in err).
 */
pid_t squid_start(const char *conf, const char *cgroup_dir, const char *log,
		  const char *name, char *err, size_t errlen);

/*
 * Waits until every port in ports (host order) of addr (net order) is in
 * LISTEN state, without connecting to it. 0, -ETIMEDOUT, or -ECHILD when
 * Squid exited first (reaped; *status set).
 */
int squid_wait_listening(pid_t pid, uint32_t addr, const uint16_t *ports,
			 size_t n, int timeout_ms, int *status);

/* Removes the /dev/shm segments of the Squid named name. */
void squid_remove_shm(const char *name);

/* Removes the /dev/shm segments of every Squid run run_pid may have started. */
void squid_remove_run_shm(int run_pid);

/* SIGTERM, then SIGKILL after timeout_ms; reaps it; removes its segments. */
void squid_stop(pid_t pid, const char *name, int timeout_ms);

/*
 * Removes a run directory and everything in it (the certificate helper's
 * database has subdirectories), without following symbolic links. 0 or a
 * negative errno (the last failure).
 */
int squid_remove_run_dir(const char *dir);

/* A free TCP port on addr (net order), host order, or 0. */
uint16_t free_tcp_port(uint32_t addr);

#endif /* NETFENCE_SQUID_H */
