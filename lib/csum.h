/* The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 * Pure; no I/O, no allocation.
 *
 * Values. A sum is the ones' complement sum of the big-endian 16-bit words
 * of the bytes, kept in a uint32_t that may carry unfolded carries: any
 * uint32_t is a valid sum. The sums returned here are below 2^18, so
 * thousands of them add with plain + without overflow, and the total is
 * a sum again. A checksum or a folded sum is a uint16_t whose numeric
 * value the caller writes most significant byte first:
 *
 *   bytes   45 00 00 73 ...        word 0x4500, word 0x0073, ...
 *   field   put_be16(p + 10, csum_final(csum_add(0, p, 20)))
 *
 * so nothing here depends on the host's byte order.
 *
 * Not Linux's names: here csum_fold() only folds, and csum_final() folds
 * and complements (Linux's csum_fold() does both).
 *
 * Two kinds of checksum field, as Linux tells them apart in
 * inet_proto_csum_replace4():
 *
 *   full      the field holds the complement of the folded sum of all
 *             the bytes it covers (with the field taken as 0). The sum
 *             over all the bytes, field included, folds to 0xffff.
 *   partial   a TCP or UDP field the sender has not finished (Linux's
 *             CHECKSUM_PARTIAL, virtio's VIRTIO_NET_HDR_F_NEEDS_CSUM):
 *             it holds the folded pseudo-header sum, NOT complemented,
 *             and whoever finishes it adds the L4 bytes later. Only a
 *             change to the pseudo-header (addresses, length) touches it;
 *             a change to the L4 bytes (a port, an option) does not.
 *
 * Replacing bytes. The _replace_ helpers return the field's new value when
 * the covered bytes from[] become to[]. The bytes must start at an even
 * offset of the checksummed data, as every IP address and every 16-bit
 * header field does. A 16-bit word at an odd offset (a TCP option's value
 * after one NOP) counts in the sum with its bytes swapped: pass both
 * values byte-swapped to the _word helpers.
 *
 * A valid full field stays valid, and becomes exactly what a
 * recomputation over the new bytes gives (RFC 1624 eqn. 3, which keeps
 * the +0/-0 ambiguity out of the result); a wrong one stays wrong by as
 * much. Replacing to[] by from[] again gives the original field back,
 * unless that was the other zero: a full field of 0xffff comes back
 * 0x0000, a partial one of 0x0000 comes back 0xffff. UDP's "0 means no
 * checksum" is the caller's business: a full UDP result of 0 is sent as
 * 0xffff.
 */
#ifndef STRAIT_CSUM_H
#define STRAIT_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds len bytes at data to sum (any uint32_t); returns the result
 * folded, at most 0xffff. Any alignment; data is taken as starting at an
 * even offset of the checksummed bytes, and an odd len counts its last
 * byte as the high byte of a word whose low byte is 0. So a sum may be
 * built piece by piece, e.g. pseudo-header then L4 bytes, as long as
 * every piece but the last has an even length. */
uint32_t csum_add(uint32_t sum, const void *data, size_t len);

/* The sum folded to 16 bits (end-around carries added in). Not
 * complemented. 0 only when every word summed was 0. */
uint16_t csum_fold(uint32_t sum);

/* The value of a full checksum field over bytes whose sum is sum (the
 * field's own bytes taken as 0): ~csum_fold(sum). */
uint16_t csum_final(uint32_t sum);

/* The pseudo-header sums of TCP, UDP and ICMPv6 (RFC 9293 3.1, RFC 768,
 * RFC 8200 8.1): the addresses, the protocol and the upper-layer length
 * (the L4 header and payload in bytes). A partial field holds
 * csum_fold() of this; a full one csum_final() of this plus the L4 sum. */
uint32_t csum_pseudo4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
		      uint16_t len);
uint32_t csum_pseudo6(const uint8_t src[16], const uint8_t dst[16],
		      uint8_t proto, uint32_t len);

/* A full checksum field check, after the covered 16-bit word from
 * becomes to. */
uint16_t csum_replace_word(uint16_t check, uint16_t from, uint16_t to);

/* A full checksum field check, after the len covered bytes from[] become
 * to[] (an address: len 4 or 16; any len, even or odd, is summed as
 * csum_add() does). */
uint16_t csum_replace_bytes(uint16_t check, const void *from, const void *to,
			    size_t len);

/* The same for a partial field: for a change inside the pseudo-header
 * (an address, the length). The result is a partial field again. */
uint16_t csum_partial_replace_word(uint16_t check, uint16_t from, uint16_t to);
uint16_t csum_partial_replace_bytes(uint16_t check, const void *from,
				    const void *to, size_t len);

#endif
