#!/usr/bin/env bash
# strait-lb end to end, targets changing under load: 400 long-lived TCP
# connections over 4 targets; a fifth target registers: none of the 400
# breaks, and new connections reach it; a target is removed: only its own
# connections break (and reconnect to the others).
source "$(dirname "$0")/lib.sh"
source "$TOP/tests/netns/topo.sh"
source "$TOP/tests/netns/lbenv.sh"

lbenv_init lbs

lbenv_start 5
for i in 1 2 3 4; do lbenv_register "$i"; done
wait_for 15 "4 ready targets in s1" lbenv_ready s1 4

lst() { lbenv_stat long "$1"; }
lst_is() { [ "$(lst "$1")" = "$2" ]; } # JQ VALUE
lbenv_traffic long --address "$TOPO_VIP4:5003" --connections 400 \
	--rate 2000 --duration 0 --sources "$(lbenv_sources 4)"
long=$LBENV_TRAFFIC_PID
wait_for 20 "400 connections answered" lst_is .connected 400
[ "$(lst '.hosts.t5.connections // 0')" = 0 ] || fail "t5 served before it registered"

received_at_least() { [ "$(lst .received)" -ge "$1" ]; }
# Requests keep flowing for a while after a change: wait for N more answers.
answered_more() { # N
	local target=$(($(lst .received) + $1))
	wait_for 20 "$1 more answers" received_at_least "$target"
}

# ---- scale out: 4 -> 5 ---------------------------------------------------
lbenv_register 5
wait_for 15 "t5 ready" lbenv_ready s1 5
answered_more 4000
[ "$(lst .lost)" = 0 ] && [ "$(lst .moved)" = 0 ] ||
	fail "scale-out broke connections: $(jq -c '{lost, moved, connected}' "$WORK/long.status")"
ok "a fifth target registered during 400 live connections: none lost or moved"

lbenv_traffic fresh --address "$TOPO_VIP4:5003" --connections 200 \
	--rate 2000 --duration 1 --sources "$(lbenv_sources 4)"
wait "$LBENV_TRAFFIC_PID" || fail "the fresh client failed"
t5=$(jq '.hosts.t5.connections // 0' "$WORK/fresh.json")
[ "$t5" -ge 10 ] || fail "new connections do not reach t5: $(jq -c .hosts "$WORK/fresh.json")"
ok "new connections reach t5 ($t5 of 200)"

# ---- scale in: remove t2 ---------------------------------------------------
on_t2=$(lst '.hosts.t2.lasting')
[ "$on_t2" -gt 0 ] || fail "no connection on t2 to lose"
lbenv_unregister 2
wait_for 15 "t2 out of the table" lbenv_ready s1 4
wait_for 20 "t2's connections to break" lst_is .hosts.t2.lasting 0
answered_more 4000
lost_t2=$(lst '.hosts.t2.lost')
[ "$lost_t2" -eq "$on_t2" ] || fail "t2 had $on_t2 connections, $lost_t2 were lost"
for h in t1 t3 t4 t5; do
	[ "$(lst ".hosts.$h.lost // 0")" = 0 ] ||
		fail "$h lost connections when t2 left: $(jq -c .hosts "$WORK/long.status")"
done
[ "$(lst .lost)" = "$on_t2" ] || fail "lost $(lst .lost), t2 had $on_t2"
wait_for 20 "the lost connections replaced" lst_is .connected 400
ok "t2 removed: exactly its $on_t2 connections lost, the others untouched, 400 connected again"

kill -TERM "$long"
wait "$long" || fail "the long client failed"
jq -e '.lost == '"$on_t2"' and .moved == 0' "$WORK/long.json" >/dev/null ||
	fail "final report: $(jq -c '{lost, moved, hosts}' "$WORK/long.json")"
ok "final report: $(jq -c '{connections, lost, hosts: (.hosts | map_values(.connections))}' "$WORK/long.json")"
