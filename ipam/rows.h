/* The rows of IPAM's state: what the pure core (tree.c) reports as changed,
 * what the store (store.c) writes and loads, and what the integrity check
 * reads. One shape serves all three, so the store knows nothing of the
 * tree's internals and the tree nothing of SQLite.
 *
 *   trench    (name, family)                 prefix, conduit_len, node_len
 *   conduit   (trench, name, family)         prefix
 *   node      (trench, conduit, name, family) prefix
 *   child     (trench, conduit, node, name, family)  prefix = address with
 *             the node prefix length, bridge
 *   quarantine (trench, conduit, node, family, address) until_ms: a released
 *             address that may not be handed out before until_ms (wall
 *             clock, milliseconds since the epoch, so that the delay holds
 *             across a restart)
 *
 * Keys are the fields in parentheses; a PUT of an existing key replaces
 * its row, a DEL removes it.
 */
#ifndef STRAIT_IPAM_ROWS_H
#define STRAIT_IPAM_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

enum ipam_row_kind {
	IPAM_ROW_TRENCH,
	IPAM_ROW_CONDUIT,
	IPAM_ROW_NODE,
	IPAM_ROW_CHILD,
	IPAM_ROW_QUARANTINE,
};

struct ipam_row {
	enum ipam_row_kind kind;
	bool del;             /* remove the row with this key */
	int family;           /* AF_INET or AF_INET6 */
	const char *trench;   /* every kind */
	const char *conduit;  /* conduit, node, child, quarantine */
	const char *node;     /* node, child, quarantine */
	const char *name;     /* child; NULL otherwise */
	struct cidr prefix;   /* the prefix, or the address (see above) */
	uint8_t conduit_len;  /* trench rows */
	uint8_t node_len;     /* trench rows */
	bool bridge;          /* child rows */
	uint64_t until_ms;    /* quarantine rows */
};

/* A growable list of rows that a mutating call of the tree appends to.
 * The strings of its rows point into the tree and stay valid until the
 * next mutating call; write them out (ipam_store_apply) before that. */
struct ipam_changes {
	struct ipam_row *rows;
	size_t n, cap;
};

/* Appends a copy of row. Returns 0 or -ENOMEM. */
int ipam_changes_add(struct ipam_changes *c, const struct ipam_row *row);
/* Empties the list, keeping its memory. */
void ipam_changes_reset(struct ipam_changes *c);
void ipam_changes_free(struct ipam_changes *c);

#endif
