/* A parsed packet: what the load balancer needs to know of one packet
 * NFQUEUE hands it, read in place (no copy). Pure; no I/O.
 *
 * The parser reads IPv4 (with options) and IPv6 (with extension headers:
 * hop-by-hop, routing, destination options, fragment; AH is walked, ESP
 * ends the walk), then the L4 header of TCP, UDP, SCTP, ICMP and ICMPv6.
 *
 * ICMP errors (destination unreachable incl. fragmentation needed, packet
 * too big, time exceeded, parameter problem) carry the start of the packet
 * that caused them. For those the parser fills the flow fields from that
 * inner packet, turned around: the inner packet went from a target (VIP) to
 * a client, so its reverse is the client->VIP flow the error belongs to,
 * and the LB sends the error where that flow goes (path MTU discovery
 * through the LB).
 *
 * A copy range smaller than the packet is normal (NFQUEUE copies only the
 * headers): total_len says how long the packet is, l4len how many L4 bytes
 * are at hand.
 *
 * Corners, decided here so that every user reads them the same way:
 * - Bytes past the packet's own length (IPv4 total length, IPv6 40 +
 *   payload length) are not the packet's and are ignored. An IPv6 payload
 *   length of 0 (jumbogram, BIG TCP) means "as long as the bytes at hand";
 *   an IPv4 total length of 0 (IPv4 BIG TCP) is refused.
 * - At most PKT_MAX_EXTHDRS IPv6 extension headers are walked; a
 *   packet with more is refused. So is one with two fragment headers.
 * - An IPv6 atomic fragment (fragment header, offset 0, no M flag) is a
 *   whole datagram: fragment is false.
 * - Only ICMP in IPv4 and ICMPv6 in IPv6 are read as ICMP; the other pairs
 *   are an opaque protocol.
 * - An ICMP error counts as a flow's error (icmp_error) only when the
 *   quoted packet is of the same family, parses as an IP packet, is not a
 *   non-first fragment, and holds what the flow needs: the 4 port bytes
 *   of TCP, UDP or SCTP, or the 6 bytes up to an echo's identifier (an
 *   error about a ping). Any other quoted protocol gives the addresses
 *   alone. A quoted packet that fails this (truncated, malformed, an ICMP
 *   error about an ICMP error) is not an error: the packet is then a plain
 *   ICMP packet with the outer addresses, icmp_error false, and is never
 *   refused for it.
 */
#ifndef STRAIT_PACKET_H
#define STRAIT_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most IPv6 extension headers walked before a packet is refused. */
#define PKT_MAX_EXTHDRS 16

struct pkt {
	int family;	 /* AF_INET or AF_INET6 */
	uint8_t proto;	 /* IPPROTO_TCP, _UDP, _SCTP, _ICMP, _ICMPV6, other */
	uint8_t src[16]; /* network order; IPv4 in the first 4 bytes */
	uint8_t dst[16];
	/* Host order. The ports with has_ports; an echo's identifier in
	 * both with icmp_echo; otherwise 0. */
	uint16_t sport;
	uint16_t dport;
	/* TCP, UDP, SCTP with their first 4 L4 bytes at hand (for an ICMP
	 * error: the quoted packet's). ICMP echo is not "ports". */
	bool has_ports;
	/* The L4 header (for an ICMP error: the outer ICMP header), or NULL
	 * for a non-first fragment. Points into data, also when l4len is 0
	 * (the copy range ends at the IP header). */
	const uint8_t *l4;
	size_t l4len;	    /* L4 bytes at hand from l4, within the packet */
	uint32_t total_len; /* the packet's length per its IP header */

	/* Fragments: set for every fragment of a fragmented datagram. */
	bool fragment;	     /* offset != 0 or more fragments */
	bool first_fragment; /* offset 0: carries the L4 header */
	bool more_fragments;
	uint32_t frag_id;     /* IPv4 identification or IPv6 fragment id;
			       * 0 when not a fragment */
	uint16_t frag_offset; /* in 8-byte units */

	/* ICMP: type and code of the outer ICMP/ICMPv6 header. */
	uint8_t icmp_type, icmp_code;
	/* An ICMP error whose flow fields come from the inner packet,
	 * reversed (see above). proto, addresses and ports are the flow's. */
	bool icmp_error;
	/* ICMP echo request/reply: the identifier, as sport and dport, so
	 * that a ping session is one flow. With icmp_error: the error is
	 * about a ping, and the identifier is that ping's. */
	bool icmp_echo;
};

/* Parses len bytes at data. Returns 0 with *p filled, or -EINVAL for a
 * malformed or truncated IP header (a version that is not 4 or 6, a header
 * length out of range, extension headers that run past len), in which
 * case *p says nothing. L4 bytes missing past the copy range are not an
 * error: has_ports and l4len say what is there. Pure: reads only
 * data[0..len), allocates nothing, keeps no pointer but p->l4 (into
 * data). */
int pkt_parse(const uint8_t *data, size_t len, struct pkt *p);

#endif
