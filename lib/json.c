#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define LEVEL_OBJECT 0x1
#define LEVEL_FILLED 0x2

void json_init(struct json *j, struct buf *out, unsigned flags)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->flags = flags;
}

static int fail(struct json *j, int err)
{
	if (!j->err)
		j->err = err;
	return j->err;
}

static int put(struct json *j, const char *s, size_t n)
{
	int err = buf_append(j->out, s, n);
	return err ? fail(j, err) : 0;
}

static int newline(struct json *j, unsigned depth)
{
	static const char spaces[] = "                                ";

	if (!(j->flags & JSON_PRETTY))
		return 0;
	if (put(j, "\n", 1))
		return j->err;
	for (unsigned i = 0; i < depth; i++)
		if (put(j, spaces, 2))
			return j->err;
	return 0;
}

static bool in_object(const struct json *j)
{
	return j->depth && (j->level[j->depth - 1] & LEVEL_OBJECT);
}

/* Everything that precedes a member: the comma after the previous one and,
 * in pretty mode, the line break and indentation. */
static int separate(struct json *j)
{
	uint8_t *level = &j->level[j->depth - 1];

	if ((*level & LEVEL_FILLED) && put(j, ",", 1))
		return j->err;
	*level |= LEVEL_FILLED;
	return newline(j, j->depth);
}

/* Checks that a value may come here and writes what goes before it. */
static int before_value(struct json *j)
{
	if (j->err)
		return j->err;
	if (j->done)
		return fail(j, -EINVAL);
	if (in_object(j)) {
		if (!j->want_value)
			return fail(j, -EINVAL);
		j->want_value = false;
		return 0;
	}
	return j->depth ? separate(j) : 0;
}

static void after_value(struct json *j)
{
	if (!j->err && j->depth == 0)
		j->done = true;
}

static int begin(struct json *j, uint8_t kind, char open)
{
	if (before_value(j))
		return j->err;
	if (j->depth == JSON_MAX_DEPTH)
		return fail(j, -E2BIG);
	if (put(j, &open, 1))
		return j->err;
	j->level[j->depth++] = kind;
	return 0;
}

static int end(struct json *j, uint8_t kind, char close)
{
	if (j->err)
		return j->err;
	if (!j->depth || (j->level[j->depth - 1] & LEVEL_OBJECT) != kind ||
	    j->want_value)
		return fail(j, -EINVAL);
	uint8_t level = j->level[--j->depth];
	/* An empty container stays on one line: "{}" rather than "{\n}". */
	if ((level & LEVEL_FILLED) && newline(j, j->depth))
		return j->err;
	if (put(j, &close, 1))
		return j->err;
	after_value(j);
	return 0;
}

int json_object_begin(struct json *j)
{
	return begin(j, LEVEL_OBJECT, '{');
}

int json_object_end(struct json *j)
{
	return end(j, LEVEL_OBJECT, '}');
}

int json_array_begin(struct json *j)
{
	return begin(j, 0, '[');
}

int json_array_end(struct json *j)
{
	return end(j, 0, ']');
}

/* The length of the valid UTF-8 sequence at s (2 to 4), or 0 when the bytes
 * there do not form one. Follows RFC 3629's table: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong below U+0800 */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates U+D800..U+DFFF */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong below U+10000 */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* The letter of JSON's two-character escape for c, or 0 if it has none. */
static char short_escape(unsigned char c)
{
	switch (c) {
	case '"':
		return '"';
	case '\\':
		return '\\';
	case '\b':
		return 'b';
	case '\f':
		return 'f';
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	case '\t':
		return 't';
	default:
		return 0;
	}
}

static int put_escaped(struct json *j, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t run = 0; /* bytes before s[i] that go out unchanged */

	if (put(j, "\"", 1))
		return j->err;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		char esc[6] = {'\\', 'u', '0', '0'};
		const char *rep = esc;
		size_t replen, len = 1;

		if (c >= 0x80)
			len = utf8_len(s + i, n - i);
		if ((c >= 0x20 && c < 0x80 && !short_escape(c)) || len > 1) {
			run += len;
			i += len;
			continue;
		}
		if (c >= 0x80) {
			len = 1;
			rep = "\xef\xbf\xbd"; /* U+FFFD */
			replen = 3;
		} else if (short_escape(c)) {
			esc[1] = short_escape(c);
			replen = 2;
		} else {
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			replen = 6;
		}
		/* One append per run of unchanged bytes, not one per byte. */
		if (put(j, str + i - run, run) || put(j, rep, replen))
			return j->err;
		run = 0;
		i += len;
	}
	if (put(j, str + n - run, run) || put(j, "\"", 1))
		return j->err;
	return 0;
}

int json_key(struct json *j, const char *key)
{
	if (j->err)
		return j->err;
	if (!in_object(j) || j->want_value)
		return fail(j, -EINVAL);
	if (separate(j) || put_escaped(j, key, strlen(key)))
		return j->err;
	if (j->flags & JSON_PRETTY ? put(j, ": ", 2) : put(j, ":", 1))
		return j->err;
	j->want_value = true;
	return 0;
}

/* Writes a token that is a complete value by itself. */
static int scalar(struct json *j, const char *s, size_t n)
{
	if (before_value(j) || put(j, s, n))
		return j->err;
	after_value(j);
	return 0;
}

int json_string_len(struct json *j, const char *s, size_t n)
{
	if (before_value(j) || put_escaped(j, s, n))
		return j->err;
	after_value(j);
	return 0;
}

int json_string(struct json *j, const char *s)
{
	return s ? json_string_len(j, s, strlen(s)) : json_null(j);
}

int json_int(struct json *j, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
	return scalar(j, tmp, (size_t)n);
}

int json_uint(struct json *j, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	return scalar(j, tmp, (size_t)n);
}

int json_bool(struct json *j, bool v)
{
	return v ? scalar(j, "true", 4) : scalar(j, "false", 5);
}

int json_null(struct json *j)
{
	return scalar(j, "null", 4);
}

int json_double(struct json *j, double v)
{
	if (!isfinite(v))
		return json_null(j);
	if (before_value(j))
		return j->err;
	int err = buf_put_double(j->out, v);
	if (err)
		return fail(j, err);
	after_value(j);
	return 0;
}

int json_finish(const struct json *j)
{
	if (j->err)
		return j->err;
	return j->done ? 0 : -EINVAL;
}
