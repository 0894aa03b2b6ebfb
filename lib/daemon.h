/* What every strait daemon's main() shares: exit codes and the options
 * that mean the same everywhere (--sync, --keepalive, --dead,
 * --log-level). */
#ifndef STRAIT_DAEMON_H
#define STRAIT_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

/* Exit codes of all strait daemons (README, docs/nsp.md). */
enum {
	STRAIT_EXIT_OK = 0,      /* stopped by SIGTERM or SIGINT */
	STRAIT_EXIT_FAILURE = 1, /* a runtime failure */
	STRAIT_EXIT_USAGE = 2,   /* bad options or configuration */
	STRAIT_EXIT_LISTEN = 3,  /* cannot listen */
	STRAIT_EXIT_STATE = 4,   /* the store cannot be opened or is corrupt */
};

struct daemon_common {
	bool sync_full;        /* --sync full */
	uint32_t keepalive_ms; /* --keepalive; 0 = the transport's default */
	uint32_t dead_ms;      /* --dead; 0 = the transport's default */
	enum log_level level;  /* --log-level; LOG_INFO unless given */
};

/* getopt_long codes of the shared options, above any short option. */
enum {
	DAEMON_OPT_SYNC = 1000,
	DAEMON_OPT_KEEPALIVE,
	DAEMON_OPT_DEAD,
	DAEMON_OPT_LOG_LEVEL,
};

/* The shared entries of a daemon's struct option table. */
#define DAEMON_LONG_OPTIONS                                                    \
	{ "sync", required_argument, NULL, DAEMON_OPT_SYNC },                  \
		{ "keepalive", required_argument, NULL, DAEMON_OPT_KEEPALIVE }, \
		{ "dead", required_argument, NULL, DAEMON_OPT_DEAD },           \
		{ "log-level", required_argument, NULL, DAEMON_OPT_LOG_LEVEL }

/* Their --help lines, in the same words for every daemon. */
#define DAEMON_HELP                                                                 \
	"      --sync MODE          normal (default): each change is in the WAL\n"  \
	"                           before its reply, which survives a crash of\n"  \
	"                           the process; full: also fsync, which survives\n" \
	"                           power loss\n"                                   \
	"      --keepalive MS       ping interval on API connections (default 1000)\n" \
	"      --dead MS            silence after which a peer is dead (default 5000)\n" \
	"      --log-level LEVEL    error, warn, info (default) or debug\n"

/* Parses a decimal from lo to hi. On a bad value prints
 * "PROG: OPT 'TEXT' is not a number from LO to HI" and returns -EINVAL. */
int daemon_number(const char *prog, const char *opt, const char *text,
		  uint64_t lo, uint64_t hi, uint64_t *out);

/* Takes getopt's c and optarg: returns 1 when c is a shared option (parsed
 * into d), 0 when it is not one, or -EINVAL after printing what is wrong
 * with its value. */
int daemon_option(const char *prog, int c, const char *arg,
		  struct daemon_common *d);

/* daemon_option() for getopt's default case: 0 when c was a shared option;
 * -EINVAL after printing what is wrong with its value, or "Try 'PROG
 * --help'." for an option that is not one. */
int daemon_option_or_usage(const char *prog, int c, const char *arg,
			   struct daemon_common *d);

/* 0 when getopt left no operand (argv[optind..argc)); else -EINVAL after
 * "PROG: unexpected argument 'X'". */
int daemon_no_operands(const char *prog, int argc, char **argv, int optind);

struct sockaddr_storage;

/* Parses an address option (lib/sockaddr.h forms, default port for a bare
 * host). On a bad value prints "PROG: OPT 'TEXT' is not an address" and
 * returns -EINVAL. */
int daemon_address(const char *prog, const char *opt, const char *text,
		   uint16_t port, struct sockaddr_storage *ss);

/* Creates the directory that holds path (its last level only, mode 0755)
 * for a default such as /run/strait/x.sock or /var/lib/strait/x.db; logs
 * a warning when it cannot (the open that follows then says why). */
void daemon_make_parent(const char *path);

/* daemon_make_parent() for a Unix socket's path; nothing for others. */
void daemon_make_socket_dir(const struct sockaddr_storage *ss);

/* Checks the shared options together (--dead above --keepalive). Returns
 * 0 or -EINVAL after printing why. */
int daemon_check(const char *prog, const struct daemon_common *d);

#endif
