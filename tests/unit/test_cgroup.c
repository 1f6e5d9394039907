// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cgroup2_mount (user/cgroup.c) on mounts files written by the test. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cgroup.h"

/* Writes text to a temporary mounts file and runs cgroup2_mount on it. */
static int mount_of(const char *text, char *out, size_t len)
{
	char path[] = "/tmp/nf-test-mounts.XXXXXX";
	int fd = mkstemp(path), err;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	err = cgroup2_mount(path, out, len);
	unlink(path);
	return err;
}

static void test_first_cgroup2_after_v1(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(mount_of("proc /proc proc rw 0 0\n"
				  "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
				  "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
				  "cgroup2 /mnt/second cgroup2 rw 0 0\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
}

static void test_type_not_device(void **state)
{
	char out[64];

	(void)state;
	/* the device field says cgroup2, the type does not: not a cgroup2 mount */
	assert_int_equal(mount_of("cgroup2 /x tmpfs rw 0 0\n"
				  "none /sys/fs/cgroup cgroup2 rw 0 0\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup");
}

static void test_none(void **state)
{
	char out[64] = "unchanged";

	(void)state;
	assert_int_equal(mount_of("proc /proc proc rw 0 0\nshort line\n\n", out, sizeof(out)),
			 -ENOENT);
	assert_int_equal(mount_of("", out, sizeof(out)), -ENOENT);
	assert_string_equal(out, "unchanged");
}

static void test_too_long(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(mount_of("none /sys/fs/cgroup cgroup2 rw 0 0\n", out, sizeof(out)),
			 -ENAMETOOLONG);
	/* exactly fitting with its NUL */
	assert_int_equal(mount_of("none /abcdef cgroup2 rw 0 0\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/abcdef");
}

static void test_no_file(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(cgroup2_mount("/nonexistent/mounts", out, sizeof(out)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_cgroup2_after_v1),
		cmocka_unit_test(test_type_not_device),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_no_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
