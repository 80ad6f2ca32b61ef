#!/usr/bin/env bash
# `make fuzz` (and CI): runs libFuzzer targets for a bounded time each on a
# copy of its seed corpus (fuzz/corpus/TARGET stays as committed; new inputs
# go to BUILD/fuzz-corpus/TARGET). A crash, a leak, a timeout, an
# out-of-memory or a sanitizer report fails the run: the target's report is
# printed with the command that replays the saved input, and the script
# exits 1 once every target has run.
#   fuzz/run.sh [BUILD-DIR] [SECONDS-PER-TARGET] [TARGET...]
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-45}
shift $(( $# < 2 ? $# : 2 ))
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -gt 0 ]; then
  targets="$*"
else
  targets=$(cd "$build/fuzz" && ls fuzz_* | sed 's/^fuzz_//')
fi
[ -n "$targets" ] || { echo "fuzz/run.sh: no fuzz_* targets in $build/fuzz" >&2; exit 2; }
status=0
for target in $targets; do
  work="$build/fuzz-corpus/$target"
  artifacts="$build/fuzz-artifacts/$target/"
  mkdir -p "$work" "$artifacts"
  seeds=()
  [ -d "$root/fuzz/corpus/$target" ] && seeds=("$root/fuzz/corpus/$target")
  dict=()
  [ -f "$root/fuzz/$target.dict" ] && dict=(-dict="$root/fuzz/$target.dict")
  log="$build/fuzz-$target.log"
  echo "fuzz_$target: ${seconds}s"
  if "$build/fuzz/fuzz_$target" "${dict[@]}" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$artifacts" "$work" "${seeds[@]}" >"$log" 2>&1; then
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs" "$log" |
      sed 's/^/  /' || true
  else
    reproducer=$(ls -t "$artifacts" 2>/dev/null | head -1)
    echo "  FAILED: fuzz_$target (log: $log)"
    grep -E "^==[0-9]+==ERROR|runtime error:|^SUMMARY|deadly signal|Test unit written" "$log" |
      head -8 | sed 's/^/    /' || true
    if [ -n "$reproducer" ]; then
      echo "  replay: $build/fuzz/fuzz_$target $artifacts$reproducer"
    fi
    status=1
  fi
done
exit $status
