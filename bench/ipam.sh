#!/usr/bin/env bash
# IPAM benchmark: durable allocations per second and the latency of one,
# with 1 and 4 clients, for --sync normal (in the WAL before the reply) and
# --sync full (fsync before the reply). Loopback only; fresh stores.
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
work=$(mktemp -d /tmp/strait-bench-ipam.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

run() {  # run SYNC: one server, four measurements, each on new names
  local sync=$1 port; port=$(low_port)
  rm -f "$work/ipam.db"*
  "$bin/strait-ipam" -l "127.0.0.1:$port" -m off -s "$work/ipam.db" --sync "$sync" \
    --log-level warn --ipv4 169.255.0.0/16:17:24 &
  pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.05   # waiting for the listener: polled, not a fixed delay
  done
  local cpu0; cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  local n=${COUNT:-4000}
  [ "$sync" = full ] && n=$((n / 4))
  echo "--sync $sync"
  "$bin/ipam_bench" --ipam "127.0.0.1:$port" --count "$n" --clients 1 --window 1 --tag a
  "$bin/ipam_bench" --ipam "127.0.0.1:$port" --count "$n" --clients 4 --window 1 --tag b
  "$bin/ipam_bench" --ipam "127.0.0.1:$port" --count "$n" --clients 1 --window 16 --tag c
  "$bin/ipam_bench" --ipam "127.0.0.1:$port" --count "$n" --clients 4 --window 16 --tag d
  local cpu1; cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  echo "  strait-ipam CPU over the four runs: $(( (cpu1 - cpu0) * 10 )) ms"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
}
run normal
run full
