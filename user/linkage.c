// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * How this binary was linked (linkage.h). Compiled twice: once into the
 * ordinary build, once with -DNETFENCE_STATIC into build/netfence-static.
 *
 * A statically linked glibc still reads /etc/nsswitch.conf and dlopen()s
 * the NSS modules it names (libnss_systemd, libnss_sss, libnss_mdns4, ...):
 * shared objects of the machine's glibc, which need not be the glibc this
 * binary carries. Its own "files" and "dns" sources are built in (glibc
 * 2.34+), so the static binary pins hosts, passwd and group to those.
 */
#include "linkage.h"

#ifdef NETFENCE_STATIC
#include <nss.h>
#include <stdio.h>

bool linkage_static(void)
{
	return true;
}

void linkage_init(void)
{
	static const char *const db[][2] = {
		{ "hosts", "files dns" },
		{ "passwd", "files" },
		{ "group", "files" },
	};

	for (unsigned int i = 0; i < sizeof(db) / sizeof(db[0]); i++) {
		if (__nss_configure_lookup(db[i][0], db[i][1]))
			fprintf(stderr, "netfence: cannot pin %s lookups to \"%s\"\n",
				db[i][0], db[i][1]);
	}
}
#else
bool linkage_static(void)
{
	return false;
}

void linkage_init(void)
{
}
#endif

const char *linkage_name(void)
{
	return linkage_static() ? "static" : "dynamic";
}
