/* lib/rtnl against the real kernel, each test in a fresh network namespace.
 *
 * The setup of every test calls unshare(CLONE_NEWNET), which moves this
 * process into a new, empty namespace (the previous test's is freed with
 * everything in it), then builds:
 *
 *   lo (up)
 *   t0 (veth, up)  198.18.1.1/24   fd00:1::1/64
 *    |
 *   t0p (its peer, up, no address)
 *
 * so gateways 198.18.1.x and fd00:1::x are on-link. A veth rather than a
 * dummy link: not every kernel has dummy, and a veth also does ARP, which
 * the neighbour tests need. The root namespace is
 * never touched: the prerequisite probe in main() runs in a forked child.
 * Without root, unshare or `ip`, every test says SKIP and the binary exits
 * 77, which tests/run reports as SKIP.
 *
 * The tests of links in two namespaces (netns, veth peers, announcements)
 * add a second one with other_ns():
 *
 *   home (the test's namespace)        other
 *   f->home, f->r                      f->other, f->ro
 *   an1 (veth) ---------------------- an0 (its peer)
 *
 * Both are held only by this process's fds and its thread, so closing the
 * fds in teardown (or the process ending on a failed assertion) frees
 * them, with every link in them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "announce.h"
#include "cidr.h"
#include "netns.h"
#include "rtnl.h"

static bool netns_ok;
static char netns_why[128];

struct fx {
	struct rtnl *r;
	int t0;
	char err[256];
	int home, other; /* other_ns(): the namespaces' fds, or -1 */
	struct rtnl *ro; /* a handle in other */
};

static struct cidr ip(const char *s)
{
	struct cidr c;

	if (strchr(s, '/'))
		assert_int_equal(cidr_parse(s, &c), 0);
	else
		assert_int_equal(cidr_parse_ip(s, &c), 0);
	return c;
}

static int sh(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs in a child so that a half-working environment cannot leave a
 * veth link in the root namespace. */
static bool probe(void)
{
	pid_t pid;
	int st;

	if (geteuid() != 0) {
		snprintf(netns_why, sizeof(netns_why), "not root");
		return false;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(netns_why, sizeof(netns_why), "fork: %s",
			 strerror(errno));
		return false;
	}
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		_exit(sh("ip link add t0 type veth peer name t0p 2>/dev/null")
			  ? 2
			  : 0);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(netns_why, sizeof(netns_why), "%s",
			 WIFEXITED(st) && WEXITSTATUS(st) == 2
			     ? "no `ip` or no veth links"
			     : "unshare(CLONE_NEWNET) failed");
		return false;
	}
	return true;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct cidr a4 = ip("198.18.1.1/24"), a6 = ip("fd00:1::1/64");
	int lo;

	assert_non_null(f);
	f->home = f->other = -1;
	*state = f;
	if (!netns_ok)
		return 0;
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	assert_int_equal(sh("ip link add t0 type veth peer name t0p && "
			    "ip link set t0p up"),
			 0);
	assert_int_equal(rtnl_open(&f->r), 0);
	assert_int_equal(
	    rtnl_link_index(f->r, "lo", &lo, f->err, sizeof(f->err)), 0);
	assert_int_equal(rtnl_link_set_up(f->r, lo, true, NULL, 0), 0);
	assert_int_equal(rtnl_link_index(f->r, "t0", &f->t0, NULL, 0), 0);
	assert_int_equal(f->t0, (int)if_nametoindex("t0"));
	assert_int_equal(rtnl_link_set_up(f->r, f->t0, true, NULL, 0), 0);
	assert_int_equal(
	    rtnl_addr_add(f->r, f->t0, &a4, f->err, sizeof(f->err)), 0);
	assert_int_equal(
	    rtnl_addr_add(f->r, f->t0, &a6, f->err, sizeof(f->err)), 0);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rtnl_close(f->ro);
	if (f->other >= 0)
		close(f->other);
	if (f->home >= 0)
		close(f->home);
	rtnl_close(f->r);
	free(f);
	return 0;
}

/* Makes the second namespace: the thread unshares into a fresh one, keeps
 * its fd and returns home. */
static void other_ns(struct fx *f)
{
	f->home = netns_open("/proc/thread-self/ns/net");
	assert_true(f->home >= 0);
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	f->other = netns_open("/proc/thread-self/ns/net");
	assert_true(f->other >= 0);
	assert_int_equal(setns(f->home, CLONE_NEWNET), 0);
	assert_int_equal(netns_is_self(f->home), 1);
	assert_int_equal(netns_rtnl_open(f->other, &f->ro), 0);
}

#define NEED_NETNS()                                                           \
	do {                                                                   \
		if (!netns_ok) {                                               \
			print_message("SKIP: %s\n", netns_why);                \
			skip();                                                \
		}                                                              \
	} while (0)

/* ---- rules ---- */

struct rule_find {
	uint32_t table, fwmark, priority;
	int family;
	int found;
	int per_table[512];
};

static int rule_cb(const struct rtnl_rule_info *rule, void *arg)
{
	struct rule_find *q = arg;

	if (rule->table < 512)
		q->per_table[rule->table]++;
	if (rule->family == q->family && rule->table == q->table &&
	    rule->fwmark == q->fwmark && rule->priority == q->priority) {
		assert_int_equal(rule->fwmask, 0xffffffffu);
		assert_int_equal(rule->action, FR_ACT_TO_TBL);
		q->found++;
	}
	return 0;
}

static int find_rule(struct fx *f, int family, uint32_t mark, uint32_t table,
		     uint32_t prio)
{
	struct rule_find q = {table, mark, prio, family, 0, {0}};

	assert_int_equal(
	    rtnl_rule_list(f->r, family, rule_cb, &q, f->err, sizeof(f->err)),
	    0);
	return q.found;
}

static void test_rule_add_list_del(void **state)
{
	static const int families[] = {AF_INET, AF_INET6};
	struct fx *f = *state;

	NEED_NETNS();
	for (size_t i = 0; i < 2; i++) {
		int fam = families[i];

		assert_int_equal(rtnl_rule_add(f->r, fam, 0x100, 1100, 1000,
					       f->err, sizeof(f->err)),
				 0);
		assert_int_equal(find_rule(f, fam, 0x100, 1100, 1000), 1);
		/* Visible in the other family's list? It must not be. */
		assert_int_equal(find_rule(f,
					   fam == AF_INET ? AF_INET6 : AF_INET,
					   0x100, 1100, 1000),
				 0);
		assert_int_equal(rtnl_rule_add(f->r, fam, 0x100, 1100, 1000,
					       f->err, sizeof(f->err)),
				 -EEXIST);
		assert_non_null(strstr(f->err, "rule add: "));
		assert_int_equal(rtnl_rule_del(f->r, fam, 0x100, 1100, 1000,
					       f->err, sizeof(f->err)),
				 0);
		assert_int_equal(find_rule(f, fam, 0x100, 1100, 1000), 0);
		assert_int_equal(rtnl_rule_del(f->r, fam, 0x100, 1100, 1000,
					       f->err, sizeof(f->err)),
				 -ENOENT);
	}
	/* Checked before the kernel is asked. */
	assert_int_equal(rtnl_rule_add(f->r, AF_UNSPEC, 1, 1, 1, NULL, 0),
			 -EINVAL);
	assert_int_equal(rtnl_rule_add(f->r, AF_INET, 1, 0, 1, NULL, 0),
			 -EINVAL);
}

static int stop_cb(const struct rtnl_rule_info *rule, void *arg)
{
	(void)rule;
	++*(int *)arg;
	return 42;
}

static void test_rule_flush_range(void **state)
{
	static const uint32_t tables[] = {99, 100, 150, 200, 201};
	struct fx *f = *state;
	struct rule_find q = {0};
	int calls = 0;

	NEED_NETNS();
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(rtnl_rule_add(f->r, AF_INET, tables[i],
					       tables[i], 2000 + i, NULL, 0),
				 0);
		assert_int_equal(rtnl_rule_add(f->r, AF_INET6, tables[i],
					       tables[i], 2000 + i, NULL, 0),
				 0);
	}
	/* A second rule to the same table, another priority and mark. */
	assert_int_equal(rtnl_rule_add(f->r, AF_INET, 7, 150, 3000, NULL, 0),
			 0);
	assert_int_equal(rtnl_rule_flush_table_range(f->r, AF_UNSPEC, 100, 200,
						     f->err, sizeof(f->err)),
			 0);
	assert_int_equal(rtnl_rule_list(f->r, AF_UNSPEC, rule_cb, &q, f->err,
					sizeof(f->err)),
			 0);
	assert_int_equal(q.per_table[99], 2);
	assert_int_equal(q.per_table[100], 0);
	assert_int_equal(q.per_table[150], 0);
	assert_int_equal(q.per_table[200], 0);
	assert_int_equal(q.per_table[201], 2);
	/* The kernel's own rules stay: local, main, default (v6 has no
	 * default-table rule). */
	assert_int_equal(q.per_table[RT_TABLE_LOCAL], 2);
	assert_int_equal(q.per_table[RT_TABLE_MAIN], 2);
	assert_int_equal(q.per_table[RT_TABLE_DEFAULT], 1);

	/* A callback's non-zero return stops the walk and is returned. */
	assert_int_equal(
	    rtnl_rule_list(f->r, AF_INET, stop_cb, &calls, NULL, 0), 42);
	assert_int_equal(calls, 1);

	/* One family only. */
	assert_int_equal(
	    rtnl_rule_flush_table_range(f->r, AF_INET6, 0, 100, NULL, 0), 0);
	memset(&q, 0, sizeof(q));
	assert_int_equal(rtnl_rule_list(f->r, AF_UNSPEC, rule_cb, &q, NULL, 0),
			 0);
	assert_int_equal(q.per_table[99], 1);
	assert_int_equal(q.per_table[201], 2);
	assert_int_equal(q.per_table[RT_TABLE_MAIN], 2);
}

/* ---- routes ---- */

struct routes {
	int n;
	struct rtnl_route_info last;
};

static int route_cb(const struct rtnl_route_info *route, void *arg)
{
	struct routes *q = arg;

	q->n++;
	q->last = *route;
	return 0;
}

static struct routes list(struct fx *f, int family, uint32_t table)
{
	struct routes q = {0};

	assert_int_equal(rtnl_route_list(f->r, family, table, route_cb, &q,
					 f->err, sizeof(f->err)),
			 0);
	return q;
}

static void route_roundtrip(struct fx *f, int family, const char *gw1,
			    const char *gw2, const char *net)
{
	struct cidr g1 = ip(gw1), g2 = ip(gw2), dst = ip(net);
	struct routes q;
	int main_before = list(f, family, RT_TABLE_MAIN).n;

	assert_int_equal(rtnl_route_replace(f->r, family, 1100, NULL, &g1, 0,
					    f->err, sizeof(f->err)),
			 0);
	q = list(f, family, 1100);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.last.table, 1100);
	assert_int_equal(q.last.type, RTN_UNICAST);
	assert_int_equal(q.last.dst.len, 0);
	assert_true(cidr_equal(&q.last.gateway, &g1));
	assert_int_equal(q.last.oif, f->t0);
	assert_int_equal(q.last.nexthops, 0);

	/* Replace: still one route, now via the other gateway. */
	assert_int_equal(rtnl_route_replace(f->r, family, 1100, NULL, &g2,
					    f->t0, f->err, sizeof(f->err)),
			 0);
	q = list(f, family, 1100);
	assert_int_equal(q.n, 1);
	assert_true(cidr_equal(&q.last.gateway, &g2));

	/* A prefix route, host bits cleared; then a direct one. */
	assert_int_equal(rtnl_route_replace(f->r, family, 1100, &dst, &g1, 0,
					    f->err, sizeof(f->err)),
			 0);
	assert_int_equal(list(f, family, 1100).n, 2);
	assert_int_equal(rtnl_route_del(f->r, family, 1100, &dst, &g2, 0,
					f->err, sizeof(f->err)),
			 -ESRCH);
	assert_int_equal(rtnl_route_del(f->r, family, 1100, &dst, &g1, 0,
					f->err, sizeof(f->err)),
			 0);
	assert_int_equal(rtnl_route_del(f->r, family, 1100, &dst, NULL, 0,
					f->err, sizeof(f->err)),
			 -ESRCH);
	assert_int_equal(rtnl_route_replace(f->r, family, 1100, &dst, NULL,
					    f->t0, f->err, sizeof(f->err)),
			 0);
	q = list(f, family, 1100);
	assert_int_equal(q.n, 2);

	/* Flush empties the table and leaves main alone. */
	assert_int_equal(
	    rtnl_route_flush_table(f->r, family, 1100, f->err, sizeof(f->err)),
	    0);
	assert_int_equal(list(f, family, 1100).n, 0);
	assert_int_equal(list(f, family, RT_TABLE_MAIN).n, main_before);
	assert_true(main_before > 0);
	assert_int_equal(rtnl_route_flush_table(f->r, family, 1100, NULL, 0),
			 0);
}

static void test_route_replace_del_flush(void **state)
{
	struct fx *f = *state;

	NEED_NETNS();
	route_roundtrip(f, AF_INET, "198.18.1.254", "198.18.1.253",
			"10.1.2.3/16");
	route_roundtrip(f, AF_INET6, "fd00:1::fe", "fd00:1::fd",
			"fd00:77::1/64");
	/* A table under 256 goes in the header too. */
	assert_int_equal(rtnl_route_replace(f->r, AF_INET, 100, NULL,
					    &(struct cidr){0}, 0, NULL, 0),
			 -EINVAL);
	assert_int_equal(rtnl_route_replace(f->r, AF_INET6, 100, NULL,
					    (struct cidr[]){ip("fd00:1::fe")},
					    0, f->err, sizeof(f->err)),
			 0);
	assert_int_equal(list(f, AF_INET6, 100).n, 1);
	assert_int_equal(rtnl_route_flush_table(f->r, AF_UNSPEC, 100, NULL, 0),
			 0);
	assert_int_equal(list(f, AF_INET6, 100).n, 0);
	/* Neither gateway nor oif; wrong family. */
	assert_int_equal(rtnl_route_replace(f->r, AF_INET, 100, NULL, NULL, 0,
					    f->err, sizeof(f->err)),
			 -EINVAL);
	assert_int_equal(rtnl_route_replace(f->r, AF_INET, 100, NULL,
					    (struct cidr[]){ip("fd00:1::fe")},
					    0, NULL, 0),
			 -EINVAL);
}

static void test_route_get(void **state)
{
	struct fx *f = *state;
	struct rtnl_route_info rt;
	struct cidr gw4 = ip("198.18.1.254"), gw6 = ip("fd00:1::fe");
	struct cidr far4 = ip("203.0.113.1"), far6 = ip("2001:db8::1");

	NEED_NETNS();
	assert_int_equal(rtnl_route_get(f->r, (struct cidr[]){ip("198.18.1.7")},
					&rt, f->err, sizeof(f->err)),
			 0);
	assert_int_equal(rt.type, RTN_UNICAST);
	assert_int_equal(rt.oif, f->t0);
	assert_int_equal(rt.gateway.family, 0);
	assert_true(cidr_equal(&rt.prefsrc, (struct cidr[]){ip("198.18.1.1")}));
	assert_int_equal(rtnl_route_get(f->r, (struct cidr[]){ip("fd00:1::7")},
					&rt, f->err, sizeof(f->err)),
			 0);
	assert_int_equal(rt.type, RTN_UNICAST);
	assert_int_equal(rt.oif, f->t0);

	/* Nothing routes there yet. */
	assert_int_equal(
	    rtnl_route_get(f->r, &far4, &rt, f->err, sizeof(f->err)),
	    -ENETUNREACH);
	assert_non_null(strstr(f->err, "route get: "));
	assert_int_equal(
	    rtnl_route_get(f->r, &far6, &rt, f->err, sizeof(f->err)),
	    -ENETUNREACH);

	/* A default route in main makes them reachable via the gateway. */
	assert_int_equal(rtnl_route_replace(f->r, AF_INET, RT_TABLE_MAIN, NULL,
					    &gw4, 0, f->err, sizeof(f->err)),
			 0);
	assert_int_equal(rtnl_route_replace(f->r, AF_INET6, RT_TABLE_MAIN, NULL,
					    &gw6, 0, f->err, sizeof(f->err)),
			 0);
	assert_int_equal(
	    rtnl_route_get(f->r, &far4, &rt, f->err, sizeof(f->err)), 0);
	assert_int_equal(rt.type, RTN_UNICAST);
	assert_int_equal(rt.table, RT_TABLE_MAIN);
	assert_true(cidr_equal(&rt.gateway, &gw4));
	assert_int_equal(
	    rtnl_route_get(f->r, &far6, &rt, f->err, sizeof(f->err)), 0);
	assert_true(cidr_equal(&rt.gateway, &gw6));
	assert_int_equal(rt.oif, f->t0);

	/* Routes that refuse: the errno says which kind. */
	assert_int_equal(sh("ip route add unreachable 10.1.0.0/16 && "
			    "ip route add prohibit 10.2.0.0/16 && "
			    "ip -6 route add blackhole 2001:db8:3::/48"),
			 0);
	assert_int_equal(
	    rtnl_route_get(f->r, (struct cidr[]){ip("10.1.0.1")}, &rt, NULL, 0),
	    -EHOSTUNREACH);
	assert_int_equal(
	    rtnl_route_get(f->r, (struct cidr[]){ip("10.2.0.1")}, &rt, NULL, 0),
	    -EACCES);
	assert_int_equal(rtnl_route_get(f->r,
					(struct cidr[]){ip("2001:db8:3::1")},
					&rt, NULL, 0),
			 -EINVAL);

	/* A local address answers type local: not a target's route. */
	assert_int_equal(rtnl_route_get(f->r, (struct cidr[]){ip("198.18.1.1")},
					&rt, NULL, 0),
			 0);
	assert_int_equal(rt.type, RTN_LOCAL);
}

static struct cidr gws4[] = {
    {AF_INET, {198, 18, 1, 2}, 32},
    {AF_INET, {198, 18, 1, 3}, 32},
    {AF_INET, {198, 18, 1, 4}, 32},
};

static void check_nexthops(const struct rtnl_route_info *rt,
			   const struct cidr *gws, size_t n)
{
	assert_int_equal(rt->nexthops, n);
	assert_int_equal(rt->gateway.family, 0);
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t j = 0; j < n; j++)
			seen |= cidr_equal(&rt->nh[j].gateway, &gws[i]);
		assert_true(seen);
		assert_true(rt->nh[i].oif > 0);
	}
}

static void test_multipath(void **state)
{
	struct fx *f = *state;
	struct cidr gws6[3] = {ip("fd00:1::2"), ip("fd00:1::3"),
			       ip("fd00:1::4")};
	struct cidr vip6 = ip("fd00:99::5/128"), vip4 = ip("10.0.0.1/32");
	struct routes q;

	NEED_NETNS();
	/* IPv4: the default route over 2, then 3, then 2 LBs again. */
	assert_int_equal(rtnl_route_replace_multipath(f->r, AF_INET, 1100, NULL,
						      NULL, gws4, 2, f->err,
						      sizeof(f->err)),
			 0);
	q = list(f, AF_INET, 1100);
	assert_int_equal(q.n, 1);
	check_nexthops(&q.last, gws4, 2);
	assert_int_equal(rtnl_route_replace_multipath(f->r, AF_INET, 1100, NULL,
						      NULL, gws4, 3, f->err,
						      sizeof(f->err)),
			 0);
	q = list(f, AF_INET, 1100);
	assert_int_equal(q.n, 1);
	check_nexthops(&q.last, gws4, 3);
	assert_int_equal(rtnl_route_replace_multipath(f->r, AF_INET, 1100, NULL,
						      NULL, gws4 + 1, 2, f->err,
						      sizeof(f->err)),
			 0);
	q = list(f, AF_INET, 1100);
	assert_int_equal(q.n, 1);
	check_nexthops(&q.last, gws4 + 1, 2);

	/* IPv6, source-specific: from the VIP, over 3, then 2. */
	assert_int_equal(rtnl_route_replace_multipath(f->r, AF_INET6, 1100,
						      NULL, &vip6, gws6, 3,
						      f->err, sizeof(f->err)),
			 0);
	q = list(f, AF_INET6, 1100);
	assert_int_equal(q.n, 1);
	assert_true(cidr_equal(&q.last.src, &vip6));
	assert_int_equal(q.last.dst.len, 0);
	check_nexthops(&q.last, gws6, 3);
	assert_int_equal(rtnl_route_replace_multipath(f->r, AF_INET6, 1100,
						      NULL, &vip6, gws6, 2,
						      f->err, sizeof(f->err)),
			 0);
	q = list(f, AF_INET6, 1100);
	assert_int_equal(q.n, 1);
	check_nexthops(&q.last, gws6, 2);

	/* Flush removes every path at once. */
	assert_int_equal(rtnl_route_flush_table(f->r, AF_UNSPEC, 1100, f->err,
						sizeof(f->err)),
			 0);
	assert_int_equal(list(f, AF_UNSPEC, 1100).n, 0);

	/* Refused before the kernel is asked. */
	assert_int_equal(rtnl_route_replace_multipath(f->r, AF_INET, 1100, NULL,
						      &vip4, gws4, 2, NULL, 0),
			 -EINVAL);
	assert_int_equal(rtnl_route_replace_multipath(f->r, AF_INET, 1100, NULL,
						      NULL, gws6, 2, NULL, 0),
			 -EINVAL);
	assert_int_equal(rtnl_route_replace_multipath(f->r, AF_INET, 1100, NULL,
						      NULL, gws4, 0, NULL, 0),
			 -EINVAL);
	assert_int_equal(
	    rtnl_route_replace_multipath(f->r, AF_INET, 1100, NULL, NULL, gws4,
					 RTNL_NEXTHOPS_MAX + 1, NULL, 0),
	    -E2BIG);
}

static void test_extended_ack(void **state)
{
	struct fx *f = *state;
	struct cidr far4 = ip("203.0.113.1"), far6 = ip("2001:db8::1");
	int rc;

	NEED_NETNS();
	/* A gateway on no connected network: the kernel says why. */
	rc = rtnl_route_replace(f->r, AF_INET, 1100, NULL, &far4, f->t0, f->err,
				sizeof(f->err));
	print_message("v4: %d %s\n", rc, f->err);
	assert_true(rc < 0);
	assert_non_null(strstr(f->err, "route replace: "));
	assert_non_null(strstr(f->err, "gateway"));
	assert_null(strstr(f->err, strerror(-rc)));

	/* One of our own addresses as the gateway. */
	rc = rtnl_route_replace(f->r, AF_INET6, 1100, NULL,
				(struct cidr[]){ip("fd00:1::1")}, 0, f->err,
				sizeof(f->err));
	print_message("v6: %d %s\n", rc, f->err);
	assert_true(rc < 0);
	assert_non_null(strstr(f->err, "route replace: "));
	assert_non_null(strstr(f->err, "local address"));
	assert_null(strstr(f->err, strerror(-rc)));

	/* Not every refusal has a message (IPv6 multipath over an unknown
	 * gateway has none): then the errno's text stands in. */
	rc = rtnl_route_replace_multipath(f->r, AF_INET6, 1100, NULL, NULL,
					  &far6, 1, f->err, sizeof(f->err));
	assert_true(rc < 0);
	assert_non_null(strstr(f->err, "route replace multipath: "));
	assert_non_null(strstr(f->err, strerror(-rc)));

	/* Without an extended ack message the errno's text is used. */
	rc = rtnl_rule_del(f->r, AF_INET, 5, 5, 5, f->err, sizeof(f->err));
	assert_int_equal(rc, -ENOENT);
	assert_string_equal(f->err, "rule del: No such file or directory");
	/* And a tiny buffer is cut, terminated. */
	rc = rtnl_rule_del(f->r, AF_INET, 5, 5, 5, f->err, 5);
	assert_string_equal(f->err, "rule");
}

/* ---- links, addresses, neighbours ---- */

static void test_link_addr(void **state)
{
	struct fx *f = *state;
	struct cidr a4 = ip("198.18.2.1/24"), a6 = ip("fd00:2::1/64");
	struct rtnl_route_info rt;
	int idx;

	NEED_NETNS();
	assert_int_equal(
	    rtnl_link_index(f->r, "nope0", &idx, f->err, sizeof(f->err)),
	    -ENODEV);
	assert_int_equal(
	    rtnl_link_index(f->r, "0123456789abcdefX", &idx, NULL, 0), -EINVAL);
	assert_int_equal(
	    rtnl_addr_add(f->r, f->t0, &a4, f->err, sizeof(f->err)), 0);
	assert_int_equal(
	    rtnl_addr_add(f->r, f->t0, &a4, f->err, sizeof(f->err)), -EEXIST);
	assert_int_equal(
	    rtnl_addr_add(f->r, f->t0, &a6, f->err, sizeof(f->err)), 0);
	/* Usable at once: no DAD wait. */
	assert_int_equal(rtnl_route_get(f->r, (struct cidr[]){ip("fd00:2::9")},
					&rt, f->err, sizeof(f->err)),
			 0);
	assert_true(cidr_equal(&rt.prefsrc, (struct cidr[]){ip("fd00:2::1")}));
	assert_int_equal(rtnl_addr_del(f->r, f->t0, &a4, NULL, 0), 0);
	assert_int_equal(rtnl_addr_del(f->r, f->t0, &a4, NULL, 0),
			 -EADDRNOTAVAIL);
	assert_int_equal(rtnl_addr_del(f->r, f->t0, &a6, NULL, 0), 0);
	assert_int_equal(rtnl_addr_del(f->r, f->t0, &a6, NULL, 0),
			 -EADDRNOTAVAIL);

	/* Down: the connected route goes, the address is unreachable. */
	assert_int_equal(rtnl_link_set_up(f->r, f->t0, false, NULL, 0), 0);
	assert_int_equal(rtnl_route_get(f->r, (struct cidr[]){ip("198.18.1.7")},
					&rt, NULL, 0),
			 -ENETUNREACH);
	assert_int_equal(rtnl_link_set_up(f->r, f->t0, true, NULL, 0), 0);
	assert_int_equal(rtnl_route_get(f->r, (struct cidr[]){ip("198.18.1.7")},
					&rt, NULL, 0),
			 0);
}

static void test_neigh(void **state)
{
	struct fx *f = *state;
	struct cidr perm = ip("198.18.3.50"), stale = ip("198.18.3.51"),
		    none = ip("198.18.3.52"), stale6 = ip("fd00:3::51");
	int ve0, st;

	NEED_NETNS();
	/* A link of its own, so flushing t0 can be shown to spare it. */
	assert_int_equal(
	    sh("ip link add ve0 type veth peer name ve1 && "
	       "ip link set ve0 up && ip link set ve1 up && "
	       "ip addr add 198.18.3.1/24 dev ve0 && "
	       "ip addr add fd00:3::1/64 dev ve0 nodad && "
	       "ip neigh add 198.18.3.50 lladdr 02:00:00:00:00:50 dev ve0 "
	       "nud permanent && "
	       "ip neigh add 198.18.3.51 lladdr 02:00:00:00:00:51 dev ve0 "
	       "nud stale && "
	       "ip neigh add fd00:3::51 lladdr 02:00:00:00:00:51 dev ve0 "
	       "nud stale"),
	    0);
	assert_int_equal(rtnl_link_index(f->r, "ve0", &ve0, NULL, 0), 0);
	assert_int_equal(
	    rtnl_neigh_get(f->r, ve0, &perm, &st, f->err, sizeof(f->err)), 0);
	assert_int_equal(st, NUD_PERMANENT);
	assert_int_equal(
	    rtnl_neigh_get(f->r, ve0, &stale, &st, f->err, sizeof(f->err)), 0);
	assert_int_equal(st, NUD_STALE);
	assert_int_equal(
	    rtnl_neigh_get(f->r, ve0, &stale6, &st, f->err, sizeof(f->err)), 0);
	assert_int_equal(st, NUD_STALE);
	assert_int_equal(
	    rtnl_neigh_get(f->r, ve0, &none, &st, f->err, sizeof(f->err)),
	    -ENOENT);

	/* Flush on another link changes nothing here. */
	assert_int_equal(rtnl_neigh_flush(f->r, f->t0, f->err, sizeof(f->err)),
			 0);
	assert_int_equal(rtnl_neigh_get(f->r, ve0, &stale, &st, NULL, 0), 0);
	assert_int_equal(rtnl_neigh_flush(f->r, ve0, f->err, sizeof(f->err)),
			 0);
	assert_int_equal(rtnl_neigh_get(f->r, ve0, &stale, &st, NULL, 0),
			 -ENOENT);
	assert_int_equal(rtnl_neigh_get(f->r, ve0, &stale6, &st, NULL, 0),
			 -ENOENT);
	assert_int_equal(rtnl_neigh_get(f->r, ve0, &perm, &st, NULL, 0), 0);
	assert_int_equal(st, NUD_PERMANENT);
}

/* Many routes make a dump of several datagrams: the runner must read
 * them all and keep the socket in step for the next request. */
static void test_big_dump(void **state)
{
	struct fx *f = *state;
	struct cidr gw = ip("198.18.1.254");

	NEED_NETNS();
	for (int i = 0; i < 2000; i++) {
		struct cidr dst = {
		    AF_INET, {10, (uint8_t)(i >> 8), (uint8_t)i, 0}, 24};

		assert_int_equal(rtnl_route_replace(f->r, AF_INET, 1200, &dst,
						    &gw, 0, f->err,
						    sizeof(f->err)),
				 0);
	}
	assert_int_equal(list(f, AF_INET, 1200).n, 2000);
	assert_int_equal(list(f, AF_INET, 0).n,
			 list(f, AF_INET, 1200).n +
			     list(f, AF_INET, RT_TABLE_MAIN).n +
			     list(f, AF_INET, RT_TABLE_LOCAL).n);
	assert_int_equal(
	    rtnl_route_flush_table(f->r, AF_INET, 1200, f->err, sizeof(f->err)),
	    0);
	assert_int_equal(list(f, AF_INET, 1200).n, 0);
}

/* Answers to a request the runner did not send (here: written straight
 * to the socket, standing in for one given up on) are skipped by their
 * sequence number, not taken for the next request's answer. */
static void test_stale_answers_skipped(void **state)
{
	struct fx *f = *state;
	struct {
		struct nlmsghdr nlh;
		struct ifinfomsg ifi;
	} dump = {
	    {sizeof(dump), RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 0xdead, 0},
	    {AF_UNSPEC}};
	/* A type no one handles: the kernel answers with an error. */
	struct nlmsghdr bad = {sizeof(bad), 0x7ff0, NLM_F_REQUEST | NLM_F_ACK,
			       0xbeef, 0};

	NEED_NETNS();
	assert_int_equal(send(rtnl_fd(f->r), &dump, sizeof(dump), 0),
			 (ssize_t)sizeof(dump));
	assert_int_equal(send(rtnl_fd(f->r), &bad, sizeof(bad), 0),
			 (ssize_t)sizeof(bad));
	assert_int_equal(
	    rtnl_rule_add(f->r, AF_INET, 9, 9, 9, f->err, sizeof(f->err)), 0);
	assert_int_equal(find_rule(f, AF_INET, 9, 9, 9), 1);
	assert_int_equal(find_rule(f, AF_INET, 9, 9, 9), 1);
}

/* ---- "from" rules ---- */

struct from_find {
	struct cidr src;
	uint32_t table, priority;
	int found;
	int with_src; /* rules of any kind that have a source */
};

static int from_cb(const struct rtnl_rule_info *rule, void *arg)
{
	struct from_find *q = arg;

	if (rule->src.len) {
		q->with_src++;
		assert_int_equal(rule->src.family, rule->family);
	} else {
		assert_int_equal(rule->src.family, 0);
	}
	if (cidr_equal(&rule->src, &q->src) && rule->table == q->table &&
	    rule->priority == q->priority) {
		assert_int_equal(rule->action, FR_ACT_TO_TBL);
		assert_int_equal(rule->fwmark, 0);
		q->found++;
	}
	return 0;
}

static int find_from(struct fx *f, const char *src, uint32_t table,
		     uint32_t prio)
{
	struct from_find q = {ip(src), table, prio, 0, 0};

	assert_int_equal(rtnl_rule_list(f->r, AF_UNSPEC, from_cb, &q, f->err,
					sizeof(f->err)),
			 0);
	return q.found;
}

static void test_rule_from(void **state)
{
	struct fx *f = *state;
	struct cidr h4 = ip("198.18.5.7/32"), p6 = ip("fd00:5::1/64");
	struct cidr zero4 = ip("0.0.0.0/0");
	struct from_find none = {{0}, 0, 0, 0, 0};

	NEED_NETNS();
	/* The kernel's own rules have no source. */
	assert_int_equal(
	    rtnl_rule_list(f->r, AF_UNSPEC, from_cb, &none, NULL, 0), 0);
	assert_int_equal(none.with_src, 0);

	assert_int_equal(
	    rtnl_rule_add_from(f->r, &h4, 1300, 500, f->err, sizeof(f->err)),
	    0);
	assert_int_equal(find_from(f, "198.18.5.7/32", 1300, 500), 1);
	assert_int_equal(
	    rtnl_rule_add_from(f->r, &h4, 1300, 500, f->err, sizeof(f->err)),
	    -EEXIST);
	assert_non_null(strstr(f->err, "rule add from: "));
	/* Host bits cleared: listed as the network. */
	assert_int_equal(
	    rtnl_rule_add_from(f->r, &p6, 1300, 500, f->err, sizeof(f->err)),
	    0);
	assert_int_equal(find_from(f, "fd00:5::/64", 1300, 500), 1);
	assert_int_equal(sh("ip -6 rule show | "
			    "grep -q '^500:.*from fd00:5::/64 lookup 1300'"),
			 0);

	/* A mark rule of the same table and priority is not a look-alike
	 * for the delete. */
	assert_int_equal(rtnl_rule_add(f->r, AF_INET, 0x5, 1300, 500, f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(
	    rtnl_rule_del_from(f->r, &h4, 1300, 500, f->err, sizeof(f->err)),
	    0);
	assert_int_equal(find_from(f, "198.18.5.7/32", 1300, 500), 0);
	assert_int_equal(find_rule(f, AF_INET, 0x5, 1300, 500), 1);
	assert_int_equal(
	    rtnl_rule_del_from(f->r, &h4, 1300, 500, f->err, sizeof(f->err)),
	    -ENOENT);
	/* Table and priority 0 match any. */
	assert_int_equal(
	    rtnl_rule_del_from(f->r, &p6, 0, 0, f->err, sizeof(f->err)), 0);
	assert_int_equal(find_from(f, "fd00:5::/64", 1300, 500), 0);

	/* A flush takes "from" rules too, each by its full key. */
	assert_int_equal(rtnl_rule_add_from(f->r, &h4, 1301, 501, NULL, 0), 0);
	assert_int_equal(rtnl_rule_add_from(f->r, &p6, 1301, 501, NULL, 0), 0);
	assert_int_equal(
	    rtnl_rule_flush_table_range(f->r, AF_UNSPEC, 1300, 1301, NULL, 0),
	    0);
	assert_int_equal(
	    rtnl_rule_list(f->r, AF_UNSPEC, from_cb, &none, NULL, 0), 0);
	assert_int_equal(none.with_src, 0);

	/* Refused before the kernel is asked. */
	assert_int_equal(rtnl_rule_add_from(f->r, &h4, 0, 500, NULL, 0),
			 -EINVAL);
	assert_int_equal(rtnl_rule_add_from(f->r, &zero4, 1300, 500, NULL, 0),
			 -EINVAL);
	assert_int_equal(rtnl_rule_del_from(f->r, &zero4, 1300, 500, NULL, 0),
			 -EINVAL);
	assert_int_equal(rtnl_rule_add_from(f->r, NULL, 1300, 500, NULL, 0),
			 -EINVAL);
	h4.family = AF_UNSPEC;
	assert_int_equal(rtnl_rule_add_from(f->r, &h4, 1300, 500, NULL, 0),
			 -EINVAL);
}

/* ---- address lists ---- */

struct addrs {
	int n, t0, lo;
	bool a4, a6, loop4;
	int only; /* every address's ifindex must be this, or 0 */
};

static int addr_cb(int ifindex, const struct cidr *addr, void *arg)
{
	struct addrs *q = arg;

	if (q->only)
		assert_int_equal(ifindex, q->only);
	q->n++;
	q->a4 |= ifindex == q->t0 &&
		 cidr_equal(addr, (struct cidr[]){ip("198.18.1.1/24")});
	q->a6 |= ifindex == q->t0 &&
		 cidr_equal(addr, (struct cidr[]){ip("fd00:1::1/64")});
	q->loop4 |= cidr_equal(addr, (struct cidr[]){ip("127.0.0.1/8")});
	return 0;
}

static int addr_stop(int ifindex, const struct cidr *addr, void *arg)
{
	(void)ifindex;
	(void)addr;
	++*(int *)arg;
	return -ECANCELED;
}

static void test_addr_list(void **state)
{
	struct fx *f = *state;
	struct addrs q = {0};
	int calls = 0;

	NEED_NETNS();
	q.t0 = q.only = f->t0;
	assert_int_equal(
	    rtnl_addr_list(f->r, f->t0, addr_cb, &q, f->err, sizeof(f->err)),
	    0);
	assert_true(q.a4 && q.a6);
	assert_false(q.loop4);
	/* Both of ours, and the link-local one once the kernel has made it
	 * (that happens after the carrier event, so maybe not yet). */
	assert_true(q.n >= 2);

	memset(&q, 0, sizeof(q));
	q.t0 = f->t0;
	assert_int_equal(
	    rtnl_addr_list(f->r, 0, addr_cb, &q, f->err, sizeof(f->err)), 0);
	assert_true(q.a4 && q.a6 && q.loop4);

	assert_int_equal(rtnl_addr_list(f->r, 0, addr_stop, &calls, NULL, 0),
			 -ECANCELED);
	assert_int_equal(calls, 1);
	assert_int_equal(rtnl_addr_list(f->r, -1, addr_cb, &q, NULL, 0),
			 -EINVAL);
}

/* ---- creating links ---- */

static void test_bridge(void **state)
{
	struct fx *f = *state;
	struct rtnl_link_info l;
	static const uint8_t zero[6];

	NEED_NETNS();
	assert_int_equal(rtnl_bridge_add(f->r, "stb0", f->err, sizeof(f->err)),
			 0);
	assert_int_equal(rtnl_bridge_add(f->r, "stb0", f->err, sizeof(f->err)),
			 -EEXIST);
	assert_non_null(strstr(f->err, "bridge add: "));
	/* Any link of the name, not only a bridge. */
	assert_int_equal(rtnl_bridge_add(f->r, "t0", NULL, 0), -EEXIST);

	assert_int_equal(
	    rtnl_link_get(f->r, "stb0", &l, f->err, sizeof(f->err)), 0);
	assert_int_equal(l.ifindex, (int)if_nametoindex("stb0"));
	assert_string_equal(l.name, "stb0");
	assert_string_equal(l.kind, "bridge");
	assert_false(l.up);
	assert_false(l.lower_up);
	assert_int_equal(l.master, 0);
	assert_int_equal(l.mtu, 1500);
	assert_int_equal(l.link, 0);
	assert_int_equal(l.link_netnsid, -1);
	assert_memory_not_equal(l.mac, zero, 6);
	/* STP off, forward delay 0. */
	assert_int_equal(sh("ip -d link show stb0 | grep -q 'forward_delay 0 ' "
			    "&& ip -d link show stb0 | grep -q 'stp_state 0 '"),
			 0);

	assert_int_equal(rtnl_link_get(f->r, "lo", &l, NULL, 0), 0);
	assert_string_equal(l.kind, "");
	assert_true(l.up);
	assert_memory_equal(l.mac, zero, 6);
	assert_int_equal(
	    rtnl_link_get(f->r, "nope0", &l, f->err, sizeof(f->err)), -ENODEV);
	assert_int_equal(rtnl_link_get(f->r, "0123456789abcdef", &l, NULL, 0),
			 -EINVAL);
	assert_int_equal(rtnl_bridge_add(f->r, "", NULL, 0), -EINVAL);
	assert_int_equal(rtnl_bridge_add(f->r, NULL, NULL, 0), -EINVAL);
}

struct links {
	int n;
	struct rtnl_link_info va, vb, br;
};

static int link_cb(const struct rtnl_link_info *l, void *arg)
{
	struct links *q = arg;

	q->n++;
	if (!strcmp(l->name, "va"))
		q->va = *l;
	else if (!strcmp(l->name, "vb"))
		q->vb = *l;
	else if (!strcmp(l->name, "stb0"))
		q->br = *l;
	return 0;
}

static void test_veth_here(void **state)
{
	struct fx *f = *state;
	struct rtnl_link_info va, vb, br;
	struct links q = {0};

	NEED_NETNS();
	assert_int_equal(
	    rtnl_veth_add(f->r, "va", "vb", -1, 1400, f->err, sizeof(f->err)),
	    0);
	assert_int_equal(rtnl_link_get(f->r, "va", &va, f->err, sizeof(f->err)),
			 0);
	assert_int_equal(rtnl_link_get(f->r, "vb", &vb, f->err, sizeof(f->err)),
			 0);
	assert_string_equal(va.kind, "veth");
	assert_string_equal(vb.kind, "veth");
	assert_int_equal(va.mtu, 1400);
	assert_int_equal(vb.mtu, 1400);
	assert_false(va.up || vb.up);
	assert_int_equal(va.link, vb.ifindex);
	assert_int_equal(vb.link, va.ifindex);
	assert_int_equal(va.link_netnsid, -1);
	assert_int_equal(vb.link_netnsid, -1);
	assert_memory_not_equal(va.mac, vb.mac, 6);

	/* Either name taken: refused, and nothing left behind. */
	assert_int_equal(
	    rtnl_veth_add(f->r, "va", "vc", -1, 0, f->err, sizeof(f->err)),
	    -EEXIST);
	assert_non_null(strstr(f->err, "veth add: "));
	assert_int_equal(rtnl_link_get(f->r, "vc", &br, NULL, 0), -ENODEV);
	assert_int_equal(rtnl_veth_add(f->r, "vd", "vb", -1, 0, NULL, 0),
			 -EEXIST);
	assert_int_equal(rtnl_link_get(f->r, "vd", &br, NULL, 0), -ENODEV);
	assert_int_equal(rtnl_veth_add(f->r, "ve", "ve", -1, 0, NULL, 0),
			 -EEXIST);
	assert_int_equal(rtnl_veth_add(f->r, "vf", "", -1, 0, NULL, 0),
			 -EINVAL);

	/* A port of a bridge, up with carrier. */
	assert_int_equal(rtnl_bridge_add(f->r, "stb0", NULL, 0), 0);
	assert_int_equal(rtnl_link_get(f->r, "stb0", &br, NULL, 0), 0);
	assert_int_equal(rtnl_link_set_master(f->r, va.ifindex, br.ifindex,
					      f->err, sizeof(f->err)),
			 0);
	assert_int_equal(rtnl_link_set_up(f->r, va.ifindex, true, NULL, 0), 0);
	assert_int_equal(rtnl_link_set_up(f->r, vb.ifindex, true, NULL, 0), 0);
	assert_int_equal(rtnl_link_get(f->r, "va", &va, NULL, 0), 0);
	assert_int_equal(va.master, br.ifindex);
	assert_true(va.up);
	assert_true(va.lower_up);

	/* The dump reads the same as the gets. */
	assert_int_equal(
	    rtnl_link_list(f->r, link_cb, &q, f->err, sizeof(f->err)), 0);
	assert_int_equal(q.n, 6); /* lo, t0, t0p, va, vb, stb0 */
	assert_memory_equal(&q.va, &va, sizeof(va));
	assert_int_equal(q.vb.ifindex, vb.ifindex);
	assert_int_equal(q.vb.link, va.ifindex);
	assert_memory_equal(q.vb.mac, vb.mac, 6);
	assert_string_equal(q.br.kind, "bridge");
	assert_int_equal(q.br.master, 0);
	/* Not a bridge. */
	assert_int_equal(rtnl_link_set_master(f->r, va.ifindex, f->t0, f->err,
					      sizeof(f->err)),
			 -EOPNOTSUPP);

	/* Released; then deleted, with its peer. */
	assert_int_equal(
	    rtnl_link_set_master(f->r, va.ifindex, 0, f->err, sizeof(f->err)),
	    0);
	assert_int_equal(rtnl_link_get(f->r, "va", &va, NULL, 0), 0);
	assert_int_equal(va.master, 0);
	assert_int_equal(
	    rtnl_link_del(f->r, va.ifindex, f->err, sizeof(f->err)), 0);
	assert_int_equal(rtnl_link_get(f->r, "va", &va, NULL, 0), -ENODEV);
	assert_int_equal(rtnl_link_get(f->r, "vb", &vb, NULL, 0), -ENODEV);
	assert_int_equal(
	    rtnl_link_del(f->r, va.ifindex, f->err, sizeof(f->err)), -ENODEV);
	assert_non_null(strstr(f->err, "link del: "));
	assert_int_equal(rtnl_link_del(f->r, 0, NULL, 0), -EINVAL);
	assert_int_equal(rtnl_link_set_master(f->r, 0, 1, NULL, 0), -EINVAL);
}

/* ---- namespaces ---- */

static void test_netns(void **state)
{
	struct fx *f = *state;
	struct rtnl_link_info l;
	struct ifreq ifr = {0};
	int fd, self;

	NEED_NETNS();
	/* Only network namespaces open. */
	self = netns_open("/proc/self/ns/net");
	assert_true(self >= 0);
	assert_true(fcntl(self, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(netns_is_self(self), 1);
	close(self);
	assert_int_equal(netns_open("/proc/self/ns/uts"), -EINVAL);
	assert_int_equal(netns_open("/proc/self/status"), -EINVAL);
	assert_int_equal(netns_open("/"), -EINVAL);
	assert_int_equal(netns_open("/nonexistent/ns"), -ENOENT);

	other_ns(f);
	assert_int_equal(netns_is_self(f->other), 0);
	assert_int_equal(netns_is_self(-1), -EBADF);

	/* A link made through the other namespace's handle lives there. */
	assert_int_equal(rtnl_bridge_add(f->ro, "stbx", f->err, sizeof(f->err)),
			 0);
	assert_int_equal(rtnl_link_get(f->ro, "stbx", &l, NULL, 0), 0);
	assert_int_equal(rtnl_link_get(f->r, "stbx", &l, NULL, 0), -ENODEV);
	assert_int_equal(rtnl_link_get(f->ro, "t0", &l, NULL, 0), -ENODEV);

	/* So does a socket. */
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "stbx");
	fd = netns_socket(f->other, AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(ioctl(fd, SIOCGIFINDEX, &ifr), 0);
	assert_int_equal(ifr.ifr_ifindex, l.ifindex);
	close(fd);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, SIOCGIFINDEX, &ifr), -1);
	assert_int_equal(errno, ENODEV);
	close(fd);

	/* Failures leave the thread at home. */
	assert_int_equal(netns_socket(f->other, 4242, SOCK_DGRAM, 0),
			 -EAFNOSUPPORT);
	assert_int_equal(netns_is_self(f->home), 1);
	self = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	assert_true(self >= 0);
	assert_int_equal(netns_socket(self, AF_INET, SOCK_DGRAM, 0), -EINVAL);
	close(self);
	assert_int_equal(netns_socket(-1, AF_INET, SOCK_DGRAM, 0), -EBADF);
	assert_int_equal(netns_is_self(f->home), 1);
	assert_int_equal(rtnl_link_get(f->r, "t0", &l, NULL, 0), 0);
}

static void test_veth_other_ns(void **state)
{
	struct fx *f = *state;
	struct rtnl_link_info vx, vy, l;

	NEED_NETNS();
	other_ns(f);
	assert_int_equal(rtnl_veth_add(f->r, "vx", "vy", f->other, 0, f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(rtnl_link_get(f->r, "vx", &vx, NULL, 0), 0);
	assert_int_equal(rtnl_link_get(f->r, "vy", &l, NULL, 0), -ENODEV);
	assert_int_equal(rtnl_link_get(f->ro, "vy", &vy, NULL, 0), 0);
	assert_int_equal(rtnl_link_get(f->ro, "vx", &l, NULL, 0), -ENODEV);
	assert_string_equal(vx.kind, "veth");
	assert_string_equal(vy.kind, "veth");
	assert_int_equal(vx.mtu, 1500);
	/* Each end names its peer by the index in the peer's namespace and
	 * that namespace by an id of its own. */
	assert_int_equal(vx.link, vy.ifindex);
	assert_int_equal(vy.link, vx.ifindex);
	assert_true(vx.link_netnsid >= 0);
	assert_true(vy.link_netnsid >= 0);

	/* The peer's name is taken there, not here: refused, nothing left. */
	assert_int_equal(rtnl_veth_add(f->r, "vz", "vy", f->other, 0, f->err,
				       sizeof(f->err)),
			 -EEXIST);
	assert_int_equal(rtnl_link_get(f->r, "vz", &l, NULL, 0), -ENODEV);
	/* A name taken here is free there. */
	assert_int_equal(rtnl_veth_add(f->r, "vw", "t0", f->other, 9000, f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(rtnl_link_get(f->ro, "t0", &l, NULL, 0), 0);
	assert_int_equal(l.mtu, 9000);
	assert_int_equal(rtnl_link_get(f->r, "vw", &l, NULL, 0), 0);
	assert_int_equal(l.mtu, 9000);

	/* Deleting one end deletes the other, there too. */
	assert_int_equal(
	    rtnl_link_del(f->r, vx.ifindex, f->err, sizeof(f->err)), 0);
	assert_int_equal(rtnl_link_get(f->ro, "vy", &l, NULL, 0), -ENODEV);
	assert_int_equal(rtnl_veth_add(f->r, "vv", "vu", -2, 0, NULL, 0),
			 -EINVAL);
}

/* ---- announcements ---- */

/* Reads frames arriving on the capture socket until one of ethertype
 * proto comes from mac, for up to about two seconds. Returns its length
 * (the Ethernet header included) or 0. */
static ssize_t capture(int fd, uint16_t proto, const uint8_t *mac,
		       uint8_t *frame, size_t size)
{
	for (int i = 0; i < 200; i++) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, frame, size, 0, (void *)&from, &fl);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		assert_true(n >= 0);
		if (from.sll_pkttype == PACKET_OUTGOING || n < ETH_HLEN)
			continue;
		if (ntohs(*(uint16_t *)(frame + 12)) == proto &&
		    !memcmp(frame + 6, mac, 6))
			return n;
	}
	return 0;
}

/* Polls "ip neigh" until addr's entry on dev has lladdr mac. */
static bool neigh_has(const char *addr, const char *dev, const uint8_t *mac)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
		 "ip neigh show %s dev %s | "
		 "grep -q 'lladdr %02x:%02x:%02x:%02x:%02x:%02x '",
		 addr, dev, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	for (int i = 0; i < 100; i++) {
		if (!sh(cmd))
			return true;
		usleep(20000);
	}
	return false;
}

/* an0 in the other namespace announces; an1 here captures the frames and
 * its neighbour cache, holding a stale MAC for both addresses, takes the
 * new one: the kernel accepted the ARP and the NA (checksum included). */
static void test_announce_send(void **state)
{
	struct fx *f = *state;
	struct cidr a4 = ip("198.18.9.1"), a6 = ip("fd00:9::1");
	struct cidr own4 = ip("198.18.9.2/24"), own6 = ip("fd00:9::2/64");
	struct rtnl_link_info an0, an1;
	struct timeval tv = {0, 10000};
	struct sockaddr_ll bind_to = {.sll_family = AF_PACKET};
	uint8_t frame[2048], want[ANNOUNCE_MAX];
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t mcast[6] = {0x33, 0x33, 0, 0, 0, 1};
	int cap, tx, n;
	ssize_t got;

	NEED_NETNS();
	other_ns(f);
	assert_int_equal(rtnl_veth_add(f->r, "an1", "an0", f->other, 0, f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(rtnl_link_get(f->ro, "an0", &an0, NULL, 0), 0);
	assert_int_equal(rtnl_link_get(f->r, "an1", &an1, NULL, 0), 0);
	assert_int_equal(rtnl_link_set_up(f->ro, an0.ifindex, true, NULL, 0),
			 0);
	assert_int_equal(rtnl_link_set_up(f->r, an1.ifindex, true, NULL, 0), 0);
	assert_int_equal(rtnl_addr_add(f->r, an1.ifindex, &own4, NULL, 0), 0);
	assert_int_equal(rtnl_addr_add(f->r, an1.ifindex, &own6, NULL, 0), 0);
	assert_int_equal(
	    sh("ip neigh add 198.18.9.1 lladdr 02:00:00:00:00:99 dev an1 "
	       "nud stale && "
	       "ip neigh add fd00:9::1 lladdr 02:00:00:00:00:99 dev an1 "
	       "nud stale"),
	    0);

	cap = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	assert_true(cap >= 0);
	bind_to.sll_protocol = htons(ETH_P_ALL);
	bind_to.sll_ifindex = an1.ifindex;
	assert_int_equal(bind(cap, (void *)&bind_to, sizeof(bind_to)), 0);
	assert_int_equal(
	    setsockopt(cap, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	tx = netns_socket(f->other, AF_PACKET, SOCK_DGRAM, 0);
	assert_true(tx >= 0);

	/* ARP: to the broadcast, type 0x0806, the builder's bytes. */
	assert_int_equal(announce_send(tx, an0.ifindex, an0.mac, &a4), 0);
	got = capture(cap, ETH_P_ARP, an0.mac, frame, sizeof(frame));
	n = announce_build_arp(want, sizeof(want), an0.mac, &a4);
	assert_int_equal(n, 28);
	/* A short frame is padded to 60 bytes on the way. */
	assert_true(got >= ETH_HLEN + n);
	assert_memory_equal(frame, bcast, 6);
	assert_memory_equal(frame + ETH_HLEN, want, n);
	assert_true(neigh_has("198.18.9.1", "an1", an0.mac));

	/* NA: to 33:33:00:00:00:01, type 0x86dd. */
	assert_int_equal(announce_send(tx, an0.ifindex, an0.mac, &a6), 0);
	got = capture(cap, ETH_P_IPV6, an0.mac, frame, sizeof(frame));
	n = announce_build_na(want, sizeof(want), an0.mac, &a6);
	assert_int_equal(n, 72);
	/* Other IPv6 frames (MLD, router solicitations) may come first. */
	for (int i = 0;
	     got && i < 20 &&
	     (got != ETH_HLEN + n || memcmp(frame + ETH_HLEN, want, n));
	     i++)
		got = capture(cap, ETH_P_IPV6, an0.mac, frame, sizeof(frame));
	assert_int_equal(got, ETH_HLEN + n);
	assert_memory_equal(frame, mcast, 6);
	assert_memory_equal(frame + ETH_HLEN, want, n);
	assert_true(neigh_has("fd00:9::1", "an1", an0.mac));

	/* A link of the wrong namespace: the socket does not see it. */
	assert_int_equal(announce_send(tx,
				       an1.ifindex == an0.ifindex
					   ? an1.ifindex + 100
					   : an1.ifindex,
				       an0.mac, &a4) < 0,
			 1);
	close(tx);
	close(cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rule_add_list_del, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rule_flush_range, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_route_replace_del_flush, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_route_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multipath, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extended_ack, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_link_addr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_neigh, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_big_dump, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_answers_skipped, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rule_from, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_addr_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bridge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_veth_here, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_netns, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_veth_other_ns, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_announce_send, setup,
					    teardown),
	};
	int failed;

	netns_ok = probe();
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (!failed && !netns_ok) {
		printf("SKIP: test_rtnl: %s\n", netns_why);
		return 77;
	}
	return failed;
}
