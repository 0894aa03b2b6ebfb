/* The strait-traffic wire protocol: every constant and every byte layout
 * that the client and the server share (docs/traffic.md).
 *
 * One request, one answer. Over TCP they follow each other on the stream
 * (the client may have several requests in flight; the server answers in
 * order); over UDP each is one datagram. All integers are big-endian.
 *
 * Request, client to server: a 16-byte header and pad_len bytes of padding.
 *
 *	 0               4               8                              16
 *	+---------------+---------------+-------------------------------+
 *	| magic "STRQ"  | pad_len       | seq                           |
 *	+---------------+---------------+-------------------------------+
 *	| padding: pad_len bytes, byte i is (uint8_t)(seq + i)  ...
 *	+-----------------------------------------------------
 *
 * The padding is a known pattern that depends on the sequence number, so
 * the server can tell an intact request from one whose fragments were
 * lost, truncated or reassembled from different datagrams. pad_len is at
 * most TRAFFIC_PAD_MAX.
 *
 * Answer, server to client: a 20-byte header and the server's name.
 *
 *	 0               4   5   6       8                              16
 *	+---------------+---+---+-------+-------------------------------+
 *	| magic "STRA"  |flg|len| 0     | seq (copied from the request) |
 *	+---------------+---+---+-------+-------------------------------+
 *	| received      | name: len bytes (1..TRAFFIC_NAME_MAX) ...
 *	+---------------+-------------------------------------
 *
 * flg bit 0 (TRAFFIC_ANSWER_INTACT) is set when the request arrived whole:
 * for UDP, the datagram held exactly 16 + pad_len bytes; for both, every
 * padding byte matched the pattern. received is the size in bytes of the
 * request as the server got it (the datagram for UDP, header and padding
 * for TCP). Bytes 6-7 are zero and ignored.
 *
 * The server ignores UDP datagrams that do not start with a request header
 * (it never answers garbage, so it cannot be used to reflect it) and
 * closes a TCP connection whose stream is not a sequence of requests.
 *
 * This module is pure: no sockets, no libuv, no allocation.
 */
#ifndef STRAIT_TRAFFIC_H
#define STRAIT_TRAFFIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRAFFIC_PORT 5003

#define TRAFFIC_REQUEST_MAGIC 0x53545251u /* "STRQ" */
#define TRAFFIC_ANSWER_MAGIC 0x53545241u  /* "STRA" */
#define TRAFFIC_REQUEST_HDR 16
#define TRAFFIC_ANSWER_HDR 20
#define TRAFFIC_NAME_MAX 64
#define TRAFFIC_ANSWER_MAX (TRAFFIC_ANSWER_HDR + TRAFFIC_NAME_MAX)
/* Padding fits one UDP datagram over IPv4 and IPv6 with room to spare. */
#define TRAFFIC_PAD_MAX 65000
#define TRAFFIC_REQUEST_MAX (TRAFFIC_REQUEST_HDR + TRAFFIC_PAD_MAX)

#define TRAFFIC_ANSWER_INTACT 0x01

struct traffic_request {
	uint64_t seq;
	uint32_t pad_len;
};

struct traffic_answer {
	uint64_t seq;
	uint32_t received; /* bytes of the request as the server got it */
	bool intact;
	uint8_t name_len;	     /* 1..TRAFFIC_NAME_MAX */
	char name[TRAFFIC_NAME_MAX]; /* not NUL-terminated */
};

/* Writes the 16-byte header of r. */
void traffic_request_encode(uint8_t hdr[TRAFFIC_REQUEST_HDR],
			    const struct traffic_request *r);

/* Reads a request header from the n bytes at p (the padding, if any,
 * follows them). Returns 0; -EAGAIN when n is below 16; -EBADMSG for a
 * wrong magic; -EMSGSIZE when pad_len is above TRAFFIC_PAD_MAX. */
int traffic_request_decode(const uint8_t *p, size_t n,
			   struct traffic_request *r);

/* The expected padding of request seq from byte off on: returns a pointer
 * to the pattern and sets *avail to how many bytes of it are contiguous
 * there (at least 65536, more than any padding). Static storage, never
 * freed; the caller may send straight from it. */
const uint8_t *traffic_pattern(uint64_t seq, size_t off, size_t *avail);

/* Checks n padding bytes of request seq that start at byte off of its
 * padding. Returns true when they match the pattern. */
bool traffic_pattern_check(uint64_t seq, size_t off, const uint8_t *p,
			   size_t n);

/* Checks one whole UDP datagram of n bytes: fills r and *intact and
 * returns 0, or returns the error of traffic_request_decode(), in which
 * case the datagram must be ignored. */
int traffic_request_check(const uint8_t *p, size_t n, struct traffic_request *r,
			  bool *intact);

/* Writes the answer a into out (at least TRAFFIC_ANSWER_MAX bytes) and
 * returns its length, 20 + a->name_len. a->name_len must be 1..64. */
size_t traffic_answer_encode(uint8_t *out, const struct traffic_answer *a);

/* Reads one answer from the n bytes at p. Returns its length (> 0) when p
 * holds a whole answer; -EAGAIN when more bytes are needed (the header is
 * incomplete, or the name is); -EBADMSG for a wrong magic or a name length
 * of 0 or above TRAFFIC_NAME_MAX. For UDP, the datagram must be exactly
 * the returned length; for TCP, the rest belongs to the next answer. */
int traffic_answer_decode(const uint8_t *p, size_t n, struct traffic_answer *a);

/* Stream parser of requests, for the TCP server. It holds the header
 * across reads and checks the padding as it goes by, so a connection
 * needs no buffer for it. Zero-initialise it before the first feed. */
struct traffic_request_rx {
	uint8_t hdr[TRAFFIC_REQUEST_HDR];
	uint8_t have;	  /* header bytes held */
	bool in_pad;	  /* the header is complete, padding follows */
	bool intact;	  /* the padding matched so far */
	uint32_t pad_off; /* padding bytes seen */
	struct traffic_request req;
};

/* Consumes bytes from p (n of them) until one request is complete.
 * Returns 1 with *req and *intact set when a request ended (*used bytes
 * were consumed; call again with the rest); 0 when all n bytes were
 * consumed without completing one; -EBADMSG or -EMSGSIZE for a stream
 * that is not a request sequence (the connection must be closed). */
int traffic_request_rx_feed(struct traffic_request_rx *rx, const uint8_t *p,
			    size_t n, size_t *used, struct traffic_request *req,
			    bool *intact);

/* Stream reassembler of answers, for the TCP client. */
struct traffic_answer_rx {
	uint8_t buf[TRAFFIC_ANSWER_MAX];
	uint8_t have;
};

/* Like traffic_request_rx_feed() for answers: returns 1 with *a set when
 * an answer is complete, 0 when all bytes were consumed, -EBADMSG. */
int traffic_answer_rx_feed(struct traffic_answer_rx *rx, const uint8_t *p,
			   size_t n, size_t *used, struct traffic_answer *a);

#endif
