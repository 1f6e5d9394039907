// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests for the pure parts of `netfence check` (user/cmd_check.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"

static void test_capeff(void **state)
{
	uint64_t caps = 0;

	(void)state;
	assert_int_equal(capeff_parse("Name:\tx\nCapInh:\t0000000000000000\n"
				      "CapPrm:\t000001ffffffffff\n"
				      "CapEff:\t000001fffeffffff\nCapBnd:\t0\n",
				      &caps), 0);
	assert_true(caps == 0x1fffeffffffULL);
	assert_true(caps >> 21 & 1);	/* CAP_SYS_ADMIN */
	assert_true(caps >> 39 & 1);	/* CAP_BPF */
	assert_false(caps >> 24 & 1);
	/* last line without a newline */
	assert_int_equal(capeff_parse("CapEff:\t0000000000001000", &caps), 0);
	assert_true(caps == 0x1000);
	assert_int_equal(capeff_parse("CapEff:\t0000000000000000\n", &caps), 0);
	assert_true(caps == 0);
	assert_int_equal(capeff_parse("CapPrm:\t0000000000001000\n", &caps),
			 -ENOENT);
	assert_int_equal(capeff_parse("", &caps), -ENOENT);
	assert_int_equal(capeff_parse("CapEff:\tzz\n", &caps), -EINVAL);
	assert_int_equal(capeff_parse("CapEff:\t12zz\n", &caps), -EINVAL);
}

static void test_squid_features(void **state)
{
	/* as squid-openssl 5.7 prints it (abridged) */
	static const char openssl[] =
		"Squid Cache: Version 5.7\n"
		"Service Name: squid\n"
		"Debian linux\n"
		"configure options:  '--build=x86_64-linux-gnu' '--enable-ssl' "
		"'--enable-ssl-crtd' '--with-openssl' '--disable-arch-native'\n";
	/* Debian's plain squid: GnuTLS, no ssl-bump */
	static const char gnutls[] =
		"Squid Cache: Version 5.7\n"
		"configure options:  '--with-gnutls' '--without-openssl-extra' "
		"'--enable-ssl-crtdx'\n";

	(void)state;
	assert_int_equal(squid_features(openssl), SQUID_HAS_OPENSSL | SQUID_HAS_CRTD);
	assert_int_equal(squid_features(gnutls), 0);
	assert_int_equal(squid_features("configure options: --with-openssl=/opt/ssl\n"),
			 SQUID_HAS_OPENSSL);
	assert_int_equal(squid_features("--with-openssl"), SQUID_HAS_OPENSSL);
	assert_int_equal(squid_features(""), 0);
}

static void test_v1_net(void **state)
{
	static const char mounts[] =
		"sysfs /sys sysfs rw,nosuid 0 0\n"
		"cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n"
		"cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
		"cgroup /sys/fs/cgroup/net_cls,net_prio cgroup rw,relatime,net_cls,net_prio 0 0\n"
		"cgroup /sys/fs/cgroup/np cgroup rw,net_prio 0 0\n"
		"cgroup /sys/fs/cgroup/x cgroup rw,net_clsx 0 0\n"
		"tmpfs /net_cls tmpfs rw,net_cls 0 0\n";
	char out[256];

	(void)state;
	assert_int_equal(v1_net_hierarchies(mounts, out, sizeof(out)), 2);
	assert_string_equal(out, "/sys/fs/cgroup/net_cls,net_prio,/sys/fs/cgroup/np");
	assert_int_equal(v1_net_hierarchies("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n",
					    out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* a short buffer truncates the list, never the count */
	assert_int_equal(v1_net_hierarchies(mounts, out, 8), 2);
	assert_int_equal(strlen(out), 7);
}

static void test_verifier_summary(void **state)
{
	static const char verifier[] =
		"libbpf: prog 'connect4': BPF program load failed: Permission denied\n"
		"libbpf: prog 'connect4': -- BEGIN PROG LOAD LOG --\n"
		"0: R1=ctx(off=0,imm=0) R10=fp0\n"
		"; int connect4(struct bpf_sock_addr *ctx)\n"
		"12: (61) r2 = *(u32 *)(r1 +68)\n"
		"invalid bpf_context access off=68 size=4\n"
		"processed 13 insns (limit 1000000) max_states_per_insn 0 total_states 1\n"
		"-- END PROG LOAD LOG --\n"
		"libbpf: prog 'connect4': failed to load: -13\n"
		"libbpf: failed to load object 'netfence_bpf'\n";
	static const char noverifier[] =
		"libbpf: prog 'socket_create': BPF program load failed: Operation not permitted\n"
		"libbpf: permission error while running as root; try raising 'ulimit -l'?\n"
		"libbpf: prog 'socket_create': failed to load: -1\n"
		"libbpf: failed to load object 'netfence_bpf'\n";
	static const char map[] =
		"libbpf: Error in bpf_create_map_xattr(events):Invalid argument(-22).\n"
		"libbpf: map 'events': failed to create: Invalid argument(-22)\n"
		"libbpf: failed to load object 'netfence_bpf'\n";
	char out[256];

	(void)state;
	verifier_summary(verifier, out, sizeof(out));
	assert_string_equal(out, "prog 'connect4': invalid bpf_context access off=68 size=4");
	verifier_summary(noverifier, out, sizeof(out));
	assert_string_equal(out, "prog 'socket_create': BPF program load failed: "
				 "Operation not permitted");
	verifier_summary(map, out, sizeof(out));
	assert_string_equal(out, "map 'events': failed to create: Invalid argument(-22)");
	verifier_summary("", out, sizeof(out));
	assert_string_equal(out, "no message from libbpf");
	/* never longer than the buffer */
	verifier_summary(verifier, out, 10);
	assert_int_equal(strlen(out), 9);
}

static void fill(struct check_report *r)
{
	static const struct probe probes[] = {
		{ "root", "root", true, PROBE_PRESENT, "running as root", "" },
		{ "btf", "kernel BTF", true, PROBE_MISSING, "no \"BTF\" here", "" },
		{ "prog_lsm", "lsm programs (optional)", false, PROBE_WARNING, "none",
		  "5.7" },
		{ "hooks_fire", "hooks fire", true, PROBE_UNCHECKED, "not checked", "" },
		{ "squid", "Squid with ssl-bump", false, PROBE_SKIPPED, "--no-squid", "" },
	};

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		r->probes[r->n++] = probes[i];
}

static void test_missing_wording(void **state)
{
	struct check_report *r = calloc(1, sizeof(*r));
	char err[256];

	(void)state;
	fill(r);
	/* the first required probe not present, as check prints it */
	assert_int_equal(check_missing(r, err, sizeof(err)), 2);
	assert_string_equal(err, "kernel BTF: no \"BTF\" here");
	assert_int_equal(check_missing(r, NULL, 0), 2);
	/* warnings and skips never fail the check */
	r->probes[1].status = PROBE_PRESENT;
	r->probes[3].status = PROBE_PRESENT;
	err[0] = '\0';
	assert_int_equal(check_missing(r, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	free(r);
}

static char *render_text(const struct check_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	check_print_text(f, r);
	fclose(f);
	return buf;
}

static void test_text(void **state)
{
	struct check_report *r = calloc(1, sizeof(*r));
	char *s;

	(void)state;
	fill(r);
	s = render_text(r);
	assert_non_null(strstr(s, "  present   root: running as root\n"));
	assert_non_null(strstr(s, "  missing   kernel BTF: no \"BTF\" here\n"));
	assert_non_null(strstr(s, "  unchecked hooks fire: not checked\n"));
	assert_non_null(strstr(s, "  warning   lsm programs (optional): none\n"));
	assert_non_null(strstr(s, "missing: 2 of 5:"));
	free(s);

	/* only Squid missing: attach still works, the last line says so */
	r->probes[1].status = PROBE_PRESENT;
	r->probes[3].status = PROBE_PRESENT;
	r->probes[4].required = true;
	r->probes[4].status = PROBE_MISSING;
	s = render_text(r);
	assert_non_null(strstr(s, "missing: Squid with ssl-bump:"));
	free(s);

	r->probes[4].status = PROBE_PRESENT;
	s = render_text(r);
	assert_non_null(strstr(s, "ok: everything netfence needs is here (5 probes, 1 warning)\n"));
	free(s);
	free(r);
}

static void test_json(void **state)
{
	struct check_report *r = calloc(1, sizeof(*r));
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json jw, *j;

	(void)state;
	assert_non_null(f);
	fill(r);
	j = json_init(&jw, f);
	check_print_json(j, r);
	json_end(j);
	fclose(f);
	assert_true(!strncmp(buf, "{\"ok\":false,\"kernel\":", 21));
	assert_non_null(strstr(buf, ",\"missing\":[\"btf\",\"hooks_fire\"],\"probes\":["));
	assert_non_null(strstr(buf, "{\"name\":\"btf\",\"title\":\"kernel BTF\","
				    "\"required\":true,\"status\":\"missing\","
				    "\"detail\":\"no \\\"BTF\\\" here\",\"since\":null}"));
	/* the Linux version that brought a feature, for the kernel table */
	assert_non_null(strstr(buf, "\"detail\":\"none\",\"since\":\"5.7\"}"));
	/* the linkage of the binary that ran the check */
	assert_non_null(strstr(buf, ",\"static\":false,"));
	assert_non_null(strstr(buf, "\"status\":\"skipped\""));
	assert_non_null(strstr(buf, "\"status\":\"unchecked\""));
	assert_true(buf[len - 1] == '\n' && buf[len - 2] == '}');
	free(buf);
	free(r);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(probe_status_name(PROBE_PRESENT), "present");
	assert_string_equal(probe_status_name(PROBE_MISSING), "missing");
	assert_string_equal(probe_status_name(PROBE_WARNING), "warning");
	assert_string_equal(probe_status_name(PROBE_UNCHECKED), "unchecked");
	assert_string_equal(probe_status_name(PROBE_SKIPPED), "skipped");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capeff),
		cmocka_unit_test(test_squid_features),
		cmocka_unit_test(test_v1_net),
		cmocka_unit_test(test_verifier_summary),
		cmocka_unit_test(test_missing_wording),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_status_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
