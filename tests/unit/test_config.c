/* Unit tests of the configuration parser (nsp/config.h): the example
 * directory, the ..data symlink layout, defaults, equality, and every kind
 * of bad input with the error message that names file, item and field.
 * Run from the repository root (the example is read from examples/). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../nsp/config.h"

#define EXAMPLE "examples/meridio-configuration-trench-a"

/* A small valid configuration; each test replaces one file. */
static const char *const good[NSP_CFG_KINDS] = {
    [NSP_CFG_TRENCH] = "name: trench-a\n",
    [NSP_CFG_CONDUITS] = "items:\n"
			 "- name: conduit-a\n"
			 "  trench: trench-a\n",
    [NSP_CFG_STREAMS] = "items:\n"
			"- name: stream-a\n"
			"  conduit: conduit-a\n",
    [NSP_CFG_FLOWS] = "items:\n"
		      "- name: flow-a\n"
		      "  stream: stream-a\n"
		      "  vips: [vip-a]\n"
		      "  protocols: [tcp]\n"
		      "- name: flow-b\n"
		      "  stream: stream-a\n"
		      "  vips: [vip-a]\n"
		      "  protocols: [tcp]\n"
		      "  destination-port-ranges: [\"80\"]\n",
    [NSP_CFG_VIPS] = "items:\n"
		     "- name: vip-a\n"
		     "  address: 198.18.100.1/32\n"
		     "- name: vip-b\n"
		     "  address: fd00:100::1/128\n",
    [NSP_CFG_ATTRACTORS] = "items:\n"
			   "- name: attractor-a\n"
			   "  vips: [vip-a]\n"
			   "  gateways: [gw-a]\n"
			   "  composites: [conduit-a]\n",
    [NSP_CFG_GATEWAYS] = "items:\n"
			 "- name: gw-a\n"
			 "  address: 198.18.0.1\n",
};

static char err[NSP_CONFIG_ERRLEN];

/* Parses the good configuration with file kind replaced by text (NULL:
 * absent). */
static int parse_with(enum nsp_config_kind kind, const char *text,
		      struct nsp_config **out)
{
	const char *texts[NSP_CFG_KINDS];
	size_t lens[NSP_CFG_KINDS];

	for (int k = 0; k < NSP_CFG_KINDS; k++) {
		texts[k] = k == (int)kind ? text : good[k];
		lens[k] = texts[k] ? strlen(texts[k]) : 0;
	}
	return nsp_config_parse(texts, lens, NULL, out, err, sizeof(err));
}

/* Asserts that the configuration is refused with an error that holds every
 * one of the NULL-terminated strings. */
static void refused(enum nsp_config_kind kind, const char *text, ...)
{
	struct nsp_config *cfg = NULL;
	const char *want;
	va_list ap;

	err[0] = '\0';
	assert_int_equal(parse_with(kind, text, &cfg), -EINVAL);
	assert_null(cfg);
	print_message("    %s\n", err);
	assert_null(strchr(err, '\n'));
	va_start(ap, text);
	while ((want = va_arg(ap, const char *))) {
		if (!strstr(err, want))
			fail_msg("error \"%s\" lacks \"%s\"", err, want);
	}
	va_end(ap);
}

static struct nsp_config *accepted(enum nsp_config_kind kind, const char *text)
{
	struct nsp_config *cfg = NULL;

	if (parse_with(kind, text, &cfg) != 0)
		fail_msg("refused: %s", err);
	assert_non_null(cfg);
	return cfg;
}

/* ---- good input ---- */

static void test_example_loads(void **state)
{
	struct nsp_config *cfg = NULL;
	const Nsp__Stream *s;
	const Nsp__Conduit *cd;
	const Nsp__Gateway *g;
	(void)state;

	if (nsp_config_load_dir(EXAMPLE, &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(cfg->trench->name, "trench-a");
	assert_int_equal(cfg->n_conduits, 1);
	assert_int_equal(cfg->n_streams, 2);
	assert_int_equal(cfg->n_flows, 4);
	assert_int_equal(cfg->n_vips, 3);
	assert_int_equal(cfg->n_attractors, 1);
	assert_int_equal(cfg->n_gateways, 2);
	assert_int_equal(cfg->n_services, 2);

	s = nsp_config_find_stream(cfg, "load-balancer", "stream-a");
	assert_non_null(s);
	assert_int_equal(s->max_targets, 100);
	assert_string_equal(s->trench, "trench-a");
	assert_null(nsp_config_find_stream(cfg, "other", "stream-a"));
	assert_non_null(nsp_config_find_stream(cfg, NULL, "stream-b"));
	assert_null(nsp_config_find_stream(cfg, NULL, "stream-c"));

	cd = nsp_config_find_conduit(cfg, "load-balancer");
	assert_non_null(cd);
	assert_int_equal(cd->n_destination_port_nats, 1);
	assert_string_equal(cd->destination_port_nats[0]->port, "80");
	assert_int_equal(cd->destination_port_nats[0]->target_port, 8080);
	assert_string_equal(cd->destination_port_nats[0]->protocol, "tcp");

	assert_string_equal(nsp_config_find_vip(cfg, "vip-v6")->address,
			    "fd00:100::1/128");
	g = nsp_config_find_gateway(cfg, "gateway-v6");
	assert_string_equal(g->address, "fd00:0:0:1::1");
	assert_string_equal(g->ip_family, "ipv6");
	assert_int_equal(g->hold_time, 24);

	assert_string_equal(cfg->services[0]->name, "cache");
	assert_string_equal(cfg->services[0]->policy, "local");
	assert_int_equal(cfg->services[0]->max_instances, 16);
	assert_int_equal(nsp_config_find_service(cfg, "web")->n_addresses, 2);

	/* Sorted by name, whatever the file order. */
	assert_string_equal(cfg->flows[0]->name, "flow-dns");
	assert_string_equal(cfg->flows[3]->name, "flow-udp-tagged");
	assert_string_equal(cfg->flows[3]->byte_matches[0], "udp[8:2] = 4002");
	assert_string_equal(cfg->flows[3]->trench, "trench-a");
	nsp_config_free(cfg);
}

static void test_canonical_and_defaults(void **state)
{
	struct nsp_config *cfg;
	const Nsp__Flow *f;
	const Nsp__Gateway *g;
	(void)state;

	cfg = accepted(NSP_CFG_FLOWS,
		       "items:\n"
		       "- name: f\n"
		       "  stream: stream-a\n"
		       "  vips: [vip-a, vip-b]\n"
		       "  protocols: [TCP, Udp]\n"
		       "  source-subnets: ['FD00:0::/8', 198.18.0.0/15]\n"
		       "  source-port-ranges: [any, 1024-65535]\n"
		       "  destination-port-ranges: [80, 5-5]\n"
		       "  byte-matches: ['tcp[13:1]&0x12=0x2', "
		       "'udp [ 0 : 4 ] = 0x1 & 0xff']\n"
		       "  priority: -3\n");
	f = cfg->flows[0];
	assert_string_equal(f->trench, "trench-a");
	assert_string_equal(f->protocols[0], "tcp");
	assert_string_equal(f->protocols[1], "udp");
	assert_string_equal(f->source_subnets[0], "fd00::/8");
	assert_string_equal(f->source_port_ranges[0], "0-65535");
	assert_string_equal(f->destination_port_ranges[0], "80");
	assert_string_equal(f->destination_port_ranges[1], "5");
	assert_string_equal(f->byte_matches[0], "tcp[13:1] & 0x12 = 2");
	assert_string_equal(f->byte_matches[1], "udp[0:4] & 0xff = 1");
	assert_int_equal(f->priority, -3);
	assert_int_equal(cfg->streams[0]->max_targets, 100);
	assert_int_equal(cfg->attractors[0]->replicas, 1);
	g = cfg->gateways[0];
	assert_string_equal(g->ip_family, "ipv4");
	assert_string_equal(g->protocol, "bgp");
	assert_false(g->bfd);
	assert_int_equal(g->local_asn, 8103);
	assert_int_equal(g->remote_asn, 4248829953u);
	assert_int_equal(g->local_port, 10179);
	assert_int_equal(g->remote_port, 10179);
	assert_int_equal(g->hold_time, 90);
	assert_int_equal(g->min_tx, 300);
	assert_int_equal(g->multiplier, 5);
	nsp_config_free(cfg);

	cfg = accepted(NSP_CFG_GATEWAYS, "items:\n"
					 "- name: gw-a\n"
					 "  address: FD00::1\n"
					 "  protocol: static\n"
					 "  multiplier: 3\n");
	g = cfg->gateways[0];
	assert_string_equal(g->address, "fd00::1");
	assert_string_equal(g->ip_family, "ipv6");
	assert_true(g->bfd);
	assert_int_equal(g->local_asn, 0);
	assert_int_equal(g->hold_time, 0);
	assert_int_equal(g->multiplier, 3);
	nsp_config_free(cfg);
}

static void test_absent_and_empty_files(void **state)
{
	struct nsp_config *cfg;
	const char *texts[NSP_CFG_KINDS] = {NULL};
	size_t lens[NSP_CFG_KINDS] = {0};
	(void)state;

	/* No files at all: a trench with nothing in it. */
	assert_int_equal(
	    nsp_config_parse(texts, lens, "trench-z", &cfg, err, sizeof(err)),
	    0);
	assert_string_equal(cfg->trench->name, "trench-z");
	assert_int_equal(cfg->n_flows, 0);
	nsp_config_free(cfg);

	/* Empty documents, null and empty item lists are no items. */
	texts[NSP_CFG_TRENCH] = "# nothing\n";
	texts[NSP_CFG_FLOWS] = "";
	texts[NSP_CFG_VIPS] = "items:\n";
	texts[NSP_CFG_GATEWAYS] = "items: []\n";
	for (int k = 0; k < NSP_CFG_KINDS; k++)
		lens[k] = texts[k] ? strlen(texts[k]) : 0;
	assert_int_equal(
	    nsp_config_parse(texts, lens, "trench-z", &cfg, err, sizeof(err)),
	    0);
	assert_int_equal(cfg->n_vips + cfg->n_gateways + cfg->n_flows, 0);
	nsp_config_free(cfg);

	/* No trench file and no default. */
	assert_int_equal(
	    nsp_config_parse(texts, lens, NULL, &cfg, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "trench: missing"));
}

static void test_equal(void **state)
{
	struct nsp_config *a, *b, *c;
	(void)state;

	a = accepted(NSP_CFG_KINDS, NULL);
	b = accepted(NSP_CFG_VIPS,
		     "items:\n"
		     "- name: vip-b\n"
		     "  trench: trench-a\n"
		     "  address: \"fd00:100:0::1/128\"\n"
		     "- {name: vip-a, address: 198.18.100.1/32}\n");
	c = accepted(NSP_CFG_VIPS, "items:\n"
				   "- name: vip-a\n"
				   "  address: 198.18.100.3/32\n"
				   "- name: vip-b\n"
				   "  address: fd00:100::1/128\n");
	assert_true(nsp_config_equal(a, a));
	assert_true(nsp_config_equal(a, b));
	assert_false(nsp_config_equal(a, c));
	assert_false(nsp_config_equal(a, NULL));
	assert_true(nsp_config_equal(NULL, NULL));
	nsp_config_free(a);
	nsp_config_free(b);
	nsp_config_free(c);
}

/* ---- the directory ---- */

static void put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_data_symlinks(void **state)
{
	char tmp[] = "/tmp/strait-cfg-XXXXXX", dir[256], gen[300], path[400];
	struct nsp_config *cfg = NULL;
	(void)state;

	assert_non_null(mkdtemp(tmp));
	snprintf(dir, sizeof(dir), "%s/meridio-configuration-trench-k", tmp);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(gen, sizeof(gen), "%s/..2026_01_01", dir);
	assert_int_equal(mkdir(gen, 0755), 0);
	put(gen, "vips", "items:\n- name: v\n  address: 198.18.1.1/32\n");
	put(gen, "flows",
	    "items:\n- name: f\n  stream: s\n  vips: [v]\n"
	    "  protocols: [udp]\n  trench: trench-k\n");
	put(gen, "streams", "items:\n- name: s\n  conduit: c\n");
	put(gen, "conduits", "items:\n- name: c\n");
	put(gen, "services", "items:\n- name: web\n  addresses: [10.30.0.1]\n");
	snprintf(path, sizeof(path), "%s/..data", dir);
	assert_int_equal(symlink("..2026_01_01", path), 0);
	for (int k = 0; k < NSP_CFG_KINDS; k++) {
		char target[64];

		if (k == NSP_CFG_TRENCH || k == NSP_CFG_ATTRACTORS ||
		    k == NSP_CFG_GATEWAYS)
			continue;
		snprintf(target, sizeof(target), "..data/%s",
			 nsp_config_file[k]);
		snprintf(path, sizeof(path), "%s/%s", dir, nsp_config_file[k]);
		assert_int_equal(symlink(target, path), 0);
	}

	/* The trench comes from the directory's name. */
	if (nsp_config_load_dir(dir, &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(cfg->trench->name, "trench-k");
	assert_int_equal(cfg->n_flows, 1);
	assert_string_equal(cfg->flows[0]->stream, "s");
	assert_int_equal(cfg->n_services, 1);
	assert_string_equal(cfg->services[0]->trench, "trench-k");
	nsp_config_free(cfg);

	/* A misspelt file is refused rather than silently ignored. */
	put(gen, "flow", "items: []\n");
	assert_int_equal(nsp_config_load_dir(dir, &cfg, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "unknown file \"flow\""));
	assert_non_null(strstr(err, "gateways or services"));
	snprintf(path, sizeof(path), "%s/flow", gen);
	unlink(path);

	/* A file over 1 MiB. */
	{
		char *big = malloc(NSP_CONFIG_MAX_FILE + 2);

		memset(big, '#', NSP_CONFIG_MAX_FILE + 1);
		big[NSP_CONFIG_MAX_FILE + 1] = '\0';
		put(gen, "gateways", big);
		free(big);
	}
	assert_int_equal(nsp_config_load_dir(dir, &cfg, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "gateways: the file is larger than"));

	assert_int_equal(
	    nsp_config_load_dir("/nonexistent/cfg", &cfg, err, sizeof(err)),
	    -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/cfg"));

	snprintf(path, sizeof(path), "rm -rf '%s'", tmp);
	assert_int_equal(system(path), 0);
}

/* ---- bad input: each names the file, the item and the field ---- */

static void test_bad_yaml(void **state)
{
	(void)state;
	refused(NSP_CFG_FLOWS, "items:\n- name: f\n  vips: [a\n",
		"flows: invalid YAML at line", "column", NULL);
	refused(NSP_CFG_VIPS, "items:\n  - name: a\n   address: x\n",
		"vips: invalid YAML at line 3", NULL);
	refused(NSP_CFG_VIPS, "items: []\n---\nitems: []\n",
		"vips: invalid YAML", "more than one document", NULL);
	refused(NSP_CFG_VIPS,
		"items:\n- &a {name: v, address: 198.18.1.1/32}\n- *a\n",
		"vips: invalid YAML at line 3", "aliases", NULL);
	refused(NSP_CFG_VIPS,
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]"
		"]]]]]]]]]]\n",
		"vips: invalid YAML", "nested deeper than 16", NULL);
	refused(NSP_CFG_VIPS, "items:\n- name: \"a\\0b\"\n",
		"vips: invalid YAML at line 2", "NUL", NULL);
	refused(NSP_CFG_VIPS, "items:\n- {[a]: b}\n", "vips: invalid YAML",
		"key", NULL);
	refused(NSP_CFG_VIPS, "- name: a\n", "vips: expected a mapping",
		"(line 1)", NULL);
	refused(NSP_CFG_VIPS, "item:\n- name: a\n", "vips: \"item\": unknown",
		NULL);
	refused(NSP_CFG_VIPS, "items: vip-a\n", "vips: items: expected a list",
		NULL);
	refused(NSP_CFG_VIPS, "items:\n- vip-a\n",
		"vips: item 1: expected a mapping", "(line 2)", NULL);
	refused(NSP_CFG_TRENCH, "- trench-a\n", "trench: expected a mapping",
		NULL);
}

static void test_bad_vip(void **state)
{
	(void)state;
	refused(NSP_CFG_VIPS,
		"items:\n- name: vip-a\n  address: 198.18.0.0/24\n",
		"vips: item 1 (vip-a): address: \"198.18.0.0/24\"",
		"/32 or /128", "(line 3)", NULL);
	refused(NSP_CFG_VIPS, "items:\n- name: vip-a\n  address: fd00::/64\n",
		"vips: item 1 (vip-a): address: \"fd00::/64\"", NULL);
	refused(NSP_CFG_VIPS, "items:\n- name: vip-a\n  address: 198.18.0.1\n",
		"vips: item 1 (vip-a): address: \"198.18.0.1\" is not an "
		"address with a prefix length",
		NULL);
	refused(NSP_CFG_VIPS, "items:\n- name: vip-a\n",
		"vips: item 1 (vip-a): address: missing", NULL);
	refused(NSP_CFG_VIPS,
		"items:\n- name: vip-a\n  address: 198.18.1.1/32\n"
		"- name: vip-b\n  address: 198.18.1.1/32\n",
		"vips: item 2 (vip-b): address: 198.18.1.1/32 is already the "
		"address of item 1 (vip-a)",
		"(line 5)", NULL);
	refused(NSP_CFG_VIPS,
		"items:\n- name: vip-a\n  address: 198.18.1.1/32\n"
		"  trench: trench-b\n",
		"vips: item 1 (vip-a): trench: \"trench-b\" is not this "
		"configuration's trench \"trench-a\"",
		NULL);
}

static void test_bad_ports(void **state)
{
	static const char *const bad[] = {"70000", "5-3", "-1",	   "1-",  "01x",
					  "''",	   "080", "1 - 2", "0x50"};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256];

		snprintf(text, sizeof(text),
			 "items:\n- name: flow-a\n  stream: stream-a\n"
			 "  vips: [vip-a]\n  protocols: [tcp]\n"
			 "- name: flow-b\n  stream: stream-a\n"
			 "  vips: [vip-a]\n  protocols: [tcp]\n"
			 "  destination-port-ranges:\n  - 80\n  - %s\n",
			 bad[i]);
		refused(NSP_CFG_FLOWS, text,
			"flows: item 2 (flow-b): destination-port-ranges: ",
			"is not a port or port range (0-65535)", "(line 12)",
			NULL);
	}
	refused(NSP_CFG_FLOWS,
		"items:\n- name: flow-b\n  stream: stream-a\n  vips: [vip-a]\n"
		"  protocols: [tcp]\n  destination-port-ranges: [\"70000\"]\n",
		"flows: item 1 (flow-b): destination-port-ranges: \"70000\" is "
		"not a port or port range (0-65535) (line 6)",
		NULL);
	refused(NSP_CFG_FLOWS,
		"items:\n- name: f\n  stream: stream-a\n  vips: [vip-a]\n"
		"  protocols: [tcp]\n  source-port-ranges: [5-3]\n",
		"flows: item 1 (f): source-port-ranges: \"5-3\"",
		"first port above last", NULL);
	refused(NSP_CFG_FLOWS,
		"items:\n- name: f\n  stream: stream-a\n  vips: [vip-a]\n"
		"  protocols: [icmp]\n  destination-port-ranges: [80]\n",
		"flows: item 1 (f): destination-port-ranges: port ranges need "
		"tcp, udp or sctp",
		NULL);
	refused(NSP_CFG_FLOWS,
		"items:\n- name: f\n  stream: stream-a\n  vips: [vip-a]\n"
		"  protocols: [tcp]\n  destination-port-ranges: [80, 1-65535, "
		"80]\n",
		"flows: item 1 (f): destination-port-ranges: \"80\" is listed "
		"twice",
		NULL);
}

static void test_bad_protocol(void **state)
{
	(void)state;
	refused(NSP_CFG_FLOWS,
		"items:\n- name: f\n  stream: stream-a\n  vips: [vip-a]\n"
		"  protocols: [tcp, gre]\n",
		"flows: item 1 (f): protocols: \"gre\" is not a protocol",
		"(line 5)", NULL);
	refused(NSP_CFG_FLOWS,
		"items:\n- name: f\n  stream: stream-a\n  vips: [vip-a]\n",
		"flows: item 1 (f): protocols: missing", NULL);
	refused(NSP_CFG_FLOWS,
		"items:\n- name: f\n  stream: stream-a\n  vips: [vip-a]\n"
		"  protocols: []\n",
		"flows: item 1 (f): protocols: missing (empty list)", NULL);
	refused(NSP_CFG_FLOWS,
		"items:\n- name: f\n  stream: stream-a\n  vips: [vip-a]\n"
		"  protocols: tcp\n",
		"flows: item 1 (f): protocols: expected a list", NULL);
	refused(
	    NSP_CFG_CONDUITS,
	    "items:\n- name: conduit-a\n  destination-port-nats:\n"
	    "  - {port: 80, target-port: 8080, protocol: sctp, vips: "
	    "[vip-a]}\n",
	    "conduits: item 1 (conduit-a): destination-port-nats[1].protocol: "
	    "\"sctp\" is not tcp or udp",
	    NULL);
}

static void test_bad_references(void **state)
{
	(void)state;
	refused(
	    NSP_CFG_FLOWS,
	    "items:\n- name: f\n  stream: stream-x\n  vips: [vip-a]\n"
	    "  protocols: [tcp]\n",
	    "flows: item 1 (f): stream: \"stream-x\" is not the name of any "
	    "item in streams (line 3)",
	    NULL);
	refused(NSP_CFG_FLOWS,
		"items:\n- name: f\n  stream: stream-a\n"
		"  vips: [vip-a, vip-x]\n  protocols: [tcp]\n",
		"flows: item 1 (f): vips: \"vip-x\" is not the name of any "
		"item in vips",
		NULL);
	refused(NSP_CFG_FLOWS,
		"items:\n- name: f\n  vips: [vip-a]\n  protocols: [tcp]\n",
		"flows: item 1 (f): stream: missing", NULL);
	refused(NSP_CFG_STREAMS, "items:\n- name: s\n  conduit: nope\n",
		"streams: item 1 (s): conduit: \"nope\" is not the name", NULL);
	refused(NSP_CFG_ATTRACTORS, "items:\n- name: a\n  gateways: [gw-x]\n",
		"attractors: item 1 (a): gateways: \"gw-x\"", NULL);
	refused(NSP_CFG_ATTRACTORS, "items:\n- name: a\n  composites: [c]\n",
		"attractors: item 1 (a): composites: \"c\" is not the name of "
		"any item in conduits",
		NULL);
	refused(NSP_CFG_CONDUITS,
		"items:\n- name: conduit-a\n  destination-port-nats:\n"
		"  - port: 80\n    target-port: 8080\n    protocol: TCP\n"
		"    vips: [vip-q]\n",
		"conduits: item 1 (conduit-a): destination-port-nats[1].vips: "
		"\"vip-q\"",
		"(line 7)", NULL);
	refused(
	    NSP_CFG_CONDUITS,
	    "items:\n- name: conduit-a\n  destination-port-nats:\n"
	    "  - {port: 80, target-port: 8080, protocol: tcp, vips: [vip-a]}\n"
	    "  - {port: 80, target-port: 8081, protocol: tcp, vips: [vip-a]}\n",
	    "conduits: item 1 (conduit-a): destination-port-nats: ",
	    "mapped twice", NULL);
}

static void test_bad_byte_match(void **state)
{
	static const char *const bad[] = {
	    "tcp[2:3] = 1",	  "tcp[2:2] = 70000", "tcp[2:2] 4002",
	    "ip[2:2] = 1",	  "tcp[2] = 1",	      "tcp[2:1] & 0 = 0",
	    "tcp[2:1] = 3 & 0x1", "tcp[2:2] = 1 x",   "tcp[65534:4] = 1",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256];

		snprintf(text, sizeof(text),
			 "items:\n- name: f\n  stream: stream-a\n"
			 "  vips: [vip-a]\n  protocols: [tcp]\n"
			 "  byte-matches: ['%s']\n",
			 bad[i]);
		refused(NSP_CFG_FLOWS, text,
			"flows: item 1 (f): byte-matches: ",
			"is not a byte match: ", "(line 6)", NULL);
	}
	refused(NSP_CFG_FLOWS,
		"items:\n- name: f\n  stream: stream-a\n  vips: [vip-a]\n"
		"  protocols: [tcp]\n  byte-matches: ['udp[8:2] = 1']\n",
		"flows: item 1 (f): byte-matches: \"udp[8:2] = 1\" is for udp, "
		"which is not among the protocols",
		NULL);
}

static void test_bad_names(void **state)
{
	(void)state;
	refused(NSP_CFG_VIPS,
		"items:\n- name: vip-a\n  address: 198.18.1.1/32\n"
		"- name: vip-b\n  address: 198.18.1.2/32\n"
		"- name: vip-a\n  address: 198.18.1.3/32\n",
		"vips: item 3 (vip-a): name: \"vip-a\" is already the name of "
		"item 1 (line 6)",
		NULL);
	refused(NSP_CFG_VIPS,
		"items:\n- name: Vip_A\n  address: 198.18.1.1/32\n",
		"vips: item 1: name: \"Vip_A\" is not a valid name", NULL);
	refused(NSP_CFG_VIPS, "items:\n- address: 198.18.1.1/32\n",
		"vips: item 1: name: missing", NULL);
	refused(NSP_CFG_STREAMS,
		"items:\n- name: "
		"a234567890123456789012345678901234567890123456789012345678901"
		"234\n  conduit: conduit-a\n",
		"streams: item 1: name: ", "is not a valid name", NULL);
	refused(NSP_CFG_TRENCH, "name: trench-b c\n",
		"trench: name: \"trench-b c\" is not a valid name", NULL);
}

static void test_unknown_and_repeated_fields(void **state)
{
	(void)state;
	refused(NSP_CFG_FLOWS,
		"items:\n- name: f\n  stream: stream-a\n  vips: [vip-a]\n"
		"  protocol: [tcp]\n",
		"flows: item 1 (f): \"protocol\": unknown field (did you mean "
		"\"protocols\"?) (line 5)",
		NULL);
	refused(NSP_CFG_STREAMS,
		"items:\n- name: s\n  conduit: conduit-a\n  colour: blue\n",
		"streams: item 1 (s): \"colour\": unknown field (line 4)",
		NULL);
	refused(
	    NSP_CFG_STREAMS,
	    "items:\n- name: s\n  conduit: conduit-a\n  conduit: conduit-a\n",
	    "streams: item 1 (s): conduit: given twice (line 4)", NULL);
	refused(NSP_CFG_TRENCH, "name: trench-a\nvips: []\n",
		"trench: \"vips\": unknown field", NULL);
}

static void test_bad_numbers(void **state)
{
	(void)state;
	refused(NSP_CFG_STREAMS,
		"items:\n- name: s\n  conduit: conduit-a\n  max-targets: 0\n",
		"streams: item 1 (s): max-targets: \"0\" is not a whole number "
		"from 1 to 65535",
		NULL);
	refused(
	    NSP_CFG_STREAMS,
	    "items:\n- name: s\n  conduit: conduit-a\n  max-targets: 65536\n",
	    "streams: item 1 (s): max-targets: \"65536\"", NULL);
	refused(NSP_CFG_STREAMS,
		"items:\n- name: s\n  conduit: conduit-a\n  max-targets: [1]\n",
		"streams: item 1 (s): max-targets: expected a single value",
		NULL);
	refused(NSP_CFG_FLOWS,
		"items:\n- name: f\n  stream: stream-a\n  vips: [vip-a]\n"
		"  protocols: [tcp]\n  priority: 2147483648\n",
		"flows: item 1 (f): priority: \"2147483648\"", NULL);
	refused(NSP_CFG_FLOWS,
		"items:\n- name: f\n  stream: stream-a\n  vips: [vip-a]\n"
		"  protocols: [tcp]\n  priority: 010\n",
		"flows: item 1 (f): priority: \"010\"", NULL);
}

static void test_bad_gateway(void **state)
{
	(void)state;
	refused(NSP_CFG_GATEWAYS,
		"items:\n- name: gw-a\n  address: 198.18.0.1\n"
		"  ip-family: ipv6\n",
		"gateways: item 1 (gw-a): ip-family: \"ipv6\" does not agree "
		"with address 198.18.0.1 (line 4)",
		NULL);
	refused(NSP_CFG_GATEWAYS,
		"items:\n- name: gw-a\n  address: 198.18.0.1/24\n",
		"gateways: item 1 (gw-a): address: \"198.18.0.1/24\" is not an "
		"IP address (write it without a prefix length)",
		NULL);
	refused(NSP_CFG_GATEWAYS,
		"items:\n- name: gw-a\n  address: 198.18.0.1\n  bfd: yes\n",
		"gateways: item 1 (gw-a): bfd: \"yes\" is not true or false",
		NULL);
	refused(NSP_CFG_GATEWAYS,
		"items:\n- name: gw-a\n  address: 198.18.0.1\n"
		"  protocol: ospf\n",
		"gateways: item 1 (gw-a): protocol: \"ospf\" is not bgp or "
		"static",
		NULL);
	refused(NSP_CFG_GATEWAYS,
		"items:\n- name: gw-a\n  address: 198.18.0.1\n"
		"  protocol: static\n  remote-asn: 65000\n",
		"gateways: item 1 (gw-a): remote-asn: applies only to protocol "
		"bgp",
		NULL);
	refused(NSP_CFG_GATEWAYS,
		"items:\n- name: gw-a\n  address: 198.18.0.1\n  hold-time: 2\n",
		"gateways: item 1 (gw-a): hold-time: 2 is not 0 or at least 3",
		NULL);
	refused(NSP_CFG_GATEWAYS,
		"items:\n- name: gw-a\n  address: 198.18.0.1\n"
		"- name: gw-b\n  address: 198.18.0.1\n",
		"gateways: item 2 (gw-b): address: 198.18.0.1 is already the "
		"address of item 1 (gw-a)",
		NULL);
}

static void test_bad_subnet(void **state)
{
	(void)state;
	refused(NSP_CFG_FLOWS,
		"items:\n- name: f\n  stream: stream-a\n  vips: [vip-a]\n"
		"  protocols: [tcp]\n  source-subnets: [198.18.1.5/24]\n",
		"flows: item 1 (f): source-subnets: \"198.18.1.5/24\" has host "
		"bits set (the subnet is 198.18.1.0/24)",
		NULL);
	refused(NSP_CFG_FLOWS,
		"items:\n- name: f\n  stream: stream-a\n  vips: [vip-a]\n"
		"  protocols: [tcp]\n  source-subnets: [198.18.1.0]\n",
		"flows: item 1 (f): source-subnets: \"198.18.1.0\" is not a "
		"subnet",
		NULL);
}

static char *repeat(const char *head, const char *fmt, size_t n)
{
	size_t cap = strlen(head) + n * (strlen(fmt) + 16) + 1, o;
	char *s = malloc(cap);

	assert_non_null(s);
	o = (size_t)snprintf(s, cap, "%s", head);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, fmt, i);
	return s;
}

static void test_limits(void **state)
{
	char *text, *big;
	(void)state;

	/* More than 10,000 items. */
	text = repeat("items:\n", "- {name: c%zu}\n", NSP_CONFIG_MAX_ITEMS + 1);
	refused(NSP_CFG_CONDUITS, text,
		"conduits: items: more than 10000 items", NULL);
	free(text);

	/* Exactly 10,000 is fine. */
	text = repeat("items:\n- {name: conduit-a}\n", "- {name: c%zu}\n",
		      NSP_CONFIG_MAX_ITEMS - 1);
	nsp_config_free(accepted(NSP_CFG_CONDUITS, text));
	free(text);

	/* A list of more than 1024 entries. */
	text = repeat("items:\n- name: f\n  stream: stream-a\n  vips: [vip-a]\n"
		      "  protocols: [tcp]\n  destination-port-ranges:\n",
		      "  - %zu\n", NSP_CONFIG_MAX_LIST + 1);
	refused(NSP_CFG_FLOWS, text,
		"flows: item 1 (f): destination-port-ranges: more than 1024 "
		"entries",
		NULL);
	free(text);

	/* An overlong value, shown cut in the message. */
	big = malloc(400);
	memset(big, 'a', 399);
	big[399] = '\0';
	text = malloc(600);
	snprintf(text, 600, "items:\n- name: gw-a\n  address: %s\n", big);
	refused(NSP_CFG_GATEWAYS, text,
		"gateways: item 1 (gw-a): address: \"aaaa", "...",
		"is longer than 255 characters", NULL);
	assert_true(strlen(err) < 300);
	free(text);
	free(big);

	/* A file over 1 MiB, given as text. */
	big = malloc(NSP_CONFIG_MAX_FILE + 2);
	memset(big, ' ', NSP_CONFIG_MAX_FILE + 1);
	big[NSP_CONFIG_MAX_FILE + 1] = '\0';
	refused(NSP_CFG_FLOWS, big,
		"flows: the file is larger than 1048576 "
		"bytes",
		NULL);
	free(big);
}

/* ---- services (strait-tun's, docs/tun.md) ---- */

static void test_services(void **state)
{
	struct nsp_config *cfg, *none;
	const Nsp__Service *sv;
	(void)state;

	cfg = accepted(NSP_CFG_SERVICES,
		       "items:\n"
		       "- name: web\n"
		       "  addresses: [10.30.0.1, 'FD00:30:0::1/128']\n"
		       "- name: api\n"
		       "  trench: trench-a\n"
		       "  addresses: [10.30.0.2/32]\n"
		       "  policy: Local\n"
		       "  max-instances: 65536\n"
		       "- name: v6-only\n"
		       "  addresses: [fd00:30::2]\n"
		       "  max-instances: 1\n");
	assert_int_equal(cfg->n_services, 3);
	sv = cfg->services[0];
	assert_string_equal(sv->name, "api");
	assert_string_equal(sv->trench, "trench-a");
	assert_int_equal(sv->n_addresses, 1);
	assert_string_equal(sv->addresses[0], "10.30.0.2");
	assert_string_equal(sv->policy, "local");
	assert_int_equal(sv->max_instances, 65536);
	sv = nsp_config_find_service(cfg, "web");
	assert_non_null(sv);
	assert_string_equal(sv->trench, "trench-a");
	assert_int_equal(sv->n_addresses, 2);
	assert_string_equal(sv->addresses[0], "10.30.0.1");
	assert_string_equal(sv->addresses[1], "fd00:30::1");
	assert_string_equal(sv->policy, "spread");
	assert_int_equal(sv->max_instances, 100);
	assert_int_equal(nsp_config_find_service(cfg, "v6-only")->max_instances,
			 1);
	assert_null(nsp_config_find_service(cfg, "nope"));
	/* Services are part of what makes two configurations differ. */
	none = accepted(NSP_CFG_KINDS, NULL);
	assert_int_equal(none->n_services, 0);
	assert_false(nsp_config_equal(cfg, none));
	nsp_config_free(none);
	nsp_config_free(cfg);
}

static void test_bad_services(void **state)
{
	(void)state;
	refused(NSP_CFG_SERVICES,
		"items:\n- name: web\n  addresses: [10.30.0.1]\n"
		"  policy: closest\n",
		"services: item 1 (web): policy: \"closest\" is not spread or "
		"local (line 4)",
		NULL);
	refused(NSP_CFG_SERVICES,
		"items:\n- name: web\n  addresses:\n  - 10.30.0.1\n"
		"  - fd00:30::1\n  - 10.30.0.2\n",
		"services: item 1 (web): addresses: \"10.30.0.2\" is a second "
		"IPv4 address (after 10.30.0.1): a service has at most one "
		"address per family (line 6)",
		NULL);
	refused(NSP_CFG_SERVICES,
		"items:\n- name: web\n  addresses: [fd00:30::1, "
		"'fd00:30::2/128']\n",
		"services: item 1 (web): addresses: \"fd00:30::2\" is a second "
		"IPv6 address (after fd00:30::1)",
		NULL);
	refused(NSP_CFG_SERVICES,
		"items:\n- name: web\n  addresses: [10.30.0.1, 10.30.0.1/32]\n",
		"services: item 1 (web): addresses: \"10.30.0.1\" is listed "
		"twice",
		NULL);
	/* An address of two services: the later one in the file is named,
	 * whatever the names' order. */
	refused(NSP_CFG_SERVICES,
		"items:\n- name: web\n  addresses: [10.30.0.1]\n"
		"- name: api\n  addresses: [fd00:30::1, 10.30.0.1/32]\n",
		"services: item 2 (api): addresses: 10.30.0.1 is already an "
		"address of item 1 (web) (line 5)",
		NULL);
	refused(NSP_CFG_SERVICES,
		"items:\n- name: a\n  addresses: ['FD00:30::1']\n"
		"- name: b\n  addresses: [fd00:30:0::1]\n",
		"services: item 2 (b): addresses: fd00:30::1 is already an "
		"address of item 1 (a) (line 5)",
		NULL);
	/* A VIP's address, written bare or not. */
	refused(NSP_CFG_SERVICES,
		"items:\n- name: web\n  addresses: [198.18.100.1]\n",
		"services: item 1 (web): addresses: 198.18.100.1 is already "
		"the address of vips item 1 (vip-a) (line 3)",
		NULL);
	refused(NSP_CFG_SERVICES,
		"items:\n- name: web\n  addresses: [10.30.0.1]\n"
		"- name: web6\n  addresses: [fd00:100:0::1/128]\n",
		"services: item 2 (web6): addresses: fd00:100::1 is already "
		"the address of vips item 2 (vip-b) (line 5)",
		NULL);
	refused(NSP_CFG_SERVICES,
		"items:\n- name: web\n  addresses: [10.30.0.0/24]\n",
		"services: item 1 (web): addresses: \"10.30.0.0/24\" is not a "
		"single address: write it bare, or as a /32 or /128 (line 3)",
		NULL);
	refused(NSP_CFG_SERVICES,
		"items:\n- name: web\n  addresses: [web.example]\n",
		"services: item 1 (web): addresses: \"web.example\" is not an "
		"IP address",
		NULL);
	refused(NSP_CFG_SERVICES, "items:\n- name: web\n",
		"services: item 1 (web): addresses: missing", NULL);
	refused(NSP_CFG_SERVICES, "items:\n- name: web\n  addresses: []\n",
		"services: item 1 (web): addresses: missing (empty list)",
		NULL);
	refused(NSP_CFG_SERVICES,
		"items:\n- name: web\n  addresses: 10.30.0.1\n",
		"services: item 1 (web): addresses: expected a list", NULL);
	refused(NSP_CFG_SERVICES,
		"items:\n- name: web\n  addresses: [10.30.0.1]\n"
		"  max-instances: 0\n",
		"services: item 1 (web): max-instances: \"0\" is not a whole "
		"number from 1 to 65536 (line 4)",
		NULL);
	refused(
	    NSP_CFG_SERVICES,
	    "items:\n- name: web\n  addresses: [10.30.0.1]\n"
	    "  max-instances: 65537\n",
	    "max-instances: \"65537\" is not a whole number from 1 to 65536",
	    NULL);
	refused(NSP_CFG_SERVICES,
		"items:\n- name: web\n  addresses: [10.30.0.1]\n"
		"  max_instances: 5\n",
		"services: item 1 (web): \"max_instances\": unknown field (did "
		"you mean \"max-instances\"?) (line 4)",
		NULL);
	refused(NSP_CFG_SERVICES,
		"items:\n- name: web\n  addresses: [10.30.0.1]\n"
		"  trench: trench-b\n",
		"services: item 1 (web): trench: \"trench-b\" is not this "
		"configuration's trench \"trench-a\"",
		NULL);
	refused(NSP_CFG_SERVICES,
		"items:\n- name: web\n  addresses: [10.30.0.1]\n"
		"- name: web\n  addresses: [10.30.0.2]\n",
		"services: item 2 (web): name: \"web\" is already the name of "
		"item 1",
		NULL);
}

static void test_error_buffer(void **state)
{
	struct nsp_config *cfg = NULL;
	const char *texts[NSP_CFG_KINDS] = {NULL};
	size_t lens[NSP_CFG_KINDS] = {0};
	char small[16];
	(void)state;

	texts[NSP_CFG_VIPS] = "items:\n- name: v\n  address: nope\n";
	lens[NSP_CFG_VIPS] = strlen(texts[NSP_CFG_VIPS]);
	memset(small, 'x', sizeof(small));
	assert_int_equal(
	    nsp_config_parse(texts, lens, "t", &cfg, small, sizeof(small)),
	    -EINVAL);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(nsp_config_parse(texts, lens, "t", &cfg, NULL, 0),
			 -EINVAL);
	assert_null(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example_loads),
	    cmocka_unit_test(test_canonical_and_defaults),
	    cmocka_unit_test(test_absent_and_empty_files),
	    cmocka_unit_test(test_equal),
	    cmocka_unit_test(test_data_symlinks),
	    cmocka_unit_test(test_bad_yaml),
	    cmocka_unit_test(test_bad_vip),
	    cmocka_unit_test(test_bad_ports),
	    cmocka_unit_test(test_bad_protocol),
	    cmocka_unit_test(test_bad_references),
	    cmocka_unit_test(test_bad_byte_match),
	    cmocka_unit_test(test_bad_names),
	    cmocka_unit_test(test_unknown_and_repeated_fields),
	    cmocka_unit_test(test_bad_numbers),
	    cmocka_unit_test(test_bad_gateway),
	    cmocka_unit_test(test_bad_subnet),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_services),
	    cmocka_unit_test(test_bad_services),
	    cmocka_unit_test(test_error_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
