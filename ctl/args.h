/* The straitctl command line, parsed and validated into one struct.
 *
 *	straitctl [global options] nsp COMMAND [options]
 *	straitctl [global options] ipam COMMAND [options]
 *	straitctl [global options] lb|proxy|tun status [--json]
 *
 * Pure: no I/O, no libuv. Every option is declared once in a table that
 * says which commands take it and whether it has a value, and every value
 * is checked here (prefixes, numbers, enums, KEY=VALUE), so the commands
 * only ever see a well-formed request. Options may come before or after
 * the command words; "--name=value" and "--name value" are both accepted.
 * Which server a command talks to is server.h's business.
 */
#ifndef STRAIT_CTL_ARGS_H
#define STRAIT_CTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define CTL_MAX_IPS 8	   /* proto/nsp.proto: 1..8 IPs per target */
#define CTL_MAX_CONTEXT 32 /* --context entries per registration */

enum ctl_cmd {
	CTL_CMD_NONE, /* no command word: general help */
	CTL_CMD_NSP,  /* "nsp" without a command: the group's help */
	CTL_CMD_REGISTER,
	CTL_CMD_UNREGISTER,
	CTL_CMD_LIST,
	CTL_CMD_WATCH,
	CTL_CMD_CONFIG,
	CTL_CMD_IPAM, /* "ipam" without a command */
	CTL_CMD_IPAM_ALLOCATE,
	CTL_CMD_IPAM_RELEASE,
	CTL_CMD_IPAM_LIST,
	CTL_CMD_IPAM_TREE,
	CTL_CMD_LB, /* "lb" without a command */
	CTL_CMD_LB_STATUS,
	CTL_CMD_LB_STREAMS,
	CTL_CMD_LB_FLOWS,
	CTL_CMD_PROXY, /* "proxy" without a command */
	CTL_CMD_PROXY_STATUS,
	CTL_CMD_TUN, /* "tun" without a command */
	CTL_CMD_TUN_STATUS,
	CTL_CMD_COUNT
};

/* --family of the ipam commands. IPV4 and IPV6 are the numbers of
 * proto/ipam.proto's Family; ANY (not given) only filters. */
enum ctl_family {
	CTL_FAMILY_ANY = 0,
	CTL_FAMILY_IPV4 = 1,
	CTL_FAMILY_IPV6 = 2,
	CTL_FAMILY_DUAL = 3, /* allocate and release: one call per family */
};

/* What `nsp config` is about: one kind, or all of them. */
enum ctl_kind {
	CTL_KIND_ALL,
	CTL_KIND_TRENCH,
	CTL_KIND_CONDUIT,
	CTL_KIND_STREAM,
	CTL_KIND_FLOW,
	CTL_KIND_VIP,
	CTL_KIND_ATTRACTOR,
	CTL_KIND_GATEWAY,
	CTL_KIND_SERVICE,
};

struct ctl_kv {
	char *key;	   /* owned (ctl_args_free) */
	const char *value; /* points into argv */
};

/* Strings point into argv unless marked owned. Enum fields hold the
 * proto's numbers (Nsp__TargetType, Nsp__TargetStatus); 0 means "not
 * given", which is also the proto's default or "any". */
struct ctl_args {
	enum ctl_cmd cmd;
	bool help;    /* -h/--help: print cmd's help and exit 0 */
	bool version; /* -V/--version */

	/* global */
	const char *nsp;   /* --nsp, else $STRAIT_NSP, else CTL_NSP_DEFAULT */
	const char *ipam;  /* --ipam, else NULL: see ctl_server_of() */
	const char *lb;	   /* --lb, else NULL: see ctl_server_of() */
	const char *proxy; /* --proxy, else NULL: see ctl_server_of() */
	const char *tun;   /* --tun, else NULL: see ctl_server_of() */
	bool json;
	uint64_t timeout_ms; /* --timeout, default 5000 */
	enum log_level log_level;

	/* target key, attributes and filters */
	int type;
	int status;
	const char *trench, *conduit, *stream;
	const char *service; /* --service: an INSTANCE's stream field */
	const char *ips[CTL_MAX_IPS];
	size_t n_ips;
	uint32_t identifier;
	struct ctl_kv context[CTL_MAX_CONTEXT];
	size_t n_context;

	/* register */
	bool keep;
	uint64_t refresh_ms; /* default 20000 */

	/* watch and config --watch */
	const char *resume;
	uint64_t count; /* 0 = no limit */
	bool until_synced;

	/* config */
	enum ctl_kind kind;
	bool watch;

	/* ipam (--trench and --conduit above) */
	const char *node, *name;
	enum ctl_family family; /* allocate, release: DUAL unless given */
	bool bridge;
};

/* Parses argv (argv[0] is skipped) into a. env_nsp is $STRAIT_NSP or NULL.
 * Returns 0, or -EINVAL with a one-line message naming the bad word or
 * value in err (no "straitctl: " prefix, no newline). With --help or
 * --version anywhere, returns 0 with a->help or a->version set and skips
 * the checks of required options. a must be released with ctl_args_free()
 * whatever the result. */
int ctl_args_parse(int argc, char **argv, const char *env_nsp,
		   struct ctl_args *a, char *err, size_t errlen);

void ctl_args_free(struct ctl_args *a);

/* "nsp register", "nsp", "ipam tree", or "" for CTL_CMD_NONE. */
const char *ctl_cmd_name(enum ctl_cmd cmd);

/* "trench", "conduits", ...: the singular for trench, plural otherwise, as
 * --kind spells them in the help. */
const char *ctl_kind_name(enum ctl_kind kind);

#endif
