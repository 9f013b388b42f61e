#!/usr/bin/env bash
# Builds every fuzz target and runs each for a bounded time on stable Rust (no sanitizer:
# `cargo fuzz run -s none`), starting from the checked-in seeds, the regressions and the
# conformance vectors. Fails on the first crash, timeout or out-of-memory, printing the
# reproducer's path, its bytes (hex) and a command that recreates it as a regression file.
#
#   fuzz/ci.sh [SECONDS_PER_TARGET]        default 60; TRACEMARK_FUZZ_TARGETS="trace check" to choose
#
# Installs cargo-fuzz when missing (~1-2 min). Builds into $CARGO_TARGET_DIR/cargo-fuzz
# (default target/cargo-fuzz). The corpus grown during the run is thrown away: seeds change only
# by hand (fuzz/README.md). Prints, per target, executions per second and libFuzzer's coverage
# counters (`cov`: edges covered, of the `edges` instrumented; `ft`: features).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
targets=${TRACEMARK_FUZZ_TARGETS:-packet_header metadata index compressed format_string trace check roundtrip writer_diff tsdl ctf_stream parquet progress}
target_dir=${CARGO_TARGET_DIR:-$PWD/target}/cargo-fuzz
artifacts=${TRACEMARK_FUZZ_ARTIFACTS:-$PWD/fuzz/artifacts}

max_len() {
    case $1 in
        packet_header | format_string | progress) echo 512 ;;
        trace | check | tsdl | ctf_stream | parquet) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

dictionary() {
    case $1 in
        tsdl | ctf_stream) echo fuzz/tsdl.dict ;;
        *) echo fuzz/tracemark.dict ;;
    esac
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
cargo fuzz --version

build_started=$SECONDS
cargo fuzz build -s none --target-dir "$target_dir"
echo "built every target in $((SECONDS - build_started))s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

report() {
    # The crash, timeout or OOM reproducer(s) libFuzzer wrote for target $1.
    local target=$1 file name
    mkdir -p "$artifacts/$target"
    for file in "$work/artifacts/$target"/*; do
        [ -e "$file" ] || continue
        name=$(basename "$file")
        cp "$file" "$artifacts/$target/$name"
        echo "reproducer: $artifacts/$target/$name ($(wc -c <"$file") bytes)"
        od -An -tx1 -v "$file" | head -n 64
        echo "replay:    cargo fuzz run -s none $target $artifacts/$target/$name"
        echo "keep it:   mkdir -p fuzz/regressions/$target && echo '$(base64 -w0 "$file")' | base64 -d >fuzz/regressions/$target/$name"
    done
}

printf '\n%-14s %8s %10s %10s %8s %8s %7s\n' target seconds execs exec/s cov edges ft
for target in $targets; do
    mkdir -p "$work/corpus/$target" "$work/artifacts/$target"
    inputs=("$work/corpus/$target" "fuzz/seeds/$target")
    [ -d "fuzz/regressions/$target" ] && inputs+=("fuzz/regressions/$target")
    if [ "$target" = trace ] || [ "$target" = check ]; then
        [ -d conformance/vectors ] && inputs+=(conformance/vectors)
        inputs+=(fuzz/vectors)
    fi
    log=$work/$target.log
    if ! cargo fuzz run -s none --target-dir "$target_dir" "$target" "${inputs[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$target")" \
        -dict="$(dictionary "$target")" -artifact_prefix="$work/artifacts/$target/" -print_final_stats=1 \
        >"$log" 2>&1; then
        echo
        echo "FUZZ FAILURE in target $target; the end of its log:"
        grep -v '^#' "$log" | tail -n 80
        report "$target"
        exit 1
    fi
    edges=$(sed -n 's/.*(\([0-9]*\) inline 8-bit counters).*/\1/p' "$log" | head -n 1)
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    printf '%-14s %8s %10s %10s %8s %8s %7s\n' "$target" "$seconds" "$execs" "$rate" "$cov" "$edges" "$ft"
done
