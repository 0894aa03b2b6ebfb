/* The transport's counters in Prometheus form, for every daemon's
 * /metrics. */
#include <stdio.h>

#include "buf.h"
#include "metrics.h"
#include "rpc.h"

int rpc_server_write_metrics(const struct rpc_server *s, const char *prefix,
			     struct buf *out)
{
	const struct rpc_server_stats *st = rpc_server_stats(s);
	const struct {
		const char *name, *type, *help;
		uint64_t value;
	} rows[] = {
		{ "rpc_connections_open", "gauge", "API connections open now",
		  st->conns_open },
		{ "rpc_connections_total", "counter", "API connections accepted",
		  st->conns_accepted },
		{ "rpc_connections_refused_total", "counter",
		  "API connections closed at once: over the connection limit",
		  st->conns_refused },
		{ "rpc_bad_frames_total", "counter",
		  "API connections closed for a bad frame", st->bad_frames },
		{ "rpc_dead_peers_total", "counter",
		  "API connections closed by keepalive or as stuck",
		  st->dead_peers },
		{ "rpc_calls_total", "counter", "API calls received", st->calls },
		{ "rpc_calls_failed_total", "counter",
		  "API calls ended with a status other than OK",
		  st->calls_failed },
		{ "rpc_received_bytes_total", "counter",
		  "bytes received on API connections", st->bytes_in },
		{ "rpc_sent_bytes_total", "counter",
		  "bytes queued on API connections", st->bytes_out },
	};
	int err = 0;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char name[128];
		snprintf(name, sizeof(name), "%s_%s", prefix, rows[i].name);
		err |= metrics_family(out, name, rows[i].type, rows[i].help);
		err |= metrics_sample(out, name, NULL, (double)rows[i].value);
	}
	return err ? -1 : 0;
}
