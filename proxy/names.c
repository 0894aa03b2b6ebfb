/* Names strait-proxy gives to links and IPAM children (pure). Link names
 * carry a hash of what they stand for, so a restarted proxy finds its own
 * links by name and two attachments never fight over one. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "errtext.h"
#include "proxy.h"

#define NAME_SEED 0x73747261u /* "stra" */

int proxy_check_name(const char *name, char *err, size_t len)
{
	size_t n = strlen(name);
	if (n == 0 || n > PROXY_NAME_MAX)
		return errtext(-EINVAL, err, len,
			       "name '%.80s' must have 1 to %d characters",
			       name, PROXY_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isgraph(c) || c == '/')
			return errtext(-EINVAL, err, len,
				       "name '%.80s' has a space, '/' or a "
				       "control character",
				       name);
	}
	return 0;
}

static uint32_t hash(const char *s)
{
	return XXH32(s, strlen(s), NAME_SEED);
}

void proxy_bridge_name(const char *conduit, char out[PROXY_IFNAMSIZ])
{
	if (strlen(conduit) <= PROXY_IFNAMSIZ - 1 - 4) {
		snprintf(out, PROXY_IFNAMSIZ, "stb-%s", conduit);
		return;
	}
	snprintf(out, PROXY_IFNAMSIZ, "stb-%.6s%05x", conduit,
		 (unsigned)(hash(conduit) & 0xfffff));
}

void proxy_link_name(const char *prefix, const char *key,
		     char out[PROXY_IFNAMSIZ])
{
	snprintf(out, PROXY_IFNAMSIZ, "%.3s%08x", prefix, (unsigned)hash(key));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void proxy_lb_name(char *const *ips, size_t n, char out[PROXY_NAME_MAX + 8])
{
	const char *sorted[16];
	if (n > 16)
		n = 16;
	memcpy(sorted, ips, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_str);
	char key[16 * 64];
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(key + len, sizeof(key) - len, "%.62s,",
					sorted[i]);
	snprintf(out, PROXY_NAME_MAX + 8, "lb-%08x",
		 (unsigned)XXH32(key, len, NAME_SEED));
}

int proxy_check_ifname(const char *ifname)
{
	size_t n = strlen(ifname);
	if (n == 0 || n >= PROXY_IFNAMSIZ)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)ifname[i]) || ifname[i] == '/' ||
		    ifname[i] == ':')
			return -EINVAL;
	return 0;
}

void proxy_mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
}

int proxy_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

void proxy_bridge_mac(const char *trench, const char *conduit,
		      const char *node, uint8_t mac[6])
{
	char key[3 * (PROXY_NAME_MAX + 1) + 8];
	int n = snprintf(key, sizeof(key), "%.64s/%.64s/%.64s", trench,
			 conduit, node);
	uint64_t h = XXH64(key, (size_t)n, NAME_SEED);
	mac[0] = 0x02; /* locally administered, unicast */
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
}
