/* Applying the rules of config_rules.c to a YAML mapping: field lookup
 * through the protobuf-c descriptor, types, lists, required fields and
 * defaults, and the error messages. */
#include "config_item.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages ---- */

const char *cfg_quote(const char *text, char *buf, size_t size)
{
	size_t len = strlen(text), o = 0, keep = (size - 8) / 4;

	buf[o++] = '"';
	for (size_t i = 0; i < len && o + 6 < size; i++) {
		unsigned char ch = (unsigned char)text[i];

		/* Keep both ends of a long value: the start says what it is
		 * and the end is where a typo often hides. */
		if (len > 2 * keep && i == keep) {
			o += (size_t)snprintf(buf + o, size - o, "...");
			i = len - keep - 1;
			continue;
		}
		if (ch == '"' || ch == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

int cfg_fail(struct cfg_ctx *c, const struct nsp_yaml_node *at,
	     const char *field, const char *fmt, ...)
{
	size_t o = 0;
	va_list ap;

#define PUT(...)                                                               \
	do {                                                                   \
		if (o < c->errlen) {                                           \
			int n_ =                                               \
			    snprintf(c->err + o, c->errlen - o, __VA_ARGS__);  \
			o += n_ > 0 ? (size_t)n_ : 0;                          \
		}                                                              \
	} while (0)

	if (c->errlen == 0)
		return -EINVAL;
	PUT("%s: ", nsp_config_file[c->kind]);
	if (c->index && c->name)
		PUT("item %zu (%s): ", c->index, c->name);
	else if (c->index)
		PUT("item %zu: ", c->index);
	if (field)
		PUT("%s: ", field);
	if (o < c->errlen) {
		va_start(ap, fmt);
		int n = vsnprintf(c->err + o, c->errlen - o, fmt, ap);
		va_end(ap);
		o += n > 0 ? (size_t)n : 0;
	}
	if (at)
		PUT(" (line %u)", at->line);
#undef PUT
	return -EINVAL;
}

static int cmp_entry(const void *key, const void *elem)
{
	return strcmp(key, ((const struct cfg_entry *)elem)->name);
}

const struct cfg_entry *cfg_items_find(const struct cfg_items *items,
				       const char *name)
{
	if (items->n == 0)
		return NULL;
	return bsearch(name, items->v, items->n, sizeof(items->v[0]),
		       cmp_entry);
}

/* Reads a whole number in decimal: an optional "-", then digits without
 * leading zeros (YAML 1.1 would read "010" as octal; better to refuse). */
static int read_int(const char *s, int64_t *out)
{
	bool neg = *s == '-';
	const char *p = s + neg;
	size_t n = strspn(p, "0123456789");
	int64_t v = 0;

	if (n == 0 || n > 11 || p[n] != '\0' || (n > 1 && p[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (p[i] - '0');
	*out = neg ? -v : v;
	return 0;
}

static void *field_ptr(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	return (char *)msg + f->offset;
}

static int decode_scalar(struct cfg_ctx *c, const struct cfg_rule *r,
			 const ProtobufCFieldDescriptor *f,
			 const struct nsp_yaml_node *v, const char *field,
			 ProtobufCMessage *msg)
{
	char q[CFG_QUOTE], canon[NSP_CONFIG_MAX_TEXT + 1];
	int64_t x;
	int rc;

	if (v->type != NSP_YAML_SCALAR)
		return cfg_fail(c, v, field,
				"expected a single value, not a %s",
				v->type == NSP_YAML_MAP ? "mapping" : "list");
	cfg_quote(v->text, q, sizeof(q));
	switch (r->check) {
	case CK_BOOL:
		if (!strcmp(v->text, "true") || !strcmp(v->text, "True") ||
		    !strcmp(v->text, "TRUE"))
			*(protobuf_c_boolean *)field_ptr(msg, f) = 1;
		else if (!strcmp(v->text, "false") ||
			 !strcmp(v->text, "False") || !strcmp(v->text, "FALSE"))
			*(protobuf_c_boolean *)field_ptr(msg, f) = 0;
		else
			return cfg_fail(c, v, field, "%s is not true or false",
					q);
		return 0;
	case CK_UINT:
	case CK_INT:
		if (read_int(v->text, &x) < 0 || x < r->min || x > r->max)
			return cfg_fail(c, v, field,
					"%s is not a whole number from "
					"%lld to %lld",
					q, (long long)r->min,
					(long long)r->max);
		if (f->type == PROTOBUF_C_TYPE_UINT32)
			*(uint32_t *)field_ptr(msg, f) = (uint32_t)x;
		else
			*(int32_t *)field_ptr(msg, f) = (int32_t)x;
		return 0;
	default:
		rc = cfg_check_text(c, r, v, field, canon);
		if (rc < 0)
			return rc;
		char *dup = strdup(canon);
		if (!dup)
			return -ENOMEM;
		*(char **)field_ptr(msg, f) = dup;
		return 0;
	}
}

struct sorted {
	const char *s;
	size_t i;
};

static int cmp_sorted(const void *a, const void *b)
{
	const struct sorted *x = a, *y = b;
	int d = strcmp(x->s, y->s);

	return d ? d : (x->i > y->i) - (x->i < y->i);
}

/* Refuses a list that holds a value twice, naming the later one. */
static int check_unique(struct cfg_ctx *c, const struct nsp_yaml_node *seq,
			const char *field, char **v, size_t n)
{
	struct sorted *s;
	int rc = 0;

	if (n < 2)
		return 0;
	s = malloc(n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		s[i] = (struct sorted){v[i], i};
	qsort(s, n, sizeof(*s), cmp_sorted);
	for (size_t i = 1; i < n && rc == 0; i++) {
		if (strcmp(s[i - 1].s, s[i].s) == 0) {
			char q[CFG_QUOTE];

			rc = cfg_fail(c, seq->kids[s[i].i], field,
				      "%s is listed twice",
				      cfg_quote(s[i].s, q, sizeof(q)));
		}
	}
	free(s);
	return rc;
}

static int decode_map(struct cfg_ctx *c, const struct cfg_rule *rules,
		      size_t n_rules, const ProtobufCMessageDescriptor *desc,
		      const struct nsp_yaml_node *map, const char *prefix,
		      ProtobufCMessage **out);

static int decode_list(struct cfg_ctx *c, const struct cfg_rule *r,
		       const ProtobufCFieldDescriptor *f,
		       const struct nsp_yaml_node *v, const char *field,
		       ProtobufCMessage *msg)
{
	size_t *n = (size_t *)((char *)msg + f->quantifier_offset);
	void **arr;

	if (v->type != NSP_YAML_SEQ)
		return cfg_fail(c, v, field, "expected a list, not a %s",
				v->type == NSP_YAML_MAP ? "mapping"
							: "single value");
	if (v->n_kids > NSP_CONFIG_MAX_LIST)
		return cfg_fail(c, v, field, "more than %d entries",
				NSP_CONFIG_MAX_LIST);
	if (v->n_kids == 0)
		return 0;
	arr = calloc(v->n_kids, sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	/* The message owns the array from here, and *n counts what is in it,
	 * so that freeing the message on any error frees exactly that. */
	*(void ***)field_ptr(msg, f) = arr;
	for (size_t i = 0; i < v->n_kids; i++) {
		const struct nsp_yaml_node *e = v->kids[i];
		char label[96], canon[NSP_CONFIG_MAX_TEXT + 1];
		int rc;

		if (r->check == CK_PORT_NATS) {
			snprintf(label, sizeof(label), "%s[%zu].", field,
				 i + 1);
			rc = decode_map(c, cfg_port_nat_rules,
					cfg_n_port_nat_rules, f->descriptor, e,
					label, (ProtobufCMessage **)&arr[i]);
		} else if (e->type != NSP_YAML_SCALAR) {
			rc = cfg_fail(c, e, field,
				      "expected a list of single values");
		} else {
			rc = cfg_check_text(c, r, e, field, canon);
			if (rc == 0 && !(arr[i] = strdup(canon)))
				rc = -ENOMEM;
		}
		if (rc < 0)
			return rc;
		*n = i + 1;
	}
	if (f->type == PROTOBUF_C_TYPE_STRING)
		return check_unique(c, v, field, (char **)arr, *n);
	return 0;
}

/* The closest rule key to an unknown key, when it is a likely typo. */
static const char *suggest(const struct cfg_rule *rules, size_t n_rules,
			   const char *key)
{
	size_t kl = strlen(key);
	const char *best = NULL;
	size_t best_d = 3;

	if (kl > 32)
		return NULL;
	for (size_t r = 0; r < n_rules; r++) {
		const char *t = rules[r].key;
		size_t tl = strlen(t), row[40], d;

		/* Levenshtein distance, one row at a time. */
		for (size_t j = 0; j <= tl; j++)
			row[j] = j;
		for (size_t i = 1; i <= kl; i++) {
			size_t diag = row[0];

			row[0] = i;
			for (size_t j = 1; j <= tl; j++) {
				size_t up = row[j];
				size_t sub = diag + (key[i - 1] != t[j - 1]);

				d = up + 1 < row[j - 1] + 1 ? up + 1
							    : row[j - 1] + 1;
				row[j] = d < sub ? d : sub;
				diag = up;
			}
		}
		if (row[tl] < best_d) {
			best_d = row[tl];
			best = t;
		}
	}
	return best;
}

static const ProtobufCFieldDescriptor *
find_field(const ProtobufCMessageDescriptor *desc, const char *key)
{
	char name[64];
	size_t i;

	for (i = 0; key[i] && i + 1 < sizeof(name); i++)
		name[i] = key[i] == '-' ? '_' : key[i];
	name[i] = '\0';
	return protobuf_c_message_descriptor_get_field_by_name(desc, name);
}

static int decode_field(struct cfg_ctx *c, const struct cfg_rule *r,
			const ProtobufCMessageDescriptor *desc,
			const struct nsp_yaml_node *v, const char *field,
			ProtobufCMessage *msg)
{
	const ProtobufCFieldDescriptor *f = find_field(desc, r->key);

	if (!f)
		return cfg_fail(c, v, field, "internal: no such proto field");
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return decode_list(c, r, f, v, field, msg);
	return decode_scalar(c, r, f, v, field, msg);
}

static int decode_map(struct cfg_ctx *c, const struct cfg_rule *rules,
		      size_t n_rules, const ProtobufCMessageDescriptor *desc,
		      const struct nsp_yaml_node *map, const char *prefix,
		      ProtobufCMessage **out)
{
	const struct nsp_yaml_node *name = nsp_yaml_get(map, "name");
	ProtobufCMessage *msg;
	uint32_t seen = 0;
	char field[128];
	int rc = 0;

	if (map->type != NSP_YAML_MAP) {
		snprintf(field, sizeof(field), "%.*s", (int)strlen(prefix) - 1,
			 prefix);
		return cfg_fail(c, map, *prefix ? field : NULL,
				"expected a mapping of fields, not a %s",
				map->type == NSP_YAML_SEQ ? "list"
							  : "single value");
	}
	msg = malloc(desc->sizeof_message);
	if (!msg)
		return -ENOMEM;
	protobuf_c_message_init(desc, msg);
	/* The name comes first, whatever its place, so that every other
	 * error can say which item it is about. */
	if (rules[0].check == CK_NAME && name && !nsp_yaml_is_null(name)) {
		rc = decode_field(c, &rules[0], desc, name, "name", msg);
		if (rc < 0)
			goto fail;
		c->name = *(char **)field_ptr(msg, find_field(desc, "name"));
	}
	for (size_t i = 0; i + 1 < map->n_kids; i += 2) {
		const struct nsp_yaml_node *k = map->kids[i],
					   *v = map->kids[i + 1];
		size_t r;

		for (r = 0; r < n_rules; r++)
			if (strcmp(k->text, rules[r].key) == 0)
				break;
		snprintf(field, sizeof(field), "%s%s", prefix, k->text);
		if (r == n_rules) {
			const char *hint = suggest(rules, n_rules, k->text);
			char q[CFG_QUOTE];

			rc = cfg_fail(c, k, NULL, "%s: unknown field%s%s%s",
				      cfg_quote(field, q, sizeof(q)),
				      hint ? " (did you mean \"" : "",
				      hint ? hint : "", hint ? "\"?)" : "");
			goto fail;
		}
		if (seen & (1u << r)) {
			rc = cfg_fail(c, k, field, "given twice");
			goto fail;
		}
		seen |= 1u << r;
		if (rules[r].check == CK_NAME || nsp_yaml_is_null(v))
			continue;
		rc = decode_field(c, &rules[r], desc, v, field, msg);
		if (rc < 0)
			goto fail;
	}
	for (size_t r = 0; r < n_rules; r++) {
		const struct nsp_yaml_node *v = nsp_yaml_get(map, rules[r].key);
		const ProtobufCFieldDescriptor *f =
		    find_field(desc, rules[r].key);

		snprintf(field, sizeof(field), "%s%s", prefix, rules[r].key);
		if (!f) {
			rc = cfg_fail(c, map, field, "internal: no field");
			goto fail;
		}
		if (rules[r].required &&
		    (!v || nsp_yaml_is_null(v) ||
		     (f->label == PROTOBUF_C_LABEL_REPEATED &&
		      *(size_t *)((char *)msg + f->quantifier_offset) == 0))) {
			rc = cfg_fail(c, map, field, "missing%s",
				      v && v->type == NSP_YAML_SEQ
					  ? " (empty list)"
					  : "");
			goto fail;
		}
		if (rules[r].def && (!v || nsp_yaml_is_null(v))) {
			if (f->type == PROTOBUF_C_TYPE_UINT32)
				*(uint32_t *)field_ptr(msg, f) =
				    (uint32_t)rules[r].def;
			else
				*(int32_t *)field_ptr(msg, f) =
				    (int32_t)rules[r].def;
		}
		if (rules[r].check == CK_TRENCH &&
		    *(char **)field_ptr(msg, f) == protobuf_c_empty_string) {
			rc =
			    cfg_set_text((char **)field_ptr(msg, f), c->trench);
			if (rc < 0)
				goto fail;
		}
	}
	*out = msg;
	return 0;
fail:
	protobuf_c_message_free_unpacked(msg, NULL);
	return rc;
}

int cfg_item_decode(struct cfg_ctx *c, const struct nsp_yaml_node *map,
		    ProtobufCMessage **out)
{
	const struct cfg_kind *k = &cfg_kinds[c->kind];
	ProtobufCMessage *msg;
	int rc;

	rc = decode_map(c, k->rules, k->n_rules, k->desc, map, "", &msg);
	if (rc < 0)
		return rc;
	if (k->post)
		rc = k->post(c, map, msg);
	if (rc < 0) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return rc;
	}
	*out = msg;
	return 0;
}
