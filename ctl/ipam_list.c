/* `ipam list` and `ipam tree`: one question each to strait-ipam, answered
 * as a table (list), an indented tree (tree) or JSON. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "json.h"
#include "print_ipam.h"
#include "table.h"

#define LIST_METHOD "ipam.Ipam/List"
#define TREE_METHOD "ipam.Ipam/Tree"

struct query {
	bool sent;
};

typedef int format_fn(struct buf *out, const struct ctl_args *a,
		      const ProtobufCMessage *msg);

static int format_list(struct buf *out, const struct ctl_args *a,
		       const ProtobufCMessage *msg)
{
	const Ipam__ListResponse *resp = (const Ipam__ListResponse *)msg;
	if (a->json) {
		struct json j;
		json_init(&j, out, JSON_PRETTY);
		int err = ctl_allocations_json(&j, resp);
		if (!err)
			err = json_finish(&j);
		return err ? err : buf_putc(out, '\n');
	}
	int err = ctl_allocations_table(out, resp);
	if (!err)
		err = buf_printf(out, "%zu allocation%s\n", resp->n_allocations,
				 resp->n_allocations == 1 ? "" : "s");
	return err;
}

static int format_tree(struct buf *out, const struct ctl_args *a,
		       const ProtobufCMessage *msg)
{
	const Ipam__TreeResponse *resp = (const Ipam__TreeResponse *)msg;
	if (a->json) {
		struct json j;
		json_init(&j, out, JSON_PRETTY);
		int err = ctl_tree_json(&j, resp);
		if (!err)
			err = json_finish(&j);
		return err ? err : buf_putc(out, '\n');
	}
	if (resp->n_trenches)
		return ctl_tree_text(out, resp);
	if (!a->trench)
		return buf_puts(out, "no address tree yet\n");
	int err = buf_puts(out, "no address tree for trench ");
	if (!err)
		err = ctl_put_text(out, a->trench);
	return err ? err : buf_putc(out, '\n');
}

static void answer(struct ctl_session *s, const char *what, format_fn *format,
		   const Rpc__Status *st, const ProtobufCMessage *msg)
{
	if (ctl_session_finishing(s))
		return;
	if (!msg) {
		ctl_session_call_failed(s, what, st);
		return;
	}
	struct buf out = {0};
	int err = format(&out, s->args, msg);
	if (ctl_session_output(s, err, &out) == 0)
		ctl_session_finish(s, CTL_EXIT_OK);
}

static void on_list(void *data, const Rpc__Status *st,
		    const ProtobufCMessage *msg)
{
	answer(data, "list", format_list, st, msg);
}

static void on_tree(void *data, const Rpc__Status *st,
		    const ProtobufCMessage *msg)
{
	answer(data, "tree", format_tree, st, msg);
}

static void query_init(struct ctl_session *s)
{
	struct query *q = calloc(1, sizeof(*q));
	if (!q) {
		ctl_session_fail(s, CTL_EXIT_REFUSED, "out of memory");
		return;
	}
	s->cmd_data = q;
}

static void list_on_up(struct ctl_session *s)
{
	const struct ctl_args *a = s->args;
	struct query *q = s->cmd_data;
	if (q->sent)
		return;
	Ipam__ListRequest req = IPAM__LIST_REQUEST__INIT;
	if (a->trench)
		req.trench = (char *)a->trench;
	if (a->conduit)
		req.conduit = (char *)a->conduit;
	if (a->node)
		req.node = (char *)a->node;
	req.family = (Ipam__Family)a->family; /* ANY is FAMILY_UNSPECIFIED */
	/* Sent once; after that the deadline is in charge. */
	q->sent = ctl_session_call(s, "list", LIST_METHOD, &req.base,
				   &ipam__list_response__descriptor,
				   on_list) == 0;
}

static void tree_on_up(struct ctl_session *s)
{
	const struct ctl_args *a = s->args;
	struct query *q = s->cmd_data;
	if (q->sent)
		return;
	Ipam__TreeRequest req = IPAM__TREE_REQUEST__INIT;
	if (a->trench)
		req.trench = (char *)a->trench;
	q->sent = ctl_session_call(s, "tree", TREE_METHOD, &req.base,
				   &ipam__tree_response__descriptor,
				   on_tree) == 0;
}

static void query_fini(struct ctl_session *s)
{
	free(s->cmd_data);
}

const struct ctl_command ctl_ipam_list = {
    .init = query_init,
    .on_up = list_on_up,
    .fini = query_fini,
};

const struct ctl_command ctl_ipam_tree = {
    .init = query_init,
    .on_up = tree_on_up,
    .fini = query_fini,
};
