/* `tun status`: one tun.Control/Status call to strait-tun's control
 * socket, printed as text or, with --json, as the whole message. The
 * command follows `proxy status` (proxy_status.c); see tun_status.h for
 * the output. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "json.h"
#include "oneshot.h"
#include "table.h"
#include "tun_status.h"

#define STATUS_METHOD "tun.Control/Status"

static const char *str(const char *s)
{
	return s ? s : "";
}

/* An answer without counters (a daemon that leaves them out) prints as
 * zeros. */
static const Tun__Counters *counters_of(const Tun__StatusResponse *r)
{
	static const Tun__Counters none = TUN__COUNTERS__INIT;
	return r->counters ? r->counters : &none;
}

/* ---- JSON ---- */

#define KS(j, k, v) (json_key(j, k), json_string(j, str(v)))
#define KB(j, k, v) (json_key(j, k), json_bool(j, v))
#define KU(j, k, v) (json_key(j, k), json_uint(j, v))

static void json_strings(struct json *j, const char *key, char *const *v,
			 size_t n)
{
	json_key(j, key);
	json_array_begin(j);
	for (size_t i = 0; i < n; i++)
		json_string(j, str(v[i]));
	json_array_end(j);
}

static void json_service(struct json *j, const Tun__Service *s)
{
	json_object_begin(j);
	KS(j, "name", s->name);
	json_strings(j, "addresses", s->addresses, s->n_addresses);
	KS(j, "policy", s->policy);
	KU(j, "maxInstances", s->max_instances);
	json_key(j, "instances");
	json_array_begin(j);
	for (size_t i = 0; i < s->n_instances; i++) {
		const Tun__Instance *in = s->instances[i];
		json_object_begin(j);
		KU(j, "identifier", in->identifier);
		json_strings(j, "addresses", in->addresses, in->n_addresses);
		KS(j, "node", in->node);
		KB(j, "local", in->local);
		KB(j, "reachable", in->reachable);
		json_object_end(j);
	}
	json_array_end(j);
	KU(j, "nLocal", s->n_local);
	json_object_end(j);
}

static void json_counters(struct json *j, const Tun__Counters *c)
{
	json_key(j, "counters");
	json_object_begin(j);
	KU(j, "deviceRxPackets", c->device_rx_packets);
	KU(j, "deviceRxBytes", c->device_rx_bytes);
	KU(j, "deviceTxPackets", c->device_tx_packets);
	KU(j, "deviceTxBytes", c->device_tx_bytes);
	KU(j, "udpRxPackets", c->udp_rx_packets);
	KU(j, "udpRxBytes", c->udp_rx_bytes);
	KU(j, "udpTxPackets", c->udp_tx_packets);
	KU(j, "udpTxBytes", c->udp_tx_bytes);
	KU(j, "udpSends", c->udp_sends);
	KU(j, "udpSendCalls", c->udp_send_calls);
	KU(j, "udpReceiveBatches", c->udp_receive_batches);
	KU(j, "mergedSegments", c->merged_segments);
	KU(j, "mssClamped", c->mss_clamped);
	KU(j, "unreachableSent", c->unreachable_sent);
	KU(j, "flows", c->flows);
	KU(j, "flowsCapacity", c->flows_capacity);
	KU(j, "flowsNew", c->flows_new);
	KU(j, "flowsForgotten", c->flows_forgotten);
	KU(j, "fragmentsHeld", c->fragments_held);
	KU(j, "fragmentsReleased", c->fragments_released);
	/* An object, not the proto's list of pairs: `.counters.drops.no_node`
	 * is what a script wants to write. */
	json_key(j, "drops");
	json_object_begin(j);
	for (size_t i = 0; i < c->n_drops; i++)
		KU(j, str(c->drops[i]->name), c->drops[i]->value);
	json_object_end(j);
	json_object_end(j);
}

int ctl_tun_status_json(struct buf *out, const Tun__StatusResponse *r)
{
	struct json j;
	json_init(&j, out, JSON_PRETTY);
	json_object_begin(&j);
	KS(&j, "trench", r->trench);
	KS(&j, "node", r->node);
	KS(&j, "device", r->device);
	KU(&j, "mtu", r->mtu);
	KU(&j, "port", r->port);
	KS(&j, "underlay", r->underlay);
	json_strings(&j, "servicePrefixes", r->service_prefixes,
		     r->n_service_prefixes);
	KB(&j, "nspConnected", r->nsp_connected);
	KB(&j, "registered", r->registered);
	KB(&j, "tablesReady", r->tables_ready);
	json_key(&j, "services");
	json_array_begin(&j);
	for (size_t i = 0; i < r->n_services; i++)
		json_service(&j, r->services[i]);
	json_array_end(&j);
	json_key(&j, "nodes");
	json_array_begin(&j);
	for (size_t i = 0; i < r->n_nodes; i++) {
		const Tun__Node *n = r->nodes[i];
		json_object_begin(&j);
		KS(&j, "name", n->name);
		KS(&j, "address", n->address);
		KU(&j, "port", n->port);
		KB(&j, "self", n->self);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_counters(&j, counters_of(r));
	json_object_end(&j);
	int err = json_finish(&j);
	return err ? err : buf_putc(out, '\n');
}

/* ---- text ---- */

/* Sticky-error output: each call does nothing once *err is set. put()
 * formats trusted text and numbers; name() writes a value from the
 * network, "-" when it is empty. */
static void put(struct buf *out, int *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void put(struct buf *out, int *err, const char *fmt, ...)
{
	if (*err)
		return;
	va_list ap;
	va_start(ap, fmt);
	*err = buf_vprintf(out, fmt, ap);
	va_end(ap);
}

static void name(struct buf *out, int *err, const char *s)
{
	if (!*err)
		*err = ctl_put_text(out, *str(s) ? s : "-");
}

/* v joined with sep, appended to b. */
static int join(struct buf *b, char *const *v, size_t n, const char *sep)
{
	int err = 0;
	for (size_t i = 0; !err && i < n; i++) {
		if (i)
			err = buf_puts(b, sep);
		if (!err)
			err = buf_puts(b, str(v[i]));
	}
	return err;
}

static void header(struct buf *out, int *err, const Tun__StatusResponse *r)
{
	put(out, err, "node ");
	name(out, err, r->node);
	put(out, err, ", trench ");
	name(out, err, r->trench);
	put(out, err, ": ");
	name(out, err, r->device);
	put(out, err, " mtu %u, underlay ", r->mtu);
	name(out, err, r->underlay);
	put(out, err, " port %u\nservice prefixes:", r->port);
	for (size_t i = 0; i < r->n_service_prefixes; i++) {
		put(out, err, " ");
		name(out, err, r->service_prefixes[i]);
	}
	put(out, err, "%s\nNSP %s; %s; tables %s\n",
	    r->n_service_prefixes ? "" : " none",
	    r->nsp_connected ? "connected" : "NOT connected",
	    r->registered ? "registered as TUNNEL" : "NOT registered",
	    r->tables_ready ? "ready" : "NOT ready (waiting for NSP)");
}

/* Renders t under "\nTITLE (N):\n", or "\nno TITLE\n" when it has only
 * its head row. */
static void section(struct buf *out, int *err, const char *title,
		    const struct ctl_table *t)
{
	if (t->rows <= 1)
		put(out, err, "\nno %s\n", title);
	else
		put(out, err, "\n%s (%zu):\n", title, t->rows - 1);
	if (!*err && t->rows > 1)
		*err = ctl_table_render(t, out, "  ");
}

static int add_service(struct ctl_table *t, const Tun__Service *s)
{
	struct buf addrs = {0};
	char n[12], local[12], max[12];
	snprintf(n, sizeof(n), "%zu", s->n_instances);
	snprintf(local, sizeof(local), "%u", s->n_local);
	snprintf(max, sizeof(max), "%u", s->max_instances);
	int err = join(&addrs, s->addresses, s->n_addresses, ",");
	if (!err) {
		const char *row[6] = {str(s->name),   buf_str(&addrs),
				      str(s->policy), n,
				      local,	      max};
		err = ctl_table_add(t, row);
	}
	buf_free(&addrs);
	return err;
}

static int add_instance(struct ctl_table *t, const Tun__Service *s,
			const Tun__Instance *in)
{
	struct buf addrs = {0}, node = {0};
	char id[12];
	snprintf(id, sizeof(id), "%u", in->identifier);
	int err = join(&addrs, in->addresses, in->n_addresses, ",");
	if (!err)
		err = buf_puts(&node, *str(in->node) ? in->node : "-");
	if (!err && in->local)
		err = buf_puts(&node, " (this node)");
	else if (!err && !in->reachable)
		err = buf_puts(&node, " (no tunnel)");
	if (!err) {
		const char *row[4] = {str(s->name), id, buf_str(&addrs),
				      buf_str(&node)};
		err = ctl_table_add(t, row);
	}
	buf_free(&addrs);
	buf_free(&node);
	return err;
}

static void services(struct buf *out, int *err, const Tun__StatusResponse *r)
{
	struct ctl_table t;
	ctl_table_init(&t, 6);
	const char *head[6] = {"SERVICE",   "ADDRESSES", "POLICY",
			       "INSTANCES", "LOCAL",	 "MAX"};
	int e = ctl_table_add(&t, head);
	for (size_t i = 0; !e && i < r->n_services; i++)
		e = add_service(&t, r->services[i]);
	*err = *err ? *err : e;
	section(out, err, "services", &t);
	ctl_table_free(&t);

	ctl_table_init(&t, 4);
	const char *ihead[4] = {"SERVICE", "ID", "ADDRESSES", "NODE"};
	e = ctl_table_add(&t, ihead);
	for (size_t i = 0; !e && i < r->n_services; i++)
		for (size_t k = 0; !e && k < r->services[i]->n_instances; k++)
			e = add_instance(&t, r->services[i],
					 r->services[i]->instances[k]);
	*err = *err ? *err : e;
	section(out, err, "instances", &t);
	ctl_table_free(&t);
}

static void nodes(struct buf *out, int *err, const Tun__StatusResponse *r)
{
	struct ctl_table t;
	ctl_table_init(&t, 3);
	const char *head[3] = {"NODE", "UNDERLAY", "PORT"};
	int e = ctl_table_add(&t, head);
	for (size_t i = 0; !e && i < r->n_nodes; i++) {
		const Tun__Node *n = r->nodes[i];
		struct buf nm = {0};
		char port[12];
		snprintf(port, sizeof(port), "%u", n->port);
		e = buf_puts(&nm, *str(n->name) ? n->name : "-");
		if (!e && n->self)
			e = buf_puts(&nm, " (this node)");
		if (!e) {
			const char *row[3] = {buf_str(&nm), str(n->address),
					      port};
			e = ctl_table_add(&t, row);
		}
		buf_free(&nm);
	}
	*err = *err ? *err : e;
	section(out, err, "nodes", &t);
	ctl_table_free(&t);
}

static int traffic_row(struct ctl_table *t, const char *what, const char *dev,
		       uint64_t packets, uint64_t bytes)
{
	char label[96], p[24], b[24];
	snprintf(label, sizeof(label), "  %s%s", what, dev);
	snprintf(p, sizeof(p), "%" PRIu64, packets);
	snprintf(b, sizeof(b), "%" PRIu64, bytes);
	const char *row[3] = {label, p, b};
	return ctl_table_add(t, row);
}

static void counters(struct buf *out, int *err, const Tun__StatusResponse *r)
{
	const Tun__Counters *c = counters_of(r);
	/* The device's name goes into the labels: a table cell, so its
	 * control characters are replaced like any other. */
	char dev[40];
	snprintf(dev, sizeof(dev), "%s", *str(r->device) ? r->device : "-");
	struct ctl_table t;
	ctl_table_init(&t, 3);
	const char *head[3] = {"traffic:", "PACKETS", "BYTES"};
	int e = ctl_table_add(&t, head);
	if (!e)
		e = traffic_row(&t, "read from ", dev, c->device_rx_packets,
				c->device_rx_bytes);
	if (!e)
		e = traffic_row(&t, "written to ", dev, c->device_tx_packets,
				c->device_tx_bytes);
	if (!e)
		e = traffic_row(&t, "received over UDP", "", c->udp_rx_packets,
				c->udp_rx_bytes);
	if (!e)
		e = traffic_row(&t, "sent over UDP", "", c->udp_tx_packets,
				c->udp_tx_bytes);
	put(out, err, "\n");
	if (!*err)
		*err = e ? e : ctl_table_render(&t, out, "");
	ctl_table_free(&t);

	put(out, err,
	    "flows %" PRIu64 " of %" PRIu64 ", placed %" PRIu64
	    ", forgotten %" PRIu64 "\n"
	    "UDP sends %" PRIu64 " in %" PRIu64
	    " calls, receive batches %" PRIu64 ", merged segments %" PRIu64 "\n"
	    "MSS clamped %" PRIu64 ", unreachables sent %" PRIu64
	    ", fragments held %" PRIu64 " (released %" PRIu64 ")\ndrops:",
	    c->flows, c->flows_capacity, c->flows_new, c->flows_forgotten,
	    c->udp_sends, c->udp_send_calls, c->udp_receive_batches,
	    c->merged_segments, c->mss_clamped, c->unreachable_sent,
	    c->fragments_held, c->fragments_released);
	size_t shown = 0;
	for (size_t i = 0; i < c->n_drops; i++) {
		if (!c->drops[i]->value)
			continue;
		put(out, err, "%s ", shown++ ? "," : "");
		name(out, err, c->drops[i]->name);
		put(out, err, " %" PRIu64, c->drops[i]->value);
	}
	put(out, err, "%s\n", shown ? "" : " none");
}

int ctl_tun_status_text(struct buf *out, const Tun__StatusResponse *r)
{
	int err = 0;
	header(out, &err, r);
	services(out, &err, r);
	nodes(out, &err, r);
	counters(out, &err, r);
	return err;
}

/* ---- the command ---- */

static int render(struct buf *out, const ProtobufCMessage *msg,
		  const struct ctl_args *a)
{
	const Tun__StatusResponse *r = (const void *)msg;
	return a->json ? ctl_tun_status_json(out, r)
		       : ctl_tun_status_text(out, r);
}

static const struct ctl_oneshot status_cmd = {
    .what = "status",
    .method = STATUS_METHOD,
    .request = &tun__status_request__descriptor,
    .reply = &tun__status_response__descriptor,
    .render = render,
};

static void status_on_up(struct ctl_session *s)
{
	ctl_oneshot_on_up(s, &status_cmd);
}

const struct ctl_command ctl_tun_status = {
    .init = ctl_oneshot_init,
    .on_up = status_on_up,
};
