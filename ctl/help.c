/* The --help texts. See help.h.
 *
 * A command's help is its own parts (what it does, its options, its
 * output, examples) with the global options and the exit status, which
 * every command shares, printed between them. The general help and the
 * texts of the ipam group are here; those of the nsp group are in
 * help_nsp.c, those of the local daemons' status commands in help_lb.c,
 * help_proxy.c and help_tun.c. */
#include <stdbool.h>
#include <stdio.h>

#include "help.h"
#include "help_text.h"

static const char global_options[] =
    "Global options (anywhere on the line):\n"
    "  --nsp ADDR         strait-nsp, for the nsp commands: HOST:PORT,\n"
    "                     [IPV6]:PORT or HOST (default $STRAIT_NSP,\n"
    "                     else 127.0.0.1:7778)\n"
    "  --ipam ADDR        strait-ipam, for the ipam commands: HOST:PORT,\n"
    "                     [IPV6]:PORT or HOST (default $STRAIT_IPAM,\n"
    "                     else 127.0.0.1:7777). Each group ignores the\n"
    "                     other's option, so both may always be given.\n"
    "  --lb ADDR          strait-lb's control socket, for the lb commands:\n"
    "                     unix:PATH or HOST:PORT (default $STRAIT_LB, else\n"
    "                     unix:/run/strait/lb.sock)\n"
    "  --proxy ADDR       strait-proxy's local socket, for the proxy\n"
    "                     commands: unix:PATH or HOST:PORT (default\n"
    "                     $STRAIT_PROXY, else unix:/run/strait/proxy.sock;\n"
    "                     the proxy's own is proxy-<conduit>.sock there)\n"
    "  --tun ADDR         strait-tun's control socket, for the tun\n"
    "                     commands: unix:PATH or HOST:PORT (default\n"
    "                     $STRAIT_TUN, else unix:/run/strait/tun.sock)\n"
    "  --json             JSON output (its shape is under Output in each\n"
    "                     command's help)\n"
    "  --timeout SECONDS  time to connect and get the answer (default 5;\n"
    "                     fractions allowed). Streaming commands (watch,\n"
    "                     config --watch, register --keep) time only the\n"
    "                     first connection (and --keep its registration\n"
    "                     and its final unregister).\n"
    "  --log-level LEVEL  error, warn (default), info or debug, on stderr\n"
    "  -h, --help         this help; `straitctl GROUP COMMAND --help`\n"
    "                     for a command\n"
    "  -V, --version      the version\n";

static const char exit_status[] =
    "Exit status:\n"
    "  0  done (a watch also ends with 0 on SIGINT or SIGTERM)\n"
    "  1  the server refused the request (any status but OK), or a local\n"
    "     failure such as an unwritable --resume file\n"
    "  2  usage error: a bad option or value, named in the message\n"
    "  3  cannot reach the server within --timeout (the message names the\n"
    "     address and the reason), or no answer within it\n"
    "  4  the connection was lost during a one-shot command\n"
    "  128+N  a one-shot command was stopped by signal N\n";

static const struct help help_main = {
    .head = "straitctl - the command-line client of strait\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl [global options] nsp COMMAND [options]\n"
	    "  straitctl [global options] ipam COMMAND [options]\n"
	    "  straitctl [global options] lb COMMAND [options]\n"
	    "  straitctl [global options] proxy status [--json]\n"
	    "  straitctl [global options] tun status [--json]\n"
	    "\n"
	    "NSP commands (strait-nsp: the registry and configuration "
	    "hub):\n"
	    "  nsp register    register a target, frontend, proxy, tunnel or\n"
	    "                  instance (--keep: stay and refresh it)\n"
	    "  nsp unregister  remove a registration by its key\n"
	    "  nsp list        list the registered targets\n"
	    "  nsp watch       print registry events as they happen\n"
	    "  nsp config      print (or --watch) the trench "
	    "configuration\n"
	    "\n"
	    "IPAM commands (strait-ipam: pod and node bridge addresses):\n"
	    "  ipam allocate   allocate or refresh a child's address\n"
	    "  ipam release    release a child's address\n"
	    "  ipam list       list the allocations\n"
	    "  ipam tree       print the prefix tree with its usage\n"
	    "\n"
	    "LB commands (strait-lb, over its local control socket):\n"
	    "  lb status       packets, drops by reason, queues, tables\n"
	    "  lb streams      streams, targets and table balance\n"
	    "  lb flows        flows and their match counters\n"
	    "\n"
	    "Proxy commands (strait-proxy, over its local socket):\n"
	    "  proxy status    bridge, pods, LB links, egress\n"
	    "\n"
	    "Tunnel commands (strait-tun, over its local control socket):\n"
	    "  tun status      services, instances, nodes, counters\n",
    .examples = "Examples:\n"
		"  straitctl nsp list\n"
		"  straitctl --nsp 10.0.0.1:7778 nsp watch --json\n"
		"  straitctl nsp register --trench trench-a \\\n"
		"      --conduit load-balancer --stream stream-a \\\n"
		"      --ip 198.18.1.5/24 --keep\n"
		"  straitctl ipam allocate --trench trench-a \\\n"
		"      --conduit load-balancer --node node-1 --name pod-a\n"
		"  straitctl --ipam 10.0.0.1:7777 ipam tree\n"
		"\n"
		"`straitctl GROUP COMMAND --help` (GROUP nsp, ipam, lb,\n"
		"proxy or tun) describes each command; docs/straitctl.md is\n"
		"the full reference.\n",
};

static const char child_options[] =
    "  --trench T         the trench (required)\n"
    "  --conduit C        the conduit (required)\n"
    "  --node N           the node (required)\n"
    "  --name NAME        the child (required): a pod, or the node's\n"
    "                     proxy for its bridge. The server takes names\n"
    "                     (this one and the three above) of 1 to 128\n"
    "                     bytes without spaces, '/', '|' or control\n"
    "                     characters (reason name_invalid)\n"
    "  --family FAMILY    ipv4, ipv6 or dual (default): dual makes one\n"
    "                     call per family, both at once\n";

static const struct help help_ipam = {
    .group = true,
    .head = "straitctl ipam - talk to strait-ipam\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl ipam allocate --trench T --conduit C --node N\n"
	    "                          --name NAME [--family ipv4|ipv6|dual]\n"
	    "                          [--bridge]\n"
	    "  straitctl ipam release  --trench T --conduit C --node N\n"
	    "                          --name NAME [--family ipv4|ipv6|dual]\n"
	    "  straitctl ipam list     [--trench T] [--conduit C] [--node N]\n"
	    "                          [--family ipv4|ipv6|any]\n"
	    "  straitctl ipam tree     [--trench T]\n",
    .examples = "`straitctl ipam COMMAND --help` describes each.\n",
};

static const struct help help_allocate = {
    .shared = child_options,
    .head =
	"straitctl ipam allocate - allocate a child's address\n"
	"\n"
	"Usage:\n"
	"  straitctl ipam allocate --trench T --conduit C --node N\n"
	"      --name NAME [--family ipv4|ipv6|dual] [--bridge]\n"
	"\n"
	"Gives the child (trench, conduit, node, family, name) an address\n"
	"in its node's prefix, and prints it with the node prefix and the\n"
	"gateway (the node's bridge address). The prefixes of the trench,\n"
	"conduit and node are made on first use. Allocate is idempotent:\n"
	"a child that holds an address gets the same one back (created:\n"
	"no), and its lease is refreshed; a child not allocated again\n"
	"within the server's --lease (default 40 min) loses its address.\n"
	"A dual-stack pod is two children of one name, one per family.\n",
    .options =
	"  --bridge           the node's bridge address (its proxy's): the\n"
	"                     first host address of the node prefix, one\n"
	"                     per node and family, never collected by\n"
	"                     leases. Refused (bridge_taken) while another\n"
	"                     name holds it.\n",
    .output =
	"Output:\n"
	"  Text: a table FAMILY ADDRESS NODE-PREFIX GATEWAY CREATED, one\n"
	"  row per family, IPv4 first; ADDRESS carries the node prefix's\n"
	"  length (169.255.0.2/24).\n"
	"  JSON, pretty, with the families asked and answered:\n"
	"  {\"ipv4\":{\"address\":\"169.255.0.2/24\",\n"
	"           \"node_prefix\":\"169.255.0.0/24\",\n"
	"           \"gateway\":\"169.255.0.1\",\"created\":true},\n"
	"   \"ipv6\":{\"address\":\"fd00::2/64\",\"node_prefix\":\"fd00::/64\",\n"
	"           \"gateway\":\"fd00::1\",\"created\":true}}\n",
    .exit_add =
	"  With --family dual the code is the worse of the two calls; a\n"
	"  family that was allocated is printed even when the other\n"
	"  failed: its address is held (release it, or allocate again).\n",
    .reasons =
	"Refusals (the reason follows the status code in the message):\n"
	"  name_invalid         a name is empty, too long or holds a space,\n"
	"                       '/', '|' or a control character\n"
	"  family_invalid       the family is neither IPv4 nor IPv6\n"
	"  unknown_conduit      the server follows NSP (--nsp) and the\n"
	"                       conduit is not in the trench's\n"
	"                       configuration\n"
	"  prefix_cannot_fit    the trench's prefix lengths cannot form a\n"
	"                       tree (server configuration)\n"
	"  trench_prefix_full   no conduit prefix left in the trench prefix\n"
	"  conduit_prefix_full  no node prefix left in the conduit prefix\n"
	"  node_prefix_full     no address left in the node prefix\n"
	"                       (quarantined ones count as taken: they\n"
	"                       come back after the reuse delay)\n"
	"  bridge_taken         --bridge while another name holds the\n"
	"                       node's bridge\n"
	"  e.g. straitctl: allocate ipv4 refused: RESOURCE_EXHAUSTED\n"
	"       node_prefix_full: node prefix 169.255.0.0/24 of\n"
	"       trench-a/lb/node-1 is full: 253 addresses in use, ...\n",
    .examples =
	"Examples:\n"
	"  straitctl ipam allocate --trench trench-a \\\n"
	"      --conduit load-balancer --node node-1 --name pod-a\n"
	"  straitctl ipam allocate --trench trench-a \\\n"
	"      --conduit load-balancer --node node-1 --name proxy \\\n"
	"      --bridge --family ipv4 --json\n",
};

static const struct help help_release = {
    .shared = child_options,
    .head =
	"straitctl ipam release - release a child's address\n"
	"\n"
	"Usage:\n"
	"  straitctl ipam release --trench T --conduit C --node N\n"
	"      --name NAME [--family ipv4|ipv6|dual]\n"
	"\n"
	"Frees the child's address (both families' with dual) and prints\n"
	"whether the child held one, and which. The address is\n"
	"quarantined for the server's --reuse-delay (default 120 s)\n"
	"before it is handed out again. Releasing what is not held is not\n"
	"an error (existed: no). A bridge is released like any child.\n",
    .output =
	"Output:\n"
	"  Text: a table FAMILY EXISTED ADDRESS, one row per family, IPv4\n"
	"  first (ADDRESS - when nothing was held).\n"
	"  JSON, pretty, with the families asked and answered:\n"
	"  {\"ipv4\":{\"existed\":true,\"address\":\"169.255.0.2/24\"},\n"
	"   \"ipv6\":{\"existed\":false,\"address\":\"\"}}\n",
    .reasons = "Refusals (the reason follows the status code in the "
	       "message):\n"
	       "  name_invalid         a name is empty, too long or holds a\n"
	       "                       space, '/', '|' or a control "
	       "character\n"
	       "  family_invalid       the family is neither IPv4 nor IPv6\n",
    .exit_add =
	"  With --family dual the code is the worse of the two calls; a\n"
	"  family that was released is printed even when the other\n"
	"  failed.\n",
    .examples = "Example:\n"
		"  straitctl ipam release --trench trench-a \\\n"
		"      --conduit load-balancer --node node-1 --name pod-a\n",
};

static const struct help help_ipam_list = {
    .head = "straitctl ipam list - list the allocations\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl ipam list [--trench T] [--conduit C] [--node N]\n"
	    "      [--family ipv4|ipv6|any]\n"
	    "\n"
	    "Prints the live allocations that match the filter, bridges\n"
	    "included (released addresses in quarantine are not\n"
	    "allocations; `ipam tree` counts them).\n",
    .options = "  --trench T         only this trench\n"
	       "  --conduit C        only this conduit\n"
	       "  --node N           only this node\n"
	       "  --family FAMILY    ipv4, ipv6 or any (default any)\n",
    .output =
	"Output:\n"
	"  Text: a table TRENCH CONDUIT NODE NAME FAMILY ADDRESS BRIDGE\n"
	"  (BRIDGE yes or no), then `N allocations`.\n"
	"  JSON, pretty:\n"
	"  {\"allocations\":[{\"trench\":\"trench-a\",\n"
	"    \"conduit\":\"load-balancer\",\"node\":\"node-1\",\n"
	"    \"name\":\"pod-a\",\"family\":\"ipv4\",\n"
	"    \"address\":\"169.255.0.2/24\",\"bridge\":false}]}\n"
	"  (every key always present)\n",
    .examples = "Examples:\n"
		"  straitctl ipam list --trench trench-a --node node-1\n"
		"  straitctl ipam list --family ipv6 --json\n",
};

static const struct help help_tree = {
    .head = "straitctl ipam tree - print the prefix tree with its usage\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl ipam tree [--trench T]\n"
	    "\n"
	    "Prints each trench's address tree, one per family: the trench\n"
	    "prefix with the conduit prefixes it holds, each conduit\n"
	    "prefix with its node prefixes, each node prefix with its\n"
	    "addresses, and how much of each is in use.\n",
    .options = "  --trench T         only this trench\n",
    .output =
	"Output:\n"
	"  Text, one line per prefix, indented by level:\n"
	"    trench-a ipv4  169.255.0.0/16  conduits 1/16\n"
	"      lb           169.255.0.0/20  nodes 2/16\n"
	"        node-1     169.255.0.0/24  addresses 3/253 (0 quarantined)\n"
	"  USED/CAPACITY: the sub-prefixes a trench or conduit holds, out\n"
	"  of how many fit; a node's live children (its bridge included)\n"
	"  out of its usable addresses. Quarantined: released, waiting out\n"
	"  the reuse delay (shown for a trench or conduit when not 0).\n"
	"  JSON, pretty, nested as the tree:\n"
	"  {\"trenches\":[{\"kind\":\"trench\",\"name\":\"trench-a\",\n"
	"    \"family\":\"ipv4\",\"prefix\":\"169.255.0.0/16\",\n"
	"    \"capacity\":16,\"used\":1,\"quarantined\":0,\n"
	"    \"children\":[{\"kind\":\"conduit\",...,\"children\":[...]}]}]}\n"
	"  (kind is trench, conduit or node; numbers are exact 64-bit\n"
	"  integers: an IPv6 node's capacity exceeds 2^53)\n",
    .examples = "Examples:\n"
		"  straitctl ipam tree\n"
		"  straitctl ipam tree --trench trench-a --json\n",
};

static const struct help *help_of(enum ctl_cmd cmd)
{
	switch (cmd) {
	case CTL_CMD_NSP:
	case CTL_CMD_REGISTER:
	case CTL_CMD_UNREGISTER:
	case CTL_CMD_LIST:
	case CTL_CMD_WATCH:
	case CTL_CMD_CONFIG:
		return ctl_help_nsp(cmd);
	case CTL_CMD_IPAM:
		return &help_ipam;
	case CTL_CMD_IPAM_ALLOCATE:
		return &help_allocate;
	case CTL_CMD_IPAM_RELEASE:
		return &help_release;
	case CTL_CMD_IPAM_LIST:
		return &help_ipam_list;
	case CTL_CMD_IPAM_TREE:
		return &help_tree;
	case CTL_CMD_LB:
	case CTL_CMD_LB_STATUS:
	case CTL_CMD_LB_STREAMS:
	case CTL_CMD_LB_FLOWS:
		return ctl_help_lb(cmd);
	case CTL_CMD_PROXY:
	case CTL_CMD_PROXY_STATUS:
		return ctl_help_proxy(cmd);
	case CTL_CMD_TUN:
	case CTL_CMD_TUN_STATUS:
		return ctl_help_tun(cmd);
	case CTL_CMD_NONE:
	case CTL_CMD_COUNT:
		break;
	}
	return &help_main;
}

int ctl_help_print(FILE *f, enum ctl_cmd cmd)
{
	const struct help *h = help_of(cmd);
	fprintf(f, "%s\n", h->head);
	if (!h->group) {
		if (h->shared || h->options) {
			fputs("Options:\n", f);
			if (h->shared)
				fputs(h->shared, f);
			if (h->options)
				fputs(h->options, f);
			fputs("\n", f);
		}
		fprintf(f, "%s\n", global_options);
		if (h->output)
			fprintf(f, "%s\n", h->output);
		fputs(exit_status, f);
		if (h->exit_add)
			fputs(h->exit_add, f);
		fputs("\n", f);
		if (h->reasons)
			fprintf(f, "%s\n", h->reasons);
	}
	fputs(h->examples, f);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

const char *ctl_usage(enum ctl_cmd cmd)
{
	switch (cmd) {
	case CTL_CMD_NSP:
	case CTL_CMD_REGISTER:
	case CTL_CMD_UNREGISTER:
	case CTL_CMD_LIST:
	case CTL_CMD_WATCH:
	case CTL_CMD_CONFIG:
		return ctl_usage_nsp(cmd);
	case CTL_CMD_IPAM_ALLOCATE:
		return "Usage: straitctl ipam allocate --trench T --conduit C "
		       "--node N --name NAME [--family ipv4|ipv6|dual] "
		       "[--bridge]\n"
		       "Try 'straitctl ipam allocate --help'.\n";
	case CTL_CMD_IPAM_RELEASE:
		return "Usage: straitctl ipam release --trench T --conduit C "
		       "--node N --name NAME [--family ipv4|ipv6|dual]\n"
		       "Try 'straitctl ipam release --help'.\n";
	case CTL_CMD_IPAM_LIST:
		return "Usage: straitctl ipam list [--trench T] [--conduit C] "
		       "[--node N] [--family ipv4|ipv6|any]\n"
		       "Try 'straitctl ipam list --help'.\n";
	case CTL_CMD_IPAM_TREE:
		return "Usage: straitctl ipam tree [--trench T]\n"
		       "Try 'straitctl ipam tree --help'.\n";
	case CTL_CMD_IPAM:
		return "Usage: straitctl [global options] ipam "
		       "allocate|release|list|tree [options]\n"
		       "Try 'straitctl ipam --help'.\n";
	case CTL_CMD_LB:
	case CTL_CMD_LB_STATUS:
	case CTL_CMD_LB_STREAMS:
	case CTL_CMD_LB_FLOWS:
		return ctl_usage_lb;
	case CTL_CMD_PROXY:
	case CTL_CMD_PROXY_STATUS:
		return ctl_usage_proxy;
	case CTL_CMD_TUN:
	case CTL_CMD_TUN_STATUS:
		return ctl_usage_tun;
	case CTL_CMD_NONE:
	case CTL_CMD_COUNT:
		break;
	}
	return "Usage: straitctl [global options] nsp|ipam|lb|proxy|tun "
	       "COMMAND [options]\n"
	       "Try 'straitctl --help'.\n";
}
