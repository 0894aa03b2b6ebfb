/* The --help texts. See help.h.
 *
 * A command's help is its own parts (what it does, its options, its
 * output, examples) with the global options and the exit status, which
 * every command shares, printed between them. The texts of the nsp and
 * ipam groups are here; those of the local daemons' status commands are in
 * help_lb.c and help_proxy.c. */
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

static const char key_options[] =
    "  --trench T         the trench (required)\n"
    "  --conduit C        the conduit (required)\n"
    "  --stream S         the stream; required for --type target, refused\n"
    "                     for --type frontend and proxy\n"
    "  --ip CIDR          an address with its prefix length, ADDR/LEN\n"
    "                     (198.18.1.5/24, fd00::5/64); at least one, at\n"
    "                     most 8: repeat the option for each\n"
    "  --type TYPE        target (default), frontend (an LB of the\n"
    "                     conduit) or proxy (a node's proxy of it)\n";

static const char filter_options[] =
    "  --type TYPE        target, frontend, proxy or any (default any)\n"
    "  --trench T         only this trench\n"
    "  --conduit C        only this conduit\n"
    "  --stream S         only this stream\n"
    "  --status STATUS    enabled, disabled or any (default any)\n";

static const struct help help_main = {
    .head = "straitctl - the command-line client of strait\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl [global options] nsp COMMAND [options]\n"
	    "  straitctl [global options] ipam COMMAND [options]\n"
	    "  straitctl [global options] lb COMMAND [options]\n"
	    "  straitctl [global options] proxy status [--json]\n"
	    "\n"
	    "NSP commands (strait-nsp: the registry and configuration "
	    "hub):\n"
	    "  nsp register    register a target, frontend or proxy (--keep:\n"
	    "                  stay and refresh it)\n"
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
	    "  proxy status    bridge, pods, LB links, egress\n",
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
		"`straitctl GROUP COMMAND --help` (GROUP nsp, ipam, lb or\n"
		"proxy) describes each command; docs/straitctl.md is the\n"
		"full reference.\n",
};

static const struct help help_nsp = {
    .group = true,
    .head = "straitctl nsp - talk to strait-nsp\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl nsp register   --trench T --conduit C [--stream S]\n"
	    "                           --ip CIDR... [options]\n"
	    "  straitctl nsp unregister --trench T --conduit C [--stream S]\n"
	    "                           --ip CIDR... [--type TYPE]\n"
	    "  straitctl nsp list       [FILTER]\n"
	    "  straitctl nsp watch      [FILTER] [--resume FILE] [--count N]\n"
	    "                           [--until-synced]\n"
	    "  straitctl nsp config     [--kind K] [--trench T]\n"
	    "                           [--watch [--count N]]\n",
    .examples = "`straitctl nsp COMMAND --help` describes each.\n",
};

static const struct help help_register = {
    .shared = key_options,
    .head = "straitctl nsp register - register a target, frontend or "
	    "proxy\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl nsp register --trench T --conduit C [--stream S]\n"
	    "      --ip CIDR [--ip CIDR ...] [--type target|frontend|proxy]\n"
	    "      [--identifier N] [--status enabled|disabled]\n"
	    "      [--context KEY=VALUE ...] [--keep [--refresh SECONDS]]\n"
	    "\n"
	    "Registers the target whose key is (type, trench, conduit,\n"
	    "stream, set of IPs), or updates it (Register is an upsert on\n"
	    "the key), and prints it as stored, with the identifier the\n"
	    "server assigned, the registry's revision after the call and\n"
	    "whether anything changed (a refresh that changes nothing\n"
	    "says `changed: no`).\n",
    .options =
	"  --identifier N     ask for this identifier (1..max-targets of\n"
	"                     the stream); 0 or absent: keep the one\n"
	"                     held, else the lowest free one\n"
	"  --status STATUS    enabled (default) or disabled\n"
	"  --context KEY=VALUE  an entry of the target's context; repeat\n"
	"                     for more (at most 32)\n"
	"  --keep             stay running: refresh the registration\n"
	"                     every --refresh seconds and after every\n"
	"                     reconnect; on SIGTERM or SIGINT unregister\n"
	"                     (within --timeout) and exit 0. A minimal\n"
	"                     target agent.\n"
	"  --refresh SECONDS  the refresh interval of --keep (default 20;\n"
	"                     keep it well below the server's --ttl,\n"
	"                     default 60)\n",
    .output = "Output:\n"
	      "  Text: `stream:`, `type:`, `identifier:`, `status:`, `ips:`,\n"
	      "  `context:`, `revision:` and `changed:` lines. With --keep,\n"
	      "  a later registration that changed something prints\n"
	      "  `registered again rev N TARGET-LINE` (as `nsp watch` prints\n"
	      "  targets) and the stop prints `unregistered rev N existed\n"
	      "  yes|no`.\n"
	      "  JSON: {\"target\":TARGET,\"revision\":N,\"changed\":true},\n"
	      "  pretty; TARGET as in `nsp list --help`. With --keep, one\n"
	      "  compact line per printed answer, and {\"revision\":N,\n"
	      "  \"existed\":true} for the final unregister.\n",
    .exit_add =
	"  With --keep: 1 if the first registration or the final\n"
	"  unregister is refused (a refused refresh is logged and tried\n"
	"  again); 3 if the first registration or the final unregister\n"
	"  cannot be done within --timeout.\n",
    .examples =
	"Examples:\n"
	"  straitctl nsp register --trench trench-a \\\n"
	"      --conduit load-balancer --stream stream-a \\\n"
	"      --ip 198.18.1.5/24 --ip fd00::5/64\n"
	"  straitctl nsp register --trench trench-a \\\n"
	"      --conduit load-balancer --stream stream-a \\\n"
	"      --ip 198.18.1.6/24 --identifier 7 --context pod=app-7 \\\n"
	"      --keep --refresh 10\n"
	"  straitctl nsp register --type frontend --trench trench-a \\\n"
	"      --conduit load-balancer --ip 198.18.0.2/24\n"
	"  straitctl nsp register --type proxy --trench trench-a \\\n"
	"      --conduit load-balancer --ip 169.255.1.1/24 \\\n"
	"      --context node=node-1\n",
};

static const struct help help_unregister = {
    .shared = key_options,
    .head = "straitctl nsp unregister - remove a registration\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl nsp unregister --trench T --conduit C [--stream S]\n"
	    "      --ip CIDR [--ip CIDR ...] [--type target|frontend|proxy]\n"
	    "\n"
	    "Removes the registration with this key (the options register\n"
	    "was given; the IPs are compared as a normalised set) and\n"
	    "prints whether it existed and the registry's revision.\n"
	    "Removing what does not exist is not an error (`existed: no`).\n",
    .output = "Output:\n"
	      "  Text: `existed: yes|no` and `revision: N` lines.\n"
	      "  JSON: {\"revision\":N,\"existed\":true}\n",
    .examples = "Example:\n"
		"  straitctl nsp unregister --trench trench-a \\\n"
		"      --conduit load-balancer --stream stream-a \\\n"
		"      --ip 198.18.1.5/24\n",
};

static const struct help help_list = {
    .shared = filter_options,
    .head = "straitctl nsp list - list the registered targets\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl nsp list [--type TYPE] [--trench T] [--conduit C]\n"
	    "      [--stream S] [--status STATUS]\n"
	    "\n"
	    "Prints the registrations that match the filter now, and the\n"
	    "registry's revision.\n",
    .output =
	"Output:\n"
	"  Text: a table IDENT TYPE STREAM STATUS IPS CONTEXT, STREAM\n"
	"  as trench/conduit/stream (trench/conduit and IDENT - for a\n"
	"  frontend or a proxy), then `revision N, M targets`.\n"
	"  JSON: {\"revision\":N,\"targets\":[TARGET,...]}, TARGET:\n"
	"  {\"ips\":[\"198.18.1.5/24\"],\"type\":\"target\",\n"
	"   \"trench\":\"trench-a\",\"conduit\":\"load-balancer\",\n"
	"   \"stream\":\"stream-a\",\"status\":\"enabled\",\n"
	"   \"identifier\":3,\"context\":{\"k\":\"v\"}}\n"
	"  (every key always present; a frontend or a proxy has\n"
	"  \"stream\":\"\" and \"identifier\":0; type is target, frontend\n"
	"  or proxy)\n",
    .examples = "Examples:\n"
		"  straitctl nsp list --trench trench-a --stream stream-a\n"
		"  straitctl nsp list --type frontend --json\n",
};

static const struct help help_watch = {
    .shared = filter_options,
    .head = "straitctl nsp watch - print registry events as they happen\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl nsp watch [--type TYPE] [--trench T] [--conduit C]\n"
	    "      [--stream S] [--status STATUS] [--resume FILE]\n"
	    "      [--count N] [--until-synced]\n"
	    "\n"
	    "Prints a snapshot of the matching targets (ADDED events\n"
	    "between `snapshot begin` and `snapshot end`), then every\n"
	    "change as it comes. A target leaving the filter (disabled\n"
	    "under --status enabled) comes as REMOVED. When the connection\n"
	    "is lost, the watch is issued again once it is back, with the\n"
	    "last revision and store id seen, so nothing is missed or\n"
	    "repeated; if the server cannot resume from there (another\n"
	    "store, or a revision no longer in its event log) it sends a\n"
	    "new snapshot between its markers: drop what you had then.\n",
    .options =
	"  --resume FILE      read where to resume from FILE at start,\n"
	"                     if it exists, and rewrite it (FILE.tmp,\n"
	"                     then rename) after every message: a\n"
	"                     watcher killed, even with kill -9, and\n"
	"                     started again with the same FILE and filter\n"
	"                     goes on without gaps or repeats. FILE holds\n"
	"                     one line `STORE_ID REVISION`; revision 0\n"
	"                     (stopped inside a snapshot) restarts with a\n"
	"                     snapshot.\n"
	"  --count N          exit 0 after N events (snapshot events\n"
	"                     count)\n"
	"  --until-synced     exit 0 after the first synced message: the\n"
	"                     snapshot (when resuming: the first batch of\n"
	"                     changes)\n",
    .output = "Output, one line per item:\n"
	      "  snapshot begin rev 12 store 8417090153551532961\n"
	      "  rev 12 ADDED trench-a/lb/stream-a id=3 enabled 198.18.1.5/24\n"
	      "  snapshot end rev 12 store 8417090153551532961 (1 target)\n"
	      "  rev 13 REMOVED trench-a/lb/stream-a id=3 enabled "
	      "198.18.1.5/24\n"
	      "  A frontend shows `trench-a/lb frontend` in place of\n"
	      "  `trench-a/lb/stream-a id=3`, a proxy `trench-a/lb proxy`;\n"
	      "  a context follows the IPs as k=v,k=v. Snapshot events\n"
	      "  carry the snapshot's revision.\n"
	      "With --json, one compact object per line:\n"
	      "  {\"snapshot\":\"begin\",\"revision\":12,\n"
	      "   \"store_id\":\"8417090153551532961\"}\n"
	      "  {\"revision\":12,\"event\":\"ADDED\",\"target\":TARGET,\n"
	      "   \"store_id\":\"8417090153551532961\"}\n"
	      "  {\"snapshot\":\"end\",\"revision\":12,\n"
	      "   \"store_id\":\"8417090153551532961\"}\n"
	      "  TARGET as in `nsp list --help`; event is ADDED, UPDATED or\n"
	      "  REMOVED; store_id is a decimal string (a 64-bit number does\n"
	      "  not survive every JSON reader).\n",
    .examples = "Examples:\n"
		"  straitctl nsp watch --stream stream-a\n"
		"  straitctl nsp watch --json --resume /var/lib/lb/nsp.pos\n"
		"  straitctl nsp watch --until-synced --json\n",
};

static const struct help help_config = {
    .head = "straitctl nsp config - print the trench configuration\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl nsp config [--kind K] [--trench T] [--conduit C]\n"
	    "      [--stream S]\n"
	    "  straitctl nsp config --watch [--kind K] [--trench T]\n"
	    "      [--conduit C] [--stream S] [--count N]\n"
	    "\n"
	    "Without --watch, asks once (nsp.Configuration/Get) and prints\n"
	    "the configuration, or only the --kind asked for. With --watch,\n"
	    "subscribes (Watch<Kind>, or WatchAll without --kind) and\n"
	    "prints the complete filtered list at once and again after\n"
	    "every change to it; after a reconnect it goes on from the\n"
	    "last revision printed.\n",
    .options =
	"  --kind K           trench, conduits, streams, flows, vips,\n"
	"                     attractors, gateways, services, or all\n"
	"                     (default); singular or plural\n"
	"  --trench T         only this trench\n"
	"  --conduit C        only this conduit (its streams and flows)\n"
	"  --stream S         only this stream (and its flows)\n"
	"  --watch            print each new answer as it comes\n"
	"  --count N          with --watch: exit 0 after N answers\n",
    .output = "Output:\n"
	      "  Text: `revision N`, then per kind a titled, aligned table.\n"
	      "  JSON: {\"revision\":N,\"trenches\":[..],\"conduits\":[..],\n"
	      "  \"streams\":[..],\"flows\":[..],\"vips\":[..],\n"
	      "  \"attractors\":[..],\"gateways\":[..],\"services\":[..]}\n"
	      "  with the fields of proto/nsp.proto under their proto\n"
	      "  names; with --kind only that list. Pretty once; with\n"
	      "  --watch one compact line per answer.\n",
    .examples = "Examples:\n"
		"  straitctl nsp config --trench trench-a\n"
		"  straitctl nsp config --kind streams --json\n"
		"  straitctl nsp config --watch --kind flows --json\n"
		"  straitctl nsp config --watch --kind services\n",
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
		return &help_nsp;
	case CTL_CMD_REGISTER:
		return &help_register;
	case CTL_CMD_UNREGISTER:
		return &help_unregister;
	case CTL_CMD_LIST:
		return &help_list;
	case CTL_CMD_WATCH:
		return &help_watch;
	case CTL_CMD_CONFIG:
		return &help_config;
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
	case CTL_CMD_REGISTER:
		return "Usage: straitctl nsp register --trench T --conduit C "
		       "[--stream S] --ip CIDR... [options]\n"
		       "Try 'straitctl nsp register --help'.\n";
	case CTL_CMD_UNREGISTER:
		return "Usage: straitctl nsp unregister --trench T --conduit C "
		       "[--stream S] --ip CIDR... [--type TYPE]\n"
		       "Try 'straitctl nsp unregister --help'.\n";
	case CTL_CMD_LIST:
		return "Usage: straitctl nsp list [--type TYPE] [--trench T] "
		       "[--conduit C] [--stream S] [--status STATUS]\n"
		       "Try 'straitctl nsp list --help'.\n";
	case CTL_CMD_WATCH:
		return "Usage: straitctl nsp watch [FILTER] [--resume FILE] "
		       "[--count N] [--until-synced]\n"
		       "Try 'straitctl nsp watch --help'.\n";
	case CTL_CMD_CONFIG:
		return "Usage: straitctl nsp config [--kind K] [--trench T] "
		       "[--watch [--count N]]\n"
		       "Try 'straitctl nsp config --help'.\n";
	case CTL_CMD_NSP:
		return "Usage: straitctl [global options] nsp "
		       "register|unregister|list|watch|config [options]\n"
		       "Try 'straitctl nsp --help'.\n";
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
	case CTL_CMD_NONE:
	case CTL_CMD_COUNT:
		break;
	}
	return "Usage: straitctl [global options] nsp|ipam|lb|proxy COMMAND "
	       "[options]\n"
	       "Try 'straitctl --help'.\n";
}
