#!/usr/bin/env bash
# strait-lb end to end: a client with 8 source addresses, the LB, 4
# targets, each running a traffic server. TCP and UDP to the VIP over IPv4
# and IPv6 reach all 4 targets, each serving between half and one and a
# half times an even share of 400 connections; straitctl lb and /metrics
# show the streams, flows and counters; ping works through the LB. Then the
# LB is killed with kill -9 and restarted: no stale iptables rule, ip rule
# or route is left and traffic is served again.
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/netns/topo.sh"
source "$TOP/tests/netns/lbenv.sh"

lbenv_init lbb

lbenv_start 4
for i in 1 2 3 4; do lbenv_register "$i"; done
wait_for 15 "4 ready targets in s1" lbenv_ready s1 4
ok "4 targets registered, routed and in the Maglev table"

# One run of 400 connections; checks the spread and that nothing was lost.
spread() { # NAME PROTO ADDRESS SOURCES
	local name=$1 proto=$2 addr=$3 src=$4
	lbenv_traffic "$name" --address "$addr" --protocol "$proto" \
		--connections 400 --rate 4000 --duration 3 --sources "$src"
	wait "$LBENV_TRAFFIC_PID" || fail "$name: the client failed"
	local r=$WORK/$name.json
	jq -e '.connections == 400 and .lost == 0 and .failed_connects == 0' "$r" >/dev/null ||
		fail "$name: $(jq -c '{connections, lost, failed_connects, moved}' "$r")"
	for i in 1 2 3 4; do
		local c
		c=$(jq --arg h "t$i" '.hosts[$h].connections // 0' "$r")
		[ "$c" -ge 50 ] && [ "$c" -le 150 ] ||
			fail "$name: t$i served $c of 400 connections (want 50..150): $(jq -c .hosts "$r")"
	done
	ok "$name: 400 connections over 4 targets: $(jq -c '[.hosts[] | .connections]' "$r"), none lost"
}
spread tcp4 tcp "$TOPO_VIP4:5003" "$(lbenv_sources 4)"
spread udp4 udp "$TOPO_VIP4:5003" "$(lbenv_sources 4)"
spread tcp6 tcp "[$TOPO_VIP6]:5003" "$(lbenv_sources 6)"
spread udp6 udp "[$TOPO_VIP6]:5003" "$(lbenv_sources 6)"

topo_exec client ping -c 2 -i 0.2 -W 2 "$TOPO_VIP4" >/dev/null || fail "ping $TOPO_VIP4"
topo_exec client ping -c 2 -i 0.2 -W 2 "$TOPO_VIP6" >/dev/null || fail "ping $TOPO_VIP6"
ok "ping through the LB, both families"

# ---- operability --------------------------------------------------------
st=$(lbctl lb streams --json)
jq -e '.streams[0].slotsMin > 0 and (.streams[0].slotsMax - .streams[0].slotsMin) <= 1' <<<"$st" >/dev/null ||
	fail "table balance: $(jq -c '.streams[0] | {slotsMin, slotsMax}' <<<"$st")"
jq -e '[.streams[0].targets[] | .packets > 0] | all' <<<"$st" >/dev/null ||
	fail "a target has no packets: $(jq -c '[.streams[0].targets[] | {identifier, packets}]' <<<"$st")"
jq -e '(.flows[0].name == "f1") and .flows[0].packets > 0 and .accepted > 0' <<<"$st" >/dev/null ||
	fail "flow counters: $(jq -c .flows <<<"$st")"
text=$(lbctl lb streams)
grep -q "balance 1.00" <<<"$text" || fail "lb streams shows no balance: $text"
metrics=$(topo_exec lb curl -sf http://127.0.0.1:9779/metrics)
for m in 'strait_lb_packets_total{verdict="accept",reason=""}' \
	'strait_lb_flow_packets_total{flow="f1",stream="s1"}' \
	'strait_lb_target_packets_total{stream="s1",identifier="3"}' \
	'strait_lb_conntab_entries{queue="0"}' 'strait_lb_table_builds_total'; do
	grep -qF "$m" <<<"$metrics" || fail "/metrics lacks $m"
done
ok "straitctl lb streams/flows/status and /metrics show balance and counters"

# ---- kill -9 and restart --------------------------------------------------
snapshot() {
	{ topo_exec lb iptables -t mangle -S; topo_exec lb ip6tables -t mangle -S
	  topo_exec lb ip rule; topo_exec lb ip -6 rule
	  topo_exec lb ip route show table all | grep -E "^default .*table (4[0-9]{3})" || true
	} | sort
}
before=$(snapshot)
lbenv_lb_kill
grep -q "STRAIT-LB" <<<"$(topo_exec lb iptables -t mangle -S)" ||
	fail "kill -9 should leave the chain behind (else this test proves nothing)"
# Restarted as a registered frontend of the conduit (docs/proxy.md).
lbenv_lb_start --register 198.18.0.1/24 --register fd00::1/64 --netns "/run/netns/$LBENV_P-lb"
wait_for 15 "4 ready targets after the restart" lbenv_ready s1 4
after=$(snapshot)
[ "$before" = "$after" ] || fail "the restart changed the rules:
$(diff <(echo "$before") <(echo "$after"))"
jumps=$(topo_exec lb iptables -t mangle -S PREROUTING | grep -c -- "-j STRAIT-LB")
[ "$jumps" -eq 1 ] || fail "$jumps jumps to STRAIT-LB after the restart"
spread tcp4-again tcp "$TOPO_VIP4:5003" "$(lbenv_sources 4)"
ok "kill -9 and restart: the same single chain, rules and routes, and traffic again"

# ---- a target not reachable yet waits ----------------------------------
# Identifier 7 in stream s2 at 198.19.9.2, on no network the LB is on.
topo_bg lb "$BIN/straitctl" --nsp 127.0.0.1:7778 nsp register --trench trench-a \
	--conduit lb --stream s2 --ip 198.19.9.2/24 --identifier 7 --keep \
	>>"$WORK/agent-unreachable.log" 2>&1
PIDS+=("$TOPO_BG_PID")
waits() {
	local out
	out=$(lbctl lb streams --json) || return 1
	jq -e '.streams[] | select(.name == "s2") | .targets[] |
		select(.identifier == 7 and (.ready | not) and (.waiting | contains("not reachable")))' <<<"$out"
}
wait_for 10 "target 7 to wait as unreachable" waits
lbenv_ready s2 0 || fail "an unreachable target is in the table"
# The LB gets a leg on 198.19.9.0/24: the target becomes reachable.
topo_exec lb ip addr add 198.19.9.1/24 dev "${LBENV_P}l1"
wait_for 10 "target 7 to be added once reachable" lbenv_ready s2 1
topo_exec lb ip route show table "$(lbctl lb streams --json |
	jq '.streams[] | select(.name == "s2") | .targets[0].mark')" >"$WORK/t7.route"
grep -q "default via 198.19.9.2" "$WORK/t7.route" || fail "no route to target 7: $(cat "$WORK/t7.route")"
ok "a target on no connected network waits (straitctl says why), and joins once it is reachable"

frontends() {
	topo_exec lb "$BIN/straitctl" --nsp 127.0.0.1:7778 --json nsp list --type frontend
}
out=$(frontends)
jq -e '.targets | length == 1 and (.[0].ips | sort) == ["198.18.0.1/24", "fd00::1/64"] and
	.[0].context.netns == "/run/netns/'"$LBENV_P"'-lb"' <<<"$out" >/dev/null ||
	fail "the LB's frontend registration: $(jq -c .targets <<<"$out")"
ok "the LB registered itself as a frontend of the conduit, with its namespace"

# A clean stop removes everything it made, and unregisters.
kill -TERM "$LBENV_LB_PID"
wait "$LBENV_LB_PID" || fail "strait-lb exited with $? on SIGTERM"
[ "$(frontends | jq '.targets | length')" = 0 ] || fail "the frontend is still registered after SIGTERM"
left=$(snapshot | grep -E "STRAIT-LB|lookup 4[0-9]{3}|table 4[0-9]{3}" || true)
[ -z "$left" ] || fail "SIGTERM left: $left"
ok "SIGTERM removes the chain, the rules and the routes"
