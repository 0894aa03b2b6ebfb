/* The report of a strait-traffic client run: the final report (JSON or a
 * text table), the --status file (the same JSON) and the live progress
 * line. Pure: renders a struct traffic_stats into a caller's buffer.
 *
 * The JSON, on one line (keys in this order; hosts sorted by name):
 *
 *	{"protocol":"tcp","address":"127.0.0.1:5003","duration_ms":2001,
 *	 "connections":50,"connected":50,"failed_connects":0,"lost":0,
 *	 "moved":0,"sent":1000,"received":1000,"dropped":0,"intact":1000,
 *	 "corrupt":0,
 *	 "hosts":{"alpha":{"connections":50,"lasting":50,"lost":0}}}
 *
 * The fields are those of struct traffic_stats (account.h), where their
 * meaning is stated; "lasting" is a host's connections still connected.
 */
#ifndef STRAIT_TRAFFIC_REPORT_H
#define STRAIT_TRAFFIC_REPORT_H

#include <stdint.h>

#include "account.h"
#include "buf.h"

struct traffic_report_meta {
	const char *protocol; /* "tcp" or "udp" */
	const char *address;  /* as the user gave it */
	uint64_t duration_ms; /* since the run started */
};

/* Appends the report as one JSON object (json_flags as for json_init(),
 * 0 for one line), without a newline. Returns 0 or -ENOMEM (out then
 * holds a partial document). */
int traffic_report_json(const struct traffic_stats *s,
			const struct traffic_report_meta *m,
			unsigned json_flags, struct buf *out);

/* Appends the report as a readable table, lines ending in newlines.
 * Returns 0 or -ENOMEM. */
int traffic_report_text(const struct traffic_stats *s,
			const struct traffic_report_meta *m, struct buf *out);

/* Appends the one-line progress summary (no newline) that the client
 * shows on a terminal. Returns 0 or -ENOMEM. */
int traffic_report_progress(const struct traffic_stats *s,
			    const struct traffic_report_meta *m,
			    struct buf *out);

#endif
