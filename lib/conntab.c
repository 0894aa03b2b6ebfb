/* The connection table. See conntab.h for the design. */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <xxhash.h>

#include "list.h"

#include "conntab.h"

/* Keys are hashed and compared as bytes: no padding may hide in them. */
_Static_assert(sizeof(struct conn_key) == 38, "conn_key has padding");

struct entry {
	struct conn_key key;
	uint32_t target, stream;
	uint64_t last_ms;
	struct entry *hnext;  /* hash chain, or the free list */
	struct list_node lru; /* in its class's list, newest first */
};

struct conntab {
	size_t capacity, size;
	uint32_t timeout_ms[CONN_NCLASS];
	uint64_t seed;
	struct entry *entries;
	struct entry *free;
	struct entry **buckets;
	size_t mask;
	struct list_node lru[CONN_NCLASS];
	struct conntab_stats st;
};

static const uint32_t default_timeout_ms[CONN_NCLASS] = {
    [CONN_TCP] = CONNTAB_DEFAULT_TCP_MS,
    [CONN_UDP] = CONNTAB_DEFAULT_UDP_MS,
    [CONN_SCTP] = CONNTAB_DEFAULT_SCTP_MS,
    [CONN_ICMP] = CONNTAB_DEFAULT_ICMP_MS,
    [CONN_OTHER] = CONNTAB_DEFAULT_OTHER_MS,
};

void conn_key_from_packet(struct conn_key *k, const struct pkt *p)
{
	size_t alen = p->family == AF_INET ? 4 : 16;

	memset(k, 0, sizeof(*k));
	k->family = p->family == AF_INET ? 4 : 6;
	k->proto = p->proto;
	k->sport = p->sport;
	k->dport = p->dport;
	memcpy(k->src, p->src, alen);
	memcpy(k->dst, p->dst, alen);
}

static enum conn_class class_of(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return CONN_TCP;
	case IPPROTO_UDP:
		return CONN_UDP;
	case IPPROTO_SCTP:
		return CONN_SCTP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return CONN_ICMP;
	default:
		return CONN_OTHER;
	}
}

static struct entry **bucket(const struct conntab *t, const struct conn_key *k)
{
	return &t->buckets[XXH3_64bits_withSeed(k, sizeof(*k), t->seed) &
			   t->mask];
}

/* A clock that steps back (it should not) makes an entry younger, never
 * older than it is. */
static bool expired(const struct conntab *t, const struct entry *e,
		    uint64_t now_ms)
{
	uint32_t to = t->timeout_ms[class_of(e->key.proto)];

	return now_ms >= e->last_ms && now_ms - e->last_ms >= to;
}

/* Unlinks e from its chain and its list and frees it. */
static void unlink_entry(struct conntab *t, struct entry *e)
{
	struct entry **pp = bucket(t, &e->key);

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	list_del(&e->lru);
	e->hnext = t->free;
	t->free = e;
	t->size--;
}

static struct entry *find(struct conntab *t, const struct conn_key *k)
{
	for (struct entry *e = *bucket(t, k); e; e = e->hnext)
		if (!memcmp(&e->key, k, sizeof(*k)))
			return e;
	return NULL;
}

static struct entry *tail(const struct conntab *t, int c)
{
	if (list_empty(&t->lru[c]))
		return NULL;
	return list_entry(t->lru[c].prev, struct entry, lru);
}

static void touch(struct conntab *t, struct entry *e, uint64_t now_ms)
{
	e->last_ms = now_ms;
	list_del(&e->lru);
	list_add(&t->lru[class_of(e->key.proto)], &e->lru);
}

int conntab_create(const struct conntab_config *cfg, struct conntab **out)
{
	struct conntab_config dflt = {0};
	struct conntab *t;
	size_t nb = 1;

	if (!cfg)
		cfg = &dflt;
	if (cfg->capacity > (size_t)1 << 31)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->capacity =
	    cfg->capacity ? cfg->capacity : CONNTAB_DEFAULT_CAPACITY;
	for (int c = 0; c < CONN_NCLASS; c++) {
		t->timeout_ms[c] = cfg->timeout_ms[c] ? cfg->timeout_ms[c]
						      : default_timeout_ms[c];
		list_init(&t->lru[c]);
	}
	t->seed = cfg->seed;
	/* As many buckets as entries, rounded up to a power of two: chains
	 * stay short at a full table. */
	while (nb < t->capacity)
		nb <<= 1;
	t->mask = nb - 1;
	t->buckets = calloc(nb, sizeof(*t->buckets));
	t->entries = calloc(t->capacity, sizeof(*t->entries));
	if (!t->buckets || !t->entries) {
		conntab_destroy(t);
		return -ENOMEM;
	}
	for (size_t i = t->capacity; i-- > 0;) {
		t->entries[i].hnext = t->free;
		t->free = &t->entries[i];
	}
	t->st.capacity = t->capacity;
	*out = t;
	return 0;
}

void conntab_destroy(struct conntab *t)
{
	if (!t)
		return;
	free(t->buckets);
	free(t->entries);
	free(t);
}

int conntab_lookup(struct conntab *t, const struct conn_key *k, uint64_t now_ms,
		   uint32_t *target, uint32_t *stream)
{
	struct entry *e = find(t, k);

	if (e && expired(t, e, now_ms)) {
		unlink_entry(t, e);
		t->st.expirations++;
		e = NULL;
	}
	if (!e) {
		t->st.misses++;
		return -ENOENT;
	}
	touch(t, e, now_ms);
	*target = e->target;
	if (stream)
		*stream = e->stream;
	t->st.hits++;
	return 0;
}

/* Frees one entry of a full table: an expired one if a class has one (its
 * tail is the class's oldest), else the least recently used of all. */
static void make_room(struct conntab *t, uint64_t now_ms)
{
	struct entry *lru = NULL;

	for (int c = 0; c < CONN_NCLASS; c++) {
		struct entry *e = tail(t, c);

		if (!e)
			continue;
		if (expired(t, e, now_ms)) {
			unlink_entry(t, e);
			t->st.expirations++;
			return;
		}
		if (!lru || e->last_ms < lru->last_ms)
			lru = e;
	}
	unlink_entry(t, lru);
	t->st.evictions++;
}

void conntab_insert(struct conntab *t, const struct conn_key *k,
		    uint32_t target, uint32_t stream, uint64_t now_ms)
{
	struct entry *e = find(t, k), **b;

	if (e) {
		e->target = target;
		e->stream = stream;
		touch(t, e, now_ms);
		t->st.updates++;
		return;
	}
	if (!t->free)
		make_room(t, now_ms);
	e = t->free;
	t->free = e->hnext;
	e->key = *k;
	e->target = target;
	e->stream = stream;
	e->last_ms = now_ms;
	b = bucket(t, k);
	e->hnext = *b;
	*b = e;
	list_add(&t->lru[class_of(k->proto)], &e->lru);
	t->size++;
	t->st.inserts++;
}

int conntab_remove(struct conntab *t, const struct conn_key *k)
{
	struct entry *e = find(t, k);

	if (!e)
		return -ENOENT;
	unlink_entry(t, e);
	t->st.forgotten++;
	return 0;
}

size_t conntab_expire(struct conntab *t, uint64_t now_ms, size_t max)
{
	size_t n = 0;

	for (int c = 0; c < CONN_NCLASS; c++) {
		struct entry *e;

		while (n < max && (e = tail(t, c)) && expired(t, e, now_ms)) {
			unlink_entry(t, e);
			n++;
		}
	}
	t->st.expirations += n;
	return n;
}

uint64_t conntab_next_expiry(const struct conntab *t)
{
	uint64_t next = UINT64_MAX;

	for (int c = 0; c < CONN_NCLASS; c++) {
		const struct entry *e = tail(t, c);

		if (e && e->last_ms + t->timeout_ms[c] < next)
			next = e->last_ms + t->timeout_ms[c];
	}
	return next;
}

static size_t forget(struct conntab *t, uint32_t stream, bool any_target,
		     uint32_t target)
{
	struct list_node *pos, *tmp;
	size_t n = 0;

	for (int c = 0; c < CONN_NCLASS; c++) {
		list_for_each_safe(pos, tmp, &t->lru[c])
		{
			struct entry *e = list_entry(pos, struct entry, lru);

			if (e->stream == stream &&
			    (any_target || e->target == target)) {
				unlink_entry(t, e);
				n++;
			}
		}
	}
	t->st.forgotten += n;
	return n;
}

size_t conntab_forget_target(struct conntab *t, uint32_t stream,
			     uint32_t target)
{
	return forget(t, stream, false, target);
}

size_t conntab_forget_stream(struct conntab *t, uint32_t stream)
{
	return forget(t, stream, true, 0);
}

void conntab_stats(const struct conntab *t, struct conntab_stats *s)
{
	*s = t->st;
	s->size = t->size;
	s->capacity = t->capacity;
}
