/* LTTng-UST tracepoint provider mirroring the realistic workload of ../realistic.rs: the same
 * four events with the same field types, so babeltrace2 decodes what tracemark decodes. */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER tmk

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./tp.h"

#if !defined(TMK_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define TMK_TP_H

#include <lttng/tracepoint.h>
#include <stddef.h>
#include <sys/types.h>

LTTNG_UST_TRACEPOINT_EVENT(tmk, syscall_entry_read,
	LTTNG_UST_TP_ARGS(unsigned int, fd, unsigned long, buf, size_t, count),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(unsigned int, fd, fd)
		lttng_ust_field_integer_hex(unsigned long, buf, buf)
		lttng_ust_field_integer(size_t, count, count)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(tmk, syscall_exit_read,
	LTTNG_UST_TP_ARGS(ssize_t, ret),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(ssize_t, ret, ret)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(tmk, sched_switch,
	LTTNG_UST_TP_ARGS(const char *, prev_comm, int, prev_tid, int, prev_prio, long, prev_state,
		const char *, next_comm, int, next_tid, int, next_prio),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_string(prev_comm, prev_comm)
		lttng_ust_field_integer(int, prev_tid, prev_tid)
		lttng_ust_field_integer(int, prev_prio, prev_prio)
		lttng_ust_field_integer(long, prev_state, prev_state)
		lttng_ust_field_string(next_comm, next_comm)
		lttng_ust_field_integer(int, next_tid, next_tid)
		lttng_ust_field_integer(int, next_prio, next_prio)
	)
)

/* The string-carrying marker: tracemark's `app_log` marker, format "level %d msg %s". */
LTTNG_UST_TRACEPOINT_EVENT(tmk, app_log,
	LTTNG_UST_TP_ARGS(int, level, const char *, msg),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(int, level, level)
		lttng_ust_field_string(msg, msg)
	)
)

#endif /* TMK_TP_H */

#include <lttng/tracepoint-event.h>
