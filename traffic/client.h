/* The strait-traffic client: N long-lived connections to one address, a
 * paced request rate spread over them, and the accounting of account.h.
 *
 * A run goes through three phases:
 *
 *	SENDING   every connection is opened; the pacing timer sends
 *	          rate requests a second, taking the connections in turn (a
 *	          connection that is not connected lets its turn pass, so each
 *	          gets rate/N); lost connections are replaced after
 *	          TRAFFIC_RECONNECT_MS when reconnect is on.
 *	DRAINING  from the end of the duration (or the first stop request):
 *	          nothing more is sent; answers are awaited until every
 *	          request is answered or dropped (at most timeout_ms).
 *	CLOSING   every connection is closed without being counted as lost;
 *	          when the last handle has closed, done() is called and the
 *	          loop has nothing left of the client.
 *
 * "Connections" of UDP are connected UDP sockets, each with its own source
 * port. Sources, when given, are bound round robin over connection slots
 * (slot i binds sources[i % n_sources], port 0).
 */
#ifndef STRAIT_TRAFFIC_CLIENT_H
#define STRAIT_TRAFFIC_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "report.h"

/* Delay before a lost or failed connection's slot opens a new one. */
#define TRAFFIC_RECONNECT_MS 100
/* Housekeeping period: expiry, reconnects, the end of the run. */
#define TRAFFIC_TICK_MS 20
/* The --status file is rewritten this often. */
#define TRAFFIC_STATUS_MS 200
/* Requests in flight per connection at most (more wait their turn). */
#define TRAFFIC_WINDOW_MAX 65536

struct traffic_client_config {
	bool udp;
	const struct sockaddr_storage *addr;	/* the server */
	const char *address;			/* its text, for the report */
	const struct sockaddr_storage *sources; /* n_sources of them, or NULL */
	size_t n_sources;
	uint32_t connections; /* N, at least 1 */
	uint64_t rate;	      /* requests a second over all connections */
	uint64_t duration_ms; /* 0: until traffic_client_stop() */
	uint32_t size;	      /* padding bytes per request */
	uint64_t timeout_ms;
	bool reconnect;
	const char *status_path; /* or NULL */
	bool progress;		 /* a live line on stderr each second */
	/* Called once, from the loop, when the client has closed everything;
	 * the caller then reads the report and frees the client. */
	void (*done)(void *data);
	void *data;
};

struct traffic_client;

/* Opens the connections and starts sending. Returns 0 and *out; -ENOMEM;
 * or the negative errno with which the first connection from each source
 * failed at once (the address or a source cannot be used at all: no
 * route, no such local address, wrong family). On error *out is not set
 * and the client frees itself once the loop has run its close callbacks;
 * done() is not called. */
int traffic_client_start(uv_loop_t *loop,
			 const struct traffic_client_config *cfg,
			 struct traffic_client **out);

/* Ends the run: the first call drains (SENDING -> DRAINING), a second one
 * closes at once. */
void traffic_client_stop(struct traffic_client *c);

/* 0, or the negative errno of a runtime failure that ended the run. */
int traffic_client_error(const struct traffic_client *c);

/* The accounting and the report's header, valid until the client is
 * freed. */
const struct traffic_stats *
traffic_client_stats(const struct traffic_client *c);
void traffic_client_meta(const struct traffic_client *c,
			 struct traffic_report_meta *m);

/* Frees the client after done() was called. */
void traffic_client_free(struct traffic_client *c);

#endif
