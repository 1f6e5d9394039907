// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_rss: peak resident memory of one command.
 *
 *   bench_rss -o FILE CMD ARGS...
 *
 * Runs CMD (stdin, stdout and stderr inherited), waits for it and writes
 *   {"maxrss_kb":N,"status":N,"elapsed_ms":N}
 * to FILE: ru_maxrss of the child from wait4(), the child's exit status
 * (128+N for a signal) and its wall time. Exits with the child's status;
 * 2 on bad usage, 1 when CMD cannot be started.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include "toolkit.h"

int main(int argc, char *argv[])
{
	struct rusage ru;
	uint64_t t0, t1;
	int status, rc;
	pid_t pid;
	FILE *f;

	usage_error_prog = "bench_rss";
	if (argc == 2 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: bench_rss -o FILE CMD ARGS...\n");
		return EXIT_OK;
	}
	if (argc < 4 || strcmp(argv[1], "-o"))
		usage_error("usage: bench_rss -o FILE CMD ARGS...");
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "Error: bench_rss: fork: %s\n",
			strerror(errno));
		return EXIT_ERR;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		fprintf(stderr, "Error: bench_rss: exec %s: %s\n", argv[3],
			strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			return EXIT_ERR;
	t1 = now_ns();
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	f = fopen(argv[2], "we");
	if (!f) {
		fprintf(stderr, "Error: bench_rss: %s: %s\n", argv[2],
			strerror(errno));
		return EXIT_ERR;
	}
	fprintf(f, "{\"maxrss_kb\":%ld,\"status\":%d,\"elapsed_ms\":%llu}\n",
		ru.ru_maxrss, rc, (unsigned long long)((t1 - t0) / 1000000));
	if (fclose(f))
		return EXIT_ERR;
	return rc;
}
