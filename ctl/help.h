/* The --help texts of straitctl, one per command (docs/straitctl.md is
 * the same reference as a page). */
#ifndef STRAIT_CTL_HELP_H
#define STRAIT_CTL_HELP_H

#include <stdio.h>

#include "args.h"

#define CTL_VERSION "0.1.0"

/* Prints the full help of cmd (CTL_CMD_NONE: the whole tool) to f.
 * Returns 0, or -1 when f could not be written. */
int ctl_help_print(FILE *f, enum ctl_cmd cmd);

/* Two lines for a usage error: the synopsis of cmd and where to look. */
const char *ctl_usage(enum ctl_cmd cmd);

#endif
