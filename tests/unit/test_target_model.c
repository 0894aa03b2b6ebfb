/* Unit tests of target/model.c: strait-target's pure core (names, slots,
 * the link an Attach answer describes, VIP sets, refusals, and the
 * decisions of the conduit and stream state machines). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../target/model.h"
#include "rpc.pb-c.h"

static struct cidr ip(const char *s)
{
	struct cidr c;
	if (cidr_parse(s, &c) < 0)
		assert_int_equal(cidr_parse_ip(s, &c), 0);
	return c;
}

static void test_names(void **state)
{
	(void)state;
	char err[128];
	assert_int_equal(tgt_name_check("stream", "stream-a.1_x", err,
					sizeof(err)), 0);
	assert_int_equal(tgt_name_check("stream", "", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "stream is empty");
	assert_int_equal(tgt_name_check("stream", NULL, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(tgt_name_check("conduit", "a/b", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "'a/b'"));
	assert_int_equal(tgt_name_check("conduit", ".x", NULL, 0), -EINVAL);
	assert_int_equal(tgt_name_check("conduit", "-x", NULL, 0), -EINVAL);
	assert_int_equal(tgt_name_check("pod", "a b", NULL, 0), -EINVAL);
	char longest[TGT_NAME_MAX + 2];
	memset(longest, 'a', sizeof(longest));
	longest[TGT_NAME_MAX] = '\0';
	assert_int_equal(tgt_name_check("pod", longest, NULL, 0), 0);
	longest[TGT_NAME_MAX] = 'a';
	longest[TGT_NAME_MAX + 1] = '\0';
	assert_int_equal(tgt_name_check("pod", longest, NULL, 0), -EINVAL);
}

static void test_slots(void **state)
{
	(void)state;
	uint64_t used = 0;
	assert_int_equal(tgt_slot_take(&used), 0);
	assert_int_equal(tgt_slot_take(&used), 1);
	assert_int_equal(tgt_slot_take(&used), 2);
	tgt_slot_put(&used, 1);
	assert_int_equal(tgt_slot_take(&used), 1);
	tgt_slot_put(&used, 99); /* out of range: ignored */
	for (int k = 3; k < TGT_SLOTS; k++)
		assert_int_equal(tgt_slot_take(&used), k);
	assert_int_equal(tgt_slot_take(&used), -ENOSPC);
	tgt_slot_put(&used, 63);
	assert_int_equal(tgt_slot_take(&used), 63);

	char name[16];
	tgt_slot_ifname(0, name);
	assert_string_equal(name, "st0");
	tgt_slot_ifname(63, name);
	assert_string_equal(name, "st63");
	assert_int_equal(tgt_slot_table(0), 4000);
	assert_int_equal(tgt_slot_table(63), TGT_TABLE_LAST);
}

static void test_link_parse(void **state)
{
	(void)state;
	struct tgt_link l;
	char err[256];
	assert_int_equal(tgt_link_parse("169.255.1.2/24", "fd00::2/64",
					"169.255.1.1", "fd00::1", "st0", &l,
					err, sizeof(err)),
			 0);
	assert_int_equal(l.ip[0].family, AF_INET);
	assert_int_equal(l.ip[0].len, 24);
	assert_int_equal(l.ip[1].family, AF_INET6);
	assert_true(cidr_equal(&l.gw[0], &(struct cidr){ 0 }) == false);
	assert_string_equal(l.ifname, "st0");

	/* One family only. */
	assert_int_equal(tgt_link_parse("", "fd00::2/64", "", "fd00::1",
					"st1", &l, err, sizeof(err)),
			 0);
	assert_int_equal(l.ip[0].family, 0);
	assert_int_equal(l.gw[0].family, 0);
	assert_int_equal(l.ip[1].family, AF_INET6);

	/* Refusals, each with its reason. */
	assert_int_equal(tgt_link_parse("", "", "", "", "st0", &l, err,
					sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "the proxy gave the pod no address");
	assert_int_equal(tgt_link_parse("169.255.1.2/24", "", "", "", "st0",
					&l, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "without a gateway"));
	assert_int_equal(tgt_link_parse("169.255.1.2/24", "", "169.255.2.1",
					"", "st0", &l, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "subnet"));
	assert_int_equal(tgt_link_parse("169.255.1.2/24", "", "169.255.1.2",
					"", "st0", &l, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(tgt_link_parse("fd00::2/64", "", "fd00::1", "",
					"st0", &l, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(tgt_link_parse("169.255.1.2/32", "", "169.255.1.1",
					"", "st0", &l, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(tgt_link_parse("169.255.1.2", "", "169.255.1.1", "",
					"st0", &l, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(tgt_link_parse("169.255.1.2/24", "", "169.255.1.1",
					"", "", &l, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(tgt_link_parse("169.255.1.2/24", "", "169.255.1.1",
					"", "a-very-long-name-x", &l, err,
					sizeof(err)),
			 -EINVAL);
	assert_int_equal(tgt_link_parse("169.255.1.2/24", "", "169.255.1.1",
					"", "a/b", &l, err, sizeof(err)),
			 -EINVAL);
}

static void test_link_same(void **state)
{
	(void)state;
	struct tgt_link a, b;
	assert_int_equal(tgt_link_parse("169.255.1.2/24", "fd00::2/64",
					"169.255.1.1", "fd00::1", "st0", &a,
					NULL, 0),
			 0);
	b = a;
	assert_true(tgt_link_same(&a, &b));
	assert_int_equal(tgt_link_parse("169.255.1.3/24", "fd00::2/64",
					"169.255.1.1", "fd00::1", "st0", &b,
					NULL, 0),
			 0);
	assert_false(tgt_link_same(&a, &b));
	assert_int_equal(tgt_link_parse("169.255.1.2/24", "", "169.255.1.1",
					"", "st0", &b, NULL, 0),
			 0);
	assert_false(tgt_link_same(&a, &b));
	assert_int_equal(tgt_link_parse("169.255.1.2/24", "fd00::2/64",
					"169.255.1.1", "fd00::1", "st1", &b,
					NULL, 0),
			 0);
	assert_false(tgt_link_same(&a, &b));
}

static void test_vipset(void **state)
{
	(void)state;
	struct tgt_vipset s = { 0 };
	struct cidr v6 = ip("fd00:100::1"), v4b = ip("198.18.100.2"),
		    v4a = ip("198.18.100.1");
	assert_int_equal(tgt_vipset_add(&s, &v6), 1);
	assert_int_equal(tgt_vipset_add(&s, &v4b), 1);
	assert_int_equal(tgt_vipset_add(&s, &v4a), 1);
	assert_int_equal(tgt_vipset_add(&s, &v4a), 0);
	assert_int_equal(s.n, 3);
	/* IPv4 first, each family in address order. */
	assert_true(cidr_equal(&s.v[0], &v4a));
	assert_true(cidr_equal(&s.v[1], &v4b));
	assert_true(cidr_equal(&s.v[2], &v6));
	/* A length other than the full width means the same host. */
	struct cidr with_len = ip("198.18.100.2/24");
	assert_true(tgt_vipset_has(&s, &with_len));
	assert_int_equal(tgt_vipset_add(&s, &with_len), 0);
	assert_int_equal(tgt_vipset_del(&s, &v4b), 1);
	assert_int_equal(tgt_vipset_del(&s, &v4b), 0);
	assert_false(tgt_vipset_has(&s, &v4b));
	assert_int_equal(s.n, 2);
	for (int i = 0; i < 100; i++) {
		char t[32];
		snprintf(t, sizeof(t), "198.18.1.%d", 200 - i);
		struct cidr c = ip(t);
		assert_int_equal(tgt_vipset_add(&s, &c), 1);
	}
	for (size_t i = 1; i < s.n; i++)
		assert_true(s.v[i - 1].family < s.v[i].family ||
			    (s.v[i - 1].family == s.v[i].family &&
			     memcmp(s.v[i - 1].addr, s.v[i].addr, 16) < 0));
	tgt_vipset_free(&s);
	assert_int_equal(s.n, 0);
	assert_null(s.v);
}

static void test_vipset_texts(void **state)
{
	(void)state;
	char *texts[] = {
		"198.18.100.1/32", "fd00:100::1/128", "198.18.100.2",
		"198.18.100.0/24", "not an address", "198.18.100.1", NULL,
	};
	struct tgt_vipset s = { 0 };
	size_t bad = 99;
	assert_int_equal(tgt_vipset_from_texts(texts, 7, &s, &bad), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(bad, 3);
	struct cidr c = ip("198.18.100.2");
	assert_true(tgt_vipset_has(&s, &c));
	assert_int_equal(s.v[0].len, 32);
	assert_int_equal(s.v[2].len, 128);

	/* The set is rebuilt, not added to. */
	char *one[] = { "fd00:100::9/128" };
	assert_int_equal(tgt_vipset_from_texts(one, 1, &s, NULL), 0);
	assert_int_equal(s.n, 1);

	/* A link of one family carries that family's VIPs only. */
	char *both[] = { "198.18.100.1/32", "fd00:100::1/128" };
	assert_int_equal(tgt_vipset_from_texts(both, 2, &s, NULL), 0);
	struct tgt_link l;
	assert_int_equal(tgt_link_parse("169.255.1.2/24", "", "169.255.1.1",
					"", "st0", &l, NULL, 0),
			 0);
	struct tgt_vipset w = { 0 };
	assert_int_equal(tgt_vips_for_link(&s, &l, &w), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.v[0].family, AF_INET);
	assert_int_equal(tgt_link_parse("169.255.1.2/24", "fd00::2/64",
					"169.255.1.1", "fd00::1", "st0", &l,
					NULL, 0),
			 0);
	assert_int_equal(tgt_vips_for_link(&s, &l, &w), 0);
	assert_int_equal(w.n, 2);
	tgt_vipset_free(&w);
	tgt_vipset_free(&s);
}

static void test_refusals(void **state)
{
	(void)state;
	const char *reason = NULL;
	char msg[256];
	int code = tgt_register_refusal(
		"trench-a", "c1", "s1", RPC__CODE__RESOURCE_EXHAUSTED,
		"stream trench-a/c1/s1 is full: all 2 identifiers are taken", 2,
		&reason, msg, sizeof(msg));
	assert_int_equal(code, RPC__CODE__RESOURCE_EXHAUSTED);
	assert_string_equal(reason, "stream_full");
	assert_string_equal(msg, "stream trench-a/c1/s1 is full (max-targets 2)");
	/* max-targets unknown: NSP's own words. */
	tgt_register_refusal("trench-a", "c1", "s1",
			     RPC__CODE__RESOURCE_EXHAUSTED, "full here", 0,
			     &reason, msg, sizeof(msg));
	assert_string_equal(msg, "full here");
	code = tgt_register_refusal("t", "c", "s", RPC__CODE__NOT_FOUND,
				    "unknown stream t/c/s", 0, &reason, msg,
				    sizeof(msg));
	assert_int_equal(code, RPC__CODE__NOT_FOUND);
	assert_string_equal(reason, "unknown_stream");
	assert_string_equal(msg, "unknown stream t/c/s");
	code = tgt_register_refusal("t", "c", "s", RPC__CODE__CANCELLED, "",
				    0, &reason, msg, sizeof(msg));
	assert_int_equal(code, RPC__CODE__UNAVAILABLE);
	assert_string_equal(reason, "nsp_unavailable");
	code = tgt_register_refusal("t", "c", "s", RPC__CODE__INVALID_ARGUMENT,
				    "bad ip", 0, &reason, msg, sizeof(msg));
	assert_int_equal(code, RPC__CODE__INVALID_ARGUMENT);
	assert_string_equal(reason, "");
	assert_string_equal(msg, "NSP refused the registration: bad ip");

	assert_int_equal(tgt_exit_code(RPC__CODE__OK, ""), TGT_EXIT_OK);
	assert_int_equal(tgt_exit_code(RPC__CODE__RESOURCE_EXHAUSTED,
				       "stream_full"),
			 TGT_EXIT_REFUSED);
	assert_int_equal(tgt_exit_code(RPC__CODE__NOT_FOUND, NULL),
			 TGT_EXIT_REFUSED);
	assert_int_equal(tgt_exit_code(RPC__CODE__UNAVAILABLE, ""),
			 TGT_EXIT_UNREACHABLE);
	assert_int_equal(tgt_exit_code(RPC__CODE__DEADLINE_EXCEEDED, ""),
			 TGT_EXIT_UNREACHABLE);
	assert_int_equal(tgt_exit_code(RPC__CODE__INTERNAL,
				       "proxy_unavailable"),
			 TGT_EXIT_UNREACHABLE);
	assert_int_equal(tgt_exit_code(RPC__CODE__CANCELLED, ""),
			 TGT_EXIT_REFUSED);
}

static void test_conduit_next(void **state)
{
	(void)state;
	const enum tgt_peer U = TGT_PEER_UNKNOWN, UP = TGT_PEER_UP,
			    DOWN = TGT_PEER_DOWN;
	/* Detached. */
	assert_int_equal(tgt_conduit_next(TGT_C_DETACHED, false, false, UP),
			 TGT_CSTEP_FREE);
	assert_int_equal(tgt_conduit_next(TGT_C_DETACHED, true, false, UP),
			 TGT_CSTEP_ATTACH);
	assert_int_equal(tgt_conduit_next(TGT_C_DETACHED, true, false, U),
			 TGT_CSTEP_WAIT);
	assert_int_equal(tgt_conduit_next(TGT_C_DETACHED, true, false, DOWN),
			 TGT_CSTEP_FAIL);
	/* Attached. */
	assert_int_equal(tgt_conduit_next(TGT_C_ATTACHED, true, false, UP),
			 TGT_CSTEP_WAIT);
	assert_int_equal(tgt_conduit_next(TGT_C_ATTACHED, true, true, UP),
			 TGT_CSTEP_ATTACH);
	assert_int_equal(tgt_conduit_next(TGT_C_ATTACHED, true, true, DOWN),
			 TGT_CSTEP_WAIT);
	assert_int_equal(tgt_conduit_next(TGT_C_ATTACHED, false, false, UP),
			 TGT_CSTEP_DETACH);
	/* A lost proxy does not hold up the detach (the routes go). */
	assert_int_equal(tgt_conduit_next(TGT_C_ATTACHED, false, true, DOWN),
			 TGT_CSTEP_DETACH);
	/* Waiting for an answer. */
	assert_int_equal(tgt_conduit_next(TGT_C_ATTACHING, false, false, UP),
			 TGT_CSTEP_WAIT);
	assert_int_equal(tgt_conduit_next(TGT_C_DETACHING, true, false, UP),
			 TGT_CSTEP_WAIT);
}

static enum tgt_sstep next(enum tgt_sstate st, bool inflight, bool reg,
			   bool ready, enum tgt_peer nsp, uint64_t now)
{
	struct tgt_sview v = {
		.state = st,
		.inflight = inflight,
		.registered = reg,
		.link_ready = ready,
		.due = 1000,
		.deadline = 8000,
	};
	return tgt_stream_next(&v, nsp, now);
}

static void test_stream_next(void **state)
{
	(void)state;
	const enum tgt_peer U = TGT_PEER_UNKNOWN, UP = TGT_PEER_UP,
			    DOWN = TGT_PEER_DOWN;
	/* Opening: waits for the link, then registers; NSP down fails it
	 * at once; the deadline fails it too. */
	assert_int_equal(next(TGT_S_OPENING, false, false, false, UP, 0),
			 TGT_SSTEP_WAIT);
	assert_int_equal(next(TGT_S_OPENING, false, false, true, UP, 0),
			 TGT_SSTEP_REGISTER);
	assert_int_equal(next(TGT_S_OPENING, false, false, true, U, 0),
			 TGT_SSTEP_WAIT);
	assert_int_equal(next(TGT_S_OPENING, false, false, false, DOWN, 0),
			 TGT_SSTEP_FAIL_NSP);
	assert_int_equal(next(TGT_S_OPENING, false, false, false, UP, 8000),
			 TGT_SSTEP_TIMEOUT);
	assert_int_equal(next(TGT_S_OPENING, true, false, true, UP, 7999),
			 TGT_SSTEP_WAIT);
	assert_int_equal(next(TGT_S_OPENING, true, false, true, UP, 8000),
			 TGT_SSTEP_TIMEOUT);
	/* Open: refreshes when due and NSP is there. */
	assert_int_equal(next(TGT_S_OPEN, false, true, true, UP, 999),
			 TGT_SSTEP_WAIT);
	assert_int_equal(next(TGT_S_OPEN, false, true, true, UP, 1000),
			 TGT_SSTEP_REGISTER);
	assert_int_equal(next(TGT_S_OPEN, false, true, true, DOWN, 5000),
			 TGT_SSTEP_WAIT);
	assert_int_equal(next(TGT_S_OPEN, true, true, true, UP, 5000),
			 TGT_SSTEP_WAIT);
	assert_int_equal(next(TGT_S_REREG, false, true, true, UP, 5000),
			 TGT_SSTEP_REGISTER);
	assert_int_equal(next(TGT_S_REREG, false, true, false, UP, 5000),
			 TGT_SSTEP_WAIT);
	/* Closing: unregisters what NSP holds, else is done. */
	assert_int_equal(next(TGT_S_CLOSING, false, true, true, UP, 0),
			 TGT_SSTEP_UNREGISTER);
	assert_int_equal(next(TGT_S_CLOSING, true, true, true, UP, 0),
			 TGT_SSTEP_WAIT);
	assert_int_equal(next(TGT_S_CLOSING, false, true, true, DOWN, 0),
			 TGT_SSTEP_DONE);
	assert_int_equal(next(TGT_S_CLOSING, false, false, true, UP, 0),
			 TGT_SSTEP_DONE);
	assert_int_equal(next(TGT_S_DONE, false, false, true, UP, 0),
			 TGT_SSTEP_WAIT);

	assert_string_equal(tgt_sstate_name(TGT_S_OPENING), "opening");
	assert_string_equal(tgt_sstate_name(TGT_S_OPEN), "open");
	assert_string_equal(tgt_sstate_name(TGT_S_REREG), "re-registering");
	assert_string_equal(tgt_sstate_name(TGT_S_CLOSING), "closing");
	assert_string_equal(tgt_sstate_name(TGT_S_DONE), "closed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_link_parse),
		cmocka_unit_test(test_link_same),
		cmocka_unit_test(test_vipset),
		cmocka_unit_test(test_vipset_texts),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_conduit_next),
		cmocka_unit_test(test_stream_next),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
