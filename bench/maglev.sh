#!/usr/bin/env bash
# Maglev table benchmark: build time, lookup cost per packet, balance and
# disruption on removal, for N=100/M=10007, N=1000/M=100003, a stream of 4
# live targets out of 100, and the largest stream (N=65536). Pure CPU, no
# network, about 5 seconds.
# Usage: bench/maglev.sh [maglev_bench options]   (--json, --quick, --lookups N)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-build/bin}
exec "$bin/maglev_bench" "$@"
