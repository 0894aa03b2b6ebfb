/* The strait-target commands that talk to the daemon: open, close, status
 * and watch (docs/target.md). Each parses its own options, connects to
 * the daemon's control socket, makes one call and prints the answer.
 *
 * Which daemon: --control ADDR, else --pod NAME (its default socket,
 * unix:/run/strait/target-NAME.sock), else $STRAIT_TARGET_CONTROL, else
 * the one socket /run/strait/target-*.sock there is.
 */
#ifndef STRAIT_TARGET_CLI_H
#define STRAIT_TARGET_CLI_H

#include <stdbool.h>
#include <stdint.h>

enum tgt_cli_cmd { TGT_CLI_OPEN, TGT_CLI_CLOSE, TGT_CLI_STATUS, TGT_CLI_WATCH };

struct tgt_cli_args {
	enum tgt_cli_cmd cmd;
	const char *name; /* "open" */
	const char *control;
	const char *pod;
	const char *trench, *conduit, *stream;
	bool json;
	uint32_t timeout_ms;
};

/* Looks up a command's name. Returns 0 or -ENOENT. */
int tgt_cli_lookup(const char *name, enum tgt_cli_cmd *cmd);

/* Parses the options after the command's name (argv[0] is the name).
 * Returns 1 after printing --help (exit 0), 0 when the command should
 * run, or -EINVAL after printing why (exit 2). */
int tgt_cli_parse(enum tgt_cli_cmd cmd, int argc, char **argv,
		  struct tgt_cli_args *out);

/* Runs the command. Returns its exit code (TGT_EXIT_*), having printed
 * the answer on stdout or the reason on stderr. */
int tgt_cli_run(const struct tgt_cli_args *args);

#endif
