/* Targets as the registry holds them: validated, normalised, immutable,
 * reference counted. Internal to nsp/; the public face is registry.h.
 *
 * One allocation per target:
 *
 *   +----------------+---------+-------------+--------------+---------+
 *   | struct nsp_tgt | ips[n]  | ctx[m]      | ctxp[m]      | strings |
 *   | refs hash key  | char *  | ContextEntry| ContextEntry*| key, .. |
 *   | msg  ref       |         |             |              |         |
 *   +----------------+---------+-------------+--------------+---------+
 *
 * msg is an ordinary Nsp__Target that nsp__target__pack and the
 * get_packed_size functions accept, but it was not made by protobuf-c's
 * allocator: never pass it to nsp__target__free_unpacked.
 */
#ifndef STRAIT_NSP_TARGET_H
#define STRAIT_NSP_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nsp.pb-c.h"
#include "registry.h"

struct nsp_tgt {
	uint32_t refs;
	uint64_t hash; /* XXH3_64bits of key */
	const char *key;
	size_t keylen;
	Nsp__Target msg;
	Nsp__StreamRef ref;
};

/* The key fields of a target, parsed and checked. */
struct nsp_tkey {
	char buf[NSP_TARGET_KEY_MAX];
	size_t len;
	uint64_t hash;
};

/* Validates t fully (see nsp_registry_register for the rules) and makes a
 * normalised copy with one reference. Returns 0, -EINVAL with err set, or
 * -ENOMEM. */
int nsp_tgt_new(const Nsp__Target *t, struct nsp_tgt **out, char *err,
		size_t errlen);

/* Validates only the key fields of t (type, stream ref, ips) and writes its
 * key and hash into k. Returns 0 or -EINVAL with err set. */
int nsp_tgt_key(const Nsp__Target *t, struct nsp_tkey *k, char *err,
		size_t errlen);

/* The nsp_tgt whose msg is m. m must come from nsp_tgt_new. */
static inline struct nsp_tgt *nsp_tgt_of(const Nsp__Target *m)
{
	return (struct nsp_tgt *)((char *)(uintptr_t)m -
				  offsetof(struct nsp_tgt, msg));
}

static inline struct nsp_tgt *nsp_tgt_get(struct nsp_tgt *t)
{
	t->refs++;
	return t;
}

/* Drops one reference; frees at zero. NULL is fine. */
void nsp_tgt_put(struct nsp_tgt *t);

/* True when a and b hold the same content (key, status, identifier,
 * context). Both must be normalised. */
bool nsp_tgt_same(const struct nsp_tgt *a, const struct nsp_tgt *b);

/* True for the types that hold an identifier: TARGET (per stream) and
 * INSTANCE (per service). */
bool nsp_type_has_identifier(int type);

/* Writes the ips of t joined by ',' into buf, for messages; truncates. */
void nsp_tgt_ips(const Nsp__Target *t, char *buf, size_t len);

#endif
