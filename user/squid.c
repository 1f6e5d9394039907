// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "proc.h"
#include "squid.h"

const char *squid_bin(void)
{
	const char *env = getenv("NETFENCE_SQUID");

	return env && *env == '/' ? env : SQUID_BIN;
}

pid_t squid_start(const char *conf, const char *cgroup_dir, const char *log,
		  const char *name, char *err, size_t errlen)
{
	const char *bin = squid_bin();
	char *const argv[] = { "squid", "-N", "-n", (char *)name, "-f", (char *)conf, NULL };
	pid_t pid;

	if (access(bin, X_OK)) {
		snprintf(err, errlen, "%s: %s (install squid-openssl)", bin,
			 strerror(errno));
		return -ENOENT;
	}
	/*
	 * Squid takes its descriptor limit from ours (1024 in a shell): two
	 * per client, so it would stop accepting near 500 clients
	 */
	pid = proc_start_service(bin, argv, cgroup_dir, log, SQUID_NOFILE);
	if (pid < 0)
		snprintf(err, errlen, "fork: %s", strerror(-pid));
	return pid;
}

/* Is addr:port (host order port) in LISTEN state in /proc/net/tcp? */
static bool listening(uint32_t addr, uint16_t port)
{
	char line[512];
	unsigned int a, p, st;
	bool found = false;
	FILE *f = fopen("/proc/net/tcp", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		/* "  0: 0100007F:0CB9 00000000:0000 0A ..." (addr as in memory) */
		if (sscanf(line, " %*d: %x:%x %*x:%*x %x", &a, &p, &st) != 3)
			continue;
		found = st == 0x0a && p == port && (a == addr || a == 0);
	}
	fclose(f);
	return found;
}

int squid_wait_listening(pid_t pid, uint32_t addr, const uint16_t *ports,
			 size_t n, int timeout_ms, int *status)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		size_t up = 0;

		if (waitpid(pid, status, WNOHANG) == pid)
			return -ECHILD;
		for (size_t i = 0; i < n; i++)
			up += listening(addr, ports[i]);
		if (up == n)
			return 0;
		nanosleep(&tick, NULL);
	}
	return -ETIMEDOUT;
}

int squid_name(char *buf, size_t len, int run_pid)
{
	unsigned long long nonce;

	if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
		return -errno;
	snprintf(buf, len, "nf%dr%016llx", run_pid, nonce);
	return 0;
}

static void remove_shm_prefix(const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir("/dev/shm");

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

/* Shared memory segments Squid leaves in /dev/shm: "<name>-*.shm". */
void squid_remove_shm(const char *name)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "%s-", name);
	remove_shm_prefix(prefix);
}

void squid_remove_run_shm(int run_pid)
{
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "nf%dr", run_pid);
	remove_shm_prefix(prefix);
}

void squid_stop(pid_t pid, const char *name, int timeout_ms)
{
	if (pid <= 0)
		return;
	proc_stop_service(pid, timeout_ms);
	squid_remove_shm(name);
}

uint16_t free_tcp_port(uint32_t addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = addr };
	socklen_t len = sizeof(sin);
	uint16_t port = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (!bind(fd, (struct sockaddr *)&sin, sizeof(sin)) &&
	    !getsockname(fd, (struct sockaddr *)&sin, &len))
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Empties the directory open at dfd (closed here), depth levels deep at most. */
static int empty_dir(int dfd, int depth)
{
	struct dirent *de;
	int ret = 0;
	DIR *d = fdopendir(dfd);

	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!unlinkat(dirfd(d), de->d_name, 0))
			continue;
		if (errno != EISDIR || depth <= 0) {
			ret = -errno;
			continue;
		}
		/* never through a symbolic link, never onto another file system */
		sub = openat(dirfd(d), de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			ret = -errno;
			continue;
		}
		ret = empty_dir(sub, depth - 1) ?: ret;
		if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR))
			ret = -errno;
	}
	closedir(d);
	return ret;
}

int squid_remove_run_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = empty_dir(fd, 4);
	if (rmdir(dir))
		ret = -errno;
	return ret;
}
