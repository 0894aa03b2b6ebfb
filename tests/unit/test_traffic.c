/* Unit tests of strait-traffic's pure core: the wire protocol
 * (traffic/traffic.h), the accounting (traffic/account.h) and the report
 * (traffic/report.h), in virtual time and without sockets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../traffic/account.h"
#include "../../traffic/report.h"
#include "../../traffic/traffic.h"

/* ---- helpers ---- */

static struct traffic_answer answer(const char *name, uint64_t seq)
{
	struct traffic_answer a;
	memset(&a, 0, sizeof(a));
	a.seq = seq;
	a.intact = true;
	a.name_len = (uint8_t)strlen(name);
	memcpy(a.name, name, a.name_len);
	return a;
}

/* Sends one request at now and returns its sequence number. */
static uint64_t send_at(struct traffic_stats *s, struct traffic_conn *c,
			uint64_t now)
{
	uint64_t seq = 0;
	assert_int_equal(traffic_conn_send(s, c, now, &seq), 0);
	return seq;
}

static void answer_ok(struct traffic_stats *s, struct traffic_conn *c,
		      const char *name, uint64_t seq)
{
	struct traffic_answer a = answer(name, seq);
	assert_int_equal(traffic_conn_answer(s, c, &a), TRAFFIC_ANSWER_OK);
}

/* A connection started and established at now, answered once by name. */
static void connect_to(struct traffic_stats *s, struct traffic_conn *c,
		       const char *name, uint64_t now)
{
	traffic_conn_start(s, c, now);
	traffic_conn_established(c);
	answer_ok(s, c, name, send_at(s, c, now));
}

/* Builds a request of pad bytes for seq into p (room for it). */
static size_t build_request(uint8_t *p, uint64_t seq, uint32_t pad)
{
	struct traffic_request r = {.seq = seq, .pad_len = pad};
	size_t avail;
	traffic_request_encode(p, &r);
	memcpy(p + TRAFFIC_REQUEST_HDR, traffic_pattern(seq, 0, &avail), pad);
	return TRAFFIC_REQUEST_HDR + pad;
}

/* ---- wire ---- */

static void test_request_roundtrip(void **state)
{
	(void)state;
	uint8_t hdr[TRAFFIC_REQUEST_HDR];
	struct traffic_request in = {.seq = 0x0102030405060708ull,
				     .pad_len = 4000};
	struct traffic_request out;

	traffic_request_encode(hdr, &in);
	assert_memory_equal(
	    hdr, "STRQ\0\0\x0f\xa0\x01\x02\x03\x04\x05\x06\x07\x08", 16);
	assert_int_equal(traffic_request_decode(hdr, 16, &out), 0);
	assert_true(out.seq == in.seq);
	assert_int_equal(out.pad_len, 4000);
	assert_int_equal(traffic_request_decode(hdr, 15, &out), -EAGAIN);
	hdr[0] = 'X';
	assert_int_equal(traffic_request_decode(hdr, 16, &out), -EBADMSG);
	in.pad_len = TRAFFIC_PAD_MAX + 1;
	traffic_request_encode(hdr, &in);
	assert_int_equal(traffic_request_decode(hdr, 16, &out), -EMSGSIZE);
}

static void test_request_check(void **state)
{
	(void)state;
	static uint8_t d[TRAFFIC_REQUEST_MAX];
	struct traffic_request r;
	bool intact = false;
	size_t n = build_request(d, 300, TRAFFIC_PAD_MAX);

	assert_int_equal(traffic_request_check(d, n, &r, &intact), 0);
	assert_true(intact);
	assert_true(r.seq == 300);
	/* A lost last fragment: shorter than announced. */
	assert_int_equal(traffic_request_check(d, n - 1480, &r, &intact), 0);
	assert_false(intact);
	/* A fragment of another datagram in the middle. */
	d[TRAFFIC_REQUEST_HDR + 2000] ^= 1;
	assert_int_equal(traffic_request_check(d, n, &r, &intact), 0);
	assert_false(intact);
	/* The padding of request 301 is not that of 300. */
	n = build_request(d, 301, 100);
	struct traffic_request other = {.seq = 300, .pad_len = 100};
	traffic_request_encode(d, &other);
	assert_int_equal(traffic_request_check(d, n, &r, &intact), 0);
	assert_false(intact);
	/* Garbage is not answered. */
	assert_int_equal(
	    traffic_request_check((const uint8_t *)"hello", 5, &r, &intact),
	    -EAGAIN);
}

static void test_answer_roundtrip(void **state)
{
	(void)state;
	uint8_t buf[TRAFFIC_ANSWER_MAX];
	struct traffic_answer a = answer("alpha", 77), b;
	a.received = 4016;
	a.intact = false;

	size_t n = traffic_answer_encode(buf, &a);
	assert_int_equal(n, TRAFFIC_ANSWER_HDR + 5);
	assert_int_equal(traffic_answer_decode(buf, n, &b), (int)n);
	assert_true(b.seq == 77);
	assert_int_equal(b.received, 4016);
	assert_false(b.intact);
	assert_int_equal(b.name_len, 5);
	assert_memory_equal(b.name, "alpha", 5);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(traffic_answer_decode(buf, k, &b), -EAGAIN);
	buf[5] = 0;
	assert_int_equal(traffic_answer_decode(buf, n, &b), -EBADMSG);
	buf[5] = TRAFFIC_NAME_MAX + 1;
	assert_int_equal(traffic_answer_decode(buf, n, &b), -EBADMSG);
	buf[5] = 5;
	buf[1] = 'X';
	assert_int_equal(traffic_answer_decode(buf, n, &b), -EBADMSG);
}

/* Two requests on a TCP stream, fed in every split, one byte at a time
 * included: both come out whole and intact. */
static void test_request_stream(void **state)
{
	(void)state;
	uint8_t s[2 * TRAFFIC_REQUEST_HDR + 300 + 0];
	size_t n = build_request(s, 9, 300);
	n += build_request(s + n, 10, 0);

	for (size_t step = 1; step <= n; step++) {
		struct traffic_request_rx rx;
		struct traffic_request req;
		uint64_t seqs[2];
		int got = 0;
		bool intact;
		memset(&rx, 0, sizeof(rx));
		for (size_t off = 0; off < n;) {
			size_t len = n - off < step ? n - off : step;
			while (len > 0) {
				size_t used = 0;
				int r = traffic_request_rx_feed(
				    &rx, s + off, len, &used, &req, &intact);
				assert_true(r >= 0);
				off += used;
				len -= used;
				if (r == 1) {
					assert_true(intact);
					assert_true(got < 2);
					seqs[got++] = req.seq;
				}
			}
		}
		assert_int_equal(got, 2);
		assert_true(seqs[0] == 9 && seqs[1] == 10);
	}
}

static void test_request_stream_bad(void **state)
{
	(void)state;
	struct traffic_request_rx rx;
	struct traffic_request req;
	uint8_t s[TRAFFIC_REQUEST_HDR + 10];
	size_t used;
	bool intact;

	memset(&rx, 0, sizeof(rx));
	size_t n = build_request(s, 1, 10);
	s[TRAFFIC_REQUEST_HDR + 3] = 0;
	assert_int_equal(
	    traffic_request_rx_feed(&rx, s, n, &used, &req, &intact), 1);
	assert_false(intact);
	memset(s, 'G', sizeof(s));
	assert_int_equal(
	    traffic_request_rx_feed(&rx, s, n, &used, &req, &intact), -EBADMSG);
}

static void test_answer_stream(void **state)
{
	(void)state;
	uint8_t s[2 * TRAFFIC_ANSWER_MAX];
	struct traffic_answer a = answer("alpha", 1), b = answer("b", 2), out;
	size_t n = traffic_answer_encode(s, &a);
	n += traffic_answer_encode(s + n, &b);

	for (size_t step = 1; step <= n; step++) {
		struct traffic_answer_rx rx;
		int got = 0;
		memset(&rx, 0, sizeof(rx));
		for (size_t off = 0; off < n;) {
			size_t len = n - off < step ? n - off : step;
			while (len > 0) {
				size_t used = 0;
				int r = traffic_answer_rx_feed(
				    &rx, s + off, len, &used, &out);
				assert_true(r >= 0);
				off += used;
				len -= used;
				if (r == 1) {
					assert_true(out.seq ==
						    (uint64_t)got + 1);
					got++;
				}
			}
		}
		assert_int_equal(got, 2);
	}
	struct traffic_answer_rx rx;
	size_t used;
	memset(&rx, 0, sizeof(rx));
	assert_int_equal(traffic_answer_rx_feed(
			     &rx, (const uint8_t *)"HTTP/1.1", 8, &used, &out),
			 -EBADMSG);
}

/* ---- accounting ---- */

static void test_first_answer_names_host(void **state)
{
	(void)state;
	struct traffic_stats s;
	struct traffic_conn c[3];
	traffic_stats_init(&s);
	for (int i = 0; i < 3; i++)
		assert_int_equal(traffic_conn_init(&c[i], 10), 0);

	traffic_conn_start(&s, &c[0], 0);
	assert_int_equal(s.connections, 1);
	uint64_t seq;
	assert_int_equal(traffic_conn_send(&s, &c[0], 0, &seq), -ENOTCONN);
	traffic_conn_established(&c[0]);
	assert_int_equal(s.connected, 0);
	answer_ok(&s, &c[0], "beta", send_at(&s, &c[0], 1));
	connect_to(&s, &c[1], "alpha", 2);
	connect_to(&s, &c[2], "alpha", 3);
	answer_ok(&s, &c[1], "alpha", send_at(&s, &c[1], 4));

	assert_int_equal(s.connected, 3);
	assert_int_equal(s.sent, 4);
	assert_int_equal(s.received, 4);
	assert_int_equal(s.intact, 4);
	assert_int_equal(s.n_hosts, 2);
	const struct traffic_host *a = traffic_stats_host(&s, "alpha");
	assert_non_null(a);
	assert_int_equal(a->connections, 2);
	assert_int_equal(a->lasting, 2);
	assert_int_equal(traffic_stats_host(&s, "beta")->connections, 1);
	assert_null(traffic_stats_host(&s, "gamma"));

	for (int i = 0; i < 3; i++)
		traffic_conn_free(&c[i]);
	traffic_stats_free(&s);
}

/* A stats table and one connection of window 10, for the tests that
 * follow one connection. */
struct fx {
	struct traffic_stats s;
	struct traffic_conn c;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	traffic_stats_init(&f->s);
	if (traffic_conn_init(&f->c, 10) < 0) {
		traffic_stats_free(&f->s);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	traffic_conn_free(&f->c);
	traffic_stats_free(&f->s);
	free(f);
	return 0;
}

/* An answer from another host: the connection was moved by the load
 * balancer. It counts as moved and as lost, charged to the first host. */
static void test_move_is_lost(void **state)
{
	struct fx *f = *state;
	struct traffic_stats *s = &f->s;
	struct traffic_conn *c = &f->c;

	connect_to(s, c, "alpha", 0);
	uint64_t q1 = send_at(s, c, 10);
	uint64_t q2 = send_at(s, c, 11);
	struct traffic_answer b = answer("beta", q1);
	assert_int_equal(traffic_conn_answer(s, c, &b), TRAFFIC_ANSWER_MOVED);
	assert_int_equal(c->state, TRAFFIC_CONN_IDLE);
	assert_int_equal(s->moved, 1);
	assert_int_equal(s->lost, 1);
	assert_int_equal(s->connected, 0);
	assert_int_equal(s->received, 2);
	assert_int_equal(s->dropped, 1); /* q2 went with the connection */
	const struct traffic_host *a = traffic_stats_host(s, "alpha");
	assert_int_equal(a->connections, 1);
	assert_int_equal(a->lasting, 0);
	assert_int_equal(a->lost, 1);
	/* beta answered, but was never a connection's first answer. */
	assert_null(traffic_stats_host(s, "beta"));
	/* Late answers to a closed connection count nothing. */
	b.seq = q2;
	assert_int_equal(traffic_conn_answer(s, c, &b), TRAFFIC_ANSWER_STALE);

	/* The replacement is a new connection, answered by beta. */
	connect_to(s, c, "beta", 20);
	assert_int_equal(s->connections, 2);
	assert_int_equal(s->connected, 1);
	assert_int_equal(traffic_stats_host(s, "beta")->lasting, 1);
	assert_int_equal(s->sent, s->received + s->dropped);
}

static void test_drops_end_connection(void **state)
{
	struct fx *f = *state;
	struct traffic_stats *s = &f->s;
	struct traffic_conn *c = &f->c;

	connect_to(s, c, "alpha", 0);
	/* drop, answer, drop, drop: never 3 in a row. */
	uint64_t q[4];
	for (int i = 0; i < 4; i++)
		q[i] = send_at(s, c, 100 + i);
	answer_ok(s, c, "alpha", q[1]);
	assert_int_equal(traffic_conn_expire(s, c, 2099, 2000), 0);
	assert_int_equal(s->dropped, 0);
	assert_int_equal(traffic_conn_expire(s, c, 2200, 2000), 0);
	assert_int_equal(s->dropped, 3);
	assert_int_equal(c->drops_in_row, 2);
	assert_int_equal(s->connected, 1);

	/* One more makes three in a row: lost, charged to alpha. */
	send_at(s, c, 300);
	assert_int_equal(traffic_conn_expire(s, c, 2299, 2000), 0);
	assert_int_equal(traffic_conn_expire(s, c, 2300, 2000), 1);
	assert_int_equal(c->state, TRAFFIC_CONN_IDLE);
	assert_int_equal(s->lost, 1);
	assert_int_equal(s->moved, 0);
	assert_int_equal(s->dropped, 4);
	assert_int_equal(s->connected, 0);
	assert_int_equal(traffic_stats_host(s, "alpha")->lost, 1);
	assert_int_equal(s->sent, s->received + s->dropped);
}

/* An answer to a later request does not undo drops before it: drops
 * are counted in sequence order (docs/traffic.md, "3 drops in a row"). */
static void test_late_answer_keeps_drops(void **state)
{
	struct fx *f = *state;
	struct traffic_stats *s = &f->s;
	struct traffic_conn *c = &f->c;

	connect_to(s, c, "alpha", 0);
	uint64_t q[4];
	for (int i = 0; i < 4; i++)
		q[i] = send_at(s, c, 100 + i);
	assert_int_equal(traffic_conn_expire(s, c, 2100, 2000), 0);
	assert_int_equal(c->drops_in_row, 1);
	answer_ok(s, c, "alpha", q[3]);
	assert_int_equal(c->drops_in_row, 1);
	/* q1 and q2 time out: q0..q2 are three in a row. */
	assert_int_equal(traffic_conn_expire(s, c, 2102, 2000), 1);
	assert_int_equal(s->lost, 1);
	assert_int_equal(s->dropped, 3);
}

/* A flow whose first requests are dropped and a later one answered (a
 * path that came up while it was connecting) connected late: the drops
 * before its first answer do not make it lost once answered. */
static void test_drops_before_first_answer(void **state)
{
	struct fx *f = *state;
	struct traffic_stats *s = &f->s;
	struct traffic_conn *c = &f->c;

	traffic_conn_start(s, c, 0);
	traffic_conn_established(c);
	uint64_t q[4];
	for (int i = 0; i < 4; i++)
		q[i] = send_at(s, c, 100 * i);
	/* q0 expires unanswered while connecting: one drop in a row. */
	assert_int_equal(traffic_conn_expire(s, c, 350, 300), 0);
	assert_int_equal(c->drops_in_row, 1);
	answer_ok(s, c, "alpha", q[3]);
	assert_int_equal(s->connected, 1);
	/* q1 and q2 expire after the answer to q3: still connected. */
	assert_int_equal(traffic_conn_expire(s, c, 1000, 300), 0);
	assert_int_equal(s->dropped, 3);
	assert_int_equal(s->lost, 0);
	assert_int_equal(s->failed_connects, 0);
	assert_int_equal(c->drops_in_row, 0);
	/* After the first answer, three drops in a row are a loss. */
	for (int i = 4; i < 7; i++)
		send_at(s, c, 1000 + 100 * i);
	assert_int_equal(traffic_conn_expire(s, c, 2000, 300), 1);
	assert_int_equal(s->lost, 1);
	assert_int_equal(s->failed_connects, 0);

	/* Unanswered from the start: three in a row are a failed connect. */
	traffic_conn_start(s, c, 3000);
	traffic_conn_established(c);
	for (int i = 0; i < 3; i++)
		send_at(s, c, 3000 + 100 * i);
	assert_int_equal(traffic_conn_expire(s, c, 3600, 300), 1);
	assert_int_equal(s->failed_connects, 1);
	assert_int_equal(s->lost, 1);
}

/* Ending before the first answer is a failed connect, not a loss. */
static void test_failed_connects(void **state)
{
	struct fx *f = *state;
	struct traffic_stats *s = &f->s;
	struct traffic_conn *c = &f->c;

	/* A TCP handshake that never completes. */
	traffic_conn_start(s, c, 0);
	assert_int_equal(traffic_conn_expire(s, c, 1999, 2000), 0);
	assert_int_equal(traffic_conn_expire(s, c, 2000, 2000), 1);
	/* A refused connect. */
	traffic_conn_start(s, c, 3000);
	traffic_conn_fail(s, c);
	/* A UDP "connection" nobody answers. */
	traffic_conn_start(s, c, 4000);
	traffic_conn_established(c);
	for (int i = 0; i < TRAFFIC_DROPS_LOST; i++)
		send_at(s, c, 4000 + (uint64_t)i);
	assert_int_equal(traffic_conn_expire(s, c, 7000, 2000), 1);
	traffic_conn_fail(s, c); /* idle: nothing more */

	assert_int_equal(s->connections, 3);
	assert_int_equal(s->failed_connects, 3);
	assert_int_equal(s->lost, 0);
	assert_int_equal(s->dropped, TRAFFIC_DROPS_LOST);
	assert_int_equal(s->n_hosts, 0);

	/* A TCP connection answered, then reset by its peer: lost. */
	connect_to(s, c, "alpha", 8000);
	send_at(s, c, 8001);
	traffic_conn_fail(s, c);
	assert_int_equal(s->lost, 1);
	assert_int_equal(s->dropped, TRAFFIC_DROPS_LOST + 1);
	assert_int_equal(s->connections,
			 s->failed_connects + s->lost + s->connected);
}

static void test_stale_and_window(void **state)
{
	(void)state;
	struct traffic_stats s;
	struct traffic_conn c;
	traffic_stats_init(&s);
	assert_int_equal(traffic_conn_init(&c, 3), 0);
	assert_int_equal(c.window, 16);

	connect_to(&s, &c, "alpha", 0);
	uint64_t seq;
	for (int i = 0; i < 16; i++)
		send_at(&s, &c, 1);
	assert_int_equal(traffic_conn_send(&s, &c, 1, &seq), -ENOBUFS);
	assert_int_equal(s.sent, 17);
	answer_ok(&s, &c, "alpha", 1);
	struct traffic_answer a = answer("alpha", 1);
	assert_int_equal(traffic_conn_answer(&s, &c, &a), TRAFFIC_ANSWER_STALE);
	a.seq = 999;
	assert_int_equal(traffic_conn_answer(&s, &c, &a), TRAFFIC_ANSWER_STALE);
	/* Answered first of the window: its slot frees up. */
	assert_int_equal(traffic_conn_send(&s, &c, 2, &seq), 0);
	assert_int_equal(s.received, 2);
	assert_int_equal(traffic_conn_in_flight(&c), 16);

	/* The end of the run counts nothing. */
	traffic_conn_finish(&c);
	assert_int_equal(s.connected, 1);
	assert_int_equal(s.lost, 0);
	assert_int_equal(traffic_conn_in_flight(&c), 0);

	traffic_conn_free(&c);
	traffic_stats_free(&s);
}

static void test_corrupt_answers(void **state)
{
	struct fx *f = *state;
	struct traffic_stats *s = &f->s;
	struct traffic_conn *c = &f->c;
	connect_to(s, c, "alpha", 0);
	struct traffic_answer a = answer("alpha", send_at(s, c, 1));
	a.intact = false;
	assert_int_equal(traffic_conn_answer(s, c, &a), TRAFFIC_ANSWER_OK);
	assert_int_equal(s->intact, 1);
	assert_int_equal(s->corrupt, 1);
}

/* ---- report ---- */

static void test_report_json(void **state)
{
	(void)state;
	struct traffic_stats s;
	struct traffic_conn c[4];
	struct buf out = {0};
	traffic_stats_init(&s);
	for (int i = 0; i < 4; i++)
		assert_int_equal(traffic_conn_init(&c[i], 10), 0);

	connect_to(&s, &c[0], "beta", 0);
	connect_to(&s, &c[1], "alpha", 0);
	connect_to(&s, &c[2], "alpha", 0);
	struct traffic_answer moved = answer("beta", send_at(&s, &c[2], 5));
	assert_int_equal(traffic_conn_answer(&s, &c[2], &moved),
			 TRAFFIC_ANSWER_MOVED);
	traffic_conn_start(&s, &c[3], 6);
	traffic_conn_fail(&s, &c[3]);
	send_at(&s, &c[0], 7);
	assert_int_equal(traffic_conn_expire(&s, &c[0], 3000, 2000), 0);

	struct traffic_report_meta m = {"tcp", "10.0.0.1:5003", 2001};
	assert_int_equal(traffic_report_json(&s, &m, 0, &out), 0);
	assert_string_equal(
	    out.data,
	    "{\"protocol\":\"tcp\",\"address\":\"10.0.0.1:5003\","
	    "\"duration_ms\":2001,\"connections\":4,\"connected\":2,"
	    "\"failed_connects\":1,\"lost\":1,\"moved\":1,\"sent\":5,"
	    "\"received\":4,\"dropped\":1,\"intact\":4,\"corrupt\":0,"
	    "\"hosts\":{\"alpha\":{\"connections\":2,\"lasting\":1,\"lost\":1},"
	    "\"beta\":{\"connections\":1,\"lasting\":1,\"lost\":0}}}");

	buf_reset(&out);
	assert_int_equal(traffic_report_text(&s, &m, &out), 0);
	assert_non_null(strstr(out.data, "tcp to 10.0.0.1:5003 for 2.001 s\n"));
	assert_non_null(strstr(out.data, "1 lost (1 moved)"));
	assert_non_null(strstr(out.data, "\nalpha "));
	assert_true(strstr(out.data, "\nalpha ") < strstr(out.data, "\nbeta "));

	buf_reset(&out);
	assert_int_equal(traffic_report_progress(&s, &m, &out), 0);
	assert_null(strchr(out.data, '\n'));
	assert_non_null(strstr(out.data, "connected 2/4"));

	buf_free(&out);
	for (int i = 0; i < 4; i++)
		traffic_conn_free(&c[i]);
	traffic_stats_free(&s);
}

/* Names come from the network: they are escaped in JSON. */
static void test_report_escapes(void **state)
{
	struct fx *f = *state;
	struct traffic_stats *s = &f->s;
	struct traffic_conn *c = &f->c;
	struct buf out = {0};
	connect_to(s, c, "a\"b\n", 0);
	struct traffic_report_meta m = {"udp", "[::1]:5003", 0};
	assert_int_equal(traffic_report_json(s, &m, 0, &out), 0);
	assert_non_null(strstr(out.data, "\"hosts\":{\"a\\\"b\\n\":{"));
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_roundtrip),
	    cmocka_unit_test(test_request_check),
	    cmocka_unit_test(test_answer_roundtrip),
	    cmocka_unit_test(test_request_stream),
	    cmocka_unit_test(test_request_stream_bad),
	    cmocka_unit_test(test_answer_stream),
	    cmocka_unit_test(test_first_answer_names_host),
	    cmocka_unit_test_setup_teardown(test_move_is_lost, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_drops_end_connection, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_late_answer_keeps_drops,
					    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_drops_before_first_answer,
					    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_failed_connects, fx_setup,
					    fx_teardown),
	    cmocka_unit_test(test_stale_and_window),
	    cmocka_unit_test_setup_teardown(test_corrupt_answers, fx_setup,
					    fx_teardown),
	    cmocka_unit_test(test_report_json),
	    cmocka_unit_test_setup_teardown(test_report_escapes, fx_setup,
					    fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
