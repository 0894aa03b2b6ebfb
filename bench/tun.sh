#!/usr/bin/env bash
# strait-tun data path benchmark: pod to pod across two nodes, on the
# topology of tests/netns/tunnel.sh (--nodes 2 --pods 1: node n1 with pod
# n1p1 = the client, node n2 with pod n2p1 = the server, both nodes behind
# the underlay router, veths, IPv4), three paths in the same run:
#
#   (a) strait-tun: n1p1 -> service web 198.19.200.10, whose only instance
#       is n2p1 (registered as an orchestrator would); across the underlay
#       in strait-tun's UDP (port 7779), tunnel MTU 1444;
#   (b) kernel VXLAN over the same underlay addresses: a vxlan device per
#       node (VNI 4242, UDP port 4790, remote = the other node's underlay
#       address, MTU 1450), 198.18.250.J/24 on it, and the other node's pod
#       prefix routed through it; n1p1 -> 198.19.2.11;
#   (c) direct: no encapsulation: the router routes each pod prefix to its
#       node, the nodes use their default route; n1p1 -> 198.19.2.11.
#
# The router's pod routes stay for the whole run; (b) is on while the
# nodes' routes through the vxlan devices exist, (c) when they are gone.
# Every run is checked against the counters of the path it claims
# (strait-tun's UDP sends, the vxlan device's, the underlay link's).
#
#   TCP 1 stream     iperf3 -t SECS, ROUNDS rounds interleaved a b c a b c
#                    ...: the median (each round printed too), Gbit/s
#                    received, and TCP's retransmits
#   TCP 4 streams    iperf3 -t SECS -P 4, Gbit/s received
#   UDP 1400 B       bench/udp_rate (sendmmsg / recvmmsg, so that the
#                    path and not one system call per packet is measured;
#                    iperf3's UDP sender was the limit here), paced:
#                    packets/s received. The rate is found per path: a 2 s
#                    unpaced probe gives what arrives, then runs at that
#                    rate, 25% lower each time, until loss <= 2% (at most
#                    4 runs); the offered rates and losses are printed.
#   TCP RR p50/p99   bench/tcp_rr, 64-byte round trips on one connection, µs
#
# then the ratios strait-tun/VXLAN and strait-tun/direct, whether the goal
# (strait-tun >= 60% of VXLAN, TCP single stream) is met, an ASCII chart,
# strait-tun's own counters over its first single-stream run, its 4-stream
# run and its last UDP run (TSO reads, datagrams per sendmsg with
# UDP_SEGMENT, segments per merged write after UDP_GRO), and how busy the
# machine's CPUs were over the first single-stream run (/proc/stat: whether
# a CPU was left for more threads). Then, when perf works
# (TUN_BENCH_PROFILE=0 skips it), one more single-stream run through
# strait-tun under `perf record -g` and `perf stat` on both strait-tuns:
# CPU used, system calls, where the samples fall by system call (and how
# much of that is the kernel's network stack run inline, or payload
# copies), and the hottest functions. The profiled run is not in the table.
#
# Figures, not assertions: the machine is shared, and every process of the
# run (iperf3 at both ends, two strait-tuns, the kernel's softirqs) shares
# its CPUs, so the load average and CPU count are printed with them. About
# 3 minutes; needs root, network namespaces, iperf3, jq, curl (skips
# otherwise). Namespaces and processes go at the end, on failure too (the
# harness's EXIT trap).
# TCP's congestion control is the same on every path: cubic, Linux's
# default, unless TUN_BENCH_CC names another (this VM's own default is
# bbr, under which strait-tun's single stream measured 4.8-5.1 Gbit/s
# against cubic's 6.7-7.0: BBR paces to the delivery rate it samples, and
# the tunnel's batching delivers in bursts).
# Usage: bench/tun.sh   (TUN_BENCH_SECONDS=N: time per iperf3 run, default
#                        5; TUN_BENCH_ROUNDS=N: single-stream rounds, 3;
#                        TUN_BENCH_CC=NAME: TCP congestion control, cubic)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${TUN_BENCH_SECONDS:-5}
rounds=${TUN_BENCH_ROUNDS:-3}
profile=${TUN_BENCH_PROFILE:-1}
cc=${TUN_BENCH_CC:-cubic}

say() { echo "tun: $*" >&2; }
skipped() { echo "tun: skipped ($*)"; exit 0; }

[ "$(id -u)" = 0 ] || skipped "needs root"
for c in iperf3 jq curl ip; do
	command -v "$c" >/dev/null || skipped "needs $c"
done
[ -x "${BIN:-build/bin}/strait-tun" ] || skipped "no ${BIN:-build/bin}/strait-tun (make)"

source tests/integration/lib.sh
source tests/netns/tunnel.sh
# A benchmark that cannot run is not a failure of bench/run.
skip() { skipped "$*"; }

tunnel_init tb
say "building 2 nodes with a pod each, NSP, a strait-tun per node"
tunnel_start --nodes 2 --pods 1
tunnel_instance_add n2p1
P=$TUNNEL_P
SVC=$TUNNEL_SERVICE4
SRV=$(tunnel_pod_addr n2p1 4)
IPERF_PORT=5201
RR_PORT=5202
UDP_PORT=5204
VX=vxbench

# -J: the server's own JSON is what --get-server-output hands the client.
tunnel_exec n2p1 iperf3 -s -J -p $IPERF_PORT >"$WORK/iperf3-server.json" 2>&1 &
PIDS+=("$!")
have_rr=0
if [ -x "$BIN/tcp_rr" ]; then
	tunnel_exec n2p1 "$BIN/tcp_rr" server 0.0.0.0 $RR_PORT >"$WORK/tcp_rr.log" 2>&1 &
	PIDS+=("$!")
	have_rr=1
else
	say "no $BIN/tcp_rr (make builds it): the RR rows are not measured"
fi
have_udp=0
if [ -x "$BIN/udp_rate" ]; then
	have_udp=1
else
	say "no $BIN/udp_rate (make builds it): the UDP row is not measured"
fi
listening() { # PORT: something listens on it in n2p1
	local out
	out=$(tunnel_exec n2p1 ss -Hltn "sport = :$1")
	[ -n "$out" ]
}
wait_for 10 "iperf3 server in n2p1" listening $IPERF_PORT
[ $have_rr = 0 ] || wait_for 10 "tcp_rr server in n2p1" listening $RR_PORT

# ---- the paths --------------------------------------------------------
# The vxlan devices and the router's routes to the pod prefixes, for the
# whole run; nothing of them is on (a)'s path (to the service IP).
for j in 1 2; do
	k=$((3 - j))
	ip -n "$P-n$j" link add $VX type vxlan id 4242 dstport 4790 \
		local "198.18.$j.2" remote "198.18.$k.2" dev "${P}n$j"
	ip -n "$P-n$j" addr add "198.18.250.$j/24" dev $VX
	ip -n "$P-n$j" link set $VX up
	ip -n "$P-u" route add "198.19.$j.0/24" via "198.18.$j.2"
done
vx_mtu=$(ip -n "$P-n1" -j link show $VX | jq '.[0].mtu')
vxlan_routes() { # add|del
	local j k
	for j in 1 2; do
		k=$((3 - j))
		ip -n "$P-n$j" route "$1" "198.19.$k.0/24" via "198.18.250.$k" dev $VX
	done
}
VX_ON=0
use_path() { # a|b|c
	case $1 in
	b) [ $VX_ON = 1 ] || { vxlan_routes add; VX_ON=1; } ;;
	*) [ $VX_ON = 0 ] || { vxlan_routes del; VX_ON=0; } ;;
	esac
}
dst_of() { case $1 in a) echo "$SVC" ;; *) echo "$SRV" ;; esac; }

# Packets sent by n1 on each path's leg: strait-tun's UDP datagrams, the
# vxlan device, the underlay link (which every path crosses).
legs() {
	echo "$(tunnel_metric 1 strait_tun_packets_total 'leg="udp",dir="tx"')" \
		"$(ip -n "$P-n1" -s -j link show $VX | jq '.[0].stats64.tx.packets')" \
		"$(ip -n "$P-n1" -s -j link show "${P}n1" | jq '.[0].stats64.tx.packets')"
}
LEGS0=""
legs_before() { LEGS0=$(legs); }
# legs_check PATH [MIN=1000]: since legs_before, n1 sent at least MIN
# packets on the path's own leg and (almost) none on the others.
legs_check() {
	local m=$1 min=${2:-1000} t0 v0 u0 t1 v1 u1 dt dv du
	read -r t0 v0 u0 <<<"$LEGS0"
	read -r t1 v1 u1 <<<"$(legs)"
	dt=$((t1 - t0)) dv=$((v1 - v0)) du=$((u1 - u0))
	case $m in
	a) [ $dt -ge "$min" ] && [ $dv -lt 20 ] ;;
	b) [ $dv -ge "$min" ] && [ $dt -lt 20 ] ;;
	c) [ $du -ge "$min" ] && [ $dt -lt 20 ] && [ $dv -lt 20 ] ;;
	esac || fail "($m) did not take its path: n1 sent $dt strait-tun datagrams, $dv on $VX, $du on the underlay"
}

# Each path answers a ping before it is measured.
for m in a b c; do
	use_path $m
	legs_before
	tunnel_exec n1p1 ping -c 3 -i 0.2 -W 2 "$(dst_of $m)" >/dev/null ||
		fail "($m): n1p1 gets no answer from $(dst_of $m)"
	legs_check $m 3
done
route=$(ip -n "$P-n1" route get "$SRV")
grep -q "via 198.18.1.1 dev ${P}n1" <<<"$route" || fail "(c): n1 routes $SRV as: $route"

# ---- strait-tun's counters --------------------------------------------
metrics_of() { tunnel_exec "n$1" curl -s --max-time 2 http://127.0.0.1:9782/metrics || true; }
mval() { # TEXT NAME [LABELS]
	awk -v n="$2" -v l="${3:-}" '$1 == n || $1 == n "{" l "}" { v = $2 }
		END { printf "%.0f\n", v == "" ? 0 : v }' <<<"$1"
}
COUNTERS=(
	"strait_tun_packets_total|leg=\"device\",dir=\"rx\""
	"strait_tun_bytes_total|leg=\"device\",dir=\"rx\""
	"strait_tun_packets_total|leg=\"device\",dir=\"tx\""
	"strait_tun_bytes_total|leg=\"device\",dir=\"tx\""
	"strait_tun_udp_sends_total|"
	"strait_tun_packets_total|leg=\"udp\",dir=\"tx\""
	"strait_tun_udp_receive_batches_total|"
	"strait_tun_packets_total|leg=\"udp\",dir=\"rx\""
	"strait_tun_merged_segments_total|"
)
# A0/A1: (a)'s first single-stream run, F0/F1: its 4-stream run, U0/U1:
# its last UDP run, P0/P1: the profiled run.
declare -A A0 A1 F0 F1 U0 U1 P0 P1
snap() { # ARRAY: every counter of both nodes, now
	local -n into=$1
	local j text c
	for j in 1 2; do
		text=$(metrics_of $j)
		for c in "${COUNTERS[@]}"; do
			into[$j,$c]=$(mval "$text" "${c%%|*}" "${c#*|}")
		done
	done
}
D0=A0 D1=A1 # the pair delta reads
delta() { # J COUNTER
	local -n x0=$D0 x1=$D1
	echo $((${x1[$1,$2]:-0} - ${x0[$1,$2]:-0}))
}
# The machine's CPU time so far (/proc/stat's cpu line, in ticks): user
# nice system idle iowait irq softirq steal. (Not per process: in this VM
# a task's own accounting, /proc/PID/stat and schedstat, does not advance
# while it runs -- a busy loop shows 0 ms in 4 s -- so each strait-tun's
# CPU comes from perf stat, in the profile.)
cpu_all() { awk '$1 == "cpu" { print $2, $3, $4, $5, $6, $7, $8, $9; exit }' /proc/stat; }
C0="" C1=""
div() { awk -v x="$1" -v y="$2" -v d="${3:-1}" 'BEGIN { if (y > 0) printf "%.*f", d, x / y; else printf "-" }'; }

# ---- measuring ----------------------------------------------------------
declare -A R    # R[path,row] = figure
declare -A T1   # T1[path] = the single-stream figures of every round
declare -A RETR # RETR[path] = their TCP retransmits
declare -A RTT  # RTT[path] = the sender's mean RTT of each round, µs
declare -A CWND # CWND[path] = the sender's largest cwnd of each round, KB
declare -A RETR4 # RETR4[path] = the 4-stream run's
declare -A NOTE # NOTE[path] = how UDP's rate was found
declare -A SENDER_BOUND # [path]=1: UDP's unpaced probe lost nothing
ROWS=(tcp1 tcp4 udp rr50 rr99)
PATHS=(a b c)

iperf() { # OUT DST ARGS...
	local out=$1 dst=$2
	shift 2
	tunnel_exec n1p1 iperf3 -c "$dst" -p $IPERF_PORT -J -C "$cc" "$@" >"$out" 2>>"$WORK/iperf3-client.log" || {
		say "iperf3 $*: $(jq -r '.error // empty' "$out" 2>/dev/null)"
		return 1
	}
}
gbps() { jq '.end.sum_received.bits_per_second / 1e9' "$1"; }

# Packets the kernel dropped because strait-tun on n1 did not read them in
# time (the TUN device's queue was full).
tun0_drops() { ip -n "$P-n1" -s -j link show strait-tun0 | jq '.[0].stats64.tx.dropped'; }

# bench/udp_rate in both pods, a receiver per run.
udp_run() { # OUT DST SECONDS PPS(0 = unpaced) -> "rx_pps loss_pct"
	local out=$1 rpid line
	tunnel_exec n2p1 "$BIN/udp_rate" recv 0.0.0.0 $UDP_PORT --timeout 10 >"$out.recv" 2>&1 &
	rpid=$!
	PIDS+=("$rpid")
	wait_for 5 "udp_rate receiver in n2p1" udp_bound
	tunnel_exec n1p1 "$BIN/udp_rate" send "$2" $UDP_PORT --seconds "$3" --rate "$4" \
		>"$out.send" 2>&1 || say "udp_rate send: $(cat "$out.send")"
	wait "$rpid" || { say "udp_rate recv: $(cat "$out.recv")"; return 1; }
	line=$(cat "$out.recv")
	echo "$(sed -n 's/.* pps=\([0-9.]*\).*/\1/p' <<<"$line")" \
		"$(sed -n 's/.* loss_pct=\([0-9.]*\).*/\1/p' <<<"$line")"
}
udp_bound() {
	local out
	out=$(tunnel_exec n2p1 ss -Hlun "sport = :$UDP_PORT")
	[ -n "$out" ]
}

tcp1_round() { # PATH ROUND
	local m=$1 f=$WORK/$1.tcp1.$2.json
	use_path "$m"
	say "($m) TCP 1 stream, ${secs}s, round $2 of $rounds"
	[ "$m$2" != a1 ] || { snap A0; C0=$(cpu_all); }
	legs_before
	if iperf "$f" "$(dst_of "$m")" -t "$secs"; then
		T1[$m]="${T1[$m]:-} $(gbps "$f")"
		RETR[$m]="${RETR[$m]:-} $(jq '.end.sum_sent.retransmits // 0' "$f")"
		RTT[$m]="${RTT[$m]:-} $(jq '.end.streams[0].sender.mean_rtt // 0' "$f")"
		CWND[$m]="${CWND[$m]:-} $(jq '(.end.streams[0].sender.max_snd_cwnd // 0) / 1024 | floor' "$f")"
	fi
	legs_check "$m"
	[ "$m$2" != a1 ] || { snap A1; C1=$(cpu_all); }
}

measure() { # PATH: every row but the single stream
	local m=$1 dst f=$WORK/$1 out rx loss rate try
	use_path "$m"
	dst=$(dst_of "$m")
	say "($m) TCP 4 streams, ${secs}s"
	[ "$m" != a ] || snap F0
	legs_before
	if iperf "$f.tcp4.json" "$dst" -t "$secs" -P 4; then
		R[$m,tcp4]=$(gbps "$f.tcp4.json")
		RETR4[$m]=$(jq '.end.sum_sent.retransmits // 0' "$f.tcp4.json")
	fi
	legs_check "$m"
	[ "$m" != a ] || snap F1
	if [ $have_udp = 1 ]; then
		say "($m) UDP 1400 B: unpaced 2 s probe"
		local q0 q1
		q0=$(tun0_drops)
		if out=$(udp_run "$f.udp0" "$dst" 2 0); then
			q1=$(tun0_drops)
			read -r rx loss <<<"$out"
			rate=${rx%.*}
			NOTE[$m]="probe (unpaced): $(awk -v p="$rx" -v l="$loss" \
				'BEGIN { printf "%.0f pkt/s received, %.1f%% lost", p, l }')"
			[ "$m" != a ] || NOTE[$m]="${NOTE[$m]} ($((q1 - q0)) dropped by n1's strait-tun0 queue)"
			# Nothing lost unpaced: the sender was the limit.
			! awk -v l="$loss" 'BEGIN { exit !(l < 1) }' || SENDER_BOUND[$m]=1
			[ "$m" != a ] || snap U0
			for try in 1 2 3 4; do
				say "($m) UDP 1400 B at $rate pkt/s, ${secs}s"
				legs_before
				out=$(udp_run "$f.udp$try" "$dst" "$secs" "$rate") || break
				legs_check "$m"
				read -r rx loss <<<"$out"
				R[$m,udp]=$(awk -v p="$rx" 'BEGIN { print p / 1e3 }')
				NOTE[$m]="${NOTE[$m]}; offered $rate: $(awk -v p="$rx" -v l="$loss" \
					'BEGIN { printf "%.0f received, %.1f%% lost", p, l }')"
				awk -v l="$loss" 'BEGIN { exit !(l <= 2) }' && break
				[ "$m" != a ] || snap U0
				rate=$(awk -v r="$rate" 'BEGIN { printf "%d", r * 0.75 }')
			done
			[ "$m" != a ] || snap U1
		fi
	fi
	if [ $have_rr = 1 ]; then
		say "($m) TCP request/response, 20000 round trips"
		legs_before
		if out=$(tunnel_exec n1p1 "$BIN/tcp_rr" client "$dst" $RR_PORT \
			--count 20000 --warmup 1000 --timeout 10); then
			R[$m,rr50]=$(sed -n 's/.*p50_us=\([0-9.]*\).*/\1/p' <<<"$out")
			R[$m,rr99]=$(sed -n 's/.*p99_us=\([0-9.]*\).*/\1/p' <<<"$out")
		else
			say "($m) tcp_rr failed"
		fi
		legs_check "$m"
	fi
}

for ((r = 1; r <= rounds; r++)); do
	for m in "${PATHS[@]}"; do tcp1_round "$m" "$r"; done
done
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END {
	if (NR) print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for m in "${PATHS[@]}"; do
	R[$m,tcp1]=$(median <<<"${T1[$m]:-}")
done
for m in "${PATHS[@]}"; do measure "$m"; done
use_path a

# ---- profile: one more (a) single-stream run under perf -----------------
# Each sample's kernel stack names the system call it is in (the libc frame
# above entry_SYSCALL_64); within it, whether the sample ran softirq work
# (the network stack's, inline: veth hops, the pods' TCP) or was copying a
# payload (_copy_to_iter / _copy_from_iter).
PROF_AWK='BEGIN { RS = ""; FS = "\n" }
{
	split($1, h, " ")
	if (h[1] != want) next
	n++
	leaf = $2; sub(/^[ \t]*[0-9a-f]+ /, "", leaf)
	sc = ""; soft = 0; kern = ($2 ~ /^[ \t]*ffffffff/)
	for (i = 2; i <= NF; i++) {
		f = $i; sub(/^[ \t]*[0-9a-f]+ /, "", f)
		if (f == "handle_softirqs" || f == "__do_softirq") soft = 1
		if (f == "entry_SYSCALL_64_after_hwframe" && i < NF) {
			s = $(i + 1); sub(/^[ \t]*[0-9a-f]+ /, "", s)
			sub(/^(__libc_|__GI___|__)/, "", s); sc = s
		}
	}
	if (sc == "") sc = kern ? "(kernel, no system call)" : "(user space)"
	cnt[sc]++; if (soft) sf[sc]++
	if (leaf ~ /^_copy_(to|from)_iter$|^copy_user|^rep_movs/) cp[sc]++
}
END {
	for (s in cnt)
		printf "%5.1f%%  %-26s softirq %4.1f%%  copies %4.1f%%\n",
			100 * cnt[s] / n, s, 100 * sf[s] / n, 100 * cp[s] / n | "sort -rn"
	close("sort -rn")
	printf "(%d samples)\n", n
}'
prof_out=()
profile_run() {
	local p1=${TUNNEL_TUN[1]} p2=${TUNNEL_TUN[2]} ev="" rec_pid stat_pid mounted=0 t list
	if ! perf stat -e task-clock -- true >/dev/null 2>&1; then
		prof_out+=("perf does not work here: not profiled")
		return
	fi
	# perf mounts tracefs itself for the system call tracepoints; when it
	# was not mounted before, it is unmounted again at the end.
	mountpoint -q /sys/kernel/tracing 2>/dev/null || mounted=1
	list=$(perf list tracepoint 2>/dev/null || true)
	for t in read writev write sendmsg sendmmsg recvmsg recvmmsg epoll_wait epoll_pwait epoll_pwait2; do
		! grep -q "syscalls:sys_enter_$t " <<<"$list" || ev="$ev,syscalls:sys_enter_$t"
	done
	use_path a
	snap P0
	say "(profile) TCP 1 stream through strait-tun under perf, ${secs}s"
	perf record -F 1999 -g -p "$p1,$p2" -o "$WORK/perf.data" -- sleep "$secs" \
		>"$WORK/perf-record.log" 2>&1 &
	rec_pid=$!
	perf stat -x, --per-thread -e "task-clock$ev" -p "$p1,$p2" -o "$WORK/perf-stat.csv" \
		-- sleep "$secs" >"$WORK/perf-stat.log" 2>&1 &
	stat_pid=$!
	iperf "$WORK/prof.tcp1.json" "$SVC" -t "$secs" || true
	wait "$rec_pid" "$stat_pid" || true
	snap P1
	[ $mounted = 0 ] || ! mountpoint -q /sys/kernel/tracing 2>/dev/null ||
		umount /sys/kernel/tracing 2>/dev/null || true
	D0=P0 D1=P1
	prof_out+=("$(printf 'profiled run: %.2f Gbit/s with perf attached; %s s' \
		"$(gbps "$WORK/prof.tcp1.json" 2>/dev/null || echo 0)" "$secs")")
	local j pid cpu line name v rep
	for j in 1 2; do
		pid=${TUNNEL_TUN[$j]}
		cpu=$(awk -F, -v p="-$pid" '$1 ~ p"$" && $4 == "task-clock" { s += $2 } END { printf "%.0f", s }' "$WORK/perf-stat.csv" 2>/dev/null || echo 0)
		line="n$j (pid $pid): $(div "$cpu" $((secs * 10)) 0)% of a CPU;"
		line="$line $(delta $j 'strait_tun_packets_total|leg="device",dir="rx"') device reads,"
		line="$line $(delta $j 'strait_tun_packets_total|leg="udp",dir="rx"') UDP datagrams in,"
		line="$line $(delta $j 'strait_tun_udp_sends_total|') sendmsg,"
		line="$line $(delta $j 'strait_tun_packets_total|leg="device",dir="tx"') device writes (its counters)"
		prof_out+=("$line")
		if [ -n "$ev" ]; then
			line="  system calls (perf stat):"
			for t in ${ev//,/ }; do
				name=${t#syscalls:sys_enter_}
				v=$(awk -F, -v p="-$pid" -v e="$t" '$1 ~ p"$" && $4 == e { s += $2 } END { printf "%.0f", s }' "$WORK/perf-stat.csv")
				[ "$v" = 0 ] || line="$line $name $v"
			done
			prof_out+=("$line")
		fi
		prof_out+=("  samples by system call:")
		rep=$(perf script -i "$WORK/perf.data" -F pid,ip,sym 2>/dev/null | awk -v want="$pid" "$PROF_AWK" || true)
		while IFS= read -r line; do prof_out+=("    $line"); done <<<"$rep"
		prof_out+=("  hottest functions (self; [k] kernel, [.] user):")
		rep=$(perf report -i "$WORK/perf.data" --stdio --no-children -g none \
			--pid "$pid" --percentage relative --sort dso,sym --percent-limit 2 2>/dev/null |
			awk '/^ +[0-9.]+%/ && n++ < 12 { sub(/^ +/, ""); print }' || true)
		while IFS= read -r line; do prof_out+=("    $line"); done <<<"$rep"
	done
	rep=$(perf report -i "$WORK/perf.data" --stdio --no-children -g none --sort sym 2>/dev/null || true)
	if grep -q 'pvm_irq_enable' <<<"$rep"; then
		prof_out+=("(pvm_irq_enable: a PVM guest; samples taken while interrupts were off land where they are enabled again, e.g. at the end of softirq work)")
	fi
}
if [ "$profile" = 1 ] && command -v perf >/dev/null; then
	profile_run
fi

# ---- the table ----------------------------------------------------------
val() { echo "${R[$1,$2]:-}"; }
num() { if [ -n "$1" ]; then printf "%.${2}f" "$1"; else echo "-"; fi; }
ratio() { # ROW X Y: x/y; for latency also the µs added
	local x y
	x=$(val "$2" "$1") y=$(val "$3" "$1")
	if [ -z "$x" ] || [ -z "$y" ]; then echo "-"; return; fi
	case $1 in
	rr*) awk -v x="$x" -v y="$y" 'BEGIN { printf "%.2f (%+.0f us)", x / y, x - y }' ;;
	*) awk -v x="$x" -v y="$y" 'BEGIN { printf "%.2f", x / y }' ;;
	esac
}
label() {
	case $1 in
	tcp1) echo "TCP 1 stream   Gbit/s" ;;
	tcp4) echo "TCP 4 streams  Gbit/s" ;;
	udp) echo "UDP 1400 B rx  kpkt/s" ;;
	rr50) echo "TCP RR p50     us" ;;
	rr99) echo "TCP RR p99     us" ;;
	esac
}
decimals() { case $1 in tcp*) echo 2 ;; *) echo 1 ;; esac; }

read -r load _ </proc/loadavg
echo "strait-tun data path: pod n1p1 -> pod n2p1, 2 nodes behind an underlay router, veths, IPv4"
echo "iperf3 $(iperf3 --version | awk 'NR == 1 { print $2 }'), ${secs}s per run, TCP congestion control $cc;" \
	"$(nproc) CPUs, load average $load at the end; kernel $(uname -r)"
echo "(a) strait-tun (service IP, MTU 1444)  (b) kernel VXLAN (VNI 4242, port 4790," \
	"MTU ${vx_mtu:-?})  (c) direct (MTU 1500)"
echo "TCP 1 stream: median of $rounds rounds (a b c interleaved); ratios a/b, a/c:" \
	"rates, higher is better; latency x/y (and the µs added)"
echo
printf '%-22s %8s %8s %8s   %-16s %s\n' "" "(a)" "(b)" "(c)" "tun/VXLAN a/b" "tun/direct a/c"
for r in "${ROWS[@]}"; do
	d=$(decimals "$r")
	cells=()
	for m in "${PATHS[@]}"; do
		x=$(num "$(val "$m" "$r")" "$d")
		[ "$r" != udp ] || [ -z "${SENDER_BOUND[$m]:-}" ] || x="$x*"
		cells+=("$x")
	done
	printf '%-22s %8s %8s %8s   %-16s %s\n' "$(label "$r")" "${cells[@]}" \
		"$(ratio "$r" a b)" "$(ratio "$r" a c)"
done
echo
for m in "${PATHS[@]}"; do
	echo "TCP 1 stream ($m), each round, Gbit/s:$(for x in ${T1[$m]:-}; do printf ' %5.2f' "$x"; done);" \
		"retransmits:${RETR[$m]:-}; mean RTT µs:${RTT[$m]:-}; largest cwnd KB:${CWND[$m]:-}"
done
echo "TCP 4 streams, retransmits: (a) ${RETR4[a]:--} (b) ${RETR4[b]:--} (c) ${RETR4[c]:--}"
g=$(val a tcp1) v=$(val b tcp1)
if [ -n "$g" ] && [ -n "$v" ]; then
	share=$(awk -v g="$g" -v v="$v" 'BEGIN { printf "%.0f%%", 100 * g / v }')
	if awk -v g="$g" -v v="$v" 'BEGIN { exit !(g >= 0.6 * v) }'; then
		echo "goal (TCP 1 stream: strait-tun >= 60% of VXLAN): MET ($share)"
	else
		echo "goal (TCP 1 stream: strait-tun >= 60% of VXLAN): NOT MET ($share)"
	fi
else
	echo "goal (TCP 1 stream: strait-tun >= 60% of VXLAN): not measured"
fi
for m in "${PATHS[@]}"; do
	[ -z "${NOTE[$m]:-}" ] || echo "UDP ($m): ${NOTE[$m]}"
done
[ ${#SENDER_BOUND[@]} = 0 ] || echo "UDP *: the unpaced probe lost nothing: the sender (sendmmsg, and" \
	"the veth hops run inline in it) was the limit; the path carries at least this"

# ASCII chart: each row scaled to its largest figure.
echo
bar() { awk -v x="$1" -v m="$2" 'BEGIN { n = m > 0 ? int(40 * x / m + 0.5) : 0;
	s = ""; for (i = 0; i < n; i++) s = s "#"; printf "%-40s", s }'; }
declare -A names=([a]="strait-tun" [b]="VXLAN" [c]="direct")
for r in "${ROWS[@]}"; do
	max=0
	for m in "${PATHS[@]}"; do
		x=$(val "$m" "$r")
		[ -z "$x" ] || max=$(awk -v a="$max" -v b="$x" 'BEGIN { print (b > a ? b : a) }')
	done
	echo "$(label "$r")$(case $r in rr*) echo " (lower is better)" ;; esac)"
	for m in "${PATHS[@]}"; do
		x=$(val "$m" "$r")
		printf '  %-11s %s %s\n' "${names[$m]}" "$(bar "${x:-0}" "$max")" "$(num "$x" "$(decimals "$r")")"
	done
done

print_counters() { # TITLE
	local c rd rb s dg rx bt w mg
	echo
	echo "strait-tun counters over (a)'s $1 run (deltas; data n1 -> n2, TCP's ACKs back):"
	printf '  %-58s %12s %12s\n' "" "n1 (client)" "n2 (server)"
	for c in "${COUNTERS[@]}"; do
		printf '  %-58s %12s %12s\n' "${c%%|*}{${c#*|}}" "$(delta 1 "$c")" "$(delta 2 "$c")"
	done
	rd=$(delta 1 'strait_tun_packets_total|leg="device",dir="rx"')
	rb=$(delta 1 'strait_tun_bytes_total|leg="device",dir="rx"')
	s=$(delta 1 'strait_tun_udp_sends_total|')
	dg=$(delta 1 'strait_tun_packets_total|leg="udp",dir="tx"')
	rx=$(delta 2 'strait_tun_packets_total|leg="udp",dir="rx"')
	bt=$(delta 2 'strait_tun_udp_receive_batches_total|')
	w=$(delta 2 'strait_tun_packets_total|leg="device",dir="tx"')
	mg=$(delta 2 'strait_tun_merged_segments_total|')
	echo "  n1 (sender):   $rd packets read from strait-tun0, $(div "$rb" "$((rd * 1024))" 1) KB each on average;"
	echo "                 $dg datagrams in $s sendmsg: $(div "$dg" "$s" 1) datagrams per send (UDP_SEGMENT)," \
		"$(div "$s" "$rd" 2) sends per packet read"
	echo "  n2 (receiver): $rx datagrams in $bt recvmmsg ($(div "$rx" "$bt" 1) per call, UDP_GRO);"
	echo "                 $w writes to strait-tun0: $(div "$rx" "$w" 1) segments per write;" \
		"$mg of the datagrams ($(div "$((mg * 100))" "$rx" 0)%) written inside merged packets"
}
D0=A0 D1=A1
print_counters "TCP 1-stream (round 1)"
if [ -n "$C0" ] && [ -n "$C1" ]; then
	# Whether a CPU was left for more threads: the whole machine.
	read -r -a c0 <<<"$C0"
	read -r -a c1 <<<"$C1"
	awk -v n="$(nproc)" -v us=$((c1[0] + c1[1] - c0[0] - c0[1])) -v sy=$((c1[2] - c0[2])) \
		-v id=$((c1[3] + c1[4] - c0[3] - c0[4])) -v si=$((c1[5] + c1[6] - c0[5] - c0[6])) \
		-v st=$((c1[7] - c0[7])) 'BEGIN { t = us + sy + id + si + st; if (t > 0)
		printf "  the machine (%d CPUs, /proc/stat) over that run: busy %.0f%% (user %.0f%%, system %.0f%%, irq+softirq %.0f%%, steal %.0f%%), idle %.0f%%\n",
			n, 100 * (t - id) / t, 100 * us / t, 100 * sy / t, 100 * si / t, 100 * st / t, 100 * id / t }'
fi
D0=F0 D1=F1
print_counters "TCP 4-stream"
if [ ${#U1[@]} -gt 0 ]; then
	D0=U0 D1=U1
	print_counters "last UDP 1400 B"
fi

if [ ${#prof_out[@]} -gt 0 ]; then
	echo
	echo "profile of both strait-tuns during a TCP 1-stream run (perf record -F 1999 -g, perf stat):"
	for l in "${prof_out[@]}"; do echo "$l"; done
fi
