#!/usr/bin/env bash
# Memory under many concurrent streams: STREAMS clients (default 1,000) each keep one streamed
# chat completion open through the gateway at all times — the fake provider streams slowly,
# STREAM_CHUNK_DELAY_MS (default 200) between its ten chunks — with the full policy path on
# (load-tests/bench/gateway-policy.yaml, in-process: key, role and tenant limits, a concurrency
# lease and a budget reservation per stream). Reports the gateway's resident memory idle, the
# peak while the streams run, and what the clients saw.
#
# Environment: STREAMS (1000), STREAMS_SECS (10), STREAM_CHUNK_DELAY_MS (200).
# Needs: cargo, awk. Everything listens on 127.0.0.1 and stops when the script ends.
set -euo pipefail

STREAMS=${STREAMS:-1000}
SECS=${STREAMS_SECS:-10}
DELAY=${STREAM_CHUNK_DELAY_MS:-200}
SCRIPT_NAME=streams
# shellcheck source=load-tests/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

start fake "$BIN/fake-provider" --listen 127.0.0.1:0 --model bench-model --chunk-delay-ms "$DELAY"
FAKE=$ADDR
SWITCHBOARD_BENCH_UPSTREAM="http://$FAKE/v1" RUST_LOG=error \
    start gateway "$BIN/switchboard-gateway" --config load-tests/bench/gateway-policy.yaml \
    --listen 127.0.0.1:0
GATEWAY=$ADDR
GATEWAY_PID=$PID
IDLE=$(rss_kib "$GATEWAY_PID")

BODY='{"model":"bench-model","messages":[{"role":"user","content":"Say hello in five words."}],"max_tokens":16,"stream":true}'
"$BIN/loadgen" --url "http://$GATEWAY/v1/chat/completions" --body "$BODY" \
    --header "Authorization: Bearer sk-bench" --connections "$STREAMS" \
    --duration "$SECS" --warmup 2 >"$WORK/loadgen.json" &
LOADGEN=$!
PEAK=$IDLE
while kill -0 "$LOADGEN" 2>/dev/null; do
    NOW=$(rss_kib "$GATEWAY_PID")
    if [ "$NOW" -gt "$PEAK" ]; then PEAK=$NOW; fi
    sleep 0.2
done
wait "$LOADGEN"
RESULT=$(cat "$WORK/loadgen.json")
HWM=$(awk '/^VmHWM/ {print $2}' "/proc/$GATEWAY_PID/status")

echo
echo "| concurrent streams | streams completed/s | errors | RSS idle (MiB) | RSS peak while streaming (MiB) | VmHWM (MiB) |"
echo "|---:|---:|---:|---:|---:|---:|"
awk -v s="$STREAMS" -v rps="$(field "$RESULT" rps)" -v e="$(field "$RESULT" errors)" \
    -v idle="$IDLE" -v peak="$PEAK" -v hwm="$HWM" \
    'BEGIN { printf "| %d | %.0f | %d | %.1f | %.1f | %.1f |\n", s, rps, e, idle/1024, peak/1024, hwm/1024 }'
echo
echo "loadgen: $RESULT"
