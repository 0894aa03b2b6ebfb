/* The report of a strait-traffic client run (report.h). */
#include "report.h"

#include <errno.h>
#include <inttypes.h>

#include "json.h"

static void member(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

int traffic_report_json(const struct traffic_stats *s,
			const struct traffic_report_meta *m,
			unsigned json_flags, struct buf *out)
{
	struct json j;

	json_init(&j, out, json_flags);
	json_object_begin(&j);
	json_key(&j, "protocol");
	json_string(&j, m->protocol);
	json_key(&j, "address");
	json_string(&j, m->address);
	member(&j, "duration_ms", m->duration_ms);
	member(&j, "connections", s->connections);
	member(&j, "connected", s->connected);
	member(&j, "failed_connects", s->failed_connects);
	member(&j, "lost", s->lost);
	member(&j, "moved", s->moved);
	member(&j, "sent", s->sent);
	member(&j, "received", s->received);
	member(&j, "dropped", s->dropped);
	member(&j, "intact", s->intact);
	member(&j, "corrupt", s->corrupt);
	json_key(&j, "hosts");
	json_object_begin(&j);
	for (size_t i = 0; i < s->n_hosts; i++) {
		const struct traffic_host *h = &s->hosts[s->order[i]];
		json_key(&j, h->name);
		json_object_begin(&j);
		member(&j, "connections", h->connections);
		member(&j, "lasting", h->lasting);
		member(&j, "lost", h->lost);
		json_object_end(&j);
	}
	json_object_end(&j);
	json_object_end(&j);
	return json_finish(&j);
}

int traffic_report_text(const struct traffic_stats *s,
			const struct traffic_report_meta *m, struct buf *out)
{
	int e = buf_printf(
	    out,
	    "%s to %s for %" PRIu64 ".%03" PRIu64 " s\n"
	    "connections  %" PRIu64 " opened, %" PRIu64 " connected, %" PRIu64
	    " failed to connect, %" PRIu64 " lost (%" PRIu64 " moved)\n"
	    "requests     %" PRIu64 " sent, %" PRIu64 " received, %" PRIu64
	    " dropped; %" PRIu64 " intact, %" PRIu64 " corrupt\n",
	    m->protocol, m->address, m->duration_ms / 1000,
	    m->duration_ms % 1000, s->connections, s->connected,
	    s->failed_connects, s->lost, s->moved, s->sent, s->received,
	    s->dropped, s->intact, s->corrupt);
	if (e == 0 && s->n_hosts > 0)
		e = buf_printf(out, "\n%-32s %11s %11s %11s\n", "host",
			       "connections", "lasting", "lost");
	for (size_t i = 0; e == 0 && i < s->n_hosts; i++) {
		const struct traffic_host *h = &s->hosts[s->order[i]];
		e = buf_printf(
		    out, "%-32s %11" PRIu64 " %11" PRIu64 " %11" PRIu64 "\n",
		    h->name, h->connections, h->lasting, h->lost);
	}
	return e;
}

int traffic_report_progress(const struct traffic_stats *s,
			    const struct traffic_report_meta *m,
			    struct buf *out)
{
	return buf_printf(
	    out,
	    "%4" PRIu64 " s  connected %" PRIu64 "/%" PRIu64 "  failed %" PRIu64
	    "  lost %" PRIu64 "  moved %" PRIu64 "  sent %" PRIu64
	    "  received %" PRIu64 "  dropped %" PRIu64 "  hosts %zu",
	    m->duration_ms / 1000, s->connected, s->connections,
	    s->failed_connects, s->lost, s->moved, s->sent, s->received,
	    s->dropped, s->n_hosts);
}
