/* The strait-traffic server: answers every request (traffic.h) over TCP and
 * UDP on one port, with its name.
 *
 * TCP: one listening socket; each connection is read as a stream of
 * requests and answered in order. Answers are collected per read and
 * written with one call; while the peer does not read them, the
 * connection stops reading once TRAFFIC_SERVER_BACKLOG bytes of answers
 * wait, so a slow client costs bounded memory.
 *
 * UDP: one socket with IP_PKTINFO/IPV6_RECVPKTINFO. Each answer is sent to
 * the datagram's source FROM the address the datagram was sent to (a VIP
 * on lo, say), not from whatever address the routing table would pick.
 *
 * An IPv6 address of "::" serves IPv4 too (IPV6_V6ONLY off).
 */
#ifndef STRAIT_TRAFFIC_SERVER_H
#define STRAIT_TRAFFIC_SERVER_H

#include <sys/socket.h>
#include <uv.h>

#define TRAFFIC_SERVER_BACKLOG (1u << 20)

struct traffic_server_config {
	const struct sockaddr *addr; /* address and port of both sockets */
	const char *name;	     /* 1..TRAFFIC_NAME_MAX bytes */
};

struct traffic_server;

/* Binds both sockets and starts serving on loop. Returns 0 and *out, or a
 * negative errno when a socket cannot be bound or listen (nothing is left
 * open: the loop may be closed after running it once), or -ENOMEM. */
int traffic_server_start(uv_loop_t *loop,
			 const struct traffic_server_config *cfg,
			 struct traffic_server **out);

/* Closes every socket and connection. The server frees itself once the
 * loop has run their close callbacks; s must not be used after this. */
void traffic_server_stop(struct traffic_server *s);

#endif
