/* strait-target's netlink: everything it changes in the pod's namespace,
 * through lib/rtnl.h, synchronously (a handful of requests per change).
 *
 * What it puts in place, for conduit slot k (table T = 4000 + k) and
 * rule priority P:
 *
 *     lo:        VIP/32, VIP/128                (one per VIP of the trench)
 *     rules:     from VIP lookup T priority P   (per VIP, IPv4 and IPv6)
 *     table T:   default via <bridge address> dev st<k>   (per family)
 *
 * Order matters for the cleanup of an agent that was killed: a VIP's rule
 * is added before its address on lo and removed after it, so an address
 * this agent put on lo always has a rule naming it in 4000..4063, and
 * the rules are the record from which a new agent removes the addresses
 * (the pod's own addresses on lo are never touched).
 */
#ifndef STRAIT_TARGET_NET_H
#define STRAIT_TARGET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "model.h"

struct tgt_net;

struct tgt_net_cleaned {
	size_t rules, addrs, tables;
};

/* Opens rtnetlink in the calling thread's namespace (the pod's), finds lo
 * and brings it up. Returns 0 or a negative errno with err set. */
int tgt_net_open(uint32_t priority, struct tgt_net **out, char *err,
		 size_t errlen);

void tgt_net_close(struct tgt_net *n);

/* Removes what an earlier agent left: the addresses on lo that rules of
 * tables TGT_TABLE_BASE..TGT_TABLE_LAST name, those rules, and the routes
 * of those tables. Counts them in *done. Returns 0 or a negative errno
 * with err set. */
int tgt_net_cleanup(struct tgt_net *n, struct tgt_net_cleaned *done,
		    char *err, size_t errlen);

/* Replaces the default route of each family of l in table, via its
 * gateway on its link (found by name). Returns 0 or a negative errno
 * (-ENODEV: the link is not in the namespace) with err set. */
int tgt_net_route(struct tgt_net *n, uint32_t table, const struct tgt_link *l,
		  char *err, size_t errlen);

/* Flushes table (both families). */
int tgt_net_unroute(struct tgt_net *n, uint32_t table, char *err,
		    size_t errlen);

/* The rule "from vip lookup table", then vip on lo; either already there
 * is no error. */
int tgt_net_vip_add(struct tgt_net *n, const struct cidr *vip, uint32_t table,
		    char *err, size_t errlen);

/* vip off lo (unless keep_addr: another conduit still uses it), then the
 * rule; either already gone is no error. */
int tgt_net_vip_del(struct tgt_net *n, const struct cidr *vip, uint32_t table,
		    bool keep_addr, char *err, size_t errlen);

#endif
