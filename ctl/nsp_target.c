/* The target key and filter built from the command line. See nsp_target.h. */
#include <string.h>

#include "nsp_target.h"

static void ref_build(Nsp__StreamRef *ref, const struct ctl_args *a)
{
	nsp__stream_ref__init(ref);
	if (a->trench)
		ref->trench = (char *)a->trench;
	if (a->conduit)
		ref->conduit = (char *)a->conduit;
	if (a->stream)
		ref->stream = (char *)a->stream;
	else if (a->service)
		ref->stream = (char *)a->service;
}

void ctl_target_msg_build(struct ctl_target_msg *m, const struct ctl_args *a,
			  bool attributes)
{
	memset(m, 0, sizeof(*m));
	nsp__target__init(&m->target);
	ref_build(&m->ref, a);
	m->target.stream = &m->ref;
	m->target.type = (Nsp__TargetType)a->type;
	for (size_t i = 0; i < a->n_ips; i++)
		m->ips[i] = (char *)a->ips[i];
	m->target.n_ips = a->n_ips;
	m->target.ips = m->ips;
	if (!attributes)
		return;
	m->target.status = (Nsp__TargetStatus)a->status;
	m->target.identifier = a->identifier;
	for (size_t i = 0; i < a->n_context; i++) {
		nsp__target__context_entry__init(&m->entries[i]);
		m->entries[i].key = a->context[i].key;
		m->entries[i].value = (char *)a->context[i].value;
		m->entry_ptrs[i] = &m->entries[i];
	}
	m->target.n_context = a->n_context;
	m->target.context = m->entry_ptrs;
}

void ctl_filter_msg_build(struct ctl_filter_msg *m, const struct ctl_args *a)
{
	memset(m, 0, sizeof(*m));
	nsp__target_filter__init(&m->filter);
	ref_build(&m->ref, a);
	m->filter.stream = &m->ref;
	m->filter.type = (Nsp__TargetType)a->type;
	m->filter.status = (Nsp__TargetStatus)a->status;
}
