#!/usr/bin/env bash
# NSP convergence benchmark: N targets registered while W watchers follow.
# Usage: bench/nsp.sh [nsp_bench options]   (defaults: 10,000 targets, 100 watchers)
# Runs on loopback only; starts and stops its own strait-nsp with a fresh store.
set -euo pipefail
cd "$(dirname "$0")/.."
# A random port below the kernel's ephemeral range, so that no client
# socket's local port can take it first.
low_port() {
  local lo _
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
  echo $((10000 + RANDOM % (lo - 10100)))
}
bin=${BIN:-build/bin}
work=$(mktemp -d /tmp/strait-bench-nsp.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

# A trench with 100 streams of 100 targets each.
mkdir -p "$work/config"
echo "name: trench-a" >"$work/config/trench"
printf 'items:\n  - name: load-balancer\n    trench: trench-a\n' >"$work/config/conduits"
{ echo "items:"; for i in $(seq 0 99); do
    printf '  - name: stream-%d\n    trench: trench-a\n    conduit: load-balancer\n    max-targets: 100\n' "$i"
  done; } >"$work/config/streams"

port=$(low_port)
"$bin/strait-nsp" -l "127.0.0.1:$port" -m off -s "$work/nsp.db" -c "$work/config" \
  --log-level warn &
pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$pid" || { echo "strait-nsp did not start" >&2; exit 1; }
  sleep 0.05   # waiting for the listener: polled, not a fixed delay
done
"$bin/nsp_bench" --nsp "127.0.0.1:$port" --pid "$pid" "$@"
