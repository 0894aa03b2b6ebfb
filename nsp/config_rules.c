/* What a valid configuration item is: the fields of each kind, how each
 * value is checked and written canonically, and the rules that tie the
 * fields of one item together. The machinery that applies them to a YAML
 * mapping is in config_item.c. */
#include "config_item.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cidr.h"
#include "match.h"

#define NAME                                                                   \
	{                                                                      \
		"name", CK_NAME, .required = true                              \
	}
#define TRENCH                                                                 \
	{                                                                      \
		"trench", CK_TRENCH                                            \
	}
#define REF(k, kind, req)                                                      \
	{                                                                      \
		k, CK_REF, .required = req, .ref = kind                        \
	}
#define UINT(k, lo, hi, d)                                                     \
	{                                                                      \
		k, CK_UINT, .min = lo, .max = hi, .def = d                     \
	}

static const struct cfg_rule trench_rules[] = {NAME};

const struct cfg_rule cfg_port_nat_rules[] = {
    {"port", CK_PORT, .required = true},
    {"target-port", CK_UINT, .required = true, .min = 1, .max = 65535},
    {"protocol", CK_NAT_PROTO, .required = true},
    REF("vips", NSP_CFG_VIPS, true),
};

static const struct cfg_rule conduit_rules[] = {
    NAME,
    TRENCH,
    {"destination-port-nats", CK_PORT_NATS},
};

static const struct cfg_rule stream_rules[] = {
    NAME,
    TRENCH,
    REF("conduit", NSP_CFG_CONDUITS, true),
    UINT("max-targets", 1, 65535, 100),
};

static const struct cfg_rule flow_rules[] = {
    NAME,
    TRENCH,
    REF("stream", NSP_CFG_STREAMS, true),
    REF("vips", NSP_CFG_VIPS, true),
    {"source-subnets", CK_SUBNET},
    {"source-port-ranges", CK_PORTS},
    {"destination-port-ranges", CK_PORTS},
    {"protocols", CK_PROTO, .required = true},
    {"priority", CK_INT, .min = INT32_MIN, .max = INT32_MAX},
    {"byte-matches", CK_BYTES},
};

static const struct cfg_rule vip_rules[] = {
    NAME,
    TRENCH,
    {"address", CK_VIP, .required = true},
};

static const struct cfg_rule attractor_rules[] = {
    NAME,
    TRENCH,
    REF("vips", NSP_CFG_VIPS, false),
    REF("gateways", NSP_CFG_GATEWAYS, false),
    REF("composites", NSP_CFG_CONDUITS, false),
    {"replicas", CK_INT, .min = 0, .max = 1000, .def = 1},
};

/* Meridio's operator fills the BGP and BFD settings in when a Gateway
 * leaves them out; gateway_post() applies the same defaults. */
#define BGP_LOCAL_ASN 8103
#define BGP_REMOTE_ASN 4248829953u
#define BGP_PORT 10179
#define BGP_HOLD_TIME 90
#define BFD_MIN_TX 300
#define BFD_MIN_RX 300
#define BFD_MULTIPLIER 5

static const struct cfg_rule gateway_rules[] = {
    NAME,
    TRENCH,
    {"address", CK_IP, .required = true},
    {"ip-family", CK_FAMILY},
    {"bfd", CK_BOOL},
    {"protocol", CK_GW_PROTO},
    UINT("remote-asn", 1, UINT32_MAX, 0),
    UINT("local-asn", 1, UINT32_MAX, 0),
    UINT("remote-port", 1, 65535, 0),
    UINT("local-port", 1, 65535, 0),
    UINT("hold-time", 0, 65535, 0),
    UINT("min-tx", 1, 60000, 0),
    UINT("min-rx", 1, 60000, 0),
    UINT("multiplier", 1, 255, 0),
};

/* strait-tun's services (docs/tun.md). Identifiers run to 65536, the
 * registry's limit, one more than a stream's max-targets allows. */
static const struct cfg_rule service_rules[] = {
    NAME,
    TRENCH,
    {"addresses", CK_SVC_ADDR, .required = true},
    {"policy", CK_POLICY},
    UINT("max-instances", 1, 65536, 100),
};

const size_t cfg_n_port_nat_rules =
    sizeof(cfg_port_nat_rules) / sizeof(cfg_port_nat_rules[0]);

static int flow_post(struct cfg_ctx *c, const struct nsp_yaml_node *map,
		     ProtobufCMessage *msg);
static int gateway_post(struct cfg_ctx *c, const struct nsp_yaml_node *map,
			ProtobufCMessage *msg);
static int conduit_post(struct cfg_ctx *c, const struct nsp_yaml_node *map,
			ProtobufCMessage *msg);
static int service_post(struct cfg_ctx *c, const struct nsp_yaml_node *map,
			ProtobufCMessage *msg);
static int services_post_all(struct cfg_ctx *c, const struct cfg_items *it);

#define RULES(r) r, sizeof(r) / sizeof(r[0])

const struct cfg_kind cfg_kinds[NSP_CFG_KINDS] = {
    [NSP_CFG_TRENCH] = {&nsp__trench__descriptor, RULES(trench_rules)},
    [NSP_CFG_CONDUITS] = {&nsp__conduit__descriptor, RULES(conduit_rules),
			  conduit_post},
    [NSP_CFG_STREAMS] = {&nsp__stream__descriptor, RULES(stream_rules)},
    [NSP_CFG_FLOWS] = {&nsp__flow__descriptor, RULES(flow_rules), flow_post},
    [NSP_CFG_VIPS] = {&nsp__vip__descriptor, RULES(vip_rules)},
    [NSP_CFG_ATTRACTORS] = {&nsp__attractor__descriptor,
			    RULES(attractor_rules)},
    [NSP_CFG_GATEWAYS] = {&nsp__gateway__descriptor, RULES(gateway_rules),
			  gateway_post},
    [NSP_CFG_SERVICES] = {&nsp__service__descriptor, RULES(service_rules),
			  service_post, services_post_all},
};

/* ---- names and references ---- */

bool cfg_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NSP_CONFIG_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum =
		    (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum &&
		    ((ch != '-' && ch != '.') || i == 0 || i == n - 1))
			return false;
	}
	return true;
}

/* ---- values ---- */

/* Checks one text value against a rule and writes its canonical form into
 * canon (NSP_CONFIG_MAX_TEXT + 1 bytes). */
int cfg_check_text(struct cfg_ctx *c, const struct cfg_rule *r,
		   const struct nsp_yaml_node *v, const char *field,
		   char *canon)
{
	const size_t size = NSP_CONFIG_MAX_TEXT + 1;
	const char *s = v->text, *why = NULL;
	char q[CFG_QUOTE];
	struct cidr ip;
	struct port_range pr;
	struct byte_match bm;
	enum match_proto proto;

	cfg_quote(s, q, sizeof(q));
	if (v->len > NSP_CONFIG_MAX_TEXT)
		return cfg_fail(c, v, field, "%s is longer than %d characters",
				q, NSP_CONFIG_MAX_TEXT);
	switch (r->check) {
	case CK_NAME:
	case CK_REF:
		if (!cfg_valid_name(s))
			return cfg_fail(c, v, field,
					"%s is not a valid name (at most %d "
					"lower-case letters, digits, \"-\" "
					"and \".\", starting and ending "
					"with a letter or digit)",
					q, NSP_CONFIG_MAX_NAME);
		if (r->check == CK_REF && !cfg_items_find(&c->items[r->ref], s))
			return cfg_fail(c, v, field,
					"%s is not the name of any item in %s",
					q, nsp_config_file[r->ref]);
		snprintf(canon, size, "%s", s);
		return 0;
	case CK_TRENCH:
		if (strcmp(s, c->trench) != 0)
			return cfg_fail(c, v, field,
					"%s is not this configuration's "
					"trench \"%s\"",
					q, c->trench);
		snprintf(canon, size, "%s", s);
		return 0;
	case CK_PORTS:
		if (match_port_range_parse(s, &pr, &why) < 0)
			return cfg_fail(c, v, field,
					"%s is not a port or port range "
					"(0-65535)%s%s",
					q, why ? ": " : "", why ? why : "");
		return match_port_range_format(&pr, canon, size);
	case CK_PORT:
		if (match_port_range_parse(s, &pr, NULL) < 0 ||
		    pr.lo != pr.hi || pr.lo == 0 || strcmp(s, "any") == 0)
			return cfg_fail(c, v, field,
					"%s is not a port (1-65535)", q);
		return match_port_range_format(&pr, canon, size);
	case CK_PROTO:
		if (match_proto_parse(s, &proto) < 0)
			return cfg_fail(c, v, field,
					"%s is not a protocol (tcp, udp, "
					"sctp, icmp or icmpv6)",
					q);
		snprintf(canon, size, "%s", match_proto_name(proto));
		return 0;
	case CK_NAT_PROTO:
		if (match_proto_parse(s, &proto) < 0 ||
		    (proto != MATCH_PROTO_TCP && proto != MATCH_PROTO_UDP))
			return cfg_fail(c, v, field, "%s is not tcp or udp", q);
		snprintf(canon, size, "%s", match_proto_name(proto));
		return 0;
	case CK_SUBNET: {
		struct cidr net;

		if (cidr_parse(s, &ip) < 0)
			return cfg_fail(c, v, field,
					"%s is not a subnet (address/length)",
					q);
		net = ip;
		cidr_mask(&net);
		cidr_format(&net, canon, size);
		if (!cidr_equal(&net, &ip))
			return cfg_fail(c, v, field,
					"%s has host bits set (the subnet "
					"is %s)",
					q, canon);
		return 0;
	}
	case CK_BYTES:
		if (match_byte_parse(s, &bm, &why) < 0)
			return cfg_fail(c, v, field,
					"%s is not a byte match: %s", q, why);
		return match_byte_format(&bm, canon, size);
	case CK_VIP:
		if (cidr_parse(s, &ip) < 0)
			return cfg_fail(c, v, field,
					"%s is not an address with a prefix "
					"length (/32 or /128)",
					q);
		if (ip.len != cidr_width(&ip))
			return cfg_fail(c, v, field,
					"%s is not a single address: a VIP "
					"must be a /32 or /128",
					q);
		return cidr_format(&ip, canon, size);
	case CK_IP:
		if (cidr_parse_ip(s, &ip) < 0)
			return cfg_fail(c, v, field,
					"%s is not an IP address%s", q,
					strchr(s, '/') ? " (write it without "
							 "a prefix length)"
						       : "");
		return cidr_format_ip(&ip, canon, size);
	case CK_SVC_ADDR:
		/* A service IP is one address; its length, when written, can
		 * only say so, and is dropped. */
		if (cidr_parse_ip(s, &ip) == 0)
			return cidr_format_ip(&ip, canon, size);
		if (cidr_parse(s, &ip) < 0)
			return cfg_fail(c, v, field, "%s is not an IP address",
					q);
		if (ip.len != cidr_width(&ip))
			return cfg_fail(c, v, field,
					"%s is not a single address: write "
					"it bare, or as a /32 or /128",
					q);
		return cidr_format_ip(&ip, canon, size);
	case CK_POLICY:
		if (strcasecmp(s, "spread") && strcasecmp(s, "local"))
			return cfg_fail(c, v, field,
					"%s is not spread or local", q);
		snprintf(canon, size, "%s",
			 s[0] == 's' || s[0] == 'S' ? "spread" : "local");
		return 0;
	case CK_FAMILY:
		if (strcasecmp(s, "ipv4") && strcasecmp(s, "ipv6"))
			return cfg_fail(c, v, field, "%s is not ipv4 or ipv6",
					q);
		snprintf(canon, size, "ipv%c", s[3]);
		return 0;
	case CK_GW_PROTO:
		if (strcasecmp(s, "bgp") && strcasecmp(s, "static"))
			return cfg_fail(c, v, field, "%s is not bgp or static",
					q);
		snprintf(canon, size, "%s",
			 s[0] == 'b' || s[0] == 'B' ? "bgp" : "static");
		return 0;
	default:
		return cfg_fail(c, v, field, "internal: no text check");
	}
}

/* Checks what one field cannot check alone. */
static int flow_post(struct cfg_ctx *c, const struct nsp_yaml_node *map,
		     ProtobufCMessage *msg)
{
	const Nsp__Flow *fl = (const Nsp__Flow *)msg;
	bool protos[256] = {false}, ports = false;
	enum match_proto p;
	struct byte_match bm;

	for (size_t i = 0; i < fl->n_protocols; i++) {
		if (match_proto_parse(fl->protocols[i], &p) == 0) {
			protos[p] = true;
			ports |= match_proto_has_ports(p);
		}
	}
	if (!ports && fl->n_source_port_ranges)
		return cfg_fail(c, nsp_yaml_get(map, "source-port-ranges"),
				"source-port-ranges",
				"port ranges need tcp, udp or sctp among the "
				"protocols");
	if (!ports && fl->n_destination_port_ranges)
		return cfg_fail(c, nsp_yaml_get(map, "destination-port-ranges"),
				"destination-port-ranges",
				"port ranges need tcp, udp or sctp among the "
				"protocols");
	for (size_t i = 0; i < fl->n_byte_matches; i++) {
		char q[CFG_QUOTE];

		if (match_byte_parse(fl->byte_matches[i], &bm, NULL) < 0 ||
		    protos[bm.proto])
			continue;
		return cfg_fail(
		    c, nsp_yaml_get(map, "byte-matches")->kids[i],
		    "byte-matches",
		    "%s is for %s, which is not among the protocols",
		    cfg_quote(fl->byte_matches[i], q, sizeof(q)),
		    match_proto_name(bm.proto));
	}
	return 0;
}

bool cfg_present(const struct nsp_yaml_node *map, const char *key)
{
	const struct nsp_yaml_node *v = nsp_yaml_get(map, key);

	return v && !nsp_yaml_is_null(v);
}

int cfg_set_text(char **field, const char *value)
{
	char *dup = strdup(value);

	if (!dup)
		return -ENOMEM;
	if (*field != protobuf_c_empty_string)
		free(*field);
	*field = dup;
	return 0;
}

static int gateway_post(struct cfg_ctx *c, const struct nsp_yaml_node *map,
			ProtobufCMessage *msg)
{
	Nsp__Gateway *g = (Nsp__Gateway *)msg;
	static const char *const bgp_only[] = {"remote-asn", "local-asn",
					       "remote-port", "local-port",
					       "hold-time"};
	struct cidr ip;
	const char *family;

	if (cidr_parse_ip(g->address, &ip) < 0)
		return cfg_fail(c, map, "address", "internal: unparsable");
	family = ip.family == AF_INET ? "ipv4" : "ipv6";
	if (!*g->ip_family) {
		if (cfg_set_text(&g->ip_family, family) < 0)
			return -ENOMEM;
	} else if (strcmp(g->ip_family, family) != 0) {
		return cfg_fail(c, nsp_yaml_get(map, "ip-family"), "ip-family",
				"\"%s\" does not agree with address %s",
				g->ip_family, g->address);
	}
	if (!*g->protocol && cfg_set_text(&g->protocol, "bgp") < 0)
		return -ENOMEM;
	if (strcmp(g->protocol, "static") == 0) {
		for (size_t i = 0; i < sizeof(bgp_only) / sizeof(*bgp_only);
		     i++)
			if (cfg_present(map, bgp_only[i]))
				return cfg_fail(c,
						nsp_yaml_get(map, bgp_only[i]),
						bgp_only[i],
						"applies only to protocol bgp");
		/* A static route has no other way to notice a dead gateway,
		 * so Meridio turns BFD on unless told not to. */
		if (!cfg_present(map, "bfd"))
			g->bfd = 1;
	} else {
		if (g->hold_time == 1 || g->hold_time == 2)
			return cfg_fail(c, nsp_yaml_get(map, "hold-time"),
					"hold-time",
					"%u is not 0 or at least 3 seconds "
					"(RFC 4271)",
					g->hold_time);
		if (!g->local_asn)
			g->local_asn = BGP_LOCAL_ASN;
		if (!g->remote_asn)
			g->remote_asn = BGP_REMOTE_ASN;
		if (!g->local_port)
			g->local_port = BGP_PORT;
		if (!g->remote_port)
			g->remote_port = BGP_PORT;
		if (!cfg_present(map, "hold-time"))
			g->hold_time = BGP_HOLD_TIME;
	}
	if (!g->min_tx)
		g->min_tx = BFD_MIN_TX;
	if (!g->min_rx)
		g->min_rx = BFD_MIN_RX;
	if (!g->multiplier)
		g->multiplier = BFD_MULTIPLIER;
	return 0;
}

static int cmp_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Two port NATs of a conduit must not claim the same (VIP, protocol,
 * port): the stateless NAT would not know which target port to use. */
static int conduit_post(struct cfg_ctx *c, const struct nsp_yaml_node *map,
			ProtobufCMessage *msg)
{
	const Nsp__Conduit *cd = (const Nsp__Conduit *)msg;
	size_t n = 0, k = 0;
	char **keys;
	int rc = 0;

	for (size_t i = 0; i < cd->n_destination_port_nats; i++)
		n += cd->destination_port_nats[i]->n_vips;
	if (n < 2)
		return 0;
	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < cd->n_destination_port_nats && rc == 0; i++) {
		const Nsp__PortNat *pn = cd->destination_port_nats[i];

		for (size_t j = 0; j < pn->n_vips; j++, k++) {
			if (asprintf(&keys[k], "%s %s/%s", pn->vips[j],
				     pn->port, pn->protocol) < 0) {
				keys[k] = NULL;
				rc = -ENOMEM;
				break;
			}
		}
	}
	if (rc == 0) {
		qsort(keys, n, sizeof(*keys), cmp_text);
		for (size_t i = 1; i < n && rc == 0; i++) {
			if (strcmp(keys[i - 1], keys[i]) == 0) {
				char q[CFG_QUOTE];

				rc = cfg_fail(
				    c,
				    nsp_yaml_get(map, "destination-port-"
						      "nats"),
				    "destination-port-nats",
				    "%s (VIP port/protocol) is mapped "
				    "twice",
				    cfg_quote(keys[i], q, sizeof(q)));
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	return rc;
}

/* At most one address per family: strait-tun translates a flow between the
 * service's address and an instance's of the same family, and a second
 * address of a family would leave it two answers for a reply's source. */
static int service_post(struct cfg_ctx *c, const struct nsp_yaml_node *map,
			ProtobufCMessage *msg)
{
	Nsp__Service *sv = (Nsp__Service *)msg;
	const char *first[2] = {NULL, NULL};

	for (size_t i = 0; i < sv->n_addresses; i++) {
		struct cidr ip;
		int v6;

		if (cidr_parse_ip(sv->addresses[i], &ip) < 0)
			return cfg_fail(c, map, "addresses",
					"internal: unparsable");
		v6 = ip.family == AF_INET6;
		if (first[v6])
			return cfg_fail(
			    c, nsp_yaml_get(map, "addresses")->kids[i],
			    "addresses",
			    "\"%s\" is a second IPv%c address (after %s): a "
			    "service has at most one address per family",
			    sv->addresses[i], v6 ? '6' : '4', first[v6]);
		first[v6] = sv->addresses[i];
	}
	if (!*sv->policy && cfg_set_text(&sv->policy, "spread") < 0)
		return -ENOMEM;
	return 0;
}

/* One service address, for the checks across items. */
struct svc_addr {
	struct cidr ip;
	const struct cfg_entry *e; /* its service */
	size_t pos;		   /* its place in the service's list */
};

static int cmp_svc_addr(const void *a, const void *b)
{
	const struct svc_addr *x = a, *y = b;
	int d = x->ip.family - y->ip.family;

	if (!d)
		d = memcmp(x->ip.addr, y->ip.addr, sizeof(x->ip.addr));
	/* Ties in file order, so that the later one is named. */
	if (!d)
		d = (x->e->index > y->e->index) - (x->e->index < y->e->index);
	return d;
}

static bool same_ip(const struct cidr *a, const struct cidr *b)
{
	return a->family == b->family &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* Refuses service address a, which is already whose item index (name):
 * "an address of" another service, or "the address of vips". */
static int svc_addr_taken(struct cfg_ctx *c, const struct svc_addr *a,
			  const char *whose, size_t index, const char *name)
{
	const Nsp__Service *sv = (const Nsp__Service *)a->e->msg;
	const struct nsp_yaml_node *list =
	    nsp_yaml_get(a->e->node, "addresses");

	c->index = a->e->index;
	c->name = a->e->name;
	return cfg_fail(c, list ? list->kids[a->pos] : a->e->node, "addresses",
			"%s is already %s item %zu (%s)", sv->addresses[a->pos],
			whose, index, name);
}

/* A service address is the service's alone: not another service's, whose
 * flows strait-tun could not tell apart, and not a VIP, which the load
 * balancers attract from outside and strait-tun would capture inside. */
static int services_post_all(struct cfg_ctx *c, const struct cfg_items *it)
{
	const struct cfg_items *vips = &c->items[NSP_CFG_VIPS];
	struct svc_addr *all;
	size_t n = 0, k = 0;
	int rc = 0;

	for (size_t i = 0; i < it->n; i++)
		n += ((const Nsp__Service *)it->v[i].msg)->n_addresses;
	if (n == 0)
		return 0;
	all = calloc(n, sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < it->n; i++) {
		const Nsp__Service *sv = (const Nsp__Service *)it->v[i].msg;

		for (size_t j = 0; j < sv->n_addresses; j++, k++) {
			cidr_parse_ip(sv->addresses[j], &all[k].ip);
			all[k].e = &it->v[i];
			all[k].pos = j;
		}
	}
	qsort(all, n, sizeof(*all), cmp_svc_addr);
	for (size_t i = 1; i < n && rc == 0; i++)
		if (same_ip(&all[i - 1].ip, &all[i].ip))
			rc = svc_addr_taken(c, &all[i], "an address of",
					    all[i - 1].e->index,
					    all[i - 1].e->name);
	/* VIPs are few; a scan per VIP keeps this simple. */
	for (size_t v = 0; v < vips->n && rc == 0; v++) {
		const Nsp__Vip *vip = (const Nsp__Vip *)vips->v[v].msg;
		struct cidr ip;

		if (cidr_parse(vip->address, &ip) < 0)
			continue;
		for (size_t i = 0; i < n && rc == 0; i++)
			if (same_ip(&all[i].ip, &ip))
				rc = svc_addr_taken(
				    c, &all[i], "the address of vips",
				    vips->v[v].index, vips->v[v].name);
	}
	free(all);
	return rc;
}
