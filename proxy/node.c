/* The node's side: the bridge the proxy owns, the sysctls its forwarding
 * needs, the sweep that keeps the bridge's ports and the attachments in
 * step, and the neighbour hygiene after a link changes (docs/proxy.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "announce.h"
#include "errtext.h"
#include "log.h"
#include "sysctl.h"
#include "netns.h"
#include "proxy.h"
#include "rtnl.h"

static void sysctl(const char *path, const char *value)
{
	char err[256];
	if (sysctl_write(path, value, err, sizeof(err)) < 0)
		log_warn("cannot set %s to %s: %s", path, value, err);
}

int proxy_node_init(struct proxy *p, char *err, size_t len)
{
	/* Forwarding between the LBs' links and the pods' links, and
	 * egress flows spread over the LBs by their L4 hash. */
	sysctl("/proc/sys/net/ipv4/ip_forward", "1");
	sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
	sysctl("/proc/sys/net/ipv4/fib_multipath_hash_policy", "1");
	sysctl("/proc/sys/net/ipv6/fib_multipath_hash_policy", "1");

	const char *br = p->opt->bridge;
	struct rtnl_link_info li;
	int rc = rtnl_link_get(p->rtnl, br, &li, err, len);
	if (rc == 0) {
		if (strcmp(li.kind, "bridge") != 0)
			return errtext(-EEXIST, err, len,
				       "%s exists and is not a bridge (%s)", br,
				       li.kind[0] ? li.kind : "no kind");
		log_info("adopted bridge %s", br);
	} else if (rc == -ENODEV) {
		if ((rc = rtnl_bridge_add(p->rtnl, br, err, len)) < 0)
			return rc;
		if ((rc = rtnl_link_get(p->rtnl, br, &li, err, len)) < 0)
			return rc;
		log_info("created bridge %s", br);
	} else {
		return rc;
	}
	p->bridge_ifindex = li.ifindex;
	/* A fixed MAC: the bridge must not take its ports' (see rtnl.h). */
	uint8_t mac[6];
	proxy_bridge_mac(p->opt->trench, p->opt->conduit, p->opt->node, mac);
	if (memcmp(li.mac, mac, 6) != 0 &&
	    (rc = rtnl_link_set_mac(p->rtnl, li.ifindex, mac, err, len)) < 0)
		return rc;
	return rtnl_link_set_up(p->rtnl, li.ifindex, true, err, len);
}

void proxy_node_bridge_addrs(struct proxy *p)
{
	char err[256], s[64];
	for (int f = 0; f < 2; f++) {
		if (!p->bridge_addr[f].family)
			continue;
		int rc = rtnl_addr_add(p->rtnl, p->bridge_ifindex,
				       &p->bridge_addr[f], err, sizeof(err));
		cidr_format(&p->bridge_addr[f], s, sizeof(s));
		if (rc == 0)
			log_info("bridge %s: address %s", p->opt->bridge, s);
		else if (rc != -EEXIST)
			log_error("bridge %s: cannot add %s: %s",
				  p->opt->bridge, s, err);
	}
}

struct sweep {
	struct proxy *p;
	size_t removed;
};

static bool ours(const char *name)
{
	return strncmp(name, "stv", 3) == 0 || strncmp(name, "stl", 3) == 0;
}

static int stale_port(const struct rtnl_link_info *li, void *arg)
{
	struct sweep *s = arg;
	struct proxy *p = s->p;
	if (li->master != p->bridge_ifindex || !ours(li->name))
		return 0;
	for (struct proxy_att *a = p->atts; a; a = a->next)
		if (strcmp(a->port, li->name) == 0)
			return 0;
	char err[256];
	if (rtnl_link_del(p->rtnl, li->ifindex, err, sizeof(err)) == 0) {
		log_info("removed %s: a port of %s that no attachment owns",
			 li->name, p->opt->bridge);
		p->stats.stale_removed++;
		s->removed++;
	}
	return 0;
}

/* A linked attachment whose bridge end is gone: a pod's namespace went
 * (its addresses are released), or an LB's link was removed under us (it
 * is made again while the LB is registered). */
static void check_linked(struct proxy *p, struct proxy_att *a, bool *changed)
{
	char err[256];
	struct rtnl_link_info li;
	int rc = rtnl_link_get(p->rtnl, a->port, &li, err, sizeof(err));
	bool adopted = !a->created;
	if (rc == 0 && li.master == p->bridge_ifindex) {
		if (adopted) {
			a->created = true; /* counted once */
			p->stats.links_adopted++;
			log_info("%s: adopted link %s", a->name, a->port);
		}
		return;
	}
	if (rc != 0 && rc != -ENODEV)
		return;
	*changed = true;
	if (a->kind == PROXY_POD) {
		log_info("%s: link %s is gone (the pod's namespace went?); "
			 "releasing its addresses",
			 a->name, a->port);
		a->gone = true;
		return;
	}
	log_info("%s: link %s is gone; making it again", a->name, a->port);
	a->state =
	    a->addr[0].family || a->addr[1].family ? ATT_ALLOCATED : ATT_NEW;
}

void proxy_node_sweep(struct proxy *p)
{
	char err[256];
	bool changed = false;
	for (struct proxy_att *a = p->atts; a; a = a->next) {
		if (a->gone)
			continue;
		if (a->state == ATT_LINKED)
			check_linked(p, a, &changed);
		else if (a->state == ATT_FAILED && a->kind == PROXY_LB &&
			 proxy_now_ms(p) >= a->retry_at_ms) {
			a->state = ATT_NEW;
			changed = true;
		}
	}
	struct sweep s = {.p = p};
	if (rtnl_link_list(p->rtnl, stale_port, &s, err, sizeof(err)) < 0)
		log_warn("cannot list links: %s", err);
	if (changed)
		proxy_schedule(p);
}

/* Flushes the dynamic neighbour entries of an LB's end of its link. */
static void flush_lb(struct proxy *p, const struct proxy_att *lb)
{
	int nsfd = netns_open(lb->netns);
	if (nsfd < 0)
		return;
	struct rtnl *far = NULL;
	char err[256];
	struct rtnl_link_info li;
	if (netns_rtnl_open(nsfd, &far) == 0 &&
	    rtnl_link_get(far, lb->ifname, &li, err, sizeof(err)) == 0 &&
	    rtnl_neigh_flush(far, li.ifindex, err, sizeof(err)) == 0)
		p->stats.neigh_flushes++;
	rtnl_close(far);
	close(nsfd);
}

/* A gratuitous ARP and an unsolicited NA for each of a's addresses, sent
 * from its far end. */
static void announce(struct proxy *p, struct proxy_att *a, int far_nsfd,
		     int far_ifindex)
{
	int fd = netns_socket(far_nsfd, AF_PACKET, SOCK_DGRAM, 0);
	if (fd < 0) {
		log_warn("%s: cannot open a packet socket to announce: %s",
			 a->name, strerror(-fd));
		return;
	}
	for (int f = 0; f < 2; f++) {
		if (!a->addr[f].family)
			continue;
		int rc = announce_send(fd, far_ifindex, a->mac, &a->addr[f]);
		if (rc == 0)
			p->stats.announcements++;
		else
			log_warn("%s: cannot announce: %s", a->name,
				 strerror(-rc));
	}
	close(fd);
}

/* Finds a's far end again (its namespace may have gone meanwhile). */
static void announce_again(struct proxy *p, struct proxy_att *a)
{
	int nsfd = netns_open(a->netns);
	if (nsfd < 0)
		return;
	struct rtnl *far = NULL;
	struct rtnl_link_info li;
	char err[256];
	if (netns_rtnl_open(nsfd, &far) == 0 &&
	    rtnl_link_get(far, a->ifname, &li, err, sizeof(err)) == 0 &&
	    memcmp(li.mac, a->mac, sizeof(a->mac)) == 0)
		announce(p, a, nsfd, li.ifindex);
	rtnl_close(far);
	close(nsfd);
}

void proxy_node_announce_again(struct proxy *p)
{
	bool due = false;
	for (struct proxy_att *a = p->atts; a; a = a->next) {
		if (!a->announce_left)
			continue;
		a->announce_left--;
		if (a->state == ATT_LINKED && !a->gone)
			announce_again(p, a);
		else
			a->announce_left = 0;
		due |= a->announce_left > 0;
	}
	if (!due)
		uv_timer_stop(&p->announce_timer);
}

static void on_announce(uv_timer_t *t)
{
	proxy_node_announce_again(t->data);
}

void proxy_node_neigh(struct proxy *p, struct proxy_att *a, int far_nsfd,
		      int far_ifindex)
{
	char err[256];
	if (rtnl_neigh_flush(p->rtnl, p->bridge_ifindex, err, sizeof(err)) == 0)
		p->stats.neigh_flushes++;
	if (a->kind == PROXY_POD)
		for (struct proxy_att *lb = p->atts; lb; lb = lb->next)
			if (lb->kind == PROXY_LB && lb->state == ATT_LINKED &&
			    !lb->gone)
				flush_lb(p, lb);
	announce(p, a, far_nsfd, far_ifindex);
	a->announce_left = PROXY_ANNOUNCE_REPEATS;
	if (!uv_is_active((uv_handle_t *)&p->announce_timer))
		uv_timer_start(&p->announce_timer, on_announce,
			       PROXY_ANNOUNCE_MS, PROXY_ANNOUNCE_MS);
}
