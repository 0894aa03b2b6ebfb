/* NSP, for strait-target: one client; per trench in use a VIP watch and a
 * stream watch (nsp.Configuration/WatchVip and WatchStream, trench
 * filter); per stream its registration (nsp.TargetRegistry/Register,
 * Unregister).
 *
 * A registration's key is (TARGET, trench, conduit, stream, the link's
 * addresses); the first Register asks identifier 0 and NSP gives the
 * lowest free one, every refresh asks for that identifier again. So when
 * NSP has forgotten the registration (restarted without its store, or a
 * lease that ran out while NSP was unreachable), the refresh re-creates
 * it with the same identifier; if another target took the identifier
 * meanwhile (ALREADY_EXISTS), the stream asks for 0 again and the change
 * is logged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "pbcopy.h"

/* ---- the connection ---- */

static void refresh_all_now(struct target_agent *a)
{
	struct list_node *p, *tmp, *q, *qtmp;
	list_for_each_safe(p, tmp, &a->conduits)
	{
		struct tgt_conduit *c = list_entry(p, struct tgt_conduit, node);
		list_for_each_safe(q, qtmp, &c->streams)
		{
			list_entry(q, struct tgt_stream, node)->due = 0;
		}
	}
}

static void on_state(struct rpc_client *cl, bool up, void *data)
{
	struct target_agent *a = data;
	struct list_node *p, *tmp;
	if (a->tearing)
		return;
	if (up) {
		log_info("nsp: connected to %s", a->opt->nsp);
		a->nsp_state = TGT_PEER_UP;
		list_for_each_safe(p, tmp, &a->trenches)
		{
			tgt_nsp_watch(a,
				      list_entry(p, struct tgt_trench, node));
		}
		/* After NSP restarted, a registration may be gone: the
		 * refresh puts it back at once rather than in 20 s. */
		refresh_all_now(a);
	} else {
		if (a->nsp_state == TGT_PEER_UP)
			log_warn("nsp: connection lost (%s); the routes and "
				 "VIPs stay, registrations are refreshed when "
				 "it returns",
				 rpc_client_error(cl));
		a->nsp_state = TGT_PEER_DOWN;
	}
	tgt_changed(a);
	tgt_step_all(a);
}

int tgt_nsp_start(struct target_agent *a, const struct sockaddr *addr)
{
	struct rpc_client_config cfg = {
		.timing = { a->opt->keepalive_ms, a->opt->dead_ms },
		.backoff_max_ms = 2000,
		.on_state = on_state,
		.data = a,
	};
	return rpc_client_start(a->loop, addr, &cfg, &a->nsp);
}

void tgt_nsp_stop(struct target_agent *a)
{
	if (a->nsp)
		rpc_client_close(a->nsp, NULL, NULL);
	a->nsp = NULL;
}

/* ---- the trench watches ---- */

static void on_vips(void *data, const Rpc__Status *st,
		    const ProtobufCMessage *msg)
{
	struct tgt_trench *t = data;
	struct target_agent *a = t->a;
	if (!msg) {
		t->vip_call = 0;
		rpc_warn_end("nsp", "the VIP watch ended", st);
		return;
	}
	if (a->tearing)
		return;
	const Nsp__ConfigResponse *r = (const void *)msg;
	char **texts = calloc(r->n_vips ? r->n_vips : 1, sizeof(*texts));
	struct tgt_vipset vips = { 0 };
	size_t bad = 0;
	if (!texts)
		goto oom;
	for (size_t i = 0; i < r->n_vips; i++)
		texts[i] = r->vips[i]->address;
	int rc = tgt_vipset_from_texts(texts, r->n_vips, &vips, &bad);
	free(texts);
	if (rc < 0)
		goto oom;
	if (bad)
		log_warn("nsp: trench %s: %zu VIP(s) skipped (not a host "
			 "address, or more than %d)",
			 t->name, bad, TGT_VIPS_MAX);
	log_info("nsp: trench %s: %zu VIP(s) at revision %llu", t->name,
		 vips.n, (unsigned long long)r->revision);
	tgt_vipset_free(&t->vips);
	t->vips = vips;
	t->vips_synced = true;
	struct list_node *p, *tmp;
	list_for_each_safe(p, tmp, &a->conduits)
	{
		struct tgt_conduit *c = list_entry(p, struct tgt_conduit, node);
		if (c->trench == t)
			tgt_link_apply(c);
	}
	tgt_changed(a);
	tgt_step_all(a);
	return;
oom:
	log_error("nsp: trench %s: out of memory for the VIPs", t->name);
}

static void on_streams(void *data, const Rpc__Status *st,
		       const ProtobufCMessage *msg)
{
	struct tgt_trench *t = data;
	if (!msg) {
		t->stream_call = 0;
		rpc_warn_end("nsp", "the stream watch ended", st);
		return;
	}
	if (t->a->tearing)
		return;
	Nsp__ConfigResponse *copy = (Nsp__ConfigResponse *)pb_copy(msg);
	if (!copy) {
		log_error("nsp: trench %s: out of memory for the streams",
			  t->name);
		return;
	}
	if (t->streams)
		nsp__config_response__free_unpacked(t->streams, NULL);
	t->streams = copy;
}

void tgt_nsp_watch(struct target_agent *a, struct tgt_trench *t)
{
	if (!a->nsp || !rpc_client_connected(a->nsp))
		return;
	Nsp__ConfigRequest req = NSP__CONFIG_REQUEST__INIT;
	req.trench = t->name;
	int rc = 0;
	if (!t->vip_call)
		rc = rpc_client_call(a->nsp, "nsp.Configuration/WatchVip",
				     &req.base,
				     &nsp__config_response__descriptor, on_vips,
				     t, &t->vip_call);
	if (rc == 0 && !t->stream_call)
		rc = rpc_client_call(a->nsp, "nsp.Configuration/WatchStream",
				     &req.base,
				     &nsp__config_response__descriptor,
				     on_streams, t, &t->stream_call);
	if (rc < 0)
		log_warn("nsp: cannot watch trench %s: %s", t->name,
			 strerror(-rc));
}

void tgt_nsp_unwatch(struct target_agent *a, struct tgt_trench *t)
{
	/* Cancelling ends the call at once, through its callback, which
	 * clears the id. */
	if (a->nsp && t->vip_call)
		rpc_client_cancel(a->nsp, t->vip_call);
	if (a->nsp && t->stream_call)
		rpc_client_cancel(a->nsp, t->stream_call);
	t->vip_call = t->stream_call = 0;
}

uint32_t tgt_nsp_max_targets(const struct tgt_trench *t, const char *conduit,
			     const char *stream)
{
	if (!t->streams)
		return 0;
	for (size_t i = 0; i < t->streams->n_streams; i++) {
		const Nsp__Stream *s = t->streams->streams[i];
		if (strcmp(s->name, stream) == 0 &&
		    strcmp(s->conduit, conduit) == 0)
			return s->max_targets ? s->max_targets : 100;
	}
	return 0;
}

/* ---- registrations ---- */

/* The registration of s with ips as its key and id as asked. */
struct reg_msg {
	Nsp__Target t;
	Nsp__StreamRef ref;
	Nsp__Target__ContextEntry ctx, *pctx;
	char *ips[2];
};

static void fill(struct reg_msg *m, const struct tgt_stream *s,
		 char (*ips)[CIDR_STRLEN], size_t n_ips)
{
	nsp__stream_ref__init(&m->ref);
	m->ref.trench = (char *)s->c->trench->name;
	m->ref.conduit = (char *)s->c->name;
	m->ref.stream = (char *)s->name;
	nsp__target__init(&m->t);
	m->t.type = NSP__TARGET_TYPE__TARGET;
	m->t.status = NSP__TARGET_STATUS__ENABLED;
	m->t.stream = &m->ref;
	m->t.identifier = s->renew ? 0 : s->id;
	for (size_t i = 0; i < n_ips; i++)
		m->ips[i] = ips[i];
	m->t.ips = m->ips;
	m->t.n_ips = n_ips;
	nsp__target__context_entry__init(&m->ctx);
	m->ctx.key = "pod";
	m->ctx.value = (char *)s->c->a->opt->pod;
	m->pctx = &m->ctx;
	m->t.context = &m->pctx;
	m->t.n_context = 1;
}

static bool same_key(const struct tgt_stream *s)
{
	const struct tgt_conduit *c = s->c;
	if (s->n_reg_ips != c->n_ips)
		return false;
	for (size_t i = 0; i < c->n_ips; i++)
		if (strcmp(s->reg_ips[i], c->ips[i]) != 0)
			return false;
	return true;
}

static void ignore(void *data, const Rpc__Status *st,
		   const ProtobufCMessage *msg)
{
	(void)data;
	(void)msg;
	rpc_warn_end("nsp", "unregistering the old addresses", st);
}

static void refused(struct tgt_stream *s, const Rpc__Status *st)
{
	struct tgt_conduit *c = s->c;
	struct target_agent *a = c->a;
	const char *t = c->trench->name;
	a->stats.register_refusals++;
	if (s->state == TGT_S_OPENING) {
		char text[320];
		const char *reason;
		uint32_t max = tgt_nsp_max_targets(c->trench, c->name, s->name);
		int code = tgt_register_refusal(t, c->name, s->name, st->code,
						st->message, max, &reason,
						text, sizeof(text));
		tgt_stream_fail(s, code, reason, "%s", text);
		return;
	}
	if (s->state != TGT_S_OPEN && s->state != TGT_S_REREG)
		return;
	if (st->code == RPC__CODE__UNAVAILABLE ||
	    st->code == RPC__CODE__CANCELLED) {
		s->due = 0; /* again once NSP is back */
		return;
	}
	if (st->code == RPC__CODE__ALREADY_EXISTS) {
		log_warn("stream %s/%s/%s: identifier %u was given to another "
			 "target while NSP did not hold ours (%s); asking for "
			 "a new one",
			 t, c->name, s->name, s->id, st->message);
		a->stats.id_changes++;
		s->renew = true;
		s->state = TGT_S_REREG;
		s->due = 0;
		return;
	}
	char why[sizeof(s->error)];
	if (snprintf(why, sizeof(why), "refresh refused: %s: %s",
		     rpc_code_name(st->code), st->message) < 0)
		why[0] = '\0';
	/* Said once per reason, not at every retry. */
	if (strcmp(why, s->error) != 0)
		log_warn("stream %s/%s/%s: %s; retrying every %d s", t,
			 c->name, s->name, why, TGT_RETRY_MS / 1000);
	memcpy(s->error, why, sizeof(s->error));
	s->state = TGT_S_REREG;
	s->due = uv_now(a->loop) + TGT_RETRY_MS;
}

static void registered(struct tgt_stream *s, const Nsp__RegisterResponse *r)
{
	struct tgt_conduit *c = s->c;
	struct target_agent *a = c->a;
	uint32_t id = r->target ? r->target->identifier : 0;
	const char *t = c->trench->name;
	bool renewed = s->renew;
	s->registered = true;
	s->renew = false;
	switch (s->state) {
	case TGT_S_OPENING:
		s->id = id;
		s->state = TGT_S_OPEN;
		log_info("stream %s/%s/%s: open, identifier %u", t, c->name,
			 s->name, id);
		tgt_stream_opened(s);
		break;
	case TGT_S_OPEN:
	case TGT_S_REREG:
		if (s->id != id)
			log_warn("stream %s/%s/%s: identifier %u changed to %u",
				 t, c->name, s->name, s->id, id);
		else if (renewed)
			log_info("stream %s/%s/%s: registered again with "
				 "identifier %u (free again)",
				 t, c->name, s->name, id);
		else if (r->changed)
			log_info("stream %s/%s/%s: NSP did not hold the "
				 "registration; registered again with "
				 "identifier %u",
				 t, c->name, s->name, id);
		s->id = id;
		s->state = TGT_S_OPEN;
		s->error[0] = '\0';
		break;
	default:
		s->id = id; /* closing: the Unregister follows */
		break;
	}
	s->due = uv_now(a->loop) + TGT_REFRESH_MS;
}

static void on_registered(void *data, const Rpc__Status *st,
			  const ProtobufCMessage *msg)
{
	struct tgt_stream *s = data;
	struct target_agent *a = s->c->a;
	s->inflight = false;
	if (a->tearing)
		return;
	if (msg)
		registered(s, (const Nsp__RegisterResponse *)msg);
	else
		refused(s, st);
	tgt_changed(a);
	tgt_step_all(a);
}

int tgt_nsp_register(struct tgt_stream *s)
{
	struct tgt_conduit *c = s->c;
	struct target_agent *a = c->a;
	if (!a->nsp || !rpc_client_connected(a->nsp))
		return -ENOTCONN;
	if (!c->n_ips)
		return -EINVAL;
	struct reg_msg m;
	if (s->registered && !same_key(s)) {
		/* The link's addresses changed: they are the key, so the
		 * old registration goes first (on the same connection,
		 * so before the new one) and frees the identifier. */
		fill(&m, s, s->reg_ips, s->n_reg_ips);
		Nsp__UnregisterRequest ureq = NSP__UNREGISTER_REQUEST__INIT;
		ureq.target = &m.t;
		rpc_client_call(a->nsp, "nsp.TargetRegistry/Unregister",
				&ureq.base,
				&nsp__unregister_response__descriptor, ignore,
				NULL, NULL);
		s->registered = false;
	}
	fill(&m, s, c->ips, c->n_ips);
	Nsp__RegisterRequest req = NSP__REGISTER_REQUEST__INIT;
	req.target = &m.t;
	int rc = rpc_client_call(a->nsp, "nsp.TargetRegistry/Register",
				 &req.base, &nsp__register_response__descriptor,
				 on_registered, s, NULL);
	if (rc < 0)
		return rc;
	memcpy(s->reg_ips, c->ips, sizeof(s->reg_ips));
	s->n_reg_ips = c->n_ips;
	a->stats.registers++;
	return 0;
}

static void on_unregistered(void *data, const Rpc__Status *st,
			    const ProtobufCMessage *msg)
{
	struct tgt_stream *s = data;
	struct target_agent *a = s->c->a;
	s->inflight = false;
	if (a->tearing)
		return;
	s->registered = false;
	if (msg) {
		a->stats.unregisters++;
		log_info("stream %s/%s/%s: unregistered (identifier %u)",
			 s->c->trench->name, s->c->name, s->name, s->id);
	} else {
		log_warn("stream %s/%s/%s: Unregister: %s: %s; NSP's lease "
			 "will end it",
			 s->c->trench->name, s->c->name, s->name,
			 rpc_code_name(st->code), st->message);
	}
	tgt_step_all(a);
}

int tgt_nsp_unregister(struct tgt_stream *s)
{
	struct target_agent *a = s->c->a;
	if (!a->nsp || !rpc_client_connected(a->nsp))
		return -ENOTCONN;
	struct reg_msg m;
	fill(&m, s, s->reg_ips, s->n_reg_ips);
	Nsp__UnregisterRequest req = NSP__UNREGISTER_REQUEST__INIT;
	req.target = &m.t;
	return rpc_client_call(a->nsp, "nsp.TargetRegistry/Unregister",
			       &req.base, &nsp__unregister_response__descriptor,
			       on_unregistered, s, NULL);
}
