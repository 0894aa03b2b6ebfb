# Four clients allocate 10,000 names at once and get no address twice.
# IPAM is killed with kill -9 in the middle; after a restart on the same
# store every address a client was given is still recorded for its name,
# the clients finish (their earlier names come back unchanged), and still no
# address is held twice.
source "$(dirname "$0")/lib.sh"

IPAM_PORT=$BASE_PORT
# Conduit prefixes of /18 hold 16 node prefixes of /22 (1,021 addresses
# each): 10 nodes take the 10,000 names.
start_ipam ipam "$IPAM_PORT" --ipv4 169.255.0.0/16:18:22

pids=()
for c in 1 2 3 4; do
  if [ $c -eq 1 ]; then kill_args=("$IPAM_PID" 1000); else kill_args=(); fi
  "$BIN/ipam_load" "127.0.0.1:$IPAM_PORT" trench-a lb 10 "client$c" 2500 "${kill_args[@]}" \
    >"$WORK/acks$c" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" && fail "a client finished although IPAM was killed" || true; done
wait "$IPAM_PID" 2>/dev/null || true
acked=$(cat "$WORK"/acks? | grep -c '^ACK')
[ "$acked" -lt 10000 ] || fail "IPAM was killed too late"
ok "IPAM killed after $acked acknowledged allocations from 4 clients"

start_ipam ipam "$IPAM_PORT" --ipv4 169.255.0.0/16:18:22
ipamctl --json ipam list --trench trench-a >"$WORK/list1.json"
cat "$WORK"/acks? | awk '/^ACK/ {print $2, $4}' | sort >"$WORK/want"
jq -r '.allocations[] | "\(.name) \(.address)"' "$WORK/list1.json" | sort >"$WORK/have"
lost=$(comm -23 "$WORK/want" "$WORK/have" | wc -l)
[ "$lost" -eq 0 ] || fail "$lost acknowledged allocations lost or changed: $(comm -23 "$WORK/want" "$WORK/have" | head -3 | tr '\n' ' ')"
ok "all $acked acknowledged allocations are recorded for their names"

pids=()
for c in 1 2 3 4; do
  "$BIN/ipam_load" "127.0.0.1:$IPAM_PORT" trench-a lb 10 "client$c" 2500 >"$WORK/again$c" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a client failed after the restart: $(grep -h FAIL "$WORK"/again? | head -1)"; done
# The names allocated before the crash came back as they were.
cat "$WORK"/again? | awk '/^ACK/ {print $2, $4}' | sort >"$WORK/after"
[ -z "$(comm -23 "$WORK/want" "$WORK/after")" ] || fail "a name got a different address after the restart"
ipamctl --json ipam list --trench trench-a >"$WORK/list2.json"
total=$(jq '.allocations | length' "$WORK/list2.json")
unique=$(jq '[.allocations[].address | split("/")[0]] | unique | length' "$WORK/list2.json")
[ "$total" -eq 10000 ] || fail "expected 10000 allocations, found $total"
[ "$unique" -eq 10000 ] || fail "addresses held twice: $unique distinct of $total"
ok "10,000 names, 10,000 distinct addresses"
