/* Policy routing to targets: for the target with mark M, in each family it
 * has an address of,
 *
 *   ip rule add fwmark M lookup M priority P
 *   ip route replace default via <target address> table M
 *
 * The kernel refuses a gateway that is not on a connected network, which
 * is exactly "not reachable yet": the target waits (apply.c retries) and
 * enters the Maglev table only once every family it has is routed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "log.h"

static const int families[2] = { AF_INET, AF_INET6 };

static void unroute_family(struct lb *lb, struct lb_target *t, int f)
{
	char err[256];
	int fam = families[f];
	if (rtnl_route_flush_table(lb->rtnl, fam, t->mark, err, sizeof(err)) < 0)
		log_warn("routes: table %u: %s", t->mark, err);
	int rc = rtnl_rule_del(lb->rtnl, fam, t->mark, t->mark,
			       lb->opt->rule_priority, err, sizeof(err));
	if (rc < 0 && rc != -ENOENT)
		log_warn("routes: rule for mark %u: %s", t->mark, err);
	t->routed[f] = false;
	lb->rebuild.routes_removed++;
}

void lb_unroute_target(struct lb *lb, struct lb_target *t)
{
	if (!t->mark)
		return;
	for (int f = 0; f < 2; f++)
		if (t->routed[f])
			unroute_family(lb, t, f);
	t->mark = 0;
	t->ready = false;
}

int lb_route_target(struct lb *lb, struct lb_target *t, uint32_t mark)
{
	if (t->mark && t->mark != mark)
		lb_unroute_target(lb, t);
	t->mark = mark;
	t->waiting[0] = '\0';
	bool ready = true;
	for (int f = 0; f < 2; f++) {
		if (!t->addr[f].family || t->routed[f])
			continue;
		char err[200], addr[CIDR_STRLEN];
		int fam = families[f];
		int rc = rtnl_rule_add(lb->rtnl, fam, mark, mark,
				       lb->opt->rule_priority, err, sizeof(err));
		if (rc == 0 || rc == -EEXIST)
			rc = rtnl_route_replace(lb->rtnl, fam, mark, NULL,
						&t->addr[f], 0, err,
						sizeof(err));
		if (rc < 0) {
			cidr_format_ip(&t->addr[f], addr, sizeof(addr));
			snprintf(t->waiting, sizeof(t->waiting),
				 "%s not reachable: %s", addr, err);
			lb->rebuild.routes_failed++;
			ready = false;
			continue;
		}
		t->routed[f] = true;
		lb->rebuild.routes_added++;
	}
	if (ready && !t->ready)
		log_info("target %s/%u: routed with mark %u", t->stream, t->id,
			 mark);
	else if (!ready && t->ready)
		log_warn("target %s/%u: %s", t->stream, t->id, t->waiting);
	t->ready = ready;
	return ready ? 0 : -ENETUNREACH;
}

struct tables {
	uint32_t lo, hi;
	uint32_t *list;
	size_t n, cap;
};

static int collect(const struct rtnl_route_info *r, void *arg)
{
	struct tables *ts = arg;
	if (r->table < ts->lo || r->table > ts->hi)
		return 0;
	for (size_t i = 0; i < ts->n; i++)
		if (ts->list[i] == r->table)
			return 0;
	if (ts->n == ts->cap) {
		size_t cap = ts->cap ? ts->cap * 2 : 64;
		uint32_t *l = realloc(ts->list, cap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		ts->list = l;
		ts->cap = cap;
	}
	ts->list[ts->n++] = r->table;
	return 0;
}

int lb_routes_flush_range(struct rtnl *r, uint32_t lo, uint32_t hi, char *err,
			  size_t errlen)
{
	int rc = rtnl_rule_flush_table_range(r, AF_UNSPEC, lo, hi, err, errlen);
	if (rc < 0)
		return rc;
	struct tables ts = { .lo = lo, .hi = hi };
	rc = rtnl_route_list(r, AF_UNSPEC, 0, collect, &ts, err, errlen);
	for (size_t i = 0; rc == 0 && i < ts.n; i++)
		rc = rtnl_route_flush_table(r, AF_UNSPEC, ts.list[i], err,
					    errlen);
	free(ts.list);
	return rc;
}
