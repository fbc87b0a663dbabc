#!/usr/bin/env bash
# Switchboard proxy benchmark: the same small non-streaming chat request sent
#   1. directly to the fake OpenAI provider (the floor),
#   2. through nginx as a plain keep-alive reverse proxy (the yardstick),
#   3. through the Switchboard gateway (load-tests/bench/gateway.yaml: auth, no limits),
#   4. through the gateway with the full policy path (load-tests/bench/gateway-policy.yaml: key,
#      role and tenant request limits), in-process and in Redis,
# each as (a) closed-loop throughput with BENCH_CONNECTIONS connections and (b) open-loop latency at
# BENCH_RATE req/s, measured from the intended send time (no coordinated omission).
#
# CPU layout on a 2-core machine (when `taskset` is available):
#   core 1: the target under test: nginx (worker_processes 1, so one worker for one core) or the
#           gateway; for the "direct" row the fake provider itself is moved to core 1;
#   core 0: loadgen (1 tokio worker) and, for the proxy rows, the upstream fake provider.
# So a proxy row measures the proxy on a core of its own while its upstream and the client share
# the other one. With fewer than 2 cores nothing is pinned.
#
# CPU µs/request is the target's user+system CPU time (from /proc/<pid>/stat, nginx: sum over its
# workers; direct: the fake itself) during the throughput run, divided by every request of that
# run including warm-up. "added p99" is the open-loop p99 minus the direct row's.
#
# Environment: BENCH_SECS (measured seconds per run, default 10), BENCH_WARMUP (default 2),
# BENCH_CONNECTIONS (default 32), BENCH_RATE (default 1000), BENCH_GATEWAY_LOG (RUST_LOG for the
# gateway, default warn; nginx runs with access_log off, so neither logs per request),
# BENCH_REDIS_URL (for the Redis policy row, default redis://127.0.0.1:6379; skipped if unreachable).
# Raw loadgen JSON lines are kept in load-tests/results/<timestamp>.raw (git-ignored).
#
# Needs: cargo, awk, nginx for the nginx row (`apt-get install nginx-light`), taskset (optional).
set -euo pipefail

BENCH_SECS=${BENCH_SECS:-10}
BENCH_WARMUP=${BENCH_WARMUP:-2}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-32}
BENCH_RATE=${BENCH_RATE:-1000}
BENCH_GATEWAY_LOG=${BENCH_GATEWAY_LOG:-warn}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

echo "building release binaries..." >&2
cargo build --release -p switchboard-load-tests -p switchboard-gateway >&2
BIN="$ROOT/target/release"

WORK=$(mktemp -d -t switchboard-bench.XXXXXX)
RESULTS="$ROOT/load-tests/results"
mkdir -p "$RESULTS"
RAW="$RESULTS/$(date +%Y%m%dT%H%M%S).raw"
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- CPU pinning ----
LOAD_PIN=()
TARGET_PIN=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    LOAD_PIN=(taskset -c 0)
    TARGET_PIN=(taskset -c 1)
fi

# Moves every thread of a running process to core $2 (no-op without pinning).
repin() {
    if [ ${#LOAD_PIN[@]} -gt 0 ]; then
        taskset -a -p -c "$2" "$1" >/dev/null
    fi
}

# ---- helpers ----

# Waits for "listening on ADDR" in file $1 (stdout of pid $2); prints ADDR.
wait_listening() {
    local file=$1 pid=$2 line
    for _ in $(seq 1 300); do
        line=$(grep -m1 -o 'listening on [^[:space:]]*' "$file" 2>/dev/null || true)
        if [ -n "$line" ]; then
            echo "${line#listening on }"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "process $pid exited before listening; its output:" >&2
            cat "$file" "$file.err" >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.1
    done
    echo "timed out waiting for 'listening on' in $file" >&2
    return 1
}

free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "no free port found" >&2
    return 1
}

# User+system CPU ticks of the given pids, summed.
cpu_ticks() {
    local total=0 pid ticks
    for pid in "$@"; do
        # Fields after the parenthesised command name: utime is $14, stime is $15 overall.
        ticks=$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')
        total=$((total + ticks))
    done
    echo "$total"
}

# json_field JSON NAME → the value of a top-level scalar field.
json_field() {
    sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" <<<"$1" | tr -d '"'
}

BODY='{"model":"bench-model","messages":[{"role":"system","content":"You are a benchmark."},{"role":"user","content":"Say hello in five words."}],"max_tokens":16}'

# The request every row sends unless a row sets its own (the translated rows below).
REQUEST_BODY=$BODY
REQUEST_AUTH="Authorization: Bearer sk-bench"

loadgen() {
    "${LOAD_PIN[@]}" "$BIN/loadgen" --url "$1" --body "$REQUEST_BODY" \
        --header "$REQUEST_AUTH" --header "anthropic-version: 2023-06-01" --threads 1 \
        --connections "$BENCH_CONNECTIONS" --duration "$BENCH_SECS" --warmup "$BENCH_WARMUP" "${@:2}"
}

CLK_TCK=$(getconf CLK_TCK)
declare -A RPS P50 P99 ERRORS CPU_US

# bench NAME URL PID... : throughput run (with CPU accounting of PIDs), then latency run.
bench() {
    local name=$1 url=$2
    shift 2
    echo "[$name] closed loop, $BENCH_CONNECTIONS connections, ${BENCH_SECS}s..." >&2
    local before after throughput latency total
    before=$(cpu_ticks "$@")
    throughput=$(loadgen "$url")
    after=$(cpu_ticks "$@")
    echo "{\"target\":\"$name\",\"mode\":\"throughput\",\"report\":$throughput}" >>"$RAW"
    echo "[$name] open loop, $BENCH_RATE req/s, ${BENCH_SECS}s..." >&2
    latency=$(loadgen "$url" --rate "$BENCH_RATE")
    echo "{\"target\":\"$name\",\"mode\":\"latency\",\"report\":$latency}" >>"$RAW"
    total=$(json_field "$throughput" total_requests)
    RPS[$name]=$(json_field "$throughput" rps)
    P50[$name]=$(json_field "$latency" p50_ms)
    P99[$name]=$(json_field "$latency" p99_ms)
    ERRORS[$name]=$(($(json_field "$throughput" errors) + $(json_field "$latency" errors)))
    CPU_US[$name]=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$total" \
        'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "n/a" }')
}

# ---- the fake provider (upstream of every row) ----
"${LOAD_PIN[@]}" "$BIN/fake-provider" --listen 127.0.0.1:0 --model bench-model \
    >"$WORK/fake.out" 2>"$WORK/fake.out.err" &
FAKE_PID=$!
PIDS+=("$FAKE_PID")
FAKE_ADDR=$(wait_listening "$WORK/fake.out" "$FAKE_PID")
echo "fake provider on $FAKE_ADDR" >&2

ROWS=(direct)
repin "$FAKE_PID" 1
bench direct "http://$FAKE_ADDR/v1/chat/completions" "$FAKE_PID"
repin "$FAKE_PID" 0

# ---- nginx ----
if command -v nginx >/dev/null; then
    NGINX_PORT=$(free_port)
    USER_LINE=""
    if [ "$(id -u)" -eq 0 ]; then USER_LINE="user root;"; fi
    mkdir -p "$WORK/nginx"
    cat >"$WORK/nginx/nginx.conf" <<EOF
$USER_LINE
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/client_body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    upstream fake {
        server $FAKE_ADDR;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://fake;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
    "${TARGET_PIN[@]}" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
        >"$WORK/nginx.out" 2>&1 &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null; then break; fi
        sleep 0.1
    done
    sleep 0.3
    mapfile -t NGINX_WORKERS < <(pgrep -P "$NGINX_PID")
    echo "nginx on 127.0.0.1:$NGINX_PORT (workers: ${NGINX_WORKERS[*]})" >&2
    ROWS+=(nginx)
    bench nginx "http://127.0.0.1:$NGINX_PORT/v1/chat/completions" "${NGINX_WORKERS[@]}"
    kill "$NGINX_PID" 2>/dev/null || true
else
    echo "nginx not found: skipping the nginx row (install it with: apt-get install nginx-light)" >&2
fi

# ---- the gateway ----
# start_gateway CONFIG [ARGS...]: starts the gateway on core 1, sets GATEWAY_PID and GATEWAY_ADDR.
start_gateway() {
    local config=$1
    shift
    SWITCHBOARD_BENCH_UPSTREAM="http://$FAKE_ADDR/v1" RUST_LOG="$BENCH_GATEWAY_LOG" \
        "${TARGET_PIN[@]}" "$BIN/switchboard-gateway" --config "$config" \
        --listen 127.0.0.1:0 "$@" >"$WORK/gateway.out" 2>"$WORK/gateway.out.err" &
    GATEWAY_PID=$!
    PIDS+=("$GATEWAY_PID")
    GATEWAY_ADDR=$(wait_listening "$WORK/gateway.out" "$GATEWAY_PID")
    echo "gateway on $GATEWAY_ADDR ($(basename "$config") $*)" >&2
    local check
    check=$(curl -s -o "$WORK/check.json" -w '%{http_code}' -H "Authorization: Bearer sk-bench" \
        -H 'Content-Type: application/json' -d "$BODY" "http://$GATEWAY_ADDR/v1/chat/completions" \
        || true)
    if [ "$check" != "200" ]; then
        echo "warning: the gateway answered $check to the bench request: $(cat "$WORK/check.json")" >&2
    fi
}

stop_gateway() {
    kill "$GATEWAY_PID" 2>/dev/null || true
    wait "$GATEWAY_PID" 2>/dev/null || true
}

start_gateway "$ROOT/load-tests/bench/gateway.yaml"
GATEWAY_URL="http://$GATEWAY_ADDR/v1/chat/completions"
ROWS+=(gateway)
bench gateway "$GATEWAY_URL" "$GATEWAY_PID"

# Streaming, and translation: an Anthropic client reaching the same OpenAI-compatible upstream
# (request, answer and stream events all converted), next to the untranslated OpenAI path.
REQUEST_BODY=${BODY%\}},\"stream\":true}
ROWS+=("gateway, stream")
bench "gateway, stream" "$GATEWAY_URL" "$GATEWAY_PID"
ANTHROPIC_BODY='{"model":"bench-model","max_tokens":16,"system":"You are a benchmark.","messages":[{"role":"user","content":"Say hello in five words."}]}'
REQUEST_AUTH="x-api-key: sk-bench"
REQUEST_BODY=$ANTHROPIC_BODY
ROWS+=("gateway, Anthropic client")
bench "gateway, Anthropic client" "http://$GATEWAY_ADDR/v1/messages" "$GATEWAY_PID"
REQUEST_BODY=${ANTHROPIC_BODY%\}},\"stream\":true}
ROWS+=("gateway, Anthropic client, stream")
bench "gateway, Anthropic client, stream" "http://$GATEWAY_ADDR/v1/messages" "$GATEWAY_PID"

GATEWAY_RSS=$(awk '/^VmRSS/ {print $2}' "/proc/$GATEWAY_PID/status")
GATEWAY_HWM=$(awk '/^VmHWM/ {print $2}' "/proc/$GATEWAY_PID/status")
stop_gateway

# The full policy path: the same OpenAI request, now also taking key, role and tenant request
# buckets, first in-process, then in Redis (one script, one round trip per request).
REQUEST_BODY=$BODY
REQUEST_AUTH="Authorization: Bearer sk-bench"
start_gateway "$ROOT/load-tests/bench/gateway-policy.yaml"
ROWS+=("gateway, policy, local limits")
bench "gateway, policy, local limits" "http://$GATEWAY_ADDR/v1/chat/completions" "$GATEWAY_PID"
stop_gateway
BENCH_REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
REDIS_HOST_PORT=${BENCH_REDIS_URL#redis://}
REDIS_HOST_PORT=${REDIS_HOST_PORT%%/*}
if (exec 3<>"/dev/tcp/${REDIS_HOST_PORT%:*}/${REDIS_HOST_PORT##*:}") 2>/dev/null; then
    start_gateway "$ROOT/load-tests/bench/gateway-policy.yaml" --redis-url "$BENCH_REDIS_URL"
    ROWS+=("gateway, policy, Redis limits")
    bench "gateway, policy, Redis limits" "http://$GATEWAY_ADDR/v1/chat/completions" "$GATEWAY_PID"
    stop_gateway
else
    echo "no Redis at $BENCH_REDIS_URL: skipping the Redis policy row (set BENCH_REDIS_URL)" >&2
fi

# ---- report ----
NGINX_RPS=${RPS[nginx]:-}
echo
echo "Switchboard proxy benchmark: ${BENCH_SECS}s runs after ${BENCH_WARMUP}s warm-up;" \
    "throughput: closed loop, $BENCH_CONNECTIONS connections; latency: open loop at $BENCH_RATE req/s;" \
    "$(nproc) cores, pinned: $([ ${#LOAD_PIN[@]} -gt 0 ] && echo yes || echo no)"
echo
echo "| target | rps | rps vs nginx | p50 (ms) | p99 (ms) | added p99 vs direct (ms) | CPU µs/request | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for row in "${ROWS[@]}"; do
    awk -v name="$row" -v rps="${RPS[$row]}" -v nginx="$NGINX_RPS" -v p50="${P50[$row]}" \
        -v p99="${P99[$row]}" -v direct="${P99[direct]}" -v cpu="${CPU_US[$row]}" \
        -v errors="${ERRORS[$row]}" 'BEGIN {
            ratio = (nginx != "" && nginx > 0) ? sprintf("%.2f", rps / nginx) : "n/a";
            added = (name == "direct") ? "-" : sprintf("%+.3f", p99 - direct);
            printf "| %s | %.0f | %s | %.3f | %.3f | %s | %s | %d |\n",
                name, rps, ratio, p50, p99, added, cpu, errors
        }'
done
echo
echo "gateway RSS after the runs: $((GATEWAY_RSS / 1024)) MiB (peak $((GATEWAY_HWM / 1024)) MiB)"
echo "raw loadgen reports: $RAW"
