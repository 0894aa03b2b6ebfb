/* Running a helper program; see spawn.h. */
#include "subproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errtext.h"

extern char **environ;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads what fd has into b (up to max bytes kept; the rest is read and
 * dropped so the child never blocks on a full pipe). Returns 1 at EOF,
 * 0 when it would block, or a negative errno. */
static int drain(int fd, struct buf *b, size_t max)
{
	char chunk[4096];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n == 0)
			return 1;
		if (n < 0)
			return errno == EAGAIN	? 0
			       : errno == EINTR ? 0
						: -errno;
		size_t keep = b->len >= max ? 0 : max - b->len;

		if (keep > (size_t)n)
			keep = (size_t)n;
		if (keep && buf_append(b, chunk, keep) < 0)
			return -ENOMEM;
	}
}

/* "line one; line two" from a command's stderr, without iptables' "Try
 * `iptables-restore -h'" advice, trailing newline and all. */
static void stderr_text(const struct buf *e, char *out, size_t outlen)
{
	const char *p = buf_str(e);
	size_t o = 0;

	if (!outlen)
		return;
	out[0] = '\0';
	while (*p) {
		size_t len = strcspn(p, "\n");

		if (len && strncmp(p, "Try `", 5) != 0) {
			int w = snprintf(out + o, outlen - o, "%s%.*s",
					 o ? "; " : "", (int)len, p);

			if (w < 0 || (size_t)w >= outlen - o)
				return;
			o += (size_t)w;
		}
		p += len;
		if (*p)
			p++;
	}
}

int subproc_run(const char *const argv[], const struct buf *in, struct buf *out,
		int timeout_ms, char *err, size_t errlen)
{
	int sin[2] = {-1, -1}, sout[2] = {-1, -1}, serr[2] = {-1, -1};
	struct buf errbuf = {0}, sink = {0};
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;
	int rc, status;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sin) < 0 ||
	    pipe2(sout, O_CLOEXEC) < 0 || pipe2(serr, O_CLOEXEC) < 0) {
		rc = errtext(-errno, err, errlen, "%s: pipes: %s", argv[0],
			     strerror(errno));
		goto close_fds;
	}
	rc = -posix_spawn_file_actions_init(&fa);
	if (rc < 0) {
		errtext(rc, err, errlen, "%s: spawn: %s", argv[0],
			strerror(-rc));
		goto close_fds;
	}
	/* dup2 clears close-on-exec on the child's 0, 1 and 2; every other
	 * descriptor of ours has it set. */
	if ((rc = -posix_spawn_file_actions_adddup2(&fa, sin[1], 0)) == 0 &&
	    (rc = -posix_spawn_file_actions_adddup2(&fa, sout[1], 1)) == 0 &&
	    (rc = -posix_spawn_file_actions_adddup2(&fa, serr[1], 2)) == 0)
		rc = -posix_spawnp(&pid, argv[0], &fa, NULL,
				   (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc < 0) {
		errtext(rc, err, errlen, "%s: %s", argv[0], strerror(-rc));
		goto close_fds;
	}
	close(sin[1]);
	close(sout[1]);
	close(serr[1]);
	sin[1] = sout[1] = serr[1] = -1;
	fcntl(sin[0], F_SETFL, O_NONBLOCK);
	fcntl(sout[0], F_SETFL, O_NONBLOCK);
	fcntl(serr[0], F_SETFL, O_NONBLOCK);

	size_t sent = 0;
	bool out_open = true, err_open = true;
	int64_t deadline = now_ms() + timeout_ms;

	if (!in || in->len == 0) {
		close(sin[0]);
		sin[0] = -1;
	}
	while (sin[0] >= 0 || out_open || err_open) {
		struct pollfd p[3] = {
		    {.fd = sin[0], .events = POLLOUT},
		    {.fd = out_open ? sout[0] : -1, .events = POLLIN},
		    {.fd = err_open ? serr[0] : -1, .events = POLLIN},
		};
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			kill(pid, SIGKILL);
			rc = errtext(-ETIMEDOUT, err, errlen,
				     "%s: no answer in %d ms, killed", argv[0],
				     timeout_ms);
			break;
		}
		if (poll(p, 3, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			rc = errtext(-errno, err, errlen, "%s: poll: %s",
				     argv[0], strerror(errno));
			kill(pid, SIGKILL);
			break;
		}
		if (sin[0] >= 0 && p[0].revents) {
			ssize_t n = send(sin[0], in->data + sent,
					 in->len - sent, MSG_NOSIGNAL);

			if (n > 0)
				sent += (size_t)n;
			/* EPIPE: the child stopped reading; its status and
			 * stderr will say why. */
			if (sent == in->len ||
			    (n < 0 && errno != EAGAIN && errno != EINTR)) {
				close(sin[0]);
				sin[0] = -1;
			}
		}
		int r1 = 0, r2 = 0;

		if (out_open && p[1].revents) {
			r1 = drain(sout[0], out ? out : &sink,
				   out ? SIZE_MAX / 2 : 0);
			out_open = r1 == 0;
		}
		if (err_open && p[2].revents) {
			r2 = drain(serr[0], &errbuf, 4096);
			err_open = r2 == 0;
		}
		if (r1 < 0 || r2 < 0) {
			rc = r1 < 0 ? r1 : r2;
			errtext(rc, err, errlen, "%s: reading its output: %s",
				argv[0], strerror(-rc));
			kill(pid, SIGKILL);
			break;
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		char text[512];

		stderr_text(&errbuf, text, sizeof(text));
		/* 127: posix_spawnp's child could not exec the program. */
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			rc = errtext(-ENOENT, err, errlen, "%s not found",
				     argv[0]);
		else if (WIFEXITED(status))
			rc = errtext(-EIO, err, errlen,
				     "%s failed (exit %d): %s", argv[0],
				     WEXITSTATUS(status), text);
		else
			rc =
			    errtext(-EIO, err, errlen, "%s killed by signal %d",
				    argv[0], WTERMSIG(status));
	}
close_fds:
	for (int i = 0; i < 2; i++) {
		if (sin[i] >= 0)
			close(sin[i]);
		if (sout[i] >= 0)
			close(sout[i]);
		if (serr[i] >= 0)
			close(serr[i]);
	}
	buf_free(&errbuf);
	buf_free(&sink);
	return rc;
}
