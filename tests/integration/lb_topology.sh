#!/usr/bin/env bash
# The LB topology harness (tests/netns/topo.sh) itself: a client with extra
# source addresses, an lb and 4 targets in namespaces, both families;
# ICMP and TCP from the client reach the VIP on the target the lb's kernel
# routes it to (and only there); destroying leaves no namespace, veth or
# process behind; so does a script killed with SIGTERM after creating one
# (with a process running inside), and one killed while still creating.
# Needs root and network namespaces (skips otherwise) and iperf3.
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/netns/topo.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
command -v iperf3 >/dev/null || skip "iperf3 is not installed"

P=tt$$       # this test's topology
PA=tta$$     # the sub-shell killed after creating
PB=ttb$$     # the sub-shell killed while creating
on_exit() {
	topo_destroy "$P"
	topo_destroy "$PA"
	topo_destroy "$PB"
}
trap 'rc=$?; set +e; on_exit; (exit $rc); cleanup' EXIT

ip netns add "$P-lb" 2>/dev/null || skip "cannot create network namespaces"
ip netns del "$P-lb"

# Nothing of PREFIX left: no namespace, and no link in the root namespace.
assert_gone() {
	local p=$1 names links
	names=$(topo_names "$p")
	[ -z "$names" ] || fail "namespaces of $p remain: $names"
	links=$(ip -o link show)
	! grep -q "^[0-9]*: ${p}[a-z0-9]*[@:]" <<<"$links" ||
		fail "links of $p remain in the root namespace"
}

# A process that has ended (gone, or a zombie waiting for its parent).
ended() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
	[ "$st" = Z ]
}

listening() { # NAME PORT
	local out
	out=$(topo_exec "$1" ss -Hltn "sport = :$2")
	[ -n "$out" ]
}

# ---- create ------------------------------------------------------------
topo_create "$P" 4 --sources 4 --v6
names=$(topo_names "$P")
[ "$(wc -l <<<"$names")" -eq 6 ] || fail "expected 6 namespaces, got: $names"
if topo_create "$P" 1 2>/dev/null; then fail "a second topology with prefix $P was created"; fi
TOPO_PREFIX=$P TOPO_N=4 TOPO_V6=1
ok "created $P: client, lb, t1..t4, IPv4 and IPv6, 4 extra sources"

# The VIP is on every target; without a route the lb cannot forward it.
topo_exec t3 ip -o addr show dev lo >"$WORK/t3-lo.txt"
grep -q "inet 198.18.100.1/32" "$WORK/t3-lo.txt" || fail "no IPv4 VIP on t3"
grep -q "inet6 fd00:100::1/128" "$WORK/t3-lo.txt" || fail "no IPv6 VIP on t3"

topo_route_vip_to 1

# ---- ICMP ----------------------------------------------------------------
if command -v ping >/dev/null; then
	for src in "$TOPO_CLIENT4" "$(topo_source_addr 3)"; do
		wait_for 5 "ping $TOPO_VIP4 from $src" \
			topo_exec client ping -c 1 -W 1 -I "$src" "$TOPO_VIP4"
	done
	for src in "$TOPO_CLIENT6" "$(topo_source_addr 3 6)"; do
		wait_for 5 "ping $TOPO_VIP6 from $src" \
			topo_exec client ping -c 1 -W 1 -I "$src" "$TOPO_VIP6"
	done
	ok "ping to the VIP through the lb, IPv4 and IPv6, from two sources each"
else
	echo "note: ping is not installed (iputils-ping): ICMP not checked"
fi

# ---- TCP -----------------------------------------------------------------
port=$BASE_PORT
srv=()
for i in 1 2 3 4; do
	topo_bg "t$i" iperf3 -s -p "$port" --logfile "$WORK/t$i.log"
	srv+=("$TOPO_BG_PID")
	PIDS+=("$TOPO_BG_PID")
done
for i in 1 2 3 4; do wait_for 10 "iperf3 on t$i" listening "t$i" "$port"; done

# Tests each target's iperf3 server has finished, by its log; seen[] holds
# the counts expected so far. expect_served_by T: T served one more, and
# every other target none more.
declare -A seen=([1]=0 [2]=0 [3]=0 [4]=0)
tests_on() {
	local n
	n=$(grep -c 'receiver$' "$WORK/t$1.log" 2>/dev/null) || true
	echo "${n:-0}"
}
expect_served_by() {
	local t=$1 i
	seen[$t]=$((seen[$t] + 1))
	wait_for 5 "t$t to report its test" test "$(tests_on "$t")" -ge "${seen[$t]}"
	for i in 1 2 3 4; do
		[ "$(tests_on "$i")" -eq "${seen[$i]}" ] ||
			fail "t$i served $(tests_on "$i") tests, expected ${seen[$i]}"
	done
}
tcp_to() { # DST SRC: a one-second iperf3 test; fails unless data arrived
	local out bytes
	out=$(topo_exec client iperf3 -c "$1" -B "$2" -p "$port" -t 1 -J) ||
		fail "iperf3 from $2 to $1: $(jq -r '.error // empty' <<<"$out")"
	bytes=$(jq '.end.sum_received.bytes' <<<"$out")
	[ "$bytes" -gt 0 ] || fail "iperf3 from $2 to $1 received nothing"
	echo "$bytes"
}

b=$(tcp_to "$TOPO_VIP4" "$(topo_source_addr 1)")
expect_served_by 1
ok "TCP to $TOPO_VIP4 from $(topo_source_addr 1): $b bytes, served by t1 only"
b=$(tcp_to "$TOPO_VIP6" "$(topo_source_addr 1 6)")
expect_served_by 1
ok "TCP to $TOPO_VIP6 from $(topo_source_addr 1 6): $b bytes, served by t1 only"

topo_route_vip_to 3
b=$(tcp_to "$TOPO_VIP4" "$TOPO_CLIENT4")
expect_served_by 3
b=$(tcp_to "$TOPO_VIP6" "$TOPO_CLIENT6")
expect_served_by 3
ok "after topo_route_vip_to 3: TCP in both families served by t3 only"

# The targets' own addresses are reachable from the client too.
b=$(tcp_to "$(topo_target_addr 2)" "$TOPO_CLIENT4")
expect_served_by 2
b=$(tcp_to "$(topo_target_addr 4 6)" "$TOPO_CLIENT6")
expect_served_by 4
ok "TCP to t2's and t4's own addresses"

# ---- destroy -------------------------------------------------------------
topo_destroy "$P"
assert_gone "$P"
for p in "${srv[@]}"; do
	wait_for 5 "iperf3 $p to end" ended "$p"
done
ok "destroyed: no namespace, no link, no process of $P"

# ---- a script killed after creating --------------------------------------
# The library's contract: a caller's EXIT trap calls topo_destroy.
# shellcheck disable=SC2016  # expanded by the sub-shell
sub='set -euo pipefail
source "$TOPO_LIB"
trap "topo_destroy $PFX" EXIT
trap "exit 143" TERM
topo_create "$PFX" "$NT" --v6
touch "$DIR/$PFX.created"
topo_bg t1 sleep 300
echo "$TOPO_BG_PID" >"$DIR/$PFX.pid"
wait "$TOPO_BG_PID"'

TOPO_LIB=$TOP/tests/netns/topo.sh PFX=$PA NT=2 DIR=$WORK bash -c "$sub" &
spid=$!
PIDS+=("$spid")
wait_for 20 "the sub-shell to create $PA" test -s "$WORK/$PA.pid"
inner=$(cat "$WORK/$PA.pid")
[ -n "$(topo_names "$PA")" ] || fail "no namespaces for $PA"
kill -TERM "$spid"
wait_for 10 "the sub-shell to exit after SIGTERM" ended "$spid"
rc=0; wait "$spid" || rc=$?
[ $rc -eq 143 ] || fail "sub-shell exited with $rc, expected 143"
assert_gone "$PA"
wait_for 5 "the process inside t1 to end" ended "$inner"
ok "SIGTERM after creation: the trap removed $PA and the process inside it"

# ---- a script killed while creating --------------------------------------
# Its own session, so the signal reaches the whole group (the shell and
# the ip commands it is running), as a terminal's or a runner's would.
TOPO_LIB=$TOP/tests/netns/topo.sh PFX=$PB NT=40 DIR=$WORK setsid bash -c "$sub" &
spid=$!
PIDS+=("$spid")
lb_has_link() {
	local out
	out=$(ip -n "$PB-lb" -o link show type veth 2>/dev/null) || return 1
	[[ $out == *"${PB}l1@"* ]]
}
wait_for 20 "the sub-shell to start building $PB" lb_has_link
kill -TERM -- "-$spid"
wait_for 10 "the sub-shell to exit after SIGTERM" ended "$spid"
rc=0; wait "$spid" || rc=$?
[ $rc -ne 0 ] || fail "sub-shell killed while creating exited with 0"
if [ -e "$WORK/$PB.created" ]; then
	echo "note: creation had finished before the signal arrived"
fi
assert_gone "$PB"
ok "SIGTERM while creating (exit $rc): the trap removed everything of $PB"
