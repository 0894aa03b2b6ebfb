/* libFuzzer target: strait-traffic's wire parsers (traffic/traffic.h), fed
 * what a peer may send. The stream parsers are fed the input in chunks
 * whose sizes come from the input's first byte, and must find the same
 * requests and answers, in the same order, as when fed byte by byte: the
 * split of a TCP stream into reads must never change what it means.
 * Nothing may crash, read past the input or consume more than it is
 * given. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../traffic/traffic.h"

#define MAX_SEEN 64

struct seen {
	size_t n;
	uint64_t seq[MAX_SEEN];
	int end; /* the final return: 0 or the error */
};

static void requests(const uint8_t *d, size_t len, size_t chunk,
		     struct seen *s)
{
	struct traffic_request_rx rx;
	memset(&rx, 0, sizeof(rx));
	memset(s, 0, sizeof(*s));
	size_t off = 0;
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		size_t used = 0;
		struct traffic_request r;
		bool intact;
		int rc = traffic_request_rx_feed(&rx, d + off, n, &used, &r,
						 &intact);
		if (used > n)
			abort();
		if (rc < 0) {
			s->end = rc;
			return;
		}
		if (rc == 1 && s->n < MAX_SEEN)
			s->seq[s->n++] = r.seq ^ ((uint64_t)intact << 63);
		if (rc == 0 && used != n)
			abort();
		if (used == 0) /* no progress would loop forever */
			abort();
		off += used;
	}
}

static void answers(const uint8_t *d, size_t len, size_t chunk,
		    struct seen *s)
{
	struct traffic_answer_rx rx;
	memset(&rx, 0, sizeof(rx));
	memset(s, 0, sizeof(*s));
	size_t off = 0;
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		size_t used = 0;
		struct traffic_answer a;
		int rc = traffic_answer_rx_feed(&rx, d + off, n, &used, &a);
		if (used > n)
			abort();
		if (rc < 0) {
			s->end = rc;
			return;
		}
		if (rc == 1) {
			if (a.name_len < 1 || a.name_len > TRAFFIC_NAME_MAX)
				abort();
			if (s->n < MAX_SEEN)
				s->seq[s->n++] = a.seq;
		}
		if (rc == 0 && used != n)
			abort();
		if (used == 0)
			abort();
		off += used;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (size_t)data[0] % 37 + 1;
	data++;
	size--;

	/* Whole datagrams. */
	struct traffic_request r;
	bool intact;
	traffic_request_check(data, size, &r, &intact);
	struct traffic_answer a;
	int n = traffic_answer_decode(data, size, &a);
	if (n > 0 && (size_t)n > size)
		abort();

	/* Streams: chunked and byte by byte agree. */
	struct seen x, y;
	requests(data, size, chunk, &x);
	requests(data, size, 1, &y);
	if (x.n != y.n || memcmp(x.seq, y.seq, x.n * sizeof(x.seq[0])) ||
	    x.end != y.end)
		abort();
	answers(data, size, chunk, &x);
	answers(data, size, 1, &y);
	if (x.n != y.n || memcmp(x.seq, y.seq, x.n * sizeof(x.seq[0])) ||
	    x.end != y.end)
		abort();
	return 0;
}
