/* The packet loop (docs/tun.md). Two uv_poll callbacks:
 *
 *   strait-tun0 readable: read packets (with their virtio_net_hdr) one by
 *     one into an arena, up to a budget; decide (core.c), translate
 *     (nat.c), then write the packet back to the device (same-node
 *     instance) or cut it into segments (seg.c) and queue them for the
 *     instance's node. When the device has no more (or the arena is full)
 *     the queue goes out in one sendmmsg: a message per run of equal-size
 *     datagrams to one node, with UDP_SEGMENT, across packets (a burst of
 *     1400-byte UDP packets to one node is a few messages, not one send
 *     each).
 *   the UDP socket readable: recvmmsg a batch of UDP_GRO buffers; check
 *     the sender against the nodes table and each datagram's header; decide
 *     and translate each inner packet in place; join runs of a flow's TCP
 *     segments or UDP datagrams (seg.c) across the batch's buffers and
 *     write each group to the device with one writev.
 *
 * A later fragment that comes before its first is kept in a hold slot
 * (svc.h says which, and when it is released or given up); when its first
 * comes, the held ones go through the same path right after it.
 *
 * No allocation per packet: every buffer is allocated once, here.
 */
#include <errno.h>
#include <linux/udp.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "csum.h"
#include "errtext.h"
#include "hdr.h"
#include "log.h"
#include "nat.h"
#include "packet.h"
#include "seg.h"
#include "sockaddr.h"
#include "tun.h"

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define VNET_LEN sizeof(struct virtio_net_hdr)
#define TUN_BUDGET 256 /* packets per readable callback */
#define RX_MSGS 8      /* UDP buffers per recvmmsg */
#define RX_BUF 65536   /* one UDP_GRO buffer */
#define MAX_SEGS 512   /* of one TSO packet (64 KB / 128 bytes) */
#define SEG_STRIDE TUN_SEG_HDR_MAX
#define MAX_GROUPS TUN_GRO_MAX_SEGS
#define READ_MAX (VNET_LEN + 65536)
/* The send queue: packets read since the last flush stay in the arena
 * (their segments' payloads point there) until the flush. */
#define TX_ARENA (512 * 1024)
#define TX_SEGS 2048 /* queued segments; a packet needs up to MAX_SEGS */
#define TX_RUNS 256  /* runs of consecutive segments to one node */
#define TX_IOV (2 * TX_SEGS)

/* Segments [first, first + n) of the queue, all to node. */
struct tx_run {
	const struct tun_vnode *node;
	size_t first, n;
};

struct tun_path {
	uv_poll_t tun_poll, udp_poll;
	/* sending: the queue */
	uint8_t arena[TX_ARENA];
	size_t arena_used;
	uint8_t seg_hdrs[TX_SEGS * SEG_STRIDE];
	struct tun_seg segs[TX_SEGS];
	size_t nsegs;
	struct tx_run runs[TX_RUNS];
	size_t nruns;
	/* sending: the flush */
	struct tun_batch batches[TX_SEGS];
	struct iovec iov[TX_IOV];
	struct mmsghdr tx_msgs[TX_SEGS];
	struct sockaddr_storage tx_to[TX_RUNS];
	char tx_ctl[TX_SEGS][CMSG_SPACE(sizeof(uint16_t))];
	/* receiving */
	uint8_t rx[RX_MSGS][RX_BUF];
	struct mmsghdr msgs[RX_MSGS];
	struct iovec rx_iov[RX_MSGS];
	struct sockaddr_storage rx_from[RX_MSGS];
	char rx_ctl[RX_MSGS][CMSG_SPACE(sizeof(int))];
	struct tun_dgram dgrams[RX_MSGS * TUN_GRO_MAX_SEGS];
	uint8_t coal_hdrs[MAX_GROUPS * TUN_COAL_HDR_MAX];
	struct tun_group groups[MAX_GROUPS];
	struct iovec wiov[TUN_GRO_MAX_SEGS + MAX_GROUPS + 2];
	uint8_t icmp[VNET_LEN + 1280];
	/* later fragments held before their first (svc.h): only the pages
	 * of slots in use are ever touched */
	uint8_t hold[TUN_HOLD_SLOTS][65535];
	uint16_t hold_len[TUN_HOLD_SLOTS];
	uint8_t hold_flags[TUN_HOLD_SLOTS]; /* node side: the header flags */
	uint32_t release[FRAG_HOLD_MAX];    /* of the last decision */
	uint32_t n_release;
};

/* ---- virtio_net_hdr <-> struct tun_gso ---- */

static void gso_from_vnet(const struct virtio_net_hdr *v, struct tun_gso *g)
{
	memset(g, 0, sizeof(*g));
	switch (v->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		g->type = TUN_GSO_TCPV4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		g->type = TUN_GSO_TCPV6;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		g->type = TUN_GSO_UDP_L4;
		break;
	default:
		g->type = TUN_GSO_NONE;
	}
	g->needs_csum = v->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	g->size = v->gso_size;
	g->csum_start = v->csum_start;
	g->csum_offset = v->csum_offset;
	g->hdr_len = v->hdr_len;
}

static void vnet_from_gso(const struct tun_gso *g, struct virtio_net_hdr *v)
{
	static const uint8_t types[] = {
	    [TUN_GSO_NONE] = VIRTIO_NET_HDR_GSO_NONE,
	    [TUN_GSO_TCPV4] = VIRTIO_NET_HDR_GSO_TCPV4,
	    [TUN_GSO_TCPV6] = VIRTIO_NET_HDR_GSO_TCPV6,
	    [TUN_GSO_UDP_L4] = VIRTIO_NET_HDR_GSO_UDP_L4,
	};
	memset(v, 0, sizeof(*v));
	v->gso_type = g->type < sizeof(types) ? types[g->type] : 0;
	if (g->needs_csum) {
		v->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		v->csum_start = g->csum_start;
		v->csum_offset = g->csum_offset;
	}
	v->gso_size = g->type ? g->size : 0;
	v->hdr_len = g->hdr_len;
}

/* ---- writing to strait-tun0 ---- */

static void tun_write(struct tun_daemon *d, struct iovec *iov, int n,
		      size_t bytes)
{
	if (writev(d->tun_fd, iov, n) < 0) {
		d->c.send_errors++;
		log_debug("write to %s: %s", d->opt->dev, strerror(errno));
		return;
	}
	d->c.tun_tx++;
	d->c.tun_tx_bytes += bytes;
}

static void write_packet(struct tun_daemon *d, const struct tun_gso *g,
			 uint8_t *pkt, size_t len)
{
	struct virtio_net_hdr v;
	vnet_from_gso(g, &v);
	struct iovec iov[2] = {{&v, VNET_LEN}, {pkt, len}};
	tun_write(d, iov, 2, len);
}

/* An ICMP destination unreachable (IPv4 host unreachable, IPv6 address
 * unreachable) for the packet at pkt, from its destination, quoting as
 * much of it as the minimum MTU allows; written back to the device. */
static void send_unreach(struct tun_daemon *d, const struct pkt *p,
			 const uint8_t *pkt, size_t len)
{
	uint8_t *o = d->path->icmp + VNET_LEN;
	size_t room = sizeof(d->path->icmp) - VNET_LEN;
	size_t ip = p->family == AF_INET ? 20 : 40;
	size_t q = len < room - ip - 8 ? len : room - ip - 8;
	size_t total = ip + 8 + q;
	if (p->family == AF_INET && total > 576) {
		q = 576 - ip - 8;
		total = 576;
	}
	memset(o, 0, ip + 8);
	memcpy(o + ip + 8, pkt, q);
	uint8_t *icmp = o + ip;
	if (p->family == AF_INET) {
		o[0] = 0x45;
		o[2] = (uint8_t)(total >> 8);
		o[3] = (uint8_t)total;
		o[8] = 64;
		o[9] = IPPROTO_ICMP;
		memcpy(o + 12, p->dst, 4);
		memcpy(o + 16, p->src, 4);
		uint16_t c = csum_final(csum_add(0, o, 20));
		o[10] = (uint8_t)(c >> 8);
		o[11] = (uint8_t)c;
		icmp[0] = 3; /* destination unreachable */
		icmp[1] = 1; /* host unreachable */
		c = csum_final(csum_add(0, icmp, 8 + q));
		icmp[2] = (uint8_t)(c >> 8);
		icmp[3] = (uint8_t)c;
	} else {
		size_t pl = 8 + q;
		o[0] = 0x60;
		o[4] = (uint8_t)(pl >> 8);
		o[5] = (uint8_t)pl;
		o[6] = IPPROTO_ICMPV6;
		o[7] = 64;
		memcpy(o + 8, p->dst, 16);
		memcpy(o + 24, p->src, 16);
		icmp[0] = 1; /* destination unreachable */
		icmp[1] = 3; /* address unreachable */
		uint32_t s =
		    csum_pseudo6(o + 8, o + 24, IPPROTO_ICMPV6, (uint32_t)pl);
		uint16_t c = csum_final(csum_add(s, icmp, pl));
		icmp[2] = (uint8_t)(c >> 8);
		icmp[3] = (uint8_t)c;
	}
	struct tun_gso none = {0};
	write_packet(d, &none, o, total);
	d->c.unreach_sent++;
}

/* ---- sending to a node ---- */

/* The address to send to node at, on the daemon's socket: IPv4-mapped
 * when the socket is IPv6 (dual-stack) and the node IPv4. */
static void peer_addr(const struct tun_daemon *d,
		      const struct sockaddr_storage *node,
		      struct sockaddr_storage *out)
{
	if (d->udp_family == AF_INET6 && node->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)node;
		struct sockaddr_in6 *o = (void *)out;
		memset(o, 0, sizeof(*o));
		o->sin6_family = AF_INET6;
		o->sin6_port = in->sin_port;
		o->sin6_addr.s6_addr[10] = 0xff;
		o->sin6_addr.s6_addr[11] = 0xff;
		memcpy(o->sin6_addr.s6_addr + 12, &in->sin_addr, 4);
		return;
	}
	*out = *node;
}

static void send_one_by_one(struct tun_daemon *d, const struct tun_vnode *n,
			    struct sockaddr_storage *to, socklen_t tolen,
			    const struct tun_batch *bt)
{
	struct tun_path *t = d->path;
	for (size_t i = bt->first; i < bt->first + bt->n; i++) {
		struct iovec iov[2] = {
		    {t->segs[i].hdr, t->segs[i].hdr_len},
		    {(void *)t->segs[i].payload, t->segs[i].payload_len},
		};
		struct msghdr m = {
		    .msg_name = to,
		    .msg_namelen = tolen,
		    .msg_iov = iov,
		    .msg_iovlen = t->segs[i].payload_len ? 2 : 1,
		};
		if (sendmsg(d->udp_fd, &m, 0) < 0) {
			d->c.send_errors++;
			log_debug("send to node %s: %s", n->name,
				  strerror(errno));
			continue;
		}
		d->c.udp_tx++;
		d->c.udp_tx_bytes +=
		    t->segs[i].hdr_len + t->segs[i].payload_len;
		d->c.udp_tx_sends++;
	}
}

/* Queues segments [first, first + n) for node: a new run, or the last
 * one grown when it goes to the same node. */
static void tx_queue(struct tun_path *t, const struct tun_vnode *node,
		     size_t first, size_t n)
{
	struct tx_run *last = t->nruns ? &t->runs[t->nruns - 1] : NULL;
	if (last && last->node == node && last->first + last->n == first)
		last->n += n;
	else
		t->runs[t->nruns++] = (struct tx_run){node, first, n};
	t->nsegs = first + n;
}

/* Room for one more packet of any size in the queue. */
static bool tx_room(const struct tun_path *t)
{
	return t->arena_used + READ_MAX <= TX_ARENA &&
	       t->nsegs + MAX_SEGS <= TX_SEGS && t->nruns < TX_RUNS;
}

/* Message m of the flush: batch bt of the segments, to run r's node. */
static void tx_message(struct tun_path *t, size_t m, size_t r,
		       const struct tun_batch *bt, size_t *niov)
{
	struct iovec *iov = t->iov + *niov;
	size_t ni = 0;
	for (size_t i = bt->first; i < bt->first + bt->n; i++) {
		iov[ni++] = (struct iovec){t->segs[i].hdr, t->segs[i].hdr_len};
		if (t->segs[i].payload_len)
			iov[ni++] = (struct iovec){(void *)t->segs[i].payload,
						   t->segs[i].payload_len};
	}
	*niov += ni;
	struct msghdr *mh = &t->tx_msgs[m].msg_hdr;
	*mh = (struct msghdr){
	    .msg_name = &t->tx_to[r],
	    .msg_namelen = sockaddr_len((const struct sockaddr *)&t->tx_to[r]),
	    .msg_iov = iov,
	    .msg_iovlen = ni,
	};
	if (bt->n < 2)
		return;
	char *ctl = t->tx_ctl[m];
	memset(ctl, 0, sizeof(t->tx_ctl[m]));
	mh->msg_control = ctl;
	mh->msg_controllen = sizeof(t->tx_ctl[m]);
	struct cmsghdr *cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	uint16_t gs = (uint16_t)bt->seg_size;
	memcpy(CMSG_DATA(cm), &gs, sizeof(gs));
}

/* Sends the queue: each run cut into UDP_SEGMENT messages (seg.c), all of
 * them in as few sendmmsg calls as the socket takes. Empties the queue. */
static void tx_flush(struct tun_daemon *d)
{
	struct tun_path *t = d->path;
	size_t nm = 0, niov = 0;
	for (size_t r = 0; r < t->nruns; r++) {
		const struct tx_run *run = &t->runs[r];
		bool v6 = run->node->addr.ss_family == AF_INET6;
		struct tun_batch *b = t->batches + nm;
		int nb = tun_seg_batch(
		    t->segs + run->first, run->n, TUN_UDP_MAX_SEGMENTS,
		    tun_udp_max_payload(v6), b, TX_SEGS - nm);
		if (nb < 0) {
			d->c.send_errors++;
			continue;
		}
		peer_addr(d, &run->node->addr, &t->tx_to[r]);
		for (int i = 0; i < nb; i++) {
			b[i].first += run->first;
			tx_message(t, nm++, r, &b[i], &niov);
		}
	}
	for (size_t i = 0; i < nm;) {
		int sent =
		    sendmmsg(d->udp_fd, t->tx_msgs + i, (unsigned)(nm - i), 0);
		d->c.udp_tx_calls++;
		if (sent > 0) {
			for (size_t k = i; k < i + (size_t)sent; k++) {
				d->c.udp_tx += t->batches[k].n;
				d->c.udp_tx_bytes += t->batches[k].bytes;
				d->c.udp_tx_sends++;
			}
			i += (size_t)sent;
			continue;
		}
		/* Message i failed. A segment above the route's MTU (a
		 * smaller underlay link) refuses UDP_SEGMENT: send each
		 * datagram alone, which the kernel may fragment. */
		const struct tun_batch *bt = &t->batches[i];
		struct msghdr *mh = &t->tx_msgs[i].msg_hdr;
		/* Its run: the one whose address it is sent to. */
		size_t r = (size_t)((struct sockaddr_storage *)mh->msg_name -
				    t->tx_to);
		const struct tun_vnode *n = t->runs[r].node;
		if (bt->n > 1 && (errno == EINVAL || errno == EMSGSIZE))
			send_one_by_one(d, n, mh->msg_name, mh->msg_namelen,
					bt);
		else
			d->c.send_errors++;
		log_debug("send to node %s: %s", n->name, strerror(errno));
		i++;
	}
	t->nsegs = t->nruns = t->arena_used = 0;
}

static enum tun_csum csum_mode(const struct tun_gso *g)
{
	return g->needs_csum ? TUN_CSUM_PARTIAL : TUN_CSUM_FULL;
}

/* The same for a datagram from a node: its header's flag C. */
static enum tun_csum hdr_csum_mode(uint8_t flags)
{
	return flags & TUN_HDR_F_CSUM ? TUN_CSUM_PARTIAL : TUN_CSUM_FULL;
}

static int translate(struct tun_daemon *d, const struct tun_decision *dc,
		     uint8_t *pkt, size_t len, enum tun_csum mode)
{
	int rc = 0;
	size_t alen = (pkt[0] >> 4) == 4 ? 4 : 16;
	if (dc->nat == TUN_NAT_DNAT)
		rc = tun_nat_dnat(pkt, len, dc->old_addr, dc->new_addr, alen,
				  mode);
	else if (dc->nat == TUN_NAT_SNAT)
		rc = tun_nat_snat(pkt, len, dc->old_addr, dc->new_addr, alen,
				  mode);
	if (rc < 0) {
		d->c.bad_packet++;
		return rc;
	}
	return 0;
}

static void clamp(struct tun_daemon *d, const struct pkt *p, uint8_t *pkt,
		  size_t len, enum tun_csum mode)
{
	if (p->proto != IPPROTO_TCP || p->fragment || p->icmp_error)
		return;
	unsigned over = p->family == AF_INET ? 40 : 60;
	if (tun_mss_clamp(pkt, len, (uint16_t)(d->opt->mtu - over), mode) > 0)
		d->c.mss_clamped++;
}

/* ---- fragments held before their first ---- */

static void hold_put(struct tun_path *t, uint32_t slot, const uint8_t *pkt,
		     size_t len, uint8_t flags)
{
	/* IPv4's and IPv6's length fields keep a packet under 64 KB */
	memcpy(t->hold[slot], pkt, len);
	t->hold_len[slot] = (uint16_t)len;
	t->hold_flags[slot] = flags;
}

/* The slots a first fragment released: free in the core from now on, so
 * the caller handles them before it decides on another packet. */
static void note_released(struct tun_path *t, const struct tun_decision *dc)
{
	memcpy(t->release, dc->released,
	       dc->n_released * sizeof(dc->released[0]));
	t->n_release = dc->n_released;
}

/* Takes the slots the last decision released into slots (the next
 * decision would overwrite them); returns how many. */
static uint32_t take_released(struct tun_path *t, uint32_t slots[FRAG_HOLD_MAX])
{
	uint32_t n = t->n_release;
	memcpy(slots, t->release, n * sizeof(slots[0]));
	t->n_release = 0;
	return n;
}

/* One packet read from the device. Returns true when its segments were
 * queued: the packet must then stay where it is until tx_flush(). */
static bool from_tun(struct tun_daemon *d, uint8_t *pkt, size_t len,
		     const struct tun_gso *g)
{
	struct pkt p;
	struct tun_decision dc;
	if (pkt_parse(pkt, len, &p) < 0) {
		d->c.bad_packet++;
		return false;
	}
	tun_decide_out(d->core, &p, tun_now_ms(d), &dc);
	note_released(d->path, &dc);
	switch (dc.action) {
	case TUN_DROP:
		return false;
	case TUN_HOLD:
		hold_put(d->path, dc.hold_id, pkt, len, 0);
		return false;
	case TUN_UNREACH:
		if (!d->synced) { /* the tables are still arriving */
			d->c.not_ready++;
			return false;
		}
		send_unreach(d, &p, pkt, len);
		return false;
	case TUN_DELIVER:
		if (translate(d, &dc, pkt, len, csum_mode(g)) == 0)
			write_packet(d, g, pkt, len);
		return false;
	case TUN_SEND:
		break;
	}
	if (translate(d, &dc, pkt, len, csum_mode(g)) < 0)
		return false;
	clamp(d, &p, pkt, len, csum_mode(g));
	uint8_t shdr[TUN_HDR_LEN];
	tun_hdr_encode(shdr, dc.reply ? TUN_HDR_F_REPLY : 0, d->trench_tag);
	struct tun_path *t = d->path;
	int n = tun_seg_split(pkt, len, g, shdr,
			      t->seg_hdrs + t->nsegs * SEG_STRIDE, SEG_STRIDE,
			      t->segs + t->nsegs, MAX_SEGS);
	if (n < 0) {
		d->c.bad_packet++;
		log_debug("cannot cut a packet of %zu bytes: %s", len,
			  strerror(-n));
		return false;
	}
	tx_queue(t, dc.node, t->nsegs, (size_t)n);
	return true;
}

/* Packet at t->arena + t->arena_used, len bytes after its
 * virtio_net_hdr (g), through from_tun(); kept in the queue when it was
 * queued. */
static void tun_packet(struct tun_daemon *d, size_t len,
		       const struct tun_gso *g)
{
	struct tun_path *t = d->path;
	uint8_t *buf = t->arena + t->arena_used;
	if (from_tun(d, buf + VNET_LEN, len, g))
		/* keep it; the next read starts cache-line aligned */
		t->arena_used += (VNET_LEN + len + 63) & ~(size_t)63;
}

/* The fragments the last packet released, in their arrival order, each
 * copied into the queue's arena as if just read. */
static void tun_released(struct tun_daemon *d)
{
	struct tun_path *t = d->path;
	uint32_t slots[FRAG_HOLD_MAX], n = take_released(t, slots);
	for (uint32_t i = 0; i < n; i++) {
		if (!tx_room(t))
			tx_flush(d);
		size_t len = t->hold_len[slots[i]];
		memcpy(t->arena + t->arena_used + VNET_LEN, t->hold[slots[i]],
		       len);
		tun_packet(d, len, &(struct tun_gso){0});
	}
}

static void on_tun(uv_poll_t *h, int status, int events)
{
	struct tun_daemon *d = h->data;
	struct tun_path *t = d->path;
	(void)events;
	if (status < 0)
		return;
	for (int i = 0; i < TUN_BUDGET; i++) {
		if (!tx_room(t))
			tx_flush(d);
		uint8_t *buf = t->arena + t->arena_used;
		ssize_t n = read(d->tun_fd, buf, READ_MAX);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("read %s: %s", d->opt->dev,
					 strerror(errno));
			break;
		}
		if ((size_t)n <= VNET_LEN)
			continue;
		struct virtio_net_hdr v;
		memcpy(&v, buf, VNET_LEN);
		struct tun_gso g;
		gso_from_vnet(&v, &g);
		d->c.tun_rx++;
		d->c.tun_rx_bytes += (size_t)n - VNET_LEN;
		tun_packet(d, (size_t)n - VNET_LEN, &g);
		if (t->n_release)
			tun_released(d);
	}
	tx_flush(d);
}

/* ---- receiving from nodes ---- */

static void count_decap(struct tun_daemon *d, int err)
{
	if (err == TUN_DECAP_SHORT || err == TUN_DECAP_VERSION ||
	    err == TUN_DECAP_TAG)
		d->c.bad_header++;
	else
		d->c.bad_packet++;
}

/* The fragments the last datagram from node n released: each decided and
 * translated again in its slot, then written alone (before the first
 * fragment that released them, which goes with its buffer's groups: the
 * receiver reassembles in any order). */
static void node_released(struct tun_daemon *d, const struct tun_vnode *n,
			  uint64_t now)
{
	struct tun_path *t = d->path;
	uint32_t slots[FRAG_HOLD_MAX], k = take_released(t, slots);
	for (uint32_t i = 0; i < k; i++) {
		uint8_t *pkt = t->hold[slots[i]];
		size_t len = t->hold_len[slots[i]];
		uint8_t flags = t->hold_flags[slots[i]];
		struct pkt p;
		struct tun_decision dc;
		if (pkt_parse(pkt, len, &p) < 0)
			continue; /* parsed when it was held */
		tun_decide_in(d->core, &p, flags & TUN_HDR_F_REPLY, n, now,
			      &dc);
		if (dc.action == TUN_DELIVER &&
		    translate(d, &dc, pkt, len, hdr_csum_mode(flags)) == 0)
			write_packet(d, &(struct tun_gso){0}, pkt, len);
	}
}

/* One UDP_GRO buffer from node n: its datagrams checked, decided and
 * translated in place into dgrams[0..k) (a refused one keeps an error, so
 * that write_groups() skips it). Returns k. */
static size_t from_node(struct tun_daemon *d, const struct tun_vnode *n,
			uint8_t *buf, size_t len, uint16_t gro,
			struct tun_dgram *dgrams, uint64_t now)
{
	int nd = tun_decap_split(buf, len, gro, d->trench_tag, dgrams,
				 TUN_GRO_MAX_SEGS);
	if (nd < 0) {
		d->c.bad_packet++;
		return 0;
	}
	for (int i = 0; i < nd; i++) {
		struct tun_dgram *dg = &dgrams[i];
		if (dg->err) {
			count_decap(d, dg->err);
			continue;
		}
		d->c.udp_rx++;
		d->c.udp_rx_bytes += dg->dlen;
		uint8_t *pkt = buf + (dg->pkt - buf);
		struct pkt p;
		struct tun_decision dc;
		if (pkt_parse(pkt, dg->len, &p) < 0) {
			dg->err = TUN_DECAP_MALFORMED;
			d->c.bad_packet++;
			continue;
		}
		bool reply = dg->flags & TUN_HDR_F_REPLY;
		enum tun_csum mode = hdr_csum_mode(dg->flags);
		tun_decide_in(d->core, &p, reply, n, now, &dc);
		note_released(d->path, &dc);
		if (dc.action == TUN_HOLD)
			hold_put(d->path, dc.hold_id, pkt, dg->len, dg->flags);
		if (dc.action != TUN_DELIVER ||
		    translate(d, &dc, pkt, dg->len, mode) < 0)
			dg->err = TUN_DECAP_MALFORMED; /* skipped later */
		if (d->path->n_release)
			node_released(d, n, now);
	}
	return (size_t)nd;
}

/* Writes dgrams[0..nd) to strait-tun0, runs of a flow merged (seg.c):
 * the datagrams of every buffer of one recvmmsg together, so that a run
 * cut across two UDP_GRO buffers is still one write. */
static void write_groups(struct tun_daemon *d, size_t nd)
{
	struct tun_path *t = d->path;
	size_t done = 0;
	while (done < nd) {
		size_t used = 0;
		int ng = tun_coalesce(t->dgrams + done, nd - done, &used,
				      t->coal_hdrs, TUN_COAL_HDR_MAX, t->groups,
				      MAX_GROUPS, t->wiov,
				      sizeof(t->wiov) / sizeof(t->wiov[0]));
		if (ng < 0 || used == 0)
			break;
		for (int g = 0; g < ng; g++) {
			struct tun_group *gr = &t->groups[g];
			struct virtio_net_hdr v;
			vnet_from_gso(&gr->gso, &v);
			t->wiov[gr->iov] = (struct iovec){&v, VNET_LEN};
			tun_write(d, &t->wiov[gr->iov], (int)gr->iovcnt,
				  gr->len);
			if (gr->n > 1)
				d->c.tun_tx_merged += gr->n;
		}
		done += used;
	}
}

static void on_udp(uv_poll_t *h, int status, int events)
{
	struct tun_daemon *d = h->data;
	struct tun_path *t = d->path;
	(void)events;
	if (status < 0)
		return;
	for (int i = 0; i < RX_MSGS; i++) {
		t->rx_iov[i] = (struct iovec){t->rx[i], RX_BUF};
		memset(&t->msgs[i], 0, sizeof(t->msgs[i]));
		t->msgs[i].msg_hdr.msg_iov = &t->rx_iov[i];
		t->msgs[i].msg_hdr.msg_iovlen = 1;
		t->msgs[i].msg_hdr.msg_name = &t->rx_from[i];
		t->msgs[i].msg_hdr.msg_namelen = sizeof(t->rx_from[i]);
		t->msgs[i].msg_hdr.msg_control = t->rx_ctl[i];
		t->msgs[i].msg_hdr.msg_controllen = sizeof(t->rx_ctl[i]);
	}
	int n = recvmmsg(d->udp_fd, t->msgs, RX_MSGS, MSG_DONTWAIT, NULL);
	if (n <= 0) {
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			log_warn("recvmmsg: %s", strerror(errno));
		return;
	}
	d->c.udp_rx_batches++;
	const struct tun_view *view = tun_core_view(d->core);
	uint64_t now = tun_now_ms(d);
	size_t nd = 0;
	for (int i = 0; i < n; i++) {
		struct msghdr *m = &t->msgs[i].msg_hdr;
		uint16_t gro = 0;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm;
		     cm = CMSG_NXTHDR(m, cm))
			if (cm->cmsg_level == SOL_UDP &&
			    cm->cmsg_type == UDP_GRO) {
				int v;
				memcpy(&v, CMSG_DATA(cm), sizeof(v));
				gro = (uint16_t)v;
			}
		const struct tun_vnode *from = tun_view_node_by_addr(
		    view, (const struct sockaddr *)&t->rx_from[i]);
		if (!from || from->self) {
			/* Before the nodes table has come, no peer is known
			 * yet: not a stranger (a restart under traffic). */
			if (d->synced)
				d->c.unknown_sender++;
			else
				d->c.not_ready++;
			continue;
		}
		nd += from_node(d, from, t->rx[i], t->msgs[i].msg_len, gro,
				t->dgrams + nd, now);
	}
	write_groups(d, nd);
}

/* ---- start, stop ---- */

static int open_udp(struct tun_daemon *d, char *err, size_t len)
{
	const struct tun_options *o = d->opt;
	struct sockaddr_storage a;
	socklen_t alen;
	if (o->underlay_set) {
		a = o->underlay;
	} else {
		memset(&a, 0, sizeof(a));
		a.ss_family = AF_INET6;
	}
	if (a.ss_family == AF_INET) {
		((struct sockaddr_in *)&a)->sin_port = htons(o->port);
		alen = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&a)->sin6_port = htons(o->port);
		alen = sizeof(struct sockaddr_in6);
	}
	int fd = socket(a.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errtext(-errno, err, len, "UDP socket: %s",
			       strerror(errno));
	int zero = 0, one = 1, big = 4 << 20;
	/* Outer datagrams go without DF: a smaller link on the way
	 * fragments them rather than dropping them (docs/tun.md, MTU). */
	int dont = IP_PMTUDISC_DONT, dont6 = IPV6_PMTUDISC_DONT;
	setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &dont, sizeof(dont));
	if (a.ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &dont6,
			   sizeof(dont6));
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	if (setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0)
		log_warn("UDP_GRO: %s (each datagram read alone)",
			 strerror(errno));
	if (bind(fd, (struct sockaddr *)&a, alen) < 0) {
		int e = errno;
		close(fd);
		return errtext(-e, err, len, "binding UDP port %u: %s", o->port,
			       strerror(e));
	}
	d->udp_family = a.ss_family;
	return fd;
}

int tun_path_start(struct tun_daemon *d, char *err, size_t len)
{
	d->path = calloc(1, sizeof(*d->path));
	if (!d->path)
		return errtext(-ENOMEM, err, len, "out of memory");
	int fd = open_udp(d, err, len);
	if (fd < 0)
		return fd;
	d->udp_fd = fd;
	uv_poll_init(d->loop, &d->path->tun_poll, d->tun_fd);
	uv_poll_init(d->loop, &d->path->udp_poll, d->udp_fd);
	d->path->tun_poll.data = d->path->udp_poll.data = d;
	uv_poll_start(&d->path->tun_poll, UV_READABLE, on_tun);
	uv_poll_start(&d->path->udp_poll, UV_READABLE, on_udp);
	return 0;
}

void tun_path_stop(struct tun_daemon *d)
{
	if (!d->path)
		return;
	uv_poll_stop(&d->path->tun_poll);
	uv_poll_stop(&d->path->udp_poll);
	uv_close((uv_handle_t *)&d->path->tun_poll, NULL);
	uv_close((uv_handle_t *)&d->path->udp_poll, NULL);
}

void tun_path_free(struct tun_daemon *d)
{
	if (d->udp_fd >= 0)
		close(d->udp_fd);
	free(d->path);
	d->path = NULL;
}
