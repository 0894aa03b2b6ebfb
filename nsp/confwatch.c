/* Reloading the trench configuration directories.
 *
 * Two triggers, one reload: inotify on each directory (through uv_fs_event)
 * sees edits in place and Kubernetes' swap of the "..data" symlink; a
 * periodic re-read catches what inotify cannot see (a directory replaced
 * as a whole, a watch lost to an overflow). Events are debounced, because
 * one swap or one editor save makes several of them. A reload that fails
 * validation leaves the trench's configuration as it was. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "nsp.h"

#define DEBOUNCE_MS 50

static void summary(const struct nsp_config *c, char *buf, size_t len)
{
	snprintf(buf, len,
		 "%zu conduit(s), %zu stream(s), %zu flow(s), %zu vip(s), "
		 "%zu attractor(s), %zu gateway(s), %zu service(s)",
		 c->n_conduits, c->n_streams, c->n_flows, c->n_vips,
		 c->n_attractors, c->n_gateways, c->n_services);
}

/* Another directory already serves this trench name. */
static bool name_taken(struct nsp *n, const struct nsp_trench *self,
		       const char *name)
{
	for (size_t i = 0; i < n->n_trenches; i++) {
		const struct nsp_trench *t = &n->trenches[i];
		if (t != self && t->config &&
		    strcmp(t->config->trench->name, name) == 0)
			return true;
	}
	return false;
}

/* Returns 1 when the trench's configuration changed, 0 when not, or the
 * negative errno of a load that failed. */
static int reload_one(struct nsp *n, struct nsp_trench *t)
{
	struct nsp_config *cfg = NULL;
	char err[NSP_CONFIG_ERRLEN];
	int rc = nsp_config_load_dir(t->dir, &cfg, err, sizeof(err));
	if (rc == 0 && name_taken(n, t, cfg->trench->name)) {
		snprintf(err, sizeof(err),
			 "trench '%s' is already served from another directory",
			 cfg->trench->name);
		nsp_config_free(cfg);
		rc = -EINVAL;
	}
	if (rc < 0) {
		/* The periodic re-read sees the same broken files again and
		 * again: say it once per distinct error. */
		if (strcmp(err, t->last_error) != 0) {
			n->stats.config_rejected++;
			log_error("config: %s: update refused, %s stays in force: %s",
				  t->dir,
				  t->config ? "the previous configuration"
					    : "an empty configuration",
				  err);
			snprintf(t->last_error, sizeof(t->last_error), "%s",
				 err);
		}
		return rc;
	}
	if (t->last_error[0]) {
		log_info("config: %s: valid again", t->dir);
		t->last_error[0] = '\0';
	}
	if (nsp_config_equal(t->config, cfg)) {
		nsp_config_free(cfg);
		return 0;
	}
	char what[256];
	summary(cfg, what, sizeof(what));
	log_info("config: %s: trench %s loaded: %s", t->dir, cfg->trench->name,
		 what);
	nsp_config_free(t->config);
	t->config = cfg;
	return 1;
}

int nsp_confwatch_reload(struct nsp *n)
{
	int changed = 0;
	for (size_t i = 0; i < n->n_trenches; i++)
		if (reload_one(n, &n->trenches[i]) == 1)
			changed++;
	if (changed) {
		n->stats.config_reloads += (uint64_t)changed;
		n->config_revision++;
		nsp_config_changed(n);
	}
	return changed;
}

static void on_timer(uv_timer_t *h)
{
	nsp_confwatch_reload(h->data);
}

static void on_fs_event(uv_fs_event_t *h, const char *file, int events,
			int status)
{
	struct nsp_trench *t = h->data;
	(void)events;
	if (status < 0) {
		log_warn("config: %s: watch failed (%s); relying on the "
			 "periodic re-read",
			 t->dir, uv_strerror(status));
		return;
	}
	log_debug("config: %s: change seen (%s)", t->dir, file ? file : "?");
	/* Restarting the timer both debounces and moves the next periodic
	 * re-read a full period away from this reload. */
	uv_timer_start(&t->nsp->config_timer, on_timer, DEBOUNCE_MS,
		       t->nsp->config_poll_ms);
}

int nsp_confwatch_start(struct nsp *n)
{
	list_init(&n->cwatches);
	uv_timer_init(n->loop, &n->config_timer);
	n->config_timer.data = n;
	for (size_t i = 0; i < n->n_trenches; i++) {
		struct nsp_trench *t = &n->trenches[i];
		t->nsp = n;
		int rc = reload_one(n, t);
		if (rc == -ENOENT || rc == -ENOTDIR || rc == -EACCES) {
			log_error("config: %s: cannot read the directory (%s)",
				  t->dir, strerror(-rc));
			return rc;
		}
		uv_fs_event_init(n->loop, &t->watch);
		t->watch.data = t;
		int err = uv_fs_event_start(&t->watch, on_fs_event, t->dir, 0);
		if (err)
			log_warn("config: %s: cannot watch (%s); relying on the "
				 "periodic re-read",
				 t->dir, uv_strerror(err));
		t->watching = true;
	}
	/* The start-up time in ms, so revisions keep growing across
	 * restarts (docs/nsp.md). Set after the first load, which counts as
	 * revision zero of this run. */
	n->config_revision = (uint64_t)time(NULL) * 1000;
	if (n->config_poll_ms)
		uv_timer_start(&n->config_timer, on_timer, n->config_poll_ms,
			       n->config_poll_ms);
	return 0;
}

void nsp_confwatch_stop(struct nsp *n)
{
	for (size_t i = 0; i < n->n_trenches; i++) {
		struct nsp_trench *t = &n->trenches[i];
		if (t->watching)
			uv_close((uv_handle_t *)&t->watch, NULL);
		t->watching = false;
	}
	uv_close((uv_handle_t *)&n->config_timer, NULL);
}
