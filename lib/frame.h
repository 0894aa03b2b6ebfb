/* The strait frame codec: pure, no I/O. See docs/protocol.md.
 *
 *   0               1               2               3
 *  +---------------+---------------+---------------+---------------+
 *  |              length (big-endian, 1..FRAME_MAX)                 |
 *  +---------------+---------------+---------------+---------------+
 *  |  rpc.Envelope, protobuf-encoded, `length` bytes ...            |
 *  +---------------------------------------------------------------+
 *
 * A reader accumulates bytes from a stream and yields whole frames; the
 * caller supplies nothing but bytes and never sees a partial frame. A frame
 * whose announced length is 0 or above the reader's maximum is an error the
 * reader reports at once, before any of its body arrives, so a peer cannot
 * make us buffer more than the maximum.
 */
#ifndef STRAIT_FRAME_H
#define STRAIT_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "rpc.pb-c.h"

#define FRAME_HDR 4u
#define FRAME_MAX (1u << 20) /* 1 MiB of envelope */

struct frame_reader {
	uint8_t *buf;
	size_t start; /* first unconsumed byte */
	size_t len;   /* end of the bytes received */
	size_t cap;
	size_t max;   /* largest frame body accepted */
};

/* max 0 means FRAME_MAX. The reader starts empty and allocates lazily. */
void frame_reader_init(struct frame_reader *r, size_t max);
void frame_reader_free(struct frame_reader *r);

/* Space for at least `want` more bytes (more when it can): returns 0 and
 * sets *p and *n, or -ENOMEM. The caller writes up to *n bytes at *p and
 * then calls frame_reader_commit with how many it wrote. */
int frame_reader_space(struct frame_reader *r, size_t want, uint8_t **p,
		       size_t *n);
void frame_reader_commit(struct frame_reader *r, size_t n);

/* Copies bytes in (for tests and fuzzers). Returns 0 or -ENOMEM. */
int frame_reader_feed(struct frame_reader *r, const void *data, size_t n);

/* Takes the next whole frame. Returns 1 with *body and *len set (valid
 * until the next call on the reader), 0 when no whole frame is buffered, or
 * -EMSGSIZE when the next frame's announced length is 0 or too large (the
 * stream cannot be resynchronised: close it). */
int frame_reader_next(struct frame_reader *r, const uint8_t **body,
		      size_t *len);

/* Bytes buffered that do not yet form a whole frame. */
size_t frame_reader_pending(const struct frame_reader *r);

/* Encodes an envelope with its header into one new buffer (malloc; the
 * caller frees). Returns 0, -EMSGSIZE when it would exceed FRAME_MAX, or
 * -ENOMEM. */
int frame_encode(const Rpc__Envelope *env, uint8_t **out, size_t *len);

/* Decodes and validates a frame body: the envelope must unpack, its kind
 * must be known, a REQUEST needs a call id and a method name of at most 128
 * printable characters, CANCEL/RESPONSE/ITEM/END need a call id, PING,
 * PONG and GOAWAY need call 0. On success returns 0 and *env (free with
 * rpc__envelope__free_unpacked). Otherwise -EBADMSG with a reason in err. */
int frame_decode(const uint8_t *body, size_t len, Rpc__Envelope **env,
		 char *err, size_t errlen);

#endif
