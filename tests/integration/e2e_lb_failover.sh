#!/usr/bin/env bash
# End to end (tests/netns/cluster.sh): one of two LBs dies (kill -9) while
# long-lived traffic runs, and comes back.
#
#   2 LBs, 2 nodes x 2 targets (stream s1); 200 TCP connections over IPv4
#   and 200 UDP flows over IPv6 from the client, at 2000 requests/s each.
#   1. kill -9 LB 1; after the routing protocol's detection time (DETECT,
#      BFD-like) the gateway's nexthop to it is withdrawn: the UDP flows
#      that the gateway hashed to LB 1 are lost and reconnect through LB 2
#      (how many, and how long until all N are answered again, is printed);
#      the TCP connections of LB 1 are NOT lost: their retransmissions go
#      to LB 2, whose Maglev table is the same, so they resume on their own
#      target (moved == 0); new connections all succeed;
#   2. egress while LB 1 is dead: its FRONTEND registration lives until
#      NSP's lease ends (a kill -9 cannot unregister), so the proxies keep
#      it in their multipath; replies hashed to it still get out because
#      LB 1's namespace forwards them (egress is plain routing there, not
#      strait-lb): counted on its front link. When the lease ends (NSP runs
#      with --ttl TTL here, not 60 s) every proxy removes the LB's links
#      and its nexthop at once (docs/proxy.md), with nothing lost;
#   3. LB 1 restarted: every node's proxy links it again, it has all 4
#      targets, both LBs are in every proxy's egress; its route restored at
#      the gateway, it carries traffic again and the connections that move
#      back to it keep their targets (nothing lost or moved).
#
# The gateway hashes on the packet's addresses and ports here
# (fib_multipath_hash_policy 3), like a real router: with cluster.sh's
# policy 1 a forwarded packet keeps the hash the client's socket put on it
# (veth does not clear skb->hash), and TCP picks a new random one at each
# retransmission timeout, so TCP connections would wander off a dead LB by
# themselves, which no router in front of a real LB does.
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/netns/cluster.sh"

for b in strait-proxy strait-target; do
	[ -x "$BIN/$b" ] || skip "$BIN/$b is not built yet"
done
cluster_init lbf

TTL=30         # NSP's lease (the LBs, proxies and agents refresh every 20 s)
DETECT=1.0     # the routing protocol's time to notice a dead LB (BFD: 3 x 300 ms)
# UDP: 10 requests/s per flow, dropped after 300 ms: a flow of LB 1 has its
# third unanswered request dropped (and ends) about 0.6 s after the kill,
# before the withdraw. Its replacement may hash to LB 1 too: its first
# requests are dropped until the withdraw and the next ones answered through
# LB 2; strait-traffic counts that flow as connected late (drops before a
# flow's first answer belong to its connect), not as lost.
N=200 RATE=2000 UDP_TIMEOUT=300
CLUSTER_NSP_ARGS="--ttl $TTL"

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
st() { cluster_stat "$1" "$2"; } # NAME JQ
st_is() { [ "$(st "$1" "$2")" = "$3" ]; }
accepted() { lbctl "$1" --json lb status | jq .accepted; }
accepted_grew() { [ "$(accepted "$1")" -ge $(($2 + $3)) ]; } # I BEFORE MIN
# Replies forwarded out of LB I's front link (to the gateway).
front_tx() { ip -n "$CLUSTER_P-lb$1" -j -s link show "${CLUSTER_P}f$1" | jq '.[0].stats64.tx.packets'; }
# Nexthops of the default route of node J's egress table, family 4 or 6.
nexthops() {
	ip -n "$CLUSTER_P-n$1" -"$2" -j route show table 200 |
		jq '[.[] | select(.dst == "default") | (.nexthops // [.]) | length] | add // 0'
}
# Every node's egress leaves over K LBs, in both families.
egress_is() {
	local j
	for ((j = 1; j <= CLUSTER_N; j++)); do
		[ "$(nexthops "$j" 4)" = "$1" ] && [ "$(nexthops "$j" 6)" = "$1" ] || return 1
	done
}
lb_registered() { # I: LB i's FRONTEND registration is in NSP
	nspctl --json nsp list --type frontend | jq -e --arg a "$(cluster_lb_addr "$1")/24" \
		'[.targets[].ips[] | select(. == $a)] | length > 0' >/dev/null
}
stp_links() { ip -n "$CLUSTER_P-lb$1" -o link show | grep -c ': stp' || true; }
# Waits until client NAME has N more answers than now.
answered_more() { # NAME N
	local target=$(($(st "$1" .received) + $2))
	wait_for 20 "$2 more answers to $1" st_ge "$1" .received "$target"
}
st_ge() { [ "$(st "$1" "$2")" -ge "$3" ]; }

# Lines of a command's output stamped with the time they were read (ms),
# for when something happened rather than when a poll noticed it.
stamp() { local l; while IFS= read -r l; do echo "$((${EPOCHREALTIME/./} / 1000)) $l"; done; }
watch_bg() { # FILE CMD...
	local f=$1
	shift
	"$@" > >(stamp >"$f") 2>>"$WORK/watchers.log" &
	PIDS+=("$!")
}
stamped() { # FILE REGEX [SINCE]: the stamp of the first line matching
	local t # REGEX stamped at or after SINCE
	t=$(awk -v s="${3:-0}" -v re="$2" '$1 >= s && $0 ~ re { printf "%.0f\n", $1; exit }' "$1" 2>/dev/null)
	[ -n "$t" ] && echo "$t"
}
# When the last node changed its egress table at or after SINCE.
egress_changed() { # SINCE
	local j t last=0
	for ((j = 1; j <= CLUSTER_N; j++)); do
		t=$(awk -v s="$1" '$1 >= s && / table 200 / { t = $1 } END { printf "%.0f\n", t }' "$WORK/route-n$j.watch")
		[ "$t" -gt "$last" ] && last=$t
	done
	echo "$last"
}

# The gateway hashes on addresses and ports (see the header).
gw_hash_headers() {
	local g=$CLUSTER_P-g f
	for f in ipv4 ipv6; do
		ip netns exec "$g" sysctl -qw "net.$f.fib_multipath_hash_policy=3" \
			"net.$f.fib_multipath_hash_fields=0x37" 2>/dev/null || return 1
	done
}

cluster_start --lbs 2 --nodes 2 --targets 2
cluster_open_all s1
if gw_hash_headers; then
	ok "cluster up: 2 LBs, 4 targets ready on both; the gateway hashes on addresses and ports"
else
	echo "note: this kernel has no fib_multipath_hash_policy 3; the gateway keeps policy 1"
fi

# NSP's FRONTEND events and the nodes' route changes, as they happen.
watch_bg "$WORK/frontends.watch" "$BIN/straitctl" --nsp "unix:$WORK/nsp.sock" \
	nsp watch --type frontend --conduit "$CLUSTER_CONDUIT"
for ((j = 1; j <= CLUSTER_N; j++)); do
	watch_bg "$WORK/route-n$j.watch" ip -n "$CLUSTER_P-n$j" monitor route
done
wait_for 5 "the FRONTEND watch's snapshot" stamped "$WORK/frontends.watch" "snapshot end"

cluster_traffic tcp --address "$CLUSTER_VIP4:5003" --protocol tcp --connections $N \
	--rate $RATE --duration 0 --sources "$(cluster_sources 4)"
TCP=$CLUSTER_TRAFFIC_PID
cluster_traffic udp --address "[$CLUSTER_VIP6]:5003" --protocol udp --connections $N \
	--rate $RATE --duration 0 --timeout $UDP_TIMEOUT --sources "$(cluster_sources 6)"
UDP=$CLUSTER_TRAFFIC_PID
wait_for 20 "$N TCP connections answered" st_is tcp .connected $N
wait_for 20 "$N UDP flows answered" st_is udp .connected $N
a1=$(accepted 1) a2=$(accepted 2)
wait_for 10 "both LBs to carry traffic" eval 'accepted_grew 1 $a1 1000 && accepted_grew 2 $a2 1000'
ok "$N TCP (IPv4) and $N UDP (IPv6) connections over both LBs"

# ---- 1. kill -9 LB 1, withdraw its route ---------------------------------
[ "$(st tcp .lost)" = 0 ] && [ "$(st udp .lost)" = 0 ] ||
	fail "losses before the kill: tcp $(st tcp .lost), udp $(st udp .lost)"
tcp_ms0=$(st tcp .duration_ms)
tx0=$(front_tx 1)
t_kill=$(now_ms)
cluster_lb_kill 1
sleep "$DETECT" # the detection time is part of the outage being measured
cluster_gw_withdraw 1
t_wd=$(now_ms)

# The UDP flows of LB 1 end (3 requests in a row unanswered) and reconnect,
# now through LB 2: wait until all N are answered again.
t_rec=
end=$((SECONDS + 15))
while [ $SECONDS -lt $end ]; do
	read -r c l < <(st udp '"\(.connected) \(.lost)"') || true
	if [ "${l:-0}" -gt 0 ] && [ "${c:-0}" -eq $N ]; then
		t_rec=$(now_ms)
		break
	fi
	sleep 0.05
done
[ -n "$t_rec" ] || fail "the UDP flows did not recover: $(jq -c '{connected, lost, failed_connects, dropped}' "$WORK/udp.status")"
udp_lost=$(st udp .lost) udp_failed=$(st udp .failed_connects)
[ "$udp_lost" -le $((N * 3 / 4)) ] ||
	fail "$udp_lost of $N UDP flows lost: more than LB 1's share: $(jq -c "{connected, lost, failed_connects, dropped, hosts}" "$WORK/udp.status")"
ok "LB 1 killed, its route withdrawn after $((t_wd - t_kill)) ms: $udp_lost of $N UDP flows lost (those hashed to LB 1), $udp_failed reconnects failed before the withdraw; all $N answered again $((t_rec - t_kill)) ms after the kill"

# TCP: a request unanswered for 2 s would be dropped, 3 in a row would end
# its connection; wait until the requests of the outage are past that.
wait_for 20 "the TCP client to run 3.5 s past the kill" st_ge tcp .duration_ms $((tcp_ms0 + 3500))
jq -e '.lost == 0 and .moved == 0 and .connected == '$N "$WORK/tcp.status" >/dev/null ||
	fail "TCP connections broke when LB 1 died: $(jq -c '{connected, lost, moved, dropped, hosts}' "$WORK/tcp.status")"
[ "$(st udp .moved)" = 0 ] || fail "UDP flows moved to another target: $(st udp .moved)"
ok "0 of $N TCP connections lost or moved: LB 1's resumed through LB 2 on their own targets ($(st tcp .dropped) requests dropped)"

cluster_traffic fresh4 --address "$CLUSTER_VIP4:5003" --protocol tcp --connections $N \
	--rate $RATE --duration 1 --sources "$(cluster_sources 4)"
f4=$CLUSTER_TRAFFIC_PID
cluster_traffic fresh6 --address "[$CLUSTER_VIP6]:5003" --protocol udp --connections $N \
	--rate $RATE --duration 1 --timeout $UDP_TIMEOUT --sources "$(cluster_sources 6)"
f6=$CLUSTER_TRAFFIC_PID
wait "$f4" || fail "the fresh TCP client failed"
wait "$f6" || fail "the fresh UDP client failed"
for f in fresh4 fresh6; do
	jq -e '.connections == '$N' and .failed_connects == 0 and .lost == 0 and
		([.hosts[] | select(.connections >= 10)] | length) == 4' "$WORK/$f.json" >/dev/null ||
		fail "$f: new connections through LB 2: $(jq -c '{connections, failed_connects, lost, hosts}' "$WORK/$f.json")"
done
ok "new connections with LB 1 dead: $N TCP and $N UDP, all answered, all 4 targets: $(jq -c '.hosts | map_values(.connections)' "$WORK/fresh4.json")"

# ---- 2. egress while LB 1 is dead, then its lease ends --------------------
lb_registered 1 || fail "LB 1's registration ended before its lease: NSP should keep it ${TTL}s"
egress_is 2 || fail "the proxies dropped LB 1 from their egress while it is registered: n1 $(nexthops 1 4), n2 $(nexthops 2 4)"
tx1=$(front_tx 1)
[ $((tx1 - tx0)) -gt 0 ] || fail "no reply left through LB 1's namespace since the kill"
ok "egress with LB 1 dead but registered: both proxies keep it as a nexthop; its namespace forwarded $((tx1 - tx0)) replies since the kill (egress there is routing, strait-lb not needed)"

udp_lost0=$(st udp .lost)
lb1=$(cluster_lb_addr 1)
wait_for $((TTL + 10)) "LB 1's registration to expire" stamped "$WORK/frontends.watch" "REMOVED .* $lb1/"
t_exp=$(stamped "$WORK/frontends.watch" "REMOVED .* $lb1/")
wait_for 5 "every proxy to drop LB 1 from its egress" egress_is 1
t_eg=$(egress_changed $((t_exp - 2000))) # (the watch may see it after the proxies did)
[ "$t_eg" -gt 0 ] || fail "no change of the egress tables was seen"
[ "$t_eg" -ge "$t_exp" ] || t_eg=$t_exp
[ $((t_eg - t_exp)) -le 1000 ] || fail "the proxies took $((t_eg - t_exp)) ms to drop the expired LB 1 from their egress"
wait_for 5 "the proxies' links in LB 1's namespace removed" eval '[ "$(stp_links 1)" = 0 ]'
ok "LB 1's lease ended $((t_exp - t_kill)) ms after the kill; both proxies took it out of their egress (v4 and v6) $((t_eg - t_exp)) ms after NSP said so, and removed its links"

answered_more tcp 4000
answered_more udp 4000
[ "$(st tcp .lost)" = 0 ] && [ "$(st udp .lost)" = "$udp_lost0" ] ||
	fail "losses when LB 1 left the egress: tcp $(st tcp .lost), udp $(($(st udp .lost) - udp_lost0))"
ok "nothing lost when LB 1 left the egress"

# ---- 3. LB 1 restarted ----------------------------------------------------
t0=$(now_ms)
cluster_lb_start 1 # returns once it answers and is registered
wait_for 5 "LB 1's registration in the watch" stamped "$WORK/frontends.watch" "ADDED .* $lb1/" "$t0"
t_reg=$(stamped "$WORK/frontends.watch" "ADDED .* $lb1/" "$t0")
wait_for 20 "every node's proxy to link LB 1 again" cluster_linked
wait_for 20 "4 ready targets on both LBs" cluster_ready s1 4
wait_for 10 "both LBs in every proxy's egress" egress_is 2
t_eg=$(egress_changed "$t0")
[ "$t_eg" -gt 0 ] || fail "no change of the egress tables was seen"
[ "$t_eg" -ge "$t_reg" ] || t_eg=$t_reg
[ "$(stp_links 1)" = "$CLUSTER_N" ] || fail "LB 1 has $(stp_links 1) links from $CLUSTER_N nodes"
[ $((t_eg - t_reg)) -le 1000 ] || fail "the proxies took $((t_eg - t_reg)) ms to put LB 1 back in their egress"
ok "LB 1 restarted: linked from both nodes, 4 targets ready, in both proxies' egress $((t_eg - t_reg)) ms after it registered"

cluster_gw_restore 1
a1=$(accepted 1)
wait_for 10 "traffic through LB 1 again" accepted_grew 1 "$a1" 2000
answered_more tcp 4000
answered_more udp 4000
jq -e '.lost == 0 and .moved == 0 and .connected == '$N "$WORK/tcp.status" >/dev/null ||
	fail "TCP after LB 1 came back: $(jq -c '{connected, lost, moved, hosts}' "$WORK/tcp.status")"
jq -e '.lost == '"$udp_lost0"' and .moved == 0 and .connected == '$N "$WORK/udp.status" >/dev/null ||
	fail "UDP after LB 1 came back: $(jq -c '{connected, lost, moved, hosts}' "$WORK/udp.status")"
ok "LB 1's route restored: it carries traffic again ($(($(accepted 1) - a1)) packets so far), connections moved back to it kept their targets: nothing lost or moved"

kill -TERM "$TCP" "$UDP"
wait "$TCP" || fail "the TCP client failed"
wait "$UDP" || fail "the UDP client failed"
for f in tcp udp; do
	ok "final $f report: $(jq -c '{connections, lost, moved, failed_connects, sent, received, dropped, hosts: (.hosts | map_values(.connections))}' "$WORK/$f.json")"
done
