// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Port specs (--redirect-ports, --tls-ports, --allow-host-ports) and single
 * ports. Properties: a spec is accepted only if it is made of digits,
 * commas and dashes; an accepted spec formats to a canonical spec that
 * parses back to the same set, and formatting is stable; a refused spec
 * gives a one-line reason; parse_port agrees with a plain reading of the
 * number.
 */
#include <errno.h>

#include "fuzz_common.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t a[NF_PORT_BITMAP_BYTES] = { 0 }, b[NF_PORT_BITMAP_BYTES] = { 0 };
	static char canon[400000], again[400000];
	char err[256], *s = fuzz_str(data, size);
	uint16_t port;
	int ret, n;

	memset(err, 0x55, sizeof(err));
	ret = parse_port_spec(s, a, err, sizeof(err));
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL || ret == -ERANGE, "ret %d", ret);
		fuzz_check_reason(err, sizeof(err));
	} else {
		FUZZ_CHECK(s[strspn(s, "0123456789,-")] == '\0',
			   "accepted \"%s\"", s);
		FUZZ_CHECK(!portset_has(a, 0), "port 0 in \"%s\"", s);
		FUZZ_CHECK(portset_count(a) > 0, "empty set from \"%s\"", s);
		n = portset_format(a, canon, sizeof(canon));
		FUZZ_CHECK(n >= 0, "format failed");
		FUZZ_CHECK(!parse_port_spec(canon, b, NULL, 0),
			   "canonical \"%s\" refused", canon);
		FUZZ_CHECK(!memcmp(a, b, sizeof(a)), "round trip of \"%s\"", s);
		FUZZ_CHECK(portset_format(b, again, sizeof(again)) == n &&
				   !strcmp(canon, again),
			   "format not stable");
		/* a short buffer is refused, never overrun */
		FUZZ_CHECK(portset_format(a, again, (size_t)n) == -E2BIG &&
				   again[0] == '\0',
			   "short buffer");
		if (portset_first_dangerous(a))
			FUZZ_CHECK(port_is_dangerous(portset_first_dangerous(a)),
				   "dangerous");
	}

	memset(err, 0x55, sizeof(err));
	ret = parse_port(s, &port, err, sizeof(err));
	if (ret) {
		fuzz_check_reason(err, sizeof(err));
	} else {
		unsigned long v = strtoul(s, NULL, 10);

		FUZZ_CHECK(s[0] >= '1' && s[0] <= '9' &&
				   !s[strspn(s, "0123456789")],
			   "accepted port \"%s\"", s);
		FUZZ_CHECK(v == port && v >= 1 && v <= 65535, "port \"%s\"", s);
	}
	free(s);
	return 0;
}
