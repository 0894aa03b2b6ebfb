#include "rpc_conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "sockaddr.h"

struct wreq {
	uv_write_t req;
	struct rpc_conn *conn;
	uint8_t *data;
};

static void on_handle_closed(uv_handle_t *h)
{
	struct rpc_conn *c = h->data;
	if (--c->open_handles == 0) {
		frame_reader_free(&c->rd);
		c->ops->on_closed(c);
	}
}

static void close_now(struct rpc_conn *c)
{
	uv_timer_stop(&c->timer);
	uv_read_stop(&c->sock.stream);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close(&c->sock.handle, on_handle_closed);
}

static void on_deferred_close(uv_timer_t *t)
{
	struct rpc_conn *c = t->data;
	c->ops->on_closing(c);
	close_now(c);
}

void rpc_conn_close(struct rpc_conn *c, Rpc__Code goaway, const char *fmt,
		    ...)
{
	if (c->closing)
		return;
	c->closing = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);

	if (goaway != RPC__CODE__OK) {
		Rpc__Envelope env = RPC__ENVELOPE__INIT;
		Rpc__Status st = RPC__STATUS__INIT;
		env.kind = RPC__KIND__GOAWAY;
		st.code = goaway;
		st.message = c->why;
		env.status = &st;
		uint8_t *buf;
		size_t len;
		/* Best effort: try_write does not queue, so a peer that does not
		 * read cannot hold the close back. */
		if (frame_encode(&env, &buf, &len) == 0) {
			uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
			uv_try_write(&c->sock.stream, &b, 1);
			free(buf);
		}
	}
	/* The caller may be inside a handler that still uses a call of this
	 * connection: the owner ends its calls (on_closing) on the next loop
	 * turn, through the timer that is about to be closed anyway. Until
	 * then every send fails with -EPIPE. */
	uv_timer_stop(&c->timer);
	uv_read_stop(&c->sock.stream);
	uv_timer_start(&c->timer, on_deferred_close, 0, 0);
}

size_t rpc_conn_backlog(const struct rpc_conn *c)
{
	return c->sock.stream.write_queue_size;
}

bool rpc_conn_congested(const struct rpc_conn *c)
{
	return rpc_conn_backlog(c) >= c->write_high;
}

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct rpc_conn *c = w->conn;
	free(w->data);
	free(w);
	if (status < 0) {
		if (status != UV_ECANCELED)
			rpc_conn_close(c, RPC__CODE__OK, "write failed: %s",
				       uv_strerror(status));
		return;
	}
	if (c->congested_since && rpc_conn_backlog(c) < c->write_high / 2) {
		c->congested_since = 0;
		if (c->drain_wanted && !c->closing) {
			c->drain_wanted = false;
			c->ops->on_drain(c);
		}
	}
}

int rpc_conn_send(struct rpc_conn *c, const Rpc__Envelope *env)
{
	if (c->closing)
		return -EPIPE;
	uint8_t *buf;
	size_t len;
	int err = frame_encode(env, &buf, &len);
	if (err)
		return err;
	struct wreq *w = malloc(sizeof(*w));
	if (!w) {
		free(buf);
		return -ENOMEM;
	}
	w->conn = c;
	w->data = buf;
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);

	/* uv_write copies nothing: the frame lives until on_written. */
	err = uv_write(&w->req, &c->sock.stream, &b, 1, on_written);
	if (err) {
		free(buf);
		free(w);
		rpc_conn_close(c, RPC__CODE__OK, "write failed: %s",
			       uv_strerror(err));
		return -EPIPE;
	}
	if (c->bytes_out)
		*c->bytes_out += len;
	if (!c->congested_since && rpc_conn_congested(c))
		c->congested_since = uv_now(c->sock.handle.loop);
	return 0;
}

int rpc_conn_send_msg(struct rpc_conn *c, uint32_t call, Rpc__Kind kind,
		      const char *method, const ProtobufCMessage *msg,
		      Rpc__Code code, const char *text)
{
	Rpc__Envelope env = RPC__ENVELOPE__INIT;
	Rpc__Status st = RPC__STATUS__INIT;
	uint8_t small[512];
	uint8_t *payload = NULL;
	env.call = call;
	env.kind = kind;
	if (method)
		env.method = (char *)method;
	if (msg) {
		size_t n = protobuf_c_message_get_packed_size(msg);
		if (n > FRAME_MAX)
			return -EMSGSIZE;
		payload = n <= sizeof(small) ? small : malloc(n);
		if (!payload)
			return -ENOMEM;
		protobuf_c_message_pack(msg, payload);
		env.payload.data = payload;
		env.payload.len = n;
	}
	if (code != RPC__CODE__OK || text) {
		st.code = code;
		st.message = (char *)(text ? text : "");
		env.status = &st;
	}
	int err = rpc_conn_send(c, &env);
	if (payload != small)
		free(payload);
	return err;
}

int rpc_conn_send_status(struct rpc_conn *c, uint32_t call, Rpc__Kind kind,
			 Rpc__Code code, const char *reason, const char *text)
{
	Rpc__Envelope env = RPC__ENVELOPE__INIT;
	Rpc__Status st = RPC__STATUS__INIT;
	env.call = call;
	env.kind = kind;
	st.code = code;
	st.message = (char *)(text ? text : "");
	st.reason = (char *)(reason ? reason : "");
	env.status = &st;
	return rpc_conn_send(c, &env);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct rpc_conn *c = h->data;
	uint8_t *p;
	size_t n;
	(void)suggested;
	if (frame_reader_space(&c->rd, 64 * 1024, &p, &n) < 0) {
		buf->base = NULL;
		buf->len = 0;
		return;
	}
	buf->base = (char *)p;
	buf->len = n;
}

static void handle_envelope(struct rpc_conn *c, const Rpc__Envelope *env)
{
	switch (env->kind) {
	case RPC__KIND__PING:
		rpc_conn_send_msg(c, 0, RPC__KIND__PONG, NULL, NULL,
				  RPC__CODE__OK, NULL);
		break;
	case RPC__KIND__PONG:
		break;
	case RPC__KIND__GOAWAY:
		rpc_conn_close(c, RPC__CODE__OK, "peer sent GOAWAY: %s (%s)",
			       env->status ? env->status->message : "",
			       rpc_code_name(env->status ? env->status->code
							 : RPC__CODE__OK));
		break;
	default:
		c->ops->on_envelope(c, env);
		break;
	}
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct rpc_conn *c = s->data;
	(void)buf;
	if (nread == UV_ENOBUFS) {
		rpc_conn_close(c, RPC__CODE__RESOURCE_EXHAUSTED,
			       "out of memory for the read buffer");
		return;
	}
	if (nread < 0) {
		size_t pending = frame_reader_pending(&c->rd);
		if (nread == UV_EOF && pending)
			rpc_conn_close(c, RPC__CODE__OK,
				       "peer closed inside a frame (%zu bytes of a truncated frame)",
				       pending);
		else
			rpc_conn_close(c, RPC__CODE__OK, "%s",
				       nread == UV_EOF ? "peer closed"
						       : uv_strerror((int)nread));
		return;
	}
	frame_reader_commit(&c->rd, (size_t)nread);
	if (c->bytes_in)
		*c->bytes_in += (uint64_t)nread;
	c->last_rx = uv_now(s->loop);

	const uint8_t *body;
	size_t len;
	int r;
	while (!c->closing && (r = frame_reader_next(&c->rd, &body, &len)) == 1) {
		Rpc__Envelope *env;
		char err[128];
		if (frame_decode(body, len, &env, err, sizeof(err)) < 0) {
			rpc_conn_close(c, RPC__CODE__INVALID_ARGUMENT,
				       "bad frame: %s", err);
			return;
		}
		handle_envelope(c, env);
		rpc__envelope__free_unpacked(env, NULL);
	}
	if (r < 0 && !c->closing)
		rpc_conn_close(c, RPC__CODE__INVALID_ARGUMENT,
			       "bad frame: announced length is 0 or over %zu bytes",
			       c->rd.max);
}

static void on_tick(uv_timer_t *t)
{
	struct rpc_conn *c = t->data;
	uint64_t now = uv_now(t->loop);
	if (now - c->last_rx > c->timing.dead_ms) {
		rpc_conn_close(c, RPC__CODE__UNAVAILABLE,
			       "dead peer: nothing received for %llu ms",
			       (unsigned long long)(now - c->last_rx));
		return;
	}
	if (c->congested_since && now - c->congested_since > c->stuck_ms) {
		rpc_conn_close(c, RPC__CODE__RESOURCE_EXHAUSTED,
			       "stuck peer: %zu bytes unread for %llu ms",
			       rpc_conn_backlog(c),
			       (unsigned long long)(now - c->congested_since));
		return;
	}
	rpc_conn_send_msg(c, 0, RPC__KIND__PING, NULL, NULL, RPC__CODE__OK,
			  NULL);
}

int rpc_sock_init(uv_loop_t *loop, union rpc_sock *s, int family)
{
	if (family == AF_UNIX)
		return uv_pipe_init(loop, &s->pipe, 0);
	return uv_tcp_init(loop, &s->tcp);
}

int rpc_conn_init(struct rpc_conn *c, uv_loop_t *loop, int family,
		  const struct rpc_conn_ops *ops, void *owner,
		  const struct rpc_timing *timing, size_t write_high,
		  uint32_t stuck_ms)
{
	int err = rpc_sock_init(loop, &c->sock, family);
	if (err)
		return err;
	c->unix_sock = family == AF_UNIX;
	c->ops = ops;
	c->owner = owner;
	c->timing.keepalive_ms = timing && timing->keepalive_ms
					 ? timing->keepalive_ms
					 : RPC_KEEPALIVE_MS;
	c->timing.dead_ms =
		timing && timing->dead_ms ? timing->dead_ms : RPC_DEAD_MS;
	c->write_high = write_high ? write_high : 4u << 20;
	c->stuck_ms = stuck_ms ? stuck_ms : 30000;
	frame_reader_init(&c->rd, FRAME_MAX);
	c->sock.handle.data = c;
	/* uv_timer_init only links the handle into the loop: it cannot
	 * fail, so there is no half-built state to unwind. */
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->open_handles = 2;
	snprintf(c->peer, sizeof(c->peer), "?");
	return 0;
}

/* A Unix peer's address says nothing (a client's end is unnamed), but the
 * kernel knows who connected: its credentials name the peer in logs. */
static void name_unix_peer(struct rpc_conn *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uv_os_fd_t fd;

	if (uv_fileno(&c->sock.handle, &fd) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	    len == sizeof(cred))
		snprintf(c->peer, sizeof(c->peer), "unix:pid=%ld,uid=%lu",
			 (long)cred.pid, (unsigned long)cred.uid);
	else
		snprintf(c->peer, sizeof(c->peer), "unix");
}

int rpc_conn_start(struct rpc_conn *c)
{
	if (c->unix_sock) {
		name_unix_peer(c);
	} else {
		struct sockaddr_storage ss;
		int len = sizeof(ss);
		if (uv_tcp_getpeername(&c->sock.tcp, (struct sockaddr *)&ss,
				       &len) == 0)
			sockaddr_format((struct sockaddr *)&ss, c->peer,
					sizeof(c->peer));
		uv_tcp_nodelay(&c->sock.tcp, 1);
	}
	c->last_rx = uv_now(c->sock.handle.loop);
	int err = uv_read_start(&c->sock.stream, on_alloc, on_read);
	if (err)
		return err;
	return uv_timer_start(&c->timer, on_tick, c->timing.keepalive_ms,
			      c->timing.keepalive_ms);
}

const char *rpc_code_name(Rpc__Code code)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&rpc__code__descriptor, code);
	return v ? v->name : "UNKNOWN";
}
