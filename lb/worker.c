/* Queue threads. See worker.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <uv.h>

#include "log.h"

#include "worker.h"

/* Timer tick for expiring table entries; entries are also checked at
 * lookup, so this only bounds how long memory stays taken. */
#define TICK_MS 250
#define EXPIRE_BUDGET 4096

struct lb_worker {
	struct lb_shared *shared;
	uint16_t queue;
	pthread_t thread;
	bool started;
	uv_loop_t loop;
	uv_poll_t poll;
	uv_timer_t tick;
	uv_async_t stop;
	struct lb_nfq *nfq;
	struct conntab *conns; /* NULL: --no-conntab */
	struct fragtab *frags;

	_Atomic unsigned in;
	_Atomic uint64_t epoch;
	struct lb_plane *plane; /* during a batch */
	uint64_t now_ms;

	struct lb_worker_stats stats;
	_Atomic uint64_t *marks; /* mark_span counters */
	pthread_mutex_t snap_lock;
	struct lb_nfq_stats snap_nfq;
	struct conntab_stats snap_conns;
	struct fragtab_stats snap_frags;
};

const char *lb_drop_reason_name(enum lb_drop_reason r)
{
	static const char *const names[LB_DROP_NCOUNT] = {
		[LB_DROP_MALFORMED] = "malformed",
		[LB_DROP_NO_FLOW] = "no_flow",
		[LB_DROP_NO_TARGET] = "no_target",
		[LB_DROP_FRAG_REFUSED] = "fragment_refused",
		[LB_DROP_FRAG_TIMEOUT] = "fragment_timeout",
	};
	return r < LB_DROP_NCOUNT ? names[r] : "unknown";
}

const char *lb_placed_name(enum lb_placed p)
{
	static const char *const names[LB_PLACED_NCOUNT] = {
		[LB_PLACED_CONNTAB] = "connection_table",
		[LB_PLACED_MAGLEV] = "maglev",
		[LB_PLACED_FRAGMENT] = "fragment",
		[LB_PLACED_ICMP_ERROR] = "icmp_error",
	};
	return p < LB_PLACED_NCOUNT ? names[p] : "unknown";
}

static uint64_t load(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

uint64_t lb_worker_mark_total(struct lb_worker *const *w, size_t n,
			      uint32_t mark)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += lb_worker_mark_packets(w[i], mark);
	return sum;
}

void lb_worker_totals(struct lb_worker *const *w, size_t n,
		      struct lb_totals *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		const struct lb_worker_stats *s = &w[i]->stats;
		out->accepted += load(&s->accepted);
		for (int d = 0; d < LB_DROP_NCOUNT; d++)
			out->dropped[d] += load(&s->dropped[d]);
		out->placed[LB_PLACED_CONNTAB] += load(&s->conn_hits);
		out->placed[LB_PLACED_MAGLEV] += load(&s->maglev);
		out->placed[LB_PLACED_FRAGMENT] += load(&s->frag_follow);
		out->placed[LB_PLACED_ICMP_ERROR] += load(&s->icmp_errors);
	}
}

static void bump(_Atomic uint64_t *c)
{
	/* Only this thread writes: a load and a store, no locked add. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static void drop(struct lb_worker *w, uint32_t id, enum lb_drop_reason r)
{
	bump(&w->stats.dropped[r]);
	lb_nfq_verdict(w->nfq, id, NF_DROP, 0);
}

static void accept_mark(struct lb_worker *w, uint32_t id, uint32_t mark)
{
	bump(&w->stats.accepted);
	uint32_t i = mark - w->shared->mark_base;
	if (i < w->shared->mark_span)
		bump(&w->marks[i]);
	lb_nfq_verdict(w->nfq, id, NF_ACCEPT, mark);
}

/* The fragment table gives back held packets it will not release. */
static void frag_drop(void *ctx, uint32_t packet_id)
{
	drop(ctx, packet_id, LB_DROP_FRAG_TIMEOUT);
}

/* A fragment after the first: it follows its datagram, or waits. */
static void place_fragment(struct lb_worker *w, uint32_t id,
			   const struct pkt *p)
{
	struct frag_key k;
	uint32_t mark;
	frag_key_from_packet(&k, p);
	switch (fragtab_rest(w->frags, &k, id, w->now_ms, &mark, NULL)) {
	case FRAG_FORWARD:
		bump(&w->stats.frag_follow);
		accept_mark(w, id, mark);
		break;
	case FRAG_HELD:
		break;
	case FRAG_REFUSED:
		drop(w, id, LB_DROP_FRAG_REFUSED);
		break;
	}
}

/* The target of a packet whose flow's stream is s: the connection table's
 * when it knows the connection and the target is still there, else
 * Maglev's (remembered). 0 when the stream has no target. */
static uint32_t pick(struct lb_worker *w, const struct lb_plane_stream *s,
		     const struct pkt *p)
{
	struct conn_key k;
	uint32_t target, uid;
	conn_key_from_packet(&k, p);
	if (w->conns) {
		if (conntab_lookup(w->conns, &k, w->now_ms, &target, &uid) ==
			0 &&
		    uid == s->uid && lb_plane_target_live(s, target)) {
			bump(&w->stats.conn_hits);
			return target;
		}
	}
	target = maglev_lookup(s->table, lb_flow_hash(p));
	if (target) {
		bump(&w->stats.maglev);
		/* An ICMP error is not a connection of its own. */
		if (w->conns && !p->icmp_error)
			conntab_insert(w->conns, &k, target, s->uid,
					  w->now_ms);
	}
	return target;
}

/* An ICMP error no flow takes (its flow has byte matches the error cannot
 * show): the connection table may still know the connection. */
static uint32_t pick_known(struct lb_worker *w, const struct pkt *p,
			   const struct lb_plane_stream **sp)
{
	struct conn_key k;
	uint32_t target, uid;
	if (!w->conns)
		return 0;
	conn_key_from_packet(&k, p);
	if (conntab_lookup(w->conns, &k, w->now_ms, &target, &uid) < 0)
		return 0;
	const struct lb_plane_stream *s = lb_plane_stream_by_uid(w->plane, uid);
	if (!s || !lb_plane_target_live(s, target))
		return 0;
	*sp = s;
	return target;
}

static int on_packet(void *data, const struct lb_nfq_packet *np)
{
	struct lb_worker *w = data;
	struct pkt p;
	if (pkt_parse(np->payload, np->len, &p) < 0) {
		drop(w, np->id, LB_DROP_MALFORMED);
		return 0;
	}
	if (p.fragment && !p.first_fragment) {
		place_fragment(w, np->id, &p);
		return 0;
	}
	const struct lb_plane *pl = w->plane;
	const struct lb_flow *fl = pl ? lb_flows_classify(pl->flows, &p) : NULL;
	const struct lb_plane_stream *s = fl ? lb_plane_flow_stream(pl, fl) : NULL;
	uint32_t target = 0;
	if (s) {
		__atomic_fetch_add(lb_flow_counter(fl), 1, __ATOMIC_RELAXED);
		target = pick(w, s, &p);
	} else if (pl && p.icmp_error) {
		target = pick_known(w, &p, &s);
	}
	if (!s) {
		drop(w, np->id, LB_DROP_NO_FLOW);
		return 0;
	}
	if (!target) {
		drop(w, np->id, LB_DROP_NO_TARGET);
		return 0;
	}
	if (p.icmp_error)
		bump(&w->stats.icmp_errors);
	uint32_t mark = s->offset + target;
	if (p.fragment) {
		struct frag_key k;
		uint32_t released[FRAG_HOLD_MAX];
		frag_key_from_packet(&k, &p);
		size_t n = fragtab_first(w->frags, &k, mark, s->uid,
					    w->now_ms, released);
		for (size_t i = 0; i < n; i++) {
			bump(&w->stats.frag_follow);
			accept_mark(w, released[i], mark);
		}
	}
	accept_mark(w, np->id, mark);
	return 0;
}

static void snapshot(struct lb_worker *w)
{
	pthread_mutex_lock(&w->snap_lock);
	lb_nfq_stats(w->nfq, &w->snap_nfq);
	if (w->conns)
		conntab_stats(w->conns, &w->snap_conns);
	fragtab_stats(w->frags, &w->snap_frags);
	pthread_mutex_unlock(&w->snap_lock);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct lb_worker *w = h->data;
	(void)events;
	if (status < 0) {
		log_warn("queue %u: poll: %s", w->queue, uv_strerror(status));
		return;
	}
	w->now_ms = uv_now(&w->loop);
	atomic_store(&w->in, 1);
	w->plane = atomic_load(&w->shared->plane);
	int rc = lb_nfq_receive(w->nfq, on_packet, w);
	if (rc < 0 && rc != -EAGAIN)
		log_debug("queue %u: receive: %s", w->queue, strerror(-rc));
	lb_nfq_flush(w->nfq);
	w->plane = NULL;
	atomic_store(&w->in, 0);
	atomic_fetch_add(&w->epoch, 1);
}

static void on_tick(uv_timer_t *t)
{
	struct lb_worker *w = t->data;
	uint64_t now = uv_now(&w->loop);
	if (w->conns)
		conntab_expire(w->conns, now, EXPIRE_BUDGET);
	if (fragtab_expire(w->frags, now))
		lb_nfq_flush(w->nfq); /* the drops of timed-out fragments */
	snapshot(w);
}

static void on_stop(uv_async_t *a)
{
	struct lb_worker *w = a->data;
	uv_close((uv_handle_t *)&w->poll, NULL);
	uv_close((uv_handle_t *)&w->tick, NULL);
	uv_close((uv_handle_t *)&w->stop, NULL);
}

static void *run(void *arg)
{
	struct lb_worker *w = arg;
	char name[16];
	snprintf(name, sizeof(name), "lb-queue-%u", w->queue);
	pthread_setname_np(pthread_self(), name);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	return NULL;
}

uint16_t lb_worker_queue(const struct lb_worker *w)
{
	return w->queue;
}

const struct lb_worker_stats *lb_worker_stats(const struct lb_worker *w)
{
	return &w->stats;
}

void lb_worker_snapshot(const struct lb_worker *w, struct lb_nfq_stats *nfq,
			struct conntab_stats *conns,
			struct fragtab_stats *frags)
{
	struct lb_worker *mw = (struct lb_worker *)w;
	pthread_mutex_lock(&mw->snap_lock);
	if (nfq)
		*nfq = w->snap_nfq;
	if (conns)
		*conns = w->snap_conns;
	if (frags)
		*frags = w->snap_frags;
	pthread_mutex_unlock(&mw->snap_lock);
}

uint64_t lb_worker_mark_packets(const struct lb_worker *w, uint32_t mark)
{
	uint32_t i = mark - w->shared->mark_base;
	if (mark < w->shared->mark_base || i >= w->shared->mark_span)
		return 0;
	return atomic_load_explicit(&w->marks[i], memory_order_relaxed);
}

uint64_t lb_worker_epoch(const struct lb_worker *w)
{
	return atomic_load(&((struct lb_worker *)w)->epoch);
}

bool lb_worker_quiescent_since(const struct lb_worker *w, uint64_t epoch)
{
	struct lb_worker *mw = (struct lb_worker *)w;
	return atomic_load(&mw->in) == 0 || atomic_load(&mw->epoch) != epoch;
}

static void destroy(struct lb_worker *w)
{
	fragtab_destroy(w->frags); /* drops what it holds */
	if (w->nfq)
		lb_nfq_flush(w->nfq);
	conntab_destroy(w->conns);
	lb_nfq_close(w->nfq);
	free(w->marks);
	pthread_mutex_destroy(&w->snap_lock);
	free(w);
}

int lb_worker_start(struct lb_shared *shared,
		    const struct lb_worker_config *cfg, struct lb_worker **out,
		    char *err, size_t errlen)
{
	struct lb_worker *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->shared = shared;
	w->queue = cfg->queue;
	pthread_mutex_init(&w->snap_lock, NULL);
	int rc = -ENOMEM;
	w->marks = calloc(shared->mark_span, sizeof(*w->marks));
	if (!w->marks)
		goto fail_nomem;

	uint64_t seeds[2] = { 0, 0 };
	if (getrandom(seeds, sizeof(seeds), 0) != sizeof(seeds))
		seeds[0] = (uintptr_t)w, seeds[1] = ~(uintptr_t)w;
	if (cfg->conntab) {
		struct conntab_config cc = cfg->conns;
		cc.seed = seeds[0];
		rc = conntab_create(&cc, &w->conns);
		if (rc < 0)
			goto fail_nomem;
	}
	struct fragtab_config fc = cfg->frags;
	fc.seed = seeds[1];
	fc.drop = frag_drop;
	fc.ctx = w;
	rc = fragtab_create(&fc, &w->frags);
	if (rc < 0)
		goto fail_nomem;

	rc = lb_nfq_open(cfg->queue, &cfg->nfq, &w->nfq, err, errlen);
	if (rc < 0)
		goto fail;
	snapshot(w);

	uv_loop_init(&w->loop);
	uv_poll_init(&w->loop, &w->poll, lb_nfq_fd(w->nfq));
	w->poll.data = w;
	uv_poll_start(&w->poll, UV_READABLE, on_readable);
	uv_timer_init(&w->loop, &w->tick);
	w->tick.data = w;
	uv_timer_start(&w->tick, on_tick, TICK_MS, TICK_MS);
	uv_async_init(&w->loop, &w->stop, on_stop);
	w->stop.data = w;
	rc = -pthread_create(&w->thread, NULL, run, w);
	if (rc < 0) {
		snprintf(err, errlen, "cannot start a thread: %s", strerror(-rc));
		on_stop(&w->stop);
		uv_run(&w->loop, UV_RUN_DEFAULT);
		uv_loop_close(&w->loop);
		goto fail;
	}
	w->started = true;
	*out = w;
	return 0;
fail_nomem:
	snprintf(err, errlen, "out of memory for queue %u's tables", cfg->queue);
fail:
	destroy(w);
	return rc;
}

void lb_worker_stop(struct lb_worker *w)
{
	if (!w)
		return;
	if (w->started) {
		uv_async_send(&w->stop);
		pthread_join(w->thread, NULL);
		if (uv_loop_close(&w->loop) != 0)
			log_warn("queue %u: a handle was left open", w->queue);
	}
	destroy(w);
}
