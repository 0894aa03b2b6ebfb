/* strait-tun's tables and its per-flow decisions. Pure: no I/O, no clock
 * (every call that needs the time takes now_ms), no locks.
 *
 * Two layers.
 *
 * The view (struct tun_view) is an immutable snapshot of what NSP says:
 * services (by address), their instances (by identifier) and the nodes
 * (by name and by underlay address), with one Maglev table per service
 * over all its instances and one over those on this node. The daemon
 * builds a new view whenever a watch brings a change, off the packet path,
 * and swaps it in; a view is never changed once built. Lookups are hash
 * lookups or array indexing, never scans.
 *
 * The core (struct tun_core) holds the current view, the flow table and
 * the fragment table, and decides what happens to each packet:
 *
 *   tun_decide_out()  a packet read from strait-tun0: the first packet of a
 *                     flow to a service picks an instance (the flow table
 *                     keeps it there), later ones follow; a steered reply
 *                     finds its flow (same-node instance: SNAT back to the
 *                     service; remote client: back to the client's node).
 *   tun_decide_in()   a packet that came through the tunnel from node id:
 *                     a forward packet (learn where its replies go, hand it
 *                     to the kernel) or a reply (flag R: SNAT back to the
 *                     service, hand it to the kernel).
 *
 * Flow table entries (lib/conntab.h) hold (target, stream) = (instance
 * identifier or node id, kind | service id):
 *   FWD  client -> service flow                 -> instance
 *   REV  the same flow's replies, instance side -> instance (for the SNAT)
 *   RET  on the instance's node, a reply's key  -> the client's node id
 * Service and node ids are stable for the daemon's life (struct tun_ids),
 * so entries stay meaningful across views; tun_core_set_view() forgets the
 * entries of instances and nodes that are gone or changed.
 */
#ifndef STRAIT_TUN_SVC_H
#define STRAIT_TUN_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cidr.h"
#include "conntab.h"
#include "fragtab.h"
#include "packet.h"

#define TUN_NAME_MAX 64
#define TUN_IDS_MAX 65536 /* services, and nodes, per daemon life */

enum tun_policy {
	TUN_POLICY_SPREAD, /* every instance alike */
	TUN_POLICY_LOCAL,  /* this node's instances when there are any */
};

/* ---- what the NSP module hands over ---- */

struct tun_service_spec {
	char name[TUN_NAME_MAX];
	struct cidr addr[2]; /* [0] IPv4, [1] IPv6; family 0: none */
	enum tun_policy policy;
	uint32_t max_instances;
};

struct tun_instance_spec {
	char service[TUN_NAME_MAX];
	uint32_t ident; /* NSP's identifier, 1..max_instances */
	struct cidr addr[2];
	char node[TUN_NAME_MAX];
};

struct tun_node_spec {
	char name[TUN_NAME_MAX];
	struct sockaddr_storage addr; /* underlay address and port */
};

struct tun_spec {
	const struct tun_service_spec *services;
	size_t n_services;
	const struct tun_instance_spec *instances;
	size_t n_instances;
	const struct tun_node_spec *nodes;
	size_t n_nodes;
};

/* ---- stable ids for names ---- */

struct tun_ids;
int tun_ids_create(struct tun_ids **out);
void tun_ids_destroy(struct tun_ids *ids);
/* The id of name, given one (1, 2, ...) on first sight; 0 when all
 * TUN_IDS_MAX are taken or out of memory. */
uint32_t tun_ids_get(struct tun_ids *ids, const char *name);

/* ---- the view ---- */

struct tun_vnode {
	uint32_t id;
	char name[TUN_NAME_MAX];
	struct sockaddr_storage addr;
	bool self;
};

struct tun_vinst {
	uint32_t ident;
	struct cidr addr[2];
	const struct tun_vnode *node; /* NULL: its node has no TUNNEL */
	bool local;		      /* on this node */
};

struct maglev;
struct tun_vsvc {
	uint32_t id;
	char name[TUN_NAME_MAX];
	struct cidr addr[2];
	enum tun_policy policy;
	uint32_t max_instances;
	struct tun_vinst **by_ident; /* [max_instances + 1]; NULL: none */
	size_t n_instances, n_local;
	struct maglev *all, *local;
};

struct tun_view;

/* Builds a view of spec for node self (its name). Items that do not fit
 * (an instance of an unknown service, an identifier above the service's
 * max, two instances with one identifier, a second node of one name) are
 * skipped and counted in *skipped; the first reason is written to err.
 * Returns 0 or -ENOMEM. */
int tun_view_build(const struct tun_spec *spec, const char *self,
		   struct tun_ids *service_ids, struct tun_ids *node_ids,
		   struct tun_view **out, size_t *skipped, char *err,
		   size_t errlen);
void tun_view_free(struct tun_view *v);

/* The service with address addr (4 or 16 bytes by family 4 or 6). */
const struct tun_vsvc *tun_view_service(const struct tun_view *v, int family,
					const uint8_t *addr);
const struct tun_vsvc *tun_view_service_by_id(const struct tun_view *v,
					      uint32_t id);
const struct tun_vinst *tun_view_instance(const struct tun_vsvc *s,
					  uint32_t ident);
const struct tun_vnode *tun_view_node(const struct tun_view *v, uint32_t id);
/* The node whose underlay address and port are sa (the sender check). */
const struct tun_vnode *tun_view_node_by_addr(const struct tun_view *v,
					      const struct sockaddr *sa);
/* The instance a flow of hash h goes to: 0 when the service has none. The
 * local table with policy local when this node has instances. */
uint32_t tun_view_choose(const struct tun_vsvc *s, uint64_t h);

size_t tun_view_services(const struct tun_view *v,
			 const struct tun_vsvc *const **out);
size_t tun_view_nodes(const struct tun_view *v,
		      const struct tun_vnode *const **out);

/* Whether addr (of family 4 or 6) is an instance address on this node. */
bool tun_view_is_local(const struct tun_view *v, int family,
		       const uint8_t *addr);

/* The flow hash: XXH3 of the flow's fields, the same on every node. */
uint64_t tun_flow_hash(const struct conn_key *k);

/* ---- the core ---- */

enum tun_action {
	TUN_DROP,    /* count reason */
	TUN_DELIVER, /* (after the NAT) write it to strait-tun0 */
	TUN_SEND,    /* (after the NAT) send it to node, flags */
	TUN_UNREACH, /* answer with an ICMP unreachable, count reason */
	TUN_HOLD,    /* a later fragment before its first: keep its bytes in
			hold slot hold_id until the core releases it */
};

enum tun_nat_kind {
	TUN_NAT_NONE,
	TUN_NAT_DNAT, /* destination old -> new */
	TUN_NAT_SNAT, /* source old -> new */
};

enum tun_reason {
	TUN_R_OK,
	TUN_R_NO_SERVICE,  /* steered here, no flow, not a service */
	TUN_R_NO_INSTANCE, /* a service without instances */
	TUN_R_NO_NODE,	   /* its instance's node is unknown */
	TUN_R_NO_FLOW,	   /* a reply whose flow is unknown */
	TUN_R_FRAG,	   /* a later fragment whose first did not come in
			      time, or that found the hold slots full */
	TUN_R_FAMILY,	   /* the instance has no address of the family */
	TUN_R_NOT_LOCAL,   /* came through the tunnel for no local instance */
	TUN_R_NREASONS,
};

const char *tun_reason_name(enum tun_reason r);

struct tun_decision {
	enum tun_action action;
	enum tun_reason reason;
	enum tun_nat_kind nat;
	uint8_t old_addr[16], new_addr[16];
	const struct tun_vnode *node; /* TUN_SEND */
	bool reply;		      /* TUN_SEND: flag R */
	bool new_flow;		      /* the first packet of a flow */
	uint32_t service, instance;
	uint32_t hold_id; /* TUN_HOLD: the slot, < TUN_HOLD_SLOTS */
	/* A first fragment: the slots of its later fragments held until now,
	 * in arrival order. The caller handles this packet first, then passes
	 * each of them through the same tun_decide_*() again (they follow it
	 * now). Their slots are free once this decision is made: copy them
	 * out before the next tun_decide_*(). */
	uint32_t n_released;
	uint32_t released[FRAG_HOLD_MAX];
};

/* Later fragments held before their first: at most TUN_HOLD_SLOTS in all,
 * TUN_HOLD_PER_DATAGRAM per datagram, for TUN_HOLD_MS after the first of
 * them came. The caller keeps the bytes (slot i, up to 65535 bytes); the
 * core keeps which slots are taken and hands a slot back when its fragment
 * is released or given up (counted as reason fragment_early). */
#define TUN_HOLD_SLOTS 64
#define TUN_HOLD_PER_DATAGRAM 8
#define TUN_HOLD_MS 2000

struct tun_core_stats {
	uint64_t flows_new, flows_forgotten;
	uint64_t frags_held, frags_released; /* later fragments before first */
	uint64_t reasons[TUN_R_NREASONS];
};

struct tun_core;

/* capacity: flow table entries (0 = lib/conntab's default). */
int tun_core_create(size_t capacity, uint64_t seed, struct tun_core **out);
/* The service prefixes: a packet to one of them that no service has is
 * answered with an ICMP unreachable; anything else without a flow is
 * dropped. The core keeps a copy. */
int tun_core_set_prefixes(struct tun_core *c, const struct cidr *p, size_t n);
void tun_core_destroy(struct tun_core *c);

/* Installs view v (the core owns it from now on) and forgets the flows of
 * instances and nodes that v no longer has, or has with other addresses.
 * Returns the view it replaced, for the caller to free (or NULL). */
struct tun_view *tun_core_set_view(struct tun_core *c, struct tun_view *v);
const struct tun_view *tun_core_view(const struct tun_core *c);

int tun_decide_out(struct tun_core *c, const struct pkt *p, uint64_t now_ms,
		   struct tun_decision *d);
int tun_decide_in(struct tun_core *c, const struct pkt *p, bool reply,
		  const struct tun_vnode *from, uint64_t now_ms,
		  struct tun_decision *d);

/* Expires idle flows and fragments (bounded work); returns the next time
 * anything expires (UINT64_MAX: nothing). */
uint64_t tun_core_expire(struct tun_core *c, uint64_t now_ms);

void tun_core_stats(const struct tun_core *c, struct tun_core_stats *s,
		    struct conntab_stats *flows);

#endif
