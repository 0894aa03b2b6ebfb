#!/usr/bin/env bash
# The strait demo (make demo; run as root). Builds a small cluster out of
# network namespaces on this machine (tests/netns/cluster.sh, drawn in
# docs/topology.md): an external client behind a gateway, L load balancers,
# N nodes each with a proxy and K application pods, NSP and IPAM. Then it
# tells a story with live traffic: the VIP spread over the targets, a VIP
# added through the configuration directory, a target added and another
# removed under load, an LB killed while traffic continues. Everything is
# removed at the end, also on failure and on Ctrl-C.
#
# Unattended by default (CI-like, about two minutes); --step waits for
# Enter before each part. The registry-only demo is scripts/demo-nsp.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
	cat <<'EOF'
Usage: scripts/demo.sh [OPTION]...   (as root; `make demo` builds first)
The strait demo: a simulated cluster in network namespaces and a story
told with live traffic to a VIP.

  --lbs L            load balancers (default 2, at least 2 for the LB
                     failover part)
  --nodes N          nodes, each with a strait-proxy (default 2)
  --targets K        application pods per node (default 3)
  --connections C    long-lived connections the client keeps (default 300)
  --step             wait for Enter before each part (on a terminal)
  --keep             leave the cluster running at the end until Enter or
                     Ctrl-C, to look around (ip netns list, straitctl ...)
  -h, --help         this text

Environment: BIN=DIR takes the binaries from DIR (default build/bin, built
by `make demo`; when BIN is not set and the demo is not run by make, it runs
`make all` first).

Exit status: 0 the story ran; 1 a step failed (the daemons' logs are shown);
2 bad usage.
EOF
}

LBS=2 NODES=2 TARGETS=3 CONNS=300 STEP=0 KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--lbs) LBS=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--nodes) NODES=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--targets) TARGETS=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--connections) CONNS=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--step) STEP=1; shift ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "demo: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
num() { # OPTION VALUE MIN MAX
	if ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then
		echo "demo: $1 must be a number from $3 to $4, not '$2'" >&2
		exit 2
	fi
}
num --lbs "$LBS" 1 9
num --nodes "$NODES" 1 20
num --targets "$TARGETS" 1 50
num --connections "$CONNS" 10 5000
[ $((NODES * TARGETS + 1)) -le 100 ] || { echo "demo: at most 99 pods in all" >&2; exit 2; }

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (it creates network namespaces): sudo make demo" >&2
	exit 1
fi
if [ -z "${BIN:-}" ] && [ -z "${MAKELEVEL:-}" ]; then
	echo "demo: building (make all) ..."
	make -s all
fi
for b in strait-nsp strait-ipam strait-lb strait-proxy strait-target strait-traffic straitctl; do
	[ -x "${BIN:-build/bin}/$b" ] || { echo "demo: ${BIN:-build/bin}/$b is missing: run make" >&2; exit 1; }
done

# lib.sh: WORK, BIN, PIDS, wait_for, fail; cluster.sh: the cluster.
source tests/integration/lib.sh
source tests/netns/cluster.sh
[ -n "$(cluster_names demo)" ] || CLUSTER_PREFIX=demo
cleanup() { # replaces lib.sh's: no test-failure wording on Ctrl-C
	local rc=$?
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ $rc -ne 0 ] && [ $rc -ne 130 ]; then
		echo "--- the demo failed; the daemons' last log lines ($WORK) ---"
		for f in "$WORK"/*.log; do [ -s "$f" ] && { echo "== $f"; tail -n 15 "$f"; }; done
	fi
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
	[ $rc -eq 130 ] && echo "demo: interrupted; every namespace and process it made is gone"
	exit $rc
}
trap 'exit 130' INT TERM
cluster_init demo
P=$CLUSTER_P

# ---- presentation ------------------------------------------------------
if [ -t 1 ]; then B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' Y=$'\e[33m' N=$'\e[0m'; else B='' D='' G='' Y='' N=''; fi
PART=0
part() {
	PART=$((PART + 1))
	if [ $STEP = 1 ] && [ -t 0 ]; then
		read -r -p "${D}(Enter for part $PART)${N}" _ || true
	fi
	echo
	echo "${B}== $PART. $*${N}"
}
say() { echo "${D}$*${N}"; }
# The command as a person would type it: binaries by name, namespaces with
# ip netns exec.
show() { local s="$*"; echo "${G}\$ ${s//$BIN\//}${N}"; }
run() { show "$@"; "$@" 2>&1 | sed 's/^/  /'; }
in_ns() { local ns=$1; shift; run ip netns exec "$P-$ns" "$@"; }
result() { echo "${Y}>> $*${N}"; }
T0=$SECONDS
elapsed() { echo "$((SECONDS - T0)) s"; }

# The pods ever seen in reports or alive, sorted.
all_hosts() { # FILE...
	{ cluster_pods; for f in "$@"; do jq -r '.hosts | keys[]' "$f" 2>/dev/null; done; } | sort -uV
}
# A table per target: for each report, connections and lost (and lasting).
hosts_table() { # "TITLE=FILE"...
	local h a title f c s l
	local -a files=() titles=()
	for a in "$@"; do titles+=("${a%%=*}"); files+=("${a#*=}"); done
	printf '  %-8s %-5s' TARGET NODE
	for title in "${titles[@]}"; do printf ' | %-27s' "$title"; done
	echo
	printf '  %-8s %-5s' "" ""
	for title in "${titles[@]}"; do printf ' | %11s %7s %7s' connections lasting lost; done
	echo
	for h in $(all_hosts "${files[@]}"); do
		printf '  %-8s %-5s' "$h" "n$(_cluster_node_of "$h")"
		for f in "${files[@]}"; do
			read -r c s l < <(jq -r --arg h "$h" '.hosts[$h] // {} | "\(.connections // 0) \(.lasting // 0) \(.lost // 0)"' "$f")
			printf ' | %11s %7s %7s' "$c" "$s" "$l"
		done
		echo
	done
	printf '  %-14s' "all"
	for f in "${files[@]}"; do
		printf ' | %11s %7s %7s' "$(jq .connections "$f")" "$(jq .connected "$f")" "$(jq .lost "$f")"
	done
	echo
}
summary() { jq -r '"connections \(.connections), lost \(.lost) (moved \(.moved)), failed connects \(.failed_connects), requests \(.sent) sent \(.received) answered"' "$1"; }
st() { cluster_stat "$1" "$2"; }
st_is() { [ "$(st "$1" "$2")" = "$3" ]; }
st_ge() { [ "$(st "$1" "$2")" -ge "$3" ]; }
# Waits until NAME's client has had N more answers than now.
answered_more() { # NAME N
	local want=$(($(st "$1" .received) + $2))
	wait_for 30 "$2 more answers" st_ge "$1" .received "$want"
}
accepted() { lbctl "$1" --json lb status | jq .accepted; }
traffic_cmd() { # ARGS...: the client command line as shown
	show ip netns exec "$P-c" "$BIN/strait-traffic" client "$@"
}
stop_client() { # NAME
	kill -TERM "$CLUSTER_TRAFFIC_PID"
	wait "$CLUSTER_TRAFFIC_PID" || fail "the traffic client $1 failed: $(tail -n 3 "$WORK/$1.log")"
}
RATE=$((CONNS * 10))

echo "${B}strait demo${N}: $LBS load balancers, $NODES nodes x $TARGETS targets, one client; namespaces $P-*"
say "Everything runs in network namespaces on this machine; nothing touches the host's own network."
say "Work folder: $WORK (logs of every daemon). Layout: docs/topology.md."

# ---- 1 ----------------------------------------------------------------
part "A cluster in network namespaces"
say "client -> gateway (ECMP over the LBs, standing in for BGP) -> LBs -> each node's"
say "proxy bridge -> pods; replies leave the pods through their proxy, which spreads"
say "them over every LB. NSP (registry, configuration) and IPAM (addresses) listen"
say "on Unix sockets: $WORK/nsp.sock, $WORK/ipam.sock."
cluster_start --lbs "$LBS" --nodes "$NODES" --targets "$TARGETS"
SRC4=$(cluster_sources 4) SRC6=$(cluster_sources 6)
result "up in $(elapsed): $(cluster_names | wc -l) namespaces"
cluster_names | sed "s/^$P-//" | sort -V | awk -v p="$P" '
	/^c$/ {c="client"} /^g$/ {g="gateway"} /^lb/ {lb=lb" "$0} /^n[0-9]+$/ {n=n" "$0} /p/ {pod=pod" "$0}
	END {printf "  %s-c: client   %s-g: gateway\n  LBs:  %s\n  nodes:%s\n  pods: %s\n", p, p, lb, n, pod}'
say "Each LB registered itself in NSP as a FRONTEND of conduit c1, naming its namespace:"
run "$BIN/straitctl" nsp list --type frontend
say "Each node's proxy took a node prefix and a bridge address from IPAM:"
run "$BIN/straitctl" ipam tree --trench trench-a
say "... and linked every LB into its bridge stb-c1, with an address of its node's"
say "prefix on the LB's end (node n1; the pods come next):"
run "$BIN/straitctl" --proxy "unix:$WORK/n1/proxy-c1.sock" proxy status
say "The gateway routes the VIPs over every LB (multipath, hashed by ports):"
in_ns g ip route show 198.18.100.0/24

# ---- 2 ----------------------------------------------------------------
part "The pods open stream s1"
say "Each pod's agent (strait-target, Meridio's TAPA) attaches to its node's proxy,"
say "gets an identifier from NSP, puts the VIPs on its lo and registers:"
show ip netns exec "$P-n1p1" "$BIN/strait-target" open --trench trench-a --conduit c1 --stream s1 \
	--control "unix:$WORK/n1p1.sock"
t=$SECONDS
cluster_open_all s1
result "$(cluster_pods | wc -l) targets ready on every LB ($((SECONDS - t)) s)"
in_ns n1p1 ip -br addr show
say "Every LB has the same Maglev table over the same targets:"
run "$BIN/straitctl" --lb "unix:$WORK/lb1.sock" lb streams
say "Replies from a VIP leave node n1 over every LB (the proxy's egress route):"
in_ns n1 ip rule show
in_ns n1 ip route show table 200

# ---- 3 ----------------------------------------------------------------
part "Traffic to the VIP spreads over the targets"
say "$CONNS TCP connections over IPv4 and $CONNS UDP flows over IPv6 for 5 s,"
say "from 8 client addresses; each server answers with its pod's name."
traffic_cmd --address "$CLUSTER_VIP4:5003" --protocol tcp --connections "$CONNS" --rate "$RATE" --duration 5 --sources "$SRC4"
a1=(); for ((i = 1; i <= LBS; i++)); do a1[i]=$(accepted "$i"); done
cluster_traffic tcp4 --address "$CLUSTER_VIP4:5003" --protocol tcp --connections "$CONNS" \
	--rate "$RATE" --duration 5 --sources "$SRC4"
p1=$CLUSTER_TRAFFIC_PID
traffic_cmd --address "[$CLUSTER_VIP6]:5003" --protocol udp --connections "$CONNS" --rate "$RATE" --duration 5 --sources "$SRC6"
cluster_traffic udp6 --address "[$CLUSTER_VIP6]:5003" --protocol udp --connections "$CONNS" \
	--rate "$RATE" --duration 5 --sources "$SRC6"
wait "$p1" || fail "the TCP client failed: $(tail -n 3 "$WORK/tcp4.log")"
wait "$CLUSTER_TRAFFIC_PID" || fail "the UDP client failed: $(tail -n 3 "$WORK/udp6.log")"
hosts_table "TCP over IPv4=$WORK/tcp4.json" "UDP over IPv6=$WORK/udp6.json"
line=
for ((i = 1; i <= LBS; i++)); do line+="${line:+, }LB $i $(($(accepted "$i") - a1[i]))"; done
result "packets through each LB: $line"
result "TCP: $(summary "$WORK/tcp4.json")"
result "UDP: $(summary "$WORK/udp6.json")"
DIST=$(jq -r '[.hosts[].connections] | "\(min)..\(max) connections per target"' "$WORK/tcp4.json")

# ---- 4 ----------------------------------------------------------------
part "A VIP added through the configuration directory"
say "The configuration is a Meridio-style ConfigMap directory ($CLUSTER_CFG);"
say "the new version is written beside the old one and swapped in with one"
say "rename of ..data, as Kubernetes does. New VIP: v4b = 198.18.100.2/32,"
say "and flow f1 (stream s1) now names it too."
cluster_config --vip v4b=198.18.100.2/32
run cat "$CLUSTER_CFG/vips"
run cat "$CLUSTER_CFG/flows"
vip_everywhere() {
	local i pod j
	for ((i = 1; i <= LBS; i++)); do
		lbctl "$i" --json lb status | jq -e '.vips | index("198.18.100.2/32")' >/dev/null || return 1
	done
	for pod in $(cluster_pods); do
		[[ $(ip -n "$P-$pod" addr show dev lo) == *198.18.100.2/32* ]] || return 1
	done
	for ((j = 1; j <= NODES; j++)); do
		[[ $(ip -n "$P-n$j" rule show) == *198.18.100.2* ]] || return 1
	done
}
t=$SECONDS
wait_for 30 "the new VIP on every LB, pod and proxy" vip_everywhere
result "NSP reloaded it; every LB queues it, every pod has it on lo, every proxy routes its replies ($((SECONDS - t)) s)"
in_ns n1p1 ip -br addr show dev lo
traffic_cmd --address 198.18.100.2:5003 --connections 120 --duration 2 --sources "$SRC4"
cluster_traffic vip2 --address 198.18.100.2:5003 --protocol tcp --connections 120 \
	--rate 1200 --duration 2 --sources "$SRC4"
wait "$CLUSTER_TRAFFIC_PID" || fail "the client failed: $(tail -n 3 "$WORK/vip2.log")"
result "198.18.100.2: $(summary "$WORK/vip2.json")"
result "served by: $(jq -r '.hosts | to_entries | map("\(.key) \(.value.connections)") | join(", ")' "$WORK/vip2.json")"

# ---- 5 ----------------------------------------------------------------
part "Targets come and go while traffic runs"
say "$CONNS long-lived TCP connections stay open while a pod is added on node n1"
say "and one target of node n$NODES closes its stream. A lost connection is one"
say "that broke after its first answer; the client opens a new one at once."
traffic_cmd --address "$CLUSTER_VIP4:5003" --connections "$CONNS" --duration 0 --sources "$SRC4"
cluster_traffic scale --address "$CLUSTER_VIP4:5003" --protocol tcp --connections "$CONNS" \
	--rate "$RATE" --duration 0 --sources "$SRC4"
wait_for 30 "$CONNS connections answered" st_is scale .connected "$CONNS"
result "$CONNS connected, lost $(st scale .lost)"

cluster_pod_add 1
NEW=$CLUSTER_POD
say "A new pod $NEW on node n1 starts its agent and opens s1:"
show ip netns exec "$P-$NEW" "$BIN/strait-target" open --trench trench-a --conduit c1 --stream s1 \
	--control "unix:$WORK/$NEW.sock"
t=$SECONDS
cluster_open "$NEW" s1 || fail "$NEW cannot open s1"
NT=$(cluster_pods | wc -l)
wait_for 20 "$NT ready targets" cluster_ready s1 "$NT"
answered_more scale "$RATE"
ADD_LOST=$(st scale .lost)
result "$NEW is in every LB's table ($((SECONDS - t)) s); connections lost meanwhile: $ADD_LOST (the LBs' connection tables keep established flows where they are)"

GONE=n${NODES}p$TARGETS
cp "$WORK/scale.status" "$WORK/scale-before.json"
on_gone=$(jq ".hosts.$GONE.lasting // 0" "$WORK/scale-before.json")
say "$GONE, which holds $on_gone of the connections, closes its stream:"
show ip netns exec "$P-$GONE" "$BIN/strait-target" close --trench trench-a --conduit c1 --stream s1 \
	--control "unix:$WORK/$GONE.sock"
t=$SECONDS
cluster_close "$GONE" s1 || fail "$GONE cannot close s1"
wait_for 20 "$GONE out of every LB's table" cluster_ready s1 $((NT - 1))
wait_for 30 "$GONE's connections to end" st_is scale ".hosts.$GONE.lasting" 0
wait_for 30 "the lost connections replaced" st_is scale .connected "$CONNS"
answered_more scale "$RATE"
stop_client scale
DEL_LOST=$(($(jq .lost "$WORK/scale.json") - ADD_LOST))
hosts_table "before $GONE closed=$WORK/scale-before.json" "at the end=$WORK/scale.json"
result "pod added: $ADD_LOST connections lost; $GONE removed: $DEL_LOST lost, it held $on_gone ($((SECONDS - t)) s to reconnect them elsewhere)"
result "$(summary "$WORK/scale.json")"
say "New connections reach every target still in s1 (a short run of 200):"
cluster_traffic fresh --address "$CLUSTER_VIP4:5003" --protocol tcp --connections 200 \
	--rate 2000 --duration 2 --sources "$SRC4"
wait "$CLUSTER_TRAFFIC_PID" || fail "the client failed: $(tail -n 3 "$WORK/fresh.log")"
result "served by: $(jq -r '.hosts | to_entries | map("\(.key) \(.value.connections)") | join(", ")' "$WORK/fresh.json"); failed connects $(jq .failed_connects "$WORK/fresh.json")"
for pod in $(cluster_pods); do
	[ "$pod" = "$GONE" ] && continue
	[ "$(jq --arg h "$pod" '.hosts[$h].connections // 0' "$WORK/fresh.json")" -gt 0 ] ||
		fail "$pod, still in s1, serves no new connection after $GONE left: node n$(_cluster_node_of "$pod") blackholes it"
done

# ---- 6 ----------------------------------------------------------------
if [ "$LBS" -ge 2 ]; then
	part "A load balancer goes away"
	say "LB $LBS is killed (kill -9) and the gateway withdraws its route, as BGP would"
	say "once its session dropped. Its flows move to the other LBs, whose Maglev"
	say "tables are the same: they reach the same targets."
	traffic_cmd --address "$CLUSTER_VIP4:5003" --connections "$CONNS" --duration 0 --sources "$SRC4"
	cluster_traffic lbdown --address "$CLUSTER_VIP4:5003" --protocol tcp --connections "$CONNS" \
		--rate "$RATE" --duration 0 --sources "$SRC4"
	wait_for 30 "$CONNS connections answered" st_is lbdown .connected "$CONNS"
	answered_more lbdown "$RATE"
	before=$(accepted "$LBS")
	answered_more lbdown "$RATE"
	result "$CONNS connected; LB $LBS carried $(($(accepted "$LBS") - before)) packets in the last second"
	show kill -9 "${CLUSTER_PID[lb$LBS]}" "  # strait-lb in $P-lb$LBS"
	cluster_lb_kill "$LBS"
	nh=
	for ((i = 1; i < LBS; i++)); do nh+=" nexthop via $(cluster_lb_addr "$i")"; done
	[ "$LBS" -eq 2 ] && nh=" via $(cluster_lb_addr 1)"
	show ip netns exec "$P-g" ip route replace 198.18.100.0/24"$nh"
	cluster_gw_withdraw "$LBS"
	in_ns g ip route show 198.18.100.0/24
	t=$SECONDS
	answered_more lbdown $((RATE * 3))
	DOWN_LOST=$(st lbdown .lost)
	result "3 s later: $(st lbdown .connected) connected, lost $DOWN_LOST, moved $(st lbdown .moved)"
	say "LB $LBS is restarted; once its table is ready the gateway takes it back:"
	cluster_lb_start "$LBS"
	wait_for 20 "LB $LBS ready" cluster_ready s1 $((NT - 1))
	cluster_gw_restore "$LBS"
	before=$(accepted "$LBS")
	answered_more lbdown $((RATE * 2))
	stop_client lbdown
	BACK_LOST=$(($(jq .lost "$WORK/lbdown.json") - DOWN_LOST))
	result "LB $LBS back: it carried $(($(accepted "$LBS") - before)) packets in 2 s; lost while it rejoined: $BACK_LOST"
	hosts_table "LB $LBS killed and back=$WORK/lbdown.json"
	result "$(summary "$WORK/lbdown.json")"
fi

# ---- 7 ----------------------------------------------------------------
part "Summary"
result "spread: $DIST ($CONNS over $((NODES * TARGETS)) targets, $LBS LBs)"
result "VIP added live: reached by $(jq .connections "$WORK/vip2.json") connections, lost $(jq .lost "$WORK/vip2.json")"
result "target added under load: $ADD_LOST lost; target removed: $DEL_LOST lost (it held $on_gone)"
[ "$LBS" -ge 2 ] && result "LB killed: $DOWN_LOST lost; LB back: $BACK_LOST lost"
if [ $KEEP = 1 ]; then
	say "The cluster stays up (namespaces $P-*; STRAIT_NSP=$STRAIT_NSP). Enter or Ctrl-C ends it."
	read -r _ || true
fi
part "Teardown"
cluster_destroy "$P"
result "every namespace and process removed ($(elapsed) in all)"
