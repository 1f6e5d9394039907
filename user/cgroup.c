// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cgroup.h"

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
