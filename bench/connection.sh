#!/usr/bin/env bash
# bench/connection.sh [BUILD]: what one new client connection costs a running
# lab, against one more request on a kept-alive connection, measured with a
# client edgelab did not write (curl), and how many of each an `edgelab check`
# of the seed lab makes. Explains where a lab's CPU goes (bench/README.md,
# "Many labs"): the connections, not the requests.
#
# curl's requests go to the web services name through the lab's proxy to the
# front end (an anonymous GET answered 401 by the backend). With
# `Connection: close` every request is a new TCP connection and a resumed
# TLS 1.3 handshake (curl keeps its session between them, as edgelab's
# clients do), and the proxy a new client connection; without it, one
# connection carries them all. CPU: curl's user + system time, and the lab's
# processes' from /proc/PID/task/*/schedstat (ns, every thread:
# /proc/PID/schedstat is the first thread's alone), each the median of ROUNDS.
#
#   bench/connection.sh [BUILD]     N (200 requests a round), ROUNDS (5) override
set -euo pipefail

BUILD=${1:-build}
BIN=$(cd "$BUILD/bin" && pwd)
EDGELAB=$BIN/edgelab
LAB=${LAB:-scenarios/labs/seed-lab.json}
N=${N:-200}
ROUNDS=${ROUNDS:-5}
TMP=$(mktemp -d /tmp/edgelab-bench-connection.XXXXXX)
WORK=$TMP/work
cleanup() {
  "$EDGELAB" down "$LAB" --work-dir "$WORK" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

"$EDGELAB" up "$LAB" --work-dir "$WORK" --disk-sample-mib 1 >"$TMP/up.log" 2>&1 ||
  { echo "edgelab up failed:"; tail -5 "$TMP/up.log"; exit 1; }
. "$(dirname "$0")/lib.sh"  # lab_from_state, lab_pids, median
state=$WORK/state.json
lab_from_state "$state"
host=$(sed -n 's/.*"webServices": *"\([^"]*\)".*/\1/p' "$LAB" | head -1)
domain=$(sed -n 's/.*"domain": *"\([^"]*\)".*/\1/p' "$LAB" | head -1)
url=https://$host.$domain/abs/bench
pids=$(lab_pids "$state")
[ -n "$pids" ] || { echo "no lab process in $state"; exit 1; }

lab_ns() {  # CPU the lab's processes have used so far, ns, every thread
  local p
  for p in $pids; do cat /proc/"$p"/task/*/schedstat; done | awk '{t += $1} END {printf "%d\n", t}'
}

urls=()
for i in $(seq 1 "$N"); do urls+=("$url$i"); done
to=()
for c in "${connect_to[@]}"; do to+=(--connect-to "$c"); done

# One round of N requests: prints "client_ms lab_ms".
round() {
  local s0 s1
  s0=$(lab_ns)
  /usr/bin/time -f '%U %S' -o "$TMP/time" curl -s -o /dev/null --cacert "$cacert" "${to[@]}" \
    "$@" "${urls[@]}" >/dev/null
  s1=$(lab_ns)
  awk -v s=$((s1 - s0)) '{printf "%.1f %.1f\n", ($1 + $2) * 1000, s / 1e6}' "$TMP/time"
}

printf 'one new connection against one kept-alive request, %s requests a round, median of %s, load %s\n' \
  "$N" "$ROUNDS" "$(uptime | sed 's/.*load average: //')"
for mode in close keep; do
  : >"$TMP/$mode"
  for _ in $(seq 1 "$ROUNDS"); do
    if [ $mode = close ]; then round -H 'Connection: close'; else round; fi >>"$TMP/$mode"
  done
done
read -r c_close l_close < <(paste <(cut -d' ' -f1 "$TMP/close" | median) <(cut -d' ' -f2 "$TMP/close" | median))
read -r c_keep l_keep < <(paste <(cut -d' ' -f1 "$TMP/keep" | median) <(cut -d' ' -f2 "$TMP/keep" | median))
per() { awk -v a="$1" -v b="$2" -v n="$N" 'BEGIN{printf "%.2f", (a - b) / n}'; }
conn_client=$(per "$c_close" "$c_keep")
conn_lab=$(per "$l_close" "$l_keep")
req_client=$(awk -v a="$c_keep" -v n="$N" 'BEGIN{printf "%.2f", a / n}')
req_lab=$(awk -v a="$l_keep" -v n="$N" 'BEGIN{printf "%.2f", a / n}')
printf '| | curl (client) ms | lab processes ms | total ms |\n|---|---:|---:|---:|\n'
printf '| a new connection (beyond its request) | %s | %s | %s |\n' "$conn_client" "$conn_lab" \
  "$(awk -v a="$conn_client" -v b="$conn_lab" 'BEGIN{printf "%.2f", a + b}')"
printf '| a request on a kept-alive connection (curl start included) | %s | %s | %s |\n' \
  "$req_client" "$req_lab" "$(awk -v a="$req_client" -v b="$req_lab" 'BEGIN{printf "%.2f", a + b}')"

# What one check asks of the lab: its client connections (distinct client
# addresses in the proxy's access log) and the proxy's backend connections.
log=$WORK/logs/proxy-access.log
before=$(wc -l <"$log")
s0=$(lab_ns)
/usr/bin/time -f '%U %S' -o "$TMP/time" "$EDGELAB" check "$LAB" --work-dir "$WORK" -q >/dev/null 2>&1 || true
s1=$(lab_ns)
tail -n +"$((before + 1))" "$log" >"$TMP/check.log"
clients=$(grep '"event":"request"' "$TMP/check.log" | grep -o '"client":"[^"]*"' | sort -u | wc -l)
backend=$(grep -c '"event":"backend-connection"' "$TMP/check.log" || true)
full=$(grep '"event":"backend-connection"' "$TMP/check.log" | grep -c '"tls":"full"' || true)
requests=$(grep -c '"event":"request"' "$TMP/check.log" || true)
check_ms=$(awk -v s=$((s1 - s0)) '{printf "%.0f", ($1 + $2) * 1000 + s / 1e6}' "$TMP/time")
printf '\none `edgelab check` of the running lab (warm): %s ms of CPU (edgelab and the lab), %s requests on %s client connections with a request, %s backend connections (%s full handshakes)\n' \
  "$check_ms" "$requests" "$clients" "$backend" "$full"
printf 'its client connections at the rate above: about %s ms (the raw TLS probes, which send no request, not counted)\n' \
  "$(awk -v c="$clients" -v a="$conn_client" -v b="$conn_lab" 'BEGIN{printf "%.0f", c * (a + b)}')"
