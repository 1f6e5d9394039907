/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Copying a file's content (run's logs and CA bundle, the generated certificates). */
#ifndef NETFENCE_FILES_H
#define NETFENCE_FILES_H

/* Writes everything left to read from in to out. Returns 0 or a negative errno. */
int fd_copy(int out, int in);

/*
 * Appends the file at path to fd; oflags are added to the open flags
 * (O_NOFOLLOW: a symbolic link is refused). Returns 0 or a negative errno.
 */
int file_append(int fd, const char *path, int oflags);

#endif /* NETFENCE_FILES_H */
