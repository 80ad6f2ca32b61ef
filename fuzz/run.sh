#!/usr/bin/env bash
# `make fuzz`: runs every libFuzzer target for a bounded time on a copy of its
# seed corpus (fuzz/corpus/TARGET stays as committed; new inputs go to
# BUILD/fuzz-corpus/TARGET). Exits 1 when any target crashed, naming the
# reproducer libFuzzer saved.
#   fuzz/run.sh [BUILD-DIR] [SECONDS-PER-TARGET]
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-45}
root=$(cd "$(dirname "$0")/.." && pwd)
targets=$(cd "$build/fuzz" && ls fuzz_* | sed 's/^fuzz_//')
status=0
for target in $targets; do
  work="$build/fuzz-corpus/$target"
  artifacts="$build/fuzz-artifacts/$target/"
  mkdir -p "$work" "$artifacts" "$root/fuzz/corpus/$target"
  dict=()
  [ -f "$root/fuzz/$target.dict" ] && dict=(-dict="$root/fuzz/$target.dict")
  log="$build/fuzz-$target.log"
  echo "fuzz_$target: ${seconds}s"
  if "$build/fuzz/fuzz_$target" "${dict[@]}" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$artifacts" "$work" "$root/fuzz/corpus/$target" >"$log" 2>&1; then
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$log" | sed 's/^/  /' || true
  else
    echo "  CRASH: see $log; reproducer: $(ls -t "$artifacts" | head -1)"
    status=1
  fi
done
exit $status
