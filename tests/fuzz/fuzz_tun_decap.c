/* libFuzzer target: strait-tun's receive path before the kernel, that is
 * tun_decap_split() then tun_coalesce() (tun/seg.h), fed what a UDP socket
 * with UDP_GRO could hand over. Input: 2 bytes of gro_size (big-endian),
 * then the receive buffer, copied into an allocation of exactly its size so
 * that ASan sees any read past it. The expected trench tag is TAG.
 *
 * Nothing may crash, and what comes out must hold together:
 * - decap: the datagrams tile the buffer as gro_size says; an accepted
 *   one's inner packet lies inside its datagram, right after the strait
 *   header, and carries only known flags;
 * - coalesce: groups take the accepted datagrams in order, each once;
 *   every iovec lies inside the buffer or the merged-header area; a
 *   group's length is the sum of its iovecs and, for a merged run, the IP
 *   length its header states; a partial single packet gets its checksum's
 *   place;
 * - a merged run (TCP: TSO, UDP: USO), cut again by tun_seg_split() with
 *   the gso it came with, gives back its segments: the same headers but
 *   for the IPv4 identification and the checksums, the same payloads.
 *
 * Seeds (tests/fuzz/seeds/tun_decap/) are GRO buffers of TSO packets cut
 * by tun_seg_split() (IPv4 and IPv6, TCP and UDP), a plain datagram, and
 * buffers with a wrong tag or version, written once by a throwaway program
 * with the unit test's packet builder (tests/unit/test_tun_seg.c). */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "../../tun/hdr.h"
#include "../../tun/seg.h"

#define TAG 0x5eed7a65u
#define STRIDE 128
#define MAXG TUN_GRO_MAX_SEGS

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static bool inside(const void *p, size_t n, const uint8_t *base, size_t len)
{
	const uint8_t *b = p;

	return b >= base && b <= base + len && n <= (size_t)(base + len - b);
}

static void check_decap(const uint8_t *buf, size_t len, uint16_t gro,
			const struct tun_dgram *d, int n)
{
	size_t step = gro && gro < len ? gro : len;

	if (n != (int)(len ? (len + step - 1) / step : 1))
		__builtin_trap();
	for (int i = 0; i < n; i++) {
		size_t off = (size_t)i * step;

		if (d[i].off != off ||
		    d[i].dlen != (len - off < step ? len - off : step))
			__builtin_trap();
		if (d[i].err < TUN_DECAP_OK || d[i].err > TUN_DECAP_CSUM)
			__builtin_trap();
		if (d[i].err) {
			if (d[i].pkt || d[i].len || d[i].flags)
				__builtin_trap();
			continue;
		}
		if (d[i].pkt != buf + off + TUN_HDR_LEN ||
		    d[i].len != d[i].dlen - TUN_HDR_LEN ||
		    (d[i].flags & ~TUN_HDR_F_KNOWN))
			__builtin_trap();
	}
}

/* A merged run cut again must give back its segments. */
static void resplit(const struct tun_group *g, const struct iovec *iov,
		    const struct tun_dgram *d)
{
	static uint8_t pkt[65536], hdrs[MAXG * STRIDE];
	static struct tun_seg segs[MAXG];
	uint8_t shdr[TUN_HDR_LEN];
	size_t len = 0;

	for (size_t i = g->iov + 1; i < g->iov + g->iovcnt; i++) {
		memcpy(pkt + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	tun_hdr_encode(shdr, TUN_HDR_F_REPLY, TAG);
	int n =
	    tun_seg_split(pkt, len, &g->gso, shdr, hdrs, STRIDE, segs, MAXG);
	if (n != (int)g->n)
		__builtin_trap();
	size_t hl = g->gso.hdr_len, l4 = g->gso.csum_start;
	bool v4 = pkt[0] >> 4 == 4, udp = g->gso.type == TUN_GSO_UDP_L4;
	for (int i = 0; i < n; i++) {
		const uint8_t *h = segs[i].hdr + TUN_HDR_LEN;
		const uint8_t *o = d[g->first + i].pkt;

		if (segs[i].hdr_len != TUN_HDR_LEN + hl ||
		    segs[i].hdr[1] != (TUN_HDR_F_REPLY | TUN_HDR_F_CSUM) ||
		    segs[i].payload_len != d[g->first + i].len - hl ||
		    memcmp(segs[i].payload, o + hl, segs[i].payload_len))
			__builtin_trap();
		/* Headers alike but for id and checksums. */
		if (v4 ? memcmp(h, o, 4) || memcmp(h + 6, o + 6, 4) ||
			     memcmp(h + 12, o + 12, 8)
		       : memcmp(h, o, 40))
			__builtin_trap();
		/* UDP: ports and length; TCP: all but the checksum. */
		if (udp ? memcmp(h + l4, o + l4, 6)
			: memcmp(h + l4, o + l4, 16) ||
			      memcmp(h + l4 + 18, o + l4 + 18, hl - l4 - 18))
			__builtin_trap();
	}
}

static void check_groups(const uint8_t *buf, size_t len,
			 const struct tun_dgram *d, size_t nd, size_t *next,
			 const struct tun_group *gr, int ng,
			 const struct iovec *iov, size_t max_iov,
			 const uint8_t *mhdrs)
{
	size_t io = 0;

	for (int g = 0; g < ng; g++) {
		const struct tun_group *x = &gr[g];
		size_t sum = 0;

		while (*next < nd && d[*next].err)
			(*next)++;
		if (x->first != *next || x->n == 0 || x->first + x->n > nd ||
		    x->iov != io || x->iov + x->iovcnt > max_iov ||
		    x->iovcnt != (x->n == 1 ? 2 : x->n + 2))
			__builtin_trap();
		if (iov[io].iov_base || iov[io].iov_len)
			__builtin_trap();
		for (size_t i = io + 1; i < io + x->iovcnt; i++) {
			if (!inside(iov[i].iov_base, iov[i].iov_len, buf,
				    len) &&
			    !(i == io + 1 && x->n > 1 &&
			      iov[i].iov_base == mhdrs + (size_t)g * STRIDE))
				__builtin_trap();
			sum += iov[i].iov_len;
		}
		if (sum != x->len)
			__builtin_trap();
		for (size_t j = x->first; j < x->first + x->n; j++)
			if (d[j].err)
				__builtin_trap();
		const struct tun_dgram *f = &d[x->first];
		if (x->n == 1) {
			bool c = f->flags & TUN_HDR_F_CSUM;

			if (iov[io + 1].iov_base != f->pkt ||
			    iov[io + 1].iov_len != f->len ||
			    x->gso.type != TUN_GSO_NONE ||
			    x->gso.needs_csum != c)
				__builtin_trap();
		} else {
			const uint8_t *h = iov[io + 1].iov_base;
			size_t hl = iov[io + 1].iov_len;
			size_t iplen =
			    h[0] >> 4 == 4 ? get16(h + 2) : 40u + get16(h + 4);

			if (iplen != x->len || x->len > 65535 ||
			    x->gso.hdr_len != hl || !x->gso.needs_csum ||
			    x->gso.size != f->len - hl ||
			    x->gso.csum_offset !=
				(x->gso.type == TUN_GSO_UDP_L4 ? 6 : 16) ||
			    (x->gso.type == TUN_GSO_UDP_L4 && x->n > MAXG))
				__builtin_trap();
			for (size_t j = 0; j < x->n; j++) {
				size_t pay = iov[io + 2 + j].iov_len;

				if (pay == 0 || pay > x->gso.size ||
				    (j + 1 < x->n && pay != x->gso.size))
					__builtin_trap();
			}
			resplit(x, iov, d);
		}
		*next = x->first + x->n;
		io += x->iovcnt;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tun_dgram d[MAXG];
	static struct tun_group gr[MAXG];
	static struct iovec iov[3 * MAXG];
	static uint8_t mhdrs[MAXG * STRIDE];

	if (size < 2)
		return 0;
	uint16_t gro = get16(data);
	size_t len = size - 2;
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		abort(); /* a harness that cannot test must not pass */
	memcpy(buf, data + 2, len);

	int n = tun_decap_split(buf, len, gro, TAG, d, MAXG);
	if (n < 0) {
		size_t step = gro && gro < len ? gro : len;
		if (n != -ENOSPC || !len || (len + step - 1) / step <= MAXG)
			__builtin_trap();
		free(buf);
		return 0;
	}
	check_decap(buf, len, gro, d, n);

	/* A few iovecs per call (how many follows from the input), so that
	 * the "call again with the rest" path is walked too. */
	size_t max_iov = 2 + gro % (3 * MAXG - 1), done = 0, next = 0;
	while (done < (size_t)n) {
		size_t used;
		int ng = tun_coalesce(d + done, (size_t)n - done, &used, mhdrs,
				      STRIDE, gr, MAXG, iov, max_iov);

		if (ng < 0 || used == 0 || used > (size_t)n - done)
			__builtin_trap();
		next = 0;
		check_groups(buf, len, d + done, (size_t)n - done, &next, gr,
			     ng, iov, max_iov, mhdrs);
		done += used;
	}
	free(buf);
	return 0;
}
