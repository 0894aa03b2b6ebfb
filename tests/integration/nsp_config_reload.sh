# A configuration directory laid out as Kubernetes mounts a ConfigMap and
# updated by its atomic "..data" symlink swap reaches every watcher (through
# inotify alone: polling is off); a bad update is refused as a whole, named
# in the log, and the previous configuration stays in force.
source "$(dirname "$0")/lib.sh"

cm=$WORK/meridio-configuration-trench-a
mkdir -p "$cm"
version() {  # version NAME VIP...: a new timestamped folder of files
  local d=$cm/..$1
  make_config "$d" stream-a:10
  { echo "items:"; local i=0; for v in "${@:2}"; do i=$((i + 1))
      printf '  - name: vip-%d\n    trench: trench-a\n    address: %s\n' "$i" "$v"; done; } >"$d/vips"
}
swap() {  # swap NAME: Kubernetes' update, step by step
  ln -s "..$1" "$cm/..data_tmp"
  mv -T "$cm/..data_tmp" "$cm/..data"
}
version v1 198.18.100.1/32 fd00:100::1/128
ln -s ..v1 "$cm/..data"
for f in trench conduits streams vips; do ln -s "..data/$f" "$cm/$f"; done

NSP_PORT=$BASE_PORT
METRICS=$((BASE_PORT + 1))
start_nsp nsp "$NSP_PORT" -c "$cm" --config-poll 0 -m "127.0.0.1:$METRICS"

for i in 1 2 3; do
  ctl_bg --json nsp config --watch --kind vips >"$WORK/w$i.out" 2>"$WORK/w$i.log"
done
lines() { [ "$(grep -c . "$WORK/w$1.out" 2>/dev/null || true)" -ge "$2" ]; }
vips_in() { sed -n "${2}p" "$WORK/w$1.out" | jq -r '[.vips[].address] | sort | join(" ")'; }
for i in 1 2 3; do wait_for 10 "watcher $i's first answer" lines "$i" 1; done
for i in 1 2 3; do
  [ "$(vips_in "$i" 1)" = "198.18.100.1/32 fd00:100::1/128" ] || fail "watcher $i: $(vips_in "$i" 1)"
done
ok "three watchers have the initial VIPs"

version v2 198.18.100.1/32 198.18.100.2/32 fd00:100::1/128
swap v2
rm -rf "$cm/..v1"
for i in 1 2 3; do wait_for 10 "watcher $i sees the swap" lines "$i" 2; done
for i in 1 2 3; do
  [ "$(vips_in "$i" 2)" = "198.18.100.1/32 198.18.100.2/32 fd00:100::1/128" ] ||
    fail "watcher $i after the swap: $(vips_in "$i" 2)"
done
ok "the ..data swap reached all three watchers"

# A VIP that is not a /32: the whole update is refused.
version v3 198.18.100.1/32 198.18.100.3/24
swap v3
wait_for 10 "the refusal in the log" grep -q 'vips: item 2 (vip-2): address' "$WORK/nsp.log"
refusal=$(grep 'update refused' "$WORK/nsp.log")
grep -q '198.18.100.3/24' <<<"$refusal" || fail "the log line does not name the bad value: $refusal"
[ "$(ctl --json nsp config --kind vips | jq -r '[.vips[].address] | sort | join(" ")')" = \
  "198.18.100.1/32 198.18.100.2/32 fd00:100::1/128" ] || fail "the bad update took effect"
metrics=$(curl -sf "127.0.0.1:$METRICS/metrics")
grep -q '^strait_nsp_config_rejected_total 1$' <<<"$metrics" ||
  fail "the refusal is not counted in /metrics"
ok "the bad update was refused and the previous configuration stayed"

# The next good update is the next answer each watcher gets: nothing was
# sent for the refused one.
version v4 198.18.100.4/32
swap v4
for i in 1 2 3; do wait_for 10 "watcher $i sees the fix" lines "$i" 3; done
for i in 1 2 3; do
  [ "$(vips_in "$i" 3)" = "198.18.100.4/32" ] || fail "watcher $i got $(vips_in "$i" 3) as its third answer"
  [ "$(grep -c . "$WORK/w$i.out")" -eq 3 ] || fail "watcher $i got more than three answers"
done
ok "the fixed update reached all watchers, the refused one never did"
