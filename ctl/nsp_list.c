/* `nsp list`: the filtered targets now, as a table or as
 * {"revision":N,"targets":[...]}. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "json.h"
#include "nsp_target.h"
#include "print_target.h"

#define LIST_METHOD "nsp.TargetRegistry/List"

struct list {
	struct ctl_filter_msg filter;
	bool sent;
};

static int format(struct buf *out, bool json,
		  const Nsp__TargetListResponse *resp)
{
	if (json) {
		struct json j;
		json_init(&j, out, JSON_PRETTY);
		json_object_begin(&j);
		json_key(&j, "revision");
		json_uint(&j, resp->revision);
		json_key(&j, "targets");
		json_array_begin(&j);
		for (size_t i = 0; i < resp->n_targets; i++)
			ctl_target_json(&j, resp->targets[i]);
		json_array_end(&j);
		json_object_end(&j);
		int err = json_finish(&j);
		return err ? err : buf_putc(out, '\n');
	}
	int err = 0;
	if (resp->n_targets)
		err = ctl_target_table(out, resp->targets, resp->n_targets);
	if (!err)
		err = buf_printf(out, "revision %" PRIu64 ", %zu target%s\n",
				 resp->revision, resp->n_targets,
				 resp->n_targets == 1 ? "" : "s");
	return err;
}

static void on_list(void *data, const Rpc__Status *st,
		    const ProtobufCMessage *msg)
{
	struct ctl_session *s = data;
	if (ctl_session_finishing(s))
		return;
	if (!msg) {
		ctl_session_call_failed(s, "list", st);
		return;
	}
	struct buf out = {0};
	int err =
	    format(&out, s->args->json, (const Nsp__TargetListResponse *)msg);
	if (ctl_session_output(s, err, &out) == 0)
		ctl_session_finish(s, CTL_EXIT_OK);
}

static void list_init(struct ctl_session *s)
{
	struct list *l = calloc(1, sizeof(*l));
	if (!l) {
		ctl_session_fail(s, CTL_EXIT_REFUSED, "out of memory");
		return;
	}
	s->cmd_data = l;
	ctl_filter_msg_build(&l->filter, s->args);
}

static void list_on_up(struct ctl_session *s)
{
	struct list *l = s->cmd_data;
	if (l->sent)
		return;
	Nsp__TargetListRequest req = NSP__TARGET_LIST_REQUEST__INIT;
	req.filter = &l->filter.filter;
	int err =
	    ctl_session_call(s, "list", LIST_METHOD, &req.base,
			     &nsp__target_list_response__descriptor, on_list);
	l->sent = err == 0;
}

static void list_fini(struct ctl_session *s)
{
	free(s->cmd_data);
}

const struct ctl_command ctl_nsp_list = {
    .init = list_init,
    .on_up = list_on_up,
    .fini = list_fini,
};
