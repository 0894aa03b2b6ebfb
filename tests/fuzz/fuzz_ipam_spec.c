/* libFuzzer target: strait-ipam's prefix spec ([TRENCH=]PREFIX:CONDUIT_LEN:
 * NODE_LEN) and the cidr parser under it. Nothing may crash or read out of
 * bounds; a spec that parses must pass the tree rules, print back to a
 * spec that parses to the same, and carry a tree in which a first child,
 * a bridge and a release work and stay inside the prefix. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../ipam/spec.h"
#include "../../ipam/tree.h"

static void cidr_round_trip(const char *s)
{
	struct cidr c, again;
	char buf[CIDR_STRLEN];
	if (cidr_parse(s, &c) == 0) {
		assert(c.len <= cidr_width(&c));
		assert(cidr_format(&c, buf, sizeof(buf)) == 0);
		assert(cidr_parse(buf, &again) == 0);
		assert(cidr_equal(&c, &again));
	}
	if (cidr_parse_ip(s, &c) == 0) {
		assert(c.len == cidr_width(&c));
		assert(cidr_format_ip(&c, buf, sizeof(buf)) == 0);
		assert(cidr_parse_ip(buf, &again) == 0);
		assert(cidr_equal(&c, &again));
	}
}

/* A tree shaped by the spec: the first child of the first node is offset 2
 * of the first node prefix, inside the trench prefix. */
static void tree_of(const struct ipam_spec *sp)
{
	struct ipam_tree_config cfg = { 0 };
	struct ipam_tree *t = ipam_tree_new(&cfg);
	struct ipam_changes c = { 0 };
	struct ipam_result r;
	char err[256];
	const char *trench = sp->trench[0] ? sp->trench : "t";
	int family = sp->fs.prefix.family;
	assert(t);
	if (ipam_tree_set_trench(t, trench, family, &sp->fs, err,
				 sizeof(err)) != 0)
		abort();
	struct ipam_child_ref a = { trench, "c", "n", "a", family };
	struct ipam_child_ref b = { trench, "c", "n", "b", family };
	if (ipam_allocate(t, &a, false, 1, 1, &c, &r, NULL, err,
			  sizeof(err)) == 0) {
		assert(r.created);
		assert(cidr_contains(&sp->fs.prefix, &r.address));
		assert(cidr_contains(&r.node_prefix, &r.address));
		assert(r.address.len == sp->fs.node_len);
		assert(c.n == 4);
	}
	ipam_changes_reset(&c);
	if (ipam_allocate(t, &b, true, 1, 1, &c, &r, NULL, err,
			  sizeof(err)) == 0)
		assert(cidr_contains(&r.node_prefix, &r.gateway));
	ipam_changes_reset(&c);
	bool existed;
	assert(ipam_release(t, &a, 2, &c, &existed, NULL, err, sizeof(err)) ==
	       0);
	ipam_changes_free(&c);
	ipam_tree_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1024)
		return 0;
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';

	cidr_round_trip(s);

	struct ipam_spec sp, again;
	char err[256], buf[128];
	err[0] = '\0';
	if (ipam_spec_parse(s, &sp, err, sizeof(err)) == 0) {
		assert(ipam_spec_check(&sp.fs, NULL, 0) == 0);
		assert(!sp.trench[0] ||
		       ipam_name_check("trench", sp.trench, NULL, 0) == 0);
		assert(ipam_spec_format(&sp.fs, buf, sizeof(buf)) == 0);
		assert(ipam_spec_parse(buf, &again, NULL, 0) == 0);
		assert(!again.trench[0]);
		assert(cidr_equal(&sp.fs.prefix, &again.fs.prefix));
		assert(sp.fs.conduit_len == again.fs.conduit_len);
		assert(sp.fs.node_len == again.fs.node_len);
		tree_of(&sp);
	} else {
		assert(memchr(err, '\0', sizeof(err)) && err[0]);
	}
	free(s);
	return 0;
}
