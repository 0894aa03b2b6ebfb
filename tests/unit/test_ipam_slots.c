/* Unit tests of IPAM's index sets (ipam/slots.c): lowest-free order, holes,
 * spans up to 2^64, a random walk against a plain bitmap, and the cost of
 * 100,000 indexes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../ipam/slots.h"

/* The runs must stay descending, disjoint, non-adjacent, in the span, and
 * add up to count. */
static void check_invariants(const struct ipam_slots *s)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct ipam_slot_run *r = &s->runs[i];
		assert_true(r->first <= r->last);
		assert_true(r->first >= s->lo && r->last <= s->hi);
		if (i > 0)
			assert_true(r->last + 1 < s->runs[i - 1].first);
		sum += r->last - r->first + 1;
	}
	assert_int_equal(sum, s->count);
}

static void test_lowest_first_and_holes(void **state)
{
	(void)state;
	struct ipam_slots s;
	uint64_t idx;
	ipam_slots_init(&s, 2, 9);
	for (uint64_t want = 2; want <= 9; want++) {
		assert_int_equal(ipam_slots_take_lowest(&s, &idx), 0);
		assert_int_equal(idx, want);
	}
	assert_int_equal(s.n, 1); /* one run */
	assert_int_equal(ipam_slots_take_lowest(&s, &idx), -ENOSPC);
	assert_int_equal(ipam_slots_lowest(&s, &idx), -ENOSPC);
	assert_int_equal(ipam_slots_count(&s), 8);

	/* Holes at 7, 4 and 5: refilled lowest first. */
	assert_int_equal(ipam_slots_release(&s, 7), 0);
	assert_int_equal(ipam_slots_release(&s, 4), 0);
	assert_int_equal(ipam_slots_release(&s, 5), 0);
	check_invariants(&s);
	assert_int_equal(s.n, 3);
	assert_false(ipam_slots_used(&s, 4));
	assert_true(ipam_slots_used(&s, 6));
	assert_int_equal(ipam_slots_take_lowest(&s, &idx), 0);
	assert_int_equal(idx, 4);
	assert_int_equal(ipam_slots_take_lowest(&s, &idx), 0);
	assert_int_equal(idx, 5);
	assert_int_equal(ipam_slots_take_lowest(&s, &idx), 0);
	assert_int_equal(idx, 7);
	assert_int_equal(s.n, 1);
	check_invariants(&s);

	/* The low end: releasing lo makes it the lowest again. */
	assert_int_equal(ipam_slots_release(&s, 2), 0);
	assert_int_equal(ipam_slots_lowest(&s, &idx), 0);
	assert_int_equal(idx, 2);
	ipam_slots_destroy(&s);
}

static void test_errors(void **state)
{
	(void)state;
	struct ipam_slots s;
	ipam_slots_init(&s, 10, 20);
	assert_int_equal(ipam_slots_take(&s, 9), -ERANGE);
	assert_int_equal(ipam_slots_take(&s, 21), -ERANGE);
	assert_int_equal(ipam_slots_release(&s, 21), -ERANGE);
	assert_int_equal(ipam_slots_release(&s, 15), -ENOENT);
	assert_int_equal(ipam_slots_take(&s, 15), 0);
	assert_int_equal(ipam_slots_take(&s, 15), -EEXIST);
	assert_int_equal(ipam_slots_count(&s), 1);
	assert_false(ipam_slots_used(&s, 9));
	assert_false(ipam_slots_used(&s, 100));
	/* A specific take next to runs merges them. */
	assert_int_equal(ipam_slots_take(&s, 17), 0);
	assert_int_equal(ipam_slots_take(&s, 16), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(ipam_slots_release(&s, 16), 0); /* a split */
	assert_int_equal(s.n, 2);
	check_invariants(&s);
	ipam_slots_destroy(&s);
	assert_int_equal(s.n, 0);
	assert_int_equal(ipam_slots_count(&s), 0);
}

static void test_full_span(void **state)
{
	(void)state;
	struct ipam_slots s;
	uint64_t idx;
	/* A v6 /64 node: offsets 2 .. 2^64 - 2. */
	ipam_slots_init(&s, 2, UINT64_MAX - 1);
	assert_int_equal(ipam_slots_take(&s, UINT64_MAX - 1), 0);
	assert_int_equal(ipam_slots_take(&s, UINT64_MAX), -ERANGE);
	assert_int_equal(ipam_slots_take(&s, UINT64_MAX - 2), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(ipam_slots_take_lowest(&s, &idx), 0);
	assert_int_equal(idx, 2);
	assert_int_equal(ipam_slots_release(&s, UINT64_MAX - 1), 0);
	check_invariants(&s);

	/* The whole uint64_t range. */
	ipam_slots_destroy(&s);
	ipam_slots_init(&s, 0, UINT64_MAX);
	assert_int_equal(ipam_slots_take(&s, UINT64_MAX), 0);
	assert_int_equal(ipam_slots_take(&s, 0), 0);
	assert_int_equal(ipam_slots_take_lowest(&s, &idx), 0);
	assert_int_equal(idx, 1);
	assert_true(ipam_slots_used(&s, UINT64_MAX));
	assert_int_equal(ipam_slots_release(&s, UINT64_MAX), 0);
	check_invariants(&s);
	ipam_slots_destroy(&s);

	/* A span of one. */
	ipam_slots_init(&s, 5, 5);
	assert_int_equal(ipam_slots_take_lowest(&s, &idx), 0);
	assert_int_equal(idx, 5);
	assert_int_equal(ipam_slots_take_lowest(&s, &idx), -ENOSPC);
	ipam_slots_destroy(&s);
}

/* A random walk of takes and releases compared with a plain bitmap. */
static void test_against_bitmap(void **state)
{
	(void)state;
	enum { LO = 3, HI = 300 };
	bool used[HI + 1] = { false };
	struct ipam_slots s;
	ipam_slots_init(&s, LO, HI);
	srand(7);
	for (int step = 0; step < 200000; step++) {
		int op = rand() % 3;
		uint64_t i = LO + (uint64_t)(rand() % (HI - LO + 1)), got;
		if (op == 0) {
			uint64_t want = 0;
			for (uint64_t k = LO; k <= HI && !want; k++)
				if (!used[k])
					want = k;
			int rc = ipam_slots_take_lowest(&s, &got);
			if (!want) {
				assert_int_equal(rc, -ENOSPC);
			} else {
				assert_int_equal(rc, 0);
				assert_int_equal(got, want);
				used[want] = true;
			}
		} else if (op == 1) {
			assert_int_equal(ipam_slots_take(&s, i),
					 used[i] ? -EEXIST : 0);
			used[i] = true;
		} else {
			assert_int_equal(ipam_slots_release(&s, i),
					 used[i] ? 0 : -ENOENT);
			used[i] = false;
		}
		if (step % 97 == 0) {
			check_invariants(&s);
			for (uint64_t k = LO; k <= HI; k++)
				assert_int_equal(ipam_slots_used(&s, k),
						 used[k]);
		}
	}
	ipam_slots_destroy(&s);
}

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100,000 indexes taken, every other one released and taken back (the
 * worst shape, 50,000 runs), all well under a second even under ASan. */
static void test_hundred_thousand(void **state)
{
	(void)state;
	enum { N = 100000 };
	struct ipam_slots s;
	uint64_t idx;
	ipam_slots_init(&s, 2, UINT64_MAX - 1);
	double t0 = seconds();
	for (uint64_t i = 0; i < N; i++) {
		assert_int_equal(ipam_slots_take_lowest(&s, &idx), 0);
		assert_int_equal(idx, i + 2);
	}
	assert_int_equal(s.n, 1);
	double t1 = seconds();
	/* Released from the top down, so that each split moves few runs. */
	for (uint64_t i = N; i >= 2; i -= 2)
		assert_int_equal(ipam_slots_release(&s, i), 0);
	assert_int_equal(s.n, N / 2);
	for (uint64_t i = 2; i <= N; i += 2) {
		assert_int_equal(ipam_slots_take_lowest(&s, &idx), 0);
		assert_int_equal(idx, i);
	}
	assert_int_equal(s.n, 1);
	double t2 = seconds();
	print_message("100,000 takes in %.1f ms; 50,000 releases and "
		      "refills in %.1f ms\n",
		      (t1 - t0) * 1e3, (t2 - t1) * 1e3);
	assert_true(t1 - t0 < 1.0);
	assert_true(t2 - t1 < 2.0);
	check_invariants(&s);
	ipam_slots_destroy(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lowest_first_and_holes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_full_span),
		cmocka_unit_test(test_against_bitmap),
		cmocka_unit_test(test_hundred_thousand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
