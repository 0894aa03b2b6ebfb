/* udp_rate: UDP packet rate, batched at both ends, with a count of what
 * arrived.
 *
 *   udp_rate recv HOST PORT [--timeout S]
 *       binds HOST:PORT (IPv4 or IPv6), 4 MB receive buffer, and reads
 *       with recvmmsg (64 at a time) until the sender's end mark arrives,
 *       or 1 s passes without a packet after the first, or --timeout S
 *       (default 60) passes without any. Prints one line:
 *         received=118000 expected=120000 lost=2000 loss_pct=1.67
 *         seconds=5.00 pps=23600
 *       seconds: first to last packet received; expected: the highest
 *       sequence number seen + 1 (reordering is not loss).
 *   udp_rate send HOST PORT [--seconds S] [--rate PPS] [--size N]
 *       sends N-byte datagrams (default 1400) for S seconds (default 5)
 *       with sendmmsg, at PPS packets/s (0 = as fast as it can, the
 *       default), then the end mark (a few times). Batches are at most
 *       64 packets and, when paced, at most 1 ms of the rate, so bursts
 *       stay short. Prints one line:
 *         sent=120000 seconds=5.00 pps=24000 send_errors=0
 *
 * iperf3 sends one datagram per system call, so on a slow-syscall VM its
 * sender, not the path, is the limit; this tool takes the system call out
 * of the figure. Each datagram starts with a 16-byte header: magic, flags
 * (1 = end), 64-bit sequence number.
 * Exit status: 0 done, 1 a network error (said on stderr), 2 usage. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define BATCH 64
#define MAX_SIZE 2048
#define MAGIC 0x55445052u /* "UDPR" */
#define F_END 1u

struct hdr {
	uint32_t magic, flags;
	uint64_t seq;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: udp_rate recv HOST PORT [--timeout S]\n"
		"       udp_rate send HOST PORT [--seconds S] [--rate PPS] "
		"[--size N]\n");
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bufsize(int fd, int opt, int force)
{
	int big = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, force, &big, sizeof big) < 0)
		setsockopt(fd, SOL_SOCKET, opt, &big, sizeof big);
}

static int recv_mode(const char *host, const char *port, long timeout)
{
	struct addrinfo *ai =
	    bench_resolve("udp_rate", host, port, SOCK_DGRAM, 1);
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		fprintf(stderr, "udp_rate: bind %s port %s: %s\n", host, port,
			strerror(errno));
		return 1;
	}
	freeaddrinfo(ai);
	bufsize(fd, SO_RCVBUF, SO_RCVBUFFORCE);

	static char bufs[BATCH][2048];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
		memset(&msgs[i], 0, sizeof msgs[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	uint64_t received = 0, max_seq = 0;
	double first = 0, last = 0;
	int started = 0, done = 0;
	while (!done) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int wait_ms = started ? 1000 : (int)timeout * 1000;
		int r = poll(&p, 1, wait_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			perror("udp_rate: poll");
			return 1;
		}
		if (r == 0) /* idle: the sender stopped (or never came) */
			break;
		int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			perror("udp_rate: recvmmsg");
			return 1;
		}
		double t = now_s();
		for (int i = 0; i < n; i++) {
			struct hdr h;
			if (msgs[i].msg_len < sizeof h)
				continue;
			memcpy(&h, bufs[i], sizeof h);
			if (h.magic != MAGIC)
				continue;
			if (h.flags & F_END) {
				done = 1;
				continue;
			}
			if (!started) {
				started = 1;
				first = t;
			}
			last = t;
			received++;
			if (h.seq > max_seq)
				max_seq = h.seq;
		}
	}
	uint64_t expected = received ? max_seq + 1 : 0;
	uint64_t lost = expected > received ? expected - received : 0;
	double secs = last - first;
	printf("received=%llu expected=%llu lost=%llu loss_pct=%.2f "
	       "seconds=%.2f pps=%.0f\n",
	       (unsigned long long)received, (unsigned long long)expected,
	       (unsigned long long)lost,
	       expected ? 100.0 * (double)lost / (double)expected : 0.0, secs,
	       secs > 0 ? (double)received / secs : 0.0);
	return 0;
}

static int send_mode(const char *host, const char *port, long seconds,
		     long rate, size_t size)
{
	struct addrinfo *ai =
	    bench_resolve("udp_rate", host, port, SOCK_DGRAM, 0);
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		fprintf(stderr, "udp_rate: connect %s port %s: %s\n", host,
			port, strerror(errno));
		return 1;
	}
	freeaddrinfo(ai);
	bufsize(fd, SO_SNDBUF, SO_SNDBUFFORCE);

	static char bufs[BATCH][MAX_SIZE];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	for (int i = 0; i < BATCH; i++) {
		memset(bufs[i], 'u', size);
		iov[i] = (struct iovec){bufs[i], size};
		memset(&msgs[i], 0, sizeof msgs[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	/* Paced: at most 1 ms of the rate per batch. */
	int batch = BATCH;
	if (rate > 0 && rate / 1000 < BATCH)
		batch = rate / 1000 > 0 ? (int)(rate / 1000) : 1;
	uint64_t seq = 0, errors = 0;
	double start = now_s(), end = start + (double)seconds, t = start;
	while ((t = now_s()) < end) {
		if (rate > 0) {
			/* where the schedule says the next packet goes */
			double due = start + (double)seq / (double)rate;
			if (due > t) {
				double d = due - t;
				struct timespec ts = {
				    .tv_sec = (time_t)d,
				    .tv_nsec =
					(long)((d - (double)(time_t)d) * 1e9)};
				nanosleep(&ts, NULL);
				continue;
			}
		}
		for (int i = 0; i < batch; i++) {
			struct hdr h = {MAGIC, 0, seq + (uint64_t)i};
			memcpy(bufs[i], &h, sizeof h);
		}
		int n = sendmmsg(fd, msgs, (unsigned)batch, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ENOBUFS && errno != EAGAIN &&
			    errno != ECONNREFUSED) {
				perror("udp_rate: sendmmsg");
				return 1;
			}
			/* dropped by the local stack: the numbers go on, so
			 * the receiver counts them as lost */
			errors += (uint64_t)batch;
			seq += (uint64_t)batch;
			continue;
		}
		seq += (uint64_t)n;
	}
	double secs = t - start;
	struct hdr h = {MAGIC, F_END, 0};
	memcpy(bufs[0], &h, sizeof h);
	for (int i = 0; i < 5; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		sendmmsg(fd, msgs, 1, 0);
		nanosleep(&ts, NULL);
	}
	printf("sent=%llu seconds=%.2f pps=%.0f send_errors=%llu\n",
	       (unsigned long long)seq, secs,
	       secs > 0 ? (double)seq / secs : 0.0, (unsigned long long)errors);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		usage();
	const char *mode = argv[1], *host = argv[2], *port = argv[3];
	long seconds = 5, rate = 0, size = 1400, timeout = 60;
	for (int i = 4; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--seconds"))
			seconds = bench_num("udp_rate", argv[++i], 1, 3600);
		else if (!strcmp(argv[i], "--rate"))
			rate = bench_num("udp_rate", argv[++i], 0, 100000000);
		else if (!strcmp(argv[i], "--size"))
			size = bench_num("udp_rate", argv[++i],
					 (long)sizeof(struct hdr), 2048);
		else if (!strcmp(argv[i], "--timeout"))
			timeout = bench_num("udp_rate", argv[++i], 1, 3600);
		else
			usage();
	}
	if (!strcmp(mode, "recv"))
		return recv_mode(host, port, timeout);
	if (!strcmp(mode, "send"))
		return send_mode(host, port, seconds, rate, (size_t)size);
	usage();
}
