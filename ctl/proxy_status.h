/* `straitctl proxy status`: strait-proxy's answer to proxy.Local/Status
 * (proto/proxy.proto) as straitctl prints it. The command is
 * ctl_proxy_status (command.h); these are its pure halves.
 *
 * Text:
 *	trench trench-a, conduit lb, node node-1
 *	bridge stb-lb: 169.255.1.1/24 fd00:169:255:1::1/64; egress table 200
 *	NSP connected; IPAM connected; registered in NSP
 *
 *	pods (1):
 *	  NAME   IPS             MAC  BRIDGE-PORT  NETNS            UP
 *	  pod-a  169.255.1.2/24  ...  stv1a2b3c4d  /proc/42/ns/net  yes
 *
 *	LB links (1):
 *	  ...the same columns...
 *
 *	egress nexthops IPv4: 169.255.1.20
 *	egress nexthops IPv6: none
 *	egress VIPs: 20.0.0.1/32
 *
 * An empty name prints "-", an empty list "none" ("no pods", "no LB
 * links" for the tables). Every value comes from the network: text output
 * replaces control characters with '?', JSON escapes them.
 *
 * JSON, pretty: every field of StatusResponse under its camelCase name,
 * in the proto's order, each always present; an attachment (in "pods" and
 * "lbs") has name, netns, bridgePort, ifname, ips, mac, up.
 *
 * Both append to out and return 0, or -ENOMEM (out then holds a partial
 * text, which the caller drops).
 */
#ifndef STRAIT_CTL_PROXY_STATUS_H
#define STRAIT_CTL_PROXY_STATUS_H

#include "buf.h"
#include "proxy.pb-c.h"

int ctl_proxy_status_text(struct buf *out, const Proxy__StatusResponse *r);
int ctl_proxy_status_json(struct buf *out, const Proxy__StatusResponse *r);

#endif
