/* The packet parser (lib/packet.h) on pcap fixtures.
 *
 * The fixtures in tests/fixtures/lb/ are made by make_fixtures.c beside
 * them; its comments say what each packet is, and the expectations here
 * follow the packet order in each file. Every packet is also parsed cut
 * at every byte and with every byte changed, each time from an allocation
 * of exactly the bytes given, so that under ASan any read past the end
 * fails the test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "../../lib/packet.h"
#include "../fixtures/pcap.h"

#define FIX "tests/fixtures/lb/"

static const char *const files[] = {
    "v4_l4",	"v6_ext",	"v4_frag",   "v6_frag",	  "icmp_echo",
    "icmp_err", "icmp_err_bad", "malformed", "truncated",
};

#define CLIENT4 "198.18.1.10"
#define VIP4 "198.18.100.1"
#define ROUTER4 "198.18.200.1"
#define CLIENT6 "fd00:1::10"
#define VIP6 "fd00:100::1"
#define ROUTER6 "fd00:200::1"

static struct pcap_file load(const char *name)
{
	char path[256];
	struct pcap_file f;

	snprintf(path, sizeof(path), FIX "%s.pcap", name);
	assert_int_equal(pcap_load(path, &f), 0);
	assert_true(f.n > 0);
	return f;
}

/* What every successful parse must satisfy, whatever the bytes. */
static void check(const uint8_t *d, size_t len, const struct pkt *p)
{
	assert_true(p->family == AF_INET || p->family == AF_INET6);
	if (p->l4) {
		assert_true(p->l4 >= d && p->l4 <= d + len);
		assert_true(p->l4len <= (size_t)(d + len - p->l4));
	} else {
		assert_int_equal(p->l4len, 0);
		assert_true(p->fragment && !p->first_fragment);
		assert_false(p->has_ports || p->icmp_echo || p->icmp_error);
	}
	if (p->has_ports && !p->icmp_error)
		assert_true(p->l4len >= 4);
	if (p->icmp_echo && !p->icmp_error)
		assert_true(p->l4len >= 6);
	if (p->icmp_echo)
		assert_int_equal(p->sport, p->dport);
	if (!p->has_ports && !p->icmp_echo) {
		assert_int_equal(p->sport, 0);
		assert_int_equal(p->dport, 0);
	}
	if (p->icmp_error)
		assert_true(p->l4len > 8);
	if (p->first_fragment)
		assert_true(p->fragment);
	if (!p->fragment) {
		assert_false(p->more_fragments);
		assert_int_equal(p->frag_offset, 0);
		assert_int_equal(p->frag_id, 0);
	}
}

/* Parses packet i of f, which must succeed. */
static void parse(const struct pcap_file *f, size_t i, struct pkt *p)
{
	const struct pcap_pkt *k = &f->pkts[i];

	assert_int_equal(pkt_parse(k->data, k->caplen, p), 0);
	check(k->data, k->caplen, p);
}

static void assert_addr(const uint8_t got[16], int family, const char *want)
{
	uint8_t a[16] = {0};

	assert_int_equal(inet_pton(family, want, a), 1);
	assert_memory_equal(got, a, 16);
}

static void assert_flow(const struct pkt *p, int family, uint8_t proto,
			const char *src, const char *dst, uint16_t sport,
			uint16_t dport)
{
	assert_int_equal(p->family, family);
	assert_int_equal(p->proto, proto);
	assert_addr(p->src, family, src);
	assert_addr(p->dst, family, dst);
	assert_int_equal(p->sport, sport);
	assert_int_equal(p->dport, dport);
}

static size_t l4off(const struct pcap_file *f, size_t i, const struct pkt *p)
{
	assert_non_null(p->l4);
	return (size_t)(p->l4 - f->pkts[i].data);
}

static void test_v4_l4(void **state)
{
	static const struct {
		uint8_t proto;
		uint16_t sport, dport;
		size_t ihl, l4len;
	} want[] = {
	    {IPPROTO_TCP, 40001, 80, 20, 20},
	    {IPPROTO_UDP, 40002, 53, 20, 20},
	    {IPPROTO_SCTP, 40003, 3868, 20, 32},
	    {IPPROTO_TCP, 40004, 80, 24, 20},	 /* router alert */
	    {IPPROTO_UDP, 40005, 53, 60, 20},	 /* 40 bytes: record route */
	    {IPPROTO_SCTP, 40006, 3868, 32, 32}, /* timestamp */
	};
	struct pcap_file f = load("v4_l4");
	struct pkt p;
	(void)state;

	assert_int_equal(f.n, 6);
	for (size_t i = 0; i < f.n; i++) {
		parse(&f, i, &p);
		assert_flow(&p, AF_INET, want[i].proto, CLIENT4, VIP4,
			    want[i].sport, want[i].dport);
		assert_true(p.has_ports);
		assert_int_equal(l4off(&f, i, &p), want[i].ihl);
		assert_int_equal(p.l4len, want[i].l4len);
		assert_int_equal(p.total_len, want[i].ihl + want[i].l4len);
		assert_false(p.fragment || p.icmp_echo || p.icmp_error);
	}
	pcap_free(&f);
}

static void test_v6_ext(void **state)
{
	static const struct {
		uint8_t proto;
		uint16_t sport, dport;
		size_t off, l4len;
		bool ports;
	} want[] = {
	    {IPPROTO_TCP, 40011, 80, 40, 20, true},
	    {IPPROTO_UDP, 40012, 53, 40, 20, true},
	    /* HOP 8, DEST 8, ROUTING 24, DEST 8 */
	    {IPPROTO_TCP, 40013, 80, 88, 20, true},
	    /* HOP 8, ROUTING 24 */
	    {IPPROTO_UDP, 40014, 53, 72, 20, true},
	    /* DEST 16 */
	    {IPPROTO_SCTP, 40015, 3868, 56, 32, true},
	    /* AH (4 + 2) * 4 = 24 */
	    {IPPROTO_TCP, 40016, 80, 64, 20, true},
	    /* HOP, then ESP: the walk stops there */
	    {IPPROTO_ESP, 0, 0, 48, 40, false},
	    /* DEST, then no next header */
	    {IPPROTO_NONE, 0, 0, 48, 0, false},
	    /* 16 DEST: the most walked */
	    {IPPROTO_UDP, 40017, 53, 40 + 16 * 8, 20, true},
	};
	struct pcap_file f = load("v6_ext");
	struct pkt p;
	(void)state;

	assert_int_equal(f.n, 9);
	for (size_t i = 0; i < f.n; i++) {
		parse(&f, i, &p);
		assert_flow(&p, AF_INET6, want[i].proto, CLIENT6, VIP6,
			    want[i].sport, want[i].dport);
		assert_int_equal(p.has_ports, want[i].ports);
		assert_int_equal(l4off(&f, i, &p), want[i].off);
		assert_int_equal(p.l4len, want[i].l4len);
		assert_int_equal(p.total_len, f.pkts[i].len);
		assert_false(p.fragment);
	}
	pcap_free(&f);
}

static void test_v4_fragments(void **state)
{
	struct pcap_file f = load("v4_frag");
	struct pkt p;
	(void)state;

	assert_int_equal(f.n, 4);

	/* First: offset 0, MF, with the UDP header. */
	parse(&f, 0, &p);
	assert_flow(&p, AF_INET, IPPROTO_UDP, CLIENT4, VIP4, 40021, 53);
	assert_true(p.has_ports && p.fragment && p.first_fragment);
	assert_true(p.more_fragments);
	assert_int_equal(p.frag_id, 0x4a11);
	assert_int_equal(p.frag_offset, 0);
	assert_int_equal(l4off(&f, 0, &p), 20);
	assert_int_equal(p.l4len, 1480);
	assert_int_equal(p.total_len, 1500);

	/* Middle: offset 1480 bytes, MF; no L4 header, no ports. */
	parse(&f, 1, &p);
	assert_flow(&p, AF_INET, IPPROTO_UDP, CLIENT4, VIP4, 0, 0);
	assert_true(p.fragment && p.more_fragments);
	assert_false(p.first_fragment || p.has_ports);
	assert_null(p.l4);
	assert_int_equal(p.l4len, 0);
	assert_int_equal(p.frag_id, 0x4a11);
	assert_int_equal(p.frag_offset, 185);

	/* Last: offset 2960 bytes, no MF. */
	parse(&f, 2, &p);
	assert_true(p.fragment);
	assert_false(p.first_fragment || p.more_fragments || p.has_ports);
	assert_null(p.l4);
	assert_int_equal(p.frag_id, 0x4a11);
	assert_int_equal(p.frag_offset, 370);
	assert_int_equal(p.total_len, 68);

	/* DF, offset 0: a whole datagram. */
	parse(&f, 3, &p);
	assert_flow(&p, AF_INET, IPPROTO_TCP, CLIENT4, VIP4, 40022, 80);
	assert_false(p.fragment || p.first_fragment || p.more_fragments);
	assert_int_equal(p.frag_id, 0);
	pcap_free(&f);
}

static void test_v6_fragments(void **state)
{
	struct pcap_file f = load("v6_frag");
	struct pkt p;
	(void)state;

	assert_int_equal(f.n, 6);

	/* HOP, FRAG (offset 0, M), UDP. */
	parse(&f, 0, &p);
	assert_flow(&p, AF_INET6, IPPROTO_UDP, CLIENT6, VIP6, 40023, 53);
	assert_true(p.has_ports && p.fragment && p.first_fragment);
	assert_true(p.more_fragments);
	assert_int_equal(p.frag_id, 0xdeadbeef);
	assert_int_equal(p.frag_offset, 0);
	assert_int_equal(l4off(&f, 0, &p), 56);
	assert_int_equal(p.l4len, 1448);

	parse(&f, 1, &p);
	assert_flow(&p, AF_INET6, IPPROTO_UDP, CLIENT6, VIP6, 0, 0);
	assert_true(p.fragment && p.more_fragments);
	assert_false(p.first_fragment || p.has_ports);
	assert_null(p.l4);
	assert_int_equal(p.frag_id, 0xdeadbeef);
	assert_int_equal(p.frag_offset, 181);

	parse(&f, 2, &p);
	assert_true(p.fragment);
	assert_false(p.first_fragment || p.more_fragments);
	assert_null(p.l4);
	assert_int_equal(p.frag_offset, 362);

	/* FRAG, DEST, TCP: the walk goes on past a first fragment's
	 * header into the fragmentable part. */
	parse(&f, 3, &p);
	assert_flow(&p, AF_INET6, IPPROTO_TCP, CLIENT6, VIP6, 40024, 80);
	assert_true(p.first_fragment && p.more_fragments);
	assert_int_equal(p.frag_id, 0x01020304);
	assert_int_equal(l4off(&f, 3, &p), 56);
	assert_int_equal(p.l4len, 24);

	/* Its second fragment names the first header of the fragmentable
	 * part, DEST, as its next header: that is its proto. */
	parse(&f, 4, &p);
	assert_int_equal(p.proto, 60);
	assert_true(p.fragment);
	assert_false(p.first_fragment || p.more_fragments || p.has_ports);
	assert_int_equal(p.frag_id, 0x01020304);
	assert_int_equal(p.frag_offset, 4);

	/* An atomic fragment is a whole datagram. */
	parse(&f, 5, &p);
	assert_flow(&p, AF_INET6, IPPROTO_TCP, CLIENT6, VIP6, 40025, 80);
	assert_false(p.fragment || p.first_fragment || p.more_fragments);
	assert_int_equal(p.frag_id, 0);
	assert_int_equal(l4off(&f, 5, &p), 48);
	pcap_free(&f);
}

static void test_icmp_echo(void **state)
{
	struct pcap_file f = load("icmp_echo");
	struct pkt p;
	(void)state;

	assert_int_equal(f.n, 5);
	parse(&f, 0, &p);
	assert_flow(&p, AF_INET, IPPROTO_ICMP, CLIENT4, VIP4, 0x1234, 0x1234);
	assert_true(p.icmp_echo);
	assert_false(p.has_ports || p.icmp_error);
	assert_int_equal(p.icmp_type, 8);
	assert_int_equal(p.icmp_code, 0);

	parse(&f, 1, &p);
	assert_flow(&p, AF_INET, IPPROTO_ICMP, VIP4, CLIENT4, 0x1234, 0x1234);
	assert_true(p.icmp_echo);
	assert_int_equal(p.icmp_type, 0);

	parse(&f, 2, &p);
	assert_flow(&p, AF_INET6, IPPROTO_ICMPV6, CLIENT6, VIP6, 0x5678,
		    0x5678);
	assert_true(p.icmp_echo);
	assert_false(p.has_ports || p.icmp_error);
	assert_int_equal(p.icmp_type, 128);

	parse(&f, 3, &p);
	assert_flow(&p, AF_INET6, IPPROTO_ICMPV6, VIP6, CLIENT6, 0x5678,
		    0x5678);
	assert_int_equal(p.icmp_type, 129);

	/* A 24-byte copy range: the type, but not the identifier. */
	parse(&f, 4, &p);
	assert_flow(&p, AF_INET, IPPROTO_ICMP, CLIENT4, VIP4, 0, 0);
	assert_int_equal(p.icmp_type, 8);
	assert_false(p.icmp_echo);
	assert_int_equal(p.l4len, 4);
	assert_int_equal(p.total_len, 44);
	pcap_free(&f);
}

/* Errors about packets from the VIP to a client: each must come out as
 * the client's flow to the VIP, ready to be sent where that flow goes. */
static void test_icmp_errors(void **state)
{
	static const struct {
		int family;
		uint8_t proto, type, code;
		uint16_t sport, dport;
		bool echo;
	} want[] = {
	    {AF_INET, IPPROTO_TCP, 3, 4, 40031, 80, false},
	    {AF_INET, IPPROTO_UDP, 3, 4, 40032, 53, false},
	    {AF_INET, IPPROTO_UDP, 11, 0, 40033, 53, false},
	    {AF_INET, IPPROTO_UDP, 3, 3, 40034, 53, false},
	    {AF_INET, IPPROTO_SCTP, 12, 0, 40035, 3868, false},
	    {AF_INET6, IPPROTO_TCP, 2, 0, 40041, 80, false},
	    {AF_INET6, IPPROTO_UDP, 2, 0, 40042, 53, false},
	    {AF_INET6, IPPROTO_UDP, 3, 0, 40043, 53, false},
	    {AF_INET6, IPPROTO_SCTP, 1, 4, 40044, 3868, false},
	    {AF_INET, IPPROTO_ICMP, 11, 0, 0x1234, 0x1234, true},
	    {AF_INET6, IPPROTO_TCP, 4, 0, 40045, 80, false},
	};
	struct pcap_file f = load("icmp_err");
	struct pkt p;
	(void)state;

	assert_int_equal(f.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < f.n; i++) {
		bool v4 = want[i].family == AF_INET;

		parse(&f, i, &p);
		assert_flow(&p, want[i].family, want[i].proto,
			    v4 ? CLIENT4 : CLIENT6, v4 ? VIP4 : VIP6,
			    want[i].sport, want[i].dport);
		assert_true(p.icmp_error);
		assert_int_equal(p.has_ports, !want[i].echo);
		assert_int_equal(p.icmp_echo, want[i].echo);
		assert_int_equal(p.icmp_type, want[i].type);
		assert_int_equal(p.icmp_code, want[i].code);
		/* l4 is the outer ICMP header, total_len the outer's. */
		assert_int_equal(l4off(&f, i, &p), v4 ? 20 : 40);
		assert_int_equal(p.l4[0], want[i].type);
		assert_int_equal(p.total_len, f.pkts[i].len);
		assert_false(p.fragment);
	}
	pcap_free(&f);
}

/* Errors whose quoted packet names no flow: plain ICMP, outer fields. */
static void test_icmp_errors_unusable(void **state)
{
	static const struct {
		int family;
		uint8_t type, code;
	} want[] = {
	    {AF_INET, 3, 4},  /* quoted header cut at 12 bytes */
	    {AF_INET, 3, 4},  /* quoted TCP with 2 bytes */
	    {AF_INET, 3, 4},  /* quoted IHL 4 */
	    {AF_INET, 3, 4},  /* quoted total length below IHL */
	    {AF_INET, 3, 4},  /* IPv6 quoted in ICMPv4 */
	    {AF_INET, 3, 4},  /* quoted non-first fragment */
	    {AF_INET6, 2, 0}, /* quoted DEST past the quote */
	    {AF_INET6, 2, 0}, /* quoted version 5 */
	    {AF_INET, 3, 1},  /* error about an error */
	    {AF_INET, 3, 4},  /* nothing quoted */
	    {AF_INET6, 3, 0}, /* quoted 17 extension headers */
	};
	struct pcap_file f = load("icmp_err_bad");
	struct pkt p;
	(void)state;

	assert_int_equal(f.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < f.n; i++) {
		bool v4 = want[i].family == AF_INET;

		parse(&f, i, &p);
		assert_flow(&p, want[i].family,
			    v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6,
			    v4 ? ROUTER4 : ROUTER6, v4 ? VIP4 : VIP6, 0, 0);
		assert_false(p.icmp_error || p.icmp_echo || p.has_ports);
		assert_int_equal(p.icmp_type, want[i].type);
		assert_int_equal(p.icmp_code, want[i].code);
	}
	pcap_free(&f);
}

static void test_malformed(void **state)
{
	struct pcap_file f = load("malformed");
	struct pkt p;
	(void)state;

	/* Version 5; IHL 4; IHL past len; total length below IHL; total
	 * length 0; IPv4 header cut; IPv6 header cut; HOP past len; DEST
	 * past the payload length; 17 extension headers; two fragment
	 * headers; one byte; AH past len; nothing; total length between
	 * 20 and an IHL of 6. */
	assert_int_equal(f.n, 15);
	for (size_t i = 0; i < f.n; i++) {
		const struct pcap_pkt *k = &f.pkts[i];
		assert_int_equal(pkt_parse(k->data, k->caplen, &p), -EINVAL);
	}
	pcap_free(&f);
}

static void test_truncated(void **state)
{
	struct pcap_file f = load("truncated");
	struct pkt p;
	(void)state;

	assert_int_equal(f.n, 6);

	/* Cut at the end of the IP header: l4 there, nothing in it. */
	parse(&f, 0, &p);
	assert_flow(&p, AF_INET, IPPROTO_TCP, CLIENT4, VIP4, 0, 0);
	assert_int_equal(l4off(&f, 0, &p), 20);
	assert_int_equal(p.l4len, 0);
	assert_false(p.has_ports);
	assert_int_equal(p.total_len, 40);

	parse(&f, 1, &p);
	assert_int_equal(p.l4len, 2);
	assert_false(p.has_ports);

	parse(&f, 2, &p);
	assert_flow(&p, AF_INET, IPPROTO_UDP, CLIENT4, VIP4, 40072, 53);
	assert_true(p.has_ports);
	assert_int_equal(p.l4len, 4);
	assert_int_equal(p.total_len, 1028);

	parse(&f, 3, &p);
	assert_flow(&p, AF_INET6, IPPROTO_TCP, CLIENT6, VIP6, 0, 0);
	assert_int_equal(l4off(&f, 3, &p), 48);
	assert_int_equal(p.l4len, 0);
	assert_int_equal(p.total_len, 68);

	parse(&f, 4, &p);
	assert_flow(&p, AF_INET6, IPPROTO_UDP, CLIENT6, VIP6, 40074, 53);
	assert_int_equal(p.l4len, 24);
	assert_int_equal(p.total_len, 1048);

	/* Trailing bytes past the total length are not the packet's. */
	parse(&f, 5, &p);
	assert_flow(&p, AF_INET, IPPROTO_TCP, CLIENT4, VIP4, 40075, 80);
	assert_int_equal(f.pkts[5].caplen, 46);
	assert_int_equal(p.l4len, 20);
	assert_int_equal(p.total_len, 40);
	pcap_free(&f);
}

/* Corners made by changing a fixture in place. */
static void test_corners(void **state)
{
	struct pcap_file f = load("v6_ext");
	struct pcap_file e = load("icmp_echo");
	struct pkt p;
	uint8_t b[256];
	(void)state;

	/* An IPv6 payload length of 0 (jumbogram, BIG TCP): as long as
	 * the bytes at hand. */
	memcpy(b, f.pkts[1].data, f.pkts[1].caplen);
	b[4] = b[5] = 0;
	assert_int_equal(pkt_parse(b, f.pkts[1].caplen, &p), 0);
	assert_int_equal(p.total_len, f.pkts[1].caplen);
	assert_true(p.has_ports);
	assert_int_equal(p.l4len, 20);

	/* ICMPv4 inside IPv6 is nobody's ICMP. */
	memcpy(b, e.pkts[2].data, e.pkts[2].caplen);
	b[6] = IPPROTO_ICMP;
	assert_int_equal(pkt_parse(b, e.pkts[2].caplen, &p), 0);
	assert_int_equal(p.proto, IPPROTO_ICMP);
	assert_false(p.icmp_echo);
	assert_int_equal(p.icmp_type, 0);
	assert_int_equal(p.sport, 0);
	pcap_free(&f);
	pcap_free(&e);
}

/* Parses the first k bytes of d from an allocation of exactly k bytes. */
static int parse_cut(const uint8_t *d, size_t k, struct pkt *p, size_t *off)
{
	uint8_t *copy = malloc(k ? k : 1);
	assert_non_null(copy);
	if (k)
		memcpy(copy, d, k);
	int rc = pkt_parse(copy, k, p);
	if (rc == 0) {
		check(copy, k, p);
		*off = p->l4 ? (size_t)(p->l4 - copy) : 0;
	}
	free(copy);
	return rc;
}

/* Every packet of every fixture, cut at every byte: -EINVAL or a result
 * that agrees with the whole packet's. A cut never turns a refused packet
 * into an accepted one, and once a cut parses every longer one does. */
static void test_every_cut(void **state)
{
	(void)state;

	for (size_t fi = 0; fi < sizeof(files) / sizeof(files[0]); fi++) {
		struct pcap_file f = load(files[fi]);

		for (size_t i = 0; i < f.n; i++) {
			const struct pcap_pkt *k = &f.pkts[i];
			struct pkt w, p;
			size_t woff = 0, off = 0;
			int wrc = parse_cut(k->data, k->caplen, &w, &woff);
			bool ok = false;

			for (size_t n = 0; n <= k->caplen; n++) {
				int rc = parse_cut(k->data, n, &p, &off);
				assert_true(rc == 0 || rc == -EINVAL);
				if (rc) {
					assert_false(ok);
					continue;
				}
				ok = true;
				assert_int_equal(wrc, 0);
				assert_int_equal(p.family, w.family);
				assert_int_equal(p.total_len, w.total_len);
				assert_int_equal(p.fragment, w.fragment);
				assert_int_equal(p.first_fragment,
						 w.first_fragment);
				assert_int_equal(p.more_fragments,
						 w.more_fragments);
				assert_int_equal(p.frag_id, w.frag_id);
				assert_int_equal(p.frag_offset, w.frag_offset);
				assert_int_equal(!p.l4, !w.l4);
				if (p.l4) {
					size_t want = n - off < w.l4len
							  ? n - off
							  : w.l4len;
					assert_int_equal(off, woff);
					assert_int_equal(p.l4len, want);
				}
				if (p.l4len >= 2) {
					assert_int_equal(p.icmp_type,
							 w.icmp_type);
					assert_int_equal(p.icmp_code,
							 w.icmp_code);
				}
				if (p.icmp_error || !w.icmp_error) {
					/* The same flow, or less of it. */
					assert_int_equal(p.icmp_error,
							 w.icmp_error);
					assert_int_equal(p.proto, w.proto);
					assert_memory_equal(p.src, w.src, 16);
					assert_memory_equal(p.dst, w.dst, 16);
					if (p.has_ports || p.icmp_echo) {
						assert_true(w.has_ports ||
							    w.icmp_echo);
						assert_int_equal(p.sport,
								 w.sport);
						assert_int_equal(p.dport,
								 w.dport);
					}
				} else {
					/* The quote is not all there yet:
					 * plain ICMP. */
					assert_true(p.proto == IPPROTO_ICMP ||
						    p.proto == IPPROTO_ICMPV6);
					assert_false(p.has_ports);
				}
			}
			assert_int_equal(ok, wrc == 0);
		}
		pcap_free(&f);
	}
}

/* Every byte of every packet set to a few values that hit length fields'
 * edges: whatever comes out must hold together. */
static void test_every_byte_changed(void **state)
{
	static const uint8_t vals[] = {0x00, 0x01, 0x05, 0x0f, 0x3c, 0x40,
				       0x45, 0x4f, 0x60, 0x7f, 0x80, 0xff};
	(void)state;

	for (size_t fi = 0; fi < sizeof(files) / sizeof(files[0]); fi++) {
		struct pcap_file f = load(files[fi]);

		for (size_t i = 0; i < f.n; i++) {
			const struct pcap_pkt *k = &f.pkts[i];
			/* The headers are what is parsed: past 300 bytes
			 * every fixture has only payload. */
			size_t upto = k->caplen < 300 ? k->caplen : 300;

			for (size_t at = 0; at < upto; at++) {
				for (size_t v = 0; v < sizeof(vals); v++) {
					uint8_t *c = malloc(k->caplen);
					struct pkt p;

					assert_non_null(c);
					memcpy(c, k->data, k->caplen);
					c[at] = vals[v];
					int rc = pkt_parse(c, k->caplen, &p);
					assert_true(rc == 0 || rc == -EINVAL);
					if (rc == 0)
						check(c, k->caplen, &p);
					free(c);
				}
			}
		}
		pcap_free(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v4_l4),
	    cmocka_unit_test(test_v6_ext),
	    cmocka_unit_test(test_v4_fragments),
	    cmocka_unit_test(test_v6_fragments),
	    cmocka_unit_test(test_icmp_echo),
	    cmocka_unit_test(test_icmp_errors),
	    cmocka_unit_test(test_icmp_errors_unusable),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_corners),
	    cmocka_unit_test(test_every_cut),
	    cmocka_unit_test(test_every_byte_changed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
