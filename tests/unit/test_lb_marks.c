/* Unit tests of lb/marks.c (each stream's block of firewall marks) and
 * lb/plane.c (building a data plane from flows, VIPs and ready targets). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "../../lb/marks.h"
#include "../../lb/plane.h"

static const struct lb_mark_block *get(struct lb_marks *m, const char *name,
				       uint32_t max)
{
	const struct lb_mark_block *b = NULL;
	assert_int_equal(lb_marks_get(m, name, max, &b), 0);
	assert_non_null(b);
	return b;
}

static int keep_not_b(const char *name, void *data)
{
	(void)data;
	return strcmp(name, "b") != 0;
}

static void test_blocks_stable_and_disjoint(void **state)
{
	(void)state;
	struct lb_marks m;
	lb_marks_init(&m, 4096, 1000);
	const struct lb_mark_block *a = get(&m, "a", 100);
	assert_int_equal(a->offset, 4096);
	uint32_t a_uid = a->uid;
	uint32_t b_off = get(&m, "b", 10)->offset;
	assert_int_equal(b_off, 4096 + 101); /* a's marks end at 4196 */
	uint32_t c_off = get(&m, "c", 50)->offset;
	assert_int_equal(c_off, b_off + 11);

	/* Asking again changes nothing. */
	a = get(&m, "a", 100);
	assert_int_equal(a->offset, 4096);
	assert_int_equal(a->uid, a_uid);

	/* b leaves: a and c stay; a new small stream fills b's gap. */
	assert_int_equal(lb_marks_retain(&m, keep_not_b, NULL), 1);
	assert_null(lb_marks_find(&m, "b"));
	assert_int_equal(get(&m, "c", 50)->offset, c_off);
	const struct lb_mark_block *d = get(&m, "d", 5);
	assert_int_equal(d->offset, b_off);
	assert_true(d->uid > a_uid);

	/* A stream whose max-targets changes gets a new block and uid. */
	uint32_t c_uid = get(&m, "c", 50)->uid;
	const struct lb_mark_block *c2 = get(&m, "c", 60);
	assert_int_not_equal(c2->uid, c_uid);
	for (size_t i = 0; i + 1 < m.n; i++)
		assert_true((uint64_t)m.blocks[i].offset +
				    m.blocks[i].max_targets <
			    m.blocks[i + 1].offset);
	lb_marks_free(&m);
}

static void test_blocks_full(void **state)
{
	(void)state;
	struct lb_marks m;
	const struct lb_mark_block *b;
	lb_marks_init(&m, 256, 22);
	get(&m, "a", 10); /* 256..266 */
	get(&m, "b", 10); /* 267..277: the range is used up */
	assert_int_equal(lb_marks_get(&m, "c", 1, &b), -ENOSPC);
	assert_int_equal(lb_marks_get(&m, "c", 0, &b), -EINVAL);
	lb_marks_free(&m);
}

/* ---- plane ---- */

static Nsp__Vip vip4 = NSP__VIP__INIT, vip6 = NSP__VIP__INIT;

static Nsp__Flow *flow(const char *name, const char *stream, int32_t prio,
		       char **protos, size_t n_protos)
{
	static char *vips[] = { "v4", "v6" };
	Nsp__Flow *f = calloc(1, sizeof(*f));
	nsp__flow__init(f);
	f->name = (char *)name;
	f->trench = "t";
	f->stream = (char *)stream;
	f->vips = vips;
	f->n_vips = 2;
	f->protocols = protos;
	f->n_protocols = n_protos;
	f->priority = prio;
	return f;
}

static struct pkt udp_packet(const char *dst, uint16_t sport)
{
	struct pkt p;
	memset(&p, 0, sizeof(p));
	p.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	p.proto = 17;
	inet_pton(p.family, dst, p.dst);
	inet_pton(AF_INET, "198.18.0.2", p.src);
	p.sport = sport;
	p.dport = 5003;
	p.has_ports = true;
	return p;
}

static void test_plane_build(void **state)
{
	(void)state;
	vip4.name = "v4";
	vip4.address = "198.18.100.1/32";
	vip6.name = "v6";
	vip6.address = "fd00:100::1/128";
	Nsp__Vip *vips[] = { &vip4, &vip6 };
	static char *udp[] = { "udp" }, *tcp[] = { "tcp" };
	/* f-other belongs to a stream this LB does not serve. */
	Nsp__Flow *flows[] = { flow("f1", "s1", 1, udp, 1),
			       flow("f2", "s2", 1, tcp, 1),
			       flow("f-other", "elsewhere", 9, udp, 1) };
	uint32_t ids1[] = { 3, 1, 2 }, ids2[] = { 7 };
	struct lb_plane_stream_input streams[] = {
		{ .name = "s1", .conduit = "c", .uid = 1, .offset = 4096,
		  .max_targets = 10, .ids = ids1, .n_ids = 3 },
		{ .name = "s2", .conduit = "c", .uid = 2, .offset = 4107,
		  .max_targets = 10, .table_size = 101, .ids = ids2, .n_ids = 1 },
	};
	struct lb_plane_input in = {
		.generation = 7, .flows = flows, .n_flows = 3, .vips = vips,
		.n_vips = 2, .streams = streams, .n_streams = 2,
	};
	struct lb_plane *p = NULL;
	char err[256] = "";
	assert_int_equal(lb_plane_build(&in, NULL, &p, err, sizeof(err)), 0);
	assert_int_equal(p->generation, 7);
	assert_int_equal(lb_flows_count(p->flows), 2); /* f-other left out */
	assert_int_equal(maglev_size(p->streams[0].table), 1009);
	assert_int_equal(maglev_size(p->streams[1].table), 101);

	/* UDP to either VIP classifies to f1 and so to s1, which places it
	 * on one of its three targets; never on f-other's "elsewhere". */
	const char *dsts[] = { "198.18.100.1", "fd00:100::1" };
	for (int v = 0; v < 2; v++) {
		for (uint16_t port = 1000; port < 1100; port++) {
			struct pkt pk = udp_packet(dsts[v], port);
			const struct lb_flow *fl = lb_flows_classify(p->flows, &pk);
			assert_non_null(fl);
			assert_string_equal(lb_flow_name(fl), "f1");
			const struct lb_plane_stream *s = lb_plane_flow_stream(p, fl);
			assert_string_equal(s->name, "s1");
			uint32_t t = maglev_lookup(s->table, lb_flow_hash(&pk));
			assert_true(t >= 1 && t <= 3);
			assert_true(lb_plane_target_live(s, t));
		}
	}
	assert_false(lb_plane_target_live(&p->streams[0], 4));
	assert_false(lb_plane_target_live(&p->streams[0], 0));
	assert_ptr_equal(lb_plane_stream_by_uid(p, 2), &p->streams[1]);
	assert_null(lb_plane_stream_by_uid(p, 3));

	/* Counters carry over to the next plane by flow name. */
	*lb_flow_counter(lb_flows_find(p->flows, "f1")) = 42;
	struct lb_plane *q = NULL;
	in.generation = 8;
	assert_int_equal(lb_plane_build(&in, p, &q, err, sizeof(err)), 0);
	assert_int_equal(*lb_flow_counter(lb_flows_find(q->flows, "f1")), 42);

	/* A table too small for its targets is refused with the reason;
	 * nothing is returned. */
	streams[1].table_size = 2;
	struct lb_plane *bad = NULL;
	uint32_t many[3] = { 1, 2, 3 };
	streams[1].ids = many;
	streams[1].n_ids = 3;
	assert_int_equal(lb_plane_build(&in, q, &bad, err, sizeof(err)), -EINVAL);
	assert_null(bad);
	assert_non_null(strstr(err, "stream \"s2\""));

	lb_plane_free(p);
	lb_plane_free(q);
	for (int i = 0; i < 3; i++)
		free(flows[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blocks_stable_and_disjoint),
	    cmocka_unit_test(test_blocks_full),
	    cmocka_unit_test(test_plane_build),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
