/* Queue threads: one per NFQUEUE queue, each with its own libuv loop,
 * connection table and fragment table; the main thread publishes data
 * planes for them to read.
 *
 * Publishing (quiescent-state reclamation):
 *
 *   main                                  queue thread, per readable event
 *   new = build();                        in = 1
 *   old = exchange(&plane, new)           p = load(&plane)
 *   retire(old): remember every thread's    ... place a batch with p ...
 *     epoch                               in = 0; epoch++
 *   free(old) once each thread has, since then, been seen with in == 0
 *     or has a new epoch
 *
 * All accesses of `plane`, `in` and `epoch` are sequentially consistent, so
 * a thread seen outside a batch after the exchange can only load the new
 * plane in its next batch. A thread with nothing to do is outside a batch,
 * so an idle queue never holds up a free.
 *
 * Packets. Each is parsed (lib/packet.h); a fragment after the first
 * follows its datagram (lib/fragtab.h); any other packet is classified
 * (lb/flow.h) into a flow and so a stream, whose connection-table entry
 * (lib/conntab.h) or else Maglev table gives the target. The verdict is
 * ACCEPT with the target's mark (lb/marks.h), or DROP with a reason.
 *
 * Counters are per thread, written only by it with relaxed atomic stores
 * and read by the main thread with relaxed atomic loads.
 */
#ifndef STRAIT_LB_WORKER_H
#define STRAIT_LB_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "conntab.h"
#include "fragtab.h"
#include "nfq.h"
#include "plane.h"

enum lb_drop_reason {
	LB_DROP_MALFORMED,    /* the IP header does not parse */
	LB_DROP_NO_FLOW,      /* no flow of ours matches */
	LB_DROP_NO_TARGET,    /* the flow's stream has no ready target */
	LB_DROP_FRAG_REFUSED, /* a fragment beyond the fragment table's bounds */
	LB_DROP_FRAG_TIMEOUT, /* held fragments whose first never came */
	LB_DROP_NCOUNT,
};

const char *lb_drop_reason_name(enum lb_drop_reason r);

struct lb_worker_stats {
	_Atomic uint64_t accepted;
	_Atomic uint64_t dropped[LB_DROP_NCOUNT];
	_Atomic uint64_t conn_hits;   /* placed by the connection table */
	_Atomic uint64_t maglev;      /* placed by Maglev */
	_Atomic uint64_t frag_follow; /* fragments sent after their first */
	_Atomic uint64_t icmp_errors; /* ICMP errors placed by their flow */
};

/* What chose the target of an accepted packet (lb_worker_totals). */
enum lb_placed {
	LB_PLACED_CONNTAB,
	LB_PLACED_MAGLEV,
	LB_PLACED_FRAGMENT,
	LB_PLACED_ICMP_ERROR, /* also counted in one of the others */
	LB_PLACED_NCOUNT,
};

const char *lb_placed_name(enum lb_placed p);

struct lb_totals {
	uint64_t accepted;
	uint64_t dropped[LB_DROP_NCOUNT];
	uint64_t placed[LB_PLACED_NCOUNT];
};

/* The part of the LB the queue threads share. */
struct lb_shared {
	_Atomic(struct lb_plane *) plane; /* may be NULL: drop everything */
	uint32_t mark_base, mark_span;    /* per-mark counters cover these */
};

struct lb_worker_config {
	uint16_t queue;
	struct lb_nfq_config nfq;
	bool conntab; /* false: Maglev alone */
	struct conntab_config conns;
	struct fragtab_config frags; /* drop, ctx: set by the worker */
};

struct lb_worker;

/* Opens the queue (the error names why it cannot be bound), creates the
 * tables and starts the thread. Returns 0 or a negative errno. */
int lb_worker_start(struct lb_shared *shared,
		    const struct lb_worker_config *cfg, struct lb_worker **out,
		    char *err, size_t errlen);

/* Stops the thread, unbinds the queue and frees everything. NULL is fine. */
void lb_worker_stop(struct lb_worker *w);

uint16_t lb_worker_queue(const struct lb_worker *w);

/* Reading a thread's state from another thread. */
const struct lb_worker_stats *lb_worker_stats(const struct lb_worker *w);
/* Copies of the thread's queue and table counters, as of its last batch
 * or timer tick (taken under a mutex the thread holds only to copy). */
void lb_worker_snapshot(const struct lb_worker *w, struct lb_nfq_stats *nfq,
			struct conntab_stats *conns,
			struct fragtab_stats *frags);
/* Packets accepted with mark (mark_base <= mark < mark_base + mark_span),
 * else 0. */
uint64_t lb_worker_mark_packets(const struct lb_worker *w, uint32_t mark);

/* lb_worker_mark_packets summed over n threads. */
uint64_t lb_worker_mark_total(struct lb_worker *const *w, size_t n,
			      uint32_t mark);

/* The counters of n threads, summed (relaxed loads). */
void lb_worker_totals(struct lb_worker *const *w, size_t n,
		      struct lb_totals *out);

/* For the reclamation above. */
bool lb_worker_quiescent_since(const struct lb_worker *w, uint64_t epoch);
uint64_t lb_worker_epoch(const struct lb_worker *w);

#endif
