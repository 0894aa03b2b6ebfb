/* The target registry: the pure core of strait-nsp.
 *
 * Pure: no I/O, no clock. Every function that needs the time takes now_ms
 * (milliseconds of a monotonic clock; it must not go backwards). Single-
 * threaded: the caller serialises all calls, which is what makes identifier
 * allocation atomic without locks.
 *
 * A target is keyed by (type, trench, conduit, stream, set of ips). What
 * the stream ref holds depends on the type:
 *
 *   type          trench  conduit  stream       identifier
 *   TARGET (1)    yes     yes      the stream   1..max-targets of the stream
 *   FRONTEND (2)  yes     yes      empty        none (0)
 *   PROXY (3)     yes     yes      empty        none (0)
 *   TUNNEL (4)    yes     empty    empty        none (0)
 *   INSTANCE (5)  yes     empty    the service  1..max-instances of the service
 *
 * A TUNNEL and an INSTANCE also need a context entry node=NAME (and a
 * TUNNEL's port=N, when given, must be a port). The registry holds one
 * normalised copy per key:
 *   - ips parsed and re-formatted canonically ("fd00:0::1/64" becomes
 *     "fd00::1/64"), sorted (IPv4 first, then by address);
 *   - type 0 becomes TARGET, status 0 becomes ENABLED;
 *   - context entries sorted by key.
 *
 * Every mutation (a register that changed something, an unregister of an
 * existing target, each expiry) raises the revision by exactly one and
 * appends one event to a ring of log_size events, from which a watcher that
 * reconnects resumes. A refresh that changes nothing makes no event.
 *
 * Targets handed out (by register, foreach and events) are ordinary
 * Nsp__Target messages that nsp__target__pack accepts, but protobuf-c did not
 * allocate them: never pass one, or a message that embeds one, to a
 * *_free_unpacked function (set the embedding field to NULL first).
 *
 * Memory: the live targets plus at most two target copies per log slot.
 * Target copies are immutable and shared between the live table and the
 * log (reference counted), so an update costs one copy, not three.
 */
#ifndef STRAIT_NSP_REGISTRY_H
#define STRAIT_NSP_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nsp.pb-c.h"

/* Limits a registration must keep to (see nsp_registry_register). */
#define NSP_TARGET_MAX_IPS 8
#define NSP_NAME_MAX 253
#define NSP_CONTEXT_MAX 32
#define NSP_CONTEXT_KEY_MAX 63
#define NSP_CONTEXT_VALUE_MAX 1024
/* The largest identifier; a configured max-targets above it counts as it. */
#define NSP_IDENTIFIER_MAX 65536u

/* Enough for any key nsp_target_key can produce, NUL included. */
#define NSP_TARGET_KEY_MAX 1400

#define NSP_REGISTRY_DEFAULT_TTL_MS 60000
#define NSP_REGISTRY_DEFAULT_LOG_SIZE 8192

struct nsp_registry_config {
	/* Registration lifetime after its last Register; 0 = 60000. */
	uint64_t ttl_ms;
	/* Events kept for resuming watchers; 0 = 8192. */
	size_t log_size;
	/* Says whether the configuration has what a registration of type
	 * (never 0) belongs to, and how many identifiers it has:
	 *   TARGET    the stream ref->trench/conduit/stream: its max-targets;
	 *   INSTANCE  the service ref->stream of trench ref->trench: its
	 *             max-instances;
	 *   FRONTEND, PROXY  the conduit ref->trench/conduit: any value > 0;
	 *   TUNNEL    the trench ref->trench: any value > 0.
	 * Returns -ENOENT when it is not there. Any other negative value is
	 * passed on as the error of the registration. A value above
	 * NSP_IDENTIFIER_MAX counts as NSP_IDENTIFIER_MAX. NULL accepts
	 * everything with 100 identifiers (Meridio's default). Must not call
	 * the registry. */
	int (*lookup)(void *ctx, Nsp__TargetType type,
		      const Nsp__StreamRef *ref);
	void *ctx;
};

struct nsp_registry;

/* One mutation. old NULL: the target was added; new_ NULL: it was removed;
 * both set: it was updated (same key). The pointers are owned by the
 * registry and stay valid until the event leaves the log, that is until
 * log_size further mutations; never free or modify them. */
struct nsp_event {
	uint64_t revision;
	const Nsp__Target *old;
	const Nsp__Target *new_;
};

/* Creates an empty registry whose revision is `revision` (the one the store
 * holds), so that the next mutation is revision + 1. The config is copied.
 * Returns NULL when out of memory. */
struct nsp_registry *nsp_registry_new(const struct nsp_registry_config *cfg,
				      uint64_t revision);

/* Frees the registry and every target and event it holds. NULL is fine. */
void nsp_registry_free(struct nsp_registry *r);

/* Registers t, or refreshes and updates the registration of t's key.
 *
 * t is validated and normalised into a copy; the caller keeps t. On success
 * *stored is the registration as held (with its identifier), owned by the
 * registry and valid until the next mutating call; *changed is false when
 * the call was a refresh that changed nothing (then there is no event and
 * the revision stays). Every successful call restarts the ttl.
 *
 * Identifiers are unique per stream for TARGETs, in 1..max-targets, and
 * per service (trench and service name) for INSTANCEs, in
 * 1..max-instances, allocated the same way:
 *   - 0 asked: the target keeps its current identifier when its key is
 *     registered already (even if the stream or service shrank since),
 *     otherwise it gets the lowest free one;
 *   - an explicit identifier: that one or an error, never another.
 * A FRONTEND, a PROXY or a TUNNEL has no identifier (0).
 *
 * Errors (nothing is changed; err gets a sentence naming the offending
 * value, truncated to errlen):
 *   -EINVAL  a field is bad: no ips or more than 8, an ip not "addr/len",
 *            the same address twice, type not 1..5 (0 means TARGET),
 *            status above DISABLED (0 means ENABLED), a name the table
 *            above requires empty or one it refuses set, a name longer
 *            than 253 bytes or holding '/', '|', a space or a control
 *            character, an identifier on a FRONTEND, PROXY or TUNNEL,
 *            more than 32 context entries, a context key above 63 or a
 *            value above 1024 bytes, the same context key twice, a
 *            TUNNEL or INSTANCE without node=NAME, a TUNNEL's port=N
 *            that is not 1..65535.
 *   -ENOENT  the configuration has no such stream, service, conduit or
 *            trench.
 *   -EEXIST  the identifier asked for is held by another target of the
 *            stream (instance of the service); the message names the
 *            holder's ips.
 *   -ERANGE  the identifier asked for is above the stream's max-targets
 *            (the service's max-instances).
 *   -ENOSPC  every identifier of the stream (service) is taken.
 *   -ENOMEM  out of memory.
 *   other    a negative value returned by cfg->lookup. */
int nsp_registry_register(struct nsp_registry *r, const Nsp__Target *t,
			  uint64_t now_ms, const Nsp__Target **stored,
			  bool *changed, char *err, size_t errlen);

/* Removes the registration with t's key; only the key fields of t (type,
 * stream ref, ips) are read. Returns 0 and sets *existed; when it existed
 * there is an event. -EINVAL (with err) when a key field is bad. */
int nsp_registry_unregister(struct nsp_registry *r, const Nsp__Target *t,
			    bool *existed, char *err, size_t errlen);

/* Removes every registration whose ttl has run out at now_ms, that is whose
 * last Register was at or before now_ms - ttl, with one event each (oldest
 * refresh first), but at most max of them, so that a caller can persist
 * the events before the log wraps. Returns how many. Costs O(expired). */
size_t nsp_registry_expire(struct nsp_registry *r, uint64_t now_ms,
			   size_t max);

/* The time at which the next registration runs out (its last refresh plus
 * the ttl), or UINT64_MAX when the registry is empty. */
uint64_t nsp_registry_next_expiry(const struct nsp_registry *r);

/* Adds a target read from the store at start-up. No lookup, no event, no
 * revision change; the identifier is kept as stored even if the stream or
 * service is now unknown or smaller; the ttl starts at now_ms. Returns 0,
 * -EINVAL for an invalid entry (as for register, and a TARGET or INSTANCE
 * without an identifier or with one above NSP_IDENTIFIER_MAX), -EEXIST when the key or the
 * identifier is held already, or -ENOMEM. The caller logs and skips. */
int nsp_registry_restore(struct nsp_registry *r, const Nsp__Target *t,
			 uint64_t now_ms, char *err, size_t errlen);

/* The revision of the last mutation (or the one given to _new). */
uint64_t nsp_registry_revision(const struct nsp_registry *r);

/* The number of live registrations. */
size_t nsp_registry_count(const struct nsp_registry *r);

/* Calls fn for every live registration, least recently refreshed first.
 * fn must not call a mutating function of the registry. */
void nsp_registry_foreach(const struct nsp_registry *r,
			  void (*fn)(const Nsp__Target *t, void *data),
			  void *data);

/* Copies into out the events with revision > after, oldest first, at most
 * max of them. Returns their number (0 when after >= the revision), or
 * -ERANGE when some event after `after` has left the log already (or was
 * never in it: revisions before the one given to _new), in which case the
 * watcher needs a snapshot. */
ssize_t nsp_registry_events(const struct nsp_registry *r, uint64_t after,
			    struct nsp_event *out, size_t max);

/* Writes t's canonical key "type|trench|conduit|stream|ip1,ip2" into buf:
 * type as its number (0 counts as TARGET, so "1"), ips canonical and sorted,
 * for example "1|t1|c1|s1|10.0.0.1/24,fd00::1/64", "4|t1|||192.0.2.1/32"
 * for a TUNNEL, "5|t1||web|10.0.0.5/32" for an INSTANCE of service web. t need not be normalised. Returns 0,
 * -EINVAL when an ip does not parse, or -ENOSPC when buf is too small
 * (NSP_TARGET_KEY_MAX always fits a valid target). */
int nsp_target_key(const Nsp__Target *t, char *buf, size_t len);

/* True when t passes f. A NULL f, an empty stream field and type or status 0
 * match anything. */
bool nsp_filter_match(const Nsp__TargetFilter *f, const Nsp__Target *t);

/* What a watcher with filter f sees of ev. Returns false when neither side
 * of ev passes f; otherwise true with *kind and *target set: ADDED(new_)
 * when only new_ passes, REMOVED(old) when only old passes, UPDATED(new_)
 * when both pass. */
bool nsp_event_view(const Nsp__TargetFilter *f, const struct nsp_event *ev,
		    Nsp__TargetEvent__Kind *kind, const Nsp__Target **target);

#endif
