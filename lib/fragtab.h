/* The fragment table: every fragment of a datagram to the target of its
 * first fragment, in any arrival order. Pure; no I/O, no clock (now_ms as
 * in lib/conntab.h).
 *
 * Only the first fragment of a fragmented datagram carries the L4 header
 * and so the ports; the others carry the IP header alone. The daemon
 * classifies and balances the first fragment like any packet and records
 * its target here under (family, src, dst, protocol, fragment id); later
 * fragments look that up and follow it (docs/lb.md says why the LB tracks
 * fragments itself rather than loading the kernel's defragmentation).
 *
 * Fragments that arrive before their first fragment are held: the daemon
 * keeps their NFQUEUE verdict pending and gives the table the packet id (an
 * opaque uint32_t). When the first fragment arrives, fragtab_first()
 * hands the held ids back, and the daemon gives them the first fragment's
 * verdict and mark. When it does not arrive within the timeout, the table
 * hands them to the drop callback, and the daemon drops them.
 *
 * Every held id comes back exactly once: from fragtab_first(), or
 * through the drop callback (at expiry, at eviction, at destroy). So no
 * packet stays in the kernel's queue forever.
 *
 * Bounds. capacity datagrams, hold packets per datagram and max_held
 * packets in all, fixed at creation. Held packets occupy the kernel's
 * queue (its queue-maxlen) as well as this table, so max_held should stay
 * well below the queue length. A fragment that would exceed a bound is
 * refused (FRAG_REFUSED), not held: the caller drops it and counts it.
 * A new datagram in a full table evicts the oldest entry (dropping what it
 * held). Since held packets are bounded by max_held and live one timeout,
 * a flood of stray non-first fragments pushes out at most max_held known
 * datagrams per timeout; the rest of the flood is refused.
 *
 * Lifetime. An entry lives timeout_ms from its creation; the arrival of the
 * first fragment restarts it (so fragments held long before their first
 * still get the full time after it). Later fragments do not extend it: a
 * datagram's fragments arrive together, and an IPv4 fragment id is reused
 * after at most 65536 datagrams. When a first fragment finds an entry of its
 * key already known (the id was reused by a new datagram), the new target
 * replaces the old. With one fixed timeout, creation order is expiry order:
 * one FIFO list gives O(1) eviction and O(expired) expiry.
 *
 * Not thread-safe; one table per queue thread, like the connection table.
 * The drop callback must not call the table.
 */
#ifndef STRAIT_FRAGTAB_H
#define STRAIT_FRAGTAB_H

#include <stddef.h>
#include <stdint.h>

#include "packet.h"

/* A datagram's key, built by frag_key_from_packet (which zeroes what the
 * family does not use, so equal keys have equal bytes). */
struct frag_key {
	uint8_t family; /* 4 or 6 */
	uint8_t proto;
	uint8_t zero[2];
	uint32_t id; /* IPv4 identification or IPv6 fragment id */
	uint8_t src[16];
	uint8_t dst[16];
};

void frag_key_from_packet(struct frag_key *k, const struct pkt *p);

/* The most packets one datagram may hold, and the defaults. */
#define FRAG_HOLD_MAX 16
#define FRAGTAB_DEFAULT_CAPACITY 4096
#define FRAGTAB_DEFAULT_TIMEOUT_MS 2000
#define FRAGTAB_DEFAULT_HOLD 8
#define FRAGTAB_DEFAULT_MAX_HELD 256

struct fragtab_config {
	size_t capacity;     /* datagrams; 0 = default; at most 2^31 */
	uint32_t timeout_ms; /* 0 = default */
	unsigned hold;	     /* per datagram, <= FRAG_HOLD_MAX; 0 = 8 */
	size_t max_held;     /* in all; 0 = default */
	uint64_t seed;	     /* of the table's hash; random in the daemon */
	/* Called with each held packet id that will not be released: the
	 * caller drops that packet. May be NULL when nothing is ever held
	 * (tests). */
	void (*drop)(void *ctx, uint32_t packet_id);
	void *ctx;
};

struct fragtab_stats {
	size_t size, capacity, held, max_held;
	uint64_t firsts;      /* first fragments recorded */
	uint64_t forwarded;   /* later fragments sent after their first */
	uint64_t holds;	      /* later fragments held */
	uint64_t released;    /* held fragments released by their first */
	uint64_t dropped;     /* held fragments handed to drop */
	uint64_t refused;     /* fragments not held: a bound was reached */
	uint64_t expirations; /* entries timed out */
	uint64_t evictions;   /* live entries pushed out by a full table */
};

enum frag_result {
	FRAG_FORWARD, /* *target and *stream are set: send it there */
	FRAG_HELD,    /* held: wait for fragtab_first or drop */
	FRAG_REFUSED, /* not held, a bound was reached: drop it */
};

struct fragtab;

/* Allocates a table; cfg NULL means all defaults. Returns 0, -EINVAL (hold
 * above FRAG_HOLD_MAX, a capacity above 2^31) or -ENOMEM. */
int fragtab_create(const struct fragtab_config *cfg, struct fragtab **out);

/* Hands every held id to the drop callback, then frees the table. NULL is
 * ignored. */
void fragtab_destroy(struct fragtab *t);

/* The first fragment (p->first_fragment) of datagram k went to target of
 * stream. Records that, and moves the ids held for k into released, which
 * has room for FRAG_HOLD_MAX ids, in their arrival order; the caller
 * gives those packets the first fragment's verdict. Returns how many were
 * released. Never fails: a full table evicts its oldest entry. */
size_t fragtab_first(struct fragtab *t, const struct frag_key *k,
		     uint32_t target, uint32_t stream, uint64_t now_ms,
		     uint32_t *released);

/* A later fragment (p->fragment && !p->first_fragment) of datagram k, with
 * the NFQUEUE packet id packet_id. See enum frag_result; on FORWARD,
 * stream may be NULL. */
enum frag_result fragtab_rest(struct fragtab *t, const struct frag_key *k,
				 uint32_t packet_id, uint64_t now_ms,
				 uint32_t *target, uint32_t *stream);

/* Removes the entries older than the timeout at now_ms (an entry created at
 * c is gone at c + timeout), handing their held ids to drop. Returns how
 * many entries it removed. O(removed). */
size_t fragtab_expire(struct fragtab *t, uint64_t now_ms);

/* When the oldest entry expires, or UINT64_MAX when the table is empty. */
uint64_t fragtab_next_expiry(const struct fragtab *t);

void fragtab_stats(const struct fragtab *t, struct fragtab_stats *s);

#endif
