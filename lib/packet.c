/* The packet parser (contract in packet.h).
 *
 * Every read is preceded by a check against `end`, the lesser of the bytes
 * at hand and the packet's own length, so a short copy range, a lying
 * length field or a quoted packet cut short inside an ICMP error can never
 * take a read past the buffer. The same IP-layer walk (ip_parse) serves the
 * outer packet and the packet quoted in an ICMP error; only what is done
 * with the result differs.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "bytes.h"
#include "packet.h"

/* IPv4 header (RFC 791); the parser reads the fields marked *.
 *
 *    0                   1                   2                   3
 *   +-------+-------+---------------+-------------------------------+
 *   |*Ver=4 |*IHL   |      TOS      |         *Total length         |
 *   +-------+-------+---------------+-----+-------------------------+
 *   |        *Identification        |*Flg | *Fragment offset (x8)   |
 *   +---------------+---------------+-----+-------------------------+
 *   |      TTL      |   *Protocol   |       Header checksum         |
 *   +---------------+---------------+-------------------------------+
 *   |                       *Source address                         |
 *   |                    *Destination address                       |
 *   +---------------------------------------------------------------+
 *   |          Options (IHL - 5 words, skipped unread)              |
 *   +---------------------------------------------------------------+
 *   Flg: reserved, DF, MF (0x2000 of the 16-bit word).
 */
#define IPV4_HDR_MIN 20
#define IPV4_MF 0x2000
#define IPV4_OFFSET 0x1fff

/* IPv6 header (RFC 8200): 40 bytes, then a chain of extension headers.
 *
 *   +-------+---------------+---------------------------------------+
 *   |*Ver=6 | Traffic class |              Flow label               |
 *   +-------+---------------+-------+---------------+---------------+
 *   |       *Payload length         | *Next header  |   Hop limit   |
 *   +-------------------------------+---------------+---------------+
 *   |              *Source address (16 bytes)                       |
 *   |              *Destination address (16 bytes)                  |
 *   +---------------------------------------------------------------+
 *
 * Hop-by-hop (0), routing (43) and destination options (60) share a
 * prefix, and their length counts 8-byte units beyond the first:
 *
 *   +---------------+---------------+-------------- ... ------------+
 *   |  Next header  | Hdr ext len   |  (hdr ext len + 1) * 8 - 2    |
 *   +---------------+---------------+-------------- ... ------------+
 *
 * AH (51, RFC 4302) has the same prefix, but its length counts 4-byte
 * units beyond the first two: (payload len + 2) * 4.
 *
 * Fragment (44) is always 8 bytes:
 *
 *   +---------------+---------------+-------------------------+-+-+-+
 *   |  Next header  |   Reserved    |  Fragment offset (x8)   |Res|M|
 *   +---------------+---------------+-------------------------+---+-+
 *   |                        Identification                        |
 *   +---------------------------------------------------------------+
 */
#define IPV6_HDR_LEN 40
#define IPV6_FRAG_LEN 8
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_DEST 60

/* ICMP and ICMPv6 share the first 8 bytes' shape; for the errors read
 * here the quoted packet starts right after them.
 *
 *   +---------------+---------------+-------------------------------+
 *   |     Type      |     Code      |           Checksum            |
 *   +---------------+---------------+-------------------------------+
 *   |  echo: identifier, sequence / error: unused, MTU or pointer   |
 *   +---------------------------------------------------------------+
 *   |  error: as much of the offending packet as fits ...           |
 */
#define ICMP_HDR_LEN 8
#define ICMP_ECHO_ID_END 6 /* bytes needed to read the identifier */

#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PKT_TOOBIG 2
#define ICMPV6_TIME_EXCEED 3
#define ICMPV6_PARAMPROB 4
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY 129

/* TCP, UDP and SCTP all open with source and destination port. */
#define PORTS_LEN 4

/* The IP layer of one packet: where its L4 starts and what it says. */
struct ip {
	int family;
	uint8_t proto; /* the upper-layer protocol after any extensions */
	const uint8_t *src, *dst;
	size_t l4off; /* L4 header, or a non-first fragment's data */
	size_t end;   /* min(bytes at hand, the packet's own length) */
	uint32_t total_len;
	bool fragment, more_fragments;
	uint16_t frag_offset;
	uint32_t frag_id;
};

static int ipv4(const uint8_t *d, size_t len, struct ip *ip)
{
	if (len < IPV4_HDR_MIN)
		return -EINVAL;
	size_t ihl = (size_t)(d[0] & 0x0f) * 4;
	if (ihl < IPV4_HDR_MIN || ihl > len)
		return -EINVAL;
	/* A total length of 0 is what IPv4 BIG TCP writes into packets
	 * over 64 KB; it only happens if the host raises
	 * gro_ipv4_max_size, and the packet cannot be told from a broken
	 * one here, so it is refused like any length below the header. */
	uint16_t tot = get_be16(d + 2);
	if (tot < ihl)
		return -EINVAL;
	uint16_t frag = get_be16(d + 6);

	ip->family = AF_INET;
	ip->proto = d[9];
	ip->src = d + 12;
	ip->dst = d + 16;
	ip->l4off = ihl;
	ip->end = len < tot ? len : tot;
	ip->total_len = tot;
	ip->frag_offset = frag & IPV4_OFFSET;
	ip->more_fragments = frag & IPV4_MF;
	ip->fragment = ip->more_fragments || ip->frag_offset;
	ip->frag_id = ip->fragment ? get_be16(d + 4) : 0;
	return 0;
}

/* Walks the extension headers from the fixed header on. The walk ends at
 * the first header it does not know as an extension (the upper layer,
 * ESP whose contents are encrypted, no-next-header 59, or anything
 * unknown), or after a fragment header with a non-zero offset: what
 * follows that is the middle of the datagram, not headers. */
static int ipv6(const uint8_t *d, size_t len, struct ip *ip)
{
	if (len < IPV6_HDR_LEN)
		return -EINVAL;
	size_t plen = get_be16(d + 4);
	/* A payload length of 0 with more than the fixed header is a
	 * jumbogram or a BIG TCP packet that the kernel hands up whole;
	 * its length is then the bytes at hand. */
	size_t total = IPV6_HDR_LEN + plen;
	if (plen == 0 && len > IPV6_HDR_LEN)
		total = len > UINT32_MAX ? UINT32_MAX : len;

	ip->family = AF_INET6;
	ip->src = d + 8;
	ip->dst = d + 24;
	ip->end = len < total ? len : total;
	ip->total_len = (uint32_t)total;

	uint8_t nh = d[6];
	size_t off = IPV6_HDR_LEN;
	bool seen_frag = false;
	for (unsigned int n = 0;; n++) {
		size_t hlen;

		switch (nh) {
		case NEXTHDR_HOP:
		case NEXTHDR_ROUTING:
		case NEXTHDR_DEST:
		case NEXTHDR_AUTH:
			if (ip->end - off < 2)
				return -EINVAL;
			if (nh == NEXTHDR_AUTH)
				hlen = ((size_t)d[off + 1] + 2) * 4;
			else
				hlen = ((size_t)d[off + 1] + 1) * 8;
			break;
		case NEXTHDR_FRAGMENT:
			hlen = IPV6_FRAG_LEN;
			break;
		default:
			goto upper;
		}
		/* The cap bounds the work a crafted packet can cause; real
		 * stacks send a handful at most (RFC 8200 section 4.1). */
		if (n == PKT_MAX_EXTHDRS || hlen > ip->end - off)
			return -EINVAL;
		if (nh == NEXTHDR_FRAGMENT) {
			/* Two fragment headers leave no single answer to
			 * which datagram this belongs to. */
			if (seen_frag)
				return -EINVAL;
			seen_frag = true;
			uint16_t fo = get_be16(d + off + 2);
			ip->frag_offset = fo >> 3;
			ip->more_fragments = fo & 1;
			/* An atomic fragment (offset 0, no M, RFC 6946) is
			 * a whole datagram: nothing to reassemble. */
			ip->fragment = ip->frag_offset || ip->more_fragments;
			ip->frag_id = ip->fragment ? get_be32(d + off + 4) : 0;
			if (ip->frag_offset) {
				nh = d[off];
				off += hlen;
				goto upper;
			}
		}
		nh = d[off];
		off += hlen;
	}
upper:
	ip->proto = nh;
	ip->l4off = off;
	return 0;
}

static int ip_parse(const uint8_t *d, size_t len, struct ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (len == 0)
		return -EINVAL;
	switch (d[0] >> 4) {
	case 4:
		return ipv4(d, len, ip);
	case 6:
		return ipv6(d, len, ip);
	default:
		return -EINVAL;
	}
}

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_SCTP;
}

/* The ICMP protocol of a family: ICMPv4 inside IPv6 (or the reverse) is
 * nobody's ICMP and is left as an opaque protocol. */
static bool is_icmp(int family, uint8_t proto)
{
	return family == AF_INET ? proto == IPPROTO_ICMP
				 : proto == IPPROTO_ICMPV6;
}

static bool is_echo(int family, uint8_t type)
{
	if (family == AF_INET)
		return type == ICMP_ECHO || type == ICMP_ECHOREPLY;
	return type == ICMPV6_ECHO_REQUEST || type == ICMPV6_ECHO_REPLY;
}

static bool is_error(int family, uint8_t type)
{
	if (family == AF_INET)
		return type == ICMP_DEST_UNREACH ||
		       type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB;
	return type >= ICMPV6_DEST_UNREACH && type <= ICMPV6_PARAMPROB;
}

static void copy_addr(uint8_t *to, const uint8_t *from, int family)
{
	memcpy(to, from, family == AF_INET ? 4 : 16);
}

/* The packet quoted in an ICMP error, at q for qlen bytes. On success the
 * flow fields of p become those of the quoted packet turned around; on any
 * doubt p is left as the plain ICMP packet it already describes. The
 * quoted packet must be of the outer packet's family, carry its L4 header
 * (not a non-first fragment), and hold the bytes the flow needs: the ports
 * of TCP, UDP and SCTP, or the identifier of an echo. RFC 792 promises 8
 * L4 bytes, but only what is used is asked for, so a router that quotes
 * less still gets its error through. An ICMP error about an ICMP error is
 * not a flow (RFC 1122 3.2.2 forbids sending one). */
static void inner(struct pkt *p, const uint8_t *q, size_t qlen)
{
	struct ip in;

	if (ip_parse(q, qlen, &in) < 0 || in.family != p->family)
		return;
	if (in.fragment && in.frag_offset)
		return;
	const uint8_t *l4 = q + in.l4off;
	size_t l4len = in.end - in.l4off;
	uint16_t sport = 0, dport = 0;
	bool echo = false;

	if (has_ports(in.proto)) {
		if (l4len < PORTS_LEN)
			return;
		sport = get_be16(l4);
		dport = get_be16(l4 + 2);
	} else if (is_icmp(in.family, in.proto)) {
		if (l4len < ICMP_ECHO_ID_END || !is_echo(in.family, l4[0]))
			return;
		sport = dport = get_be16(l4 + 4);
		echo = true;
	}

	p->proto = in.proto;
	copy_addr(p->src, in.dst, in.family);
	copy_addr(p->dst, in.src, in.family);
	p->sport = dport;
	p->dport = sport;
	p->has_ports = has_ports(in.proto);
	p->icmp_echo = echo;
	p->icmp_error = true;
}

static void icmp(struct pkt *p)
{
	if (p->l4len < 2)
		return;
	p->icmp_type = p->l4[0];
	p->icmp_code = p->l4[1];
	if (is_echo(p->family, p->icmp_type)) {
		if (p->l4len < ICMP_ECHO_ID_END)
			return;
		p->sport = p->dport = get_be16(p->l4 + 4);
		p->icmp_echo = true;
	} else if (is_error(p->family, p->icmp_type) &&
		   p->l4len > ICMP_HDR_LEN) {
		inner(p, p->l4 + ICMP_HDR_LEN, p->l4len - ICMP_HDR_LEN);
	}
}

int pkt_parse(const uint8_t *data, size_t len, struct pkt *p)
{
	struct ip ip;
	int err;

	memset(p, 0, sizeof(*p));
	err = ip_parse(data, len, &ip);
	if (err)
		return err;

	p->family = ip.family;
	p->proto = ip.proto;
	copy_addr(p->src, ip.src, ip.family);
	copy_addr(p->dst, ip.dst, ip.family);
	p->total_len = ip.total_len;
	p->fragment = ip.fragment;
	p->first_fragment = ip.fragment && ip.frag_offset == 0;
	p->more_fragments = ip.more_fragments;
	p->frag_id = ip.frag_id;
	p->frag_offset = ip.frag_offset;
	if (ip.fragment && ip.frag_offset)
		return 0;

	p->l4 = data + ip.l4off;
	p->l4len = ip.end - ip.l4off;
	if (has_ports(p->proto)) {
		if (p->l4len >= PORTS_LEN) {
			p->sport = get_be16(p->l4);
			p->dport = get_be16(p->l4 + 2);
			p->has_ports = true;
		}
	} else if (is_icmp(p->family, p->proto)) {
		icmp(p);
	}
	return 0;
}
