/* Targets as straitctl prints them. See print_target.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "print_target.h"
#include "table.h"

const char *ctl_type_name(int type)
{
	switch (type) {
	case NSP__TARGET_TYPE__ANY_TYPE:
		return "any";
	case NSP__TARGET_TYPE__TARGET:
		return "target";
	case NSP__TARGET_TYPE__FRONTEND:
		return "frontend";
	case NSP__TARGET_TYPE__PROXY:
		return "proxy";
	case NSP__TARGET_TYPE__TUNNEL:
		return "tunnel";
	case NSP__TARGET_TYPE__INSTANCE:
		return "instance";
	}
	return "unknown";
}

const char *ctl_status_name(int status)
{
	switch (status) {
	case NSP__TARGET_STATUS__ANY_STATUS:
		return "any";
	case NSP__TARGET_STATUS__ENABLED:
		return "enabled";
	case NSP__TARGET_STATUS__DISABLED:
		return "disabled";
	}
	return "unknown";
}

const char *ctl_event_name(int kind)
{
	switch (kind) {
	case NSP__TARGET_EVENT__KIND__ADDED:
		return "ADDED";
	case NSP__TARGET_EVENT__KIND__UPDATED:
		return "UPDATED";
	case NSP__TARGET_EVENT__KIND__REMOVED:
		return "REMOVED";
	}
	return "UNKNOWN";
}

static const char *str(const char *s)
{
	return s ? s : "";
}

/* A FRONTEND (an LB) and a PROXY belong to a whole conduit: no stream, no
 * identifier. */
static bool of_conduit(const Nsp__Target *t)
{
	return t->type == NSP__TARGET_TYPE__FRONTEND ||
	       t->type == NSP__TARGET_TYPE__PROXY;
}

/* A TUNNEL (a node's strait-tun) belongs to a whole trench and an
 * INSTANCE to a service of it: no conduit. */
static bool of_trench(const Nsp__Target *t)
{
	return t->type == NSP__TARGET_TYPE__TUNNEL ||
	       t->type == NSP__TARGET_TYPE__INSTANCE;
}

/* Only TARGETs and INSTANCEs hold identifiers. */
static bool has_identifier(const Nsp__Target *t)
{
	return !of_conduit(t) && t->type != NSP__TARGET_TYPE__TUNNEL;
}

int ctl_target_json(struct json *j, const Nsp__Target *t)
{
	const Nsp__StreamRef *ref = t->stream;
	json_object_begin(j);
	json_key(j, "ips");
	json_array_begin(j);
	for (size_t i = 0; i < t->n_ips; i++)
		json_string(j, str(t->ips[i]));
	json_array_end(j);
	json_key(j, "type");
	json_string(j, ctl_type_name(t->type));
	json_key(j, "trench");
	json_string(j, ref ? str(ref->trench) : "");
	json_key(j, "conduit");
	json_string(j, ref ? str(ref->conduit) : "");
	json_key(j, "stream");
	json_string(j, ref ? str(ref->stream) : "");
	json_key(j, "status");
	json_string(j, ctl_status_name(t->status));
	json_key(j, "identifier");
	json_uint(j, t->identifier);
	json_key(j, "context");
	json_object_begin(j);
	for (size_t i = 0; i < t->n_context; i++) {
		json_key(j, str(t->context[i]->key));
		json_string(j, str(t->context[i]->value));
	}
	json_object_end(j);
	return json_object_end(j);
}

int ctl_target_ref(struct buf *b, const Nsp__Target *t)
{
	const Nsp__StreamRef *ref = t->stream;
	if (!ref)
		return buf_puts(b, "?/?");
	int err = ctl_put_text(b, str(ref->trench));
	if (!err && !of_trench(t)) {
		err = buf_putc(b, '/');
		if (!err)
			err = ctl_put_text(b, str(ref->conduit));
	}
	if (!err && (has_identifier(t) || (ref->stream && ref->stream[0]))) {
		err = buf_putc(b, '/');
		if (!err)
			err = ctl_put_text(b, str(ref->stream));
	}
	return err;
}

static int ips(struct buf *b, const Nsp__Target *t)
{
	int err = 0;
	for (size_t i = 0; i < t->n_ips && !err; i++) {
		if (i)
			err = buf_putc(b, ',');
		if (!err)
			err = ctl_put_text(b, str(t->ips[i]));
	}
	return err;
}

static int context(struct buf *b, const Nsp__Target *t)
{
	int err = 0;
	for (size_t i = 0; i < t->n_context && !err; i++) {
		if (i)
			err = buf_putc(b, ',');
		if (!err)
			err = ctl_put_text(b, str(t->context[i]->key));
		if (!err)
			err = buf_putc(b, '=');
		if (!err)
			err = ctl_put_text(b, str(t->context[i]->value));
	}
	return err;
}

int ctl_target_line(struct buf *b, const Nsp__Target *t)
{
	int err = ctl_target_ref(b, t);
	if (!err && t->type != NSP__TARGET_TYPE__TARGET &&
	    t->type != NSP__TARGET_TYPE__ANY_TYPE)
		err = buf_printf(b, " %s", ctl_type_name(t->type));
	if (!err && has_identifier(t))
		err = buf_printf(b, " id=%u", t->identifier);
	if (!err)
		err = buf_printf(b, " %s ", ctl_status_name(t->status));
	if (!err)
		err = ips(b, t);
	if (!err && t->n_context) {
		err = buf_putc(b, ' ');
		if (!err)
			err = context(b, t);
	}
	return err;
}

/* The cells of one row, built in scratch buffers. */
static int add_row(struct ctl_table *tab, const Nsp__Target *t)
{
	struct buf id = {0}, ref = {0}, ip = {0}, ctx = {0};
	int err = 0;
	if (!has_identifier(t))
		err = buf_puts(&id, "-");
	else
		err = buf_printf(&id, "%u", t->identifier);
	if (!err)
		err = ctl_target_ref(&ref, t);
	if (!err)
		err = ips(&ip, t);
	if (!err)
		err = context(&ctx, t);
	if (!err) {
		const char *cells[] = {
		    buf_str(&id),  ctl_type_name(t->type),
		    buf_str(&ref), ctl_status_name(t->status),
		    buf_str(&ip),  buf_str(&ctx),
		};
		err = ctl_table_add(tab, cells);
	}
	buf_free(&id);
	buf_free(&ref);
	buf_free(&ip);
	buf_free(&ctx);
	return err;
}

int ctl_target_table(struct buf *b, Nsp__Target *const *targets, size_t n)
{
	static const char *const head[] = {"IDENT",  "TYPE", "STREAM",
					   "STATUS", "IPS",  "CONTEXT"};
	struct ctl_table tab;
	ctl_table_init(&tab, 6);
	int err = ctl_table_add(&tab, head);
	for (size_t i = 0; i < n && !err; i++)
		err = add_row(&tab, targets[i]);
	if (!err)
		err = ctl_table_render(&tab, b, "");
	ctl_table_free(&tab);
	return err;
}

int ctl_target_block(struct buf *b, const Nsp__Target *t)
{
	const char *label = t->type == NSP__TARGET_TYPE__TUNNEL ? "trench:  "
			    : t->type == NSP__TARGET_TYPE__INSTANCE
				? "service: "
				: "stream:  ";
	int err = buf_printf(b, "%s   ", label);
	if (!err)
		err = ctl_target_ref(b, t);
	if (!err)
		err =
		    buf_printf(b, "\ntype:       %s\n", ctl_type_name(t->type));
	if (!err && has_identifier(t))
		err = buf_printf(b, "identifier: %u\n", t->identifier);
	if (!err)
		err = buf_printf(b, "status:     %s\nips:        ",
				 ctl_status_name(t->status));
	if (!err)
		err = ips(b, t);
	if (!err)
		err = buf_puts(b, "\ncontext:    ");
	if (!err)
		err = t->n_context ? context(b, t) : buf_putc(b, '-');
	if (!err)
		err = buf_putc(b, '\n');
	return err;
}
