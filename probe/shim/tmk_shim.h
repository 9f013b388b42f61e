/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * tmk_shim.h - the only door between the tracemark writer core and its
 * environment.
 *
 * The core (probe/core/) includes nothing but this header, so the same
 * sources build as a Linux module and as a userspace library.  Each
 * implementation provides:
 *
 *   - fixed-width integers, size_t, bool, NULL, va_list;
 *   - tmk_likely()/tmk_unlikely(), TMK_CACHELINE_ALIGNED;
 *   - tmk_atomic_ulong_t: read, read_acquire, set, set_release,
 *     cmpxchg (full barrier), add_return_release;
 *   - tmk_smp_rmb(): read barrier (loads before it, before loads after);
 *   - tmk_atomic_u32_t: read, set (single-copy atomic, no ordering);
 *   - tmk_atomic64_t: inc, read, set (64-bit even on 32-bit targets, because
 *     SPEC §4 makes the discard counter 64-bit);
 *   - tmk_memcpy(), tmk_memset();
 *   - tmk_zalloc(), tmk_free() for setup-time allocations (never called
 *     on the tracing fast path);
 *   - tmk_clock_read(): the trace clock, in ticks, monotonic;
 *   - tmk_cpu_id(), tmk_nr_cpus(): the current CPU and the CPU count.
 *     The caller of a reserve/commit pair must stay on one CPU
 *     (tmk_preempt_disable()/tmk_preempt_enable()).
 *   - tmk_spinlock_t for the (rare) metadata appends.
 *   - TMK_HAVE_FLOAT when floating point may be used (never in a kernel).
 */
#ifndef TMK_SHIM_H
#define TMK_SHIM_H

#ifdef __KERNEL__
#include "tmk_shim_kernel.h"
#else
#include "tmk_shim_user.h"
#endif

/* Negative error codes returned by the core; numerically Linux errnos so
 * that a kernel caller can hand them straight back to userspace. */
#define TMK_EINVAL	22
#define TMK_ENOSPC	28
#define TMK_EAGAIN	11
#define TMK_ENOBUFS	105
#define TMK_E2BIG	7
#define TMK_ENOMEM	12

#endif /* TMK_SHIM_H */
