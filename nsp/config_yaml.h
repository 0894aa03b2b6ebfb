/* One YAML document as a small tree, for the configuration parser.
 *
 * libyaml's event parser fills the tree; nothing else of YAML is kept.
 * The tree is bounded so that hostile input cannot exhaust the stack or
 * the memory: at most NSP_YAML_MAX_DEPTH levels of nesting and
 * NSP_YAML_MAX_NODES nodes; aliases ("*name") are refused, so a document
 * can never expand beyond its own size. Pure: no I/O, no logging.
 *
 *   mapping { key0: value0, key1: value1 }  ->  kids = key0 value0 key1 value1
 *   sequence [ a, b ]                       ->  kids = a b
 *   scalar                                  ->  text (NUL-terminated)
 */
#ifndef STRAIT_NSP_CONFIG_YAML_H
#define STRAIT_NSP_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>

#define NSP_YAML_MAX_DEPTH 16
#define NSP_YAML_MAX_NODES (1u << 20)

enum nsp_yaml_type { NSP_YAML_SCALAR, NSP_YAML_SEQ, NSP_YAML_MAP };

struct nsp_yaml_node {
	enum nsp_yaml_type type;
	unsigned line, column; /* where the node starts, both from 1 */
	bool plain;	       /* a scalar written without quotes */
	char *text;	       /* scalar: the value; it never holds a NUL */
	size_t len;	       /* scalar: strlen(text) */
	struct nsp_yaml_node **kids;
	size_t n_kids; /* a mapping's kids alternate key and value */
	size_t cap;
};

/* Parses text (len bytes, need not be NUL-terminated) as at most one YAML
 * document. *out receives the root node, which the caller frees with
 * nsp_yaml_free(), or NULL when the text holds no document (empty, or only
 * comments). Mapping keys are always scalars.
 * Returns 0, or -EINVAL with a message in err such as "invalid YAML at line
 * 3, column 5: mapping values are not allowed in this context", or -ENOMEM.
 */
int nsp_yaml_parse(const char *text, size_t len, struct nsp_yaml_node **out,
		   char *err, size_t errlen);

/* Frees a tree from nsp_yaml_parse(). NULL is allowed. */
void nsp_yaml_free(struct nsp_yaml_node *root);

/* True for a plain scalar that YAML reads as null: "", "~", "null",
 * "Null" or "NULL". A field given such a value counts as absent. */
bool nsp_yaml_is_null(const struct nsp_yaml_node *n);

/* The value of key in a mapping, or NULL when absent or map is not a
 * mapping. */
const struct nsp_yaml_node *nsp_yaml_get(const struct nsp_yaml_node *map,
					 const char *key);

#endif
