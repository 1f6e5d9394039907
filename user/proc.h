/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Child processes: helper programs run for their output (squid -v, openssl,
 * dnsmasq --test) and the services run starts (Squid, dnsmasq).
 */
#ifndef NETFENCE_PROC_H
#define NETFENCE_PROC_H

#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

/* proc_capture's flags: stdout is captured too (else it goes to /dev/null) */
#define PROC_CAPTURE_STDOUT	1u

/*
 * Runs argv (no shell): argv[0] at each of paths (NULL-terminated, or NULL)
 * first, then looked up in PATH. stdin is /dev/null; stderr (and stdout with
 * PROC_CAPTURE_STDOUT) is captured into out, up to outlen - 1 bytes and
 * NUL-terminated, the rest read and dropped. timeout_ms > 0: a child silent
 * that long is killed. Returns the wait status, or a negative errno if it
 * could not run.
 */
int proc_capture(char *const argv[], const char *const *paths, unsigned int flags,
		 int timeout_ms, char *out, size_t outlen);

/*
 * Starts bin with argv as a service: in cgroup_dir before anything else
 * (exit 126 if it cannot get there), signals unblocked, stdout and stderr
 * appended to log, stdin /dev/null, a process group of its own (a
 * terminal's Ctrl-C is the caller's to handle); nofile > 0: its descriptor
 * limit raised to that first (as far as the hard limit goes without
 * CAP_SYS_RESOURCE). Returns its pid, or a negative errno (fork).
 */
pid_t proc_start_service(const char *bin, char *const argv[], const char *cgroup_dir,
			 const char *log, rlim_t nofile);

/*
 * Stops a service proc_start_service started: SIGTERM, then SIGKILL if it
 * has not exited timeout_ms later; reaped either way. pid <= 0: nothing.
 */
void proc_stop_service(pid_t pid, int timeout_ms);

#endif /* NETFENCE_PROC_H */
