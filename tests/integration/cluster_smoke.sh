#!/usr/bin/env bash
# The whole north-south path end to end (tests/netns/cluster.sh): a client
# behind a gateway that spreads the VIPs over 2 LBs (ECMP), 2 nodes with a
# proxy each, 2 pods per node whose agents open stream s1. TCP and UDP to
# the VIP over IPv4 and IPv6 reach all 4 targets with nothing lost, both
# LBs carry traffic, and ping to the VIP is answered in both families.
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
