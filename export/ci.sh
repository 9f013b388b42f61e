#!/usr/bin/env bash
# export/ci.sh [TRACE...] - interoperability checks that need outside tools: installs
# babeltrace2 (Debian package) if missing, then runs
#   - the CTF oracle: babeltrace2 reads `tracemark convert --to ctf` output and must print the
#     same events as `tracemark dump` (demo traces, every-type traces, a lossy trace, every
#     valid conformance vector, and the TRACE arguments, e.g. the C probe's traces);
#   - the Chrome JSON, stats and live-follow tests of the CLI (and its other tests);
#   - the C API: a C program linked with libtracemark_capi.a prints what `tracemark dump`
#     prints; the cbindgen header is current.
# Debug builds, as `cargo test --workspace` leaves them. Environment: TRACEMARK_NO_APT=1 fails
# instead of installing.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

if ! command -v babeltrace2 >/dev/null; then
	if [ "${TRACEMARK_NO_APT:-0}" = 1 ]; then
		echo "babeltrace2 is missing (apt-get install -y babeltrace2)" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends babeltrace2 >/dev/null
fi
babeltrace2 --version | head -n 1
command -v "${CC:-cc}" >/dev/null || { echo "a C compiler is needed for the C API test" >&2; exit 1; }

extra=""
for trace in "$@"; do
	extra="${extra:+$extra:}$(cd "$(dirname "$trace")" && pwd)/$(basename "$trace")"
done

# One cargo invocation (one feature resolution, no rebuild between two). --nocapture: the
# oracle prints one line per trace it compared.
TRACEMARK_REQUIRE_BABELTRACE=1 TRACEMARK_ORACLE_TRACES="$extra" \
	cargo test --locked -p tracemark -p tracemark-export -p tracemark-capi -- --nocapture
echo "export/ci.sh: done in $((SECONDS - started)) s"
