// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_bpfstat: what the BPF programs on some cgroups cost, in time and in
 * memory, from the kernel's own accounting.
 *
 *   bench_bpfstat progs CGROUP_DIR...
 *   bench_bpfstat measure [-s SETTLE_MS] -o FILE CGROUP_DIR... -- CMD ARGS...
 *   bench_bpfstat maps CGROUP_DIR...
 *   bench_bpfstat calibrate [-N COUNT] CGROUP_DIR
 *
 * progs    every program attached directly to the cgroups (all cgroup
 *          attach types), with run_time_ns and run_cnt.
 * measure  turns the kernel's BPF run-time statistics on with
 *          BPF_ENABLE_STATS (the file-descriptor form of
 *          kernel.bpf_stats_enabled: they are off again as soon as this
 *          process exits, however it exits, and the sysctl is never
 *          written), reads the counters, runs CMD (stdout and stderr
 *          inherited), waits SETTLE_MS (default 100) for work CMD caused
 *          elsewhere (a server's accept), reads them again and writes the
 *          differences to FILE. Exits with CMD's status.
 * maps     the maps those programs use, and the inner maps of their
 *          map-in-map maps, with the kernel's memory figure for each
 *          ("memlock" in /proc/self/fdinfo, what bpftool shows), and the
 *          programs' own memlock.
 * calibrate the floor of the statistics: loads an empty program ("return
 *          1") on CGROUP_DIR's inet socket creation hook through a BPF
 *          link (gone when this process exits), creates COUNT (default
 *          20000) UDP sockets from a child in that cgroup with the
 *          statistics on, and prints the empty program's time per call:
 *          what every program run costs in the statistics alone (two clock
 *          reads around it). The cgroup should be an empty one of its own.
 *
 * Output is one JSON object on stdout (measure: in FILE). No libbpf: the
 * bpf() system call directly. Exit status: 0 ok, 1 error, 2 bad usage.
 */
#include <getopt.h>
#include <signal.h>
#include <linux/bpf.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "toolkit.h"

#define MAX_PROGS 128
#define MAX_MAPS 256
#define MAX_IDS 64

static const struct {
	enum bpf_attach_type type;
	const char *name;
} attach_types[] = {
	{ BPF_CGROUP_INET_INGRESS, "cgroup_inet_ingress" },
	{ BPF_CGROUP_INET_EGRESS, "cgroup_inet_egress" },
	{ BPF_CGROUP_INET_SOCK_CREATE, "cgroup_inet_sock_create" },
	{ BPF_CGROUP_INET_SOCK_RELEASE, "cgroup_inet_sock_release" },
	{ BPF_CGROUP_SOCK_OPS, "cgroup_sock_ops" },
	{ BPF_CGROUP_INET4_BIND, "cgroup_inet4_bind" },
	{ BPF_CGROUP_INET6_BIND, "cgroup_inet6_bind" },
	{ BPF_CGROUP_INET4_CONNECT, "cgroup_inet4_connect" },
	{ BPF_CGROUP_INET6_CONNECT, "cgroup_inet6_connect" },
	{ BPF_CGROUP_INET4_POST_BIND, "cgroup_inet4_post_bind" },
	{ BPF_CGROUP_INET6_POST_BIND, "cgroup_inet6_post_bind" },
	{ BPF_CGROUP_UDP4_SENDMSG, "cgroup_udp4_sendmsg" },
	{ BPF_CGROUP_UDP6_SENDMSG, "cgroup_udp6_sendmsg" },
	{ BPF_CGROUP_UDP4_RECVMSG, "cgroup_udp4_recvmsg" },
	{ BPF_CGROUP_UDP6_RECVMSG, "cgroup_udp6_recvmsg" },
	{ BPF_CGROUP_GETSOCKOPT, "cgroup_getsockopt" },
	{ BPF_CGROUP_SETSOCKOPT, "cgroup_setsockopt" },
	{ BPF_CGROUP_INET4_GETPEERNAME, "cgroup_inet4_getpeername" },
	{ BPF_CGROUP_INET6_GETPEERNAME, "cgroup_inet6_getpeername" },
	{ BPF_CGROUP_INET4_GETSOCKNAME, "cgroup_inet4_getsockname" },
	{ BPF_CGROUP_INET6_GETSOCKNAME, "cgroup_inet6_getsockname" },
	{ BPF_CGROUP_DEVICE, "cgroup_device" },
	{ BPF_CGROUP_SYSCTL, "cgroup_sysctl" },
	{ BPF_LSM_CGROUP, "lsm_cgroup" },
};

#define N_ATTACH_TYPES (sizeof(attach_types) / sizeof(attach_types[0]))

struct prog {
	uint32_t id;
	int fd;
	const char *cgroup;
	const char *attach;
	char name[BPF_OBJ_NAME_LEN];
	uint64_t run_time_ns, run_cnt;
	uint32_t jited_len;
	unsigned long long memlock;
	uint32_t nr_map_ids;
	uint32_t map_ids[MAX_IDS];
};

static struct prog progs[MAX_PROGS];
static int nprogs;

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* "memlock:" from /proc/self/fdinfo/FD, 0 when absent. */
static unsigned long long fdinfo_memlock(int fd)
{
	char path[64], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int prog_info(struct prog *p)
{
	struct bpf_prog_info info;
	union bpf_attr attr;

	memset(&info, 0, sizeof(info));
	info.nr_map_ids = MAX_IDS;
	info.map_ids = (uint64_t)(unsigned long)p->map_ids;
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = (uint32_t)p->fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (uint64_t)(unsigned long)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr))
		return -errno;
	memcpy(p->name, info.name, sizeof(p->name));
	p->name[sizeof(p->name) - 1] = '\0';
	p->run_time_ns = info.run_time_ns;
	p->run_cnt = info.run_cnt;
	p->jited_len = info.jited_prog_len;
	p->nr_map_ids = info.nr_map_ids < MAX_IDS ? info.nr_map_ids : MAX_IDS;
	p->memlock = fdinfo_memlock(p->fd);
	return 0;
}

/* Every program attached directly to the cgroup DIR. */
static int collect(const char *dir)
{
	uint32_t ids[MAX_PROGS];
	union bpf_attr attr;
	size_t t;
	int cfd;

	cfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0) {
		fprintf(stderr, "Error: bench_bpfstat: open %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	for (t = 0; t < N_ATTACH_TYPES; t++) {
		uint32_t i;

		memset(&attr, 0, sizeof(attr));
		attr.query.target_fd = (uint32_t)cfd;
		attr.query.attach_type = attach_types[t].type;
		attr.query.prog_ids = (uint64_t)(unsigned long)ids;
		attr.query.prog_cnt = MAX_PROGS;
		if (sys_bpf(BPF_PROG_QUERY, &attr))
			continue; /* a type this kernel does not know */
		for (i = 0; i < attr.query.prog_cnt && i < MAX_PROGS; i++) {
			struct prog *p;
			union bpf_attr a;
			int j, dup = 0;

			for (j = 0; j < nprogs; j++)
				dup |= progs[j].id == ids[i];
			if (dup || nprogs == MAX_PROGS)
				continue;
			p = &progs[nprogs];
			memset(p, 0, sizeof(*p));
			memset(&a, 0, sizeof(a));
			a.prog_id = ids[i];
			p->fd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
			if (p->fd < 0)
				continue; /* detached meanwhile */
			p->id = ids[i];
			p->cgroup = dir;
			p->attach = attach_types[t].name;
			if (prog_info(p)) {
				close(p->fd);
				continue;
			}
			nprogs++;
		}
	}
	close(cfd);
	return 0;
}

static int collect_all(int argc, char *argv[])
{
	int i;

	if (argc < 1)
		usage_error("want at least one CGROUP_DIR");
	for (i = 0; i < argc; i++)
		if (collect(argv[i]))
			return -1;
	return 0;
}

static void print_prog(FILE *f, const struct prog *p, uint64_t time_ns,
		       uint64_t cnt)
{
	fprintf(f, "{\"id\":%u,\"name\":", p->id);
	json_str_esc(f, p->name, strlen(p->name), false);
	fprintf(f, ",\"attach\":\"%s\",\"cgroup\":", p->attach);
	json_str_esc(f, p->cgroup, strlen(p->cgroup), false);
	fprintf(f,
		",\"run_time_ns\":%llu,\"run_cnt\":%llu,"
		"\"jited_bytes\":%u,\"memlock\":%llu}",
		(unsigned long long)time_ns, (unsigned long long)cnt,
		p->jited_len, p->memlock);
}

static int cmd_progs(int argc, char *argv[])
{
	int i;

	if (collect_all(argc, argv))
		return EXIT_ERR;
	printf("{\"progs\":[");
	for (i = 0; i < nprogs; i++) {
		if (i)
			putchar(',');
		print_prog(stdout, &progs[i], progs[i].run_time_ns,
			   progs[i].run_cnt);
	}
	printf("]}\n");
	return EXIT_OK;
}

static int cmd_measure(int argc, char *argv[])
{
	uint64_t t0[MAX_PROGS], c0[MAX_PROGS];
	unsigned long settle = 100;
	const char *out = NULL;
	union bpf_attr attr;
	int c, i, ncg, sfd, status, rc;
	pid_t pid;
	FILE *f;

	optind = 1;
	while ((c = getopt(argc, argv, "+s:o:")) != -1) {
		switch (c) {
		case 's':
			if (!parse_ulong(optarg, 0, 10000, &settle))
				usage_error("measure: bad -s '%s' "
					    "(0..10000 ms)",
					    optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			usage_error("measure: unknown option");
		}
	}
	if (!out)
		usage_error("measure: -o FILE is required");
	for (ncg = 0; optind + ncg < argc; ncg++)
		if (!strcmp(argv[optind + ncg], "--"))
			break;
	if (optind + ncg >= argc || optind + ncg + 1 >= argc)
		usage_error("measure: want CGROUP_DIR... -- CMD ARGS...");
	if (collect_all(ncg, argv + optind))
		return EXIT_ERR;

	memset(&attr, 0, sizeof(attr));
	attr.enable_stats.type = BPF_STATS_RUN_TIME;
	sfd = (int)sys_bpf(BPF_ENABLE_STATS, &attr);
	if (sfd < 0) {
		fprintf(stderr, "Error: bench_bpfstat: BPF_ENABLE_STATS: %s\n",
			strerror(errno));
		return EXIT_ERR;
	}
	for (i = 0; i < nprogs; i++) {
		prog_info(&progs[i]);
		t0[i] = progs[i].run_time_ns;
		c0[i] = progs[i].run_cnt;
	}

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "Error: bench_bpfstat: fork: %s\n",
			strerror(errno));
		return EXIT_ERR;
	}
	if (pid == 0) {
		close(sfd);
		execvp(argv[optind + ncg + 1], argv + optind + ncg + 1);
		fprintf(stderr, "Error: bench_bpfstat: exec %s: %s\n",
			argv[optind + ncg + 1], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EXIT_ERR;
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	usleep((useconds_t)settle * 1000);
	for (i = 0; i < nprogs; i++)
		prog_info(&progs[i]);
	close(sfd);

	f = fopen(out, "we");
	if (!f) {
		fprintf(stderr, "Error: bench_bpfstat: %s: %s\n", out,
			strerror(errno));
		return EXIT_ERR;
	}
	fprintf(f, "{\"status\":%d,\"progs\":[", rc);
	for (i = 0; i < nprogs; i++) {
		if (i)
			fputc(',', f);
		print_prog(f, &progs[i], progs[i].run_time_ns - t0[i],
			   progs[i].run_cnt - c0[i]);
	}
	fprintf(f, "]}\n");
	if (fclose(f))
		return EXIT_ERR;
	return rc;
}

static const char *map_type_name(uint32_t t)
{
	switch (t) {
	case BPF_MAP_TYPE_HASH:
		return "hash";
	case BPF_MAP_TYPE_ARRAY:
		return "array";
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		return "percpu_array";
	case BPF_MAP_TYPE_LRU_HASH:
		return "lru_hash";
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
		return "array_of_maps";
	case BPF_MAP_TYPE_HASH_OF_MAPS:
		return "hash_of_maps";
	case BPF_MAP_TYPE_SK_STORAGE:
		return "sk_storage";
	case BPF_MAP_TYPE_RINGBUF:
		return "ringbuf";
	case BPF_MAP_TYPE_PERCPU_HASH:
		return "percpu_hash";
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		return "lru_percpu_hash";
	default:
		return "other";
	}
}

struct mapent {
	uint32_t id;
	int fd;
	struct bpf_map_info info;
	unsigned long long memlock;
	bool inner;
};

static struct mapent maps[MAX_MAPS];
static int nmaps;

static void add_map(uint32_t id, bool inner)
{
	union bpf_attr attr;
	struct mapent *m;
	int i;

	for (i = 0; i < nmaps; i++)
		if (maps[i].id == id)
			return;
	if (nmaps == MAX_MAPS)
		return;
	m = &maps[nmaps];
	memset(m, 0, sizeof(*m));
	memset(&attr, 0, sizeof(attr));
	attr.map_id = id;
	m->fd = (int)sys_bpf(BPF_MAP_GET_FD_BY_ID, &attr);
	if (m->fd < 0)
		return;
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = (uint32_t)m->fd;
	attr.info.info_len = sizeof(m->info);
	attr.info.info = (uint64_t)(unsigned long)&m->info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr)) {
		close(m->fd);
		return;
	}
	m->id = id;
	m->inner = inner;
	m->memlock = fdinfo_memlock(m->fd);
	nmaps++;
}

/* The inner maps of a map-in-map: its values are map ids from user space. */
static void add_inner_maps(const struct mapent *outer)
{
	unsigned char key[64], next[64];
	union bpf_attr attr;
	uint32_t inner_id;
	bool first = true;

	if (outer->info.key_size > sizeof(key) ||
	    outer->info.value_size != sizeof(inner_id))
		return;
	for (;;) {
		memset(&attr, 0, sizeof(attr));
		attr.map_fd = (uint32_t)outer->fd;
		attr.key = first ? 0 : (uint64_t)(unsigned long)key;
		attr.next_key = (uint64_t)(unsigned long)next;
		if (sys_bpf(BPF_MAP_GET_NEXT_KEY, &attr))
			break;
		first = false;
		memcpy(key, next, outer->info.key_size);
		memset(&attr, 0, sizeof(attr));
		attr.map_fd = (uint32_t)outer->fd;
		attr.key = (uint64_t)(unsigned long)key;
		attr.value = (uint64_t)(unsigned long)&inner_id;
		if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr) == 0)
			add_map(inner_id, true);
	}
}

static int cmd_maps(int argc, char *argv[])
{
	unsigned long long total = 0, ptotal = 0, jtotal = 0;
	int i, n, j;

	if (collect_all(argc - 1, argv + 1))
		return EXIT_ERR;
	for (i = 0; i < nprogs; i++) {
		for (j = 0; j < (int)progs[i].nr_map_ids; j++)
			add_map(progs[i].map_ids[j], false);
		ptotal += progs[i].memlock;
		jtotal += progs[i].jited_len;
	}
	n = nmaps;
	for (i = 0; i < n; i++)
		if (maps[i].info.type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
		    maps[i].info.type == BPF_MAP_TYPE_HASH_OF_MAPS)
			add_inner_maps(&maps[i]);

	printf("{\"maps\":[");
	for (i = 0; i < nmaps; i++) {
		const struct mapent *m = &maps[i];

		total += m->memlock;
		if (i)
			putchar(',');
		printf("{\"id\":%u,\"name\":", m->id);
		json_str_esc(stdout, m->info.name, strlen(m->info.name), false);
		printf(",\"type\":\"%s\",\"max_entries\":%u,\"key_size\":%u,"
		       "\"value_size\":%u,\"inner\":%s,\"memlock\":%llu}",
		       map_type_name(m->info.type), m->info.max_entries,
		       m->info.key_size, m->info.value_size,
		       m->inner ? "true" : "false", m->memlock);
	}
	printf("],\"maps_memlock\":%llu,\"progs\":%d,\"progs_memlock\":%llu,"
	       "\"progs_jited_bytes\":%llu}\n",
	       total, nprogs, ptotal, jtotal);
	return EXIT_OK;
}

/* The child of calibrate: join the cgroup, make and close COUNT sockets. */
static void __attribute__((noreturn))
calibrate_child(const char *dir, unsigned long count)
{
	unsigned long i;
	int fd;

	join_cgroup(dir);
	for (i = 0; i < count; i++) {
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			_exit(EXIT_ERR);
		close(fd);
	}
	_exit(EXIT_OK);
}

static int cmd_calibrate(int argc, char *argv[])
{
	/* r0 = 1; exit */
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = BPF_REG_0,
		  .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	unsigned long count = 20000;
	int c, cfd = -1, pfd = -1, lfd = -1, sfd = -1, status;
	int rc = EXIT_ERR;
	struct prog p;
	union bpf_attr attr;
	const char *dir;
	pid_t pid;

	optind = 1;
	while ((c = getopt(argc, argv, "+N:")) != -1) {
		if (c != 'N' || !parse_ulong(optarg, 1, 10000000, &count))
			usage_error("calibrate: want [-N COUNT] CGROUP_DIR");
	}
	if (argc - optind != 1)
		usage_error("calibrate: want [-N COUNT] CGROUP_DIR");
	dir = argv[optind];
	cfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0) {
		fprintf(stderr, "Error: bench_bpfstat: open %s: %s\n", dir,
			strerror(errno));
		return EXIT_ERR;
	}

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_SOCK;
	attr.expected_attach_type = BPF_CGROUP_INET_SOCK_CREATE;
	attr.insns = (uint64_t)(unsigned long)insns;
	attr.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	attr.license = (uint64_t)(unsigned long)"GPL";
	snprintf(attr.prog_name, sizeof(attr.prog_name), "nfbench_empty");
	pfd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	if (pfd < 0) {
		fprintf(stderr, "Error: bench_bpfstat: load: %s\n",
			strerror(errno));
		goto out;
	}
	memset(&attr, 0, sizeof(attr));
	attr.link_create.prog_fd = (uint32_t)pfd;
	attr.link_create.target_fd = (uint32_t)cfd;
	attr.link_create.attach_type = BPF_CGROUP_INET_SOCK_CREATE;
	lfd = (int)sys_bpf(BPF_LINK_CREATE, &attr);
	if (lfd < 0) {
		fprintf(stderr, "Error: bench_bpfstat: link %s: %s\n", dir,
			strerror(errno));
		goto out;
	}
	memset(&attr, 0, sizeof(attr));
	attr.enable_stats.type = BPF_STATS_RUN_TIME;
	sfd = (int)sys_bpf(BPF_ENABLE_STATS, &attr);
	if (sfd < 0) {
		fprintf(stderr, "Error: bench_bpfstat: BPF_ENABLE_STATS: %s\n",
			strerror(errno));
		goto out;
	}

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0)
		calibrate_child(dir, count);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			goto out;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "Error: bench_bpfstat: calibrate: the socket "
				"loop failed\n");
		goto out;
	}
	memset(&p, 0, sizeof(p));
	p.fd = pfd;
	if (prog_info(&p))
		goto out;
	printf("{\"calls\":%llu,\"run_time_ns\":%llu,\"ns_per_call\":%.1f}\n",
	       (unsigned long long)p.run_cnt, (unsigned long long)p.run_time_ns,
	       p.run_cnt ? (double)p.run_time_ns / (double)p.run_cnt : 0.0);
	rc = EXIT_OK;
out:
	if (sfd >= 0)
		close(sfd);
	if (lfd >= 0)
		close(lfd); /* the last reference: detached */
	if (pfd >= 0)
		close(pfd);
	close(cfd);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_bpfstat progs CGROUP_DIR...\n"
		"       bench_bpfstat measure [-s SETTLE_MS] -o FILE CGROUP_DIR... -- CMD ARGS...\n"
		"       bench_bpfstat maps CGROUP_DIR...\n"
		"       bench_bpfstat calibrate [-N COUNT] CGROUP_DIR\n");
}

int main(int argc, char *argv[])
{
	usage_error_prog = "bench_bpfstat";
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "progs"))
		return cmd_progs(argc - 2, argv + 2);
	if (!strcmp(argv[1], "measure"))
		return cmd_measure(argc - 1, argv + 1);
	if (!strcmp(argv[1], "maps"))
		return cmd_maps(argc - 1, argv + 1);
	if (!strcmp(argv[1], "calibrate"))
		return cmd_calibrate(argc - 1, argv + 1);
	usage_error("unknown command '%s' (progs, measure, maps, calibrate)",
		    argv[1]);
}
