/* nfq_mark: accepts every packet of one NFQUEUE queue with a mark.
 *
 *   nfq_mark QUEUE MARK [--drop-every N] [--count-file F] [--fail-open]
 *
 * Serves QUEUE (lb/nfq on a libuv loop) and accepts each packet with MARK,
 * except every Nth packet with --drop-every N, which it drops. On SIGTERM or
 * SIGINT it writes its counters to F ("name value" lines, written to F.tmp
 * and renamed, so a reader never sees half a file), closes every handle and
 * exits 0. A test uses it to prove that verdicts and marks reach the kernel.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "../../lb/nfq.h"

struct ctx {
	struct lb_nfq *q;
	uint32_t mark;
	unsigned long drop_every;
	uint64_t seen, accepted, dropped;
	const char *count_file;
	uv_poll_t poll;
	uv_signal_t sigterm, sigint;
	int rc;
};

static int on_packet(void *data, const struct lb_nfq_packet *p)
{
	struct ctx *c = data;

	c->seen++;
	if (c->drop_every && c->seen % c->drop_every == 0) {
		c->dropped++;
		return lb_nfq_verdict(c->q, p->id, NF_DROP, 0);
	}
	c->accepted++;
	return lb_nfq_verdict(c->q, p->id, NF_ACCEPT, c->mark);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct ctx *c = h->data;
	(void)events;

	if (status < 0) {
		fprintf(stderr, "nfq_mark: poll: %s\n", uv_strerror(status));
		return;
	}
	int n = lb_nfq_receive(c->q, on_packet, c);
	if (n < 0)
		fprintf(stderr, "nfq_mark: receive: %s\n", strerror(-n));
	int err = lb_nfq_flush(c->q);
	if (err)
		fprintf(stderr, "nfq_mark: verdicts: %s\n", strerror(-err));
}

static int write_counts(const struct ctx *c)
{
	struct lb_nfq_stats st;
	char tmp[4096];
	FILE *f;

	lb_nfq_stats(c->q, &st);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", c->count_file) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f,
		"received %llu\naccepted %llu\ndropped %llu\nverdicts %llu\n"
		"batches %llu\nsends %llu\nenobufs %llu\nerrors %llu\n",
		(unsigned long long)st.received,
		(unsigned long long)c->accepted, (unsigned long long)c->dropped,
		(unsigned long long)st.verdicts, (unsigned long long)st.batches,
		(unsigned long long)st.sends, (unsigned long long)st.enobufs,
		(unsigned long long)st.errors);
	if (fclose(f) != 0 || rename(tmp, c->count_file) != 0)
		return -errno;
	return 0;
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct ctx *c = h->data;
	(void)signum;

	if (c->count_file) {
		int err = write_counts(c);
		if (err) {
			fprintf(stderr, "nfq_mark: %s: %s\n", c->count_file,
				strerror(-err));
			c->rc = 1;
		}
	}
	uv_close((uv_handle_t *)&c->poll, NULL);
	uv_close((uv_handle_t *)&c->sigterm, NULL);
	uv_close((uv_handle_t *)&c->sigint, NULL);
}

static int number(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: nfq_mark QUEUE MARK [--drop-every N] "
			"[--count-file F] [--fail-open]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"drop-every", required_argument, NULL, 'd'},
	    {"count-file", required_argument, NULL, 'c'},
	    {"fail-open", no_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	struct lb_nfq_config cfg = {0};
	struct ctx c = {0};
	unsigned long queue, mark;
	char err[256];
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			if (number(optarg, 1ul << 31, &c.drop_every)) {
				usage();
				return 2;
			}
			break;
		case 'c':
			c.count_file = optarg;
			break;
		case 'f':
			cfg.fail_open = true;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (argc - optind != 2 || number(argv[optind], 65535, &queue) ||
	    number(argv[optind + 1], UINT32_MAX, &mark)) {
		usage();
		return 2;
	}
	c.mark = (uint32_t)mark;

	int ret = lb_nfq_open((uint16_t)queue, &cfg, &c.q, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "nfq_mark: %s\n", err);
		return 1;
	}

	uv_loop_t loop;
	uv_loop_init(&loop);
	c.poll.data = c.sigterm.data = c.sigint.data = &c;
	uv_poll_init(&loop, &c.poll, lb_nfq_fd(c.q));
	uv_poll_start(&c.poll, UV_READABLE, on_readable);
	uv_signal_init(&loop, &c.sigterm);
	uv_signal_start(&c.sigterm, on_signal, SIGTERM);
	uv_signal_init(&loop, &c.sigint);
	uv_signal_start(&c.sigint, on_signal, SIGINT);
	fprintf(stderr, "nfq_mark: queue %lu, mark 0x%lx\n", queue, mark);

	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0) {
		fprintf(stderr, "nfq_mark: a handle was left open\n");
		c.rc = 1;
	}
	lb_nfq_close(c.q);
	return c.rc;
}
