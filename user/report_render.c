// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The run report as one self-contained HTML page (inline CSS and SVG, one
 * inline script allowed by its hash, a Content-Security-Policy that lets
 * nothing else load or run), as one JSON document, and as a short text
 * summary for a terminal. Everything that comes from the logs is escaped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "json.h"
#include "report.h"

static const char *const verdict_colors[RV_N] = {
	[RV_KERNEL_REFUSED] = "#c0392b",
	[RV_SQUID_REFUSED] = "#e67e22",
	[RV_DNS_REFUSED] = "#8e44ad",
	[RV_ALLOWED] = "#27ae60",
	[RV_BYPASSED] = "#2471a3",
};

/* The order of the figures and the bar: what went through, then refusals. */
static const int figure_order[RV_N] = { RV_ALLOWED, RV_BYPASSED, RV_SQUID_REFUSED,
					RV_KERNEL_REFUSED, RV_DNS_REFUSED };

void html_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				fputs("&#xFFFD;", f);
			else
				fputc(c, f);
		}
	}
}

/* Text for a terminal: control characters (escape sequences) shown as '?'. */
static void text_safe(FILE *f, const char *s, int width)
{
	int n = 0;

	for (; s && *s; s++, n++) {
		unsigned char c = (unsigned char)*s;

		fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
	}
	for (; n < width; n++)
		fputc(' ', f);
}

/* "21:59:43.123" (UTC) */
static void clock_str(int64_t ns, char *buf, size_t len)
{
	char full[48];

	if (!ns) {
		snprintf(buf, len, "-");
		return;
	}
	rfc3339_ns(ns, full, sizeof(full));
	snprintf(buf, len, "%.12s", full + 11);
}

static void bytes_str(uint64_t b, char *buf, size_t len)
{
	if (b < 10000)
		snprintf(buf, len, "%" PRIu64 " B", b);
	else if (b < 10000ull * 1024)
		snprintf(buf, len, "%.1f KiB", (double)b / 1024);
	else if (b < 10000ull * 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", (double)b / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.1f GiB", (double)b / (1024.0 * 1024 * 1024));
}

static uint64_t total_attempts(const struct report *r)
{
	uint64_t t = 0;

	for (int v = 0; v < RV_N; v++)
		t += r->totals[v];
	return t;
}

static double duration_s(const struct report *r)
{
	const struct rep_meta *m = &r->meta;

	if (!m->start_ns || !m->end_ns || m->end_ns < m->start_ns)
		return -1;
	return (double)(m->end_ns - m->start_ns) / 1e9;
}

/* The time window of the timeline: the run's, else the attempts'. */
static void window(const struct report *r, int64_t *t0, int64_t *t1)
{
	*t0 = r->meta.start_ns;
	*t1 = r->meta.end_ns;
	if (r->n_points) {
		if (!*t0 || r->points[0].t_ns < *t0)
			*t0 = r->points[0].t_ns;
		if (!*t1 || r->points[r->n_points - 1].t_ns > *t1)
			*t1 = r->points[r->n_points - 1].t_ns;
	}
	if (*t1 <= *t0)
		*t1 = *t0 + 1000000000;
}

static void buckets(const struct report *r, uint64_t b[REP_BUCKETS][RV_N],
		    int64_t *t0, int64_t *t1)
{
	memset(b, 0, sizeof(uint64_t) * REP_BUCKETS * RV_N);
	window(r, t0, t1);
	for (size_t i = 0; i < r->n_points; i++) {
		int64_t off = r->points[i].t_ns - *t0;
		int k = (int)((double)off * REP_BUCKETS / (double)(*t1 - *t0 + 1));

		if (k < 0)
			k = 0;
		if (k >= REP_BUCKETS)
			k = REP_BUCKETS - 1;
		b[k][r->points[i].verdict]++;
	}
}

static const char *reason_text(const struct rep_dest *d)
{
	static const struct {
		const char *code, *text;
	} reasons[] = {
		{ "deny_port", "port not redirected nor bypassed" },
		{ "deny_udp", "UDP other than DNS" },
		{ "deny_ipv6", "native IPv6" },
		{ "deny_reserved", "metadata, multicast or broadcast address" },
		{ "deny_intercept", "straight to the proxy's intercept port" },
		{ "deny_nopolicy", "policy being changed" },
		{ "deny_norecord", "no room to record the destination" },
		{ "deny_proto", "protocol not covered" },
		{ "deny_socket", "socket kind not covered" },
		{ "bypass", "host bypass pair" },
		{ "dns_refused", "name not on the allowlist" },
	};
	const char *r = d->reason ? d->reason : "";

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (!strcmp(r, reasons[i].code))
			return reasons[i].text;
	if (d->verdict == RV_SQUID_REFUSED) {
		if (strstr(r, "/409"))
			return "name does not match the address";
		if (strstr(r, "DENIED") || strstr(r, "/403"))
			return "domain not on the allowlist";
		return "TLS name not allowed";
	}
	return NULL;
}

/* ---- HTML ------------------------------------------------------------------ */

/*
 * The page's only script. Its SHA-256 (base64) is in the policy below: change
 * one, change the other (the browser test checks they agree).
 */
#define HTML_SCRIPT                                                            \
	"(function(){var f=document.getElementById('filter');"                \
	"var rows=document.querySelectorAll('#dests tbody tr');"              \
	"f.addEventListener('input',function(){var q=f.value.toLowerCase();"  \
	"for(var i=0;i<rows.length;i++){rows[i].hidden=q!==''&&"             \
	"rows[i].textContent.toLowerCase().indexOf(q)<0;}});"                 \
	"document.body.setAttribute('data-js','ok');})();"
#define HTML_SCRIPT_SHA256 "tvAGO/ZHySLKHwHlBOBVi+b/sSQcZgBF4C6UE2ZEizU="

static const char html_css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
	"margin:0 auto;max-width:1100px;padding:16px 24px;color:#222;background:#fafafa}"
	"h1{font-size:22px;margin:4px 0 12px}h2{font-size:17px;margin:22px 0 8px}"
	"table{border-collapse:collapse;width:100%;background:#fff}"
	"th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e3e3;"
	"vertical-align:top}"
	"th{background:#f0f0f0;font-weight:600}"
	"table.meta th{width:170px;background:#fff}"
	"td.num{text-align:right;font-variant-numeric:tabular-nums}"
	"code{font:13px ui-monospace,monospace;background:#f0f0f0;padding:1px 4px;"
	"border-radius:3px;overflow-wrap:anywhere}"
	".figs{display:flex;gap:10px;flex-wrap:wrap}"
	".fig{flex:1 1 150px;background:#fff;border:1px solid #ddd;border-left:6px solid;"
	"border-radius:4px;padding:8px 12px}"
	".fig .n{font-size:26px;font-weight:700;display:block}"
	".fig .l{color:#555}"
	".v{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;"
	"font-size:12px;white-space:nowrap}"
	".dest{overflow-wrap:anywhere}"
	".muted{color:#777}"
	"svg{display:block;background:#fff;border:1px solid #ddd;border-radius:4px}"
	"#filter{margin:0 0 8px;padding:4px 8px;width:280px}"
	"ul.sugg li{margin:3px 0}"
	"footer{margin-top:24px;color:#666;font-size:12px}";

static void h(FILE *f, const char *s)
{
	html_escape(f, s);
}

static void meta_row(FILE *f, const char *key, const char *val)
{
	fputs("<tr><th>", f);
	h(f, key);
	fputs("</th><td>", f);
	if (val)
		h(f, val);
	else
		fputs("<span class=\"muted\">unknown</span>", f);
	fputs("</td></tr>\n", f);
}

static void meta_list_row(FILE *f, const char *key, const struct rep_list *l,
			  const char *none)
{
	fputs("<tr><th>", f);
	h(f, key);
	fputs("</th><td>", f);
	if (!l->n)
		fprintf(f, "<span class=\"muted\">%s</span>", none);
	for (size_t i = 0; i < l->n; i++) {
		fputs(i ? " <code>" : "<code>", f);
		h(f, l->v[i]);
		fputs("</code>", f);
	}
	if (l->total > l->n)
		fprintf(f, " <span class=\"muted\">and %" PRIu64 " more</span>",
			l->total - l->n);
	fputs("</td></tr>\n", f);
}

static void html_header(FILE *f, const struct report *r)
{
	const struct rep_meta *m = &r->meta;
	char a[64], b[64];
	double d = duration_s(r);

	fputs("<table class=\"meta\">\n", f);
	meta_row(f, "Command", m->command);
	rfc3339_ns(m->start_ns, a, sizeof(a));
	meta_row(f, "Started", m->start_ns ? a : NULL);
	rfc3339_ns(m->end_ns, a, sizeof(a));
	if (m->end_ns && d >= 0) {
		snprintf(b, sizeof(b), "%s (%.1f s)", a, d);
		meta_row(f, "Ended", b);
	} else {
		meta_row(f, "Ended", m->present ? "not recorded (the run did not finish)" :
						  NULL);
	}
	if (m->has_exit) {
		snprintf(a, sizeof(a), "%d", m->exit_status);
		meta_row(f, "Exit status", a);
	} else {
		meta_row(f, "Exit status", NULL);
	}
	meta_list_row(f, "Allowed domains", &m->allow, "none: Squid refuses every domain");
	if (m->block.n)
		meta_list_row(f, "Blocked domains", &m->block, "none");
	if (m->urls.n)
		meta_list_row(f, "URL rules", &m->urls, "none");
	if (m->tls_decryption)
		meta_row(f, "TLS decryption", m->tls_decryption);
	if (m->upstream)
		meta_row(f, "Upstream proxy", m->upstream);
	meta_list_row(f, "Host bypass", &m->bypass, "none");
	meta_list_row(f, "DNS resolvers", &m->resolvers, "none");
	if (m->redirect_ports || m->tls_ports) {
		snprintf(b, sizeof(b), "%.24s (TLS: %.24s)",
			 m->redirect_ports ? m->redirect_ports : "?",
			 m->tls_ports ? m->tls_ports : "?");
		meta_row(f, "Ports to Squid", b);
	}
	meta_row(f, "netfence", m->version);
	meta_row(f, "Kernel", m->kernel);
	fputs("</table>\n", f);
}

static void html_totals(FILE *f, const struct report *r)
{
	uint64_t all = total_attempts(r);
	double x = 0;

	fputs("<h2>Totals</h2>\n<div class=\"figs\" id=\"totals\">\n", f);
	for (int i = 0; i < RV_N; i++) {
		int v = figure_order[i];

		fprintf(f,
			"<div class=\"fig\" id=\"total-%s\" style=\"border-left-color:%s\">"
			"<span class=\"n\">%" PRIu64 "</span><span class=\"l\">%s</span></div>\n",
			rep_verdict_key(v), verdict_colors[v], r->totals[v],
			rep_verdict_label(v));
	}
	fputs("</div>\n", f);
	fputs("<svg id=\"bar\" viewBox=\"0 0 1000 28\" width=\"100%\" height=\"28\" "
	      "preserveAspectRatio=\"none\" "
	      "role=\"img\" aria-label=\"share of each verdict\">", f);
	if (!all)
		fputs("<rect x=\"0\" y=\"0\" width=\"1000\" height=\"28\" fill=\"#eee\"/>"
		      "<text x=\"500\" y=\"19\" text-anchor=\"middle\" font-size=\"13\" "
		      "fill=\"#777\">no attempts recorded</text>",
		      f);
	for (int i = 0; all && i < RV_N; i++) {
		int v = figure_order[i];
		double w = 1000.0 * (double)r->totals[v] / (double)all;

		if (!r->totals[v])
			continue;
		fprintf(f, "<rect x=\"%.2f\" y=\"0\" width=\"%.2f\" height=\"28\" fill=\"%s\">"
			   "<title>%s: %" PRIu64 " (%.1f%%)</title></rect>",
			x, w, verdict_colors[v], rep_verdict_label(v), r->totals[v],
			100.0 * (double)r->totals[v] / (double)all);
		x += w;
	}
	fputs("</svg>\n", f);
}

static void html_timeline(FILE *f, const struct report *r)
{
	static uint64_t b[REP_BUCKETS][RV_N];
	const double W = 1000, H = 230, X0 = 56, X1 = 990, Y0 = 12, Y1 = 190;
	uint64_t max = 0;
	int64_t t0, t1;
	char l0[32], l1[32], lm[32];
	double bw = (X1 - X0) / REP_BUCKETS;

	buckets(r, b, &t0, &t1);
	for (int k = 0; k < REP_BUCKETS; k++) {
		uint64_t s = 0;

		for (int v = 0; v < RV_N; v++)
			s += b[k][v];
		if (s > max)
			max = s;
	}
	fputs("<h2>Timeline</h2>\n", f);
	fprintf(f, "<svg id=\"timeline\" viewBox=\"0 0 %.0f %.0f\" width=\"100%%\" "
		   "role=\"img\" aria-label=\"attempts over time by verdict\">\n",
		W, H);
	fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#999\"/>"
		   "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#999\"/>\n",
		X0, Y1, X1, Y1, X0, Y0, X0, Y1);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"end\" "
		   "fill=\"#555\">%" PRIu64 "</text>"
		   "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"end\" "
		   "fill=\"#555\">0</text>\n",
		X0 - 6, Y0 + 10, max, X0 - 6, Y1);
	for (int k = 0; max && k < REP_BUCKETS; k++) {
		double y = Y1;

		for (int i = 0; i < RV_N; i++) {
			int v = figure_order[i];
			double hgt = (Y1 - Y0) * (double)b[k][v] / (double)max;

			if (!b[k][v])
				continue;
			y -= hgt;
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
				   "fill=\"%s\"><title>%s: %" PRIu64 "</title></rect>",
				X0 + k * bw + 1, y, bw - 2, hgt, verdict_colors[v],
				rep_verdict_label(v), b[k][v]);
		}
	}
	if (!max)
		fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\" font-size=\"13\" "
			   "fill=\"#777\">no timed attempts</text>",
			(X0 + X1) / 2, (Y0 + Y1) / 2);
	clock_str(t0, l0, sizeof(l0));
	clock_str(t0 + (t1 - t0) / 2, lm, sizeof(lm));
	clock_str(t1, l1, sizeof(l1));
	fprintf(f, "\n<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" fill=\"#555\">%s</text>"
		   "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" fill=\"#555\" "
		   "text-anchor=\"middle\">%s</text>"
		   "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" fill=\"#555\" "
		   "text-anchor=\"end\">%s UTC</text>\n",
		X0, Y1 + 16, l0, (X0 + X1) / 2, Y1 + 16, lm, X1, Y1 + 16, l1);
	for (int i = 0; i < RV_N; i++) {
		int v = figure_order[i];
		double x = X0 + i * 180;

		fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
			   "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" fill=\"#333\">%s</text>",
			x, H - 18, verdict_colors[v], x + 16, H - 8, rep_verdict_label(v));
	}
	fputs("\n</svg>\n", f);
	if (r->untimed)
		fprintf(f, "<p class=\"muted\">%" PRIu64 " attempts have no time and are "
			   "not in the chart.</p>\n",
			r->untimed);
}

static void html_suggestions(FILE *f, const struct report *r)
{
	char flag[64], value[600], note[256];
	size_t shown = 0, notes = 0;

	fputs("<h2>To allow this, add</h2>\n<ul class=\"sugg\" id=\"suggestions\">\n", f);
	for (size_t i = 0; i < r->n_dests && shown < REP_HTML_ROWS; i++) {
		const struct rep_dest *d = &r->dests[i];

		if (d->verdict >= RV_ALLOWED)
			continue;
		if (!report_suggest(r, d, flag, sizeof(flag), value, sizeof(value),
				    note, sizeof(note))) {
			notes++;
			continue;
		}
		fputs("<li><code>", f);
		h(f, flag);
		fputc(' ', f);
		h(f, value);
		fputs("</code> for <span class=\"dest\">", f);
		h(f, d->name);
		fprintf(f, "</span> <span class=\"muted\">(%s, %" PRIu64 "&times;",
			rep_verdict_label(d->verdict), d->count);
		if (note[0]) {
			fputs("; ", f);
			h(f, note);
		}
		fputs(")</span></li>\n", f);
		shown++;
	}
	if (!shown)
		fputs("<li class=\"muted\">nothing: no refused destination that a flag "
		      "should allow</li>\n",
		      f);
	fputs("</ul>\n", f);
	if (notes)
		fprintf(f, "<p class=\"muted\">%zu refused destination%s no flag should "
			   "allow (see the table's last column).</p>\n",
			notes, notes == 1 ? "" : "s");
}

static void html_table(FILE *f, const struct report *r)
{
	char flag[64], value[600], note[256], a[32], b[32];
	size_t n = r->n_dests < REP_HTML_ROWS ? r->n_dests : REP_HTML_ROWS;

	fputs("<h2>Destinations</h2>\n"
	      "<input id=\"filter\" type=\"search\" placeholder=\"filter the table\" "
	      "aria-label=\"filter the table\">\n"
	      "<table id=\"dests\"><thead><tr><th>Verdict</th><th>Destination</th>"
	      "<th>Reason</th><th>Count</th><th>First</th><th>Last</th><th>Bytes in / out</th>"
	      "<th>Processes</th><th>To allow</th></tr></thead>\n<tbody>\n",
	      f);
	for (size_t i = 0; i < n; i++) {
		const struct rep_dest *d = &r->dests[i];
		const char *rt = reason_text(d);

		fprintf(f, "<tr class=\"%s\"><td><span class=\"v\" style=\"background:%s\">%s"
			   "</span></td><td class=\"dest\">",
			rep_verdict_key(d->verdict), verdict_colors[d->verdict],
			rep_verdict_label(d->verdict));
		h(f, d->name);
		if (d->proto) {
			fputs(" <span class=\"muted\">", f);
			h(f, d->proto);
			fputs("</span>", f);
		}
		fputs("</td><td>", f);
		if (rt) {
			h(f, rt);
			fputs(" <span class=\"muted\">", f);
		}
		h(f, d->reason ? d->reason : "");
		if (rt)
			fputs("</span>", f);
		clock_str(d->first_ns, a, sizeof(a));
		clock_str(d->last_ns, b, sizeof(b));
		fprintf(f, "</td><td class=\"num\">%" PRIu64 "</td><td>%s</td><td>%s</td><td>",
			d->count, a, b);
		if (d->has_bytes) {
			bytes_str(d->bytes_in, a, sizeof(a));
			bytes_str(d->bytes_out, b, sizeof(b));
			fprintf(f, "%s / %s", a, b);
		} else {
			fputs("<span class=\"muted\">-</span>", f);
		}
		fputs("</td><td>", f);
		for (int k = 0; k < d->nprocs; k++) {
			if (k)
				fputs(", ", f);
			fputs("<code>", f);
			h(f, d->procs[k]);
			fputs("</code>", f);
		}
		if (d->more_procs)
			fprintf(f, " <span class=\"muted\">+%" PRIu64 "</span>", d->more_procs);
		fputs("</td><td>", f);
		if (d->verdict < RV_ALLOWED) {
			if (report_suggest(r, d, flag, sizeof(flag), value, sizeof(value),
					   note, sizeof(note))) {
				fputs("<code>", f);
				h(f, flag);
				fputc(' ', f);
				h(f, value);
				fputs("</code>", f);
			} else {
				fputs("<span class=\"muted\">", f);
				h(f, note);
				fputs("</span>", f);
			}
		}
		fputs("</td></tr>\n", f);
	}
	if (!r->n_dests)
		fputs("<tr><td colspan=\"9\" class=\"muted\">no attempts recorded</td></tr>\n", f);
	fputs("</tbody></table>\n", f);
	if (r->n_dests > n)
		fprintf(f, "<p class=\"more\" id=\"more\">%zu more destinations not shown "
			   "(netfence report -j lists up to %d).</p>\n",
			r->n_dests - n, REP_JSON_ROWS);
}

void report_html(FILE *f, const struct report *r)
{
	char now[48];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	rfc3339_ns((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, now, sizeof(now));
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; img-src data:; script-src 'sha256-" HTML_SCRIPT_SHA256
	      "'\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<link rel=\"icon\" href=\"data:,\">\n<title>netfence run report",
	      f);
	if (r->meta.command) {
		fputs(": ", f);
		h(f, r->meta.command);
	}
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body data-js=\"off\">\n"
		   "<h1>netfence run report</h1>\n",
		html_css);
	html_header(f, r);
	html_totals(f, r);
	html_timeline(f, r);
	html_suggestions(f, r);
	html_table(f, r);
	fprintf(f, "<footer id=\"lines\">Lines read: access.log %" PRIu64
		   " (skipped %" PRIu64 "), events.jsonl %" PRIu64 " (skipped %" PRIu64 ")",
		r->lines_access, r->skipped_access, r->lines_events, r->skipped_events);
	if (r->skipped_meta)
		fputs("; run.json unreadable", f);
	if (r->meta.events_lost)
		fprintf(f, "; %" PRIu64 " events lost to a full buffer", r->meta.events_lost);
	fprintf(f, ". Written %s.</footer>\n<script>" HTML_SCRIPT "</script>\n"
		   "</body></html>\n",
		now);
}

/* ---- JSON ------------------------------------------------------------------- */

static void json_time(struct json *j, const char *key, int64_t ns)
{
	char buf[48];

	if (!ns) {
		json_kv_str(j, key, NULL);
		return;
	}
	rfc3339_ns(ns, buf, sizeof(buf));
	json_kv_str(j, key, buf);
}

static void json_list(struct json *j, const char *key, const struct rep_list *l)
{
	json_key(j, key);
	json_array_begin(j);
	for (size_t i = 0; i < l->n; i++)
		json_str(j, l->v[i]);
	json_array_end(j);
}

void report_json(FILE *f, const struct report *r, const char *html_path)
{
	static uint64_t b[REP_BUCKETS][RV_N];
	const struct rep_meta *m = &r->meta;
	char flag[64], value[600], note[256];
	struct json jw, *j = json_init(&jw, f);
	size_t n = r->n_dests < REP_JSON_ROWS ? r->n_dests : REP_JSON_ROWS;
	double d = duration_s(r);
	int64_t t0, t1;

	json_object_begin(j);
	json_kv_str(j, "html", html_path);
	json_key(j, "run");
	json_object_begin(j);
	json_kv_str(j, "command", m->command);
	json_time(j, "start", m->start_ns);
	json_time(j, "end", m->end_ns);
	json_key(j, "duration_s");
	if (d >= 0)
		json_fixed(j, d, 3);
	else
		json_null(j);
	json_key(j, "exit_status");
	if (m->has_exit)
		json_int(j, m->exit_status);
	else
		json_null(j);
	json_kv_str(j, "netfence_version", m->version);
	json_kv_str(j, "kernel", m->kernel);
	json_key(j, "policy");
	json_object_begin(j);
	json_list(j, "allow_domains", &m->allow);
	json_list(j, "block_domains", &m->block);
	json_list(j, "host_bypass", &m->bypass);
	json_list(j, "resolvers", &m->resolvers);
	json_object_end(j);
	json_object_end(j);

	json_key(j, "totals");
	json_object_begin(j);
	for (int v = 0; v < RV_N; v++)
		json_kv_uint(j, rep_verdict_key(v), r->totals[v]);
	json_object_end(j);
	json_kv_uint(j, "attempts", total_attempts(r));

	json_key(j, "destinations");
	json_array_begin(j);
	for (size_t i = 0; i < n; i++) {
		const struct rep_dest *x = &r->dests[i];
		bool s;

		json_object_begin(j);
		json_kv_str(j, "destination", x->name);
		json_kv_str(j, "verdict", rep_verdict_key(x->verdict));
		json_kv_str(j, "reason", x->reason);
		json_kv_str(j, "proto", x->proto);
		json_kv_uint(j, "count", x->count);
		json_time(j, "first", x->first_ns);
		json_time(j, "last", x->last_ns);
		if (x->has_bytes) {
			json_kv_uint(j, "bytes_in", x->bytes_in);
			json_kv_uint(j, "bytes_out", x->bytes_out);
		}
		json_key(j, "processes");
		json_array_begin(j);
		for (int k = 0; k < x->nprocs; k++)
			json_str(j, x->procs[k]);
		json_array_end(j);
		if (x->more_procs)
			json_kv_uint(j, "processes_more", x->more_procs);
		if (x->verdict < RV_ALLOWED) {
			s = report_suggest(r, x, flag, sizeof(flag), value, sizeof(value),
					   note, sizeof(note));
			json_key(j, "suggestion");
			if (s) {
				json_object_begin(j);
				json_kv_str(j, "flag", flag);
				json_kv_str(j, "value", value);
				json_object_end(j);
			} else {
				json_null(j);
			}
			json_kv_str(j, "note", note[0] ? note : NULL);
		}
		json_object_end(j);
	}
	json_array_end(j);
	json_kv_uint(j, "destinations_more", r->n_dests - n);

	buckets(r, b, &t0, &t1);
	json_key(j, "timeline");
	json_object_begin(j);
	json_time(j, "start", t0);
	json_time(j, "end", t1);
	json_key(j, "buckets");
	json_array_begin(j);
	for (int k = 0; k < REP_BUCKETS; k++) {
		json_object_begin(j);
		for (int v = 0; v < RV_N; v++)
			if (b[k][v])
				json_kv_uint(j, rep_verdict_key(v), b[k][v]);
		json_object_end(j);
	}
	json_array_end(j);
	json_kv_uint(j, "untimed", r->untimed);
	json_object_end(j);

	json_key(j, "lines");
	json_object_begin(j);
	json_kv_uint(j, "access_log", r->lines_access);
	json_kv_uint(j, "events", r->lines_events);
	json_object_end(j);
	json_key(j, "skipped_lines");
	json_object_begin(j);
	json_kv_uint(j, "access_log", r->skipped_access);
	json_kv_uint(j, "events", r->skipped_events);
	json_kv_uint(j, "run_json", r->skipped_meta);
	json_object_end(j);
	json_kv_uint(j, "events_lost", m->events_lost);
	json_object_end(j);
	json_end(j);
}

/* ---- text --------------------------------------------------------------------- */

void report_text(FILE *f, const struct report *r, const char *html_path)
{
	const struct rep_meta *m = &r->meta;
	char flag[64], value[600], note[256];
	double d = duration_s(r);
	size_t shown = 0, refused = 0;

	fputs("netfence run report", f);
	if (m->command) {
		fputs(": ", f);
		text_safe(f, m->command, 0);
	}
	fputc('\n', f);
	if (m->has_exit || d >= 0) {
		fputs("  ", f);
		if (m->has_exit)
			fprintf(f, "exit status %d", m->exit_status);
		if (d >= 0)
			fprintf(f, "%s%.1f s", m->has_exit ? ", " : "", d);
		fputc('\n', f);
	}
	for (int i = 0; i < RV_N; i++) {
		int v = figure_order[i];

		fprintf(f, "  %-24s %" PRIu64 "\n", rep_verdict_label(v), r->totals[v]);
	}
	for (size_t i = 0; i < r->n_dests; i++)
		refused += r->dests[i].verdict < RV_ALLOWED;
	if (refused)
		fputs("refused:\n", f);
	for (size_t i = 0; i < r->n_dests && shown < REP_TEXT_ROWS; i++) {
		const struct rep_dest *x = &r->dests[i];

		if (x->verdict >= RV_ALLOWED)
			continue;
		fputs("  ", f);
		text_safe(f, x->name, 28);
		fprintf(f, " %-22s %6" PRIu64 "  ", rep_verdict_label(x->verdict), x->count);
		if (report_suggest(r, x, flag, sizeof(flag), value, sizeof(value), note,
				   sizeof(note))) {
			fprintf(f, "add %s ", flag);
			text_safe(f, value, 0);
		} else {
			text_safe(f, note, 0);
		}
		fputc('\n', f);
		shown++;
	}
	if (refused > shown)
		fprintf(f, "  ... %zu more refused destinations\n", refused - shown);
	if (r->skipped_access || r->skipped_events || r->skipped_meta)
		fprintf(f, "skipped lines: access.log %" PRIu64 ", events.jsonl %" PRIu64
			   "%s\n",
			r->skipped_access, r->skipped_events,
			r->skipped_meta ? ", run.json unreadable" : "");
	if (m->events_lost)
		fprintf(f, "events lost to a full buffer: %" PRIu64 "\n", m->events_lost);
	if (html_path) {
		fputs("report: ", f);
		text_safe(f, html_path, 0);
		fputc('\n', f);
	}
}

int report_write_html(const struct report *r, const char *dir, char *path,
		      size_t pathlen, char *err, size_t errlen)
{
	char tmp[4096];
	FILE *f;
	int fd, ret = 0;

	snprintf(path, pathlen, "%s/report.html", dir);
	snprintf(tmp, sizeof(tmp), "%s/.report.html.XXXXXX", dir);
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot write in %s: %s", dir, strerror(errno));
		return ret;
	}
	fchmod(fd, 0644);
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		unlink(tmp);
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(-ret));
		return ret;
	}
	report_html(f, r);
	if (ferror(f))
		ret = -EIO;
	if (fclose(f) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-ret));
	}
	return ret;
}
