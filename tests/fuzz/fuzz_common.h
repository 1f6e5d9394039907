/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c, built by
 * mk/fuzz.mk with -fsanitize=fuzzer,address,undefined).
 */
#ifndef NETFENCE_FUZZ_COMMON_H
#define NETFENCE_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A failed property: print it and abort, so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond, ...)                                          \
	do {                                                           \
		if (!(cond)) {                                         \
			fprintf(stderr, "property failed: %s: ", #cond); \
			fprintf(stderr, __VA_ARGS__);                  \
			fputc('\n', stderr);                           \
			abort();                                       \
		}                                                      \
	} while (0)

/* The input as a NUL-terminated string (bytes after a NUL are dropped). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * A reason for the user ends up on one "Error:" line and in JSON: it must
 * be NUL-terminated within its buffer and hold no newline or other control
 * character (the parsers escape what they quote).
 */
static inline void fuzz_check_reason(const char *err, size_t len)
{
	size_t n = strnlen(err, len);

	FUZZ_CHECK(n < len, "reason not terminated");
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)err[i] >= 0x20 && err[i] != 0x7f,
			   "control byte 0x%02x in reason \"%s\"",
			   (unsigned char)err[i], err);
}

/* An in-memory file with these bytes, reachable by path (/proc/self/fd/N). */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char *path,
			       size_t len)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

#endif /* NETFENCE_FUZZ_COMMON_H */
