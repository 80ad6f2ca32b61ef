#!/usr/bin/env bash
# `make sanitize` (and CI): the proxy under the sanitizers (sanitize/README.md).
#   asan-unit  the proxy's in-process tests built with ASan+UBSan (ctest -L sanitize
#              in ASAN-BUILD/sanitize)
#   asan-e2e   the proxy's end-to-end tests from TEST-BUILD (ctest -L proxy_process)
#              against ASAN-BUILD/bin/edgelab-proxy
#   tsan-e2e   the same tests against TSAN-BUILD/bin/edgelab-proxy
# Every sanitizer report is written to a file of its own (log_path), whichever
# process made it: the proxy's reports at exit (a leak) reach no test, so the
# run fails on a failed test or on any report file, printing the reports.
#   sanitize/run.sh [ASAN-BUILD] [TSAN-BUILD] [TEST-BUILD]
# Environment: SANITIZE_STEPS (default "asan-unit asan-e2e tsan-e2e"),
# SANITIZE_PROGRAM (default edgelab-proxy), SANITIZE_TESTS (a ctest -R regex),
# JOBS (default the core count).
set -euo pipefail
# Absolute: the reports' paths reach processes that run in other folders.
asan=$(realpath -m "${1:-build-fuzz}")
tsan=$(realpath -m "${2:-build-tsan}")
tests=$(realpath -m "${3:-build}")
root=$(cd "$(dirname "$0")/.." && pwd)
steps=${SANITIZE_STEPS:-asan-unit asan-e2e tsan-e2e}
program=${SANITIZE_PROGRAM:-edgelab-proxy}
jobs=${JOBS:-$(nproc)}
select=()
[ -n "${SANITIZE_TESTS:-}" ] && select=(-R "$SANITIZE_TESTS")

# Stop at the first error (halt_on_error); a leak is an error; UBSan prints
# the stack. Suppressions: sanitize/*.supp (third-party reports only).
asan_options="halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1"
ubsan_options="halt_on_error=1:print_stacktrace=1"
lsan_options="suppressions=$root/sanitize/lsan.supp:print_suppressions=0"
tsan_options="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/sanitize/tsan.supp"

need() {
  [ -x "$1" ] || { echo "sanitize/run.sh: $1 is not built ($2)" >&2; exit 2; }
}

status=0
reports=()
# run STEP REPORT-DIR COMMAND...: the command with its reports in REPORT-DIR.
run() {
  local step=$1 dir=$2
  shift 2
  rm -rf "$dir"
  mkdir -p "$dir"
  reports+=("$dir")
  echo "== $step"
  local start=$SECONDS
  if ! "$@"; then
    echo "  FAILED: $step (tests failed)"
    status=1
  fi
  echo "  $step: $((SECONDS - start)) s"
}

asan_env() {
  local dir=$1
  env ASAN_OPTIONS="$asan_options:log_path=$dir/asan" \
    UBSAN_OPTIONS="$ubsan_options:log_path=$dir/ubsan" \
    LSAN_OPTIONS="$lsan_options" "${@:2}"
}

for step in $steps; do
  case $step in
    asan-unit)
      dir="$asan/sanitize-reports/unit"
      run "$step" "$dir" asan_env "$dir" \
        ctest --test-dir "$asan/sanitize" -L sanitize -j "$jobs" --output-on-failure "${select[@]}"
      ;;
    asan-e2e)
      need "$asan/bin/$program" "make sanitize"
      dir="$asan/sanitize-reports/e2e"
      run "$step" "$dir" asan_env "$dir" env EDGELAB_TEST_PROXY="$asan/bin/$program" \
        ctest --test-dir "$tests" -L proxy_process -j "$jobs" --output-on-failure "${select[@]}"
      ;;
    tsan-e2e)
      need "$tsan/bin/$program" "make sanitize"
      dir="$tsan/sanitize-reports/e2e"
      run "$step" "$dir" env TSAN_OPTIONS="$tsan_options:log_path=$dir/tsan" \
        EDGELAB_TEST_PROXY="$tsan/bin/$program" \
        ctest --test-dir "$tests" -L proxy_process -j "$jobs" --output-on-failure "${select[@]}"
      ;;
    *)
      echo "sanitize/run.sh: unknown step $step (asan-unit, asan-e2e, tsan-e2e)" >&2
      exit 2
      ;;
  esac
done

# Every report, whichever process wrote it.
for dir in "${reports[@]}"; do
  for report in "$dir"/*; do
    [ -f "$report" ] || continue
    status=1
    echo "== sanitizer report: $report"
    grep -E "^SUMMARY|ERROR: |WARNING: |runtime error:" "$report" | head -4 | sed 's/^/  /'
    sed -n '1,60p' "$report" | sed 's/^/  | /'
  done
done
[ $status -eq 0 ] && echo "sanitize: no test failed, no sanitizer report"
exit $status
