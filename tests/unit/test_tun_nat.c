/* strait-tun's address translation (tun/nat.h) and the checksum
 * primitives under it (lib/csum.h).
 *
 * Every packet here is built from scratch by build(), whose checksums come
 * from a reference written for the test alone (a byte-by-byte sum, a
 * pseudo-header laid out in bytes), not from lib/csum. A translation is
 * judged by building the packet it should give, from scratch again, with
 * the new addresses, and comparing every byte: so every checksum field of
 * the translated packet (IPv4 header, L4, quoted IPv4 header, quoted L4,
 * ICMP) is checked against a recomputation. In PARTIAL mode build() puts
 * the folded pseudo-header sum in the TCP/UDP field, so the comparison
 * checks that the field equals the sum for the new addresses. The inverse
 * translation must then give the original bytes back.
 *
 * Packets are translated in allocations of exactly their length, so that
 * under ASan any access past the end fails the test.
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
#include <sys/socket.h>

#include <cmocka.h>

#include "../../lib/csum.h"
#include "../../tun/nat.h"

/* A client pod P, a service S, an instance I of S, a router R on the way,
 * and the final destination F of a routing header. */
struct fam {
	int family;
	const char *p, *s, *i, *r;
};

static const struct fam fams[] = {
    {AF_INET, "10.1.0.5", "10.30.0.10", "10.2.0.7", "10.9.0.1"},
    {AF_INET6, "fd00:1::5", "fd00:30::10", "fd00:2::7", "fd00:9::1"},
};
#define V4 (&fams[0])
#define V6 (&fams[1])
#define F6 "fd00:ff::1"

static const enum tun_csum modes[] = {TUN_CSUM_FULL, TUN_CSUM_PARTIAL};

#define MAXPKT 2048

/* ---- the reference checksum ---- */

static uint32_t ref_sum(uint32_t s, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s += i % 2 ? b[i] : (uint32_t)b[i] << 8;
	return s;
}

static uint16_t ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t ref_pseudo(int family, const uint8_t *src, const uint8_t *dst,
			   uint8_t proto, size_t len)
{
	uint8_t ph[40] = {0};

	if (family == AF_INET) {
		memcpy(ph, src, 4);
		memcpy(ph + 4, dst, 4);
		ph[9] = proto;
		put16(ph + 10, (uint16_t)len);
		return ref_sum(0, ph, 12);
	}
	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	put16(ph + 32, (uint16_t)(len >> 16));
	put16(ph + 34, (uint16_t)len);
	ph[39] = proto;
	return ref_sum(0, ph, 40);
}

static size_t pton(int family, const char *s, uint8_t *a)
{
	memset(a, 0, 16);
	assert_int_equal(inet_pton(family, s, a), 1);
	return family == AF_INET ? 4 : 16;
}

/* ---- packets from scratch ---- */

enum ext {
	EXT_NONE,
	EXT_V4_OPTS,  /* 8 bytes of IPv4 options */
	EXT_DEST,     /* IPv6 destination options, 8 bytes */
	EXT_HOP_DEST, /* hop-by-hop 8, destination options 16 */
	EXT_RH,	      /* routing header, segments left 0 */
	EXT_RH_SL,    /* routing header, segments left 1, final F6 */
	EXT_FRAG,     /* IPv6 fragment header */
};

struct spec {
	int family;
	const char *src, *dst;
	uint8_t proto; /* the upper layer */
	enum tun_csum mode;
	bool udp_zero; /* leave a UDP checksum 0 */
	enum ext ext;
	uint16_t frag_off; /* in 8-byte units; non-zero: no L4 header */
	bool mf;
};

static int l4_csum_off(int family, uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 16;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_DCCP:
		return 6;
	case IPPROTO_ICMP:
		return family == AF_INET ? 2 : -1;
	case IPPROTO_ICMPV6:
		return family == AF_INET6 ? 2 : -1;
	default:
		return -1;
	}
}

/* Fills the L4 checksum of n bytes at l4. */
static void fill_l4(uint8_t *l4, size_t n, const struct spec *s,
		    const uint8_t *src, const uint8_t *dst)
{
	int off = l4_csum_off(s->family, s->proto);
	uint32_t ph = 0;

	if (off < 0 || n < (size_t)off + 2)
		return;
	put16(l4 + off, 0);
	if (s->proto != IPPROTO_ICMP)
		ph = ref_pseudo(s->family, src, dst, s->proto, n);
	if (s->mode == TUN_CSUM_PARTIAL) {
		put16(l4 + off, ref_fold(ph));
		return;
	}
	if (s->udp_zero)
		return;
	uint16_t c = (uint16_t)~ref_fold(ref_sum(ph, l4, n));
	if (s->proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	put16(l4 + off, c);
}

static size_t v6_ext(uint8_t *b, const struct spec *s, uint8_t *first)
{
	uint8_t f[16];

	switch (s->ext) {
	case EXT_DEST:
		*first = 60;
		memcpy(b, (uint8_t[]){s->proto, 0, 1, 4, 0, 0, 0, 0}, 8);
		return 8;
	case EXT_HOP_DEST:
		*first = 0;
		memcpy(b, (uint8_t[]){60, 0, 1, 4, 0, 0, 0, 0}, 8);
		memset(b + 8, 0, 16);
		memcpy(b + 8, (uint8_t[]){s->proto, 1, 1, 12}, 4);
		return 24;
	case EXT_RH:
	case EXT_RH_SL:
		*first = 43;
		memset(b, 0, 24);
		b[0] = s->proto;
		b[1] = 2;
		b[3] = s->ext == EXT_RH_SL;
		pton(AF_INET6, F6, f);
		memcpy(b + 8, f, 16);
		return 24;
	case EXT_FRAG:
		*first = 44;
		memset(b, 0, 8);
		b[0] = s->proto;
		put16(b + 2, (uint16_t)(s->frag_off << 3 | s->mf));
		memcpy(b + 4, (uint8_t[]){0xde, 0xad, 0xbe, 0xef}, 4);
		return 8;
	default:
		*first = s->proto;
		return 0;
	}
}

/* The IP packet of spec s around the n L4 bytes at l4 (their checksum
 * field is filled here), in out; returns its length. */
static size_t build(uint8_t *out, const struct spec *s, const uint8_t *l4,
		    size_t n)
{
	uint8_t src[16], dst[16], pdst[16];
	size_t h;

	pton(s->family, s->src, src);
	pton(s->family, s->dst, dst);
	memcpy(pdst, dst, 16);
	if (s->family == AF_INET) {
		h = s->ext == EXT_V4_OPTS ? 28 : 20;
		memset(out, 0, h);
		out[0] = (uint8_t)(0x40 | h / 4);
		put16(out + 2, (uint16_t)(h + n));
		put16(out + 4, 0x1234);
		put16(out + 6, (uint16_t)((s->mf ? 0x2000 : 0) | s->frag_off));
		out[8] = 64;
		out[9] = s->proto;
		memcpy(out + 12, src, 4);
		memcpy(out + 16, dst, 4);
		if (h > 20) /* router alert, NOPs, end of list */
			memcpy(out + 20, (uint8_t[]){0x94, 4, 0, 0, 1, 1, 1, 0},
			       8);
	} else {
		memset(out, 0, 40);
		out[0] = 0x60;
		out[1] = 0x0a;
		out[3] = 0x42;
		out[7] = 64;
		memcpy(out + 8, src, 16);
		memcpy(out + 24, dst, 16);
		h = 40 + v6_ext(out + 40, s, &out[6]);
		put16(out + 4, (uint16_t)(h - 40 + n));
		if (s->ext == EXT_RH_SL)
			pton(AF_INET6, F6, pdst);
	}
	memcpy(out + h, l4, n);
	if (!s->frag_off)
		fill_l4(out + h, n, s, src, pdst);
	if (s->family == AF_INET)
		put16(out + 10, (uint16_t)~ref_fold(ref_sum(0, out, h)));
	return h + n;
}

static size_t mk_tcp(uint8_t *b, uint8_t flags, const uint8_t *opts,
		     size_t optlen, size_t payload)
{
	assert_true(optlen % 4 == 0 && optlen <= 40);
	memset(b, 0, 20);
	put16(b, 40000);
	put16(b + 2, 80);
	memcpy(b + 4, (uint8_t[]){1, 2, 3, 4, 0, 0, 0x10, 0x01}, 8);
	b[12] = (uint8_t)((20 + optlen) / 4 << 4);
	b[13] = flags;
	put16(b + 14, 64240);
	if (optlen)
		memcpy(b + 20, opts, optlen);
	for (size_t i = 0; i < payload; i++)
		b[20 + optlen + i] = (uint8_t)(i * 7 + 3);
	return 20 + optlen + payload;
}

#define SYN 0x02
#define ACK 0x10

static size_t mk_udp(uint8_t *b, size_t payload)
{
	put16(b, 5353);
	put16(b + 2, 53);
	put16(b + 4, (uint16_t)(8 + payload));
	put16(b + 6, 0);
	for (size_t i = 0; i < payload; i++)
		b[8 + i] = (uint8_t)(0xa0 + i * 13);
	return 8 + payload;
}

static size_t mk_echo(uint8_t *b, int family, size_t payload)
{
	b[0] = family == AF_INET ? 8 : 128;
	b[1] = 0;
	put16(b + 2, 0);
	put16(b + 4, 0x4242);
	put16(b + 6, 7);
	for (size_t i = 0; i < payload; i++)
		b[8 + i] = (uint8_t)(i ^ 0x5a);
	return 8 + payload;
}

static size_t mk_error(uint8_t *b, uint8_t type, uint8_t code, uint32_t rest,
		       const uint8_t *quote, size_t qlen)
{
	b[0] = type;
	b[1] = code;
	put16(b + 2, 0);
	put16(b + 4, (uint16_t)(rest >> 16));
	put16(b + 6, (uint16_t)rest);
	memcpy(b + 8, quote, qlen);
	return 8 + qlen;
}

static uint8_t icmp_proto(int family)
{
	return family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
}

/* A typical packet of protocol proto, src -> dst. */
static size_t mk(uint8_t *out, const struct spec *s, size_t payload)
{
	uint8_t l4[MAXPKT];
	size_t n;

	switch (s->proto) {
	case IPPROTO_TCP:
		n = mk_tcp(l4, ACK, NULL, 0, payload);
		break;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		n = mk_udp(l4, payload);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		n = mk_echo(l4, s->family, payload);
		break;
	default:
		/* DCCP (a 16-byte request header), SCTP, ESP: the L4 bytes
		 * only matter to the checksum. */
		n = 16 + payload;
		for (size_t i = 0; i < n; i++)
			l4[i] = (uint8_t)(i * 11 + 1);
		if (s->proto == IPPROTO_DCCP)
			l4[4] = 4; /* data offset 4 words, CsCov 0 */
		break;
	}
	return build(out, s, l4, n);
}

/* An ICMP error src -> dst about the packet inner (its first qlen bytes,
 * or all of it with qlen 0). */
static size_t mk_err(uint8_t *out, const struct spec *outer, uint8_t type,
		     uint8_t code, const uint8_t *inner, size_t ilen,
		     size_t qlen)
{
	uint8_t l4[MAXPKT];
	size_t n = mk_error(l4, type, code, 1400, inner,
			    qlen && qlen < ilen ? qlen : ilen);

	return build(out, outer, l4, n);
}

/* ---- the checks ---- */

typedef int (*nat_fn)(uint8_t *, size_t, const uint8_t *, const uint8_t *,
		      size_t, enum tun_csum);

static uint8_t *dup(const uint8_t *b, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	assert_non_null(c);
	memcpy(c, b, n);
	return c;
}

/* pkt, translated by fn from -> to, must give want and rc; the inverse
 * must give pkt back. */
static void check_nat(nat_fn fn, const uint8_t *pkt, size_t len,
		      const uint8_t *want, size_t wlen, int family,
		      const char *from, const char *to, enum tun_csum mode,
		      int rc)
{
	uint8_t a[16], b[16];
	size_t alen = pton(family, from, a);
	uint8_t *p = dup(pkt, len);

	pton(family, to, b);
	assert_int_equal(len, wlen);
	assert_true(memcmp(pkt, want, len) != 0); /* a test of something */
	assert_int_equal(fn(p, len, a, b, alen, mode), rc);
	assert_memory_equal(p, want, len);
	assert_int_equal(fn(p, len, b, a, alen, mode), rc);
	assert_memory_equal(p, pkt, len);
	free(p);
}

/* fn must refuse pkt with rc and leave it as it was. */
static void check_refused(nat_fn fn, const uint8_t *pkt, size_t len, int family,
			  const char *from, const char *to, enum tun_csum mode,
			  int rc)
{
	uint8_t a[16], b[16];
	size_t alen = pton(family, from, a);
	uint8_t *p = dup(pkt, len);

	pton(family, to, b);
	assert_int_equal(fn(p, len, a, b, alen, mode), rc);
	assert_memory_equal(p, pkt, len);
	free(p);
}

/* ---- lib/csum ---- */

static void fill_random(uint8_t *b, size_t n, unsigned int *seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rand_r(seed);
}

static void test_csum_add(void **state)
{
	uint8_t buf[300];
	unsigned int seed = 1;

	(void)state;
	/* RFC 1071 4.1's example, and an IPv4 header whose checksum is
	 * known (0xb861). */
	const uint8_t rfc[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	assert_int_equal(csum_fold(csum_add(0, rfc, 8)), 0xddf2);
	const uint8_t ip[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
			      0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
			      0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	assert_int_equal(csum_final(csum_add(0, ip, 20)), 0xb861);

	/* Every alignment and length, odd ones included, against the
	 * reference; a running sum carried in; pieces of even length
	 * chained. */
	for (int round = 0; round < 20; round++) {
		fill_random(buf, sizeof(buf), &seed);
		uint32_t start = (uint32_t)rand_r(&seed) * 2654435761u;
		for (size_t off = 0; off < 8; off++) {
			for (size_t n = 0; n <= 256; n++) {
				const uint8_t *b = buf + off;
				assert_int_equal(csum_fold(csum_add(0, b, n)),
						 ref_fold(ref_sum(0, b, n)));
				assert_int_equal(
				    csum_fold(csum_add(start, b, n)),
				    ref_fold(ref_sum(0, b, n) +
					     ref_fold(start)));
				assert_true(csum_add(start, b, n) <= 0xffff);
				size_t cut = n / 3 * 2;
				uint32_t s = csum_add(0, b, cut);
				assert_int_equal(
				    csum_fold(csum_add(s, b + cut, n - cut)),
				    csum_fold(csum_add(0, b, n)));
			}
		}
	}

	/* A long run of 0xff: no carry may be lost. 0xffff words fold to
	 * 0xffff, never 0. */
	static uint8_t big[1 << 20];
	memset(big, 0xff, sizeof(big));
	assert_int_equal(csum_fold(csum_add(0xffffffff, big, sizeof(big))),
			 0xffff);
	big[sizeof(big) - 1] = 0xfe;
	assert_int_equal(csum_fold(csum_add(0, big, sizeof(big))), 0xfffe);
	memset(big, 0, sizeof(big));
	assert_int_equal(csum_fold(csum_add(0, big, sizeof(big))), 0);
}

static void test_csum_fold(void **state)
{
	(void)state;
	assert_int_equal(csum_fold(0), 0);
	assert_int_equal(csum_fold(0xffff), 0xffff);
	assert_int_equal(csum_fold(0x10000), 1);
	assert_int_equal(csum_fold(0x1fffe), 0xffff);
	assert_int_equal(csum_fold(0xffffffff), 0xffff);
	assert_int_equal(csum_fold(0x12345678), 0x68ac);
	assert_int_equal(csum_final(0x12345678), 0x9753);
	assert_int_equal(csum_final(0), 0xffff);
	assert_int_equal(csum_final(0xffff), 0);
}

static void test_csum_pseudo(void **state)
{
	uint8_t s[16], d[16];
	unsigned int seed = 2;

	(void)state;
	for (int i = 0; i < 200; i++) {
		fill_random(s, 16, &seed);
		fill_random(d, 16, &seed);
		uint8_t proto = (uint8_t)rand_r(&seed);
		uint16_t len4 = (uint16_t)rand_r(&seed);
		uint32_t len6 = (uint32_t)rand_r(&seed) * 7;
		assert_true(csum_pseudo6(s, d, proto, len6) < 1 << 18);
		assert_int_equal(
		    csum_fold(csum_pseudo4(s, d, proto, len4)),
		    ref_fold(ref_pseudo(AF_INET, s, d, proto, len4)));
		assert_int_equal(
		    csum_fold(csum_pseudo6(s, d, proto, len6)),
		    ref_fold(ref_pseudo(AF_INET6, s, d, proto, len6)));
	}
}

/* Full fields: the update must equal a recomputation, exactly, and
 * undoing it must give the field back. */
static void test_csum_replace(void **state)
{
	uint8_t buf[64], was[16];
	unsigned int seed = 3;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		size_t n = 2 * (10 + (size_t)rand_r(&seed) % 22);
		fill_random(buf, n, &seed);
		put16(buf, 0);
		uint16_t ck = (uint16_t)~ref_fold(ref_sum(0, buf, n));
		put16(buf, ck);

		/* An even-aligned word, then 4 and 16 bytes. */
		size_t len = i % 3 == 0 ? 2 : i % 3 == 1 ? 4 : 16;
		size_t at = 2 + 2 * ((size_t)rand_r(&seed) % ((n - 2) / 2));
		if (at + len > n)
			at = n - len;
		memcpy(was, buf + at, len);
		uint8_t to[16];
		fill_random(to, len, &seed);
		uint16_t nck =
		    len == 2 ? csum_replace_word(ck, get16(was), get16(to))
			     : csum_replace_bytes(ck, was, to, len);
		memcpy(buf + at, to, len);
		put16(buf, 0);
		assert_int_equal(nck, (uint16_t)~ref_fold(ref_sum(0, buf, n)));
		if (ck != 0xffff)
			assert_int_equal(csum_replace_bytes(nck, to, was, len),
					 ck);

		/* A word at an odd offset counts byte-swapped. */
		size_t odd = 1 + 2 * ((size_t)rand_r(&seed) % ((n - 2) / 2));
		uint16_t w0 = get16(buf + odd), w1 = (uint16_t)rand_r(&seed);
		put16(buf + 0, nck);
		put16(buf + odd, w1);
		put16(buf, 0);
		uint16_t want = (uint16_t)~ref_fold(ref_sum(0, buf, n));
		if (odd != 1) { /* offset 1 overlaps the field itself */
			uint16_t sw0 = (uint16_t)(w0 << 8 | w0 >> 8);
			uint16_t sw1 = (uint16_t)(w1 << 8 | w1 >> 8);
			assert_int_equal(csum_replace_word(nck, sw0, sw1),
					 want);
		}
	}
}

/* Partial fields hold the folded pseudo-header sum; replacing an
 * address must give that of the new pseudo-header. */
static void test_csum_partial(void **state)
{
	uint8_t s[16], d[16], d2[16];
	unsigned int seed = 4;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		int family = i % 2 ? AF_INET6 : AF_INET;
		size_t alen = family == AF_INET ? 4 : 16;
		fill_random(s, 16, &seed);
		fill_random(d, 16, &seed);
		fill_random(d2, 16, &seed);
		size_t len = 8 + (size_t)rand_r(&seed) % 1400;
		uint16_t f = ref_fold(ref_pseudo(family, s, d, 6, len));
		uint16_t f2 = ref_fold(ref_pseudo(family, s, d2, 6, len));
		uint16_t got = csum_partial_replace_bytes(f, d, d2, alen);
		assert_int_equal(got, f2);
		assert_int_equal(csum_partial_replace_bytes(got, d2, d, alen),
				 f);
		/* The length in the pseudo-header, as a TSO split needs. */
		uint16_t f3 = ref_fold(ref_pseudo(family, s, d, 6, len - 7));
		assert_int_equal(csum_partial_replace_word(f, (uint16_t)len,
							   (uint16_t)(len - 7)),
				 f3);
	}
}

/* ---- translation ---- */

/* TCP, UDP and ICMP echo, both families, both modes: P -> S becomes
 * P -> I (DNAT) and I -> P becomes S -> P (SNAT). Payload lengths odd and
 * even. */
static void test_plain(void **state)
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP, 0};
	uint8_t a[MAXPKT], b[MAXPKT];

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		const struct fam *m = &fams[f];
		for (size_t i = 0; i < 3; i++) {
			uint8_t proto =
			    protos[i] ? protos[i] : icmp_proto(m->family);
			for (size_t k = 0; k < 2; k++) {
				enum tun_csum mode = modes[k];
				if (!protos[i] && mode == TUN_CSUM_PARTIAL)
					continue;
				for (size_t pl = 0; pl < 4; pl++) {
					struct spec s = {m->family, m->p, m->s,
							 proto, mode};
					size_t n = mk(a, &s, pl * 333);
					s.dst = m->i;
					size_t wn = mk(b, &s, pl * 333);
					check_nat(tun_nat_dnat, a, n, b, wn,
						  m->family, m->s, m->i, mode,
						  1);

					s = (struct spec){m->family, m->i, m->p,
							  proto, mode};
					n = mk(a, &s, pl * 333 + 1);
					s.src = m->s;
					wn = mk(b, &s, pl * 333 + 1);
					check_nat(tun_nat_snat, a, n, b, wn,
						  m->family, m->i, m->s, mode,
						  1);
				}
			}
		}
	}
}

/* UDP's zero checksum: stays zero; and a UDP checksum that comes out as 0
 * is written 0xffff. */
static void test_udp_zero(void **state)
{
	uint8_t a[MAXPKT], b[MAXPKT], l4[64];

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		const struct fam *m = &fams[f];
		struct spec s = {m->family, m->p, m->s, IPPROTO_UDP};
		s.udp_zero = true;
		size_t n = mk(a, &s, 20);
		s.dst = m->i;
		size_t wn = mk(b, &s, 20);
		check_nat(tun_nat_dnat, a, n, b, wn, m->family, m->s, m->i,
			  TUN_CSUM_FULL, 1);
		assert_int_equal(get16(b + wn - 28 + 6), 0);

		/* Payload chosen so that P -> I sums to 0xffff: its
		 * checksum is 0, sent as 0xffff; P -> S's is not. */
		uint8_t src[16], dst[16];
		size_t ln = mk_udp(l4, 2);
		pton(m->family, m->p, src);
		pton(m->family, m->i, dst);
		put16(l4 + 8, 0);
		uint32_t sum = ref_sum(
		    ref_pseudo(m->family, src, dst, IPPROTO_UDP, ln), l4, ln);
		put16(l4 + 8, (uint16_t)~ref_fold(sum));
		s = (struct spec){m->family, m->p, m->i, IPPROTO_UDP};
		wn = build(b, &s, l4, ln);
		assert_int_equal(get16(b + wn - ln + 6), 0xffff);
		s.dst = m->s;
		n = build(a, &s, l4, ln);
		assert_int_not_equal(get16(a + n - ln + 6), 0xffff);
		check_nat(tun_nat_dnat, a, n, b, wn, m->family, m->s, m->i,
			  TUN_CSUM_FULL, 1);
	}
}

/* A reply's SNAT undoes what its flow's DNAT did: P -> S, DNAT, is
 * P -> I; the instance answers I -> P, and SNAT makes it S -> P, the
 * mirror of the packet P sent. */
static void test_flow_round_trip(void **state)
{
	uint8_t fwd[MAXPKT], rep[MAXPKT], want[MAXPKT], l4[MAXPKT];
	const uint8_t opts[] = {2, 4, 0x05, 0xb4, 4, 2, 1, 0};

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		const struct fam *m = &fams[f];
		uint8_t s[16], i[16];
		size_t alen = pton(m->family, m->s, s);
		pton(m->family, m->i, i);

		size_t ln = mk_tcp(l4, SYN, opts, sizeof(opts), 0);
		struct spec sp = {m->family, m->p, m->s, IPPROTO_TCP};
		size_t n = build(fwd, &sp, l4, ln);
		uint8_t *p = dup(fwd, n);
		assert_int_equal(tun_nat_dnat(p, n, s, i, alen, TUN_CSUM_FULL),
				 1);
		sp.dst = m->i;
		assert_int_equal(build(want, &sp, l4, ln), n);
		assert_memory_equal(p, want, n);
		free(p);

		/* The reply, its ports and addresses swapped. */
		put16(l4, 80);
		put16(l4 + 2, 40000);
		l4[13] = SYN | ACK;
		sp = (struct spec){m->family, m->i, m->p, IPPROTO_TCP};
		n = build(rep, &sp, l4, ln);
		p = dup(rep, n);
		assert_int_equal(tun_nat_snat(p, n, i, s, alen, TUN_CSUM_FULL),
				 1);
		sp.src = m->s;
		assert_int_equal(build(want, &sp, l4, ln), n);
		assert_memory_equal(p, want, n);
		/* And back to what the instance sent. */
		assert_int_equal(tun_nat_snat(p, n, s, i, alen, TUN_CSUM_FULL),
				 1);
		assert_memory_equal(p, rep, n);
		free(p);
	}
}

/* ICMP errors: the outer address, the quoted packet's, and every checksum
 * on the way. */
static void test_icmp_errors(void **state)
{
	uint8_t in[MAXPKT], inw[MAXPKT], a[MAXPKT], b[MAXPKT];

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		const struct fam *m = &fams[f];
		bool v4 = m->family == AF_INET;
		uint8_t ip = icmp_proto(m->family);
		uint8_t unreach = v4 ? 3 : 1, port = v4 ? 3 : 4;
		uint8_t timex = v4 ? 11 : 3;
		size_t hl = v4 ? 20 : 40;

		/* P's port unreachable about a reply S -> P (TCP; UDP
		 * with a zero checksum in IPv4): DNAT S -> I rewrites the
		 * outer destination and the quoted source. Quotes of the
		 * IP header + 8 bytes (TCP's checksum is not in it),
		 * + 16, and of the whole packet. */
		for (int q = 0; q < 3; q++) {
			for (int udp = 0; udp < 2; udp++) {
				size_t ql = q == 0   ? hl + 8
					    : q == 1 ? hl + 18
						     : 0;
				struct spec is = {m->family, m->s, m->p,
						  udp ? IPPROTO_UDP
						      : IPPROTO_TCP};
				is.udp_zero = udp && v4;
				size_t il = mk(in, &is, 100);
				is.src = m->i;
				size_t iwl = mk(inw, &is, 100);
				struct spec os = {m->family, m->p, m->s, ip};
				size_t n =
				    mk_err(a, &os, unreach, port, in, il, ql);
				os.dst = m->i;
				size_t wn =
				    mk_err(b, &os, unreach, port, inw, iwl, ql);
				check_nat(tun_nat_dnat, a, n, b, wn, m->family,
					  m->s, m->i, TUN_CSUM_FULL, 2);
			}
		}

		/* A router's time exceeded about P -> I (UDP): SNAT
		 * I -> S rewrites only the quoted destination. */
		struct spec is = {m->family, m->p, m->i, IPPROTO_UDP};
		size_t il = mk(in, &is, 31);
		is.dst = m->s;
		size_t iwl = mk(inw, &is, 31);
		struct spec os = {m->family, m->r, m->p, ip};
		size_t n = mk_err(a, &os, timex, 0, in, il, 0);
		size_t wn = mk_err(b, &os, timex, 0, inw, iwl, 0);
		check_nat(tun_nat_snat, a, n, b, wn, m->family, m->i, m->s,
			  TUN_CSUM_FULL, 1);

		/* The instance's own port unreachable about P -> I: both
		 * its source and the quoted destination. */
		os = (struct spec){m->family, m->i, m->p, ip};
		n = mk_err(a, &os, unreach, port, in, il, hl + 8);
		os.src = m->s;
		wn = mk_err(b, &os, unreach, port, inw, iwl, hl + 8);
		check_nat(tun_nat_snat, a, n, b, wn, m->family, m->i, m->s,
			  TUN_CSUM_FULL, 2);

		/* Fragmentation needed / packet too big from a router
		 * about a large TCP segment P -> I, quoted whole. */
		is = (struct spec){m->family, m->p, m->i, IPPROTO_TCP};
		il = mk(in, &is, 1000);
		is.dst = m->s;
		iwl = mk(inw, &is, 1000);
		os = (struct spec){m->family, m->r, m->p, ip};
		uint8_t big = v4 ? 3 : 2, code = v4 ? 4 : 0;
		n = mk_err(a, &os, big, code, in, il, 0);
		wn = mk_err(b, &os, big, code, inw, iwl, 0);
		check_nat(tun_nat_snat, a, n, b, wn, m->family, m->i, m->s,
			  TUN_CSUM_FULL, 1);

		/* Time exceeded about a ping P -> I: a quoted ICMPv6 echo
		 * has a pseudo-header, an ICMPv4 one does not. */
		is = (struct spec){m->family, m->p, m->i, ip};
		il = mk(in, &is, 24);
		is.dst = m->s;
		iwl = mk(inw, &is, 24);
		n = mk_err(a, &os, timex, 0, in, il, 0);
		wn = mk_err(b, &os, timex, 0, inw, iwl, 0);
		check_nat(tun_nat_snat, a, n, b, wn, m->family, m->i, m->s,
			  TUN_CSUM_FULL, 1);
		if (v4) /* the quoted echo's checksum did not change */
			assert_memory_equal(a + 28 + 20 + 2, b + 28 + 20 + 2,
					    2);
		else
			assert_memory_not_equal(a + 48 + 40 + 2,
						b + 48 + 40 + 2, 2);

		/* About a non-first fragment: the quoted IP header alone
		 * changes, not its data where an L4 checksum would be. */
		uint8_t data[64];
		for (size_t k = 0; k < sizeof(data); k++)
			data[k] = (uint8_t)(0x81 + k * 5);
		is = (struct spec){m->family, m->s, m->p, IPPROTO_TCP};
		is.ext = v4 ? EXT_NONE : EXT_FRAG;
		is.frag_off = 20;
		il = build(in, &is, data, sizeof(data));
		is.src = m->i;
		iwl = build(inw, &is, data, sizeof(data));
		os = (struct spec){m->family, m->p, m->s, ip};
		n = mk_err(a, &os, timex, 1, in, il, 0);
		os.dst = m->i;
		wn = mk_err(b, &os, timex, 1, inw, iwl, 0);
		check_nat(tun_nat_dnat, a, n, b, wn, m->family, m->s, m->i,
			  TUN_CSUM_FULL, 2);

		/* Parameter problem, from the instance, about P -> I. */
		uint8_t param = v4 ? 12 : 4;
		is = (struct spec){m->family, m->p, m->i, IPPROTO_TCP};
		il = mk(in, &is, 3);
		is.dst = m->s;
		iwl = mk(inw, &is, 3);
		os = (struct spec){m->family, m->i, m->p, ip};
		n = mk_err(a, &os, param, 0, in, il, 0);
		os.src = m->s;
		wn = mk_err(b, &os, param, 0, inw, iwl, 0);
		check_nat(tun_nat_snat, a, n, b, wn, m->family, m->i, m->s,
			  TUN_CSUM_FULL, 2);

		/* A quoted packet with IPv4 options or IPv6 extension
		 * headers: its L4 checksum is found past them. */
		is = (struct spec){m->family, m->s, m->p, IPPROTO_TCP};
		is.ext = v4 ? EXT_V4_OPTS : EXT_HOP_DEST;
		il = mk(in, &is, 10);
		is.src = m->i;
		iwl = mk(inw, &is, 10);
		os = (struct spec){m->family, m->p, m->s, ip};
		n = mk_err(a, &os, unreach, port, in, il, 0);
		os.dst = m->i;
		wn = mk_err(b, &os, unreach, port, inw, iwl, 0);
		check_nat(tun_nat_dnat, a, n, b, wn, m->family, m->s, m->i,
			  TUN_CSUM_FULL, 2);

		/* ICMP checksums are never partial. */
		check_refused(tun_nat_dnat, a, n, m->family, m->s, m->i,
			      TUN_CSUM_PARTIAL, -EINVAL);
	}
}

/* Quotes that are not translated: only the outer packet is. */
static void test_icmp_errors_outer_only(void **state)
{
	uint8_t in[MAXPKT], a[MAXPKT], b[MAXPKT];

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		const struct fam *m = &fams[f];
		const struct fam *other = &fams[1 - f];
		bool v4 = m->family == AF_INET;
		uint8_t ip = icmp_proto(m->family);
		uint8_t unreach = v4 ? 3 : 1;

		/* About a packet of the other family. */
		struct spec is = {other->family, other->s, other->p,
				  IPPROTO_UDP};
		size_t il = mk(in, &is, 8);
		struct spec os = {m->family, m->p, m->s, ip};
		size_t n = mk_err(a, &os, unreach, 3, in, il, 0);
		os.dst = m->i;
		size_t wn = mk_err(b, &os, unreach, 3, in, il, 0);
		check_nat(tun_nat_dnat, a, n, b, wn, m->family, m->s, m->i,
			  TUN_CSUM_FULL, 1);

		/* The same, its source's first bytes those of S: still
		 * the other family's, not to be touched. */
		if (v4) {
			is = (struct spec){AF_INET6, "a1e:a::5", other->p,
					   IPPROTO_TCP};
			il = mk(in, &is, 8);
			os = (struct spec){m->family, m->p, m->s, ip};
			n = mk_err(a, &os, unreach, 3, in, il, 0);
			os.dst = m->i;
			wn = mk_err(b, &os, unreach, 3, in, il, 0);
			check_nat(tun_nat_dnat, a, n, b, wn, m->family, m->s,
				  m->i, TUN_CSUM_FULL, 1);
			os.dst = m->s;
		}

		/* A quote cut inside its IP header. */
		is = (struct spec){m->family, m->s, m->p, IPPROTO_UDP};
		il = mk(in, &is, 8);
		os.dst = m->s;
		n = mk_err(a, &os, unreach, 3, in, il, 12);
		os.dst = m->i;
		wn = mk_err(b, &os, unreach, 3, in, il, 12);
		check_nat(tun_nat_dnat, a, n, b, wn, m->family, m->s, m->i,
			  TUN_CSUM_FULL, 1);

		/* A quoted source that is not S (about another flow). */
		is.src = m->r;
		il = mk(in, &is, 8);
		os.dst = m->s;
		n = mk_err(a, &os, unreach, 3, in, il, 0);
		os.dst = m->i;
		wn = mk_err(b, &os, unreach, 3, in, il, 0);
		check_nat(tun_nat_dnat, a, n, b, wn, m->family, m->s, m->i,
			  TUN_CSUM_FULL, 1);

		/* An echo reply is no error, even with an IP packet for
		 * its data. */
		is.src = m->s;
		il = mk(in, &is, 8);
		os.dst = m->s;
		uint8_t reply = v4 ? 0 : 129;
		n = mk_err(a, &os, reply, 0, in, il, 0);
		os.dst = m->i;
		wn = mk_err(b, &os, reply, 0, in, il, 0);
		check_nat(tun_nat_dnat, a, n, b, wn, m->family, m->s, m->i,
			  TUN_CSUM_FULL, 1);

		/* DNAT's outer destination must match: an error that is
		 * not for S is not S's, whatever it quotes. */
		is = (struct spec){m->family, m->s, m->p, IPPROTO_UDP};
		il = mk(in, &is, 8);
		os = (struct spec){m->family, m->p, m->r, ip};
		n = mk_err(a, &os, unreach, 3, in, il, 0);
		check_refused(tun_nat_dnat, a, n, m->family, m->s, m->i,
			      TUN_CSUM_FULL, -ENOENT);

		/* SNAT of a router's error about a flow that is not I's:
		 * nothing to do. */
		is = (struct spec){m->family, m->p, m->r, IPPROTO_UDP};
		il = mk(in, &is, 8);
		os = (struct spec){m->family, m->r, m->p, ip};
		n = mk_err(a, &os, unreach, 3, in, il, 0);
		check_refused(tun_nat_snat, a, n, m->family, m->i, m->s,
			      TUN_CSUM_FULL, -ENOENT);
	}
}

/* IPv4 options and IPv6 extension headers before the L4 header. */
static void test_ip_options_and_ext(void **state)
{
	static const enum ext v6ext[] = {EXT_DEST, EXT_HOP_DEST, EXT_RH};
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	uint8_t a[MAXPKT], b[MAXPKT];

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		for (size_t pr = 0; pr < 2; pr++) {
			const struct fam *m = V4;
			struct spec s = {m->family, m->p, m->s, protos[pr],
					 modes[k]};
			s.ext = EXT_V4_OPTS;
			size_t n = mk(a, &s, 40);
			s.dst = m->i;
			size_t wn = mk(b, &s, 40);
			check_nat(tun_nat_dnat, a, n, b, wn, m->family, m->s,
				  m->i, modes[k], 1);

			m = V6;
			for (size_t e = 0; e < 3; e++) {
				s = (struct spec){m->family, m->i, m->p,
						  protos[pr], modes[k]};
				s.ext = v6ext[e];
				n = mk(a, &s, 41);
				s.src = m->s;
				wn = mk(b, &s, 41);
				check_nat(tun_nat_snat, a, n, b, wn, m->family,
					  m->i, m->s, modes[k], 1);
				s.src = m->p;
				s.dst = m->s;
				n = mk(a, &s, 41);
				s.dst = m->i;
				wn = mk(b, &s, 41);
				check_nat(tun_nat_dnat, a, n, b, wn, m->family,
					  m->s, m->i, modes[k], 1);
			}
		}
	}

	/* ICMPv6 echo behind a destination options header. */
	const struct fam *m = V6;
	struct spec s = {m->family, m->p, m->s, IPPROTO_ICMPV6};
	s.ext = EXT_DEST;
	size_t n = mk(a, &s, 9);
	s.dst = m->i;
	size_t wn = mk(b, &s, 9);
	check_nat(tun_nat_dnat, a, n, b, wn, m->family, m->s, m->i,
		  TUN_CSUM_FULL, 1);

	/* With segments left, the destination is a waypoint: DNAT is
	 * refused; the source is the pseudo-header's, and SNAT goes on. */
	s = (struct spec){m->family, m->p, m->s, IPPROTO_TCP};
	s.ext = EXT_RH_SL;
	n = mk(a, &s, 10);
	check_refused(tun_nat_dnat, a, n, m->family, m->s, m->i, TUN_CSUM_FULL,
		      -EOPNOTSUPP);
	s = (struct spec){m->family, m->i, m->p, IPPROTO_TCP};
	s.ext = EXT_RH_SL;
	n = mk(a, &s, 10);
	s.src = m->s;
	wn = mk(b, &s, 10);
	check_nat(tun_nat_snat, a, n, b, wn, m->family, m->i, m->s,
		  TUN_CSUM_FULL, 1);
}

/* Other protocols: those with a pseudo-header checksum have it updated,
 * the others only the IP header. */
static void test_other_protocols(void **state)
{
	static const uint8_t protos[] = {IPPROTO_UDPLITE, IPPROTO_DCCP,
					 IPPROTO_SCTP, IPPROTO_ESP};
	uint8_t a[MAXPKT], b[MAXPKT];

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		const struct fam *m = &fams[f];
		for (size_t i = 0; i < 4; i++) {
			struct spec s = {m->family, m->p, m->s, protos[i]};
			size_t n = mk(a, &s, 21);
			s.dst = m->i;
			size_t wn = mk(b, &s, 21);
			check_nat(tun_nat_dnat, a, n, b, wn, m->family, m->s,
				  m->i, TUN_CSUM_FULL, 1);
			/* Only TCP and UDP can be partial. */
			check_refused(tun_nat_dnat, a, n, m->family, m->s, m->i,
				      TUN_CSUM_PARTIAL, -EINVAL);
		}
		/* ICMPv4 in IPv6 and ICMPv6 in IPv4 are nobody's ICMP. */
		uint8_t wrong =
		    m->family == AF_INET ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
		struct spec s = {m->family, m->p, m->s, wrong};
		size_t n = mk(a, &s, 3);
		s.dst = m->i;
		size_t wn = mk(b, &s, 3);
		check_nat(tun_nat_dnat, a, n, b, wn, m->family, m->s, m->i,
			  TUN_CSUM_FULL, 1);
		if (m->family == AF_INET6) /* no checksum changed at all */
			assert_memory_equal(a + 40, b + 40, n - 40);
	}
}

/* Fragments: a non-first one gets the IP-level change alone. */
static void test_fragments(void **state)
{
	uint8_t a[MAXPKT], b[MAXPKT];

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		const struct fam *m = &fams[f];
		bool v4 = m->family == AF_INET;
		uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP,
				    icmp_proto(m->family)};
		for (size_t i = 0; i < 3; i++) {
			/* A middle fragment: its bytes are data, even where
			 * a TCP checksum would sit. */
			struct spec s = {m->family, m->p, m->s, protos[i]};
			s.ext = v4 ? EXT_NONE : EXT_FRAG;
			s.frag_off = 185;
			s.mf = true;
			size_t n = mk(a, &s, 60);
			s.dst = m->i;
			size_t wn = mk(b, &s, 60);
			check_nat(tun_nat_dnat, a, n, b, wn, m->family, m->s,
				  m->i, TUN_CSUM_FULL, 1);
			size_t h = v4 ? 20 : 48;
			assert_memory_equal(a + h, b + h, n - h);
			check_refused(tun_nat_dnat, a, n, m->family, m->s, m->i,
				      TUN_CSUM_PARTIAL, -EINVAL);

			/* The first fragment carries the L4 header. */
			s = (struct spec){m->family, m->p, m->s, protos[i]};
			s.ext = v4 ? EXT_NONE : EXT_FRAG;
			s.mf = true;
			n = mk(a, &s, 60);
			s.dst = m->i;
			wn = mk(b, &s, 60);
			check_nat(tun_nat_dnat, a, n, b, wn, m->family, m->s,
				  m->i, TUN_CSUM_FULL, 1);
		}

		/* A tiny first fragment without the TCP checksum. */
		uint8_t l4[20];
		mk_tcp(l4, ACK, NULL, 0, 0);
		struct spec s = {m->family, m->p, m->s, IPPROTO_TCP};
		s.ext = v4 ? EXT_NONE : EXT_FRAG;
		s.mf = true;
		size_t n = build(a, &s, l4, 8);
		check_refused(tun_nat_dnat, a, n, m->family, m->s, m->i,
			      TUN_CSUM_FULL, -EINVAL);
	}
}

/* Refusals leave the packet as it was. */
static void test_refused(void **state)
{
	uint8_t a[MAXPKT], b[MAXPKT], in[MAXPKT];

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		const struct fam *m = &fams[f];
		const struct fam *other = &fams[1 - f];
		bool v4 = m->family == AF_INET;
		struct spec s = {m->family, m->p, m->s, IPPROTO_TCP};
		size_t n = mk(a, &s, 30);

		/* Cut anywhere: the packet is shorter than it says. */
		for (size_t len = 0; len < n; len++) {
			check_refused(tun_nat_dnat, a, len, m->family, m->s,
				      m->i, TUN_CSUM_FULL, -EINVAL);
			uint8_t *p = dup(a, len);
			assert_int_equal(
			    tun_mss_clamp(p, len, 1000, TUN_CSUM_FULL),
			    -EINVAL);
			assert_memory_equal(p, a, len);
			free(p);
		}
		/* An ICMP error, cut anywhere. */
		struct spec is = {m->family, m->s, m->p, IPPROTO_TCP};
		size_t il = mk(in, &is, 30);
		struct spec os = {m->family, m->p, m->s, icmp_proto(m->family)};
		size_t en = mk_err(b, &os, v4 ? 3 : 1, 3, in, il, 0);
		for (size_t len = 0; len < en; len++)
			check_refused(tun_nat_dnat, b, len, m->family, m->s,
				      m->i, TUN_CSUM_FULL, -EINVAL);

		/* Bytes past the packet's length (link padding) are
		 * neither a reason to refuse nor changed. */
		struct spec ws = s;
		ws.dst = m->i;
		size_t wn = mk(b, &ws, 30);
		memset(a + n, 0xee, 6);
		memset(b + wn, 0xee, 6);
		check_nat(tun_nat_dnat, a, n + 6, b, wn + 6, m->family, m->s,
			  m->i, TUN_CSUM_FULL, 1);

		/* The other family's address length. */
		check_refused(tun_nat_dnat, a, n, other->family, other->s,
			      other->i, TUN_CSUM_FULL, -EAFNOSUPPORT);
		check_refused(tun_nat_snat, a, n, other->family, other->p,
			      other->i, TUN_CSUM_FULL, -EAFNOSUPPORT);

		/* Nothing matches. */
		check_refused(tun_nat_dnat, a, n, m->family, m->i, m->s,
			      TUN_CSUM_FULL, -ENOENT);
		check_refused(tun_nat_dnat, a, n, m->family, m->p, m->s,
			      TUN_CSUM_FULL, -ENOENT);
		check_refused(tun_nat_snat, a, n, m->family, m->s, m->i,
			      TUN_CSUM_FULL, -ENOENT);

		/* L4 headers cut short by the packet's own length. */
		uint8_t l4[64];
		mk_tcp(l4, ACK, NULL, 0, 0);
		n = build(a, &s, l4, 17);
		check_refused(tun_nat_dnat, a, n, m->family, m->s, m->i,
			      TUN_CSUM_FULL, -EINVAL);
		n = build(a, &s, l4, 19);
		check_refused(tun_nat_dnat, a, n, m->family, m->s, m->i,
			      TUN_CSUM_FULL, -EINVAL);
		uint8_t *p = dup(a, n);
		assert_int_equal(tun_mss_clamp(p, n, 1000, TUN_CSUM_FULL),
				 -EINVAL);
		free(p);
		s.proto = IPPROTO_UDP;
		mk_udp(l4, 0);
		n = build(a, &s, l4, 7);
		check_refused(tun_nat_dnat, a, n, m->family, m->s, m->i,
			      TUN_CSUM_FULL, -EINVAL);
		s.proto = icmp_proto(m->family);
		mk_echo(l4, m->family, 0);
		n = build(a, &s, l4, 4);
		check_refused(tun_nat_dnat, a, n, m->family, m->s, m->i,
			      TUN_CSUM_FULL, -EINVAL);

		/* Not IP. */
		memset(a, 0x55, 60);
		check_refused(tun_nat_dnat, a, 60, m->family, m->s, m->i,
			      TUN_CSUM_FULL, -EINVAL);
	}
}

/* Addresses given by pointers into the packet itself. */
static void test_aliased_addresses(void **state)
{
	uint8_t a[MAXPKT], b[MAXPKT], i4[16];

	(void)state;
	struct spec s = {AF_INET, V4->p, V4->s, IPPROTO_TCP};
	size_t n = mk(a, &s, 5);
	s.dst = V4->i;
	size_t wn = mk(b, &s, 5);
	pton(AF_INET, V4->i, i4);
	uint8_t *p = dup(a, n);
	assert_int_equal(tun_nat_dnat(p, n, p + 16, i4, 4, TUN_CSUM_FULL), 1);
	assert_int_equal(wn, n);
	assert_memory_equal(p, b, n);
	free(p);
}

/* ---- MSS ---- */

/* A SYN (or whatever flags) with opts, its MSS clamped to mss: must
 * return rc and equal the same segment built with want_opts. */
static void check_mss(const struct fam *m, uint8_t flags, const uint8_t *opts,
		      const uint8_t *want_opts, size_t optlen, uint16_t mss,
		      int rc)
{
	uint8_t l4[MAXPKT], a[MAXPKT], b[MAXPKT];

	for (size_t k = 0; k < 2; k++) {
		struct spec s = {m->family, m->p, m->s, IPPROTO_TCP, modes[k]};
		s.ext = m->family == AF_INET6 ? EXT_DEST : EXT_NONE;
		size_t ln = mk_tcp(l4, flags, opts, optlen, 11);
		size_t n = build(a, &s, l4, ln);
		mk_tcp(l4, flags, want_opts ? want_opts : opts, optlen, 11);
		size_t wn = build(b, &s, l4, ln);
		assert_int_equal(n, wn);
		if (rc == 1)
			assert_memory_not_equal(a, b, n);
		uint8_t *p = dup(a, n);
		assert_int_equal(tun_mss_clamp(p, n, mss, modes[k]), rc);
		assert_memory_equal(p, rc < 0 ? a : b, n);
		if (modes[k] == TUN_CSUM_PARTIAL) /* the field stays */
			assert_memory_equal(p + n - ln + 16, a + n - ln + 16,
					    2);
		free(p);
	}
}

static void test_mss(void **state)
{
	(void)state;
	for (size_t f = 0; f < 2; f++) {
		const struct fam *m = &fams[f];
		/* Linux's SYN: MSS, SACK permitted, timestamps, NOP,
		 * window scale. */
		const uint8_t lx[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2,
				      3, 4, 5,	  6,	7, 8, 1, 3,  3, 7};
		uint8_t lxw[sizeof(lx)];
		memcpy(lxw, lx, sizeof(lx));
		put16(lxw + 2, 1404);
		check_mss(m, SYN, lx, lxw, sizeof(lx), 1404, 1);
		check_mss(m, SYN | ACK, lx, lxw, sizeof(lx), 1404, 1);
		/* Below and at the clamp. */
		check_mss(m, SYN, lx, NULL, sizeof(lx), 1460, 0);
		check_mss(m, SYN, lx, NULL, sizeof(lx), 1500, 0);
		/* Not a SYN. */
		check_mss(m, ACK, lx, NULL, sizeof(lx), 1000, 0);
		/* No MSS option; no options at all. */
		const uint8_t nomss[] = {1, 1, 4, 2, 1, 3, 3, 7};
		check_mss(m, SYN, nomss, NULL, sizeof(nomss), 536, 0);
		check_mss(m, SYN, NULL, NULL, 0, 536, 0);
		/* After one NOP the value sits at an odd offset. */
		const uint8_t odd[] = {1, 2, 4, 0x23, 0x28, 1,
				       3, 3, 7, 4,    2,    0};
		uint8_t oddw[sizeof(odd)];
		memcpy(oddw, odd, sizeof(odd));
		put16(oddw + 3, 1220);
		check_mss(m, SYN, odd, oddw, sizeof(odd), 1220, 1);
		/* Two MSS options: both clamped. */
		const uint8_t two[] = {2, 4,	0x23, 0x28, 1, 2,
				       4, 0x05, 0xb4, 1,    1, 0};
		uint8_t twow[sizeof(two)];
		memcpy(twow, two, sizeof(two));
		put16(twow + 2, 1300);
		put16(twow + 7, 1300);
		check_mss(m, SYN, two, twow, sizeof(two), 1300, 1);
		/* An MSS option of another length is no MSS; nor is one
		 * after the end of the list. */
		const uint8_t len6[] = {2, 6, 0x23, 0x28, 0, 0, 1, 0};
		check_mss(m, SYN, len6, NULL, sizeof(len6), 1000, 0);
		const uint8_t eol[] = {0, 2, 4, 0x23, 0x28, 0, 0, 0};
		check_mss(m, SYN, eol, NULL, sizeof(eol), 1000, 0);
		/* Malformed: a length of 0, 1, past the header, a kind
		 * without room for its length. */
		const uint8_t bad0[] = {2, 4, 0x23, 0x28, 8, 0, 0, 0};
		check_mss(m, SYN, bad0, NULL, sizeof(bad0), 1000, -EINVAL);
		const uint8_t bad1[] = {1, 1, 4, 1, 2, 4, 0x23, 0x28};
		check_mss(m, SYN, bad1, NULL, sizeof(bad1), 1000, -EINVAL);
		const uint8_t past[] = {2, 4, 0x23, 0x28, 1, 8, 6, 0};
		check_mss(m, SYN, past, NULL, sizeof(past), 1000, -EINVAL);
		const uint8_t nolen[] = {2, 4, 0x23, 0x28, 1, 1, 1, 8};
		check_mss(m, SYN, nolen, NULL, sizeof(nolen), 1000, -EINVAL);
	}
}

/* What the clamp leaves alone or refuses besides options. */
static void test_mss_not_a_syn(void **state)
{
	uint8_t l4[MAXPKT], a[MAXPKT], in[MAXPKT];
	const uint8_t opts[] = {2, 4, 0x23, 0x28};

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		const struct fam *m = &fams[f];
		bool v4 = m->family == AF_INET;
		struct spec s = {m->family, m->p, m->s, IPPROTO_TCP};
		size_t ln = mk_tcp(l4, SYN, opts, sizeof(opts), 0);

		/* Data offsets below 5 and past the segment. */
		l4[12] = 4 << 4;
		size_t n = build(a, &s, l4, ln);
		uint8_t *p = dup(a, n);
		assert_int_equal(tun_mss_clamp(p, n, 1000, TUN_CSUM_FULL),
				 -EINVAL);
		l4[12] = 7 << 4;
		n = build(p, &s, l4, ln);
		assert_int_equal(tun_mss_clamp(p, n, 1000, TUN_CSUM_FULL),
				 -EINVAL);
		free(p);

		/* A UDP datagram whose bytes read as a SYN; a non-first
		 * fragment; an ICMP error quoting a SYN: 0, untouched. */
		l4[12] = 6 << 4;
		struct spec u = {m->family, m->p, m->s, IPPROTO_UDP};
		n = build(a, &u, l4, ln);
		p = dup(a, n);
		assert_int_equal(tun_mss_clamp(p, n, 1000, TUN_CSUM_FULL), 0);
		assert_memory_equal(p, a, n);
		free(p);

		s.ext = v4 ? EXT_NONE : EXT_FRAG;
		s.frag_off = 3;
		n = build(a, &s, l4, ln);
		p = dup(a, n);
		assert_int_equal(tun_mss_clamp(p, n, 1000, TUN_CSUM_FULL), 0);
		assert_memory_equal(p, a, n);
		free(p);

		struct spec is = {m->family, m->s, m->p, IPPROTO_TCP};
		size_t il = build(in, &is, l4, ln);
		struct spec os = {m->family, m->p, m->s, icmp_proto(m->family)};
		n = mk_err(a, &os, v4 ? 3 : 1, 3, in, il, 0);
		p = dup(a, n);
		assert_int_equal(tun_mss_clamp(p, n, 1000, TUN_CSUM_FULL), 0);
		assert_memory_equal(p, a, n);
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csum_add),
	    cmocka_unit_test(test_csum_fold),
	    cmocka_unit_test(test_csum_pseudo),
	    cmocka_unit_test(test_csum_replace),
	    cmocka_unit_test(test_csum_partial),
	    cmocka_unit_test(test_plain),
	    cmocka_unit_test(test_udp_zero),
	    cmocka_unit_test(test_flow_round_trip),
	    cmocka_unit_test(test_icmp_errors),
	    cmocka_unit_test(test_icmp_errors_outer_only),
	    cmocka_unit_test(test_ip_options_and_ext),
	    cmocka_unit_test(test_other_protocols),
	    cmocka_unit_test(test_fragments),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_aliased_addresses),
	    cmocka_unit_test(test_mss),
	    cmocka_unit_test(test_mss_not_a_syn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
