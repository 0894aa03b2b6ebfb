/* The strait-traffic wire protocol (traffic.h): encoding, decoding and the
 * padding pattern. */
#include "traffic.h"

#include <errno.h>
#include <string.h>

/* Byte k is k mod 256, so the padding of any request, from any offset, is
 * one contiguous run of it starting at (seq + off) mod 256. 256 bytes of
 * slack on top of 64 KiB let every start offer 64 KiB. */
#define PATTERN_RUN 65536u
static uint8_t pattern[PATTERN_RUN + 256];
static bool pattern_ready;

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

void traffic_request_encode(uint8_t hdr[TRAFFIC_REQUEST_HDR],
			    const struct traffic_request *r)
{
	put32(hdr, TRAFFIC_REQUEST_MAGIC);
	put32(hdr + 4, r->pad_len);
	put64(hdr + 8, r->seq);
}

int traffic_request_decode(const uint8_t *p, size_t n,
			   struct traffic_request *r)
{
	if (n < TRAFFIC_REQUEST_HDR)
		return -EAGAIN;
	if (get32(p) != TRAFFIC_REQUEST_MAGIC)
		return -EBADMSG;
	uint32_t pad = get32(p + 4);
	if (pad > TRAFFIC_PAD_MAX)
		return -EMSGSIZE;
	r->pad_len = pad;
	r->seq = get64(p + 8);
	return 0;
}

const uint8_t *traffic_pattern(uint64_t seq, size_t off, size_t *avail)
{
	if (!pattern_ready) {
		for (size_t k = 0; k < sizeof(pattern); k++)
			pattern[k] = (uint8_t)k;
		pattern_ready = true;
	}
	size_t start = (size_t)((seq + off) & 0xff);
	*avail = sizeof(pattern) - start;
	return pattern + start;
}

bool traffic_pattern_check(uint64_t seq, size_t off, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t avail;
		const uint8_t *want = traffic_pattern(seq, off, &avail);
		size_t k = n < avail ? n : avail;
		if (memcmp(p, want, k) != 0)
			return false;
		p += k;
		off += k;
		n -= k;
	}
	return true;
}

int traffic_request_check(const uint8_t *p, size_t n, struct traffic_request *r,
			  bool *intact)
{
	int e = traffic_request_decode(p, n, r);
	if (e < 0)
		return e;
	size_t pad = n - TRAFFIC_REQUEST_HDR;
	size_t k = pad < r->pad_len ? pad : r->pad_len;
	*intact = pad == r->pad_len &&
		  traffic_pattern_check(r->seq, 0, p + TRAFFIC_REQUEST_HDR, k);
	return 0;
}

size_t traffic_answer_encode(uint8_t *out, const struct traffic_answer *a)
{
	put32(out, TRAFFIC_ANSWER_MAGIC);
	out[4] = a->intact ? TRAFFIC_ANSWER_INTACT : 0;
	out[5] = a->name_len;
	out[6] = 0;
	out[7] = 0;
	put64(out + 8, a->seq);
	put32(out + 16, a->received);
	memcpy(out + TRAFFIC_ANSWER_HDR, a->name, a->name_len);
	return TRAFFIC_ANSWER_HDR + (size_t)a->name_len;
}

int traffic_answer_decode(const uint8_t *p, size_t n, struct traffic_answer *a)
{
	if (n < 6)
		return -EAGAIN;
	if (get32(p) != TRAFFIC_ANSWER_MAGIC)
		return -EBADMSG;
	uint8_t len = p[5];
	if (len == 0 || len > TRAFFIC_NAME_MAX)
		return -EBADMSG;
	if (n < TRAFFIC_ANSWER_HDR + (size_t)len)
		return -EAGAIN;
	a->intact = p[4] & TRAFFIC_ANSWER_INTACT;
	a->name_len = len;
	a->seq = get64(p + 8);
	a->received = get32(p + 16);
	memcpy(a->name, p + TRAFFIC_ANSWER_HDR, len);
	return TRAFFIC_ANSWER_HDR + len;
}

int traffic_request_rx_feed(struct traffic_request_rx *rx, const uint8_t *p,
			    size_t n, size_t *used, struct traffic_request *req,
			    bool *intact)
{
	size_t i = 0;

	if (!rx->in_pad) {
		size_t k = TRAFFIC_REQUEST_HDR - rx->have;
		if (k > n)
			k = n;
		memcpy(rx->hdr + rx->have, p, k);
		rx->have = (uint8_t)(rx->have + k);
		i = k;
		if (rx->have < TRAFFIC_REQUEST_HDR) {
			*used = i;
			return 0;
		}
		int e = traffic_request_decode(rx->hdr, rx->have, &rx->req);
		if (e < 0)
			return e;
		rx->in_pad = true;
		rx->intact = true;
		rx->pad_off = 0;
	}
	size_t k = rx->req.pad_len - rx->pad_off;
	if (k > n - i)
		k = n - i;
	if (rx->intact && k > 0 &&
	    !traffic_pattern_check(rx->req.seq, rx->pad_off, p + i, k))
		rx->intact = false;
	rx->pad_off += (uint32_t)k;
	i += k;
	*used = i;
	if (rx->pad_off < rx->req.pad_len)
		return 0;
	*req = rx->req;
	*intact = rx->intact;
	rx->have = 0;
	rx->in_pad = false;
	return 1;
}

int traffic_answer_rx_feed(struct traffic_answer_rx *rx, const uint8_t *p,
			   size_t n, size_t *used, struct traffic_answer *a)
{
	size_t i = 0;

	for (;;) {
		/* Take only what the current answer still lacks, so the
		 * bytes of the next one stay in the caller's buffer. The
		 * name length was checked when the sixth byte came. */
		size_t need =
		    rx->have < 6 ? 6 : TRAFFIC_ANSWER_HDR + (size_t)rx->buf[5];
		size_t k = need - rx->have;
		if (k > n - i)
			k = n - i;
		memcpy(rx->buf + rx->have, p + i, k);
		rx->have = (uint8_t)(rx->have + k);
		i += k;
		int r = traffic_answer_decode(rx->buf, rx->have, a);
		if (r > 0) {
			rx->have = 0;
			*used = i;
			return 1;
		}
		if (r != -EAGAIN)
			return r;
		if (i == n) {
			*used = i;
			return 0;
		}
	}
}
