/* tcp_rr: TCP request/response latency over one connection.
 *
 *   tcp_rr server HOST PORT [--size N]
 *       listens on HOST:PORT (IPv4 or IPv6) and, one connection at a
 *       time, sends every N-byte request straight back; runs until killed.
 *   tcp_rr client HOST PORT [--count N] [--warmup N] [--size N]
 *                          [--bind ADDR] [--timeout S]
 *       connects (from ADDR if given), makes --warmup round trips that
 *       are not counted, then --count timed ones: write N bytes, read N
 *       bytes back. Prints one line:
 *         count=20000 size=64 p50_us=31.2 p99_us=55.0 mean_us=33.1 max_us=410.7
 *
 * TCP_NODELAY on both ends, so each request is one segment and its answer
 * another: the figure is the path's round trip plus two system calls each
 * side, which is what a load balancer adds to. iperf3 measures throughput
 * only, hence this tool. Defaults: 64 bytes, 1000 warm-up, 20000 timed.
 * Exit status: 0 done, 1 a network error (said on stderr), 2 usage. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define MAX_SIZE 65536

static void usage(void)
{
	fprintf(stderr,
		"usage: tcp_rr server HOST PORT [--size N]\n"
		"       tcp_rr client HOST PORT [--count N] [--warmup N] "
		"[--size N] [--bind ADDR] [--timeout S]\n");
	exit(2);
}

/* Whole buffers or an error: 0 done, -1 error or end of stream. */
static int io_all(int fd, char *buf, size_t n, int writing)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = writing ? write(fd, buf + done, n - done)
				    : read(fd, buf + done, n - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static void nodelay(int fd)
{
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
		perror("tcp_rr: TCP_NODELAY");
}

static int serve(const char *host, const char *port, size_t size)
{
	struct addrinfo *ai =
	    bench_resolve("tcp_rr", host, port, SOCK_STREAM, 1);
	int one = 1;
	int ls = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 ||
	    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(ls, ai->ai_addr, ai->ai_addrlen) < 0 || listen(ls, 16) < 0) {
		fprintf(stderr, "tcp_rr: listen on %s port %s: %s\n", host,
			port, strerror(errno));
		return 1;
	}
	freeaddrinfo(ai);
	static char buf[MAX_SIZE];
	for (;;) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("tcp_rr: accept");
			return 1;
		}
		nodelay(fd);
		while (io_all(fd, buf, size, 0) == 0 &&
		       io_all(fd, buf, size, 1) == 0)
			;
		close(fd);
	}
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The nearest-rank percentile of sorted v[0..n-1]. */
static double pct(const double *v, size_t n, double p)
{
	size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

static int client(const char *host, const char *port, size_t size, long count,
		  long warmup, const char *bind_addr, long timeout)
{
	struct addrinfo *ai =
	    bench_resolve("tcp_rr", host, port, SOCK_STREAM, 0);
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("tcp_rr: socket");
		return 1;
	}
	if (bind_addr) {
		struct addrinfo *b =
		    bench_resolve("tcp_rr", bind_addr, "0", SOCK_STREAM, 1);
		if (bind(fd, b->ai_addr, b->ai_addrlen) < 0) {
			fprintf(stderr, "tcp_rr: bind %s: %s\n", bind_addr,
				strerror(errno));
			return 1;
		}
		freeaddrinfo(b);
	}
	struct timeval tv = {.tv_sec = timeout};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
		perror("tcp_rr: timeouts");
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		fprintf(stderr, "tcp_rr: connect %s port %s: %s\n", host, port,
			strerror(errno));
		return 1;
	}
	freeaddrinfo(ai);
	nodelay(fd);

	static char buf[MAX_SIZE];
	memset(buf, 'r', size);
	double *lat = malloc((size_t)count * sizeof *lat);
	if (!lat) {
		perror("tcp_rr: malloc");
		return 1;
	}
	double sum = 0;
	for (long i = -warmup; i < count; i++) {
		double t0 = now_us();
		if (io_all(fd, buf, size, 1) < 0 ||
		    io_all(fd, buf, size, 0) < 0) {
			fprintf(stderr, "tcp_rr: round trip %ld of %ld: %s\n",
				i + warmup + 1, count + warmup,
				errno ? strerror(errno) : "connection closed");
			return 1;
		}
		double dt = now_us() - t0;
		if (i >= 0) {
			lat[i] = dt;
			sum += dt;
		}
	}
	close(fd);
	qsort(lat, (size_t)count, sizeof *lat, cmp_double);
	printf("count=%ld size=%zu p50_us=%.1f p99_us=%.1f mean_us=%.1f "
	       "max_us=%.1f\n",
	       count, size, pct(lat, (size_t)count, 50),
	       pct(lat, (size_t)count, 99), sum / (double)count,
	       lat[count - 1]);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		usage();
	const char *mode = argv[1], *host = argv[2], *port = argv[3];
	long size = 64, count = 20000, warmup = 1000, timeout = 5;
	const char *bind_addr = NULL;
	for (int i = 4; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--size"))
			size = bench_num("tcp_rr", argv[++i], 1, MAX_SIZE);
		else if (!strcmp(argv[i], "--count"))
			count = bench_num("tcp_rr", argv[++i], 1, 100000000);
		else if (!strcmp(argv[i], "--warmup"))
			warmup = bench_num("tcp_rr", argv[++i], 0, 100000000);
		else if (!strcmp(argv[i], "--timeout"))
			timeout = bench_num("tcp_rr", argv[++i], 1, 3600);
		else if (!strcmp(argv[i], "--bind"))
			bind_addr = argv[++i];
		else
			usage();
	}
	if (!strcmp(mode, "server"))
		return serve(host, port, (size_t)size);
	if (!strcmp(mode, "client"))
		return client(host, port, (size_t)size, count, warmup,
			      bind_addr, timeout);
	usage();
}
