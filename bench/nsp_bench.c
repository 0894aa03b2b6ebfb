/* nsp_bench: how fast NSP's registry converges on many watchers.
 *
 * Phase 1 (flood): W watchers connect and take their snapshot; then one
 * client registers N targets across S streams, keeping a window of calls in
 * flight. Reported: the time until every watcher has seen all N, and the
 * latency from each Register being sent to each watcher seeing its event.
 * Phase 2 (paced): C status changes at R per second; the latency of each to
 * each watcher, which is the propagation delay with no backlog.
 * With --pid, NSP's CPU time and peak memory over the run.
 *
 * Output: a readable table, or one JSON object with --json. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nsp.pb-c.h"
#include "rpc.h"
#include "sockaddr.h"

struct bench;

struct watcher {
	struct bench *b;
	struct rpc_client *c;
	size_t seen;       /* distinct ADDED since the snapshot */
	bool synced;
	uint64_t done_ns;  /* when it had all N */
};

struct bench {
	uv_loop_t loop;
	struct sockaddr_storage addr;
	size_t n_targets, n_watchers, n_streams, window, n_changes, rate;
	const char *trench, *conduit;
	struct watcher *w;
	struct rpc_client *reg;
	size_t up, synced_watchers, done_watchers;
	size_t sent, acked, failed;
	int phase; /* 0 connect, 1 flood, 2 paced, 3 finished */
	uint64_t t0;
	uint64_t *sent_ns;    /* by revision - base */
	uint64_t base_rev;    /* revision before phase 1 */
	double *lat;          /* ms samples */
	size_t n_lat, cap_lat;
	size_t phase2_events, phase2_start;
	uv_timer_t pacer, guard;
	bool timed_out;
	double flood_ms;
	size_t lat1_n;
};

static uint64_t now_ns(void)
{
	return uv_hrtime();
}

static void sample(struct bench *b, uint64_t rev, uint64_t at)
{
	if (rev <= b->base_rev)
		return;
	uint64_t i = rev - b->base_rev - 1;
	if (i >= b->n_targets + b->n_changes || !b->sent_ns[i])
		return;
	if (b->n_lat == b->cap_lat) {
		b->cap_lat = b->cap_lat ? b->cap_lat * 2 : 1 << 16;
		b->lat = realloc(b->lat, b->cap_lat * sizeof(double));
	}
	b->lat[b->n_lat++] = (double)(at - b->sent_ns[i]) / 1e6;
}

static void finish_flood(struct bench *b);
static void start_paced(struct bench *b);

static void on_watch(void *data, const Rpc__Status *st,
		     const ProtobufCMessage *msg)
{
	struct watcher *w = data;
	struct bench *b = w->b;
	if (!msg) {
		if (b->phase < 3)
			fprintf(stderr, "nsp_bench: a watch ended: %s: %s\n",
				rpc_code_name(st->code), st->message);
		return;
	}
	const Nsp__TargetWatchResponse *r = (const Nsp__TargetWatchResponse *)msg;
	uint64_t at = now_ns();
	if (!w->synced) {
		if (r->synced) {
			w->synced = true;
			b->synced_watchers++;
		}
		return;
	}
	for (size_t i = 0; i < r->n_events; i++) {
		const Nsp__TargetEvent *e = r->events[i];
		sample(b, e->revision, at);
		if (b->phase == 1 && e->kind == NSP__TARGET_EVENT__KIND__ADDED &&
		    ++w->seen == b->n_targets) {
			w->done_ns = at;
			if (++b->done_watchers == b->n_watchers)
				finish_flood(b);
		}
		if (b->phase == 2 &&
		    ++b->phase2_events == b->n_changes * b->n_watchers) {
			b->phase = 3;
			uv_stop(&b->loop);
		}
	}
}

static void fill_target(struct bench *b, size_t i, Nsp__Target *t,
			Nsp__StreamRef *ref, char *ip, char *stream, char **ips,
			bool disabled)
{
	nsp__target__init(t);
	nsp__stream_ref__init(ref);
	snprintf(ip, 32, "198.18.%zu.%zu/16", (i / 250) % 256, i % 250 + 1);
	snprintf(stream, 32, "stream-%zu", i % b->n_streams);
	ips[0] = ip;
	ref->trench = (char *)b->trench;
	ref->conduit = (char *)b->conduit;
	ref->stream = stream;
	t->stream = ref;
	t->ips = ips;
	t->n_ips = 1;
	t->type = NSP__TARGET_TYPE__TARGET;
	t->status = disabled ? NSP__TARGET_STATUS__DISABLED
			     : NSP__TARGET_STATUS__ENABLED;
}

static void send_one(struct bench *b);

static void on_registered(void *data, const Rpc__Status *st,
			  const ProtobufCMessage *msg)
{
	struct bench *b = data;
	if (!msg) {
		b->failed++;
		fprintf(stderr, "nsp_bench: register failed: %s: %s\n",
			rpc_code_name(st->code), st->message);
		return;
	}
	b->acked++;
	if (b->phase == 1)
		send_one(b);
}

/* The revision a change will get is not known until its reply; but the
 * registrar is the only writer, so the k-th change is base + k. */
static void send_change(struct bench *b, size_t k, size_t target,
			bool disabled)
{
	Nsp__Target t;
	Nsp__StreamRef ref;
	char ip[32], stream[32], *ips[1];
	fill_target(b, target, &t, &ref, ip, stream, ips, disabled);
	Nsp__RegisterRequest req = NSP__REGISTER_REQUEST__INIT;
	req.target = &t;
	b->sent_ns[k] = now_ns();
	if (rpc_client_call(b->reg, "nsp.TargetRegistry/Register", &req.base,
			    &nsp__register_response__descriptor, on_registered,
			    b, NULL) < 0)
		b->failed++;
}

static void send_one(struct bench *b)
{
	if (b->sent < b->n_targets) {
		send_change(b, b->sent, b->sent, false);
		b->sent++;
	}
}

static void on_pace(uv_timer_t *t)
{
	struct bench *b = t->data;
	size_t k = b->sent - b->n_targets;
	if (k >= b->n_changes) {
		uv_timer_stop(t);
		return;
	}
	/* Toggle a target to disabled: one UPDATED event per change. */
	send_change(b, b->sent, k % b->n_targets, true);
	b->sent++;
}

static void finish_flood(struct bench *b)
{
	b->flood_ms = (double)(now_ns() - b->t0) / 1e6;
	b->lat1_n = b->n_lat;
	start_paced(b);
}

static void start_paced(struct bench *b)
{
	b->phase = 2;
	if (b->n_changes == 0) {
		b->phase = 3;
		uv_stop(&b->loop);
		return;
	}
	uint64_t every = 1000 / (b->rate ? b->rate : 1);
	uv_timer_start(&b->pacer, on_pace, 0, every ? every : 1);
}

static void on_base(void *data, const Rpc__Status *st,
		    const ProtobufCMessage *msg)
{
	struct bench *b = data;
	if (!msg) {
		fprintf(stderr, "nsp_bench: list failed: %s\n", st->message);
		uv_stop(&b->loop);
		return;
	}
	const Nsp__TargetListResponse *r = (const Nsp__TargetListResponse *)msg;
	if (r->n_targets) {
		fprintf(stderr,
			"nsp_bench: NSP already holds %zu targets; start it with an empty store\n",
			r->n_targets);
		uv_stop(&b->loop);
		return;
	}
	b->base_rev = r->revision;
	b->phase = 1;
	b->t0 = now_ns();
	for (size_t i = 0; i < b->window; i++)
		send_one(b);
}

static void maybe_start(struct bench *b)
{
	if (b->phase != 0 || b->up < b->n_watchers + 1 ||
	    b->synced_watchers < b->n_watchers)
		return;
	Nsp__TargetListRequest req = NSP__TARGET_LIST_REQUEST__INIT;
	rpc_client_call(b->reg, "nsp.TargetRegistry/List", &req.base,
			&nsp__target_list_response__descriptor, on_base, b,
			NULL);
	b->phase = -1;
}

static void on_state(struct rpc_client *c, bool up, void *data)
{
	struct bench *b = data;
	if (!up)
		return;
	b->up++;
	for (size_t i = 0; i < b->n_watchers; i++) {
		if (b->w[i].c != c)
			continue;
		Nsp__TargetWatchRequest req = NSP__TARGET_WATCH_REQUEST__INIT;
		rpc_client_call(c, "nsp.TargetRegistry/Watch", &req.base,
				&nsp__target_watch_response__descriptor,
				on_watch, &b->w[i], NULL);
	}
}

static void on_check(uv_timer_t *t)
{
	maybe_start(t->data);
}

static void on_guard(uv_timer_t *t)
{
	struct bench *b = t->data;
	b->timed_out = true;
	uv_stop(&b->loop);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

struct proc {
	double cpu_s;
	long rss_kb, hwm_kb;
};

static int read_proc(int pid, struct proc *p)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	unsigned long ut = 0, st = 0;
	if (fgets(line, sizeof(line), f)) {
		char *s = strrchr(line, ')');
		if (s)
			sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			       &ut, &st);
	}
	fclose(f);
	p->cpu_s = (double)(ut + st) / 100.0;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %ld", &p->rss_kb);
		sscanf(line, "VmHWM: %ld", &p->hwm_kb);
	}
	fclose(f);
	return 0;
}

static void closed(void *data)
{
	(void)data;
}

static void usage(void)
{
	printf("Usage: nsp_bench [--nsp ADDR] [--targets N] [--watchers W] [--streams S]\n"
	       "                 [--window K] [--changes C] [--rate R] [--pid PID] [--json]\n"
	       "Registers N targets over S streams (trench-a/load-balancer/stream-0..S-1)\n"
	       "with K calls in flight while W watchers follow, then makes C paced\n"
	       "changes at R per second. Defaults: 10000 targets, 100 watchers,\n"
	       "100 streams, window 64, 1000 changes at 200/s.\n");
}

int main(int argc, char **argv)
{
	struct bench b = {
		.n_targets = 10000,
		.n_watchers = 100,
		.n_streams = 100,
		.window = 64,
		.n_changes = 1000,
		.rate = 200,
		.trench = "trench-a",
		.conduit = "load-balancer",
	};
	const char *nsp = "127.0.0.1:7778";
	int pid = 0, json = 0;
	static const struct option longs[] = {
		{ "nsp", 1, NULL, 'n' },      { "targets", 1, NULL, 't' },
		{ "watchers", 1, NULL, 'w' }, { "streams", 1, NULL, 's' },
		{ "window", 1, NULL, 'k' },   { "changes", 1, NULL, 'c' },
		{ "rate", 1, NULL, 'r' },     { "pid", 1, NULL, 'p' },
		{ "json", 0, NULL, 'j' },     { "help", 0, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 'n': nsp = optarg; break;
		case 't': b.n_targets = strtoul(optarg, NULL, 10); break;
		case 'w': b.n_watchers = strtoul(optarg, NULL, 10); break;
		case 's': b.n_streams = strtoul(optarg, NULL, 10); break;
		case 'k': b.window = strtoul(optarg, NULL, 10); break;
		case 'c': b.n_changes = strtoul(optarg, NULL, 10); break;
		case 'r': b.rate = strtoul(optarg, NULL, 10); break;
		case 'p': pid = atoi(optarg); break;
		case 'j': json = 1; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (!b.n_targets || !b.n_watchers || !b.n_streams || !b.window ||
	    b.n_targets > 62500) {
		fprintf(stderr, "nsp_bench: counts must be positive, targets at most 62500\n");
		return 2;
	}
	log_init("nsp_bench", LOG_WARN);
	if (sockaddr_parse(nsp, 7778, &b.addr) < 0) {
		fprintf(stderr, "nsp_bench: --nsp '%s' is not an address\n", nsp);
		return 2;
	}
	uv_loop_init(&b.loop);
	b.sent_ns = calloc(b.n_targets + b.n_changes, sizeof(uint64_t));
	b.w = calloc(b.n_watchers, sizeof(*b.w));
	struct proc p0 = { 0 }, p1 = { 0 };
	if (pid)
		read_proc(pid, &p0);

	struct rpc_client_config cc = { .on_state = on_state, .data = &b };
	for (size_t i = 0; i < b.n_watchers; i++) {
		b.w[i].b = &b;
		rpc_client_start(&b.loop, (struct sockaddr *)&b.addr, &cc,
				 &b.w[i].c);
	}
	rpc_client_start(&b.loop, (struct sockaddr *)&b.addr, &cc, &b.reg);
	uv_timer_t check;
	uv_timer_init(&b.loop, &check);
	check.data = &b;
	uv_timer_start(&check, on_check, 10, 10);
	uv_timer_init(&b.loop, &b.pacer);
	b.pacer.data = &b;
	uv_timer_init(&b.loop, &b.guard);
	b.guard.data = &b;
	uv_timer_start(&b.guard, on_guard, 300000, 0);

	uint64_t start = now_ns();
	uv_run(&b.loop, UV_RUN_DEFAULT);
	double total_s = (double)(now_ns() - start) / 1e9;
	if (pid)
		read_proc(pid, &p1);

	int rc = 0;
	if (b.timed_out || b.phase != 3) {
		fprintf(stderr, "nsp_bench: did not finish (phase %d, %zu/%zu watchers done, %zu acked)\n",
			b.phase, b.done_watchers, b.n_watchers, b.acked);
		rc = 1;
	}
	double *l1 = b.lat, *l2 = b.lat + b.lat1_n;
	size_t n1 = b.lat1_n, n2 = b.n_lat - b.lat1_n;
	qsort(l1, n1, sizeof(double), cmp);
	qsort(l2, n2, sizeof(double), cmp);
	double cpu = p1.cpu_s - p0.cpu_s;
	if (json) {
		printf("{\"targets\":%zu,\"watchers\":%zu,\"streams\":%zu,"
		       "\"converge_ms\":%.1f,\"registrations_per_s\":%.0f,"
		       "\"flood_latency_ms\":{\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f},"
		       "\"paced_changes\":%zu,\"paced_rate\":%zu,"
		       "\"paced_latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
		       "\"nsp_cpu_s\":%.2f,\"nsp_cpu_pct\":%.1f,\"nsp_rss_kb\":%ld,\"nsp_peak_rss_kb\":%ld,\"failed\":%zu}\n",
		       b.n_targets, b.n_watchers, b.n_streams, b.flood_ms,
		       b.flood_ms > 0 ? (double)b.n_targets / (b.flood_ms / 1e3) : 0,
		       pct(l1, n1, .5), pct(l1, n1, .99), n1 ? l1[n1 - 1] : 0,
		       b.n_changes, b.rate, pct(l2, n2, .5), pct(l2, n2, .99),
		       n2 ? l2[n2 - 1] : 0, cpu, 100 * cpu / total_s, p1.rss_kb,
		       p1.hwm_kb, b.failed);
	} else {
		printf("NSP convergence: %zu targets over %zu streams, %zu watchers\n",
		       b.n_targets, b.n_streams, b.n_watchers);
		printf("  %-44s %10.1f ms (%.0f registrations/s)\n",
		       "all watchers hold all targets after", b.flood_ms,
		       b.flood_ms > 0 ? (double)b.n_targets / (b.flood_ms / 1e3) : 0);
		printf("  %-44s p50 %7.2f  p99 %7.2f  max %7.2f ms\n",
		       "flood: Register sent -> watcher has event", pct(l1, n1, .5),
		       pct(l1, n1, .99), n1 ? l1[n1 - 1] : 0);
		printf("  %-44s p50 %7.3f  p99 %7.3f  max %7.3f ms\n",
		       "paced: one change -> each watcher", pct(l2, n2, .5),
		       pct(l2, n2, .99), n2 ? l2[n2 - 1] : 0);
		printf("  (paced: %zu changes at %zu/s, %zu samples)\n", b.n_changes,
		       b.rate, n2);
		if (pid)
			printf("  %-44s %.2f s CPU (%.0f%% of one core), RSS %ld KiB, peak %ld KiB\n",
			       "NSP", cpu, 100 * cpu / total_s, p1.rss_kb, p1.hwm_kb);
	}

	for (size_t i = 0; i < b.n_watchers; i++)
		rpc_client_close(b.w[i].c, closed, NULL);
	rpc_client_close(b.reg, closed, NULL);
	uv_close((uv_handle_t *)&check, NULL);
	uv_close((uv_handle_t *)&b.pacer, NULL);
	uv_close((uv_handle_t *)&b.guard, NULL);
	uv_run(&b.loop, UV_RUN_DEFAULT);
	uv_loop_close(&b.loop);
	free(b.sent_ns);
	free(b.w);
	free(b.lat);
	return rc;
}
