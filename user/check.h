/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * netfence check: does this machine have what netfence needs? Root and
 * capabilities, BTF, cgroup v2, bpffs, every BPF map, program and attach type
 * of netfence's object (really loaded and attached, with BPF links, to a
 * throwaway cgroup that is removed at once), and Squid with ssl-bump.
 *
 * attach and run call check_features() when they fail, so that a missing
 * feature is reported with the same words as `netfence check` prints.
 */
#ifndef NETFENCE_CHECK_H
#define NETFENCE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"

#define CHECK_MAX_PROBES 64

enum probe_status {
	PROBE_PRESENT,		/* there and working */
	PROBE_MISSING,		/* not there: netfence fails without it */
	PROBE_WARNING,		/* optional and missing, or something that may interfere */
	PROBE_UNCHECKED,	/* could not be tested (not root, an earlier failure) */
	PROBE_SKIPPED,		/* not asked for (--no-squid) */
};

struct probe {
	char name[48];		/* stable key for -j: "root", "attach_cgroup_inet4_connect" */
	char title[64];		/* what it is, for people: "cgroup/connect4 hook" */
	bool required;		/* missing or unchecked fails the check */
	enum probe_status status;
	char detail[512];	/* what it means for the user; one line */
	char since[8];		/* the Linux version that brought it, or "" */
};

struct check_report {
	int n;
	struct probe probes[CHECK_MAX_PROBES];
};

/* Flags of check_run() and check_features(). */
#define CHECK_F_SQUID	(1u << 0)	/* also Squid with ssl-bump (run without --proxy) */

/*
 * Runs every probe. Creates and removes a cgroup under the cgroup2 mount,
 * loads and attaches programs there and detaches them; leaves nothing.
 * Returns the number of required probes not present.
 */
int check_run(struct check_report *r, unsigned int flags);

/*
 * The same probes, quietly: 0 when everything netfence needs is there, else
 * -ENOTSUP and the first missing feature in err, worded as `netfence check`
 * prints it ("TITLE: DETAIL").
 */
int check_features(unsigned int flags, char *err, size_t errlen);

/*
 * For attach and run when they fail: reports the failure with p_err(), in
 * check's words when a feature netfence needs is missing ("Error: TITLE:
 * DETAIL (netfence check lists every probe)"), else as err. The probes take
 * about half a second; call it on the failure path only, after cleaning up.
 */
void check_report_failure(unsigned int flags, const char *err);

/* Required probes not present; the first one's "TITLE: DETAIL" in err. */
int check_missing(const struct check_report *r, char *err, size_t errlen);

void check_print_text(FILE *f, const struct check_report *r);
void check_print_json(struct json *j, const struct check_report *r);
const char *probe_status_name(enum probe_status s);

/* Pure helpers, unit tested. */

/* The CapEff mask of a /proc/PID/status text. 0 or -ENOENT. */
int capeff_parse(const char *status, uint64_t *caps);

#define SQUID_HAS_OPENSSL	(1u << 0)	/* --with-openssl: ssl-bump peek and splice */
#define SQUID_HAS_CRTD		(1u << 1)	/* --enable-ssl-crtd: certificate helper */
/* What `squid -v` says it was built with. */
unsigned int squid_features(const char *version_text);

/*
 * The mount points of cgroup v1 hierarchies with net_cls or net_prio in a
 * /proc/self/mounts text, comma-separated in out. Returns how many.
 */
int v1_net_hierarchies(const char *mounts, char *out, size_t len);

/*
 * One line from libbpf's output of a failed object load: "prog 'NAME':
 * <the verifier's complaint>", or the last libbpf message.
 */
void verifier_summary(const char *log, char *out, size_t len);

#endif /* NETFENCE_CHECK_H */
