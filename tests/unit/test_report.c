// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The run report (user/report.c, user/report_render.c) and the JSON reader
 * (user/jsonread.c): log parsing, aggregation, suggestions, escaping.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "jsonread.h"
#include "report.h"

/* ---- helpers ---------------------------------------------------------------- */

static int access_line(struct report *r, const char *s)
{
	return report_access_line(r, s, strlen(s));
}

static int event_line(struct report *r, const char *s)
{
	return report_event_line(r, s, strlen(s));
}

static const struct rep_dest *find(const struct report *r, int verdict,
				   const char *name)
{
	for (size_t i = 0; i < r->n_dests; i++)
		if (r->dests[i].verdict == verdict && !strcmp(r->dests[i].name, name))
			return &r->dests[i];
	return NULL;
}

static char *render(const struct report *r, int what)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (what == 0)
		report_html(f, r);
	else if (what == 1)
		report_json(f, r, "/x/report.html");
	else
		report_text(f, r, "/x/report.html");
	fclose(f);
	return buf;
}

#define ACCESS_OK                                                            \
	"1796508089.797 127.0.0.1:40030 127.0.0.2:80 127.0.0.1:36241 GET "    \
	"allowed.test - - 200 TCP_MISS 127.0.0.2:80 76 243 14"
#define ACCESS_DENIED                                                        \
	"1796508089.994 127.0.0.1:40040 127.0.0.3:80 127.0.0.1:36241 GET "    \
	"blocked.test - - 403 TCP_DENIED -:- 76 3421 0"
#define EV_DENY_PORT                                                         \
	"{\"time\":\"2026-12-05T22:09:35.550000Z\",\"ts_ns\":1,\"verdict\":"  \
	"\"refused\",\"reason\":\"deny_port\",\"hook\":\"connect\",\"proto\":" \
	"\"tcp\",\"family\":2,\"destination\":\"10.0.0.1:5000\",\"pid\":7,"   \
	"\"tgid\":7,\"uid\":0,\"comm\":\"curl\",\"cgroup_id\":9}"

/* ---- the JSON reader ------------------------------------------------------------ */

static int parse(const char *s, struct jr_node *nodes, int cap, char *buf,
		 size_t bufcap, struct jr_doc *d)
{
	*d = (struct jr_doc){ .nodes = nodes, .cap = cap, .buf = buf, .bufcap = bufcap };
	return jr_parse(d, s, strlen(s));
}

static void test_jsonread_values(void **state)
{
	struct jr_node n[32];
	char buf[256];
	struct jr_doc d;
	const struct jr_node *a, *e;

	(void)state;
	assert_int_equal(parse("{\"a\":\"x\\n\\u00e9\\ud83d\\ude00\",\"b\":[1,-2.5,true,null],"
			       "\"c\":{},\"big\":18446744073709551615}",
			       n, 32, buf, sizeof(buf), &d), 0);
	assert_string_equal(jr_get_str(&d, &n[0], "a"), "x\n\xc3\xa9\xf0\x9f\x98\x80");
	a = jr_get(&d, &n[0], "b");
	assert_non_null(a);
	assert_int_equal(a->type, JR_ARR);
	e = jr_child(&d, a);
	assert_true(e->is_uint);
	assert_int_equal(e->u, 1);
	e = jr_next(&d, e);
	assert_true(e->num == -2.5);
	assert_false(e->is_uint);
	e = jr_next(&d, e);
	assert_int_equal(e->type, JR_BOOL);
	assert_true(e->b);
	assert_int_equal(jr_next(&d, e)->type, JR_NULL);
	assert_null(jr_next(&d, jr_next(&d, e)));
	assert_int_equal(jr_get(&d, &n[0], "c")->type, JR_OBJ);
	assert_true(jr_get(&d, &n[0], "big")->u == UINT64_MAX);
	assert_null(jr_get(&d, &n[0], "nope"));
	assert_null(jr_get_str(&d, &n[0], "b"));
}

static void test_jsonread_rejects(void **state)
{
	static const char *const bad[] = {
		"", "{", "{\"a\":1", "{\"a\":1}x", "{\"a\":1,}", "[1,]", "{a:1}",
		"\"\\u0000\"", "\"\\ud800\"", "\"\\udc00x\"", "\"a\nb\"", "01", "1.",
		"-", "tru", "nul", "{\"a\" 1}", "\"\\x\"", "\"abc", "[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]",
	};
	struct jr_node n[64];
	char buf[256];
	struct jr_doc d;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], n, 64, buf, sizeof(buf), &d) == 0)
			fail_msg("accepted: '%s'", bad[i]);
	}
	/* out of nodes is E2BIG, not a crash */
	assert_int_equal(parse("[1,2,3,4,5]", n, 3, buf, sizeof(buf), &d), -E2BIG);
	/* a buffer of len + 8 bytes always holds the strings */
	assert_int_equal(parse("\"abc\"", n, 4, buf, 5 + 8, &d), 0);
	assert_string_equal(n[0].str, "abc");
}

/* ---- time ------------------------------------------------------------------------ */

static void test_rfc3339(void **state)
{
	char buf[48];
	int64_t ns;

	(void)state;
	rfc3339_ns(1796508089797000000LL, buf, sizeof(buf));
	assert_string_equal(buf, "2026-12-05T22:01:29.797000Z");
	assert_int_equal(rfc3339_parse(buf, &ns), 0);
	assert_true(ns == 1796508089797000000LL);
	assert_int_equal(rfc3339_parse("2026-12-05T23:01:29.5+01:00", &ns), 0);
	assert_true(ns == 1796508089500000000LL);
	assert_int_equal(rfc3339_parse("2026-12-05T22:01:29Z", &ns), 0);
	assert_int_equal(rfc3339_parse("2026-12-05T22:01:29", &ns), -EINVAL);
	assert_int_equal(rfc3339_parse("2026-13-05T22:01:29Z", &ns), -EINVAL);
	assert_int_equal(rfc3339_parse("2026-12-05T22:01:29.Z", &ns), -EINVAL);
	assert_int_equal(rfc3339_parse("2026-12-05T22:01:29Zjunk", &ns), -EINVAL);
	assert_int_equal(rfc3339_parse("garbage", &ns), -EINVAL);
}

/* ---- access.log ------------------------------------------------------------------ */

static void test_access_lines(void **state)
{
	const struct rep_dest *d;
	struct report r;

	(void)state;
	report_init(&r);
	assert_int_equal(access_line(&r, ACCESS_OK "\n"), 0);
	assert_int_equal(access_line(&r, ACCESS_OK), 0);
	assert_int_equal(access_line(&r, ACCESS_DENIED), 0);
	/* the raw IP in Host, refused */
	assert_int_equal(access_line(&r, "1796508090.194 127.0.0.1:40044 127.0.0.2:80 "
					 "127.0.0.1:36241 GET 127.0.0.2 - - 403 TCP_DENIED "
					 "-:- 73 3415 0"), 0);
	/*
	 * TLS, as Squid 5.7 logs it: the SNI names it; a splice is two lines
	 * (Squid's CONNECT at status 0, then the tunnel, status 500 though it
	 * worked) and counts once; a terminated one is refused.
	 */
	assert_int_equal(access_line(&r, "1796508091.000 10.0.0.2:5 10.1.0.1:443 127.0.0.1:3130 "
					 "CONNECT 10.1.0.1 tls.test splice 0 NONE_NONE "
					 "-:- 0 0 24"), 0);
	assert_int_equal(access_line(&r, "1796508091.000 10.0.0.2:5 10.1.0.1:443 127.0.0.1:3130 "
					 "CONNECT tls.test tls.test splice 500 TCP_TUNNEL "
					 "10.1.0.1:443 500 6000 20"), 0);
	assert_int_equal(access_line(&r, "1796508091.000 10.0.0.2:6 10.1.0.2:443 127.0.0.1:3130 "
					 "CONNECT 10.1.0.2 evil.test terminate 0 NONE_NONE "
					 "-:- 0 0 1"), 0);
	/* blank lines are no lines */
	assert_int_equal(access_line(&r, "\n"), 0);
	assert_int_equal(r.lines_access, 7);
	assert_int_equal(r.skipped_access, 0);

	d = find(&r, RV_ALLOWED, "allowed.test");
	assert_non_null(d);
	assert_int_equal(d->count, 2);
	assert_int_equal(d->bytes_in, 152);
	assert_int_equal(d->bytes_out, 486);
	assert_string_equal(d->reason, "TCP_MISS/200");
	assert_string_equal(d->proto, "http");
	assert_true(d->first_ns == 1796508089797000000LL);
	d = find(&r, RV_SQUID_REFUSED, "blocked.test");
	assert_non_null(d);
	assert_false(d->ip_literal);
	d = find(&r, RV_SQUID_REFUSED, "127.0.0.2");
	assert_non_null(d);
	assert_true(d->ip_literal);
	d = find(&r, RV_ALLOWED, "tls.test");
	assert_non_null(d);
	assert_string_equal(d->proto, "https");
	assert_int_equal(d->count, 1);
	assert_non_null(find(&r, RV_SQUID_REFUSED, "evil.test"));
	assert_int_equal(r.totals[RV_ALLOWED], 3);
	assert_int_equal(r.totals[RV_SQUID_REFUSED], 3);
	report_free(&r);
}

static void test_access_malformed(void **state)
{
	static const char *const bad[] = {
		/* cut in half by a kill */
		"1796508089.797 127.0.0.1:40030 127.0.0.2:80 127.0.0.1:36241 GET allo",
		/* one field too many (another logformat) */
		ACCESS_OK " extra",
		"notatime 127.0.0.1:40030 127.0.0.2:80 127.0.0.1:36241 GET a.test - - 200 "
		"TCP_MISS 1.2.3.4:80 76 243 14",
		"1796508089.797 127.0.0.1:40030 127.0.0.2:80 127.0.0.1:36241 GET a.test - - 2000 "
		"TCP_MISS 1.2.3.4:80 76 243 14",
		"1796508089.797 127.0.0.1:40030 127.0.0.2:80 127.0.0.1:36241 GET a.test - - 200 "
		"TCP_MISS 1.2.3.4:80 -5 243 14",
		"1796508089.797 127.0.0.1:40030 127.0.0.2:80 127.0.0.1:36241 GET a\x01.test - - 200 "
		"TCP_MISS 1.2.3.4:80 5 243 14",
		"\xff garbage",
	};
	struct report r;

	(void)state;
	report_init(&r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(access_line(&r, bad[i]), -EINVAL);
	assert_int_equal(access_line(&r, ACCESS_OK), 0);
	assert_int_equal(r.skipped_access, sizeof(bad) / sizeof(bad[0]));
	assert_int_equal(r.totals[RV_ALLOWED], 1);
	assert_int_equal(r.n_dests, 1);
	report_free(&r);
}

/* ---- events.jsonl ---------------------------------------------------------------- */

static void test_event_lines(void **state)
{
	const struct rep_dest *d;
	struct report r;

	(void)state;
	report_init(&r);
	assert_int_equal(event_line(&r, EV_DENY_PORT), 0);
	assert_int_equal(event_line(&r, EV_DENY_PORT "\n"), 0);
	/* an unknown field is fine */
	assert_int_equal(event_line(&r, "{\"verdict\":\"refused\",\"reason\":\"deny_udp\","
					"\"hook\":\"packet\",\"proto\":\"udp\",\"destination\":"
					"\"10.0.0.1:5353\",\"tgid\":8,\"comm\":\"bash\","
					"\"new_field\":[1,{\"x\":2}]}"), 0);
	/* bypass */
	assert_int_equal(event_line(&r, "{\"verdict\":\"allowed\",\"reason\":\"bypass\","
					"\"hook\":\"connect\",\"proto\":\"tcp\",\"destination\":"
					"\"10.0.0.1:8080\",\"tgid\":9,\"comm\":\"mcp\"}"), 0);
	/* DNS refused: the name is the destination */
	assert_int_equal(event_line(&r, "{\"verdict\":\"refused\",\"reason\":\"dns_refused\","
					"\"hook\":\"dns\",\"proto\":\"udp\",\"destination\":"
					"\"10.0.0.53:53\",\"name\":\"exfil.evil.test\",\"qtype\":\"TXT\","
					"\"tgid\":10,\"comm\":\"dig\"}"), 0);
	/* a socket refusal has no destination */
	assert_int_equal(event_line(&r, "{\"verdict\":\"refused\",\"reason\":\"deny_socket\","
					"\"hook\":\"socket\",\"proto\":\"raw\",\"destination\":null,"
					"\"tgid\":11,\"comm\":\"ping\"}"), 0);
	/* redirect and DNS allowed: no attempt of their own */
	assert_int_equal(event_line(&r, "{\"verdict\":\"allowed\",\"reason\":\"redirect\","
					"\"hook\":\"connect\",\"proto\":\"tcp\",\"destination\":"
					"\"127.0.0.2:80\",\"tgid\":12,\"comm\":\"curl\"}"), 0);
	assert_int_equal(event_line(&r, "{\"verdict\":\"allowed\",\"reason\":\"dns\","
					"\"destination\":\"10.0.0.53:53\",\"tgid\":12,\"comm\":\"curl\"}"), 0);
	assert_int_equal(r.skipped_events, 0);
	assert_int_equal(r.totals[RV_KERNEL_REFUSED], 4);
	assert_int_equal(r.totals[RV_BYPASSED], 1);
	assert_int_equal(r.totals[RV_DNS_REFUSED], 1);
	assert_int_equal(r.totals[RV_ALLOWED], 0);

	d = find(&r, RV_KERNEL_REFUSED, "10.0.0.1:5000");
	assert_non_null(d);
	assert_int_equal(d->count, 2);
	assert_int_equal(d->port, 5000);
	assert_int_equal(d->nprocs, 1);
	assert_string_equal(d->procs[0], "curl/7");
	assert_true(d->first_ns == 1796508575550000000LL);
	assert_null(d->procs[1]);
	assert_non_null(find(&r, RV_KERNEL_REFUSED, "socket (raw)"));
	d = find(&r, RV_DNS_REFUSED, "exfil.evil.test");
	assert_non_null(d);
	assert_string_equal(d->proto, "dns");
	/* without a time: untimed */
	assert_int_equal(r.untimed, 4);

	/* the redirect event names the process behind Squid's line */
	assert_int_equal(access_line(&r, ACCESS_OK), 0);
	report_finish(&r);
	d = find(&r, RV_ALLOWED, "allowed.test");
	assert_non_null(d);
	assert_int_equal(d->nprocs, 1);
	assert_string_equal(d->procs[0], "curl/12");
	/* sorted: refused first, the largest count first */
	assert_int_equal(r.dests[0].verdict, RV_KERNEL_REFUSED);
	assert_string_equal(r.dests[0].name, "10.0.0.1:5000");
	assert_int_equal(r.dests[r.n_dests - 1].verdict, RV_BYPASSED);
	report_free(&r);
}

static void test_event_malformed(void **state)
{
	static const char *const bad[] = {
		"{\"verdict\":\"refused\",\"reason\":\"deny_port\",\"destinat",	/* cut */
		"{\"reason\":\"deny_port\"}",					/* no verdict */
		"{\"verdict\":\"maybe\",\"reason\":\"deny_port\"}",
		"[1,2]",
		"not json",
		"{\"verdict\":\"refused\",\"reason\":\"x\",\"time\":\"yesterday\"}",
	};
	struct report r;

	(void)state;
	report_init(&r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(event_line(&r, bad[i]), -EINVAL);
	assert_int_equal(r.skipped_events, sizeof(bad) / sizeof(bad[0]));
	assert_int_equal(r.n_dests, 0);
	report_free(&r);
}

/* Many procs and many destinations: kept to the caps, counted beyond. */
static void test_caps(void **state)
{
	char line[512];
	const struct rep_dest *d;
	struct report r;
	char *html, *json;

	(void)state;
	report_init(&r);
	for (int i = 0; i < 10; i++) {
		snprintf(line, sizeof(line),
			 "{\"verdict\":\"refused\",\"reason\":\"deny_port\",\"destination\":"
			 "\"10.0.0.1:5000\",\"tgid\":%d,\"comm\":\"p\"}", i);
		assert_int_equal(event_line(&r, line), 0);
	}
	for (int i = 0; i < REP_HTML_ROWS + 50; i++) {
		snprintf(line, sizeof(line),
			 "{\"verdict\":\"refused\",\"reason\":\"deny_port\",\"destination\":"
			 "\"10.0.%d.%d:6000\",\"tgid\":1,\"comm\":\"p\"}", i / 250, i % 250);
		assert_int_equal(event_line(&r, line), 0);
	}
	report_finish(&r);
	d = find(&r, RV_KERNEL_REFUSED, "10.0.0.1:5000");
	assert_int_equal(d->nprocs, REP_PROCS_MAX);
	assert_int_equal(d->more_procs, 10 - REP_PROCS_MAX);
	html = render(&r, 0);
	assert_non_null(strstr(html, "51 more destinations not shown"));
	json = render(&r, 1);
	assert_non_null(strstr(json, "\"destinations_more\":0"));
	assert_non_null(strstr(json, "\"processes_more\":6"));
	free(html);
	free(json);
	report_free(&r);
}

/* ---- run.json -------------------------------------------------------------------- */

#define META                                                                      \
	"{\"netfence_version\":\"0.1.0\",\"kernel\":\"6.18.0\",\"command\":[\"curl\"," \
	"\"-s\",\"http://a.test/\"],\"pid\":5,\"start\":\"2026-12-05T22:00:00.000000Z\","  \
	"\"clock_offset_ns\":1796508000000000000,\"end\":\"2026-12-05T22:00:10.500000Z\"," \
	"\"exit_status\":3,\"events_lost\":2,\"policy\":{\"allow_domains\":[\"a.test\","  \
	"\"*.b.test\"],\"block_domains\":[\"bad.a.test\"],\"host_bypass\":"              \
	"[\"10.0.0.1:8080\"],\"host_bypass_total\":1,\"resolvers\":[\"10.0.0.53\"],"     \
	"\"host_gateways\":[\"10.0.0.1\"],\"redirect_ports\":\"80,443\",\"tls_ports\":"  \
	"\"443\",\"host_ports\":\"8080\",\"loopback\":\"allow\"}}"

static void test_meta(void **state)
{
	struct report r;

	(void)state;
	report_init(&r);
	assert_int_equal(report_meta(&r, META, strlen(META)), 0);
	assert_string_equal(r.meta.command, "curl -s http://a.test/");
	assert_int_equal(r.meta.exit_status, 3);
	assert_true(r.meta.has_exit);
	assert_true(r.meta.end_ns - r.meta.start_ns == 10500000000LL);
	assert_int_equal(r.meta.allow.n, 2);
	assert_string_equal(r.meta.allow.v[1], "*.b.test");
	assert_string_equal(r.meta.gateways.v[0], "10.0.0.1");
	assert_int_equal(r.meta.events_lost, 2);
	/* an event without "time" is placed with the run's clock offset */
	assert_int_equal(event_line(&r, "{\"verdict\":\"refused\",\"reason\":\"deny_port\","
					"\"ts_ns\":5000000000,\"destination\":\"10.0.0.1:9\"}"), 0);
	assert_true(r.dests[0].first_ns == 1796508005000000000LL);
	report_free(&r);

	report_init(&r);
	assert_int_equal(report_meta(&r, "{\"command\":", 11), -EINVAL);
	assert_int_equal(r.skipped_meta, 1);
	assert_false(r.meta.present);
	report_free(&r);
}

/* ---- suggestions ----------------------------------------------------------------- */

static void suggest(struct report *r, int verdict, const char *name, const char *want_flag,
		    const char *want_value)
{
	const struct rep_dest *d = find(r, verdict, name);
	char flag[64], value[600], note[256];
	bool s;

	assert_non_null(d);
	s = report_suggest(r, d, flag, sizeof(flag), value, sizeof(value), note, sizeof(note));
	if (!want_flag) {
		if (s)
			fail_msg("%s: suggested %s %s", name, flag, value);
		assert_true(note[0] != '\0');
		return;
	}
	if (!s)
		fail_msg("%s: no suggestion (%s)", name, note);
	assert_string_equal(flag, want_flag);
	assert_string_equal(value, want_value);
}

static void test_suggestions(void **state)
{
	static const char *const events[] = {
		"{\"verdict\":\"refused\",\"reason\":\"deny_port\",\"destination\":\"10.0.0.1:9090\"}",
		"{\"verdict\":\"refused\",\"reason\":\"deny_port\",\"destination\":\"10.0.0.1:22\"}",
		"{\"verdict\":\"refused\",\"reason\":\"deny_port\",\"destination\":\"10.9.0.1:5432\"}",
		"{\"verdict\":\"refused\",\"reason\":\"deny_port\",\"destination\":\"10.9.0.1:5000\"}",
		"{\"verdict\":\"refused\",\"reason\":\"deny_udp\",\"destination\":\"10.9.0.1:53\"}",
		"{\"verdict\":\"refused\",\"reason\":\"deny_ipv6\",\"destination\":\"[fd00::1]:80\"}",
		"{\"verdict\":\"refused\",\"reason\":\"deny_reserved\",\"destination\":\"169.254.169.254:80\"}",
		"{\"verdict\":\"refused\",\"reason\":\"dns_refused\",\"hook\":\"dns\",\"name\":\"new.test\"}",
		"{\"verdict\":\"refused\",\"reason\":\"dns_refused\",\"hook\":\"dns\","
		"\"name\":\"a\\\\001b.test\"}",
		"{\"verdict\":\"refused\",\"reason\":\"dns_refused\",\"hook\":\"dns\",\"name\":\"x.bad.a.test\"}",
	};
	struct report r;

	(void)state;
	report_init(&r);
	assert_int_equal(report_meta(&r, META, strlen(META)), 0);
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		assert_int_equal(event_line(&r, events[i]), 0);
	assert_int_equal(access_line(&r, ACCESS_DENIED), 0);
	assert_int_equal(access_line(&r, "1796508090.194 127.0.0.1:40044 127.0.0.2:80 "
					 "127.0.0.1:36241 GET 127.0.0.2 - - 403 TCP_DENIED "
					 "-:- 73 3415 0"), 0);
	assert_int_equal(access_line(&r, "1796508090.194 127.0.0.1:40044 127.0.0.2:80 "
					 "127.0.0.1:36241 GET forged.test - - 409 TCP_MISS "
					 "-:- 73 3415 0"), 0);
	report_finish(&r);

	/* the host gateway on a port: the host port flag */
	suggest(&r, RV_KERNEL_REFUSED, "10.0.0.1:9090", "--allow-host-ports", "9090");
	/* never a dangerous port, on the gateway or elsewhere */
	suggest(&r, RV_KERNEL_REFUSED, "10.0.0.1:22", NULL, NULL);
	suggest(&r, RV_KERNEL_REFUSED, "10.9.0.1:5432", NULL, NULL);
	/* elsewhere: through Squid */
	suggest(&r, RV_KERNEL_REFUSED, "10.9.0.1:5000", "--redirect-ports", "5000");
	suggest(&r, RV_KERNEL_REFUSED, "10.9.0.1:53", NULL, NULL);
	suggest(&r, RV_KERNEL_REFUSED, "[fd00::1]:80", NULL, NULL);
	suggest(&r, RV_KERNEL_REFUSED, "169.254.169.254:80", NULL, NULL);
	suggest(&r, RV_DNS_REFUSED, "new.test", "--allow-domains", "new.test");
	/* not a name the allowlist takes, or blocked */
	suggest(&r, RV_DNS_REFUSED, "a\\001b.test", NULL, NULL);
	suggest(&r, RV_DNS_REFUSED, "x.bad.a.test", NULL, NULL);
	suggest(&r, RV_SQUID_REFUSED, "blocked.test", "--allow-domains", "blocked.test");
	/* never a raw IP as a domain */
	suggest(&r, RV_SQUID_REFUSED, "127.0.0.2", NULL, NULL);
	suggest(&r, RV_SQUID_REFUSED, "forged.test", NULL, NULL);
	report_free(&r);
}

/* ---- rendering -------------------------------------------------------------------- */

static void test_render(void **state)
{
	struct report r;
	char *html, *json, *text;

	(void)state;
	report_init(&r);
	assert_int_equal(report_meta(&r, META, strlen(META)), 0);
	assert_int_equal(access_line(&r, ACCESS_OK), 0);
	assert_int_equal(access_line(&r, ACCESS_DENIED), 0);
	assert_int_equal(event_line(&r, EV_DENY_PORT), 0);
	assert_int_equal(access_line(&r, "cut"), -EINVAL);
	report_finish(&r);

	html = render(&r, 0);
	assert_non_null(strstr(html, "<!DOCTYPE html>"));
	/* self-contained: nothing loaded from anywhere */
	assert_null(strstr(html, "src="));
	assert_null(strstr(html, "href=\"http"));
	assert_null(strstr(html, "url("));
	assert_null(strstr(html, "@import"));
	assert_non_null(strstr(html, "default-src 'none'"));
	assert_non_null(strstr(html, "<svg id=\"timeline\""));
	assert_non_null(strstr(html, "<span class=\"n\">1</span><span class=\"l\">allowed through Squid"));
	assert_non_null(strstr(html, "<code>--allow-domains blocked.test</code>"));
	assert_non_null(strstr(html, "access.log 3 (skipped 1)"));
	assert_non_null(strstr(html, "curl -s"));

	json = render(&r, 1);
	assert_non_null(strstr(json, "\"totals\":{\"kernel_refused\":1,\"squid_refused\":1,"
				     "\"dns_refused\":0,\"allowed\":1,\"bypassed\":0}"));
	assert_non_null(strstr(json, "\"skipped_lines\":{\"access_log\":1,\"events\":0,"
				     "\"run_json\":0}"));
	assert_non_null(strstr(json, "\"exit_status\":3"));
	assert_non_null(strstr(json, "\"suggestion\":{\"flag\":\"--allow-domains\","
				     "\"value\":\"blocked.test\"}"));
	assert_non_null(strstr(json, "\"duration_s\":10.500,\"exit_status\":3,"));

	text = render(&r, 2);
	assert_non_null(strstr(text, "exit status 3, 10.5 s"));
	assert_non_null(strstr(text, "add --allow-domains blocked.test"));
	assert_non_null(strstr(text, "skipped lines: access.log 1"));
	assert_non_null(strstr(text, "report: /x/report.html"));
	free(html);
	free(json);
	free(text);
	report_free(&r);
}

/* Hostile names in every field that reaches the page. */
static void test_hostile(void **state)
{
	static const char *const hostile_meta =
		"{\"command\":[\"sh\",\"-c\",\"<script>alert(1)</script>\\u001b[31m\"],"
		"\"kernel\":\"\\\"><img src=x onerror=alert(2)>\","
		"\"policy\":{\"allow_domains\":[\"</code><script>alert(3)</script>\"]}}";
	struct report r;
	char *html, *json, *text;

	(void)state;
	report_init(&r);
	assert_int_equal(report_meta(&r, hostile_meta, strlen(hostile_meta)), 0);
	assert_int_equal(event_line(&r, "{\"verdict\":\"refused\",\"reason\":\"<b>x</b>\","
					"\"proto\":\"<i>\",\"destination\":\"<svg onload=alert(4)>:1\","
					"\"tgid\":1,\"comm\":\"<img src=x>'\\\"&\"}"), 0);
	assert_int_equal(event_line(&r, "{\"verdict\":\"refused\",\"reason\":\"dns_refused\","
					"\"hook\":\"dns\",\"name\":\"<script>alert(5)</script>.test\"}"), 0);
	assert_int_equal(access_line(&r, "1796508089.994 127.0.0.1:40040 127.0.0.3:80 "
					 "127.0.0.1:36241 GET <script>alert(6)</script> - - 403 "
					 "TCP_DENIED -:- 76 3421 0"), 0);
	report_finish(&r);
	html = render(&r, 0);
	assert_null(strstr(html, "<script>alert"));
	assert_null(strstr(html, "<img"));
	assert_null(strstr(html, "<svg onload"));
	assert_null(strstr(html, "<b>x"));
	assert_null(strstr(html, "<i>"));
	assert_null(strstr(html, "\x1b"));
	assert_null(strstr(html, "\"><img"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;&#xFFFD;[31m"));
	assert_non_null(strstr(html, "&lt;img src=x&gt;&#39;&quot;&amp;"));
	/* one script element only: the page's own */
	{
		size_t n = 0;

		for (const char *p = html; (p = strstr(p, "<script")); p++)
			n++;
		assert_int_equal(n, 1);
	}
	json = render(&r, 1);
	assert_null(strstr(json, "\x1b"));
	text = render(&r, 2);
	/* no terminal escape reaches a terminal */
	assert_null(strstr(text, "\x1b"));
	free(html);
	free(json);
	free(text);
	report_free(&r);
}

/* ---- a directory ------------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_load_dir(void **state)
{
	char dir[] = "/tmp/nf-report-test-XXXXXX", err[256], path[600];
	struct report r;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	report_init(&r);
	assert_int_equal(report_load(&r, dir, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "not a run's --log-dir"));
	report_free(&r);

	report_init(&r);
	assert_true(report_load(&r, "/nonexistent/nf", err, sizeof(err)) < 0);
	report_free(&r);

	/* a run killed mid-write: no end, a line cut in half */
	write_file(dir, "run.json", "{\"command\":[\"x\"],\"start\":\"2026-12-05T22:00:00Z\","
				    "\"end\":null,\"exit_status\":null}");
	write_file(dir, "access.log", ACCESS_OK "\n" ACCESS_DENIED "\n1796508089.797 127.0");
	write_file(dir, "events.jsonl", EV_DENY_PORT "\n{\"verdict\":\"ref");
	report_init(&r);
	assert_int_equal(report_load(&r, dir, err, sizeof(err)), 0);
	assert_int_equal(r.skipped_access, 1);
	assert_int_equal(r.skipped_events, 1);
	assert_false(r.meta.has_exit);
	assert_int_equal(r.totals[RV_ALLOWED] + r.totals[RV_SQUID_REFUSED] +
				 r.totals[RV_KERNEL_REFUSED], 3);
	assert_int_equal(report_write_html(&r, dir, path, sizeof(path), err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 1000);
	report_free(&r);
	unlink(path);
	snprintf(path, sizeof(path), "%s/run.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/access.log", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/events.jsonl", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsonread_values),
		cmocka_unit_test(test_jsonread_rejects),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_access_lines),
		cmocka_unit_test(test_access_malformed),
		cmocka_unit_test(test_event_lines),
		cmocka_unit_test(test_event_malformed),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_meta),
		cmocka_unit_test(test_suggestions),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_load_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
