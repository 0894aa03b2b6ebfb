/* strait-nsp: the target registry and configuration hub (docs/nsp.md).
 * This file parses options, builds the modules in order, runs the loop
 * and unwinds in reverse. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "nsp.h"
#include "sockaddr.h"

#define VERSION "0.1.0"

struct options {
	const char *listen;
	const char *metrics;
	const char *state;
	const char **configs;
	size_t n_configs;
	uint64_t ttl_ms;
	size_t event_log;
	uint32_t config_poll_ms;
	struct daemon_common common;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: strait-nsp [OPTION]...\n"
"The strait registry and configuration hub: targets register here with\n"
"their IPs and identifiers, load balancers, proxies and tunnels watch it,\n"
"and it serves the trench configuration read from ConfigMap directories.\n"
"\n"
"  -l, --listen ADDR        API address (default :7778, all IPv4 addresses)\n"
"  -c, --config DIR         a trench's configuration directory (Meridio's\n"
"                           ConfigMap layout, docs/config.md); repeatable\n"
"  -s, --state FILE         the SQLite store of registrations\n"
"                           (default /var/lib/strait/nsp.db)\n"
"      --ttl SECONDS        a registration's life without refresh (default 60)\n"
"      --event-log N        changes kept for resuming watchers (default 8192)\n"
"      --config-poll SECONDS  re-read configuration directories this often\n"
"                           besides inotify (default 5; 0 = only inotify)\n"
"  -m, --metrics ADDR       Prometheus /metrics address (default :9778;\n"
"                           'off' disables)\n"
DAEMON_HELP
"  -h, --help               this text\n"
"  -V, --version            the version\n"
"\n"
"Signals: SIGTERM and SIGINT stop cleanly; SIGHUP re-reads the\n"
"configuration now.\n"
"\n"
"Exit status: 0 stopped by a signal; 1 runtime failure (the store could not\n"
"be written); 2 bad usage or configuration directory; 3 cannot listen;\n"
"4 the store cannot be opened or is corrupt.\n"
"\n"
"Example:\n"
"  strait-nsp -l 127.0.0.1:7778 -s /tmp/nsp.db \\\n"
"      -c examples/meridio-configuration-trench-a\n");
}

static int parse(int argc, char **argv, struct options *o)
{
	enum { OPT_TTL = 256, OPT_LOG, OPT_POLL };
	static const struct option longs[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "config", required_argument, NULL, 'c' },
		{ "state", required_argument, NULL, 's' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "ttl", required_argument, NULL, OPT_TTL },
		{ "event-log", required_argument, NULL, OPT_LOG },
		{ "config-poll", required_argument, NULL, OPT_POLL },
		DAEMON_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	uint64_t v;
	int c;
	while ((c = getopt_long(argc, argv, "l:c:s:m:hV", longs, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->listen = optarg;
			break;
		case 'c':
			o->configs[o->n_configs++] = optarg;
			break;
		case 's':
			o->state = optarg;
			break;
		case 'm':
			o->metrics = optarg;
			break;
		case OPT_TTL:
			if (daemon_number("strait-nsp", "--ttl", optarg, 1, 86400, &v))
				return -EINVAL;
			o->ttl_ms = v * 1000;
			break;
		case OPT_LOG:
			if (daemon_number("strait-nsp", "--event-log", optarg, 16, 1u << 24, &v))
				return -EINVAL;
			o->event_log = v;
			break;
		case OPT_POLL:
			if (daemon_number("strait-nsp", "--config-poll", optarg, 0, 3600, &v))
				return -EINVAL;
			o->config_poll_ms = (uint32_t)v * 1000;
			break;
		case 'h':
			usage(stdout);
			exit(STRAIT_EXIT_OK);
		case 'V':
			printf("strait-nsp %s\n", VERSION);
			exit(STRAIT_EXIT_OK);
		default: {
			int r = daemon_option("strait-nsp", c, optarg, &o->common);
			if (r < 0)
				return -EINVAL;
			if (r == 0) {
				fprintf(stderr, "Try 'strait-nsp --help'.\n");
				return -EINVAL;
			}
			break;
		}
		}
	}
	if (daemon_no_operands("strait-nsp", argc, argv, optind) < 0)
		return -EINVAL;
	return daemon_check("strait-nsp", &o->common);
}

static int restore_one(const Nsp__Target *t, void *data)
{
	struct nsp *n = data;
	char err[512];
	if (nsp_registry_restore(n->reg, t, nsp_now_ms(n), err, sizeof(err)) < 0)
		log_warn("store: skipping a stored registration: %s", err);
	return 0;
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct nsp *n = h->data;
	if (signum == SIGHUP) {
		log_info("SIGHUP: re-reading the configuration");
		nsp_confwatch_reload(n);
		return;
	}
	log_info("%s: stopping", strsignal(signum));
	n->exit_code = STRAIT_EXIT_OK;
	uv_stop(n->loop);
}

int main(int argc, char **argv)
{
	const char *configs[argc > 0 ? argc : 1];
	struct options o = {
		.listen = ":7778",
		.metrics = ":9778",
		.state = "/var/lib/strait/nsp.db",
		.configs = configs,
		.config_poll_ms = 5000,
		.common.level = LOG_INFO,
	};
	if (parse(argc, argv, &o) < 0)
		return STRAIT_EXIT_USAGE;
	log_init("nsp", o.common.level);
	/* A peer gone mid-write must be an EPIPE from write(), not a
	 * signal that kills the daemon (lib/rpc.h). */
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_storage api_addr, metrics_addr;
	if (sockaddr_parse(o.listen, 7778, &api_addr) < 0) {
		fprintf(stderr, "strait-nsp: --listen '%s' is not an address\n",
			o.listen);
		return STRAIT_EXIT_USAGE;
	}
	bool metrics_on = strcmp(o.metrics, "off") != 0;
	if (metrics_on && sockaddr_parse(o.metrics, 9778, &metrics_addr) < 0) {
		fprintf(stderr, "strait-nsp: --metrics '%s' is not an address\n",
			o.metrics);
		return STRAIT_EXIT_USAGE;
	}

	uv_loop_t loop;
	uv_loop_init(&loop);
	struct nsp n = { .loop = &loop, .exit_code = STRAIT_EXIT_FAILURE };
	struct metrics_server *ms = NULL;
	uv_signal_t sigs[3];
	int rc = STRAIT_EXIT_STATE;
	char err[512];

	if (nsp_store_open(o.state, o.common.sync_full, &n.store, err, sizeof(err)) < 0) {
		log_error("store: %s", err);
		goto out_loop;
	}
	struct nsp_registry_config rc_cfg = {
		.ttl_ms = o.ttl_ms,
		.log_size = o.event_log,
		.lookup = nsp_config_lookup,
		.ctx = &n,
	};
	n.persisted = nsp_store_revision(n.store);
	n.reg = nsp_registry_new(&rc_cfg, n.persisted);
	if (!n.reg) {
		log_error("out of memory");
		rc = STRAIT_EXIT_FAILURE;
		goto out_store;
	}
	uv_update_time(&loop);
	if (nsp_store_load(n.store, restore_one, &n) < 0) {
		log_error("store: %s: cannot read the registrations", o.state);
		goto out_registry;
	}
	log_info("store: %s: %zu registration(s) at revision %llu, store id "
		 "%016llx",
		 o.state, nsp_registry_count(n.reg),
		 (unsigned long long)n.persisted,
		 (unsigned long long)nsp_store_id(n.store));

	rc = STRAIT_EXIT_USAGE;
	n.trenches = calloc(o.n_configs ? o.n_configs : 1, sizeof(*n.trenches));
	if (!n.trenches)
		goto out_registry;
	n.n_trenches = o.n_configs;
	for (size_t i = 0; i < o.n_configs; i++)
		n.trenches[i].dir = (char *)o.configs[i];
	n.config_poll_ms = o.config_poll_ms;
	if (nsp_confwatch_start(&n) < 0)
		goto out_config;
	if (o.n_configs == 0)
		log_warn("no --config directory: every Register will be refused "
			 "as naming an unknown trench");

	if (nsp_targets_start(&n) < 0) {
		rc = STRAIT_EXIT_FAILURE;
		goto out_config;
	}

	struct rpc_method methods[16];
	size_t nm = 0;
	for (size_t i = 0; i < nsp_n_target_methods; i++)
		methods[nm++] = nsp_target_methods[i];
	for (size_t i = 0; i < nsp_n_config_methods; i++)
		methods[nm++] = nsp_config_methods[i];
	struct rpc_server_config scfg = {
		.methods = methods,
		.n_methods = nm,
		.data = &n,
		.timing = { o.common.keepalive_ms, o.common.dead_ms },
	};
	rc = STRAIT_EXIT_LISTEN;
	int e = rpc_server_start(&loop, (struct sockaddr *)&api_addr, &scfg,
				 &n.rpc);
	if (e < 0) {
		log_error("cannot listen on %s: %s", o.listen, uv_strerror(e));
		goto out_targets;
	}
	if (metrics_on) {
		e = metrics_server_start(&loop, (struct sockaddr *)&metrics_addr,
					 nsp_stats_collect, &n, &ms);
		if (e < 0) {
			log_error("cannot serve metrics on %s: %s", o.metrics,
				  uv_strerror(e));
			goto out_rpc;
		}
	}
	int signums[3] = { SIGINT, SIGTERM, SIGHUP };
	for (int i = 0; i < 3; i++) {
		uv_signal_init(&loop, &sigs[i]);
		sigs[i].data = &n;
		uv_signal_start(&sigs[i], on_signal, signums[i]);
	}
	log_info("serving on %s (metrics %s), ttl %llu s", o.listen,
		 metrics_on ? o.metrics : "off",
		 (unsigned long long)(o.ttl_ms ? o.ttl_ms / 1000 : 60));

	uv_run(&loop, UV_RUN_DEFAULT);
	rc = n.exit_code;

	for (int i = 0; i < 3; i++)
		uv_close((uv_handle_t *)&sigs[i], NULL);
	if (ms)
		metrics_server_close(ms, NULL, NULL);
out_rpc:
	rpc_server_close(n.rpc, NULL, NULL);
	n.rpc = NULL;
out_targets:
	nsp_targets_stop(&n);
out_config:
	nsp_confwatch_stop(&n);
	/* Let every close callback run: watches end with the connections. */
	uv_run(&loop, UV_RUN_DEFAULT);
	for (size_t i = 0; i < n.n_trenches; i++)
		nsp_config_free(n.trenches[i].config);
	free(n.trenches);
out_registry:
	nsp_registry_free(n.reg);
out_store:
	nsp_store_close(n.store);
out_loop:
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		log_warn("a handle was left open at exit");
	return rc;
}
