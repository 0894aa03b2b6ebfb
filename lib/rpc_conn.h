/* Internal to the transport: one framed stream connection, TCP or
 * Unix-domain, shared by the server and the client. It reads frames,
 * validates their envelopes, writes envelopes, keeps the peer alive and
 * closes in order.
 *
 * Close order: rpc_conn_close() marks the connection closing (sends fail
 * from then on) and returns; on the next loop turn ops->on_closing runs
 * (the owner ends its calls there), then the handles close, and once both
 * have, ops->on_closed runs and the owner frees the struct. So closing from
 * inside any callback of the connection is safe.
 */
#ifndef STRAIT_RPC_CONN_H
#define STRAIT_RPC_CONN_H

#include "frame.h"
#include "rpc.h"

struct rpc_conn;

/* A stream handle of either kind. libuv's handle types share their leading
 * members, so .handle and .stream are valid views of whichever of .tcp and
 * .pipe was initialised; only TCP-only calls (uv_tcp_nodelay, ...) need to
 * know which. */
union rpc_sock {
	uv_handle_t handle;
	uv_stream_t stream;
	uv_tcp_t tcp;
	uv_pipe_t pipe;
};

/* Initialises s on loop as a uv_pipe_t for AF_UNIX, else as a uv_tcp_t.
 * Returns 0 or a negative errno; on success s must be closed with
 * uv_close(). */
int rpc_sock_init(uv_loop_t *loop, union rpc_sock *s, int family);

struct rpc_conn_ops {
	/* A valid envelope arrived (PING/PONG are handled here). */
	void (*on_envelope)(struct rpc_conn *c, const Rpc__Envelope *env);
	void (*on_closing)(struct rpc_conn *c);
	void (*on_closed)(struct rpc_conn *c);
	/* Backlog fell below the low mark after being above the high one. */
	void (*on_drain)(struct rpc_conn *c);
};

struct rpc_conn {
	union rpc_sock sock;
	uv_timer_t timer;
	struct frame_reader rd;
	const struct rpc_conn_ops *ops;
	void *owner;
	char peer[64];           /* "192.0.2.1:5123", "unix:pid=42,uid=0" */
	struct rpc_timing timing;
	size_t write_high;
	uint32_t stuck_ms;
	uint64_t last_rx;        /* loop time of the last frame received */
	uint64_t congested_since; /* 0 = not congested */
	uint64_t *bytes_in, *bytes_out; /* owner's counters, may be NULL */
	int open_handles;
	bool unix_sock;          /* sock is a pipe */
	bool closing;
	bool drain_wanted;
	char why[160];           /* why it closed, for the owner's log */
};

/* Sets up the handles: sock as a pipe when family is AF_UNIX, else as TCP,
 * and the keepalive timer. Starts nothing. Returns 0 or a negative errno
 * (nothing is left to close then). On success the connection must end
 * through rpc_conn_close(). */
int rpc_conn_init(struct rpc_conn *c, uv_loop_t *loop, int family,
		  const struct rpc_conn_ops *ops, void *owner,
		  const struct rpc_timing *timing, size_t write_high,
		  uint32_t stuck_ms);

/* Starts reading and the keepalive timer; sets peer from the socket: the
 * peer's address for TCP; for a Unix socket the peer process's credentials
 * ("unix:pid=42,uid=0") or, without them, "unix". */
int rpc_conn_start(struct rpc_conn *c);

/* Sends an envelope. Returns 0, -EPIPE when closing, -EMSGSIZE, -ENOMEM. */
int rpc_conn_send(struct rpc_conn *c, const Rpc__Envelope *env);

/* Packs msg (may be NULL) into an envelope of kind for call and sends it,
 * with a status when code is not OK or text or reason is given. */
int rpc_conn_send_msg(struct rpc_conn *c, uint32_t call, Rpc__Kind kind,
		      const char *method, const ProtobufCMessage *msg,
		      Rpc__Code code, const char *text);
int rpc_conn_send_status(struct rpc_conn *c, uint32_t call, Rpc__Kind kind,
			 Rpc__Code code, const char *reason, const char *text);

/* Starts closing; why is kept in c->why. With a GOAWAY code other than
 * OK, sends GOAWAY first (best effort). Idempotent. */
void rpc_conn_close(struct rpc_conn *c, Rpc__Code goaway, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));

size_t rpc_conn_backlog(const struct rpc_conn *c);
bool rpc_conn_congested(const struct rpc_conn *c);

#endif
