/* ipam_load: allocates COUNT names over NODES nodes, a window of calls in
 * flight, and prints a line per acknowledged allocation, flushed at once:
 *   ACK <name> <node> <address> <created 0|1>
 * Names are <PREFIX>-<i>, on node node-<i % NODES>. Whatever is printed was
 * acknowledged by IPAM and must survive a kill -9 of it.
 * Usage: ipam_load ADDR TRENCH CONDUIT NODES PREFIX COUNT [KILL_PID KILL_AT]
 * With KILL_PID, it sends SIGKILL to that process right after printing the
 * KILL_AT-th acknowledgement, with its window still in flight.
 * Exits 0 when all are acknowledged, 1 on a failure or a lost connection
 * (a FAIL line says which), 2 on bad usage. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipam.pb-c.h"
#include "log.h"
#include "rpc.h"
#include "sockaddr.h"

struct load {
	uv_loop_t loop;
	struct rpc_client *c;
	const char *trench, *conduit, *prefix;
	unsigned nodes, count, sent, acked, kill_at;
	int kill_pid, rc;
	bool started;
};

struct pending {
	struct load *l;
	char name[64], node[32];
};

static void send_next(struct load *l);

static void on_reply(void *data, const Rpc__Status *st,
		     const ProtobufCMessage *msg)
{
	struct pending *p = data;
	struct load *l = p->l;
	if (!msg) {
		printf("FAIL %s %s%s%s: %s\n", p->name, rpc_code_name(st->code),
		       st->reason && *st->reason ? " " : "",
		       st->reason ? st->reason : "", st->message);
		fflush(stdout);
		free(p);
		l->rc = 1;
		uv_stop(&l->loop);
		return;
	}
	const Ipam__AllocateResponse *r = (const Ipam__AllocateResponse *)msg;
	printf("ACK %s %s %s %d\n", p->name, p->node, r->address, r->created);
	fflush(stdout);
	free(p);
	if (++l->acked == l->kill_at && l->kill_pid > 0)
		kill(l->kill_pid, SIGKILL);
	if (l->acked == l->count) {
		l->rc = 0;
		uv_stop(&l->loop);
		return;
	}
	send_next(l);
}

static void send_next(struct load *l)
{
	if (l->sent >= l->count)
		return;
	unsigned i = l->sent++;
	struct pending *p = malloc(sizeof(*p));
	p->l = l;
	snprintf(p->name, sizeof(p->name), "%s-%u", l->prefix, i);
	snprintf(p->node, sizeof(p->node), "node-%u", i % l->nodes);
	Ipam__Child child = IPAM__CHILD__INIT;
	child.name = p->name;
	child.trench = (char *)l->trench;
	child.conduit = (char *)l->conduit;
	child.node = p->node;
	child.family = IPAM__FAMILY__IPV4;
	Ipam__AllocateRequest req = IPAM__ALLOCATE_REQUEST__INIT;
	req.child = &child;
	if (rpc_client_call(l->c, "ipam.Ipam/Allocate", &req.base,
			    &ipam__allocate_response__descriptor, on_reply, p,
			    NULL) < 0) {
		free(p);
		printf("FAIL not connected\n");
		l->rc = 1;
		uv_stop(&l->loop);
	}
}

static void on_state(struct rpc_client *c, bool up, void *data)
{
	struct load *l = data;
	(void)c;
	if (up && !l->started) {
		l->started = true;
		for (int i = 0; i < 16; i++)
			send_next(l);
	} else if (!up && l->started) {
		printf("FAIL connection lost after %u acknowledged\n", l->acked);
		fflush(stdout);
		l->rc = 1;
		uv_stop(&l->loop);
	}
}

int main(int argc, char **argv)
{
	if (argc < 7) {
		fprintf(stderr, "usage: ipam_load ADDR TRENCH CONDUIT NODES PREFIX "
				"COUNT [KILL_PID KILL_AT]\n");
		return 2;
	}
	struct load l = { .trench = argv[2], .conduit = argv[3],
			  .prefix = argv[5], .rc = 1 };
	l.nodes = (unsigned)strtoul(argv[4], NULL, 10);
	l.count = (unsigned)strtoul(argv[6], NULL, 10);
	if (argc > 8) {
		l.kill_pid = atoi(argv[7]);
		l.kill_at = (unsigned)strtoul(argv[8], NULL, 10);
	}
	struct sockaddr_storage ss;
	if (sockaddr_parse(argv[1], 7777, &ss) < 0 || !l.count || !l.nodes) {
		fprintf(stderr, "ipam_load: bad address or count\n");
		return 2;
	}
	log_init("ipam_load", LOG_ERROR);
	uv_loop_init(&l.loop);
	struct rpc_client_config cfg = { .on_state = on_state, .data = &l };
	rpc_client_start(&l.loop, (struct sockaddr *)&ss, &cfg, &l.c);
	uv_run(&l.loop, UV_RUN_DEFAULT);
	rpc_client_close(l.c, NULL, NULL);
	uv_run(&l.loop, UV_RUN_DEFAULT);
	uv_loop_close(&l.loop);
	return l.rc;
}
