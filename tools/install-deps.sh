#!/usr/bin/env bash
# Installs the Debian 12 packages edgelab builds, tests and benchmarks with,
# when any is missing. Idempotent: prints nothing to do when all are present.
set -euo pipefail

packages=(
  g++ cmake ninja-build make pkg-config
  libssl-dev libcurl4-openssl-dev
  libboost1.74-dev libboost-filesystem1.74-dev
  nlohmann-json3-dev libcli11-dev libxml2-dev zlib1g-dev
  libgtest-dev libgmock-dev
  openssl curl nginx-light wrk linux-perf valgrind libxml2-utils chromium python3 python3-yaml
  prometheus pidgin-sipe finch iproute2 util-linux gss-ntlmssp
  clang-format-14
)

# `make fuzz` only: clang++ and its libFuzzer/ASan runtimes.
if [ "${1:-}" = "--fuzz" ]; then
  packages+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "edgelab: installing Debian packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "edgelab: need root (or sudo) to install: ${missing[*]}" >&2; exit 2; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# nginx's package starts a service on port 80; the tests start their own.
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
if command -v service >/dev/null && pgrep -x nginx >/dev/null 2>&1; then
  $sudo service nginx stop >/dev/null 2>&1 || true
fi
# prometheus's package starts a service on port 9090 (and node exporter's
# 9100 when recommends are on); the watch tests start their own on ports
# the kernel chooses, and nothing should scrape or listen beside them.
if command -v service >/dev/null && pgrep -x prometheus >/dev/null 2>&1; then
  $sudo service prometheus stop >/dev/null 2>&1 || true
fi
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
