/* The fragment table. See fragtab.h for the design. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <xxhash.h>

#include "list.h"

#include "fragtab.h"

_Static_assert(sizeof(struct frag_key) == 40, "frag_key has padding");

struct entry {
	struct frag_key key;
	uint32_t target, stream;
	uint64_t born_ms;
	struct entry *hnext;  /* hash chain, or the free list */
	struct list_node age; /* newest first */
	bool known;	      /* the first fragment has been seen */
	uint8_t n_held;
	uint32_t held[FRAG_HOLD_MAX];
};

struct fragtab {
	size_t capacity, size, held, max_held;
	uint32_t timeout_ms;
	unsigned hold;
	uint64_t seed;
	void (*drop)(void *ctx, uint32_t packet_id);
	void *ctx;
	struct entry *entries;
	struct entry *free;
	struct entry **buckets;
	size_t mask;
	struct list_node age;
	struct fragtab_stats st;
};

void frag_key_from_packet(struct frag_key *k, const struct pkt *p)
{
	size_t alen = p->family == AF_INET ? 4 : 16;

	memset(k, 0, sizeof(*k));
	k->family = p->family == AF_INET ? 4 : 6;
	k->proto = p->proto;
	k->id = p->frag_id;
	memcpy(k->src, p->src, alen);
	memcpy(k->dst, p->dst, alen);
}

static struct entry **bucket(const struct fragtab *t,
			     const struct frag_key *k)
{
	return &t->buckets[XXH3_64bits_withSeed(k, sizeof(*k), t->seed) &
			   t->mask];
}

static struct entry *find(struct fragtab *t, const struct frag_key *k)
{
	for (struct entry *e = *bucket(t, k); e; e = e->hnext)
		if (!memcmp(&e->key, k, sizeof(*k)))
			return e;
	return NULL;
}

static bool expired(const struct fragtab *t, const struct entry *e,
		    uint64_t now_ms)
{
	return now_ms >= e->born_ms && now_ms - e->born_ms >= t->timeout_ms;
}

static struct entry *oldest(const struct fragtab *t)
{
	if (list_empty(&t->age))
		return NULL;
	return list_entry(t->age.prev, struct entry, age);
}

/* Removes e, handing what it held to drop. */
static void remove_entry(struct fragtab *t, struct entry *e)
{
	struct entry **pp = bucket(t, &e->key);

	for (unsigned i = 0; i < e->n_held; i++)
		if (t->drop)
			t->drop(t->ctx, e->held[i]);
	t->held -= e->n_held;
	t->st.dropped += e->n_held;
	e->n_held = 0;
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	list_del(&e->age);
	e->hnext = t->free;
	t->free = e;
	t->size--;
}

/* A new, waiting entry for k, born now. A full table first loses its
 * oldest entry, which is also the next to expire. */
static struct entry *add(struct fragtab *t, const struct frag_key *k,
			 uint64_t now_ms)
{
	struct entry *e, **b;

	if (!t->free) {
		e = oldest(t);
		if (expired(t, e, now_ms))
			t->st.expirations++;
		else
			t->st.evictions++;
		remove_entry(t, e);
	}
	e = t->free;
	t->free = e->hnext;
	e->key = *k;
	e->known = false;
	e->n_held = 0;
	e->born_ms = now_ms;
	b = bucket(t, k);
	e->hnext = *b;
	*b = e;
	list_add(&t->age, &e->age);
	t->size++;
	return e;
}

int fragtab_create(const struct fragtab_config *cfg, struct fragtab **out)
{
	struct fragtab_config dflt = {0};
	struct fragtab *t;
	size_t nb = 1;

	if (!cfg)
		cfg = &dflt;
	if (cfg->hold > FRAG_HOLD_MAX || cfg->capacity > (size_t)1 << 31)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->capacity =
	    cfg->capacity ? cfg->capacity : FRAGTAB_DEFAULT_CAPACITY;
	t->timeout_ms =
	    cfg->timeout_ms ? cfg->timeout_ms : FRAGTAB_DEFAULT_TIMEOUT_MS;
	t->hold = cfg->hold ? cfg->hold : FRAGTAB_DEFAULT_HOLD;
	t->max_held =
	    cfg->max_held ? cfg->max_held : FRAGTAB_DEFAULT_MAX_HELD;
	t->seed = cfg->seed;
	t->drop = cfg->drop;
	t->ctx = cfg->ctx;
	list_init(&t->age);
	while (nb < t->capacity)
		nb <<= 1;
	t->mask = nb - 1;
	t->buckets = calloc(nb, sizeof(*t->buckets));
	t->entries = calloc(t->capacity, sizeof(*t->entries));
	if (!t->buckets || !t->entries) {
		fragtab_destroy(t);
		return -ENOMEM;
	}
	for (size_t i = t->capacity; i-- > 0;) {
		t->entries[i].hnext = t->free;
		t->free = &t->entries[i];
	}
	*out = t;
	return 0;
}

void fragtab_destroy(struct fragtab *t)
{
	struct entry *e;

	if (!t)
		return;
	/* Only a table that was fully created has entries. */
	while (t->entries && (e = oldest(t)))
		remove_entry(t, e);
	free(t->buckets);
	free(t->entries);
	free(t);
}

size_t fragtab_first(struct fragtab *t, const struct frag_key *k,
		     uint32_t target, uint32_t stream, uint64_t now_ms,
		     uint32_t *released)
{
	struct entry *e = find(t, k);
	size_t n = 0;

	if (!e) {
		e = add(t, k, now_ms);
	} else {
		/* Held fragments are released even when their entry has
		 * outlived the timeout but not yet met expire(): sending
		 * them on is better than dropping them. */
		e->born_ms = now_ms;
		list_del(&e->age);
		list_add(&t->age, &e->age);
		n = e->n_held;
		memcpy(released, e->held, n * sizeof(*released));
		t->held -= n;
		t->st.released += n;
		e->n_held = 0;
	}
	e->known = true;
	e->target = target;
	e->stream = stream;
	t->st.firsts++;
	return n;
}

enum frag_result fragtab_rest(struct fragtab *t, const struct frag_key *k,
				 uint32_t packet_id, uint64_t now_ms,
				 uint32_t *target, uint32_t *stream)
{
	struct entry *e = find(t, k);

	/* A known entry past its time may belong to an earlier datagram
	 * that used the same id: do not follow it. */
	if (e && e->known && expired(t, e, now_ms)) {
		remove_entry(t, e);
		t->st.expirations++;
		e = NULL;
	}
	if (e && e->known) {
		*target = e->target;
		if (stream)
			*stream = e->stream;
		t->st.forwarded++;
		return FRAG_FORWARD;
	}
	if (t->held >= t->max_held || (e && e->n_held >= t->hold)) {
		t->st.refused++;
		return FRAG_REFUSED;
	}
	if (!e)
		e = add(t, k, now_ms);
	e->held[e->n_held++] = packet_id;
	t->held++;
	t->st.holds++;
	return FRAG_HELD;
}

size_t fragtab_expire(struct fragtab *t, uint64_t now_ms)
{
	struct entry *e;
	size_t n = 0;

	while ((e = oldest(t)) && expired(t, e, now_ms)) {
		remove_entry(t, e);
		n++;
	}
	t->st.expirations += n;
	return n;
}

uint64_t fragtab_next_expiry(const struct fragtab *t)
{
	const struct entry *e = oldest(t);

	return e ? e->born_ms + t->timeout_ms : UINT64_MAX;
}

void fragtab_stats(const struct fragtab *t, struct fragtab_stats *s)
{
	*s = t->st;
	s->size = t->size;
	s->capacity = t->capacity;
	s->held = t->held;
	s->max_held = t->max_held;
}
