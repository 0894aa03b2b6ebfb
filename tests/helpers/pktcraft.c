/* pktcraft: packets written by hand, for the load balancer's namespace tests.
 *
 *   pktcraft frags --src ADDR --dst ADDR --sport N --dport N --size BYTES
 *                  --mtu N [--order forward|reverse|shuffle|first-last]
 *                  [--count K] [--id N] [--wait-reply MS [--replies K]]
 *   pktcraft udp-sink --port N --name NAME [--addr ADDR]
 *   pktcraft icmp-error --src ADDR --dst ADDR --inner-src ADDR
 *                  --inner-dst ADDR --inner-proto tcp|udp --inner-sport N
 *                  --inner-dport N [--mtu N]
 *
 * frags sends K UDP datagrams (default 1) of BYTES payload from src:sport to
 * dst:dport, IPv4 or IPv6 after the addresses, each cut into IP fragments of
 * at most --mtu bytes, through a raw socket on which we write the IP header
 * ourselves. Datagram n (0..K-1) takes the IP identification --id + n
 * (random without --id; IPv4 skips 0, which asks the kernel to pick one per
 * packet). The orders: "forward", "reverse", "shuffle" (a random
 * permutation per datagram, which may happen to be the forward one), and
 * "first-last", which holds the first fragment, the only one with the UDP
 * ports, back until all others are out: a balancer must then park fragments
 * it cannot yet place. A datagram that fits the MTU goes out whole, with no
 * fragment header. With --wait-reply MS it first binds a UDP socket to
 * src:sport (so that replies reach it and the kernel sends no port
 * unreachable), then waits up to MS milliseconds for one reply per datagram
 * from dst:dport and prints each reply's payload as one line on stdout.
 * Replies from any other address are reported on stderr and not counted.
 * --replies K waits for K replies instead of one per datagram (a test that
 * sends one request and expects more answers, some of them made by hand).
 *
 * udp-sink answers every datagram it receives on PORT with the text
 * "NAME LEN ok" or "NAME LEN bad" (LEN the payload's length; ok when the
 * payload is the pattern below), sent from the address the datagram was
 * sent to, and prints the same line on stdout. One IPv6 socket takes both
 * families (IPV6_V6ONLY off), bound to :: or to --addr. It runs until
 * SIGTERM or SIGINT. Once bound it says so on stderr.
 *
 * icmp-error sends one ICMP error as a router on the path would: IPv4
 * "fragmentation needed" (type 3 code 4) or ICMPv6 "packet too big"
 * (type 2) with the next-hop MTU (default 1280), from src to dst, quoting
 * a packet inner-src:inner-sport -> inner-dst:inner-dport (its IP header,
 * then a 20-byte TCP header or an 8-byte UDP header).
 *
 * The payload pattern, which frags writes and udp-sink checks:
 *
 *   0         4         8
 *   +---------+---------+----------------------------------------+
 *   |   seq   |  length | byte i = (i * 7 + seq) & 0xff, i >= 8  |
 *   +---------+---------+----------------------------------------+
 *
 * seq is the datagram's number n and length the payload's length, both
 * 32-bit big-endian, so --size is at least 8. The UDP checksum (over the
 * pseudo-header and the whole datagram) already makes the receiver's kernel
 * drop a datagram put together wrongly (counted in UdpInCsumErrors); the
 * pattern turns the answer into words, and catches a length or content
 * that something on the way changed while fixing the checksum.
 *
 * Exit status: 0 done, 1 runtime error or missing replies, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "cidr.h"

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36 /* Linux 4.5 */
#endif

/* Wire constants. */
#define IP4_HLEN 20
#define IP4_DF 0x4000
#define IP4_MF 0x2000
#define IP6_HLEN 40
#define FRAG6_HLEN 8
#define NH_FRAGMENT 44
#define UDP_HLEN 8
#define TCP_HLEN 20
#define TCP_PSH_ACK 0x18
#define ICMP4_DEST_UNREACH 3
#define ICMP4_FRAG_NEEDED 4
#define ICMP6_PACKET_TOO_BIG 2
#define ICMP_HLEN 8
#define TTL 64
#define IP_MAXPACKET_LEN 65535
#define PATTERN_HEAD 8

#define USAGE_FRAGS                                                            \
	"  pktcraft frags --src ADDR --dst ADDR --sport N --dport N "          \
	"--size BYTES --mtu N\n"                                               \
	"                 [--order forward|reverse|shuffle|first-last] "       \
	"[--count K]\n"                                                        \
	"                 [--id N] [--wait-reply MS [--replies K]]\n"
#define USAGE_SINK "  pktcraft udp-sink --port N --name NAME [--addr ADDR]\n"
#define USAGE_ICMP                                                             \
	"  pktcraft icmp-error --src ADDR --dst ADDR --inner-src ADDR "        \
	"--inner-dst ADDR\n"                                                   \
	"                 --inner-proto tcp|udp --inner-sport N "              \
	"--inner-dport N [--mtu N]\n"

static const char *cmd = "";

/* ---- bytes, checksums, the pattern ---- */

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Adds len bytes, as big-endian 16-bit words (an odd last byte padded with
 * zero), to a one's complement sum (RFC 1071), kept folded to 16 bits so
 * that sums can be chained. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	return (uint16_t)~sum;
}

/* The sum of the pseudo-header that UDP, TCP and ICMPv6 checksums cover
 * (RFC 768, RFC 8200 section 8.1). The IPv6 layout (32-bit length, three
 * zero bytes, protocol) sums to the same as IPv4's (zero, protocol, 16-bit
 * length), so one layout serves both. */
static uint32_t csum_pseudo(const struct cidr *src, const struct cidr *dst,
			    uint8_t proto, uint32_t len)
{
	size_t alen = src->family == AF_INET ? 4 : 16;
	uint8_t tail[8];

	put32(tail, len);
	put32(tail + 4, proto);
	return csum_add(csum_add(csum_add(0, src->addr, alen), dst->addr, alen),
			tail, sizeof(tail));
}

static void pattern_fill(uint8_t *p, uint32_t len, uint32_t seq)
{
	put32(p, seq);
	put32(p + 4, len);
	for (uint32_t i = PATTERN_HEAD; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seq);
}

static bool pattern_ok(const uint8_t *p, size_t len)
{
	if (len < PATTERN_HEAD || get32(p + 4) != len)
		return false;
	uint32_t seq = get32(p);
	for (size_t i = PATTERN_HEAD; i < len; i++)
		if (p[i] != (uint8_t)(i * 7 + seq))
			return false;
	return true;
}

/* getrandom() does not fail for four bytes once the pool is ready; should
 * it, the clock is random enough for identifications and shuffles. */
static uint32_t random_u32(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 16;
	return v;
}

/* ---- addresses and sockets ---- */

static socklen_t to_sockaddr(const struct cidr *a, uint16_t port,
			     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a->addr, 4);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, a->addr, 16);
	return sizeof(*sin6);
}

/* True when a and b have the same family, address and port; the scope and
 * flow label of IPv6 do not count. */
static bool same_sockaddr(const struct sockaddr_storage *a,
			  const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a,
					 *y = (const void *)b;

		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static void format_sockaddr(const struct sockaddr_storage *ss, char *buf,
			    size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(sin->sin_port));
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	}
}

/* Opens a raw socket on which we write the whole IP header. IPPROTO_RAW
 * implies IP_HDRINCL, and IPV6_HDRINCL since Linux 4.5; setting them again
 * makes an older kernel fail here rather than prepend a header of its own.
 * IP_NODEFRAG keeps conntrack in the sending namespace, if any, from
 * reassembling our IPv4 fragments on their way out; IPv6 has no such
 * option, so IPv6 fragments keep their order only from a namespace without
 * conntrack. Returns the socket or -errno. */
static int raw_open(int family)
{
	int one = 1, fd, err = 0;

	fd = socket(family, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0)
		return -errno;
	if (family == AF_INET) {
		if (setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) ||
		    setsockopt(fd, IPPROTO_IP, IP_NODEFRAG, &one, sizeof(one)))
			err = -errno;
	} else if (setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one,
			      sizeof(one))) {
		err = -errno;
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int raw_send(int fd, const struct cidr *dst, const uint8_t *pkt,
		    size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = to_sockaddr(dst, 0, &ss);
	ssize_t n = sendto(fd, pkt, len, 0, (struct sockaddr *)&ss, sl);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* ---- IP headers ----
 *
 *  IPv4 (20 bytes, no options)           IPv6 (40) and its fragment header (8)
 *  0      4      8             16    31  0    4          12         31
 *  +------+------+-------------+-------+ +----+----------+----------+
 *  | 4    | 5    | tos         | total | | 6  | class    | flow     |
 *  | id                 | flags|offset | | payload len   | next| hop|
 *  | ttl         | proto       | csum  | | source (16 bytes)        |
 *  | source                            | | destination (16 bytes)   |
 *  | destination                       | +--------------------------+
 *  +-----------------------------------+ | next | 0 | offset|00|M   |
 *                                        | identification           |
 *                                        +--------------------------+
 * Offsets count 8-byte units in both.
 */

/* Writes an IPv4 header, checksum included: the kernel recomputes it on an
 * IP_HDRINCL socket, but a header quoted in an ICMP error has only ours.
 * frag holds the flags and the offset in 8-byte units. */
static void ip4_header(uint8_t *h, const struct cidr *src,
		       const struct cidr *dst, uint8_t proto, uint32_t total,
		       uint16_t id, uint16_t frag)
{
	h[0] = 0x45;
	h[1] = 0;
	put16(h + 2, total);
	put16(h + 4, id);
	put16(h + 6, frag);
	h[8] = TTL;
	h[9] = proto;
	put16(h + 10, 0);
	memcpy(h + 12, src->addr, 4);
	memcpy(h + 16, dst->addr, 4);
	put16(h + 10, csum_fold(csum_add(0, h, IP4_HLEN)));
}

/* Writes an IPv6 header; plen counts everything after it. */
static void ip6_header(uint8_t *h, const struct cidr *src,
		       const struct cidr *dst, uint8_t next, uint32_t plen)
{
	put32(h, 6u << 28);
	put16(h + 4, plen);
	h[6] = next;
	h[7] = TTL;
	memcpy(h + 8, src->addr, 16);
	memcpy(h + 24, dst->addr, 16);
}

static void frag6_header(uint8_t *h, uint8_t next, size_t offset, bool more,
			 uint32_t id)
{
	h[0] = next;
	h[1] = 0;
	put16(h + 2, (uint32_t)offset | more);
	put32(h + 4, id);
}

/* ---- frags ---- */

enum order { ORDER_FORWARD, ORDER_REVERSE, ORDER_SHUFFLE, ORDER_FIRST_LAST };

static const char *const order_names[] = {
    [ORDER_FORWARD] = "forward",
    [ORDER_REVERSE] = "reverse",
    [ORDER_SHUFFLE] = "shuffle",
    [ORDER_FIRST_LAST] = "first-last",
};

struct frags {
	struct cidr src, dst;
	unsigned long sport, dport, size, mtu, count, id, wait_ms, replies;
	bool id_set;
	enum order order;
};

/* Writes datagram seq (UDP header and pattern) into d and returns its
 * length. The checksum covers the pseudo-header and the whole datagram, as
 * the receiver checks it after reassembly; a sum of 0 is sent as 0xffff,
 * since 0 means "no checksum" (RFC 768), which IPv6 forbids. */
static size_t udp_datagram(uint8_t *d, const struct frags *f, uint32_t seq)
{
	size_t len = UDP_HLEN + f->size;
	uint16_t sum;

	put16(d, f->sport);
	put16(d + 2, f->dport);
	put16(d + 4, len);
	put16(d + 6, 0);
	pattern_fill(d + UDP_HLEN, f->size, seq);
	sum = csum_fold(
	    csum_add(csum_pseudo(&f->src, &f->dst, IPPROTO_UDP, len), d, len));
	put16(d + 6, sum ? sum : 0xffff);
	return len;
}

/* Fills idx[0..n-1] with fragment numbers in the order to send them. */
static void order_fill(enum order order, unsigned *idx, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		idx[i] = order == ORDER_REVERSE ? n - 1 - i : i;
	if (order == ORDER_FIRST_LAST) {
		for (unsigned i = 0; i + 1 < n; i++)
			idx[i] = i + 1;
		idx[n - 1] = 0;
	} else if (order == ORDER_SHUFFLE) {
		for (unsigned i = n - 1; i > 0; i--) {
			unsigned j = random_u32() % (i + 1), t = idx[i];

			idx[i] = idx[j];
			idx[j] = t;
		}
	}
}

/* Sends the datagram d (len bytes from the UDP header on) as fragments of
 * at most f->mtu bytes, in f->order, all with identification id; whole if
 * it fits. pkt has room for f->mtu bytes. Returns 0 or -errno. */
static int send_datagram(int fd, const struct frags *f, const uint8_t *d,
			 size_t len, uint32_t id, uint8_t *pkt)
{
	static unsigned idx[IP_MAXPACKET_LEN / 8 + 1];
	bool v4 = f->src.family == AF_INET;
	size_t hlen = v4 ? IP4_HLEN : IP6_HLEN + FRAG6_HLEN;
	size_t chunk = (f->mtu - hlen) / 8 * 8;
	unsigned n = (unsigned)((len + chunk - 1) / chunk);

	if ((v4 ? IP4_HLEN : IP6_HLEN) + len <= f->mtu) {
		hlen = v4 ? IP4_HLEN : IP6_HLEN;
		if (v4)
			ip4_header(pkt, &f->src, &f->dst, IPPROTO_UDP,
				   hlen + len, id, 0);
		else
			ip6_header(pkt, &f->src, &f->dst, IPPROTO_UDP, len);
		memcpy(pkt + hlen, d, len);
		return raw_send(fd, &f->dst, pkt, hlen + len);
	}
	order_fill(f->order, idx, n);
	for (unsigned i = 0; i < n; i++) {
		size_t off = idx[i] * chunk;
		size_t part = len - off < chunk ? len - off : chunk;
		bool more = off + part < len;
		int err;

		if (v4) {
			ip4_header(pkt, &f->src, &f->dst, IPPROTO_UDP,
				   hlen + part, id,
				   (uint16_t)(off / 8 | (more ? IP4_MF : 0)));
		} else {
			ip6_header(pkt, &f->src, &f->dst, NH_FRAGMENT,
				   FRAG6_HLEN + part);
			frag6_header(pkt + IP6_HLEN, IPPROTO_UDP, off, more,
				     id);
		}
		memcpy(pkt + hlen, d + off, part);
		err = raw_send(fd, &f->dst, pkt, hlen + part);
		if (err)
			return err;
	}
	return 0;
}

/* Opens a UDP socket bound to f->src:f->sport for the replies. Returns it
 * or -errno. */
static int reply_open(const struct frags *f)
{
	struct sockaddr_storage ss;
	socklen_t sl = to_sockaddr(&f->src, (uint16_t)f->sport, &ss);
	int fd = socket(f->src.family, SOCK_DGRAM, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prints a reply as one line: without its trailing newline, and with bytes
 * that are not printable ASCII shown as '.'. */
static void print_reply(char *buf, size_t len)
{
	if (len && buf[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < len; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			buf[i] = '.';
	printf("%.*s\n", (int)len, buf);
	fflush(stdout);
}

/* Receives replies from f->dst:f->dport on fd until want have come or
 * f->wait_ms have passed, printing each. Returns how many came, or -errno. */
static int wait_replies(int fd, const struct frags *f, unsigned want)
{
	static char buf[IP_MAXPACKET_LEN];
	struct sockaddr_storage peer, from;
	int64_t deadline = now_ms() + (int64_t)f->wait_ms;
	unsigned got = 0;

	to_sockaddr(&f->dst, (uint16_t)f->dport, &peer);
	while (got < want) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		socklen_t fl = sizeof(from);
		char name[INET6_ADDRSTRLEN + 8];
		ssize_t n;

		if (left <= 0)
			break;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (!same_sockaddr(&from, &peer)) {
			format_sockaddr(&from, name, sizeof(name));
			fprintf(stderr,
				"pktcraft frags: ignored a reply from %s\n",
				name);
			continue;
		}
		print_reply(buf, (size_t)n);
		got++;
	}
	return (int)got;
}

static int frags_run(const struct frags *f)
{
	static uint8_t dgram[IP_MAXPACKET_LEN], pkt[IP_MAXPACKET_LEN];
	uint32_t id = f->id_set ? (uint32_t)f->id : random_u32();
	int raw, rfd = -1, rc = 1, err;
	unsigned seq;

	raw = raw_open(f->src.family);
	if (raw < 0) {
		fprintf(stderr, "pktcraft frags: raw socket: %s\n",
			strerror(-raw));
		return 1;
	}
	if (f->wait_ms) {
		rfd = reply_open(f);
		if (rfd < 0) {
			fprintf(stderr,
				"pktcraft frags: bind to --src:--sport "
				"for replies: %s\n",
				strerror(-rfd));
			goto close_raw;
		}
	}
	for (seq = 0; seq < f->count; seq++, id++) {
		size_t len = udp_datagram(dgram, f, seq);

		if (f->src.family == AF_INET && (uint16_t)id == 0)
			id++;
		err = send_datagram(
		    raw, f, dgram, len,
		    f->src.family == AF_INET ? (uint16_t)id : id, pkt);
		if (err) {
			fprintf(stderr,
				"pktcraft frags: send datagram %u: %s%s\n", seq,
				strerror(-err),
				err == -EMSGSIZE ? " (is --mtu above the "
						   "route's MTU?)"
						 : "");
			goto close_reply;
		}
	}
	if (rfd < 0) {
		rc = 0;
		goto close_raw;
	}
	unsigned long want = f->replies ? f->replies : f->count;
	err = wait_replies(rfd, f, (unsigned)want);
	if (err < 0) {
		fprintf(stderr, "pktcraft frags: receive: %s\n",
			strerror(-err));
	} else if ((unsigned long)err < want) {
		fprintf(stderr,
			"pktcraft frags: %lu of %lu replies missing after "
			"%lu ms\n",
			want - (unsigned long)err, want, f->wait_ms);
	} else {
		rc = 0;
	}
close_reply:
	if (rfd >= 0)
		close(rfd);
close_raw:
	close(raw);
	return rc;
}

/* ---- udp-sink ---- */

static volatile sig_atomic_t sink_stop;

static void on_stop(int sig)
{
	(void)sig;
	sink_stop = 1;
}

/* Opens the sink's socket: IPv6 taking IPv4 too, bound to addr (an IPv4
 * address as its mapped IPv6 form) or to ::, reporting each datagram's
 * destination address. Returns it or -errno. */
static int sink_open(const struct cidr *addr, uint16_t port)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6,
				    .sin6_port = htons(port)};
	int zero = 0, one = 1, fd;

	if (addr->family == AF_INET) {
		sin6.sin6_addr.s6_addr[10] = 0xff;
		sin6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6.sin6_addr.s6_addr[12], addr->addr, 4);
	} else if (addr->family == AF_INET6) {
		memcpy(&sin6.sin6_addr, addr->addr, 16);
	}
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin6, sizeof(sin6))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Receives one datagram, answers it and prints the answer. The answer
 * leaves from the datagram's destination address: IPV6_PKTINFO carries it,
 * as a mapped address for IPv4 too, which Linux takes on sendmsg(). The
 * interface is left to routing, since a VIP on lo is reached through
 * another. Returns 0 (also when nothing was waiting) or -errno. */
static int sink_serve(int fd, const char *name)
{
	static uint8_t buf[IP_MAXPACKET_LEN];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct sockaddr_in6 peer;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr m = {.msg_name = &peer,
			   .msg_namelen = sizeof(peer),
			   .msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = ctl.buf,
			   .msg_controllen = sizeof(ctl.buf)};
	struct in6_pktinfo to = {0};
	bool have_to = false;
	char line[512];
	struct cmsghdr *c;
	ssize_t n;
	int len, err = 0;

	n = recvmsg(fd, &m, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			memcpy(&to, CMSG_DATA(c), sizeof(to));
			have_to = true;
		}
	}
	len = snprintf(line, sizeof(line), "%s %zd %s", name, n,
		       pattern_ok(buf, (size_t)n) ? "ok" : "bad");

	iov.iov_base = line;
	iov.iov_len = (size_t)len;
	m.msg_flags = 0;
	m.msg_control = NULL;
	m.msg_controllen = 0;
	if (have_to) {
		to.ipi6_ifindex = 0;
		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.buf;
		m.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(to));
		memcpy(CMSG_DATA(c), &to, sizeof(to));
	}
	if (sendmsg(fd, &m, 0) < 0)
		err = -errno;
	printf("%s\n", line);
	fflush(stdout);
	return err;
}

/* Serves until SIGTERM or SIGINT. The signals stay blocked except inside
 * ppoll(), so one that comes between the check of sink_stop and the wait
 * still ends the wait. */
static int sink_run(const struct cidr *addr, unsigned long port,
		    const char *name)
{
	struct sigaction sa;
	sigset_t block, orig;
	int fd, err, rc = 0;

	fd = sink_open(addr, (uint16_t)port);
	if (fd < 0) {
		fprintf(stderr, "pktcraft udp-sink: port %lu: %s\n", port,
			strerror(-fd));
		return 1;
	}
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fprintf(stderr, "pktcraft udp-sink: %s listening on port %lu\n", name,
		port);
	while (!sink_stop) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (ppoll(&p, 1, NULL, &orig) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "pktcraft udp-sink: poll: %s\n",
				strerror(errno));
			rc = 1;
			break;
		}
		err = sink_serve(fd, name);
		if (err)
			fprintf(stderr, "pktcraft udp-sink: %s\n",
				strerror(-err));
	}
	close(fd);
	return rc;
}

/* ---- icmp-error ---- */

struct icmp_err {
	struct cidr src, dst, isrc, idst;
	uint8_t iproto;
	unsigned long isport, idport, mtu;
};

/* Writes the quoted packet, the one that "did not fit": its IP header and
 * its transport header (20 bytes of TCP or the 8 of UDP; RFC 792 asks for
 * 8 at least). Its length claims 1500 bytes, a usual link's packet, or just
 * over the MTU when that is larger. The quoted transport checksum covers
 * data not quoted, so nobody checks it; it is 0. Returns the length. */
static size_t icmp_quote(uint8_t *q, const struct icmp_err *e)
{
	bool v4 = e->src.family == AF_INET;
	size_t hlen = v4 ? IP4_HLEN : IP6_HLEN;
	uint32_t orig = e->mtu < 1500 ? 1500 : (uint32_t)e->mtu + 8;
	uint8_t *t = q + hlen;

	if (orig > IP_MAXPACKET_LEN)
		orig = IP_MAXPACKET_LEN;
	if (v4)
		ip4_header(q, &e->isrc, &e->idst, e->iproto, orig,
			   (uint16_t)random_u32(), IP4_DF);
	else
		ip6_header(q, &e->isrc, &e->idst, e->iproto, orig - IP6_HLEN);
	put16(t, e->isport);
	put16(t + 2, e->idport);
	if (e->iproto == IPPROTO_UDP) {
		put16(t + 4, orig - hlen);
		put16(t + 6, 0);
		return hlen + UDP_HLEN;
	}
	put32(t + 4, random_u32());
	put32(t + 8, random_u32());
	t[12] = (TCP_HLEN / 4) << 4;
	t[13] = TCP_PSH_ACK;
	put16(t + 14, 502);
	put16(t + 16, 0);
	put16(t + 18, 0);
	return hlen + TCP_HLEN;
}

/* Writes the whole error into pkt and returns its length:
 *
 *   IPv4: IP | type 3 | code 4 | csum | unused (2) | next-hop MTU (2) | quote
 *   IPv6: IP | type 2 | code 0 | csum | MTU (4)                       | quote
 *
 * ICMPv4's checksum covers the message; ICMPv6's the pseudo-header too. */
static size_t icmp_build(uint8_t *pkt, const struct icmp_err *e)
{
	bool v4 = e->src.family == AF_INET;
	uint8_t *m = pkt + (v4 ? IP4_HLEN : IP6_HLEN);
	size_t len;
	uint32_t sum;

	m[0] = v4 ? ICMP4_DEST_UNREACH : ICMP6_PACKET_TOO_BIG;
	m[1] = v4 ? ICMP4_FRAG_NEEDED : 0;
	put16(m + 2, 0);
	put32(m + 4, (uint32_t)e->mtu);
	len = ICMP_HLEN + icmp_quote(m + ICMP_HLEN, e);
	if (v4) {
		sum = csum_add(0, m, len);
		ip4_header(pkt, &e->src, &e->dst, IPPROTO_ICMP, IP4_HLEN + len,
			   (uint16_t)(random_u32() | 1), 0);
	} else {
		sum = csum_add(csum_pseudo(&e->src, &e->dst, IPPROTO_ICMPV6,
					   (uint32_t)len),
			       m, len);
		ip6_header(pkt, &e->src, &e->dst, IPPROTO_ICMPV6, len);
	}
	put16(m + 2, csum_fold(sum));
	return (size_t)(m - pkt) + len;
}

static int icmp_run(const struct icmp_err *e)
{
	uint8_t pkt[IP6_HLEN + ICMP_HLEN + IP6_HLEN + TCP_HLEN];
	size_t len = icmp_build(pkt, e);
	int fd, err;

	fd = raw_open(e->src.family);
	if (fd < 0) {
		fprintf(stderr, "pktcraft icmp-error: raw socket: %s\n",
			strerror(-fd));
		return 1;
	}
	err = raw_send(fd, &e->dst, pkt, len);
	close(fd);
	if (err) {
		fprintf(stderr, "pktcraft icmp-error: send: %s\n",
			strerror(-err));
		return 1;
	}
	return 0;
}

/* ---- command lines ----
 *
 * Every option of every subcommand; each subcommand takes a subset. The
 * values double as bits of the "seen" mask.
 */
enum {
	O_HELP,
	O_SRC,
	O_DST,
	O_SPORT,
	O_DPORT,
	O_SIZE,
	O_MTU,
	O_ORDER,
	O_COUNT,
	O_ID,
	O_WAIT,
	O_REPLIES,
	O_PORT,
	O_NAME,
	O_ADDR,
	O_ISRC,
	O_IDST,
	O_IPROTO,
	O_ISPORT,
	O_IDPORT,
};

#define BIT(o) (1u << (o))

static int bad(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "pktcraft %s: bad %s '%s': want %s\n", cmd, opt, val,
		want);
	return -EINVAL;
}

/* Parses a decimal number from min to max; digits only ("-1", "+1", " 1"
 * and "0x1" are refused). */
static int opt_num(const char *opt, const char *s, unsigned long min,
		   unsigned long max, unsigned long *out)
{
	char want[64], *end;
	unsigned long v;

	snprintf(want, sizeof(want), "a number from %lu to %lu", min, max);
	if (*s < '0' || *s > '9')
		return bad(opt, s, want);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return bad(opt, s, want);
	*out = v;
	return 0;
}

static int opt_addr(const char *opt, const char *s, struct cidr *out)
{
	if (cidr_parse_ip(s, out))
		return bad(opt, s, "an IPv4 or IPv6 address");
	return 0;
}

static int opt_port(const char *opt, const char *s, unsigned long *out)
{
	return opt_num(opt, s, 1, 65535, out);
}

static int usage_error(const char *usage)
{
	fprintf(stderr, "usage:\n%s", usage);
	return 2;
}

/* Runs getopt_long over a subcommand's arguments (argv[0] is its name),
 * handing each option to set(). Returns 0 with all of required seen; 1 after
 * printing the usage for --help; 2 after printing what is wrong. */
static int parse(int argc, char **argv, const struct option *opts,
		 unsigned required, const char *usage,
		 int (*set)(void *ctx, int opt, const char *val), void *ctx)
{
	unsigned seen = 0;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			fprintf(stderr, "pktcraft %s: %s option '%s'\n", cmd,
				c == ':' ? "missing the value of" : "unknown",
				argv[optind - 1]);
			return usage_error(usage);
		}
		if (c == O_HELP) {
			printf("usage:\n%s", usage);
			return 1;
		}
		if (set(ctx, c, optarg))
			return 2;
		seen |= BIT(c);
	}
	if (optind < argc) {
		fprintf(stderr, "pktcraft %s: unexpected argument '%s'\n", cmd,
			argv[optind]);
		return usage_error(usage);
	}
	for (const struct option *o = opts; o->name; o++) {
		if ((required & BIT(o->val)) && !(seen & BIT(o->val))) {
			fprintf(stderr, "pktcraft %s: --%s is required\n", cmd,
				o->name);
			return usage_error(usage);
		}
	}
	return 0;
}

/* For a value that is out of range only given the other options. */
static int bad_num(const char *opt, unsigned long v, const char *want)
{
	fprintf(stderr, "pktcraft %s: bad %s '%lu': want %s\n", cmd, opt, v,
		want);
	return 2;
}

static int same_family(const char *a, const struct cidr *x, const char *b,
		       const struct cidr *y)
{
	if (x->family == y->family)
		return 0;
	fprintf(stderr, "pktcraft %s: %s and %s are not of one family\n", cmd,
		a, b);
	return -EINVAL;
}

static int frags_set(void *ctx, int opt, const char *val)
{
	struct frags *f = ctx;

	switch (opt) {
	case O_SRC:
		return opt_addr("--src", val, &f->src);
	case O_DST:
		return opt_addr("--dst", val, &f->dst);
	case O_SPORT:
		return opt_port("--sport", val, &f->sport);
	case O_DPORT:
		return opt_port("--dport", val, &f->dport);
	case O_SIZE:
		return opt_num("--size", val, PATTERN_HEAD, 65527, &f->size);
	case O_MTU:
		return opt_num("--mtu", val, IP4_HLEN + 8, IP_MAXPACKET_LEN,
			       &f->mtu);
	case O_COUNT:
		return opt_num("--count", val, 1, 65536, &f->count);
	case O_ID:
		f->id_set = true;
		return opt_num("--id", val, 0, UINT32_MAX, &f->id);
	case O_WAIT:
		return opt_num("--wait-reply", val, 1, 3600000, &f->wait_ms);
	case O_REPLIES:
		return opt_num("--replies", val, 1, 65536, &f->replies);
	case O_ORDER:
		for (size_t i = 0;
		     i < sizeof(order_names) / sizeof(*order_names); i++) {
			if (strcmp(val, order_names[i]) == 0) {
				f->order = (enum order)i;
				return 0;
			}
		}
		return bad("--order", val,
			   "forward, reverse, shuffle or first-last");
	}
	return -EINVAL;
}

static int cmd_frags(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, O_HELP},
	    {"src", required_argument, NULL, O_SRC},
	    {"dst", required_argument, NULL, O_DST},
	    {"sport", required_argument, NULL, O_SPORT},
	    {"dport", required_argument, NULL, O_DPORT},
	    {"size", required_argument, NULL, O_SIZE},
	    {"mtu", required_argument, NULL, O_MTU},
	    {"order", required_argument, NULL, O_ORDER},
	    {"count", required_argument, NULL, O_COUNT},
	    {"id", required_argument, NULL, O_ID},
	    {"wait-reply", required_argument, NULL, O_WAIT},
	    {"replies", required_argument, NULL, O_REPLIES},
	    {0},
	};
	struct frags f = {.count = 1, .order = ORDER_FORWARD};
	int rc;

	rc = parse(argc, argv, opts,
		   BIT(O_SRC) | BIT(O_DST) | BIT(O_SPORT) | BIT(O_DPORT) |
		       BIT(O_SIZE) | BIT(O_MTU),
		   USAGE_FRAGS, frags_set, &f);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (same_family("--src", &f.src, "--dst", &f.dst))
		return 2;
	/* The datagram must fit in one IP packet once reassembled, and the
	 * first fragment must hold at least the UDP header. */
	if (f.src.family == AF_INET) {
		if (f.size > IP_MAXPACKET_LEN - IP4_HLEN - UDP_HLEN)
			return bad_num("--size", f.size,
				       "at most 65507 for IPv4");
		if (f.id_set && (f.id == 0 || f.id > UINT16_MAX))
			return bad_num("--id", f.id, "1 to 65535 for IPv4");
	} else if (f.mtu < IP6_HLEN + FRAG6_HLEN + 8) {
		return bad_num("--mtu", f.mtu, "at least 56 for IPv6");
	}
	return frags_run(&f);
}

struct sink {
	struct cidr addr;
	unsigned long port;
	const char *name;
};

static int sink_set(void *ctx, int opt, const char *val)
{
	struct sink *s = ctx;

	switch (opt) {
	case O_PORT:
		return opt_port("--port", val, &s->port);
	case O_ADDR:
		return opt_addr("--addr", val, &s->addr);
	case O_NAME:
		if (!*val || strlen(val) > 200 || strchr(val, '\n'))
			return bad("--name", val,
				   "1 to 200 characters on one line");
		s->name = val;
		return 0;
	}
	return -EINVAL;
}

static int cmd_sink(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, O_HELP},
	    {"port", required_argument, NULL, O_PORT},
	    {"name", required_argument, NULL, O_NAME},
	    {"addr", required_argument, NULL, O_ADDR},
	    {0},
	};
	struct sink s = {.addr.family = AF_UNSPEC};
	int rc;

	rc = parse(argc, argv, opts, BIT(O_PORT) | BIT(O_NAME), USAGE_SINK,
		   sink_set, &s);
	if (rc)
		return rc == 1 ? 0 : rc;
	return sink_run(&s.addr, s.port, s.name);
}

static int icmp_set(void *ctx, int opt, const char *val)
{
	struct icmp_err *e = ctx;

	switch (opt) {
	case O_SRC:
		return opt_addr("--src", val, &e->src);
	case O_DST:
		return opt_addr("--dst", val, &e->dst);
	case O_ISRC:
		return opt_addr("--inner-src", val, &e->isrc);
	case O_IDST:
		return opt_addr("--inner-dst", val, &e->idst);
	case O_ISPORT:
		return opt_port("--inner-sport", val, &e->isport);
	case O_IDPORT:
		return opt_port("--inner-dport", val, &e->idport);
	case O_MTU:
		return opt_num("--mtu", val, 1, UINT32_MAX, &e->mtu);
	case O_IPROTO:
		if (strcmp(val, "tcp") == 0)
			e->iproto = IPPROTO_TCP;
		else if (strcmp(val, "udp") == 0)
			e->iproto = IPPROTO_UDP;
		else
			return bad("--inner-proto", val, "tcp or udp");
		return 0;
	}
	return -EINVAL;
}

static int cmd_icmp(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, O_HELP},
	    {"src", required_argument, NULL, O_SRC},
	    {"dst", required_argument, NULL, O_DST},
	    {"inner-src", required_argument, NULL, O_ISRC},
	    {"inner-dst", required_argument, NULL, O_IDST},
	    {"inner-proto", required_argument, NULL, O_IPROTO},
	    {"inner-sport", required_argument, NULL, O_ISPORT},
	    {"inner-dport", required_argument, NULL, O_IDPORT},
	    {"mtu", required_argument, NULL, O_MTU},
	    {0},
	};
	struct icmp_err e = {.mtu = 1280};
	int rc;

	rc = parse(argc, argv, opts,
		   BIT(O_SRC) | BIT(O_DST) | BIT(O_ISRC) | BIT(O_IDST) |
		       BIT(O_IPROTO) | BIT(O_ISPORT) | BIT(O_IDPORT),
		   USAGE_ICMP, icmp_set, &e);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (same_family("--src", &e.src, "--dst", &e.dst) ||
	    same_family("--src", &e.src, "--inner-src", &e.isrc) ||
	    same_family("--src", &e.src, "--inner-dst", &e.idst))
		return 2;
	if (e.src.family == AF_INET && e.mtu > UINT16_MAX)
		return bad_num("--mtu", e.mtu, "1 to 65535 for IPv4");
	return icmp_run(&e);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} cmds[] = {
	    {"frags", cmd_frags},
	    {"udp-sink", cmd_sink},
	    {"icmp-error", cmd_icmp},
	};
	const char *usage = USAGE_FRAGS USAGE_SINK USAGE_ICMP;

	if (argc >= 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage:\n%s", usage);
		return 0;
	}
	for (size_t i = 0; argc >= 2 && i < sizeof(cmds) / sizeof(*cmds); i++) {
		if (strcmp(argv[1], cmds[i].name) == 0) {
			cmd = cmds[i].name;
			return cmds[i].run(argc - 1, argv + 1);
		}
	}
	if (argc >= 2)
		fprintf(stderr, "pktcraft: unknown command '%s'\n", argv[1]);
	return usage_error(usage);
}
