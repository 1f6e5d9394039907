// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* event_print (user/events.c): one verdict event as text and as JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "enforce.h"
#include "events.h"

static char *print(const struct nf_event *e, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	event_print(f, e, sizeof(*e), json);
	fclose(f);
	return buf;
}

static struct nf_event connect4(uint32_t stat)
{
	struct nf_event e = {
		.ts_ns = 42, .cgroup_id = 7, .pid = 101, .tgid = 100, .uid = 1000,
		.stat = stat, .hook = NF_HOOK_CONNECT, .family = AF_INET,
		.proto = 6, .port = htons(5000),
	};

	inet_pton(AF_INET, "10.1.2.3", e.addr);
	/* a full comm: no terminating NUL in the event */
	memcpy(e.comm, "abcdefghijklmnop", sizeof(e.comm));
	return e;
}

static void test_refused_connect_text(void **state)
{
	struct nf_event e = connect4(NF_STAT_DENY_PORT);
	char *s = print(&e, false);

	(void)state;
	assert_string_equal(s, "refused connect tcp 10.1.2.3:5000 (deny_port) pid 100 uid 1000 "
			       "abcdefghijklmnop\n");
	free(s);
}

/* The agent chooses its comm: control bytes never reach a terminal raw. */
static void test_comm_escapes(void **state)
{
	struct nf_event e = connect4(NF_STAT_DENY_PORT);
	char *s;

	(void)state;
	memcpy(e.comm, "\x1b[1A\x1b[2K\x07\x7fok", 13);
	s = print(&e, false);
	assert_string_equal(s, "refused connect tcp 10.1.2.3:5000 (deny_port) pid 100 uid 1000 "
			       "?[1A?[2K??ok\n");
	free(s);
	s = print(&e, true);
	assert_non_null(strstr(s, "\"comm\":\"\\u001b[1A\\u001b[2K\\u0007\x7fok\""));
	free(s);
}

static void test_refused_connect_json(void **state)
{
	struct nf_event e = connect4(NF_STAT_DENY_PORT);
	char *s = print(&e, true), t[64], *rest;

	(void)state;
	/*
	 * the wall-clock time is the boot time plus ts_ns, the boot time read
	 * anew at each call: two calls may differ in the last digits (valgrind
	 * makes that likely), so the time is compared to the second
	 */
	event_time_str(event_wall_ns(e.ts_ns), t, sizeof(t));
	assert_int_equal(strncmp(s, "{\"time\":\"", 9), 0);
	assert_int_equal(strncmp(s + 9, t, 19), 0);	/* YYYY-MM-DDTHH:MM:SS */
	rest = strstr(s, "\",\"ts_ns\":");
	assert_non_null(rest);
	assert_string_equal(rest,
			    "\",\"ts_ns\":42,\"verdict\":\"refused\",\"reason\":\"deny_port\","
			    "\"hook\":\"connect\",\"proto\":\"tcp\",\"family\":2,"
			    "\"destination\":\"10.1.2.3:5000\",\"pid\":101,\"tgid\":100,"
			    "\"uid\":1000,\"comm\":\"abcdefghijklmnop\",\"cgroup_id\":7,"
			    "\"family_name\":\"inet\"}\n");
	free(s);
}

static void test_allowed_redirect(void **state)
{
	struct nf_event e = connect4(NF_STAT_REDIRECT_TLS);
	char *s;

	(void)state;
	e.port = htons(443);
	s = print(&e, false);
	assert_string_equal(s, "allowed connect tcp 10.1.2.3:443 (redirect_tls) pid 100 uid 1000 "
			       "abcdefghijklmnop\n");
	free(s);
}

static void test_udp_v6_sendmsg(void **state)
{
	struct nf_event e = connect4(NF_STAT_DENY_IPV6);
	char *s;

	(void)state;
	e.hook = NF_HOOK_SENDMSG;
	e.family = AF_INET6;
	e.proto = 17;
	e.port = htons(53);
	inet_pton(AF_INET6, "fd00::1", e.addr);
	strcpy(e.comm, "dig");
	s = print(&e, false);
	assert_string_equal(s, "refused sendmsg udp [fd00::1]:53 (deny_ipv6) pid 100 uid 1000 dig\n");
	free(s);
}

static void test_socket_event(void **state)
{
	struct nf_event e = connect4(NF_STAT_DENY_SOCKET);
	char *s;

	(void)state;
	e.hook = NF_HOOK_SOCKET;
	e.family = AF_PACKET;
	e.type = SOCK_RAW;
	e.proto = 300;	/* no name: printed as a number */
	strcpy(e.comm, "ping");
	s = print(&e, false);
	assert_string_equal(s, "refused socket socket family 17 type 3 proto 300 (deny_socket) "
			       "pid 100 uid 1000 ping\n");
	free(s);
	s = print(&e, true);
	assert_non_null(strstr(s, "\"family\":17,\"type\":3,\"destination\":null,"));
	assert_non_null(strstr(s, "\"proto\":\"300\","));
	free(s);
}

/* Refusals by name, not by their place in enum nf_stat. */
static void test_refuses(void **state)
{
	(void)state;
	assert_true(nf_stat_refuses(NF_STAT_DENY_PORT));
	assert_true(nf_stat_refuses(NF_STAT_DENY_SOCKET));
	assert_true(nf_stat_refuses(NF_STAT_SKB_DROP));
	assert_true(nf_stat_refuses(NF_STAT_DNS_REFUSED));
	assert_false(nf_stat_refuses(NF_STAT_DNS_REDIRECT));
	assert_false(nf_stat_refuses(NF_STAT_REDIRECT));
	assert_false(nf_stat_refuses(NF_STAT_LOOPBACK));
	/* after the refusals in the enum, yet not refusals */
	assert_false(nf_stat_refuses(NF_STAT_ORIG_MISS));
	assert_false(nf_stat_refuses(NF_STAT_EVENT_LOST));
	assert_false(nf_stat_refuses(NF_STAT_MAX + 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_connect_text),
		cmocka_unit_test(test_comm_escapes),
		cmocka_unit_test(test_refused_connect_json),
		cmocka_unit_test(test_allowed_redirect),
		cmocka_unit_test(test_udp_v6_sendmsg),
		cmocka_unit_test(test_socket_event),
		cmocka_unit_test(test_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
