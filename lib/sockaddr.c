#include "sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#define HOST_MAX 256 /* a DNS name is at most 253 characters */

static bool all_digits(const char *s)
{
	return *s && s[strspn(s, "0123456789")] == '\0';
}

/* Digits only, because strtoul would take "+80", " 80" and, with base 0,
 * "0x50"; five at most, so the value cannot overflow before the check. */
static int parse_port(const char *s, uint16_t *port)
{
	size_t n = strlen(s);
	if (n == 0 || n > 5 || !all_digits(s))
		return -EINVAL;
	unsigned long v = strtoul(s, NULL, 10);
	if (v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* An IPv6 address with an optional "%zone" (an interface name or index). */
static int parse_ip6(char *host, struct sockaddr_in6 *sin6)
{
	char *zone = strchr(host, '%');
	if (zone)
		*zone++ = '\0';
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
		return -EINVAL;
	sin6->sin6_family = AF_INET6;
	if (!zone)
		return 0;
	if (*zone == '\0')
		return -EINVAL;
	if (all_digits(zone)) {
		unsigned long idx = strtoul(zone, NULL, 10);
		if (strlen(zone) > 10 || idx == 0 || idx > UINT32_MAX)
			return -EINVAL;
		sin6->sin6_scope_id = (uint32_t)idx;
		return 0;
	}
	sin6->sin6_scope_id = if_nametoindex(zone);
	return sin6->sin6_scope_id ? 0 : -ENODEV;
}

/* Host names as RFC 1123 allows them, plus '_', which service records and
 * some cluster DNS names use. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
		return false;
	if (s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")] != '\0')
		return false;
	/* No top-level domain is all digits (RFC 3696), so "10.0.0.256" is a
	 * mistyped address; sending it to DNS would only delay the error. */
	char last[HOST_MAX];
	size_t end = s[n - 1] == '.' ? n - 1 : n;
	size_t start = end;
	while (start > 0 && s[start - 1] != '.')
		start--;
	memcpy(last, s + start, end - start);
	last[end - start] = '\0';
	if (all_digits(last))
		return false;
	/* Whatever inet_aton() reads as an address ("0x7f.1", "0x7f000001")
	 * the resolver would too; such text is a typo, not a name. */
	struct in_addr ignored;
	return inet_aton(s, &ignored) == 0;
}

static int resolve(const char *host, struct sockaddr_storage *ss)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *res;

	int rc = getaddrinfo(host, NULL, &hints, &res);
	switch (rc) {
	case 0:
		break;
	case EAI_NONAME:
	case EAI_NODATA:
	case EAI_ADDRFAMILY:
		return -ENOENT;
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_SYSTEM:
		return errno ? -errno : -EINVAL;
	default:
		return -EINVAL;
	}

	int err = -ENOENT;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    ai->ai_addrlen <= sizeof(*ss)) {
			memcpy(ss, ai->ai_addr, ai->ai_addrlen);
			err = 0;
			break;
		}
	}
	freeaddrinfo(res);
	return err;
}

/* A Unix socket path: absolute, so that the address does not depend on the
 * working directory, and short enough for sun_path with its NUL. */
static int parse_unix(const char *path, struct sockaddr_storage *out)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	size_t n = strlen(path);

	if (n == 0 || path[0] != '/')
		return -EINVAL;
	if (n >= sizeof(un.sun_path))
		return -ENAMETOOLONG;
	memcpy(un.sun_path, path, n + 1);
	memset(out, 0, sizeof(*out));
	memcpy(out, &un, sizeof(un));
	return 0;
}

int sockaddr_parse(const char *s, uint16_t default_port,
		   struct sockaddr_storage *out)
{
	/* Checked before the "host:port" split, which would read "unix:/x"
	 * as the host "unix" and the port "/x". */
	if (strncmp(s, "unix:", 5) == 0)
		return parse_unix(s + 5, out);
	if (s[0] == '/')
		return parse_unix(s, out);

	char host[HOST_MAX];
	const char *port_text = NULL;
	const char *colon = strchr(s, ':');
	bool bracketed = false;
	size_t hostlen;

	/* Split "host:port" into its parts. */
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close)
			return -EINVAL;
		if (close[1] == ':')
			port_text = close + 2;
		else if (close[1] != '\0')
			return -EINVAL;
		s++;
		hostlen = (size_t)(close - s);
		bracketed = true;
	} else if (colon && !strchr(colon + 1, ':')) {
		hostlen = (size_t)(colon - s);
		port_text = colon + 1;
	} else {
		hostlen = strlen(s); /* no colon, or a bare IPv6 address */
	}
	if (hostlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hostlen);
	host[hostlen] = '\0';

	uint16_t port = default_port;
	if (port_text && parse_port(port_text, &port) < 0)
		return -EINVAL;
	if (port == 0)
		return -EINVAL;

	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	int err = 0;

	memset(&ss, 0, sizeof(ss));
	if (bracketed || strchr(host, ':')) {
		err = parse_ip6(host, sin6);
	} else if (host[0] == '\0') {
		if (!port_text)
			return -EINVAL; /* the empty string */
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	} else if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
	} else if (valid_name(host)) {
		err = resolve(host, &ss);
	} else {
		err = -EINVAL;
	}
	if (err)
		return err;

	/* The port goes in last: resolve() copied a whole address over ss. */
	if (ss.ss_family == AF_INET)
		sin->sin_port = htons(port);
	else
		sin6->sin6_port = htons(port);
	*out = ss;
	return 0;
}

int sockaddr_format(const struct sockaddr *sa, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];
	char zone[IF_NAMESIZE + 1] = "";
	int n;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		n = snprintf(buf, size, "%s:%u", addr, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		if (sin6->sin6_scope_id) {
			zone[0] = '%';
			if (!if_indextoname(sin6->sin6_scope_id, zone + 1))
				snprintf(zone + 1, sizeof(zone) - 1, "%u",
					 sin6->sin6_scope_id);
		}
		n = snprintf(buf, size, "[%s%s]:%u", addr, zone,
			     ntohs(sin6->sin6_port));
	} else if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const void *)sa;
		/* The precision bounds the read: sun_path need not end in a
		 * NUL when the path fills it. */
		n = snprintf(buf, size, "unix:%.*s", (int)sizeof(un->sun_path),
			     un->sun_path);
	} else {
		if (size)
			buf[0] = '\0';
		return -EAFNOSUPPORT;
	}
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

socklen_t sockaddr_len(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET:
		return sizeof(struct sockaddr_in);
	case AF_INET6:
		return sizeof(struct sockaddr_in6);
	case AF_UNIX:
		return sizeof(struct sockaddr_un);
	default:
		return 0;
	}
}
