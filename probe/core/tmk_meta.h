/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * tmk_meta.h - metadata records (§7), type descriptors (§7.7), identity
 * hash (§7.8), marker format strings (§8) and the metadata stream.
 */
#ifndef TMK_META_H
#define TMK_META_H

#include "tmk_encode.h"

struct tmk_field;

struct tmk_enum_map {
	const char *label;
	/* Bit patterns (§7.7): for a signed underlying type store
	 * (uint64_t)(int64_t)value. */
	uint64_t lo;
	uint64_t hi;
};

/*
 * A type descriptor.  Which members matter depends on @code:
 *   ARRAY:    @length, @elem
 *   SEQUENCE: @elem
 *   ENUM:     @elem (an integer type, §6.6), @maps/@nr
 *   STRUCT:   @fields/@nr
 * Everything else uses @code only.
 */
struct tmk_type {
	uint8_t code;
	uint16_t nr;
	uint32_t length;
	const struct tmk_type *elem;
	const struct tmk_enum_map *maps;
	const struct tmk_field *fields;
};

struct tmk_field {
	const char *name;
	const struct tmk_type *type;
};

/* Scalar descriptors, one per code, for building field lists. */
#define TMK_TYPE_SCALAR(c) { .code = (c) }
extern const struct tmk_type tmk_type_bool, tmk_type_u8, tmk_type_u16,
	tmk_type_u32, tmk_type_u64, tmk_type_i8, tmk_type_i16, tmk_type_i32,
	tmk_type_i64, tmk_type_f32, tmk_type_f64, tmk_type_short,
	tmk_type_ushort, tmk_type_int, tmk_type_uint, tmk_type_long,
	tmk_type_ulong, tmk_type_llong, tmk_type_ullong, tmk_type_size_t,
	tmk_type_ssize_t, tmk_type_pointer, tmk_type_string, tmk_type_blob;

struct tmk_event_class {
	uint32_t id;
	uint32_t stream_class_id;
	uint8_t log_level;
	uint8_t layout_kind;		/* TMK_LAYOUT_FIELDS or _MARKER */
	const char *name;
	const struct tmk_field *fields;	/* layout_kind 0 */
	uint16_t nr_fields;
	const char *format;		/* layout_kind 1 */
};

/*
 * A byte sink.  In encode mode it appends native-order bytes to @buf (up
 * to @cap; @len keeps counting past it so the caller learns the size
 * needed).  In hash mode it feeds FNV-1a with every multi-byte number in
 * little-endian order: §7.8's canonical form.  One walker serves both,
 * so the hash cannot drift from what is written.
 */
struct tmk_sink {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool hash;
	uint64_t fnv;
	int err;
};

void tmk_sink_init(struct tmk_sink *s, void *buf, size_t cap);
void tmk_sink_init_hash(struct tmk_sink *s);

/* §7.8 identity of an event class; 0 and *err < 0 if it is invalid. */
uint64_t tmk_event_class_identity(const struct tmk_event_class *ec, int *err);

/* Encode one record (envelope included) into @s.  Return 0 or -errno;
 * @s->len is the record's size either way. */
struct tmk_trace_desc {
	uint8_t uuid[16];
	const char *os_name;
	const char *os_release;
	const char *architecture;
	const char *hostname;
	const char *tracer_name;
	const char *tracer_version;
};

struct tmk_clock_desc {
	uint32_t clock_id;
	uint64_t frequency;
	int64_t offset_ns;
	uint64_t precision;
	const char *name;
	const char *description;
};

int tmk_meta_trace(struct tmk_sink *s, const struct tmk_trace_desc *t);
int tmk_meta_clock(struct tmk_sink *s, const struct tmk_clock_desc *c);
int tmk_meta_stream_class(struct tmk_sink *s, uint32_t id, uint32_t clock_id,
			  const char *name);
int tmk_meta_event_class(struct tmk_sink *s, const struct tmk_event_class *ec);
int tmk_meta_env_str(struct tmk_sink *s, const char *key, const char *val);
int tmk_meta_env_i64(struct tmk_sink *s, const char *key, int64_t val);

/* ---- Marker format strings (§8) -------------------------------------- */

struct tmk_fmt_pair {
	const char *name;
	uint16_t name_len;
	uint8_t code;		/* §6 type code the conversion maps to */
	char spec;		/* conversion letter, display hint */
};

/*
 * Iterate over a format string: *pos starts at 0.  Returns 1 with @out
 * filled, 0 at the end, -TMK_EINVAL on text outside the §8.1 grammar or
 * a conversion §8.2 forbids.
 */
int tmk_fmt_next(const char *fmt, size_t *pos, struct tmk_fmt_pair *out);
/* Whole-string check, duplicates included (§8.2).  0 or -TMK_EINVAL. */
int tmk_fmt_validate(const char *fmt);

/*
 * The most %s conversions a marker class may have in this writer (pass 1
 * keeps each string's size on the stack).  A writer limit, not the spec's:
 * tmk_meta_event_class() refuses a class over it, so that its records are
 * not each refused later.
 */
#define TMK_MARKER_MAX_STRINGS 16
/* Number of string conversions in a valid format, or -TMK_EINVAL. */
int tmk_fmt_strings(const char *fmt);

/* ---- Metadata stream ---------------------------------------------------- */

/*
 * The metadata stream: fixed-size packets in one caller-provided buffer.
 * Records are appended under a lock (appends are rare: setup and first
 * use of a marker, §7.10).  After every append the current packet is
 * resealed (content_size, CRC), so the bytes up to tmk_meta_stream_len()
 * are at all times a valid metadata stream that a consumer may copy.
 */
struct tmk_meta_stream {
	uint8_t *mem;
	size_t cap;
	uint32_t pkt_size;
	uint32_t nr_pkts;	/* packets started */
	uint32_t cur_content;	/* content_size of the last packet */
	uint8_t uuid[16];
	bool crc;
	tmk_spinlock_t lock;
};

/* Writes the TRACE record first, as §7.3 requires. */
int tmk_meta_stream_init(struct tmk_meta_stream *ms, void *mem, size_t cap,
			 uint32_t pkt_size, const struct tmk_trace_desc *t,
			 bool crc);

/* Append: @enc encodes one record into the sink it is given. */
typedef int (*tmk_meta_enc_fn)(struct tmk_sink *s, const void *arg);
int tmk_meta_stream_append(struct tmk_meta_stream *ms, tmk_meta_enc_fn enc,
			   const void *arg);
int tmk_meta_stream_add_event_class(struct tmk_meta_stream *ms,
				    const struct tmk_event_class *ec);
size_t tmk_meta_stream_len(struct tmk_meta_stream *ms);

#endif /* TMK_META_H */
