#include "spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errtext.h"

/* Enough for 40 bytes of a name shown as \xNN each, the quotes and "...". */
#define SHOWN_MAX 40
#define SHOW_SIZE (4 * SHOWN_MAX + 8)

/* Quotes a name for a message: unprintable bytes as \xNN (a message may go
 * to a terminal or a log line), and at most SHOWN_MAX bytes of it. */
static const char *show(const char *name, char *buf)
{
	size_t o = 0;
	buf[o++] = '"';
	size_t i;
	for (i = 0; name[i] && i < SHOWN_MAX; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			o += (size_t)sprintf(buf + o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o++] = '"';
	if (name[i])
		o += (size_t)sprintf(buf + o, "...");
	buf[o] = '\0';
	return buf;
}

int ipam_name_check(const char *what, const char *name, char *err,
		    size_t errlen)
{
	char b[SHOW_SIZE];
	if (!name || !name[0])
		return errtext(-EINVAL, err, errlen, "%s name is empty", what);
	size_t len = strnlen(name, IPAM_NAME_MAX + 1);
	if (len > IPAM_NAME_MAX)
		return errtext(-EINVAL, err, errlen,
			       "%s name %s is over %d bytes", what,
			       show(name, b), IPAM_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		const char *bad = NULL;
		if (c < 0x20 || c == 0x7f)
			bad = "a control character";
		else if (c == ' ')
			bad = "a space";
		else if (c == '/')
			bad = "'/'";
		else if (c == '|')
			bad = "'|'";
		if (bad)
			return errtext(-EINVAL, err, errlen,
				       "%s name %s holds %s", what,
				       show(name, b), bad);
	}
	return 0;
}

int ipam_spec_check(const struct ipam_family_spec *fs, char *err,
		    size_t errlen)
{
	char p[CIDR_STRLEN];
	const struct cidr *c = &fs->prefix;
	if (c->family != AF_INET && c->family != AF_INET6)
		return errtext(-EINVAL, err, errlen,
			       "the prefix has no address family");
	unsigned width = cidr_width(c);
	if (c->len > width || cidr_format(c, p, sizeof(p)) < 0)
		return errtext(-EINVAL, err, errlen,
			       "prefix length /%u is over %u bits", c->len,
			       width);
	struct cidr masked = *c;
	cidr_mask(&masked);
	if (!cidr_equal(&masked, c)) {
		char m[CIDR_STRLEN];
		cidr_format(&masked, m, sizeof(m));
		return errtext(-EINVAL, err, errlen,
			       "prefix %s has host bits set (the network is %s)",
			       p, m);
	}
	if (fs->conduit_len <= c->len)
		return errtext(-EINVAL, err, errlen,
			       "conduit length /%u of %s is not longer than the "
			       "prefix",
			       fs->conduit_len, p);
	if (fs->node_len <= fs->conduit_len)
		return errtext(-EINVAL, err, errlen,
			       "node length /%u of %s is not longer than the "
			       "conduit length /%u",
			       fs->node_len, p, fs->conduit_len);
	if (fs->node_len > width - 2)
		return errtext(-EINVAL, err, errlen,
			       "node length /%u of %s leaves fewer than 4 "
			       "addresses per node (at most /%u)",
			       fs->node_len, p, width - 2);
	if (width - fs->node_len > 64)
		return errtext(-EINVAL, err, errlen,
			       "node length /%u of %s gives more than 2^64 "
			       "addresses per node (at least /%u)",
			       fs->node_len, p, width - 64);
	return 0;
}

int ipam_spec_format(const struct ipam_family_spec *fs, char *buf,
		     size_t size)
{
	char p[CIDR_STRLEN];
	if (cidr_format(&fs->prefix, p, sizeof(p)) < 0)
		return -ENOSPC;
	int n = snprintf(buf, size, "%s:%u:%u", p, fs->conduit_len,
			 fs->node_len);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

/* A length: 1 to 3 decimal digits, nothing else (strtoul would take "+8",
 * " 8" and "0x8"). */
static int parse_len(const char *s, size_t n, unsigned *out)
{
	if (n == 0 || n > 3 || strspn(s, "0123456789") < n)
		return -EINVAL;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	*out = v;
	return 0;
}

int ipam_spec_parse(const char *s, struct ipam_spec *out, char *err,
		    size_t errlen)
{
	char b[SHOW_SIZE], b2[SHOW_SIZE];
	struct ipam_spec sp;
	memset(&sp, 0, sizeof(sp));
	const char *rest = s;
	const char *eq = strrchr(s, '=');
	if (eq) {
		size_t n = (size_t)(eq - s);
		if (n == 0)
			return errtext(-EINVAL, err, errlen,
				       "spec %s: the trench name before '=' "
				       "is empty",
				       show(s, b));
		if (n > IPAM_NAME_MAX)
			return errtext(-EINVAL, err, errlen,
				       "spec %s: the trench name is over %d "
				       "bytes",
				       show(s, b), IPAM_NAME_MAX);
		memcpy(sp.trench, s, n);
		sp.trench[n] = '\0';
		int rc = ipam_name_check("trench", sp.trench, err, errlen);
		if (rc < 0)
			return rc;
		rest = eq + 1;
	}
	/* From the right: an IPv6 prefix is full of colons. */
	const char *c2 = strrchr(rest, ':');
	const char *c1 = NULL;
	if (c2)
		for (const char *q = c2; q > rest;)
			if (*--q == ':') {
				c1 = q;
				break;
			}
	if (!c1)
		return errtext(-EINVAL, err, errlen,
			       "spec %s is not [TRENCH=]PREFIX:CONDUIT_LEN:"
			       "NODE_LEN",
			       show(s, b));
	size_t plen = (size_t)(c1 - rest);
	char prefix[CIDR_STRLEN];
	if (plen >= sizeof(prefix))
		return errtext(-EINVAL, err, errlen,
			       "spec %s: the prefix is too long", show(s, b));
	memcpy(prefix, rest, plen);
	prefix[plen] = '\0';
	if (cidr_parse(prefix, &sp.fs.prefix) < 0)
		return errtext(-EINVAL, err, errlen,
			       "spec %s: prefix %s is not ADDRESS/LENGTH",
			       show(s, b), show(prefix, b2));
	unsigned width = cidr_width(&sp.fs.prefix), clen, nlen;
	if (parse_len(c1 + 1, (size_t)(c2 - c1 - 1), &clen) < 0 ||
	    clen > width)
		return errtext(-EINVAL, err, errlen,
			       "spec %s: the conduit length is not a number "
			       "from 0 to %u",
			       show(s, b), width);
	if (parse_len(c2 + 1, strlen(c2 + 1), &nlen) < 0 || nlen > width)
		return errtext(-EINVAL, err, errlen,
			       "spec %s: the node length is not a number "
			       "from 0 to %u",
			       show(s, b), width);
	sp.fs.conduit_len = (uint8_t)clen;
	sp.fs.node_len = (uint8_t)nlen;
	int rc = ipam_spec_check(&sp.fs, err, errlen);
	if (rc < 0)
		return rc;
	*out = sp;
	return 0;
}
