/* `ipam allocate` and `ipam release`: one call per family asked.
 *
 * strait-ipam takes one family per call (docs/ipam.md, Dual stack), so
 * --family dual sends two, IPv4 and IPv6, at once on the same connection,
 * and waits for both. The answers are printed together, IPv4 first,
 * whatever order they came in. A family that failed is left out of the
 * output and its refusal follows on stderr: with one family allocated and
 * the other refused, the address that was allocated is still printed (it
 * is held: release it, or allocate again once the cause is fixed), and
 * the exit code is that of the failure (the higher of two).
 *
 * If the run ends before both answers (--timeout, a signal), what has
 * come is printed all the same, after the message that ends the run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "json.h"
#include "log.h"
#include "pbcopy.h"
#include "print_ipam.h"

#define ALLOCATE_METHOD "ipam.Ipam/Allocate"
#define RELEASE_METHOD "ipam.Ipam/Release"

/* One family's call. */
struct family_call {
	struct ctl_session *s;
	Ipam__Family family;
	bool asked;
	bool sent;
	bool done;
	ProtobufCMessage *resp; /* a copy of the answer, or NULL */
	int code;		/* the failure's exit code, 0 if answered */
	char error[512];	/* the failure, for stderr */
};

struct child_cmd {
	bool release;
	bool printed;
	struct family_call calls[2]; /* IPv4, IPv6 */
};

static const char *what(const struct child_cmd *c)
{
	return c->release ? "release" : "allocate";
}

/* Appends the answers that came, as one table or JSON object. */
static int format(struct buf *out, const struct child_cmd *c, bool json)
{
	const Ipam__AllocateResponse *alloc[2] = {NULL, NULL};
	const Ipam__ReleaseResponse *rel[2] = {NULL, NULL};
	for (size_t f = 0; f < 2; f++) {
		const ProtobufCMessage *m = c->calls[f].resp;
		if (c->release)
			rel[f] = (const Ipam__ReleaseResponse *)m;
		else
			alloc[f] = (const Ipam__AllocateResponse *)m;
	}
	if (!json)
		return c->release ? ctl_release_table(out, rel)
				  : ctl_allocate_table(out, alloc);
	struct json j;
	json_init(&j, out, JSON_PRETTY);
	int err = c->release ? ctl_release_json(&j, rel)
			     : ctl_allocate_json(&j, alloc);
	if (!err)
		err = json_finish(&j);
	return err ? err : buf_putc(out, '\n');
}

/* Prints the answers that came, once; nothing if none did. Returns 0 or
 * a negative errno, having finished the run then. */
static int print_answers(struct ctl_session *s, struct child_cmd *c)
{
	if (c->printed || (!c->calls[0].resp && !c->calls[1].resp))
		return 0;
	c->printed = true;
	struct buf out = {0};
	int err = format(&out, c, s->args->json);
	return ctl_session_output(s, err, &out);
}

/* Every family asked has its answer or its failure: print, then end. */
static void complete(struct ctl_session *s, struct child_cmd *c)
{
	int code = CTL_EXIT_OK;
	bool lost_told = false;
	for (size_t f = 0; f < 2; f++)
		if (c->calls[f].asked && !c->calls[f].done)
			return;
	if (print_answers(s, c) < 0)
		return;
	for (size_t f = 0; f < 2; f++) {
		const struct family_call *fc = &c->calls[f];
		if (!fc->code)
			continue;
		/* One lost connection ends both calls: say it once. */
		if (fc->code == CTL_EXIT_LOST && lost_told)
			continue;
		lost_told |= fc->code == CTL_EXIT_LOST;
		fflush(stdout);
		fprintf(stderr, "straitctl: %s\n", fc->error);
		if (fc->code > code)
			code = fc->code;
	}
	ctl_session_finish(s, code);
}

static void on_answer(void *data, const Rpc__Status *st,
		      const ProtobufCMessage *msg)
{
	struct family_call *fc = data;
	struct ctl_session *s = fc->s;
	struct child_cmd *c = s->cmd_data;
	if (ctl_session_finishing(s))
		return;
	fc->done = true;
	if (msg) {
		fc->resp = pb_copy(msg);
		if (!fc->resp) {
			ctl_session_fail(s, CTL_EXIT_REFUSED, "out of memory");
			return;
		}
	} else {
		char label[32];
		snprintf(label, sizeof(label), "%s %s", what(c),
			 ctl_ipam_family_name(fc->family));
		fc->code = ctl_session_call_error(s, label, st, fc->error,
						  sizeof(fc->error));
	}
	complete(s, c);
}

static int send_call(struct ctl_session *s, struct child_cmd *c,
		     struct family_call *fc)
{
	const struct ctl_args *a = s->args;
	Ipam__Child child = IPAM__CHILD__INIT;
	child.name = (char *)a->name;
	child.trench = (char *)a->trench;
	child.conduit = (char *)a->conduit;
	child.node = (char *)a->node;
	child.family = fc->family;
	if (c->release) {
		Ipam__ReleaseRequest req = IPAM__RELEASE_REQUEST__INIT;
		req.child = &child;
		return rpc_client_call(s->client, RELEASE_METHOD, &req.base,
				       &ipam__release_response__descriptor,
				       on_answer, fc, NULL);
	}
	Ipam__AllocateRequest req = IPAM__ALLOCATE_REQUEST__INIT;
	req.child = &child;
	req.bridge = a->bridge;
	return rpc_client_call(s->client, ALLOCATE_METHOD, &req.base,
			       &ipam__allocate_response__descriptor, on_answer,
			       fc, NULL);
}

static void child_on_up(struct ctl_session *s)
{
	struct child_cmd *c = s->cmd_data;
	for (size_t f = 0; f < 2; f++) {
		struct family_call *fc = &c->calls[f];
		if (!fc->asked || fc->sent)
			continue;
		int err = send_call(s, c, fc);
		if (err == -ENOTCONN)
			return; /* on_up comes again */
		if (err) {
			ctl_session_fail(s, CTL_EXIT_REFUSED,
					 "cannot send the %s request: %s",
					 what(c), strerror(-err));
			return;
		}
		fc->sent = true;
		log_debug("%s %s sent", what(c),
			  ctl_ipam_family_name(fc->family));
	}
}

static void child_init(struct ctl_session *s, bool release)
{
	const struct ctl_args *a = s->args;
	struct child_cmd *c = calloc(1, sizeof(*c));
	if (!c) {
		ctl_session_fail(s, CTL_EXIT_REFUSED, "out of memory");
		return;
	}
	s->cmd_data = c;
	c->release = release;
	c->calls[0].family = IPAM__FAMILY__IPV4;
	c->calls[1].family = IPAM__FAMILY__IPV6;
	c->calls[0].asked = a->family != CTL_FAMILY_IPV6;
	c->calls[1].asked = a->family != CTL_FAMILY_IPV4;
	for (size_t f = 0; f < 2; f++)
		c->calls[f].s = s;
}

static void allocate_init(struct ctl_session *s)
{
	child_init(s, false);
}

static void release_init(struct ctl_session *s)
{
	child_init(s, true);
}

/* The run ends before every answer came (--timeout, a signal, a write
 * error): print what did come, since it took effect on the server. */
static void child_close(struct ctl_session *s)
{
	struct child_cmd *c = s->cmd_data;
	if (c)
		print_answers(s, c);
}

static void child_fini(struct ctl_session *s)
{
	struct child_cmd *c = s->cmd_data;
	if (!c)
		return;
	for (size_t f = 0; f < 2; f++)
		if (c->calls[f].resp)
			protobuf_c_message_free_unpacked(c->calls[f].resp,
							 NULL);
	free(c);
}

const struct ctl_command ctl_ipam_allocate = {
    .init = allocate_init,
    .on_up = child_on_up,
    .close = child_close,
    .fini = child_fini,
};

const struct ctl_command ctl_ipam_release = {
    .init = release_init,
    .on_up = child_on_up,
    .close = child_close,
    .fini = child_fini,
};
