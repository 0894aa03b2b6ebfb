/* `nsp watch`: every registry event as it arrives.
 *
 * The watcher keeps a cursor, the store id and the last revision it has
 * printed completely, and sends it with every (re-)issued watch, so the
 * server sends exactly what came after: after a reconnect, and after a
 * restart with --resume. Inside a snapshot the cursor is 0, because a
 * snapshot cut short cannot be resumed, only sent again (with its reset).
 *
 * Output, one line per item (docs/straitctl.md):
 *	snapshot begin rev 12 store 8417...
 *	rev 3 ADDED trench-a/lb/stream-a id=1 enabled 198.18.1.5/24
 *	snapshot end rev 12 store 8417... (1 target)
 *	rev 13 REMOVED trench-a/lb/stream-a id=1 enabled 198.18.1.5/24
 * or with --json:
 *	{"snapshot":"begin","revision":12,"store_id":"8417..."}
 *	{"revision":3,"event":"ADDED","target":{...},"store_id":"8417..."}
 *	{"snapshot":"end","revision":12,"store_id":"8417..."}
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "json.h"
#include "log.h"
#include "nsp_target.h"
#include "print_target.h"
#include "resume.h"

#define WATCH_METHOD "nsp.TargetRegistry/Watch"
#define REWATCH_MS 1000 /* after the server ended a watch by itself */

struct watch {
	struct ctl_filter_msg filter;
	struct ctl_resume pos; /* the cursor */
	bool in_snapshot;
	uint64_t snap_events; /* events of the snapshot in progress */
	uint64_t events;      /* printed, for --count */
	bool open;	      /* a Watch call is open */
	uv_timer_t rewatch;
	bool rewatch_open;
};

static void on_rewatch(uv_timer_t *t);

static int marker(struct buf *out, bool json, const char *what,
		  uint64_t revision, uint64_t store_id, uint64_t n)
{
	if (!json) {
		int err = buf_printf(
		    out, "snapshot %s rev %" PRIu64 " store %" PRIu64, what,
		    revision, store_id);
		if (!err && strcmp(what, "end") == 0)
			err = buf_printf(out, " (%" PRIu64 " target%s)", n,
					 n == 1 ? "" : "s");
		return err ? err : buf_putc(out, '\n');
	}
	char id[24];
	snprintf(id, sizeof(id), "%" PRIu64, store_id);
	struct json j;
	json_init(&j, out, 0);
	json_object_begin(&j);
	json_key(&j, "snapshot");
	json_string(&j, what);
	json_key(&j, "revision");
	json_uint(&j, revision);
	json_key(&j, "store_id");
	json_string(&j, id);
	json_object_end(&j);
	int err = json_finish(&j);
	return err ? err : buf_putc(out, '\n');
}

static int event(struct buf *out, bool json, const Nsp__TargetEvent *ev,
		 uint64_t revision, uint64_t store_id)
{
	static const Nsp__Target none = NSP__TARGET__INIT;
	const Nsp__Target *t = ev->target ? ev->target : &none;
	if (!json) {
		int err = buf_printf(out, "rev %" PRIu64 " %s ", revision,
				     ctl_event_name(ev->kind));
		if (!err)
			err = ctl_target_line(out, t);
		return err ? err : buf_putc(out, '\n');
	}
	char id[24];
	snprintf(id, sizeof(id), "%" PRIu64, store_id);
	struct json j;
	json_init(&j, out, 0);
	json_object_begin(&j);
	json_key(&j, "revision");
	json_uint(&j, revision);
	json_key(&j, "event");
	json_string(&j, ctl_event_name(ev->kind));
	json_key(&j, "target");
	ctl_target_json(&j, t);
	json_key(&j, "store_id");
	json_string(&j, id);
	json_object_end(&j);
	int err = json_finish(&j);
	return err ? err : buf_putc(out, '\n');
}

/* Prints one message and moves the cursor. Sets *done when --count or
 * --until-synced is satisfied. */
static int handle(struct watch *w, const struct ctl_args *a,
		  const Nsp__TargetWatchResponse *m, struct buf *out,
		  bool *done)
{
	int err = 0;
	*done = false;
	if (m->reset) {
		w->in_snapshot = true;
		w->snap_events = 0;
		w->pos.revision = 0;
		err =
		    marker(out, a->json, "begin", m->revision, m->store_id, 0);
	}
	w->pos.store_id = m->store_id;

	size_t i;
	for (i = 0; i < m->n_events && !err && !*done; i++) {
		const Nsp__TargetEvent *ev = m->events[i];
		/* Snapshot items may carry the revision of their last change
		 * or none; the message's revision is the view's. */
		uint64_t rev = ev->revision ? ev->revision : m->revision;
		err = event(out, a->json, ev, rev, m->store_id);
		if (w->in_snapshot)
			w->snap_events++;
		else if (ev->revision)
			w->pos.revision = ev->revision;
		w->events++;
		if (a->count && w->events >= a->count)
			*done = true;
	}
	if (!err && i == m->n_events && m->synced) {
		if (w->in_snapshot) {
			err = marker(out, a->json, "end", m->revision,
				     m->store_id, w->snap_events);
			w->in_snapshot = false;
		}
		w->pos.revision = m->revision;
		if (a->until_synced)
			*done = true;
	}
	return err;
}

static void on_watch(void *data, const Rpc__Status *st,
		     const ProtobufCMessage *msg)
{
	struct ctl_session *s = data;
	struct watch *w = s->cmd_data;
	const struct ctl_args *a = s->args;
	if (ctl_session_finishing(s))
		return;
	if (!msg) {
		w->open = false;
		w->in_snapshot = false;
		if (ctl_session_conn_lost(s, st))
			return; /* on_up watches again */
		if (st->code != RPC__CODE__OK &&
		    st->code != RPC__CODE__UNAVAILABLE) {
			ctl_session_fail(s, CTL_EXIT_REFUSED,
					 "watch refused: %s: %s",
					 rpc_code_name(st->code), st->message);
			return;
		}
		log_warn("the server ended the watch (%s: %s); watching again "
			 "in %d ms",
			 rpc_code_name(st->code), st->message, REWATCH_MS);
		uv_timer_start(&w->rewatch, on_rewatch, REWATCH_MS, 0);
		return;
	}
	struct buf out = {0};
	bool done;
	int err =
	    handle(w, a, (const Nsp__TargetWatchResponse *)msg, &out, &done);
	if (err) {
		ctl_session_fail(s, CTL_EXIT_REFUSED, "formatting an event: %s",
				 strerror(-err));
		goto out;
	}
	/* Recorded around the printing (resume.h): a kill between the two
	 * repeats this message's events on restart rather than losing them,
	 * and the window for it is two consecutive system calls. */
	if (a->resume) {
		err = ctl_resume_prepare(a->resume, &w->pos);
		if (err)
			goto resume_failed;
	}
	if (ctl_session_emit(s, &out) < 0)
		goto out;
	if (a->resume) {
		err = ctl_resume_commit(a->resume);
		if (err)
			goto resume_failed;
	}
	if (done)
		ctl_session_finish(s, CTL_EXIT_OK);
	goto out;
resume_failed:
	ctl_session_fail(s, CTL_EXIT_REFUSED, "--resume '%s': cannot write: %s",
			 a->resume, strerror(-err));
out:
	buf_free(&out);
}

static void issue(struct ctl_session *s)
{
	struct watch *w = s->cmd_data;
	if (w->open || !s->up)
		return;
	Nsp__TargetWatchRequest req = NSP__TARGET_WATCH_REQUEST__INIT;
	req.filter = &w->filter.filter;
	req.from_revision = w->pos.revision;
	req.store_id = w->pos.store_id;
	int err =
	    ctl_session_call(s, "watch", WATCH_METHOD, &req.base,
			     &nsp__target_watch_response__descriptor, on_watch);
	if (err)
		return;
	log_debug("watching from revision %" PRIu64 " of store %" PRIu64,
		  w->pos.revision, w->pos.store_id);
	w->open = true;
	/* A resumed watch hears nothing until something changes, so the
	 * deadline covers reaching the server, not the first event. */
	ctl_session_answered(s);
}

static void on_rewatch(uv_timer_t *t)
{
	issue(t->data);
}

static void watch_init(struct ctl_session *s)
{
	const struct ctl_args *a = s->args;
	struct watch *w = calloc(1, sizeof(*w));
	if (!w) {
		ctl_session_fail(s, CTL_EXIT_REFUSED, "out of memory");
		return;
	}
	s->cmd_data = w;
	ctl_filter_msg_build(&w->filter, a);
	uv_timer_init(s->loop, &w->rewatch);
	w->rewatch.data = s;
	w->rewatch_open = true;
	if (!a->resume)
		return;
	int err = ctl_resume_load(a->resume, &w->pos);
	if (err == -ENOENT) {
		/* Writing the empty position now finds an unwritable FILE
		 * before anything is printed, not after the snapshot. */
		err = ctl_resume_save(a->resume, &w->pos);
		if (err)
			ctl_session_fail(s, CTL_EXIT_USAGE,
					 "--resume '%s': cannot write: %s",
					 a->resume, strerror(-err));
		return;
	}
	if (err == -EINVAL)
		ctl_session_fail(
		    s, CTL_EXIT_USAGE,
		    "--resume '%s' does not hold one line 'STORE_ID REVISION'",
		    a->resume);
	else if (err)
		ctl_session_fail(s, CTL_EXIT_USAGE, "--resume '%s': %s",
				 a->resume, strerror(-err));
	else
		log_info("resuming after revision %" PRIu64
			 " of store %" PRIu64,
			 w->pos.revision, w->pos.store_id);
}

static void watch_on_up(struct ctl_session *s)
{
	issue(s);
}

static void watch_on_down(struct ctl_session *s)
{
	struct watch *w = s->cmd_data;
	if (s->answered)
		log_warn("connection to %s lost: %s; watching again after "
			 "revision %" PRIu64 " once it is back",
			 s->addr, rpc_client_error(s->client), w->pos.revision);
}

static void watch_on_signal(struct ctl_session *s, int signo)
{
	(void)signo;
	ctl_session_finish(s, CTL_EXIT_OK); /* the way to stop a watch */
}

static void watch_close(struct ctl_session *s)
{
	struct watch *w = s->cmd_data;
	if (w && w->rewatch_open) {
		uv_close((uv_handle_t *)&w->rewatch, NULL);
		w->rewatch_open = false;
	}
}

static void watch_fini(struct ctl_session *s)
{
	free(s->cmd_data);
}

const struct ctl_command ctl_nsp_watch = {
    .init = watch_init,
    .on_up = watch_on_up,
    .on_down = watch_on_down,
    .on_signal = watch_on_signal,
    .close = watch_close,
    .fini = watch_fini,
};
