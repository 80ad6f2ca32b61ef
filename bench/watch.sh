#!/usr/bin/env bash
# Memory of `edgelab watch` over many runs: the resident set after 10, 100
# and RUNS runs of a short period against the seed lab, which this script
# brings up and takes down. Flat is the goal (history capped, nothing kept
# per run); bench/README.md has the figures.
#
#   bench/watch.sh [BUILD_DIR]      RUNS (1000), EVERY (200ms), ONLY (tls.*), POINTS (more run counts to read at, ascending) override
set -euo pipefail

build=${1:-build}
edgelab=$(realpath "$build/bin/edgelab")
source_dir=$(cd "$(dirname "$0")/.." && pwd)
lab="$source_dir/scenarios/labs/seed-lab.json"
runs=${RUNS:-1000}
every=${EVERY:-200ms}
only=${ONLY:-tls.*}

work=$(mktemp -d /tmp/edgelab-bench-watch-XXXXXX)
watch_pid=""
cleanup() {
  [ -n "$watch_pid" ] && kill -TERM "$watch_pid" 2>/dev/null && wait "$watch_pid" 2>/dev/null
  "$edgelab" down "$lab" --work-dir "$work/lab" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$edgelab" up "$lab" --work-dir "$work/lab" --disk-sample-mib 1 >/dev/null
"$edgelab" watch "$lab" --work-dir "$work/lab" --only "$only" --every "$every" \
  --listen 127.0.0.1:0 --history 100 >"$work/watch.out" 2>"$work/watch.err" &
watch_pid=$!

finished() { grep -c '"event":"run"' "$work/watch.out" || true; }
status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$watch_pid/status"; }

printf '%-8s %-10s %-10s %-8s %s\n' runs "RSS KiB" "HWM KiB" failed elapsed
start=$(date +%s)
for at in 10 100 ${POINTS:-} "$runs"; do
  # Waits on the watch's own log: a run line per finished run.
  while [ "$(finished)" -lt "$at" ]; do
    kill -0 "$watch_pid" 2>/dev/null || { cat "$work/watch.err" >&2; exit 3; }
    sleep 0.2
  done
  failed=$(grep '"event":"run"' "$work/watch.out" | grep -vc '"failed":0,' || true)
  printf '%-8s %-10s %-10s %-8s %ss\n' "$at" "$(status VmRSS)" "$(status VmHWM)" "$failed" \
    "$(( $(date +%s) - start ))"
done
echo "(period $every, checks $only, history 100 runs; failed: runs with a failed check so far)"
