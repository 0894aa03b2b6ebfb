/* strait-ipam: durable address management (docs/ipam.md).
 * This file parses options, builds the modules in order, runs the loop
 * and unwinds in reverse. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipam.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "sockaddr.h"
#include "spec.h"

#define VERSION "0.1.0"
#define MAX_SPECS 64

struct options {
	const char *listen, *metrics, *state, *nsp;
	const char *specs[MAX_SPECS];
	size_t n_specs;
	uint64_t lease_ms, collect_ms, reuse_ms;
	struct daemon_common common;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: strait-ipam [OPTION]...\n"
"The strait address manager: hands out node prefixes and addresses from\n"
"each trench's tree (trench prefix, a prefix per conduit, a prefix per\n"
"node), never the same address twice, durably.\n"
"\n"
"  -l, --listen ADDR        API address (default :7777)\n"
"  -s, --state FILE         the SQLite store (default /var/lib/strait/ipam.db)\n"
"      --ipv4 [TRENCH=]PREFIX:CONDUIT_LEN:NODE_LEN\n"
"                           the IPv4 tree of TRENCH, or of every trench without\n"
"                           one of its own (default 169.255.0.0/16:20:24);\n"
"                           repeatable\n"
"      --ipv6 [TRENCH=]PREFIX:CONDUIT_LEN:NODE_LEN\n"
"                           the same for IPv6 (default fd00::/48:56:64)\n"
"      --lease SECONDS      an allocation not refreshed this long is collected\n"
"                           (default 2400, 40 min)\n"
"      --collect SECONDS    how often leases are collected (default 7200)\n"
"      --reuse-delay SECONDS  a released address waits this long before it is\n"
"                           handed out again (default 120)\n"
"      --nsp ADDR           refuse conduits that NSP's configuration lacks\n"
"                           (default: a conduit is created on first use)\n"
"  -m, --metrics ADDR       Prometheus /metrics address (default :9777;\n"
"                           'off' disables)\n"
DAEMON_HELP
"  -h, --help               this text\n"
"  -V, --version            the version\n"
"\n"
"Errors carry a reason: name_invalid, family_invalid, unknown_conduit,\n"
"prefix_cannot_fit, trench_prefix_full, conduit_prefix_full,\n"
"node_prefix_full, bridge_taken (docs/ipam.md).\n"
"\n"
"Exit status: 0 stopped by SIGTERM or SIGINT; 1 runtime failure (the store\n"
"could not be written); 2 bad usage; 3 cannot listen; 4 the store cannot be\n"
"opened, is corrupt, or breaks the tree's integrity rules.\n"
"\n"
"Example:\n"
"  strait-ipam -l 127.0.0.1:7777 -s /tmp/ipam.db --ipv4 169.255.0.0/16:20:24\n");
}

static int parse(int argc, char **argv, struct options *o)
{
	enum {
		OPT_V4 = 256, OPT_V6, OPT_LEASE, OPT_COLLECT, OPT_REUSE,
		OPT_NSP,
	};
	static const struct option longs[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "state", required_argument, NULL, 's' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "ipv4", required_argument, NULL, OPT_V4 },
		{ "ipv6", required_argument, NULL, OPT_V6 },
		{ "lease", required_argument, NULL, OPT_LEASE },
		{ "collect", required_argument, NULL, OPT_COLLECT },
		{ "reuse-delay", required_argument, NULL, OPT_REUSE },
		{ "nsp", required_argument, NULL, OPT_NSP },
		DAEMON_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	uint64_t v;
	int c;
	while ((c = getopt_long(argc, argv, "l:s:m:hV", longs, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->listen = optarg;
			break;
		case 's':
			o->state = optarg;
			break;
		case 'm':
			o->metrics = optarg;
			break;
		case OPT_V4:
		case OPT_V6:
			if (o->n_specs == MAX_SPECS) {
				fprintf(stderr, "strait-ipam: at most %d --ipv4/--ipv6\n",
					MAX_SPECS);
				return -EINVAL;
			}
			/* The family is checked with the spec: keep which
			 * option it came with as a prefix character. */
			if (asprintf((char **)&o->specs[o->n_specs++], "%c%s",
				     c == OPT_V4 ? '4' : '6', optarg) < 0)
				return -ENOMEM;
			break;
		case OPT_LEASE:
			if (daemon_number("strait-ipam", "--lease", optarg, 1, 30 * 86400, &v))
				return -EINVAL;
			o->lease_ms = v * 1000;
			break;
		case OPT_COLLECT:
			if (daemon_number("strait-ipam", "--collect", optarg, 1, 30 * 86400, &v))
				return -EINVAL;
			o->collect_ms = v * 1000;
			break;
		case OPT_REUSE:
			if (daemon_number("strait-ipam", "--reuse-delay", optarg, 0, 86400, &v))
				return -EINVAL;
			o->reuse_ms = v * 1000;
			break;
		case OPT_NSP:
			o->nsp = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(STRAIT_EXIT_OK);
		case 'V':
			printf("strait-ipam %s\n", VERSION);
			exit(STRAIT_EXIT_OK);
		default: {
			int r = daemon_option("strait-ipam", c, optarg, &o->common);
			if (r < 0)
				return -EINVAL;
			if (r == 0) {
				fprintf(stderr, "Try 'strait-ipam --help'.\n");
				return -EINVAL;
			}
			break;
		}
		}
	}
	if (daemon_no_operands("strait-ipam", argc, argv, optind) < 0)
		return -EINVAL;
	return daemon_check("strait-ipam", &o->common);
}

/* Applies the --ipv4/--ipv6 specs: defaults into cfg, per-trench ones
 * into the tree (after it exists). */
static int apply_specs(const struct options *o, struct ipam_tree_config *cfg,
		       struct ipam_tree *tree)
{
	for (size_t i = 0; i < o->n_specs; i++) {
		int family = o->specs[i][0] == '4' ? AF_INET : AF_INET6;
		const char *text = o->specs[i] + 1;
		struct ipam_spec spec;
		char err[256];
		if (ipam_spec_parse(text, &spec, err, sizeof(err)) < 0 ||
		    (spec.fs.prefix.family != family &&
		     snprintf(err, sizeof(err), "the prefix is not %s",
			      family == AF_INET ? "IPv4" : "IPv6") > 0)) {
			fprintf(stderr, "strait-ipam: --%s '%s': %s\n",
				family == AF_INET ? "ipv4" : "ipv6", text, err);
			return -EINVAL;
		}
		if (!spec.trench[0] && !tree) {
			if (ipam_spec_check(&spec.fs, err, sizeof(err)) < 0) {
				fprintf(stderr, "strait-ipam: --%s '%s': %s\n",
					family == AF_INET ? "ipv4" : "ipv6",
					text, err);
				return -EINVAL;
			}
			*(family == AF_INET ? &cfg->v4 : &cfg->v6) = spec.fs;
		} else if (spec.trench[0] && tree &&
			   ipam_tree_set_trench(tree, spec.trench, family,
						&spec.fs, err,
						sizeof(err)) < 0) {
			fprintf(stderr, "strait-ipam: --%s '%s': %s\n",
				family == AF_INET ? "ipv4" : "ipv6", text, err);
			return -EINVAL;
		}
	}
	return 0;
}

static int restore_one(const struct ipam_row *row, void *data)
{
	struct ipam *p = data;
	char err[512];
	int rc = ipam_tree_restore(p->tree, row, ipam_now_ms(p), err,
				   sizeof(err));
	if (rc < 0)
		log_error("store: integrity check failed: %s", err);
	return rc;
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct ipam *p = h->data;
	log_info("%s: stopping", strsignal(signum));
	p->exit_code = STRAIT_EXIT_OK;
	uv_stop(p->loop);
}

int main(int argc, char **argv)
{
	struct options o = {
		.listen = ":7777",
		.metrics = ":9777",
		.state = "/var/lib/strait/ipam.db",
		.collect_ms = 7200 * 1000,
		.common.level = LOG_INFO,
	};
	if (parse(argc, argv, &o) < 0)
		return STRAIT_EXIT_USAGE;
	log_init("ipam", o.common.level);
	/* A peer gone mid-write must be an EPIPE from write(), not a
	 * signal that kills the daemon (lib/rpc.h). */
	signal(SIGPIPE, SIG_IGN);

	struct ipam_tree_config tcfg = {
		.lease_ms = o.lease_ms,
		.reuse_delay_ms = o.reuse_ms,
	};
	if (apply_specs(&o, &tcfg, NULL) < 0)
		return STRAIT_EXIT_USAGE;

	struct sockaddr_storage api_addr, metrics_addr, nsp_addr;
	if (sockaddr_parse(o.listen, 7777, &api_addr) < 0) {
		fprintf(stderr, "strait-ipam: --listen '%s' is not an address\n",
			o.listen);
		return STRAIT_EXIT_USAGE;
	}
	bool metrics_on = strcmp(o.metrics, "off") != 0;
	if (metrics_on && sockaddr_parse(o.metrics, 9777, &metrics_addr) < 0) {
		fprintf(stderr, "strait-ipam: --metrics '%s' is not an address\n",
			o.metrics);
		return STRAIT_EXIT_USAGE;
	}
	if (o.nsp && sockaddr_parse(o.nsp, 7778, &nsp_addr) < 0) {
		fprintf(stderr, "strait-ipam: --nsp '%s' is not an address\n",
			o.nsp);
		return STRAIT_EXIT_USAGE;
	}

	uv_loop_t loop;
	uv_loop_init(&loop);
	struct ipam p = {
		.loop = &loop,
		.exit_code = STRAIT_EXIT_FAILURE,
		.collect_ms = o.collect_ms,
	};
	struct metrics_server *ms = NULL;
	uv_signal_t sigs[2];
	int rc = STRAIT_EXIT_FAILURE;
	char err[512];

	p.tree = ipam_tree_new(&tcfg);
	if (!p.tree) {
		log_error("out of memory");
		goto out_loop;
	}
	rc = STRAIT_EXIT_USAGE;
	if (apply_specs(&o, &tcfg, p.tree) < 0)
		goto out_tree;

	rc = STRAIT_EXIT_STATE;
	if (ipam_store_open(o.state, o.common.sync_full, &p.store, err, sizeof(err)) <
	    0) {
		log_error("store: %s", err);
		goto out_tree;
	}
	uv_update_time(&loop);
	if (ipam_store_load(p.store, restore_one, &p, err, sizeof(err)) < 0) {
		log_error("store: %s: refusing to serve from a store that breaks "
			  "the tree's rules%s%s",
			  o.state, err[0] ? ": " : "", err);
		goto out_store;
	}
	log_info("store: %s loaded", o.state);

	rc = STRAIT_EXIT_FAILURE;
	if (o.nsp && ipam_conduits_start(&p, (struct sockaddr *)&nsp_addr) < 0)
		goto out_store;
	if (ipam_collector_start(&p) < 0)
		goto out_conduits;

	struct rpc_server_config scfg = {
		.methods = ipam_methods,
		.n_methods = ipam_n_methods,
		.data = &p,
		.timing = { o.common.keepalive_ms, o.common.dead_ms },
	};
	rc = STRAIT_EXIT_LISTEN;
	int e = rpc_server_start(&loop, (struct sockaddr *)&api_addr, &scfg,
				 &p.rpc);
	if (e < 0) {
		log_error("cannot listen on %s: %s", o.listen, uv_strerror(e));
		goto out_collector;
	}
	if (metrics_on) {
		e = metrics_server_start(&loop, (struct sockaddr *)&metrics_addr,
					 ipam_stats_collect, &p, &ms);
		if (e < 0) {
			log_error("cannot serve metrics on %s: %s", o.metrics,
				  uv_strerror(e));
			goto out_rpc;
		}
	}
	int signums[2] = { SIGINT, SIGTERM };
	for (int i = 0; i < 2; i++) {
		uv_signal_init(&loop, &sigs[i]);
		sigs[i].data = &p;
		uv_signal_start(&sigs[i], on_signal, signums[i]);
	}
	log_info("serving on %s (metrics %s)%s%s", o.listen,
		 metrics_on ? o.metrics : "off", o.nsp ? ", conduits from NSP at " : "",
		 o.nsp ? o.nsp : "");

	uv_run(&loop, UV_RUN_DEFAULT);
	rc = p.exit_code;

	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&sigs[i], NULL);
	if (ms)
		metrics_server_close(ms, NULL, NULL);
out_rpc:
	rpc_server_close(p.rpc, NULL, NULL);
	p.rpc = NULL;
out_collector:
	ipam_collector_stop(&p);
out_conduits:
	ipam_conduits_stop(&p);
	uv_run(&loop, UV_RUN_DEFAULT);
out_store:
	ipam_store_close(p.store);
out_tree:
	ipam_changes_free(&p.changes);
	ipam_tree_free(p.tree);
out_loop:
	uv_run(&loop, UV_RUN_DEFAULT);
	for (size_t i = 0; i < o.n_specs; i++)
		free((char *)o.specs[i]);
	if (uv_loop_close(&loop) != 0)
		log_warn("a handle was left open at exit");
	return rc;
}
