#include "match.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum match_proto proto;
} protos[] = {
    {"tcp", MATCH_PROTO_TCP},	    {"udp", MATCH_PROTO_UDP},
    {"sctp", MATCH_PROTO_SCTP},	    {"icmp", MATCH_PROTO_ICMP},
    {"icmpv6", MATCH_PROTO_ICMPV6},
};

#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

static void set_why(const char **why, const char *reason)
{
	if (why)
		*why = reason;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_space(const char *p)
{
	while (is_space(*p))
		p++;
	return p;
}

/* Reads a decimal number of at most ten digits without a sign or leading
 * zeros. strtoul is not used: it takes signs, spaces and "0x", and its
 * overflow rule depends on the width of long. */
static int read_decimal(const char **pp, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	size_t n = 0;

	while (is_digit(p[n])) {
		if (n == 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(p[n] - '0');
		n++;
	}
	if (n == 0 || (n > 1 && p[0] == '0'))
		return -EINVAL;
	*pp = p + n;
	*out = v;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads a decimal number or "0x" and one to eight hex digits (leading
 * zeros allowed there: "0x00ff" says the width). */
static int read_number(const char **pp, uint64_t *out)
{
	const char *p = *pp;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		uint64_t v = 0;
		size_t n = 0;
		int d;

		p += 2;
		while ((d = hex_digit(p[n])) >= 0) {
			if (n == 8)
				return -EINVAL;
			v = v << 4 | (uint64_t)d;
			n++;
		}
		if (n == 0)
			return -EINVAL;
		*pp = p + n;
		*out = v;
		return 0;
	}
	return read_decimal(pp, out);
}

int match_port_range_parse(const char *s, struct port_range *out,
			   const char **why)
{
	uint64_t lo, hi;
	const char *p = s;

	set_why(why, NULL);
	if (*s == '\0') {
		set_why(why, "empty");
		return -EINVAL;
	}
	if (strcmp(s, "any") == 0) {
		*out = (struct port_range){0, 65535};
		return 0;
	}
	if (read_decimal(&p, &lo) < 0 || lo > 65535)
		return -EINVAL;
	hi = lo;
	if (*p == '-') {
		p++;
		if (read_decimal(&p, &hi) < 0 || hi > 65535)
			return -EINVAL;
		if (lo > hi) {
			set_why(why, "first port above last");
			return -EINVAL;
		}
	}
	if (*p != '\0')
		return -EINVAL;
	*out = (struct port_range){(uint16_t)lo, (uint16_t)hi};
	return 0;
}

int match_port_range_format(const struct port_range *r, char *buf, size_t size)
{
	int n;

	if (r->lo == r->hi)
		n = snprintf(buf, size, "%u", r->lo);
	else
		n = snprintf(buf, size, "%u-%u", r->lo, r->hi);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

int match_proto_parse(const char *s, enum match_proto *out)
{
	for (size_t i = 0; i < NPROTOS; i++) {
		if (strcasecmp(s, protos[i].name) == 0) {
			*out = protos[i].proto;
			return 0;
		}
	}
	return -EINVAL;
}

const char *match_proto_name(enum match_proto p)
{
	for (size_t i = 0; i < NPROTOS; i++)
		if (protos[i].proto == p)
			return protos[i].name;
	return NULL;
}

bool match_proto_has_ports(enum match_proto p)
{
	return p == MATCH_PROTO_TCP || p == MATCH_PROTO_UDP ||
	       p == MATCH_PROTO_SCTP;
}

/* Reads the protocol word in front of "[": lower case only, as in nfqlb,
 * because the byte match is a filter expression rather than a name. */
static int read_l4(const char **pp, enum match_proto *out)
{
	const char *p = *pp;
	size_t n = 0;

	while (p[n] >= 'a' && p[n] <= 'z')
		n++;
	while (n > 0 && p[n] >= '0' && p[n] <= '9')
		n++;
	for (size_t i = 0; i < NPROTOS; i++) {
		if (strlen(protos[i].name) == n &&
		    memcmp(p, protos[i].name, n) == 0) {
			*out = protos[i].proto;
			*pp = p + n;
			return 0;
		}
	}
	return -EINVAL;
}

static bool expect(const char **pp, char c)
{
	const char *p = skip_space(*pp);

	if (*p != c)
		return false;
	*pp = skip_space(p + 1);
	return true;
}

static uint32_t full_mask(uint8_t len)
{
	return len >= 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
}

int match_byte_parse(const char *s, struct byte_match *out, const char **why)
{
	struct byte_match m;
	uint64_t offset, len, value, mask = 0, limit;
	bool has_mask = false;
	const char *p = skip_space(s);

	set_why(why, NULL);
	if (read_l4(&p, &m.proto) < 0) {
		set_why(why, "protocol must be tcp, udp, sctp, icmp or icmpv6");
		return -EINVAL;
	}
	if (!expect(&p, '[') || read_decimal(&p, &offset) < 0 ||
	    !expect(&p, ':') || read_decimal(&p, &len) < 0 ||
	    !expect(&p, ']')) {
		set_why(why, "expected [offset:length]");
		return -EINVAL;
	}
	if (len != 1 && len != 2 && len != 4) {
		set_why(why, "length must be 1, 2 or 4");
		return -EINVAL;
	}
	if (offset + len > 65535) {
		set_why(why, "offset beyond 65535 bytes");
		return -EINVAL;
	}
	if (expect(&p, '&')) {
		if (read_number(&p, &mask) < 0) {
			set_why(why, "mask is not a number");
			return -EINVAL;
		}
		has_mask = true;
	}
	if (!expect(&p, '=')) {
		set_why(why, "expected \"=\"");
		return -EINVAL;
	}
	if (read_number(&p, &value) < 0) {
		set_why(why, "value is not a number");
		return -EINVAL;
	}
	if (expect(&p, '&')) {
		if (has_mask) {
			set_why(why, "more than one mask");
			return -EINVAL;
		}
		if (read_number(&p, &mask) < 0) {
			set_why(why, "mask is not a number");
			return -EINVAL;
		}
		has_mask = true;
	}
	p = skip_space(p);
	if (*p != '\0') {
		set_why(why, "unexpected text after the match");
		return -EINVAL;
	}
	limit = full_mask((uint8_t)len);
	if (!has_mask)
		mask = limit;
	if (value > limit) {
		set_why(why, "value does not fit in length bytes");
		return -EINVAL;
	}
	if (mask > limit) {
		set_why(why, "mask does not fit in length bytes");
		return -EINVAL;
	}
	if (mask == 0) {
		set_why(why, "mask is zero, so it would match everything");
		return -EINVAL;
	}
	if (value & ~mask) {
		set_why(why, "value has bits outside the mask, so it never "
			     "matches");
		return -EINVAL;
	}
	m.offset = (uint16_t)offset;
	m.len = (uint8_t)len;
	m.value = (uint32_t)value;
	m.mask = (uint32_t)mask;
	*out = m;
	return 0;
}

int match_byte_format(const struct byte_match *m, char *buf, size_t size)
{
	const char *name = match_proto_name(m->proto);
	int n;

	if (!name)
		name = "?";
	if (m->mask == full_mask(m->len))
		n = snprintf(buf, size, "%s[%u:%u] = %u", name, m->offset,
			     m->len, m->value);
	else
		n = snprintf(buf, size, "%s[%u:%u] & 0x%x = %u", name,
			     m->offset, m->len, m->mask, m->value);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

bool match_byte_test(const struct byte_match *m, const uint8_t *l4,
		     size_t l4len)
{
	uint32_t v = 0;

	if ((size_t)m->offset + m->len > l4len)
		return false;
	for (uint8_t i = 0; i < m->len; i++)
		v = v << 8 | l4[m->offset + i];
	return (v & m->mask) == m->value;
}
