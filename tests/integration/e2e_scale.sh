#!/usr/bin/env bash
# End to end (issue 5): "Scale out from 4 to 5 targets during 400
# long-lived connections: no connection lost. Scale in from 5 to 4: only
# connections of the removed target lost."
#
# The whole north-south path (tests/netns/cluster.sh): a client behind a
# gateway spreading over 2 LBs, 2 nodes with a proxy each, 2 pods per node
# with stream s1 open. 400 long-lived TCP connections to the VIP run the
# whole time. A fifth pod is created on node 1 and opens s1: none of the
# 400 connections breaks or moves, and new connections reach it. Then a
# pod with connections is deleted the Kubernetes way (SIGTERM to its agent,
# which closes its stream, then the pod goes): exactly its connections are
# lost, no other target loses one, and the client's replacements spread
# over the 4 that remain, the fifth included.
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/netns/cluster.sh"

for b in strait-proxy strait-target strait-lb strait-traffic; do
	[ -x "$BIN/$b" ] || skip "$BIN/$b is not built yet"
done
cluster_init e2es

cluster_start --lbs 2 --nodes 2 --targets 2
cluster_open_all s1
ok "4 targets (n1p1 n1p2 n2p1 n2p2) ready in s1 on both LBs"

st() { cluster_stat long "$1"; }
st_is() { [ "$(st "$1")" = "$2" ]; } # JQ VALUE
received_at_least() { [ "$(st .received)" -ge "$1" ]; }
# Requests keep flowing after a change: wait for N more answers, so that
# every connection has sent several requests through the new state.
answered_more() { # N
	local target=$(($(st .received) + $1))
	wait_for 20 "$1 more answers" received_at_least "$target"
}
status() { jq -c "${1:-.}" "$WORK/long.status"; }
per_host() { jq -c '.hosts | map_values(.connections)' "$1"; }

cluster_traffic long --address "$CLUSTER_VIP4:5003" --protocol tcp \
	--connections 400 --rate 2000 --duration 0 --sources "$(cluster_sources 4)"
long=$CLUSTER_TRAFFIC_PID
wait_for 20 "400 connections answered" st_is .connected 400
answered_more 2000
st_is .lost 0 && st_is .failed_connects 0 ||
	fail "before any change: $(status '{connections, connected, failed_connects, lost}')"
for h in n1p1 n1p2 n2p1 n2p2; do
	c=$(st ".hosts.$h.connections // 0")
	[ "$c" -ge 40 ] || fail "$h serves $c of the 400 connections: $(status .hosts)"
done
ok "400 long-lived connections over 4 targets: $(per_host "$WORK/long.status")"

# ---- scale out: 4 -> 5 -------------------------------------------------------
cluster_pod_add 1
new=$CLUSTER_POD
cluster_open "$new" s1 || fail "$new cannot open s1"
wait_for 20 "5 ready targets in s1 on both LBs" cluster_ready s1 5
answered_more 4000
st_is .lost 0 && st_is .moved 0 && st_is .failed_connects 0 && st_is .connected 400 ||
	fail "scale-out broke connections: $(status '{connections, connected, failed_connects, lost, moved, hosts}')"
st_is ".hosts.$new.connections // 0" 0 ||
	fail "$new took over established connections: $(status .hosts)"
ok "scale-out 4 -> 5 ($new opened s1) during 400 connections: 0 lost, 0 moved, 400 still connected"

cluster_traffic fresh --address "$CLUSTER_VIP4:5003" --protocol tcp \
	--connections 200 --rate 2000 --duration 1 --sources "$(cluster_sources 4)"
wait "$CLUSTER_TRAFFIC_PID" || fail "the fresh client failed: $(tail -n 3 "$WORK/fresh.log")"
jq -e '.connections == 200 and .lost == 0 and .failed_connects == 0' "$WORK/fresh.json" >/dev/null ||
	fail "fresh connections: $(jq -c '{connections, lost, failed_connects, hosts}' "$WORK/fresh.json")"
for h in n1p1 n1p2 n2p1 n2p2 "$new"; do
	c=$(jq --arg h "$h" '.hosts[$h].connections // 0' "$WORK/fresh.json")
	[ "$c" -ge 15 ] || fail "new connections: $h served $c of 200: $(per_host "$WORK/fresh.json")"
done
ok "200 new connections over 5 targets: $(per_host "$WORK/fresh.json")"

# ---- scale in: 5 -> 4 --------------------------------------------------------
gone=n2p2
on_gone=$(st ".hosts.$gone.lasting")
[ "$on_gone" -gt 0 ] || fail "no connection on $gone to lose"
[ "$(st ".hosts.$gone.connections")" = "$on_gone" ] || fail "$gone: $(status .hosts)"
t0=$SECONDS
cluster_pod_del "$gone"
wait_for 20 "4 ready targets in s1 on both LBs" cluster_ready s1 4
wait_for 20 "$gone's connections to break" st_is ".hosts.$gone.lasting" 0
wait_for 20 "the lost connections replaced" st_is .connected 400
answered_more 4000
lost_gone=$(st ".hosts.$gone.lost")
conns_gone=$(st ".hosts.$gone.connections")
[ "$lost_gone" = "$on_gone" ] && [ "$conns_gone" = "$on_gone" ] ||
	fail "$gone had $on_gone connections; now it has $conns_gone, $lost_gone lost: $(status .hosts)"
for h in n1p1 n1p2 n2p1 "$new"; do
	st_is ".hosts.$h.lost // 0" 0 ||
		fail "$h lost connections when $gone left: $(status .hosts)"
done
st_is .lost "$on_gone" && st_is .moved 0 ||
	fail "lost $(st .lost) (moved $(st .moved)), $gone had $on_gone: $(status .hosts)"
ok "scale-in 5 -> 4 ($gone deleted): lost $lost_gone = its $on_gone connections, 0 on the 4 others, 0 moved; 400 connected again $((SECONDS - t0)) s later"

# The replacements went to the 4 that remain, the fifth included.
[ "$(st ".hosts.$new.connections // 0")" -gt 0 ] ||
	fail "none of the $on_gone replacements reached $new: $(status .hosts)"

kill -TERM "$long"
wait "$long" || fail "the long client failed: $(tail -n 3 "$WORK/long.log")"
r=$WORK/long.json
jq -e --argjson n "$on_gone" --arg g "$gone" \
	'.lost == $n and .moved == 0 and .failed_connects == 0 and .connected == 400
	 and .hosts[$g].lost == $n and .hosts[$g].lasting == 0
	 and ([.hosts[] | .lost] | add) == $n and .sent == .received + .dropped' "$r" >/dev/null ||
	fail "final report: $(jq -c '{connections, connected, failed_connects, lost, moved, sent, received, dropped, hosts}' "$r")"
ok "final report: $(jq -c '{connections, connected, lost, moved, sent, received, dropped}' "$r")"
ok "per target (connections/lasting/lost): $(jq -c '.hosts | map_values("\(.connections)/\(.lasting)/\(.lost)")' "$r")"
