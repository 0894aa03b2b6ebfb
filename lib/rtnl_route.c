/* lib/rtnl: routes (RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE).
 *
 * A multipath route on the wire (RTA_MULTIPATH) is a run of rtnexthop
 * headers, each followed by its own attributes:
 *
 *   RTA_MULTIPATH
 *   +------------------------------+------------------+------------------+
 *   | rtnexthop {len,flags,hops,if}| RTA_GATEWAY addr | rtnexthop ...    |
 *   +------------------------------+------------------+------------------+
 *   |<----------- rtnh_len ------------------------->|
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/rtnetlink.h>

#include "errtext.h"
#include "rtnl_impl.h"

/* What parse_route() keeps from a dump or a get. */
struct filter {
	int family;	/* AF_UNSPEC: both inet families */
	uint32_t table; /* 0: any */
	bool cloned_ok; /* a get's answer is a clone; a dump's clones are not
			   routes */
};

static int inet(int family)
{
	return family == AF_INET || family == AF_INET6;
}

static int check_prefix(const struct cidr *c, int family)
{
	if (rtnl_check_family(c, family) < 0)
		return -EINVAL;
	return !c || c->len <= cidr_width(c) ? 0 : -EINVAL;
}

/* Starts a route request for the table and prefixes. A new route is a
 * static unicast one; a delete leaves type 0 and scope NOWHERE, which the
 * kernel reads as "any" (as "ip route del" does). */
static struct nlmsghdr *route_msg(struct rtnl *r, uint16_t type, uint16_t flags,
				  int family, uint32_t table,
				  const struct cidr *dst,
				  const struct cidr *src)
{
	struct rtmsg *rtm;
	struct nlmsghdr *nlh =
	    rtnl_msg(r, type, flags, sizeof(*rtm), (void **)&rtm);
	struct cidr p;

	rtm->rtm_family = (uint8_t)family;
	/* The header's table is 8 bits; RTA_TABLE carries the real one. */
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (type == RTM_NEWROUTE) {
		rtm->rtm_protocol = RTPROT_STATIC;
		rtm->rtm_scope = RT_SCOPE_UNIVERSE;
		rtm->rtm_type = RTN_UNICAST;
	} else {
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	}
	if (dst && dst->len) {
		p = *dst;
		cidr_mask(&p);
		rtm->rtm_dst_len = p.len;
		rtnl_put_addr(nlh, RTA_DST, &p);
	}
	if (src && src->len) {
		p = *src;
		cidr_mask(&p);
		rtm->rtm_src_len = p.len;
		rtnl_put_addr(nlh, RTA_SRC, &p);
	}
	return nlh;
}

int rtnl_route_replace(struct rtnl *r, int family, uint32_t table,
		       const struct cidr *dst, const struct cidr *gateway,
		       int oif, char *err, size_t errlen)
{
	struct nlmsghdr *nlh;

	if (!inet(family) || !table || check_prefix(dst, family) < 0 ||
	    rtnl_check_family(gateway, family) < 0 || (!gateway && !oif))
		return errtext(-EINVAL, err, errlen,
			       "route replace: needs a family, a table, "
			       "prefixes of that family and a gateway or oif");
	nlh = route_msg(r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, family,
			table, dst, NULL);
	if (gateway)
		rtnl_put_addr(nlh, RTA_GATEWAY, gateway);
	else
		((struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_scope =
		    RT_SCOPE_LINK;
	if (oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	return rtnl_talk(r, NULL, NULL, "route replace", err, errlen);
}

int rtnl_route_del(struct rtnl *r, int family, uint32_t table,
		   const struct cidr *dst, const struct cidr *gateway, int oif,
		   char *err, size_t errlen)
{
	struct nlmsghdr *nlh;

	if (!inet(family) || !table || check_prefix(dst, family) < 0 ||
	    rtnl_check_family(gateway, family) < 0)
		return errtext(-EINVAL, err, errlen,
			       "route del: needs a family, a table and "
			       "prefixes of that family");
	nlh = route_msg(r, RTM_DELROUTE, 0, family, table, dst, NULL);
	if (gateway)
		rtnl_put_addr(nlh, RTA_GATEWAY, gateway);
	if (oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	return rtnl_talk(r, NULL, NULL, "route del", err, errlen);
}

int rtnl_route_replace_multipath(struct rtnl *r, int family, uint32_t table,
				 const struct cidr *dst, const struct cidr *src,
				 const struct cidr *gateways, size_t n,
				 char *err, size_t errlen)
{
	struct nlmsghdr *nlh;
	struct nlattr *mp;

	if (n > RTNL_NEXTHOPS_MAX)
		return errtext(-E2BIG, err, errlen,
			       "route replace multipath: %zu nexthops, at most "
			       "%d",
			       n, RTNL_NEXTHOPS_MAX);
	if (!inet(family) || !table || !n || check_prefix(dst, family) < 0 ||
	    check_prefix(src, family) < 0)
		return errtext(-EINVAL, err, errlen,
			       "route replace multipath: needs a family, a "
			       "table, gateways and prefixes of that family");
	if (family == AF_INET && src && src->len)
		return errtext(-EINVAL, err, errlen,
			       "route replace multipath: IPv4 has no "
			       "source-specific routes, use a rule");
	for (size_t i = 0; i < n; i++)
		if (gateways[i].family != family)
			return errtext(-EINVAL, err, errlen,
				       "route replace multipath: gateway %zu "
				       "is of another family",
				       i);

	nlh = route_msg(r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, family,
			table, dst, src);
	mp = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
	for (size_t i = 0; i < n; i++) {
		struct rtnexthop *rtnh = mnl_nlmsg_get_payload_tail(nlh);

		memset(rtnh, 0, sizeof(*rtnh));
		nlh->nlmsg_len += RTNH_LENGTH(0);
		rtnl_put_addr(nlh, RTA_GATEWAY, &gateways[i]);
		rtnh->rtnh_len =
		    (unsigned short)((char *)mnl_nlmsg_get_payload_tail(nlh) -
				     (char *)rtnh);
	}
	mnl_attr_nest_end(nlh, mp);
	return rtnl_talk(r, NULL, NULL, "route replace multipath", err, errlen);
}

static int nh_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **gw = data;

	if (mnl_attr_get_type(a) == RTA_GATEWAY)
		*gw = a;
	return MNL_CB_OK;
}

/* Reads the rtnexthop entries of RTA_MULTIPATH into route->nh. */
static int parse_multipath(const struct nlattr *mp,
			   struct rtnl_route_info *route)
{
	const struct rtnexthop *rtnh = mnl_attr_get_payload(mp);
	size_t left = mnl_attr_get_payload_len(mp);

	while (left >= sizeof(*rtnh) && rtnh->rtnh_len >= sizeof(*rtnh) &&
	       rtnh->rtnh_len <= left) {
		if (route->nexthops < RTNL_NEXTHOPS_MAX) {
			struct rtnl_nexthop *nh = &route->nh[route->nexthops];
			const struct nlattr *gw = NULL;

			nh->oif = rtnh->rtnh_ifindex;
			nh->weight = rtnh->rtnh_hops;
			if (mnl_attr_parse_payload(RTNH_DATA(rtnh),
						   rtnh->rtnh_len -
						       RTNH_LENGTH(0),
						   nh_attr_cb, &gw) < 0)
				return -EBADMSG;
			if (gw &&
			    rtnl_get_addr(gw, route->family, &nh->gateway) < 0)
				return -EBADMSG;
		}
		route->nexthops++;
		if ((size_t)RTNH_ALIGN(rtnh->rtnh_len) >= left)
			break;
		left -= (size_t)RTNH_ALIGN(rtnh->rtnh_len);
		rtnh = RTNH_NEXT(rtnh);
	}
	return 0;
}

/* Reads a prefix attribute; absent means the family's /0. */
static int get_prefix(const struct nlattr *a, int family, uint8_t len,
		      struct cidr *out)
{
	memset(out, 0, sizeof(*out));
	out->family = family;
	if (a && rtnl_get_addr(a, family, out) < 0)
		return -EBADMSG;
	if (len > out->len && a)
		return -EBADMSG;
	out->len = a ? len : 0;
	return 0;
}

static int parse_route(const struct nlmsghdr *nlh, void *item, void *arg)
{
	const struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct filter *f = arg;
	struct rtnl_route_info *route = item;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	if (rtnl_parse_attrs(nlh, sizeof(*rtm), tb, RTA_MAX) < 0)
		return -EBADMSG;
	/* A dump of AF_UNSPEC also brings multicast routing tables. */
	if (!inet(rtm->rtm_family) ||
	    (f->family != AF_UNSPEC && rtm->rtm_family != f->family))
		return 0;
	if ((rtm->rtm_flags & RTM_F_CLONED) && !f->cloned_ok)
		return 0;
	memset(route, 0, sizeof(*route));
	route->family = rtm->rtm_family;
	route->table = rtnl_attr_u32(tb[RTA_TABLE], rtm->rtm_table);
	if (f->table && route->table != f->table)
		return 0;
	route->type = rtm->rtm_type;
	route->protocol = rtm->rtm_protocol;
	route->scope = rtm->rtm_scope;
	route->metric = rtnl_attr_u32(tb[RTA_PRIORITY], 0);
	route->oif = (int)rtnl_attr_u32(tb[RTA_OIF], 0);
	if (get_prefix(tb[RTA_DST], route->family, rtm->rtm_dst_len,
		       &route->dst) < 0 ||
	    get_prefix(tb[RTA_SRC], route->family, rtm->rtm_src_len,
		       &route->src) < 0)
		return -EBADMSG;
	if (tb[RTA_PREFSRC] &&
	    rtnl_get_addr(tb[RTA_PREFSRC], route->family, &route->prefsrc) < 0)
		return -EBADMSG;
	if (tb[RTA_GATEWAY] &&
	    rtnl_get_addr(tb[RTA_GATEWAY], route->family, &route->gateway) < 0)
		return -EBADMSG;
	if (tb[RTA_MULTIPATH] && parse_multipath(tb[RTA_MULTIPATH], route) < 0)
		return -EBADMSG;
	return 1;
}

/* Reads the routes of family in table (0: all) into vec. */
static int dump_routes(struct rtnl *r, int family, uint32_t table,
		       struct rtnl_vec *vec, const char *what, char *err,
		       size_t errlen)
{
	struct filter f = {family, table, false};
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	nlh =
	    rtnl_msg(r, RTM_GETROUTE, NLM_F_DUMP, sizeof(*rtm), (void **)&rtm);
	rtm->rtm_family = (uint8_t)family;
	/* With strict checking the kernel filters by table itself; without
	 * it this is ignored and parse_route() filters. */
	if (table) {
		rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
		mnl_attr_put_u32(nlh, RTA_TABLE, table);
	}
	return rtnl_dump(r, vec, parse_route, &f, what, err, errlen);
}

int rtnl_route_list(struct rtnl *r, int family, uint32_t table,
		    rtnl_route_cb cb, void *arg, char *err, size_t errlen)
{
	struct rtnl_vec vec = {.size = sizeof(struct rtnl_route_info)};
	const struct rtnl_route_info *routes;
	int rc;

	if (family != AF_UNSPEC && !inet(family))
		return errtext(-EINVAL, err, errlen, "route list: bad family");
	rc = dump_routes(r, family, table, &vec, "route list", err, errlen);
	routes = vec.items;
	for (size_t i = 0; !rc && i < vec.n; i++)
		rc = cb(&routes[i], arg);
	free(vec.items);
	return rc;
}

int rtnl_route_flush_table(struct rtnl *r, int family, uint32_t table,
			   char *err, size_t errlen)
{
	struct rtnl_vec vec = {.size = sizeof(struct rtnl_route_info)};
	const struct rtnl_route_info *routes;
	int rc;

	if ((family != AF_UNSPEC && !inet(family)) || !table)
		return errtext(-EINVAL, err, errlen,
			       "route flush: bad family or table 0");
	/* Dump first, then delete: requests cannot be sent while a dump is
	 * still being read on the same socket. */
	rc = dump_routes(r, family, table, &vec, "route flush", err, errlen);
	routes = vec.items;
	for (size_t i = 0; !rc && i < vec.n; i++) {
		const struct rtnl_route_info *rt = &routes[i];
		struct nlmsghdr *nlh;

		/* Without gateway or oif the kernel deletes every path of
		 * a multipath route at once; the metric tells apart routes
		 * to the same prefix. */
		nlh = route_msg(r, RTM_DELROUTE, 0, rt->family, rt->table,
				&rt->dst, &rt->src);
		if (rt->metric)
			mnl_attr_put_u32(nlh, RTA_PRIORITY, rt->metric);
		rc = rtnl_talk(r, NULL, NULL, "route flush", err, errlen);
		if (rc == -ESRCH || rc == -ENOENT)
			rc = 0;
	}
	free(vec.items);
	return rc;
}

static int get_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct filter f = {AF_UNSPEC, 0, true};
	int rc = parse_route(nlh, arg, &f);

	return rc < 0 ? rc : 0;
}

int rtnl_route_get(struct rtnl *r, const struct cidr *dst,
		   struct rtnl_route_info *out, char *err, size_t errlen)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int rc;

	if (!dst || !inet(dst->family))
		return errtext(-EINVAL, err, errlen, "route get: bad address");
	memset(out, 0, sizeof(*out));
	nlh = rtnl_msg(r, RTM_GETROUTE, 0, sizeof(*rtm), (void **)&rtm);
	rtm->rtm_family = (uint8_t)dst->family;
	rtm->rtm_dst_len = (uint8_t)cidr_width(dst);
	rtnl_put_addr(nlh, RTA_DST, dst);
	rc = rtnl_talk(r, get_cb, out, "route get", err, errlen);
	if (!rc && !out->family)
		return errtext(-EBADMSG, err, errlen,
			       "route get: the kernel answered no route");
	return rc;
}
