/* An attachment's link: a veth pair with one end in the bridge and the
 * other in the pod's or LB's namespace, carrying the attachment's IPAM
 * addresses (docs/proxy.md).
 *
 * The far namespace is opened by path only for the moment of the change:
 * an open namespace fd or socket would keep a dead pod's namespace (and so
 * its link) alive. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "netns.h"
#include "proxy.h"
#include "rtnl.h"

struct proxy_att *proxy_att_find(struct proxy *p, const char *name)
{
	for (struct proxy_att *a = p->atts; a; a = a->next)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

struct proxy_att *proxy_att_new(struct proxy *p, enum proxy_kind kind,
				const char *name, const char *netns)
{
	struct proxy_att *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->kind = kind;
	a->state = ATT_NEW;
	snprintf(a->name, sizeof(a->name), "%s", name);
	snprintf(a->netns, sizeof(a->netns), "%s", netns);
	/* Keyed by trench and conduit too: the proxies of two conduits
	 * share the node's namespace (and an LB's). */
	char key[256];
	snprintf(key, sizeof(key), "%s/%s/%s", p->opt->trench,
		 p->opt->conduit, name);
	if (kind == PROXY_POD) {
		proxy_link_name("stv", key, a->port);
		snprintf(a->ifname, sizeof(a->ifname), "st0");
	} else {
		proxy_link_name("stl", key, a->port);
		snprintf(key, sizeof(key), "%s/%s/%s", p->opt->trench,
			 p->opt->conduit, p->opt->node);
		proxy_link_name("stp", key, a->ifname);
	}
	a->next = p->atts;
	p->atts = a;
	return a;
}

void proxy_att_free(struct proxy *p, struct proxy_att *a)
{
	for (struct proxy_att **pp = &p->atts; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	free(a);
}

int proxy_netns_id(const char *path, uint64_t *dev, uint64_t *ino)
{
	struct stat s;
	if (stat(path, &s) < 0)
		return -errno;
	*dev = (uint64_t)s.st_dev;
	*ino = (uint64_t)s.st_ino;
	return 0;
}

static void fail(struct proxy_att *a, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct proxy_att *a, const char *reason, const char *fmt, ...)
{
	va_list ap;
	a->state = ATT_FAILED;
	snprintf(a->reason, sizeof(a->reason), "%s", reason);
	va_start(ap, fmt);
	vsnprintf(a->error, sizeof(a->error), fmt, ap);
	va_end(ap);
	log_warn("%s: %s", a->name, a->error);
}

/* Removes a link called name in the far namespace that is left from an
 * earlier link of this attachment (its bridge end gone, or another
 * proxy's run). Only veths are removed: anything else is not ours. */
static int clear_far(struct rtnl *far, const char *name, char *err,
		     size_t len)
{
	struct rtnl_link_info li;
	int rc = rtnl_link_get(far, name, &li, err, len);
	if (rc == -ENODEV)
		return 0;
	if (rc < 0)
		return rc;
	if (strcmp(li.kind, "veth") != 0) {
		snprintf(err, len, "%s exists there and is a %s, not a veth",
			 name, li.kind[0] ? li.kind : "device");
		return -EEXIST;
	}
	return rtnl_link_del(far, li.ifindex, err, len);
}

void proxy_att_unlink(struct proxy *p, struct proxy_att *a)
{
	char err[256];
	struct rtnl_link_info li;
	if (rtnl_link_get(p->rtnl, a->port, &li, err, sizeof(err)) < 0)
		return;
	if (rtnl_link_del(p->rtnl, li.ifindex, err, sizeof(err)) < 0) {
		log_warn("%s: cannot remove %s: %s", a->name, a->port, err);
		return;
	}
	p->stats.links_removed++;
	log_info("%s: removed link %s", a->name, a->port);
	if (rtnl_neigh_flush(p->rtnl, p->bridge_ifindex, err, sizeof(err)) == 0)
		p->stats.neigh_flushes++;
}

/* The veth and the far end's settings; returns 0 or -errno with err. */
static int make_link(struct proxy *p, struct proxy_att *a, int nsfd,
		     struct rtnl *far, int *far_ifindex, char *err, size_t len)
{
	struct rtnl_link_info li;
	int rc = rtnl_link_get(p->rtnl, a->port, &li, err, len);
	if (rc == 0) { /* an earlier link of this name: replaced */
		rc = rtnl_link_del(p->rtnl, li.ifindex, err, len);
		if (rc < 0)
			return rc;
		p->stats.links_removed++;
	} else if (rc != -ENODEV) {
		return rc;
	}
	if ((rc = clear_far(far, a->ifname, err, len)) < 0)
		return rc;
	if ((rc = rtnl_veth_add(p->rtnl, a->port, a->ifname, nsfd, 0, err,
				len)) < 0)
		return rc;
	int port;
	if ((rc = rtnl_link_index(p->rtnl, a->port, &port, err, len)) < 0 ||
	    (rc = rtnl_link_set_master(p->rtnl, port, p->bridge_ifindex, err,
				       len)) < 0 ||
	    (rc = rtnl_link_set_up(p->rtnl, port, true, err, len)) < 0)
		return rc;
	if ((rc = rtnl_link_get(far, a->ifname, &li, err, len)) < 0)
		return rc;
	*far_ifindex = li.ifindex;
	memcpy(a->mac, li.mac, sizeof(a->mac));
	for (int f = 0; f < 2; f++) {
		if (!a->addr[f].family)
			continue;
		rc = rtnl_addr_add(far, li.ifindex, &a->addr[f], err, len);
		if (rc < 0 && rc != -EEXIST)
			return rc;
	}
	return rtnl_link_set_up(far, li.ifindex, true, err, len);
}

void proxy_att_link(struct proxy *p, struct proxy_att *a)
{
	char err[512];
	int nsfd = netns_open(a->netns);
	if (nsfd < 0) {
		fail(a, "netns_invalid", "cannot open namespace %s: %s",
		     a->netns, strerror(-nsfd));
		return;
	}
	struct stat s;
	if (fstat(nsfd, &s) == 0) {
		a->ns_dev = (uint64_t)s.st_dev;
		a->ns_ino = (uint64_t)s.st_ino;
	}
	struct rtnl *far = NULL;
	int rc = netns_rtnl_open(nsfd, &far);
	int far_ifindex = 0;
	if (rc < 0)
		snprintf(err, sizeof(err), "rtnetlink there: %s", strerror(-rc));
	else
		rc = make_link(p, a, nsfd, far, &far_ifindex, err, sizeof(err));
	rtnl_close(far);
	if (rc < 0) {
		fail(a, "link_failed", "cannot link it: %s", err);
		struct rtnl_link_info li;
		if (rtnl_link_get(p->rtnl, a->port, &li, err, sizeof(err)) == 0)
			rtnl_link_del(p->rtnl, li.ifindex, err, sizeof(err));
		close(nsfd);
		return;
	}
	a->state = ATT_LINKED;
	a->created = true;
	a->error[0] = a->reason[0] = '\0';
	p->stats.links_created++;
	char mac[18], a4[64] = "", a6[64] = "";
	proxy_mac_format(a->mac, mac);
	if (a->addr[0].family)
		cidr_format(&a->addr[0], a4, sizeof(a4));
	if (a->addr[1].family)
		cidr_format(&a->addr[1], a6, sizeof(a6));
	log_info("%s: linked %s <-> %s in %s (%s %s, mac %s)", a->name,
		 a->port, a->ifname, a->netns, a4, a6, mac);
	proxy_node_neigh(p, a, nsfd, far_ifindex);
	close(nsfd);
	proxy_store_put(p, a);
}
