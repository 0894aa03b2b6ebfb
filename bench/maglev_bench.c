/* maglev_bench: what strait-lb's Maglev table (lib/maglev.c) costs and how
 * well it spreads flows.
 *
 * For each table shape (N targets, M slots):
 *   - build: the median and the fastest of several builds, which is what a
 *     target change costs the daemon before it swaps the new table in;
 *   - lookup: ns per packet over 4 million lookups, the table lookup
 *     alone (over precomputed hashes read in sequence) and XXH3 of a
 *     5-tuple plus the lookup. The tuple bytes are those lb_flow_hash
 *     (lb/flow.h) hashes: family, protocol, the two addresses, the two
 *     ports; 14 bytes for IPv4, 38 for IPv6. A million random tuples,
 *     made beforehand, are read in sequence (the prefetcher keeps up, as
 *     with packets NFQUEUE just copied); the slots they pick are random,
 *     so a table larger than the caches shows its misses. (Writing a
 *     counter into each tuple just before hashing it would measure a
 *     store-forwarding stall instead: 15 ns.) The loops are independent
 *     lookups, so the figure is a throughput (several packets in flight
 *     in the CPU);
 *   - balance: the largest over the smallest number of slots a target
 *     holds;
 *   - disruption: the slots that change when one target leaves (the mean
 *     over several targets), against the ideal M/N.
 *
 * Output: a readable table, or one JSON object with --json. Figures, not
 * assertions: the machines are shared. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#include "../lib/maglev.h"

#define FLOW_HASH_SEED UINT64_C(0x73747261697421) /* as lb/flow.h */
/* Tuples and hashes made beforehand, cycled through: 60 MB in all. */
#define RING (1u << 20)

struct shape {
	size_t n;
	uint32_t m;
	int builds;
};

struct result {
	struct shape s;
	double build_med_ms, build_min_ms;
	double lookup_ns, hash4_ns, hash6_ns;
	uint32_t min, max;
	double changed, ideal; /* slots, mean over removals */
	int removals;
};

static uint64_t rng = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * UINT64_C(0x2545f4914f6cdd1d);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* n distinct identifiers from 1..65536, in random order, as NSP might
 * hand them out after churn. */
static int random_ids(uint32_t *ids, size_t n)
{
	uint8_t *used = calloc(MAGLEV_ID_MAX + 1, 1);

	if (!used)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint32_t id;

		do
			id = (uint32_t)(rnd() % MAGLEV_ID_MAX) + 1;
		while (used[id]);
		used[id] = 1;
		ids[i] = id;
	}
	free(used);
	return 0;
}

/* Random tuples laid out as lb_flow_hash reads them, `len` bytes each
 * (14: IPv4, 38: IPv6), with a TCP or UDP protocol and random ports. */
static uint8_t *random_tuples(size_t count, size_t len)
{
	uint8_t *t = malloc(count * len);

	if (!t)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		uint8_t *p = t + i * len;

		for (size_t j = 0; j < len; j += 8) {
			uint64_t r = rnd();

			memcpy(p + j, &r, len - j < 8 ? len - j : 8);
		}
		p[0] = len == 14 ? 4 : 6;
		p[1] = (p[1] & 1) ? 6 : 17;
	}
	return t;
}

/* XXH3 of each tuple and the lookup: what the daemon does per packet
 * once it has classified it. Returns ns per packet. */
static double time_hash_lookup(const struct maglev *t, const uint8_t *ring,
			       size_t count, size_t len, uint64_t *sink)
{
	uint64_t t0 = now_ns(), s = 0;

	for (size_t i = 0; i < count; i++) {
		const uint8_t *p = ring + (i % RING) * len;

		s += maglev_lookup(
		    t, XXH3_64bits_withSeed(p, len, FLOW_HASH_SEED));
	}
	*sink += s;
	return (double)(now_ns() - t0) / (double)count;
}

static double time_lookup(const struct maglev *t, const uint64_t *hashes,
			  size_t count, uint64_t *sink)
{
	uint64_t t0 = now_ns(), s = 0;

	for (size_t i = 0; i < count; i++)
		s += maglev_lookup(t, hashes[i % RING]);
	*sink += s;
	return (double)(now_ns() - t0) / (double)count;
}

static int run_shape(const struct shape *s, size_t count, struct result *r,
		     uint64_t *sink)
{
	uint32_t *ids = malloc(s->n * sizeof(*ids));
	double *ms = calloc((size_t)s->builds, sizeof(*ms));
	uint8_t *v4 = random_tuples(RING, 14), *v6 = random_tuples(RING, 38);
	uint64_t *hashes = malloc(RING * sizeof(*hashes));
	struct maglev *t = NULL, *u;
	double sum = 0;
	int err = -ENOMEM;

	memset(r, 0, sizeof(*r));
	r->s = *s;
	if (!ids || !ms || !v4 || !v6 || !hashes)
		goto out;
	err = random_ids(ids, s->n);
	if (err)
		goto out;

	for (int i = 0; i < s->builds; i++) {
		uint64_t t0 = now_ns();

		err = maglev_build(ids, s->n, s->m, &u);
		if (err)
			goto out;
		ms[i] = (double)(now_ns() - t0) / 1e6;
		if (t)
			maglev_free(u);
		else
			t = u;
	}
	qsort(ms, (size_t)s->builds, sizeof(*ms), cmp_double);
	r->build_med_ms = ms[s->builds / 2];
	r->build_min_ms = ms[0];

	for (size_t i = 0; i < RING; i++)
		hashes[i] =
		    XXH3_64bits_withSeed(v4 + i * 14, 14, FLOW_HASH_SEED);
	/* A first pass warms the caches and the branch predictor; the
	 * second is the one reported. */
	for (int pass = 0; pass < 2; pass++) {
		r->lookup_ns = time_lookup(t, hashes, count, sink);
		r->hash4_ns = time_hash_lookup(t, v4, count, 14, sink);
		r->hash6_ns = time_hash_lookup(t, v6, count, 38, sink);
	}

	r->min = UINT32_MAX;
	for (size_t i = 0; i < s->n; i++) {
		uint32_t c = maglev_count(t, ids[i]);

		r->min = c < r->min ? c : r->min;
		r->max = c > r->max ? c : r->max;
	}

	/* Remove ids[i] by swapping it to the end and building n - 1. */
	r->removals = s->n < 10 ? (int)s->n : 10;
	for (int i = 0; i < r->removals; i++) {
		uint32_t gone = ids[i];
		ssize_t d;

		ids[i] = ids[s->n - 1];
		ids[s->n - 1] = gone;
		err = maglev_build(ids, s->n - 1, s->m, &u);
		ids[s->n - 1] = ids[i];
		ids[i] = gone;
		if (err)
			goto out;
		d = maglev_diff(t, u);
		maglev_free(u);
		sum += (double)d;
	}
	r->changed = sum / r->removals;
	r->ideal = (double)s->m / (double)s->n;
	err = 0;
out:
	maglev_free(t);
	free(hashes);
	free(v6);
	free(v4);
	free(ms);
	free(ids);
	return err;
}

static void print_table(const struct result *r, size_t nr, size_t count)
{
	printf("Maglev table (lib/maglev.c): %zu lookups over %u random "
	       "5-tuples\n\n",
	       count, RING);
	printf("%-17s %-17s %-25s %-8s %s\n", "", "build (ms)",
	       "lookup (ns/packet)", "balance", "one target removed");
	printf("%-17s %8s %8s %8s %8s %8s %8s %9s %9s %6s\n", "table", "median",
	       "fastest", "alone", "xxh3+v4", "xxh3+v6", "max/min", "changed",
	       "ideal 1/N", "ratio");
	for (size_t i = 0; i < nr; i++) {
		char shape[32];

		snprintf(shape, sizeof(shape), "N=%zu M=%u", r[i].s.n,
			 r[i].s.m);
		printf("%-17s %8.3f %8.3f %8.2f %8.2f %8.2f %8.4f %8.3f%% "
		       "%8.3f%% %6.2f\n",
		       shape, r[i].build_med_ms, r[i].build_min_ms,
		       r[i].lookup_ns, r[i].hash4_ns, r[i].hash6_ns,
		       (double)r[i].max / r[i].min,
		       100 * r[i].changed / r[i].s.m,
		       100 * r[i].ideal / r[i].s.m, r[i].changed / r[i].ideal);
	}
	printf("\nbuild: median and fastest of %d builds (3 for N=65536). "
	       "lookup: independent\nlookups (a throughput), the table "
	       "alone and with XXH3 of an IPv4/IPv6 tuple.\nbalance: most "
	       "over fewest slots of a target. removed: slots changed, mean\n"
	       "over up to 10 targets, against the ideal M/N.\n",
	       r[0].s.builds);
}

static void print_json(const struct result *r, size_t nr, size_t count)
{
	printf("{\"lookups\":%zu,\"tuples\":%u,\"tables\":[", count, RING);
	for (size_t i = 0; i < nr; i++)
		printf("%s{\"n\":%zu,\"m\":%u,\"builds\":%d,"
		       "\"build_median_ms\":%.4f,\"build_min_ms\":%.4f,"
		       "\"lookup_ns\":%.3f,\"hash_lookup_v4_ns\":%.3f,"
		       "\"hash_lookup_v6_ns\":%.3f,\"min_slots\":%u,"
		       "\"max_slots\":%u,\"removal_changed_slots\":%.1f,"
		       "\"removal_ideal_slots\":%.1f,\"removals\":%d}",
		       i ? "," : "", r[i].s.n, r[i].s.m, r[i].s.builds,
		       r[i].build_med_ms, r[i].build_min_ms, r[i].lookup_ns,
		       r[i].hash4_ns, r[i].hash6_ns, r[i].min, r[i].max,
		       r[i].changed, r[i].ideal, r[i].removals);
	printf("]}\n");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: maglev_bench [--json] [--lookups N] [--quick]\n"
		   "  --json      one JSON object instead of the table\n"
		   "  --lookups N lookups per run (4000000)\n"
		   "  --quick     skip the N=65536 row\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "lookups", required_argument, NULL, 'l' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* The two shapes of the issue, a stream with max-targets 100 and
	 * few live targets, and the largest stream NSP allows. */
	const struct shape shapes[] = {
		{ 100, 10007, 21 },
		{ 1000, 100003, 21 },
		{ 4, 10007, 21 },
		{ 65536, maglev_default_size(65536), 3 },
	};
	size_t nshapes = sizeof(shapes) / sizeof(shapes[0]);
	struct result res[sizeof(shapes) / sizeof(shapes[0])];
	size_t count = 4000000;
	bool json = false, quick = false;
	uint64_t sink = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'l':
			count = strtoul(optarg, NULL, 10);
			if (!count) {
				usage(stderr);
				return 2;
			}
			break;
		case 'q':
			quick = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (quick)
		nshapes--;
	for (size_t i = 0; i < nshapes; i++) {
		int err = run_shape(&shapes[i], count, &res[i], &sink);

		if (err) {
			fprintf(stderr, "maglev_bench: N=%zu M=%u: %s\n",
				shapes[i].n, shapes[i].m, strerror(-err));
			return 1;
		}
	}
	if (json)
		print_json(res, nshapes, count);
	else
		print_table(res, nshapes, count);
	/* Keeps the lookups from being optimised away. */
	if (sink == 42)
		fprintf(stderr, " \n");
	return 0;
}
