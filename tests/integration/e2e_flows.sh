#!/usr/bin/env bash
# End to end (issue 5): "flow priority; destination port ranges; byte
# matches", through the whole north-south path (tests/netns/cluster.sh:
# 2 LBs, 2 nodes) with traffic running while the flows change.
#
# Stream s1: n1p1 n2p1; stream s2: n1p2 n2p2 (the same conduit). Every pod
# serves 5003, 6000, 6005, 6010 and 6011, so traffic sent to the wrong
# stream would be answered, by a name that shows it. Flows, added live:
#   f1  s1  every port, tcp udp icmp            priority 1 (cluster.sh's)
#   f2  s2  tcp udp, ports 6000-6010            priority 2
#   f4  s1  tcp, port 6005                      priority 3 (takes it back)
#   f3  s2  tcp udp, ports 6011-6020            priority 0, then 5
#   f5  s2  udp, udp[12:4] & 0xffffff00 = 256   priority 4
# udp[12:4] is the request's pad_len (8 bytes of UDP header, then "STRQ",
# docs/traffic.md), so f5 takes UDP requests of 256 to 511 bytes of
# padding. Checked: both ends of the range and the ports just outside;
# the higher priority winning in both directions; f3's priority raised
# live, moving the UDP flows on port 6011 to s2 (docs/lb.md: a flow change
# moves established connections); the byte match's edges (255, 256, 511,
# 512), over IPv4 and IPv6. Meanwhile 100 TCP connections to port 5003
# lose nothing.
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/netns/cluster.sh"

for b in strait-proxy strait-target strait-lb strait-traffic; do
	[ -x "$BIN/$b" ] || skip "$BIN/$b is not built yet"
done
cluster_init e2efl

cluster_start --lbs 2 --nodes 2 --targets 2

# ---- helpers ------------------------------------------------------------------
every_lb() { # JQ: JQ is true of `lb status --json` on every LB
	local i out
	for ((i = 1; i <= CLUSTER_L; i++)); do
		out=$(lbctl "$i" --json lb status) || return 1
		jq -e "$1" <<<"$out" >/dev/null || return 1
	done
}
listening() { [ -n "$(cluster_exec "$1" ss -Htln "sport = :$2")" ]; }
server_on() { # POD PORT: one more traffic server in the pod
	ip netns exec "$(cluster_ns "$1")" "$BIN/strait-traffic" server --port "$2" \
		--name "$1" >>"$WORK/server-$1-$2.log" 2>&1 &
	PIDS+=("$!")
	wait_for 10 "a server on port $2 in $1" listening "$1" "$2"
}
per_host() { jq -c '.hosts | map_values(.connections)' "$1"; }
stat_of() { cluster_stat "$1" "$2"; } # NAME JQ
stat_is() { [ "$(cluster_stat "$1" "$2")" = "$3" ]; } # NAME JQ VALUE

SHORTS=()
short() { # NAME ADDRESS [ARGS]: 40 connections for 1 s, in the background
	local name=$1 addr=$2 fam=4
	shift 2
	[[ $addr == \[* ]] && fam=6
	cluster_traffic "$name" --address "$addr" --connections 40 --rate 400 \
		--duration 1 --no-reconnect --sources "$(cluster_sources "$fam")" "$@"
	SHORTS+=("$name:$CLUSTER_TRAFFIC_PID")
}
shorts_wait() {
	local s
	for s in "${SHORTS[@]}"; do
		wait "${s#*:}" || fail "${s%%:*}: the client failed: $(tail -n 3 "$WORK/${s%%:*}.log")"
	done
	SHORTS=()
}
S1=(n1p1 n2p1)
S2=(n1p2 n2p2)
reached() { # NAME HOST...: all 40 answered, none lost, by exactly HOST...
	local name=$1 want
	shift
	want=$(printf '%s\n' "$@" | jq -R . | jq -sc 'sort')
	jq -e --argjson w "$want" '.connections == 40 and .failed_connects == 0 and .lost == 0
		and .received > 0 and .intact == .received and (.hosts | keys) == $w' "$WORK/$name.json" >/dev/null ||
		fail "$name ($(jq -r '"\(.protocol) \(.address)"' "$WORK/$name.json") $(args_of "$name")) should reach exactly $*: $(jq -c '{connections, failed_connects, lost, received, intact, hosts: (.hosts | map_values(.connections))}' "$WORK/$name.json")"
	ok "$name: $(jq -r '"\(.protocol) \(.address)"' "$WORK/$name.json")$(args_of "$name") -> $(per_host "$WORK/$name.json")"
}
declare -A ARGS=()
args_of() { echo "${ARGS[$1]:-}"; }
short_sized() { # NAME ADDRESS SIZE: a UDP run with SIZE bytes of padding
	ARGS[$1]=" size $3"
	short "$1" "$2" --protocol udp --size "$3"
}

# ---- set-up -------------------------------------------------------------------
for p in n1p1 n2p1; do cluster_open "$p" s1 || fail "$p cannot open s1"; done
for p in n1p2 n2p2; do cluster_open "$p" s2 || fail "$p cannot open s2"; done
wait_for 20 "2 ready targets in s1" cluster_ready s1 2
wait_for 20 "2 ready targets in s2" cluster_ready s2 2
for p in $(cluster_pods); do
	for port in 6000 6005 6010 6011; do server_on "$p" "$port"; done
done
ok "s1: ${S1[*]}; s2: ${S2[*]}; every pod serves 5003 6000 6005 6010 6011"

cluster_traffic long --address "$CLUSTER_VIP4:5003" --protocol tcp \
	--connections 100 --rate 500 --duration 0 --sources "$(cluster_sources 4)"
long=$CLUSTER_TRAFFIC_PID
wait_for 20 "100 TCP connections to 5003" stat_is long .connected 100
cluster_traffic u6011 --address "$CLUSTER_VIP4:6011" --protocol udp \
	--connections 40 --rate 400 --duration 0 --sources "$(cluster_sources 4)"
u6011=$CLUSTER_TRAFFIC_PID
wait_for 20 "40 UDP flows to 6011" stat_is u6011 .connected 40

# ---- port ranges, priority, byte matches --------------------------------------
cluster_config \
	--flow f2 'stream: s2, vips: [@vips], protocols: [tcp, udp], destination-port-ranges: [6000-6010], priority: 2' \
	--flow f3 'stream: s2, vips: [@vips], protocols: [tcp, udp], destination-port-ranges: [6011-6020], priority: 0' \
	--flow f4 'stream: s1, vips: [@vips], protocols: [tcp], destination-port-ranges: [6005], priority: 3' \
	--flow f5 "stream: s2, vips: [@vips], protocols: [udp], byte-matches: ['udp[12:4] & 0xffffff00 = 256'], priority: 4"
wait_for 20 "flows f1-f5 on every LB" every_lb '[.flows[].name] | sort == ["f1", "f2", "f3", "f4", "f5"]'

short p6000 "$CLUSTER_VIP4:6000"
short p6010 "[$CLUSTER_VIP6]:6010" --protocol udp
short p6005 "$CLUSTER_VIP4:6005"
short p6005u "$CLUSTER_VIP4:6005" --protocol udp
short p6011 "[$CLUSTER_VIP6]:6011"
shorts_wait
reached p6000 "${S2[@]}"
reached p6010 "${S2[@]}"
reached p6005 "${S1[@]}"
reached p6005u "${S2[@]}"
reached p6011 "${S1[@]}"
ok "port range 6000-6010 (f2, priority 2 over f1's 1) goes to s2 at both ends, TCP and UDP, IPv4 and IPv6"
ok "f4 (priority 3, tcp 6005) takes TCP 6005 back to s1 inside f2's range; UDP 6005, which f4 does not match, stays in s2"
ok "f3 (priority 0, 6011-6020) loses to f1 (priority 1): 6011 stays in s1"

short_sized b255 "$CLUSTER_VIP4:5003" 255
short_sized b256 "$CLUSTER_VIP4:5003" 256
short_sized b511 "[$CLUSTER_VIP6]:5003" 511
short_sized b512 "[$CLUSTER_VIP6]:5003" 512
short tcp300 "$CLUSTER_VIP4:5003" --size 300
ARGS[tcp300]=" size 300"
shorts_wait
reached b255 "${S1[@]}"
reached b256 "${S2[@]}"
reached b511 "${S2[@]}"
reached b512 "${S1[@]}"
reached tcp300 "${S1[@]}"
ok "byte match udp[12:4] & 0xffffff00 = 256 (f5): UDP requests with 256 and 511 bytes of padding go to s2, 255 and 512 stay in s1 (IPv4 and IPv6); TCP is not matched"

stat_is u6011 .moved 0 && stat_is u6011 .lost 0 && stat_is u6011 .connected 40 ||
	fail "the UDP flows to 6011 changed before f3's priority did: $(jq -c '{connected, lost, moved, hosts}' "$WORK/u6011.status")"
for h in "${S2[@]}"; do
	stat_is u6011 ".hosts.$h.connections // 0" 0 || fail "UDP 6011 reached $h: $(jq -c .hosts "$WORK/u6011.status")"
done

# ---- f3's priority raised live: 6011 moves to s2 ------------------------------
cluster_config --flow f3 'stream: s2, vips: [@vips], protocols: [tcp, udp], destination-port-ranges: [6011-6020], priority: 5'
wait_for 20 "f3 at priority 5 on every LB" every_lb '.flows[] | select(.name == "f3") | .priority == 5'
on_s2() { [ "$(jq '[.hosts.n1p2.lasting, .hosts.n2p2.lasting] | map(. // 0) | add' "$WORK/u6011.status")" = 40 ]; }
wait_for 20 "the 40 UDP flows to 6011 on s2" on_s2
stat_is u6011 .moved 40 && stat_is u6011 .failed_connects 0 ||
	fail "after f3's change: $(jq -c '{connections, connected, failed_connects, lost, moved, hosts}' "$WORK/u6011.status")"
ok "f3 raised to priority 5 live: the 40 UDP flows on 6011 moved to s2 (moved $(stat_of u6011 .moved), now $(jq -c '.hosts | map_values(.lasting)' "$WORK/u6011.status"))"
short p6011b "$CLUSTER_VIP4:6011"
short p6011u "[$CLUSTER_VIP6]:6011" --protocol udp
shorts_wait
reached p6011b "${S2[@]}"
reached p6011u "${S2[@]}"
kill -TERM "$u6011"
wait "$u6011" || fail "the UDP client failed"

# ---- counters and the long run ---------------------------------------------------
pk=$(for i in 1 2; do lbctl "$i" --json lb flows; done |
	jq -sc '[.[].flows[]] | group_by(.name) | map({(.[0].name): (map(.packets) | add)}) | add')
jq -e 'all(.f1, .f2, .f3, .f4, .f5; . > 0)' <<<"$pk" >/dev/null || fail "flow counters (both LBs): $pk"
ok "packets per flow over both LBs: $pk"

kill -TERM "$long"
wait "$long" || fail "the long client failed"
jq -e '.lost == 0 and .moved == 0 and .failed_connects == 0 and .connected == 100
	and (.hosts | keys) == ["n1p1", "n2p1"]' "$WORK/long.json" >/dev/null ||
	fail "TCP to 5003 during the flow changes: $(jq -c '{connections, connected, failed_connects, lost, moved, hosts}' "$WORK/long.json")"
ok "100 TCP connections to 5003 through every flow change: 0 lost, 0 moved ($(jq -c '{sent, received, hosts: (.hosts | map_values(.connections))}' "$WORK/long.json"))"
