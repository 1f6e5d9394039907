// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * resolv.conf and hosts files (resolve.h), read from an in-memory file.
 * Properties: no crash or overrun on any bytes; every nameserver returned
 * is written in the file as a strict dotted quad after "nameserver", at
 * most max of them and no duplicates; a hosts lookup returns only
 * addresses that appear in the file, and a refused read gives a one-line
 * reason. The name looked up is the input's first line.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <errno.h>

#include "fuzz_common.h"
#include "parse.h"
#include "resolve.h"

static bool appears(const uint8_t *data, size_t size, uint32_t addr)
{
	char buf[16];

	format_ipv4(addr, buf);
	return memmem(data, size, buf, strlen(buf)) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t out[4];
	char path[64], err[512], name[300];
	size_t n = 99, nl;
	int fd, ret;

	fd = fuzz_memfile(data, size, path, sizeof(path));

	memset(err, 0x55, sizeof(err));
	ret = resolv_conf_nameservers(path, out, 4, &n, err, sizeof(err));
	if (ret) {
		fuzz_check_reason(err, sizeof(err));
	} else {
		FUZZ_CHECK(n <= 4, "n %zu", n);
		for (size_t i = 0; i < n; i++) {
			FUZZ_CHECK(appears(data, size, out[i]), "invented address");
			for (size_t j = i + 1; j < n; j++)
				FUZZ_CHECK(out[i] != out[j], "duplicate");
		}
	}

	nl = size;
	if (memchr(data, '\n', size))
		nl = (size_t)((const uint8_t *)memchr(data, '\n', size) - data);
	if (nl >= sizeof(name))
		nl = sizeof(name) - 1;
	memcpy(name, data, nl);
	name[nl] = '\0';
	name[strcspn(name, " \t\r")] = '\0';
	n = 99;
	memset(err, 0x55, sizeof(err));
	ret = hosts_lookup4(path, name, out, 4, &n, err, sizeof(err));
	if (ret) {
		FUZZ_CHECK(n == 0, "n %zu on failure", n);
		fuzz_check_reason(err, sizeof(err));
	} else {
		FUZZ_CHECK(n <= 4, "n %zu", n);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(appears(data, size, out[i]), "invented address");
	}
	close(fd);
	return 0;
}
