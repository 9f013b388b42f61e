/* Emits N rounds of the import oracle's events (ctf/ci.sh) from THREADS threads; round i of
 * every event is a pure function of i, edge values included (INT8_MIN, UINT64_MAX, -0.0,
 * empty strings and sequences, a text array without NUL, enum values with no label).
 *
 * usage: app N THREADS */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp.h"

static uint64_t rounds;
static unsigned threads;

static uint64_t splitmix64(uint64_t i)
{
	uint64_t z = i + 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void round_of(uint64_t i)
{
	static const char *const names[4] = {"", "swapper/0", "a name with spaces", "\xc3\xa9t\xc3\xa9"};
	static const char comm16[16] = {'e', 'x', 'a', 'c', 't', 'l', 'y', '-', 's', 'i', 'x', 't', 'e', 'e', 'n', '!'};
	uint64_t h = splitmix64(i);
	if (i % 7 == 0) {
		lttng_ust_tracepoint(tmkimport, integers, INT8_MIN, UINT8_MAX, INT16_MIN, UINT16_MAX, INT32_MIN,
				     UINT32_MAX, INT64_MIN, UINT64_MAX);
	} else {
		lttng_ust_tracepoint(tmkimport, integers, (int8_t)h, (uint8_t)(h >> 8), (int16_t)(h >> 16),
				     (uint16_t)(h >> 24), (int32_t)(h >> 8), (uint32_t)(h >> 32), (int64_t)h, h);
	}
	double d = (i % 11 == 0) ? -0.0 : (double)(int64_t)h / 3.0e9;
	lttng_ust_tracepoint(tmkimport, floats, (float)d, d);
	char comm[17];
	const char *name = names[h % 4];
	snprintf(comm, sizeof comm, "thread-%llu", (unsigned long long)(i % 1000));
	const char *msg = "sequence of text, not NUL terminated";
	size_t len = (size_t)(h % 37);
	lttng_ust_tracepoint(tmkimport, texts, name, (i % 5 == 0) ? comm16 : comm, msg, len);
	int32_t values[4] = {(int32_t)h, -1, 0, INT32_MAX};
	uint16_t items[8];
	unsigned n = (unsigned)(h % 9);
	for (unsigned k = 0; k < 8; k++)
		items[k] = (uint16_t)(h >> (k * 8));
	lttng_ust_tracepoint(tmkimport, arrays, values, items, n);
	static const int states[6] = {0, 1, 5, 150, 42, -3};
	lttng_ust_tracepoint(tmkimport, enums, states[h % 6], (int)(i % 100000));
}

static void *worker(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	for (uint64_t i = t; i < rounds; i += threads)
		round_of(i);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s ROUNDS THREADS\n", argv[0]);
		return 2;
	}
	rounds = strtoull(argv[1], NULL, 10);
	threads = (unsigned)strtoul(argv[2], NULL, 10);
	pthread_t tids[64];
	if (threads == 0 || threads > 64)
		return 2;
	for (unsigned t = 0; t < threads; t++)
		pthread_create(&tids[t], NULL, worker, (void *)(uintptr_t)t);
	for (unsigned t = 0; t < threads; t++)
		pthread_join(tids[t], NULL);
	return 0;
}
