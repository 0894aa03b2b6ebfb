/* An intrusive doubly linked list, circular with a head node.
 *
 * The owner embeds a struct list_node in each element and one as the head;
 * list_entry() turns a node back into its element. No allocation, O(1)
 * add and delete, and deleting the element being visited is safe with
 * list_for_each_safe. A head must be list_init()ed before use. */
#ifndef STRAIT_LIST_H
#define STRAIT_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_node {
	struct list_node *prev, *next;
};

static inline void list_init(struct list_node *head)
{
	head->prev = head->next = head;
}

static inline bool list_empty(const struct list_node *head)
{
	return head->next == head;
}

/* Adds n at the front of the list. */
static inline void list_add(struct list_node *head, struct list_node *n)
{
	n->next = head->next;
	n->prev = head;
	head->next->prev = n;
	head->next = n;
}

static inline void list_del(struct list_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

#define list_entry(ptr, type, member)                                          \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Visits every node; pos may be deleted (not its successor) in the body. */
#define list_for_each_safe(pos, tmp, head)                                     \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);       \
	     (pos) = (tmp), (tmp) = (pos)->next)

#endif
