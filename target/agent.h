/* strait-target, the daemon: what its modules share.
 *
 *   agent.c     streams and conduits: Open, Close, the steps that
 *               model.c decides, the tick (deadlines, refreshes), stop
 *   link.c      a conduit's proxy: its client, Attach and Detach, and
 *               putting the routes, rules and VIPs in place (net.c)
 *   registry.c  NSP: the connection, the trench watches (VIPs and
 *               streams), Register and Unregister
 *   net.c       every netlink request, in the pod's namespace
 *   control.c   the control socket (target.Ambassador) and watchers
 *   status.c    the status message, for control.c and /metrics
 *
 * Ownership: the agent owns its trenches and conduits (lists), each
 * conduit its streams. A stream is freed only when nothing is in flight
 * for it (agent.c), a conduit only when DETACHED with no stream and no
 * call in flight, a trench when no conduit uses it. Everything runs on
 * the loop's thread.
 */
#ifndef STRAIT_TARGET_AGENT_H
#define STRAIT_TARGET_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>
#include <uv.h>

#include "list.h"
#include "model.h"
#include "nsp.pb-c.h"
#include "rpc.h"
#include "target.pb-c.h"

struct tgt_net;

struct target_options {
	const char *pod;
	const char *nsp;       /* NSP's address */
	const char *proxy_dir; /* the proxy of conduit C: DIR/proxy-C.sock */
	const char *control;   /* the control socket's address */
	const char *metrics;   /* "off" or an address */
	uint32_t rule_priority;
	uint32_t keepalive_ms, dead_ms;
};

/* A trench some conduit is open in: its VIPs and streams, from NSP. */
struct tgt_trench {
	struct list_node node; /* in agent->trenches */
	struct target_agent *a;
	char name[TGT_NAME_MAX + 1];
	unsigned users;	       /* conduits of this trench */
	struct tgt_vipset vips;
	bool vips_synced;      /* NSP has answered the VIP watch once */
	Nsp__ConfigResponse *streams; /* the last WatchStream answer */
	uint32_t vip_call, stream_call; /* the watches' call ids, 0: none */
};

/* The link of the pod into one conduit, and what hangs on it. */
struct tgt_conduit {
	struct list_node node; /* in agent->conduits */
	struct target_agent *a;
	struct tgt_trench *trench;
	char name[TGT_NAME_MAX + 1];
	unsigned slot;
	uint32_t table;
	char ifname[16];       /* asked for: st<slot> */
	char proxy_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct rpc_client *proxy;
	enum tgt_peer proxy_state;
	enum tgt_cstate state;
	bool stale;	       /* attached, but the proxy restarted since */
	uint64_t retry_at;     /* a failed re-attach is retried then */
	bool inflight;	       /* an Attach or Detach is unanswered */
	bool linked;	       /* link holds the proxy's last answer */
	struct tgt_link link;
	char ips[2][CIDR_STRLEN]; /* the link's addresses as registered */
	size_t n_ips;
	struct tgt_vipset applied; /* VIPs with a rule to table (on lo) */
	bool routed;
	char error[256];       /* the last failure, for the status */
	struct list_node streams;
};

/* One open (or opening, or closing) stream. */
struct tgt_stream {
	struct list_node node; /* in conduit->streams */
	struct tgt_conduit *c;
	char name[TGT_NAME_MAX + 1];
	enum tgt_sstate state;
	bool inflight;	 /* a Register or Unregister is unanswered */
	bool registered; /* NSP holds it, with reg_ips as its key */
	bool renew;	 /* another took id: the next Register asks for 0 */
	uint32_t id;
	char reg_ips[2][CIDR_STRLEN];
	size_t n_reg_ips;
	uint64_t due, deadline;
	/* The control calls waiting for this stream: an Open is answered
	 * once registered or failed; a Close (and a failed Open) once the
	 * stream is gone, its conduit's link included when it was the last. */
	struct rpc_call *open_call, *close_call;
	int fail_code; /* an Rpc__Code; OK while nothing failed */
	const char *fail_reason;
	char error[256];
};

struct tgt_stats {
	uint64_t opens, open_failures, closes;
	uint64_t registers, register_refusals, unregisters;
	uint64_t id_changes; /* identifier lost to another, re-picked */
	uint64_t attaches, attach_failures, detaches;
	uint64_t vip_adds, vip_dels, net_failures;
};

struct target_agent {
	uv_loop_t *loop;
	const struct target_options *opt;
	struct tgt_net *net;
	struct rpc_client *nsp;
	enum tgt_peer nsp_state;
	struct rpc_server *control;
	uint64_t slots; /* conduit slots taken */
	struct list_node trenches, conduits, watchers;
	uv_timer_t tick;
	uv_timer_t notify; /* sends the status to watchers, once per turn */
	bool notify_armed;
	uint64_t changes;
	bool stopping;	 /* SIGTERM: closing everything */
	bool tearing;	 /* the last moments: callbacks change nothing */
	uint64_t stop_deadline;
	int exit_code;
	struct tgt_stats stats;
};

/* ---- agent.c ---- */

/* Starts the tick and notify timers. Returns 0 or a negative errno. */
int tgt_agent_init(struct target_agent *a);

/* Opens (or joins) a stream for a control call; answers it later. */
void tgt_open(struct target_agent *a, struct rpc_call *call,
	      const Target__StreamKey *key);

/* Closes a stream for a control call; answers it later. */
void tgt_close(struct target_agent *a, struct rpc_call *call,
	       const Target__StreamKey *key);

/* SIGTERM: closes every stream (unregister, routes, detach) and stops
 * the loop when all is done or after TGT_STOP_MS. */
#define TGT_STOP_MS 1500
void tgt_stop(struct target_agent *a);

/* After the loop: removes what is still in place (routes, rules, VIPs)
 * without waiting for anyone, ends every call, frees everything. */
void tgt_agent_fini(struct target_agent *a);

/* Re-runs the decisions of every conduit and stream: after any event. */
void tgt_step_all(struct target_agent *a);

/* Something the status shows changed: the watchers hear of it. */
void tgt_changed(struct target_agent *a);

struct tgt_trench *tgt_trench_find(struct target_agent *a, const char *name);

/* Fails an opening stream: the Open will be answered with code, reason
 * and the message, once whatever was done for it is undone. */
void tgt_stream_fail(struct tgt_stream *s, int code, const char *reason,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* An opening stream got its identifier: answers its Open. */
void tgt_stream_opened(struct tgt_stream *s);

/* The conduit's Detach was answered (or cannot be sent): the streams
 * that waited for it are answered. */
void tgt_conduit_detached(struct tgt_conduit *c);

/* ---- link.c ---- */

/* Starts the conduit's client to its proxy. Returns 0 or -errno. */
int tgt_link_start(struct tgt_conduit *c);

/* Closes the client (its calls end with CANCELLED first). */
void tgt_link_stop(struct tgt_conduit *c);

int tgt_link_attach(struct tgt_conduit *c);
int tgt_link_detach(struct tgt_conduit *c);

/* Puts the conduit's routes and its trench's VIPs (rules, then lo) in
 * place, or brings them in line after a VIP change. */
void tgt_link_apply(struct tgt_conduit *c);

/* Takes them away: VIPs (lo unless another conduit holds the VIP, then
 * the rule), then the routes. */
void tgt_link_unapply(struct tgt_conduit *c);

/* ---- registry.c ---- */

int tgt_nsp_start(struct target_agent *a, const struct sockaddr *addr);
void tgt_nsp_stop(struct target_agent *a);

/* Starts the trench's watches if NSP is up (else on connect). */
void tgt_nsp_watch(struct target_agent *a, struct tgt_trench *t);
void tgt_nsp_unwatch(struct target_agent *a, struct tgt_trench *t);

/* Sends the stream's Register (a refresh when it holds an identifier)
 * or Unregister. Return 0 or a negative errno. */
int tgt_nsp_register(struct tgt_stream *s);
int tgt_nsp_unregister(struct tgt_stream *s);

/* The max-targets of stream in conduit of trench t, 0 when unknown. */
uint32_t tgt_nsp_max_targets(const struct tgt_trench *t, const char *conduit,
			     const char *stream);

/* ---- control.c ---- */

int tgt_control_start(struct target_agent *a, const struct sockaddr *addr);
void tgt_control_stop(struct target_agent *a);

/* Sends the status to every watcher (from the notify timer). */
void tgt_control_notify(struct target_agent *a);

/* ---- status.c ---- */

struct tgt_status {
	Target__StatusResponse msg;
	void *held; /* what msg points to that the agent does not own */
};

/* Builds the status into out->msg, valid until the agent changes;
 * tgt_status_free() releases what it took, also after a failure.
 * Returns 0 or -ENOMEM. */
int tgt_status_build(const struct target_agent *a, struct tgt_status *out);
void tgt_status_free(struct tgt_status *s);

struct buf;
void tgt_metrics_collect(struct buf *out, void *data);

#endif
