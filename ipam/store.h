/* The durable side of IPAM: the rows of ipam/rows.h in an SQLite file.
 *
 * The daemon applies the rows a mutating call of the tree reports before
 * it answers that call, one transaction per call; an allocation that was
 * acknowledged is therefore in the file. WAL mode with synchronous=NORMAL
 * survives kill -9 of the process (the WAL is written before commit
 * returns); sync_full adds an fsync per commit, which survives power loss
 * too.
 *
 * The file is opened with an exclusive lock held for the store's life: a
 * second strait-ipam on the same file is refused rather than allowed to
 * hand out the same addresses twice.
 *
 * Schema (version 1; PRAGMA application_id 0x53544950, "STIP"). One table
 * per row kind, keyed by the row's key fields; family is 4 or 6; prefixes
 * and addresses are the text of cidr_format ("169.255.17.2/24"), so that
 * `sqlite3 copy.db 'SELECT * FROM children'` is readable:
 *
 *   trenches  (trench, family)                     prefix, conduit_len,
 *                                                  node_len
 *   conduits  (trench, conduit, family)            prefix
 *   nodes     (trench, conduit, node, family)      prefix
 *   children  (trench, conduit, node, name, family) address, bridge
 *   quarantine (trench, conduit, node, family, address) until_ms
 *
 * A quarantine row is keyed by its address text with its prefix length,
 * so a DEL must carry the same prefix (address and length) as the PUT.
 *
 * The store checks the form of each row (key present, family, prefix text)
 * and nothing of its meaning: whether the rows form a tree is the
 * integrity check's business, after load.
 *
 * Single-threaded. Not pure: this is the I/O shell.
 */
#ifndef STRAIT_IPAM_STORE_H
#define STRAIT_IPAM_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "rows.h"

struct ipam_store;

/* Opens the store at path, creating it when the file does not exist or is
 * empty. Checks that the file is a strait IPAM store of this schema
 * version and runs PRAGMA quick_check. Returns 0 and *out, or a negative
 * errno with a sentence in err (which names path):
 *   -EIO     the file cannot be opened or read, is not an SQLite database,
 *            or fails the integrity check;
 *   -EPROTO  it is an SQLite database but not a strait IPAM store (an NSP
 *            store included), or one of another schema version, or its
 *            tables are not those of the version;
 *   -EBUSY   another process (or connection) has the store open;
 *   -ENOMEM  out of memory. */
int ipam_store_open(const char *path, bool sync_full, struct ipam_store **out,
		    char *err, size_t errlen);

/* Closes the store (checkpointing the WAL into the file). NULL is fine. */
void ipam_store_close(struct ipam_store *s);

/* Applies n rows in order, all in one transaction: a PUT (del false)
 * inserts the row or replaces the one with its key, a DEL removes the row
 * with its key (none is fine). The store keeps no pointer into rows.
 * Returns 0, or on any error applies nothing and says why in err:
 *   -EINVAL  a row of an unknown kind, a family other than AF_INET or
 *            AF_INET6, a key string NULL or empty, a prefix that is not
 *            of the row's family or is longer than its width (every PUT;
 *            a quarantine DEL, whose key holds the address), a trench's
 *            conduit_len or node_len beyond the width, an until_ms beyond
 *            INT64_MAX: whatever load would refuse, so the store never
 *            takes a row it cannot give back. err names the row's index,
 *            its table and key;
 *   -EIO     SQLite failed (a full disk, a write error). The daemon stops
 *            on this: it must not answer for what it could not keep.
 * n == 0 is a no-op that returns 0. */
int ipam_store_apply(struct ipam_store *s, const struct ipam_row *rows,
		     size_t n, char *err, size_t errlen);

/* Calls fn once for every stored row, in dependency order: every trench,
 * then every conduit, node, child and quarantine entry; within a kind in
 * key order (the key's strings bytewise, then family 4 before 6). The row
 * has del false and the fields of its kind set (the others zero); it and
 * its strings are valid only during the call.
 *
 * A row that does not decode (a NULL or empty key string, a family other
 * than 4 or 6, a prefix that does not parse, is not in canonical form or
 * is not of the row's family, a length or flag out of range) is not
 * skipped: IPAM refuses a corrupt store rather than serve around it.
 *
 * Returns 0; fn's return value when it is negative (which stops the
 * walk); -EPROTO for a row that does not decode, with err naming the
 * table, the row's key and the fault; or -EIO when the file cannot be
 * read. The next call starts afresh. */
int ipam_store_load(struct ipam_store *s,
		    int (*fn)(const struct ipam_row *row, void *data),
		    void *data, char *err, size_t errlen);

#endif
