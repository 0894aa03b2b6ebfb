/* ipam_bench: durable allocations per second and the latency of one.
 *
 * C clients (separate connections) each allocate N/C new names, K calls in
 * flight per client (K = 1 measures the latency of one allocation alone).
 * Names spread over nodes so that no /24 fills. Reported: allocations per
 * second over the run, and latency p50/p99/max from send to reply.
 * Usage: ipam_bench [--ipam ADDR] [--count N] [--clients C] [--window K]
 *                   [--nodes M] [--tag T] [--json] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipam.pb-c.h"
#include "log.h"
#include "rpc.h"
#include "sockaddr.h"

struct bench;
struct client {
	struct bench *b;
	struct rpc_client *c;
	unsigned id, sent, done;
	bool started;
};
struct pend {
	struct client *cl;
	uint64_t t0;
};
struct bench {
	uv_loop_t loop;
	unsigned count, clients, window, nodes, per, finished, failed;
	const char *tag;
	struct client *cl;
	double *lat;
	size_t n_lat;
	uint64_t t0, t1;
	bool started;
};

static void send_one(struct client *cl);

static void on_reply(void *data, const Rpc__Status *st,
		     const ProtobufCMessage *msg)
{
	struct pend *p = data;
	struct client *cl = p->cl;
	struct bench *b = cl->b;
	uint64_t now = uv_hrtime();
	if (!msg) {
		if (b->failed++ == 0)
			fprintf(stderr, "ipam_bench: %s %s: %s (further failures counted only)\n",
				rpc_code_name(st->code), st->reason ? st->reason : "",
				st->message);
	} else {
		b->lat[b->n_lat++] = (double)(now - p->t0) / 1e6;
	}
	free(p);
	if (++cl->done == b->per && ++b->finished == b->clients) {
		b->t1 = now;
		uv_stop(&b->loop);
		return;
	}
	send_one(cl);
}

static void send_one(struct client *cl)
{
	struct bench *b = cl->b;
	if (cl->sent >= b->per)
		return;
	unsigned i = cl->sent++;
	char name[64], node[32];
	snprintf(name, sizeof(name), "%s-c%u-%u", b->tag, cl->id, i);
	snprintf(node, sizeof(node), "node-%u", (cl->id * b->per + i) % b->nodes);
	Ipam__Child child = IPAM__CHILD__INIT;
	child.name = name;
	child.trench = "bench";
	child.conduit = "lb";
	child.node = node;
	child.family = IPAM__FAMILY__IPV4;
	Ipam__AllocateRequest req = IPAM__ALLOCATE_REQUEST__INIT;
	req.child = &child;
	struct pend *p = malloc(sizeof(*p));
	p->cl = cl;
	p->t0 = uv_hrtime();
	if (rpc_client_call(cl->c, "ipam.Ipam/Allocate", &req.base,
			    &ipam__allocate_response__descriptor, on_reply, p,
			    NULL) < 0) {
		free(p);
		b->failed++;
	}
}

static void on_state(struct rpc_client *c, bool up, void *data)
{
	struct bench *b = data;
	(void)c;
	if (!up)
		return;
	for (unsigned i = 0; i < b->clients; i++)
		if (!rpc_client_connected(b->cl[i].c))
			return;
	if (b->started)
		return;
	b->started = true;
	b->t0 = uv_hrtime();
	for (unsigned i = 0; i < b->clients; i++)
		for (unsigned k = 0; k < b->window; k++)
			send_one(&b->cl[i]);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	return n ? v[(size_t)(p * (double)(n - 1) + 0.5)] : 0;
}

int main(int argc, char **argv)
{
	struct bench b = { .count = 4000, .clients = 1, .window = 1,
			   .nodes = 100, .tag = "b" };
	const char *addr = "127.0.0.1:7777";
	int json = 0, c;
	static const struct option longs[] = {
		{ "ipam", 1, NULL, 'a' },  { "count", 1, NULL, 'n' },
		{ "clients", 1, NULL, 'c' }, { "window", 1, NULL, 'k' },
		{ "nodes", 1, NULL, 'm' }, { "tag", 1, NULL, 't' },
		{ "json", 0, NULL, 'j' },  { "help", 0, NULL, 'h' },
		{ 0 },
	};
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'n': b.count = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'c': b.clients = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'k': b.window = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'm': b.nodes = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': b.tag = optarg; break;
		case 'j': json = 1; break;
		default:
			printf("Usage: ipam_bench [--ipam ADDR] [--count N] [--clients C] "
			       "[--window K] [--nodes M] [--tag T] [--json]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (!b.count || !b.clients || !b.window || !b.nodes ||
	    b.count % b.clients) {
		fprintf(stderr, "ipam_bench: positive counts, --count a multiple of --clients\n");
		return 2;
	}
	b.per = b.count / b.clients;
	struct sockaddr_storage ss;
	if (sockaddr_parse(addr, 7777, &ss) < 0) {
		fprintf(stderr, "ipam_bench: --ipam '%s' is not an address\n", addr);
		return 2;
	}
	log_init("ipam_bench", LOG_WARN);
	uv_loop_init(&b.loop);
	b.lat = calloc(b.count, sizeof(double));
	b.cl = calloc(b.clients, sizeof(*b.cl));
	struct rpc_client_config cfg = { .on_state = on_state, .data = &b };
	for (unsigned i = 0; i < b.clients; i++) {
		b.cl[i].b = &b;
		b.cl[i].id = i;
		rpc_client_start(&b.loop, (struct sockaddr *)&ss, &cfg, &b.cl[i].c);
	}
	uv_run(&b.loop, UV_RUN_DEFAULT);
	double secs = (double)(b.t1 - b.t0) / 1e9;
	qsort(b.lat, b.n_lat, sizeof(double), cmp);
	double rate = secs > 0 ? (double)b.n_lat / secs : 0;
	if (json)
		printf("{\"clients\":%u,\"window\":%u,\"allocations\":%zu,\"per_s\":%.0f,"
		       "\"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f},\"failed\":%u}\n",
		       b.clients, b.window, b.n_lat, rate, pct(b.lat, b.n_lat, .5),
		       pct(b.lat, b.n_lat, .99), b.n_lat ? b.lat[b.n_lat - 1] : 0,
		       b.failed);
	else
		printf("%2u client(s) x %2u in flight: %6zu allocations %8.0f/s  "
		       "latency p50 %7.3f  p99 %7.3f  max %7.3f ms%s\n",
		       b.clients, b.window, b.n_lat, rate, pct(b.lat, b.n_lat, .5),
		       pct(b.lat, b.n_lat, .99), b.n_lat ? b.lat[b.n_lat - 1] : 0,
		       b.failed ? "  (FAILURES)" : "");
	for (unsigned i = 0; i < b.clients; i++)
		rpc_client_close(b.cl[i].c, NULL, NULL);
	uv_run(&b.loop, UV_RUN_DEFAULT);
	uv_loop_close(&b.loop);
	free(b.lat);
	free(b.cl);
	return b.failed ? 1 : 0;
}
