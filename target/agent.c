/* Streams and conduits: Open and Close from the control socket, and the
 * steps that model.c decides from the facts at hand. Every event (an
 * answer, a connection up or down, a VIP change, the tick) ends with
 * tgt_step_all(), which runs the decisions until nothing changes; so no
 * handler has to know what else its news unblocks. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "net.h"

#define TICK_MS 250

static uint64_t now_ms(const struct target_agent *a)
{
	return uv_now(a->loop);
}

/* NSP's state as the steps need it: a connection that has just gone
 * counts as down even before on_state has said so. */
static enum tgt_peer nsp_peer(const struct target_agent *a)
{
	if (a->nsp_state == TGT_PEER_UP &&
	    (!a->nsp || !rpc_client_connected(a->nsp)))
		return TGT_PEER_DOWN;
	return a->nsp_state;
}

static void on_notify(uv_timer_t *t)
{
	struct target_agent *a = t->data;
	a->notify_armed = false;
	tgt_control_notify(a);
}

void tgt_changed(struct target_agent *a)
{
	a->changes++;
	if (a->notify_armed || a->tearing)
		return;
	a->notify_armed = true;
	uv_timer_start(&a->notify, on_notify, 0, 0);
}

static void on_tick(uv_timer_t *t)
{
	struct target_agent *a = t->data;
	tgt_step_all(a);
	if (a->stopping && now_ms(a) >= a->stop_deadline) {
		log_warn("stop: not everything answered within %d ms; "
			 "removing the rest without waiting",
			 TGT_STOP_MS);
		uv_stop(a->loop);
	}
}

int tgt_agent_init(struct target_agent *a)
{
	list_init(&a->trenches);
	list_init(&a->conduits);
	list_init(&a->watchers);
	a->nsp_state = TGT_PEER_UNKNOWN;
	int rc = uv_timer_init(a->loop, &a->tick);
	if (rc < 0)
		return rc;
	a->tick.data = a;
	rc = uv_timer_init(a->loop, &a->notify);
	if (rc < 0) {
		uv_close((uv_handle_t *)&a->tick, NULL);
		return rc;
	}
	a->notify.data = a;
	uv_timer_start(&a->tick, on_tick, TICK_MS, TICK_MS);
	return 0;
}

/* ---- finding and making ---- */

struct tgt_trench *tgt_trench_find(struct target_agent *a, const char *name)
{
	struct list_node *p, *tmp;
	list_for_each_safe(p, tmp, &a->trenches)
	{
		struct tgt_trench *t = list_entry(p, struct tgt_trench, node);
		if (strcmp(t->name, name) == 0)
			return t;
	}
	return NULL;
}

static struct tgt_conduit *conduit_find(struct target_agent *a,
					const char *name)
{
	struct list_node *p, *tmp;
	list_for_each_safe(p, tmp, &a->conduits)
	{
		struct tgt_conduit *c = list_entry(p, struct tgt_conduit, node);
		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

static struct tgt_stream *stream_find(struct tgt_conduit *c, const char *name)
{
	struct list_node *p, *tmp;
	list_for_each_safe(p, tmp, &c->streams)
	{
		struct tgt_stream *s = list_entry(p, struct tgt_stream, node);
		if (strcmp(s->name, name) == 0)
			return s;
	}
	return NULL;
}

static void trench_put(struct target_agent *a, struct tgt_trench *t)
{
	if (--t->users)
		return;
	tgt_nsp_unwatch(a, t);
	list_del(&t->node);
	tgt_vipset_free(&t->vips);
	if (t->streams)
		nsp__config_response__free_unpacked(t->streams, NULL);
	free(t);
}

static struct tgt_trench *trench_get(struct target_agent *a, const char *name)
{
	struct tgt_trench *t = tgt_trench_find(a, name);
	if (t) {
		t->users++;
		return t;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->a = a;
	t->users = 1;
	list_add(&a->trenches, &t->node);
	tgt_nsp_watch(a, t);
	return t;
}

/* A new conduit, DETACHED, with its slot and its proxy client. Returns
 * 0 or a negative errno with the reason in err. */
static int conduit_new(struct target_agent *a, const char *trench,
		       const char *name, struct tgt_conduit **out, char *err,
		       size_t errlen)
{
	struct tgt_conduit *c = calloc(1, sizeof(*c));
	if (!c)
		return snprintf(err, errlen, "out of memory"), -ENOMEM;
	int n = snprintf(c->proxy_path, sizeof(c->proxy_path),
			 "%s/proxy-%s.sock", a->opt->proxy_dir, name);
	if (n < 0 || (size_t)n >= sizeof(c->proxy_path)) {
		snprintf(err, errlen,
			 "the proxy's socket path %s/proxy-%s.sock is too long",
			 a->opt->proxy_dir, name);
		free(c);
		return -ENAMETOOLONG;
	}
	int slot = tgt_slot_take(&a->slots);
	if (slot < 0) {
		snprintf(err, errlen, "the pod is in %d conduits already",
			 TGT_SLOTS);
		free(c);
		return slot;
	}
	c->a = a;
	c->slot = (unsigned)slot;
	c->table = tgt_slot_table(c->slot);
	tgt_slot_ifname(c->slot, c->ifname);
	snprintf(c->name, sizeof(c->name), "%s", name);
	list_init(&c->streams);
	c->trench = trench_get(a, trench);
	if (!c->trench) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	int rc = tgt_link_start(c);
	if (rc < 0) {
		snprintf(err, errlen, "cannot start a client to %s: %s",
			 c->proxy_path, strerror(-rc));
		trench_put(a, c->trench);
		goto fail;
	}
	list_add(&a->conduits, &c->node);
	*out = c;
	return 0;
fail:
	tgt_slot_put(&a->slots, c->slot);
	free(c);
	return -ENOMEM;
}

static void conduit_free(struct tgt_conduit *c)
{
	struct target_agent *a = c->a;
	log_info("conduit %s/%s: released (table %u)", c->trench->name,
		 c->name, c->table);
	tgt_link_stop(c);
	list_del(&c->node);
	tgt_slot_put(&a->slots, c->slot);
	trench_put(a, c->trench);
	tgt_vipset_free(&c->applied);
	free(c);
}

static void open_call_gone(struct rpc_call *call, void *data)
{
	struct tgt_stream *s = data;
	(void)call;
	s->open_call = NULL;
}

static void close_call_gone(struct rpc_call *call, void *data)
{
	struct tgt_stream *s = data;
	(void)call;
	s->close_call = NULL;
}

/* ---- answers ---- */

static void reply_open(struct tgt_stream *s)
{
	if (!s->open_call)
		return;
	Target__OpenResponse r = TARGET__OPEN_RESPONSE__INIT;
	char *ips[2];
	for (size_t i = 0; i < s->c->n_ips; i++)
		ips[i] = s->c->ips[i];
	r.identifier = s->id;
	r.ips = ips;
	r.n_ips = s->c->n_ips;
	rpc_call_reply(s->open_call, &r.base);
	s->open_call = NULL;
}

/* The stream is gone: its waiting calls are answered and it is freed. */
static void stream_finish(struct tgt_stream *s)
{
	struct target_agent *a = s->c->a;
	if (s->open_call)
		rpc_call_fail(s->open_call,
			      s->fail_code ? (Rpc__Code)s->fail_code
					   : RPC__CODE__CANCELLED,
			      s->fail_reason ? s->fail_reason : "", "%s",
			      s->error[0] ? s->error : "closed");
	if (s->close_call) {
		Target__CloseResponse r = TARGET__CLOSE_RESPONSE__INIT;
		r.existed = true;
		rpc_call_reply(s->close_call, &r.base);
		a->stats.closes++;
	}
	log_info("stream %s/%s/%s: closed", s->c->trench->name, s->c->name,
		 s->name);
	list_del(&s->node);
	free(s);
	tgt_changed(a);
}

static bool conduit_needed(const struct tgt_conduit *c)
{
	struct list_node *p, *tmp;
	list_for_each_safe(p, tmp, &c->streams)
	{
		const struct tgt_stream *s =
			list_entry(p, struct tgt_stream, node);
		if (s->state != TGT_S_DONE)
			return true;
	}
	return false;
}

/* Answers and frees the streams that wait for the conduit's detach. */
static void finish_done(struct tgt_conduit *c)
{
	struct list_node *p, *tmp;
	list_for_each_safe(p, tmp, &c->streams)
	{
		struct tgt_stream *s = list_entry(p, struct tgt_stream, node);
		if (s->state == TGT_S_DONE)
			stream_finish(s);
	}
}

void tgt_stream_fail(struct tgt_stream *s, int code, const char *reason,
		     const char *fmt, ...)
{
	if (s->state != TGT_S_OPENING)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	s->fail_code = code;
	s->fail_reason = reason;
	s->state = TGT_S_CLOSING;
	s->c->a->stats.open_failures++;
	log_info("stream %s/%s/%s: open failed: %s", s->c->trench->name,
		 s->c->name, s->name, s->error);
	tgt_changed(s->c->a);
}

/* ---- the steps ---- */

static bool link_ready(const struct tgt_conduit *c)
{
	return c->state == TGT_C_ATTACHED && c->linked &&
	       c->trench->vips_synced;
}

static void stream_timeout(struct tgt_stream *s)
{
	struct tgt_conduit *c = s->c;
	struct target_agent *a = c->a;
	double secs = TGT_OPEN_MS / 1000.0;
	if (c->state != TGT_C_ATTACHED || !c->linked)
		tgt_stream_fail(s, RPC__CODE__UNAVAILABLE, "proxy_unavailable",
				"no link from the proxy at unix:%s within %g "
				"s%s%s",
				c->proxy_path, secs, c->error[0] ? ": " : "",
				c->error);
	else if (!c->trench->vips_synced)
		tgt_stream_fail(s, RPC__CODE__UNAVAILABLE, "nsp_unavailable",
				"no VIPs of trench %s from NSP at %s within %g "
				"s",
				c->trench->name, a->opt->nsp, secs);
	else
		tgt_stream_fail(s, RPC__CODE__UNAVAILABLE, "nsp_unavailable",
				"no answer to the registration from NSP at %s "
				"within %g s",
				a->opt->nsp, secs);
}

/* Runs one decision for s. Returns true when something changed (then
 * the caller runs the decisions again; s may be gone). */
static bool stream_step(struct tgt_stream *s, uint64_t now)
{
	struct tgt_conduit *c = s->c;
	struct target_agent *a = c->a;
	struct tgt_sview v = {
		.state = s->state,
		.inflight = s->inflight,
		.registered = s->registered,
		.link_ready = link_ready(c),
		.due = s->due,
		.deadline = s->deadline,
	};
	switch (tgt_stream_next(&v, nsp_peer(a), now)) {
	case TGT_SSTEP_WAIT:
		return false;
	case TGT_SSTEP_REGISTER:
		if (tgt_nsp_register(s) == 0)
			s->inflight = true;
		else if (s->state == TGT_S_OPENING)
			tgt_stream_fail(s, RPC__CODE__UNAVAILABLE,
					"nsp_unavailable",
					"cannot send the registration to NSP");
		else
			s->due = now + TGT_RETRY_MS;
		return true;
	case TGT_SSTEP_UNREGISTER:
		if (tgt_nsp_unregister(s) == 0)
			s->inflight = true;
		else
			s->registered = false; /* the lease will end it */
		return true;
	case TGT_SSTEP_FAIL_NSP:
		tgt_stream_fail(s, RPC__CODE__UNAVAILABLE, "nsp_unavailable",
				"NSP at %s is unreachable: %s", a->opt->nsp,
				a->nsp ? rpc_client_error(a->nsp) : "");
		return true;
	case TGT_SSTEP_TIMEOUT:
		stream_timeout(s);
		return true;
	case TGT_SSTEP_DONE:
		s->state = TGT_S_DONE;
		s->id = 0;
		tgt_changed(a);
		/* The last stream waits for the link to go; the others
		 * are done now. */
		if (conduit_needed(c))
			stream_finish(s);
		return true;
	}
	return false;
}

static bool fail_openers(struct tgt_conduit *c)
{
	struct list_node *p, *tmp;
	bool any = false;
	list_for_each_safe(p, tmp, &c->streams)
	{
		struct tgt_stream *s = list_entry(p, struct tgt_stream, node);
		if (s->state != TGT_S_OPENING)
			continue;
		any = true;
		tgt_stream_fail(s, RPC__CODE__UNAVAILABLE, "proxy_unavailable",
				"the proxy of conduit %s at unix:%s is "
				"unreachable: %s",
				c->name, c->proxy_path,
				rpc_client_error(c->proxy));
	}
	return any;
}

/* Runs one decision for c. Returns true when something changed (c may
 * be gone). */
static bool conduit_step(struct tgt_conduit *c, uint64_t now)
{
	if (c->inflight)
		return false;
	bool stale = c->stale && now >= c->retry_at;
	switch (tgt_conduit_next(c->state, conduit_needed(c), stale,
				 c->proxy_state)) {
	case TGT_CSTEP_WAIT:
		return false;
	case TGT_CSTEP_ATTACH:
		c->stale = false;
		if (tgt_link_attach(c) < 0) {
			c->proxy_state = TGT_PEER_DOWN;
			return true;
		}
		c->inflight = true;
		if (c->state == TGT_C_DETACHED)
			c->state = TGT_C_ATTACHING;
		return true;
	case TGT_CSTEP_DETACH:
		tgt_link_unapply(c);
		if (c->proxy_state == TGT_PEER_UP && tgt_link_detach(c) == 0) {
			c->inflight = true;
			c->state = TGT_C_DETACHING;
		} else {
			if (c->linked)
				log_warn("conduit %s/%s: the proxy is "
					 "unreachable; the link %s stays until "
					 "it detaches it",
					 c->trench->name, c->name,
					 c->link.ifname);
			tgt_conduit_detached(c);
		}
		tgt_changed(c->a);
		return true;
	case TGT_CSTEP_FAIL:
		return fail_openers(c);
	case TGT_CSTEP_FREE:
		finish_done(c);
		conduit_free(c);
		return true;
	}
	return false;
}

static bool step_once(struct target_agent *a, uint64_t now)
{
	struct list_node *p, *tmp, *q, *qtmp;
	list_for_each_safe(p, tmp, &a->conduits)
	{
		struct tgt_conduit *c = list_entry(p, struct tgt_conduit, node);
		list_for_each_safe(q, qtmp, &c->streams)
		{
			struct tgt_stream *s =
				list_entry(q, struct tgt_stream, node);
			if (stream_step(s, now))
				return true;
		}
		if (conduit_step(c, now))
			return true;
	}
	return false;
}

void tgt_step_all(struct target_agent *a)
{
	if (a->tearing)
		return;
	uint64_t now = now_ms(a);
	/* Each change is one call or one state moving forward; the bound
	 * only guards against a decision that would not settle. */
	for (int i = 0; i < 10000 && step_once(a, now); i++)
		;
	if (a->stopping && list_empty(&a->conduits)) {
		log_info("stop: every stream closed");
		uv_stop(a->loop);
	}
}

/* ---- Open and Close ---- */

static int check_key(const Target__StreamKey *k, char *err, size_t errlen)
{
	if (!k)
		return snprintf(err, errlen, "the request names no stream"),
		       -EINVAL;
	int rc = tgt_name_check("trench", k->trench, err, errlen);
	if (!rc)
		rc = tgt_name_check("conduit", k->conduit, err, errlen);
	if (!rc)
		rc = tgt_name_check("stream", k->stream, err, errlen);
	return rc;
}

void tgt_open(struct target_agent *a, struct rpc_call *call,
	      const Target__StreamKey *k)
{
	char err[320];
	if (check_key(k, err, sizeof(err)) < 0) {
		rpc_call_end(call, RPC__CODE__INVALID_ARGUMENT, "%s", err);
		return;
	}
	if (a->stopping) {
		rpc_call_end(call, RPC__CODE__UNAVAILABLE,
			     "the agent is stopping");
		return;
	}
	struct tgt_conduit *c = conduit_find(a, k->conduit);
	struct tgt_stream *s = c ? stream_find(c, k->stream) : NULL;
	if (c && strcmp(c->trench->name, k->trench) != 0) {
		rpc_call_fail(call, RPC__CODE__FAILED_PRECONDITION, "busy",
			      "conduit %s is open in trench %s already (one "
			      "proxy socket per conduit name)",
			      k->conduit, c->trench->name);
		return;
	}
	if (s && (s->state == TGT_S_OPEN || s->state == TGT_S_REREG)) {
		s->open_call = call;
		reply_open(s);
		return;
	}
	if (s) {
		rpc_call_fail(call, RPC__CODE__FAILED_PRECONDITION, "busy",
			      "stream %s/%s/%s is %s; try again", k->trench,
			      k->conduit, k->stream,
			      tgt_sstate_name(s->state));
		return;
	}
	if (!c) {
		int rc = conduit_new(a, k->trench, k->conduit, &c, err,
				     sizeof(err));
		if (rc < 0) {
			rpc_call_fail(call,
				      rc == -ENOSPC
					      ? RPC__CODE__RESOURCE_EXHAUSTED
					      : RPC__CODE__INVALID_ARGUMENT,
				      rc == -ENOSPC ? "conduits_full" : "",
				      "%s", err);
			return;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		rpc_call_end(call, RPC__CODE__RESOURCE_EXHAUSTED,
			     "out of memory");
		tgt_step_all(a); /* frees the conduit if it is new */
		return;
	}
	s->c = c;
	snprintf(s->name, sizeof(s->name), "%s", k->stream);
	s->state = TGT_S_OPENING;
	s->deadline = now_ms(a) + TGT_OPEN_MS;
	s->open_call = call;
	rpc_call_on_close(call, open_call_gone, s);
	list_add(&c->streams, &s->node);
	a->stats.opens++;
	log_info("stream %s/%s/%s: opening (conduit table %u, link %s)",
		 k->trench, k->conduit, k->stream, c->table, c->ifname);
	tgt_changed(a);
	tgt_step_all(a);
}

void tgt_stream_opened(struct tgt_stream *s)
{
	reply_open(s);
}

static void close_stream(struct tgt_stream *s, Rpc__Code code,
			 const char *why)
{
	if (s->state == TGT_S_OPENING)
		tgt_stream_fail(s, code, "", "%s", why);
	else if (s->state == TGT_S_OPEN || s->state == TGT_S_REREG)
		s->state = TGT_S_CLOSING;
}

void tgt_close(struct target_agent *a, struct rpc_call *call,
	       const Target__StreamKey *k)
{
	char err[320];
	if (check_key(k, err, sizeof(err)) < 0) {
		rpc_call_end(call, RPC__CODE__INVALID_ARGUMENT, "%s", err);
		return;
	}
	struct tgt_conduit *c = conduit_find(a, k->conduit);
	struct tgt_stream *s = c && strcmp(c->trench->name, k->trench) == 0
				       ? stream_find(c, k->stream)
				       : NULL;
	if (!s || s->close_call) {
		Target__CloseResponse r = TARGET__CLOSE_RESPONSE__INIT;
		r.existed = s != NULL;
		rpc_call_reply(call, &r.base);
		return;
	}
	log_info("stream %s/%s/%s: closing", k->trench, k->conduit, k->stream);
	s->close_call = call;
	rpc_call_on_close(call, close_call_gone, s);
	close_stream(s, RPC__CODE__CANCELLED, "closed before it was open");
	tgt_changed(a);
	tgt_step_all(a);
}

void tgt_stop(struct target_agent *a)
{
	if (a->stopping)
		return;
	a->stopping = true;
	a->stop_deadline = now_ms(a) + TGT_STOP_MS;
	struct list_node *p, *tmp, *q, *qtmp;
	list_for_each_safe(p, tmp, &a->conduits)
	{
		struct tgt_conduit *c = list_entry(p, struct tgt_conduit, node);
		list_for_each_safe(q, qtmp, &c->streams)
		{
			close_stream(list_entry(q, struct tgt_stream, node),
				     RPC__CODE__UNAVAILABLE,
				     "the agent is stopping");
		}
	}
	tgt_changed(a);
	tgt_step_all(a);
}

void tgt_agent_fini(struct target_agent *a)
{
	struct list_node *p, *tmp, *q, *qtmp;
	/* What a clean stop did not take away goes now, without waiting
	 * for anyone: routes and VIPs first, while the pod is still ours. */
	list_for_each_safe(p, tmp, &a->conduits)
	{
		tgt_link_unapply(list_entry(p, struct tgt_conduit, node));
	}
	a->tearing = true;
	list_for_each_safe(p, tmp, &a->conduits)
	{
		struct tgt_conduit *c = list_entry(p, struct tgt_conduit, node);
		list_for_each_safe(q, qtmp, &c->streams)
		{
			struct tgt_stream *s =
				list_entry(q, struct tgt_stream, node);
			if (s->open_call)
				rpc_call_fail(s->open_call,
					      RPC__CODE__UNAVAILABLE, "",
					      "the agent stopped");
			s->open_call = NULL;
			if (s->close_call)
				rpc_call_end(s->close_call,
					     RPC__CODE__UNAVAILABLE,
					     "the agent stopped before the "
					     "close was complete");
			s->close_call = NULL;
		}
	}
	/* The clients end their calls (whose callbacks see `tearing`)
	 * before the streams and conduits those calls point to go. */
	tgt_nsp_stop(a);
	list_for_each_safe(p, tmp, &a->conduits)
	{
		struct tgt_conduit *c = list_entry(p, struct tgt_conduit, node);
		tgt_link_stop(c);
		list_for_each_safe(q, qtmp, &c->streams)
		{
			struct tgt_stream *s =
				list_entry(q, struct tgt_stream, node);
			list_del(&s->node);
			free(s);
		}
		c->streams.next = c->streams.prev = &c->streams;
		conduit_free(c);
	}
	uv_close((uv_handle_t *)&a->tick, NULL);
	uv_close((uv_handle_t *)&a->notify, NULL);
}

void tgt_conduit_detached(struct tgt_conduit *c)
{
	c->state = TGT_C_DETACHED;
	c->linked = false;
	c->n_ips = 0;
	finish_done(c);
	tgt_changed(c->a);
}
