/* The transport over real TCP on loopback and over Unix sockets in a
 * temporary folder, server and clients in one loop. Every test closes all
 * it opened and asserts uv_loop_close() succeeds; a Unix test also asserts
 * that its folder is left empty. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "rpc.h"
#include "sockaddr.h"

/* The tests use rpc.Status as request and answer: it is a message with an
 * integer and a string, which is all an echo needs. */
struct fixture {
	uv_loop_t loop;
	struct rpc_server *server;
	struct sockaddr_storage addr;
	struct rpc_client *client;
	int up, down;
	int answers, ended;
	Rpc__Code last_code;
	char last_text[256];
	int stream_closed;
	char last_reason[64];
	struct rpc_call *held;
	int closed;
	char last_peer[64];
	char dir[32];   /* Unix tests: the temporary folder, else "" */
	char path[64];  /* Unix tests: dir/lb.sock */
};

static void echo(struct rpc_call *call, const ProtobufCMessage *req,
		 void *data)
{
	struct fixture *f = data;
	const Rpc__Status *in = (const Rpc__Status *)req;
	snprintf(f->last_peer, sizeof(f->last_peer), "%s", rpc_call_peer(call));
	if (strcmp(in->message, "fail") == 0) {
		rpc_call_fail(call, RPC__CODE__RESOURCE_EXHAUSTED, "test_full",
			      "asked to fail");
		return;
	}
	Rpc__Status out = RPC__STATUS__INIT;
	out.code = in->code;
	out.message = in->message;
	rpc_call_reply(call, &out.base);
}

static void on_stream_closed(struct rpc_call *call, void *data)
{
	struct fixture *f = data;
	(void)call;
	f->stream_closed++;
	f->held = NULL;
}

/* Sends `code` items, then ends the call if the message is "end", or
 * keeps it open. */
static void count(struct rpc_call *call, const ProtobufCMessage *req,
		  void *data)
{
	struct fixture *f = data;
	const Rpc__Status *in = (const Rpc__Status *)req;
	for (int i = 0; i < (int)in->code; i++) {
		Rpc__Status item = RPC__STATUS__INIT;
		item.code = (Rpc__Code)i;
		rpc_call_send(call, &item.base);
	}
	if (strcmp(in->message, "end") == 0) {
		rpc_call_end(call, RPC__CODE__OK, "done");
		return;
	}
	f->held = call;
	rpc_call_on_close(call, on_stream_closed, f);
}

static const struct rpc_method methods[] = {
	{ "test.Echo/Echo", &rpc__status__descriptor, echo, false },
	{ "test.Count/Count", &rpc__status__descriptor, count, true },
};

static void on_state(struct rpc_client *c, bool up, void *data)
{
	struct fixture *f = data;
	(void)c;
	if (up)
		f->up++;
	else
		f->down++;
}

static void on_answer(void *data, const Rpc__Status *st,
		      const ProtobufCMessage *msg)
{
	struct fixture *f = data;
	if (msg) {
		f->answers++;
		const Rpc__Status *m = (const Rpc__Status *)msg;
		snprintf(f->last_text, sizeof(f->last_text), "%s", m->message);
	} else {
		f->ended++;
		f->last_code = st->code;
		snprintf(f->last_text, sizeof(f->last_text), "%s", st->message);
		snprintf(f->last_reason, sizeof(f->last_reason), "%s",
			 st->reason ? st->reason : "");
	}
}

static void on_timeout(uv_timer_t *t)
{
	*(int *)t->data = 1;
}

/* Runs the loop until *flag >= want or 5 s pass; returns whether it got
 * there. This awaits a condition: it returns as soon as it holds. */
static bool run_until(uv_loop_t *loop, int *flag, int want)
{
	int expired = 0;
	uv_timer_t guard;
	uv_timer_init(loop, &guard);
	guard.data = &expired;
	uv_timer_start(&guard, on_timeout, 5000, 0);
	while (*flag < want && !expired)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return *flag >= want;
}

static struct rpc_server_config server_cfg(struct fixture *f)
{
	struct rpc_server_config cfg = {
		.methods = methods,
		.n_methods = 2,
		.data = f,
		.timing = { .keepalive_ms = 100, .dead_ms = 400 },
	};
	return cfg;
}

static void start_server(struct fixture *f, uint16_t port)
{
	struct sockaddr_in sin;
	uv_ip4_addr("127.0.0.1", port, &sin);
	struct rpc_server_config cfg = server_cfg(f);
	assert_int_equal(rpc_server_start(&f->loop, (struct sockaddr *)&sin,
					  &cfg, &f->server),
			 0);
	assert_int_equal(rpc_server_address(f->server, &f->addr), 0);
}

static void start_client(struct fixture *f)
{
	struct rpc_client_config cc = {
		.timing = { .keepalive_ms = 100, .dead_ms = 400 },
		.backoff_min_ms = 20,
		.backoff_max_ms = 100,
		.on_state = on_state,
		.data = f,
	};
	assert_int_equal(rpc_client_start(&f->loop, (struct sockaddr *)&f->addr,
					  &cc, &f->client),
			 0);
	assert_true(run_until(&f->loop, &f->up, 1));
}

static void on_closed(void *data)
{
	(*(int *)data)++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uv_loop_init(&f->loop);
	start_server(f, 0);
	start_client(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int want = 0;
	if (f->client) {
		rpc_client_close(f->client, on_closed, &f->closed);
		want++;
	}
	if (f->server) {
		rpc_server_close(f->server, on_closed, &f->closed);
		want++;
	}
	assert_true(run_until(&f->loop, &f->closed, want));
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	/* Fails unless closing the server removed its socket file. */
	if (f->dir[0])
		assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

static void call_echo(struct fixture *f, const char *text)
{
	Rpc__Status req = RPC__STATUS__INIT;
	req.message = (char *)text;
	assert_int_equal(rpc_client_call(f->client, "test.Echo/Echo", &req.base,
					 &rpc__status__descriptor, on_answer, f,
					 NULL),
			 0);
}

static void test_unary(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 100; i++)
		call_echo(f, "hello");
	assert_true(run_until(&f->loop, &f->answers, 100));
	assert_string_equal(f->last_text, "hello");
	assert_int_equal(f->ended, 0);
}

static void test_unknown_method_and_bad_payload(void **state)
{
	struct fixture *f = *state;
	Rpc__Status req = RPC__STATUS__INIT;
	assert_int_equal(rpc_client_call(f->client, "test.Nope/Nope", &req.base,
					 &rpc__status__descriptor, on_answer, f,
					 NULL),
			 0);
	assert_true(run_until(&f->loop, &f->ended, 1));
	assert_int_equal(f->last_code, RPC__CODE__UNIMPLEMENTED);
	assert_non_null(strstr(f->last_text, "test.Nope/Nope"));

	/* A request that is not an rpc.Status: an Envelope whose field 2
	 * (kind) is a varint, where a Status has a string. */
	Rpc__Envelope wrapped = RPC__ENVELOPE__INIT;
	wrapped.kind = RPC__KIND__ITEM;
	assert_int_equal(rpc_client_call(f->client, "test.Echo/Echo",
					 &wrapped.base, &rpc__status__descriptor,
					 on_answer, f, NULL),
			 0);
	assert_true(run_until(&f->loop, &f->ended, 2));
	assert_int_equal(f->last_code, RPC__CODE__INVALID_ARGUMENT);
	assert_non_null(strstr(f->last_text, "not a valid rpc.Status"));
	/* A failure's reason reaches the client. */
	call_echo(f, "fail");
	assert_true(run_until(&f->loop, &f->ended, 3));
	assert_int_equal(f->last_code, RPC__CODE__RESOURCE_EXHAUSTED);
	assert_string_equal(f->last_reason, "test_full");
	assert_string_equal(f->last_text, "asked to fail");
	/* The connection survives them all. */
	call_echo(f, "still here");
	assert_true(run_until(&f->loop, &f->answers, 1));
}

static void test_stream_and_cancel(void **state)
{
	struct fixture *f = *state;
	Rpc__Status req = RPC__STATUS__INIT;
	req.code = 5; /* five items, then END OK */
	req.message = "end";
	assert_int_equal(rpc_client_call(f->client, "test.Count/Count",
					 &req.base, &rpc__status__descriptor,
					 on_answer, f, NULL),
			 0);
	assert_true(run_until(&f->loop, &f->ended, 1));
	assert_int_equal(f->answers, 5);
	assert_int_equal(f->last_code, RPC__CODE__OK);

	uint32_t id;
	req.code = 3; /* three items, stays open */
	req.message = "";
	assert_int_equal(rpc_client_call(f->client, "test.Count/Count",
					 &req.base, &rpc__status__descriptor,
					 on_answer, f, &id),
			 0);
	assert_true(run_until(&f->loop, &f->answers, 8));
	assert_non_null(f->held);
	assert_int_equal(rpc_client_cancel(f->client, id), 0);
	assert_int_equal(f->last_code, RPC__CODE__CANCELLED);
	assert_true(run_until(&f->loop, &f->stream_closed, 1));
}

/* rpc_client_call_wait: a daemon's last call, waited for on the loop. */
static void test_call_wait(void **state)
{
	struct fixture *f = *state;
	Rpc__Status req = RPC__STATUS__INIT;
	req.message = "bye";
	assert_int_equal(rpc_client_call_wait(f->client, "test.Echo/Echo",
					      &req.base,
					      &rpc__status__descriptor, 5000),
			 0);
	req.message = "fail";
	assert_int_equal(rpc_client_call_wait(f->client, "test.Echo/Echo",
					      &req.base,
					      &rpc__status__descriptor, 5000),
			 -EPROTO);
	/* No answer: given up after the timeout, and cancelled, so the
	 * server's end of the call closes too. */
	req.code = 0;
	req.message = "";
	assert_int_equal(rpc_client_call_wait(f->client, "test.Count/Count",
					      &req.base,
					      &rpc__status__descriptor, 50),
			 -ETIMEDOUT);
	assert_true(run_until(&f->loop, &f->stream_closed, 1));
	/* The connection is still good. */
	call_echo(f, "after");
	assert_true(run_until(&f->loop, &f->answers, 1));
	assert_string_equal(f->last_text, "after");
}

/* The server restarts on the same port: the open stream ends UNAVAILABLE,
 * the client reconnects by itself. */
static void test_reconnect(void **state)
{
	struct fixture *f = *state;
	Rpc__Status req = RPC__STATUS__INIT;
	req.code = 1;
	assert_int_equal(rpc_client_call(f->client, "test.Count/Count",
					 &req.base, &rpc__status__descriptor,
					 on_answer, f, NULL),
			 0);
	assert_true(run_until(&f->loop, &f->answers, 1));

	uint16_t port = ntohs(((struct sockaddr_in *)&f->addr)->sin_port);
	rpc_server_close(f->server, on_closed, &f->closed);
	f->server = NULL;
	assert_true(run_until(&f->loop, &f->closed, 1));
	f->closed = 0;
	assert_true(run_until(&f->loop, &f->down, 1));
	assert_int_equal(f->ended, 1);
	assert_int_equal(f->last_code, RPC__CODE__UNAVAILABLE);
	assert_int_equal(rpc_client_call(f->client, "test.Echo/Echo", &req.base,
					 &rpc__status__descriptor, on_answer, f,
					 NULL),
			 -ENOTCONN);

	start_server(f, port);
	assert_true(run_until(&f->loop, &f->up, 2));
	call_echo(f, "back");
	assert_true(run_until(&f->loop, &f->answers, 2));
	assert_string_equal(f->last_text, "back");
}

/* Raw sockets: a peer that sends garbage, one that announces a huge frame,
 * and one that says nothing at all. Each is closed; the good client goes
 * on. */
struct raw {
	uv_tcp_t tcp;
	uv_connect_t req;
	uv_write_t wr;
	const char *bytes;
	size_t len;
	int *closed;
};

static void raw_closed(uv_handle_t *h)
{
	struct raw *r = h->data;
	(*r->closed)++;
	free(r);
}

static void raw_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
	(void)h;
	static char sink[4096];
	(void)n;
	*b = uv_buf_init(sink, sizeof(sink));
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	(void)b;
	if (n < 0)
		uv_close((uv_handle_t *)s, raw_closed);
}

static void raw_connected(uv_connect_t *req, int status)
{
	struct raw *r = req->handle->data;
	assert_int_equal(status, 0);
	if (r->len) {
		uv_buf_t b = uv_buf_init((char *)r->bytes, (unsigned)r->len);
		uv_write(&r->wr, (uv_stream_t *)&r->tcp, &b, 1, NULL);
	}
	uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
}

static void raw_peer(struct fixture *f, const char *bytes, size_t len,
		     int *closed)
{
	struct raw *r = calloc(1, sizeof(*r));
	r->bytes = bytes;
	r->len = len;
	r->closed = closed;
	uv_tcp_init(&f->loop, &r->tcp);
	r->tcp.data = r;
	uv_tcp_connect(&r->req, &r->tcp, (struct sockaddr *)&f->addr,
		       raw_connected);
}

static void test_bad_peers(void **state)
{
	struct fixture *f = *state;
	int closed = 0;
	raw_peer(f, "GET / HTTP/1.1\r\n\r\n", 18, &closed); /* 1.1 GiB frame */
	raw_peer(f, "\x00\x00\x00\x03\xff\xff\xff", 7, &closed); /* bad envelope */
	raw_peer(f, "\x00\x00\x00\x00", 4, &closed);               /* empty frame */
	raw_peer(f, NULL, 0, &closed); /* silent: the keepalive finds it */
	for (int i = 0; i < 50; i++)
		call_echo(f, "good");
	assert_true(run_until(&f->loop, &closed, 4));
	assert_true(run_until(&f->loop, &f->answers, 50));
	const struct rpc_server_stats *st = rpc_server_stats(f->server);
	assert_int_equal(st->bad_frames, 3);
	assert_int_equal(st->dead_peers, 1);
	assert_int_equal(f->down, 0);
}

/* ---- Unix-domain sockets ---- */

static int start_unix(struct fixture *f, const char *path,
		      struct rpc_server **out)
{
	char text[SOCKADDR_STRLEN];
	struct sockaddr_storage ss;
	snprintf(text, sizeof(text), "unix:%s", path);
	assert_int_equal(sockaddr_parse(text, 0, &ss), 0);
	struct rpc_server_config cfg = server_cfg(f);
	return rpc_server_start(&f->loop, (struct sockaddr *)&ss, &cfg, out);
}

static void start_server_unix(struct fixture *f)
{
	assert_int_equal(start_unix(f, f->path, &f->server), 0);
	assert_int_equal(rpc_server_address(f->server, &f->addr), 0);
	struct sockaddr_un *un = (struct sockaddr_un *)&f->addr;
	assert_int_equal(un->sun_family, AF_UNIX);
	assert_string_equal(un->sun_path, f->path);
}

/* A fixture with its loop and an empty folder, nothing started. */
static struct fixture *fixture_unix(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uv_loop_init(&f->loop);
	snprintf(f->dir, sizeof(f->dir), "/tmp/strait-rpc-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/lb.sock", f->dir);
	return f;
}

static int setup_unix(void **state)
{
	struct fixture *f = fixture_unix();
	start_server_unix(f);
	start_client(f);
	*state = f;
	return 0;
}

static int setup_unix_empty(void **state)
{
	*state = fixture_unix();
	return 0;
}

static void test_unix_calls(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	/* The socket is there, with the mode the contract gives it. */
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);

	for (int i = 0; i < 100; i++)
		call_echo(f, "local");
	assert_true(run_until(&f->loop, &f->answers, 100));
	assert_string_equal(f->last_text, "local");
	assert_int_equal(f->ended, 0);
	/* The peer is named by its credentials: this very process. */
	char want[64];
	snprintf(want, sizeof(want), "unix:pid=%ld,uid=%lu", (long)getpid(),
		 (unsigned long)getuid());
	assert_string_equal(f->last_peer, want);

	/* A stream of five items and its END, then one held open and
	 * cancelled. */
	Rpc__Status req = RPC__STATUS__INIT;
	req.code = 5;
	req.message = "end";
	f->answers = 0;
	assert_int_equal(rpc_client_call(f->client, "test.Count/Count",
					 &req.base, &rpc__status__descriptor,
					 on_answer, f, NULL),
			 0);
	assert_true(run_until(&f->loop, &f->ended, 1));
	assert_int_equal(f->answers, 5);
	assert_int_equal(f->last_code, RPC__CODE__OK);
	assert_string_equal(f->last_text, "done");

	uint32_t id;
	req.code = 3;
	req.message = "";
	assert_int_equal(rpc_client_call(f->client, "test.Count/Count",
					 &req.base, &rpc__status__descriptor,
					 on_answer, f, &id),
			 0);
	assert_true(run_until(&f->loop, &f->answers, 8));
	assert_non_null(f->held);
	assert_int_equal(rpc_client_cancel(f->client, id), 0);
	assert_true(run_until(&f->loop, &f->stream_closed, 1));

	/* Keepalive runs over the socket too: outlive the dead interval
	 * (400 ms) twice and stay connected. */
	int waited = 0;
	uv_timer_t t;
	uv_timer_init(&f->loop, &t);
	t.data = &waited;
	uv_timer_start(&t, on_timeout, 900, 0);
	assert_true(run_until(&f->loop, &waited, 1));
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&f->loop, UV_RUN_NOWAIT); /* t lives on this stack */
	assert_true(rpc_client_connected(f->client));
	assert_int_equal(f->down, 0);
	const struct rpc_server_stats *st_s = rpc_server_stats(f->server);
	assert_int_equal(st_s->conns_open, 1);
	assert_int_equal(st_s->dead_peers, 0);
}

/* Whether a server listens at path: a plain connect() says, at once. */
static bool listening(const char *path)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	int rc = connect(fd, (struct sockaddr *)&un, sizeof(un));
	close(fd);
	return rc == 0;
}

/* Leaves a socket file at path with nobody listening, as a server that
 * was killed leaves it. */
static void make_stale(const char *path)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	close(fd);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_false(listening(path));
}

/* A client started against a stale socket is refused and retries; a
 * server started on it replaces it; the client then gets through. */
static void test_unix_stale(void **state)
{
	struct fixture *f = *state;
	make_stale(f->path);
	struct stat after;

	struct sockaddr_storage ss;
	char text[SOCKADDR_STRLEN];
	snprintf(text, sizeof(text), "unix:%s", f->path);
	assert_int_equal(sockaddr_parse(text, 0, &ss), 0);
	struct rpc_client_config cc = {
		.timing = { .keepalive_ms = 100, .dead_ms = 400 },
		.backoff_min_ms = 20,
		.backoff_max_ms = 100,
		.on_state = on_state,
		.data = f,
	};
	assert_int_equal(rpc_client_start(&f->loop, (struct sockaddr *)&ss,
					  &cc, &f->client),
			 0);
	assert_true(run_until(&f->loop, &f->down, 1));
	assert_false(rpc_client_connected(f->client));
	assert_string_equal(rpc_client_error(f->client),
			    uv_strerror(UV_ECONNREFUSED));

	/* (The inode number cannot tell the files apart: the file system
	 * hands the freed one straight to the new socket.) */
	start_server_unix(f);
	assert_int_equal(lstat(f->path, &after), 0);
	assert_true(S_ISSOCK(after.st_mode));
	assert_int_equal(after.st_mode & 07777, 0660);
	assert_true(listening(f->path));

	assert_true(run_until(&f->loop, &f->up, 1));
	call_echo(f, "after stale");
	assert_true(run_until(&f->loop, &f->answers, 1));
	assert_string_equal(f->last_text, "after stale");
}

/* A live path is not taken over, a non-socket file is not deleted, and a
 * missing folder is reported as missing. */
static void test_unix_refused(void **state)
{
	struct fixture *f = *state;
	struct rpc_server *second = NULL;
	struct stat before, after;

	assert_int_equal(lstat(f->path, &before), 0);
	assert_int_equal(start_unix(f, f->path, &second), -EADDRINUSE);
	assert_null(second);
	assert_int_equal(lstat(f->path, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_true(listening(f->path));
	/* The first server still answers on it. */
	call_echo(f, "still mine");
	assert_true(run_until(&f->loop, &f->answers, 1));
	assert_string_equal(f->last_text, "still mine");

	char other[96];
	snprintf(other, sizeof(other), "%s/file", f->dir);
	FILE *fp = fopen(other, "w");
	assert_non_null(fp);
	fputs("keep me\n", fp);
	fclose(fp);
	assert_int_equal(start_unix(f, other, &second), -EADDRINUSE);
	assert_int_equal(lstat(other, &after), 0);
	assert_true(S_ISREG(after.st_mode));
	assert_int_equal(after.st_size, 8);

	/* A regular file where the folder should be, and no folder. */
	char below[128];
	snprintf(below, sizeof(below), "%s/x.sock", other);
	assert_int_equal(start_unix(f, below, &second), -ENOTDIR);
	assert_int_equal(unlink(other), 0);
	snprintf(below, sizeof(below), "%s/missing/x.sock", f->dir);
	assert_int_equal(start_unix(f, below, &second), -ENOENT);
	assert_null(second);

	/* Addresses sockaddr_parse() would refuse, built by hand. */
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct rpc_server_config cfg = server_cfg(f);
	snprintf(un.sun_path, sizeof(un.sun_path), "relative.sock");
	assert_int_equal(rpc_server_start(&f->loop, (struct sockaddr *)&un,
					  &cfg, &second),
			 -EINVAL);
	memset(un.sun_path, 'x', sizeof(un.sun_path));
	un.sun_path[0] = '/';
	assert_int_equal(rpc_server_start(&f->loop, (struct sockaddr *)&un,
					  &cfg, &second),
			 -EINVAL);
	struct rpc_client *cl = NULL;
	struct rpc_client_config cc = { .on_state = on_state, .data = f };
	assert_int_equal(rpc_client_start(&f->loop, (struct sockaddr *)&un,
					  &cc, &cl),
			 -EINVAL);
	assert_null(cl);
	assert_null(second);
}

/* Closing the server removes its file at once; the client sees the loss,
 * retries while there is no file, and reconnects to a new server on the
 * same path. */
static void test_unix_close_and_restart(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	rpc_server_close(f->server, on_closed, &f->closed);
	f->server = NULL;
	assert_int_equal(lstat(f->path, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_true(run_until(&f->loop, &f->closed, 1));
	f->closed = 0;
	assert_true(run_until(&f->loop, &f->down, 1));
	assert_int_equal(rpc_client_call(f->client, "test.Echo/Echo", NULL,
					 &rpc__status__descriptor, on_answer, f,
					 NULL),
			 -ENOTCONN);
	/* A retry finds no file at all. */
	assert_true(run_until(&f->loop, &f->down, 2));
	assert_string_equal(rpc_client_error(f->client),
			    uv_strerror(UV_ENOENT));

	start_server_unix(f);
	assert_true(run_until(&f->loop, &f->up, 2));
	call_echo(f, "back");
	assert_true(run_until(&f->loop, &f->answers, 1));
	assert_string_equal(f->last_text, "back");
}

int main(void)
{
	log_init("test", LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unary, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unknown_method_and_bad_payload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_and_cancel, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_call_wait, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reconnect, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_peers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unix_calls, setup_unix,
						teardown),
		cmocka_unit_test_setup_teardown(test_unix_stale,
						setup_unix_empty, teardown),
		cmocka_unit_test_setup_teardown(test_unix_refused, setup_unix,
						teardown),
		cmocka_unit_test_setup_teardown(test_unix_close_and_restart,
						setup_unix, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
