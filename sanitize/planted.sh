#!/usr/bin/env bash
# `make sanitize-planted`: shows that a sanitizer report fails `make
# sanitize`. One end-to-end test runs against edgelab-proxy-planted
# (sanitize/planted.cpp) from each tree: under ASan the planted leak is
# reported when the proxy exits, after the test has passed; under TSan the
# planted race is reported at start. Succeeds only when each run fails and
# shows its sanitizer's report.
#   sanitize/planted.sh [ASAN-BUILD] [TSAN-BUILD] [TEST-BUILD]
set -uo pipefail
asan=${1:-build-fuzz}
tsan=${2:-build-tsan}
tests=${3:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
# expect STEP PATTERN: the run of STEP fails with PATTERN in its output.
expect() {
  local step=$1 pattern=$2 log
  log="$(realpath -m "$asan")/sanitize-planted-$step.log"
  SANITIZE_STEPS=$step SANITIZE_PROGRAM=edgelab-proxy-planted \
    SANITIZE_TESTS='^ProxyEndToEnd\.CreatesHostnameBindingsOnlyWhenPublishing$' \
    "$root/sanitize/run.sh" "$asan" "$tsan" "$tests" >"$log" 2>&1
  local rc=$?
  cat "$log"
  if [ $rc -eq 0 ]; then
    echo "sanitize-planted: $step passed with the planted bug: it does not catch it" >&2
    status=1
  elif ! grep -q "$pattern" "$log"; then
    echo "sanitize-planted: $step failed, but without \"$pattern\" (log: $log)" >&2
    status=1
  else
    echo "sanitize-planted: $step failed with \"$pattern\", as it must"
  fi
}
expect asan-e2e "ERROR: LeakSanitizer: detected memory leaks"
expect tsan-e2e "WARNING: ThreadSanitizer: data race"
exit $status
