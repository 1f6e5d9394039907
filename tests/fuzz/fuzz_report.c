// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The run report (report.h): the input is read as run.json (whole), then
 * each of its lines as an access.log line and as an events.jsonl line.
 * Properties: no crash or overrun on any bytes; every line is counted as
 * read or skipped; the page has exactly one script element (nothing from
 * the input becomes markup) and no control character but newlines; the
 * JSON document is valid JSON (read back with jsonread).
 */
#include <errno.h>

#include "fuzz_common.h"
#include "jsonread.h"
#include "report.h"

static char *render(const struct report *r, int what, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	if (what == 0)
		report_html(f, r);
	else if (what == 1)
		report_json(f, r, "/x/report.html");
	else
		report_text(f, r, NULL);
	fclose(f);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size;
	struct report r;
	size_t len, n = 0, scripts = 0;
	char *out;

	report_init(&r);
	report_meta(&r, s, size);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t l = nl ? (size_t)(nl - s) : (size_t)(end - s);

		report_access_line(&r, s, l);
		report_event_line(&r, s, l);
		n += l > 0;
		s += l + 1;
	}
	FUZZ_CHECK(r.lines_access <= n && r.skipped_access <= r.lines_access,
		   "access %llu read, %llu skipped, %zu lines",
		   (unsigned long long)r.lines_access,
		   (unsigned long long)r.skipped_access, n);
	report_finish(&r);

	out = render(&r, 0, &len);
	for (const char *p = out; (p = strstr(p, "<script")); p++)
		scripts++;
	FUZZ_CHECK(scripts == 1, "%zu script elements", scripts);
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK((unsigned char)out[i] >= 0x20 || out[i] == '\n',
			   "control byte 0x%02x in the page", (unsigned char)out[i]);
	free(out);

	out = render(&r, 1, &len);
	{
		size_t cap = len + 16;
		struct jr_node *nodes = malloc(cap * sizeof(*nodes));
		char *buf = malloc(len + 8);
		struct jr_doc d = { .nodes = nodes, .cap = (int)cap, .buf = buf,
				    .bufcap = len + 8 };
		int ret;

		if (!nodes || !buf)
			abort();
		ret = jr_parse(&d, out, len);
		FUZZ_CHECK(ret == 0, "report -j is not JSON (%d): %.200s", ret, out);
		free(nodes);
		free(buf);
	}
	free(out);
	out = render(&r, 2, &len);
	free(out);
	report_free(&r);
	return 0;
}
