#include "htab.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

uint64_t ipam_htab_hash(const char *key)
{
	return XXH3_64bits(key, strlen(key));
}

/* The slot holding key, or the empty slot where it would go. */
static size_t slot(const struct ipam_htab *h, const char *key, uint64_t hash)
{
	size_t mask = h->cap - 1, i = (size_t)hash & mask;
	while (h->e[i].key &&
	       (h->e[i].hash != hash || strcmp(h->e[i].key, key) != 0))
		i = (i + 1) & mask;
	return i;
}

int ipam_htab_reserve(struct ipam_htab *h, size_t extra)
{
	size_t want = h->n + extra, cap = h->cap ? h->cap : 16;
	while (want > cap / 2)
		cap *= 2;
	if (cap == h->cap)
		return 0;
	struct ipam_hent *e = calloc(cap, sizeof(*e));
	if (!e)
		return -ENOMEM;
	struct ipam_htab old = *h;
	h->e = e;
	h->cap = cap;
	for (size_t i = 0; i < old.cap; i++)
		if (old.e[i].key)
			h->e[slot(h, old.e[i].key, old.e[i].hash)] = old.e[i];
	free(old.e);
	return 0;
}

void *ipam_htab_get(const struct ipam_htab *h, const char *key,
		   uint64_t hash)
{
	if (!h->cap)
		return NULL;
	const struct ipam_hent *e = &h->e[slot(h, key, hash)];
	return e->key ? e->val : NULL;
}

void ipam_htab_put(struct ipam_htab *h, const char *key, uint64_t hash,
		   void *val)
{
	size_t i = slot(h, key, hash);
	h->e[i] = (struct ipam_hent){ hash, key, val };
	h->n++;
}

void ipam_htab_del(struct ipam_htab *h, const char *key, uint64_t hash)
{
	if (!h->cap)
		return;
	size_t mask = h->cap - 1, i = slot(h, key, hash);
	if (!h->e[i].key)
		return;
	/* Backward shift: move up each following entry of the cluster that
	 * may sit at i, that is whose home slot is not cyclically in
	 * (i, j]. */
	for (size_t j = i;;) {
		j = (j + 1) & mask;
		if (!h->e[j].key)
			break;
		size_t k = (size_t)h->e[j].hash & mask;
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		h->e[i] = h->e[j];
		i = j;
	}
	h->e[i] = (struct ipam_hent){ 0 };
	h->n--;
}

void ipam_htab_destroy(struct ipam_htab *h)
{
	free(h->e);
	memset(h, 0, sizeof(*h));
}
