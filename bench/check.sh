#!/usr/bin/env bash
# bench/check.sh [BUILD]: `edgelab check` on the running seed lab, side by
# side in the same run with the same probes done one after another by curl
# and `openssl s_client` (what a person would otherwise script). Prints both
# times and the ratio; the goal is at most 0.1.
#
# The lab comes from `edgelab up` (and is stopped again) unless one is already
# up in WORKDIR; when `edgelab up` is not available the script starts the
# same publishing itself: edgelab-backend processes behind Debian's nginx,
# with a throw-away PKI made by the openssl command. BENCH_LAB=nginx picks
# that set-up even when `edgelab up` is there.
set -euo pipefail

BUILD=${1:-build}
BIN=$(cd "$BUILD/bin" && pwd)
EDGELAB=$BIN/edgelab
LAB=${LAB:-scenarios/labs/seed-lab.json}
ROUNDS=${ROUNDS:-3}
DOMAIN=kloud.example
NAMES=(lyncws.$DOMAIN meet.$DOMAIN dialin.$DOMAIN lyncdiscover.$DOMAIN owas.$DOMAIN)
TMP=$(mktemp -d /tmp/edgelab-bench-check.XXXXXX)
WORK=${WORKDIR:-$TMP/work}
pids=()
we_started_lab=0

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$we_started_lab" = 1 ]; then "$EDGELAB" down "$LAB" --work-dir "$WORK" >/dev/null 2>&1 || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

now() { date +%s.%N; }

connect_to=()
cacert=
check_args=()

. "$(dirname "$0")/lib.sh"  # lab_from_state

# Our own publishing of the seed lab: nginx in front of two backends.
start_own_lab() {
  local pki=$TMP/pki ng=$TMP/nginx a_fe=127.5.9.2 a_owas=127.5.9.3 a_ng=127.5.9.1
  mkdir -p "$pki" "$ng/tmp"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=bench root" -keyout "$pki/root.key" -out "$pki/root.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=bench issuing" \
    -keyout "$pki/ca.key" -out "$pki/ca.csr" 2>/dev/null
  printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$pki/ca.ext"
  openssl x509 -req -in "$pki/ca.csr" -CA "$pki/root.pem" -CAkey "$pki/root.key" -CAcreateserial \
    -days 2 -extfile "$pki/ca.ext" -out "$pki/ca.pem" 2>/dev/null
  local san="subjectAltName=DNS:lyncfe1.$DOMAIN,DNS:owas1.$DOMAIN"
  for n in "${NAMES[@]}"; do san+=",DNS:$n"; done
  printf '%s\nextendedKeyUsage=serverAuth\n' "$san" >"$pki/leaf.ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=lyncws.$DOMAIN" \
    -keyout "$pki/leaf.key" -out "$pki/leaf.csr" 2>/dev/null
  openssl x509 -req -in "$pki/leaf.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 2 -extfile "$pki/leaf.ext" -out "$pki/leaf.pem" 2>/dev/null
  cat "$pki/leaf.pem" "$pki/ca.pem" >"$pki/chain.pem"
  local common=(--cert "$pki/chain.pem" --key "$pki/leaf.key" --domain $DOMAIN
    --web-services lyncws.$DOMAIN --meet meet.$DOMAIN --dialin dialin.$DOMAIN
    --lyncdiscover lyncdiscover.$DOMAIN --owas owas.$DOMAIN)
  start_backend() {  # NAME ARGS...: starts edgelab-backend, prints its ADDR:PORT
    local name=$1; shift
    "$BIN/edgelab-backend" "$@" "${common[@]}" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    pids+=("$!")
    for _ in $(seq 400); do
      grep -q '^READY https://' "$TMP/$name.out" 2>/dev/null && break
      sleep 0.025  # polling for the READY line
    done
    sed -n 's|^READY https://||p' "$TMP/$name.out" | head -1
  }
  local fe ow
  start_backend fe --role lync-frontend --listen $a_fe:0 --server-fqdn lyncfe1.$DOMAIN >"$TMP/fe.addr"
  start_backend ow --role owas --listen $a_owas:0 --server-fqdn owas1.$DOMAIN \
    --owas-internal-url "https://owas1.$DOMAIN/" >"$TMP/ow.addr"
  fe=$(cat "$TMP/fe.addr"); ow=$(cat "$TMP/ow.addr")
  [ -n "$fe" ] && [ -n "$ow" ] || { echo "edgelab-backend did not start" >&2; exit 3; }
  local port=$((20000 + RANDOM % 20000))
  while (exec 3<>/dev/tcp/$a_ng/$port) 2>/dev/null; do port=$((20000 + RANDOM % 20000)); done
  {
    echo "daemon off; worker_processes 1; error_log stderr; pid $ng/nginx.pid;"
    echo "events { worker_connections 512; }"
    echo "http { access_log off; client_body_temp_path $ng/tmp/b; proxy_temp_path $ng/tmp/p;"
    echo "  fastcgi_temp_path $ng/tmp/f; uwsgi_temp_path $ng/tmp/u; scgi_temp_path $ng/tmp/s;"
    echo "  ssl_certificate $pki/chain.pem; ssl_certificate_key $pki/leaf.key;"
    echo "  server { listen $a_ng:$port ssl default_server; return 404; }"
    for n in "${NAMES[@]}"; do
      local to=$fe; [ "$n" = owas.$DOMAIN ] && to=$ow
      echo "  server { listen $a_ng:$port ssl; server_name $n; location / {"
      echo "    proxy_pass https://$to; proxy_http_version 1.1; proxy_set_header Host $n;"
      echo "    proxy_ssl_server_name on; proxy_ssl_name $n;"
      echo '    proxy_redirect ~^https://([^/:]+):[0-9]+/(.*)$ https://$1/$2; } }'
    done
    echo "}"
  } >"$ng/nginx.conf"
  /usr/sbin/nginx -c "$ng/nginx.conf" -p "$ng" 2>"$ng/error.log" &
  pids+=("$!")
  for _ in $(seq 200); do
    (exec 3<>/dev/tcp/$a_ng/$port) 2>/dev/null && break
    sleep 0.05  # polling nginx's readiness
  done
  connect_to=()
  for n in "${NAMES[@]}"; do connect_to+=("$n:443:$a_ng:$port"); done
  cacert=$pki/root.pem
  echo "lab: nginx $a_ng:$port in front of edgelab-backend $fe (Lync) and $ow (OWAS)"
}

if [ -f "$WORK/state.json" ]; then
  lab_from_state "$WORK/state.json"
  echo "lab: already up in $WORK"
elif [ "${BENCH_LAB:-}" != nginx ] && "$EDGELAB" up --help >/dev/null 2>&1 && "$EDGELAB" up "$LAB" --work-dir "$WORK" >"$TMP/up.log" 2>&1; then
  we_started_lab=1
  lab_from_state "$WORK/state.json"
  echo "lab: edgelab up $LAB"
else
  [ -s "$TMP/up.log" ] && { echo "edgelab up failed; starting nginx + backends instead:"; tail -3 "$TMP/up.log"; }
  start_own_lab
fi
[ ${#connect_to[@]} -gt 0 ] || { echo "no --connect-to entries for the lab" >&2; exit 3; }
for c in "${connect_to[@]}"; do check_args+=(--connect-to "$c"); done

addr_of() {  # the ADDR:PORT the public name $1 is reached at
  local c
  for c in "${connect_to[@]}"; do
    [ "${c%%:*}" = "$1" ] && { local rest=${c#*:443:}; echo "$rest"; return; }
  done
}

# The same probes as the catalogue: HTTP requests, then handshakes.
ws=lyncws.$DOMAIN
wopi="https%253A%252F%252F$ws%252Fwopi%252Ffiles%252Fedgelab"
urls=(
  "https://lyncdiscover.$DOMAIN/?sipuri=edgelab@$DOMAIN"
  "https://lyncdiscover.$DOMAIN/?sipuri=edgelab@$DOMAIN|Accept: application/vnd.microsoft.rtc.autodiscover+xml;v=1"
)
for p in /Autodiscover/AutodiscoverService.svc/root /Autodiscover/AutodiscoverService.svc/root/user \
  /Autodiscover/XFrame/XFrame.html /Reach/sip.svc /Scheduler /Mcx/McxService.svc \
  /ucwa/v1/applications /abs/handler /groupexpansion/service.svc \
  /CertProv/CertProvisioningService.svc /WebTicket/WebTicketService.svc /WebTicket/oauthtoken \
  /RequestHandlerExt/ucdevice.upx /RgsClients/AgentService.svc /CollabContent /DataCollabWeb/ \
  /lwa/WebPages/LwaClient.aspx /Meet /Dialin /Autodiscover/AutodiscoverService.svc/root/oauth/user; do
  urls+=("https://$ws$p")
done
urls+=("https://meet.$DOMAIN/edgelab/EDGELAB1" "https://meet.$DOMAIN/edgelab" "https://dialin.$DOMAIN/"
  "https://owas.$DOMAIN/hosting/discovery"
  "https://owas.$DOMAIN/m/Presenter.aspx?a=0&WopiSrc=$wopi"
  "https://owas.$DOMAIN/m/ParticipantFrame.aspx?a=0&WopiSrc=$wopi"
  "https://owas.$DOMAIN/m/Presenter.aspx?WopiSrc=$wopi&edgelab=wopisrc")

shell_probes() {
  local u hdr
  for entry in "${urls[@]}"; do
    u=${entry%%|*}; hdr=()
    [ "$entry" != "$u" ] && hdr=(-H "${entry#*|}")
    curl -s -o /dev/null --cacert "$cacert" "${hdr[@]}" "${check_args[@]}" "$u" || true
  done
  for n in "${NAMES[@]}"; do
    openssl s_client -connect "$(addr_of "$n")" -servername "$n" -CAfile "$cacert" </dev/null >/dev/null 2>&1 || true
  done
  # lync-mobile (no SNI) and activesync (no SNI, TLS 1.0 and up).
  openssl s_client -connect "$(addr_of lyncdiscover.$DOMAIN)" -noservername -CAfile "$cacert" </dev/null >/dev/null 2>&1 || true
  openssl s_client -connect "$(addr_of $ws)" -noservername -CAfile "$cacert" </dev/null >/dev/null 2>&1 || true
}

echo "probes: ${#urls[@]} HTTP requests + 7 TLS handshakes; best of $ROUNDS rounds each"
best_check=999999; best_shell=999999
for r in $(seq "$ROUNDS"); do
  t0=$(now)
  "$EDGELAB" check "$LAB" --cacert "$cacert" "${check_args[@]}" --format json >"$TMP/check.json" || rc=$?
  t1=$(now)
  shell_probes
  t2=$(now)
  c=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'); s=$(awk -v a="$t1" -v b="$t2" 'BEGIN{print b-a}')
  printf 'round %d: edgelab check %.3f s (exit %s), curl+openssl loop %.3f s\n' "$r" "$c" "${rc:-0}" "$s"
  best_check=$(awk -v a="$c" -v b="$best_check" 'BEGIN{print (a<b)?a:b}')
  best_shell=$(awk -v a="$s" -v b="$best_shell" 'BEGIN{print (a<b)?a:b}')
  unset rc
done
grep -o '"failed": [0-9]*' "$TMP/check.json" | head -1 | sed 's/^/edgelab check summary: /'
ratio=$(awk -v a="$best_check" -v b="$best_shell" 'BEGIN{print a/b}')
printf 'edgelab check: %.3f s   curl+openssl one after another: %.3f s   ratio %.3f (goal <= 0.1: %s)\n' \
  "$best_check" "$best_shell" "$ratio" "$(awk -v r="$ratio" 'BEGIN{print (r<=0.1)?"met":"NOT met"}')"
