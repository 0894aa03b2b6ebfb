#!/usr/bin/env bash
# strait-lb end to end, configuration changing under load (through NSP's
# configuration directory, swapped as Kubernetes swaps a ConfigMap):
# a VIP added is queued and reached, and removed again, while traffic to
# the first VIP runs untouched; a higher-priority flow takes a port over to
# another stream; a byte-match flow (on the request's payload) takes UDP
# requests of one size to that stream.
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/netns/topo.sh"
source "$TOP/tests/netns/lbenv.sh"

lbenv_init lbc

VIP2=198.18.100.2
lbenv_start 4
for i in 1 2 3 4; do
	lbenv_register "$i"
	topo_exec "t$i" ip addr add "$VIP2/32" dev lo
done
topo_exec client ip route add "$VIP2/32" via "$TOPO_LB4"
wait_for 15 "4 ready targets in s1" lbenv_ready s1 4

F1_BASE="name: f1, trench: trench-a, stream: s1, protocols: [tcp, udp, icmp, icmpv6], priority: 1"
vips_queued() { # the VIPs the chain queues, one line
	lbctl lb status --json | jq -r '.vips | join(" ")'
}
queues_vip() { [[ " $(vips_queued) " == *" $1/32 "* ]]; }
not_queues_vip() { ! queues_vip "$1"; }

lbenv_traffic long --address "$TOPO_VIP4:5003" --connections 100 \
	--rate 1000 --duration 0 --sources "$(lbenv_sources 4)"
long=$LBENV_TRAFFIC_PID
wait_for 20 "100 connections to the first VIP" \
	eval '[ "$(lbenv_stat long .connected)" = 100 ]'

# One short run; prints its report's counts.
short() { # NAME ADDRESS [ARGS]
	local name=$1 addr=$2
	shift 2
	lbenv_traffic "$name" --address "$addr" --connections 40 --rate 400 \
		--duration 1 --timeout 500 --no-reconnect \
		--sources "$(lbenv_sources 4)" "$@"
	wait "$LBENV_TRAFFIC_PID" || fail "$name: the client failed"
}

# ---- a VIP added and removed -------------------------------------------------
lbenv_config "v4=$TOPO_VIP4/32 v6=$TOPO_VIP6/128 v4b=$VIP2/32" \
	"{$F1_BASE, vips: [v4, v6, v4b]}"
wait_for 15 "the chain to queue $VIP2" queues_vip "$VIP2"
short vip2 "$VIP2:5003"
jq -e '.connections == 40 and .lost == 0 and .received > 0 and (.hosts | length) >= 3' "$WORK/vip2.json" >/dev/null ||
	fail "the new VIP: $(jq -c '{connections, lost, received, hosts}' "$WORK/vip2.json")"
ok "VIP $VIP2 added through the configuration directory: queued and served ($(jq -c '.hosts | map_values(.connections)' "$WORK/vip2.json"))"

lbenv_config "v4=$TOPO_VIP4/32 v6=$TOPO_VIP6/128" "{$F1_BASE, vips: [v4, v6]}"
wait_for 15 "the chain to drop $VIP2" not_queues_vip "$VIP2"
short vip2-gone "$VIP2:5003"
jq -e '.received == 0' "$WORK/vip2-gone.json" >/dev/null ||
	fail "the removed VIP still answers: $(jq -c '{connections, received, hosts}' "$WORK/vip2-gone.json")"
ok "VIP $VIP2 removed: no longer queued, no longer served"
[ "$(lbenv_stat long .lost)" = 0 ] ||
	fail "traffic to $TOPO_VIP4 lost connections: $(jq -c '{lost, hosts}' "$WORK/long.status")"
ok "meanwhile 100 connections to $TOPO_VIP4 went on untouched"
kill -TERM "$long"
wait "$long" || true

# ---- a higher-priority flow takes a port; a byte-match flow ---------------
lbenv_register 4 s2
wait_for 15 "t4 ready in s2" lbenv_ready s2 1
lbenv_config "v4=$TOPO_VIP4/32 v6=$TOPO_VIP6/128" \
	"{$F1_BASE, vips: [v4, v6]}" \
	"{name: f2, trench: trench-a, stream: s2, vips: [v4], protocols: [tcp], destination-port-ranges: ['5003'], priority: 10}" \
	"{name: f3, trench: trench-a, stream: s2, vips: [v4], protocols: [udp], byte-matches: ['udp[12:4] = 100'], priority: 5}"
flows_are() { [ "$(lbctl lb flows --json | jq -r '[.flows[].name] | join(",")')" = "$1" ]; }
wait_for 15 "flows f1,f2,f3" flows_are f1,f2,f3

short takeover "$TOPO_VIP4:5003"
jq -e '.connections == 40 and .lost == 0 and (.hosts | keys) == ["t4"]' "$WORK/takeover.json" >/dev/null ||
	fail "TCP to port 5003 should all go to s2 (t4): $(jq -c '{lost, hosts}' "$WORK/takeover.json")"
ok "flow f2 (priority 10, tcp port 5003) takes the port over to stream s2: all 40 connections on t4"

short udp-plain "$TOPO_VIP4:5003" --protocol udp
jq -e '(.hosts | length) >= 3 and .lost == 0' "$WORK/udp-plain.json" >/dev/null ||
	fail "UDP without the byte match should spread over s1: $(jq -c .hosts "$WORK/udp-plain.json")"
short udp-match "$TOPO_VIP4:5003" --protocol udp --size 100
jq -e '(.hosts | keys) == ["t4"] and .lost == 0 and .received > 0' "$WORK/udp-match.json" >/dev/null ||
	fail "UDP requests with pad_len 100 should all go to t4: $(jq -c '{lost, received, hosts}' "$WORK/udp-match.json")"
ok "flow f3 (byte match udp[12:4] = 100 on the payload): those requests go to s2, the rest spread over s1"

pk=$(lbctl lb flows --json | jq -c '[.flows[] | {(.name): .packets}] | add')
jq -e '.f2 > 0 and .f3 > 0 and .f1 > 0' <<<"$pk" >/dev/null || fail "flow counters: $pk"
ok "flow match counters: $pk"
