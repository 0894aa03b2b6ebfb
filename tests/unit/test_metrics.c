/* lib/metrics: the exposition helpers, and the HTTP server driven by real
 * TCP clients on the same loop.
 *
 *   test loop ──┬── metrics server on 127.0.0.1:<kernel's port>
 *               ├── clients (uv_tcp_connect), each: connect, send its
 *               │   chunks, read to EOF, close
 *               ├── a check handle recording the most connections seen
 *               └── a watchdog timer failing a test that hangs
 *
 * Nothing sleeps: each test runs the loop until a condition holds. Every
 * test ends by closing the server and all handles and asserting that
 * uv_loop_close() succeeds, so a leaked handle fails it.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "buf.h"
#include "metrics.h"
#include "sockaddr.h"

#define WATCHDOG_MS 20000
#define MAX_CHUNKS 4

struct env;

struct client {
	struct env *env;
	uv_tcp_t tcp;
	uv_connect_t connect;
	uv_write_t write;
	uv_shutdown_t shutdown;
	uv_timer_t pace; /* sends one chunk per tick */
	const char *chunks[MAX_CHUNKS];
	size_t chunk_len[MAX_CHUNKS];
	unsigned nchunks, sent;
	bool half_close; /* shut down writing after the last chunk */
	bool no_read;	 /* never read: the server's write stalls */
	struct buf resp;
	bool connected, eof, closed;
	int error;	     /* a connect or read error */
	unsigned closed_seq; /* order in which clients closed, from 1 */
};

struct env {
	uv_loop_t loop;
	uv_timer_t watchdog;
	uv_check_t check;
	struct metrics_server *srv;
	struct sockaddr_storage addr;
	bool server_done;
	unsigned collects;
	unsigned closed_count;
	unsigned max_conns;
	size_t big; /* extra bytes the collector writes */
};

/* ---- the collector ---- */

static void collect(struct buf *out, void *data)
{
	struct env *e = data;
	e->collects++;
	metrics_family(out, "strait_test_requests_total", "counter",
		       "Requests seen.");
	metrics_sample(out, "strait_test_requests_total", "code=\"200\"",
		       12345678);
	metrics_family(out, "strait_test_up", "gauge", NULL);
	metrics_sample(out, "strait_test_up", NULL, 1);
	if (e->big) {
		char line[1024];
		memset(line, '#', sizeof(line) - 1);
		line[sizeof(line) - 1] = '\n';
		for (size_t n = 0; n < e->big; n += sizeof(line))
			buf_append(out, line, sizeof(line));
	}
}

static const char collected[] =
    "# HELP strait_test_requests_total Requests seen.\n"
    "# TYPE strait_test_requests_total counter\n"
    "strait_test_requests_total{code=\"200\"} 12345678\n"
    "# TYPE strait_test_up gauge\n"
    "strait_test_up 1\n";

/* ---- loop plumbing ---- */

static void on_watchdog(uv_timer_t *t)
{
	(void)t;
	fail_msg("watchdog: the test did not finish in %d ms", WATCHDOG_MS);
}

static void on_check(uv_check_t *h)
{
	struct env *e = h->data;
	if (e->srv && metrics_server_connections(e->srv) > e->max_conns)
		e->max_conns = metrics_server_connections(e->srv);
}

static void env_init(struct env *e, uint64_t timeout_ms)
{
	struct sockaddr_storage ss;

	memset(e, 0, sizeof(*e));
	assert_int_equal(uv_loop_init(&e->loop), 0);
	assert_int_equal(sockaddr_parse("127.0.0.1", 1, &ss), 0);
	((struct sockaddr_in *)&ss)->sin_port = 0;
	assert_int_equal(metrics_server_start(&e->loop, (struct sockaddr *)&ss,
					      collect, e, &e->srv),
			 0);
	if (timeout_ms)
		metrics_server_set_timeout(e->srv, timeout_ms);
	assert_int_equal(metrics_server_address(e->srv, &e->addr), 0);
	assert_int_not_equal(((struct sockaddr_in *)&e->addr)->sin_port, 0);

	uv_timer_init(&e->loop, &e->watchdog);
	uv_timer_start(&e->watchdog, on_watchdog, WATCHDOG_MS, 0);
	uv_unref((uv_handle_t *)&e->watchdog);
	uv_check_init(&e->loop, &e->check);
	e->check.data = e;
	uv_check_start(&e->check, on_check);
	uv_unref((uv_handle_t *)&e->check);
}

static void on_server_done(void *data)
{
	struct env *e = data;
	e->server_done = true;
}

/* Closes the server and runs the loop until its done callback has run. */
static void env_close_server(struct env *e)
{
	metrics_server_close(e->srv, on_server_done, e);
	e->srv = NULL;
	while (!e->server_done)
		uv_run(&e->loop, UV_RUN_ONCE);
}

/* Closes the test's own handles, runs the loop until every handle has
 * closed, and checks that nothing leaked. */
static void env_end(struct env *e)
{
	assert_true(e->server_done);
	uv_close((uv_handle_t *)&e->check, NULL);
	uv_close((uv_handle_t *)&e->watchdog, NULL);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&e->loop), 0);
}

static void env_finish(struct env *e)
{
	env_close_server(e);
	env_end(e);
}

/* ---- clients ---- */

static void client_on_close(uv_handle_t *h)
{
	struct client *c = h->data;
	if (h != (uv_handle_t *)&c->tcp)
		return;
	c->closed = true;
	c->closed_seq = ++c->env->closed_count;
}

static void client_close(struct client *c)
{
	if (uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	uv_close((uv_handle_t *)&c->pace, client_on_close);
	uv_close((uv_handle_t *)&c->tcp, client_on_close);
}

static void client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct client *c = h->data;
	buf_reserve(&c->resp, suggested);
	*b = uv_buf_init(c->resp.data + c->resp.len,
			 (unsigned)(c->resp.cap - c->resp.len - 1));
}

static void client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct client *c = s->data;
	(void)b;
	if (nread > 0) {
		c->resp.len += (size_t)nread;
		c->resp.data[c->resp.len] = '\0';
	} else if (nread < 0) {
		if (nread == UV_EOF)
			c->eof = true;
		else
			c->error = (int)nread;
		client_close(c);
	}
}

static void client_send_next(uv_timer_t *t);

static void client_written(uv_write_t *w, int status)
{
	struct client *c = w->data;
	if (status == UV_ECANCELED)
		return; /* closed on the server's EOF with data unsent */
	if (status < 0) {
		c->error = status;
		client_close(c);
		return;
	}
	if (c->sent < c->nchunks) {
		/* The next chunk goes on a later loop turn, so the server
		 * most likely reads the request in pieces. */
		uv_timer_start(&c->pace, client_send_next, 1, 0);
	} else if (c->half_close) {
		uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, NULL);
	}
}

static void client_send_next(uv_timer_t *t)
{
	struct client *c = t->data;
	unsigned i = c->sent++;
	uv_buf_t b =
	    uv_buf_init((char *)c->chunks[i], (unsigned)c->chunk_len[i]);
	c->write.data = c;
	if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, client_written))
		client_close(c);
}

static void client_connected(uv_connect_t *req, int status)
{
	struct client *c = req->data;
	if (status < 0) {
		c->error = status;
		client_close(c);
		return;
	}
	c->connected = true;
	if (!c->no_read)
		uv_read_start((uv_stream_t *)&c->tcp, client_alloc,
			      client_read);
	if (c->nchunks)
		client_send_next(&c->pace);
}

/* Starts a client that sends request (its first len bytes, or up to the
 * NUL when len is 0), or nothing when request is NULL. */
static void client_start(struct env *e, struct client *c, const char *request,
			 size_t len)
{
	memset(c, 0, sizeof(*c));
	c->env = e;
	if (request) {
		c->chunks[0] = request;
		c->chunk_len[0] = len ? len : strlen(request);
		c->nchunks = 1;
	}
	uv_tcp_init(&e->loop, &c->tcp);
	uv_timer_init(&e->loop, &c->pace);
	c->tcp.data = c;
	c->pace.data = c;
	c->connect.data = c;
	assert_int_equal(uv_tcp_connect(&c->connect, &c->tcp,
					(struct sockaddr *)&e->addr,
					client_connected),
			 0);
}

static void client_free(struct client *c)
{
	buf_free(&c->resp);
}

static bool all_closed(struct client *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!c[i].closed)
			return false;
	return true;
}

static void run_until_closed(struct env *e, struct client *c, unsigned n)
{
	while (!all_closed(c, n))
		uv_run(&e->loop, UV_RUN_ONCE);
}

/* ---- looking at responses ---- */

static int status_of(const struct client *c)
{
	int status = 0;
	if (sscanf(buf_str(&c->resp), "HTTP/1.1 %d ", &status) != 1)
		return 0;
	return status;
}

static const char *body_of(const struct client *c)
{
	const char *p = strstr(buf_str(&c->resp), "\r\n\r\n");
	return p ? p + 4 : NULL;
}

/* The value of a response header, copied into a static buffer. */
static const char *header_of(const struct client *c, const char *name)
{
	static char value[256];
	const char *p = buf_str(&c->resp), *end = body_of(c);
	size_t n = strlen(name);

	while ((p = strstr(p, "\r\n")) && (!end || p < end)) {
		p += 2;
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1 + strspn(p + n + 1, " ");
			size_t len = strcspn(v, "\r");
			snprintf(value, sizeof(value), "%.*s", (int)len, v);
			return value;
		}
	}
	return NULL;
}

static void assert_response(const struct client *c, int status,
			    const char *body)
{
	if (status_of(c) != status)
		fail_msg("status %d, want %d; response:\n%s", status_of(c),
			 status, buf_str(&c->resp));
	assert_true(c->eof);
	assert_int_equal(c->error, 0);
	assert_string_equal(header_of(c, "Connection"), "close");
	const char *b = body_of(c);
	assert_non_null(b);
	char len[32];
	snprintf(len, sizeof(len), "%zu", strlen(b));
	if (body)
		assert_string_equal(b, body);
	if (*b) /* a HEAD response has a length but no body */
		assert_string_equal(header_of(c, "Content-Length"), len);
}

/* ---- exposition format ---- */

static void test_family_and_sample(void **state)
{
	struct buf b = {0};
	(void)state;

	assert_int_equal(metrics_family(&b, "x_total", "counter",
					"Line one\nback\\slash \"quoted\"."),
			 0);
	assert_string_equal(b.data, "# HELP x_total Line one\\nback\\\\slash "
				    "\"quoted\".\n"
				    "# TYPE x_total counter\n");
	buf_reset(&b);

	metrics_sample(&b, "a", NULL, 12345678);
	metrics_sample(&b, "a", "", 0);
	metrics_sample(&b, "a", "k=\"v\"", -3);
	metrics_sample(&b, "a", NULL, 0.25);
	metrics_sample(&b, "a", NULL, 1e20);
	metrics_sample(&b, "a", NULL, 18446744073709551615.0);
	metrics_sample(&b, "a", NULL, 4294967296.0);
	metrics_sample(&b, "a", NULL, NAN);
	metrics_sample(&b, "a", NULL, INFINITY);
	metrics_sample(&b, "a", NULL, -INFINITY);
	assert_string_equal(b.data, "a 12345678\n"
				    "a 0\n"
				    "a{k=\"v\"} -3\n"
				    "a 0.25\n"
				    "a 1e+20\n"
				    "a 1.8446744073709552e+19\n"
				    "a 4294967296\n"
				    "a NaN\n"
				    "a +Inf\n"
				    "a -Inf\n");
	buf_reset(&b);

	assert_int_equal(buf_puts(&b, "peer=\""), 0);
	assert_int_equal(metrics_label_escape(&b, "a\\b\"c\nd\te"), 0);
	assert_int_equal(buf_puts(&b, "\""), 0);
	assert_string_equal(b.data, "peer=\"a\\\\b\\\"c\\nd\te\"");
	buf_free(&b);
}

/* ---- the server ---- */

static void test_get_metrics(void **state)
{
	struct env e;
	struct client c[4];
	(void)state;

	env_init(&e, 0);
	client_start(&e, &c[0], "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 0);
	client_start(&e, &c[1], "GET /metrics?name[]=x HTTP/1.0\r\n\r\n", 0);
	client_start(&e, &c[2], "HEAD /metrics HTTP/1.1\r\n\r\n", 0);
	client_start(&e, &c[3], "GET /healthz HTTP/1.1\r\n\r\n", 0);
	run_until_closed(&e, c, 4);

	assert_response(&c[0], 200, collected);
	assert_string_equal(header_of(&c[0], "Content-Type"),
			    "text/plain; version=0.0.4; charset=utf-8");
	assert_response(&c[1], 200, collected);
	/* HEAD: the length of the body GET would send, and no body. */
	assert_response(&c[2], 200, NULL);
	assert_string_equal(body_of(&c[2]), "");
	char len[32];
	snprintf(len, sizeof(len), "%zu", strlen(collected));
	assert_string_equal(header_of(&c[2], "Content-Length"), len);
	assert_response(&c[3], 200, "ok\n");
	assert_int_equal(e.collects, 3);

	for (int i = 0; i < 4; i++)
		client_free(&c[i]);
	env_finish(&e);
}

static void test_not_found_and_method(void **state)
{
	struct env e;
	struct client c[5];
	(void)state;

	env_init(&e, 0);
	client_start(&e, &c[0], "GET / HTTP/1.1\r\n\r\n", 0);
	client_start(&e, &c[1], "GET /metricsx HTTP/1.1\r\n\r\n", 0);
	client_start(&e, &c[2],
		     "POST /metrics HTTP/1.1\r\n"
		     "Content-Length: 3\r\n\r\nabc",
		     0);
	client_start(&e, &c[3], "DELETE /healthz HTTP/1.1\r\n\r\n", 0);
	client_start(&e, &c[4], "get /metrics HTTP/1.1\r\n\r\n", 0);
	run_until_closed(&e, c, 5);

	assert_response(&c[0], 404, "Not Found\n");
	assert_response(&c[1], 404, "Not Found\n");
	assert_response(&c[2], 405, "Method Not Allowed\n");
	assert_string_equal(header_of(&c[2], "Allow"), "GET, HEAD");
	assert_response(&c[3], 405, "Method Not Allowed\n");
	assert_response(&c[4], 405, "Method Not Allowed\n"); /* case matters */
	assert_int_equal(e.collects, 0);

	for (int i = 0; i < 5; i++)
		client_free(&c[i]);
	env_finish(&e);
}

static void test_bad_requests(void **state)
{
	static const struct {
		const char *text;
		size_t len;
	} bad[] = {
	    {"\x01\x02\x03garbage\r\n\r\n"},
	    {"GET /metrics HTTP/1.1\n\n"},
	    {"GET /metrics HTTP/1.1\r\nHost: x\n\r\n"},
	    {"GET  /metrics HTTP/1.1\r\n\r\n"},
	    {"GET metrics HTTP/1.1\r\n\r\n"},
	    {"GET http://x/metrics HTTP/1.1\r\n\r\n"},
	    {"GET /metrics HTTP/2.0\r\n\r\n"},
	    {"GET /metrics HTTP/1.x\r\n\r\n"},
	    {"GET /metrics HTTP/1.10\r\n\r\n"},
	    {"GET /metrics http/1.1\r\n\r\n"},
	    {"GET /metrics HTTP/1.1 \r\n\r\n"},
	    {"GET /metrics\r\n\r\n"},
	    {"GET\r\n\r\n"},
	    {"\r\n\r\n"},
	    {" GET /metrics HTTP/1.1\r\n\r\n"},
	    {"G(T /metrics HTTP/1.1\r\n\r\n"},
	    {"GET /me\ttrics HTTP/1.1\r\n\r\n"},
	    {"GET /metrics HTTP/1.1\r\nNoColon\r\n\r\n"},
	    {"GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n"},
	    {"GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n"},
	    {"GET /metrics HTTP/1.1\r\nA: b\r\n folded\r\n\r\n"},
	    {"GET /metrics HTTP/1.1\rX\r\n\r\n"},
	    {"GET /met\0rics HTTP/1.1\r\n\r\n", 26},
	    {"GET /metrics HTTP/1.1\r\nA: \0\r\n\r\n", 31},
	    {"GET /metrics HTTP/1.1\r\n\r\r\n"},
	};
	enum { N = sizeof(bad) / sizeof(bad[0]) };
	struct env e;
	struct client c[N];
	(void)state;

	env_init(&e, 0);
	for (unsigned i = 0; i < N; i++)
		client_start(&e, &c[i], bad[i].text, bad[i].len);
	run_until_closed(&e, c, N);
	for (unsigned i = 0; i < N; i++) {
		if (status_of(&c[i]) != 400)
			fail_msg("request %u: status %d, want 400", i,
				 status_of(&c[i]));
		assert_response(&c[i], 400, "Bad Request\n");
		client_free(&c[i]);
	}
	assert_int_equal(e.collects, 0);
	env_finish(&e);
}

static void test_split_and_half_close(void **state)
{
	struct env e;
	struct client c[2];
	(void)state;

	env_init(&e, 0);
	/* Cut inside the method, after a CR, and before the final LF. */
	client_start(&e, &c[0], NULL, 0);
	c[0].chunks[0] = "GE";
	c[0].chunks[1] = "T /metrics HTTP/1.1\r";
	c[0].chunks[2] = "\nHost: x\r\n\r";
	c[0].chunks[3] = "\n";
	for (int i = 0; i < 4; i++)
		c[0].chunk_len[i] = strlen(c[0].chunks[i]);
	c[0].nchunks = 4;
	/* A client that shuts down writing right after its request. */
	client_start(&e, &c[1], "GET /healthz HTTP/1.0\r\n\r\n", 0);
	c[1].half_close = true;
	run_until_closed(&e, c, 2);

	assert_response(&c[0], 200, collected);
	assert_response(&c[1], 200, "ok\n");
	client_free(&c[0]);
	client_free(&c[1]);
	env_finish(&e);
}

/* The client half-closes while a large response is still being written:
 * the whole response arrives all the same. */
static void test_half_close_during_write(void **state)
{
	struct env e;
	struct client c;
	(void)state;

	env_init(&e, 0);
	e.big = 16u << 20;
	client_start(&e, &c, "GET /metrics HTTP/1.1\r\n\r\n", 0);
	c.half_close = true;
	run_until_closed(&e, &c, 1);
	assert_response(&c, 200, NULL);
	assert_true(strlen(body_of(&c)) >= e.big);
	assert_memory_equal(body_of(&c), collected, strlen(collected));
	client_free(&c);
	env_finish(&e);
}

static void test_oversized(void **state)
{
	struct env e;
	struct client c[2];
	struct buf big = {0}, exact = {0};
	(void)state;

	/* Headers that never end, far more than the server reads before it
	 * answers, so it must drain the rest. */
	buf_puts(&big, "GET /metrics HTTP/1.1\r\n");
	while (big.len < (4u << 20))
		buf_puts(&big, "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
	/* A request of exactly the limit is still served. */
	buf_puts(&exact, "GET /healthz HTTP/1.1\r\nX-Pad: ");
	while (exact.len < METRICS_REQUEST_MAX - 4)
		buf_putc(&exact, 'p');
	buf_puts(&exact, "\r\n\r\n");
	assert_int_equal(exact.len, METRICS_REQUEST_MAX);

	env_init(&e, 0);
	client_start(&e, &c[0], big.data, big.len);
	client_start(&e, &c[1], exact.data, exact.len);
	run_until_closed(&e, c, 2);

	/* The server answers and then drains, so no reset destroys the
	 * answer even though the client was still sending. */
	assert_response(&c[0], 400, "Bad Request\n");
	assert_response(&c[1], 200, "ok\n");
	client_free(&c[0]);
	client_free(&c[1]);
	buf_free(&big);
	buf_free(&exact);
	env_finish(&e);
}

static void test_timeout(void **state)
{
	struct env e;
	struct client c[2];
	(void)state;

	env_init(&e, 50);
	client_start(&e, &c[0], NULL, 0); /* silent */
	client_start(&e, &c[1], "GET /metrics HTTP/1.1\r\nHost:", 0);
	run_until_closed(&e, c, 2);

	for (int i = 0; i < 2; i++) {
		assert_true(c[i].connected);
		assert_true(c[i].eof);
		assert_int_equal(c[i].resp.len, 0);
		client_free(&c[i]);
	}
	assert_int_equal(e.collects, 0);
	env_finish(&e);
}

/* A client that asks for a large body and never reads: the write stalls
 * and the deadline still closes the connection. */
static void test_stalled_write(void **state)
{
	struct env e;
	struct client c;
	(void)state;

	env_init(&e, 200);
	e.big = 64u << 20;
	client_start(&e, &c, "GET /metrics HTTP/1.1\r\n\r\n", 0);
	c.no_read = true;
	while (e.collects == 0 || metrics_server_connections(e.srv) > 0)
		uv_run(&e.loop, UV_RUN_ONCE);
	client_close(&c);
	run_until_closed(&e, &c, 1);
	client_free(&c);
	env_finish(&e);
}

/* Closing the server with connections open, one of them in a stalled
 * write, cancels everything and still frees it all. */
static void test_close_with_connections(void **state)
{
	enum { N = 5 };
	struct env e;
	struct client c[N + 1];
	(void)state;

	env_init(&e, 60000);
	for (int i = 0; i < N; i++)
		client_start(&e, &c[i], i % 2 ? NULL : "GET /metr", 0);
	e.big = 64u << 20;
	client_start(&e, &c[N], "GET /metrics HTTP/1.1\r\n\r\n", 0);
	c[N].no_read = true;
	while (metrics_server_connections(e.srv) < N + 1 || !e.collects)
		uv_run(&e.loop, UV_RUN_ONCE);

	env_close_server(&e);
	run_until_closed(&e, c, N);
	client_close(&c[N]);
	run_until_closed(&e, &c[N], 1);
	env_end(&e);
	for (int i = 0; i < N; i++) {
		assert_true(c[i].closed);
		assert_true(c[i].eof || c[i].error);
		assert_int_equal(c[i].resp.len, 0);
		client_free(&c[i]);
	}
	client_free(&c[N]);
}

/* 64 silent clients fill the server; the 65th waits in the accept queue
 * and is answered as soon as the first of them times out. */
static void test_connection_limit(void **state)
{
	enum { N = METRICS_MAX_CONNS };
	struct env e;
	struct client *c = calloc(N + 1, sizeof(*c));
	(void)state;

	env_init(&e, 300);
	for (int i = 0; i < N; i++)
		client_start(&e, &c[i], NULL, 0);
	while (metrics_server_connections(e.srv) < N)
		uv_run(&e.loop, UV_RUN_ONCE);
	client_start(&e, &c[N], "GET /healthz HTTP/1.1\r\n\r\n", 0);
	run_until_closed(&e, c, N + 1);

	assert_response(&c[N], 200, "ok\n");
	unsigned first_idle = UINT32_MAX;
	for (int i = 0; i < N; i++) {
		assert_true(c[i].eof);
		assert_int_equal(c[i].resp.len, 0);
		if (c[i].closed_seq < first_idle)
			first_idle = c[i].closed_seq;
		client_free(&c[i]);
	}
	assert_true(c[N].closed_seq > first_idle);
	assert_int_equal(e.max_conns, N);
	client_free(&c[N]);
	free(c);
	env_finish(&e);
}

/* More simultaneous scrapes than the limit: every one is answered. */
static void test_many_clients(void **state)
{
	enum { N = 100 }; /* within the listen backlog */
	struct env e;
	struct client *c = calloc(N, sizeof(*c));
	(void)state;

	env_init(&e, 0);
	for (int i = 0; i < N; i++)
		client_start(&e, &c[i], "GET /metrics HTTP/1.1\r\n\r\n", 0);
	run_until_closed(&e, c, N);
	for (int i = 0; i < N; i++) {
		assert_response(&c[i], 200, collected);
		client_free(&c[i]);
	}
	assert_int_equal(e.collects, N);
	assert_true(e.max_conns <= METRICS_MAX_CONNS);
	free(c);
	env_finish(&e);
}

static void test_start_errors(void **state)
{
	struct env e;
	struct metrics_server *other = NULL;
	struct sockaddr_storage unix_addr = {.ss_family = AF_UNIX};
	(void)state;

	env_init(&e, 0);
	/* The port is taken: the error comes back, and the half-made server
	 * is freed by the loop. */
	assert_int_equal(metrics_server_start(&e.loop,
					      (struct sockaddr *)&e.addr,
					      collect, &e, &other),
			 -EADDRINUSE);
	assert_null(other);
	assert_int_equal(metrics_server_start(&e.loop,
					      (struct sockaddr *)&unix_addr,
					      collect, &e, &other),
			 -EINVAL);
	assert_null(other);
	uv_run(&e.loop, UV_RUN_NOWAIT);
	env_finish(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_family_and_sample),
	    cmocka_unit_test(test_get_metrics),
	    cmocka_unit_test(test_not_found_and_method),
	    cmocka_unit_test(test_bad_requests),
	    cmocka_unit_test(test_split_and_half_close),
	    cmocka_unit_test(test_half_close_during_write),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_stalled_write),
	    cmocka_unit_test(test_close_with_connections),
	    cmocka_unit_test(test_connection_limit),
	    cmocka_unit_test(test_many_clients),
	    cmocka_unit_test(test_start_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
