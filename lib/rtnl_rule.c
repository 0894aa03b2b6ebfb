/* lib/rtnl: policy rules (RTM_NEWRULE / RTM_DELRULE / RTM_GETRULE). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include "errtext.h"
#include "rtnl_impl.h"

static int check_family(int family, bool unspec_ok)
{
	if (family == AF_INET || family == AF_INET6)
		return 0;
	return unspec_ok && family == AF_UNSPEC ? 0 : -EINVAL;
}

/* Builds a rule request from its key. Zero fields are left out, which for
 * a delete makes them wildcards in the kernel's match (rule_find()). */
static void rule_msg(struct rtnl *r, uint16_t type, uint16_t flags,
		     const struct rtnl_rule_info *key)
{
	struct fib_rule_hdr *frh;
	struct nlmsghdr *nlh =
	    rtnl_msg(r, type, flags, sizeof(*frh), (void **)&frh);

	frh->family = (uint8_t)key->family;
	frh->action = key->action;
	/* The header's table is 8 bits; FRA_TABLE carries the real one. */
	frh->table = key->table < 256 ? (uint8_t)key->table : RT_TABLE_UNSPEC;
	if (key->table)
		mnl_attr_put_u32(nlh, FRA_TABLE, key->table);
	if (key->priority)
		mnl_attr_put_u32(nlh, FRA_PRIORITY, key->priority);
	if (key->fwmark || key->fwmask) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, key->fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, key->fwmask);
	}
	if (key->src.len) {
		frh->src_len = key->src.len;
		rtnl_put_addr(nlh, FRA_SRC, &key->src);
	}
}

int rtnl_rule_add(struct rtnl *r, int family, uint32_t fwmark, uint32_t table,
		  uint32_t priority, char *err, size_t errlen)
{
	struct rtnl_rule_info key = {
	    family,	  priority, table, fwmark, fwmark ? 0xffffffffu : 0,
	    FR_ACT_TO_TBL};

	if (check_family(family, false) < 0 || !table)
		return errtext(-EINVAL, err, errlen,
			       "rule add: needs a family and a table");
	/* EXCL: the kernel refuses an identical rule with -EEXIST instead
	 * of adding a second copy. */
	rule_msg(r, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, &key);
	return rtnl_talk(r, NULL, NULL, "rule add", err, errlen);
}

int rtnl_rule_del(struct rtnl *r, int family, uint32_t fwmark, uint32_t table,
		  uint32_t priority, char *err, size_t errlen)
{
	struct rtnl_rule_info key = {family,
				     priority,
				     table,
				     fwmark,
				     fwmark ? 0xffffffffu : 0,
				     table ? FR_ACT_TO_TBL : FR_ACT_UNSPEC};

	if (check_family(family, false) < 0)
		return errtext(-EINVAL, err, errlen, "rule del: bad family");
	rule_msg(r, RTM_DELRULE, 0, &key);
	return rtnl_talk(r, NULL, NULL, "rule del", err, errlen);
}

/* The key of a "from" rule. A source of length 0 is refused: the kernel
 * reads src_len 0 in a delete as "any source", so rtnl_rule_del_from()
 * would remove whatever other rule shares the table and priority. */
static int from_key(struct rtnl_rule_info *key, const struct cidr *src,
		    uint32_t table, uint32_t priority)
{
	if (!src || check_family(src->family, false) < 0 || !src->len ||
	    src->len > cidr_width(src))
		return -EINVAL;
	memset(key, 0, sizeof(*key));
	key->family = src->family;
	key->priority = priority;
	key->table = table;
	key->action = table ? FR_ACT_TO_TBL : FR_ACT_UNSPEC;
	key->src = *src;
	cidr_mask(&key->src);
	return 0;
}

int rtnl_rule_add_from(struct rtnl *r, const struct cidr *src, uint32_t table,
		       uint32_t priority, char *err, size_t errlen)
{
	struct rtnl_rule_info key;

	if (from_key(&key, src, table, priority) < 0 || !table)
		return errtext(-EINVAL, err, errlen,
			       "rule add from: needs a source prefix and a "
			       "table");
	rule_msg(r, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, &key);
	return rtnl_talk(r, NULL, NULL, "rule add from", err, errlen);
}

int rtnl_rule_del_from(struct rtnl *r, const struct cidr *src, uint32_t table,
		       uint32_t priority, char *err, size_t errlen)
{
	struct rtnl_rule_info key;

	if (from_key(&key, src, table, priority) < 0)
		return errtext(-EINVAL, err, errlen,
			       "rule del from: needs a source prefix");
	rule_msg(r, RTM_DELRULE, 0, &key);
	return rtnl_talk(r, NULL, NULL, "rule del from", err, errlen);
}

static int parse_rule(const struct nlmsghdr *nlh, void *item, void *arg)
{
	const struct nlattr *tb[FRA_MAX + 1];
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	struct rtnl_rule_info *rule = item;

	(void)arg;
	if (nlh->nlmsg_type != RTM_NEWRULE)
		return 0;
	if (rtnl_parse_attrs(nlh, sizeof(*frh), tb, FRA_MAX) < 0)
		return -EBADMSG;
	/* An AF_UNSPEC dump also brings the multicast routing families'
	 * rules (RTNL_FAMILY_IPMR, ...): not ours to list or flush. */
	if (check_family(frh->family, false) < 0)
		return 0;
	memset(rule, 0, sizeof(*rule));
	rule->family = frh->family;
	rule->action = frh->action;
	rule->table = rtnl_attr_u32(tb[FRA_TABLE], frh->table);
	rule->priority = rtnl_attr_u32(tb[FRA_PRIORITY], 0);
	rule->fwmark = rtnl_attr_u32(tb[FRA_FWMARK], 0);
	rule->fwmask = rtnl_attr_u32(tb[FRA_FWMASK], 0);
	if (tb[FRA_SRC]) {
		if (rtnl_get_addr(tb[FRA_SRC], frh->family, &rule->src) < 0 ||
		    frh->src_len > rule->src.len)
			return -EBADMSG;
		rule->src.len = frh->src_len;
	}
	return 1;
}

/* Reads all rules of family into vec. */
static int dump_rules(struct rtnl *r, int family, struct rtnl_vec *vec,
		      const char *what, char *err, size_t errlen)
{
	struct fib_rule_hdr *frh;

	rtnl_msg(r, RTM_GETRULE, NLM_F_DUMP, sizeof(*frh), (void **)&frh);
	frh->family = (uint8_t)family;
	return rtnl_dump(r, vec, parse_rule, NULL, what, err, errlen);
}

int rtnl_rule_list(struct rtnl *r, int family, rtnl_rule_cb cb, void *arg,
		   char *err, size_t errlen)
{
	struct rtnl_vec vec = {.size = sizeof(struct rtnl_rule_info)};
	const struct rtnl_rule_info *rules;
	int rc;

	if (check_family(family, true) < 0)
		return errtext(-EINVAL, err, errlen, "rule list: bad family");
	rc = dump_rules(r, family, &vec, "rule list", err, errlen);
	rules = vec.items;
	for (size_t i = 0; !rc && i < vec.n; i++)
		rc = cb(&rules[i], arg);
	free(vec.items);
	return rc;
}

int rtnl_rule_flush_table_range(struct rtnl *r, int family, uint32_t table_lo,
				uint32_t table_hi, char *err, size_t errlen)
{
	struct rtnl_vec vec = {.size = sizeof(struct rtnl_rule_info)};
	const struct rtnl_rule_info *rules;
	int rc;

	if (check_family(family, true) < 0 || table_lo > table_hi)
		return errtext(-EINVAL, err, errlen,
			       "rule flush: bad family or table range");
	/* Dump first, then delete: requests cannot be sent while a dump is
	 * still being read on the same socket. */
	rc = dump_rules(r, family, &vec, "rule flush", err, errlen);
	rules = vec.items;
	for (size_t i = 0; !rc && i < vec.n; i++) {
		if (rules[i].table < table_lo || rules[i].table > table_hi)
			continue;
		/* The full key we read back, priority included, so the
		 * kernel deletes this rule and not a look-alike. */
		rule_msg(r, RTM_DELRULE, 0, &rules[i]);
		rc = rtnl_talk(r, NULL, NULL, "rule flush", err, errlen);
		if (rc == -ENOENT)
			rc = 0;
	}
	free(vec.items);
	return rc;
}
