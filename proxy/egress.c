/* Egress: replies from the pods (source a VIP) leave over every live LB.
 *
 *   from VIP lookup T  (one rule per VIP, both families, --rule-priority)
 *   table T: default  nexthop via LB-1's link address
 *                     nexthop via LB-2's link address ...
 *
 * The kernel spreads flows over the nexthops by their L4 hash
 * (fib_multipath_hash_policy 1, set by node.c). The rules follow NSP's
 * VIPs; the route follows the linked LBs. Rules an earlier run left are
 * read at start and kept when still wanted, so a restart changes nothing
 * that is right already. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "proxy.h"
#include "rtnl.h"

static bool in(const struct cidr *set, size_t n, const struct cidr *c)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_equal(&set[i], c))
			return true;
	return false;
}

static int adopt_rule(const struct rtnl_rule_info *r, void *arg)
{
	struct proxy *p = arg;
	if (r->table != p->opt->table || !r->src.family ||
	    p->n_ruled == PROXY_MAX_VIPS || in(p->ruled, p->n_ruled, &r->src))
		return 0;
	p->ruled[p->n_ruled++] = r->src;
	return 0;
}

void proxy_egress_init(struct proxy *p)
{
	char err[256];
	p->n_ruled = 0;
	if (rtnl_rule_list(p->rtnl, AF_UNSPEC, adopt_rule, p, err,
			   sizeof(err)) < 0)
		log_warn("egress: cannot read the rules: %s", err);
	else if (p->n_ruled)
		log_info("egress: adopted %zu rule(s) of table %u", p->n_ruled,
			 p->opt->table);
	p->n_nexthops[0] = p->n_nexthops[1] = (size_t)-1; /* unknown */
}

static void fmt(const struct cidr *c, char *s, size_t n)
{
	if (cidr_format(c, s, n) < 0)
		snprintf(s, n, "?");
}

static void rules(struct proxy *p)
{
	char err[256], s[64];
	for (size_t i = 0; i < p->n_ruled;) {
		if (in(p->vips, p->n_vips, &p->ruled[i])) {
			i++;
			continue;
		}
		int rc = rtnl_rule_del_from(p->rtnl, &p->ruled[i],
					    p->opt->table, 0, err, sizeof(err));
		fmt(&p->ruled[i], s, sizeof(s));
		if (rc < 0 && rc != -ENOENT) {
			log_warn("egress: cannot remove the rule from %s: %s", s,
				 err);
			i++;
			continue;
		}
		log_info("egress: removed the rule from %s", s);
		p->stats.rule_changes++;
		p->ruled[i] = p->ruled[--p->n_ruled];
	}
	for (size_t i = 0; i < p->n_vips; i++) {
		if (in(p->ruled, p->n_ruled, &p->vips[i]))
			continue;
		int rc = rtnl_rule_add_from(p->rtnl, &p->vips[i], p->opt->table,
					    p->opt->rule_priority, err,
					    sizeof(err));
		fmt(&p->vips[i], s, sizeof(s));
		if (rc < 0 && rc != -EEXIST) {
			log_warn("egress: cannot add the rule from %s: %s", s,
				 err);
			continue;
		}
		log_info("egress: from %s lookup %u", s, p->opt->table);
		p->stats.rule_changes++;
		p->ruled[p->n_ruled++] = p->vips[i];
	}
}

static void route(struct proxy *p, int f)
{
	int family = f ? AF_INET6 : AF_INET;
	struct cidr nh[PROXY_MAX_LBS];
	size_t n = 0;
	for (struct proxy_att *a = p->atts; a && n < PROXY_MAX_LBS; a = a->next)
		if (a->kind == PROXY_LB && a->state == ATT_LINKED && !a->gone &&
		    a->addr[f].family)
			nh[n++] = a->addr[f];
	if (n == p->n_nexthops[f]) {
		size_t same = 0;
		for (size_t i = 0; i < n; i++)
			same += in(p->nexthops[f], n, &nh[i]);
		if (same == n)
			return;
	}
	char err[256];
	int rc;
	if (n)
		rc = rtnl_route_replace_multipath(p->rtnl, family, p->opt->table,
						  NULL, NULL, nh, n, err,
						  sizeof(err));
	else
		rc = rtnl_route_flush_table(p->rtnl, family, p->opt->table, err,
					    sizeof(err));
	if (rc == -ENOENT && !n)
		rc = 0; /* no table: nothing to flush */
	if (rc < 0) {
		log_warn("egress: cannot set the IPv%d route of table %u: %s",
			 f ? 6 : 4, p->opt->table, err);
		p->n_nexthops[f] = (size_t)-1; /* try again next pass */
		return;
	}
	memcpy(p->nexthops[f], nh, n * sizeof(nh[0]));
	p->n_nexthops[f] = n;
	p->stats.egress_updates++;
	log_info("egress: IPv%d leaves over %zu LB(s)", f ? 6 : 4, n);
}

void proxy_egress_update(struct proxy *p)
{
	if (p->vips_known)
		rules(p);
	for (int f = 0; f < 2; f++)
		route(p, f);
}

void proxy_egress_fini(struct proxy *p)
{
	p->n_vips = 0;
	p->vips_known = true;
	rules(p);
	char err[256];
	for (int f = 0; f < 2; f++)
		rtnl_route_flush_table(p->rtnl, f ? AF_INET6 : AF_INET,
				       p->opt->table, err, sizeof(err));
}
