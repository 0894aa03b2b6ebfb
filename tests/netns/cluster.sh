# shellcheck shell=bash disable=SC2034,SC2086
# (SC2034: CLUSTER_* are for the caller; SC2086: pid lists split on purpose)
# The whole north-south path in network namespaces: sourced, never run.
#
# Used by the end-to-end tests of issue 5 (tests/integration/cluster_*.sh)
# and by the demo (scripts/demo.sh). Needs tests/integration/lib.sh sourced
# first (WORK, BIN, PIDS, wait_for, fail, skip; BIN defaults to
# build/bin and may be set to another build's bin folder). docs/topology.md
# draws it and follows a packet through it.
#
#   P-c        client: 198.18.0.2/24 fd00::2/64, + --sources S extra
#              addresses 198.18.0.(10+j) fd00::(10+j); default via the gateway
#   P-g        gateway: 198.18.0.1/24 fd00::1/64 toward the client; a bridge
#              toward the LBs with 198.18.1.1/24 fd00:1::1/64; the VIP
#              ranges 198.18.100.0/24 and fd00:100::/64 routed ECMP over the
#              live LBs (fib_multipath_hash_policy=1: by ports too); stands in
#              for the BGP routers in front of Meridio's LBs
#   P-lb<i>    LB i: front 198.18.1.(10+i)/24 fd00:1::(10+i)/64, default via
#              the gateway, forwarding; strait-lb registered in NSP as a
#              FRONTEND of c1 with its front addresses and its namespace
#              (/run/netns/P-lb<i>); control unix:$WORK/lb<i>.sock, metrics
#              127.0.0.1:9779 on its own loopback. Each node's proxy puts a
#              link of its bridge in here.
#   P-n<j>     node j: forwarding; strait-proxy --node n<j> (bridge stb-c1,
#              local socket unix:$WORK/n<j>/proxy-c1.sock, metrics
#              127.0.0.1:9780 on its loopback, store $WORK/proxy-n<j>.db)
#   P-n<j>p<k> pod k of node j (pod name n<j>p<k>): lo up; strait-target
#              daemon (control unix:$WORK/n<j>p<k>.sock), strait-traffic
#              server --name n<j>p<k> on port 5003 (TCP and UDP)
#   root ns    strait-nsp (unix:$WORK/nsp.sock, config $WORK/config) and
#              strait-ipam (unix:$WORK/ipam.sock; IPv4 169.255.0.0/16, IPv6
#              fd00:200::/48 so no node prefix overlaps the client's
#              fd00::/64): Unix sockets, reachable from every namespace with
#              no IP route. Nothing else is in the root namespace: no link,
#              no route, no address.
#
# rp_filter is off and DAD is skipped in every namespace (set before any
# link exists, so the links the proxy makes later inherit it). Link names
# carry the prefix, so parallel runs never meet.
#
# Configuration (trench trench-a, conduit c1): streams s1 and s2
# (max-targets --max-targets, default 10), VIPs v4=198.18.100.1/32 and
# v6=fd00:100::1/128, flow f1: stream s1, every VIP, tcp udp icmp icmpv6,
# all ports, priority 1. Extra VIPs must lie in the routed ranges above.
#
# Functions (return non-zero with a message on stderr, or fail the test):
#   cluster_init NAME            skips (77) unless root, jq and namespaces;
#                                prefix P=NAME<pid> (or $CLUSTER_PREFIX);
#                                EXIT trap: every process killed, every
#                                namespace deleted, also on failure and ^C
#   cluster_start [--lbs L] [--nodes N] [--targets K] [--sources S]
#                 [--max-targets M]
#                                defaults 2, 2, 2, 8, 10: the topology,
#                                NSP, IPAM, the LBs, the gateway's routes,
#                                the proxies (once each has linked every
#                                LB), the pods with their agents and traffic
#                                servers; no stream opened yet
#   cluster_config [--vip NAME=CIDR] [--no-vip NAME] [--stream NAME[:MAX]]
#                  [--no-stream NAME] [--flow NAME 'FIELDS'] [--no-flow NAME]
#                                changes the configuration and swaps it in
#                                the Kubernetes way (a new ..data directory,
#                                one rename); FIELDS is the inside of a
#                                YAML flow mapping without name and trench,
#                                '@vips' standing for every VIP's name, e.g.
#                                'stream: s2, vips: [@vips], protocols:
#                                [tcp], destination-port-ranges: [80],
#                                priority: 2'
#   cluster_open POD STREAM / cluster_close POD STREAM
#                                strait-target open/close in the pod
#   cluster_open_all STREAM      every pod opens STREAM, waits until ready
#   cluster_pods                 the live pods' names, one a line
#   cluster_pod_add J [NAME]     a new pod on node J (default name
#                                n<J>p<next k>): namespace, server, agent;
#                                sets CLUSTER_POD
#   cluster_pod_del POD          the agent stopped (SIGTERM: it closes its
#                                streams), the pod's namespace deleted
#   cluster_target_start POD / cluster_target_kill POD [SIGNAL=KILL]
#                                a started agent has no stream open (it
#                                clears what an earlier one left in the
#                                pod): cluster_open again after a restart
#   cluster_proxy_start J / cluster_proxy_kill J [SIGNAL=KILL]
#   cluster_lb_start I / cluster_lb_kill I [SIGNAL=KILL]
#   cluster_gw_withdraw I / cluster_gw_restore I
#                                LB i's nexthop out of / back into the
#                                gateway's ECMP routes (BGP's job)
#   cluster_ready STREAM N       every live LB has exactly N ready targets
#                                in STREAM (straitctl lb streams --json)
#   cluster_linked               every live LB has a link from every node
#   cluster_traffic NAME ARGS    strait-traffic client in the client
#                                namespace, in the background
#                                (CLUSTER_TRAFFIC_PID); status every 200 ms
#                                in $WORK/NAME.status, report $WORK/NAME.json
#   cluster_stat NAME JQ         a value of NAME's status file
#   cluster_sources [4|6]        the client's extra sources, comma-separated
#   cluster_ns NAME              namespace of c, g, lb<i>, n<j>, n<j>p<k>
#   cluster_exec NAME CMD...     CMD in that namespace (foreground)
#   lbctl I ARGS                 straitctl --lb (LB i's socket) ARGS
#   proxyctl J ARGS              straitctl --proxy (node j's proxy) ARGS
#   nspctl ARGS / ipamctl ARGS   straitctl against this NSP / IPAM
#   cluster_destroy [P]          kills what runs in P's namespaces (TERM,
#                                KILL after 2 s), deletes them; idempotent
#
# Variables: CLUSTER_P, CLUSTER_L, CLUSTER_N, CLUSTER_VIP4/6,
# CLUSTER_CLIENT4/6, CLUSTER_PID[lb<i>|proxy-n<j>|target-<pod>|server-<pod>],
# CLUSTER_LB_ARGS, CLUSTER_PROXY_ARGS, CLUSTER_TARGET_ARGS (more options),
# CLUSTER_NSP_ARGS, CLUSTER_IPAM_ARGS. Logs: $WORK/<key>.log.
# STRAIT_NSP and STRAIT_IPAM are exported, so a plain `straitctl nsp list`
# or `straitctl ipam tree` reaches this cluster.

CLUSTER_TRENCH=trench-a
CLUSTER_CONDUIT=c1
CLUSTER_VIP4=198.18.100.1
CLUSTER_VIP6=fd00:100::1
CLUSTER_VIPNET4=198.18.100.0/24
CLUSTER_VIPNET6=fd00:100::/64
CLUSTER_CLIENT4=198.18.0.2
CLUSTER_CLIENT6=fd00::2
CLUSTER_P=${CLUSTER_P:-}
CLUSTER_L=0
CLUSTER_N=0
CLUSTER_SOURCES=0
CLUSTER_MAX_TARGETS=10
CLUSTER_CFG=
CLUSTER_POD=
CLUSTER_TRAFFIC_PID=
CLUSTER_LB_ARGS=${CLUSTER_LB_ARGS:-}
CLUSTER_PROXY_ARGS=${CLUSTER_PROXY_ARGS:-}
CLUSTER_TARGET_ARGS=${CLUSTER_TARGET_ARGS:-}
CLUSTER_NSP_ARGS=${CLUSTER_NSP_ARGS:-}
CLUSTER_IPAM_ARGS=${CLUSTER_IPAM_ARGS:-}
declare -A CLUSTER_PID=() CLUSTER_GW_UP=() CLUSTER_LB_UP=()
declare -A CLUSTER_VIPS=() CLUSTER_STREAMS=() CLUSTER_FLOWS=()
declare -a CLUSTER_PODS=()

# ---- names and addresses --------------------------------------------------

cluster_ns() { echo "$CLUSTER_P-$1"; }
cluster_exec() {
	local ns=$CLUSTER_P-$1
	shift
	ip netns exec "$ns" "$@"
}
cluster_lb_addr() { # I [6]
	if [ "${2:-4}" = 6 ]; then echo "fd00:1::$((10 + $1))"; else echo "198.18.1.$((10 + $1))"; fi
}
cluster_source_addr() { # J [6]
	if [ "${2:-4}" = 6 ]; then echo "fd00::$((10 + $1))"; else echo "198.18.0.$((10 + $1))"; fi
}
cluster_sources() { # [4|6]
	local fam=${1:-4} out="" j
	for ((j = 0; j < CLUSTER_SOURCES; j++)); do
		out+="${out:+,}$(cluster_source_addr "$j" "$fam")"
	done
	echo "$out"
}
_cluster_node_of() { # POD -> J
	local j=${1#n}
	echo "${j%%p*}"
}
cluster_pods() { local p; for p in "${CLUSTER_PODS[@]}"; do echo "$p"; done; }

cluster_names() { # [P]: the namespaces that exist for P
	local p=${1:-$CLUSTER_P} out name _
	out=$(ip netns list 2>/dev/null) || return 0
	while read -r name _; do
		[[ $name =~ ^"$p"-(c|g|lb[0-9]+|n[0-9]+(p[0-9]+)?)$ ]] && echo "$name"
	done <<<"$out"
	return 0
}

lbctl() { local i=$1; shift; "$BIN/straitctl" --lb "unix:$WORK/lb$i.sock" "$@"; }
proxyctl() { local j=$1; shift; "$BIN/straitctl" --proxy "unix:$WORK/n$j/proxy-$CLUSTER_CONDUIT.sock" "$@"; }
nspctl() { "$BIN/straitctl" --nsp "unix:$WORK/nsp.sock" "$@"; }
ipamctl() { "$BIN/straitctl" --ipam "unix:$WORK/ipam.sock" "$@"; }

# ---- set-up and tear-down ---------------------------------------------------

cluster_init() { # NAME
	[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
	command -v jq >/dev/null || skip "jq is not installed"
	CLUSTER_P=${CLUSTER_PREFIX:-$1$$}
	if ! [[ $CLUSTER_P =~ ^[A-Za-z0-9_]{1,10}$ ]]; then
		echo "cluster: prefix '$CLUSTER_P' must be 1-10 of [A-Za-z0-9_] (link names)" >&2
		exit 2
	fi
	trap 'rc=$?; set +e; cluster_destroy "$CLUSTER_P"; (exit $rc); cleanup' EXIT
	ip netns add "$CLUSTER_P-x" 2>/dev/null || skip "cannot create network namespaces"
	ip netns del "$CLUSTER_P-x"
	[ -z "$(cluster_names)" ] || { echo "cluster: namespaces of $CLUSTER_P exist already" >&2; exit 1; }
}

cluster_destroy() { # [P]
	local p=${1:-$CLUSTER_P} ns names pods=() rest=()
	[ -n "$p" ] || return 0
	names=$(cluster_names "$p")
	[ -n "$names" ] || return 0
	for ns in $names; do
		if [[ $ns =~ p[0-9]+$ ]]; then pods+=("$ns"); else rest+=("$ns"); fi
	done
	# The pods first: their agents unregister and detach while NSP and the
	# proxies still answer; then the nodes, LBs, client and gateway.
	_cluster_stop_ns "${pods[@]}"
	_cluster_stop_ns "${rest[@]}"
	for ns in $names; do ip netns del "$ns" 2>/dev/null || true; done
	return 0
}

# SIGTERM to every process in the namespaces, SIGKILL to those left after 2 s.
_cluster_stop_ns() { # NS...
	local ns pids end
	for ns in "$@"; do
		pids=$(ip netns pids "$ns" 2>/dev/null) || true
		[ -n "$pids" ] && { kill -TERM $pids 2>/dev/null || true; }
	done
	end=$((SECONDS + 2))
	for ns in "$@"; do
		while pids=$(ip netns pids "$ns" 2>/dev/null) && [ -n "$pids" ]; do
			if [ $SECONDS -ge $end ]; then
				kill -KILL $pids 2>/dev/null || true
				sleep 0.05
				break
			fi
			sleep 0.05
		done
	done
}

# A new namespace with lo up, rp_filter off and no DAD, before any link.
_cluster_ns_new() { # NAME [forwarding]
	local ns=$CLUSTER_P-$1
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up || return 1
	ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 || return 1
	if [ "${2:-}" = forwarding ]; then
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 \
			net.ipv6.conf.all.forwarding=1 || return 1
	fi
}

# The body of the topology, in a subshell with set -e of its own (set -e
# does not work in a function called from an `if` or `||`).
_cluster_build() { # P L N S
	local p=$1 l=$2 n=$3 s=$4 i j
	local c=$p-c g=$p-g
	trap 'echo "cluster: failed: $BASH_COMMAND" >&2' ERR
	_cluster_ns_new c
	_cluster_ns_new g forwarding
	ip netns exec "$g" sysctl -qw net.ipv4.fib_multipath_hash_policy=1 \
		net.ipv6.fib_multipath_hash_policy=1
	for ((i = 1; i <= l; i++)); do _cluster_ns_new "lb$i" forwarding; done
	for ((j = 1; j <= n; j++)); do _cluster_ns_new "n$j" forwarding; done

	# client <-> gateway
	ip link add "${p}c" netns "$c" type veth peer name "${p}g0" netns "$g"
	ip -n "$c" addr add "$CLUSTER_CLIENT4/24" dev "${p}c"
	ip -n "$c" addr add "$CLUSTER_CLIENT6/64" dev "${p}c" nodad
	for ((j = 0; j < s; j++)); do
		ip -n "$c" addr add "$(cluster_source_addr "$j")/24" dev "${p}c"
		ip -n "$c" addr add "$(cluster_source_addr "$j" 6)/64" dev "${p}c" nodad
	done
	ip -n "$g" addr add 198.18.0.1/24 dev "${p}g0"
	ip -n "$g" addr add fd00::1/64 dev "${p}g0" nodad
	ip -n "$c" link set "${p}c" up
	ip -n "$g" link set "${p}g0" up
	ip -n "$c" route add default via 198.18.0.1
	ip -n "$c" -6 route add default via fd00::1

	# gateway bridge <-> LB fronts
	ip -n "$g" link add "${p}gb" type bridge stp_state 0 mcast_snooping 0
	ip -n "$g" addr add 198.18.1.1/24 dev "${p}gb"
	ip -n "$g" addr add fd00:1::1/64 dev "${p}gb" nodad
	ip -n "$g" link set "${p}gb" up
	for ((i = 1; i <= l; i++)); do
		ip link add "${p}g$i" netns "$g" type veth peer name "${p}f$i" netns "$p-lb$i"
		ip -n "$g" link set "${p}g$i" master "${p}gb"
		ip -n "$g" link set "${p}g$i" up
		ip -n "$p-lb$i" addr add "$(cluster_lb_addr "$i")/24" dev "${p}f$i"
		ip -n "$p-lb$i" addr add "$(cluster_lb_addr "$i" 6)/64" dev "${p}f$i" nodad
		ip -n "$p-lb$i" link set "${p}f$i" up
		ip -n "$p-lb$i" route add default via 198.18.1.1
		ip -n "$p-lb$i" -6 route add default via fd00:1::1
	done
	_cluster_wait_up c g $(seq -f "lb%g" 1 "$l")
}

# A veth sends nothing until the kernel's link watcher has given it its
# qdisc ("noop" until then drops every packet): wait for it.
_cluster_wait_up() { # NAME...
	local name out end=$((SECONDS + 5))
	for name in "$@"; do
		until out=$(ip -n "$CLUSTER_P-$name" -o link show type veth) &&
			_cluster_all_up "$out"; do
			if [ $SECONDS -ge $end ]; then
				echo "cluster: links of $name not up after 5 s: $out" >&2
				return 1
			fi
			sleep 0.02
		done
	done
}
_cluster_all_up() {
	local line
	while read -r line; do
		[ -z "$line" ] && continue
		[[ $line == *"state UP"* && $line != *"qdisc noop"* ]] || return 1
	done <<<"$1"
}

# ---- the gateway's routes (BGP's part) --------------------------------------

_cluster_gw_route() {
	local g=$CLUSTER_P-g i nh4=() nh6=()
	for ((i = 1; i <= CLUSTER_L; i++)); do
		[ "${CLUSTER_GW_UP[$i]:-0}" = 1 ] || continue
		nh4+=(nexthop via "$(cluster_lb_addr "$i")" dev "${CLUSTER_P}gb")
		nh6+=(nexthop via "$(cluster_lb_addr "$i" 6)" dev "${CLUSTER_P}gb")
	done
	if [ ${#nh4[@]} -eq 0 ]; then
		ip -n "$g" route del "$CLUSTER_VIPNET4" 2>/dev/null || true
		ip -n "$g" -6 route del "$CLUSTER_VIPNET6" 2>/dev/null || true
		return 0
	fi
	ip -n "$g" route replace "$CLUSTER_VIPNET4" "${nh4[@]}" || return 1
	ip -n "$g" -6 route replace "$CLUSTER_VIPNET6" "${nh6[@]}" || return 1
}
cluster_gw_withdraw() { CLUSTER_GW_UP[$1]=0; _cluster_gw_route; }
cluster_gw_restore() { CLUSTER_GW_UP[$1]=1; _cluster_gw_route; }

# ---- configuration ----------------------------------------------------------

_cluster_sorted() { [ $# -eq 0 ] || printf '%s\n' "$@" | sort; }

cluster_config() {
	while [ $# -gt 0 ]; do
		case $1 in
		--vip) [[ ${2:-} == *=* ]] || { echo "cluster_config: --vip NAME=CIDR" >&2; return 2; }
			CLUSTER_VIPS[${2%%=*}]=${2#*=}; shift 2 ;;
		--no-vip) unset "CLUSTER_VIPS[${2:?}]"; shift 2 ;;
		--stream) local max=$CLUSTER_MAX_TARGETS
			[[ ${2:?} == *:* ]] && max=${2#*:}
			CLUSTER_STREAMS[${2%%:*}]=$max; shift 2 ;;
		--no-stream) unset "CLUSTER_STREAMS[${2:?}]"; shift 2 ;;
		--flow) CLUSTER_FLOWS[${2:?}]=${3:?}; shift 3 ;;
		--no-flow) unset "CLUSTER_FLOWS[${2:?}]"; shift 2 ;;
		*) echo "cluster_config: unknown option $1" >&2; return 2 ;;
		esac
	done
	_cluster_write_config
}

_cluster_write_config() {
	local d=$CLUSTER_CFG new old f n names
	new=$(mktemp -d "$d/..data.XXXXXX") || return 1
	echo "name: $CLUSTER_TRENCH" >"$new/trench"
	printf 'items:\n  - name: %s\n    trench: %s\n' "$CLUSTER_CONDUIT" "$CLUSTER_TRENCH" >"$new/conduits"
	echo "items:" >"$new/streams"
	for n in $(_cluster_sorted "${!CLUSTER_STREAMS[@]}"); do
		printf '  - name: %s\n    trench: %s\n    conduit: %s\n    max-targets: %s\n' \
			"$n" "$CLUSTER_TRENCH" "$CLUSTER_CONDUIT" "${CLUSTER_STREAMS[$n]}" >>"$new/streams"
	done
	echo "items:" >"$new/vips"
	names=
	for n in $(_cluster_sorted "${!CLUSTER_VIPS[@]}"); do
		printf '  - name: %s\n    trench: %s\n    address: %s\n' \
			"$n" "$CLUSTER_TRENCH" "${CLUSTER_VIPS[$n]}" >>"$new/vips"
		names+="${names:+, }$n"
	done
	echo "items:" >"$new/flows"
	for n in $(_cluster_sorted "${!CLUSTER_FLOWS[@]}"); do
		f=${CLUSTER_FLOWS[$n]}
		printf '  - {name: %s, trench: %s, %s}\n' "$n" "$CLUSTER_TRENCH" "${f//@vips/$names}" >>"$new/flows"
	done
	for f in trench conduits streams vips flows; do
		[ -L "$d/$f" ] || ln -s "..data/$f" "$d/$f"
	done
	old=$(readlink "$d/..data" 2>/dev/null || true)
	ln -s "$(basename "$new")" "$d/..data_tmp"
	mv -T "$d/..data_tmp" "$d/..data"
	[ -n "$old" ] && rm -rf "${d:?}/$old"
	return 0
}

# ---- processes ----------------------------------------------------------------

# _cluster_bg NAME KEY CMD...: CMD in namespace NAME in the background,
# logging to $WORK/KEY.log; CLUSTER_PID[KEY] is the process itself (ip
# netns exec execs it).
_cluster_bg() {
	local ns=$CLUSTER_P-$1 key=$2
	shift 2
	ip netns exec "$ns" "$@" >>"$WORK/$key.log" 2>&1 &
	CLUSTER_PID[$key]=$!
	PIDS+=("$!")
}

# _cluster_wait WHAT KEY SECONDS COMMAND...: waits for COMMAND; fails at
# once, with the exit status and the log's tail, if the process KEY ends
# first (a bad option, a refused store) instead of timing out.
_cluster_wait() {
	local what=$1 key=$2 limit=$3 pid rc
	shift 3
	pid=${CLUSTER_PID[$key]}
	local end=$((SECONDS + limit))
	until "$@" >/dev/null 2>&1; do
		if ! kill -0 "$pid" 2>/dev/null; then
			rc=0
			wait "$pid" 2>/dev/null || rc=$?
			tail -n 5 "$WORK/$key.log" >&2 2>/dev/null || true
			fail "$what exited with status $rc"
		fi
		[ $SECONDS -lt $end ] || fail "timed out after ${limit}s waiting for $what"
		sleep 0.05
	done
}

_cluster_kill() { # KEY SIGNAL
	local pid=${CLUSTER_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill "-${2:-KILL}" "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "CLUSTER_PID[$1]"
}

_cluster_alive() { [ -n "${CLUSTER_PID[$1]:-}" ] && kill -0 "${CLUSTER_PID[$1]}" 2>/dev/null; }

_cluster_nsp_start() {
	"$BIN/strait-nsp" -l "unix:$WORK/nsp.sock" -m off -s "$WORK/nsp.db" \
		-c "$CLUSTER_CFG" $CLUSTER_NSP_ARGS >>"$WORK/nsp.log" 2>&1 &
	CLUSTER_PID[nsp]=$!
	PIDS+=("$!")
	_cluster_wait strait-nsp nsp 10 nspctl nsp list
}

_cluster_ipam_start() {
	"$BIN/strait-ipam" -l "unix:$WORK/ipam.sock" -m off -s "$WORK/ipam.db" \
		--ipv4 169.255.0.0/16:20:24 --ipv6 fd00:200::/48:56:64 \
		$CLUSTER_IPAM_ARGS >>"$WORK/ipam.log" 2>&1 &
	CLUSTER_PID[ipam]=$!
	PIDS+=("$!")
	_cluster_wait strait-ipam ipam 10 ipamctl ipam tree
}

_cluster_frontends() { # N: NSP holds N FRONTEND registrations of c1
	local out
	out=$(nspctl --json nsp list --type frontend --conduit "$CLUSTER_CONDUIT") || return 1
	[ "$(jq '.targets | length' <<<"$out")" -eq "$1" ]
}
_cluster_registered() { # I: LB i's front address is registered
	local out
	out=$(nspctl --json nsp list --type frontend --conduit "$CLUSTER_CONDUIT") || return 1
	jq -e --arg a "$(cluster_lb_addr "$1")/24" '[.targets[].ips[] | select(. == $a)] | length > 0' <<<"$out" >/dev/null
}

cluster_lb_start() { # I
	local i=$1
	_cluster_bg "lb$i" "lb$i" "$BIN/strait-lb" --trench "$CLUSTER_TRENCH" \
		--conduit "$CLUSTER_CONDUIT" --nsp "unix:$WORK/nsp.sock" --queues 0:1 \
		--register "$(cluster_lb_addr "$i")/24" --register "$(cluster_lb_addr "$i" 6)/64" \
		--netns "/run/netns/$CLUSTER_P-lb$i" --control "unix:$WORK/lb$i.sock" \
		-m 127.0.0.1:9779 $CLUSTER_LB_ARGS
	_cluster_wait "strait-lb $i" "lb$i" 10 lbctl "$i" lb status
	_cluster_wait "strait-lb $i's FRONTEND registration" "lb$i" 10 _cluster_registered "$i"
	CLUSTER_LB_UP[$i]=1
}

cluster_lb_kill() { # I [SIGNAL]
	_cluster_kill "lb$1" "${2:-KILL}"
	CLUSTER_LB_UP[$1]=0
}

# The links a node's proxy made in LB i's namespace: every link but lo and
# the front.
_cluster_lb_links() { # I
	local out
	out=$(ip -n "$CLUSTER_P-lb$1" -o link show) || return 1
	grep -cv -e ': lo:' -e ": ${CLUSTER_P}f$1@" <<<"$out" || true
}
cluster_linked() {
	local i j live=0
	for ((j = 1; j <= CLUSTER_N; j++)); do _cluster_alive "proxy-n$j" && live=$((live + 1)); done
	for ((i = 1; i <= CLUSTER_L; i++)); do
		[ "${CLUSTER_LB_UP[$i]:-0}" = 1 ] || continue
		[ "$(_cluster_lb_links "$i")" -ge "$live" ] || return 1
	done
}

cluster_proxy_start() { # J
	local j=$1
	mkdir -p "$WORK/n$j"
	_cluster_bg "n$j" "proxy-n$j" "$BIN/strait-proxy" --trench "$CLUSTER_TRENCH" \
		--conduit "$CLUSTER_CONDUIT" --node "n$j" --nsp "unix:$WORK/nsp.sock" \
		--ipam "unix:$WORK/ipam.sock" \
		--local "unix:$WORK/n$j/proxy-$CLUSTER_CONDUIT.sock" \
		--store "$WORK/proxy-n$j.db" -m 127.0.0.1:9780 $CLUSTER_PROXY_ARGS
	_cluster_wait "strait-proxy n$j" "proxy-n$j" 15 test -S "$WORK/n$j/proxy-$CLUSTER_CONDUIT.sock"
}

cluster_proxy_kill() { _cluster_kill "proxy-n$1" "${2:-KILL}"; }

_cluster_target_up() { "$BIN/strait-target" status --control "unix:$WORK/$1.sock"; }

cluster_target_start() { # POD
	local pod=$1 j
	j=$(_cluster_node_of "$pod")
	_cluster_bg "$pod" "target-$pod" "$BIN/strait-target" daemon --pod "$pod" \
		--nsp "unix:$WORK/nsp.sock" --proxy-dir "$WORK/n$j" \
		--control "unix:$WORK/$pod.sock" $CLUSTER_TARGET_ARGS
	_cluster_wait "strait-target $pod" "target-$pod" 10 _cluster_target_up "$pod"
}

cluster_target_kill() { _cluster_kill "target-$1" "${2:-KILL}"; }

cluster_pod_add() { # J [NAME]
	local j=$1 pod=${2:-} k=1
	if [ -z "$pod" ]; then
		while [ -e "/run/netns/$CLUSTER_P-n${j}p$k" ]; do k=$((k + 1)); done
		pod=n${j}p$k
	fi
	_cluster_ns_new "$pod" || fail "cannot create the namespace of pod $pod"
	_cluster_bg "$pod" "server-$pod" "$BIN/strait-traffic" server --port 5003 --name "$pod"
	cluster_target_start "$pod"
	CLUSTER_PODS+=("$pod")
	CLUSTER_POD=$pod
}

cluster_pod_del() { # POD
	local pod=$1 p keep=()
	cluster_target_kill "$pod" TERM
	_cluster_kill "server-$pod" TERM
	ip netns del "$CLUSTER_P-$pod" 2>/dev/null || true
	for p in "${CLUSTER_PODS[@]}"; do [ "$p" = "$pod" ] || keep+=("$p"); done
	CLUSTER_PODS=("${keep[@]}")
}

# strait-target open/close, in the pod; its output goes to the pod's log,
# and to stderr when it fails.
_cluster_stream() { # open|close POD STREAM
	local out rc=0
	out=$(cluster_exec "$2" "$BIN/strait-target" "$1" --trench "$CLUSTER_TRENCH" \
		--conduit "$CLUSTER_CONDUIT" --stream "$3" --control "unix:$WORK/$2.sock" 2>&1) || rc=$?
	echo "$out" >>"$WORK/target-$2.log"
	[ $rc -eq 0 ] || echo "strait-target $1 $3 in $2: exit $rc: $out" >&2
	return $rc
}
cluster_open() { _cluster_stream open "$1" "$2"; }
cluster_close() { _cluster_stream close "$1" "$2"; }

cluster_open_all() { # STREAM
	local pod
	for pod in "${CLUSTER_PODS[@]}"; do cluster_open "$pod" "$1" || fail "$pod cannot open $1"; done
	wait_for 20 "${#CLUSTER_PODS[@]} ready targets in $1 on every LB" cluster_ready "$1" "${#CLUSTER_PODS[@]}"
}

cluster_ready() { # STREAM N
	local i out
	for ((i = 1; i <= CLUSTER_L; i++)); do
		[ "${CLUSTER_LB_UP[$i]:-0}" = 1 ] || continue
		out=$(lbctl "$i" --json lb streams 2>/dev/null) || return 1
		[ "$(jq --arg s "$1" '[.streams[] | select(.name == $s) | .targets[] | select(.ready)] | length' <<<"$out")" -eq "$2" ] || return 1
	done
}

cluster_traffic() { # NAME ARGS...
	local name=$1
	shift
	rm -f "$WORK/$name.status" "$WORK/$name.json"
	ip netns exec "$CLUSTER_P-c" "$BIN/strait-traffic" client --status "$WORK/$name.status" \
		--json "$@" >"$WORK/$name.json" 2>>"$WORK/$name.log" &
	CLUSTER_TRAFFIC_PID=$!
	PIDS+=("$!")
}

cluster_stat() { jq -r "$2" "$WORK/$1.status" 2>/dev/null; } # NAME JQ

cluster_start() {
	local l=2 n=2 k=2 s=8 i j q rc errexit=0 name v lo hi
	while [ $# -gt 0 ]; do
		case $1 in
		--lbs) l=${2:-}; shift 2 ;;
		--nodes) n=${2:-}; shift 2 ;;
		--targets) k=${2:-}; shift 2 ;;
		--sources) s=${2:-}; shift 2 ;;
		--max-targets) CLUSTER_MAX_TARGETS=${2:-}; shift 2 ;;
		*) echo "cluster_start: unknown option $1" >&2; return 2 ;;
		esac
	done
	for q in "lbs:$l:1:9" "nodes:$n:0:20" "targets:$k:0:50" "sources:$s:0:200" \
		"max-targets:$CLUSTER_MAX_TARGETS:1:1000"; do
		IFS=: read -r name v lo hi <<<"$q"
		if ! [[ $v =~ ^[0-9]+$ ]] || [ "$v" -lt "$lo" ] || [ "$v" -gt "$hi" ]; then
			echo "cluster_start: --$name must be $lo..$hi" >&2
			return 2
		fi
	done
	[ -n "$CLUSTER_P" ] || { echo "cluster_start: cluster_init first" >&2; return 2; }
	CLUSTER_L=$l CLUSTER_N=$n CLUSTER_SOURCES=$s
	export STRAIT_NSP=unix:$WORK/nsp.sock STRAIT_IPAM=unix:$WORK/ipam.sock

	[[ $- == *e* ]] && errexit=1
	set +e
	(
		set -e
		_cluster_build "$CLUSTER_P" "$l" "$n" "$s"
	)
	rc=$?
	[ $errexit = 1 ] && set -e
	[ $rc -eq 0 ] || fail "the topology could not be built"

	CLUSTER_CFG=$WORK/config
	mkdir -p "$CLUSTER_CFG"
	CLUSTER_VIPS=([v4]=$CLUSTER_VIP4/32 [v6]=$CLUSTER_VIP6/128)
	CLUSTER_STREAMS=([s1]=$CLUSTER_MAX_TARGETS [s2]=$CLUSTER_MAX_TARGETS)
	CLUSTER_FLOWS=([f1]='stream: s1, vips: [@vips], protocols: [tcp, udp, icmp, icmpv6], priority: 1')
	_cluster_write_config
	_cluster_nsp_start
	_cluster_ipam_start
	for ((i = 1; i <= l; i++)); do
		cluster_lb_start "$i"
		CLUSTER_GW_UP[$i]=1
	done
	_cluster_gw_route || fail "the gateway's routes to the LBs"
	for ((j = 1; j <= n; j++)); do cluster_proxy_start "$j"; done
	wait_for 20 "every node's proxy to link every LB" cluster_linked
	for ((j = 1; j <= n; j++)); do
		for ((i = 1; i <= k; i++)); do cluster_pod_add "$j" "n${j}p$i"; done
	done
}
