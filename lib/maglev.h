/* The Maglev table: maps a flow's hash to a target of a stream.
 *
 * Pure: no I/O, no clock, no locks. A table is built in one call from the
 * stream's target identifiers and is never changed afterwards, so any
 * number of threads may look it up at once, and a thread holding a pointer
 * to a table always sees a whole table. A change of targets builds a new
 * table off to the side; the caller publishes it at once (the daemon swaps
 * an atomic pointer) and frees the old one only when no reader can still
 * hold it (after a grace period). Nothing is ever rewritten in place while
 * packets read it.
 *
 * Layout: M slots (M prime) of uint16_t, each holding identifier - 1, so
 * identifiers 1..65536 fit and a table of 100,003 slots is 200 KB.
 *
 *   fold(hash) % M  +-----+-----+-----+-- ... --+-----+
 *          |        | id-1| id-1| id-1|         | id-1|   M slots
 *          +------> +-----+-----+-----+-- ... --+-----+
 *
 * Each target's preference list over the slots is the permutation
 * (offset + j * skip) % M, with offset and skip taken from XXH3 hashes of
 * the identifier alone (two fixed seeds). The slots are then filled round
 * by round, each target in turn (lowest identifier first) taking the next
 * free slot of its list. Because neither the permutations nor the order
 * depend on the order in which targets registered, every load balancer
 * given the same set of identifiers and the same M builds the same table,
 * bit for bit, on any host. Changing the seeds or the hashed bytes changes
 * every table: LBs of different versions would then disagree.
 *
 * Properties (measured in tests/unit/test_maglev.c and by
 * bench/maglev_bench.c):
 *   - Balance: the fill takes one slot per target per round, so the counts
 *     of any two targets differ by at most one slot; for M >= 100 * N that
 *     is within 1%.
 *   - Disruption: when one target of N leaves, all its M/N slots move
 *     (evenly, the balance above holds again) and some slots of other
 *     targets move too, because the later rounds of the fill play out
 *     differently. That excess is Maglev's price for exact balance and it
 *     grows with N / M. Slots changed over the ideal M/N, removing one:
 *
 *         M/N       N=10   N=20   N=100  N=1000
 *         100       1.23   1.21   2.63   6.71
 *         1000      1.08          1.43   3.09
 *         10000     1.02   1.05   1.11
 *
 *     A join moves about as many. The LB's connection table keeps
 *     established flows where they are, so the excess only moves flows it
 *     does not know. A stream's M comes from its max-targets, so a stream
 *     with fewer live targets than that sits lower in this table.
 */
#ifndef STRAIT_MAGLEV_H
#define STRAIT_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Target identifiers run from 1 to this (NSP's identifier range). */
#define MAGLEV_ID_MAX 65536u
/* The smallest table size: maglev_default_size never returns less. */
#define MAGLEV_SIZE_MIN 101u
/* The largest table size maglev_build accepts (128 MiB of slots); the
 * default size for 65,536 targets is 6,553,621. */
#define MAGLEV_SIZE_MAX (1u << 26)

struct maglev;

/* True when m is a prime number. Exact for every uint32_t (trial
 * division, a few microseconds at most). */
bool maglev_is_prime(uint32_t m);

/* The default table size for a stream of max_targets targets: the smallest
 * prime >= 100 * max_targets, and at least MAGLEV_SIZE_MIN (101).
 * max_targets above MAGLEV_ID_MAX counts as MAGLEV_ID_MAX, so the
 * result is always a size maglev_build accepts. */
uint32_t maglev_default_size(uint32_t max_targets);

/* Builds a table of m slots for the n target identifiers at ids, which may
 * come in any order; the result depends only on the set of identifiers and
 * on m. The caller keeps ids. n = 0 gives a table for which every lookup
 * returns 0 ("no target").
 *
 * Returns 0 with *out set to a new table the caller frees with
 * maglev_free, or, with *out untouched:
 *   -EINVAL  m is not prime, is above MAGLEV_SIZE_MAX, or is smaller
 *            than n (some target would get no slot); ids is NULL with n > 0.
 *   -ERANGE  an identifier is 0 or above MAGLEV_ID_MAX.
 *   -EEXIST  an identifier appears twice.
 *   -ENOMEM  out of memory.
 * Cost: O(M log M + N log N) time (the expected number of probes of the
 * fill, per the Maglev paper); memory M * 2 + N * 8 bytes for the table,
 * plus M / 8 + N * 8 bytes during the build. */
int maglev_build(const uint32_t *ids, size_t n, uint32_t m,
		 struct maglev **out);

/* Frees a table. NULL is fine. The caller makes sure no reader still holds
 * it (see the top of this file). */
void maglev_free(struct maglev *t);

/* The identifier of the target for a flow whose hash is `hash`, or 0 when
 * the table has no target. O(1): two multiplications and one load.
 *
 * The slot is ((hash >> 32) ^ (hash & 0xffffffff)) % M: the hash folded to
 * 32 bits, modulo M. This is part of the table's definition, as the
 * permutations are: every LB must pick the same slot for the same hash.
 * A hash that is not uniform (a port number alone, say) still spreads over
 * the slots as well as its values allow, and lookup(t, s) for s < M reads
 * slot s, which tests use to walk a table. */
uint32_t maglev_lookup(const struct maglev *t, uint64_t hash);

/* The number of slots (M). */
uint32_t maglev_size(const struct maglev *t);

/* The number of targets the table was built for (N). */
size_t maglev_targets(const struct maglev *t);

/* The number of slots held by identifier id: 0 when id is not one of the
 * table's targets. O(log N) (the counts are kept from the build). */
uint32_t maglev_count(const struct maglev *t, uint32_t id);

/* The number of slots whose target differs between a and b, that is how
 * many of M equally likely flow hashes would move from one table to the
 * other. -EINVAL when the tables differ in size. O(M). */
ssize_t maglev_diff(const struct maglev *a, const struct maglev *b);

#endif
