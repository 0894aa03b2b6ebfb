/* Aligned text tables. See table.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

#define TABLE_MAX_COLS 16

void ctl_table_init(struct ctl_table *t, size_t cols)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
}

int ctl_table_add(struct ctl_table *t, const char *const *cells)
{
	if (t->rows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		char **n = realloc(t->cells, cap * t->cols * sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->cells = n;
		t->cap = cap;
	}
	char **row = t->cells + t->rows * t->cols;
	for (size_t c = 0; c < t->cols; c++) {
		const char *v = cells[c] && cells[c][0] ? cells[c] : "-";
		row[c] = strdup(v);
		if (!row[c]) {
			while (c--)
				free(row[c]);
			return -ENOMEM;
		}
	}
	t->rows++;
	return 0;
}

int ctl_put_text(struct buf *out, const char *s)
{
	int err = 0;
	for (; *s && !err; s++) {
		unsigned char ch = (unsigned char)*s;
		err = buf_putc(out, ch < 0x20 || ch == 0x7f ? '?' : (char)ch);
	}
	return err;
}

int ctl_table_render(const struct ctl_table *t, struct buf *out,
		     const char *indent)
{
	size_t width[TABLE_MAX_COLS] = {0};
	size_t cols = t->cols < TABLE_MAX_COLS ? t->cols : TABLE_MAX_COLS;
	for (size_t r = 0; r < t->rows; r++) {
		for (size_t c = 0; c < cols; c++) {
			size_t n = strlen(t->cells[r * t->cols + c]);
			if (n > width[c])
				width[c] = n;
		}
	}
	int err = 0;
	for (size_t r = 0; r < t->rows && !err; r++) {
		err = buf_puts(out, indent);
		for (size_t c = 0; c < cols && !err; c++) {
			const char *v = t->cells[r * t->cols + c];
			err = ctl_put_text(out, v);
			if (c + 1 < cols)
				for (size_t n = strlen(v);
				     n < width[c] + 2 && !err; n++)
					err = buf_putc(out, ' ');
		}
		if (!err)
			err = buf_putc(out, '\n');
	}
	return err;
}

void ctl_table_free(struct ctl_table *t)
{
	for (size_t i = 0; i < t->rows * t->cols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}
