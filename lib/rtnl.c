/* lib/rtnl: the socket and the one request runner every rtnl_*.c uses.
 *
 * We use libmnl for its socket and message/attribute helpers but not its
 * mnl_cb_run(): that stops reading at the first NLM_F_DUMP_INTR message or
 * error, leaving the rest of the reply in the socket to be mistaken for the
 * answer to the next request, and it drops the extended ack message. The
 * runner below reads every answer to its end, so the socket is always in
 * step when it returns.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "errtext.h"
#include "rtnl_impl.h"

/* How often a dump the kernel flagged as interrupted is tried again. A
 * table changing under every one of five reads means something is churning
 * it; the caller then gets -EINTR rather than an inconsistent picture. */
#define DUMP_TRIES 5

int rtnl_open(struct rtnl **out)
{
	struct rtnl *r;
	int one = 1;
	int rc;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!r->nl) {
		rc = -errno;
		goto free_r;
	}
	/* Each of these is best effort: without EXT_ACK errors lose their
	 * text, without CAP_ACK an error echoes the whole request (our
	 * buffer is big enough), without STRICT_CHK dumps are not filtered
	 * by the kernel (we filter again in user space anyway). */
	mnl_socket_setsockopt(r->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(r->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(r->nl, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		goto close_nl;
	}
	r->portid = mnl_socket_get_portid(r->nl);
	*out = r;
	return 0;

close_nl:
	mnl_socket_close(r->nl);
free_r:
	free(r);
	return rc;
}

void rtnl_close(struct rtnl *r)
{
	if (!r)
		return;
	mnl_socket_close(r->nl);
	free(r);
}

int rtnl_fd(const struct rtnl *r)
{
	return mnl_socket_get_fd(r->nl);
}

struct nlmsghdr *rtnl_msg(struct rtnl *r, uint16_t type, uint16_t flags,
			  size_t hdrlen, void **hdr)
{
	struct nlmsghdr *nlh;

	memset(r->sbuf, 0, NLMSG_HDRLEN + NLMSG_ALIGN(hdrlen));
	nlh = mnl_nlmsg_put_header(r->sbuf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	*hdr = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	return nlh;
}

/* Copies the NLMSGERR_ATTR_MSG of an error or done message, if any, into
 * msg. off is where the TLVs start in the payload. */
static void extack(const struct nlmsghdr *nlh, size_t off, char *msg,
		   size_t size)
{
	const struct nlattr *a;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    MNL_ALIGN(off) >= mnl_nlmsg_get_payload_len(nlh))
		return;
	mnl_attr_for_each(a, nlh, off)
	{
		if (mnl_attr_get_type(a) != NLMSGERR_ATTR_MSG ||
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
			continue;
		snprintf(msg, size, "%s", mnl_attr_get_str(a));
		return;
	}
}

/* The errno of an NLMSG_ERROR (0 for an ack), with its ack message. */
static int error_of(const struct nlmsghdr *nlh, char *msg, size_t size)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t plen = mnl_nlmsg_get_payload_len(nlh);
	size_t off;

	if (plen < sizeof(e->error))
		return -EBADMSG;
	if (e->error >= 0)
		return 0;
	if (plen < sizeof(*e))
		return e->error;
	/* Capped: the echoed request is only its header. Else all of it. */
	if (nlh->nlmsg_flags & NLM_F_CAPPED)
		off = sizeof(*e);
	else
		off = sizeof(e->error) + e->msg.nlmsg_len;
	extack(nlh, off, msg, size);
	return e->error;
}

/* A dump's NLMSG_DONE carries an int: 0, or the error that ended it. */
static int done_of(const struct nlmsghdr *nlh, char *msg, size_t size)
{
	int e;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(e))
		return 0;
	memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
	if (e < 0)
		extack(nlh, sizeof(e), msg, size);
	return e < 0 ? e : 0;
}

int rtnl_talk(struct rtnl *r, rtnl_msg_cb cb, void *arg, const char *what,
	      char *err, size_t errlen)
{
	struct nlmsghdr *req = (struct nlmsghdr *)r->sbuf;
	bool dump = (req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	bool done = false, intr = false;
	char ext[256] = "";
	uint32_t seq;
	int rc = 0;

	if (!dump)
		req->nlmsg_flags |= NLM_F_ACK;
	/* Sequence 0 is what notifications carry; never use it. */
	if (++r->seq == 0)
		r->seq = 1;
	seq = req->nlmsg_seq = r->seq;
	if (mnl_socket_sendto(r->nl, req, req->nlmsg_len) < 0) {
		rc = -errno;
		return errtext(rc, err, errlen, "%s: send: %s", what,
			       strerror(-rc));
	}

	while (!done) {
		const struct nlmsghdr *nlh = (const void *)r->rbuf;
		ssize_t got =
		    mnl_socket_recvfrom(r->nl, r->rbuf, sizeof(r->rbuf));
		int left, e;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			/* A datagram too big for the buffer is lost, but
			 * the rest of the answer still comes: read on. */
			if (errno == ENOSPC) {
				if (!rc)
					rc = -ENOSPC;
				continue;
			}
			/* ENOBUFS: the socket overflowed and our ack may be
			 * gone. Give up; a late answer is skipped by its
			 * sequence number at the next request. */
			rc = -errno;
			return errtext(rc, err, errlen, "%s: receive: %s", what,
				       strerror(-rc));
		}
		left = (int)got;
		for (; !done && mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			/* An answer to an earlier request we gave up on (see
			 * ENOBUFS above) is stale, not an error of this one. */
			if (nlh->nlmsg_seq != seq ||
			    (nlh->nlmsg_pid && nlh->nlmsg_pid != r->portid))
				continue;
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			switch (nlh->nlmsg_type) {
			case NLMSG_ERROR:
				e = error_of(nlh, ext, sizeof(ext));
				if (!rc)
					rc = e;
				done = true;
				break;
			case NLMSG_DONE:
				e = done_of(nlh, ext, sizeof(ext));
				if (!rc)
					rc = e;
				done = true;
				break;
			case NLMSG_OVERRUN:
				if (!rc)
					rc = -ENOBUFS;
				break;
			default:
				if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
					break;
				/* After an error or an interruption the rest
				 * is read only to keep the socket in step. */
				if (cb && !rc && !intr)
					rc = cb(nlh, arg);
				break;
			}
		}
	}

	if (!rc && intr)
		return errtext(-EINTR, err, errlen,
			       "%s: the dump was interrupted by changes", what);
	if (rc < 0)
		return errtext(rc, err, errlen, "%s: %s", what,
			       ext[0] ? ext : strerror(-rc));
	return rc;
}

struct collect {
	struct rtnl_vec *vec;
	rtnl_parse_fn parse;
	void *arg;
};

static int collect(const struct nlmsghdr *nlh, void *arg)
{
	struct collect *c = arg;
	struct rtnl_vec *v = c->vec;
	int rc;

	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 16;
		void *items = realloc(v->items, cap * v->size);

		if (!items)
			return -ENOMEM;
		v->items = items;
		v->cap = cap;
	}
	rc = c->parse(nlh, (char *)v->items + v->n * v->size, c->arg);
	if (rc > 0)
		v->n++;
	return rc < 0 ? rc : 0;
}

int rtnl_dump(struct rtnl *r, struct rtnl_vec *vec, rtnl_parse_fn parse,
	      void *arg, const char *what, char *err, size_t errlen)
{
	struct collect c = {vec, parse, arg};
	int rc = -EINTR;

	for (int i = 0; i < DUMP_TRIES && rc == -EINTR; i++) {
		vec->n = 0;
		rc = rtnl_talk(r, collect, &c, what, err, errlen);
	}
	return rc;
}

size_t rtnl_addr_size(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int rtnl_check_family(const struct cidr *c, int family)
{
	return !c || c->family == family ? 0 : -EINVAL;
}

void rtnl_put_addr(struct nlmsghdr *nlh, uint16_t type, const struct cidr *addr)
{
	mnl_attr_put(nlh, type, rtnl_addr_size(addr->family), addr->addr);
}

int rtnl_get_addr(const struct nlattr *a, int family, struct cidr *out)
{
	size_t size = rtnl_addr_size(family);

	memset(out, 0, sizeof(*out));
	if (!size || mnl_attr_get_payload_len(a) != size)
		return -EBADMSG;
	out->family = family;
	memcpy(out->addr, mnl_attr_get_payload(a), size);
	out->len = (uint8_t)(size * 8);
	return 0;
}

struct attrs {
	const struct nlattr **tb;
	uint16_t max;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	struct attrs *t = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

int rtnl_parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen,
		     const struct nlattr **tb, uint16_t max)
{
	struct attrs t = {tb, max};

	memset(tb, 0, (max + 1u) * sizeof(*tb));
	if (mnl_nlmsg_get_payload_len(nlh) < hdrlen)
		return -EBADMSG;
	if (mnl_attr_parse(nlh, (unsigned)hdrlen, attr_cb, &t) < 0)
		return -EBADMSG;
	return 0;
}

uint32_t rtnl_attr_u32(const struct nlattr *a, uint32_t dflt)
{
	if (!a || mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return dflt;
	return mnl_attr_get_u32(a);
}
