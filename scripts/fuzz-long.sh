#!/usr/bin/env bash
# Long fuzzing runs with a corpus that persists between runs.
#
#   scripts/fuzz-long.sh [TARGET...]            default: every target, one after the other
#
# Environment:
#   FUZZ_SECONDS=3600     run time per target
#   FUZZ_FORKS=1          libFuzzer worker processes per target (-fork=N); keep crashes going
#   FUZZ_SANITIZER=none   or `address`: AddressSanitizer, which needs nightly features
#                         (RUSTC_BOOTSTRAP=1 is set here); the C probe writer is not instrumented
#   FUZZ_CORPUS=fuzz/corpus   grown corpus, one directory per target (git-ignored)
#   FUZZ_ARTIFACTS=fuzz/artifacts   crash, timeout and OOM reproducers (git-ignored)
#
# Each target starts from its grown corpus plus the checked-in seeds, regressions and vectors;
# the grown corpus is minimized (`cargo fuzz cmin`) at the end. A crash stops that target and
# leaves its reproducer in FUZZ_ARTIFACTS/<target>/; fuzz/README.md says how it becomes a
# regression test. The summary gives executions per second and libFuzzer's coverage counters.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(packet_header metadata format_string trace check roundtrip writer_diff)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi
seconds=${FUZZ_SECONDS:-3600}
forks=${FUZZ_FORKS:-1}
sanitizer=${FUZZ_SANITIZER:-none}
corpus_root=${FUZZ_CORPUS:-fuzz/corpus}
artifacts=${FUZZ_ARTIFACTS:-fuzz/artifacts}
target_dir=${CARGO_TARGET_DIR:-$PWD/target}/cargo-fuzz-$sanitizer

if [ "$sanitizer" != none ]; then
    export RUSTC_BOOTSTRAP=1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
cargo fuzz build -s "$sanitizer" --target-dir "$target_dir"

failed=()
summary=()
for target in "${targets[@]}"; do
    corpus=$corpus_root/$target
    mkdir -p "$corpus" "$artifacts/$target"
    inputs=("$corpus" "fuzz/seeds/$target")
    [ -d "fuzz/regressions/$target" ] && inputs+=("fuzz/regressions/$target")
    if [ "$target" = trace ] || [ "$target" = check ]; then
        [ -d conformance/vectors ] && inputs+=(conformance/vectors)
        inputs+=(fuzz/vectors)
    fi
    log=$artifacts/$target/fuzz-$(date +%Y%m%d-%H%M%S).log
    echo "== $target: ${seconds}s, $forks fork(s), sanitizer $sanitizer; log $log"
    fork=()
    [ "$forks" -gt 1 ] && fork=(-fork="$forks")
    status=0
    cargo fuzz run -s "$sanitizer" --target-dir "$target_dir" "$target" "${inputs[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 "${fork[@]}" \
        -dict=fuzz/tracemark.dict -artifact_prefix="$artifacts/$target/" -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    # The last progress line: `#EXECS DONE cov: … exec/s: …` (or `#EXECS: cov: …` with -fork).
    last=$(grep -E '^#[0-9]+.* cov: ' "$log" | tail -n 1 || true)
    summary+=("$target: status $status; ${last:-no progress line}")
    if [ "$status" -ne 0 ]; then
        failed+=("$target")
        grep -v '^#' "$log" | tail -n 40
        ls -t "$artifacts/$target" | grep -v '\.log$' | head -n 5 | sed "s|^|reproducer: $artifacts/$target/|"
        continue
    fi
    # Keep the grown corpus small: only inputs that add coverage.
    cargo fuzz cmin -s "$sanitizer" --target-dir "$target_dir" "$target" "$corpus" >/dev/null 2>&1 || true
done

printf '\n%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]} (reproducers under $artifacts/)"
    exit 1
fi
