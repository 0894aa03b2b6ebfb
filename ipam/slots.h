/* A set of used indexes in [lo, hi] that hands out the lowest free one.
 *
 * Pure; no I/O. IPAM uses one per level of its tree: the conduit prefixes
 * of a trench, the node prefixes of a conduit and the addresses of a node.
 * An index is a uint64_t, so a set can span a v6 /64 node (2^64 indexes);
 * what it costs depends on how many runs of used indexes it holds, never
 * on the span.
 *
 * The set is an array of runs of consecutive used indexes, kept disjoint,
 * never adjacent (touching runs are merged) and sorted DESCENDING:
 *
 *   lo                                                          hi
 *   [####]  [##########]     [#]        [#######]
 *   runs[3] runs[2]          runs[1]    runs[0]
 *
 * Why runs: lowest-first allocation keeps the used indexes in a few long
 * runs (100,000 children allocated in a row are one run of 16 bytes), and
 * holes left by releases are the first to be refilled, so the number of
 * runs r stays near the number of holes. Why descending: every allocation
 * happens at the low end, which is the END of the array, so taking the
 * lowest free index (extending the lowest run, or merging it with the next
 * when a hole closes) moves nothing: O(1). A specific take, a release and
 * is_used find their run by binary search, O(log r), and an insert or a
 * removal in the middle moves the runs below it, O(r) in the worst case.
 * We deliberately do not use a balanced tree: the worst case needs r in
 * the tens of thousands (every other index released), where the memmove is
 * still tens of microseconds, and a bitmap cannot span a /64.
 *
 * Quarantined indexes are simply used: the set knows nothing of why an
 * index is taken.
 */
#ifndef STRAIT_IPAM_SLOTS_H
#define STRAIT_IPAM_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ipam_slot_run {
	uint64_t first, last; /* both used, first <= last */
};

struct ipam_slots {
	uint64_t lo, hi;	    /* the span, lo <= hi */
	struct ipam_slot_run *runs; /* descending, see above */
	size_t n, cap;
	uint64_t count; /* used indexes */
};

/* Makes s an empty set over [lo, hi] (lo <= hi). Allocates nothing. */
void ipam_slots_init(struct ipam_slots *s, uint64_t lo, uint64_t hi);

/* Frees the set's memory and leaves it empty over the same span. */
void ipam_slots_destroy(struct ipam_slots *s);

/* Makes room so that the next `extra` takes and releases cannot fail with
 * -ENOMEM (each adds at most one run); callers that must not fail half-way
 * reserve first. 0 or -ENOMEM. */
int ipam_slots_reserve(struct ipam_slots *s, size_t extra);

/* The lowest free index, without taking it. 0, or -ENOSPC when every
 * index of the span is used. */
int ipam_slots_lowest(const struct ipam_slots *s, uint64_t *idx);

/* Takes the lowest free index and stores it in *idx. 0, -ENOSPC when the
 * set is full, or -ENOMEM (the set is unchanged). */
int ipam_slots_take_lowest(struct ipam_slots *s, uint64_t *idx);

/* Takes idx. 0, -ERANGE when idx is outside [lo, hi], -EEXIST when it is
 * used already, or -ENOMEM; on error the set is unchanged. */
int ipam_slots_take(struct ipam_slots *s, uint64_t idx);

/* Frees idx. 0, -ERANGE outside the span, -ENOENT when it was not used,
 * or -ENOMEM (releasing from the middle of a run splits it); on error the
 * set is unchanged. */
int ipam_slots_release(struct ipam_slots *s, uint64_t idx);

/* True when idx is used. False outside the span. */
bool ipam_slots_used(const struct ipam_slots *s, uint64_t idx);

/* How many indexes are used. */
static inline uint64_t ipam_slots_count(const struct ipam_slots *s)
{
	return s->count;
}

#endif
