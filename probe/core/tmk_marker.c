// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * Marker events (§8): a printf-like call that records its arguments in
 * binary, typed by the class's format string.  Two passes over the
 * va_list: one to size the payload (reserve needs it), one to store it.
 */
#include "tmk_marker.h"

/*
 * Where the arguments come from: a va_list (tmk_marker_write) or an
 * array (tmk_marker_write_argv, for callers that cannot build a va_list,
 * such as a foreign-language binding).  Both go through the same sizing
 * and storing code below.
 */
struct marker_src {
	va_list *ap;
	const union tmk_marker_arg *argv;
	uint32_t i;
};

/* Next argument as @T: va_arg of the promoted type @T, or argv's @M. */
#define NEXT_ARG(src, T, M)						\
	((src)->argv ? (T)(src)->argv[(src)->i++].M : va_arg(*(src)->ap, T))

/* Consume one argument for a pair; return its encoded size, store it if
 * @c is not NULL.  String sizes come from pass 1 (@strsz) so that pass 2
 * writes exactly what was reserved even if the string changed. */
static int marker_arg(const struct tmk_fmt_pair *pr, struct marker_src *src,
		      struct tmk_cursor *c, uint32_t *strsz)
{
	switch (pr->code) {
	case TMK_T_I8: {
		int8_t v = (int8_t)NEXT_ARG(src, int, i);

		if (c)
			tmk_put_i8(c, v);
		return 1;
	}
	case TMK_T_U8: {
		uint8_t v = (uint8_t)NEXT_ARG(src, unsigned int, u);

		if (c)
			tmk_put_u8(c, v);
		return 1;
	}
	case TMK_T_SHORT: {
		short v = (short)NEXT_ARG(src, int, i);

		if (c)
			tmk_put_short(c, v);
		return sizeof(short);
	}
	case TMK_T_USHORT: {
		unsigned short v = (unsigned short)NEXT_ARG(src, unsigned int,
							    u);

		if (c)
			tmk_put_ushort(c, v);
		return sizeof(short);
	}
	case TMK_T_INT: {
		int v = NEXT_ARG(src, int, i);

		if (c)
			tmk_put_int(c, v);
		return sizeof(int);
	}
	case TMK_T_UINT: {
		unsigned int v = NEXT_ARG(src, unsigned int, u);

		if (c)
			tmk_put_uint(c, v);
		return sizeof(int);
	}
	case TMK_T_LONG: {
		long v = NEXT_ARG(src, long, i);

		if (c)
			tmk_put_long(c, v);
		return sizeof(long);
	}
	case TMK_T_ULONG: {
		unsigned long v = NEXT_ARG(src, unsigned long, u);

		if (c)
			tmk_put_ulong(c, v);
		return sizeof(long);
	}
	case TMK_T_LLONG: {
		long long v = NEXT_ARG(src, long long, i);

		if (c)
			tmk_put_llong(c, v);
		return sizeof(long long);
	}
	case TMK_T_ULLONG: {
		unsigned long long v = NEXT_ARG(src, unsigned long long, u);

		if (c)
			tmk_put_ullong(c, v);
		return sizeof(long long);
	}
	case TMK_T_SIZE_T:
	case TMK_T_SSIZE_T: {
		/* %z and %t: size_t-sized; the signed reading of the same
		 * bits is the reader's business (§6.3). */
		size_t v = NEXT_ARG(src, size_t, u);

		if (c)
			tmk_put_size(c, v);
		return sizeof(size_t);
	}
	case TMK_T_I64: {
		int64_t v = NEXT_ARG(src, int64_t, i);

		if (c)
			tmk_put_i64(c, v);
		return 8;
	}
	case TMK_T_U64: {
		uint64_t v = NEXT_ARG(src, uint64_t, u);

		if (c)
			tmk_put_u64(c, v);
		return 8;
	}
	case TMK_T_POINTER: {
		const void *v = NEXT_ARG(src, const void *, p);

		if (c)
			tmk_put_ptr(c, v);
		return sizeof(void *);
	}
	case TMK_T_STRING: {
		const char *s = NEXT_ARG(src, const char *, s);

		if (!c) {
			*strsz = tmk_strsize(s);
			return (int)*strsz;
		}
		tmk_put_string(c, s, *strsz);
		return (int)*strsz;
	}
	case TMK_T_F64:
		/* argv: IEEE bits, no floating point needed (kernel too). */
		if (src->argv) {
			uint64_t bits = src->argv[src->i++].u;

			if (c)
				tmk_put_f64_bits(c, bits);
			return 8;
		}
#ifdef TMK_HAVE_FLOAT
	{
		double v = va_arg(*src->ap, double);

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
#undef NEXT_ARG

/*
 * Both passes.  With @ap, va_copy()s are taken per pass; with @argv,
 * exactly @nargs arguments must match the format's pairs, which pass 1
 * checks before anything is read in pass 2.
 */
static int marker_write(struct tmk_rb *rb, const struct tmk_event_class *ec,
			va_list *ap, const union tmk_marker_arg *argv,
			uint32_t nargs)
{
	uint32_t strsz[TMK_MARKER_MAX_STRINGS];
	struct marker_src src = { .argv = argv };
	struct tmk_fmt_pair pr;
	struct tmk_rb_ctx ctx;
	uint64_t total = 0;
	unsigned int ns = 0;
	size_t pos = 0;
	va_list aq;
	int r, ret;

	/* Pass 1: size. */
	if (!argv) {
		va_copy(aq, *ap);
		src.ap = &aq;
	}
	while ((r = tmk_fmt_next(ec->format, &pos, &pr)) == 1) {
		if (pr.code == TMK_T_STRING && ns == TMK_MARKER_MAX_STRINGS) {
			r = -TMK_EINVAL;
			break;
		}
		if (argv && src.i == nargs) {
			r = -TMK_EINVAL;	/* fewer arguments than pairs */
			break;
		}
		ret = marker_arg(&pr, &src, NULL, &strsz[ns]);
		if (ret < 0) {
			r = ret;
			break;
		}
		if (pr.code == TMK_T_STRING)
			ns++;
		total += (uint64_t)ret;
	}
	if (!argv)
		va_end(aq);
	if (r < 0)
		return r;
	if (argv && src.i != nargs)
		return -TMK_EINVAL;		/* more arguments than pairs */
	if (total > 0xFFFFFFFFu)
		return -TMK_E2BIG;

	ret = tmk_rb_reserve(rb, &ctx, ec->id, (uint32_t)total);
	if (ret)
		return ret;

	/* Pass 2: store. */
	pos = 0;
	ns = 0;
	src.i = 0;
	if (!argv) {
		va_copy(aq, *ap);
		src.ap = &aq;
	}
	while (tmk_fmt_next(ec->format, &pos, &pr) == 1) {
		marker_arg(&pr, &src, &ctx.c, &strsz[ns]);
		if (pr.code == TMK_T_STRING)
			ns++;
	}
	if (!argv)
		va_end(aq);
	tmk_rb_commit(&ctx);
	return 0;
}

int tmk_marker_vwrite(struct tmk_rb *rb, const struct tmk_event_class *ec,
		      va_list ap)
{
	va_list aq;
	int ret;

	/* A va_list parameter may be an array type: work on a local copy so
	 * that its address has the type marker_write() expects. */
	va_copy(aq, ap);
	ret = marker_write(rb, ec, &aq, NULL, 0);
	va_end(aq);
	return ret;
}

int tmk_marker_write_argv(struct tmk_rb *rb, const struct tmk_event_class *ec,
			  const union tmk_marker_arg *argv, uint32_t nargs)
{
	static const union tmk_marker_arg none[1];

	/* No pairs, no arguments: still take the argv path. */
	return marker_write(rb, ec, NULL, argv ? argv : none, argv ? nargs : 0);
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
