#include "cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_addr(const char *s, size_t n, struct cidr *out)
{
	char tmp[INET6_ADDRSTRLEN];
	if (n == 0 || n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, tmp, out->addr) == 1) {
		out->family = AF_INET;
		out->len = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, out->addr) == 1) {
		out->family = AF_INET6;
		out->len = 128;
		return 0;
	}
	return -EINVAL;
}

int cidr_parse_ip(const char *s, struct cidr *out)
{
	return parse_addr(s, strlen(s), out);
}

int cidr_parse(const char *s, struct cidr *out)
{
	const char *slash = strchr(s, '/');
	if (!slash)
		return -EINVAL;
	struct cidr c;
	if (parse_addr(s, (size_t)(slash - s), &c) < 0)
		return -EINVAL;
	/* Digits only: strtoul would take "+8", " 8" and "0x8". */
	const char *p = slash + 1;
	size_t digits = strspn(p, "0123456789");
	if (digits == 0 || digits > 3 || p[digits] != '\0')
		return -EINVAL;
	unsigned long len = strtoul(p, NULL, 10);
	if (len > cidr_width(&c))
		return -EINVAL;
	c.len = (uint8_t)len;
	*out = c;
	return 0;
}

unsigned cidr_width(const struct cidr *c)
{
	return c->family == AF_INET ? 32 : 128;
}

int cidr_format_ip(const struct cidr *c, char *buf, size_t size)
{
	char tmp[INET6_ADDRSTRLEN];
	if (!inet_ntop(c->family, c->addr, tmp, sizeof(tmp)))
		return -EINVAL;
	if (strlen(tmp) + 1 > size)
		return -ENOSPC;
	strcpy(buf, tmp);
	return 0;
}

int cidr_format(const struct cidr *c, char *buf, size_t size)
{
	char tmp[INET6_ADDRSTRLEN];
	if (cidr_format_ip(c, tmp, sizeof(tmp)) < 0)
		return -EINVAL;
	int n = snprintf(buf, size, "%s/%u", tmp, c->len);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

void cidr_mask(struct cidr *c)
{
	unsigned width = cidr_width(c);
	for (unsigned bit = c->len; bit < width; bit++)
		c->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
}

bool cidr_contains(const struct cidr *outer, const struct cidr *inner)
{
	if (outer->family != inner->family || inner->len < outer->len)
		return false;
	unsigned full = outer->len / 8, rest = outer->len % 8;
	if (memcmp(outer->addr, inner->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t m = (uint8_t)(0xffu << (8 - rest));
	return (outer->addr[full] & m) == (inner->addr[full] & m);
}

bool cidr_equal(const struct cidr *a, const struct cidr *b)
{
	return a->family == b->family && a->len == b->len &&
	       memcmp(a->addr, b->addr, cidr_width(a) / 8) == 0;
}
