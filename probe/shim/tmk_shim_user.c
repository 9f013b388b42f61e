// SPDX-License-Identifier: MIT OR Apache-2.0
/* Userspace shim: the out-of-line parts (libc lives here, not in core/). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tmk_shim.h"

_Thread_local unsigned int tmk_shim_cur_cpu;
unsigned int tmk_shim_nr_cpus = 1;

uint64_t tmk_shim_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

tmk_clock_fn tmk_shim_clock = tmk_shim_monotonic_ns;

void tmk_shim_set_clock(tmk_clock_fn fn)
{
	tmk_shim_clock = fn ? fn : tmk_shim_monotonic_ns;
}

void *tmk_memcpy(void *dst, const void *src, size_t n)
{
	return memcpy(dst, src, n);
}

void *tmk_memset(void *dst, int c, size_t n)
{
	return memset(dst, c, n);
}

void *tmk_zalloc(size_t n)
{
	return calloc(1, n ? n : 1);
}

void tmk_free(void *p)
{
	free(p);
}
