/* Unit tests of strait-tun's header codec (tun/hdr.h) and its
 * segmentation and coalescing core (tun/seg.h).
 *
 * Packets are built here from scratch by build(), with checksums computed
 * by this file's own code over explicit pseudo-header bytes, so that every
 * segment tun_seg_split() makes is compared byte for byte with a segment
 * built independently. Partial checksums are also completed as the kernel
 * would (a sum over the L4 bytes from csum_start) and the result verified
 * as a receiver would, so that a partial sum that is merely consistent
 * with itself cannot pass. The segments then travel as a UDP_GRO buffer
 * through tun_decap_split() and tun_coalesce(), and the merged packet must
 * equal the original. Runs are then broken one condition at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "../../tun/hdr.h"
#include "../../tun/seg.h"

#define TAG 0x5eed7a65u
#define STRIDE 128
#define MAXSEG 128

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10
#define F_URG 0x20
#define F_ECE 0x40
#define F_CWR 0x80

/* ---- an independent packet builder ---- */

static uint8_t payload[70000];

static void fill_payload(void)
{
	uint32_t x = 0x12345678;

	for (size_t i = 0; i < sizeof(payload); i++) {
		x = x * 1103515245u + 12345u;
		payload[i] = (uint8_t)(x >> 16);
	}
}

/* A timestamp option behind two NOPs, and a SACK block behind two more:
 * 24 bytes, a TCP data offset of 11. */
static const uint8_t opt_ts_sack[24] = {
    1, 1, 8, 10, 0x01, 0x02, 0x03, 0x04, 0xa1, 0xa2, 0xa3, 0xa4,
    1, 1, 5, 10, 0,    0,    0x10, 0,	 0,    0,    0x20, 0};
static const uint8_t opt_ts[12] = {1,	 1,    8,    10,   0x11, 0x22,
				   0x33, 0x44, 0x55, 0x66, 0x77, 0x88};

struct spec {
	bool v6;
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t tos;   /* IPv4 TOS or IPv6 traffic class */
	uint8_t ttl;
	uint32_t flow; /* IPv6 flow label */
	bool df;
	uint16_t id;
	const char *src, *dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	const uint8_t *opt;
	size_t optlen;
	bool partial; /* L4 checksum partial; else complete */
};

static void wr16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void wr32(uint8_t *b, uint32_t v)
{
	wr16(b, v >> 16);
	wr16(b + 2, v & 0xffff);
}

/* RFC 1071, the plain way: 16-bit words summed in 32 bits, folded. */
static uint32_t ref_sum(const uint8_t *b, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	return sum;
}

static uint16_t ref_fold(uint32_t sum)
{
	while (sum > 0xffff)
		sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)sum;
}

/* The pseudo-header as bytes (RFC 793 / RFC 8200 8.1), summed. */
static uint32_t ref_pseudo(const struct spec *s, uint32_t l4len)
{
	uint8_t ph[40];
	size_t n;

	memset(ph, 0, sizeof(ph));
	if (s->v6) {
		assert_int_equal(inet_pton(AF_INET6, s->src, ph), 1);
		assert_int_equal(inet_pton(AF_INET6, s->dst, ph + 16), 1);
		wr32(ph + 32, l4len);
		ph[39] = s->proto;
		n = 40;
	} else {
		assert_int_equal(inet_pton(AF_INET, s->src, ph), 1);
		assert_int_equal(inet_pton(AF_INET, s->dst, ph + 4), 1);
		ph[9] = s->proto;
		wr16(ph + 10, l4len);
		n = 12;
	}
	return ref_sum(ph, n, 0);
}

/* Builds the packet s describes with the given payload at out; returns
 * its length. */
static size_t build(uint8_t *out, const struct spec *s, const uint8_t *pay,
		    size_t plen)
{
	size_t iph = s->v6 ? 40 : 20;
	size_t l4h = s->proto == IPPROTO_TCP ? 20 + s->optlen : 8;
	size_t l4len = l4h + plen, total = iph + l4len;
	uint8_t *ip = out, *l4 = out + iph;

	memset(out, 0, iph + l4h);
	if (s->v6) {
		wr32(ip, 6u << 28 | (uint32_t)s->tos << 20 | s->flow);
		wr16(ip + 4, l4len);
		ip[6] = s->proto;
		ip[7] = s->ttl;
		assert_int_equal(inet_pton(AF_INET6, s->src, ip + 8), 1);
		assert_int_equal(inet_pton(AF_INET6, s->dst, ip + 24), 1);
	} else {
		ip[0] = 0x45;
		ip[1] = s->tos;
		wr16(ip + 2, total);
		wr16(ip + 4, s->id);
		wr16(ip + 6, s->df ? 0x4000 : 0);
		ip[8] = s->ttl;
		ip[9] = s->proto;
		assert_int_equal(inet_pton(AF_INET, s->src, ip + 12), 1);
		assert_int_equal(inet_pton(AF_INET, s->dst, ip + 16), 1);
		wr16(ip + 10, (uint16_t)~ref_fold(ref_sum(ip, 20, 0)));
	}
	wr16(l4, s->sport);
	wr16(l4 + 2, s->dport);
	size_t csum_off;
	if (s->proto == IPPROTO_TCP) {
		wr32(l4 + 4, s->seq);
		wr32(l4 + 8, s->ack);
		l4[12] = (uint8_t)(l4h / 4 << 4);
		l4[13] = s->flags;
		wr16(l4 + 14, s->win);
		if (s->optlen)
			memcpy(l4 + 20, s->opt, s->optlen);
		csum_off = 16;
	} else {
		wr16(l4 + 4, l4len);
		csum_off = 6;
	}
	memcpy(l4 + l4h, pay, plen);
	uint32_t ps = ref_pseudo(s, (uint32_t)l4len);
	if (s->partial)
		wr16(l4 + csum_off, ref_fold(ps));
	else
		wr16(l4 + csum_off,
		     (uint16_t)~ref_fold(ref_sum(l4, l4len, ps)));
	return total;
}

/* Completes a partial L4 checksum as the kernel does (the sum of the L4
 * bytes from csum_start, the pseudo-header sum already in the field) and
 * checks the result as a receiver would. */
static void complete_and_verify(const uint8_t *pkt, size_t len,
				const struct spec *s)
{
	uint8_t c[70000];
	size_t iph = s->v6 ? 40 : 20;
	size_t off = s->proto == IPPROTO_TCP ? 16 : 6;

	assert_true(len <= sizeof(c));
	memcpy(c, pkt, len);
	uint8_t *l4 = c + iph;
	size_t l4len = len - iph;
	wr16(l4 + off, (uint16_t)~ref_fold(ref_sum(l4, l4len, 0)));
	assert_int_equal(
	    ref_fold(ref_sum(l4, l4len, ref_pseudo(s, (uint32_t)l4len))),
	    0xffff);
	if (!s->v6)
		assert_int_equal(ref_fold(ref_sum(c, 20, 0)), 0xffff);
}

static const struct spec tcp4 = {
    .tos = 0x28,
    .ttl = 63,
    .df = true,
    .id = 0xfffe, /* wraps during the segments */
    .src = "10.1.2.3",
    .dst = "10.30.0.7",
    .sport = 40000,
    .dport = 80,
    .seq = 0xfffff000, /* wraps too */
    .ack = 0x01020304,
    .win = 501,
    .opt = opt_ts,
    .optlen = sizeof(opt_ts),
    .proto = IPPROTO_TCP,
    .partial = true,
};

static struct spec tcp6_spec(void)
{
	struct spec s = tcp4;

	s.v6 = true;
	s.tos = 0xb8;
	s.flow = 0xabcde;
	s.src = "fd00:1::10";
	s.dst = "fd00:30::7";
	s.opt = opt_ts_sack;
	s.optlen = sizeof(opt_ts_sack);
	return s;
}

/* s as UDP: the same addresses and fields, no TCP options. */
static struct spec udp_of(struct spec s)
{
	s.proto = IPPROTO_UDP;
	s.opt = NULL;
	s.optlen = 0;
	return s;
}

static void strait(uint8_t *h, uint8_t flags)
{
	h[0] = 1;
	h[1] = flags;
	h[2] = h[3] = 0;
	wr32(h + 4, TAG);
}

static struct tun_gso gso_of(const struct spec *s, uint16_t size)
{
	bool tcp = s->proto == IPPROTO_TCP;

	return (struct tun_gso){
	    .type = !tcp    ? TUN_GSO_UDP_L4
		    : s->v6 ? TUN_GSO_TCPV6
			    : TUN_GSO_TCPV4,
	    .needs_csum = true,
	    .size = size,
	    .csum_start = s->v6 ? 40 : 20,
	    .csum_offset = tcp ? 16 : 6,
	};
}

/* Checks n segments of a packet built from s with plen payload bytes
 * against segments built independently: segment i carries payload bytes
 * [i * size, ...), seq + i * size, id + i, FIN and PSH only last, CWR
 * only first, and behind a strait header shdr with C. */
static void check_segments(const uint8_t *pkt, const struct spec *s,
			   size_t plen, uint16_t size, const uint8_t *shdr,
			   const struct tun_seg *segs, int n,
			   const uint8_t *hdrs)
{
	uint8_t exp[70000];
	size_t hl =
	    (s->v6 ? 40 : 20) + (s->proto == IPPROTO_TCP ? 20 + s->optlen : 8);

	assert_int_equal(n, plen ? (plen + size - 1) / size : 1);
	for (int i = 0; i < n; i++) {
		struct spec e = *s;
		size_t off = (size_t)i * size;
		size_t seglen = plen - off < size ? plen - off : size;

		e.seq += (uint32_t)off;
		e.id = (uint16_t)(e.id + i);
		if (i < n - 1)
			e.flags &= (uint8_t) ~(F_FIN | F_PSH);
		if (i > 0)
			e.flags &= (uint8_t)~F_CWR;
		e.partial = true;
		size_t elen = build(exp, &e, payload + off, seglen);

		assert_ptr_equal(segs[i].hdr, hdrs + (size_t)i * STRIDE);
		assert_int_equal(segs[i].hdr_len, TUN_HDR_LEN + hl);
		assert_int_equal(segs[i].payload_len, seglen);
		assert_ptr_equal(segs[i].payload, pkt + hl + off);
		assert_memory_equal(segs[i].hdr, shdr, 1);
		assert_int_equal(segs[i].hdr[1], shdr[1] | TUN_HDR_F_CSUM);
		assert_memory_equal(segs[i].hdr + 2, shdr + 2, 6);
		assert_memory_equal(segs[i].hdr + TUN_HDR_LEN, exp, hl);
		assert_memory_equal(segs[i].payload, exp + hl, seglen);
		assert_int_equal(elen, hl + seglen);

		uint8_t whole[70000];
		memcpy(whole, segs[i].hdr + TUN_HDR_LEN, hl);
		memcpy(whole + hl, segs[i].payload, seglen);
		complete_and_verify(whole, elen, &e);
	}
}

/* The GRO buffer the far side's kernel would hand over for segs. */
static size_t gro_buffer(const struct tun_seg *segs, int n, uint8_t *buf,
			 uint16_t *gro_size)
{
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		memcpy(buf + len, segs[i].hdr, segs[i].hdr_len);
		len += segs[i].hdr_len;
		memcpy(buf + len, segs[i].payload, segs[i].payload_len);
		len += segs[i].payload_len;
	}
	*gro_size =
	    (uint16_t)(n > 1 ? segs[0].hdr_len + segs[0].payload_len : 0);
	return len;
}

/* Joins group g's iovecs after the reserved one into out. */
static size_t gather(const struct tun_group *g, const struct iovec *iov,
		     uint8_t *out)
{
	size_t len = 0;

	assert_true(g->iovcnt >= 2);
	assert_null(iov[g->iov].iov_base);
	assert_int_equal(iov[g->iov].iov_len, 0);
	for (size_t i = g->iov + 1; i < g->iov + g->iovcnt; i++) {
		memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	assert_int_equal(len, g->len);
	return len;
}

/* ---- the strait header ---- */

static void test_hdr_roundtrip(void **state)
{
	(void)state;
	uint8_t h[TUN_HDR_LEN], flags = 0xee;

	/* XXH32 of nothing with seed 0, as published by xxHash. */
	assert_int_equal(tun_trench_tag(""), 0x02cc5d05u);
	assert_int_equal(tun_trench_tag("default"), XXH32("default", 7, 0));
	assert_int_not_equal(tun_trench_tag("a"), tun_trench_tag("b"));

	tun_hdr_encode(h, TUN_HDR_F_REPLY | TUN_HDR_F_CSUM, 0x01020304);
	const uint8_t want[8] = {1, 3, 0, 0, 1, 2, 3, 4};
	assert_memory_equal(h, want, 8);
	assert_int_equal(tun_hdr_decode(h, 8, 0x01020304, &flags), 0);
	assert_int_equal(flags, TUN_HDR_F_REPLY | TUN_HDR_F_CSUM);

	/* Reserved bits are not sent... */
	tun_hdr_encode(h, 0xff, 0xdeadbeef);
	const uint8_t want2[8] = {1, 3, 0, 0, 0xde, 0xad, 0xbe, 0xef};
	assert_memory_equal(h, want2, 8);
	/* ...and ignored when received. */
	h[1] = 0xfc | TUN_HDR_F_REPLY;
	h[2] = 0x55;
	h[3] = 0xaa;
	assert_int_equal(tun_hdr_decode(h, 8, 0xdeadbeef, &flags), 0);
	assert_int_equal(flags, TUN_HDR_F_REPLY);
	/* Bytes after the header are the inner packet's, not a reason. */
	uint8_t longer[20] = {1, 2, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0x45};
	assert_int_equal(tun_hdr_decode(longer, 20, 0xdeadbeef, &flags), 0);
	assert_int_equal(flags, TUN_HDR_F_CSUM);
}

static void test_hdr_errors(void **state)
{
	(void)state;
	uint8_t h[TUN_HDR_LEN], flags;

	tun_hdr_encode(h, TUN_HDR_F_CSUM, TAG);
	for (size_t n = 0; n < TUN_HDR_LEN; n++) {
		flags = 0x77;
		assert_int_equal(tun_hdr_decode(h, n, TAG, &flags), -EBADMSG);
		assert_int_equal(flags, 0x77);
	}
	h[0] = 0;
	assert_int_equal(tun_hdr_decode(h, 8, TAG, &flags), -EPROTONOSUPPORT);
	h[0] = 2;
	assert_int_equal(tun_hdr_decode(h, 8, TAG, &flags), -EPROTONOSUPPORT);
	h[0] = 1;
	assert_int_equal(tun_hdr_decode(h, 8, TAG ^ 1, &flags), -EACCES);
	assert_int_equal(tun_hdr_decode(h, 8, TAG ^ 0x80000000u, &flags),
			 -EACCES);
	assert_int_equal(flags, 0x77);
	/* Version is checked before the tag. */
	h[0] = 9;
	assert_int_equal(tun_hdr_decode(h, 8, TAG ^ 1, &flags),
			 -EPROTONOSUPPORT);
}

/* ---- split ---- */

static uint8_t hdrs[MAXSEG * STRIDE];
static struct tun_seg segs[MAXSEG];

static void split_and_check(const struct spec *s, size_t plen, uint16_t size,
			    uint8_t sflags)
{
	static uint8_t pkt[70000];
	uint8_t shdr[8];
	size_t len = build(pkt, s, payload, plen);
	struct tun_gso gso = gso_of(s, size);

	strait(shdr, sflags);
	int n = tun_seg_split(pkt, len, &gso, shdr, hdrs, STRIDE, segs, MAXSEG);
	assert_true(n > 0);
	check_segments(pkt, s, plen, size, shdr, segs, n, hdrs);
}

static void test_split_tcp4(void **state)
{
	(void)state;
	struct spec s = tcp4;

	/* FIN and PSH end up on the last segment, CWR on the first; the
	 * last carries the 123 bytes left over. */
	s.flags = F_ACK | F_PSH | F_FIN | F_CWR;
	split_and_check(&s, 3 * 1000 + 123, 1000, 0);
	s.flags = F_ACK | F_ECE; /* other flags go to every segment */
	s.df = false;
	split_and_check(&s, 1448 * 7, 1448, TUN_HDR_F_REPLY);
	/* One byte over a multiple, and a payload within one segment. */
	split_and_check(&s, 1448 * 2 + 1, 1448, 0);
	split_and_check(&s, 500, 1448, 0);
	/* No options at all. */
	s.opt = NULL;
	s.optlen = 0;
	split_and_check(&s, 20000, 1460, 0);
	/* The largest IPv4 TSO packet. */
	split_and_check(&s, 65535 - 40, 1460, 0);
}

static void test_split_tcp6(void **state)
{
	(void)state;
	struct spec s = tcp6_spec();

	s.flags = F_ACK | F_PSH | F_CWR;
	split_and_check(&s, 4 * 1200, 1200, TUN_HDR_F_REPLY);
	s.flags = F_ACK | F_FIN;
	split_and_check(&s, 64000, 1000, 0);
	split_and_check(&s, 65535 - 44, 1384, 0); /* payload length 65535 */
}

static void test_split_udp(void **state)
{
	(void)state;
	struct spec s = udp_of(tcp4);

	split_and_check(&s, 5 * 1400 + 7, 1400, 0);
	split_and_check(&s, 1400, 1400, 0);
	s = udp_of(tcp6_spec());
	split_and_check(&s, 30000, 1232, TUN_HDR_F_REPLY);
}

static void test_split_none(void **state)
{
	(void)state;
	uint8_t pkt[2000], shdr[8];
	struct spec s = tcp4;
	struct tun_gso gso = {.type = TUN_GSO_NONE};

	s.partial = false;
	s.flags = F_ACK | F_PSH | F_FIN | F_CWR;
	size_t len = build(pkt, &s, payload, 1000);

	/* C is cleared for a packet whose checksum is complete... */
	strait(shdr, TUN_HDR_F_CSUM | TUN_HDR_F_REPLY);
	assert_int_equal(
	    tun_seg_split(pkt, len, &gso, shdr, hdrs, STRIDE, segs, 1), 1);
	assert_ptr_equal(segs[0].hdr, hdrs);
	assert_int_equal(segs[0].hdr_len, TUN_HDR_LEN);
	assert_int_equal(segs[0].hdr[1], TUN_HDR_F_REPLY);
	assert_memory_equal(segs[0].hdr + 2, shdr + 2, 6);
	assert_ptr_equal(segs[0].payload, pkt);
	assert_int_equal(segs[0].payload_len, len);

	/* ...and set for a partial one, bytes unchanged. Bytes past the
	 * IP length are not sent. */
	s.partial = true;
	len = build(pkt, &s, payload, 1000);
	uint8_t copy[2000];
	memcpy(copy, pkt, len);
	gso = (struct tun_gso){
	    .needs_csum = true, .csum_start = 20, .csum_offset = 16};
	strait(shdr, 0);
	assert_int_equal(
	    tun_seg_split(pkt, len + 17, &gso, shdr, hdrs, 8, segs, 1), 1);
	assert_int_equal(segs[0].hdr[1], TUN_HDR_F_CSUM);
	assert_int_equal(segs[0].payload_len, len);
	assert_memory_equal(pkt, copy, len);

	/* A partial checksum the receiver could not place. */
	gso.csum_offset = 6;
	assert_int_equal(tun_seg_split(pkt, len, &gso, shdr, hdrs, 8, segs, 1),
			 -EPROTONOSUPPORT);
	gso.csum_offset = 16;
	gso.csum_start = 24;
	assert_int_equal(tun_seg_split(pkt, len, &gso, shdr, hdrs, 8, segs, 1),
			 -EPROTONOSUPPORT);
	pkt[9] = IPPROTO_ICMP;
	gso.csum_start = 20;
	assert_int_equal(tun_seg_split(pkt, len, &gso, shdr, hdrs, 8, segs, 1),
			 -EPROTONOSUPPORT);
	pkt[9] = IPPROTO_TCP;
	/* Limits of the caller's arrays. */
	assert_int_equal(tun_seg_split(pkt, len, &gso, shdr, hdrs, 8, segs, 0),
			 -ENOSPC);
	assert_int_equal(tun_seg_split(pkt, len, &gso, shdr, hdrs, 7, segs, 1),
			 -ENOBUFS);
}

static void test_split_errors(void **state)
{
	(void)state;
	static uint8_t pkt[70000];
	uint8_t shdr[8];
	struct spec s = tcp4;
	struct tun_gso gso;
	size_t len;

	strait(shdr, 0);
	s.flags = F_ACK;
	len = build(pkt, &s, payload, 4000);
#define SPLIT(l, g, max)                                                       \
	tun_seg_split(pkt, (l), (g), shdr, hdrs, STRIDE, segs, (max))

	gso = gso_of(&s, 1000);
	assert_int_equal(SPLIT(len, &gso, MAXSEG), 4);
	/* The caller's arrays. */
	assert_int_equal(SPLIT(len, &gso, 3), -ENOSPC);
	assert_int_equal(tun_seg_split(pkt, len, &gso, shdr, hdrs, 8 + 20 + 31,
				       segs, MAXSEG),
			 -ENOBUFS);
	/* GSO metadata that does not fit the packet. */
	gso.size = 0;
	assert_int_equal(SPLIT(len, &gso, MAXSEG), -EINVAL);
	gso = gso_of(&s, 1000);
	gso.needs_csum = false;
	assert_int_equal(SPLIT(len, &gso, MAXSEG), -EINVAL);
	gso = gso_of(&s, 1000);
	gso.type = TUN_GSO_TCPV6;
	assert_int_equal(SPLIT(len, &gso, MAXSEG), -EINVAL);
	gso.type = TUN_GSO_UDP_L4;
	assert_int_equal(SPLIT(len, &gso, MAXSEG), -EINVAL);
	gso.type = 9;
	assert_int_equal(SPLIT(len, &gso, MAXSEG), -EINVAL);
	gso = gso_of(&s, 1000);
	gso.csum_start = 40;
	assert_int_equal(SPLIT(len, &gso, MAXSEG), -EINVAL);
	gso = gso_of(&s, 1000);
	gso.csum_offset = 6;
	assert_int_equal(SPLIT(len, &gso, MAXSEG), -EINVAL);
	/* Truncated: fewer bytes than the IP length. */
	gso = gso_of(&s, 1000);
	assert_int_equal(SPLIT(len - 1, &gso, MAXSEG), -EINVAL);
	assert_int_equal(SPLIT(10, &gso, MAXSEG), -EINVAL);
	/* A TCP data offset past the packet, or below 5. */
	len = build(pkt, &s, payload, 20);
	pkt[20 + 12] = 0xf0;
	assert_int_equal(SPLIT(len, &gso, MAXSEG), -EINVAL);
	pkt[20 + 12] = 0x40;
	assert_int_equal(SPLIT(len, &gso, MAXSEG), -EINVAL);
	/* A fragment. */
	len = build(pkt, &s, payload, 4000);
	pkt[6] |= 0x20;
	assert_int_equal(SPLIT(len, &gso, MAXSEG), -EINVAL);

	/* IPv4 options with TSO: refused. */
	uint8_t opt[70000];
	memcpy(opt, pkt, 20);
	memset(opt + 20, 1, 4); /* four NOP options */
	memcpy(opt + 24, pkt + 20, len - 20);
	opt[0] = 0x46;
	opt[6] &= (uint8_t)~0x20; /* not the fragment of above */
	wr16(opt + 2, len + 4);
	gso.csum_start = 24;
	assert_int_equal(
	    tun_seg_split(opt, len + 4, &gso, shdr, hdrs, STRIDE, segs, MAXSEG),
	    -EPROTONOSUPPORT);

	/* IPv6 with a hop-by-hop header with TSO: refused. */
	struct spec s6 = tcp6_spec();
	len = build(pkt, &s6, payload, 3000);
	memcpy(opt, pkt, 40);
	memset(opt + 40, 0, 8);
	opt[40] = IPPROTO_TCP; /* hop-by-hop: next header, length 0, PadN */
	opt[42] = 1;
	opt[43] = 4;
	memcpy(opt + 48, pkt + 40, len - 40);
	opt[6] = 0;
	wr16(opt + 4, len - 40 + 8);
	gso = gso_of(&s6, 1000);
	gso.csum_start = 48;
	assert_int_equal(
	    tun_seg_split(opt, len + 8, &gso, shdr, hdrs, STRIDE, segs, MAXSEG),
	    -EPROTONOSUPPORT);
	/* The same packet without it splits. */
	gso.csum_start = 40;
	assert_int_equal(
	    tun_seg_split(pkt, len, &gso, shdr, hdrs, STRIDE, segs, MAXSEG), 3);
	/* An IPv6 payload length of 0 (a jumbogram) is not ours to cut. */
	wr16(pkt + 4, 0);
	assert_int_equal(
	    tun_seg_split(pkt, len, &gso, shdr, hdrs, STRIDE, segs, MAXSEG),
	    -EINVAL);

	/* UDP whose length field disagrees with the IP length. */
	s.proto = IPPROTO_UDP;
	s.opt = NULL;
	s.optlen = 0;
	len = build(pkt, &s, payload, 3000);
	gso = gso_of(&s, 1000);
	assert_int_equal(SPLIT(len, &gso, MAXSEG), 3);
	wr16(pkt + 24, 3000 + 8 - 1);
	assert_int_equal(SPLIT(len, &gso, MAXSEG), -EINVAL);
	wr16(pkt + 24, 3000 + 8);
	gso.type = TUN_GSO_TCPV4;
	assert_int_equal(SPLIT(len, &gso, MAXSEG), -EINVAL);

	/* Not an IP packet. */
	memset(pkt, 0, 100);
	gso.type = TUN_GSO_NONE;
	gso.needs_csum = false;
	assert_int_equal(SPLIT(100, &gso, MAXSEG), -EINVAL);
#undef SPLIT
}

/* ---- batches ---- */

/* Checks that batches cover segs[0..n) in order within the limits, each
 * a valid UDP_SEGMENT send. */
static void check_batches(const struct tun_seg *sg, size_t n,
			  const struct tun_batch *b, int k, size_t max_segs,
			  size_t max_bytes)
{
	size_t next = 0;

	assert_true(k > 0);
	for (int i = 0; i < k; i++) {
		size_t bytes = 0;

		assert_int_equal(b[i].first, next);
		assert_true(b[i].n >= 1 && b[i].n <= max_segs);
		for (size_t j = 0; j < b[i].n; j++) {
			const struct tun_seg *s = &sg[b[i].first + j];
			size_t size = s->hdr_len + s->payload_len;

			if (j + 1 < b[i].n)
				assert_int_equal(size, b[i].seg_size);
			else
				assert_true(size <= b[i].seg_size);
			bytes += size;
		}
		assert_int_equal(bytes, b[i].bytes);
		assert_true(bytes <= max_bytes);
		next += b[i].n;
	}
	assert_int_equal(next, n);
}

static void fake_segs(struct tun_seg *sg, const size_t *sizes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sg[i] = (struct tun_seg){.hdr = hdrs,
					 .hdr_len = 8,
					 .payload = payload,
					 .payload_len = sizes[i] - 8};
}

static void test_batch(void **state)
{
	(void)state;
	struct tun_seg sg[200];
	struct tun_batch b[200];
	size_t sizes[200];
	int k;

	/* 150 datagrams of 1310 bytes: 50 fit 65507 bytes, 49 fit 65487. */
	for (size_t i = 0; i < 150; i++)
		sizes[i] = 1310;
	sizes[149] = 99;
	fake_segs(sg, sizes, 150);
	k = tun_seg_batch(sg, 150, TUN_UDP_MAX_SEGMENTS,
			  tun_udp_max_payload(false), b, 200);
	assert_int_equal(k, 3);
	assert_int_equal(b[0].n, 50);
	assert_int_equal(b[0].seg_size, 1310);
	assert_int_equal(b[0].bytes, 50 * 1310);
	assert_int_equal(b[2].n, 50);
	assert_int_equal(b[2].bytes, 49 * 1310 + 99);
	check_batches(sg, 150, b, k, 64, 65507);
	k = tun_seg_batch(sg, 150, TUN_UDP_MAX_SEGMENTS,
			  tun_udp_max_payload(true), b, 200);
	assert_int_equal(k, 4);
	assert_int_equal(b[0].n, 49);
	assert_int_equal(b[3].n, 3);
	check_batches(sg, 150, b, k, 64, 65487);

	/* Small datagrams: the segment count binds. */
	for (size_t i = 0; i < 150; i++)
		sizes[i] = 500;
	fake_segs(sg, sizes, 150);
	k = tun_seg_batch(sg, 150, 64, 65507, b, 200);
	assert_int_equal(k, 3);
	assert_int_equal(b[0].n, 64);
	assert_int_equal(b[1].n, 64);
	assert_int_equal(b[2].n, 22);
	check_batches(sg, 150, b, k, 64, 65507);
	k = tun_seg_batch(sg, 150, 7, 65507, b, 200);
	assert_int_equal(k, 22);
	check_batches(sg, 150, b, k, 7, 65507);

	/* A shorter datagram ends its send; a larger one starts a new
	 * one: two packets' segments given together. */
	const size_t mixed[] = {1000, 1000, 500, 1000, 1000, 1200, 1200, 900};
	fake_segs(sg, mixed, 8);
	k = tun_seg_batch(sg, 8, 64, 65507, b, 200);
	assert_int_equal(k, 3);
	assert_int_equal(b[0].n, 3);
	assert_int_equal(b[1].first, 3);
	assert_int_equal(b[1].n, 2);
	assert_int_equal(b[1].seg_size, 1000);
	assert_int_equal(b[2].first, 5);
	assert_int_equal(b[2].n, 3);
	assert_int_equal(b[2].seg_size, 1200);
	check_batches(sg, 8, b, k, 64, 65507);

	/* Errors. */
	assert_int_equal(tun_seg_batch(sg, 8, 64, 65507, b, 2), -ENOSPC);
	assert_int_equal(tun_seg_batch(sg, 8, 64, 1100, b, 200), -EMSGSIZE);
	assert_int_equal(tun_seg_batch(sg, 8, 0, 65507, b, 200), -EINVAL);
	assert_int_equal(tun_seg_batch(sg, 0, 64, 65507, b, 200), 0);
}

/* A real split of a 64000-byte IPv6 TSO packet, batched for an IPv6
 * underlay: 64 datagrams of 1068 bytes, 61 per send by bytes. */
static void test_batch_split(void **state)
{
	(void)state;
	static uint8_t pkt[70000];
	struct spec s = tcp6_spec();
	struct tun_batch b[8];
	uint8_t shdr[8];

	s.flags = F_ACK;
	s.opt = NULL;
	s.optlen = 0;
	size_t len = build(pkt, &s, payload, 64000);
	struct tun_gso gso = gso_of(&s, 1000);
	strait(shdr, 0);
	int n = tun_seg_split(pkt, len, &gso, shdr, hdrs, STRIDE, segs, 64);
	assert_int_equal(n, 64);
	int k = tun_seg_batch(segs, 64, TUN_UDP_MAX_SEGMENTS,
			      tun_udp_max_payload(true), b, 8);
	assert_int_equal(k, 2);
	assert_int_equal(b[0].n, 61);
	assert_int_equal(b[0].seg_size, 8 + 60 + 1000);
	assert_int_equal(b[1].n, 3);
	check_batches(segs, 64, b, k, 64, 65487);
}

/* ---- split, GRO, decap, coalesce: the round trip ---- */

static uint8_t grobuf[80000];
static struct tun_dgram dg[MAXSEG];
static struct tun_group groups[MAXSEG];
static struct iovec iov[4 * MAXSEG];
static uint8_t mhdrs[MAXSEG * STRIDE];

static void roundtrip(const struct spec *s, size_t plen, uint16_t size)
{
	static uint8_t pkt[70000], merged[70000];
	uint8_t shdr[8];
	size_t len = build(pkt, s, payload, plen), used;
	struct tun_gso gso = gso_of(s, size);
	uint16_t gro_size;

	strait(shdr, TUN_HDR_F_REPLY);
	int n = tun_seg_split(pkt, len, &gso, shdr, hdrs, STRIDE, segs, MAXSEG);
	assert_true(n > 1);
	check_segments(pkt, s, plen, size, shdr, segs, n, hdrs);
	size_t blen = gro_buffer(segs, n, grobuf, &gro_size);

	assert_int_equal(
	    tun_decap_split(grobuf, blen, gro_size, TAG, dg, MAXSEG), n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(dg[i].err, TUN_DECAP_OK);
		assert_int_equal(dg[i].flags, TUN_HDR_F_CSUM | TUN_HDR_F_REPLY);
		assert_ptr_equal(dg[i].pkt, grobuf + dg[i].off + 8);
		assert_int_equal(dg[i].len, dg[i].dlen - 8);
		assert_int_equal(dg[i].off, (size_t)i * gro_size);
	}

	int g = tun_coalesce(dg, n, &used, mhdrs, STRIDE, groups, MAXSEG, iov,
			     4 * MAXSEG);
	assert_int_equal(g, 1);
	assert_int_equal(used, n);
	assert_int_equal(groups[0].first, 0);
	assert_int_equal(groups[0].n, n);
	assert_int_equal(groups[0].iov, 0);
	assert_int_equal(groups[0].iovcnt, 2 + n);
	/* The payloads are the buffer's own bytes, not copies. */
	for (int i = 0; i < n; i++)
		assert_ptr_equal(iov[2 + i].iov_base,
				 dg[i].pkt + segs[i].hdr_len - 8);
	assert_ptr_equal(iov[1].iov_base, mhdrs);
	assert_int_equal(gather(&groups[0], iov, merged), len);
	/* The original, byte for byte (its IPv4 id is the first
	 * segment's, which is the original's). */
	assert_memory_equal(merged, pkt, len);
	assert_int_equal(groups[0].gso.type, gso.type);
	assert_true(groups[0].gso.needs_csum);
	assert_int_equal(groups[0].gso.size, size);
	assert_int_equal(groups[0].gso.csum_start, gso.csum_start);
	assert_int_equal(groups[0].gso.csum_offset,
			 s->proto == IPPROTO_UDP ? 6 : 16);
	assert_int_equal(groups[0].gso.hdr_len, segs[0].hdr_len - 8);
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct spec s = tcp4;

	s.flags = F_ACK | F_PSH;
	roundtrip(&s, 3 * 1000 + 123, 1000);
	s.flags = F_ACK;
	roundtrip(&s, 1448 * 10, 1448);
	roundtrip(&s, 65535 - 32 - 20, 1400);
	s = tcp6_spec();
	s.flags = F_ACK | F_PSH;
	roundtrip(&s, 64000, 1000);
	s.flags = F_ACK;
	roundtrip(&s, 65535 - 84, 1384); /* IP length 65535 */
	roundtrip(&s, 2 * 1300 + 1, 1300);
	/* USO: a UDP packet cut into datagrams comes back whole. */
	s = udp_of(tcp4);
	roundtrip(&s, 5 * 1400 + 7, 1400);
	s = udp_of(tcp6_spec());
	roundtrip(&s, 40 * 1232, 1232);
}

/* ---- coalesce: runs broken one condition at a time ---- */

static uint8_t pk[80][2000];

/* A segment of a flow into pk[slot], described by d: payload bytes
 * [off, off + plen) at seq + off. */
static void seg_at(struct tun_dgram *d, int slot, const struct spec *s,
		   size_t off, size_t plen)
{
	struct spec e = *s;

	e.seq += (uint32_t)off;
	e.id = (uint16_t)(e.id + slot);
	*d = (struct tun_dgram){
	    .flags = e.partial ? TUN_HDR_F_CSUM : 0,
	    .pkt = pk[slot],
	    .len = build(pk[slot], &e, payload + off, plen),
	};
}

/* n segments of size bytes from s into dg[0..n); the last plen_last. */
static void flow_segs_sz(const struct spec *s, int n, size_t size,
			 size_t plen_last)
{
	for (int i = 0; i < n; i++)
		seg_at(&dg[i], i, s, (size_t)i * size,
		       i == n - 1 ? plen_last : size);
}

static void flow_segs(const struct spec *s, int n, size_t plen_last)
{
	flow_segs_sz(s, n, 1000, plen_last);
}

/* The merged packet of dg[first..first + m), made independently: the
 * first's headers with the lengths, IPv4 checksum, the last's flags (TCP)
 * and the partial checksum of the whole. */
static size_t ref_merge(size_t first, size_t m, uint8_t *out)
{
	const uint8_t *a = dg[first].pkt, *z = dg[first + m - 1].pkt;
	bool v6 = a[0] >> 4 == 6;
	size_t iph = v6 ? 40 : 20;
	uint8_t proto = a[v6 ? 6 : 9];
	bool udp = proto == IPPROTO_UDP;
	size_t hl = iph + (udp ? 8 : (a[iph + 12] >> 4) * 4);
	size_t len = hl;

	memcpy(out, a, hl);
	for (size_t i = first; i < first + m; i++) {
		memcpy(out + len, dg[i].pkt + hl, dg[i].len - hl);
		len += dg[i].len - hl;
	}
	if (v6) {
		wr16(out + 4, len - 40);
	} else {
		wr16(out + 2, len);
		wr16(out + 10, 0);
		wr16(out + 10, (uint16_t)~ref_fold(ref_sum(out, 20, 0)));
	}
	size_t l4len = len - iph;
	if (udp)
		wr16(out + iph + 4, l4len);
	else
		out[iph + 13] = z[iph + 13];
	/* Partial checksum: pseudo-header sum for the whole L4 length. */
	uint8_t ph[40] = {0};
	if (v6) {
		memcpy(ph, out + 8, 32);
		wr32(ph + 32, (uint32_t)l4len);
		ph[39] = proto;
	} else {
		memcpy(ph, out + 12, 8);
		ph[9] = proto;
		wr16(ph + 10, l4len);
	}
	wr16(out + iph + (udp ? 6 : 16),
	     ref_fold(ref_sum(ph, v6 ? 40 : 12, 0)));
	return len;
}

/* Coalesces dg[0..n) and expects groups of the given sizes, in order,
 * each merged run equal to ref_merge's, each single the packet as it
 * came. */
static void expect_runs(size_t n, const size_t *runs, size_t nruns)
{
	static uint8_t got[70000], want[70000];
	size_t used, first = 0;

	int g = tun_coalesce(dg, n, &used, mhdrs, STRIDE, groups, MAXSEG, iov,
			     4 * MAXSEG);
	assert_int_equal(g, nruns);
	assert_int_equal(used, n);
	for (size_t i = 0; i < nruns; i++) {
		const struct tun_group *gr = &groups[i];

		while (dg[first].err)
			first++;
		assert_int_equal(gr->first, first);
		assert_int_equal(gr->n, runs[i]);
		size_t len = gather(gr, iov, got);
		if (runs[i] == 1) {
			assert_int_equal(gr->iovcnt, 2);
			assert_ptr_equal(iov[gr->iov + 1].iov_base,
					 dg[first].pkt);
			assert_int_equal(gr->gso.type, TUN_GSO_NONE);
		} else {
			assert_int_equal(gr->iovcnt, 2 + runs[i]);
			assert_int_equal(ref_merge(first, runs[i], want), len);
			assert_memory_equal(got, want, len);
			assert_int_not_equal(gr->gso.type, TUN_GSO_NONE);
			assert_int_equal(gr->gso.size,
					 dg[first].len - gr->gso.hdr_len);
		}
		first += runs[i];
	}
}

#define RUNS(n, ...)                                                           \
	do {                                                                   \
		const size_t r_[] = {__VA_ARGS__};                             \
		expect_runs((n), r_, sizeof(r_) / sizeof(r_[0]));              \
	} while (0)

static void test_coalesce_base(void **state)
{
	(void)state;
	struct spec s = tcp4;

	s.flags = F_ACK;
	flow_segs(&s, 5, 1000);
	RUNS(5, 5);
	flow_segs(&s, 5, 1); /* a shorter last */
	RUNS(5, 5);
	flow_segs(&s, 1, 1000); /* a run of one */
	RUNS(1, 1);
	s = tcp6_spec();
	s.flags = F_ACK;
	flow_segs(&s, 4, 999);
	RUNS(4, 4);
	expect_runs(0, NULL, 0);
}

/* Datagrams of one UDP flow (a 1400-byte packet stream, no GSO on the
 * sender) become one USO packet the kernel cuts again at the same
 * boundaries; another flow, a larger datagram after a smaller one, a
 * full checksum or the segment limit end the run. */
static void test_coalesce_udp(void **state)
{
	(void)state;
	struct spec s = udp_of(tcp4), o;

	flow_segs_sz(&s, 6, 1400, 1400);
	RUNS(6, 6);
	assert_int_equal(groups[0].gso.type, TUN_GSO_UDP_L4);
	assert_int_equal(groups[0].gso.csum_offset, 6);
	assert_int_equal(groups[0].gso.hdr_len, 28);
	assert_int_equal(groups[0].gso.size, 1400);
	flow_segs_sz(&s, 6, 1400, 3); /* a shorter last */
	RUNS(6, 6);
	/* Another port in the middle: three runs. */
	flow_segs_sz(&s, 6, 1400, 1400);
	o = s;
	o.sport++;
	seg_at(&dg[2], 2, &o, 0, 1400);
	RUNS(6, 2, 1, 3);
	/* A larger datagram after a smaller one starts a new run. */
	flow_segs_sz(&s, 4, 1000, 1000);
	seg_at(&dg[1], 1, &s, 0, 900);
	RUNS(4, 2, 2);
	/* A datagram with its checksum complete (no flag C) stands alone. */
	flow_segs_sz(&s, 3, 1000, 1000);
	o = s;
	o.partial = false;
	seg_at(&dg[1], 1, &o, 0, 1000);
	RUNS(3, 1, 1, 1);
	/* At most 64 datagrams in one packet. */
	flow_segs_sz(&s, 70, 100, 100);
	RUNS(70, 64, 6);
	/* IPv6. */
	s = udp_of(tcp6_spec());
	flow_segs_sz(&s, 5, 1232, 17);
	RUNS(5, 5);
	assert_int_equal(groups[0].gso.type, TUN_GSO_UDP_L4);
	assert_int_equal(groups[0].gso.hdr_len, 48);
}

static void test_coalesce_breaks(void **state)
{
	(void)state;
	struct spec s = tcp4, o;

	s.flags = F_ACK;
	/* A gap in sequence numbers. */
	flow_segs(&s, 4, 1000);
	o = s;
	o.seq += 1;
	seg_at(&dg[2], 2, &o, 2000, 1000);
	RUNS(4, 2, 1, 1);
	/* Another flow in between, then the first flow again. */
	flow_segs(&s, 4, 1000);
	o = s;
	o.sport++;
	seg_at(&dg[1], 1, &o, 1000, 1000);
	RUNS(4, 1, 1, 2);
	/* A bigger later segment; a shorter one in the middle. */
	flow_segs(&s, 3, 1000);
	seg_at(&dg[2], 2, &s, 2000, 1001);
	RUNS(3, 2, 1);
	flow_segs(&s, 4, 1000);
	seg_at(&dg[1], 1, &s, 1000, 500);
	seg_at(&dg[2], 2, &s, 1500, 1000);
	seg_at(&dg[3], 3, &s, 2500, 1000);
	RUNS(4, 2, 2);
	/* Flags: each of these keeps its segment out of any run; PSH ends
	 * a run with its segment in it. */
	const uint8_t bad[] = {F_SYN, F_FIN, F_RST, F_URG, F_ECE, F_CWR, 0};
	for (size_t i = 0; i < sizeof(bad); i++) {
		flow_segs(&s, 5, 1000);
		o = s;
		o.flags = (uint8_t)((bad[i] ? F_ACK : 0) | bad[i]);
		seg_at(&dg[2], 2, &o, 2000, 1000);
		RUNS(5, 2, 1, 2);
	}
	flow_segs(&s, 5, 1000);
	o = s;
	o.flags = F_ACK | F_PSH;
	seg_at(&dg[1], 1, &o, 1000, 1000);
	RUNS(5, 2, 3);
	/* A later timestamp: the rest of the flow runs on with it. */
	uint8_t ts2[12];
	memcpy(ts2, opt_ts, 12);
	ts2[7]++;
	flow_segs(&s, 4, 1000);
	o = s;
	o.opt = ts2;
	seg_at(&dg[2], 2, &o, 2000, 1000);
	seg_at(&dg[3], 3, &o, 3000, 1000);
	RUNS(4, 2, 2);
	/* No options against options. */
	flow_segs(&s, 3, 1000);
	o = s;
	o.opt = NULL;
	o.optlen = 0;
	seg_at(&dg[2], 2, &o, 2000, 1000);
	RUNS(3, 2, 1);
}

/* One header field changed on the third of four segments. */
static void vary(const struct spec *s, void (*change)(struct spec *))
{
	struct spec o = *s;

	flow_segs(s, 4, 1000);
	change(&o);
	seg_at(&dg[2], 2, &o, 2000, 1000);
	RUNS(4, 2, 1, 1);
}

static void ch_tos(struct spec *o)
{
	o->tos ^= 4;
}
static void ch_ttl(struct spec *o)
{
	o->ttl--;
}
static void ch_df(struct spec *o)
{
	o->df = !o->df;
}
static void ch_flow(struct spec *o)
{
	o->flow ^= 1;
}
static void ch_ack(struct spec *o)
{
	o->ack += 1000;
}
static void ch_win(struct spec *o)
{
	o->win++;
}
static void ch_src(struct spec *o)
{
	o->src = o->v6 ? "fd00:1::11" : "10.1.2.4";
}
static void ch_dst(struct spec *o)
{
	o->dst = o->v6 ? "fd00:30::8" : "10.30.0.8";
}
static void ch_dport(struct spec *o)
{
	o->dport++;
}
static void ch_partial(struct spec *o)
{
	o->partial = false;
}
static void ch_family(struct spec *o)
{
	if (o->v6) {
		o->v6 = false;
		o->src = "10.1.2.3";
		o->dst = "10.30.0.7";
	} else {
		o->v6 = true;
		o->src = "::ffff:10.1.2.3";
		o->dst = "::ffff:10.30.0.7";
	}
}

static void test_coalesce_fields(void **state)
{
	(void)state;
	void (*const all[])(struct spec *) = {
	    ch_tos, ch_ttl,   ch_ack,	  ch_win,    ch_src,
	    ch_dst, ch_dport, ch_partial, ch_family,
	};
	struct spec s4 = tcp4, s6 = tcp6_spec();

	s4.flags = s6.flags = F_ACK;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		vary(&s4, all[i]);
		vary(&s6, all[i]);
	}
	vary(&s4, ch_df);
	vary(&s6, ch_flow);
	/* The IPv4 identification may differ: it is not compared. */
	flow_segs(&s4, 3, 1000);
	pk[1][4] ^= 0x55;
	RUNS(3, 3);
}

static void test_coalesce_shape(void **state)
{
	(void)state;
	struct spec s = tcp4;

	s.flags = F_ACK;
	/* IPv4 options: never merged. */
	flow_segs(&s, 3, 1000);
	for (int i = 0; i < 3; i++) {
		memmove(pk[i] + 24, pk[i] + 20, dg[i].len - 20);
		memset(pk[i] + 20, 1, 4);
		pk[i][0] = 0x46;
		dg[i].len += 4;
		wr16(pk[i] + 2, dg[i].len);
	}
	RUNS(3, 1, 1, 1);
	/* IPv6 extension header: never merged. */
	struct spec s6 = tcp6_spec();
	s6.flags = F_ACK;
	flow_segs(&s6, 3, 1000);
	for (int i = 0; i < 3; i++) {
		memmove(pk[i] + 48, pk[i] + 40, dg[i].len - 40);
		memset(pk[i] + 40, 0, 8);
		pk[i][40] = IPPROTO_TCP;
		pk[i][42] = 1;
		pk[i][43] = 4;
		pk[i][6] = 0;
		dg[i].len += 8;
		wr16(pk[i] + 4, dg[i].len - 40);
	}
	RUNS(3, 1, 1, 1);
	/* Pure ACKs (no payload), and a fragment. */
	flow_segs(&s, 3, 0);
	seg_at(&dg[0], 0, &s, 0, 0);
	seg_at(&dg[1], 1, &s, 0, 1000);
	seg_at(&dg[2], 2, &s, 1000, 1000);
	RUNS(3, 1, 2);
	flow_segs(&s, 3, 1000);
	for (int i = 0; i < 3; i++)
		pk[i][6] |= 0x20; /* all alike, so that only MF decides */
	RUNS(3, 1, 1, 1);
	/* An IP length other than the bytes given. */
	flow_segs(&s, 3, 1000);
	dg[1].len--;
	RUNS(3, 1, 1, 1);
	/* Errored entries are skipped and end a run. */
	flow_segs(&s, 5, 1000);
	dg[0].err = TUN_DECAP_TAG;
	dg[2].err = TUN_DECAP_LENGTH;
	RUNS(5, 1, 2);
}

/* A run stops where its IP length would pass 65535, and where the
 * caller's arrays end. */
static void test_coalesce_limits(void **state)
{
	(void)state;
	struct spec s = tcp4;
	size_t used;

	s.flags = F_ACK;
	s.opt = NULL;
	s.optlen = 0;
	/* 66 segments of 1000: 65 fit (40 + 65000 bytes), then 1. */
	flow_segs(&s, 66, 1000);
	RUNS(66, 65, 1);
	/* IPv6 is held to 65535 bytes of IP length too, not of payload
	 * length: 84 + 65 * 1007 = 65539 is too long, 64 fit. */
	s = tcp6_spec();
	s.flags = F_ACK;
	flow_segs_sz(&s, 66, 1007, 1007);
	RUNS(66, 64, 2);

	/* Groups run out: the caller goes on with the rest. */
	s = tcp4;
	s.flags = F_ACK;
	flow_segs(&s, 6, 1000);
	pk[2][20 + 13] = F_ACK | F_PSH; /* PSH on the third: runs of 3, 3 */
	int g = tun_coalesce(dg, 6, &used, mhdrs, STRIDE, groups, 1, iov,
			     4 * MAXSEG);
	assert_int_equal(g, 1);
	assert_int_equal(used, 3);
	assert_int_equal(groups[0].n, 3);
	g = tun_coalesce(dg + used, 6 - used, &used, mhdrs, STRIDE, groups, 1,
			 iov, 4 * MAXSEG);
	assert_int_equal(g, 1);
	assert_int_equal(used, 3);
	/* iovecs run out: a run takes what fits (2 + 3 here), the rest
	 * is for the next call. */
	flow_segs(&s, 6, 1000);
	g = tun_coalesce(dg, 6, &used, mhdrs, STRIDE, groups, MAXSEG, iov, 5);
	assert_int_equal(g, 1);
	assert_int_equal(used, 3);
	assert_int_equal(groups[0].n, 3);
	assert_int_equal(groups[0].iovcnt, 5);
	/* Room for less than a run: singles. */
	g = tun_coalesce(dg, 6, &used, mhdrs, STRIDE, groups, MAXSEG, iov, 3);
	assert_int_equal(g, 1);
	assert_int_equal(used, 1);
	assert_int_equal(groups[0].n, 1);
	/* Nothing fits. */
	assert_int_equal(
	    tun_coalesce(dg, 6, &used, mhdrs, STRIDE, groups, MAXSEG, iov, 1),
	    -EINVAL);
	assert_int_equal(
	    tun_coalesce(dg, 6, &used, mhdrs, STRIDE, groups, 0, iov, 8),
	    -EINVAL);
	assert_int_equal(tun_coalesce(dg, 6, &used, mhdrs, TUN_COAL_HDR_MAX - 1,
				      groups, MAXSEG, iov, 8),
			 -EINVAL);
	assert_int_equal(
	    tun_coalesce(dg, 0, &used, mhdrs, STRIDE, groups, 0, iov, 0), 0);
	assert_int_equal(used, 0);
}

/* The gso of single packets: partial TCP and UDP get their checksum's
 * place; complete ones none. */
static void test_coalesce_single_gso(void **state)
{
	(void)state;
	struct spec s = tcp6_spec();
	size_t used;

	s.flags = F_ACK | F_SYN;
	seg_at(&dg[0], 0, &s, 0, 0);
	s.proto = IPPROTO_UDP;
	seg_at(&dg[1], 1, &s, 0, 100);
	s.partial = false;
	seg_at(&dg[2], 2, &s, 0, 100);
	int g = tun_coalesce(dg, 3, &used, mhdrs, STRIDE, groups, MAXSEG, iov,
			     4 * MAXSEG);
	assert_int_equal(g, 3);
	assert_true(groups[0].gso.needs_csum);
	assert_int_equal(groups[0].gso.type, TUN_GSO_NONE);
	assert_int_equal(groups[0].gso.csum_start, 40);
	assert_int_equal(groups[0].gso.csum_offset, 16);
	assert_int_equal(groups[0].gso.hdr_len, 40 + 44);
	assert_true(groups[1].gso.needs_csum);
	assert_int_equal(groups[1].gso.csum_start, 40);
	assert_int_equal(groups[1].gso.csum_offset, 6);
	assert_int_equal(groups[1].gso.hdr_len, 48);
	assert_false(groups[2].gso.needs_csum);
	assert_int_equal(groups[2].gso.csum_start, 0);
	assert_int_equal(groups[2].gso.hdr_len, 0);
}

/* ---- decap ---- */

/* Appends a datagram: strait header with flags and tag, then pkt. */
static size_t put_dgram(uint8_t *at, uint8_t ver, uint8_t flags, uint32_t tag,
			const uint8_t *pkt, size_t len)
{
	at[0] = ver;
	at[1] = flags;
	at[2] = at[3] = 0;
	wr32(at + 4, tag);
	memcpy(at + 8, pkt, len);
	return 8 + len;
}

static void test_decap(void **state)
{
	(void)state;
	uint8_t pkt[1200], icmp[100], b[4 * 1208 + 10];
	struct spec s = tcp4;
	size_t n = 0;

	s.flags = F_ACK;
	size_t len = build(pkt, &s, payload, 1000 - 52);
	assert_int_equal(len, 1000);
	/* Four datagrams of 1008 bytes: good, wrong version, wrong tag,
	 * then a short last one: good, a UDP datagram. */
	n += put_dgram(b + n, 1, TUN_HDR_F_CSUM, TAG, pkt, len);
	n += put_dgram(b + n, 2, TUN_HDR_F_CSUM, TAG, pkt, len);
	n += put_dgram(b + n, 1, TUN_HDR_F_CSUM, TAG + 1, pkt, len);
	struct spec u = tcp4;
	u.proto = IPPROTO_UDP;
	size_t ulen = build(icmp, &u, payload, 30);
	n += put_dgram(b + n, 1, TUN_HDR_F_CSUM | 0xf0, TAG, icmp, ulen);
	assert_int_equal(tun_decap_split(b, n, 1008, TAG, dg, 4), 4);
	assert_int_equal(dg[0].err, TUN_DECAP_OK);
	assert_ptr_equal(dg[0].pkt, b + 8);
	assert_int_equal(dg[0].len, 1000);
	assert_int_equal(dg[1].err, TUN_DECAP_VERSION);
	assert_null(dg[1].pkt);
	assert_int_equal(dg[1].len, 0);
	assert_int_equal(dg[1].off, 1008);
	assert_int_equal(dg[1].dlen, 1008);
	assert_int_equal(dg[2].err, TUN_DECAP_TAG);
	assert_int_equal(dg[3].err, TUN_DECAP_OK);
	assert_int_equal(dg[3].flags, TUN_HDR_F_CSUM);
	assert_int_equal(dg[3].off, 3 * 1008);
	assert_int_equal(dg[3].dlen, 8 + ulen);
	assert_int_equal(dg[3].len, ulen);
	/* More datagrams than room. */
	assert_int_equal(tun_decap_split(b, n, 1008, TAG, dg, 3), -ENOSPC);
	/* gro_size 0, or at least the length: one datagram. */
	assert_int_equal(tun_decap_split(b, 1008, 0, TAG, dg, 1), 1);
	assert_int_equal(dg[0].err, TUN_DECAP_OK);
	assert_int_equal(tun_decap_split(b, 1008, 1008, TAG, dg, 1), 1);
	assert_int_equal(dg[0].err, TUN_DECAP_OK);
	assert_int_equal(tun_decap_split(b, 1008, 5000, TAG, dg, 1), 1);
	assert_int_equal(dg[0].err, TUN_DECAP_OK);
	/* Short datagrams, down to nothing. */
	for (size_t l = 0; l < 8; l++) {
		assert_int_equal(tun_decap_split(b, l, 0, TAG, dg, 1), 1);
		assert_int_equal(dg[0].err, TUN_DECAP_SHORT);
	}
	assert_int_equal(tun_decap_split(b, 8, 0, TAG, dg, 1), 1);
	assert_int_equal(dg[0].err, TUN_DECAP_MALFORMED);
	/* Three datagrams where the last is a lone byte. */
	assert_int_equal(tun_decap_split(b, 2 * 1008 + 1, 1008, TAG, dg, 3), 3);
	assert_int_equal(dg[2].err, TUN_DECAP_SHORT);
	assert_int_equal(dg[2].dlen, 1);

	/* The inner length must be the bytes present, both ways. */
	assert_int_equal(tun_decap_split(b, 1007, 0, TAG, dg, 1), 1);
	assert_int_equal(dg[0].err, TUN_DECAP_LENGTH);
	n = put_dgram(b, 1, 0, TAG, pkt, len);
	b[n++] = 0;
	assert_int_equal(tun_decap_split(b, n, 0, TAG, dg, 1), 1);
	assert_int_equal(dg[0].err, TUN_DECAP_LENGTH);
	/* Not IP; an IPv6 jumbogram. */
	memset(b + 8, 0x55, 100);
	assert_int_equal(tun_decap_split(b, 108, 0, TAG, dg, 1), 1);
	assert_int_equal(dg[0].err, TUN_DECAP_MALFORMED);
	struct spec s6 = tcp6_spec();
	s6.flags = F_ACK;
	len = build(pkt, &s6, payload, 100);
	n = put_dgram(b, 1, 0, TAG, pkt, len);
	assert_int_equal(tun_decap_split(b, n, 0, TAG, dg, 1), 1);
	assert_int_equal(dg[0].err, TUN_DECAP_OK);
	wr16(b + 8 + 4, 0);
	assert_int_equal(tun_decap_split(b, n, 0, TAG, dg, 1), 1);
	assert_int_equal(dg[0].err, TUN_DECAP_MALFORMED);

	/* Flag C needs a TCP or UDP checksum to complete. */
	memset(icmp, 0, sizeof(icmp));
	icmp[0] = 0x45;
	wr16(icmp + 2, 28);
	icmp[8] = 64;
	icmp[9] = IPPROTO_ICMP;
	icmp[20] = 8; /* echo */
	n = put_dgram(b, 1, 0, TAG, icmp, 28);
	assert_int_equal(tun_decap_split(b, n, 0, TAG, dg, 1), 1);
	assert_int_equal(dg[0].err, TUN_DECAP_OK);
	b[1] = TUN_HDR_F_CSUM;
	assert_int_equal(tun_decap_split(b, n, 0, TAG, dg, 1), 1);
	assert_int_equal(dg[0].err, TUN_DECAP_CSUM);
	/* A TCP header cut short. */
	s.flags = F_ACK;
	len = build(pkt, &s, payload, 0); /* 20 + 32 */
	wr16(pkt + 2, 20 + 16);
	n = put_dgram(b, 1, TUN_HDR_F_CSUM, TAG, pkt, 36);
	assert_int_equal(tun_decap_split(b, n, 0, TAG, dg, 1), 1);
	assert_int_equal(dg[0].err, TUN_DECAP_CSUM);
	b[1] = 0;
	assert_int_equal(tun_decap_split(b, n, 0, TAG, dg, 1), 1);
	assert_int_equal(dg[0].err, TUN_DECAP_OK);
	/* A fragment. */
	len = build(pkt, &s, payload, 100);
	pkt[6] |= 0x20;
	n = put_dgram(b, 1, TUN_HDR_F_CSUM, TAG, pkt, len);
	assert_int_equal(tun_decap_split(b, n, 0, TAG, dg, 1), 1);
	assert_int_equal(dg[0].err, TUN_DECAP_CSUM);
	/* And the reverse order of checks: version before tag. */
	n = put_dgram(b, 3, 0, TAG + 1, pkt, len);
	assert_int_equal(tun_decap_split(b, n, 0, TAG, dg, 1), 1);
	assert_int_equal(dg[0].err, TUN_DECAP_VERSION);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hdr_roundtrip),
	    cmocka_unit_test(test_hdr_errors),
	    cmocka_unit_test(test_split_tcp4),
	    cmocka_unit_test(test_split_tcp6),
	    cmocka_unit_test(test_split_udp),
	    cmocka_unit_test(test_split_none),
	    cmocka_unit_test(test_split_errors),
	    cmocka_unit_test(test_batch),
	    cmocka_unit_test(test_batch_split),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_coalesce_base),
	    cmocka_unit_test(test_coalesce_udp),
	    cmocka_unit_test(test_coalesce_breaks),
	    cmocka_unit_test(test_coalesce_fields),
	    cmocka_unit_test(test_coalesce_shape),
	    cmocka_unit_test(test_coalesce_limits),
	    cmocka_unit_test(test_coalesce_single_gso),
	    cmocka_unit_test(test_decap),
	};

	fill_payload();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
