#!/usr/bin/env bash
# The whole benchmark set in one command (docs/BENCHMARKS.md):
#   1. the machine and its load;
#   2. release builds of epp-server and epp-load;
#   3. epp-load, every scenario and both baselines, on SQLite and then on PostgreSQL
#      (a fresh schema per run, dropped after), with ratios against the issue's targets;
#   4. the criterion benches (frame, xml, xml_reference, session, store).
#
# Environment: EPP_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test),
# DURATION (seconds per scenario, default 10), SESSIONS (default 32), REGISTRARS (4),
# IDLE (idle sessions, default 10000), SKIP_CRITERION=1, SKIP_POSTGRES=1,
# OUT (default target/benchmarks: JSON and text reports).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${EPP_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
DURATION="${DURATION:-10}"
SESSIONS="${SESSIONS:-32}"
REGISTRARS="${REGISTRARS:-4}"
IDLE="${IDLE:-10000}"
OUT="${OUT:-target/benchmarks}"
mkdir -p "$OUT"

log() { printf '\n==> %s\n' "$*"; }

log "machine"
echo "cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1024/1024}' /proc/meminfo)"
echo "load: $(uptime)"

# The idle scenario holds IDLE connections open in epp-load and in the server (both
# inherit this limit).
hard="$(ulimit -Hn)"
if [ "$hard" != unlimited ] && [ "$hard" -lt $((IDLE + 500)) ]; then
    echo "warning: the open-file hard limit ($hard) is below $((IDLE + 500)); the idle scenario opens fewer sessions"
fi
ulimit -n "$hard" 2>/dev/null || true

log "build (release)"
cargo build --release --locked -p epp-server -p epp-benches --bin epp-server --bin epp-load

backends=(sqlite)
if [ "${SKIP_POSTGRES:-0}" != 1 ]; then
    if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        backends+=(postgres)
    else
        echo "warning: PostgreSQL is not ready on 127.0.0.1:5432; SQLite only"
    fi
fi

for backend in "${backends[@]}"; do
    log "epp-load on $backend ($SESSIONS sessions, $REGISTRARS registrars, ${DURATION}s per scenario)"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    EPP_TEST_PG_URL="$PG_URL" target/release/epp-load \
        --backend "$backend" \
        --sessions "$SESSIONS" --registrars "$REGISTRARS" \
        --duration "$DURATION" --idle-sessions "$IDLE" \
        --data-dir target/epp-load \
        --json-out "$OUT/load-$backend.json" | tee "$OUT/load-$backend.txt"
done

if [ "${SKIP_CRITERION:-0}" != 1 ]; then
    log "criterion: frame, xml, session, store"
    EPP_TEST_PG_URL="$PG_URL" cargo bench --locked -p epp-benches \
        --bench frame --bench xml --bench session --bench store 2>&1 | tee "$OUT/criterion.txt"
    log "criterion: xml_reference (xsd-parser's deserialiser against ours)"
    cargo bench --locked -p epp-benches --features reference --bench xml_reference 2>&1 \
        | tee "$OUT/criterion-reference.txt"
fi

log "done: reports in $OUT"
