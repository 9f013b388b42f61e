// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * tmk_ffi.c - a flat C API over the probe writer core for the Rust
 * binding (probe/rust).  One handle owns a channel (one ring buffer per
 * CPU), a metadata stream and one open reservation at a time.  The core's
 * payload puts are static inline; each gets an exported wrapper here that
 * also refuses to write past the reservation, so a caller's size error
 * cannot corrupt the ring (the Rust side validates before calling anyway).
 *
 * The clock is a thread-local value the caller sets before every call
 * that may read it (reserve, marker, flush): deterministic timestamps.
 */
#include "../../core/tmk_meta.h"
#include "../../core/tmk_rb.h"
#include "../../core/tmk_marker.h"

struct tmk_ffi_config {
	uint32_t subbuf_size;
	uint32_t nr_subbufs;
	uint32_t nr_cpus;
	uint32_t stream_class_id;
	uint32_t meta_pkt_size;
	uint32_t meta_max_pkts;
	uint8_t crc;
	uint8_t overwrite;
	uint8_t uuid[16];
	const char *os_name;
	const char *os_release;
	const char *architecture;
	const char *hostname;
	const char *tracer_name;
	const char *tracer_version;
};

struct tmk_ffi_writer {
	struct tmk_chan chan;
	struct tmk_meta_stream meta;
	uint8_t *meta_mem;
	struct tmk_rb_ctx ctx;
	uint8_t *end;		/* end of the open reservation's payload */
	bool open;		/* a reservation is open */
	bool overflow;		/* a put did not fit: refused */
};

/* Prototypes: these are the exported API (-Wmissing-prototypes). */
void tmk_ffi_layout(uint32_t out[16]);
void tmk_ffi_install_clock(void);
void tmk_ffi_set_now(uint64_t now);
struct tmk_ffi_writer *tmk_ffi_new(const struct tmk_ffi_config *cfg, int *err);
void tmk_ffi_free(struct tmk_ffi_writer *w);
int tmk_ffi_meta_clock(struct tmk_ffi_writer *w,
		       const struct tmk_clock_desc *c);
int tmk_ffi_meta_stream_class(struct tmk_ffi_writer *w, uint32_t id,
			      uint32_t clock_id, const char *name);
int tmk_ffi_meta_env_str(struct tmk_ffi_writer *w, const char *key,
			 const char *val);
int tmk_ffi_meta_env_i64(struct tmk_ffi_writer *w, const char *key,
			 int64_t val);
int tmk_ffi_meta_event_class(struct tmk_ffi_writer *w,
			     const struct tmk_event_class *ec);
const uint8_t *tmk_ffi_meta_mem(struct tmk_ffi_writer *w, size_t *len);
int tmk_ffi_fmt_next(const char *fmt, size_t *pos, uint8_t *code);
int tmk_ffi_reserve(struct tmk_ffi_writer *w, uint32_t cpu, uint32_t id,
		    uint32_t payload_len);
int tmk_ffi_commit(struct tmk_ffi_writer *w);
int tmk_ffi_marker(struct tmk_ffi_writer *w, uint32_t cpu,
		   const struct tmk_event_class *ec,
		   const union tmk_marker_arg *argv, uint32_t nargs);
void tmk_ffi_flush(struct tmk_ffi_writer *w, uint32_t cpu);
int tmk_ffi_get_packet(struct tmk_ffi_writer *w, uint32_t cpu,
		       const uint8_t **pkt, uint32_t *len);
void tmk_ffi_put_packet(struct tmk_ffi_writer *w, uint32_t cpu);
uint32_t tmk_ffi_snapshot(struct tmk_ffi_writer *w, uint32_t cpu,
			  uint8_t *dst, uint32_t max);
uint64_t tmk_ffi_discarded(struct tmk_ffi_writer *w, uint32_t cpu);
uint64_t tmk_ffi_overwritten(struct tmk_ffi_writer *w, uint32_t cpu);

#define OFF(t, m) ((uint32_t)__builtin_offsetof(t, m))

/* Sizes and offsets of the structs the Rust side mirrors. */
void tmk_ffi_layout(uint32_t out[16])
{
	out[0] = sizeof(struct tmk_enum_map);
	out[1] = OFF(struct tmk_enum_map, hi);
	out[2] = sizeof(struct tmk_type);
	out[3] = OFF(struct tmk_type, length);
	out[4] = OFF(struct tmk_type, fields);
	out[5] = sizeof(struct tmk_field);
	out[6] = OFF(struct tmk_field, type);
	out[7] = sizeof(struct tmk_event_class);
	out[8] = OFF(struct tmk_event_class, nr_fields);
	out[9] = OFF(struct tmk_event_class, format);
	out[10] = sizeof(struct tmk_clock_desc);
	out[11] = OFF(struct tmk_clock_desc, description);
	out[12] = sizeof(union tmk_marker_arg);
	out[13] = sizeof(struct tmk_ffi_config);
	out[14] = OFF(struct tmk_ffi_config, uuid);
	out[15] = OFF(struct tmk_ffi_config, tracer_version);
}

static _Thread_local uint64_t ffi_now;

static uint64_t ffi_clock(void)
{
	return ffi_now;
}

/* Once per process, before any writer exists (the shim's clock is a
 * process-wide pointer). */
void tmk_ffi_install_clock(void)
{
	tmk_shim_set_clock(ffi_clock);
}

void tmk_ffi_set_now(uint64_t now)
{
	ffi_now = now;
}

struct tmk_ffi_writer *tmk_ffi_new(const struct tmk_ffi_config *cfg, int *err)
{
	const struct tmk_rb_config rcfg = {
		.subbuf_size = cfg->subbuf_size,
		.nr_subbufs = cfg->nr_subbufs,
		.stream_class_id = cfg->stream_class_id,
		.crc = cfg->crc,
		.overwrite = cfg->overwrite,
	};
	struct tmk_trace_desc td = {
		.os_name = cfg->os_name,
		.os_release = cfg->os_release,
		.architecture = cfg->architecture,
		.hostname = cfg->hostname,
		.tracer_name = cfg->tracer_name,
		.tracer_version = cfg->tracer_version,
	};
	size_t cap = (size_t)cfg->meta_pkt_size * cfg->meta_max_pkts;
	struct tmk_ffi_writer *w;

	*err = -TMK_ENOMEM;
	w = tmk_zalloc(sizeof(*w));
	if (!w)
		return NULL;
	w->meta_mem = tmk_zalloc(cap);
	if (!w->meta_mem) {
		tmk_free(w);
		return NULL;
	}
	tmk_memcpy(td.uuid, cfg->uuid, 16);
	*err = tmk_meta_stream_init(&w->meta, w->meta_mem, cap,
				    cfg->meta_pkt_size, &td, cfg->crc);
	if (!*err)
		*err = tmk_chan_init(&w->chan, &rcfg, cfg->uuid, cfg->nr_cpus);
	if (*err) {
		tmk_free(w->meta_mem);
		tmk_free(w);
		return NULL;
	}
	return w;
}

void tmk_ffi_free(struct tmk_ffi_writer *w)
{
	tmk_chan_destroy(&w->chan);
	tmk_free(w->meta_mem);
	tmk_free(w);
}

/* ---- metadata ------------------------------------------------------------ */

struct sc_arg {
	uint32_t id, clock_id;
	const char *name;
};

struct env_arg {
	const char *key, *str;
	int64_t i;
};

static int enc_clock(struct tmk_sink *s, const void *arg)
{
	return tmk_meta_clock(s, arg);
}

static int enc_sc(struct tmk_sink *s, const void *arg)
{
	const struct sc_arg *a = arg;

	return tmk_meta_stream_class(s, a->id, a->clock_id, a->name);
}

static int enc_env(struct tmk_sink *s, const void *arg)
{
	const struct env_arg *a = arg;

	return a->str ? tmk_meta_env_str(s, a->key, a->str)
		      : tmk_meta_env_i64(s, a->key, a->i);
}

int tmk_ffi_meta_clock(struct tmk_ffi_writer *w,
		       const struct tmk_clock_desc *c)
{
	return tmk_meta_stream_append(&w->meta, enc_clock, c);
}

int tmk_ffi_meta_stream_class(struct tmk_ffi_writer *w, uint32_t id,
			      uint32_t clock_id, const char *name)
{
	struct sc_arg a = { id, clock_id, name };

	return tmk_meta_stream_append(&w->meta, enc_sc, &a);
}

int tmk_ffi_meta_env_str(struct tmk_ffi_writer *w, const char *key,
			 const char *val)
{
	struct env_arg a = { key, val, 0 };

	return tmk_meta_stream_append(&w->meta, enc_env, &a);
}

int tmk_ffi_meta_env_i64(struct tmk_ffi_writer *w, const char *key,
			 int64_t val)
{
	struct env_arg a = { key, NULL, val };

	return tmk_meta_stream_append(&w->meta, enc_env, &a);
}

int tmk_ffi_meta_event_class(struct tmk_ffi_writer *w,
			     const struct tmk_event_class *ec)
{
	return tmk_meta_stream_add_event_class(&w->meta, ec);
}

const uint8_t *tmk_ffi_meta_mem(struct tmk_ffi_writer *w, size_t *len)
{
	*len = tmk_meta_stream_len(&w->meta);
	return w->meta_mem;
}

/* One §8 pair: 1 with its type code, 0 at the end, <0 if invalid. */
int tmk_ffi_fmt_next(const char *fmt, size_t *pos, uint8_t *code)
{
	struct tmk_fmt_pair pr;
	int r = tmk_fmt_next(fmt, pos, &pr);

	if (r == 1)
		*code = pr.code;
	return r;
}

/* ---- events ---------------------------------------------------------------- */

int tmk_ffi_reserve(struct tmk_ffi_writer *w, uint32_t cpu, uint32_t id,
		    uint32_t payload_len)
{
	int r;

	if (w->open || cpu >= w->chan.nr_cpus)
		return -TMK_EINVAL;
	r = tmk_rb_reserve(&w->chan.bufs[cpu], &w->ctx, id, payload_len);
	if (r)
		return r;
	w->end = w->ctx.c.p + payload_len;
	w->open = true;
	w->overflow = false;
	return 0;
}

/* Commit the open reservation.  A short or refused payload is zero-filled
 * (the record must keep its reserved size) and reported. */
int tmk_ffi_commit(struct tmk_ffi_writer *w)
{
	bool bad;

	if (!w->open)
		return -TMK_EINVAL;
	bad = w->overflow || w->ctx.c.p != w->end;
	if (w->ctx.c.p < w->end)
		tmk_memset(w->ctx.c.p, 0, (size_t)(w->end - w->ctx.c.p));
	tmk_rb_commit(&w->ctx);
	w->open = false;
	return bad ? -TMK_EINVAL : 0;
}

static bool room(struct tmk_ffi_writer *w, size_t n)
{
	if (!w->open || w->overflow || (size_t)(w->end - w->ctx.c.p) < n) {
		w->overflow = true;
		return false;
	}
	return true;
}

#define FFI_PUT(name, ctype)						\
void tmk_ffi_put_##name(struct tmk_ffi_writer *w, ctype v);		\
void tmk_ffi_put_##name(struct tmk_ffi_writer *w, ctype v)		\
{									\
	if (room(w, sizeof(ctype)))					\
		tmk_put_##name(&w->ctx.c, v);				\
}

FFI_PUT(bool, bool)
FFI_PUT(u8, uint8_t)
FFI_PUT(u16, uint16_t)
FFI_PUT(u32, uint32_t)
FFI_PUT(u64, uint64_t)
FFI_PUT(i8, int8_t)
FFI_PUT(i16, int16_t)
FFI_PUT(i32, int32_t)
FFI_PUT(i64, int64_t)
FFI_PUT(f32, float)
FFI_PUT(f64, double)
FFI_PUT(short, short)
FFI_PUT(ushort, unsigned short)
FFI_PUT(int, int)
FFI_PUT(uint, unsigned int)
FFI_PUT(long, long)
FFI_PUT(ulong, unsigned long)
FFI_PUT(llong, long long)
FFI_PUT(ullong, unsigned long long)
FFI_PUT(size, size_t)
FFI_PUT(seq_count, uint32_t)
#undef FFI_PUT

void tmk_ffi_put_ssize(struct tmk_ffi_writer *w, long long v);
void tmk_ffi_put_ssize(struct tmk_ffi_writer *w, long long v)
{
	if (room(w, sizeof(size_t)))
		tmk_put_ssize(&w->ctx.c, v);
}

void tmk_ffi_put_ptr(struct tmk_ffi_writer *w, uintptr_t v);
void tmk_ffi_put_ptr(struct tmk_ffi_writer *w, uintptr_t v)
{
	if (room(w, sizeof(void *)))
		tmk_put_ptr(&w->ctx.c, (const void *)v);
}

/* @s NUL-terminated; @size = the field's bytes including the NUL. */
void tmk_ffi_put_string(struct tmk_ffi_writer *w, const char *s,
			uint32_t size);
void tmk_ffi_put_string(struct tmk_ffi_writer *w, const char *s,
			uint32_t size)
{
	if (size && room(w, size))
		tmk_put_string(&w->ctx.c, s, size);
	else
		w->overflow = true;
}

void tmk_ffi_put_blob(struct tmk_ffi_writer *w, const uint8_t *data,
		      uint32_t len);
void tmk_ffi_put_blob(struct tmk_ffi_writer *w, const uint8_t *data,
		      uint32_t len)
{
	if (room(w, (size_t)len + 4))
		tmk_put_blob(&w->ctx.c, data, len);
}

int tmk_ffi_marker(struct tmk_ffi_writer *w, uint32_t cpu,
		   const struct tmk_event_class *ec,
		   const union tmk_marker_arg *argv, uint32_t nargs)
{
	if (w->open || cpu >= w->chan.nr_cpus ||
	    ec->layout_kind != TMK_LAYOUT_MARKER || !ec->format)
		return -TMK_EINVAL;
	return tmk_marker_write_argv(&w->chan.bufs[cpu], ec, argv, nargs);
}

/* ---- consumer ---------------------------------------------------------------- */

void tmk_ffi_flush(struct tmk_ffi_writer *w, uint32_t cpu)
{
	if (cpu < w->chan.nr_cpus && !w->open)
		tmk_rb_flush(&w->chan.bufs[cpu]);
}

int tmk_ffi_get_packet(struct tmk_ffi_writer *w, uint32_t cpu,
		       const uint8_t **pkt, uint32_t *len)
{
	if (cpu >= w->chan.nr_cpus)
		return -TMK_EINVAL;
	return tmk_rb_get_packet(&w->chan.bufs[cpu], pkt, len);
}

void tmk_ffi_put_packet(struct tmk_ffi_writer *w, uint32_t cpu)
{
	if (cpu < w->chan.nr_cpus && w->chan.bufs[cpu].held)
		tmk_rb_put_packet(&w->chan.bufs[cpu]);
}

uint32_t tmk_ffi_snapshot(struct tmk_ffi_writer *w, uint32_t cpu,
			  uint8_t *dst, uint32_t max)
{
	if (cpu >= w->chan.nr_cpus)
		return 0;
	return tmk_rb_snapshot(&w->chan.bufs[cpu], dst, max);
}

uint64_t tmk_ffi_discarded(struct tmk_ffi_writer *w, uint32_t cpu)
{
	return cpu < w->chan.nr_cpus ? tmk_rb_discarded(&w->chan.bufs[cpu]) : 0;
}

uint64_t tmk_ffi_overwritten(struct tmk_ffi_writer *w, uint32_t cpu)
{
	return cpu < w->chan.nr_cpus ? tmk_rb_overwritten(&w->chan.bufs[cpu])
				     : 0;
}
