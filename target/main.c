/* strait-target: the agent beside an application (docs/target.md).
 * `strait-target daemon` runs the agent in the pod's network namespace;
 * the other commands (cli.c) ask it to open and close streams. This file
 * parses the daemon's options, builds its modules in order, runs the
 * loop and unwinds in reverse. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cli.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "sockaddr.h"

#define VERSION "0.1.0"
#define PROG "strait-target"

static void usage(FILE *f)
{
	fputs(
"Usage: strait-target COMMAND [OPTION]...\n"
"The agent beside an application (Meridio's TAPA): in the pod's network\n"
"namespace it opens and closes streams, gets the pod's link into each\n"
"conduit from the node's proxy, puts the trench's VIPs and their source\n"
"routes in place, and keeps the pod registered in NSP.\n"
"\n"
"Commands:\n"
"  daemon    run the agent (strait-target daemon --help)\n"
"  open      open a stream       (--trench T --conduit C --stream S)\n"
"  close     close a stream      (--trench T --conduit C --stream S)\n"
"  status    print the agent's conduits and streams\n"
"  watch     print the status at every change\n"
"\n"
"'strait-target COMMAND --help' describes each. -V, --version prints the\n"
"version.\n"
"\n"
"Exit status of the commands: 0 done; 1 refused (the reason named);\n"
"2 bad usage; 3 the agent, the proxy or NSP unreachable.\n", f);
}

static void daemon_usage(FILE *f)
{
	fputs(
"Usage: strait-target daemon --pod NAME --nsp ADDR [OPTION]...\n"
"Runs the agent of pod NAME in the calling process's network namespace\n"
"(the pod's). It serves the control socket that the open, close, status\n"
"and watch commands use. On start it removes what an earlier agent left\n"
"in the namespace (rules of tables 4000-4063, those tables, the VIPs the\n"
"rules name on lo); on SIGTERM or SIGINT it closes every stream\n"
"(unregister, then routes and VIPs, then the link), waiting at most\n"
"1.5 s for answers, and exits 0.\n"
"\n"
"  -p, --pod NAME           the pod's name, the key of its links in the\n"
"                           proxies (required)\n"
"  -n, --nsp ADDR           NSP's address, HOST:PORT or unix:PATH\n"
"                           (required; port 7778 when none is given)\n"
"      --proxy-dir DIR      the proxy of conduit C listens on\n"
"                           unix:DIR/proxy-C.sock (default /run/strait)\n"
"      --control ADDR       the control socket (default\n"
"                           unix:/run/strait/target-NAME.sock)\n"
"      --rule-priority N    priority of the 'from VIP lookup 4000+k' rules\n"
"                           (default 100)\n"
"  -m, --metrics ADDR       Prometheus /metrics address (default off)\n"
"      --keepalive MS       ping interval on API connections (default 1000)\n"
"      --dead MS            silence after which a peer is dead (default 5000)\n"
"      --log-level LEVEL    error, warn, info (default) or debug\n"
"  -h, --help               this text\n"
"\n"
"Exit status: 0 stopped by SIGTERM or SIGINT; 1 runtime failure (rtnetlink\n"
"unusable in this namespace); 2 bad usage; 3 the control socket or the\n"
"metrics address cannot be bound.\n"
"\n"
"Example (in the pod's namespace):\n"
"  strait-target daemon --pod pod-1 --nsp 198.18.0.10:7778 &\n"
"  strait-target open --pod pod-1 --trench trench-a --conduit c1 "
"--stream s1\n", f);
}

struct options {
	struct target_options t;
	struct daemon_common common;
	char control[128];
};

static int parse_daemon(int argc, char **argv, struct options *o)
{
	enum { OPT_PROXY_DIR = 256, OPT_CONTROL, OPT_PRIO };
	static const struct option longs[] = {
		{ "pod", required_argument, NULL, 'p' },
		{ "nsp", required_argument, NULL, 'n' },
		{ "proxy-dir", required_argument, NULL, OPT_PROXY_DIR },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "rule-priority", required_argument, NULL, OPT_PRIO },
		{ "metrics", required_argument, NULL, 'm' },
		DAEMON_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct target_options *t = &o->t;
	uint64_t v;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:n:m:h", longs, NULL)) != -1) {
		switch (c) {
		case 'p':
			t->pod = optarg;
			break;
		case 'n':
			t->nsp = optarg;
			break;
		case OPT_PROXY_DIR:
			if (optarg[0] != '/') {
				fprintf(stderr, PROG ": --proxy-dir '%s' is "
						"not an absolute path\n",
					optarg);
				return -EINVAL;
			}
			t->proxy_dir = optarg;
			break;
		case OPT_CONTROL:
			t->control = optarg;
			break;
		case OPT_PRIO:
			if (daemon_number(PROG, "--rule-priority", optarg, 1,
					  32765, &v))
				return -EINVAL;
			t->rule_priority = (uint32_t)v;
			break;
		case 'm':
			t->metrics = optarg;
			break;
		case 'h':
			daemon_usage(stdout);
			return 1;
		default:
			if (c == DAEMON_OPT_SYNC) {
				fprintf(stderr, PROG ": --sync: the agent keeps "
						"no store\n");
				return -EINVAL;
			}
			if (c == '?' || daemon_option(PROG, c, optarg,
						      &o->common) <= 0) {
				if (c == '?')
					fprintf(stderr, "Try '" PROG
							" daemon --help'.\n");
				return -EINVAL;
			}
			break;
		}
	}
	if (daemon_no_operands(PROG, argc, argv, optind) < 0)
		return -EINVAL;
	char err[160];
	if (!t->pod || !t->nsp) {
		fprintf(stderr, PROG ": --%s is required\n"
				"Try '" PROG " daemon --help'.\n",
			t->pod ? "nsp" : "pod");
		return -EINVAL;
	}
	if (tgt_name_check("--pod", t->pod, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return -EINVAL;
	}
	if (daemon_check(PROG, &o->common) < 0)
		return -EINVAL;
	if (!t->control) {
		snprintf(o->control, sizeof(o->control),
			 "unix:/run/strait/target-%s.sock", t->pod);
		t->control = o->control;
	}
	t->keepalive_ms = o->common.keepalive_ms;
	t->dead_ms = o->common.dead_ms;
	return 0;
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct target_agent *a = h->data;
	if (a->stopping) {
		log_info("%s again: stopping now", strsignal(signum));
		uv_stop(a->loop);
		return;
	}
	log_info("%s: closing every stream", strsignal(signum));
	a->exit_code = STRAIT_EXIT_OK;
	tgt_stop(a);
}

static int run_daemon(struct options *o)
{
	const struct target_options *opt = &o->t;
	struct sockaddr_storage nsp_addr, control_addr, metrics_addr;
	bool metrics_on = strcmp(opt->metrics, "off") != 0;
	if (daemon_address(PROG, "--nsp", opt->nsp, 7778, &nsp_addr) < 0 ||
	    daemon_address(PROG, "--control",
			   opt->control, 0, &control_addr) < 0 ||
	    (metrics_on &&
	     daemon_address(PROG, "--metrics",
			    opt->metrics, 9781, &metrics_addr) < 0))
		return STRAIT_EXIT_USAGE;
	log_init("target", o->common.level);
	/* A peer gone mid-write must be an EPIPE from write(), not a
	 * signal that kills the agent (lib/rpc.h). */
	signal(SIGPIPE, SIG_IGN);

	char err[512];
	struct target_agent a = {
		.opt = opt,
		.exit_code = STRAIT_EXIT_FAILURE,
	};
	if (tgt_net_open(opt->rule_priority, &a.net, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return STRAIT_EXIT_FAILURE;
	}
	struct tgt_net_cleaned cleaned;
	if (tgt_net_cleanup(a.net, &cleaned, err, sizeof(err)) < 0) {
		log_error("cannot remove what an earlier agent left: %s", err);
		tgt_net_close(a.net);
		return STRAIT_EXIT_FAILURE;
	}
	if (cleaned.rules || cleaned.addrs || cleaned.tables)
		log_info("removed what an earlier agent left: %zu rule(s), "
			 "%zu VIP(s) on lo, %zu table(s)",
			 cleaned.rules, cleaned.addrs, cleaned.tables);

	uv_loop_t loop;
	uv_loop_init(&loop);
	a.loop = &loop;
	struct metrics_server *ms = NULL;
	uv_signal_t sigs[2];
	int rc = STRAIT_EXIT_FAILURE;
	if (tgt_agent_init(&a) < 0)
		goto out_loop;
	rc = STRAIT_EXIT_LISTEN;
	daemon_make_socket_dir(&control_addr);
	int e = tgt_control_start(&a, (struct sockaddr *)&control_addr);
	if (e < 0) {
		log_error("cannot serve the control socket %s: %s",
			  opt->control, uv_strerror(e));
		goto out_control;
	}
	if (metrics_on) {
		e = metrics_server_start(&loop, (struct sockaddr *)&metrics_addr,
					 tgt_metrics_collect, &a, &ms);
		if (e < 0) {
			log_error("cannot serve metrics on %s: %s",
				  opt->metrics, uv_strerror(e));
			goto out_control;
		}
	}
	rc = STRAIT_EXIT_FAILURE;
	if (tgt_nsp_start(&a, (struct sockaddr *)&nsp_addr) < 0) {
		log_error("cannot start the NSP client");
		goto out_metrics;
	}
	int signums[2] = { SIGINT, SIGTERM };
	for (int i = 0; i < 2; i++) {
		uv_signal_init(&loop, &sigs[i]);
		sigs[i].data = &a;
		uv_signal_start(&sigs[i], on_signal, signums[i]);
	}
	log_info("pod %s: control %s, NSP %s, proxies %s/proxy-CONDUIT.sock, "
		 "rule priority %u, metrics %s",
		 opt->pod, opt->control, opt->nsp, opt->proxy_dir,
		 opt->rule_priority, opt->metrics);

	uv_run(&loop, UV_RUN_DEFAULT);
	rc = a.exit_code;

	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&sigs[i], NULL);
out_metrics:
	if (ms)
		metrics_server_close(ms, NULL, NULL);
out_control:
	/* Calls still waiting are answered before their server goes. */
	tgt_agent_fini(&a);
	tgt_control_stop(&a);
out_loop:
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		log_warn("a handle was left open at exit");
	tgt_net_close(a.net);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return STRAIT_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		usage(stdout);
		return STRAIT_EXIT_OK;
	}
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		printf(PROG " %s\n", VERSION);
		return STRAIT_EXIT_OK;
	}
	if (strcmp(cmd, "daemon") == 0) {
		struct options o = {
			.t = {
				.proxy_dir = "/run/strait",
				.metrics = "off",
				.rule_priority = 100,
			},
			.common.level = LOG_INFO,
		};
		int r = parse_daemon(argc - 1, argv + 1, &o);
		if (r)
			return r > 0 ? STRAIT_EXIT_OK : STRAIT_EXIT_USAGE;
		return run_daemon(&o);
	}
	enum tgt_cli_cmd c;
	if (tgt_cli_lookup(cmd, &c) < 0) {
		fprintf(stderr, PROG ": unknown command '%s'\n"
				"Try '" PROG " --help'.\n",
			cmd);
		return STRAIT_EXIT_USAGE;
	}
	struct tgt_cli_args args;
	int r = tgt_cli_parse(c, argc - 1, argv + 1, &args);
	if (r)
		return r > 0 ? TGT_EXIT_OK : TGT_EXIT_USAGE;
	return tgt_cli_run(&args);
}
