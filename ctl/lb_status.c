/* `lb status`, `lb streams`, `lb flows`: one lb.Control/Status call to
 * strait-lb's control socket, printed as the command asks (tables), or the
 * whole status as JSON with --json. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "json.h"
#include "oneshot.h"
#include "lb.pb-c.h"
#include "table.h"

#define STATUS_METHOD "lb.Control/Status"

static void json_counters(struct json *j, const char *key,
			  Lb__Counter *const *c, size_t n)
{
	json_key(j, key);
	json_array_begin(j);
	for (size_t i = 0; i < n; i++) {
		json_object_begin(j);
		json_key(j, "name");
		json_string(j, c[i]->name);
		json_key(j, "value");
		json_uint(j, c[i]->value);
		json_object_end(j);
	}
	json_array_end(j);
}

static void json_strings(struct json *j, const char *key, char *const *v,
			 size_t n)
{
	json_key(j, key);
	json_array_begin(j);
	for (size_t i = 0; i < n; i++)
		json_string(j, v[i]);
	json_array_end(j);
}

#define KU(j, k, v) (json_key(j, k), json_uint(j, v))

static void json_stream(struct json *j, const Lb__StreamState *s)
{
	json_object_begin(j);
	json_key(j, "name");
	json_string(j, s->name);
	json_key(j, "conduit");
	json_string(j, s->conduit);
	KU(j, "maxTargets", s->max_targets);
	KU(j, "markOffset", s->mark_offset);
	KU(j, "tableSize", s->table_size);
	KU(j, "slotsMin", s->slots_min);
	KU(j, "slotsMax", s->slots_max);
	KU(j, "buildNs", s->build_ns);
	json_key(j, "targets");
	json_array_begin(j);
	for (size_t i = 0; i < s->n_targets; i++) {
		const Lb__TargetState *t = s->targets[i];
		json_object_begin(j);
		KU(j, "identifier", t->identifier);
		json_strings(j, "ips", t->ips, t->n_ips);
		KU(j, "mark", t->mark);
		json_key(j, "ready");
		json_bool(j, t->ready);
		json_key(j, "waiting");
		json_string(j, t->waiting);
		KU(j, "slots", t->slots);
		KU(j, "packets", t->packets);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

static int format_json(struct buf *out, const Lb__StatusResponse *r)
{
	struct json j;
	json_init(&j, out, JSON_PRETTY);
	json_object_begin(&j);
	json_key(&j, "trench");
	json_string(&j, r->trench);
	json_key(&j, "conduit");
	json_string(&j, r->conduit);
	json_key(&j, "nspConnected");
	json_bool(&j, r->nsp_connected);
	KU(&j, "configRevision", r->config_revision);
	KU(&j, "targetsRevision", r->targets_revision);
	KU(&j, "planeGeneration", r->plane_generation);
	json_strings(&j, "vips", r->vips, r->n_vips);
	json_key(&j, "streams");
	json_array_begin(&j);
	for (size_t i = 0; i < r->n_streams; i++)
		json_stream(&j, r->streams[i]);
	json_array_end(&j);
	json_key(&j, "flows");
	json_array_begin(&j);
	for (size_t i = 0; i < r->n_flows; i++) {
		json_object_begin(&j);
		json_key(&j, "name");
		json_string(&j, r->flows[i]->name);
		json_key(&j, "stream");
		json_string(&j, r->flows[i]->stream);
		json_key(&j, "priority");
		json_int(&j, r->flows[i]->priority);
		KU(&j, "packets", r->flows[i]->packets);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "queues");
	json_array_begin(&j);
	for (size_t i = 0; i < r->n_queues; i++) {
		const Lb__QueueState *q = r->queues[i];
		json_object_begin(&j);
		KU(&j, "queue", q->queue);
		KU(&j, "received", q->received);
		KU(&j, "verdicts", q->verdicts);
		KU(&j, "batches", q->batches);
		KU(&j, "queueDrops", q->queue_drops);
		KU(&j, "conns", q->conns);
		KU(&j, "connsCapacity", q->conns_capacity);
		KU(&j, "frags", q->frags);
		KU(&j, "fragsHeld", q->frags_held);
		json_object_end(&j);
	}
	json_array_end(&j);
	KU(&j, "accepted", r->accepted);
	json_counters(&j, "drops", r->drops, r->n_drops);
	json_counters(&j, "placed", r->placed, r->n_placed);
	KU(&j, "conns", r->conns);
	KU(&j, "connsCapacity", r->conns_capacity);
	json_key(&j, "lastError");
	json_string(&j, r->last_error);
	json_object_end(&j);
	int err = json_finish(&j);
	return err ? err : buf_putc(out, '\n');
}

static int format_status(struct buf *out, const Lb__StatusResponse *r)
{
	buf_printf(out, "trench %s", r->trench);
	if (r->conduit[0])
		buf_printf(out, ", conduit %s", r->conduit);
	buf_printf(out, "; NSP %s; configuration revision %" PRIu64
			", plane %" PRIu64 "\nVIPs:",
		   r->nsp_connected ? "connected" : "NOT connected",
		   r->config_revision, r->plane_generation);
	for (size_t i = 0; i < r->n_vips; i++)
		buf_printf(out, " %s", r->vips[i]);
	buf_printf(out, "%s\n", r->n_vips ? "" : " none");
	if (r->last_error[0]) {
		buf_printf(out, "last configuration refused: ");
		ctl_put_text(out, r->last_error);
		buf_putc(out, '\n');
	}
	buf_printf(out, "\naccepted %" PRIu64 "; placed by", r->accepted);
	for (size_t i = 0; i < r->n_placed; i++)
		buf_printf(out, "%s %s %" PRIu64, i ? "," : "",
			   r->placed[i]->name, r->placed[i]->value);
	buf_printf(out, "\ndropped:");
	for (size_t i = 0; i < r->n_drops; i++)
		buf_printf(out, "%s %s %" PRIu64, i ? "," : "",
			   r->drops[i]->name, r->drops[i]->value);
	buf_printf(out, "\nconnection table: %" PRIu64 " of %" PRIu64
			" entries\n\n",
		   r->conns, r->conns_capacity);
	struct ctl_table t;
	ctl_table_init(&t, 7);
	const char *head[7] = { "QUEUE", "RECEIVED", "BATCHES", "QUEUE-DROPS",
				"CONNS", "FRAGS", "HELD" };
	int err = ctl_table_add(&t, head);
	for (size_t i = 0; !err && i < r->n_queues; i++) {
		const Lb__QueueState *q = r->queues[i];
		char c[7][24];
		snprintf(c[0], 24, "%u", q->queue);
		snprintf(c[1], 24, "%" PRIu64, q->received);
		snprintf(c[2], 24, "%" PRIu64, q->batches);
		snprintf(c[3], 24, "%" PRIu64, q->queue_drops);
		snprintf(c[4], 24, "%" PRIu64, q->conns);
		snprintf(c[5], 24, "%" PRIu64, q->frags);
		snprintf(c[6], 24, "%" PRIu64, q->frags_held);
		const char *row[7] = { c[0], c[1], c[2], c[3], c[4], c[5], c[6] };
		err = ctl_table_add(&t, row);
	}
	if (!err)
		err = ctl_table_render(&t, out, "");
	ctl_table_free(&t);
	return err;
}

static int format_streams(struct buf *out, const Lb__StatusResponse *r)
{
	int err = 0;
	if (!r->n_streams)
		buf_printf(out, "no streams\n");
	for (size_t i = 0; !err && i < r->n_streams; i++) {
		const Lb__StreamState *s = r->streams[i];
		buf_printf(out, "%sstream %s (conduit %s): marks %u..%u, table "
				"%u slots, ",
			   i ? "\n" : "", s->name, s->conduit,
			   s->mark_offset + 1, s->mark_offset + s->max_targets,
			   s->table_size);
		if (s->slots_min)
			buf_printf(out, "balance %.3f (slots %u..%u)\n",
				   (double)s->slots_max / s->slots_min,
				   s->slots_min, s->slots_max);
		else
			buf_printf(out, "no ready target\n");
		struct ctl_table t;
		ctl_table_init(&t, 6);
		const char *head[6] = { "ID", "IPS", "MARK", "SLOTS", "PACKETS",
					"STATE" };
		err = ctl_table_add(&t, head);
		for (size_t k = 0; !err && k < s->n_targets; k++) {
			const Lb__TargetState *ts = s->targets[k];
			char id[12], mark[12], slots[12], pk[24], ips[256] = "";
			size_t len = 0;
			for (size_t n = 0; n < ts->n_ips && len < sizeof(ips); n++)
				len += (size_t)snprintf(ips + len,
							sizeof(ips) - len,
							"%s%s", n ? "," : "",
							ts->ips[n]);
			snprintf(id, sizeof(id), "%u", ts->identifier);
			snprintf(mark, sizeof(mark), "%u", ts->mark);
			snprintf(slots, sizeof(slots), "%u", ts->slots);
			snprintf(pk, sizeof(pk), "%" PRIu64, ts->packets);
			const char *row[6] = { id, ips, mark, slots, pk,
					       ts->ready ? "ready" : ts->waiting };
			err = ctl_table_add(&t, row);
		}
		if (!err)
			err = ctl_table_render(&t, out, "  ");
		ctl_table_free(&t);
	}
	return err;
}

static int format_flows(struct buf *out, const Lb__StatusResponse *r)
{
	struct ctl_table t;
	ctl_table_init(&t, 4);
	const char *head[4] = { "FLOW", "STREAM", "PRIORITY", "PACKETS" };
	int err = ctl_table_add(&t, head);
	for (size_t i = 0; !err && i < r->n_flows; i++) {
		char prio[16], pk[24];
		snprintf(prio, sizeof(prio), "%d", r->flows[i]->priority);
		snprintf(pk, sizeof(pk), "%" PRIu64, r->flows[i]->packets);
		const char *row[4] = { r->flows[i]->name, r->flows[i]->stream,
				       prio, pk };
		err = ctl_table_add(&t, row);
	}
	if (!err)
		err = ctl_table_render(&t, out, "");
	ctl_table_free(&t);
	return err;
}

static int render(struct buf *out, const ProtobufCMessage *msg,
		  const struct ctl_args *a)
{
	const Lb__StatusResponse *r = (const void *)msg;
	if (a->json)
		return format_json(out, r);
	if (a->cmd == CTL_CMD_LB_STREAMS)
		return format_streams(out, r);
	if (a->cmd == CTL_CMD_LB_FLOWS)
		return format_flows(out, r);
	return format_status(out, r);
}

static const struct ctl_oneshot status_cmd = {
    .what = "status",
    .method = STATUS_METHOD,
    .request = &lb__status_request__descriptor,
    .reply = &lb__status_response__descriptor,
    .render = render,
};

static void status_on_up(struct ctl_session *s)
{
	ctl_oneshot_on_up(s, &status_cmd);
}

const struct ctl_command ctl_lb_status = {
    .init = ctl_oneshot_init,
    .on_up = status_on_up,
};
