/* The Prometheus /metrics endpoint that every long-running daemon embeds,
 * and helpers that write the text exposition format (version 0.0.4).
 *
 * The server speaks just enough HTTP/1.x for a scraper and a health probe:
 *
 *	GET  /metrics  200, text/plain; version=0.0.4, the collector's text
 *	GET  /healthz  200, "ok\n"
 *	HEAD           as GET, without the body
 *	GET  /other    404
 *	POST /metrics  405 (any method but GET and HEAD on a known path)
 *	malformed      400 (request line not "METHOD SP /path SP HTTP/1.x",
 *	               a line not ending in CRLF, a header line without a
 *	               name and colon, a NUL byte, more than
 *	               METRICS_REQUEST_MAX bytes before the empty line)
 *
 * A query string ("/metrics?x=1") is ignored. Every response carries
 * Connection: close; the server then shuts down its side, discards what
 * the client still sends and closes on the client's EOF, so the client
 * reads the whole response rather than a reset.
 *
 * Each connection has one deadline, METRICS_TIMEOUT_MS from its accept by
 * default, after which it is closed whatever its state; it bounds slow
 * and silent clients and clients that never read. At most
 * METRICS_MAX_CONNS connections are open at once; further clients wait in
 * the kernel's accept queue until one closes (they are not refused), so a
 * scrape arriving while the server is full is answered late, not lost.
 *
 * Single-threaded: every function must be called on the loop's thread.
 */
#ifndef STRAIT_METRICS_H
#define STRAIT_METRICS_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "buf.h"

#define METRICS_REQUEST_MAX 8192 /* request line and headers, bytes */
#define METRICS_TIMEOUT_MS 5000	 /* per connection, from accept */
#define METRICS_MAX_CONNS 64	 /* open at once */

struct metrics_server;

/* Appends the daemon's metrics to out in the text format, normally with
 * metrics_family() and metrics_sample(). Called synchronously for each
 * GET or HEAD of /metrics, with out empty; the server owns out. It must
 * not call metrics_server_close(). */
typedef void (*metrics_collect_fn)(struct buf *out, void *data);

/* Binds addr (IPv4 or IPv6; port 0 picks a free port, see
 * metrics_server_address()), listens and serves on loop. fn and data are
 * kept until the server is closed. On success *out is the server, which
 * the caller releases with metrics_server_close().
 *
 * Returns 0, or a negative errno from socket(), bind() or listen(), such
 * as -EADDRINUSE, -EACCES or -EADDRNOTAVAIL; -ENOMEM; -EINVAL for a family
 * other than IPv4 or IPv6. On failure *out is untouched, but a handle may
 * still be closing on loop: run the loop (UV_RUN_NOWAIT is enough) before
 * uv_loop_close(). */
int metrics_server_start(uv_loop_t *loop, const struct sockaddr *addr,
			 metrics_collect_fn fn, void *data,
			 struct metrics_server **out);

/* Sets the deadline of connections accepted from now on, in milliseconds
 * (at least 1). Tests use a short one; daemons keep the default. */
void metrics_server_set_timeout(struct metrics_server *srv,
				uint64_t timeout_ms);

/* The address the server listens on, with the port the kernel chose when
 * the start address had port 0. Returns 0 or a negative errno. */
int metrics_server_address(const struct metrics_server *srv,
			   struct sockaddr_storage *ss);

/* The number of client connections open now, including those closing
 * (at most METRICS_MAX_CONNS); for a daemon's own status. */
unsigned metrics_server_connections(const struct metrics_server *srv);

/* Stops listening and closes every open connection, discarding responses
 * not yet sent. done(done_data), which may be NULL, runs from the loop
 * once every handle's close callback has run; by then the server's memory
 * is freed, and the collector is never called again after this call.
 * srv must not be used after this call. */
void metrics_server_close(struct metrics_server *srv, void (*done)(void *),
			  void *done_data);

/* Exposition helpers. Names must match [a-zA-Z_:][a-zA-Z0-9_:]*; they are
 * written as given. Each returns 0 or -ENOMEM; on -ENOMEM a partial line
 * may remain in out. */

/* Writes "# HELP name help" (help with backslash and newline escaped;
 * skipped when help is NULL) and "# TYPE name type", where type is
 * "counter", "gauge", "histogram", "summary" or "untyped". */
int metrics_family(struct buf *out, const char *name, const char *type,
		   const char *help);

/* Writes "name value" or "name{labels} value". labels is NULL or the
 * preformatted pairs without braces, reason="x",peer="y", whose values
 * the caller escaped with metrics_label_escape(). The value is written
 * in the shortest form that reads back exactly, integers below 2^53
 * without exponent (12345678), and NaN, +Inf and -Inf as Prometheus
 * spells them. */
int metrics_sample(struct buf *out, const char *name, const char *labels,
		   double value);

/* Appends value escaped for use between the quotes of a label value:
 * backslash as \\, double quote as \", newline as \n. */
int metrics_label_escape(struct buf *out, const char *value);

#endif
