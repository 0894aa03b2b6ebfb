/* The strait header codec (contract in hdr.h). */
#include <errno.h>
#include <string.h>

#include <xxhash.h>

#include "hdr.h"

uint32_t tun_trench_tag(const char *trench)
{
	return XXH32(trench, strlen(trench), 0);
}

void tun_hdr_encode(uint8_t out[TUN_HDR_LEN], uint8_t flags, uint32_t tag)
{
	out[0] = TUN_HDR_VERSION;
	out[1] = flags & TUN_HDR_F_KNOWN;
	out[2] = 0;
	out[3] = 0;
	out[4] = (uint8_t)(tag >> 24);
	out[5] = (uint8_t)(tag >> 16);
	out[6] = (uint8_t)(tag >> 8);
	out[7] = (uint8_t)tag;
}

int tun_hdr_decode(const uint8_t *buf, size_t len, uint32_t tag, uint8_t *flags)
{
	if (len < TUN_HDR_LEN)
		return -EBADMSG;
	if (buf[0] != TUN_HDR_VERSION)
		return -EPROTONOSUPPORT;
	uint32_t got = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 |
		       (uint32_t)buf[6] << 8 | buf[7];
	if (got != tag)
		return -EACCES;
	*flags = buf[1] & TUN_HDR_F_KNOWN;
	return 0;
}
