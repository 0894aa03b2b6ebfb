# shellcheck shell=bash disable=SC2034,SC2086
# East-west service traffic through strait-tun in network namespaces:
# sourced, never run. Needs tests/integration/lib.sh sourced first (WORK,
# BIN, PIDS, wait_for, fail, skip, ok).
#
#   T-u        the underlay router: one link per node, 198.18.<j>.1/24 and
#              fd00:18:<j>::1/64 on link j (link j's MTU --mtu-of J=M)
#   T-n<j>     node j: underlay 198.18.<j>.2/24 fd00:18:<j>::2/64, default
#              via the router; a bridge for its pods with 198.19.<j>.1/24
#              and fd00:19:<j>::1/64; strait-tun --node n<j> --underlay
#              198.18.<j>.2 (metrics 127.0.0.1:9782 on its own loopback,
#              control socket unix:$WORK/tun<j>.sock)
#   T-n<j>p<k> pod k of node j: 198.19.<j>.<10+k>/24 fd00:19:<j>::<10+k>/64,
#              default via the node; strait-traffic server --name n<j>p<k>
#              on port 5003 (TCP and UDP). With --routed, no bridge: each
#              pod has a veth of its own to the node, /32 and /128
#              addresses, default via 198.19.<j>.1 and fe80::1 (the node's
#              end of every pod's veth), so that pods of one node reach
#              each other through the node's routing (as Calico and Cilium
#              wire pods), not across a bridge
#   root ns    strait-nsp on unix:$WORK/nsp.sock (config $WORK/config):
#              trench trench-a, service web 198.19.200.10 fd00:19:200::10
#              (policy spread, max-instances 10). No link, route or address
#              is added to the root namespace.
#
# Service prefixes (every strait-tun): 198.19.200.0/24 and fd00:19:200::/64.
# Pods of different nodes have no route to each other except through the
# tunnel. rp_filter is off in every namespace.
#
# Functions:
#   tunnel_need [NAME...]        skips (77) unless our binaries and NAMEs are there
#   tunnel_init NAME             skips (77) unless root and namespaces; EXIT
#                                trap removes every namespace and process
#   tunnel_start [--nodes N] [--pods K] [--mtu-of J=M]... [--routed]
#                                the topology, NSP, a strait-tun per node
#                                (each registered), the pods and servers
#   tunnel_tun_start J [ARGS...] / tunnel_tun_kill J [SIGNAL=TERM]
#   tunnel_instance_add POD [SERVICE=web]   registers POD as an instance
#                                (straitctl nsp register --keep, in the
#                                background; TUNNEL_REG[POD] is its pid) and
#                                waits until every strait-tun has it
#   tunnel_instance_del POD      stops that registration (SIGTERM:
#                                unregisters) and waits until every
#                                strait-tun has dropped it
#   tunnel_metric J NAME [LABELS] prints node j's metric value (0 if absent)
#   tunnel_status J [--json]     straitctl tun status against node j
#   tunnel_exec POD CMD...       runs CMD in the pod's namespace (or a
#                                node's, n<j>, or the router's, u)
#   nspctl ARGS...               straitctl against this NSP
#   tunnel_traffic NAME POD ARGS strait-traffic client in POD, in the
#                                background (TUNNEL_TRAFFIC_PID); status
#                                every 200 ms in $WORK/NAME.status, report
#                                $WORK/NAME.json
#   tunnel_stat NAME JQ          a value of NAME's status file
#   tunnel_trench_tag TRENCH     the strait header's tag (XXH32), 8 hex digits
#   tunnel_hdr_hex [V] [FLAGS] [TAG]   a strait header as hex
#   tunnel_ip4_udp_hex SRC DST SPORT DPORT PAYLOAD_HEX   an IPv4 UDP packet
#   tunnel_send_hex NS HOST PORT HEX...   one UDP datagram per HEX from
#                                namespace NS (bash /dev/udp, no tool)

TUNNEL_SERVICE4=198.19.200.10
TUNNEL_SERVICE6=fd00:19:200::10
declare -A TUNNEL_REG=()
declare -A TUNNEL_TUN=()

nspctl() { "$BIN/straitctl" --nsp "unix:$WORK/nsp.sock" "$@"; }

tunnel_init() { # NAME
	[ "$(id -u)" = 0 ] || skip "needs root"
	command -v jq >/dev/null || skip "jq is not installed"
	TUNNEL_P=${TUNNEL_PREFIX:-$1$$}
	trap 'rc=$?; set +e; tunnel_destroy; (exit $rc); cleanup' EXIT
	ip netns add "$TUNNEL_P-x" 2>/dev/null || skip "cannot create network namespaces"
	ip netns del "$TUNNEL_P-x"
}

tunnel_names() { ip netns list | awk -v p="$TUNNEL_P-" 'index($1, p) == 1 {print $1}'; }

tunnel_destroy() {
	local ns pids
	[ -n "${TUNNEL_P:-}" ] || return 0
	for ns in $(tunnel_names); do
		pids=$(ip netns pids "$ns" 2>/dev/null) || true
		[ -n "$pids" ] && kill -TERM $pids 2>/dev/null
	done
	for p in "${TUNNEL_REG[@]}"; do kill -TERM "$p" 2>/dev/null; done
	local end=$((SECONDS + 3))
	for ns in $(tunnel_names); do
		while pids=$(ip netns pids "$ns" 2>/dev/null) && [ -n "$pids" ] && [ $SECONDS -lt $end ]; do
			sleep 0.05
		done
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	done
	for ns in $(tunnel_names); do ip netns del "$ns" 2>/dev/null; done
	return 0
}

_tunnel_ns() { # NAME
	local ns=$TUNNEL_P-$1
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1
}

tunnel_exec() { local pod=$1; shift; ip netns exec "$TUNNEL_P-$pod" "$@"; }

# tunnel_need [NAME...]: skips (77) unless strait-tun, strait-nsp,
# strait-traffic and straitctl are built in $BIN, and every NAME too (ours:
# strait* and pktcraft) or installed (any other).
tunnel_need() {
	local b
	for b in strait-tun strait-nsp strait-traffic straitctl "$@"; do
		case $b in
		strait* | pktcraft) [ -x "$BIN/$b" ] || skip "$BIN/$b is not built yet" ;;
		*) command -v "$b" >/dev/null || skip "$b is not installed" ;;
		esac
	done
}

_tunnel_config() {
	local d=$WORK/config
	mkdir -p "$d"
	echo "name: trench-a" >"$d/trench"
	cat >"$d/services" <<EOF
items:
  - name: web
    trench: trench-a
    addresses: [$TUNNEL_SERVICE4, $TUNNEL_SERVICE6]
    policy: spread
    max-instances: 10
EOF
}

_tunnel_build() { # N K MTUSPEC ROUTED(0|1)
	local n=$1 k=$2 mtus=$3 routed=$4 j i p=$TUNNEL_P m v
	trap 'echo "tunnel: failed: $BASH_COMMAND" >&2' ERR
	set -e
	_tunnel_ns u
	for ((j = 1; j <= n; j++)); do
		_tunnel_ns "n$j"
		ip link add "${p}u$j" netns "$p-u" type veth peer name "${p}n$j" netns "$p-n$j"
		m=$(sed -n "s/.*\b$j=\([0-9]*\).*/\1/p" <<<"$mtus")
		if [ -n "$m" ]; then
			ip -n "$p-u" link set "${p}u$j" mtu "$m"
			ip -n "$p-n$j" link set "${p}n$j" mtu "$m"
		fi
		ip -n "$p-u" addr add "198.18.$j.1/24" dev "${p}u$j"
		ip -n "$p-u" addr add "fd00:18:$j::1/64" dev "${p}u$j" nodad
		ip -n "$p-u" link set "${p}u$j" up
		ip -n "$p-n$j" addr add "198.18.$j.2/24" dev "${p}n$j"
		ip -n "$p-n$j" addr add "fd00:18:$j::2/64" dev "${p}n$j" nodad
		ip -n "$p-n$j" link set "${p}n$j" up
		ip -n "$p-n$j" route add default via "198.18.$j.1"
		ip -n "$p-n$j" -6 route add default via "fd00:18:$j::1"
		if [ "$routed" = 0 ]; then
			ip -n "$p-n$j" link add "${p}b$j" type bridge
			ip -n "$p-n$j" addr add "198.19.$j.1/24" dev "${p}b$j"
			ip -n "$p-n$j" addr add "fd00:19:$j::1/64" dev "${p}b$j" nodad
			ip -n "$p-n$j" link set "${p}b$j" up
		fi
		for ((i = 1; i <= k; i++)); do
			_tunnel_ns "n${j}p$i"
			v=${p}v$j$i
			ip link add "$v" netns "$p-n$j" type veth peer name eth0 netns "$p-n${j}p$i"
			ip -n "$p-n${j}p$i" link set eth0 up
			if [ "$routed" = 1 ]; then
				ip -n "$p-n$j" addr add "198.19.$j.1/32" dev "$v"
				ip -n "$p-n$j" addr add fe80::1/64 dev "$v" nodad
				ip -n "$p-n$j" link set "$v" up
				ip -n "$p-n$j" route add "198.19.$j.$((10 + i))/32" dev "$v"
				ip -n "$p-n$j" -6 route add "fd00:19:$j::$((10 + i))/128" dev "$v"
				ip -n "$p-n${j}p$i" addr add "198.19.$j.$((10 + i))/32" dev eth0
				ip -n "$p-n${j}p$i" addr add "fd00:19:$j::$((10 + i))/128" dev eth0 nodad
				ip -n "$p-n${j}p$i" route add "198.19.$j.1" dev eth0
				ip -n "$p-n${j}p$i" route add default via "198.19.$j.1"
				ip -n "$p-n${j}p$i" -6 route add default via fe80::1 dev eth0
				continue
			fi
			ip -n "$p-n$j" link set "$v" master "${p}b$j" up
			ip -n "$p-n${j}p$i" addr add "198.19.$j.$((10 + i))/24" dev eth0
			ip -n "$p-n${j}p$i" addr add "fd00:19:$j::$((10 + i))/64" dev eth0 nodad
			ip -n "$p-n${j}p$i" route add default via "198.19.$j.1"
			ip -n "$p-n${j}p$i" -6 route add default via "fd00:19:$j::1"
		done
	done
}

tunnel_pod_addr() { # POD FAMILY(4|6)
	local j=${1#n}; j=${j%%p*}; local i=${1##*p}
	if [ "$2" = 4 ]; then echo "198.19.$j.$((10 + i))"; else echo "fd00:19:$j::$((10 + i))"; fi
}

tunnel_tun_start() { # J [ARGS...]
	local j=$1; shift
	ip netns exec "$TUNNEL_P-n$j" "$BIN/strait-tun" --trench trench-a --node "n$j" \
		--underlay "198.18.$j.2" --nsp "unix:$WORK/nsp.sock" -m 127.0.0.1:9782 \
		--control "unix:$WORK/tun$j.sock" \
		--service-prefix 198.19.200.0/24 --service-prefix fd00:19:200::/64 \
		--log-level debug "$@" >>"$WORK/tun$j.log" 2>&1 &
	TUNNEL_TUN[$j]=$!
	PIDS+=("$!")
	wait_for 10 "strait-tun on n$j ready" _tunnel_ready "$j"
}

_tunnel_ready() { [ "$(tunnel_metric "$1" strait_tun_tables_ready)" = 1 ] &&
	[ "$(tunnel_metric "$1" strait_tun_nsp_registered)" = 1 ]; }

tunnel_tun_kill() { # J [SIGNAL]
	local j=$1 sig=${2:-TERM} pid=${TUNNEL_TUN[$1]}
	kill "-$sig" "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

tunnel_metric() { # J NAME [LABELS]
	local out
	out=$(ip netns exec "$TUNNEL_P-n$1" curl -s --max-time 2 http://127.0.0.1:9782/metrics 2>/dev/null) || { echo 0; return; }
	awk -v n="$2" -v l="${3:-}" '$1 == n || $1 == n "{" l "}" { v = $2 } END { print v == "" ? 0 : v }' <<<"$out"
}

# tunnel_status J [--json] [ARGS...]: straitctl tun status against node j's
# control socket (a Unix socket: reachable from the root namespace).
tunnel_status() {
	local j=$1; shift
	"$BIN/straitctl" --tun "unix:$WORK/tun$j.sock" tun status "$@"
}

tunnel_start() {
	local n=3 k=2 mtus="" routed=0
	while [ $# -gt 0 ]; do
		case $1 in
		--nodes) n=$2; shift 2 ;;
		--routed) routed=1; shift ;;
		--pods) k=$2; shift 2 ;;
		--mtu-of) mtus="$mtus $2"; shift 2 ;;
		*) echo "tunnel_start: unknown option $1" >&2; return 2 ;;
		esac
	done
	TUNNEL_NODES=$n TUNNEL_PODS=$k
	(_tunnel_build "$n" "$k" "$mtus" "$routed") || fail "building the topology"
	_tunnel_config
	"$BIN/strait-nsp" -l "unix:$WORK/nsp.sock" -m off -s "$WORK/nsp.db" \
		-c "$WORK/config" >>"$WORK/nsp.log" 2>&1 &
	PIDS+=("$!")
	wait_for 10 "strait-nsp" nspctl nsp list
	local j i
	for ((j = 1; j <= n; j++)); do tunnel_tun_start "$j"; done
	for ((j = 1; j <= n; j++)); do
		for ((i = 1; i <= k; i++)); do
			tunnel_exec "n${j}p$i" "$BIN/strait-traffic" server --name "n${j}p$i" \
				>>"$WORK/server-n${j}p$i.log" 2>&1 &
			PIDS+=("$!")
		done
	done
}

_tunnel_all_have() { # N [SERVICE]: every strait-tun sees N instances of it (web)
	local j
	for ((j = 1; j <= TUNNEL_NODES; j++)); do
		[ "$(tunnel_metric "$j" strait_tun_instances "service=\"${2:-web}\",where=\"all\"")" = "$1" ] || return 1
	done
}

tunnel_instance_add() { # POD [SERVICE]
	local pod=$1 svc=${2:-web} j before
	j=${pod#n}; j=${j%%p*}
	before=$(tunnel_metric 1 strait_tun_instances "service=\"$svc\",where=\"all\"")
	"$BIN/straitctl" --nsp "unix:$WORK/nsp.sock" nsp register --type instance \
		--trench trench-a --service "$svc" --ip "$(tunnel_pod_addr "$pod" 4)/32" \
		--ip "$(tunnel_pod_addr "$pod" 6)/128" --context "node=n$j" --keep \
		>>"$WORK/reg-$pod.log" 2>&1 &
	TUNNEL_REG[$pod]=$!
	PIDS+=("$!")
	wait_for 10 "every strait-tun has instance $pod of $svc" _tunnel_all_have $((before + 1)) "$svc"
}

tunnel_instance_del() { # POD [SERVICE]
	local pod=$1 svc=${2:-web} before
	before=$(tunnel_metric 1 strait_tun_instances "service=\"$svc\",where=\"all\"")
	kill -TERM "${TUNNEL_REG[$pod]}"
	wait "${TUNNEL_REG[$pod]}" 2>/dev/null || true
	unset "TUNNEL_REG[$pod]"
	wait_for 10 "every strait-tun dropped instance $pod of $svc" _tunnel_all_have $((before - 1)) "$svc"
}

# ---- traffic and forged datagrams (the e2e tests') --------------------------

# tunnel_traffic NAME POD ARGS...: strait-traffic client in POD's namespace,
# in the background (TUNNEL_TRAFFIC_PID); its status every 200 ms in
# $WORK/NAME.status, its final report in $WORK/NAME.json, stderr in
# $WORK/NAME.log. tunnel_stat NAME JQ reads the status file.
tunnel_traffic() {
	local name=$1 pod=$2
	shift 2
	rm -f "$WORK/$name.status" "$WORK/$name.json"
	# ip netns exec itself, not tunnel_exec (a function would run in a
	# subshell): the pid is the client's, for kill -TERM and wait.
	ip netns exec "$TUNNEL_P-$pod" "$BIN/strait-traffic" client --status "$WORK/$name.status" \
		--json "$@" >"$WORK/$name.json" 2>>"$WORK/$name.log" &
	TUNNEL_TRAFFIC_PID=$!
	PIDS+=("$!")
}
tunnel_stat() { jq -r "$2" "$WORK/$1.status" 2>/dev/null; } # NAME JQ

# tunnel_trench_tag TRENCH: the strait header's trench tag, XXH32(TRENCH,
# seed 0), as 8 hex digits (pure bash, so the tests need no extra tool).
tunnel_trench_tag() {
	local s=$1 n=${#1} i q k h
	local P1=0x9E3779B1 P2=0x85EBCA77 P3=0xC2B2AE3D P4=0x27D4EB2F P5=0x165667B1
	local -a b=() v=()
	for ((i = 0; i < n; i++)); do printf -v k '%d' "'${s:i:1}"; b+=("$((k & 0xff))"); done
	# 32-bit product and rotation without relying on 64-bit overflow
	_xm() { echo $(((($1 * ($2 & 0xffff)) + ((($1 * ($2 >> 16)) & 0xffff) << 16)) & 0xffffffff)); }
	_xr() { echo $(((($1 << $2) | ($1 >> (32 - $2))) & 0xffffffff)); }
	_xw() { echo $((b[$1] | b[$1 + 1] << 8 | b[$1 + 2] << 16 | b[$1 + 3] << 24)); }
	i=0
	if ((n >= 16)); then
		v=("$(((P1 + P2) & 0xffffffff))" "$P2" 0 "$(((0 - P1) & 0xffffffff))")
		while ((i + 16 <= n)); do
			for q in 0 1 2 3; do
				k=$(((v[q] + $(_xm "$(_xw $i)" $P2)) & 0xffffffff))
				v[q]=$(_xm "$(_xr "$k" 13)" $P1)
				i=$((i + 4))
			done
		done
		h=$((($(_xr "${v[0]}" 1) + $(_xr "${v[1]}" 7) + $(_xr "${v[2]}" 12) + $(_xr "${v[3]}" 18)) & 0xffffffff))
	else
		h=$P5
	fi
	h=$(((h + n) & 0xffffffff))
	for (( ; i + 4 <= n; i += 4)); do
		h=$(((h + $(_xm "$(_xw $i)" $P3)) & 0xffffffff))
		h=$(_xm "$(_xr "$h" 17)" $P4)
	done
	for (( ; i < n; i++)); do
		h=$(((h + $(_xm "${b[i]}" $P5)) & 0xffffffff))
		h=$(_xm "$(_xr "$h" 11)" $P1)
	done
	h=$((h ^ (h >> 15))); h=$(_xm "$h" $P2)
	h=$((h ^ (h >> 13))); h=$(_xm "$h" $P3)
	h=$((h ^ (h >> 16)))
	printf '%08x\n' "$h"
}

# tunnel_hdr_hex [VERSION=1] [FLAGS=0] [TAG=trench-a's]: a strait header
# (docs/tun.md, "Wire format") as hex.
tunnel_hdr_hex() {
	printf '%02x%02x0000%s\n' "${1:-1}" "${2:-0}" "${3:-$(tunnel_trench_tag trench-a)}"
}

# tunnel_ip4_hex SRC DST PROTO ID FRAG PAYLOAD_HEX: an IPv4 packet as hex,
# with a correct header checksum; ID the identification, FRAG the 16-bit
# flags and fragment offset word in hex (4000: DF; 2000: MF, offset 0).
tunnel_ip4_hex() {
	local src=$1 dst=$2 proto=$3 id=$4 frag=$5 pl=$6 hdr sum=0 i
	a() { local IFS=.; set -- $1; printf '%02x%02x%02x%02x' "$1" "$2" "$3" "$4"; }
	hdr=$(printf '4500%04x%04x%s40%02x' $((20 + ${#pl} / 2)) "$id" "$frag" "$proto")0000$(a "$src")$(a "$dst")
	for ((i = 0; i < 40; i += 4)); do sum=$((sum + 16#${hdr:i:4})); done
	while ((sum >> 16)); do sum=$(((sum & 0xffff) + (sum >> 16))); done
	printf '%s%04x%s%s\n' "${hdr:0:20}" $((~sum & 0xffff)) "${hdr:24}" "$pl"
}

# tunnel_udp_hex SPORT DPORT LEN PAYLOAD_HEX: a UDP header for a datagram
# of LEN payload bytes (checksum 0: none, valid over IPv4), then
# PAYLOAD_HEX (all of the payload, or the part a first fragment carries).
tunnel_udp_hex() {
	printf '%04x%04x%04x0000%s\n' "$1" "$2" $((8 + $3)) "$4"
}

# tunnel_ip4_udp_hex SRC DST SPORT DPORT PAYLOAD_HEX: an IPv4 UDP packet as
# hex, DF set.
tunnel_ip4_udp_hex() {
	tunnel_ip4_hex "$1" "$2" 17 0 4000 "$(tunnel_udp_hex "$3" "$4" $((${#5} / 2)) "$5")"
}

# tunnel_send_hex NS HOST PORT HEX...: from namespace NS (u, n<j>, a pod),
# one UDP datagram per HEX to HOST:PORT, through bash's /dev/udp (a new
# socket each, so the source port is the kernel's choice).
tunnel_send_hex() {
	local ns=$1 host=$2 port=$3 h e i
	shift 3
	local -a esc=()
	for h in "$@"; do
		e=""
		for ((i = 0; i < ${#h}; i += 2)); do e+="\\x${h:i:2}"; done
		esc+=("$e")
	done
	# shellcheck disable=SC2016
	tunnel_exec "$ns" bash -c 'h=$1 p=$2; shift 2; for e; do printf "$e" >"/dev/udp/$h/$p"; done' \
		_ "$host" "$port" "${esc[@]}"
}
