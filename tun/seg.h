/* Segmentation and coalescing: how large TCP (and UDP) packets stay large
 * across the tunnel (docs/tun.md, "Wire format", last paragraph). Pure; no
 * I/O, no allocation, nothing kept between calls.
 *
 * Sender side. strait-tun0 hands a packet of up to 64 KB with its GSO
 * metadata (struct tun_gso, mapped from struct virtio_net_hdr by the I/O
 * layer). tun_seg_split() cuts it into inner segments, each a valid
 * standalone packet behind its own strait header, without copying a
 * payload byte: it writes only the headers, and the segments' payloads
 * point into the packet read. tun_seg_batch() then groups the segments
 * into sendmsg() calls with UDP_SEGMENT that the kernel accepts:
 *
 *   hdrs (caller's, stride bytes per segment)     the packet read
 *   +-----------------------+-------+            +----+---------------+
 *   | strait | IP | TCP     |  ...  | seg 0      | IP |TCP| p0 | p1 |..
 *   +-----------------------+-------+            +----+---------------+
 *   | strait | IP | TCP     |  ...  | seg 1             ^     ^
 *   +-----------------------+-------+                   |     |
 *   iovec: [hdr 0][payload 0][hdr 1][payload 1]... ------+-----+
 *          one sendmsg, UDP_SEGMENT = hdr_len + size
 *
 * Receiver side. UDP_GRO hands several datagrams as one buffer.
 * tun_decap_split() cuts it into datagrams, checks each strait header and
 * inner packet, and tun_coalesce() joins consecutive TCP segments of one
 * flow back into one TSO packet for strait-tun0: a merged IP+TCP header
 * written into a caller buffer, followed by the segments' payloads in
 * place, as an iovec range for one writev() with its virtio_net_hdr.
 *
 * Checksums. With GSO the L4 checksum is partial (Linux CHECKSUM_PARTIAL,
 * virtio NEEDS_CSUM): the checksum field holds the folded pseudo-header
 * sum (addresses, protocol, L4 length), not complemented, and whoever
 * sends the packet last completes it over the L4 bytes. Every segment and
 * every merged packet made here carries the partial sum for its own
 * addresses and L4 length; IPv4 header checksums are computed in full.
 */
#ifndef STRAIT_TUN_SEG_H
#define STRAIT_TUN_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hdr.h"

/* GSO types, as virtio's VIRTIO_NET_HDR_GSO_* mean them (without ECN). */
enum {
	TUN_GSO_NONE = 0,
	TUN_GSO_TCPV4,
	TUN_GSO_TCPV6,
	TUN_GSO_UDP_L4,
};

/* A packet's GSO and checksum metadata: struct virtio_net_hdr in host
 * order, mapped by the I/O layer. csum_start counts from the IP header
 * (strait-tun0 carries no link-layer header). */
struct tun_gso {
	uint8_t type;	      /* TUN_GSO_* */
	bool needs_csum;      /* the L4 checksum is partial */
	uint16_t size;	      /* gso_size: payload bytes per segment */
	uint16_t csum_start;  /* L4 header offset */
	uint16_t csum_offset; /* of the checksum field in it: 16 TCP, 6 UDP */
	/* IP + L4 header bytes (virtio's hdr_len). Ignored by
	 * tun_seg_split(); set by tun_coalesce() when needs_csum. */
	uint16_t hdr_len;
};

/* The most header bytes one segment needs: strait header, IPv6 header
 * (TSO refuses extension headers and IPv4 options), TCP header with the
 * largest options. A stride of at least this always suffices. */
#define TUN_SEG_HDR_MAX (TUN_HDR_LEN + 40 + 60)
/* The largest merged IP + TCP header tun_coalesce() writes. */
#define TUN_COAL_HDR_MAX (40 + 60)

/* The kernel's limits for one sendmsg() with UDP_SEGMENT
 * (UDP_MAX_SEGMENTS, and the largest UDP payload of an IPv4 datagram),
 * and for one UDP_GRO buffer (UDP_GRO_CNT_MAX). */
#define TUN_UDP_MAX_SEGMENTS 64
#define TUN_UDP_MAX_PAYLOAD 65507
#define TUN_GRO_MAX_SEGS 64

/* The UDP payload limit of one send, given the outer family. An outer
 * IPv6 header is 20 bytes longer, and that is taken off the IPv4 figure:
 * a conservative bound, not the last byte the kernel would take. */
static inline size_t tun_udp_max_payload(bool outer_v6)
{
	return TUN_UDP_MAX_PAYLOAD - (outer_v6 ? 20 : 0);
}

/* One segment to send: hdr_len bytes at hdr (strait header first, in the
 * caller's header area), then payload_len bytes at payload (in the packet
 * given to tun_seg_split()). The datagram is the two, in that order. */
struct tun_seg {
	uint8_t *hdr;
	size_t hdr_len;
	const uint8_t *payload;
	size_t payload_len;
};

/* Cuts the packet at pkt (len bytes, one IPv4 or IPv6 packet as read from
 * strait-tun0) into segments, as the kernel's TSO/USO would, and fills
 * segs[0..n). Returns n, or a negative errno with nothing to send.
 *
 * shdr is the strait header for every segment; its copies get flag C set
 * when the segment's L4 checksum is partial (always with GSO, and with
 * gso->needs_csum without GSO) and cleared otherwise. Segment i's headers
 * are written at hdrs + i * stride; the caller's area holds at least
 * max_segs * stride bytes and lives as long as segs are used, as does pkt.
 *
 * Without GSO (gso->type TUN_GSO_NONE) the packet is one segment, its
 * bytes unchanged: hdr is the strait header alone, payload the whole IP
 * packet.
 *
 * With GSO each segment gets its own IP header (IPv4: total length,
 * identification + i as the kernel's TSO does, header checksum; IPv6:
 * payload length), and
 * - TCP: sequence number advanced by the payload before it; FIN and PSH
 *   only on the last segment, CWR only on the first, other flags, the
 *   options and the rest of the header copied to every segment;
 * - UDP (TUN_GSO_UDP_L4): length of the segment;
 * and the partial checksum of its own L4 length. All segments carry
 * gso->size payload bytes but the last, which carries the rest (1 to
 * size bytes; a GSO packet with no payload is one segment of 0).
 *
 * Bytes past the packet's IP length (IPv4 total length, IPv6 40 + payload
 * length) are not the packet's and are not sent.
 *
 * Errors:
 *   -EINVAL  not a valid IPv4/IPv6 packet, or shorter than its IP length;
 *            a GSO type that does not match the packet (family, L4
 *            protocol, a fragment, csum_start not the L4 header,
 *            csum_offset not the protocol's checksum, a TCP data offset
 *            or UDP length that disagrees with the bytes); GSO without
 *            needs_csum; GSO with size 0; an IPv6 payload length of 0
 *            with bytes after the header (a jumbogram);
 *   -EPROTONOSUPPORT  GSO on a packet with IPv4 options or IPv6
 *            extension headers; or needs_csum without GSO on a packet
 *            whose checksum is not the TCP or UDP checksum at its L4
 *            header (the receiver could not place it: complete it before
 *            sending);
 *   -ENOSPC  more segments than max_segs;
 *   -ENOBUFS stride smaller than one segment's headers.
 */
int tun_seg_split(const uint8_t *pkt, size_t len, const struct tun_gso *gso,
		  const uint8_t shdr[TUN_HDR_LEN], uint8_t *hdrs, size_t stride,
		  struct tun_seg *segs, size_t max_segs);

/* One sendmsg(): segments [first, first + n). Each datagram but the last
 * is seg_size bytes (the value for UDP_SEGMENT; with n == 1 it is the one
 * datagram's size and UDP_SEGMENT may be left out), the last 1 to
 * seg_size; bytes is the sum of all, the UDP payload of the send. */
struct tun_batch {
	size_t first;
	size_t n;
	size_t seg_size;
	size_t bytes;
};

/* Groups segs[0..n) (datagram size hdr_len + payload_len each), in order,
 * into sends: each a run of consecutive segments whose datagrams are all
 * of the first's size but the last, which may be shorter; at most
 * max_segs segments and max_bytes bytes per send (TUN_UDP_MAX_SEGMENTS and
 * tun_udp_max_payload() for the kernel's limits). Segments of several
 * packets may be given together; a send then spans packets whenever the
 * sizes allow. Fills out[0..k) and returns k; -EMSGSIZE when one datagram
 * alone is larger than max_bytes, -ENOSPC when more than max_out sends
 * are needed, -EINVAL when max_segs is 0. */
int tun_seg_batch(const struct tun_seg *segs, size_t n, size_t max_segs,
		  size_t max_bytes, struct tun_batch *out, size_t max_out);

/* Why tun_decap_split() refused a datagram. The daemon counts
 * TUN_DECAP_SHORT, _VERSION and _TAG as `bad_header`, the others as
 * `bad_packet`. */
enum tun_decap_err {
	TUN_DECAP_OK = 0,
	TUN_DECAP_SHORT,     /* shorter than the strait header */
	TUN_DECAP_VERSION,   /* strait header version not 1 */
	TUN_DECAP_TAG,	     /* another trench's tag */
	TUN_DECAP_MALFORMED, /* inner not an IPv4/IPv6 packet (lib/packet.h
			      * refuses it, or an IPv6 jumbogram) */
	TUN_DECAP_LENGTH,    /* inner IP length not the bytes present */
	TUN_DECAP_CSUM,	     /* flag C, but no TCP/UDP checksum to complete
			      * (another protocol, a fragment, a truncated
			      * L4 header) */
};

/* One datagram of a receive buffer. off and dlen place it in the buffer
 * (so a caller with a writable copy of the buffer finds it there). With
 * err TUN_DECAP_OK, flags are the header's known flags (TUN_HDR_F_*) and
 * pkt, len the inner packet (inside the buffer); otherwise flags are 0,
 * pkt NULL and len 0. */
struct tun_dgram {
	int err; /* enum tun_decap_err */
	uint8_t flags;
	const uint8_t *pkt;
	size_t len;
	size_t off;
	size_t dlen;
};

/* Cuts len bytes at buf, a UDP_GRO receive buffer of datagrams of
 * gro_size bytes each (the last 1 to gro_size), or one plain datagram
 * when gro_size is 0, into out[0..n) and returns n (a buffer of 0 bytes
 * is one empty datagram: TUN_DECAP_SHORT). Each datagram is checked:
 * strait header (version, trench tag: tag), then the inner packet, which
 * must parse (lib/packet.h) and fill the rest of the datagram exactly: a
 * packet longer than the bytes present is truncated, and bytes past its
 * IP length are refused as well (TUN_DECAP_LENGTH), not trimmed: our
 * sender never pads, so they can only mean a corrupt or misaligned
 * buffer. With flag C the packet must be TCP or UDP with its whole L4
 * header present and not a fragment, so that the writer can tell the
 * kernel where the checksum is. A refused datagram does not stop the
 * others. Returns -ENOSPC, with out unspecified, when the buffer holds
 * more than max_out datagrams (TUN_GRO_MAX_SEGS suffice for the kernel's
 * UDP_GRO). Pure: reads only buf[0..len). */
int tun_decap_split(const uint8_t *buf, size_t len, uint16_t gro_size,
		    uint32_t tag, struct tun_dgram *out, size_t max_out);

/* One packet to write to strait-tun0: iovecs [iov, iov + iovcnt) of the
 * caller's array. The first of them is left {NULL, 0} for the writer's
 * virtio_net_hdr (built from gso), so the range is ready for writev()
 * once that is filled. Then either the single input packet as it came
 * (n == 1), or the merged IP+TCP header followed by the payload of each
 * of the n segments. len is the packet's bytes (IP length), the sum of
 * the range's iovecs after the first. The group took the input datagrams
 * [first, first + n), all of them.
 *
 * gso: for a merged run type TUN_GSO_TCPV4/6 (TCP) or TUN_GSO_UDP_L4
 * (UDP), size the first segment's payload, csum_start the L4 offset,
 * csum_offset 16 (TCP) or 6 (UDP), hdr_len the merged header's length,
 * needs_csum. For a single packet type TUN_GSO_NONE,
 * and with flag C needs_csum with csum_start, csum_offset and hdr_len of
 * its TCP or UDP header (those tun_decap_split() let through with C); a
 * single packet without C has needs_csum false and the rest 0. */
struct tun_group {
	size_t first;
	size_t n;
	size_t iov;
	size_t iovcnt;
	size_t len;
	struct tun_gso gso;
};

/* Joins the datagrams in[0..n) (tun_decap_split()'s output, possibly
 * translated in place since; entries with err != 0 are skipped: the caller
 * may set err to drop one) into groups of packets to write, in arrival
 * order. Consecutive TCP segments become one group when they could have
 * come from one TSO packet:
 * - every one partial (flag C), IPv4 without options or IPv6 without
 *   extension headers, not a fragment, the IP length the bytes present;
 * - the same IP version, addresses, ports, and byte for byte the same
 *   IPv4 TOS, flags (DF), TTL or IPv6 traffic class, flow label, hop
 *   limit; the same TCP data offset, acknowledgment number, window,
 *   urgent pointer and options (timestamps included: a later timestamp
 *   ends the run, since one header cannot carry two);
 * - flags ACK alone, ACK + PSH allowed on the last only;
 * - each sequence number the previous one's plus its payload;
 * - every payload of the first's size (at least 1 byte) but the last,
 *   which may be shorter;
 * - at most 65535 bytes of IP length in all (IPv6 included);
 * and the iovec array has room for them. Consecutive UDP datagrams join
 * the same way, as one USO packet (TUN_GSO_UDP_L4), under the same rules
 * where they apply (flag C, no options or extension headers, not a
 * fragment, IP fields and ports equal, payload sizes, limits), the UDP
 * length the bytes present, at most TUN_GRO_MAX_SEGS (64) of them, the
 * kernel's limit for one USO packet; the kernel cuts the packet again at the same
 * boundaries, so every datagram arrives as it was sent. Other packets,
 * and runs of one,
 * are single groups, unchanged. The IPv4 identification of a merged packet
 * is its first segment's (the kernel's TSO numbers the segments from it
 * again), its flags those of its last segment (ACK, PSH).
 *
 * Merged headers are written at hdrs + g * stride for group g (stride at
 * least TUN_COAL_HDR_MAX; the area holds max_groups * stride bytes).
 * Stops when max_groups groups or max_iov iovecs are used up: *used says
 * how many input entries were consumed (call again with the rest).
 * Returns the number of groups, or -EINVAL (stride too small, max_groups
 * 0 or max_iov below 2 with input left). Pure: reads the packets, writes
 * only hdrs, groups, iov and *used. */
int tun_coalesce(const struct tun_dgram *in, size_t n, size_t *used,
		 uint8_t *hdrs, size_t stride, struct tun_group *groups,
		 size_t max_groups, struct iovec *iov, size_t max_iov);

#endif
