/* The flow classifier: which flow of a trench a packet belongs to. Pure; no
 * I/O, no clock.
 *
 * lb_flows_build() compiles the Flow and Vip messages of one trench (as NSP
 * serves them) into an immutable classifier. The daemon builds a new one off
 * to the side whenever flows or VIPs change and swaps the pointer in at once,
 * like the Maglev tables: a packet is classified either by the old set of
 * flows or by the new one, never by a half-built mix. The old classifier is
 * freed once no packet is being classified with it.
 *
 * Matching. A packet matches a flow when every criterion the flow gives
 * matches; an empty list matches everything:
 *
 *   VIPs              the packet's destination is one of the flow's VIP
 *                     addresses (exact, /32 or /128). A flow without VIPs
 *                     matches no packet.
 *   protocols         the packet's protocol is one of them, compared by
 *                     IANA number: "icmp" is ICMP for IPv4 (1) and "icmpv6"
 *                     is ICMPv6 (58), so a dual-stack flow that wants pings
 *                     on both names both. Empty: every IP protocol.
 *   source subnets    the source address lies in one of them; a subnet of
 *                     the other family never matches.
 *   port ranges       source and destination each: the port lies in one of
 *                     the ranges. Port ranges constrain only TCP, UDP and
 *                     SCTP packets, as in nfqlb and Meridio: a flow with
 *                     protocols [tcp, icmp] and destination port 80 takes
 *                     TCP to port 80 and every ICMP packet. (ICMP echo
 *                     identifiers, which the parser puts in sport and
 *                     dport, are never compared with port ranges.)
 *   byte matches      every byte match of the packet's protocol holds on the
 *                     L4 bytes at hand (lib/match.h). A byte match of another
 *                     protocol does not constrain the packet (nfqlb's rule),
 *                     so "tcp[...]" in a [tcp, udp] flow leaves UDP alone.
 *                     A packet too short for a byte match does not match.
 *
 * The highest priority among the matching flows wins. Ties between flows of
 * equal priority go to the flow whose name sorts first (strcmp, byte by
 * byte), so every LB picks the same flow whatever order NSP listed them in.
 * No match: lb_flows_classify() returns NULL and the LB drops the packet.
 *
 * Packets whose constraints cannot be tested. A criterion that applies to a
 * packet but cannot be evaluated does not match, so such a packet falls to
 * the best flow that does not depend on the missing bytes:
 *   - A non-first fragment (p->fragment && !p->first_fragment) carries no
 *     L4 header: flows with port ranges or byte matches for its protocol do
 *     not match it. The daemon normally sends such fragments to their
 *     datagram's target through the fragment table (lib/fragtab.h) and
 *     classifies them only when that fails.
 *   - A TCP, UDP or SCTP packet cut short before its ports (has_ports false)
 *     does not match flows with port ranges.
 *   - An ICMP error (p->icmp_error) is classified by its inner flow fields,
 *     which the parser has already turned into the client->VIP direction,
 *     so the error matches the flow of the connection it is about (path MTU
 *     discovery). Byte matches cannot be tested on it (the inner packet
 *     went the other way and is cut short), so flows with byte matches for
 *     the inner protocol do not match it; the connection table, which the
 *     daemon consults first, is what sends errors of byte-matched
 *     connections to their target.
 *
 * Speed. Flows are indexed by VIP address: a hash of the destination finds
 * the VIP's flows, already sorted by priority (then name), and the first that
 * matches wins. The checks run cheapest first: protocol (a bitmap), ports,
 * source subnets, byte matches. Many flows spread over many VIPs cost only
 * the flows of the packet's own VIP.
 *
 * Threads: a built classifier is read-only, so any number of threads may
 * classify with it at once. The match counters are plain uint64_t that the
 * daemon increments; with several threads, use atomic increments or one
 * thread per classifier.
 */
#ifndef STRAIT_LB_FLOW_H
#define STRAIT_LB_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "nsp.pb-c.h"

#include "packet.h"

struct lb_flows;
struct lb_flow;

/* Compiles n_flows flows and the n_vips VIPs they reference (by name) into a
 * new classifier, returned in *out, which the caller frees with
 * lb_flows_free(). The messages are only read; the classifier keeps copies
 * of everything it needs, so they may be freed right after.
 *
 * NSP has validated the configuration; this checks again, defensively, and
 * refuses with -EINVAL what it cannot compile: a VIP address that is not a
 * single address, a duplicate flow or VIP name, a flow that names an unknown
 * VIP, a subnet, port range, protocol or byte match that lib/cidr or
 * lib/match does not parse. err (errlen bytes, may be NULL when errlen is 0)
 * then says which flow or VIP and which field, e.g.
 * 'flow "f": protocols: "gre" is not a protocol'.
 * Returns 0, -EINVAL or -ENOMEM; *out is written only on success. */
int lb_flows_build(Nsp__Flow *const *flows, size_t n_flows,
		   Nsp__Vip *const *vips, size_t n_vips, struct lb_flows **out,
		   char *err, size_t errlen);

/* Frees a classifier, its flows and its counters. NULL is ignored. */
void lb_flows_free(struct lb_flows *f);

/* The flow packet p belongs to under the rules above, or NULL when no flow
 * matches. The pointer is valid as long as f. */
const struct lb_flow *lb_flows_classify(const struct lb_flows *f,
					const struct pkt *p);

/* The number of flows, and flow i in name order (i < lb_flows_count), for
 * listings. The index of a flow is its position in that order. */
size_t lb_flows_count(const struct lb_flows *f);
const struct lb_flow *lb_flows_at(const struct lb_flows *f, size_t i);

/* The flow of that name, or NULL. O(log n). */
const struct lb_flow *lb_flows_find(const struct lb_flows *f, const char *name);

/* The match counters: lb_flows_count() uint64_t, indexed by flow index,
 * zero after build, owned by the classifier and freed with it. The
 * classifier never touches them; the daemon increments the counter of the
 * flow each packet was classified into. They are separate from the
 * read-only flows, which is why a const classifier hands out a writable
 * array. */
uint64_t *lb_flows_counters(const struct lb_flows *f);

/* Copies the counters of old's flows into the flows of the same name in f,
 * so that a configuration change does not reset straitctl's figures for the
 * flows it kept. Flows new in f keep 0. O(n + m). old may be NULL. */
void lb_flows_carry_counters(struct lb_flows *f, const struct lb_flows *old);

/* A flow's name, its stream's name, its priority, its index (see
 * lb_flows_at) and its counter (a pointer into lb_flows_counters). The
 * strings live as long as the classifier. */
const char *lb_flow_name(const struct lb_flow *fl);
const char *lb_flow_stream(const struct lb_flow *fl);
int32_t lb_flow_priority(const struct lb_flow *fl);
size_t lb_flow_index(const struct lb_flow *fl);
uint64_t *lb_flow_counter(const struct lb_flow *fl);

/* The hash the daemon feeds to a stream's Maglev table to pick a target.
 *
 * XXH3-64 with a fixed seed (LB_FLOW_HASH_SEED) over, in this order: the
 * family (1 byte: 4 or 6), the protocol (1 byte), the source and the
 * destination address (4 bytes each for IPv4, 16 for IPv6), the source and
 * the destination port (2 bytes each, big endian), as the parser set them:
 * 0 for packets without ports, the echo identifier for ICMP echo. The same
 * packet hashes the same on every LB, on every host byte order, so LBs behind
 * one ECMP router agree on targets without talking to each other (XXH3's
 * output is stable since xxhash 0.8.0).
 *
 * The hash is not symmetric: a->b and b->a differ, since the LB only sees
 * the client->VIP direction. An ICMP error hashes like the flow it is about,
 * because its fields are that flow's. A non-first fragment has no ports and
 * so hashes differently from its first fragment: the daemon sends fragments
 * through the fragment table instead. */
#define LB_FLOW_HASH_SEED UINT64_C(0x73747261697421) /* "strait!" */
uint64_t lb_flow_hash(const struct pkt *p);

#endif
