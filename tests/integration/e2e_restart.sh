#!/usr/bin/env bash
# End to end (tests/netns/cluster.sh): proxies and target agents restarted
# while long-lived traffic runs; they recover without duplicating anything.
#
#   2 LBs, 2 nodes x 2 targets (stream s1); 200 TCP connections over IPv4
#   and 200 UDP flows over IPv6 from the client for the whole run.
#   1. node 1's proxy killed with kill -9: the data path it made stays and
#      carries traffic while no proxy runs; the restarted proxy adopts its
#      bridge, links, rules and routes, the agents attach again;
#   2. node 2's proxy stopped with SIGTERM (it unregisters from NSP, leaves
#      the data path) and restarted: the same;
#   3. the agent of pod n1p1 killed with kill -9, started again and its
#      stream reopened: the new agent replaces the link (same name, same
#      addresses) and keeps the registration and its identifier;
#   4. the agent of pod n2p2 stopped with SIGTERM (it closes its stream:
#      unregisters, detaches), started again and reopened.
# After each step: the whole inventory (links in node, LB and pod
# namespaces; egress rules and tables 200 and 4000+; VIPs on lo; NSP
# registrations with identifiers; IPAM allocations) is compared with the
# one before the first step, and counted for duplicates (one link per pod
# and LB in each node, one per node in each LB, one per pod, one rule per
# VIP and family, one registration per pod, node and LB). Traffic: nothing
# lost across the proxy restarts; across an agent's restart only that
# pod's connections may break (the new agent clears what the old left,
# VIPs included, before it opens again) and they are counted.
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/netns/cluster.sh"

for b in strait-proxy strait-target; do
	[ -x "$BIN/$b" ] || skip "$BIN/$b is not built yet"
done
cluster_init rst

N=200 RATE=2000

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
st() { cluster_stat "$1" "$2"; } # NAME JQ
st_is() { [ "$(st "$1" "$2")" = "$3" ]; }
st_ge() { [ "$(st "$1" "$2")" -ge "$3" ]; }
answered_more() { # NAME N: waits until client NAME has N more answers
	local target=$(($(st "$1" .received) + $2))
	wait_for 20 "$2 more answers to $1" st_ge "$1" .received "$target"
}
# Waits until both clients have run MS more milliseconds and had a
# second's worth of answers more.
traffic_flows() { # [MS]
	local ms=${1:-1000} dt du rt ru
	dt=$(($(st tcp .duration_ms) + ms)) du=$(($(st udp .duration_ms) + ms))
	rt=$(($(st tcp .received) + RATE)) ru=$(($(st udp .received) + RATE))
	wait_for 20 "traffic to flow" eval 'st_ge tcp .duration_ms $dt && st_ge udp .duration_ms $du &&
		st_ge tcp .received $rt && st_ge udp .received $ru'
}
count() { grep -cE "$1" <<<"$2" || true; } # REGEX TEXT
log_count() { grep -cE "$2" "$WORK/$1.log" 2>/dev/null || true; } # KEY REGEX

# ---- the inventory ----------------------------------------------------------

# What strait made, without MACs, interface indexes or process ids, in an
# order that does not depend on the order things were made.
inventory() {
	local name kind
	for name in $(cluster_names | sort); do
		kind=${name#"$CLUSTER_P"-}
		[[ $kind == c || $kind == g ]] && continue
		echo "$kind links: $(ip -n "$name" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
			grep -E '^st' | sort | tr '\n' ' ')"
		[[ $kind == lb* ]] && continue
		ip -n "$name" -4 rule | grep -E 'lookup (200|40[0-6][0-9])$' | sed "s/^/$kind rule4 /" | sort
		ip -n "$name" -6 rule | grep -E 'lookup (200|40[0-6][0-9])$' | sed "s/^/$kind rule6 /" | sort
		ip -n "$name" -o -4 route show table all | grep -E ' table (200|40[0-6][0-9]) ' |
			sed "s/^/$kind route4 /" | sort
		ip -n "$name" -o -6 route show table all | grep -E ' table (200|40[0-6][0-9]) ' |
			sed "s/^/$kind route6 /" | sort
		ip -n "$name" -o addr show dev lo | awk -v k="$kind" '$4 !~ /^(127\.|::1\/)/ { print k, "lo", $4 }' | sort
	done
	nspctl --json nsp list | jq -r '.targets[] | "nsp \(.type) \(.stream) \(.ips | join(",")) id=\(.identifier) \(.context | to_entries | map("\(.key)=\(.value)") | join(","))"' | sort
	ipamctl --json ipam list | jq -r '.allocations[] | "ipam \(.node) \(.name) \(.family) \(.address)"' | sort
}

# One of each: fails naming what is there twice (or missing).
no_duplicates() { # WHEN
	local inv=$1 when=$2 j i pod n want
	for ((j = 1; j <= CLUSTER_N; j++)); do
		want=0
		for pod in "${CLUSTER_PODS[@]}"; do [[ $pod == "n${j}p"* ]] && want=$((want + 1)); done
		n=$(count "^n$j links: " "$inv")
		[ "$n" = 1 ] || fail "$when: node $j missing"
		local links
		links=$(grep "^n$j links: " <<<"$inv")
		[ "$(grep -o ' stv[0-9a-f]*' <<<"$links" | wc -l)" = "$want" ] ||
			fail "$when: node $j should have $want pod links: $links"
		[ "$(grep -o ' stl[0-9a-f]*' <<<"$links" | wc -l)" = "$CLUSTER_L" ] ||
			fail "$when: node $j should have $CLUSTER_L LB links: $links"
		[ "$(count "^n$j rule4 .*lookup 200$" "$inv")" = 1 ] && [ "$(count "^n$j rule6 .*lookup 200$" "$inv")" = 1 ] ||
			fail "$when: node $j's egress rules: $(grep "^n$j rule" <<<"$inv")"
		[ "$(count "^n$j route4 default .*table 200 " "$inv")" = 1 ] && [ "$(count "^n$j route6 default .*table 200 " "$inv")" = 1 ] ||
			fail "$when: node $j's egress routes: $(grep "^n$j route" <<<"$inv")"
		[ "$(count "^nsp proxy .* node=n$j$" "$inv")" = 1 ] ||
			fail "$when: node $j's proxy registrations: $(grep "^nsp proxy" <<<"$inv")"
	done
	for ((i = 1; i <= CLUSTER_L; i++)); do
		[ "$(grep "^lb$i links: " <<<"$inv" | grep -o ' stp[0-9a-f]*' | wc -l)" = "$CLUSTER_N" ] ||
			fail "$when: LB $i should have $CLUSTER_N links: $(grep "^lb$i links" <<<"$inv")"
	done
	[ "$(count '^nsp frontend ' "$inv")" = "$CLUSTER_L" ] || fail "$when: frontends: $(grep '^nsp frontend' <<<"$inv")"
	for pod in "${CLUSTER_PODS[@]}"; do
		[ "$(grep "^$pod links: " <<<"$inv")" = "$pod links: st0 " ] ||
			fail "$when: $pod should have one link st0: $(grep "^$pod links" <<<"$inv")"
		[ "$(count "^$pod rule4 " "$inv")" = 1 ] && [ "$(count "^$pod rule6 " "$inv")" = 1 ] ||
			fail "$when: $pod's rules: $(grep "^$pod rule" <<<"$inv")"
		[ "$(count "^$pod route4 " "$inv")" = 1 ] && [ "$(count "^$pod route6 " "$inv")" = 1 ] ||
			fail "$when: $pod's routes: $(grep "^$pod route" <<<"$inv")"
		[ "$(count "^$pod lo " "$inv")" = 2 ] || fail "$when: $pod's VIPs: $(grep "^$pod lo" <<<"$inv")"
		[ "$(count "^nsp target .* pod=$pod$" "$inv")" = 1 ] ||
			fail "$when: $pod's registrations: $(grep "pod=$pod$" <<<"$inv")"
		[ "$(count "^ipam n[0-9]+ pod-$pod " "$inv")" = 2 ] ||
			fail "$when: $pod's addresses in IPAM: $(grep "pod-$pod " <<<"$inv")"
	done
}

# The inventory is the one before the first step, and has no duplicate.
same_inventory() { # WHEN
	local now
	now=$(inventory)
	no_duplicates "$now" "$1"
	if [ "$now" != "$INV0" ]; then
		{ diff <(echo "$INV0") <(echo "$now") || true; } | sed 's/^/    /' >&2
		fail "$1: the inventory changed (diff above: < before, > now)"
	fi
}

# ---- traffic accounting -------------------------------------------------------

# Connections lost per host so far, both clients: "host tcp udp" lines.
losses() {
	jq -r '.hosts | to_entries[] | "\(.key) \(.value.lost)"' "$WORK/tcp.status" | sort >"$WORK/loss.tcp"
	jq -r '.hosts | to_entries[] | "\(.key) \(.value.lost)"' "$WORK/udp.status" | sort >"$WORK/loss.udp"
	join -a1 -a2 -e0 -o 0,1.2,2.2 "$WORK/loss.tcp" "$WORK/loss.udp"
}
# Sets LOST to "tcp T udp U", what POD lost since BEFORE (an output of
# losses), MOVED_NOW to how many of them moved; fails if any other pod
# lost a connection (or POD is "-": any pod).
lost_since() { # BEFORE POD WHEN
	local before=$1 pod=$2 when=$3 h t u t0 u0 mt=0 mu=0
	while read -r h t u; do
		read -r t0 u0 < <(awk -v h="$h" '$1 == h { print $2, $3 }' <<<"$before") || true
		t=$((t - ${t0:-0})) u=$((u - ${u0:-0}))
		if [ "$h" = "$pod" ]; then
			mt=$t mu=$u
		elif [ $t -ne 0 ] || [ $u -ne 0 ]; then
			fail "$when: $h lost $t TCP and $u UDP connections: $(jq -c .hosts "$WORK/tcp.status") $(jq -c .hosts "$WORK/udp.status")"
		fi
	done < <(losses)
	# A connection answered by a second host is lost by its first: only
	# POD's may move (when it unregisters, the LBs give its flows to the
	# others).
	local mv=$(($(st tcp .moved) + $(st udp .moved) - MOVED))
	[ $mv -le $((mt + mu)) ] ||
		fail "$when: $mv connections moved to another target, $pod lost $((mt + mu))"
	MOVED=$((MOVED + mv))
	LOST="tcp $mt udp $mu" MOVED_NOW=$mv
}
MOVED=0

# ---- the cluster and the traffic -------------------------------------------------

cluster_start --lbs 2 --nodes 2 --targets 2
cluster_open_all s1
cluster_traffic tcp --address "$CLUSTER_VIP4:5003" --protocol tcp --connections $N \
	--rate $RATE --duration 0 --sources "$(cluster_sources 4)"
TCP=$CLUSTER_TRAFFIC_PID
cluster_traffic udp --address "[$CLUSTER_VIP6]:5003" --protocol udp --connections $N \
	--rate $RATE --duration 0 --sources "$(cluster_sources 6)"
UDP=$CLUSTER_TRAFFIC_PID
wait_for 20 "$N TCP connections answered" st_is tcp .connected $N
wait_for 20 "$N UDP flows answered" st_is udp .connected $N
INV0=$(inventory)
no_duplicates "$INV0" "at the start"
ok "4 targets open, $N TCP (IPv4) and $N UDP (IPv6) connections; inventory: $(wc -l <<<"$INV0") lines, no duplicate"

# ---- 1 and 2: a proxy restarted ---------------------------------------------

proxy_registered() { nspctl --json nsp list --type proxy | jq -e --arg n "n$1" '[.targets[] | select(.context.node == $n)] | length == 1' >/dev/null; }
proxy_whole() { # J: registered, 2 pods, every LB linked and in the egress
	proxyctl "$1" --json proxy status | jq -e --argjson l "$CLUSTER_L" \
		'.registered and (.pods | length) == 2 and ([.pods[] | select(.up)] | length) == 2 and
		 (.lbs | length) == $l and (.nexthops4 | length) == $l and (.nexthops6 | length) == $l' >/dev/null
}
# Every agent of node J has attached again since the counts in AGAIN.
attached_again() { # J AGAIN...
	local j=$1 pod k=0
	shift
	for pod in "${CLUSTER_PODS[@]}"; do
		[[ $pod == "n${j}p"* ]] || continue
		k=$((k + 1))
		[ "$(log_count "target-$pod" 'attached again')" -gt "${!k}" ] || return 1
	done
}

restart_proxy() { # J SIGNAL
	local j=$1 sig=$2 before again=() pod t0 t1 t2 l
	for pod in "${CLUSTER_PODS[@]}"; do
		[[ $pod == "n${j}p"* ]] && again+=("$(log_count "target-$pod" 'attached again')")
	done
	before=$(losses)
	t0=$(now_ms)
	cluster_proxy_kill "$j" "$sig"
	if [ "$sig" = TERM ]; then
		wait_for 5 "node $j's proxy unregistered" eval '! proxy_registered '"$j"
	else
		proxy_registered "$j" || fail "node $j's proxy registration went with kill -9 (its lease should keep it)"
	fi
	traffic_flows
	lost_since "$before" - "node $j's proxy down ($sig)"
	l=$LOST
	[ "$l" = "tcp 0 udp 0" ] || fail "node $j's proxy down ($sig): lost $l"
	t1=$(now_ms)
	cluster_proxy_start "$j"
	wait_for 20 "node $j's proxy registered, its pods and LBs linked" eval "proxy_registered $j && proxy_whole $j"
	wait_for 10 "node $j's agents attached again" attached_again "$j" "${again[@]}"
	t2=$(now_ms)
	traffic_flows
	same_inventory "node $j's proxy restarted after $sig"
	lost_since "$before" - "node $j's proxy restarted after $sig"
	l=$LOST
	[ "$l" = "tcp 0 udp 0" ] || fail "node $j's proxy restarted ($sig): lost $l"
	ok "node $j's proxy $([ "$sig" = KILL ] && echo killed with kill -9 || echo stopped with SIGTERM): traffic flowed for $((t1 - t0)) ms without it; restarted, it adopted everything and its agents attached again in $((t2 - t1)) ms; inventory unchanged; lost 0 TCP, 0 UDP"
}
restart_proxy 1 KILL
restart_proxy 2 TERM

# ---- 3 and 4: a target agent restarted ----------------------------------------

restart_agent() { # POD SIGNAL
	local pod=$1 sig=$2 before t0 t1 l conns inv same d0
	before=$(losses)
	d0=$(($(st tcp .dropped) + $(st udp .dropped)))
	conns="$(st tcp ".hosts.$pod.lasting") TCP and $(st udp ".hosts.$pod.lasting") UDP"
	t0=$(now_ms)
	cluster_target_kill "$pod" "$sig"
	if [ "$sig" = TERM ]; then
		wait_for 10 "3 targets on both LBs" cluster_ready s1 3
	fi
	cluster_target_start "$pod"
	cluster_open "$pod" s1 || fail "$pod cannot open s1 again"
	wait_for 20 "4 ready targets on both LBs" cluster_ready s1 4
	t1=$(now_ms)
	traffic_flows 2500 # past the 2 s timeout: requests of the gap are answered or dropped by now
	inv=$(inventory)
	no_duplicates "$inv" "$pod's agent restarted after $sig"
	if [ "$inv" = "$INV0" ]; then
		same="inventory unchanged"
	elif [ "$sig" = KILL ]; then
		{ diff <(echo "$INV0") <(echo "$inv") || true; } | sed 's/^/    /' >&2
		fail "$pod's agent restarted after kill -9: the inventory changed (diff above)"
	else
		same="no duplicate; changed: $({ diff <(echo "$INV0") <(echo "$inv") || true; } | grep -c '^>' || true) line(s): $({ diff <(echo "$INV0") <(echo "$inv") || true; } | grep '^>' | cut -c3- | paste -sd';')"
	fi
	lost_since "$before" "$pod" "$pod's agent restarted after $sig"
	l="$LOST ($MOVED_NOW of them answered by another pod)"
	ok "$pod's agent $([ "$sig" = KILL ] && echo killed with kill -9 || echo stopped with SIGTERM) and reopened in $((t1 - t0)) ms: $same; it had $conns connections: lost $l, the other pods none ($(($(st tcp .dropped) + $(st udp .dropped) - d0)) requests dropped)"
}
restart_agent n1p1 KILL
restart_agent n2p2 TERM

kill -TERM "$TCP" "$UDP"
wait "$TCP" || fail "the TCP client failed"
wait "$UDP" || fail "the UDP client failed"
for f in tcp udp; do
	ok "final $f report: $(jq -c '{connections, lost, moved, failed_connects, sent, received, dropped, hosts: (.hosts | map_values(.connections))}' "$WORK/$f.json")"
done
