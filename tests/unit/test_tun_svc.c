/* Unit tests of strait-tun's tables and per-flow decisions (tun/svc.h).
 *
 * Packets are built here from scratch (IPv4 and IPv6; TCP, UDP, ICMP echo,
 * ICMP errors, IPv4 fragments) and read with pkt_parse, as the daemon reads
 * them. Checksums are left zero: no decision reads one. Time is virtual:
 * every call gets f->now, which the tests move by hand.
 *
 * The cluster of most tests, seen from node n1 unless a test says other:
 *
 *   n1 192.0.2.1:7779        n2 192.0.2.2:7779        n3 [2001:db8::3]:7779
 *    web#1 10.1.0.1           web#2 10.2.0.2           web#3 10.3.0.3
 *          fd00:1::1                fd00:2::2                fd00:3::3
 *   (web#4 10.1.0.4 fd00:1::4 on n1 joins in some tests)
 *
 *   web   10.30.0.10  fd00:30::10  spread, max 8
 *   empty 10.30.0.20  fd00:30::20  no instances
 *   service prefixes 10.30.0.0/16, fd00:30::/64; clients 10.0.1.5 etc.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../tun/svc.h"
#include "sockaddr.h"

/* ---- packets ---- */

#define PING 250 /* ICMP or ICMPv6 echo request */
#define PONG 251 /* echo reply */
#define ERR 252	 /* port unreachable */
#define IP4_MF 0x2000

struct tpkt {
	uint8_t b[256];
	size_t len;
	struct pkt p;
};

static bool is6(const char *a)
{
	return strchr(a, ':') != NULL;
}

static void put16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void ip(const char *s, uint8_t *out)
{
	assert_int_equal(inet_pton(is6(s) ? AF_INET6 : AF_INET, s, out), 1);
}

/* Builds a packet in t and parses it: a TCP SYN, a UDP datagram with 8
 * bytes of data, an echo (PING, PONG) with sport as its identifier, or (ERR)
 * a port unreachable quoting packet q. frag is the IPv4 flags and offset
 * word; with an offset, data alone follows the header. */
static const struct pkt *mkp(struct tpkt *t, uint8_t proto, const char *src,
			     uint16_t sport, const char *dst, uint16_t dport,
			     uint16_t id, uint16_t frag, const struct tpkt *q)
{
	bool v6 = is6(src);
	size_t h = v6 ? 40 : 20, l = 16;
	uint8_t *b = t->b, *l4 = t->b + h, ipp = proto;

	memset(t->b, 0, sizeof(t->b));
	if (proto == PING || proto == PONG || proto == ERR) {
		static const uint8_t type[2][3] = {{8, 0, 3}, {128, 129, 1}};
		ipp = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
		l4[0] = type[v6][proto - PING];
		l4[1] = proto == ERR ? (v6 ? 4 : 3) : 0;
		put16(l4 + 4, sport);
		l = 8 + (q ? q->len : 0);
		if (q)
			memcpy(l4 + 8, q->b, q->len);
	} else if (!(frag & 0x1fff)) {
		put16(l4, sport);
		put16(l4 + 2, dport);
		put16(l4 + 4, (unsigned)l);
		if (proto == IPPROTO_TCP) {
			l = 20;
			l4[12] = 0x50;
			l4[13] = 0x02; /* SYN */
		}
	}
	b[0] = v6 ? 0x60 : 0x45;
	if (v6) {
		put16(b + 4, (unsigned)l);
		b[6] = ipp;
		ip(src, b + 8);
		ip(dst, b + 24);
	} else {
		put16(b + 2, (unsigned)(h + l));
		put16(b + 4, id);
		put16(b + 6, frag);
		b[9] = ipp;
		ip(src, b + 12);
		ip(dst, b + 16);
	}
	t->len = h + l;
	assert_int_equal(pkt_parse(t->b, t->len, &t->p), 0);
	return &t->p;
}

#define mk(t, proto, src, sport, dst, dport)                                   \
	mkp(t, proto, src, sport, dst, dport, 0, 0, NULL)
#define mkf(t, proto, src, sport, dst, dport, id, frag)                        \
	mkp(t, proto, src, sport, dst, dport, id, frag, NULL)
#define mkerr(t, src, dst, q) mkp(t, ERR, src, 0, dst, 0, 0, 0, q)

static void addr_eq(const uint8_t *got, const char *want)
{
	uint8_t a[16] = {0};

	ip(want, a);
	assert_memory_equal(got, a, is6(want) ? 16 : 4);
}

/* ---- the cluster ---- */

static const char *const inst4[] = {NULL, "10.1.0.1", "10.2.0.2", "10.3.0.3",
				    "10.1.0.4"};
static const char *const inst6[] = {NULL, "fd00:1::1", "fd00:2::2", "fd00:3::3",
				    "fd00:1::4"};
static const char *const inst_node[] = {NULL, "n1", "n2", "n3", "n1"};

struct world {
	struct tun_service_spec svc[4];
	struct tun_instance_spec inst[16];
	struct tun_node_spec node[8];
	size_t ns, ni, nn;
};

/* Instance ident of web, with the addresses and node of the tables above. */
static struct tun_instance_spec *add_inst(struct world *w, uint32_t ident)
{
	struct tun_instance_spec *in = &w->inst[w->ni++];

	snprintf(in->service, sizeof(in->service), "web");
	in->ident = ident;
	assert_int_equal(cidr_parse_ip(inst4[ident], &in->addr[0]), 0);
	assert_int_equal(cidr_parse_ip(inst6[ident], &in->addr[1]), 0);
	snprintf(in->node, sizeof(in->node), "%s", inst_node[ident]);
	return in;
}

static struct sockaddr *sa(struct sockaddr_storage *ss, const char *text)
{
	assert_int_equal(sockaddr_parse(text, 7779, ss), 0);
	return (struct sockaddr *)ss;
}

static void add_node(struct world *w, const char *name, const char *addr)
{
	struct tun_node_spec *n = &w->node[w->nn++];

	snprintf(n->name, sizeof(n->name), "%s", name);
	sa(&n->addr, addr);
}

static void del_inst(struct world *w, uint32_t ident)
{
	for (size_t i = 0; i < w->ni; i++)
		if (w->inst[i].ident == ident)
			w->inst[i--] = w->inst[--w->ni];
}

static void std_world(struct world *w)
{
	memset(w, 0, sizeof(*w));
	add_node(w, "n1", "192.0.2.1");
	add_node(w, "n2", "192.0.2.2");
	add_node(w, "n3", "2001:db8::3");
	for (int i = 0; i < 2; i++) {
		struct tun_service_spec *s = &w->svc[w->ns++];
		snprintf(s->name, sizeof(s->name), i ? "empty" : "web");
		cidr_parse_ip(i ? "10.30.0.20" : "10.30.0.10", &s->addr[0]);
		cidr_parse_ip(i ? "fd00:30::20" : "fd00:30::10", &s->addr[1]);
		s->max_instances = 8;
	}
	for (uint32_t i = 1; i <= 3; i++)
		add_inst(w, i);
}

struct fx {
	struct world w;
	struct tun_ids *sids, *nids;
	struct tun_core *core;
	const char *self;
	uint64_t now;
};

/* Builds f->w for self; skipped must be want_skipped. */
static struct tun_view *build(struct fx *f, const char *self,
			      size_t want_skipped, char *err)
{
	struct tun_spec spec = {f->w.svc, f->w.ns,   f->w.inst,
				f->w.ni,  f->w.node, f->w.nn};
	struct tun_view *v = NULL;
	size_t skipped = 99;

	assert_int_equal(tun_view_build(&spec, self, f->sids, f->nids, &v,
					&skipped, err, 128),
			 0);
	assert_int_equal(skipped, want_skipped);
	return v;
}

static void install(struct fx *f)
{
	tun_view_free(tun_core_set_view(f->core, build(f, f->self, 0, NULL)));
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct cidr pre[2];

	assert_non_null(f);
	assert_int_equal(tun_ids_create(&f->sids), 0);
	assert_int_equal(tun_ids_create(&f->nids), 0);
	assert_int_equal(tun_core_create(1024, 42, &f->core), 0);
	assert_int_equal(cidr_parse("10.30.0.0/16", &pre[0]), 0);
	assert_int_equal(cidr_parse("fd00:30::/64", &pre[1]), 0);
	assert_int_equal(tun_core_set_prefixes(f->core, pre, 2), 0);
	std_world(&f->w);
	f->self = "n1";
	f->now = 1000000;
	install(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tun_core_destroy(f->core);
	tun_ids_destroy(f->sids);
	tun_ids_destroy(f->nids);
	free(f);
	return 0;
}

static struct tun_decision out(struct fx *f, const struct pkt *p)
{
	struct tun_decision d;

	assert_int_equal(tun_decide_out(f->core, p, f->now, &d), 0);
	return d;
}

/* A packet through the tunnel from node n<from>. */
static struct tun_decision in(struct fx *f, const struct pkt *p, bool reply,
			      uint32_t from)
{
	const struct tun_vnode *n = tun_view_node(tun_core_view(f->core), from);
	struct tun_decision d;

	assert_int_equal(tun_decide_in(f->core, p, reply, n, f->now, &d), 0);
	return d;
}

static const struct tun_vsvc *svc_at(const struct tun_view *v, const char *a)
{
	uint8_t b[16] = {0};

	ip(a, b);
	return tun_view_service(v, is6(a) ? 6 : 4, b);
}

static const struct tun_vnode *node_at(const struct tun_view *v, const char *a)
{
	struct sockaddr_storage ss;

	return tun_view_node_by_addr(v, sa(&ss, a));
}

static uint32_t choose(const struct tun_view *v, const struct pkt *p)
{
	struct conn_key k;

	conn_key_from_packet(&k, p);
	return tun_view_choose(
	    tun_view_service(v, p->family == AF_INET ? 4 : 6, p->dst),
	    tun_flow_hash(&k));
}

/* The flow src:port -> dst:dport, port (or echo id) the first from 1000 up
 * that view v places on instance ident. */
static const struct pkt *flow_to(const struct tun_view *v, struct tpkt *t,
				 uint8_t proto, const char *src,
				 const char *dst, uint16_t dport,
				 uint32_t ident)
{
	for (uint16_t sp = 1000; sp < 60000; sp++)
		if (choose(v, mk(t, proto, src, sp, dst, dport)) == ident)
			return &t->p;
	fail_msg("no port for instance %u", ident);
	return NULL;
}

/* d sends (remote) or delivers (local) a packet to svc to web#ident, with
 * the DNAT svc -> the instance's address. */
static void assert_to(const struct fx *f, const struct tun_decision *d,
		      const char *svc, uint32_t ident)
{
	bool local = strcmp(inst_node[ident], f->self) == 0;

	assert_int_equal(d->reason, TUN_R_OK);
	assert_int_equal(d->instance, ident);
	assert_int_equal(d->service, 1); /* web */
	assert_int_equal(d->nat, TUN_NAT_DNAT);
	addr_eq(d->old_addr, svc);
	addr_eq(d->new_addr, is6(svc) ? inst6[ident] : inst4[ident]);
	assert_false(d->reply);
	assert_int_equal(d->action, local ? TUN_DELIVER : TUN_SEND);
	if (local)
		assert_null(d->node);
	else
		assert_string_equal(d->node->name, inst_node[ident]);
}

/* d delivers a reply with the SNAT instance -> service. */
static void assert_snat(const struct tun_decision *d, const char *inst,
			const char *svc, uint32_t ident)
{
	assert_int_equal(d->instance, ident);
	assert_int_equal(d->action, TUN_DELIVER);
	assert_int_equal(d->reason, TUN_R_OK);
	assert_int_equal(d->nat, TUN_NAT_SNAT);
	assert_int_equal(d->service, 1);
	addr_eq(d->old_addr, inst);
	addr_eq(d->new_addr, svc);
	assert_false(d->new_flow);
}

static void expect(const struct tun_decision *d, enum tun_action a,
		   enum tun_reason r)
{
	assert_int_equal(d->action, a);
	assert_int_equal(d->reason, r);
}

static struct tun_core_stats stats(struct fx *f)
{
	struct tun_core_stats s;

	tun_core_stats(f->core, &s, NULL);
	return s;
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* ---- ids and views ---- */

static void test_ids(void **state)
{
	struct tun_ids *a, *b;
	char name[32];

	(void)state;
	assert_int_equal(tun_ids_create(&a), 0);
	assert_int_equal(tun_ids_create(&b), 0);
	for (int round = 0; round < 2; round++) /* past 16 and 32, twice */
		for (unsigned i = 1; i <= 40; i++) {
			snprintf(name, sizeof(name), "svc-%u", i);
			assert_int_equal(tun_ids_get(a, name), i);
			assert_int_equal(tun_ids_get(a, "svc-1"), 1);
		}
	assert_int_equal(tun_ids_get(b, "svc-9"), 1); /* per table */
	for (unsigned i = 2; i <= TUN_IDS_MAX; i++) {
		snprintf(name, sizeof(name), "n%u", i);
		assert_int_equal(tun_ids_get(b, name), i);
	}
	assert_int_equal(tun_ids_get(b, "one-too-many"), 0);
	assert_int_equal(tun_ids_get(b, "n777"), 777);
	tun_ids_destroy(a);
	tun_ids_destroy(b);
}

static void test_view_lookups(void **state)
{
	const struct tun_view *v = tun_core_view(((struct fx *)*state)->core);
	const struct tun_vsvc *web = svc_at(v, "10.30.0.10");
	const struct tun_vsvc *empty = svc_at(v, "fd00:30::20");
	const struct tun_vnode *const *nl;

	assert_string_equal(web->name, "web");
	assert_int_equal(web->id, 1);
	assert_int_equal(web->n_instances, 3);
	assert_string_equal(empty->name, "empty");
	assert_int_equal(empty->id, 2);
	assert_int_equal(empty->n_instances, 0);
	assert_ptr_equal(svc_at(v, "fd00:30::10"), web);
	assert_null(svc_at(v, "10.30.0.11"));
	assert_ptr_equal(tun_view_service_by_id(v, 1), web);
	assert_ptr_equal(tun_view_service_by_id(v, 2), empty);
	assert_null(tun_view_service_by_id(v, 3));

	const struct tun_vinst *i2 = tun_view_instance(web, 2);
	addr_eq(i2->addr[0].addr, "10.2.0.2");
	addr_eq(i2->addr[1].addr, "fd00:2::2");
	assert_string_equal(i2->node->name, "n2");
	assert_null(tun_view_instance(web, 0));
	assert_null(tun_view_instance(web, 4));

	assert_int_equal(tun_view_nodes(v, &nl), 3);
	assert_string_equal(tun_view_node(v, 1)->name, "n1"); /* by sight */
	assert_string_equal(tun_view_node(v, 3)->name, "n3");
	assert_null(tun_view_node(v, 4));
	assert_ptr_equal(node_at(v, "192.0.2.2"), tun_view_node(v, 2));
	/* As a dual-stack socket reports an IPv4 sender. */
	assert_ptr_equal(node_at(v, "::ffff:192.0.2.2"), tun_view_node(v, 2));
	assert_null(node_at(v, "[::ffff:192.0.2.2]:7778"));
	assert_null(node_at(v, "192.0.2.9"));
	assert_ptr_equal(node_at(v, "2001:db8::3"), tun_view_node(v, 3));
}

static void test_view_skips(void **state)
{
	struct fx *f = *state;
	char err[128];
	static const char *const why[] = {
	    "an instance of nosuch, which is not a service",
	    "an instance of web has a bad or taken identifier",
	    "an instance of web has a bad or taken identifier",
	    "node n2 is registered twice",
	    "node n4 has the underlay address of another",
	};

	for (int bad = 0; bad <= 5; bad++) { /* 5: all of them at once */
		std_world(&f->w);
		if (bad == 0 || bad == 5)
			strcpy(add_inst(&f->w, 4)->service, "nosuch");
		if (bad == 1 || bad == 5) {
			add_inst(&f->w, 4)->ident = 8; /* the max: fine */
			add_inst(&f->w, 4)->ident = 9;
		}
		if (bad == 2 || bad == 5) /* web#2 again, elsewhere */
			cidr_parse_ip("10.9.9.9", &add_inst(&f->w, 2)->addr[0]);
		if (bad == 3 || bad == 5)
			add_node(&f->w, "n2", "192.0.2.99");
		if (bad == 4 || bad == 5)
			add_node(&f->w, "n4", "192.0.2.1");
		struct tun_view *v = build(f, "n1", bad == 5 ? 5 : 1, err);
		/* Nodes are built first, so their reason comes first. */
		assert_string_equal(err, why[bad == 5 ? 3 : bad]);
		const struct tun_vsvc *web = tun_view_service_by_id(v, 1);
		bool eight = bad == 1 || bad == 5;
		assert_int_equal(web->n_instances, eight ? 4 : 3);
		assert_int_equal(tun_view_instance(web, 8) != NULL, eight);
		addr_eq(tun_view_instance(web, 2)->addr[0].addr, "10.2.0.2");
		assert_ptr_equal(node_at(v, "192.0.2.2"), tun_view_node(v, 2));
		assert_ptr_equal(node_at(v, "192.0.2.1"), tun_view_node(v, 1));
		assert_null(tun_view_node(v, 4));
		tun_view_free(v);
	}
}

/* ---- the choice ---- */

/* Spread over web's three instances, and the same choice on every node:
 * the views of n1 and n3, built from the spec listed in another order,
 * agree on every hash. */
static void test_choose_spread_agree(void **state)
{
	struct fx *f = *state;
	struct world w2 = f->w;
	const struct tun_view *a = tun_core_view(f->core);
	unsigned n[5] = {0};
	uint64_t x = 777;

	for (size_t i = 0; i < f->w.ni; i++)
		f->w.inst[i] = w2.inst[w2.ni - 1 - i];
	for (size_t i = 0; i < f->w.nn; i++)
		f->w.node[i] = w2.node[w2.nn - 1 - i];
	struct tun_view *b = build(f, "n3", 0, NULL);
	for (int i = 0; i < 1000; i++) {
		uint64_t h = rnd(&x);
		uint32_t id = tun_view_choose(tun_view_service_by_id(a, 1), h);
		n[id]++;
		assert_int_equal(
		    tun_view_choose(tun_view_service_by_id(b, 1), h), id);
		assert_int_equal(
		    tun_view_choose(tun_view_service_by_id(a, 2), h), 0);
	}
	assert_int_equal(n[0] + n[4], 0);
	for (int id = 1; id <= 3; id++) /* 333 expected, sd about 15 */
		assert_in_range(n[id], 260, 410);
	tun_view_free(b);
}

/* The local flags, and the choice of policy local, on each node (n4 has
 * no instance, nor a node entry). */
static void test_view_local(void **state)
{
	struct fx *f = *state;
	uint64_t x = 12345;
	char self[16];

	f->w.svc[0].policy = TUN_POLICY_LOCAL;
	add_inst(&f->w, 4);
	for (int me = 1; me <= 4; me++) {
		snprintf(self, sizeof(self), "n%d", me);
		struct tun_view *v = build(f, self, 0, NULL);
		const struct tun_vsvc *s = tun_view_service_by_id(v, 1);
		unsigned n[5] = {0};
		assert_int_equal(s->n_local, me == 1 ? 2 : me < 4);
		for (int id = 1; id <= 3; id++)
			assert_int_equal(tun_view_node(v, id)->self, id == me);
		for (int i = 0; i < 1000; i++)
			n[tun_view_choose(s, rnd(&x))]++;
		assert_int_equal(n[0], 0);
		for (uint32_t id = 1; id <= 4; id++) {
			bool mine = strcmp(inst_node[id], self) == 0;
			assert_int_equal(tun_view_instance(s, id)->local, mine);
			if (mine || me == 4)
				assert_true(n[id] > 100);
			else
				assert_int_equal(n[id], 0);
		}
		tun_view_free(v);
	}
}

/* ---- the client node ---- */

static void test_out_first_packet(void **state)
{
	struct fx *f = *state;
	static const struct {
		uint8_t proto;
		const char *cli, *svc;
	} c[] = {
	    {IPPROTO_TCP, "10.0.1.5", "10.30.0.10"},
	    {IPPROTO_UDP, "fd00:10::5", "fd00:30::10"},
	    {PING, "10.0.1.6", "10.30.0.10"},
	    {PING, "fd00:10::6", "fd00:30::10"},
	};
	struct tpkt t;

	for (size_t i = 0; i < 4; i++)
		for (uint32_t id = 1; id <= 3; id++) {
			const struct pkt *p =
			    flow_to(tun_core_view(f->core), &t, c[i].proto,
				    c[i].cli, c[i].svc, 80, id);
			struct tun_decision d = out(f, p);
			assert_to(f, &d, c[i].svc, id);
			assert_true(d.new_flow);
			assert_int_equal(stats(f).flows_new, i * 3 + id);
			f->now += 1000;
			d = out(f, p);
			assert_to(f, &d, c[i].svc, id);
			assert_false(d.new_flow);
		}
	assert_int_equal(stats(f).flows_new, 12);
}

static void test_out_sticky_then_forget(void **state)
{
	struct fx *f = *state;
	const char *cli = "10.0.1.5", *svc = "10.30.0.10";
	struct tpkt t, t2, t3;
	struct tun_decision d;
	uint32_t a = 0;

	del_inst(&f->w, 1); /* web#2 and web#3, both remote */
	install(f);
	add_inst(&f->w, 1);
	add_inst(&f->w, 4);
	struct tun_view *v2 = build(f, f->self, 0, NULL);
	/* A flow that the grown view would place elsewhere. */
	for (uint16_t p = 2000; !a || a == choose(v2, &t.p); p++)
		a = choose(tun_core_view(f->core),
			   mk(&t, IPPROTO_UDP, cli, p, svc, 53));
	uint32_t b = a == 2 ? 3 : 2;
	flow_to(tun_core_view(f->core), &t2, IPPROTO_UDP, cli, svc, 53, b);
	d = out(f, &t.p);
	assert_to(f, &d, svc, a);
	d = out(f, &t2.p);
	assert_to(f, &d, svc, b);

	tun_view_free(tun_core_set_view(f->core, v2));
	d = out(f, &t.p);
	assert_to(f, &d, svc, a); /* sticky */
	assert_false(d.new_flow);
	d = out(f, flow_to(v2, &t3, IPPROTO_UDP, "10.0.1.9", svc, 53, 4));
	assert_to(f, &d, svc, 4); /* new flows see the new view */
	assert_true(d.new_flow);
	assert_int_equal(stats(f).flows_forgotten, 0);

	del_inst(&f->w, a);
	install(f);
	assert_int_equal(stats(f).flows_forgotten, 2); /* its FWD and REV */
	d = in(f, mk(&t3, IPPROTO_UDP, inst4[a], 53, cli, t.p.sport), true, a);
	expect(&d, TUN_DROP, TUN_R_NO_FLOW);
	d = out(f, &t.p);
	assert_true(d.new_flow);
	assert_true(d.instance != a);
	assert_to(f, &d, svc, choose(tun_core_view(f->core), &t.p));
	d = out(f, &t2.p);
	assert_to(f, &d, svc, b); /* other flows stay put */
	assert_false(d.new_flow);
	assert_int_equal(stats(f).flows_new, 4);
}

static void test_out_idle_expiry(void **state)
{
	struct fx *f = *state;
	struct tpkt u, pg;
	struct tun_decision d;
	uint64_t t0 = f->now;

	d = out(f, mk(&u, IPPROTO_UDP, "10.0.1.5", 4000, "10.30.0.10", 53));
	assert_true(d.new_flow);
	uint32_t id = d.instance;
	assert_int_equal(tun_core_expire(f->core, t0),
			 t0 + CONNTAB_DEFAULT_UDP_MS);
	f->now = t0 + CONNTAB_DEFAULT_UDP_MS - 1;
	d = out(f, &u.p);
	assert_false(d.new_flow);
	f->now += CONNTAB_DEFAULT_UDP_MS; /* idle for exactly the timeout */
	d = out(f, &u.p);
	assert_true(d.new_flow); /* placed again, by the same Maglev table */
	assert_int_equal(d.instance, id);
	assert_int_equal(stats(f).flows_new, 2);
	assert_true(
	    out(f, mk(&pg, PING, "10.0.1.5", 9, "10.30.0.10", 0)).new_flow);
	f->now += CONNTAB_DEFAULT_ICMP_MS - 1;
	assert_false(out(f, &pg.p).new_flow);
	f->now += CONNTAB_DEFAULT_UDP_MS;
	assert_int_equal(tun_core_expire(f->core, f->now), UINT64_MAX);
}

static void test_out_misses(void **state)
{
	struct fx *f = *state;
	struct tpkt t, q;
	struct tun_decision d;
	static const struct {
		const char *dst;
		enum tun_action action;
		enum tun_reason reason;
	} c[] = {
	    {"10.30.0.20", TUN_UNREACH, TUN_R_NO_INSTANCE},
	    {"fd00:30::20", TUN_UNREACH, TUN_R_NO_INSTANCE},
	    {"10.30.9.9", TUN_UNREACH, TUN_R_NO_SERVICE},
	    {"fd00:30::99", TUN_UNREACH, TUN_R_NO_SERVICE},
	    {"198.51.100.1", TUN_DROP, TUN_R_NO_FLOW},
	    {"fd00:31::10", TUN_DROP, TUN_R_NO_FLOW},
	};

	for (size_t i = 0; i < 6; i++) {
		const char *cli = is6(c[i].dst) ? "fd00:10::5" : "10.0.1.5";
		d = out(f, mk(&t, IPPROTO_UDP, cli, 4000, c[i].dst, 53));
		expect(&d, c[i].action, c[i].reason);
		/* The client's error about a datagram "from" dst: never
		 * answered with an unreachable. */
		mk(&q, IPPROTO_UDP, c[i].dst, 53, cli, 4000);
		d = out(f, mkerr(&t, cli, c[i].dst, &q));
		expect(&d, TUN_DROP, TUN_R_NO_FLOW);
	}
	struct tun_core_stats s = stats(f);
	assert_int_equal(s.reasons[TUN_R_NO_INSTANCE], 2);
	assert_int_equal(s.reasons[TUN_R_NO_SERVICE], 2);
	assert_int_equal(s.reasons[TUN_R_NO_FLOW], 8);
	assert_int_equal(s.flows_new, 0);
	assert_string_equal(tun_reason_name(TUN_R_NO_INSTANCE), "no_instance");
	assert_string_equal(tun_reason_name(TUN_R_FRAG), "fragment_early");
}

/* Replies on the client node: from a local instance through the device,
 * from a remote one through the tunnel (flag R). */
static void test_replies(void **state)
{
	struct fx *f = *state;
	const struct tun_view *v = tun_core_view(f->core);
	const char *cli = "10.0.1.5", *svc = "10.30.0.10";
	struct tpkt t, r;
	struct tun_decision d;

	uint16_t sp = flow_to(v, &t, IPPROTO_TCP, cli, svc, 80, 1)->sport;
	d = out(f, &t.p);
	assert_to(f, &d, svc, 1);
	d = out(f, mk(&r, IPPROTO_TCP, "10.1.0.1", 80, cli, sp));
	assert_snat(&d, "10.1.0.1", svc, 1);
	/* The instance's error about the (translated) forward packet. */
	mk(&t, IPPROTO_TCP, cli, sp, "10.1.0.1", 80);
	d = out(f, mkerr(&r, "10.1.0.1", cli, &t));
	assert_snat(&d, "10.1.0.1", svc, 1);
	d = out(f, mk(&r, IPPROTO_TCP, "10.1.0.1", 80, cli, sp + 1));
	expect(&d, TUN_DROP, TUN_R_NO_FLOW);

	flow_to(v, &t, PING, "fd00:10::5", "fd00:30::10", 0, 1);
	d = out(f, &t.p);
	assert_to(f, &d, "fd00:30::10", 1);
	d = out(f, mk(&r, PONG, "fd00:1::1", t.p.sport, "fd00:10::5", 0));
	assert_snat(&d, "fd00:1::1", "fd00:30::10", 1);

	cli = "fd00:10::5";
	svc = "fd00:30::10";
	sp = flow_to(v, &t, IPPROTO_UDP, cli, svc, 53, 2)->sport;
	d = out(f, &t.p);
	assert_to(f, &d, svc, 2);
	mk(&r, IPPROTO_UDP, "fd00:2::2", 53, cli, sp);
	d = in(f, &r.p, true, 2);
	assert_snat(&d, "fd00:2::2", svc, 2);
	d = in(f, &r.p, false, 2); /* without R: for no instance here */
	expect(&d, TUN_DROP, TUN_R_NOT_LOCAL);
	d = in(f, mk(&r, IPPROTO_UDP, "fd00:2::2", 53, cli, sp + 1), true, 2);
	expect(&d, TUN_DROP, TUN_R_NO_FLOW);
	d = in(f, &t.p, true, 2); /* a forward entry is not a reply's */
	expect(&d, TUN_DROP, TUN_R_NO_FLOW);
	assert_int_equal(stats(f).reasons[TUN_R_NO_FLOW], 3);
}

/* ---- the instance's node ---- */

static void test_server_node(void **state)
{
	struct fx *f = *state;
	struct tpkt t, r, r6;
	struct tun_decision d;
	static const char *const notlocal[] = {"10.3.0.3", "10.1.0.1",
					       "10.30.0.10", "fd00:3::3"};

	f->self = "n2";
	install(f);
	d = in(f, mk(&t, IPPROTO_TCP, "10.0.1.5", 4000, "10.2.0.2", 80), false,
	       1);
	expect(&d, TUN_DELIVER, TUN_R_OK);
	assert_int_equal(d.nat, TUN_NAT_NONE);
	d = out(f, mk(&r, IPPROTO_TCP, "10.2.0.2", 80, "10.0.1.5", 4000));
	expect(&d, TUN_SEND, TUN_R_OK);
	assert_string_equal(d.node->name, "n1");
	assert_true(d.reply);
	assert_int_equal(d.nat, TUN_NAT_NONE);

	d = in(f, mk(&t, PING, "fd00:10::7", 9, "fd00:2::2", 0), false, 3);
	expect(&d, TUN_DELIVER, TUN_R_OK);
	d = out(f, mk(&r6, PONG, "fd00:2::2", 9, "fd00:10::7", 0));
	expect(&d, TUN_SEND, TUN_R_OK);
	assert_string_equal(d.node->name, "n3");
	assert_true(d.reply);

	for (int i = 0; i < 4; i++) {
		const char *cli = is6(notlocal[i]) ? "fd00:10::5" : "10.0.1.5";
		d = in(f, mk(&t, IPPROTO_TCP, cli, 4000, notlocal[i], 80),
		       false, 1);
		expect(&d, TUN_DROP, TUN_R_NOT_LOCAL);
	}

	f->w.node[0] = f->w.node[--f->w.nn]; /* n1 leaves */
	del_inst(&f->w, 1);
	install(f);
	assert_int_equal(stats(f).flows_forgotten, 1);
	d = out(f, &r.p);
	expect(&d, TUN_DROP, TUN_R_NO_FLOW);
	d = out(f, &r6.p); /* n3 stays */
	expect(&d, TUN_SEND, TUN_R_OK);
	assert_string_equal(d.node->name, "n3");
}

/* ---- fragments ---- */

static void test_fragments(void **state)
{
	struct fx *f = *state;
	const char *cli = "10.0.1.5", *svc = "10.30.0.10";
	struct tpkt t;
	struct tun_decision d;

	d = out(f, mkf(&t, IPPROTO_UDP, cli, 7000, svc, 53, 0x1234, IP4_MF));
	assert_true(t.p.first_fragment);
	assert_true(d.new_flow);
	assert_int_equal(d.n_released, 0);
	uint32_t id = d.instance;
	assert_to(f, &d, svc, id);
	d = out(f, mkf(&t, IPPROTO_UDP, cli, 0, svc, 0, 0x1234, 185));
	assert_true(t.p.fragment && !t.p.first_fragment);
	assert_to(f, &d, svc, id);
	assert_false(d.new_flow);

	/* Before their first: held, each in a slot of its own. */
	d = out(f, mkf(&t, IPPROTO_UDP, cli, 0, svc, 0, 0x4321, 370));
	assert_int_equal(d.action, TUN_HOLD);
	uint32_t s1 = d.hold_id;
	d = out(f, mkf(&t, IPPROTO_UDP, cli, 0, svc, 0, 0x4321, 185));
	assert_int_equal(d.action, TUN_HOLD);
	uint32_t s2 = d.hold_id;
	assert_true(s1 < TUN_HOLD_SLOTS && s2 < TUN_HOLD_SLOTS && s1 != s2);
	assert_int_equal(stats(f).frags_held, 2);
	assert_int_equal(stats(f).reasons[TUN_R_FRAG], 0);

	/* The late first of 0x4321 (the same flow) releases them in their
	 * arrival order; passed through again, they follow it. */
	d = out(f, mkf(&t, IPPROTO_UDP, cli, 7000, svc, 53, 0x4321, IP4_MF));
	assert_false(d.new_flow);
	assert_to(f, &d, svc, id);
	assert_int_equal(d.n_released, 2);
	assert_int_equal(d.released[0], s1);
	assert_int_equal(d.released[1], s2);
	d = out(f, mkf(&t, IPPROTO_UDP, cli, 0, svc, 0, 0x4321, 370));
	assert_to(f, &d, svc, id);
	d = out(f, mkf(&t, IPPROTO_UDP, cli, 0, svc, 0, 0x4321, 185));
	assert_to(f, &d, svc, id);
	assert_int_equal(stats(f).frags_released, 2);
	assert_int_equal(stats(f).flows_new, 1);

	/* Their slots are free again: the next hold takes the last freed. */
	d = out(f, mkf(&t, IPPROTO_UDP, cli, 0, svc, 0, 0x5555, 185));
	assert_int_equal(d.action, TUN_HOLD);
	assert_int_equal(d.hold_id, s2);
}

/* A held fragment whose first never comes is given up after TUN_HOLD_MS,
 * as fragment_early, and its slot is free again. */
static void test_fragment_expires(void **state)
{
	struct fx *f = *state;
	const char *cli = "10.0.1.5", *svc = "10.30.0.10";
	struct tpkt t;
	struct tun_decision d;

	d = out(f, mkf(&t, IPPROTO_UDP, cli, 0, svc, 0, 0x777, 185));
	assert_int_equal(d.action, TUN_HOLD);
	uint32_t s = d.hold_id;
	f->now += TUN_HOLD_MS - 1;
	tun_core_expire(f->core, f->now);
	assert_int_equal(stats(f).reasons[TUN_R_FRAG], 0);
	f->now += 1;
	tun_core_expire(f->core, f->now);
	assert_int_equal(stats(f).reasons[TUN_R_FRAG], 1);
	assert_int_equal(stats(f).frags_released, 0);

	/* Its first, too late: nothing to release; a new hold reuses s. */
	d = out(f, mkf(&t, IPPROTO_UDP, cli, 7000, svc, 53, 0x777, IP4_MF));
	assert_true(d.new_flow);
	assert_int_equal(d.n_released, 0);
	d = out(f, mkf(&t, IPPROTO_UDP, cli, 0, svc, 0, 0x778, 185));
	assert_int_equal(d.hold_id, s);
}

/* The bounds: TUN_HOLD_PER_DATAGRAM per datagram, TUN_HOLD_SLOTS in all;
 * beyond them a fragment is dropped at once. Destroying the core gives the
 * held ones up. */
static void test_fragment_bounds(void **state)
{
	struct fx *f = *state;
	const char *svc = "10.30.0.10";
	struct tpkt t;
	struct tun_decision d;
	bool taken[TUN_HOLD_SLOTS] = {false};

	for (uint16_t i = 0; i < TUN_HOLD_PER_DATAGRAM; i++) {
		d = out(f, mkf(&t, IPPROTO_UDP, "10.0.1.5", 0, svc, 0, 0x100,
			       (uint16_t)(185 * (i + 1))));
		assert_int_equal(d.action, TUN_HOLD);
		assert_false(taken[d.hold_id]);
		taken[d.hold_id] = true;
	}
	d = out(f, mkf(&t, IPPROTO_UDP, "10.0.1.5", 0, svc, 0, 0x100, 2000));
	expect(&d, TUN_DROP, TUN_R_FRAG);

	/* Fill the rest of the slots, one datagram each. */
	for (int i = TUN_HOLD_PER_DATAGRAM; i < TUN_HOLD_SLOTS; i++) {
		d = out(f, mkf(&t, IPPROTO_UDP, "10.0.1.5", 0, svc, 0,
			       (uint16_t)(0x200 + i), 185));
		assert_int_equal(d.action, TUN_HOLD);
		assert_false(taken[d.hold_id]);
		taken[d.hold_id] = true;
	}
	d = out(f, mkf(&t, IPPROTO_UDP, "10.0.1.6", 0, svc, 0, 0x999, 185));
	expect(&d, TUN_DROP, TUN_R_FRAG);
	assert_int_equal(stats(f).frags_held, TUN_HOLD_SLOTS);
	assert_int_equal(stats(f).reasons[TUN_R_FRAG], 2);

	/* One first releases its 8; the freed slots take new holds. */
	d = out(f,
		mkf(&t, IPPROTO_UDP, "10.0.1.5", 7000, svc, 53, 0x100, IP4_MF));
	assert_int_equal(d.n_released, TUN_HOLD_PER_DATAGRAM);
	d = out(f, mkf(&t, IPPROTO_UDP, "10.0.1.6", 0, svc, 0, 0x999, 185));
	assert_int_equal(d.action, TUN_HOLD);
}

/* On the client's node, a reply's later fragment that comes through the
 * tunnel before its first is held too, and released by it. */
static void test_reply_fragment_held(void **state)
{
	struct fx *f = *state;
	const char *cli = "10.0.1.5", *svc = "10.30.0.10";
	struct tpkt t, r;
	struct tun_decision d;

	flow_to(tun_core_view(f->core), &t, IPPROTO_UDP, cli, svc, 53, 2);
	assert_true(out(f, &t.p).new_flow);
	d = in(f, mkf(&r, IPPROTO_UDP, "10.2.0.2", 0, cli, 0, 0x42, 185), true,
	       2);
	assert_int_equal(d.action, TUN_HOLD);
	uint32_t s = d.hold_id;
	d = in(
	    f,
	    mkf(&r, IPPROTO_UDP, "10.2.0.2", 53, cli, t.p.sport, 0x42, IP4_MF),
	    true, 2);
	assert_snat(&d, "10.2.0.2", svc, 2);
	assert_int_equal(d.n_released, 1);
	assert_int_equal(d.released[0], s);
	d = in(f, mkf(&r, IPPROTO_UDP, "10.2.0.2", 0, cli, 0, 0x42, 185), true,
	       2);
	assert_snat(&d, "10.2.0.2", svc, 2);
}

/* A flow busy in one direction keeps the other direction's entry: a UDP
 * flow whose client keeps sending while its instance is silent for longer
 * than the idle timeout still gets the instance's next reply translated. */
static void test_reply_after_one_way_traffic(void **state)
{
	struct fx *f = *state;
	struct tpkt t, r;
	struct tun_decision d;

	flow_to(tun_core_view(f->core), &t, IPPROTO_UDP, "10.0.1.5",
		"10.30.0.10", 53, 2);
	assert_true(out(f, &t.p).new_flow);
	for (int i = 0; i < 3; i++) { /* every 20 s: never idle */
		f->now += 20000;
		assert_false(out(f, &t.p).new_flow);
	}
	d = in(f, mk(&r, IPPROTO_UDP, "10.2.0.2", 53, "10.0.1.5", t.p.sport),
	       true, 2);
	assert_snat(&d, "10.2.0.2", "10.30.0.10", 2); /* is DROP no_flow */
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ids),
	    T(test_view_lookups),
	    T(test_view_skips),
	    T(test_choose_spread_agree),
	    T(test_view_local),
	    T(test_out_first_packet),
	    T(test_out_sticky_then_forget),
	    T(test_out_idle_expiry),
	    T(test_out_misses),
	    T(test_replies),
	    T(test_server_node),
	    T(test_fragments),
	    T(test_fragment_expires),
	    T(test_fragment_bounds),
	    T(test_reply_fragment_held),
	    T(test_reply_after_one_way_traffic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
