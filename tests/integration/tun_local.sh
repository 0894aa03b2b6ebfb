#!/usr/bin/env bash
# End to end (issue 6): policy local, the "closest" instance Oakestra
# described, and same-node instances reached without encapsulation
# (tests/netns/tunnel.sh: 3 nodes behind an underlay router, 2 pods each).
# Service near (198.19.200.20 / fd00:19:200::20, policy local) is added
# through NSP's configuration folder while everything runs; its instances
# are n1p2 and n2p2.
#
#   1. every strait-tun learns near from the configuration change;
#   2. from n1p1 (node 1 has n1p2): TCP and UDP over IPv4 and IPv6 and
#      ping all reach n1p2 and only it; node 1's strait-tun writes them
#      back to its device and sends no datagram over UDP;
#   3. from n3p1 (node 3 has none): the flows spread over n1p2 and n2p2,
#      through the tunnel;
#   4. n1p2 unregistered: node 1's new flows go to n2p2, now through the
#      tunnel.
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/netns/tunnel.sh"

tunnel_need ping
tunnel_init tunloc

N4=198.19.200.20 N6=fd00:19:200::20
udp_tx() { tunnel_metric "$1" strait_tun_packets_total 'leg="udp",dir="tx"'; } # J
dev_tx() { tunnel_metric "$1" strait_tun_packets_total 'leg="device",dir="tx"'; }
# run NAME POD PROTO ADDR: 20 connections for 1 s, to the end; checks that
# all connected, none lost, every answer intact.
run() {
	local name=$1 pod=$2 proto=$3 addr=$4 r
	tunnel_traffic "$name" "$pod" --address "$addr" --protocol "$proto" --connections 20 \
		--rate 200 --duration 1
	wait "$TUNNEL_TRAFFIC_PID" || fail "$name: the client failed: $(tail -n 3 "$WORK/$name.log")"
	r=$WORK/$name.json
	jq -e '.connections == 20 and .connected == 20 and .failed_connects == 0 and .lost == 0
		and .sent > 0 and .received > 0 and .intact == .received and .corrupt == 0' "$r" >/dev/null ||
		fail "$name: $(jq -c '{connections, connected, failed_connects, lost, sent, received, dropped, corrupt, hosts}' "$r")"
}
hosts_of() { jq -c '.hosts | keys' "$WORK/$1.json"; } # NAME
conns() { jq -c '.hosts | map_values(.connections)' "$WORK/$1.json"; }

tunnel_start --routed

# ---- 1. a service with policy local, added while everything runs --------------
cat >>"$WORK/config/services" <<EOF
  - name: near
    trench: trench-a
    addresses: [$N4, $N6]
    policy: local
    max-instances: 10
EOF
every_tun_has_near() {
	local j
	for ((j = 1; j <= 3; j++)); do
		[ "$(tunnel_metric "$j" strait_tun_services)" = 2 ] || return 1
	done
}
wait_for 15 "every strait-tun to learn service near" every_tun_has_near
policy=$(tunnel_status 1 --json | jq -r '.services[] | select(.name == "near") | .policy')
[ "$policy" = local ] || fail "node 1 shows near with policy '$policy', not local"
tunnel_instance_add n1p2 near
tunnel_instance_add n2p2 near
ok "service near (policy local) added through the configuration folder; instances n1p2 and n2p2 on every strait-tun"

# ---- 2. node 1 has an instance: its flows stay on the node ----------------------
u0=$(udp_tx 1) d0=$(dev_tx 1)
for c in "tcp4 tcp $N4:5003" "tcp6 tcp [$N6]:5003" "udp4 udp $N4:5003" "udp6 udp [$N6]:5003"; do
	read -r name proto addr <<<"$c"
	run "$name" n1p1 "$proto" "$addr"
	[ "$(hosts_of "$name")" = '["n1p2"]' ] || fail "$name from n1p1: answered by $(conns "$name"), not n1p2 alone"
done
for f in 4 6; do
	a=$N4 && [ $f = 6 ] && a=$N6
	out=$(tunnel_exec n1p1 ping -$f -c 3 -i 0.2 -W 2 "$a" 2>&1) || fail "ping -$f $a: $out"
done
u=$(($(udp_tx 1) - u0)) d=$(($(dev_tx 1) - d0))
[ "$u" = 0 ] && [ "$d" -gt 1000 ] ||
	fail "node 1 sent $u datagrams over UDP and wrote $d packets to its device (want 0 and > 1000)"
ok "from n1p1: TCP and UDP (IPv4, IPv6, 20 connections each) and ping all answered by n1p2 alone; node 1 wrote $d packets back to its device, sent 0 over UDP"

# tunneled NAME POD J HOSTS: 20 TCP connections from POD to near, answered
# by exactly HOSTS (a JSON list), node J sending them over UDP.
tunneled() {
	local name=$1 pod=$2 j=$3 hosts=$4 u0
	u0=$(udp_tx "$j")
	run "$name" "$pod" tcp "$N4:5003"
	[ "$(hosts_of "$name")" = "$hosts" ] || fail "$name from $pod: answered by $(conns "$name"), not $hosts"
	U=$(($(udp_tx "$j") - u0))
	[ "$U" -gt 100 ] || fail "$name from $pod: node $j sent only $U datagrams over UDP"
}

# ---- 3. node 3 has none: all instances -------------------------------------------
tunneled far4 n3p1 3 '["n1p2","n2p2"]'
ok "from n3p1 (no instance on node 3): 20 TCP connections spread $(conns far4), through the tunnel ($U datagrams)"

# ---- 4. the local instance leaves: node 1 falls back to all ----------------------
tunnel_instance_del n1p2 near
tunneled after4 n1p1 1 '["n2p2"]'
ok "n1p2 unregistered: n1p1's new connections go to n2p2 through the tunnel ($U datagrams)"
