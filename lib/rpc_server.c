/* The server half of the transport. See rpc.h for the contract. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "list.h"
#include "log.h"
#include "rpc.h"
#include "rpc_conn.h"

struct sconn {
	struct rpc_conn conn; /* first: rpc_conn callbacks cast back */
	struct rpc_server *server;
	struct list_node calls; /* open calls */
	size_t n_calls;
	struct list_node node;  /* in the server's conns */
};

struct rpc_call {
	struct sconn *sc;
	uint32_t id;
	const struct rpc_method *method;
	void (*on_close)(struct rpc_call *, void *);
	void (*on_drain)(struct rpc_call *, void *);
	void *close_data;
	struct list_node node; /* in its connection's calls */
};

struct rpc_server {
	union rpc_sock listener; /* first: the error path frees s through it */
	int family;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* AF_UNIX */
	uv_loop_t *loop;
	struct rpc_server_config cfg;
	struct rpc_server_stats stats;
	struct list_node conns;
	bool closing;
	bool listener_closed;
	void (*done)(void *);
	void *done_data;
};

static void call_unlink(struct rpc_call *call)
{
	list_del(&call->node);
	call->sc->n_calls--;
	free(call);
}

static struct rpc_call *call_find(struct sconn *sc, uint32_t id)
{
	struct list_node *pos, *tmp;
	list_for_each_safe(pos, tmp, &sc->calls)
	{
		struct rpc_call *c = list_entry(pos, struct rpc_call, node);
		if (c->id == id)
			return c;
	}
	return NULL;
}

/* Ends a call that its handler did not end: cancel or connection close. */
static void call_drop(struct rpc_call *call)
{
	if (call->on_close)
		call->on_close(call, call->close_data);
	call_unlink(call);
}

static void maybe_done(struct rpc_server *s)
{
	if (s->closing && s->listener_closed && list_empty(&s->conns)) {
		void (*done)(void *) = s->done;
		void *data = s->done_data;
		free(s);
		if (done)
			done(data);
	}
}

static void fail_new(struct sconn *sc, uint32_t id, Rpc__Code code,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void fail_new(struct sconn *sc, uint32_t id, Rpc__Code code,
		     const char *fmt, ...)
{
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	sc->server->stats.calls_failed++;
	log_info("rpc: %s: call %u refused: %s", sc->conn.peer, id, text);
	rpc_conn_send_msg(&sc->conn, id, RPC__KIND__RESPONSE, NULL, NULL, code,
			  text);
}

static void on_request(struct sconn *sc, const Rpc__Envelope *env)
{
	struct rpc_server *s = sc->server;
	const struct rpc_method *m = NULL;
	for (size_t i = 0; i < s->cfg.n_methods; i++) {
		if (strcmp(s->cfg.methods[i].name, env->method) == 0) {
			m = &s->cfg.methods[i];
			break;
		}
	}
	s->stats.calls++;
	if (!m) {
		fail_new(sc, env->call, RPC__CODE__UNIMPLEMENTED,
			 "unknown method '%s'", env->method);
		return;
	}
	if (call_find(sc, env->call)) {
		rpc_conn_close(&sc->conn, RPC__CODE__INVALID_ARGUMENT,
			       "call id %u is already open", env->call);
		return;
	}
	if (sc->n_calls >= s->cfg.max_calls) {
		fail_new(sc, env->call, RPC__CODE__RESOURCE_EXHAUSTED,
			 "too many open calls on this connection (%zu)",
			 sc->n_calls);
		return;
	}
	ProtobufCMessage *req = protobuf_c_message_unpack(
		m->request, NULL, env->payload.len, env->payload.data);
	if (!req) {
		fail_new(sc, env->call, RPC__CODE__INVALID_ARGUMENT,
			 "%s: payload is not a valid %s", m->name,
			 m->request->name);
		return;
	}
	struct rpc_call *call = calloc(1, sizeof(*call));
	if (!call) {
		protobuf_c_message_free_unpacked(req, NULL);
		fail_new(sc, env->call, RPC__CODE__RESOURCE_EXHAUSTED,
			 "out of memory");
		return;
	}
	call->sc = sc;
	call->id = env->call;
	call->method = m;
	list_add(&sc->calls, &call->node);
	sc->n_calls++;
	m->handler(call, req, s->cfg.data);
	protobuf_c_message_free_unpacked(req, NULL);
}

static void on_envelope(struct rpc_conn *c, const Rpc__Envelope *env)
{
	struct sconn *sc = (struct sconn *)c;
	switch (env->kind) {
	case RPC__KIND__REQUEST:
		on_request(sc, env);
		break;
	case RPC__KIND__CANCEL: {
		struct rpc_call *call = call_find(sc, env->call);
		if (call)
			call_drop(call);
		break;
	}
	default:
		rpc_conn_close(c, RPC__CODE__INVALID_ARGUMENT,
			       "a client may not send frame kind %d",
			       (int)env->kind);
		break;
	}
}

static void on_closing(struct rpc_conn *c)
{
	struct sconn *sc = (struct sconn *)c;
	struct rpc_server *s = sc->server;
	if (strncmp(c->why, "bad frame", 9) == 0 ||
	    strncmp(c->why, "call id", 7) == 0 ||
	    strncmp(c->why, "a client may not", 16) == 0) {
		s->stats.bad_frames++;
		log_warn("rpc: closing %s: %s", c->peer, c->why);
	} else if (strncmp(c->why, "dead peer", 9) == 0 ||
		   strncmp(c->why, "stuck peer", 10) == 0) {
		s->stats.dead_peers++;
		log_warn("rpc: closing %s: %s", c->peer, c->why);
	} else {
		log_debug("rpc: %s closed: %s", c->peer, c->why);
	}
	while (!list_empty(&sc->calls))
		call_drop(list_entry(sc->calls.next, struct rpc_call, node));
}

static void on_closed(struct rpc_conn *c)
{
	struct sconn *sc = (struct sconn *)c;
	struct rpc_server *s = sc->server;
	list_del(&sc->node);
	s->stats.conns_open--;
	free(sc);
	maybe_done(s);
}

static void on_drain(struct rpc_conn *c)
{
	struct sconn *sc = (struct sconn *)c;
	/* A drain callback may end its own call (and so unlink it): the safe
	 * walk has taken the next node first. */
	struct list_node *pos, *tmp;
	list_for_each_safe(pos, tmp, &sc->calls)
	{
		struct rpc_call *call = list_entry(pos, struct rpc_call, node);
		void (*fn)(struct rpc_call *, void *) = call->on_drain;
		if (fn) {
			call->on_drain = NULL;
			fn(call, call->close_data);
		}
	}
}

static const struct rpc_conn_ops sconn_ops = {
	.on_envelope = on_envelope,
	.on_closing = on_closing,
	.on_closed = on_closed,
	.on_drain = on_drain,
};

static void on_refused_closed(uv_handle_t *h)
{
	free(h);
}

static void on_connection(uv_stream_t *l, int status)
{
	struct rpc_server *s = l->data;
	if (status < 0) {
		log_warn("rpc: accept failed: %s", uv_strerror(status));
		return;
	}
	if (s->stats.conns_open >= s->cfg.max_conns) {
		/* Accept and close at once: leaving it in the backlog would make
		 * the client wait for a timeout instead of seeing a close. */
		union rpc_sock *t = malloc(sizeof(*t));
		if (!t)
			return;
		if (rpc_sock_init(s->loop, t, s->family)) {
			free(t);
			return;
		}
		if (uv_accept(l, &t->stream) == 0)
			s->stats.conns_refused++;
		uv_close(&t->handle, on_refused_closed);
		log_warn("rpc: refusing a connection: %zu are open (the limit)",
			 s->cfg.max_conns);
		return;
	}
	struct sconn *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return;
	sc->server = s;
	list_init(&sc->calls);
	if (rpc_conn_init(&sc->conn, s->loop, s->family, &sconn_ops, s,
			  &s->cfg.timing, s->cfg.write_high,
			  s->cfg.stuck_ms)) {
		free(sc);
		return;
	}
	sc->conn.bytes_in = &s->stats.bytes_in;
	sc->conn.bytes_out = &s->stats.bytes_out;
	list_add(&s->conns, &sc->node);
	s->stats.conns_open++;
	s->stats.conns_accepted++;
	int err = uv_accept(l, &sc->conn.sock.stream);
	if (!err)
		err = rpc_conn_start(&sc->conn);
	if (err) {
		rpc_conn_close(&sc->conn, RPC__CODE__OK, "accept: %s",
			       uv_strerror(err));
		return;
	}
	log_debug("rpc: connection from %s", sc->conn.peer);
}

/* bind() cannot tell a missing directory from a forbidden one: libuv turns
 * its ENOENT into EACCES. Looking first gives the operator the real
 * reason. The directory is not created: where control sockets live, and
 * with which owner and mode, is the service manager's decision
 * (RuntimeDirectory= in a systemd unit), not the daemon's. */
static int check_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t n = (size_t)(strrchr(path, '/') - path);
	struct stat st;

	if (n == 0)
		n = 1; /* "/x": the root */
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (stat(dir, &st) < 0)
		return errno == EACCES ? 0 : -errno; /* bind() will say */
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Frees path for bind(). A socket file that refuses connections was left
 * by a server that died without unlinking it: it is removed. One that
 * accepts them (or whose backlog is full, EAGAIN) belongs to a live
 * server: -EADDRINUSE. A file that is not a socket is not ours to delete:
 * -EADDRINUSE too, as bind() would say.
 *
 * Two servers starting at the same instant could both find the file stale
 * and the second bind would then replace the first's socket; a lock file
 * beside the socket would close that window, and is left out because one
 * daemon per path is the service manager's job. */
static int claim_path(const char *path)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EADDRINUSE;

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(un.sun_path, path, strlen(path) + 1);
	int err = connect(fd, (struct sockaddr *)&un, sizeof(un)) ? errno : 0;
	close(fd);
	if (err == 0 || err == EAGAIN)
		return -EADDRINUSE;
	if (err != ECONNREFUSED)
		return -err;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	log_info("rpc: removed the stale socket %s", path);
	return 0;
}

/* Binds the listener to a Unix path: the checks above, then uv_pipe_bind,
 * then the mode. From bind() to chmod() the socket has the mode the umask
 * leaves; a daemon that cares runs with umask 077 (UMask= in systemd). */
static int bind_unix(struct rpc_server *s, const struct sockaddr_un *un)
{
	size_t n = strnlen(un->sun_path, sizeof(un->sun_path));
	if (n == 0 || n == sizeof(un->sun_path) || un->sun_path[0] != '/')
		return -EINVAL;
	memcpy(s->path, un->sun_path, n);
	s->path[n] = '\0';

	int err = check_dir(s->path);
	if (!err)
		err = claim_path(s->path);
	if (!err)
		err = uv_pipe_bind(&s->listener.pipe, s->path);
	if (err)
		return err;
	/* The file exists from here; on any later failure uv_close() on the
	 * listener unlinks it. */
	if (chmod(s->path, 0660) < 0)
		return -errno;
	return 0;
}

int rpc_server_start(uv_loop_t *loop, const struct sockaddr *addr,
		     const struct rpc_server_config *cfg,
		     struct rpc_server **out)
{
	if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6 &&
	    addr->sa_family != AF_UNIX)
		return -EAFNOSUPPORT;
	struct rpc_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->family = addr->sa_family;
	s->loop = loop;
	s->cfg = *cfg;
	list_init(&s->conns);
	if (!s->cfg.max_conns)
		s->cfg.max_conns = 1024;
	if (!s->cfg.max_calls)
		s->cfg.max_calls = 256;
	if (!s->cfg.write_high)
		s->cfg.write_high = 4u << 20;

	int err = rpc_sock_init(loop, &s->listener, s->family);
	if (err) {
		free(s);
		return err;
	}
	s->listener.handle.data = s;
	if (s->family == AF_UNIX)
		err = bind_unix(s, (const struct sockaddr_un *)addr);
	else
		err = uv_tcp_bind(&s->listener.tcp, addr, 0);
	if (!err)
		err = uv_listen(&s->listener.stream, 511, on_connection);
	if (err) {
		/* The handle is initialised: it must be closed, and s freed only
		 * in its close callback. */
		s->closing = true;
		uv_close(&s->listener.handle, (uv_close_cb)free);
		return err;
	}
	*out = s;
	return 0;
}

int rpc_server_address(const struct rpc_server *s, struct sockaddr_storage *ss)
{
	if (s->family == AF_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		memset(ss, 0, sizeof(*ss));
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, s->path, sizeof(s->path));
		return 0;
	}
	int len = sizeof(*ss);
	return uv_tcp_getsockname(&s->listener.tcp, (struct sockaddr *)ss,
				  &len);
}

const struct rpc_server_stats *rpc_server_stats(const struct rpc_server *s)
{
	return &s->stats;
}

static void on_listener_closed(uv_handle_t *h)
{
	struct rpc_server *s = h->data;
	s->listener_closed = true;
	maybe_done(s);
}

void rpc_server_close(struct rpc_server *s, void (*done)(void *), void *data)
{
	s->closing = true;
	s->done = done;
	s->done_data = data;
	struct list_node *pos, *tmp;
	list_for_each_safe(pos, tmp, &s->conns)
		rpc_conn_close(&list_entry(pos, struct sconn, node)->conn,
			       RPC__CODE__UNAVAILABLE, "server shutting down");
	/* For a Unix socket, libuv unlinks the path it bound inside uv_close(),
	 * before closing the descriptor, so the file is gone when this
	 * returns and a new server may bind it at once. */
	uv_close(&s->listener.handle, on_listener_closed);
}

/* ---- calls ---- */

int rpc_call_reply(struct rpc_call *call, const ProtobufCMessage *resp)
{
	int err = rpc_conn_send_msg(&call->sc->conn, call->id,
				    RPC__KIND__RESPONSE, NULL, resp,
				    RPC__CODE__OK, NULL);
	if (err == -EMSGSIZE) {
		call->sc->server->stats.calls_failed++;
		rpc_conn_send_msg(&call->sc->conn, call->id,
				  RPC__KIND__RESPONSE, NULL, NULL,
				  RPC__CODE__RESOURCE_EXHAUSTED,
				  "response exceeds the frame limit");
	}
	call_unlink(call);
	return err;
}

static int end_call(struct rpc_call *call, Rpc__Code code, const char *reason,
		    const char *fmt, va_list ap)
{
	char text[512];
	vsnprintf(text, sizeof(text), fmt, ap);
	struct sconn *sc = call->sc;
	if (code != RPC__CODE__OK) {
		sc->server->stats.calls_failed++;
		log_info("rpc: %s: %s failed: %s%s%s: %s", sc->conn.peer,
			 call->method->name, rpc_code_name(code),
			 reason ? "/" : "", reason ? reason : "", text);
	}
	int err = rpc_conn_send_status(
		&sc->conn, call->id,
		call->method->streaming ? RPC__KIND__END : RPC__KIND__RESPONSE,
		code, reason, text);
	call_unlink(call);
	return err;
}

int rpc_call_end(struct rpc_call *call, Rpc__Code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int err = end_call(call, code, NULL, fmt, ap);
	va_end(ap);
	return err;
}

int rpc_call_fail(struct rpc_call *call, Rpc__Code code, const char *reason,
		  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int err = end_call(call, code, reason, fmt, ap);
	va_end(ap);
	return err;
}

int rpc_call_send(struct rpc_call *call, const ProtobufCMessage *item)
{
	return rpc_conn_send_msg(&call->sc->conn, call->id, RPC__KIND__ITEM,
				 NULL, item, RPC__CODE__OK, NULL);
}

bool rpc_call_congested(const struct rpc_call *call)
{
	return rpc_conn_congested(&call->sc->conn);
}

void rpc_call_on_close(struct rpc_call *call,
		       void (*fn)(struct rpc_call *, void *), void *data)
{
	call->on_close = fn;
	call->close_data = data;
}

void rpc_call_on_drain(struct rpc_call *call,
		       void (*fn)(struct rpc_call *, void *))
{
	call->on_drain = fn;
	call->sc->conn.drain_wanted = true;
}

const char *rpc_call_peer(const struct rpc_call *call)
{
	return call->sc->conn.peer;
}

const char *rpc_call_method(const struct rpc_call *call)
{
	return call->method->name;
}
