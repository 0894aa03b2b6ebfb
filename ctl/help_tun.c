/* The --help texts of the tun group (tun_status.c). See help_text.h. */
#include "help_text.h"

static const struct help help_tun = {
    .head = "straitctl tun - look into a running strait-tun\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl tun status   services, instances, nodes, counters\n",
    .group = true,
    .examples = "Examples:\n"
		"  straitctl tun status\n"
		"  straitctl --tun unix:/run/strait/tun.sock tun status "
		"--json\n",
};

static const struct help help_tun_status = {
    .head =
	"straitctl tun status - the service tunnel's state on this node\n"
	"\n"
	"Usage:\n"
	"  straitctl tun status [--json]\n"
	"\n"
	"Asks strait-tun on its control socket (tun.Control/Status) what it\n"
	"is (node, trench, device and MTU, underlay address and UDP port,\n"
	"service prefixes), whether NSP is connected, whether the node is\n"
	"registered as a TUNNEL and whether its tables are ready (every NSP\n"
	"watch has answered once; before that, packets to the service\n"
	"prefixes are dropped as not_ready). Then the tables it forwards\n"
	"with: the services, each instance and the node it lives on, the\n"
	"nodes of the trench with their underlay addresses; and its\n"
	"counters since it started: packets and bytes through the device\n"
	"and over UDP, flows, and drops by reason.\n",
    .output =
	"Output:\n"
	"  Text:\n"
	"    node n1, trench trench-a: strait-tun0 mtu 1444, underlay "
	"198.18.1.2 port 7779\n"
	"    service prefixes: 198.19.200.0/24 fd00:19:200::/64\n"
	"    NSP connected; registered as TUNNEL; tables ready\n"
	"  then tables of the services (SERVICE ADDRESSES POLICY INSTANCES\n"
	"  LOCAL MAX), the instances (SERVICE ID ADDRESSES NODE; NODE says\n"
	"  '(this node)' or, when the node has no TUNNEL registration and\n"
	"  the instance's flows are dropped as no_node, '(no tunnel)') and\n"
	"  the nodes (NODE UNDERLAY PORT), packets and bytes read from and\n"
	"  written to the device and received and sent over UDP, the flow\n"
	"  table, and the drops that are not zero:\n"
	"    drops: no_instance 2, not_ready 1\n"
	"  JSON, pretty, the whole status:\n"
	"  {\"trench\", \"node\", \"device\", \"mtu\", \"port\", "
	"\"underlay\",\n"
	"   \"servicePrefixes\": [...], \"nspConnected\", \"registered\",\n"
	"   \"tablesReady\", \"services\": [{\"name\", \"addresses\", "
	"\"policy\",\n"
	"   \"maxInstances\", \"instances\": [{\"identifier\", "
	"\"addresses\",\n"
	"   \"node\", \"local\", \"reachable\"}], \"nLocal\"}],\n"
	"   \"nodes\": [{\"name\", \"address\", \"port\", \"self\"}],\n"
	"   \"counters\": {\"deviceRxPackets\", \"deviceRxBytes\", ...,\n"
	"   \"flowsForgotten\", \"drops\": {\"no_service\": 0, ...}}}\n"
	"  (the fields of proto/tun.proto's StatusResponse, in camelCase;\n"
	"  every drop reason is present in JSON, zero or not)\n",
    .examples = "Examples:\n"
		"  straitctl tun status\n"
		"  straitctl tun status --json | jq '.counters.drops'\n",
};

const char ctl_usage_tun[] = "Usage: straitctl [global options] tun status "
			     "[--json]\n"
			     "Try 'straitctl tun --help'.\n";

const struct help *ctl_help_tun(enum ctl_cmd cmd)
{
	return cmd == CTL_CMD_TUN_STATUS ? &help_tun_status : &help_tun;
}
