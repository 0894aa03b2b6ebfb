/* Which daemon a straitctl command talks to, and at what address.
 *
 *	group   option    else the variable   else
 *	nsp     --nsp     $STRAIT_NSP         127.0.0.1:7778
 *	ipam    --ipam    $STRAIT_IPAM        127.0.0.1:7777
 *	lb      --lb      $STRAIT_LB          unix:/run/strait/lb.sock
 *	proxy   --proxy   $STRAIT_PROXY       unix:/run/strait/proxy.sock
 *	tun     --tun     $STRAIT_TUN         unix:/run/strait/tun.sock
 *
 * A variable counts only when it is set and not empty. $STRAIT_NSP is
 * resolved by ctl_args_parse (a->nsp), whose signature predates the other
 * groups; the others here. Pure: the caller reads the environment.
 *
 * strait-proxy's own default is unix:/run/strait/proxy-<conduit>.sock, one
 * per conduit: straitctl cannot guess the conduit, so with more than one
 * proxy on a node, or a proxy started without --local, give --proxy.
 */
#ifndef STRAIT_CTL_SERVER_H
#define STRAIT_CTL_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "args.h"

#define CTL_NSP_DEFAULT "127.0.0.1:7778"
#define CTL_NSP_PORT 7778
#define CTL_IPAM_DEFAULT "127.0.0.1:7777"
#define CTL_IPAM_PORT 7777
#define CTL_LB_DEFAULT "unix:/run/strait/lb.sock"
#define CTL_PROXY_DEFAULT "unix:/run/strait/proxy.sock"
#define CTL_TUN_DEFAULT "unix:/run/strait/tun.sock"

/* The environment variables above (not $STRAIT_NSP), NULL when unset. */
struct ctl_env {
	const char *ipam;
	const char *lb;
	const char *proxy;
	const char *tun;
};

/* The server a command talks to, as main resolves it. */
struct ctl_server {
	const char *addr;   /* HOST:PORT, [IPV6]:PORT, HOST or unix:PATH */
	uint16_t port;	    /* when addr has none; 0 for the local sockets */
	const char *option; /* "--nsp", "--ipam", "--lb", "--proxy", "--tun" */
};

/* The server of a->cmd, by the table above. The strings point into a,
 * env or static storage. */
void ctl_server_of(const struct ctl_args *a, const struct ctl_env *env,
		   struct ctl_server *out);

/* True for "ipam", "lb", "proxy" or "tun" alone or with one of its
 * commands. */
bool ctl_cmd_is_ipam(enum ctl_cmd cmd);
bool ctl_cmd_is_lb(enum ctl_cmd cmd);
bool ctl_cmd_is_proxy(enum ctl_cmd cmd);
bool ctl_cmd_is_tun(enum ctl_cmd cmd);

#endif
