/* The announcement builders: gratuitous ARP and unsolicited neighbour
 * advertisement bytes, field by field, and the ICMPv6 checksum against a
 * computation written here from RFC 8200 s. 8.1 (not the module's code).
 * announce_send() on real links is tested in test_rtnl.c, which has the
 * namespaces.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "announce.h"
#include "cidr.h"

static const uint8_t mac[6] = {0x02, 0x5a, 0x00, 0xfe, 0x10, 0x01};

static struct cidr ip(const char *s)
{
	struct cidr c;

	assert_int_equal(cidr_parse_ip(s, &c), 0);
	return c;
}

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void test_arp(void **state)
{
	struct cidr a = ip("198.18.0.77");
	static const uint8_t a4[4] = {198, 18, 0, 77}, zero[6];
	uint8_t buf[ANNOUNCE_MAX];

	(void)state;
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(announce_build_arp(buf, sizeof(buf), mac, &a), 28);
	assert_int_equal(be16(buf + 0), 1);	 /* hardware: Ethernet */
	assert_int_equal(be16(buf + 2), 0x0800); /* protocol: IPv4 */
	assert_int_equal(buf[4], 6);
	assert_int_equal(buf[5], 4);
	assert_int_equal(be16(buf + 6), 1); /* a request */
	assert_memory_equal(buf + 8, mac, 6);
	assert_memory_equal(buf + 14, a4, 4);
	assert_memory_equal(buf + 18, zero, 6);
	assert_memory_equal(buf + 24, a4, 4);
	/* Nothing written past the payload. */
	assert_int_equal(buf[28], 0xaa);
	/* The prefix length plays no part. */
	a.len = 24;
	assert_int_equal(announce_build_arp(buf, 28, mac, &a), 28);
	assert_memory_equal(buf + 24, a4, 4);
}

/* The ICMPv6 checksum, from the RFC: the one's complement of the one's
 * complement sum of the pseudo-header (source, destination, 32-bit
 * length, three zero bytes, next header) and the message with its
 * checksum field zero. Built as one byte string, summed word by word. */
static uint16_t icmp6_checksum(const uint8_t *src, const uint8_t *dst,
			       const uint8_t *msg, size_t len)
{
	uint8_t pseudo[40 + 64] = {0};
	uint64_t sum = 0;
	size_t n = 40 + len;

	assert_true(len <= 64 && len % 2 == 0);
	memcpy(pseudo, src, 16);
	memcpy(pseudo + 16, dst, 16);
	pseudo[32] = (uint8_t)(len >> 24);
	pseudo[33] = (uint8_t)(len >> 16);
	pseudo[34] = (uint8_t)(len >> 8);
	pseudo[35] = (uint8_t)len;
	pseudo[39] = 58;
	memcpy(pseudo + 40, msg, len);
	pseudo[40 + 2] = pseudo[40 + 3] = 0;
	for (size_t i = 0; i < n; i += 2)
		sum += be16(pseudo + i);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void check_na(const char *addr)
{
	static const uint8_t all_nodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0,
					      0,    0,	  0, 0, 0, 0, 0, 1};
	static const uint8_t zero[3];
	struct cidr a = ip(addr);
	uint8_t buf[ANNOUNCE_MAX];
	const uint8_t *icmp = buf + 40;

	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(announce_build_na(buf, sizeof(buf), mac, &a), 72);
	/* IPv6 header. */
	assert_int_equal(buf[0], 0x60);
	assert_memory_equal(buf + 1, zero, 3);
	assert_int_equal(be16(buf + 4), 32); /* payload length */
	assert_int_equal(buf[6], 58);	     /* ICMPv6 */
	assert_int_equal(buf[7], 255);	     /* hop limit */
	assert_memory_equal(buf + 8, a.addr, 16);
	assert_memory_equal(buf + 24, all_nodes, 16);
	/* Neighbour advertisement: R=0, S=0, O=1, reserved zero. */
	assert_int_equal(icmp[0], 136);
	assert_int_equal(icmp[1], 0);
	assert_int_equal(icmp[4], 0x20);
	assert_memory_equal(icmp + 5, zero, 3);
	assert_memory_equal(icmp + 8, a.addr, 16);
	/* Target link-layer address option, 1 unit of 8 bytes. */
	assert_int_equal(icmp[24], 2);
	assert_int_equal(icmp[25], 1);
	assert_memory_equal(icmp + 26, mac, 6);
	assert_int_equal(buf[72], 0xaa);

	assert_int_equal(be16(icmp + 2),
			 icmp6_checksum(buf + 8, buf + 24, icmp, 32));
}

static void test_na(void **state)
{
	(void)state;
	check_na("fd00:5::1");
	/* All ones and all zeros: the sum's carries and a checksum that
	 * folds to the edges. */
	check_na("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	check_na("fe80::5a:ff:fe00:1");
	check_na("::");
}

/* The receiver's check: the sum over pseudo-header and message, checksum
 * included, folds to all ones. A flipped bit must break it, or the
 * comparison above could agree with a wrong builder by accident. */
static unsigned receiver_sum(const uint8_t *pkt)
{
	uint32_t sum = 32 + 58; /* length and next header */

	for (size_t i = 8; i < 72; i += 2) /* addresses, then the message */
		sum += be16(pkt + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static void test_na_checksum_verifies(void **state)
{
	struct cidr a = ip("fd00:1234:5678::9abc");
	uint8_t buf[ANNOUNCE_MAX];

	(void)state;
	assert_int_equal(announce_build_na(buf, sizeof(buf), mac, &a), 72);
	assert_int_equal(receiver_sum(buf), 0xffff);
	buf[40 + 30] ^= 0x01; /* the MAC's 5th byte */
	assert_int_not_equal(receiver_sum(buf), 0xffff);
}

static void test_refusals(void **state)
{
	struct cidr v4 = ip("198.18.0.1"), v6 = ip("fd00::1");
	uint8_t buf[ANNOUNCE_MAX];

	(void)state;
	assert_int_equal(announce_build_arp(buf, sizeof(buf), mac, &v6),
			 -EINVAL);
	assert_int_equal(announce_build_na(buf, sizeof(buf), mac, &v4),
			 -EINVAL);
	assert_int_equal(announce_build_arp(buf, sizeof(buf), mac, NULL),
			 -EINVAL);
	assert_int_equal(announce_build_na(buf, sizeof(buf), mac, NULL),
			 -EINVAL);
	v6.family = AF_UNSPEC;
	assert_int_equal(announce_build_na(buf, sizeof(buf), mac, &v6),
			 -EINVAL);
	assert_int_equal(announce_build_arp(buf, 27, mac, &v4), -ENOSPC);
	assert_int_equal(
	    announce_build_na(buf, 71, mac, &(struct cidr){AF_INET6, {0}, 128}),
	    -ENOSPC);
	assert_true(ANNOUNCE_MAX >= 72);
	/* announce_send checks before it sends: no socket needed. */
	assert_int_equal(announce_send(-1, 1, mac, NULL), -EINVAL);
	assert_int_equal(announce_send(-1, 0, mac, &v4), -EINVAL);
	v6.family = AF_UNSPEC;
	assert_int_equal(announce_send(-1, 1, mac, &v6), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_arp),
	    cmocka_unit_test(test_na),
	    cmocka_unit_test(test_na_checksum_verifies),
	    cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
