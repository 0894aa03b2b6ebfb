/* The control socket: target.Ambassador (proto/target.proto) for the
 * open, close, status and watch commands. Open and Close are answered
 * by agent.c when their work is done; a Watch gets the whole status at
 * once and again after every change (at most once per loop turn), and a
 * watcher whose connection is congested gets only the latest status once
 * it drains. */
#include <errno.h>
#include <stdlib.h>

#include "agent.h"
#include "log.h"

struct watcher {
	struct list_node node; /* in agent->watchers */
	struct target_agent *a;
	struct rpc_call *call;
	bool waiting; /* for the connection to drain */
};

static void on_open(struct rpc_call *call, const ProtobufCMessage *m,
		    void *data)
{
	tgt_open(data, call, ((const Target__OpenRequest *)m)->stream);
}

static void on_close(struct rpc_call *call, const ProtobufCMessage *m,
		     void *data)
{
	tgt_close(data, call, ((const Target__CloseRequest *)m)->stream);
}

static void on_status(struct rpc_call *call, const ProtobufCMessage *m,
		      void *data)
{
	struct tgt_status st;
	(void)m;
	if (tgt_status_build(data, &st) < 0)
		rpc_call_end(call, RPC__CODE__RESOURCE_EXHAUSTED,
			     "out of memory for the status");
	else
		rpc_call_reply(call, &st.msg.base);
	tgt_status_free(&st);
}

static void send_status(struct watcher *w);

static void drained(struct rpc_call *call, void *data)
{
	struct watcher *w = data;
	(void)call;
	w->waiting = false;
	send_status(w);
}

static void send_status(struct watcher *w)
{
	if (w->waiting)
		return;
	if (rpc_call_congested(w->call)) {
		w->waiting = true;
		rpc_call_on_drain(w->call, drained);
		return;
	}
	struct tgt_status st;
	if (tgt_status_build(w->a, &st) == 0)
		rpc_call_send(w->call, &st.msg.base);
	else
		log_warn("control: out of memory for a watcher's status");
	tgt_status_free(&st);
}

static void watcher_gone(struct rpc_call *call, void *data)
{
	struct watcher *w = data;
	(void)call;
	list_del(&w->node);
	free(w);
}

static void on_watch(struct rpc_call *call, const ProtobufCMessage *m,
		     void *data)
{
	struct target_agent *a = data;
	(void)m;
	struct watcher *w = calloc(1, sizeof(*w));
	if (!w) {
		rpc_call_end(call, RPC__CODE__RESOURCE_EXHAUSTED,
			     "out of memory for a watcher");
		return;
	}
	w->a = a;
	w->call = call;
	list_add(&a->watchers, &w->node);
	rpc_call_on_close(call, watcher_gone, w);
	send_status(w);
}

void tgt_control_notify(struct target_agent *a)
{
	struct list_node *p, *tmp;
	list_for_each_safe(p, tmp, &a->watchers)
	{
		send_status(list_entry(p, struct watcher, node));
	}
}

static const struct rpc_method methods[] = {
	{ "target.Ambassador/Open", &target__open_request__descriptor, on_open,
	  false },
	{ "target.Ambassador/Close", &target__close_request__descriptor,
	  on_close, false },
	{ "target.Ambassador/Status", &target__status_request__descriptor,
	  on_status, false },
	{ "target.Ambassador/Watch", &target__status_request__descriptor,
	  on_watch, true },
};

int tgt_control_start(struct target_agent *a, const struct sockaddr *addr)
{
	struct rpc_server_config cfg = {
		.methods = methods,
		.n_methods = sizeof(methods) / sizeof(methods[0]),
		.data = a,
		.timing = { a->opt->keepalive_ms, a->opt->dead_ms },
		.max_conns = 64,
	};
	return rpc_server_start(a->loop, addr, &cfg, &a->control);
}

void tgt_control_stop(struct target_agent *a)
{
	/* Watchers hear that the agent goes, rather than a lost
	 * connection. */
	struct list_node *p, *tmp;
	list_for_each_safe(p, tmp, &a->watchers)
	{
		struct watcher *w = list_entry(p, struct watcher, node);
		rpc_call_end(w->call, RPC__CODE__UNAVAILABLE,
			     "the agent is stopping");
		list_del(&w->node);
		free(w);
	}
	if (a->control)
		rpc_server_close(a->control, NULL, NULL);
	a->control = NULL;
}
