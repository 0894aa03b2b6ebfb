#!/usr/bin/env bash
# The whole north-south path end to end (tests/netns/cluster.sh): a client
# behind a gateway that spreads the VIPs over 2 LBs (ECMP), 2 nodes with a
# proxy each, 2 pods per node whose agents open stream s1. TCP and UDP to
# the VIP over IPv4 and IPv6 reach all 4 targets with nothing lost, both
# LBs carry traffic, and ping to the VIP is answered in both families. A pod
# that leaves a node under load (the one whose port lends the bridge its
# MAC) breaks only its own connections.
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/netns/cluster.sh"

for b in strait-proxy strait-target; do
	[ -x "$BIN/$b" ] || skip "$BIN/$b is not built yet"
done
cluster_init csm

cluster_start --lbs 2 --nodes 2 --targets 2
ok "2 LBs registered as frontends, 2 proxies linked to both, 4 agents up"

cluster_open_all s1
ok "4 targets opened s1 and are ready on both LBs"

accepted() { lbctl "$1" --json lb status | jq .accepted; }
before1=$(accepted 1) before2=$(accepted 2)

spread() { # NAME PROTO ADDRESS SOURCES
	local name=$1 proto=$2 addr=$3 src=$4 r h c
	cluster_traffic "$name" --address "$addr" --protocol "$proto" \
		--connections 200 --rate 2000 --duration 2 --sources "$src"
	wait "$CLUSTER_TRAFFIC_PID" || fail "$name: the client failed: $(tail -n 3 "$WORK/$name.log")"
	r=$WORK/$name.json
	jq -e '.connections == 200 and .lost == 0 and .failed_connects == 0' "$r" >/dev/null ||
		fail "$name: $(jq -c '{connections, lost, failed_connects, moved, hosts}' "$r")"
	for h in n1p1 n1p2 n2p1 n2p2; do
		c=$(jq --arg h "$h" '.hosts[$h].connections // 0' "$r")
		[ "$c" -ge 10 ] || fail "$name: $h served $c of 200 connections: $(jq -c .hosts "$r")"
	done
	ok "$name: 200 connections over 4 targets: $(jq -c '.hosts | map_values(.connections)' "$r"), none lost"
}
spread tcp4 tcp "$CLUSTER_VIP4:5003" "$(cluster_sources 4)"
spread udp4 udp "$CLUSTER_VIP4:5003" "$(cluster_sources 4)"
spread tcp6 tcp "[$CLUSTER_VIP6]:5003" "$(cluster_sources 6)"
spread udp6 udp "[$CLUSTER_VIP6]:5003" "$(cluster_sources 6)"

after1=$(accepted 1) after2=$(accepted 2)
[ $((after1 - before1)) -gt 1000 ] && [ $((after2 - before2)) -gt 1000 ] ||
	fail "the gateway should spread flows over both LBs: LB 1 took $((after1 - before1)) packets, LB 2 $((after2 - before2))"
ok "both LBs carried traffic: $((after1 - before1)) and $((after2 - before2)) packets"

cluster_exec c ping -c 2 -i 0.2 -W 2 "$CLUSTER_VIP4" >/dev/null || fail "ping $CLUSTER_VIP4"
cluster_exec c ping -c 2 -i 0.2 -W 2 "$CLUSTER_VIP6" >/dev/null || fail "ping $CLUSTER_VIP6"
ok "ping to the VIP through LB, proxy and back, both families"

# ---- a pod leaves a node: the others on its bridge keep working -----------
# A Linux bridge without an address of its own takes the lowest MAC of its
# ports and changes it when that port goes. The node's other pods keep
# sending to the old MAC (TCP traffic keeps their neighbour entry confirmed)
# and the whole node blackholes. So n1p1's port is given the lowest MAC (as
# the random draw sometimes does), n1p2 learns the bridge's MAC afresh, and
# while 200 connections run n1p1 closes its stream: only its own
# connections may break, and new connections reach the other three.
victim=n1p1 other=n1p2
port=$(proxyctl 1 --json proxy status | jq -r --arg p "$victim" '.pods[] | select(.name == $p) | .bridgePort')
[ -n "$port" ] || fail "proxy status shows no bridge port of $victim"
cluster_exec n1 ip link set "$port" address 02:00:00:00:00:01
bridge_mac=$(cluster_exec n1 cat /sys/class/net/stb-c1/address)
cluster_exec "$other" ip neigh flush dev st0

st() { cluster_stat long "$1"; }
st_is() { [ "$(st "$1")" = "$2" ]; }
st_ge() { [ "$(st "$1")" -ge "$2" ]; }
answered_more() { local want=$(($(st .received) + $1)); wait_for 20 "$1 more answers" st_ge .received "$want"; }
cluster_traffic long --address "$CLUSTER_VIP4:5003" --protocol tcp --connections 200 \
	--rate 2000 --duration 0 --sources "$(cluster_sources 4)"
long=$CLUSTER_TRAFFIC_PID
wait_for 20 "200 connections answered" st_is .connected 200
on_victim=$(st ".hosts.$victim.lasting")
cluster_close "$victim" s1 || fail "$victim cannot close s1"
wait_for 15 "$victim out of both LBs' tables" cluster_ready s1 3
wait_for 20 "$victim's connections to end" st_is ".hosts.$victim.lasting" 0
answered_more 4000
[ "$(st ".hosts.$other.lost // 0")" = 0 ] ||
	fail "$victim left node 1's bridge (bridge MAC $bridge_mac, now $(cluster_exec n1 cat /sys/class/net/stb-c1/address)) and $other, on the same bridge, lost $(st ".hosts.$other.lost") connections; its neighbour entry for the bridge: $(cluster_exec "$other" ip neigh show dev st0)"
[ "$(st .lost)" = "$on_victim" ] || fail "lost $(st .lost) connections, $victim had $on_victim: $(st .hosts)"
wait_for 20 "the lost connections replaced" st_is .connected 200
kill -TERM "$long"
wait "$long" || fail "the long client failed"
ok "$victim closed s1 under load (node 1's bridge MAC $bridge_mac, then $(cluster_exec n1 cat /sys/class/net/stb-c1/address)): only its $on_victim connections lost"

cluster_traffic fresh --address "$CLUSTER_VIP4:5003" --protocol tcp --connections 200 \
	--rate 2000 --duration 2 --sources "$(cluster_sources 4)"
wait "$CLUSTER_TRAFFIC_PID" || fail "the fresh client failed"
for h in n1p1 n1p2 n2p1 n2p2; do
	[ "$h" = "$victim" ] && continue
	[ "$(jq --arg h "$h" '.hosts[$h].connections // 0' "$WORK/fresh.json")" -gt 0 ] ||
		fail "$h serves no new connection after $victim left: $(jq -c '{failed_connects, hosts}' "$WORK/fresh.json")"
done
jq -e '.failed_connects == 0 and .lost == 0' "$WORK/fresh.json" >/dev/null ||
	fail "after $victim left: $(jq -c '{failed_connects, lost, hosts}' "$WORK/fresh.json")"
ok "new connections reach the 3 other targets: $(jq -c '.hosts | map_values(.connections)' "$WORK/fresh.json")"
