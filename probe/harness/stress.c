// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * stress - hammer the ring buffer from several threads at once, with
 * signal handlers as nested "interrupts", and a live consumer.
 *
 * Two buffers ("CPUs"), two writer threads on each (so reservations race
 * through the cmpxchg, harder than per-CPU use), plus a SIGALRM timer
 * whose handler writes an event into the interrupted thread's buffer in
 * the middle of whatever reservation that thread was doing.  Small
 * sub-buffers force constant packet switches and, with the consumer
 * deliberately slow now and then, discards.  Real clock.
 *
 * Output: OUT/metadata, OUT/stream-0-{0,1}.tmk and OUT/stress.json with
 * per-writer counts, which tools/check_stress.py checks against the
 * decoded trace: every recorded event present once, per-writer sequence
 * numbers increasing, discards accounted for.
 *
 * stress --overwrite OUT: the same writers on buffers in overwrite mode
 * (flight recorder).  The consumer drains only buffer 1, and only now and
 * then; meanwhile it takes snapshots of both buffers while the writers
 * run, writing three of them to OUT/mid-<n>/.  At the end every buffer is
 * flushed, buffer 1 drained and each buffer's snapshot appended to its
 * stream file.  tools/check_overwrite.py checks the result.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "../core/tmk_meta.h"
#include "../core/tmk_rb.h"

#define NR_BUFS		2
#define NR_WRITERS	4
#define EVENTS		100000
#define SUBBUF_SIZE	4096
#define NR_SUBBUFS	8

enum { EV_W = 1, EV_IRQ = 2 };

static const struct tmk_field w_fields[] = {
	{ "writer", &tmk_type_u32 }, { "seq", &tmk_type_u64 },
	{ "pad", &tmk_type_string },
};
static const struct tmk_event_class classes[] = {
	{ .id = EV_W, .name = "w", .log_level = 7, .fields = w_fields,
	  .nr_fields = 3 },
	{ .id = EV_IRQ, .name = "irq", .log_level = 7, .fields = w_fields,
	  .nr_fields = 3 },
};

static struct tmk_chan chan;
static struct tmk_meta_stream meta;
static uint8_t meta_mem[16384];
static const uint8_t uuid[16] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47,
				  0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
				  0xff, 0x01 };
static volatile int writers_done;
static bool overwrite;
static const char *outdir;
static unsigned int mid_written;
static uint64_t mid_taken;

struct writer {
	pthread_t th;
	unsigned int id;
	unsigned int buf;
	uint64_t ok, dropped;		/* thread-context events */
	uint64_t irq_ok, irq_dropped;	/* signal-handler events */
	uint64_t irq_seq;
};
static struct writer writers[NR_WRITERS];
static _Thread_local struct writer *self;

static const char *const pads[] = { "", "x", "padding", "a longer padding" };

static int put_event(struct tmk_rb *rb, uint32_t id, uint32_t writer,
		     uint64_t seq)
{
	const char *pad = pads[seq % 4];
	uint32_t psz = tmk_strsize(pad);
	struct tmk_rb_ctx ctx;
	int r;

	r = tmk_rb_reserve(rb, &ctx, id, 4 + 8 + psz);
	if (r)
		return r;
	tmk_put_u32(&ctx.c, writer);
	tmk_put_u64(&ctx.c, seq);
	tmk_put_string(&ctx.c, pad, psz);
	tmk_rb_commit(&ctx);
	return 0;
}

/* The "interrupt": nests inside the thread's reserve/commit. */
static void on_alarm(int sig)
{
	int saved = errno;
	struct writer *w = self;

	(void)sig;
	if (w) {
		if (put_event(&chan.bufs[w->buf], EV_IRQ, w->id,
			      w->irq_seq++) == 0)
			w->irq_ok++;
		else
			w->irq_dropped++;
	}
	errno = saved;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t seq;

	sigset_t alrm;

	self = w;
	tmk_shim_cur_cpu = w->buf;
	/* Only writers take the "interrupt" (main blocks it, see main). */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	for (seq = 0; seq < EVENTS; seq++) {
		volatile unsigned int spin;

		/* Some "work" between events, so that the consumer mostly
		 * keeps up and drops come in bursts. */
		for (spin = 0; spin < 2000; spin++)
			;
		if (put_event(&chan.bufs[w->buf], EV_W, w->id, seq) == 0)
			w->ok++;
		else
			w->dropped++;
	}
	self = NULL;
	return NULL;
}

static FILE *files[NR_BUFS];
static uint64_t packets[NR_BUFS];

static void drain(unsigned int b)
{
	const uint8_t *pkt;
	uint32_t len;

	while (tmk_rb_get_packet(&chan.bufs[b], &pkt, &len) == 0) {
		if (fwrite(pkt, 1, len, files[b]) != len)
			abort();
		packets[b]++;
		tmk_rb_put_packet(&chan.bufs[b]);
	}
}

static int enc_clock(struct tmk_sink *s, const void *arg);
static int enc_sc(struct tmk_sink *s, const void *arg);

/* Snapshot every buffer while the writers run; keep some on disk. */
static void snapshot_all(bool keep)
{
	static uint8_t snap[NR_SUBBUFS * SUBBUF_SIZE];
	char path[4096];
	unsigned int b;
	uint32_t n;
	FILE *f;

	if (keep) {
		snprintf(path, sizeof(path), "%s/mid-%u", outdir, mid_written);
		if (mkdir(path, 0755) && errno != EEXIST)
			abort();
	}
	for (b = 0; b < NR_BUFS; b++) {
		n = tmk_rb_snapshot(&chan.bufs[b], snap, NR_SUBBUFS);
		mid_taken++;
		if (!keep)
			continue;
		snprintf(path, sizeof(path), "%s/mid-%u/stream-0-%u.tmk",
			 outdir, mid_written, b);
		f = fopen(path, "wb");
		if (!f || fwrite(snap, SUBBUF_SIZE, n, f) != n || fclose(f))
			abort();
	}
	if (keep)
		mid_written++;
}

static void *consumer_main(void *arg)
{
	struct timespec nap = { 0, 20000 };
	unsigned int b, round = 0;

	(void)arg;
	while (overwrite &&
	       !__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE)) {
		/* Buffer 1 has a slow consumer; buffer 0 none. */
		if (++round % 8 == 0)
			drain(1);
		snapshot_all(round % 64 == 32 && mid_written < 3);
		nanosleep(&nap, NULL);
	}
	while (!__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE)) {
		/* Every 16th round, dawdle: let the writers overrun. */
		if (++round % 16 == 0)
			nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
		for (b = 0; b < NR_BUFS; b++)
			drain(b);
		if (round % 4 == 0)
			nanosleep(&nap, NULL);
	}
	return NULL;
}

static int enc_clock(struct tmk_sink *s, const void *arg)
{
	static const struct tmk_clock_desc c = {
		.clock_id = 0, .frequency = 1000000000u, .precision = 1,
		.name = "monotonic", .description = "CLOCK_MONOTONIC",
	};

	(void)arg;
	return tmk_meta_clock(s, &c);
}

static int enc_sc(struct tmk_sink *s, const void *arg)
{
	(void)arg;
	return tmk_meta_stream_class(s, 0, 0, "stress");
}

int main(int argc, char **argv)
{
	struct tmk_rb_config cfg = {
		.subbuf_size = SUBBUF_SIZE, .nr_subbufs = NR_SUBBUFS,
		.stream_class_id = 0, .crc = true,
	};
	static uint8_t snap[NR_SUBBUFS * SUBBUF_SIZE];
	uint64_t snap_pkts[NR_BUFS] = { 0 };
	struct tmk_trace_desc td = {
		.os_name = "Linux", .os_release = "stress",
		.architecture = "native", .hostname = "stress",
		.tracer_name = "tracemark-probe-stress",
		.tracer_version = "0.1.0",
	};
	struct itimerval it = { { 0, 50 }, { 0, 50 } };
	struct sigaction sa;
	pthread_t cons;
	char path[4096];
	unsigned int i;
	FILE *f;

	overwrite = argc == 3 && !strcmp(argv[1], "--overwrite");
	if (argc != 2 && !overwrite) {
		fprintf(stderr, "usage: stress [--overwrite] OUTDIR\n");
		return 1;
	}
	argv += overwrite;
	outdir = argv[1];
	cfg.overwrite = overwrite;
	if (mkdir(argv[1], 0755) && errno != EEXIST)
		return 1;
	memcpy(td.uuid, uuid, 16);
	if (tmk_meta_stream_init(&meta, meta_mem, sizeof(meta_mem), 4096, &td,
				 true) ||
	    tmk_meta_stream_append(&meta, enc_clock, NULL) ||
	    tmk_meta_stream_append(&meta, enc_sc, NULL) ||
	    tmk_meta_stream_add_event_class(&meta, &classes[0]) ||
	    tmk_meta_stream_add_event_class(&meta, &classes[1]))
		return 1;
	tmk_shim_nr_cpus = NR_BUFS;
	if (tmk_chan_init(&chan, &cfg, uuid, NR_BUFS))
		return 1;
	for (i = 0; i < NR_BUFS; i++) {
		snprintf(path, sizeof(path), "%s/stream-0-%u.tmk", argv[1], i);
		files[i] = fopen(path, "wb");
		if (!files[i])
			return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	/* A process-directed SIGALRM goes to the main thread when it does not
	 * block it, and main only waits in pthread_join: block it here (the
	 * consumer inherits that) so it lands in a writer, mid-reservation. */
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &sa.sa_mask, NULL);
	sigemptyset(&sa.sa_mask);
	pthread_create(&cons, NULL, consumer_main, NULL);
	for (i = 0; i < NR_WRITERS; i++) {
		writers[i].id = i;
		writers[i].buf = i % NR_BUFS;
		pthread_create(&writers[i].th, NULL, writer_main, &writers[i]);
	}
	setitimer(ITIMER_REAL, &it, NULL);
	for (i = 0; i < NR_WRITERS; i++)
		pthread_join(writers[i].th, NULL);
	it = (struct itimerval){ { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &it, NULL);
	__atomic_store_n(&writers_done, 1, __ATOMIC_RELEASE);
	pthread_join(cons, NULL);
	for (i = 0; i < NR_BUFS; i++) {
		tmk_rb_flush(&chan.bufs[i]);
		if (!overwrite || i == 1)
			drain(i);
		if (overwrite) {
			snap_pkts[i] = tmk_rb_snapshot(&chan.bufs[i], snap,
						       NR_SUBBUFS);
			if (fwrite(snap, SUBBUF_SIZE, snap_pkts[i], files[i]) !=
			    snap_pkts[i])
				return 1;
		}
		fclose(files[i]);
	}

	for (i = 0; i <= mid_written; i++) {
		if (i < mid_written)
			snprintf(path, sizeof(path), "%s/mid-%u/metadata",
				 argv[1], i);
		else
			snprintf(path, sizeof(path), "%s/metadata", argv[1]);
		f = fopen(path, "wb");
		if (!f || fwrite(meta_mem, 1, tmk_meta_stream_len(&meta), f) !=
			  tmk_meta_stream_len(&meta))
			return 1;
		fclose(f);
	}

	snprintf(path, sizeof(path), "%s/stress.json", argv[1]);
	f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "{\"events_per_writer\":%d,\"writers\":[", EVENTS);
	for (i = 0; i < NR_WRITERS; i++)
		fprintf(f, "%s{\"id\":%u,\"buf\":%u,\"ok\":%" PRIu64
			",\"dropped\":%" PRIu64 ",\"irq_ok\":%" PRIu64
			",\"irq_dropped\":%" PRIu64 "}", i ? "," : "", i,
			writers[i].buf, writers[i].ok, writers[i].dropped,
			writers[i].irq_ok, writers[i].irq_dropped);
	fprintf(f, "],\"overwrite\":%s,\"overwritten\":[%" PRIu64 ",%" PRIu64
		"],\"consumed\":[%" PRIu64 ",%" PRIu64 "],\"snapshot\":[%" PRIu64
		",%" PRIu64 "],\"mid_snapshots\":%u,\"snapshots_taken\":%" PRIu64,
		overwrite ? "true" : "false", tmk_rb_overwritten(&chan.bufs[0]),
		tmk_rb_overwritten(&chan.bufs[1]), packets[0], packets[1],
		snap_pkts[0], snap_pkts[1], mid_written, mid_taken);
	fprintf(f, ",\"discarded\":[");
	for (i = 0; i < NR_BUFS; i++)
		fprintf(f, "%s%" PRIu64, i ? "," : "",
			tmk_rb_discarded(&chan.bufs[i]));
	fprintf(f, "]}\n");
	fclose(f);
	for (i = 0; i < NR_WRITERS; i++)
		printf("writer %u: %" PRIu64 " ok, %" PRIu64 " dropped, "
		       "%" PRIu64 " irq ok, %" PRIu64 " irq dropped\n", i,
		       writers[i].ok, writers[i].dropped, writers[i].irq_ok,
		       writers[i].irq_dropped);
	if (overwrite)
		printf("overwritten packets %" PRIu64 " / %" PRIu64 ", consumed %"
		       PRIu64 " / %" PRIu64 ", %" PRIu64 " snapshots taken, %u kept\n",
		       tmk_rb_overwritten(&chan.bufs[0]),
		       tmk_rb_overwritten(&chan.bufs[1]), packets[0], packets[1],
		       mid_taken, mid_written);
	tmk_chan_destroy(&chan);
	return 0;
}
