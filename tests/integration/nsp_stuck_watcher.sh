# A watcher frozen with SIGSTOP during a flood of registrations does not
# delay the other watchers, does not make NSP's memory grow with the
# backlog, is closed as dead by the keepalive, and when thawed reconnects
# and ends with the same view as everyone else.
source "$(dirname "$0")/lib.sh"

make_config "$WORK/cfg" $(for i in $(seq 0 19); do printf 'stream-%d:100 ' "$i"; done)
NSP_PORT=$BASE_PORT
start_nsp nsp "$NSP_PORT" -c "$WORK/cfg"

for i in 1 2; do
  ctl_bg --json nsp watch >"$WORK/w$i.out" 2>"$WORK/w$i.log"
  WPID[$i]=$BG_PID
done
frozen=${WPID[1]}
synced() { grep -q '"snapshot":"end"' "$WORK/w$1.out"; }
for i in 1 2; do wait_for 10 "watcher $i's snapshot" synced "$i"; done
kill -STOP "$frozen"

rss() { awk '/^VmHWM/ {print $2}' "/proc/$NSP_PID/status"; }
before=$(rss)
# 2,000 targets, each updated 20 times with a ~900-byte context: some
# 40 MB of events for 2 MB of registrations. A backlog without bound
# would keep all 40 MB for the frozen watcher; ours keeps at most 4 MiB.
# Measured peak growth: 20-21 MiB (live data, the 8,192-event log and one
# 4 MiB backlog); with congestion handling disabled: 40 MiB. The limit
# below sits between the two.
for round in $(seq 0 19); do
  for s in $(seq 0 19); do
    NSP_LOAD_CONTEXT=$((890 + round)) "$BIN/nsp_load" "127.0.0.1:$NSP_PORT" trench-a lb \
      "stream-$s" 100 $((s * 100)) >/dev/null &
  done
  wait_load() { ! pgrep -f "nsp_load 127.0.0.1:$NSP_PORT" >/dev/null; }
  wait_for 60 "round $round of the loaders" wait_load
done
events() { [ "$(grep -c '"event"' "$WORK/w$1.out")" -ge "$2" ]; }
wait_for 60 "the live watcher to have all 40,000 events" events 2 40000
ok "the live watcher got all 40,000 events while the other was frozen"

wait_for 20 "NSP to close the frozen watcher" grep -q 'closing .*dead peer' "$WORK/nsp.log"
after=$(rss)
grow=$(( (after - before) / 1024 ))
[ "$grow" -lt 30 ] || fail "NSP's peak memory grew by $grow MiB"
ok "the frozen watcher was closed as dead; NSP's peak memory grew by $grow MiB"

kill -CONT "$frozen"
wait_for 30 "the thawed watcher to catch up" grep -q 'watching again' "$WORK/w1.log"
# Its final view (replaying snapshots and events) equals the live one's.
view() {
  jq -r 'if .snapshot == "begin" then "RESET"
         elif .event == "REMOVED" then "DEL \(.target.ips[0])"
         elif .event then "PUT \(.target.ips[0]) \(.target.identifier)" else empty end' "$WORK/w$1.out" |
    awk '$1 == "RESET" {delete v; next} $1 == "PUT" {v[$2] = $3} $1 == "DEL" {delete v[$2]}
         END {for (k in v) print k, v[k]}' | sort
}
converged() { [ "$(view 1)" = "$(view 2)" ]; }
wait_for 60 "the thawed watcher's view to equal the live one" converged
[ "$(view 2 | wc -l)" -eq 2000 ] || fail "the live view holds $(view 2 | wc -l) targets, not 2000"
ok "thawed, it reconnected and converged to the same 2,000 targets"
