/* lb_rules_tool: lb/rules.c from the command line, for
 * tests/integration/lb_rules.sh (run it inside a network namespace).
 *
 *   lb_rules_tool apply CHAIN QUEUES FAILOPEN [VIP...]
 *       QUEUES is "A" or "A:B", FAILOPEN 0 or 1, each VIP an address or
 *       a prefix of either family; the rules carry the comment "strait"
 *   lb_rules_tool render CHAIN QUEUES FAILOPEN FAMILY JUMPS [VIP...]
 *       prints what apply would feed iptables-restore (FAMILY 4 or 6)
 *   lb_rules_tool remove CHAIN
 *   lb_rules_tool cleanup PREFIX
 *
 * Exits 0, 1 with the reason on stderr, or 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lb/rules.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: lb_rules_tool apply CHAIN QUEUES FAILOPEN [VIP...]\n"
		"       lb_rules_tool render CHAIN QUEUES FAILOPEN FAMILY "
		"JUMPS [VIP...]\n"
		"       lb_rules_tool remove CHAIN\n"
		"       lb_rules_tool cleanup PREFIX\n");
	return 2;
}

static int parse_u16(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* Fills spec from CHAIN QUEUES FAILOPEN and the VIPs; vips is the caller's
 * array of n entries. */
static int parse_spec(char **argv, char **vip_argv, int n,
		      struct lb_rules_spec *s, struct cidr *vips)
{
	char q[16];
	char *colon;

	s->chain = argv[0];
	s->comment = "strait";
	if (strlen(argv[1]) >= sizeof(q))
		return -EINVAL;
	strcpy(q, argv[1]);
	colon = strchr(q, ':');
	if (colon)
		*colon = '\0';
	if (parse_u16(q, &s->queue_first) < 0)
		return -EINVAL;
	s->queue_last = s->queue_first;
	if (colon && parse_u16(colon + 1, &s->queue_last) < 0)
		return -EINVAL;
	if (strcmp(argv[2], "0") && strcmp(argv[2], "1"))
		return -EINVAL;
	s->fail_open = argv[2][0] == '1';
	for (int i = 0; i < n; i++)
		if (cidr_parse(vip_argv[i], &vips[i]) < 0 &&
		    cidr_parse_ip(vip_argv[i], &vips[i]) < 0) {
			fprintf(stderr, "lb_rules_tool: bad VIP %s\n",
				vip_argv[i]);
			return -EINVAL;
		}
	s->vips = vips;
	s->n_vips = (size_t)n;
	return 0;
}

int main(int argc, char **argv)
{
	char err[512] = "";
	struct lb_rules_spec spec = {0};
	struct cidr *vips = NULL;
	int rc;

	if (argc < 3)
		return usage();
	if (strcmp(argv[1], "remove") == 0 && argc == 3) {
		rc = lb_rules_remove(argv[2], err, sizeof(err));
	} else if (strcmp(argv[1], "cleanup") == 0 && argc == 3) {
		rc = lb_rules_cleanup_stale(argv[2], err, sizeof(err));
	} else if (strcmp(argv[1], "apply") == 0 && argc >= 5) {
		int n = argc - 5;

		vips = calloc((size_t)n + 1, sizeof(*vips));
		if (!vips)
			return 1;
		if (parse_spec(argv + 2, argv + 5, n, &spec, vips) < 0) {
			free(vips);
			return usage();
		}
		rc = lb_rules_apply(&spec, err, sizeof(err));
	} else if (strcmp(argv[1], "render") == 0 && argc >= 7) {
		int n = argc - 7, family;
		struct buf out = {0};
		uint16_t jumps;

		vips = calloc((size_t)n + 1, sizeof(*vips));
		if (!vips)
			return 1;
		family = strcmp(argv[5], "6") == 0 ? AF_INET6 : AF_INET;
		if (parse_spec(argv + 2, argv + 7, n, &spec, vips) < 0 ||
		    parse_u16(argv[6], &jumps) < 0) {
			free(vips);
			return usage();
		}
		rc = lb_rules_render(&spec, family, jumps, &out, err,
				     sizeof(err));
		if (rc == 0)
			fputs(buf_str(&out), stdout);
		buf_free(&out);
	} else {
		return usage();
	}
	free(vips);
	if (rc < 0) {
		fprintf(stderr, "lb_rules_tool: %s (%s)\n", err, strerror(-rc));
		return 1;
	}
	return 0;
}
