/* Network namespaces by path: strait-proxy works in its own namespace and
 * reaches into pods' and LBs' namespaces for a moment at a time.
 *
 * The trick every function here uses: a socket belongs for its whole life
 * to the namespace its creating thread was in. So the calling thread
 * enters the other namespace with setns(2), opens the socket, and returns
 * to its own at once; the socket (a netlink handle, a packet socket) then
 * works in the other namespace from any thread. Nothing else runs in the
 * other namespace. Not safe against another thread of the process using
 * setns on the same thread meanwhile (strait calls these from the main
 * loop's thread only).
 */
#ifndef STRAIT_NETNS_H
#define STRAIT_NETNS_H

struct rtnl;

/* Opens path ("/proc/PID/ns/net", "/run/netns/NAME") read-only and
 * close-on-exec and checks that it is a network namespace. Returns the fd
 * (>= 0), -ENOENT when path does not exist, -EINVAL when it is not a
 * network namespace, or another -errno. */
int netns_open(const char *path);

/* 1 when fd is the calling thread's own namespace, 0 when another, or
 * -errno. */
int netns_is_self(int fd);

/* Opens a socket(domain, type, protocol) in the namespace of nsfd.
 * Returns the fd (close-on-exec) or -errno; the thread is back in its own
 * namespace whatever happens (if it cannot return, the process aborts:
 * going on in the wrong namespace would corrupt the host). */
int netns_socket(int nsfd, int domain, int type, int protocol);

/* rtnl_open() in the namespace of nsfd. Returns 0 or -errno. */
int netns_rtnl_open(int nsfd, struct rtnl **out);

#endif
