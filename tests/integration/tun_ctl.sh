#!/usr/bin/env bash
# straitctl tun status against strait-tun's control socket
# (tests/netns/tunnel.sh with 2 nodes and 1 pod each; node j's socket is
# unix:$WORK/tun<j>.sock):
#   1. with instance n2p1 of web: node 1 lists web with that instance on n2
#      (reachable, not local), both nodes (n1 is itself), tables ready,
#      NSP connected, registered; node 2 sees the same instance as its own;
#      every drop reason is in the JSON; the text names the same things;
#   2. after a ping from n1p1 to the service, the counters moved on both
#      sides (device and UDP, a flow placed) and agree with /metrics; the
#      device has no IPv6 address, and no no_flow drops were counted (the
#      kernel's own DAD / MLD / RS packets on the device were, once);
#   3. an instance on a node without strait-tun (n9) is listed there,
#      unreachable, "(no tunnel)" in the text;
#   4. a strait-tun whose --control cannot be served exits 3;
#   5. a stopped one leaves no socket, and tun status exits 3.
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/netns/tunnel.sh"

tunnel_need ping
tunnel_init tunctl

tunnel_start --nodes 2 --pods 1
tunnel_instance_add n2p1

# ---- 1. the tables --------------------------------------------------------------

js() { tunnel_status "$1" --json; } # J
q() { jq -r "$2" <<<"$1"; }         # JSON FILTER
s1=$(js 1) || fail "tun status on n1: $s1"
[ "$(q "$s1" '[.node, .trench, .device, .underlay, .port, .mtu] | join(" ")')" = \
	"n1 trench-a strait-tun0 198.18.1.2 7779 1444" ] || fail "n1's identity: $s1"
[ "$(q "$s1" '[.nspConnected, .registered, .tablesReady] | join(" ")')" = "true true true" ] ||
	fail "n1 not connected, registered and ready: $s1"
[ "$(q "$s1" '.servicePrefixes | join(" ")')" = "198.19.200.0/24 fd00:19:200::/64" ] ||
	fail "n1's service prefixes: $s1"
[ "$(q "$s1" '.services | map(.name) | join(" ")')" = web ] || fail "services on n1: $s1"
web=$(q "$s1" '.services[0]')
[ "$(q "$web" '[(.addresses | join(",")), .policy, .maxInstances, .nLocal] | join(" ")')" = \
	"$TUNNEL_SERVICE4,$TUNNEL_SERVICE6 spread 10 0" ] || fail "web on n1: $web"
[ "$(q "$web" '.instances | length')" = 1 ] || fail "web has not one instance on n1: $web"
inst=$(q "$web" '.instances[0]')
[ "$(q "$inst" '[.identifier, .node, .local, .reachable, (.addresses | join(","))] | join(" ")')" = \
	"1 n2 false true $(tunnel_pod_addr n2p1 4),$(tunnel_pod_addr n2p1 6)" ] ||
	fail "n2p1 as n1 sees it: $inst"
[ "$(q "$s1" '.nodes | map("\(.name)=\(.address):\(.port):\(.self)") | join(" ")')" = \
	"n1=198.18.1.2:7779:true n2=198.18.2.2:7779:false" ] || fail "nodes on n1: $s1"
[ "$(q "$s1" '.counters.drops | keys | length')" = 12 ] || fail "not every drop reason on n1: $s1"
s2=$(js 2) || fail "tun status on n2: $s2"
[ "$(q "$s2" '.services[0].instances[0] | "\(.node) \(.local) \(.reachable)"')" = "n2 true true" ] &&
	[ "$(q "$s2" '.services[0].nLocal')" = 1 ] || fail "n2p1 as n2 sees it: $s2"
[ "$(q "$s2" '.nodes | map(select(.self)) | map(.name) | join(" ")')" = n2 ] || fail "n2 is not itself: $s2"
ok "tun status --json: web with instance 1 on n2 (n2: local), nodes n1 (self) and n2, tables ready, NSP connected, registered, 12 drop reasons"

t1=$(tunnel_status 1) || fail "tun status (text) on n1: $t1"
echo "$t1"
for line in "node n1, trench trench-a: strait-tun0 mtu 1444, underlay 198.18.1.2 port 7779" \
	"NSP connected; registered as TUNNEL; tables ready" "services (1):" "instances (1):" \
	"nodes (2):"; do
	grep -qxF "$line" <<<"$t1" || fail "no line '$line' in the text"
done
# Not "drops: none": the device's own IPv6 chatter (MLD reports when it
# comes up) is read and dropped too.
grep -qE '^drops: (none|[a-z_]+ [0-9]+(, [a-z_]+ [0-9]+)*)$' <<<"$t1" || fail "no drops line in the text"
grep -qE "^  web +1 +$(tunnel_pod_addr n2p1 4),$(tunnel_pod_addr n2p1 6) +n2$" <<<"$t1" ||
	fail "no instance row for n2p1 in the text"
grep -qE "^  n1 \(this node\) +198\.18\.1\.2 +7779$" <<<"$t1" || fail "no row for n1 in the text"
ok "tun status (text): header, the instance on n2, n1 as this node, drops"

# ---- 2. the counters after a ping ---------------------------------------------------

out=$(tunnel_exec n1p1 ping -c 3 -i 0.2 -W 2 "$TUNNEL_SERVICE4" 2>&1) || fail "ping $TUNNEL_SERVICE4: $out"
c1=$(q "$(js 1)" .counters) c2=$(q "$(js 2)" .counters)
ge() { [ "$(q "$1" "$2")" -ge "$3" ] || fail "$4: $2 is $(q "$1" "$2"), not >= $3: $1"; }
ge "$c1" .deviceRxPackets 3 n1
ge "$c1" .udpTxPackets 3 n1
ge "$c1" .udpRxPackets 3 n1
ge "$c1" .deviceTxPackets 3 n1
ge "$c1" .flowsNew 1 n1
ge "$c1" .flows 2 n1
ge "$c2" .udpRxPackets 3 n2
ge "$c2" .deviceTxPackets 3 n2
ge "$c2" .udpTxPackets 3 n2
[ "$(q "$c1" .deviceRxBytes)" -gt 0 ] && [ "$(q "$c2" .udpRxBytes)" -gt 0 ] || fail "no bytes counted: $c1 $c2"
m=$(tunnel_metric 1 strait_tun_packets_total 'leg="device",dir="rx"')
[ "$m" = "$(q "$c1" .deviceRxPackets)" ] || fail "n1 device rx: /metrics $m, status $(q "$c1" .deviceRxPackets)"
m=$(tunnel_metric 1 strait_tun_flows_new_total)
[ "$m" = "$(q "$c1" .flowsNew)" ] || fail "n1 flows placed: /metrics $m, status $(q "$c1" .flowsNew)"
[ "$(tunnel_metric 1 strait_tun_drops_total 'reason="not_ready"')" = "$(q "$c1" .drops.not_ready)" ] ||
	fail "n1 not_ready: /metrics and status differ"
ok "after a ping: n1 read $(q "$c1" .deviceRxPackets) and sent $(q "$c1" .udpTxPackets) over UDP, n2 received $(q "$c2" .udpRxPackets) and wrote $(q "$c2" .deviceTxPackets); $(q "$c1" .flowsNew) flow placed; the same figures as /metrics"
# The device has no IPv6 address of its own, so the kernel sends nothing
# of its own through it (DAD, MLD reports, router solicitations), which
# strait-tun would read and count as drops.
for j in 1 2; do
	a=$(ip -n "$TUNNEL_P-n$j" -6 -o addr show dev strait-tun0)
	[ -z "$a" ] || fail "n$j: strait-tun0 has an IPv6 address: $a"
done
[ "$(q "$c1" .drops.no_flow)" = 0 ] && [ "$(q "$c2" .drops.no_flow)" = 0 ] ||
	fail "no_flow drops without forged traffic: n1 $(q "$c1" .drops.no_flow), n2 $(q "$c2" .drops.no_flow)"
ok "strait-tun0 has no IPv6 address of its own; no no_flow drops on either node"

# ---- 3. an instance whose node has no strait-tun --------------------------------------

nspctl nsp register --type instance --trench trench-a --service web \
	--ip 198.19.9.11/32 --context node=n9 >/dev/null || fail "registering an instance on n9"
has_n9() { [ "$(q "$(js 1)" '.services[0].instances | map(select(.node == "n9")) | length')" = 1 ]; }
wait_for 10 "n1 lists the instance on n9" has_n9
n9=$(q "$(js 1)" '.services[0].instances | map(select(.node == "n9"))[0]')
[ "$(q "$n9" '"\(.local) \(.reachable) \(.addresses | join(","))"')" = "false false 198.19.9.11" ] ||
	fail "the instance on n9: $n9"
grep -qE "^  web +2 +198\.19\.9\.11 +n9 \(no tunnel\)$" <<<"$(tunnel_status 1)" ||
	fail "no '(no tunnel)' row for n9: $(tunnel_status 1)"
nspctl nsp unregister --type instance --trench trench-a --service web --ip 198.19.9.11/32 >/dev/null ||
	fail "unregistering the instance on n9"
ok "an instance on n9 (no TUNNEL): listed with its node, reachable false, '(no tunnel)'"

# ---- 4. --control that cannot be served -------------------------------------------

# A regular file where the socket would be: refused, not replaced
# (lib/rpc.h), and the daemon says so with exit 3. Its own namespace, with
# the underlay address it binds, so nothing of n1 or n2 is touched.
ns=$TUNNEL_P-x
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" addr add 198.18.9.2/32 dev lo
: >"$WORK/not-a-socket"
rc=0
ip netns exec "$ns" timeout 10 "$BIN/strait-tun" --trench trench-a --node x \
	--underlay 198.18.9.2 --nsp "unix:$WORK/nsp.sock" -m off \
	--control "unix:$WORK/not-a-socket" >"$WORK/tunx.log" 2>&1 || rc=$?
[ $rc = 3 ] || fail "strait-tun with an unusable --control exited $rc, not 3: $(cat "$WORK/tunx.log")"
grep -q "cannot serve the control socket unix:$WORK/not-a-socket" "$WORK/tunx.log" ||
	fail "no reason in the log: $(cat "$WORK/tunx.log")"
[ -f "$WORK/not-a-socket" ] && [ ! -S "$WORK/not-a-socket" ] || fail "the file was replaced"
ip -n "$ns" link show strait-tun0 >/dev/null 2>&1 && fail "strait-tun0 left behind in $ns"
ok "--control on a regular file: exit 3, the reason logged, the file kept, the device removed"

# ---- 5. a stopped daemon ----------------------------------------------------------

tunnel_tun_kill 2
[ ! -e "$WORK/tun2.sock" ] || fail "n2's control socket is left after SIGTERM"
rc=0
out=$(tunnel_status 2 --timeout 0.5 2>&1) || rc=$?
[ $rc = 3 ] && grep -q "cannot reach unix:$WORK/tun2.sock" <<<"$out" ||
	fail "tun status of a stopped strait-tun: exit $rc: $out"
ok "SIGTERM removes the socket; tun status then exits 3 naming it"
