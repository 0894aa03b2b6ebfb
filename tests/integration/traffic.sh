# strait-traffic on loopback: servers named after Greek letters, TCP and
# UDP clients over IPv4 and IPv6, padding checked, UDP answers from the
# address the request was sent to, a server killed under its clients
# (lost connections), a port taken over by another server under a UDP
# client (moved connections), and the command line's errors.
#
#   client --127.0.0.1, 127.0.0.5, ::1--> :PA  server --name alpha
#                                    \--> :PB  server --name beta
#   client ----------127.0.0.1----------> :PC  gamma, then killed
#   client ----------127.0.0.1----------> :PD  delta, then epsilon
source "$(dirname "$0")/lib.sh"

T=$BIN/strait-traffic
[ -x "$T" ] || fail "$T is not built (make, or BIN=DIR for another build)"
command -v jq >/dev/null || skip "jq is not installed"

PA=$BASE_PORT PB=$((BASE_PORT + 1)) PC=$((BASE_PORT + 2)) PD=$((BASE_PORT + 3))

# server NAME PORT: a server logging to $WORK/NAME.log; sets SRV_PID.
server() {
  "$T" server --name "$1" --port "$2" >>"$WORK/$1.log" 2>&1 &
  SRV_PID=$!
  PIDS+=("$SRV_PID")
  wait_listening "strait-traffic server $1" "$SRV_PID" "$2"
}

# client NAME ARGS...: a client in the background, its JSON report in
# $WORK/NAME.json; sets CLI_PID.
client() {
  local name=$1; shift
  "$T" client --json "$@" >"$WORK/$name.json" 2>>"$WORK/$name.log" &
  CLI_PID=$!
  PIDS+=("$CLI_PID")
}

# finish NAME PID: waits for a client, which must exit 0.
finish() {
  local rc=0
  wait "$2" || rc=$?
  [ $rc -eq 0 ] || fail "client $1 exited with $rc: $(cat "$WORK/$1.log")"
}

# check NAME JQ WHAT: the report satisfies JQ (a boolean expression).
check() {
  jq -e "$2" "$WORK/$1.json" >/dev/null ||
    fail "$1: not $3: $(cat "$WORK/$1.json")"
}

# status_is FILE JQ: the --status file exists and satisfies JQ.
status_is() { [ -s "$1" ] && jq -e "$2" "$1" >/dev/null; }

server alpha "$PA"
server beta "$PB"

# Four clients at once, 50 connections each for 2 s.
client tcp4 --address "127.0.0.1:$PA" --connections 50 --duration 2
P1=$CLI_PID
client udp4 --address "127.0.0.1:$PA" --protocol udp --connections 50 --duration 2
P2=$CLI_PID
client tcp6 --address "[::1]:$PB" --connections 50 --duration 2
P3=$CLI_PID
client udp6 --address "[::1]:$PB" --protocol udp --connections 50 --duration 2
P4=$CLI_PID
finish tcp4 "$P1"; finish udp4 "$P2"; finish tcp6 "$P3"; finish udp6 "$P4"
for c in tcp4 udp4 tcp6 udp6; do
  host=alpha; [[ $c == *6 ]] && host=beta
  check "$c" ".connections == 50 and .connected == 50" "50 connections, all connected"
  check "$c" "(.hosts | keys) == [\"$host\"] and .hosts.$host.connections == 50 and .hosts.$host.lasting == 50" \
    "all answered by $host"
  check "$c" ".lost == 0 and .failed_connects == 0 and .moved == 0" "without losses"
  check "$c" ".sent >= 900 and .sent == .received and .dropped == 0" "every request answered"
  check "$c" ".protocol == \"${c:0:3}\"" "of protocol ${c:0:3}"
done
ok "tcp and udp, IPv4 and IPv6: 50 connections each, all answered by their server, none lost"

# Padding: 4000-byte UDP requests and the largest TCP ones arrive intact.
client big-udp --address "127.0.0.1:$PA" --protocol udp --connections 5 --duration 1 --size 4000
P1=$CLI_PID
client big-tcp --address "127.0.0.1:$PA" --connections 5 --duration 1 --size 65000 --rate 500
P2=$CLI_PID
finish big-udp "$P1"; finish big-tcp "$P2"
for c in big-udp big-tcp; do
  check "$c" ".received > 0 and .intact == .received and .corrupt == 0" "answers marked intact"
done
ok "--size 4000 (udp) and 65000 (tcp): answers marked intact"

# A UDP request to 127.0.0.5 is answered from 127.0.0.5: the connected
# client socket takes nothing else. Without IP_PKTINFO the answer would
# leave from 127.0.0.1 and every request would be dropped.
client vip --address "127.0.0.5:$PA" --protocol udp --connections 10 --duration 1
finish vip "$CLI_PID"
check vip ".received > 0 and .dropped == 0 and .connected == 10" "answered from the address it asked"
ok "udp answers leave from the address the request was sent to"

# --status, and a client that runs until SIGTERM.
client status --address "127.0.0.1:$PB" --protocol udp --connections 10 --duration 0 \
  --status "$WORK/status"
wait_for 10 "the status file shows 10 connections" status_is "$WORK/status" \
  '.connected == 10 and .hosts.beta.lasting == 10'
kill -TERM "$CLI_PID"
finish status "$CLI_PID"
[ ! -e "$WORK/status.tmp" ] || fail "status.tmp was left behind"
check status ".connected == 10 and .lost == 0 and .sent == .received" "stopped cleanly by SIGTERM"
cmp -s <(jq -c . "$WORK/status") <(jq -c . "$WORK/status.json") ||
  fail "the last status differs from the final report"
ok "--status is rewritten while running, and SIGTERM ends the run with exit 0"

# A server killed under TCP and UDP clients: their connections are lost,
# charged to it, and the clients still finish with exit 0.
server gamma "$PC"
GAMMA=$SRV_PID
client kill-tcp --address "127.0.0.1:$PC" --connections 20 --duration 0 --timeout 500 \
  --status "$WORK/kill-tcp.status"
K1=$CLI_PID
client kill-udp --address "127.0.0.1:$PC" --protocol udp --connections 20 --duration 0 \
  --timeout 500 --status "$WORK/kill-udp.status"
K2=$CLI_PID
for c in kill-tcp kill-udp; do
  wait_for 10 "$c connected" status_is "$WORK/$c.status" '.connected == 20'
done
kill -9 "$GAMMA"
{ wait "$GAMMA"; } 2>/dev/null || true
for c in kill-tcp kill-udp; do
  wait_for 10 "$c notices the loss" status_is "$WORK/$c.status" '.lost == 20'
done
kill -TERM "$K1" "$K2"
finish kill-tcp "$K1"; finish kill-udp "$K2"
for c in kill-tcp kill-udp; do
  check "$c" ".lost == 20 and .hosts.gamma.lost == 20 and .hosts.gamma.lasting == 0 and .connected == 0" \
    "20 connections lost to gamma"
done
ok "a killed server: 20 tcp and 20 udp connections lost, exit 0"

# The port changes hands under a UDP client: answers from epsilon on
# connections delta answered first are moves. The long timeout keeps the
# requests lost in between from ending a connection before epsilon
# answers it, so every connection moves. (The ICMP errors of that gap must
# not stop a connection from reading: libuv stops a poll on POLLERR.)
server delta "$PD"
DELTA=$SRV_PID
client move --address "127.0.0.1:$PD" --protocol udp --connections 20 --duration 0 \
  --timeout 5000 --status "$WORK/move.status"
wait_for 10 "move connected" status_is "$WORK/move.status" '.connected == 20'
kill -TERM "$DELTA"
wait "$DELTA" || fail "delta did not stop cleanly on SIGTERM"
server epsilon "$PD"
wait_for 10 "connections moved to epsilon" status_is "$WORK/move.status" \
  '.moved == 20 and .hosts.epsilon.lasting == 20'
kill -TERM "$CLI_PID"
finish move "$CLI_PID"
check move ".moved == 20 and .lost == 20 and .hosts.delta.lost == 20 and .hosts.delta.lasting == 0" \
  "20 connections moved, counted as lost to delta"
check move ".connections == 40 and .hosts.epsilon.connections == 20" "replaced by 20 new connections"
ok "a port taken over: 20 udp connections moved, replaced by epsilon's"

# The command line.
usage_error() {  # usage_error TEXT ARGS...: exit 2 and TEXT on stderr
  local want=$1 rc=0 err; shift
  err=$("$T" "$@" 2>&1 >/dev/null) || rc=$?
  [ $rc -eq 2 ] || fail "strait-traffic $*: exit $rc, not 2"
  [[ $err == *"$want"* ]] || fail "strait-traffic $*: '$err' does not name $want"
}
usage_error "--rate 'x' is not a number from 1 to 10000000" client --address "127.0.0.1:$PA" --rate x
usage_error "--protocol 'sctp'" client --address "127.0.0.1:$PA" --protocol sctp
usage_error "--size '65001'" client --address "127.0.0.1:$PA" --size 65001
usage_error "--connections '0'" client --address "127.0.0.1:$PA" --connections 0
usage_error "--frobnicate" client --address "127.0.0.1:$PA" --frobnicate
usage_error "--address" client --rate 10
usage_error "--address 'no:such:thing:99999'" client --address 'no:such:thing:99999'
usage_error "--port '0'" server --port 0
usage_error "--addr 'nowhere'" server --addr nowhere
usage_error "unknown command 'serve'" serve
rc=0; "$T" client --address "127.0.0.1:$PA" --sources 192.0.2.1 --duration 1 \
  >/dev/null 2>"$WORK/source.log" || rc=$?
[ $rc -eq 3 ] || fail "an address not on this host as --sources: exit $rc, not 3"
rc=0; "$T" server --port "$PA" >/dev/null 2>"$WORK/inuse.log" || rc=$?
[ $rc -eq 3 ] || fail "a server on a port in use: exit $rc, not 3"
for args in "--help" "server --help" "client --help" "--version"; do
  # shellcheck disable=SC2086
  out=$("$T" $args) || fail "strait-traffic $args failed"
  [ -n "$out" ] || fail "strait-traffic $args printed nothing"
done
ok "bad options exit 2 naming the option; unusable addresses exit 3; --help, --version"
