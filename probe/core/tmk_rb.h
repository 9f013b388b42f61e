/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * tmk_rb.h - per-CPU ring buffer of packets, discard or overwrite mode.
 *
 * Design (after lttng-modules' lib/ringbuffer, own code):
 *
 *  - A buffer is nr_subbufs sub-buffers of subbuf_size bytes; each
 *    sub-buffer holds exactly one packet (§1.3), so packet_size is
 *    subbuf_size.  Both are powers of two.
 *
 *  - @offset is a free-running byte position.  Its sub-buffer part
 *    (offset & (subbuf_size - 1)) is the next free byte in the open
 *    packet; 0 means "no packet open here yet": the next reserve opens
 *    one (writes the open half of the header), so a packet is only ever
 *    opened by an event that goes into it.
 *
 *  - Reserve reads @offset, reads the clock, computes where the record
 *    goes (switching packets if it does not fit) and publishes the new
 *    @offset with one cmpxchg.  Reading the clock inside the loop means
 *    that timestamps follow reservation order even when an interrupt
 *    nests inside a reservation on the same CPU: the interrupted context
 *    fails its cmpxchg and re-reads the clock (§1.7).
 *
 *  - Commit adds the record's size to the sub-buffer's commit counter.
 *    The opener commits the header, every writer its record, the closer
 *    the padding; the packet is complete when the counter reaches
 *    subbuf_size, whoever gets it there.  Nothing is done in the probe
 *    at that point (no wakeup: sched_switch probes run under the
 *    runqueue lock); the consumer polls.
 *
 *  - The consumer (process context) takes complete packets in order,
 *    computes the CRC (§4.4) there rather than in a probe, and gives the
 *    sub-buffer back.  Only then may a writer reopen it.  When the next
 *    sub-buffer is not yet given back, the event is dropped and counted
 *    (§10.1), never overwriting: discard mode.
 *
 *  - Overwrite (flight-recorder) mode, cfg->overwrite: a writer that
 *    needs the sub-buffer of the oldest unconsumed packet gives that
 *    packet back itself, as the consumer would have (lttng's overwrite
 *    mode pushes its consumer position the same way).  Ownership of the
 *    oldest sub-buffer is bit 0 of @consumed (RB_BUSY, free because
 *    positions are multiples of subbuf_size): whoever sets it with a
 *    cmpxchg - a writer reclaiming, or the consumer reading the packet -
 *    owns that sub-buffer until it stores the next position, which
 *    clears the bit.  A writer that finds the bit set, or the oldest
 *    packet not yet fully committed (a nested writer is still in it),
 *    cannot wait (it may be an NMI) and drops its event, counted as in
 *    discard mode.  Sequence numbers keep counting through reclaimed
 *    packets, so a reader sees the overwritten ones as a §10.2 gap;
 *    tmk_rb_overwritten() counts them.
 *
 *  - tmk_rb_snapshot() copies the complete packets still held, oldest
 *    first, without consuming them and without stopping writers: it
 *    copies a packet, then re-reads @consumed (after a read barrier) and
 *    keeps the copy only if the packet was not reclaimed meanwhile - a
 *    seqlock-style read; the copy is sealed (CRC, zero padding) outside
 *    the ring.  A packet reclaimed during its copy is left out, which the
 *    reader sees as one more gap.
 *
 * Concurrency contract: any number of nested contexts of one CPU (task,
 * softirq, irq, NMI) may reserve/commit on that CPU's buffer; threads of
 * a userspace harness may share one buffer too (all updates are atomic
 * RMW).  One consumer per buffer.
 */
#ifndef TMK_RB_H
#define TMK_RB_H

#include "tmk_encode.h"

struct tmk_rb_config {
	uint32_t subbuf_size;		/* power of two, >= 2 * 80 */
	uint32_t nr_subbufs;		/* power of two, >= 2 */
	uint32_t stream_class_id;
	bool crc;			/* set HAS_CRC and fill crc32 */
	bool overwrite;			/* flight recorder: see above */
};

struct tmk_rb {
	/* Written by every reservation: its own cache line. */
	tmk_atomic_ulong_t offset TMK_CACHELINE_ALIGNED;
	/*
	 * High 32 bits of the last reserved timestamp.  (hi << 32) is a
	 * lower bound of the previous record's timestamp, which is all the
	 * §5.4 decision needs (see tmk_ev_header_len), and a 32-bit store is
	 * single-copy atomic on every target, unlike a 64-bit one.
	 */
	tmk_atomic_u32_t last_ts_hi;
	/* §10.1 cumulative discard counter of this stream. */
	tmk_atomic64_t discarded;
	/* Its value in the last packet closed (a lower bound, see flush). */
	tmk_atomic64_t discarded_closed;
	/* Overwrite mode: packets reclaimed by writers, never consumed. */
	tmk_atomic64_t overwritten;

	/* Consumer position (start of the oldest packet not given back),
	 * | RB_BUSY while that packet's sub-buffer is owned (overwrite). */
	tmk_atomic_ulong_t consumed TMK_CACHELINE_ALIGNED;
	bool held;			/* consumer-private: got, not put */

	/* Constant after tmk_rb_init(). */
	uint8_t *mem;
	tmk_atomic_ulong_t *commit;	/* per sub-buffer: bytes committed */
	uint64_t *lap;			/* per sub-buffer: times given back */
	unsigned long subbuf_size;
	unsigned long buf_size;
	uint32_t nr_subbufs;
	uint32_t stream_class_id;
	uint32_t stream_instance_id;
	uint32_t pkt_flags;
	bool overwrite;
	uint8_t uuid[16];
};

/* A reservation: where the record is and a cursor at its payload. */
struct tmk_rb_ctx {
	struct tmk_rb *rb;
	unsigned long rec;		/* offset of the record header */
	uint32_t size;			/* header + payload */
	uint64_t ts;
	struct tmk_cursor c;		/* payload cursor */
};

int tmk_rb_init(struct tmk_rb *rb, const struct tmk_rb_config *cfg,
		const uint8_t uuid[16], uint32_t stream_instance_id);
void tmk_rb_destroy(struct tmk_rb *rb);

/*
 * Reserve a record of @payload_len bytes for event class @id and write
 * its header.  0 on success: write exactly @payload_len bytes through
 * ctx->c, then tmk_rb_commit().  On failure the event was counted as
 * discarded: -TMK_ENOBUFS (buffer full) or -TMK_E2BIG (larger than a
 * packet can hold).
 */
int tmk_rb_reserve(struct tmk_rb *rb, struct tmk_rb_ctx *ctx, uint32_t id,
		   uint32_t payload_len);
void tmk_rb_commit(const struct tmk_rb_ctx *ctx);

/*
 * Close the open packet, if any, so the consumer can take it.  With no
 * packet open but events dropped since the last one was closed, write an
 * empty packet (content = header) so that the trace reports them
 * (§10.1); if even that has no room, they stay counted for later.
 */
void tmk_rb_flush(struct tmk_rb *rb);

/*
 * Consumer: the next complete packet, in sequence order, sealed (CRC,
 * zeroed padding).  0 with *pkt and *len set, or -TMK_EAGAIN if none yet.
 * tmk_rb_put_packet() gives it back.  In overwrite mode writers cannot
 * reclaim a packet between get and put (they drop instead), so put it
 * back soon.
 */
int tmk_rb_get_packet(struct tmk_rb *rb, const uint8_t **pkt, uint32_t *len);
void tmk_rb_put_packet(struct tmk_rb *rb);

/*
 * Consumer: copy the complete packets the buffer holds (not yet given
 * back or overwritten), oldest first, into @dst, at most @max packets of
 * subbuf_size bytes; each copy is sealed.  Nothing is consumed and
 * writers keep running (see the design above).  Returns the number of
 * packets copied.  Call tmk_rb_flush() first to include the open packet.
 * Not concurrently with get/put on the same buffer (one consumer).
 */
uint32_t tmk_rb_snapshot(struct tmk_rb *rb, uint8_t *dst, uint32_t max);

static inline uint64_t tmk_rb_discarded(const struct tmk_rb *rb)
{
	return tmk_atomic64_read(&rb->discarded);
}

static inline uint64_t tmk_rb_overwritten(const struct tmk_rb *rb)
{
	return tmk_atomic64_read(&rb->overwritten);
}

/* ---- A channel: one buffer per CPU --------------------------------------- */

struct tmk_chan {
	unsigned int nr_cpus;
	struct tmk_rb *bufs;		/* nr_cpus entries */
};

int tmk_chan_init(struct tmk_chan *ch, const struct tmk_rb_config *cfg,
		  const uint8_t uuid[16], unsigned int nr_cpus);
void tmk_chan_destroy(struct tmk_chan *ch);

/* The caller keeps preemption disabled from reserve to commit. */
static inline struct tmk_rb *tmk_chan_this_rb(struct tmk_chan *ch)
{
	return &ch->bufs[tmk_cpu_id()];
}

#endif /* TMK_RB_H */
