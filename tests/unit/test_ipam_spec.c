/* Unit tests of IPAM's prefix spec parser and name check (ipam/spec.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../ipam/spec.h"

static void expect_spec(const char *s, const char *trench, const char *fmt)
{
	struct ipam_spec sp;
	char err[256] = "", buf[80];
	int rc = ipam_spec_parse(s, &sp, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s: %s", s, err);
	assert_string_equal(sp.trench, trench);
	assert_int_equal(ipam_spec_format(&sp.fs, buf, sizeof(buf)), 0);
	assert_string_equal(buf, fmt);
}

static void test_good(void **state)
{
	(void)state;
	expect_spec("169.255.0.0/16:20:24", "", "169.255.0.0/16:20:24");
	expect_spec("trench-a=fd00::/48:56:64", "trench-a",
		    "fd00::/48:56:64");
	expect_spec("fd00:0:0:0::/48:56:64", "", "fd00::/48:56:64");
	expect_spec("t=10.0.0.0/28:29:30", "t", "10.0.0.0/28:29:30");
	/* The extremes: a /30 node (4 addresses), a /64 v6 node (2^64). */
	expect_spec("0.0.0.0/0:1:30", "", "0.0.0.0/0:1:30");
	expect_spec("::/0:1:64", "", "::/0:1:64");
	expect_spec("::/0:63:126", "", "::/0:63:126");
	/* A trench name may hold '=': the last one separates. */
	expect_spec("a=b=10.0.0.0/8:16:24", "a=b", "10.0.0.0/8:16:24");
}

static void expect_bad(const char *s, const char *needle)
{
	struct ipam_spec sp;
	memset(&sp, 0x5a, sizeof(sp));
	struct ipam_spec before = sp;
	char err[256] = "";
	assert_int_equal(ipam_spec_parse(s, &sp, err, sizeof(err)), -EINVAL);
	if (!strstr(err, needle))
		fail_msg("%s: \"%s\" does not say \"%s\"", s, err, needle);
	/* Nothing written on failure. */
	assert_memory_equal(&sp, &before, sizeof(sp));
}

static void test_bad(void **state)
{
	(void)state;
	expect_bad("", "is not [TRENCH=]PREFIX");
	expect_bad("169.255.0.0/16", "is not [TRENCH=]PREFIX");
	expect_bad("169.255.0.0/16:20", "is not [TRENCH=]PREFIX");
	expect_bad("169.255.0.0:20:24", "is not ADDRESS/LENGTH");
	expect_bad("169.255.0.0/33:20:24", "is not ADDRESS/LENGTH");
	expect_bad("nonsense/16:20:24", "is not ADDRESS/LENGTH");
	expect_bad("169.255.0.0/16::24", "conduit length is not a number");
	expect_bad("169.255.0.0/16:+2:24", "conduit length is not a number");
	expect_bad("169.255.0.0/16:33:24", "conduit length is not a number");
	expect_bad("169.255.0.0/16:20:", "node length is not a number");
	expect_bad("169.255.0.0/16:20:24 ", "node length is not a number");
	expect_bad("169.255.0.0/16:20:0x18", "node length is not a number");
	expect_bad("169.255.0.0/16:20:1000", "node length is not a number");
	expect_bad("fd00::/48:56:129", "node length is not a number");
	/* The prefix_cannot_fit rules. */
	expect_bad("169.255.1.0/16:20:24",
		   "prefix 169.255.1.0/16 has host bits set");
	expect_bad("169.255.0.0/16:16:24",
		   "conduit length /16 of 169.255.0.0/16 is not longer");
	expect_bad("169.255.0.0/16:12:24", "is not longer than the prefix");
	expect_bad("169.255.0.0/16:24:24",
		   "node length /24 of 169.255.0.0/16 is not longer than the "
		   "conduit length /24");
	expect_bad("169.255.0.0/16:20:31", "fewer than 4 addresses");
	expect_bad("169.255.0.0/16:20:32", "fewer than 4 addresses");
	expect_bad("fd00::/48:56:63", "more than 2^64 addresses");
	expect_bad("fd00::/48:56:127", "fewer than 4 addresses");
	/* Trench names. */
	expect_bad("=169.255.0.0/16:20:24", "trench name before '=' is empty");
	expect_bad("a b=169.255.0.0/16:20:24", "holds a space");
	expect_bad("a/b=169.255.0.0/16:20:24", "holds '/'");
	expect_bad("a|b=169.255.0.0/16:20:24", "holds '|'");
	expect_bad("a\tb=169.255.0.0/16:20:24", "\"a\\x09b\" holds a control");
	char longname[300];
	memset(longname, 'x', 129);
	snprintf(longname + 129, sizeof(longname) - 129,
		 "=169.255.0.0/16:20:24");
	expect_bad(longname, "over 128 bytes");
}

static void test_check(void **state)
{
	(void)state;
	char err[256];
	struct ipam_family_spec fs = { 0 };
	assert_int_equal(ipam_spec_check(&fs, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no address family"));
	assert_int_equal(cidr_parse("10.0.0.0/28", &fs.prefix), 0);
	fs.conduit_len = 29;
	fs.node_len = 30;
	assert_int_equal(ipam_spec_check(&fs, err, sizeof(err)), 0);
	/* err may be NULL. */
	fs.node_len = 31;
	assert_int_equal(ipam_spec_check(&fs, NULL, 0), -EINVAL);
	char small[4];
	assert_int_equal(ipam_spec_format(&fs, small, sizeof(small)), -ENOSPC);
}

static void test_names(void **state)
{
	(void)state;
	char err[256], name[200];
	assert_int_equal(ipam_name_check("child", "pod-1", err, sizeof(err)),
			 0);
	assert_int_equal(ipam_name_check("child", "pöd=1:x", err, sizeof(err)),
			 0);
	memset(name, 'n', 128);
	name[128] = '\0';
	assert_int_equal(ipam_name_check("child", name, err, sizeof(err)), 0);
	name[128] = 'n';
	name[129] = '\0';
	assert_int_equal(ipam_name_check("child", name, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "child name \"nnnn"));
	assert_non_null(strstr(err, "\"... is over 128 bytes"));
	assert_int_equal(ipam_name_check("node", "", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "node name is empty");
	assert_int_equal(ipam_name_check("node", NULL, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(ipam_name_check("conduit", "a b", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "conduit name \"a b\" holds a space");
	assert_int_equal(ipam_name_check("child", "x\x7fy", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err,
			    "child name \"x\\x7fy\" holds a control character");
	assert_int_equal(ipam_name_check("child", "x\ny", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(ipam_name_check("child", "a/b", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(ipam_name_check("child", "a|b", err, sizeof(err)),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
