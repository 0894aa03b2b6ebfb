/* What the LB learns from NSP: its trench's configuration (one WatchAll,
 * which sends the whole filtered configuration on every change) and the
 * targets of its trench and conduit (TargetRegistry/Watch: a snapshot, then
 * events). Both resume after a lost connection; meanwhile the last view
 * stays in force, so an NSP restart disturbs no traffic. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "log.h"
#include "pbcopy.h"

void lb_target_free(struct lb_target *t)
{
	if (!t)
		return;
	free(t->key);
	free(t->stream);
	for (size_t i = 0; i < t->n_ips; i++)
		free(t->ips[i]);
	free(t->ips);
	free(t);
}

static void on_config(void *data, const Rpc__Status *st,
		      const ProtobufCMessage *msg)
{
	struct lb *lb = data;
	if (!msg) {
		rpc_warn_end("nsp", "the configuration watch ended", st);
		return;
	}
	Nsp__ConfigResponse *copy = (Nsp__ConfigResponse *)pb_copy(msg);
	if (!copy) {
		log_error("nsp: out of memory for the configuration");
		return;
	}
	if (lb->config)
		nsp__config_response__free_unpacked(lb->config, NULL);
	lb->config = copy;
	log_info("nsp: configuration revision %llu: %zu stream(s), %zu "
		 "flow(s), %zu VIP(s)",
		 (unsigned long long)copy->revision, copy->n_streams,
		 copy->n_flows, copy->n_vips);
	lb_schedule(lb);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A target from an event, with its key; NULL when it is none of ours or
 * memory is short. */
static struct lb_target *target_new(const Nsp__Target *m)
{
	if (!m->stream || !m->stream->stream[0] || m->n_ips == 0)
		return NULL;
	struct lb_target *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ips = calloc(m->n_ips, sizeof(*t->ips));
	t->stream = strdup(m->stream->stream);
	if (!t->ips || !t->stream)
		goto fail;
	for (size_t i = 0; i < m->n_ips; i++) {
		if (!(t->ips[i] = strdup(m->ips[i])))
			goto fail;
		t->n_ips++;
		struct cidr c;
		if (cidr_parse(m->ips[i], &c) < 0)
			continue;
		int f = c.family == AF_INET6;
		if (!t->addr[f].family)
			t->addr[f] = c;
	}
	qsort(t->ips, t->n_ips, sizeof(*t->ips), cmp_str);
	size_t len = strlen(t->stream) + 2;
	for (size_t i = 0; i < t->n_ips; i++)
		len += strlen(t->ips[i]) + 1;
	if (!(t->key = malloc(len)))
		goto fail;
	char *p = t->key + sprintf(t->key, "%s|", t->stream);
	for (size_t i = 0; i < t->n_ips; i++)
		p += sprintf(p, "%s%s", i ? "," : "", t->ips[i]);
	t->id = m->identifier;
	t->enabled = m->status != NSP__TARGET_STATUS__DISABLED;
	return t;
fail:
	lb_target_free(t);
	return NULL;
}

/* t replaces old with the same identifier: t takes over old's rule and
 * table, so the target is never unrouted in between. */
static void inherit(struct lb_target *t, struct lb_target *old)
{
	t->mark = old->mark;
	memcpy(t->routed, old->routed, sizeof(t->routed));
	t->ready = old->ready;
	old->mark = 0; /* its routes are t's now */
}

static ssize_t find(struct lb_target **v, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i]->key, key) == 0)
			return (ssize_t)i;
	return -1;
}

/* Puts t into the set (v, n), replacing a target of the same key but
 * keeping its routing state when its mark can stay. */
static int put(struct lb *lb, struct lb_target ***v, size_t *n,
	       struct lb_target *t)
{
	ssize_t i = find(*v, *n, t->key);
	if (i >= 0) {
		struct lb_target *old = (*v)[i];
		if (old->id == t->id && old->mark)
			inherit(t, old);
		lb_target_gone(lb, old);
		(*v)[i] = t;
		return 0;
	}
	struct lb_target **nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[(*n)++] = t;
	return 0;
}

static void take(struct lb_target **v, size_t *n, size_t i)
{
	v[i] = v[--*n];
}

static void clear_pending(struct lb *lb)
{
	for (size_t i = 0; i < lb->n_pending; i++)
		lb_target_free(lb->pending[i]);
	free(lb->pending);
	lb->pending = NULL;
	lb->n_pending = 0;
}

/* A complete snapshot replaces the view: targets kept keep their routes,
 * the others go (apply.c unroutes them once no plane uses them). */
static void adopt_snapshot(struct lb *lb)
{
	for (size_t i = 0; i < lb->n_pending; i++) {
		struct lb_target *t = lb->pending[i];
		ssize_t j = find(lb->targets, lb->n_targets, t->key);
		if (j >= 0 && lb->targets[j]->id == t->id)
			inherit(t, lb->targets[j]);
	}
	for (size_t i = 0; i < lb->n_targets; i++)
		lb_target_gone(lb, lb->targets[i]);
	free(lb->targets);
	lb->targets = lb->pending;
	lb->n_targets = lb->n_pending;
	lb->pending = NULL;
	lb->n_pending = 0;
}

static void apply_event(struct lb *lb, const Nsp__TargetEvent *ev)
{
	struct lb_target *t = ev->target ? target_new(ev->target) : NULL;
	if (!t)
		return;
	struct lb_target ***v = lb->in_snapshot ? &lb->pending : &lb->targets;
	size_t *n = lb->in_snapshot ? &lb->n_pending : &lb->n_targets;
	if (ev->kind == NSP__TARGET_EVENT__KIND__REMOVED) {
		ssize_t i = find(*v, *n, t->key);
		if (i >= 0) {
			lb_target_gone(lb, (*v)[i]);
			take(*v, n, (size_t)i);
		}
		lb_target_free(t);
		return;
	}
	if (put(lb, v, n, t) < 0) {
		log_error("nsp: out of memory for a target");
		lb_target_free(t);
	}
}

static void on_targets(void *data, const Rpc__Status *st,
		       const ProtobufCMessage *msg)
{
	struct lb *lb = data;
	if (!msg) {
		rpc_warn_end("nsp", "the target watch ended", st);
		lb->in_snapshot = false;
		clear_pending(lb);
		return;
	}
	const Nsp__TargetWatchResponse *m = (const void *)msg;
	if (m->reset) {
		clear_pending(lb);
		lb->in_snapshot = true;
	}
	for (size_t i = 0; i < m->n_events; i++)
		apply_event(lb, m->events[i]);
	lb->targets_store = m->store_id;
	if (m->synced) {
		bool was_snapshot = lb->in_snapshot;
		if (lb->in_snapshot) {
			adopt_snapshot(lb);
			lb->in_snapshot = false;
		}
		lb->targets_revision = m->revision;
		if (!lb->targets_synced || was_snapshot)
			log_info("nsp: %zu target(s) at revision %llu",
				 lb->n_targets,
				 (unsigned long long)m->revision);
		lb->targets_synced = true;
		lb_schedule(lb);
	}
}

static void on_state(struct rpc_client *c, bool up, void *data)
{
	struct lb *lb = data;
	if (!up) {
		if (lb->targets_synced)
			log_warn("nsp: connection lost (%s); keeping the last "
				 "configuration and targets",
				 rpc_client_error(c));
		return;
	}
	log_info("nsp: connected");
	lb_frontend_register(lb);
	Nsp__ConfigRequest creq = NSP__CONFIG_REQUEST__INIT;
	creq.trench = (char *)lb->opt->trench;
	creq.conduit = (char *)(lb->opt->conduit ? lb->opt->conduit : "");
	int rc = rpc_client_call(c, "nsp.Configuration/WatchAll", &creq.base,
				 &nsp__config_response__descriptor, on_config,
				 lb, NULL);
	if (rc < 0)
		log_warn("nsp: cannot watch the configuration: %s",
			 strerror(-rc));

	Nsp__StreamRef ref = NSP__STREAM_REF__INIT;
	ref.trench = creq.trench;
	ref.conduit = creq.conduit;
	Nsp__TargetFilter filter = NSP__TARGET_FILTER__INIT;
	filter.type = NSP__TARGET_TYPE__TARGET;
	filter.stream = &ref;
	Nsp__TargetWatchRequest treq = NSP__TARGET_WATCH_REQUEST__INIT;
	treq.filter = &filter;
	treq.from_revision = lb->targets_revision;
	treq.store_id = lb->targets_store;
	rc = rpc_client_call(c, "nsp.TargetRegistry/Watch", &treq.base,
			     &nsp__target_watch_response__descriptor,
			     on_targets, lb, NULL);
	if (rc < 0)
		log_warn("nsp: cannot watch targets: %s", strerror(-rc));
}

int lb_nsp_start(struct lb *lb, const struct sockaddr *addr)
{
	struct rpc_client_config cfg = {
		.timing = { lb->opt->keepalive_ms, lb->opt->dead_ms },
		.on_state = on_state,
		.data = lb,
	};
	return rpc_client_start(lb->loop, addr, &cfg, &lb->nsp);
}

void lb_nsp_stop(struct lb *lb)
{
	if (lb->nsp)
		rpc_client_close(lb->nsp, NULL, NULL);
	lb->nsp = NULL;
	clear_pending(lb);
	for (size_t i = 0; i < lb->n_targets; i++)
		lb_target_free(lb->targets[i]);
	free(lb->targets);
	lb->targets = NULL;
	lb->n_targets = 0;
	if (lb->config)
		nsp__config_response__free_unpacked(lb->config, NULL);
	lb->config = NULL;
}
