/* Inside lib/rtnl: the handle, the one request runner and the helpers the
 * rtnl_*.c files share. Not for use outside lib/rtnl*.c.
 */
#ifndef STRAIT_RTNL_IMPL_H
#define STRAIT_RTNL_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "cidr.h"
#include "rtnl.h"

/* One request at a time, so one buffer each way, owned by the handle.
 * The receive side is larger than a page because a dump's datagrams can be
 * (the kernel sizes them up to 32 KiB for big routes); a smaller buffer
 * would truncate and fail with -ENOSPC. */
#define RTNL_SEND_SIZE 8192
#define RTNL_RECV_SIZE 32768

struct rtnl {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	char sbuf[RTNL_SEND_SIZE] __attribute__((aligned(8)));
	char rbuf[RTNL_RECV_SIZE] __attribute__((aligned(8)));
};

/* Starts a request in r->sbuf: header of type with NLM_F_REQUEST | flags,
 * and a zeroed family header of hdrlen bytes, returned in *hdr. */
struct nlmsghdr *rtnl_msg(struct rtnl *r, uint16_t type, uint16_t flags,
			  size_t hdrlen, void **hdr);

/* Called for each data message of a reply. Returns 0 to go on or a
 * negative errno, which becomes the request's result (the rest of the
 * reply is still read, so the socket stays in step). */
typedef int (*rtnl_msg_cb)(const struct nlmsghdr *nlh, void *arg);

/* Sends the request in r->sbuf and reads its whole answer: the runner.
 * A request gets NLM_F_ACK and ends at the kernel's ack or error; a dump
 * (NLM_F_DUMP) ends at NLMSG_DONE. what names the operation for err.
 * Returns 0, the kernel's -errno, cb's error, or -EINTR for a dump the
 * kernel flagged as interrupted (see rtnl_dump). */
int rtnl_talk(struct rtnl *r, rtnl_msg_cb cb, void *arg, const char *what,
	      char *err, size_t errlen);

/* A growing array of parsed records, filled by a dump. */
struct rtnl_vec {
	void *items;
	size_t n, cap, size; /* size: one item's bytes */
};

/* Turns one dump message into an item. Returns 1 to keep it, 0 to skip
 * it, or a negative errno. */
typedef int (*rtnl_parse_fn)(const struct nlmsghdr *nlh, void *item, void *arg);

/* Runs the dump request in r->sbuf into vec (emptied first), retrying a
 * few times when the kernel flags it as interrupted: a caller sees one
 * consistent snapshot or -EINTR. vec->items is the caller's to free(). */
int rtnl_dump(struct rtnl *r, struct rtnl_vec *vec, rtnl_parse_fn parse,
	      void *arg, const char *what, char *err, size_t errlen);

/* Puts addr's address (4 or 16 bytes) as attribute type. */
void rtnl_put_addr(struct nlmsghdr *nlh, uint16_t type,
		   const struct cidr *addr);

/* Reads an address attribute of family into out with full length.
 * Returns 0 or -EBADMSG when the size does not fit the family. */
int rtnl_get_addr(const struct nlattr *a, int family, struct cidr *out);

/* The address size of family: 4, 16, or 0 when neither inet family. */
size_t rtnl_addr_size(int family);

/* -EINVAL unless c is NULL or of family. */
int rtnl_check_family(const struct cidr *c, int family);

/* The u32 attribute a, or dflt when absent or of the wrong size. */
uint32_t rtnl_attr_u32(const struct nlattr *a, uint32_t dflt);

/* Parses the attributes after a family header of hdrlen bytes into tb,
 * indexed by type up to max. Returns 0 or -EBADMSG. */
int rtnl_parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen,
		     const struct nlattr **tb, uint16_t max);

#endif
