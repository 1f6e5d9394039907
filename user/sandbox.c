// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What `netfence run` does to its command besides the network policy (the
 * anchors are systemd's ProtectKernelTunables=, ProtectControlGroups=,
 * PrivateDevices=, RestrictAddressFamilies=, NoNewPrivileges= and Docker's
 * default seccomp profile and masked /proc paths). The cgroup hooks see
 * connect() and sendmsg(); the rest of the kernel's ways to carry bytes out
 * (usermode helpers started as root, multicast membership reports, vsock,
 * the caller's terminal) are closed here. docs/kernel-limits.md lists them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>

#include "sandbox.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC	0x63677270
#endif
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC		0xcafe4a11
#endif
#ifndef MCAST_JOIN_GROUP
#define MCAST_JOIN_GROUP	42
#endif
#ifndef MCAST_JOIN_SOURCE_GROUP
#define MCAST_JOIN_SOURCE_GROUP	46
#endif
#ifndef IPV6_JOIN_ANYCAST
#define IPV6_JOIN_ANYCAST	27
#endif

const char *sandbox_unsafe_fs(const char *path)
{
	struct statfs sf;

	if (statfs(path, &sf))
		return NULL;
	switch ((unsigned long)sf.f_type) {
	case CGROUP2_SUPER_MAGIC:
		return "cgroup2";
	case CGROUP_SUPER_MAGIC:
		return "cgroup";
	case BPF_FS_MAGIC:
		return "bpf";
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Mounts                                                              */
/* ------------------------------------------------------------------ */

/*
 * bpffs (the policy's pins) and every cgroup mount (cgroup.procs, and
 * clone3(CLONE_INTO_CGROUP) which a read-only mount does not stop), until
 * a pass finds none: mounts stack and nest.
 */
static int hide_policy_mounts(void)
{
	char line[4096], dev[256], dir[PATH_MAX], type[64];

	for (int pass = 0; pass < 16; pass++) {
		FILE *f = fopen("/proc/self/mounts", "re");
		int found = 0, failed = 0;

		if (!f)
			return -errno;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%255s %4095s %63s", dev, dir, type) != 3)
				continue;
			if (strcmp(type, "bpf") && strcmp(type, "cgroup2") &&
			    strcmp(type, "cgroup"))
				continue;
			found++;
			if (umount2(dir, MNT_DETACH))
				failed++;
		}
		fclose(f);
		if (!found)
			return 0;
		if (failed == found)
			return -EBUSY;
	}
	return -EBUSY;
}

/* One mount read-only and nosuid, its other flags kept (a bind remount sets them all). */
static int remount_ro(const char *mnt)
{
	static const struct {
		unsigned long st, ms;
	} keep[] = { { ST_NODEV, MS_NODEV },	     { ST_NOEXEC, MS_NOEXEC },
		     { ST_NOATIME, MS_NOATIME },   { ST_NODIRATIME, MS_NODIRATIME },
		     { ST_RELATIME, MS_RELATIME } };
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID;
	struct statvfs sv;

	if (statvfs(mnt, &sv))
		return -errno;
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (sv.f_flag & keep[i].st)
			flags |= keep[i].ms;
	return mount(NULL, mnt, NULL, flags, NULL) ? -errno : 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] && s[3]) {
			*d++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/* Kernels before 5.12 (no mount_setattr): every mount at or under path, one by one. */
static int readonly_tree(const char *path)
{
	char line[8192], mnt[PATH_MAX];
	size_t n = strlen(path);
	int ret = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -errno;
	while (!ret && fgets(line, sizeof(line), f)) {
		/* "36 35 98:0 /root /mnt/point rw,... */
		if (sscanf(line, "%*d %*d %*s %*s %4095s", mnt) != 1)
			continue;
		unescape(mnt);
		if (strncmp(mnt, path, n) || (mnt[n] && mnt[n] != '/' && strcmp(path, "/")))
			continue;
		ret = remount_ro(mnt);
		/* a mount over a file or under a hidden one may be gone by now */
		if (ret == -ENOENT)
			ret = 0;
	}
	fclose(f);
	return ret;
}

/* PATH and everything mounted under it read-only in this namespace. */
static int make_readonly(const char *path, bool bind)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID };

	if (bind && mount(path, path, NULL, MS_BIND | MS_REC, NULL))
		return -errno;
	if (!mount_setattr(AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof(attr)))
		return 0;
	if (errno != ENOSYS)
		return -errno;
	return readonly_tree(path);
}

/* A directory that exists and is not a symbolic link (/lib on merged /usr). */
static bool is_dir(const char *path)
{
	struct stat st;

	return !lstat(path, &st) && S_ISDIR(st.st_mode);
}

/*
 * /dev: a tmpfs with the harmless character devices, the host's /dev/pts
 * (the caller's terminal and new ptys) and a private /dev/shm. No disks,
 * no /dev/mem, no /dev/kmsg, no tun, no vsock, no other user's shm names.
 */
static int private_dev(char *err, size_t errlen)
{
	static const struct {
		const char *name;
		unsigned int maj, min;
	} nodes[] = { { "null", 1, 3 },	  { "zero", 1, 5 }, { "full", 1, 7 },
		      { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
		      { "ptmx", 5, 2 } };
	static const char *const links[][2] = { { "/proc/self/fd", "/dev/fd" },
						{ "/proc/self/fd/0", "/dev/stdin" },
						{ "/proc/self/fd/1", "/dev/stdout" },
						{ "/proc/self/fd/2", "/dev/stderr" } };
	char path[64];
	int pts, ret = 0;
	mode_t old = umask(0);

	pts = open_tree(AT_FDCWD, "/dev/pts", OPEN_TREE_CLONE | AT_RECURSIVE | O_CLOEXEC);
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1m")) {
		snprintf(err, errlen, "mount a tmpfs on /dev: %s", strerror(errno));
		ret = -errno;
		goto out;
	}
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(path, sizeof(path), "/dev/%s", nodes[i].name);
		if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min))) {
			snprintf(err, errlen, "mknod %s: %s", path, strerror(errno));
			ret = -errno;
			goto out;
		}
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (symlink(links[i][0], links[i][1])) {
			snprintf(err, errlen, "symlink %s: %s", links[i][1], strerror(errno));
			ret = -errno;
			goto out;
		}
	}
	if (mkdir("/dev/shm", 01777) ||
	    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")) {
		snprintf(err, errlen, "private /dev/shm: %s", strerror(errno));
		ret = -errno;
		goto out;
	}
	if (mkdir("/dev/pts", 0755) ||
	    (pts >= 0 && move_mount(pts, "", AT_FDCWD, "/dev/pts", MOVE_MOUNT_F_EMPTY_PATH))) {
		snprintf(err, errlen, "/dev/pts: %s", strerror(errno));
		ret = -errno;
		goto out;
	}
	/* nothing can be made or changed in /dev by the command */
	if (mount(NULL, "/dev", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC,
		  NULL)) {
		snprintf(err, errlen, "remount /dev read-only: %s", strerror(errno));
		ret = -errno;
	}
out:
	umask(old);
	if (pts >= 0)
		close(pts);
	return ret;
}

/* Kernel tunables and triggers a root command could write (Docker's list). */
static const char *const proc_readonly[] = { "/proc/sys",  "/proc/sysrq-trigger",
					     "/proc/irq",  "/proc/bus",
					     "/proc/fs",   "/proc/acpi",
					     "/proc/scsi", "/proc/driver" };
/* ... and read: kernel memory and other users' keys and timers */
static const char *const proc_masked[] = { "/proc/kcore", "/proc/keys", "/proc/timer_list",
					   "/proc/sched_debug", "/proc/latency_stats" };
/*
 * The host's programs, libraries and configuration (systemd's
 * ProtectSystem=full): no /etc/ld.so.preload, cron or systemd unit, no
 * binary replaced. /var, /root, /home, /tmp and /opt stay writable.
 */
/* Unix sockets of resolver daemons that answer every user (mode 0666). */
static const char *const resolver_sockets[] = {
	"/run/systemd/resolve/io.systemd.Resolve",
	"/run/systemd/resolve/io.systemd.Resolve.Monitor",
	"/run/nscd/socket",
	"/var/run/nscd/socket",
};

int sandbox_hide_resolvers(char *err, size_t errlen)
{
	struct stat st;

	for (size_t i = 0; i < sizeof(resolver_sockets) / sizeof(resolver_sockets[0]); i++) {
		if (lstat(resolver_sockets[i], &st) || !S_ISSOCK(st.st_mode))
			continue;
		if (mount("/dev/null", resolver_sockets[i], NULL, MS_BIND, NULL)) {
			snprintf(err, errlen, "mask %s: %s", resolver_sockets[i],
				 strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static const char *const system_readonly[] = { "/usr",	 "/etc", "/boot",
						"/efi",	 "/bin", "/sbin",
						"/lib",	 "/lib32", "/lib64",
						"/libx32", "/var/spool/cron" };

int sandbox_mounts(char *err, size_t errlen)
{
	char cwd[PATH_MAX];
	struct stat st;
	const char *fs;
	int ret;

	if (!getcwd(cwd, sizeof(cwd))) {
		snprintf(err, errlen, "the working directory: %s", strerror(errno));
		return -errno;
	}
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL)) {
		snprintf(err, errlen, "a mount namespace of its own: %s", strerror(errno));
		return -errno;
	}
	ret = hide_policy_mounts();
	if (ret) {
		snprintf(err, errlen, "cannot hide the bpf and cgroup mounts: %s",
			 strerror(-ret));
		return ret;
	}
	/* a /proc of the PID namespace: no other process of the host in it */
	if (umount2("/proc", MNT_DETACH) ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		snprintf(err, errlen, "mount /proc: %s", strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < sizeof(proc_readonly) / sizeof(proc_readonly[0]); i++) {
		if (stat(proc_readonly[i], &st))
			continue;
		ret = make_readonly(proc_readonly[i], true);
		if (ret) {
			snprintf(err, errlen, "%s read-only: %s", proc_readonly[i],
				 strerror(-ret));
			return ret;
		}
	}
	if (!stat("/sys", &st)) {
		ret = make_readonly("/sys", false);
		if (ret) {
			snprintf(err, errlen, "/sys read-only: %s", strerror(-ret));
			return ret;
		}
	}
	for (size_t i = 0; i < sizeof(system_readonly) / sizeof(system_readonly[0]); i++) {
		if (!is_dir(system_readonly[i]))
			continue;
		ret = make_readonly(system_readonly[i], true);
		if (ret) {
			snprintf(err, errlen, "%s read-only: %s", system_readonly[i],
				 strerror(-ret));
			return ret;
		}
	}
	ret = private_dev(err, errlen);
	if (ret)
		return ret;
	for (size_t i = 0; i < sizeof(proc_masked) / sizeof(proc_masked[0]); i++) {
		if (stat(proc_masked[i], &st))
			continue;
		if (mount("/dev/null", proc_masked[i], NULL, MS_BIND, NULL)) {
			snprintf(err, errlen, "mask %s: %s", proc_masked[i], strerror(errno));
			return -errno;
		}
	}
	/* the old working directory is a view from before the mounts */
	if (chdir(cwd)) {
		snprintf(err, errlen, "the working directory %s: %s", cwd, strerror(errno));
		return -errno;
	}
	fs = sandbox_unsafe_fs(".");
	if (fs) {
		snprintf(err, errlen, "the working directory %s is on %s", cwd, fs);
		return -EPERM;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Capabilities                                                        */
/* ------------------------------------------------------------------ */

/*
 * What a root command needs to be root in its own files (own, chmod, read
 * and write any file the mounts leave writable), to change its user (su,
 * setpriv), to signal its own processes (the PID namespace holds no other),
 * to bind a low port and to chroot. Everything else goes, CAP_NET_RAW,
 * CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_BPF, CAP_SYS_MODULE, CAP_SYS_BOOT,
 * CAP_MKNOD and CAP_DAC_READ_SEARCH (open_by_handle_at) among them.
 */
const int sandbox_kept_caps[] = { CAP_CHOWN,	    CAP_DAC_OVERRIDE, CAP_FOWNER,
				  CAP_FSETID,	    CAP_KILL,	      CAP_SETGID,
				  CAP_SETUID,	    CAP_NET_BIND_SERVICE,
				  CAP_SYS_CHROOT,   CAP_AUDIT_WRITE,  -1 };

int sandbox_caps(char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	uint32_t keep[2] = { 0, 0 };

	for (const int *c = sandbox_kept_caps; *c >= 0; c++)
		keep[*c / 32] |= 1u << (*c % 32);
	for (int c = 0; c < 64; c++) {
		if (keep[c / 32] & (1u << (c % 32)))
			continue;
		/* EINVAL: past the last capability this kernel has */
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL) {
			snprintf(err, errlen, "drop capability %d: %s", c, strerror(errno));
			return -errno;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL) {
		snprintf(err, errlen, "clear ambient capabilities: %s", strerror(errno));
		return -errno;
	}
	if (syscall(SYS_capget, &hdr, data)) {
		snprintf(err, errlen, "capget: %s", strerror(errno));
		return -errno;
	}
	for (int i = 0; i < 2; i++) {
		data[i].effective &= keep[i];
		data[i].permitted &= keep[i];
		data[i].inheritable &= keep[i];
	}
	if (syscall(SYS_capset, &hdr, data)) {
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* seccomp                                                             */
/* ------------------------------------------------------------------ */

/* Refused with EPERM, whatever the arguments (names libseccomp may not know are skipped). */
static const char *const refused_syscalls[] = {
	/* the kernel's own code and its helpers */
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
	"reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "uselib",
	"iopl", "ioperm", "lookup_dcookie",
	/* programs in the kernel, counters, keys */
	"bpf", "perf_event_open", "keyctl", "add_key", "request_key",
	/* mounts (the sandbox's are fixed) and namespaces */
	"mount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick",
	"open_tree", "move_mount", "mount_setattr", "setns",
	/* io_uring makes sockets and sets options without the calls below */
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	/* file handles outside the mounts, page-fault games */
	"open_by_handle_at", "name_to_handle_at", "userfaultfd",
};

/* Socket families a sandboxed command may create; EAFNOSUPPORT for the rest. */
static const int allowed_families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK };

/* setsockopt(level, name) pairs refused: joining a multicast group. */
static const struct {
	int level, name;
} refused_sockopts[] = {
	{ SOL_IP, IP_ADD_MEMBERSHIP },	     { SOL_IP, IP_ADD_SOURCE_MEMBERSHIP },
	{ SOL_IP, MCAST_JOIN_GROUP },	     { SOL_IP, MCAST_JOIN_SOURCE_GROUP },
	{ SOL_IPV6, IPV6_ADD_MEMBERSHIP },   { SOL_IPV6, IPV6_JOIN_ANYCAST },
	{ SOL_IPV6, MCAST_JOIN_GROUP },	     { SOL_IPV6, MCAST_JOIN_SOURCE_GROUP },
};

static const unsigned long ns_flags[] = { CLONE_NEWNS,	 CLONE_NEWCGROUP, CLONE_NEWUTS,
					  CLONE_NEWIPC,	 CLONE_NEWUSER,	  CLONE_NEWPID,
					  CLONE_NEWNET,	 CLONE_NEWTIME };

/* int arguments: the kernel reads the low 32 bits only, so compare those */
#define LOW32	0xffffffffULL

static int build_filter(scmp_filter_ctx ctx)
{
	int ret, nr;

	/*
	 * Only the native ABI: a 32-bit (int 0x80, i386) or x32 system call
	 * would go around the argument checks (i386 socketcall() hides its
	 * arguments in memory); the process is killed instead.
	 */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (ret)
		return ret;
	for (size_t i = 0; i < sizeof(refused_syscalls) / sizeof(refused_syscalls[0]); i++) {
		nr = seccomp_syscall_resolve_name(refused_syscalls[i]);
		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue;
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (ret)
			return ret;
	}
	/* glibc falls back to clone(), whose flags can be checked */
	ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	for (size_t i = 0; !ret && i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++) {
		if (ns_flags[i] != CLONE_NEWTIME)	/* CSIGNAL bits for clone */
			ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
					       SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i],
						       ns_flags[i]));
		if (!ret)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
					       SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i],
						       ns_flags[i]));
	}
	/* families: every value up to the largest allowed one that is not allowed, and above */
	for (int fam = 0; !ret && fam <= AF_NETLINK; fam++) {
		bool ok = false;

		for (size_t i = 0; i < sizeof(allowed_families) / sizeof(allowed_families[0]); i++)
			ok |= fam == allowed_families[i];
		if (!ok)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
					       SCMP_A0(SCMP_CMP_MASKED_EQ, LOW32, fam));
	}
	if (!ret)	/* 64-bit compare: any high bit refuses too */
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_GT, AF_NETLINK));
	for (size_t i = 0; !ret && i < sizeof(refused_sockopts) / sizeof(refused_sockopts[0]); i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setsockopt), 2,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, LOW32, refused_sockopts[i].level),
				       SCMP_A2(SCMP_CMP_MASKED_EQ, LOW32, refused_sockopts[i].name));
	/* typing into a terminal, and the Linux console's equivalent */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, LOW32, TIOCSTI));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, LOW32, TIOCLINUX));
	return ret;
}

int sandbox_seccomp(char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	int ret;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -errno;
	}
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return -ENOMEM;
	}
	ret = build_filter(ctx);
	if (!ret)
		ret = seccomp_load(ctx);
	if (ret)
		snprintf(err, errlen, "seccomp filter: %s", strerror(-ret));
	seccomp_release(ctx);
	return ret;
}

/* ------------------------------------------------------------------ */
/* pid 1                                                               */
/* ------------------------------------------------------------------ */

int sandbox_reap(pid_t cmd)
{
	sigset_t set;
	int status, sig, code = 126;
	pid_t pid;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		/* orphans of the command are ours: reap them all */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid != cmd)
				continue;
			if (WIFEXITED(status))
				code = WEXITSTATUS(status);
			else if (WIFSIGNALED(status))
				code = 128 + WTERMSIG(status);
			/* leaving kills what the command left in the namespace */
			return code;
		}
		if (pid < 0 && errno == ECHILD)
			return code;
		sig = sigwaitinfo(&set, NULL);
		if (sig > 0 && sig != SIGCHLD)
			kill(cmd, sig);
	}
}
