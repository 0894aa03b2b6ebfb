/* The LB's own registration in NSP (--register): type FRONTEND in its
 * trench and conduit, with its addresses on the conduit's network and, with
 * --netns, the path of its network namespace in the context (docs/proxy.md:
 * the node proxies put the LB's end of their links there). Registered when
 * NSP connects, refreshed every LB_FRONTEND_REFRESH_MS (a third of NSP's
 * default lease), unregistered on a clean stop so that proxies drop the LB
 * from their egress routes at once rather than at the lease's end. */
#include <errno.h>
#include <string.h>

#include "lb.h"
#include "log.h"
#include "nsp_client.h"

#define LB_FRONTEND_REFRESH_MS 20000
#define LB_FRONTEND_BYE_MS 1000

static void fill(const struct lb *lb, Nsp__Target *t, Nsp__StreamRef *ref,
		 Nsp__Target__ContextEntry *ctx, Nsp__Target__ContextEntry **pctx)
{
	nsp__stream_ref__init(ref);
	ref->trench = (char *)lb->opt->trench;
	ref->conduit = (char *)lb->opt->conduit;
	nsp__target__init(t);
	t->type = NSP__TARGET_TYPE__FRONTEND;
	t->stream = ref;
	t->ips = (char **)lb->opt->register_ips;
	t->n_ips = lb->opt->n_register_ips;
	if (lb->opt->netns) {
		nsp__target__context_entry__init(ctx);
		ctx->key = "netns";
		ctx->value = (char *)lb->opt->netns;
		*pctx = ctx;
		t->context = pctx;
		t->n_context = 1;
	}
}

static void on_registered(void *data, const Rpc__Status *st,
			  const ProtobufCMessage *msg)
{
	struct lb *lb = data;
	if (msg) {
		if (!lb->registered)
			log_info("nsp: registered as a frontend of %s/%s",
				 lb->opt->trench, lb->opt->conduit);
		lb->registered = true;
	} else {
		rpc_warn_end("nsp", "frontend registration refused", st);
	}
}

void lb_frontend_register(struct lb *lb)
{
	if (!lb->opt->n_register_ips || !lb->nsp ||
	    !rpc_client_connected(lb->nsp))
		return;
	Nsp__Target t;
	Nsp__StreamRef ref;
	Nsp__Target__ContextEntry ctx, *pctx;
	fill(lb, &t, &ref, &ctx, &pctx);
	Nsp__RegisterRequest req = NSP__REGISTER_REQUEST__INIT;
	req.target = &t;
	int rc = rpc_client_call(lb->nsp, "nsp.TargetRegistry/Register",
				 &req.base, &nsp__register_response__descriptor,
				 on_registered, lb, NULL);
	if (rc < 0)
		log_warn("nsp: cannot register as a frontend: %s", strerror(-rc));
}

static void on_refresh(uv_timer_t *t)
{
	lb_frontend_register(t->data);
}

void lb_frontend_start(struct lb *lb)
{
	uv_timer_init(lb->loop, &lb->frontend_timer);
	lb->frontend_timer.data = lb;
	if (lb->opt->n_register_ips)
		uv_timer_start(&lb->frontend_timer, on_refresh,
			       LB_FRONTEND_REFRESH_MS, LB_FRONTEND_REFRESH_MS);
}

/* Unregisters (waiting up to LB_FRONTEND_BYE_MS for the answer, running
 * the loop) and closes the timer. */
void lb_frontend_stop(struct lb *lb)
{
	uv_timer_stop(&lb->frontend_timer);
	if (lb->registered) {
		Nsp__Target t;
		Nsp__StreamRef ref;
		Nsp__Target__ContextEntry ctx, *pctx;
		fill(lb, &t, &ref, &ctx, &pctx);
		nsp_unregister_wait(lb->nsp, &t, LB_FRONTEND_BYE_MS,
				    " as a frontend");
	}
	uv_close((uv_handle_t *)&lb->frontend_timer, NULL);
}
