/* Internals of the strait-traffic client, shared by client.c (phases,
 * pacing, housekeeping, status) and its transports (client_tcp.c,
 * client_udp.c). Not an interface for anything else.
 *
 * A slot holds one connection at a time. Its handle is embedded, so the
 * slot lives as long as the client and a handle is reopened only after
 * its close callback ran:
 *
 *	FREE --open--> ACTIVE --close--> CLOSING --close callback--> FREE
 *
 * The accounting state (slot->acct, account.h) runs beside it: a
 * connection the accounting ended (lost, failed, moved) is closed by the
 * shell at once.
 */
#ifndef STRAIT_TRAFFIC_CLIENT_IMPL_H
#define STRAIT_TRAFFIC_CLIENT_IMPL_H

#include "account.h"
#include "buf.h"
#include "client.h"
#include "traffic.h"

enum slot_io { SLOT_FREE, SLOT_ACTIVE, SLOT_CLOSING };

struct slot {
	struct traffic_client *cl;
	struct traffic_conn acct;
	uint32_t index;
	enum slot_io io;
	bool opened;	    /* has held a connection (for --no-reconnect) */
	uint64_t reopen_ms; /* not before */
	union {
		uv_tcp_t tcp;
		uv_poll_t poll;
	} h;
	int fd; /* UDP: the socket under h.poll */
	/* TCP: one connect and one write at a time. */
	uv_connect_t connect;
	uv_write_t write;
	bool writing;
	uint32_t owed; /* requests due while the write was pending */
	uint8_t hdr[TRAFFIC_REQUEST_HDR];
	struct traffic_answer_rx rx;
};

enum phase { PHASE_SENDING, PHASE_DRAINING, PHASE_CLOSING };

struct traffic_client {
	uv_loop_t *loop;
	struct traffic_client_config cfg;
	struct traffic_stats stats;
	struct slot *slots;
	uv_timer_t pace, tick;
	unsigned open_handles;
	enum phase phase;
	bool failed_start; /* free on the last close, without done() */
	bool status_warned;
	bool progress_shown;
	int err;
	uint64_t start_ms, stop_ms, drain_until_ms;
	uint64_t turns; /* pacing turns taken since the start */
	uint32_t rr;	/* the slot whose turn is next */
	uint64_t next_status_ms, next_progress_ms;
	struct buf text; /* reused for the status file and progress line */
	/* The read buffer of every socket: each read completes in its
	 * callback, so one serves all. */
	uint8_t rx[65536];
};

/* ---- client.c, for the transports ---- */

/* The transport has an open handle in the slot (ACTIVE). */
void client_slot_attached(struct slot *sl);
/* The slot's handle has closed (FREE again). */
void client_slot_closed(struct slot *sl);
/* The connection broke: counted as failed or lost, then closed. */
void client_slot_broke(struct slot *sl);
/* An answer came on the slot's connection. */
void client_answer(struct slot *sl, const struct traffic_answer *a);

/* ---- client_tcp.c and client_udp.c ---- */

/* Open a connection in a FREE slot, bound to src when not NULL. On a
 * failure after the handle was attached, the slot is ACTIVE and the
 * caller closes it. Returns 0 or a negative errno. */
int client_tcp_open(struct slot *sl, const struct sockaddr_storage *src);
int client_udp_open(struct slot *sl, const struct sockaddr_storage *src);
/* Send one request now (nothing when the connection is not ready). */
void client_tcp_send(struct slot *sl, uint64_t now_ms);
void client_udp_send(struct slot *sl, uint64_t now_ms);
/* Close an ACTIVE slot's handle; client_slot_closed() follows. */
void client_tcp_close(struct slot *sl);
void client_udp_close(struct slot *sl);

#endif
