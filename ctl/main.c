/* straitctl: parse the command line, resolve the server's address, run
 * one command on one loop, unwind, exit with the command's code.
 * The commands live in nsp_*.c, ipam_*.c, lb_status.c, proxy_status.c and
 * tun_status.c; docs/straitctl.md is the reference. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "args.h"
#include "command.h"
#include "help.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "sockaddr.h"

static const struct ctl_command *command(enum ctl_cmd cmd)
{
	switch (cmd) {
	case CTL_CMD_REGISTER:
		return &ctl_nsp_register;
	case CTL_CMD_UNREGISTER:
		return &ctl_nsp_unregister;
	case CTL_CMD_LIST:
		return &ctl_nsp_list;
	case CTL_CMD_WATCH:
		return &ctl_nsp_watch;
	case CTL_CMD_CONFIG:
		return &ctl_nsp_config;
	case CTL_CMD_IPAM_ALLOCATE:
		return &ctl_ipam_allocate;
	case CTL_CMD_IPAM_RELEASE:
		return &ctl_ipam_release;
	case CTL_CMD_IPAM_LIST:
		return &ctl_ipam_list;
	case CTL_CMD_IPAM_TREE:
		return &ctl_ipam_tree;
	case CTL_CMD_LB_STATUS:
	case CTL_CMD_LB_STREAMS:
	case CTL_CMD_LB_FLOWS:
		return &ctl_lb_status;
	case CTL_CMD_PROXY_STATUS:
		return &ctl_proxy_status;
	case CTL_CMD_TUN_STATUS:
		return &ctl_tun_status;
	default:
		return NULL;
	}
}

/* Parses the server's address (--nsp, --ipam, --lb, --proxy, --tun).
 * Returns 0 or an exit code, having said why. */
static int resolve(const struct ctl_server *srv, struct sockaddr_storage *ss)
{
	int err = sockaddr_parse(srv->addr, srv->port, ss);
	if (err == -EINVAL || err == -ENODEV) {
		fprintf(stderr,
			"straitctl: %s '%s' is not an address (want "
			"HOST:PORT, [IPV6]:PORT, HOST or unix:PATH)\n",
			srv->option, srv->addr);
		return CTL_EXIT_USAGE;
	}
	if (err) {
		fprintf(stderr, "straitctl: cannot reach %s: %s\n", srv->addr,
			err == -ENOENT ? "the name does not resolve"
				       : strerror(-err));
		return CTL_EXIT_UNREACHABLE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ctl_args args;
	char err_text[512];
	int code;

	if (ctl_args_parse(argc, argv, getenv("STRAIT_NSP"), &args, err_text,
			   sizeof(err_text)) < 0) {
		fprintf(stderr, "straitctl: %s\n%s", err_text,
			ctl_usage(args.cmd));
		code = CTL_EXIT_USAGE;
		goto free_args;
	}
	if (args.version) {
		printf("straitctl %s\n", CTL_VERSION);
		code = CTL_EXIT_OK;
		goto free_args;
	}
	if (args.help) {
		code = ctl_help_print(stdout, args.cmd) ? CTL_EXIT_REFUSED
							: CTL_EXIT_OK;
		goto free_args;
	}

	log_init("straitctl", args.log_level);
	/* A closed pipe (`| head`) or a server gone mid-write must come back
	 * as EPIPE from write(), not kill the process. */
	signal(SIGPIPE, SIG_IGN);

	const struct ctl_env env = {
		.ipam = getenv("STRAIT_IPAM"),
		.lb = getenv("STRAIT_LB"),
		.proxy = getenv("STRAIT_PROXY"),
		.tun = getenv("STRAIT_TUN"),
	};
	struct ctl_server srv;
	ctl_server_of(&args, &env, &srv);
	struct sockaddr_storage addr;
	code = resolve(&srv, &addr);
	if (code)
		goto free_args;

	uv_loop_t loop;
	int err = uv_loop_init(&loop);
	if (err) {
		fprintf(stderr, "straitctl: cannot start the event loop: %s\n",
			uv_strerror(err));
		code = CTL_EXIT_REFUSED;
		goto free_args;
	}
	struct ctl_session s;
	err = ctl_session_start(&s, &loop, &args, (struct sockaddr *)&addr,
				command(args.cmd));
	if (err) {
		fprintf(stderr, "straitctl: cannot start: %s\n",
			uv_strerror(err));
		code = CTL_EXIT_REFUSED;
		goto close_loop;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	ctl_session_fini(&s);
	code = s.exit_code;

close_loop:
	err = uv_loop_close(&loop);
	if (err) {
		/* A handle left open is a bug: say so, and fail the run. */
		fprintf(stderr,
			"straitctl: internal error: loop not closed: %s\n",
			uv_strerror(err));
		code = code ? code : CTL_EXIT_REFUSED;
	}
free_args:
	ctl_args_free(&args);
	return code;
}
