#!/usr/bin/env bash
# Coverage of tracemark's own code reached by a fuzz target's corpus: functions reached, by
# crate and by source file.
#
#   scripts/fuzz-coverage.sh TARGET [CORPUS_DIR...]   default: fuzz/corpus/TARGET fuzz/seeds/TARGET
#
# Runs every input once (`-runs=0 -print_coverage=1`) and counts libFuzzer's covered and
# uncovered functions by source file. libFuzzer symbolizes through the sanitizer runtime, so this
# uses the AddressSanitizer build (RUSTC_BOOTSTRAP=1 is set here; a cold build takes ~3 min).
# Functions, not edges: under AddressSanitizer every memory check adds a never-taken edge to its
# error report, which would make edge ratios meaningless. The totals are the functions linked
# into the target, including code no target can reach (the directory form, the CLI's needs).
# libFuzzer's own edge counter for the `-s none` build is what `fuzz/ci.sh` prints (`cov`).
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: scripts/fuzz-coverage.sh TARGET [CORPUS_DIR...]}
shift
if [ $# -gt 0 ]; then inputs=("$@"); else inputs=("fuzz/corpus/$target" "fuzz/seeds/$target"); fi
existing=()
for dir in "${inputs[@]}"; do [ -d "$dir" ] && existing+=("$dir"); done

export RUSTC_BOOTSTRAP=1
target_dir=${CARGO_TARGET_DIR:-$PWD/target}/cargo-fuzz-address
cargo fuzz build -s address --target-dir "$target_dir" "$target" >/dev/null 2>&1 ||
    cargo fuzz build -s address --target-dir "$target_dir" "$target"

"$target_dir/x86_64-unknown-linux-gnu/release/$target" -runs=0 -print_coverage=1 "${existing[@]}" 2>&1 |
    awk -v root="$PWD/" -v target="$target" '
        /^(UN)?COVERED_FUNC:/ {
            reached = ($1 == "COVERED_FUNC:")
            path = $NF
            if (index(path, root) != 1) next
            path = substr(path, length(root) + 1)
            if (path ~ /^(target|fuzz\/fuzz_targets)\//) next
            sub(/:[0-9]+$/, "", path)
            crate = path
            sub(/\/src\/.*/, "", crate)
            covered[crate] += reached
            total[crate] += 1
            file_covered[path] += reached
            file_total[path] += 1
        }
        END {
            # A sort key first (0: crates, 1: files reached), cut after sorting.
            for (crate in total) {
                all_covered += covered[crate]; all_total += total[crate]
                printf "0 %s|  %-40s %5d / %5d  %5.1f%%\n", crate, crate, covered[crate], total[crate], 100 * covered[crate] / total[crate]
            }
            if (all_total > 0) printf "0 ~|  %-40s %5d / %5d  %5.1f%%\n", "all", all_covered, all_total, 100 * all_covered / all_total
            for (file in file_total) {
                if (file_covered[file] > 0) {
                    printf "1 %s|    %-38s %5d / %5d  %5.1f%%\n", file, file, file_covered[file], file_total[file], 100 * file_covered[file] / file_total[file]
                }
            }
        }' | sort | cut -d'|' -f2- | sed "1i $target: functions of tracemark code reached, by crate, then by file reached"
