/* A growable byte buffer.
 *
 * A zero-initialised struct buf is empty and valid; its data is NULL until
 * the first successful append. After any successful append, data[len] is a
 * NUL byte, so data can be used as a C string as long as nothing with an
 * embedded NUL was appended; buf_str() also covers the still-empty case.
 *
 *   data ──> [ len bytes in use | NUL | spare ... ]   cap bytes in all
 *
 * The buffer owns data; buf_free() releases it. A failed call leaves the
 * buffer exactly as it was (same data, same len, still NUL-terminated).
 * Arguments must not point into the buffer they are appended to: a growth
 * may move data.
 */
#ifndef STRAIT_BUF_H
#define STRAIT_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NULL or cap bytes, NUL-terminated at len */
	size_t len; /* bytes in use, not counting the NUL */
	size_t cap; /* bytes allocated */
};

/* Makes room for at least extra more bytes plus the NUL, so that the next
 * appends of up to extra bytes cannot fail. Returns 0 or -ENOMEM. */
int buf_reserve(struct buf *b, size_t extra);

/* Appends n bytes from p (n may be 0). Returns 0 or -ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t n);

/* Appends the C string s without its NUL. Returns 0 or -ENOMEM. */
int buf_puts(struct buf *b, const char *s);

/* Appends one byte. Returns 0 or -ENOMEM. */
int buf_putc(struct buf *b, char c);

/* Appends printf-formatted text. Returns 0, -ENOMEM, or -EINVAL when the
 * format cannot be rendered (vsnprintf failed). Numbers follow LC_NUMERIC;
 * strait daemons never call setlocale, so that is the "C" locale. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Appends v in the shortest "%.15g" to "%.17g" form that reads back as the
 * same double, except that integral values of magnitude below 2^53 are
 * written as plain integers ("12345678", never "1.2345678e+07"). Non-finite
 * values are written as printf writes them ("nan", "inf"); callers whose
 * format spells them differently handle them first. Returns 0 or -ENOMEM. */
int buf_put_double(struct buf *b, double v);

/* The contents as a C string: data, or "" while nothing was appended. */
const char *buf_str(const struct buf *b);

/* Empties the buffer but keeps its memory for reuse. */
void buf_reset(struct buf *b);

/* Releases the memory and leaves the buffer empty and valid. */
void buf_free(struct buf *b);

#endif
