/* Unit tests of target/print.c: how the strait-target commands print
 * the agent's answers, in text and JSON. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../target/print.h"

/* A status with one attached conduit, one open stream and one that
 * failed its refresh, plus a detached conduit with an opening stream. */
struct fixture {
	Target__StatusResponse r;
	Target__ConduitState c1, c2, *cs[2];
	Target__StreamKey k1, k2, k3;
	Target__StreamState s1, s2, s3, *ss[3];
	char *ips[2], *gws[2], *vips[2];
};

static void build(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	target__status_response__init(&f->r);
	f->r.pod = "pod-1";
	f->r.nsp_connected = true;
	f->r.changes = 14;
	target__conduit_state__init(&f->c1);
	f->c1.trench = "trench-a";
	f->c1.conduit = "c1";
	f->c1.proxy = "/run/strait/proxy-c1.sock";
	f->c1.attached = true;
	f->c1.table = 4000;
	f->ips[0] = "169.255.1.2/24";
	f->ips[1] = "fd00::2/64";
	f->gws[0] = "169.255.1.1";
	f->gws[1] = "fd00::1";
	f->vips[0] = "198.18.100.1";
	f->vips[1] = "fd00:100::1";
	f->c1.ips = f->ips;
	f->c1.n_ips = 2;
	f->c1.gateways = f->gws;
	f->c1.n_gateways = 2;
	f->c1.vips = f->vips;
	f->c1.n_vips = 2;
	target__conduit_state__init(&f->c2);
	f->c2.trench = "trench-a";
	f->c2.conduit = "c2";
	f->c2.proxy = "/run/strait/proxy-c2.sock";
	f->c2.table = 4001;
	f->cs[0] = &f->c1;
	f->cs[1] = &f->c2;
	f->r.conduits = f->cs;
	f->r.n_conduits = 2;

	Target__StreamKey *k[3] = { &f->k1, &f->k2, &f->k3 };
	const char *cond[3] = { "c1", "c1", "c2" };
	const char *names[3] = { "s1", "s2", "s9" };
	Target__StreamState *s[3] = { &f->s1, &f->s2, &f->s3 };
	for (int i = 0; i < 3; i++) {
		target__stream_key__init(k[i]);
		k[i]->trench = "trench-a";
		k[i]->conduit = (char *)cond[i];
		k[i]->stream = (char *)names[i];
		target__stream_state__init(s[i]);
		s[i]->stream = k[i];
		f->ss[i] = s[i];
	}
	f->s1.identifier = 1;
	f->s1.state = "open";
	f->s2.identifier = 2;
	f->s2.state = "re-registering";
	f->s2.error = "refresh refused: NOT_FOUND: gone";
	f->s3.state = "opening";
	f->r.streams = f->ss;
	f->r.n_streams = 3;
}

static void test_status_text(void **state)
{
	(void)state;
	struct fixture f;
	build(&f);
	struct buf out = { 0 };
	assert_int_equal(tgt_print_status(&f.r, &out), 0);
	assert_string_equal(
		out.data,
		"pod pod-1: NSP connected, 3 stream(s), change 14\n"
		"conduit trench-a/c1: attached, table 4000, proxy "
		"/run/strait/proxy-c1.sock\n"
		"  ips       169.255.1.2/24 fd00::2/64\n"
		"  gateways  169.255.1.1 fd00::1\n"
		"  vips      198.18.100.1 fd00:100::1\n"
		"  stream s1  open  identifier 1\n"
		"  stream s2  re-registering  identifier 2  (refresh refused: "
		"NOT_FOUND: gone)\n"
		"conduit trench-a/c2: not attached, table 4001, proxy "
		"/run/strait/proxy-c2.sock\n"
		"  ips       -\n"
		"  gateways  -\n"
		"  vips      -\n"
		"  stream s9  opening\n");
	buf_free(&out);

	/* An agent with nothing open. */
	Target__StatusResponse empty = TARGET__STATUS_RESPONSE__INIT;
	assert_int_equal(tgt_print_status(&empty, &out), 0);
	assert_string_equal(out.data,
			    "pod : NSP not connected, 0 stream(s), change 0\n");
	buf_free(&out);
}

static void test_status_json(void **state)
{
	(void)state;
	struct fixture f;
	build(&f);
	f.r.n_conduits = 1;
	f.r.n_streams = 1;
	struct buf out = { 0 };
	assert_int_equal(tgt_print_status_json(&f.r, false, &out), 0);
	assert_string_equal(
		out.data,
		"{\"pod\":\"pod-1\",\"nsp_connected\":true,\"changes\":14,"
		"\"conduits\":[{\"trench\":\"trench-a\",\"conduit\":\"c1\","
		"\"proxy\":\"/run/strait/proxy-c1.sock\",\"attached\":true,"
		"\"ips\":[\"169.255.1.2/24\",\"fd00::2/64\"],"
		"\"gateways\":[\"169.255.1.1\",\"fd00::1\"],"
		"\"vips\":[\"198.18.100.1\",\"fd00:100::1\"],\"table\":4000}],"
		"\"streams\":[{\"stream\":{\"trench\":\"trench-a\","
		"\"conduit\":\"c1\",\"stream\":\"s1\"},\"identifier\":1,"
		"\"state\":\"open\",\"error\":\"\"}]}\n");
	buf_free(&out);
	/* Pretty output is the same document over several lines. */
	assert_int_equal(tgt_print_status_json(&f.r, true, &out), 0);
	assert_non_null(strstr(out.data, "\n  \"pod\": \"pod-1\",\n"));
	buf_free(&out);
}

static void test_open_close(void **state)
{
	(void)state;
	Target__StreamKey k = TARGET__STREAM_KEY__INIT;
	k.trench = "trench-a";
	k.conduit = "c1";
	k.stream = "s1";
	char *ips[] = { "169.255.1.2/24", "fd00::2/64" };
	Target__OpenResponse o = TARGET__OPEN_RESPONSE__INIT;
	o.identifier = 3;
	o.ips = ips;
	o.n_ips = 2;
	struct buf out = { 0 };
	assert_int_equal(tgt_print_open(&k, &o, &out), 0);
	assert_string_equal(out.data, "opened trench-a/c1/s1: identifier 3, "
				      "ips 169.255.1.2/24 fd00::2/64\n");
	buf_free(&out);
	assert_int_equal(tgt_print_open_json(&k, &o, &out), 0);
	assert_string_equal(out.data,
			    "{\"trench\":\"trench-a\",\"conduit\":\"c1\","
			    "\"stream\":\"s1\",\"identifier\":3,\"ips\":"
			    "[\"169.255.1.2/24\",\"fd00::2/64\"]}\n");
	buf_free(&out);

	Target__CloseResponse c = TARGET__CLOSE_RESPONSE__INIT;
	c.existed = true;
	assert_int_equal(tgt_print_close(&k, &c, &out), 0);
	assert_string_equal(out.data, "closed trench-a/c1/s1\n");
	buf_free(&out);
	c.existed = false;
	assert_int_equal(tgt_print_close(&k, &c, &out), 0);
	assert_string_equal(out.data, "trench-a/c1/s1 was not open\n");
	buf_free(&out);
	assert_int_equal(tgt_print_close_json(&k, &c, &out), 0);
	assert_string_equal(out.data, "{\"trench\":\"trench-a\",\"conduit\":"
				      "\"c1\",\"stream\":\"s1\",\"existed\":"
				      "false}\n");
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_text),
		cmocka_unit_test(test_status_json),
		cmocka_unit_test(test_open_close),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
