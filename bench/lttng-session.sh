# Sourced by every script that records with LTTng-UST (ctf/ci.sh, ctf/bench/ctf-compare.sh,
# reader/bench/babeltrace-compare.sh, writer/bench/lttng-compare.sh): installing the tools,
# starting the session daemon and waiting until it answers, recording with the program waiting
# for its registration (so that no event goes unrecorded because the daemon was still starting),
# and checking what LTTng recorded before anything is compared with it. The caller sets `work`
# (a scratch directory) and `keep` (1 keeps it), and defines `die` and `note`.

session=""
sessiond_pid=""

# Destroys the session and stops the session daemon this script started; removes $work unless
# $keep is 1. Installed as the EXIT trap by lttng_setup.
lttng_cleanup() {
    if [ -n "$session" ]; then lttng destroy "$session" >/dev/null 2>&1 || true; fi
    if [ -n "$sessiond_pid" ]; then kill "$sessiond_pid" 2>/dev/null || true; fi
    if [ "$keep" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}

# lttng_setup PACKAGE...: installs lttng-tools, liblttng-ust-dev, gcc and the given Debian
# packages when a command or the UST header is missing (root only), then checks for root.
# `python3-bt2` is checked by importing bt2 with Debian's python3; `time` by /usr/bin/time.
lttng_setup() {
    trap lttng_cleanup EXIT
    local missing=0 package
    dpkg -L liblttng-ust-dev 2>/dev/null | grep -q '/lttng/tracepoint.h$' || missing=1
    command -v lttng-sessiond >/dev/null && command -v gcc >/dev/null || missing=1
    for package in "$@"; do
        case "$package" in
            python3-bt2) /usr/bin/python3 -c 'import bt2' 2>/dev/null || missing=1 ;;
            time) [ -x /usr/bin/time ] || missing=1 ;;
            *) command -v "$package" >/dev/null || missing=1 ;;
        esac
    done
    if [ "$missing" = 1 ]; then
        [ "$(id -u)" = 0 ] || die "needs lttng-tools liblttng-ust-dev gcc $* (apt-get install them as root)"
        note "installing lttng-tools liblttng-ust-dev gcc $*"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends lttng-tools liblttng-ust-dev gcc libc6-dev "$@" >/dev/null
    fi
    [ "$(id -u)" = 0 ] || die "lttng-sessiond must run as root here"
}

# Starts the session daemon unless one runs (or once one that was stopping has gone), and waits
# until it answers (up to 10 s). The one started here is stopped at exit.
lttng_start_daemon() {
    local _
    for _ in $(seq 100); do
        lttng list >/dev/null 2>&1 && return 0
        if ! pgrep -x lttng-sessiond >/dev/null; then
            lttng-sessiond --daemonize
            # The daemon, not its run-as helper (a child of the same name).
            sessiond_pid=$(pgrep -ox lttng-sessiond || true)
        fi
        sleep 0.1
    done
    die "lttng-sessiond does not answer"
}

# lttng_expect TRACE N: dies unless babeltrace2 reads exactly N events from the LTTng trace
# TRACE and no discarded events: a comparison with LTTng is only as good as LTTng's recording
# of every event (tracepoints not yet enabled, or full buffers, make it look free).
lttng_expect() {
    local trace=$1 expected=$2 counted discarded
    babeltrace2 "$trace" -c sink.utils.counter > "$work/lttng-counter.out" 2>/dev/null ||
        die "babeltrace2 cannot read the LTTng trace $trace"
    counted=$(awk '/ Event messages/ {print $1}' "$work/lttng-counter.out" | tail -1)
    discarded=$(awk '/ Discarded event messages/ {print $1}' "$work/lttng-counter.out" | tail -1)
    [ "${discarded:-0}" = 0 ] || die "LTTng discarded events ($discarded discarded-events messages)"
    [ "$counted" = "$expected" ] ||
        die "LTTng recorded ${counted:-no} events, expected $expected: the comparison would be meaningless"
    note "LTTng recorded all $expected events (babeltrace2 counted them), none discarded"
}

# lttng_record OUTDIR EVENTS CONTEXTS CHANNEL-OPTIONS... -- COMMAND...: records COMMAND's
# user space events matching EVENTS (with the comma-separated CONTEXTS, or "" for none) into
# OUTDIR through one channel.
lttng_record() {
    local out=$1 events=$2 contexts=$3 context
    shift 3
    local options=()
    while [ "$1" != "--" ]; do options+=("$1"); shift; done
    shift
    session="tracemark-$(basename "$out")-$$"
    lttng create "$session" --output="$out" >/dev/null
    lttng enable-channel -s "$session" -u ch "${options[@]}" >/dev/null
    lttng enable-event -s "$session" -u -c ch "$events" >/dev/null
    for context in ${contexts//,/ }; do
        lttng add-context -s "$session" -u -c ch -t "$context" >/dev/null
    done
    lttng start "$session" >/dev/null
    LTTNG_UST_ALLOW_BLOCKING=1 LTTNG_UST_REGISTER_TIMEOUT=-1 "$@"
    lttng stop "$session" >/dev/null
    lttng destroy "$session" >/dev/null
    session=""
}
