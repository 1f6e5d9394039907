// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfence cleanup: remove what a killed netfence left behind. A `run`
 * killed with SIGKILL leaves its cgroups (the command and Squid still in
 * them, still confined), its policy pins and its run directory; an attach or
 * detach killed half-way leaves an incomplete or closed policy (everything
 * refused). Live runs and enforcing policies are never touched.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "commands.h"
#include "enforce.h"
#include "json.h"
#include "log.h"
#include "squid.h"

const char cleanup_usage[] =
	"Usage: netfence cleanup [--dry-run]\n"
	"Remove what killed netfence runs and attaches left behind: cgroups of\n"
	"runs whose netfence is gone (their processes are killed), their run\n"
	"directories, and policies that are incomplete, closed, or whose cgroup is\n"
	"gone. Enforcing policies and live runs are left alone.\n";

struct cleanup {
	bool dry_run;
	struct json *j;
	int removed;
	int failed;
};

static void report(struct cleanup *c, const char *what, const char *name,
		   int err)
{
	if (err)
		c->failed++;
	else
		c->removed++;
	if (c->j) {
		json_object_begin(c->j);
		json_kv_str(c->j, "kind", what);
		json_kv_str(c->j, "name", name);
		json_kv_str(c->j, "result", c->dry_run ? "would remove" :
					    err ? strerror(err) : "removed");
		json_object_end(c->j);
	} else {
		printf("%s %s %s%s%s\n", c->dry_run ? "would remove" : err ? "failed" : "removed",
		       what, name, err ? ": " : "", err ? strerror(err) : "");
	}
}

/* Is pid a live (not zombie) netfence process? */
static bool netfence_alive(int pid)
{
	char path[64], comm[32] = "", state = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	/* "pid (comm) S ...": comm has no ')' here, we named it */
	if (fscanf(f, "%*d (%31[^)]) %c", comm, &state) != 2)
		comm[0] = '\0';
	fclose(f);
	return !strcmp(comm, "netfence") && state != 'Z' && state != 'X';
}

/* Kills everything in a cgroup subtree, then removes it, deepest first. */
static int remove_cgroup_tree(const char *path)
{
	char sub[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err, ret = 0;

	err = cgroup_kill_all(path);
	if (err && err != -ENOENT)
		pr_debug("killing what is in %s: %s", path, strerror(-err));
	d = opendir(path);
	if (d) {
		while ((de = readdir(d))) {
			if (de->d_type != DT_DIR || de->d_name[0] == '.')
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			if (remove_cgroup_tree(sub))
				ret = -1;
		}
		closedir(d);
	}
	err = cgroup_rmdir(path, 3000);
	return err ? err : ret;
}

static void dead_runs(struct cleanup *c)
{
	char mnt[PATH_MAX], base[PATH_MAX], agent[PATH_MAX + 8], err[256];
	struct dirent *de;
	DIR *d;

	if (cgroup2_mount("/proc/self/mounts", mnt, sizeof(mnt)))
		return;
	d = opendir(mnt);
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;
		char *end;
		long pid;

		if (strncmp(de->d_name, RUN_CGROUP_PREFIX, strlen(RUN_CGROUP_PREFIX)))
			continue;
		pid = strtol(de->d_name + strlen(RUN_CGROUP_PREFIX), &end, 10);
		if (*end || pid <= 0 || netfence_alive((int)pid))
			continue;
		snprintf(base, sizeof(base), "%s/%s", mnt, de->d_name);
		snprintf(agent, sizeof(agent), "%s/agent", base);
		if (c->dry_run) {
			report(c, "run-cgroup", base, 0);
			continue;
		}
		/* the policy first: the command is killed after it, confined */
		if (!stat(agent, &st)) {
			int ret = enforce_detach(st.st_ino, NULL, err, sizeof(err));

			if (ret && ret != -ENOENT)
				pr_warn("netfence: detach %s: %s", agent, err);
		}
		report(c, "run-cgroup", base, -remove_cgroup_tree(base));
		squid_remove_run_shm((int)pid);
	}
	closedir(d);
}

static int remove_dir_files(const char *dir)
{
	return -squid_remove_run_dir(dir);
}

static void dead_run_dirs(struct cleanup *c)
{
	const char *prefix = strrchr(RUN_DIR_PREFIX, '/') + 1;
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir("/tmp");

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		pid = strtol(de->d_name + strlen(prefix), &end, 10);
		if (*end != '-' || pid <= 0 || netfence_alive((int)pid))
			continue;
		snprintf(path, sizeof(path), "/tmp/%s", de->d_name);
		report(c, "run-directory", path, c->dry_run ? 0 : remove_dir_files(path));
	}
	closedir(d);
}

struct stale {
	uint64_t ids[256];
	char names[256][64];
	int n;
};

static int collect_stale(const struct policy_state *ps, void *ctx)
{
	struct stale *s = ctx;

	if (ps->complete && ps->state != NF_GATE_CLOSED && ps->cgroup_exists &&
	    !ps->cgroup_replaced)
		return 0;	/* enforcing */
	if (s->n < 256) {
		s->ids[s->n] = ps->id;
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", ps->dir);
		s->n++;
	}
	return 0;
}

static void stale_policies(struct cleanup *c)
{
	struct stale *s = calloc(1, sizeof(*s));
	char err[256];

	if (!s)
		return;
	if (enforce_list(0, collect_stale, s, err, sizeof(err)) < 0) {
		p_err("%s", err);
		c->failed++;
	}
	for (int i = 0; i < s->n; i++) {
		int ret = 0;

		if (!c->dry_run)
			ret = enforce_detach(s->ids[i], NULL, err, sizeof(err));
		report(c, "policy", s->names[i], ret == -ENOENT ? 0 : -ret);
	}
	free(s);
}

int do_cleanup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		CLI_HELP_OPTION,
		CLI_JSON_OPTION,
		{ 0 },
	};
	struct cleanup c = { 0 };
	struct json jw;
	int ch, ret;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, CLI_SHORTOPTS, longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			print_usage(cleanup_usage);
			return EXIT_OK;
		case 'j':
			cli_json();
			break;
		case 'n':
			c.dry_run = true;
			break;
		default:
			return bad_option(argv, ch);
		}
	}
	if (optind < argc) {
		p_err("unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	ret = require_root("cleanup");
	if (ret)
		return ret;
	if (json_output) {
		c.j = json_init(&jw, stdout);
		json_array_begin(c.j);
	}
	dead_runs(&c);
	dead_run_dirs(&c);
	stale_policies(&c);
	if (c.j) {
		json_array_end(c.j);
		json_end(c.j);
	} else if (!c.removed && !c.failed) {
		printf("nothing to clean up\n");
	}
	return c.failed ? EXIT_FAIL : EXIT_OK;
}
