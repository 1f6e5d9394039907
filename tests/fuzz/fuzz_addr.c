// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * IPv4 addresses, IP:PORT endpoints and address lists (--proxy,
 * --dns-servers, ...). Properties: what is accepted is exactly what
 * inet_pton(AF_INET) accepts written canonically (no leading zeros), the
 * address formats back to the input, endpoints and lists agree with their
 * parts, and refusals give a one-line reason.
 */
#include <arpa/inet.h>
#include <errno.h>

#include "fuzz_common.h"
#include "parse.h"

static void check_addr(const char *s)
{
	char err[256], buf[16];
	uint32_t addr;
	struct in_addr ref;
	int ret;

	memset(err, 0x55, sizeof(err));
	ret = parse_ipv4(s, &addr, err, sizeof(err));
	if (ret) {
		fuzz_check_reason(err, sizeof(err));
		return;
	}
	FUZZ_CHECK(inet_pton(AF_INET, s, &ref) == 1 && ref.s_addr == addr,
		   "\"%s\" accepted, inet_pton disagrees", s);
	format_ipv4(addr, buf);
	FUZZ_CHECK(!strcmp(buf, s), "\"%s\" formats as \"%s\"", s, buf);
}

static void check_endpoint(const char *s)
{
	char err[256], buf[22];
	uint32_t addr;
	uint16_t port;
	int ret;

	memset(err, 0x55, sizeof(err));
	ret = parse_endpoint4(s, &addr, &port, err, sizeof(err));
	if (ret) {
		fuzz_check_reason(err, sizeof(err));
		return;
	}
	format_endpoint4(addr, port, buf);
	FUZZ_CHECK(!strcmp(buf, s), "\"%s\" formats as \"%s\"", s, buf);
	FUZZ_CHECK(port != 0, "port 0 in \"%s\"", s);
}

static void check_list(const char *s)
{
	uint32_t out[8];
	char err[256];
	size_t n = 99;
	int ret;

	memset(err, 0x55, sizeof(err));
	ret = parse_ipv4_list(s, out, 8, &n, err, sizeof(err));
	if (ret) {
		FUZZ_CHECK(n == 0, "n %zu on failure", n);
		fuzz_check_reason(err, sizeof(err));
		return;
	}
	FUZZ_CHECK(n >= 1 && n <= 8, "n %zu", n);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			FUZZ_CHECK(out[i] != out[j], "duplicate kept");
	/* every item is an address on its own */
	{
		char *copy = strdup(s), *save = NULL, *item;
		uint32_t a;

		for (item = strtok_r(copy, ",", &save); item;
		     item = strtok_r(NULL, ",", &save))
			FUZZ_CHECK(!parse_ipv4(item, &a, NULL, 0),
				   "item \"%s\" of an accepted list", item);
		free(copy);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);

	check_addr(s);
	check_endpoint(s);
	check_list(s);
	free(s);
	return 0;
}
