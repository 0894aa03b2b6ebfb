/* The Maglev table (see maglev.h for the contract). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "maglev.h"

/* The two seeds of a target's permutation. They are part of the table's
 * definition: every LB that must agree on a table must use these. */
#define SEED_OFFSET UINT64_C(0x7374726169742d6f) /* "strait-o" */
#define SEED_SKIP UINT64_C(0x7374726169742d73)	 /* "strait-s" */

/* One allocation holds the header and its three arrays, in this order, so
 * that a table is freed in one call and its small arrays sit together:
 *
 *   +--------+--------------+----------------+----------------+
 *   | header | ids[n] (u32) | count[n] (u32) | slot[m] (u16)  |
 *   +--------+--------------+----------------+----------------+
 */
struct maglev {
	uint64_t mod_c; /* UINT64_MAX / m + 1, for fastmod (see lookup) */
	uint32_t m;
	uint32_t n;
	const uint32_t *ids;   /* sorted ascending */
	const uint32_t *count; /* slots held, by position in ids */
	const uint16_t *slot;  /* id - 1 per slot; NULL when n = 0 */
};

bool maglev_is_prime(uint32_t m)
{
	if (m < 2)
		return false;
	if (m < 4)
		return true;
	if (m % 2 == 0 || m % 3 == 0)
		return false;
	/* Every prime above 3 is 6k - 1 or 6k + 1. d * d cannot overflow:
	 * d stays below 65536 + 6 for any uint32_t m. */
	for (uint64_t d = 5; d * d <= m; d += 6)
		if (m % d == 0 || m % (d + 2) == 0)
			return false;
	return true;
}

uint32_t maglev_default_size(uint32_t max_targets)
{
	uint32_t m;

	if (max_targets > MAGLEV_ID_MAX)
		max_targets = MAGLEV_ID_MAX;
	m = 100 * max_targets;
	if (m < MAGLEV_SIZE_MIN)
		m = MAGLEV_SIZE_MIN;
	/* Prime gaps below 2^26 are under 200, so this ends quickly; the
	 * largest result, 6,553,621 (for 6,553,600), is well below
	 * MAGLEV_SIZE_MAX. */
	while (!maglev_is_prime(m))
		m++;
	return m;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* XXH3 of the identifier as 4 little-endian bytes, whatever the host's
 * byte order, so that every host computes the same permutation. */
static uint64_t hash_id(uint32_t id, uint64_t seed)
{
	uint8_t b[4] = {id & 0xff, (id >> 8) & 0xff, (id >> 16) & 0xff,
			id >> 24};

	return XXH3_64bits_withSeed(b, sizeof(b), seed);
}

/* The Maglev population loop. Each target walks its permutation
 * offset, offset + skip, ... (mod m) from where it stopped last (pos[i] is
 * the paper's next[i], kept as a position rather than an index so that a
 * step is an add and a compare, not a multiply and a division). Targets
 * take turns, lowest identifier first; a turn takes the first slot on the
 * walk that is still free. skip is in 1..m-1 and m is prime, so every walk
 * visits every slot and a free one is always found while the table is not
 * full. A bitmap of taken slots keeps the probe cheap without a sentinel
 * value in the slots (all 65,536 uint16_t values are identifiers). */
static void populate(struct maglev *t, uint16_t *slot, uint32_t *count,
		     uint32_t *pos, const uint32_t *skip, uint64_t *taken)
{
	uint32_t m = t->m, n = t->n, filled = 0;

	for (;;) {
		for (uint32_t i = 0; i < n; i++) {
			uint32_t p = pos[i];

			while (taken[p / 64] & (UINT64_C(1) << (p % 64))) {
				p += skip[i];
				if (p >= m)
					p -= m;
			}
			taken[p / 64] |= UINT64_C(1) << (p % 64);
			slot[p] = (uint16_t)(t->ids[i] - 1);
			count[i]++;
			p += skip[i];
			if (p >= m)
				p -= m;
			pos[i] = p;
			if (++filled == m)
				return;
		}
	}
}

int maglev_build(const uint32_t *ids, size_t n, uint32_t m, struct maglev **out)
{
	struct maglev *t;
	uint32_t *tids, *count, *pos = NULL, *skip;
	uint64_t *taken = NULL;
	uint16_t *slot;
	int err = -ENOMEM;

	if (!maglev_is_prime(m) || m > MAGLEV_SIZE_MAX || n > m || (n && !ids))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (ids[i] == 0 || ids[i] > MAGLEV_ID_MAX)
			return -ERANGE;

	/* n <= m <= 2^26, so these sizes cannot overflow. */
	t = malloc(sizeof(*t) + 2 * n * sizeof(uint32_t) +
		   (n ? m : 0) * sizeof(uint16_t));
	if (!t)
		return -ENOMEM;
	tids = (uint32_t *)(t + 1);
	count = tids + n;
	slot = n ? (uint16_t *)(count + n) : NULL;
	t->mod_c = UINT64_MAX / m + 1;
	t->m = m;
	t->n = (uint32_t)n;
	t->ids = tids;
	t->count = count;
	t->slot = slot;
	if (!n)
		goto done;

	/* Sorting makes the turn order, the only thing left that could
	 * depend on the caller, a function of the set of identifiers. */
	memcpy(tids, ids, n * sizeof(*tids));
	qsort(tids, n, sizeof(*tids), cmp_u32);
	for (size_t i = 1; i < n; i++) {
		if (tids[i] == tids[i - 1]) {
			err = -EEXIST;
			goto free_table;
		}
	}
	memset(count, 0, n * sizeof(*count));

	pos = malloc(2 * n * sizeof(*pos));
	taken = calloc((m + 63) / 64, sizeof(*taken));
	if (!pos || !taken)
		goto free_tmp;
	skip = pos + n;
	for (size_t i = 0; i < n; i++) {
		pos[i] = (uint32_t)(hash_id(tids[i], SEED_OFFSET) % m);
		/* m = 2 (one target) leaves skip 1: still a full cycle. */
		skip[i] = (uint32_t)(hash_id(tids[i], SEED_SKIP) % (m - 1)) + 1;
	}
	populate(t, slot, count, pos, skip, taken);
	free(taken);
	free(pos);
done:
	*out = t;
	return 0;

free_tmp:
	free(taken);
	free(pos);
free_table:
	free(t);
	return err;
}

void maglev_free(struct maglev *t)
{
	free(t);
}

uint32_t maglev_lookup(const struct maglev *t, uint64_t hash)
{
	/* The slot is the hash folded to 32 bits, modulo M. A 64-bit
	 * division by a run-time M costs about 3 ns a packet on the machines
	 * measured; Lemire's fastmod (Lemire, Kaser, Kurz, "Faster remainder
	 * by direct computation", 2019) gives the same remainder of a 32-bit
	 * value exactly with two multiplications, about 1 ns. Folding rather
	 * than taking the high bits (multiply-shift) keeps a weak hash spread
	 * as well as its values allow and makes lookup(t, s) read slot s for
	 * s < M. The fold's uneven remainder is at most one part in
	 * 2^32 / M (650 for the largest default M), per slot. */
	uint32_t a = (uint32_t)hash ^ (uint32_t)(hash >> 32);
	uint32_t s;

	if (!t->n)
		return 0;
#ifdef __SIZEOF_INT128__
	s = (uint32_t)(((unsigned __int128)(t->mod_c * a) * t->m) >> 64);
#else
	s = a % t->m;
#endif
	return (uint32_t)t->slot[s] + 1u;
}

uint32_t maglev_size(const struct maglev *t)
{
	return t->m;
}

size_t maglev_targets(const struct maglev *t)
{
	return t->n;
}

uint32_t maglev_count(const struct maglev *t, uint32_t id)
{
	const uint32_t *p =
	    bsearch(&id, t->ids, t->n, sizeof(*t->ids), cmp_u32);

	return p ? t->count[p - t->ids] : 0;
}

ssize_t maglev_diff(const struct maglev *a, const struct maglev *b)
{
	ssize_t d = 0;

	if (a->m != b->m)
		return -EINVAL;
	/* An empty table differs from a full one in every slot. */
	if (!a->n || !b->n)
		return a->n == b->n ? 0 : (ssize_t)a->m;
	for (uint32_t i = 0; i < a->m; i++)
		d += a->slot[i] != b->slot[i];
	return d;
}
