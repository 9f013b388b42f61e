#!/bin/bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# probe/ci.sh OUTDIR - build and test the C probe writer.
#
# Leaves trace directories (§9.1) in OUTDIR/{native,s390x,armhf,powerpc,
# kmod}, each but kmod with the harness's expected.jsonl beside the trace
# files.  Every trace is decoded by probe/tools/tmkdecode.py and compared
# with expected.jsonl.  OUTDIR/overwrite is a flight-recorder (overwrite
# mode) snapshot trace with written.jsonl, checked by
# tools/check_overwrite.py (its sequence gaps are intended, §10.2).
# Exits non-zero on the first failure.
#
# Environment:
#   TMK_SKIP_KMOD=1   skip the kernel module build and qemu boot test
#   TMK_NO_APT=1      do not install packages (fail if missing)
#   TMK_RUST_CHECK=1  also decode with the Rust tracemark-reader (needs cargo)
#                     and compare field by field with expected.jsonl, and run
#                     the Rust binding's tests (cargo test -p tracemark-probe)
set -euo pipefail

OUT=${1:?usage: probe/ci.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
START=$(date +%s)

run() {
	echo "+ $*"
	"$@"
}

step() {
	echo
	echo "=== $* ($(($(date +%s) - START)) s)"
}

# ---- packages (idempotent) ----------------------------------------------------
PKGS="gcc make python3 qemu-user-static
      gcc-s390x-linux-gnu libc6-dev-s390x-cross
      gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
      gcc-powerpc-linux-gnu libc6-dev-powerpc-cross"
[ -n "${TMK_SKIP_KMOD:-}" ] || PKGS="$PKGS linux-image-cloud-amd64
      linux-headers-cloud-amd64 qemu-system-x86 busybox-static cpio"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	step "installing:$missing"
	[ -z "${TMK_NO_APT:-}" ] || { echo "missing packages:$missing" >&2; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	run apt-get update -qq
	# shellcheck disable=SC2086
	run apt-get install -y -qq --no-install-recommends $missing
fi

DECODE="python3 $HERE/tools/tmkdecode.py"
export TMK_TOOLS=$HERE/tools
MAKE_H="make -s -C $HERE/harness"

check_trace() {	# DIR: decode with no error, compare with expected.jsonl
	run $DECODE "$1" --summary
	run $DECODE "$1" --expected "$1/expected.jsonl"
}

# ---- native harness -------------------------------------------------------------
step "native harness"
run $MAKE_H
rm -rf "$OUT/native"
run "$HERE/build/native/harness" "$OUT/native"
check_trace "$OUT/native"

step "determinism: a second run is byte-identical"
rm -rf "$OUT/.native2"
run "$HERE/build/native/harness" "$OUT/.native2" > /dev/null
run diff -r "$OUT/native" "$OUT/.native2"
rm -rf "$OUT/.native2"

step "sanitizers: -fsanitize=address,undefined"
run $MAKE_H SAN=1
rm -rf "$OUT/.san"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	run "$HERE/build/native-san/harness" "$OUT/.san" > /dev/null
run diff -r "$OUT/native" "$OUT/.san"
rm -rf "$OUT/.san"

step "concurrency stress: threads + signal 'interrupts' on shared buffers"
run $MAKE_H stress
rm -rf "$OUT/.stress"
run "$HERE/build/native/stress" "$OUT/.stress"
run $DECODE "$OUT/.stress" --summary
run python3 "$HERE/tools/check_stress.py" "$OUT/.stress"
rm -rf "$OUT/.stress"
run $MAKE_H SAN=1 stress
rm -rf "$OUT/.stress"
run "$HERE/build/native-san/stress" "$OUT/.stress"
run python3 "$HERE/tools/check_stress.py" "$OUT/.stress"
rm -rf "$OUT/.stress"

# ---- overwrite (flight-recorder) mode -------------------------------------------------
step "overwrite mode: scripted flight recorder, snapshots"
CHECK_OW="python3 $HERE/tools/check_overwrite.py"
rm -rf "$OUT/overwrite" "$OUT/.overwrite2"
run "$HERE/build/native/harness" --overwrite "$OUT/overwrite"
run $CHECK_OW "$OUT/overwrite"
run $CHECK_OW "$OUT/overwrite/mid" --partial
run "$HERE/build/native/harness" --overwrite "$OUT/.overwrite2" > /dev/null
run diff -r "$OUT/overwrite" "$OUT/.overwrite2"
rm -rf "$OUT/.overwrite2"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	run "$HERE/build/native-san/harness" --overwrite "$OUT/.overwrite-san" > /dev/null
run diff -r "$OUT/overwrite" "$OUT/.overwrite-san"
rm -rf "$OUT/.overwrite-san"

step "overwrite mode: stress, live snapshots while writers and 'interrupts' run"
for build in native native-san; do
	rm -rf "$OUT/.stress-ow"
	run "$HERE/build/$build/stress" --overwrite "$OUT/.stress-ow"
	run $CHECK_OW "$OUT/.stress-ow"
	for mid in "$OUT/.stress-ow"/mid-*; do
		[ -d "$mid" ] && run $CHECK_OW "$mid" --partial
	done
	rm -rf "$OUT/.stress-ow"
done

# ---- foreign ABIs under qemu-user ---------------------------------------------------
for spec in s390x:s390x-linux-gnu:s390x armhf:arm-linux-gnueabihf:arm \
            powerpc:powerpc-linux-gnu:ppc; do
	IFS=: read -r name triple qarch <<< "$spec"
	step "$name ($triple) under qemu-$qarch-static"
	run $MAKE_H CROSS="$triple-"
	rm -rf "${OUT:?}/$name"
	run "qemu-$qarch-static" -L "/usr/$triple" "$HERE/build/$triple/harness" \
		"$OUT/$name"
	check_trace "$OUT/$name"
	rm -rf "$OUT/.overwrite-$name"
	run "qemu-$qarch-static" -L "/usr/$triple" "$HERE/build/$triple/harness" \
		--overwrite "$OUT/.overwrite-$name" > /dev/null
	run $CHECK_OW "$OUT/.overwrite-$name"
	rm -rf "$OUT/.overwrite-$name"
done

# ---- kernel module + boot test -----------------------------------------------------------
if [ -z "${TMK_SKIP_KMOD:-}" ]; then
	step "kernel module + qemu boot test"
	run "$HERE/boot-test.sh" "$OUT/kmod"
	run $DECODE "$OUT/kmod" --summary
	run $DECODE "$OUT/kmod" -q
	# Every probe fired at least once.
	$DECODE "$OUT/kmod" | python3 -c '
import collections, json, sys
c = collections.Counter(json.loads(l)["name"] for l in sys.stdin)
print(dict(c))
want = ["sched_switch", "sched_process_fork", "sched_process_exec",
        "sched_process_exit", "irq_handler_entry", "irq_handler_exit",
        "sys_enter", "sys_exit", "tracemark_debug"]
missing = [w for w in want if not c[w]]
if missing:
    sys.exit("kmod trace lacks events: %s" % missing)
'

	step "kernel module, tiny buffers: discards in the trace == kernel's counters"
	rm -rf "$OUT/.kmod-small"*
	TMK_KMOD_PARAMS="subbuf_size=4096 nr_subbufs=2" \
		run "$HERE/boot-test.sh" "$OUT/.kmod-small"
	run $DECODE "$OUT/.kmod-small" --summary
	run python3 - "$OUT/.kmod-small" <<'EOF'
import os, re, sys
sys.path.insert(0, os.environ["TMK_TOOLS"])
import tmkdecode
d, events, stats = tmkdecode.load(sys.argv[1])
got = {int(re.search(r"-(\d+)\.tmk$", s["name"]).group(1)): s["discarded"] for s in stats}
kern = {int(m.group(1)): int(m.group(2)) for m in re.finditer(
    r"cpu (\d+): (\d+) events discarded", open(sys.argv[1] + ".dmesg.txt").read())}
print("trace:", got, "kernel:", kern)
if d.errors or not kern or any(got.get(c, 0) != n for c, n in kern.items()):
    sys.exit("discard accounting mismatch")
EOF
	rm -rf "$OUT/.kmod-small"*
fi

# ---- optional: the Rust reader decodes the same values --------------------------------
if [ -n "${TMK_RUST_CHECK:-}" ]; then
	step "Rust tracemark-reader cross-check (tools/reader-json)"
	run cargo build -q --manifest-path "$HERE/tools/reader-json/Cargo.toml"
	RJ=$HERE/tools/reader-json/target/debug/tmk-reader-json
	for name in native s390x armhf powerpc; do
		echo "+ $RJ $OUT/$name > $OUT/.rust-$name.jsonl"
		"$RJ" "$OUT/$name" > "$OUT/.rust-$name.jsonl" 2> /dev/null
		run python3 - "$OUT/.rust-$name.jsonl" "$OUT/$name/expected.jsonl" <<'EOF'
import json, os, sys
sys.path.insert(0, os.environ["TMK_TOOLS"])
import tmkdecode
events = [json.loads(line) for line in open(sys.argv[1])]
sys.exit(1 if tmkdecode.compare(events, sys.argv[2]) else 0)
EOF
		rm -f "$OUT/.rust-$name.jsonl"
	done
	if [ -d "$OUT/kmod" ]; then
		run "$RJ" "$OUT/kmod" > /dev/null
	fi
	step "Rust binding of the C core (probe/rust): cargo test -p tracemark-probe"
	run cargo test -q --manifest-path "$HERE/../Cargo.toml" -p tracemark-probe
fi

step "all probe checks passed"
ls -l "$OUT"
