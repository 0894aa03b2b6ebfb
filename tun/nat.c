/* Address translation of one IP packet (contract in nat.h).
 *
 * Each call first reads everything it will need (lib/packet.h finds the
 * IP layers, the L4 header and, inside an ICMP error, the quoted packet's
 * own IP layer and L4 header), decides, and only then writes: so a
 * refused packet is left as it came.
 *
 * Where an ICMP error's checksum sits relative to what changes inside it:
 *
 *   outer IP | ICMP type code CKSUM rest(4) | quoted IP header | quoted L4
 *            0                2             8                  8 + hlen
 *
 * Every field changed in the quote (an address, the quoted IPv4 header
 * checksum, the quoted L4 checksum) starts at an even offset from the
 * ICMP header: the quote starts at 8, IPv4 header lengths are multiples
 * of 4, IPv6 extension headers of 8 (AH: of 4), and the fields themselves
 * sit at even offsets. So each change is one incremental update of the
 * ICMP checksum, word-aligned.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "bytes.h"
#include "csum.h"
#include "packet.h"
#include "nat.h"

#define ICMP_HDR_LEN 8
#define TCP_HDR_MIN 20
#define TCP_CSUM_OFF 16
#define TCP_FLAG_SYN 0x02
#define UDP_HDR_LEN 8
#define UDP_CSUM_OFF 6
#define DCCP_HDR_MIN 12
#define ICMP_CSUM_OFF 2
#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMPV6_DEST_UNREACH 1 /* 2 packet too big, 3 time exceeded */
#define ICMPV6_PARAMPROB 4

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOLEN_MSS 4
/* 40 bytes of options hold at most 10 MSS options. */
#define MSS_MAX_OPTS 10

#define IPV4_CSUM_OFF 10
#define IPV6_HDR_LEN 40
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_DEST 60

/* One IP layer located in the packet: the outer one or the quoted one. */
struct ipl {
	uint8_t *ip;
	size_t end; /* the layer's bytes: min(at hand, its own length) */
	int family;
	size_t alen;
	uint8_t *src, *dst;
	uint8_t proto; /* the upper-layer protocol */
	uint8_t *l4;   /* NULL for a non-first fragment */
	size_t l4len;
};

/* A checksum field that covers the addresses. */
struct l4sum {
	uint8_t *field;	     /* NULL: none */
	bool zero_none;	     /* UDP: 0 means "no checksum" */
	bool may_be_partial; /* TCP, UDP */
};

static uint16_t swap16(uint16_t v)
{
	return (uint16_t)(v << 8 | v >> 8);
}

static uint8_t icmp_proto(int family)
{
	return family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
}

/* The errors lib/packet.h reads as errors too (see nat.h). */
static bool is_error(int family, uint8_t type)
{
	if (family == AF_INET)
		return type == ICMP_DEST_UNREACH ||
		       type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB;
	return type >= ICMPV6_DEST_UNREACH && type <= ICMPV6_PARAMPROB;
}

/* Finds the IP layer of the len bytes at d. The parser's struct pkt says
 * where the L4 header is; for an ICMP error it gives the quoted packet's
 * protocol (its flow), so the layer's own protocol is then ICMP. */
static int locate(uint8_t *d, size_t len, struct ipl *ip, struct pkt *k)
{
	if (pkt_parse(d, len, k) < 0)
		return -EINVAL;
	bool v4 = k->family == AF_INET;

	ip->ip = d;
	ip->end = len < k->total_len ? len : k->total_len;
	ip->family = k->family;
	ip->alen = v4 ? 4 : 16;
	ip->src = d + (v4 ? 12 : 8);
	ip->dst = d + (v4 ? 16 : 24);
	ip->proto = k->icmp_error ? icmp_proto(k->family) : k->proto;
	ip->l4 = k->l4 ? d + (k->l4 - d) : NULL;
	ip->l4len = k->l4len;
	return 0;
}

/* The packet quoted in the ICMP error that o carries, if o is one and
 * the quote is an IP packet of o's family. */
static bool find_quote(const struct ipl *o, struct ipl *q)
{
	struct pkt k;

	if (!o->l4 || o->proto != icmp_proto(o->family) ||
	    o->l4len <= ICMP_HDR_LEN || !is_error(o->family, o->l4[0]))
		return false;
	if (locate(o->l4 + ICMP_HDR_LEN, o->l4len - ICMP_HDR_LEN, q, &k) < 0)
		return false;
	return q->family == o->family;
}

/* Where the L4 checksum that covers the addresses is, and the shortest
 * header that holds it; -1 for a protocol that has none. ICMPv4 has a
 * checksum, but not over the addresses. */
static int csum_off(int family, uint8_t proto, size_t *min)
{
	switch (proto) {
	case IPPROTO_TCP:
		*min = TCP_HDR_MIN;
		return TCP_CSUM_OFF;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		*min = UDP_HDR_LEN;
		return UDP_CSUM_OFF;
	case IPPROTO_DCCP:
		*min = DCCP_HDR_MIN;
		return UDP_CSUM_OFF;
	case IPPROTO_ICMPV6:
		if (family != AF_INET6)
			return -1;
		*min = ICMP_HDR_LEN;
		return ICMP_CSUM_OFF;
	default:
		return -1;
	}
}

static void l4sum_set(struct l4sum *c, uint8_t *field, uint8_t proto)
{
	c->field = field;
	c->zero_none = proto == IPPROTO_UDP;
	c->may_be_partial = proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

/* The outer packet's L4 checksum. Its header must be whole enough to
 * hold it (ICMP: the 8 bytes before any quote), else the packet is
 * malformed for us. */
static int outer_sum(const struct ipl *o, enum tun_csum mode, struct l4sum *c)
{
	size_t min = 0;
	int off;

	memset(c, 0, sizeof(*c));
	if (!o->l4)
		return mode == TUN_CSUM_PARTIAL ? -EINVAL : 0;
	off = csum_off(o->family, o->proto, &min);
	if (o->proto == icmp_proto(o->family))
		min = ICMP_HDR_LEN;
	if (o->l4len < min)
		return -EINVAL;
	if (off >= 0)
		l4sum_set(c, o->l4 + off, o->proto);
	if (mode == TUN_CSUM_PARTIAL && !c->may_be_partial)
		return -EINVAL;
	return 0;
}

/* The quoted packet's L4 checksum, when its bytes are in the quote. */
static void quote_sum(const struct ipl *q, struct l4sum *c)
{
	size_t min = 0;
	int off;

	memset(c, 0, sizeof(*c));
	if (!q->l4)
		return;
	off = csum_off(q->family, q->proto, &min);
	if (off >= 0 && q->l4len >= (size_t)off + 2)
		l4sum_set(c, q->l4 + off, q->proto);
}

/* Whether an IPv6 routing header with segments left precedes the upper
 * layer: the destination field is then a waypoint, and the pseudo-header
 * holds the final destination instead (RFC 8200 8.1). The parser has
 * walked the same chain within the same bounds already; the checks here
 * only keep this walk safe on its own. */
static bool waypoint(const struct ipl *ip)
{
	const uint8_t *d = ip->ip;
	size_t off = IPV6_HDR_LEN;
	uint8_t nh;

	if (ip->family != AF_INET6)
		return false;
	nh = d[6];
	for (unsigned int n = 0; n <= PKT_MAX_EXTHDRS; n++) {
		size_t hlen;

		if (ip->end < off + 4)
			return false;
		switch (nh) {
		case NEXTHDR_ROUTING:
			if (d[off + 3])
				return true;
			/* fall through */
		case NEXTHDR_HOP:
		case NEXTHDR_DEST:
			hlen = ((size_t)d[off + 1] + 1) * 8;
			break;
		case NEXTHDR_AUTH:
			hlen = ((size_t)d[off + 1] + 2) * 4;
			break;
		case NEXTHDR_FRAGMENT:
			/* Past a non-first fragment's header is data. */
			if (get_be16(d + off + 2) >> 3)
				return false;
			hlen = 8;
			break;
		default:
			return false;
		}
		nh = d[off];
		off += hlen;
	}
	return false;
}

/* A checksum field's new value after the len bytes from[] it covers
 * become to[]. */
static uint16_t sum_update(const struct l4sum *c, enum tun_csum mode,
			   const uint8_t *from, const uint8_t *to, size_t len)
{
	uint16_t v = get_be16(c->field);

	if (mode == TUN_CSUM_PARTIAL)
		return csum_partial_replace_bytes(v, from, to, len);
	if (c->zero_none && v == 0)
		return 0;
	v = csum_replace_bytes(v, from, to, len);
	return c->zero_none && v == 0 ? 0xffff : v;
}

/* Writes the 16-bit v at at, inside bytes covered by the full checksum
 * at ck, at an even offset from where ck's coverage starts. */
static void edit16(uint8_t *ck, uint8_t *at, uint16_t v)
{
	put_be16(ck, csum_replace_word(get_be16(ck), get_be16(at), v));
	put_be16(at, v);
}

/* The same for len bytes (an address). */
static void edit(uint8_t *ck, uint8_t *at, const uint8_t *to, size_t len)
{
	put_be16(ck, csum_replace_bytes(get_be16(ck), at, to, len));
	memcpy(at, to, len);
}

/* Rewrites the address at addr in the IP layer ip (its header checksum,
 * its L4 checksum c, then the address). */
static void rewrite(const struct ipl *ip, uint8_t *addr, const uint8_t *to,
		    const struct l4sum *c, enum tun_csum mode)
{
	if (ip->family == AF_INET) {
		uint8_t *ck = ip->ip + IPV4_CSUM_OFF;

		put_be16(ck,
			 csum_replace_bytes(get_be16(ck), addr, to, ip->alen));
	}
	if (c->field)
		put_be16(c->field, sum_update(c, mode, addr, to, ip->alen));
	memcpy(addr, to, ip->alen);
}

/* The same for the quoted packet q inside the ICMP message whose checksum
 * is at ick: every field written is ICMP payload, so each write also
 * updates ick. */
static void rewrite_quoted(const struct ipl *q, uint8_t *addr,
			   const uint8_t *to, const struct l4sum *c,
			   uint8_t *ick)
{
	if (q->family == AF_INET) {
		uint8_t *ck = q->ip + IPV4_CSUM_OFF;

		edit16(ick, ck,
		       csum_replace_bytes(get_be16(ck), addr, to, q->alen));
	}
	if (c->field)
		edit16(ick, c->field,
		       sum_update(c, TUN_CSUM_FULL, addr, to, q->alen));
	edit(ick, addr, to, q->alen);
}

static int translate(uint8_t *d, size_t len, const uint8_t *old_addr,
		     const uint8_t *new_addr, size_t alen, enum tun_csum mode,
		     bool dnat)
{
	uint8_t from[16], to[16];
	struct pkt k;
	struct ipl o, q;
	struct l4sum oc, qc;
	uint8_t *oaddr, *qaddr = NULL;
	bool outer, quote = false;
	int err;

	if (locate(d, len, &o, &k) < 0 || k.total_len > len)
		return -EINVAL;
	if (alen != o.alen)
		return -EAFNOSUPPORT;
	err = outer_sum(&o, mode, &oc);
	if (err)
		return err;
	/* The caller may well pass addresses that point into the packet
	 * (its own destination as old_addr): keep them apart from it. */
	memcpy(from, old_addr, alen);
	memcpy(to, new_addr, alen);

	oaddr = dnat ? o.dst : o.src;
	outer = !memcmp(oaddr, from, alen);
	if (find_quote(&o, &q)) {
		qaddr = dnat ? q.src : q.dst;
		quote = !memcmp(qaddr, from, alen);
	}

	if (!outer && (dnat || !quote))
		return -ENOENT;
	if ((dnat && outer && waypoint(&o)) || (!dnat && quote && waypoint(&q)))
		return -EOPNOTSUPP;

	if (quote) {
		quote_sum(&q, &qc);
		rewrite_quoted(&q, qaddr, to, &qc, o.l4 + ICMP_CSUM_OFF);
	}
	if (outer)
		rewrite(&o, oaddr, to, &oc, mode);
	return outer + quote;
}

int tun_nat_dnat(uint8_t *p, size_t len, const uint8_t *old_addr,
		 const uint8_t *new_addr, size_t alen, enum tun_csum mode)
{
	return translate(p, len, old_addr, new_addr, alen, mode, true);
}

int tun_nat_snat(uint8_t *p, size_t len, const uint8_t *old_addr,
		 const uint8_t *new_addr, size_t alen, enum tun_csum mode)
{
	return translate(p, len, old_addr, new_addr, alen, mode, false);
}

int tun_mss_clamp(uint8_t *p, size_t len, uint16_t mss, enum tun_csum mode)
{
	size_t at[MSS_MAX_OPTS], n = 0;
	struct pkt k;
	struct ipl o;
	uint8_t *t;
	size_t hlen;

	if (locate(p, len, &o, &k) < 0 || k.total_len > len)
		return -EINVAL;
	if (o.proto != IPPROTO_TCP || !o.l4)
		return 0;
	if (o.l4len < TCP_HDR_MIN)
		return -EINVAL;
	t = o.l4;
	if (!(t[13] & TCP_FLAG_SYN))
		return 0;
	hlen = (size_t)(t[12] >> 4) * 4;
	if (hlen < TCP_HDR_MIN || hlen > o.l4len)
		return -EINVAL;

	/* The whole list is checked before anything is written. */
	for (size_t i = TCP_HDR_MIN; i < hlen;) {
		uint8_t kind = t[i];

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (hlen - i < 2 || t[i + 1] < 2 || t[i + 1] > hlen - i)
			return -EINVAL;
		if (kind == TCPOPT_MSS && t[i + 1] == TCPOLEN_MSS &&
		    get_be16(t + i + 2) > mss && n < MSS_MAX_OPTS)
			at[n++] = i + 2;
		i += t[i + 1];
	}

	for (size_t j = 0; j < n; j++) {
		uint16_t was = get_be16(t + at[j]);

		put_be16(t + at[j], mss);
		if (mode == TUN_CSUM_PARTIAL)
			continue;
		/* After an odd number of NOPs the value straddles two
		 * checksum words and counts byte-swapped (csum.h). */
		uint16_t ck = get_be16(t + TCP_CSUM_OFF);
		if (at[j] & 1)
			ck = csum_replace_word(ck, swap16(was), swap16(mss));
		else
			ck = csum_replace_word(ck, was, mss);
		put_be16(t + TCP_CSUM_OFF, ck);
	}
	return n > 0;
}
