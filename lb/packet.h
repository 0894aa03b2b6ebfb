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
 */
#ifndef STRAIT_LB_PACKET_H
#define STRAIT_LB_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lb_packet {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t proto;       /* IPPROTO_TCP, _UDP, _SCTP, _ICMP, _ICMPV6, other */
	uint8_t src[16];     /* network order; IPv4 in the first 4 bytes */
	uint8_t dst[16];
	uint16_t sport;      /* host order; 0 without ports (see has_ports) */
	uint16_t dport;
	bool has_ports;      /* TCP, UDP, SCTP with their first 4 L4 bytes */
	const uint8_t *l4;   /* the L4 header, or NULL (a non-first fragment) */
	size_t l4len;        /* L4 bytes at hand from l4 */
	uint32_t total_len;  /* the packet's length per its IP header */

	/* Fragments: set for every fragment of a fragmented datagram. */
	bool fragment;
	bool first_fragment; /* offset 0: carries the L4 header */
	bool more_fragments;
	uint32_t frag_id;    /* IPv4 identification or IPv6 fragment id */
	uint16_t frag_offset; /* in 8-byte units */

	/* ICMP: type and code of the outer ICMP/ICMPv6 header. */
	uint8_t icmp_type, icmp_code;
	/* An ICMP error whose flow fields come from the inner packet,
	 * reversed (see above). proto, addresses and ports are the flow's. */
	bool icmp_error;
	/* ICMP echo request/reply: the identifier, as sport and dport, so
	 * that a ping session is one flow. */
	bool icmp_echo;
};

/* Parses len bytes at data. Returns 0 with *p filled, or -EINVAL for a
 * malformed or truncated IP header (a version that is not 4 or 6, a header
 * length out of range, extension headers that run past len), in which
 * case *p says nothing. L4 bytes missing past the copy range are not an
 * error: has_ports and l4len say what is there. */
int lb_packet_parse(const uint8_t *data, size_t len, struct lb_packet *p);

#endif
