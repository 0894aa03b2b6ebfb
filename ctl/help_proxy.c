/* The --help texts of the proxy group (proxy_status.c). See help_text.h. */
#include "help_text.h"

static const struct help help_proxy = {
    .head = "straitctl proxy - look into a running strait-proxy\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl proxy status   bridge, pods, LB links, egress\n",
    .group = true,
    .examples =
	"Examples:\n"
	"  straitctl proxy status\n"
	"  straitctl --proxy unix:/run/strait/proxy-load-balancer.sock \\\n"
	"      proxy status --json\n",
};

static const struct help help_proxy_status = {
    .head =
	"straitctl proxy status - the node proxy's state\n"
	"\n"
	"Usage:\n"
	"  straitctl proxy status [--json]\n"
	"\n"
	"Asks strait-proxy on its local socket (proxy.Local/Status) what it\n"
	"serves (trench, conduit, node), its bridge with its addresses, the\n"
	"routing table of its egress, whether NSP and IPAM are connected\n"
	"and whether it is registered in NSP; then the pods attached to\n"
	"the bridge, the links to the conduit's LBs, the nexthops of the\n"
	"egress route and the VIPs whose egress rules are in place.\n"
	"\n"
	"strait-proxy listens on unix:/run/strait/proxy-<conduit>.sock\n"
	"unless told otherwise (one proxy per conduit), while --proxy\n"
	"defaults to unix:/run/strait/proxy.sock: give --proxy or\n"
	"$STRAIT_PROXY.\n",
    .output =
	"Output:\n"
	"  Text:\n"
	"    trench trench-a, conduit lb, node node-1\n"
	"    bridge stb-lb: 169.255.1.1/24 fd00:169:255:1::1/64; egress table "
	"200\n"
	"    NSP connected; IPAM connected; registered in NSP\n"
	"  then a table of the pods and one of the LB links (NAME IPS MAC\n"
	"  BRIDGE-PORT NETNS UP; UP: the bridge end exists and is up), the\n"
	"  egress nexthops per family and the VIPs.\n"
	"  JSON, pretty, the whole status:\n"
	"  {\"trench\", \"conduit\", \"node\", \"bridge\", \"bridgeIps\": "
	"[...],\n"
	"   \"pods\": [{\"name\", \"netns\", \"bridgePort\", \"ifname\", "
	"\"ips\",\n"
	"   \"mac\", \"up\"}], \"lbs\": [...], \"nexthops4\": [...],\n"
	"   \"nexthops6\": [...], \"vips\": [...], \"table\", "
	"\"nspConnected\",\n"
	"   \"ipamConnected\", \"registered\"}\n"
	"  (the fields of proto/proxy.proto's StatusResponse, in camelCase;\n"
	"  an LB link has the fields of a pod)\n",
    .examples = "Examples:\n"
		"  straitctl proxy status\n"
		"  STRAIT_PROXY=unix:/run/strait/proxy-lb.sock straitctl proxy "
		"status --json\n",
};

const char ctl_usage_proxy[] = "Usage: straitctl [global options] proxy "
			       "status [--json]\n"
			       "Try 'straitctl proxy --help'.\n";

const struct help *ctl_help_proxy(enum ctl_cmd cmd)
{
	return cmd == CTL_CMD_PROXY_STATUS ? &help_proxy_status : &help_proxy;
}
