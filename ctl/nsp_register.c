/* `nsp register` (one-shot, or --keep: a minimal target agent) and
 * `nsp unregister`.
 *
 * With --keep the registration is refreshed every --refresh seconds and
 * sent again whenever the connection comes back, since the server may have
 * restarted or let the lease lapse meanwhile; a refresh that changes
 * nothing costs the server nothing (docs/nsp.md, Leases). SIGINT or
 * SIGTERM unregisters, within --timeout, and exits 0.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "json.h"
#include "log.h"
#include "nsp_target.h"
#include "print_target.h"

#define REGISTER_METHOD "nsp.TargetRegistry/Register"
#define UNREGISTER_METHOD "nsp.TargetRegistry/Unregister"

struct reg {
	struct ctl_target_msg full; /* Register: key and attributes */
	struct ctl_target_msg key;  /* Unregister: the key only */
	bool unregister_only;	    /* `nsp unregister` */
	uv_timer_t refresh;	    /* --keep */
	bool refresh_open;
	bool sent;	 /* a Register went out (it may have taken effect) */
	bool registered; /* the first Register was answered */
	bool inflight;	 /* a Register is open */
	bool stopping;	 /* --keep was told to stop: unregistering */
	bool unreg_inflight; /* an Unregister is open */
};

static void on_unregister(void *data, const Rpc__Status *st,
			  const ProtobufCMessage *msg);
static void on_refresh(uv_timer_t *t);

/* Appends the answer of Register: pretty JSON or the text block when
 * one-shot, one line (compact JSON or text) with --keep. */
static int format_register(struct buf *out, const struct ctl_args *a,
			   const Nsp__RegisterResponse *resp, bool first)
{
	static const Nsp__Target none = NSP__TARGET__INIT;
	const Nsp__Target *t = resp->target ? resp->target : &none;
	if (a->json) {
		struct json j;
		json_init(&j, out, a->keep ? 0 : JSON_PRETTY);
		json_object_begin(&j);
		json_key(&j, "target");
		ctl_target_json(&j, t);
		json_key(&j, "revision");
		json_uint(&j, resp->revision);
		json_key(&j, "changed");
		json_bool(&j, resp->changed);
		json_object_end(&j);
		int err = json_finish(&j);
		return err ? err : buf_putc(out, '\n');
	}
	if (a->keep && !first) {
		int err = buf_printf(out, "registered again rev %" PRIu64 " ",
				     resp->revision);
		if (!err)
			err = ctl_target_line(out, t);
		return err ? err : buf_putc(out, '\n');
	}
	int err = ctl_target_block(out, t);
	if (!err)
		err =
		    buf_printf(out, "revision:   %" PRIu64 "\nchanged:    %s\n",
			       resp->revision, resp->changed ? "yes" : "no");
	return err;
}

static int format_unregister(struct buf *out, const struct ctl_args *a,
			     const Nsp__UnregisterResponse *resp)
{
	if (a->json) {
		struct json j;
		json_init(&j, out, a->keep ? 0 : JSON_PRETTY);
		json_object_begin(&j);
		json_key(&j, "revision");
		json_uint(&j, resp->revision);
		json_key(&j, "existed");
		json_bool(&j, resp->existed);
		json_object_end(&j);
		int err = json_finish(&j);
		return err ? err : buf_putc(out, '\n');
	}
	if (a->keep)
		return buf_printf(out,
				  "unregistered rev %" PRIu64 " existed %s\n",
				  resp->revision, resp->existed ? "yes" : "no");
	return buf_printf(out, "existed:    %s\nrevision:   %" PRIu64 "\n",
			  resp->existed ? "yes" : "no", resp->revision);
}

/* Prints out, then finishes with code if finish is set. */
static void emit(struct ctl_session *s, struct buf *out, int err, bool finish,
		 int code)
{
	if (ctl_session_output(s, err, out) == 0 && finish)
		ctl_session_finish(s, code);
}

static void on_register(void *data, const Rpc__Status *st,
			const ProtobufCMessage *msg)
{
	struct ctl_session *s = data;
	struct reg *r = s->cmd_data;
	const struct ctl_args *a = s->args;
	if (ctl_session_finishing(s))
		return;
	r->inflight = false;
	if (r->stopping)
		return; /* sent before the signal; the Unregister follows it */
	if (!msg) {
		if (!a->keep)
			ctl_session_call_failed(s, "register", st);
		else if (ctl_session_conn_lost(s, st))
			; /* on_up registers again */
		else if (!r->registered)
			ctl_session_fail(s, CTL_EXIT_REFUSED,
					 "register refused: %s: %s",
					 rpc_code_name(st->code), st->message);
		else
			log_error(
			    "refresh refused: %s: %s (trying again in %g s)",
			    rpc_code_name(st->code), st->message,
			    (double)a->refresh_ms / 1000.0);
		return;
	}
	const Nsp__RegisterResponse *resp = (const Nsp__RegisterResponse *)msg;
	bool first = !r->registered;
	r->registered = true;
	if (first && a->keep) {
		ctl_session_answered(s);
		uv_timer_start(&r->refresh, on_refresh, a->refresh_ms,
			       a->refresh_ms);
	}
	if (!first && !resp->changed) {
		log_debug("refreshed, revision %" PRIu64 "", resp->revision);
		return;
	}
	struct buf out = {0};
	int err = format_register(&out, a, resp, first);
	emit(s, &out, err, !a->keep, CTL_EXIT_OK);
}

static void send_register(struct ctl_session *s)
{
	struct reg *r = s->cmd_data;
	if (r->inflight || r->stopping || !s->up)
		return;
	Nsp__RegisterRequest req = NSP__REGISTER_REQUEST__INIT;
	req.target = &r->full.target;
	int err =
	    ctl_session_call(s, "register", REGISTER_METHOD, &req.base,
			     &nsp__register_response__descriptor, on_register);
	if (err)
		return;
	r->inflight = true;
	r->sent = true;
}

static void send_unregister(struct ctl_session *s)
{
	struct reg *r = s->cmd_data;
	if (r->unreg_inflight || !s->up)
		return;
	Nsp__UnregisterRequest req = NSP__UNREGISTER_REQUEST__INIT;
	req.target = &r->key.target;
	int err = ctl_session_call(
	    s, "unregister", UNREGISTER_METHOD, &req.base,
	    &nsp__unregister_response__descriptor, on_unregister);
	if (err)
		return;
	r->unreg_inflight = true;
}

static void on_unregister(void *data, const Rpc__Status *st,
			  const ProtobufCMessage *msg)
{
	struct ctl_session *s = data;
	struct reg *r = s->cmd_data;
	if (ctl_session_finishing(s))
		return;
	r->unreg_inflight = false;
	if (!msg) {
		if (!s->args->keep)
			ctl_session_call_failed(s, "unregister", st);
		else if (!ctl_session_conn_lost(s, st))
			ctl_session_fail(s, CTL_EXIT_REFUSED,
					 "unregister refused: %s: %s",
					 rpc_code_name(st->code), st->message);
		/* else: on_up sends it again, within the deadline */
		return;
	}
	struct buf out = {0};
	int err = format_unregister(&out, s->args,
				    (const Nsp__UnregisterResponse *)msg);
	emit(s, &out, err, true, CTL_EXIT_OK);
}

static void on_refresh(uv_timer_t *t)
{
	send_register(t->data);
}

static void reg_init(struct ctl_session *s, bool unregister_only)
{
	struct reg *r = calloc(1, sizeof(*r));
	if (!r) {
		ctl_session_fail(s, CTL_EXIT_REFUSED, "out of memory");
		return;
	}
	s->cmd_data = r;
	r->unregister_only = unregister_only;
	ctl_target_msg_build(&r->full, s->args, true);
	ctl_target_msg_build(&r->key, s->args, false);
	if (s->args->keep) {
		uv_timer_init(s->loop, &r->refresh);
		r->refresh.data = s;
		r->refresh_open = true; /* started by the first answer */
	}
}

static void register_init(struct ctl_session *s)
{
	reg_init(s, false);
}

static void unregister_init(struct ctl_session *s)
{
	reg_init(s, true);
}

static void reg_on_up(struct ctl_session *s)
{
	struct reg *r = s->cmd_data;
	if (r->unregister_only || r->stopping)
		send_unregister(s);
	else if (!r->sent || s->args->keep)
		send_register(s);
}

static void reg_on_down(struct ctl_session *s)
{
	struct reg *r = s->cmd_data;
	if (s->args->keep && r->registered)
		log_warn("connection to %s lost: %s; registering again once it "
			 "is back",
			 s->addr, rpc_client_error(s->client));
}

static void reg_on_signal(struct ctl_session *s, int signo)
{
	struct reg *r = s->cmd_data;
	if (!s->args->keep || r->unregister_only) {
		ctl_session_finish(s, 128 + signo);
		return;
	}
	if (r->stopping) {
		ctl_session_fail(s, 128 + signo,
				 "interrupted again; not waiting for the "
				 "unregister (the lease expires)");
		return;
	}
	r->stopping = true;
	uv_timer_stop(&r->refresh);
	if (!r->sent) {
		ctl_session_finish(s, CTL_EXIT_OK); /* nothing to undo */
		return;
	}
	log_info("unregistering");
	ctl_session_rearm(s);
	send_unregister(s);
}

static void reg_close(struct ctl_session *s)
{
	struct reg *r = s->cmd_data;
	if (r && r->refresh_open) {
		uv_close((uv_handle_t *)&r->refresh, NULL);
		r->refresh_open = false;
	}
}

static void reg_fini(struct ctl_session *s)
{
	free(s->cmd_data);
}

const struct ctl_command ctl_nsp_register = {
    .init = register_init,
    .on_up = reg_on_up,
    .on_down = reg_on_down,
    .on_signal = reg_on_signal,
    .close = reg_close,
    .fini = reg_fini,
};

const struct ctl_command ctl_nsp_unregister = {
    .init = unregister_init,
    .on_up = reg_on_up,
    .on_signal = reg_on_signal,
    .close = reg_close,
    .fini = reg_fini,
};
