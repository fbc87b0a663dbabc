#!/usr/bin/env bash
# Switchboard failover benchmark.
#
#   1. Failover latency: the extra time a request pays when its first channel fails at once
#      (HTTP 500) or refuses the connection, against the same request served by a healthy
#      channel directly, open loop at FAILOVER_RATE req/s. The circuit breaker is disabled for
#      this part (huge thresholds) so every request really pays for one failed attempt.
#   2. A channel breaking under load: three equal channels serve a closed-loop load; one starts
#      answering 500 after FAILOVER_BREAK_MS. Reported: client-visible errors (the goal is zero)
#      and how long traffic kept reaching the broken channel (from the gateway's own metrics,
#      sampled every 100 ms).
#
# Environment: FAILOVER_SECS (default 8), FAILOVER_RATE (default 200), FAILOVER_BREAK_MS (3000).
# Needs: cargo, curl, awk, python3. Everything listens on 127.0.0.1 and stops when the script ends.
set -euo pipefail

SECS=${FAILOVER_SECS:-8}
RATE=${FAILOVER_RATE:-200}
BREAK_MS=${FAILOVER_BREAK_MS:-3000}
SCRIPT_NAME=failover
# shellcheck source=load-tests/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

BODY='{"model":"MODEL","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}'
load() { # URL MODEL ARGS...
    "$BIN/loadgen" --url "$1" --body "${BODY/MODEL/$2}" --header "Authorization: Bearer sk-bench" \
        --duration "$SECS" --warmup 1 "${@:3}"
}

start good "$BIN/fake-provider" --listen 127.0.0.1:0
GOOD=$ADDR
start broken "$BIN/fake-provider" --listen 127.0.0.1:0 --fail-status 500
BROKEN=$ADDR
REFUSED="127.0.0.1:$(free_port)"

cat >"$WORK/latency.yaml" <<YAML
channels:
  - {name: healthy, provider: openai, base_url: "http://$GOOD/v1", api_key: k, priority: 1, models: [direct, after-500, after-refused]}
  - {name: failing, provider: openai, base_url: "http://$BROKEN/v1", api_key: k, priority: 0, models: [after-500]}
  - {name: refusing, provider: openai, base_url: "http://$REFUSED/v1", api_key: k, priority: 0, models: [after-refused]}
routing:
  strategy: failover
  circuit: {failure_threshold: 1000000000, window: 1000000000, error_rate_threshold: 1.0}
roles: [{name: bench, models: ["*"]}]
api_keys: [{name: bench, key: sk-bench, role: bench}]
YAML
RUST_LOG=error start gateway "$BIN/switchboard-gateway" --config "$WORK/latency.yaml" --listen 127.0.0.1:0
URL="http://$ADDR/v1/chat/completions"
declare -A P50 P99 ERR
for model in direct after-500 after-refused; do
    echo "[latency] $model, open loop at $RATE req/s for ${SECS}s..." >&2
    report=$(load "$URL" "$model" --connections 16 --rate "$RATE")
    P50[$model]=$(field "$report" p50_ms)
    P99[$model]=$(field "$report" p99_ms)
    ERR[$model]=$(field "$report" errors)
done

start flips "$BIN/fake-provider" --listen 127.0.0.1:0 --fail-status 500 --fail-after-ms "$BREAK_MS"
FLIPS=$ADDR
FLIPS_STARTED=$(date +%s%3N)
start good2 "$BIN/fake-provider" --listen 127.0.0.1:0
GOOD2=$ADDR
cat >"$WORK/sustained.yaml" <<YAML
channels:
  - {name: one, provider: openai, base_url: "http://$GOOD/v1", api_key: k, models: [m]}
  - {name: two, provider: openai, base_url: "http://$GOOD2/v1", api_key: k, models: [m]}
  - {name: breaks, provider: openai, base_url: "http://$FLIPS/v1", api_key: k, models: [m]}
roles: [{name: bench, models: ["*"]}]
api_keys: [{name: bench, key: sk-bench, role: bench}]
YAML
RUST_LOG=error start gateway2 "$BIN/switchboard-gateway" --config "$WORK/sustained.yaml" --listen 127.0.0.1:0
GATEWAY2=$ADDR
echo "[sustained] 3 channels, one breaks ${BREAK_MS} ms after it started; closed loop for ${SECS}s..." >&2
(
    last=""
    while true; do
        now=$(date +%s%3N)
        count=$(curl -s "http://$GATEWAY2/metrics" | awk '/^switchboard_upstream_attempts_total\{channel="breaks"/ {sum += $NF} END {print sum + 0}')
        if [ "$count" != "$last" ]; then
            echo "$now $count"
            last=$count
        fi
        sleep 0.1
    done
) >"$WORK/breaks.samples" &
SAMPLER=$!
PIDS+=("$SAMPLER")
sustained=$(load "http://$GATEWAY2/v1/chat/completions" m --connections 16)
kill "$SAMPLER" 2>/dev/null || true
LAST_CHANGE=$(tail -1 "$WORK/breaks.samples" | awk '{print $1}')
LEFT_AFTER=$((LAST_CHANGE - FLIPS_STARTED - BREAK_MS))

echo
echo "Switchboard failover benchmark: ${SECS}s runs; latency at $RATE req/s; break after ${BREAK_MS} ms"
echo
echo "| case | p50 (ms) | p99 (ms) | added p50 vs healthy (ms) | errors |"
echo "|---|---:|---:|---:|---:|"
for model in direct after-500 after-refused; do
    awk -v m="$model" -v p50="${P50[$model]}" -v p99="${P99[$model]}" -v base="${P50[direct]}" -v e="${ERR[$model]}" \
        'BEGIN { printf "| %s | %.3f | %.3f | %s | %d |\n", m, p50, p99, (m == "direct") ? "-" : sprintf("%+.3f", p50 - base), e }'
done
echo
echo "Sustained load, one of three channels breaking mid-run: $(field "$sustained" requests) requests," \
    "$(field "$sustained" errors) client-visible errors, $(field "$sustained" rps | cut -d. -f1) req/s;" \
    "traffic left the broken channel $([ "$LEFT_AFTER" -lt 100 ] && echo "within 100 ms (the sampling interval)" || echo "${LEFT_AFTER} ms") after it broke."
