/* The node's side of the data path (docs/tun.md, "What it owns"): routes
 * for the service prefixes into the device, the reply table and its fwmark
 * rule, and the CONNMARK chain that steers the replies of tunnelled flows
 * back into the device. Everything is idempotent: a restart finds its own
 * rules and chain and keeps them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "errtext.h"
#include "log.h"
#include "rtnl.h"
#include "subproc.h"
#include "sysctl.h"
#include "tun.h"

#define RULES_TIMEOUT_MS 10000

static const char *tool(int family, bool restore)
{
	if (family == AF_INET)
		return restore ? "iptables-restore" : "iptables";
	return restore ? "ip6tables-restore" : "ip6tables";
}

/* The chain, rewritten whole in one transaction, and the jump to it from
 * mangle PREROUTING, added once. */
static int chain_apply(const struct tun_daemon *d, int family, char *err,
		       size_t len)
{
	const struct tun_options *o = d->opt;
	struct buf in = {0};
	char mark[32];
	snprintf(mark, sizeof(mark), "0x%x", o->fwmark);
	buf_printf(&in,
		   "*mangle\n:%s - [0:0]\n-F %s\n"
		   "-A %s -i %s -m conntrack --ctdir ORIGINAL "
		   "-j CONNMARK --set-xmark %s/%s\n"
		   "-A %s -m connmark --mark %s/%s -m conntrack --ctdir REPLY "
		   "-j MARK --set-mark %s\nCOMMIT\n",
		   TUN_CHAIN, TUN_CHAIN, TUN_CHAIN, o->dev, mark, mark,
		   TUN_CHAIN, mark, mark, mark);
	const char *restore[] = {tool(family, true), "-w", "--noflush", NULL};
	int rc = subproc_run(restore, &in, NULL, RULES_TIMEOUT_MS, err, len);
	buf_free(&in);
	if (rc < 0)
		return rc;
	const char *check[] = {
	    tool(family, false), "-w", "-t",	  "mangle", "-C",
	    "PREROUTING",	 "-j", TUN_CHAIN, NULL};
	char ignored[256];
	if (subproc_run(check, NULL, NULL, RULES_TIMEOUT_MS, ignored,
			sizeof(ignored)) == 0)
		return 0;
	const char *insert[] = {
	    tool(family, false), "-w", "-t",	  "mangle", "-I",
	    "PREROUTING",	 "-j", TUN_CHAIN, NULL};
	return subproc_run(insert, NULL, NULL, RULES_TIMEOUT_MS, err, len);
}

static void chain_remove(int family)
{
	char err[256];
	const char *del[] = {
	    tool(family, false), "-w", "-t",	  "mangle", "-D",
	    "PREROUTING",	 "-j", TUN_CHAIN, NULL};
	while (subproc_run(del, NULL, NULL, RULES_TIMEOUT_MS, err,
			   sizeof(err)) == 0)
		;
	const char *flush[] = {tool(family, false), "-w", "-t", "mangle", "-F",
			       TUN_CHAIN,	    NULL};
	const char *xdel[] = {tool(family, false), "-w", "-t", "mangle", "-X",
			      TUN_CHAIN,	   NULL};
	subproc_run(flush, NULL, NULL, RULES_TIMEOUT_MS, err, sizeof(err));
	subproc_run(xdel, NULL, NULL, RULES_TIMEOUT_MS, err, sizeof(err));
}

int tun_net_setup(struct tun_daemon *d, char *err, size_t len)
{
	const struct tun_options *o = d->opt;
	char path[128], e[512];
	int rc;
	if ((rc = sysctl_write("/proc/sys/net/ipv4/ip_forward", "1", err,
			       len)) < 0 ||
	    (rc = sysctl_write("/proc/sys/net/ipv6/conf/all/forwarding", "1",
			       err, len)) < 0)
		return rc;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter",
		 o->dev);
	if ((rc = sysctl_write(path, "0", err, len)) < 0)
		return rc;

	struct rtnl *r;
	if ((rc = rtnl_open(&r)) < 0)
		return errtext(rc, err, len, "rtnetlink: %s", strerror(-rc));
	for (size_t i = 0; i < o->n_prefixes && rc == 0; i++) {
		const struct cidr *p = &o->prefixes[i];
		rc = rtnl_route_replace(r, p->family, 254, p, NULL, d->ifindex,
					e, sizeof(e));
		if (rc < 0) {
			char txt[CIDR_STRLEN];
			cidr_format(p, txt, sizeof(txt));
			errtext(rc, err, len, "route %s dev %s: %s", txt,
				o->dev, e);
		}
	}
	const int fams[2] = {AF_INET, AF_INET6};
	for (int f = 0; f < 2 && rc == 0; f++) {
		rc = rtnl_route_replace(r, fams[f], o->table, NULL, NULL,
					d->ifindex, e, sizeof(e));
		if (rc < 0) {
			errtext(rc, err, len, "table %u: default dev %s: %s",
				o->table, o->dev, e);
			break;
		}
		rc = rtnl_rule_add(r, fams[f], o->fwmark, o->table,
				   o->rule_priority, e, sizeof(e));
		if (rc == -EEXIST)
			rc = 0;
		else if (rc < 0)
			errtext(rc, err, len, "rule fwmark 0x%x lookup %u: %s",
				o->fwmark, o->table, e);
	}
	rtnl_close(r);
	for (int f = 0; f < 2 && rc == 0; f++)
		if ((rc = chain_apply(d, fams[f], e, sizeof(e))) < 0)
			errtext(rc, err, len, "mangle chain %s: %s", TUN_CHAIN,
				e);
	return rc;
}

void tun_net_teardown(struct tun_daemon *d)
{
	const struct tun_options *o = d->opt;
	char e[256];
	struct rtnl *r;
	if (rtnl_open(&r) == 0) {
		const int fams[2] = {AF_INET, AF_INET6};
		for (int f = 0; f < 2; f++) {
			rtnl_rule_del(r, fams[f], o->fwmark, o->table,
				      o->rule_priority, e, sizeof(e));
			rtnl_route_flush_table(r, fams[f], o->table, e,
					       sizeof(e));
		}
		rtnl_close(r);
	}
	chain_remove(AF_INET);
	chain_remove(AF_INET6);
}
