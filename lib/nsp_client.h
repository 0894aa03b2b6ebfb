/* What every daemon that registers itself in NSP (strait-lb's frontend,
 * strait-proxy, strait-tun) does alike on the way out. */
#ifndef STRAIT_NSP_CLIENT_H
#define STRAIT_NSP_CLIENT_H

#include <stdint.h>

#include "nsp.pb-c.h"
#include "rpc.h"

/* Unregisters t (nsp.TargetRegistry/Unregister) and waits up to
 * timeout_ms for NSP's answer, running the client's loop; logs the outcome
 * ("nsp: unregistered" followed by what, or why not: without an answer
 * the registration's lease ends it). Does nothing when nsp is NULL or not
 * connected. Returns rpc_client_call_wait()'s result (-ENOTCONN when not
 * connected). */
int nsp_unregister_wait(struct rpc_client *nsp, Nsp__Target *t,
			uint64_t timeout_ms, const char *what);

#endif
