/* LTTng-UST tracepoint provider with the fields of writer/examples/ring_bench.rs's events. */
#undef TRACEPOINT_PROVIDER
#define TRACEPOINT_PROVIDER tmkbench

#undef TRACEPOINT_INCLUDE
#define TRACEPOINT_INCLUDE "./tmkbench_tp.h"

#if !defined(TMKBENCH_TP_H) || defined(TRACEPOINT_HEADER_MULTI_READ)
#define TMKBENCH_TP_H

#include <stdint.h>
#include <lttng/tracepoint.h>

/* Three integers: i32, i64, u64 (ours: `Ints { a: i32, b: i64, c: u64 }`). */
TRACEPOINT_EVENT(tmkbench, ints,
	TP_ARGS(int32_t, a, int64_t, b, uint64_t, c),
	TP_FIELDS(
		ctf_integer(int32_t, a, a)
		ctf_integer(int64_t, b, b)
		ctf_integer(uint64_t, c, c)
	)
)

/* A 16-byte string: 15 characters and the NUL (ours: `Str16 { s: &str }`). */
TRACEPOINT_EVENT(tmkbench, str16,
	TP_ARGS(const char *, s),
	TP_FIELDS(
		ctf_string(s, s)
	)
)

#endif /* TMKBENCH_TP_H */

#include <lttng/tracepoint-event.h>
