# strait-tun's side of NSP, driven as strait-tun and an orchestrator would,
# with straitctl:
#
#   config dir (services: web)          straitctl nsp config --watch --kind services
#        |  inotify                          ^  nsp.Configuration/WatchService
#        v                                   |
#   strait-nsp  <---- register TUNNEL (node-1 --keep, node-2 once)
#        |      <---- register INSTANCE of web (--keep: ids 1, 2; a third: full)
#        +----------> straitctl nsp watch --type instance / --type tunnel
#
# Identifiers 1, 2 per service, refusals by name (unknown service or trench,
# no node, out of range, full), a second service added live and seen by the
# WatchService watcher, an instance removed and its identifier given again,
# a service removed: its instance's refreshes are refused and it expires.
source "$(dirname "$0")/lib.sh"

cfg=$WORK/meridio-configuration-trench-a
make_config "$cfg" stream-a:10
services() {  # services ITEM...: the services file, replaced atomically
  { echo "items:"; printf '%s\n' "$@"; } >"$cfg/.services.tmp"
  mv -f "$cfg/.services.tmp" "$cfg/services"
}
web='  - {name: web, addresses: [10.30.0.1, "fd00:30::1/128"], max-instances: 2}'
api='  - {name: api, addresses: [10.30.0.2], policy: local, max-instances: 5}'
services "$web"

NSP_PORT=$BASE_PORT
METRICS=$((BASE_PORT + 1))
# A short lease, so that expiry is seen within the test; the keepers
# refresh every second. Polling is off: reloads come from inotify.
start_nsp nsp "$NSP_PORT" -c "$cfg" --config-poll 0 --ttl 5 -m "127.0.0.1:$METRICS"

# ---- the watchers ----
ctl_bg --json nsp config --watch --kind services >"$WORK/svc.out" 2>"$WORK/svc.log"
ctl_bg --json nsp watch --type instance --trench trench-a >"$WORK/inst.out" 2>"$WORK/inst.log"
ctl_bg --json nsp watch --type tunnel --trench trench-a >"$WORK/tun.out" 2>"$WORK/tun.log"
answers() { [ "$(grep -c . "$WORK/svc.out" 2>/dev/null || true)" -ge "$1" ]; }
answer() { sed -n "${1}p" "$WORK/svc.out" | jq -c "$2"; }
synced() { grep -q '"snapshot":"end"' "$WORK/$1.out" 2>/dev/null; }
wait_for 10 "the services watcher's first answer" answers 1
wait_for 10 "the instance watch's snapshot" synced inst
wait_for 10 "the tunnel watch's snapshot" synced tun
got=$(answer 1 '.services')
[ "$got" = '[{"name":"web","trench":"trench-a","addresses":["10.30.0.1","fd00:30::1"],"policy":"spread","max_instances":2}]' ] ||
  fail "first WatchService answer: $got"
ok "WatchService answers at once with service web, canonical and defaulted"

# ---- tunnels ----
ctl_bg --json nsp register --type tunnel --trench trench-a --ip 192.0.2.1/32 \
  --context node=node-1 --context port=7779 --keep --refresh 1 >"$WORK/tun1.out" 2>"$WORK/tun1.log"
tun_keeper=$BG_PID
wait_for 10 "tunnel node-1 registered" grep -q . "$WORK/tun1.out"
[ "$(jq -c '.target | [.type, .trench, .conduit, .stream, .identifier]' "$WORK/tun1.out")" = \
  '["tunnel","trench-a","","",0]' ] || fail "tunnel node-1 as stored: $(cat "$WORK/tun1.out")"
out=$(ctl --json nsp register --type tunnel --trench trench-a --ip 192.0.2.2/32 \
  --context node=node-2 --context port=7779)
[ "$(jq -r '.target.type' <<<"$out")" = tunnel ] || fail "tunnel node-2: $out"
metrics=$(curl -sf "127.0.0.1:$METRICS/metrics")
grep -q '^strait_nsp_registrations{type="tunnel"} 2$' <<<"$metrics" || fail "metrics: tunnels"
out=$(ctl nsp register --type tunnel --trench trench-x --ip 192.0.2.3/32 --context node=node-3 2>&1) &&
  fail "a tunnel of an unknown trench was accepted"
grep -q 'NOT_FOUND: trench trench-x is not in the configuration' <<<"$out" || fail "unknown trench: $out"
out=$(ctl nsp register --type tunnel --trench trench-a --ip 192.0.2.3/32 2>&1) &&
  fail "a tunnel without a node was accepted"
grep -q "INVALID_ARGUMENT: a TUNNEL needs its node's name in the context (node=NAME)" <<<"$out" ||
  fail "tunnel without node: $out"
out=$(ctl nsp register --type tunnel --trench trench-a --conduit lb --ip 192.0.2.3/32 2>&1) &&
  fail "straitctl sent a tunnel with a conduit"
grep -q "is not for --type tunnel" <<<"$out" || fail "tunnel with a conduit: $out"
ok "tunnels registered (no conduit, no identifier); unknown trench, no node and a conduit refused"

# ---- instances: identifiers 1, 2, then the service is full ----
keep_instance() {  # keep_instance N IP: an instance kept by straitctl; sets KEEPER[N]
  ctl_bg --json nsp register --type instance --trench trench-a --service "${3:-web}" --ip "$2" \
    --context node=node-1 --keep --refresh 1 >"$WORK/i$1.out" 2>"$WORK/i$1.log"
  KEEPER[$1]=$BG_PID
  wait_for 10 "instance $1 registered" grep -q . "$WORK/i$1.out"
}
declare -a KEEPER
id_of() { head -n 1 "$WORK/i$1.out" | jq -r '.target.identifier'; }
keep_instance 1 10.0.1.1/32
keep_instance 2 10.0.1.2/32
[ "$(id_of 1) $(id_of 2)" = "1 2" ] || fail "identifiers $(id_of 1) $(id_of 2), not 1 2"
[ "$(head -n 1 "$WORK/i1.out" | jq -c '.target | [.type, .conduit, .stream]')" = '["instance","","web"]' ] ||
  fail "instance 1 as stored: $(head -n 1 "$WORK/i1.out")"
out=$(ctl nsp register --service web --trench trench-a --ip 10.0.1.3/32 --context node=node-2 2>&1) &&
  fail "a third instance of a service of max-instances 2 was accepted"
grep -q 'RESOURCE_EXHAUSTED: service trench-a/web is full: all 2 identifiers are taken' <<<"$out" ||
  fail "full service: $out"
out=$(ctl nsp register --service web --trench trench-a --ip 10.0.1.3/32 --context node=node-2 \
  --identifier 3 2>&1) && fail "identifier 3 granted in a service of 2"
grep -q 'OUT_OF_RANGE: identifier 3 is out of range 1..2 of service trench-a/web' <<<"$out" ||
  fail "out of range: $out"
out=$(ctl nsp register --service nope --trench trench-a --ip 10.0.1.3/32 --context node=node-2 2>&1) &&
  fail "an instance of an unknown service was accepted"
grep -q 'NOT_FOUND: service trench-a/nope is not in the configuration' <<<"$out" ||
  fail "unknown service: $out"
out=$(ctl nsp register --service web --trench trench-a --ip 10.0.1.3/32 2>&1) &&
  fail "an instance without a node was accepted"
grep -q "an INSTANCE needs its node's name in the context" <<<"$out" || fail "instance without node: $out"
ok "instances of web got identifiers 1 and 2; full, out of range, unknown service and no node refused"

# The watches saw each its own type, with the identifiers.
added() { jq -r "select(.event == \"ADDED\") | \"\(.target.ips[0]) \(.target.identifier)\"" "$WORK/$1.out" | sort | tr '\n' ' '; }
has_added() { [ "$(added "$1")" = "$2" ]; }
wait_for 10 "the instance watch sees both instances" has_added inst "10.0.1.1/32 1 10.0.1.2/32 2 "
wait_for 10 "the tunnel watch sees both tunnels" has_added tun "192.0.2.1/32 0 192.0.2.2/32 0 "
list=$(ctl nsp list --trench trench-a --service web)
grep -q '^2  *instance  *trench-a/web  *enabled  *10.0.1.2/32  *node=node-1$' <<<"$list" ||
  fail "nsp list --service web: $list"
grep -q 'tunnel' <<<"$list" && fail "nsp list --service web shows a tunnel: $list"
list=$(ctl nsp list --type tunnel)
grep -q '^-  *tunnel  *trench-a  *enabled  *192.0.2.1/32  *node=node-1,port=7779$' <<<"$list" ||
  fail "nsp list --type tunnel: $list"
metrics=$(curl -sf "127.0.0.1:$METRICS/metrics")
grep -q '^strait_nsp_registrations{type="instance"} 2$' <<<"$metrics" || fail "metrics: instances"
ok "the instance and tunnel watches and lists show each its own type; metrics count them"

# --keep: the one-shot tunnel expires, the kept one lives on.
wait_for 10 "the one-shot tunnel to expire" grep -q '"event":"REMOVED".*192.0.2.2/32' "$WORK/tun.out"
ctl --json nsp list --type tunnel | jq -e '.targets[] | select(.ips[0] == "192.0.2.1/32")' >/dev/null ||
  fail "the kept tunnel expired too"
ok "a one-shot registration expired after the ttl, the --keep ones did not"

# ---- a second service, added live ----
services "$web" "$api"
wait_for 10 "the services watcher sees the reload" answers 2
[ "$(answer 2 '[.services[] | [.name, .policy, .max_instances, (.addresses | join(","))]]')" = \
  '[["api","local",5,"10.30.0.2"],["web","spread",2,"10.30.0.1,fd00:30::1"]]' ] ||
  fail "second WatchService answer: $(answer 2 .services)"
keep_instance 3 10.0.1.1/32 api
[ "$(id_of 3)" = 1 ] || fail "the first instance of api got identifier $(id_of 3)"
ok "service api added live reached the WatchService watcher; its first instance has identifier 1"

# ---- removal ----
# An instance that stops (SIGTERM) unregisters; its identifier is free again.
kill -TERM "${KEEPER[2]}"
wait "${KEEPER[2]}" || fail "instance keeper 2 did not exit 0 on SIGTERM"
wait_for 10 "instance 2's removal" grep -q '"event":"REMOVED".*10.0.1.2/32' "$WORK/inst.out"
keep_instance 4 10.0.1.4/32
[ "$(id_of 4)" = 2 ] || fail "the freed identifier 2 went to $(id_of 4)"
ok "a stopped instance was removed and its identifier 2 given to the next"

# Service web leaves the configuration: watchers see it go at once; its
# instances cannot refresh and expire within the ttl; api's stay.
services "$api"
wait_for 10 "the services watcher sees web go" answers 3
[ "$(answer 3 '[.services[].name]')" = '["api"]' ] || fail "third answer: $(answer 3 .services)"
wait_for 15 "web's instances to expire" \
  grep -q '"event":"REMOVED".*10.0.1.4/32' "$WORK/inst.out"
wait_for 10 "instance 1's removal" grep -q '"event":"REMOVED".*"ips":\["10.0.1.1/32"\],"type":"instance","trench":"trench-a","conduit":"","stream":"web"' "$WORK/inst.out"
grep -q 'refresh refused: NOT_FOUND: service trench-a/web is not in the configuration' "$WORK/i1.log" ||
  fail "the keeper of a removed service's instance was not told: $(cat "$WORK/i1.log")"
left=$(ctl --json nsp list --type instance | jq -c '[.targets[] | [.stream, .identifier]]')
[ "$left" = '[["api",1]]' ] || fail "instances left: $left"
ok "service web removed: watchers saw it go, its instances' refreshes were refused and they expired"

kill -TERM "$tun_keeper"
wait "$tun_keeper" || fail "the tunnel keeper did not exit 0 on SIGTERM"
wait_for 10 "tunnel node-1's removal" grep -q '"event":"REMOVED".*192.0.2.1/32' "$WORK/tun.out"
grep -q '"type":"instance"' "$WORK/tun.out" && fail "the tunnel watch saw an instance"
grep -q '"type":"tunnel"' "$WORK/inst.out" && fail "the instance watch saw a tunnel"
ok "the tunnel keeper unregistered on SIGTERM; neither watch saw the other type"
