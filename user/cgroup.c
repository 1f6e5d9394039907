// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/magic.h>

#include "cgroup.h"

int cgroup_rmdir(const char *path, int ms)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (int i = 0;; i++) {
		if (!rmdir(path) || errno == ENOENT)
			return 0;
		if (errno != EBUSY || i >= ms / 10)
			return -errno;
		nanosleep(&tick, NULL);
	}
}

int cgroup2_mount(const char *mounts_path, char *out, size_t len)
{
	char line[4096], dev[256], dir[PATH_MAX], type[64];
	FILE *f = fopen(mounts_path, "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %4095s %63s", dev, dir, type) != 3)
			continue;
		if (strcmp(type, "cgroup2"))
			continue;
		if (strlen(dir) >= len) {
			err = -ENAMETOOLONG;
			break;
		}
		strcpy(out, dir);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

int cgroup_open(const char *path, struct cgroup_ref *ref, char *err,
		size_t errlen)
{
	char mnt[PATH_MAX], full[PATH_MAX], real[PATH_MAX];
	const char *try = path;
	struct statfs sfs;
	struct stat st;
	int fd;

	ref->fd = -1;
	if (!path || !*path) {
		snprintf(err, errlen, "empty cgroup path");
		return -EINVAL;
	}
	if (cgroup2_mount("/proc/self/mounts", mnt, sizeof(mnt))) {
		snprintf(err, errlen, "no cgroup v2 file system is mounted");
		return -ENOENT;
	}
	/* relative paths, and absolute ones that do not exist, under the mount */
	if (path[0] != '/' || access(path, F_OK)) {
		if (snprintf(full, sizeof(full), "%s/%s", mnt, path) >=
		    (int)sizeof(full)) {
			snprintf(err, errlen, "path too long");
			return -ENAMETOOLONG;
		}
		if (path[0] != '/' || !access(full, F_OK))
			try = full;
	}
	if (!realpath(try, real)) {
		int e = errno;

		snprintf(err, errlen, "%s", e == ENOENT ? "no such cgroup" :
						   strerror(e));
		return -e;
	}
	if (stat(real, &st)) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "not a directory");
		return -ENOTDIR;
	}
	if (statfs(real, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(err, errlen, "not a cgroup v2 directory (cgroup2 is mounted at %s)",
			 mnt);
		return -EINVAL;
	}
	if (strlen(real) >= sizeof(ref->path)) {
		snprintf(err, errlen, "path too long");
		return -ENAMETOOLONG;
	}
	fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -errno;
	}
	ref->fd = fd;
	/* on cgroup2 (kernfs) the inode number is the cgroup id */
	ref->id = st.st_ino;
	strcpy(ref->path, real);
	return 0;
}

void cgroup_close(struct cgroup_ref *ref)
{
	if (ref && ref->fd >= 0) {
		close(ref->fd);
		ref->fd = -1;
	}
}

int cgroup_of_pid(int pid, char *out, size_t len)
{
	char p[64], line[4096], mnt[PATH_MAX];
	int err = -ENOENT;
	FILE *f;

	if (cgroup2_mount("/proc/self/mounts", mnt, sizeof(mnt)))
		return -ENOENT;
	snprintf(p, sizeof(p), "/proc/%d/cgroup", pid);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* the v2 line is "0::/path" */
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (snprintf(out, len, "%s%s", mnt, line + 3) >= (int)len)
			err = -ENAMETOOLONG;
		else
			err = 0;
		break;
	}
	fclose(f);
	return err;
}

/* Inodes of UDP sockets bound to addr:port in the netns pid sees. */
static size_t udp_inodes(int pid, uint32_t addr, uint16_t port,
			 unsigned long *ino, size_t max)
{
	char path[64], line[512];
	unsigned int a, p;
	unsigned long i;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/udp", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		/* "  sl  local_address rem_address st tx:rx tr:when retr uid timeout inode" */
		if (sscanf(line, " %*d: %x:%x %*x:%*x %*x %*x:%*x %*x:%*x %*x %*u %*u %lu",
			   &a, &p, &i) != 3)
			continue;
		/* the address as in memory: net order read as a host word */
		if (p == ntohs(port) && (a == addr || a == 0))
			ino[n++] = i;
	}
	fclose(f);
	return n;
}

static bool holds_inode(int pid, const unsigned long *ino, size_t n)
{
	char path[64], link[64], want[48];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char fdpath[128];
		ssize_t len;

		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
		len = readlink(fdpath, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		for (size_t k = 0; k < n && !found; k++) {
			snprintf(want, sizeof(want), "socket:[%lu]", ino[k]);
			found = !strcmp(link, want);
		}
	}
	closedir(d);
	return found;
}

static int udp_owner_in(const char *dir, uint32_t addr, uint16_t port, int depth)
{
	char path[CGROUP_PATH_MAX + 64];
	unsigned long ino[16];
	struct dirent *de;
	int pid, owner = 0;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (f) {
		while (!owner && fscanf(f, "%d", &pid) == 1) {
			size_t n = udp_inodes(pid, addr, port, ino, 16);

			if (n && holds_inode(pid, ino, n))
				owner = pid;
		}
		fclose(f);
	}
	if (owner || depth >= 8)
		return owner;
	d = opendir(dir);
	if (!d)
		return 0;
	while (!owner && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		owner = udp_owner_in(path, addr, port, depth + 1);
	}
	closedir(d);
	return owner;
}

int cgroup_udp_owner(const char *dir, uint32_t addr, uint16_t port)
{
	return udp_owner_in(dir, addr, port, 0);
}

static int first_pid(const char *dir, int depth, int *budget)
{
	char path[PATH_MAX];
	struct dirent *de;
	int pid = 0;
	FILE *f;
	DIR *d;

	if (depth > 32 || --*budget < 0)
		return 0;
	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return 0;
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%d", &pid) != 1 || pid <= 0)
			pid = 0;
		fclose(f);
	}
	if (pid)
		return pid;
	d = opendir(dir);
	if (!d)
		return 0;
	while (!pid && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		pid = first_pid(path, depth + 1, budget);
	}
	closedir(d);
	return pid;
}

int cgroup_first_pid(const char *dir)
{
	int budget = 4096;	/* directories looked at, at most */

	return first_pid(dir, 0, &budget);
}

/* Writes a short value to path/file. 0 or a negative errno. */
static int cg_write(const char *path, const char *file, const char *val)
{
	char p[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", path, file);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

/* SIGKILL to each process cgroup.procs lists, subtree included; the count. */
static int kill_listed(const char *path, int depth)
{
	char p[PATH_MAX];
	struct dirent *de;
	int n = 0, pid;
	DIR *d;
	FILE *f;

	snprintf(p, sizeof(p), "%s/cgroup.procs", path);
	f = fopen(p, "re");
	if (f) {
		while (fscanf(f, "%d", &pid) == 1) {
			/* listed in a cgroup that is ours to empty */
			if (pid > 0 && !kill(pid, SIGKILL))
				n++;
		}
		fclose(f);
	}
	if (depth >= 16)	/* our cgroups are two deep; bounded */
		return n;
	d = opendir(path);
	if (!d)
		return n;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		n += kill_listed(p, depth + 1);
	}
	closedir(d);
	return n;
}

int cgroup_kill_all(const char *path)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int ret, n = 0;

	ret = cg_write(path, "cgroup.kill", "1");
	if (ret != -ENOENT)
		return ret;
	/* before Linux 5.14: frozen (5.2+), nothing forks while we kill */
	cg_write(path, "cgroup.freeze", "1");
	for (int i = 0; i < 300; i++) {
		n = kill_listed(path, 0);
		if (!n)
			break;
		nanosleep(&tick, NULL);
	}
	/* SIGKILL ends frozen tasks too; thawed for whoever reuses it */
	cg_write(path, "cgroup.freeze", "0");
	return n ? -EBUSY : 0;
}

int cgroup_enter(const char *dir, int pid)
{
	char path[PATH_MAX + 16], buf[32];
	int fd, n, ret = 0;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d\n", pid);
	if (write(fd, buf, (size_t)n) != n)
		ret = -errno;
	close(fd);
	return ret;
}
