#!/usr/bin/env bash
# Cutting a time window out of a trace, side by side: `tracemark cut` against babeltrace2
# `--begin/--end` on the CTF export of the same trace. Checks that both write the same number
# of events, then prints the median wall times of RUNS runs each (page cache warm) and the
# ratio, and for tracemark the median time and the bytes of the trace read with the trace's
# pages first evicted from the page cache (cold): the trace's pages resident after the cut,
# counted by fincore(1).
#
#   export/bench/cut-compare.sh TRACE FROM TO [RUNS]
#
# TRACE is a tracemark trace (e.g. `readbench write DIR 10000000 2 65536`, or 1.08 GB over
# 400 s with `readbench write DIR 40000000 2 65536 10000`, then `tracemark index DIR`); FROM
# and TO are seconds since the Unix epoch (e.g. 0.100 0.110 or 200 201 for a readbench trace,
# whose clock starts there), given to both tools in their own forms.
# Needs babeltrace2, fincore (util-linux) and a release build of tracemark
# (`cargo build --release -p tracemark`).
set -euo pipefail
trace=$1 from=$2 to=$3 runs=${4:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
tracemark=${TRACEMARK:-$root/target/release/tracemark}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$tracemark" convert --to ctf "$trace" "$work/ctf" >/dev/null 2>&1
# The window as UTC date and time for tracemark; babeltrace2 takes seconds since the clock's
# origin, the Unix epoch for a trace exported by tracemark.
utc() { python3 -c '
import sys
from datetime import datetime, timezone
ns = round(float(sys.argv[1]) * 1e9)
second, fraction = divmod(ns, 10**9)
print(datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%d %H:%M:%S") + ".%09d" % fraction)' "$1"; }
from_utc=$(utc "$from")
to_utc=$(utc "$to")

seconds() { python3 -c 'import sys, time, subprocess; t = time.perf_counter(); subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); print(time.perf_counter() - t)' "$@"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Every file of the trace (a directory's sidecar indexes included).
trace_files() { find "$trace" -type f; }
trace_bytes=$(trace_files | xargs stat -c %s | awk '{ s += $1 } END { print s }')
evict() { sync; trace_files | python3 -c '
import os, sys
for path in sys.stdin.read().split("\n"):
    if path:
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)'; }
resident() { trace_files | xargs fincore --bytes --noheadings --output RES | awk '{ s += $1 } END { print s + 0 }'; }

ours=() theirs=() cold=() read_bytes=()
for run in $(seq "$runs"); do
    rm -rf "$work/cut.tmk" "$work/bt"
    evict
    cold+=("$(seconds "$tracemark" cut "$trace" "$work/cut.tmk" --from "$from_utc" --to "$to_utc")")
    read_bytes+=("$(resident)")
    rm -f "$work/cut.tmk"
    ours+=("$(seconds "$tracemark" cut "$trace" "$work/cut.tmk" --from "$from_utc" --to "$to_utc")")
    theirs+=("$(seconds babeltrace2 "$work/ctf" --begin="$from" --end="$to" -o ctf -w "$work/bt")")
done
ours_events=$("$tracemark" dump --json "$work/cut.tmk" | wc -l)
their_events=$(babeltrace2 "$work/bt" | wc -l)
echo "events in the window: tracemark $ours_events, babeltrace2 $their_events"
[ "$ours_events" = "$their_events" ] || { echo "the cuts differ"; exit 1; }
[ "$ours_events" -gt 0 ] || { echo "the window is empty"; exit 1; }
ours_median=$(printf '%s\n' "${ours[@]}" | median)
their_median=$(printf '%s\n' "${theirs[@]}" | median)
cold_median=$(printf '%s\n' "${cold[@]}" | median)
read_median=$(printf '%s\n' "${read_bytes[@]}" | median)
if "$tracemark" info "$trace" | grep -q '^index .*: usable'; then index=usable; else index="none usable"; fi
echo "trace: $trace_bytes bytes, stored index: $index"
echo "tracemark cut: median ${ours_median} s of $runs (load: $(cut -d' ' -f1-3 /proc/loadavg))"
python3 -c "print('tracemark cut, trace evicted from the page cache first: median %s s, %d bytes of the trace read (%.3f %%)' % ('$cold_median', $read_median, 100.0 * $read_median / $trace_bytes))"
echo "babeltrace2 --begin --end -o ctf: median ${their_median} s of $runs"
python3 -c "print('ratio: %.1fx' % ($their_median / $ours_median))"
