# shellcheck shell=bash
# bench/lib.sh: sourced by the bench scripts that read a running lab, for
# what more than one of them does.

# lab_from_state STATE: a running lab's curl --connect-to entries (the array
# connect_to) and its root certificate (cacert), from its state.json.
# shellcheck disable=SC2034  # connect_to and cacert are the caller's
lab_from_state() {
  local state=$1
  mapfile -t connect_to < <(grep -o '"[A-Za-z0-9.-]*:443:[0-9.]*:[0-9]*"' "$state" | tr -d '"')
  cacert=$(sed -n 's/.*"caBundle": *"\([^"]*\)".*/\1/p' "$state" | head -1)
}

# lab_pids STATE: the lab's processes, from its state.json, space-separated.
lab_pids() { grep -o '"pid": *[0-9]*' "$1" | grep -o '[0-9]*$' | tr '\n' ' '; }

# median: of the numbers on standard input, one a line (0 when there are none).
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
