#include "frame.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void frame_reader_init(struct frame_reader *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max ? max : FRAME_MAX;
}

void frame_reader_free(struct frame_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

int frame_reader_space(struct frame_reader *r, size_t want, uint8_t **p,
		       size_t *n)
{
	/* Move the unconsumed tail to the front only when the free space at
	 * the end is too small: most reads end on a frame boundary, and then
	 * the move is of nothing. */
	if (r->cap - r->len < want && r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->len - r->start);
		r->len -= r->start;
		r->start = 0;
	}
	if (r->cap - r->len < want) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap - r->len < want)
			cap *= 2;
		uint8_t *b = realloc(r->buf, cap);
		if (!b)
			return -ENOMEM;
		r->buf = b;
		r->cap = cap;
	}
	*p = r->buf + r->len;
	*n = r->cap - r->len;
	return 0;
}

void frame_reader_commit(struct frame_reader *r, size_t n)
{
	r->len += n;
}

int frame_reader_feed(struct frame_reader *r, const void *data, size_t n)
{
	uint8_t *p;
	size_t room;
	int err = frame_reader_space(r, n, &p, &room);
	if (err)
		return err;
	memcpy(p, data, n);
	frame_reader_commit(r, n);
	return 0;
}

size_t frame_reader_pending(const struct frame_reader *r)
{
	return r->len - r->start;
}

int frame_reader_next(struct frame_reader *r, const uint8_t **body,
		      size_t *len)
{
	size_t have = r->len - r->start;
	if (have < FRAME_HDR)
		return 0;
	const uint8_t *h = r->buf + r->start;
	uint32_t n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
		     (uint32_t)h[2] << 8 | h[3];
	if (n == 0 || n > r->max)
		return -EMSGSIZE;
	if (have - FRAME_HDR < n)
		return 0;
	*body = h + FRAME_HDR;
	*len = n;
	r->start += FRAME_HDR + n;
	if (r->start == r->len)
		r->start = r->len = 0;
	return 1;
}

int frame_encode(const Rpc__Envelope *env, uint8_t **out, size_t *len)
{
	size_t n = rpc__envelope__get_packed_size(env);
	if (n > FRAME_MAX)
		return -EMSGSIZE;
	/* An envelope whose fields are all default packs to nothing; the
	 * wire has no empty frames, so such an envelope is not sendable. */
	if (n == 0)
		return -EINVAL;
	uint8_t *b = malloc(FRAME_HDR + n);
	if (!b)
		return -ENOMEM;
	b[0] = (uint8_t)(n >> 24);
	b[1] = (uint8_t)(n >> 16);
	b[2] = (uint8_t)(n >> 8);
	b[3] = (uint8_t)n;
	rpc__envelope__pack(env, b + FRAME_HDR);
	*out = b;
	*len = FRAME_HDR + n;
	return 0;
}

static int bad(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -EBADMSG;
}

static bool method_ok(const char *m)
{
	size_t n = strlen(m);
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (m[i] <= ' ' || m[i] > '~')
			return false;
	return true;
}

int frame_decode(const uint8_t *body, size_t len, Rpc__Envelope **env,
		 char *err, size_t errlen)
{
	Rpc__Envelope *e = rpc__envelope__unpack(NULL, len, body);
	if (!e)
		return bad(err, errlen, "frame is not a valid rpc.Envelope");

	const char *why = NULL;
	switch (e->kind) {
	case RPC__KIND__REQUEST:
		if (e->call == 0)
			why = "REQUEST with call id 0";
		else if (!method_ok(e->method))
			why = "REQUEST without a valid method name";
		break;
	case RPC__KIND__RESPONSE:
	case RPC__KIND__ITEM:
	case RPC__KIND__END:
	case RPC__KIND__CANCEL:
		if (e->call == 0)
			why = "call frame with call id 0";
		break;
	case RPC__KIND__PING:
	case RPC__KIND__PONG:
	case RPC__KIND__GOAWAY:
		if (e->call != 0)
			why = "connection frame with a call id";
		break;
	default:
		snprintf(err, errlen, "unknown frame kind %d", (int)e->kind);
		rpc__envelope__free_unpacked(e, NULL);
		return -EBADMSG;
	}
	if (why) {
		snprintf(err, errlen, "%s", why);
		rpc__envelope__free_unpacked(e, NULL);
		return -EBADMSG;
	}
	*env = e;
	return 0;
}
