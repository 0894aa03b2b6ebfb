#!/usr/bin/env bash
# End to end (issue 6): east-west traffic to a service IP through strait-tun
# (tests/netns/tunnel.sh: 3 nodes behind an underlay router, 2 pods each,
# service web at 198.19.200.10 / fd00:19:200::10). The client is pod n1p1;
# the instances are on nodes 2 and 3.
#
#   7. no instance yet: a TCP connect (IPv4, IPv6) and a ping to the service
#      fail at once with an ICMP unreachable, not a timeout; the drops are
#      counted no_instance (and an address of the prefix no service has,
#      no_service);
#   1. instances n2p1 n3p1 n3p2: TCP and UDP over IPv4 and IPv6 and ping
#      (both families) reach them; the instances see the client's own
#      address;
#   2. 300 long-lived TCP connections and 60 UDP flows spread over the 3
#      instances (each at least 10%, none above 60%) and
#      stay where they are (moved 0) for several seconds of requests;
#   3. n3p1 unregistered during that traffic: exactly its connections and
#      flows break (TCP: lost; UDP: answered by another instance, so moved
#      and lost), none of the other instances loses one, and new connections
#      go only to n2p1 and n3p2.
# (Daemon restarts, forged datagrams and a smaller MTU: tun_e2e_faults.sh.)
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/netns/tunnel.sh"

tunnel_need ping ss
tunnel_init tune2e

S4=$TUNNEL_SERVICE4 S6=$TUNNEL_SERVICE6
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
drops() { tunnel_metric "$1" strait_tun_drops_total "reason=\"$2\""; } # J REASON
st() { tunnel_stat "$1" "$2"; }                                            # NAME JQ
st_is() { [ "$(st "$1" "$2")" = "$3" ]; }
st_ge() { [ "$(st "$1" "$2")" -ge "$3" ]; }
answered_more() { # NAME N: waits until client NAME has N more answers
	local target=$(($(st "$1" .received) + $2))
	wait_for 20 "$2 more answers to $1" st_ge "$1" .received "$target"
}
hosts() { jq -c '.hosts | map_values("\(.connections)/\(.lasting)/\(.lost)")' "$1"; }
# Where datagrams die when a strait-tun cannot keep up (a loaded machine):
# the kernel's drops of packets queued to each node's strait-tun0.
dev_drops() {
	local j out=""
	for j in 1 2 3; do
		out+="n$j $(ip -n "$TUNNEL_P-n$j" -s link show strait-tun0 | awk '/TX:/ { getline; print $4 }') "
	done
	echo "strait-tun0 tx dropped: $out"
}

tunnel_start

# ---- 7. no instance: an immediate ICMP unreachable ----------------------------

# connect_fails ADDR: a TCP connect from n1p1 to ADDR:5003 fails with "No
# route to host" (ICMP host / address unreachable) within 2 s; prints ms.
connect_fails() {
	local t0 out rc=0
	t0=$(now_ms)
	out=$(tunnel_exec n1p1 timeout 5 bash -c "exec 3<>/dev/tcp/$1/5003" 2>&1) || rc=$?
	local took=$(($(now_ms) - t0))
	[ $rc -ne 0 ] || fail "a connect to $1:5003 with no instance succeeded"
	grep -q "No route to host" <<<"$out" || fail "connect to $1:5003: rc $rc after $took ms: $out"
	[ $took -lt 2000 ] || fail "connect to $1:5003 took $took ms to fail: $out"
	echo "$took"
}
[ "$(tunnel_metric 1 strait_tun_instances 'service="web",where="all"')" = 0 ] ||
	fail "web has instances before any was registered"
ni0=$(drops 1 no_instance) un0=$(tunnel_metric 1 strait_tun_unreachable_sent_total)
c4=$(connect_fails "$S4")
c6=$(connect_fails "$S6")
out=$(tunnel_exec n1p1 ping -c 1 -W 3 "$S4" 2>&1) && fail "ping $S4 answered with no instance: $out"
grep -q "From $S4 .*Destination Host Unreachable" <<<"$out" || fail "ping $S4: $out"
out=$(tunnel_exec n1p1 ping -6 -c 1 -W 3 "$S6" 2>&1) && fail "ping $S6 answered with no instance: $out"
grep -q "From $S6 .*Address unreachable" <<<"$out" || fail "ping -6 $S6: $out"
ni=$(($(drops 1 no_instance) - ni0)) un=$(($(tunnel_metric 1 strait_tun_unreachable_sent_total) - un0))
[ "$ni" = 4 ] && [ "$un" = 4 ] ||
	fail "4 packets to web without instance: no_instance rose by $ni, unreachables sent by $un"
ok "no instance: TCP connect refused with host unreachable in $c4 ms (IPv4), $c6 ms (IPv6); ping: host / address unreachable; no_instance +$ni, unreachables +$un"

ns0=$(drops 1 no_service)
out=$(tunnel_exec n1p1 ping -c 1 -W 3 198.19.200.99 2>&1) && fail "ping 198.19.200.99 (no service) answered: $out"
grep -q "Destination Host Unreachable" <<<"$out" || fail "ping 198.19.200.99: $out"
[ "$(($(drops 1 no_service) - ns0))" = 1 ] || fail "no_service rose by $(($(drops 1 no_service) - ns0)), not 1"
ok "an address of the service prefix no service has: host unreachable, no_service +1"

# ---- 1. TCP, UDP, ping over both families -------------------------------------

for p in n2p1 n3p1 n3p2; do tunnel_instance_add "$p"; done
INST='["n2p1","n3p1","n3p2"]'
ok "instances n2p1 n3p1 n3p2 registered; every strait-tun has them"

# UDP has no retransmission: a flow ends after 3 requests in a row go
# unanswered, and a datagram may die on a loaded machine (see dev_drops).
# So UDP goes at 5 requests a second per flow (a flow then survives a
# 600 ms loss) and may drop up to 2% of its requests; TCP none.
pids=()
for c in "tcp4 tcp $S4:5003 600 1" "tcp6 tcp [$S6]:5003 600 1" "udp4 udp $S4:5003 150 2" \
	"udp6 udp [$S6]:5003 150 2"; do
	read -r name proto addr rate secs <<<"$c"
	tunnel_traffic "$name" n1p1 --address "$addr" --protocol "$proto" --connections 30 --rate "$rate" \
		--duration "$secs"
	pids+=("$TUNNEL_TRAFFIC_PID")
done
for pid in "${pids[@]}"; do wait "$pid" || fail "a client failed: $(tail -n 3 "$WORK"/*.log)"; done
for name in tcp4 tcp6 udp4 udp6; do
	r=$WORK/$name.json
	slack=0 && [[ $name == udp* ]] && slack=50
	jq -e --argjson inst "$INST" --argjson k $slack '.connections == 30 and .connected == 30
		and .failed_connects == 0 and .lost == 0 and .moved == 0 and .sent > 0
		and .received + .dropped == .sent and .dropped * $k <= .sent and (.dropped == 0 or $k > 0)
		and .intact == .received and .corrupt == 0 and (.hosts | keys - $inst) == []' "$r" >/dev/null ||
		fail "$name: $(jq -c '{connections, connected, failed_connects, lost, dropped, sent, received, corrupt, hosts}' "$r"); $(dev_drops)"
	ok "$name to the service: 30 connections, $(jq .received "$r") answers of $(jq .sent "$r") ($(jq .dropped "$r") dropped), 0 lost, all intact; per instance: $(jq -c '.hosts | map_values(.connections)' "$r")"
done
for f in 4 6; do
	a=$S4 && [ $f = 6 ] && a=$S6
	out=$(tunnel_exec n1p1 ping -$f -c 3 -i 0.2 -W 2 "$a" 2>&1) || fail "ping -$f $a: $out"
	grep -q "3 packets transmitted, 3 received" <<<"$out" || fail "ping -$f $a: $out"
	grep -q "bytes from $a: icmp_seq=" <<<"$out" || fail "ping -$f $a: replies not from the service IP: $out"
	ok "ping -$f $a: 3 of 3 answered by the service IP ($(tail -n 1 <<<"$out"))"
done

# ---- 2. spread and stickiness --------------------------------------------------

N=300 U=60
tunnel_traffic tcp n1p1 --address "$S4:5003" --protocol tcp --connections $N --rate 3000 --duration 0
tcp_pid=$TUNNEL_TRAFFIC_PID
# 2 requests a second per UDP flow: it takes a 1.5 s loss to end one.
tunnel_traffic udp n1p1 --address "[$S6]:5003" --protocol udp --connections $U --rate 120 --duration 0
udp_pid=$TUNNEL_TRAFFIC_PID
wait_for 20 "$N TCP connections answered" st_is tcp .connected $N
wait_for 20 "$U UDP flows answered" st_is udp .connected $U
answered_more tcp 3000
st_is tcp .lost 0 && st_is tcp .failed_connects 0 && st_is tcp .connections $N ||
	fail "TCP before any change: $(st tcp '{connections, connected, failed_connects, lost}' | jq -c .)"
for h in n2p1 n3p1 n3p2; do
	for c in "tcp $N" "udp $U"; do
		read -r name n <<<"$c"
		got=$(st "$name" ".hosts.$h.connections // 0")
		[ "$got" -ge $((n / 10)) ] && [ "$got" -le $((n * 6 / 10)) ] ||
			fail "$name: $h serves $got of $n (wanted $((n / 10))..$((n * 6 / 10))): $(st "$name" .hosts | jq -c .)"
	done
done
ok "spread: $N TCP connections $(st tcp '.hosts | map_values(.connections)' | jq -c .), $U UDP flows $(st udp '.hosts | map_values(.connections)' | jq -c .)"

# The instance sees the client's own address, not the node's or the service's.
# (The server's socket is dual-stack: IPv4 peers show as [::ffff:A]:PORT.)
peers=$(tunnel_exec n2p1 ss -Htn state established '( sport = :5003 )' |
	awk '{ print $4 }' | sed -E 's/:[0-9]+$//; s/^\[(::ffff:)?//; s/\]$//' | sort | uniq -c)
[ "$(awk '{ print $2 }' <<<"$peers")" = 198.19.1.11 ] || fail "n2p1's TCP peers: $peers"
ok "n2p1 sees its $(awk '{ print $1 }' <<<"$peers") connections from the client's own address 198.19.1.11"

d0=$(st tcp .duration_ms)
answered_more tcp 9000
answered_more udp 360
for name in tcp udp; do
	st_is "$name" .moved 0 && st_is "$name" .lost 0 ||
		fail "$name: flows moved or broke with nothing changing: $(st "$name" '{connections, lost, moved, dropped, hosts}' | jq -c .); $(dev_drops)"
done
ok "stickiness: over $((($(st tcp .duration_ms) - d0) / 1000)) s, $(st tcp .received) TCP and $(st udp .received) UDP answers: 0 moved, 0 lost"

# ---- 3. an instance removed during traffic -------------------------------------

gone=n3p1
on_tcp=$(st tcp ".hosts.$gone.lasting") on_udp=$(st udp ".hosts.$gone.lasting")
[ "$on_tcp" -gt 0 ] && [ "$on_udp" -gt 0 ] || fail "nothing on $gone to lose"
declare -A before=()
for h in n2p1 n3p2; do before[$h]=$(st tcp ".hosts.$h.connections"); done
t0=$(now_ms)
tunnel_instance_del "$gone"
t_del=$(($(now_ms) - t0))
wait_for 20 "$gone's TCP connections to break" st_is tcp ".hosts.$gone.lasting" 0
wait_for 20 "$gone's UDP flows to break" st_is udp ".hosts.$gone.lasting" 0
wait_for 20 "$N TCP connections again" st_is tcp .connected $N
wait_for 20 "$U UDP flows again" st_is udp .connected $U
t_rec=$(($(now_ms) - t0))
answered_more tcp 6000
answered_more udp 240

kill -TERM "$tcp_pid" "$udp_pid"
wait "$tcp_pid" || fail "the TCP client failed: $(tail -n 3 "$WORK/tcp.log")"
wait "$udp_pid" || fail "the UDP client failed: $(tail -n 3 "$WORK/udp.log")"
r=$WORK/tcp.json
jq -e --argjson n "$on_tcp" --arg g "$gone" --argjson N $N \
	'.lost == $n and .moved == 0 and .failed_connects == 0 and .connected == $N
	 and .hosts[$g].lost == $n and .hosts[$g].connections == $n and .hosts[$g].lasting == 0
	 and ([.hosts[] | .lost] | add) == $n and .sent == .received + .dropped
	 and .intact == .received' "$r" >/dev/null ||
	fail "TCP: $gone had $on_tcp: $(jq -c '{connections, connected, failed_connects, lost, moved, sent, received, dropped, hosts}' "$r")"
declare -A added=()
for h in n2p1 n3p2; do
	added[$h]=$(($(jq ".hosts.$h.connections" "$r") - before[$h]))
	[ "${added[$h]}" -gt 0 ] || fail "none of the $on_tcp replacements went to $h: $(hosts "$r")"
done
[ $((added[n2p1] + added[n3p2])) = "$on_tcp" ] ||
	fail "$on_tcp connections lost, $((added[n2p1] + added[n3p2])) replacements: $(hosts "$r")"
ok "TCP, $gone unregistered (every strait-tun without it in $t_del ms): lost $on_tcp = its connections, 0 on n2p1 and n3p2, 0 moved; $N connected again $t_rec ms after; replacements n2p1 +${added[n2p1]}, n3p2 +${added[n3p2]}, $gone +0"
ok "TCP final (connections/lasting/lost): $(hosts "$r"); sent $(jq .sent "$r") received $(jq .received "$r") dropped $(jq .dropped "$r")"

r=$WORK/udp.json
jq -e --argjson n "$on_udp" --arg g "$gone" --argjson U $U \
	'.lost == $n and .moved == $n and .failed_connects == 0 and .connected == $U
	 and .hosts[$g].lost == $n and .hosts[$g].connections == $n and .hosts[$g].lasting == 0
	 and ([.hosts[] | .lost] | add) == $n and .sent == .received + .dropped' "$r" >/dev/null ||
	fail "UDP: $gone had $on_udp: $(jq -c '{connections, connected, failed_connects, lost, moved, sent, received, dropped, hosts}' "$r"); $(dev_drops)"
ok "UDP, $gone unregistered: its $on_udp flows answered by another instance (moved = lost = $on_udp), 0 lost elsewhere: $(hosts "$r")"

tunnel_traffic fresh n1p1 --address "[$S6]:5003" --protocol tcp --connections 100 --rate 1000 --duration 1
wait "$TUNNEL_TRAFFIC_PID" || fail "the fresh client failed: $(tail -n 3 "$WORK/fresh.log")"
r=$WORK/fresh.json
jq -e '.connections == 100 and .connected == 100 and .lost == 0 and .failed_connects == 0
	and (.hosts | keys) == ["n2p1", "n3p2"] and .hosts.n2p1.connections > 0
	and .hosts.n3p2.connections > 0' "$r" >/dev/null ||
	fail "new connections after $gone left: $(jq -c '{connections, connected, failed_connects, lost, hosts}' "$r")"
ok "100 new connections (IPv6) after $gone left: $(jq -c '.hosts | map_values(.connections)' "$r"), none to $gone"
