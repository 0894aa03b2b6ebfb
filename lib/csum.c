/* The Internet checksum (contract in csum.h).
 *
 * Since 2^16 = 1 modulo 0xffff, the ones' complement sum of 16-bit words
 * is the same as that of the 32-bit words they pair into, folded: so
 * csum_add() reads four bytes at a time into a 64-bit accumulator, which
 * cannot overflow before 2^32 words (16 GB), and folds once at the end.
 * It returns the folded value so that callers may add sums with +.
 * Bytes are assembled by shifts, not loaded as words, so that alignment
 * and host byte order never matter; compilers turn the shifts into one
 * load and a byte swap.
 */
#include "csum.h"

uint16_t csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *b = data;
	uint64_t acc = sum;

	for (; len >= 4; b += 4, len -= 4)
		acc += (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		       (uint32_t)b[2] << 8 | b[3];
	if (len >= 2) {
		acc += (uint32_t)b[0] << 8 | b[1];
		b += 2;
		len -= 2;
	}
	if (len)
		acc += (uint32_t)b[0] << 8;
	/* Two folds take any 64-bit value to 32 bits: the first leaves at
	 * most 2^33 - 2, whose high half is then 1 only with a low half of
	 * at most 2^32 - 2, so the second cannot carry out. Then to 16. */
	acc = (acc & 0xffffffff) + (acc >> 32);
	acc = (acc & 0xffffffff) + (acc >> 32);
	return csum_fold((uint32_t)acc);
}

uint16_t csum_final(uint32_t sum)
{
	return (uint16_t)~csum_fold(sum);
}

uint32_t csum_pseudo4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
		      uint16_t len)
{
	uint32_t sum = csum_add(0, src, 4);

	sum = csum_add(sum, dst, 4);
	return sum + proto + len;
}

uint32_t csum_pseudo6(const uint8_t src[16], const uint8_t dst[16],
		      uint8_t proto, uint32_t len)
{
	uint32_t sum = csum_add(0, src, 16);

	sum = csum_add(sum, dst, 16);
	return sum + (len >> 16) + (len & 0xffff) + proto;
}

/* RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), with m and m' the folded sums
 * of the old and new bytes: the complement of a sum is the sum of the
 * complements, so a multi-word change is one step. Eqn. 3 rather than
 * eqn. 2 (HC - ~m - m') because its fold of non-zero terms cannot yield
 * +0, so the result is never 0xffff where a recomputation gives 0. */
static uint16_t replace(uint16_t check, uint16_t from, uint16_t to)
{
	return csum_final((uint32_t)(uint16_t)~check + (uint16_t)~from + to);
}

/* A partial field holds the sum itself, not its complement: no
 * complement on the way in or out (Linux: inet_proto_csum_replace4() on
 * CHECKSUM_PARTIAL). */
static uint16_t partial_replace(uint16_t check, uint16_t from, uint16_t to)
{
	return csum_fold((uint32_t)check + (uint16_t)~from + to);
}

uint16_t csum_replace_word(uint16_t check, uint16_t from, uint16_t to)
{
	return replace(check, from, to);
}

uint16_t csum_replace_bytes(uint16_t check, const void *from, const void *to,
			    size_t len)
{
	return replace(check, csum_fold(csum_add(0, from, len)),
		       csum_fold(csum_add(0, to, len)));
}

uint16_t csum_partial_replace_word(uint16_t check, uint16_t from, uint16_t to)
{
	return partial_replace(check, from, to);
}

uint16_t csum_partial_replace_bytes(uint16_t check, const void *from,
				    const void *to, size_t len)
{
	return partial_replace(check, csum_fold(csum_add(0, from, len)),
			       csum_fold(csum_add(0, to, len)));
}
