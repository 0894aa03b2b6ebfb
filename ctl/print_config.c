/* The trench configuration as straitctl prints it. See print_config.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "print_config.h"
#include "table.h"

#define MAX_COLS 16

static const char *str(const char *s)
{
	return s ? s : "";
}

static bool want(enum ctl_kind kind, enum ctl_kind k)
{
	return kind == CTL_KIND_ALL || kind == k;
}

/* ---- text ---- */

/* A table row under construction: one scratch buffer per cell, and the
 * first error of any append. */
struct row {
	struct buf cell[MAX_COLS];
	size_t n;
	int err;
};

static struct buf *next(struct row *r)
{
	return &r->cell[r->n < MAX_COLS - 1 ? r->n++ : r->n];
}

static void put(struct row *r, const char *s)
{
	int err = buf_puts(next(r), str(s));
	r->err = r->err ? r->err : err;
}

static void putu(struct row *r, uint64_t v)
{
	int err = buf_printf(next(r), "%" PRIu64, v);
	r->err = r->err ? r->err : err;
}

static void puti(struct row *r, int64_t v)
{
	int err = buf_printf(next(r), "%" PRId64, v);
	r->err = r->err ? r->err : err;
}

static int join_into(struct buf *b, char *const *v, size_t n)
{
	int err = 0;
	for (size_t i = 0; i < n && !err; i++) {
		if (i)
			err = buf_putc(b, ',');
		if (!err)
			err = buf_puts(b, str(v[i]));
	}
	return err;
}

static void join(struct row *r, char *const *v, size_t n)
{
	int err = join_into(next(r), v, n);
	r->err = r->err ? r->err : err;
}

/* Adds the row to the table and empties it for the next one. */
static int end_row(struct row *r, struct ctl_table *t)
{
	const char *cells[MAX_COLS];
	for (size_t i = 0; i < t->cols; i++)
		cells[i] = buf_str(&r->cell[i]);
	int err = r->err ? r->err : ctl_table_add(t, cells);
	for (size_t i = 0; i < MAX_COLS; i++)
		buf_reset(&r->cell[i]);
	r->n = 0;
	r->err = 0;
	return err;
}

static void row_free(struct row *r)
{
	for (size_t i = 0; i < MAX_COLS; i++)
		buf_free(&r->cell[i]);
}

static void trench_row(struct row *r, const void *item)
{
	const Nsp__Trench *x = item;
	put(r, x->name);
}

static void conduit_row(struct row *r, const void *item)
{
	const Nsp__Conduit *x = item;
	put(r, x->name);
	put(r, x->trench);
	struct buf *b = next(r);
	int err = 0;
	for (size_t i = 0; i < x->n_destination_port_nats && !err; i++) {
		const Nsp__PortNat *p = x->destination_port_nats[i];
		err =
		    buf_printf(b, "%s%s>%" PRIu32 "/%s vips=", i ? "; " : "",
			       str(p->port), p->target_port, str(p->protocol));
		if (!err)
			err = join_into(b, p->vips, p->n_vips);
	}
	r->err = r->err ? r->err : err;
}

static void stream_row(struct row *r, const void *item)
{
	const Nsp__Stream *x = item;
	put(r, x->name);
	put(r, x->trench);
	put(r, x->conduit);
	putu(r, x->max_targets);
}

static void flow_row(struct row *r, const void *item)
{
	const Nsp__Flow *x = item;
	put(r, x->name);
	put(r, x->trench);
	put(r, x->stream);
	puti(r, x->priority);
	join(r, x->vips, x->n_vips);
	join(r, x->source_subnets, x->n_source_subnets);
	join(r, x->source_port_ranges, x->n_source_port_ranges);
	join(r, x->destination_port_ranges, x->n_destination_port_ranges);
	join(r, x->protocols, x->n_protocols);
	join(r, x->byte_matches, x->n_byte_matches);
}

static void vip_row(struct row *r, const void *item)
{
	const Nsp__Vip *x = item;
	put(r, x->name);
	put(r, x->trench);
	put(r, x->address);
}

static void attractor_row(struct row *r, const void *item)
{
	const Nsp__Attractor *x = item;
	put(r, x->name);
	put(r, x->trench);
	join(r, x->vips, x->n_vips);
	join(r, x->gateways, x->n_gateways);
	join(r, x->composites, x->n_composites);
	puti(r, x->replicas);
}

static void gateway_row(struct row *r, const void *item)
{
	const Nsp__Gateway *x = item;
	put(r, x->name);
	put(r, x->trench);
	put(r, x->address);
	put(r, x->ip_family);
	put(r, x->protocol);
	put(r, x->bfd ? "yes" : "no");
	putu(r, x->remote_asn);
	putu(r, x->local_asn);
	putu(r, x->remote_port);
	putu(r, x->local_port);
	putu(r, x->hold_time);
	putu(r, x->min_tx);
	putu(r, x->min_rx);
	putu(r, x->multiplier);
}

static void service_row(struct row *r, const void *item)
{
	const Nsp__Service *x = item;
	put(r, x->name);
	put(r, x->trench);
	join(r, x->addresses, x->n_addresses);
	put(r, x->policy);
	putu(r, x->max_instances);
}

typedef void (*row_fn)(struct row *r, const void *item);

/* One section: a title with the count, then the table with its header. */
static int section(struct buf *b, const char *title, const char *const *head,
		   size_t cols, void *const *items, size_t n, row_fn fn)
{
	int err = buf_printf(b, "\n%s (%zu)\n", title, n);
	if (err || n == 0)
		return err;
	struct ctl_table t;
	struct row r = {0};
	ctl_table_init(&t, cols);
	err = ctl_table_add(&t, head);
	for (size_t i = 0; i < n && !err; i++) {
		fn(&r, items[i]);
		err = end_row(&r, &t);
	}
	if (!err)
		err = ctl_table_render(&t, b, "  ");
	row_free(&r);
	ctl_table_free(&t);
	return err;
}

#define SECTION(b, title, head, items, n, fn)                                  \
	section(b, title, head, sizeof(head) / sizeof(head[0]),                \
		(void *const *)(items), n, fn)

int ctl_config_text(struct buf *b, const Nsp__ConfigResponse *r,
		    enum ctl_kind kind)
{
	static const char *const h_trench[] = {"NAME"};
	static const char *const h_conduit[] = {"NAME", "TRENCH", "PORT-NATS"};
	static const char *const h_stream[] = {"NAME", "TRENCH", "CONDUIT",
					       "MAX-TARGETS"};
	static const char *const h_flow[] = {
	    "NAME",    "TRENCH",    "STREAM",	 "PRIORITY",  "VIPS",
	    "SOURCES", "SRC-PORTS", "DST-PORTS", "PROTOCOLS", "BYTE-MATCHES",
	};
	static const char *const h_vip[] = {"NAME", "TRENCH", "ADDRESS"};
	static const char *const h_attractor[] = {
	    "NAME", "TRENCH", "VIPS", "GATEWAYS", "COMPOSITES", "REPLICAS"};
	static const char *const h_gateway[] = {
	    "NAME", "TRENCH",	  "ADDRESS",   "FAMILY",      "PROTOCOL",
	    "BFD",  "REMOTE-ASN", "LOCAL-ASN", "REMOTE-PORT", "LOCAL-PORT",
	    "HOLD", "MIN-TX",	  "MIN-RX",    "MULTIPLIER",
	};
	static const char *const h_service[] = {"NAME", "TRENCH", "ADDRESSES",
						"POLICY", "MAX-INSTANCES"};
	int err = buf_printf(b, "revision %" PRIu64 "\n", r->revision);
	if (!err && want(kind, CTL_KIND_TRENCH))
		err = SECTION(b, "Trenches", h_trench, r->trenches,
			      r->n_trenches, trench_row);
	if (!err && want(kind, CTL_KIND_CONDUIT))
		err = SECTION(b, "Conduits", h_conduit, r->conduits,
			      r->n_conduits, conduit_row);
	if (!err && want(kind, CTL_KIND_STREAM))
		err = SECTION(b, "Streams", h_stream, r->streams, r->n_streams,
			      stream_row);
	if (!err && want(kind, CTL_KIND_FLOW))
		err =
		    SECTION(b, "Flows", h_flow, r->flows, r->n_flows, flow_row);
	if (!err && want(kind, CTL_KIND_VIP))
		err = SECTION(b, "VIPs", h_vip, r->vips, r->n_vips, vip_row);
	if (!err && want(kind, CTL_KIND_ATTRACTOR))
		err = SECTION(b, "Attractors", h_attractor, r->attractors,
			      r->n_attractors, attractor_row);
	if (!err && want(kind, CTL_KIND_GATEWAY))
		err = SECTION(b, "Gateways", h_gateway, r->gateways,
			      r->n_gateways, gateway_row);
	if (!err && want(kind, CTL_KIND_SERVICE))
		err = SECTION(b, "Services", h_service, r->services,
			      r->n_services, service_row);
	return err;
}

/* ---- JSON ---- */

static void jstr(struct json *j, const char *key, const char *v)
{
	json_key(j, key);
	json_string(j, str(v));
}

static void juint(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

static void jint(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_int(j, v);
}

static void jlist(struct json *j, const char *key, char *const *v, size_t n)
{
	json_key(j, key);
	json_array_begin(j);
	for (size_t i = 0; i < n; i++)
		json_string(j, str(v[i]));
	json_array_end(j);
}

static void trench_json(struct json *j, const void *item)
{
	const Nsp__Trench *x = item;
	jstr(j, "name", x->name);
}

static void conduit_json(struct json *j, const void *item)
{
	const Nsp__Conduit *x = item;
	jstr(j, "name", x->name);
	jstr(j, "trench", x->trench);
	json_key(j, "destination_port_nats");
	json_array_begin(j);
	for (size_t i = 0; i < x->n_destination_port_nats; i++) {
		const Nsp__PortNat *p = x->destination_port_nats[i];
		json_object_begin(j);
		jstr(j, "port", p->port);
		juint(j, "target_port", p->target_port);
		jstr(j, "protocol", p->protocol);
		jlist(j, "vips", p->vips, p->n_vips);
		json_object_end(j);
	}
	json_array_end(j);
}

static void stream_json(struct json *j, const void *item)
{
	const Nsp__Stream *x = item;
	jstr(j, "name", x->name);
	jstr(j, "trench", x->trench);
	jstr(j, "conduit", x->conduit);
	juint(j, "max_targets", x->max_targets);
}

static void flow_json(struct json *j, const void *item)
{
	const Nsp__Flow *x = item;
	jstr(j, "name", x->name);
	jstr(j, "trench", x->trench);
	jstr(j, "stream", x->stream);
	jlist(j, "vips", x->vips, x->n_vips);
	jlist(j, "source_subnets", x->source_subnets, x->n_source_subnets);
	jlist(j, "source_port_ranges", x->source_port_ranges,
	      x->n_source_port_ranges);
	jlist(j, "destination_port_ranges", x->destination_port_ranges,
	      x->n_destination_port_ranges);
	jlist(j, "protocols", x->protocols, x->n_protocols);
	jint(j, "priority", x->priority);
	jlist(j, "byte_matches", x->byte_matches, x->n_byte_matches);
}

static void vip_json(struct json *j, const void *item)
{
	const Nsp__Vip *x = item;
	jstr(j, "name", x->name);
	jstr(j, "trench", x->trench);
	jstr(j, "address", x->address);
}

static void attractor_json(struct json *j, const void *item)
{
	const Nsp__Attractor *x = item;
	jstr(j, "name", x->name);
	jstr(j, "trench", x->trench);
	jlist(j, "vips", x->vips, x->n_vips);
	jlist(j, "gateways", x->gateways, x->n_gateways);
	jlist(j, "composites", x->composites, x->n_composites);
	jint(j, "replicas", x->replicas);
}

static void gateway_json(struct json *j, const void *item)
{
	const Nsp__Gateway *x = item;
	jstr(j, "name", x->name);
	jstr(j, "trench", x->trench);
	jstr(j, "address", x->address);
	jstr(j, "ip_family", x->ip_family);
	jstr(j, "protocol", x->protocol);
	json_key(j, "bfd");
	json_bool(j, x->bfd);
	juint(j, "remote_asn", x->remote_asn);
	juint(j, "local_asn", x->local_asn);
	juint(j, "remote_port", x->remote_port);
	juint(j, "local_port", x->local_port);
	juint(j, "hold_time", x->hold_time);
	juint(j, "min_tx", x->min_tx);
	juint(j, "min_rx", x->min_rx);
	juint(j, "multiplier", x->multiplier);
}

static void service_json(struct json *j, const void *item)
{
	const Nsp__Service *x = item;
	jstr(j, "name", x->name);
	jstr(j, "trench", x->trench);
	jlist(j, "addresses", x->addresses, x->n_addresses);
	jstr(j, "policy", x->policy);
	juint(j, "max_instances", x->max_instances);
}

typedef void (*json_fn)(struct json *j, const void *item);

static void jitems(struct json *j, const char *key, void *const *items,
		   size_t n, json_fn fn)
{
	json_key(j, key);
	json_array_begin(j);
	for (size_t i = 0; i < n; i++) {
		json_object_begin(j);
		fn(j, items[i]);
		json_object_end(j);
	}
	json_array_end(j);
}

#define JITEMS(j, key, items, n, fn)                                           \
	jitems(j, key, (void *const *)(items), n, fn)

int ctl_config_json(struct json *j, const Nsp__ConfigResponse *r,
		    enum ctl_kind kind)
{
	json_object_begin(j);
	juint(j, "revision", r->revision);
	if (want(kind, CTL_KIND_TRENCH))
		JITEMS(j, "trenches", r->trenches, r->n_trenches, trench_json);
	if (want(kind, CTL_KIND_CONDUIT))
		JITEMS(j, "conduits", r->conduits, r->n_conduits, conduit_json);
	if (want(kind, CTL_KIND_STREAM))
		JITEMS(j, "streams", r->streams, r->n_streams, stream_json);
	if (want(kind, CTL_KIND_FLOW))
		JITEMS(j, "flows", r->flows, r->n_flows, flow_json);
	if (want(kind, CTL_KIND_VIP))
		JITEMS(j, "vips", r->vips, r->n_vips, vip_json);
	if (want(kind, CTL_KIND_ATTRACTOR))
		JITEMS(j, "attractors", r->attractors, r->n_attractors,
		       attractor_json);
	if (want(kind, CTL_KIND_GATEWAY))
		JITEMS(j, "gateways", r->gateways, r->n_gateways, gateway_json);
	if (want(kind, CTL_KIND_SERVICE))
		JITEMS(j, "services", r->services, r->n_services, service_json);
	return json_object_end(j);
}
