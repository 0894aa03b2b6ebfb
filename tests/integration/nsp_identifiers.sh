# Identifiers are settled by the registry: 30 clients racing for a stream of
# 10 get exactly identifiers 1..10 and 20 clear refusals; explicit
# identifiers are granted or refused by name. Leases expire in real time
# unless refreshed.
source "$(dirname "$0")/lib.sh"

make_config "$WORK/cfg" stream-x:10 stream-y:100
NSP_PORT=$BASE_PORT
# The lease must outlast the race and the explicit asks that follow (on a
# loaded machine the 30 clients alone took 2 s, and with --ttl 2 the
# holder of identifier 5 had expired before it was asked for).
start_nsp nsp "$NSP_PORT" -c "$WORK/cfg" --ttl 6

reg() { ctl --json nsp register --trench trench-a --conduit lb "$@"; }
pids=()
for i in $(seq 1 30); do
  reg --stream stream-x --ip "198.18.3.$i/24" >"$WORK/r$i.out" 2>"$WORK/r$i.err" &
  pids+=($!)
done
granted=0 refused=0
for i in $(seq 1 30); do
  if wait "${pids[$((i - 1))]}"; then granted=$((granted + 1)); else
    rc=$?
    [ $rc -eq 1 ] || fail "client $i exited $rc: $(cat "$WORK/r$i.err")"
    grep -q 'RESOURCE_EXHAUSTED' "$WORK/r$i.err" || fail "client $i: $(cat "$WORK/r$i.err")"
    grep -q 'stream-x' "$WORK/r$i.err" || fail "the refusal does not name the stream: $(cat "$WORK/r$i.err")"
    refused=$((refused + 1))
  fi
done
[ $granted -eq 10 ] && [ $refused -eq 20 ] || fail "granted $granted, refused $refused"
ids=$(cat "$WORK"/r*.out | jq -r '.target.identifier' | sort -n | tr '\n' ' ')
[ "$ids" = "1 2 3 4 5 6 7 8 9 10 " ] || fail "identifiers granted: $ids"
ok "30 racing clients: identifiers 1..10 granted once each, 20 refused as full"

# Free identifier 4, then ask for it by number; ask for a held one and one
# out of range.
holder=$(cat "$WORK"/r*.out | jq -r 'select(.target.identifier == 4) | .target.ips[0]')
ctl nsp unregister --trench trench-a --conduit lb --stream stream-x --ip "$holder" >/dev/null
[ "$(reg --stream stream-x --ip 198.18.4.1/24 --identifier 4 | jq .target.identifier)" -eq 4 ] ||
  fail "the freed identifier 4 was not granted"
out=$(reg --stream stream-x --ip 198.18.4.2/24 --identifier 5 2>&1) && fail "identifier 5 granted twice"
grep -q 'ALREADY_EXISTS' <<<"$out" || fail "taken identifier: $out"
out=$(reg --stream stream-y --ip 198.18.4.3/24 --identifier 101 2>&1) && fail "identifier 101 granted in a stream of 100"
grep -q 'OUT_OF_RANGE' <<<"$out" || fail "out of range: $out"
out=$(reg --stream no-such --ip 198.18.4.4/24 2>&1) && fail "a registration for an unknown stream was accepted"
grep -q 'NOT_FOUND' <<<"$out" || fail "unknown stream: $out"
ok "explicit identifiers granted or refused with ALREADY_EXISTS, OUT_OF_RANGE, NOT_FOUND"

# Leases: one target kept alive by --keep (refresh every second), one
# left alone. The second expires; the first outlives it; when the keeper
# stops (SIGTERM) it unregisters.
ctl_bg --json nsp watch --stream stream-y >"$WORK/watch.out" 2>/dev/null
wait_for 10 "the watch's snapshot" grep -q '"snapshot":"end"' "$WORK/watch.out"
ctl_bg nsp register --trench trench-a --conduit lb --stream stream-y --ip 198.18.5.1/24 --keep --refresh 1 \
  >"$WORK/keep.out" 2>&1
keeper=$BG_PID
reg --stream stream-y --ip 198.18.5.2/24 >/dev/null
wait_for 15 "the unrefreshed registration to expire" \
  grep -q '"event":"REMOVED".*198.18.5.2/24' "$WORK/watch.out"
ctl --json nsp list --stream stream-y | jq -e '.targets[] | select(.ips[0] == "198.18.5.1/24")' >/dev/null ||
  fail "the refreshed registration expired too"
kill -TERM $keeper
wait $keeper || fail "the keeper did not exit 0 on SIGTERM"
wait_for 10 "the keeper's unregistration" grep -q '"event":"REMOVED".*198.18.5.1/24' "$WORK/watch.out"
ok "an unrefreshed lease expired, a refreshed one lived, SIGTERM unregistered it"
