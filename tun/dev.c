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

int tun_dev_setup(const char *name, unsigned mtu, int *ifindex, char *err,
		  size_t len)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return errtext(-errno, err, len, "socket: %s", strerror(errno));
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	int rc = 0;
	ifr.ifr_mtu = (int)mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
		rc = errtext(-errno, err, len, "%s: MTU %u: %s", name, mtu,
			     strerror(errno));
	else if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		rc = errtext(-errno, err, len, "%s: flags: %s", name,
			     strerror(errno));
	else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			rc = errtext(-errno, err, len, "%s: up: %s", name,
				     strerror(errno));
	}
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
