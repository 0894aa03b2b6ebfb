/* strait-lb: the NFQUEUE Maglev load balancer (docs/lb.md).
 * This file parses options, builds the modules in order, runs the loop
 * and unwinds in reverse. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "lb.h"
#include "log.h"
#include "metrics.h"
#include "rules.h"
#include "sockaddr.h"

#define VERSION "0.1.0"
#define PROG "strait-lb"
#define MAX_QUEUES 64

static void usage(FILE *f)
{
	fprintf(f,
"Usage: strait-lb --trench NAME [OPTION]...\n"
"The strait load balancer: takes the packets for its trench's VIPs from\n"
"NFQUEUE, classifies them into flows, picks a target of the flow's stream\n"
"with Maglev (and a connection table) and sends them on with the target's\n"
"firewall mark, which policy routing turns into the target's address.\n"
"Streams, flows, VIPs and targets come from NSP and apply live.\n"
"\n"
"  -t, --trench NAME        the trench to serve (required)\n"
"  -c, --conduit NAME       only this conduit's streams (default: all)\n"
"  -n, --nsp ADDR           NSP's address (default 127.0.0.1:7778)\n"
"  -q, --queues A[:B]       NFQUEUE numbers A..B, one thread each (default\n"
"                           0:N-1 for N online CPUs, at most 8)\n"
"      --fail-open          a full or unserved queue lets packets pass\n"
"                           unbalanced (--queue-bypass, NFQA_CFG_F_FAIL_OPEN)\n"
"                           instead of dropping them\n"
"      --chain NAME         the iptables chain in mangle (default STRAIT-LB);\n"
"                           a restart removes every chain of this name first\n"
"      --marks BASE:SPAN    firewall marks and routing tables BASE..BASE+SPAN-1\n"
"                           are the LB's (default 4096:16384); a restart\n"
"                           removes the rules and routes of that range first\n"
"      --rule-priority N    priority of the 'fwmark M lookup M' rules (100)\n"
"      --table-size M       Maglev table size for every stream, a prime of at\n"
"                           least max-targets (default: per stream, the\n"
"                           smallest prime >= 100 x max-targets)\n"
"      --no-conntab         Maglev alone places every packet\n"
"      --conntab-size N     connection-table entries per queue (262144)\n"
"      --timeout PROTO=S    idle timeout of tcp (300), udp (30), sctp (300),\n"
"                           icmp (10) or other (30) connections; repeatable\n"
"      --copy-range BYTES   bytes of each packet read (default 512: headers\n"
"                           and byte matches within them)\n"
"      --queue-length N     packets the kernel queues per queue (4096)\n"
"      --register CIDR      register in NSP as a frontend of the conduit\n"
"                           with this address (repeatable, at most 8);\n"
"                           unregistered on SIGTERM\n"
"      --netns PATH         with --register: this LB's network namespace\n"
"                           (e.g. /run/netns/lb-a), for the node proxies\n"
"                           that link it to their bridges (docs/proxy.md)\n"
"      --control ADDR       the control socket for straitctl lb (default\n"
"                           unix:/run/strait/lb.sock; 'off' disables)\n"
"  -m, --metrics ADDR       Prometheus /metrics address (default :9779;\n"
"                           'off' disables)\n"
"      --keepalive MS       ping interval on API connections (default 1000)\n"
"      --dead MS            silence after which a peer is dead (default 5000)\n"
"      --log-level LEVEL    error, warn, info (default) or debug\n"
"  -h, --help               this text\n"
"  -V, --version            the version\n"
"\n"
"Exit status: 0 stopped by SIGTERM or SIGINT; 1 runtime failure (iptables or\n"
"rtnetlink unusable); 2 bad usage; 3 a queue or socket cannot be bound (for\n"
"a queue, the message names the process holding it).\n"
"\n"
"Example:\n"
"  strait-lb --trench trench-a --conduit lb --nsp 127.0.0.1:7778 --queues 0:1\n");
}

struct options {
	struct lb_options lb;
	struct daemon_common common;
	bool queues_given;
};

static int bad(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, PROG ": %s '%s': %s\n", opt, val, why);
	return -EINVAL;
}

static int parse_queues(const char *s, struct lb_options *o)
{
	unsigned a, b;
	int n = 0;
	if (sscanf(s, "%u%n", &a, &n) == 1 && s[n] == '\0')
		b = a;
	else if (sscanf(s, "%u:%u%n", &a, &b, &n) != 2 || s[n] != '\0')
		return bad("--queues", s, "want A or A:B");
	if (a > 65535 || b > 65535 || b < a)
		return bad("--queues", s, "want 0 <= A <= B <= 65535");
	if (b - a + 1 > MAX_QUEUES)
		return bad("--queues", s, "at most 64 queues");
	o->queue_first = (uint16_t)a;
	o->queue_last = (uint16_t)b;
	return 0;
}

static int parse_marks(const char *s, struct lb_options *o)
{
	unsigned long long base, span;
	int n = 0;
	if (sscanf(s, "%llu:%llu%n", &base, &span, &n) != 2 || s[n] != '\0')
		return bad("--marks", s, "want BASE:SPAN");
	if (base < 256 || span < 2 || span > (1u << 24) ||
	    base + span > 0xf0000000ull)
		return bad("--marks", s,
			   "want BASE >= 256 (the kernel's own tables lie "
			   "below), 2 <= SPAN <= 16777216");
	o->mark_base = (uint32_t)base;
	o->mark_span = (uint32_t)span;
	return 0;
}

static int parse_timeout(const char *s, struct lb_options *o)
{
	static const char *const names[CONN_NCLASS] = {
		"tcp", "udp", "sctp", "icmp", "other",
	};
	const char *eq = strchr(s, '=');
	if (!eq)
		return bad("--timeout", s, "want PROTO=SECONDS");
	for (int c = 0; c < CONN_NCLASS; c++) {
		if (strlen(names[c]) != (size_t)(eq - s) ||
		    strncmp(names[c], s, (size_t)(eq - s)) != 0)
			continue;
		uint64_t v;
		if (daemon_number(PROG, "--timeout", eq + 1, 1, 86400, &v))
			return -EINVAL;
		o->conns.timeout_ms[c] = (uint32_t)(v * 1000);
		return 0;
	}
	return bad("--timeout", s,
		   "the protocol is not one of tcp, udp, sctp, icmp, other");
}

static int parse(int argc, char **argv, struct options *o)
{
	enum {
		OPT_FAIL_OPEN = 256, OPT_CHAIN, OPT_MARKS, OPT_PRIO, OPT_TABLE,
		OPT_NO_CONNTAB, OPT_CONNTAB_SIZE, OPT_TIMEOUT, OPT_COPY,
		OPT_QLEN, OPT_CONTROL, OPT_REGISTER, OPT_NETNS,
	};
	static const struct option longs[] = {
		{ "trench", required_argument, NULL, 't' },
		{ "conduit", required_argument, NULL, 'c' },
		{ "nsp", required_argument, NULL, 'n' },
		{ "queues", required_argument, NULL, 'q' },
		{ "fail-open", no_argument, NULL, OPT_FAIL_OPEN },
		{ "chain", required_argument, NULL, OPT_CHAIN },
		{ "marks", required_argument, NULL, OPT_MARKS },
		{ "rule-priority", required_argument, NULL, OPT_PRIO },
		{ "table-size", required_argument, NULL, OPT_TABLE },
		{ "no-conntab", no_argument, NULL, OPT_NO_CONNTAB },
		{ "conntab-size", required_argument, NULL, OPT_CONNTAB_SIZE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "copy-range", required_argument, NULL, OPT_COPY },
		{ "queue-length", required_argument, NULL, OPT_QLEN },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "register", required_argument, NULL, OPT_REGISTER },
		{ "netns", required_argument, NULL, OPT_NETNS },
		{ "metrics", required_argument, NULL, 'm' },
		DAEMON_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct lb_options *l = &o->lb;
	uint64_t v;
	int c;
	while ((c = getopt_long(argc, argv, "t:c:n:q:m:hV", longs, NULL)) != -1) {
		switch (c) {
		case 't':
			l->trench = optarg;
			break;
		case 'c':
			l->conduit = optarg;
			break;
		case 'n':
			l->nsp = optarg;
			break;
		case 'q':
			if (parse_queues(optarg, l) < 0)
				return -EINVAL;
			o->queues_given = true;
			break;
		case OPT_FAIL_OPEN:
			l->fail_open = true;
			break;
		case OPT_CHAIN:
			if (!lb_rules_chain_valid(optarg))
				return bad("--chain", optarg,
					   "not a chain name (1-28 of "
					   "A-Z a-z 0-9 -, not a built-in)");
			l->chain = optarg;
			break;
		case OPT_MARKS:
			if (parse_marks(optarg, l) < 0)
				return -EINVAL;
			break;
		case OPT_PRIO:
			if (daemon_number(PROG, "--rule-priority", optarg, 1, 32765, &v))
				return -EINVAL;
			l->rule_priority = (uint32_t)v;
			break;
		case OPT_TABLE:
			if (daemon_number(PROG, "--table-size", optarg,
					  MAGLEV_SIZE_MIN, MAGLEV_SIZE_MAX, &v))
				return -EINVAL;
			if (!maglev_is_prime((uint32_t)v))
				return bad("--table-size", optarg, "not a prime");
			l->table_size = (uint32_t)v;
			break;
		case OPT_NO_CONNTAB:
			l->conntab = false;
			break;
		case OPT_CONNTAB_SIZE:
			if (daemon_number(PROG, "--conntab-size", optarg, 16,
					  1u << 31, &v))
				return -EINVAL;
			l->conns.capacity = (size_t)v;
			break;
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, l) < 0)
				return -EINVAL;
			break;
		case OPT_COPY:
			if (daemon_number(PROG, "--copy-range", optarg, 64, 65531, &v))
				return -EINVAL;
			l->copy_range = (uint32_t)v;
			break;
		case OPT_QLEN:
			if (daemon_number(PROG, "--queue-length", optarg, 16,
					  1u << 20, &v))
				return -EINVAL;
			l->queue_length = (uint32_t)v;
			break;
		case OPT_REGISTER: {
			struct cidr addr;
			if (cidr_parse(optarg, &addr) < 0)
				return bad("--register", optarg,
					   "not an address with its prefix "
					   "length (198.18.1.5/24, fd00::5/64)");
			if (l->n_register_ips == 8)
				return bad("--register", optarg,
					   "at most 8 addresses");
			l->register_ips[l->n_register_ips++] = optarg;
			break;
		}
		case OPT_NETNS:
			l->netns = optarg;
			break;
		case OPT_CONTROL:
			l->control = optarg;
			break;
		case 'm':
			l->metrics = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(STRAIT_EXIT_OK);
		case 'V':
			printf(PROG " %s\n", VERSION);
			exit(STRAIT_EXIT_OK);
		default: {
			if (c == DAEMON_OPT_SYNC) {
				fprintf(stderr, PROG ": --sync: the LB keeps no "
						"store\n");
				return -EINVAL;
			}
			if (daemon_option_or_usage(PROG, c, optarg,
						   &o->common) < 0)
				return -EINVAL;
			break;
		}
		}
	}
	if (daemon_no_operands(PROG, argc, argv, optind) < 0)
		return -EINVAL;
	if (!l->trench || !l->trench[0]) {
		fprintf(stderr, PROG ": --trench is required\n"
				"Try '" PROG " --help'.\n");
		return -EINVAL;
	}
	if ((l->n_register_ips || l->netns) && !l->conduit) {
		fprintf(stderr, PROG ": --register and --netns need --conduit "
				"(a frontend serves one conduit)\n");
		return -EINVAL;
	}
	if (l->netns && !l->n_register_ips) {
		fprintf(stderr, PROG ": --netns needs --register\n");
		return -EINVAL;
	}
	if (daemon_check(PROG, &o->common) < 0)
		return -EINVAL;
	l->keepalive_ms = o->common.keepalive_ms;
	l->dead_ms = o->common.dead_ms;
	if (!o->queues_given) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		l->queue_first = 0;
		l->queue_last = (uint16_t)((n < 1 ? 1 : n > 8 ? 8 : n) - 1);
	}
	return 0;
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct lb *lb = h->data;
	log_info("%s: stopping", strsignal(signum));
	lb->exit_code = STRAIT_EXIT_OK;
	uv_stop(lb->loop);
}

int main(int argc, char **argv)
{
	struct options o = {
		.lb = {
			.nsp = "127.0.0.1:7778",
			.chain = "STRAIT-LB",
			.control = "unix:/run/strait/lb.sock",
			.metrics = ":9779",
			.conntab = true,
			.mark_base = 4096,
			.mark_span = 16384,
			.rule_priority = 100,
			.copy_range = 512,
		},
		.common.level = LOG_INFO,
	};
	if (parse(argc, argv, &o) < 0)
		return STRAIT_EXIT_USAGE;
	const struct lb_options *opt = &o.lb;
	log_init("lb", o.common.level);
	/* A peer gone mid-write must be an EPIPE from write(), not a
	 * signal that kills the daemon (lib/rpc.h). */
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_storage nsp_addr, control_addr, metrics_addr;
	bool control_on = strcmp(opt->control, "off") != 0;
	bool metrics_on = strcmp(opt->metrics, "off") != 0;
	if (daemon_address(PROG, "--nsp", opt->nsp, 7778, &nsp_addr) < 0 ||
	    (control_on &&
	     daemon_address(PROG, "--control",
			    opt->control, 0, &control_addr) < 0) ||
	    (metrics_on &&
	     daemon_address(PROG, "--metrics",
			    opt->metrics, 9779, &metrics_addr) < 0))
		return STRAIT_EXIT_USAGE;

	char err[1024];
	if (lb_cleanup_stale(opt, err, sizeof(err)) < 0) {
		log_error("cannot remove what an earlier run left: %s", err);
		return STRAIT_EXIT_FAILURE;
	}

	uv_loop_t loop;
	uv_loop_init(&loop);
	struct lb lb = {
		.loop = &loop,
		.opt = opt,
		.exit_code = STRAIT_EXIT_FAILURE,
		.shared = { .mark_base = opt->mark_base,
			    .mark_span = opt->mark_span },
	};
	struct metrics_server *ms = NULL;
	uv_signal_t sigs[2];
	int rc = STRAIT_EXIT_FAILURE;
	if (lb_apply_init(&lb, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out_loop;
	}

	rc = STRAIT_EXIT_LISTEN;
	size_t nq = (size_t)opt->queue_last - opt->queue_first + 1;
	lb.workers = calloc(nq, sizeof(*lb.workers));
	if (!lb.workers)
		goto out_apply;
	for (size_t i = 0; i < nq; i++) {
		struct lb_worker_config wc = {
			.queue = (uint16_t)(opt->queue_first + i),
			.nfq = { .copy_range = opt->copy_range,
				 .maxlen = opt->queue_length,
				 .fail_open = opt->fail_open },
			.conntab = opt->conntab,
			.conns = opt->conns,
			.frags = opt->frags,
		};
		if (lb_worker_start(&lb.shared, &wc, &lb.workers[i], err,
				    sizeof(err)) < 0) {
			log_error("queue %u: %s", wc.queue, err);
			goto out_workers;
		}
		lb.n_workers++;
	}

	int e;
	if (control_on) {
		daemon_make_socket_dir(&control_addr);
		e = lb_control_start(&lb, (struct sockaddr *)&control_addr);
		if (e < 0) {
			log_error("cannot serve the control socket %s: %s",
				  opt->control, uv_strerror(e));
			goto out_workers;
		}
	}
	if (metrics_on) {
		e = metrics_server_start(&loop, (struct sockaddr *)&metrics_addr,
					 lb_stats_collect, &lb, &ms);
		if (e < 0) {
			log_error("cannot serve metrics on %s: %s", opt->metrics,
				  uv_strerror(e));
			goto out_control;
		}
	}
	rc = STRAIT_EXIT_FAILURE;
	lb_frontend_start(&lb);
	if (lb_nsp_start(&lb, (struct sockaddr *)&nsp_addr) < 0) {
		log_error("cannot start the NSP client");
		lb_frontend_stop(&lb);
		goto out_metrics;
	}
	int signums[2] = { SIGINT, SIGTERM };
	for (int i = 0; i < 2; i++) {
		uv_signal_init(&loop, &sigs[i]);
		sigs[i].data = &lb;
		uv_signal_start(&sigs[i], on_signal, signums[i]);
	}
	log_info("serving trench %s%s%s: queues %u..%u%s, NSP %s, control %s, "
		 "metrics %s",
		 opt->trench, opt->conduit ? " conduit " : "",
		 opt->conduit ? opt->conduit : "", opt->queue_first,
		 opt->queue_last, opt->fail_open ? " (fail-open)" : "",
		 opt->nsp, opt->control, opt->metrics);

	uv_run(&loop, UV_RUN_DEFAULT);
	rc = lb.exit_code;

	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&sigs[i], NULL);
	lb_frontend_stop(&lb);
	lb_nsp_stop(&lb);
out_metrics:
	if (ms)
		metrics_server_close(ms, NULL, NULL);
out_control:
	lb_control_stop(&lb);
out_workers:
	/* No packet is queued once the chain is gone; then the threads can
	 * stop without stranding any. */
	lb_apply_unqueue(&lb);
	for (size_t i = 0; i < lb.n_workers; i++)
		lb_worker_stop(lb.workers[i]);
	free(lb.workers);
out_apply:
	lb_apply_fini(&lb);
out_loop:
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		log_warn("a handle was left open at exit");
	return rc;
}
