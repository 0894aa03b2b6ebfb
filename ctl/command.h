/* The commands straitctl runs, one struct ctl_command each (session.h).
 * The `nsp` group talks to strait-nsp (proto/nsp.proto), the `ipam` group
 * to strait-ipam (proto/ipam.proto), the `lb` group to strait-lb's control
 * socket (proto/lb.proto), the `proxy` group to strait-proxy's local
 * socket (proto/proxy.proto), the `tun` group to strait-tun's control
 * socket (proto/tun.proto). */
#ifndef STRAIT_CTL_COMMAND_H
#define STRAIT_CTL_COMMAND_H

#include "session.h"

extern const struct ctl_command ctl_nsp_register;   /* and unregister */
extern const struct ctl_command ctl_nsp_unregister; /* one-shot */
extern const struct ctl_command ctl_nsp_list;
extern const struct ctl_command ctl_nsp_watch;
extern const struct ctl_command ctl_nsp_config;
extern const struct ctl_command ctl_ipam_allocate; /* per family */
extern const struct ctl_command ctl_ipam_release;  /* per family */
extern const struct ctl_command ctl_ipam_list;
extern const struct ctl_command ctl_ipam_tree;
extern const struct ctl_command ctl_lb_status; /* status, streams, flows */
extern const struct ctl_command ctl_proxy_status;
extern const struct ctl_command ctl_tun_status;

#endif
