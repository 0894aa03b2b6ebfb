/* Unit tests of the Maglev table (lib/maglev.c): balance, disruption when a
 * target leaves or joins, independence from the registration order, the
 * limits, and a pinned table so that a change of the definition (seeds,
 * hashed bytes, fill order), which would make LBs of two versions disagree,
 * cannot pass unnoticed. Figures are printed as they are checked. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "../../lib/maglev.h"

/* A small deterministic generator (xorshift64*), so that a failure can be
 * replayed: the tests' "random" ids and hashes are the same on every run. */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

static void shuffle(uint32_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd() % i;
		uint32_t x = a[i - 1];

		a[i - 1] = a[j];
		a[j] = x;
	}
}

/* n distinct identifiers drawn from 1..65536, in random order. */
static uint32_t *random_ids(size_t n)
{
	static uint8_t used[MAGLEV_ID_MAX + 1];
	uint32_t *ids = malloc(n * sizeof(*ids));

	assert_non_null(ids);
	memset(used, 0, sizeof(used));
	for (size_t i = 0; i < n; i++) {
		uint32_t id;

		do
			id = (uint32_t)(rnd() % MAGLEV_ID_MAX) + 1;
		while (used[id]);
		used[id] = 1;
		ids[i] = id;
	}
	return ids;
}

static struct maglev *build(const uint32_t *ids, size_t n, uint32_t m)
{
	struct maglev *t = NULL;

	assert_int_equal(maglev_build(ids, n, m, &t), 0);
	assert_non_null(t);
	assert_int_equal(maglev_size(t), m);
	assert_int_equal(maglev_targets(t), n);
	return t;
}

/* Walks every slot (lookup(t, s) reads slot s) and checks that each holds
 * one of ids, that each id's count is what maglev_count says, and that
 * the counts add up to M. Returns the smallest and largest count. */
static void walk(const struct maglev *t, const uint32_t *ids, size_t n,
		 uint32_t *min, uint32_t *max)
{
	uint32_t m = maglev_size(t);
	uint32_t *seen = calloc(MAGLEV_ID_MAX + 1, sizeof(*seen));
	uint64_t total = 0;

	assert_non_null(seen);
	for (uint32_t s = 0; s < m; s++) {
		uint32_t id = maglev_lookup(t, s);

		assert_in_range(id, 1, MAGLEV_ID_MAX);
		seen[id]++;
	}
	*min = UINT32_MAX;
	*max = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = seen[ids[i]];

		assert_int_equal(c, maglev_count(t, ids[i]));
		seen[ids[i]] = 0;
		total += c;
		*min = c < *min ? c : *min;
		*max = c > *max ? c : *max;
	}
	/* Nothing outside ids was seen. */
	assert_int_equal(total, m);
	for (uint32_t id = 0; id <= MAGLEV_ID_MAX; id++)
		assert_int_equal(seen[id], 0);
	free(seen);
}

static void test_primes_and_default_size(void **state)
{
	(void)state;
	/* Against a sieve up to 100,000. */
	enum { LIM = 100000 };
	uint8_t *composite = calloc(LIM + 1, 1);

	assert_non_null(composite);
	composite[0] = composite[1] = 1;
	for (uint32_t i = 2; i * i <= LIM; i++)
		if (!composite[i])
			for (uint32_t j = i * i; j <= LIM; j += i)
				composite[j] = 1;
	for (uint32_t i = 0; i <= LIM; i++)
		assert_int_equal(maglev_is_prime(i), !composite[i]);
	free(composite);

	assert_true(maglev_is_prime(100003));
	assert_true(maglev_is_prime(6553621));
	assert_false(maglev_is_prime(6553601));	   /* 13 * 504123 */
	assert_true(maglev_is_prime(4294967291u)); /* the largest */
	assert_false(maglev_is_prime(4294967295u));
	assert_false(maglev_is_prime(65521u * 65521u));

	assert_int_equal(maglev_default_size(0), 101);
	assert_int_equal(maglev_default_size(1), 101);
	assert_int_equal(maglev_default_size(3), 307);
	assert_int_equal(maglev_default_size(10), 1009);
	assert_int_equal(maglev_default_size(100), 10007);
	assert_int_equal(maglev_default_size(1000), 100003);
	assert_int_equal(maglev_default_size(MAGLEV_ID_MAX), 6553621);
	/* Above the identifier range counts as the range. */
	assert_int_equal(maglev_default_size(UINT32_MAX), 6553621);
	assert_true(maglev_default_size(UINT32_MAX) <= MAGLEV_SIZE_MAX);
}

/* With M the default size (>= 100 N), every target holds M/N slots to
 * within 1%; the turn-taking fill in fact makes them differ by at most one
 * slot. */
static void test_balance(void **state)
{
	(void)state;
	static const size_t ns[] = {1, 3, 10, 100, 1000};

	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		size_t n = ns[k];
		uint32_t m = maglev_default_size((uint32_t)n);
		uint32_t *ids = random_ids(n);
		struct maglev *t = build(ids, n, m);
		uint32_t min, max;

		walk(t, ids, n, &min, &max);
		printf("balance: N=%zu M=%u min %u max %u (max/min %.4f)\n", n,
		       m, min, max, (double)max / min);
		assert_true((uint64_t)max * 100 <= (uint64_t)min * 101);
		assert_true(max - min <= 1);
		maglev_free(t);
		free(ids);
	}
}

/* Two LBs that learned the same targets in different orders build the
 * same table. */
static void test_order_independent(void **state)
{
	(void)state;
	static const size_t ns[] = {2, 3, 10, 100, 1000};

	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		size_t n = ns[k];
		uint32_t m = maglev_default_size((uint32_t)n);
		uint32_t *ids = random_ids(n);
		struct maglev *a = build(ids, n, m), *b;

		for (int round = 0; round < 5; round++) {
			shuffle(ids, n);
			b = build(ids, n, m);
			assert_int_equal(maglev_diff(a, b), 0);
			assert_int_equal(maglev_diff(b, a), 0);
			maglev_free(b);
		}
		maglev_free(a);
		free(ids);
	}
}

/* The disruption cases: N targets in a table of M slots, and the bounds
 * on slots changed over the ideal M/N, for the mean of several changes and
 * for the worst one. The mean is held to 1.5 where Maglev comes close to
 * the ideal: small N, or M well above 100 N, which is the usual case of a
 * stream whose max-targets (hence M) is well above its live targets. One
 * change alone varies more when M/N is small (up to 2.1 at N = 10, M =
 * 1009 over 200 random sets of ids). At M = 100 N with N = 100 or 1000,
 * Maglev moves 2.6 and 6.7 times the ideal on average (see maglev.h; a
 * plain model of the paper's algorithm gives the same); those rows hold
 * that figure with a margin, so that a regression shows. */
struct disruption_case {
	size_t n;
	uint32_t m;
	double mean, worst;
};

static const struct disruption_case disruption_cases[] = {
    {3, 307, 1.5, 2.0}, /* M = default size for N */
    {10, 1009, 1.5, 2.5},
    {100, 10007, 3.2, 3.5},
    {1000, 100003, 8.0, 8.0},
    {4, 10007, 1.5, 1.5}, /* max-targets 100, few live */
    {10, 10007, 1.5, 1.5},
    {20, 10007, 1.5, 1.5},
    {100, 1000003, 1.5, 1.5}, /* M = 10,000 N */
};

#define NCASES (sizeof(disruption_cases) / sizeof(disruption_cases[0]))

static void report(const char *what, const struct disruption_case *c,
		   double sum, double worst, size_t tries)
{
	printf("%s: N=%4zu M=%7u changed/ideal(M/N) mean %.3f worst %.3f "
	       "(bounds %.1f %.1f, %zu changes)\n",
	       what, c->n, c->m, sum / tries, worst, c->mean, c->worst, tries);
	assert_true(sum / tries <= c->mean);
	assert_true(worst <= c->worst);
}

/* One of N targets leaves: its own slots must move (to the others, evenly
 * enough to keep the balance), and as few others as may be. */
static void test_remove_one(void **state)
{
	(void)state;

	for (size_t k = 0; k < NCASES; k++) {
		const struct disruption_case *c = &disruption_cases[k];
		size_t n = c->n;
		uint32_t m = c->m;
		uint32_t *ids = random_ids(n);
		struct maglev *a = build(ids, n, m);
		double ideal = (double)m / n, worst = 0, sum = 0;
		size_t tries = n < 10 ? n : 10;

		for (size_t r = 0; r < tries; r++) {
			/* Remove ids[r]: swap it to the end, build n - 1. */
			uint32_t gone = ids[r];
			uint32_t min, max;
			struct maglev *b;
			ssize_t d;

			ids[r] = ids[n - 1];
			ids[n - 1] = gone;
			b = build(ids, n - 1, m);
			d = maglev_diff(a, b);
			assert_true(d >= maglev_count(a, gone));
			assert_int_equal(maglev_count(b, gone), 0);
			worst = d / ideal > worst ? d / ideal : worst;
			sum += d / ideal;
			walk(b, ids, n - 1, &min, &max);
			assert_true(max - min <= 1);
			maglev_free(b);
			ids[n - 1] = ids[r];
			ids[r] = gone;
		}
		report("remove one", c, sum, worst, tries);
		maglev_free(a);
		free(ids);
	}
}

/* A target joins N - 1 others: it takes about M/N slots, and as few others
 * move as may be. Each try adds a different newcomer to the same N - 1. */
static void test_add_one(void **state)
{
	(void)state;

	for (size_t k = 0; k < NCASES; k++) {
		const struct disruption_case *c = &disruption_cases[k];
		size_t n = c->n, tries = 10;
		uint32_t m = c->m;
		uint32_t *ids = random_ids(n - 1 + tries);
		struct maglev *a = build(ids, n - 1, m);
		double ideal = (double)m / n, worst = 0, sum = 0;

		for (size_t r = 0; r < tries; r++) {
			uint32_t x = ids[n - 1];
			struct maglev *b;
			ssize_t d;

			ids[n - 1] = ids[n - 1 + r];
			ids[n - 1 + r] = x;
			b = build(ids, n, m);
			d = maglev_diff(a, b);
			assert_true(d >= maglev_count(b, ids[n - 1]));
			worst = d / ideal > worst ? d / ideal : worst;
			sum += d / ideal;
			maglev_free(b);
			ids[n - 1 + r] = ids[n - 1];
			ids[n - 1] = x;
		}
		report("add one", c, sum, worst, tries);
		maglev_free(a);
		free(ids);
	}
}

/* Any hash lands on a registered target, and all targets get their share
 * of random hashes. */
static void test_lookup_random(void **state)
{
	(void)state;
	uint32_t ids[] = {7, 1, 65536, 300, 42};
	size_t n = sizeof(ids) / sizeof(ids[0]);
	struct maglev *t = build(ids, n, maglev_default_size(n));
	uint32_t hits[5] = {0};
	const uint32_t draws = 1000000;
	uint32_t min, max;

	walk(t, ids, n, &min, &max);
	for (uint32_t i = 0; i < draws; i++) {
		uint32_t id = maglev_lookup(t, rnd());
		size_t j;

		for (j = 0; j < n && ids[j] != id; j++)
			;
		assert_true(j < n);
		hits[j]++;
	}
	for (size_t j = 0; j < n; j++)
		assert_in_range(hits[j], draws / n * 95 / 100,
				draws / n * 105 / 100);
	/* The slot of a hash is its 32-bit fold modulo M, whatever the
	 * arithmetic that computes it. */
	for (uint32_t i = 0; i < 100000; i++) {
		uint64_t h = i < 4 ? UINT64_MAX - i : rnd();
		uint32_t fold = (uint32_t)h ^ (uint32_t)(h >> 32);

		assert_int_equal(maglev_lookup(t, h),
				 maglev_lookup(t, fold % maglev_size(t)));
	}
	/* The same at other sizes, up to the largest default. */
	static const uint32_t sizes[] = {2, 101, 10007, 6553621};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct maglev *u = build(ids, 2, sizes[k]);

		for (uint32_t i = 0; i < 100000; i++) {
			uint64_t h = rnd();
			uint32_t fold = (uint32_t)h ^ (uint32_t)(h >> 32);

			assert_int_equal(maglev_lookup(u, h),
					 maglev_lookup(u, fold % sizes[k]));
		}
		maglev_free(u);
	}
	/* Identifiers at both ends of the range come back whole. */
	assert_true(maglev_count(t, 1) > 0);
	assert_true(maglev_count(t, 65536) > 0);
	assert_int_equal(maglev_count(t, 2), 0);
	assert_int_equal(maglev_count(t, 0), 0);
	maglev_free(t);
}

static void test_empty(void **state)
{
	(void)state;
	struct maglev *e = build(NULL, 0, 101), *one;
	uint32_t id = 5;

	for (int i = 0; i < 1000; i++)
		assert_int_equal(maglev_lookup(e, rnd()), 0);
	assert_int_equal(maglev_lookup(e, 0), 0);
	assert_int_equal(maglev_count(e, 5), 0);
	assert_int_equal(maglev_diff(e, e), 0);

	one = build(&id, 1, 101);
	assert_int_equal(maglev_count(one, 5), 101);
	assert_int_equal(maglev_lookup(one, 12345), 5);
	/* From no target to one: every flow has a new target. */
	assert_int_equal(maglev_diff(e, one), 101);
	assert_int_equal(maglev_diff(one, e), 101);
	maglev_free(one);
	maglev_free(e);
	maglev_free(NULL);
}

/* Tiny tables: M = N gives each target one slot; M = 2 works. */
static void test_small(void **state)
{
	(void)state;
	uint32_t ids[] = {9, 4, 2, 11, 3};
	struct maglev *t = build(ids, 5, 5);

	for (size_t i = 0; i < 5; i++)
		assert_int_equal(maglev_count(t, ids[i]), 1);
	maglev_free(t);
	t = build(ids, 2, 2);
	assert_int_equal(maglev_count(t, 9), 1);
	assert_int_equal(maglev_count(t, 4), 1);
	maglev_free(t);
	t = build(ids, 1, 2);
	assert_int_equal(maglev_count(t, 9), 2);
	maglev_free(t);
}

static void test_refused(void **state)
{
	(void)state;
	/* A refused build leaves *out as it was. */
	static char sentinel;
	struct maglev *const keep = (struct maglev *)(void *)&sentinel;
	struct maglev *t = keep;
	uint32_t ok[] = {1, 2, 3};
	uint32_t dup[] = {5, 8, 5};
	uint32_t zero[] = {1, 0};
	uint32_t big[] = {1, MAGLEV_ID_MAX + 1};
	uint32_t m = MAGLEV_SIZE_MAX + 1;

	/* M not prime. */
	assert_int_equal(maglev_build(ok, 3, 0, &t), -EINVAL);
	assert_int_equal(maglev_build(ok, 3, 1, &t), -EINVAL);
	assert_int_equal(maglev_build(ok, 3, 100, &t), -EINVAL);
	assert_int_equal(maglev_build(ok, 3, 10005, &t), -EINVAL);
	assert_int_equal(maglev_build(NULL, 0, 100, &t), -EINVAL);
	/* M prime but too large. */
	while (!maglev_is_prime(m))
		m++;
	assert_int_equal(maglev_build(ok, 3, m, &t), -EINVAL);
	/* M smaller than N: a target would get no slot. */
	assert_int_equal(maglev_build(ok, 3, 2, &t), -EINVAL);
	/* No ids with n > 0. */
	assert_int_equal(maglev_build(NULL, 3, 101, &t), -EINVAL);
	/* Duplicates, also when the copies are far apart. */
	assert_int_equal(maglev_build(dup, 3, 101, &t), -EEXIST);
	/* Out of range. */
	assert_int_equal(maglev_build(zero, 2, 101, &t), -ERANGE);
	assert_int_equal(maglev_build(big, 2, 101, &t), -ERANGE);
	assert_ptr_equal(t, keep);
}

/* The table for ids 1..3, M = 101, pinned. Every LB must build exactly
 * this; if a change to maglev.c moves it, LBs of the old and the new
 * version would send the same flow to different targets. Change the
 * pinned value only together with a note in the release that says so. */
static void test_pinned(void **state)
{
	(void)state;
	uint32_t ids[] = {3, 1, 2};
	struct maglev *t = build(ids, 3, 101);
	uint8_t slots[101];
	char first[32] = "";

	for (uint32_t s = 0; s < 101; s++)
		slots[s] = (uint8_t)maglev_lookup(t, s);
	for (uint32_t s = 0; s < 12; s++)
		first[s] = (char)('0' + slots[s]);
	printf("pinned: first slots %s, XXH3 %016llx\n", first,
	       (unsigned long long)XXH3_64bits(slots, sizeof(slots)));
	assert_string_equal(first, "313123322213");
	assert_true(XXH3_64bits(slots, sizeof(slots)) ==
		    UINT64_C(0xe65b09ee37c589c4));
	maglev_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_primes_and_default_size),
	    cmocka_unit_test(test_balance),
	    cmocka_unit_test(test_order_independent),
	    cmocka_unit_test(test_remove_one),
	    cmocka_unit_test(test_add_one),
	    cmocka_unit_test(test_lookup_random),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_small),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_pinned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
