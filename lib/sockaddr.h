/* Socket addresses in the "host:port" (or "unix:PATH") text form of command
 * lines and logs.
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
 *	unix:/run/strait/lb.sock  a Unix-domain stream socket (AF_UNIX)
 *	/run/strait/lb.sock       the same: any text starting with '/'
 *
 * A Unix socket's PATH is absolute and at most 107 bytes (sun_path with
 * its NUL); it is taken byte for byte, with no port and no resolver.
 * "unix:" always starts a path, so a host named "unix" cannot be written
 * as "unix:port" (write its address instead). Relative paths are refused
 * because a daemon's working directory is not something its address should
 * depend on; abstract sockets ("@name") are not supported.
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
 * "unix:" and a full sun_path of 108 bytes, which is longer than the
 * longest IPv6 form, "[" INET6_ADDRSTRLEN-1 "%" IF_NAMESIZE-1 "]:65535"
 * (72 bytes). */
#define SOCKADDR_STRLEN 114

/* Parses s into out (an AF_INET or AF_INET6 address with its port, or an
 * AF_UNIX address with its path; the rest of out is zeroed). default_port
 * applies when s names no port; 0 makes the port mandatory. It does not
 * apply to Unix sockets, which have none.
 *
 * Numeric addresses never touch the resolver. A host name is resolved with
 * getaddrinfo(), which may block: parse names at start-up, not inside a
 * loop callback. The first address getaddrinfo() returns is taken (the
 * order of RFC 6724 and /etc/gai.conf).
 *
 * Returns 0; -EINVAL for text that is not one of the accepted forms,
 * including an empty or relative Unix path; -ENAMETOOLONG for a Unix path
 * longer than 107 bytes; -ENODEV for an IPv6 zone naming no interface;
 * -ENOENT when the name does not resolve; -EAGAIN when the resolver failed
 * for now (try later); -ENOMEM. On an error out is left unchanged. */
int sockaddr_parse(const char *s, uint16_t default_port,
		   struct sockaddr_storage *out);

/* Writes "198.18.0.1:7778" or "[fd00::1]:7778" (with "%zone" inside the
 * brackets when the scope id is set: the interface name, or its number if
 * no interface has it) or "unix:/run/strait/lb.sock" into buf, always
 * NUL-terminated when size > 0. A sun_path is read up to its first NUL or
 * its end, whichever comes first; one that starts with a NUL (an unnamed
 * socket, such as a client's end of a connection, or an abstract one) is
 * written "unix:". Returns 0, -ENOSPC when buf is too small
 * (SOCKADDR_STRLEN always suffices), or -EAFNOSUPPORT for a family other
 * than IPv4, IPv6 and Unix. */
int sockaddr_format(const struct sockaddr *sa, char *buf, size_t size);

/* The size of the family's address structure: sizeof(struct sockaddr_in),
 * sizeof(struct sockaddr_in6) or sizeof(struct sockaddr_un); 0 for any
 * other family. */
socklen_t sockaddr_len(const struct sockaddr *sa);

#endif
