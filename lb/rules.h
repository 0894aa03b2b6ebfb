/* The LB's iptables rules: the chain that puts packets for its VIPs on
 * NFQUEUE, kept in the mangle table of both families.
 *
 *   mangle PREROUTING
 *     -j STRAIT-LB                       exactly one jump, inserted first
 *   mangle STRAIT-LB                     the LB's own chain, name chosen
 *     -d VIP/len [-m comment --comment C] -j NFQUEUE
 *        --queue-num A | --queue-balance A:B  [--queue-bypass]
 *
 * Two halves. The pure half renders iptables-restore input and reads
 * `iptables -t mangle -S` listings; it does no I/O and is what the unit
 * tests cover. The I/O half runs iptables and iptables-restore (and the ip6
 * ones) as child processes and blocks until they finish (tens of
 * milliseconds; a command is killed after LB_RULES_TIMEOUT_MS).
 *
 * Atomic updates: each family's update is one `iptables-restore --noflush`
 * run, which the nf_tables backend commits as one transaction (one ruleset
 * generation): a packet sees either the old chain or the new one, never an
 * empty or half-written chain, and a failed restore changes nothing. The
 * two families are two transactions: when the IPv6 one fails, the IPv4 one
 * stays applied, and the error says which failed.
 *
 * The jump from PREROUTING. Inside a restore, `-D PREROUTING -j C` aborts
 * the whole transaction when the jump is absent, and `-I` adds a second
 * jump when it is present; iptables-restore has no "if absent". So the
 * jump is reconciled from the current state: lb_rules_apply() first lists
 * the table (`iptables -t mangle -S`), counts the jumps to the chain
 * (lb_rules_count_jumps), and the rendered input then inserts one when
 * there is none, deletes the extras when there are several (each -D then
 * names a rule that exists), and leaves a single one alone, so that the
 * jump is never briefly missing. The listing and the restore are two
 * steps; another program editing the same jump between them makes the
 * restore fail cleanly (nothing changed), and the next apply corrects it.
 *
 * Names: a chain name is 1 to LB_RULES_CHAIN_MAX characters of
 * [A-Za-z0-9-], starting with a letter or digit (so it can never be taken
 * for an option), and not a built-in chain or verdict name. A comment is 1
 * to LB_RULES_COMMENT_MAX characters of [A-Za-z0-9._:-]. Validated names
 * and addresses are the only text that reaches iptables, and no shell is
 * ever involved.
 *
 * Errors: every function returns 0 or a negative errno, with the reason in
 * err when err is not NULL.
 */
#ifndef STRAIT_LB_RULES_H
#define STRAIT_LB_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cidr.h"

/* iptables' limit for a chain name (XT_EXTENSION_MAXNAMELEN - 1). */
#define LB_RULES_CHAIN_MAX 28
#define LB_RULES_COMMENT_MAX 64
/* How long one iptables command may take before it is killed. */
#define LB_RULES_TIMEOUT_MS 10000

struct lb_rules_spec {
	const char *chain;    /* e.g. "STRAIT-LB" or "STRAIT-LB-<instance>" */
	uint16_t queue_first; /* NFQUEUE numbers queue_first..queue_last; */
	uint16_t queue_last;  /* equal: --queue-num, else --queue-balance */
	bool fail_open;	      /* --queue-bypass: no listener, packets pass */
	const char *comment;  /* NULL: no comment match on the rules */
	const struct cidr *vips; /* either family, any order, duplicates ok */
	size_t n_vips;
};

/* True when name is a valid chain name (see "Names" above). */
bool lb_rules_chain_valid(const char *name);

/* Checks the whole spec: chain name, queue range, comment, and every VIP
 * (family AF_INET or AF_INET6, prefix length within the family's width).
 * Returns 0 or -EINVAL. */
int lb_rules_spec_check(const struct lb_rules_spec *s, char *err,
			size_t errlen);

/* Appends to out the iptables-restore --noflush input that makes the
 * family's (AF_INET or AF_INET6) mangle table hold exactly s's chain with
 * one rule per VIP of that family and exactly one jump to it from
 * PREROUTING, given that PREROUTING now holds jumps_now jumps to it:
 *
 *   *mangle
 *   :STRAIT-LB - [0:0]          create the chain if absent (and, with
 *   -F STRAIT-LB                --noflush, flush it: said again anyway)
 *   -A STRAIT-LB -d ... -j NFQUEUE ...    one line per VIP
 *   -I PREROUTING -j STRAIT-LB  only when jumps_now is 0
 *   -D PREROUTING -j STRAIT-LB  jumps_now - 1 times when above 1
 *   COMMIT
 *
 * VIPs of the other family are skipped, not refused: one spec holds the
 * VIPs of both families and is rendered once per family. The rules come
 * sorted by address then prefix length, duplicates once, host bits
 * cleared (so each line reads exactly as `iptables -S` prints it back);
 * the same spec gives the same text whatever the VIPs' order. Zero VIPs of
 * the family give an empty chain that keeps its jump.
 * Returns 0, -EINVAL (bad spec or family; out unchanged) or -ENOMEM (out
 * may hold part of the text). */
int lb_rules_render(const struct lb_rules_spec *s, int family,
		    unsigned jumps_now, struct buf *out, char *err,
		    size_t errlen);

/* Counts the lines "-A PREROUTING -j CHAIN" (exactly, no other match) in
 * a listing printed by `iptables -t mangle -S`. */
unsigned lb_rules_count_jumps(const char *listing, const char *chain);

/* Appends to out the iptables-restore --noflush input that removes, from
 * the mangle table that listing (`iptables -t mangle -S`) shows, every
 * chain whose name is name (prefix false) or starts with name (prefix
 * true): first every rule in any chain that jumps to one of them (replayed
 * from the listing as -D, so each names a rule that exists), then the
 * chains' rules, then the chains. Appends nothing when nothing matches.
 * *n_chains, when not NULL, gets the number of chains found.
 * Returns 0 or -ENOMEM. */
int lb_rules_render_remove(const char *listing, const char *name, bool prefix,
			   struct buf *out, unsigned *n_chains);

/* Makes both families' mangle tables hold exactly s's chain and its one
 * jump (see lb_rules_render); one restore per family, IPv4 first. Creates
 * the chain and the jump on the first call; later calls replace the rules
 * atomically. Returns 0, -EINVAL (bad spec), -ENOENT (an iptables program
 * is missing), -ETIMEDOUT, -EIO (a command failed; its stderr is in err)
 * or another negative errno from process creation. */
int lb_rules_apply(const struct lb_rules_spec *s, char *err, size_t errlen);

/* Removes the jumps to chain and chain itself from both families' mangle
 * tables. Idempotent: a chain already absent is success. Both families are
 * tried even when the first fails; the first error is returned. */
int lb_rules_remove(const char *chain, char *err, size_t errlen);

/* Removes every chain whose name starts with prefix, with the jumps to
 * it, from both families: what a crashed earlier run left. The match is a
 * plain string prefix, so "STRAIT-LB" also takes "STRAIT-LB-a" and
 * "STRAIT-LBX"; an instance that shares the host with others passes its
 * own full chain name or a prefix ending in '-'. prefix follows the chain
 * name rules. Returns as lb_rules_remove. */
int lb_rules_cleanup_stale(const char *prefix, char *err, size_t errlen);

#endif
