#include "metrics.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Clients waiting beyond the connection limit sit in this queue. */
#define LISTEN_BACKLOG 128

/* A connection moves down this list and never back:
 *
 *   READING ──request complete or bad──> WRITING ──written──> DRAINING
 *      │                                    │                    │
 *      └──── deadline, error, EOF ──────────┴────────────────────┴─> CLOSING
 *
 * DRAINING has sent the response and a FIN and reads until the client's
 * EOF: closing with unread input would make the kernel send a reset,
 * which can destroy the response before the client reads it. */
enum conn_state { CONN_READING, CONN_WRITING, CONN_DRAINING, CONN_CLOSING };

struct conn {
	uv_tcp_t tcp;
	uv_timer_t deadline;
	uv_write_t write;
	uv_shutdown_t shutdown;
	struct metrics_server *srv;
	struct conn *prev, *next;
	enum conn_state state;
	int open_handles; /* close callbacks still to come once CLOSING */
	bool peer_eof;	  /* the client's EOF came while WRITING */
	size_t len;	  /* bytes received into req */
	size_t pos;	  /* bytes of req already checked */
	size_t line;	  /* start of the line being received */
	size_t method_len, path_off, path_len;
	struct buf head, body;
	char req[METRICS_REQUEST_MAX];
};

struct metrics_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	/* Takes a connection that cannot be served (no memory for it), so
	 * that it is closed rather than left to block the listener. */
	uv_tcp_t spare;
	metrics_collect_fn fn;
	void *data;
	uint64_t timeout_ms;
	struct conn *conns;
	unsigned nconns;     /* in the list, closing ones included */
	bool listening;	     /* the listener's close callback has not run */
	bool spare_busy;     /* the spare's close callback has not run */
	bool accept_waiting; /* libuv holds an accepted socket for us */
	bool closing;
	void (*done)(void *);
	void *done_data;
};

static void accept_waiting(struct metrics_server *srv);

/* ---- lifetime ---- */

static void maybe_finish(struct metrics_server *srv)
{
	if (!srv->closing || srv->listening || srv->spare_busy || srv->nconns)
		return;
	void (*done)(void *) = srv->done;
	void *done_data = srv->done_data;
	free(srv);
	if (done)
		done(done_data);
}

static void on_conn_close(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->open_handles > 0)
		return;
	struct metrics_server *srv = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	buf_free(&c->head);
	buf_free(&c->body);
	free(c);

	accept_waiting(srv);
	maybe_finish(srv);
}

/* Idempotent. Pending write and shutdown requests are cancelled by libuv
 * (their callbacks see UV_ECANCELED) before the close callbacks run, and
 * the memory goes only when both handles' close callbacks have run. */
static void conn_close(struct conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	c->state = CONN_CLOSING;
	c->open_handles = 2;
	uv_close((uv_handle_t *)&c->tcp, on_conn_close);
	uv_close((uv_handle_t *)&c->deadline, on_conn_close);
}

/* ---- requests ---- */

static bool is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static size_t tchars(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	return i;
}

/* "METHOD SP /path SP HTTP/1.x", CRLF already removed. */
static bool parse_request_line(struct conn *c, const char *p, size_t n)
{
	static const char version[] = "HTTP/1.";
	size_t m = tchars(p, n);
	if (m == 0 || m == n || p[m] != ' ')
		return false;

	size_t start = m + 1, end = start;
	while (end < n && p[end] > ' ' && p[end] < 0x7f)
		end++;
	if (end == start || p[start] != '/' || end == n || p[end] != ' ')
		return false;

	const char *v = p + end + 1;
	size_t vlen = n - end - 1;
	if (vlen != sizeof(version) || memcmp(v, version, vlen - 1) != 0 ||
	    v[vlen - 1] < '0' || v[vlen - 1] > '9')
		return false;

	c->method_len = m;
	c->path_off = start;
	c->path_len = end - start;
	return true;
}

/* "name: value"; the value is not looked at. */
static bool valid_header(const char *p, size_t n)
{
	size_t m = tchars(p, n);
	return m > 0 && m < n && p[m] == ':';
}

/* Checks the bytes received since the last call. Returns 0 while the
 * request is incomplete, 200 once it ended well, 400 when it is bad. */
static int scan(struct conn *c)
{
	while (c->pos < c->len) {
		char ch = c->req[c->pos];
		if (ch == '\0')
			return 400;
		if (ch == '\r') {
			if (c->pos + 1 == c->len)
				return 0; /* is an LF next? ask again later */
			if (c->req[c->pos + 1] != '\n')
				return 400;
			c->pos++;
			continue;
		}
		if (ch != '\n') {
			c->pos++;
			continue;
		}
		if (c->pos == 0 || c->req[c->pos - 1] != '\r')
			return 400; /* a bare LF */

		const char *p = c->req + c->line;
		size_t n = c->pos - 1 - c->line;
		bool first = c->line == 0;
		c->pos++;
		c->line = c->pos;
		if (first) {
			if (!parse_request_line(c, p, n))
				return 400;
		} else if (n == 0) {
			return 200;
		} else if (!valid_header(p, n)) {
			return 400;
		}
	}
	return 0;
}

static bool method_is(const struct conn *c, const char *m)
{
	return c->method_len == strlen(m) && !memcmp(c->req, m, c->method_len);
}

static bool path_is(const struct conn *c, const char *path)
{
	const char *p = c->req + c->path_off;
	size_t n = c->path_len;
	const char *q = memchr(p, '?', n);
	if (q)
		n = (size_t)(q - p);
	return n == strlen(path) && !memcmp(p, path, n);
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	default:
		return "Error";
	}
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct conn *c = req->data;
	if (status < 0 || c->peer_eof)
		conn_close(c);
}

static void on_write(uv_write_t *req, int status)
{
	struct conn *c = req->data;
	if (status < 0) {
		conn_close(c);
		return;
	}
	/* The response may be large; it is not needed any more. */
	buf_free(&c->body);
	c->state = CONN_DRAINING;
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown))
		conn_close(c);
}

/* Builds the response to a request that scan() judged (200 or 400) and
 * starts writing it. */
static void respond(struct conn *c, int verdict)
{
	struct metrics_server *srv = c->srv;
	const char *type = "text/plain; charset=utf-8";
	const char *allow = "";
	bool head = false;
	int status = verdict, err = 0;

	if (verdict == 200) {
		bool metrics = path_is(c, "/metrics");
		head = method_is(c, "HEAD");
		if (!metrics && !path_is(c, "/healthz")) {
			status = 404;
		} else if (!head && !method_is(c, "GET")) {
			status = 405;
			allow = "Allow: GET, HEAD\r\n";
		} else if (metrics) {
			type = "text/plain; version=0.0.4; charset=utf-8";
			srv->fn(&c->body, srv->data);
		} else {
			err = buf_puts(&c->body, "ok\n");
		}
	}
	if (status != 200 && !err)
		err = buf_printf(&c->body, "%s\n", reason(status));
	if (!err)
		err = buf_printf(&c->head,
				 "HTTP/1.1 %d %s\r\n"
				 "Content-Type: %s\r\n"
				 "Content-Length: %zu\r\n"
				 "%s"
				 "Connection: close\r\n"
				 "\r\n",
				 status, reason(status), type, c->body.len,
				 allow);
	/* uv_buf_t lengths are unsigned int; no real scrape comes near. */
	if (err || c->body.len > UINT_MAX) {
		conn_close(c);
		return;
	}

	uv_buf_t bufs[2] = {
	    uv_buf_init(c->head.data, (unsigned)c->head.len),
	    uv_buf_init(c->body.data, (unsigned)c->body.len),
	};
	unsigned nbufs = head || c->body.len == 0 ? 1 : 2;
	c->state = CONN_WRITING;
	c->write.data = c;
	c->shutdown.data = c;
	if (uv_write(&c->write, (uv_stream_t *)&c->tcp, bufs, nbufs, on_write))
		conn_close(c);
}

/* ---- connection I/O ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	(void)suggested;
	/* While reading the request, it lands after what came before; later
	 * input is discarded, and the whole buffer serves as scratch. */
	if (c->state == CONN_READING)
		*buf = uv_buf_init(c->req + c->len,
				   (unsigned)(sizeof(c->req) - c->len));
	else
		*buf = uv_buf_init(c->req, sizeof(c->req));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	(void)buf;

	if (nread == 0 || c->state == CONN_CLOSING)
		return;
	if (nread < 0) {
		/* A client may half-close once it has sent its request; the
		 * response still goes out, then the connection closes. */
		if (nread == UV_EOF && c->state == CONN_WRITING) {
			c->peer_eof = true;
			uv_read_stop(s);
			return;
		}
		conn_close(c);
		return;
	}
	if (c->state != CONN_READING)
		return;

	c->len += (size_t)nread;
	int verdict = scan(c);
	if (verdict == 0 && c->len == sizeof(c->req))
		verdict = 400; /* too long, and still no end of headers */
	if (verdict)
		respond(c, verdict);
}

static void on_deadline(uv_timer_t *t)
{
	conn_close(t->data);
}

/* ---- accepting ---- */

static void on_spare_close(uv_handle_t *h)
{
	struct metrics_server *srv = h->data;
	srv->spare_busy = false;
	accept_waiting(srv);
	maybe_finish(srv);
}

/* Accepts into the spare handle and closes at once. If the spare is still
 * closing, the socket stays waiting until on_spare_close(). */
static void refuse(struct metrics_server *srv)
{
	if (srv->spare_busy)
		return;
	uv_tcp_init(srv->loop, &srv->spare);
	srv->spare.data = srv;
	srv->spare_busy = true;
	srv->accept_waiting = false;
	uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&srv->spare);
	uv_close((uv_handle_t *)&srv->spare, on_spare_close);
}

/* Serves the socket libuv holds for us, if there is one and a free slot.
 * libuv stops polling the listener while a socket waits for uv_accept(),
 * which is how the connection limit leaves clients in the kernel's queue;
 * this runs again whenever a slot frees. */
static void accept_waiting(struct metrics_server *srv)
{
	if (!srv->accept_waiting || srv->closing ||
	    srv->nconns >= METRICS_MAX_CONNS)
		return;

	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		log_warn("metrics: no memory for a connection, refusing it");
		refuse(srv);
		return;
	}
	/* Neither init can fail: no socket is created until accept. */
	uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->deadline);
	c->tcp.data = c;
	c->deadline.data = c;
	c->srv = srv;
	c->next = srv->conns;
	if (c->next)
		c->next->prev = c;
	srv->conns = c;
	srv->nconns++;

	srv->accept_waiting = false;
	int err =
	    uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&c->tcp);
	if (!err)
		err = uv_timer_start(&c->deadline, on_deadline, srv->timeout_ms,
				     0);
	if (!err)
		err = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	if (err) {
		log_warn("metrics: accept: %s", uv_strerror(err));
		conn_close(c);
	}
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct metrics_server *srv = listener->data;
	if (status < 0) {
		log_warn("metrics: listen: %s", uv_strerror(status));
		return;
	}
	srv->accept_waiting = true;
	accept_waiting(srv);
}

/* ---- server ---- */

static void on_listener_close(uv_handle_t *h)
{
	struct metrics_server *srv = h->data;
	srv->listening = false;
	maybe_finish(srv);
}

int metrics_server_start(uv_loop_t *loop, const struct sockaddr *addr,
			 metrics_collect_fn fn, void *data,
			 struct metrics_server **out)
{
	if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
		return -EINVAL;
	struct metrics_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->loop = loop;
	srv->fn = fn;
	srv->data = data;
	srv->timeout_ms = METRICS_TIMEOUT_MS;

	int err = uv_tcp_init(loop, &srv->listener);
	if (err) {
		free(srv);
		return err;
	}
	srv->listener.data = srv;
	srv->listening = true;

	err = uv_tcp_bind(&srv->listener, addr, 0);
	if (!err)
		err = uv_listen((uv_stream_t *)&srv->listener, LISTEN_BACKLOG,
				on_connection);
	if (err) {
		/* An initialised handle is freed only by its close callback;
		 * the caller never sees this server. */
		srv->closing = true;
		uv_close((uv_handle_t *)&srv->listener, on_listener_close);
		return err;
	}
	*out = srv;
	return 0;
}

void metrics_server_set_timeout(struct metrics_server *srv, uint64_t timeout_ms)
{
	srv->timeout_ms = timeout_ms ? timeout_ms : 1;
}

int metrics_server_address(const struct metrics_server *srv,
			   struct sockaddr_storage *ss)
{
	int len = sizeof(*ss);
	return uv_tcp_getsockname(&srv->listener, (struct sockaddr *)ss, &len);
}

unsigned metrics_server_connections(const struct metrics_server *srv)
{
	return srv->nconns;
}

void metrics_server_close(struct metrics_server *srv, void (*done)(void *),
			  void *done_data)
{
	srv->closing = true;
	srv->done = done;
	srv->done_data = done_data;
	/* Closing the listener also closes a socket waiting for accept. */
	uv_close((uv_handle_t *)&srv->listener, on_listener_close);
	for (struct conn *c = srv->conns; c; c = c->next)
		conn_close(c);
}

/* ---- exposition format ---- */

/* Escapes backslash and newline, and the double quote when asked: HELP
 * text takes the first two, label values all three. */
static int put_escaped(struct buf *out, const char *s, bool quote)
{
	int err = 0;
	for (; *s && !err; s++) {
		if (*s == '\\')
			err = buf_append(out, "\\\\", 2);
		else if (*s == '\n')
			err = buf_append(out, "\\n", 2);
		else if (*s == '"' && quote)
			err = buf_append(out, "\\\"", 2);
		else
			err = buf_putc(out, *s);
	}
	return err;
}

int metrics_family(struct buf *out, const char *name, const char *type,
		   const char *help)
{
	int err = 0;
	if (help) {
		err = buf_printf(out, "# HELP %s ", name);
		if (!err)
			err = put_escaped(out, help, false);
		if (!err)
			err = buf_putc(out, '\n');
	}
	return err ? err : buf_printf(out, "# TYPE %s %s\n", name, type);
}

int metrics_sample(struct buf *out, const char *name, const char *labels,
		   double value)
{
	int err = labels && *labels ? buf_printf(out, "%s{%s} ", name, labels)
				    : buf_printf(out, "%s ", name);
	if (err)
		return err;
	if (isnan(value))
		err = buf_puts(out, "NaN");
	else if (isinf(value))
		err = buf_puts(out, value > 0 ? "+Inf" : "-Inf");
	else
		err = buf_put_double(out, value);
	return err ? err : buf_putc(out, '\n');
}

int metrics_label_escape(struct buf *out, const char *value)
{
	return put_escaped(out, value, true);
}
