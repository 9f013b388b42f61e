/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * Userspace implementation of the tracemark shim: GCC __atomic builtins
 * (the C11 memory model), clock_gettime(), calloc(), a thread-local
 * "current CPU" that a harness can set to simulate several CPUs.
 */
#ifndef TMK_SHIM_USER_H
#define TMK_SHIM_USER_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>

#define TMK_HAVE_FLOAT 1

#define tmk_likely(x)	__builtin_expect(!!(x), 1)
#define tmk_unlikely(x)	__builtin_expect(!!(x), 0)
#define TMK_CACHELINE_ALIGNED __attribute__((aligned(64)))

typedef struct { unsigned long v; } tmk_atomic_ulong_t;
typedef struct { uint32_t v; } tmk_atomic_u32_t;
typedef struct { uint64_t v; } tmk_atomic64_t;

static inline unsigned long tmk_atomic_ulong_read(const tmk_atomic_ulong_t *a)
{
	return __atomic_load_n(&a->v, __ATOMIC_RELAXED);
}

static inline unsigned long
tmk_atomic_ulong_read_acquire(const tmk_atomic_ulong_t *a)
{
	return __atomic_load_n(&a->v, __ATOMIC_ACQUIRE);
}

static inline void tmk_atomic_ulong_set(tmk_atomic_ulong_t *a, unsigned long v)
{
	__atomic_store_n(&a->v, v, __ATOMIC_RELAXED);
}

static inline void tmk_atomic_ulong_set_release(tmk_atomic_ulong_t *a,
						unsigned long v)
{
	__atomic_store_n(&a->v, v, __ATOMIC_RELEASE);
}

/* Full barrier on success, like the kernel's cmpxchg(). */
static inline bool tmk_atomic_ulong_cmpxchg(tmk_atomic_ulong_t *a,
					    unsigned long old,
					    unsigned long new)
{
	return __atomic_compare_exchange_n(&a->v, &old, new, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

/* Release: the committed bytes are visible before the count says so. */
static inline unsigned long
tmk_atomic_ulong_add_return_release(tmk_atomic_ulong_t *a, unsigned long v)
{
	return __atomic_add_fetch(&a->v, v, __ATOMIC_RELEASE);
}

/* Order earlier plain loads before later loads (a seqlock's read side). */
static inline void tmk_smp_rmb(void)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

static inline uint32_t tmk_atomic_u32_read(const tmk_atomic_u32_t *a)
{
	return __atomic_load_n(&a->v, __ATOMIC_RELAXED);
}

static inline void tmk_atomic_u32_set(tmk_atomic_u32_t *a, uint32_t v)
{
	__atomic_store_n(&a->v, v, __ATOMIC_RELAXED);
}

/* On 32-bit targets without 64-bit atomics GCC calls libatomic. */
static inline void tmk_atomic64_inc(tmk_atomic64_t *a)
{
	__atomic_fetch_add(&a->v, 1, __ATOMIC_RELAXED);
}

static inline uint64_t tmk_atomic64_read(const tmk_atomic64_t *a)
{
	return __atomic_load_n(&a->v, __ATOMIC_RELAXED);
}

static inline void tmk_atomic64_set(tmk_atomic64_t *a, uint64_t v)
{
	__atomic_store_n(&a->v, v, __ATOMIC_RELAXED);
}

void *tmk_memcpy(void *dst, const void *src, size_t n);
void *tmk_memset(void *dst, int c, size_t n);
void *tmk_zalloc(size_t n);
void tmk_free(void *p);

/*
 * The trace clock.  A harness may replace it (tmk_shim_set_clock) with a
 * deterministic fake so that its output is reproducible; the default is
 * CLOCK_MONOTONIC in nanoseconds.
 */
typedef uint64_t (*tmk_clock_fn)(void);
extern tmk_clock_fn tmk_shim_clock;
void tmk_shim_set_clock(tmk_clock_fn fn);
uint64_t tmk_shim_monotonic_ns(void);

static inline uint64_t tmk_clock_read(void)
{
	return tmk_shim_clock();
}

/* Simulated CPU of the calling thread (0 unless the harness sets it). */
extern _Thread_local unsigned int tmk_shim_cur_cpu;
extern unsigned int tmk_shim_nr_cpus;

static inline unsigned int tmk_cpu_id(void)
{
	return tmk_shim_cur_cpu;
}

static inline unsigned int tmk_nr_cpus(void)
{
	return tmk_shim_nr_cpus;
}

/* A userspace thread is its own "CPU": nothing to disable. */
static inline void tmk_preempt_disable(void) { }
static inline void tmk_preempt_enable(void) { }

typedef struct { int v; } tmk_spinlock_t;

static inline void tmk_spin_lock_init(tmk_spinlock_t *l)
{
	l->v = 0;
}

static inline void tmk_spin_lock(tmk_spinlock_t *l)
{
	while (__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
		;
}

static inline void tmk_spin_unlock(tmk_spinlock_t *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

#endif /* TMK_SHIM_USER_H */
