/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#ifndef TMK_MARKER_H
#define TMK_MARKER_H

#include "tmk_meta.h"
#include "tmk_rb.h"

/*
 * Record a marker of class @ec (layout_kind 1, format already validated
 * when the class was written to the metadata) with arguments as printf
 * would take them: %d int, %ld long, %zu size_t, %jd int64_t, %s const
 * char *, %p pointer, %f double (userspace only).  The caller keeps
 * preemption disabled, as for any reserve/commit.
 */
int tmk_marker_vwrite(struct tmk_rb *rb, const struct tmk_event_class *ec,
		      va_list ap);
int tmk_marker_write(struct tmk_rb *rb, const struct tmk_event_class *ec, ...);

/*
 * The same from an array, one element per pair of the format: integers in
 * @i (signed conversions) or @u (unsigned, %c), %s in @s, %p in @p, and
 * %f/%e/%g as the IEEE 754 bits of the double in @u.  @nargs must equal
 * the number of pairs (-TMK_EINVAL otherwise, nothing recorded).
 */
union tmk_marker_arg {
	int64_t i;
	uint64_t u;
	const char *s;
	const void *p;
};
int tmk_marker_write_argv(struct tmk_rb *rb, const struct tmk_event_class *ec,
			  const union tmk_marker_arg *argv, uint32_t nargs);

#endif /* TMK_MARKER_H */
