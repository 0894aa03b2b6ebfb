/* strait-ipam's shared state and the modules of its I/O shell.
 *
 * The pure core (tree.c, slots.c, spec.c) and the store (store.c) know
 * nothing of this struct; the shell wires them to the loop:
 *   api.c       the Ipam methods, persistence, lease collection
 *   conduits.c  the conduits NSP's configuration knows (with --nsp)
 *   stats.c     the /metrics text
 *   main.c      options, the init chain and its unwind
 */
#ifndef STRAIT_IPAM_IPAM_H
#define STRAIT_IPAM_IPAM_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "buf.h"
#include "daemon.h"
#include "rows.h"
#include "rpc.h"
#include "store.h"
#include "tree.h"

#define IPAM_REASONS (IPAM_BRIDGE_TAKEN + 1)

struct ipam_stats {
	uint64_t allocations; /* new children */
	uint64_t refreshes;   /* Allocate of a child that held its address */
	uint64_t releases;
	uint64_t collected;
	uint64_t errors[IPAM_REASONS]; /* by enum ipam_reason */
};

struct ipam_conduits; /* conduits.c */

struct ipam {
	uv_loop_t *loop;
	struct ipam_tree *tree;
	struct ipam_store *store;
	struct ipam_changes changes; /* scratch for one call's rows */
	uint64_t collect_ms;
	uv_timer_t collector;
	struct rpc_server *rpc;
	struct ipam_conduits *conduits; /* NULL without --nsp */
	struct ipam_stats stats;
	int exit_code;
};

/* Wall-clock milliseconds (quarantine) and loop milliseconds (leases). */
uint64_t ipam_wall_ms(void);
uint64_t ipam_now_ms(struct ipam *p);

/* api.c */
extern const struct rpc_method ipam_methods[];
extern const size_t ipam_n_methods;
/* Writes p->changes to the store and empties it; on failure stops the
 * daemon (exit 1). Returns 0 or -EIO. */
int ipam_persist(struct ipam *p);
int ipam_collector_start(struct ipam *p);
void ipam_collector_stop(struct ipam *p);

/* conduits.c: follows NSP's conduits so that Allocate refuses a conduit
 * the configuration does not have. */
int ipam_conduits_start(struct ipam *p, const struct sockaddr *nsp);
void ipam_conduits_stop(struct ipam *p);
/* True when NSP has answered at least once. */
bool ipam_conduits_ready(const struct ipam *p);

/* stats.c */
void ipam_stats_collect(struct buf *out, void *ipam);

#endif
