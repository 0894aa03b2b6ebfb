#!/usr/bin/env bash
# End to end (tests/netns/cluster.sh): a target whose MAC changes serves
# again within one second.
#
# The change: pod n1p1 (X) is recreated under the same name, the way a
# StatefulSet's pod comes back: its agent killed (kill -9), its namespace's
# name removed and a new namespace made under it, with a new server and a
# new agent that opens X's streams again. The proxy sees the same pod name
# in another namespace: it keeps the addresses (the IPAM allocation of
# pod/n1p1) and replaces the link, a new veth with a new MAC. The old
# namespace lives on (its server holds it) until then, so X serves up to
# the moment its old link goes: the outage measured is the re-attach alone.
# (A restarted agent in the same namespace keeps its link and MAC: the
# proxy adopts it. A stream closed and reopened gets other addresses: IPAM
# quarantines released ones, so no cache holds the new ones yet.)
#
# Why the MAC matters: the LBs reach a target through their link in the
# node's bridge, by the target's address, so each LB's neighbour cache
# holds that address -> the old veth's MAC, REACHABLE and confirmed by the
# traffic itself. The new veth keeps the address, so nothing in the kernel
# invalidates the entry: frames keep going to the old MAC, the bridge has
# no port for it any more and floods them, and the new veth drops them
# (not its address). The entry is only fixed when it goes STALE (base
# reachable time, 15-45 s), then DELAY (5 s), then fails its unicast
# probes: up to a minute of blackhole, Meridio's #466/#542/#234. A
# gratuitous ARP alone may not fix it either (an ARP update within
# locktime, 1 s, of the last one is ignored). So strait-proxy, when it
# (re)makes a pod's link, flushes the neighbour entries of the bridge and
# of every LB's end of its link and sends a gratuitous ARP and an
# unsolicited neighbour advertisement from the pod's end (docs/proxy.md).
# That cannot be switched off in the proxy, so this test measures the
# recovery, and at the end puts the old MAC back into LB 1's cache by
# hand, showing that the same probe then sees a blackhole longer than the
# one second allowed, until the entry is flushed.
#
# Setup: 2 LBs, 2 nodes x 2 targets in stream s1, 200 UDP flows over them
# from the client's extra sources. Pod n1p1 (X) also opens stream s2, and
# flow f2 (priority 2) sends everything from the client's own address
# (198.18.0.2, fd00::2) to s2, so these probes all reach X through the
# LBs: ping to each VIP every 10 ms, and a strait-traffic UDP probe (10
# flows, 100 requests/s each, 100 ms timeout). And from each LB, ping to
# X's own addresses every 10 ms (the LB -> target leg alone).
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/netns/cluster.sh"

for b in strait-proxy strait-target; do
	[ -x "$BIN/$b" ] || skip "$BIN/$b is not built yet"
done
command -v ping >/dev/null || skip "ping is not installed"
cluster_init mac

X=n1p1
N=200 RATE=2000

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
st() { cluster_stat "$1" "$2"; } # NAME JQ
st_is() { [ "$(st "$1" "$2")" = "$3" ]; }
st_ge() { [ "$(st "$1" "$2")" -ge "$3" ]; }
mac_of() { ip -n "$CLUSTER_P-$X" -j link show st0 | jq -r '.[0].address'; }
# X's addresses on its link (without the prefix length), v4 or v6.
addr_of() { ip -n "$CLUSTER_P-$X" -"$1" -j addr show dev st0 scope global | jq -r '.[0].addr_info[0].local'; }
# LB I's neighbour entry for ADDR: "MAC STATE", or nothing.
neigh() { ip -n "$CLUSTER_P-lb$1" -j neigh show "$2" | jq -r '.[] | "\(.lladdr // "-") \(.state | join(","))"'; }

# Lines stamped with the time they were read (ms).
stamp() { local l; while IFS= read -r l; do echo "$((${EPOCHREALTIME/./} / 1000)) $l"; done; }

PINGERS=()
pinger() { # NAME NAMESPACE ADDRESS [SOURCE]: ping every 10 ms, replies timestamped
	ip netns exec "$CLUSTER_P-$2" ping -n -D -i 0.01 ${4:+-I "$4"} "$3" >"$WORK/ping-$1.txt" 2>&1 &
	PINGERS+=("$!")
	PIDS+=("$!")
}
replies() { sed -nE 's/^\[([0-9]+)\.([0-9]{3})[0-9]*\] .*bytes from.*/\1\2/p' "$WORK/ping-$1.txt"; }
replied_since() { [ -n "$(replies "$1" | awk -v t="$2" '$1 > t' | head -n1)" ]; } # NAME T
# The last reply at or before T and the first after it: "BEFORE AFTER".
around() { replies "$1" | awk -v t="$2" '$1 <= t { b = $1 } $1 > t && a == "" { a = $1 } END { printf "%.0f %.0f\n", b, a }'; }

cluster_start --lbs 2 --nodes 2 --targets 2
cluster_open_all s1
cluster_open "$X" s2 || fail "$X cannot open s2"
cluster_config --flow f2 "stream: s2, vips: [@vips], source-subnets: ['$CLUSTER_CLIENT4/32', '$CLUSTER_CLIENT6/128'], protocols: [tcp, udp, icmp, icmpv6], priority: 2"
wait_for 20 "$X ready in s2 on both LBs" cluster_ready s2 1
has_f2() { local i; for ((i = 1; i <= CLUSTER_L; i++)); do lbctl "$i" --json lb flows | jq -e '[.flows[] | select(.name == "f2")] | length == 1' >/dev/null || return 1; done; }
wait_for 20 "flow f2 on both LBs" has_f2

A4=$(addr_of 4) A6=$(addr_of 6)
[ -n "$A4" ] && [ "$A4" != null ] && [ -n "$A6" ] && [ "$A6" != null ] || fail "no addresses on $X's link"

# The traffic and the probes.
cluster_traffic main --address "$CLUSTER_VIP4:5003" --protocol udp --connections $N \
	--rate $RATE --duration 0 --sources "$(cluster_sources 4)"
MAIN=$CLUSTER_TRAFFIC_PID
cluster_traffic probe --address "$CLUSTER_VIP4:5003" --protocol udp --connections 10 \
	--rate 1000 --timeout 100 --duration 0 --sources "$CLUSTER_CLIENT4"
PROBE=$CLUSTER_TRAFFIC_PID
pinger vip4 c "$CLUSTER_VIP4" "$CLUSTER_CLIENT4"
pinger vip6 c "$CLUSTER_VIP6" "$CLUSTER_CLIENT6"
for i in 1 2; do
	pinger "lb${i}4" "lb$i" "$A4"
	pinger "lb${i}6" "lb$i" "$A6"
done
port=$(proxyctl 1 --json proxy status | jq -r --arg x "$X" '.pods[] | select(.name == $x) | .bridgePort')
[ -n "$port" ] && [ "$port" != null ] || fail "node 1's proxy does not list $X"
ip -n "$CLUSTER_P-n1" monitor link > >(stamp >"$WORK/links.watch") 2>&1 &
PIDS+=("$!")
wait_for 20 "$N flows answered" st_is main .connected $N
wait_for 20 "the 10 probe flows answered" st_is probe .connected 10
[ "$(jq -c '.hosts | keys' "$WORK/probe.status")" = "[\"$X\"]" ] ||
	fail "the probe should reach $X alone: $(jq -c .hosts "$WORK/probe.status")"
t=$(now_ms)
for p in vip4 vip6 lb14 lb16 lb24 lb26; do wait_for 10 "ping $p answered" replied_since "$p" "$t"; done
old=$(mac_of)
for i in 1 2; do
	[ "$(neigh "$i" "$A4" | cut -d' ' -f1)" = "$old" ] ||
		fail "LB $i's neighbour entry for $A4 should hold $X's MAC $old: $(neigh "$i" "$A4")"
done
ok "probes pinned to $X (the client's own address -> flow f2 -> stream s2) and pings from both LBs answered; both LBs' neighbour caches: $A4 -> $old ($(neigh 1 "$A4" | cut -d' ' -f2))"

# ---- the change: X recreated under the same name ----------------------------------
recreate_pod() { # POD
	local pod=$1 ns=$CLUSTER_P-$1
	OLD_SERVER=${CLUSTER_PID[server-$pod]}
	cluster_target_kill "$pod"
	ip netns del "$ns" # only the name: the old server holds the namespace
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip netns exec "$ns" "$BIN/strait-traffic" server --port 5003 --name "$pod" >>"$WORK/server-$pod.log" 2>&1 &
	CLUSTER_PID[server-$pod]=$!
	PIDS+=("$!")
	cluster_target_start "$pod"
}
main_lost0=$(jq -c '.hosts | map_values(.lost)' "$WORK/main.status")
probe_dropped0=$(st probe .dropped) probe_lost0=$(st probe .lost)
t0=$(now_ms)
recreate_pod "$X"
cluster_open "$X" s1 || fail "$X cannot open s1 again"
cluster_open "$X" s2 || fail "$X cannot open s2 again"
t1=$(now_ms)
wait_for 5 "$X's old link removed" grep -qE "Deleted.* $port@" "$WORK/links.watch"
t_change=$(awk -v p=" $port@" 'index($0, p) && /Deleted/ { print $1; exit }' "$WORK/links.watch")
kill -TERM "$OLD_SERVER" 2>/dev/null || true # the old namespace goes with it
new=$(mac_of)
[ -n "$new" ] && [ "$new" != "$old" ] || fail "$X's MAC did not change: $old -> $new"
[ "$(addr_of 4) $(addr_of 6)" = "$A4 $A6" ] || fail "$X's addresses changed: $A4 $A6 -> $(addr_of 4) $(addr_of 6)"
for p in vip4 vip6 lb14 lb16 lb24 lb26; do wait_for 10 "ping $p answered again" replied_since "$p" "$t_change"; done
wait_for 10 "the 10 probe flows answered" st_is probe .connected 10
# past the timeouts: every request of the outage is dropped by now
wait_for 10 "the clients to run 2.5 s more" eval 'st_ge probe .duration_ms '$(($(st probe .duration_ms) + 500))' &&
	st_ge main .duration_ms '$(($(st main .duration_ms) + 2500))
ok "$X recreated (new namespace, server and agent; streams reopened) in $((t1 - t0)) ms; the proxy replaced its link: same addresses, MAC $old -> $new"

# ---- how long each probe went without an answer ----------------------------------
for i in 1 2; do
	e=$(neigh "$i" "$A4")
	[ -z "$e" ] || [ "${e%% *}" = "$new" ] || fail "LB $i still has $A4 -> ${e%% *} ($X's MAC is $new)"
done
ok "both LBs' neighbour entries for $A4 now: LB 1 '$(neigh 1 "$A4")', LB 2 '$(neigh 2 "$A4")' (the old MAC is gone)"

report=
for i in 1 2; do
	for f in 4 6; do
		read -r b a < <(around "lb$i$f" "$t_change")
		[ "$b" -gt 0 ] && [ "$a" -gt 0 ] || fail "ping lb$i$f: no reply around the change"
		[ $((a - b)) -lt 1000 ] ||
			fail "LB $i reached $X (IPv$f) again only after $((a - b)) ms without an answer (the last answer $((t_change - b)) ms before the old link went, the next $((a - t_change)) ms after); LB $i's entry now: $(neigh "$i" "$([ $f = 4 ] && echo "$A4" || echo "$A6")")"
		report+=" LB$i/IPv$f $((a - b)) ms"
	done
done
ok "LB -> $X, gap in ping replies (10 ms apart) across the link's replacement:$report"

report=
for f in 4 6; do
	read -r b a < <(around "vip$f" "$t_change")
	[ "$b" -gt 0 ] && [ "$a" -gt 0 ] || fail "ping vip$f: no reply around the change"
	[ $((a - t_change)) -lt 1000 ] ||
		fail "$X answered the IPv$f VIP only $((a - t_change)) ms after its link was replaced"
	report+=" IPv$f answered again $((a - t_change)) ms after the old link went ($((a - b)) ms from the last answer before);"
done
ok "client -> VIP -> $X:${report%;}"

# The probe sends 1000 requests/s in all: each request dropped is a
# millisecond without an answer. (A flow with 3 requests dropped in a row
# ends and is replaced: counted lost, but nothing is missed meanwhile,
# since that happens after the answers came back.)
pd=$(($(st probe .dropped) - probe_dropped0)) pl=$(($(st probe .lost) - probe_lost0))
[ $pd -lt 1000 ] || fail "the strait-traffic probe dropped $pd requests (1000/s) across the change"
ok "strait-traffic probe (UDP to the VIP, 1000 requests/s over 10 flows, 100 ms timeout): $pd requests dropped across the change, i.e. $X answered nothing for about $pd ms ($pl of the 10 flows ended and were replaced)"

# The other targets saw nothing; X's share of the main traffic recovered.
main_lost=$(jq -c '.hosts | map_values(.lost)' "$WORK/main.status")
for h in n1p2 n2p1 n2p2; do
	[ "$(jq --arg h "$h" '.[$h]' <<<"$main_lost")" = "$(jq --arg h "$h" '.[$h]' <<<"$main_lost0")" ] ||
		fail "$h lost connections: before $main_lost0, now $main_lost"
done
wait_for 10 "all $N main flows answered" st_is main .connected $N
ok "main traffic ($N UDP flows over 4 targets): the other pods lost none, $X lost $(jq ".$X - (\$b.$X)" --argjson b "$main_lost0" <<<"$main_lost"), all $N answered"

kill -TERM "$MAIN" "$PROBE"
wait "$MAIN" || fail "the main client failed"
wait "$PROBE" || fail "the probe failed"
ok "final main report: $(jq -c '{connections, lost, moved, failed_connects, sent, received, dropped, hosts: (.hosts | map_values(.connections))}' "$WORK/main.json")"

# ---- the mutation: what the cache would hold without the flush -------------------
stp=$(ip -n "$CLUSTER_P-lb1" -j route get "$A4" | jq -r '.[0].dev')
lost_before=$(replies lb14 | wc -l)
tp=$(now_ms)
# permanent: X's own ARP could otherwise correct it (it answers LB 1's
# pings directly, which the real data path never makes it do)
ip -n "$CLUSTER_P-lb1" neigh replace "$A4" lladdr "$old" dev "$stp" nud permanent
sleep 1.5 # the window observed: longer than the one second allowed
# (replies to requests sent just before may still arrive in the first 50 ms)
read -r b a < <(around lb14 $((tp + 50)))
[ "$a" = 0 ] ||
	fail "with the old MAC back in LB 1's cache, LB 1 reached $X again $((a - tp)) ms later: the probe would not see a stale cache"
got=$(($(replies lb14 | wc -l) - lost_before))
tf=$(now_ms)
ip -n "$CLUSTER_P-lb1" neigh del "$A4" dev "$stp"
wait_for 5 "LB 1 to reach $X again" replied_since lb14 "$tf"
read -r b a < <(around lb14 "$tf")
ok "mutation: old MAC put back in LB 1's cache: $got ping replies in 1.5 s (the LB -> $X path dark, as it would stay for up to a minute without the proxy's flush); flushed: answered again $((a - tf)) ms later"

kill -INT "${PINGERS[@]}" 2>/dev/null || true
