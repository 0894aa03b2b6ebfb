/* Aligned text tables for straitctl's human output.
 *
 *	IDENT  TYPE    STREAM
 *	3      target  trench-a/lb/stream-a
 *
 * Cells are copied in; columns are as wide as their widest cell (counted
 * in bytes, which is right for the ASCII names strait uses) and separated
 * by two spaces; the last column is not padded. An empty cell prints "-".
 * Control characters in cells are printed as '?', so a value from the
 * network cannot drive the terminal.
 */
#ifndef STRAIT_CTL_TABLE_H
#define STRAIT_CTL_TABLE_H

#include <stddef.h>

#include "buf.h"

struct ctl_table {
	size_t cols;
	size_t rows;
	size_t cap;   /* rows allocated */
	char **cells; /* rows * cols, owned */
};

/* An empty table of cols columns (1..16). */
void ctl_table_init(struct ctl_table *t, size_t cols);

/* Appends a row of t->cols cells (NULL cells print "-"). Returns 0 or
 * -ENOMEM (the table is unchanged then). */
int ctl_table_add(struct ctl_table *t, const char *const *cells);

/* Appends the table to out, each line starting with indent. Returns 0 or
 * -ENOMEM. */
int ctl_table_render(const struct ctl_table *t, struct buf *out,
		     const char *indent);

void ctl_table_free(struct ctl_table *t);

/* Appends s with control characters replaced by '?'. Returns 0 or
 * -ENOMEM. */
int ctl_put_text(struct buf *out, const char *s);

#endif
