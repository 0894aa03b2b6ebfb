/* One NFQUEUE queue over libmnl: a thin I/O module, no event loop of its own.
 *
 * The caller owns the loop: it polls lb_nfq_fd() for readability (a
 * uv_poll, poll(2), anything), calls lb_nfq_receive() when it is readable,
 * gives each packet a verdict with lb_nfq_verdict() and sends the verdicts
 * with lb_nfq_flush() once the receive call has returned:
 *
 *   readable -> lb_nfq_receive(q, fn)   recvmmsg: up to cfg.batch messages
 *                 fn(packet) ...        per call, looped up to cfg.budget
 *                   lb_nfq_verdict(q, id, NF_ACCEPT, mark)   (buffered)
 *            -> lb_nfq_flush(q)         one sendto for all buffered verdicts
 *
 * The queue is set up in one configuration message: bind, copy mode
 * NFQNL_COPY_PACKET with the copy range, the queue's maximum length and the
 * flags NFQA_CFG_F_GSO (always: without it the kernel segments every GSO
 * packet before queueing it, and TCP through the queue is about 8 times
 * slower) and NFQA_CFG_F_FAIL_OPEN (when asked). With GSO packets the
 * payload may be longer than the MTU and its checksums may not be filled
 * in yet (CHECKSUM_PARTIAL): fine for a reader of headers that never
 * rewrites the packet.
 *
 * Verdicts are batched: lb_nfq_verdict() only records one; lb_nfq_flush()
 * writes them all in one sendto. When it is safe, consecutive verdicts with
 * the same verdict and mark become one NFQNL_MSG_VERDICT_BATCH message
 * ("every queued packet with an id up to N"). It is safe when every packet
 * the caller has received has a verdict (none is held back, e.g. a
 * fragment waiting for its first one) and the buffered ids rise; otherwise
 * the verdicts go out one message each, so a held packet can never be
 * caught by a batch verdict meant for others.
 *
 * There is deliberately no public "batch verdict up to N" call: the module
 * counts the packets still without a verdict, and a caller-issued batch
 * would make that count unknowable, and with it the safety rule above.
 *
 * Not thread-safe: one struct lb_nfq per thread; several threads may each
 * open their own queue.
 */
#ifndef STRAIT_LB_NFQ_H
#define STRAIT_LB_NFQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* NF_ACCEPT, NF_DROP, NF_REPEAT for lb_nfq_verdict(). The glibc header
 * comes first: <linux/in.h> (pulled in by <linux/netfilter.h>) steps aside
 * for it only in that order. */
#include <netinet/in.h>
#include <linux/netfilter.h>

struct lb_nfq;

/* Zero means the default for every field. */
struct lb_nfq_config {
	uint32_t copy_range;  /* bytes of each packet copied (128); at most
			       * 65531, the kernel's limit */
	uint32_t maxlen;      /* packets the kernel queues for us (4096) */
	uint32_t rcvbuf;      /* socket receive buffer, bytes (8 MiB) */
	unsigned batch;	      /* messages read per recvmmsg (64) */
	unsigned budget;      /* packets per lb_nfq_receive call (256) */
	bool fail_open;	      /* NFQA_CFG_F_FAIL_OPEN: a full queue accepts */
	bool single_verdicts; /* never send batch verdicts (for measuring) */
};

/* One queued packet, valid only during the callback. */
struct lb_nfq_packet {
	uint32_t id;		/* the kernel's packet id, for the verdict */
	uint16_t hw_protocol;	/* host order: 0x0800 IPv4, 0x86dd IPv6 */
	uint8_t hook;		/* NF_INET_PRE_ROUTING, ... */
	const uint8_t *payload; /* the copied part, from the network header */
	uint32_t len;		/* bytes at payload (0 if none was copied) */
	uint32_t full_len;	/* the packet's whole length */
	uint32_t mark;		/* the packet's mark when it was queued */
	uint32_t ifindex_in;	/* the input interface, 0 if none */
};

struct lb_nfq_stats {
	uint64_t received; /* packets delivered to the callback */
	uint64_t verdicts; /* packets given a verdict (sent) */
	uint64_t batches;  /* NFQNL_MSG_VERDICT_BATCH messages sent */
	uint64_t sends;	   /* sendto calls that carried verdicts */
	uint64_t enobufs;  /* times the kernel could not deliver to us: the
			    * socket was full and packets were dropped (or
			    * accepted, with fail-open) */
	uint64_t errors;   /* malformed messages, errors the kernel
			    * reported for our verdicts, failed sends */
};

/* Opens a netlink socket, binds queue number `queue` in the caller's
 * network namespace and configures it from cfg (NULL: all defaults).
 * Returns 0 and sets *out, or a negative errno with a sentence in err:
 * -EPERM with "already bound by another process" (named by its netlink
 * port) when the queue is taken, or "needs CAP_NET_ADMIN". Packets that
 * reach the queue before the configuration is acknowledged are given
 * NF_REPEAT, so they go through the iptables rule again and come back
 * configured. */
int lb_nfq_open(uint16_t queue, const struct lb_nfq_config *cfg,
		struct lb_nfq **out, char *err, size_t errlen);

/* Unbinds the queue (the kernel then drops, or with --queue-bypass
 * accepts, what reaches it), closes the socket and frees q. Verdicts not
 * flushed are lost, and the packets they were for are dropped by the
 * unbind. NULL is accepted. */
void lb_nfq_close(struct lb_nfq *q);

/* The socket to poll for readability. Non-blocking. */
int lb_nfq_fd(const struct lb_nfq *q);

/* Reads what is there without blocking (recvmmsg with MSG_DONTWAIT, up to
 * cfg.batch messages per call, until the socket is empty or cfg.budget
 * packets have been read) and calls fn once per packet, in the kernel's
 * order. fn returns 0 or a negative errno; after an error the packets
 * already read are still delivered (they would otherwise wait forever for
 * a verdict), and then lb_nfq_receive returns the first error. Returns
 * the number of packets delivered, or a negative errno. ENOBUFS (the
 * kernel dropped packets because the socket was full) is counted in
 * stats.enobufs and is not an error. Every delivered packet needs a
 * verdict sooner or later, or it stays queued in the kernel. */
int lb_nfq_receive(struct lb_nfq *q,
		   int (*fn)(void *data, const struct lb_nfq_packet *p),
		   void *data);

/* Buffers a verdict (NF_ACCEPT, NF_DROP, NF_REPEAT) for packet id, with a
 * new mark unless mark is 0 (0 leaves the packet's mark as it is). A full
 * buffer is flushed first. Returns 0 or a negative errno from that flush. */
int lb_nfq_verdict(struct lb_nfq *q, uint32_t id, int verdict, uint32_t mark);

/* Sends every buffered verdict in one sendto, as batch verdicts where the
 * header's rule allows it. Returns 0 (also when nothing was buffered) or a
 * negative errno; the buffer is emptied either way, and after a failed send
 * the packets concerned stay queued until the queue is closed. */
int lb_nfq_flush(struct lb_nfq *q);

void lb_nfq_stats(const struct lb_nfq *q, struct lb_nfq_stats *out);

#endif
