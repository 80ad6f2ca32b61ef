#!/usr/bin/env bash
# `make fuzz` (and CI): runs libFuzzer targets for a bounded time each on a
# copy of its seed corpus (fuzz/corpus/TARGET stays as committed; new inputs
# go to BUILD/fuzz-corpus/TARGET). A crash, a leak, a timeout, an
# out-of-memory or a sanitizer report fails the run: the target's report is
# printed with the command that replays the saved input, and the script
# exits 1 once every target has run.
#   fuzz/run.sh [BUILD-DIR] [SECONDS-PER-TARGET] [TARGET...]
# FUZZ_JOBS=N runs N targets at once (default 1; CI: the core count).
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-45}
shift $(( $# < 2 ? $# : 2 ))
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${FUZZ_JOBS:-1}
if [ $# -gt 0 ]; then
  targets="$*"
else
  targets=$(cd "$build/fuzz" && ls fuzz_* | sed 's/^fuzz_//')
fi
[ -n "$targets" ] || { echo "fuzz/run.sh: no fuzz_* targets in $build/fuzz" >&2; exit 2; }
# fuzz_one TARGET: runs it, prints its summary; fails when the target did.
fuzz_one() {
  local target=$1
  local work="$build/fuzz-corpus/$target"
  local artifacts="$build/fuzz-artifacts/$target/"
  mkdir -p "$work" "$artifacts"
  local seeds=()
  [ -d "$root/fuzz/corpus/$target" ] && seeds=("$root/fuzz/corpus/$target")
  local dict=()
  [ -f "$root/fuzz/$target.dict" ] && dict=(-dict="$root/fuzz/$target.dict")
  local log="$build/fuzz-$target.log"
  echo "fuzz_$target: ${seconds}s"
  if "$build/fuzz/fuzz_$target" "${dict[@]}" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$artifacts" "$work" "${seeds[@]}" >"$log" 2>&1; then
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs" "$log" |
      sed 's/^/  /' || true
  else
    local reproducer
    reproducer=$(ls -t "$artifacts" 2>/dev/null | head -1)
    echo "  FAILED: fuzz_$target (log: $log)"
    grep -E "^==[0-9]+==ERROR|runtime error:|^SUMMARY|deadly signal|Test unit written" "$log" |
      head -8 | sed 's/^/    /' || true
    if [ -n "$reproducer" ]; then
      echo "  replay: $build/fuzz/fuzz_$target $artifacts$reproducer"
    fi
    return 1
  fi
}

status=0
if [ "$jobs" -le 1 ]; then
  for target in $targets; do
    fuzz_one "$target" || status=1
  done
  exit $status
fi
# FUZZ_JOBS targets at once, each on a core of its own; each summary is
# printed when every target has run, in order.
for target in $targets; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  ( if fuzz_one "$target" >"$build/fuzz-$target.summary" 2>&1; then result=0; else result=1; fi
    echo $result >"$build/fuzz-$target.status" ) &
done
wait
for target in $targets; do
  cat "$build/fuzz-$target.summary"
  [ "$(cat "$build/fuzz-$target.status")" = 0 ] || status=1
  rm -f "$build/fuzz-$target.summary" "$build/fuzz-$target.status"
done
exit $status
