/* The strait-target commands that talk to the daemon. See cli.h. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "buf.h"
#include "daemon.h"
#include "log.h"
#include "model.h"
#include "print.h"
#include "rpc.h"
#include "sockaddr.h"
#include "target.pb-c.h"

#define PROG "strait-target"
#define RUN_DIR "/run/strait"

static const char *const names[] = {
	[TGT_CLI_OPEN] = "open",
	[TGT_CLI_CLOSE] = "close",
	[TGT_CLI_STATUS] = "status",
	[TGT_CLI_WATCH] = "watch",
};

int tgt_cli_lookup(const char *name, enum tgt_cli_cmd *cmd)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i], name) == 0) {
			*cmd = (enum tgt_cli_cmd)i;
			return 0;
		}
	}
	return -ENOENT;
}

static const char *const helps[] = {
	[TGT_CLI_OPEN] =
"Usage: strait-target open --trench T --conduit C --stream S [OPTION]...\n"
"Asks the agent to open stream T/C/S: on the conduit's first stream it\n"
"gets a link from the conduit's proxy and puts the trench's VIPs and\n"
"their source routes in place; then it registers the pod in the stream\n"
"with the lowest free identifier. Prints the identifier and the link's\n"
"addresses. Opening an open stream prints the same again.\n",
	[TGT_CLI_CLOSE] =
"Usage: strait-target close --trench T --conduit C --stream S [OPTION]...\n"
"Asks the agent to close stream T/C/S: it unregisters the pod from the\n"
"stream, and on the conduit's last stream removes the VIPs, rules and\n"
"routes and gives the link back to the proxy. Closing a stream that is\n"
"not open is not an error (it says so).\n",
	[TGT_CLI_STATUS] =
"Usage: strait-target status [OPTION]...\n"
"Prints the agent's conduits (link, addresses, gateways, VIPs, table)\n"
"and streams (state, identifier, the last error).\n",
	[TGT_CLI_WATCH] =
"Usage: strait-target watch [OPTION]...\n"
"Prints the agent's status now and again at every change, until\n"
"interrupted (exit 0) or the agent goes (exit 3).\n",
};

static void usage(enum tgt_cli_cmd cmd, FILE *f)
{
	fputs(helps[cmd], f);
	fputs("\n", f);
	if (cmd == TGT_CLI_OPEN || cmd == TGT_CLI_CLOSE)
		fputs(
"  -t, --trench NAME    the stream's trench\n"
"  -c, --conduit NAME   its conduit\n"
"  -s, --stream NAME    the stream\n", f);
	fputs(
"      --control ADDR   the agent's control socket (unix:PATH)\n"
"  -p, --pod NAME       or the agent of pod NAME, at\n"
"                       unix:/run/strait/target-NAME.sock\n"
"                       (default: $STRAIT_TARGET_CONTROL, else the one\n"
"                       /run/strait/target-*.sock)\n"
"      --json           print JSON (one line per status for watch)\n", f);
	if (cmd != TGT_CLI_WATCH)
		fputs(
"      --timeout SECS   give up waiting for the answer after SECS\n"
"                       (default 20 for open and close, 5 for status)\n",
		      f);
	fputs(
"  -h, --help           this text\n"
"\n"
"Exit status: 0 done; 1 refused (the reason is printed: a full stream, an\n"
"unknown stream, ...); 2 bad usage; 3 the agent, its proxy or NSP could\n"
"not be reached.\n", f);
}

int tgt_cli_parse(enum tgt_cli_cmd cmd, int argc, char **argv,
		  struct tgt_cli_args *o)
{
	enum { OPT_CONTROL = 256, OPT_JSON, OPT_TIMEOUT };
	static const struct option longs[] = {
		{ "trench", required_argument, NULL, 't' },
		{ "conduit", required_argument, NULL, 'c' },
		{ "stream", required_argument, NULL, 's' },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "pod", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool keyed = cmd == TGT_CLI_OPEN || cmd == TGT_CLI_CLOSE;
	memset(o, 0, sizeof(*o));
	o->cmd = cmd;
	o->name = names[cmd];
	o->timeout_ms = keyed ? 20000 : 5000;
	uint64_t v;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, keyed ? "t:c:s:p:h" : "p:h", longs,
				NULL)) != -1) {
		switch (c) {
		case 't':
			o->trench = optarg;
			break;
		case 'c':
			o->conduit = optarg;
			break;
		case 's':
			o->stream = optarg;
			break;
		case OPT_CONTROL:
			o->control = optarg;
			break;
		case 'p':
			o->pod = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_TIMEOUT:
			if (daemon_number(PROG, "--timeout", optarg, 1, 3600,
					  &v))
				return -EINVAL;
			o->timeout_ms = (uint32_t)v * 1000;
			break;
		case 'h':
			usage(cmd, stdout);
			return 1;
		default:
			fprintf(stderr, "Try '" PROG " %s --help'.\n", o->name);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG " %s: unexpected argument '%s'\n",
			o->name, argv[optind]);
		return -EINVAL;
	}
	if (!keyed && (o->trench || o->conduit || o->stream)) {
		fprintf(stderr, PROG " %s: takes no stream\n", o->name);
		return -EINVAL;
	}
	if (keyed) {
		const char *what[3] = { "trench", "conduit", "stream" };
		const char *val[3] = { o->trench, o->conduit, o->stream };
		char err[160];
		for (int i = 0; i < 3; i++) {
			if (!val[i]) {
				fprintf(stderr,
					PROG " %s: --%s is required\n"
					"Try '" PROG " %s --help'.\n",
					o->name, what[i], o->name);
				return -EINVAL;
			}
			if (tgt_name_check(what[i], val[i], err,
					   sizeof(err)) < 0) {
				fprintf(stderr, PROG " %s: %s\n", o->name, err);
				return -EINVAL;
			}
		}
	}
	if (o->pod && tgt_name_check("pod", o->pod, NULL, 0) < 0) {
		fprintf(stderr, PROG " %s: --pod '%s' is not a pod name\n",
			o->name, o->pod);
		return -EINVAL;
	}
	return 0;
}

/* ---- finding the daemon ---- */

/* Writes the control address into addr. Returns 0 or an exit code,
 * having said why. */
static int find_control(const struct tgt_cli_args *o, char *addr, size_t len)
{
	const char *env = getenv("STRAIT_TARGET_CONTROL");
	if (o->control)
		snprintf(addr, len, "%s", o->control);
	else if (o->pod)
		snprintf(addr, len, "unix:" RUN_DIR "/target-%s.sock", o->pod);
	else if (env && env[0])
		snprintf(addr, len, "%s", env);
	else {
		glob_t g;
		int rc = glob(RUN_DIR "/target-*.sock", 0, NULL, &g);
		size_t n = rc == 0 ? g.gl_pathc : 0;
		if (n == 1)
			snprintf(addr, len, "unix:%s", g.gl_pathv[0]);
		if (rc == 0)
			globfree(&g);
		if (n == 0) {
			fprintf(stderr,
				PROG " %s: no agent's socket in " RUN_DIR
				" (is strait-target daemon running? name it "
				"with --control or --pod)\n",
				o->name);
			return TGT_EXIT_UNREACHABLE;
		}
		if (n > 1) {
			fprintf(stderr,
				PROG " %s: %zu agents' sockets in " RUN_DIR
				"; name one with --control or --pod\n",
				o->name, n);
			return TGT_EXIT_USAGE;
		}
	}
	return 0;
}

/* ---- one call ---- */

struct run {
	const struct tgt_cli_args *o;
	uv_loop_t loop;
	struct rpc_client *client;
	uv_timer_t deadline;
	uv_signal_t sigint, sigterm;
	char addr[SOCKADDR_STRLEN];
	Target__StreamKey key;
	bool sent, finishing;
	int code;
};

static void finish(struct run *r, int code)
{
	if (r->finishing)
		return;
	r->finishing = true;
	r->code = code;
	fflush(stdout);
	uv_close((uv_handle_t *)&r->deadline, NULL);
	uv_close((uv_handle_t *)&r->sigint, NULL);
	uv_close((uv_handle_t *)&r->sigterm, NULL);
	rpc_client_close(r->client, NULL, NULL);
}

static void failf(struct run *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void failf(struct run *r, int code, const char *fmt, ...)
{
	if (r->finishing)
		return;
	va_list ap;
	fflush(stdout);
	fprintf(stderr, PROG " %s: ", r->o->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	finish(r, code);
}

static int emit(struct run *r, int rc, struct buf *out)
{
	errno = 0;
	if (rc == 0 && out->len &&
	    fwrite(out->data, 1, out->len, stdout) != out->len)
		rc = errno ? -errno : -EIO;
	if (rc == 0 && fflush(stdout) != 0)
		rc = errno ? -errno : -EIO;
	buf_free(out);
	if (rc == -EPIPE)
		finish(r, TGT_EXIT_REFUSED); /* the reader is gone: quietly */
	else if (rc < 0)
		failf(r, TGT_EXIT_REFUSED, "cannot print the answer: %s",
		      strerror(-rc));
	return rc;
}

/* A call ended without an answer (or a watch ended). */
static void ended(struct run *r, const Rpc__Status *st)
{
	if (r->o->cmd == TGT_CLI_WATCH && st->code == RPC__CODE__OK) {
		finish(r, TGT_EXIT_OK);
		return;
	}
	if (!rpc_client_connected(r->client) &&
	    st->code == RPC__CODE__UNAVAILABLE) {
		failf(r, TGT_EXIT_UNREACHABLE,
		      "lost the connection to the agent at %s: %s", r->addr,
		      st->message);
		return;
	}
	failf(r, tgt_exit_code(st->code, st->reason), "%s", st->message);
}

static void on_answer(void *data, const Rpc__Status *st,
		      const ProtobufCMessage *msg)
{
	struct run *r = data;
	if (r->finishing)
		return;
	if (!msg) {
		ended(r, st);
		return;
	}
	const struct tgt_cli_args *o = r->o;
	struct buf out = { 0 };
	int rc;
	switch (o->cmd) {
	case TGT_CLI_OPEN:
		rc = o->json ? tgt_print_open_json(&r->key, (const void *)msg,
						   &out)
			     : tgt_print_open(&r->key, (const void *)msg, &out);
		break;
	case TGT_CLI_CLOSE:
		rc = o->json ? tgt_print_close_json(&r->key, (const void *)msg,
						    &out)
			     : tgt_print_close(&r->key, (const void *)msg,
					       &out);
		break;
	case TGT_CLI_STATUS:
		rc = o->json ? tgt_print_status_json((const void *)msg, true,
						     &out)
			     : tgt_print_status((const void *)msg, &out);
		break;
	case TGT_CLI_WATCH:
	default:
		rc = o->json ? tgt_print_status_json((const void *)msg, false,
						     &out)
			     : tgt_print_status((const void *)msg, &out);
		if (rc == 0 && !o->json)
			rc = buf_putc(&out, '\n');
		emit(r, rc, &out); /* the watch goes on */
		return;
	}
	if (emit(r, rc, &out) == 0)
		finish(r, TGT_EXIT_OK);
}

static void send_call(struct run *r)
{
	static const char *const methods[] = {
		[TGT_CLI_OPEN] = "target.Ambassador/Open",
		[TGT_CLI_CLOSE] = "target.Ambassador/Close",
		[TGT_CLI_STATUS] = "target.Ambassador/Status",
		[TGT_CLI_WATCH] = "target.Ambassador/Watch",
	};
	static const ProtobufCMessageDescriptor *const replies[] = {
		[TGT_CLI_OPEN] = &target__open_response__descriptor,
		[TGT_CLI_CLOSE] = &target__close_response__descriptor,
		[TGT_CLI_STATUS] = &target__status_response__descriptor,
		[TGT_CLI_WATCH] = &target__status_response__descriptor,
	};
	Target__OpenRequest open = TARGET__OPEN_REQUEST__INIT;
	Target__CloseRequest close = TARGET__CLOSE_REQUEST__INIT;
	Target__StatusRequest status = TARGET__STATUS_REQUEST__INIT;
	const ProtobufCMessage *req = &status.base;
	open.stream = close.stream = &r->key;
	if (r->o->cmd == TGT_CLI_OPEN)
		req = &open.base;
	else if (r->o->cmd == TGT_CLI_CLOSE)
		req = &close.base;
	int rc = rpc_client_call(r->client, methods[r->o->cmd], req,
				 replies[r->o->cmd], on_answer, r, NULL);
	if (rc < 0) {
		failf(r, TGT_EXIT_UNREACHABLE, "cannot send to %s: %s", r->addr,
		      strerror(-rc));
		return;
	}
	r->sent = true;
	/* A watch waits for ever once it is connected. */
	if (r->o->cmd == TGT_CLI_WATCH)
		uv_timer_stop(&r->deadline);
}

static void on_state(struct rpc_client *c, bool up, void *data)
{
	struct run *r = data;
	(void)c;
	if (r->finishing)
		return;
	if (up && !r->sent)
		send_call(r);
	else if (!up && !r->sent)
		failf(r, TGT_EXIT_UNREACHABLE, "cannot reach the agent at %s: %s",
		      r->addr, rpc_client_error(r->client));
}

static void on_deadline(uv_timer_t *t)
{
	struct run *r = t->data;
	failf(r, TGT_EXIT_UNREACHABLE, "no answer from the agent at %s within "
	      "%u s", r->addr, r->o->timeout_ms / 1000);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct run *r = h->data;
	/* Interrupting a watch is how it ends. */
	finish(r, r->o->cmd == TGT_CLI_WATCH ? TGT_EXIT_OK : 128 + signum);
}

int tgt_cli_run(const struct tgt_cli_args *o)
{
	char text[256];
	struct sockaddr_storage ss;
	int code = find_control(o, text, sizeof(text));
	if (code)
		return code;
	if (sockaddr_parse(text, 0, &ss) < 0) {
		fprintf(stderr, PROG " %s: --control '%s' is not an address "
			"(want unix:PATH or HOST:PORT)\n", o->name, text);
		return TGT_EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	/* The transport's own notes (a refused connection) are the
	 * command's error message here, said once. */
	log_init("target", LOG_ERROR);
	struct run *r = calloc(1, sizeof(*r));
	if (!r) {
		fprintf(stderr, PROG " %s: out of memory\n", o->name);
		return TGT_EXIT_REFUSED;
	}
	r->o = o;
	sockaddr_format((struct sockaddr *)&ss, r->addr, sizeof(r->addr));
	target__stream_key__init(&r->key);
	r->key.trench = (char *)(o->trench ? o->trench : "");
	r->key.conduit = (char *)(o->conduit ? o->conduit : "");
	r->key.stream = (char *)(o->stream ? o->stream : "");
	uv_loop_init(&r->loop);
	uv_timer_init(&r->loop, &r->deadline);
	r->deadline.data = r;
	uv_timer_start(&r->deadline, on_deadline, o->timeout_ms, 0);
	uv_signal_init(&r->loop, &r->sigint);
	uv_signal_init(&r->loop, &r->sigterm);
	r->sigint.data = r->sigterm.data = r;
	uv_signal_start(&r->sigint, on_signal, SIGINT);
	uv_signal_start(&r->sigterm, on_signal, SIGTERM);
	struct rpc_client_config cfg = { .on_state = on_state, .data = r };
	int rc = rpc_client_start(&r->loop, (struct sockaddr *)&ss, &cfg,
				  &r->client);
	if (rc < 0) {
		fprintf(stderr, PROG " %s: cannot connect to %s: %s\n",
			o->name, r->addr, strerror(-rc));
		r->finishing = true;
		r->code = TGT_EXIT_UNREACHABLE;
		uv_close((uv_handle_t *)&r->deadline, NULL);
		uv_close((uv_handle_t *)&r->sigint, NULL);
		uv_close((uv_handle_t *)&r->sigterm, NULL);
	}
	uv_run(&r->loop, UV_RUN_DEFAULT);
	uv_loop_close(&r->loop);
	code = r->code;
	free(r);
	return code;
}
