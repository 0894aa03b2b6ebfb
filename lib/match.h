/* The match syntax of flows: port ranges, protocols and byte matches.
 *
 * Pure text parsers shared by NSP, which validates a configuration with
 * them and stores the canonical text, and the load balancer, which parses
 * that text again into the structs below. No I/O, no allocation; every
 * parser returns 0 or -EINVAL and never writes *out on failure.
 *
 * Grammar (spaces and tabs are allowed where "_" is written):
 *
 *   port-range  = port | port "-" port | "any"
 *   port        = "0" .. "65535" in decimal, without a sign or leading zeros
 *   protocol    = "tcp" | "udp" | "sctp" | "icmp" | "icmpv6" (any case)
 *   byte-match  = _ l4 _ "[" _ offset _ ":" _ len _ "]" _ [ "&" _ num _ ]
 *                 "=" _ num _ [ "&" _ num _ ]
 *   l4          = "tcp" | "udp" | "sctp" | "icmp" | "icmpv6" (lower case)
 *   offset      = decimal, offset + len <= 65535
 *   len         = "1" | "2" | "4"
 *   num         = decimal | "0x" hex, and it must fit in len bytes
 *
 * A byte match reads len bytes in network byte order at offset bytes from
 * the start of the L4 header (the TCP, UDP, SCTP, ICMP or ICMPv6 header) and
 * matches when (bytes & mask) == value. The mask is optional and may stand
 * before the "=" (Meridio's and nfqlb's form, "tcp[13:1] & 0x12 = 0x2") or
 * after the value ("tcp[13:1] = 0x2 & 0x12"), but only once; without it
 * every bit counts. IP-header-relative matches ("ip[...]", "ip6[...]") are
 * not supported: Meridio does not have them, and an L3 offset means
 * different bytes in IPv4 and IPv6 and behind IPv6 extension headers.
 *
 * Examples: "80", "1024-65535", "tcp[2:2] = 4002", "udp[8:4]&0xffff0000=0x1".
 */
#ifndef STRAIT_MATCH_H
#define STRAIT_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The IANA protocol numbers, so a classifier can compare them with the
 * packet's next header directly. */
enum match_proto {
	MATCH_PROTO_ICMP = 1,
	MATCH_PROTO_TCP = 6,
	MATCH_PROTO_UDP = 17,
	MATCH_PROTO_ICMPV6 = 58,
	MATCH_PROTO_SCTP = 132,
};

/* An inclusive range of ports, lo <= hi. */
struct port_range {
	uint16_t lo, hi;
};

/* Bytes [offset, offset + len) of the L4 header, compared under a mask. */
struct byte_match {
	enum match_proto proto;
	uint16_t offset;
	uint8_t len;	/* 1, 2 or 4 */
	uint32_t value; /* value & ~mask == 0 */
	uint32_t mask;	/* nonzero, fits in len bytes */
};

/* Longest canonical text of each, with its NUL. */
#define MATCH_PORT_RANGE_STRLEN 12 /* "65535-65535" */
#define MATCH_BYTE_STRLEN 48 /* "icmpv6[65531:4] & 0xfffffffe = 4294967294" */

/* Parses a port range. "any" is 0-65535. On failure *why, when why is not
 * NULL, receives a short static reason ("first port above last"), or NULL
 * when the text is simply not a number within 0-65535.
 * Returns 0 or -EINVAL. */
int match_port_range_parse(const char *s, struct port_range *out,
			   const char **why);

/* Writes the canonical text: "80" when lo == hi, else "lo-hi".
 * Returns 0 or -ENOSPC. */
int match_port_range_format(const struct port_range *r, char *buf, size_t size);

/* True when lo <= port <= hi. */
static inline bool match_port_range_contains(const struct port_range *r,
					     uint16_t port)
{
	return port >= r->lo && port <= r->hi;
}

/* Parses a protocol name in any case. Returns 0 or -EINVAL. */
int match_proto_parse(const char *s, enum match_proto *out);

/* The canonical lower-case name, or NULL for a value outside the enum. */
const char *match_proto_name(enum match_proto p);

/* True for the protocols whose header starts with two 16-bit ports
 * (TCP, UDP, SCTP), so that port ranges can apply. */
bool match_proto_has_ports(enum match_proto p);

/* Parses a byte match. On failure *why, when why is not NULL, receives a
 * short static reason ("length must be 1, 2 or 4").
 * Returns 0 or -EINVAL. */
int match_byte_parse(const char *s, struct byte_match *out, const char **why);

/* Writes the canonical text: "tcp[2:2] = 4002" when the mask covers all len
 * bytes, else "tcp[13:1] & 0x12 = 2" (mask in hex, value in decimal).
 * Parsing it gives back an equal struct. Returns 0 or -ENOSPC. */
int match_byte_format(const struct byte_match *m, char *buf, size_t size);

/* Tests a byte match against an L4 header and what follows it, l4len bytes
 * at l4. Bytes beyond l4len never match. The protocol is not checked: the
 * caller has already matched it. */
bool match_byte_test(const struct byte_match *m, const uint8_t *l4,
		     size_t l4len);

#endif
