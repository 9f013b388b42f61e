#!/usr/bin/env bash
# conformance/check-probe.sh OUTDIR
#
# Runs `tracemark check` on every trace directory probe/ci.sh left in OUTDIR (native, s390x,
# armhf, powerpc, kmod): every rule of the specification, and, where the C harness left an
# expected.jsonl beside the trace, its events compared one by one with what the Rust reader
# decodes. Exits 1 if any trace is invalid or differs, 2 if OUTDIR holds no trace.
set -euo pipefail

out=${1:?usage: conformance/check-probe.sh OUTDIR}
cd "$(dirname "$0")/.."
cargo build --release --locked -q -p tracemark
# Built once; run directly so that every directory is checked by the same binary.
bin=${CARGO_TARGET_DIR:-target}/release/tracemark

checked=0
failed=0
for dir in "$out"/*/; do
	dir=${dir%/}
	[ -f "$dir/metadata" ] || continue
	args=(check --quiet "$dir")
	[ -f "$dir/expected.jsonl" ] && args+=(--expected "$dir/expected.jsonl")
	echo "+ tracemark ${args[*]}"
	if ! "$bin" "${args[@]}"; then
		failed=$((failed + 1))
	fi
	checked=$((checked + 1))
done
if [ "$checked" -eq 0 ] || [ ! -d "$out/native" ]; then
	echo "check-probe: no probe trace directories (native at least) in $out" >&2
	exit 2
fi
echo "check-probe: $checked trace directories checked, $failed failed"
[ "$failed" -eq 0 ]
