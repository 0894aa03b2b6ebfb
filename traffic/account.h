/* The accounting of strait-traffic's client: what each connection did, which
 * server answered it, and the run's totals. Pure: no sockets, no libuv; the
 * time is a parameter (milliseconds on any monotonic clock), so a test can
 * run a whole failover in virtual time.
 *
 * A connection slot goes through these states; the I/O shell reports each
 * event and the accounting moves the counters:
 *
 *	IDLE --start--> CONNECTING --established--> OPEN --first answer-->
 *ANSWERED ^                 |                         |                       |
 *	  |                 +------ fail / expire ----+                       |
 *	  |                 |   (failed_connects)               fail / expire /
 *moved |                 v                                      (lost)     |
 *	  +-----------------+-------------------------------------------------+
 *
 * A connection counts as "connected" from its first answer on, and that
 * answer's server name is its host. Ending before the first answer is a
 * failed connect (TCP: refused, timed out, closed; UDP: no answer to
 * TRAFFIC_DROPS_LOST requests in a row). Ending after it is a loss,
 * charged to its host. An answer from another host also ends it: it was
 * moved, which counts as moved and as lost.
 *
 * Requests in flight sit in a per-connection ring indexed by sequence
 * number. An answer resolves its request; traffic_conn_expire() counts
 * requests older than the timeout as dropped, and TRAFFIC_DROPS_LOST drops
 * in a row end the connection. Requests still in flight when a connection
 * ends count as dropped too, so after a drained run
 * sent == received + dropped.
 *
 * Invariant at any time: connections == failed_connects + lost + the
 * connections in CONNECTING, OPEN or ANSWERED; connected is the number in
 * ANSWERED, and the hosts' "lasting" add up to it.
 */
#ifndef STRAIT_TRAFFIC_ACCOUNT_H
#define STRAIT_TRAFFIC_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "traffic.h"

/* Drops in a row that end a connection. */
#define TRAFFIC_DROPS_LOST 3
/* Distinct server names a run can hold; more is a runtime failure. */
#define TRAFFIC_HOSTS_MAX 4096

struct traffic_host {
	char name[TRAFFIC_NAME_MAX + 1]; /* NUL-terminated */
	uint64_t connections; /* connections this host answered first */
	uint64_t lasting;     /* of them, connected now */
	uint64_t lost;	      /* of them, ended after its answer */
};

struct traffic_stats {
	uint64_t connections;	  /* every connection ever started */
	uint64_t connected;	  /* now in ANSWERED */
	uint64_t failed_connects; /* ended before their first answer */
	uint64_t lost;		  /* ended after it */
	uint64_t moved; /* of the lost, those answered by another host */
	uint64_t sent, received, dropped;
	uint64_t intact;  /* answers saying the request arrived whole */
	uint64_t corrupt; /* answers saying it did not */
	struct traffic_host *hosts; /* in order of first answer */
	uint32_t *order;	    /* indices into hosts, sorted by name */
	size_t n_hosts, cap_hosts;
};

enum traffic_conn_state {
	TRAFFIC_CONN_IDLE,
	TRAFFIC_CONN_CONNECTING,
	TRAFFIC_CONN_OPEN,
	TRAFFIC_CONN_ANSWERED,
};

struct traffic_pending {
	uint64_t seq;
	uint64_t sent_ms;
	bool answered;
};

struct traffic_conn {
	enum traffic_conn_state state;
	int32_t host; /* index into stats->hosts; -1 before ANSWERED */
	uint32_t drops_in_row;
	uint64_t started_ms;	      /* when traffic_conn_start() was called */
	uint64_t next_seq;	      /* the next request's sequence number */
	uint64_t floor;		      /* the oldest request not yet resolved */
	uint64_t first_answered;      /* the first answered request's number */
	struct traffic_pending *ring; /* window entries, owned */
	uint32_t window;	      /* a power of two */
};

/* Answers to traffic_conn_answer(). */
enum {
	TRAFFIC_ANSWER_OK = 0,
	TRAFFIC_ANSWER_STALE = 1, /* not in flight: late, duplicate, unknown */
	TRAFFIC_ANSWER_MOVED = 2, /* another host: the connection ended */
};

/* Zeroes s. No allocation until the first host. */
void traffic_stats_init(struct traffic_stats *s);
/* Frees the host table; s is then empty again. */
void traffic_stats_free(struct traffic_stats *s);

/* Returns the host called name, or NULL. */
const struct traffic_host *traffic_stats_host(const struct traffic_stats *s,
					      const char *name);

/* Sets up an IDLE slot able to hold at least window requests in flight
 * (rounded up to a power of two, at least 16). The slot is reused for
 * every connection it holds; this is its only allocation. Returns 0 or
 * -ENOMEM. */
int traffic_conn_init(struct traffic_conn *c, uint32_t window);
void traffic_conn_free(struct traffic_conn *c);

/* IDLE -> CONNECTING: a new connection in this slot. Counts it. */
void traffic_conn_start(struct traffic_stats *s, struct traffic_conn *c,
			uint64_t now_ms);

/* CONNECTING -> OPEN: the TCP handshake is done, or the UDP socket is
 * ready. */
void traffic_conn_established(struct traffic_conn *c);

/* Takes the next sequence number for a request sent now and counts it as
 * sent. Returns 0; -ENOTCONN when the connection is not OPEN or ANSWERED;
 * -ENOBUFS when window requests are already in flight (nothing counted:
 * the caller skips this request). */
int traffic_conn_send(struct traffic_stats *s, struct traffic_conn *c,
		      uint64_t now_ms, uint64_t *seq);

/* An answer arrived on the connection. Returns TRAFFIC_ANSWER_OK (counted
 * as received; the first answer makes the connection ANSWERED and gives
 * it its host), TRAFFIC_ANSWER_STALE (ignored, nothing counted),
 * TRAFFIC_ANSWER_MOVED (counted as received, moved and lost; the
 * connection is now IDLE and the caller closes it), or -ENOSPC when the
 * answer names a host beyond TRAFFIC_HOSTS_MAX, or -ENOMEM (nothing
 * counted either way). */
int traffic_conn_answer(struct traffic_stats *s, struct traffic_conn *c,
			const struct traffic_answer *a);

/* Counts the requests older than timeout_ms as dropped, and ends a
 * connection that has been CONNECTING for timeout_ms or has
 * TRAFFIC_DROPS_LOST drops in a row. Returns 1 when the connection ended
 * (it is IDLE, counted as failed or lost; the caller closes it), else 0. */
int traffic_conn_expire(struct traffic_stats *s, struct traffic_conn *c,
			uint64_t now_ms, uint64_t timeout_ms);

/* The connection broke (connect failed, error, closed by the peer). Counts
 * a failed connect or a loss, and its requests in flight as dropped; the
 * slot is IDLE. Nothing happens on an IDLE slot. */
void traffic_conn_fail(struct traffic_stats *s, struct traffic_conn *c);

/* The run is over: the slot becomes IDLE without counting anything, so
 * the counters and gauges keep describing the end of the run. */
void traffic_conn_finish(struct traffic_conn *c);

/* Requests sent on the connection and not yet resolved. */
uint64_t traffic_conn_in_flight(const struct traffic_conn *c);

#endif
