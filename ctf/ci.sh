#!/usr/bin/env bash
# The CTF import oracle: real LTTng-UST traces read by babeltrace2 and by tracemark.
#
# Records two traces through LTTng-UST with the `tmkimport` provider (ctf/tests/lttng: every
# field kind LTTng-UST writes, from two threads, with the vtid and procname contexts): one in
# blocking mode (nothing lost), one into two 4 KiB sub-buffers (events discarded). For each, it
# checks that `tracemark dump --json` on the CTF directory gives exactly the events babeltrace2's
# Python bindings read (compare.py: every field value, nanosecond timestamps, CPUs) and the same
# discarded-event count, and that `tracemark convert --from ctf` writes a trace `tracemark check`
# finds valid, with the same events.
#
# usage: ctf/ci.sh [--rounds N] [--keep]     (N rounds of 5 events; default 20000)
# Needs root (lttng-sessiond); installs lttng-tools, liblttng-ust-dev, babeltrace2, python3-bt2
# and gcc with apt-get when missing. Honours CARGO_TARGET_DIR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
rounds=20000
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done

die() { echo "ctf/ci.sh: $*" >&2; exit 1; }
note() { printf '== %s\n' "$*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tracemark-ctf-XXXXXX")
session=""
sessiond_pid=""
cleanup() {
    if [ -n "$session" ]; then lttng destroy "$session" >/dev/null 2>&1 || true; fi
    if [ -n "$sessiond_pid" ]; then kill "$sessiond_pid" 2>/dev/null || true; fi
    if [ "$keep" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

ust_header=$(dpkg -L liblttng-ust-dev 2>/dev/null | grep -m1 '/lttng/tracepoint.h$' || true)
if ! command -v babeltrace2 >/dev/null || ! command -v lttng-sessiond >/dev/null || [ -z "$ust_header" ] \
    || ! command -v gcc >/dev/null || ! /usr/bin/python3 -c 'import bt2' 2>/dev/null; then
    [ "$(id -u)" = 0 ] || die "needs lttng-tools liblttng-ust-dev babeltrace2 python3-bt2 gcc (apt-get install them as root)"
    note "installing lttng-tools liblttng-ust-dev babeltrace2 python3-bt2 gcc"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends lttng-tools liblttng-ust-dev babeltrace2 python3-bt2 gcc libc6-dev >/dev/null
fi
[ "$(id -u)" = 0 ] || die "lttng-sessiond must run as root here"

note "building tracemark and the LTTng-UST program"
(cd "$root" && cargo build --release --locked -q -p tracemark)
tracemark="${CARGO_TARGET_DIR:-$root/target}/release/tracemark"
gcc -O2 -Wall -Wextra -I"$here/tests/lttng" "$here/tests/lttng/app.c" "$here/tests/lttng/tp.c" \
    -o "$work/app" -llttng-ust -ldl -lpthread -lm

if ! pgrep -x lttng-sessiond >/dev/null; then
    lttng-sessiond --daemonize
    sessiond_pid=$(pgrep -nx lttng-sessiond || true)
fi
# The session daemon takes a moment to accept clients: wait until `lttng list` answers.
for _ in $(seq 50); do lttng list >/dev/null 2>&1 && break; sleep 0.1; done

# record NAME CHANNEL-OPTIONS...: $rounds rounds from two threads into $work/NAME.
record() {
    local name=$1; shift
    session="tracemark-ctf-$name-$$"
    lttng create "$session" --output="$work/$name" >/dev/null
    lttng enable-channel -s "$session" -u ch "$@" >/dev/null
    lttng enable-event -s "$session" -u -c ch 'tmkimport:*' >/dev/null
    lttng add-context -s "$session" -u -c ch -t vtid -t procname >/dev/null
    lttng start "$session" >/dev/null
    LTTNG_UST_ALLOW_BLOCKING=1 LTTNG_UST_REGISTER_TIMEOUT=-1 "$work/app" "$rounds" 2
    lttng stop "$session" >/dev/null
    lttng destroy "$session" >/dev/null
    session=""
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
note "CTF import oracle: passed"
