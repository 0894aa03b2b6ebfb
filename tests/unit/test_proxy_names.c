/* Unit tests of proxy/names.c: the names strait-proxy gives its bridge,
 * links and LB attachments, which a restarted proxy must compute again
 * identically to find its own links. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../proxy/proxy.h"

static void bridge_names(void **state)
{
	(void)state;
	char b[PROXY_IFNAMSIZ], c[PROXY_IFNAMSIZ];
	proxy_bridge_name("c1", b);
	assert_string_equal(b, "stb-c1");
	proxy_bridge_name("12345678901", b); /* 4 + 11 = 15: fits */
	assert_string_equal(b, "stb-12345678901");
	proxy_bridge_name("load-balancer", b);
	assert_int_equal(strlen(b), 15);
	assert_memory_equal(b, "stb-load-b", 10);
	proxy_bridge_name("load-balancer", c);
	assert_string_equal(b, c); /* stable */
	proxy_bridge_name("load-balancex", c);
	assert_string_not_equal(b, c); /* same 6 first bytes, other hash */
}

static void link_names(void **state)
{
	(void)state;
	char a[PROXY_IFNAMSIZ], b[PROXY_IFNAMSIZ];
	proxy_link_name("stv", "pod-web-1", a);
	proxy_link_name("stv", "pod-web-1", b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 11);
	assert_memory_equal(a, "stv", 3);
	proxy_link_name("stv", "pod-web-2", b);
	assert_string_not_equal(a, b);
	assert_int_equal(proxy_check_ifname(a), 0);
}

static void lb_names_ignore_order(void **state)
{
	(void)state;
	char *one[] = { "198.18.1.11/24", "fd00:1::11/64" };
	char *two[] = { "fd00:1::11/64", "198.18.1.11/24" };
	char *other[] = { "198.18.1.12/24", "fd00:1::12/64" };
	char a[PROXY_NAME_MAX + 8], b[PROXY_NAME_MAX + 8], c[PROXY_NAME_MAX + 8];
	proxy_lb_name(one, 2, a);
	proxy_lb_name(two, 2, b);
	proxy_lb_name(other, 2, c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_memory_equal(a, "lb-", 3);
	assert_int_equal(strlen(a), 11);
}

static void names_checked(void **state)
{
	(void)state;
	char err[128];
	assert_int_equal(proxy_check_name("web-1", err, sizeof(err)), 0);
	assert_int_equal(proxy_check_name("", err, sizeof(err)), -EINVAL);
	assert_int_equal(proxy_check_name("a b", err, sizeof(err)), -EINVAL);
	assert_int_equal(proxy_check_name("a/b", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a/b"));
	char long_name[PROXY_NAME_MAX + 2];
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(proxy_check_name(long_name, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(proxy_check_ifname("st0"), 0);
	assert_int_equal(proxy_check_ifname("0123456789abcdef"), -EINVAL);
	assert_int_equal(proxy_check_ifname("a:b"), -EINVAL);
	assert_int_equal(proxy_check_ifname(""), -EINVAL);
}

static void macs_round_trip(void **state)
{
	(void)state;
	uint8_t mac[6] = { 0x02, 0xab, 0x00, 0x10, 0xff, 0x7e }, back[6];
	char s[18];
	proxy_mac_format(mac, s);
	assert_string_equal(s, "02:ab:00:10:ff:7e");
	assert_int_equal(proxy_mac_parse(s, back), 0);
	assert_memory_equal(mac, back, 6);
	assert_int_equal(proxy_mac_parse("02:ab:00:10:ff", back), -EINVAL);
	assert_int_equal(proxy_mac_parse("02:ab:00:10:ff:7e:1", back),
			 -EINVAL);
}

static void bridge_macs(void **state)
{
	(void)state;
	uint8_t a[6], b[6], c[6];
	proxy_bridge_mac("trench-a", "c1", "n1", a);
	proxy_bridge_mac("trench-a", "c1", "n1", b);
	proxy_bridge_mac("trench-a", "c1", "n2", c);
	assert_memory_equal(a, b, 6);
	assert_memory_not_equal(a, c, 6);
	assert_int_equal(a[0], 0x02); /* locally administered unicast */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bridge_names),
		cmocka_unit_test(link_names),
		cmocka_unit_test(lb_names_ignore_order),
		cmocka_unit_test(names_checked),
		cmocka_unit_test(macs_round_trip),
		cmocka_unit_test(bridge_macs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
