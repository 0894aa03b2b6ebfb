#include "rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errtext.h"
#include "subproc.h"


/* ---- the pure half: names, rendering, listings ---- */

/* Names iptables gives a meaning of its own: a chain called like this
 * would be refused or, worse, read as a verdict in "-j NAME". */
static const char *const reserved[] = {
    "PREROUTING", "INPUT",  "FORWARD", "OUTPUT",  "POSTROUTING", "ACCEPT",
    "DROP",	  "RETURN", "QUEUE",   "NFQUEUE", "CONTINUE",	 "REJECT",
    "MARK",	  "LOG",    "DNAT",    "SNAT",	  "MASQUERADE",
};

static bool name_chars_ok(const char *name, size_t max)
{
	size_t n = strlen(name);

	/* A leading '-' would make the name an option to iptables. */
	if (n == 0 || n > max || name[0] == '-')
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

bool lb_rules_chain_valid(const char *name)
{
	if (!name || !name_chars_ok(name, LB_RULES_CHAIN_MAX))
		return false;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(name, reserved[i]) == 0)
			return false;
	return true;
}

static bool comment_valid(const char *c)
{
	size_t n = strlen(c);

	return n > 0 && n <= LB_RULES_COMMENT_MAX &&
	       strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "abcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

int lb_rules_spec_check(const struct lb_rules_spec *s, char *err, size_t errlen)
{
	if (!lb_rules_chain_valid(s->chain))
		return errtext(-EINVAL, err, errlen,
			       "chain name \"%.40s\" is not 1-%d of "
			       "[A-Za-z0-9-] starting with a letter or digit, "
			       "or is reserved",
			       s->chain ? s->chain : "(null)",
			       LB_RULES_CHAIN_MAX);
	if (s->queue_first > s->queue_last)
		return errtext(-EINVAL, err, errlen,
			       "queue range %u:%u is reversed", s->queue_first,
			       s->queue_last);
	if (s->comment && !comment_valid(s->comment))
		return errtext(-EINVAL, err, errlen,
			       "comment \"%.40s\" is not 1-%d of "
			       "[A-Za-z0-9._:-]",
			       s->comment, LB_RULES_COMMENT_MAX);
	if (s->n_vips && !s->vips)
		return errtext(-EINVAL, err, errlen, "no VIP array");
	for (size_t i = 0; i < s->n_vips; i++) {
		const struct cidr *v = &s->vips[i];

		if (v->family != AF_INET && v->family != AF_INET6)
			return errtext(-EINVAL, err, errlen,
				       "VIP %zu has family %d", i, v->family);
		if (v->len > cidr_width(v))
			return errtext(-EINVAL, err, errlen,
				       "VIP %zu has prefix length %u", i,
				       v->len);
	}
	return 0;
}

static int cidr_order(const void *pa, const void *pb)
{
	const struct cidr *a = pa, *b = pb;
	int c = memcmp(a->addr, b->addr, sizeof(a->addr));

	if (c)
		return c;
	return (int)a->len - (int)b->len;
}

/* The family's VIPs, host bits cleared, sorted, duplicates dropped, in a
 * new array the caller frees. *n gets the count (the array may be NULL
 * when it is 0). */
static int family_vips(const struct lb_rules_spec *s, int family,
		       struct cidr **out, size_t *n)
{
	struct cidr *v = NULL;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (s->n_vips) {
		v = calloc(s->n_vips, sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	for (size_t i = 0; i < s->n_vips; i++) {
		if (s->vips[i].family != family)
			continue;
		v[k] = s->vips[i];
		cidr_mask(&v[k]);
		k++;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), cidr_order);
	size_t u = 0;

	for (size_t i = 0; i < k; i++)
		if (u == 0 || cidr_order(&v[u - 1], &v[i]) != 0)
			v[u++] = v[i];
	*out = v;
	*n = u;
	return 0;
}

int lb_rules_render(const struct lb_rules_spec *s, int family,
		    unsigned jumps_now, struct buf *out, char *err,
		    size_t errlen)
{
	struct cidr *vips;
	size_t n;
	int rc;

	if (family != AF_INET && family != AF_INET6)
		return errtext(-EINVAL, err, errlen, "family %d", family);
	rc = lb_rules_spec_check(s, err, errlen);
	if (rc < 0)
		return rc;
	rc = family_vips(s, family, &vips, &n);
	if (rc < 0)
		return errtext(rc, err, errlen, "out of memory");

	/* The ":chain" line creates the chain when it is absent; with
	 * --noflush it also empties an existing one, but that is a detail
	 * of iptables-restore, so "-F" says it outright. */
	rc = buf_printf(out, "*mangle\n:%s - [0:0]\n-F %s\n", s->chain,
			s->chain);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char addr[CIDR_STRLEN];

		/* Cannot fail: the VIP was checked and the buffer fits any. */
		cidr_format(&vips[i], addr, sizeof(addr));
		rc = buf_printf(out, "-A %s -d %s", s->chain, addr);
		if (rc == 0 && s->comment)
			rc = buf_printf(out, " -m comment --comment %s",
					s->comment);
		if (rc == 0 && s->queue_first == s->queue_last)
			rc = buf_printf(out, " -j NFQUEUE --queue-num %u",
					s->queue_first);
		else if (rc == 0)
			rc =
			    buf_printf(out, " -j NFQUEUE --queue-balance %u:%u",
				       s->queue_first, s->queue_last);
		if (rc == 0 && s->fail_open)
			rc = buf_puts(out, " --queue-bypass");
		if (rc == 0)
			rc = buf_putc(out, '\n');
	}
	/* Insert (not append) so that the LB sees its packets before any
	 * other mangle rule can mark or drop them. */
	if (rc == 0 && jumps_now == 0)
		rc = buf_printf(out, "-I PREROUTING -j %s\n", s->chain);
	for (unsigned i = 1; rc == 0 && i < jumps_now; i++)
		rc = buf_printf(out, "-D PREROUTING -j %s\n", s->chain);
	if (rc == 0)
		rc = buf_puts(out, "COMMIT\n");
	free(vips);
	if (rc < 0)
		return errtext(rc, err, errlen, "out of memory");
	return 0;
}

/* Calls fn on each line of text (without its newline); stops at the first
 * non-zero return and returns it. */
static int each_line(const char *text,
		     int (*fn)(const char *line, size_t len, void *arg),
		     void *arg)
{
	const char *p = text;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		int rc = fn(p, len, arg);

		if (rc)
			return rc;
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

struct jump_count {
	const char *chain;
	unsigned n;
};

static int count_one(const char *line, size_t len, void *arg)
{
	struct jump_count *jc = arg;
	static const char head[] = "-A PREROUTING -j ";
	size_t hl = sizeof(head) - 1;

	if (len == hl + strlen(jc->chain) && memcmp(line, head, hl) == 0 &&
	    memcmp(line + hl, jc->chain, len - hl) == 0)
		jc->n++;
	return 0;
}

unsigned lb_rules_count_jumps(const char *listing, const char *chain)
{
	struct jump_count jc = {.chain = chain};

	each_line(listing, count_one, &jc);
	return jc.n;
}

/* Reads the next space-separated word of line[0..len) from *pos, treating
 * a double-quoted string (as -S prints a comment with spaces) as part of
 * one word. Sets *w and *wl; returns false at the end. */
static bool next_word(const char *line, size_t len, size_t *pos, const char **w,
		      size_t *wl)
{
	size_t i = *pos;
	bool quoted = false;

	while (i < len && line[i] == ' ')
		i++;
	if (i >= len)
		return false;
	*w = line + i;
	for (; i < len && (quoted || line[i] != ' '); i++) {
		if (line[i] == '\\' && i + 1 < len)
			i++;
		else if (line[i] == '"')
			quoted = !quoted;
	}
	*wl = (size_t)(line + i - *w);
	*pos = i;
	return true;
}

struct removal {
	const char *name;
	bool prefix;
	int pass; /* 0: -D the jumps; 1: -F the chains; 2: -X them */
	struct buf *out;
	unsigned chains;
};

static bool name_matches(const struct removal *r, const char *w, size_t wl)
{
	size_t nl = strlen(r->name);

	if (r->prefix)
		return wl >= nl && memcmp(w, r->name, nl) == 0;
	return wl == nl && memcmp(w, r->name, nl) == 0;
}

/* True when the "-A ..." rule jumps to (or goes to) a matching chain. */
static bool rule_targets(const struct removal *r, const char *line, size_t len)
{
	size_t pos = 0;
	const char *w;
	size_t wl;
	bool jump = false;

	while (next_word(line, len, &pos, &w, &wl)) {
		if (jump && name_matches(r, w, wl))
			return true;
		jump = (wl == 2 && memcmp(w, "-j", 2) == 0) ||
		       (wl == 2 && memcmp(w, "-g", 2) == 0);
	}
	return false;
}

static int remove_one(const char *line, size_t len, void *arg)
{
	struct removal *r = arg;

	if (len > 3 && memcmp(line, "-N ", 3) == 0 &&
	    name_matches(r, line + 3, len - 3)) {
		if (r->pass == 0)
			r->chains++;
		else if (buf_printf(r->out, "-%c %.*s\n",
				    r->pass == 1 ? 'F' : 'X', (int)(len - 3),
				    line + 3) < 0)
			return -ENOMEM;
	} else if (r->pass == 0 && len > 3 && memcmp(line, "-A ", 3) == 0 &&
		   rule_targets(r, line, len)) {
		/* The rule exactly as iptables printed it, so -D finds it
		 * even if it has matches of its own. */
		if (buf_printf(r->out, "-D %.*s\n", (int)(len - 3), line + 3) <
		    0)
			return -ENOMEM;
	}
	return 0;
}

int lb_rules_render_remove(const char *listing, const char *name, bool prefix,
			   struct buf *out, unsigned *n_chains)
{
	struct buf body = {0};
	struct removal r = {.name = name, .prefix = prefix, .out = &body};
	int rc = 0;

	/* Three passes because the order matters inside the transaction: a
	 * chain can be deleted only once nothing jumps to it and it is
	 * empty. */
	for (r.pass = 0; rc == 0 && r.pass < 3; r.pass++)
		rc = each_line(listing, remove_one, &r);
	if (rc == 0 && (r.chains || body.len))
		rc = buf_printf(out, "*mangle\n%sCOMMIT\n", buf_str(&body));
	if (n_chains)
		*n_chains = r.chains;
	buf_free(&body);
	return rc;
}

/* ---- the I/O half: running iptables ---- */

static int run(const char *const argv[], const struct buf *in, struct buf *out,
	       char *err, size_t errlen)
{
	return subproc_run(argv, in, out, LB_RULES_TIMEOUT_MS, err, errlen);
}

static const char *tool(int family, bool restore)
{
	if (family == AF_INET)
		return restore ? "iptables-restore" : "iptables";
	return restore ? "ip6tables-restore" : "ip6tables";
}

/* The family's mangle table as `iptables -S` prints it. -w waits for the
 * xtables lock where a legacy backend has one; nf_tables ignores it. */
static int list_mangle(int family, struct buf *out, char *err, size_t errlen)
{
	const char *argv[] = {
	    tool(family, false), "-w", "-t", "mangle", "-S", NULL};

	buf_reset(out);
	return run(argv, NULL, out, err, errlen);
}

static int restore(int family, const struct buf *in, char *err, size_t errlen)
{
	const char *argv[] = {tool(family, true), "-w", "--noflush", NULL};

	return run(argv, in, NULL, err, errlen);
}

int lb_rules_apply(const struct lb_rules_spec *s, char *err, size_t errlen)
{
	static const int families[] = {AF_INET, AF_INET6};
	struct buf listing = {0}, in = {0};
	int rc = lb_rules_spec_check(s, err, errlen);

	for (size_t i = 0; rc == 0 && i < 2; i++) {
		int f = families[i];

		rc = list_mangle(f, &listing, err, errlen);
		if (rc < 0)
			break;
		buf_reset(&in);
		rc = lb_rules_render(
		    s, f, lb_rules_count_jumps(buf_str(&listing), s->chain),
		    &in, err, errlen);
		if (rc == 0)
			rc = restore(f, &in, err, errlen);
	}
	buf_free(&listing);
	buf_free(&in);
	return rc;
}

static int remove_matching(const char *name, bool prefix, char *err,
			   size_t errlen)
{
	static const int families[] = {AF_INET, AF_INET6};
	struct buf listing = {0}, in = {0};
	int first = 0;

	if (!lb_rules_chain_valid(name))
		return errtext(-EINVAL, err, errlen,
			       "chain name \"%.40s\" is not valid",
			       name ? name : "(null)");
	/* Each family on its own: a failure in one must not leave the
	 * other's leftovers in place. */
	for (size_t i = 0; i < 2; i++) {
		int f = families[i], rc;

		buf_reset(&in);
		rc = list_mangle(f, &listing, first ? NULL : err, errlen);
		if (rc == 0) {
			rc = lb_rules_render_remove(buf_str(&listing), name,
						    prefix, &in, NULL);
			if (rc < 0 && !first)
				errtext(rc, err, errlen, "out of memory");
		}
		if (rc == 0 && in.len)
			rc = restore(f, &in, first ? NULL : err, errlen);
		if (rc < 0 && !first)
			first = rc;
	}
	buf_free(&listing);
	buf_free(&in);
	return first;
}

int lb_rules_remove(const char *chain, char *err, size_t errlen)
{
	return remove_matching(chain, false, err, errlen);
}

int lb_rules_cleanup_stale(const char *prefix, char *err, size_t errlen)
{
	return remove_matching(prefix, true, err, errlen);
}
