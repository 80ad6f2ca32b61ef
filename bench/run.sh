#!/usr/bin/env bash
# bench/run.sh [BUILD]: the whole `edgelab run` of the seed lab, from start to
# the written report (provision, PKI, backends, proxy, default binding,
# checks, reports, teardown), ROUNDS times; prints each round and the median.
# Side by side in the same run: the scripted way, `edgelab up`, `edgelab
# check`, `edgelab down` as three commands (what CI would do without `run`).
# The goal is a median under 1.5 s on a 2-core machine with ECDSA keys.
#
# Each round has a fresh work folder, so the PKI is made every time (the
# expensive part a re-run in the same folder skips); WARM=1 keeps one folder
# and measures re-runs instead.
set -euo pipefail

BUILD=${1:-build}
BIN=$(cd "$BUILD/bin" && pwd)
EDGELAB=$BIN/edgelab
LAB=${LAB:-scenarios/labs/seed-lab.json}
ROUNDS=${ROUNDS:-7}
TMP=$(mktemp -d /tmp/edgelab-bench-run.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

work() {
  if [ "${WARM:-0}" = 1 ]; then echo "$TMP/warm"; else echo "$TMP/round-$1"; fi
}

run_times=()
script_times=()
printf 'edgelab run %s, %s rounds (%s)\n' "$LAB" "$ROUNDS" "$( [ "${WARM:-0}" = 1 ] && echo 're-runs in one folder' || echo 'fresh folder each round')"
printf '%-6s %12s %26s\n' round "run (ms)" "up+check+down (ms)"
for i in $(seq 1 "$ROUNDS"); do
  w=$(work "run-$i")
  t0=$(now)
  "$EDGELAB" run "$LAB" --work-dir "$w" --report-dir "$w/report" >"$TMP/run.out" 2>&1 || {
    echo "edgelab run failed (exit $?):"; tail -20 "$TMP/run.out"; exit 1; }
  t1=$(now)
  [ -s "$w/report/report.xml" ] || { echo "no report written in $w/report"; exit 1; }

  w=$(work "script-$i")
  t2=$(now)
  "$EDGELAB" up "$LAB" --work-dir "$w" >"$TMP/up.out" 2>&1 || {
    echo "edgelab up failed:"; tail -20 "$TMP/up.out"; exit 1; }
  "$EDGELAB" check "$LAB" --work-dir "$w" --report-junit "$w/report.xml" >"$TMP/check.out" 2>&1 || true
  "$EDGELAB" down "$LAB" --work-dir "$w" >/dev/null 2>&1
  t3=$(now)

  run_times+=("$(ms "$t0" "$t1")")
  script_times+=("$(ms "$t2" "$t3")")
  printf '%-6s %12s %26s\n' "$i" "${run_times[-1]}" "${script_times[-1]}"
done
run_median=$(printf '%s\n' "${run_times[@]}" | median)
script_median=$(printf '%s\n' "${script_times[@]}" | median)
printf '%-6s %12s %26s\n' median "$run_median" "$script_median"
echo "steps of the last run:"
grep -E '^[0-9]/7 ' "$TMP/run.out" || true
printf 'edgelab run median: %s ms (goal < 1500 ms: %s), load %s\n' "$run_median" \
  "$( [ "$run_median" -lt 1500 ] && echo met || echo 'NOT met')" "$(uptime | sed 's/.*load average: //')"
