/* The flow classifier. See flow.h for the matching rules.
 *
 * Layout of a built classifier:
 *
 *   flows[]     every flow, in name order (the flow index)
 *   counters[]  one per flow, same order
 *   slots[]     open addressing on the VIP address: vip index + 1, 0 empty
 *   vips[]      one per distinct VIP address:  first, count  ----+
 *   refs[]      flow pointers, VIP after VIP, each VIP's run  <--+
 *               sorted by priority (highest first), then name
 *
 * Everything is allocated at build time; classification allocates nothing
 * and writes nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <xxhash.h>

#include "cidr.h"
#include "match.h"

#include "flow.h"

struct lb_flow {
	char *name;
	char *stream;
	int32_t priority;
	size_t index;
	uint64_t *counter;
	/* Bit n set: IP protocol n matches. All set when no protocol is
	 * given, so the check is the same one load either way. */
	uint64_t protos[4];
	size_t n_src, n_sports, n_dports, n_bytes;
	struct cidr *src;
	struct port_range *sports, *dports;
	struct byte_match *bytes;
};

struct vip {
	int family;
	uint8_t addr[16];
	uint32_t first, count; /* a run of refs[] */
	uint32_t last;         /* build only: flow index + 1 last added */
};

struct lb_flows {
	size_t n_flows;
	struct lb_flow *flows;
	uint64_t *counters;
	size_t n_vips;
	struct vip *vips;
	const struct lb_flow **refs;
	uint32_t *slots;
	size_t mask; /* slots has mask + 1 entries, a power of two */
};

/* A VIP message resolved, for the name lookups of the build. */
struct vipdef {
	const char *name;
	struct cidr addr;
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* protobuf-c gives "" for an unset string, but a hand-made message may hold
 * NULL; both mean empty here. */
static const char *str(const char *s)
{
	return s ? s : "";
}

static size_t addrlen(int family)
{
	return family == AF_INET ? 4 : 16;
}

static uint64_t addrhash(int family, const uint8_t *addr)
{
	return XXH3_64bits(addr, addrlen(family));
}

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_SCTP;
}

static void proto_set(uint64_t *bits, unsigned p)
{
	bits[p >> 6] |= UINT64_C(1) << (p & 63);
}

static bool proto_test(const uint64_t *bits, unsigned p)
{
	return bits[p >> 6] >> (p & 63) & 1;
}

/* True when the first len bits of a and net agree. */
static bool prefix_match(const uint8_t *net, const uint8_t *a, unsigned len)
{
	unsigned bytes = len / 8, bits = len % 8;
	uint8_t m;

	if (memcmp(net, a, bytes))
		return false;
	if (!bits)
		return true;
	m = (uint8_t)(0xff << (8 - bits));
	return ((net[bytes] ^ a[bytes]) & m) == 0;
}

static bool in_ranges(const struct port_range *r, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (match_port_range_contains(&r[i], port))
			return true;
	return false;
}

/* ---- classification ---- */

static bool flow_matches(const struct lb_flow *fl, const struct pkt *p)
{
	size_t i;

	if (!proto_test(fl->protos, p->proto))
		return false;
	if ((fl->n_sports || fl->n_dports) && has_ports(p->proto)) {
		/* A fragment or a truncated header: the ports this flow
		 * needs are not there, so it cannot claim the packet. */
		if (!p->has_ports)
			return false;
		if (fl->n_dports &&
		    !in_ranges(fl->dports, fl->n_dports, p->dport))
			return false;
		if (fl->n_sports &&
		    !in_ranges(fl->sports, fl->n_sports, p->sport))
			return false;
	}
	if (fl->n_src) {
		for (i = 0; i < fl->n_src; i++)
			if (fl->src[i].family == p->family &&
			    prefix_match(fl->src[i].addr, p->src,
					 fl->src[i].len))
				break;
		if (i == fl->n_src)
			return false;
	}
	for (i = 0; i < fl->n_bytes; i++) {
		const struct byte_match *m = &fl->bytes[i];

		if ((uint8_t)m->proto != p->proto)
			continue;
		/* The L4 bytes of an ICMP error are the error's own, not the
		 * flow's: nothing here can say whether the flow's bytes
		 * matched. A missing L4 header (a non-first fragment) falls
		 * out of match_byte_test's length check. */
		if (p->icmp_error || !p->l4 ||
		    !match_byte_test(m, p->l4, p->l4len))
			return false;
	}
	return true;
}

static const struct vip *vip_find(const struct lb_flows *f, int family,
				  const uint8_t *addr)
{
	size_t len = addrlen(family);
	size_t i = addrhash(family, addr) & f->mask;

	for (;; i = (i + 1) & f->mask) {
		uint32_t s = f->slots[i];
		const struct vip *v;

		if (!s)
			return NULL;
		v = &f->vips[s - 1];
		if (v->family == family && !memcmp(v->addr, addr, len))
			return v;
	}
}

const struct lb_flow *lb_flows_classify(const struct lb_flows *f,
					const struct pkt *p)
{
	const struct vip *v;

	if (p->family != AF_INET && p->family != AF_INET6)
		return NULL;
	v = vip_find(f, p->family, p->dst);
	if (!v)
		return NULL;
	for (uint32_t i = 0; i < v->count; i++) {
		const struct lb_flow *fl = f->refs[v->first + i];

		if (flow_matches(fl, p))
			return fl;
	}
	return NULL;
}

/* ---- build ---- */

static int vipdef_cmp(const void *a, const void *b)
{
	const struct vipdef *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int vipdefs_build(Nsp__Vip *const *vips, size_t n, struct vipdef **out,
			 char *err, size_t errlen)
{
	struct vipdef *d;
	int rc;

	d = calloc(n ? n : 1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *a = str(vips[i]->address);

		d[i].name = str(vips[i]->name);
		/* The canonical form is "addr/32"; a bare address is the
		 * same thing and costs nothing to accept. */
		if ((cidr_parse(a, &d[i].addr) &&
		     cidr_parse_ip(a, &d[i].addr)) ||
		    d[i].addr.len != cidr_width(&d[i].addr)) {
			rc = fail(err, errlen,
				  "vip \"%s\": address: \"%s\" is not a single "
				  "address",
				  d[i].name, a);
			goto err_free;
		}
	}
	qsort(d, n, sizeof(*d), vipdef_cmp);
	for (size_t i = 1; i < n; i++) {
		if (!strcmp(d[i - 1].name, d[i].name)) {
			rc = fail(err, errlen, "vip \"%s\": name: duplicate",
				  d[i].name);
			goto err_free;
		}
	}
	*out = d;
	return 0;

err_free:
	free(d);
	return rc;
}

static const struct vipdef *vipdef_find(const struct vipdef *d, size_t n,
					const char *name)
{
	struct vipdef key = {.name = name};

	return bsearch(&key, d, n, sizeof(*d), vipdef_cmp);
}

/* Fills fl from the message m. On failure the caller frees what was
 * allocated (flow_clear copes with a half-filled flow). */
static int flow_compile(struct lb_flow *fl, const Nsp__Flow *m, char *err,
			size_t errlen)
{
	const char *name = str(m->name), *why;
	size_t i;

	fl->name = strdup(name);
	fl->stream = strdup(str(m->stream));
	if (!fl->name || !fl->stream)
		return -ENOMEM;
	fl->priority = m->priority;

	if (!m->n_protocols)
		memset(fl->protos, 0xff, sizeof(fl->protos));
	for (i = 0; i < m->n_protocols; i++) {
		enum match_proto pr;

		if (match_proto_parse(str(m->protocols[i]), &pr))
			return fail(
			    err, errlen,
			    "flow \"%s\": protocols: \"%s\" is not a protocol",
			    name, str(m->protocols[i]));
		proto_set(fl->protos, pr);
	}

	fl->src = calloc(m->n_source_subnets + 1, sizeof(*fl->src));
	fl->sports = calloc(m->n_source_port_ranges + 1, sizeof(*fl->sports));
	fl->dports =
	    calloc(m->n_destination_port_ranges + 1, sizeof(*fl->dports));
	fl->bytes = calloc(m->n_byte_matches + 1, sizeof(*fl->bytes));
	if (!fl->src || !fl->sports || !fl->dports || !fl->bytes)
		return -ENOMEM;

	for (i = 0; i < m->n_source_subnets; i++) {
		const char *s = str(m->source_subnets[i]);

		if (cidr_parse(s, &fl->src[i]))
			return fail(err, errlen,
				    "flow \"%s\": source-subnets: \"%s\" is "
				    "not a subnet",
				    name, s);
		cidr_mask(&fl->src[i]);
	}
	fl->n_src = m->n_source_subnets;

	for (i = 0; i < m->n_source_port_ranges; i++) {
		const char *s = str(m->source_port_ranges[i]);

		why = NULL;
		if (match_port_range_parse(s, &fl->sports[i], &why))
			return fail(err, errlen,
				    "flow \"%s\": source-port-ranges: \"%s\" "
				    "is not a port or port range%s%s",
				    name, s, why ? ": " : "", why ? why : "");
	}
	fl->n_sports = m->n_source_port_ranges;

	for (i = 0; i < m->n_destination_port_ranges; i++) {
		const char *s = str(m->destination_port_ranges[i]);

		why = NULL;
		if (match_port_range_parse(s, &fl->dports[i], &why))
			return fail(err, errlen,
				    "flow \"%s\": destination-port-ranges: "
				    "\"%s\" is not a port or port range%s%s",
				    name, s, why ? ": " : "", why ? why : "");
	}
	fl->n_dports = m->n_destination_port_ranges;

	for (i = 0; i < m->n_byte_matches; i++) {
		const char *s = str(m->byte_matches[i]);

		why = NULL;
		if (match_byte_parse(s, &fl->bytes[i], &why))
			return fail(err, errlen,
				    "flow \"%s\": byte-matches: \"%s\" is not "
				    "a byte match%s%s",
				    name, s, why ? ": " : "", why ? why : "");
	}
	fl->n_bytes = m->n_byte_matches;
	return 0;
}

static void flow_clear(struct lb_flow *fl)
{
	free(fl->name);
	free(fl->stream);
	free(fl->src);
	free(fl->sports);
	free(fl->dports);
	free(fl->bytes);
}

void lb_flows_free(struct lb_flows *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_flows; i++)
		flow_clear(&f->flows[i]);
	free(f->flows);
	free(f->counters);
	free(f->vips);
	free(f->refs);
	free(f->slots);
	free(f);
}

static int msg_name_cmp(const void *a, const void *b)
{
	Nsp__Flow *const *x = a, *const *y = b;

	return strcmp(str((*x)->name), str((*y)->name));
}

static int ref_cmp(const void *a, const void *b)
{
	const struct lb_flow *const *x = a, *const *y = b;

	if ((*x)->priority != (*y)->priority)
		return (*x)->priority > (*y)->priority ? -1 : 1;
	/* Equal priority: name order, which is index order. */
	return (*x)->index < (*y)->index ? -1 : (*x)->index > (*y)->index;
}

/* The VIP entry of an address, added when new. The slots are sized for
 * every VIP message, so there is always room. */
static struct vip *vip_get(struct lb_flows *f, const struct cidr *a)
{
	size_t len = addrlen(a->family);
	size_t i = addrhash(a->family, a->addr) & f->mask;
	struct vip *v;

	for (; f->slots[i]; i = (i + 1) & f->mask) {
		v = &f->vips[f->slots[i] - 1];
		if (v->family == a->family && !memcmp(v->addr, a->addr, len))
			return v;
	}
	v = &f->vips[f->n_vips++];
	v->family = a->family;
	memcpy(v->addr, a->addr, len);
	f->slots[i] = (uint32_t)f->n_vips;
	return v;
}

/* Two passes over every (flow, VIP) pair: the first counts each VIP's
 * flows, the second places them, so refs[] is one allocation. A flow that
 * names one VIP twice (or two VIPs of one address) is listed once: flows
 * are visited in order, so a repeat is always the VIP's last entry. */
static int index_build(struct lb_flows *f, Nsp__Flow *const *sorted,
		       const struct vipdef *defs, size_t n_defs, char *err,
		       size_t errlen)
{
	size_t total = 0, slots = 16;
	uint32_t pos = 0;

	while (slots < 2 * n_defs)
		slots <<= 1;
	f->mask = slots - 1;
	f->slots = calloc(slots, sizeof(*f->slots));
	f->vips = calloc(n_defs ? n_defs : 1, sizeof(*f->vips));
	if (!f->slots || !f->vips)
		return -ENOMEM;

	for (size_t i = 0; i < f->n_flows; i++) {
		const Nsp__Flow *m = sorted[i];

		for (size_t j = 0; j < m->n_vips; j++) {
			const struct vipdef *d;
			struct vip *v;

			d = vipdef_find(defs, n_defs, str(m->vips[j]));
			if (!d)
				return fail(
				    err, errlen,
				    "flow \"%s\": vips: \"%s\" is not a VIP",
				    str(m->name), str(m->vips[j]));
			v = vip_get(f, &d->addr);
			if (v->last != i + 1) {
				v->last = (uint32_t)(i + 1);
				v->count++;
				total++;
			}
		}
	}

	f->refs = calloc(total ? total : 1, sizeof(*f->refs));
	if (!f->refs)
		return -ENOMEM;
	for (size_t k = 0; k < f->n_vips; k++) {
		f->vips[k].first = pos;
		pos += f->vips[k].count;
		f->vips[k].count = 0;
		f->vips[k].last = 0;
	}
	for (size_t i = 0; i < f->n_flows; i++) {
		const Nsp__Flow *m = sorted[i];

		for (size_t j = 0; j < m->n_vips; j++) {
			const struct vipdef *d;
			struct vip *v;

			d = vipdef_find(defs, n_defs, str(m->vips[j]));
			v = vip_get(f, &d->addr);
			if (v->last != i + 1) {
				v->last = (uint32_t)(i + 1);
				f->refs[v->first + v->count++] = &f->flows[i];
			}
		}
	}
	for (size_t k = 0; k < f->n_vips; k++)
		qsort(&f->refs[f->vips[k].first], f->vips[k].count,
		      sizeof(*f->refs), ref_cmp);
	return 0;
}

int lb_flows_build(Nsp__Flow *const *flows, size_t n_flows,
		   Nsp__Vip *const *vips, size_t n_vips, struct lb_flows **out,
		   char *err, size_t errlen)
{
	struct vipdef *defs = NULL;
	Nsp__Flow **sorted;
	struct lb_flows *f;
	int rc;

	if (n_flows > UINT32_MAX / 2 || n_vips > UINT32_MAX / 2)
		return fail(err, errlen, "too many flows or VIPs");
	rc = vipdefs_build(vips, n_vips, &defs, err, errlen);
	if (rc)
		return rc;

	rc = -ENOMEM;
	sorted = calloc(n_flows ? n_flows : 1, sizeof(*sorted));
	if (!sorted)
		goto err_defs;
	if (n_flows)
		memcpy(sorted, flows, n_flows * sizeof(*sorted));
	qsort(sorted, n_flows, sizeof(*sorted), msg_name_cmp);
	for (size_t i = 1; i < n_flows; i++) {
		if (!strcmp(str(sorted[i - 1]->name), str(sorted[i]->name))) {
			rc = fail(err, errlen, "flow \"%s\": name: duplicate",
				  str(sorted[i]->name));
			goto err_sorted;
		}
	}

	f = calloc(1, sizeof(*f));
	if (!f)
		goto err_sorted;
	f->flows = calloc(n_flows ? n_flows : 1, sizeof(*f->flows));
	f->counters = calloc(n_flows ? n_flows : 1, sizeof(*f->counters));
	if (!f->flows || !f->counters)
		goto err_flows;
	for (size_t i = 0; i < n_flows; i++) {
		struct lb_flow *fl = &f->flows[i];

		/* Counted before compiling, so that lb_flows_free frees a
		 * flow that failed half way. */
		f->n_flows = i + 1;
		fl->index = i;
		fl->counter = &f->counters[i];
		rc = flow_compile(fl, sorted[i], err, errlen);
		if (rc)
			goto err_flows;
	}
	rc = index_build(f, sorted, defs, n_vips, err, errlen);
	if (rc)
		goto err_flows;

	free(sorted);
	free(defs);
	*out = f;
	return 0;

err_flows:
	lb_flows_free(f);
err_sorted:
	free(sorted);
err_defs:
	free(defs);
	return rc;
}

/* ---- accessors ---- */

size_t lb_flows_count(const struct lb_flows *f)
{
	return f->n_flows;
}

const struct lb_flow *lb_flows_at(const struct lb_flows *f, size_t i)
{
	return i < f->n_flows ? &f->flows[i] : NULL;
}

static int flow_name_cmp(const void *key, const void *elem)
{
	const struct lb_flow *fl = elem;

	return strcmp(key, fl->name);
}

const struct lb_flow *lb_flows_find(const struct lb_flows *f, const char *name)
{
	return bsearch(name, f->flows, f->n_flows, sizeof(*f->flows),
		       flow_name_cmp);
}

uint64_t *lb_flows_counters(const struct lb_flows *f)
{
	return f->counters;
}

void lb_flows_carry_counters(struct lb_flows *f, const struct lb_flows *old)
{
	size_t i = 0, j = 0;

	if (!old)
		return;
	/* Both are in name order: one merge pass. */
	while (i < f->n_flows && j < old->n_flows) {
		int c = strcmp(f->flows[i].name, old->flows[j].name);

		if (!c)
			f->counters[i++] = old->counters[j++];
		else if (c < 0)
			i++;
		else
			j++;
	}
}

const char *lb_flow_name(const struct lb_flow *fl)
{
	return fl->name;
}

const char *lb_flow_stream(const struct lb_flow *fl)
{
	return fl->stream;
}

int32_t lb_flow_priority(const struct lb_flow *fl)
{
	return fl->priority;
}

size_t lb_flow_index(const struct lb_flow *fl)
{
	return fl->index;
}

uint64_t *lb_flow_counter(const struct lb_flow *fl)
{
	return fl->counter;
}

/* ---- the Maglev hash ---- */

uint64_t lb_flow_hash(const struct pkt *p)
{
	uint8_t b[38];
	size_t alen = addrlen(p->family), n = 0;

	b[n++] = p->family == AF_INET ? 4 : 6;
	b[n++] = p->proto;
	memcpy(&b[n], p->src, alen);
	n += alen;
	memcpy(&b[n], p->dst, alen);
	n += alen;
	/* Ports byte by byte, big endian, so hosts of either byte order
	 * hash alike. */
	b[n++] = (uint8_t)(p->sport >> 8);
	b[n++] = (uint8_t)p->sport;
	b[n++] = (uint8_t)(p->dport >> 8);
	b[n++] = (uint8_t)p->dport;
	return XXH3_64bits_withSeed(b, n, LB_FLOW_HASH_SEED);
}
