#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for a bounded time each and fails on any crash.
#
#   fuzz/run.sh [seconds-per-target] [target...]
#
# Environment:
#   FUZZ_SANITIZER  none (default, stable Rust) or address (AddressSanitizer; needs
#                   RUSTC_BOOTSTRAP=1 on stable, which this script sets for it)
#   FUZZ_WORK       scratch directory for the new corpus units, artifacts and logs
#                   (default: a fresh temporary directory). New units never go into the
#                   checked-in corpus: libFuzzer writes them to the first corpus directory,
#                   which is the scratch one; the checked-in corpus is only read.
#   FUZZ_JOBS       targets run at once (default 1)
#   FUZZ_ARGS       extra libFuzzer arguments (e.g. "-rss_limit_mb=1024"); one input taking
#                   more than 10 s (-timeout=10) counts as a hang and fails the run
#   FUZZ_TARGET_DIR cargo's target directory (default fuzz/target), e.g. to keep an
#                   AddressSanitizer build beside the plain one
#
# Debug assertions and overflow checks are on (`-a`): an arithmetic overflow on a length
# is exactly the bug this is for. Prints one line of figures per target (executions,
# exec/s, coverage, features, corpus units) and writes them to $FUZZ_WORK/summary.tsv.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-10}"
shift || true
all_targets=(frame_decode xml_parse xml_roundtrip norid_roundtrip response_roundtrip session_script)
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi

sanitizer="${FUZZ_SANITIZER:-none}"
if [ "$sanitizer" != none ]; then export RUSTC_BOOTSTRAP=1; fi
work="${FUZZ_WORK:-$(mktemp -d -t epp-fuzz.XXXXXX)}"
jobs="${FUZZ_JOBS:-1}"
read -r -a extra <<<"${FUZZ_ARGS:-}"
mkdir -p "$work"

command -v cargo-fuzz >/dev/null || {
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
}

# cargo fuzz has no --locked: check the lock file first, as CI does everywhere else.
cargo fetch --locked --quiet
build=(--sanitizer "$sanitizer" -O -a)
if [ -n "${FUZZ_TARGET_DIR:-}" ]; then build+=(--target-dir "$FUZZ_TARGET_DIR"); fi
echo "==> building ${#targets[@]} target(s) (sanitizer $sanitizer) in ${FUZZ_TARGET_DIR:-$(pwd)/target}"
for t in "${targets[@]}"; do cargo fuzz build "${build[@]}" "$t"; done

run_one() {
    local t="$1"
    local dir="$work/$t"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    # -artifact_prefix after cargo-fuzz's own: libFuzzer takes the last one.
    if cargo fuzz run "${build[@]}" "$t" "$dir/corpus" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/" "${extra[@]}" >"$dir/log" 2>&1; then
        echo ok >"$dir/status"
    else
        echo "failed (exit $?)" >"$dir/status"
    fi
}

running=0
for t in "${targets[@]}"; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

# Figures from libFuzzer's last status line and its final stats.
failed=0
printf 'target\tstatus\truns\texec_per_s\tcov\tft\tcorpus\tcrashes\n' >"$work/summary.tsv"
printf '%-20s %-8s %12s %8s %7s %7s %7s %s\n' target status runs exec/s cov ft corpus crashes
for t in "${targets[@]}"; do
    dir="$work/$t"
    status="$(cat "$dir/status")"
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -n1)"
    line="$(grep -E '^#[0-9]+.*cov: ' "$dir/log" | tail -n1 || true)"
    cov="$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$line")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$line")"
    units="$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$line")"
    crashes="$(find "$dir/artifacts" -type f | wc -l)"
    if [ "$status" != ok ] || [ "$crashes" -gt 0 ]; then
        failed=1
        status=FAILED
    fi
    printf '%-20s %-8s %12s %8s %7s %7s %7s %s\n' "$t" "$status" "${runs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "${units:-?}" "$crashes"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$status" "${runs:-}" "${rate:-}" \
        "${cov:-}" "${ft:-}" "${units:-}" "$crashes" >>"$work/summary.tsv"
done

if [ "$failed" -ne 0 ]; then
    for t in "${targets[@]}"; do
        dir="$work/$t"
        if [ "$(cat "$dir/status")" != ok ] || [ -n "$(ls -A "$dir/artifacts")" ]; then
            echo
            echo "==> $t failed; the end of its log ($dir/log):"
            tail -n 60 "$dir/log"
            ls -l "$dir/artifacts"
        fi
    done
    echo
    echo "A crash: reproduce with 'cargo fuzz run --sanitizer $sanitizer -O -a <target> <artifact>'," >&2
    echo "fix it, and add the input to corpus/<target>/crash-<what> (see fuzz/README.md)." >&2
    exit 1
fi
echo "all targets ran ${seconds}s without a crash; scratch corpus and logs in $work"
