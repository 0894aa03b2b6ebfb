/* IP addresses and prefixes in text and binary form. Pure; no I/O.
 *
 * A struct cidr holds an address of either family with a prefix length.
 * Host bits are kept as given ("198.18.1.5/24" is an address on a subnet);
 * cidr_mask() clears them when a network is meant.
 */
#ifndef STRAIT_CIDR_H
#define STRAIT_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CIDR_STRLEN 50 /* longest IPv6 text, "/128" and the NUL */

struct cidr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; IPv4 in the first 4 */
	uint8_t len;      /* prefix length: 0..32 or 0..128 */
};

/* Parses "addr/len". The length is required and must fit the family.
 * Returns 0 or -EINVAL. */
int cidr_parse(const char *s, struct cidr *out);

/* Parses a bare address; its length is the family's full width.
 * Returns 0 or -EINVAL. */
int cidr_parse_ip(const char *s, struct cidr *out);

/* Writes the canonical "addr/len" (inet_ntop's address form) into buf.
 * Returns 0 or -ENOSPC. */
int cidr_format(const struct cidr *c, char *buf, size_t size);

/* Writes the canonical bare address. Returns 0 or -ENOSPC. */
int cidr_format_ip(const struct cidr *c, char *buf, size_t size);

/* The family's full width in bits: 32 or 128. */
unsigned cidr_width(const struct cidr *c);

/* Clears the host bits. */
void cidr_mask(struct cidr *c);

/* True when inner's address lies in outer's network and inner's prefix is
 * at least as long. Different families never contain each other. */
bool cidr_contains(const struct cidr *outer, const struct cidr *inner);

/* True when the two have the same family, address and length. */
bool cidr_equal(const struct cidr *a, const struct cidr *b);

#endif
