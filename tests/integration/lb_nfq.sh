# lb/nfq end to end: verdicts and marks of a real NFQUEUE queue reach the
# kernel, and fail-open (--queue-bypass) lets traffic through when nobody
# serves the queue.
#
#   client ns               router ns                          server ns
#   c0 198.18.0.1/24 --- r0 198.18.0.254/24
#   default via .0.254      r1 198.18.1.254/24 noprefixroute --- s0 198.18.1.1/24
#                                                                default via .1.254
#   router: mangle PREROUTING -d 198.18.1.1 -j NFQUEUE --queue-num 7
#           ip rule fwmark 0x2a lookup 42; table 42: 198.18.1.0/24 dev r1
#           main table: no route to 198.18.1.0/24 (noprefixroute)
#
# Client-to-server packets are forwarded only if they leave the queue with
# mark 0x2a, so a reply proves both the verdict and the mark; replies take
# the main table's connected route back to the client, outside the queue.
# Everything lives in namespaces of this test's own; the root namespace's
# routes and rules are never touched.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
command -v iptables >/dev/null || skip "iptables is not installed"
command -v iperf3 >/dev/null || skip "iperf3 is not installed"

C=snq-$$-c R=snq-$$-r S=snq-$$-s
QUEUE=7 MARK=0x2a SERVER=198.18.1.1
NFQ_RULE=(PREROUTING -t mangle -d "$SERVER" -j NFQUEUE --queue-num "$QUEUE")

ns_cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for n in "$C" "$R" "$S"; do ip netns del "$n" 2>/dev/null || true; done
  (exit $rc)
  cleanup
}
trap ns_cleanup EXIT

ip netns add "$C" 2>/dev/null || skip "ip netns add failed (no namespace support?)"
ip netns add "$R" && ip netns add "$S"
# For commands run in the foreground only: in the background, a function
# would put a subshell between $! and the process.
inc() { ip netns exec "$C" "$@"; }
inr() { ip netns exec "$R" "$@"; }
ins() { ip netns exec "$S" "$@"; }

# The router's settings come first, so its interfaces inherit them: no
# reverse-path filter (the server's address has no route in main).
inr sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
  net.ipv4.conf.default.rp_filter=0
ip -n "$R" link add r0 type veth peer name c0 netns "$C"
ip -n "$R" link add r1 type veth peer name s0 netns "$S"
for n in "$C" "$R" "$S"; do ip -n "$n" link set lo up; done
ip -n "$C" addr add 198.18.0.1/24 dev c0 && ip -n "$C" link set c0 up
ip -n "$R" addr add 198.18.0.254/24 dev r0 && ip -n "$R" link set r0 up
ip -n "$R" addr add 198.18.1.254/24 dev r1 noprefixroute
ip -n "$R" link set r1 up
ip -n "$S" addr add "$SERVER/24" dev s0 && ip -n "$S" link set s0 up
ip -n "$C" route add default via 198.18.0.254
ip -n "$S" route add default via 198.18.1.254
ip -n "$R" route add 198.18.1.0/24 dev r1 table 42
ip -n "$R" rule add fwmark "$MARK" lookup 42

pings() { inc ping -c 1 -W 1 "$SERVER"; }
no_ping() { ! inc ping -c 1 -W 1 "$SERVER" >/dev/null 2>&1; }
queue_bound() {
  local t
  t=$(inr cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null) || return 1
  awk -v q="$QUEUE" '$1 == q { f = 1 } END { exit !f }' <<<"$t"
}
queue_free() { ! queue_bound; }

# start_mark NAME [ARGS...]: nfq_mark in the router, waits for its bind.
start_mark() {
  local name=$1; shift
  ip netns exec "$R" "$BIN/nfq_mark" "$QUEUE" "$MARK" --count-file "$WORK/$name.counts" "$@" \
    >>"$WORK/$name.log" 2>&1 &
  MARK_PID=$!
  PIDS+=("$MARK_PID")
  wait_for 10 "$name binds queue $QUEUE" queue_bound
}
# stop_mark NAME: SIGTERM, then the counters it writes on the way out.
stop_mark() {
  kill -TERM "$MARK_PID"
  local rc=0; wait "$MARK_PID" || rc=$?
  [ $rc -eq 0 ] || fail "nfq_mark $1 exited with status $rc"
  wait_for 5 "queue $QUEUE unbound" queue_free
}
count() { awk -v k="$2" '$1 == k { print $2 }' "$WORK/$1.counts"; }

# The path itself works when the main table has a route, and without one
# nothing gets through: only the mark can open it.
ip -n "$R" route add 198.18.1.0/24 dev r1
wait_for 10 "the server answers over a plain route" pings
ip -n "$R" route del 198.18.1.0/24 dev r1
no_ping || fail "the server answers without a route in main"
ok "topology: the server is reachable only through table 42"

inr iptables -A "${NFQ_RULE[@]}"
no_ping || fail "a ping passed an unserved queue without --queue-bypass"
ok "unserved queue: dropped"

# Served: ping, a bulk TCP transfer and UDP datagrams all get through.
start_mark m1
wait_for 10 "ping through nfq_mark" pings
ok "ping through the queue"

TPORT=$BASE_PORT UPORT=$((BASE_PORT + 1))
ip netns exec "$S" iperf3 -s -1 -B "$SERVER" -p "$TPORT" >"$WORK/iperf3-s.log" 2>&1 &
PIDS+=($!)
tcp_listening() { [ -n "$(ins ss -Hltn "sport = :$TPORT")" ]; }
wait_for 10 "iperf3 listening" tcp_listening
timeout 60 ip netns exec "$C" iperf3 -c "$SERVER" -p "$TPORT" -n 20M -J \
  >"$WORK/iperf3-c.json" 2>"$WORK/iperf3-c.log" ||
  fail "iperf3 through nfq_mark failed: $(tail -n 5 "$WORK/iperf3-c.log")"
# -n counts what the client wrote; iperf3 exits 0 only once the server
# has it (its own "received" figure stops at the end of its timer).
sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["end"]["sum_sent"]["bytes"])' \
  "$WORK/iperf3-c.json")
[ "$sent" -ge $((20 * 1024 * 1024)) ] || fail "iperf3 sent only $sent bytes of 20 MiB"
ok "TCP: 20 MiB through the queue"

ip netns exec "$S" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
with open(sys.argv[3], "a") as f:
    while True:
        d, _ = s.recvfrom(2048)
        f.write(d.decode() + "\n"); f.flush()
' "$SERVER" "$UPORT" "$WORK/udp.out" >>"$WORK/udp.log" 2>&1 &
PIDS+=($!)
udp_listening() { [ -n "$(ins ss -Hlun "sport = :$UPORT")" ]; }
wait_for 10 "the UDP receiver" udp_listening
for i in 1 2 3 4 5; do
  inc bash -c "echo datagram-$i >/dev/udp/$SERVER/$UPORT"
done
udp_all() { [ "$(grep -c '^datagram-' "$WORK/udp.out")" -eq 5 ]; }
wait_for 10 "5 UDP datagrams at the server" udp_all
ok "UDP through the queue"

# A second process cannot take the queue, and says why.
if inr "$BIN/nfq_mark" "$QUEUE" "$MARK" >"$WORK/second.log" 2>&1; then
  fail "a second nfq_mark bound queue $QUEUE"
fi
grep -q "already bound by another process" "$WORK/second.log" ||
  fail "the second nfq_mark did not say the queue is taken: $(cat "$WORK/second.log")"
ok "a taken queue is refused with a clear error"

stop_mark m1
rx=$(count m1 received) acc=$(count m1 accepted) v=$(count m1 verdicts)
# 20 MiB is over 14,000 segments of 1448 bytes, but the client's TSO
# sends it in GSO packets of up to 64 KiB, which reach the queue whole
# (NFQA_CFG_F_GSO): a few hundred. Thousands would mean segmentation.
[ "$rx" -gt 320 ] || fail "nfq_mark counted only $rx packets"
[ "$rx" -lt 7000 ] || fail "$rx packets for 20 MiB: GSO packets were segmented"
[ "$acc" = "$rx" ] && [ "$v" = "$rx" ] ||
  fail "received $rx, accepted $acc, verdicts $v"
[ "$(count m1 errors)" = 0 ] || fail "nfq_mark counted $(count m1 errors) errors"
ok "counters: $rx packets, $v verdicts in $(count m1 sends) sends, $(count m1 batches) batch messages"

no_ping || fail "a ping passed after nfq_mark stopped"
ok "stopped: dropped again"

# --drop-every 2: of 4 echo requests (nothing else goes to the server
# now) the 2nd and 4th are dropped.
start_mark m2 --drop-every 2
out=$(inc ping -c 4 -i 0.2 -W 1 "$SERVER" 2>&1 || true)
grep -q " 2 received" <<<"$out" || fail "--drop-every 2: expected 2 of 4 replies: $out"
stop_mark m2
[ "$(count m2 dropped)" = 2 ] && [ "$(count m2 accepted)" = 2 ] ||
  fail "--drop-every 2 counted $(count m2 accepted) accepted, $(count m2 dropped) dropped"
ok "--drop-every 2: 2 of 4 pings answered"

# Fail-open: with a main route, an unserved queue still drops, and with
# --queue-bypass the same traffic is routed as if there were no queue.
ip -n "$R" route add 198.18.1.0/24 dev r1
no_ping || fail "an unserved queue without --queue-bypass let a ping pass"
inr iptables -R "${NFQ_RULE[0]}" 1 "${NFQ_RULE[@]:1}" --queue-bypass
wait_for 10 "ping through an unserved queue with --queue-bypass" pings
ok "--queue-bypass: unserved traffic passes"

# And a served bypass queue still marks: without the main route again,
# only marked packets reach the server.
ip -n "$R" route del 198.18.1.0/24 dev r1
no_ping || fail "unmarked traffic reached the server"
start_mark m3
wait_for 10 "ping through nfq_mark with --queue-bypass" pings
stop_mark m3
ok "--queue-bypass: a served queue still applies its mark"
