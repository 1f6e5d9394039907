/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The DNS filter's process (dnsmasq, configured by dnsmasq_conf.h): start it
 * in a cgroup, wait until it answers, stop it.
 */
#ifndef NETFENCE_DNSMASQ_H
#define NETFENCE_DNSMASQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DNSMASQ_BIN "/usr/sbin/dnsmasq"
#define DNSMASQ_CONF "dnsmasq.conf"	/* files in the run directory */
#define DNSMASQ_PID_FILE "dnsmasq.pid"
#define DNSMASQ_LOG "dnsmasq.log"
#define DNSMASQ_READY_MS 30000	/* wall time for its first answer */

/* The dnsmasq binary ($NETFENCE_DNSMASQ overrides, for tests). */
const char *dnsmasq_bin(void);

/*
 * Checks the configuration with `dnsmasq --test`. 0, or -EINVAL with
 * dnsmasq's own words in err.
 */
int dnsmasq_check(const char *conf, char *err, size_t errlen);

/*
 * Starts `dnsmasq -k -C CONF` with its pid first written to CGROUP_DIR's
 * cgroup.procs, stdout and stderr to LOG. Returns the pid or a negative
 * errno (reason in err).
 */
pid_t dnsmasq_start(const char *conf, const char *cgroup_dir, const char *log,
		    char *err, size_t errlen);

/*
 * Waits until it answers a query on addr:port (net order; a name it refuses,
 * so nothing is forwarded). 0, -ETIMEDOUT, or -ECHILD when it exited first
 * (reaped; *status set).
 */
int dnsmasq_wait_ready(pid_t pid, uint32_t addr, uint16_t port, int timeout_ms,
		       int *status);

/* A port free for both UDP and TCP on addr (net order), host order; 0: none. */
uint16_t free_udp_tcp_port(uint32_t addr);

#endif /* NETFENCE_DNSMASQ_H */
