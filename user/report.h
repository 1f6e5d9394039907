/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The run report: reads a run's log directory (run.json, Squid's
 * access.log, events.jsonl), aggregates it by verdict and destination, and
 * renders it as one self-contained HTML page, one JSON document or a short
 * text summary. Pure logic (files in, text out): no BPF, no privileges.
 *
 * Verdicts, one per attempt:
 *   allowed         a request Squid served (access.log)
 *   squid_refused   a request Squid refused (TCP_DENIED, 403, 409, a TLS
 *                   name not allowed)
 *   kernel_refused  a refusal event (connect, datagram, socket)
 *   bypassed        an allowed event to a host bypass pair
 *   dns_refused     a name the DNS filter refused (events of hook "dns")
 * Allowed events of redirected connections are not attempts of their own
 * (Squid's line is): they only name the processes behind Squid's lines.
 */
#ifndef NETFENCE_REPORT_H
#define NETFENCE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum rep_verdict {
	RV_KERNEL_REFUSED = 0,	/* the order of the table: refused first */
	RV_SQUID_REFUSED,
	RV_DNS_REFUSED,
	RV_ALLOWED,
	RV_BYPASSED,
	RV_N,
};

#define REP_PROCS_MAX	4	/* comm/pid shown per destination */
#define REP_ADDRS_MAX	4	/* original destinations kept per Squid row */
#define REP_HTML_ROWS	200	/* table rows in the page; then "N more" */
#define REP_JSON_ROWS	1000	/* destinations in -j; then a count */
#define REP_TEXT_ROWS	10	/* refused destinations in --text */
#define REP_BUCKETS	60	/* timeline columns */
#define REP_LIST_MAX	256	/* items kept of each policy list */

/* The verdict's key in JSON ("kernel_refused") and its label in the page. */
const char *rep_verdict_key(int v);
const char *rep_verdict_label(int v);

struct rep_dest {
	char *name;		/* domain, address:port, DNS name, socket kind */
	int verdict;		/* enum rep_verdict */
	char *reason;		/* deny_port, TCP_DENIED/403, bypass, ... */
	char *proto;		/* tcp, udp, http, https, dns, ... */
	uint64_t count;
	int64_t first_ns, last_ns;	/* wall clock; 0 unknown */
	uint64_t bytes_in, bytes_out;	/* Squid: from the client, to it */
	bool has_bytes;
	char *procs[REP_PROCS_MAX];	/* "comm/pid" */
	int nprocs;
	uint64_t more_procs;	/* distinct ones not kept */
	char *addrs[REP_ADDRS_MAX];	/* Squid rows: original addr:port */
	int naddrs;
	uint16_t port;		/* host order; 0 unknown */
	bool ip_literal;	/* name is an address, not a domain */
};

struct rep_list {
	char **v;
	size_t n;
	uint64_t total;		/* items in the file, kept or not */
};

struct rep_meta {
	bool present;		/* run.json was read */
	char *command;		/* argv joined with spaces */
	char *version, *kernel;
	int64_t start_ns, end_ns;	/* wall clock; 0 unknown */
	bool has_exit;
	int exit_status;
	int64_t clock_offset_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC */
	bool has_offset;
	uint64_t events_lost;
	struct rep_list allow, block, bypass, resolvers, gateways;
	char *redirect_ports, *tls_ports, *host_ports, *loopback;
	char *tls_decryption, *upstream;	/* run --ssl-bump, --upstream-proxy */
	struct rep_list urls;			/* run --allow-urls */
};

/* A (verdict, time) of one attempt, for the timeline. */
struct rep_point {
	int64_t t_ns;
	uint8_t verdict;
};

struct rep_procset;

struct report {
	struct rep_meta meta;
	uint64_t totals[RV_N];
	uint64_t lines_access, lines_events;	/* read */
	uint64_t skipped_access, skipped_events, skipped_meta;
	bool have_access, have_events;
	/* destinations: a hash of (verdict, name) into dests */
	struct rep_dest *dests;
	size_t n_dests, cap_dests;
	uint32_t *slots;	/* index + 1 into dests, 0 empty */
	size_t n_slots;
	/* processes seen per original destination (redirect events) */
	struct rep_procset *procsets;
	size_t n_procsets, cap_procsets;
	uint32_t *pslots;
	size_t n_pslots;
	struct rep_point *points;
	size_t n_points, cap_points;
	uint64_t untimed;	/* attempts with no known time */
	/* scratch for parsing */
	void *nodes;
	char *strbuf;
	size_t strbuf_cap;
	bool finished;
};

void report_init(struct report *r);
void report_free(struct report *r);

/* run.json. Returns 0, or -EINVAL (counted in skipped_meta). */
int report_meta(struct report *r, const char *text, size_t len);
/* One access.log line (no newline needed). 0, or -EINVAL: skipped. */
int report_access_line(struct report *r, const char *line, size_t len);
/* One events.jsonl line. 0, or -EINVAL: skipped. */
int report_event_line(struct report *r, const char *line, size_t len);
/* Joins processes to Squid's rows and sorts the table; once, before output. */
void report_finish(struct report *r);

/*
 * Reads DIR/run.json, DIR/access.log and DIR/events.jsonl (each optional,
 * at least one must exist). Returns 0, or -ENOENT/-ENOTDIR/-errno with a
 * reason in err (the caller prefixes the directory).
 */
int report_load(struct report *r, const char *dir, char *err, size_t errlen);

/*
 * What would have allowed a refused destination: the flag and value in
 * flag/value (true returned), or why nothing should (false, note set).
 */
bool report_suggest(const struct report *r, const struct rep_dest *d,
		    char *flag, size_t flaglen, char *value, size_t valuelen,
		    char *note, size_t notelen);

void report_html(FILE *f, const struct report *r);
/*
 * Writes DIR/report.html (through a temporary file and a rename); its path
 * in path. 0, or a negative errno with the reason in err.
 */
int report_write_html(const struct report *r, const char *dir, char *path,
		      size_t pathlen, char *err, size_t errlen);
void report_json(FILE *f, const struct report *r, const char *html_path);
void report_text(FILE *f, const struct report *r, const char *html_path);

/* Helpers, exposed for the tests. */
void html_escape(FILE *f, const char *s);
/* "2026-12-05T21:59:43.123456Z" from wall-clock ns. */
void rfc3339_ns(int64_t ns, char *buf, size_t len);
/* The reverse (Z or +hh:mm, any number of fraction digits). 0 or -EINVAL. */
int rfc3339_parse(const char *s, int64_t *ns);

#endif /* NETFENCE_REPORT_H */
