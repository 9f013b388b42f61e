/* LTTng-UST tracepoint provider for the CTF import oracle (ctf/ci.sh): every field kind
 * LTTng-UST 2.13 writes — integers of each size and signedness, hexadecimal, network byte
 * order, floats, strings, text arrays and sequences, integer arrays and sequences, enums with
 * ranges — so babeltrace2 and tracemark read the same values from the same CTF trace. */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER tmkimport

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./tp.h"

#if !defined(TMKIMPORT_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define TMKIMPORT_TP_H

#include <lttng/tracepoint.h>
#include <stddef.h>
#include <stdint.h>

LTTNG_UST_TRACEPOINT_ENUM(tmkimport, state,
	LTTNG_UST_TP_ENUM_VALUES(
		lttng_ust_field_enum_value("RUNNING", 0)
		lttng_ust_field_enum_value("SLEEPING", 1)
		lttng_ust_field_enum_range("BLOCKED", 2, 9)
		lttng_ust_field_enum_range("DEAD", 100, 200)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(tmkimport, integers,
	LTTNG_UST_TP_ARGS(int8_t, i8, uint8_t, u8, int16_t, i16, uint16_t, u16, int32_t, i32, uint32_t, u32,
		int64_t, i64, uint64_t, u64),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(int8_t, i8, i8)
		lttng_ust_field_integer(uint8_t, u8, u8)
		lttng_ust_field_integer(int16_t, i16, i16)
		lttng_ust_field_integer(uint16_t, u16, u16)
		lttng_ust_field_integer(int32_t, i32, i32)
		lttng_ust_field_integer(uint32_t, u32, u32)
		lttng_ust_field_integer(int64_t, i64, i64)
		lttng_ust_field_integer_hex(uint64_t, u64_hex, u64)
		lttng_ust_field_integer_network(uint32_t, u32_network, u32)
		lttng_ust_field_integer_network_hex(uint16_t, u16_network_hex, u16)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(tmkimport, floats,
	LTTNG_UST_TP_ARGS(float, f, double, d),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_float(float, single, f)
		lttng_ust_field_float(double, double_, d)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(tmkimport, texts,
	LTTNG_UST_TP_ARGS(const char *, s, const char *, comm, const char *, msg, size_t, len),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_string(name, s)
		lttng_ust_field_array_text(char, comm, comm, 16)
		lttng_ust_field_sequence_text(char, msg, msg, size_t, len)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(tmkimport, arrays,
	LTTNG_UST_TP_ARGS(const int32_t *, values, const uint16_t *, items, unsigned int, n),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_array(int32_t, fixed, values, 4)
		lttng_ust_field_sequence(uint16_t, items, items, unsigned int, n)
		lttng_ust_field_array_hex(int32_t, fixed_hex, values, 2)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(tmkimport, enums,
	LTTNG_UST_TP_ARGS(int, state, int, tid),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_enum(tmkimport, state, int, state, state)
		lttng_ust_field_integer(int, tid, tid)
	)
)

#endif /* TMKIMPORT_TP_H */

#include <lttng/tracepoint-event.h>
