/* Internal to the transport: one framed TCP connection, shared by the
 * server and the client. It reads frames, validates their envelopes,
 * writes envelopes, keeps the peer alive and closes in order.
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

struct rpc_conn_ops {
	/* A valid envelope arrived (PING/PONG are handled here). */
	void (*on_envelope)(struct rpc_conn *c, const Rpc__Envelope *env);
	void (*on_closing)(struct rpc_conn *c);
	void (*on_closed)(struct rpc_conn *c);
	/* Backlog fell below the low mark after being above the high one. */
	void (*on_drain)(struct rpc_conn *c);
};

struct rpc_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct frame_reader rd;
	const struct rpc_conn_ops *ops;
	void *owner;
	char peer[64];
	struct rpc_timing timing;
	size_t write_high;
	uint32_t stuck_ms;
	uint64_t last_rx;        /* loop time of the last frame received */
	uint64_t congested_since; /* 0 = not congested */
	uint64_t *bytes_in, *bytes_out; /* owner's counters, may be NULL */
	int open_handles;
	bool closing;
	bool drain_wanted;
	char why[160];           /* why it closed, for the owner's log */
};

/* Sets up the handles (tcp must be initialised by the caller with
 * uv_tcp_init on loop before). Starts nothing. */
void rpc_conn_init(struct rpc_conn *c, uv_loop_t *loop,
		   const struct rpc_conn_ops *ops, void *owner,
		   const struct rpc_timing *timing, size_t write_high,
		   uint32_t stuck_ms);

/* Starts reading and the keepalive timer; sets peer from the socket. */
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
