/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * tmk_encode.h - stores of wire values in the trace byte order (§2.1: the
 * writer's native order, so no swapping anywhere), packet header encode
 * (§4), event header encode (§5) and payload helpers (§6).
 *
 * Records are packed without alignment (§6.1), so every multi-byte store
 * goes through __builtin_memcpy with a constant size: the compiler turns
 * it into one (possibly unaligned) store where the target allows it and
 * into byte stores where it does not, with no undefined behaviour.
 */
#ifndef TMK_ENCODE_H
#define TMK_ENCODE_H

#include "tmk_wire.h"

static inline void tmk_st8(void *p, uint8_t v)
{
	*(uint8_t *)p = v;
}

static inline void tmk_st16(void *p, uint16_t v)
{
	__builtin_memcpy(p, &v, sizeof(v));
}

static inline void tmk_st32(void *p, uint32_t v)
{
	__builtin_memcpy(p, &v, sizeof(v));
}

static inline void tmk_st64(void *p, uint64_t v)
{
	__builtin_memcpy(p, &v, sizeof(v));
}

static inline uint32_t tmk_ld32(const void *p)
{
	uint32_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t tmk_ld64(const void *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline bool tmk_host_is_big_endian(void)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return true;
#else
	return false;
#endif
}

/* ---- Packet header (§4) ---------------------------------------------- */

/*
 * A packet header is written in two disjoint halves because, in the ring
 * buffer, the context that opens a packet and the one that closes it may
 * run in either order (an interrupt can fill and close a packet whose
 * opener has not yet stored its header).  Neither half touches the
 * other's bytes.
 */
void tmk_pkt_write_open(void *pkt, const uint8_t uuid[16], uint32_t flags,
			uint32_t stream_class_id, uint32_t stream_instance_id,
			uint64_t sequence, uint64_t ts_begin,
			uint32_t packet_size);
void tmk_pkt_write_close(void *pkt, uint64_t ts_end, uint32_t content_size,
			 uint64_t events_discarded);
/* Zero the padding (§4.2 SHOULD) and store the CRC (§4.4) if HAS_CRC. */
void tmk_pkt_seal(void *pkt);
/* The §4.4 CRC of a complete packet, as stored or as it should be. */
uint32_t tmk_pkt_crc(const void *pkt);

/* ---- Event header (§5) ------------------------------------------------ */

/*
 * §5.4 writer rule.  @prev may be any lower bound of the true previous
 * timestamp of the packet: if ts - lower < 2^48 then ts - prev < 2^48
 * too, so the compact form stays decodable (§5.6).  The ring buffer
 * relies on this to avoid a 64-bit atomic on 32-bit targets.
 */
static inline uint32_t tmk_ev_header_len(uint32_t id, uint64_t ts,
					 uint64_t prev)
{
	if (id >= TMK_EV_ID_EXTENDED || ts - prev > TMK_EV_TS_MASK)
		return TMK_EV_EXTENDED_LEN;
	return TMK_EV_COMPACT_LEN;
}

/* Write a header of length @len (from tmk_ev_header_len); returns @len. */
static inline uint32_t tmk_ev_header_write(void *p, uint32_t id, uint64_t ts,
					   uint32_t len)
{
	uint8_t *b = p;

	if (len == TMK_EV_COMPACT_LEN) {
		tmk_st64(b, ((uint64_t)id << TMK_EV_TS_BITS) |
			    (ts & TMK_EV_TS_MASK));
		return len;
	}
	/* §5.3: id16 = 0xFFFF and low 48 bits MUST be 0. */
	tmk_st64(b, (uint64_t)TMK_EV_ID_EXTENDED << TMK_EV_TS_BITS);
	tmk_st32(b + 8, id);
	tmk_st64(b + 12, ts);
	return len;
}

/* ---- Payload (§6) ----------------------------------------------------- */

/*
 * A cursor into a reserved record.  The caller computed the payload size
 * before reserving, so the helpers do no bounds checks: they are plain
 * stores, which is the point of a packed format (§6 rationale).
 */
struct tmk_cursor {
	uint8_t *p;
};

#define TMK_DEFINE_PUT(name, ctype)					\
static inline void tmk_put_##name(struct tmk_cursor *c, ctype v)	\
{									\
	__builtin_memcpy(c->p, &v, sizeof(v));				\
	c->p += sizeof(v);						\
}

/* §6.2 fixed-size */
TMK_DEFINE_PUT(u8, uint8_t)
TMK_DEFINE_PUT(u16, uint16_t)
TMK_DEFINE_PUT(u32, uint32_t)
TMK_DEFINE_PUT(u64, uint64_t)
TMK_DEFINE_PUT(i8, int8_t)
TMK_DEFINE_PUT(i16, int16_t)
TMK_DEFINE_PUT(i32, int32_t)
TMK_DEFINE_PUT(i64, int64_t)
/* §6.3 ABI-sized: sizeof() of the writer's own C types, which is exactly
 * what its TRACE record declares (§3.3). */
TMK_DEFINE_PUT(short, short)
TMK_DEFINE_PUT(ushort, unsigned short)
TMK_DEFINE_PUT(int, int)
TMK_DEFINE_PUT(uint, unsigned int)
TMK_DEFINE_PUT(long, long)
TMK_DEFINE_PUT(ulong, unsigned long)
TMK_DEFINE_PUT(llong, long long)
TMK_DEFINE_PUT(ullong, unsigned long long)
TMK_DEFINE_PUT(size, size_t)
#undef TMK_DEFINE_PUT

/* ssize_t is not a C11 type; it is "size_t-sized, signed" (§6.3). */
static inline void tmk_put_ssize(struct tmk_cursor *c, long long v)
{
	if (sizeof(size_t) == 8) {
		int64_t x = (int64_t)v;

		__builtin_memcpy(c->p, &x, 8);
	} else {
		int32_t x = (int32_t)v;

		__builtin_memcpy(c->p, &x, 4);
	}
	c->p += sizeof(size_t);
}

/* Pointers travel as the unsigned integer of the pointer's size. */
static inline void tmk_put_ptr(struct tmk_cursor *c, const void *v)
{
	uintptr_t x = (uintptr_t)v;

	__builtin_memcpy(c->p, &x, sizeof(void *));
	c->p += sizeof(void *);
}

static inline void tmk_put_bool(struct tmk_cursor *c, bool v)
{
	*c->p++ = v ? 1 : 0;	/* §6.2: any other value is malformed */
}

/* Floats as IEEE bit patterns: usable where the FPU is not (kernel). */
static inline void tmk_put_f32_bits(struct tmk_cursor *c, uint32_t bits)
{
	tmk_put_u32(c, bits);
}

static inline void tmk_put_f64_bits(struct tmk_cursor *c, uint64_t bits)
{
	tmk_put_u64(c, bits);
}

#ifdef TMK_HAVE_FLOAT
static inline void tmk_put_f32(struct tmk_cursor *c, float v)
{
	__builtin_memcpy(c->p, &v, 4);
	c->p += 4;
}

static inline void tmk_put_f64(struct tmk_cursor *c, double v)
{
	__builtin_memcpy(c->p, &v, 8);
	c->p += 8;
}
#endif

static inline void tmk_put_bytes(struct tmk_cursor *c, const void *src,
				 size_t len)
{
	if (len)
		tmk_memcpy(c->p, src, len);
	c->p += len;
}

/* Bytes of a string field including its NUL, the source read up to @max
 * bytes (so a fixed-size array like task->comm needs no terminator). */
static inline uint32_t tmk_strnsize(const char *s, size_t max)
{
	size_t n = 0;

	if (!s)
		return 1;
	while (n < max && s[n])
		n++;
	return (uint32_t)n + 1;
}

static inline uint32_t tmk_strsize(const char *s)
{
	return tmk_strnsize(s, 65535);
}

/*
 * Store a §6.4 string field of exactly @size bytes (from tmk_strnsize).
 * If the source changed since it was measured and got shorter, a NUL
 * inside the field would shift every following field, so the tail is
 * filled with '?' instead; if it got longer it is cut.  Either way the
 * record keeps the length that was reserved.
 */
void tmk_put_string(struct tmk_cursor *c, const char *s, uint32_t size);

/* §6.4 blob: u32 length, then bytes. */
static inline void tmk_put_blob(struct tmk_cursor *c, const void *data,
				uint32_t len)
{
	tmk_put_u32(c, len);
	tmk_put_bytes(c, data, len);
}

/* §6.4 sequence prefix: the elements follow, written by the caller. */
static inline void tmk_put_seq_count(struct tmk_cursor *c, uint32_t count)
{
	tmk_put_u32(c, count);
}

/* Arrays, enums and structs have no framing of their own (§6.4): an
 * array is its elements, an enum its integer, a struct its fields. */

#endif /* TMK_ENCODE_H */
