/* strait-target's pure core: names, conduit slots, the pod link's
 * addresses, VIP sets, what a refusal means, and the two small state
 * machines (a conduit's link, a stream's registration) as decisions taken
 * from a snapshot of the facts. No libuv, no netlink, no clock: callers
 * pass `now` in milliseconds.
 *
 * A conduit (trench T, conduit C) owns a slot k in 0..63, which names
 * everything it puts in the pod:
 *
 *     the link       st<k>        (asked from the proxy of C; st0 first)
 *     the table      4000 + k     default via the proxy's bridge address
 *     the rules      from VIP lookup 4000 + k priority P, one per VIP
 *
 * A conduit's life (tgt_conduit_next decides the next step):
 *
 *     DETACHED --Attach--> ATTACHING --answer--> ATTACHED
 *        ^                                          |  (no stream needs it)
 *        +---------- answer ---- DETACHING <--Detach+
 *
 * A stream's life (tgt_stream_next):
 *
 *     OPENING --Register ok--> OPEN <--> REREG (refused on a refresh)
 *        |                      |
 *        +--fail/close--> CLOSING --Unregister answered--> DONE
 */
#ifndef STRAIT_TARGET_MODEL_H
#define STRAIT_TARGET_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

#define TGT_NAME_MAX 63 /* trench, conduit, stream and pod names */
#define TGT_SLOTS 64
#define TGT_TABLE_BASE 4000u
#define TGT_TABLE_LAST (TGT_TABLE_BASE + TGT_SLOTS - 1)
#define TGT_VIPS_MAX 1024 /* per trench; more are ignored with a warning */

/* The timing of a stream's registration, in milliseconds. NSP's default
 * lease is 60 s: a refresh every 20 s survives two lost ones. */
#define TGT_REFRESH_MS 20000
#define TGT_RETRY_MS 5000   /* after a refused refresh */
#define TGT_OPEN_MS 8000    /* an Open's whole budget: attach and register */

/* The exit codes of the strait-target commands (docs/target.md). */
enum {
	TGT_EXIT_OK = 0,
	TGT_EXIT_REFUSED = 1,
	TGT_EXIT_USAGE = 2,
	TGT_EXIT_UNREACHABLE = 3,
};

/* Checks a trench, conduit, stream or pod name: 1..TGT_NAME_MAX bytes of
 * A-Z a-z 0-9 '.' '_' '-', not starting with '.' or '-' (names end up in
 * socket paths and in the proxy's link names). Returns 0, or -EINVAL with
 * "WHAT 'NAME' ..." in err. */
int tgt_name_check(const char *what, const char *name, char *err,
		   size_t errlen);

/* ---- slots ---- */

/* Takes the lowest free slot of *used (a bit per slot). Returns it, or
 * -ENOSPC when all TGT_SLOTS are taken. */
int tgt_slot_take(uint64_t *used);

/* Gives slot back; a free slot stays free. */
void tgt_slot_put(uint64_t *used, unsigned slot);

static inline uint32_t tgt_slot_table(unsigned slot)
{
	return TGT_TABLE_BASE + slot;
}

/* The pod end's name for slot k, "st<k>", into buf (16 bytes). */
void tgt_slot_ifname(unsigned slot, char buf[16]);

/* ---- the pod link ---- */

/* The addresses the proxy gave the pod, by family: [0] IPv4, [1] IPv6.
 * A family the conduit lacks has family 0 in ip and gw. */
struct tgt_link {
	struct cidr ip[2]; /* with the subnet's length: 169.255.1.2/24 */
	struct cidr gw[2]; /* the bridge's address, full length */
	char ifname[16];
};

/* Reads an Attach answer's fields ("" for an absent family). Checks that
 * each address is of its family, that a family has an address exactly
 * when it has a gateway, that the gateway lies in the address's subnet,
 * that at least one family is there and that ifname is a link name.
 * Returns 0 or -EINVAL with the reason in err. */
int tgt_link_parse(const char *ipv4, const char *ipv6, const char *gw4,
		   const char *gw6, const char *ifname, struct tgt_link *out,
		   char *err, size_t errlen);

/* True when the two links have the same addresses, gateways and name. */
bool tgt_link_same(const struct tgt_link *a, const struct tgt_link *b);

/* ---- VIP sets ---- */

/* A sorted set of host addresses (/32, /128). A zeroed set is empty; the
 * owner frees it with tgt_vipset_free(). */
struct tgt_vipset {
	struct cidr *v;
	size_t n, cap;
};

void tgt_vipset_free(struct tgt_vipset *s);

bool tgt_vipset_has(const struct tgt_vipset *s, const struct cidr *c);

/* Adds c as a host address (its length is set to the full width).
 * Returns 1 when added, 0 when present, -ENOMEM. */
int tgt_vipset_add(struct tgt_vipset *s, const struct cidr *c);

/* Returns 1 when removed, 0 when absent. */
int tgt_vipset_del(struct tgt_vipset *s, const struct cidr *c);

/* Builds *out (freed first) from NSP's VIP addresses ("198.18.0.1/32",
 * "198.18.0.1", "fd00::1/128"). A text that is not a host address is
 * skipped and counted in *bad (may be NULL); beyond TGT_VIPS_MAX the rest
 * are skipped and counted too. Returns 0 or -ENOMEM (out then empty). */
int tgt_vipset_from_texts(char *const *texts, size_t n,
			  struct tgt_vipset *out, size_t *bad);

/* The VIPs a conduit with link l carries: those of trench whose family l
 * has a gateway for (a VIP that no reply route could leave from is not
 * put on lo). Returns 0 or -ENOMEM. */
int tgt_vips_for_link(const struct tgt_vipset *trench,
		      const struct tgt_link *l, struct tgt_vipset *out);

/* ---- refusals ---- */

/* What the client of an Open is told when NSP refused the stream's first
 * Register with code (an Rpc__Code) and message: sets *reason to one of
 * the control API's reasons ("stream_full", "unknown_stream",
 * "nsp_unavailable", or "" for a refusal passed on as NSP gave it) and
 * writes the message: for a full stream "stream T/C/S is full
 * (max-targets N)" (N from max_targets; when 0, unknown, NSP's own
 * words). Returns the code to answer with. */
int tgt_register_refusal(const char *trench, const char *conduit,
			 const char *stream, int code, const char *message,
			 uint32_t max_targets, const char **reason, char *msg,
			 size_t msglen);

/* The exit code of a command whose call ended with code and reason:
 * 0 for OK, 3 when the daemon, the proxy or NSP could not be reached
 * (UNAVAILABLE, DEADLINE_EXCEEDED, or the reasons proxy_unavailable and
 * nsp_unavailable), 1 for every other refusal. */
int tgt_exit_code(int code, const char *reason);

/* ---- the state machines ---- */

enum tgt_peer { TGT_PEER_UNKNOWN, TGT_PEER_UP, TGT_PEER_DOWN };

enum tgt_cstate {
	TGT_C_DETACHED,
	TGT_C_ATTACHING,
	TGT_C_ATTACHED,
	TGT_C_DETACHING,
};

enum tgt_cstep {
	TGT_CSTEP_WAIT,	  /* nothing to do until something changes */
	TGT_CSTEP_ATTACH, /* send Attach (again, after a proxy restart) */
	TGT_CSTEP_DETACH, /* take routes and VIPs away, then send Detach */
	TGT_CSTEP_FAIL,	  /* the proxy is unreachable: fail the openers */
	TGT_CSTEP_FREE,	  /* nothing needs the conduit: free it */
};

/* The next step of a conduit in state st. needed: a stream of it is not
 * DONE; stale: it is attached but its proxy restarted since, so the
 * Attach must be repeated (the proxy answers with the same link). */
enum tgt_cstep tgt_conduit_next(enum tgt_cstate st, bool needed, bool stale,
				enum tgt_peer proxy);

enum tgt_sstate {
	TGT_S_OPENING, /* waiting for the link, the VIPs, then Register */
	TGT_S_OPEN,
	TGT_S_REREG, /* a refresh was refused; retried */
	TGT_S_CLOSING,
	TGT_S_DONE, /* unregistered; waits for its conduit, then goes */
};

enum tgt_sstep {
	TGT_SSTEP_WAIT,
	TGT_SSTEP_REGISTER,
	TGT_SSTEP_UNREGISTER,
	TGT_SSTEP_FAIL_NSP, /* opening while NSP is unreachable */
	TGT_SSTEP_TIMEOUT,  /* opening past its deadline */
	TGT_SSTEP_DONE,	    /* closing, and nothing is registered */
};

struct tgt_sview {
	enum tgt_sstate state;
	bool inflight;	   /* a Register or Unregister is unanswered */
	bool registered;   /* NSP holds the registration (as far as known) */
	bool link_ready;   /* its conduit is attached and its VIPs known */
	uint64_t due;	   /* OPEN, REREG: the next refresh */
	uint64_t deadline; /* OPENING: the Open's deadline */
};

/* The next step of a stream, given NSP's connection state and now. */
enum tgt_sstep tgt_stream_next(const struct tgt_sview *s, enum tgt_peer nsp,
			       uint64_t now);

/* The state's name in the status: "opening", "open", "re-registering",
 * "closing", "closed". */
const char *tgt_sstate_name(enum tgt_sstate st);

#endif
