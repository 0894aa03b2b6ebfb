/* A set of identifiers 1..N of one stream, with the holder of each.
 *
 * Pure; no I/O. A bitmap answers "lowest free identifier" in O(N/64) word
 * tests; a parallel array of holder pointers answers "who has identifier i"
 * in O(1), so a refused registration can name the target in its way.
 *
 *   bit i-1 of words[]     set when identifier i is taken
 *   holders[i-1]           the opaque pointer given to nsp_idset_take
 *
 * The set grows on demand up to NSP_IDSET_MAX identifiers and never
 * shrinks; its owner frees it when the last identifier is released.
 */
#ifndef STRAIT_NSP_IDSET_H
#define STRAIT_NSP_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest identifier any stream can hold. A configured max-targets
 * above it is treated as this value. */
#define NSP_IDSET_MAX 65536u

struct nsp_idset {
	uint64_t *words;
	void **holders;
	uint32_t cap;	/* identifiers 1..cap fit; a multiple of 64 */
	uint32_t count; /* identifiers taken */
};

/* An empty set is a zeroed struct; it allocates on first use. */

/* Makes room for identifiers 1..id so that a later nsp_idset_take(id)
 * cannot fail. Returns 0, -ERANGE when id is 0 or above NSP_IDSET_MAX, or
 * -ENOMEM (the set is unchanged). */
int nsp_idset_reserve(struct nsp_idset *s, uint32_t id);

/* The lowest identifier in 1..max that is free, or 0 when all are taken.
 * max is clamped to NSP_IDSET_MAX. */
uint32_t nsp_idset_lowest_free(const struct nsp_idset *s, uint32_t max);

/* The holder of id, or NULL when id is free or out of range. */
void *nsp_idset_holder(const struct nsp_idset *s, uint32_t id);

/* Marks id taken by holder (not NULL). The caller has checked that id is
 * free and reserved room for it with nsp_idset_reserve. */
void nsp_idset_take(struct nsp_idset *s, uint32_t id, void *holder);

/* Marks id free. Releasing a free identifier does nothing. */
void nsp_idset_release(struct nsp_idset *s, uint32_t id);

/* Frees the set's memory and leaves it empty. */
void nsp_idset_free(struct nsp_idset *s);

#endif
