# Shared by the integration tests: sourced, never run.
#
# Each test gets a work folder and a random loopback port range, starts
# real processes, and on any exit (pass, fail, signal) kills them and
# removes its files. Waiting is always for a condition, with a deadline.

set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${BIN:-$TOP/build/bin}
WORK=$(mktemp -d "/tmp/strait-test.$(basename "$0" .sh).XXXXXX")
PIDS=()
# A random port below the kernel's ephemeral range, so that no client
# socket's local port can take it first.
low_port() {
  local lo _
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
  echo $((10000 + RANDOM % (lo - 10100)))
}
BASE_PORT=$(low_port)

cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    echo "--- logs of the failed test ($WORK) ---"
    for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 30 "$f"; }; done
  fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
ok() { echo "ok: $*"; }

# wait_for SECONDS DESCRIPTION COMMAND...: retries COMMAND until it
# succeeds; fails the test naming DESCRIPTION at the deadline.
wait_for() {
  local limit=$1 what=$2; shift 2
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && fail "timed out after ${limit}s waiting for: $what"
    sleep 0.05
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_listening WHAT PID PORT: waits for PORT; fails at once, with the
# exit status, if the process PID ends first (a refused store, a bad
# option), instead of timing out.
wait_listening() {
  local what=$1 pid=$2 port=$3 end=$((SECONDS + 10))
  until port_open "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      local rc=0; wait "$pid" || rc=$?
      fail "$what exited with status $rc before listening on $port"
    fi
    [ $SECONDS -lt $end ] || fail "timed out after 10s waiting for $what on $port"
    sleep 0.05
  done
}

# start_nsp NAME PORT [ARGS...]: starts strait-nsp logging to $WORK/NAME.log,
# sets NSP_PID, and waits for its port.
start_nsp() {
  local name=$1 port=$2; shift 2
  "$BIN/strait-nsp" -l "127.0.0.1:$port" -m off -s "$WORK/$name.db" "$@" \
    >>"$WORK/$name.log" 2>&1 &
  NSP_PID=$!
  PIDS+=("$NSP_PID")
  wait_listening strait-nsp "$NSP_PID" "$port"
}

ctl() { "$BIN/straitctl" --nsp "127.0.0.1:$NSP_PORT" "$@"; }

# ctl_bg ARGS... [>FILE]: straitctl in the background, itself (not a
# subshell around it), so BG_PID can be signalled; cleanup kills it.
ctl_bg() {
  "$BIN/straitctl" --nsp "127.0.0.1:$NSP_PORT" "$@" &
  BG_PID=$!
  PIDS+=("$BG_PID")
}

# A trench configuration with one conduit and the given streams
# ("name:max" each).
make_config() {
  local dir=$1; shift
  mkdir -p "$dir"
  echo "name: trench-a" >"$dir/trench"
  printf 'items:\n  - name: lb\n    trench: trench-a\n' >"$dir/conduits"
  { echo "items:"; for s in "$@"; do
      printf '  - name: %s\n    trench: trench-a\n    conduit: lb\n    max-targets: %s\n' "${s%%:*}" "${s##*:}"
    done; } >"$dir/streams"
}

# Note for test writers: with pipefail, `producer | grep -q` or `| head`
# can fail when the reader exits first and the producer gets SIGPIPE.
# Capture into a variable and grep a here-string instead.

# start_ipam NAME PORT [ARGS...]: strait-ipam logging to $WORK/NAME.log,
# sets IPAM_PID, and waits for its port.
start_ipam() {
  local name=$1 port=$2; shift 2
  "$BIN/strait-ipam" -l "127.0.0.1:$port" -m off -s "$WORK/$name.db" "$@" \
    >>"$WORK/$name.log" 2>&1 &
  IPAM_PID=$!
  PIDS+=("$IPAM_PID")
  wait_listening strait-ipam "$IPAM_PID" "$port"
}

ipamctl() { "$BIN/straitctl" --ipam "127.0.0.1:$IPAM_PORT" "$@"; }
