/* Failing with a reason: the one way our functions hand a message back.
 *
 * Functions that can tell the caller why they failed take `char *err,
 * size_t errlen` and return a negative errno; errtext() writes the reason
 * and returns the code in one statement:
 *
 *     return errtext(-EINVAL, err, errlen, "port %u is out of range", p);
 *
 * err may be NULL or errlen 0 (the caller does not want the text); a long
 * reason is truncated, always NUL-terminated.
 */
#ifndef STRAIT_ERRTEXT_H
#define STRAIT_ERRTEXT_H

#include <stddef.h>

int errtext(int rc, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
