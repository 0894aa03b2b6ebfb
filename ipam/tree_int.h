/* The inside of struct ipam_tree, shared by tree.c (allocation, release,
 * leases, quarantine), restore.c (loading and the integrity check) and
 * walk.c (List and Tree). Nothing outside ipam/tree*.c, restore.c and
 * walk.c may include it.
 *
 *   ipam_tree
 *    ├ tab        every trench, conduit, node and child by its key
 *    ├ trenches   sorted by (name, family)
 *    │  └ conduits  sorted by index          ipam_slots of conduit indexes
 *    │     └ nodes    sorted by index        ipam_slots of node indexes
 *    │        ├ children (any order)         ipam_slots of offsets 2..last-1
 *    │        ├ bridge (offset 1, or NULL)
 *    │        └ quar: a min-heap by until_ms of quarantined offsets
 *    ├ leases      non-bridge children, least recently refreshed first
 *    ├ quarantined nodes whose quarantine heap is not empty
 *    └ dead        children removed by the last mutating call, whose
 *                  strings its rows still point to
 *
 * Keys are the family digit and the names joined with '|', which no name
 * may hold: "4|trench", "4|trench|conduit", "4|trench|conduit|node",
 * "4|trench|conduit|node|child". An element's name is the tail of its own
 * key, so each element holds one string.
 */
#ifndef STRAIT_IPAM_TREE_INT_H
#define STRAIT_IPAM_TREE_INT_H

#include "htab.h"
#include "list.h"
#include "slots.h"
#include "tree.h"

/* A key's longest text: the family, four names and their separators. */
#define IPAM_KEY_MAX (2 + 4 * (IPAM_NAME_MAX + 1) + 1)

typedef unsigned __int128 ipam_u128;

struct ipam_trench {
	struct list_node link; /* in tree->trenches */
	char *key;
	const char *name;
	uint64_t hash;
	int family;
	struct ipam_family_spec spec;
	bool live;		    /* has a tree, and so a stored row */
	struct ipam_slots conduits; /* conduit indexes in the prefix */
	struct list_node conduit_list;
};

struct ipam_conduit {
	struct list_node link; /* in trench->conduit_list */
	struct ipam_trench *trench;
	char *key;
	const char *name;
	uint64_t hash;
	uint64_t index;
	struct cidr prefix;
	struct ipam_slots nodes; /* node indexes in the prefix */
	struct list_node node_list;
};

struct ipam_quar {
	uint64_t until_ms;
	uint64_t offset;
};

struct ipam_node {
	struct list_node link; /* in conduit->node_list */
	struct ipam_conduit *conduit;
	char *key;
	const char *name;
	uint64_t hash;
	uint64_t index;
	struct cidr prefix;
	uint64_t last;		  /* the last offset, never handed out */
	struct ipam_slots addrs;  /* offsets 2..last-1: children, quarantine */
	struct ipam_child *bridge; /* holds offset 1, or NULL */
	struct list_node children;
	size_t n_children; /* live, the bridge included */
	struct ipam_quar *quar; /* min-heap by until_ms */
	size_t nq, qcap;
	struct list_node qlink; /* in tree->quarantined while nq > 0 */
};

struct ipam_child {
	struct list_node link;	/* in node->children, or tree->dead */
	struct list_node lease; /* in tree->leases unless a bridge */
	struct ipam_node *node;
	char *key;
	const char *name;
	uint64_t hash;
	uint64_t offset;
	uint64_t refreshed_ms;
	bool bridge;
};

struct ipam_tree {
	struct ipam_tree_config cfg; /* defaults filled in */
	struct ipam_htab tab;
	struct list_node trenches;
	struct list_node leases;
	struct list_node quarantined;
	struct list_node dead;
	size_t n_children;
	bool (*known)(void *ctx, const char *trench, const char *conduit);
	void *known_ctx;
};

/* ---- shared helpers (elems.c) ---- */

/* Writes the key of the names (1 to 4 of them) into buf (IPAM_KEY_MAX). */
void ipam_key(char *buf, int family, const char *const *names, size_t n);

/* The family's default spec. */
const struct ipam_family_spec *ipam_default_spec(const struct ipam_tree *t,
						 int family);

bool ipam_spec_equal(const struct ipam_family_spec *a,
		     const struct ipam_family_spec *b);

/* "IPv4" or "IPv6". */
const char *ipam_family_name(int family);

/* A new trench, conduit or node element, not linked anywhere; NULL when
 * out of memory. key is copied. */
struct ipam_trench *ipam_trench_alloc(const char *key, int family,
				      const struct ipam_family_spec *spec);
struct ipam_conduit *ipam_conduit_alloc(const char *key,
					struct ipam_trench *tr, uint64_t index);
struct ipam_node *ipam_node_alloc(const char *key, struct ipam_conduit *co,
				  uint64_t index);
struct ipam_child *ipam_child_alloc(const char *key, struct ipam_node *no,
				    uint64_t offset, bool bridge);

/* Frees an element and everything below it (children of a node, nodes of
 * a conduit, ...). It must be unlinked, or its whole tree being freed.
 * NULL is fine. */
void ipam_trench_free(struct ipam_trench *tr);
void ipam_conduit_free(struct ipam_conduit *co);
void ipam_node_free(struct ipam_node *no);
void ipam_child_free(struct ipam_child *ch);

/* Links a new element into the table (room reserved) and into its
 * parent's list in order. */
void ipam_trench_link(struct ipam_tree *t, struct ipam_trench *tr);
void ipam_conduit_link(struct ipam_tree *t, struct ipam_conduit *co);
void ipam_node_link(struct ipam_tree *t, struct ipam_node *no);

/* The span of sub-prefix indexes of a prefix of len cut into sub_len: the
 * last index, 2^(sub_len - len) - 1 saturated at UINT64_MAX. */
uint64_t ipam_last_index(unsigned len, unsigned sub_len);

/* The address as a number, and back (keeping family and len). */
ipam_u128 ipam_addr_get(const struct cidr *c);
void ipam_addr_set(struct cidr *c, ipam_u128 v);

/* The address of offset in the node's prefix, with the node's length. */
struct cidr ipam_node_addr(const struct ipam_node *no, uint64_t offset);

/* Pushes a quarantine entry; room reserved (ipam_quar_reserve). Links the
 * node into tree->quarantined when its heap was empty. */
int ipam_quar_reserve(struct ipam_node *no);
void ipam_quar_push(struct ipam_tree *t, struct ipam_node *no,
		    uint64_t offset, uint64_t until_ms);

/* Removes and returns the entry with the lowest until_ms (nq > 0); the
 * node leaves tree->quarantined when its heap empties. */
struct ipam_quar ipam_quar_pop(struct ipam_node *no);

static inline bool ipam_quar_expired(const struct ipam_node *no,
				     uint64_t wall_ms)
{
	return no->nq > 0 && no->quar[0].until_ms <= wall_ms;
}

/* Rows: room for k more rows in c, or -ENOMEM with c unchanged. */
int ipam_rows_reserve(struct ipam_changes *c, size_t k);

#endif
