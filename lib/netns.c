/* lib/netns: opening namespaces and sockets in them. See netns.h for the
 * enter, open, return trick.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>
#include <linux/nsfs.h>

#include "netns.h"
#include "rtnl.h"

/* The thread's own namespace: /proc/self would be the main thread's,
 * which another thread may not share. */
#define SELF "/proc/thread-self/ns/net"

int netns_open(const char *path)
{
	struct statfs sfs;
	int fd, type, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* ENOTTY: not a namespace file, or a kernel before 4.11 without the
	 * ioctl. Then being on nsfs is the best check there is; it cannot
	 * tell a network namespace from another kind, but setns() will. */
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type >= 0)
		rc = type == CLONE_NEWNET ? 0 : -EINVAL;
	else if (fstatfs(fd, &sfs) < 0)
		rc = -errno;
	else
		rc = sfs.f_type == NSFS_MAGIC ? 0 : -EINVAL;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int netns_is_self(int fd)
{
	struct stat ns, self;

	if (fstat(fd, &ns) < 0 || stat(SELF, &self) < 0)
		return -errno;
	return ns.st_dev == self.st_dev && ns.st_ino == self.st_ino;
}

/* Moves the calling thread into nsfd's namespace. *self receives an fd of
 * the namespace it left, for leave(). Returns 0 or -errno (the thread has
 * not moved). */
static int enter(int nsfd, int *self)
{
	int rc;

	*self = open(SELF, O_RDONLY | O_CLOEXEC);
	if (*self < 0)
		return -errno;
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		rc = -errno;
		close(*self);
		return rc;
	}
	return 0;
}

/* Returns the thread to self and closes it. A thread that cannot return
 * would go on creating links and sockets in someone else's namespace: the
 * process stops instead. */
static void leave(int self)
{
	if (setns(self, CLONE_NEWNET) < 0)
		abort();
	close(self);
}

int netns_socket(int nsfd, int domain, int type, int protocol)
{
	int self, fd, rc;

	rc = enter(nsfd, &self);
	if (rc < 0)
		return rc;
	fd = socket(domain, type | SOCK_CLOEXEC, protocol);
	rc = fd < 0 ? -errno : fd;
	leave(self);
	return rc;
}

int netns_rtnl_open(int nsfd, struct rtnl **out)
{
	int self, rc;

	rc = enter(nsfd, &self);
	if (rc < 0)
		return rc;
	rc = rtnl_open(out);
	leave(self);
	return rc;
}
