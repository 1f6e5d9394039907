// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Policy flags and policy building (user/policy.c): no privileges needed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "parse.h"
#include "policy.h"

static char dir[64];
static char hosts[128], resolv[128], hosts2[128];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/nf-policy-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(hosts, sizeof(hosts), "%s/hosts", dir);
	snprintf(hosts2, sizeof(hosts2), "%s/hosts-empty", dir);
	snprintf(resolv, sizeof(resolv), "%s/resolv.conf", dir);
	write_file(hosts, "127.0.0.1 localhost\n"
			  "172.17.0.1 host.docker.internal\n"
			  "172.17.0.2 host.docker.internal gw2\n");
	write_file(hosts2, "127.0.0.1 localhost\n");
	write_file(resolv, "# test\nnameserver 192.0.2.53\nnameserver ::1\n"
			   "nameserver 192.0.2.54\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(hosts);
	unlink(hosts2);
	unlink(resolv);
	rmdir(dir);
	return 0;
}

/* Sets flags from a NULL-terminated list of (id, value) pairs. */
static int set_flags(struct policy_opts *o, char *err, size_t len, ...)
{
	va_list ap;
	int id, ret = 0;

	va_start(ap, len);
	while ((id = va_arg(ap, int))) {
		const char *v = va_arg(ap, const char *);

		ret = policy_opt_set(o, id, v, err, len);
		if (ret)
			break;
	}
	va_end(ap);
	return ret;
}

static void opts(struct policy_opts *o)
{
	policy_opts_init(o);
	o->hosts_path = hosts;
	o->resolv_path = resolv;
}

static void test_repeated_flag(void **state)
{
	struct policy_opts o;
	char err[256];

	(void)state;
	opts(&o);
	assert_int_equal(set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129", 0), 0);
	assert_int_equal(set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129", 0),
			 -EINVAL);
	assert_string_equal(err, "--proxy given twice");
}

static void test_bad_values_name_flag_and_value(void **state)
{
	static const struct {
		int id;
		const char *value;
		const char *prefix;
	} cases[] = {
		{ OPT_PROXY, "300.1.1.1:80", "--proxy '300.1.1.1:80': " },
		{ OPT_PROXY, "10.0.0.1", "--proxy '10.0.0.1': " },
		{ OPT_PROXY, "10.0.0.1:0", "--proxy '10.0.0.1:0': " },
		{ OPT_PROXY, "[::1]:80", "--proxy '[::1]:80': " },
		{ OPT_TLS_PROXY, "10.0.0.1:65536", "--tls-proxy '10.0.0.1:65536': " },
		{ OPT_FWD_PROXY, "x:1", "--forward-proxy 'x:1': " },
		{ OPT_REDIRECT_PORTS, "80-70", "--redirect-ports '80-70': " },
		{ OPT_REDIRECT_PORTS, "080", "--redirect-ports '080': " },
		{ OPT_TLS_PORTS, "443,", "--tls-ports '443,': " },
		{ OPT_HOST_PORTS, "0", "--allow-host-ports '0': " },
		{ OPT_HOST_PORTS, "80, 443", "--allow-host-ports '80, 443': " },
		{ OPT_DNS_SERVERS, "1.1.1", "--dns-servers '1.1.1': " },
		{ OPT_DNS_SERVERS, "::1", "--dns-servers '::1': " },
		{ OPT_LOOPBACK, "open", "--loopback 'open': " },
		{ OPT_CGROUP, "", "--cgroup '': " },
		{ OPT_MAX_CONNS, "-1", "--max-connections '-1': " },
		{ OPT_MAX_CONNS, "+5", "--max-connections '+5': " },
		{ OPT_MAX_CONNS, "1048577", "--max-connections '1048577': " },
		{ OPT_MAX_CONNS, "5x", "--max-connections '5x': " },
		{ OPT_MAX_CONNS, " 5", "--max-connections ' 5': " },
		{ OPT_MAX_CONNS, "99999999999999999999", "--max-connections '99999999999999999999': " },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_opts o;
		char err[256] = "";

		opts(&o);
		assert_int_equal(policy_opt_set(&o, cases[i].id, cases[i].value, err,
						sizeof(err)),
				 -EINVAL);
		if (strncmp(err, cases[i].prefix, strlen(cases[i].prefix)))
			fail_msg("case %zu: '%s' does not start with '%s'", i, err,
				 cases[i].prefix);
		assert_null(strchr(err, '\n'));
	}
}

static void test_proxy_required(void **state)
{
	struct policy_opts o;
	struct policy p;
	char err[256];

	(void)state;
	opts(&o);
	assert_int_equal(policy_build(&o, &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--proxy IP:PORT is required");
}

static void test_host_flags_need_host_access(void **state)
{
	struct policy_opts o;
	struct policy p;
	char err[256];

	(void)state;
	opts(&o);
	set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129",
		  OPT_HOST_PORTS, "8080", 0);
	assert_int_equal(policy_build(&o, &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--allow-host-ports '8080' needs --enable-host-access");

	opts(&o);
	set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129",
		  OPT_HOST_GATEWAY, "10.0.0.1", 0);
	assert_int_equal(policy_build(&o, &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--host-gateway '10.0.0.1' needs --enable-host-access");
}

static void test_defaults(void **state)
{
	struct policy_opts o;
	struct policy p;
	char err[256], buf[64];

	(void)state;
	opts(&o);
	set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129", 0);
	assert_int_equal(policy_build(&o, &p, err, sizeof(err)), 0);
	portset_format(p.pol.redirect_ports, buf, sizeof(buf));
	assert_string_equal(buf, "80,443");
	portset_format(p.pol.tls_ports, buf, sizeof(buf));
	assert_string_equal(buf, "443");
	assert_int_equal(p.pol.loopback, NF_LOOPBACK_ALLOW);
	assert_int_equal(p.pol.flags, 0);
	assert_int_equal(p.pol.proxy_addr, inet_addr("10.0.0.1"));
	assert_int_equal(p.pol.proxy_port, htons(3129));
	/* resolv.conf: IPv4 nameservers only, in order */
	assert_int_equal(p.pol.nr_resolvers, 2);
	assert_int_equal(p.pol.resolvers[0], inet_addr("192.0.2.53"));
	assert_int_equal(p.pol.resolvers[1], inet_addr("192.0.2.54"));
	assert_int_equal(p.host.n_bypass, 0);
	assert_int_equal(p.pol.max_conns, NF_DEFAULT_MAX_CONNS);
	policy_free(&p);
}

static void test_max_connections(void **state)
{
	static const struct {
		const char *value;
		uint32_t want;
	} cases[] = { { "0", 0 }, { "1", 1 }, { "512", 512 }, { "1048576", 1048576 } };
	struct policy_opts o;
	struct policy p;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		opts(&o);
		set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129",
			  OPT_MAX_CONNS, cases[i].value, 0);
		assert_int_equal(policy_build(&o, &p, err, sizeof(err)), 0);
		assert_int_equal(p.pol.max_conns, cases[i].want);
		policy_free(&p);
	}
}

static void test_dangerous_ports_never_redirected(void **state)
{
	struct policy_opts o;
	struct policy p;
	char err[256];

	(void)state;
	opts(&o);
	set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129",
		  OPT_REDIRECT_PORTS, "1-65535", OPT_TLS_PORTS, "22,443", 0);
	assert_int_equal(policy_build(&o, &p, err, sizeof(err)), 0);
	for (size_t i = 0; i < nf_dangerous_ports_count; i++) {
		assert_false(portset_has(p.pol.redirect_ports, nf_dangerous_ports[i]));
		assert_false(portset_has(p.pol.tls_ports, nf_dangerous_ports[i]));
	}
	assert_int_equal(portset_count(p.pol.redirect_ports),
			 65535 - nf_dangerous_ports_count);
	assert_true(portset_has(p.pol.tls_ports, 443));
	policy_free(&p);
}

static void test_dangerous_host_port_refused(void **state)
{
	struct policy_opts o;
	struct policy p;
	char err[256];

	(void)state;
	opts(&o);
	set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129",
		  OPT_HOST_ACCESS, NULL, OPT_HOST_PORTS, "8080,5000-5500", 0);
	assert_int_equal(policy_build(&o, &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--allow-host-ports '8080,5000-5500': port 5432 is a "
				 "dangerous port and is never allowed");
}

static void test_bypass_pairs_from_hosts_file(void **state)
{
	struct policy_opts o;
	struct policy p;
	char err[256], buf[32];

	(void)state;
	opts(&o);
	set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129",
		  OPT_HOST_ACCESS, NULL, OPT_HOST_PORTS, "8080,9000", 0);
	assert_int_equal(policy_build(&o, &p, err, sizeof(err)), 0);
	/* host.docker.internal has two addresses in the injected file */
	assert_int_equal(p.host.n_gateways, 2);
	assert_int_equal(p.host.n_bypass, 4);
	format_endpoint4(p.host.bypass[0].addr, p.host.bypass[0].port, buf);
	assert_string_equal(buf, "172.17.0.1:8080");
	format_endpoint4(p.host.bypass[3].addr, p.host.bypass[3].port, buf);
	assert_string_equal(buf, "172.17.0.2:9000");
	for (size_t i = 0; i < p.host.n_bypass; i++)
		assert_int_equal(p.host.bypass[i].pad, 0);
	policy_free(&p);
}

static void test_default_host_ports(void **state)
{
	struct policy_opts o;
	struct policy p;
	char err[256];

	(void)state;
	opts(&o);
	set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129",
		  OPT_HOST_ACCESS, NULL, OPT_HOST_GATEWAY, "10.1.1.1", 0);
	assert_int_equal(policy_build(&o, &p, err, sizeof(err)), 0);
	assert_int_equal(p.host.n_bypass, 2);	/* 80 and 443 */
	assert_int_equal(p.host.bypass[0].addr, inet_addr("10.1.1.1"));
	assert_int_equal(p.host.bypass[0].port, htons(80));
	assert_int_equal(p.host.bypass[1].port, htons(443));
	policy_free(&p);
}

static void test_gateway_unresolved_is_an_error(void **state)
{
	struct policy_opts o;
	struct policy p;
	char err[256];

	(void)state;
	opts(&o);
	o.hosts_path = hosts2;
	set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129",
		  OPT_HOST_ACCESS, NULL, OPT_HOST_GATEWAY, "nosuchgw.invalid", 0);
	assert_int_not_equal(policy_build(&o, &p, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "--host-gateway 'nosuchgw.invalid': "));
	assert_null(p.host.bypass);
}

static void test_loopback_host_adds_loopback_pairs(void **state)
{
	struct policy_opts o;
	struct policy p;
	char err[256], buf[32];

	(void)state;
	opts(&o);
	o.hosts_path = hosts2;	/* host.docker.internal does not resolve */
	set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129",
		  OPT_HOST_ACCESS, NULL, OPT_HOST_PORTS, "18080",
		  OPT_LOOPBACK, "host", 0);
	/* on a bare host the gateway is loopback itself: not an error */
	assert_int_equal(policy_build(&o, &p, err, sizeof(err)), 0);
	assert_int_equal(p.pol.loopback, NF_LOOPBACK_HOST);
	assert_int_equal(p.host.n_bypass, 1);
	format_endpoint4(p.host.bypass[0].addr, p.host.bypass[0].port, buf);
	assert_string_equal(buf, "127.0.0.1:18080");
	policy_free(&p);
}

static void test_proxies_and_dns_override(void **state)
{
	struct policy_opts o;
	struct policy p;
	char err[256];

	(void)state;
	opts(&o);
	set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129",
		  OPT_TLS_PROXY, "10.0.0.1:3130", OPT_FWD_PROXY, "10.0.0.1:3128",
		  OPT_DNS_SERVERS, "10.0.0.53,10.0.0.53,10.0.0.54", 0);
	assert_int_equal(policy_build(&o, &p, err, sizeof(err)), 0);
	assert_int_equal(p.pol.flags, NF_F_TLS_PROXY | NF_F_FWD_PROXY);
	assert_int_equal(p.pol.tls_proxy_port, htons(3130));
	assert_int_equal(p.pol.fwd_proxy_port, htons(3128));
	assert_int_equal(p.pol.nr_resolvers, 2);	/* duplicates dropped */
	assert_int_equal(p.pol.resolvers[1], inet_addr("10.0.0.54"));
	policy_free(&p);
}

static void test_missing_resolv_conf_allows_no_dns(void **state)
{
	struct policy_opts o;
	struct policy p;
	char err[256];

	(void)state;
	opts(&o);
	o.resolv_path = "/nonexistent/resolv.conf";
	set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129", 0);
	assert_int_equal(policy_build(&o, &p, err, sizeof(err)), 0);
	assert_int_equal(p.pol.nr_resolvers, 0);
	policy_free(&p);
}

static void test_many_pairs(void **state)
{
	struct policy_opts o;
	struct policy p;
	char err[256];

	(void)state;
	opts(&o);
	/* every gateway x every port, in order */
	set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129",
		  OPT_HOST_ACCESS, NULL, OPT_HOST_PORTS, "1-21,24,26-109",
		  OPT_HOST_GATEWAY,
		  "10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6", 0);
	assert_int_equal(policy_build(&o, &p, err, sizeof(err)), 0);
	assert_int_equal(p.host.n_bypass, 6 * (21 + 1 + 84));
	policy_free(&p);
}

static void test_config_file(void **state)
{
	char path[160], err[512];
	struct policy_opts o;
	struct policy p;

	(void)state;
	snprintf(path, sizeof(path), "%s/policy.conf", dir);
	write_file(path, "# comment\n\n  proxy = 10.0.0.1:3129  \n"
			 "enable-host-access\nhost-gateway=10.1.1.1\n"
			 "allow-host-ports = 8080\nredirect-ports = 80\n");
	opts(&o);
	assert_int_equal(policy_config_load(&o, path, err, sizeof(err)), 0);
	/* the command line overrides a flag from the file, once */
	assert_int_equal(policy_opt_set(&o, OPT_REDIRECT_PORTS, "80,8443", err,
					sizeof(err)), 0);
	assert_int_equal(policy_opt_set(&o, OPT_REDIRECT_PORTS, "81", err,
					sizeof(err)), -EINVAL);
	assert_string_equal(err, "--redirect-ports given twice");
	assert_int_equal(policy_build(&o, &p, err, sizeof(err)), 0);
	assert_true(portset_has(p.pol.redirect_ports, 8443));
	assert_int_equal(p.host.n_bypass, 1);
	assert_int_equal(p.host.bypass[0].addr, inet_addr("10.1.1.1"));
	policy_free(&p);
	policy_opts_free(&o);
	unlink(path);
}

/* --proxy-pid on the command line overrides proxy-cgroup from --config (and --pid cgroup). */
static void test_pid_flag_overrides_file_cgroup(void **state)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "proxy-pid", required_argument, NULL, OPT_PROXY_PID },
		{ "proxy-cgroup", required_argument, NULL, OPT_PROXY_CGROUP },
		{ 0 },
	};
	char path[160], pid[16];
	struct policy_opts o;

	(void)state;
	snprintf(path, sizeof(path), "%s/pids.conf", dir);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	write_file(path, "cgroup = agent.slice\nproxy-cgroup = proxy.slice\n");
	{
		char *argv[] = { "attach", "--pid", pid, "--proxy-pid", pid, "--config", path, NULL };

		opts(&o);
		assert_int_equal(policy_parse_args(&o, 7, argv, longopts, NULL, NULL), 0);
		assert_null(o.cgroup);
		assert_int_equal(o.pid, getpid());
		assert_null(o.proxy_cgroup);
		assert_int_equal(o.proxy_pid, getpid());
		policy_opts_free(&o);
	}
	{
		/* both on the command line: kept, for attach to refuse */
		char *argv[] = { "attach", "--proxy-cgroup", "p", "--proxy-pid", pid, NULL };

		opts(&o);
		assert_int_equal(policy_parse_args(&o, 5, argv, longopts, NULL, NULL), 0);
		assert_string_equal(o.proxy_cgroup, "p");
		assert_int_equal(o.proxy_pid, getpid());
		policy_opts_free(&o);
	}
	unlink(path);
}

/* --tls-ports are "of those" --redirect-ports: the TLS set is the intersection. */
static void test_tls_ports_of_redirect_ports(void **state)
{
	struct policy_opts o;
	struct policy p;
	char err[256], buf[64];

	(void)state;
	opts(&o);
	set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129", OPT_REDIRECT_PORTS, "80", 0);
	assert_int_equal(policy_build(&o, &p, err, sizeof(err)), 0);
	portset_format(p.pol.tls_ports, buf, sizeof(buf));
	assert_string_equal(buf, "");	/* the default 443 is not redirected */
	policy_free(&p);
	policy_opts_free(&o);

	opts(&o);
	set_flags(&o, err, sizeof(err), OPT_PROXY, "10.0.0.1:3129", OPT_REDIRECT_PORTS,
		  "80,8400-8443", OPT_TLS_PORTS, "443,8443-9000", 0);
	assert_int_equal(policy_build(&o, &p, err, sizeof(err)), 0);
	portset_format(p.pol.tls_ports, buf, sizeof(buf));
	assert_string_equal(buf, "8443");
	portset_format(p.pol.redirect_ports, buf, sizeof(buf));
	assert_string_equal(buf, "80,8400-8443");
	policy_free(&p);
	policy_opts_free(&o);
}

static void test_config_file_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "prxy = 1.2.3.4:5\n", "line 1: unknown flag 'prxy'" },
		{ "# x\nproxy\n", "line 2: 'proxy' needs '= value'" },
		{ "enable-host-access = yes\n", "line 1: 'enable-host-access' takes no value" },
		{ "proxy = 300.1.1.1:1\n", "line 1: --proxy '300.1.1.1:1': " },
		{ "proxy = 1.2.3.4:5\nproxy = 1.2.3.4:6\n", "line 2: --proxy given twice" },
		{ "config = /etc/x\n", "line 1: unknown flag 'config'" },
	};
	char path[160], err[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_opts o;

		write_file(path, cases[i].text);
		opts(&o);
		assert_int_not_equal(policy_config_load(&o, path, err, sizeof(err)), 0);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].want);
		assert_non_null(strstr(err, path));
		policy_opts_free(&o);
	}
	unlink(path);
}

/*
 * run's path: every user error of the flags is found by policy_resolve,
 * before any proxy endpoint exists (nothing is started for a bad flag).
 */
static void test_resolve_needs_no_proxy(void **state)
{
	struct policy_names nm;
	struct policy_opts o;
	char err[256];

	(void)state;
	opts(&o);
	set_flags(&o, err, sizeof(err), OPT_HOST_ACCESS, NULL,
		  OPT_HOST_PORTS, "8080", 0);
	assert_int_equal(policy_resolve(&o, &nm, err, sizeof(err)), 0);
	assert_int_equal(nm.nr_resolvers, 2);	/* ::1 skipped */
	assert_int_equal(nm.resolvers[0], inet_addr("192.0.2.53"));
	assert_int_equal(nm.host.n_gateways, 2);
	assert_int_equal(nm.host.n_bypass, 2);
	policy_names_free(&nm);
	assert_null(nm.host.bypass);

	opts(&o);
	set_flags(&o, err, sizeof(err), OPT_HOST_PORTS, "8080", 0);
	assert_int_equal(policy_resolve(&o, &nm, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--allow-host-ports '8080' needs --enable-host-access");
	assert_null(nm.host.bypass);

	opts(&o);
	set_flags(&o, err, sizeof(err), OPT_HOST_ACCESS, NULL,
		  OPT_HOST_PORTS, "22", 0);
	assert_int_not_equal(policy_resolve(&o, &nm, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "port 22 is a dangerous port"));
	assert_null(nm.host.bypass);

	opts(&o);
	o.hosts_path = hosts2;	/* no host.docker.internal */
	set_flags(&o, err, sizeof(err), OPT_HOST_ACCESS, NULL, 0);
	assert_int_not_equal(policy_resolve(&o, &nm, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "--host-gateway 'host.docker.internal'"));
	assert_null(nm.host.bypass);
}

/*
 * The endpoints filled in after policy_resolve (run: its Squid's and
 * dnsmasq's ports), then one assembly: the same policy policy_build makes
 * from the same flags, the bypass pairs handed over, not copied.
 */
static void test_assemble_after_resolve_equals_build(void **state)
{
	struct policy_names nm;
	struct policy_opts o;
	struct policy p, q;
	struct nf_bypass_key *pairs;
	char err[256];

	(void)state;
	opts(&o);
	set_flags(&o, err, sizeof(err), OPT_HOST_ACCESS, NULL,
		  OPT_HOST_PORTS, "8080,9000", OPT_LOOPBACK, "host",
		  OPT_REDIRECT_PORTS, "80,443,8443", OPT_LOG_ALLOWED, NULL, 0);
	assert_int_equal(policy_resolve(&o, &nm, err, sizeof(err)), 0);
	pairs = nm.host.bypass;
	/* without --proxy there is nothing to assemble */
	assert_int_equal(policy_assemble(&o, &nm, &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--proxy IP:PORT is required");
	assert_ptr_equal(nm.host.bypass, pairs);	/* still the caller's */

	o.proxy = (struct endpoint4){ true, htonl(INADDR_LOOPBACK), htons(40001) };
	o.tls_proxy = (struct endpoint4){ true, htonl(INADDR_LOOPBACK), htons(40002) };
	o.fwd_proxy = (struct endpoint4){ true, htonl(INADDR_LOOPBACK), htons(40003) };
	o.dns_proxy = (struct endpoint4){ true, htonl(INADDR_LOOPBACK), htons(40053) };
	o.agent_addrs[0] = inet_addr("10.9.0.2");
	o.nr_agent_addrs = 1;
	assert_int_equal(policy_assemble(&o, &nm, &p, err, sizeof(err)), 0);
	assert_ptr_equal(p.host.bypass, pairs);
	assert_null(nm.host.bypass);
	assert_int_equal(nm.host.n_bypass, 0);
	assert_int_equal(p.pol.flags, NF_F_TLS_PROXY | NF_F_FWD_PROXY |
				      NF_F_DNS_PROXY | NF_F_EVENTS_ALLOWED);
	assert_int_equal(p.pol.proxy_port, htons(40001));
	assert_int_equal(p.pol.tls_proxy_port, htons(40002));
	assert_int_equal(p.pol.fwd_proxy_port, htons(40003));
	assert_int_equal(p.pol.dns_proxy_port, htons(40053));
	assert_int_equal(p.pol.nr_agent_addrs, 1);
	assert_int_equal(p.pol.agent_addrs[0], inet_addr("10.9.0.2"));
	assert_int_equal(p.pol.nr_resolvers, 2);
	/* 2 gateways and loopback, 2 ports each */
	assert_int_equal(p.host.n_gateways, 2);
	assert_int_equal(p.host.n_bypass, 6);

	assert_int_equal(policy_build(&o, &q, err, sizeof(err)), 0);
	assert_memory_equal(&p.pol, &q.pol, sizeof(p.pol));
	/* run's: replies of accepted connections to local peers only */
	assert_false(q.pol.flags & NF_F_INBOUND_LOCAL);
	policy_free(&q);
	o.inbound_local = true;
	assert_int_equal(policy_build(&o, &q, err, sizeof(err)), 0);
	assert_true(q.pol.flags & NF_F_INBOUND_LOCAL);
	assert_int_equal(p.host.n_bypass, q.host.n_bypass);
	assert_memory_equal(p.host.bypass, q.host.bypass, p.host.n_bypass * sizeof(*p.host.bypass));
	assert_memory_equal(p.host.gateways, q.host.gateways, sizeof(p.host.gateways));
	assert_memory_equal(p.host.gateway_src, q.host.gateway_src, sizeof(p.host.gateway_src));
	policy_free(&p);
	policy_free(&q);
	policy_names_free(&nm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repeated_flag),
		cmocka_unit_test(test_bad_values_name_flag_and_value),
		cmocka_unit_test(test_proxy_required),
		cmocka_unit_test(test_host_flags_need_host_access),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_dangerous_ports_never_redirected),
		cmocka_unit_test(test_dangerous_host_port_refused),
		cmocka_unit_test(test_bypass_pairs_from_hosts_file),
		cmocka_unit_test(test_default_host_ports),
		cmocka_unit_test(test_gateway_unresolved_is_an_error),
		cmocka_unit_test(test_loopback_host_adds_loopback_pairs),
		cmocka_unit_test(test_proxies_and_dns_override),
		cmocka_unit_test(test_missing_resolv_conf_allows_no_dns),
		cmocka_unit_test(test_many_pairs),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_max_connections),
		cmocka_unit_test(test_tls_ports_of_redirect_ports),
		cmocka_unit_test(test_pid_flag_overrides_file_cgroup),
		cmocka_unit_test(test_config_file_errors),
		cmocka_unit_test(test_resolve_needs_no_proxy),
		cmocka_unit_test(test_assemble_after_resolve_equals_build),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
