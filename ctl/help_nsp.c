/* The --help texts of the nsp group (nsp_register.c, nsp_list.c,
 * nsp_watch.c, nsp_config.c). See help_text.h. */
#include "help_text.h"

static const char key_options[] =
    "  --trench T         the trench (required)\n"
    "  --conduit C        the conduit: required for --type target,\n"
    "                     frontend and proxy; refused for tunnel and\n"
    "                     instance\n"
    "  --stream S         the stream; required for --type target, refused\n"
    "                     for the other types\n"
    "  --service NAME     the service of --type instance (required for\n"
    "                     it; alone it means --type instance)\n"
    "  --ip CIDR          an address with its prefix length, ADDR/LEN\n"
    "                     (198.18.1.5/24, fd00::5/64); at least one, at\n"
    "                     most 8: repeat the option for each\n"
    "  --type TYPE        target (default), frontend (an LB of the\n"
    "                     conduit), proxy (a node's proxy of it), tunnel\n"
    "                     (a node's strait-tun in the trench; underlay\n"
    "                     addresses) or instance (an instance of a\n"
    "                     service)\n";

static const char filter_options[] =
    "  --type TYPE        target, frontend, proxy, tunnel, instance or\n"
    "                     any (default any)\n"
    "  --trench T         only this trench\n"
    "  --conduit C        only this conduit (tunnels and instances have\n"
    "                     none: leave it out for them)\n"
    "  --stream S         only this stream\n"
    "  --service NAME     only instances of this service (--type\n"
    "                     instance unless --type is given)\n"
    "  --status STATUS    enabled, disabled or any (default any)\n";

static const struct help help_nsp = {
    .group = true,
    .head = "straitctl nsp - talk to strait-nsp\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl nsp register   --trench T --conduit C [--stream S]\n"
	    "                           --ip CIDR... [options]\n"
	    "  straitctl nsp register   --type tunnel --trench T --ip CIDR...\n"
	    "                           --context node=NAME [options]\n"
	    "  straitctl nsp register   --type instance --trench T\n"
	    "                           --service NAME --ip CIDR...\n"
	    "                           --context node=NAME [options]\n"
	    "  straitctl nsp unregister (the key register was given)\n"
	    "  straitctl nsp list       [FILTER]\n"
	    "  straitctl nsp watch      [FILTER] [--resume FILE] [--count N]\n"
	    "                           [--until-synced]\n"
	    "  straitctl nsp config     [--kind K] [--trench T]\n"
	    "                           [--watch [--count N]]\n",
    .examples = "`straitctl nsp COMMAND --help` describes each.\n",
};

static const struct help help_register = {
    .shared = key_options,
    .head = "straitctl nsp register - register a target, frontend, proxy,\n"
	    "tunnel or instance\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl nsp register --trench T --conduit C [--stream S]\n"
	    "      --ip CIDR [--ip CIDR ...] [--type target|frontend|proxy]\n"
	    "      [--identifier N] [--status enabled|disabled]\n"
	    "      [--context KEY=VALUE ...] [--keep [--refresh SECONDS]]\n"
	    "  straitctl nsp register --type tunnel --trench T --ip CIDR...\n"
	    "      --context node=NAME [--context port=N] [options]\n"
	    "  straitctl nsp register [--type instance] --trench T\n"
	    "      --service NAME --ip CIDR... --context node=NAME\n"
	    "      [--identifier N] [options]\n"
	    "\n"
	    "Registers the target whose key is (type, trench, conduit,\n"
	    "stream, set of IPs), or updates it (Register is an upsert on\n"
	    "the key), and prints it as stored, with the identifier the\n"
	    "server assigned, the registry's revision after the call and\n"
	    "whether anything changed (a refresh that changes nothing\n"
	    "says `changed: no`). A tunnel (a node's strait-tun) has only\n"
	    "a trench; an instance has a trench and a service (sent in the\n"
	    "stream field) and gets an identifier of the service. Both\n"
	    "need --context node=NAME (the server refuses them without).\n",
    .options =
	"  --identifier N     ask for this identifier (1..max-targets of\n"
	"                     the stream, 1..max-instances of the\n"
	"                     service); 0 or absent: keep the one held,\n"
	"                     else the lowest free one. Target and\n"
	"                     instance only.\n"
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
	      "  Text: `stream:` (`trench:` for a tunnel, `service:` for an\n"
	      "  instance), `type:`, `identifier:` (target and instance),\n"
	      "  `status:`, `ips:`, `context:`, `revision:` and `changed:`\n"
	      "  lines. With --keep,\n"
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
	"      --context node=node-1\n"
	"  straitctl nsp register --type tunnel --trench trench-a \\\n"
	"      --ip 192.0.2.1/32 --context node=node-1 --context port=7779\n"
	"  straitctl nsp register --type instance --trench trench-a \\\n"
	"      --service web --ip 10.0.1.5/32 --context node=node-1 --keep\n",
};

static const struct help help_unregister = {
    .shared = key_options,
    .head = "straitctl nsp unregister - remove a registration\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl nsp unregister --trench T --conduit C [--stream S]\n"
	    "      --ip CIDR [--ip CIDR ...] [--type target|frontend|proxy]\n"
	    "  straitctl nsp unregister --type tunnel --trench T --ip CIDR...\n"
	    "  straitctl nsp unregister [--type instance] --trench T\n"
	    "      --service NAME --ip CIDR...\n"
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
	    "      [--stream S | --service NAME] [--status STATUS]\n"
	    "\n"
	    "Prints the registrations that match the filter now, and the\n"
	    "registry's revision.\n",
    .output =
	"Output:\n"
	"  Text: a table IDENT TYPE STREAM STATUS IPS CONTEXT, STREAM\n"
	"  as trench/conduit/stream (trench/conduit and IDENT - for a\n"
	"  frontend or a proxy, trench and IDENT - for a tunnel,\n"
	"  trench/service for an instance), then `revision N, M\n"
	"  targets`.\n"
	"  JSON: {\"revision\":N,\"targets\":[TARGET,...]}, TARGET:\n"
	"  {\"ips\":[\"198.18.1.5/24\"],\"type\":\"target\",\n"
	"   \"trench\":\"trench-a\",\"conduit\":\"load-balancer\",\n"
	"   \"stream\":\"stream-a\",\"status\":\"enabled\",\n"
	"   \"identifier\":3,\"context\":{\"k\":\"v\"}}\n"
	"  (every key always present; a frontend, a proxy or a tunnel\n"
	"  has \"stream\":\"\" and \"identifier\":0; a tunnel or an\n"
	"  instance has \"conduit\":\"\", and an instance's \"stream\" is\n"
	"  its service; type is target, frontend, proxy, tunnel or\n"
	"  instance)\n",
    .examples = "Examples:\n"
		"  straitctl nsp list --trench trench-a --stream stream-a\n"
		"  straitctl nsp list --type frontend --json\n"
		"  straitctl nsp list --type tunnel --trench trench-a\n"
		"  straitctl nsp list --trench trench-a --service web\n",
};

static const struct help help_watch = {
    .shared = filter_options,
    .head = "straitctl nsp watch - print registry events as they happen\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl nsp watch [--type TYPE] [--trench T] [--conduit C]\n"
	    "      [--stream S | --service NAME] [--status STATUS]\n"
	    "      [--resume FILE]\n"
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
	      "  `trench-a/lb/stream-a id=3`, a proxy `trench-a/lb proxy`,\n"
	      "  a tunnel `trench-a tunnel`, an instance `trench-a/web\n"
	      "  instance id=1`; a context follows the IPs as k=v,k=v.\n"
	      "  Snapshot events carry the snapshot's revision.\n"
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
		"  straitctl nsp watch --until-synced --json\n"
		"  straitctl nsp watch --type instance --trench trench-a\n",
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

const struct help *ctl_help_nsp(enum ctl_cmd cmd)
{
	switch (cmd) {
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
	default:
		return &help_nsp;
	}
}

const char *ctl_usage_nsp(enum ctl_cmd cmd)
{
	switch (cmd) {
	case CTL_CMD_REGISTER:
		return "Usage: straitctl nsp register --trench T "
		       "[--conduit C] [--stream S | --service NAME] "
		       "--ip CIDR... [--type TYPE] [options]\n"
		       "Try 'straitctl nsp register --help'.\n";
	case CTL_CMD_UNREGISTER:
		return "Usage: straitctl nsp unregister --trench T "
		       "[--conduit C] [--stream S | --service NAME] "
		       "--ip CIDR... [--type TYPE]\n"
		       "Try 'straitctl nsp unregister --help'.\n";
	case CTL_CMD_LIST:
		return "Usage: straitctl nsp list [--type TYPE] [--trench T] "
		       "[--conduit C] [--stream S | --service NAME] "
		       "[--status STATUS]\n"
		       "Try 'straitctl nsp list --help'.\n";
	case CTL_CMD_WATCH:
		return "Usage: straitctl nsp watch [FILTER] [--resume FILE] "
		       "[--count N] [--until-synced]\n"
		       "Try 'straitctl nsp watch --help'.\n";
	case CTL_CMD_CONFIG:
		return "Usage: straitctl nsp config [--kind K] [--trench T] "
		       "[--watch [--count N]]\n"
		       "Try 'straitctl nsp config --help'.\n";
	default:
		break;
	}
	return "Usage: straitctl [global options] nsp "
	       "register|unregister|list|watch|config [options]\n"
	       "Try 'straitctl nsp --help'.\n";
}
