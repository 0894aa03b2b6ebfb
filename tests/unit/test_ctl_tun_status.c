/* straitctl tun status (ctl/tun_status.c): the text and JSON of a full
 * answer, of an empty one, and of names holding control characters; the
 * command line that reaches it. strait-tun is not needed: the answers are
 * built here. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../ctl/args.h"
#include "../../ctl/server.h"
#include "../../ctl/tun_status.h"

static char *prefixes[] = {"198.19.200.0/24", "fd00:19:200::/64"};
static char *web_addrs[] = {"198.19.200.10", "fd00:19:200::10"};
static char *api_addrs[] = {"198.19.200.11"};
static char *i1_addrs[] = {"198.19.2.11", "fd00:19:2::11"};
static char *i2_addrs[] = {"198.19.1.11"};
static char *i3_addrs[] = {"198.19.4.11"};

static const char *const reasons[] = {
    "no_service",     "no_instance",	     "no_node",	   "no_flow",
    "fragment_early", "no_instance_address", "not_local",  "bad_header",
    "unknown_sender", "bad_packet",	     "send_error", "not_ready",
};
#define NREASONS (sizeof(reasons) / sizeof(reasons[0]))

struct answer {
	Tun__StatusResponse r;
	Tun__Service svc[2], *psvc[2];
	Tun__Instance inst[3], *pinst[3];
	Tun__Node node[2], *pnode[2];
	Tun__Counters c;
	Tun__Counter drop[NREASONS], *pdrop[NREASONS];
};

/* Node n1 of trench-a: service web with an instance on n2, one on this
 * node and one on n4, which has no TUNNEL; service api (policy local)
 * without instances; nodes n1 (this one) and n2; some traffic and two
 * kinds of drops. */
static void full(struct answer *a)
{
	memset(a, 0, sizeof(*a));
	Tun__StatusResponse *r = &a->r;
	*r = (Tun__StatusResponse)TUN__STATUS_RESPONSE__INIT;
	r->trench = "trench-a";
	r->node = "n1";
	r->device = "strait-tun0";
	r->mtu = 1444;
	r->port = 7779;
	r->underlay = "198.18.1.2";
	r->service_prefixes = prefixes;
	r->n_service_prefixes = 2;
	r->nsp_connected = true;
	r->registered = true;
	r->tables_ready = true;

	for (int i = 0; i < 3; i++) {
		a->inst[i] = (Tun__Instance)TUN__INSTANCE__INIT;
		a->pinst[i] = &a->inst[i];
	}
	a->inst[0].identifier = 1;
	a->inst[0].addresses = i1_addrs;
	a->inst[0].n_addresses = 2;
	a->inst[0].node = "n2";
	a->inst[0].reachable = true;
	a->inst[1].identifier = 2;
	a->inst[1].addresses = i2_addrs;
	a->inst[1].n_addresses = 1;
	a->inst[1].node = "n1";
	a->inst[1].local = true;
	a->inst[1].reachable = true;
	a->inst[2].identifier = 5;
	a->inst[2].addresses = i3_addrs;
	a->inst[2].n_addresses = 1;
	a->inst[2].node = "n4";

	for (int i = 0; i < 2; i++) {
		a->svc[i] = (Tun__Service)TUN__SERVICE__INIT;
		a->psvc[i] = &a->svc[i];
	}
	a->svc[0].name = "api";
	a->svc[0].addresses = api_addrs;
	a->svc[0].n_addresses = 1;
	a->svc[0].policy = "local";
	a->svc[0].max_instances = 4;
	a->svc[1].name = "web";
	a->svc[1].addresses = web_addrs;
	a->svc[1].n_addresses = 2;
	a->svc[1].policy = "spread";
	a->svc[1].max_instances = 10;
	a->svc[1].instances = a->pinst;
	a->svc[1].n_instances = 3;
	a->svc[1].n_local = 1;
	r->services = a->psvc;
	r->n_services = 2;

	for (int i = 0; i < 2; i++) {
		a->node[i] = (Tun__Node)TUN__NODE__INIT;
		a->pnode[i] = &a->node[i];
		a->node[i].port = 7779;
	}
	a->node[0].name = "n1";
	a->node[0].address = "198.18.1.2";
	a->node[0].self = true;
	a->node[1].name = "n2";
	a->node[1].address = "fd00:18:2::2";
	a->node[1].port = 7780;
	r->nodes = a->pnode;
	r->n_nodes = 2;

	a->c = (Tun__Counters)TUN__COUNTERS__INIT;
	a->c.device_rx_packets = 5;
	a->c.device_rx_bytes = 420;
	a->c.device_tx_packets = 4;
	a->c.device_tx_bytes = 336;
	a->c.udp_rx_packets = 3;
	a->c.udp_rx_bytes = 300;
	a->c.udp_tx_packets = 2;
	a->c.udp_tx_bytes = 200;
	a->c.udp_sends = 2;
	a->c.udp_send_calls = 1;
	a->c.udp_receive_batches = 3;
	a->c.merged_segments = 0;
	a->c.mss_clamped = 1;
	a->c.unreachable_sent = 2;
	a->c.flows = 3;
	a->c.flows_capacity = 262144;
	a->c.flows_new = 1;
	a->c.flows_forgotten = 0;
	a->c.fragments_held = 3;
	a->c.fragments_released = 2;
	for (size_t i = 0; i < NREASONS; i++) {
		a->drop[i] = (Tun__Counter)TUN__COUNTER__INIT;
		a->drop[i].name = (char *)reasons[i];
		a->pdrop[i] = &a->drop[i];
	}
	a->drop[1].value = 2;  /* no_instance */
	a->drop[11].value = 1; /* not_ready */
	a->c.drops = a->pdrop;
	a->c.n_drops = NREASONS;
	r->counters = &a->c;
}

static void test_text(void **state)
{
	(void)state;
	struct answer a;
	full(&a);
	struct buf out = {0};
	assert_int_equal(ctl_tun_status_text(&out, &a.r), 0);
	assert_string_equal(
	    buf_str(&out),
	    "node n1, trench trench-a: strait-tun0 mtu 1444, underlay "
	    "198.18.1.2 port 7779\n"
	    "service prefixes: 198.19.200.0/24 fd00:19:200::/64\n"
	    "NSP connected; registered as TUNNEL; tables ready\n"
	    "\n"
	    "services (2):\n"
	    "  SERVICE  ADDRESSES                      POLICY  INSTANCES  "
	    "LOCAL  MAX\n"
	    "  api      198.19.200.11                  local   0          0  "
	    "    4\n"
	    "  web      198.19.200.10,fd00:19:200::10  spread  3          1  "
	    "    10\n"
	    "\n"
	    "instances (3):\n"
	    "  SERVICE  ID  ADDRESSES                  NODE\n"
	    "  web      1   198.19.2.11,fd00:19:2::11  n2\n"
	    "  web      2   198.19.1.11                n1 (this node)\n"
	    "  web      5   198.19.4.11                n4 (no tunnel)\n"
	    "\n"
	    "nodes (2):\n"
	    "  NODE            UNDERLAY      PORT\n"
	    "  n1 (this node)  198.18.1.2    7779\n"
	    "  n2              fd00:18:2::2  7780\n"
	    "\n"
	    "traffic:                  PACKETS  BYTES\n"
	    "  read from strait-tun0   5        420\n"
	    "  written to strait-tun0  4        336\n"
	    "  received over UDP       3        300\n"
	    "  sent over UDP           2        200\n"
	    "flows 3 of 262144, placed 1, forgotten 0\n"
	    "UDP sends 2 in 1 calls, receive batches 3, merged segments 0\n"
	    "MSS clamped 1, unreachables sent 2, fragments held 3 (released "
	    "2)\n"
	    "drops: no_instance 2, not_ready 1\n");
	buf_free(&out);
}

/* A daemon that has just started: nothing connected, no tables, not a
 * string set (protobuf-c leaves them "" when unpacking, but the printer
 * must not rely on it), no counters message. */
static void test_empty(void **state)
{
	(void)state;
	Tun__StatusResponse r = TUN__STATUS_RESPONSE__INIT;
	r.trench = r.node = r.device = r.underlay = NULL;
	struct buf out = {0};
	assert_int_equal(ctl_tun_status_text(&out, &r), 0);
	assert_string_equal(
	    buf_str(&out),
	    "node -, trench -: - mtu 0, underlay - port 0\n"
	    "service prefixes: none\n"
	    "NSP NOT connected; NOT registered; tables NOT "
	    "ready (waiting for NSP)\n"
	    "\n"
	    "no services\n"
	    "\n"
	    "no instances\n"
	    "\n"
	    "no nodes\n"
	    "\n"
	    "traffic:             PACKETS  BYTES\n"
	    "  read from -        0        0\n"
	    "  written to -       0        0\n"
	    "  received over UDP  0        0\n"
	    "  sent over UDP      0        0\n"
	    "flows 0 of 0, placed 0, forgotten 0\n"
	    "UDP sends 0 in 0 calls, receive batches 0, merged segments 0\n"
	    "MSS clamped 0, unreachables sent 0, fragments held 0 (released "
	    "0)\n"
	    "drops: none\n");
	buf_reset(&out);
	assert_int_equal(ctl_tun_status_json(&out, &r), 0);
	assert_string_equal(buf_str(&out), "{\n"
					   "  \"trench\": \"\",\n"
					   "  \"node\": \"\",\n"
					   "  \"device\": \"\",\n"
					   "  \"mtu\": 0,\n"
					   "  \"port\": 0,\n"
					   "  \"underlay\": \"\",\n"
					   "  \"servicePrefixes\": [],\n"
					   "  \"nspConnected\": false,\n"
					   "  \"registered\": false,\n"
					   "  \"tablesReady\": false,\n"
					   "  \"services\": [],\n"
					   "  \"nodes\": [],\n"
					   "  \"counters\": {\n"
					   "    \"deviceRxPackets\": 0,\n"
					   "    \"deviceRxBytes\": 0,\n"
					   "    \"deviceTxPackets\": 0,\n"
					   "    \"deviceTxBytes\": 0,\n"
					   "    \"udpRxPackets\": 0,\n"
					   "    \"udpRxBytes\": 0,\n"
					   "    \"udpTxPackets\": 0,\n"
					   "    \"udpTxBytes\": 0,\n"
					   "    \"udpSends\": 0,\n"
					   "    \"udpSendCalls\": 0,\n"
					   "    \"udpReceiveBatches\": 0,\n"
					   "    \"mergedSegments\": 0,\n"
					   "    \"mssClamped\": 0,\n"
					   "    \"unreachableSent\": 0,\n"
					   "    \"flows\": 0,\n"
					   "    \"flowsCapacity\": 0,\n"
					   "    \"flowsNew\": 0,\n"
					   "    \"flowsForgotten\": 0,\n"
					   "    \"fragmentsHeld\": 0,\n"
					   "    \"fragmentsReleased\": 0,\n"
					   "    \"drops\": {}\n"
					   "  }\n"
					   "}\n");
	buf_free(&out);
}

static void test_json(void **state)
{
	(void)state;
	struct answer a;
	full(&a);
	a.r.n_services = 1;	       /* api: a service without instances */
	a.r.services = &a.psvc[0] + 1; /* web only */
	a.svc[1].n_instances = 2;
	a.r.n_nodes = 1;
	a.c.n_drops = 3;
	struct buf out = {0};
	assert_int_equal(ctl_tun_status_json(&out, &a.r), 0);
	assert_string_equal(buf_str(&out),
			    "{\n"
			    "  \"trench\": \"trench-a\",\n"
			    "  \"node\": \"n1\",\n"
			    "  \"device\": \"strait-tun0\",\n"
			    "  \"mtu\": 1444,\n"
			    "  \"port\": 7779,\n"
			    "  \"underlay\": \"198.18.1.2\",\n"
			    "  \"servicePrefixes\": [\n"
			    "    \"198.19.200.0/24\",\n"
			    "    \"fd00:19:200::/64\"\n"
			    "  ],\n"
			    "  \"nspConnected\": true,\n"
			    "  \"registered\": true,\n"
			    "  \"tablesReady\": true,\n"
			    "  \"services\": [\n"
			    "    {\n"
			    "      \"name\": \"web\",\n"
			    "      \"addresses\": [\n"
			    "        \"198.19.200.10\",\n"
			    "        \"fd00:19:200::10\"\n"
			    "      ],\n"
			    "      \"policy\": \"spread\",\n"
			    "      \"maxInstances\": 10,\n"
			    "      \"instances\": [\n"
			    "        {\n"
			    "          \"identifier\": 1,\n"
			    "          \"addresses\": [\n"
			    "            \"198.19.2.11\",\n"
			    "            \"fd00:19:2::11\"\n"
			    "          ],\n"
			    "          \"node\": \"n2\",\n"
			    "          \"local\": false,\n"
			    "          \"reachable\": true\n"
			    "        },\n"
			    "        {\n"
			    "          \"identifier\": 2,\n"
			    "          \"addresses\": [\n"
			    "            \"198.19.1.11\"\n"
			    "          ],\n"
			    "          \"node\": \"n1\",\n"
			    "          \"local\": true,\n"
			    "          \"reachable\": true\n"
			    "        }\n"
			    "      ],\n"
			    "      \"nLocal\": 1\n"
			    "    }\n"
			    "  ],\n"
			    "  \"nodes\": [\n"
			    "    {\n"
			    "      \"name\": \"n1\",\n"
			    "      \"address\": \"198.18.1.2\",\n"
			    "      \"port\": 7779,\n"
			    "      \"self\": true\n"
			    "    }\n"
			    "  ],\n"
			    "  \"counters\": {\n"
			    "    \"deviceRxPackets\": 5,\n"
			    "    \"deviceRxBytes\": 420,\n"
			    "    \"deviceTxPackets\": 4,\n"
			    "    \"deviceTxBytes\": 336,\n"
			    "    \"udpRxPackets\": 3,\n"
			    "    \"udpRxBytes\": 300,\n"
			    "    \"udpTxPackets\": 2,\n"
			    "    \"udpTxBytes\": 200,\n"
			    "    \"udpSends\": 2,\n"
			    "    \"udpSendCalls\": 1,\n"
			    "    \"udpReceiveBatches\": 3,\n"
			    "    \"mergedSegments\": 0,\n"
			    "    \"mssClamped\": 1,\n"
			    "    \"unreachableSent\": 2,\n"
			    "    \"flows\": 3,\n"
			    "    \"flowsCapacity\": 262144,\n"
			    "    \"flowsNew\": 1,\n"
			    "    \"flowsForgotten\": 0,\n"
			    "    \"fragmentsHeld\": 3,\n"
			    "    \"fragmentsReleased\": 2,\n"
			    "    \"drops\": {\n"
			    "      \"no_service\": 0,\n"
			    "      \"no_instance\": 2,\n"
			    "      \"no_node\": 0\n"
			    "    }\n"
			    "  }\n"
			    "}\n");
	buf_free(&out);
}

/* Names come from the network (NSP's configuration and registrations):
 * no control character reaches the terminal, and JSON escapes them. */
static void test_hostile_names(void **state)
{
	(void)state;
	struct answer a;
	full(&a);
	a.svc[1].name = "web\033[2J";
	a.inst[0].node = "n2\r";
	a.node[1].name = "n\n2";
	a.drop[1].name = "no\tinstance";
	struct buf out = {0};
	assert_int_equal(ctl_tun_status_text(&out, &a.r), 0);
	for (const char *p = buf_str(&out); *p; p++)
		assert_true(*p == '\n' || (unsigned char)*p >= 0x20);
	assert_non_null(strstr(buf_str(&out), "  web?[2J  1   "));
	assert_non_null(strstr(buf_str(&out), "  n2?\n"));
	assert_non_null(strstr(buf_str(&out), "  n?2  "));
	assert_non_null(strstr(buf_str(&out), "drops: no?instance 2,"));
	buf_reset(&out);
	assert_int_equal(ctl_tun_status_json(&out, &a.r), 0);
	assert_non_null(strstr(buf_str(&out), "\"name\": \"web\\u001b[2J\""));
	assert_non_null(strstr(buf_str(&out), "\"node\": \"n2\\r\""));
	assert_non_null(strstr(buf_str(&out), "\"no\\tinstance\": 2"));
	buf_free(&out);
}

/* The command line: `tun status` and its socket (--tun, $STRAIT_TUN,
 * the default, in that order); the group alone or a wrong command is a
 * usage error that names what it wants. */
static void test_command_line(void **state)
{
	(void)state;
	struct ctl_args a;
	struct ctl_server srv;
	char err[256];
	const struct ctl_env none = {0}, env = {.tun = "unix:/x/env.sock"};

	char *v1[] = {"straitctl", "tun", "status", "--json"};
	assert_int_equal(ctl_args_parse(4, v1, NULL, &a, err, sizeof(err)), 0);
	assert_int_equal(a.cmd, CTL_CMD_TUN_STATUS);
	assert_true(a.json);
	ctl_server_of(&a, &none, &srv);
	assert_string_equal(srv.addr, "unix:/run/strait/tun.sock");
	assert_string_equal(srv.option, "--tun");
	ctl_server_of(&a, &env, &srv);
	assert_string_equal(srv.addr, "unix:/x/env.sock");
	ctl_args_free(&a);

	char *v2[] = {"straitctl", "--tun",   "unix:/x/opt.sock", "tun",
		      "status",	   "--proxy", "unix:/x/p.sock"};
	assert_int_equal(ctl_args_parse(7, v2, NULL, &a, err, sizeof(err)), 0);
	ctl_server_of(&a, &env, &srv);
	assert_string_equal(srv.addr, "unix:/x/opt.sock");
	ctl_args_free(&a);

	char *v3[] = {"straitctl", "tun"};
	assert_int_equal(ctl_args_parse(2, v3, NULL, &a, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "tun needs a command: status");
	ctl_args_free(&a);

	char *v4[] = {"straitctl", "tun", "list"};
	assert_int_equal(ctl_args_parse(3, v4, NULL, &a, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "unknown command 'tun list' (want status)");
	ctl_args_free(&a);

	char *v5[] = {"straitctl", "tun", "status", "--tun="};
	assert_int_equal(ctl_args_parse(4, v5, NULL, &a, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err,
			    "--tun needs an address (unix:PATH or HOST:PORT)");
	ctl_args_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_hostile_names),
	    cmocka_unit_test(test_command_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
