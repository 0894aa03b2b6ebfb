/* Targets (proto/nsp.proto Target) as straitctl prints them.
 *
 * Text, one line (watch):
 *	trench-a/lb/stream-a id=3 enabled 198.18.1.5/24,fd00::5/64 app=web
 *	trench-a/lb frontend enabled 198.18.0.2/24
 *	trench-a/lb proxy enabled 169.255.1.1/24 node=node-1
 *	trench-a tunnel enabled 192.0.2.1/32 node=node-1,port=7779
 *	trench-a/web instance id=1 enabled 10.0.1.5/32 node=node-1
 * JSON, one object; every key is always present, "stream" is "" and
 * "identifier" 0 for a frontend, a proxy or a tunnel; "conduit" is "" for
 * a tunnel or an instance, whose "stream" is its service:
 *	{"ips":["198.18.1.5/24"],"type":"target","trench":"trench-a",
 *	 "conduit":"lb","stream":"stream-a","status":"enabled",
 *	 "identifier":3,"context":{"app":"web"}}
 *
 * Each function appends to a caller's buffer or writer and returns 0 or
 * the buffer's or writer's error. Text output replaces control characters
 * with '?'; JSON escapes them.
 */
#ifndef STRAIT_CTL_PRINT_TARGET_H
#define STRAIT_CTL_PRINT_TARGET_H

#include <stddef.h>

#include "buf.h"
#include "json.h"
#include "nsp.pb-c.h"

/* "target", "frontend", "proxy", "tunnel", "instance", "any"; "unknown"
 * for a number the proto lacks. */
const char *ctl_type_name(int type);
/* "enabled", "disabled", "any"; "unknown". */
const char *ctl_status_name(int status);
/* "ADDED", "UPDATED", "REMOVED"; "UNKNOWN". */
const char *ctl_event_name(int kind);

int ctl_target_json(struct json *j, const Nsp__Target *t);

/* "trench/conduit/stream" for a target, "trench/conduit" for a frontend or
 * a proxy, "trench" for a tunnel, "trench/service" for an instance. */
int ctl_target_ref(struct buf *b, const Nsp__Target *t);

/* The one-line form above. */
int ctl_target_line(struct buf *b, const Nsp__Target *t);

/* The `nsp list` table: IDENT TYPE STREAM STATUS IPS CONTEXT, with a
 * header; IDENT is "-" for a frontend, a proxy or a tunnel. */
int ctl_target_table(struct buf *b, Nsp__Target *const *targets, size_t n);

/* "key: value" lines for one target (register's answer); the first is
 * `stream:` (`trench:` for a tunnel, `service:` for an instance). */
int ctl_target_block(struct buf *b, const Nsp__Target *t);

#endif
