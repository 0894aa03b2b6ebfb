# 200 connections sending garbage do not stop a good client: each is closed
# (for a bad frame, or by the keepalive when what it sent looks like the
# start of a frame), NSP keeps serving and counts them.
source "$(dirname "$0")/lib.sh"

make_config "$WORK/cfg" stream-a:500
NSP_PORT=$BASE_PORT
METRICS=$((BASE_PORT + 1))
start_nsp nsp "$NSP_PORT" -c "$WORK/cfg" -m "127.0.0.1:$METRICS"

bad=()
for i in $(seq 200); do
  # Each sends random bytes and then waits for NSP to close the socket.
  ( exec 3<>"/dev/tcp/127.0.0.1/$NSP_PORT"; head -c $((RANDOM % 2000 + 1)) /dev/urandom >&3; cat <&3 >/dev/null ) 2>/dev/null &
  bad+=($!)
done
PIDS+=("${bad[@]}")

"$BIN/nsp_load" "127.0.0.1:$NSP_PORT" trench-a lb stream-a 300 >"$WORK/acks" ||
  fail "the good client failed: $(tail -1 "$WORK/acks")"
[ "$(ctl --json nsp list | jq '.targets | length')" -eq 300 ] || fail "the good client's registrations are not all there"
ok "the good client registered 300 targets during the garbage"

for p in "${bad[@]}"; do
  wait_for 30 "NSP to close garbage connection $p" bash -c "! kill -0 $p"
done
kill -0 "$NSP_PID" || fail "NSP died"
m=$(curl -sf "127.0.0.1:$METRICS/metrics")
closed=$(awk '/^strait_nsp_rpc_(bad_frames|dead_peers)_total / {s += $2} END {print s}' <<<"$m")
[ "$closed" -ge 200 ] || fail "only $closed garbage connections were counted as closed"
grep -q 'bad frame' "$WORK/nsp.log" || fail "no log line names a bad frame"
line=$(grep -m1 'bad frame' "$WORK/nsp.log")
grep -q 'closing 127.0.0.1:[0-9]*: bad frame' <<<"$line" || fail "the log line does not name the peer: $line"
ok "all 200 garbage connections closed and counted ($closed), NSP alive"
