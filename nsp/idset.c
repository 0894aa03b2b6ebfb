#include "idset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int nsp_idset_reserve(struct nsp_idset *s, uint32_t id)
{
	if (id == 0 || id > NSP_IDSET_MAX)
		return -ERANGE;
	if (id <= s->cap)
		return 0;
	/* Doubling keeps a stream that fills up one identifier at a time at
	 * O(log N) reallocations; rounding to 64 keeps whole words. */
	uint32_t cap = s->cap ? s->cap : 64;
	while (cap < id)
		cap *= 2;
	if (cap > NSP_IDSET_MAX)
		cap = NSP_IDSET_MAX;

	uint64_t *words = calloc(cap / 64, sizeof(*words));
	if (!words)
		return -ENOMEM;
	void **holders = calloc(cap, sizeof(*holders));
	if (!holders) {
		free(words);
		return -ENOMEM;
	}
	if (s->cap) {
		memcpy(words, s->words, s->cap / 64 * sizeof(*words));
		memcpy(holders, s->holders, s->cap * sizeof(*holders));
	}
	free(s->words);
	free(s->holders);
	s->words = words;
	s->holders = holders;
	s->cap = cap;
	return 0;
}

uint32_t nsp_idset_lowest_free(const struct nsp_idset *s, uint32_t max)
{
	if (max > NSP_IDSET_MAX)
		max = NSP_IDSET_MAX;
	uint32_t nwords = s->cap / 64;
	for (uint32_t w = 0; w < nwords && w * 64 < max; w++) {
		uint64_t freebits = ~s->words[w];
		if (!freebits)
			continue;
		uint32_t id = w * 64 + (uint32_t)__builtin_ctzll(freebits) + 1;
		return id <= max ? id : 0;
	}
	/* Everything the bitmap covers is taken; identifiers past it are
	 * free by definition. */
	return s->cap < max ? s->cap + 1 : 0;
}

void *nsp_idset_holder(const struct nsp_idset *s, uint32_t id)
{
	if (id == 0 || id > s->cap)
		return NULL;
	return s->holders[id - 1];
}

void nsp_idset_take(struct nsp_idset *s, uint32_t id, void *holder)
{
	uint32_t i = id - 1;
	s->words[i / 64] |= UINT64_C(1) << (i % 64);
	s->holders[i] = holder;
	s->count++;
}

void nsp_idset_release(struct nsp_idset *s, uint32_t id)
{
	if (id == 0 || id > s->cap)
		return;
	uint32_t i = id - 1;
	uint64_t bit = UINT64_C(1) << (i % 64);
	if (!(s->words[i / 64] & bit))
		return;
	s->words[i / 64] &= ~bit;
	s->holders[i] = NULL;
	s->count--;
}

void nsp_idset_free(struct nsp_idset *s)
{
	free(s->words);
	free(s->holders);
	memset(s, 0, sizeof(*s));
}
