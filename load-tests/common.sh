# Shared by the load-test scripts: builds the release binaries, keeps a work directory and the
# started processes, and stops them all when the script ends. Source it after `set -euo pipefail`
# with SCRIPT_NAME set.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
echo "building release binaries..." >&2
cargo build --release -p switchboard-load-tests -p switchboard-gateway >&2
BIN="$ROOT/target/release"
WORK=$(mktemp -d -t "switchboard-$SCRIPT_NAME.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# start NAME ARGS... : runs a binary that prints "listening on ADDR"; sets ADDR and PID.
start() {
    local name=$1
    shift
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 1 300); do
        if ADDR=$(grep -m1 -o 'listening on [^[:space:]]*' "$WORK/$name.out" 2>/dev/null); then
            ADDR=${ADDR#listening on }
            return 0
        fi
        sleep 0.05
    done
    echo "$name did not start: $(cat "$WORK/$name.err")" >&2
    return 1
}

# Prints one field of a flat JSON object: field JSON NAME.
field() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" <<<"$1" | tr -d '"'; }
