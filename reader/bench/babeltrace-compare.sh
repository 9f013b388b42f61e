#!/usr/bin/env bash
# Compares tracemark's reader with babeltrace2 on the same events.
#
# The realistic workload (bench/realistic.rs: sched_switch, read(2) entry and exit, a
# string-carrying marker; event i is a pure function of i) is recorded twice: through LTTng-UST
# by bench/lttng/app.c into a CTF trace, and by the tracemark writer (`readbench write`) into a
# tracemark trace, both from two threads (two streams). The script checks that both hold the same
# events (per-name counts), then times whole processes, open included:
#   babeltrace2 TRACE -o dummy        against  readbench dynamic | dynamic-pipelined |
#                                              dynamic-dispatch | typed | typed-streams | count
# and reports medians, events/s, MB/s and the ratios (babeltrace2 time / tracemark time), by wall
# time and by CPU time. The tracemark trace is written a second time with narrow record headers
# (spec §5.1), whose size is set against the CTF trace's (issue 23: at most LTTng's bytes per
# event) and which `dynamic` and `count` also read. Finally it reads a large trace (1 GB by
# default) and a 10x smaller one and reports the peak resident set of each.
#
# usage: reader/bench/babeltrace-compare.sh [--smoke] [--release] [--events N] [--runs R]
#                                           [--rss-events M] [--keep]
#   --smoke    200 000 events, 3 runs, 54 MB RSS trace, readbench built in the test profile that
#              `cargo test` already built the dependencies of: a check that the comparison
#              works, for CI, in seconds; its timings mean nothing (debug build, tiny trace)
#   --release  build readbench optimised even with --smoke (the default otherwise)
#   --keep     keep the work directory (printed)
# Fails unless LTTng recorded every event (babeltrace2 counts them, none discarded) and every
# timed tracemark run reads them all.
# Needs root (lttng-sessiond for userspace tracing) and installs babeltrace2, lttng-tools,
# liblttng-ust-dev, gcc and time with apt-get when they are missing (bench/lttng-session.sh).
# Honours CARGO_TARGET_DIR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
events=10000000
runs=5
rss_events=40000000
keep=0
profile=release
smoke=0
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) events=200000; runs=3; rss_events=2000000; smoke=1 ;;
        --release) smoke_release=1 ;;
        --events) events=$2; shift ;;
        --runs) runs=$2; shift ;;
        --rss-events) rss_events=$2; shift ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done

die() { echo "babeltrace-compare: $*" >&2; exit 1; }
note() { printf '== %s\n' "$*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tracemark-bt-XXXXXX")
# shellcheck source=../../bench/lttng-session.sh
. "$root/bench/lttng-session.sh"
lttng_setup babeltrace2 time

if [ "$smoke" = 1 ] && [ "${smoke_release:-0}" = 0 ]; then profile=debug; fi
note "building readbench ($profile) and the LTTng-UST program"
target=${CARGO_TARGET_DIR:-$root/target}
if [ "$profile" = release ]; then
    (cd "$root" && cargo build --release -q -p tracemark-reader --example readbench && cargo build --release -q -p tracemark)
else
    (cd "$root" && cargo build -q -p tracemark-reader --example readbench && cargo build -q -p tracemark)
fi
readbench="$target/$profile/examples/readbench"
tracemark="$target/$profile/tracemark"
gcc -O2 -Wall -Wextra -I"$here/lttng" "$here/lttng/app.c" "$here/lttng/tp.c" -o "$work/app" -llttng-ust -ldl -lpthread

# --- the same events, twice ----------------------------------------------------------------------
lttng_start_daemon
note "recording $events events through LTTng-UST"
# Blocking channels: the program waits for the consumer instead of discarding events.
lttng_record "$work/ctf" 'tmk:*' "" --subbuf-size=8M --num-subbuf=8 --blocking-timeout=inf -- "$work/app" "$events" 2
lttng_expect "$work/ctf" "$events"

note "writing the same $events events with the tracemark writer (wide and narrow record headers)"
"$readbench" write "$work/tmk" "$events" 2 >/dev/null
"$readbench" write "$work/tmk-narrow" "$events" 2 65536 37 narrow >/dev/null

note "checking that both traces hold the same events"
babeltrace2 "$work/ctf" 2>/dev/null \
    | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^tmk:/) { sub(/^tmk:/, "", $i); sub(/:$/, "", $i); n[$i]++; break } }
           END { for (k in n) print k, n[k] }' | sort > "$work/ctf.names"
"$readbench" names "$work/tmk" | sort > "$work/tmk.names"
"$readbench" names "$work/tmk-narrow" | sort > "$work/tmk-narrow.names"
if ! cmp -s "$work/ctf.names" "$work/tmk.names" || ! cmp -s "$work/tmk.names" "$work/tmk-narrow.names"; then
    echo "CTF:"; cat "$work/ctf.names"; echo "tracemark:"; cat "$work/tmk.names"
    echo "tracemark, narrow headers:"; cat "$work/tmk-narrow.names"
    die "the traces do not hold the same events"
fi
total=$(awk '{ s += $2 } END { print s }' "$work/tmk.names")
[ "$total" = "$events" ] || die "expected $events events, found $total"
sed 's/^/   /' "$work/tmk.names"
ctf_bytes=$(du -sb "$work/ctf" | cut -f1)
tmk_bytes=$(du -sb "$work/tmk" | cut -f1)
narrow_bytes=$(du -sb "$work/tmk-narrow" | cut -f1)
awk -v e="$events" -v c="$ctf_bytes" -v w="$tmk_bytes" -v n="$narrow_bytes" 'BEGIN {
    printf "   sizes: CTF (LTTng) %d bytes (%.2f B/event), tracemark %d (%.2f), narrow headers %d (%.2f)\n", c, c / e, w, w / e, n, n / e
    printf "  [%s] bytes per event at most LTTng'"'"'s CTF (narrow headers): %.2f against %.2f\n", (n <= c ? "met    " : "NOT met"), n / e, c / e }'

# --- timing ---------------------------------------------------------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# time_runs NAME CMD...: runs CMD $runs times; writes NAME.wall and NAME.cpu (one value per run).
time_runs() {
    local name=$1; shift
    : > "$work/$name.wall"; : > "$work/$name.cpu"
    for _ in $(seq "$runs"); do
        /usr/bin/time -f '%e %U %S %M' -o "$work/time.out" "$@" > "$work/$name.out" 2>/dev/null
        # Every tracemark run must have read every event (babeltrace2's were counted above).
        if grep -q 'events=' "$work/$name.out" && ! grep -q " events=$events " "$work/$name.out"; then
            die "$name read $(grep -o 'events=[0-9]*' "$work/$name.out"), expected $events"
        fi
        read -r wall user sys rss < "$work/time.out"
        echo "$wall" >> "$work/$name.wall"
        awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }' >> "$work/$name.cpu"
        echo "$rss" > "$work/$name.rss"
    done
}

note "timing ($runs runs each, medians; machine load: $(cut -d' ' -f1-3 /proc/loadavg))"
[ "$profile" = release ] || echo "   (readbench is a debug build: these timings say nothing about speed)"
time_runs babeltrace2 babeltrace2 "$work/ctf" -o dummy
time_runs dynamic "$readbench" dynamic "$work/tmk"
time_runs dynamic-pipelined "$readbench" dynamic-pipelined "$work/tmk"
time_runs dynamic-dispatch "$readbench" dynamic-dispatch "$work/tmk"
time_runs typed "$readbench" typed "$work/tmk"
time_runs typed-1-thread "$readbench" typed "$work/tmk" 0
time_runs typed-streams "$readbench" typed-streams "$work/tmk"
time_runs count "$readbench" count "$work/tmk"
time_runs dynamic-narrow "$readbench" dynamic "$work/tmk-narrow"
time_runs count-narrow "$readbench" count "$work/tmk-narrow"

bt_wall=$(median < "$work/babeltrace2.wall")
bt_cpu=$(median < "$work/babeltrace2.cpu")
printf '\n%-18s %10s %10s %9s %9s %11s %10s\n' reader "Mevents/s" "MB/s" "wall s" "cpu s" "x bt2 wall" "x bt2 cpu"
row() {
    local name=$1 bytes=$2 wall cpu
    wall=$(median < "$work/$name.wall")
    cpu=$(median < "$work/$name.cpu")
    awk -v n="$name" -v e="$events" -v b="$bytes" -v w="$wall" -v c="$cpu" -v bw="$bt_wall" -v bc="$bt_cpu" 'BEGIN {
        w = (w > 0 ? w : 0.005); c = (c > 0 ? c : 0.005)
        printf "%-18s %10.2f %10.1f %9.3f %9.2f %11.1f %10.1f\n", n, e / w / 1e6, b / w / 1e6, w, c, bw / w, bc / c }'
}
row babeltrace2 "$ctf_bytes"
for mode in dynamic dynamic-pipelined dynamic-dispatch typed typed-1-thread typed-streams count; do
    row "$mode" "$tmk_bytes"
done
row dynamic-narrow "$narrow_bytes"
row count-narrow "$narrow_bytes"
echo "   (CTF trace $ctf_bytes bytes, tracemark trace $tmk_bytes bytes, $narrow_bytes with narrow headers,"
echo "    $events events; times are whole processes, open included; /usr/bin/time has 10 ms resolution)"

# --- text -----------------------------------------------------------------------------------------
note "text: babeltrace2 TRACE against tracemark dump TRACE, to /dev/null ($runs runs each)"
dump_lines=$("$tracemark" dump "$work/tmk" 2>/dev/null | wc -l)
[ "$dump_lines" = "$events" ] || die "tracemark dump printed $dump_lines lines, expected $events"
# babeltrace2's text was counted line by line above (the events per name).
time_runs babeltrace2-text sh -c 'exec babeltrace2 "$1" > /dev/null 2>&1' text "$work/ctf"
time_runs dump-text sh -c 'exec "$1" dump "$2" > /dev/null 2>&1' text "$tracemark" "$work/tmk"
text_bt=$(median < "$work/babeltrace2-text.wall")
text_ours=$(median < "$work/dump-text.wall")
awk -v e="$events" -v bt="$text_bt" -v ours="$text_ours" -v release="$([ "$profile" = release ] && echo 1 || echo 0)" 'BEGIN {
    bt = (bt > 0 ? bt : 0.005); ours = (ours > 0 ? ours : 0.005)
    printf "   babeltrace2 text %.3f s, tracemark dump %.3f s (%.2f M lines/s): %.1fx\n", bt, ours, e / ours / 1e6, bt / ours
    if (release) printf "  [%s] dump text >= 15x babeltrace2 text: %.1fx\n", (bt / ours >= 15 ? "met    " : "NOT met"), bt / ours }'
# Dynamic iteration in time order: the faster of the iterator alone and with decoding workers
# (`Trace::with_events`); typed binding in time order: the dispatcher. `typed-streams` (no order
# across streams) is reported beside them, not against the time-ordered target.
if [ "$profile" = release ]; then
    dynamic_best=$(printf '%s\n%s\n' "$(median < "$work/dynamic.wall")" "$(median < "$work/dynamic-pipelined.wall")" | sort -g | head -1)
    dynamic_cpu_best=$(printf '%s\n%s\n' "$(median < "$work/dynamic.cpu")" "$(median < "$work/dynamic-pipelined.cpu")" | sort -g | head -1)
    awk -v bw="$bt_wall" -v bc="$bt_cpu" -v d="$dynamic_best" -v dc="$dynamic_cpu_best" \
        -v t="$(median < "$work/typed.wall")" -v s="$(median < "$work/typed-streams.wall")" \
        -v c="$(median < "$work/count.wall")" 'BEGIN {
        d = (d > 0 ? d : 0.005); dc = (dc > 0 ? dc : 0.005); t = (t > 0 ? t : 0.005)
        s = (s > 0 ? s : 0.005); c = (c > 0 ? c : 0.005)
        verdict = "NOT met"
        printf "issue 23 targets (ratios to babeltrace2 -o dummy, medians of this run):\n"
        printf "  [%s] dynamic iteration in time order >= 20x by wall time: %.1fx\n", (bw / d >= 20 ? "met    " : verdict), bw / d
        printf "  [%s] ... and >= 10x by CPU time: %.1fx\n", (bc / dc >= 10 ? "met    " : verdict), bc / dc
        printf "  [%s] typed binding in time order >= 20x: %.1fx\n", (bw / t >= 20 ? "met    " : verdict), bw / t
        printf "  [%s] counting >= 40x: %.1fx\n", (bw / c >= 40 ? "met    " : verdict), bw / c
        printf "  (typed binding per stream, no order across streams: %.1fx; RSS < 16 MB on a 1 GB trace: below)\n", bw / s }'
fi

# --- resident memory ------------------------------------------------------------------------------
note "resident memory against trace size"
small_events=$((rss_events / 10))
for n in "$small_events" "$rss_events"; do
    rm -rf "$work/rss"
    "$readbench" write "$work/rss" "$n" 2 >/dev/null
    size=$(du -sb "$work/rss" | cut -f1)
    for mode in dynamic typed count; do
        /usr/bin/time -f '%M' -o "$work/time.out" "$readbench" "$mode" "$work/rss" > "$work/rss.out"
        awk -v m="$mode" -v s="$size" -v r="$(cat "$work/time.out")" 'BEGIN {
            printf "   %-8s %8.1f MB trace: peak RSS %6.1f MB%s\n", m, s / 1e6, r / 1024, (s > 9e8 ? (r / 1024 < 16 ? " (target < 16 MB: met)" : " (target < 16 MB: NOT met)") : "") }'
    done
done
rm -rf "$work/rss"
