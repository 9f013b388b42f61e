#!/usr/bin/env bash
# Packet compression (spec §15) on the realistic workload: bytes per event and read speed of one
# trace stored uncompressed, with zstd and with LZ4, side by side.
#
#   export/bench/compress-compare.sh [TRACE] [RUNS] [MODES]
#
# TRACE is a tracemark trace (default: the 10 M-event realistic trace, written here with
# `readbench write`). Each form is made with `tracemark convert --to tracemark --compress X`
# (timed once), every form is checked to hold the same events (readbench's checksum), then each
# readbench MODE (default "dynamic count") runs RUNS times (default 5) on each form, interleaved,
# and the script prints medians and each form's ratio to the uncompressed one. Needs release
# builds of tracemark and readbench (`cargo build --release -p tracemark`, then
# `cargo build --release -p tracemark-reader --example readbench`: with `--example`, cargo
# builds only the example); honours CARGO_TARGET_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${CARGO_TARGET_DIR:-$root/target}/release
tracemark=$bin/tracemark
readbench=$bin/examples/readbench
runs=${2:-5}
modes=${3:-dynamic count}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

trace=${1:-}
if [ -z "$trace" ]; then
    trace=$work/realistic
    "$readbench" write "$trace" 10000000 2 65536 >/dev/null
fi

seconds() { python3 -c 'import sys, time, subprocess; t = time.perf_counter(); subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(time.perf_counter() - t)' "$@"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

forms="none zstd lz4"
declare -A convert_s size
for form in $forms; do
    convert_s[$form]=$(seconds "$tracemark" convert --to tracemark --compress "$form" "$trace" "$work/$form.tmk")
    size[$form]=$(stat -c %s "$work/$form.tmk")
done

# The same events in every form.
reference=$("$readbench" dynamic "$work/none.tmk" 0)
events=$(echo "$reference" | field events)
checksum=$(echo "$reference" | field checksum)
for form in $forms; do
    found=$("$readbench" dynamic "$work/$form.tmk" 0 | field checksum)
    [ "$found" = "$checksum" ] || { echo "$form reads other events ($found, not $checksum)"; exit 1; }
done

echo "trace: $events events (load: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-5s %14s %10s %12s\n' form bytes bytes/event convert_s
for form in $forms; do
    python3 -c "print('%-5s %14d %10.2f %12.2f' % ('$form', ${size[$form]}, ${size[$form]} / $events, ${convert_s[$form]}))"
done

for mode in $modes; do
    declare -A times=()
    for run in $(seq "$runs"); do
        for form in $forms; do
            t=$("$readbench" "$mode" "$work/$form.tmk" | field seconds)
            times[$form]="${times[$form]:-} $t"
        done
    done
    base=$(echo "${times[none]}" | tr ' ' '\n' | sed '/^$/d' | median)
    for form in $forms; do
        m=$(echo "${times[$form]}" | tr ' ' '\n' | sed '/^$/d' | median)
        python3 -c "print('readbench %-8s %-5s median %.4f s of $runs, %.1f M events/s, %.2fx the uncompressed time' % ('$mode', '$form', $m, $events / $m / 1e6, $m / $base))"
    done
    unset times
done
