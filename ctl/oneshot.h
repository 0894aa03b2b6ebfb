/* Commands that send one empty request and print its answer (lb status,
 * lb streams, lb flows, proxy status, tun status): the request, the
 * answer's errors and the output, written once. */
#ifndef STRAIT_CTL_ONESHOT_H
#define STRAIT_CTL_ONESHOT_H

#include <protobuf-c/protobuf-c.h>

#include "buf.h"
#include "session.h"

struct ctl_oneshot {
	const char *what;   /* for errors: "cannot send the WHAT request" */
	const char *method; /* e.g. "tun.Control/Status" */
	const ProtobufCMessageDescriptor *request; /* a message of no fields */
	const ProtobufCMessageDescriptor *reply;
	/* Formats the answer into out as a's options ask (--json, the
	 * command); returns 0 or a negative errno. */
	int (*render)(struct buf *out, const ProtobufCMessage *reply,
		      const struct ctl_args *a);
};

/* The command's init: nothing sent yet. */
void ctl_oneshot_init(struct ctl_session *s);

/* The command's on_up: sends o's request once; the answer is rendered
 * and printed, and the session finishes with exit 0 (or the call's
 * failure: ctl_session_call_failed()). */
void ctl_oneshot_on_up(struct ctl_session *s, const struct ctl_oneshot *o);

#endif
