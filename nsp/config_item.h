/* Internal to the configuration parser: one item of one file, from its YAML
 * mapping to a validated protobuf-c message.
 *
 * nsp/config.c drives the files in dependency order and keeps the items
 * read so far in a struct cfg_ctx. config_rules.c says what is valid: a
 * table of fields per kind, the check of each value, and the rules that
 * tie the fields of one item together. config_item.c applies those tables
 * to one mapping: it finds each field in the message through the
 * protobuf-c descriptor, checks types, fills lists, required fields and
 * defaults, and writes errors in the format documented in nsp/config.h.
 */
#ifndef STRAIT_NSP_CONFIG_ITEM_H
#define STRAIT_NSP_CONFIG_ITEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "config_yaml.h"

/* An item read from a file, with what error messages need about it. */
struct cfg_entry {
	ProtobufCMessage *msg;
	const char *name; /* the message's own name */
	const struct nsp_yaml_node *node;
	size_t index; /* from 1, in its file */
};

/* The items of one kind; sorted by name once the whole file is read. */
struct cfg_items {
	struct cfg_entry *v;
	size_t n;
};

struct cfg_ctx {
	char *err;
	size_t errlen;
	const char *trench;	   /* the trench's name, once known */
	enum nsp_config_kind kind; /* the file being read */
	size_t index;		   /* the item being read, from 1; 0: none */
	const char *name;	   /* its name, once read; or NULL */
	struct cfg_items items[NSP_CFG_KINDS];
};

/* Writes an error "<file>: item <index> (<name>): <field>: <message>
 * (line <line>)" into c->err, leaving out the parts that are unknown (no
 * item, no name, no field, no node). c->name must be a valid name, which
 * needs no quoting. Returns -EINVAL. */
int cfg_fail(struct cfg_ctx *c, const struct nsp_yaml_node *at,
	     const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define CFG_QUOTE 160 /* a buffer for cfg_quote() that shows 76 characters */

/* Writes text into buf (size >= 16) in double quotes, with quotes,
 * backslashes and unprintable bytes escaped and the middle cut when it is
 * long, so that any value can go into a one-line message. Returns buf. */
const char *cfg_quote(const char *text, char *buf, size_t size);

/* True when s is a valid item name (see docs/config.md). */
bool cfg_valid_name(const char *s);

/* How a field's value is checked and turned into its canonical form. The
 * C type it lands in comes from the message descriptor, found by the key
 * with "-" read as "_" (Meridio's "max-targets" is proto's max_targets). */
enum cfg_check {
	CK_NAME,      /* the item's own name */
	CK_TRENCH,    /* must be the configuration's trench */
	CK_REF,	      /* the name of an item of kind rule->ref */
	CK_PORTS,     /* a port range */
	CK_PORT,      /* one port, 1-65535, as text */
	CK_PROTO,     /* a flow protocol */
	CK_NAT_PROTO, /* tcp or udp */
	CK_SUBNET,    /* address/length without host bits */
	CK_BYTES,     /* a byte match */
	CK_VIP,	      /* a /32 or /128 */
	CK_IP,	      /* a bare address */
	CK_FAMILY,    /* ipv4 or ipv6 */
	CK_GW_PROTO,  /* bgp or static */
	CK_UINT,      /* a whole number in [min, max] */
	CK_INT,	      /* the same, signed */
	CK_BOOL,      /* true or false */
	CK_PORT_NATS, /* a list of port NAT mappings */
	CK_SVC_ADDR,  /* a bare address, or a /32 or /128, written bare */
	CK_POLICY,    /* spread or local */
};

struct cfg_rule {
	const char *key;
	enum cfg_check check;
	bool required;
	enum nsp_config_kind ref;
	int64_t min, max, def;
};

struct cfg_ctx;

/* The fields of one kind, a check of the whole item (may be NULL) run
 * after its fields decoded, which may fill in defaults, and a check of all
 * the items of the kind together (may be NULL), run once they are sorted by
 * name and their names found unique; it may look at the kinds read before
 * (c->items). Both return 0 or -EINVAL with c->err set, or -ENOMEM. */
struct cfg_kind {
	const ProtobufCMessageDescriptor *desc;
	const struct cfg_rule *rules; /* the name rule, when any, first */
	size_t n_rules;
	int (*post)(struct cfg_ctx *c, const struct nsp_yaml_node *map,
		    ProtobufCMessage *msg);
	int (*post_all)(struct cfg_ctx *c, const struct cfg_items *items);
};

extern const struct cfg_kind cfg_kinds[NSP_CFG_KINDS];
extern const struct cfg_rule cfg_port_nat_rules[];
extern const size_t cfg_n_port_nat_rules;

/* Checks the text value v of field against rule r and writes its canonical
 * form into canon (NSP_CONFIG_MAX_TEXT + 1 bytes).
 * Returns 0 or -EINVAL with c->err set. */
int cfg_check_text(struct cfg_ctx *c, const struct cfg_rule *r,
		   const struct nsp_yaml_node *v, const char *field,
		   char *canon);

/* True when map has key with a value other than null. */
bool cfg_present(const struct nsp_yaml_node *map, const char *key);

/* Replaces a message's string field with a copy of value.
 * Returns 0 or -ENOMEM. */
int cfg_set_text(char **field, const char *value);

/* Decodes the mapping map as an item of kind c->kind into a new message of
 * that kind, with its trench set to c->trench. c->index and c->name must
 * describe the item (c->name is set here once the name is read).
 * Returns 0, -EINVAL with c->err set, or -ENOMEM. */
int cfg_item_decode(struct cfg_ctx *c, const struct nsp_yaml_node *map,
		    ProtobufCMessage **out);

/* The item of kind k named name, or NULL. The kind must be sorted. */
const struct cfg_entry *cfg_items_find(const struct cfg_items *items,
				       const char *name);

#endif
