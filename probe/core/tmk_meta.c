// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * Metadata records (§7), type descriptors (§7.7) and the identity hash
 * (§7.8).  Runs at setup time only, never in a probe.
 */
#include "tmk_meta.h"
#include "tmk_crc32.h"

#define SCALAR(n, c) const struct tmk_type tmk_type_##n = TMK_TYPE_SCALAR(c)
SCALAR(bool, TMK_T_BOOL);
SCALAR(u8, TMK_T_U8);
SCALAR(u16, TMK_T_U16);
SCALAR(u32, TMK_T_U32);
SCALAR(u64, TMK_T_U64);
SCALAR(i8, TMK_T_I8);
SCALAR(i16, TMK_T_I16);
SCALAR(i32, TMK_T_I32);
SCALAR(i64, TMK_T_I64);
SCALAR(f32, TMK_T_F32);
SCALAR(f64, TMK_T_F64);
SCALAR(short, TMK_T_SHORT);
SCALAR(ushort, TMK_T_USHORT);
SCALAR(int, TMK_T_INT);
SCALAR(uint, TMK_T_UINT);
SCALAR(long, TMK_T_LONG);
SCALAR(ulong, TMK_T_ULONG);
SCALAR(llong, TMK_T_LLONG);
SCALAR(ullong, TMK_T_ULLONG);
SCALAR(size_t, TMK_T_SIZE_T);
SCALAR(ssize_t, TMK_T_SSIZE_T);
SCALAR(pointer, TMK_T_POINTER);
SCALAR(string, TMK_T_STRING);
SCALAR(blob, TMK_T_BLOB);
#undef SCALAR

/* ---- Sink --------------------------------------------------------------- */

void tmk_sink_init(struct tmk_sink *s, void *buf, size_t cap)
{
	s->buf = buf;
	s->cap = cap;
	s->len = 0;
	s->hash = false;
	s->fnv = TMK_FNV_OFFSET;
	s->err = 0;
}

void tmk_sink_init_hash(struct tmk_sink *s)
{
	tmk_sink_init(s, NULL, 0);
	s->hash = true;
}

static void sink_fnv(struct tmk_sink *s, const uint8_t *p, size_t n)
{
	while (n--) {
		s->fnv ^= *p++;
		s->fnv *= TMK_FNV_PRIME;
	}
}

static void sink_bytes(struct tmk_sink *s, const void *p, size_t n)
{
	if (s->hash)
		sink_fnv(s, p, n);
	else if (n && s->len + n <= s->cap)
		tmk_memcpy(s->buf + s->len, p, n);
	s->len += n;
}

/*
 * A number of @n bytes: native order on the wire (§2.1), little-endian
 * for the hash (§7.8).
 */
static void sink_num(struct tmk_sink *s, uint64_t v, unsigned int n)
{
	uint8_t le[8];
	unsigned int i;

	if (s->hash) {
		for (i = 0; i < n; i++)
			le[i] = (uint8_t)(v >> (8 * i));
		sink_fnv(s, le, n);
		s->len += n;
		return;
	}
	if (s->len + n <= s->cap) {
		uint8_t *d = s->buf + s->len;

		switch (n) {
		case 1: tmk_st8(d, (uint8_t)v); break;
		case 2: tmk_st16(d, (uint16_t)v); break;
		case 4: tmk_st32(d, (uint32_t)v); break;
		default: tmk_st64(d, v); break;
		}
	}
	s->len += n;
}

static size_t tmk_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* §7.2 str: u16 length, bytes, no terminator. */
static void sink_str(struct tmk_sink *s, const char *str)
{
	size_t n = str ? tmk_strlen(str) : 0;

	if (n > 0xFFFF) {
		s->err = -TMK_E2BIG;
		n = 0;
	}
	sink_num(s, n, 2);
	sink_bytes(s, str, n);
}

static bool is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* §7.2: field names match [A-Za-z_][A-Za-z0-9_]*. */
static bool valid_ident(const char *s, size_t n)
{
	size_t i;

	if (!s || n == 0 || !is_alpha_(s[0]))
		return false;
	for (i = 1; i < n; i++)
		if (!is_alpha_(s[i]) && !is_digit(s[i]))
			return false;
	return true;
}

static bool name_eq(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i;

	if (an != bn)
		return false;
	for (i = 0; i < an; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* ---- Type descriptors (§7.7) ------------------------------------------- */

static bool is_int_code(uint8_t c)
{
	return (c >= TMK_T_U8 && c <= TMK_T_I64) ||
	       (c >= TMK_T_SHORT && c <= TMK_T_POINTER);
}

/* Minimum encoded size (§6.7), saturating; 0 means "consumes nothing". */
static uint64_t type_min_size(const struct tmk_type *t);

static uint64_t fields_min_size(const struct tmk_field *f, uint16_t nr)
{
	uint64_t sum = 0;
	uint16_t i;

	for (i = 0; i < nr; i++) {
		sum += type_min_size(f[i].type);
		if (sum > 0xFFFFFFFFu)
			return 0xFFFFFFFFu;
	}
	return sum;
}

static uint64_t type_min_size(const struct tmk_type *t)
{
	uint64_t m;

	switch (t->code) {
	case TMK_T_BOOL: case TMK_T_U8: case TMK_T_I8:
		return 1;
	case TMK_T_U16: case TMK_T_I16:
		return 2;
	case TMK_T_U32: case TMK_T_I32: case TMK_T_F32:
		return 4;
	case TMK_T_U64: case TMK_T_I64: case TMK_T_F64:
		return 8;
	case TMK_T_SHORT: case TMK_T_USHORT:
		return sizeof(short);
	case TMK_T_INT: case TMK_T_UINT:
		return sizeof(int);
	case TMK_T_LONG: case TMK_T_ULONG:
		return sizeof(long);
	case TMK_T_LLONG: case TMK_T_ULLONG:
		return sizeof(long long);
	case TMK_T_SIZE_T: case TMK_T_SSIZE_T:
		return sizeof(size_t);
	case TMK_T_POINTER:
		return sizeof(void *);
	case TMK_T_STRING:
		return 1;
	case TMK_T_BLOB: case TMK_T_SEQUENCE:
		return 4;
	case TMK_T_ARRAY:
		m = type_min_size(t->elem) * t->length;
		return m > 0xFFFFFFFFu ? 0xFFFFFFFFu : m;
	case TMK_T_ENUM:
		return type_min_size(t->elem);
	case TMK_T_STRUCT:
		return fields_min_size(t->fields, t->nr);
	default:
		return 0;
	}
}

/*
 * Whether the type, or one inside it, encodes to 0 bytes: such a type may
 * not be an array or sequence element nor lie inside one (§6.7).
 */
static int type_has_empty_part(const struct tmk_type *t)
{
	uint16_t i;

	if (!t || type_min_size(t) == 0)
		return 1;
	switch (t->code) {
	case TMK_T_ARRAY:
	case TMK_T_SEQUENCE:
		return type_has_empty_part(t->elem);
	case TMK_T_STRUCT:
		for (i = 0; i < t->nr; i++)
			if (type_has_empty_part(t->fields[i].type))
				return 1;
		return 0;
	default:
		return 0;
	}
}

static void sink_fields(struct tmk_sink *s, const struct tmk_field *f,
			uint16_t nr, unsigned int depth);

static void sink_type(struct tmk_sink *s, const struct tmk_type *t,
		      unsigned int depth)
{
	uint16_t i;

	if (!t) {
		s->err = -TMK_EINVAL;
		return;
	}
	sink_num(s, t->code, 1);
	if (t->code == TMK_T_BOOL || is_int_code(t->code) ||
	    t->code == TMK_T_F32 || t->code == TMK_T_F64 ||
	    t->code == TMK_T_STRING || t->code == TMK_T_BLOB)
		return;		/* no parameters (§7.7) */
	/* Compound: one more level (§6.7). */
	if (depth + 1 > TMK_MAX_NESTING) {
		s->err = -TMK_EINVAL;
		return;
	}
	switch (t->code) {
	case TMK_T_ARRAY:
	case TMK_T_SEQUENCE:
		if (t->code == TMK_T_ARRAY)
			sink_num(s, t->length, 4);
		/* §6.7: every element, and every part of it, consumes input. */
		if (!t->elem || type_has_empty_part(t->elem))
			s->err = -TMK_EINVAL;
		else
			sink_type(s, t->elem, depth + 1);
		return;
	case TMK_T_ENUM:
		/* §7.7: the underlying type is one code byte. */
		if (!t->elem || !is_int_code(t->elem->code)) {
			s->err = -TMK_EINVAL;
			return;
		}
		sink_num(s, t->elem->code, 1);
		sink_num(s, t->nr, 2);
		for (i = 0; i < t->nr; i++) {
			sink_str(s, t->maps[i].label);
			sink_num(s, t->maps[i].lo, 8);
			sink_num(s, t->maps[i].hi, 8);
		}
		return;
	case TMK_T_STRUCT:
		sink_fields(s, t->fields, t->nr, depth + 1);
		return;
	default:
		s->err = -TMK_EINVAL;	/* not a §6 code */
		return;
	}
}

/* §7.7 field list: u16 count, then (str name, type) per field. */
static void sink_fields(struct tmk_sink *s, const struct tmk_field *f,
			uint16_t nr, unsigned int depth)
{
	uint16_t i, j;

	sink_num(s, nr, 2);
	for (i = 0; i < nr; i++) {
		size_t n = f[i].name ? tmk_strlen(f[i].name) : 0;

		if (!valid_ident(f[i].name, n))
			s->err = -TMK_EINVAL;
		for (j = 0; j < i; j++)
			if (name_eq(f[i].name, n, f[j].name,
				    tmk_strlen(f[j].name)))
				s->err = -TMK_EINVAL;
		sink_str(s, f[i].name);
		sink_type(s, f[i].type, depth);
	}
}

/* §7.8 canonical form: name str, layout_kind byte, layout. */
static void sink_layout(struct tmk_sink *s, const struct tmk_event_class *ec)
{
	sink_num(s, ec->layout_kind, 1);
	if (ec->layout_kind == TMK_LAYOUT_FIELDS) {
		sink_fields(s, ec->fields, ec->nr_fields, 0);
	} else if (ec->layout_kind == TMK_LAYOUT_MARKER) {
		if (!ec->format || tmk_fmt_validate(ec->format))
			s->err = -TMK_EINVAL;
		sink_str(s, ec->format);
	} else {
		s->err = -TMK_EINVAL;
	}
}

uint64_t tmk_event_class_identity(const struct tmk_event_class *ec, int *err)
{
	struct tmk_sink s;

	tmk_sink_init_hash(&s);
	sink_str(&s, ec->name);
	sink_layout(&s, ec);
	if (err)
		*err = s.err;
	return s.err ? 0 : s.fnv;
}

/* ---- Records ------------------------------------------------------------ */

/* §7.2 envelope; returns the offset of body_len for patching. */
static size_t record_begin(struct tmk_sink *s, uint16_t kind)
{
	size_t at;

	sink_num(s, kind, 2);
	sink_num(s, TMK_META_CHECKED, 2);	/* §7.2: the record ends with its check */
	at = s->len;
	sink_num(s, 0, 4);		/* body_len, patched below */
	return at;
}

/*
 * Patches body_len and appends the record's check (§7.2): the CRC-32 of the
 * envelope and the body before the check, so that a reader uses this record
 * even when another flipped bit fails the packet's CRC.
 */
static int record_end(struct tmk_sink *s, size_t at)
{
	size_t start = at - 4;	/* kind and flags precede body_len */
	size_t body;

	sink_num(s, 0, TMK_META_CHECK_LEN);	/* the check, patched below */
	body = s->len - at - 4;
	if (body > 0xFFFFFFFFu)
		s->err = -TMK_E2BIG;
	if (!s->err && s->len <= s->cap) {
		tmk_st32(s->buf + at, (uint32_t)body);
		tmk_st32(s->buf + s->len - TMK_META_CHECK_LEN,
			 tmk_crc32_update(0, s->buf + start,
					  s->len - TMK_META_CHECK_LEN - start));
	}
	if (!s->err && s->len > s->cap)
		return -TMK_ENOSPC;
	return s->err;
}

static bool nonempty(const char *s)
{
	return s && s[0];
}

int tmk_meta_trace(struct tmk_sink *s, const struct tmk_trace_desc *t)
{
	size_t at = record_begin(s, TMK_META_TRACE);

	sink_bytes(s, t->uuid, 16);
	sink_num(s, tmk_host_is_big_endian() ? 1 : 0, 1);
	/* §3.1: the six sizes, straight from the compiler that built us. */
	sink_num(s, sizeof(short), 1);
	sink_num(s, sizeof(int), 1);
	sink_num(s, sizeof(long), 1);
	sink_num(s, sizeof(long long), 1);
	sink_num(s, sizeof(void *), 1);
	sink_num(s, sizeof(size_t), 1);
	sink_str(s, t->os_name);
	sink_str(s, t->os_release);
	sink_str(s, t->architecture);
	sink_str(s, t->hostname);
	sink_str(s, t->tracer_name);
	sink_str(s, t->tracer_version);
	return record_end(s, at);
}

int tmk_meta_clock(struct tmk_sink *s, const struct tmk_clock_desc *c)
{
	size_t at = record_begin(s, TMK_META_CLOCK);

	if (c->frequency == 0 || !nonempty(c->name))	/* §7.4, §7.2 */
		s->err = -TMK_EINVAL;
	sink_num(s, c->clock_id, 4);
	sink_num(s, c->frequency, 8);
	sink_num(s, (uint64_t)c->offset_ns, 8);
	sink_num(s, c->precision, 8);
	sink_str(s, c->name);
	sink_str(s, c->description);
	return record_end(s, at);
}

int tmk_meta_stream_class(struct tmk_sink *s, uint32_t id, uint32_t clock_id,
			  const char *name)
{
	size_t at = record_begin(s, TMK_META_STREAM_CLASS);

	if (!nonempty(name))
		s->err = -TMK_EINVAL;
	sink_num(s, id, 4);
	sink_num(s, clock_id, 4);
	sink_str(s, name);
	return record_end(s, at);
}

int tmk_meta_event_class(struct tmk_sink *s, const struct tmk_event_class *ec)
{
	int err;
	uint64_t identity = tmk_event_class_identity(ec, &err);
	size_t at = record_begin(s, TMK_META_EVENT_CLASS);

	if (err)
		s->err = err;
	if (!nonempty(ec->name))
		s->err = -TMK_EINVAL;
	if (ec->log_level > 7 && ec->log_level != TMK_LOGLEVEL_UNSPECIFIED)
		s->err = -TMK_EINVAL;
	if (ec->layout_kind == TMK_LAYOUT_MARKER && ec->format &&
	    tmk_fmt_strings(ec->format) > TMK_MARKER_MAX_STRINGS)
		s->err = -TMK_EINVAL;
	sink_num(s, ec->id, 4);
	sink_num(s, ec->stream_class_id, 4);
	sink_num(s, ec->log_level, 1);
	sink_num(s, ec->layout_kind, 1);
	sink_num(s, identity, 8);
	sink_str(s, ec->name);
	if (ec->layout_kind == TMK_LAYOUT_FIELDS)
		sink_fields(s, ec->fields, ec->nr_fields, 0);
	else
		sink_str(s, ec->format);
	return record_end(s, at);
}

int tmk_meta_env_str(struct tmk_sink *s, const char *key, const char *val)
{
	size_t at = record_begin(s, TMK_META_ENV);

	sink_str(s, key);
	sink_num(s, TMK_ENV_STR, 1);
	sink_str(s, val);
	return record_end(s, at);
}

int tmk_meta_env_i64(struct tmk_sink *s, const char *key, int64_t val)
{
	size_t at = record_begin(s, TMK_META_ENV);

	sink_str(s, key);
	sink_num(s, TMK_ENV_I64, 1);
	sink_num(s, (uint64_t)val, 8);
	return record_end(s, at);
}

/* ---- Marker format strings (§8) ---------------------------------------- */

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* §8.2 table: [signed, unsigned] code per length modifier. */
enum { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_J, LEN_T };
static const uint8_t fmt_int_codes[][2] = {
	[LEN_NONE]	= { TMK_T_INT, TMK_T_UINT },
	[LEN_HH]	= { TMK_T_I8, TMK_T_U8 },
	[LEN_H]		= { TMK_T_SHORT, TMK_T_USHORT },
	[LEN_L]		= { TMK_T_LONG, TMK_T_ULONG },
	[LEN_LL]	= { TMK_T_LLONG, TMK_T_ULLONG },
	[LEN_Z]		= { TMK_T_SSIZE_T, TMK_T_SIZE_T },
	[LEN_J]		= { TMK_T_I64, TMK_T_U64 },
	[LEN_T]		= { TMK_T_SSIZE_T, TMK_T_SIZE_T },
};

int tmk_fmt_next(const char *fmt, size_t *pos, struct tmk_fmt_pair *out)
{
	size_t i = *pos, start;
	int len = LEN_NONE;
	char c;

	while (is_wsp(fmt[i]))
		i++;
	if (!fmt[i]) {
		*pos = i;
		return 0;
	}
	/* name */
	if (!is_alpha_(fmt[i]))
		return -TMK_EINVAL;
	start = i;
	while (is_alpha_(fmt[i]) || is_digit(fmt[i]))
		i++;
	if (i - start > 0xFFFF)
		return -TMK_EINVAL;
	out->name = fmt + start;
	out->name_len = (uint16_t)(i - start);
	/* 1*WSP "%" */
	if (!is_wsp(fmt[i]))
		return -TMK_EINVAL;
	while (is_wsp(fmt[i]))
		i++;
	if (fmt[i++] != '%')
		return -TMK_EINVAL;
	/* length */
	switch (fmt[i]) {
	case 'h':
		if (fmt[i + 1] == 'h') {
			len = LEN_HH;
			i++;
		} else {
			len = LEN_H;
		}
		i++;
		break;
	case 'l':
		if (fmt[i + 1] == 'l') {
			len = LEN_LL;
			i++;
		} else {
			len = LEN_L;
		}
		i++;
		break;
	case 'z': len = LEN_Z; i++; break;
	case 'j': len = LEN_J; i++; break;
	case 't': len = LEN_T; i++; break;
	default: break;
	}
	c = fmt[i++];
	out->spec = c;
	switch (c) {
	case 'd': case 'i':
		out->code = fmt_int_codes[len][0];
		break;
	case 'u': case 'x': case 'X': case 'o':
		out->code = fmt_int_codes[len][1];
		break;
	case 'c': case 's': case 'p': case 'f': case 'e': case 'g':
		if (len != LEN_NONE)	/* §8.2: no length on these */
			return -TMK_EINVAL;
		out->code = c == 'c' ? TMK_T_U8 :
			    c == 's' ? TMK_T_STRING :
			    c == 'p' ? TMK_T_POINTER : TMK_T_F64;
		break;
	default:
		return -TMK_EINVAL;
	}
	/* pairs are separated by 1*WSP; the string may end right here */
	if (fmt[i] && !is_wsp(fmt[i]))
		return -TMK_EINVAL;
	*pos = i;
	return 1;
}

int tmk_fmt_validate(const char *fmt)
{
	struct tmk_fmt_pair a, b;
	size_t pa = 0, pb;
	int r, r2;

	while ((r = tmk_fmt_next(fmt, &pa, &a)) == 1) {
		/* duplicates (§8.2): compare with every earlier pair */
		pb = 0;
		while ((r2 = tmk_fmt_next(fmt, &pb, &b)) == 1 && pb < pa)
			if (name_eq(a.name, a.name_len, b.name, b.name_len))
				return -TMK_EINVAL;
	}
	return r < 0 ? r : 0;
}

int tmk_fmt_strings(const char *fmt)
{
	struct tmk_fmt_pair pr;
	size_t pos = 0;
	int r, n = 0;

	while ((r = tmk_fmt_next(fmt, &pos, &pr)) == 1)
		if (pr.code == TMK_T_STRING)
			n++;
	return r < 0 ? r : n;
}

/* ---- Metadata stream ---------------------------------------------------- */

static void meta_open_packet(struct tmk_meta_stream *ms)
{
	uint8_t *pkt = ms->mem + (size_t)ms->nr_pkts * ms->pkt_size;
	uint32_t flags = TMK_PKT_FLAG_METADATA |
			 (ms->crc ? TMK_PKT_FLAG_HAS_CRC : 0);

	/* §4.1: stream ids 0; §4.5: timestamps may be 0 in metadata. */
	tmk_pkt_write_open(pkt, ms->uuid, flags, 0, 0, ms->nr_pkts, 0,
			   ms->pkt_size);
	ms->nr_pkts++;
	ms->cur_content = TMK_PKT_HEADER_LEN;
	tmk_pkt_write_close(pkt, 0, ms->cur_content, 0);
	tmk_pkt_seal(pkt);
}

int tmk_meta_stream_append(struct tmk_meta_stream *ms, tmk_meta_enc_fn enc,
			   const void *arg)
{
	struct tmk_sink s;
	uint8_t *pkt;
	int ret;

	tmk_spin_lock(&ms->lock);
	for (;;) {
		pkt = ms->mem + (size_t)(ms->nr_pkts - 1) * ms->pkt_size;
		tmk_sink_init(&s, pkt + ms->cur_content,
			      ms->pkt_size - ms->cur_content);
		ret = enc(&s, arg);
		if (ret != -TMK_ENOSPC)
			break;
		/* §7.1: a record never spans packets; start a new one. */
		if (ms->cur_content == TMK_PKT_HEADER_LEN) {
			ret = -TMK_E2BIG;
			break;
		}
		if ((size_t)(ms->nr_pkts + 1) * ms->pkt_size > ms->cap)
			break;
		tmk_pkt_seal(pkt);	/* clear the failed attempt's bytes */
		meta_open_packet(ms);
	}
	if (!ret)
		ms->cur_content += (uint32_t)s.len;
	/* Reseal either way: a failed encode may have scribbled padding. */
	tmk_pkt_write_close(pkt, 0, ms->cur_content, 0);
	tmk_pkt_seal(pkt);
	tmk_spin_unlock(&ms->lock);
	return ret;
}

static int enc_trace(struct tmk_sink *s, const void *arg)
{
	return tmk_meta_trace(s, arg);
}

static int enc_event_class(struct tmk_sink *s, const void *arg)
{
	return tmk_meta_event_class(s, arg);
}

int tmk_meta_stream_add_event_class(struct tmk_meta_stream *ms,
				    const struct tmk_event_class *ec)
{
	return tmk_meta_stream_append(ms, enc_event_class, ec);
}

/*
 * §7.3: a byte-for-byte copy of TRACE as the second record, when it fits in
 * the first packet: a reader uses it when a flipped bit fails the first's
 * check (§7.2). Never in a packet of its own.
 */
static void meta_append_trace_copy(struct tmk_meta_stream *ms,
				   const struct tmk_trace_desc *t)
{
	uint8_t *pkt = ms->mem;
	struct tmk_sink s;

	tmk_spin_lock(&ms->lock);
	if (ms->nr_pkts == 1) {
		tmk_sink_init(&s, pkt + ms->cur_content,
			      ms->pkt_size - ms->cur_content);
		if (!tmk_meta_trace(&s, t))
			ms->cur_content += (uint32_t)s.len;
		/* Reseal either way: a failed encode may have scribbled padding. */
		tmk_pkt_write_close(pkt, 0, ms->cur_content, 0);
		tmk_pkt_seal(pkt);
	}
	tmk_spin_unlock(&ms->lock);
}

int tmk_meta_stream_init(struct tmk_meta_stream *ms, void *mem, size_t cap,
			 uint32_t pkt_size, const struct tmk_trace_desc *t,
			 bool crc)
{
	int ret;

	if (!mem || pkt_size % 8 || pkt_size < 2 * TMK_PKT_HEADER_LEN ||
	    cap < pkt_size)
		return -TMK_EINVAL;
	ms->mem = mem;
	ms->cap = cap;
	ms->pkt_size = pkt_size;
	ms->nr_pkts = 0;
	ms->crc = crc;
	tmk_memcpy(ms->uuid, t->uuid, 16);
	tmk_spin_lock_init(&ms->lock);
	meta_open_packet(ms);
	/* §7.3: TRACE is the first record of the first metadata packet. */
	ret = tmk_meta_stream_append(ms, enc_trace, t);
	if (!ret)
		meta_append_trace_copy(ms, t);
	return ret;
}

size_t tmk_meta_stream_len(struct tmk_meta_stream *ms)
{
	size_t n;

	tmk_spin_lock(&ms->lock);
	n = (size_t)ms->nr_pkts * ms->pkt_size;
	tmk_spin_unlock(&ms->lock);
	return n;
}
