/* The TUN device: created with IFF_VNET_HDR so that the kernel hands over
 * (and takes) 64 KB TSO/USO packets with a virtio_net_hdr in front, and
 * checksums left partial. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errtext.h"
#include "log.h"
#include "sysctl.h"
#include "tun.h"

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

int tun_dev_open(const char *name, char *err, size_t len)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errtext(-errno, err, len, "/dev/net/tun: %s",
			       strerror(errno));
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		return errtext(-e, err, len, "creating %s: %s", name,
			       strerror(e));
	}
	int hdrsz = 10; /* struct virtio_net_hdr, no num_buffers */
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdrsz) < 0) {
		int e = errno;
		close(fd);
		return errtext(-e, err, len, "%s: TUNSETVNETHDRSZ: %s", name,
			       strerror(e));
	}
	unsigned base = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	if (ioctl(fd, TUNSETOFFLOAD, base | TUN_F_USO4 | TUN_F_USO6) < 0) {
		if (ioctl(fd, TUNSETOFFLOAD, base) < 0) {
			int e = errno;
			close(fd);
			return errtext(-e, err, len, "%s: TUNSETOFFLOAD: %s",
				       name, strerror(e));
		}
		log_info("%s: TSO offloads on (this kernel has no USO)", name);
	}
	return fd;
}

/* Sets ifr's flags on the device (s: any socket). */
static int set_flags(int s, struct ifreq *ifr, const char *what, char *err,
		     size_t len)
{
	if (ioctl(s, SIOCSIFFLAGS, ifr) < 0)
		return errtext(-errno, err, len, "%s: %s: %s", ifr->ifr_name,
			       what, strerror(errno));
	return 0;
}

/* net.ipv6.conf.NAME.KEY = value. */
static int ipv6_conf(const char *name, const char *key, const char *value,
		     char *err, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", name,
		 key);
	return sysctl_write(path, value, err, len);
}

int tun_dev_setup(const char *name, unsigned mtu, int *ifindex, char *err,
		  size_t len)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return errtext(-errno, err, len, "socket: %s", strerror(errno));
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	/* No IPv6 packets of its own, which strait-tun would only read and
	 * drop. No address (routes through the device need none): no
	 * link-local, DAD or router solicitations. No multicast: a device
	 * created while forwarding is on has joined the all-routers groups,
	 * and would report them once up; forwarding off leaves them while it
	 * still has IFF_MULTICAST, and back on once it has not, joins none
	 * (it forwards like every device, net.ipv6.conf.all.forwarding). The
	 * leave itself is queued as a report for the first up; going down
	 * again at once drops it, before its delay has run. */
	int rc = ipv6_conf(name, "addr_gen_mode", "1", err, len);
	if (rc == 0)
		rc = ipv6_conf(name, "forwarding", "0", err, len);
	ifr.ifr_mtu = (int)mtu;
	if (rc == 0 && ioctl(s, SIOCSIFMTU, &ifr) < 0)
		rc = errtext(-errno, err, len, "%s: MTU %u: %s", name, mtu,
			     strerror(errno));
	if (rc == 0 && ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		rc = errtext(-errno, err, len, "%s: flags: %s", name,
			     strerror(errno));
	ifr.ifr_flags &= ~IFF_MULTICAST;
	if (rc == 0)
		rc = set_flags(s, &ifr, "multicast off", err, len);
	if (rc == 0)
		rc = ipv6_conf(name, "forwarding", "1", err, len);
	ifr.ifr_flags |= IFF_UP;
	if (rc == 0)
		rc = set_flags(s, &ifr, "up", err, len);
	ifr.ifr_flags &= ~IFF_UP;
	if (rc == 0)
		rc = set_flags(s, &ifr, "down", err, len);
	ifr.ifr_flags |= IFF_UP;
	if (rc == 0)
		rc = set_flags(s, &ifr, "up", err, len);
	close(s);
	if (rc == 0) {
		unsigned i = if_nametoindex(name);
		if (!i)
			return errtext(-errno, err, len, "%s: index: %s", name,
				       strerror(errno));
		*ifindex = (int)i;
	}
	return rc;
}
