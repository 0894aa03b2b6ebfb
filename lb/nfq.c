#include "nfq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter/nfnetlink.h>

#define DEF_COPY_RANGE 128u
#define MAX_COPY_RANGE 65531u /* 0xffff - NLA_HDRLEN, the kernel's cap */
#define DEF_MAXLEN 4096u
#define DEF_RCVBUF (8u << 20)
#define DEF_BATCH 64u
#define DEF_BUDGET 256u

/* Room for the attributes around the payload (packet header, mark,
 * interfaces, hardware address and header, timestamp, skb info, capture
 * length, VLAN, ...): about 150 bytes today; the slack keeps a future
 * attribute from truncating a message. */
#define MSG_OVERHEAD 1024u

/* nlmsghdr + nfgenmsg + NFQA_VERDICT_HDR + NFQA_MARK, each padded. */
#define VERDICT_MSG_MAX                                                        \
	(MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)) +               \
	 MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(struct nfqnl_msg_verdict_hdr)) +   \
	 MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(uint32_t)))

#define MSG_TYPE(t) ((NFNL_SUBSYS_QUEUE << 8) | (t))

/* How long lb_nfq_open waits for the kernel's answer to its configuration.
 * The kernel answers inside the sendto; the wait only covers packets
 * queued ahead of the answer. */
#define OPEN_TIMEOUT_MS 2000

struct verdict {
	uint32_t id;
	uint32_t verdict;
	uint32_t mark;
};

struct lb_nfq {
	struct mnl_socket *nl;
	uint32_t portid;
	uint16_t queue;
	struct lb_nfq_config cfg;

	/* recvmmsg: cfg.batch slots of slot_size bytes each. */
	size_t slot_size;
	uint8_t *rbuf;
	struct mmsghdr *msgs;
	struct iovec *iov;
	struct sockaddr_nl *from;

	/* Buffered verdicts, and what the batch rule needs to know: packets
	 * delivered without a verdict yet, and whether the buffered ids
	 * rise. */
	struct verdict *vq;
	unsigned vn, vcap;
	bool vrising;
	uint64_t outstanding;
	uint8_t *sbuf;

	struct lb_nfq_stats st;
};

static void fmt(char *err, size_t errlen, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

static void fmt(char *err, size_t errlen, const char *f, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, f);
	vsnprintf(err, errlen, f, ap);
	va_end(ap);
}

/* The netlink port that holds queue `queue` in this namespace, from
 * /proc/net/netfilter/nfnetlink_queue ("queue portid total mode range
 * dropped user_dropped id 1"), or 0 if none does. Only used to word an
 * error, so any failure just returns 0. */
static uint32_t holder(uint16_t queue)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "r");
	unsigned qn, pid;
	uint32_t found = 0;
	char line[256];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%u %u", &qn, &pid) == 2 && qn == queue) {
			found = pid;
			break;
		}
	}
	fclose(f);
	return found;
}

static int send_single(struct lb_nfq *q, uint32_t id, uint32_t verdict)
{
	char buf[VERDICT_MSG_MAX];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, q->queue);

	nfq_nlmsg_verdict_put(nlh, (int)id, (int)verdict);
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

/* Waits up to the deadline for the answer to message seq. Packets that
 * the kernel queued before it finished the configuration (there is a
 * window between binding and the last attribute) get NF_REPEAT: they
 * traverse the hook again and come back with the final settings. */
static int await_ack(struct lb_nfq *q, uint32_t seq)
{
	struct timespec t0, t;
	int fd = mnl_socket_get_fd(q->nl);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long ms = (t.tv_sec - t0.tv_sec) * 1000 +
			  (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= OPEN_TIMEOUT_MS)
			return -ETIMEDOUT;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, (int)(OPEN_TIMEOUT_MS - ms)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ssize_t n = mnl_socket_recvfrom(q->nl, q->rbuf, q->slot_size);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				q->st.enobufs++;
				continue;
			}
			return -errno;
		}
		int len = (int)n;
		const struct nlmsghdr *nlh = (const void *)q->rbuf;
		for (; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_type == NLMSG_ERROR &&
			    nlh->nlmsg_seq == seq) {
				const struct nlmsgerr *e =
				    mnl_nlmsg_get_payload(nlh);
				if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
					return -EBADMSG;
				return e->error;
			}
			if (nlh->nlmsg_type != MSG_TYPE(NFQNL_MSG_PACKET))
				continue;
			struct nlattr *a[NFQA_MAX + 1] = {0};
			if (nfq_nlmsg_parse(nlh, a) < 0 || !a[NFQA_PACKET_HDR])
				continue;
			const struct nfqnl_msg_packet_hdr *ph =
			    mnl_attr_get_payload(a[NFQA_PACKET_HDR]);
			int err =
			    send_single(q, ntohl(ph->packet_id), NF_REPEAT);
			if (err)
				return err;
		}
	}
}

/* Binds and configures in one message, so the kernel applies all of it in
 * one call: the queue exists with our copy mode, length and flags, or not
 * at all. NFQA_CFG_MASK names both flags so that fail-open is also turned
 * off explicitly. (The old per-family PF_BIND commands are no-ops since
 * Linux 3.8 and are not sent.) */
static int configure(struct lb_nfq *q)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t flags = NFQA_CFG_F_GSO;
	uint32_t mask = NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN;
	uint32_t seq = (uint32_t)time(NULL);
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->queue);

	if (q->cfg.fail_open)
		flags |= NFQA_CFG_F_FAIL_OPEN;
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET,
				 (int)q->cfg.copy_range);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, q->cfg.maxlen);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return await_ack(q, seq);
}

/* A big receive buffer rides out bursts while the loop is busy elsewhere:
 * each queued packet costs about copy range + 1 KiB of it. FORCE passes
 * rmem_max when we may (CAP_NET_ADMIN, which binding needs anyway). */
static void set_rcvbuf(struct lb_nfq *q)
{
	int fd = mnl_socket_get_fd(q->nl);
	int v = (int)q->cfg.rcvbuf;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

static int alloc_buffers(struct lb_nfq *q)
{
	unsigned b = q->cfg.batch;

	q->slot_size = q->cfg.copy_range + MSG_OVERHEAD;
	q->rbuf = malloc((size_t)b * q->slot_size);
	q->msgs = calloc(b, sizeof(*q->msgs));
	q->iov = calloc(b, sizeof(*q->iov));
	q->from = calloc(b, sizeof(*q->from));
	/* Room for a whole budget of verdicts, so that a caller answering
	 * every packet inside its callback never flushes mid-receive. */
	q->vcap = q->cfg.budget;
	q->vq = calloc(q->vcap, sizeof(*q->vq));
	q->sbuf = malloc((size_t)q->vcap * VERDICT_MSG_MAX);
	if (!q->rbuf || !q->msgs || !q->iov || !q->from || !q->vq || !q->sbuf)
		return -ENOMEM;
	for (unsigned i = 0; i < b; i++) {
		q->iov[i].iov_base = q->rbuf + (size_t)i * q->slot_size;
		q->iov[i].iov_len = q->slot_size;
	}
	q->vrising = true;
	return 0;
}

static void free_buffers(struct lb_nfq *q)
{
	free(q->rbuf);
	free(q->msgs);
	free(q->iov);
	free(q->from);
	free(q->vq);
	free(q->sbuf);
}

int lb_nfq_open(uint16_t queue, const struct lb_nfq_config *cfg,
		struct lb_nfq **out, char *err, size_t errlen)
{
	struct lb_nfq *q;
	int ret;

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (!q) {
		fmt(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (cfg)
		q->cfg = *cfg;
	q->queue = queue;
	if (!q->cfg.copy_range)
		q->cfg.copy_range = DEF_COPY_RANGE;
	if (!q->cfg.maxlen)
		q->cfg.maxlen = DEF_MAXLEN;
	if (!q->cfg.rcvbuf)
		q->cfg.rcvbuf = DEF_RCVBUF;
	if (!q->cfg.batch)
		q->cfg.batch = DEF_BATCH;
	if (!q->cfg.budget)
		q->cfg.budget = DEF_BUDGET;
	if (q->cfg.copy_range > MAX_COPY_RANGE) {
		fmt(err, errlen, "copy range %u is above the kernel's %u",
		    q->cfg.copy_range, MAX_COPY_RANGE);
		ret = -EINVAL;
		goto free_q;
	}
	if (q->cfg.budget < q->cfg.batch)
		q->cfg.budget = q->cfg.batch;

	ret = alloc_buffers(q);
	if (ret) {
		fmt(err, errlen, "out of memory");
		goto free_bufs;
	}

	q->nl =
	    mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!q->nl) {
		ret = -errno;
		fmt(err, errlen, "netlink socket: %s", strerror(errno));
		goto free_bufs;
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		fmt(err, errlen, "netlink bind: %s", strerror(errno));
		goto close_nl;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	set_rcvbuf(q);

	ret = configure(q);
	if (ret == -EPERM || ret == -EBUSY) {
		uint32_t pid = holder(queue);
		if (pid)
			fmt(err, errlen,
			    "queue %u is already bound by another process "
			    "(netlink port %u)",
			    queue, pid);
		else
			fmt(err, errlen,
			    "binding queue %u is not permitted: it needs "
			    "CAP_NET_ADMIN in this network namespace",
			    queue);
		goto close_nl;
	}
	if (ret) {
		fmt(err, errlen, "binding queue %u: %s", queue, strerror(-ret));
		goto close_nl;
	}
	*out = q;
	return 0;

close_nl:
	mnl_socket_close(q->nl);
free_bufs:
	free_buffers(q);
free_q:
	free(q);
	return ret;
}

void lb_nfq_close(struct lb_nfq *q)
{
	if (!q)
		return;
	/* Unbinding explicitly rather than relying on the socket's close:
	 * the answer is not awaited, since the close follows at once and
	 * the kernel also unbinds on close. */
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
	mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len);
	mnl_socket_close(q->nl);
	free_buffers(q);
	free(q);
}

int lb_nfq_fd(const struct lb_nfq *q)
{
	return mnl_socket_get_fd(q->nl);
}

/* One packet message, validated before fn sees it: the library's parser
 * checks each attribute's length for its type; a message without a packet
 * header cannot be answered and is only counted. */
static int deliver(struct lb_nfq *q, const struct nlmsghdr *nlh,
		   int (*fn)(void *, const struct lb_nfq_packet *), void *data)
{
	struct nlattr *a[NFQA_MAX + 1] = {0};
	struct lb_nfq_packet p = {0};

	if (nfq_nlmsg_parse(nlh, a) < 0 || !a[NFQA_PACKET_HDR]) {
		q->st.errors++;
		return 0;
	}
	const struct nfqnl_msg_packet_hdr *ph =
	    mnl_attr_get_payload(a[NFQA_PACKET_HDR]);
	p.id = ntohl(ph->packet_id);
	p.hw_protocol = ntohs(ph->hw_protocol);
	p.hook = ph->hook;
	if (a[NFQA_PAYLOAD]) {
		p.payload = mnl_attr_get_payload(a[NFQA_PAYLOAD]);
		p.len = mnl_attr_get_payload_len(a[NFQA_PAYLOAD]);
	}
	/* The kernel sends the original length only when it cut the copy. */
	p.full_len =
	    a[NFQA_CAP_LEN] ? ntohl(mnl_attr_get_u32(a[NFQA_CAP_LEN])) : p.len;
	if (a[NFQA_MARK])
		p.mark = ntohl(mnl_attr_get_u32(a[NFQA_MARK]));
	if (a[NFQA_IFINDEX_INDEV])
		p.ifindex_in = ntohl(mnl_attr_get_u32(a[NFQA_IFINDEX_INDEV]));

	q->st.received++;
	q->outstanding++;
	return fn(data, &p);
}

/* One datagram: normally one packet message; errors the kernel reports for
 * our verdicts (an unknown id, say) arrive here too, as NLMSG_ERROR. */
static int handle(struct lb_nfq *q, const void *buf, int len,
		  int (*fn)(void *, const struct lb_nfq_packet *), void *data,
		  int *delivered)
{
	const struct nlmsghdr *nlh = buf;
	int first = 0;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (nlh->nlmsg_type == MSG_TYPE(NFQNL_MSG_PACKET)) {
			int r = deliver(q, nlh, fn, data);
			if (r < 0 && !first)
				first = r;
			(*delivered)++;
		} else if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)) ||
			    e->error)
				q->st.errors++;
		} else if (nlh->nlmsg_type != NLMSG_NOOP &&
			   nlh->nlmsg_type != NLMSG_DONE) {
			q->st.errors++;
		}
	}
	return first;
}

int lb_nfq_receive(struct lb_nfq *q,
		   int (*fn)(void *data, const struct lb_nfq_packet *p),
		   void *data)
{
	int fd = mnl_socket_get_fd(q->nl);
	int delivered = 0, first = 0;

	while ((unsigned)delivered < q->cfg.budget) {
		unsigned want = q->cfg.batch;
		if (want > q->cfg.budget - (unsigned)delivered)
			want = q->cfg.budget - (unsigned)delivered;
		for (unsigned i = 0; i < want; i++) {
			struct msghdr *h = &q->msgs[i].msg_hdr;
			memset(h, 0, sizeof(*h));
			h->msg_name = &q->from[i];
			h->msg_namelen = sizeof(q->from[i]);
			h->msg_iov = &q->iov[i];
			h->msg_iovlen = 1;
		}
		int n = recvmmsg(fd, q->msgs, want, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* The kernel dropped packets for want of
				 * room; what is still in the socket is
				 * fine, so keep reading. */
				q->st.enobufs++;
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && !first)
				first = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			const struct msghdr *h = &q->msgs[i].msg_hdr;
			/* Only the kernel (port 0) speaks for the queue;
			 * another process could unicast to our port. */
			if (q->from[i].nl_pid != 0 ||
			    (h->msg_flags & MSG_TRUNC)) {
				q->st.errors++;
				continue;
			}
			int r = handle(q, q->iov[i].iov_base,
				       (int)q->msgs[i].msg_len, fn, data,
				       &delivered);
			if (r < 0 && !first)
				first = r;
		}
		if ((unsigned)n < want)
			break;
	}
	return first ? first : delivered;
}

int lb_nfq_verdict(struct lb_nfq *q, uint32_t id, int verdict, uint32_t mark)
{
	int ret = 0;

	if (q->vn == q->vcap)
		ret = lb_nfq_flush(q);
	if (q->vn && (int32_t)(id - q->vq[q->vn - 1].id) <= 0)
		q->vrising = false;
	q->vq[q->vn++] = (struct verdict){id, (uint32_t)verdict, mark};
	if (q->outstanding)
		q->outstanding--;
	return ret;
}

static struct nlmsghdr *put_verdict(struct lb_nfq *q, char *at, int type,
				    const struct verdict *v)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(at, type, q->queue);

	nfq_nlmsg_verdict_put(nlh, (int)v->id, (int)v->verdict);
	if (v->mark)
		nfq_nlmsg_verdict_put_mark(nlh, v->mark);
	return nlh;
}

/* The batch rule (see nfq.h): with no delivered packet left without a
 * verdict and the buffered ids rising, a batch verdict up to the last id
 * of a run can only reach that run's packets: every lower id either had
 * its verdict in an earlier message or is in this run. */
int lb_nfq_flush(struct lb_nfq *q)
{
	bool batch =
	    !q->cfg.single_verdicts && q->vrising && q->outstanding == 0;
	char *p = (char *)q->sbuf;
	uint64_t batches = 0;

	if (!q->vn)
		return 0;
	for (unsigned i = 0; i < q->vn;) {
		unsigned j = i;
		if (batch)
			while (j + 1 < q->vn &&
			       q->vq[j + 1].verdict == q->vq[i].verdict &&
			       q->vq[j + 1].mark == q->vq[i].mark)
				j++;
		struct nlmsghdr *nlh;
		if (j > i) {
			nlh = put_verdict(q, p, NFQNL_MSG_VERDICT_BATCH,
					  &q->vq[j]);
			batches++;
		} else {
			nlh = put_verdict(q, p, NFQNL_MSG_VERDICT, &q->vq[i]);
		}
		p += nlh->nlmsg_len;
		i = j + 1;
	}

	unsigned n = q->vn;
	q->vn = 0;
	q->vrising = true;
	if (mnl_socket_sendto(q->nl, q->sbuf, (size_t)(p - (char *)q->sbuf)) <
	    0) {
		q->st.errors++;
		return -errno;
	}
	q->st.sends++;
	q->st.verdicts += n;
	q->st.batches += batches;
	return 0;
}

void lb_nfq_stats(const struct lb_nfq *q, struct lb_nfq_stats *out)
{
	*out = q->st;
}
