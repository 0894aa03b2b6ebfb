/* strait-traffic: a ctraffic-like traffic client and server for the load
 * balancer's tests and benchmarks (docs/traffic.md). This file parses the
 * command line, builds the server or the client, runs the loop and
 * unwinds. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "client.h"
#include "daemon.h"
#include "log.h"
#include "report.h"
#include "server.h"
#include "sockaddr.h"
#include "traffic.h"

#define VERSION "0.1.0"
#define PROG "strait-traffic"
#define MAX_CONNECTIONS 100000
#define MAX_RATE 10000000
/* The daemons' "cannot listen": for the client, the address or a source
 * cannot be used at all. */
#define STRAIT_EXIT_ADDRESS STRAIT_EXIT_LISTEN

/* The help texts are laid out as they print. */
/* clang-format off */
static void usage(FILE *f)
{
	fprintf(f,
"Usage: strait-traffic COMMAND [OPTION]...\n"
"A traffic client and server for load balancer tests (like Nordix\n"
"ctraffic): the client keeps many long-lived TCP or UDP connections to an\n"
"address, sends paced requests on them and reports which server answered\n"
"each connection, and which connections were lost or moved.\n"
"\n"
"Commands:\n"
"  server     answer requests over TCP and UDP with this server's name\n"
"  client     open connections, send requests, report\n"
"\n"
"  -h, --help       this text ('strait-traffic COMMAND --help' for a command)\n"
"  -V, --version    the version\n"
"\n"
"Exit status: 0 done; 1 runtime failure; 2 bad usage; 3 the address cannot\n"
"be used (the server cannot listen, the client cannot connect from it).\n");
}

static void usage_server(FILE *f)
{
	fprintf(f,
"Usage: strait-traffic server [OPTION]...\n"
"Answers each request, over TCP and UDP on the same port, with its name,\n"
"the request's sequence number, its size and whether its padding was\n"
"intact. UDP answers leave from the address the request was sent to.\n"
"Runs until SIGTERM or SIGINT.\n"
"\n"
"  -p, --port N           TCP and UDP port (default 5003)\n"
"  -n, --name NAME        the name in every answer, 1 to 64 bytes\n"
"                         (default: the host name)\n"
"  -a, --addr ADDR        local address (default ::, which takes IPv4 too)\n"
"      --log-level LEVEL  error, warn, info (default) or debug\n"
"  -h, --help             this text\n"
"  -V, --version          the version\n"
"\n"
"Exit status: 0 stopped by a signal; 1 runtime failure; 2 bad usage;\n"
"3 cannot listen.\n");
}

static void usage_client(FILE *f)
{
	fprintf(f,
"Usage: strait-traffic client --address HOST:PORT [OPTION]...\n"
"Opens N long-lived connections, spreads a request rate over them and\n"
"records, per connection, the server that answered it first. A later\n"
"answer from another server means the connection was moved: it counts as\n"
"moved and lost.\n"
"\n"
"  -a, --address HOST:PORT  the server or VIP ([v6]:port; port 5003 if none)\n"
"  -P, --protocol tcp|udp   (default tcp)\n"
"  -c, --connections N      connections kept open (default 1)\n"
"  -r, --rate R             requests a second over all connections\n"
"                           (default 10 * N)\n"
"  -d, --duration SECONDS   sending time (default 10; 0 = until SIGTERM or\n"
"                           SIGINT); then answers are awaited up to --timeout\n"
"  -s, --sources ADDR,...   local addresses to bind, round robin over the\n"
"                           connections (default: the kernel's choice)\n"
"  -S, --size BYTES         request padding, 0 to 65000 (default 0); large\n"
"                           UDP requests go as fragmented datagrams\n"
"  -t, --timeout MS         a request without answer this long is dropped;\n"
"                           3 drops in a row, an error or a close end a\n"
"                           connection (default 2000)\n"
"      --status FILE        write the report as JSON to FILE every 200 ms\n"
"                           (atomically: FILE.tmp, then rename)\n"
"  -j, --json               the final report as JSON (default: a table)\n"
"      --reconnect          replace a lost connection by a new one (default)\n"
"      --no-reconnect       do not\n"
"      --log-level LEVEL    error, warn, info (default) or debug\n"
"  -h, --help               this text\n"
"  -V, --version            the version\n"
"\n"
"On a terminal, a progress line on stderr each second. A second SIGTERM or\n"
"SIGINT stops without waiting for answers.\n"
"\n"
"Exit status: 0 the run finished (what was lost is in the report);\n"
"1 runtime failure; 2 bad usage; 3 the address cannot be used.\n"
"\n"
"Example:\n"
"  strait-traffic client --address 10.0.0.1:5003 -c 100 -d 30 --json\n");
}
/* clang-format on */

/* Reports getopt's complaint ('?' or ':') in the tool's words. */
static int bad_option(const char *cmd, int c, char **argv)
{
	const char *opt = argv[optind - 1];
	if (c == ':')
		fprintf(stderr, PROG " %s: option '%s' needs a value\n", cmd,
			opt);
	else if (optopt)
		fprintf(stderr, PROG " %s: unknown option '-%c'\n", cmd,
			optopt);
	else
		fprintf(stderr, PROG " %s: unknown option '%s'\n", cmd, opt);
	fprintf(stderr, "Try '" PROG " %s --help'.\n", cmd);
	return -EINVAL;
}

static int parse_level(const char *arg, enum log_level *level)
{
	if (log_level_parse(arg, level) == 0)
		return 0;
	fprintf(stderr,
		PROG
		": --log-level '%s' is not one of error, warn, info, debug\n",
		arg);
	return -EINVAL;
}

/* A numeric IPv4 or IPv6 address (brackets allowed) with port 0. */
static int parse_ip(const char *s, struct sockaddr_storage *out)
{
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(s);
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *v4 = (struct sockaddr_in *)out;
	if (inet_pton(AF_INET, s, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		return 0;
	}
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof(tmp)) {
		memcpy(tmp, s + 1, n - 2);
		tmp[n - 2] = '\0';
		s = tmp;
	}
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET6, s, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static void set_port(struct sockaddr_storage *a, uint16_t port)
{
	if (a->ss_family == AF_INET)
		((struct sockaddr_in *)a)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)a)->sin6_port = htons(port);
}

/* Hundreds of connections need more descriptors than the usual soft
 * limit of 1024; the hard limit is ours to take. */
static void raise_nofile(void)
{
	struct rlimit r;
	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

/* ---- server ---- */

struct server_run {
	struct traffic_server *srv;
	uv_signal_t sigs[2];
};

static void server_signal(uv_signal_t *h, int signum)
{
	struct server_run *r = h->data;
	log_info("%s: stopping", strsignal(signum));
	traffic_server_stop(r->srv);
	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&r->sigs[i], NULL);
}

static int server_main(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"port", required_argument, NULL, 'p'},
	    {"name", required_argument, NULL, 'n'},
	    {"addr", required_argument, NULL, 'a'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {0},
	};
	char host[256] = "";
	const char *name = NULL, *addr_text = "::";
	enum log_level level = LOG_INFO;
	uint64_t port = TRAFFIC_PORT;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:n:a:hV", longs, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (daemon_number(PROG, "--port", optarg, 1, 65535,
					  &port))
				return STRAIT_EXIT_USAGE;
			break;
		case 'n':
			name = optarg;
			break;
		case 'a':
			addr_text = optarg;
			break;
		case 'L':
			if (parse_level(optarg, &level))
				return STRAIT_EXIT_USAGE;
			break;
		case 'h':
			usage_server(stdout);
			return STRAIT_EXIT_OK;
		case 'V':
			printf(PROG " %s\n", VERSION);
			return STRAIT_EXIT_OK;
		default:
			bad_option("server", c, argv);
			return STRAIT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG " server: unexpected argument '%s'\n",
			argv[optind]);
		return STRAIT_EXIT_USAGE;
	}
	if (!name) {
		gethostname(host, sizeof(host) - 1);
		host[TRAFFIC_NAME_MAX] = '\0';
		name = host[0] ? host : "traffic";
	}
	if (strlen(name) < 1 || strlen(name) > TRAFFIC_NAME_MAX) {
		fprintf(stderr, PROG ": --name '%s' is not 1 to %d bytes\n",
			name, TRAFFIC_NAME_MAX);
		return STRAIT_EXIT_USAGE;
	}
	struct sockaddr_storage addr;
	if (parse_ip(addr_text, &addr) < 0) {
		fprintf(stderr,
			PROG ": --addr '%s' is not an IPv4 or IPv6 "
			     "address\n",
			addr_text);
		return STRAIT_EXIT_USAGE;
	}
	set_port(&addr, (uint16_t)port);
	log_init("traffic", level);
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);

	uv_loop_t loop;
	struct server_run r = {0};
	struct traffic_server_config cfg = {
	    .addr = (struct sockaddr *)&addr,
	    .name = name,
	};
	int rc = STRAIT_EXIT_OK;
	uv_loop_init(&loop);
	int e = traffic_server_start(&loop, &cfg, &r.srv);
	if (e == -EAFNOSUPPORT && strcmp(addr_text, "::") == 0) {
		/* No IPv6 on this host: the default falls back to IPv4. */
		parse_ip("0.0.0.0", &addr);
		set_port(&addr, (uint16_t)port);
		e = traffic_server_start(&loop, &cfg, &r.srv);
	}
	char text[SOCKADDR_STRLEN];
	sockaddr_format((struct sockaddr *)&addr, text, sizeof(text));
	if (e < 0) {
		log_error("cannot serve on %s: %s", text, strerror(-e));
		rc = e == -ENOMEM ? STRAIT_EXIT_FAILURE : STRAIT_EXIT_LISTEN;
		goto out_loop;
	}
	int signums[2] = {SIGINT, SIGTERM};
	for (int i = 0; i < 2; i++) {
		uv_signal_init(&loop, &r.sigs[i]);
		r.sigs[i].data = &r;
		uv_signal_start(&r.sigs[i], server_signal, signums[i]);
	}
	log_info("serving tcp and udp on %s as '%s'", text, name);
	uv_run(&loop, UV_RUN_DEFAULT);
out_loop:
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		log_warn("a handle was left open at exit");
	return rc;
}

/* ---- client ---- */

struct client_run {
	struct traffic_client *cl;
	uv_signal_t sigs[2];
};

static void client_signal(uv_signal_t *h, int signum)
{
	struct client_run *r = h->data;
	log_info("%s: stopping", strsignal(signum));
	traffic_client_stop(r->cl);
}

static void client_done(void *data)
{
	struct client_run *r = data;
	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&r->sigs[i], NULL);
}

/* Splits the --sources list into addresses of the given family. It works
 * on a copy: tokenising argv in place would make ps show the list as
 * separate arguments. */
static int parse_sources(const char *text, int family,
			 struct sockaddr_storage **out, size_t *n)
{
	size_t cap = 1;
	for (const char *p = text; *p; p++)
		cap += *p == ',';
	struct sockaddr_storage *v = calloc(cap, sizeof(*v));
	char *list = strdup(text);
	if (!v || !list) {
		free(v);
		free(list);
		return -ENOMEM;
	}
	*n = 0;
	char *save = NULL;
	for (char *t = strtok_r(list, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		if (parse_ip(t, &v[*n]) < 0) {
			fprintf(stderr,
				PROG ": --sources: '%s' is not an IPv4 "
				     "or IPv6 address\n",
				t);
			goto out_bad;
		}
		if (v[*n].ss_family != family) {
			fprintf(stderr,
				PROG ": --sources: '%s' is not of the "
				     "family of --address\n",
				t);
			goto out_bad;
		}
		(*n)++;
	}
	if (*n == 0) {
		fprintf(stderr, PROG ": --sources names no address\n");
		goto out_bad;
	}
	free(list);
	*out = v;
	return 0;
out_bad:
	free(list);
	free(v);
	return -EINVAL;
}

struct client_options {
	struct traffic_client_config cfg;
	const char *address;
	const char *sources;
	bool rate_set;
	bool json;
	enum log_level level;
};

static int client_parse(int argc, char **argv, struct client_options *o)
{
	enum { OPT_STATUS = 256, OPT_RECONNECT, OPT_NO_RECONNECT, OPT_LEVEL };
	static const struct option longs[] = {
	    {"address", required_argument, NULL, 'a'},
	    {"protocol", required_argument, NULL, 'P'},
	    {"connections", required_argument, NULL, 'c'},
	    {"rate", required_argument, NULL, 'r'},
	    {"duration", required_argument, NULL, 'd'},
	    {"sources", required_argument, NULL, 's'},
	    {"size", required_argument, NULL, 'S'},
	    {"timeout", required_argument, NULL, 't'},
	    {"status", required_argument, NULL, OPT_STATUS},
	    {"json", no_argument, NULL, 'j'},
	    {"reconnect", no_argument, NULL, OPT_RECONNECT},
	    {"no-reconnect", no_argument, NULL, OPT_NO_RECONNECT},
	    {"log-level", required_argument, NULL, OPT_LEVEL},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {0},
	};
	struct traffic_client_config *cfg = &o->cfg;
	uint64_t v;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":a:P:c:r:d:s:S:t:jhV", longs,
				NULL)) != -1) {
		switch (c) {
		case 'a':
			o->address = optarg;
			break;
		case 'P':
			if (strcmp(optarg, "tcp") && strcmp(optarg, "udp")) {
				fprintf(stderr,
					PROG ": --protocol '%s' is "
					     "neither 'tcp' nor 'udp'\n",
					optarg);
				return -EINVAL;
			}
			cfg->udp = strcmp(optarg, "udp") == 0;
			break;
		case 'c':
			if (daemon_number(PROG, "--connections", optarg, 1,
					  MAX_CONNECTIONS, &v))
				return -EINVAL;
			cfg->connections = (uint32_t)v;
			break;
		case 'r':
			if (daemon_number(PROG, "--rate", optarg, 1, MAX_RATE,
					  &cfg->rate))
				return -EINVAL;
			o->rate_set = true;
			break;
		case 'd':
			if (daemon_number(PROG, "--duration", optarg, 0,
					  365 * 86400, &v))
				return -EINVAL;
			cfg->duration_ms = v * 1000;
			break;
		case 's':
			o->sources = optarg;
			break;
		case 'S':
			if (daemon_number(PROG, "--size", optarg, 0,
					  TRAFFIC_PAD_MAX, &v))
				return -EINVAL;
			cfg->size = (uint32_t)v;
			break;
		case 't':
			if (daemon_number(PROG, "--timeout", optarg, 1, 3600000,
					  &cfg->timeout_ms))
				return -EINVAL;
			break;
		case OPT_STATUS:
			cfg->status_path = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case OPT_RECONNECT:
			cfg->reconnect = true;
			break;
		case OPT_NO_RECONNECT:
			cfg->reconnect = false;
			break;
		case OPT_LEVEL:
			if (parse_level(optarg, &o->level))
				return -EINVAL;
			break;
		case 'h':
			usage_client(stdout);
			return 1;
		case 'V':
			printf(PROG " %s\n", VERSION);
			return 1;
		default:
			return bad_option("client", c, argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG " client: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	if (!o->address) {
		fprintf(stderr, PROG " client: --address HOST:PORT is needed\n"
				     "Try '" PROG " client --help'.\n");
		return -EINVAL;
	}
	if (!o->rate_set) {
		uint64_t r = 10ull * cfg->connections;
		cfg->rate = r > MAX_RATE ? MAX_RATE : r;
	}
	return 0;
}

static int client_main(int argc, char **argv)
{
	struct client_options o = {
	    .cfg =
		{
		    .connections = 1,
		    .duration_ms = 10000,
		    .timeout_ms = 2000,
		    .reconnect = true,
		},
	    .level = LOG_INFO,
	};
	int e = client_parse(argc, argv, &o);
	if (e != 0)
		return e > 0 ? STRAIT_EXIT_OK : STRAIT_EXIT_USAGE;
	log_init("traffic", o.level);

	struct sockaddr_storage addr;
	e = sockaddr_parse(o.address, TRAFFIC_PORT, &addr);
	if (e == -EINVAL) {
		fprintf(stderr, PROG ": --address '%s' is not HOST:PORT\n",
			o.address);
		return STRAIT_EXIT_USAGE;
	}
	if (e < 0) {
		fprintf(stderr, PROG ": --address '%s' cannot be used: %s\n",
			o.address,
			e == -ENOENT   ? "the name does not resolve"
			: e == -ENODEV ? "no such interface"
			: e == -EAGAIN ? "the resolver failed"
				       : strerror(-e));
		return e == -ENOMEM ? STRAIT_EXIT_FAILURE : STRAIT_EXIT_ADDRESS;
	}
	struct sockaddr_storage *sources = NULL;
	if (o.sources) {
		e = parse_sources(o.sources, addr.ss_family, &sources,
				  &o.cfg.n_sources);
		if (e < 0)
			return e == -ENOMEM ? STRAIT_EXIT_FAILURE
					    : STRAIT_EXIT_USAGE;
	}
	o.cfg.addr = &addr;
	o.cfg.address = o.address;
	o.cfg.sources = sources;
	o.cfg.progress = isatty(STDERR_FILENO);
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);

	uv_loop_t loop;
	struct client_run r = {0};
	int rc = STRAIT_EXIT_OK;
	o.cfg.done = client_done;
	o.cfg.data = &r;
	uv_loop_init(&loop);
	e = traffic_client_start(&loop, &o.cfg, &r.cl);
	if (e < 0) {
		fprintf(stderr, PROG ": cannot use --address '%s'%s%s: %s\n",
			o.address, o.sources ? " from " : "",
			o.sources ? o.sources : "", strerror(-e));
		rc = e == -ENOMEM ? STRAIT_EXIT_FAILURE : STRAIT_EXIT_ADDRESS;
		goto out_loop;
	}
	int signums[2] = {SIGINT, SIGTERM};
	for (int i = 0; i < 2; i++) {
		uv_signal_init(&loop, &r.sigs[i]);
		r.sigs[i].data = &r;
		uv_signal_start(&r.sigs[i], client_signal, signums[i]);
	}
	uv_run(&loop, UV_RUN_DEFAULT);

	struct traffic_report_meta m;
	struct buf out = {0};
	traffic_client_meta(r.cl, &m);
	e = o.json
		? traffic_report_json(traffic_client_stats(r.cl), &m, 0, &out)
		: traffic_report_text(traffic_client_stats(r.cl), &m, &out);
	if (e == 0 && o.json)
		e = buf_putc(&out, '\n');
	if (e == 0)
		fputs(buf_str(&out), stdout);
	if (e < 0 || fflush(stdout) != 0 || traffic_client_error(r.cl) < 0)
		rc = STRAIT_EXIT_FAILURE;
	buf_free(&out);
	traffic_client_free(r.cl);
out_loop:
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		log_warn("a handle was left open at exit");
	free(sources);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return STRAIT_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return STRAIT_EXIT_OK;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf(PROG " %s\n", VERSION);
		return STRAIT_EXIT_OK;
	}
	if (!strcmp(cmd, "server"))
		return server_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "client"))
		return client_main(argc - 1, argv + 1);
	fprintf(stderr, PROG ": unknown command '%s'\nTry '" PROG " --help'.\n",
		cmd);
	return STRAIT_EXIT_USAGE;
}
