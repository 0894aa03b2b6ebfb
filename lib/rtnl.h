/* Synchronous rtnetlink: rules, routes, neighbours, links and addresses.
 *
 * All of strait's routing netlink goes through this module (STYLE habit 7).
 * It is an admin path, not a per-packet one: every call sends one request
 * and blocks until the kernel has answered it completely.
 *
 *     caller ---- rtnl_route_replace() ----> request (seq N, NLM_F_ACK)
 *            <--- 0 or -errno + err text --- ack/NLMSG_ERROR (seq N)
 *
 * Contracts common to every function below:
 *  - Returns 0 or a negative errno. When the kernel refuses a request the
 *    errno is the kernel's, and err (if not NULL and errlen > 0) receives
 *    "<operation>: <reason>", where the reason is the kernel's extended ack
 *    message ("Nexthop has invalid gateway") when it sent one, else
 *    strerror(). err is always NUL-terminated when errlen > 0; on success
 *    its content is unspecified.
 *  - Addresses are struct cidr (lib/cidr.h); their family must match the
 *    family argument, else -EINVAL without talking to the kernel.
 *  - Table ids are full 32-bit ids (RTA_TABLE/FRA_TABLE), so tables above
 *    255 work.
 *  - A handle is not thread-safe; use one per thread.
 *  - List functions read the whole dump first and only then call the
 *    callback, in kernel order. So a callback may call other rtnl functions
 *    on the same handle (a dump must not be interleaved with requests), and
 *    a dump the kernel flags as interrupted (NLM_F_DUMP_INTR: the table
 *    changed while it was read) is retried before the callback sees it. A
 *    callback returns 0 to go on; any other value stops the walk and is
 *    returned by the list function.
 */
#ifndef STRAIT_RTNL_H
#define STRAIT_RTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

struct rtnl;

/* Opens a NETLINK_ROUTE socket in the calling thread's network namespace
 * and asks for extended acks and strict dump checking (best effort: an
 * older kernel without them still works, with less helpful errors).
 * *out is freed by rtnl_close(). Returns 0, -ENOMEM or the socket's errno. */
int rtnl_open(struct rtnl **out);

/* Closes the socket and frees the handle. NULL is allowed. */
void rtnl_close(struct rtnl *r);

/* The socket, for a later event-loop user (poll for POLLIN). The handle
 * keeps owning it: do not close it. No multicast group is joined. */
int rtnl_fd(const struct rtnl *r);

/* ---- rules: "fwmark M lookup T priority P" ---- */

struct rtnl_rule_info {
	int family;	   /* AF_INET or AF_INET6 */
	uint32_t priority; /* the rule's preference */
	uint32_t table;	   /* 0 when the rule does not look up a table */
	uint32_t fwmark;   /* 0 when the rule does not match a mark */
	uint32_t fwmask;
	uint8_t action;	 /* FR_ACT_TO_TBL, FR_ACT_UNREACHABLE, ... */
	struct cidr src; /* "from" selector; len 0 (family 0): any source */
};

typedef int (*rtnl_rule_cb)(const struct rtnl_rule_info *rule, void *arg);

/* Adds "fwmark <fwmark>/0xffffffff lookup <table> priority <priority>";
 * fwmark 0 adds no mark match (the rule matches every packet). table must
 * not be 0 (-EINVAL). priority 0 lets the kernel choose (just above the first
 * rule after 0). Returns -EEXIST when an identical rule exists (rules are not a
 * set in the kernel; refusing duplicates keeps a restarted daemon from stacking
 * them). */
int rtnl_rule_add(struct rtnl *r, int family, uint32_t fwmark, uint32_t table,
		  uint32_t priority, char *err, size_t errlen);

/* Deletes the rule added with the same key; priority 0, fwmark 0 and
 * table 0 each match any value. Returns -ENOENT when no rule matches. */
int rtnl_rule_del(struct rtnl *r, int family, uint32_t fwmark, uint32_t table,
		  uint32_t priority, char *err, size_t errlen);

/* Adds "from <src> lookup <table> priority <priority>" (src's family; a
 * host address or a prefix; host bits are cleared). table must not be 0,
 * nor src's length (-EINVAL: the kernel reads a source of length 0 in a
 * delete as "any", so rtnl_rule_del_from() could remove another rule).
 * Returns -EEXIST when an identical rule exists. */
int rtnl_rule_add_from(struct rtnl *r, const struct cidr *src, uint32_t table,
		       uint32_t priority, char *err, size_t errlen);

/* Deletes the rule added with the same src; table 0 and priority 0 match
 * any value. Returns -ENOENT when no rule matches. */
int rtnl_rule_del_from(struct rtnl *r, const struct cidr *src, uint32_t table,
		       uint32_t priority, char *err, size_t errlen);

/* Deletes every rule of family (AF_UNSPEC: both) whose table lies in
 * [table_lo, table_hi], whatever else it matches: the cleanup of what a
 * crashed earlier run left. Rules outside the range are untouched. A rule
 * that disappears meanwhile is not an error. */
int rtnl_rule_flush_table_range(struct rtnl *r, int family, uint32_t table_lo,
				uint32_t table_hi, char *err, size_t errlen);

/* Calls cb for each rule of family (AF_UNSPEC: both), see the list
 * contract above. */
int rtnl_rule_list(struct rtnl *r, int family, rtnl_rule_cb cb, void *arg,
		   char *err, size_t errlen);

/* ---- routes ---- */

/* The most nexthops a route read back can report; more are counted in
 * nexthops but not stored. Also the most rtnl_route_replace_multipath()
 * accepts (-E2BIG beyond). */
#define RTNL_NEXTHOPS_MAX 32

struct rtnl_nexthop {
	struct cidr gateway; /* family AF_UNSPEC (0) when none */
	int oif;	     /* 0 when not reported */
	uint8_t weight;	     /* 1..256 as in "ip route ... weight", minus 1 */
};

struct rtnl_route_info {
	int family;
	uint32_t table;
	uint8_t type;	     /* RTN_UNICAST, RTN_LOCAL, RTN_UNREACHABLE, ... */
	uint8_t protocol;    /* RTPROT_* */
	uint8_t scope;	     /* RT_SCOPE_* */
	uint32_t metric;     /* RTA_PRIORITY, 0 when absent */
	struct cidr dst;     /* len 0: the default route */
	struct cidr src;     /* source prefix (RTA_SRC); len 0: any source */
	struct cidr prefsrc; /* preferred source; family 0 when absent */
	/* A single-path route fills these; a multipath one leaves them empty
	 * (gateway family 0, oif 0) and fills nh[] instead. */
	struct cidr gateway;
	int oif;
	size_t
	    nexthops; /* RTA_MULTIPATH entries, may exceed RTNL_NEXTHOPS_MAX */
	struct rtnl_nexthop nh[RTNL_NEXTHOPS_MAX];
};

typedef int (*rtnl_route_cb)(const struct rtnl_route_info *route, void *arg);

/* Creates or replaces the unicast route to dst in table (NLM_F_CREATE |
 * NLM_F_REPLACE): an existing route with the same table, dst (and, for
 * IPv4, metric 0) takes the new gateway and oif. dst NULL or of length 0
 * is the default route; host bits of dst are cleared. gateway NULL means a
 * directly connected route (then oif is required: -EINVAL); its length is
 * ignored. oif 0 lets the kernel find the interface from the gateway.
 * A gateway not on any connected network fails with -ENETUNREACH and the
 * kernel's reason in err. */
int rtnl_route_replace(struct rtnl *r, int family, uint32_t table,
		       const struct cidr *dst, const struct cidr *gateway,
		       int oif, char *err, size_t errlen);

/* Deletes the route to dst in table; gateway and oif, when given, must
 * match too. Returns -ESRCH (the kernel's answer for both families) when
 * no route matches. */
int rtnl_route_del(struct rtnl *r, int family, uint32_t table,
		   const struct cidr *dst, const struct cidr *gateway, int oif,
		   char *err, size_t errlen);

/* Deletes every route of family (AF_UNSPEC: both) in table. Routes that
 * disappear meanwhile are not an error. */
int rtnl_route_flush_table(struct rtnl *r, int family, uint32_t table,
			   char *err, size_t errlen);

/* Calls cb for each route of family (AF_UNSPEC: both) in table (0: all
 * tables), see the list contract above. Cached clones are not listed. */
int rtnl_route_list(struct rtnl *r, int family, uint32_t table,
		    rtnl_route_cb cb, void *arg, char *err, size_t errlen);

/* Asks the kernel which route a packet to dst (a bare address: its length
 * is ignored) would take, as "ip route get" does, with the policy rules
 * applied to an unmarked packet. Fills *out (table, type, oif, gateway,
 * prefsrc). A target is reachable when this returns 0 with type
 * RTN_UNICAST (RTN_LOCAL means the address is this host's own). When no
 * route matches the kernel answers -ENETUNREACH; a route of type
 * unreachable, prohibit or blackhole gives -EHOSTUNREACH, -EACCES or
 * -EINVAL (both families). */
int rtnl_route_get(struct rtnl *r, const struct cidr *dst,
		   struct rtnl_route_info *out, char *err, size_t errlen);

/* Creates or replaces a route to dst in table spread over the n gateways
 * (RTA_MULTIPATH, equal weights). The kernel spreads flows over them as
 * the sysctls net.ipv4.fib_multipath_hash_policy and
 * net.ipv6.fib_multipath_hash_policy say (1: on L4 ports).
 * src, when not NULL and of length > 0, makes it a source-specific route
 * (from src): this needs IPv6 (CONFIG_IPV6_SUBTREES). IPv4 has no
 * source-specific routes and its kernel silently drops the source, which
 * would make a route for every source; so a v4 src gives -EINVAL, and v4
 * callers select the source with a rule ("from VIP lookup table").
 * n must be 1..RTNL_NEXTHOPS_MAX (-EINVAL / -E2BIG). Replacing a route
 * with n nexthops by one with fewer leaves only the new set. */
int rtnl_route_replace_multipath(struct rtnl *r, int family, uint32_t table,
				 const struct cidr *dst, const struct cidr *src,
				 const struct cidr *gateways, size_t n,
				 char *err, size_t errlen);

/* ---- neighbours ---- */

/* Reads the state (NUD_REACHABLE, NUD_STALE, NUD_FAILED, ...) of the
 * neighbour entry for addr on ifindex. Returns -ENOENT when there is no
 * entry. */
int rtnl_neigh_get(struct rtnl *r, int ifindex, const struct cidr *addr,
		   int *state, char *err, size_t errlen);

/* Deletes the dynamic neighbour entries (v4 and v6) of ifindex, as
 * "ip neigh flush dev X" does: permanent and NOARP entries stay. Used after
 * a link or MAC change so traffic does not wait for stale entries to age. */
int rtnl_neigh_flush(struct rtnl *r, int ifindex, char *err, size_t errlen);

/* ---- links and addresses ---- */

/* Finds the interface called name. Returns -ENODEV when there is none. */
int rtnl_link_index(struct rtnl *r, const char *name, int *ifindex, char *err,
		    size_t errlen);

/* Sets the link administratively up or down. */
int rtnl_link_set_up(struct rtnl *r, int ifindex, bool up, char *err,
		     size_t errlen);

/* Adds addr (address and prefix length, e.g. 198.18.1.5/24) to ifindex.
 * IPv6 addresses skip duplicate address detection (IFA_F_NODAD): strait's
 * addresses come from IPAM, which already guarantees uniqueness, and DAD
 * would keep them unusable for a second. Returns -EEXIST when present. */
int rtnl_addr_add(struct rtnl *r, int ifindex, const struct cidr *addr,
		  char *err, size_t errlen);

/* Removes addr from ifindex. Returns -EADDRNOTAVAIL when absent. */
int rtnl_addr_del(struct rtnl *r, int ifindex, const struct cidr *addr,
		  char *err, size_t errlen);

/* Calls cb for each address (both families, global and link scope alike)
 * of ifindex (0: every link), see the list contract above. */
typedef int (*rtnl_addr_cb)(int ifindex, const struct cidr *addr, void *arg);
int rtnl_addr_list(struct rtnl *r, int ifindex, rtnl_addr_cb cb, void *arg,
		   char *err, size_t errlen);

/* ---- creating links: bridges and veth pairs (strait-proxy) ---- */

#define RTNL_IFNAMSIZ 16

struct rtnl_link_info {
	int ifindex;
	char name[RTNL_IFNAMSIZ];
	char kind[RTNL_IFNAMSIZ]; /* IFLA_INFO_KIND: "bridge", "veth", "" */
	int master;		  /* the bridge it is a port of; 0 when none */
	uint8_t mac[6];
	bool up;       /* IFF_UP */
	bool lower_up; /* IFF_LOWER_UP (carrier) */
	uint32_t mtu;
	int link;	  /* a veth's peer's ifindex, in the peer's namespace;
			   * 0 when none */
	int link_netnsid; /* the peer's namespace id as seen here; -1 when
			   * the peer is in this namespace or unknown */
};

typedef int (*rtnl_link_cb)(const struct rtnl_link_info *link, void *arg);

/* Reads the link called name. Returns -ENODEV when there is none. */
int rtnl_link_get(struct rtnl *r, const char *name, struct rtnl_link_info *out,
		  char *err, size_t errlen);

/* Calls cb for each link of the namespace, see the list contract above. */
int rtnl_link_list(struct rtnl *r, rtnl_link_cb cb, void *arg, char *err,
		   size_t errlen);

/* Creates a bridge called name (down; STP off, forward delay 0, so a new
 * port forwards at once). Returns -EEXIST when a link of that name exists. */
int rtnl_bridge_add(struct rtnl *r, const char *name, char *err, size_t errlen);

/* Creates a veth pair: name here, peer in the namespace of peer_netns_fd
 * (an open /proc/PID/ns/net or /run/netns/NAME; -1: here too). mtu 0
 * keeps the default. Both ends are created down. Returns -EEXIST when name
 * (here) or peer (there) is taken; nothing is left behind on failure. */
int rtnl_veth_add(struct rtnl *r, const char *name, const char *peer,
		  int peer_netns_fd, uint32_t mtu, char *err, size_t errlen);

/* Deletes the link (a veth's peer goes with it). -ENODEV when absent. */
int rtnl_link_del(struct rtnl *r, int ifindex, char *err, size_t errlen);

/* Sets the link's MAC address. A bridge given its address this way keeps
 * it; left alone, a bridge takes the lowest MAC of its ports and changes it
 * when that port goes, which strands every neighbour cache that holds the
 * bridge's address. */
int rtnl_link_set_mac(struct rtnl *r, int ifindex, const uint8_t mac[6],
		      char *err, size_t errlen);

/* Makes ifindex a port of the bridge master (0: of no bridge). The kernel
 * releases the link from its previous bridge first, so after a failure
 * (master is no bridge: -EOPNOTSUPP) it may be a port of none. */
int rtnl_link_set_master(struct rtnl *r, int ifindex, int master, char *err,
			 size_t errlen);

#endif
