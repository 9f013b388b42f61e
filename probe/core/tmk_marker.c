// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * Marker events (§8): a printf-like call that records its arguments in
 * binary, typed by the class's format string.  Two passes over the
 * va_list: one to size the payload (reserve needs it), one to store it.
 */
#include "tmk_marker.h"

#define TMK_MARKER_MAX_STRINGS 16

/* Consume one argument for a pair; return its encoded size, store it if
 * @c is not NULL.  String sizes come from pass 1 (@strsz) so that pass 2
 * writes exactly what was reserved even if the string changed. */
static int marker_arg(const struct tmk_fmt_pair *pr, va_list *ap,
		      struct tmk_cursor *c, uint32_t *strsz)
{
	switch (pr->code) {
	case TMK_T_I8: {
		int8_t v = (int8_t)va_arg(*ap, int);

		if (c)
			tmk_put_i8(c, v);
		return 1;
	}
	case TMK_T_U8: {
		uint8_t v = (uint8_t)va_arg(*ap, unsigned int);

		if (c)
			tmk_put_u8(c, v);
		return 1;
	}
	case TMK_T_SHORT: {
		short v = (short)va_arg(*ap, int);

		if (c)
			tmk_put_short(c, v);
		return sizeof(short);
	}
	case TMK_T_USHORT: {
		unsigned short v = (unsigned short)va_arg(*ap, unsigned int);

		if (c)
			tmk_put_ushort(c, v);
		return sizeof(short);
	}
	case TMK_T_INT: {
		int v = va_arg(*ap, int);

		if (c)
			tmk_put_int(c, v);
		return sizeof(int);
	}
	case TMK_T_UINT: {
		unsigned int v = va_arg(*ap, unsigned int);

		if (c)
			tmk_put_uint(c, v);
		return sizeof(int);
	}
	case TMK_T_LONG: {
		long v = va_arg(*ap, long);

		if (c)
			tmk_put_long(c, v);
		return sizeof(long);
	}
	case TMK_T_ULONG: {
		unsigned long v = va_arg(*ap, unsigned long);

		if (c)
			tmk_put_ulong(c, v);
		return sizeof(long);
	}
	case TMK_T_LLONG: {
		long long v = va_arg(*ap, long long);

		if (c)
			tmk_put_llong(c, v);
		return sizeof(long long);
	}
	case TMK_T_ULLONG: {
		unsigned long long v = va_arg(*ap, unsigned long long);

		if (c)
			tmk_put_ullong(c, v);
		return sizeof(long long);
	}
	case TMK_T_SIZE_T:
	case TMK_T_SSIZE_T: {
		/* %z and %t: size_t-sized; the signed reading of the same
		 * bits is the reader's business (§6.3). */
		size_t v = va_arg(*ap, size_t);

		if (c)
			tmk_put_size(c, v);
		return sizeof(size_t);
	}
	case TMK_T_I64: {
		int64_t v = va_arg(*ap, int64_t);

		if (c)
			tmk_put_i64(c, v);
		return 8;
	}
	case TMK_T_U64: {
		uint64_t v = va_arg(*ap, uint64_t);

		if (c)
			tmk_put_u64(c, v);
		return 8;
	}
	case TMK_T_POINTER: {
		const void *v = va_arg(*ap, const void *);

		if (c)
			tmk_put_ptr(c, v);
		return sizeof(void *);
	}
	case TMK_T_STRING: {
		const char *s = va_arg(*ap, const char *);

		if (!c) {
			*strsz = tmk_strsize(s);
			return (int)*strsz;
		}
		tmk_put_string(c, s, *strsz);
		return (int)*strsz;
	}
	case TMK_T_F64:
#ifdef TMK_HAVE_FLOAT
	{
		double v = va_arg(*ap, double);

		if (c)
			tmk_put_f64(c, v);
		return 8;
	}
#else
		return -TMK_EINVAL;	/* no floating point here */
#endif
	default:
		return -TMK_EINVAL;
	}
}

int tmk_marker_vwrite(struct tmk_rb *rb, const struct tmk_event_class *ec,
		      va_list ap)
{
	uint32_t strsz[TMK_MARKER_MAX_STRINGS];
	struct tmk_fmt_pair pr;
	struct tmk_rb_ctx ctx;
	uint64_t total = 0;
	unsigned int ns = 0;
	size_t pos = 0;
	va_list aq;
	int r, ret;

	/* Pass 1: size. */
	va_copy(aq, ap);
	while ((r = tmk_fmt_next(ec->format, &pos, &pr)) == 1) {
		if (pr.code == TMK_T_STRING && ns == TMK_MARKER_MAX_STRINGS) {
			r = -TMK_EINVAL;
			break;
		}
		ret = marker_arg(&pr, &aq, NULL, &strsz[ns]);
		if (ret < 0) {
			r = ret;
			break;
		}
		if (pr.code == TMK_T_STRING)
			ns++;
		total += (uint64_t)ret;
	}
	va_end(aq);
	if (r < 0)
		return r;
	if (total > 0xFFFFFFFFu)
		return -TMK_E2BIG;

	ret = tmk_rb_reserve(rb, &ctx, ec->id, (uint32_t)total);
	if (ret)
		return ret;

	/* Pass 2: store. */
	pos = 0;
	ns = 0;
	va_copy(aq, ap);
	while (tmk_fmt_next(ec->format, &pos, &pr) == 1) {
		marker_arg(&pr, &aq, &ctx.c, &strsz[ns]);
		if (pr.code == TMK_T_STRING)
			ns++;
	}
	va_end(aq);
	tmk_rb_commit(&ctx);
	return 0;
}

int tmk_marker_write(struct tmk_rb *rb, const struct tmk_event_class *ec, ...)
{
	va_list ap;
	int ret;

	va_start(ap, ec);
	ret = tmk_marker_vwrite(rb, ec, ap);
	va_end(ap);
	return ret;
}
