/* The frame codec: splitting, limits and envelope validation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"

static size_t encode(Rpc__Kind kind, uint32_t call, const char *method,
		     uint8_t *out)
{
	Rpc__Envelope env = RPC__ENVELOPE__INIT;
	env.kind = kind;
	env.call = call;
	if (method)
		env.method = (char *)method;
	uint8_t *buf;
	size_t len;
	assert_int_equal(frame_encode(&env, &buf, &len), 0);
	memcpy(out, buf, len);
	free(buf);
	return len;
}

static void test_byte_by_byte(void **state)
{
	(void)state;
	uint8_t wire[1024];
	size_t n = encode(RPC__KIND__REQUEST, 7, "a.B/C", wire);
	n += encode(RPC__KIND__PING, 0, NULL, wire + n);

	struct frame_reader r;
	frame_reader_init(&r, 0);
	const uint8_t *body;
	size_t len;
	int frames = 0;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(frame_reader_feed(&r, wire + i, 1), 0);
		int got;
		while ((got = frame_reader_next(&r, &body, &len)) == 1) {
			Rpc__Envelope *env;
			char err[128];
			assert_int_equal(frame_decode(body, len, &env, err,
						      sizeof(err)),
					 0);
			if (frames == 0) {
				assert_int_equal(env->call, 7);
				assert_string_equal(env->method, "a.B/C");
			} else {
				assert_int_equal(env->kind, RPC__KIND__PING);
			}
			rpc__envelope__free_unpacked(env, NULL);
			frames++;
		}
		assert_int_equal(got, 0);
	}
	assert_int_equal(frames, 2);
	assert_int_equal(frame_reader_pending(&r), 0);
	frame_reader_free(&r);
}

static void test_length_limits(void **state)
{
	(void)state;
	const uint8_t *body;
	size_t len;
	struct frame_reader r;

	/* Zero length is refused as soon as the header is in. */
	frame_reader_init(&r, 0);
	assert_int_equal(frame_reader_feed(&r, "\0\0\0\0", 4), 0);
	assert_int_equal(frame_reader_next(&r, &body, &len), -EMSGSIZE);
	frame_reader_free(&r);

	/* Over the maximum: refused before the body arrives. */
	frame_reader_init(&r, 100);
	assert_int_equal(frame_reader_feed(&r, "\0\0\0\x65", 4), 0);
	assert_int_equal(frame_reader_next(&r, &body, &len), -EMSGSIZE);
	frame_reader_free(&r);

	/* Exactly the maximum: waits for the body. */
	frame_reader_init(&r, 100);
	assert_int_equal(frame_reader_feed(&r, "\0\0\0\x64", 4), 0);
	assert_int_equal(frame_reader_next(&r, &body, &len), 0);
	frame_reader_free(&r);

	/* 4 GiB announced with the default maximum. */
	frame_reader_init(&r, 0);
	assert_int_equal(frame_reader_feed(&r, "\xff\xff\xff\xff", 4), 0);
	assert_int_equal(frame_reader_next(&r, &body, &len), -EMSGSIZE);
	frame_reader_free(&r);
}

static void expect_bad(const uint8_t *body, size_t len, const char *why)
{
	Rpc__Envelope *env = NULL;
	char err[128] = "";
	assert_int_equal(frame_decode(body, len, &env, err, sizeof(err)),
			 -EBADMSG);
	assert_null(env);
	assert_non_null(strstr(err, why));
}

static void test_decode_rules(void **state)
{
	(void)state;
	uint8_t wire[256];
	size_t n;

	expect_bad((const uint8_t *)"\xff\xff\xff", 3, "not a valid");

	n = encode(RPC__KIND__REQUEST, 0, "x.Y/Z", wire);
	expect_bad(wire + 4, n - 4, "call id 0");
	n = encode(RPC__KIND__REQUEST, 3, "", wire);
	expect_bad(wire + 4, n - 4, "method");
	n = encode(RPC__KIND__REQUEST, 3, "has space", wire);
	expect_bad(wire + 4, n - 4, "method");
	n = encode(RPC__KIND__PING, 9, NULL, wire);
	expect_bad(wire + 4, n - 4, "connection frame");
	n = encode(RPC__KIND__CANCEL, 0, NULL, wire);
	expect_bad(wire + 4, n - 4, "call id 0");
	n = encode((Rpc__Kind)42, 1, NULL, wire);
	expect_bad(wire + 4, n - 4, "unknown frame kind 42");
}

static void test_encode_limits(void **state)
{
	(void)state;
	Rpc__Envelope env = RPC__ENVELOPE__INIT;
	uint8_t *buf;
	size_t len;
	/* All defaults pack to nothing: not a sendable frame. */
	assert_int_equal(frame_encode(&env, &buf, &len), -EINVAL);
	env.kind = RPC__KIND__ITEM;
	env.call = 1;
	env.payload.len = FRAME_MAX;
	env.payload.data = calloc(1, FRAME_MAX);
	assert_int_equal(frame_encode(&env, &buf, &len), -EMSGSIZE);
	free(env.payload.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_decode_rules),
		cmocka_unit_test(test_encode_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
