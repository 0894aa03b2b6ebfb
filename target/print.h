/* How the strait-target commands print the agent's answers. Pure: each
 * function appends to a caller's buffer and returns 0 or -ENOMEM (the
 * buffer then holds a partial text).
 *
 * Text status, one block per conduit with its streams under it:
 *
 *     pod pod-1: NSP connected, 2 stream(s), change 14
 *     conduit trench-a/c1: attached, table 4000, proxy /run/strait/proxy-c1.sock
 *       ips       169.255.1.2/24 fd00::2/64
 *       gateways  169.255.1.1 fd00::1
 *       vips      198.18.100.1 fd00:100::1
 *       stream s1  open  identifier 1
 *       stream s2  re-registering  identifier 2  (refresh refused: ...)
 *
 * JSON: the message's fields under their proto names, always present,
 * lists as arrays; one line, or indented with pretty.
 */
#ifndef STRAIT_TARGET_PRINT_H
#define STRAIT_TARGET_PRINT_H

#include <stdbool.h>

#include "buf.h"
#include "target.pb-c.h"

int tgt_print_status(const Target__StatusResponse *r, struct buf *out);
int tgt_print_status_json(const Target__StatusResponse *r, bool pretty,
			  struct buf *out);

/* "opened trench-a/c1/s1: identifier 1, ips 169.255.1.2/24 fd00::2/64" */
int tgt_print_open(const Target__StreamKey *k, const Target__OpenResponse *r,
		   struct buf *out);
int tgt_print_open_json(const Target__StreamKey *k,
			const Target__OpenResponse *r, struct buf *out);

/* "closed trench-a/c1/s1" or "trench-a/c1/s1 was not open" */
int tgt_print_close(const Target__StreamKey *k, const Target__CloseResponse *r,
		    struct buf *out);
int tgt_print_close_json(const Target__StreamKey *k,
			 const Target__CloseResponse *r, struct buf *out);

#endif
