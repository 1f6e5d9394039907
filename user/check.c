// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The probe engine behind `netfence check` (cmd_check.c), and behind attach's
 * and run's failure wording: which of the kernel features and tools netfence
 * needs are here, one line each, saying what a missing one means for the user.
 *
 * The BPF lists come from netfence's own object, so that a hook added to
 * bpf/ is probed without touching this file: each map type and program type
 * with libbpf's probes, each attach type by loading a two-instruction program
 * and attaching it with a BPF link to a throwaway cgroup, then the whole
 * object through the verifier and attached there too. The throwaway cgroup,
 * "netfence-check-<pid>" under the cgroup2 mount, is removed before check
 * returns (signals wait until then); nothing is pinned.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "check.h"
#include "enforce.h"
#include "json.h"
#include "linkage.h"
#include "log.h"
#include "dnsmasq.h"
#include "proc.h"
#include "squid.h"
#include "netfence.skel.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Capability numbers (linux/capability.h), also where the headers are old. */
#define NF_CAP_NET_ADMIN	12
#define NF_CAP_SYS_ADMIN	21
#define NF_CAP_BPF		39

#define BTF_VMLINUX	"/sys/kernel/btf/vmlinux"
#define CHECK_CG_PREFIX	"netfence-check-"
#define CHECK_PROG_NAME	"nfchk_probe"	/* the tiny programs' name */

/* What each kernel feature is for, and the Linux version that brought it. */
struct feature_info {
	int type;
	const char *what;
	const char *since;
};

static const struct feature_info map_info[] = {
	{ BPF_MAP_TYPE_ARRAY, "policy slots and the gate", "3.19" },
	{ BPF_MAP_TYPE_HASH, "host bypass pairs", "3.19" },
	{ BPF_MAP_TYPE_PERCPU_ARRAY, "verdict counters", "4.6" },
	{ BPF_MAP_TYPE_LRU_HASH, "original-destination records for the proxy", "4.10" },
	{ BPF_MAP_TYPE_ARRAY_OF_MAPS, "replacing the host bypass atomically", "4.12" },
	{ BPF_MAP_TYPE_SK_STORAGE, "refused UDP connects, DNS sockets' resolvers", "5.2" },
	{ BPF_MAP_TYPE_RINGBUF, "verdict events", "5.8" },
};

static const struct feature_info prog_info[] = {
	{ BPF_PROG_TYPE_CGROUP_SKB, "the egress packet filter", "4.10" },
	{ BPF_PROG_TYPE_CGROUP_SOCK, "refusing sockets that are not plain TCP or UDP", "4.10" },
	{ BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "connect, sendmsg and getpeername verdicts", "4.17" },
	{ BPF_PROG_TYPE_CGROUP_SOCKOPT, "SO_ORIGINAL_DST answers, multicast joins refused", "5.3" },
	{ BPF_PROG_TYPE_LSM, "refusing sockets of other address families", "5.7" },
	{ BPF_PROG_TYPE_SCHED_CLS, "the packet filter on an agent's veth (attach --veth)", "4.1" },
};

static const struct feature_info attach_info[] = {
	{ BPF_CGROUP_INET_EGRESS, "every packet the agent sends, checked", "4.10" },
	{ BPF_CGROUP_INET_SOCK_CREATE, "raw, ICMP, SCTP and other sockets refused", "4.10" },
	{ BPF_CGROUP_INET4_CONNECT, "IPv4 connect() verdicts and redirects", "4.17" },
	{ BPF_CGROUP_INET6_CONNECT, "IPv6 and v4-mapped connect() verdicts", "4.17" },
	{ BPF_CGROUP_UDP4_SENDMSG, "unconnected UDP sends (IPv4)", "4.18" },
	{ BPF_CGROUP_UDP6_SENDMSG, "unconnected UDP sends (IPv6)", "4.18" },
	{ BPF_CGROUP_GETSOCKOPT, "SO_ORIGINAL_DST answers on the proxy's cgroup", "5.3" },
	{ BPF_CGROUP_SETSOCKOPT, "multicast group joins refused", "5.3" },
	{ BPF_CGROUP_INET_SOCK_RELEASE, "redirected connections counted until closed (--max-connections)", "5.9" },
	{ BPF_CGROUP_INET4_GETPEERNAME, "getpeername() of redirected IPv4 sockets", "5.8" },
	{ BPF_CGROUP_INET6_GETPEERNAME, "getpeername() of redirected IPv6 sockets", "5.8" },
	{ BPF_CGROUP_UDP4_RECVMSG, "DNS filter replies shown from the resolver asked (IPv4)", "5.2" },
	{ BPF_CGROUP_UDP6_RECVMSG, "DNS filter replies shown from the resolver asked (IPv6)", "5.2" },
	{ BPF_CGROUP_INET_INGRESS, "refused DNS queries as events (the filter's replies)", "4.10" },
	{ BPF_LSM_CGROUP, "other address families refused per cgroup", "6.0" },
};

static const struct feature_info *info_of(const struct feature_info *t, size_t n,
					  int type)
{
	static const struct feature_info unknown = { 0, "a part of netfence", "?" };

	for (size_t i = 0; i < n; i++) {
		if (t[i].type == type)
			return &t[i];
	}
	return &unknown;
}

/* ---------------------------------------------------------------------- */
/* Pure helpers                                                           */
/* ---------------------------------------------------------------------- */

int capeff_parse(const char *status, uint64_t *caps)
{
	const char *p = status;

	while (p && *p) {
		if (!strncmp(p, "CapEff:", 7)) {
			char *end;

			p += 7;
			while (*p == ' ' || *p == '\t')
				p++;
			errno = 0;
			*caps = strtoull(p, &end, 16);
			if (end == p || errno || (*end && *end != '\n'))
				return -EINVAL;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

/* A whole word (delimited by space, quote or line end) in text. */
static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = text; (p = strstr(p, word)); p += n) {
		char before = p == text ? ' ' : p[-1];
		char after = p[n];

		if ((before == ' ' || before == '\'' || before == '\n' ||
		     before == '\t') &&
		    (after == ' ' || after == '\'' || after == '\n' ||
		     after == '\t' || after == '\0' || after == '='))
			return true;
	}
	return false;
}

unsigned int squid_features(const char *version_text)
{
	unsigned int f = 0;

	if (has_word(version_text, "--with-openssl"))
		f |= SQUID_HAS_OPENSSL;
	if (has_word(version_text, "--enable-ssl-crtd"))
		f |= SQUID_HAS_CRTD;
	return f;
}

/* opt is one of the comma-separated options in opts. */
static bool has_option(const char *opts, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = opts; p; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (!strncmp(p, opt, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
	}
	return false;
}

int v1_net_hierarchies(const char *mounts, char *out, size_t len)
{
	char dev[256], dir[PATH_MAX], type[64], opts[1024];
	const char *line = mounts;
	size_t used = 0;
	int n = 0;

	if (len)
		out[0] = '\0';
	while (line && *line) {
		if (sscanf(line, "%255s %4095s %63s %1023s", dev, dir, type, opts) == 4 &&
		    !strcmp(type, "cgroup") &&
		    (has_option(opts, "net_cls") || has_option(opts, "net_prio"))) {
			int w = snprintf(out + used, len > used ? len - used : 0,
					 "%s%s", n ? "," : "", dir);

			if (w > 0)
				used += (size_t)w;
			n++;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return n;
}

/* Copies the line starting at p (without its newline) to out. */
static void copy_line(char *out, size_t len, const char *p)
{
	size_t n = strcspn(p, "\n");

	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Verifier lines that are statistics, not the complaint. */
static bool verifier_noise(const char *l, size_t n)
{
	static const char *const noise[] = { "processed ", "verification time",
					     "stack depth", "-- END", "-- BEGIN" };

	if (!n)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(noise); i++) {
		if (!strncmp(l, noise[i], strlen(noise[i])))
			return true;
	}
	return false;
}

void verifier_summary(const char *log, char *out, size_t len)
{
	const char *begin = NULL, *end, *p, *last = NULL, *prog, *q;
	char name[64] = "";

	if (!len)
		return;
	out[0] = '\0';
	for (p = log; (p = strstr(p, "-- BEGIN PROG LOAD LOG --")); p++)
		begin = p;
	if (begin) {
		/* the program: "prog 'NAME': -- BEGIN ..." on the same line */
		for (prog = begin; prog > log && prog[-1] != '\n'; prog--)
			;
		q = strstr(prog, "prog '");
		if (q && q < begin) {
			q += 6;
			size_t n = strcspn(q, "'");

			if (n < sizeof(name)) {
				memcpy(name, q, n);
				name[n] = '\0';
			}
		}
		end = strstr(begin, "-- END PROG LOAD LOG --");
		if (!end)
			end = begin + strlen(begin);
		p = strchr(begin, '\n');
		while (p && p < end) {
			p++;
			size_t n = strcspn(p, "\n");

			if (p < end && !verifier_noise(p, n))
				last = p;
			p = strchr(p, '\n');
		}
		if (last) {
			char line[400];

			copy_line(line, sizeof(line), last);
			if (name[0])
				snprintf(out, len, "prog '%s': %s", name, line);
			else
				snprintf(out, len, "%s", line);
			return;
		}
	}
	/* no verifier log: the first libbpf line that says what failed */
	for (p = log; (p = strstr(p, "libbpf: ")); p++) {
		char line[400];

		copy_line(line, sizeof(line), p + 8);
		last = p;
		if (strstr(line, "failed"))
			break;
	}
	if (last) {
		copy_line(out, len, last + 8);
		return;
	}
	snprintf(out, len, "no message from libbpf");
}

/* ---------------------------------------------------------------------- */
/* The report                                                             */
/* ---------------------------------------------------------------------- */

const char *probe_status_name(enum probe_status s)
{
	switch (s) {
	case PROBE_PRESENT:
		return "present";
	case PROBE_MISSING:
		return "missing";
	case PROBE_WARNING:
		return "warning";
	case PROBE_UNCHECKED:
		return "unchecked";
	case PROBE_SKIPPED:
		return "skipped";
	}
	return "unknown";
}

static struct probe *probe_add(struct check_report *r, bool required,
			       const char *name, const char *title)
{
	static struct probe overflow;	/* never reported: the table is sized */
	struct probe *p;

	if (r->n >= CHECK_MAX_PROBES) {
		p = &overflow;
	} else {
		p = &r->probes[r->n++];
	}
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->title, sizeof(p->title), "%s", title);
	p->required = required;
	p->status = PROBE_UNCHECKED;
	return p;
}

static void __attribute__((format(printf, 3, 4)))
probe_set(struct probe *p, enum probe_status s, const char *fmt, ...)
{
	va_list ap;

	/* an optional feature that is missing is a warning, never a failure */
	if (s == PROBE_MISSING && !p->required)
		s = PROBE_WARNING;
	p->status = s;
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
}

static bool probe_fails(const struct probe *p)
{
	return p->required &&
	       (p->status == PROBE_MISSING || p->status == PROBE_UNCHECKED);
}

int check_missing(const struct check_report *r, char *err, size_t errlen)
{
	int n = 0;

	for (int i = 0; i < r->n; i++) {
		const struct probe *p = &r->probes[i];

		if (!probe_fails(p))
			continue;
		if (!n++ && err && errlen)
			snprintf(err, errlen, "%s: %s", p->title, p->detail);
	}
	return n;
}

void check_print_text(FILE *f, const struct check_report *r)
{
	int missing = 0, warnings = 0, squid_only = 1;

	for (int i = 0; i < r->n; i++) {
		const struct probe *p = &r->probes[i];

		fprintf(f, "  %-9s %s: %s\n", probe_status_name(p->status),
			p->title, p->detail);
		if (probe_fails(p)) {
			missing++;
			if (strcmp(p->name, "squid"))
				squid_only = 0;
		}
		if (p->status == PROBE_WARNING)
			warnings++;
	}
	if (!missing) {
		fprintf(f, "ok: everything netfence needs is here (%d probes%s",
			r->n, warnings ? ", " : ")\n");
		if (warnings)
			fprintf(f, "%d warning%s)\n", warnings,
				warnings == 1 ? "" : "s");
	} else if (squid_only) {
		fprintf(f, "missing: Squid with ssl-bump: `netfence run` needs it unless "
			   "--proxy is given; attach works (check --no-squid to skip)\n");
	} else {
		fprintf(f, "missing: %d of %d: netfence cannot attach or run here until "
			   "the lines marked missing or unchecked are fixed\n",
			missing, r->n);
	}
}

void check_print_json(struct json *j, const struct check_report *r)
{
	struct utsname u;

	json_object_begin(j);
	json_kv_bool(j, "ok", check_missing(r, NULL, 0) == 0);
	json_kv_str(j, "kernel", uname(&u) ? NULL : u.release);
	json_kv_str(j, "libbpf", libbpf_version_string());
	json_kv_bool(j, "static", linkage_static());
	json_key(j, "missing");
	json_array_begin(j);
	for (int i = 0; i < r->n; i++) {
		if (probe_fails(&r->probes[i]))
			json_str(j, r->probes[i].name);
	}
	json_array_end(j);
	json_key(j, "probes");
	json_array_begin(j);
	for (int i = 0; i < r->n; i++) {
		const struct probe *p = &r->probes[i];

		json_object_begin(j);
		json_kv_str(j, "name", p->name);
		json_kv_str(j, "title", p->title);
		json_kv_bool(j, "required", p->required);
		json_kv_str(j, "status", probe_status_name(p->status));
		json_kv_str(j, "detail", p->detail);
		json_kv_str(j, "since", p->since[0] ? p->since : NULL);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

/* ---------------------------------------------------------------------- */
/* Probes without BPF                                                     */
/* ---------------------------------------------------------------------- */

/* Reads a small text file whole. Returns the length or a negative errno. */
static ssize_t read_text(const char *path, char *buf, size_t len)
{
	size_t used = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (used + 1 < len && (n = read(fd, buf + used, len - 1 - used)) > 0)
		used += (size_t)n;
	close(fd);
	buf[used] = '\0';
	return (ssize_t)used;
}

struct check_ctx {
	struct check_report *r;
	unsigned int flags;
	bool can_bpf;		/* root with CAP_BPF or CAP_SYS_ADMIN */
	bool can_attach;	/* and CAP_NET_ADMIN */
	bool btf;
	char cg2[PATH_MAX];	/* the cgroup2 mount, or "" */
	char cg[PATH_MAX];	/* the throwaway cgroup, or "" */
	int cg_fd;
	char why_not[160];	/* why BPF probes cannot run, when they cannot */
};

static void probe_privileges(struct check_ctx *c)
{
	struct check_report *r = c->r;
	char status[8192];
	uint64_t caps = 0;
	bool have_caps;
	struct probe *p;
	uid_t euid = geteuid();

	p = probe_add(r, true, "root", "root");
	if (!euid)
		probe_set(p, PROBE_PRESENT, "running as root");
	else
		probe_set(p, PROBE_MISSING,
			  "running as uid %u: attach, detach and run need root",
			  (unsigned int)euid);

	have_caps = read_text("/proc/self/status", status, sizeof(status)) > 0 &&
		    !capeff_parse(status, &caps);
#define HAS_CAP(n) (have_caps && (caps >> (n) & 1))
	p = probe_add(r, true, "cap_sys_admin", "CAP_SYS_ADMIN");
	if (HAS_CAP(NF_CAP_SYS_ADMIN))
		probe_set(p, PROBE_PRESENT,
			  "effective: bpffs can be mounted, processes moved between cgroups");
	else
		probe_set(p, have_caps ? PROBE_MISSING : PROBE_UNCHECKED,
			  "%s: netfence cannot mount bpffs nor load BPF on kernels "
			  "without CAP_BPF",
			  have_caps ? "not in the effective set" :
				      "CapEff unreadable in /proc/self/status");

	p = probe_add(r, true, "cap_bpf", "CAP_BPF");
	if (HAS_CAP(NF_CAP_BPF))
		probe_set(p, PROBE_PRESENT, "effective: BPF programs and maps can be loaded");
	else if (HAS_CAP(NF_CAP_SYS_ADMIN))
		probe_set(p, PROBE_PRESENT,
			  "not in the effective set, CAP_SYS_ADMIN stands in for it: "
			  "BPF programs and maps can be loaded");
	else
		probe_set(p, have_caps ? PROBE_MISSING : PROBE_UNCHECKED,
			  "neither CAP_BPF nor CAP_SYS_ADMIN: BPF programs and maps "
			  "cannot be loaded");

	p = probe_add(r, true, "cap_net_admin", "CAP_NET_ADMIN");
	if (HAS_CAP(NF_CAP_NET_ADMIN))
		probe_set(p, PROBE_PRESENT,
			  "effective: socket programs can be attached to cgroups");
	else
		probe_set(p, have_caps ? PROBE_MISSING : PROBE_UNCHECKED,
			  "%s: cgroup socket programs cannot be attached",
			  have_caps ? "not in the effective set" : "CapEff unreadable");

	c->can_bpf = !euid && (HAS_CAP(NF_CAP_BPF) || HAS_CAP(NF_CAP_SYS_ADMIN));
	c->can_attach = c->can_bpf && HAS_CAP(NF_CAP_NET_ADMIN);
#undef HAS_CAP
	if (!c->can_bpf)
		snprintf(c->why_not, sizeof(c->why_not),
			 "not checked: needs root with CAP_BPF or CAP_SYS_ADMIN");
	else if (!c->can_attach)
		snprintf(c->why_not, sizeof(c->why_not),
			 "not checked: needs CAP_NET_ADMIN");
}

static void probe_btf(struct check_ctx *c)
{
	struct probe *p = probe_add(c->r, true, "btf", "kernel BTF");

	c->btf = !access(BTF_VMLINUX, R_OK);
	if (c->btf)
		probe_set(p, PROBE_PRESENT,
			  BTF_VMLINUX ": netfence's CO-RE programs are relocated "
			  "against this kernel");
	else
		probe_set(p, PROBE_MISSING,
			  BTF_VMLINUX " %s: netfence's CO-RE programs cannot be "
			  "relocated (a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed)",
			  errno == ENOENT ? "does not exist" : strerror(errno));
}

static void probe_cgroups(struct check_ctx *c)
{
	static char mounts[65536];
	char v1[512];
	struct probe *p;
	int n;

	p = probe_add(c->r, true, "cgroup2", "cgroup v2");
	if (!cgroup2_mount("/proc/self/mounts", c->cg2, sizeof(c->cg2))) {
		probe_set(p, PROBE_PRESENT, "mounted at %s: agent cgroups live here",
			  c->cg2);
	} else {
		c->cg2[0] = '\0';
		probe_set(p, PROBE_MISSING,
			  "no cgroup2 mount: netfence works on cgroup v2 only "
			  "(mount -t cgroup2 none /sys/fs/cgroup, or boot with "
			  "systemd.unified_cgroup_hierarchy=1)");
	}

	p = probe_add(c->r, false, "cgroup_v1_net", "cgroup v1 net_cls/net_prio");
	if (read_text("/proc/self/mounts", mounts, sizeof(mounts)) < 0) {
		probe_set(p, PROBE_UNCHECKED, "/proc/self/mounts unreadable");
		return;
	}
	n = v1_net_hierarchies(mounts, v1, sizeof(v1));
	if (!n)
		probe_set(p, PROBE_PRESENT, "not mounted: nothing turns off cgroup v2 "
					    "socket matching");
	else
		probe_set(p, PROBE_WARNING,
			  "mounted at %s: on kernels before 5.15, giving a cgroup a "
			  "net_cls classid or net_prio map turns off cgroup v2 socket "
			  "matching and netfence's hooks stop firing (the 'hooks fire' "
			  "line tests it)", v1);
}

static void probe_bpffs(struct check_ctx *c)
{
	struct probe *p = probe_add(c->r, true, "bpffs", "BPF file system");
	char parent[PATH_MAX], fs[4096];
	struct statfs sfs;

	snprintf(parent, sizeof(parent), "%s", pin_root());
	dirname(parent);
	if (!statfs(parent, &sfs) && sfs.f_type == BPF_FS_MAGIC) {
		probe_set(p, PROBE_PRESENT, "mounted at %s: policies are pinned under %s",
			  parent, pin_root());
		return;
	}
	if (read_text("/proc/filesystems", fs, sizeof(fs)) > 0 &&
	    strstr(fs, "\tbpf\n"))
		probe_set(p, PROBE_PRESENT,
			  "not mounted at %s, but the kernel has it: netfence mounts "
			  "it there on the first attach", parent);
	else
		probe_set(p, PROBE_MISSING,
			  "not mounted at %s and not in /proc/filesystems: policies "
			  "cannot be pinned", parent);
}

static int count_policy(const struct policy_state *ps, void *ctx)
{
	int *n = ctx;

	n[0]++;
	if (ps->cgroup_replaced)
		n[1]++;
	return 0;
}

/*
 * The policies already attached: a warning for any whose cgroup was
 * replaced since (a restarted container: the new cgroup is not confined).
 */
static void probe_policies(struct check_ctx *c)
{
	struct probe *p = probe_add(c->r, false, "policies", "attached policies");
	char err[256];
	int n[2] = { 0, 0 };

	if (enforce_list(0, count_policy, n, err, sizeof(err)) < 0) {
		probe_set(p, PROBE_UNCHECKED, "%s", err);
		return;
	}
	if (n[1])
		probe_set(p, PROBE_WARNING,
			  "%d of %d on a cgroup replaced since attach (a restarted "
			  "container): NOT enforced there; see netfence status", n[1], n[0]);
	else
		probe_set(p, PROBE_PRESENT, "%d attached, each on the cgroup it was "
			  "attached to", n[0]);
}

/*
 * Runs argv, returns its exit status (or a negative errno) and its stdout
 * and stderr in out; one silent for 30 s is killed (squid -v takes seconds
 * in a loaded guest under TCG).
 */
static int run_capture(char *const argv[], char *out, size_t len)
{
	int st = proc_capture(argv, NULL, PROC_CAPTURE_STDOUT, 30000, out, len);

	return st < 0 ? st : WIFEXITED(st) ? WEXITSTATUS(st) : -ECHILD;
}

static void probe_squid(struct check_ctx *c)
{
	struct probe *p = probe_add(c->r, true, "squid", "Squid with ssl-bump");
	const char *bin = squid_bin();
	char out[16384], version[64] = "";
	char *argv[] = { (char *)bin, "-v", NULL };
	const char *v;
	unsigned int f;
	int ret;

	if (!(c->flags & CHECK_F_SQUID)) {
		p->required = false;
		probe_set(p, PROBE_SKIPPED, "not probed (--no-squid): `netfence run` "
					    "without --proxy needs it");
		return;
	}
	if (access(bin, X_OK)) {
		probe_set(p, PROBE_MISSING,
			  "%s: %s: `netfence run` without --proxy cannot start its "
			  "proxy (apt-get install squid-openssl; with a proxy of your "
			  "own: run --proxy, check --no-squid)", bin, strerror(errno));
		return;
	}
	ret = run_capture(argv, out, sizeof(out));
	v = strstr(out, "Version ");
	if (v)
		sscanf(v + 8, "%63s", version);
	if (ret) {
		probe_set(p, PROBE_MISSING, "%s -v failed (%s %d): `netfence run` "
					    "without --proxy cannot use it", bin,
			  ret < 0 ? "error" : "exit", ret);
		return;
	}
	f = squid_features(out);
	if (!(f & SQUID_HAS_OPENSSL)) {
		probe_set(p, PROBE_MISSING,
			  "%s%s%s was built without --with-openssl: `netfence run` "
			  "cannot peek at TLS and splice HTTPS (apt-get install "
			  "squid-openssl)", bin, version[0] ? " " : "", version);
		return;
	}
	probe_set(p, PROBE_PRESENT,
		  "%s %s with --with-openssl%s: `netfence run` can start its proxy",
		  bin, version, f & SQUID_HAS_CRTD ? " and --enable-ssl-crtd" : "");
}

/* dnsmasq 2.86 or later: the DNS filter of `run --allow-domains`. */
static void probe_dnsmasq(struct check_ctx *c)
{
	struct probe *p = probe_add(c->r, false, "dnsmasq", "dnsmasq (the DNS filter)");
	const char *bin = dnsmasq_bin();
	char *argv[] = { (char *)bin, "--version", NULL };
	char out[4096];
	const char *v;
	unsigned int major = 0, minor = 0;

	(void)c;
	if (access(bin, X_OK)) {
		probe_set(p, PROBE_MISSING,
			  "%s: %s: `netfence run --allow-domains` cannot filter DNS "
			  "and refuses to start (apt-get install dnsmasq-base)", bin,
			  strerror(errno));
		return;
	}
	if (run_capture(argv, out, sizeof(out)) || !(v = strstr(out, "version ")) ||
	    sscanf(v + 8, "%u.%u", &major, &minor) != 2) {
		probe_set(p, PROBE_MISSING, "%s --version failed: `netfence run "
					    "--allow-domains` cannot filter DNS", bin);
		return;
	}
	if (major < 2 || (major == 2 && minor < 86)) {
		probe_set(p, PROBE_MISSING,
			  "%s %u.%u: the DNS filter needs 2.86 or later (its '*.' "
			  "patterns)", bin, major, minor);
		return;
	}
	probe_set(p, PROBE_PRESENT,
		  "%s %u.%u: `netfence run --allow-domains` can filter DNS", bin,
		  major, minor);
}

/* ---------------------------------------------------------------------- */
/* BPF probes                                                             */
/* ---------------------------------------------------------------------- */

/* libbpf's messages while a probe runs, also passed on (-d shows them). */
static char bpf_log[32768];
static size_t bpf_log_len;
static libbpf_print_fn_t prev_print;

static int capture_print(enum libbpf_print_level level, const char *fmt,
			 va_list ap)
{
	va_list copy;
	int n;

	va_copy(copy, ap);
	if (level != LIBBPF_DEBUG) {
		if (bpf_log_len > sizeof(bpf_log) / 2) {
			/* keep the newer half: the complaint is at the end */
			size_t keep = sizeof(bpf_log) / 4;

			memmove(bpf_log, bpf_log + bpf_log_len - keep, keep);
			bpf_log_len = keep;
		}
		n = vsnprintf(bpf_log + bpf_log_len, sizeof(bpf_log) - bpf_log_len,
			      fmt, copy);
		if (n > 0)
			bpf_log_len += (size_t)n;
		if (bpf_log_len >= sizeof(bpf_log))
			bpf_log_len = sizeof(bpf_log) - 1;
	}
	va_end(copy);
	return prev_print ? prev_print(level, fmt, ap) : 0;
}

static void capture_start(void)
{
	bpf_log_len = 0;
	bpf_log[0] = '\0';
	prev_print = libbpf_set_print(capture_print);
}

static void capture_stop(void)
{
	libbpf_set_print(prev_print);
}

/* Removes checks' cgroups left by a check that was killed (SIGKILL). */
static void remove_stale_cgroups(const char *cg2)
{
	DIR *d = opendir(cg2);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX], *end;
		long pid;

		if (strncmp(e->d_name, CHECK_CG_PREFIX, strlen(CHECK_CG_PREFIX)))
			continue;
		pid = strtol(e->d_name + strlen(CHECK_CG_PREFIX), &end, 10);
		if (*end || pid <= 0 || pid == getpid())
			continue;
		/* existence test only: no signal is sent */
		if (!kill((pid_t)pid, 0) || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", cg2, e->d_name);
		if (!rmdir(path))
			pr_info("check: removed %s, left by a killed check", path);
	}
	closedir(d);
}

static int cgroup_create(struct check_ctx *c)
{
	if (!c->cg2[0]) {
		snprintf(c->why_not, sizeof(c->why_not),
			 "not checked: no cgroup v2 mount");
		return -ENOENT;
	}
	remove_stale_cgroups(c->cg2);
	snprintf(c->cg, sizeof(c->cg), "%s/" CHECK_CG_PREFIX "%d", c->cg2,
		 (int)getpid());
	if (mkdir(c->cg, 0700)) {
		int e = errno;

		snprintf(c->why_not, sizeof(c->why_not),
			 "not checked: cannot create a throwaway cgroup in %s: %s",
			 c->cg2, strerror(e));
		c->cg[0] = '\0';
		return -e;
	}
	c->cg_fd = open(c->cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->cg_fd < 0) {
		int e = errno;

		snprintf(c->why_not, sizeof(c->why_not),
			 "not checked: cannot open %s: %s", c->cg, strerror(e));
		rmdir(c->cg);
		c->cg[0] = '\0';
		return -e;
	}
	return 0;
}

static void cgroup_remove(struct check_ctx *c)
{
	int err;

	if (c->cg_fd >= 0)
		close(c->cg_fd);
	c->cg_fd = -1;
	if (!c->cg[0])
		return;
	/* the probe child's exit may take a moment to leave the cgroup */
	err = cgroup_rmdir(c->cg, 2000);
	if (err)
		pr_warn("check: cannot remove %s: %s", c->cg, strerror(-err));
	c->cg[0] = '\0';
}

/* A program of two instructions: return ret. */
static int load_tiny(enum bpf_prog_type type, enum bpf_attach_type at, int ret)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = ret },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = at);
	int fd;

	fd = bpf_prog_load(type, CHECK_PROG_NAME, "Dual BSD/GPL", insns,
			   ARRAY_SIZE(insns), &opts);
	if (fd < 0 && errno == EINVAL && at) {
		/* some types take no expected attach type at load (libbpf's _OPT) */
		LIBBPF_OPTS(bpf_prog_load_opts, none);

		fd = bpf_prog_load(type, CHECK_PROG_NAME, "Dual BSD/GPL", insns,
				   ARRAY_SIZE(insns), &none);
	}
	return fd < 0 ? -errno : fd;
}

/* The object's programs, types and attach types (unique). */
struct obj_types {
	int n_maps, n_progs, n_attach;
	enum bpf_map_type maps[32];
	enum bpf_prog_type progs[16];
	struct {
		enum bpf_prog_type prog;
		enum bpf_attach_type at;
		char sec[48];
	} attach[32];
};

static void obj_types_collect(struct bpf_object *obj, struct obj_types *t)
{
	struct bpf_program *prog;
	struct bpf_map *map;

	memset(t, 0, sizeof(*t));
	bpf_object__for_each_map(map, obj) {
		enum bpf_map_type mt = bpf_map__type(map);
		int i;

		/* .rodata/.bss/.data are plain arrays */
		for (i = 0; i < t->n_maps && t->maps[i] != mt; i++)
			;
		if (i == t->n_maps && t->n_maps < (int)ARRAY_SIZE(t->maps))
			t->maps[t->n_maps++] = mt;
	}
	bpf_object__for_each_program(prog, obj) {
		enum bpf_prog_type pt = bpf_program__type(prog);
		enum bpf_attach_type at = bpf_program__expected_attach_type(prog);
		int i;

		for (i = 0; i < t->n_progs && t->progs[i] != pt; i++)
			;
		if (i == t->n_progs && t->n_progs < (int)ARRAY_SIZE(t->progs))
			t->progs[t->n_progs++] = pt;
		for (i = 0; i < t->n_attach && t->attach[i].at != at; i++)
			;
		if (i == t->n_attach && t->n_attach < (int)ARRAY_SIZE(t->attach)) {
			t->attach[i].prog = pt;
			t->attach[i].at = at;
			snprintf(t->attach[i].sec, sizeof(t->attach[i].sec), "%s",
				 bpf_program__section_name(prog));
			t->n_attach++;
		}
	}
}

/* The BPF LSM is optional: the loader goes on without it (enforce.c). */
static bool optional_prog_type(enum bpf_prog_type pt)
{
	return pt == BPF_PROG_TYPE_LSM;
}

static const char *str_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

static void probe_map_types(struct check_ctx *c, const struct obj_types *t)
{
	for (int i = 0; i < t->n_maps; i++) {
		const char *ts = str_or(libbpf_bpf_map_type_str(t->maps[i]), "unknown");
		const struct feature_info *fi =
			info_of(map_info, ARRAY_SIZE(map_info), t->maps[i]);
		char name[48], title[64];
		struct probe *p;
		int ret;

		snprintf(name, sizeof(name), "map_%s", ts);
		snprintf(title, sizeof(title), "%s maps", ts);
		p = probe_add(c->r, true, name, title);
		snprintf(p->since, sizeof(p->since), "%s", fi->since);
		if (!c->can_bpf) {
			probe_set(p, PROBE_UNCHECKED, "%s", c->why_not);
			continue;
		}
		ret = libbpf_probe_bpf_map_type(t->maps[i], NULL);
		if (ret == 1)
			probe_set(p, PROBE_PRESENT, "%s", fi->what);
		else if (ret == 0)
			probe_set(p, PROBE_MISSING,
				  "the kernel has no %s maps (Linux %s+): %s impossible, "
				  "netfence cannot load", ts, fi->since, fi->what);
		else
			probe_set(p, PROBE_UNCHECKED, "probe failed: %s", strerror(-ret));
	}
}

static void probe_prog_types(struct check_ctx *c, const struct obj_types *t)
{
	for (int i = 0; i < t->n_progs; i++) {
		const char *ts = str_or(libbpf_bpf_prog_type_str(t->progs[i]), "unknown");
		const struct feature_info *fi =
			info_of(prog_info, ARRAY_SIZE(prog_info), t->progs[i]);
		bool optional = optional_prog_type(t->progs[i]);
		char name[48], title[64];
		struct probe *p;
		int ret;

		snprintf(name, sizeof(name), "prog_%s", ts);
		snprintf(title, sizeof(title), "%s programs%s", ts,
			 optional ? " (optional)" : "");
		p = probe_add(c->r, !optional, name, title);
		snprintf(p->since, sizeof(p->since), "%s", fi->since);
		if (!c->can_bpf) {
			probe_set(p, PROBE_UNCHECKED, "%s", c->why_not);
			continue;
		}
		ret = libbpf_probe_bpf_prog_type(t->progs[i], NULL);
		if (ret == 1)
			probe_set(p, PROBE_PRESENT, "%s", fi->what);
		else if (ret == 0 && optional)
			probe_set(p, PROBE_WARNING,
				  "the kernel has none (Linux %s+, CONFIG_BPF_LSM, \"bpf\" "
				  "in lsm=): netfence goes on without %s",
				  fi->since, fi->what);
		else if (ret == 0)
			probe_set(p, PROBE_MISSING,
				  "the kernel has no %s programs (Linux %s+): %s impossible, "
				  "netfence cannot load", ts, fi->since, fi->what);
		else
			probe_set(p, PROBE_UNCHECKED, "probe failed: %s", strerror(-ret));
	}
}

/* Cgroup BPF links: connect4 attached with a link, else the legacy way. */
static void probe_links(struct check_ctx *c)
{
	struct probe *p = probe_add(c->r, true, "cgroup_links", "cgroup BPF links");
	int prog, link;

	snprintf(p->since, sizeof(p->since), "5.7");

	if (!c->can_attach || c->cg_fd < 0) {
		probe_set(p, PROBE_UNCHECKED, "%s", c->why_not);
		return;
	}
	prog = load_tiny(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, 1);
	if (prog < 0) {
		probe_set(p, PROBE_UNCHECKED,
			  "a cgroup/connect4 program does not load: %s", strerror(-prog));
		return;
	}
	link = bpf_link_create(prog, c->cg_fd, BPF_CGROUP_INET4_CONNECT, NULL);
	if (link >= 0) {
		close(link);	/* unpinned: closing detaches it */
		probe_set(p, PROBE_PRESENT,
			  "policies are pinned links: they outlive netfence and "
			  "detach cleanly");
	} else if (!bpf_prog_attach(prog, c->cg_fd, BPF_CGROUP_INET4_CONNECT, 0)) {
		bpf_prog_detach2(prog, c->cg_fd, BPF_CGROUP_INET4_CONNECT);
		probe_set(p, PROBE_MISSING,
			  "the kernel attaches cgroup programs only the legacy way "
			  "(Linux 5.7+ has links): netfence pins links and cannot attach");
	} else {
		probe_set(p, PROBE_MISSING, "a cgroup/connect4 link cannot be made: %s",
			  strerror(errno));
	}
	close(prog);
}

static void probe_attach_types(struct check_ctx *c, const struct obj_types *t)
{
	for (int i = 0; i < t->n_attach; i++) {
		const char *ats = str_or(libbpf_bpf_attach_type_str(t->attach[i].at),
					 "unknown");
		const struct feature_info *fi =
			info_of(attach_info, ARRAY_SIZE(attach_info), t->attach[i].at);
		char name[48], title[64];
		struct probe *p;
		int prog, link;

		/* LSM programs need a kernel function's BTF id: the object
		 * probe below loads and attaches the real one; the veth
		 * filter is no cgroup hook (probe_veth) */
		if (optional_prog_type(t->attach[i].prog) ||
		    t->attach[i].prog == BPF_PROG_TYPE_SCHED_CLS)
			continue;
		snprintf(name, sizeof(name), "attach_%s", ats);
		snprintf(title, sizeof(title), "%s hook", t->attach[i].sec);
		p = probe_add(c->r, true, name, title);
		snprintf(p->since, sizeof(p->since), "%s", fi->since);
		if (!c->can_attach || c->cg_fd < 0) {
			probe_set(p, PROBE_UNCHECKED, "%s", c->why_not);
			continue;
		}
		prog = load_tiny(t->attach[i].prog, t->attach[i].at, 1);
		if (prog < 0) {
			probe_set(p, PROBE_MISSING,
				  "the kernel does not load a %s program (Linux %s+): %s; "
				  "without it: %s", t->attach[i].sec, fi->since,
				  strerror(-prog), fi->what);
			continue;
		}
		link = bpf_link_create(prog, c->cg_fd, t->attach[i].at, NULL);
		if (link < 0)
			probe_set(p, PROBE_MISSING,
				  "cannot attach it to a cgroup with a BPF link (Linux %s+): "
				  "%s; without it: %s", fi->since, strerror(errno), fi->what);
		else
			probe_set(p, PROBE_PRESENT, "attaches with a BPF link: %s",
				  fi->what);
		if (link >= 0)
			close(link);
		close(prog);
	}
}

/*
 * The hooks fire for a process in a child cgroup: a connect4 program that
 * refuses everything, and a child in the cgroup whose connect() to
 * 127.0.0.1:9 must fail with EPERM before any packet exists.
 */
static void probe_hooks_fire(struct check_ctx *c)
{
	struct probe *p = probe_add(c->r, true, "hooks_fire", "hooks fire");
	char procs[PATH_MAX];
	int prog, link, status;
	pid_t pid;

	if (!c->can_attach || c->cg_fd < 0) {
		probe_set(p, PROBE_UNCHECKED, "%s", c->why_not);
		return;
	}
	prog = load_tiny(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, 0);
	if (prog < 0) {
		probe_set(p, PROBE_UNCHECKED, "no cgroup/connect4 program: %s",
			  strerror(-prog));
		return;
	}
	link = bpf_link_create(prog, c->cg_fd, BPF_CGROUP_INET4_CONNECT, NULL);
	if (link < 0) {
		probe_set(p, PROBE_UNCHECKED, "no cgroup/connect4 link: %s",
			  strerror(errno));
		close(prog);
		return;
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", c->cg);
	fflush(NULL);
	pid = fork();
	if (!pid) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_port = htons(9) };
		int fd = open(procs, O_WRONLY | O_CLOEXEC), s;

		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(2);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			_exit(3);
		if (!connect(s, (struct sockaddr *)&sin, sizeof(sin)))
			_exit(1);
		_exit(errno == EPERM ? 0 : 1);
	}
	if (pid < 0) {
		probe_set(p, PROBE_UNCHECKED, "fork: %s", strerror(errno));
	} else {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status) && !WEXITSTATUS(status))
			probe_set(p, PROBE_PRESENT,
				  "a connect() from a process in a child cgroup was "
				  "refused by the cgroup's program");
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
			probe_set(p, PROBE_MISSING,
				  "a connect() from a process in a child cgroup did not "
				  "run the cgroup's program: cgroup v2 socket matching is "
				  "off (net_cls/net_prio in use on a kernel before 5.15?), "
				  "netfence would enforce nothing");
		else
			probe_set(p, PROBE_UNCHECKED,
				  "the probe process could not %s",
				  WIFEXITED(status) && WEXITSTATUS(status) == 2 ?
					  "join the throwaway cgroup" : "make a socket");
	}
	close(link);
	close(prog);
}

/*
 * Does the attached socket_create LSM program run? A child in the throwaway
 * cgroup makes an AF_PACKET socket: 1 when it is refused (EPERM), 0 when it
 * is made, a negative errno when that cannot be told.
 */
static int packet_refused(struct check_ctx *c)
{
	char procs[PATH_MAX];
	int status;
	pid_t pid;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", c->cg);
	fflush(NULL);
	pid = fork();
	if (!pid) {
		int fd = open(procs, O_WRONLY | O_CLOEXEC), s;

		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(2);
		/* AF_PACKET, SOCK_DGRAM: made, never bound, closed at exit */
		s = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s >= 0)
			_exit(1);
		_exit(errno == EPERM ? 0 : 3);
	}
	if (pid < 0)
		return -errno;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status))
		return -ECHILD;
	switch (WEXITSTATUS(status)) {
	case 0:
		return 1;
	case 1:
		return 0;
	case 2:
		return -EACCES;	/* could not join the cgroup */
	default:
		return -EAFNOSUPPORT;
	}
}

/* Opens netfence's object with nothing pinned, optionally without the LSM. */
static struct netfence_bpf *open_object(bool lsm)
{
	struct netfence_bpf *skel = netfence_bpf__open();
	struct bpf_program *prog;
	struct bpf_map *map;

	if (!skel)
		return NULL;
	/* pinned-by-name maps would be created (or reused) in bpffs */
	bpf_object__for_each_map(map, skel->obj)
		bpf_map__set_pin_path(map, NULL);
	bpf_object__for_each_program(prog, skel->obj) {
		if (!lsm && optional_prog_type(bpf_program__type(prog)))
			bpf_program__set_autoload(prog, false);
	}
	/* as the loader does (enforce.c) */
	if (!enforce_conn_count_supported()) {
		bpf_program__set_autoload(skel->progs.sock_release, false);
		skel->rodata->count_conns = 0;
	}
	skel->rodata->sockopt_task = enforce_sockopt_task_supported();
	return skel;
}

/*
 * netfence's own programs through this kernel's verifier, then attached to
 * the throwaway cgroup with links (the gate is closed: they would refuse
 * everything, and nothing is in that cgroup), then everything is closed.
 */
static void probe_object(struct check_ctx *c)
{
	struct probe *load = probe_add(c->r, true, "programs_load",
				       "netfence's programs load");
	struct probe *att = probe_add(c->r, true, "programs_attach",
				      "netfence's programs attach");
	struct probe *opt[8] = { 0 };
	char optname[8][32] = { { 0 } };
	struct netfence_bpf *skel = NULL;
	struct bpf_program *prog;
	char why[400] = "", lsm_why[400] = "";
	int n_opt = 0, n_progs = 0, ret, fires;
	bool lsm = false, try_lsm;

	{
		/* one line per optional program, in the object's order */
		struct netfence_bpf *o = netfence_bpf__open();

		if (o) {
			bpf_object__for_each_program(prog, o->obj) {
				char name[48], title[64];

				if (!optional_prog_type(bpf_program__type(prog)) ||
				    n_opt >= (int)ARRAY_SIZE(opt))
					continue;
				snprintf(name, sizeof(name), "prog_%s",
					 bpf_program__name(prog));
				snprintf(title, sizeof(title), "%s (optional)",
					 bpf_program__section_name(prog));
				snprintf(optname[n_opt], sizeof(optname[0]), "%s",
					 bpf_program__name(prog));
				opt[n_opt] = probe_add(c->r, false, name, title);
				/* the optional programs are the BPF LSM's */
				snprintf(opt[n_opt]->since, sizeof(opt[0]->since), "%s",
					 info_of(attach_info, ARRAY_SIZE(attach_info),
						 BPF_LSM_CGROUP)->since);
				n_opt++;
			}
			netfence_bpf__destroy(o);
		}
	}
	if (!c->can_attach || c->cg_fd < 0) {
		probe_set(load, PROBE_UNCHECKED, "%s", c->why_not);
		probe_set(att, PROBE_UNCHECKED, "%s", c->why_not);
		for (int i = 0; i < n_opt; i++)
			probe_set(opt[i], PROBE_UNCHECKED, "%s", c->why_not);
		return;
	}

	/* without BPF LSM support, one load (vmlinux BTF is parsed each time) */
	try_lsm = n_opt > 0 &&
		  libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_LSM, NULL) == 1;
	if (n_opt && !try_lsm)
		snprintf(lsm_why, sizeof(lsm_why),
			 "the kernel has no BPF LSM programs");
	capture_start();
	for (int with_lsm = try_lsm; with_lsm >= 0; with_lsm--) {
		skel = open_object(with_lsm);
		if (!skel) {
			ret = -errno;
			snprintf(why, sizeof(why), "the object does not open: %s",
				 strerror(-ret));
			break;
		}
		bpf_log_len = 0;
		bpf_log[0] = '\0';
		ret = netfence_bpf__load(skel);
		if (!ret) {
			lsm = with_lsm;
			break;
		}
		verifier_summary(bpf_log, with_lsm ? lsm_why : why,
				 with_lsm ? sizeof(lsm_why) : sizeof(why));
		netfence_bpf__destroy(skel);
		skel = NULL;
	}
	capture_stop();

	if (!skel) {
		probe_set(load, PROBE_MISSING,
			  "this kernel refuses them (%s): netfence cannot attach here",
			  why);
		probe_set(att, PROBE_UNCHECKED, "not checked: they do not load");
		for (int i = 0; i < n_opt; i++)
			probe_set(opt[i], PROBE_UNCHECKED, "not checked: the object does "
							   "not load");
		return;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		if (bpf_program__autoload(prog))
			n_progs++;
	}
	probe_set(load, PROBE_PRESENT, "%d program%s pass this kernel's verifier",
		  n_progs, n_progs == 1 ? "" : "s");
	if (!lsm) {
		for (int i = 0; i < n_opt; i++)
			probe_set(opt[i], PROBE_WARNING,
				  "does not load (%s; lsm_cgroup needs Linux %s+ with "
				  "CONFIG_BPF_LSM and \"bpf\" in lsm=): netfence goes on "
				  "without it, and sockets of other address families "
				  "(packet, vsock, ...) are not refused", lsm_why,
				  info_of(attach_info, ARRAY_SIZE(attach_info),
					  BPF_LSM_CGROUP)->since);
	}

	why[0] = '\0';
	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_link *link;
		bool optional = optional_prog_type(bpf_program__type(prog));
		int i;

		if (!bpf_program__autoload(prog) ||
		    bpf_program__type(prog) == BPF_PROG_TYPE_SCHED_CLS)
			continue;
		link = bpf_program__attach_cgroup(prog, c->cg_fd);
		ret = link ? 0 : -errno;
		/* an attached LSM program runs only where "bpf" is an active LSM */
		fires = link && optional ? packet_refused(c) : 0;
		bpf_link__destroy(link);
		if (!optional) {
			if (ret && !why[0])
				snprintf(why, sizeof(why), "%s: %s",
					 bpf_program__section_name(prog), strerror(-ret));
			continue;
		}
		for (i = 0; i < n_opt && strcmp(optname[i], bpf_program__name(prog)); i++)
			;
		if (i == n_opt)
			continue;
		if (ret)
			probe_set(opt[i], PROBE_WARNING,
				  "loads but does not attach (%s): netfence goes on without "
				  "it, and sockets of other address families are not refused",
				  strerror(-ret));
		else if (fires == 1)
			probe_set(opt[i], PROBE_PRESENT,
				  "loads, attaches and runs: sockets of other address "
				  "families (packet, vsock, ...) are refused");
		else if (!fires)
			probe_set(opt[i], PROBE_WARNING,
				  "loads and attaches but never runs: \"bpf\" is not among "
				  "the kernel's active LSMs (boot with lsm=...,bpf; Linux %s+): "
				  "netfence goes on without it, and sockets of other address "
				  "families (packet, vsock, ...) are not refused",
				  opt[i]->since);
		else
			probe_set(opt[i], PROBE_WARNING,
				  "loads and attaches, but whether it runs could not be "
				  "tested (%s): netfence attaches it", strerror(-fires));
	}
	if (why[0])
		probe_set(att, PROBE_MISSING, "%s: netfence cannot attach here", why);
	else
		probe_set(att, PROBE_PRESENT, "every program attaches to a cgroup with a "
					      "BPF link");
	netfence_bpf__destroy(skel);
}

/*
 * The veth filter (attach --veth): a tcx link where the kernel has tcx (an
 * attach to ifindex 0 fails with ENODEV there, EINVAL before 6.6), else a
 * tc clsact filter. Nothing is attached anywhere.
 */
static void probe_veth(struct check_ctx *c)
{
	struct probe *p = probe_add(c->r, false, "veth_filter",
				    "packet filter on an agent's veth");
	int prog, link;

	if (!c->can_bpf) {
		probe_set(p, PROBE_UNCHECKED, "%s", c->why_not);
		return;
	}
	prog = load_tiny(BPF_PROG_TYPE_SCHED_CLS, 0, 0);
	if (prog < 0) {
		probe_set(p, PROBE_WARNING,
			  "tc programs do not load (%s): attach --veth cannot filter an "
			  "agent's frames", strerror(-prog));
		return;
	}
	link = bpf_link_create(prog, 0, 46 /* BPF_TCX_INGRESS */, NULL);
	if (link >= 0)
		close(link);
	if (link < 0 && errno == ENODEV)
		probe_set(p, PROBE_PRESENT,
			  "tcx links (Linux 6.6+): attach --veth pins the filter with the "
			  "policy; every frame of the agent's namespace is checked on the "
			  "host side");
	else
		probe_set(p, PROBE_PRESENT,
			  "tc clsact filters (no tcx before Linux 6.6): attach --veth "
			  "records the filter with the policy and detach removes it");
	close(prog);
}

/* --max-connections needs sock_release, which needs the socket cookie. */
static void probe_conn_count(struct check_ctx *c)
{
	struct probe *p = probe_add(c->r, false, "connection_count",
				    "counting open redirected connections");

	if (!c->can_bpf)
		probe_set(p, PROBE_UNCHECKED, "%s", c->why_not);
	else if (enforce_conn_count_supported())
		probe_set(p, PROBE_PRESENT,
			  "socket cookies in cgroup/sock programs: --max-connections "
			  "is enforced");
	else
		probe_set(p, PROBE_WARNING,
			  "no socket cookies in cgroup/sock programs: netfence goes on "
			  "without sock_release, and --max-connections is not enforced");
}

static void probe_bpf(struct check_ctx *c)
{
	struct netfence_bpf *skel = netfence_bpf__open();
	struct obj_types t;

	if (!skel) {
		struct probe *p = probe_add(c->r, true, "object", "netfence's object");

		probe_set(p, PROBE_MISSING, "the embedded BPF object does not open: %s",
			  strerror(errno));
		return;
	}
	obj_types_collect(skel->obj, &t);
	netfence_bpf__destroy(skel);

	probe_map_types(c, &t);
	probe_prog_types(c, &t);
	if (c->can_attach)
		cgroup_create(c);
	probe_links(c);
	probe_attach_types(c, &t);
	probe_hooks_fire(c);
	probe_object(c);
	probe_veth(c);
	probe_conn_count(c);
	cgroup_remove(c);
}

int check_run(struct check_report *r, unsigned int flags)
{
	struct check_ctx c = { .r = r, .flags = flags, .cg_fd = -1 };
	sigset_t block, old;

	memset(r, 0, sizeof(*r));
	/* a signal waits until the throwaway cgroup is gone */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &old);

	probe_privileges(&c);
	probe_btf(&c);
	probe_cgroups(&c);
	probe_bpffs(&c);
	probe_policies(&c);
	probe_bpf(&c);
	probe_squid(&c);
	probe_dnsmasq(&c);

	sigprocmask(SIG_SETMASK, &old, NULL);
	return check_missing(r, NULL, 0);
}

int check_features(unsigned int flags, char *err, size_t errlen)
{
	struct check_report *r = calloc(1, sizeof(*r));
	int n;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	check_run(r, flags);
	n = check_missing(r, err, errlen);
	free(r);
	return n ? -ENOTSUP : 0;
}

void check_report_failure(unsigned int flags, const char *err)
{
	char why[640];

	if (check_features(flags, why, sizeof(why))) {
		pr_info("%s", err);
		p_err("%s (netfence check lists every probe)", why);
	} else {
		p_err("%s", err);
	}
}
