/* One run of a straitctl command: the loop's handles, the RPC client, the
 * deadline, the signals and the exit code.
 *
 *	main ── ctl_session_start ── uv_run ── ctl_session_fini ── uv_loop_close
 *	              │
 *	              ├─ rpc client ── on_state(up) ──> cmd->on_up (send or
 *re-send) │               on_state(down) ─> cmd->on_down ├─ deadline
 *(--timeout) ── fires: exit 3 └─ SIGINT, SIGTERM ── cmd->on_signal (default:
 *exit 128+sig)
 *
 * A command runs until it calls ctl_session_finish() (or _fail()), which
 * closes every handle, the command's own through cmd->close; uv_run then
 * returns and ctl_session_fini() frees the command's state. The first
 * finish decides the exit code; later ones do nothing. While finishing,
 * the RPC client ends the open calls with CANCELLED: reply callbacks must
 * check ctl_session_finishing() first and return if it is true.
 *
 * Exit codes (CTL_EXIT_*) are those of docs/straitctl.md.
 */
#ifndef STRAIT_CTL_SESSION_H
#define STRAIT_CTL_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "args.h"
#include "buf.h"
#include "rpc.h"
#include "sockaddr.h"

enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_REFUSED = 1, /* the server refused; or a local failure */
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_UNREACHABLE = 3, /* no connection or answer within --timeout */
	CTL_EXIT_LOST = 4, /* connection lost during a one-shot command */
};

struct ctl_session;

/* A command. Every hook runs on the loop's thread; all but init may be
 * NULL. */
struct ctl_command {
	/* Allocates s->cmd_data and reads local inputs. On failure it calls
	 * ctl_session_fail() itself. */
	void (*init)(struct ctl_session *s);
	/* The client is connected (first time or again): send or re-send. */
	void (*on_up)(struct ctl_session *s);
	/* The connection was lost; every open call has already ended with
	 * UNAVAILABLE. */
	void (*on_down)(struct ctl_session *s);
	/* SIGINT or SIGTERM. */
	void (*on_signal)(struct ctl_session *s, int signo);
	/* Finishing: uv_close the command's own handles. */
	void (*close)(struct ctl_session *s);
	/* After the loop has stopped: free s->cmd_data. */
	void (*fini)(struct ctl_session *s);
};

struct ctl_session {
	uv_loop_t *loop;
	const struct ctl_args *args;
	const struct ctl_command *cmd;
	void *cmd_data;
	struct rpc_client *client;
	char addr[SOCKADDR_STRLEN];
	uv_timer_t deadline;
	uv_signal_t sigint, sigterm;
	int exit_code;
	bool finishing;
	bool up;       /* connected now */
	bool ever_up;  /* connected at least once */
	bool answered; /* ctl_session_answered() was called */
};

/* Starts the client towards addr, the deadline (args->timeout_ms), the
 * signal handlers, then runs cmd->init. Returns 0, or a negative errno
 * when a handle cannot start (nothing is left open then). */
int ctl_session_start(struct ctl_session *s, uv_loop_t *loop,
		      const struct ctl_args *args, const struct sockaddr *addr,
		      const struct ctl_command *cmd);

/* Runs cmd->fini. Call after uv_run has returned. */
void ctl_session_fini(struct ctl_session *s);

/* Ends the run with exit code code (the first call wins). */
void ctl_session_finish(struct ctl_session *s, int code);

/* Prints "straitctl: MESSAGE" on stderr, then finishes with code. */
void ctl_session_fail(struct ctl_session *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

bool ctl_session_finishing(const struct ctl_session *s);

/* Sends one request (rpc_client_call with s as the handler's data).
 * Returns 0 when sent; -ENOTCONN when the client is not connected yet
 * (try again from on_up); any other error fails the session with exit 1,
 * "cannot send the WHAT request: REASON", and is returned too. */
int ctl_session_call(struct ctl_session *s, const char *what,
		     const char *method, const ProtobufCMessage *req,
		     const ProtobufCMessageDescriptor *reply, rpc_reply_fn fn);

/* The command has what the deadline was for: stops it. A one-shot
 * command never calls it (it finishes instead); a watch calls it once its
 * request is sent, after which it waits for ever. */
void ctl_session_answered(struct ctl_session *s);

/* Arms the deadline again, from now (for the last unregister of --keep). */
void ctl_session_rearm(struct ctl_session *s);

/* Ends a one-shot call that got no answer: exit 4 if the connection was
 * lost, else exit 1 "WHAT refused: CODE: message". */
void ctl_session_call_failed(struct ctl_session *s, const char *what,
			     const Rpc__Status *st);

/* What ctl_session_call_failed() would say, without saying it or
 * finishing: writes the message (no "straitctl: " prefix) to msg and
 * returns its exit code, CTL_EXIT_LOST or CTL_EXIT_REFUSED. For commands
 * that make several calls and report every failure at the end. */
int ctl_session_call_error(const struct ctl_session *s, const char *what,
			   const Rpc__Status *st, char *msg, size_t len);

/* True when st ended a call because the connection went away, not
 * because the server answered with that status. */
bool ctl_session_conn_lost(const struct ctl_session *s, const Rpc__Status *st);

/* Writes out to stdout (file descriptor 1, in as few write() calls as
 * the kernel takes). On failure finishes with exit 1 (quietly for a
 * closed pipe) and returns a negative errno; the caller must stop then. */
int ctl_session_emit(struct ctl_session *s, const struct buf *out);

/* The end of every answer handler: with format_err (formatting out
 * failed) finishes with exit 1 naming it, else emits out. Frees out.
 * Returns 0 when out was written (the caller may finish then), else a
 * negative errno (the session is finishing already). */
int ctl_session_output(struct ctl_session *s, int format_err, struct buf *out);

#endif
