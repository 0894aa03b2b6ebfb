/* The client's TCP transport: a uv_tcp per connection, requests written
 * straight from the slot's header and the static padding pattern. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "client_impl.h"
#include "sockaddr.h"

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct slot *sl = st->data;
	if (sl->io != SLOT_ACTIVE)
		return;
	if (nread < 0) {
		client_slot_broke(sl);
		return;
	}
	const uint8_t *p = (const uint8_t *)b->base;
	size_t n = (size_t)nread;
	while (n > 0) {
		struct traffic_answer a;
		size_t used = 0;
		int r = traffic_answer_rx_feed(&sl->rx, p, n, &used, &a);
		if (r < 0) {
			client_slot_broke(sl);
			return;
		}
		p += used;
		n -= used;
		if (r == 1) {
			client_answer(sl, &a);
			if (sl->io != SLOT_ACTIVE)
				return;
		}
	}
}

static void alloc_rx(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct slot *sl = h->data;
	(void)hint;
	*b = uv_buf_init((char *)sl->cl->rx, sizeof(sl->cl->rx));
}

static void on_connect(uv_connect_t *req, int status)
{
	struct slot *sl = req->data;
	if (sl->io != SLOT_ACTIVE)
		return; /* closed meanwhile: ECANCELED */
	if (status < 0) {
		client_slot_broke(sl);
		return;
	}
	traffic_conn_established(&sl->acct);
	int e = uv_read_start((uv_stream_t *)&sl->h.tcp, alloc_rx, on_read);
	if (e < 0)
		client_slot_broke(sl);
}

int client_tcp_open(struct slot *sl, const struct sockaddr_storage *src)
{
	struct traffic_client *cl = sl->cl;
	const struct sockaddr *addr = (const struct sockaddr *)cl->cfg.addr;
	int e = uv_tcp_init_ex(cl->loop, &sl->h.tcp, addr->sa_family);
	if (e < 0)
		return e;
	sl->h.tcp.data = sl;
	client_slot_attached(sl);
	memset(&sl->rx, 0, sizeof(sl->rx));
	sl->writing = false;
	sl->owed = 0;
	if (src) {
		/* The port comes with connect(), from the 4-tuple, so many
		 * connections can share one source address. */
		uv_os_fd_t fd;
		int one = 1;
		if (uv_fileno((uv_handle_t *)&sl->h.tcp, &fd) == 0)
			setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
				   &one, sizeof(one));
		e = uv_tcp_bind(&sl->h.tcp, (const struct sockaddr *)src, 0);
		if (e < 0)
			return e;
	}
	uv_tcp_nodelay(&sl->h.tcp, 1);
	sl->connect.data = sl;
	return uv_tcp_connect(&sl->connect, &sl->h.tcp, addr, on_connect);
}

static void send_one(struct slot *sl, uint64_t now_ms);

static void on_written(uv_write_t *req, int status)
{
	struct slot *sl = req->data;
	sl->writing = false;
	if (sl->io != SLOT_ACTIVE)
		return;
	if (status < 0) {
		client_slot_broke(sl);
		return;
	}
	/* Requests that fell due during the write go now, unless the run
	 * stopped sending meanwhile. */
	uint64_t now = uv_now(sl->cl->loop);
	while (sl->owed > 0 && !sl->writing && sl->io == SLOT_ACTIVE &&
	       sl->cl->phase == PHASE_SENDING) {
		sl->owed--;
		send_one(sl, now);
	}
	/* Those still owed wait for this new write, if one started. */
	if (sl->io != SLOT_ACTIVE || sl->cl->phase != PHASE_SENDING)
		sl->owed = 0;
}

/* Fills bufs with the request's bytes from off on: header, then padding
 * from the pattern. Returns how many bufs. */
static unsigned request_bufs(struct slot *sl, uint64_t seq, size_t off,
			     uv_buf_t bufs[2])
{
	unsigned n = 0;
	uint32_t size = sl->cl->cfg.size;
	if (off < TRAFFIC_REQUEST_HDR)
		bufs[n++] = uv_buf_init((char *)sl->hdr + off,
					(unsigned)(TRAFFIC_REQUEST_HDR - off));
	size_t pad_off =
	    off > TRAFFIC_REQUEST_HDR ? off - TRAFFIC_REQUEST_HDR : 0;
	if (pad_off < size) {
		size_t avail;
		const uint8_t *p = traffic_pattern(seq, pad_off, &avail);
		bufs[n++] = uv_buf_init((char *)p, (unsigned)(size - pad_off));
	}
	return n;
}

static void send_one(struct slot *sl, uint64_t now_ms)
{
	struct traffic_client *cl = sl->cl;
	uint64_t seq;
	if (traffic_conn_send(&cl->stats, &sl->acct, now_ms, &seq) < 0)
		return;
	struct traffic_request req = {.seq = seq, .pad_len = cl->cfg.size};
	traffic_request_encode(sl->hdr, &req);
	uv_buf_t bufs[2];
	unsigned nb = request_bufs(sl, seq, 0, bufs);
	size_t total = TRAFFIC_REQUEST_HDR + (size_t)cl->cfg.size;
	int n = uv_try_write((uv_stream_t *)&sl->h.tcp, bufs, nb);
	if (n >= 0 && (size_t)n == total)
		return;
	if (n < 0 && n != UV_EAGAIN) {
		client_slot_broke(sl);
		return;
	}
	/* The socket is full: the rest goes with one uv_write, whose bufs
	 * point into the slot and the static pattern, both of which outlive
	 * it. */
	nb = request_bufs(sl, seq, n > 0 ? (size_t)n : 0, bufs);
	sl->write.data = sl;
	if (uv_write(&sl->write, (uv_stream_t *)&sl->h.tcp, bufs, nb,
		     on_written) < 0) {
		client_slot_broke(sl);
		return;
	}
	sl->writing = true;
}

void client_tcp_send(struct slot *sl, uint64_t now_ms)
{
	if (sl->writing) {
		if (sl->owed < sl->acct.window)
			sl->owed++;
		return;
	}
	send_one(sl, now_ms);
}

static void on_closed(uv_handle_t *h)
{
	client_slot_closed(h->data);
}

void client_tcp_close(struct slot *sl)
{
	uv_close((uv_handle_t *)&sl->h.tcp, on_closed);
}
