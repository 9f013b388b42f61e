#!/usr/bin/env bash
# Cutting a time window out of a trace, side by side: `tracemark cut` against babeltrace2
# `--begin/--end` on the CTF export of the same trace. Checks that both write the same number
# of events, then prints the median wall times of RUNS runs each and the ratio.
#
#   export/bench/cut-compare.sh TRACE FROM TO [RUNS]
#
# TRACE is a tracemark trace (e.g. `readbench write DIR 10000000 2 65536`); FROM and TO are
# seconds since the Unix epoch (e.g. 0.100 0.110 for a readbench trace, whose clock starts
# there), given to both tools in their own forms.
# Needs babeltrace2 and a release build of tracemark (`cargo build --release -p tracemark`).
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

ours=() theirs=()
for run in $(seq "$runs"); do
    rm -rf "$work/cut.tmk" "$work/bt"
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
echo "tracemark cut: median ${ours_median} s of $runs (load: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "babeltrace2 --begin --end -o ctf: median ${their_median} s of $runs"
python3 -c "print('ratio: %.1fx' % ($their_median / $ours_median))"
