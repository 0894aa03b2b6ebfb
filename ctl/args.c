/* The straitctl command line. See args.h.
 *
 * Two passes: the first finds the command words (skipping option values,
 * which the table tells apart), so that the second can check every option
 * against the command it belongs to, wherever it was written.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errtext.h"
#include "args.h"
#include "cidr.h"
#include "nsp.pb-c.h"
#include "server.h"

enum opt_id {
	O_HELP,
	O_VERSION,
	O_NSP,
	O_JSON,
	O_TIMEOUT,
	O_LOG_LEVEL,
	O_TRENCH,
	O_CONDUIT,
	O_STREAM,
	O_SERVICE,
	O_IP,
	O_TYPE,
	O_IDENTIFIER,
	O_STATUS,
	O_CONTEXT,
	O_KEEP,
	O_REFRESH,
	O_RESUME,
	O_COUNT,
	O_UNTIL_SYNCED,
	O_KIND,
	O_WATCH,
	O_IPAM,
	O_NODE,
	O_NAME,
	O_FAMILY,
	O_BRIDGE,
	O_LB,
	O_PROXY,
	O_TUN,
	O_COUNT_IDS
};

#define C(x) (1u << CTL_CMD_##x)
#define ANY_CMD (~0u)
#define KEYED (C(REGISTER) | C(UNREGISTER))
#define FILTERED (C(LIST) | C(WATCH))
#define CHILD (C(IPAM_ALLOCATE) | C(IPAM_RELEASE))
#define IPAM_ALL (CHILD | C(IPAM_LIST) | C(IPAM_TREE))

/* The policy: every option, whether it takes a value, which commands
 * accept it and whether it may be repeated. */
static const struct opt {
	const char *name;
	char short_name;
	enum opt_id id;
	bool arg;
	bool repeat;
	unsigned cmds;
} opts[] = {
    {"help", 'h', O_HELP, false, true, ANY_CMD},
    {"version", 'V', O_VERSION, false, true, ANY_CMD},
    {"nsp", 0, O_NSP, true, false, ANY_CMD},
    {"json", 0, O_JSON, false, true, ANY_CMD},
    {"timeout", 0, O_TIMEOUT, true, false, ANY_CMD},
    {"log-level", 0, O_LOG_LEVEL, true, false, ANY_CMD},
    {"ipam", 0, O_IPAM, true, false, ANY_CMD},
    {"lb", 0, O_LB, true, false, ANY_CMD},
    {"proxy", 0, O_PROXY, true, false, ANY_CMD},
    {"tun", 0, O_TUN, true, false, ANY_CMD},
    {"trench", 0, O_TRENCH, true, false,
     KEYED | FILTERED | C(CONFIG) | IPAM_ALL},
    {"conduit", 0, O_CONDUIT, true, false,
     KEYED | FILTERED | C(CONFIG) | CHILD | C(IPAM_LIST)},
    {"stream", 0, O_STREAM, true, false, KEYED | FILTERED | C(CONFIG)},
    {"service", 0, O_SERVICE, true, false, KEYED | FILTERED},
    {"ip", 0, O_IP, true, true, KEYED},
    {"type", 0, O_TYPE, true, false, KEYED | FILTERED},
    {"identifier", 0, O_IDENTIFIER, true, false, C(REGISTER)},
    {"status", 0, O_STATUS, true, false, C(REGISTER) | FILTERED},
    {"context", 0, O_CONTEXT, true, true, C(REGISTER)},
    {"keep", 0, O_KEEP, false, true, C(REGISTER)},
    {"refresh", 0, O_REFRESH, true, false, C(REGISTER)},
    {"resume", 0, O_RESUME, true, false, C(WATCH)},
    {"count", 0, O_COUNT, true, false, C(WATCH) | C(CONFIG)},
    {"until-synced", 0, O_UNTIL_SYNCED, false, true, C(WATCH)},
    {"kind", 0, O_KIND, true, false, C(CONFIG)},
    {"watch", 0, O_WATCH, false, true, C(CONFIG)},
    {"node", 0, O_NODE, true, false, CHILD | C(IPAM_LIST)},
    {"name", 0, O_NAME, true, false, CHILD},
    {"family", 0, O_FAMILY, true, false, CHILD | C(IPAM_LIST)},
    {"bridge", 0, O_BRIDGE, false, true, C(IPAM_ALLOCATE)},
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

static const char *const cmd_words[CTL_CMD_COUNT] = {
    [CTL_CMD_REGISTER] = "register", [CTL_CMD_UNREGISTER] = "unregister",
    [CTL_CMD_LIST] = "list",	     [CTL_CMD_WATCH] = "watch",
    [CTL_CMD_CONFIG] = "config",
    [CTL_CMD_IPAM_ALLOCATE] = "allocate",
    [CTL_CMD_IPAM_RELEASE] = "release",
    [CTL_CMD_IPAM_LIST] = "list",
    [CTL_CMD_IPAM_TREE] = "tree",
    [CTL_CMD_LB_STATUS] = "status",
    [CTL_CMD_LB_STREAMS] = "streams",
    [CTL_CMD_LB_FLOWS] = "flows",
    [CTL_CMD_PROXY_STATUS] = "status",
    [CTL_CMD_TUN_STATUS] = "status",
};

/* The command groups: the first word, and the commands it holds. */
static const struct group {
	const char *word;
	enum ctl_cmd cmd; /* the group alone: its help */
	enum ctl_cmd first, last;
	const char *want; /* its commands, for messages */
} groups[] = {
    {"nsp", CTL_CMD_NSP, CTL_CMD_REGISTER, CTL_CMD_CONFIG,
     "register, unregister, list, watch or config"},
    {"ipam", CTL_CMD_IPAM, CTL_CMD_IPAM_ALLOCATE, CTL_CMD_IPAM_TREE,
     "allocate, release, list or tree"},
    {"lb", CTL_CMD_LB, CTL_CMD_LB_STATUS, CTL_CMD_LB_FLOWS,
     "status, streams or flows"},
    {"proxy", CTL_CMD_PROXY, CTL_CMD_PROXY_STATUS, CTL_CMD_PROXY_STATUS,
     "status"},
    {"tun", CTL_CMD_TUN, CTL_CMD_TUN_STATUS, CTL_CMD_TUN_STATUS, "status"},
};

#define N_GROUPS (sizeof(groups) / sizeof(groups[0]))

static const struct {
	const char *name;
	enum ctl_kind kind;
} kinds[] = {
    {"all", CTL_KIND_ALL},
    {"trench", CTL_KIND_TRENCH},
    {"trenches", CTL_KIND_TRENCH},
    {"conduit", CTL_KIND_CONDUIT},
    {"conduits", CTL_KIND_CONDUIT},
    {"stream", CTL_KIND_STREAM},
    {"streams", CTL_KIND_STREAM},
    {"flow", CTL_KIND_FLOW},
    {"flows", CTL_KIND_FLOW},
    {"vip", CTL_KIND_VIP},
    {"vips", CTL_KIND_VIP},
    {"attractor", CTL_KIND_ATTRACTOR},
    {"attractors", CTL_KIND_ATTRACTOR},
    {"gateway", CTL_KIND_GATEWAY},
    {"gateways", CTL_KIND_GATEWAY},
    {"service", CTL_KIND_SERVICE},
    {"services", CTL_KIND_SERVICE},
};

const char *ctl_cmd_name(enum ctl_cmd cmd)
{
	static const char *const names[CTL_CMD_COUNT] = {
	    [CTL_CMD_NONE] = "",
	    [CTL_CMD_NSP] = "nsp",
	    [CTL_CMD_REGISTER] = "nsp register",
	    [CTL_CMD_UNREGISTER] = "nsp unregister",
	    [CTL_CMD_LIST] = "nsp list",
	    [CTL_CMD_WATCH] = "nsp watch",
	    [CTL_CMD_CONFIG] = "nsp config",
	    [CTL_CMD_IPAM] = "ipam",
	    [CTL_CMD_IPAM_ALLOCATE] = "ipam allocate",
	    [CTL_CMD_IPAM_RELEASE] = "ipam release",
	    [CTL_CMD_IPAM_LIST] = "ipam list",
	    [CTL_CMD_IPAM_TREE] = "ipam tree",
	    [CTL_CMD_LB] = "lb",
	    [CTL_CMD_LB_STATUS] = "lb status",
	    [CTL_CMD_LB_STREAMS] = "lb streams",
	    [CTL_CMD_LB_FLOWS] = "lb flows",
	    [CTL_CMD_PROXY] = "proxy",
	    [CTL_CMD_PROXY_STATUS] = "proxy status",
	    [CTL_CMD_TUN] = "tun",
	    [CTL_CMD_TUN_STATUS] = "tun status",
	};
	return (unsigned)cmd < CTL_CMD_COUNT ? names[cmd] : "";
}

const char *ctl_kind_name(enum ctl_kind kind)
{
	static const char *const names[] = {
	    "all",  "trench",	  "conduits", "streams",  "flows",
	    "vips", "attractors", "gateways", "services",
	};
	return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind]
								 : "?";
}

/* Finds the option an argument names. "--name" and "--name=value" match
 * long names, "-h" and "-V" short ones. Sets *value to the text after '='
 * (or NULL). Returns NULL for an unknown option. */
static const struct opt *lookup(const char *word, const char **value)
{
	*value = NULL;
	if (word[0] == '-' && word[1] != '-' && word[1] && !word[2]) {
		for (size_t i = 0; i < N_OPTS; i++)
			if (opts[i].short_name == word[1])
				return &opts[i];
		return NULL;
	}
	const char *name = word + 2;
	size_t len = strcspn(name, "=");
	for (size_t i = 0; i < N_OPTS; i++) {
		if (strlen(opts[i].name) == len &&
		    strncmp(opts[i].name, name, len) == 0) {
			if (name[len] == '=')
				*value = name + len + 1;
			return &opts[i];
		}
	}
	return NULL;
}

static bool is_option(const char *word)
{
	return word[0] == '-' && word[1] != '\0';
}

/* Decimal digits only, no sign, no spaces, at most max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Seconds as a positive decimal ("5", "0.5"), at most a day, rounded to
 * milliseconds (at least 1). */
static int parse_seconds(const char *s, uint64_t *ms)
{
	if (!((*s >= '0' && *s <= '9') || *s == '.'))
		return -EINVAL;
	char *end;
	double v = strtod(s, &end);
	if (*end || !isfinite(v) || v <= 0 || v > 86400)
		return -EINVAL;
	uint64_t r = (uint64_t)llround(v * 1000);
	*ms = r ? r : 1;
	return 0;
}

static int parse_type(const char *s, bool allow_any, int *out)
{
	if (strcmp(s, "target") == 0)
		*out = NSP__TARGET_TYPE__TARGET;
	else if (strcmp(s, "frontend") == 0)
		*out = NSP__TARGET_TYPE__FRONTEND;
	else if (strcmp(s, "proxy") == 0)
		*out = NSP__TARGET_TYPE__PROXY;
	else if (strcmp(s, "tunnel") == 0)
		*out = NSP__TARGET_TYPE__TUNNEL;
	else if (strcmp(s, "instance") == 0)
		*out = NSP__TARGET_TYPE__INSTANCE;
	else if (allow_any && strcmp(s, "any") == 0)
		*out = NSP__TARGET_TYPE__ANY_TYPE;
	else
		return -EINVAL;
	return 0;
}

static int parse_status(const char *s, bool allow_any, int *out)
{
	if (strcmp(s, "enabled") == 0)
		*out = NSP__TARGET_STATUS__ENABLED;
	else if (strcmp(s, "disabled") == 0)
		*out = NSP__TARGET_STATUS__DISABLED;
	else if (allow_any && strcmp(s, "any") == 0)
		*out = NSP__TARGET_STATUS__ANY_STATUS;
	else
		return -EINVAL;
	return 0;
}

/* allocate and release: ipv4, ipv6 or dual; list: ipv4, ipv6 or any. */
static int parse_family(const char *s, bool filter, enum ctl_family *out)
{
	if (strcmp(s, "ipv4") == 0)
		*out = CTL_FAMILY_IPV4;
	else if (strcmp(s, "ipv6") == 0)
		*out = CTL_FAMILY_IPV6;
	else if (!filter && strcmp(s, "dual") == 0)
		*out = CTL_FAMILY_DUAL;
	else if (filter && strcmp(s, "any") == 0)
		*out = CTL_FAMILY_ANY;
	else
		return -EINVAL;
	return 0;
}

static int add_ip(struct ctl_args *a, const char *v, char *err, size_t errlen)
{
	struct cidr c, prev;
	if (cidr_parse(v, &c) < 0)
		return errtext(-EINVAL, err, errlen,
			    "--ip '%s' is not a prefix (want ADDR/LEN)", v);
	for (size_t i = 0; i < a->n_ips; i++) {
		cidr_parse(a->ips[i], &prev);
		if (cidr_equal(&c, &prev) && strcmp(v, a->ips[i]) == 0)
			return errtext(-EINVAL, err, errlen, "--ip '%s' is given twice", v);
		if (cidr_equal(&c, &prev))
			return errtext(-EINVAL, err, errlen,
				    "--ip '%s' is given twice (as '%s')", v,
				    a->ips[i]);
	}
	if (a->n_ips == CTL_MAX_IPS)
		return errtext(-EINVAL, err, errlen,
			    "--ip '%s': a target has at most %d addresses", v,
			    CTL_MAX_IPS);
	a->ips[a->n_ips++] = v;
	return 0;
}

static int add_context(struct ctl_args *a, const char *v, char *err,
		       size_t errlen)
{
	const char *eq = strchr(v, '=');
	if (!eq || eq == v)
		return errtext(-EINVAL, err, errlen,
			       "--context '%s' is not KEY=VALUE (want a "
			       "non-empty key)",
			       v);
	size_t klen = (size_t)(eq - v);
	for (size_t i = 0; i < a->n_context; i++)
		if (strlen(a->context[i].key) == klen &&
		    strncmp(a->context[i].key, v, klen) == 0)
			return errtext(-EINVAL, err, errlen,
				    "--context key '%.*s' is given twice",
				    (int)klen, v);
	if (a->n_context == CTL_MAX_CONTEXT)
		return errtext(-EINVAL, err, errlen,
			    "--context '%s': at most %d entries are accepted",
			    v, CTL_MAX_CONTEXT);
	char *key = strndup(v, klen);
	if (!key)
		return errtext(-EINVAL, err, errlen, "out of memory");
	a->context[a->n_context].key = key;
	a->context[a->n_context].value = eq + 1;
	a->n_context++;
	return 0;
}

static int set_name(const char **dst, const char *opt, const char *v, char *err,
		    size_t errlen)
{
	if (!*v)
		return errtext(-EINVAL, err, errlen, "--%s needs a non-empty name", opt);
	*dst = v;
	return 0;
}

/* Applies one option with its value (NULL for a flag). */
static int apply(struct ctl_args *a, const struct opt *o, const char *v,
		 char *err, size_t errlen)
{
	uint64_t n;
	bool filter = a->cmd == CTL_CMD_LIST || a->cmd == CTL_CMD_WATCH;

	switch (o->id) {
	case O_HELP:
		a->help = true;
		return 0;
	case O_VERSION:
		a->version = true;
		return 0;
	case O_NSP:
		if (!*v)
			return errtext(-EINVAL, err, errlen,
				    "--nsp needs an address (HOST:PORT)");
		a->nsp = v;
		return 0;
	case O_JSON:
		a->json = true;
		return 0;
	case O_TIMEOUT:
		if (parse_seconds(v, &a->timeout_ms) < 0)
			return errtext(-EINVAL, err, errlen,
				    "--timeout '%s' is not a number of seconds "
				    "(want 0 < SECONDS <= 86400)",
				    v);
		return 0;
	case O_LOG_LEVEL:
		if (log_level_parse(v, &a->log_level) < 0)
			return errtext(-EINVAL, err, errlen,
				    "--log-level '%s' is not one of error, "
				    "warn, info, debug",
				    v);
		return 0;
	case O_TRENCH:
		return set_name(&a->trench, o->name, v, err, errlen);
	case O_CONDUIT:
		return set_name(&a->conduit, o->name, v, err, errlen);
	case O_STREAM:
		return set_name(&a->stream, o->name, v, err, errlen);
	case O_SERVICE:
		return set_name(&a->service, o->name, v, err, errlen);
	case O_IP:
		return add_ip(a, v, err, errlen);
	case O_TYPE:
		if (parse_type(v, filter, &a->type) < 0)
			return errtext(-EINVAL, err, errlen,
			    "--type '%s' is not one of target, frontend, "
			    "proxy, tunnel, instance%s",
			    v, filter ? ", any" : "");
		return 0;
	case O_IDENTIFIER:
		if (parse_u64(v, UINT32_MAX, &n) < 0)
			return errtext(-EINVAL, err, errlen,
				    "--identifier '%s' is not a number (want "
				    "0..%u, 0 = lowest free)",
				    v, UINT32_MAX);
		a->identifier = (uint32_t)n;
		return 0;
	case O_STATUS:
		if (parse_status(v, filter, &a->status) < 0)
			return errtext(-EINVAL, err, errlen,
			    "--status '%s' is not one of enabled, disabled%s",
			    v, filter ? ", any" : "");
		return 0;
	case O_CONTEXT:
		return add_context(a, v, err, errlen);
	case O_KEEP:
		a->keep = true;
		return 0;
	case O_REFRESH:
		if (parse_seconds(v, &a->refresh_ms) < 0)
			return errtext(-EINVAL, err, errlen,
				    "--refresh '%s' is not a number of seconds "
				    "(want 0 < SECONDS <= 86400)",
				    v);
		return 0;
	case O_RESUME:
		if (!*v)
			return errtext(-EINVAL, err, errlen, "--resume needs a file name");
		a->resume = v;
		return 0;
	case O_COUNT:
		if (parse_u64(v, UINT64_MAX, &a->count) < 0 || a->count == 0)
			return errtext(-EINVAL, err, errlen,
				    "--count '%s' is not a positive number", v);
		return 0;
	case O_UNTIL_SYNCED:
		a->until_synced = true;
		return 0;
	case O_KIND:
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			if (strcmp(v, kinds[i].name) == 0) {
				a->kind = kinds[i].kind;
				return 0;
			}
		}
		return errtext(-EINVAL, err, errlen,
			    "--kind '%s' is not one of trench, conduits, "
			    "streams, flows, vips, attractors, gateways, "
			    "services, all",
			    v);
	case O_WATCH:
		a->watch = true;
		return 0;
	case O_IPAM:
		if (!*v)
			return errtext(-EINVAL, err, errlen,
				       "--ipam needs an address (HOST:PORT)");
		a->ipam = v;
		return 0;
	case O_LB:
	case O_PROXY:
	case O_TUN:
		if (!*v)
			return errtext(-EINVAL, err, errlen,
				       "--%s needs an address (unix:PATH or "
				       "HOST:PORT)",
				       o->name);
		if (o->id == O_LB)
			a->lb = v;
		else if (o->id == O_PROXY)
			a->proxy = v;
		else
			a->tun = v;
		return 0;
	case O_NODE:
		return set_name(&a->node, o->name, v, err, errlen);
	case O_NAME:
		return set_name(&a->name, o->name, v, err, errlen);
	case O_FAMILY:
		if (parse_family(v, a->cmd == CTL_CMD_IPAM_LIST, &a->family) <
		    0)
			return errtext(-EINVAL, err, errlen,
				       "--family '%s' is not one of ipv4, "
				       "ipv6, %s",
				       v,
				       a->cmd == CTL_CMD_IPAM_LIST ? "any"
								   : "dual");
		return 0;
	case O_BRIDGE:
		a->bridge = true;
		return 0;
	case O_COUNT_IDS:
		break;
	}
	return errtext(-EINVAL, err, errlen, "internal error: option --%s", o->name);
}

/* The words that are not options, in order, option values skipped: the
 * first three are kept, all are counted. */
static void find_words(int argc, char **argv, const char **words,
		       size_t *n_words)
{
	bool dashdash = false;
	*n_words = 0;
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i];
		if (dashdash || !is_option(w)) {
			if (*n_words < 3)
				words[*n_words] = w;
			(*n_words)++;
			continue;
		}
		if (strcmp(w, "--") == 0) {
			dashdash = true;
			continue;
		}
		const char *v;
		const struct opt *o = lookup(w, &v);
		if (o && o->arg && !v)
			i++; /* its value, checked in the second pass */
	}
}

/* Sets a->cmd from the words, and *extra to a word beyond the command
 * (reported only if no option is wrong, since it is often the value of a
 * misspelt option). */
static int find_command(struct ctl_args *a, const char **words, size_t n_words,
			const char **extra, char *err, size_t errlen)
{
	const struct group *g = NULL;
	*extra = NULL;
	if (n_words == 0) {
		a->cmd = CTL_CMD_NONE;
		return 0;
	}
	for (size_t i = 0; i < N_GROUPS; i++)
		if (strcmp(words[0], groups[i].word) == 0)
			g = &groups[i];
	if (!g) {
		/* A command without its group: name the group(s) that have
		 * it ("list" is in both). */
		char hint[64] = "";
		size_t len = 0;
		for (size_t i = 0; i < N_GROUPS; i++)
			for (int c = groups[i].first; c <= (int)groups[i].last;
			     c++)
				if (strcmp(words[0], cmd_words[c]) == 0)
					len += (size_t)snprintf(
					    hint + len, sizeof(hint) - len,
					    "%s'%s %s'", len ? " or " : "",
					    groups[i].word, cmd_words[c]);
		if (len)
			return errtext(-EINVAL, err, errlen,
				       "unknown command '%s' (did you mean "
				       "%s?)",
				       words[0], hint);
		return errtext(-EINVAL, err, errlen,
			       "unknown command '%s' (want 'nsp', 'ipam', "
			       "'lb', 'proxy' or 'tun')",
			       words[0]);
	}
	if (n_words == 1) {
		a->cmd = g->cmd;
		return 0;
	}
	for (int c = g->first; c <= (int)g->last; c++) {
		if (strcmp(words[1], cmd_words[c]) == 0) {
			a->cmd = (enum ctl_cmd)c;
			if (n_words > 2)
				*extra = words[2];
			return 0;
		}
	}
	a->cmd = g->cmd; /* for the group's usage and help */
	return errtext(-EINVAL, err, errlen,
		       "unknown command '%s %s' (want %s)", g->word, words[1],
		       g->want);
}

/* The words of a type in messages. */
static const char *type_word(int type)
{
	switch (type) {
	case NSP__TARGET_TYPE__FRONTEND:
		return "frontend";
	case NSP__TARGET_TYPE__PROXY:
		return "proxy";
	case NSP__TARGET_TYPE__TUNNEL:
		return "tunnel";
	case NSP__TARGET_TYPE__INSTANCE:
		return "instance";
	default:
		return "target";
	}
}

/* A registration's key, by type (docs/nsp.md, Types):
 *	target    --trench --conduit --stream
 *	frontend  --trench --conduit
 *	proxy     --trench --conduit
 *	tunnel    --trench
 *	instance  --trench --service
 * --service alone means --type instance. */
static int check_key(struct ctl_args *a, const unsigned *seen, char *err,
		     size_t errlen)
{
	bool conduit_type;
	if (!a->type)
		a->type = a->service ? NSP__TARGET_TYPE__INSTANCE
				     : NSP__TARGET_TYPE__TARGET;
	conduit_type = a->type != NSP__TARGET_TYPE__TUNNEL &&
		       a->type != NSP__TARGET_TYPE__INSTANCE;
	if (!a->trench)
		return errtext(-EINVAL, err, errlen, "--trench is required");
	if (conduit_type && !a->conduit)
		return errtext(-EINVAL, err, errlen, "--conduit is required");
	if (!conduit_type && a->conduit)
		return errtext(-EINVAL, err, errlen,
			       "--conduit '%s' is not for --type %s (%s)",
			       a->conduit, type_word(a->type),
			       a->type == NSP__TARGET_TYPE__TUNNEL
				   ? "a tunnel serves a whole trench"
				   : "an instance belongs to a service of "
				     "the trench");
	if (!a->n_ips)
		return errtext(-EINVAL, err, errlen,
			       "--ip is required (at least one ADDR/LEN)");
	if (a->type == NSP__TARGET_TYPE__TARGET && !a->stream)
		return errtext(-EINVAL, err, errlen,
			       "--stream is required for --type target");
	if (a->type == NSP__TARGET_TYPE__INSTANCE && a->stream)
		return errtext(-EINVAL, err, errlen,
			       "--stream '%s' is for --type target (an "
			       "instance names its service with --service)",
			       a->stream);
	if (a->type != NSP__TARGET_TYPE__TARGET && a->stream)
		return errtext(-EINVAL, err, errlen,
			       "--stream '%s' is for --type target only "
			       "(a %s serves a whole %s)",
			       a->stream, type_word(a->type),
			       conduit_type ? "conduit" : "trench");
	if (a->type == NSP__TARGET_TYPE__INSTANCE && !a->service)
		return errtext(-EINVAL, err, errlen,
			       "--service is required for --type instance");
	if (a->type != NSP__TARGET_TYPE__INSTANCE && a->service)
		return errtext(-EINVAL, err, errlen,
			       "--service '%s' is for --type instance only",
			       a->service);
	if (a->type != NSP__TARGET_TYPE__TARGET &&
	    a->type != NSP__TARGET_TYPE__INSTANCE && a->identifier)
		return errtext(-EINVAL, err, errlen,
			       "--identifier is for --type target and "
			       "instance only");
	if (seen[O_REFRESH] && !a->keep)
		return errtext(-EINVAL, err, errlen,
			       "--refresh needs --keep");
	return 0;
}

/* A filter: --service is an instance's stream field, so it stands for
 * --stream and means --type instance unless a type is given. */
static int check_filter(struct ctl_args *a, const unsigned *seen, char *err,
			size_t errlen)
{
	if (!a->service)
		return 0;
	if (a->stream)
		return errtext(-EINVAL, err, errlen,
			       "--service and --stream both name the "
			       "stream field; give one");
	if (!seen[O_TYPE])
		a->type = NSP__TARGET_TYPE__INSTANCE;
	else if (a->type != NSP__TARGET_TYPE__INSTANCE &&
		 a->type != NSP__TARGET_TYPE__ANY_TYPE)
		return errtext(-EINVAL, err, errlen,
			       "--service is for --type instance (or any), "
			       "not %s",
			       type_word(a->type));
	return 0;
}

/* The rules that join options: what a command requires and which
 * options only make sense together. */
static int check(struct ctl_args *a, const unsigned *seen, char *err,
		 size_t errlen)
{
	switch (a->cmd) {
	case CTL_CMD_NONE:
		return errtext(-EINVAL, err, errlen, "no command given");
	case CTL_CMD_NSP:
		return errtext(-EINVAL, err, errlen,
			    "nsp needs a command: register, unregister, list, "
			    "watch or config");
	case CTL_CMD_REGISTER:
	case CTL_CMD_UNREGISTER:
		return check_key(a, seen, err, errlen);
	case CTL_CMD_LIST:
	case CTL_CMD_WATCH:
		return check_filter(a, seen, err, errlen);
	case CTL_CMD_CONFIG:
		if (a->count && !a->watch)
			return errtext(-EINVAL, err, errlen, "--count needs --watch");
		return 0;
	case CTL_CMD_IPAM:
		return errtext(-EINVAL, err, errlen,
			       "ipam needs a command: allocate, release, list "
			       "or tree");
	case CTL_CMD_IPAM_ALLOCATE:
	case CTL_CMD_IPAM_RELEASE:
		if (!a->family)
			a->family = CTL_FAMILY_DUAL;
		if (!a->trench)
			return errtext(-EINVAL, err, errlen, "--trench is required");
		if (!a->conduit)
			return errtext(-EINVAL, err, errlen, "--conduit is required");
		if (!a->node)
			return errtext(-EINVAL, err, errlen, "--node is required");
		if (!a->name)
			return errtext(-EINVAL, err, errlen,
				       "--name is required (the child: a pod, "
				       "or the node's proxy with --bridge)");
		return 0;
	case CTL_CMD_IPAM_LIST:
	case CTL_CMD_IPAM_TREE:
		return 0;
	case CTL_CMD_LB:
		return errtext(-EINVAL, err, errlen,
			       "lb needs a command: status, streams or flows");
	case CTL_CMD_LB_STATUS:
	case CTL_CMD_LB_STREAMS:
	case CTL_CMD_LB_FLOWS:
		return 0;
	case CTL_CMD_PROXY:
		return errtext(-EINVAL, err, errlen,
			       "proxy needs a command: status");
	case CTL_CMD_PROXY_STATUS:
		return 0;
	case CTL_CMD_TUN:
		return errtext(-EINVAL, err, errlen,
			       "tun needs a command: status");
	case CTL_CMD_TUN_STATUS:
		return 0;
	case CTL_CMD_COUNT:
		break;
	}
	return errtext(-EINVAL, err, errlen, "internal error: command %d", (int)a->cmd);
}

int ctl_args_parse(int argc, char **argv, const char *env_nsp,
		   struct ctl_args *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	a->nsp = env_nsp && *env_nsp ? env_nsp : CTL_NSP_DEFAULT;
	a->timeout_ms = 5000;
	a->refresh_ms = 20000;
	a->log_level = LOG_WARN;
	err[0] = '\0';

	const char *words[3], *extra;
	size_t n_words;
	find_words(argc, argv, words, &n_words);
	int r = find_command(a, words, n_words, &extra, err, errlen);
	if (r < 0) {
		/* A bad command word still leaves --help meaningful. */
		for (int i = 1; i < argc; i++)
			if (!strcmp(argv[i], "--help") ||
			    !strcmp(argv[i], "-h"))
				a->help = true;
		if (a->help) {
			err[0] = '\0';
			return 0;
		}
		return r;
	}

	unsigned seen[O_COUNT_IDS] = {0};
	bool dashdash = false;
	int first_err = 0;
	char first_msg[256] = "";
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i];
		if (dashdash || !is_option(w))
			continue;
		if (strcmp(w, "--") == 0) {
			dashdash = true;
			continue;
		}
		const char *v;
		const struct opt *o = lookup(w, &v);
		if (!o) {
			r = errtext(-EINVAL, err, errlen, "unknown option '%s'", w);
		} else if (!(o->cmds & (1u << a->cmd))) {
			r = errtext(-EINVAL, err, errlen, "--%s is not an option of '%s'",
				 o->name,
				 a->cmd == CTL_CMD_NONE ? "straitctl"
							: ctl_cmd_name(a->cmd));
		} else if (!o->arg && v) {
			r = errtext(-EINVAL, err, errlen, "--%s takes no value (got '%s')",
				 o->name, v);
		} else if (o->arg && !v && i + 1 >= argc) {
			r = errtext(-EINVAL, err, errlen, "--%s needs a value", o->name);
		} else if (o->arg && !v && argv[i + 1][0] == '-' &&
			   argv[i + 1][1] == '-') {
			/* "--trench --conduit lb" is a forgotten value, not a
			 * trench named "--conduit"; --trench=--x still works.
			 */
			r = errtext(-EINVAL, err, errlen,
				 "--%s needs a value (got the option '%s')",
				 o->name, argv[i + 1]);
		} else if (seen[o->id] && !o->repeat) {
			r = errtext(-EINVAL, err, errlen, "--%s is given twice", o->name);
			if (o->arg && !v)
				i++;
		} else {
			if (o->arg && !v)
				v = argv[++i];
			seen[o->id]++;
			r = apply(a, o, v, err, errlen);
		}
		if (r < 0 && !first_err) {
			first_err = r;
			snprintf(first_msg, sizeof(first_msg), "%s", err);
		}
	}
	if (a->help || a->version) {
		err[0] = '\0';
		return 0;
	}
	if (first_err) {
		snprintf(err, errlen, "%s", first_msg);
		return first_err;
	}
	if (extra)
		return errtext(-EINVAL, err, errlen, "unexpected argument '%s'", extra);
	return check(a, seen, err, errlen);
}

void ctl_args_free(struct ctl_args *a)
{
	for (size_t i = 0; i < a->n_context; i++)
		free(a->context[i].key);
	a->n_context = 0;
}
