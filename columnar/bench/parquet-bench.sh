#!/usr/bin/env bash
# Measures `tracemark convert --to parquet` on the realistic workload (reader/bench/realistic.rs:
# sched_switch, read(2) entry and exit, a string-carrying marker; two streams), written by the
# tracemark writer (`readbench write`): events/s and MB/s of the conversion (median of R whole
# runs, wall and CPU), its peak resident set, bytes of Parquet per event against the trace's,
# and, for scale, DuckDB counting events per CPU over the Parquet tables against
# `tracemark stats` on the trace. Every run's output is checked to hold all N events.
#
# usage: columnar/bench/parquet-bench.sh [--smoke] [--events N] [--runs R] [--keep]
#   --smoke   100 000 events, 3 runs: a check that the script works; timings mean nothing
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
events=10000000
runs=5
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--smoke) events=100000; runs=3 ;;
	--events) events=$2; shift ;;
	--runs) runs=$2; shift ;;
	--keep) keep=1 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
python=${PYTHON:-python3}
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
"$python" -c 'import duckdb' 2>/dev/null || "$python" -m pip install -q --disable-pip-version-check 'duckdb>=2,<3'

(cd "$root" && cargo build --release --locked -q -p tracemark -p tracemark-reader --example readbench)
target=${CARGO_TARGET_DIR:-$root/target}
tracemark=$target/release/tracemark
readbench=$target/release/examples/readbench
work=$(mktemp -d)
[ "$keep" = 1 ] && echo "work directory: $work" || trap 'rm -rf "$work"' EXIT

"$readbench" write "$work/trace" "$events" 2 >/dev/null
trace_bytes=$(du -sb "$work/trace" | cut -f1)
echo "trace: $events realistic events, $trace_bytes bytes ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
: > "$work/wall"; : > "$work/cpu"; : > "$work/rss"
for run in $(seq "$runs"); do
	rm -rf "$work/parquet"
	/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$tracemark" convert --to parquet "$work/trace" "$work/parquet" 2>"$work/log"
	read -r wall user sys rss < "$work/time"
	echo "$wall" >> "$work/wall"
	awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }' >> "$work/cpu"
	echo "$rss" >> "$work/rss"
	written=$(grep -o 'wrote .*: [0-9]* events' "$work/log" | grep -o '[0-9]* events' | cut -d' ' -f1)
	[ "$written" = "$events" ] || { echo "run $run wrote $written events, not $events" >&2; cat "$work/log" >&2; exit 1; }
done
wall=$(median < "$work/wall"); cpu=$(median < "$work/cpu"); rss=$(median < "$work/rss")
parquet_bytes=$(du -sb "$work/parquet" | cut -f1)
awk -v n="$events" -v w="$wall" -v c="$cpu" -v r="$rss" -v t="$trace_bytes" -v p="$parquet_bytes" 'BEGIN {
	printf "convert --to parquet: median of %s runs: %.2f s wall (%.2f M events/s, %.0f MB/s of trace), %.2f s CPU, peak RSS %.0f MB\n", '"$runs"', w, n / w / 1e6, t / w / 1e6, c, r / 1024
	printf "size: tracemark %.1f B/event, Parquet (zstd 1) %.1f B/event (%.2fx smaller)\n", t / n, p / n, t / p
}'

# For scale: the same question (events per CPU) asked of each form.
stats_time=$( { /usr/bin/time -f '%e' "$tracemark" stats --json "$work/trace" >/dev/null; } 2>&1 | tail -1)
duck_time=$("$python" - "$work/parquet" <<'PY'
import duckdb, sys, time
start = time.perf_counter()
duckdb.connect().execute(f"SELECT cpu, count(*) FROM read_parquet('{sys.argv[1]}/events/*/*.parquet', union_by_name=true) GROUP BY cpu").fetchall()
print(f"{time.perf_counter() - start:.2f}")
PY
)
echo "events per CPU: tracemark stats on the trace ${stats_time} s, DuckDB on the Parquet tables ${duck_time} s (one run each)"
