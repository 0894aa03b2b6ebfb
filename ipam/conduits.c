/* The conduits NSP's configuration knows, followed live (with --nsp).
 *
 * IPAM creates a conduit's prefix on the conduit's first allocation; with
 * --nsp it first checks that the trench's configuration has the conduit,
 * so a typo in a proxy's conduit name is refused with unknown_conduit
 * instead of silently taking a prefix. The set is rebuilt from each answer
 * of NSP's WatchConduit, which sends the whole filtered list every time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipam.h"
#include "log.h"
#include "nsp.pb-c.h"

struct ipam_conduits {
	struct ipam *p;
	struct rpc_client *client;
	bool ready;
	char **keys; /* "trench|conduit", sorted */
	size_t n;
};

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void clear(struct ipam_conduits *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->keys[i]);
	free(c->keys);
	c->keys = NULL;
	c->n = 0;
}

/* Creates the prefixes of every conduit the configuration names, in both
 * families, so that a conduit's place in its trench is fixed when it
 * appears rather than by the order of first allocations. */
static void lay_out(struct ipam_conduits *c, const Nsp__ConfigResponse *r)
{
	struct ipam *p = c->p;
	for (size_t i = 0; i < r->n_conduits; i++) {
		for (int f = 0; f < 2; f++) {
			struct ipam_child_ref ref = {
				.trench = r->conduits[i]->trench,
				.conduit = r->conduits[i]->name,
				.family = f ? AF_INET6 : AF_INET,
			};
			enum ipam_reason reason = IPAM_OK;
			char err[512];
			if (ipam_conduit_ensure(p->tree, &ref, &p->changes, NULL,
						&reason, err, sizeof(err)) < 0)
				log_warn("nsp: conduit %s/%s: no %s prefix: %s (%s)",
					 ref.trench, ref.conduit,
					 f ? "IPv6" : "IPv4", err,
					 ipam_reason_name(reason));
			if (ipam_persist(p) < 0)
				return;
		}
	}
}

static void on_answer(void *data, const Rpc__Status *st,
		      const ProtobufCMessage *msg)
{
	struct ipam_conduits *c = data;
	if (!msg) {
		rpc_warn_end("nsp", "the conduit watch ended", st);
		return;
	}
	const Nsp__ConfigResponse *r = (const Nsp__ConfigResponse *)msg;
	char **keys = calloc(r->n_conduits ? r->n_conduits : 1, sizeof(*keys));
	if (!keys)
		return; /* keep the previous set */
	size_t n = 0;
	for (size_t i = 0; i < r->n_conduits; i++) {
		const Nsp__Conduit *cd = r->conduits[i];
		if (asprintf(&keys[n], "%s|%s", cd->trench, cd->name) >= 0)
			n++;
	}
	qsort(keys, n, sizeof(*keys), cmp);
	clear(c);
	c->keys = keys;
	c->n = n;
	if (!c->ready)
		log_info("nsp: %zu conduit(s) known; allocations open", n);
	else
		log_info("nsp: configuration changed: %zu conduit(s) known", n);
	c->ready = true;
	lay_out(c, r);
}

static void on_state(struct rpc_client *client, bool up, void *data)
{
	struct ipam_conduits *c = data;
	if (!up)
		return;
	/* Keep the last set across a reconnect: NSP's restart does not
	 * change the configuration, and refusing everything meanwhile would
	 * turn an NSP restart into an IPAM outage. */
	Nsp__ConfigRequest req = NSP__CONFIG_REQUEST__INIT;
	int err = rpc_client_call(client, "nsp.Configuration/WatchConduit",
				  &req.base, &nsp__config_response__descriptor,
				  on_answer, c, NULL);
	if (err)
		log_warn("nsp: cannot watch conduits: %s", strerror(-err));
}

static bool known(void *ctx, const char *trench, const char *conduit)
{
	struct ipam_conduits *c = ctx;
	char key[512];
	snprintf(key, sizeof(key), "%s|%s", trench, conduit);
	const char *k = key;
	return c->ready && bsearch(&k, c->keys, c->n, sizeof(*c->keys), cmp);
}

int ipam_conduits_start(struct ipam *p, const struct sockaddr *nsp)
{
	struct ipam_conduits *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->p = p;
	struct rpc_client_config cfg = { .on_state = on_state, .data = c };
	int err = rpc_client_start(p->loop, nsp, &cfg, &c->client);
	if (err) {
		free(c);
		return err;
	}
	p->conduits = c;
	ipam_tree_set_conduit_check(p->tree, known, c);
	return 0;
}

bool ipam_conduits_ready(const struct ipam *p)
{
	return !p->conduits || p->conduits->ready;
}

static void on_closed(void *data)
{
	struct ipam_conduits *c = data;
	clear(c);
	free(c);
}

void ipam_conduits_stop(struct ipam *p)
{
	if (!p->conduits)
		return;
	rpc_client_close(p->conduits->client, on_closed, p->conduits);
	p->conduits = NULL;
}
