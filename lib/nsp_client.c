#include "nsp_client.h"

#include <errno.h>
#include <string.h>

#include "log.h"

int nsp_unregister_wait(struct rpc_client *nsp, Nsp__Target *t,
			uint64_t timeout_ms, const char *what)
{
	if (!nsp || !rpc_client_connected(nsp))
		return -ENOTCONN;
	Nsp__UnregisterRequest req = NSP__UNREGISTER_REQUEST__INIT;
	req.target = t;
	int rc = rpc_client_call_wait(
	    nsp, "nsp.TargetRegistry/Unregister", &req.base,
	    &nsp__unregister_response__descriptor, timeout_ms);
	if (rc == 0)
		log_info("nsp: unregistered%s", what);
	else if (rc == -ETIMEDOUT)
		log_warn("nsp: no answer to the Unregister%s in %llu ms; the "
			 "lease will end it",
			 what, (unsigned long long)timeout_ms);
	else
		log_warn("nsp: the Unregister%s failed (%s); the lease will "
			 "end it",
			 what, strerror(-rc));
	return rc;
}
