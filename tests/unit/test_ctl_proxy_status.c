/* straitctl proxy status's output (ctl/proxy_status.c): the text and JSON
 * of a full answer, of an empty one, and of names holding control
 * characters. strait-proxy is not needed: the answers are built here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../ctl/proxy_status.h"

static char *pod_ips[] = {"169.255.1.2/24", "fd00:169:255:1::2/64"};
static char *lb_ips[] = {"169.255.1.20/24"};
static char *bridge_ips[] = {"169.255.1.1/24", "fd00:169:255:1::1/64"};
static char *nh4[] = {"169.255.1.20", "169.255.1.21"};
static char *vips[] = {"20.0.0.1/32", "2000::1/128"};

/* A node with two pods (one whose bridge end is down) and one LB. */
static void full(Proxy__StatusResponse *r, Proxy__Attachment *a,
		 Proxy__Attachment **pods, Proxy__Attachment **lbs)
{
	*r = (Proxy__StatusResponse)PROXY__STATUS_RESPONSE__INIT;
	for (int i = 0; i < 3; i++)
		a[i] = (Proxy__Attachment)PROXY__ATTACHMENT__INIT;
	a[0].name = "pod-a";
	a[0].netns = "/proc/42/ns/net";
	a[0].bridge_port = "stv1a2b3c4d";
	a[0].ifname = "st0";
	a[0].ips = pod_ips;
	a[0].n_ips = 2;
	a[0].mac = "02:00:00:00:00:02";
	a[0].up = true;
	a[1].name = "pod-b";
	a[1].netns = "/run/netns/b";
	a[1].bridge_port = "stv00000001";
	a[1].ifname = "eth9";
	a[1].mac = "02:00:00:00:00:03";
	a[2].name = "lb-0";
	a[2].netns = "/run/netns/lb-0";
	a[2].bridge_port = "stl9f8e7d6c";
	a[2].ifname = "stpnode1";
	a[2].ips = lb_ips;
	a[2].n_ips = 1;
	a[2].mac = "02:00:00:00:00:14";
	a[2].up = true;
	pods[0] = &a[0];
	pods[1] = &a[1];
	lbs[0] = &a[2];

	r->trench = "trench-a";
	r->conduit = "lb";
	r->node = "node-1";
	r->bridge = "stb-lb";
	r->bridge_ips = bridge_ips;
	r->n_bridge_ips = 2;
	r->pods = pods;
	r->n_pods = 2;
	r->lbs = lbs;
	r->n_lbs = 1;
	r->nexthops4 = nh4;
	r->n_nexthops4 = 2;
	r->vips = vips;
	r->n_vips = 2;
	r->table = 200;
	r->nsp_connected = true;
	r->ipam_connected = true;
	r->registered = true;
}

static void test_text(void **state)
{
	(void)state;
	Proxy__StatusResponse r;
	Proxy__Attachment a[3], *pods[2], *lbs[1];
	full(&r, a, pods, lbs);
	struct buf out = {0};
	assert_int_equal(ctl_proxy_status_text(&out, &r), 0);
	assert_string_equal(
	    buf_str(&out),
	    "trench trench-a, conduit lb, node node-1\n"
	    "bridge stb-lb: 169.255.1.1/24 fd00:169:255:1::1/64; egress "
	    "table 200\n"
	    "NSP connected; IPAM connected; registered in NSP\n"
	    "\n"
	    "pods (2):\n"
	    "  NAME   IPS                                  MAC              "
	    "  BRIDGE-PORT  NETNS            UP\n"
	    "  pod-a  169.255.1.2/24,fd00:169:255:1::2/64  02:00:00:00:00:02"
	    "  stv1a2b3c4d  /proc/42/ns/net  yes\n"
	    "  pod-b  -                                    02:00:00:00:00:03"
	    "  stv00000001  /run/netns/b     no\n"
	    "\n"
	    "LB links (1):\n"
	    "  NAME  IPS              MAC                BRIDGE-PORT  NETNS  "
	    "          UP\n"
	    "  lb-0  169.255.1.20/24  02:00:00:00:00:14  stl9f8e7d6c  "
	    "/run/netns/lb-0  yes\n"
	    "\n"
	    "egress nexthops IPv4: 169.255.1.20 169.255.1.21\n"
	    "egress nexthops IPv6: none\n"
	    "egress VIPs: 20.0.0.1/32 2000::1/128\n");
	buf_free(&out);
}

/* A proxy that has just started: nothing connected, nothing attached,
 * and not a single string set (protobuf-c leaves them "" when unpacking,
 * but the printer must not rely on it). */
static void test_empty(void **state)
{
	(void)state;
	Proxy__StatusResponse r = PROXY__STATUS_RESPONSE__INIT;
	r.trench = r.conduit = r.node = r.bridge = NULL;
	struct buf out = {0};
	assert_int_equal(ctl_proxy_status_text(&out, &r), 0);
	assert_string_equal(buf_str(&out),
			    "trench -, conduit -, node -\n"
			    "bridge -: none; egress table 0\n"
			    "NSP NOT connected; IPAM NOT connected; NOT "
			    "registered in NSP\n"
			    "\n"
			    "no pods\n"
			    "\n"
			    "no LB links\n"
			    "\n"
			    "egress nexthops IPv4: none\n"
			    "egress nexthops IPv6: none\n"
			    "egress VIPs: none\n");
	buf_reset(&out);
	assert_int_equal(ctl_proxy_status_json(&out, &r), 0);
	assert_string_equal(buf_str(&out), "{\n"
					   "  \"trench\": \"\",\n"
					   "  \"conduit\": \"\",\n"
					   "  \"node\": \"\",\n"
					   "  \"bridge\": \"\",\n"
					   "  \"bridgeIps\": [],\n"
					   "  \"pods\": [],\n"
					   "  \"lbs\": [],\n"
					   "  \"nexthops4\": [],\n"
					   "  \"nexthops6\": [],\n"
					   "  \"vips\": [],\n"
					   "  \"table\": 0,\n"
					   "  \"nspConnected\": false,\n"
					   "  \"ipamConnected\": false,\n"
					   "  \"registered\": false\n"
					   "}\n");
	buf_free(&out);
}

static void test_json(void **state)
{
	(void)state;
	Proxy__StatusResponse r;
	Proxy__Attachment a[3], *pods[2], *lbs[1];
	full(&r, a, pods, lbs);
	r.n_pods = 1;
	struct buf out = {0};
	assert_int_equal(ctl_proxy_status_json(&out, &r), 0);
	assert_string_equal(buf_str(&out),
			    "{\n"
			    "  \"trench\": \"trench-a\",\n"
			    "  \"conduit\": \"lb\",\n"
			    "  \"node\": \"node-1\",\n"
			    "  \"bridge\": \"stb-lb\",\n"
			    "  \"bridgeIps\": [\n"
			    "    \"169.255.1.1/24\",\n"
			    "    \"fd00:169:255:1::1/64\"\n"
			    "  ],\n"
			    "  \"pods\": [\n"
			    "    {\n"
			    "      \"name\": \"pod-a\",\n"
			    "      \"netns\": \"/proc/42/ns/net\",\n"
			    "      \"bridgePort\": \"stv1a2b3c4d\",\n"
			    "      \"ifname\": \"st0\",\n"
			    "      \"ips\": [\n"
			    "        \"169.255.1.2/24\",\n"
			    "        \"fd00:169:255:1::2/64\"\n"
			    "      ],\n"
			    "      \"mac\": \"02:00:00:00:00:02\",\n"
			    "      \"up\": true\n"
			    "    }\n"
			    "  ],\n"
			    "  \"lbs\": [\n"
			    "    {\n"
			    "      \"name\": \"lb-0\",\n"
			    "      \"netns\": \"/run/netns/lb-0\",\n"
			    "      \"bridgePort\": \"stl9f8e7d6c\",\n"
			    "      \"ifname\": \"stpnode1\",\n"
			    "      \"ips\": [\n"
			    "        \"169.255.1.20/24\"\n"
			    "      ],\n"
			    "      \"mac\": \"02:00:00:00:00:14\",\n"
			    "      \"up\": true\n"
			    "    }\n"
			    "  ],\n"
			    "  \"nexthops4\": [\n"
			    "    \"169.255.1.20\",\n"
			    "    \"169.255.1.21\"\n"
			    "  ],\n"
			    "  \"nexthops6\": [],\n"
			    "  \"vips\": [\n"
			    "    \"20.0.0.1/32\",\n"
			    "    \"2000::1/128\"\n"
			    "  ],\n"
			    "  \"table\": 200,\n"
			    "  \"nspConnected\": true,\n"
			    "  \"ipamConnected\": true,\n"
			    "  \"registered\": true\n"
			    "}\n");
	buf_free(&out);
}

/* Names come from the network: no control character reaches the
 * terminal, and JSON escapes them. */
static void test_hostile_names(void **state)
{
	(void)state;
	Proxy__StatusResponse r;
	Proxy__Attachment a[3], *pods[2], *lbs[1];
	full(&r, a, pods, lbs);
	r.node = "node\033[2J";
	a[0].name = "pod\n-a";
	vips[0] = "20.0.0.1/32\r";
	struct buf out = {0};
	assert_int_equal(ctl_proxy_status_text(&out, &r), 0);
	for (const char *p = buf_str(&out); *p; p++)
		assert_true(*p == '\n' || (unsigned char)*p >= 0x20);
	assert_non_null(strstr(buf_str(&out), "node node?[2J\n"));
	assert_non_null(strstr(buf_str(&out), "  pod?-a  "));
	assert_non_null(strstr(buf_str(&out), "VIPs: 20.0.0.1/32? "));
	buf_reset(&out);
	assert_int_equal(ctl_proxy_status_json(&out, &r), 0);
	assert_non_null(strstr(buf_str(&out), "\"node\": \"node\\u001b[2J\""));
	assert_non_null(strstr(buf_str(&out), "\"name\": \"pod\\n-a\""));
	vips[0] = "20.0.0.1/32";
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_hostile_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
