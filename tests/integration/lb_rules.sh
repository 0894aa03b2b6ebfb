# lb/rules.c against the real iptables (nf_tables backend), in a network
# namespace of its own, through tests/helpers/lb_rules_tool:
#
#   root namespace                 namespace strait-rules-$$
#   mangle: untouched              mangle PREROUTING -j STRAIT-LB-t$$
#   (compared before and after)    mangle STRAIT-LB-t$$: -d VIP -j NFQUEUE
#
# Applies, updates (one nf_tables generation per family, so no packet sees
# a gap), empties, removes, and cleans up after a "crashed" run, each time
# checking the exact `iptables -t mangle -S` of both families.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "not root: iptables and network namespaces need it"
for t in ip iptables ip6tables iptables-restore ip6tables-restore; do
  command -v "$t" >/dev/null || skip "$t is not installed"
done
TOOL=$BIN/lb_rules_tool
[ -x "$TOOL" ] || fail "$TOOL is not built"

NS=strait-rules-$$
C=STRAIT-LB-t$$
root_before=$( { iptables -w -t mangle -S; ip6tables -w -t mangle -S; } 2>&1)

# The namespace goes on any exit, before lib.sh's cleanup reports.
trap 'rc=$?; ip netns del "$NS" 2>/dev/null; (exit $rc); cleanup' EXIT
ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns iptables -w -t mangle -S >/dev/null 2>&1 || skip "iptables does not work in a namespace"

# The family's mangle table without the built-in policies.
rules() { in_ns "$1" -w -t mangle -S | grep -v '^-P ' || true; }

# expect FAMILY-TOOL TEXT: the table is exactly TEXT (lines, in order).
expect() {
  local got
  got=$(rules "$1")
  [ "$got" = "$2" ] || fail "$1 mangle is
$got
--- expected
$2"
}

tool() { in_ns "$TOOL" "$@"; }

q="-m comment --comment strait -j NFQUEUE"

# ---- apply: two VIPs, one per family ----
tool apply "$C" 0:1 1 10.0.0.1 2001:db8::1 || fail "first apply"
expect iptables "-N $C
-A PREROUTING -j $C
-A $C -d 10.0.0.1/32 $q --queue-balance 0:1 --queue-bypass"
expect ip6tables "-N $C
-A PREROUTING -j $C
-A $C -d 2001:db8::1/128 $q --queue-balance 0:1 --queue-bypass"
ok "apply: one chain and one jump per family, one rule per VIP"

# ---- update: three VIPs, as one transaction per family ----
# nft monitor prints "# new generation N" once per committed transaction.
# Markers (a table added and deleted) around the update tell where its
# lines start and end, and that the monitor was listening before it.
gen_check=0
if command -v nft >/dev/null; then
  gen_check=1
  in_ns nft monitor >"$WORK/monitor.log" 2>&1 &
  MON=$!
  PIDS+=("$MON")
  # marker NAME: sets MARK to a table name the monitor has reported. The
  # monitor subscribes some time after it starts, so a marker may go
  # unseen: it is sent again, under a new name, until one is seen.
  marker() {
    local i end=$((SECONDS + 10))
    for ((i = 0; ; i++)); do
      MARK=strait_mark_$1_$i
      in_ns nft add table inet "$MARK"
      in_ns nft delete table inet "$MARK"
      for _ in 1 2 3 4 5 6 7 8 9 10; do
        grep -q "delete table inet $MARK\$" "$WORK/monitor.log" && return 0
        sleep 0.05
      done
      [ $SECONDS -lt $end ] || fail "nft monitor reported no marker in 10s"
    done
  }
  marker a
  MARK_A=$MARK
fi
tool apply "$C" 0:1 1 10.0.0.3 10.0.0.1 10.0.0.2 2001:db8::1 2001:db8::2 ||
  fail "second apply"
if [ $gen_check = 1 ]; then
  marker b
  gens=$(sed -n "/delete table inet $MARK_A\$/,/add table inet $MARK\$/p" "$WORK/monitor.log" |
    grep -c '^# new generation' || true)
  # The delete of marker a has its own generation line, after it.
  [ "$gens" -eq 3 ] || { cat "$WORK/monitor.log"; fail "the update took $((gens - 1)) transactions, not 2 (one per family)"; }
  kill "$MON" 2>/dev/null || true
fi
expect iptables "-N $C
-A PREROUTING -j $C
-A $C -d 10.0.0.1/32 $q --queue-balance 0:1 --queue-bypass
-A $C -d 10.0.0.2/32 $q --queue-balance 0:1 --queue-bypass
-A $C -d 10.0.0.3/32 $q --queue-balance 0:1 --queue-bypass"
expect ip6tables "-N $C
-A PREROUTING -j $C
-A $C -d 2001:db8::1/128 $q --queue-balance 0:1 --queue-bypass
-A $C -d 2001:db8::2/128 $q --queue-balance 0:1 --queue-bypass"
if [ $gen_check = 1 ]; then
  ok "update: still one jump, 3 rules, one nf_tables transaction per family"
else
  ok "update: still one jump, 3 rules (nft missing: transactions not counted)"
fi

# ---- one queue, no fail-open; a duplicated jump is repaired ----
in_ns iptables -w -t mangle -A PREROUTING -j "$C"
tool apply "$C" 4 0 10.0.0.1 || fail "apply with one queue"
expect iptables "-N $C
-A PREROUTING -j $C
-A $C -d 10.0.0.1/32 $q --queue-num 4"
expect ip6tables "-N $C
-A PREROUTING -j $C"
ok "one queue without bypass; an extra jump found is deleted"

# ---- refusals and failures ----
out=$(tool apply "-X" 0 0 10.0.0.1 2>&1) && fail "a chain named -X was accepted"
grep -q "chain name" <<<"$out" || fail "refusal without a reason: $out"
# An ip6tables-restore that reads one line and fails, as a real one does
# at a bad line, while 3000 VIPs (far more than a socket buffer) are still
# being written to it: the tool must report its stderr, not die of
# SIGPIPE, and the IPv4 update (done first) stands.
mkdir -p "$WORK/fake"
cat >"$WORK/fake/ip6tables-restore" <<'EOF2'
#!/bin/sh
read -r line
echo "ip6tables-restore: fake failure at line 1" >&2
exit 2
EOF2
chmod +x "$WORK/fake/ip6tables-restore"
many=$(for i in $(seq 1 3000); do printf '2001:db8:%x::1 ' "$i"; done)
# shellcheck disable=SC2086
out=$(in_ns env PATH="$WORK/fake:$PATH" "$TOOL" apply "$C" 4 0 10.0.0.9 $many 2>&1) &&
  fail "a failing ip6tables-restore was not reported"
grep -q "ip6tables-restore failed (exit 2): ip6tables-restore: fake failure at line 1" <<<"$out" ||
  fail "the failure does not carry the command's stderr: $out"
expect iptables "-N $C
-A PREROUTING -j $C
-A $C -d 10.0.0.9/32 $q --queue-num 4"
expect ip6tables "-N $C
-A PREROUTING -j $C"
ok "bad names refused before iptables runs; a failed restore reported with its stderr (EPIPE, not SIGPIPE); IPv4, done first, stands"

# ---- zero VIPs: the chain is emptied, the jump stays ----
tool apply "$C" 0:1 1 || fail "apply with no VIPs"
expect iptables "-N $C
-A PREROUTING -j $C"
expect ip6tables "-N $C
-A PREROUTING -j $C"
ok "zero VIPs: empty chain, jump kept"

# ---- remove, twice; other rules stay ----
in_ns iptables -w -t mangle -N OTHER
in_ns iptables -w -t mangle -A PREROUTING -i lo -j OTHER
in_ns iptables -w -t mangle -A OTHER -j MARK --set-mark 1
tool apply "$C" 0:1 1 10.0.0.1 2001:db8::1 || fail "apply before remove"
tool remove "$C" || fail "remove"
expect iptables "-N OTHER
-A PREROUTING -i lo -j OTHER
-A OTHER -j MARK --set-xmark 0x1/0xffffffff"
expect ip6tables ""
tool remove "$C" || fail "a second remove (nothing there) failed"
ok "remove: chain and jump gone in both families, idempotent, others' rules kept"

# ---- a crashed run, then the cleanup at the next start ----
tool apply "$C-a" 0 1 10.0.0.1 2001:db8::1 || fail "apply a"
tool apply "$C-b" 1 1 10.0.0.2 || fail "apply b"
tool cleanup "$C-" || fail "cleanup"
expect iptables "-N OTHER
-A PREROUTING -i lo -j OTHER
-A OTHER -j MARK --set-xmark 0x1/0xffffffff"
expect ip6tables ""
tool cleanup "$C-" || fail "a second cleanup (nothing there) failed"
ok "cleanup: every chain with the prefix and its jump gone, others' rules kept"

# ---- the root namespace was not touched ----
root_after=$( { iptables -w -t mangle -S; ip6tables -w -t mangle -S; } 2>&1)
[ "$root_before" = "$root_after" ] || fail "the root namespace's mangle table changed:
$root_before
--- now
$root_after"
grep -q "$C" <<<"$root_after" && fail "our chain leaked into the root namespace"
ok "the root namespace's mangle table is unchanged"
