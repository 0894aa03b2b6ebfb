/* Mark blocks, first fit. See marks.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "marks.h"

void lb_marks_init(struct lb_marks *m, uint32_t base, uint32_t span)
{
	memset(m, 0, sizeof(*m));
	m->base = base;
	m->span = span;
	m->next_uid = 1;
}

void lb_marks_free(struct lb_marks *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->blocks[i].name);
	free(m->blocks);
	m->blocks = NULL;
	m->n = 0;
}

const struct lb_mark_block *lb_marks_find(const struct lb_marks *m,
					  const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->blocks[i].name, name) == 0)
			return &m->blocks[i];
	return NULL;
}

static void drop(struct lb_marks *m, size_t i)
{
	free(m->blocks[i].name);
	memmove(&m->blocks[i], &m->blocks[i + 1],
		(m->n - i - 1) * sizeof(*m->blocks));
	m->n--;
}

/* A block [offset, offset + max_targets]: the offset itself is never a
 * target's mark, so blocks never share a number. */
static uint64_t block_end(const struct lb_mark_block *b)
{
	return (uint64_t)b->offset + b->max_targets + 1;
}

int lb_marks_get(struct lb_marks *m, const char *name, uint32_t max_targets,
		 const struct lb_mark_block **out)
{
	if (max_targets == 0)
		return -EINVAL;
	const struct lb_mark_block *have = lb_marks_find(m, name);
	if (have && have->max_targets == max_targets) {
		*out = have;
		return 0;
	}
	if (have)
		drop(m, (size_t)(have - m->blocks));

	uint64_t need = (uint64_t)max_targets + 1;
	uint64_t at = m->base, end = (uint64_t)m->base + m->span;
	size_t i = 0;
	for (; i < m->n; i++) {
		if (m->blocks[i].offset - at >= need)
			break;
		at = block_end(&m->blocks[i]);
	}
	if (at + need > end)
		return -ENOSPC;
	struct lb_mark_block *nb =
	    realloc(m->blocks, (m->n + 1) * sizeof(*m->blocks));
	if (!nb)
		return -ENOMEM;
	m->blocks = nb;
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	memmove(&m->blocks[i + 1], &m->blocks[i],
		(m->n - i) * sizeof(*m->blocks));
	m->blocks[i] = (struct lb_mark_block){
		.name = copy,
		.uid = m->next_uid++,
		.offset = (uint32_t)at,
		.max_targets = max_targets,
	};
	m->n++;
	*out = &m->blocks[i];
	return 0;
}

size_t lb_marks_retain(struct lb_marks *m,
		       int (*keep)(const char *name, void *data), void *data)
{
	size_t released = 0;
	for (size_t i = 0; i < m->n;) {
		if (keep(m->blocks[i].name, data)) {
			i++;
			continue;
		}
		drop(m, i);
		released++;
	}
	return released;
}
