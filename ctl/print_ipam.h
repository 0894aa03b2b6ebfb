/* The answers of strait-ipam (proto/ipam.proto) as straitctl prints them.
 *
 * allocate, one row per family asked (text), or one object (JSON):
 *	FAMILY  ADDRESS         NODE-PREFIX     GATEWAY      CREATED
 *	ipv4    169.255.0.2/24  169.255.0.0/24  169.255.0.1  yes
 *	{"ipv4":{"address":"169.255.0.2/24","node_prefix":"169.255.0.0/24",
 *	         "gateway":"169.255.0.1","created":true}}
 * release:
 *	FAMILY  EXISTED  ADDRESS
 *	ipv4    yes      169.255.0.2/24
 *	{"ipv4":{"existed":true,"address":"169.255.0.2/24"}}
 * list:
 *	TRENCH    CONDUIT  NODE    NAME   FAMILY  ADDRESS         BRIDGE
 *	trench-a  lb       node-1  pod-a  ipv4    169.255.0.2/24  no
 *	{"allocations":[{"trench":"trench-a","conduit":"lb","node":"node-1",
 *	  "name":"pod-a","family":"ipv4","address":"169.255.0.2/24",
 *	  "bridge":false}]}
 * tree, indented by level, usage aligned:
 *	trench-a ipv4   169.255.0.0/16  conduits 1/16
 *	  lb            169.255.0.0/20  nodes 1/16
 *	    node-1      169.255.0.0/24  addresses 2/253 (0 quarantined)
 *	{"trenches":[{"kind":"trench","name":"trench-a","family":"ipv4",
 *	  "prefix":"169.255.0.0/16","capacity":16,"used":1,"quarantined":0,
 *	  "children":[...]}]}
 *
 * Every JSON key is always present. Each function appends to a caller's
 * buffer or writer and returns 0 or the buffer's or writer's error. Text
 * output replaces control characters with '?'; JSON escapes them.
 */
#ifndef STRAIT_CTL_PRINT_IPAM_H
#define STRAIT_CTL_PRINT_IPAM_H

#include <stddef.h>

#include "buf.h"
#include "ipam.pb-c.h"
#include "json.h"

/* The tree's depth straitctl prints (trench, conduit, node, and room for
 * one more level); a deeper answer fails with -E2BIG. */
#define CTL_TREE_MAX_DEPTH 4

/* "ipv4", "ipv6", "unspecified"; "unknown" for a number the proto lacks. */
const char *ctl_ipam_family_name(int family);

/* The answer of one family's Allocate or Release; resp NULL: that family
 * was not asked, or failed, and is left out. Index 0 is IPv4, 1 IPv6. */
int ctl_allocate_json(struct json *j, const Ipam__AllocateResponse *resp[2]);
int ctl_allocate_table(struct buf *b, const Ipam__AllocateResponse *resp[2]);
int ctl_release_json(struct json *j, const Ipam__ReleaseResponse *resp[2]);
int ctl_release_table(struct buf *b, const Ipam__ReleaseResponse *resp[2]);

int ctl_allocations_json(struct json *j, const Ipam__ListResponse *resp);
/* The table with its header, or nothing when there is no allocation. */
int ctl_allocations_table(struct buf *b, const Ipam__ListResponse *resp);

int ctl_tree_json(struct json *j, const Ipam__TreeResponse *resp);
int ctl_tree_text(struct buf *b, const Ipam__TreeResponse *resp);

#endif
