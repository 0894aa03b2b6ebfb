/* Running a helper program (iptables-restore, ...) from a daemon.
 *
 * subproc_run() runs argv[0] (found in PATH, no shell) with in on its stdin,
 * its stdout appended to out (when not NULL) and its stderr kept for the
 * error text ("line one; line two", without iptables' "Try `...-h'"
 * advice). It blocks until the child exits, at most timeout_ms (then the
 * child is killed: -ETIMEDOUT).
 *
 * stdin is one end of a socketpair rather than a pipe so that the write
 * can use MSG_NOSIGNAL: a child that exits before reading everything (a
 * restore that failed at line 3) then gives EPIPE here instead of a
 * SIGPIPE that would kill the daemon, with no process-wide signal
 * disposition to change.
 *
 * Returns 0 when the child exited with 0; -ENOENT when the program is not
 * found; -EIO when it failed (its exit status and stderr in err); another
 * negative errno for a local failure.
 */
#ifndef STRAIT_SUBPROC_H
#define STRAIT_SUBPROC_H

#include <stddef.h>

#include "buf.h"

int subproc_run(const char *const argv[], const struct buf *in, struct buf *out,
		int timeout_ms, char *err, size_t errlen);

#endif
