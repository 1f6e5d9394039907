// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "dnsmasq.h"
#include "proc.h"

const char *dnsmasq_bin(void)
{
	const char *env = getenv("NETFENCE_DNSMASQ");

	return env && *env == '/' ? env : DNSMASQ_BIN;
}

int dnsmasq_check(const char *conf, char *err, size_t errlen)
{
	char *const argv[] = { "dnsmasq", "--test", "-C", (char *)conf, NULL };
	const char *const paths[] = { dnsmasq_bin(), NULL };
	char buf[512];
	int status;

	if (access(dnsmasq_bin(), X_OK)) {
		snprintf(err, errlen, "%s: %s (install dnsmasq-base)", dnsmasq_bin(),
			 strerror(errno));
		return -ENOENT;
	}
	status = proc_capture(argv, paths, PROC_CAPTURE_STDOUT, 0, buf, sizeof(buf));
	if (status < 0)
		return status;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(err, errlen, "dnsmasq --test: %s", buf[0] ? buf : "failed");
	return -EINVAL;
}

pid_t dnsmasq_start(const char *conf, const char *cgroup_dir, const char *log,
		    char *err, size_t errlen)
{
	const char *bin = dnsmasq_bin();
	char *const argv[] = { "dnsmasq", "-k", "-C", (char *)conf, NULL };
	pid_t pid;

	if (access(bin, X_OK)) {
		snprintf(err, errlen, "%s: %s (install dnsmasq-base)", bin,
			 strerror(errno));
		return -ENOENT;
	}
	pid = proc_start_service(bin, argv, cgroup_dir, log, 0);
	if (pid < 0)
		snprintf(err, errlen, "fork: %s", strerror(-pid));
	return pid;
}

/* One query for a name no allowlist can hold; true on any reply. */
static bool answers(uint32_t addr, uint16_t port)
{
	static const unsigned char q[] = {
		0x4e, 0x46, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		14, 'n', 'e', 't', 'f', 'e', 'n', 'c', 'e', '-', 'r', 'e', 'a', 'd', 'y',
		7, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 0, 0x00, 0x01, 0x00, 0x01,
	};
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = addr,
				   .sin_port = port };
	unsigned char reply[512];
	struct pollfd pfd;
	bool ok = false;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	if (!connect(fd, (struct sockaddr *)&sin, sizeof(sin)) &&
	    send(fd, q, sizeof(q), 0) == (ssize_t)sizeof(q)) {
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		ok = poll(&pfd, 1, 50) == 1 &&
		     recv(fd, reply, sizeof(reply), 0) >= 12 && reply[0] == q[0] &&
		     reply[1] == q[1];
	}
	close(fd);
	return ok;
}

int dnsmasq_wait_ready(pid_t pid, uint32_t addr, uint16_t port, int timeout_ms,
		       int *status)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 }, t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return -ECHILD;
		if (answers(addr, port))
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 +
			    (now.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&tick, NULL);
	}
}

uint16_t free_udp_tcp_port(uint32_t addr)
{
	for (int tries = 0; tries < 32; tries++) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_addr.s_addr = addr };
		socklen_t len = sizeof(sin);
		int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		uint16_t port = 0;

		if (u >= 0 && t >= 0 &&
		    !bind(u, (struct sockaddr *)&sin, sizeof(sin)) &&
		    !getsockname(u, (struct sockaddr *)&sin, &len) &&
		    !bind(t, (struct sockaddr *)&sin, sizeof(sin)))
			port = ntohs(sin.sin_port);
		if (u >= 0)
			close(u);
		if (t >= 0)
			close(t);
		if (port)
			return port;
	}
	return 0;
}
