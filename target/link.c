/* A conduit's proxy and what hangs on the link it gives: the client to
 * the proxy's local socket, Attach and Detach (proto/proxy.proto), and
 * the routes, rules and VIPs put in place through net.c.
 *
 * The proxy may restart under an attached conduit. Its links stay, so
 * traffic goes on; when the client connects again the conduit is stale
 * and Attaches again, which the proxy answers with the same link
 * (Attach is idempotent by pod name), and the routes are replaced in
 * case the link was re-created meanwhile (its routes would be gone). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "net.h"
#include "proxy.pb-c.h"

#define REATTACH_RETRY_MS 2000

static void on_state(struct rpc_client *cl, bool up, void *data)
{
	struct tgt_conduit *c = data;
	if (c->a->tearing)
		return;
	if (up) {
		log_info("conduit %s/%s: connected to the proxy at unix:%s",
			 c->trench->name, c->name, c->proxy_path);
		if (c->state == TGT_C_ATTACHED) {
			c->stale = true;
			c->retry_at = 0;
		}
		c->proxy_state = TGT_PEER_UP;
		c->error[0] = '\0';
	} else {
		if (c->proxy_state == TGT_PEER_UP && c->linked)
			log_warn("conduit %s/%s: lost the proxy (%s); the link "
				 "and routes stay, and it is attached again "
				 "when the proxy returns",
				 c->trench->name, c->name, rpc_client_error(cl));
		c->proxy_state = TGT_PEER_DOWN;
		snprintf(c->error, sizeof(c->error), "%s",
			 rpc_client_error(cl));
	}
	tgt_changed(c->a);
	tgt_step_all(c->a);
}

int tgt_link_start(struct tgt_conduit *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->proxy_path);
	struct rpc_client_config cfg = {
		.timing = { c->a->opt->keepalive_ms, c->a->opt->dead_ms },
		.backoff_max_ms = 1000,
		.on_state = on_state,
		.data = c,
	};
	c->proxy_state = TGT_PEER_UNKNOWN;
	return rpc_client_start(c->a->loop, (struct sockaddr *)&sun, &cfg,
				&c->proxy);
}

void tgt_link_stop(struct tgt_conduit *c)
{
	if (c->proxy)
		rpc_client_close(c->proxy, NULL, NULL);
	c->proxy = NULL;
}

/* ---- routes and VIPs ---- */

/* True when a conduit other than c has vip on lo. */
static bool held_elsewhere(const struct tgt_conduit *c, const struct cidr *vip)
{
	struct list_node *p, *tmp;
	list_for_each_safe(p, tmp, &c->a->conduits)
	{
		const struct tgt_conduit *o =
			list_entry(p, struct tgt_conduit, node);
		if (o != c && tgt_vipset_has(&o->applied, vip))
			return true;
	}
	return false;
}

static void net_failed(struct tgt_conduit *c, const char *what,
		       const char *err)
{
	/* The kernel's reason is short; a cut one still names the failure. */
	if (snprintf(c->error, sizeof(c->error), "%s: %s", what, err) < 0)
		c->error[0] = '\0';
	c->a->stats.net_failures++;
	log_error("conduit %s/%s: %s: %s", c->trench->name, c->name, what,
		  err);
}

static void vip_del(struct tgt_conduit *c, size_t i)
{
	char err[512], text[CIDR_STRLEN];
	struct cidr v = c->applied.v[i];
	cidr_format_ip(&v, text, sizeof(text));
	tgt_vipset_del(&c->applied, &v);
	if (tgt_net_vip_del(c->a->net, &v, c->table, held_elsewhere(c, &v),
			    err, sizeof(err)) < 0) {
		net_failed(c, "removing a VIP", err);
		return;
	}
	c->a->stats.vip_dels++;
	log_info("conduit %s/%s: VIP %s removed", c->trench->name, c->name,
		 text);
}

/* Returns 0, or a negative errno when the routes cannot be put in place
 * (the link is not there: the VIPs are not added either). */
static int apply(struct tgt_conduit *c)
{
	char err[512], text[CIDR_STRLEN];
	int rc = tgt_net_route(c->a->net, c->table, &c->link, err,
			       sizeof(err));
	if (rc < 0) {
		net_failed(c, "routing through the link", err);
		return rc;
	}
	c->routed = true;
	struct tgt_vipset want = { 0 };
	if (tgt_vips_for_link(&c->trench->vips, &c->link, &want) < 0)
		return -ENOMEM;
	for (size_t i = c->applied.n; i-- > 0;)
		if (!tgt_vipset_has(&want, &c->applied.v[i]))
			vip_del(c, i);
	for (size_t i = 0; i < want.n; i++) {
		if (tgt_vipset_has(&c->applied, &want.v[i]))
			continue;
		cidr_format_ip(&want.v[i], text, sizeof(text));
		if (tgt_net_vip_add(c->a->net, &want.v[i], c->table, err,
				    sizeof(err)) < 0) {
			net_failed(c, "adding a VIP", err);
			continue;
		}
		if (tgt_vipset_add(&c->applied, &want.v[i]) < 0) {
			rc = -ENOMEM;
			break;
		}
		c->a->stats.vip_adds++;
		log_info("conduit %s/%s: VIP %s on lo, from it lookup %u",
			 c->trench->name, c->name, text, c->table);
	}
	tgt_vipset_free(&want);
	tgt_changed(c->a);
	return rc;
}

void tgt_link_apply(struct tgt_conduit *c)
{
	if (c->state == TGT_C_ATTACHED && c->linked)
		apply(c);
}

void tgt_link_unapply(struct tgt_conduit *c)
{
	char err[512];
	for (size_t i = c->applied.n; i-- > 0;)
		vip_del(c, i);
	tgt_vipset_free(&c->applied);
	if (c->routed) {
		if (tgt_net_unroute(c->a->net, c->table, err, sizeof(err)) < 0)
			net_failed(c, "removing the routes", err);
		c->routed = false;
	}
	tgt_changed(c->a);
}

/* ---- Attach and Detach ---- */

static void fail_openers(struct tgt_conduit *c, int code, const char *reason)
{
	struct list_node *p, *tmp;
	list_for_each_safe(p, tmp, &c->streams)
	{
		struct tgt_stream *s = list_entry(p, struct tgt_stream, node);
		tgt_stream_fail(s, code, reason, "conduit %s: %s", c->name,
				c->error);
	}
}

/* The streams registered with the link's old addresses register again
 * with the new ones (registry.c unregisters the old key first). */
static void addresses_changed(struct tgt_conduit *c)
{
	struct list_node *p, *tmp;
	list_for_each_safe(p, tmp, &c->streams)
	{
		struct tgt_stream *s = list_entry(p, struct tgt_stream, node);
		s->due = 0;
	}
}

static void take_link(struct tgt_conduit *c, const Proxy__AttachResponse *r,
		      const struct tgt_link *l)
{
	bool again = c->linked;
	bool moved = again && !tgt_link_same(l, &c->link);
	if (moved) {
		log_warn("conduit %s/%s: the proxy gave the link new "
			 "addresses; moving the routes and registrations",
			 c->trench->name, c->name);
		tgt_link_unapply(c);
	}
	c->link = *l;
	c->linked = true;
	c->n_ips = 0;
	if (r->ipv4 && r->ipv4[0])
		snprintf(c->ips[c->n_ips++], CIDR_STRLEN, "%s", r->ipv4);
	if (r->ipv6 && r->ipv6[0])
		snprintf(c->ips[c->n_ips++], CIDR_STRLEN, "%s", r->ipv6);
	if (moved)
		addresses_changed(c);
	log_info("conduit %s/%s: %s link %s: %s%s%s via %s%s%s, table %u",
		 c->trench->name, c->name,
		 again ? "attached again," : r->created ? "attached" : "adopted",
		 l->ifname, r->ipv4, r->ipv4[0] && r->ipv6[0] ? " " : "",
		 r->ipv6, r->gateway4,
		 r->gateway4[0] && r->gateway6[0] ? " " : "", r->gateway6,
		 c->table);
}

static void on_attached(void *data, const Rpc__Status *st,
			const ProtobufCMessage *msg)
{
	struct tgt_conduit *c = data;
	struct target_agent *a = c->a;
	c->inflight = false;
	if (a->tearing)
		return;
	bool again = c->state == TGT_C_ATTACHED;
	bool answered = msg != NULL;
	char err[256];
	const Proxy__AttachResponse *r = (const void *)msg;
	struct tgt_link l;
	if (!msg) {
		snprintf(c->error, sizeof(c->error),
			 "the proxy refused the link: %s%s%s: %s",
			 rpc_code_name(st->code), st->reason[0] ? " " : "",
			 st->reason, st->message);
	} else if (tgt_link_parse(r->ipv4, r->ipv6, r->gateway4, r->gateway6,
				  r->ifname, &l, err, sizeof(err)) < 0) {
		snprintf(c->error, sizeof(c->error), "%s", err);
		msg = NULL;
	}
	if (!msg) {
		a->stats.attach_failures++;
		if (again) {
			log_warn("conduit %s/%s: attaching again failed: %s; "
				 "keeping the link, retrying",
				 c->trench->name, c->name, c->error);
			c->stale = true;
			c->retry_at = uv_now(a->loop) + REATTACH_RETRY_MS;
		} else {
			bool lost = st->code == RPC__CODE__UNAVAILABLE ||
				    st->code == RPC__CODE__CANCELLED;
			/* An answer we cannot use still made a link: the
			 * conduit counts as attached so that it is detached. */
			c->state = answered ? TGT_C_ATTACHED : TGT_C_DETACHED;
			fail_openers(c,
				     lost ? RPC__CODE__UNAVAILABLE
					  : st->code ? (int)st->code
						     : RPC__CODE__INTERNAL,
				     lost ? "proxy_unavailable" : "");
		}
		tgt_changed(a);
		tgt_step_all(a);
		return;
	}
	a->stats.attaches++;
	take_link(c, r, &l);
	c->state = TGT_C_ATTACHED;
	if (apply(c) < 0 && !again)
		fail_openers(c, RPC__CODE__INTERNAL, "");
	tgt_changed(a);
	tgt_step_all(a);
}

int tgt_link_attach(struct tgt_conduit *c)
{
	char netns[64];
	/* The proxy opens the path: it must name this process, not the
	 * proxy's own /proc/self. */
	snprintf(netns, sizeof(netns), "/proc/%d/ns/net", (int)getpid());
	Proxy__AttachRequest req = PROXY__ATTACH_REQUEST__INIT;
	req.name = (char *)c->a->opt->pod;
	req.netns = netns;
	req.ifname = c->ifname;
	return rpc_client_call(c->proxy, "proxy.Local/Attach", &req.base,
			       &proxy__attach_response__descriptor, on_attached,
			       c, NULL);
}

static void on_detached(void *data, const Rpc__Status *st,
			const ProtobufCMessage *msg)
{
	struct tgt_conduit *c = data;
	struct target_agent *a = c->a;
	c->inflight = false;
	if (a->tearing)
		return;
	if (msg) {
		a->stats.detaches++;
		log_info("conduit %s/%s: detached", c->trench->name, c->name);
	} else {
		log_warn("conduit %s/%s: Detach: %s: %s; the proxy removes "
			 "the link when the pod is gone",
			 c->trench->name, c->name, rpc_code_name(st->code),
			 st->message);
	}
	tgt_conduit_detached(c);
	tgt_step_all(a);
}

int tgt_link_detach(struct tgt_conduit *c)
{
	Proxy__DetachRequest req = PROXY__DETACH_REQUEST__INIT;
	req.name = (char *)c->a->opt->pod;
	return rpc_client_call(c->proxy, "proxy.Local/Detach", &req.base,
			       &proxy__detach_response__descriptor, on_detached,
			       c, NULL);
}
