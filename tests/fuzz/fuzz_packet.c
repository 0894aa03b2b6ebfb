/* libFuzzer target: the packet parser (lib/packet.h), fed raw IP packets as
 * NFQUEUE would hand them. Nothing may crash or read past the input, and a
 * parsed packet must hold together: l4 inside the input, ports only where
 * there are bytes for them, no L4 for a non-first fragment. Every prefix
 * of an accepted input is parsed too, since a short copy range is the
 * common case, and must never be accepted where the whole was refused.
 *
 * Seeds (tests/fuzz/seeds/pkt/) are raw packets written by
 * tests/fixtures/lb/make_fixtures.c. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../lib/packet.h"

static void check(const uint8_t *d, size_t len, const struct pkt *p)
{
	if (p->family != AF_INET && p->family != AF_INET6)
		abort();
	if (p->l4) {
		if (p->l4 < d || p->l4 > d + len)
			abort();
		if (p->l4len > (size_t)(d + len - p->l4))
			abort();
	} else if (p->l4len || !p->fragment || p->first_fragment ||
		   p->has_ports || p->icmp_echo || p->icmp_error) {
		abort();
	}
	if (p->has_ports && !p->icmp_error && p->l4len < 4)
		abort();
	if (p->icmp_echo && !p->icmp_error && p->l4len < 6)
		abort();
	if (p->icmp_echo && p->sport != p->dport)
		abort();
	if (!p->has_ports && !p->icmp_echo && (p->sport || p->dport))
		abort();
	if (p->icmp_error && p->l4len <= 8)
		abort();
	if (p->first_fragment && !p->fragment)
		abort();
	if (!p->fragment && (p->more_fragments || p->frag_offset || p->frag_id))
		abort();
}

/* Parses the first n bytes from an allocation of exactly n, so that ASan
 * sees a read past the copy range as what it would be in the daemon. The
 * copy is gone on return: *off keeps where l4 was in it. */
static int parse_copy(const uint8_t *data, size_t n, struct pkt *p, size_t *off)
{
	uint8_t *c = malloc(n ? n : 1);
	if (!c)
		abort(); /* a harness that cannot test must not pass */
	if (n)
		memcpy(c, data, n);
	int rc = pkt_parse(c, n, p);
	*off = 0;
	if (rc == 0) {
		check(c, n, p);
		if (p->l4)
			*off = (size_t)(p->l4 - c);
	} else if (rc != -EINVAL) {
		abort();
	}
	free(c);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt whole, cut;
	size_t woff, off;

	int rc = parse_copy(data, size, &whole, &woff);
	/* An IPv6 payload length of 0 takes the bytes at hand as the
	 * length, so only then may total_len differ between copy ranges. */
	bool jumbo =
	    rc == 0 && whole.family == AF_INET6 && !data[4] && !data[5];

	/* A sample of copy ranges: every one of a short input, 64 of a
	 * long one. Fewer bytes never turn a refusal into an acceptance,
	 * and an accepted cut agrees with the whole on all it says. */
	size_t step = size <= 128 ? 1 : size / 64;
	for (size_t n = 0; n < size; n += step) {
		int crc = parse_copy(data, n, &cut, &off);
		if (crc)
			continue;
		if (rc)
			abort();
		if (cut.family != whole.family ||
		    (!jumbo && cut.total_len != whole.total_len) ||
		    cut.fragment != whole.fragment ||
		    cut.frag_id != whole.frag_id ||
		    cut.frag_offset != whole.frag_offset ||
		    !cut.l4 != !whole.l4)
			abort();
		if (cut.l4 && (off != woff || cut.l4len > whole.l4len))
			abort();
		if (cut.icmp_error &&
		    (!whole.icmp_error || cut.proto != whole.proto ||
		     cut.sport != whole.sport || cut.dport != whole.dport ||
		     memcmp(cut.src, whole.src, 16) ||
		     memcmp(cut.dst, whole.dst, 16)))
			abort();
	}
	return 0;
}
