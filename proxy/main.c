/* strait-proxy: a node's bridge between its conduit's LBs and its pods
 * (docs/proxy.md). This file parses options, runs the pass that moves the
 * attachments towards what is wanted, and starts and stops the modules. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "rtnl.h"
#include "sockaddr.h"

#define VERSION "0.1.0"
#define PROG "strait-proxy"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: strait-proxy --trench NAME --conduit NAME [OPTION]...\n"
"The strait node proxy: owns a bridge for its conduit on this node, links\n"
"the conduit's LBs (learned from NSP) and the node's pods (asked for by\n"
"strait-target on the local socket) into it with addresses from IPAM, and\n"
"routes the pods' VIP-sourced replies over every live LB.\n"
"\n"
"  -t, --trench NAME        the trench (required)\n"
"  -c, --conduit NAME       the conduit (required)\n"
"      --node NAME          this node's name in IPAM and NSP (default: the\n"
"                           host name)\n"
"  -n, --nsp ADDR           NSP's address (default 127.0.0.1:7778)\n"
"  -i, --ipam ADDR          IPAM's address (default 127.0.0.1:7777)\n"
"      --local ADDR         the local API for strait-target and straitctl\n"
"                           (default unix:/run/strait/proxy-CONDUIT.sock)\n"
"      --bridge NAME        the bridge (default stb-CONDUIT, cut to 15 bytes)\n"
"      --table N            the egress routing table (default 200)\n"
"      --rule-priority N    priority of the 'from VIP lookup N' rules (100)\n"
"      --ipam-refresh S     seconds between lease refreshes (default 600)\n"
"  -s, --store FILE         the attachments' SQLite store (default\n"
"                           /var/lib/strait/proxy-TRENCH-CONDUIT.db)\n"
"      --teardown           on SIGTERM also remove every link, the egress\n"
"                           rules and routes and the bridge, and release the\n"
"                           addresses (default: leave the data path working\n"
"                           for the next run to adopt)\n"
"  -m, --metrics ADDR       Prometheus /metrics address (default :9780;\n"
"                           'off' disables)\n"
DAEMON_HELP
"  -h, --help               this text\n"
"  -V, --version            the version\n"
"\n"
"Exit status: 0 stopped by SIGTERM or SIGINT; 1 runtime failure (rtnetlink,\n"
"the bridge); 2 bad usage; 3 cannot listen; 4 the store cannot be opened.\n"
"\n"
"Example:\n"
"  strait-proxy --trench trench-a --conduit c1 --node worker-1 \\\n"
"      --nsp unix:/run/strait/nsp.sock --ipam unix:/run/strait/ipam.sock\n");
}

struct options {
	struct proxy_options px;
	struct daemon_common common;
	bool teardown;
	char local_buf[160], store_buf[320], node_buf[65];
};

enum {
	OPT_NODE = 2000,
	OPT_LOCAL,
	OPT_BRIDGE,
	OPT_TABLE,
	OPT_RULE_PRIORITY,
	OPT_IPAM_REFRESH,
	OPT_TEARDOWN,
};

static int number(const char *opt, const char *text, uint64_t lo, uint64_t hi,
		  uint32_t *out)
{
	uint64_t v;
	if (daemon_number(PROG, opt, text, lo, hi, &v) < 0)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "trench", required_argument, NULL, 't' },
		{ "conduit", required_argument, NULL, 'c' },
		{ "node", required_argument, NULL, OPT_NODE },
		{ "nsp", required_argument, NULL, 'n' },
		{ "ipam", required_argument, NULL, 'i' },
		{ "local", required_argument, NULL, OPT_LOCAL },
		{ "bridge", required_argument, NULL, OPT_BRIDGE },
		{ "table", required_argument, NULL, OPT_TABLE },
		{ "rule-priority", required_argument, NULL, OPT_RULE_PRIORITY },
		{ "ipam-refresh", required_argument, NULL, OPT_IPAM_REFRESH },
		{ "store", required_argument, NULL, 's' },
		{ "teardown", no_argument, NULL, OPT_TEARDOWN },
		{ "metrics", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		DAEMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct proxy_options *x = &o->px;
	const char *bridge = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "t:c:n:i:s:m:hV", longs, NULL)) !=
	       -1) {
		switch (c) {
		case 't': x->trench = optarg; break;
		case 'c': x->conduit = optarg; break;
		case OPT_NODE: x->node = optarg; break;
		case 'n': x->nsp = optarg; break;
		case 'i': x->ipam = optarg; break;
		case OPT_LOCAL: x->local = optarg; break;
		case OPT_BRIDGE: bridge = optarg; break;
		case 's': x->store = optarg; break;
		case 'm': x->metrics = optarg; break;
		case OPT_TEARDOWN: o->teardown = true; break;
		case OPT_TABLE:
			if (number("--table", optarg, 1, 0xefffffff,
				   &x->table) < 0)
				return -EINVAL;
			if (x->table == 253 || x->table == 254 ||
			    x->table == 255) {
				fprintf(stderr, PROG ": --table %u is one of "
						"the kernel's own tables\n",
					x->table);
				return -EINVAL;
			}
			break;
		case OPT_RULE_PRIORITY:
			if (number("--rule-priority", optarg, 1, 32765,
				   &x->rule_priority) < 0)
				return -EINVAL;
			break;
		case OPT_IPAM_REFRESH:
			if (number("--ipam-refresh", optarg, 1, 86400,
				   &x->ipam_refresh_s) < 0)
				return -EINVAL;
			break;
		case 'h': usage(stdout); exit(STRAIT_EXIT_OK);
		case 'V': printf(PROG " " VERSION "\n"); exit(STRAIT_EXIT_OK);
		default: {
			if (daemon_option_or_usage(PROG, c, optarg,
						   &o->common) < 0)
				return -EINVAL;
			break;
		}
		}
	}
	if (daemon_no_operands(PROG, argc, argv, optind) < 0)
		return -EINVAL;
	char err[256];
	if (!x->trench || !x->conduit) {
		fprintf(stderr, PROG ": --trench and --conduit are required\n"
				"Try '" PROG " --help'.\n");
		return -EINVAL;
	}
	const char *names[][2] = { { "--trench", x->trench },
				   { "--conduit", x->conduit } };
	for (int i = 0; i < 2; i++)
		if (proxy_check_name(names[i][1], err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": %s: %s\n", names[i][0], err);
			return -EINVAL;
		}
	if (!x->node) {
		if (gethostname(o->node_buf, sizeof(o->node_buf) - 1) < 0)
			snprintf(o->node_buf, sizeof(o->node_buf), "node");
		x->node = o->node_buf;
	}
	if (proxy_check_name(x->node, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": --node: %s\n", err);
		return -EINVAL;
	}
	if (bridge) {
		if (proxy_check_ifname(bridge) < 0) {
			fprintf(stderr, PROG ": --bridge '%s' is not an "
					"interface name (1 to 15 bytes)\n",
				bridge);
			return -EINVAL;
		}
		snprintf(x->bridge, sizeof(x->bridge), "%s", bridge);
	} else {
		proxy_bridge_name(x->conduit, x->bridge);
	}
	if (!x->local) {
		snprintf(o->local_buf, sizeof(o->local_buf),
			 "unix:/run/strait/proxy-%s.sock", x->conduit);
		x->local = o->local_buf;
	}
	if (!x->store) {
		snprintf(o->store_buf, sizeof(o->store_buf),
			 "/var/lib/strait/proxy-%s-%s.db", x->trench,
			 x->conduit);
		x->store = o->store_buf;
	}
	if (daemon_check(PROG, &o->common) < 0)
		return -EINVAL;
	x->sync_full = o->common.sync_full;
	x->keepalive_ms = o->common.keepalive_ms;
	x->dead_ms = o->common.dead_ms;
	return 0;
}

/* ---- the pass ---- */

uint64_t proxy_now_ms(const struct proxy *p)
{
	return uv_now(p->loop);
}

/* Unlinks, releases, forgets and frees a; Attach calls waiting for it are
 * refused. */
static void att_remove(struct proxy *p, struct proxy_att *a)
{
	proxy_att_unlink(p, a);
	if (a->addr[0].family || a->addr[1].family) {
		if (rpc_client_connected(p->ipam))
			proxy_ipam_release(p, a);
		else
			log_warn("%s: IPAM unreachable; its addresses go back "
				 "when their lease ends", a->name);
	}
	proxy_store_del(p, a->name);
	if (a->state != ATT_FAILED) {
		a->state = ATT_FAILED;
		snprintf(a->reason, sizeof(a->reason), "link_failed");
		snprintf(a->error, sizeof(a->error),
			 "detached before the link was made");
	}
	proxy_att_answer(p, a);
	log_info("%s: detached", a->name);
	proxy_att_free(p, a);
}

static void pass(struct proxy *p)
{
	bool ipam_up = rpc_client_connected(p->ipam);
	struct proxy_att *next;
	/* A departing LB leaves the egress route before its link goes, so
	 * that no reply is routed into a link that no longer exists. */
	for (struct proxy_att *a = p->atts; a; a = a->next)
		if (a->gone && a->kind == PROXY_LB && a->state == ATT_LINKED) {
			proxy_egress_update(p);
			break;
		}
	for (struct proxy_att *a = p->atts; a; a = next) {
		next = a->next;
		if (a->gone) {
			att_remove(p, a);
			continue;
		}
		if (a->state == ATT_NEW && ipam_up && p->bridge_ready)
			proxy_ipam_allocate(p, a);
		else if (a->state == ATT_NEW && !ipam_up && a->waiters) {
			a->state = ATT_FAILED;
			snprintf(a->reason, sizeof(a->reason),
				 "ipam_unavailable");
			snprintf(a->error, sizeof(a->error),
				 "IPAM is unreachable (%s)",
				 rpc_client_error(p->ipam));
		}
		if (a->state == ATT_ALLOCATED && p->bridge_ready)
			proxy_att_link(p, a);
		if (a->state == ATT_LINKED || a->state == ATT_FAILED)
			proxy_att_answer(p, a);
		if (a->state == ATT_FAILED && a->kind == PROXY_POD) {
			att_remove(p, a);
			continue;
		}
		if (a->state == ATT_FAILED && a->retry_at_ms <= proxy_now_ms(p))
			a->retry_at_ms = proxy_now_ms(p) + 5000;
	}
	proxy_egress_update(p);
}

static void on_pass(uv_timer_t *t)
{
	struct proxy *p = t->data;
	p->pass_scheduled = false;
	pass(p);
}

void proxy_schedule(struct proxy *p)
{
	if (p->pass_scheduled)
		return;
	p->pass_scheduled = true;
	uv_timer_start(&p->pass_timer, on_pass, 0, 0);
}

static void on_sweep(uv_timer_t *t)
{
	struct proxy *p = t->data;
	proxy_node_sweep(p);
}

static void on_refresh(uv_timer_t *t)
{
	struct proxy *p = t->data;
	proxy_nsp_register(p);
	uint64_t every = (uint64_t)p->opt->ipam_refresh_s * 1000;
	if (proxy_now_ms(p) - p->ipam_refreshed_ms >= every) {
		p->ipam_refreshed_ms = proxy_now_ms(p);
		proxy_ipam_refresh(p);
	}
}

static void teardown(struct proxy *p)
{
	struct proxy_att *next;
	for (struct proxy_att *a = p->atts; a; a = next) {
		next = a->next;
		a->gone = true;
		att_remove(p, a);
	}
	proxy_egress_fini(p);
	char err[256];
	if (rtnl_link_del(p->rtnl, p->bridge_ifindex, err, sizeof(err)) == 0)
		log_info("removed bridge %s", p->opt->bridge);
	uv_run(p->loop, UV_RUN_NOWAIT); /* send the Releases */
}

/* ---- start and stop ---- */

static void on_signal(uv_signal_t *h, int signum)
{
	struct proxy *p = h->data;
	log_info("%s: stopping", strsignal(signum));
	p->exit_code = STRAIT_EXIT_OK;
	uv_stop(p->loop);
}

int main(int argc, char **argv)
{
	struct options o = {
		.px = {
			.nsp = "127.0.0.1:7778",
			.ipam = "127.0.0.1:7777",
			.metrics = ":9780",
			.table = 200,
			.rule_priority = 100,
			.ipam_refresh_s = 600,
		},
		.common.level = LOG_INFO,
	};
	if (parse(argc, argv, &o) < 0)
		return STRAIT_EXIT_USAGE;
	const struct proxy_options *opt = &o.px;
	log_init("proxy", o.common.level);
	signal(SIGPIPE, SIG_IGN); /* lib/rpc.h */

	struct sockaddr_storage nsp_addr, ipam_addr, local_addr, metrics_addr;
	bool metrics_on = strcmp(opt->metrics, "off") != 0;
	if (daemon_address(PROG, "--nsp", opt->nsp, 7778, &nsp_addr) < 0 ||
	    daemon_address(PROG, "--ipam", opt->ipam, 7777, &ipam_addr) < 0 ||
	    daemon_address(PROG, "--local", opt->local, 0, &local_addr) < 0 ||
	    (metrics_on &&
	     daemon_address(PROG, "--metrics",
			    opt->metrics, 9780, &metrics_addr) < 0))
		return STRAIT_EXIT_USAGE;

	uv_loop_t loop;
	uv_loop_init(&loop);
	struct proxy p = {
		.loop = &loop,
		.opt = opt,
		.exit_code = STRAIT_EXIT_FAILURE,
	};
	char err[512];
	int rc = STRAIT_EXIT_STATE;
	daemon_make_parent(opt->store);
	if (proxy_store_open(&p, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out_loop;
	}
	if (proxy_store_load(&p, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out_store;
	}
	rc = STRAIT_EXIT_FAILURE;
	int e = rtnl_open(&p.rtnl);
	if (e < 0) {
		log_error("cannot open rtnetlink: %s", strerror(-e));
		goto out_atts;
	}
	if (proxy_node_init(&p, err, sizeof(err)) < 0) {
		log_error("bridge %s: %s", opt->bridge, err);
		goto out_rtnl;
	}
	proxy_egress_init(&p);
	uv_timer_init(&loop, &p.pass_timer);
	uv_timer_init(&loop, &p.sweep_timer);
	uv_timer_init(&loop, &p.refresh_timer);
	uv_timer_init(&loop, &p.announce_timer);
	p.pass_timer.data = p.sweep_timer.data = p.refresh_timer.data = &p;
	p.announce_timer.data = &p;
	proxy_node_sweep(&p); /* adopt or drop what the store remembers */

	rc = STRAIT_EXIT_LISTEN;
	struct metrics_server *ms = NULL;
	daemon_make_socket_dir(&local_addr);
	e = proxy_local_start(&p, (struct sockaddr *)&local_addr);
	if (e < 0) {
		log_error("cannot serve the local API on %s: %s", opt->local,
			  strerror(-e));
		goto out_timers;
	}
	if (metrics_on) {
		e = metrics_server_start(&loop, (struct sockaddr *)&metrics_addr,
					 proxy_stats_collect, &p, &ms);
		if (e < 0) {
			log_error("cannot serve metrics on %s: %s", opt->metrics,
				  uv_strerror(e));
			goto out_local;
		}
	}
	rc = STRAIT_EXIT_FAILURE;
	if (proxy_ipam_start(&p, (struct sockaddr *)&ipam_addr) < 0 ||
	    proxy_nsp_start(&p, (struct sockaddr *)&nsp_addr) < 0) {
		log_error("cannot start the IPAM and NSP clients");
		goto out_clients;
	}
	p.ipam_refreshed_ms = proxy_now_ms(&p);
	uv_timer_start(&p.sweep_timer, on_sweep, PROXY_SWEEP_MS,
		       PROXY_SWEEP_MS);
	uv_timer_start(&p.refresh_timer, on_refresh, PROXY_NSP_REFRESH_MS,
		       PROXY_NSP_REFRESH_MS);
	uv_signal_t sigs[2];
	int signums[2] = { SIGINT, SIGTERM };
	for (int i = 0; i < 2; i++) {
		uv_signal_init(&loop, &sigs[i]);
		sigs[i].data = &p;
		uv_signal_start(&sigs[i], on_signal, signums[i]);
	}
	log_info("serving %s/%s on node %s: bridge %s, table %u, local %s, "
		 "NSP %s, IPAM %s, metrics %s",
		 opt->trench, opt->conduit, opt->node, opt->bridge, opt->table,
		 opt->local, opt->nsp, opt->ipam, opt->metrics);

	uv_run(&loop, UV_RUN_DEFAULT);
	rc = p.exit_code;
	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&sigs[i], NULL);
	uv_timer_stop(&p.sweep_timer);
	uv_timer_stop(&p.refresh_timer);
	uv_timer_stop(&p.announce_timer);
	if (o.teardown)
		teardown(&p);
	proxy_nsp_stop(&p);
out_clients:
	proxy_ipam_stop(&p);
	if (ms)
		metrics_server_close(ms, NULL, NULL);
out_local:
	/* Attach calls still waiting are dropped with the connections. */
	proxy_local_stop(&p);
out_timers:
	uv_close((uv_handle_t *)&p.pass_timer, NULL);
	uv_close((uv_handle_t *)&p.sweep_timer, NULL);
	uv_close((uv_handle_t *)&p.refresh_timer, NULL);
	uv_close((uv_handle_t *)&p.announce_timer, NULL);
out_rtnl:
	rtnl_close(p.rtnl);
out_atts:
	while (p.atts) {
		struct proxy_waiter *w;
		while ((w = p.atts->waiters)) {
			p.atts->waiters = w->next;
			free(w);
		}
		proxy_att_free(&p, p.atts);
	}
out_store:
	proxy_store_close(&p);
out_loop:
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		log_warn("a handle was left open at exit");
	return rc;
}
