#!/usr/bin/env bash
# The registry's demo (the first `make demo`; the main demo is now
# scripts/demo.sh). It shows strait-nsp, the registry and configuration
# hub, doing what the other daemons rely on: atomic
# identifiers, leases, live watches that survive a crash of NSP, and a
# configuration reloaded from a Meridio-style ConfigMap directory.
# Everything runs on loopback and is removed on exit, also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
# A random port below the kernel's ephemeral range, so that no client
# socket's local port can take it first.
low_port() {
  local lo _
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
  echo $((10000 + RANDOM % (lo - 10100)))
}
BIN=$PWD/build/bin
WORK=$(mktemp -d /tmp/strait-demo.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo; echo "interrupted: cleaning up"; exit 130' INT TERM

if [ -t 1 ]; then B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' N=$'\e[0m'; else B= D= G= N=; fi
step() { echo; echo "${B}== $*${N}"; }
say() { echo "${D}$*${N}"; }
run() { echo "${G}\$ ${*}${N}"; "$@"; }
wait_for() {  # SECONDS WHAT COMMAND...
  local end=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || { echo "demo: gave up waiting for $what" >&2; exit 1; }
    sleep 0.05
  done
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

PORT=$(low_port)
METRICS=$((PORT + 1))
export STRAIT_NSP=127.0.0.1:$PORT
cp -r examples/meridio-configuration-trench-a "$WORK/"
CFG=$WORK/meridio-configuration-trench-a

start_nsp() {
  "$BIN/strait-nsp" -l "$STRAIT_NSP" -m "127.0.0.1:$METRICS" -s "$WORK/nsp.db" \
    -c "$CFG" --ttl 10 >>"$WORK/nsp.log" 2>&1 &
  NSP=$!
  PIDS+=("$NSP")
  wait_for 10 "strait-nsp" port_open "$PORT"
}

step "1. Start strait-nsp with the example trench configuration"
say "strait-nsp -l $STRAIT_NSP -s $WORK/nsp.db -c $CFG --ttl 10"
start_nsp
tail -n 3 "$WORK/nsp.log" | sed 's/^/   /'
run "$BIN/straitctl" nsp config --kind streams
run "$BIN/straitctl" nsp config --kind flows

step "2. A load balancer watches the registry (kept running in the background)"
"$BIN/straitctl" nsp watch --stream stream-a >"$WORK/watch.out" 2>"$WORK/watch.log" &
WATCH=$!
PIDS+=("$WATCH")
wait_for 10 "the watch" grep -q 'snapshot end' "$WORK/watch.out"
say "straitctl nsp watch --stream stream-a   (output shown as we go)"

step "3. Three targets open stream-a; the registry hands out identifiers 1, 2, 3"
say "Each is an agent that refreshes its lease every 3 s (straitctl ... --keep)."
for i in 1 2 3; do
  "$BIN/straitctl" nsp register --trench trench-a --conduit load-balancer --stream stream-a \
    --ip "198.18.1.$i/24" --ip "fd00:1::$i/64" --context "pod=target-$i" --keep --refresh 3 \
    >"$WORK/agent$i.out" 2>&1 &
  AGENT[$i]=$!
  PIDS+=("${AGENT[$i]}")
done
"$BIN/straitctl" nsp register --type frontend --trench trench-a --conduit load-balancer \
  --ip 198.18.2.1/24 --keep --refresh 3 >"$WORK/lb.out" 2>&1 &
PIDS+=($!)
listed() { [ "$("$BIN/straitctl" --json nsp list | jq '.targets | length')" -eq "$1" ]; }
wait_for 10 "4 registrations" listed 4
run "$BIN/straitctl" nsp list

step "4. Asking for an identifier that is taken is refused, naming the holder"
run "$BIN/straitctl" nsp register --trench trench-a --conduit load-balancer --stream stream-a \
  --ip 198.18.1.9/24 --identifier 2 || say "(exit status $?: the server refused)"

step "5. Target 2 closes its stream; the next target gets the lowest free identifier"
kill -TERM "${AGENT[2]}"
wait "${AGENT[2]}" || true
run "$BIN/straitctl" nsp register --trench trench-a --conduit load-balancer --stream stream-a \
  --ip 198.18.1.4/24 --context pod=target-4
say "What the watching load balancer saw so far:"
sed 's/^/   /' "$WORK/watch.out"

step "6. NSP is killed with kill -9 and restarted: nothing acknowledged is lost"
kill -9 "$NSP"
wait "$NSP" 2>/dev/null || true
start_nsp
tail -n 3 "$WORK/nsp.log" | sed 's/^/   /'
"$BIN/straitctl" nsp register --trench trench-a --conduit load-balancer --stream stream-a \
  --ip 198.18.1.5/24 --context pod=target-5 >/dev/null
wait_for 15 "the watcher to resume" grep -q '198.18.1.5/24' "$WORK/watch.out"
run "$BIN/straitctl" nsp list --stream stream-a
say "The watcher reconnected by itself and resumed after its last revision:"
grep -h 'lost\|watching again' "$WORK/watch.log" | tail -n 1 | sed 's/^/   /'
tail -n 1 "$WORK/watch.out" | sed 's/^/   /'
say "Target 4 registered once and was never refreshed: its 10 s lease runs out."
wait_for 20 "the lease of target 4 to expire" grep -q 'REMOVED.*198.18.1.4/24' "$WORK/watch.out"
grep 'REMOVED.*198.18.1.4/24' "$WORK/watch.out" | sed 's/^/   /'

step "7. A VIP is added through the configuration directory and reloaded live"
cat >>"$CFG/vips" <<'VIP'
  - name: vip-new
    trench: trench-a
    address: 198.18.100.9/32
VIP
vip_in() { "$BIN/straitctl" nsp config --kind vips | grep -q 198.18.100.9; }
wait_for 10 "the reload" vip_in
run "$BIN/straitctl" nsp config --kind vips
say "A broken update (a VIP that is not a /32) is refused as a whole:"
echo "    address: 198.18.100.10/24" >>"$CFG/vips"
sed -i 's|^    address: 198.18.100.10/24$|  - name: vip-bad\n    trench: trench-a\n    address: 198.18.100.10/24|' "$CFG/vips"
wait_for 10 "the refusal" grep -q 'update refused' "$WORK/nsp.log"
grep 'update refused' "$WORK/nsp.log" | tail -n 1 | sed 's/^/   /'

step "8. strait-ipam hands out node prefixes and addresses, durably"
IPAM_PORT=$((PORT + 2))
export STRAIT_IPAM=127.0.0.1:$IPAM_PORT
"$BIN/strait-ipam" -l "$STRAIT_IPAM" -m off -s "$WORK/ipam.db" --nsp "$STRAIT_NSP" \
  --reuse-delay 60 >>"$WORK/ipam.log" 2>&1 &
IPAM=$!
PIDS+=("$IPAM")
wait_for 10 "strait-ipam" port_open "$IPAM_PORT"
say "Each node's proxy takes its bridge address; each pod takes one address per family."
ipam_ready() { "$BIN/straitctl" ipam allocate --trench trench-a --conduit load-balancer \
  --node node-1 --name proxy-node-1 --bridge; }
wait_for 10 "IPAM to learn the conduits from NSP" ipam_ready >/dev/null
run "$BIN/straitctl" ipam allocate --trench trench-a --conduit load-balancer --node node-1 --name target-1
"$BIN/straitctl" ipam allocate --trench trench-a --conduit load-balancer --node node-2 \
  --name proxy-node-2 --bridge >/dev/null
"$BIN/straitctl" ipam allocate --trench trench-a --conduit load-balancer --node node-2 --name target-2 >/dev/null
run "$BIN/straitctl" ipam tree --trench trench-a
say "A conduit NSP's configuration does not have is refused, with a reason:"
run "$BIN/straitctl" ipam allocate --trench trench-a --conduit typo --node node-1 --name x ||
  say "(exit status $?)"

step "9. Prometheus metrics (curl 127.0.0.1:$METRICS/metrics, excerpt)"
curl -s "127.0.0.1:$METRICS/metrics" | grep -E "^strait_nsp_(registrations|revision|watchers|expired_total|config_re|rpc_calls_total|rpc_connections_open)" | sed 's/^/   /'

step "Done. Everything the demo started is being stopped and removed."
