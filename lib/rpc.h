/* The strait transport: protobuf-c messages over TCP or Unix-domain stream
 * sockets on libuv. See docs/protocol.md for the wire format and its rules.
 * The address's family picks the socket: AF_INET and AF_INET6 are TCP,
 * AF_UNIX (sockaddr_parse()'s "unix:PATH") is a local socket with the same
 * frames, calls and keepalive.
 *
 * One connection carries many calls at once. A call is unary (one request,
 * one RESPONSE) or streaming (one request, any number of ITEMs, one END).
 * Either side sends PING every keepalive interval and closes a connection
 * from which nothing has arrived for the dead interval, so a dead peer is
 * found within seconds even when TCP would wait minutes.
 *
 * Server: the caller gives a table of methods, each with the descriptor of
 * its request. The server decodes every request against that descriptor
 * before a handler runs: a handler only ever sees a well-formed message.
 * Bad frames close the connection with a GOAWAY and one log line naming the
 * peer and the reason; every other connection goes on.
 *
 * Client: connects, reconnects with exponential backoff, and tells its owner
 * through on_state when it is up (re-issue watches then) or down (every
 * open call has already been ended with UNAVAILABLE).
 *
 * Lifetimes follow libuv's rule: memory is freed only after the close
 * callbacks of every handle have run; *_close() take a `done` callback.
 * Everything runs on the loop's thread.
 *
 * A process using the transport must ignore SIGPIPE (signal(SIGPIPE,
 * SIG_IGN) in main()). libuv writes with write(2), so a write to a peer
 * that has just gone raises SIGPIPE, which kills by default; the transport
 * expects EPIPE and closes that one connection. On a Unix socket this
 * happens on the first write after the peer closed (a PING, or an ITEM to
 * a watcher that exited); on TCP, once the peer's reset has come back.
 */
#ifndef STRAIT_RPC_H
#define STRAIT_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "rpc.pb-c.h"

#define RPC_KEEPALIVE_MS 1000 /* default PING interval */
#define RPC_DEAD_MS 5000      /* default silence after which a peer is dead */

struct rpc_timing {
	uint32_t keepalive_ms; /* 0 = RPC_KEEPALIVE_MS */
	uint32_t dead_ms;      /* 0 = RPC_DEAD_MS */
};

/* ---- server ---- */

struct rpc_server;
struct rpc_call;

/* A handler runs once per request with the decoded request, which the
 * server frees when the handler returns. The handler answers at once or
 * later with rpc_call_reply/rpc_call_end; a handler that keeps the call
 * past its return must set rpc_call_on_close, because the connection may
 * go away first. */
typedef void (*rpc_handler_fn)(struct rpc_call *call,
			       const ProtobufCMessage *request, void *data);

struct rpc_method {
	const char *name; /* "nsp.TargetRegistry/Register" */
	const ProtobufCMessageDescriptor *request;
	rpc_handler_fn handler;
	bool streaming;
};

struct rpc_server_config {
	const struct rpc_method *methods;
	size_t n_methods;
	void *data; /* passed to every handler */
	struct rpc_timing timing;
	size_t max_conns;  /* 0 = 1024; more are accepted and closed at once */
	size_t max_calls;  /* per connection, 0 = 256; more get RESOURCE_EXHAUSTED */
	size_t write_high; /* 0 = 4 MiB: above this a call is congested */
	uint32_t stuck_ms; /* 0 = 30000: congested this long = closed */
};

struct rpc_server_stats {
	uint64_t conns_accepted;
	uint64_t conns_refused; /* over max_conns */
	uint64_t conns_open;
	uint64_t bad_frames;    /* connections closed for a bad frame */
	uint64_t dead_peers;    /* closed by keepalive or as stuck */
	uint64_t calls;
	uint64_t calls_failed;  /* ended with a non-OK status */
	uint64_t bytes_in;
	uint64_t bytes_out;
};

/* Listens on addr. Returns 0 or a negative errno (-EADDRINUSE, ...;
 * -EAFNOSUPPORT for a family other than IPv4, IPv6 and Unix).
 *
 * For AF_UNIX the path must be absolute and end inside sun_path (else
 * -EINVAL), and its directory must exist (it is not created: -ENOENT, or
 * -ENOTDIR). A socket file already at the
 * path that refuses connections is stale, left by a server that crashed,
 * and is replaced; one that accepts them belongs to a live server, and a
 * file that is not a socket is not touched: both give -EADDRINUSE. The
 * new socket's mode is 0660 (owner and group may connect). The path is
 * unlinked when the server closes, or fails to start after binding.
 * Peers are named by their credentials, "unix:pid=42,uid=0", in logs and
 * rpc_call_peer(). This may block briefly (stat, a probing connect):
 * call it at start-up. */
int rpc_server_start(uv_loop_t *loop, const struct sockaddr *addr,
		     const struct rpc_server_config *cfg,
		     struct rpc_server **out);

/* The address actually bound (useful with port 0); for a Unix socket, its
 * path. */
int rpc_server_address(const struct rpc_server *s, struct sockaddr_storage *ss);

const struct rpc_server_stats *rpc_server_stats(const struct rpc_server *s);

struct buf;
/* Writes the transport's counters as Prometheus metrics, each name
 * starting with prefix ("strait_nsp"). Returns 0 or -ENOMEM. */
int rpc_server_write_metrics(const struct rpc_server *s, const char *prefix,
			     struct buf *out);

/* Closes the listener and every connection (each open call's on_close
 * runs first); done(data) runs once all memory is freed. A Unix socket's
 * file is unlinked before this returns. */
void rpc_server_close(struct rpc_server *s, void (*done)(void *),
		      void *data);

/* Unary: sends RESPONSE with status OK and resp, and frees the call.
 * Returns 0 or a negative errno (the call is freed either way). */
int rpc_call_reply(struct rpc_call *call, const ProtobufCMessage *resp);

/* Ends the call with a status: RESPONSE for unary, END for streaming.
 * code OK ends a stream normally. The call is freed; on_close does not
 * run. The message is also logged (debug for OK, info otherwise). */
int rpc_call_end(struct rpc_call *call, Rpc__Code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As rpc_call_end, with a machine-readable reason ("node_prefix_full")
 * in the status, for clients that act on the kind of failure. */
int rpc_call_fail(struct rpc_call *call, Rpc__Code code, const char *reason,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Streaming: sends one ITEM. Returns 0, -EPIPE when the connection is
 * closing (the call stays valid until its on_close runs), or -EMSGSIZE. */
int rpc_call_send(struct rpc_call *call, const ProtobufCMessage *item);

/* True when the call's connection holds at least write_high bytes not yet
 * taken by the kernel: a streaming producer should stop and wait for
 * on_drain. */
bool rpc_call_congested(const struct rpc_call *call);

/* Runs when the call ends other than through reply/end: the client
 * cancelled it or the connection closed. The call is freed right after. */
void rpc_call_on_close(struct rpc_call *call,
		       void (*fn)(struct rpc_call *, void *), void *data);

/* Runs once, the next time the connection's backlog falls below half of
 * write_high. Set it again to hear again. */
void rpc_call_on_drain(struct rpc_call *call,
		       void (*fn)(struct rpc_call *, void *));

const char *rpc_call_peer(const struct rpc_call *call);
const char *rpc_call_method(const struct rpc_call *call);

/* ---- client ---- */

struct rpc_client;

struct rpc_client_config {
	struct rpc_timing timing;
	uint32_t backoff_min_ms; /* 0 = 100 */
	uint32_t backoff_max_ms; /* 0 = 5000 */
	/* up = true once connected (issue or re-issue calls now); false when
	 * the connection is lost or a connect attempt failed. */
	void (*on_state)(struct rpc_client *c, bool up, void *data);
	void *data;
};

/* Runs for each answer of a call. msg != NULL: a response or stream item
 * with st->code == OK (freed when the callback returns). msg == NULL: the
 * call has ended with *st (OK for a stream's normal END); nothing more
 * comes for it. A unary call's answer has msg != NULL and also ends it.
 * A lost connection ends every open call with UNAVAILABLE. */
typedef void (*rpc_reply_fn)(void *data, const Rpc__Status *st,
			     const ProtobufCMessage *msg);

/* Starts connecting to addr (TCP, or a Unix socket's path with
 * uv_pipe_connect) and goes on retrying with backoff; on_state tells when
 * it is up. Returns 0, -EAFNOSUPPORT for a family other than IPv4, IPv6
 * and Unix, -EINVAL for a Unix path that is empty or fills sun_path with
 * no NUL, or -ENOMEM. A Unix path that does not exist yet is not an error:
 * it is retried like a refused TCP connection. */
int rpc_client_start(uv_loop_t *loop, const struct sockaddr *addr,
		     const struct rpc_client_config *cfg,
		     struct rpc_client **out);

/* Ends every open call with CANCELLED, closes, and runs done(data) once
 * all memory is freed. */
void rpc_client_close(struct rpc_client *c, void (*done)(void *), void *data);

bool rpc_client_connected(const struct rpc_client *c);

/* Why the last connection attempt failed or the last connection ended. */
const char *rpc_client_error(const struct rpc_client *c);

/* Starts a call. reply is the descriptor of the response or stream item.
 * Returns 0 with *id set (if id is not NULL), -ENOTCONN when not
 * connected (wait for on_state), -EMSGSIZE, or -ENOMEM. */
int rpc_client_call(struct rpc_client *c, const char *method,
		    const ProtobufCMessage *req,
		    const ProtobufCMessageDescriptor *reply, rpc_reply_fn fn,
		    void *data, uint32_t *id);

/* Gives up a call: sends CANCEL and ends it at once with CANCELLED. */
int rpc_client_cancel(struct rpc_client *c, uint32_t id);

/* For a daemon's last words (an Unregister before it exits): starts a
 * unary call and runs the client's loop (every handle of it) until the
 * answer comes or timeout_ms pass, then gives the call up. Returns 0 for a
 * response, -EPROTO for an error status, -ETIMEDOUT, or
 * rpc_client_call()'s error (-ENOTCONN when not connected). */
int rpc_client_call_wait(struct rpc_client *c, const char *method,
			 const ProtobufCMessage *req,
			 const ProtobufCMessageDescriptor *reply,
			 uint64_t timeout_ms);

/* For a daemon's long-lived calls (watches, registrations): logs a
 * warning "nsp: WHAT: CODE: message" unless the end is the transport's own
 * (UNAVAILABLE: the connection went, and the caller re-issues the call on
 * reconnect; CANCELLED: the caller closed it). prefix is the peer's name
 * in logs ("nsp"). Returns true when it warned. */
bool rpc_warn_end(const char *prefix, const char *what, const Rpc__Status *st);

/* Code names for messages: "NOT_FOUND". */
const char *rpc_code_name(Rpc__Code code);

#endif
