#!/usr/bin/env bash
# edgelab-proxy against Debian's nginx, in front of the same TLS backend.
#
# Both proxies: the same certificate, the same number of workers (THREADS),
# TLS to the backend with verification and keep-alive pooling, no access
# log. The backend is an nginx server block answering fixed bodies over TLS
# (48 bytes, 1 KiB, 64 KiB), so it costs the same for both. Loaded in the
# same run by wrk over TLS with SNI, each row printing edgelab/nginx:
#   keep-alive, keep-alive 1 KiB, keep-alive 64 KiB   (P-256 certificate)
#   close (a new TCP and TLS connection per request; wrk keeps each
#     connection's TLS session and offers its ticket on the next one, so
#     this is a TLS 1.3 resumption, not a full handshake), per key type
#   full (the same with session resumption off on both proxies: nginx
#     without tickets or session cache, edgelab-proxy with
#     "tlsSessionResumption": false, so every connection is a full
#     handshake), per key type, beside the `openssl speed` sign rate of that
#     key, the ceiling of full handshakes per second on THREADS cores
#   (key types: a P-256 and an RSA-2048 proxy certificate)
#   idle: IDLE keep-alive TLS connections held open, resident memory per
#     connection, and what is given back once they close.
#   allocs: heap allocations per keep-alive request in edgelab-proxy (a
#     second instance, one thread, with a counting malloc preloaded).
#   instructions: user-space instructions per keep-alive request of each
#     proxy (one worker each under valgrind's callgrind, wrk -c1): a count,
#     not a time, so the same binaries give the same number on a busy machine.
#   instructions-close (not in the default ROWS): the same per new,
#     resumed connection (Connection: close), for every key type.
# Each throughput row loads the two proxies in turns, SLICES slices each
# (nginx first in odd slices), and sums requests and CPU over them.
#
# Usage: bench/proxy.sh [BUILD_DIR]   (default: build; builds edgelab-proxy if missing)
#   THREADS=N (default: core count)  CONNECTIONS=64  DURATION=10 (seconds per row
#     and proxy)  SLICES=3 (turns per row; a slice lasts DURATION/SLICES, rounded up)
#   IDLE=5000 (connections in the idle row)  IDLE_SETTLE=3 (seconds held
#     before RSS is read)  KEYS="p256 rsa2048"
#   ROWS="keep-alive close full 1k 64k idle allocs instructions" (a subset runs
#     faster; instructions-close may be added)
#   NGINX_TLS=as-edgelab: nginx with edgelab-proxy's TLS choices (below)
#   PERF_RECORD=DIR: also samples each proxy's CPU (perf record, cpu-clock)
#     during each row and writes DIR/<row>.<proxy>.txt: the share of samples
#     by library, then by function, and system calls per request; the
#     instructions row keeps DIR/callgrind.<proxy> for callgrind_annotate
#     (DIR/callgrind-close.<proxy> for instructions-close); throughput rows
#     are sampled in their first slice
# Everything listens on 127.4.200.x and is stopped at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
THREADS=${THREADS:-$(nproc)}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10}
SLICES=${SLICES:-3}
SLICE=${SLICE:-$(((DURATION + SLICES - 1) / SLICES))}
IDLE=${IDLE:-5000}
IDLE_SETTLE=${IDLE_SETTLE:-3}
KEYS=${KEYS:-p256 rsa2048}
ROWS=${ROWS:-keep-alive close full 1k 64k idle allocs instructions}
# NGINX_TLS=as-edgelab: nginx given edgelab-proxy's TLS choices (its TLS 1.3
# suite order, server preference, a session cache instead of tickets), to
# tell those choices apart from the rest of each proxy's work.
NGINX_TLS=${NGINX_TLS:-default}
case "$NGINX_TLS" in default | as-edgelab) ;; *) echo "NGINX_TLS: default or as-edgelab, not $NGINX_TLS" >&2; exit 2 ;; esac
EDGELAB_SUITES=TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
SUITE_NGINX="" SUITE_EDGELAB=""
ADDR_BACKEND=127.4.200.1
ADDR_NGINX=127.4.200.2
ADDR_EDGELAB=127.4.200.3
# wrk takes SNI from the URL host and resolves it once at start; "localhost"
# resolves without touching /etc/hosts, and bench.lua then points every
# thread at the proxy's own loopback address.
PUBLIC=localhost
BACKEND_HOST=backend.bench.internal

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need wrk || ! need openssl || ! need valgrind; then
    echo "installing nginx-light, wrk, openssl and valgrind from Debian" >&2
    apt-get update -qq && apt-get install -y -qq nginx-light wrk openssl valgrind >/dev/null
fi
if [ ! -x "$BUILD/bin/edgelab-proxy" ]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja >/dev/null
    cmake --build "$BUILD" --target edgelab-proxy >/dev/null
fi

WORK=$(mktemp -d /tmp/edgelab-bench-proxy.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# The port edgelab-proxy printed for ADDR_EDGELAB on FIFO, read up to its
# lone READY line (empty when it ended without one).
ready_port() {  # FIFO
    local line port=""
    while read -r line; do
        case "$line" in
            "READY $ADDR_EDGELAB:"*) port=${line#READY $ADDR_EDGELAB:}; port=${port%% *} ;;
            READY) break ;;
        esac
    done < "$1"
    echo "$port"
}
free_port() {
    python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"
}

# --- one CA, the backend's certificate, one proxy certificate per key type
cd "$WORK"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=edgelab bench root" -keyout ca.key -out ca.pem 2>/dev/null
key_args() {  # KEY: p256 | rsa2048
    case "$1" in
        p256) echo "-newkey ec -pkeyopt ec_paramgen_curve:P-256" ;;
        rsa2048) echo "-newkey rsa:2048" ;;
        *) echo "unknown key type in KEYS: $1 (p256 or rsa2048)" >&2; exit 2 ;;
    esac
}
issue() {  # NAME FILE KEY
    # shellcheck disable=SC2046
    openssl req $(key_args "$3") -nodes -subj "/CN=$1" \
        -keyout "$2.key" -out "$2.csr" 2>/dev/null
    printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$1" > "$2.ext"
    openssl x509 -req -in "$2.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile "$2.ext" -out "$2.crt" 2>/dev/null
    cat "$2.crt" ca.pem > "$2.pem"
}
issue "$BACKEND_HOST" backend p256
mkdir -p store body
for key in $KEYS; do
    issue "$PUBLIC" "proxy-$key" "$key"
    thumb=$(openssl x509 -in "proxy-$key.crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
    cp "proxy-$key.pem" "store/$thumb.pem"
    cp "proxy-$key.key" "store/$thumb.key"
    echo "$thumb" > "proxy-$key.thumb"
done
head -c 1024 /dev/zero | tr '\0' a > body/1k
head -c 65536 /dev/zero | tr '\0' b > body/64k
# nginx's workers drop root (to nobody): they must be able to read the bodies.
chmod 755 "$WORK" body
chmod 644 body/*

BACKEND_PORT=$(free_port $ADDR_BACKEND)
NGINX_PORT=$(free_port $ADDR_NGINX)
# Room for the idle row: IDLE client connections plus the backend's.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((IDLE + 1024)) ] || { echo "IDLE=$IDLE needs more descriptors than ulimit -Hn allows" >&2; exit 2; }

nginx_conf() {  # NAME WORKERS SERVER-BLOCK
    mkdir -p "$WORK/$1"
    cat > "$WORK/$1/nginx.conf" <<EOF
worker_processes $2;
worker_rlimit_nofile $((IDLE + 4096));
pid $WORK/$1/nginx.pid;
error_log $WORK/$1/error.log warn;
daemon off;
events { worker_connections $((IDLE + 2048)); }
http {
    access_log off;
    client_body_temp_path $WORK/$1/body;
    proxy_temp_path $WORK/$1/proxy;
    fastcgi_temp_path $WORK/$1/fastcgi;
    uwsgi_temp_path $WORK/$1/uwsgi;
    scgi_temp_path $WORK/$1/scgi;
    keepalive_requests 1000000;
    ssl_protocols TLSv1.2 TLSv1.3;
$3
}
EOF
}

nginx_conf backend 1 "
    server {
        listen $ADDR_BACKEND:$BACKEND_PORT ssl;
        server_name $BACKEND_HOST;
        ssl_certificate $WORK/backend.pem;
        ssl_certificate_key $WORK/backend.key;
        location = /1k { alias $WORK/body/1k; default_type text/plain; }
        location = /64k { alias $WORK/body/64k; default_type text/plain; }
        location / { default_type text/plain; return 200 'hello from the backend, 48 bytes of body....\n'; }
    }"
nginx -c "$WORK/backend/nginx.conf" -p "$WORK/backend" & PIDS+=($!)

NGINX_MASTER=""
EDGELAB_PID=""
EDGELAB_PORT=""
start_proxies() {  # KEY [RESUMPTION]: both proxies with that key type's certificate
    # RESUMPTION "off": neither proxy lets a client resume a TLS session, so
    # every new connection is a full handshake; its files get a "-full" tag.
    local key=$1 resumption=${2:-on} thumb tag nginx_sessions="" edgelab_sessions=""
    thumb=$(cat "proxy-$key.thumb")
    tag=$key
    if [ "$resumption" = off ]; then
        tag=$key-full
        nginx_sessions="ssl_session_tickets off; ssl_session_cache off;"
        edgelab_sessions='"tlsSessionResumption": false,'
    elif [ "$NGINX_TLS" = as-edgelab ]; then
        nginx_sessions="ssl_session_tickets off; ssl_session_cache shared:SSL:10m;"
    fi
    if [ "$NGINX_TLS" = as-edgelab ]; then
        nginx_sessions+=" ssl_prefer_server_ciphers on; ssl_conf_command Ciphersuites $EDGELAB_SUITES;"
    fi
    nginx_conf "nginx-$tag" "$THREADS" "
    upstream backend { server $ADDR_BACKEND:$BACKEND_PORT; keepalive 256; }
    server {
        listen $ADDR_NGINX:$NGINX_PORT ssl reuseport;
        server_name $PUBLIC;
        ssl_certificate $WORK/proxy-$key.pem;
        ssl_certificate_key $WORK/proxy-$key.key;
        $nginx_sessions
        location / {
            proxy_pass https://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $BACKEND_HOST:$BACKEND_PORT;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
            proxy_ssl_server_name on;
            proxy_ssl_name $BACKEND_HOST;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $WORK/ca.pem;
            proxy_ssl_session_reuse on;
        }
    }"
    cat > "edgelab-$tag.json" <<EOF
{
  "listeners": [{"address": "$ADDR_EDGELAB", "port": 0, "publishedPort": 443}],
  $edgelab_sessions
  "certificateStore": "store",
  "bindingStore": "bindings-$tag.json",
  "caBundle": "ca.pem",
  "internalDns": {"$BACKEND_HOST:$BACKEND_PORT": "$ADDR_BACKEND:$BACKEND_PORT"},
  "applications": [{"name": "bench", "externalUrl": "https://$PUBLIC/",
    "backendServerUrl": "https://$BACKEND_HOST:$BACKEND_PORT/",
    "externalPreAuthentication": "PassThrough", "externalCertificateThumbprint": "$thumb"}]
}
EOF
    nginx -c "$WORK/nginx-$tag/nginx.conf" -p "$WORK/nginx-$tag" & NGINX_MASTER=$!
    PIDS+=($NGINX_MASTER)
    mkfifo "edgelab-$tag.out"
    "$BUILD/bin/edgelab-proxy" --config "edgelab-$tag.json" --threads "$THREADS" \
        > "edgelab-$tag.out" 2> "edgelab-$tag.err" &
    EDGELAB_PID=$!
    PIDS+=($EDGELAB_PID)
    EDGELAB_PORT=$(ready_port "edgelab-$tag.out")
    [ -n "$EDGELAB_PORT" ] || { echo "edgelab-proxy did not start:" >&2; cat "edgelab-$tag.err" >&2; exit 3; }
    wait_tls $ADDR_BACKEND "$BACKEND_PORT"
    wait_tls $ADDR_NGINX "$NGINX_PORT"
    wait_tls $ADDR_EDGELAB "$EDGELAB_PORT"
    # The same bytes through both proxies before measuring anything.
    local target body second
    for target in "$ADDR_NGINX:$NGINX_PORT" "$ADDR_EDGELAB:$EDGELAB_PORT"; do
        body=$(curl -s --cacert ca.pem -H "Host: $PUBLIC" --connect-to "$PUBLIC:${target##*:}:$target" "https://$PUBLIC:${target##*:}/")
        [ "$body" = "hello from the backend, 48 bytes of body...." ] || { echo "bad body via $target: $body" >&2; exit 1; }
        curl -s --cacert ca.pem -H "Host: $PUBLIC" --connect-to "$PUBLIC:${target##*:}:$target" \
            "https://$PUBLIC:${target##*:}/64k" | cmp -s - body/64k || { echo "bad 64 KiB body via $target" >&2; exit 1; }
        # The rows measure what their labels say: resumptions, or full handshakes.
        read -r second suite < <(python3 resumption.py "${target%:*}" "${target##*:}")
        [ "$second" = "$([ "$resumption" = off ] && echo full || echo resumed)" ] ||
            { echo "via $target with resumption $resumption, a second connection was $second" >&2; exit 1; }
        case "$target" in $ADDR_NGINX:*) SUITE_NGINX=$suite ;; *) SUITE_EDGELAB=$suite ;; esac
    done
}
stop_proxies() {
    kill "$NGINX_MASTER" "$EDGELAB_PID" 2>/dev/null || true
    wait "$NGINX_MASTER" "$EDGELAB_PID" 2>/dev/null || true
}

wait_tls() {  # ADDR PORT, with a deadline
    for _ in $(seq 100); do
        if curl -sk --max-time 1 -o /dev/null --connect-to "$PUBLIC:$2:$1:$2" "https://$PUBLIC:$2/"; then return 0; fi
        sleep 0.1
    done
    echo "nothing answers on $1:$2" >&2; exit 3
}

cat > bench.lua <<'EOF'
-- SNI comes from the URL host ("localhost"); the connections go to
-- BENCH_ADDR instead of what localhost resolves to. Host is the published
-- name without the listener's real port, as clients on 443 send it.
wrk.headers["Host"] = "localhost"
function wrk.resolve(host, service)
   wrk.addrs = wrk.lookup(os.getenv("BENCH_ADDR"), service)
end
EOF

# Two connections, the second offering the first one's session (taken after
# a response: TLS 1.3 tickets come after the handshake); prints "resumed" or
# "full", then the TLS 1.3 suite the proxy chose from OpenSSL's default offer
# (wrk's too). The first stays open until then: freed without a TLS close,
# its session would be marked not resumable.
cat > resumption.py <<'EOF'
import socket, ssl, sys
addr, port = sys.argv[1], int(sys.argv[2])
context = ssl.create_default_context(cafile="ca.pem")
def answered(session=None):
    tls = context.wrap_socket(socket.create_connection((addr, port)), server_hostname="localhost",
                              session=session)
    tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += tls.recv(4096)
    return tls
first = answered()
second = answered(first.session)
print("resumed" if second.session_reused else "full", first.cipher()[0])
EOF

# IDLE keep-alive TLS connections, each after one answered request; prints
# how many are open, holds them until a line arrives on stdin, then closes.
cat > idle.py <<'EOF'
import re, socket, ssl, sys
addr, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
context = ssl.create_default_context(cafile="ca.pem")
held = []
for _ in range(count):
    tls = context.wrap_socket(socket.create_connection((addr, port)), server_hostname="localhost")
    tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += tls.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        body += tls.recv(4096)
    held.append(tls)
print(len(held), flush=True)
sys.stdin.readline()
for tls in held:
    tls.close()
EOF

sum_status_kb() {  # FIELD PIDS...: the sum of a /proc/PID/status field in KiB
    local field=$1 total=0 kb pid
    shift
    for pid in "$@"; do
        kb=$(awk -v f="$field:" '$1 == f {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}
cpu_ticks() {  # PIDS...: user + system clock ticks so far
    local total=0 t
    for pid in "$@"; do
        t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
        total=$((total + ${t:-0}))
    done
    echo "$total"
}
nginx_pids() { echo "$NGINX_MASTER $(pgrep -P "$NGINX_MASTER" | tr '\n' ' ')"; }
established() {  # PORT: client connections open to it
    ss -Htn state established "( sport = :$1 )" | wc -l
}

# One wrk run; prints "rps p50 p99" (latencies in ms).
run_wrk() {  # ADDR PORT PATH [HEADER]
    local args=(-t 1 -c "$CONNECTIONS" -d "${DURATION}s" --latency -s bench.lua)
    [ -n "${4:-}" ] && args+=(-H "$4")
    BENCH_ADDR=$1 BENCH_PORT=$2 wrk "${args[@]}" "https://$PUBLIC:$2$3" > wrk.out 2>&1 || true
    grep -q "Requests/sec" wrk.out || { echo "wrk failed against $1:$2:" >&2; cat wrk.out >&2; }
    awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        /Requests\/sec/ { rps = $2 }
        /requests in/ { n = $1 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx|Socket errors/ { errors = errors " " $0 }
        END { printf "%.0f %.2f %.2f %d\n", rps, p50, p99, n; if (errors != "") print "wrk:" errors > "/dev/stderr" }
    ' wrk.out
}
# perf stat over a row: context switches and CPU migrations per request
# (software counters; a VM often exposes no hardware ones such as cycles).
PERF_OK=0
if command -v perf >/dev/null 2>&1 && perf stat -e context-switches true >/dev/null 2>&1; then PERF_OK=1; fi
perf_start() {  # OUT PIDS...: counts for DURATION seconds in the background
    local out=$1
    shift
    rm -f "$out"
    [ $PERF_OK = 1 ] || return 0
    perf stat -x, -e context-switches,cpu-migrations -p "$(echo "$@" | tr -s ' ' ',' | sed 's/,$//')" \
        -o "$out" -- sleep "$DURATION" >/dev/null 2>&1 &
    PERF_PID=$!
}
perf_wait() { [ $PERF_OK = 1 ] && wait "$PERF_PID" 2>/dev/null; return 0; }
# PERF_RECORD=DIR: where each proxy's CPU goes in a row, by library and function.
PROFILE_PID=""
profile_start() {  # PIDS...
    [ -n "${PERF_RECORD:-}" ] && command -v perf >/dev/null 2>&1 || return 0
    perf record -q -e cpu-clock -F 2000 -p "$(echo "$@" | tr -s ' ' ',' | sed 's/,$//')" \
        -o "$WORK/perf.data" -- sleep "$DURATION" >/dev/null 2>&1 &
    PROFILE_PID=$!
    local sc
    sc=$(perf list 'syscalls:sys_enter_*' 2>/dev/null | awk '/Tracepoint/ {printf "%s-e %s", sep, $1; sep=" "}')
    # shellcheck disable=SC2086
    perf stat -x, $sc -p "$(echo "$@" | tr -s ' ' ',' | sed 's/,$//')" -o "$WORK/syscalls.csv" \
        -- sleep "$DURATION" >/dev/null 2>&1 &
    SYSCALLS_PID=$!
}
profile_end() {  # LABEL PROXY RPS
    [ -n "$PROFILE_PID" ] || return 0
    wait "$PROFILE_PID" "$SYSCALLS_PID" 2>/dev/null || true
    PROFILE_PID=""
    mkdir -p "$PERF_RECORD"
    local out
    out="$PERF_RECORD/$(echo "$1" | tr -cs 'a-zA-Z0-9' '-' | sed 's/-$//').$2.txt"
    {
        echo "system calls per request:"
        awk -F, -v r="$3" -v d="$DURATION" '$1 ~ /^[0-9]+$/ && $1 > 0 && r > 0 {
            sub("syscalls:sys_enter_", "", $3); printf "  %-20s %.2f\n", $3, $1 / (r * d) }' \
            "$WORK/syscalls.csv" | sort -k2 -nr
        perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null
        perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --percent-limit 0.3 \
            --stdio 2>/dev/null
    } | grep -v '^#' | grep -v '^$' | cut -c1-160 > "$out"
    mv "$WORK/perf.data" "${out%.txt}.perf.data"
}

switches_per_req() {  # OUT RPS
    [ -s "$1" ] || { echo "n/a"; return; }
    awk -F, -v r="$2" -v d="$DURATION" '$3 == "context-switches" { cs = $1 }
        END { if (r > 0 && cs != "") printf "%.2f", cs / (r * d); else print "n/a" }' "$1"
}
cpu_us() {  # TICKS REQUESTS: CPU microseconds per request
    awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "n/a" }'
}
ratio() { awk -v e="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", e / n; else print "n/a" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

declare -A HANDSHAKES  # KEY -> "nginx_rps edgelab_rps nginx_cpu_us edgelab_cpu_us"
# One slice of a row for one proxy: wrk for SLICE seconds, the proxy's CPU
# ticks over it; prints "requests ticks p50 p99 rps". The first slice of a
# row also counts context switches (and with PERF_RECORD, profiles).
slice() {  # WHO(nginx|edgelab) FIRST(1|0) LABEL PATH HEADER
    local who=$1 first=$2 label=$3 path=$4 header=$5 pids addr port t0 rps p50 p99 n
    if [ "$who" = nginx ]; then pids=$(nginx_pids); addr=$ADDR_NGINX; port=$NGINX_PORT
    else pids=$EDGELAB_PID; addr=$ADDR_EDGELAB; port=$EDGELAB_PORT; fi
    # shellcheck disable=SC2086
    t0=$(cpu_ticks $pids)
    if [ "$first" = 1 ]; then
        # shellcheck disable=SC2086
        DURATION=$SLICE perf_start "perf-$who.csv" $pids
        # shellcheck disable=SC2086
        DURATION=$SLICE profile_start $pids
    fi
    read -r rps p50 p99 n < <(DURATION=$SLICE run_wrk "$addr" "$port" "$path" "$header")
    if [ "$first" = 1 ]; then
        perf_wait
        DURATION=$SLICE profile_end "$label" "$who" "$rps"
    fi
    # shellcheck disable=SC2086
    echo "$n $(( $(cpu_ticks $pids) - t0 )) $p50 $p99 $rps"
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# A row: both proxies loaded in turn, SLICES times (nginx first in odd
# slices, edgelab-proxy first in even ones), so that both meet the same
# moments of a shared machine and each of its own runs of wrk; requests and
# CPU are summed over the slices, latencies are the slices' medians.
throughput_row() {  # LABEL PATH HEADER [KEY: the row's full handshakes go to the handshake table]
    local label=$1 path=$2 header=$3 i who first n_req=0 n_cpu=0 e_req=0 e_cpu=0 req ticks p50 p99 rps
    local n_p50s="" n_p99s="" e_p50s="" e_p99s="" n_rps1="" e_rps1="" n_rps e_rps n_rss e_rss
    # A short warm-up for each, so neither pays for its first connections in the row.
    DURATION=2 run_wrk $ADDR_NGINX "$NGINX_PORT" "$path" "$header" >/dev/null 2>&1
    DURATION=2 run_wrk $ADDR_EDGELAB "$EDGELAB_PORT" "$path" "$header" >/dev/null 2>&1
    for i in $(seq "$SLICES"); do
        first=0; [ "$i" = 1 ] && first=1
        for who in $([ $((i % 2)) = 1 ] && echo "nginx edgelab" || echo "edgelab nginx"); do
            read -r req ticks p50 p99 rps < <(slice "$who" "$first" "$label" "$path" "$header")
            if [ "$who" = nginx ]; then
                n_req=$((n_req + req)); n_cpu=$((n_cpu + ticks)); n_p50s+=" $p50"; n_p99s+=" $p99"
                [ -n "$n_rps1" ] || n_rps1=$rps
            else
                e_req=$((e_req + req)); e_cpu=$((e_cpu + ticks)); e_p50s+=" $p50"; e_p99s+=" $p99"
                [ -n "$e_rps1" ] || e_rps1=$rps
            fi
        done
    done
    n_rps=$(awk -v r="$n_req" -v t="$((SLICE * SLICES))" 'BEGIN { printf "%.0f", r / t }')
    e_rps=$(awk -v r="$e_req" -v t="$((SLICE * SLICES))" 'BEGIN { printf "%.0f", r / t }')
    n_rss=$(sum_status_kb VmHWM $(nginx_pids))
    e_rss=$(sum_status_kb VmHWM "$EDGELAB_PID")
    [ -n "${4:-}" ] && HANDSHAKES[$4]="$n_rps $e_rps $(cpu_us "$n_cpu" "$n_req") $(cpu_us "$e_cpu" "$e_req")"
    printf '| %s | nginx | %s | %s | %s | %s | %s | %s | |\n' "$label" "$n_rps" "$(echo "$n_p50s" | median)" \
        "$(echo "$n_p99s" | median)" "$(cpu_us "$n_cpu" "$n_req")" \
        "$(DURATION=$SLICE switches_per_req perf-nginx.csv "$n_rps1")" "$(mib "$n_rss")"
    printf '| %s | edgelab-proxy | %s | %s | %s | %s | %s | %s | **%s** |\n' "$label" "$e_rps" \
        "$(echo "$e_p50s" | median)" "$(echo "$e_p99s" | median)" "$(cpu_us "$e_cpu" "$e_req")" \
        "$(DURATION=$SLICE switches_per_req perf-edgelab.csv "$e_rps1")" "$(mib "$e_rss")" "$(ratio "$e_rps" "$n_rps")"
}

# Resident memory (KiB) of PIDS before, while IDLE connections are held, and
# after they closed; prints "before held after".
idle_memory() {  # ADDR PORT PIDS...
    local addr=$1 port=$2 before held after n
    shift 2
    before=$(sum_status_kb VmRSS "$@")
    rm -f idle.in idle.out; mkfifo idle.in idle.out
    python3 idle.py "$addr" "$port" "$IDLE" < idle.in > idle.out &
    local client=$!
    exec 7> idle.in
    read -r n < idle.out || n=0
    [ "$n" = "$IDLE" ] || { echo "idle row: only ${n:-0} of $IDLE connections to $addr:$port" >&2; }
    # edgelab-proxy frees an idle connection's buffers once it has been idle
    # through a whole second (its housekeeping sweep); measured after that.
    sleep "$IDLE_SETTLE"
    held=$(sum_status_kb VmRSS "$@")
    echo >&7; exec 7>&-
    wait "$client" || true
    for _ in $(seq 200); do [ "$(established "$port")" -eq 0 ] && break; sleep 0.05; done
    # Likewise, edgelab-proxy gives memory back at its next sweep once a crowd
    # of connections has closed: read after the same settling time.
    sleep "$IDLE_SETTLE"
    after=$(sum_status_kb VmRSS "$@")
    echo "$before $held $after"
}
idle_row() {
    local nb nh na eb eh ea
    read -r nb nh na < <(idle_memory $ADDR_NGINX "$NGINX_PORT" $(nginx_pids))
    read -r eb eh ea < <(idle_memory $ADDR_EDGELAB "$EDGELAB_PORT" "$EDGELAB_PID")
    per() { awk -v h="$1" -v b="$2" -v n="$IDLE" 'BEGIN { printf "%.1f", (h - b) / n }'; }
    printf '\n%s idle keep-alive TLS connections (RSS, KiB per connection; after: RSS once they closed)\n' "$IDLE"
    printf '| proxy | RSS before MiB | RSS held MiB | KiB per connection | RSS after MiB | edgelab/nginx per connection |\n'
    printf '|---|---:|---:|---:|---:|---:|\n'
    printf '| nginx | %s | %s | %s | %s | |\n' "$(mib "$nb")" "$(mib "$nh")" "$(per "$nh" "$nb")" "$(mib "$na")"
    printf '| edgelab-proxy | %s | %s | %s | %s | **%s** |\n' "$(mib "$eb")" "$(mib "$eh")" "$(per "$eh" "$eb")" \
        "$(mib "$ea")" "$(ratio "$(per "$eh" "$eb")" "$(per "$nh" "$nb")")"
}

# A malloc that counts (malloc, calloc, realloc) and writes the count to
# ALLOC_COUNT_FILE on SIGUSR2; glibc's own functions do the work.
cat > allocs.c <<'EOF'
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
static unsigned long count;
static const char* path;
void* malloc(size_t n) { __atomic_fetch_add(&count, 1, __ATOMIC_RELAXED); return __libc_malloc(n); }
void* calloc(size_t a, size_t b) { __atomic_fetch_add(&count, 1, __ATOMIC_RELAXED); return __libc_calloc(a, b); }
void* realloc(void* p, size_t n) { __atomic_fetch_add(&count, 1, __ATOMIC_RELAXED); return __libc_realloc(p, n); }
static void report(int sig) {
    char buf[32];
    int i = sizeof buf;
    unsigned long v = __atomic_load_n(&count, __ATOMIC_RELAXED);
    (void)sig;
    buf[--i] = '\n';
    do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) { if (write(fd, buf + i, sizeof buf - i) < 0) {} close(fd); }
}
__attribute__((constructor)) static void init(void) {
    path = getenv("ALLOC_COUNT_FILE");
    if (path) signal(SIGUSR2, report);
}
EOF
alloc_count() {  # PID: the count so far
    rm -f allocs.count
    kill -USR2 "$1"
    for _ in $(seq 100); do grep -q . allocs.count 2>/dev/null && break; sleep 0.05; done
    cat allocs.count
}
alloc_row() {  # KEY
    local key=$1 pid port="" c0 c1 n
    cc -shared -fPIC -O2 -o allocs.so allocs.c || { echo "allocs row: no C compiler" >&2; return 0; }
    rm -f allocs.out; mkfifo allocs.out
    ALLOC_COUNT_FILE=$WORK/allocs.count LD_PRELOAD=$WORK/allocs.so "$BUILD/bin/edgelab-proxy" \
        --config "edgelab-$key.json" --threads 1 > allocs.out 2> allocs.err &
    pid=$!
    PIDS+=($pid)
    port=$(ready_port allocs.out)
    [ -n "$port" ] || { echo "allocs row: edgelab-proxy did not start" >&2; return 0; }
    CONNECTIONS=1 DURATION=2 run_wrk $ADDR_EDGELAB "$port" / "" >/dev/null 2>&1
    c0=$(alloc_count "$pid")
    CONNECTIONS=1 run_wrk $ADDR_EDGELAB "$port" / "" >/dev/null 2>&1
    c1=$(alloc_count "$pid")
    n=$(awk '/requests in/ { print $1 }' wrk.out)
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    printf '\nHeap allocations per keep-alive request in edgelab-proxy (malloc, calloc and realloc, OpenSSL included; one thread, wrk -c1, %s requests): **%s**\n' \
        "$n" "$(awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN { if (n > 0) printf "%.1f", (b - a) / n; else print "n/a" }')"
}

# User-space instructions per keep-alive request, counted by callgrind: one
# nginx worker (no master) and one edgelab-proxy thread, each started under
# valgrind, warmed up, counters zeroed, loaded by wrk -c1, then dumped.
callgrind_count() {  # PID OUT: instructions since the counters were zeroed
    callgrind_control -d "$1" >/dev/null 2>&1 || return 0
    for _ in $(seq 100); do ls "$2".* >/dev/null 2>&1 && break; sleep 0.1; done
    awk '/^summary:|^totals:/ { print $2; exit }' "$(ls "$2".* | tail -1)"
}
instructions_under_callgrind() {  # ADDR PORT PID OUT HEADER: prints "instructions requests"
    local addr=$1 port=$2 pid=$3 out=$4 header=$5 n
    CONNECTIONS=1 DURATION=2 run_wrk "$addr" "$port" / "$header" >/dev/null 2>&1
    callgrind_control -z "$pid" >/dev/null 2>&1
    CONNECTIONS=1 run_wrk "$addr" "$port" / "$header" >/dev/null 2>&1
    n=$(awk '/requests in/ { print $1 }' wrk.out)
    echo "$(callgrind_count "$pid" "$out") ${n:-0}"
}
instructions_row() {  # KEY HEADER WHAT
    local key=$1 header=$2 what=$3 port pid nport npid e en n nn
    command -v valgrind >/dev/null 2>&1 || { echo "instructions row: valgrind is not installed" >&2; return 0; }
    rm -f cg-*.out.*; rm -f cg.out; mkfifo cg.out
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg-edgelab.out" \
        "$BUILD/bin/edgelab-proxy" --config "edgelab-$key.json" --threads 1 > cg.out 2> cg-edgelab.err &
    pid=$!
    PIDS+=($pid)
    port=$(ready_port cg.out)
    [ -n "$port" ] || { echo "instructions row: edgelab-proxy did not start" >&2; return 0; }
    read -r e en < <(instructions_under_callgrind $ADDR_EDGELAB "$port" "$pid" "$WORK/cg-edgelab.out" "$header")
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    # With PERF_RECORD the counts by function are kept (callgrind_annotate reads them).
    [ -n "${PERF_RECORD:-}" ] && mkdir -p "$PERF_RECORD" && cp "$(ls "$WORK"/cg-edgelab.out.* | tail -1)" "$PERF_RECORD/callgrind${header:+-close}.edgelab"
    nport=$(free_port $ADDR_NGINX)
    sed -e "s/^worker_processes .*/worker_processes 1;\nmaster_process off;/" \
        -e "s/listen $ADDR_NGINX:$NGINX_PORT ssl reuseport;/listen $ADDR_NGINX:$nport ssl;/" \
        "$WORK/nginx-$key/nginx.conf" > "$WORK/nginx-$key/callgrind.conf"
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg-nginx.out" \
        nginx -c "$WORK/nginx-$key/callgrind.conf" -p "$WORK/nginx-$key" 2> cg-nginx.err &
    npid=$!
    PIDS+=($npid)
    for _ in $(seq 300); do curl -sk --max-time 2 -o /dev/null --connect-to "$PUBLIC:$nport:$ADDR_NGINX:$nport" "https://$PUBLIC:$nport/" && break; sleep 0.2; done
    read -r n nn < <(instructions_under_callgrind $ADDR_NGINX "$nport" "$npid" "$WORK/cg-nginx.out" "$header")
    kill "$npid" 2>/dev/null || true; wait "$npid" 2>/dev/null || true
    [ -n "${PERF_RECORD:-}" ] && cp "$(ls "$WORK"/cg-nginx.out.* | tail -1)" "$PERF_RECORD/callgrind${header:+-close}.nginx"
    per() { awk -v i="$1" -v r="$2" 'BEGIN { if (r > 0 && i > 0) printf "%.0f", i / r; else print "n/a" }'; }
    printf '\nUser-space instructions per %s (callgrind, one worker each, wrk -c1)\n' "$what"
    printf '| proxy | requests | instructions per request | edgelab/nginx |\n|---|---:|---:|---:|\n'
    printf '| nginx | %s | %s | |\n' "$nn" "$(per "$n" "$nn")"
    printf '| edgelab-proxy | %s | %s | **%s** |\n' "$en" "$(per "$e" "$en")" "$(ratio "$(per "$e" "$en")" "$(per "$n" "$nn")")"
}

# `openssl speed`'s signatures per second on one core for a key type.
sign_rate() {  # KEY
    local alg
    case "$1" in p256) alg=ecdsap256 ;; rsa2048) alg=rsa2048 ;; esac
    openssl speed -seconds 2 "$alg" 2>/dev/null | awk '/sign\/s/ { getline; for (i = NF; i > 0; i--) if ($i ~ /^[0-9.]+$/) { v[++n] = $i } ; print v[2]; exit }'
}

wants() { case " $ROWS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

LOAD_START=$(uptime | sed 's/.*load average: //')
printf 'edgelab-proxy vs nginx %s, %s worker threads each, wrk -t1 -c%s -d%ss over TLS 1.3 with SNI, %s\n' \
    "$(nginx -v 2>&1 | sed 's/.*nginx\///')" "$THREADS" "$CONNECTIONS" "$DURATION" "$(date -u +%F)"
printf '| row | proxy | req/s | p50 ms | p99 ms | proxy CPU µs/req | context switches/req | peak RSS MiB | edgelab/nginx req/s |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|---:|\n'
first=1
IDLE_TABLE=""
ALLOC_LINE=""
INSTRUCTIONS_TABLE=""
# Rows with session resumption on (the proxies' defaults): the first key
# type's, and the close row of every key type.
resumable_rows() {
    wants close || wants instructions-close || { [ $first = 1 ] && { wants keep-alive || wants 1k || wants 64k || wants idle || wants allocs ||
        wants instructions; }; }
}
for key in $KEYS; do
    if resumable_rows; then
        start_proxies "$key"
        if [ $first = 1 ]; then
            wants keep-alive && throughput_row "keep-alive ($key)" / ""
            wants 1k && throughput_row "keep-alive 1 KiB ($key)" /1k ""
            wants 64k && throughput_row "keep-alive 64 KiB ($key)" /64k ""
        fi
        wants close && throughput_row "close, new connection, resumed ($key)" / "Connection: close"
        if [ $first = 1 ] && wants idle; then IDLE_TABLE=$(idle_row); fi
        if [ $first = 1 ] && wants allocs; then ALLOC_LINE=$(alloc_row "$key"); fi
        if [ $first = 1 ] && wants instructions; then INSTRUCTIONS_TABLE=$(instructions_row "$key" "" "keep-alive request"); fi
        if wants instructions-close; then
            INSTRUCTIONS_TABLE+=$(instructions_row "$key" "Connection: close" "new connection, resumed ($key)")
        fi
        stop_proxies
    fi
    if wants full; then
        start_proxies "$key" off
        throughput_row "full handshake, new connection ($key)" / "Connection: close" "$key"
        stop_proxies
    fi
    first=0
done
[ -n "$IDLE_TABLE" ] && printf '%s\n' "$IDLE_TABLE"
[ -n "$ALLOC_LINE" ] && printf '%s\n' "$ALLOC_LINE"
[ -n "$INSTRUCTIONS_TABLE" ] && printf '%s\n' "$INSTRUCTIONS_TABLE"

if wants full; then
    printf '\nFull handshakes (session resumption off on both proxies, one request per connection) against the ceiling of `openssl speed` signatures on %s cores\n' "$THREADS"
    printf '| key | sign/s, 1 core | ceiling, %s cores | nginx req/s | edgelab-proxy req/s | nginx of ceiling | edgelab of ceiling | edgelab/nginx | CPU µs per sign | nginx CPU µs/req | edgelab CPU µs/req |\n' "$THREADS"
    printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
    for key in $KEYS; do
        [ -n "${HANDSHAKES[$key]:-}" ] || continue
        read -r n e n_us e_us <<< "${HANDSHAKES[$key]}"
        s=$(sign_rate "$key")
        ceiling=$(awk -v s="$s" -v t="$THREADS" 'BEGIN { printf "%.0f", s * t }')
        pct() { awk -v x="$1" -v c="$ceiling" 'BEGIN { if (c > 0) printf "%.1f %%", 100 * x / c; else print "n/a" }'; }
        printf '| %s | %.0f | %s | %s | %s | %s | %s | **%s** | %s | %s | %s |\n' "$key" "$s" "$ceiling" "$n" "$e" \
            "$(pct "$n")" "$(pct "$e")" "$(ratio "$e" "$n")" \
            "$(awk -v s="$s" 'BEGIN { if (s > 0) printf "%.0f", 1e6 / s; else print "n/a" }')" "$n_us" "$e_us"
    done
fi
printf '\nTLS 1.3 suite chosen from OpenSSL'"'"'s default offer (AES-256-GCM first, as wrk sends it): nginx %s, edgelab-proxy %s (NGINX_TLS=%s)\n' \
    "${SUITE_NGINX:-n/a}" "${SUITE_EDGELAB:-n/a}" "$NGINX_TLS"
printf '\nload average (1, 5, 15 min, uptime): %s at the start, %s at the end\n' "$LOAD_START" "$(uptime | sed 's/.*load average: //')"
