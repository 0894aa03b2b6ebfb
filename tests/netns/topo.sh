# shellcheck shell=bash disable=SC2034,SC2086
# (SC2034: TOPO_* are for the caller; SC2086: pid lists split on purpose)
# The LB topology in network namespaces: sourced, never run.
#
# Used by the LB's end-to-end tests, its benchmarks and the demo. Every
# name starts with PREFIX (pick one per run, e.g. st$$), so parallel runs
# never meet, and topo_destroy PREFIX finds everything again.
#
#                     PREFIX-client
#        PREFIXc: 198.18.0.2/24       fd00::2/64
#                 198.18.0.10 ..      fd00::10 ..   (--sources K extra)
#        routes:  198.18.100.1 (VIP), 198.19.0.0/16  via 198.18.0.1
#                 fd00:100::1 (VIP),  fd00::/48      via fd00::1
#                          |
#                        (veth)
#                          |
#        PREFIXl0: 198.18.0.1/24      fd00::1/64
#                       PREFIX-lb            ip_forward=1, ipv6 forwarding=1
#        PREFIXl<i>: 198.19.<i>.1/24  fd00:0:0:<i>::1/64
#        (no route for the VIP: the LB's marks or topo_route_vip_to add it)
#             |                |                       |
#          (veth)           (veth)                  (veth)
#             |                |                       |
#        PREFIX-t1        PREFIX-t2       ...      PREFIX-t<N>
#        PREFIXt<i>: 198.19.<i>.2/24  fd00:0:0:<i>::2/64
#        lo:         198.18.100.1/32  fd00:100::1/128   (the VIP, on every target)
#        routes:     198.18.0.0/24 via 198.19.<i>.1 src 198.18.100.1
#                    fd00::/64 via fd00:0:0:<i>::1 src fd00:100::1
#                    (replies go back through the LB: "return via LB", and
#                    from the VIP, so a UDP server bound to the wildcard
#                    address that connects to its client answers from the
#                    VIP, as iperf3 does, not from 198.19.<i>.2)
#
# rp_filter is off in every namespace (paths may be asymmetric once the LB
# marks packets); IPv6 addresses skip DAD, so they work at once. The veths
# are created directly inside their namespaces: nothing of a topology is
# ever in the root namespace, and no route in it changes.
#
# Functions (each returns non-zero with a message on stderr on failure):
#   topo_create PREFIX NTARGETS [--sources K] [--v6]
#       builds it (IPv6 too with --v6); on failure removes what it made.
#       PREFIX: 1-10 of [A-Za-z0-9_]; 1 <= NTARGETS <= 250; K <= 200.
#       Sets TOPO_PREFIX, TOPO_N, TOPO_SOURCES, TOPO_V6 (0 or 1).
#   topo_destroy PREFIX
#       kills every process inside its namespaces (TERM, then KILL after
#       2 s) and deletes the namespaces (their veths go with them).
#       Idempotent, never fails: call it from the caller's EXIT trap.
#   topo_ns NAME            the namespace of client, lb or t<i>
#   topo_exec NAME CMD...   CMD inside NAME, in the foreground
#   topo_bg NAME CMD...     CMD inside NAME in the background; TOPO_BG_PID
#                           is the process itself (ip netns exec execs it)
#   topo_route_vip_to I     plain kernel forwarding: the lb routes the VIP
#                           (both families) to target I, no NFQUEUE
#   topo_route_vip_clear    removes that route
#   topo_target_addr I [6]  target I's own address
#   topo_source_addr J [6]  the client's J-th extra source (0-based)
#   topo_names PREFIX       the namespaces that exist for PREFIX
#
# A caller's trap must call topo_destroy: with set -e a failure anywhere
# (or SIGTERM) then still removes the namespaces and their processes.

TOPO_VIP4=198.18.100.1
TOPO_VIP6=fd00:100::1
TOPO_CLIENT4=198.18.0.2
TOPO_CLIENT6=fd00::2
TOPO_LB4=198.18.0.1
TOPO_LB6=fd00::1
TOPO_PREFIX=${TOPO_PREFIX:-}
TOPO_N=${TOPO_N:-0}
TOPO_SOURCES=${TOPO_SOURCES:-0}
TOPO_V6=${TOPO_V6:-0}
TOPO_BG_PID=

topo_ns() {
	[ -n "$TOPO_PREFIX" ] || { echo "topo: no topology (topo_create first)" >&2; return 1; }
	echo "$TOPO_PREFIX-$1"
}

topo_exec() {
	local ns
	ns=$(topo_ns "$1") || return 1
	shift
	ip netns exec "$ns" "$@"
}

# Not through topo_exec: a function in the background would be a subshell,
# and $! would name it rather than the command.
topo_bg() {
	local ns
	ns=$(topo_ns "$1") || return 1
	shift
	ip netns exec "$ns" "$@" &
	TOPO_BG_PID=$!
}

topo_target_addr() {
	if [ "${2:-4}" = 6 ]; then echo "fd00:0:0:$1::2"; else echo "198.19.$1.2"; fi
}

topo_source_addr() {
	if [ "${2:-4}" = 6 ]; then echo "fd00::$((10 + $1))"; else echo "198.18.0.$((10 + $1))"; fi
}

topo_names() {
	local out name _
	out=$(ip netns list 2>/dev/null) || return 0
	while read -r name _; do
		[[ $name =~ ^"$1"-(client|lb|t[0-9]+)$ ]] && echo "$name"
	done <<<"$out"
	return 0
}

topo_route_vip_to() {
	local i=$1 lb
	lb=$(topo_ns lb) || return 1
	if [ "$i" -lt 1 ] || [ "$i" -gt "$TOPO_N" ]; then
		echo "topo: no target $i (1..$TOPO_N)" >&2
		return 1
	fi
	ip -n "$lb" route replace "$TOPO_VIP4/32" via "198.19.$i.2" || return 1
	if [ "$TOPO_V6" = 1 ]; then
		ip -n "$lb" -6 route replace "$TOPO_VIP6/128" via "fd00:0:0:$i::2" || return 1
	fi
}

topo_route_vip_clear() {
	local lb
	lb=$(topo_ns lb) || return 1
	ip -n "$lb" route del "$TOPO_VIP4/32" 2>/dev/null || true
	[ "$TOPO_V6" = 1 ] && { ip -n "$lb" -6 route del "$TOPO_VIP6/128" 2>/dev/null || true; }
	return 0
}

# The body of topo_create, run in a subshell with set -e of its own (set -e
# does not work in a function called from an `if` or `||`).
_topo_build() {
	local p=$1 n=$2 k=$3 v6=$4 i ns
	local c=$p-client lb=$p-lb
	trap 'echo "topo: failed: $BASH_COMMAND" >&2' ERR
	for ns in "$c" "$lb"; do ip netns add "$ns"; done
	for i in $(seq 1 "$n"); do ip netns add "$p-t$i"; done
	for ns in "$c" "$lb" $(seq -f "$p-t%g" 1 "$n"); do
		ip -n "$ns" link set lo up
		# Before any link exists, so every link inherits "default".
		ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 \
			net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	ip netns exec "$lb" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1

	# client <-> lb
	ip link add "${p}c" netns "$c" type veth peer name "${p}l0" netns "$lb"
	ip -n "$c" addr add "$TOPO_CLIENT4/24" dev "${p}c"
	ip -n "$lb" addr add "$TOPO_LB4/24" dev "${p}l0"
	for i in $(seq 0 $((k - 1))); do
		ip -n "$c" addr add "$(topo_source_addr "$i")/24" dev "${p}c"
	done
	if [ "$v6" = 1 ]; then
		ip -n "$c" addr add "$TOPO_CLIENT6/64" dev "${p}c" nodad
		ip -n "$lb" addr add "$TOPO_LB6/64" dev "${p}l0" nodad
		for i in $(seq 0 $((k - 1))); do
			ip -n "$c" addr add "$(topo_source_addr "$i" 6)/64" dev "${p}c" nodad
		done
	fi
	ip -n "$c" link set "${p}c" up
	ip -n "$lb" link set "${p}l0" up
	ip -n "$c" route add "$TOPO_VIP4/32" via "$TOPO_LB4"
	ip -n "$c" route add 198.19.0.0/16 via "$TOPO_LB4"
	if [ "$v6" = 1 ]; then
		ip -n "$c" -6 route add "$TOPO_VIP6/128" via "$TOPO_LB6"
		ip -n "$c" -6 route add fd00::/48 via "$TOPO_LB6"
	fi

	# lb <-> target i
	for i in $(seq 1 "$n"); do
		ns=$p-t$i
		ip link add "${p}l$i" netns "$lb" type veth peer name "${p}t$i" netns "$ns"
		ip -n "$lb" addr add "198.19.$i.1/24" dev "${p}l$i"
		ip -n "$ns" addr add "198.19.$i.2/24" dev "${p}t$i"
		ip -n "$ns" addr add "$TOPO_VIP4/32" dev lo
		if [ "$v6" = 1 ]; then
			ip -n "$lb" addr add "fd00:0:0:$i::1/64" dev "${p}l$i" nodad
			ip -n "$ns" addr add "fd00:0:0:$i::2/64" dev "${p}t$i" nodad
			ip -n "$ns" addr add "$TOPO_VIP6/128" dev lo
		fi
		ip -n "$lb" link set "${p}l$i" up
		ip -n "$ns" link set "${p}t$i" up
		ip -n "$ns" route add 198.18.0.0/24 via "198.19.$i.1" src "$TOPO_VIP4"
		if [ "$v6" = 1 ]; then
			ip -n "$ns" -6 route add fd00::/64 via "fd00:0:0:$i::1" src "$TOPO_VIP6"
		fi
	done
	_topo_wait_up "$p" "$n"
}

# A veth sends nothing until the kernel's link watcher has given it its
# qdisc ("noop" until then drops every packet), which can take up to a
# second after "link set up": the first ARP or ND of a test would vanish.
_topo_wait_up() {
	local p=$1 n=$2 ns out end=$((SECONDS + 5))
	for ns in "$p-client" "$p-lb" $(seq -f "$p-t%g" 1 "$n"); do
		until out=$(ip -n "$ns" -o link show type veth) &&
			_topo_all_up "$out"; do
			if [ $SECONDS -ge $end ]; then
				echo "topo: links of $ns not up after 5 s: $out" >&2
				return 1
			fi
			sleep 0.02
		done
	done
}

_topo_all_up() {
	local line
	while read -r line; do
		[[ $line == *"state UP"* && $line != *"qdisc noop"* ]] || return 1
	done <<<"$1"
}

topo_create() {
	local p=${1:-} n=${2:-} k=0 v6=0 rc errexit=0
	shift 2 || { echo "usage: topo_create PREFIX NTARGETS [--sources K] [--v6]" >&2; return 2; }
	while [ $# -gt 0 ]; do
		case $1 in
		--sources) k=${2:-}; shift 2 || return 2 ;;
		--v6) v6=1; shift ;;
		*) echo "topo_create: unknown option $1" >&2; return 2 ;;
		esac
	done
	if ! [[ $p =~ ^[A-Za-z0-9_]{1,10}$ ]]; then
		echo "topo_create: PREFIX must be 1-10 of [A-Za-z0-9_] (veth names)" >&2
		return 2
	fi
	if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -lt 1 ] || [ "$n" -gt 250 ]; then
		echo "topo_create: NTARGETS must be 1..250" >&2
		return 2
	fi
	if ! [[ $k =~ ^[0-9]+$ ]] || [ "$k" -gt 200 ]; then
		echo "topo_create: --sources must be 0..200" >&2
		return 2
	fi
	if [ -n "$(topo_names "$p")" ]; then
		echo "topo_create: namespaces for $p exist already" >&2
		return 1
	fi
	TOPO_PREFIX=$p TOPO_N=$n TOPO_SOURCES=$k TOPO_V6=$v6
	[[ $- == *e* ]] && errexit=1
	set +e
	(
		set -e
		_topo_build "$p" "$n" "$k" "$v6"
	)
	rc=$?
	[ $errexit = 1 ] && set -e
	if [ $rc -ne 0 ]; then
		topo_destroy "$p"
		return 1
	fi
}

topo_destroy() {
	local p=${1:-$TOPO_PREFIX} ns names pids end
	[ -n "$p" ] || return 0
	names=$(topo_names "$p")
	[ -n "$names" ] || return 0
	for ns in $names; do
		pids=$(ip netns pids "$ns" 2>/dev/null) || true
		[ -n "$pids" ] && { kill -TERM $pids 2>/dev/null || true; }
	done
	end=$((SECONDS + 2))
	for ns in $names; do
		while pids=$(ip netns pids "$ns" 2>/dev/null) && [ -n "$pids" ]; do
			if [ $SECONDS -ge $end ]; then
				kill -KILL $pids 2>/dev/null || true
				sleep 0.05
				break
			fi
			sleep 0.05
		done
	done
	for ns in $names; do ip netns del "$ns" 2>/dev/null || true; done
	return 0
}
