/* The proxy's IPAM client: the bridge's address of each family (the node
 * prefix's first address, Allocate{bridge}), and one address of each
 * family per attachment, as IPAM children named after the attachment
 * ("pod-NAME", "lb-HASH") in this node's prefix. Allocate is idempotent,
 * so the same call also refreshes the leases (--ipam-refresh). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipam.pb-c.h"
#include "log.h"
#include "proxy.h"

struct ticket {
	struct proxy *p;
	char name[PROXY_NAME_MAX + 8]; /* "" for the bridge */
	uint64_t generation;
	int f;
};

static void child(struct proxy *p, Ipam__Child *c, const char *name, int f)
{
	ipam__child__init(c);
	c->name = (char *)name;
	c->trench = (char *)p->opt->trench;
	c->conduit = (char *)p->opt->conduit;
	c->node = (char *)p->opt->node;
	c->family = f ? IPAM__FAMILY__IPV6 : IPAM__FAMILY__IPV4;
}

static void on_bridge(struct proxy *p, int f, const Rpc__Status *st,
		      const Ipam__AllocateResponse *m)
{
	p->bridge_pending--;
	if (!m) {
		log_error("ipam: no IPv%d bridge address: %s: %s", f ? 6 : 4,
			  rpc_code_name(st->code), st->message);
		return;
	}
	struct cidr c;
	if (cidr_parse(m->address, &c) < 0) {
		log_error("ipam: bridge address '%s' is not an address",
			  m->address);
		return;
	}
	if (p->bridge_addr[f].family && !cidr_equal(&p->bridge_addr[f], &c))
		log_warn("ipam: the IPv%d bridge address changed to %s",
			 f ? 6 : 4, m->address);
	p->bridge_addr[f] = c;
	if (p->bridge_pending == 0) {
		proxy_node_bridge_addrs(p);
		if (!p->bridge_ready && (p->bridge_addr[0].family ||
					 p->bridge_addr[1].family)) {
			p->bridge_ready = true;
			proxy_nsp_register(p);
		}
		proxy_schedule(p);
	}
}

static void on_att(struct proxy *p, struct proxy_att *a, int f,
		   const Rpc__Status *st, const Ipam__AllocateResponse *m)
{
	a->pending--;
	if (!m && a->state == ATT_LINKED) { /* a refresh */
		p->stats.ipam_failed++;
		rpc_warn_end("ipam", "lease refresh failed", st);
		return;
	}
	if (!m) {
		p->stats.ipam_failed++;
		snprintf(a->reason, sizeof(a->reason), "%s",
			 st->code == RPC__CODE__UNAVAILABLE ? "ipam_unavailable"
							    : "ipam_refused");
		snprintf(a->error, sizeof(a->error),
			 "IPAM gave no IPv%d address: %s%s%s", f ? 6 : 4,
			 st->message, st->reason[0] ? " " : "", st->reason);
	} else {
		struct cidr c;
		if (cidr_parse(m->address, &c) == 0) {
			if (a->state == ATT_LINKED && a->addr[f].family &&
			    !cidr_equal(&a->addr[f], &c)) {
				log_warn("%s: IPAM moved it to %s; relinking",
					 a->name, m->address);
				a->state = ATT_ALLOCATING;
			}
			a->addr[f] = c;
		}
	}
	if (a->pending || a->state != ATT_ALLOCATING)
		return;
	if (a->error[0]) {
		a->state = ATT_FAILED;
		a->retry_at_ms = proxy_now_ms(p) + 5000;
		log_warn("%s: %s", a->name, a->error);
	} else {
		a->state = ATT_ALLOCATED;
	}
	proxy_schedule(p);
}

static void on_allocated(void *data, const Rpc__Status *st,
			 const ProtobufCMessage *msg)
{
	struct ticket *t = data;
	struct proxy *p = t->p;
	const Ipam__AllocateResponse *m = (const void *)msg;
	if (!t->name[0]) {
		on_bridge(p, t->f, st, m);
	} else {
		struct proxy_att *a = proxy_att_find(p, t->name);
		if (a && a->generation == t->generation && a->pending)
			on_att(p, a, t->f, st, m);
	}
	free(t);
}

static int allocate(struct proxy *p, const char *name, int f, bool bridge,
		    uint64_t generation)
{
	struct ticket *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	*t = (struct ticket){ .p = p, .generation = generation, .f = f };
	snprintf(t->name, sizeof(t->name), "%s", bridge ? "" : name);
	Ipam__Child c;
	child(p, &c, bridge ? "bridge" : name, f);
	Ipam__AllocateRequest req = IPAM__ALLOCATE_REQUEST__INIT;
	req.child = &c;
	req.bridge = bridge;
	p->stats.ipam_calls++;
	int rc = rpc_client_call(p->ipam, "ipam.Ipam/Allocate", &req.base,
				 &ipam__allocate_response__descriptor,
				 on_allocated, t, NULL);
	if (rc < 0)
		free(t);
	return rc;
}

static void allocate_bridge(struct proxy *p)
{
	if (p->bridge_pending)
		return;
	for (int f = 0; f < 2; f++)
		if (allocate(p, "", f, true, 0) == 0)
			p->bridge_pending++;
}

void proxy_ipam_allocate(struct proxy *p, struct proxy_att *a)
{
	a->generation++;
	a->pending = 0;
	a->error[0] = a->reason[0] = '\0';
	a->state = ATT_ALLOCATING;
	for (int f = 0; f < 2; f++) {
		int rc = allocate(p, a->name, f, false, a->generation);
		if (rc == 0) {
			a->pending++;
			continue;
		}
		a->generation++; /* the other answer is void */
		a->pending = 0;
		a->state = ATT_FAILED;
		a->retry_at_ms = proxy_now_ms(p) + 1000;
		snprintf(a->reason, sizeof(a->reason), "ipam_unavailable");
		snprintf(a->error, sizeof(a->error), "IPAM is unreachable (%s)",
			 rpc_client_error(p->ipam));
		return;
	}
}

static void on_released(void *data, const Rpc__Status *st,
			const ProtobufCMessage *msg)
{
	(void)data;
	if (!msg)
		rpc_warn_end("ipam", "release failed", st);
}

void proxy_ipam_release(struct proxy *p, const struct proxy_att *a)
{
	for (int f = 0; f < 2; f++) {
		Ipam__Child c;
		child(p, &c, a->name, f);
		Ipam__ReleaseRequest req = IPAM__RELEASE_REQUEST__INIT;
		req.child = &c;
		p->stats.ipam_calls++;
		if (rpc_client_call(p->ipam, "ipam.Ipam/Release", &req.base,
				    &ipam__release_response__descriptor,
				    on_released, p, NULL) < 0)
			log_warn("%s: cannot release its IPv%d address now; "
				 "its lease will end", a->name, f ? 6 : 4);
	}
}

void proxy_ipam_refresh(struct proxy *p)
{
	if (!rpc_client_connected(p->ipam))
		return;
	allocate_bridge(p);
	for (struct proxy_att *a = p->atts; a; a = a->next)
		if (a->state == ATT_LINKED && !a->gone && !a->pending)
			for (int f = 0; f < 2; f++)
				if (allocate(p, a->name, f, false,
					     a->generation) == 0)
					a->pending++;
}

static void on_state(struct rpc_client *c, bool up, void *data)
{
	struct proxy *p = data;
	if (!up) {
		log_warn("ipam: not connected (%s); attachments made keep "
			 "working, new ones wait", rpc_client_error(c));
		return;
	}
	log_info("ipam: connected");
	allocate_bridge(p);
	proxy_schedule(p);
}

int proxy_ipam_start(struct proxy *p, const struct sockaddr *addr)
{
	struct rpc_client_config cfg = {
		.timing = { p->opt->keepalive_ms, p->opt->dead_ms },
		.on_state = on_state,
		.data = p,
	};
	return rpc_client_start(p->loop, addr, &cfg, &p->ipam);
}

void proxy_ipam_stop(struct proxy *p)
{
	if (p->ipam)
		rpc_client_close(p->ipam, NULL, NULL);
	p->ipam = NULL;
}
