/* The prefix spec of the command line, and the names IPAM accepts.
 *
 * Pure; no I/O. A spec gives one family's tree shape, for every trench or
 * for one:
 *
 *   [TRENCH=]PREFIX:CONDUIT_LEN:NODE_LEN
 *   169.255.0.0/16:20:24            the IPv4 default of every trench
 *   trench-a=fd00::/48:56:64        the IPv6 tree of trench-a
 *
 * An IPv6 prefix holds colons, so the two lengths are taken from the right;
 * a prefix never holds '=', so the trench is what precedes the last '='.
 */
#ifndef STRAIT_IPAM_SPEC_H
#define STRAIT_IPAM_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

/* The longest name of a trench, conduit, node or child, in bytes. */
#define IPAM_NAME_MAX 128

/* One family's tree: the trench prefix, cut into conduit prefixes of
 * conduit_len, each cut into node prefixes of node_len. A zeroed struct
 * (prefix.family 0) means "not set". */
struct ipam_family_spec {
	struct cidr prefix;
	uint8_t conduit_len;
	uint8_t node_len;
};

/* A parsed command-line spec. trench is "" when the spec is the default
 * of every trench. */
struct ipam_spec {
	char trench[IPAM_NAME_MAX + 1];
	struct ipam_family_spec fs;
};

/* Parses s into *out. Returns 0, or -EINVAL with err naming the value and
 * the rule it breaks: a malformed spec, an invalid trench name (see
 * ipam_name_check), a prefix that does not parse, a length that is not a
 * decimal number within the family's width, or any rule of
 * ipam_spec_check. *out is written only on success. */
int ipam_spec_parse(const char *s, struct ipam_spec *out, char *err,
		    size_t errlen);

/* Checks that fs can form a tree (docs/ipam.md, prefix_cannot_fit): the
 * prefix has no host bits set, conduit_len is longer than the prefix,
 * node_len longer than conduit_len, and a node prefix holds at least 4
 * addresses (network, bridge, one child, last) and at most 2^64 (so an
 * IPv6 node_len is 64 or more). Returns 0 or -EINVAL with err naming the
 * value and the rule. */
int ipam_spec_check(const struct ipam_family_spec *fs, char *err,
		    size_t errlen);

/* Writes "PREFIX:CONDUIT_LEN:NODE_LEN" into buf. 0 or -ENOSPC. */
int ipam_spec_format(const struct ipam_family_spec *fs, char *buf,
		     size_t size);

/* Checks a trench, conduit, node or child name: 1..IPAM_NAME_MAX bytes, no
 * space, '/', '|' or control character (below 0x20, or 0x7f). Returns 0
 * or -EINVAL with err saying, for example, `child name "a b" holds a
 * space`; what is "child", "trench", ...; unprintable bytes of the name
 * are shown as \xNN and a long name is cut. */
int ipam_name_check(const char *what, const char *name, char *err,
		    size_t errlen);

#endif
