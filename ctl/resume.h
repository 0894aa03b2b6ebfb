/* The --resume file of `nsp watch`: where a watcher left off.
 *
 * One line, "STORE_ID REVISION\n", both decimal 64-bit numbers. Revision 0
 * means "no usable position" (nothing seen yet, or stopped inside a
 * snapshot): the next watch starts with a snapshot.
 *
 * Saving writes FILE.tmp and renames it over FILE, so a reader (or a
 * restart after kill -9) sees the old line or the new one, never a torn
 * one. There is no fsync: the position survives the process dying, not
 * the machine crashing, and a watcher writes after every message.
 */
#ifndef STRAIT_CTL_RESUME_H
#define STRAIT_CTL_RESUME_H

#include <stddef.h>
#include <stdint.h>

struct ctl_resume {
	uint64_t store_id;
	uint64_t revision;
};

/* Reads path into *pos. Returns 0; -ENOENT when the file does not exist
 * (*pos is zeroed: start from scratch); -EINVAL when it does not hold one
 * valid line; another negative errno when it cannot be read. */
int ctl_resume_load(const char *path, struct ctl_resume *pos);

/* Writes *pos to path atomically (above). Returns 0 or a negative errno. */
int ctl_resume_save(const char *path, const struct ctl_resume *pos);

/* The two halves of ctl_resume_save(), for a caller that has output to
 * put between them: prepare writes FILE.tmp, commit renames it over FILE.
 * Prepare before printing and commit after, and the only moment at which
 * a kill makes the printed and the recorded position differ is between
 * the output's write() and the rename(): two consecutive system calls.
 * A kill after prepare leaves FILE.tmp behind, which is harmless: the next
 * prepare truncates it. Both return 0 or a negative errno. */
int ctl_resume_prepare(const char *path, const struct ctl_resume *pos);
int ctl_resume_commit(const char *path);

#endif
