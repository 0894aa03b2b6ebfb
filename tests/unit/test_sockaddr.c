/* lib/sockaddr: every accepted form, every refused one, and formatting. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "sockaddr.h"

/* Parses s and checks the result by formatting it. */
static void expect(const char *s, uint16_t def, const char *want)
{
	struct sockaddr_storage ss;
	char text[SOCKADDR_STRLEN];

	int err = sockaddr_parse(s, def, &ss);
	if (err)
		fail_msg("sockaddr_parse(\"%s\") = %d", s, err);
	assert_int_equal(
	    sockaddr_format((struct sockaddr *)&ss, text, sizeof(text)), 0);
	if (strcmp(text, want))
		fail_msg("\"%s\" gave \"%s\", want \"%s\"", s, text, want);
}

static void expect_err(const char *s, uint16_t def, int want)
{
	struct sockaddr_storage ss;
	memset(&ss, 0xa5, sizeof(ss));
	int err = sockaddr_parse(s, def, &ss);
	if (err != want)
		fail_msg("sockaddr_parse(\"%s\") = %d, want %d", s, err, want);
	/* A refusal leaves out alone. */
	for (size_t i = 0; i < sizeof(ss); i++)
		assert_int_equal(((unsigned char *)&ss)[i], 0xa5);
}

static void test_ipv4(void **state)
{
	(void)state;
	expect("127.0.0.1:7778", 9, "127.0.0.1:7778");
	expect("198.18.0.1:1", 9, "198.18.0.1:1");
	expect("198.18.0.1:65535", 9, "198.18.0.1:65535");
	expect("10.0.0.1:00080", 9, "10.0.0.1:80");
	expect("127.0.0.1", 7778, "127.0.0.1:7778");
	expect("0.0.0.0", 7778, "0.0.0.0:7778");
	expect(":7778", 9, "0.0.0.0:7778");

	struct sockaddr_storage ss;
	assert_int_equal(sockaddr_parse("192.0.2.7:8080", 0, &ss), 0);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 8080);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc0000207);
	assert_int_equal(sockaddr_len((struct sockaddr *)&ss),
			 sizeof(struct sockaddr_in));
}

static void test_ipv6(void **state)
{
	(void)state;
	expect("[::1]:7778", 9, "[::1]:7778");
	expect("[::1]", 7778, "[::1]:7778");
	expect("::1", 7778, "[::1]:7778");
	expect("::", 7778, "[::]:7778");
	expect("[::]:80", 9, "[::]:80");
	expect("fd00::1", 7778, "[fd00::1]:7778");
	expect("[FD00:0:0::1]:443", 9, "[fd00::1]:443");
	expect("[::ffff:192.0.2.1]:80", 9, "[::ffff:192.0.2.1]:80");
	/* "a:b" with one colon is host:port, so a bare address needs two. */
	expect("2001:db8::7", 53, "[2001:db8::7]:53");

	struct sockaddr_storage ss;
	assert_int_equal(sockaddr_parse("[fd00::2]:9", 0, &ss), 0);
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 9);
	assert_int_equal(sin6->sin6_scope_id, 0);
	assert_int_equal(sin6->sin6_flowinfo, 0);
	assert_int_equal(sockaddr_len((struct sockaddr *)&ss),
			 sizeof(struct sockaddr_in6));
}

static void test_ipv6_zone(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	unsigned lo = if_nametoindex("lo");
	(void)state;

	if (!lo)
		skip();
	assert_int_equal(sockaddr_parse("[fe80::1%lo]:80", 0, &ss), 0);
	assert_int_equal(sin6->sin6_scope_id, lo);
	expect("[fe80::1%lo]:80", 0, "[fe80::1%lo]:80");
	expect("fe80::1%lo", 80, "[fe80::1%lo]:80");
	expect("[fe80::1%1]:80", 0, "[fe80::1%lo]:80");
	/* An index no interface has is kept and printed as a number. */
	expect("[fe80::1%99999]:80", 0, "[fe80::1%99999]:80");
	expect_err("[fe80::1%no-such-if0]:80", 0, -ENODEV);
	expect_err("[fe80::1%]:80", 0, -EINVAL);
	expect_err("[fe80::1%0]:80", 0, -EINVAL);
}

static void test_names(void **state)
{
	struct sockaddr_storage ss;
	char text[SOCKADDR_STRLEN];
	(void)state;

	int err = sockaddr_parse("localhost:7778", 0, &ss);
	if (err == -ENOENT || err == -EAGAIN)
		skip(); /* no resolver configuration in this sandbox */
	assert_int_equal(err, 0);
	assert_int_equal(
	    sockaddr_format((struct sockaddr *)&ss, text, sizeof(text)), 0);
	/* getaddrinfo() may put either loopback first. */
	if (strcmp(text, "127.0.0.1:7778") && strcmp(text, "[::1]:7778"))
		fail_msg("localhost gave %s", text);
	assert_int_equal(sockaddr_parse("localhost", 9100, &ss), 0);

	/* A well-formed name that does not resolve. */
	err = sockaddr_parse("no-such-host.invalid:80", 0, &ss);
	assert_true(err == -ENOENT || err == -EAGAIN);
}

static void test_rejected(void **state)
{
	(void)state;
	/* Ports. */
	expect_err("127.0.0.1:0", 9, -EINVAL);
	expect_err("127.0.0.1:65536", 9, -EINVAL);
	expect_err("127.0.0.1:99999", 9, -EINVAL);
	expect_err("127.0.0.1:123456", 9, -EINVAL);
	expect_err("127.0.0.1:", 9, -EINVAL);
	expect_err("127.0.0.1:+80", 9, -EINVAL);
	expect_err("127.0.0.1:-80", 9, -EINVAL);
	expect_err("127.0.0.1: 80", 9, -EINVAL);
	expect_err("127.0.0.1:80 ", 9, -EINVAL);
	expect_err("127.0.0.1:0x50", 9, -EINVAL);
	expect_err("127.0.0.1:http", 9, -EINVAL);
	expect_err("[::1]:", 9, -EINVAL);
	expect_err("[::1]:0", 9, -EINVAL);
	expect_err(":", 9, -EINVAL);
	expect_err(":0", 9, -EINVAL);
	/* No port and no default. */
	expect_err("127.0.0.1", 0, -EINVAL);
	expect_err("[::1]", 0, -EINVAL);
	expect_err("::1", 0, -EINVAL);
	/* Addresses. */
	expect_err("", 9, -EINVAL);
	expect_err("256.0.0.1:80", 9, -EINVAL);
	expect_err("1.2.3:80", 9, -EINVAL);
	expect_err("1.2.3.4.5:80", 9, -EINVAL);
	expect_err("127.1:80", 9, -EINVAL);
	expect_err("0x7f.0.0.1:80", 9, -EINVAL);
	expect_err("0x7f000001:80", 9, -EINVAL);
	expect_err("2130706433:80", 9, -EINVAL);
	expect_err("10.0.0.256", 9, -EINVAL);
	expect_err(" 127.0.0.1:80", 9, -EINVAL);
	expect_err("127.0.0.1:80:90", 9, -EINVAL);
	expect_err("[::1", 9, -EINVAL);
	expect_err("[::1]80", 9, -EINVAL);
	expect_err("[::1]:80]", 9, -EINVAL);
	expect_err("[]:80", 9, -EINVAL);
	expect_err("[127.0.0.1]:80", 9, -EINVAL);
	expect_err("[localhost]:80", 9, -EINVAL);
	expect_err("::1:80:", 9, -EINVAL);
	expect_err("fd00::1::2", 9, -EINVAL);
	expect_err("::g", 9, -EINVAL);
	/* Names with characters no host name has. */
	expect_err("local host:80", 9, -EINVAL);
	expect_err("-lead:80", 9, -EINVAL);
	expect_err(".lead:80", 9, -EINVAL);
	expect_err("a/b:80", 9, -EINVAL);

	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	expect_err(longname, 9, -EINVAL);
}

static void test_format(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(7778)};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6,
				    .sin6_port = htons(7778)};
	char text[SOCKADDR_STRLEN];
	(void)state;

	inet_pton(AF_INET, "198.18.0.1", &sin.sin_addr);
	assert_int_equal(
	    sockaddr_format((struct sockaddr *)&sin, text, sizeof(text)), 0);
	assert_string_equal(text, "198.18.0.1:7778");

	inet_pton(AF_INET6, "fd00::1", &sin6.sin6_addr);
	assert_int_equal(
	    sockaddr_format((struct sockaddr *)&sin6, text, sizeof(text)), 0);
	assert_string_equal(text, "[fd00::1]:7778");

	/* Exactly enough room, then one byte short. */
	assert_int_equal(sockaddr_format((struct sockaddr *)&sin6, text, 15),
			 0);
	assert_int_equal(sockaddr_format((struct sockaddr *)&sin6, text, 14),
			 -ENOSPC);

	/* The longest text fits SOCKADDR_STRLEN. */
	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
		  &sin6.sin6_addr);
	sin6.sin6_scope_id = 4294967295u;
	sin6.sin6_port = htons(65535);
	assert_int_equal(
	    sockaddr_format((struct sockaddr *)&sin6, text, sizeof(text)), 0);

	struct sockaddr_storage other = {.ss_family = AF_NETLINK};
	assert_int_equal(
	    sockaddr_format((struct sockaddr *)&other, text, sizeof(text)),
	    -EAFNOSUPPORT);
	assert_string_equal(text, "");
	assert_int_equal(sockaddr_len((struct sockaddr *)&other), 0);
}

static void test_unix(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_un *un = (struct sockaddr_un *)&ss;
	(void)state;

	expect("unix:/run/strait/lb.sock", 9, "unix:/run/strait/lb.sock");
	expect("/run/strait/lb.sock", 9, "unix:/run/strait/lb.sock");
	/* No port, and none is asked for: default_port 0 is fine. */
	expect("/tmp/x", 0, "unix:/tmp/x");
	/* The path is taken byte for byte, colons and all. */
	expect("unix:/tmp/a:80", 0, "unix:/tmp/a:80");
	expect("/", 0, "unix:/");

	memset(&ss, 0xa5, sizeof(ss));
	assert_int_equal(sockaddr_parse("unix:/run/lb.sock", 7778, &ss), 0);
	assert_int_equal(un->sun_family, AF_UNIX);
	assert_string_equal(un->sun_path, "/run/lb.sock");
	assert_int_equal(sockaddr_len((struct sockaddr *)&ss),
			 sizeof(struct sockaddr_un));
	/* The rest of out is zeroed, past the path's NUL and past sun_path. */
	for (size_t i = strlen(un->sun_path); i < sizeof(un->sun_path); i++)
		assert_int_equal(un->sun_path[i], 0);
	for (size_t i = sizeof(*un); i < sizeof(ss); i++)
		assert_int_equal(((unsigned char *)&ss)[i], 0);

	/* The longest path that fits: 107 bytes and the NUL. */
	char path[sizeof(un->sun_path) + 8];
	char text[sizeof(path) + 8];
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[sizeof(un->sun_path) - 1] = '\0';
	snprintf(text, sizeof(text), "unix:%s", path);
	expect(path, 0, text);
	/* One more byte does not fit, with or without "unix:". */
	path[sizeof(un->sun_path) - 1] = 'p';
	path[sizeof(un->sun_path)] = '\0';
	expect_err(path, 0, -ENAMETOOLONG);
	snprintf(text, sizeof(text), "unix:%s", path);
	expect_err(text, 0, -ENAMETOOLONG);

	/* Empty and relative paths, and "unix" as a host with a port. */
	expect_err("unix:", 9, -EINVAL);
	expect_err("unix:run/lb.sock", 9, -EINVAL);
	expect_err("unix:./lb.sock", 9, -EINVAL);
	expect_err("unix:@abstract", 9, -EINVAL);
	expect_err("unix:7778", 9, -EINVAL);
	/* Without "unix:" only a leading '/' makes a path; these are
	 * neither paths nor host names. */
	expect_err("./lb.sock", 9, -EINVAL);
	expect_err("run/lb.sock", 9, -EINVAL);
}

static void test_format_unix(void **state)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	char text[SOCKADDR_STRLEN];
	(void)state;

	strcpy(un.sun_path, "/run/strait/lb.sock");
	assert_int_equal(
	    sockaddr_format((struct sockaddr *)&un, text, sizeof(text)), 0);
	assert_string_equal(text, "unix:/run/strait/lb.sock");
	/* Exactly enough room ("unix:" 5 + 19 + NUL), then one byte short. */
	assert_int_equal(sockaddr_format((struct sockaddr *)&un, text, 25), 0);
	assert_int_equal(sockaddr_format((struct sockaddr *)&un, text, 24),
			 -ENOSPC);
	assert_string_equal(text, "unix:/run/strait/lb.soc");

	/* An unnamed socket, as getpeername() gives for a client's end. */
	memset(un.sun_path, 0, sizeof(un.sun_path));
	assert_int_equal(
	    sockaddr_format((struct sockaddr *)&un, text, sizeof(text)), 0);
	assert_string_equal(text, "unix:");

	/* A sun_path with no NUL is read to its end, never past it, and the
	 * longest text still fits SOCKADDR_STRLEN. */
	struct {
		struct sockaddr_un un;
		char after[8];
	} full;
	memset(&full, 'z', sizeof(full));
	full.un.sun_family = AF_UNIX;
	memset(full.un.sun_path, 'q', sizeof(full.un.sun_path));
	assert_int_equal(
	    sockaddr_format((struct sockaddr *)&full.un, text, sizeof(text)),
	    0);
	assert_int_equal(strlen(text), 5 + sizeof(full.un.sun_path));
	assert_null(strchr(text, 'z'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4),
	    cmocka_unit_test(test_ipv6),
	    cmocka_unit_test(test_ipv6_zone),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_rejected),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_unix),
	    cmocka_unit_test(test_format_unix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
