# A full /24 refuses the next name with node_prefix_full and the server
# keeps serving; full conduit and trench prefixes, the bridge, the reuse
# delay (across a restart), lease collection, garbage frames, and the NSP
# conduit check, each with its reason.
source "$(dirname "$0")/lib.sh"

IPAM_PORT=$BASE_PORT
# trench-a: the default IPv4 tree (/16, /20, /24). trench-s: a small one,
# 2 conduits of 2 nodes of 4 addresses (one usable besides the bridge).
start_ipam ipam "$IPAM_PORT" --reuse-delay 30 --ipv4 trench-s=198.18.0.0/28:29:30

alloc() { ipamctl --json ipam allocate --family ipv4 "$@"; }
reason_of() { grep -o 'RESOURCE_EXHAUSTED [a-z_]*\|ALREADY_EXISTS [a-z_]*\|INVALID_ARGUMENT [a-z_]*\|NOT_FOUND [a-z_]*' <<<"$1" | head -n1; }

# The bridge takes .1; children take .2 .. .254; .0 and .255 never.
[ "$(alloc --trench trench-a --conduit lb --node n1 --name br --bridge | jq -r .ipv4.address)" = "169.255.0.1/24" ] ||
  fail "the bridge did not get .1"
out=$(alloc --trench trench-a --conduit lb --node n1 --name br2 --bridge 2>&1) && fail "a second bridge was granted"
[ "$(reason_of "$out")" = "ALREADY_EXISTS bridge_taken" ] || fail "second bridge: $out"
for i in $(seq 1 253); do
  alloc --trench trench-a --conduit lb --node n1 --name "pod-$i" >/dev/null || fail "pod-$i was refused"
done
out=$(alloc --trench trench-a --conduit lb --node n1 --name pod-254 2>&1) && fail "a 254th child was granted in a /24"
[ "$(reason_of "$out")" = "RESOURCE_EXHAUSTED node_prefix_full" ] || fail "full /24: $out"
grep -q '169.255.0.0/24' <<<"$out" || fail "the message does not name the prefix: $out"
ipamctl --json ipam list --node n1 >"$WORK/n1.json"
[ "$(jq '[.allocations[].address] | map(select(. == "169.255.0.0/24" or . == "169.255.0.255/24")) | length' "$WORK/n1.json")" -eq 0 ] ||
  fail "the network or broadcast address was handed out"
[ "$(alloc --trench trench-a --conduit lb --node n2 --name pod-1 | jq -r .ipv4.address)" = "169.255.1.2/24" ] ||
  fail "another node was not served after the /24 filled"
ok "a full /24 says node_prefix_full naming the prefix; the server goes on"

# Release, then the quarantine: the freed address is not reused at once,
# not even after a restart.
freed=$(ipamctl --json ipam release --family ipv4 --trench trench-a --conduit lb --node n2 --name pod-1 | jq -r .ipv4.address)
[ "$freed" = "169.255.1.2/24" ] || fail "release returned $freed"
kill -9 "$IPAM_PID"; wait "$IPAM_PID" 2>/dev/null || true
start_ipam ipam "$IPAM_PORT" --reuse-delay 30 --ipv4 trench-s=198.18.0.0/28:29:30
[ "$(alloc --trench trench-a --conduit lb --node n2 --name pod-2 | jq -r .ipv4.address)" = "169.255.1.3/24" ] ||
  fail "the quarantined address was handed out again after a restart"
ok "a released address stays quarantined, across a restart too"

# The small trench: a /30 node has one address for a child.
alloc --trench trench-s --conduit c1 --node n1 --name a >/dev/null || fail "trench-s c1/n1 refused"
out=$(alloc --trench trench-s --conduit c1 --node n1 --name b 2>&1) && fail "a /30 gave two children"
[ "$(reason_of "$out")" = "RESOURCE_EXHAUSTED node_prefix_full" ] || fail "/30: $out"
alloc --trench trench-s --conduit c1 --node n2 --name a >/dev/null || fail "trench-s c1/n2 refused"
out=$(alloc --trench trench-s --conduit c1 --node n3 --name a 2>&1) && fail "a /29 conduit held 3 nodes of /30"
[ "$(reason_of "$out")" = "RESOURCE_EXHAUSTED conduit_prefix_full" ] || fail "conduit full: $out"
alloc --trench trench-s --conduit c2 --node n1 --name a >/dev/null || fail "trench-s c2 refused"
out=$(alloc --trench trench-s --conduit c3 --node n1 --name a 2>&1) && fail "a /28 trench held 3 conduits of /29"
[ "$(reason_of "$out")" = "RESOURCE_EXHAUSTED trench_prefix_full" ] || fail "trench full: $out"
out=$(alloc --trench trench-s --conduit c1 --node n1 --name 'bad name' 2>&1) && fail "a name with a space was accepted"
[ "$(reason_of "$out")" = "INVALID_ARGUMENT name_invalid" ] || fail "bad name: $out"
ok "conduit_prefix_full, trench_prefix_full and name_invalid, each named"

# Garbage on the API port is refused; the server keeps serving.
for i in $(seq 20); do
  ( exec 3<>"/dev/tcp/127.0.0.1/$IPAM_PORT"; head -c 600 /dev/urandom >&3; cat <&3 >/dev/null ) 2>/dev/null &
done
alloc --trench trench-a --conduit lb --node n3 --name after-garbage >/dev/null || fail "refused after garbage"
wait_for 15 "a bad frame in the log" grep -q 'bad frame' "$WORK/ipam.log"
kill -0 "$IPAM_PID" || fail "IPAM died"
ok "garbage frames refused, the server goes on"

# Leases, on a server of its own with 2 s leases: an unrefreshed child is
# collected, a refreshed one and the bridge are kept.
main_port=$IPAM_PORT
IPAM_PORT=$((BASE_PORT + 4))
start_ipam ipam3 "$IPAM_PORT" --lease 2 --collect 1
alloc --trench trench-a --conduit lb --node n1 --name br --bridge >/dev/null
alloc --trench trench-a --conduit lb --node n1 --name idle >/dev/null
alloc --trench trench-a --conduit lb --node n1 --name busy >/dev/null
gone() {
  alloc --trench trench-a --conduit lb --node n1 --name busy >/dev/null   # a refresh
  ! ipamctl --json ipam list --node n1 | jq -e '.allocations[] | select(.name == "idle")'
}
wait_for 15 "the idle child's lease to be collected" gone
list=$(ipamctl --json ipam list --node n1)
jq -e '.allocations[] | select(.name == "br" and .bridge)' <<<"$list" >/dev/null || fail "the bridge was collected"
jq -e '.allocations[] | select(.name == "busy")' <<<"$list" >/dev/null || fail "the refreshed child was collected"
ok "an unrefreshed lease was collected; a refreshed one and the bridge were kept"
IPAM_PORT=$main_port

# With --nsp, a conduit that NSP's configuration lacks is refused.
NSP_PORT=$((BASE_PORT + 2))
make_config "$WORK/cfg" stream-a:10
start_nsp nsp "$NSP_PORT" -c "$WORK/cfg"
IPAM_PORT=$((BASE_PORT + 3))
start_ipam ipam2 "$IPAM_PORT" --nsp "127.0.0.1:$NSP_PORT"
ready() { alloc --trench trench-a --conduit lb --node n1 --name p1; }
wait_for 10 "IPAM to learn NSP's conduits" ready
# The configuration's conduit was laid out when NSP named it, in both
# families, before any child asked for an IPv6 address.
ipamctl --json ipam tree --trench trench-a | jq -e '[.trenches[] | select(.family == "ipv6") | .children[] | select(.name == "lb")] | length == 1' >/dev/null ||
  fail "the conduit from NSP's configuration has no IPv6 prefix"
out=$(alloc --trench trench-a --conduit lbb --node n1 --name p1 2>&1) && fail "an unknown conduit was accepted"
[ "$(reason_of "$out")" = "NOT_FOUND unknown_conduit" ] || fail "unknown conduit: $out"
ok "with --nsp, an unknown conduit is refused with unknown_conduit"
