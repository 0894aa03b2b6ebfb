#include "config_yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct builder {
	struct nsp_yaml_node *root;
	struct nsp_yaml_node *stack[NSP_YAML_MAX_DEPTH];
	size_t depth;
	size_t nodes;
	unsigned documents;
	char *err;
	size_t errlen;
};

static int fail_at(struct builder *b, const yaml_mark_t *m, const char *fmt,
		   ...) __attribute__((format(printf, 3, 4)));

static int fail_at(struct builder *b, const yaml_mark_t *m, const char *fmt,
		   ...)
{
	va_list ap;
	int n = 0;

	if (b->errlen == 0)
		return -EINVAL;
	if (m)
		n = snprintf(b->err, b->errlen,
			     "invalid YAML at line %zu, column %zu: ",
			     m->line + 1, m->column + 1);
	else
		n = snprintf(b->err, b->errlen, "invalid YAML: ");
	if (n < 0 || (size_t)n >= b->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(b->err + n, b->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void nsp_yaml_free(struct nsp_yaml_node *n)
{
	/* The depth is bounded by NSP_YAML_MAX_DEPTH, so recursion is safe. */
	if (!n)
		return;
	for (size_t i = 0; i < n->n_kids; i++)
		nsp_yaml_free(n->kids[i]);
	free(n->kids);
	free(n->text);
	free(n);
}

static int append(struct nsp_yaml_node *parent, struct nsp_yaml_node *kid)
{
	if (parent->n_kids == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 4;
		struct nsp_yaml_node **k =
		    realloc(parent->kids, cap * sizeof(*k));
		if (!k)
			return -ENOMEM;
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->n_kids++] = kid;
	return 0;
}

/* Hangs a new node under the innermost open collection, or makes it the
 * root. Takes ownership of n in every case. */
static int attach(struct builder *b, struct nsp_yaml_node *n,
		  const yaml_mark_t *m)
{
	struct nsp_yaml_node *parent;

	if (++b->nodes > NSP_YAML_MAX_NODES) {
		nsp_yaml_free(n);
		return fail_at(b, m, "more than %u nodes", NSP_YAML_MAX_NODES);
	}
	if (b->depth == 0) {
		if (b->root) { /* cannot happen: libyaml ends the document */
			nsp_yaml_free(n);
			return fail_at(b, m, "more than one root node");
		}
		b->root = n;
		return 0;
	}
	parent = b->stack[b->depth - 1];
	if (parent->type == NSP_YAML_MAP && parent->n_kids % 2 == 0 &&
	    n->type != NSP_YAML_SCALAR) {
		nsp_yaml_free(n);
		return fail_at(b, m, "a mapping key must be a plain value");
	}
	if (append(parent, n) < 0) {
		nsp_yaml_free(n);
		return -ENOMEM;
	}
	return 0;
}

static struct nsp_yaml_node *new_node(enum nsp_yaml_type type,
				      const yaml_mark_t *m)
{
	struct nsp_yaml_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->type = type;
	n->line = m->line + 1 > UINT32_MAX ? UINT32_MAX : (unsigned)m->line + 1;
	n->column =
	    m->column + 1 > UINT32_MAX ? UINT32_MAX : (unsigned)m->column + 1;
	return n;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
	const yaml_mark_t *m = &ev->start_mark;
	size_t len = ev->data.scalar.length;
	struct nsp_yaml_node *n;

	if (memchr(ev->data.scalar.value, '\0', len))
		return fail_at(b, m, "a value holds a NUL character");
	n = new_node(NSP_YAML_SCALAR, m);
	if (!n)
		return -ENOMEM;
	n->text = malloc(len + 1);
	if (!n->text) {
		free(n);
		return -ENOMEM;
	}
	memcpy(n->text, ev->data.scalar.value, len);
	n->text[len] = '\0';
	n->len = len;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	return attach(b, n, m);
}

static int on_start(struct builder *b, const yaml_event_t *ev,
		    enum nsp_yaml_type type)
{
	const yaml_mark_t *m = &ev->start_mark;
	struct nsp_yaml_node *n;
	int rc;

	if (b->depth == NSP_YAML_MAX_DEPTH)
		return fail_at(b, m, "nested deeper than %d levels",
			       NSP_YAML_MAX_DEPTH);
	n = new_node(type, m);
	if (!n)
		return -ENOMEM;
	rc = attach(b, n, m);
	if (rc < 0)
		return rc;
	b->stack[b->depth++] = n;
	return 0;
}

/* Handles one event; *done becomes true at the end of the stream. */
static int on_event(struct builder *b, const yaml_event_t *ev, bool *done)
{
	switch (ev->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
	case YAML_NO_EVENT:
		return 0;
	case YAML_STREAM_END_EVENT:
		*done = true;
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (++b->documents > 1)
			return fail_at(b, &ev->start_mark,
				       "more than one document");
		return 0;
	case YAML_ALIAS_EVENT:
		return fail_at(b, &ev->start_mark,
			       "aliases (*name) are not supported");
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(b, ev, NSP_YAML_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_start(b, ev, NSP_YAML_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0)
			b->depth--;
		return 0;
	}
	return 0;
}

int nsp_yaml_parse(const char *text, size_t len, struct nsp_yaml_node **out,
		   char *err, size_t errlen)
{
	struct builder b = {.err = err, .errlen = errlen};
	yaml_parser_t parser;
	bool done = false;
	int rc = 0;

	if (errlen > 0)
		err[0] = '\0';
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && rc == 0) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			if (parser.error == YAML_MEMORY_ERROR)
				rc = -ENOMEM;
			else
				rc = fail_at(&b, &parser.problem_mark, "%s",
					     parser.problem ? parser.problem
							    : "syntax error");
			break;
		}
		rc = on_event(&b, &ev, &done);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (rc < 0) {
		nsp_yaml_free(b.root);
		return rc;
	}
	*out = b.root;
	return 0;
}

bool nsp_yaml_is_null(const struct nsp_yaml_node *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	if (n->type != NSP_YAML_SCALAR || !n->plain)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(n->text, nulls[i]) == 0)
			return true;
	return false;
}

const struct nsp_yaml_node *nsp_yaml_get(const struct nsp_yaml_node *map,
					 const char *key)
{
	if (!map || map->type != NSP_YAML_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n_kids; i += 2)
		if (strcmp(map->kids[i]->text, key) == 0)
			return map->kids[i + 1];
	return NULL;
}
