/* The durable side of the target registry: an SQLite file.
 *
 * The store holds every live registration (its key and the packed
 * Nsp__Target), the registry revision of the last apply, and a random
 * 64-bit store id made when the file was created. Watchers quote the store
 * id when they resume, so a registry that lost its file (and restarted its
 * revisions) is told apart from one that did not.
 *
 * The caller applies each batch of registry events before it answers the
 * clients whose calls made them; a registration that was acknowledged is
 * therefore in the file. WAL mode with synchronous=NORMAL survives kill -9
 * of the process (the WAL is written before commit returns); sync_full
 * adds an fsync per commit, which survives power loss too.
 *
 * The file is opened with an exclusive lock held for the store's life: a
 * second strait-nsp on the same file is refused rather than allowed to fork
 * the revision history.
 *
 * Schema (version 1; PRAGMA application_id identifies strait's files):
 *   meta(name TEXT PRIMARY KEY, value INTEGER)   "store_id", "revision"
 *   targets(key TEXT PRIMARY KEY, target BLOB)   nsp_target_key -> packed
 *
 * Single-threaded, like the registry. Not pure: this is the I/O shell.
 */
#ifndef STRAIT_NSP_STORE_H
#define STRAIT_NSP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nsp.pb-c.h"
#include "registry.h"

struct nsp_store;

/* Opens the store at path, creating it when the file does not exist or is
 * empty (with a new random store id and revision 0). Checks that the file
 * is a strait store of this schema version and runs PRAGMA quick_check.
 * Returns 0 and *out, or a negative errno with a sentence in err:
 *   -EIO     the file cannot be opened or read, is not an SQLite database,
 *            or fails the integrity check;
 *   -EPROTO  it is an SQLite database but not a strait store, or one of
 *            another schema version;
 *   -EBUSY   another process (or connection) has the store open;
 *   -ENOMEM  out of memory. */
int nsp_store_open(const char *path, bool sync_full, struct nsp_store **out,
		   char *err, size_t errlen);

/* The random id made when the file was created; never 0. */
uint64_t nsp_store_id(const struct nsp_store *s);

/* The revision stored by the last successful nsp_store_apply (0 for a new
 * store). */
uint64_t nsp_store_revision(const struct nsp_store *s);

/* Calls fn once for every stored target, in key order. The target is only
 * valid during the call. A row whose blob does not decode is logged and
 * skipped. Returns 0, fn's return value when it is negative (which stops
 * the walk), or -EIO when the file cannot be read. */
int nsp_store_load(struct nsp_store *s,
		   int (*fn)(const Nsp__Target *t, void *data), void *data);

/* Applies n events and stores `revision`, all in one transaction: for each
 * event in order, new_ (when set) is written under its key, otherwise old's
 * key is deleted. Returns 0, -EINVAL when an event has neither side or a
 * target whose key cannot be made, or -EIO when SQLite fails; on any error
 * nothing is applied and err says why. */
int nsp_store_apply(struct nsp_store *s, const struct nsp_event *ev, size_t n,
		    uint64_t revision, char *err, size_t errlen);

/* Closes the store (checkpointing the WAL into the file). NULL is fine. */
void nsp_store_close(struct nsp_store *s);

#endif
