#!/usr/bin/env bash
# LB data path benchmark, on the LB topology of tests/netns/topo.sh with
# one target (client ns -> lb ns -> target ns, veths, IPv4):
#
#   TCP 1 stream     iperf3 -t 5                       Gbit/s received
#   TCP 4 streams    iperf3 -t 5 -P 4                  Gbit/s received
#   UDP 64 B         iperf3 -t 5 -u -l 64 -b 0         packets/s the server
#                    received (its own JSON), and sent by the client
#   TCP RR p50/p99   bench/tcp_rr: 64-byte request/response round trips
#                    over one connection, µs
#
# each through
#   (a) plain kernel forwarding in the lb ns (the VIP routed to the target);
#   (b) a bare accept-all NFQUEUE program: $BIN/nfq_accept 0 in the lb ns,
#       with iptables -t mangle -A PREROUTING -d VIP -j NFQUEUE
#       --queue-num 0 (measured when $BIN/nfq_accept exists);
#   (c) strait-lb on one queue (like (b)), with NSP, one registered target,
#       the kernel's VIP route removed: only the LB's mark and policy route
#       lead to the target;
# and reported with the ratios to (a) and (b) (for latency, the time added).
# Figures, not assertions: the machine is shared, so the load average at the
# start is printed with them. About a minute; needs root (skips otherwise).
# Usage: bench/lb.sh    (LB_BENCH_SECONDS=N: iperf3 time per row, default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-build/bin}
secs=${LB_BENCH_SECONDS:-5}
source tests/netns/topo.sh

if [ "$(id -u)" -ne 0 ] || ! command -v iperf3 >/dev/null; then
	echo "lb: skipped (needs root, network namespaces and iperf3)"
	exit 0
fi

# A random port below the kernel's ephemeral range, so that no client
# socket's local port can take it first.
low_port() {
	local lo _
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	echo $((10000 + RANDOM % (lo - 10100)))
}

P=sb$$
work=$(mktemp -d /tmp/strait-bench-lb.XXXXXX)
cleanup() {
	local rc=$?
	set +e
	# topo_destroy ends every process in the namespaces (servers, nfq_accept)
	topo_destroy "$P"
	wait 2>/dev/null
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "lb: $*" >&2; }

# until SECONDS WHAT CMD...: polls CMD until it succeeds, or fails at the
# deadline naming WHAT.
until_ok() {
	local limit=$1 what=$2 end
	shift 2
	end=$((SECONDS + limit))
	until "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $end ]; then
			say "timed out after ${limit}s waiting for $what"
			return 1
		fi
		sleep 0.05
	done
}

listening() { # NS PORT
	local out
	out=$(topo_exec "$1" ss -Hltn "sport = :$2")
	[ -n "$out" ]
}

queue_bound() { # QUEUE: a program holds it in the lb ns
	local out
	out=$(topo_exec lb cat /proc/net/netfilter/nfnetlink_queue)
	awk -v q="$1" '$1 == q { f = 1 } END { exit !f }' <<<"$out"
}

topo_create "$P" 1
topo_route_vip_to 1
vip=$TOPO_VIP4
port=$(low_port)
rr_port=$((port + 1))

topo_bg t1 iperf3 -s -J -p "$port" >"$work/iperf3-server.json"
until_ok 10 "iperf3 in the target" listening t1 "$port"
have_rr=0
if [ -x "$bin/tcp_rr" ]; then
	topo_bg t1 "$bin/tcp_rr" server 0.0.0.0 "$rr_port"
	until_ok 10 "tcp_rr in the target" listening t1 "$rr_port"
	have_rr=1
else
	say "no $bin/tcp_rr (make builds it): the RR rows are not measured"
fi

# R[mode,row] = the figure
declare -A R
ROWS=(tcp1 tcp4 udp_rx udp_tx rr50 rr99)

iperf() { # OUT ARGS...
	local out=$1
	shift
	topo_exec client iperf3 -c "$vip" -p "$port" -t "$secs" -J "$@" >"$out" ||
		{ say "iperf3 $*: $(jq -r '.error // empty' "$out" 2>/dev/null)"; return 1; }
}

measure() { # MODE
	local m=$1 f=$work/$1 out
	say "($m) TCP 1 stream, ${secs}s"
	if iperf "$f.tcp1.json"; then
		R[$m,tcp1]=$(jq '.end.sum_received.bits_per_second / 1e9' "$f.tcp1.json")
	fi
	say "($m) TCP 4 streams, ${secs}s"
	if iperf "$f.tcp4.json" -P 4; then
		R[$m,tcp4]=$(jq '.end.sum_received.bits_per_second / 1e9' "$f.tcp4.json")
	fi
	say "($m) UDP 64-byte packets, ${secs}s"
	if iperf "$f.udp.json" -u -l 64 -b 0 --get-server-output; then
		# The server's own count: packets it expected by sequence number
		# less those it never saw.
		R[$m,udp_rx]=$(jq '.server_output_json.end.sum |
			(.packets - .lost_packets) / .seconds / 1e3' "$f.udp.json")
		R[$m,udp_tx]=$(jq '.end.sum.packets / .end.sum.seconds / 1e3' "$f.udp.json")
	fi
	if [ $have_rr = 1 ]; then
		say "($m) TCP request/response, 20000 round trips"
		if out=$(topo_exec client "$bin/tcp_rr" client "$vip" "$rr_port" \
			--count 20000 --warmup 1000); then
			R[$m,rr50]=$(sed -n 's/.*p50_us=\([0-9.]*\).*/\1/p' <<<"$out")
			R[$m,rr99]=$(sed -n 's/.*p99_us=\([0-9.]*\).*/\1/p' <<<"$out")
		else
			say "tcp_rr failed"
		fi
	fi
}

notes=()
measure a

if [ -x "$bin/nfq_accept" ]; then
	topo_bg lb "$bin/nfq_accept" 0 >"$work/nfq_accept.log" 2>&1
	nfq_pid=$TOPO_BG_PID
	if until_ok 10 "nfq_accept to bind queue 0" queue_bound 0; then
		topo_exec lb iptables -t mangle -A PREROUTING -d "$vip" -j NFQUEUE --queue-num 0
		measure b
		rules=$(topo_exec lb iptables -t mangle -L PREROUTING -v -n -x)
		pkts=$(awk '/NFQUEUE/ { print $1; exit }' <<<"$rules")
		notes+=("(b): $bin/nfq_accept 0; ${pkts:-?} packets went through the queue")
		topo_exec lb iptables -t mangle -D PREROUTING -d "$vip" -j NFQUEUE --queue-num 0
	else
		notes+=("(b): nfq_accept did not bind queue 0: $(tail -n 3 "$work/nfq_accept.log" | tr '\n' ' ')")
	fi
	kill "$nfq_pid" 2>/dev/null || true
	wait "$nfq_pid" 2>/dev/null || true
	[ -s "$work/nfq_accept.log" ] &&
		notes+=("(b): nfq_accept said: $(tail -n 4 "$work/nfq_accept.log" | tr '\n' ' ')")
else
	notes+=("(b): not yet measured ($bin/nfq_accept not built yet)")
fi
# (c): NSP and strait-lb in the lb ns on one queue, as (b) has one; the
# kernel's own route to the VIP is removed, so only the LB's mark and its
# policy route reach the target.
lb_ready() {
	local out
	out=$(topo_exec lb "$bin/straitctl" --lb "unix:$work/lb.sock" lb streams --json) &&
		[ "$(jq '[.streams[].targets[] | select(.ready)] | length' <<<"$out")" -eq 1 ]
}
if [ -x "$bin/strait-lb" ] && [ -x "$bin/strait-nsp" ]; then
	cfg=$work/config
	mkdir -p "$cfg"
	echo "name: trench-a" >"$cfg/trench"
	printf 'items:\n  - name: lb\n    trench: trench-a\n' >"$cfg/conduits"
	printf 'items:\n  - name: s1\n    trench: trench-a\n    conduit: lb\n    max-targets: 10\n' >"$cfg/streams"
	printf 'items:\n  - name: v4\n    trench: trench-a\n    address: %s/32\n' "$vip" >"$cfg/vips"
	printf 'items:\n  - name: f1\n    trench: trench-a\n    stream: s1\n    vips: [v4]\n    protocols: [tcp, udp]\n' >"$cfg/flows"
	topo_bg lb "$bin/strait-nsp" -l 127.0.0.1:7778 -m off -s "$work/nsp.db" -c "$cfg" >"$work/nsp.log" 2>&1
	until_ok 10 "strait-nsp" topo_exec lb "$bin/straitctl" nsp list
	topo_bg lb "$bin/strait-lb" --trench trench-a --queues 0 -m off \
		--control "unix:$work/lb.sock" >"$work/lb.log" 2>&1
	lb_pid=$TOPO_BG_PID
	topo_bg lb "$bin/straitctl" nsp register --trench trench-a --conduit lb \
		--stream s1 --ip "$(topo_target_addr 1)/24" --keep >"$work/agent.log" 2>&1
	topo_route_vip_clear
	if until_ok 15 "strait-lb with its target ready" lb_ready; then
		measure c
		st=$(topo_exec lb "$bin/straitctl" --lb "unix:$work/lb.sock" lb status)
		notes+=("(c): strait-lb --queues 0 (conntab on), $(grep -m1 '^accepted' <<<"$st")")
		notes+=("(c): $(grep -m1 '^dropped' <<<"$st")")
	else
		notes+=("(c): strait-lb did not become ready: $(tail -n 3 "$work/lb.log" | tr '\n' ' ')")
	fi
	kill "$lb_pid" 2>/dev/null || true
	wait "$lb_pid" 2>/dev/null || true
else
	notes+=("(c): not measured ($bin/strait-lb not built)")
fi

# ---- the table -------------------------------------------------------
val() { echo "${R[$1,$2]:-}"; }
num() { # VALUE DECIMALS
	if [ -n "$1" ]; then printf "%.${2}f" "$1"; else echo "-"; fi
}
ratio() { # ROW X Y: X / Y for rates; for latency "X/Y (+Δ µs)"
	local x y
	x=$(val "$2" "$1") y=$(val "$3" "$1")
	if [ -z "$x" ] || [ -z "$y" ]; then echo "-"; return; fi
	case $1 in
	rr*) awk -v x="$x" -v y="$y" 'BEGIN { printf "%.2f (%+.1f)", x / y, x - y }' ;;
	*) awk -v x="$x" -v y="$y" 'BEGIN { printf "%.2f", x / y }' ;;
	esac
}

label() {
	case $1 in
	tcp1) echo "TCP 1 stream     Gbit/s" ;;
	tcp4) echo "TCP 4 streams    Gbit/s" ;;
	udp_rx) echo "UDP 64 B rx      kpkt/s" ;;
	udp_tx) echo "UDP 64 B sent    kpkt/s" ;;
	rr50) echo "TCP RR p50       us" ;;
	rr99) echo "TCP RR p99       us" ;;
	esac
}

read -r load _ </proc/loadavg
echo "strait LB data path: client ns -> lb ns -> 1 target ns over veths, IPv4"
echo "iperf3 $(iperf3 --version | awk 'NR == 1 { print $2 }'), ${secs}s per row;" \
	"$(nproc) CPUs, load average $load at the end; kernel $(uname -r)"
echo "(a) kernel forwarding  (b) bare accept-all NFQUEUE  (c) strait-lb"
echo "ratios: rates b/a, c/a, c/b (higher is better); latency x/y (+µs added)"
echo
printf '%-23s %8s %8s %8s  %-13s %-13s %s\n' "" "(a)" "(b)" "(c)" "b/a" "c/a" "c/b"
for r in "${ROWS[@]}"; do
	case $r in tcp*) d=2 ;; udp*) d=0 ;; *) d=1 ;; esac
	printf '%-23s %8s %8s %8s  %-13s %-13s %s\n' "$(label "$r")" \
		"$(num "$(val a "$r")" $d)" "$(num "$(val b "$r")" $d)" \
		"$(num "$(val c "$r")" $d)" \
		"$(ratio "$r" b a)" "$(ratio "$r" c a)" "$(ratio "$r" c b)"
done
echo
for n in "${notes[@]}"; do echo "$n"; done
