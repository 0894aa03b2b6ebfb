/* Segmentation and coalescing (contract in seg.h).
 *
 * Headers touched here (offsets from the start of each):
 *
 *   IPv4 (20 bytes, options refused for GSO and runs)
 *     0 ver/ihl  1 tos  2-3 total length  4-5 id  6-7 flags/fragment
 *     8 ttl  9 protocol  10-11 header checksum  12-15 src  16-19 dst
 *   IPv6 (40 bytes, extension headers refused for GSO and runs)
 *     0-3 ver/traffic class/flow label  4-5 payload length
 *     6 next header  7 hop limit  8-23 src  24-39 dst
 *   TCP (20 bytes + options)
 *     0-3 ports  4-7 seq  8-11 ack  12 data offset  13 flags
 *     14-15 window  16-17 checksum  18-19 urgent pointer  20- options
 *   UDP (8 bytes)
 *     0-3 ports  4-5 length  6-7 checksum
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "bytes.h"
#include "csum.h"
#include "packet.h"
#include "seg.h"

#define IPV4_HDR_LEN 20
#define IPV6_HDR_LEN 40
#define TCP_HDR_MIN 20
#define UDP_HDR_LEN 8
#define TCP_CSUM_OFF 16
#define UDP_CSUM_OFF 6
#define IP_MAX_LEN 65535

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

/* IPv4 flags/fragment word: everything but DF must be 0 in a run. */
#define IPV4_DF 0x4000

/* The partial L4 checksum (Linux CHECKSUM_PARTIAL): the folded
 * pseudo-header sum of the IP header at ip (RFC 793/768 for IPv4, RFC
 * 8200 8.1 for IPv6) for an L4 length of l4len (below 65536: a datagram's
 * segment). */
static uint16_t pseudo(const uint8_t *ip, uint8_t proto, uint32_t l4len)
{
	if (ip[0] >> 4 == 4)
		return csum_fold(
		    csum_pseudo4(ip + 12, ip + 16, proto, (uint16_t)l4len));
	return csum_fold(csum_pseudo6(ip + 8, ip + 24, proto, l4len));
}

/* Sets the IPv4 header checksum of the 20-byte header at ip. */
static void ip4_csum(uint8_t *ip)
{
	put_be16(ip + 10, 0);
	put_be16(ip + 10, csum_final(csum_add(0, ip, IPV4_HDR_LEN)));
}

/* The packet's length per its own IP header; 0 for an IPv6 payload
 * length of 0 with bytes after the header, a jumbogram, which never
 * belongs in a datagram (pkt_parse would take the bytes at hand as its
 * length). p has been parsed from len bytes at d. */
static size_t ip_len(const uint8_t *d, size_t len, const struct pkt *p)
{
	if (p->family == AF_INET6 && get_be16(d + 4) == 0 && len > IPV6_HDR_LEN)
		return 0;
	return p->total_len;
}

/* Where the partial checksum of a parsed packet sits: the TCP or UDP
 * checksum in a whole L4 header at the packet's L4 offset. False for any
 * other protocol, an ICMP error (whose proto is the quoted packet's), a
 * fragment, or a truncated L4 header. */
static bool csum_place(const uint8_t *d, const struct pkt *p, struct tun_gso *g)
{
	size_t hl;

	if (p->fragment || p->icmp_error || !p->l4)
		return false;
	if (p->proto == IPPROTO_TCP) {
		if (p->l4len < TCP_HDR_MIN)
			return false;
		hl = (size_t)(p->l4[12] >> 4) * 4;
		if (hl < TCP_HDR_MIN || hl > p->l4len)
			return false;
		g->csum_offset = TCP_CSUM_OFF;
	} else if (p->proto == IPPROTO_UDP) {
		if (p->l4len < UDP_HDR_LEN)
			return false;
		hl = UDP_HDR_LEN;
		g->csum_offset = UDP_CSUM_OFF;
	} else {
		return false;
	}
	g->csum_start = (uint16_t)(p->l4 - d);
	g->hdr_len = (uint16_t)(g->csum_start + hl);
	return true;
}

static void strait_hdr(uint8_t *to, const uint8_t *shdr, bool partial)
{
	memcpy(to, shdr, TUN_HDR_LEN);
	if (partial)
		to[1] |= TUN_HDR_F_CSUM;
	else
		to[1] &= (uint8_t)~TUN_HDR_F_CSUM;
}

static int split_none(const uint8_t *pkt, size_t plen, const struct pkt *p,
		      const struct tun_gso *gso, const uint8_t *shdr,
		      uint8_t *hdrs, size_t stride, struct tun_seg *segs,
		      size_t max_segs)
{
	if (gso->needs_csum) {
		struct tun_gso at;

		if (!csum_place(pkt, p, &at) ||
		    at.csum_start != gso->csum_start ||
		    at.csum_offset != gso->csum_offset)
			return -EPROTONOSUPPORT;
	}
	if (max_segs < 1)
		return -ENOSPC;
	if (stride < TUN_HDR_LEN)
		return -ENOBUFS;
	strait_hdr(hdrs, shdr, gso->needs_csum);
	segs[0] = (struct tun_seg){
	    .hdr = hdrs,
	    .hdr_len = TUN_HDR_LEN,
	    .payload = pkt,
	    .payload_len = plen,
	};
	return 1;
}

/* The L4 header length of a GSO packet, after checking that the packet
 * is what the GSO type says; or a negative errno. */
static int gso_l4(const uint8_t *pkt, size_t plen, const struct pkt *p,
		  const struct tun_gso *gso)
{
	bool tcp = gso->type != TUN_GSO_UDP_L4;
	size_t l4off, l4len;

	if (!gso->needs_csum || gso->size == 0 || p->fragment ||
	    p->icmp_error || !p->l4)
		return -EINVAL;
	if ((gso->type == TUN_GSO_TCPV4 && p->family != AF_INET) ||
	    (gso->type == TUN_GSO_TCPV6 && p->family != AF_INET6))
		return -EINVAL;
	if (p->proto != (tcp ? IPPROTO_TCP : IPPROTO_UDP))
		return -EINVAL;
	l4off = (size_t)(p->l4 - pkt);
	if (l4off != (p->family == AF_INET ? IPV4_HDR_LEN : IPV6_HDR_LEN))
		return -EPROTONOSUPPORT;
	if (gso->csum_start != l4off ||
	    gso->csum_offset != (tcp ? TCP_CSUM_OFF : UDP_CSUM_OFF))
		return -EINVAL;
	l4len = plen - l4off;
	if (!tcp) {
		if (l4len < UDP_HDR_LEN || get_be16(p->l4 + 4) != l4len)
			return -EINVAL;
		return UDP_HDR_LEN;
	}
	if (l4len < TCP_HDR_MIN)
		return -EINVAL;
	size_t hl = (size_t)(p->l4[12] >> 4) * 4;
	if (hl < TCP_HDR_MIN || hl > l4len)
		return -EINVAL;
	return (int)hl;
}

int tun_seg_split(const uint8_t *pkt, size_t len, const struct tun_gso *gso,
		  const uint8_t shdr[TUN_HDR_LEN], uint8_t *hdrs, size_t stride,
		  struct tun_seg *segs, size_t max_segs)
{
	struct pkt p;

	if (gso->type > TUN_GSO_UDP_L4 || pkt_parse(pkt, len, &p))
		return -EINVAL;
	size_t plen = ip_len(pkt, len, &p);
	if (plen == 0 || plen > len)
		return -EINVAL;
	if (gso->type == TUN_GSO_NONE)
		return split_none(pkt, plen, &p, gso, shdr, hdrs, stride, segs,
				  max_segs);

	int l4hl = gso_l4(pkt, plen, &p, gso);
	if (l4hl < 0)
		return l4hl;
	size_t l4off = (size_t)(p.l4 - pkt);
	size_t hl = l4off + (size_t)l4hl;
	size_t payload = plen - hl;
	size_t n = payload ? (payload + gso->size - 1) / gso->size : 1;
	bool v4 = p.family == AF_INET;
	bool tcp = gso->type != TUN_GSO_UDP_L4;

	if (n > max_segs)
		return -ENOSPC;
	if (TUN_HDR_LEN + hl > stride)
		return -ENOBUFS;

	uint16_t id = get_be16(pkt + 4);
	uint32_t seq = get_be32(p.l4 + 4);
	for (size_t i = 0; i < n; i++) {
		uint8_t *h = hdrs + i * stride;
		uint8_t *ip = h + TUN_HDR_LEN;
		uint8_t *l4 = ip + l4off;
		size_t off = i * gso->size;
		size_t seglen =
		    payload - off < gso->size ? payload - off : gso->size;

		strait_hdr(h, shdr, true);
		memcpy(ip, pkt, hl);
		if (v4) {
			put_be16(ip + 2, (uint32_t)(hl + seglen));
			put_be16(ip + 4, (uint16_t)(id + i));
			ip4_csum(ip);
		} else {
			put_be16(ip + 4,
				 (uint32_t)(hl - IPV6_HDR_LEN + seglen));
		}
		if (tcp) {
			put_be32(l4 + 4, seq + (uint32_t)off);
			if (i + 1 < n)
				l4[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
			if (i > 0)
				l4[13] &= (uint8_t)~TCP_CWR;
			put_be16(
			    l4 + TCP_CSUM_OFF,
			    pseudo(ip, IPPROTO_TCP, (uint32_t)(l4hl + seglen)));
		} else {
			put_be16(l4 + 4, (uint32_t)(UDP_HDR_LEN + seglen));
			put_be16(l4 + UDP_CSUM_OFF,
				 pseudo(ip, IPPROTO_UDP,
					(uint32_t)(UDP_HDR_LEN + seglen)));
		}
		segs[i] = (struct tun_seg){
		    .hdr = h,
		    .hdr_len = TUN_HDR_LEN + hl,
		    .payload = pkt + hl + off,
		    .payload_len = seglen,
		};
	}
	return (int)n;
}

int tun_seg_batch(const struct tun_seg *segs, size_t n, size_t max_segs,
		  size_t max_bytes, struct tun_batch *out, size_t max_out)
{
	size_t k = 0;

	if (max_segs == 0)
		return -EINVAL;
	for (size_t i = 0; i < n;) {
		size_t size = segs[i].hdr_len + segs[i].payload_len;

		if (size > max_bytes)
			return -EMSGSIZE;
		if (k == max_out)
			return -ENOSPC;
		struct tun_batch *b = &out[k++];
		*b = (struct tun_batch){
		    .first = i, .n = 1, .seg_size = size, .bytes = size};
		/* A send goes on while its last datagram is full size: a
		 * shorter one must be the last of its send. */
		size_t last = size;
		for (i++; i < n && last == b->seg_size && b->n < max_segs;
		     i++) {
			size_t next = segs[i].hdr_len + segs[i].payload_len;

			if (next > b->seg_size || next > max_bytes - b->bytes)
				break;
			b->n++;
			b->bytes += next;
			last = next;
		}
	}
	return (int)k;
}

static int decap_one(const uint8_t *d, size_t dlen, uint32_t tag,
		     struct tun_dgram *o)
{
	uint8_t flags;
	struct pkt p;
	struct tun_gso at;

	switch (tun_hdr_decode(d, dlen, tag, &flags)) {
	case 0:
		break;
	case -EPROTONOSUPPORT:
		return TUN_DECAP_VERSION;
	case -EACCES:
		return TUN_DECAP_TAG;
	default:
		return TUN_DECAP_SHORT;
	}
	const uint8_t *in = d + TUN_HDR_LEN;
	size_t ilen = dlen - TUN_HDR_LEN;

	if (pkt_parse(in, ilen, &p))
		return TUN_DECAP_MALFORMED;
	size_t plen = ip_len(in, ilen, &p);
	if (plen == 0)
		return TUN_DECAP_MALFORMED;
	if (plen != ilen)
		return TUN_DECAP_LENGTH;
	if ((flags & TUN_HDR_F_CSUM) && !csum_place(in, &p, &at))
		return TUN_DECAP_CSUM;
	o->flags = flags;
	o->pkt = in;
	o->len = ilen;
	return TUN_DECAP_OK;
}

int tun_decap_split(const uint8_t *buf, size_t len, uint16_t gro_size,
		    uint32_t tag, struct tun_dgram *out, size_t max_out)
{
	size_t step = gro_size && gro_size < len ? gro_size : len;
	size_t n = len ? (len + step - 1) / step : 1;

	if (n > max_out)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++) {
		struct tun_dgram *o = &out[i];
		size_t off = i * step;

		*o = (struct tun_dgram){
		    .off = off,
		    .dlen = len - off < step ? len - off : step,
		};
		o->err = decap_one(buf + off, o->dlen, tag, o);
		if (o->err) {
			o->flags = 0;
			o->pkt = NULL;
			o->len = 0;
		}
	}
	return (int)n;
}

/* A TCP segment or UDP datagram that may join a run, read from a
 * datagram. */
struct tseg {
	const uint8_t *ip;
	const uint8_t *tcp; /* the L4 header, TCP or UDP */
	uint8_t proto;
	size_t hl;     /* IP + L4 header bytes */
	size_t pay;    /* payload bytes */
	uint32_t seq;  /* TCP */
	uint8_t flags; /* TCP */
};

/* Reads d as a run candidate (seg.h lists the conditions that concern one
 * packet alone); false when it cannot be part of a run. */
static bool candidate(const struct tun_dgram *d, struct tseg *s)
{
	const uint8_t *ip = d->pkt;
	size_t len = d->len, l4off;

	if (d->err || !(d->flags & TUN_HDR_F_CSUM) || len < IPV4_HDR_LEN)
		return false;
	if (ip[0] == 0x45) {
		if (get_be16(ip + 2) != len || (get_be16(ip + 6) & ~IPV4_DF))
			return false;
		s->proto = ip[9];
		l4off = IPV4_HDR_LEN;
	} else if (ip[0] >> 4 == 6) {
		if (len < IPV6_HDR_LEN ||
		    (size_t)IPV6_HDR_LEN + get_be16(ip + 4) != len)
			return false;
		s->proto = ip[6];
		l4off = IPV6_HDR_LEN;
	} else {
		return false;
	}
	s->ip = ip;
	s->tcp = ip + l4off;
	if (s->proto == IPPROTO_UDP) {
		s->hl = l4off + UDP_HDR_LEN;
		if (s->hl >= len || get_be16(s->tcp + 4) != len - l4off)
			return false;
		s->pay = len - s->hl;
		s->seq = 0;
		s->flags = 0;
		return true;
	}
	if (s->proto != IPPROTO_TCP || len - l4off < TCP_HDR_MIN)
		return false;
	s->hl = l4off + (size_t)(s->tcp[12] >> 4) * 4;
	if (s->hl < l4off + TCP_HDR_MIN || s->hl >= len)
		return false;
	s->pay = len - s->hl;
	s->seq = get_be32(s->tcp + 4);
	s->flags = s->tcp[13];
	return s->flags == TCP_ACK || s->flags == (TCP_ACK | TCP_PSH);
}

/* Whether b belongs to a's flow and could have come from one TSO or USO
 * packet with it: every header byte equal but the lengths, IPv4
 * identification and checksums, sequence number and flags. */
static bool same_flow(const struct tseg *a, const struct tseg *b)
{
	const uint8_t *x = a->ip, *y = b->ip;

	if (a->hl != b->hl || x[0] != y[0] || a->proto != b->proto)
		return false;
	if (x[0] >> 4 == 4) {
		if (x[1] != y[1] || memcmp(x + 6, y + 6, 4) ||
		    memcmp(x + 12, y + 12, 8))
			return false;
	} else {
		if (memcmp(x, y, 4) || memcmp(x + 6, y + 6, 34))
			return false;
	}
	x = a->tcp;
	y = b->tcp;
	if (a->proto == IPPROTO_UDP)
		return !memcmp(x, y, 4); /* the ports */
	return !memcmp(x, y, 4) && !memcmp(x + 8, y + 8, 5) &&
	       !memcmp(x + 14, y + 14, 2) &&
	       !memcmp(x + 18, y + 18, a->hl - (size_t)(a->tcp - a->ip) - 18);
}

/* Writes the merged header of a run that starts with first, ends with
 * last and carries pay payload bytes in all, at h; returns its gso. */
static struct tun_gso merge(const struct tseg *first, const struct tseg *last,
			    size_t pay, uint8_t *h)
{
	size_t l4off = (size_t)(first->tcp - first->ip);
	uint8_t *l4 = h + l4off;
	uint32_t l4len = (uint32_t)(first->hl - l4off + pay);
	bool udp = first->proto == IPPROTO_UDP;

	memcpy(h, first->ip, first->hl);
	if (l4off == IPV4_HDR_LEN) {
		put_be16(h + 2, (uint32_t)(first->hl + pay));
		ip4_csum(h);
	} else {
		put_be16(h + 4, l4len);
	}
	/* The checksum field holds the pseudo-header sum of the merged
	 * packet's length; the kernel adjusts it per segment, as it does
	 * for its own TSO/USO packets. */
	if (udp) {
		put_be16(l4 + 4, l4len);
		put_be16(l4 + UDP_CSUM_OFF, pseudo(h, IPPROTO_UDP, l4len));
	} else {
		l4[13] = last->flags;
		put_be16(l4 + TCP_CSUM_OFF, pseudo(h, IPPROTO_TCP, l4len));
	}
	return (struct tun_gso){
	    .type = udp			    ? TUN_GSO_UDP_L4
		    : l4off == IPV4_HDR_LEN ? TUN_GSO_TCPV4
					    : TUN_GSO_TCPV6,
	    .needs_csum = true,
	    .size = (uint16_t)first->pay,
	    .csum_start = (uint16_t)l4off,
	    .csum_offset = udp ? UDP_CSUM_OFF : TCP_CSUM_OFF,
	    .hdr_len = (uint16_t)first->hl,
	};
}

/* The gso of a packet written as it came. */
static struct tun_gso single(const struct tun_dgram *d)
{
	struct tun_gso g = {.type = TUN_GSO_NONE};
	struct pkt p;

	if ((d->flags & TUN_HDR_F_CSUM) && !pkt_parse(d->pkt, d->len, &p) &&
	    csum_place(d->pkt, &p, &g))
		g.needs_csum = true;
	else
		g = (struct tun_gso){.type = TUN_GSO_NONE};
	return g;
}

int tun_coalesce(const struct tun_dgram *in, size_t n, size_t *used,
		 uint8_t *hdrs, size_t stride, struct tun_group *groups,
		 size_t max_groups, struct iovec *iov, size_t max_iov)
{
	size_t k = 0, g = 0, io = 0;

	if (stride < TUN_COAL_HDR_MAX)
		return -EINVAL;
	while (k < n) {
		if (in[k].err) {
			k++;
			continue;
		}
		if (g == max_groups || max_iov - io < 2)
			break;

		struct tun_group *gr = &groups[g];
		struct tseg first, prev, s;
		size_t m = 1, pay = 0;

		if (candidate(&in[k], &first) && max_iov - io >= 4) {
			prev = first;
			pay = first.pay;
			/* Room for the vnet slot, the header and m + 1
			 * payloads: max_iov - io >= m + 3. */
			while (k + m < n && max_iov - io >= m + 3 &&
			       (first.proto == IPPROTO_TCP ||
				m < TUN_GRO_MAX_SEGS) &&
			       prev.pay == first.pay &&
			       !(prev.flags & TCP_PSH) &&
			       candidate(&in[k + m], &s) &&
			       same_flow(&first, &s) &&
			       (s.proto == IPPROTO_UDP ||
				s.seq == prev.seq + (uint32_t)prev.pay) &&
			       s.pay <= first.pay &&
			       first.hl + pay + s.pay <= IP_MAX_LEN) {
				pay += s.pay;
				prev = s;
				m++;
			}
		}
		*gr = (struct tun_group){.first = k, .n = m, .iov = io};
		iov[io++] = (struct iovec){0};
		if (m == 1) {
			gr->gso = single(&in[k]);
			gr->len = in[k].len;
			iov[io++] =
			    (struct iovec){(void *)in[k].pkt, in[k].len};
		} else {
			uint8_t *h = hdrs + g * stride;

			gr->gso = merge(&first, &prev, pay, h);
			gr->len = first.hl + pay;
			iov[io++] = (struct iovec){h, first.hl};
			for (size_t j = 0; j < m; j++) {
				const struct tun_dgram *d = &in[k + j];

				iov[io++] =
				    (struct iovec){(void *)(d->pkt + first.hl),
						   d->len - first.hl};
			}
		}
		gr->iovcnt = io - gr->iov;
		k += m;
		g++;
	}
	if (k < n && (max_groups == 0 || max_iov < 2))
		return -EINVAL;
	*used = k;
	return (int)g;
}
