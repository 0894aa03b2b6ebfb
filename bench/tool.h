/* What the small benchmark tools (tcp_rr, udp_rate) share: numeric
 * arguments and numeric addresses, each failing with exit 2 and a message
 * that starts with the tool's name. */
#ifndef STRAIT_BENCH_TOOL_H
#define STRAIT_BENCH_TOOL_H

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>

/* s as a decimal number in lo..hi. */
static inline long bench_num(const char *prog, const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "%s: %s: not a number in %ld..%ld\n", prog, s,
			lo, hi);
		exit(2);
	}
	return v;
}

/* host and port, both numeric, for sockets of socktype (passive: to bind).
 * The caller frees the list with freeaddrinfo(). */
static inline struct addrinfo *bench_resolve(const char *prog, const char *host,
					     const char *port, int socktype,
					     int passive)
{
	struct addrinfo hints = {.ai_socktype = socktype,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV |
					     (passive ? AI_PASSIVE : 0)};
	struct addrinfo *ai;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "%s: %s port %s: %s\n", prog, host, port,
			gai_strerror(rc));
		exit(2);
	}
	return ai;
}

#endif
