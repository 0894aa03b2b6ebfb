/* Mark blocks: which firewall marks (and routing tables) each stream owns.
 * Pure; no I/O.
 *
 * As in Meridio, a stream owns the marks offset + 1 .. offset + max_targets,
 * and the target with identifier i is reached with mark offset + i, which is
 * also the number of the routing table "ip rule fwmark M lookup M" sends it
 * to. All blocks lie inside the LB's range [base, base + span), so that a
 * restart can remove everything an earlier run installed by range.
 *
 * A stream keeps its block for as long as it exists with the same
 * max_targets: adding or removing other streams never moves it, so the
 * marks, rules and routes of unrelated streams stay as they are. A new
 * stream takes the lowest gap that fits (first fit). Each stream also gets a
 * uid, a number never reused during the LB's life, which connection- and
 * fragment-table entries carry so that a stream removed and added again is
 * never mistaken for the old one.
 */
#ifndef STRAIT_LB_MARKS_H
#define STRAIT_LB_MARKS_H

#include <stddef.h>
#include <stdint.h>

struct lb_mark_block {
	char *name;	      /* the stream */
	uint32_t uid;	      /* never reused; 1, 2, ... */
	uint32_t offset;      /* marks offset + 1 .. offset + max_targets */
	uint32_t max_targets;
};

struct lb_marks {
	uint32_t base, span;
	uint32_t next_uid;
	size_t n;
	struct lb_mark_block *blocks; /* sorted by offset */
};

/* An empty allocator for [base, base + span). span >= 2. */
void lb_marks_init(struct lb_marks *m, uint32_t base, uint32_t span);
void lb_marks_free(struct lb_marks *m);

/* The block of stream name, reserving one when it has none or when its
 * max_targets changed (then it gets a new block and a new uid). Returns 0,
 * -ENOSPC when no gap of max_targets + 1 marks is left, -EINVAL for
 * max_targets 0, or -ENOMEM. *out points into m until the next change. */
int lb_marks_get(struct lb_marks *m, const char *name, uint32_t max_targets,
		 const struct lb_mark_block **out);

/* The block of stream name, or NULL. */
const struct lb_mark_block *lb_marks_find(const struct lb_marks *m,
					  const char *name);

/* Releases the blocks of every stream for which keep(name, data) is false.
 * Returns how many it released. */
size_t lb_marks_retain(struct lb_marks *m,
		       int (*keep)(const char *name, void *data), void *data);

#endif
