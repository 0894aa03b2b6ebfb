/* strait-tun: the daemon's state and its modules (docs/tun.md).
 *
 *   view.c   pure: the tables NSP gives, as an immutable view (svc.h)
 *   core.c   pure: per-flow decisions over the view (svc.h)
 *   nat.c    pure: address translation, checksums, MSS clamping
 *   seg.c    pure: TSO split for the send, GRO coalescing for the write
 *   hdr.c    pure: the 8-byte strait header
 *   dev.c    the TUN device: open, offloads, MTU, virtio_net_hdr
 *   net.c    routes, the fwmark rule and table, the CONNMARK chain
 *   path.c   the packet loop: TUN -> decide -> NAT -> TUN or UDP, and
 *            UDP -> check -> decide -> NAT -> coalesce -> TUN
 *   nsp.c    registration and the three watches that make the view
 *   stats.c  /metrics
 *   control.c  the control socket: tun.Control/Status for straitctl tun
 *   main.c   options, start-up, signals
 *
 * One thread runs everything on one libuv loop; the packet loop reads and
 * writes non-blocking descriptors from uv_poll callbacks, in batches.
 */
#ifndef STRAIT_TUN_TUN_H
#define STRAIT_TUN_TUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "cidr.h"
#include "svc.h"

#define TUN_MAX_PREFIXES 16
#define TUN_DEFAULT_PORT 7779
#define TUN_DEFAULT_MTU 1444
#define TUN_DEFAULT_TABLE 7779
#define TUN_DEFAULT_RULE_PRIORITY 95
#define TUN_DEFAULT_FWMARK 0x00540000u
#define TUN_CHAIN "STRAIT-TUN"
#define TUN_NSP_REFRESH_MS 20000
#define TUN_REBUILD_MS 20 /* coalesces bursts of NSP events */

struct tun_options {
	const char *trench, *node, *nsp, *dev, *metrics, *control;
	struct sockaddr_storage underlay; /* address (and port) to bind */
	bool underlay_set;
	uint16_t port;
	unsigned mtu;
	struct cidr prefixes[TUN_MAX_PREFIXES];
	size_t n_prefixes;
	uint32_t table, rule_priority, fwmark;
	size_t flows;
	int keepalive_ms, dead_ms;
};

struct tun_counters {
	uint64_t tun_rx, tun_rx_bytes, tun_tx, tun_tx_bytes;
	uint64_t udp_rx, udp_rx_bytes, udp_tx, udp_tx_bytes;
	uint64_t udp_rx_batches, udp_tx_sends, udp_tx_calls, tun_tx_merged;
	uint64_t bad_header, unknown_sender, bad_packet, send_errors;
	uint64_t unreach_sent, mss_clamped;
	uint64_t not_ready; /* to a service prefix before the tables came */
};

struct tun_nsp;
struct rpc_client;
struct rpc_server;

struct tun_daemon {
	uv_loop_t *loop;
	const struct tun_options *opt;
	int tun_fd, udp_fd;
	int udp_family; /* of the UDP socket */
	int ifindex;
	uint32_t trench_tag;
	struct tun_core *core;
	struct tun_ids *service_ids, *node_ids;
	struct tun_counters c;
	struct tun_path *path;
	struct rpc_server *control; /* NULL with --control off */

	/* NSP (nsp.c) */
	struct rpc_client *nsp;
	struct tun_nsp *ns;
	bool registered;
	bool synced; /* every watch has given its first answer */
	uv_timer_t rebuild_timer, refresh_timer, expire_timer;
	int exit_code;
};

uint64_t tun_now_ms(const struct tun_daemon *d);

/* ---- dev.c ---- */
/* Opens (creates) the TUN device name with IFF_VNET_HDR and offloads,
 * non-blocking. Returns the descriptor or a negative errno (err says). */
int tun_dev_open(const char *name, char *err, size_t len);
/* Sets the MTU and brings the device up. */
int tun_dev_setup(const char *name, unsigned mtu, int *ifindex, char *err,
		  size_t len);

/* ---- net.c ---- */
/* Routes for the prefixes, the reply table and rule, the CONNMARK chain,
 * the sysctls (forwarding, rp_filter on the device). */
int tun_net_setup(struct tun_daemon *d, char *err, size_t len);
void tun_net_teardown(struct tun_daemon *d);

/* ---- path.c ---- */
int tun_path_start(struct tun_daemon *d, char *err, size_t len);
void tun_path_stop(struct tun_daemon *d);
/* After the loop has closed the handles: the socket and the buffers. */
void tun_path_free(struct tun_daemon *d);

/* ---- nsp.c ---- */
int tun_nsp_start(struct tun_daemon *d, const struct sockaddr *nsp);
/* Unregisters (waiting up to a second) and closes the client. */
void tun_nsp_stop(struct tun_daemon *d);
/* Builds a view from what the watches hold and installs it. */
void tun_nsp_rebuild(struct tun_daemon *d);
/* The node NSP names for instance ident of service, from the watch's
 * mirror (the view keeps no name for a node without a TUNNEL): static
 * until the next NSP event, or NULL. A scan: for status, not packets. */
const char *tun_nsp_instance_node(const struct tun_daemon *d,
				  const char *service, uint32_t ident);

/* ---- stats.c ---- */
struct buf;
void tun_stats_collect(struct buf *out, void *data);
/* Drops by reason, the one list behind /metrics and the control socket:
 * the core's reasons (tun_reason_name, TUN_R_OK left out), then
 * bad_header, unknown_sender, bad_packet, send_error and not_ready. */
#define TUN_NDROPS (TUN_R_NREASONS - 1 + 5)
struct tun_drop {
	const char *name; /* static */
	uint64_t value;
};
void tun_stats_drops(const struct tun_daemon *d,
		     struct tun_drop out[TUN_NDROPS]);

/* ---- control.c ---- */
/* Serves tun.Control/Status (proto/tun.proto) on addr. Returns 0 or a
 * negative errno (rpc_server_start's). */
int tun_control_start(struct tun_daemon *d, const struct sockaddr *addr);
/* Closes the socket and its connections (the file is unlinked). */
void tun_control_stop(struct tun_daemon *d);

#endif
