/* Unit tests of the flow classifier (lb/flow.h). Packets are filled by hand:
 * the parser is tested on its own. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lb/flow.h"

/* ---- configuration builders ---- */

#define MAX_MSGS 2048

struct fx {
	Nsp__Flow *flows[MAX_MSGS];
	size_t nf;
	Nsp__Vip *vips[MAX_MSGS];
	size_t nv;
};

/* Splits a ';'-separated list ("" is the empty list). */
static char **split(const char *s, size_t *n)
{
	char **v, *copy, *tok, *save = NULL;
	size_t cap = 1;

	for (const char *c = s; *c; c++)
		cap += *c == ';';
	v = calloc(cap, sizeof(*v));
	assert_non_null(v);
	*n = 0;
	copy = strdup(s);
	assert_non_null(copy);
	for (tok = strtok_r(copy, ";", &save); tok;
	     tok = strtok_r(NULL, ";", &save))
		v[(*n)++] = strdup(tok);
	free(copy);
	return v;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static Nsp__Flow *add_flow(struct fx *x, const char *name, int32_t prio,
			   const char *vips, const char *protos,
			   const char *srcs, const char *sports,
			   const char *dports, const char *bytes)
{
	Nsp__Flow *m = calloc(1, sizeof(*m));
	char stream[128];

	assert_non_null(m);
	assert_true(x->nf < MAX_MSGS);
	nsp__flow__init(m);
	snprintf(stream, sizeof(stream), "stream-%s", name);
	m->name = strdup(name);
	m->stream = strdup(stream);
	m->priority = prio;
	m->vips = split(vips, &m->n_vips);
	m->protocols = split(protos, &m->n_protocols);
	m->source_subnets = split(srcs, &m->n_source_subnets);
	m->source_port_ranges = split(sports, &m->n_source_port_ranges);
	m->destination_port_ranges =
	    split(dports, &m->n_destination_port_ranges);
	m->byte_matches = split(bytes, &m->n_byte_matches);
	x->flows[x->nf++] = m;
	return m;
}

static void add_vip(struct fx *x, const char *name, const char *addr)
{
	Nsp__Vip *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	assert_true(x->nv < MAX_MSGS);
	nsp__vip__init(m);
	m->name = strdup(name);
	m->address = strdup(addr);
	x->vips[x->nv++] = m;
}

static void fx_free(struct fx *x)
{
	for (size_t i = 0; i < x->nf; i++) {
		Nsp__Flow *m = x->flows[i];

		free(m->name);
		free(m->stream);
		strv_free(m->vips, m->n_vips);
		strv_free(m->protocols, m->n_protocols);
		strv_free(m->source_subnets, m->n_source_subnets);
		strv_free(m->source_port_ranges, m->n_source_port_ranges);
		strv_free(m->destination_port_ranges,
			  m->n_destination_port_ranges);
		strv_free(m->byte_matches, m->n_byte_matches);
		free(m);
	}
	for (size_t i = 0; i < x->nv; i++) {
		free(x->vips[i]->name);
		free(x->vips[i]->address);
		free(x->vips[i]);
	}
	free(x);
}

static struct fx *fx_new(void)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	add_vip(x, "vip4", "198.18.0.1/32");
	add_vip(x, "vip6", "2001:db8::1/128");
	add_vip(x, "vip4b", "198.18.0.2/32");
	return x;
}

static struct lb_flows *build(struct fx *x)
{
	struct lb_flows *f = NULL;
	char err[256] = "";
	int rc;

	rc = lb_flows_build(x->flows, x->nf, x->vips, x->nv, &f, err,
			    sizeof(err));
	if (rc)
		fail_msg("build: %d %s", rc, err);
	assert_non_null(f);
	return f;
}

/* ---- packets ---- */

struct pk {
	struct pkt p;
	uint8_t l4[64];
};

static void addr(int family, const char *s, uint8_t *out)
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(family, s, out), 1);
}

/* A whole, unfragmented packet. TCP, UDP and SCTP get their ports in the
 * first 4 L4 bytes; the rest of the 64 L4 bytes are zero. */
static struct pk *pkt(struct pk *k, uint8_t proto, const char *src,
		      const char *dst, uint16_t sport, uint16_t dport)
{
	int family = strchr(dst, ':') ? AF_INET6 : AF_INET;

	memset(k, 0, sizeof(*k));
	k->p.family = family;
	k->p.proto = proto;
	addr(family, src, k->p.src);
	addr(family, dst, k->p.dst);
	k->p.l4 = k->l4;
	k->p.l4len = sizeof(k->l4);
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	    proto == IPPROTO_SCTP) {
		k->p.sport = sport;
		k->p.dport = dport;
		k->p.has_ports = true;
		k->l4[0] = (uint8_t)(sport >> 8);
		k->l4[1] = (uint8_t)sport;
		k->l4[2] = (uint8_t)(dport >> 8);
		k->l4[3] = (uint8_t)dport;
	}
	k->p.total_len = 100;
	return k;
}

static const char *cls(const struct lb_flows *f, const struct pk *k)
{
	const struct lb_flow *fl = lb_flows_classify(f, &k->p);

	return fl ? lb_flow_name(fl) : "(none)";
}

#define C "192.0.2.10"
#define C6 "2001:db8:ff::10"
#define V4 "198.18.0.1"
#define V6 "2001:db8::1"

/* ---- tests ---- */

static void test_priority_wins(void **state)
{
	struct fx *x = fx_new();
	struct lb_flows *f;
	const struct lb_flow *fl;
	struct pk k;

	(void)state;
	add_flow(x, "low", 1, "vip4;vip6", "tcp", "", "", "", "");
	add_flow(x, "high", 10, "vip4", "tcp", "", "", "80", "");
	add_flow(x, "negative", -5, "vip4", "", "", "", "", "");
	f = build(x);

	assert_string_equal(cls(f, pkt(&k, IPPROTO_TCP, C, V4, 1234, 80)),
			    "high");
	assert_string_equal(cls(f, pkt(&k, IPPROTO_TCP, C, V4, 1234, 81)),
			    "low");
	assert_string_equal(cls(f, pkt(&k, IPPROTO_UDP, C, V4, 1234, 80)),
			    "negative");
	assert_string_equal(cls(f, pkt(&k, IPPROTO_TCP, C6, V6, 1234, 80)),
			    "low");

	/* Accessors: name order is the index. */
	assert_int_equal(lb_flows_count(f), 3);
	assert_string_equal(lb_flow_name(lb_flows_at(f, 0)), "high");
	assert_string_equal(lb_flow_name(lb_flows_at(f, 1)), "low");
	assert_string_equal(lb_flow_name(lb_flows_at(f, 2)), "negative");
	assert_null(lb_flows_at(f, 3));
	fl = lb_flows_find(f, "high");
	assert_non_null(fl);
	assert_string_equal(lb_flow_stream(fl), "stream-high");
	assert_int_equal(lb_flow_priority(fl), 10);
	assert_int_equal(lb_flow_priority(lb_flows_find(f, "negative")), -5);
	assert_int_equal(lb_flow_index(fl), 0);
	assert_ptr_equal(lb_flow_counter(fl), &lb_flows_counters(f)[0]);
	assert_null(lb_flows_find(f, "nope"));

	lb_flows_free(f);
	fx_free(x);
}

static void test_vip_mismatch(void **state)
{
	struct fx *x = fx_new();
	struct lb_flows *f;
	struct pk k;

	(void)state;
	add_flow(x, "f", 0, "vip4", "", "", "", "", "");
	f = build(x);

	assert_string_equal(cls(f, pkt(&k, IPPROTO_TCP, C, V4, 1, 2)), "f");
	/* Another address, a VIP without flows, the other family. */
	assert_null(lb_flows_classify(
	    f, &pkt(&k, IPPROTO_TCP, C, "198.18.0.9", 1, 2)->p));
	assert_null(lb_flows_classify(
	    f, &pkt(&k, IPPROTO_TCP, C, "198.18.0.2", 1, 2)->p));
	assert_null(
	    lb_flows_classify(f, &pkt(&k, IPPROTO_TCP, C6, V6, 1, 2)->p));
	/* "::c612:1" holds 198.18.0.1 in its last four bytes, not its first;
	 * and an IPv6 address whose first four bytes are the VIP's. */
	assert_null(lb_flows_classify(
	    f, &pkt(&k, IPPROTO_TCP, C6, "::c612:1", 1, 2)->p));
	assert_null(lb_flows_classify(
	    f, &pkt(&k, IPPROTO_TCP, C6, "c612:1::", 1, 2)->p));
	/* Not an IP family at all. */
	pkt(&k, IPPROTO_TCP, C, V4, 1, 2);
	k.p.family = AF_UNIX;
	assert_null(lb_flows_classify(f, &k.p));

	lb_flows_free(f);
	fx_free(x);
}

static void test_source_subnets(void **state)
{
	struct fx *x = fx_new();
	struct lb_flows *f;
	struct pk k;

	(void)state;
	add_flow(x, "inside", 10, "vip4;vip6", "",
		 "10.0.0.0/8;172.16.0.0/12;fd00:1::/48;0.0.0.0/32", "", "", "");
	add_flow(x, "host", 20, "vip4;vip6", "", "203.0.113.7/32;fd00:2::7/128",
		 "", "", "");
	add_flow(x, "any", 0, "vip4;vip6", "", "", "", "", "");
	f = build(x);

	assert_string_equal(cls(f, pkt(&k, 6, "10.1.2.3", V4, 1, 2)), "inside");
	assert_string_equal(cls(f, pkt(&k, 6, "11.0.0.1", V4, 1, 2)), "any");
	/* /12: 172.16.0.0 - 172.31.255.255. */
	assert_string_equal(cls(f, pkt(&k, 6, "172.31.255.255", V4, 1, 2)),
			    "inside");
	assert_string_equal(cls(f, pkt(&k, 6, "172.32.0.0", V4, 1, 2)), "any");
	assert_string_equal(cls(f, pkt(&k, 6, "172.15.255.255", V4, 1, 2)),
			    "any");
	assert_string_equal(cls(f, pkt(&k, 6, "0.0.0.0", V4, 1, 2)), "inside");
	assert_string_equal(cls(f, pkt(&k, 6, "203.0.113.7", V4, 1, 2)),
			    "host");
	assert_string_equal(cls(f, pkt(&k, 6, "203.0.113.6", V4, 1, 2)), "any");

	assert_string_equal(cls(f, pkt(&k, 6, "fd00:1:0:ffff::1", V6, 1, 2)),
			    "inside");
	assert_string_equal(cls(f, pkt(&k, 6, "fd00:1:1::1", V6, 1, 2)), "any");
	assert_string_equal(cls(f, pkt(&k, 6, "fd00:2::7", V6, 1, 2)), "host");
	assert_string_equal(cls(f, pkt(&k, 6, "fd00:2::8", V6, 1, 2)), "any");
	/* 10.0.0.0/8 must not match an IPv6 source starting with 0a00::. */
	assert_string_equal(cls(f, pkt(&k, 6, "a00::1", V6, 1, 2)), "any");

	lb_flows_free(f);
	fx_free(x);
}

static void test_port_ranges(void **state)
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP,
					 IPPROTO_SCTP};
	struct fx *x = fx_new();
	struct lb_flows *f;
	struct pk k;

	(void)state;
	add_flow(x, "ports", 10, "vip4;vip6", "tcp;udp;sctp", "", "1024-65535",
		 "80;8000-8099;443", "");
	add_flow(x, "sport-only", 5, "vip4", "udp", "", "53", "", "");
	f = build(x);

	for (size_t i = 0; i < sizeof(protos); i++) {
		uint8_t p = protos[i];

		assert_string_equal(cls(f, pkt(&k, p, C, V4, 2000, 80)),
				    "ports");
		assert_string_equal(cls(f, pkt(&k, p, C6, V6, 65535, 443)),
				    "ports");
		assert_string_equal(cls(f, pkt(&k, p, C, V4, 1024, 8000)),
				    "ports");
		assert_string_equal(cls(f, pkt(&k, p, C, V4, 1024, 8099)),
				    "ports");
		assert_string_equal(cls(f, pkt(&k, p, C, V4, 1024, 8100)),
				    "(none)");
		assert_string_equal(cls(f, pkt(&k, p, C, V4, 1023, 80)),
				    "(none)");
		assert_string_equal(cls(f, pkt(&k, p, C, V4, 2000, 81)),
				    "(none)");
		assert_string_equal(cls(f, pkt(&k, p, C, V4, 53, 7)),
				    p == IPPROTO_UDP ? "sport-only" : "(none)");
	}

	/* A TCP header cut short before its ports: port flows cannot tell. */
	pkt(&k, IPPROTO_TCP, C, V4, 2000, 80);
	k.p.has_ports = false;
	k.p.sport = k.p.dport = 0;
	k.p.l4len = 2;
	assert_string_equal(cls(f, &k), "(none)");

	lb_flows_free(f);
	fx_free(x);
}

static void test_protocols(void **state)
{
	struct fx *x = fx_new();
	struct lb_flows *f;
	struct pk k;

	(void)state;
	add_flow(x, "web", 30, "vip4;vip6", "TCP;icmp", "", "", "80", "");
	add_flow(x, "udp", 20, "vip4;vip6", "udp", "", "", "", "");
	add_flow(x, "ping6", 20, "vip6", "icmpv6", "", "", "", "");
	add_flow(x, "all", 0, "vip4b", "", "", "", "", "");
	f = build(x);

	assert_string_equal(cls(f, pkt(&k, IPPROTO_TCP, C, V4, 9, 80)), "web");
	assert_string_equal(cls(f, pkt(&k, IPPROTO_TCP, C, V4, 9, 81)),
			    "(none)");
	assert_string_equal(cls(f, pkt(&k, IPPROTO_UDP, C, V4, 9, 80)), "udp");
	assert_string_equal(cls(f, pkt(&k, IPPROTO_SCTP, C, V4, 9, 80)),
			    "(none)");
	/* Port ranges do not constrain ICMP: "web" takes it. */
	assert_string_equal(cls(f, pkt(&k, IPPROTO_ICMP, C, V4, 0, 0)), "web");
	/* "icmp" is ICMP for IPv4 only; ICMPv6 needs "icmpv6". */
	assert_string_equal(cls(f, pkt(&k, IPPROTO_ICMPV6, C6, V6, 0, 0)),
			    "ping6");
	assert_string_equal(cls(f, pkt(&k, IPPROTO_ICMP, C6, V6, 0, 0)), "web");
	/* No protocols: every protocol, GRE and ESP included. */
	assert_string_equal(cls(f, pkt(&k, 47, C, "198.18.0.2", 0, 0)), "all");
	assert_string_equal(cls(f, pkt(&k, 50, C, "198.18.0.2", 0, 0)), "all");
	assert_string_equal(cls(f, pkt(&k, 255, C, "198.18.0.2", 0, 0)), "all");
	assert_string_equal(cls(f, pkt(&k, 47, C, V4, 0, 0)), "(none)");

	lb_flows_free(f);
	fx_free(x);
}

static void test_byte_matches(void **state)
{
	struct fx *x = fx_new();
	struct lb_flows *f;
	struct pk k;

	(void)state;
	add_flow(x, "tagged", 200, "vip4", "udp", "", "", "4000-4999",
		 "udp[8:2] = 4002");
	add_flow(x, "two", 150, "vip4", "udp", "", "", "",
		 "udp[8:1] = 0x11;udp[12:4] & 0xffff0000 = 0x22330000");
	add_flow(x, "syn", 100, "vip4", "tcp;udp", "", "", "",
		 "tcp[13:1] & 0x12 = 0x2");
	add_flow(x, "plain", 0, "vip4", "udp", "", "", "", "");
	f = build(x);

	/* Payload 0x0fa2 = 4002 right after the 8-byte UDP header. */
	pkt(&k, IPPROTO_UDP, C, V4, 5000, 4001);
	k.l4[8] = 0x0f;
	k.l4[9] = 0xa2;
	assert_string_equal(cls(f, &k), "tagged");
	k.l4[9] = 0xa3;
	assert_string_equal(cls(f, &k), "syn"); /* tcp[] leaves UDP alone */
	/* Too short for the match: 9 bytes at hand, the match needs 10. */
	k.l4[9] = 0xa2;
	k.p.l4len = 9;
	assert_string_equal(cls(f, &k), "syn");
	k.p.l4len = 10;
	assert_string_equal(cls(f, &k), "tagged");

	/* Both of two byte matches must hold; the mask hides the low half. */
	pkt(&k, IPPROTO_UDP, C, V4, 5000, 53);
	k.l4[8] = 0x11;
	k.l4[12] = 0x22;
	k.l4[13] = 0x33;
	k.l4[14] = 0xab;
	k.l4[15] = 0xcd;
	assert_string_equal(cls(f, &k), "two");
	k.l4[13] = 0x34;
	assert_string_equal(cls(f, &k), "syn");
	k.l4[13] = 0x33;
	k.l4[8] = 0x10;
	assert_string_equal(cls(f, &k), "syn");
	k.l4[8] = 0x11;
	k.p.l4len = 15;
	assert_string_equal(cls(f, &k), "syn");

	/* TCP flags: SYN without ACK. */
	pkt(&k, IPPROTO_TCP, C, V4, 5000, 80);
	k.l4[13] = 0x02;
	assert_string_equal(cls(f, &k), "syn");
	k.l4[13] = 0x12;
	assert_string_equal(cls(f, &k), "(none)");
	k.l4[13] = 0x0a; /* PSH does not count under the mask */
	assert_string_equal(cls(f, &k), "syn");
	k.p.l4 = NULL;
	k.p.l4len = 0;
	assert_string_equal(cls(f, &k), "(none)");

	lb_flows_free(f);
	fx_free(x);
}

static void test_icmp(void **state)
{
	struct fx *x = fx_new();
	struct lb_flows *f;
	struct pk k;

	(void)state;
	add_flow(x, "tcp-tagged", 100, "vip4;vip6", "tcp", "", "", "80",
		 "tcp[4:4] = 1");
	add_flow(x, "tcp80", 50, "vip4;vip6", "tcp", "192.0.2.0/24;" C6 "/128",
		 "", "80", "");
	add_flow(x, "ping", 10, "vip4", "icmp", "", "", "", "");
	add_flow(x, "ping-echo-only", 20, "vip4", "icmp", "", "", "",
		 "icmp[0:1] = 8");
	f = build(x);

	/* Echo request: the identifier in sport and dport is no port. */
	pkt(&k, IPPROTO_ICMP, C, V4, 0, 0);
	k.p.icmp_echo = true;
	k.p.icmp_type = 8;
	k.p.sport = k.p.dport = 0x1234;
	k.l4[0] = 8;
	assert_string_equal(cls(f, &k), "ping-echo-only");
	k.l4[0] = 0;
	k.p.icmp_type = 0;
	assert_string_equal(cls(f, &k), "ping");

	/* Fragmentation needed for the TCP connection C:40000 -> V4:80:
	 * the parser has put the inner flow, reversed, in the fields; l4 is
	 * the ICMP header. The byte-matched flow cannot be tested. */
	pkt(&k, IPPROTO_TCP, C, V4, 40000, 80);
	k.p.has_ports = true;
	k.p.icmp_error = true;
	k.p.icmp_type = 3;
	k.p.icmp_code = 4;
	memset(k.l4, 0, sizeof(k.l4));
	k.l4[0] = 3;
	k.l4[1] = 4;
	k.l4[7] = 1; /* would satisfy tcp[4:4] = 1 if tested */
	assert_string_equal(cls(f, &k), "tcp80");
	/* The same in IPv6: packet too big. */
	pkt(&k, IPPROTO_TCP, C6, V6, 40000, 80);
	k.p.icmp_error = true;
	k.p.icmp_type = 2;
	assert_string_equal(cls(f, &k), "tcp80");
	/* An error about a flow no one owns. */
	pkt(&k, IPPROTO_TCP, C, V4, 40000, 81);
	k.p.icmp_error = true;
	assert_string_equal(cls(f, &k), "(none)");

	lb_flows_free(f);
	fx_free(x);
}

static void test_fragments(void **state)
{
	struct fx *x = fx_new();
	struct lb_flows *f;
	struct pk k;

	(void)state;
	add_flow(x, "dns", 100, "vip4;vip6", "udp", "", "", "53", "");
	add_flow(x, "tagged", 90, "vip4;vip6", "udp", "", "", "",
		 "udp[8:1] = 1");
	add_flow(x, "tcp-bytes", 80, "vip4;vip6", "tcp;udp", "", "", "",
		 "tcp[0:1] = 1");
	add_flow(x, "udp-any", 10, "vip4", "udp", "", "", "", "");
	f = build(x);

	/* The first fragment carries the ports and the L4 header. */
	pkt(&k, IPPROTO_UDP, C, V4, 5000, 53);
	k.p.fragment = k.p.first_fragment = k.p.more_fragments = true;
	k.p.frag_id = 77;
	assert_string_equal(cls(f, &k), "dns");

	/* The rest: no ports, no L4. Port and udp byte flows cannot claim
	 * it; a tcp byte match does not concern UDP. */
	pkt(&k, IPPROTO_UDP, C, V4, 0, 0);
	k.p.has_ports = false;
	k.p.l4 = NULL;
	k.p.l4len = 0;
	k.p.fragment = true;
	k.p.frag_id = 77;
	k.p.frag_offset = 185;
	assert_string_equal(cls(f, &k), "tcp-bytes");
	/* IPv6: no port-free UDP flow but "tcp-bytes". */
	pkt(&k, IPPROTO_UDP, C6, V6, 0, 0);
	k.p.has_ports = false;
	k.p.l4 = NULL;
	k.p.l4len = 0;
	k.p.fragment = true;
	assert_string_equal(cls(f, &k), "tcp-bytes");
	/* A TCP non-first fragment: "tcp-bytes" needs bytes it lacks. */
	pkt(&k, IPPROTO_TCP, C6, V6, 0, 0);
	k.p.has_ports = false;
	k.p.l4 = NULL;
	k.p.l4len = 0;
	k.p.fragment = true;
	assert_string_equal(cls(f, &k), "(none)");

	lb_flows_free(f);
	fx_free(x);
}

static void test_ties(void **state)
{
	struct fx *x = fx_new(), *y = fx_new();
	struct lb_flows *f, *g;
	struct pk k;

	(void)state;
	add_flow(x, "b-flow", 5, "vip4", "tcp", "", "", "", "");
	add_flow(x, "a-flow", 5, "vip4", "tcp", "", "", "", "");
	add_flow(x, "c-flow", 5, "vip4", "tcp", "", "", "", "");
	add_flow(y, "c-flow", 5, "vip4", "tcp", "", "", "", "");
	add_flow(y, "a-flow", 5, "vip4", "tcp", "", "", "", "");
	add_flow(y, "b-flow", 5, "vip4", "tcp", "", "", "", "");
	f = build(x);
	g = build(y);

	assert_string_equal(cls(f, pkt(&k, IPPROTO_TCP, C, V4, 1, 2)),
			    "a-flow");
	assert_string_equal(cls(g, &k), "a-flow");
	/* A byte-wise order: "A" sorts before "a". */
	add_flow(x, "A-flow", 5, "vip4", "tcp", "", "", "", "");
	lb_flows_free(f);
	f = build(x);
	assert_string_equal(cls(f, &k), "A-flow");

	lb_flows_free(f);
	lb_flows_free(g);
	fx_free(x);
	fx_free(y);
}

static void test_duplicate_vip_refs(void **state)
{
	struct fx *x = fx_new();
	struct lb_flows *f;
	struct pk k;

	(void)state;
	/* A VIP named twice, and two names for one address: one entry. */
	add_vip(x, "vip4-alias", "198.18.0.1");
	add_flow(x, "f", 1, "vip4;vip4;vip4-alias", "udp", "", "", "1", "");
	add_flow(x, "g", 0, "vip4-alias", "udp", "", "", "", "");
	add_flow(x, "none", 9, "", "", "", "", "", "");
	f = build(x);
	assert_string_equal(cls(f, pkt(&k, IPPROTO_UDP, C, V4, 1, 1)), "f");
	assert_string_equal(cls(f, pkt(&k, IPPROTO_UDP, C, V4, 1, 2)), "g");
	assert_int_equal(lb_flows_count(f), 3);

	lb_flows_free(f);
	fx_free(x);
}

static void test_many(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct lb_flows *f;
	struct pk k;
	char name[32], vips[64], dst[64], dports[32];

	(void)state;
	assert_non_null(x);
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "vip-%03d", i);
		if (i % 2)
			snprintf(dst, sizeof(dst), "2001:db8:%x::%x/128", i, i);
		else
			snprintf(dst, sizeof(dst), "198.18.%d.%d/32", i / 100,
				 i % 100);
		add_vip(x, name, dst);
	}
	/* Flow j serves port 10000 + j on VIPs j % 200 and (j + 7) % 200;
	 * a catch-all per VIP sits below at priority -1. */
	for (int j = 0; j < 1000; j++) {
		snprintf(name, sizeof(name), "flow-%04d", j);
		snprintf(vips, sizeof(vips), "vip-%03d;vip-%03d", j % 200,
			 (j + 7) % 200);
		snprintf(dports, sizeof(dports), "%d", 10000 + j);
		add_flow(x, name, j % 5, vips, "tcp;udp", "", "", dports, "");
	}
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "catch-%03d", i);
		snprintf(vips, sizeof(vips), "vip-%03d", i);
		add_flow(x, name, -1, vips, "", "", "", "", "");
	}
	f = build(x);
	assert_int_equal(lb_flows_count(f), 1200);

	/* Every VIP, every port of every flow: the flow when it serves the
	 * VIP, else the VIP's catch-all. 200,000 packets. */
	for (int i = 0; i < 200; i++) {
		const char *src = i % 2 ? C6 : C;
		char want[32];

		if (i % 2)
			snprintf(dst, sizeof(dst), "2001:db8:%x::%x", i, i);
		else
			snprintf(dst, sizeof(dst), "198.18.%d.%d", i / 100,
				 i % 100);
		for (int j = 0; j < 1000; j++) {
			if (j % 200 == i || (j + 7) % 200 == i)
				snprintf(want, sizeof(want), "flow-%04d", j);
			else
				snprintf(want, sizeof(want), "catch-%03d", i);
			assert_string_equal(
			    cls(f, pkt(&k, IPPROTO_UDP, src, dst, 1,
				       (uint16_t)(10000 + j))),
			    want);
		}
	}

	lb_flows_free(f);
	fx_free(x);
}

static void expect_refused(struct fx *x, const char *want)
{
	struct lb_flows *f = NULL;
	char err[256] = "";

	assert_int_equal(lb_flows_build(x->flows, x->nf, x->vips, x->nv, &f,
					err, sizeof(err)),
			 -EINVAL);
	assert_null(f);
	if (!strstr(err, want))
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void test_refused(void **state)
{
	static const struct {
		const char *protos, *srcs, *sports, *dports, *bytes, *vips;
		const char *want;
	} cases[] = {
	    {"gre", "", "", "", "", "vip4",
	     "flow \"bad\": protocols: \"gre\" is not a protocol"},
	    {"tcp", "10.0.0.0", "", "", "", "vip4",
	     "flow \"bad\": source-subnets: \"10.0.0.0\""},
	    {"tcp", "", "5-3", "", "", "vip4",
	     "flow \"bad\": source-port-ranges: \"5-3\" is not a port or port "
	     "range: first port above last"},
	    {"tcp", "", "", "70000", "", "vip4",
	     "flow \"bad\": destination-port-ranges: \"70000\""},
	    {"tcp", "", "", "", "tcp[2:3] = 1", "vip4",
	     "flow \"bad\": byte-matches: \"tcp[2:3] = 1\" is not a byte "
	     "match: "},
	    {"tcp", "", "", "", "", "vip4;nope",
	     "flow \"bad\": vips: \"nope\" is not a VIP"},
	};
	struct lb_flows *f = NULL;
	struct fx *x;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		x = fx_new();
		add_flow(x, "good", 0, "vip4", "", "", "", "", "");
		add_flow(x, "bad", 0, cases[i].vips, cases[i].protos,
			 cases[i].srcs, cases[i].sports, cases[i].dports,
			 cases[i].bytes);
		expect_refused(x, cases[i].want);
		fx_free(x);
	}

	x = fx_new();
	add_flow(x, "same", 0, "vip4", "", "", "", "", "");
	add_flow(x, "same", 1, "vip4", "", "", "", "", "");
	expect_refused(x, "flow \"same\": name: duplicate");
	fx_free(x);

	x = fx_new();
	add_vip(x, "vip4", "198.18.0.7/32");
	expect_refused(x, "vip \"vip4\": name: duplicate");
	fx_free(x);

	x = fx_new();
	add_vip(x, "net", "198.18.0.0/24");
	expect_refused(x, "vip \"net\": address: \"198.18.0.0/24\" is not a "
			  "single address");
	fx_free(x);

	x = fx_new();
	add_vip(x, "junk", "not-an-address");
	expect_refused(x, "vip \"junk\"");
	/* No error buffer at all is fine. */
	assert_int_equal(
	    lb_flows_build(x->flows, x->nf, x->vips, x->nv, &f, NULL, 0),
	    -EINVAL);
	fx_free(x);

	/* Nothing at all builds an empty classifier. */
	assert_int_equal(lb_flows_build(NULL, 0, NULL, 0, &f, NULL, 0), 0);
	assert_int_equal(lb_flows_count(f), 0);
	assert_null(
	    lb_flows_classify(f, &pkt(&(struct pk){0}, 6, C, V4, 1, 2)->p));
	lb_flows_free(f);
	lb_flows_free(NULL);
}

static void test_counters_carry(void **state)
{
	struct fx *x = fx_new();
	struct lb_flows *old, *f;

	(void)state;
	add_flow(x, "a", 0, "vip4", "", "", "", "", "");
	add_flow(x, "b", 0, "vip4", "", "", "", "", "");
	add_flow(x, "d", 0, "vip4", "", "", "", "", "");
	old = build(x);
	(*lb_flow_counter(lb_flows_find(old, "a")))++;
	*lb_flow_counter(lb_flows_find(old, "b")) = 7;
	*lb_flow_counter(lb_flows_find(old, "d")) = 9;
	fx_free(x);

	x = fx_new();
	add_flow(x, "d", 0, "vip4", "", "", "", "", "");
	add_flow(x, "c", 0, "vip4", "", "", "", "", "");
	add_flow(x, "a", 0, "vip4", "", "", "", "", "");
	f = build(x);
	lb_flows_carry_counters(f, old);
	lb_flows_carry_counters(f, NULL);
	assert_int_equal(*lb_flow_counter(lb_flows_find(f, "a")), 1);
	assert_int_equal(*lb_flow_counter(lb_flows_find(f, "c")), 0);
	assert_int_equal(*lb_flow_counter(lb_flows_find(f, "d")), 9);
	assert_int_equal(lb_flows_counters(f)[2], 9);

	lb_flows_free(old);
	lb_flows_free(f);
	fx_free(x);
}

static void test_hash(void **state)
{
	struct pk a, b;
	uint64_t h;

	(void)state;
	pkt(&a, IPPROTO_TCP, C, V4, 40000, 80);
	h = lb_flow_hash(&a.p);
	/* Pinned: every LB, every build, every release must agree, or LBs
	 * behind one ECMP router send a connection to different targets. */
	assert_int_equal(h, UINT64_C(0x95f7c3a38477abed));

	/* Bytes past an IPv4 address do not count. */
	pkt(&b, IPPROTO_TCP, C, V4, 40000, 80);
	b.p.src[10] = 0xee;
	b.p.dst[15] = 0xee;
	assert_int_equal(lb_flow_hash(&b.p), h);
	/* Direction matters; every field counts. */
	pkt(&b, IPPROTO_TCP, V4, C, 80, 40000);
	assert_int_not_equal(lb_flow_hash(&b.p), h);
	pkt(&b, IPPROTO_TCP, C, V4, 80, 40000);
	assert_int_not_equal(lb_flow_hash(&b.p), h);
	pkt(&b, IPPROTO_UDP, C, V4, 40000, 80);
	assert_int_not_equal(lb_flow_hash(&b.p), h);
	pkt(&b, IPPROTO_TCP, C, "198.18.0.2", 40000, 80);
	assert_int_not_equal(lb_flow_hash(&b.p), h);
	pkt(&b, IPPROTO_TCP, C, V4, 40001, 80);
	assert_int_not_equal(lb_flow_hash(&b.p), h);
	/* An ICMP error about the flow hashes like the flow. */
	pkt(&b, IPPROTO_TCP, C, V4, 40000, 80);
	b.p.icmp_error = true;
	b.p.icmp_type = 3;
	b.l4[0] = 3;
	assert_int_equal(lb_flow_hash(&b.p), h);
	/* IPv6. */
	pkt(&b, IPPROTO_TCP, C6, V6, 40000, 80);
	assert_int_not_equal(lb_flow_hash(&b.p), h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_priority_wins),
	    cmocka_unit_test(test_vip_mismatch),
	    cmocka_unit_test(test_source_subnets),
	    cmocka_unit_test(test_port_ranges),
	    cmocka_unit_test(test_protocols),
	    cmocka_unit_test(test_byte_matches),
	    cmocka_unit_test(test_icmp),
	    cmocka_unit_test(test_fragments),
	    cmocka_unit_test(test_ties),
	    cmocka_unit_test(test_duplicate_vip_refs),
	    cmocka_unit_test(test_many),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_counters_carry),
	    cmocka_unit_test(test_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
