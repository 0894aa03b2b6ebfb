/* The parts of one command's --help, shared by help.c, which prints them,
 * and the files that hold one group's texts (help_lb.c, help_proxy.c,
 * help_tun.c).
 * Internal to ctl/; the public face is help.h. */
#ifndef STRAIT_CTL_HELP_TEXT_H
#define STRAIT_CTL_HELP_TEXT_H

#include <stdbool.h>

#include "args.h"

struct help {
	const char *head;     /* name, usage, description */
	bool group;	      /* a group's overview: head and examples only */
	const char *shared;   /* options shared with other commands, or NULL */
	const char *options;  /* the command's own options, or NULL */
	const char *output;   /* "Output:" section, or NULL */
	const char *exit_add; /* lines added to the exit status, or NULL */
	const char *reasons;  /* "Refusals:" section, or NULL */
	const char *examples;
};

/* The help of cmd, which must be "nsp" or one of its commands (for
 * ctl_help_nsp), "lb" or one of its commands (ctl_help_lb), "proxy" or
 * one of its commands (ctl_help_proxy) or "tun" or one of its commands
 * (ctl_help_tun). Never NULL. */
const struct help *ctl_help_nsp(enum ctl_cmd cmd);
const struct help *ctl_help_lb(enum ctl_cmd cmd);
const struct help *ctl_help_proxy(enum ctl_cmd cmd);
const struct help *ctl_help_tun(enum ctl_cmd cmd);

/* The two lines of a usage error in the group (the nsp group's depend on
 * the command). */
const char *ctl_usage_nsp(enum ctl_cmd cmd);
extern const char ctl_usage_lb[];
extern const char ctl_usage_proxy[];
extern const char ctl_usage_tun[];

#endif
