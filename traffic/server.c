/* The strait-traffic server (server.h): a thin shell on libuv around the
 * wire module. */
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "list.h"
#include "log.h"
#include "sockaddr.h"
#include "traffic.h"

/* Datagrams read per readable event, so TCP gets its turn under a flood. */
#define UDP_BATCH 64

struct traffic_server {
	uv_loop_t *loop;
	char name[TRAFFIC_NAME_MAX];
	uint8_t name_len;
	int family;
	uv_tcp_t listener;
	uv_poll_t udp;
	int udp_fd;
	struct list_node conns;
	unsigned open_handles; /* freed when this drops to 0 */
	/* One read buffer for every socket: libuv hands it to exactly one
	 * read callback at a time, and UDP reads finish in theirs. Room for
	 * the largest datagram, so its size can be reported. */
	uint8_t rx[65536];
};

/* One TCP connection. Answers collect in out[cur] while out[!cur] is
 * being written; the two buffers are reused for the connection's life. */
struct sconn {
	struct list_node node;
	struct traffic_server *srv;
	uv_tcp_t tcp;
	uv_write_t wreq;
	struct traffic_request_rx rx;
	struct buf out[2];
	int cur;
	bool writing;
	bool reading;
	bool closing;
};

static void handle_closed(uv_handle_t *h)
{
	struct traffic_server *s = h->data;
	if (--s->open_handles == 0)
		free(s);
}

/* ---- TCP ---- */

static void conn_closed(uv_handle_t *h)
{
	struct sconn *c = h->data;
	struct traffic_server *s = c->srv;
	buf_free(&c->out[0]);
	buf_free(&c->out[1]);
	free(c);
	if (--s->open_handles == 0)
		free(s);
}

static void conn_close(struct sconn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	list_del(&c->node);
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b);
static void flush(struct sconn *c);

static void alloc_rx(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct sconn *c = h->data;
	(void)hint;
	*b = uv_buf_init((char *)c->srv->rx, sizeof(c->srv->rx));
}

static void on_written(uv_write_t *req, int status)
{
	struct sconn *c = req->data;
	c->writing = false;
	buf_reset(&c->out[!c->cur]);
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	flush(c);
	if (!c->reading && !c->closing &&
	    c->out[c->cur].len < TRAFFIC_SERVER_BACKLOG) {
		c->reading = true;
		uv_read_start((uv_stream_t *)&c->tcp, alloc_rx, on_read);
	}
}

/* Sends what out[cur] holds: directly when the socket takes it all (the
 * common case, no request), else the rest with uv_write, after which
 * answers collect in the other buffer. */
static void flush(struct sconn *c)
{
	struct buf *b = &c->out[c->cur];
	if (c->writing || b->len == 0)
		return;
	uv_buf_t ub = uv_buf_init(b->data, (unsigned)b->len);
	int n = uv_try_write((uv_stream_t *)&c->tcp, &ub, 1);
	if (n == (int)b->len) {
		buf_reset(b);
		return;
	}
	if (n < 0 && n != UV_EAGAIN) {
		conn_close(c);
		return;
	}
	if (n < 0)
		n = 0;
	ub = uv_buf_init(b->data + n, (unsigned)(b->len - (size_t)n));
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &ub, 1, on_written) <
	    0) {
		conn_close(c);
		return;
	}
	c->writing = true;
	c->cur = !c->cur;
}

static int answer_tcp(struct sconn *c, const struct traffic_request *req,
		      bool intact)
{
	struct traffic_server *s = c->srv;
	struct traffic_answer a = {
	    .seq = req->seq,
	    .received = TRAFFIC_REQUEST_HDR + req->pad_len,
	    .intact = intact,
	    .name_len = s->name_len,
	};
	uint8_t out[TRAFFIC_ANSWER_MAX];
	memcpy(a.name, s->name, s->name_len);
	size_t n = traffic_answer_encode(out, &a);
	return buf_append(&c->out[c->cur], out, n);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct sconn *c = st->data;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	const uint8_t *p = (const uint8_t *)b->base;
	size_t n = (size_t)nread;
	while (n > 0) {
		struct traffic_request req;
		size_t used = 0;
		bool intact;
		int r =
		    traffic_request_rx_feed(&c->rx, p, n, &used, &req, &intact);
		if (r < 0) {
			log_debug("tcp: closing a connection that sent no "
				  "request: %s",
				  strerror(-r));
			conn_close(c);
			return;
		}
		p += used;
		n -= used;
		if (r == 1 && answer_tcp(c, &req, intact) < 0) {
			log_warn("tcp: out of memory for answers");
			conn_close(c);
			return;
		}
	}
	flush(c);
	if (!c->closing && c->out[c->cur].len >= TRAFFIC_SERVER_BACKLOG) {
		c->reading = false;
		uv_read_stop(st);
	}
}

static void on_connection(uv_stream_t *l, int status)
{
	struct traffic_server *s = l->data;
	if (status < 0) {
		log_warn("tcp: accept: %s", uv_strerror(status));
		return;
	}
	struct sconn *c = calloc(1, sizeof(*c));
	if (!c) {
		log_warn("tcp: out of memory for a connection");
		return;
	}
	c->srv = s;
	uv_tcp_init(s->loop, &c->tcp);
	c->tcp.data = c;
	s->open_handles++;
	list_add(&s->conns, &c->node);
	if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	c->reading = true;
	uv_read_start((uv_stream_t *)&c->tcp, alloc_rx, on_read);
}

/* ---- UDP ---- */

/* Room for the control message of an answer: one packet info. */
union reply_ctl {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	struct cmsghdr align;
};

/* Fills out->msg_control with the packet info that makes an answer leave
 * FROM the address the request was sent TO (in's packet info), or leaves
 * it empty when in has none. The interface index goes along only for
 * link-local addresses, which need it; for others it would pin the answer
 * to the interface the request came in by, which asymmetric routing
 * forbids. On an IPv6 socket, IPv4 requests come with IPV6_PKTINFO too,
 * holding a v4-mapped address, and the kernel takes that back. */
static void reply_source(const struct msghdr *in, int family,
			 union reply_ctl *ctl, struct msghdr *out)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(in); cm;
	     cm = CMSG_NXTHDR((struct msghdr *)in, cm)) {
		struct cmsghdr *o;
		if (family == AF_INET6 && cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			if (!IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
				pi.ipi6_ifindex = 0;
			out->msg_control = ctl->buf;
			out->msg_controllen = CMSG_SPACE(sizeof(pi));
			o = CMSG_FIRSTHDR(out);
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return;
		}
		if (family == AF_INET && cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi, reply = {0};
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			/* A broadcast or multicast destination is no source:
			 * then the kernel's choice for replies. */
			uint32_t a = ntohl(pi.ipi_addr.s_addr);
			bool group = IN_MULTICAST(a) || a == INADDR_BROADCAST;
			reply.ipi_spec_dst =
			    group ? pi.ipi_spec_dst : pi.ipi_addr;
			out->msg_control = ctl->buf;
			out->msg_controllen = CMSG_SPACE(sizeof(reply));
			o = CMSG_FIRSTHDR(out);
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(reply));
			memcpy(CMSG_DATA(o), &reply, sizeof(reply));
			return;
		}
	}
}

/* Answers the datagram of n bytes in s->rx that in describes. Datagrams
 * that are no request get no answer. */
static void answer_udp(struct traffic_server *s, const struct msghdr *in,
		       size_t n)
{
	struct traffic_request req;
	bool intact;
	if (traffic_request_check(s->rx, n, &req, &intact) < 0)
		return;

	uint8_t out[TRAFFIC_ANSWER_MAX];
	struct traffic_answer a = {
	    .seq = req.seq,
	    .received = (uint32_t)n,
	    .intact = intact,
	    .name_len = s->name_len,
	};
	memcpy(a.name, s->name, s->name_len);
	struct iovec iov = {out, traffic_answer_encode(out, &a)};
	union reply_ctl ctl;
	struct msghdr msg = {
	    .msg_name = in->msg_name,
	    .msg_namelen = in->msg_namelen,
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	};
	memset(&ctl, 0, sizeof(ctl));
	reply_source(in, s->family, &ctl, &msg);
	/* A full send buffer loses the answer, as the network could: the
	 * client counts it as dropped. */
	if (sendmsg(s->udp_fd, &msg, MSG_DONTWAIT) < 0)
		log_debug("udp: sendmsg: %s", strerror(errno));
}

static void on_udp(uv_poll_t *h, int status, int events)
{
	struct traffic_server *s = h->data;
	(void)events;
	if (status < 0) {
		/* libuv stops a poll handle on POLLERR (a pending socket
		 * error); clear the error and keep serving. */
		int err;
		socklen_t len = sizeof(err);
		getsockopt(s->udp_fd, SOL_SOCKET, SO_ERROR, &err, &len);
		log_debug("udp: socket error: %s", strerror(err));
		int e = uv_poll_start(h, UV_READABLE, on_udp);
		if (e < 0) {
			log_error("udp: cannot poll again: %s", uv_strerror(e));
			return;
		}
	}
	for (int i = 0; i < UDP_BATCH; i++) {
		struct sockaddr_storage from;
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
				 CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {s->rx, sizeof(s->rx)};
		struct msghdr msg = {
		    .msg_name = &from,
		    .msg_namelen = sizeof(from),
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		    .msg_control = ctl.buf,
		    .msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n = recvmsg(s->udp_fd, &msg, MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_debug("udp: recvmsg: %s", strerror(errno));
			return;
		}
		answer_udp(s, &msg, (size_t)n);
	}
}

static void udp_closed(uv_handle_t *h)
{
	struct traffic_server *s = h->data;
	close(s->udp_fd);
	handle_closed(h);
}

static int udp_open(struct traffic_server *s, const struct sockaddr *addr)
{
	int one = 1, zero = 0, rcvbuf = 4 << 20;
	int fd = socket(addr->sa_family,
			SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (addr->sa_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
			   sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	}
	/* No SO_REUSEADDR: on UDP it would let a second server share the
	 * port and take its datagrams. */
	/* A bigger queue rides out bursts; the kernel caps it at rmem_max. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, addr, sockaddr_len(addr)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	s->udp_fd = fd;
	return 0;
}

int traffic_server_start(uv_loop_t *loop,
			 const struct traffic_server_config *cfg,
			 struct traffic_server **out)
{
	struct traffic_server *s = calloc(1, sizeof(*s));
	int e;
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->family = cfg->addr->sa_family;
	s->name_len = (uint8_t)strlen(cfg->name);
	memcpy(s->name, cfg->name, s->name_len);
	list_init(&s->conns);

	/* UDP first: once the TCP port accepts, which is what a test waits
	 * for, UDP must be ready too. */
	e = udp_open(s, cfg->addr);
	if (e < 0)
		goto out_free;
	e = uv_poll_init(loop, &s->udp, s->udp_fd);
	if (e < 0)
		goto out_fd;
	s->udp.data = s;
	s->open_handles = 1;
	uv_poll_start(&s->udp, UV_READABLE, on_udp);

	e = uv_tcp_init_ex(loop, &s->listener, (unsigned)s->family);
	if (e < 0)
		goto out_udp;
	s->listener.data = s;
	s->open_handles++;
	e = uv_tcp_bind(&s->listener, cfg->addr, 0);
	if (e == 0)
		e = uv_listen((uv_stream_t *)&s->listener, 4096, on_connection);
	if (e < 0)
		goto out_listener;
	*out = s;
	return 0;

	/* From here on the close callbacks free s. */
out_listener:
	uv_close((uv_handle_t *)&s->listener, handle_closed);
out_udp:
	uv_close((uv_handle_t *)&s->udp, udp_closed);
	return e;
out_fd:
	close(s->udp_fd);
out_free:
	free(s);
	return e;
}

void traffic_server_stop(struct traffic_server *s)
{
	struct list_node *pos, *tmp;
	list_for_each_safe(pos, tmp, &s->conns)
	    conn_close(list_entry(pos, struct sconn, node));
	uv_close((uv_handle_t *)&s->udp, udp_closed);
	uv_close((uv_handle_t *)&s->listener, handle_closed);
}
