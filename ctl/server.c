/* The server of each straitctl command. See server.h. */
#include "server.h"

bool ctl_cmd_is_ipam(enum ctl_cmd cmd)
{
	return cmd >= CTL_CMD_IPAM && cmd <= CTL_CMD_IPAM_TREE;
}

bool ctl_cmd_is_lb(enum ctl_cmd cmd)
{
	return cmd >= CTL_CMD_LB && cmd <= CTL_CMD_LB_FLOWS;
}

bool ctl_cmd_is_proxy(enum ctl_cmd cmd)
{
	return cmd >= CTL_CMD_PROXY && cmd <= CTL_CMD_PROXY_STATUS;
}

bool ctl_cmd_is_tun(enum ctl_cmd cmd)
{
	return cmd >= CTL_CMD_TUN && cmd <= CTL_CMD_TUN_STATUS;
}

/* The option if given, else the variable if not empty, else the default. */
static const char *pick(const char *option, const char *env, const char *def)
{
	if (option)
		return option;
	return env && *env ? env : def;
}

void ctl_server_of(const struct ctl_args *a, const struct ctl_env *env,
		   struct ctl_server *out)
{
	out->port = 0;
	if (ctl_cmd_is_lb(a->cmd)) {
		out->addr = pick(a->lb, env->lb, CTL_LB_DEFAULT);
		out->option = "--lb";
	} else if (ctl_cmd_is_proxy(a->cmd)) {
		out->addr = pick(a->proxy, env->proxy, CTL_PROXY_DEFAULT);
		out->option = "--proxy";
	} else if (ctl_cmd_is_tun(a->cmd)) {
		out->addr = pick(a->tun, env->tun, CTL_TUN_DEFAULT);
		out->option = "--tun";
	} else if (ctl_cmd_is_ipam(a->cmd)) {
		out->addr = pick(a->ipam, env->ipam, CTL_IPAM_DEFAULT);
		out->port = CTL_IPAM_PORT;
		out->option = "--ipam";
	} else {
		out->addr = a->nsp;
		out->port = CTL_NSP_PORT;
		out->option = "--nsp";
	}
}
