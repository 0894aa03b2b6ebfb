/* The data plane: everything a queue thread needs to place a packet, in one
 * immutable snapshot. Pure; no I/O.
 *
 * The main thread builds a new plane whenever the configuration, the
 * targets or their reachability change, and publishes it with one atomic
 * pointer store (lb/worker.h); a queue thread reads the pointer once per
 * batch of packets, so every packet is placed wholly by the old plane or
 * wholly by the new one. A plane is never changed after it is built except
 * for its counters.
 *
 *   plane
 *     flows        the trench's classifier (lb/flow.h), our streams' flows
 *     flow_stream  flow index -> stream index, or -1 (not one of ours)
 *     streams[]    name, uid, mark offset, Maglev table of its ready targets
 */
#ifndef STRAIT_LB_PLANE_H
#define STRAIT_LB_PLANE_H

#include <stddef.h>
#include <stdint.h>

#include "nsp.pb-c.h"

#include "flow.h"
#include "maglev.h"

struct lb_plane_stream {
	char *name;
	char *conduit;
	uint32_t uid;	 /* lb/marks.h */
	uint32_t offset; /* marks offset + 1 .. offset + max_targets */
	uint32_t max_targets;
	struct maglev *table;
	uint64_t build_ns; /* how long the table took to build */
};

struct lb_plane {
	uint64_t generation;
	struct lb_flows *flows;
	int32_t *flow_stream; /* lb_flows_count(flows) entries */
	size_t n_streams;
	struct lb_plane_stream *streams;
};

/* One stream as the builder gets it: its block and its ready targets. */
struct lb_plane_stream_input {
	const char *name;
	const char *conduit;
	uint32_t uid, offset, max_targets;
	uint32_t table_size; /* 0: maglev_default_size(max_targets) */
	const uint32_t *ids; /* ready targets' identifiers, any order */
	size_t n_ids;
};

struct lb_plane_input {
	uint64_t generation;
	Nsp__Flow *const *flows; /* the trench's flows; those of streams */
	size_t n_flows;		 /* not in streams[] are left out */
	Nsp__Vip *const *vips;
	size_t n_vips;
	const struct lb_plane_stream_input *streams;
	size_t n_streams;
};

/* Builds a plane. Flow counters are carried over from old (may be NULL)
 * for flows of the same name. Returns 0, -EINVAL with the reason in err (a
 * flow the classifier refuses, a table size Maglev refuses), or -ENOMEM. */
int lb_plane_build(const struct lb_plane_input *in, const struct lb_plane *old,
		   struct lb_plane **out, char *err, size_t errlen);

void lb_plane_free(struct lb_plane *p);

/* The stream of uid, or NULL. O(streams). */
const struct lb_plane_stream *lb_plane_stream_by_uid(const struct lb_plane *p,
						     uint32_t uid);

/* The stream a flow sends to, or NULL when the flow is not one of ours. */
static inline const struct lb_plane_stream *
lb_plane_flow_stream(const struct lb_plane *p, const struct lb_flow *fl)
{
	int32_t s = p->flow_stream[lb_flow_index(fl)];
	return s < 0 ? NULL : &p->streams[s];
}

/* True when identifier id is one of the stream's ready targets. */
static inline int lb_plane_target_live(const struct lb_plane_stream *s,
				       uint32_t id)
{
	return id && id <= s->max_targets && maglev_count(s->table, id) > 0;
}

#endif
