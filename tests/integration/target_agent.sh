#!/usr/bin/env bash
# strait-target end to end: real NSP, IPAM and strait-proxy, agents in
# pod namespaces.
#
#   root ns:   strait-nsp  unix:$WORK/nsp.sock   (config $WORK/cfg)
#              strait-ipam unix:$WORK/ipam.sock
#   $P-n1:     strait-proxy trench-a/c1, bridge stb-c1,
#              local unix:$WORK/proxy-c1.sock
#   $P-n2:     for a while, strait-proxy trench-a/c2 (egress table 201,
#              unix:$WORK/proxy-c2.sock)
#                 |  veth (made by the proxy)  |
#   $P-p1:     st0 + lo (VIPs)      $P-p2: st0 (c1), st1 (c2) + lo (VIPs)
#              strait-target daemon --pod p1 / p2
#              (control unix:$WORK/p1.sock, unix:$WORK/p2.sock)
#
# Streams: s1 (max-targets 1), s2 (max-targets 10) in c1, t1 in c2.
# VIPs 198.18.100.1/32 and fd00:100::1/128 (198.18.100.2 added live).
# Nothing is created in the root namespace but the Unix sockets.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
command -v jq >/dev/null || skip "jq is not installed"
for b in strait-target strait-proxy strait-nsp strait-ipam straitctl; do
  [ -x "$BIN/$b" ] || skip "$BIN/$b is not built"
done
P=tA$$
P=${P:0:10}
PODS=(p1 p2 p3)

destroy() {
  local ns
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in n1 n2 "${PODS[@]}" x; do ip netns del "$P-$ns" 2>/dev/null || true; done
}
trap 'rc=$?; set +e; destroy; (exit $rc); cleanup' EXIT
ip netns add "$P-x" 2>/dev/null || skip "cannot create network namespaces"
ip netns del "$P-x"

nspctl() { "$BIN/straitctl" --nsp "unix:$WORK/nsp.sock" "$@"; }
proxyctl() { "$BIN/straitctl" --proxy "unix:$WORK/proxy-c1.sock" "$@"; }
# tctl POD COMMAND ARGS...: the strait-target command, run in the pod.
tctl() {
  local pod=$1 cmd=$2
  shift 2
  ip netns exec "$P-$pod" "$BIN/strait-target" "$cmd" --control "unix:$WORK/$pod.sock" "$@"
}
# topen/tclose POD CONDUIT STREAM: sets OUT, ERR and RC.
tstream() {
  local verb=$1 pod=$2 c=$3 s=$4
  RC=0
  OUT=$(tctl "$pod" "$verb" --trench trench-a --conduit "$c" --stream "$s" 2>"$WORK/err") || RC=$?
  ERR=$(cat "$WORK/err")
}
topen() { tstream open "$@"; }
tclose() { tstream close "$@"; }

# ---- configuration ----

CFG=$WORK/cfg
mkdir -p "$CFG"
echo "name: trench-a" >"$CFG/trench"
printf 'items:\n  - name: c1\n    trench: trench-a\n  - name: c2\n    trench: trench-a\n' >"$CFG/conduits"
{
  echo "items:"
  for s in s1:c1:1 s2:c1:10 t1:c2:10; do
    IFS=: read -r n c m <<<"$s"
    printf '  - name: %s\n    trench: trench-a\n    conduit: %s\n    max-targets: %s\n' "$n" "$c" "$m"
  done
} >"$CFG/streams"
write_vips() { # ADDRESS...
  local i=0 a
  { echo "items:"; for a in "$@"; do
      i=$((i + 1))
      printf '  - name: v%d\n    trench: trench-a\n    address: %s\n' "$i" "$a"
    done; } >"$CFG/.vips.new"
  mv "$CFG/.vips.new" "$CFG/vips"
}
write_vips 198.18.100.1/32 fd00:100::1/128

# ---- the command line alone ----

rc=0; "$BIN/strait-target" >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "no command: exit $rc, want 2"
rc=0; "$BIN/strait-target" open --trench a --conduit b 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "open without --stream: exit $rc, want 2"
rc=0; "$BIN/strait-target" daemon --nsp x 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "daemon without --pod: exit $rc, want 2"
rc=0; "$BIN/strait-target" status --control "unix:$WORK/none.sock" 2>/dev/null || rc=$?
[ $rc -eq 3 ] || fail "status of no agent: exit $rc, want 3"
"$BIN/strait-target" open --help | grep -q -- "--stream" || fail "open --help"
ok "usage errors exit 2, an absent agent 3"

# ---- start ----

"$BIN/strait-nsp" -l "unix:$WORK/nsp.sock" -m off -s "$WORK/nsp.db" -c "$CFG" >>"$WORK/nsp.log" 2>&1 &
NSP_PID=$!; PIDS+=("$NSP_PID")
wait_for 10 "strait-nsp" nspctl nsp list
"$BIN/strait-ipam" -l "unix:$WORK/ipam.sock" -m off -s "$WORK/ipam.db" \
  --ipv4 169.255.0.0/16:20:24 --ipv6 fd00:200::/48:56:64 >>"$WORK/ipam.log" 2>&1 &
PIDS+=("$!")
wait_for 10 "strait-ipam" "$BIN/straitctl" --ipam "unix:$WORK/ipam.sock" ipam tree

# start_proxy [CONDUIT NODE]: the proxy of c1 in n1 (sets PROXY_PID), or
# of another conduit (sets PROXY2_PID).
start_proxy() {
  local c=${1:-c1} node=${2:-n1} table=200
  [ "$c" = c1 ] || table=201
  ip netns exec "$P-$node" "$BIN/strait-proxy" --trench trench-a --conduit "$c" --node "$node" \
    --nsp "unix:$WORK/nsp.sock" --ipam "unix:$WORK/ipam.sock" --table "$table" \
    --local "unix:$WORK/proxy-$c.sock" --store "$WORK/proxy-$c.db" -m off \
    >>"$WORK/proxy-$c.log" 2>&1 &
  if [ "$c" = c1 ]; then PROXY_PID=$!; else PROXY2_PID=$!; fi
  PIDS+=("$!")
  wait_for 10 "strait-proxy of $c" "$BIN/straitctl" --proxy "unix:$WORK/proxy-$c.sock" proxy status
}
declare -A AGENT=()
start_agent() { # POD [NSP-ADDRESS]
  local pod=$1 nsp=${2:-unix:$WORK/nsp.sock}
  ip netns exec "$P-$pod" "$BIN/strait-target" daemon --pod "$pod" --nsp "$nsp" \
    --proxy-dir "$WORK" --control "unix:$WORK/$pod.sock" >>"$WORK/agent-$pod.log" 2>&1 &
  AGENT[$pod]=$!; PIDS+=("$!")
  wait_for 10 "strait-target $pod" tctl "$pod" status
}
# stop_agent POD: SIGTERM; the agent must be gone within 3 s with exit 0.
stop_agent() {
  local pod=$1 pid=${AGENT[$1]} rc=0 end=$((SECONDS + 3))
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    [ $SECONDS -lt $end ] || fail "agent $pod still runs 3 s after SIGTERM"
    sleep 0.05
  done
  wait "$pid" || rc=$?
  [ $rc -eq 0 ] || fail "agent $pod exited with $rc after SIGTERM, want 0"
}

ip netns add "$P-n1"
ip -n "$P-n1" link set lo up
for pod in p1 p2; do ip netns add "$P-$pod"; done
start_proxy
start_agent p1
start_agent p2

# ---- what a pod holds ----

lo_addrs() { local out; out=$(ip -n "$P-$1" -o addr show dev lo); awk '{print $4}' <<<"$out"; }
lo_has() { local out; out=$(lo_addrs "$1"); grep -qx -- "$2" <<<"$out"; }
rules() { ip -n "$P-$1" rule; ip -n "$P-$1" -6 rule; }
has_rule() { # POD VIP TABLE
  local out; out=$(rules "$1")
  grep -qE "^100:[[:space:]]+from $2 lookup $3\b" <<<"$out"
}
links() { local out; out=$(ip -n "$P-$1" -o link show); grep -v ': lo:' <<<"$out" || true; }
status_json() { tctl "$1" status --json; }
# The pod holds nothing of the agent's: no rule or route of 4000-4063,
# no VIP on lo, and (unless 'link' is given) no link but lo.
pod_clean() { # POD [link]
  local out
  out=$(rules "$1"); grep -q 'lookup 40[0-6][0-9]' <<<"$out" && return 1
  out=$(ip -n "$P-$1" route show table all; ip -n "$P-$1" -6 route show table all)
  grep -q 'table 40[0-6][0-9]' <<<"$out" && return 1
  out=$(lo_addrs "$1"); grep -qv -e '^127.0.0.1/8$' -e '^::1/128$' <<<"$out" && return 1
  [ "${2:-}" = link ] || [ -z "$(links "$1")" ]
}
# The identifiers NSP holds for POD in STREAM, one a line.
nsp_ids() { # STREAM POD
  local out
  out=$(nspctl nsp list --stream "$1" --json)
  jq -r --arg p "$2" '.targets[] | select(.context.pod == $p) | .identifier' <<<"$out"
}
proxy_pods() { local out; out=$(proxyctl proxy status --json); jq -r '.pods[].name' <<<"$out" | sort | xargs; }

# ---- open ----

topen p1 c1 s1
[ $RC -eq 0 ] || fail "p1 open s1: exit $RC: $ERR"
grep -q '^opened trench-a/c1/s1: identifier 1, ips 169.255.' <<<"$OUT" || fail "p1 open s1 printed: $OUT"
lo_has p1 198.18.100.1/32 || fail "VIP 198.18.100.1 not on p1's lo"
lo_has p1 fd00:100::1/128 || fail "VIP fd00:100::1 not on p1's lo"
has_rule p1 198.18.100.1 4000 || fail "no 'from 198.18.100.1 lookup 4000' rule: $(rules p1)"
has_rule p1 fd00:100::1 4000 || fail "no 'from fd00:100::1 lookup 4000' rule: $(rules p1)"
S=$(status_json p1)
GW4=$(jq -r '.conduits[0].gateways[0]' <<<"$S")
GW6=$(jq -r '.conduits[0].gateways[1]' <<<"$S")
IP4=$(jq -r '.conduits[0].ips[0]' <<<"$S")
[ "$(jq -r '.conduits[0].attached' <<<"$S")" = true ] || fail "p1 not attached: $S"
[ "$(jq -r '.streams[0].state + " " + (.streams[0].identifier|tostring)' <<<"$S")" = "open 1" ] ||
  fail "p1's s1 is not open with identifier 1: $S"
R4=$(ip -n "$P-p1" route show table 4000)
R6=$(ip -n "$P-p1" -6 route show table 4000)
grep -q "^default via $GW4 dev st0" <<<"$R4" || fail "table 4000 (IPv4): $R4"
grep -q "^default via $GW6 dev st0" <<<"$R6" || fail "table 4000 (IPv6): $R6"
A=$(ip -n "$P-p1" -o addr show dev st0)
grep -q "inet $IP4 " <<<"$A" || fail "st0 lacks $IP4: $A"
[ "$(nsp_ids s1 p1)" = 1 ] || fail "NSP does not hold p1 in s1 with identifier 1: $(nspctl nsp list)"
REG=$(nspctl nsp list --stream s1 --json)
jq -e --arg a "$IP4" '.targets[] | select(.context.pod == "p1") | .ips | index($a)' <<<"$REG" >/dev/null ||
  fail "p1's registration lacks $IP4: $REG"
ip netns exec "$P-p1" ping -c 1 -W 2 "$GW4" >/dev/null || fail "p1 cannot ping its gateway $GW4"
ip netns exec "$P-p1" ping -6 -c 1 -W 2 "$GW6" >/dev/null || fail "p1 cannot ping its gateway $GW6"
ok "open: link, VIPs on lo, source rules, table 4000, NSP registration, gateway reachable"

topen p1 c1 s1
[ $RC -eq 0 ] && grep -q 'identifier 1,' <<<"$OUT" || fail "p1 open s1 again: exit $RC: $OUT $ERR"
[ "$(nsp_ids s1 p1 | wc -l)" -eq 1 ] || fail "a second open registered twice"
ok "opening an open stream answers the same"

# ---- refusals leave nothing behind ----

topen p2 c1 s1
[ $RC -eq 1 ] || fail "p2 open s1 (full): exit $RC, want 1: $OUT $ERR"
grep -q 'stream trench-a/c1/s1 is full (max-targets 1)' <<<"$ERR" || fail "full stream message: $ERR"
pod_clean p2 || fail "p2 holds something after a refused open: $(links p2) $(rules p2)"
[ "$(proxy_pods)" = p1 ] || fail "the proxy holds $(proxy_pods), want p1 only"
ok "a full stream: exit 1, the reason named, nothing left (link detached)"

topen p2 c1 s9
[ $RC -eq 1 ] || fail "p2 open s9 (unknown): exit $RC, want 1: $ERR"
grep -q 's9' <<<"$ERR" || fail "unknown stream message: $ERR"
pod_clean p2 || fail "p2 holds something after an unknown stream"
ok "an unknown stream: exit 1, nothing left"

topen p2 c2 t1
[ $RC -eq 3 ] || fail "p2 open c2/t1 (no proxy): exit $RC, want 3: $ERR"
grep -q "proxy.*$WORK/proxy-c2.sock.*unreachable" <<<"$ERR" || fail "no-proxy message: $ERR"
pod_clean p2 || fail "p2 holds something after a proxy-less open"
[ "$(jq '.conduits | length' <<<"$(status_json p2)")" -eq 0 ] || fail "p2 still shows a conduit"
ok "a conduit without a proxy: exit 3, the socket named, nothing left"

# ---- two streams on one link ----

topen p2 c1 s2
[ $RC -eq 0 ] && grep -q 'identifier 1,' <<<"$OUT" || fail "p2 open s2: exit $RC: $OUT $ERR"
topen p1 c1 s2
[ $RC -eq 0 ] && grep -q 'identifier 2,' <<<"$OUT" || fail "p1 open s2: exit $RC: $OUT $ERR"
[ "$(links p1 | wc -l)" -eq 1 ] || fail "p1 has $(links p1 | wc -l) links for one conduit"
[ "$(proxy_pods)" = "p1 p2" ] || fail "the proxy holds $(proxy_pods)"
ok "a second stream shares the conduit's link; identifiers are the lowest free"

# ---- a second conduit: its own link, table and rules ----

# c2's proxy runs in a namespace of its own: two proxies in one node
# namespace both name a pod's bridge port stv<hash of the pod>, so the
# second replaces the first one's link (a strait-proxy issue, reported).
ip netns add "$P-n2"
ip -n "$P-n2" link set lo up
start_proxy c2 n2
topen p2 c2 t1
[ $RC -eq 0 ] && grep -q 'identifier 1,' <<<"$OUT" || fail "p2 open c2/t1: exit $RC: $OUT $ERR"
L=$(links p2)
grep -q ': st0@' <<<"$L" && grep -q ': st1@' <<<"$L" || fail "p2's links for two conduits: $L"
has_rule p2 198.18.100.1 4000 && has_rule p2 198.18.100.1 4001 || fail "p2's rules for two conduits: $(rules p2)"
S=$(status_json p2)
GW4C2=$(jq -r '.conduits[] | select(.conduit == "c2") | .gateways[0]' <<<"$S")
R4=$(ip -n "$P-p2" route show table 4001)
grep -q "^default via $GW4C2 dev st1" <<<"$R4" || fail "table 4001: $R4 (gateway $GW4C2)"
tclose p2 c2 t1
[ $RC -eq 0 ] || fail "p2 close c2/t1: exit $RC: $ERR"
L=$(links p2)
grep -q ': st1@' <<<"$L" && fail "st1 stays after c2's last stream closed: $L"
has_rule p2 198.18.100.1 4001 && fail "c2's rule stays: $(rules p2)"
has_rule p2 198.18.100.1 4000 || fail "closing c2 took c1's rule"
lo_has p2 198.18.100.1/32 || fail "closing c2 took a VIP that c1 still holds"
kill -TERM "$PROXY2_PID"; wait "$PROXY2_PID" 2>/dev/null || true
ok "a second conduit: link st1, table 4001, its own rules; closing it leaves c1's VIPs and rules"

# ---- VIPs follow the configuration ----

write_vips 198.18.100.1/32 fd00:100::1/128 198.18.100.2/32
wait_for 10 "198.18.100.2 on p1's and p2's lo" eval 'lo_has p1 198.18.100.2/32 && lo_has p2 198.18.100.2/32'
has_rule p1 198.18.100.2 4000 || fail "no rule for the new VIP"
write_vips 198.18.100.2/32 fd00:100::1/128
wait_for 10 "198.18.100.1 gone from p1's lo" eval '! lo_has p1 198.18.100.1/32'
has_rule p1 198.18.100.1 4000 && fail "the removed VIP's rule stays"
write_vips 198.18.100.1/32 fd00:100::1/128
wait_for 10 "198.18.100.1 back, .2 gone" eval 'lo_has p1 198.18.100.1/32 && ! lo_has p1 198.18.100.2/32'
ok "VIPs added and removed live (lo and rules)"

# ---- watch and close ----

ip netns exec "$P-p1" "$BIN/strait-target" watch --json --control "unix:$WORK/p1.sock" >"$WORK/watch.out" 2>>"$WORK/watch.log" &
WATCH_PID=$!; PIDS+=("$WATCH_PID")
wait_for 5 "the watch's first status" test -s "$WORK/watch.out"
tclose p1 c1 s2
[ $RC -eq 0 ] && [ "$OUT" = "closed trench-a/c1/s2" ] || fail "p1 close s2: exit $RC: $OUT $ERR"
[ -z "$(nsp_ids s2 p1)" ] || fail "NSP still holds p1 in s2"
lo_has p1 198.18.100.1/32 || fail "closing one of two streams took the VIPs"
last_streams() { local l; l=$(tail -n 1 "$WORK/watch.out"); [ "$(jq '.streams | length' <<<"$l")" -eq 1 ]; }
wait_for 5 "the watch to show one stream" last_streams
kill -INT "$WATCH_PID"
rc=0; wait "$WATCH_PID" || rc=$?
[ $rc -eq 0 ] || fail "watch ended with $rc on SIGINT"
tclose p1 c1 s2
[ $RC -eq 0 ] && [ "$OUT" = "trench-a/c1/s2 was not open" ] || fail "closing a closed stream: $RC $OUT $ERR"
ok "close of one stream keeps the link; watch follows; closing twice is harmless"

# ---- kill -9 and a new agent ----

kill -9 "${AGENT[p1]}"; wait "${AGENT[p1]}" 2>/dev/null || true
lo_has p1 198.18.100.1/32 || fail "a killed agent's VIPs vanished by themselves?"
start_agent p1
pod_clean p1 link || fail "the new agent did not clean up: $(rules p1) $(lo_addrs p1)"
grep -q "removed what an earlier agent left: 2 rule(s), 2 VIP(s) on lo, 1 table(s)" "$WORK/agent-p1.log" ||
  fail "no cleanup line in the new agent's log"
topen p1 c1 s1
[ $RC -eq 0 ] && grep -q 'identifier 1,' <<<"$OUT" || fail "the new agent's open s1: exit $RC: $OUT $ERR"
[ "$(nsp_ids s1 p1)" = 1 ] || fail "NSP holds p1 in s1 as: $(nsp_ids s1 p1 | xargs)"
[ "$(links p1 | wc -l)" -eq 1 ] || fail "p1 has $(links p1 | wc -l) links after the restart"
[ "$(proxy_pods)" = "p1 p2" ] || fail "the proxy holds $(proxy_pods) after the restart"
[ "$(rules p1 | grep -c 'lookup 4000')" -eq 2 ] || fail "rules after the restart: $(rules p1)"
ok "kill -9, new agent: leftovers removed, same link, identifier and registration, no duplicate"

# ---- the proxy restarts ----

kill -9 "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
start_proxy
wait_for 10 "p1 to attach again" grep -q 'attached again' "$WORK/agent-p1.log"
wait_for 5 "p2 to attach again" grep -q 'attached again' "$WORK/agent-p2.log"
R4=$(ip -n "$P-p1" route show table 4000)
grep -q "^default via $GW4 dev st0" <<<"$R4" || fail "p1's route after the proxy restart: $R4"
[ "$(jq -r '.conduits[0].attached' <<<"$(status_json p1)")" = true ] || fail "p1 not attached after the proxy restart"
ip netns exec "$P-p1" ping -c 1 -W 2 "$GW4" >/dev/null || fail "p1 cannot ping $GW4 after the proxy restart"
ok "the proxy restarts: the agents attach again, routes in place"

# ---- NSP forgets, and another target takes the identifier ----

kill -STOP "${AGENT[p1]}"
kill -9 "$NSP_PID"; wait "$NSP_PID" 2>/dev/null || true
rm -f "$WORK"/nsp.db*
"$BIN/strait-nsp" -l "unix:$WORK/nsp.sock" -m off -s "$WORK/nsp.db" -c "$CFG" >>"$WORK/nsp.log" 2>&1 &
NSP_PID=$!; PIDS+=("$NSP_PID")
wait_for 10 "strait-nsp again" nspctl nsp list
nspctl nsp register --trench trench-a --conduit c1 --stream s1 --ip 198.18.5.5/24 --identifier 1 >/dev/null ||
  fail "cannot register the intruder"
kill -CONT "${AGENT[p1]}"
wait_for 10 "p1 to see its identifier taken" grep -q 'identifier 1 was given to another target' "$WORK/agent-p1.log"
state_of() { local s; s=$(status_json "$1"); jq -r --arg n "$2" '.streams[] | select(.stream.stream == $n) | .state + " " + (.identifier|tostring)' <<<"$s"; }
wait_for 10 "p1's s1 re-registering (the stream is full)" eval '[ "$(state_of p1 s1 | cut -d" " -f1)" = re-registering ]'
nspctl nsp unregister --trench trench-a --conduit c1 --stream s1 --ip 198.18.5.5/24 >/dev/null
wait_for 10 "p1's s1 open again" eval '[ "$(state_of p1 s1)" = "open 1" ]'
[ "$(nsp_ids s1 p1)" = 1 ] || fail "NSP holds p1 in s1 as: $(nsp_ids s1 p1 | xargs)"
wait_for 5 "p2 registered again in s2" eval '[ "$(nsp_ids s2 p2)" = 1 ]'
ok "NSP restarted empty: the agents register again; a taken identifier is asked afresh"

# ---- SIGTERM ----

stop_agent p1
pod_clean p1 || fail "p1 holds something after SIGTERM: $(links p1) $(rules p1) $(lo_addrs p1)"
[ -z "$(nsp_ids s1 p1)" ] || fail "NSP still holds p1 after SIGTERM"
[ "$(proxy_pods)" = p2 ] || fail "the proxy holds $(proxy_pods) after p1 stopped"
ok "SIGTERM: unregistered, VIPs, rules and routes removed, link detached, exit 0"

# ---- NSP unreachable ----

ip netns add "$P-p3"
start_agent p3 "unix:$WORK/no-nsp.sock"
topen p3 c1 s2
[ $RC -eq 3 ] || fail "p3 open (no NSP): exit $RC, want 3: $ERR"
grep -q 'NSP at unix:.*no-nsp.sock is unreachable' <<<"$ERR" || fail "no-NSP message: $ERR"
pod_clean p3 || fail "p3 holds something after a refused open"
[ "$(proxy_pods)" = p2 ] || fail "the proxy holds $(proxy_pods) after p3's refused open"
stop_agent p3
ok "NSP unreachable: exit 3, NSP named, nothing left"

stop_agent p2
pod_clean p2 || fail "p2 holds something after SIGTERM"
[ -z "$(proxy_pods)" ] || fail "the proxy still holds $(proxy_pods)"
[ -z "$(nspctl nsp list --type target --json | jq -r '.targets[].ips[]')" ] || fail "NSP still holds targets"
ok "every pod clean, the proxy and NSP hold nothing of them"
