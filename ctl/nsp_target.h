/* The target key and filter of `nsp register|unregister|list|watch`,
 * built from the command line into protobuf-c messages.
 *
 * The messages point into the struct and into the ctl_args they were built
 * from (no allocation): both must outlive the send. protobuf-c wants char *
 * where the strings are only read, hence the casts inside.
 */
#ifndef STRAIT_CTL_NSP_TARGET_H
#define STRAIT_CTL_NSP_TARGET_H

#include "args.h"
#include "nsp.pb-c.h"

struct ctl_target_msg {
	Nsp__Target target;
	Nsp__StreamRef ref;
	char *ips[CTL_MAX_IPS];
	Nsp__Target__ContextEntry entries[CTL_MAX_CONTEXT];
	Nsp__Target__ContextEntry *entry_ptrs[CTL_MAX_CONTEXT];
};

struct ctl_filter_msg {
	Nsp__TargetFilter filter;
	Nsp__StreamRef ref;
};

/* --service goes into the stream field (an INSTANCE's service). */

/* The target of --type --trench --conduit --stream --ip, and with
 * attributes also --status --identifier --context (Register; Unregister
 * sends only the key). */
void ctl_target_msg_build(struct ctl_target_msg *m, const struct ctl_args *a,
			  bool attributes);

/* The filter of --type --trench --conduit --stream --status. */
void ctl_filter_msg_build(struct ctl_filter_msg *m, const struct ctl_args *a);

#endif
