/* `straitctl tun status`: strait-tun's answer to tun.Control/Status
 * (proto/tun.proto) as straitctl prints it. The command is ctl_tun_status
 * (command.h); these are its pure halves.
 *
 * Text (the first line is one line; it is cut here to fit):
 *	node n1, trench trench-a: strait-tun0 mtu 1444, underlay 198.18.1.2
 *	  port 7779
 *	service prefixes: 198.19.200.0/24 fd00:19:200::/64
 *	NSP connected; registered as TUNNEL; tables ready
 *
 *	services (1):
 *	  SERVICE  ADDRESSES                      POLICY  INSTANCES  LOCAL  MAX
 *	  web      198.19.200.10,fd00:19:200::10  spread  2          0      10
 *
 *	instances (2):
 *	  SERVICE  ID  ADDRESSES                  NODE
 *	  web      1   198.19.2.11,fd00:19:2::11  n2
 *	  web      2   198.19.4.11                n4 (no tunnel)
 *
 *	nodes (2):
 *	  NODE            UNDERLAY    PORT
 *	  n1 (this node)  198.18.1.2  7779
 *	  n2              198.18.2.2  7779
 *
 *	traffic:                  PACKETS  BYTES
 *	  read from strait-tun0   5        420
 *	  written to strait-tun0  5        420
 *	  received over UDP       5        460
 *	  sent over UDP           5        460
 *	flows 3 of 262144, placed 1, forgotten 0
 *	UDP sends 5, receive batches 5, merged segments 0
 *	MSS clamped 0, unreachables sent 0
 *	drops: no_instance 2, not_ready 1
 *
 * An instance's NODE says "(this node)" for a local one and "(no tunnel)"
 * when its node has no TUNNEL registration (its flows are dropped,
 * no_node). Drops list only the reasons that are not zero ("drops: none"
 * when all are). Empty tables print "no services", "no instances", "no
 * nodes"; an empty name "-". Every name comes from the network: text
 * output replaces control characters with '?', JSON escapes them.
 *
 * JSON, pretty: every field of StatusResponse under its camelCase name,
 * in the proto's order, each always present; a service has name,
 * addresses, policy, maxInstances, instances (identifier, addresses,
 * node, local, reachable), nLocal; a node name, address, port, self;
 * "counters" holds the Counters fields (deviceRxPackets ...
 * flowsForgotten) and "drops", an object from reason to count.
 *
 * Both append to out and return 0, or -ENOMEM (out then holds a partial
 * text, which the caller drops).
 */
#ifndef STRAIT_CTL_TUN_STATUS_H
#define STRAIT_CTL_TUN_STATUS_H

#include "buf.h"
#include "tun.pb-c.h"

int ctl_tun_status_text(struct buf *out, const Tun__StatusResponse *r);
int ctl_tun_status_json(struct buf *out, const Tun__StatusResponse *r);

#endif
