/* Writing a kernel setting under /proc/sys. */
#ifndef STRAIT_SYSCTL_H
#define STRAIT_SYSCTL_H

#include <stddef.h>

/* Writes value to path (e.g. "/proc/sys/net/ipv4/ip_forward"). Returns 0,
 * or a negative errno with err saying which setting and why. */
int sysctl_write(const char *path, const char *value, char *err, size_t len);

#endif
