/* lib/rtnl: links read whole, and the links strait-proxy creates: bridges
 * and veth pairs (RTM_NEWLINK / RTM_DELLINK / RTM_GETLINK).
 *
 * A veth pair is one request; the peer's own link message is nested in
 * it, with the namespace it is to be created in:
 *
 *   RTM_NEWLINK ifinfomsg  IFLA_IFNAME name  [IFLA_MTU]
 *   IFLA_LINKINFO
 *     IFLA_INFO_KIND "veth"
 *     IFLA_INFO_DATA
 *       VETH_INFO_PEER
 *         ifinfomsg  IFLA_IFNAME peer  [IFLA_NET_NS_FD fd]  [IFLA_MTU]
 *
 * The kernel creates both ends or neither, so a failure leaves nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "errtext.h"
#include "rtnl_impl.h"

static bool bad_name(const char *name)
{
	return !name || !name[0] || strlen(name) >= RTNL_IFNAMSIZ;
}

static void kind_of(const struct nlattr *linkinfo, struct rtnl_link_info *l)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, linkinfo)
	{
		if (mnl_attr_get_type(a) != IFLA_INFO_KIND ||
		    mnl_attr_validate(a, MNL_TYPE_STRING) < 0)
			continue;
		/* Not always NUL-terminated (iproute2 sends it without). */
		snprintf(l->kind, sizeof(l->kind), "%.*s",
			 (int)mnl_attr_get_payload_len(a), mnl_attr_get_str(a));
		return;
	}
}

static int parse_link(const struct nlmsghdr *nlh, void *item, void *arg)
{
	const struct nlattr *tb[IFLA_MAX + 1];
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct rtnl_link_info *l = item;

	(void)arg;
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	if (rtnl_parse_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX) < 0 ||
	    !tb[IFLA_IFNAME] ||
	    mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) < 0)
		return -EBADMSG;
	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	snprintf(l->name, sizeof(l->name), "%s",
		 mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_LINKINFO])
		kind_of(tb[IFLA_LINKINFO], l);
	l->master = (int)rtnl_attr_u32(tb[IFLA_MASTER], 0);
	/* Other hardware (loopback's is 6 zero bytes too, a tunnel's may be
	 * an IP address) leaves mac zero. */
	if (tb[IFLA_ADDRESS] &&
	    mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == sizeof(l->mac))
		memcpy(l->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]),
		       sizeof(l->mac));
	l->up = ifi->ifi_flags & IFF_UP;
	l->lower_up = ifi->ifi_flags & IFF_LOWER_UP;
	l->mtu = rtnl_attr_u32(tb[IFLA_MTU], 0);
	/* The kernel sends IFLA_LINK only when it differs from the index,
	 * and IFLA_LINK_NETNSID only when the peer is in another namespace. */
	l->link = (int)rtnl_attr_u32(tb[IFLA_LINK], 0);
	l->link_netnsid = (int)rtnl_attr_u32(tb[IFLA_LINK_NETNSID], -1u);
	return 1;
}

/* Asks for no statistics: they are most of a link message's bytes, and
 * nothing here reads them. */
static void skip_stats(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
}

struct got {
	struct rtnl_link_info *out;
	bool found;
};

static int get_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct got *g = arg;
	int rc = parse_link(nlh, g->out, NULL);

	if (rc > 0)
		g->found = true;
	return rc < 0 ? rc : 0;
}

int rtnl_link_get(struct rtnl *r, const char *name, struct rtnl_link_info *out,
		  char *err, size_t errlen)
{
	struct got g = {out, false};
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;
	int rc;

	if (bad_name(name))
		return errtext(-EINVAL, err, errlen,
			       "link get: bad interface name");
	nlh = rtnl_msg(r, RTM_GETLINK, 0, sizeof(*ifi), (void **)&ifi);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	skip_stats(nlh);
	rc = rtnl_talk(r, get_cb, &g, "link get", err, errlen);
	if (!rc && !g.found)
		return errtext(-EBADMSG, err, errlen,
			       "link get: the answer held no link");
	return rc;
}

int rtnl_link_list(struct rtnl *r, rtnl_link_cb cb, void *arg, char *err,
		   size_t errlen)
{
	struct rtnl_vec vec = {.size = sizeof(struct rtnl_link_info)};
	const struct rtnl_link_info *links;
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;
	int rc;

	nlh = rtnl_msg(r, RTM_GETLINK, NLM_F_DUMP, sizeof(*ifi), (void **)&ifi);
	skip_stats(nlh);
	rc = rtnl_dump(r, &vec, parse_link, NULL, "link list", err, errlen);
	links = vec.items;
	for (size_t i = 0; !rc && i < vec.n; i++)
		rc = cb(&links[i], arg);
	free(vec.items);
	return rc;
}

/* Starts an exclusive RTM_NEWLINK for name of kind; returns the open
 * IFLA_INFO_DATA nest, for the caller to fill and close with
 * close_link(). */
static struct nlattr *new_link(struct rtnl *r, const char *name,
			       const char *kind, uint32_t mtu,
			       struct nlattr **info)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh =
	    rtnl_msg(r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi),
		     (void **)&ifi);

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	*info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	return mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
}

static void close_link(struct rtnl *r, struct nlattr *info, struct nlattr *data)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)r->sbuf;

	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
}

int rtnl_bridge_add(struct rtnl *r, const char *name, char *err, size_t errlen)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)r->sbuf;
	struct nlattr *info, *data;

	if (bad_name(name))
		return errtext(-EINVAL, err, errlen,
			       "bridge add: bad interface name");
	data = new_link(r, name, "bridge", 0, &info);
	/* The kernel accepts a forward delay of 0 only with STP off, which a
	 * new bridge is (it applies the delay before the STP state, whatever
	 * their order here). Without STP there is no loop detection for a
	 * new port to wait for, so it may forward at once. */
	mnl_attr_put_u32(nlh, IFLA_BR_FORWARD_DELAY, 0);
	mnl_attr_put_u32(nlh, IFLA_BR_STP_STATE, 0);
	close_link(r, info, data);
	return rtnl_talk(r, NULL, NULL, "bridge add", err, errlen);
}

int rtnl_veth_add(struct rtnl *r, const char *name, const char *peer,
		  int peer_netns_fd, uint32_t mtu, char *err, size_t errlen)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)r->sbuf;
	struct nlattr *info, *data, *nest;

	if (bad_name(name) || bad_name(peer))
		return errtext(-EINVAL, err, errlen,
			       "veth add: bad interface name");
	if (peer_netns_fd < -1)
		return errtext(-EINVAL, err, errlen,
			       "veth add: bad namespace fd");
	data = new_link(r, name, "veth", mtu, &info);
	nest = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's header sits at the tail, inside the nest: what
	 * put_extra_header does, whatever came before. */
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_nest_end(nlh, nest);
	close_link(r, info, data);
	return rtnl_talk(r, NULL, NULL, "veth add", err, errlen);
}

int rtnl_link_del(struct rtnl *r, int ifindex, char *err, size_t errlen)
{
	struct ifinfomsg *ifi;

	if (ifindex <= 0)
		return errtext(-EINVAL, err, errlen, "link del: bad ifindex");
	rtnl_msg(r, RTM_DELLINK, 0, sizeof(*ifi), (void **)&ifi);
	ifi->ifi_index = ifindex;
	return rtnl_talk(r, NULL, NULL, "link del", err, errlen);
}

int rtnl_link_set_master(struct rtnl *r, int ifindex, int master, char *err,
			 size_t errlen)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	if (ifindex <= 0 || master < 0)
		return errtext(-EINVAL, err, errlen,
			       "link set master: bad ifindex");
	nlh = rtnl_msg(r, RTM_NEWLINK, 0, sizeof(*ifi), (void **)&ifi);
	ifi->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	return rtnl_talk(r, NULL, NULL, "link set master", err, errlen);
}

int rtnl_link_set_mac(struct rtnl *r, int ifindex, const uint8_t mac[6],
		      char *err, size_t errlen)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	if (ifindex <= 0)
		return errtext(-EINVAL, err, errlen,
			       "link set address: bad ifindex");
	nlh = rtnl_msg(r, RTM_NEWLINK, 0, sizeof(*ifi), (void **)&ifi);
	ifi->ifi_index = ifindex;
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	return rtnl_talk(r, NULL, NULL, "link set address", err, errlen);
}
