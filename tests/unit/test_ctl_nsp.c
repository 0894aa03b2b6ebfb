/* straitctl's nsp side for strait-tun (ctl/args.c, ctl/print_target.c,
 * ctl/print_config.c): the command lines of --type tunnel|instance and
 * --service, what each refuses, and how tunnels, instances and services
 * print. No server is needed: the messages are built here. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../ctl/args.h"
#include "../../ctl/print_config.h"
#include "../../ctl/print_target.h"

/* Parses a NULL-terminated command line (after "straitctl"). */
static int parse(struct ctl_args *a, char *err, size_t errlen, ...)
{
	char *argv[32] = {"straitctl"};
	int argc = 1;
	va_list ap;

	va_start(ap, errlen);
	for (char *w; (w = va_arg(ap, char *)) && argc < 31;)
		argv[argc++] = w;
	va_end(ap);
	argv[argc] = NULL;
	return ctl_args_parse(argc, argv, NULL, a, err, errlen);
}

#define PARSE(a, err, ...) parse(a, err, sizeof(err), __VA_ARGS__, NULL)

/* Asserts that the line is refused with a message holding want. */
#define REFUSED(want, ...)                                                     \
	do {                                                                   \
		struct ctl_args a_;                                            \
		char e_[256];                                                  \
		assert_int_equal(PARSE(&a_, e_, __VA_ARGS__), -EINVAL);        \
		if (!strstr(e_, want))                                         \
			fail_msg("\"%s\" lacks \"%s\"", e_, want);             \
		ctl_args_free(&a_);                                            \
	} while (0)

static void test_args_register(void **state)
{
	struct ctl_args a;
	char err[256];
	(void)state;

	assert_int_equal(PARSE(&a, err, "nsp", "register", "--type", "tunnel",
			       "--trench", "t", "--ip", "192.0.2.1/32",
			       "--context", "node=n1", "--context",
			       "port=7779"),
			 0);
	assert_int_equal(a.type, NSP__TARGET_TYPE__TUNNEL);
	assert_null(a.conduit);
	assert_int_equal(a.n_context, 2);
	ctl_args_free(&a);

	assert_int_equal(PARSE(&a, err, "nsp", "register", "--type", "instance",
			       "--trench", "t", "--service", "web", "--ip",
			       "10.0.0.1/32", "--identifier", "2", "--keep"),
			 0);
	assert_int_equal(a.type, NSP__TARGET_TYPE__INSTANCE);
	assert_string_equal(a.service, "web");
	assert_null(a.stream);
	assert_int_equal(a.identifier, 2);
	assert_true(a.keep);
	ctl_args_free(&a);

	/* --service alone means an instance, for unregister too. */
	assert_int_equal(PARSE(&a, err, "nsp", "unregister", "--trench", "t",
			       "--service", "web", "--ip", "10.0.0.1/32"),
			 0);
	assert_int_equal(a.type, NSP__TARGET_TYPE__INSTANCE);
	ctl_args_free(&a);

	REFUSED("--conduit 'lb' is not for --type tunnel (a tunnel serves a "
		"whole trench)",
		"nsp", "register", "--type", "tunnel", "--trench", "t",
		"--conduit", "lb", "--ip", "192.0.2.1/32");
	REFUSED("--stream 's' is for --type target only (a tunnel serves a "
		"whole trench)",
		"nsp", "register", "--type", "tunnel", "--trench", "t",
		"--stream", "s", "--ip", "192.0.2.1/32");
	REFUSED("--identifier is for --type target and instance only", "nsp",
		"register", "--type", "tunnel", "--trench", "t", "--identifier",
		"1", "--ip", "192.0.2.1/32");
	REFUSED("--service is required for --type instance", "nsp", "register",
		"--type", "instance", "--trench", "t", "--ip", "10.0.0.1/32");
	REFUSED("--stream 'web' is for --type target (an instance names its "
		"service with --service)",
		"nsp", "register", "--type", "instance", "--trench", "t",
		"--stream", "web", "--ip", "10.0.0.1/32");
	REFUSED("--conduit 'lb' is not for --type instance", "nsp", "register",
		"--service", "web", "--trench", "t", "--conduit", "lb", "--ip",
		"10.0.0.1/32");
	REFUSED("--service 'web' is for --type instance only", "nsp",
		"register", "--type", "target", "--service", "web", "--trench",
		"t", "--conduit", "lb", "--stream", "s", "--ip", "10.0.0.1/32");
	REFUSED("--type 'tunnels' is not one of target, frontend, proxy, "
		"tunnel, instance",
		"nsp", "register", "--type", "tunnels", "--trench", "t", "--ip",
		"10.0.0.1/32");
	REFUSED("--service needs a value", "nsp", "register", "--trench", "t",
		"--ip", "10.0.0.1/32", "--service");
	REFUSED("--service is not an option of 'nsp config'", "nsp", "config",
		"--service", "web");
	/* The old types keep their rules. */
	REFUSED("--conduit is required", "nsp", "register", "--type", "proxy",
		"--trench", "t", "--ip", "10.0.0.1/32");
}

static void test_args_filter(void **state)
{
	struct ctl_args a;
	char err[256];
	(void)state;

	assert_int_equal(PARSE(&a, err, "nsp", "list", "--service", "web"), 0);
	assert_int_equal(a.type, NSP__TARGET_TYPE__INSTANCE);
	ctl_args_free(&a);
	assert_int_equal(
	    PARSE(&a, err, "nsp", "watch", "--type", "any", "--service", "web"),
	    0);
	assert_int_equal(a.type, NSP__TARGET_TYPE__ANY_TYPE);
	ctl_args_free(&a);
	assert_int_equal(
	    PARSE(&a, err, "nsp", "watch", "--type", "tunnel", "--trench", "t"),
	    0);
	assert_int_equal(a.type, NSP__TARGET_TYPE__TUNNEL);
	ctl_args_free(&a);
	REFUSED("--service and --stream both name the stream field", "nsp",
		"list", "--service", "web", "--stream", "web");
	REFUSED("--service is for --type instance (or any), not tunnel", "nsp",
		"list", "--service", "web", "--type", "tunnel");
	REFUSED("--type 'x' is not one of target, frontend, proxy, tunnel, "
		"instance, any",
		"nsp", "list", "--type", "x");

	assert_int_equal(
	    PARSE(&a, err, "nsp", "config", "--kind", "service", "--watch"), 0);
	assert_int_equal(a.kind, CTL_KIND_SERVICE);
	assert_string_equal(ctl_kind_name(a.kind), "services");
	ctl_args_free(&a);
}

/* ---- printing ---- */

static char *tun_ips[] = {"192.0.2.1/32", "2001:db8::1/128"};
static char *inst_ips[] = {"10.0.1.5/32"};

struct built {
	Nsp__Target t;
	Nsp__StreamRef ref;
	Nsp__Target__ContextEntry ce[2];
	Nsp__Target__ContextEntry *cep[2];
};

static Nsp__Target *build(struct built *b, Nsp__TargetType type,
			  const char *service)
{
	b->t = (Nsp__Target)NSP__TARGET__INIT;
	b->ref = (Nsp__StreamRef)NSP__STREAM_REF__INIT;
	b->ref.trench = "trench-a";
	b->ref.stream = (char *)service;
	b->t.type = type;
	b->t.stream = &b->ref;
	b->t.status = NSP__TARGET_STATUS__ENABLED;
	b->ce[0] = (Nsp__Target__ContextEntry)NSP__TARGET__CONTEXT_ENTRY__INIT;
	b->ce[0].key = "node";
	b->ce[0].value = "node-1";
	b->cep[0] = &b->ce[0];
	b->t.context = b->cep;
	b->t.n_context = 1;
	if (type == NSP__TARGET_TYPE__TUNNEL) {
		b->ce[1] =
		    (Nsp__Target__ContextEntry)NSP__TARGET__CONTEXT_ENTRY__INIT;
		b->ce[1].key = "port";
		b->ce[1].value = "7779";
		b->cep[1] = &b->ce[1];
		b->t.n_context = 2;
		b->t.ips = tun_ips;
		b->t.n_ips = 2;
	} else {
		b->t.ips = inst_ips;
		b->t.n_ips = 1;
		b->t.identifier = 3;
	}
	return &b->t;
}

static void test_print_targets(void **state)
{
	struct built tun, inst;
	struct buf b = {0};
	(void)state;

	build(&tun, NSP__TARGET_TYPE__TUNNEL, "");
	build(&inst, NSP__TARGET_TYPE__INSTANCE, "web");

	assert_int_equal(ctl_target_line(&b, &tun.t), 0);
	assert_string_equal(buf_str(&b), "trench-a tunnel enabled "
					 "192.0.2.1/32,2001:db8::1/128 "
					 "node=node-1,port=7779");
	buf_reset(&b);
	assert_int_equal(ctl_target_line(&b, &inst.t), 0);
	assert_string_equal(buf_str(&b), "trench-a/web instance id=3 enabled "
					 "10.0.1.5/32 node=node-1");
	buf_reset(&b);

	Nsp__Target *both[] = {&tun.t, &inst.t};
	assert_int_equal(ctl_target_table(&b, both, 2), 0);
	print_message("%s", buf_str(&b));
	assert_non_null(strstr(buf_str(&b), "\n-      tunnel    trench-a "));
	assert_non_null(
	    strstr(buf_str(&b), "\n3      instance  trench-a/web "));
	buf_reset(&b);

	assert_int_equal(ctl_target_block(&b, &tun.t), 0);
	assert_non_null(strstr(buf_str(&b), "trench:     trench-a\n"));
	assert_null(strstr(buf_str(&b), "identifier:"));
	buf_reset(&b);
	assert_int_equal(ctl_target_block(&b, &inst.t), 0);
	assert_non_null(strstr(buf_str(&b), "service:    trench-a/web\n"));
	assert_non_null(strstr(buf_str(&b), "identifier: 3\n"));
	buf_reset(&b);

	struct json j;
	json_init(&j, &b, 0);
	ctl_target_json(&j, &inst.t);
	assert_int_equal(json_finish(&j), 0);
	assert_string_equal(
	    buf_str(&b), "{\"ips\":[\"10.0.1.5/32\"],\"type\":\"instance\","
			 "\"trench\":\"trench-a\",\"conduit\":\"\","
			 "\"stream\":\"web\",\"status\":\"enabled\","
			 "\"identifier\":3,\"context\":{\"node\":\"node-1\"}}");
	buf_free(&b);
}

static void test_print_services(void **state)
{
	static char *addrs[] = {"10.30.0.1", "fd00:30::1"};
	Nsp__Service sv = NSP__SERVICE__INIT, *svs[] = {&sv};
	Nsp__ConfigResponse r = NSP__CONFIG_RESPONSE__INIT;
	struct buf b = {0};
	struct json j;
	(void)state;

	sv.name = "web";
	sv.trench = "trench-a";
	sv.addresses = addrs;
	sv.n_addresses = 2;
	sv.policy = "spread";
	sv.max_instances = 100;
	r.revision = 7;
	r.services = svs;
	r.n_services = 1;

	assert_int_equal(ctl_config_text(&b, &r, CTL_KIND_SERVICE), 0);
	assert_string_equal(
	    buf_str(&b),
	    "revision 7\n"
	    "\n"
	    "Services (1)\n"
	    "  NAME  TRENCH    ADDRESSES             POLICY  MAX-INSTANCES\n"
	    "  web   trench-a  10.30.0.1,fd00:30::1  spread  100\n");
	buf_reset(&b);
	json_init(&j, &b, 0);
	ctl_config_json(&j, &r, CTL_KIND_SERVICE);
	assert_int_equal(json_finish(&j), 0);
	assert_string_equal(buf_str(&b),
			    "{\"revision\":7,\"services\":[{\"name\":\"web\","
			    "\"trench\":\"trench-a\",\"addresses\":"
			    "[\"10.30.0.1\",\"fd00:30::1\"],\"policy\":"
			    "\"spread\",\"max_instances\":100}]}");
	buf_reset(&b);
	/* All kinds end with the services. */
	assert_int_equal(ctl_config_text(&b, &r, CTL_KIND_ALL), 0);
	assert_non_null(strstr(buf_str(&b), "Gateways (0)\n\nServices (1)\n"));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_args_register),
	    cmocka_unit_test(test_args_filter),
	    cmocka_unit_test(test_print_targets),
	    cmocka_unit_test(test_print_services),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
