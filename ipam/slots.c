#include "slots.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ipam_slots_init(struct ipam_slots *s, uint64_t lo, uint64_t hi)
{
	memset(s, 0, sizeof(*s));
	s->lo = lo;
	s->hi = hi;
}

void ipam_slots_destroy(struct ipam_slots *s)
{
	free(s->runs);
	ipam_slots_init(s, s->lo, s->hi);
}

int ipam_slots_reserve(struct ipam_slots *s, size_t extra)
{
	if (s->cap - s->n >= extra)
		return 0;
	size_t cap = s->cap ? 2 * s->cap : 4;
	while (cap - s->n < extra)
		cap *= 2;
	struct ipam_slot_run *runs = realloc(s->runs, cap * sizeof(*runs));
	if (!runs)
		return -ENOMEM;
	s->runs = runs;
	s->cap = cap;
	return 0;
}

/* The position of the first run (in descending order) whose first index is
 * at or below idx: the run holding idx if any, otherwise the run just below
 * idx; n when every run lies above idx. */
static size_t find(const struct ipam_slots *s, uint64_t idx)
{
	size_t a = 0, b = s->n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (s->runs[m].first <= idx)
			b = m;
		else
			a = m + 1;
	}
	return a;
}

static void insert_at(struct ipam_slots *s, size_t i, uint64_t first,
		      uint64_t last)
{
	memmove(&s->runs[i + 1], &s->runs[i], (s->n - i) * sizeof(s->runs[0]));
	s->runs[i] = (struct ipam_slot_run){ first, last };
	s->n++;
}

static void remove_at(struct ipam_slots *s, size_t i)
{
	memmove(&s->runs[i], &s->runs[i + 1],
		(s->n - i - 1) * sizeof(s->runs[0]));
	s->n--;
}

bool ipam_slots_used(const struct ipam_slots *s, uint64_t idx)
{
	size_t i = find(s, idx);
	return i < s->n && s->runs[i].last >= idx;
}

int ipam_slots_lowest(const struct ipam_slots *s, uint64_t *idx)
{
	if (s->n == 0 || s->runs[s->n - 1].first > s->lo) {
		*idx = s->lo;
		return 0;
	}
	/* The lowest run starts at lo; runs never touch, so the index after
	 * it is free unless the run reaches hi. */
	const struct ipam_slot_run *low = &s->runs[s->n - 1];
	if (low->last == s->hi)
		return -ENOSPC;
	*idx = low->last + 1;
	return 0;
}

int ipam_slots_take(struct ipam_slots *s, uint64_t idx)
{
	if (idx < s->lo || idx > s->hi)
		return -ERANGE;
	size_t i = find(s, idx);
	if (i < s->n && s->runs[i].last >= idx)
		return -EEXIST;
	/* runs[i] (if any) ends below idx and runs[i - 1] (if any) starts
	 * above it, so neither idx + 1 nor last + 1 can overflow. */
	bool below = i < s->n && s->runs[i].last + 1 == idx;
	bool above = i > 0 && s->runs[i - 1].first == idx + 1;
	if (below && above) {
		s->runs[i - 1].first = s->runs[i].first;
		remove_at(s, i);
	} else if (below) {
		s->runs[i].last = idx;
	} else if (above) {
		s->runs[i - 1].first = idx;
	} else {
		if (ipam_slots_reserve(s, 1) < 0)
			return -ENOMEM;
		insert_at(s, i, idx, idx);
	}
	s->count++;
	return 0;
}

int ipam_slots_take_lowest(struct ipam_slots *s, uint64_t *idx)
{
	uint64_t low;
	int rc = ipam_slots_lowest(s, &low);
	if (rc < 0)
		return rc;
	/* The run it joins, or the new run, is at the end of the array:
	 * nothing moves except when a hole closes, and then only the last
	 * run is dropped. */
	rc = ipam_slots_take(s, low);
	if (rc < 0)
		return rc;
	*idx = low;
	return 0;
}

int ipam_slots_release(struct ipam_slots *s, uint64_t idx)
{
	if (idx < s->lo || idx > s->hi)
		return -ERANGE;
	size_t i = find(s, idx);
	if (i == s->n || s->runs[i].last < idx)
		return -ENOENT;
	struct ipam_slot_run *r = &s->runs[i];
	if (r->first == idx && r->last == idx) {
		remove_at(s, i);
	} else if (r->first == idx) {
		r->first++;
	} else if (r->last == idx) {
		r->last--;
	} else {
		/* A split: the upper part stays at i, the lower part follows
		 * it (descending order). */
		if (ipam_slots_reserve(s, 1) < 0)
			return -ENOMEM;
		r = &s->runs[i];
		uint64_t first = r->first;
		r->first = idx + 1;
		insert_at(s, i + 1, first, idx - 1);
	}
	s->count--;
	return 0;
}
