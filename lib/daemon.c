#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "log.h"
#include "sockaddr.h"

int daemon_number(const char *prog, const char *opt, const char *text,
		  uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v < lo ||
	    v > hi) {
		fprintf(stderr, "%s: %s '%s' is not a number from %llu to %llu\n",
			prog, opt, text, (unsigned long long)lo,
			(unsigned long long)hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int daemon_option(const char *prog, int c, const char *arg,
		  struct daemon_common *d)
{
	uint64_t v;
	switch (c) {
	case DAEMON_OPT_SYNC:
		if (strcmp(arg, "normal") && strcmp(arg, "full")) {
			fprintf(stderr,
				"%s: --sync '%s' is neither 'normal' nor 'full'\n",
				prog, arg);
			return -EINVAL;
		}
		d->sync_full = strcmp(arg, "full") == 0;
		return 1;
	case DAEMON_OPT_KEEPALIVE:
		if (daemon_number(prog, "--keepalive", arg, 10, 60000, &v))
			return -EINVAL;
		d->keepalive_ms = (uint32_t)v;
		return 1;
	case DAEMON_OPT_DEAD:
		if (daemon_number(prog, "--dead", arg, 20, 600000, &v))
			return -EINVAL;
		d->dead_ms = (uint32_t)v;
		return 1;
	case DAEMON_OPT_LOG_LEVEL:
		if (log_level_parse(arg, &d->level)) {
			fprintf(stderr,
				"%s: --log-level '%s' is not one of error, warn, "
				"info, debug\n",
				prog, arg);
			return -EINVAL;
		}
		return 1;
	default:
		return 0;
	}
}

int daemon_check(const char *prog, const struct daemon_common *d)
{
	if (d->keepalive_ms && d->dead_ms && d->dead_ms <= d->keepalive_ms) {
		fprintf(stderr, "%s: --dead must exceed --keepalive\n", prog);
		return -EINVAL;
	}
	return 0;
}

int daemon_address(const char *prog, const char *opt, const char *text,
		   uint16_t port, struct sockaddr_storage *ss)
{
	if (sockaddr_parse(text, port, ss) == 0)
		return 0;
	fprintf(stderr, "%s: %s '%s' is not an address\n", prog, opt, text);
	return -EINVAL;
}

void daemon_make_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path) + 256];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		log_warn("cannot create %s: %s", dir, strerror(errno));
}

void daemon_make_socket_dir(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_UNIX)
		daemon_make_parent(((const struct sockaddr_un *)ss)->sun_path);
}

int daemon_option_or_usage(const char *prog, int c, const char *arg,
			   struct daemon_common *d)
{
	int r = daemon_option(prog, c, arg, d);
	if (r > 0)
		return 0;
	if (r == 0)
		fprintf(stderr, "Try '%s --help'.\n", prog);
	return -EINVAL;
}

int daemon_no_operands(const char *prog, int argc, char **argv, int optind)
{
	if (optind >= argc)
		return 0;
	fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
	return -EINVAL;
}
