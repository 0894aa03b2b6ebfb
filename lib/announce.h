/* Telling a segment that an address has (new) hardware: gratuitous ARP for
 * IPv4, unsolicited neighbour advertisement with the override flag for
 * IPv6 (RFC 5227 s. 3, RFC 4861 s. 7.2.6). strait-proxy sends them after
 * it creates or replaces a link, so neighbour caches on the bridge take the
 * new MAC at once instead of after their timeout (docs/proxy.md).
 *
 * The builders are pure (unit-tested); announce_send() is the thin I/O.
 */
#ifndef STRAIT_ANNOUNCE_H
#define STRAIT_ANNOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

#define ANNOUNCE_MAX 128 /* bytes of the largest frame payload built */

/* An ARP request (opcode 1) with sender and target IP both addr and sender
 * MAC mac, target MAC zero: the frame payload after the Ethernet header
 * (28 bytes). Returns its length, -EINVAL when addr is not IPv4, or
 * -ENOSPC when len is too small (ANNOUNCE_MAX always suffices). */
int announce_build_arp(uint8_t *buf, size_t len, const uint8_t mac[6],
		       const struct cidr *addr);

/* An IPv6 packet (hop limit 255, from addr to ff02::1) carrying an ICMPv6
 * neighbour advertisement for addr, flags override (and not solicited),
 * with the target link-layer address option mac and a correct checksum.
 * Returns its length (72), -EINVAL when addr is not IPv6, or -ENOSPC when
 * len is too small. */
int announce_build_na(uint8_t *buf, size_t len, const uint8_t mac[6],
		      const struct cidr *addr);

/* Sends the announcement for addr out of ifindex, whose MAC is mac, to the
 * Ethernet broadcast (ARP) or 33:33:00:00:00:01 (NA), on fd: a socket
 * (AF_PACKET, SOCK_DGRAM, 0) of the link's namespace (netns_socket()).
 * Returns 0 or -errno. */
int announce_send(int fd, int ifindex, const uint8_t mac[6],
		  const struct cidr *addr);

#endif
