/* lib/announce: gratuitous ARP and unsolicited neighbour advertisements.
 *
 * The ARP payload (RFC 826), 28 bytes:
 *
 *   0          2          4     5     6          8
 *   +----------+----------+-----+-----+----------+
 *   | htype    | ptype    | hln | pln | oper     |
 *   | 1 (Eth.) | 0x0800   |  6  |  4  | 1 (req.) |
 *   +----------+----------+-----+-----+----------+
 *   8             14          18            24          28
 *   +-------------+-----------+-------------+-----------+
 *   | sender MAC  | sender IP | target MAC  | target IP |
 *   | mac         | addr      | zero        | addr      |
 *   +-------------+-----------+-------------+-----------+
 *
 * A request rather than a reply: RFC 5227 s. 3 prefers it, as some stacks
 * update their caches only from requests.
 *
 * The neighbour advertisement (RFC 4861 s. 4.4), 72 bytes:
 *
 *   0                    40     41     42      44       48             64
 *   +--------------------+------+------+-------+--------+--------------+
 *   | IPv6 header        | type | code | cksum | R S O  | target: addr |
 *   | addr -> ff02::1    | 136  |  0   |       | 0 0 1  |              |
 *   | next 58, hops 255  |      |      |       |        |              |
 *   +--------------------+------+------+-------+--------+--------------+
 *   64     65     66       72
 *   +------+------+--------+
 *   | 2    | 1    |  mac   |   option: target link-layer address
 *   +------+------+--------+
 *
 * A packet socket of type SOCK_DGRAM adds only the Ethernet header, so the
 * IPv6 header is ours to build, and with it the checksum's pseudo-header.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "announce.h"

#define ARP_LEN 28
#define IP6_LEN 40
#define NA_LEN 32 /* ICMPv6 header, flags, target, option */

#define ICMP6_NA 136
#define NA_OVERRIDE 0x20 /* in the first flags byte: R 0x80, S 0x40, O */
#define OPT_TARGET_LLADDR 2

static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 0x01};

int announce_build_arp(uint8_t *buf, size_t len, const uint8_t mac[6],
		       const struct cidr *addr)
{
	if (!addr || addr->family != AF_INET)
		return -EINVAL;
	if (len < ARP_LEN)
		return -ENOSPC;
	memset(buf, 0, ARP_LEN);
	buf[1] = 1; /* Ethernet */
	buf[2] = ETH_P_IP >> 8;
	buf[3] = ETH_P_IP & 0xff;
	buf[4] = 6;
	buf[5] = 4;
	buf[7] = 1; /* request */
	memcpy(buf + 8, mac, 6);
	memcpy(buf + 14, addr->addr, 4);
	memcpy(buf + 24, addr->addr, 4);
	return ARP_LEN;
}

/* The Internet checksum's running sum of n bytes, added to sum. */
static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int announce_build_na(uint8_t *buf, size_t len, const uint8_t mac[6],
		      const struct cidr *addr)
{
	uint8_t *icmp = buf + IP6_LEN;
	uint32_t sum;
	uint16_t ck;

	if (!addr || addr->family != AF_INET6)
		return -EINVAL;
	if (len < IP6_LEN + NA_LEN)
		return -ENOSPC;
	memset(buf, 0, IP6_LEN + NA_LEN);
	buf[0] = 0x60; /* version 6, no traffic class or flow label */
	buf[5] = NA_LEN;
	buf[6] = IPPROTO_ICMPV6;
	/* RFC 4861 s. 7.1.2: a receiver drops an NA whose hop limit is not
	 * 255, the proof that it was not forwarded. */
	buf[7] = 255;
	memcpy(buf + 8, addr->addr, 16);
	memcpy(buf + 24, all_nodes, 16);

	icmp[0] = ICMP6_NA;
	icmp[4] = NA_OVERRIDE;
	memcpy(icmp + 8, addr->addr, 16);
	icmp[24] = OPT_TARGET_LLADDR;
	icmp[25] = 1; /* in units of 8 bytes */
	memcpy(icmp + 26, mac, 6);

	/* Pseudo-header: source, destination, upper-layer length (32 bits)
	 * and next header (32 bits); both fit in their low byte here. */
	sum = sum16(0, buf + 8, 32);
	sum += NA_LEN + IPPROTO_ICMPV6;
	ck = fold(sum16(sum, icmp, NA_LEN));
	icmp[2] = ck >> 8;
	icmp[3] = ck & 0xff;
	return IP6_LEN + NA_LEN;
}

int announce_send(int fd, int ifindex, const uint8_t mac[6],
		  const struct cidr *addr)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t mcast[6] = {0x33, 0x33, 0, 0, 0, 1};
	struct sockaddr_ll to = {
	    .sll_family = AF_PACKET,
	    .sll_ifindex = ifindex,
	    .sll_halen = 6,
	};
	uint8_t buf[ANNOUNCE_MAX];
	ssize_t sent;
	int n;

	if (!addr || ifindex <= 0)
		return -EINVAL;
	if (addr->family == AF_INET) {
		n = announce_build_arp(buf, sizeof(buf), mac, addr);
		to.sll_protocol = htons(ETH_P_ARP);
		memcpy(to.sll_addr, bcast, 6);
	} else {
		/* ff02::1 maps to 33:33 and its low 32 bits (RFC 2464). */
		n = announce_build_na(buf, sizeof(buf), mac, addr);
		to.sll_protocol = htons(ETH_P_IPV6);
		memcpy(to.sll_addr, mcast, 6);
	}
	if (n < 0)
		return n;
	sent =
	    sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to));
	if (sent < 0)
		return -errno;
	/* A packet socket sends a datagram whole or not at all. */
	return sent == n ? 0 : -EIO;
}
