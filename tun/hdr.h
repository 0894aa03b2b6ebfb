/* The strait header: the 8 bytes in front of every inner packet on
 * strait-tun's UDP leg (docs/tun.md, "Wire format"). Pure; no I/O.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +---------------+-------------+-+-+-------------------------------+
 *   |  version = 1  |  reserved   |C|R|        reserved (0)           |
 *   +---------------+-------------+-+-+-------------------------------+
 *   |                  trench tag: XXH32(trench name, 0)              |
 *   +-----------------------------------------------------------------+
 *
 * Byte 0 is the version, byte 1 holds the flags (R = 0x01, C = 0x02, the
 * other six bits reserved), bytes 2-3 are reserved, bytes 4-7 are the
 * trench tag in network byte order (big-endian), like every multi-byte
 * field on the wire.
 *
 * Reserved bits are written as 0 and ignored on reading: decoding never
 * refuses a header for them and never reports them.
 */
#ifndef STRAIT_TUN_HDR_H
#define STRAIT_TUN_HDR_H

#include <stddef.h>
#include <stdint.h>

#define TUN_HDR_LEN 8
#define TUN_HDR_VERSION 1

/* Flags, in byte 1. */
#define TUN_HDR_F_REPLY 0x01 /* R: a reply of a tunnelled flow */
#define TUN_HDR_F_CSUM 0x02  /* C: the inner L4 checksum is partial */
#define TUN_HDR_F_KNOWN (TUN_HDR_F_REPLY | TUN_HDR_F_CSUM)

/* The trench tag of a trench name: XXH32 of its bytes (without the
 * terminating NUL) with seed 0. Every node of a trench computes the same
 * tag from the same name. */
uint32_t tun_trench_tag(const char *trench);

/* Writes the 8 header bytes at out: version 1, the known bits of flags
 * (the others are dropped: reserved bits are sent as 0), tag. */
void tun_hdr_encode(uint8_t out[TUN_HDR_LEN], uint8_t flags, uint32_t tag);

/* Reads the header at the start of len bytes at buf and checks it against
 * the expected trench tag. Returns 0 with *flags set to the known flags
 * (reserved bits cleared), or, with *flags untouched:
 *   -EBADMSG          fewer than TUN_HDR_LEN bytes
 *   -EPROTONOSUPPORT  a version other than 1
 *   -EACCES           a trench tag other than tag
 * in that order of checks. All three are the daemon's `bad_header`. */
int tun_hdr_decode(const uint8_t *buf, size_t len, uint32_t tag,
		   uint8_t *flags);

#endif
