/* `nsp config`: the trench configuration, once (Get) or as it changes
 * (--watch: Watch<Kind>, or WatchAll without --kind).
 *
 * A watch re-issued after a reconnect carries the last revision printed,
 * so the same server run answers only when the configuration has changed
 * since (docs/nsp.md, Configuration watches). A restarted server counts
 * from a new base and cannot know what that revision held, so it answers
 * at once, possibly with the same lists: printed again, with the new
 * revision. Comparing the lists here to hide that would also hide the
 * revision change, which a consumer may be keyed on.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "json.h"
#include "log.h"
#include "print_config.h"

#define GET_METHOD "nsp.Configuration/Get"
#define REWATCH_MS 1000

struct config {
	Nsp__ConfigRequest req;
	bool sent; /* Get */
	bool open; /* a watch call is open */
	uint64_t answers;
	uv_timer_t rewatch;
	bool rewatch_open;
};

static void on_rewatch(uv_timer_t *t);

static const char *watch_method(enum ctl_kind kind)
{
	switch (kind) {
	case CTL_KIND_ALL:
		return "nsp.Configuration/WatchAll";
	case CTL_KIND_TRENCH:
		return "nsp.Configuration/WatchTrench";
	case CTL_KIND_CONDUIT:
		return "nsp.Configuration/WatchConduit";
	case CTL_KIND_STREAM:
		return "nsp.Configuration/WatchStream";
	case CTL_KIND_FLOW:
		return "nsp.Configuration/WatchFlow";
	case CTL_KIND_VIP:
		return "nsp.Configuration/WatchVip";
	case CTL_KIND_ATTRACTOR:
		return "nsp.Configuration/WatchAttractor";
	case CTL_KIND_GATEWAY:
		return "nsp.Configuration/WatchGateway";
	case CTL_KIND_SERVICE:
		return "nsp.Configuration/WatchService";
	}
	return "nsp.Configuration/WatchAll";
}

static int format(struct buf *out, const struct ctl_args *a,
		  const Nsp__ConfigResponse *resp, bool first)
{
	if (a->json) {
		struct json j;
		json_init(&j, out, a->watch ? 0 : JSON_PRETTY);
		int err = ctl_config_json(&j, resp, a->kind);
		if (!err)
			err = json_finish(&j);
		return err ? err : buf_putc(out, '\n');
	}
	int err = first ? 0 : buf_putc(out, '\n');
	return err ? err : ctl_config_text(out, resp, a->kind);
}

static void on_answer(void *data, const Rpc__Status *st,
		      const ProtobufCMessage *msg)
{
	struct ctl_session *s = data;
	struct config *c = s->cmd_data;
	const struct ctl_args *a = s->args;
	if (ctl_session_finishing(s))
		return;
	if (!msg && !a->watch) {
		ctl_session_call_failed(s, "config", st);
		return;
	}
	if (!msg) {
		c->open = false;
		if (ctl_session_conn_lost(s, st))
			return; /* on_up watches again */
		if (st->code != RPC__CODE__OK &&
		    st->code != RPC__CODE__UNAVAILABLE) {
			ctl_session_fail(s, CTL_EXIT_REFUSED,
					 "config watch refused: %s: %s",
					 rpc_code_name(st->code), st->message);
			return;
		}
		log_warn("the server ended the config watch (%s: %s); watching "
			 "again in %d ms",
			 rpc_code_name(st->code), st->message, REWATCH_MS);
		uv_timer_start(&c->rewatch, on_rewatch, REWATCH_MS, 0);
		return;
	}
	const Nsp__ConfigResponse *resp = (const Nsp__ConfigResponse *)msg;
	c->req.from_revision = resp->revision;
	struct buf out = {0};
	int err = format(&out, a, resp, c->answers == 0);
	c->answers++;
	if (ctl_session_output(s, err, &out) == 0 &&
	    (!a->watch || (a->count && c->answers >= a->count)))
		ctl_session_finish(s, CTL_EXIT_OK);
}

static void issue(struct ctl_session *s)
{
	struct config *c = s->cmd_data;
	const struct ctl_args *a = s->args;
	if (c->open || c->sent || !s->up)
		return;
	const char *method = a->watch ? watch_method(a->kind) : GET_METHOD;
	int err =
	    ctl_session_call(s, "config", method, &c->req.base,
			     &nsp__config_response__descriptor, on_answer);
	if (err)
		return;
	log_debug("%s from revision %" PRIu64, method, c->req.from_revision);
	if (a->watch) {
		c->open = true;
		/* After a reconnect the server stays silent until the
		 * configuration changes: only reaching it is timed. */
		ctl_session_answered(s);
	} else {
		c->sent = true;
	}
}

static void on_rewatch(uv_timer_t *t)
{
	issue(t->data);
}

static void config_init(struct ctl_session *s)
{
	const struct ctl_args *a = s->args;
	struct config *c = calloc(1, sizeof(*c));
	if (!c) {
		ctl_session_fail(s, CTL_EXIT_REFUSED, "out of memory");
		return;
	}
	s->cmd_data = c;
	nsp__config_request__init(&c->req);
	if (a->trench)
		c->req.trench = (char *)a->trench;
	if (a->conduit)
		c->req.conduit = (char *)a->conduit;
	if (a->stream)
		c->req.stream = (char *)a->stream;
	uv_timer_init(s->loop, &c->rewatch);
	c->rewatch.data = s;
	c->rewatch_open = true;
}

static void config_on_up(struct ctl_session *s)
{
	issue(s);
}

static void config_on_down(struct ctl_session *s)
{
	if (s->args->watch && s->answered)
		log_warn(
		    "connection to %s lost: %s; watching again once it is back",
		    s->addr, rpc_client_error(s->client));
}

static void config_on_signal(struct ctl_session *s, int signo)
{
	ctl_session_finish(s, s->args->watch ? CTL_EXIT_OK : 128 + signo);
}

static void config_close(struct ctl_session *s)
{
	struct config *c = s->cmd_data;
	if (c && c->rewatch_open) {
		uv_close((uv_handle_t *)&c->rewatch, NULL);
		c->rewatch_open = false;
	}
}

static void config_fini(struct ctl_session *s)
{
	free(s->cmd_data);
}

const struct ctl_command ctl_nsp_config = {
    .init = config_init,
    .on_up = config_on_up,
    .on_down = config_on_down,
    .on_signal = config_on_signal,
    .close = config_close,
    .fini = config_fini,
};
