# pktcraft, the LB tests' packet crafter, checked against a plain kernel:
# its fragments (IPv4 and IPv6, first fragment last and shuffled) reassemble
# into datagrams that udp-sink finds intact and answers, and its ICMP errors
# (fragmentation needed, packet too big) arrive with valid checksums.
#
#   ns A (sender)                         ns B (receiver)
#   a0 198.18.7.1/24 ------------------- b0 198.18.7.2/24
#      fd00:7::1/64 nodad                    fd00:7::2/64 nodad
#   pktcraft frags, icmp-error            pktcraft udp-sink on $PORT
#                                         iptables/ip6tables counting ICMP
#
# Both namespaces are this test's own; the root namespace is not touched.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces and raw sockets"
for c in iptables ip6tables nstat ss; do
  command -v "$c" >/dev/null || skip "$c is not installed"
done
[ -x "$BIN/pktcraft" ] || fail "$BIN/pktcraft is not built"

A=pkh$$-a B=pkh$$-b
PORT=$BASE_PORT SPORT=$((BASE_PORT + 1))
A4=198.18.7.1 B4=198.18.7.2 A6=fd00:7::1 B6=fd00:7::2

ns_cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for n in "$A" "$B"; do ip netns del "$n" 2>/dev/null || true; done
  (exit $rc)
  cleanup
}
trap ns_cleanup EXIT

ip netns add "$A" 2>/dev/null || skip "ip netns add failed (no namespace support?)"
ip netns add "$B"
ina() { ip netns exec "$A" "$@"; }
inb() { ip netns exec "$B" "$@"; }

ip -n "$A" link add a0 type veth peer name b0 netns "$B"
for n in "$A" "$B"; do ip -n "$n" link set lo up; done
ip -n "$A" addr add "$A4/24" dev a0
ip -n "$A" addr add "$A6/64" dev a0 nodad
ip -n "$B" addr add "$B4/24" dev b0
ip -n "$B" addr add "$B6/64" dev b0 nodad
ip -n "$A" link set a0 up && ip -n "$B" link set b0 up

# counter NAME: one of B's SNMP counters (nstat -s leaves its history alone).
counter() {
  local t
  t=$(inb nstat -saz "$1")
  awk -v n="$1" '$1 == n { print $2; f = 1 } END { exit !f }' <<<"$t"
}

ip netns exec "$B" "$BIN/pktcraft" udp-sink --port "$PORT" --name sinkB \
  >"$WORK/sink.out" 2>"$WORK/sink.log" &
SINK_PID=$!
PIDS+=("$SINK_PID")
sink_bound() {
  local t
  t=$(inb ss -Hnlu "sport = :$PORT")
  [ -n "$t" ]
}
wait_for 10 "udp-sink bound to port $PORT" sink_bound

# --- fragments: 3 datagrams of 4000 bytes, each in 3 fragments at MTU 1400
sent=0
for fam in 4 6; do
  if [ $fam = 4 ]; then src=$A4 dst=$B4 reasm=IpReasmOKs
  else src=$A6 dst=$B6 reasm=Ip6ReasmOKs; fi
  for order in first-last shuffle; do
    before=$(counter $reasm)
    rc=0
    out=$(ina "$BIN/pktcraft" frags --src "$src" --dst "$dst" --sport "$SPORT" \
      --dport "$PORT" --size 4000 --mtu 1400 --order $order --count 3 \
      --wait-reply 2000 2>"$WORK/frags.log") || rc=$?
    [ $rc = 0 ] || fail "IPv$fam $order: frags exited $rc: $(cat "$WORK/frags.log")"
    [ "$out" = $'sinkB 4000 ok\nsinkB 4000 ok\nsinkB 4000 ok' ] ||
      fail "IPv$fam $order: replies were: $out"
    after=$(counter $reasm)
    [ $((after - before)) = 3 ] ||
      fail "IPv$fam $order: $reasm rose by $((after - before)), not 3"
    sent=$((sent + 3))
    ok "IPv$fam fragments, $order: 3 datagrams reassembled, all ok"
  done
done
for c in UdpInCsumErrors Udp6InCsumErrors; do
  [ "$(counter $c)" = 0 ] || fail "$c: $(counter $c)"
done
lines=$(grep -c '^sinkB 4000 ok$' "$WORK/sink.out" || true)
[ "$lines" = "$sent" ] || fail "udp-sink printed $lines ok lines, not $sent"
ok "udp-sink printed one ok line per datagram ($sent)"

# A usage error is exit 2, naming the option.
rc=0
err=$("$BIN/pktcraft" frags --sport x 2>&1) || rc=$?
[ $rc = 2 ] && grep -q -- "--sport 'x'" <<<"$err" || fail "usage error: exit $rc: $err"

# --- ICMP errors, each quoting a reply B -> A of a TCP and of a UDP flow
inb iptables -A INPUT -p icmp --icmp-type fragmentation-needed \
  -m comment --comment pktcraft
inb ip6tables -A INPUT -p icmpv6 --icmpv6-type packet-too-big \
  -m comment --comment pktcraft
rule_count() {
  local t
  t=$(inb "$1" -L INPUT -v -x -n)
  awk '/pktcraft/ { print $1; f = 1 } END { exit !f }' <<<"$t"
}
counted() { [ "$(rule_count "$tables")" = 2 ]; }
for fam in 4 6; do
  if [ $fam = 4 ]; then src=$A4 dst=$B4 tables=iptables in=IcmpInDestUnreachs csum=IcmpInCsumErrors
  else src=$A6 dst=$B6 tables=ip6tables in=Icmp6InPktTooBigs csum=Icmp6InCsumErrors; fi
  in_before=$(counter $in)
  for proto in tcp udp; do
    ina "$BIN/pktcraft" icmp-error --src "$src" --dst "$dst" --inner-src "$dst" \
      --inner-dst "$src" --inner-proto $proto --inner-sport 80 \
      --inner-dport "$SPORT" --mtu 1280 || fail "IPv$fam icmp-error $proto failed"
  done
  wait_for 5 "$tables counting 2 ICMP errors" counted
  # The kernel counts the type only once the checksum has passed.
  [ $(($(counter $in) - in_before)) = 2 ] || fail "$in rose by $(($(counter $in) - in_before)), not 2"
  [ "$(counter $csum)" = 0 ] || fail "$csum: $(counter $csum)"
  ok "IPv$fam ICMP errors: 2 counted by $tables and $in, no checksum errors"
done

# udp-sink ends on SIGTERM with status 0.
kill -TERM "$SINK_PID"
rc=0
wait "$SINK_PID" || rc=$?
[ $rc = 0 ] || fail "udp-sink exited $rc on SIGTERM"
ok "udp-sink exits 0 on SIGTERM"
