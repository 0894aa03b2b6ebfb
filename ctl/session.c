/* One run of a straitctl command. See session.h. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "session.h"

static void on_closed(uv_handle_t *h)
{
	(void)h;
}

static void on_client_closed(void *data)
{
	(void)data;
}

static double seconds(uint64_t ms)
{
	return (double)ms / 1000.0;
}

static void on_deadline(uv_timer_t *t)
{
	struct ctl_session *s = t->data;
	if (!s->up)
		ctl_session_fail(s, CTL_EXIT_UNREACHABLE,
				 "cannot reach %s within %g s: %s", s->addr,
				 seconds(s->args->timeout_ms),
				 rpc_client_error(s->client));
	else
		ctl_session_fail(s, CTL_EXIT_UNREACHABLE,
				 "no answer from %s within %g s", s->addr,
				 seconds(s->args->timeout_ms));
}

static void on_signal(uv_signal_t *h, int signo)
{
	struct ctl_session *s = h->data;
	if (s->finishing)
		return;
	log_debug("signal %d", signo);
	if (s->cmd->on_signal)
		s->cmd->on_signal(s, signo);
	else
		ctl_session_finish(s, 128 + signo);
}

static void on_state(struct rpc_client *c, bool up, void *data)
{
	struct ctl_session *s = data;
	(void)c;
	if (s->finishing)
		return;
	bool was_up = s->up;
	s->up = up;
	if (up) {
		s->ever_up = true;
		log_debug("connected to %s", s->addr);
		if (s->cmd->on_up)
			s->cmd->on_up(s);
	} else if (was_up) {
		if (s->cmd->on_down)
			s->cmd->on_down(s);
	}
}

int ctl_session_start(struct ctl_session *s, uv_loop_t *loop,
		      const struct ctl_args *args, const struct sockaddr *addr,
		      const struct ctl_command *cmd)
{
	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->args = args;
	s->cmd = cmd;
	sockaddr_format(addr, s->addr, sizeof(s->addr));

	int err = uv_signal_init(loop, &s->sigint);
	if (err)
		return err;
	s->sigint.data = s;
	err = uv_signal_init(loop, &s->sigterm);
	if (err)
		goto close_sigint;
	s->sigterm.data = s;
	err = uv_timer_init(loop, &s->deadline);
	if (err)
		goto close_sigterm;
	s->deadline.data = s;
	err = uv_signal_start(&s->sigint, on_signal, SIGINT);
	if (!err)
		err = uv_signal_start(&s->sigterm, on_signal, SIGTERM);
	if (!err)
		err = uv_timer_start(&s->deadline, on_deadline,
				     args->timeout_ms, 0);
	if (err)
		goto close_deadline;

	struct rpc_client_config cfg = {
	    .on_state = on_state,
	    .data = s,
	};
	err = rpc_client_start(loop, addr, &cfg, &s->client);
	if (err)
		goto close_deadline;

	/* The command starts last: its init may already finish the run
	 * (a bad --resume file), which closes everything above. */
	cmd->init(s);
	return 0;

close_deadline:
	uv_close((uv_handle_t *)&s->deadline, on_closed);
close_sigterm:
	uv_close((uv_handle_t *)&s->sigterm, on_closed);
close_sigint:
	uv_close((uv_handle_t *)&s->sigint, on_closed);
	uv_run(loop, UV_RUN_NOWAIT);
	return err;
}

void ctl_session_fini(struct ctl_session *s)
{
	if (s->cmd && s->cmd->fini)
		s->cmd->fini(s);
	s->cmd_data = NULL;
}

void ctl_session_finish(struct ctl_session *s, int code)
{
	if (s->finishing)
		return;
	s->finishing = true;
	s->exit_code = code;
	/* stdout may hold the last lines if it is not a terminal. */
	fflush(stdout);
	if (s->cmd->close)
		s->cmd->close(s);
	uv_close((uv_handle_t *)&s->deadline, on_closed);
	uv_close((uv_handle_t *)&s->sigint, on_closed);
	uv_close((uv_handle_t *)&s->sigterm, on_closed);
	rpc_client_close(s->client, on_client_closed, s);
}

int ctl_session_call(struct ctl_session *s, const char *what,
		     const char *method, const ProtobufCMessage *req,
		     const ProtobufCMessageDescriptor *reply, rpc_reply_fn fn)
{
	int err = rpc_client_call(s->client, method, req, reply, fn, s, NULL);
	if (err && err != -ENOTCONN)
		ctl_session_fail(s, CTL_EXIT_REFUSED,
				 "cannot send the %s request: %s", what,
				 strerror(-err));
	return err;
}

void ctl_session_fail(struct ctl_session *s, int code, const char *fmt, ...)
{
	if (s->finishing)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fflush(stdout); /* keep what was printed before the error first */
	fprintf(stderr, "straitctl: %s\n", msg);
	ctl_session_finish(s, code);
}

bool ctl_session_finishing(const struct ctl_session *s)
{
	return s->finishing;
}

void ctl_session_answered(struct ctl_session *s)
{
	s->answered = true;
	if (!s->finishing)
		uv_timer_stop(&s->deadline);
}

void ctl_session_rearm(struct ctl_session *s)
{
	if (!s->finishing)
		uv_timer_start(&s->deadline, on_deadline, s->args->timeout_ms,
			       0);
}

bool ctl_session_conn_lost(const struct ctl_session *s, const Rpc__Status *st)
{
	return st->code == RPC__CODE__UNAVAILABLE &&
	       !rpc_client_connected(s->client);
}

int ctl_session_call_error(const struct ctl_session *s, const char *what,
			   const Rpc__Status *st, char *msg, size_t len)
{
	if (ctl_session_conn_lost(s, st)) {
		snprintf(msg, len,
			 "connection to %s lost before the answer: %s", s->addr,
			 st->message);
		return CTL_EXIT_LOST;
	}
	snprintf(msg, len, "%s refused: %s%s%s: %s", what,
		 rpc_code_name(st->code), st->reason && *st->reason ? " " : "",
		 st->reason ? st->reason : "", st->message);
	return CTL_EXIT_REFUSED;
}

void ctl_session_call_failed(struct ctl_session *s, const char *what,
			     const Rpc__Status *st)
{
	char msg[512];
	int code = ctl_session_call_error(s, what, st, msg, sizeof(msg));
	ctl_session_fail(s, code, "%s", msg);
}

int ctl_session_emit(struct ctl_session *s, const struct buf *out)
{
	/* write() rather than stdio: a message goes out in one system call
	 * (for a file, or a pipe with room), so a watcher killed at any
	 * moment leaves whole messages, and --resume's window stays small. */
	const char *p = out->data;
	size_t left = out->len;
	int err = 0;
	fflush(stdout); /* nothing should be pending, but keep the order */
	while (left && !err) {
		ssize_t n = write(STDOUT_FILENO, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = n < 0 ? -errno : -EIO;
		else {
			p += n;
			left -= (size_t)n;
		}
	}
	if (!err)
		return 0;
	if (err == -EPIPE)
		ctl_session_finish(s, CTL_EXIT_REFUSED);
	else
		ctl_session_fail(s, CTL_EXIT_REFUSED, "writing the output: %s",
				 strerror(-err));
	return err;
}

int ctl_session_output(struct ctl_session *s, int format_err, struct buf *out)
{
	int err = format_err;
	if (err)
		ctl_session_fail(s, CTL_EXIT_REFUSED,
				 "formatting the answer: %s", strerror(-err));
	else
		err = ctl_session_emit(s, out);
	buf_free(out);
	return err;
}
