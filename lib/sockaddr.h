/* Socket addresses in the "host:port" text form of command lines and logs.
 *
 * Accepted by sockaddr_parse(), with default_port used where no port is
 * given:
 *
 *	127.0.0.1:7778      IPv4 and port
 *	127.0.0.1           IPv4, default port
 *	[::1]:7778          IPv6 in brackets and port
 *	[::1]               IPv6 in brackets, default port
 *	::1                 bare IPv6 (more than one colon), default port
 *	[fe80::1%eth0]:7778 IPv6 with a zone, by interface name or index
 *	:7778               all IPv4 addresses (0.0.0.0) and port
 *	localhost:7778      a host name, resolved with getaddrinfo()
 *	localhost           a host name, default port
 *
 * ":port" means 0.0.0.0 rather than "::" on purpose: whether "::" also
 * takes IPv4 depends on net.ipv6.bindv6only, and a daemon's listening
 * address should not change meaning with a sysctl. Write "[::]:port" for
 * IPv6 (dual stack on a default Linux).
 *
 * A port is 1 to 5 decimal digits and nothing else ("+80", " 80", "0x50"
 * are refused) with a value of 1..65535. IPv4 is only the dotted quad:
 * the legacy shorthands that inet_aton() and the resolver take ("127.1",
 * "0x7f.0.0.1", "2130706433") are refused rather than resolved.
 */
#ifndef STRAIT_SOCKADDR_H
#define STRAIT_SOCKADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Room for the longest text sockaddr_format() writes, with its NUL:
 * "[" INET6_ADDRSTRLEN-1 "%" IF_NAMESIZE-1 "]:65535". */
#define SOCKADDR_STRLEN 72

/* Parses s into out (an AF_INET or AF_INET6 address with its port; the
 * rest of out is zeroed). default_port applies when s names no port; 0
 * makes the port mandatory.
 *
 * Numeric addresses never touch the resolver. A host name is resolved with
 * getaddrinfo(), which may block: parse names at start-up, not inside a
 * loop callback. The first address getaddrinfo() returns is taken (the
 * order of RFC 6724 and /etc/gai.conf).
 *
 * Returns 0; -EINVAL for text that is not one of the accepted forms (out
 * is left unchanged); -ENODEV for an IPv6 zone naming no interface;
 * -ENOENT when the name does not resolve; -EAGAIN when the resolver failed
 * for now (try later); -ENOMEM. */
int sockaddr_parse(const char *s, uint16_t default_port,
		   struct sockaddr_storage *out);

/* Writes "198.18.0.1:7778" or "[fd00::1]:7778" (with "%zone" inside the
 * brackets when the scope id is set: the interface name, or its number if
 * no interface has it) into buf, always NUL-terminated when size > 0.
 * Returns 0, -ENOSPC when buf is too small (SOCKADDR_STRLEN always
 * suffices), or -EAFNOSUPPORT for a family other than IPv4 and IPv6. */
int sockaddr_format(const struct sockaddr *sa, char *buf, size_t size);

/* The size of the family's address structure: sizeof(struct sockaddr_in)
 * or sizeof(struct sockaddr_in6); 0 for any other family. */
socklen_t sockaddr_len(const struct sockaddr *sa);

#endif
