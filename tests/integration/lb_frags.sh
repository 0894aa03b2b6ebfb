#!/usr/bin/env bash
# strait-lb end to end, fragments and ICMP errors: 4,000-byte UDP
# datagrams sent as 3 fragments each, in order, backwards, shuffled and
# with the first fragment last, reach one target whole (the LB tracks
# fragment ids itself; the kernel of the LB namespace does not reassemble);
# a "fragmentation needed" (IPv4) or "packet too big" (IPv6) error about a
# flow reaches the target that serves the flow, and no other.
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/netns/topo.sh"
source "$TOP/tests/netns/lbenv.sh"

lbenv_init lbf

lbenv_start 4
for i in 1 2 3 4; do
	lbenv_register "$i"
	topo_bg "t$i" "$BIN/pktcraft" udp-sink --port 5006 --name "t$i" \
		>>"$WORK/sink-t$i.log" 2>&1
	PIDS+=("$TOPO_BG_PID")
done
wait_for 15 "4 ready targets in s1" lbenv_ready s1 4
for i in 1 2 3 4; do
	wait_for 10 "the sink on t$i" eval "[ -n \"\$(topo_exec t$i ss -Hlun 'sport = :5006')\" ]"
done

placed() { lbctl lb status --json | jq --arg n "$1" '.placed[] | select(.name == $n) | .value'; }

# ---- fragments ---------------------------------------------------------------
port=41000
for fam in 4 6; do
	if [ $fam = 4 ]; then src=$TOPO_CLIENT4 dst=$TOPO_VIP4; else src=$TOPO_CLIENT6 dst=$TOPO_VIP6; fi
	for order in forward reverse shuffle first-last; do
		port=$((port + 1))
		out=$(topo_exec client "$BIN/pktcraft" frags --src "$src" --dst "$dst" \
			--sport "$port" --dport 5006 --size 4000 --mtu 1400 \
			--order "$order" --count 5 --wait-reply 3000) ||
			fail "IPv$fam $order: not every datagram was answered: $out"
		n_ok=$(grep -c " 4000 ok$" <<<"$out" || true)
		hosts=$(awk '{print $1}' <<<"$out" | sort -u | tr '\n' ' ')
		[ "$n_ok" -eq 5 ] || fail "IPv$fam $order: $n_ok of 5 intact: $out"
		[ "$(wc -w <<<"$hosts")" -eq 1 ] || fail "IPv$fam $order: one flow answered by $hosts"
	done
	ok "IPv$fam: 4000-byte datagrams in 3 fragments, in order, reversed, shuffled, first last: all 20 intact, each flow on one target"
done
follow=$(placed fragment)
[ "$follow" -ge 80 ] || fail "the LB placed only $follow fragments by their first (want >= 80: the kernel reassembled?)"
held=$(lbctl lb status --json | jq '[.queues[].fragsHeld] | add')
ok "the LB itself placed $follow later fragments (held now: $held)"

# ---- ICMP errors ---------------------------------------------------------------
count_rule() { # I FAMILY
	if [ "$2" = 4 ]; then
		topo_exec "t$1" iptables -w -I INPUT -p icmp --icmp-type fragmentation-needed
	else
		topo_exec "t$1" ip6tables -w -I INPUT -p icmpv6 --icmpv6-type packet-too-big
	fi
}
counted() { # I FAMILY
	local ipt=iptables
	[ "$2" = 6 ] && ipt=ip6tables
	topo_exec "t$1" $ipt -w -L INPUT -v -x -n | awk 'NR == 3 {print $1}'
}
for fam in 4 6; do
	for i in 1 2 3 4; do count_rule "$i" "$fam"; done
	if [ $fam = 4 ]; then src=$TOPO_CLIENT4 dst=$TOPO_VIP4; else src=$TOPO_CLIENT6 dst=$TOPO_VIP6; fi
	for sport in 42001 42002 42003 42004 42005 42006; do
		# A flow: one datagram, answered by the target that owns it.
		owner=$(topo_exec client "$BIN/pktcraft" frags --src "$src" --dst "$dst" \
			--sport "$sport" --dport 5006 --size 100 --mtu 1500 \
			--wait-reply 3000 | awk '{print $1}')
		[ -n "$owner" ] || fail "no answer for flow $sport"
		before=$(counted "${owner#t}" "$fam")
		# A router on the client's side says the flow's reply was too big.
		topo_exec client "$BIN/pktcraft" icmp-error --src "$src" --dst "$dst" \
			--inner-src "$dst" --inner-dst "$src" --inner-proto udp \
			--inner-sport 5006 --inner-dport "$sport" --mtu 1280
		wait_for 5 "the IPv$fam error about :$sport on $owner" \
			eval "[ \"\$(counted ${owner#t} $fam)\" -gt $before ]"
	done
	total=0
	for i in 1 2 3 4; do total=$((total + $(counted "$i" "$fam"))); done
	[ "$total" -eq 6 ] || fail "IPv$fam: 6 errors sent, $total counted on the targets"
	ok "IPv$fam: 6 $([ $fam = 4 ] && echo fragmentation-needed || echo packet-too-big) errors, each on the target of its flow only"
done
[ "$(placed icmp_error)" -ge 12 ] || fail "the LB counted $(placed icmp_error) ICMP errors"
