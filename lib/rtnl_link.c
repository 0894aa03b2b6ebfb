/* lib/rtnl: links by name, addresses and neighbours. Creating links
 * (bridges, veth pairs) and reading them whole is lib/rtnl_dev.c.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "errtext.h"
#include "rtnl_impl.h"

static int index_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return -EBADMSG;
	*(int *)arg = ifi->ifi_index;
	return 0;
}

int rtnl_link_index(struct rtnl *r, const char *name, int *ifindex, char *err,
		    size_t errlen)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	if (!name || !name[0] || strlen(name) >= IFNAMSIZ)
		return errtext(-EINVAL, err, errlen,
			       "link index: bad interface name");
	*ifindex = 0;
	nlh = rtnl_msg(r, RTM_GETLINK, 0, sizeof(*ifi), (void **)&ifi);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return rtnl_talk(r, index_cb, ifindex, "link index", err, errlen);
}

int rtnl_link_set_up(struct rtnl *r, int ifindex, bool up, char *err,
		     size_t errlen)
{
	struct ifinfomsg *ifi;

	rtnl_msg(r, RTM_NEWLINK, 0, sizeof(*ifi), (void **)&ifi);
	ifi->ifi_index = ifindex;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	return rtnl_talk(r, NULL, NULL, "link set up", err, errlen);
}

static int addr_msg(struct rtnl *r, uint16_t type, uint16_t flags, int ifindex,
		    const struct cidr *addr)
{
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh;

	if (!addr || !rtnl_addr_size(addr->family) ||
	    addr->len > cidr_width(addr) || ifindex <= 0)
		return -EINVAL;
	nlh = rtnl_msg(r, type, flags, sizeof(*ifa), (void **)&ifa);
	ifa->ifa_family = (uint8_t)addr->family;
	ifa->ifa_prefixlen = addr->len;
	ifa->ifa_index = (uint32_t)ifindex;
	rtnl_put_addr(nlh, IFA_LOCAL, addr);
	rtnl_put_addr(nlh, IFA_ADDRESS, addr);
	if (type == RTM_NEWADDR && addr->family == AF_INET6) {
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	}
	return 0;
}

int rtnl_addr_add(struct rtnl *r, int ifindex, const struct cidr *addr,
		  char *err, size_t errlen)
{
	if (addr_msg(r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, addr) <
	    0)
		return errtext(-EINVAL, err, errlen, "addr add: bad address");
	return rtnl_talk(r, NULL, NULL, "addr add", err, errlen);
}

int rtnl_addr_del(struct rtnl *r, int ifindex, const struct cidr *addr,
		  char *err, size_t errlen)
{
	if (addr_msg(r, RTM_DELADDR, 0, ifindex, addr) < 0)
		return errtext(-EINVAL, err, errlen, "addr del: bad address");
	return rtnl_talk(r, NULL, NULL, "addr del", err, errlen);
}

struct addr {
	int ifindex;
	struct cidr addr;
};

static int parse_addr(const struct nlmsghdr *nlh, void *item, void *arg)
{
	const struct nlattr *tb[IFA_MAX + 1];
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	struct addr *out = item;
	const int *ifindex = arg;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return 0;
	if (rtnl_parse_attrs(nlh, sizeof(*ifa), tb, IFA_MAX) < 0)
		return -EBADMSG;
	if (*ifindex && (int)ifa->ifa_index != *ifindex)
		return 0;
	if (!rtnl_addr_size(ifa->ifa_family))
		return 0;
	/* IFA_LOCAL is the address itself; IFA_ADDRESS is the peer's on a
	 * point-to-point link, and the only one IPv6 sends. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a)
		return 0;
	out->ifindex = (int)ifa->ifa_index;
	if (rtnl_get_addr(a, ifa->ifa_family, &out->addr) < 0 ||
	    ifa->ifa_prefixlen > out->addr.len)
		return -EBADMSG;
	out->addr.len = ifa->ifa_prefixlen;
	return 1;
}

int rtnl_addr_list(struct rtnl *r, int ifindex, rtnl_addr_cb cb, void *arg,
		   char *err, size_t errlen)
{
	struct rtnl_vec vec = {.size = sizeof(struct addr)};
	const struct addr *as;
	struct ifaddrmsg *ifa;
	int rc;

	if (ifindex < 0)
		return errtext(-EINVAL, err, errlen, "addr list: bad ifindex");
	rtnl_msg(r, RTM_GETADDR, NLM_F_DUMP, sizeof(*ifa), (void **)&ifa);
	/* With strict checking the kernel filters on the index; without,
	 * parse_addr() does. */
	ifa->ifa_index = (uint32_t)ifindex;
	rc = rtnl_dump(r, &vec, parse_addr, &ifindex, "addr list", err, errlen);
	as = vec.items;
	for (size_t i = 0; !rc && i < vec.n; i++)
		rc = cb(as[i].ifindex, &as[i].addr, arg);
	free(vec.items);
	return rc;
}

struct neigh {
	int family;
	int ifindex;
	uint16_t state;
	struct cidr dst;
};

static int parse_neigh(const struct nlmsghdr *nlh, void *item, void *arg)
{
	const struct nlattr *tb[NDA_MAX + 1];
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct neigh *n = item;
	const int *ifindex = arg;

	if (nlh->nlmsg_type != RTM_NEWNEIGH)
		return 0;
	if (rtnl_parse_attrs(nlh, sizeof(*ndm), tb, NDA_MAX) < 0)
		return -EBADMSG;
	if (*ifindex && ndm->ndm_ifindex != *ifindex)
		return 0;
	if (!tb[NDA_DST] || !rtnl_addr_size(ndm->ndm_family))
		return 0;
	n->family = ndm->ndm_family;
	n->ifindex = ndm->ndm_ifindex;
	n->state = ndm->ndm_state;
	return rtnl_get_addr(tb[NDA_DST], n->family, &n->dst) < 0 ? -EBADMSG
								  : 1;
}

static int neigh_get_cb(const struct nlmsghdr *nlh, void *arg)
{
	int any = 0;
	int rc = parse_neigh(nlh, arg, &any);

	return rc < 0 ? rc : 0;
}

int rtnl_neigh_get(struct rtnl *r, int ifindex, const struct cidr *addr,
		   int *state, char *err, size_t errlen)
{
	struct neigh n = {0};
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;
	int rc;

	if (!addr || !rtnl_addr_size(addr->family) || ifindex <= 0)
		return errtext(-EINVAL, err, errlen, "neigh get: bad address");
	nlh = rtnl_msg(r, RTM_GETNEIGH, 0, sizeof(*ndm), (void **)&ndm);
	ndm->ndm_family = (uint8_t)addr->family;
	ndm->ndm_ifindex = ifindex;
	rtnl_put_addr(nlh, NDA_DST, addr);
	rc = rtnl_talk(r, neigh_get_cb, &n, "neigh get", err, errlen);
	if (!rc && !n.family)
		return errtext(-ENOENT, err, errlen, "neigh get: no entry");
	if (!rc)
		*state = n.state;
	return rc;
}

int rtnl_neigh_flush(struct rtnl *r, int ifindex, char *err, size_t errlen)
{
	static const int families[] = {AF_INET, AF_INET6};
	struct rtnl_vec vec = {.size = sizeof(struct neigh)};
	int rc = 0;

	if (ifindex <= 0)
		return errtext(-EINVAL, err, errlen,
			       "neigh flush: bad ifindex");
	/* One family at a time: an AF_UNSPEC dump would also bring the
	 * bridges' forwarding entries, which are not ours to flush. */
	for (size_t f = 0; !rc && f < 2; f++) {
		const struct neigh *ns;
		struct nlmsghdr *nlh;
		struct ndmsg *ndm;

		nlh = rtnl_msg(r, RTM_GETNEIGH, NLM_F_DUMP, sizeof(*ndm),
			       (void **)&ndm);
		ndm->ndm_family = (uint8_t)families[f];
		/* Strict checking wants the filter as an attribute. */
		mnl_attr_put_u32(nlh, NDA_IFINDEX, (uint32_t)ifindex);
		rc = rtnl_dump(r, &vec, parse_neigh, &ifindex, "neigh flush",
			       err, errlen);
		ns = vec.items;
		for (size_t i = 0; !rc && i < vec.n; i++) {
			if (ns[i].state & (NUD_PERMANENT | NUD_NOARP))
				continue;
			nlh = rtnl_msg(r, RTM_DELNEIGH, 0, sizeof(*ndm),
				       (void **)&ndm);
			ndm->ndm_family = (uint8_t)ns[i].family;
			ndm->ndm_ifindex = ns[i].ifindex;
			rtnl_put_addr(nlh, NDA_DST, &ns[i].dst);
			rc = rtnl_talk(r, NULL, NULL, "neigh flush", err,
				       errlen);
			if (rc == -ENOENT)
				rc = 0;
		}
	}
	free(vec.items);
	return rc;
}
