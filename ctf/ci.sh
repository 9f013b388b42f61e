#!/usr/bin/env bash
# The CTF import oracle: real LTTng-UST traces read by babeltrace2 and by tracemark.
#
# Records two traces through LTTng-UST with the `tmkimport` provider (ctf/tests/lttng: every
# field kind LTTng-UST writes, from two threads, with the vtid and procname contexts): one in
# blocking mode (nothing lost), one into two 4 KiB sub-buffers (events discarded). For each, it
# checks that `tracemark dump --json` on the CTF directory gives exactly the events babeltrace2's
# Python bindings read (compare.py: every field value, nanosecond timestamps, CPUs) and the same
# discarded-event count, and that `tracemark convert --from ctf` writes a trace `tracemark check`
# finds valid, with the same events. Then the same checks on an LTTng kernel trace recorded
# inside the Debian cloud kernel booted under qemu (tests/lttng-kernel/record.sh: scheduler
# events and system calls with the tid and procname contexts).
#
# usage: ctf/ci.sh [--rounds N] [--no-kernel] [--keep]     (N rounds of 5 events; default 20000)
# Needs root (lttng-sessiond); installs lttng-tools, liblttng-ust-dev, babeltrace2, python3-bt2
# and gcc with apt-get when missing (../bench/lttng-session.sh). Honours CARGO_TARGET_DIR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
rounds=20000
kernel=1
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift ;;
        --no-kernel) kernel=0 ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done

die() { echo "ctf/ci.sh: $*" >&2; exit 1; }
note() { printf '== %s\n' "$*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tracemark-ctf-XXXXXX")
# shellcheck source=../bench/lttng-session.sh
. "$here/../bench/lttng-session.sh"
lttng_setup babeltrace2 python3-bt2

note "building tracemark and the LTTng-UST program"
(cd "$root" && cargo build --release --locked -q -p tracemark)
tracemark="${CARGO_TARGET_DIR:-$root/target}/release/tracemark"
gcc -O2 -Wall -Wextra -I"$here/tests/lttng" "$here/tests/lttng/app.c" "$here/tests/lttng/tp.c" \
    -o "$work/app" -llttng-ust -ldl -lpthread -lm

lttng_start_daemon

# record NAME CHANNEL-OPTIONS...: $rounds rounds from two threads into $work/NAME, with the
# vtid and procname contexts.
record() {
    local name=$1; shift
    lttng_record "$work/$name" 'tmkimport:*' vtid,procname "$@" -- "$work/app" "$rounds" 2
}

# check NAME: babeltrace2 and tracemark on $work/NAME; then the converted trace.
check() {
    local name=$1 trace=$work/$1 discarded events
    "$tracemark" dump --json "$trace" > "$work/$name.jsonl" 2> "$work/$name.stderr"
    events=$(wc -l < "$work/$name.jsonl")
    [ "$events" -gt 0 ] || die "$name: tracemark read no event"
    "$tracemark" info "$trace" > "$work/$name.info" 2>/dev/null
    discarded=$(sed -n 's/^packets .*; \([0-9]*\) events discarded$/\1/p' "$work/$name.info")
    [ -n "$discarded" ] || die "$name: no discarded count in tracemark info"
    /usr/bin/python3 "$here/tests/lttng/compare.py" "$trace" "$work/$name.jsonl" "$discarded" \
        || die "$name: babeltrace2 and tracemark differ"
    "$tracemark" convert --from ctf "$trace" "$work/$name.tmk" 2> "$work/$name.convert" \
        || { cat "$work/$name.convert"; die "$name: convert --from ctf failed"; }
    "$tracemark" check --quiet "$work/$name.tmk" || die "$name: the converted trace is not valid"
    [ "$("$tracemark" dump --json "$work/$name.tmk" | wc -l)" = "$events" ] || die "$name: the converted trace lost events"
    sed 's/^/   /' "$work/$name.convert"
}

note "recording $((rounds * 5)) events, nothing lost (blocking channel)"
record whole --subbuf-size=256K --num-subbuf=8 --blocking-timeout=inf
check whole

note "recording $((rounds * 5)) events into two 4 KiB sub-buffers (events discarded)"
record lossy --subbuf-size=4K --num-subbuf=2
lossy_discarded() { sed -n 's/^packets .*; \([0-9]*\) events discarded$/\1/p' "$work/lossy.info"; }
check lossy
[ "$(lossy_discarded)" -gt 0 ] || echo "   (no event was discarded this time: the machine kept up)"
if [ "$kernel" = 1 ]; then
    note "recording an LTTng kernel trace inside the cloud kernel under qemu"
    bash "$here/tests/lttng-kernel/record.sh" "$work/kernel-session"
    mv "$work/kernel-session/kernel" "$work/kernel"
    check kernel
fi
note "CTF import oracle: passed"
