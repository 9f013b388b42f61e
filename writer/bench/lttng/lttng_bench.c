/*
 * ns/event of LTTng-UST tracepoints, measured as writer/examples/ring_bench.rs measures ours:
 * 1 and 2 threads, one untimed warm-up round then REPS rounds of EVENTS events per thread, the
 * median round reported (the minimum beside it). Prints `RESULT key=value ...` lines.
 *
 *   lttng_bench EVENTS REPS
 *
 * Run it while an LTTng session records `tmkbench:*` (see ../lttng-compare.sh).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "tmkbench_tp.h"

static const char *volatile text = "fifteen-chars!!";

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Sorts `v` and returns its median; `*min` gets the minimum. */
static double median(double *v, int n, double *min)
{
	qsort(v, n, sizeof(*v), cmp_double);
	*min = v[0];
	return v[n / 2];
}

struct worker {
	pthread_t thread;
	pthread_barrier_t *go;
	int event;
	uint64_t events;
	double ns_per_event;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t i, start;

	pthread_barrier_wait(w->go);
	start = now_ns();
	if (w->event == 0) {
		for (i = 0; i < w->events; i++)
			tracepoint(tmkbench, ints, (int32_t)i, -(int64_t)i, i ^ 0x5555);
	} else {
		for (i = 0; i < w->events; i++)
			tracepoint(tmkbench, str16, text);
	}
	w->ns_per_event = (double)(now_ns() - start) / (double)w->events;
	return NULL;
}

/* One round; returns the mean per-thread ns/event, and the wall ns/event in `*wall`. */
static double round_ns(int event, int threads, uint64_t events, double *wall)
{
	struct worker workers[2];
	pthread_barrier_t go;
	double mean = 0;
	uint64_t start;
	int t;

	pthread_barrier_init(&go, NULL, threads + 1);
	for (t = 0; t < threads; t++) {
		workers[t] = (struct worker){ .go = &go, .event = event, .events = events };
		if (pthread_create(&workers[t].thread, NULL, work, &workers[t]) != 0) {
			perror("pthread_create");
			exit(1);
		}
	}
	start = now_ns();
	pthread_barrier_wait(&go);
	for (t = 0; t < threads; t++) {
		pthread_join(workers[t].thread, NULL);
		mean += workers[t].ns_per_event / threads;
	}
	*wall = (double)(now_ns() - start) / (double)(events * threads);
	pthread_barrier_destroy(&go);
	return mean;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "3ints", "str16" };
	uint64_t events, i, start, sum = 0;
	int reps, r, event, threads;
	double *per, *wall, min, wall_min, m;

	if (argc != 3) {
		fprintf(stderr, "usage: %s EVENTS REPS\n", argv[0]);
		return 2;
	}
	events = strtoull(argv[1], NULL, 10);
	reps = atoi(argv[2]);
	if (events == 0 || reps <= 0) {
		fprintf(stderr, "EVENTS and REPS must be positive\n");
		return 2;
	}
	per = calloc(reps, sizeof(*per));
	wall = calloc(reps, sizeof(*wall));

	for (r = 0; r < reps; r++) {
		start = now_ns();
		for (i = 0; i < events; i++)
			sum += now_ns();
		per[r] = (double)(now_ns() - start) / (double)events;
	}
	m = median(per, reps, &min);
	printf("RESULT impl=lttng clock_read=clock_gettime_monotonic ns=%.2f min_ns=%.2f\n", m, min);
	for (r = 0; r < reps; r++) {
		start = now_ns();
		for (i = 0; i < events; i++)
			sum += __rdtsc();
		per[r] = (double)(now_ns() - start) / (double)events;
	}
	m = median(per, reps, &min);
	printf("RESULT impl=lttng clock_read=rdtsc ns=%.2f min_ns=%.2f\n", m, min);

	for (event = 0; event < 2; event++) {
		for (threads = 1; threads <= 2; threads++) {
			round_ns(event, threads, events, &wall[0]); /* warm-up */
			for (r = 0; r < reps; r++)
				per[r] = round_ns(event, threads, events, &wall[r]);
			m = median(per, reps, &min);
			printf("RESULT impl=lttng kind=lttng-ust clock=monotonic event=%s threads=%d ns_per_event=%.2f "
			       "min_ns=%.2f wall_ns_per_event=%.2f\n",
			       names[event], threads, m, min, median(wall, reps, &wall_min));
			fflush(stdout);
		}
	}
	fprintf(stderr, "(checksum %llu)\n", (unsigned long long)(sum & 1));
	free(per);
	free(wall);
	return 0;
}
