/* Unit tests of the connection table (lib/conntab.h) and the fragment table
 * (lib/fragtab.h), in virtual time. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/conntab.h"
#include "../../lib/fragtab.h"

/* ---- helpers ---- */

static struct pkt pkt(uint8_t proto, const char *src, const char *dst,
		      uint16_t sport, uint16_t dport)
{
	struct pkt p;
	int family = strchr(dst, ':') ? AF_INET6 : AF_INET;

	memset(&p, 0, sizeof(p));
	p.family = family;
	p.proto = proto;
	assert_int_equal(inet_pton(family, src, p.src), 1);
	assert_int_equal(inet_pton(family, dst, p.dst), 1);
	p.sport = sport;
	p.dport = dport;
	p.has_ports = proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
		      proto == IPPROTO_SCTP;
	return p;
}

/* Connection n of protocol proto: distinct source ports, then addresses. */
static struct conn_key key(uint8_t proto, unsigned n)
{
	struct pkt p = pkt(proto, "192.0.2.1", "198.18.0.1", 0, 80);
	struct conn_key k;

	p.sport = (uint16_t)(1024 + n % 60000);
	p.src[3] = (uint8_t)(1 + n / 60000);
	conn_key_from_packet(&k, &p);
	return k;
}

static struct conntab *ct_new(size_t capacity)
{
	struct conntab_config cfg = {.capacity = capacity, .seed = 42};
	struct conntab *t = NULL;

	assert_int_equal(conntab_create(&cfg, &t), 0);
	return t;
}

static struct conntab_stats ct_stats(const struct conntab *t)
{
	struct conntab_stats s;

	conntab_stats(t, &s);
	return s;
}

/* The counters always account for every entry. */
static void ct_check(const struct conntab *t)
{
	struct conntab_stats s = ct_stats(t);

	assert_true(s.size <= s.capacity);
	assert_int_equal(s.inserts - s.evictions - s.expirations - s.forgotten,
			 s.size);
}

static bool hit(struct conntab *t, const struct conn_key *k, uint64_t now,
		uint32_t want)
{
	uint32_t target = 0, stream = 0;

	if (conntab_lookup(t, k, now, &target, &stream))
		return false;
	assert_int_equal(target, want);
	return true;
}

/* ---- connection table ---- */

static void test_keys(void **state)
{
	struct pkt a = pkt(IPPROTO_TCP, "192.0.2.1", "198.18.0.1", 5, 80);
	struct pkt b = a;
	struct conn_key ka, kb;

	(void)state;
	/* Garbage past an IPv4 address and in other fields must not count. */
	b.src[9] = 0xaa;
	b.dst[15] = 0xbb;
	b.l4len = 99;
	b.total_len = 1500;
	conn_key_from_packet(&ka, &a);
	conn_key_from_packet(&kb, &b);
	assert_memory_equal(&ka, &kb, sizeof(ka));
	assert_int_equal(ka.family, 4);
	assert_int_equal(ka.proto, IPPROTO_TCP);
	assert_int_equal(ka.sport, 5);
	assert_int_equal(ka.dport, 80);

	b = pkt(IPPROTO_TCP, "2001:db8::1", "2001:db8::2", 5, 80);
	conn_key_from_packet(&kb, &b);
	assert_int_equal(kb.family, 6);
	assert_memory_equal(kb.src, b.src, 16);
}

static void test_insert_lookup_refresh(void **state)
{
	struct conntab *t = ct_new(16);
	struct conn_key k1 = key(IPPROTO_TCP, 1), k2 = key(IPPROTO_TCP, 2);
	uint32_t target = 0, stream = 0;
	struct conntab_stats s;

	(void)state;
	assert_int_equal(conntab_lookup(t, &k1, 0, &target, NULL), -ENOENT);
	conntab_insert(t, &k1, 7, 3, 1000);
	assert_int_equal(conntab_lookup(t, &k1, 2000, &target, &stream), 0);
	assert_int_equal(target, 7);
	assert_int_equal(stream, 3);
	assert_false(hit(t, &k2, 2000, 0));

	/* A second insert of the key replaces its value. */
	conntab_insert(t, &k1, 9, 4, 3000);
	assert_int_equal(conntab_lookup(t, &k1, 3000, &target, &stream), 0);
	assert_int_equal(target, 9);
	assert_int_equal(stream, 4);

	/* Hits refresh: 300 s of TCP idle counted from the last hit. */
	for (uint64_t now = 3000; now < 3000 + 10 * 299999; now += 299999)
		assert_true(hit(t, &k1, now, 9));

	s = ct_stats(t);
	assert_int_equal(s.size, 1);
	assert_int_equal(s.capacity, 16);
	assert_int_equal(s.inserts, 1);
	assert_int_equal(s.updates, 1);
	assert_int_equal(s.hits, 12);
	assert_int_equal(s.misses, 2);

	assert_int_equal(conntab_remove(t, &k1), 0);
	assert_int_equal(conntab_remove(t, &k1), -ENOENT);
	assert_false(hit(t, &k1, 0, 0));
	ct_check(t);
	conntab_destroy(t);
	conntab_destroy(NULL);
}

static void test_idle_expiry(void **state)
{
	static const struct {
		uint8_t proto;
		uint64_t timeout;
	} cls[] = {
	    {IPPROTO_TCP, 300000},   {IPPROTO_UDP, 30000},
	    {IPPROTO_SCTP, 300000},  {IPPROTO_ICMP, 10000},
	    {IPPROTO_ICMPV6, 10000}, {47, 30000},
	};
	const uint64_t t0 = 5000;

	(void)state;
	/* expire(): alive one millisecond before the timeout, gone at it. */
	for (size_t i = 0; i < sizeof(cls) / sizeof(cls[0]); i++) {
		struct conntab *t = ct_new(8);
		struct conn_key k = key(cls[i].proto, 1);

		conntab_insert(t, &k, 1, 1, t0);
		assert_int_equal(conntab_next_expiry(t), t0 + cls[i].timeout);
		assert_int_equal(
		    conntab_expire(t, t0 + cls[i].timeout - 1, SIZE_MAX), 0);
		assert_int_equal(ct_stats(t).size, 1);
		assert_int_equal(
		    conntab_expire(t, t0 + cls[i].timeout, SIZE_MAX), 1);
		assert_int_equal(ct_stats(t).size, 0);
		assert_int_equal(ct_stats(t).expirations, 1);
		assert_int_equal(conntab_next_expiry(t), UINT64_MAX);
		ct_check(t);
		conntab_destroy(t);
	}
	/* lookup(): the same edge without expire() having run. */
	for (size_t i = 0; i < sizeof(cls) / sizeof(cls[0]); i++) {
		struct conntab *t = ct_new(8);
		struct conn_key k = key(cls[i].proto, 1);

		conntab_insert(t, &k, 1, 1, t0);
		assert_true(hit(t, &k, t0 + cls[i].timeout - 1, 1));
		/* Refreshed: now it lives until (t0 + to - 1) + to. */
		assert_true(hit(t, &k, t0 + 2 * cls[i].timeout - 2, 1));
		assert_false(hit(t, &k, t0 + 3 * cls[i].timeout - 2, 1));
		assert_int_equal(ct_stats(t).expirations, 1);
		assert_int_equal(ct_stats(t).size, 0);
		ct_check(t);
		conntab_destroy(t);
	}
}

static void test_idle_expiry_mixed(void **state)
{
	struct conntab_config cfg = {
	    .capacity = 64,
	    .timeout_ms = {[CONN_TCP] = 1000, [CONN_UDP] = 500},
	};
	struct conntab *t = NULL;
	struct conn_key tcp = key(IPPROTO_TCP, 1), udp = key(IPPROTO_UDP, 1),
			icmp = key(IPPROTO_ICMP, 1);

	(void)state;
	assert_int_equal(conntab_create(&cfg, &t), 0);
	/* Configured TCP 1 s and UDP 0.5 s; ICMP keeps its 10 s. The TCP
	 * entry is the oldest but the UDP one expires first. */
	conntab_insert(t, &tcp, 1, 0, 0);
	conntab_insert(t, &udp, 2, 0, 100);
	conntab_insert(t, &icmp, 3, 0, 200);
	assert_int_equal(conntab_next_expiry(t), 600);
	assert_int_equal(conntab_expire(t, 599, SIZE_MAX), 0);
	assert_int_equal(conntab_expire(t, 600, SIZE_MAX), 1);
	assert_false(hit(t, &udp, 600, 0));
	assert_int_equal(conntab_next_expiry(t), 1000);
	assert_int_equal(conntab_expire(t, 1000, SIZE_MAX), 1);
	assert_int_equal(conntab_next_expiry(t), 10200);
	assert_true(hit(t, &icmp, 10199, 3));
	assert_int_equal(conntab_next_expiry(t), 20199);

	/* max bounds the work of one call. The ICMP entry has expired by
	 * then as well (20199). */
	for (unsigned i = 0; i < 10; i++) {
		struct conn_key k = key(IPPROTO_UDP, 100 + i);

		conntab_insert(t, &k, i, 0, 20000);
	}
	assert_int_equal(conntab_expire(t, 20500, 3), 3);
	assert_int_equal(conntab_expire(t, 20500, 0), 0);
	assert_int_equal(conntab_expire(t, 20500, SIZE_MAX), 8);
	assert_int_equal(ct_stats(t).size, 0);
	ct_check(t);
	conntab_destroy(t);
}

static void test_lru_eviction(void **state)
{
	struct conntab *t = ct_new(4);
	struct conn_key k[6];

	(void)state;
	/* Four connections over two classes fill the table. */
	k[0] = key(IPPROTO_TCP, 0);
	k[1] = key(IPPROTO_UDP, 1);
	k[2] = key(IPPROTO_TCP, 2);
	k[3] = key(IPPROTO_UDP, 3);
	k[4] = key(IPPROTO_TCP, 4);
	k[5] = key(IPPROTO_SCTP, 5);
	for (unsigned i = 0; i < 4; i++)
		conntab_insert(t, &k[i], i, 0, 10 + i);
	/* k0 used again: k1 is now the least recently used. */
	assert_true(hit(t, &k[0], 20, 0));
	conntab_insert(t, &k[4], 4, 0, 21);
	assert_int_equal(ct_stats(t).evictions, 1);
	assert_false(hit(t, &k[1], 22, 1));
	assert_true(hit(t, &k[0], 22, 0));
	assert_true(hit(t, &k[2], 23, 2));
	/* Now k3 (UDP, 13) is the oldest, then k4 (21). */
	conntab_insert(t, &k[5], 5, 0, 24);
	assert_false(hit(t, &k[3], 25, 3));
	assert_true(hit(t, &k[4], 25, 4));
	assert_true(hit(t, &k[5], 25, 5));
	assert_int_equal(ct_stats(t).evictions, 2);
	assert_int_equal(ct_stats(t).size, 4);
	ct_check(t);
	conntab_destroy(t);
}

static void test_full_drops_expired_first(void **state)
{
	struct conntab *t = ct_new(2);
	struct conn_key tcp = key(IPPROTO_TCP, 1), udp = key(IPPROTO_UDP, 1),
			n = key(IPPROTO_TCP, 2);

	(void)state;
	/* The TCP entry is the least recently used, but the UDP one has
	 * idled out: it goes, as an expiration, not an eviction. */
	conntab_insert(t, &tcp, 1, 0, 0);
	conntab_insert(t, &udp, 2, 0, 1);
	conntab_insert(t, &n, 3, 0, 30001);
	assert_int_equal(ct_stats(t).evictions, 0);
	assert_int_equal(ct_stats(t).expirations, 1);
	assert_true(hit(t, &tcp, 30002, 1));
	assert_true(hit(t, &n, 30002, 3));
	ct_check(t);
	conntab_destroy(t);
}

static void test_forget_target(void **state)
{
	struct conntab *t = ct_new(1000);
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP,
					 IPPROTO_ICMP};

	(void)state;
	/* 600 connections: target 1 + n % 4 of stream 1 + n % 2. */
	for (unsigned n = 0; n < 600; n++) {
		struct conn_key k = key(protos[n % 3], n);

		conntab_insert(t, &k, 1 + n % 4, 1 + n % 2, n);
	}
	/* Target 3 of stream 1: n % 4 == 2 and n % 2 == 0, 150 of them. */
	assert_int_equal(conntab_forget_target(t, 1, 3), 150);
	assert_int_equal(conntab_forget_target(t, 1, 3), 0);
	/* Target 3 exists in stream 1 only; stream 2 has targets 2 and 4. */
	assert_int_equal(conntab_forget_target(t, 2, 3), 0);
	for (unsigned n = 0; n < 600; n++) {
		struct conn_key k = key(protos[n % 3], n);
		bool gone = n % 4 == 2;

		assert_true(hit(t, &k, 1000, 1 + n % 4) == !gone);
	}
	assert_int_equal(conntab_forget_stream(t, 2), 300);
	assert_int_equal(ct_stats(t).size, 150);
	assert_int_equal(ct_stats(t).forgotten, 450);
	ct_check(t);
	conntab_destroy(t);
}

/* An hour of traffic in virtual time: connections come, are used and go
 * idle; the table stays within bounds and its counters add up. */
static void test_churn(void **state)
{
	struct conntab *t = ct_new(5000);
	uint64_t now = 0;
	unsigned seed = 1;

	(void)state;
	for (unsigned i = 0; i < 200000; i++) {
		unsigned n = (unsigned)rand_r(&seed) % 20000;
		struct conn_key k = key(n % 2 ? IPPROTO_TCP : IPPROTO_UDP, n);
		uint32_t target;

		now += 18; /* 200,000 packets over an hour */
		if (conntab_lookup(t, &k, now, &target, NULL))
			conntab_insert(t, &k, n % 7, 0, now);
		else
			assert_int_equal(target, n % 7);
		if (i % 1000 == 0)
			conntab_expire(t, now, SIZE_MAX);
	}
	assert_true(ct_stats(t).evictions > 0);
	assert_true(ct_stats(t).expirations > 0);
	ct_check(t);
	conntab_destroy(t);
}

static void test_create_limits(void **state)
{
	struct conntab_config cfg = {.capacity = ((size_t)1 << 31) + 1};
	struct conntab *t = NULL;

	(void)state;
	assert_int_equal(conntab_create(&cfg, &t), -EINVAL);
	assert_null(t);
	assert_int_equal(conntab_create(NULL, &t), 0);
	assert_int_equal(ct_stats(t).capacity, CONNTAB_DEFAULT_CAPACITY);
	conntab_destroy(t);
}

/* ---- fragment table ---- */

struct drops {
	uint32_t ids[64];
	size_t n;
};

static void on_drop(void *ctx, uint32_t id)
{
	struct drops *d = ctx;

	assert_true(d->n < 64);
	d->ids[d->n++] = id;
}

static struct fragtab *ft_new(struct drops *d, size_t capacity, unsigned hold,
			      size_t max_held)
{
	struct fragtab_config cfg = {
	    .capacity = capacity,
	    .hold = hold,
	    .max_held = max_held,
	    .seed = 7,
	    .drop = on_drop,
	    .ctx = d,
	};
	struct fragtab *t = NULL;

	memset(d, 0, sizeof(*d));
	assert_int_equal(fragtab_create(&cfg, &t), 0);
	return t;
}

static struct frag_key fkey(uint32_t id)
{
	struct pkt p = pkt(IPPROTO_UDP, "192.0.2.1", "198.18.0.1", 0, 0);
	struct frag_key k;

	p.fragment = true;
	p.frag_id = id;
	frag_key_from_packet(&k, &p);
	return k;
}

static struct fragtab_stats ft_stats(const struct fragtab *t)
{
	struct fragtab_stats s;

	fragtab_stats(t, &s);
	return s;
}

static void test_frag_keys(void **state)
{
	struct pkt a = pkt(IPPROTO_UDP, "192.0.2.1", "198.18.0.1", 9, 53);
	struct pkt b = pkt(IPPROTO_UDP, "192.0.2.1", "198.18.0.1", 0, 0);
	struct frag_key ka, kb;

	(void)state;
	/* The first fragment has ports, the others not: same key. */
	a.fragment = a.first_fragment = a.more_fragments = true;
	a.frag_id = b.frag_id = 0x12345678;
	b.fragment = true;
	b.frag_offset = 100;
	b.src[7] = 1;
	frag_key_from_packet(&ka, &a);
	frag_key_from_packet(&kb, &b);
	assert_memory_equal(&ka, &kb, sizeof(ka));
	assert_int_equal(ka.id, 0x12345678);
	assert_int_equal(ka.family, 4);
	b.frag_id++;
	frag_key_from_packet(&kb, &b);
	assert_memory_not_equal(&ka, &kb, sizeof(ka));
}

static void test_frag_first_then_rest(void **state)
{
	struct drops d;
	struct fragtab *t = ft_new(&d, 16, 4, 16);
	struct frag_key k = fkey(1), other = fkey(2);
	uint32_t rel[FRAG_HOLD_MAX], target = 0, stream = 0;

	(void)state;
	assert_int_equal(fragtab_first(t, &k, 3, 9, 100, rel), 0);
	for (uint32_t id = 10; id < 20; id++) {
		assert_int_equal(fragtab_rest(t, &k, id, 150, &target, &stream),
				 FRAG_FORWARD);
		assert_int_equal(target, 3);
		assert_int_equal(stream, 9);
	}
	/* Another datagram is not confused with it. */
	assert_int_equal(fragtab_rest(t, &other, 20, 150, &target, NULL),
			 FRAG_HELD);
	/* The id reused by a new datagram: its first fragment wins. */
	assert_int_equal(fragtab_first(t, &k, 4, 9, 200, rel), 0);
	assert_int_equal(fragtab_rest(t, &k, 21, 250, &target, NULL),
			 FRAG_FORWARD);
	assert_int_equal(target, 4);

	assert_int_equal(ft_stats(t).firsts, 2);
	assert_int_equal(ft_stats(t).forwarded, 11);
	assert_int_equal(ft_stats(t).size, 2);
	fragtab_destroy(t);
	/* destroy hands back what was held. */
	assert_int_equal(d.n, 1);
	assert_int_equal(d.ids[0], 20);
}

static void test_frag_rest_before_first(void **state)
{
	struct drops d;
	struct fragtab *t = ft_new(&d, 16, 4, 16);
	struct frag_key k = fkey(1);
	uint32_t rel[FRAG_HOLD_MAX], target = 0;

	(void)state;
	assert_int_equal(fragtab_rest(t, &k, 101, 0, &target, NULL), FRAG_HELD);
	assert_int_equal(fragtab_rest(t, &k, 100, 5, &target, NULL), FRAG_HELD);
	assert_int_equal(ft_stats(t).held, 2);
	/* The first arrives: both released, in arrival order. */
	assert_int_equal(fragtab_first(t, &k, 6, 1, 10, rel), 2);
	assert_int_equal(rel[0], 101);
	assert_int_equal(rel[1], 100);
	assert_int_equal(ft_stats(t).held, 0);
	assert_int_equal(ft_stats(t).released, 2);
	/* The last fragment, after the first: forwarded. */
	assert_int_equal(fragtab_rest(t, &k, 102, 11, &target, NULL),
			 FRAG_FORWARD);
	assert_int_equal(target, 6);
	assert_int_equal(ft_stats(t).holds, 2);
	fragtab_destroy(t);
	assert_int_equal(d.n, 0);
}

static void test_frag_timeout(void **state)
{
	struct drops d;
	struct fragtab *t = ft_new(&d, 16, 4, 16);
	struct frag_key a = fkey(1), b = fkey(2), c = fkey(3);
	uint32_t rel[FRAG_HOLD_MAX], target = 0;

	(void)state;
	/* Held at 0, never completed: dropped at exactly 2 s. */
	assert_int_equal(fragtab_rest(t, &a, 5, 0, &target, NULL), FRAG_HELD);
	assert_int_equal(fragtab_rest(t, &a, 6, 1000, &target, NULL),
			 FRAG_HELD);
	/* Known at 500. */
	fragtab_first(t, &b, 8, 0, 500, rel);
	/* Held at 0, its first at 1500: it lives until 3500. */
	assert_int_equal(fragtab_rest(t, &c, 7, 0, &target, NULL), FRAG_HELD);
	assert_int_equal(fragtab_first(t, &c, 9, 0, 1500, rel), 1);
	assert_int_equal(rel[0], 7);

	assert_int_equal(fragtab_next_expiry(t), 2000);
	assert_int_equal(fragtab_expire(t, 1999), 0);
	assert_int_equal(fragtab_expire(t, 2000), 1);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.ids[0], 5);
	assert_int_equal(d.ids[1], 6);
	assert_int_equal(ft_stats(t).dropped, 2);
	assert_int_equal(ft_stats(t).held, 0);

	/* b, known at 500, is past its time at 2500 even without expire():
	 * a later fragment is held, not sent after a stale target. */
	assert_int_equal(fragtab_rest(t, &b, 10, 2500, &target, NULL),
			 FRAG_HELD);
	assert_int_equal(fragtab_rest(t, &c, 11, 3499, &target, NULL),
			 FRAG_FORWARD);
	assert_int_equal(target, 9);
	assert_int_equal(fragtab_next_expiry(t), 3500);
	assert_int_equal(fragtab_expire(t, 3500), 1);
	assert_int_equal(fragtab_expire(t, 4500), 1);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.ids[2], 10);
	assert_int_equal(ft_stats(t).size, 0);
	assert_int_equal(ft_stats(t).expirations, 4);
	assert_int_equal(fragtab_next_expiry(t), UINT64_MAX);
	fragtab_destroy(t);
	assert_int_equal(d.n, 3);
}

static void test_frag_bounds(void **state)
{
	struct drops d;
	struct fragtab *t;
	struct frag_key k[8];
	uint32_t rel[FRAG_HOLD_MAX], target = 0;

	(void)state;
	for (uint32_t i = 0; i < 8; i++)
		k[i] = fkey(i);

	/* Two held per datagram. */
	t = ft_new(&d, 4, 2, 5);
	assert_int_equal(fragtab_rest(t, &k[0], 1, 0, &target, NULL),
			 FRAG_HELD);
	assert_int_equal(fragtab_rest(t, &k[0], 2, 0, &target, NULL),
			 FRAG_HELD);
	assert_int_equal(fragtab_rest(t, &k[0], 3, 0, &target, NULL),
			 FRAG_REFUSED);
	/* Five held in all. */
	assert_int_equal(fragtab_rest(t, &k[1], 4, 1, &target, NULL),
			 FRAG_HELD);
	assert_int_equal(fragtab_rest(t, &k[1], 5, 1, &target, NULL),
			 FRAG_HELD);
	assert_int_equal(fragtab_rest(t, &k[2], 6, 2, &target, NULL),
			 FRAG_HELD);
	assert_int_equal(fragtab_rest(t, &k[3], 7, 3, &target, NULL),
			 FRAG_REFUSED);
	assert_int_equal(ft_stats(t).refused, 2);
	assert_int_equal(ft_stats(t).held, 5);
	assert_int_equal(ft_stats(t).size, 3);
	/* Known datagrams need no holding room. */
	fragtab_first(t, &k[3], 1, 0, 3, rel);
	assert_int_equal(fragtab_rest(t, &k[3], 8, 3, &target, NULL),
			 FRAG_FORWARD);
	/* Four datagrams fill the table: a fifth evicts the oldest, k0,
	 * whose two held fragments are dropped. */
	assert_int_equal(fragtab_first(t, &k[4], 2, 0, 4, rel), 0);
	assert_int_equal(ft_stats(t).evictions, 1);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.ids[0], 1);
	assert_int_equal(d.ids[1], 2);
	assert_int_equal(ft_stats(t).held, 3);
	assert_int_equal(ft_stats(t).size, 4);
	/* Room to hold again, in a new entry that evicts k1. */
	assert_int_equal(fragtab_rest(t, &k[5], 9, 5, &target, NULL),
			 FRAG_HELD);
	assert_int_equal(d.n, 4);
	assert_int_equal(ft_stats(t).evictions, 2);
	fragtab_destroy(t);
	/* k2's and k5's held fragments at destroy. */
	assert_int_equal(d.n, 6);

	/* The largest hold. */
	t = ft_new(&d, 4, FRAG_HOLD_MAX, 100);
	for (uint32_t i = 0; i < FRAG_HOLD_MAX; i++)
		assert_int_equal(fragtab_rest(t, &k[0], i, 0, &target, NULL),
				 FRAG_HELD);
	assert_int_equal(fragtab_rest(t, &k[0], 99, 0, &target, NULL),
			 FRAG_REFUSED);
	assert_int_equal(fragtab_first(t, &k[0], 1, 0, 1, rel), FRAG_HOLD_MAX);
	for (uint32_t i = 0; i < FRAG_HOLD_MAX; i++)
		assert_int_equal(rel[i], i);
	fragtab_destroy(t);
	assert_int_equal(d.n, 0);
}

static void test_frag_create_limits(void **state)
{
	struct fragtab_config cfg = {.hold = FRAG_HOLD_MAX + 1};
	struct fragtab *t = NULL;

	(void)state;
	assert_int_equal(fragtab_create(&cfg, &t), -EINVAL);
	assert_null(t);
	assert_int_equal(fragtab_create(NULL, &t), 0);
	assert_int_equal(ft_stats(t).capacity, FRAGTAB_DEFAULT_CAPACITY);
	assert_int_equal(ft_stats(t).max_held, FRAGTAB_DEFAULT_MAX_HELD);
	fragtab_destroy(t);
	fragtab_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_insert_lookup_refresh),
	    cmocka_unit_test(test_idle_expiry),
	    cmocka_unit_test(test_idle_expiry_mixed),
	    cmocka_unit_test(test_lru_eviction),
	    cmocka_unit_test(test_full_drops_expired_first),
	    cmocka_unit_test(test_forget_target),
	    cmocka_unit_test(test_churn),
	    cmocka_unit_test(test_create_limits),
	    cmocka_unit_test(test_frag_keys),
	    cmocka_unit_test(test_frag_first_then_rest),
	    cmocka_unit_test(test_frag_rest_before_first),
	    cmocka_unit_test(test_frag_timeout),
	    cmocka_unit_test(test_frag_bounds),
	    cmocka_unit_test(test_frag_create_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
