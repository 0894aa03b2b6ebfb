/* strait-lb, the daemon: what its main-thread modules share.
 *
 *   nspwatch.c  NSP's configuration and target watches -> lb->config,
 *               lb->targets; then lb_schedule()
 *   apply.c     the reconciliation lb_schedule() runs: mark blocks,
 *               policy routes (routes.c), the next data plane, its
 *               publication and the old plane's reclamation, the iptables
 *               chain (rules.c)
 *   worker.c    the queue threads (the data path)
 *   control.c   the control socket (straitctl lb)
 *   stats.c     /metrics
 *
 * Everything here belongs to the main thread; the queue threads see only
 * lb->shared and their own worker.
 */
#ifndef STRAIT_LB_LB_H
#define STRAIT_LB_LB_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "cidr.h"
#include "nsp.pb-c.h"
#include "rpc.h"
#include "rtnl.h"

#include "marks.h"
#include "worker.h"

/* A target of one of our streams, as NSP last told. */
struct lb_target {
	char *key;    /* "stream|ip,ip": NSP's key within our trench+conduit */
	char *stream;
	char **ips;   /* as registered, "198.19.1.2/24" */
	size_t n_ips;
	uint32_t id;
	bool enabled;
	struct cidr addr[2]; /* [0] IPv4, [1] IPv6; family 0 when none */

	/* Routing (routes.c): the mark whose rule and table now lead to
	 * this target, 0 when none; ready once every family it has an
	 * address of is routed. */
	uint32_t mark;
	bool routed[2];
	bool ready;
	char waiting[320]; /* why it is not ready, for straitctl */
	bool seen;	   /* scratch for apply.c */
};

struct lb_options {
	const char *nsp, *trench, *conduit;
	const char *chain;
	const char *control, *metrics;
	uint16_t queue_first, queue_last;
	bool fail_open;
	bool conntab;
	uint32_t table_size; /* 0: per stream, 100 x max-targets */
	uint32_t mark_base, mark_span;
	uint32_t rule_priority;
	uint32_t copy_range;   /* bytes of each packet read */
	uint32_t queue_length; /* 0: lb/nfq's default */
	struct conntab_config conns;
	struct fragtab_config frags;
	uint32_t keepalive_ms, dead_ms;
	/* --register: the LB's addresses as a FRONTEND; --netns: its
	 * namespace's path, in the registration's context. */
	const char *register_ips[8];
	size_t n_register_ips;
	const char *netns;
};

struct lb_rebuild_stats {
	uint64_t planes;	/* planes published */
	uint64_t failures;	/* configurations the builder refused */
	uint64_t tables;	/* Maglev tables built */
	uint64_t table_ns_sum;	/* their build time */
	uint64_t last_plane_ns; /* the last whole plane's build time */
	uint64_t rules_applied, rules_failed;
	uint64_t routes_added, routes_removed, routes_failed;
	uint64_t freed;		/* old planes reclaimed */
};

struct lb_retired {
	struct lb_plane *plane;
	uint64_t *epochs; /* one per worker, at retirement */
	struct lb_retired *next;
};

struct lb {
	uv_loop_t *loop;
	const struct lb_options *opt;
	int exit_code;

	/* NSP (nspwatch.c) */
	struct rpc_client *nsp;
	Nsp__ConfigResponse *config; /* the last answer, NULL before one */
	uv_timer_t frontend_timer;   /* frontend.c: refresh */
	bool registered;
	bool targets_synced;
	uint64_t targets_revision, targets_store;
	struct lb_target **targets;
	size_t n_targets;
	struct lb_target **gone; /* removed, unrouted after the next plane */
	size_t n_gone;
	struct lb_target **pending; /* a snapshot being received */
	size_t n_pending;
	bool in_snapshot;

	/* apply.c */
	uv_timer_t apply_timer;
	uv_timer_t retry_timer; /* waiting targets, failed rules */
	uv_timer_t reclaim_timer;
	struct lb_marks marks;
	struct rtnl *rtnl;
	uint64_t generation;
	char *vips_applied; /* the VIP list the chain holds, NULL: none yet */
	bool rules_dirty;
	struct lb_retired *retired;
	struct lb_rebuild_stats rebuild;
	char last_error[256];

	struct lb_shared shared;
	struct lb_worker **workers;
	size_t n_workers;

	struct rpc_server *control;
};

/* nspwatch.c */
int lb_nsp_start(struct lb *lb, const struct sockaddr *addr);
void lb_nsp_stop(struct lb *lb);
void lb_target_free(struct lb_target *t);

/* frontend.c: the LB's own FRONTEND registration (--register) */
void lb_frontend_start(struct lb *lb);
void lb_frontend_register(struct lb *lb); /* now; on every NSP connect */
void lb_frontend_stop(struct lb *lb);	  /* unregisters, runs the loop */

/* apply.c */
int lb_apply_init(struct lb *lb, char *err, size_t errlen);
/* A target NSP no longer has (or replaced): its routes go once a plane
 * without it is published. Takes t. */
void lb_target_gone(struct lb *lb, struct lb_target *t);
/* Reconciles soon (coalescing bursts of changes into one plane). */
void lb_schedule(struct lb *lb);
/* Removes the chain (no packet is queued any more) and stops reconciling. */
void lb_apply_unqueue(struct lb *lb);
/* After the queue threads stopped: removes the chain if still there, the
 * rules and the routes; frees the planes. */
void lb_apply_fini(struct lb *lb);
/* Removes what an earlier run in this namespace left. */
int lb_cleanup_stale(const struct lb_options *o, char *err, size_t errlen);

/* routes.c */
int lb_route_target(struct lb *lb, struct lb_target *t, uint32_t mark);
void lb_unroute_target(struct lb *lb, struct lb_target *t);
int lb_routes_flush_range(struct rtnl *r, uint32_t lo, uint32_t hi, char *err,
			  size_t errlen);

/* control.c */
int lb_control_start(struct lb *lb, const struct sockaddr *addr);
void lb_control_stop(struct lb *lb);

/* stats.c */
struct buf;
void lb_stats_collect(struct buf *out, void *data);

/* The current plane (main thread: it is the only writer). */
static inline struct lb_plane *lb_plane_now(struct lb *lb)
{
	return atomic_load(&lb->shared.plane);
}

#endif
