# Three watchers see the same events in the same order. A fourth, killed
# with kill -9 and started again with its --resume file, continues without
# a gap or a repeat. All four ride through a restart of NSP itself.
source "$(dirname "$0")/lib.sh"

make_config "$WORK/cfg" stream-a:500 stream-b:500
NSP_PORT=$BASE_PORT
start_nsp nsp "$NSP_PORT" -c "$WORK/cfg"

watch() {  # watch N [ARGS...]: a JSON watcher appending to $WORK/wN.out
  local i=$1; shift
  ctl_bg --json nsp watch "$@" >>"$WORK/w$i.out" 2>>"$WORK/w$i.log"
  WPID[$i]=$BG_PID
}
events() { grep -c '"event"' "$WORK/w$1.out" 2>/dev/null || true; }
has_events() { [ "$(events "$1")" -ge "$2" ]; }
synced() { grep -q '"snapshot":"end"' "$WORK/w$1.out" 2>/dev/null; }
declare -a WPID
for i in 1 2 3; do watch "$i"; done
watch 4 --resume "$WORK/w4.state"
for i in 1 2 3 4; do wait_for 10 "watcher $i's snapshot" synced "$i"; done

"$BIN/nsp_load" "127.0.0.1:$NSP_PORT" trench-a lb stream-a 200 >/dev/null
wait_for 20 "watcher 4 has the first 200 events" has_events 4 200
kill -9 "${WPID[4]}"
wait "${WPID[4]}" 2>/dev/null || true
ok "watcher 4 killed after 200 events"

"$BIN/nsp_load" "127.0.0.1:$NSP_PORT" trench-a lb stream-b 200 1000 >/dev/null
for k in $(seq 1 10); do
  ctl nsp unregister --trench trench-a --conduit lb --stream stream-a --ip "198.18.0.$k/16" >/dev/null
  ctl nsp register --trench trench-a --conduit lb --stream stream-a --ip "198.18.0.$((k + 20))/16" \
    --status disabled >/dev/null
done
watch 4 --resume "$WORK/w4.state"
wait_for 20 "watcher 4 caught up after its restart" has_events 4 420

# NSP restarts under the watchers (SIGTERM, same store); each reconnects
# and resumes by itself.
kill -TERM "$NSP_PID"
wait "$NSP_PID" || fail "NSP did not stop cleanly on SIGTERM"
start_nsp nsp "$NSP_PORT" -c "$WORK/cfg"
"$BIN/nsp_load" "127.0.0.1:$NSP_PORT" trench-a lb stream-a 5 2000 >/dev/null
for i in 1 2 3 4; do wait_for 20 "watcher $i after the NSP restart" has_events "$i" 425; done

# The same 425 events, in the same order, everywhere; none twice.
for i in 1 2 3 4; do
  grep '"event"' "$WORK/w$i.out" | jq -c '[.revision, .event, .target.ips[0], .target.status]' >"$WORK/e$i"
done
for i in 2 3 4; do
  cmp -s "$WORK/e1" "$WORK/e$i" || fail "watcher $i differs from watcher 1: $(diff "$WORK/e1" "$WORK/e$i" | head -4 | tr '\n' ' ')"
done
[ "$(wc -l <"$WORK/e1")" -eq 425 ] || fail "watcher 1 has $(wc -l <"$WORK/e1") events, not 425"
[ "$(jq -r '.[0]' "$WORK/e1" | uniq -d | wc -l)" -eq 0 ] || fail "a revision came twice"
[ "$(jq -r '.[0]' "$WORK/e1" | tr '\n' ' ')" = "$(seq 1 425 | tr '\n' ' ')" ] || fail "revisions are not 1..425 in order"
[ "$(grep -c '"snapshot":"begin"' "$WORK/w4.out")" -eq 1 ] || fail "watcher 4 needed a new snapshot to resume"
ok "4 watchers: revisions 1..425 in order, identical, no gap, no repeat, one snapshot each"
