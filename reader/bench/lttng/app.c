/* Emits events 0..N of the realistic workload through LTTng-UST, from THREADS threads
 * (thread t emits the events i = t mod THREADS, pinned to CPU t mod ncpus). Event i is a pure
 * function of i, computed exactly as generate() in ../realistic.rs.
 *
 * usage: app N THREADS */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tp.h"

static const char *const comms[8] = {"swapper/0", "kworker/0:1", "bash",    "sshd",
				     "systemd-journal", "Xorg",    "firefox", "rcu_sched"};
static const char *const messages[8] = {"request handled",   "cache miss on key lookup",
					"flushing buffers",  "connection accepted from peer",
					"retrying",          "config reloaded",
					"slow query detected", "gc pause"};

static uint64_t splitmix64(uint64_t i)
{
	uint64_t z = i + 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void emit(uint64_t i)
{
	uint64_t h = splitmix64(i);
	unsigned kind = (unsigned)(h % 100);
	if (kind < 38) {
		lttng_ust_tracepoint(tmk, syscall_entry_read, (unsigned int)((h >> 8) % 64),
				     (unsigned long)(0x7ffd00000000ull + ((h >> 16) & 0xfffffff0ull)),
				     (size_t)1 << ((h >> 40) % 16));
	} else if (kind < 76) {
		ssize_t ret = ((h >> 20) % 16 == 0) ? -11 : (ssize_t)((h >> 8) % 4096);
		lttng_ust_tracepoint(tmk, syscall_exit_read, ret);
	} else if (kind < 92) {
		lttng_ust_tracepoint(tmk, sched_switch, comms[(h >> 8) % 8], (int)((h >> 16) % 32768),
				     100 + (int)((h >> 24) % 40), (long)((h >> 32) % 3), comms[(h >> 36) % 8],
				     (int)((h >> 40) % 32768), 100 + (int)((h >> 48) % 40));
	} else {
		lttng_ust_tracepoint(tmk, app_log, (int)((h >> 8) % 8), messages[(h >> 16) % 8]);
	}
}

struct job {
	uint64_t events, threads, index;
};

static void *run(void *arg)
{
	const struct job *job = arg;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET((int)(job->index % (uint64_t)(cpus > 0 ? cpus : 1)), &set);
	pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	for (uint64_t i = job->index; i < job->events; i += job->threads)
		emit(i);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s EVENTS THREADS\n", argv[0]);
		return 2;
	}
	uint64_t events = strtoull(argv[1], NULL, 10), threads = strtoull(argv[2], NULL, 10);
	if (threads == 0 || threads > 64) {
		fprintf(stderr, "THREADS must be 1..64\n");
		return 2;
	}
	pthread_t tids[64];
	struct job jobs[64];
	for (uint64_t t = 0; t < threads; t++) {
		jobs[t] = (struct job){events, threads, t};
		if (pthread_create(&tids[t], NULL, run, &jobs[t]) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	for (uint64_t t = 0; t < threads; t++)
		pthread_join(tids[t], NULL);
	return 0;
}
