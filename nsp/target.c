#include "errtext.h"
#include "target.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "cidr.h"

/* Messages quote values from the network; this keeps them short and
 * printable so a log line stays one line whatever a client sends. */
#define QUOTE_MAX 72

static void quote(const char *s, char out[QUOTE_MAX])
{
	size_t o = 0;
	out[o++] = '"';
	for (; *s && o < QUOTE_MAX - 5; s++) {
		unsigned char c = (unsigned char)*s;
		out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (*s) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
}

static const char *str(const char *s)
{
	return s ? s : "";
}

/* A name becomes part of keys ('|' separates their fields), of log lines
 * and possibly of paths ('/'), so only plain printable text is allowed. */
static int check_name(const char *what, const char *s, bool required, char *err,
		      size_t len)
{
	char q[QUOTE_MAX];
	size_t n = strlen(s);
	if (required && n == 0)
		return errtext(-EINVAL, err, len, "%s is empty", what);
	if (n > NSP_NAME_MAX) {
		quote(s, q);
		return errtext(-EINVAL, err, len, "%s %s is longer than %d bytes", what, q,
			    NSP_NAME_MAX);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '/' || c == '|' || c == ' ' || c < 0x20 || c == 0x7f) {
			quote(s, q);
			return errtext(-EINVAL, err, len,
				    "%s %s holds a '/', '|', space or control "
				    "character",
				    what, q);
		}
	}
	return 0;
}

static int cmp_cidr(const void *a, const void *b)
{
	const struct cidr *x = a, *y = b;
	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	int c = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (c)
		return c;
	return (int)x->len - (int)y->len;
}

/* The key fields, parsed: what both a full registration and an
 * unregistration need. */
struct keyparts {
	int type;
	const char *trench, *conduit, *stream;
	struct cidr ips[NSP_TARGET_MAX_IPS];
	size_t n_ips;
};

static int parse_ips(const Nsp__Target *t, struct keyparts *kp, char *err,
		     size_t len)
{
	char q[QUOTE_MAX];
	if (t->n_ips == 0)
		return errtext(-EINVAL, err, len, "a target needs at least one ip");
	if (t->n_ips > NSP_TARGET_MAX_IPS)
		return errtext(-EINVAL, err, len, "%zu ips, at most %d are allowed",
			    t->n_ips, NSP_TARGET_MAX_IPS);
	for (size_t i = 0; i < t->n_ips; i++) {
		if (cidr_parse(str(t->ips[i]), &kp->ips[i]) < 0) {
			quote(str(t->ips[i]), q);
			return errtext(-EINVAL, err, len, "ip %s is not \"addr/len\"", q);
		}
	}
	kp->n_ips = t->n_ips;
	qsort(kp->ips, kp->n_ips, sizeof(kp->ips[0]), cmp_cidr);
	/* Sorted, equal addresses are neighbours whatever their lengths;
	 * one address with two prefix lengths is as wrong as a repeat. */
	for (size_t i = 1; i < kp->n_ips; i++) {
		const struct cidr *a = &kp->ips[i - 1], *b = &kp->ips[i];
		if (a->family == b->family &&
		    !memcmp(a->addr, b->addr, sizeof(a->addr))) {
			char txt[CIDR_STRLEN];
			cidr_format_ip(b, txt, sizeof(txt));
			return errtext(-EINVAL, err, len, "ip %s is given twice", txt);
		}
	}
	return 0;
}

/* The name of a valid registration type as the messages spell it, with its
 * article. A TARGET belongs to a stream and an INSTANCE to a service (the
 * stream field), and both hold an identifier; a FRONTEND (an LB) and a
 * PROXY (a node's proxy) belong to a whole conduit, a TUNNEL (a node's
 * strait-tun) to a whole trench. */
static const char *type_name(int type)
{
	switch (type) {
	case NSP__TARGET_TYPE__FRONTEND:
		return "FRONTEND";
	case NSP__TARGET_TYPE__PROXY:
		return "PROXY";
	case NSP__TARGET_TYPE__TUNNEL:
		return "TUNNEL";
	case NSP__TARGET_TYPE__INSTANCE:
		return "INSTANCE";
	default:
		return "TARGET";
	}
}

static const char *article(int type)
{
	return type == NSP__TARGET_TYPE__INSTANCE ? "an" : "a";
}

bool nsp_type_has_identifier(int type)
{
	return type == NSP__TARGET_TYPE__TARGET ||
	       type == NSP__TARGET_TYPE__INSTANCE;
}

/* Refuses a name field that type does not have. */
static int must_be_empty(int type, const char *owner, const char *what,
			 const char *s, char *err, size_t len)
{
	char q[QUOTE_MAX];
	if (!*s)
		return 0;
	quote(s, q);
	return errtext(-EINVAL, err, len, "%s %s belongs to %s, not to %s %s",
		       article(type), type_name(type), owner, what, q);
}

static int parse_key(const Nsp__Target *t, struct keyparts *kp, char *err,
		     size_t len)
{
	int rc;
	kp->type = t->type == NSP__TARGET_TYPE__ANY_TYPE
		       ? NSP__TARGET_TYPE__TARGET
		       : (int)t->type;
	if (kp->type < NSP__TARGET_TYPE__TARGET ||
	    kp->type > NSP__TARGET_TYPE__INSTANCE)
		return errtext(-EINVAL, err, len,
			    "type %d is not TARGET, FRONTEND, PROXY, TUNNEL or "
			    "INSTANCE",
			    (int)t->type);
	const Nsp__StreamRef *ref = t->stream;
	kp->trench = ref ? str(ref->trench) : "";
	kp->conduit = ref ? str(ref->conduit) : "";
	kp->stream = ref ? str(ref->stream) : "";
	rc = check_name("trench", kp->trench, true, err, len);
	if (rc < 0)
		return rc;
	switch (kp->type) {
	case NSP__TARGET_TYPE__TARGET:
		rc = check_name("conduit", kp->conduit, true, err, len);
		if (rc == 0)
			rc = check_name("stream", kp->stream, true, err, len);
		break;
	case NSP__TARGET_TYPE__FRONTEND:
	case NSP__TARGET_TYPE__PROXY:
		rc = check_name("conduit", kp->conduit, true, err, len);
		if (rc == 0)
			rc = must_be_empty(kp->type, "a conduit", "stream",
					   kp->stream, err, len);
		break;
	case NSP__TARGET_TYPE__TUNNEL:
		rc = must_be_empty(kp->type, "a trench", "conduit",
				   kp->conduit, err, len);
		if (rc == 0)
			rc = must_be_empty(kp->type, "a trench", "stream",
					   kp->stream, err, len);
		break;
	case NSP__TARGET_TYPE__INSTANCE:
		rc = must_be_empty(kp->type, "a service of the trench",
				   "conduit", kp->conduit, err, len);
		if (rc == 0)
			rc = check_name("service (the stream field)",
					kp->stream, true, err, len);
		break;
	}
	if (rc < 0)
		return rc;
	return parse_ips(t, kp, err, len);
}

/* Writes the key; returns its length or -ENOSPC. */
static int compose_key(const struct keyparts *kp, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%d|%s|%s|%s|", kp->type, kp->trench,
			 kp->conduit, kp->stream);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	size_t o = (size_t)n;
	for (size_t i = 0; i < kp->n_ips; i++) {
		if (i) {
			if (o + 1 >= len)
				return -ENOSPC;
			buf[o++] = ',';
			buf[o] = '\0';
		}
		if (cidr_format(&kp->ips[i], buf + o, len - o) < 0)
			return -ENOSPC;
		o += strlen(buf + o);
	}
	return (int)o;
}

int nsp_target_key(const Nsp__Target *t, char *buf, size_t len)
{
	struct keyparts kp;
	kp.type = t->type == NSP__TARGET_TYPE__ANY_TYPE
		      ? NSP__TARGET_TYPE__TARGET
		      : (int)t->type;
	kp.trench = t->stream ? str(t->stream->trench) : "";
	kp.conduit = t->stream ? str(t->stream->conduit) : "";
	kp.stream = t->stream ? str(t->stream->stream) : "";
	if (parse_ips(t, &kp, NULL, 0) < 0)
		return -EINVAL;
	int n = compose_key(&kp, buf, len);
	return n < 0 ? n : 0;
}

int nsp_tgt_key(const Nsp__Target *t, struct nsp_tkey *k, char *err,
		size_t errlen)
{
	struct keyparts kp;
	int rc = parse_key(t, &kp, err, errlen);
	if (rc < 0)
		return rc;
	/* Validated names and ips always fit NSP_TARGET_KEY_MAX. */
	rc = compose_key(&kp, k->buf, sizeof(k->buf));
	if (rc < 0)
		return errtext(-EINVAL, err, errlen, "target key too long");
	k->len = (size_t)rc;
	k->hash = XXH3_64bits(k->buf, k->len);
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const Nsp__Target__ContextEntry *x =
	    *(Nsp__Target__ContextEntry *const *)a;
	const Nsp__Target__ContextEntry *y =
	    *(Nsp__Target__ContextEntry *const *)b;
	return strcmp(str(x->key), str(y->key));
}

static int check_context(const Nsp__Target *t,
			 const Nsp__Target__ContextEntry **sorted, char *err,
			 size_t len)
{
	char q[QUOTE_MAX];
	if (t->n_context > NSP_CONTEXT_MAX)
		return errtext(-EINVAL, err, len, "%zu context entries, at most %d",
			    t->n_context, NSP_CONTEXT_MAX);
	for (size_t i = 0; i < t->n_context; i++) {
		const Nsp__Target__ContextEntry *e = t->context[i];
		if (!e)
			return errtext(-EINVAL, err, len, "context entry %zu is missing",
				    i);
		if (strlen(str(e->key)) > NSP_CONTEXT_KEY_MAX) {
			quote(str(e->key), q);
			return errtext(-EINVAL, err, len,
				    "context key %s is longer than %d bytes", q,
				    NSP_CONTEXT_KEY_MAX);
		}
		if (strlen(str(e->value)) > NSP_CONTEXT_VALUE_MAX) {
			quote(str(e->key), q);
			return errtext(-EINVAL, err, len,
				    "context value of %s is longer than %d "
				    "bytes",
				    q, NSP_CONTEXT_VALUE_MAX);
		}
		sorted[i] = e;
	}
	qsort(sorted, t->n_context, sizeof(*sorted), cmp_entry);
	/* A map on the wire may repeat a key; rather than pick a winner
	 * silently the client is told. */
	for (size_t i = 1; i < t->n_context; i++) {
		if (!strcmp(str(sorted[i - 1]->key), str(sorted[i]->key))) {
			quote(str(sorted[i]->key), q);
			return errtext(-EINVAL, err, len, "context key %s is given twice",
				    q);
		}
	}
	return 0;
}

/* The value of key in sorted context entries, or NULL. */
static const char *context_value(const Nsp__Target__ContextEntry **ctx,
				 size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(str(ctx[i]->key), key))
			return str(ctx[i]->value);
	return NULL;
}

/* strait-tun joins its tables on node names: an INSTANCE is reached
 * through the TUNNEL of its node, at the TUNNEL's port. Either without a
 * node name, or a TUNNEL with a port that is none, would be registered
 * and then silently unreachable, so they are refused here. */
static int check_node(int type, const Nsp__Target__ContextEntry **ctx,
		      size_t n, char *err, size_t len)
{
	const char *node, *port;
	char q[QUOTE_MAX];
	if (type != NSP__TARGET_TYPE__TUNNEL &&
	    type != NSP__TARGET_TYPE__INSTANCE)
		return 0;
	node = context_value(ctx, n, "node");
	if (!node || !*node)
		return errtext(-EINVAL, err, len,
			       "%s %s needs its node's name in the context "
			       "(node=NAME)",
			       article(type), type_name(type));
	port = context_value(ctx, n, "port");
	if (type != NSP__TARGET_TYPE__TUNNEL || !port)
		return 0;
	size_t digits = strspn(port, "0123456789");
	long v = digits && digits <= 5 && !port[digits] && port[0] != '0'
		     ? strtol(port, NULL, 10)
		     : 0;
	if (v < 1 || v > 65535) {
		quote(port, q);
		return errtext(-EINVAL, err, len,
			       "context port %s of a TUNNEL is not a port "
			       "(1-65535)",
			       q);
	}
	return 0;
}

/* A bump allocator over the tail of the one allocation. */
static char *put_str(char **cursor, const char *s, size_t n)
{
	char *p = *cursor;
	memcpy(p, s, n);
	p[n] = '\0';
	*cursor += n + 1;
	return p;
}

int nsp_tgt_new(const Nsp__Target *t, struct nsp_tgt **out, char *err,
		size_t errlen)
{
	struct keyparts kp;
	const Nsp__Target__ContextEntry *ctx[NSP_CONTEXT_MAX];
	char ipbuf[NSP_TARGET_MAX_IPS][CIDR_STRLEN];
	size_t iplen[NSP_TARGET_MAX_IPS];
	struct nsp_tkey k;
	int rc;

	rc = parse_key(t, &kp, err, errlen);
	if (rc < 0)
		return rc;
	if ((int)t->status < NSP__TARGET_STATUS__ANY_STATUS ||
	    (int)t->status > NSP__TARGET_STATUS__DISABLED)
		return errtext(-EINVAL, err, errlen,
			    "status %d is neither ENABLED nor DISABLED",
			    (int)t->status);
	if (!nsp_type_has_identifier(kp.type) && t->identifier)
		return errtext(-EINVAL, err, errlen,
			    "identifier %u on %s %s; only TARGETs and "
			    "INSTANCEs have identifiers",
			    t->identifier, article(kp.type),
			    type_name(kp.type));
	rc = check_context(t, ctx, err, errlen);
	if (rc == 0)
		rc = check_node(kp.type, ctx, t->n_context, err, errlen);
	if (rc < 0)
		return rc;
	rc = compose_key(&kp, k.buf, sizeof(k.buf));
	if (rc < 0)
		return errtext(-EINVAL, err, errlen, "target key too long");
	k.len = (size_t)rc;

	size_t n_ctx = t->n_context;
	size_t strings = k.len + 1 + strlen(kp.trench) + 1 +
			 strlen(kp.conduit) + 1 + strlen(kp.stream) + 1;
	for (size_t i = 0; i < kp.n_ips; i++) {
		cidr_format(&kp.ips[i], ipbuf[i], sizeof(ipbuf[i]));
		iplen[i] = strlen(ipbuf[i]);
		strings += iplen[i] + 1;
	}
	for (size_t i = 0; i < n_ctx; i++)
		strings += strlen(str(ctx[i]->key)) + 1 +
			   strlen(str(ctx[i]->value)) + 1;

	size_t size = sizeof(struct nsp_tgt) + kp.n_ips * sizeof(char *) +
		      n_ctx * (sizeof(Nsp__Target__ContextEntry) +
			       sizeof(Nsp__Target__ContextEntry *)) +
		      strings;
	struct nsp_tgt *o = malloc(size);
	if (!o)
		return -ENOMEM;

	char **ips = (char **)(o + 1);
	Nsp__Target__ContextEntry *entries =
	    (Nsp__Target__ContextEntry *)(ips + kp.n_ips);
	Nsp__Target__ContextEntry **entryp =
	    (Nsp__Target__ContextEntry **)(entries + n_ctx);
	char *cursor = (char *)(entryp + n_ctx);

	o->refs = 1;
	o->keylen = k.len;
	o->key = put_str(&cursor, k.buf, k.len);
	o->hash = XXH3_64bits(o->key, o->keylen);
	o->ref = (Nsp__StreamRef)NSP__STREAM_REF__INIT;
	o->ref.trench = put_str(&cursor, kp.trench, strlen(kp.trench));
	o->ref.conduit = put_str(&cursor, kp.conduit, strlen(kp.conduit));
	o->ref.stream = put_str(&cursor, kp.stream, strlen(kp.stream));
	o->msg = (Nsp__Target)NSP__TARGET__INIT;
	o->msg.n_ips = kp.n_ips;
	o->msg.ips = ips;
	for (size_t i = 0; i < kp.n_ips; i++)
		ips[i] = put_str(&cursor, ipbuf[i], iplen[i]);
	o->msg.type = (Nsp__TargetType)kp.type;
	o->msg.stream = &o->ref;
	o->msg.status = t->status == NSP__TARGET_STATUS__ANY_STATUS
			    ? NSP__TARGET_STATUS__ENABLED
			    : t->status;
	o->msg.identifier = t->identifier;
	o->msg.n_context = n_ctx;
	o->msg.context = n_ctx ? entryp : NULL;
	for (size_t i = 0; i < n_ctx; i++) {
		const char *key = str(ctx[i]->key), *val = str(ctx[i]->value);
		entries[i] =
		    (Nsp__Target__ContextEntry)NSP__TARGET__CONTEXT_ENTRY__INIT;
		entries[i].key = put_str(&cursor, key, strlen(key));
		entries[i].value = put_str(&cursor, val, strlen(val));
		entryp[i] = &entries[i];
	}
	*out = o;
	return 0;
}

void nsp_tgt_put(struct nsp_tgt *t)
{
	if (t && --t->refs == 0)
		free(t);
}

bool nsp_tgt_same(const struct nsp_tgt *a, const struct nsp_tgt *b)
{
	if (a->keylen != b->keylen || memcmp(a->key, b->key, a->keylen))
		return false;
	if (a->msg.status != b->msg.status ||
	    a->msg.identifier != b->msg.identifier ||
	    a->msg.n_context != b->msg.n_context)
		return false;
	/* Both context lists are sorted by key, so equal maps are equal
	 * lists. */
	for (size_t i = 0; i < a->msg.n_context; i++) {
		const Nsp__Target__ContextEntry *x = a->msg.context[i];
		const Nsp__Target__ContextEntry *y = b->msg.context[i];
		if (strcmp(x->key, y->key) || strcmp(x->value, y->value))
			return false;
	}
	return true;
}

void nsp_tgt_ips(const Nsp__Target *t, char *buf, size_t len)
{
	size_t o = 0;
	if (!len)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < t->n_ips && o < len; i++) {
		int n = snprintf(buf + o, len - o, "%s%s", i ? "," : "",
				 str(t->ips[i]));
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

static bool name_match(const char *want, const char *have)
{
	return !want || !*want || !strcmp(want, str(have));
}

bool nsp_filter_match(const Nsp__TargetFilter *f, const Nsp__Target *t)
{
	if (!f)
		return true;
	int type = t->type ? (int)t->type : NSP__TARGET_TYPE__TARGET;
	int status = t->status ? (int)t->status : NSP__TARGET_STATUS__ENABLED;
	if (f->type && (int)f->type != type)
		return false;
	if (f->status && (int)f->status != status)
		return false;
	if (f->stream) {
		const Nsp__StreamRef *s = t->stream;
		if (!name_match(f->stream->trench, s ? s->trench : NULL) ||
		    !name_match(f->stream->conduit, s ? s->conduit : NULL) ||
		    !name_match(f->stream->stream, s ? s->stream : NULL))
			return false;
	}
	return true;
}

bool nsp_event_view(const Nsp__TargetFilter *f, const struct nsp_event *ev,
		    Nsp__TargetEvent__Kind *kind, const Nsp__Target **target)
{
	bool was = ev->old && nsp_filter_match(f, ev->old);
	bool is = ev->new_ && nsp_filter_match(f, ev->new_);
	if (was && is) {
		*kind = NSP__TARGET_EVENT__KIND__UPDATED;
		*target = ev->new_;
	} else if (is) {
		*kind = NSP__TARGET_EVENT__KIND__ADDED;
		*target = ev->new_;
	} else if (was) {
		*kind = NSP__TARGET_EVENT__KIND__REMOVED;
		*target = ev->old;
	} else {
		return false;
	}
	return true;
}
