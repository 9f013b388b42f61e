// SPDX-License-Identifier: MIT OR Apache-2.0
/* Per-CPU packet ring buffer, discard or overwrite mode.  See tmk_rb.h. */
#include "tmk_rb.h"

/* Bit 0 of @consumed: the oldest sub-buffer is owned (overwrite mode). */
#define RB_BUSY 1ul

static inline unsigned long cons_pos(unsigned long consumed)
{
	return consumed & ~RB_BUSY;
}

static bool is_pow2(unsigned long x)
{
	return x && !(x & (x - 1));
}

int tmk_rb_init(struct tmk_rb *rb, const struct tmk_rb_config *cfg,
		const uint8_t uuid[16], uint32_t stream_instance_id)
{
	unsigned long buf_size;

	if (!is_pow2(cfg->subbuf_size) || !is_pow2(cfg->nr_subbufs) ||
	    cfg->nr_subbufs < 2 || cfg->subbuf_size < 2 * TMK_PKT_HEADER_LEN ||
	    cfg->subbuf_size > (1ul << 30) ||
	    cfg->nr_subbufs > (~0ul >> 2) / cfg->subbuf_size)
		return -TMK_EINVAL;
	buf_size = (unsigned long)cfg->subbuf_size * cfg->nr_subbufs;

	tmk_memset(rb, 0, sizeof(*rb));
	rb->mem = tmk_zalloc(buf_size);
	rb->commit = tmk_zalloc(cfg->nr_subbufs * sizeof(*rb->commit));
	rb->lap = tmk_zalloc(cfg->nr_subbufs * sizeof(*rb->lap));
	if (!rb->mem || !rb->commit || !rb->lap) {
		tmk_rb_destroy(rb);
		return -TMK_ENOMEM;
	}
	rb->subbuf_size = cfg->subbuf_size;
	rb->buf_size = buf_size;
	rb->nr_subbufs = cfg->nr_subbufs;
	rb->stream_class_id = cfg->stream_class_id;
	rb->stream_instance_id = stream_instance_id;
	rb->pkt_flags = cfg->crc ? TMK_PKT_FLAG_HAS_CRC : 0;
	rb->overwrite = cfg->overwrite;
	tmk_memcpy(rb->uuid, uuid, 16);
	return 0;
}

void tmk_rb_destroy(struct tmk_rb *rb)
{
	tmk_free(rb->mem);
	tmk_free(rb->commit);
	tmk_free(rb->lap);
	rb->mem = NULL;
	rb->commit = NULL;
	rb->lap = NULL;
}

static inline uint32_t sb_index(const struct tmk_rb *rb, unsigned long off)
{
	return (uint32_t)(off / rb->subbuf_size) & (rb->nr_subbufs - 1);
}

static inline uint8_t *sb_mem(const struct tmk_rb *rb, uint32_t idx)
{
	return rb->mem + (unsigned long)idx * rb->subbuf_size;
}

/* May a packet be opened at @pkt (a sub-buffer boundary)? */
static inline bool sb_free(const struct tmk_rb *rb, unsigned long pkt)
{
	/* Acquire: pairs with the release in tmk_rb_put_packet() and
	 * rb_reclaim(), so the reset commit counter and lap are seen before
	 * we reuse it. */
	return pkt - cons_pos(tmk_atomic_ulong_read_acquire(&rb->consumed)) <
	       rb->buf_size;
}

/*
 * Overwrite mode: make the sub-buffer at @next free by giving back the
 * oldest packet, which sits there, as the consumer would.  1: @next is
 * free now (retry the reservation); 0: it cannot be freed now - the
 * oldest packet is still being committed, or the consumer or another
 * writer owns it - so the caller drops its event; -1: @consumed moved
 * under us, retry.
 */
static int rb_reclaim(struct tmk_rb *rb, unsigned long next)
{
	unsigned long cons = tmk_atomic_ulong_read_acquire(&rb->consumed);
	uint32_t idx;

	if (next - cons_pos(cons) < rb->buf_size)
		return 1;
	if (cons & RB_BUSY)
		return 0;
	idx = sb_index(rb, cons);
	if (tmk_atomic_ulong_read_acquire(&rb->commit[idx]) != rb->subbuf_size)
		return 0;
	/* Own it (full barrier): from here no consumer or snapshot may
	 * trust its bytes, and no other writer reclaims it. */
	if (!tmk_atomic_ulong_cmpxchg(&rb->consumed, cons, cons | RB_BUSY))
		return -1;
	tmk_atomic_ulong_set(&rb->commit[idx], 0);
	rb->lap[idx]++;
	tmk_atomic64_inc(&rb->overwritten);
	/* Release: the reset counter and lap before anyone opens it. */
	tmk_atomic_ulong_set_release(&rb->consumed, cons + rb->subbuf_size);
	return 1;
}

static inline void sb_commit(struct tmk_rb *rb, uint32_t idx,
			     unsigned long bytes)
{
	if (bytes)
		tmk_atomic_ulong_add_return_release(&rb->commit[idx], bytes);
}

/* Open half of the header (§4.1), then commit the header's bytes. */
static void rb_open(struct tmk_rb *rb, unsigned long pkt, uint64_t ts)
{
	uint32_t idx = sb_index(rb, pkt);
	/* §1.6: every sub-buffer boundary crossed is one packet, numbered in
	 * order.  lap * nr + idx rather than offset / subbuf_size so the
	 * 64-bit number survives a 32-bit @offset wrapping. */
	uint64_t seq = rb->lap[idx] * rb->nr_subbufs + idx;

	tmk_pkt_write_open(sb_mem(rb, idx), rb->uuid, rb->pkt_flags,
			   rb->stream_class_id, rb->stream_instance_id, seq, ts,
			   (uint32_t)rb->subbuf_size);
	sb_commit(rb, idx, TMK_PKT_HEADER_LEN);
}

/*
 * Close half of the header, then commit the padding.  @ts is the
 * closer's own timestamp, read after every record of the packet was
 * reserved, hence >= all of them (§4.5).  events_discarded is sampled
 * now (§10.1: "when the packet was closed").
 */
static void rb_close(struct tmk_rb *rb, unsigned long pkt, uint32_t content,
		     uint64_t ts)
{
	uint32_t idx = sb_index(rb, pkt);
	uint64_t disc = tmk_atomic64_read(&rb->discarded);

	tmk_pkt_write_close(sb_mem(rb, idx), ts, content, disc);
	/* Nested closers may store out of order; an older value only makes
	 * tmk_rb_flush() write a redundant empty packet, never miss one. */
	tmk_atomic64_set(&rb->discarded_closed, disc);
	sb_commit(rb, idx, rb->subbuf_size - content);
}

enum {
	ACT_OPEN	= 1 << 0,	/* open a packet at @open_at */
	ACT_CLOSE	= 1 << 1,	/* close the packet at @close_at */
	ACT_FILLED	= 1 << 2,	/* our record fills its packet exactly */
	ACT_DROP	= 1 << 3,	/* close only; the event is dropped */
};

int tmk_rb_reserve(struct tmk_rb *rb, struct tmk_rb_ctx *ctx, uint32_t id,
		   uint32_t payload_len)
{
	const unsigned long sb = rb->subbuf_size, mask = sb - 1;
	unsigned long old, new, rec = 0, open_at = 0, close_at = 0, next;
	uint32_t in_sb, hlen = 0, close_content = 0;
	uint64_t ts, prev, need;
	unsigned int act;

	do {
retry:
		old = tmk_atomic_ulong_read(&rb->offset);
		ts = tmk_clock_read();
		in_sb = (uint32_t)(old & mask);
		act = 0;
		if (in_sb) {
			prev = (uint64_t)tmk_atomic_u32_read(&rb->last_ts_hi)
			       << 32;
			hlen = tmk_ev_header_len(id, ts, prev);
			need = (uint64_t)hlen + payload_len;
			if (in_sb + need <= sb) {
				/* Fast path: fits in the open packet. */
				rec = old;
				new = old + (unsigned long)need;
				if (!(new & mask)) {
					act = ACT_FILLED;
					close_at = old - in_sb;
				}
				continue;
			}
			act = ACT_CLOSE;
			close_at = old - in_sb;
			close_content = in_sb;
			next = close_at + sb;
		} else {
			next = old;
		}
		/* A new packet: its first record's prev is timestamp_begin,
		 * which is our ts (§5.4), so only the ID can force the
		 * extended form. */
		hlen = tmk_ev_header_len(id, ts, ts);
		need = (uint64_t)hlen + payload_len;
		if (TMK_PKT_HEADER_LEN + need > sb)
			goto drop_too_big;
		if (!sb_free(rb, next)) {
			/* Flight recorder: overwrite the oldest packet. */
			if (rb->overwrite && rb_reclaim(rb, next))
				goto retry;
			if (!(act & ACT_CLOSE))
				goto drop_full;
			/* Close the full packet anyway so the consumer gets
			 * it, and drop this event. */
			act |= ACT_DROP;
			new = next;
			continue;
		}
		act |= ACT_OPEN;
		open_at = next;
		rec = next + TMK_PKT_HEADER_LEN;
		new = rec + (unsigned long)need;
		if (!(new & mask))
			act |= ACT_FILLED;
	} while (!tmk_atomic_ulong_cmpxchg(&rb->offset, old, new));

	if (act & ACT_DROP)
		tmk_atomic64_inc(&rb->discarded); /* counted in the close */
	if (act & ACT_CLOSE)
		rb_close(rb, close_at, close_content, ts);
	if (act & ACT_DROP)
		return -TMK_ENOBUFS;
	if (act & ACT_OPEN)
		rb_open(rb, open_at, ts);
	tmk_atomic_u32_set(&rb->last_ts_hi, (uint32_t)(ts >> 32));

	ctx->rb = rb;
	ctx->rec = rec;
	ctx->size = hlen + payload_len;
	ctx->ts = ts;
	ctx->c.p = sb_mem(rb, sb_index(rb, rec)) + (rec & mask);
	ctx->c.p += tmk_ev_header_write(ctx->c.p, id, ts, hlen);

	if (act & ACT_FILLED)
		rb_close(rb, rec & ~mask, (uint32_t)sb, ts);
	return 0;

drop_full:
	tmk_atomic64_inc(&rb->discarded);
	return -TMK_ENOBUFS;
drop_too_big:
	tmk_atomic64_inc(&rb->discarded);
	return -TMK_E2BIG;
}

void tmk_rb_commit(const struct tmk_rb_ctx *ctx)
{
	sb_commit(ctx->rb, sb_index(ctx->rb, ctx->rec), ctx->size);
}

void tmk_rb_flush(struct tmk_rb *rb)
{
	const unsigned long mask = rb->subbuf_size - 1;
	unsigned long old, new;
	uint64_t ts;
	uint32_t in_sb;

	for (;;) {
		old = tmk_atomic_ulong_read(&rb->offset);
		in_sb = (uint32_t)(old & mask);
		ts = tmk_clock_read();
		if (!in_sb) {
			if (tmk_atomic64_read(&rb->discarded) ==
			    tmk_atomic64_read(&rb->discarded_closed))
				return;		/* nothing to close or report */
			if (!sb_free(rb, old)) {
				if (rb->overwrite && rb_reclaim(rb, old))
					continue;
				return;		/* reported later */
			}
		}
		new = old - in_sb + rb->subbuf_size;
		if (tmk_atomic_ulong_cmpxchg(&rb->offset, old, new))
			break;
	}
	if (!in_sb) {
		/* An empty packet, opened and closed at once. */
		rb_open(rb, old, ts);
		rb_close(rb, old, TMK_PKT_HEADER_LEN, ts);
		return;
	}
	rb_close(rb, old - in_sb, in_sb, ts);
}

int tmk_rb_get_packet(struct tmk_rb *rb, const uint8_t **pkt, uint32_t *len)
{
	unsigned long cons;
	uint32_t idx;

	if (!rb->held) {
again:
		cons = tmk_atomic_ulong_read_acquire(&rb->consumed);
		if (cons & RB_BUSY)
			return -TMK_EAGAIN;	/* a writer is reclaiming it */
		idx = sb_index(rb, cons);
		/* Acquire: pairs with the release of every commit, so all
		 * of the packet's bytes are visible once the count is
		 * complete. */
		if (tmk_atomic_ulong_read_acquire(&rb->commit[idx]) !=
		    rb->subbuf_size)
			return -TMK_EAGAIN;
		/* Overwrite mode: own the sub-buffer, or a writer may
		 * reclaim it while we read (and seal) it in place. */
		if (rb->overwrite &&
		    !tmk_atomic_ulong_cmpxchg(&rb->consumed, cons,
					      cons | RB_BUSY))
			goto again;
		tmk_pkt_seal(sb_mem(rb, idx));
		rb->held = true;
	}
	cons = cons_pos(tmk_atomic_ulong_read(&rb->consumed));
	*pkt = sb_mem(rb, sb_index(rb, cons));
	*len = (uint32_t)rb->subbuf_size;
	return 0;
}

void tmk_rb_put_packet(struct tmk_rb *rb)
{
	unsigned long cons = cons_pos(tmk_atomic_ulong_read(&rb->consumed));
	uint32_t idx = sb_index(rb, cons);

	tmk_atomic_ulong_set(&rb->commit[idx], 0);
	rb->lap[idx]++;
	rb->held = false;
	/* Release: writers see the reset counter and lap before reuse; the
	 * store also clears RB_BUSY. */
	tmk_atomic_ulong_set_release(&rb->consumed, cons + rb->subbuf_size);
}

uint32_t tmk_rb_snapshot(struct tmk_rb *rb, uint8_t *dst, uint32_t max)
{
	const unsigned long sb = rb->subbuf_size;
	unsigned long cons, end, p, now;
	uint32_t n = 0, idx;
	uint8_t *copy;

	cons = cons_pos(tmk_atomic_ulong_read_acquire(&rb->consumed));
	/* Packets before the sub-buffer of @offset are closed; the one at
	 * it is open or not opened yet. */
	end = tmk_atomic_ulong_read(&rb->offset) & ~(sb - 1);
	if (end - cons > rb->buf_size)	/* writers lapped us meanwhile */
		cons = end - rb->buf_size;
	for (p = cons; p != end && n < max; p += sb) {
		idx = sb_index(rb, p);
		/* Acquire: the packet's bytes are visible if complete.  The
		 * count belongs to the packet at @p, not an older lap: a
		 * reclaim resets it before @consumed passes the older one. */
		if (tmk_atomic_ulong_read_acquire(&rb->commit[idx]) != sb)
			continue;		/* still being written */
		copy = dst + (unsigned long)n * sb;
		tmk_memcpy(copy, sb_mem(rb, idx), sb);
		/* Seqlock-style validation: a writer owns @consumed (full
		 * barrier) before it writes into a reclaimed sub-buffer, so
		 * if after the copy @consumed has not passed @p and nobody
		 * else owns @p, the copy is the packet at @p, whole. */
		tmk_smp_rmb();
		now = tmk_atomic_ulong_read(&rb->consumed);
		if (p - cons_pos(now) >= rb->buf_size)
			continue;		/* reclaimed during the copy */
		if (cons_pos(now) == p && (now & RB_BUSY) && !rb->held)
			continue;		/* being reclaimed */
		tmk_pkt_seal(copy);
		n++;
	}
	return n;
}

int tmk_chan_init(struct tmk_chan *ch, const struct tmk_rb_config *cfg,
		  const uint8_t uuid[16], unsigned int nr_cpus)
{
	unsigned int i;
	int ret;

	ch->nr_cpus = 0;
	ch->bufs = tmk_zalloc(nr_cpus * sizeof(*ch->bufs));
	if (!ch->bufs)
		return -TMK_ENOMEM;
	for (i = 0; i < nr_cpus; i++) {
		ret = tmk_rb_init(&ch->bufs[i], cfg, uuid, i);
		if (ret) {
			tmk_chan_destroy(ch);
			return ret;
		}
		ch->nr_cpus = i + 1;
	}
	return 0;
}

void tmk_chan_destroy(struct tmk_chan *ch)
{
	unsigned int i;

	for (i = 0; i < ch->nr_cpus; i++)
		tmk_rb_destroy(&ch->bufs[i]);
	tmk_free(ch->bufs);
	ch->bufs = NULL;
	ch->nr_cpus = 0;
}
