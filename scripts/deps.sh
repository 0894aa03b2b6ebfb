#!/usr/bin/env bash
# Installs the Debian packages strait builds, tests and runs with.
# Usage: scripts/deps.sh [--quiet]   (--quiet: say nothing when all are there)
# Each package and why it is here is listed in README.md ("Dependencies").
set -eu

pkgs=(
  make gcc pkg-config                 # the build
  libuv1-dev                          # every event loop
  libprotobuf-c-dev protobuf-c-compiler  # every message between daemons
  libyaml-dev                         # the Meridio-style configuration files
  libsqlite3-dev sqlite3              # durable state (NSP registrations, IPAM)
  libxxhash-dev                       # hashing (tables, Maglev)
  libmnl-dev libnetfilter-queue-dev libnfnetlink-dev  # NFQUEUE and rtnetlink (the LB)
  libcmocka-dev                       # unit tests
  clang libclang-rt-14-dev            # libFuzzer targets
  iproute2 procps psmisc curl jq      # tests and demo: namespaces, processes, /metrics, JSON
  iptables iperf3 iputils-ping        # the LB's rules; its tests and benchmarks
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  [ "${1:-}" = --quiet ] || echo "deps: all ${#pkgs[@]} packages are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run 'make deps' as root (it runs apt-get install)" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
