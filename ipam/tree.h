/* The address tree of strait-ipam: the pure allocator core.
 *
 * Pure: no I/O, no clock, no logging. Functions that need the time take
 *   now_ms   a monotonic clock (leases), never going backwards between
 *            calls, and
 *   wall_ms  the wall clock in milliseconds since the epoch (quarantine,
 *            which is stored and must hold across a restart).
 * Single-threaded: the caller serialises every call.
 *
 * One tree per (trench, family); the IPv4 and IPv6 trees are independent:
 *
 *   trench   169.255.0.0/16                (name, family)
 *    └ conduit 169.255.16.0/20  lb         lowest free /20 of the trench
 *       └ node  169.255.17.0/24 node-2     lowest free /24 of the conduit
 *          ├ offset 0     network          never handed out
 *          ├ offset 1     bridge           only to a child with bridge=true
 *          ├ offset 2 ..  children         lowest free first
 *          └ last offset  broadcast/last   never handed out
 *
 * A trench's tree is created on its first allocation (or by
 * ipam_conduit_ensure), a conduit's prefix when it first appears, a node's
 * prefix on its first allocation. Prefixes are never given back: a node
 * or conduit stays until the store is wiped.
 *
 * Every mutating call appends to a struct ipam_changes (ipam/rows.h) the
 * rows the store must write, in an order the store can apply as given
 * (parents before children, a quarantine DEL before the child PUT that
 * reuses its address). In child and quarantine rows the address carries
 * its node prefix length ("169.255.17.5/24"), as ipam_tree_restore wants
 * it back. The strings of those rows point into the tree and
 * stay valid until the next mutating call (also for the rows of a child
 * that was just removed). Every call either succeeds with all its rows
 * appended, or fails having changed neither the tree nor *changes.
 *
 * Mutating calls: ipam_tree_set_trench, ipam_allocate, ipam_conduit_ensure,
 * ipam_release, ipam_collect, ipam_purge, ipam_tree_restore.
 *
 * Costs: a child is found by its key in O(1) (XXH3 hash table); allocating
 * is O(1) amortised plus the expired quarantine of that node (see
 * ipam/slots.h for the index sets); collecting leases is O(collected).
 */
#ifndef STRAIT_IPAM_TREE_H
#define STRAIT_IPAM_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "rows.h"
#include "spec.h"

#define IPAM_DEFAULT_LEASE_MS (40 * 60 * 1000ull)
#define IPAM_DEFAULT_REUSE_DELAY_MS (120 * 1000ull)

struct ipam_tree_config {
	/* The tree of a trench without its own (ipam_tree_set_trench). A
	 * zeroed spec means Meridio's default: 169.255.0.0/16:20:24 for v4,
	 * fd00::/48:56:64 for v6. Not checked here: a spec that cannot form
	 * a tree makes each allocation in it fail with prefix_cannot_fit. */
	struct ipam_family_spec v4, v6;
	/* A child not allocated again for lease_ms is collected; 0 = 40 min. */
	uint64_t lease_ms;
	/* A released or collected address waits this long before it is
	 * handed out again; 0 = 120 s. */
	uint64_t reuse_delay_ms;
};

struct ipam_tree;

/* Creates an empty tree; the config is copied. NULL when out of memory. */
struct ipam_tree *ipam_tree_new(const struct ipam_tree_config *cfg);

/* Frees the tree and everything it holds. NULL is fine. */
void ipam_tree_free(struct ipam_tree *t);

/* Gives trench its own tree shape for one family (AF_INET or AF_INET6)
 * instead of the default. Call it before the trench's first allocation or
 * restore; later, the same shape again is accepted and a different one is
 * refused with -EBUSY. Returns 0, or -EINVAL (bad name, family, or a spec
 * that fails ipam_spec_check), -EBUSY, -ENOMEM; err names the value. */
int ipam_tree_set_trench(struct ipam_tree *t, const char *trench, int family,
			 const struct ipam_family_spec *fs, char *err,
			 size_t errlen);

/* Optional: called when an allocation (or ipam_conduit_ensure) meets a
 * conduit that is not in the tree yet; returning false refuses it with
 * unknown_conduit. The daemon asks NSP's configuration (--nsp). NULL, the
 * default, accepts every conduit. Must not call the tree. */
void ipam_tree_set_conduit_check(struct ipam_tree *t,
				 bool (*known)(void *ctx, const char *trench,
					       const char *conduit),
				 void *ctx);

/* Why a call failed, as rpc.Status.reason (docs/ipam.md). */
enum ipam_reason {
	IPAM_OK,
	IPAM_NAME_INVALID,
	IPAM_FAMILY_INVALID,
	IPAM_UNKNOWN_CONDUIT,
	IPAM_PREFIX_CANNOT_FIT,
	IPAM_TRENCH_FULL,
	IPAM_CONDUIT_FULL,
	IPAM_NODE_FULL,
	IPAM_BRIDGE_TAKEN,
};

/* "name_invalid", "family_invalid", "unknown_conduit", "prefix_cannot_fit",
 * "trench_prefix_full", "conduit_prefix_full", "node_prefix_full",
 * "bridge_taken"; "" for IPAM_OK and any other value. */
const char *ipam_reason_name(enum ipam_reason r);

/* A child's key. The strings are the caller's and only read. */
struct ipam_child_ref {
	const char *trench, *conduit, *node, *name;
	int family; /* AF_INET or AF_INET6 */
};

struct ipam_result {
	struct cidr address;	 /* the child's address, node prefix length */
	struct cidr node_prefix; /* host bits clear */
	struct cidr gateway;	 /* the node's bridge address (offset 1),
				  * full width, whether or not it is held */
	bool created;		 /* false: a repeat (a lease refresh) */
};

/* Allocates the child's address, or returns the one it holds.
 *
 * A new child gets the lowest free address of its node prefix (offset 2 up
 * to the one before last), or offset 1 when bridge is true; the trench,
 * conduit and node are created on the way when missing, each taking the
 * lowest free prefix of its parent. Expired quarantine entries of the node
 * are purged first (a quarantine DEL each), so they count as free. Rows
 * appended: trench, conduit and node PUTs when created, the quarantine
 * DELs, the child PUT.
 *
 * A child that exists already gets its address back with created false
 * and nothing appended: its lease restarts at now_ms (bridges have no
 * lease). The key decides: a repeat gets the address held whatever its
 * bridge flag says; to change it, release first.
 *
 * Errors (*reason set, err names the value; nothing changed):
 *   -EINVAL  IPAM_NAME_INVALID, IPAM_FAMILY_INVALID
 *   -ENOENT  IPAM_UNKNOWN_CONDUIT (only with a conduit check)
 *   -EDOM    IPAM_PREFIX_CANNOT_FIT: the trench's spec fails
 *            ipam_spec_check
 *   -ENOSPC  IPAM_TRENCH_FULL, IPAM_CONDUIT_FULL, IPAM_NODE_FULL
 *   -EEXIST  IPAM_BRIDGE_TAKEN: another child holds the node's bridge
 *   -ENOMEM  *reason IPAM_OK
 * reason, err and out may be NULL. */
int ipam_allocate(struct ipam_tree *t, const struct ipam_child_ref *ref,
		  bool bridge, uint64_t now_ms, uint64_t wall_ms,
		  struct ipam_changes *changes, struct ipam_result *out,
		  enum ipam_reason *reason, char *err, size_t errlen);

/* Creates the conduit (and its trench) if missing, as an allocation would,
 * and stores its prefix in *prefix (may be NULL). For a daemon that lays
 * out the conduits of NSP's configuration before any child asks. Appends
 * the trench and conduit PUTs when created. The conduit check is
 * consulted. Errors as ipam_allocate: -EINVAL, -ENOENT, -EDOM, -ENOSPC
 * (IPAM_TRENCH_FULL), -ENOMEM. ref->node and ref->name are ignored. */
int ipam_conduit_ensure(struct ipam_tree *t, const struct ipam_child_ref *ref,
			struct ipam_changes *changes, struct cidr *prefix,
			enum ipam_reason *reason, char *err, size_t errlen);

/* Releases the child. When it existed: *existed true, *address its address
 * (node prefix length), a child DEL and, unless it was the bridge, a
 * quarantine PUT until wall_ms + reuse delay. A bridge's address is free
 * at once: it only ever goes to the next bridge of the same node, so a
 * stale neighbour entry still finds the node's gateway. When it did not
 * exist: *existed false, nothing appended. Returns 0, -EINVAL (a name or
 * the family is invalid; err says which) or -ENOMEM (nothing changed).
 * existed and address may be NULL. */
int ipam_release(struct ipam_tree *t, const struct ipam_child_ref *ref,
		 uint64_t wall_ms, struct ipam_changes *changes, bool *existed,
		 struct cidr *address, char *err, size_t errlen);

/* Collects every non-bridge child whose lease ran out at now_ms (its last
 * allocation at or before now_ms - lease), least recently refreshed first:
 * each becomes a child DEL and a quarantine PUT until wall_ms + reuse
 * delay. Then purges expired quarantine as ipam_purge does. Returns how
 * many children were collected. Out of memory it stops early and leaves
 * the rest for the next call (rows and tree always agree). O(collected). */
size_t ipam_collect(struct ipam_tree *t, uint64_t now_ms, uint64_t wall_ms,
		    struct ipam_changes *changes);

/* Frees every quarantined address whose until_ms <= wall_ms, with a
 * quarantine DEL each, so that walks report exact figures. Allocation
 * does this by itself for the node it allocates in. Returns how many.
 * Out of memory it stops early, as ipam_collect. */
size_t ipam_purge(struct ipam_tree *t, uint64_t wall_ms,
		  struct ipam_changes *changes);

/* When the next lease runs out (a refresh time plus the lease), or
 * UINT64_MAX when no child has a lease. For arming the collector. */
uint64_t ipam_next_expiry(const struct ipam_tree *t);

/* Applies one row loaded from the store at start-up. Rows must come
 * trench, conduit, node, child, quarantine (a row's parents first); leases
 * start at now_ms. This is where the Arktos/Mizar integrity check happens:
 * a row that breaks a rule is refused, with err naming the row and the
 * rule, and the daemon refuses to start.
 *   -EINVAL  a DEL row, an invalid name or family, a prefix of the wrong
 *            length or with host bits set, a parent row missing, a trench
 *            whose stored shape differs from the configured one
 *   -ERANGE  a prefix outside its parent's prefix, an address on the
 *            network, bridge (for a non-bridge child) or last offset, a
 *            bridge not on offset 1
 *   -EEXIST  a key twice, two prefixes of one parent overlapping, two
 *            children (or a child and a quarantine entry) on one address
 *   -ENOMEM
 * A refused row changes nothing. No rows are produced. */
int ipam_tree_restore(struct ipam_tree *t, const struct ipam_row *row,
		      uint64_t now_ms, char *err, size_t errlen);

/* ---- read-only walks, for List, Tree and /metrics ----
 * The callbacks must not call a mutating function of the tree. Views and
 * their strings are valid during the callback only. */

/* Matches children; NULL or "" strings and family 0 match any. */
struct ipam_filter {
	const char *trench, *conduit, *node;
	int family;
};

struct ipam_child_view {
	const char *trench, *conduit, *node, *name;
	int family;
	struct cidr address; /* node prefix length */
	bool bridge;
	uint64_t refreshed_ms; /* last allocation (now_ms); 0 for a bridge */
};

/* Calls fn for each child passing f (NULL = all): trenches by name (IPv4
 * before IPv6), conduits and nodes by prefix, a node's children by
 * address. Returns how many were visited. */
size_t ipam_tree_walk_children(const struct ipam_tree *t,
			       const struct ipam_filter *f,
			       void (*fn)(const struct ipam_child_view *v,
					  void *data),
			       void *data);

enum ipam_level {
	IPAM_LEVEL_TRENCH,
	IPAM_LEVEL_CONDUIT,
	IPAM_LEVEL_NODE,
};

/* One prefix and its use (ipam.PrefixUsage). For a trench capacity is the
 * number of conduit prefixes it can hold and used those taken; for a
 * conduit the same with node prefixes; for a node capacity is its usable
 * addresses (all but the network and last, the bridge included, so 254
 * for a /24), used its live children (the bridge included) and quarantined
 * the addresses waiting out the reuse delay (unpurged expired ones too;
 * call ipam_purge first for exact figures). A capacity above UINT64_MAX
 * is reported as UINT64_MAX. */
struct ipam_prefix_view {
	enum ipam_level level;
	const char *trench, *conduit, *node; /* conduit/node NULL above */
	int family;
	struct cidr prefix;
	uint64_t capacity, used, quarantined;
};

/* Calls fn for every prefix of the trenches named trench (NULL or "" =
 * all), depth first: a trench, then each of its conduits followed by its
 * nodes, in the order of ipam_tree_walk_children. Trenches with a shape
 * but no tree yet are not visited. */
void ipam_tree_walk_prefixes(const struct ipam_tree *t, const char *trench,
			     void (*fn)(const struct ipam_prefix_view *v,
					void *data),
			     void *data);

/* The number of live children (bridges included). */
size_t ipam_tree_children(const struct ipam_tree *t);

#endif
