// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "files.h"

int fd_copy(int out, int in)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf)), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return 0;
		while (off < n) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			off += w;
		}
	}
}

int file_append(int fd, const char *path, int oflags)
{
	int in = open(path, O_RDONLY | O_CLOEXEC | oflags), e;

	if (in < 0)
		return -errno;
	e = fd_copy(fd, in);
	close(in);
	return e;
}
