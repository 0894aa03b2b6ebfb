/* Unit tests of the match syntax parsers (lib/match.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "match.h"

static void test_port_range_good(void **state)
{
	static const struct {
		const char *in, *canon;
		uint16_t lo, hi;
	} cases[] = {
	    {"0", "0", 0, 0},
	    {"80", "80", 80, 80},
	    {"65535", "65535", 65535, 65535},
	    {"1024-65535", "1024-65535", 1024, 65535},
	    {"5-5", "5", 5, 5},
	    {"0-65535", "0-65535", 0, 65535},
	    {"any", "0-65535", 0, 65535},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct port_range r;
		char buf[MATCH_PORT_RANGE_STRLEN];

		assert_int_equal(match_port_range_parse(cases[i].in, &r, NULL),
				 0);
		assert_int_equal(r.lo, cases[i].lo);
		assert_int_equal(r.hi, cases[i].hi);
		assert_int_equal(match_port_range_format(&r, buf, sizeof(buf)),
				 0);
		assert_string_equal(buf, cases[i].canon);
	}
}

static void test_port_range_bad(void **state)
{
	static const char *const bad[] = {
	    "",
	    "70000",
	    "65536",
	    "5-3",
	    "-1",
	    "1-",
	    "01x",
	    "080",
	    " 80",
	    "80 ",
	    "+80",
	    "0x50",
	    "1--2",
	    "1-2-3",
	    "1 - 2",
	    "ANY",
	    "a",
	    "-",
	    "99999999999999999999",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct port_range r = {7, 7};
		const char *why = "unset";

		if (match_port_range_parse(bad[i], &r, &why) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(r.lo, 7); /* untouched */
		if (strcmp(bad[i], "5-3") == 0)
			assert_string_equal(why, "first port above last");
		else if (bad[i][0] == '\0')
			assert_string_equal(why, "empty");
		else
			assert_null(why);
	}
}

static void test_port_range_format_small(void **state)
{
	struct port_range r = {1024, 65535};
	char buf[5];
	(void)state;

	assert_int_equal(match_port_range_format(&r, buf, sizeof(buf)),
			 -ENOSPC);
	assert_true(match_port_range_contains(&r, 1024));
	assert_true(match_port_range_contains(&r, 65535));
	assert_false(match_port_range_contains(&r, 1023));
}

static void test_proto(void **state)
{
	enum match_proto p;
	(void)state;

	assert_int_equal(match_proto_parse("tcp", &p), 0);
	assert_int_equal(p, MATCH_PROTO_TCP);
	assert_int_equal(p, 6);
	assert_int_equal(match_proto_parse("UDP", &p), 0);
	assert_int_equal(p, 17);
	assert_int_equal(match_proto_parse("Sctp", &p), 0);
	assert_int_equal(p, 132);
	assert_int_equal(match_proto_parse("icmp", &p), 0);
	assert_int_equal(p, 1);
	assert_int_equal(match_proto_parse("icmpv6", &p), 0);
	assert_int_equal(p, 58);
	assert_string_equal(match_proto_name(MATCH_PROTO_ICMPV6), "icmpv6");
	assert_null(match_proto_name((enum match_proto)99));
	assert_true(match_proto_has_ports(MATCH_PROTO_SCTP));
	assert_false(match_proto_has_ports(MATCH_PROTO_ICMP));
	assert_int_equal(match_proto_parse("gre", &p), -EINVAL);
	assert_int_equal(match_proto_parse("", &p), -EINVAL);
	assert_int_equal(match_proto_parse("tcp ", &p), -EINVAL);
	assert_int_equal(match_proto_parse("icmp6", &p), -EINVAL);
}

static void test_byte_match_good(void **state)
{
	static const struct {
		const char *in, *canon;
		enum match_proto proto;
		uint16_t offset;
		uint8_t len;
		uint32_t value, mask;
	} cases[] = {
	    {"tcp[2:2] = 4002", "tcp[2:2] = 4002", MATCH_PROTO_TCP, 2, 2, 4002,
	     0xffff},
	    {"tcp[2:2]=4002", "tcp[2:2] = 4002", MATCH_PROTO_TCP, 2, 2, 4002,
	     0xffff},
	    {"  udp [ 8 : 4 ]\t=\t0x0000FFFF  ", "udp[8:4] = 65535",
	     MATCH_PROTO_UDP, 8, 4, 0xffff, 0xffffffff},
	    {"tcp[13:1] & 0x12 = 0x2", "tcp[13:1] & 0x12 = 2", MATCH_PROTO_TCP,
	     13, 1, 2, 0x12},
	    {"tcp[13:1] = 2 & 0x12", "tcp[13:1] & 0x12 = 2", MATCH_PROTO_TCP,
	     13, 1, 2, 0x12},
	    {"sctp[0:2]&0xff00=0x100", "sctp[0:2] & 0xff00 = 256",
	     MATCH_PROTO_SCTP, 0, 2, 0x100, 0xff00},
	    {"icmp[0:1] = 8", "icmp[0:1] = 8", MATCH_PROTO_ICMP, 0, 1, 8, 0xff},
	    {"icmpv6[0:1] = 128 & 0xff", "icmpv6[0:1] = 128",
	     MATCH_PROTO_ICMPV6, 0, 1, 128, 0xff},
	    {"udp[65531:4] = 4294967295", "udp[65531:4] = 4294967295",
	     MATCH_PROTO_UDP, 65531, 4, 0xffffffff, 0xffffffff},
	    {"tcp[0:4] & 0xfffffffe = 0", "tcp[0:4] & 0xfffffffe = 0",
	     MATCH_PROTO_TCP, 0, 4, 0, 0xfffffffe},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct byte_match m, again;
		char buf[MATCH_BYTE_STRLEN];

		if (match_byte_parse(cases[i].in, &m, NULL) != 0)
			fail_msg("refused \"%s\"", cases[i].in);
		assert_int_equal(m.proto, cases[i].proto);
		assert_int_equal(m.offset, cases[i].offset);
		assert_int_equal(m.len, cases[i].len);
		assert_int_equal(m.value, cases[i].value);
		assert_int_equal(m.mask, cases[i].mask);
		assert_int_equal(match_byte_format(&m, buf, sizeof(buf)), 0);
		assert_string_equal(buf, cases[i].canon);
		assert_int_equal(match_byte_parse(buf, &again, NULL), 0);
		assert_int_equal(m.proto, again.proto);
		assert_int_equal(m.offset, again.offset);
		assert_int_equal(m.len, again.len);
		assert_int_equal(m.value, again.value);
		assert_int_equal(m.mask, again.mask);
	}
}

static void test_byte_match_bad(void **state)
{
	static const struct {
		const char *in, *why;
	} cases[] = {
	    {"", "protocol"},
	    {"ip[0:1] = 4", "protocol"},
	    {"ip6[0:1] = 4", "protocol"},
	    {"TCP[0:1] = 4", "protocol"},
	    {"tcpx[0:1] = 4", "protocol"},
	    {"tcp(0:1) = 4", "[offset:length]"},
	    {"tcp[0:1 = 4", "[offset:length]"},
	    {"tcp[:1] = 4", "[offset:length]"},
	    {"tcp[0x2:1] = 4", "[offset:length]"},
	    {"tcp[-1:1] = 4", "[offset:length]"},
	    {"tcp[0:3] = 4", "length must be 1, 2 or 4"},
	    {"tcp[0:8] = 4", "length must be 1, 2 or 4"},
	    {"tcp[0:0] = 4", "length must be 1, 2 or 4"},
	    {"tcp[65534:2] = 4", "offset"},
	    {"tcp[99999999999:2] = 4", "[offset:length]"},
	    {"tcp[0:1] 4", "expected \"=\""},
	    {"tcp[0:1] == 4", "value"},
	    {"tcp[0:1] =", "value"},
	    {"tcp[0:1] = -4", "value"},
	    {"tcp[0:1] = 0x", "value"},
	    {"tcp[0:1] = 0x123456789", "value"},
	    {"tcp[0:1] = 256", "value does not fit"},
	    {"tcp[0:2] = 0x10000", "value does not fit"},
	    {"tcp[0:1] & 0x100 = 1", "mask does not fit"},
	    {"tcp[0:1] & = 1", "mask is not a number"},
	    {"tcp[0:1] = 1 &", "mask is not a number"},
	    {"tcp[0:1] & 0xf = 1 & 0xf", "more than one mask"},
	    {"tcp[0:1] & 0 = 0", "mask is zero"},
	    {"tcp[0:1] & 0x0f = 0x10", "bits outside the mask"},
	    {"tcp[0:1] = 1 ; drop", "unexpected text"},
	    {"tcp[0:1] = 01", "value is not a number"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct byte_match m = {.offset = 7};
		const char *why = NULL;

		if (match_byte_parse(cases[i].in, &m, &why) != -EINVAL)
			fail_msg("accepted \"%s\"", cases[i].in);
		assert_int_equal(m.offset, 7);
		assert_non_null(why);
		if (!strstr(why, cases[i].why))
			fail_msg("\"%s\": reason \"%s\" lacks \"%s\"",
				 cases[i].in, why, cases[i].why);
	}
}

static void test_byte_match_test(void **state)
{
	/* A TCP header: ports 4002 -> 80, flags SYN (0x02) at offset 13. */
	static const uint8_t tcp[20] = {0x0f, 0xa2,	   0x00,
					0x50, [12] = 0x50, [13] = 0x02};
	struct byte_match m;
	(void)state;

	assert_int_equal(match_byte_parse("tcp[0:2] = 4002", &m, NULL), 0);
	assert_true(match_byte_test(&m, tcp, sizeof(tcp)));
	assert_int_equal(match_byte_parse("tcp[2:2] = 4002", &m, NULL), 0);
	assert_false(match_byte_test(&m, tcp, sizeof(tcp)));
	assert_int_equal(match_byte_parse("tcp[13:1] & 0x12 = 0x2", &m, NULL),
			 0);
	assert_true(match_byte_test(&m, tcp, sizeof(tcp)));
	assert_int_equal(match_byte_parse("tcp[0:4] = 0x0fa20050", &m, NULL),
			 0);
	assert_true(match_byte_test(&m, tcp, sizeof(tcp)));
	/* Beyond the header never matches, even with a value of zero. */
	assert_int_equal(match_byte_parse("tcp[18:4] = 0", &m, NULL), 0);
	assert_false(match_byte_test(&m, tcp, sizeof(tcp)));
	assert_int_equal(match_byte_parse("tcp[16:4] = 0", &m, NULL), 0);
	assert_true(match_byte_test(&m, tcp, sizeof(tcp)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_port_range_good),
	    cmocka_unit_test(test_port_range_bad),
	    cmocka_unit_test(test_port_range_format_small),
	    cmocka_unit_test(test_proto),
	    cmocka_unit_test(test_byte_match_good),
	    cmocka_unit_test(test_byte_match_bad),
	    cmocka_unit_test(test_byte_match_test),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
