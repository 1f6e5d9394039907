// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "proc.h"

int proc_capture(char *const argv[], const char *const *paths, unsigned int flags,
		 int timeout_ms, char *out, size_t outlen)
{
	int pfd[2], status, devnull;
	size_t used = 0;
	pid_t pid;

	if (outlen)
		out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		int e = -errno;

		close(pfd[0]);
		close(pfd[1]);
		return e;
	}
	pid = fork();
	if (pid < 0) {
		int e = -errno;

		close(pfd[0]);
		close(pfd[1]);
		close(devnull);
		return e;
	}
	if (pid == 0) {
		static const char msg[] = "cannot execute the command\n";
		sigset_t none;
		int i;

		/* Only async-signal-safe calls from here on. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (i = 1; i < NSIG; i++)
			if (i != SIGKILL && i != SIGSTOP)
				signal(i, SIG_DFL);
		if (dup2(devnull, 0) < 0 ||
		    dup2(flags & PROC_CAPTURE_STDOUT ? pfd[1] : devnull, 1) < 0 ||
		    dup2(pfd[1], 2) < 0)
			_exit(127);
		umask(077);
		for (i = 0; paths && paths[i]; i++)
			execv(paths[i], argv);
		execvp(argv[0], argv);
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	close(devnull);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		char buf[256];
		ssize_t n;

		n = poll(&p, 1, timeout_ms > 0 ? timeout_ms : -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			kill(pid, SIGKILL);	/* our child, hung */
			break;
		}
		n = read(pfd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (outlen && used < outlen - 1) {
			size_t k = (size_t)n;

			if (k > outlen - 1 - used)
				k = outlen - 1 - used;
			memcpy(out + used, buf, k);
			used += k;
		}
	}
	if (outlen)
		out[used] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return status;
}

static void raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	/* without CAP_SYS_RESOURCE: as far as the hard limit goes */
	if (setrlimit(RLIMIT_NOFILE, &rl) && !getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

pid_t proc_start_service(const char *bin, char *const argv[], const char *cgroup_dir,
			 const char *log, rlim_t nofile)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t all;
		int fd;

		/* into the cgroup before anything else */
		if (cgroup_enter(cgroup_dir, getpid()))
			_exit(126);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			dup2(fd, STDIN_FILENO);
		/* its own process group: a terminal's Ctrl-C is ours to handle */
		setpgid(0, 0);
		if (nofile)
			raise_nofile(nofile);
		execv(bin, argv);
		_exit(127);
	}
	return pid;
}

void proc_stop_service(pid_t pid, int timeout_ms)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		if (waitpid(pid, &status, WNOHANG) != 0)
			return;
		nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}
