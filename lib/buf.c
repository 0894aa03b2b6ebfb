#include "buf.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first allocation is small enough not to matter for the many short
 * buffers (log lines, labels) and large enough that they never grow. */
#define BUF_MIN_CAP 64

int buf_reserve(struct buf *b, size_t extra)
{
	/* No object may be larger than PTRDIFF_MAX; refusing here also keeps
	 * the sums below from overflowing. */
	if (extra >= PTRDIFF_MAX - b->len)
		return -ENOMEM;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;

	/* Doubling keeps a long run of appends linear in total. */
	size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
	while (cap < need)
		cap = cap > PTRDIFF_MAX / 2 ? need : cap * 2;

	char *data = realloc(b->data, cap);
	if (!data)
		return -ENOMEM;
	if (!b->data)
		data[0] = '\0';
	b->data = data;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	int err = buf_reserve(b, n);
	if (err)
		return err;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list again;
	size_t room = b->cap ? b->cap - b->len : 0;

	/* Try the spare room first; most formats fit and need one pass. */
	va_copy(again, ap);
	int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
	if (n < 0)
		goto fail_format;
	if ((size_t)n < room) {
		b->len += (size_t)n;
		va_end(again);
		return 0;
	}

	int err = buf_reserve(b, (size_t)n);
	if (err) {
		va_end(again);
		/* The first pass may have overwritten the terminator. */
		if (b->data)
			b->data[b->len] = '\0';
		return err;
	}
	n = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
	if (n < 0)
		goto fail_format;
	b->len += (size_t)n;
	va_end(again);
	return 0;

fail_format:
	va_end(again);
	if (b->data)
		b->data[b->len] = '\0';
	return -EINVAL;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int err = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return err;
}

int buf_put_double(struct buf *b, double v)
{
	char tmp[40];

	/* 2^53: below it every integer is exact, so "%.0f" loses nothing. */
	if (isfinite(v) && fabs(v) < 9007199254740992.0 && v == trunc(v)) {
		snprintf(tmp, sizeof(tmp), "%.0f", v);
		return buf_puts(b, tmp);
	}
	/* %.17g always round-trips but prints 0.1 as 0.10000000000000001;
	 * the shortest precision that reads back is what a human expects. */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (!isfinite(v) || strtod(tmp, NULL) == v)
			break;
	}
	return buf_puts(b, tmp);
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
