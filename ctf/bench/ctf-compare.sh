#!/usr/bin/env bash
# Reading LTTng's own CTF traces: tracemark-ctf against babeltrace2, same trace, same run.
#
# Records N events of the reader benchmark's realistic workload (reader/bench/lttng/app.c:
# sched_switch, read(2) entry and exit, a string-carrying log event) through LTTng-UST from two
# threads, checks that babeltrace2 and tracemark-ctf read all N events (and that LTTng lost
# none), then times whole processes, medians of R runs:
#   babeltrace2 TRACE -o dummy             every event decoded and delivered in time order
#   ctfread merged TRACE                   the same, one thread (ctf/examples/ctfread.rs)
#   ctfread parallel TRACE                 the same, each stream file decoded on its own thread
#   ctfread streams TRACE                  per stream file, no merge (for reference)
#   tracemark convert --from ctf TRACE X   the whole import into a tracemark file
#   ... --headers narrow                   the same with narrow record headers (spec §5.1)
# and prints events/s and the ratio babeltrace2 / tracemark, by wall and by CPU time, and the
# imports' sizes against the CTF trace's (the narrow import checked to hold the same events).
#
# usage: ctf/bench/ctf-compare.sh [--smoke] [--events N] [--runs R] [--keep]
#   --smoke  200 000 events, 3 runs: a check that the comparison works, for CI
# Needs root (lttng-sessiond); installs lttng-tools, liblttng-ust-dev, babeltrace2, gcc and
# time with apt-get when missing. Honours CARGO_TARGET_DIR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
events=10000000
runs=5
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) events=200000; runs=3 ;;
        --events) events=$2; shift ;;
        --runs) runs=$2; shift ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done

die() { echo "ctf-compare: $*" >&2; exit 1; }
note() { printf '== %s\n' "$*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tracemark-ctf-bench-XXXXXX")
# shellcheck source=../../bench/lttng-session.sh
. "$here/../../bench/lttng-session.sh"
lttng_setup babeltrace2 time

note "building ctfread and tracemark (release) and the LTTng-UST program"
(cd "$root" && cargo build --release --locked -q -p tracemark-ctf --example ctfread && cargo build --release --locked -q -p tracemark)
target=${CARGO_TARGET_DIR:-$root/target}
ctfread="$target/release/examples/ctfread"
tracemark="$target/release/tracemark"
lttng_dir="$root/reader/bench/lttng"
gcc -O2 -Wall -Wextra -I"$lttng_dir" "$lttng_dir/app.c" "$lttng_dir/tp.c" -o "$work/app" -llttng-ust -ldl -lpthread

lttng_start_daemon

note "recording $events events through LTTng-UST"
lttng_record "$work/ctf" 'tmk:*' "" --subbuf-size=8M --num-subbuf=8 --blocking-timeout=inf -- "$work/app" "$events" 2

note "checking that every reader reads the $events events"
lttng_expect "$work/ctf" "$events"
for mode in merged parallel streams; do
    read -r count _ < <("$ctfread" "$mode" "$work/ctf")
    [ "$count" = "$events" ] || die "ctfread $mode reads $count events, expected $events"
done
[ "$("$ctfread" merged "$work/ctf" | cut -d' ' -f6)" = "$("$ctfread" parallel "$work/ctf" | cut -d' ' -f6)" ] \
    || die "ctfread merged and parallel read different values"
ctf_bytes=$(du -sb "$work/ctf" | cut -f1)

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
time_runs() {
    local name=$1; shift
    : > "$work/$name.wall"; : > "$work/$name.cpu"
    for _ in $(seq "$runs"); do
        rm -f "$work/imported.tmk"
        /usr/bin/time -f '%e %U %S' -o "$work/time.out" "$@" > /dev/null 2>&1
        read -r wall user sys < "$work/time.out"
        echo "$wall" >> "$work/$name.wall"
        awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }' >> "$work/$name.cpu"
    done
}

note "timing ($runs runs each, medians; machine load: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs)"
time_runs babeltrace2 babeltrace2 "$work/ctf" -o dummy
time_runs merged "$ctfread" merged "$work/ctf"
time_runs parallel "$ctfread" parallel "$work/ctf"
time_runs streams "$ctfread" streams "$work/ctf"
time_runs import-narrow "$tracemark" convert --from ctf --headers narrow "$work/ctf" "$work/imported.tmk"
narrow_bytes=$(du -b "$work/imported.tmk" | cut -f1)
"$tracemark" stats --json "$work/imported.tmk" > "$work/narrow.stats"
time_runs import "$tracemark" convert --from ctf "$work/ctf" "$work/imported.tmk"
wide_bytes=$(du -b "$work/imported.tmk" | cut -f1)
"$tracemark" stats --json "$work/imported.tmk" > "$work/wide.stats"
# The same events either way: stats' per-class counts agree (its byte counts do not).
grep -o '"events": [0-9]*' "$work/wide.stats" > "$work/wide.counts"
grep -o '"events": [0-9]*' "$work/narrow.stats" > "$work/narrow.counts"
cmp -s "$work/wide.counts" "$work/narrow.counts" || die "the narrow import's event counts differ from the wide one's"
grep -q "^  \"events\": $events,\$" "$work/wide.stats" || die "the import does not hold $events events"

bt_wall=$(median < "$work/babeltrace2.wall")
bt_cpu=$(median < "$work/babeltrace2.cpu")
printf '\n%-22s %10s %9s %9s %11s %10s\n' reader "Mevents/s" "wall s" "cpu s" "x bt2 wall" "x bt2 cpu"
for name in babeltrace2 merged parallel streams import import-narrow; do
    awk -v n="$name" -v e="$events" -v w="$(median < "$work/$name.wall")" -v c="$(median < "$work/$name.cpu")" \
        -v bw="$bt_wall" -v bc="$bt_cpu" 'BEGIN {
        w = (w > 0 ? w : 0.005); c = (c > 0 ? c : 0.005)
        printf "%-22s %10.2f %9.3f %9.2f %11.1f %10.1f\n", n, e / w / 1e6, w, c, bw / w, bc / c }'
done
echo "   ($events events, CTF trace $ctf_bytes bytes; whole processes, metadata parsing included;"
echo "    /usr/bin/time has 10 ms resolution; merged, parallel and streams are ctf/examples/ctfread)"
awk -v e="$events" -v c="$ctf_bytes" -v w="$wide_bytes" -v n="$narrow_bytes" 'BEGIN {
    printf "   sizes: CTF %d bytes (%.2f B/event); imported %d (%.2f), with narrow record headers %d (%.2f)\n", c, c / e, w, w / e, n, n / e }'
awk -v bw="$bt_wall" -v p="$(median < "$work/parallel.wall")" -v m="$(median < "$work/merged.wall")" 'BEGIN {
    best = (p < m ? p : m); best = (best > 0 ? best : 0.005)
    printf "target: reading LTTng CTF >= 5x babeltrace2 -o dummy (wall): %.1fx (%s)\n", bw / best, (bw / best >= 5 ? "met" : "NOT met") }'
