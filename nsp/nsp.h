/* strait-nsp's shared state and the modules of its I/O shell.
 *
 * The pure cores (registry.c, config*.c, store.c for the file) know nothing
 * of this struct; the shell modules wire them to the loop:
 *   api_targets.c  the TargetRegistry methods, persistence and watch pumps
 *   api_config.c   the Configuration methods and their watches
 *   confwatch.c    reloading configuration directories
 *   stats.c        the /metrics text
 *   main.c         options, the init chain and its unwind
 */
#ifndef STRAIT_NSP_NSP_H
#define STRAIT_NSP_NSP_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "buf.h"
#include "daemon.h"
#include "config.h"
#include "list.h"
#include "registry.h"
#include "rpc.h"
#include "store.h"

struct nsp_trench {
	char *dir;                 /* the ConfigMap directory */
	struct nsp_config *config; /* NULL until it first loads cleanly */
	char last_error[NSP_CONFIG_ERRLEN]; /* the refused update, "" if none */
	uv_fs_event_t watch;
	bool watching;
	struct nsp *nsp;
};

struct nsp_stats {
	uint64_t registers;    /* successful Register calls, refreshes included */
	uint64_t refreshes;    /* of which changed nothing */
	uint64_t unregisters;
	uint64_t expired;
	uint64_t refused[8];   /* Register refused, by enum nsp_refusal */
	uint64_t events_sent;
	uint64_t snapshots_sent;
	uint64_t config_reloads;  /* accepted changes */
	uint64_t config_rejected; /* refused updates */
	uint64_t config_sent;
};

enum nsp_refusal {
	NSP_REFUSED_INVALID,
	NSP_REFUSED_UNKNOWN_STREAM,
	NSP_REFUSED_ID_TAKEN,
	NSP_REFUSED_ID_RANGE,
	NSP_REFUSED_FULL,
	NSP_REFUSED_OTHER,
	NSP_REFUSED_KINDS
};

struct target_watch;
struct config_watch;

struct nsp {
	uv_loop_t *loop;
	struct nsp_registry *reg;
	struct nsp_store *store;
	uint64_t persisted; /* the last revision written to the store */

	struct nsp_trench *trenches;
	size_t n_trenches;
	uint64_t config_revision;
	uint32_t config_poll_ms;
	uv_timer_t config_timer; /* debounce and periodic re-read */

	uv_timer_t expiry;
	uv_check_t pump; /* after each loop turn's I/O: send watchers news */
	bool dirty;      /* the registry changed since the last pump */

	struct list_node twatches; /* struct target_watch */
	size_t n_twatches;
	struct list_node cwatches; /* struct config_watch */
	size_t n_cwatches;

	struct rpc_server *rpc;
	struct nsp_stats stats;
	int exit_code; /* set when the daemon must stop */
};

/* Milliseconds of the monotonic clock the registry's leases run on. */
uint64_t nsp_now_ms(struct nsp *n);

/* api_targets.c */
extern const struct rpc_method nsp_target_methods[];
extern const size_t nsp_n_target_methods;
/* Starts the expiry timer and the pump. Returns 0 or a negative errno. */
int nsp_targets_start(struct nsp *n);
/* Writes what changed to the store; on failure stops the daemon (exit 1).
 * Returns 0 or -EIO. */
int nsp_targets_persist(struct nsp *n);
/* Ends every target watch and closes the timer and the pump. */
void nsp_targets_stop(struct nsp *n);

/* api_config.c */
extern const struct rpc_method nsp_config_methods[];
extern const size_t nsp_n_config_methods;
/* The lookup the registry uses (struct nsp * as ctx): see
 * nsp_registry_config.lookup. */
int nsp_config_lookup(void *ctx, Nsp__TargetType type,
		      const Nsp__StreamRef *ref);
/* Tells config watchers that the configuration changed. */
void nsp_config_changed(struct nsp *n);

/* confwatch.c */
/* Loads every trench directory once and starts watching them. A missing
 * directory fails (-ENOENT, logged); an invalid one is logged and served
 * empty until fixed. */
int nsp_confwatch_start(struct nsp *n);
void nsp_confwatch_stop(struct nsp *n);
/* Re-reads every directory now; returns the number that changed. */
int nsp_confwatch_reload(struct nsp *n);

/* stats.c */
void nsp_stats_collect(struct buf *out, void *nsp);

#endif
