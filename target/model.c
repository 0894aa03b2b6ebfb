/* strait-target's pure core. See model.h. */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errtext.h"
#include "rpc.pb-c.h"

int tgt_name_check(const char *what, const char *name, char *err,
		   size_t errlen)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0)
		return errtext(-EINVAL, err, errlen, "%s is empty", what);
	if (n > TGT_NAME_MAX)
		return errtext(-EINVAL, err, errlen,
			       "%s '%.*s...' is longer than %d bytes", what,
			       TGT_NAME_MAX, name, TGT_NAME_MAX);
	if (name[0] == '.' || name[0] == '-')
		return errtext(-EINVAL, err, errlen,
			       "%s '%s' starts with '%c'", what, name, name[0]);
	size_t ok = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "abcdefghijklmnopqrstuvwxyz0123456789._-");
	if (ok != n)
		return errtext(-EINVAL, err, errlen,
			       "%s '%s' holds a character other than A-Z a-z "
			       "0-9 . _ -",
			       what, name);
	return 0;
}

int tgt_slot_take(uint64_t *used)
{
	for (unsigned k = 0; k < TGT_SLOTS; k++) {
		if (!(*used & (1ull << k))) {
			*used |= 1ull << k;
			return (int)k;
		}
	}
	return -ENOSPC;
}

void tgt_slot_put(uint64_t *used, unsigned slot)
{
	if (slot < TGT_SLOTS)
		*used &= ~(1ull << slot);
}

void tgt_slot_ifname(unsigned slot, char buf[16])
{
	snprintf(buf, 16, "st%u", slot);
}

/* ---- the pod link ---- */

static int parse_family(const char *ip, const char *gw, int family,
			struct cidr *ipc, struct cidr *gwc, char *err,
			size_t errlen)
{
	const char *name = family == AF_INET ? "IPv4" : "IPv6";
	memset(ipc, 0, sizeof(*ipc));
	memset(gwc, 0, sizeof(*gwc));
	bool has_ip = ip && ip[0], has_gw = gw && gw[0];
	if (!has_ip && !has_gw)
		return 0;
	if (has_ip != has_gw)
		return errtext(-EINVAL, err, errlen,
			       "the proxy gave an %s %s without a %s", name,
			       has_ip ? "address" : "gateway",
			       has_ip ? "gateway" : "address");
	if (cidr_parse(ip, ipc) < 0 || ipc->family != family ||
	    ipc->len == 0 || ipc->len >= cidr_width(ipc))
		return errtext(-EINVAL, err, errlen,
			       "the proxy's %s address '%s' is not an address "
			       "on a subnet",
			       name, ip);
	if (cidr_parse_ip(gw, gwc) < 0 || gwc->family != family)
		return errtext(-EINVAL, err, errlen,
			       "the proxy's %s gateway '%s' is not an address",
			       name, gw);
	struct cidr net = *ipc;
	cidr_mask(&net);
	if (!cidr_contains(&net, gwc) ||
	    memcmp(gwc->addr, ipc->addr, sizeof(gwc->addr)) == 0)
		return errtext(-EINVAL, err, errlen,
			       "the proxy's %s gateway %s is not another "
			       "address of %s's subnet",
			       name, gw, ip);
	return 0;
}

int tgt_link_parse(const char *ipv4, const char *ipv6, const char *gw4,
		   const char *gw6, const char *ifname, struct tgt_link *out,
		   char *err, size_t errlen)
{
	struct tgt_link l;
	memset(&l, 0, sizeof(l));
	int rc = parse_family(ipv4, gw4, AF_INET, &l.ip[0], &l.gw[0], err,
			      errlen);
	if (rc < 0)
		return rc;
	rc = parse_family(ipv6, gw6, AF_INET6, &l.ip[1], &l.gw[1], err,
			  errlen);
	if (rc < 0)
		return rc;
	if (!l.ip[0].family && !l.ip[1].family)
		return errtext(-EINVAL, err, errlen,
			       "the proxy gave the pod no address");
	size_t n = ifname ? strlen(ifname) : 0;
	if (n == 0 || n >= sizeof(l.ifname) || strchr(ifname, '/') ||
	    strchr(ifname, ' '))
		return errtext(-EINVAL, err, errlen,
			       "the proxy's link name '%s' is not a link name",
			       ifname ? ifname : "");
	memcpy(l.ifname, ifname, n + 1);
	*out = l;
	return 0;
}

static bool same_cidr(const struct cidr *a, const struct cidr *b)
{
	if (a->family != b->family)
		return false;
	return !a->family || cidr_equal(a, b);
}

bool tgt_link_same(const struct tgt_link *a, const struct tgt_link *b)
{
	for (int f = 0; f < 2; f++)
		if (!same_cidr(&a->ip[f], &b->ip[f]) ||
		    !same_cidr(&a->gw[f], &b->gw[f]))
			return false;
	return strcmp(a->ifname, b->ifname) == 0;
}

/* ---- VIP sets ---- */

void tgt_vipset_free(struct tgt_vipset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Orders IPv4 before IPv6, then by address bytes. */
static int cmp(const struct cidr *a, const struct cidr *b)
{
	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	return memcmp(a->addr, b->addr, 16);
}

/* The index of c in s, or of where it would go (*found false). */
static size_t locate(const struct tgt_vipset *s, const struct cidr *c,
		     bool *found)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = cmp(&s->v[mid], c);
		if (d == 0) {
			*found = true;
			return mid;
		}
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static struct cidr host(const struct cidr *c)
{
	struct cidr h;
	memset(&h, 0, sizeof(h));
	h.family = c->family;
	memcpy(h.addr, c->addr, c->family == AF_INET ? 4 : 16);
	h.len = (uint8_t)cidr_width(&h);
	return h;
}

bool tgt_vipset_has(const struct tgt_vipset *s, const struct cidr *c)
{
	struct cidr h = host(c);
	bool found;
	locate(s, &h, &found);
	return found;
}

int tgt_vipset_add(struct tgt_vipset *s, const struct cidr *c)
{
	struct cidr h = host(c);
	bool found;
	size_t i = locate(s, &h, &found);
	if (found)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct cidr *nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
	s->v[i] = h;
	s->n++;
	return 1;
}

int tgt_vipset_del(struct tgt_vipset *s, const struct cidr *c)
{
	struct cidr h = host(c);
	bool found;
	size_t i = locate(s, &h, &found);
	if (!found)
		return 0;
	memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
	s->n--;
	return 1;
}

int tgt_vipset_from_texts(char *const *texts, size_t n,
			  struct tgt_vipset *out, size_t *bad)
{
	size_t skipped = 0;
	tgt_vipset_free(out);
	for (size_t i = 0; i < n; i++) {
		struct cidr c;
		const char *t = texts[i] ? texts[i] : "";
		if (cidr_parse(t, &c) < 0 && cidr_parse_ip(t, &c) < 0) {
			skipped++;
			continue;
		}
		if (c.len != cidr_width(&c) || out->n >= TGT_VIPS_MAX) {
			skipped++;
			continue;
		}
		if (tgt_vipset_add(out, &c) < 0) {
			tgt_vipset_free(out);
			return -ENOMEM;
		}
	}
	if (bad)
		*bad = skipped;
	return 0;
}

int tgt_vips_for_link(const struct tgt_vipset *trench,
		      const struct tgt_link *l, struct tgt_vipset *out)
{
	tgt_vipset_free(out);
	for (size_t i = 0; i < trench->n; i++) {
		int f = trench->v[i].family == AF_INET6;
		if (!l->gw[f].family)
			continue;
		if (tgt_vipset_add(out, &trench->v[i]) < 0) {
			tgt_vipset_free(out);
			return -ENOMEM;
		}
	}
	return 0;
}

/* ---- refusals ---- */

int tgt_register_refusal(const char *trench, const char *conduit,
			 const char *stream, int code, const char *message,
			 uint32_t max_targets, const char **reason, char *msg,
			 size_t msglen)
{
	const char *m = message && message[0] ? message : "no reason given";
	switch (code) {
	case RPC__CODE__RESOURCE_EXHAUSTED:
		*reason = "stream_full";
		if (max_targets)
			snprintf(msg, msglen,
				 "stream %s/%s/%s is full (max-targets %u)",
				 trench, conduit, stream, max_targets);
		else
			snprintf(msg, msglen, "%s", m);
		return code;
	case RPC__CODE__NOT_FOUND:
		*reason = "unknown_stream";
		snprintf(msg, msglen, "%s", m);
		return code;
	case RPC__CODE__UNAVAILABLE:
	case RPC__CODE__CANCELLED:
	case RPC__CODE__DEADLINE_EXCEEDED:
		*reason = "nsp_unavailable";
		snprintf(msg, msglen, "NSP did not answer the registration: %s",
			 m);
		return RPC__CODE__UNAVAILABLE;
	default:
		*reason = "";
		snprintf(msg, msglen, "NSP refused the registration: %s", m);
		return code;
	}
}

int tgt_exit_code(int code, const char *reason)
{
	if (code == RPC__CODE__OK)
		return TGT_EXIT_OK;
	if (code == RPC__CODE__UNAVAILABLE ||
	    code == RPC__CODE__DEADLINE_EXCEEDED)
		return TGT_EXIT_UNREACHABLE;
	if (reason && (strcmp(reason, "proxy_unavailable") == 0 ||
		       strcmp(reason, "nsp_unavailable") == 0))
		return TGT_EXIT_UNREACHABLE;
	return TGT_EXIT_REFUSED;
}

/* ---- the state machines ---- */

enum tgt_cstep tgt_conduit_next(enum tgt_cstate st, bool needed, bool stale,
				enum tgt_peer proxy)
{
	switch (st) {
	case TGT_C_DETACHED:
		if (!needed)
			return TGT_CSTEP_FREE;
		if (proxy == TGT_PEER_UP)
			return TGT_CSTEP_ATTACH;
		if (proxy == TGT_PEER_DOWN)
			return TGT_CSTEP_FAIL;
		return TGT_CSTEP_WAIT;
	case TGT_C_ATTACHED:
		if (!needed)
			return TGT_CSTEP_DETACH;
		if (stale && proxy == TGT_PEER_UP)
			return TGT_CSTEP_ATTACH;
		return TGT_CSTEP_WAIT;
	case TGT_C_ATTACHING:
	case TGT_C_DETACHING:
	default:
		return TGT_CSTEP_WAIT;
	}
}

enum tgt_sstep tgt_stream_next(const struct tgt_sview *s, enum tgt_peer nsp,
			       uint64_t now)
{
	switch (s->state) {
	case TGT_S_OPENING:
		if (s->inflight)
			return now >= s->deadline ? TGT_SSTEP_TIMEOUT
						  : TGT_SSTEP_WAIT;
		/* NSP is needed in any case: fail before attaching. */
		if (nsp == TGT_PEER_DOWN)
			return TGT_SSTEP_FAIL_NSP;
		if (s->link_ready && nsp == TGT_PEER_UP)
			return TGT_SSTEP_REGISTER;
		return now >= s->deadline ? TGT_SSTEP_TIMEOUT : TGT_SSTEP_WAIT;
	case TGT_S_OPEN:
	case TGT_S_REREG:
		if (s->inflight || nsp != TGT_PEER_UP || !s->link_ready)
			return TGT_SSTEP_WAIT;
		return now >= s->due ? TGT_SSTEP_REGISTER : TGT_SSTEP_WAIT;
	case TGT_S_CLOSING:
		if (s->inflight)
			return TGT_SSTEP_WAIT;
		if (s->registered && nsp == TGT_PEER_UP)
			return TGT_SSTEP_UNREGISTER;
		return TGT_SSTEP_DONE;
	case TGT_S_DONE:
	default:
		return TGT_SSTEP_WAIT;
	}
}

const char *tgt_sstate_name(enum tgt_sstate st)
{
	switch (st) {
	case TGT_S_OPENING:
		return "opening";
	case TGT_S_OPEN:
		return "open";
	case TGT_S_REREG:
		return "re-registering";
	case TGT_S_CLOSING:
		return "closing";
	case TGT_S_DONE:
	default:
		return "closed";
	}
}
