#!/usr/bin/env bash
# columnar/ci.sh [TRACE...] - `tracemark convert --to parquet` checked with a real query
# engine: installs DuckDB from PyPI if missing, converts the demo traces (native and foreign
# ABI), the LTTng CTF fixtures (a kernel trace with scheduler events, a UST trace with losses)
# and the TRACE arguments (e.g. the C probe's kernel-module trace), and has
# columnar/tests/duckdb_check.py compare DuckDB's answers (counts per table and CPU, time span,
# packets and losses, run time per task, wakeup latency by ASOF JOIN) with tracemark's; then
# two traces as partitions of one fleet directory, read across by DuckDB.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
python=${PYTHON:-python3}

if ! "$python" -c 'import duckdb' 2>/dev/null; then
	"$python" -m pip install -q --disable-pip-version-check 'duckdb>=2,<3'
fi
"$python" -c 'import duckdb; print("duckdb", duckdb.__version__)'

cargo build --release --locked -q -p tracemark
tracemark=$PWD/target/release/tracemark
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$tracemark" demo --threads 4 --iterations 5000 --show 0 "$work/demo" >/dev/null
"$tracemark" demo --foreign-abi --single-file --show 0 "$work/demo-ilp32-be.tmk" >/dev/null
traces=("$work/demo" "$work/demo-ilp32-be.tmk" ctf/tests/data/lttng-kernel-2.13 ctf/tests/data/lttng-ust-discarded "$@")
for index in "${!traces[@]}"; do
	trace=${traces[$index]}
	out="$work/parquet-$index"
	"$tracemark" convert --to parquet "$trace" "$out" 2>&1 | grep -v '^note:' || true
	"$python" columnar/tests/duckdb_check.py "$tracemark" "$trace" "$out"
done

# A fleet: two traces as partitions host=… of one directory, read across by DuckDB.
"$tracemark" convert --to parquet --partition host=native "$work/demo" "$work/fleet" 2>/dev/null
"$tracemark" convert --to parquet --partition host=ilp32-be "$work/demo-ilp32-be.tmk" "$work/fleet" 2>/dev/null
"$python" columnar/tests/duckdb_check.py --fleet "$tracemark" "$work/fleet" \
	"host=native:$work/demo" "host=ilp32-be:$work/demo-ilp32-be.tmk"
if "$tracemark" convert --to parquet --partition host=native "$work/demo" "$work/fleet" 2>/dev/null; then
	echo "columnar/ci.sh: a partition was exported twice" >&2
	exit 1
fi

# An output directory that holds files is refused, and left as it was.
if "$tracemark" convert --to parquet "$work/demo" "$work/parquet-0" 2>"$work/refused"; then
	echo "columnar/ci.sh: convert --to parquet wrote into a directory that was not empty" >&2
	exit 1
fi
grep -q 'not empty' "$work/refused"
echo "columnar/ci.sh: done in $((SECONDS - started)) s"
