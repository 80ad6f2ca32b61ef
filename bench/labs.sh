#!/usr/bin/env bash
# bench/labs.sh [BUILD]: N copies of the seed lab (each under a name of its
# own) in one `edgelab run FOLDER`, from start to the last report written:
# every lab's PKI, processes, checks, reports and teardown, JOBS at a time.
# Prints the wall time, the CPU time of edgelab and its children, the peak
# resident set, and the goal: at most 10 s for N = 100 on a 2-core machine.
#
#   bench/labs.sh [BUILD]     N (100), JOBS (the machine's choice: 4 per core), ROUNDS (1) override
set -euo pipefail

BUILD=${1:-build}
BIN=$(cd "$BUILD/bin" && pwd)
EDGELAB=$BIN/edgelab
SEED=${LAB:-scenarios/labs/seed-lab.json}
N=${N:-100}
CORES=$(nproc)
JOBS=${JOBS:-$((4 * CORES))}
ROUNDS=${ROUNDS:-1}
GOAL=${GOAL:-10}
TMP=$(mktemp -d /tmp/edgelab-bench-labs.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

mkdir -p "$TMP/labs"
for i in $(seq -f '%03g' 1 "$N"); do
  sed "s/\"name\": \"seed-lab\"/\"name\": \"seed-lab-$i\"/" "$SEED" >"$TMP/labs/seed-lab-$i.json"
done

printf 'edgelab run of %s copies of %s, --jobs %s (%s cores), load %s\n' "$N" "$SEED" "$JOBS" "$CORES" \
  "$(uptime | sed 's/.*load average: //')"
best=""
for r in $(seq 1 "$ROUNDS"); do
  rm -rf "$TMP/work" "$TMP/report"
  /usr/bin/time -f '%e %U %S %M' -o "$TMP/time" \
    "$EDGELAB" run "$TMP/labs" --jobs "$JOBS" --work-dir "$TMP/work" --report-dir "$TMP/report" -q \
    >"$TMP/run.out" 2>&1 || { echo "edgelab run failed (exit $?):"; tail -20 "$TMP/run.out"; exit 1; }
  read -r wall user sys rss <"$TMP/time"
  passed=$(grep -c ': exit 0 in' "$TMP/run.out" || true)
  printf 'round %s: %.2f s wall, %.2f s CPU (user %.2f, sys %.2f), %.0f ms CPU per lab, peak RSS %.0f MiB, %s of %s labs exit 0\n' \
    "$r" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" "$user" "$sys" \
    "$(awk -v u="$user" -v s="$sys" -v n="$N" 'BEGIN{print 1000*(u+s)/n}')" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" \
    "$passed" "$N"
  [ "$passed" = "$N" ] || { echo "not every lab passed:"; grep -v ': exit 0 in' "$TMP/run.out" | tail -20; exit 1; }
  if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$wall; fi
done
verdict=$(awk -v a="$best" -v g="$GOAL" 'BEGIN{print (a<=g)?"met":"NOT met"}')
printf '%s labs in one run: %.2f s (best of %s; goal <= %s s for 100 labs on 2 cores: %s)\n' "$N" "$best" "$ROUNDS" "$GOAL" "$verdict"
