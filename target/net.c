/* strait-target's netlink. See net.h. */
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errtext.h"
#include "rtnl.h"

struct tgt_net {
	struct rtnl *rt;
	int lo;
	uint32_t priority;
};

int tgt_net_open(uint32_t priority, struct tgt_net **out, char *err,
		 size_t errlen)
{
	struct tgt_net *n = calloc(1, sizeof(*n));
	if (!n)
		return errtext(-ENOMEM, err, errlen, "out of memory");
	n->priority = priority;
	int rc = rtnl_open(&n->rt);
	if (rc < 0) {
		errtext(rc, err, errlen, "rtnetlink: %s", strerror(-rc));
		goto fail;
	}
	rc = rtnl_link_index(n->rt, "lo", &n->lo, err, errlen);
	if (rc < 0)
		goto fail;
	/* A new namespace's lo is down, and a VIP on a down lo is not
	 * delivered locally. */
	rc = rtnl_link_set_up(n->rt, n->lo, true, err, errlen);
	if (rc < 0)
		goto fail;
	*out = n;
	return 0;
fail:
	tgt_net_close(n);
	return rc;
}

void tgt_net_close(struct tgt_net *n)
{
	if (!n)
		return;
	rtnl_close(n->rt);
	free(n);
}

static bool ours(uint32_t table)
{
	return table >= TGT_TABLE_BASE && table <= TGT_TABLE_LAST;
}

struct scan {
	struct tgt_vipset addrs; /* the host sources of our rules */
	uint64_t tables;	 /* a bit per table of ours with routes */
	size_t rules;		 /* rules of ours */
	int rc;
};

static int rule_cb(const struct rtnl_rule_info *rule, void *arg)
{
	struct scan *s = arg;
	s->rules += ours(rule->table);
	if (!ours(rule->table) || !rule->src.family ||
	    rule->src.len != cidr_width(&rule->src))
		return 0;
	if (tgt_vipset_add(&s->addrs, &rule->src) < 0) {
		s->rc = -ENOMEM;
		return 1;
	}
	return 0;
}

static int route_cb(const struct rtnl_route_info *route, void *arg)
{
	struct scan *s = arg;
	if (ours(route->table))
		s->tables |= 1ull << (route->table - TGT_TABLE_BASE);
	return 0;
}

int tgt_net_cleanup(struct tgt_net *n, struct tgt_net_cleaned *done,
		    char *err, size_t errlen)
{
	struct scan s = { 0 };
	memset(done, 0, sizeof(*done));
	int rc = rtnl_rule_list(n->rt, AF_UNSPEC, rule_cb, &s, err, errlen);
	if (rc == 0 && s.rc)
		rc = errtext(s.rc, err, errlen, "out of memory");
	if (rc < 0)
		goto out;
	done->rules = s.rules;
	/* The addresses first: while their rules exist, a failure here
	 * leaves the record for the next attempt. */
	for (size_t i = 0; i < s.addrs.n; i++) {
		struct cidr a = s.addrs.v[i];
		rc = rtnl_addr_del(n->rt, n->lo, &a, err, errlen);
		if (rc == 0)
			done->addrs++;
		else if (rc != -EADDRNOTAVAIL)
			goto out;
	}
	rc = rtnl_rule_flush_table_range(n->rt, AF_UNSPEC, TGT_TABLE_BASE,
					 TGT_TABLE_LAST, err, errlen);
	if (rc < 0)
		goto out;
	rc = rtnl_route_list(n->rt, AF_UNSPEC, 0, route_cb, &s, err, errlen);
	if (rc < 0)
		goto out;
	for (unsigned k = 0; k < TGT_SLOTS; k++) {
		if (!(s.tables & (1ull << k)))
			continue;
		rc = rtnl_route_flush_table(n->rt, AF_UNSPEC,
					    TGT_TABLE_BASE + k, err, errlen);
		if (rc < 0)
			goto out;
		done->tables++;
	}
out:
	tgt_vipset_free(&s.addrs);
	return rc;
}

int tgt_net_route(struct tgt_net *n, uint32_t table, const struct tgt_link *l,
		  char *err, size_t errlen)
{
	int ifindex;
	int rc = rtnl_link_index(n->rt, l->ifname, &ifindex, err, errlen);
	if (rc < 0)
		return rc;
	for (int f = 0; f < 2; f++) {
		if (!l->gw[f].family)
			continue;
		rc = rtnl_route_replace(n->rt, l->gw[f].family, table, NULL,
					&l->gw[f], ifindex, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int tgt_net_unroute(struct tgt_net *n, uint32_t table, char *err,
		    size_t errlen)
{
	return rtnl_route_flush_table(n->rt, AF_UNSPEC, table, err, errlen);
}

int tgt_net_vip_add(struct tgt_net *n, const struct cidr *vip, uint32_t table,
		    char *err, size_t errlen)
{
	int rc = rtnl_rule_add_from(n->rt, vip, table, n->priority, err,
				    errlen);
	if (rc < 0 && rc != -EEXIST)
		return rc;
	rc = rtnl_addr_add(n->rt, n->lo, vip, err, errlen);
	if (rc < 0 && rc != -EEXIST)
		return rc;
	return 0;
}

int tgt_net_vip_del(struct tgt_net *n, const struct cidr *vip, uint32_t table,
		    bool keep_addr, char *err, size_t errlen)
{
	int rc;
	if (!keep_addr) {
		rc = rtnl_addr_del(n->rt, n->lo, vip, err, errlen);
		if (rc < 0 && rc != -EADDRNOTAVAIL)
			return rc;
	}
	rc = rtnl_rule_del_from(n->rt, vip, table, n->priority, err, errlen);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	return 0;
}
