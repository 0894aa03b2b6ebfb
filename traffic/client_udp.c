/* The client's UDP transport: one connected UDP socket per connection (its
 * own source port), driven by a uv_poll. Requests are sent with one
 * sendmsg() from the slot's header and the static padding pattern. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_impl.h"
#include "sockaddr.h"

/* Datagrams read per readable event. */
#define UDP_BATCH 64

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct slot *sl = h->data;
	struct traffic_client *cl = sl->cl;
	(void)events;
	if (sl->io != SLOT_ACTIVE)
		return;
	if (status < 0) {
		/* libuv stops a poll handle whose socket reports POLLERR,
		 * which an ICMP port unreachable for an earlier request does
		 * (the server restarting, say). That is no reason to stop
		 * listening for answers: clear the error and poll again. */
		int err;
		socklen_t len = sizeof(err);
		getsockopt(sl->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (uv_poll_start(h, UV_READABLE, on_readable) < 0) {
			client_slot_broke(sl);
			return;
		}
	}
	for (int i = 0; i < UDP_BATCH; i++) {
		ssize_t n = recv(sl->fd, cl->rx, sizeof(cl->rx), MSG_DONTWAIT);
		if (n < 0) {
			/* ECONNREFUSED is an ICMP error for an earlier
			 * request: that request counts as dropped when its
			 * time is up, like any other without an answer. */
			if (errno == ECONNREFUSED || errno == EINTR)
				continue;
			return;
		}
		struct traffic_answer a;
		if (traffic_answer_decode(cl->rx, (size_t)n, &a) != n)
			continue; /* not an answer: ignored */
		client_answer(sl, &a);
		if (sl->io != SLOT_ACTIVE)
			return;
	}
}

int client_udp_open(struct slot *sl, const struct sockaddr_storage *src)
{
	struct traffic_client *cl = sl->cl;
	const struct sockaddr *addr = (const struct sockaddr *)cl->cfg.addr;
	int fd = socket(addr->sa_family,
			SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int e;
	if (fd < 0)
		return -errno;
	if (addr->sa_family == AF_INET) {
		/* Without DF, so a router on a smaller MTU fragments large
		 * requests instead of dropping them. */
		int dont = IP_PMTUDISC_DONT;
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &dont,
			   sizeof(dont));
	}
	if (src && bind(fd, (const struct sockaddr *)src,
			sockaddr_len((const struct sockaddr *)src)) < 0)
		goto out_errno;
	if (connect(fd, addr, sockaddr_len(addr)) < 0)
		goto out_errno;
	e = uv_poll_init(cl->loop, &sl->h.poll, fd);
	if (e < 0)
		goto out_close;
	sl->fd = fd;
	sl->h.poll.data = sl;
	client_slot_attached(sl);
	traffic_conn_established(&sl->acct);
	return uv_poll_start(&sl->h.poll, UV_READABLE, on_readable);

out_errno:
	e = -errno;
out_close:
	close(fd);
	return e;
}

void client_udp_send(struct slot *sl, uint64_t now_ms)
{
	struct traffic_client *cl = sl->cl;
	uint64_t seq;
	if (traffic_conn_send(&cl->stats, &sl->acct, now_ms, &seq) < 0)
		return;
	struct traffic_request req = {.seq = seq, .pad_len = cl->cfg.size};
	traffic_request_encode(sl->hdr, &req);
	size_t avail;
	struct iovec iov[2] = {
	    {sl->hdr, TRAFFIC_REQUEST_HDR},
	    {(void *)traffic_pattern(seq, 0, &avail), cl->cfg.size},
	};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	/* A request that cannot leave (a full buffer, a pending ICMP error)
	 * is lost like one the network loses: it counts as sent and, with
	 * no answer, as dropped. */
	(void)sendmsg(sl->fd, &msg, MSG_DONTWAIT);
}

static void on_closed(uv_handle_t *h)
{
	struct slot *sl = h->data;
	close(sl->fd);
	sl->fd = -1;
	client_slot_closed(sl);
}

void client_udp_close(struct slot *sl)
{
	uv_close((uv_handle_t *)&sl->h.poll, on_closed);
}
