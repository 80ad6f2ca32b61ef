#!/usr/bin/env bash
# bench/profile.sh [BUILD]: where a lab's and a check's time goes, wall and
# CPU apart (bench/README.md, Profile).
#
# 1. `edgelab run` of the seed lab ROUNDS times (fresh folder each) with
#    EDGELAB_PROFILE set: each step's wall time, the CPU of edgelab (every
#    thread) and of the lab's processes during it; the median of each.
# 2. On a lab brought up once: `edgelab check --only FAMILY` ROUNDS times per
#    check family: wall, edgelab's CPU (user + sys) and the CPU the proxy and
#    the backends spent answering it (/proc/PID/stat before and after).
set -euo pipefail

BUILD=${1:-build}
BIN=$(cd "$BUILD/bin" && pwd)
EDGELAB=$BIN/edgelab
LAB=${LAB:-scenarios/labs/seed-lab.json}
ROUNDS=${ROUNDS:-5}
TMP=$(mktemp -d /tmp/edgelab-bench-profile.XXXXXX)
cleanup() {
  "$EDGELAB" down "$LAB" --work-dir "$TMP/up" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

. "$(dirname "$0")/lib.sh"  # median, lab_pids

printf 'load average at the start: %s\n\n' "$(uptime | sed 's/.*load average: //')"
printf '### edgelab run %s, median of %s rounds\n\n' "$LAB" "$ROUNDS"
for i in $(seq 1 "$ROUNDS"); do
  EDGELAB_PROFILE=1 /usr/bin/time -f '%e %U %S' -o "$TMP/time-$i" "$EDGELAB" run "$LAB" \
    --work-dir "$TMP/run-$i" --report-dir "$TMP/run-$i/report" >"$TMP/run-$i.out" 2>&1 || {
    echo "edgelab run failed:"; tail -20 "$TMP/run-$i.out"; exit 1; }
  rm -rf "$TMP/run-$i"
done
printf '| step | wall ms | edgelab CPU ms | lab processes CPU ms |\n|---|---:|---:|---:|\n'
for s in 1 2 3 4 5 6 7; do
  name=$(grep -h "^$s/7 " "$TMP"/run-*.out | head -1 | awk '{print $2 ($3 ~ /^[a-z]/ ? " " $3 : "")}')
  w=$(grep -h "^$s/7 " "$TMP"/run-*.out | sed 's/^[0-9]\/7 [a-z+ ]* *\([0-9]*\) ms.*/\1/' | median)
  c=$(grep -h "^$s/7 " "$TMP"/run-*.out | sed -n 's/.*cpu: edgelab \([0-9]*\) ms.*/\1/p' | median)
  p=$(grep -h "^$s/7 " "$TMP"/run-*.out | sed -n 's/.*lab processes \([0-9]*\) ms.*/\1/p' | median)
  printf '| %s/7 %s | %s | %s | %s |\n' "$s" "$name" "$w" "$c" "$p"
done
tw=$(for i in $(seq 1 "$ROUNDS"); do awk '{print $1 * 1000}' "$TMP/time-$i"; done | median)
tc=$(for i in $(seq 1 "$ROUNDS"); do awk '{print ($2 + $3) * 1000}' "$TMP/time-$i"; done | median)
printf '| whole run (process start to exit, teardown included; CPU of edgelab and its reaped children) | %.0f | %.0f | |\n\n' "$tw" "$tc"
# Each lab process's CPU from its start to the teardown (the line edgelab
# prints before it stops them), the median over the rounds.
procs=$(grep -h "^lab processes' cpu:" "$TMP"/run-*.out | head -1 | sed "s/^lab processes' cpu://" |
  awk '{for (i = 1; i <= NF; i += 3) print $i}')
line="each lab process, start to teardown, CPU ms:"
for p in $procs; do
  m=$(grep -h "^lab processes' cpu:" "$TMP"/run-*.out | sed -n "s/.* $p \([0-9.]*\) ms.*/\1/p" | median)
  line="$line $p $m,"
done
printf '%s\n\n' "${line%,}"

"$EDGELAB" up "$LAB" --work-dir "$TMP/up" >/dev/null
pids=$(lab_pids "$TMP/up/state.json")
ticks=$(getconf CLK_TCK)
servers_cpu() {  # ms of CPU the lab's processes have used so far
  local p t=0
  for p in $pids; do
    t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo $((t * 1000 / ticks))
}
now() { date +%s%N; }

printf '### edgelab check of the running lab, by family (--only), median of %s rounds\n\n' "$ROUNDS"
printf '| family (--only) | checks | wall ms | edgelab CPU ms | proxy + backends CPU ms |\n|---|---:|---:|---:|---:|\n'
families=(
  "static (nothing on the wire)|lab.none-such"
  "handshakes: reach, SNI, chain, no SNI, backends|reach.*,tls.*,backend.*"
  "HTTP probes: lyncdiscover, web services, meet, dial-in, OWAS, headers|lyncdiscover,webservices.*,auth.*,meet,dialin,owas.*,headers.*"
  "sign-in: web ticket (NTLM)|signin.webticket"
  "sign-in: UCWA and the event channel hold|signin.ucwa,webservices.long-poll"
  "sign-in: NTLM affinity, anonymous after sign-in|signin.ntlm-affinity,signin.anonymous-after-signin"
  "sign-in: anonymous meeting|signin.anon-meeting"
  "everything|*"
)
for f in "${families[@]}"; do
  label=${f%%|*}
  IFS=, read -r -a globs <<<"${f#*|}"
  only=()
  for g in "${globs[@]}"; do only+=(--only "$g"); done
  walls=(); cpus=(); srv=(); n=0
  for i in $(seq 1 "$ROUNDS"); do
    s0=$(servers_cpu); t0=$(now)
    /usr/bin/time -f '%U %S' -o "$TMP/ctime" "$EDGELAB" check "$LAB" --work-dir "$TMP/up" "${only[@]}" \
      --format json >"$TMP/check.json" 2>/dev/null || true
    t1=$(now); s1=$(servers_cpu)
    walls+=($(((t1 - t0) / 1000000)))
    cpus+=("$(awk '{print ($1 + $2) * 1000}' "$TMP/ctime")")
    srv+=($((s1 - s0)))
  done
  n=$(grep -c '"verdict"' "$TMP/check.json" || true)
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$n" \
    "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${cpus[@]}" | median)" \
    "$(printf '%s\n' "${srv[@]}" | median)"
done
printf '\nload average at the end: %s\n' "$(uptime | sed 's/.*load average: //')"
