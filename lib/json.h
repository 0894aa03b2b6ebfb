/* A streaming JSON writer over struct buf, for --json output and status.
 *
 * The writer appends one JSON value (usually an object) to a caller's
 * buffer as calls arrive; it places commas, colons and, in pretty mode,
 * newlines and indentation itself. It never allocates beyond the buffer.
 *
 *	struct buf out = { 0 };
 *	struct json j;
 *	json_init(&j, &out, 0);
 *	json_object_begin(&j);
 *	json_key(&j, "vip");
 *	json_string(&j, "198.18.0.1");
 *	json_key(&j, "targets");
 *	json_uint(&j, 3);
 *	json_object_end(&j);
 *	if (json_finish(&j) == 0)
 *		puts(out.data);          // {"vip":"198.18.0.1","targets":3}
 *	buf_free(&out);
 *
 * Errors are sticky: the first one is kept in the writer, every later call
 * does nothing and returns it, and json_finish() reports it. So a caller
 * may check each call or only json_finish(). The errors are -ENOMEM (the
 * buffer could not grow), -EINVAL (a call out of place: a value in an
 * object without a key, a key in an array, an end that does not match its
 * begin, a second top-level value) and -E2BIG (nesting deeper than
 * JSON_MAX_DEPTH). After an error the buffer holds a partial document.
 *
 * Strings are written with full escaping: the quote, the backslash and all
 * control characters below 0x20 (as \b \f \n \r \t where JSON names them,
 * otherwise as \u00XX). Valid UTF-8 passes through unchanged; each byte of
 * an invalid sequence (overlong forms, surrogates, code points above
 * U+10FFFF, stray continuation bytes, truncated sequences) becomes
 * U+FFFD, so the output is always valid UTF-8 and valid JSON.
 */
#ifndef STRAIT_JSON_H
#define STRAIT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JSON_MAX_DEPTH 32

/* Flags for json_init(). Without JSON_PRETTY the output is one line with no
 * spaces, which is what line-oriented watch output needs. */
#define JSON_PRETTY 0x1 /* newline and 2-space indent per level, ": " */

struct json {
	struct buf *out; /* not owned */
	unsigned flags;
	int err;	 /* first error, sticky */
	unsigned depth;	 /* open containers */
	bool want_value; /* a key was written; its value comes next */
	bool done;	 /* the top-level value is complete */
	/* Per open container: bit 0 set for an object, bit 1 set once it
	 * holds a member (so the next one needs a comma). */
	uint8_t level[JSON_MAX_DEPTH];
};

/* Starts a writer that appends to out. The writer holds out until the
 * caller is done with it; it does not own or free it. */
void json_init(struct json *j, struct buf *out, unsigned flags);

/* Each of these writes one token and returns the writer's error: 0, or the
 * first error so far (see above). */
int json_object_begin(struct json *j);
int json_object_end(struct json *j);
int json_array_begin(struct json *j);
int json_array_end(struct json *j);

/* A member name inside an object; the next call must write its value. */
int json_key(struct json *j, const char *key);

/* A string from a C string; NULL writes null. */
int json_string(struct json *j, const char *s);
/* A string of n bytes, which may contain NUL (written as \u0000). */
int json_string_len(struct json *j, const char *s, size_t n);

int json_int(struct json *j, int64_t v);
int json_uint(struct json *j, uint64_t v);
int json_bool(struct json *j, bool v);
int json_null(struct json *j);

/* The shortest form that reads back as the same double (see
 * buf_put_double). NaN and the infinities have no JSON form; they are
 * written as null. */
int json_double(struct json *j, double v);

/* Returns the writer's error, or -EINVAL when the document is incomplete
 * (a container still open, a key without its value, nothing written). */
int json_finish(const struct json *j);

#endif
