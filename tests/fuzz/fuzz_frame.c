/* libFuzzer target: the frame reader and envelope decoder, fed a byte
 * stream in chunks whose sizes the input also decides, as a TCP peer
 * could. Nothing may crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_reader r;
	frame_reader_init(&r, 4096);
	size_t off = 0;
	while (off < size) {
		size_t chunk = 1 + data[off] % 64;
		off++;
		if (chunk > size - off)
			chunk = size - off;
		if (frame_reader_feed(&r, data + off, chunk) < 0)
			break;
		off += chunk;
		const uint8_t *body;
		size_t len;
		int got;
		while ((got = frame_reader_next(&r, &body, &len)) == 1) {
			Rpc__Envelope *env;
			char err[128];
			if (frame_decode(body, len, &env, err, sizeof(err)) == 0)
				rpc__envelope__free_unpacked(env, NULL);
		}
		if (got < 0)
			break;
	}
	frame_reader_free(&r);
	return 0;
}
