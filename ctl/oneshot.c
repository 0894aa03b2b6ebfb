#include "oneshot.h"

#include <stdalign.h>

/* s->cmd_data is the command's struct ctl_oneshot once the request is
 * sent, NULL before. */

static void on_reply(void *data, const Rpc__Status *st,
		     const ProtobufCMessage *msg)
{
	struct ctl_session *s = data;
	const struct ctl_oneshot *o = s->cmd_data;
	if (ctl_session_finishing(s))
		return;
	if (!msg) {
		ctl_session_call_failed(s, o->what, st);
		return;
	}
	struct buf out = {0};
	int err = o->render(&out, msg, s->args);
	if (ctl_session_output(s, err, &out) == 0)
		ctl_session_finish(s, CTL_EXIT_OK);
}

void ctl_oneshot_init(struct ctl_session *s)
{
	s->cmd_data = NULL;
}

void ctl_oneshot_on_up(struct ctl_session *s, const struct ctl_oneshot *o)
{
	if (s->cmd_data)
		return;
	alignas(max_align_t) unsigned char req[sizeof(ProtobufCMessage)];
	if (o->request->sizeof_message > sizeof(req)) {
		ctl_session_fail(s, CTL_EXIT_REFUSED,
				 "%s: the request is not an empty message",
				 o->what);
		return;
	}
	protobuf_c_message_init(o->request, req);
	if (ctl_session_call(s, o->what, o->method, (ProtobufCMessage *)req,
			     o->reply, on_reply) == 0)
		s->cmd_data = (void *)o;
}
