// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfence run: confine one command. Creates a cgroup for it, starts the
 * embedded Squid in a cgroup of its own (unless --proxy names one), attaches
 * the policy, runs the command inside, and removes everything it created when
 * the command ends, on Ctrl-C or SIGTERM, and when any step fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <libgen.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "check.h"
#include "commands.h"
#include "dnsmasq.h"
#include "dnsmasq_conf.h"
#include "domains.h"
#include "enforce.h"
#include "events.h"
#include "files.h"
#include "proc.h"
#include "log.h"
#include "parse.h"
#include "json.h"
#include "policy.h"
#include "report.h"
#include "sandbox.h"
#include "squid.h"
#include "squid_conf.h"
#include "urls.h"

const char run_usage[] =
	"Usage: netfence run [POLICY FLAGS] [RUN FLAGS] -- CMD [ARGS...]\n"
	"Run CMD confined: its TCP goes to Squid (started here unless --proxy is\n"
	"given), only allowed host ports go direct, DNS only to allowed resolvers.\n"
	"Exits with CMD's status (128+N when a signal N ended it).\n"
	"\n"
	"Run flags:\n"
	"  --allow-domains LIST     domains Squid lets through (a.com, *.b.org, https://c.net,\n"
	"                           api-*.d.com: '*' inside a label, never across a dot;\n"
	"                           localhost: --enable-host-access on ports 3000,3001,4000,\n"
	"                           4200,5000,5173,8000,8080,8081,8888,9000,9090 (unless\n"
	"                           --allow-host-ports is given); names in Unicode are\n"
	"                           converted to their xn-- form (IDNA2008, libidn2));\n"
	"                           also the only names CMD's DNS answers (a local dnsmasq\n"
	"                           gets all its DNS; other names are REFUSED, never sent on)\n"
	"  --allow-domains-file F   the same, one per line\n"
	"  --block-domains LIST     domains refused even when allowed\n"
	"  --block-domains-file F   the same, one per line\n"
	"  --hosts-file F           names Squid resolves before DNS (default /etc/hosts)\n"
	"  --log-dir DIR            keep Squid's access.log, cache.log and squid.conf here,\n"
	"                           the verdict events as events.jsonl (allowed ones too),\n"
	"                           the run's run.json, and at exit report.html ('netfence report')\n"
	"  --summary                at exit, a short summary of what CMD tried on stderr\n"
	"  --squid-allow-loopback   let Squid connect to origins on 127.0.0.0/8 (local demos)\n"
	"  --ssl-bump               DECRYPT the TLS of allowed names: Squid sees every\n"
	"                           request (URLs, headers, bodies) and checks it against\n"
	"                           --allow-urls. A CA made for this run signs a certificate\n"
	"                           per name; CMD trusts it (the system CA bundle paths and\n"
	"                           SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE,\n"
	"                           CURL_CA_BUNDLE, GIT_SSL_CAINFO), never reads its key, and\n"
	"                           it is deleted with the run. Without it nothing is decrypted.\n"
	"  --allow-urls LIST        URL rules SCHEME://HOST[:PORT][/PATH], '*' any run of\n"
	"                           characters: a host they name gets only their URLs\n"
	"                           (https:// rules need --ssl-bump)\n"
	"  --origin-ca-file F       with --ssl-bump, CAs Squid trusts for origins besides the\n"
	"                           system's (an internal CA)\n"
	"  --upstream-proxy HOST:PORT\n"
	"                           Squid sends everything allowed through this parent proxy\n"
	"                           (CONNECT for TLS), never direct\n"
	"  --proxy-env              set HTTP_PROXY/HTTPS_PROXY (and lower case) for CMD to\n"
	"                           the forward-proxy port (NETFENCE_FORWARD_PROXY is always set)\n"
	"  --user USER              run CMD as USER (recommended: a root CMD still writes\n"
	"                           what the sandbox leaves writable, /root and /var say)\n"
	"\n"
	"Policy flags: as for 'netfence attach' (see 'netfence attach --help'), without\n"
	"--cgroup, --pid, --veth or --allow-raw-sockets (run makes the cgroup, and its\n"
	"command has no CAP_NET_RAW). --proxy IP:PORT uses a running proxy\n"
	"instead of the embedded Squid; give --proxy-cgroup with it for the\n"
	"SO_ORIGINAL_DST responder.\n"
	"--loopback defaults to 'host': loopback is the host, governed like the gateway.\n"
	"Without --allow-domains, DNS is not filtered: CMD may ask the allowed resolvers\n"
	"any name (--dns-proxy sends it to a filter of your own instead).\n"
	"\n"
	"Sandbox: CMD gets PID and mount namespaces of its own (no cgroup or bpf mount;\n"
	"/proc/sys, /sys, /usr, /etc, /boot, /lib* read-only; a private /dev), a\n"
	"session of its own (no controlling terminal), as root only CHOWN, DAC_OVERRIDE,\n"
	"FOWNER, FSETID, KILL, SETUID, SETGID, NET_BIND_SERVICE, SYS_CHROOT, AUDIT_WRITE,\n"
	"no_new_privs, and a seccomp filter: unix, inet, inet6, netlink sockets only, no\n"
	"multicast joins, TIOCSTI, io_uring, bpf, mount, namespaces, modules, reboot.\n"
	"Not covered as root: writes to /root, /home, /var, /tmp; use --user.\n"
	"--log-dir must be root's and not group/other-writable. See man netfence.\n";

enum run_opt {
	OPT_ALLOW_DOMAINS = OPT_POLICY_END + 1,
	OPT_ALLOW_FILE,
	OPT_BLOCK_FILE,
	OPT_BLOCK_DOMAINS,
	OPT_HOSTS_FILE,
	OPT_LOG_DIR,
	OPT_SQUID_LOOPBACK,
	OPT_USER,
	OPT_PROXY_ENV,
	OPT_SUMMARY,
	OPT_SSL_BUMP,
	OPT_ALLOW_URLS,
	OPT_ORIGIN_CA,
	OPT_UPSTREAM,
	OPT_RUN_END,
};

struct run_ctx {
	struct policy_opts po;	/* the flags; run fills in its Squid's and dnsmasq's ports */
	struct policy_names names;	/* the flags' lookups, before anything starts */
	struct policy pol;	/* built once, when the ports are known; read-only */
	struct domain_list allow, block;
	struct url_list urls;	/* --allow-urls */
	bool bump;		/* --ssl-bump */
	const char *origin_ca;	/* --origin-ca-file */
	char upstream_host[256];	/* --upstream-proxy, "" when not given */
	uint16_t upstream_port;
	const char *hosts_file;
	const char *log_dir;
	bool summary;		/* --summary */
	char sum_dir[PATH_MAX];	/* --summary without --log-dir: a private one */
	const char *logs;	/* where the logs go: logs_path, or NULL */
	int log_fd;		/* log_dir or sum_dir, opened once before CMD starts */
	char logs_path[32];	/* /proc/self/fd/<log_fd>: never a name CMD can swap */
	char squid_name[48];	/* its -n: random, see squid_name() */
	char **argv_cmd;
	struct timespec start_real;
	int64_t clock_offset_ns;
	uint64_t events_lost;
	bool squid_loopback;
	unsigned int seen;	/* run flags given, for repeats */
	bool proxy_env;		/* --proxy-env */
	bool have_user;		/* --user: run CMD as uid/gid */
	uid_t uid;
	gid_t gid;
	bool own_proxy;		/* no --proxy: the embedded Squid */
	bool dns_filter;	/* --allow-domains, no --dns-proxy: our dnsmasq */
	pid_t dns;		/* its pid while it runs */
	char **cmd;

	char base[PATH_MAX];	/* our cgroup: base/agent, base/proxy */
	char agent[PATH_MAX];
	char proxy[PATH_MAX];
	char run_dir[PATH_MAX];
	char ca_pem[PATH_MAX];	/* --ssl-bump: the CA and its key, until Squid has read it */
	char ca_bundle[PATH_MAX + 32];	/* system bundle + the run's CA */
	char proxy_cg_buf[PATH_MAX];
	bool made_base, made_agent, made_proxy;
	uint64_t agent_id;
	bool attached;
	pid_t squid;
	pid_t child;
	struct timespec t0;
};

static double ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

/* CMD must exist before anything is created: exit 127 otherwise. */
static bool command_exists(const char *cmd)
{
	char buf[PATH_MAX];
	const char *path = getenv("PATH");

	if (strchr(cmd, '/'))
		return !access(cmd, X_OK);
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, cmd);
		if (n && !access(buf, X_OK))
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

static const struct option run_options[] = {
	{ "allow-domains", required_argument, NULL, OPT_ALLOW_DOMAINS },
	{ "allow-domains-file", required_argument, NULL, OPT_ALLOW_FILE },
	{ "block-domains-file", required_argument, NULL, OPT_BLOCK_FILE },
	{ "block-domains", required_argument, NULL, OPT_BLOCK_DOMAINS },
	{ "hosts-file", required_argument, NULL, OPT_HOSTS_FILE },
	{ "log-dir", required_argument, NULL, OPT_LOG_DIR },
	{ "squid-allow-loopback", no_argument, NULL, OPT_SQUID_LOOPBACK },
	{ "user", required_argument, NULL, OPT_USER },
	{ "proxy-env", no_argument, NULL, OPT_PROXY_ENV },
	{ "summary", no_argument, NULL, OPT_SUMMARY },
	{ "ssl-bump", no_argument, NULL, OPT_SSL_BUMP },
	{ "allow-urls", required_argument, NULL, OPT_ALLOW_URLS },
	{ "origin-ca-file", required_argument, NULL, OPT_ORIGIN_CA },
	{ "upstream-proxy", required_argument, NULL, OPT_UPSTREAM },
	CLI_HELP_OPTION,
	CLI_JSON_OPTION,
	{ 0 },
};

/*
 * --ssl-bump: the files programs read the system's CA certificates from.
 * Each one that exists is covered, in CMD's mount namespace, by a bundle of
 * its content plus the run's CA; the first that exists is also what the
 * variables below name.
 */
static const char *const ca_bundle_candidates[] = {
	"/etc/ssl/certs/ca-certificates.crt",	/* Debian, Ubuntu, Alpine, Arch */
	"/etc/pki/tls/certs/ca-bundle.crt",	/* Fedora, RHEL, CentOS */
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL 7+ */
	"/etc/ssl/ca-bundle.pem",		/* openSUSE */
	"/etc/pki/tls/cacert.pem",		/* OpenELEC */
	"/etc/ssl/cert.pem",			/* Alpine, BSD style */
	"/usr/lib/ssl/cert.pem",		/* OpenSSL's default file (Debian) */
	"/usr/local/share/certs/ca-root-nss.crt",
	NULL,
};

/* Variables that name a CA bundle for clients that ignore the system's. */
static const char *const ca_env_vars[] = {
	"SSL_CERT_FILE",	/* OpenSSL, Python ssl, Ruby, Go */
	"NODE_EXTRA_CA_CERTS",	/* Node.js (its own store otherwise) */
	"REQUESTS_CA_BUNDLE",	/* Python requests (certifi otherwise) */
	"CURL_CA_BUNDLE",	/* curl */
	"GIT_SSL_CAINFO",	/* git over HTTPS */
	NULL,
};

#define MAX_CA_PATHS 8

/*
 * The existing candidates, symbolic links resolved, each file once, into
 * out (realpath buffers, n of them; out NULL: just count). Returns the count.
 */
static size_t ca_bundle_paths(char (*out)[PATH_MAX], size_t n)
{
	char buf[MAX_CA_PATHS][PATH_MAX];
	size_t k = 0;

	for (int i = 0; ca_bundle_candidates[i] && k < MAX_CA_PATHS; i++) {
		struct stat st;
		bool dup = false;

		if (!realpath(ca_bundle_candidates[i], buf[k]) ||
		    stat(buf[k], &st) || !S_ISREG(st.st_mode))
			continue;
		for (size_t j = 0; j < k && !dup; j++)
			dup = !strcmp(buf[j], buf[k]);
		if (!dup)
			k++;
	}
	for (size_t j = 0; out && j < k && j < n; j++)
		memcpy(out[j], buf[j], PATH_MAX);
	return k;
}

/* The first candidate that exists, as CMD sees it (for the variables). */
static const char *ca_bundle_name(void)
{
	for (int i = 0; ca_bundle_candidates[i]; i++)
		if (!access(ca_bundle_candidates[i], R_OK))
			return ca_bundle_candidates[i];
	return ca_bundle_candidates[0];
}

/* --origin-ca-file: a readable file of PEM certificates (no key). */
static bool ca_file_ok(const char *path, char *why, size_t len)
{
	char line[256];
	bool cert = false, key = false;
	FILE *f;

	if (path[0] != '/' || strpbrk(path, " \t\n\r#\"'\\$`")) {
		snprintf(why, len, "give an absolute path without spaces, quotes, '#', '$' or '\\'");
		return false;
	}
	f = fopen(path, "re");
	if (!f) {
		snprintf(why, len, "%s", strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		cert |= !strncmp(line, "-----BEGIN CERTIFICATE-----", 27);
		key |= strstr(line, "PRIVATE KEY-----") != NULL;
	}
	fclose(f);
	if (!cert)
		snprintf(why, len, "no PEM certificate in it");
	else if (key)
		snprintf(why, len, "it holds a private key: give the CA certificates only");
	return cert && !key;
}

/* --upstream-proxy HOST:PORT: an IPv4 address or a host name, a port. */
static int upstream_parse(struct run_ctx *r, const char *arg, char *why, size_t len)
{
	const char *colon = strrchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : 0;
	char perr[128];
	struct in_addr a;

	if (!colon || !n) {
		snprintf(why, len, "give HOST:PORT");
		return -1;
	}
	if (n >= sizeof(r->upstream_host) || n > 253) {
		snprintf(why, len, "host name too long");
		return -1;
	}
	memcpy(r->upstream_host, arg, n);
	r->upstream_host[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		char c = r->upstream_host[i];

		if (c >= 'A' && c <= 'Z')
			r->upstream_host[i] = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '.' || c == '-')) {
			snprintf(why, len, "the host must be an IPv4 address or a name (letters, digits, '.', '-')");
			r->upstream_host[0] = '\0';
			return -1;
		}
	}
	if (strspn(r->upstream_host, "0123456789.") == n &&
	    inet_pton(AF_INET, r->upstream_host, &a) != 1) {
		snprintf(why, len, "not a dotted-quad IPv4 address");
		r->upstream_host[0] = '\0';
		return -1;
	}
	if (r->upstream_host[0] == '.' || r->upstream_host[0] == '-' ||
	    strstr(r->upstream_host, "..")) {
		snprintf(why, len, "not a host name");
		r->upstream_host[0] = '\0';
		return -1;
	}
	if (parse_port(colon + 1, &r->upstream_port, perr, sizeof(perr))) {
		snprintf(why, len, "port: %s", perr);
		r->upstream_host[0] = '\0';
		return -1;
	}
	return 0;
}

/* The flags that belong together: --ssl-bump, --allow-urls, --proxy. */
static int bump_args_check(const struct run_ctx *r)
{
	if (r->bump && r->po.proxy.set) {
		p_err("--ssl-bump: the embedded Squid decrypts; with --proxy, bump in your own proxy (docs/docker.md)");
		return -1;
	}
	if (r->urls.n && r->po.proxy.set) {
		p_err("--allow-urls: the embedded Squid applies URL rules; with --proxy, your own proxy does");
		return -1;
	}
	if (r->upstream_host[0] && r->po.proxy.set) {
		p_err("--upstream-proxy: the embedded Squid uses it; with --proxy, configure your own proxy's parent");
		return -1;
	}
	if (r->origin_ca && !r->bump) {
		p_err("--origin-ca-file '%s': only with --ssl-bump (without it Squid never connects to an origin over TLS itself)",
		      r->origin_ca);
		return -1;
	}
	for (size_t i = 0; i < r->urls.n; i++) {
		if (r->urls.v[i].host.scheme == DOM_HTTPS && !r->bump) {
			p_err("--allow-urls 'https://%s%s': https:// rules need --ssl-bump (the path of an HTTPS request is only visible decrypted)",
			      r->urls.v[i].host.name, r->urls.v[i].path);
			return -1;
		}
	}
	if (r->bump && access(SQUID_CERTGEN, X_OK)) {
		p_err("--ssl-bump: %s: %s (install squid-openssl)", SQUID_CERTGEN,
		      strerror(errno));
		return -1;
	}
	if (r->bump && !ca_bundle_paths(NULL, 0)) {
		p_err("--ssl-bump: no system CA bundle (%s, ...) to add the run's CA to",
		      ca_bundle_candidates[0]);
		return -1;
	}
	return 0;
}

/* The flags of run that are not policy flags. */
static int run_flag(void *ctx, int c, const char *arg, char **argv)
{
	struct run_ctx *r = ctx;
	char why[400];

	(void)argv;
	if (c >= OPT_ALLOW_DOMAINS && c < OPT_RUN_END) {
		unsigned int bit = 1u << (c - OPT_ALLOW_DOMAINS);

		if (r->seen & bit) {
			for (const struct option *o = run_options; o->name; o++)
				if (o->val == c)
					p_err("--%s given twice", o->name);
			return EXIT_USAGE;
		}
		r->seen |= bit;
	}
	switch (c) {
	case 'h':
		print_usage(run_usage);
		return CLI_HELP;
	case 'j':
		cli_json();
		return 0;
	case OPT_ALLOW_DOMAINS:
	case OPT_BLOCK_DOMAINS:
		if (domain_list_add_spec(c == OPT_ALLOW_DOMAINS ? &r->allow : &r->block,
					 arg, why, sizeof(why))) {
			p_err("%s '%s': %s",
			      c == OPT_ALLOW_DOMAINS ? "--allow-domains" :
						       "--block-domains",
			      arg, why);
			return EXIT_USAGE;
		}
		return 0;
	case OPT_ALLOW_FILE:
	case OPT_BLOCK_FILE:
		if (domain_list_add_file(c == OPT_ALLOW_FILE ? &r->allow : &r->block, arg,
					 why, sizeof(why))) {
			p_err("%s '%s': %s",
			      c == OPT_ALLOW_FILE ? "--allow-domains-file" : "--block-domains-file",
			      arg, why);
			return EXIT_USAGE;
		}
		return 0;
	case OPT_HOSTS_FILE:
		if (access(arg, R_OK)) {
			p_err("--hosts-file '%s': %s", arg, strerror(errno));
			return EXIT_USAGE;
		}
		r->hosts_file = arg;
		r->po.hosts_path = arg;
		return 0;
	case OPT_LOG_DIR:
		r->log_dir = arg;
		return 0;
	case OPT_SQUID_LOOPBACK:
		r->squid_loopback = true;
		return 0;
	case OPT_PROXY_ENV:
		r->proxy_env = true;
		return 0;
	case OPT_SUMMARY:
		r->summary = true;
		return 0;
	case OPT_SSL_BUMP:
		r->bump = true;
		return 0;
	case OPT_ALLOW_URLS:
		if (url_list_add_spec(&r->urls, arg, why, sizeof(why))) {
			p_err("--allow-urls '%s': %s", arg, why);
			return EXIT_USAGE;
		}
		return 0;
	case OPT_UPSTREAM:
		if (upstream_parse(r, arg, why, sizeof(why))) {
			p_err("--upstream-proxy '%s': %s", arg, why);
			return EXIT_USAGE;
		}
		return 0;
	case OPT_ORIGIN_CA:
		if (!ca_file_ok(arg, why, sizeof(why))) {
			p_err("--origin-ca-file '%s': %s", arg, why);
			return EXIT_USAGE;
		}
		r->origin_ca = arg;
		return 0;
	case OPT_USER: {
		struct passwd *pw = getpwnam(arg);

		if (!pw) {
			p_err("--user '%s': no such user", arg);
			return EXIT_USAGE;
		}
		r->have_user = true;
		r->uid = pw->pw_uid;
		r->gid = pw->pw_gid;
		return 0;
	}
	}
	return EXIT_USAGE;
}

/*
 * root writes the logs: into a directory only root may write, or the
 * command could plant a symbolic link there for root to write through.
 */
static const char *log_dir_unsafe(const struct stat *st)
{
	if (st->st_uid != 0)
		return "not owned by root (give a new directory, or one only root can write)";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others (give a new directory, or one only root can write)";
	return NULL;
}

static int parse_args(struct run_ctx *r, int argc, char **argv)
{
	struct option longopts[64];
	size_t n = 0;
	int ret;

	/* run makes the agent's cgroup itself */
	for (const struct option *p = policy_options; p->name; p++) {
		if (p->val != OPT_CGROUP && p->val != OPT_PID)
			longopts[n++] = *p;
	}
	for (const struct option *o = run_options; o->name; o++)
		longopts[n++] = *o;
	longopts[n] = (struct option){ 0 };

	ret = policy_parse_args(&r->po, argc, argv, longopts, run_flag, r);
	if (ret)
		return ret;
	if (r->po.cgroup || r->po.pid) {
		p_err("%s: run makes the command's cgroup itself (use attach for an existing one)",
		      r->po.cgroup ? "--cgroup" : "--pid");
		return EXIT_USAGE;
	}
	if (cgroup_arg(r->po.proxy_cgroup, r->po.proxy_pid, "--proxy-cgroup",
		       "--proxy-pid", r->proxy_cg_buf, sizeof(r->proxy_cg_buf),
		       &r->po.proxy_cgroup))
		return EXIT_USAGE;
	if (optind >= argc) {
		p_err("no command: netfence run [FLAGS] -- CMD [ARGS...]");
		return EXIT_USAGE;
	}
	r->cmd = argv + optind;
	if (bump_args_check(r))
		return EXIT_USAGE;
	if (r->log_dir) {
		/* made when the run starts, not for a run refused here */
		char parent[PATH_MAX];
		struct stat st;

		snprintf(parent, sizeof(parent), "%s", r->log_dir);
		if (!stat(r->log_dir, &st) ? !S_ISDIR(st.st_mode) :
					     errno != ENOENT || stat(dirname(parent), &st) ||
						     !S_ISDIR(st.st_mode)) {
			p_err("--log-dir '%s': %s", r->log_dir,
			      errno == ENOENT ? "its parent does not exist" :
						"not a directory");
			return EXIT_USAGE;
		}
		if (!stat(r->log_dir, &st) && log_dir_unsafe(&st)) {
			p_err("--log-dir '%s': %s", r->log_dir, log_dir_unsafe(&st));
			return EXIT_USAGE;
		}
	}
	if (!command_exists(r->cmd[0])) {
		p_err("command '%s' not found", r->cmd[0]);
		return 127;
	}
	return 0;
}

static int make_dir(const char *path, bool *made)
{
	if (mkdir(path, 0755)) {
		p_err("cannot create cgroup %s: %s", path, strerror(errno));
		return -errno;
	}
	*made = true;
	return 0;
}

/* Kills whatever is left in a cgroup we made, then removes it. */
static void remove_cgroup(const char *path)
{
	int err = cgroup_kill_all(path);

	if (err && err != -ENOENT)
		pr_debug("killing what is in %s: %s", path, strerror(-err));
	cgroup_rmdir(path, 3000);
}

/*
 * A new file NAME in the directory dirfd: whatever had the name is removed,
 * then the file is created, never opened (O_EXCL): a symbolic link or a
 * hard link planted under the name in between makes it fail, not follow.
 */
static int create_new_at(int dirfd, const char *name)
{
	int fd;

	if (unlinkat(dirfd, name, 0) && errno != ENOENT)
		return -errno;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

/* from to a new file: in the log directory (dirfd) by name, or a path */
static void copy_file(const char *from, int dirfd, const char *to)
{
	int in, out;

	/* the run directory's names are not followed; a --hosts-file may be a link */
	in = open(from, O_RDONLY | O_CLOEXEC | (dirfd >= 0 ? O_NOFOLLOW : 0));
	if (in < 0)
		return;
	out = dirfd >= 0 ? create_new_at(dirfd, to) :
			   open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0 && dirfd >= 0)
		pr_warn("netfence: cannot write %s in the log directory: %s", to, strerror(-out));
	if (out >= 0) {
		fd_copy(out, in);
		close(out);
	}
	close(in);
}

static void remove_run_dir(const char *dir)
{
	int e = squid_remove_run_dir(dir);

	if (e)
		pr_warn("netfence: could not remove %s: %s", dir, strerror(-e));
}

static int read_events_lost(const struct policy_state *st, void *ctx)
{
	struct run_ctx *r = ctx;

	r->events_lost = st->stats[NF_STAT_EVENT_LOST];
	return 0;
}

static void teardown(struct run_ctx *r)
{
	char err[256], from[PATH_MAX + 64];

	if (r->attached && r->logs)
		enforce_list(r->agent_id, read_events_lost, r, err, sizeof(err));
	if (r->attached && enforce_detach(r->agent_id, NULL, err, sizeof(err)))
		pr_warn("netfence: detach %s: %s", r->agent, err);
	if (r->made_agent)
		remove_cgroup(r->agent);
	if (r->dns > 0)
		proc_stop_service(r->dns, 2000);
	if (r->own_proxy && r->squid_name[0]) {
		if (r->squid > 0)
			squid_stop(r->squid, r->squid_name, 5000);
		else
			squid_remove_shm(r->squid_name);	/* it died on its own */
	}
	if (r->made_proxy)
		remove_cgroup(r->proxy);
	if (r->made_base)
		remove_cgroup(r->base);
	if (r->run_dir[0]) {
		if (r->logs) {
			static const char *const logs[] = { SQUID_ACCESS_LOG,
							    SQUID_CACHE_LOG,
							    DNSMASQ_LOG,
							    "squid.conf" };

			for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
				snprintf(from, sizeof(from), "%s/%s", r->run_dir, logs[i]);
				copy_file(from, r->log_fd, logs[i]);
			}
		}
		remove_run_dir(r->run_dir);
	}
}

/* A signal that arrived during setup aborts it. */
static bool interrupted(void)
{
	sigset_t pending;

	sigpending(&pending);
	return sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
	       sigismember(&pending, SIGHUP);
}

/*
 * --ssl-bump: the run's CA (its key root-only; deleted once Squid has read
 * it), the certificate helper's database (Squid's user), the bundle CMD
 * trusts (the system's plus the run's CA) and a copy of --origin-ca-file
 * Squid can read.
 */
static int bump_files(struct run_ctx *r, struct squid_conf_opts *so,
		      const struct passwd *pw)
{
	static char db[PATH_MAX + 16], origin[PATH_MAX + 32];
	char err[512], crt[PATH_MAX + 32], sys[1][PATH_MAX];
	static const char *const db_files[] = { "", "/certs", "/index.txt", "/size" };
	int ret, fd;

	ret = ca_generate(r->run_dir, r->ca_pem, sizeof(r->ca_pem), err, sizeof(err));
	if (ret) {
		p_err("cannot make the run's CA: %s", err);
		return ret;
	}
	snprintf(db, sizeof(db), "%s/ssl_db", r->run_dir);
	ret = cert_db_init(SQUID_CERTGEN, db, err, sizeof(err));
	if (ret) {
		p_err("cannot make the certificate database: %s", err);
		return ret;
	}
	for (size_t i = 0; pw && i < sizeof(db_files) / sizeof(db_files[0]); i++) {
		char p[PATH_MAX + 32];

		snprintf(p, sizeof(p), "%s%s", db, db_files[i]);
		if (chown(p, pw->pw_uid, pw->pw_gid))
			pr_debug("chown %s: %s", p, strerror(errno));
	}
	if (!ca_bundle_paths(sys, 1)) {
		p_err("--ssl-bump: no system CA bundle to add the run's CA to");
		return -ENOENT;
	}
	snprintf(crt, sizeof(crt), "%s/" SQUID_CA_CERT_FILE, r->run_dir);
	snprintf(r->ca_bundle, sizeof(r->ca_bundle), "%s/ca-bundle.crt", r->run_dir);
	fd = open(r->ca_bundle, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		p_err("cannot write %s: %s", r->ca_bundle, strerror(errno));
		r->ca_bundle[0] = '\0';
		return -errno;
	}
	ret = file_append(fd, sys[0], 0);
	if (!ret && write(fd, "\n", 1) != 1)
		ret = -EIO;
	if (!ret)
		ret = file_append(fd, crt, 0);
	if (!ret && fchmod(fd, 0644))
		ret = -errno;
	close(fd);
	if (ret) {
		p_err("cannot write %s: %s", r->ca_bundle, strerror(-ret));
		return ret;
	}
	if (r->origin_ca) {
		snprintf(origin, sizeof(origin), "%s/origin-ca.crt", r->run_dir);
		copy_file(r->origin_ca, -1, origin);
		chmod(origin, 0644);
		so->origin_ca = origin;
	}
	so->bump = true;
	so->certgen = SQUID_CERTGEN;
	so->cert_db = db;
	so->cert_path = r->ca_pem;
	pr_info("netfence: --ssl-bump: TLS to allowed names is decrypted by Squid, with this run's CA");
	return 0;
}


/* The run directory, for Squid's and dnsmasq's files (made once). */
static int make_run_dir(struct run_ctx *r)
{
	struct passwd *pw;

	if (r->run_dir[0])
		return 0;
	/* the pid in the name lets `netfence cleanup` tell a dead run's */
	snprintf(r->run_dir, sizeof(r->run_dir), RUN_DIR_PREFIX "%d-XXXXXX",
		 (int)getpid());
	if (!mkdtemp(r->run_dir)) {
		p_err("cannot create a run directory: %s", strerror(errno));
		r->run_dir[0] = '\0';
		return -errno;
	}
	/* Squid drops to its own user and must write its logs here */
	pw = getpwnam(SQUID_DEFAULT_USER);
	if (pw && chown(r->run_dir, pw->pw_uid, pw->pw_gid))
		pr_debug("chown %s: %s", r->run_dir, strerror(errno));
	chmod(r->run_dir, 0700);
	return 0;
}

/*
 * A copy of the hosts file in the run directory that Squid and dnsmasq can
 * read after dropping to their user, whatever the original's permissions.
 */
static void copy_hosts(struct run_ctx *r, char *hosts, size_t len)
{
	struct passwd *pw = getpwnam(SQUID_DEFAULT_USER);

	snprintf(hosts, len, "%s/hosts", r->run_dir);
	copy_file(r->hosts_file ? r->hosts_file : SQUID_DEFAULT_HOSTS, -1, hosts);
	if (pw && chown(hosts, pw->pw_uid, pw->pw_gid))
		pr_debug("chown %s: %s", hosts, strerror(errno));
}

static int start_squid(struct run_ctx *r)
{
	struct squid_conf_opts so = { 0 };
	char conf[PATH_MAX + 32], log[PATH_MAX + 32], cert[PATH_MAX];
	char hosts[PATH_MAX + 32];
	char err[512], dns[NF_MAX_RESOLVERS * 16 + 1] = "";
	uint32_t lo = htonl(INADDR_LOOPBACK);
	uint16_t ports[3];
	FILE *f;
	int ret, status;

	ret = make_run_dir(r);
	if (ret)
		return ret;
	ret = cert_generate(r->run_dir, cert, sizeof(cert), err, sizeof(err));
	if (ret) {
		p_err("cannot make the intercept certificate: %s", err);
		return ret;
	}
	for (int i = 0; i < 3; i++) {
		ports[i] = free_tcp_port(lo);
		for (int j = 0; j < i; j++)
			if (ports[i] == ports[j])
				ports[i] = 0;
		if (!ports[i]) {
			p_err("no free TCP port on 127.0.0.1");
			return -EADDRINUSE;
		}
	}
	for (int i = 0; i < r->names.nr_resolvers; i++) {
		char a[16];

		format_ipv4(r->names.resolvers[i], a);
		snprintf(dns + strlen(dns), sizeof(dns) - strlen(dns), "%s%s",
			 i ? " " : "", a);
	}
	so.run_dir = r->run_dir;
	so.listen_addr = "127.0.0.1";
	so.http_port = ports[0];
	so.https_port = ports[1];
	so.fwd_port = ports[2];
	so.cert_path = cert;
	/* Squid reads the hosts file after dropping to its own user */
	copy_hosts(r, hosts, sizeof(hosts));
	so.hosts_file = hosts;
	if (r->bump) {
		ret = bump_files(r, &so, getpwnam(SQUID_DEFAULT_USER));
		if (ret)
			return ret;
	}
	so.urls = &r->urls;
	if (r->upstream_host[0]) {
		so.upstream_host = r->upstream_host;
		so.upstream_port = r->upstream_port;
	}
	so.allow = &r->allow;
	so.block = &r->block;
	so.dns_servers = dns[0] ? dns : NULL;
	so.allow_loopback_dst = r->squid_loopback;

	snprintf(conf, sizeof(conf), "%s/squid.conf", r->run_dir);
	f = fopen(conf, "we");
	if (!f) {
		p_err("cannot write %s: %s", conf, strerror(errno));
		return -errno;
	}
	ret = squid_conf_write(f, &so, err, sizeof(err));
	if (fclose(f) && !ret)
		ret = -EIO;
	if (ret) {
		p_err("Squid configuration: %s", err);
		return ret;
	}

	snprintf(log, sizeof(log), "%s/squid.out", r->run_dir);
	ret = squid_name(r->squid_name, sizeof(r->squid_name), (int)getpid());
	if (ret) {
		p_err("cannot name Squid: %s", strerror(-ret));
		r->squid_name[0] = '\0';
		return ret;
	}
	r->squid = squid_start(conf, r->proxy, log, r->squid_name, err, sizeof(err));
	if (r->squid < 0) {
		p_err("cannot start Squid: %s", err);
		r->squid = 0;
		return -ENOENT;
	}
	ret = squid_wait_listening(r->squid, lo, ports, 3, 15000, &status);
	if (ret) {
		if (ret == -ECHILD)
			r->squid = 0;
		p_err("Squid did not start listening (%s); see %s/cache.log",
		      ret == -ECHILD ? "it exited" : "timed out", r->run_dir);
		return ret;
	}
	/*
	 * Squid has read the CA and its key (as root, before listening) and
	 * hands the key to its certificate helpers itself: no copy stays on
	 * disk while CMD runs.
	 */
	if (r->ca_pem[0]) {
		if (unlink(r->ca_pem) && errno != ENOENT) {
			p_err("cannot remove the run's CA key %s: %s", r->ca_pem,
			      strerror(errno));
			return -errno;
		}
		r->ca_pem[0] = '\0';
	}
	/* the policy will point at this Squid */
	r->po.proxy = (struct endpoint4){ true, lo, htons(ports[0]) };
	r->po.tls_proxy = (struct endpoint4){ true, lo, htons(ports[1]) };
	r->po.fwd_proxy = (struct endpoint4){ true, lo, htons(ports[2]) };
	pr_info("netfence: Squid %d listening on 127.0.0.1:%u (http), :%u (tls), :%u (forward) after %.0f ms",
		(int)r->squid, ports[0], ports[1], ports[2], ms_since(&r->t0));
	return 0;
}

/*
 * The DNS filter: dnsmasq in the proxy's cgroup on a free 127.0.0.1 port,
 * answering the allowlist from the upstream resolvers and refusing the
 * rest; the policy sends every port-53 query of CMD there.
 */
static int start_dns(struct run_ctx *r)
{
	struct dnsmasq_conf_opts o = { 0 };
	char conf[PATH_MAX + 32], log[PATH_MAX + 32], pid[PATH_MAX + 32];
	char hosts[PATH_MAX + 32], err[600];
	uint32_t lo = htonl(INADDR_LOOPBACK);
	uint16_t port;
	FILE *f;
	int ret, status;

	ret = make_run_dir(r);
	if (ret)
		return ret;
	port = free_udp_tcp_port(lo);
	if (!port) {
		p_err("no free UDP and TCP port on 127.0.0.1 for the DNS filter");
		return -EADDRINUSE;
	}
	copy_hosts(r, hosts, sizeof(hosts));
	snprintf(conf, sizeof(conf), "%s/" DNSMASQ_CONF, r->run_dir);
	snprintf(log, sizeof(log), "%s/" DNSMASQ_LOG, r->run_dir);
	snprintf(pid, sizeof(pid), "%s/" DNSMASQ_PID_FILE, r->run_dir);
	o.listen_addr = "127.0.0.1";
	o.port = port;
	o.allow = &r->allow;
	o.block = &r->block;
	o.upstreams = r->names.resolvers;
	o.n_upstreams = r->names.nr_resolvers;
	o.hosts_file = hosts;
	o.pid_file = pid;
	o.log_file = log;
	/* it reads the run directory's files after dropping to this user */
	o.user = getpwnam(SQUID_DEFAULT_USER) ? SQUID_DEFAULT_USER : "root";
	f = fopen(conf, "we");
	if (!f) {
		p_err("cannot write %s: %s", conf, strerror(errno));
		return -errno;
	}
	ret = dnsmasq_conf_write(f, &o, err, sizeof(err));
	if (fclose(f) && !ret)
		ret = -EIO;
	if (!ret)
		ret = dnsmasq_check(conf, err, sizeof(err));
	if (ret) {
		p_err("DNS filter configuration: %s", err);
		return ret;
	}
	r->dns = dnsmasq_start(conf, r->proxy, log, err, sizeof(err));
	if (r->dns < 0) {
		p_err("cannot start the DNS filter: %s", err);
		r->dns = 0;
		return -ENOENT;
	}
	/*
	 * A healthy dnsmasq answers within milliseconds and a broken one
	 * exits (-ECHILD), but in a loaded qemu guest (TCG) one took more
	 * than the 5 s this once allowed: 30 s of wall time.
	 */
	ret = dnsmasq_wait_ready(r->dns, lo, htons(port), DNSMASQ_READY_MS,
				 &status);
	if (ret) {
		if (ret == -ECHILD)
			r->dns = 0;
		p_err("the DNS filter (dnsmasq) did not start answering (%s); see %s",
		      ret == -ECHILD ? "it exited" : "timed out", log);
		return ret;
	}
	/* the policy will send every port-53 query here */
	r->po.dns_proxy = (struct endpoint4){ true, lo, htons(port) };
	pr_info("netfence: DNS filter (dnsmasq %d) answering on 127.0.0.1:%u after %.0f ms",
		(int)r->dns, port, ms_since(&r->t0));
	return 0;
}

static int setup(struct run_ctx *r)
{
	struct cgroup_ref agent = { .fd = -1 }, proxy = { .fd = -1 };
	struct attach_result res;
	char mnt[PATH_MAX], err[512];
	bool own_proxy = r->own_proxy;
	int ret;

	if (cgroup2_mount("/proc/self/mounts", mnt, sizeof(mnt)))
		return -ENOENT;
	snprintf(r->base, sizeof(r->base), "%s/" RUN_CGROUP_PREFIX "%d", mnt,
		 (int)getpid());
	snprintf(r->agent, sizeof(r->agent), "%s/agent", r->base);
	snprintf(r->proxy, sizeof(r->proxy), "%s/proxy", r->base);
	ret = make_dir(r->base, &r->made_base);
	if (!ret)
		ret = make_dir(r->agent, &r->made_agent);
	if (!ret && (own_proxy || r->dns_filter))
		ret = make_dir(r->proxy, &r->made_proxy);
	if (ret)
		return ret;
	if (interrupted())
		return -EINTR;

	if (own_proxy) {
		ret = start_squid(r);
		if (ret)
			return ret;
		if (interrupted())
			return -EINTR;
	}
	if (r->dns_filter) {
		ret = start_dns(r);
		if (ret)
			return ret;
		if (interrupted())
			return -EINTR;
	}

	/* every endpoint is known: the policy, built once */
	ret = policy_assemble(&r->po, &r->names, &r->pol, err, sizeof(err));
	if (ret) {
		p_err("%s", err);
		return ret;
	}
	if (cgroup_open(r->agent, &agent, err, sizeof(err)) ||
	    ((own_proxy || r->po.proxy_cgroup) &&
	     cgroup_open(own_proxy ? r->proxy : r->po.proxy_cgroup, &proxy, err,
			 sizeof(err)))) {
		p_err("%s", err);
		ret = -EINVAL;
		goto out;
	}
	r->agent_id = agent.id;
	ret = enforce_attach(&agent, proxy.fd >= 0 ? &proxy : NULL, &r->pol, 0,
			     &res, err, sizeof(err));
	if (ret) {
		check_report_failure(0, err);
		goto out;
	}
	r->attached = true;
out:
	cgroup_close(&agent);
	cgroup_close(&proxy);
	return ret;
}

/*
 * In the child, in its own mount namespace, before exec (--ssl-bump): the
 * bundle (system CAs + the run's CA) read-only over every system bundle
 * file, the variables pointing at it, and the run directory (Squid's
 * configuration, logs, certificate database) covered by an empty
 * read-only tmpfs. 0, or -1 with the reason in err.
 */
static int trust_run_ca(const struct run_ctx *r, char *err, size_t errlen)
{
	char paths[MAX_CA_PATHS][PATH_MAX];
	size_t n = ca_bundle_paths(paths, MAX_CA_PATHS);
	const char *name = ca_bundle_name();

	if (!n) {
		snprintf(err, errlen, "no system CA bundle to cover");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (mount(r->ca_bundle, paths[i], NULL, MS_BIND, NULL) ||
		    mount(NULL, paths[i], NULL,
			  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
			  NULL)) {
			snprintf(err, errlen, "the run's CA bundle over %s: %s", paths[i],
				 strerror(errno));
			return -1;
		}
	}
	if (mount("tmpfs", r->run_dir, "tmpfs",
		  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0755")) {
		snprintf(err, errlen, "cover %s: %s", r->run_dir, strerror(errno));
		return -1;
	}
	for (int i = 0; ca_env_vars[i]; i++)
		if (setenv(ca_env_vars[i], name, 1)) {
			snprintf(err, errlen, "setenv: %s", strerror(errno));
			return -1;
		}
	return 0;
}

/*
 * The command's side of the fork, as pid 1 of a new PID namespace and in a
 * new mount namespace, once it is in the agent cgroup: the sandbox, then
 * the command in a child of its own, reaped here. Never returns.
 */
static void __attribute__((noreturn)) child_main(const struct run_ctx *r)
{
	char err[512];
	sigset_t set;
	pid_t cmd;

	/* pid 1 ignores what it has no handler for: these are waited for */
	sigemptyset(&set);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* only stdio comes in: no socket made outside the cgroup */
	if (close_range(3, ~0U, 0)) {
		fprintf(stderr, "Error: cannot close inherited descriptors: %s\n",
			strerror(errno));
		_exit(126);
	}
	/* no controlling terminal: TIOCSTI into the caller's is refused */
	if (setsid() < 0) {
		fprintf(stderr, "Error: setsid: %s\n", strerror(errno));
		_exit(126);
	}
	if (r->pol.pol.flags & NF_F_FWD_PROXY) {
		char url[64], a[16];

		format_ipv4(r->pol.pol.fwd_proxy_addr, a);
		snprintf(url, sizeof(url), "http://%s:%u", a,
			 ntohs(r->pol.pol.fwd_proxy_port));
		setenv("NETFENCE_FORWARD_PROXY", url, 1);
		if (r->proxy_env) {
			setenv("HTTP_PROXY", url, 1);
			setenv("HTTPS_PROXY", url, 1);
			setenv("http_proxy", url, 1);
			setenv("https_proxy", url, 1);
		}
	}
	if (sandbox_mounts(err, sizeof(err)) ||
	    (r->dns_filter && sandbox_hide_resolvers(err, sizeof(err))) ||
	    (r->bump && trust_run_ca(r, err, sizeof(err))) ||
	    sandbox_caps(err, sizeof(err)) ||
	    sandbox_seccomp(err, sizeof(err))) {
		fprintf(stderr, "Error: cannot confine %s: %s\n", r->cmd[0], err);
		_exit(126);
	}
	cmd = fork();
	if (cmd < 0) {
		fprintf(stderr, "Error: fork: %s\n", strerror(errno));
		_exit(126);
	}
	if (cmd == 0) {
		sigemptyset(&set);
		sigprocmask(SIG_SETMASK, &set, NULL);
		if (r->have_user &&
		    (setgroups(0, NULL) || setgid(r->gid) || setuid(r->uid))) {
			fprintf(stderr, "Error: cannot become uid %u: %s\n",
				(unsigned int)r->uid, strerror(errno));
			_exit(126);
		}
		execvp(r->cmd[0], r->cmd);
		fprintf(stderr, "Error: %s: %s\n", r->cmd[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	_exit(sandbox_reap(cmd));
}

static int start_child(struct run_ctx *r)
{
	int pipefd[2];
	char c;

	/* the child waits until it is in the agent cgroup, then execs */
	if (pipe2(pipefd, O_CLOEXEC)) {
		p_err("pipe: %s", strerror(errno));
		return -errno;
	}
	/* fork(), as pid 1 of a PID namespace and in a mount namespace of its own */
	r->child = (pid_t)syscall(SYS_clone, SIGCHLD | CLONE_NEWPID | CLONE_NEWNS, NULL, NULL,
				  NULL, NULL);
	if (r->child < 0) {
		p_err("clone: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (r->child == 0) {
		close(pipefd[1]);
		if (read(pipefd[0], &c, 1) != 1)
			_exit(126);
		child_main(r);
	}
	close(pipefd[0]);
	{
		int e = cgroup_enter(r->agent, (int)r->child);

		if (e) {
			/* never let it run outside the policy */
			p_err("cannot move the command into %s: %s", r->agent,
			      strerror(-e));
			kill(r->child, SIGKILL);
			waitpid(r->child, NULL, 0);
			r->child = 0;
			close(pipefd[1]);
			return -EPERM;
		}
	}
	pr_info("netfence: %s started %.0f ms after netfence run began", r->cmd[0],
		ms_since(&r->t0));
	if (write(pipefd[1], "g", 1) != 1)
		pr_debug("start pipe: %s", strerror(errno));
	close(pipefd[1]);
	return 0;
}

/* --log-dir: the policy's verdict events go to events.jsonl. */
static int log_event(void *ctx, void *data, size_t len)
{
	event_print(ctx, data, len, true);
	return 0;
}

static struct ring_buffer *open_event_log(struct run_ctx *r, FILE **f)
{
	char path[PATH_MAX + 16];
	struct ring_buffer *rb;
	int n;

	*f = NULL;
	if (!r->logs)
		return NULL;
	n = create_new_at(r->log_fd, "events.jsonl");
	if (n >= 0 && !(*f = fdopen(n, "w")))
		close(n);
	if (!*f) {
		snprintf(path, sizeof(path), "%s/events.jsonl",
			 r->log_dir ? r->log_dir : r->sum_dir);
		pr_warn("netfence: cannot write %s: %s", path, strerror(n < 0 ? -n : errno));
		return NULL;
	}
	rb = events_open(r->agent_id, log_event, *f, &n);
	if (!rb)
		pr_warn("netfence: cannot read the verdict events: %s", strerror(errno));
	return rb;
}

/* After a forwarded SIGINT/SIGTERM/SIGHUP, the command's time to exit. */
#define STOP_GRACE_MS 5000

/* Waits for the command; forwards signals; notices Squid dying; logs events. */
static int wait_child(struct run_ctx *r)
{
	struct timespec tick = { 0, 20 * 1000 * 1000 }, stop_t0;
	bool stopping = false;
	struct ring_buffer *rb;
	int status, sig, ret;
	sigset_t set;
	FILE *log;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	rb = open_event_log(r, &log);
	for (;;) {
		if (rb)
			ring_buffer__consume(rb);
		if (waitpid(r->child, &status, WNOHANG) == r->child)
			break;
		if (r->dns > 0 && waitpid(r->dns, &status, WNOHANG) == r->dns) {
			/* the policy still sends DNS there: it fails, closed */
			r->dns = 0;
			pr_warn("netfence: the DNS filter (dnsmasq) exited while %s was running: its DNS now fails",
				r->cmd[0]);
		}
		if (r->squid > 0 && waitpid(r->squid, &status, WNOHANG) == r->squid) {
			r->squid = 0;
			pr_warn("netfence: Squid exited while %s was running; stopping it",
				r->cmd[0]);
			kill(r->child, SIGTERM);
			/*
			 * 1 s, then SIGKILL (of the PID namespace's reaper,
			 * which takes every process of the command with it):
			 * an agent that ignores SIGTERM must not keep run
			 * waiting with no proxy
			 */
			for (int i = 0; i < 100; i++) {
				if (waitpid(r->child, &status, WNOHANG) == r->child)
					goto reaped;
				nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
			}
			kill(r->child, SIGKILL);
			waitpid(r->child, &status, 0);
reaped:
			r->child = 0;
			ret = EXIT_FAIL;
			goto out;
		}
		/*
		 * wake for signals, and every 20 ms for the event log
		 * (--log-dir logs allowed connections too: a burst must
		 * not fill the 256 KiB buffer)
		 */
		sig = sigtimedwait(&set, NULL, rb || stopping ? &tick : NULL);
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
			/*
			 * forwarded; a second one, or a command still there
			 * STOP_GRACE_MS later (it ignores the signal: a
			 * background job of a script inherits SIGINT ignored),
			 * ends the whole PID namespace with SIGKILL
			 */
			if (stopping) {
				kill(r->child, SIGKILL);
			} else {
				kill(r->child, sig);
				clock_gettime(CLOCK_MONOTONIC, &stop_t0);
				stopping = true;
			}
		} else if (stopping && ms_since(&stop_t0) > STOP_GRACE_MS) {
			pr_warn("netfence: %s still running %d s after the signal: killed",
				r->cmd[0], STOP_GRACE_MS / 1000);
			kill(r->child, SIGKILL);
			stopping = false;	/* once */
		}
	}
	r->child = 0;
	if (WIFEXITED(status))
		ret = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		ret = 128 + WTERMSIG(status);
	else
		ret = EXIT_FAIL;
out:
	if (rb) {
		ring_buffer__consume(rb);
		ring_buffer__free(rb);
	}
	if (log)
		fclose(log);
	return ret;
}

/* "*.x.org", "https://y.com": a domain rule as it was given. */
static void rule_str(const struct domain_rule *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s",
		 d->scheme == DOM_HTTP ? "http://" : d->scheme == DOM_HTTPS ? "https://" : "",
		 d->wildcard ? "*." : "", d->name);
}

static void json_rules(struct json *j, const char *key, const struct domain_list *l)
{
	char buf[DOM_NAME_MAX + 16];

	json_key(j, key);
	json_array_begin(j);
	for (size_t i = 0; i < l->n; i++) {
		rule_str(&l->v[i], buf, sizeof(buf));
		json_str(j, buf);
	}
	json_array_end(j);
}

/*
 * run.json in the log directory: the command, its times, the policy, the
 * versions; written when the command starts (end and exit_status null) and
 * again when it ended. Through a temporary file and a rename.
 */
static void write_run_json(const struct run_ctx *r, bool ended, int status)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 16], buf[64], a[16];
	struct timespec now;
	struct utsname u;
	struct json jw, *j;
	FILE *f;
	size_t nb;
	int fd;

	if (!r->logs)
		return;
	snprintf(path, sizeof(path), "%s/run.json", r->logs);
	snprintf(tmp, sizeof(tmp), "%s/.run.json.tmp", r->logs);
	fd = create_new_at(r->log_fd, ".run.json.tmp");
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		pr_warn("netfence: cannot write %s: %s", tmp, strerror(fd < 0 ? -fd : errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	j = json_init(&jw, f);
	json_object_begin(j);
	json_kv_str(j, "netfence_version", NETFENCE_VERSION);
	json_kv_str(j, "kernel", uname(&u) ? NULL : u.release);
	json_key(j, "command");
	json_array_begin(j);
	for (char **c = r->argv_cmd; c && *c; c++)
		json_str(j, *c);
	json_array_end(j);
	json_kv_int(j, "pid", getpid());
	event_time_str((int64_t)r->start_real.tv_sec * 1000000000 + r->start_real.tv_nsec,
		       buf, sizeof(buf));
	json_kv_str(j, "start", buf);
	json_kv_int(j, "clock_offset_ns", r->clock_offset_ns);
	clock_gettime(CLOCK_REALTIME, &now);
	event_time_str((int64_t)now.tv_sec * 1000000000 + now.tv_nsec, buf, sizeof(buf));
	json_kv_str(j, "end", ended ? buf : NULL);
	json_key(j, "exit_status");
	if (ended)
		json_int(j, status);
	else
		json_null(j);
	json_kv_uint(j, "events_lost", r->events_lost);
	json_key(j, "policy");
	json_object_begin(j);
	json_rules(j, "allow_domains", &r->allow);
	json_rules(j, "block_domains", &r->block);
	json_kv_str(j, "tls_decryption",
		    r->bump ? "bump: Squid decrypts the TLS of allowed names with this run's CA and sees every request" :
			      "none: Squid reads the TLS server name and splices, never decrypts");
	json_key(j, "url_rules");
	json_array_begin(j);
	for (size_t i = 0; i < r->urls.n && i < REP_LIST_MAX; i++) {
		const struct url_rule *u = &r->urls.v[i];
		char rule[URL_RULE_MAX + 32], port[8] = "";

		if (u->port)
			snprintf(port, sizeof(port), ":%u", u->port);
		snprintf(rule, sizeof(rule), "%s://%s%s%s%s",
			 u->host.scheme == DOM_HTTPS ? "https" : "http",
			 u->host.wildcard ? "*." : "", u->host.name, port, u->path);
		json_str(j, rule);
	}
	json_array_end(j);
	if (r->upstream_host[0]) {
		snprintf(buf, sizeof(buf), "%.40s:%u", r->upstream_host, r->upstream_port);
		json_kv_str(j, "upstream_proxy", buf);
	} else {
		json_kv_str(j, "upstream_proxy", NULL);
	}
	nb = r->pol.host.n_bypass < REP_LIST_MAX ? r->pol.host.n_bypass : REP_LIST_MAX;
	json_key(j, "host_bypass");
	json_array_begin(j);
	for (size_t i = 0; i < nb; i++) {
		format_ipv4(r->pol.host.bypass[i].addr, a);
		snprintf(buf, sizeof(buf), "%s:%u", a, ntohs(r->pol.host.bypass[i].port));
		json_str(j, buf);
	}
	json_array_end(j);
	json_kv_uint(j, "host_bypass_total", r->pol.host.n_bypass);
	json_key(j, "resolvers");
	json_array_begin(j);
	for (int i = 0; i < r->pol.pol.nr_resolvers; i++) {
		format_ipv4(r->pol.pol.resolvers[i], a);
		json_str(j, a);
	}
	json_array_end(j);
	json_key(j, "host_gateways");
	json_array_begin(j);
	for (size_t i = 0; i < r->pol.host.n_gateways; i++) {
		format_ipv4(r->pol.host.gateways[i], a);
		json_str(j, a);
	}
	json_array_end(j);
	json_kv_str(j, "redirect_ports",
		    r->po.redirect_ports ? r->po.redirect_ports : DEFAULT_REDIRECT_PORTS);
	json_kv_str(j, "tls_ports", r->po.tls_ports ? r->po.tls_ports : DEFAULT_TLS_PORTS);
	json_kv_str(j, "host_ports",
		    !r->po.host_access ? NULL :
		    r->po.host_ports   ? r->po.host_ports : DEFAULT_HOST_PORTS);
	json_kv_str(j, "loopback", r->pol.pol.loopback == NF_LOOPBACK_HOST ? "host" : "allow");
	json_object_end(j);
	json_object_end(j);
	json_end(j);
	if (fclose(f) || rename(tmp, path)) {
		pr_warn("netfence: cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
}

/* At exit: report.html in --log-dir, the summary on stderr for --summary. */
static void write_report(const struct run_ctx *r)
{
	char err[512], path[PATH_MAX + 16];
	struct report rep;

	if (!r->logs)
		return;
	report_init(&rep);
	if (report_load(&rep, r->logs, err, sizeof(err))) {
		pr_warn("netfence: no report: %s: %s", r->logs, err);
		report_free(&rep);
		return;
	}
	if (r->log_dir &&
	    report_write_html(&rep, r->logs, path, sizeof(path), err, sizeof(err))) {
		pr_warn("netfence: %s", err);
		path[0] = '\0';
	}
	if (r->log_dir && path[0])	/* the user's name for it, not /proc/self/fd */
		snprintf(path, sizeof(path), "%s/report.html", r->log_dir);
	if (r->log_dir)
		pr_info("netfence: report %s", path);
	if (r->summary) {
		fflush(stdout);
		report_text(stderr, &rep, r->log_dir && path[0] ? path : NULL);
	}
	report_free(&rep);
}

static void remove_sum_dir(const char *dir)
{
	static const char *const files[] = { "run.json", "events.jsonl",
					     SQUID_ACCESS_LOG, SQUID_CACHE_LOG };
	char path[PATH_MAX + 32];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

/*
 * --allow-domains localhost: one line saying what it enabled, the host's
 * addresses (as policy_resolve found them) and the ports that go direct.
 */
static void localhost_note(const struct run_ctx *r)
{
	char addrs[MAX_GATEWAYS * 20 + 32] = "", a[16];
	size_t n = 0;

	if (r->po.loopback == NF_LOOPBACK_HOST)
		n += (size_t)snprintf(addrs, sizeof(addrs), "127.0.0.1 (loopback)");
	for (size_t i = 0; i < r->names.host.n_gateways && n < sizeof(addrs); i++) {
		format_ipv4(r->names.host.gateways[i], a);
		n += (size_t)snprintf(addrs + n, sizeof(addrs) - n, "%s%s", n ? ", " : "", a);
	}
	pr_warn("netfence: --allow-domains localhost: host access on (--enable-host-access): "
		"%s directly on ports %s only (%s); dangerous ports never",
		addrs[0] ? addrs : "the host gateway", r->po.host_ports,
		strcmp(r->po.host_ports, LOCALHOST_HOST_PORTS) ? "--allow-host-ports" :
		"the agent firewall's development ports; --allow-host-ports changes them");
}

int do_run(int argc, char **argv)
{
	struct run_ctx r = { .squid = 0, .log_fd = -1 };
	const char *fs;
	sigset_t block, old;
	char err[512];
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &r.t0);
	policy_opts_init(&r.po);
	r.po.loopback = -1;
	r.allow.localhost_keyword = true;
	ret = parse_args(&r, argc, argv);
	if (ret) {
		ret = cli_exit(ret);
		goto out_free;
	}
	if (r.po.loopback < 0)
		r.po.loopback = NF_LOOPBACK_HOST;
	/* the report counts bypassed connections and names the processes */
	if (r.log_dir || r.summary)
		r.po.log_allowed = true;
	r.argv_cmd = r.cmd;
	r.own_proxy = !r.po.proxy.set;
	r.dns_filter = (r.allow.n > 0 || r.allow.localhost) && !r.po.dns_proxy.set;
	if (r.allow.localhost) {
		/* the agent firewall's keyword: host access, its development ports */
		r.po.host_access = true;
		if (!r.po.host_ports)
			r.po.host_ports = LOCALHOST_HOST_PORTS;
	}
	/*
	 * The command shares the caller's network namespace: a server it
	 * runs answers local clients only, or whoever reaches the host could
	 * read what it serves.
	 */
	r.po.inbound_local = true;
	/*
	 * Every flag checked and every name looked up before anything starts;
	 * the policy itself is built once Squid's and dnsmasq's ports are known.
	 */
	if (policy_resolve(&r.po, &r.names, err, sizeof(err))) {
		p_err("%s", err);
		ret = EXIT_USAGE;
		goto out_free;
	}
	ret = require_root("run");
	if (ret)
		goto out_free;
	if (r.allow.localhost)
		localhost_note(&r);
	if (!r.own_proxy && !r.po.proxy_cgroup)
		pr_warn("netfence: --proxy without --proxy-cgroup: the proxy gets no SO_ORIGINAL_DST answers");
	/*
	 * The working directory stays the command's: never a cgroup or bpf
	 * file system, whose files would move it out of its cgroup or reach
	 * the pins.
	 */
	fs = sandbox_unsafe_fs(".");
	if (fs) {
		char cwd[PATH_MAX];

		p_err("the working directory '%s' is on %s: run the command from another directory",
		      getcwd(cwd, sizeof(cwd)) ? cwd : ".", fs);
		ret = EXIT_USAGE;
		goto out_free;
	}
	if (r.log_dir) {
		bool made = !mkdir(r.log_dir, 0700);
		struct stat st;
		const char *why;

		if (!made && errno != EEXIST) {
			p_err("--log-dir '%s': %s", r.log_dir, strerror(errno));
			ret = EXIT_FAIL;
			goto out_free;
		}
		/*
		 * Opened now, before the command exists, and used through this
		 * descriptor only: the command cannot swap the directory.
		 */
		r.log_fd = open(r.log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
						   (made ? O_NOFOLLOW : 0));
		why = r.log_fd < 0 ? strerror(errno) :
		      fstat(r.log_fd, &st) ? strerror(errno) : log_dir_unsafe(&st);
		if (why) {
			p_err("--log-dir '%s': %s", r.log_dir, why);
			ret = EXIT_FAIL;
			goto out_free;
		}
	}
	if (r.summary && !r.log_dir) {
		snprintf(r.sum_dir, sizeof(r.sum_dir), RUN_DIR_PREFIX "%d-XXXXXX",
			 (int)getpid());
		if (!mkdtemp(r.sum_dir)) {
			p_err("cannot create a directory for --summary: %s", strerror(errno));
			ret = EXIT_FAIL;
			goto out_free;
		}
		r.log_fd = open(r.sum_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (r.log_fd < 0) {
			p_err("cannot open %s: %s", r.sum_dir, strerror(errno));
			rmdir(r.sum_dir);
			ret = EXIT_FAIL;
			goto out_free;
		}
	}
	if (r.log_fd >= 0) {
		snprintf(r.logs_path, sizeof(r.logs_path), "/proc/self/fd/%d", r.log_fd);
		r.logs = r.logs_path;
	}
	{
		struct timespec mono;

		clock_gettime(CLOCK_REALTIME, &r.start_real);
		clock_gettime(CLOCK_MONOTONIC, &mono);
		r.clock_offset_ns = ((int64_t)r.start_real.tv_sec - mono.tv_sec) * 1000000000 +
				    (r.start_real.tv_nsec - mono.tv_nsec);
	}

	/* from here on every exit path goes through teardown */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &old);

	ret = setup(&r);
	if (!ret && interrupted())
		ret = -EINTR;
	if (!ret) {
		write_run_json(&r, false, 0);
		ret = start_child(&r);
	}
	if (ret) {
		if (ret == -EINTR)
			pr_warn("netfence: interrupted during setup");
		ret = EXIT_FAIL;
		teardown(&r);
	} else {
		ret = wait_child(&r);
		teardown(&r);
		write_run_json(&r, true, ret);
		write_report(&r);
	}
	if (r.sum_dir[0])
		remove_sum_dir(r.sum_dir);
	sigprocmask(SIG_SETMASK, &old, NULL);
out_free:
	if (r.log_fd >= 0)
		close(r.log_fd);
	policy_free(&r.pol);
	policy_names_free(&r.names);
	policy_opts_free(&r.po);
	domain_list_free(&r.allow);
	domain_list_free(&r.block);
	url_list_free(&r.urls);
	return ret;
}
