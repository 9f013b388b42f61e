/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Linux kernel implementation of the tracemark shim.
 *
 * Clock: ktime_get_mono_fast_ns() - NMI-safe, usable from any tracepoint
 * (including sched_switch with the runqueue lock held), monotonic across
 * CPUs; the same clock LTTng uses on modern kernels.
 */
#ifndef TMK_SHIM_KERNEL_H
#define TMK_SHIM_KERNEL_H

#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/stdarg.h>
#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/compiler.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#include <linux/smp.h>
#include <linux/preempt.h>
#include <linux/cpumask.h>
#include <linux/spinlock.h>

#ifndef UINT64_C
#define UINT64_C(x)	(x##ULL)
#endif

/* TMK_HAVE_FLOAT deliberately undefined: no FPU state in the kernel. */

#define tmk_likely(x)	likely(x)
#define tmk_unlikely(x)	unlikely(x)
#define TMK_CACHELINE_ALIGNED ____cacheline_aligned_in_smp

typedef atomic_long_t tmk_atomic_ulong_t;
typedef atomic_t tmk_atomic_u32_t;
typedef atomic64_t tmk_atomic64_t;

static inline unsigned long tmk_atomic_ulong_read(const tmk_atomic_ulong_t *a)
{
	return (unsigned long)atomic_long_read(a);
}

static inline unsigned long
tmk_atomic_ulong_read_acquire(const tmk_atomic_ulong_t *a)
{
	return (unsigned long)atomic_long_read_acquire(a);
}

static inline void tmk_atomic_ulong_set(tmk_atomic_ulong_t *a, unsigned long v)
{
	atomic_long_set(a, (long)v);
}

static inline void tmk_atomic_ulong_set_release(tmk_atomic_ulong_t *a,
						unsigned long v)
{
	atomic_long_set_release(a, (long)v);
}

static inline bool tmk_atomic_ulong_cmpxchg(tmk_atomic_ulong_t *a,
					    unsigned long old,
					    unsigned long new)
{
	return atomic_long_cmpxchg(a, (long)old, (long)new) == (long)old;
}

static inline unsigned long
tmk_atomic_ulong_add_return_release(tmk_atomic_ulong_t *a, unsigned long v)
{
	return (unsigned long)atomic_long_add_return_release((long)v, a);
}

static inline void tmk_smp_rmb(void)
{
	smp_rmb();
}

static inline uint32_t tmk_atomic_u32_read(const tmk_atomic_u32_t *a)
{
	return (uint32_t)atomic_read(a);
}

static inline void tmk_atomic_u32_set(tmk_atomic_u32_t *a, uint32_t v)
{
	atomic_set(a, (int)v);
}

static inline void tmk_atomic64_inc(tmk_atomic64_t *a)
{
	atomic64_inc(a);
}

static inline uint64_t tmk_atomic64_read(const tmk_atomic64_t *a)
{
	return (uint64_t)atomic64_read(a);
}

static inline void tmk_atomic64_set(tmk_atomic64_t *a, uint64_t v)
{
	atomic64_set(a, (s64)v);
}

static inline void *tmk_memcpy(void *dst, const void *src, size_t n)
{
	return memcpy(dst, src, n);
}

static inline void *tmk_memset(void *dst, int c, size_t n)
{
	return memset(dst, c, n);
}

/* Buffers can be megabytes: vmalloc, never on the tracing path. */
static inline void *tmk_zalloc(size_t n)
{
	return vzalloc(n);
}

static inline void tmk_free(void *p)
{
	vfree(p);
}

static inline uint64_t tmk_clock_read(void)
{
	return ktime_get_mono_fast_ns();
}

/* Callers run with preemption disabled (tracepoint probes do). */
static inline unsigned int tmk_cpu_id(void)
{
	return raw_smp_processor_id();
}

static inline unsigned int tmk_nr_cpus(void)
{
	return nr_cpu_ids;
}

static inline void tmk_preempt_disable(void)
{
	preempt_disable_notrace();
}

static inline void tmk_preempt_enable(void)
{
	preempt_enable_notrace();
}

/* Metadata appends may come from any context: irqsave. */
typedef struct {
	raw_spinlock_t lock;
	unsigned long flags;
} tmk_spinlock_t;

static inline void tmk_spin_lock_init(tmk_spinlock_t *l)
{
	raw_spin_lock_init(&l->lock);
	l->flags = 0;
}

static inline void tmk_spin_lock(tmk_spinlock_t *l)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&l->lock, flags);
	l->flags = flags;
}

static inline void tmk_spin_unlock(tmk_spinlock_t *l)
{
	raw_spin_unlock_irqrestore(&l->lock, l->flags);
}

#endif /* TMK_SHIM_KERNEL_H */
