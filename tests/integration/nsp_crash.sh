# NSP killed with kill -9 in the middle of 1,000 registrations and
# restarted on the same store loses no acknowledged registration, gives no
# identifier twice, and then takes the rest.
source "$(dirname "$0")/lib.sh"

make_config "$WORK/cfg" stream-a:2000
NSP_PORT=$BASE_PORT
start_nsp nsp "$NSP_PORT" -c "$WORK/cfg"

# The 300th acknowledgement triggers the kill, with 16 calls in flight.
if "$BIN/nsp_load" "127.0.0.1:$NSP_PORT" trench-a lb stream-a 1000 0 "$NSP_PID" 300 >"$WORK/acks1"; then
  fail "the load finished although NSP was killed"
fi
wait "$NSP_PID" 2>/dev/null || true
grep -q '^FAIL' "$WORK/acks1" || fail "the load did not notice NSP's death"
n=$(grep -c '^ACK' "$WORK/acks1")
[ "$n" -lt 1000 ] || fail "NSP was killed too late ($n acknowledged)"
ok "NSP killed after $n acknowledged registrations"

start_nsp nsp "$NSP_PORT" -c "$WORK/cfg"
ctl --json nsp list >"$WORK/list1.json"
# Every acknowledged registration is there, with the identifier it got.
awk '/^ACK/ {print $2, $3}' "$WORK/acks1" | sort >"$WORK/want"
jq -r '.targets[] | "\(.ips[0]) \(.identifier)"' "$WORK/list1.json" | sort >"$WORK/have"
missing=$(comm -23 "$WORK/want" "$WORK/have" | wc -l)
[ "$missing" -eq 0 ] || fail "$missing acknowledged registrations lost: $(comm -23 "$WORK/want" "$WORK/have" | head -3 | tr '\n' ' ')"
ok "all $n acknowledged registrations survived, identifiers unchanged"

# The rest go in; all 1,000 are held with 1,000 distinct identifiers.
"$BIN/nsp_load" "127.0.0.1:$NSP_PORT" trench-a lb stream-a 1000 >"$WORK/acks2" ||
  fail "registering after the restart failed: $(tail -1 "$WORK/acks2")"
ctl --json nsp list >"$WORK/list2.json"
total=$(jq '.targets | length' "$WORK/list2.json")
ids=$(jq '[.targets[].identifier] | unique | length' "$WORK/list2.json")
[ "$total" -eq 1000 ] || fail "expected 1000 registrations, found $total"
[ "$ids" -eq 1000 ] || fail "identifiers are not unique: $ids distinct of $total"
# A registration acknowledged before the crash kept its identifier through
# the re-registration (a refresh, not a new one).
awk '/^ACK/ {print $2, $3}' "$WORK/acks2" | sort >"$WORK/after"
[ -z "$(comm -23 "$WORK/want" "$WORK/after")" ] || fail "a re-registration changed an identifier"
ok "1000 registrations, 1000 distinct identifiers"
