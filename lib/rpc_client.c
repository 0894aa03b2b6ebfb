/* The client half of the transport. See rpc.h for the contract.
 *
 * States: idle (waiting to retry) -> connecting -> up -> (lost) -> idle.
 * Each connection attempt gets a fresh struct cconn, because libuv handles
 * cannot be reused after uv_close; the client itself lives across them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "log.h"
#include "rpc.h"
#include "rpc_conn.h"
#include "sockaddr.h"

struct pending {
	uint32_t id;
	const ProtobufCMessageDescriptor *reply;
	rpc_reply_fn fn;
	void *data;
	struct pending *next;
};

struct cconn {
	struct rpc_conn conn; /* first */
	uv_connect_t connect;
	struct rpc_client *client;
	bool up;
};

struct rpc_client {
	uv_loop_t *loop;
	struct sockaddr_storage addr;
	char addr_text[SOCKADDR_STRLEN];
	struct rpc_client_config cfg;
	struct cconn *cc;     /* current attempt or connection, or NULL */
	uv_timer_t retry;
	uint32_t backoff_ms;
	uint32_t next_id;
	struct pending *calls;
	char error[160];
	bool closing;
	bool retry_closed;
	void (*done)(void *);
	void *done_data;
};

static const Rpc__Status status_ok = RPC__STATUS__INIT;

static void on_retry(uv_timer_t *t);

static void finish(struct pending *p, Rpc__Code code, const char *reason,
		   const char *text)
{
	Rpc__Status st = RPC__STATUS__INIT;
	st.code = code;
	st.reason = (char *)(reason ? reason : "");
	st.message = (char *)text;
	p->fn(p->data, &st, NULL);
	free(p);
}

static struct pending *take(struct rpc_client *c, uint32_t id, bool remove)
{
	for (struct pending **pp = &c->calls; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct pending *p = *pp;
			if (remove)
				*pp = p->next;
			return p;
		}
	}
	return NULL;
}

static void fail_all(struct rpc_client *c, Rpc__Code code, const char *text)
{
	/* Callbacks may start new calls (they fail with -ENOTCONN now), so
	 * detach the list before walking it. */
	struct pending *list = c->calls;
	c->calls = NULL;
	while (list) {
		struct pending *p = list;
		list = p->next;
		finish(p, code, NULL, text);
	}
}

static void maybe_done(struct rpc_client *c)
{
	if (c->closing && c->retry_closed && !c->cc) {
		void (*done)(void *) = c->done;
		void *data = c->done_data;
		free(c);
		if (done)
			done(data);
	}
}

static void schedule_retry(struct rpc_client *c)
{
	if (c->closing)
		return;
	uint32_t ms = c->backoff_ms;
	/* +-20% jitter keeps a fleet of clients from reconnecting in step
	 * after a server restart. */
	uint32_t jitter = ms / 5;
	if (jitter)
		ms = ms - jitter + (uint32_t)(rand() % (int)(2 * jitter + 1));
	c->backoff_ms *= 2;
	if (c->backoff_ms > c->cfg.backoff_max_ms)
		c->backoff_ms = c->cfg.backoff_max_ms;
	uv_timer_start(&c->retry, on_retry, ms, 0);
}

static void on_envelope(struct rpc_conn *conn, const Rpc__Envelope *env)
{
	struct rpc_client *c = ((struct cconn *)conn)->client;
	bool last = env->kind != RPC__KIND__ITEM;
	if (env->kind != RPC__KIND__RESPONSE && env->kind != RPC__KIND__ITEM &&
	    env->kind != RPC__KIND__END) {
		rpc_conn_close(conn, RPC__CODE__INVALID_ARGUMENT,
			       "a server may not send frame kind %d",
			       (int)env->kind);
		return;
	}
	struct pending *p = take(c, env->call, last);
	if (!p)
		return; /* cancelled by us while the answer was on its way */

	Rpc__Code code = env->status ? env->status->code : RPC__CODE__OK;
	if (code != RPC__CODE__OK || env->kind == RPC__KIND__END) {
		finish(p, code, env->status ? env->status->reason : NULL,
		       env->status ? env->status->message : "");
		return;
	}
	ProtobufCMessage *msg = protobuf_c_message_unpack(
		p->reply, NULL, env->payload.len, env->payload.data);
	if (!msg) {
		if (!last)
			take(c, env->call, true);
		char text[160];
		snprintf(text, sizeof(text), "answer is not a valid %s",
			 p->reply->name);
		finish(p, RPC__CODE__INTERNAL, NULL, text);
		return;
	}
	p->fn(p->data, &status_ok, msg);
	protobuf_c_message_free_unpacked(msg, NULL);
	if (last)
		free(p);
}

static void on_closing(struct rpc_conn *conn)
{
	struct cconn *cc = (struct cconn *)conn;
	struct rpc_client *c = cc->client;
	bool was_up = cc->up;
	cc->up = false;
	snprintf(c->error, sizeof(c->error), "%s", conn->why);
	if (was_up)
		log_info("rpc: connection to %s lost: %s", c->addr_text,
			 conn->why);
	fail_all(c, c->closing ? RPC__CODE__CANCELLED : RPC__CODE__UNAVAILABLE,
		 conn->why);
	if (was_up && c->cfg.on_state && !c->closing)
		c->cfg.on_state(c, false, c->cfg.data);
}

static void on_closed(struct rpc_conn *conn)
{
	struct cconn *cc = (struct cconn *)conn;
	struct rpc_client *c = cc->client;
	c->cc = NULL;
	free(cc);
	if (c->closing)
		maybe_done(c);
	else
		schedule_retry(c);
}

static void on_drain(struct rpc_conn *conn)
{
	(void)conn;
}

static const struct rpc_conn_ops cconn_ops = {
	.on_envelope = on_envelope,
	.on_closing = on_closing,
	.on_closed = on_closed,
	.on_drain = on_drain,
};

static void on_connect(uv_connect_t *req, int status)
{
	struct cconn *cc = req->data;
	struct rpc_client *c = cc->client;
	if (status == 0 && !c->closing)
		status = rpc_conn_start(&cc->conn);
	if (status < 0) {
		if (status != UV_ECANCELED && !c->closing) {
			bool first = strcmp(c->error, uv_strerror(status)) != 0;
			snprintf(c->error, sizeof(c->error), "%s",
				 uv_strerror(status));
			if (first)
				log_info("rpc: cannot reach %s: %s", c->addr_text,
					 c->error);
			if (c->cfg.on_state)
				c->cfg.on_state(c, false, c->cfg.data);
		}
		rpc_conn_close(&cc->conn, RPC__CODE__OK, "%s",
			       uv_strerror(status));
		return;
	}
	cc->up = true;
	c->backoff_ms = c->cfg.backoff_min_ms;
	c->error[0] = '\0';
	log_info("rpc: connected to %s", c->addr_text);
	if (c->cfg.on_state)
		c->cfg.on_state(c, true, c->cfg.data);
}

static void attempt(struct rpc_client *c)
{
	struct cconn *cc = calloc(1, sizeof(*cc));
	if (!cc) {
		schedule_retry(c);
		return;
	}
	cc->client = c;
	if (rpc_conn_init(&cc->conn, c->loop, c->addr.ss_family, &cconn_ops, c,
			  &c->cfg.timing, 0, 0)) {
		free(cc);
		schedule_retry(c);
		return;
	}
	c->cc = cc;
	cc->connect.data = cc;
	int err = 0;
	if (c->addr.ss_family == AF_UNIX) {
		/* Reports every failure, even an immediate one, through
		 * on_connect: ENOENT while the server is not there yet,
		 * ECONNREFUSED for a stale socket file. */
		const struct sockaddr_un *un = (const void *)&c->addr;
		uv_pipe_connect(&cc->connect, &cc->conn.sock.pipe, un->sun_path,
				on_connect);
	} else {
		err = uv_tcp_connect(&cc->connect, &cc->conn.sock.tcp,
				     (struct sockaddr *)&c->addr, on_connect);
	}
	if (err) {
		snprintf(c->error, sizeof(c->error), "%s", uv_strerror(err));
		rpc_conn_close(&cc->conn, RPC__CODE__OK, "connect: %s",
			       uv_strerror(err));
	}
}

static void on_retry(uv_timer_t *t)
{
	struct rpc_client *c = t->data;
	if (!c->closing && !c->cc)
		attempt(c);
}

int rpc_client_start(uv_loop_t *loop, const struct sockaddr *addr,
		     const struct rpc_client_config *cfg,
		     struct rpc_client **out)
{
	socklen_t len = sockaddr_len(addr);
	if (!len)
		return -EAFNOSUPPORT;
	if (addr->sa_family == AF_UNIX) {
		/* uv_pipe_connect takes a C string: the path must end inside
		 * sun_path. */
		const struct sockaddr_un *un = (const void *)addr;
		size_t n = strnlen(un->sun_path, sizeof(un->sun_path));
		if (n == 0 || n == sizeof(un->sun_path))
			return -EINVAL;
	}
	struct rpc_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	memcpy(&c->addr, addr, len);
	sockaddr_format(addr, c->addr_text, sizeof(c->addr_text));
	c->cfg = *cfg;
	if (!c->cfg.backoff_min_ms)
		c->cfg.backoff_min_ms = 100;
	if (!c->cfg.backoff_max_ms)
		c->cfg.backoff_max_ms = 5000;
	c->backoff_ms = c->cfg.backoff_min_ms;
	c->next_id = 1;
	uv_timer_init(loop, &c->retry);
	c->retry.data = c;
	attempt(c);
	*out = c;
	return 0;
}

static void on_retry_closed(uv_handle_t *h)
{
	struct rpc_client *c = h->data;
	c->retry_closed = true;
	maybe_done(c);
}

void rpc_client_close(struct rpc_client *c, void (*done)(void *), void *data)
{
	c->closing = true;
	c->done = done;
	c->done_data = data;
	fail_all(c, RPC__CODE__CANCELLED, "client closed");
	if (c->cc)
		rpc_conn_close(&c->cc->conn, RPC__CODE__OK, "client closed");
	uv_close((uv_handle_t *)&c->retry, on_retry_closed);
}

bool rpc_client_connected(const struct rpc_client *c)
{
	return c->cc && c->cc->up && !c->cc->conn.closing;
}

const char *rpc_client_error(const struct rpc_client *c)
{
	return c->error[0] ? c->error : "not connected yet";
}

int rpc_client_call(struct rpc_client *c, const char *method,
		    const ProtobufCMessage *req,
		    const ProtobufCMessageDescriptor *reply, rpc_reply_fn fn,
		    void *data, uint32_t *id)
{
	if (!rpc_client_connected(c))
		return -ENOTCONN;
	struct pending *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (c->next_id == 0)
		c->next_id = 1; /* 0 is the connection's id */
	p->id = c->next_id++;
	p->reply = reply;
	p->fn = fn;
	p->data = data;
	int err = rpc_conn_send_msg(&c->cc->conn, p->id, RPC__KIND__REQUEST,
				    method, req, RPC__CODE__OK, NULL);
	if (err) {
		free(p);
		return err;
	}
	p->next = c->calls;
	c->calls = p;
	if (id)
		*id = p->id;
	return 0;
}

int rpc_client_cancel(struct rpc_client *c, uint32_t id)
{
	struct pending *p = take(c, id, true);
	if (!p)
		return -ENOENT;
	if (rpc_client_connected(c))
		rpc_conn_send_msg(&c->cc->conn, id, RPC__KIND__CANCEL, NULL,
				  NULL, RPC__CODE__OK, NULL);
	finish(p, RPC__CODE__CANCELLED, NULL, "cancelled");
	return 0;
}

struct call_wait {
	int rc;
	bool done, late;
};

static void wait_answered(void *data, const Rpc__Status *st,
			  const ProtobufCMessage *msg)
{
	struct call_wait *w = data;
	w->rc = msg ? 0 : st->code == RPC__CODE__CANCELLED ? -ECANCELED
							   : -EPROTO;
	w->done = true;
}

static void wait_late(uv_timer_t *t)
{
	struct call_wait *w = t->data;
	w->late = true;
}

int rpc_client_call_wait(struct rpc_client *c, const char *method,
			 const ProtobufCMessage *req,
			 const ProtobufCMessageDescriptor *reply,
			 uint64_t timeout_ms)
{
	struct call_wait w = {0};
	uint32_t id;
	int rc = rpc_client_call(c, method, req, reply, wait_answered, &w, &id);
	if (rc < 0)
		return rc;
	uv_timer_t t;
	uv_timer_init(c->loop, &t);
	t.data = &w;
	uv_timer_start(&t, wait_late, timeout_ms, 0);
	while (!w.done && !w.late)
		uv_run(c->loop, UV_RUN_ONCE);
	if (!w.done) {
		rpc_client_cancel(c, id); /* w goes out of scope */
		w.rc = -ETIMEDOUT;
	}
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(c->loop, UV_RUN_NOWAIT); /* t is closed before it goes */
	return w.rc;
}

bool rpc_warn_end(const char *prefix, const char *what, const Rpc__Status *st)
{
	if (st->code == RPC__CODE__UNAVAILABLE ||
	    st->code == RPC__CODE__CANCELLED)
		return false;
	log_warn("%s: %s: %s: %s", prefix, what, rpc_code_name(st->code),
		 st->message);
	return true;
}
