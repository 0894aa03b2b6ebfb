#include "rows.h"

#include <errno.h>
#include <stdlib.h>

int ipam_changes_add(struct ipam_changes *c, const struct ipam_row *row)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 8;
		struct ipam_row *rows = realloc(c->rows, cap * sizeof(*rows));
		if (!rows)
			return -ENOMEM;
		c->rows = rows;
		c->cap = cap;
	}
	c->rows[c->n++] = *row;
	return 0;
}

void ipam_changes_reset(struct ipam_changes *c)
{
	c->n = 0;
}

void ipam_changes_free(struct ipam_changes *c)
{
	free(c->rows);
	c->rows = NULL;
	c->n = c->cap = 0;
}
