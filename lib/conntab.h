/* The connection table: which target each known connection goes to. Pure; no
 * I/O, no clock: every call that needs the time takes now_ms (milliseconds
 * of a monotonic clock, never going backwards).
 *
 * Why: Maglev moves a few connections to a new target whenever targets are
 * added. The table remembers where each connection went, so a hit keeps it
 * there and adding a target breaks nothing. When a target goes away the
 * daemon calls conntab_forget_target(): only that target's connections
 * move (Maglev then places them). A connection the table does not know
 * (it idled out, or an ECMP change brought it from another LB) is placed by
 * Maglev alone, which every LB computes alike.
 *
 * An entry is keyed by the flow fields of struct pkt (family,
 * protocol, addresses, ports; see conn_key_from_packet) and holds a
 * target identifier and the stream it belongs to, both opaque numbers the
 * caller chooses. Target identifiers are per stream in strait (1 to
 * max-targets), so the pair names a target; the stream also lets the caller
 * notice that a configuration change has moved the connection's flow to
 * another stream, and ignore the hit.
 *
 * Memory is bounded: capacity entries (about 80 bytes each, plus 8 per
 * bucket) are allocated at creation and never more. When the table is full
 * an insert first drops an idle-expired entry if there is one, else evicts
 * the least recently used entry (counted in evictions).
 *
 * Idle timeouts are per protocol class (TCP, UDP, SCTP, ICMP and ICMPv6,
 * everything else). An entry is idle from its last insert or hit; it expires
 * when it has been idle for its class's timeout or longer: at exactly
 * last + timeout it is gone. A lookup never returns an expired entry, even
 * when conntab_expire() has not run; expire() only reclaims the memory
 * and the count, and the daemon calls it from a timer (see
 * conntab_next_expiry).
 *
 * Layout: a chained hash table over a fixed array of entries, and one
 * intrusive LRU list per protocol class. All entries of a class share one
 * timeout, so each list's tail is both its least recently used entry and
 * the next to expire: expiry looks only at tails (O(expired)), and the
 * global LRU entry is the oldest of five tails (O(1)).
 *
 *   buckets[]  -> entry -> entry          (hash chains, keyed)
 *   lru[TCP]   newest <-> ... <-> oldest  (one list per class)
 *   lru[UDP]   newest <-> ... <-> oldest
 *
 * Not thread-safe: the caller serialises calls. The LB keeps one table per
 * queue thread; the kernel's queue balancing sends all packets of a flow to
 * one queue.
 */
#ifndef STRAIT_CONNTAB_H
#define STRAIT_CONNTAB_H

#include <stddef.h>
#include <stdint.h>

#include "packet.h"

/* A connection's key. Built by conn_key_from_packet, which zeroes what
 * the family does not use, so that equal connections have equal bytes. */
struct conn_key {
	uint8_t family; /* 4 or 6 */
	uint8_t proto;
	uint16_t sport; /* host order, as in struct pkt */
	uint16_t dport;
	uint8_t src[16]; /* IPv4 in the first 4 bytes, the rest zero */
	uint8_t dst[16];
};

/* Fills k from the flow fields of p (for an ICMP error, the fields of the
 * flow it is about, so that the error finds that flow's entry; for ICMP
 * echo, the identifier as both ports). */
void conn_key_from_packet(struct conn_key *k, const struct pkt *p);

enum conn_class {
	CONN_TCP,
	CONN_UDP,
	CONN_SCTP,
	CONN_ICMP, /* ICMP and ICMPv6 */
	CONN_OTHER,
	CONN_NCLASS,
};

#define CONNTAB_DEFAULT_CAPACITY 262144
#define CONNTAB_DEFAULT_TCP_MS 300000
#define CONNTAB_DEFAULT_UDP_MS 30000
#define CONNTAB_DEFAULT_SCTP_MS 300000
#define CONNTAB_DEFAULT_ICMP_MS 10000
#define CONNTAB_DEFAULT_OTHER_MS 30000

struct conntab_config {
	/* Entries; 0 = CONNTAB_DEFAULT_CAPACITY. At most 2^31. */
	size_t capacity;
	/* Idle timeout of each class, indexed by enum conn_class;
	 * 0 = the class's default above. */
	uint32_t timeout_ms[CONN_NCLASS];
	/* Seeds the table's own hash. The daemon passes a random value so
	 * that remote senders cannot aim their packets at one hash chain;
	 * it has nothing to do with lb_flow_hash, which must be the same on
	 * every LB. */
	uint64_t seed;
};

struct conntab_stats {
	size_t size, capacity;
	uint64_t inserts; /* new entries (not updates of an entry) */
	uint64_t updates; /* inserts that found the key and replaced it */
	uint64_t hits, misses;
	uint64_t evictions;   /* live entries pushed out by a full table */
	uint64_t expirations; /* entries that idled out */
	uint64_t forgotten;   /* removed by forget_* and remove */
};

struct conntab;

/* Allocates a table. cfg NULL means all defaults. Returns 0, -EINVAL (a
 * capacity above 2^31) or -ENOMEM; *out is written only on success. */
int conntab_create(const struct conntab_config *cfg, struct conntab **out);

/* Frees the table. NULL is ignored. */
void conntab_destroy(struct conntab *t);

/* Looks k up. On a hit that has not expired, writes the entry's target and
 * stream (stream may be NULL), refreshes its idle time to now_ms and
 * returns 0. Otherwise returns -ENOENT (an expired entry found on the way
 * is removed and counted as expired). */
int conntab_lookup(struct conntab *t, const struct conn_key *k, uint64_t now_ms,
		   uint32_t *target, uint32_t *stream);

/* Records that k goes to target of stream, idle from now_ms. An entry of
 * the same key is replaced. Never fails: a full table makes room as
 * described above. */
void conntab_insert(struct conntab *t, const struct conn_key *k,
		    uint32_t target, uint32_t stream, uint64_t now_ms);

/* Removes the entry of k. Returns 0, or -ENOENT when there is none. */
int conntab_remove(struct conntab *t, const struct conn_key *k);

/* Removes up to max entries that have expired by now_ms, oldest first, and
 * returns how many it removed. O(removed). max bounds the work done in one
 * call of an event loop; SIZE_MAX removes them all. */
size_t conntab_expire(struct conntab *t, uint64_t now_ms, size_t max);

/* When the next entry expires if not used again (a time to arm a timer
 * for), or UINT64_MAX when the table is empty. O(1). */
uint64_t conntab_next_expiry(const struct conntab *t);

/* Removes every entry of that target of that stream (the target went away)
 * and returns how many. O(size): a target goes away seldom, and an index by
 * target would cost memory in every entry for it. */
size_t conntab_forget_target(struct conntab *t, uint32_t stream,
			     uint32_t target);

/* Removes every entry of a stream (the stream went away). O(size). */
size_t conntab_forget_stream(struct conntab *t, uint32_t stream);

/* The current size and the counters since creation. */
void conntab_stats(const struct conntab *t, struct conntab_stats *s);

#endif
