/* Address translation of one IP packet, in place: strait-tun's DNAT and
 * SNAT, and its TCP MSS clamp (docs/tun.md, "Translation"). Pure; no I/O,
 * no allocation, no state.
 *
 * p is one whole IPv4 or IPv6 packet (no link header, no virtio_net_hdr)
 * of len bytes, read with lib/packet.h's parser and so with its corners
 * (IPv4 options, IPv6 extension headers, the copy range); unlike the
 * parser these need the packet whole: len below the packet's own length
 * is -EINVAL. Bytes past that length are not the packet's: never read,
 * never changed. Addresses are alen bytes in network order: 4 for an IPv4
 * packet, 16 for an IPv6 one (else -EAFNOSUPPORT); they may point into p.
 *
 * Checksums are updated incrementally (lib/csum.h), never verified: a
 * valid checksum stays valid, a wrong one stays wrong by the same amount,
 * and the bytes a checksum covers need not all be at hand (a fragment, a
 * quoted packet cut short). The updated fields:
 *
 *   IPv4 header checksum      always, for an IPv4 address change
 *   TCP (16), UDP (6)         pseudo-header: both addresses
 *   UDP-Lite (6), DCCP (6)    the same pseudo-header, the same update
 *   ICMPv6 (2)                pseudo-header as well (RFC 8200 8.1)
 *   ICMPv4 (2)                no pseudo-header: only for quote changes
 *
 * A zero UDP checksum means "none" and stays zero (IPv4, and IPv6 as Linux
 * treats it: an RFC 6936 tunnel's zero is not ours to fill in); a full
 * UDP result of 0 is written as 0xffff. SCTP (CRC32c without addresses),
 * ESP, GRE and the rest have nothing that covers the addresses.
 *
 * ICMP errors. An ICMP destination unreachable (including fragmentation
 * needed), time exceeded or parameter problem, or an ICMPv6 destination
 * unreachable, packet too big, time exceeded or parameter problem, quotes
 * the start of the packet that caused it, and that packet went the other
 * way: P's error about a reply S -> P travels P -> S (and is DNATed to
 * I), a router's or I's error about P -> I travels back to P (and is
 * SNATed). So DNAT also rewrites the quoted packet's source, SNAT its
 * destination, each only where it equals old_addr, and then fixes, all
 * inside the ICMP message and so also in the ICMP checksum:
 *
 *   the quoted IPv4 header checksum,
 *   the quoted L4 checksum when its 2 bytes are in the quote (TCP, UDP
 *     unless 0, UDP-Lite, DCCP, ICMPv6; the checksum of the whole quoted
 *     packet, updated as such),
 *   the ICMP or ICMPv6 checksum.
 *
 * A quote that is not an IP packet of the outer family (lib/packet.h
 * refuses it, e.g. cut inside its IP header) is left alone; only the
 * outer packet is translated. Source quench and redirect are not read as
 * errors (RFC 6633 retired the first; the second is about the link it
 * came on), nor is ICMPv4 in IPv6 or ICMPv6 in IPv4.
 *
 * L4 headers. The outer packet's must be whole as far as its fixed part
 * goes (TCP 20 bytes, UDP and UDP-Lite 8, DCCP 12, ICMP and ICMPv6 8),
 * else -EINVAL; in a quoted packet, only the checksum field's 2 bytes
 * count, and without them that checksum is left alone (it cannot be
 * checked anyway: the quote is the start of the packet).
 *
 * Fragments. A non-first fragment has no L4 header: only the IP header
 * changes. A first fragment must hold the L4 header as above (a tiny
 * first fragment is -EINVAL); its checksum covers the whole datagram, and
 * the update stays right for it.
 *
 * The mode: how the outer L4 checksum stands (virtio's NEEDS_CSUM gives
 * TUN_CSUM_PARTIAL). Only TCP and UDP with their header at hand may be
 * partial; PARTIAL with anything else (ICMP, a non-first fragment, another
 * protocol) is -EINVAL. A partial field stays partial, updated for the new
 * pseudo-header (lib/csum.h says what partial means). Checksums inside an
 * ICMP error are always full.
 *
 * Errors. Every function checks everything before it writes anything: on
 * a negative return the packet is unchanged.
 *
 *   -EINVAL        malformed or truncated: lib/packet.h refuses the
 *                  packet, len is below its length, its L4 header is cut
 *                  short, or PARTIAL where it cannot be
 *   -EAFNOSUPPORT  alen is not the packet's family's
 *   -ENOENT        no address to rewrite equals old_addr
 *   -EOPNOTSUPP    the destination to rewrite is not the final one: an
 *                  IPv6 routing header with segments left (the L4
 *                  pseudo-header then holds another address, and a
 *                  service address is no waypoint)
 *
 * An IPv6 Home Address destination option (Mobile IPv6) is not looked
 * for; a packet with one keeps a stale L4 checksum.
 */
#ifndef STRAIT_TUN_NAT_H
#define STRAIT_TUN_NAT_H

#include <stddef.h>
#include <stdint.h>

/* How the outer L4 checksum field stands (see above). */
enum tun_csum {
	TUN_CSUM_FULL,
	TUN_CSUM_PARTIAL,
};

/* DNAT: rewrites the destination old_addr -> new_addr. The outer
 * destination must equal old_addr (else -ENOENT); in an ICMP error the
 * quoted source is rewritten too when it equals old_addr. Returns the
 * number of addresses rewritten, 1 or 2, or a negative errno (above). */
int tun_nat_dnat(uint8_t *p, size_t len, const uint8_t *old_addr,
		 const uint8_t *new_addr, size_t alen, enum tun_csum mode);

/* SNAT: rewrites the source old_addr -> new_addr: the outer source where
 * it equals old_addr, and in an ICMP error the quoted destination where
 * it equals old_addr. Either may match alone: an error from a router on
 * the way has the router as its outer source, and only its quote
 * changes. Returns the number of addresses rewritten, 1 or 2, -ENOENT
 * when neither matched (nothing changed), or another negative errno. */
int tun_nat_snat(uint8_t *p, size_t len, const uint8_t *old_addr,
		 const uint8_t *new_addr, size_t alen, enum tun_csum mode);

/* MSS clamp: in a TCP segment with SYN set (SYN or SYN-ACK), lowers every
 * MSS option above mss to mss, and fixes a full TCP checksum (a partial
 * one does not cover the option). Returns 1 if an option changed, 0 if
 * none did, or -EINVAL for a packet lib/packet.h refuses, len below its
 * length, or a TCP header or option list that is malformed (data offset
 * below 5 or past the packet, an option length below 2 or past the
 * header); then nothing changed.
 *
 * Not a TCP segment with its header at hand (another protocol, a non-
 * first fragment, an ICMP error quoting a SYN), or no SYN: 0. An MSS
 * option whose length is not 4 is not an MSS (Linux ignores it too) and
 * is skipped. A SYN without an MSS option keeps none: its peer then
 * assumes 536 (IPv4) or 1220 (IPv6), below the clamp of any tunnel MTU
 * that IPv6 allows (1280 - 60). */
int tun_mss_clamp(uint8_t *p, size_t len, uint16_t mss, enum tun_csum mode);

#endif
