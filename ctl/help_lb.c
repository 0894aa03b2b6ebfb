/* The --help texts of the lb group (lb_status.c). See help_text.h. */
#include "help_text.h"

static const struct help help_lb = {
    .head = "straitctl lb - look into a running strait-lb\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl lb status     counters, queues, connection table, drops\n"
	    "  straitctl lb streams    streams, their targets and table balance\n"
	    "  straitctl lb flows      flows with their match counters\n",
    .group = true,
    .examples = "Examples:\n"
		"  straitctl lb status\n"
		"  straitctl --lb unix:/run/strait/lb-a.sock lb streams --json\n",
};

static const char lb_output[] =
    "Output:\n"
    "  A table, or with --json the whole status object of every lb command:\n"
    "  {\"trench\", \"conduit\", \"nspConnected\", \"configRevision\",\n"
    "   \"planeGeneration\", \"vips\": [...], \"streams\": [{\"name\",\n"
    "   \"maxTargets\", \"markOffset\", \"tableSize\", \"slotsMin\",\n"
    "   \"slotsMax\", \"targets\": [{\"identifier\", \"ips\", \"mark\",\n"
    "   \"ready\", \"waiting\", \"slots\", \"packets\"}]}], \"flows\": [{\"name\",\n"
    "   \"stream\", \"priority\", \"packets\"}], \"queues\": [...], \"accepted\",\n"
    "   \"drops\": [{\"name\", \"value\"}], \"placed\": [...], \"conns\",\n"
    "   \"connsCapacity\", \"lastError\"}\n"
    "  (the fields of proto/lb.proto's StatusResponse, in camelCase)\n";

static const struct help help_lb_status = {
    .head = "straitctl lb status - the LB's counters\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl lb status\n"
	    "\n"
	    "Prints what the LB serves (trench, conduit, VIPs), whether NSP is\n"
	    "connected, packets accepted and dropped by reason, what placed\n"
	    "them (connection table, Maglev, fragment table), and per queue the\n"
	    "packets read, the kernel's queue drops and the connection and\n"
	    "fragment tables' occupancy.\n",
    .output = lb_output,
    .examples = "Examples:\n"
		"  straitctl lb status\n",
};

static const struct help help_lb_streams = {
    .head = "straitctl lb streams - streams, targets and table balance\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl lb streams\n"
	    "\n"
	    "One block per stream: its marks, its Maglev table size and balance\n"
	    "(max/min slots over ready targets), then one line per target: its\n"
	    "identifier, addresses, mark, slots and packets, or why it waits\n"
	    "(not reachable, disabled, identifier out of range).\n",
    .output = lb_output,
    .examples = "Examples:\n"
		"  straitctl lb streams\n",
};

static const struct help help_lb_flows = {
    .head = "straitctl lb flows - flows and their match counters\n"
	    "\n"
	    "Usage:\n"
	    "  straitctl lb flows\n"
	    "\n"
	    "One line per flow the LB classifies with: name, stream, priority\n"
	    "and the packets classified into it since the LB started.\n",
    .output = lb_output,
    .examples = "Examples:\n"
		"  straitctl lb flows\n",
};

const char ctl_usage_lb[] = "Usage: straitctl [global options] lb "
			    "status|streams|flows [--json]\n"
			    "Try 'straitctl lb --help'.\n";

const struct help *ctl_help_lb(enum ctl_cmd cmd)
{
	switch (cmd) {
	case CTL_CMD_LB_STATUS:
		return &help_lb_status;
	case CTL_CMD_LB_STREAMS:
		return &help_lb_streams;
	case CTL_CMD_LB_FLOWS:
		return &help_lb_flows;
	default:
		return &help_lb;
	}
}
