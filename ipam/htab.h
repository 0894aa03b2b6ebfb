/* A hash table from strings to pointers, for the tree's O(1) lookups.
 *
 * Pure; no I/O. Open addressing with linear probing over a power-of-two
 * array kept at most half full; deletion shifts the following entries back
 * instead of leaving tombstones, so a table that churns never degrades.
 * The table stores the caller's key pointer and hash (XXH3_64bits of the
 * key, see ipam_htab_hash): the key must stay valid and unchanged while its
 * entry is in the table (the tree keeps it in the element itself).
 */
#ifndef STRAIT_IPAM_HTAB_H
#define STRAIT_IPAM_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct ipam_hent {
	uint64_t hash;
	const char *key; /* NULL: an empty slot */
	void *val;
};

/* An empty table is a zeroed struct; it allocates on first reserve. */
struct ipam_htab {
	struct ipam_hent *e;
	size_t n, cap;
};

uint64_t ipam_htab_hash(const char *key);

/* Makes room for `extra` more entries, so that that many ipam_htab_put
 * calls cannot fail. 0 or -ENOMEM (the table is unchanged). */
int ipam_htab_reserve(struct ipam_htab *h, size_t extra);

/* The value stored under key, or NULL. */
void *ipam_htab_get(const struct ipam_htab *h, const char *key,
		   uint64_t hash);

/* Stores val under key, which must not be in the table yet. The caller
 * has reserved room. */
void ipam_htab_put(struct ipam_htab *h, const char *key, uint64_t hash,
		   void *val);

/* Removes key's entry; nothing happens when there is none. */
void ipam_htab_del(struct ipam_htab *h, const char *key, uint64_t hash);

void ipam_htab_destroy(struct ipam_htab *h);

#endif
