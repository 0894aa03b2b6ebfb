#!/usr/bin/env bash
# End to end (issue 5): "Close and reopen a stream on one target; a second
# stream in the same conduit; a new VIP, a new stream and a new flow added
# live; max-targets honoured."
#
# The whole north-south path (tests/netns/cluster.sh: 2 LBs, 2 nodes) with
# 200 long-lived TCP connections to the VIP on stream s1 running from start
# to end, while:
#  1. n1p1 closes s1 (it leaves: exactly its connections are lost, the
#     replacements go to the 3 others) and opens it again (nothing lost,
#     new connections reach it);
#  2. two new pods open stream s2 of the same conduit and a flow takes TCP
#     and UDP to port 6000 there: that traffic reaches s2's two targets and
#     only them, while port 5003 still reaches s1's four and only them;
#  3. a VIP (IPv4 and IPv6), a stream s3 (max-targets 2) and a flow for the
#     new VIPs are added to the configuration directory: every LB queues
#     the VIPs, the agents put them on the pods, two pods open s3 (one of
#     them already in s2) and the new VIPs reach exactly those two;
#  4. s3 is full: a third open is refused (exit 1, "is full") and leaves
#     nothing behind, both in a pod that had nothing open (no link, address,
#     rule or route; no attachment at the proxy; no registration) and in a
#     pod that has s2 open (s2 untouched).
# Meanwhile the 200 connections lose none but those of step 1.
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/netns/cluster.sh"

for b in strait-proxy strait-target strait-lb strait-traffic; do
	[ -x "$BIN/$b" ] || skip "$BIN/$b is not built yet"
done
cluster_init e2est

VIP4B=198.18.100.2
VIP6B=fd00:100::2

cluster_start --lbs 2 --nodes 2 --targets 2
cluster_open_all s1
ok "4 targets (n1p1 n1p2 n2p1 n2p2) ready in s1 on both LBs"

# ---- helpers ------------------------------------------------------------------
st() { cluster_stat long "$1"; }
st_is() { [ "$(st "$1")" = "$2" ]; } # JQ VALUE
received_at_least() { [ "$(st .received)" -ge "$1" ]; }
answered_more() { # N: N more answers on the long run
	local target=$(($(st .received) + $1))
	wait_for 20 "$1 more answers" received_at_least "$target"
}
status() { jq -c "${1:-.}" "$WORK/long.status"; }
per_host() { jq -c '.hosts | map_values(.connections)' "$1"; }

# every_lb JQ: JQ is true of `lb status --json` on every LB.
every_lb() {
	local i out
	for ((i = 1; i <= CLUSTER_L; i++)); do
		out=$(lbctl "$i" --json lb status) || return 1
		jq -e "$1" <<<"$out" >/dev/null || return 1
	done
}

# server_on POD PORT: one more traffic server in the pod, answering with
# the pod's name (cluster.sh starts one on 5003).
listening() { [ -n "$(cluster_exec "$1" ss -Htln "sport = :$2")" ]; }
server_on() {
	ip netns exec "$(cluster_ns "$1")" "$BIN/strait-traffic" server --port "$2" \
		--name "$1" >>"$WORK/server-$1-$2.log" 2>&1 &
	PIDS+=("$!")
	wait_for 10 "a server on port $2 in $1" listening "$1" "$2"
}

# Short runs, several at once: short NAME ADDRESS [ARGS] starts one (40
# connections, 1 s, no reconnection); shorts_wait waits for all of them.
SHORTS=()
short() {
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
# reached NAME HOST...: run NAME had all 40 connections answered, none
# lost, and exactly HOST... answered them.
reached() {
	local name=$1 want
	shift
	want=$(printf '%s\n' "$@" | jq -R . | jq -sc 'sort')
	jq -e --argjson w "$want" '.connections == 40 and .failed_connects == 0 and .lost == 0
		and .received > 0 and (.hosts | keys) == $w' "$WORK/$name.json" >/dev/null ||
		fail "$name ($(jq -r '"\(.protocol) \(.address)"' "$WORK/$name.json")) should reach exactly $*: $(jq -c '{connections, failed_connects, lost, received, hosts: (.hosts | map_values(.connections))}' "$WORK/$name.json")"
	ok "$name: $(jq -r '"\(.protocol) \(.address)"' "$WORK/$name.json") -> $(per_host "$WORK/$name.json")"
}

# ---- long-lived traffic for the whole test ------------------------------------
cluster_traffic long --address "$CLUSTER_VIP4:5003" --protocol tcp \
	--connections 200 --rate 1000 --duration 0 --sources "$(cluster_sources 4)"
long=$CLUSTER_TRAFFIC_PID
wait_for 20 "200 connections answered" st_is .connected 200
answered_more 1000
st_is .lost 0 && st_is .failed_connects 0 ||
	fail "before any change: $(status '{connections, connected, failed_connects, lost}')"
ok "200 long-lived connections over s1: $(per_host "$WORK/long.status")"

# ---- 1. close and reopen s1 on n1p1 -----------------------------------------
on=$(st .hosts.n1p1.lasting)
[ "$on" -gt 0 ] || fail "no connection on n1p1: $(status .hosts)"
cluster_close n1p1 s1 || fail "n1p1 cannot close s1"
wait_for 20 "3 ready targets in s1" cluster_ready s1 3
lo=$(cluster_exec n1p1 ip -o addr show dev lo)
[[ $lo != *"$CLUSTER_VIP4/32"* && $lo != *"$CLUSTER_VIP6/128"* ]] ||
	fail "n1p1 closed its only stream but keeps the VIPs: $lo"
! cluster_exec n1p1 ip link show st0 >/dev/null 2>&1 ||
	fail "n1p1 closed its only stream but keeps its link st0"
wait_for 20 "n1p1's connections to break" st_is .hosts.n1p1.lasting 0
wait_for 20 "the lost connections replaced" st_is .connected 200
answered_more 2000
st_is .hosts.n1p1.lost "$on" && st_is .hosts.n1p1.connections "$on" ||
	fail "n1p1 had $on connections: $(status .hosts)"
for h in n1p2 n2p1 n2p2; do
	st_is ".hosts.$h.lost" 0 || fail "$h lost connections when n1p1 left s1: $(status .hosts)"
done
st_is .lost "$on" && st_is .moved 0 || fail "lost $(st .lost), moved $(st .moved); n1p1 had $on"
ok "n1p1 closed s1: its VIPs and link gone, lost $on = its $on connections, 0 on the 3 others; 200 connected again: $(jq -c '.hosts | map_values(.lasting)' "$WORK/long.status")"

cluster_open n1p1 s1 || fail "n1p1 cannot open s1 again"
wait_for 20 "4 ready targets in s1" cluster_ready s1 4
answered_more 2000
st_is .lost "$on" && st_is .moved 0 && st_is .connected 200 ||
	fail "reopening s1 on n1p1 broke connections: $(status '{lost, moved, connected, hosts}')"
short back "$CLUSTER_VIP4:5003"
shorts_wait
reached back n1p1 n1p2 n2p1 n2p2
ok "n1p1 opened s1 again: no connection lost, new connections reach it"

# ---- 2. a second stream in the same conduit -----------------------------------
cluster_pod_add 1 n1p3
cluster_pod_add 2 n2p3
for p in $(cluster_pods); do server_on "$p" 6000; done
cluster_open n1p3 s2 || fail "n1p3 cannot open s2"
cluster_open n2p3 s2 || fail "n2p3 cannot open s2"
wait_for 20 "2 ready targets in s2" cluster_ready s2 2
cluster_ready s1 4 || fail "s2's targets changed s1"
cluster_config --flow f2 'stream: s2, vips: [@vips], protocols: [tcp, udp], destination-port-ranges: [6000], priority: 2'
wait_for 20 "flow f2 on every LB" every_lb '[.flows[].name] | index("f2")'
short s2-tcp4 "$CLUSTER_VIP4:6000"
short s2-udp6 "[$CLUSTER_VIP6]:6000" --protocol udp
short s1-tcp6 "[$CLUSTER_VIP6]:5003"
short s1-udp4 "$CLUSTER_VIP4:5003" --protocol udp
shorts_wait
reached s2-tcp4 n1p3 n2p3
reached s2-udp6 n1p3 n2p3
reached s1-tcp6 n1p1 n1p2 n2p1 n2p2
reached s1-udp4 n1p1 n1p2 n2p1 n2p2
ok "stream s2 in conduit c1 (flow f2: port 6000): its 2 targets take port 6000 and only it; s1's 4 keep port 5003"

# ---- 3. a new VIP, a new stream and a new flow, live -------------------------
cluster_config --vip "v4b=$VIP4B/32" --vip "v6b=$VIP6B/128" --stream s3:2 \
	--flow f3 'stream: s3, vips: [v4b, v6b], protocols: [tcp, udp], priority: 3'
wait_for 20 "every LB to queue $VIP4B and $VIP6B, with stream s3 and flow f3" every_lb \
	"(.vips | index(\"$VIP4B/32\")) and (.vips | index(\"$VIP6B/128\"))
	 and ([.streams[].name] | index(\"s3\")) and ([.flows[].name] | index(\"f3\"))"
has_vips() { # POD: the new VIPs are on its lo
	local lo
	lo=$(cluster_exec "$1" ip -o addr show dev lo) || return 1
	[[ $lo == *" $VIP4B/32 "* && $lo == *" $VIP6B/128 "* ]]
}
for p in n1p1 n1p2 n2p1 n2p2 n1p3 n2p3; do
	wait_for 20 "the new VIPs on $p" has_vips "$p"
done
ok "VIPs $VIP4B and $VIP6B, stream s3 (max-targets 2), flow f3 added live: queued by both LBs, on every open pod's lo"

cluster_pod_add 2 n2p4
cluster_open n1p3 s3 || fail "n1p3 cannot open s3 (it has s2 open)"
cluster_open n2p4 s3 || fail "n2p4 cannot open s3"
wait_for 20 "2 ready targets in s3" cluster_ready s3 2
short s3-tcp4 "$VIP4B:5003"
short s3-udp4 "$VIP4B:5003" --protocol udp
short s3-tcp6 "[$VIP6B]:5003"
shorts_wait
reached s3-tcp4 n1p3 n2p4
reached s3-udp4 n1p3 n2p4
reached s3-tcp6 n1p3 n2p4
ok "the new VIPs reach stream s3's 2 targets only (n1p3 serves s2 and s3 over one link)"

# ---- 4. max-targets: s3 is full ----------------------------------------------
net_state() { # POD: its links, addresses, rules and routes
	cluster_exec "$1" sh -c 'ip -o link; ip -o addr; ip rule; ip -6 rule;
		ip route show table all; ip -6 route show table all'
}
regs() { # STREAM: its registrations in NSP, "pod=identifier" sorted
	nspctl --json nsp list | jq -r --arg s "$1" \
		'[.targets[] | select(.type == "target" and .stream == $s) | "\(.context.pod)=\(.identifier)"] | sort | join(" ")'
}
proxy_pods() { proxyctl "$1" --json proxy status | jq -r '[.pods[].name] | sort | join(" ")'; }
target_status() { "$BIN/strait-target" status --json --control "unix:$WORK/$1.sock"; }

cluster_pod_add 1 n1p4
before_net=$(net_state n1p4)
before_pods=$(proxy_pods 1)
before_regs=$(regs s3)
[ "$(wc -w <<<"$before_regs")" = 2 ] || fail "s3 registrations: $before_regs"
rc=0
out=$(cluster_open n1p4 s3 2>&1) || rc=$?
[ $rc = 1 ] || fail "a third open of s3 (max-targets 2) should exit 1: exit $rc: $out"
[[ $out == *"stream trench-a/c1/s3 is full (max-targets 2)"* ]] ||
	fail "the refusal should say the stream is full: $out"
[ "$(net_state n1p4)" = "$before_net" ] ||
	fail "the refused open left something in n1p4: $(diff <(echo "$before_net") <(net_state n1p4))"
[ "$(proxy_pods 1)" = "$before_pods" ] || fail "the refused open left an attachment at n1's proxy: $(proxy_pods 1)"
[ "$(regs s3)" = "$before_regs" ] || fail "s3 registrations changed: $before_regs -> $(regs s3)"
target_status n1p4 | jq -e '(.conduits | length) == 0 and (.streams | length) == 0' >/dev/null ||
	fail "n1p4's agent keeps state: $(target_status n1p4 | jq -c .)"
cluster_ready s3 2 || fail "s3 should still have its 2 targets"
ok "a third open of s3 (max 2) from a fresh pod: exit 1, \"${out##*: }\"; no link, address, rule, route, attachment or registration left"

before_n2p3=$(target_status n2p3 | jq -c '[.conduits[] | {attached, ips, vips}], [.streams[] | {stream: .stream.stream, identifier, state}]')
rc=0
out=$(cluster_open n2p3 s3 2>&1) || rc=$?
[ $rc = 1 ] && [[ $out == *"s3 is full (max-targets 2)"* ]] ||
	fail "n2p3 opening the full s3: exit $rc: $out"
after_n2p3=$(target_status n2p3 | jq -c '[.conduits[] | {attached, ips, vips}], [.streams[] | {stream: .stream.stream, identifier, state}]')
[ "$after_n2p3" = "$before_n2p3" ] || fail "n2p3's state changed: $before_n2p3 -> $after_n2p3"
[ "$(regs s3)" = "$before_regs" ] || fail "s3 registrations changed: $before_regs -> $(regs s3)"
cluster_ready s2 2 || fail "s2 lost a target"
short s2-after "$CLUSTER_VIP4:6000"
shorts_wait
reached s2-after n1p3 n2p3
ok "the same refusal in n2p3 (s2 open): s2 untouched and still served; s3 registrations still: $(regs s3)"

# ---- the long run through all of it ---------------------------------------------
answered_more 1000
kill -TERM "$long"
wait "$long" || fail "the long client failed: $(tail -n 3 "$WORK/long.log")"
jq -e --argjson n "$on" '.lost == $n and .moved == 0 and .failed_connects == 0
	and .connected == 200 and .hosts.n1p1.lost == $n and ([.hosts[] | .lost] | add) == $n' \
	"$WORK/long.json" >/dev/null ||
	fail "the long run: $(jq -c '{connections, connected, failed_connects, lost, moved, hosts}' "$WORK/long.json")"
ok "200 connections to $CLUSTER_VIP4:5003 through all of it: lost only n1p1's $on when it closed s1; $(jq -c '{connections, connected, lost, moved, sent, received}' "$WORK/long.json")"
