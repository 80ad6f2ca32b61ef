#!/usr/bin/env bash
# edgelab-proxy against Debian's nginx, in front of the same TLS backend.
#
# Both proxies: the same certificate, the same number of workers (THREADS),
# TLS to the backend with verification and keep-alive pooling, no access
# log. The backend is an nginx server block answering a small fixed body
# over TLS, so it costs the same for both. Loaded in the same run by wrk
# over TLS with SNI: one row with keep-alive, one with `Connection: close`
# (a new TLS connection per request).
#
# Usage: bench/proxy.sh [BUILD_DIR]   (default: build; builds edgelab-proxy if missing)
#   THREADS=N (default: core count)  CONNECTIONS=64  DURATION=10 (seconds per row)
# Everything listens on 127.4.200.x and is stopped at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
THREADS=${THREADS:-$(nproc)}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10}
ADDR_BACKEND=127.4.200.1
ADDR_NGINX=127.4.200.2
ADDR_EDGELAB=127.4.200.3
# wrk takes SNI from the URL host and resolves it once at start; "localhost"
# resolves without touching /etc/hosts, and bench.lua then points every
# thread at the proxy's own loopback address.
PUBLIC=localhost
BACKEND_HOST=backend.bench.internal

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need wrk || ! need openssl; then
    echo "installing nginx-light, wrk and openssl from Debian" >&2
    apt-get update -qq && apt-get install -y -qq nginx-light wrk openssl >/dev/null
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

free_port() {
    python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"
}

# --- one CA, one proxy certificate (both proxies), one backend certificate
cd "$WORK"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=edgelab bench root" -keyout ca.key -out ca.pem 2>/dev/null
issue() {  # NAME FILE
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
        -keyout "$2.key" -out "$2.csr" 2>/dev/null
    printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$1" > "$2.ext"
    openssl x509 -req -in "$2.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile "$2.ext" -out "$2.crt" 2>/dev/null
    cat "$2.crt" ca.pem > "$2.pem"
}
issue "$PUBLIC" proxy
issue "$BACKEND_HOST" backend
THUMB=$(openssl x509 -in proxy.crt -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
mkdir -p store
cp proxy.pem "store/$THUMB.pem"
cp proxy.key "store/$THUMB.key"

BACKEND_PORT=$(free_port $ADDR_BACKEND)
NGINX_PORT=$(free_port $ADDR_NGINX)

nginx_conf() {  # NAME WORKERS SERVER-BLOCK
    mkdir -p "$WORK/$1"
    cat > "$WORK/$1/nginx.conf" <<EOF
worker_processes $2;
pid $WORK/$1/nginx.pid;
error_log $WORK/$1/error.log warn;
daemon off;
events { worker_connections 4096; }
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
        location / { default_type text/plain; return 200 'hello from the backend, 48 bytes of body....\n'; }
    }"

nginx_conf nginx "$THREADS" "
    upstream backend { server $ADDR_BACKEND:$BACKEND_PORT; keepalive 256; }
    server {
        listen $ADDR_NGINX:$NGINX_PORT ssl reuseport;
        server_name $PUBLIC;
        ssl_certificate $WORK/proxy.pem;
        ssl_certificate_key $WORK/proxy.key;
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

cat > edgelab.json <<EOF
{
  "listeners": [{"address": "$ADDR_EDGELAB", "port": 0, "publishedPort": 443}],
  "certificateStore": "store",
  "bindingStore": "bindings.json",
  "caBundle": "ca.pem",
  "internalDns": {"$BACKEND_HOST:$BACKEND_PORT": "$ADDR_BACKEND:$BACKEND_PORT"},
  "applications": [{"name": "bench", "externalUrl": "https://$PUBLIC/",
    "backendServerUrl": "https://$BACKEND_HOST:$BACKEND_PORT/",
    "externalPreAuthentication": "PassThrough", "externalCertificateThumbprint": "$THUMB"}]
}
EOF

nginx -c "$WORK/backend/nginx.conf" -p "$WORK/backend" & PIDS+=($!)
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" & PIDS+=($!)
NGINX_MASTER=$!
mkfifo edgelab.out
"$BUILD/bin/edgelab-proxy" --config edgelab.json --threads "$THREADS" > edgelab.out 2> edgelab.err &
EDGELAB_PID=$!
PIDS+=($EDGELAB_PID)
EDGELAB_PORT=""
while read -r line; do
    case "$line" in
        "READY $ADDR_EDGELAB:"*) EDGELAB_PORT=${line#READY $ADDR_EDGELAB:}; EDGELAB_PORT=${EDGELAB_PORT%% *} ;;
        READY) break ;;
    esac
done < edgelab.out
[ -n "$EDGELAB_PORT" ] || { echo "edgelab-proxy did not start:" >&2; cat edgelab.err >&2; exit 3; }

wait_tls() {  # ADDR PORT, with a deadline
    for _ in $(seq 100); do
        if curl -sk --max-time 1 -o /dev/null --connect-to "$PUBLIC:$2:$1:$2" "https://$PUBLIC:$2/"; then return 0; fi
        sleep 0.1
    done
    echo "nothing answers on $1:$2" >&2; exit 3
}
wait_tls $ADDR_BACKEND "$BACKEND_PORT"
wait_tls $ADDR_NGINX "$NGINX_PORT"
wait_tls $ADDR_EDGELAB "$EDGELAB_PORT"
# The same bytes through both proxies before measuring anything.
for target in "$ADDR_NGINX:$NGINX_PORT" "$ADDR_EDGELAB:$EDGELAB_PORT"; do
    body=$(curl -s --cacert ca.pem -H "Host: $PUBLIC" --connect-to "$PUBLIC:${target##*:}:$target" "https://$PUBLIC:${target##*:}/")
    [ "$body" = "hello from the backend, 48 bytes of body...." ] || { echo "bad body via $target: $body" >&2; exit 1; }
done

cat > bench.lua <<'EOF'
-- SNI comes from the URL host ("localhost"); the connections go to
-- BENCH_ADDR instead of what localhost resolves to. Host is the published
-- name without the listener's real port, as clients on 443 send it.
wrk.headers["Host"] = "localhost"
function wrk.resolve(host, service)
   wrk.addrs = wrk.lookup(os.getenv("BENCH_ADDR"), service)
end
EOF

peak_rss_kb() {  # PIDS...: the sum of VmHWM
    local total=0 kb
    for pid in "$@"; do
        kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
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

# One wrk run; prints "rps p50 p99" (latencies in ms).
run_wrk() {  # ADDR PORT [HEADER]
    local args=(-t 1 -c "$CONNECTIONS" -d "${DURATION}s" --latency -s bench.lua)
    [ -n "${3:-}" ] && args+=(-H "$3")
    BENCH_ADDR=$1 BENCH_PORT=$2 wrk "${args[@]}" "https://$PUBLIC:$2/" > wrk.out 2>&1 || true
    grep -q "Requests/sec" wrk.out || { echo "wrk failed against $1:$2:" >&2; cat wrk.out >&2; }
    awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        /Requests\/sec/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx|Socket errors/ { errors = errors " " $0 }
        END { printf "%.0f %.2f %.2f\n", rps, p50, p99; if (errors != "") print "wrk:" errors > "/dev/stderr" }
    ' wrk.out
}

printf 'edgelab-proxy vs nginx %s, %s worker threads each, wrk -t1 -c%s -d%ss over TLS 1.3 with SNI, %s\n' \
    "$(nginx -v 2>&1 | sed 's/.*nginx\///')" "$THREADS" "$CONNECTIONS" "$DURATION" "$(date -u +%F)"
printf '| row | proxy | req/s | p50 ms | p99 ms | proxy CPU µs/req | peak RSS MiB | edgelab/nginx req/s |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|\n'
for row in keep-alive close; do
    header=""
    [ "$row" = close ] && header="Connection: close"
    # A short warm-up for each, so neither pays for its first connections in the row.
    DURATION=2 run_wrk $ADDR_NGINX "$NGINX_PORT" "$header" >/dev/null 2>&1
    DURATION=2 run_wrk $ADDR_EDGELAB "$EDGELAB_PORT" "$header" >/dev/null 2>&1
    t0=$(cpu_ticks $(nginx_pids))
    read -r n_rps n_p50 n_p99 < <(run_wrk $ADDR_NGINX "$NGINX_PORT" "$header")
    n_cpu=$(( $(cpu_ticks $(nginx_pids)) - t0 ))
    n_rss=$(peak_rss_kb $(nginx_pids))
    t0=$(cpu_ticks "$EDGELAB_PID")
    read -r e_rps e_p50 e_p99 < <(run_wrk $ADDR_EDGELAB "$EDGELAB_PORT" "$header")
    e_cpu=$(( $(cpu_ticks "$EDGELAB_PID") - t0 ))
    e_rss=$(peak_rss_kb "$EDGELAB_PID")
    ratio=$(awk -v e="$e_rps" -v n="$n_rps" 'BEGIN { if (n > 0) printf "%.2f", e / n; else print "n/a" }')
    # CPU time of the proxy alone per request: steadier than req/s on a shared machine.
    us_per_req() { awk -v t="$1" -v r="$2" -v hz="$(getconf CLK_TCK)" -v d="$DURATION" \
        'BEGIN { if (r > 0) printf "%.0f", t / hz * 1e6 / (r * d); else print "n/a" }'; }
    printf '| %s | nginx | %s | %s | %s | %s | %.1f | |\n' "$row" "$n_rps" "$n_p50" "$n_p99" \
        "$(us_per_req "$n_cpu" "$n_rps")" "$(awk -v k="$n_rss" 'BEGIN { print k / 1024 }')"
    printf '| %s | edgelab-proxy | %s | %s | %s | %s | %.1f | **%s** |\n' "$row" "$e_rps" "$e_p50" \
        "$e_p99" "$(us_per_req "$e_cpu" "$e_rps")" "$(awk -v k="$e_rss" 'BEGIN { print k / 1024 }')" "$ratio"
done
