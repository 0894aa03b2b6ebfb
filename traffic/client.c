/* The strait-traffic client (client.h): the phases of a run, pacing,
 * housekeeping (expiry, reconnects, the end), the --status file and the
 * progress line. The transports are client_tcp.c and client_udp.c; the
 * counting is account.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_impl.h"
#include "log.h"

static void begin_close(struct traffic_client *cl);

/* ---- slots ---- */

void client_slot_attached(struct slot *sl)
{
	sl->io = SLOT_ACTIVE;
	sl->cl->open_handles++;
}

static void handle_gone(struct traffic_client *cl)
{
	if (--cl->open_handles > 0)
		return;
	if (cl->failed_start)
		traffic_client_free(cl);
	else if (cl->cfg.done)
		cl->cfg.done(cl->cfg.data);
}

void client_slot_closed(struct slot *sl)
{
	struct traffic_client *cl = sl->cl;
	sl->io = SLOT_FREE;
	sl->reopen_ms = uv_now(cl->loop) + TRAFFIC_RECONNECT_MS;
	handle_gone(cl);
}

static void slot_close(struct slot *sl)
{
	if (sl->io != SLOT_ACTIVE)
		return;
	sl->io = SLOT_CLOSING;
	if (sl->cl->cfg.udp)
		client_udp_close(sl);
	else
		client_tcp_close(sl);
}

void client_slot_broke(struct slot *sl)
{
	traffic_conn_fail(&sl->cl->stats, &sl->acct);
	slot_close(sl);
}

/* A runtime failure: the run ends now and reports it. */
static void fatal(struct traffic_client *cl, int err)
{
	if (cl->err == 0)
		cl->err = err;
	begin_close(cl);
}

void client_answer(struct slot *sl, const struct traffic_answer *a)
{
	int r = traffic_conn_answer(&sl->cl->stats, &sl->acct, a);
	if (r == TRAFFIC_ANSWER_MOVED) {
		slot_close(sl);
	} else if (r < 0) {
		log_error("cannot count the answer from '%.*s': %s",
			  (int)a->name_len, a->name, strerror(-r));
		fatal(sl->cl, r);
	}
}

/* Opens a new connection in a FREE slot. A failure is counted as a
 * failed connect; the slot tries again after TRAFFIC_RECONNECT_MS. */
static int slot_open(struct slot *sl, uint64_t now)
{
	struct traffic_client *cl = sl->cl;
	const struct sockaddr_storage *src = NULL;
	if (cl->cfg.n_sources)
		src = &cl->cfg.sources[sl->index % cl->cfg.n_sources];
	traffic_conn_start(&cl->stats, &sl->acct, now);
	sl->opened = true;
	int e =
	    cl->cfg.udp ? client_udp_open(sl, src) : client_tcp_open(sl, src);
	if (e < 0) {
		traffic_conn_fail(&cl->stats, &sl->acct);
		sl->reopen_ms = now + TRAFFIC_RECONNECT_MS;
		slot_close(sl);
	}
	return e;
}

/* ---- pacing ---- */

static void begin_drain(struct traffic_client *cl);

/* Takes the turns that fell due since the start: rate a second in all,
 * the slots in turn, so each connection gets rate/N. A slot that is not
 * connected lets its turn pass. After a stall (a stopped process, a loop
 * busier than the rate allows) at most one tick's worth is caught up;
 * the rest is skipped rather than sent as a burst that would keep the
 * loop from reading answers. */
static void on_pace(uv_timer_t *t)
{
	struct traffic_client *cl = t->data;
	uint64_t now = uv_now(cl->loop);
	if (cl->cfg.duration_ms && now - cl->start_ms >= cl->cfg.duration_ms) {
		begin_drain(cl);
		return;
	}
	uint64_t due = cl->cfg.rate * (now - cl->start_ms) / 1000;
	if (due <= cl->turns)
		return;
	uint64_t n = due - cl->turns;
	uint64_t cap =
	    cl->cfg.rate * TRAFFIC_TICK_MS / 1000 + cl->cfg.connections;
	if (n > cap) {
		cl->turns += n - cap;
		n = cap;
	}
	for (; n > 0 && cl->phase == PHASE_SENDING; n--) {
		struct slot *sl = &cl->slots[cl->rr];
		cl->rr = (cl->rr + 1) % cl->cfg.connections;
		cl->turns++;
		if (sl->io != SLOT_ACTIVE)
			continue;
		if (cl->cfg.udp)
			client_udp_send(sl, now);
		else
			client_tcp_send(sl, now);
	}
}

/* ---- status and progress ---- */

static uint64_t elapsed(const struct traffic_client *cl)
{
	uint64_t end =
	    cl->phase == PHASE_SENDING ? uv_now(cl->loop) : cl->stop_ms;
	return end - cl->start_ms;
}

void traffic_client_meta(const struct traffic_client *cl,
			 struct traffic_report_meta *m)
{
	m->protocol = cl->cfg.udp ? "udp" : "tcp";
	m->address = cl->cfg.address;
	m->duration_ms = elapsed(cl);
}

/* Writes FILE.tmp and renames it over FILE, so a reader never sees half
 * a report. The first failure is logged; the run goes on regardless. */
static void write_status(struct traffic_client *cl)
{
	struct traffic_report_meta m;
	char tmp[4096];
	int e = 0;

	traffic_client_meta(cl, &m);
	buf_reset(&cl->text);
	if (traffic_report_json(&cl->stats, &m, 0, &cl->text) < 0 ||
	    buf_putc(&cl->text, '\n') < 0) {
		e = ENOMEM;
		goto out;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", cl->cfg.status_path) >=
	    (int)sizeof(tmp)) {
		e = ENAMETOOLONG;
		goto out;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		e = errno;
		goto out;
	}
	size_t off = 0;
	while (off < cl->text.len) {
		ssize_t n = write(fd, cl->text.data + off, cl->text.len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 && e == 0)
		e = errno;
	if (e == 0 && rename(tmp, cl->cfg.status_path) < 0)
		e = errno;
out:
	if (e && !cl->status_warned) {
		log_warn("--status %s: %s", cl->cfg.status_path, strerror(e));
		cl->status_warned = true;
	}
}

static void show_progress(struct traffic_client *cl)
{
	struct traffic_report_meta m;
	traffic_client_meta(cl, &m);
	buf_reset(&cl->text);
	if (traffic_report_progress(&cl->stats, &m, &cl->text) < 0)
		return;
	fprintf(stderr, "\r%s\033[K", cl->text.data);
	fflush(stderr);
	cl->progress_shown = true;
}

/* ---- phases ---- */

static void begin_drain(struct traffic_client *cl)
{
	uint64_t now = uv_now(cl->loop);
	cl->phase = PHASE_DRAINING;
	cl->stop_ms = now;
	/* Every request left was sent before now, so by then each is
	 * answered or dropped. */
	cl->drain_until_ms = now + cl->cfg.timeout_ms;
	uv_timer_stop(&cl->pace);
	for (uint32_t i = 0; i < cl->cfg.connections; i++)
		cl->slots[i].owed = 0;
}

static void timer_closed(uv_handle_t *h)
{
	handle_gone(h->data);
}

static void begin_close(struct traffic_client *cl)
{
	if (cl->phase == PHASE_CLOSING)
		return;
	if (cl->phase == PHASE_SENDING)
		cl->stop_ms = uv_now(cl->loop);
	cl->phase = PHASE_CLOSING;
	if (cl->cfg.status_path && !cl->failed_start)
		write_status(cl);
	if (cl->progress_shown) {
		show_progress(cl);
		fputc('\n', stderr);
	}
	for (uint32_t i = 0; i < cl->cfg.connections; i++) {
		traffic_conn_finish(&cl->slots[i].acct);
		slot_close(&cl->slots[i]);
	}
	uv_close((uv_handle_t *)&cl->pace, timer_closed);
	uv_close((uv_handle_t *)&cl->tick, timer_closed);
}

static bool drained(const struct traffic_client *cl)
{
	for (uint32_t i = 0; i < cl->cfg.connections; i++)
		if (cl->slots[i].io == SLOT_ACTIVE &&
		    traffic_conn_in_flight(&cl->slots[i].acct) > 0)
			return false;
	return true;
}

/* Housekeeping: requests past their time are dropped (which may end
 * their connection), free slots reconnect, the phases advance. */
static void on_tick(uv_timer_t *t)
{
	struct traffic_client *cl = t->data;
	uint64_t now = uv_now(cl->loop);

	for (uint32_t i = 0; i < cl->cfg.connections; i++) {
		struct slot *sl = &cl->slots[i];
		if (sl->io == SLOT_ACTIVE) {
			if (traffic_conn_expire(&cl->stats, &sl->acct, now,
						cl->cfg.timeout_ms))
				slot_close(sl);
		} else if (sl->io == SLOT_FREE && cl->phase == PHASE_SENDING &&
			   (cl->cfg.reconnect || !sl->opened) &&
			   now >= sl->reopen_ms) {
			slot_open(sl, now);
		}
	}
	if (cl->phase == PHASE_SENDING && cl->cfg.duration_ms &&
	    now - cl->start_ms >= cl->cfg.duration_ms)
		begin_drain(cl);
	if (cl->phase == PHASE_DRAINING &&
	    (drained(cl) || now >= cl->drain_until_ms)) {
		begin_close(cl);
		return;
	}
	if (cl->cfg.status_path && now >= cl->next_status_ms) {
		write_status(cl);
		cl->next_status_ms = now + TRAFFIC_STATUS_MS;
	}
	if (cl->cfg.progress && now >= cl->next_progress_ms) {
		show_progress(cl);
		cl->next_progress_ms = now + 1000;
	}
}

/* ---- the interface ---- */

/* Room for a connection's share of the rate over one timeout, twice
 * over, so a healthy connection never waits for its window. */
static uint32_t window_for(const struct traffic_client_config *cfg)
{
	uint64_t per_conn = cfg->rate / cfg->connections + 1;
	uint64_t w = per_conn * cfg->timeout_ms / 1000 * 2 + 16;
	return w > TRAFFIC_WINDOW_MAX ? TRAFFIC_WINDOW_MAX : (uint32_t)w;
}

int traffic_client_start(uv_loop_t *loop,
			 const struct traffic_client_config *cfg,
			 struct traffic_client **out)
{
	struct traffic_client *cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	cl->loop = loop;
	cl->cfg = *cfg;
	traffic_stats_init(&cl->stats);
	cl->slots = calloc(cfg->connections, sizeof(*cl->slots));
	if (!cl->slots) {
		free(cl);
		return -ENOMEM;
	}
	uint32_t window = window_for(cfg);
	for (uint32_t i = 0; i < cfg->connections; i++) {
		struct slot *sl = &cl->slots[i];
		sl->cl = cl;
		sl->index = i;
		sl->fd = -1;
		if (traffic_conn_init(&sl->acct, window) < 0) {
			traffic_client_free(cl);
			return -ENOMEM;
		}
	}

	uv_update_time(loop);
	uint64_t now = uv_now(loop);
	cl->start_ms = now;
	cl->next_status_ms = now;
	cl->next_progress_ms = now + 1000;
	uv_timer_init(loop, &cl->pace);
	uv_timer_init(loop, &cl->tick);
	cl->pace.data = cl->tick.data = cl;
	cl->open_handles = 2;

	/* The first connection from each source shows whether the address
	 * can be used at all; a refusal comes later, from the network, and
	 * is only a failed connect. */
	size_t probes = cfg->n_sources ? cfg->n_sources : 1;
	for (uint32_t i = 0; i < cfg->connections; i++) {
		int e = slot_open(&cl->slots[i], now);
		if (e < 0 && i < probes) {
			cl->failed_start = true;
			begin_close(cl);
			return e;
		}
	}
	uint64_t pace_ms = 1000 / cfg->rate;
	if (pace_ms < 1)
		pace_ms = 1;
	if (pace_ms > TRAFFIC_TICK_MS)
		pace_ms = TRAFFIC_TICK_MS;
	uv_timer_start(&cl->pace, on_pace, pace_ms, pace_ms);
	uv_timer_start(&cl->tick, on_tick, TRAFFIC_TICK_MS, TRAFFIC_TICK_MS);
	*out = cl;
	return 0;
}

void traffic_client_stop(struct traffic_client *cl)
{
	if (cl->phase == PHASE_SENDING)
		begin_drain(cl);
	else
		begin_close(cl);
}

int traffic_client_error(const struct traffic_client *cl)
{
	return cl->err;
}

const struct traffic_stats *
traffic_client_stats(const struct traffic_client *cl)
{
	return &cl->stats;
}

void traffic_client_free(struct traffic_client *cl)
{
	if (!cl)
		return;
	for (uint32_t i = 0; i < cl->cfg.connections; i++)
		traffic_conn_free(&cl->slots[i].acct);
	free(cl->slots);
	traffic_stats_free(&cl->stats);
	buf_free(&cl->text);
	free(cl);
}
