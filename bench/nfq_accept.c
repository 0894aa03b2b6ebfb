/* nfq_accept: the bare accept-all NFQUEUE baseline of the LB benchmark.
 *
 *   nfq_accept [--single-verdicts] [--copy BYTES] QUEUE[:LAST] ...
 *
 * Serves each queue (a number, or a range FIRST:LAST as given to iptables'
 * --queue-balance) with lb/nfq on a thread of its own running a plain
 * poll(2) loop, and accepts every packet: no parsing, no mark. GSO is on
 * (lb/nfq always asks for it). This is the ceiling strait-lb is measured
 * against: the same module, the same batching, nothing else.
 *
 * --single-verdicts sends one verdict message per packet instead of batch
 * verdicts, to measure what batching is worth. On SIGINT or SIGTERM every
 * thread stops and the counters of each queue go to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lb/nfq.h"

#define MAX_QUEUES 64

struct worker {
	pthread_t thread;
	uint16_t queue;
	struct lb_nfq *q;
	int stop_fd; /* read end of the stop pipe, shared by all workers */
	int err;
};

static int stop_pipe[2] = {-1, -1};

static void on_stop(int sig)
{
	(void)sig;
	/* Async-signal-safe: one byte wakes every worker's poll. */
	char b = 0;
	if (write(stop_pipe[1], &b, 1) < 0) {
		/* Nothing to do from a signal handler. */
	}
}

static int accept_all(void *data, const struct lb_nfq_packet *p)
{
	return lb_nfq_verdict(data, p->id, NF_ACCEPT, 0);
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct pollfd pfd[2] = {
	    {.fd = lb_nfq_fd(w->q), .events = POLLIN},
	    {.fd = w->stop_fd, .events = POLLIN},
	};

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			w->err = -errno;
			break;
		}
		if (pfd[1].revents)
			break;
		int n = lb_nfq_receive(w->q, accept_all, w->q);
		int err = lb_nfq_flush(w->q);
		if (n < 0 && n != -EINTR) {
			w->err = n;
			break;
		}
		if (err) {
			w->err = err;
			break;
		}
	}
	return NULL;
}

static int parse_queues(const char *s, uint16_t *qs, unsigned *n)
{
	char *end;
	unsigned long first, last;

	errno = 0;
	first = strtoul(s, &end, 10);
	if (errno || end == s || first > 65535)
		return -EINVAL;
	last = first;
	if (*end == ':') {
		const char *l = end + 1;
		last = strtoul(l, &end, 10);
		if (errno || end == l || last > 65535 || last < first)
			return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	for (unsigned long q = first; q <= last; q++) {
		if (*n == MAX_QUEUES)
			return -E2BIG;
		qs[(*n)++] = (uint16_t)q;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: nfq_accept [--single-verdicts] [--copy BYTES] "
			"QUEUE[:LAST] ...\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"single-verdicts", no_argument, NULL, 's'},
	    {"copy", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	struct lb_nfq_config cfg = {0};
	static struct worker w[MAX_QUEUES];
	uint16_t qs[MAX_QUEUES];
	unsigned nq = 0, started = 0;
	char err[256];
	int o, rc = 0;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			cfg.single_verdicts = true;
			break;
		case 'c':
			cfg.copy_range = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind == argc) {
		usage();
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		if (parse_queues(argv[i], qs, &nq)) {
			fprintf(stderr, "nfq_accept: bad queue '%s'\n",
				argv[i]);
			return 2;
		}
	}

	if (pipe(stop_pipe) < 0) {
		perror("nfq_accept: pipe");
		return 1;
	}
	/* Workers inherit this mask: only the main thread takes the
	 * signals, so no poll in a worker is interrupted halfway. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);

	for (unsigned i = 0; i < nq; i++) {
		w[i].queue = qs[i];
		w[i].stop_fd = stop_pipe[0];
		int ret = lb_nfq_open(qs[i], &cfg, &w[i].q, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "nfq_accept: %s\n", err);
			rc = 1;
			goto stop;
		}
		if (pthread_create(&w[i].thread, NULL, run, &w[i]) != 0) {
			fprintf(stderr, "nfq_accept: cannot start a thread\n");
			lb_nfq_close(w[i].q);
			rc = 1;
			goto stop;
		}
		started++;
	}
	fprintf(stderr, "nfq_accept: serving %u queue(s)\n", nq);

	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* The main thread waits for the signal's byte like the workers do;
	 * a worker that fails ends alone and is reported at the end. */
	struct pollfd pfd = {.fd = stop_pipe[0], .events = POLLIN};
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;

stop:
	on_stop(0);
	for (unsigned i = 0; i < started; i++) {
		struct lb_nfq_stats st;
		pthread_join(w[i].thread, NULL);
		lb_nfq_stats(w[i].q, &st);
		fprintf(stderr,
			"queue %u: received %llu verdicts %llu batches %llu "
			"sends %llu enobufs %llu errors %llu%s%s\n",
			w[i].queue, (unsigned long long)st.received,
			(unsigned long long)st.verdicts,
			(unsigned long long)st.batches,
			(unsigned long long)st.sends,
			(unsigned long long)st.enobufs,
			(unsigned long long)st.errors, w[i].err ? ": " : "",
			w[i].err ? strerror(-w[i].err) : "");
		if (w[i].err)
			rc = 1;
		lb_nfq_close(w[i].q);
	}
	close(stop_pipe[0]);
	close(stop_pipe[1]);
	return rc;
}
