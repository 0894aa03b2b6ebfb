/* Unit tests of the pure half of lb/rules.c: the iptables-restore input for
 * each family (one queue and a range, fail-open, comment, zero VIPs, the
 * jump reconciled from the count found), its independence from the VIPs'
 * order, name and spec validation, and the readers of `iptables -S`
 * listings (jump count, removal). The I/O half runs in
 * tests/integration/lb_rules.sh. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lb/rules.h"

static struct cidr ip(const char *s)
{
	struct cidr c;

	if (strchr(s, '/'))
		assert_int_equal(cidr_parse(s, &c), 0);
	else
		assert_int_equal(cidr_parse_ip(s, &c), 0);
	return c;
}

/* Renders and compares with want; returns nothing, fails the test. */
static void expect_render(const struct lb_rules_spec *s, int family,
			  unsigned jumps, const char *want)
{
	struct buf out = {0};
	char err[256] = "";

	assert_int_equal(
	    lb_rules_render(s, family, jumps, &out, err, sizeof(err)), 0);
	assert_string_equal(buf_str(&out), want);
	buf_free(&out);
}

static void test_v4_range_fail_open(void **state)
{
	(void)state;
	struct cidr v[] = {ip("10.0.0.2"), ip("2001:db8::1"), ip("10.0.0.1")};
	struct lb_rules_spec s = {.chain = "STRAIT-LB",
				  .queue_first = 0,
				  .queue_last = 3,
				  .fail_open = true,
				  .comment = "strait",
				  .vips = v,
				  .n_vips = 3};

	/* The v6 VIP is skipped: the same spec is rendered per family. */
	expect_render(&s, AF_INET, 0,
		      "*mangle\n"
		      ":STRAIT-LB - [0:0]\n"
		      "-F STRAIT-LB\n"
		      "-A STRAIT-LB -d 10.0.0.1/32 -m comment --comment strait"
		      " -j NFQUEUE --queue-balance 0:3 --queue-bypass\n"
		      "-A STRAIT-LB -d 10.0.0.2/32 -m comment --comment strait"
		      " -j NFQUEUE --queue-balance 0:3 --queue-bypass\n"
		      "-I PREROUTING -j STRAIT-LB\n"
		      "COMMIT\n");
}

static void test_v6_one_queue(void **state)
{
	(void)state;
	struct cidr v[] = {ip("2001:db8::10"), ip("10.0.0.1"),
			   ip("2001:db8:1::/64"), ip("2001:db8::9")};
	struct lb_rules_spec s = {.chain = "STRAIT-LB-a",
				  .queue_first = 7,
				  .queue_last = 7,
				  .vips = v,
				  .n_vips = 4};

	/* One jump already there: none inserted, none deleted. */
	expect_render(&s, AF_INET6, 1,
		      "*mangle\n"
		      ":STRAIT-LB-a - [0:0]\n"
		      "-F STRAIT-LB-a\n"
		      "-A STRAIT-LB-a -d 2001:db8::9/128"
		      " -j NFQUEUE --queue-num 7\n"
		      "-A STRAIT-LB-a -d 2001:db8::10/128"
		      " -j NFQUEUE --queue-num 7\n"
		      "-A STRAIT-LB-a -d 2001:db8:1::/64"
		      " -j NFQUEUE --queue-num 7\n"
		      "COMMIT\n");
}

static void test_extra_jumps_deleted(void **state)
{
	(void)state;
	struct lb_rules_spec s = {.chain = "C", .queue_last = 1};

	/* Three found: two -D, each naming a rule that exists, and one
	 * stays, so the jump is never missing. */
	expect_render(&s, AF_INET, 3,
		      "*mangle\n:C - [0:0]\n-F C\n"
		      "-D PREROUTING -j C\n-D PREROUTING -j C\n"
		      "COMMIT\n");
}

static void test_zero_vips(void **state)
{
	(void)state;
	struct cidr v[] = {ip("10.0.0.1")};
	struct lb_rules_spec s = {.chain = "STRAIT-LB",
				  .queue_last = 1,
				  .fail_open = true,
				  .vips = v,
				  .n_vips = 1};

	/* The chain is emptied and keeps its jump. */
	expect_render(&s, AF_INET6, 1,
		      "*mangle\n:STRAIT-LB - [0:0]\n-F STRAIT-LB\nCOMMIT\n");
	s.n_vips = 0;
	s.vips = NULL;
	expect_render(&s, AF_INET, 1,
		      "*mangle\n:STRAIT-LB - [0:0]\n-F STRAIT-LB\nCOMMIT\n");
	expect_render(&s, AF_INET, 0,
		      "*mangle\n:STRAIT-LB - [0:0]\n-F STRAIT-LB\n"
		      "-I PREROUTING -j STRAIT-LB\nCOMMIT\n");
}

static void test_deterministic(void **state)
{
	(void)state;
	const char *addrs[] = {"198.51.100.7", "10.0.0.1",    "10.0.0.0/8",
			       "10.1.2.3/8",   "192.0.2.200", "10.0.0.1",
			       "192.0.2.3",    "::1",	      "10.0.0.1/32"};
	enum { N = sizeof(addrs) / sizeof(addrs[0]) };
	struct cidr a[N], b[N];
	struct buf x = {0}, y = {0};

	for (size_t i = 0; i < N; i++) {
		a[i] = ip(addrs[i]);
		b[N - 1 - i] = a[i];
	}
	struct lb_rules_spec s = {.chain = "X", .vips = a, .n_vips = N};
	struct lb_rules_spec t = {.chain = "X", .vips = b, .n_vips = N};

	assert_int_equal(lb_rules_render(&s, AF_INET, 1, &x, NULL, 0), 0);
	assert_int_equal(lb_rules_render(&t, AF_INET, 1, &y, NULL, 0), 0);
	assert_string_equal(buf_str(&x), buf_str(&y));
	/* Numeric order (not text order: 192.0.2.3 before 192.0.2.200),
	 * the shorter prefix first, duplicates and host bits gone. */
	assert_string_equal(buf_str(&x),
			    "*mangle\n:X - [0:0]\n-F X\n"
			    "-A X -d 10.0.0.0/8 -j NFQUEUE --queue-num 0\n"
			    "-A X -d 10.0.0.1/32 -j NFQUEUE --queue-num 0\n"
			    "-A X -d 192.0.2.3/32 -j NFQUEUE --queue-num 0\n"
			    "-A X -d 192.0.2.200/32 -j NFQUEUE --queue-num 0\n"
			    "-A X -d 198.51.100.7/32 -j NFQUEUE --queue-num 0\n"
			    "COMMIT\n");
	buf_free(&x);
	buf_free(&y);
}

static void test_chain_names(void **state)
{
	(void)state;
	const char *good[] = {"STRAIT-LB", "STRAIT-LB-trench-a", "a", "9-x",
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ-1"}; /* 28 */
	const char *bad[] = {
	    "",		  "ABCDEFGHIJKLMNOPQRSTUVWXYZ-12", /* 29 */
	    "-F",	  "-",
	    "STRAIT LB",  "STRAIT_LB",
	    "x;rm",	  "$(id)",
	    "a\nCOMMIT",  "ACCEPT",
	    "PREROUTING", "NFQUEUE",
	    "RETURN"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(lb_rules_chain_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(lb_rules_chain_valid(bad[i]));
	assert_false(lb_rules_chain_valid(NULL));
}

static void expect_refused(const struct lb_rules_spec *s, int family,
			   const char *reason)
{
	struct buf out = {0};
	char err[256] = "";

	assert_int_equal(lb_rules_render(s, family, 0, &out, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(out.len, 0); /* nothing half-written */
	if (!strstr(err, reason))
		fail_msg("reason \"%s\" lacks \"%s\"", err, reason);
	buf_free(&out);
}

static void test_spec_refused(void **state)
{
	(void)state;
	struct cidr v[] = {ip("10.0.0.1")};
	struct lb_rules_spec s = {.chain = "C", .vips = v, .n_vips = 1};

	expect_refused(&s, AF_UNSPEC, "family");
	expect_refused(&s, 99, "family");
	s.chain = "bad name";
	expect_refused(&s, AF_INET, "chain name");
	s.chain = NULL;
	expect_refused(&s, AF_INET, "chain name");
	s.chain = "C";
	s.queue_first = 4;
	s.queue_last = 3;
	expect_refused(&s, AF_INET, "reversed");
	s.queue_first = s.queue_last = 65535;
	expect_render(&s, AF_INET, 1,
		      "*mangle\n:C - [0:0]\n-F C\n"
		      "-A C -d 10.0.0.1/32 -j NFQUEUE --queue-num 65535\n"
		      "COMMIT\n");
	s.comment = "two words";
	expect_refused(&s, AF_INET, "comment");
	s.comment = "";
	expect_refused(&s, AF_INET, "comment");
	s.comment = "ok.1:x-y";
	/* A VIP filled by hand is checked too, whatever family is
	 * rendered: a spec is valid or not as a whole. */
	v[0].len = 33;
	expect_refused(&s, AF_INET6, "prefix length");
	v[0].len = 32;
	v[0].family = AF_UNIX;
	expect_refused(&s, AF_INET6, "family");
	s.vips = NULL;
	expect_refused(&s, AF_INET, "VIP array");
}

static const char listing[] =
    "-P PREROUTING ACCEPT\n"
    "-P INPUT ACCEPT\n"
    "-N OTHER\n"
    "-N STRAIT-LB\n"
    "-N STRAIT-LB-a\n"
    "-N STRAIT-LBX\n"
    "-A PREROUTING -j STRAIT-LB\n"
    "-A PREROUTING -i eth0 -j STRAIT-LB\n"
    "-A PREROUTING -j STRAIT-LB-a\n"
    "-A PREROUTING -m comment --comment \"not -j STRAIT-LB at all\" "
    "-j OTHER\n"
    "-A PREROUTING -j STRAIT-LB\n"
    "-A OTHER -g STRAIT-LBX\n"
    "-A OTHER -j MARK --set-xmark 0x1/0xffffffff\n"
    "-A STRAIT-LB -d 10.0.0.1/32 -j NFQUEUE --queue-num 0\n"
    "-A STRAIT-LB-a -d 10.0.0.2/32 -j NFQUEUE --queue-num 0\n"
    "-A STRAIT-LBX -j RETURN";

static void test_count_jumps(void **state)
{
	(void)state;
	/* Only the bare jumps: the one with "-i eth0" is not ours, and
	 * neither are the jumps to chains whose names merely start alike. */
	assert_int_equal(lb_rules_count_jumps(listing, "STRAIT-LB"), 2);
	assert_int_equal(lb_rules_count_jumps(listing, "STRAIT-LB-a"), 1);
	assert_int_equal(lb_rules_count_jumps(listing, "STRAIT"), 0);
	assert_int_equal(lb_rules_count_jumps("", "STRAIT-LB"), 0);
}

static void test_render_remove(void **state)
{
	(void)state;
	struct buf out = {0};
	unsigned n = 99;

	assert_int_equal(
	    lb_rules_render_remove(listing, "STRAIT-LB", false, &out, &n), 0);
	assert_int_equal(n, 1);
	/* Every rule that jumps to it, as listed, then its rules, then
	 * the chain; the comment that merely mentions it stays. */
	assert_string_equal(buf_str(&out),
			    "*mangle\n"
			    "-D PREROUTING -j STRAIT-LB\n"
			    "-D PREROUTING -i eth0 -j STRAIT-LB\n"
			    "-D PREROUTING -j STRAIT-LB\n"
			    "-F STRAIT-LB\n"
			    "-X STRAIT-LB\n"
			    "COMMIT\n");

	buf_reset(&out);
	assert_int_equal(
	    lb_rules_render_remove(listing, "STRAIT-LB", true, &out, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(buf_str(&out),
			    "*mangle\n"
			    "-D PREROUTING -j STRAIT-LB\n"
			    "-D PREROUTING -i eth0 -j STRAIT-LB\n"
			    "-D PREROUTING -j STRAIT-LB-a\n"
			    "-D PREROUTING -j STRAIT-LB\n"
			    "-D OTHER -g STRAIT-LBX\n"
			    "-F STRAIT-LB\n"
			    "-F STRAIT-LB-a\n"
			    "-F STRAIT-LBX\n"
			    "-X STRAIT-LB\n"
			    "-X STRAIT-LB-a\n"
			    "-X STRAIT-LBX\n"
			    "COMMIT\n");

	/* Nothing of ours: nothing to run. */
	buf_reset(&out);
	assert_int_equal(
	    lb_rules_render_remove(listing, "STRAIT-LB-b", false, &out, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(lb_rules_render_remove("-P PREROUTING ACCEPT\n",
						"STRAIT-LB", true, &out, NULL),
			 0);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v4_range_fail_open),
	    cmocka_unit_test(test_v6_one_queue),
	    cmocka_unit_test(test_extra_jumps_deleted),
	    cmocka_unit_test(test_zero_vips),
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_chain_names),
	    cmocka_unit_test(test_spec_refused),
	    cmocka_unit_test(test_count_jumps),
	    cmocka_unit_test(test_render_remove),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
