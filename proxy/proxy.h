/* strait-proxy inside: the daemon's state and the modules that share it
 * (docs/proxy.md). Everything runs on the main loop's thread.
 *
 *   main.c    options, start-up in order, the loop, unwinding
 *   names.c   link and IPAM names (pure)
 *   store.c   the SQLite file of attachments
 *   att.c     an attachment's life: IPAM addresses, the veth, neighbours
 *   node.c    the bridge, the node's sysctls, the sweep of stale links
 *   egress.c  "from VIP lookup T" rules and T's multipath default route
 *   nsp.c     registration as PROXY, the LBs (FRONTENDs) and the VIPs
 *   ipam.c    the IPAM client: bridge and attachment addresses, refresh
 *   local.c   the local API (proxy.Local) for strait-target and straitctl
 *   stats.c   /metrics
 *
 * An attachment is a pod (asked for through the local API) or an LB
 * (learned from NSP); both get the same veth into the bridge and an address
 * of each family from the node's prefix. One pass (proxy_schedule) moves
 * every attachment towards what is wanted and then the egress route.
 */
#ifndef STRAIT_PROXY_H
#define STRAIT_PROXY_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>
#include <uv.h>

#include "cidr.h"
#include "rpc.h"

#define PROXY_NAME_MAX 64   /* a pod's name */
#define PROXY_PATH_MAX 256  /* a namespace's path */
#define PROXY_IFNAMSIZ 16
#define PROXY_MAX_VIPS 256
#define PROXY_MAX_LBS 32    /* RTNL_NEXTHOPS_MAX: one nexthop each */
#define PROXY_NSP_REFRESH_MS 20000
#define PROXY_SWEEP_MS 1000
#define PROXY_ANNOUNCE_MS 100
#define PROXY_ANNOUNCE_REPEATS 3

struct proxy_options {
	const char *trench, *conduit, *node;
	const char *nsp, *ipam, *local, *metrics, *store;
	char bridge[PROXY_IFNAMSIZ]; /* --bridge or stb-<conduit> */
	uint32_t table;		     /* --table */
	uint32_t rule_priority;	     /* --rule-priority */
	uint32_t ipam_refresh_s;     /* --ipam-refresh */
	bool sync_full;
	uint32_t keepalive_ms, dead_ms;
};

enum proxy_kind { PROXY_POD, PROXY_LB };

enum proxy_state {
	ATT_NEW,	/* wants addresses */
	ATT_ALLOCATING, /* IPAM answers awaited */
	ATT_ALLOCATED,	/* has its addresses, wants its link */
	ATT_LINKED,	/* the veth is up with its addresses */
	ATT_FAILED,	/* the last attempt failed (error says why) */
};

/* An Attach call waiting for its attachment. */
struct proxy_waiter {
	struct rpc_call *call;
	struct proxy_att *att;
	struct proxy_waiter *next;
};

struct proxy_att {
	struct proxy_att *next;
	enum proxy_kind kind;
	enum proxy_state state;
	char name[PROXY_NAME_MAX + 8]; /* "pod-NAME" or "lb-HASH": IPAM's */
	char netns[PROXY_PATH_MAX];
	uint64_t ns_dev, ns_ino; /* the namespace it was linked into */
	char port[PROXY_IFNAMSIZ];   /* the bridge end */
	char ifname[PROXY_IFNAMSIZ]; /* the far end */
	struct cidr addr[2];	     /* [0] IPv4, [1] IPv6; family 0: none */
	uint8_t mac[6];		     /* the far end's */
	char error[256];
	char reason[32]; /* rpc reason of the failure */
	unsigned pending;      /* IPAM answers awaited */
	uint64_t generation;   /* bumped when an answer must be ignored */
	uint64_t retry_at_ms;  /* LB: when a failed attempt is tried again */
	bool gone;	       /* to be unlinked and released */
	bool seen;	       /* LB: in the last NSP view */
	bool created;	       /* the last link was made, not adopted */
	uint8_t announce_left; /* repeats of the announcement still due */
	struct proxy_waiter *waiters;
};

struct proxy_stats {
	uint64_t attach_ok, attach_failed, detach;
	uint64_t links_created, links_removed, links_adopted;
	uint64_t stale_removed;
	uint64_t ipam_calls, ipam_failed;
	uint64_t neigh_flushes, announcements;
	uint64_t egress_updates, rule_changes;
};

struct proxy {
	uv_loop_t *loop;
	const struct proxy_options *opt;
	struct rtnl *rtnl; /* the node's namespace */
	sqlite3 *db;
	sqlite3_stmt *st[3];

	int bridge_ifindex;
	struct cidr bridge_addr[2]; /* family 0 until IPAM gave it */
	unsigned bridge_pending;
	bool bridge_ready;

	struct proxy_att *atts;
	struct proxy_waiter *waiters_free;

	/* What NSP says. */
	struct cidr vips[PROXY_MAX_VIPS];
	size_t n_vips;
	bool vips_known;
	bool lbs_synced, lbs_in_snapshot;

	/* What the node's tables hold (egress.c). */
	struct cidr ruled[PROXY_MAX_VIPS];
	size_t n_ruled;
	struct cidr nexthops[2][PROXY_MAX_LBS];
	size_t n_nexthops[2];

	struct rpc_client *nsp, *ipam;
	struct rpc_server *local;
	bool registered;
	uv_timer_t pass_timer, sweep_timer, refresh_timer, announce_timer;
	uint64_t ipam_refreshed_ms;
	bool pass_scheduled;
	int exit_code;
	struct proxy_stats stats;
};

/* ---- names.c (pure) ---- */

/* 0 when name is 1..PROXY_NAME_MAX printable characters without spaces or
 * '/'; else -EINVAL with the reason in err. */
int proxy_check_name(const char *name, char *err, size_t len);
/* The bridge's default name: "stb-<conduit>", or, when that passes 15
 * bytes, "stb-" + 6 characters of the conduit + 5 hex of its hash. */
void proxy_bridge_name(const char *conduit, char out[PROXY_IFNAMSIZ]);
/* prefix ("stv", "stl", "stp") + 8 hex digits of the hash of key. */
void proxy_link_name(const char *prefix, const char *key,
		     char out[PROXY_IFNAMSIZ]);
/* The LB attachment name of a FRONTEND with these ips: "lb-" + 8 hex of
 * the hash of the sorted ips (the FRONTEND's key in NSP). */
void proxy_lb_name(char *const *ips, size_t n, char out[PROXY_NAME_MAX + 8]);
/* 0 when ifname is a valid interface name (1..15 bytes, no '/', spaces
 * or ':'), else -EINVAL. */
int proxy_check_ifname(const char *ifname);
/* The bridge's MAC: locally administered (02:...), from a hash of the
 * trench, conduit and node, so a restarted proxy sets the same one. */
void proxy_bridge_mac(const char *trench, const char *conduit,
		      const char *node, uint8_t mac[6]);
void proxy_mac_format(const uint8_t mac[6], char out[18]);
int proxy_mac_parse(const char *s, uint8_t mac[6]);

/* ---- store.c ---- */
int proxy_store_open(struct proxy *p, char *err, size_t len);
void proxy_store_close(struct proxy *p);
/* Reads every row into p->atts (state ATT_LINKED, to be checked). */
int proxy_store_load(struct proxy *p, char *err, size_t len);
int proxy_store_put(struct proxy *p, const struct proxy_att *a);
int proxy_store_del(struct proxy *p, const char *name);

/* ---- att.c ---- */
struct proxy_att *proxy_att_find(struct proxy *p, const char *name);
struct proxy_att *proxy_att_new(struct proxy *p, enum proxy_kind kind,
				const char *name, const char *netns);
/* Makes the link of an attachment that has its addresses: veth, bridge
 * port, far end's addresses, up, neighbour hygiene. Sets state LINKED or
 * FAILED (error, reason). */
void proxy_att_link(struct proxy *p, struct proxy_att *a);
/* Removes the link (if any); the addresses are released by ipam.c. */
void proxy_att_unlink(struct proxy *p, struct proxy_att *a);
/* Takes a from the list and frees it; its waiters must be answered. */
void proxy_att_free(struct proxy *p, struct proxy_att *a);
/* Answers every Attach call waiting for a. */
void proxy_att_answer(struct proxy *p, struct proxy_att *a);
/* The namespace identity of path (dev, ino). 0 or -errno. */
int proxy_netns_id(const char *path, uint64_t *dev, uint64_t *ino);

/* ---- node.c ---- */
/* Creates or adopts the bridge, sets the node's forwarding sysctls. */
int proxy_node_init(struct proxy *p, char *err, size_t len);
/* Puts the bridge addresses on the bridge (when IPAM gave them). */
void proxy_node_bridge_addrs(struct proxy *p);
/* Checks adopted and linked attachments against the kernel; removes ports
 * of the bridge that belong to no attachment. */
void proxy_node_sweep(struct proxy *p);
/* Flushes the neighbour caches that may hold a's old MAC and announces
 * its addresses from its far end. */
void proxy_node_neigh(struct proxy *p, struct proxy_att *a, int far_nsfd,
		      int far_ifindex);
/* Sends the announcements again, PROXY_ANNOUNCE_REPEATS times every
 * PROXY_ANNOUNCE_MS: the first may leave before the new link carries. */
void proxy_node_announce_again(struct proxy *p);

/* ---- egress.c ---- */
/* Reads the rules of table T that an earlier run left (adoption). */
void proxy_egress_init(struct proxy *p);
/* Makes the rules and table T match the VIPs and the linked LBs. */
void proxy_egress_update(struct proxy *p);
/* Removes the rules and T's routes (clean stop). */
void proxy_egress_fini(struct proxy *p);

/* ---- ipam.c ---- */
int proxy_ipam_start(struct proxy *p, const struct sockaddr *addr);
void proxy_ipam_stop(struct proxy *p);
/* Asks for a's addresses (ATT_NEW → ATT_ALLOCATING). */
void proxy_ipam_allocate(struct proxy *p, struct proxy_att *a);
/* Releases a's addresses (fire and forget). */
void proxy_ipam_release(struct proxy *p, const struct proxy_att *a);
/* Re-allocates the bridge and every attachment: refreshes the leases. */
void proxy_ipam_refresh(struct proxy *p);

/* ---- nsp.c ---- */
int proxy_nsp_start(struct proxy *p, const struct sockaddr *addr);
/* Unregisters (bounded wait, runs the loop) and closes. */
void proxy_nsp_stop(struct proxy *p);
void proxy_nsp_register(struct proxy *p);

/* ---- local.c ---- */
int proxy_local_start(struct proxy *p, const struct sockaddr *addr);
void proxy_local_stop(struct proxy *p);

/* ---- stats.c ---- */
struct buf;
void proxy_stats_collect(struct buf *out, void *data);

/* ---- main.c ---- */
/* Runs one pass soon (coalesced). */
void proxy_schedule(struct proxy *p);
uint64_t proxy_now_ms(const struct proxy *p);

#endif
