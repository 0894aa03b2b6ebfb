# shellcheck shell=bash disable=SC2034
# strait-lb in the namespace topology (tests/netns/topo.sh): sourced by the
# LB's end-to-end tests and its benchmark, never run. Needs lib.sh (WORK,
# BIN, PIDS, wait_for, fail) and topo.sh sourced first.
#
# In the lb namespace, on its own loopback: strait-nsp (127.0.0.1:7778)
# reading the trench configuration from $LBENV_CFG, strait-lb (queues 0:1,
# control socket $WORK/lb.sock, metrics 127.0.0.1:9779), and one
# `straitctl nsp register --keep` per registered target. In each target
# namespace: `strait-traffic server` (TCP and UDP, port 5003) named t<i>.
#
#   lbenv_init NAME              skips unless root, jq and namespaces; sets
#                                LBENV_P=NAME<pid> and the EXIT trap that
#                                destroys the topology, then cleans up
#   lbenv_start N [--sources K]  topology of N targets (v4 and v6), NSP,
#                                the LB, traffic servers; nothing registered
#   lbenv_config VIPS FLOWS      writes the configuration (see below) and
#                                swaps it in as Kubernetes does (..data)
#   lbenv_register I [STREAM]    registers target I (identifier I) in STREAM
#                                (default s1), kept alive; LBENV_REG[I:S] pid
#   lbenv_unregister I [STREAM]  stops that agent, which unregisters
#   lbenv_lb_start / lbenv_lb_kill   (re)start strait-lb / kill -9 it
#                                ($LBENV_LB_ARGS: more options, e.g. for a
#                                mutation check with --no-conntab)
#   lbctl ARGS                   straitctl lb ... against the LB
#   lbenv_ready STREAM N         true when STREAM has exactly N ready targets
#   lbenv_traffic NAME ARGS      strait-traffic client in the client
#                                namespace, in the background, status in
#                                $WORK/NAME.status, report in $WORK/NAME.json
#   lbenv_stat NAME JQ           a value of NAME's status file
#
# Configuration: two streams, s1 and s2 (max-targets 10 each), conduit lb,
# trench trench-a; VIPS is a list of "name=address", FLOWS a list of YAML
# flow items (one string each, without the leading "- ").

LBENV_CFG=
LBENV_LB_PID=
LBENV_NSP_PID=
declare -A LBENV_REG=()

lbenv_init() { # NAME
	[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
	command -v jq >/dev/null || skip "jq is not installed"
	LBENV_P=$1$$
	trap 'rc=$?; set +e; topo_destroy "$LBENV_P"; (exit $rc); cleanup' EXIT
	ip netns add "$LBENV_P-x" 2>/dev/null || skip "cannot create network namespaces"
	ip netns del "$LBENV_P-x"
}

lbctl() { topo_exec lb "$BIN/straitctl" --lb "unix:$WORK/lb.sock" "$@"; }

lbenv_config() { # "v1=198.18.100.1/32 ..." FLOW...
	local vips=$1 d new
	shift
	d=$LBENV_CFG
	new=$(mktemp -d "$d/..data.XXXXXX")
	echo "name: trench-a" >"$new/trench"
	printf 'items:\n  - name: lb\n    trench: trench-a\n' >"$new/conduits"
	printf 'items:\n' >"$new/streams"
	for s in s1 s2; do
		printf '  - name: %s\n    trench: trench-a\n    conduit: lb\n    max-targets: 10\n' "$s" >>"$new/streams"
	done
	printf 'items:\n' >"$new/vips"
	for v in $vips; do
		printf '  - name: %s\n    trench: trench-a\n    address: %s\n' "${v%%=*}" "${v#*=}" >>"$new/vips"
	done
	printf 'items:\n' >"$new/flows"
	for f in "$@"; do
		printf '  - %s\n' "$f" >>"$new/flows"
	done
	for f in trench conduits streams vips flows; do
		[ -L "$d/$f" ] || ln -s "..data/$f" "$d/$f"
	done
	local old
	old=$(readlink "$d/..data" 2>/dev/null || true)
	ln -s "$(basename "$new")" "$d/..data_tmp"
	mv -T "$d/..data_tmp" "$d/..data"
	[ -n "$old" ] && rm -rf "${d:?}/$old"
	return 0
}

lbenv_lb_start() {
	topo_bg lb "$BIN/strait-lb" --trench trench-a --conduit lb \
		--nsp 127.0.0.1:7778 --queues 0:1 \
		--control "unix:$WORK/lb.sock" -m 127.0.0.1:9779 \
		${LBENV_LB_ARGS:-} "$@" \
		>>"$WORK/lb.log" 2>&1
	LBENV_LB_PID=$TOPO_BG_PID
	PIDS+=("$LBENV_LB_PID")
	wait_for 10 "strait-lb's control socket" lbctl lb status
}

lbenv_lb_kill() {
	kill -9 "$LBENV_LB_PID"
	wait "$LBENV_LB_PID" 2>/dev/null || true
}

lbenv_start() { # N [--sources K]
	local n=$1 sources=8
	[ "${2:-}" = --sources ] && sources=$3
	topo_create "$LBENV_P" "$n" --sources "$sources" --v6
	LBENV_CFG=$WORK/config
	mkdir -p "$LBENV_CFG"
	lbenv_config "v4=198.18.100.1/32 v6=fd00:100::1/128" \
		"{name: f1, trench: trench-a, stream: s1, vips: [v4, v6], protocols: [tcp, udp, icmp, icmpv6], priority: 1}"
	topo_bg lb "$BIN/strait-nsp" -l 127.0.0.1:7778 -m off \
		-s "$WORK/nsp.db" -c "$LBENV_CFG" >>"$WORK/nsp.log" 2>&1
	LBENV_NSP_PID=$TOPO_BG_PID
	PIDS+=("$LBENV_NSP_PID")
	wait_for 10 "strait-nsp" topo_exec lb "$BIN/straitctl" \
		--nsp 127.0.0.1:7778 nsp list
	for i in $(seq 1 "$n"); do
		topo_bg "t$i" "$BIN/strait-traffic" server --port 5003 \
			--name "t$i" >>"$WORK/server-t$i.log" 2>&1
		PIDS+=("$TOPO_BG_PID")
	done
	lbenv_lb_start
}

lbenv_register() { # I [STREAM]
	local i=$1 s=${2:-s1}
	topo_bg lb "$BIN/straitctl" --nsp 127.0.0.1:7778 nsp register \
		--trench trench-a --conduit lb --stream "$s" \
		--ip "198.19.$i.2/24" --ip "fd00:0:0:$i::2/64" \
		--identifier "$i" --keep >>"$WORK/agent-t$i-$s.log" 2>&1
	LBENV_REG[$i:$s]=$TOPO_BG_PID
	PIDS+=("$TOPO_BG_PID")
}

lbenv_unregister() { # I [STREAM]
	local i=$1 s=${2:-s1} pid
	pid=${LBENV_REG[$i:$s]}
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
}

lbenv_ready() { # STREAM N
	local out
	out=$(lbctl lb streams --json 2>/dev/null) || return 1
	[ "$(jq --arg s "$1" '[.streams[] | select(.name == $s) | .targets[] | select(.ready)] | length' <<<"$out")" -eq "$2" ]
}

lbenv_traffic() { # NAME ARGS...
	local name=$1
	shift
	rm -f "$WORK/$name.status" "$WORK/$name.json"
	topo_bg client "$BIN/strait-traffic" client --status "$WORK/$name.status" \
		--json "$@" >"$WORK/$name.json" 2>>"$WORK/$name.log"
	PIDS+=("$TOPO_BG_PID")
	LBENV_TRAFFIC_PID=$TOPO_BG_PID
}

lbenv_stat() { # NAME JQ
	jq -r "$2" "$WORK/$1.status" 2>/dev/null
}

# The client's extra source addresses, comma-separated, of family 4 or 6.
lbenv_sources() {
	local fam=${1:-4} out="" j
	for j in $(seq 0 $((TOPO_SOURCES - 1))); do
		out+="${out:+,}$(topo_source_addr "$j" "$([ "$fam" = 6 ] && echo 6)")"
	done
	echo "$out"
}
