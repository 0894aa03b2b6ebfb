/* strait-tun: the node's service tunnel (docs/tun.md). This file parses
 * options, sets up the device and the node's rules, and starts and stops
 * the modules. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "hdr.h"
#include "log.h"
#include "metrics.h"
#include "sockaddr.h"
#include "tun.h"

#define VERSION "0.1.0"
#define PROG "strait-tun"
#define EXIT_DEVICE 4 /* cannot set up the device or the node's rules */

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: strait-tun --trench NAME --underlay ADDRESS [OPTION]...\n"
	    "The strait service tunnel: routes the service prefixes into a TUN "
	    "device,\n"
	    "picks an instance of the service for each flow (tables from NSP), "
	    "and\n"
	    "carries the packets in UDP to the instance's node; replies come "
	    "back as\n"
	    "if from the service address.\n"
	    "\n"
	    "  -t, --trench NAME          the trench (required)\n"
	    "  -u, --underlay ADDRESS     this node's underlay address, IPv4 "
	    "or IPv6\n"
	    "                             (required): bound, and registered in "
	    "NSP\n"
	    "      --node NAME            this node's name (default: the host "
	    "name)\n"
	    "  -p, --port N               the tunnel's UDP port (default "
	    "7779)\n"
	    "  -n, --nsp ADDR             NSP's address (default "
	    "127.0.0.1:7778)\n"
	    "      --dev NAME             the TUN device (default "
	    "strait-tun0)\n"
	    "      --mtu N                its MTU (default 1444: a 1500-byte "
	    "underlay\n"
	    "                             less 56 bytes of outer IPv6, UDP and "
	    "header)\n"
	    "      --service-prefix CIDR  routed into the device; repeatable "
	    "(default\n"
	    "                             10.30.0.0/16 and fd00:30::/64)\n"
	    "      --table N              the routing table of steered replies "
	    "(7779)\n"
	    "      --rule-priority N      priority of its fwmark rule (default "
	    "95)\n"
	    "      --fwmark N             the mark of steered replies "
	    "(0x540000)\n"
	    "      --flows N              flow table entries (default 262144)\n"
	    "  -m, --metrics ADDR         Prometheus /metrics address (default "
	    ":9782;\n"
	    "                             'off' disables)\n"
	    "      --control ADDR         the control socket for straitctl tun "
	    "(default\n"
	    "                             unix:/run/strait/tun.sock; 'off' "
	    "disables)\n"
	    "      --keepalive MS         ping interval on the NSP connection "
	    "(1000)\n"
	    "      --dead MS              silence after which NSP is dead "
	    "(default 5000)\n"
	    "      --log-level LEVEL      error, warn, info (default) or "
	    "debug\n"
	    "  -h, --help                 this text\n"
	    "  -V, --version              the version\n"
	    "\n"
	    "Exit status: 0 stopped by SIGTERM or SIGINT; 1 runtime failure; 2 "
	    "bad\n"
	    "usage; 3 cannot bind the UDP port or listen; 4 cannot set up the "
	    "device,\n"
	    "routes, rules or iptables chain.\n"
	    "\n"
	    "Example:\n"
	    "  strait-tun --trench trench-a --node worker-1 --underlay "
	    "192.0.2.11 \\\n"
	    "      --nsp unix:/run/strait/nsp.sock\n");
}

struct options {
	struct tun_options t;
	struct daemon_common common;
	char node_buf[65];
};

enum {
	OPT_NODE = 2000,
	OPT_DEV,
	OPT_MTU,
	OPT_PREFIX,
	OPT_TABLE,
	OPT_RULE_PRIORITY,
	OPT_FWMARK,
	OPT_FLOWS,
	OPT_CONTROL,
};

static int number(const char *opt, const char *text, uint64_t lo, uint64_t hi,
		  uint64_t *out)
{
	return daemon_number(PROG, opt, text, lo, hi, out) < 0 ? -EINVAL : 0;
}

static int parse_underlay(const char *text, struct tun_options *t)
{
	struct sockaddr_storage *a = &t->underlay;
	memset(a, 0, sizeof(*a));
	struct sockaddr_in *in = (void *)a;
	struct sockaddr_in6 *in6 = (void *)a;
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
	} else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
	} else {
		fprintf(stderr,
			PROG ": --underlay '%s' is not an IPv4 or IPv6 "
			     "address\n",
			text);
		return -EINVAL;
	}
	t->underlay_set = true;
	return 0;
}

static int parse_prefix(const char *text, struct tun_options *t)
{
	if (t->n_prefixes == TUN_MAX_PREFIXES) {
		fprintf(stderr, PROG ": more than %d --service-prefix\n",
			TUN_MAX_PREFIXES);
		return -EINVAL;
	}
	struct cidr c;
	if (cidr_parse(text, &c) < 0) {
		fprintf(stderr,
			PROG ": --service-prefix '%s' is not a prefix "
			     "(ADDRESS/LENGTH)\n",
			text);
		return -EINVAL;
	}
	cidr_mask(&c);
	t->prefixes[t->n_prefixes++] = c;
	return 0;
}

static int parse(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
	    {"trench", required_argument, NULL, 't'},
	    {"underlay", required_argument, NULL, 'u'},
	    {"node", required_argument, NULL, OPT_NODE},
	    {"port", required_argument, NULL, 'p'},
	    {"nsp", required_argument, NULL, 'n'},
	    {"dev", required_argument, NULL, OPT_DEV},
	    {"mtu", required_argument, NULL, OPT_MTU},
	    {"service-prefix", required_argument, NULL, OPT_PREFIX},
	    {"table", required_argument, NULL, OPT_TABLE},
	    {"rule-priority", required_argument, NULL, OPT_RULE_PRIORITY},
	    {"fwmark", required_argument, NULL, OPT_FWMARK},
	    {"flows", required_argument, NULL, OPT_FLOWS},
	    {"metrics", required_argument, NULL, 'm'},
	    {"control", required_argument, NULL, OPT_CONTROL},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    DAEMON_LONG_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	struct tun_options *t = &o->t;
	uint64_t v;
	int c;
	while ((c = getopt_long(argc, argv, "t:u:p:n:m:hV", longs, NULL)) !=
	       -1) {
		switch (c) {
		case 't':
			t->trench = optarg;
			break;
		case OPT_NODE:
			t->node = optarg;
			break;
		case 'n':
			t->nsp = optarg;
			break;
		case OPT_DEV:
			t->dev = optarg;
			break;
		case 'm':
			t->metrics = optarg;
			break;
		case OPT_CONTROL:
			t->control = optarg;
			break;
		case 'u':
			if (parse_underlay(optarg, t) < 0)
				return -EINVAL;
			break;
		case OPT_PREFIX:
			if (parse_prefix(optarg, t) < 0)
				return -EINVAL;
			break;
		case 'p':
			if (number("--port", optarg, 1, 65535, &v) < 0)
				return -EINVAL;
			t->port = (uint16_t)v;
			break;
		case OPT_MTU:
			if (number("--mtu", optarg, 1280, 65000, &v) < 0)
				return -EINVAL;
			t->mtu = (unsigned)v;
			break;
		case OPT_TABLE:
			if (number("--table", optarg, 1, 0xefffffff, &v) < 0)
				return -EINVAL;
			if (v >= 253 && v <= 255) {
				fprintf(stderr,
					PROG ": --table %u is one of "
					     "the kernel's own tables\n",
					(unsigned)v);
				return -EINVAL;
			}
			t->table = (uint32_t)v;
			break;
		case OPT_RULE_PRIORITY:
			if (number("--rule-priority", optarg, 1, 32765, &v) < 0)
				return -EINVAL;
			t->rule_priority = (uint32_t)v;
			break;
		case OPT_FWMARK: {
			char *end;
			errno = 0;
			unsigned long m = strtoul(optarg, &end, 0);
			if (errno || *end || !m || m > 0xffffffffu) {
				fprintf(stderr,
					PROG ": --fwmark '%s' is not a "
					     "mark from 1 to 0xffffffff\n",
					optarg);
				return -EINVAL;
			}
			t->fwmark = (uint32_t)m;
			break;
		}
		case OPT_FLOWS:
			if (number("--flows", optarg, 1024, 1u << 28, &v) < 0)
				return -EINVAL;
			t->flows = (size_t)v;
			break;
		case 'h':
			usage(stdout);
			exit(STRAIT_EXIT_OK);
		case 'V':
			printf(PROG " " VERSION "\n");
			exit(STRAIT_EXIT_OK);
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
	if (!t->trench || !t->underlay_set) {
		fprintf(stderr, PROG ": --trench and --underlay are required\n"
				     "Try '" PROG " --help'.\n");
		return -EINVAL;
	}
	if (strlen(t->dev) >= 16) {
		fprintf(stderr,
			PROG ": --dev '%s' is not an interface name "
			     "(1 to 15 bytes)\n",
			t->dev);
		return -EINVAL;
	}
	if (!t->node) {
		if (gethostname(o->node_buf, sizeof(o->node_buf) - 1) < 0)
			snprintf(o->node_buf, sizeof(o->node_buf), "node");
		t->node = o->node_buf;
	}
	if (!t->n_prefixes) {
		parse_prefix("10.30.0.0/16", t);
		parse_prefix("fd00:30::/64", t);
	}
	t->keepalive_ms = (int)o->common.keepalive_ms;
	t->dead_ms = (int)o->common.dead_ms;
	return daemon_check(PROG, &o->common);
}

uint64_t tun_now_ms(const struct tun_daemon *d)
{
	return uv_now(d->loop);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct tun_daemon *d = h->data;
	log_info("%s: stopping", strsignal(signum));
	d->exit_code = STRAIT_EXIT_OK;
	uv_stop(d->loop);
}

static void on_expire(uv_timer_t *t)
{
	struct tun_daemon *d = t->data;
	tun_core_expire(d->core, tun_now_ms(d));
}

static uint64_t seed(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^
	       (uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_sec;
}

int main(int argc, char **argv)
{
	struct options o = {
	    .t =
		{
		    .nsp = "127.0.0.1:7778",
		    .dev = "strait-tun0",
		    .metrics = ":9782",
		    .control = "unix:/run/strait/tun.sock",
		    .port = TUN_DEFAULT_PORT,
		    .mtu = TUN_DEFAULT_MTU,
		    .table = TUN_DEFAULT_TABLE,
		    .rule_priority = TUN_DEFAULT_RULE_PRIORITY,
		    .fwmark = TUN_DEFAULT_FWMARK,
		},
	    .common.level = LOG_INFO,
	};
	if (parse(argc, argv, &o) < 0)
		return STRAIT_EXIT_USAGE;
	const struct tun_options *opt = &o.t;
	log_init("tun", o.common.level);
	signal(SIGPIPE, SIG_IGN); /* lib/rpc.h */

	struct sockaddr_storage nsp_addr, metrics_addr, control_addr;
	bool metrics_on = strcmp(opt->metrics, "off") != 0;
	bool control_on = strcmp(opt->control, "off") != 0;
	if (daemon_address(PROG, "--nsp", opt->nsp, 7778, &nsp_addr) < 0 ||
	    (metrics_on && daemon_address(PROG, "--metrics", opt->metrics, 9782,
					  &metrics_addr) < 0) ||
	    (control_on && daemon_address(PROG, "--control", opt->control, 0,
					  &control_addr) < 0))
		return STRAIT_EXIT_USAGE;

	uv_loop_t loop;
	uv_loop_init(&loop);
	struct tun_daemon d = {
	    .loop = &loop,
	    .opt = opt,
	    .tun_fd = -1,
	    .udp_fd = -1,
	    .exit_code = STRAIT_EXIT_FAILURE,
	    .trench_tag = tun_trench_tag(opt->trench),
	};
	char err[512];
	int rc = STRAIT_EXIT_FAILURE;
	if (tun_core_create(opt->flows, seed(), &d.core) < 0 ||
	    tun_core_set_prefixes(d.core, opt->prefixes, opt->n_prefixes) < 0 ||
	    tun_ids_create(&d.service_ids) < 0 ||
	    tun_ids_create(&d.node_ids) < 0) {
		log_error("out of memory");
		goto out;
	}
	rc = EXIT_DEVICE;
	d.tun_fd = tun_dev_open(opt->dev, err, sizeof(err));
	if (d.tun_fd < 0) {
		log_error("%s", err);
		goto out;
	}
	if (tun_dev_setup(opt->dev, opt->mtu, &d.ifindex, err, sizeof(err)) <
		0 ||
	    tun_net_setup(&d, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out_net;
	}
	rc = STRAIT_EXIT_LISTEN;
	if (tun_path_start(&d, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out_path;
	}
	struct metrics_server *ms = NULL;
	if (metrics_on) {
		int e = metrics_server_start(&loop,
					     (struct sockaddr *)&metrics_addr,
					     tun_stats_collect, &d, &ms);
		if (e < 0) {
			log_error("cannot serve metrics on %s: %s",
				  opt->metrics, uv_strerror(e));
			goto out_path;
		}
	}
	if (control_on) {
		daemon_make_socket_dir(&control_addr);
		int e = tun_control_start(&d, (struct sockaddr *)&control_addr);
		if (e < 0) {
			log_error("cannot serve the control socket %s: %s",
				  opt->control, strerror(-e));
			goto out_metrics;
		}
	}
	rc = STRAIT_EXIT_FAILURE;
	if (tun_nsp_start(&d, (struct sockaddr *)&nsp_addr) < 0) {
		log_error("cannot start the NSP client");
		goto out_control;
	}
	uv_timer_init(&loop, &d.expire_timer);
	d.expire_timer.data = &d;
	uv_timer_start(&d.expire_timer, on_expire, 1000, 1000);
	uv_signal_t sigs[2];
	int signums[2] = {SIGINT, SIGTERM};
	for (int i = 0; i < 2; i++) {
		uv_signal_init(&loop, &sigs[i]);
		sigs[i].data = &d;
		uv_signal_start(&sigs[i], on_signal, signums[i]);
	}
	char ul[64];
	const struct sockaddr_storage *u = &opt->underlay;
	inet_ntop(u->ss_family,
		  u->ss_family == AF_INET
		      ? (const void *)&((const struct sockaddr_in *)u)->sin_addr
		      : (const void *)&((const struct sockaddr_in6 *)u)
			    ->sin6_addr,
		  ul, sizeof(ul));
	log_info("node %s of trench %s: %s (mtu %u), underlay %s port %u, "
		 "NSP %s, metrics %s, control %s",
		 opt->node, opt->trench, opt->dev, opt->mtu, ul, opt->port,
		 opt->nsp, opt->metrics, opt->control);

	uv_run(&loop, UV_RUN_DEFAULT);
	rc = d.exit_code;
	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&sigs[i], NULL);
	uv_timer_stop(&d.expire_timer);
	uv_close((uv_handle_t *)&d.expire_timer, NULL);
	tun_nsp_stop(&d);
out_control:
	tun_control_stop(&d);
out_metrics:
	if (ms)
		metrics_server_close(ms, NULL, NULL);
out_path:
	tun_path_stop(&d);
	uv_run(&loop, UV_RUN_NOWAIT);
	tun_path_free(&d);
out_net:
	tun_net_teardown(&d);
	close(d.tun_fd); /* the device goes with it, and its routes */
out:
	uv_run(&loop, UV_RUN_NOWAIT);
	uv_loop_close(&loop);
	tun_core_destroy(d.core);
	tun_ids_destroy(d.service_ids);
	tun_ids_destroy(d.node_ids);
	log_info("stopped (exit %d)", rc);
	return rc;
}
