/* nsp_load: registers targets one after another (a window in flight) and
 * prints a line per acknowledged registration, flushed at once:
 *   ACK <ip> <identifier> <revision>
 * For the crash test: whatever was printed was acknowledged by NSP, and
 * must survive a kill -9 of NSP.
 * Usage: nsp_load ADDR TRENCH CONDUIT STREAM COUNT [FIRST [KILL_PID KILL_AT]]
 * With KILL_PID, it sends SIGKILL to that process right after printing the
 * KILL_AT-th acknowledgement, with its window of calls still in flight: a
 * crash in mid-stream at a point no scheduler delay can move.
 * With NSP_LOAD_CONTEXT=N in the environment, each target carries a context
 * entry "pad" of N bytes (up to 1024), to make events large.
 * Exits 0 when all COUNT are acknowledged, 1 when the connection is lost
 * or a call fails (the line says why), 2 on bad usage. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nsp.pb-c.h"
#include "rpc.h"
#include "sockaddr.h"

struct load {
	uv_loop_t loop;
	struct rpc_client *c;
	const char *trench, *conduit, *stream;
	unsigned count, first, sent, acked;
	int kill_pid;
	unsigned kill_at;
	char pad[1025];
	int rc;
	bool started;
};

static void send_next(struct load *l);

static void on_reply(void *data, const Rpc__Status *st,
		     const ProtobufCMessage *msg)
{
	struct load *l = data;
	if (!msg) {
		printf("FAIL %s: %s\n", rpc_code_name(st->code), st->message);
		fflush(stdout);
		l->rc = 1;
		uv_stop(&l->loop);
		return;
	}
	const Nsp__RegisterResponse *r = (const Nsp__RegisterResponse *)msg;
	printf("ACK %s %u %llu\n", r->target->ips[0], r->target->identifier,
	       (unsigned long long)r->revision);
	fflush(stdout);
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
	unsigned i = l->first + l->sent++;
	char ip[40];
	snprintf(ip, sizeof(ip), "198.18.%u.%u/16", (i / 250) % 256, i % 250 + 1);
	char *ips[1] = { ip };
	Nsp__StreamRef ref = NSP__STREAM_REF__INIT;
	ref.trench = (char *)l->trench;
	ref.conduit = (char *)l->conduit;
	ref.stream = (char *)l->stream;
	Nsp__Target t = NSP__TARGET__INIT;
	t.ips = ips;
	t.n_ips = 1;
	t.stream = &ref;
	Nsp__Target__ContextEntry entry = NSP__TARGET__CONTEXT_ENTRY__INIT;
	Nsp__Target__ContextEntry *entries[1] = { &entry };
	if (l->pad[0]) {
		entry.key = "pad";
		entry.value = l->pad;
		t.context = entries;
		t.n_context = 1;
	}
	Nsp__RegisterRequest req = NSP__REGISTER_REQUEST__INIT;
	req.target = &t;
	if (rpc_client_call(l->c, "nsp.TargetRegistry/Register", &req.base,
			    &nsp__register_response__descriptor, on_reply, l,
			    NULL) < 0) {
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
		l->rc = 1;
		uv_stop(&l->loop);
	}
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: nsp_load ADDR TRENCH CONDUIT STREAM COUNT "
				"[FIRST [KILL_PID KILL_AT]]\n");
		return 2;
	}
	struct load l = { .trench = argv[2], .conduit = argv[3],
			  .stream = argv[4], .rc = 1 };
	l.count = (unsigned)strtoul(argv[5], NULL, 10);
	l.first = argc > 6 ? (unsigned)strtoul(argv[6], NULL, 10) : 0;
	if (argc > 8) {
		l.kill_pid = atoi(argv[7]);
		l.kill_at = (unsigned)strtoul(argv[8], NULL, 10);
	}
	struct sockaddr_storage ss;
	if (sockaddr_parse(argv[1], 7778, &ss) < 0 || l.count == 0) {
		fprintf(stderr, "nsp_load: bad address or count\n");
		return 2;
	}
	const char *pad = getenv("NSP_LOAD_CONTEXT");
	size_t padlen = pad ? strtoul(pad, NULL, 10) : 0;
	if (padlen > 1024)
		padlen = 1024;
	memset(l.pad, 'x', padlen);
	l.pad[padlen] = '\0';
	log_init("nsp_load", LOG_ERROR);
	uv_loop_init(&l.loop);
	struct rpc_client_config cfg = { .on_state = on_state, .data = &l };
	rpc_client_start(&l.loop, (struct sockaddr *)&ss, &cfg, &l.c);
	uv_run(&l.loop, UV_RUN_DEFAULT);
	rpc_client_close(l.c, NULL, NULL);
	uv_run(&l.loop, UV_RUN_DEFAULT);
	uv_loop_close(&l.loop);
	return l.rc;
}
