/* libFuzzer target: strait-tun's address translation and MSS clamp
 * (tun/nat.h) on arbitrary packets. The input is
 *
 *   +-------+----------------+----------------+-------+-------------- ...
 *   | flags | old addr (16)  | new addr (16)  | mss   | IP packet
 *   +-------+----------------+----------------+-------+-------------- ...
 *   flags: 0x01 SNAT (else DNAT), 0x02 PARTIAL (else FULL), 0x04 IPv6
 *   address length 16 (else 4), 0x08 old addr taken from the packet's
 *   outer destination (DNAT) or source (SNAT) instead, so that matches
 *   are common.
 *
 * The packet is translated in an allocation of exactly its length, so
 * that ASan sees any access past it. What must hold, else __builtin_trap:
 *
 * - a refusal is one of the documented errors and changes nothing;
 * - bytes past the packet's own length never change;
 * - a FULL-mode translation keeps every checksum this harness can verify
 *   whole (the IPv4 header, the outer L4 checksum of an unfragmented TCP,
 *   UDP, ICMP or ICMPv6 packet, an ICMPv4 error's quoted IPv4 header)
 *   valid when it was valid before; verified with a byte-by-byte sum of
 *   its own, not lib/csum;
 * - translating back (new -> old) gives the packet back, when new was
 *   nowhere in it: byte for byte, but for a checksum field's two
 *   zeros (+0 and -0, 0x0000 and 0xffff, the same in ones' complement);
 * - the MSS clamp changes nothing when it returns 0 or an error, and
 *   keeps a valid TCP checksum valid in FULL mode.
 *
 * Seeds (tests/fuzz/seeds/tun_nat/) are packets in this format, built by
 * hand: TCP SYN, UDP, ICMP errors of both families, IPv6 with extension
 * headers.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "../../lib/packet.h"
#include "../../tun/nat.h"

#define HDR 35

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t sum(uint32_t s, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s += i % 2 ? b[i] : (uint32_t)b[i] << 8;
	return fold(s);
}

/* Checksums this harness can verify: 1 valid, 0 not, -1 not checkable. */
struct sums {
	int ip, l4, qip;
};

static int ip4_ok(const uint8_t *d, size_t len)
{
	size_t ihl = (size_t)(d[0] & 0x0f) * 4;

	if ((d[0] >> 4) != 4 || ihl < 20 || ihl > len)
		return -1;
	return fold(sum(0, d, ihl)) == 0xffff;
}

/* The parser gives an ICMP error the quoted packet's protocol. */
static uint8_t proto_of(const struct pkt *k)
{
	uint8_t icmp = k->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;

	return k->icmp_error ? icmp : k->proto;
}

static int l4_ok(const uint8_t *d, const struct pkt *k)
{
	bool v4 = k->family == AF_INET;
	uint8_t icmp = v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	uint8_t proto = proto_of(k);
	size_t n = k->l4len, off;

	if (k->fragment || !k->l4)
		return -1;
	if (proto == IPPROTO_TCP)
		off = 16;
	else if (proto == IPPROTO_UDP)
		off = 6;
	else if (proto == icmp)
		off = 2;
	else
		return -1;
	if (n < off + 2)
		return -1;
	if (proto == IPPROTO_UDP && !k->l4[6] && !k->l4[7])
		return -1;

	uint32_t s = 0;
	if (proto != IPPROTO_ICMP) {
		size_t alen = v4 ? 4 : 16;
		const uint8_t *src = d + (v4 ? 12 : 8);
		s = sum(s, src, alen);
		s = sum(s, src + alen, alen);
		s += proto + (uint32_t)(n >> 16) + (uint32_t)(n & 0xffff);
	}
	return fold(sum(s, k->l4, n)) == 0xffff;
}

/* len is at least the packet's own length here (else no translation). */
static struct sums sums(const uint8_t *d, size_t len)
{
	struct sums s = {-1, -1, -1};
	struct pkt k, q;

	if (pkt_parse(d, len, &k) < 0 || k.total_len > len)
		return s;
	if (k.family == AF_INET)
		s.ip = ip4_ok(d, len);
	s.l4 = l4_ok(d, &k);
	if (k.family == AF_INET && proto_of(&k) == IPPROTO_ICMP && k.l4 &&
	    k.l4len > 8 && (k.l4[0] == 3 || k.l4[0] == 11 || k.l4[0] == 12) &&
	    pkt_parse(k.l4 + 8, k.l4len - 8, &q) == 0 && q.family == AF_INET)
		s.qip = ip4_ok(k.l4 + 8, k.l4len - 8);
	return s;
}

static void kept(int before, int after)
{
	if (before == 1 && after != 1)
		__builtin_trap();
}

static bool contains(const uint8_t *d, size_t len, const uint8_t *a, size_t n)
{
	return memmem(d, len, a, n) != NULL;
}

/* Equal but for checksum fields that went between 0x0000 and 0xffff. */
static bool same(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (a[i] == b[i])
			continue;
		if ((a[i] != 0 && a[i] != 0xff) || b[i] != (uint8_t)~a[i])
			return false;
	}
	return true;
}

static size_t own_len(const uint8_t *d, size_t len)
{
	struct pkt k;

	if (pkt_parse(d, len, &k) < 0 || k.total_len > len)
		return len;
	return k.total_len;
}

static void nat(const uint8_t *data, size_t size)
{
	uint8_t flags = data[0];
	bool snat = flags & 1;
	enum tun_csum mode = flags & 2 ? TUN_CSUM_PARTIAL : TUN_CSUM_FULL;
	size_t alen = flags & 4 ? 16 : 4;
	const uint8_t *pkt = data + HDR;
	size_t len = size - HDR;
	uint8_t old[16], new[16];

	memcpy(old, data + 1, 16);
	memcpy(new, data + 17, 16);
	if (flags & 8) {
		size_t at = alen == 4 ? (snat ? 12 : 16) : (snat ? 8 : 24);
		if (len >= at + alen)
			memcpy(old, pkt + at, alen);
	}

	uint8_t *p = malloc(len ? len : 1);
	if (!p)
		abort(); /* a harness that cannot test must not pass */
	memcpy(p, pkt, len);
	int (*fn)(uint8_t *, size_t, const uint8_t *, const uint8_t *, size_t,
		  enum tun_csum) = snat ? tun_nat_snat : tun_nat_dnat;

	int rc = fn(p, len, old, new, alen, mode);
	if (rc < 0) {
		if (rc != -EINVAL && rc != -EAFNOSUPPORT && rc != -ENOENT &&
		    rc != -EOPNOTSUPP)
			__builtin_trap();
		if (memcmp(p, pkt, len))
			__builtin_trap();
		free(p);
		return;
	}
	if (rc != 1 && rc != 2)
		__builtin_trap();
	size_t own = own_len(pkt, len);
	if (memcmp(p + own, pkt + own, len - own))
		__builtin_trap();

	if (mode == TUN_CSUM_FULL) {
		struct sums a = sums(pkt, len), b = sums(p, len);
		kept(a.ip, b.ip);
		kept(a.l4, b.l4);
		kept(a.qip, b.qip);
	}

	if (memcmp(old, new, alen) && !contains(pkt, len, new, alen)) {
		if (fn(p, len, new, old, alen, mode) != rc)
			__builtin_trap();
		if (!same(pkt, p, len))
			__builtin_trap();
	}
	free(p);
}

static void mss(const uint8_t *data, size_t size)
{
	enum tun_csum mode = data[0] & 2 ? TUN_CSUM_PARTIAL : TUN_CSUM_FULL;
	uint16_t to = (uint16_t)(data[33] << 8 | data[34]);
	const uint8_t *pkt = data + HDR;
	size_t len = size - HDR;
	uint8_t *p = malloc(len ? len : 1);

	if (!p)
		abort();
	memcpy(p, pkt, len);
	int rc = tun_mss_clamp(p, len, to, mode);
	if (rc != -EINVAL && rc != 0 && rc != 1)
		__builtin_trap();
	if (rc != 1 && memcmp(p, pkt, len))
		__builtin_trap();
	if (rc == 1 && mode == TUN_CSUM_FULL)
		kept(sums(pkt, len).l4, sums(p, len).l4);
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;
	nat(data, size);
	mss(data, size);
	return 0;
}
