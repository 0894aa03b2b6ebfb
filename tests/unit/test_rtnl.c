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
 */
#include <errno.h>
#include <linux/fib_rules.h>
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
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cidr.h"
#include "rtnl.h"

static bool netns_ok;
static char netns_why[128];

struct fx {
	struct rtnl *r;
	int t0;
	char err[256];
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

	rtnl_close(f->r);
	free(f);
	return 0;
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
