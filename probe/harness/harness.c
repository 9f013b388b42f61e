// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * harness - drive the tracemark probe writer core with a deterministic
 * script of events on several simulated CPUs and write:
 *
 *   OUT/metadata, OUT/stream-0-<cpu>.tmk   the trace, directory form (§9.1)
 *   OUT/expected.jsonl                     one line per event that was
 *                                          recorded (not discarded):
 *                                          {"name","cpu","ts","fields"}
 *   OUT/expected-summary.json              discards and packets per stream
 *
 * harness --overwrite OUT runs a flight-recorder script instead (ring
 * buffers in overwrite mode, see run_overwrite()) and writes
 * OUT/written.jsonl (every event recorded, same format), the snapshot
 * trace in OUT, a mid-run snapshot trace in OUT/mid and
 * OUT/overwrite-summary.json, for tools/check_overwrite.py.
 *
 * The clock is fake (a counter the script advances), the UUID fixed and
 * the CPU a thread-local the script sets, so the output is byte-for-byte
 * reproducible on one ABI.  Values that depend on the ABI (long,
 * pointer, ...) are chosen so that they differ between ABIs, and
 * expected.jsonl records what this build actually wrote.
 *
 * JSON conventions: see probe/tools/tmkdecode.py.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/tmk_meta.h"
#include "../core/tmk_rb.h"
#include "../core/tmk_marker.h"

#define NR_CPUS		3
#define SUBBUF_SIZE	1024
#define NR_SUBBUFS	4
#define META_PKT_SIZE	1024
#define META_CAP	(64 * 1024)

#if defined(__x86_64__)
#define ARCH "x86_64"
#elif defined(__s390x__)
#define ARCH "s390x"
#elif defined(__arm__)
#define ARCH "armhf"
#elif defined(__powerpc64__)
#define ARCH "powerpc64"
#elif defined(__powerpc__)
#define ARCH "powerpc"
#elif defined(__aarch64__)
#define ARCH "aarch64"
#elif defined(__i386__)
#define ARCH "i386"
#else
#define ARCH "unknown"
#endif

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("harness: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* ---- fake clock ------------------------------------------------------- */

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

/* ---- JSON output ------------------------------------------------------ */

struct jbuf {
	char s[8192];
	size_t n;
	bool first;		/* no comma before the next member */
};

static void jraw(struct jbuf *j, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(j->s + j->n, sizeof(j->s) - j->n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= sizeof(j->s) - j->n)
		die("json buffer overflow");
	j->n += (size_t)r;
}

static void jsep(struct jbuf *j)
{
	if (!j->first)
		jraw(j, ",");
	j->first = false;
}

static void jstr_raw(struct jbuf *j, const char *s)
{
	jraw(j, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			jraw(j, "\\%c", c);
		else if (c < 0x20)
			jraw(j, "\\u%04x", c);
		else
			jraw(j, "%c", c);
	}
	jraw(j, "\"");
}

static void jkey(struct jbuf *j, const char *k)
{
	jsep(j);
	if (k) {
		jstr_raw(j, k);
		jraw(j, ":");
	}
}

static void jopen(struct jbuf *j, const char *k, char c)
{
	jkey(j, k);
	jraw(j, "%c", c);
	j->first = true;
}

static void jclose(struct jbuf *j, char c)
{
	jraw(j, "%c", c);
	j->first = false;
}

static void ji(struct jbuf *j, const char *k, long long v)
{
	jkey(j, k);
	jraw(j, "%lld", v);
}

static void ju(struct jbuf *j, const char *k, unsigned long long v)
{
	jkey(j, k);
	jraw(j, "%llu", v);
}

static void jb(struct jbuf *j, const char *k, bool v)
{
	jkey(j, k);
	jraw(j, v ? "true" : "false");
}

static void jd(struct jbuf *j, const char *k, double v)
{
	jkey(j, k);
	/* 17 significant digits round-trip any binary64 exactly. */
	jraw(j, "%.17g", v);
}

static void js(struct jbuf *j, const char *k, const char *v)
{
	jkey(j, k);
	jstr_raw(j, v);
}

static void jhex(struct jbuf *j, const char *k, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	jkey(j, k);
	jraw(j, "\"");
	for (i = 0; i < n; i++)
		jraw(j, "%02x", b[i]);
	jraw(j, "\"");
}

/* §6.6: first mapping whose range holds the value, signedness per type. */
static void jenum(struct jbuf *j, const char *k, const struct tmk_type *t,
		  long long sv, unsigned long long uv, bool is_signed)
{
	const char *label = NULL;
	uint16_t i;

	for (i = 0; i < t->nr && !label; i++) {
		const struct tmk_enum_map *m = &t->maps[i];

		if (is_signed ? ((long long)(int64_t)m->lo <= sv &&
				 sv <= (long long)(int64_t)m->hi)
			      : (m->lo <= uv && uv <= m->hi))
			label = m->label;
	}
	jopen(j, k, '{');
	if (is_signed)
		ji(j, "value", sv);
	else
		ju(j, "value", uv);
	jkey(j, "label");
	if (label)
		jstr_raw(j, label);
	else
		jraw(j, "null");
	jclose(j, '}');
}

/* ---- trace state -------------------------------------------------------- */

static struct tmk_chan chan;
static struct tmk_meta_stream meta;
static uint8_t meta_mem[META_CAP];
static FILE *stream_f[NR_CPUS];
static FILE *expected_f;
static unsigned long long packets_out[NR_CPUS];
static unsigned long long events_ok[NR_CPUS], events_dropped[NR_CPUS];
static bool stalled[NR_CPUS];	/* consumer does not drain this CPU */

static const uint8_t trace_uuid[16] = {
	0x7b, 0x1e, 0x3c, 0x52, 0x9a, 0x04, 0x4d, 0x21,	/* version 4 ... */
	0x8f, 0x6e, 0x2a, 0x11, 0xc0, 0xde, 0x70, 0x6b,	/* variant 10 */
};

static void drain(unsigned int cpu)
{
	struct tmk_rb *rb = &chan.bufs[cpu];
	const uint8_t *pkt;
	uint32_t len;

	while (tmk_rb_get_packet(rb, &pkt, &len) == 0) {
		if (fwrite(pkt, 1, len, stream_f[cpu]) != len)
			die("write stream %u: %s", cpu, strerror(errno));
		packets_out[cpu]++;
		tmk_rb_put_packet(rb);
	}
}

static void drain_all(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < NR_CPUS; cpu++)
		if (!stalled[cpu])
			drain(cpu);
}

/* Begin an event: set CPU and clock, reserve.  false if dropped. */
static bool ev_begin(struct tmk_rb_ctx *ctx, unsigned int cpu, uint64_t ts,
		     uint32_t id, uint32_t len)
{
	int r;

	tmk_shim_cur_cpu = cpu;
	fake_now = ts;
	r = tmk_rb_reserve(tmk_chan_this_rb(&chan), ctx, id, len);
	if (r) {
		events_dropped[cpu]++;
		return false;
	}
	events_ok[cpu]++;
	return true;
}

static void ev_end(struct tmk_rb_ctx *ctx)
{
	const uint8_t *end = ctx->c.p;
	uint8_t *start = ctx->rb->mem +
			 (ctx->rec & (ctx->rb->buf_size - 1));

	/* Payload written must equal what was reserved. */
	if ((size_t)(end - start) != ctx->size)
		die("payload size mismatch: wrote %zu, reserved %u",
		    (size_t)(end - start), ctx->size);
	tmk_rb_commit(ctx);
}

static void json_begin(struct jbuf *j, const char *name, unsigned int cpu,
		       uint64_t ts)
{
	j->n = 0;
	j->first = true;
	jraw(j, "{");
	js(j, "name", name);
	ju(j, "cpu", cpu);
	ju(j, "ts", ts);
	jopen(j, "fields", '{');
}

static void json_end(struct jbuf *j)
{
	jclose(j, '}');
	jclose(j, '}');
	fprintf(expected_f, "%s\n", j->s);
}

/* ---- event classes ------------------------------------------------------- */

enum {
	EV_FIXED = 1,
	EV_ABI = 2,
	EV_VAR = 3,
	EV_SWITCH = 4,
	EV_EMPTY = 5,
	EV_MARKER = 6,
	EV_LATE_MARKER = 7,
	EV_BIG_ID = 0x12345,	/* >= 0xFFFF: extended header (§5.4) */
};

static const struct tmk_field fixed_fields[] = {
	{ "b", &tmk_type_bool }, { "u8", &tmk_type_u8 },
	{ "u16", &tmk_type_u16 }, { "u32", &tmk_type_u32 },
	{ "u64", &tmk_type_u64 }, { "i8", &tmk_type_i8 },
	{ "i16", &tmk_type_i16 }, { "i32", &tmk_type_i32 },
	{ "i64", &tmk_type_i64 }, { "f32", &tmk_type_f32 },
	{ "f64", &tmk_type_f64 },
};

static const struct tmk_field abi_fields[] = {
	{ "s", &tmk_type_short }, { "us", &tmk_type_ushort },
	{ "i", &tmk_type_int }, { "ui", &tmk_type_uint },
	{ "l", &tmk_type_long }, { "ul", &tmk_type_ulong },
	{ "ll", &tmk_type_llong }, { "ull", &tmk_type_ullong },
	{ "sz", &tmk_type_size_t }, { "ssz", &tmk_type_ssize_t },
	{ "ptr", &tmk_type_pointer },
};

static const struct tmk_type arr_u16_4 = {
	.code = TMK_T_ARRAY, .length = 4, .elem = &tmk_type_u16,
};
static const struct tmk_type seq_i32 = {
	.code = TMK_T_SEQUENCE, .elem = &tmk_type_i32,
};
static const struct tmk_type seq_str = {
	.code = TMK_T_SEQUENCE, .elem = &tmk_type_string,
};
static const struct tmk_field var_fields[] = {
	{ "str", &tmk_type_string }, { "blob", &tmk_type_blob },
	{ "arr", &arr_u16_4 }, { "seq", &seq_i32 }, { "names", &seq_str },
};

/* Enum over u8 (task state) and over signed long (a signed ABI type). */
static const struct tmk_enum_map state_maps[] = {
	{ "RUNNING", 0, 0 }, { "INTERRUPTIBLE", 1, 1 },
	{ "UNINTERRUPTIBLE", 2, 2 }, { "STOPPED", 4, 4 },
	{ "OTHER", 0, 255 },	/* overlaps: first match wins (§6.6) */
};
static const struct tmk_type state_enum = {
	.code = TMK_T_ENUM, .elem = &tmk_type_u8, .maps = state_maps, .nr = 5,
};
static const struct tmk_enum_map policy_maps[] = {
	{ "NEGATIVE", (uint64_t)INT64_MIN, (uint64_t)(int64_t)-1 },
	{ "NORMAL", 0, 0 }, { "FIFO", 1, 1 }, { "RR", 2, 2 },
};
static const struct tmk_type policy_enum = {
	.code = TMK_T_ENUM, .elem = &tmk_type_long, .maps = policy_maps,
	.nr = 4,
};
static const struct tmk_field sched_fields[] = {
	{ "policy", &policy_enum }, { "vruntime", &tmk_type_u64 },
};
static const struct tmk_type sched_struct = {
	.code = TMK_T_STRUCT, .fields = sched_fields, .nr = 2,
};
static const struct tmk_field task_fields[] = {
	{ "pid", &tmk_type_i32 }, { "comm", &tmk_type_string },
	{ "prio", &tmk_type_int }, { "sched", &sched_struct },
};
static const struct tmk_type task_struct = {
	.code = TMK_T_STRUCT, .fields = task_fields, .nr = 4,
};
static const struct tmk_type arr_task_2 = {
	.code = TMK_T_ARRAY, .length = 2, .elem = &task_struct,
};
static const struct tmk_field switch_fields[] = {
	{ "prev", &task_struct }, { "prev_state", &state_enum },
	{ "next", &task_struct }, { "pair", &arr_task_2 },
};

static const struct tmk_field big_fields[] = {
	{ "x", &tmk_type_u32 },
};

static const struct tmk_event_class classes[] = {
	{ .id = EV_FIXED, .name = "all_fixed", .log_level = 6,
	  .fields = fixed_fields, .nr_fields = 11 },
	{ .id = EV_ABI, .name = "abi_sized", .log_level = 7,
	  .fields = abi_fields, .nr_fields = 11 },
	{ .id = EV_VAR, .name = "variable",
	  .log_level = TMK_LOGLEVEL_UNSPECIFIED, .fields = var_fields,
	  .nr_fields = 5 },
	{ .id = EV_SWITCH, .name = "sched_switch_like", .log_level = 5,
	  .fields = switch_fields, .nr_fields = 4 },
	{ .id = EV_EMPTY, .name = "tick", .log_level = 7 },
	{ .id = EV_MARKER, .name = "debug_marker", .log_level = 7,
	  .layout_kind = TMK_LAYOUT_MARKER,
	  .format = "msg %s count %d big %llu neg %ld size %zu ptr %p "
		    "ratio %f ch %c small %hhd tiny %hu wide %jd "
		    "diff %td hex %lx" },
	{ .id = EV_BIG_ID, .name = "big_id_event", .log_level = 3,
	  .fields = big_fields, .nr_fields = 1 },
};

/* Appended to the metadata in the middle of tracing (§7.10). */
static const struct tmk_event_class late_marker = {
	.id = EV_LATE_MARKER, .name = "late_marker", .log_level = 7,
	.layout_kind = TMK_LAYOUT_MARKER,
	.format = "\t step %u  label %s\t",
};

/* ---- event emitters ------------------------------------------------------ */

static void ev_fixed(unsigned int cpu, uint64_t ts, unsigned int k)
{
	struct tmk_rb_ctx ctx;
	struct jbuf j;
	bool b = k & 1;
	uint8_t u8 = (uint8_t)(0xF0 + k);
	uint16_t u16 = (uint16_t)(0xBEEF + k);
	uint32_t u32 = 0xDEADBEEFu - k;
	uint64_t u64 = UINT64_C(0xFEDCBA9876543210) + k;
	int8_t i8 = (int8_t)(-100 - (int)(k % 28));
	int16_t i16 = (int16_t)(-30000 + (int)k);
	int32_t i32 = INT32_MIN + (int32_t)k;
	int64_t i64 = INT64_MIN + (int64_t)k;
	float f32 = -1.5f * (float)(k + 1) + 0.1f;
	double f64 = 3.141592653589793 * (double)k + 1e-300;

	if (!ev_begin(&ctx, cpu, ts, EV_FIXED, 1 + 1 + 2 + 4 + 8 + 1 + 2 + 4 +
		      8 + 4 + 8))
		return;
	tmk_put_bool(&ctx.c, b);
	tmk_put_u8(&ctx.c, u8);
	tmk_put_u16(&ctx.c, u16);
	tmk_put_u32(&ctx.c, u32);
	tmk_put_u64(&ctx.c, u64);
	tmk_put_i8(&ctx.c, i8);
	tmk_put_i16(&ctx.c, i16);
	tmk_put_i32(&ctx.c, i32);
	tmk_put_i64(&ctx.c, i64);
	tmk_put_f32(&ctx.c, f32);
	tmk_put_f64(&ctx.c, f64);
	ev_end(&ctx);

	json_begin(&j, "all_fixed", cpu, ts);
	jb(&j, "b", b);
	ju(&j, "u8", u8);
	ju(&j, "u16", u16);
	ju(&j, "u32", u32);
	ju(&j, "u64", u64);
	ji(&j, "i8", i8);
	ji(&j, "i16", i16);
	ji(&j, "i32", i32);
	ji(&j, "i64", i64);
	jd(&j, "f32", (double)f32);
	jd(&j, "f64", f64);
	json_end(&j);
}

static const void *fake_ptr(unsigned int k)
{
	/* A kernel-looking address on 64-bit, a high one on 32-bit. */
	if (sizeof(void *) == 8)
		return (const void *)(uintptr_t)(UINT64_C(0xffff888012345670)
						 + k);
	return (const void *)(uintptr_t)(0xc0ffee00u + k);
}

static void ev_abi(unsigned int cpu, uint64_t ts, unsigned int k)
{
	struct tmk_rb_ctx ctx;
	struct jbuf j;
	short s = (short)(SHRT_MIN + (int)k);
	unsigned short us = (unsigned short)(USHRT_MAX - k);
	int i = INT_MIN + (int)k;
	unsigned int ui = UINT_MAX - k;
	long l = LONG_MIN + (long)k;
	unsigned long ul = ULONG_MAX - k;
	long long ll = LLONG_MIN + (long long)k;
	unsigned long long ull = ULLONG_MAX - k;
	size_t sz = SIZE_MAX - k;
	long long ssz = -1 - (long long)k;	/* as ssize_t: size_t-sized */
	const void *ptr = fake_ptr(k);

	if (!ev_begin(&ctx, cpu, ts, EV_ABI, 2 * sizeof(short) +
		      2 * sizeof(int) + 2 * sizeof(long) +
		      2 * sizeof(long long) + 2 * sizeof(size_t) +
		      sizeof(void *)))
		return;
	tmk_put_short(&ctx.c, s);
	tmk_put_ushort(&ctx.c, us);
	tmk_put_int(&ctx.c, i);
	tmk_put_uint(&ctx.c, ui);
	tmk_put_long(&ctx.c, l);
	tmk_put_ulong(&ctx.c, ul);
	tmk_put_llong(&ctx.c, ll);
	tmk_put_ullong(&ctx.c, ull);
	tmk_put_size(&ctx.c, sz);
	tmk_put_ssize(&ctx.c, ssz);
	tmk_put_ptr(&ctx.c, ptr);
	ev_end(&ctx);

	json_begin(&j, "abi_sized", cpu, ts);
	ji(&j, "s", s);
	ju(&j, "us", us);
	ji(&j, "i", i);
	ju(&j, "ui", ui);
	ji(&j, "l", l);
	ju(&j, "ul", ul);
	ji(&j, "ll", ll);
	ju(&j, "ull", ull);
	ju(&j, "sz", sz);
	ji(&j, "ssz", ssz);
	ju(&j, "ptr", (unsigned long long)(uintptr_t)ptr);
	json_end(&j);
}

static void ev_var(unsigned int cpu, uint64_t ts, unsigned int k)
{
	static const char *const strs[] = {
		"", "hello", "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93",
		"quote \" backslash \\ tab \t end",
	};
	static const char *const names[] = { "init", "", "kworker/0:1" };
	const char *str = strs[k % 4];
	uint8_t blob[7] = { 0x00, 0xff, 0x10, 0x80, 0x7f, 0x00, (uint8_t)k };
	uint32_t blen = k % 8;
	uint16_t arr[4] = { 0, 1, (uint16_t)k, 0xFFFF };
	int32_t seq[5] = { -1, 0, 1, INT32_MAX, (int32_t)k };
	uint32_t nseq = k % 6, nnames = k % 4, i, len;
	uint32_t ssz = tmk_strsize(str), nsz[3];
	struct tmk_rb_ctx ctx;
	struct jbuf j;

	if (blen > sizeof(blob))
		blen = sizeof(blob);
	len = ssz + 4 + blen + 4 * 2 + 4 + 4 * nseq + 4;
	for (i = 0; i < nnames; i++) {
		nsz[i] = tmk_strsize(names[i]);
		len += nsz[i];
	}
	if (!ev_begin(&ctx, cpu, ts, EV_VAR, len))
		return;
	tmk_put_string(&ctx.c, str, ssz);
	tmk_put_blob(&ctx.c, blob, blen);
	for (i = 0; i < 4; i++)
		tmk_put_u16(&ctx.c, arr[i]);
	tmk_put_seq_count(&ctx.c, nseq);
	for (i = 0; i < nseq; i++)
		tmk_put_i32(&ctx.c, seq[i]);
	tmk_put_seq_count(&ctx.c, nnames);
	for (i = 0; i < nnames; i++)
		tmk_put_string(&ctx.c, names[i], nsz[i]);
	ev_end(&ctx);

	json_begin(&j, "variable", cpu, ts);
	js(&j, "str", str);
	jhex(&j, "blob", blob, blen);
	jopen(&j, "arr", '[');
	for (i = 0; i < 4; i++)
		ju(&j, NULL, arr[i]);
	jclose(&j, ']');
	jopen(&j, "seq", '[');
	for (i = 0; i < nseq; i++)
		ji(&j, NULL, seq[i]);
	jclose(&j, ']');
	jopen(&j, "names", '[');
	for (i = 0; i < nnames; i++)
		js(&j, NULL, names[i]);
	jclose(&j, ']');
	json_end(&j);
}

struct task {
	int32_t pid;
	char comm[16];
	int prio;
	long policy;
	uint64_t vruntime;
};

static uint32_t task_size(const struct task *t)
{
	return 4 + tmk_strnsize(t->comm, sizeof(t->comm)) + sizeof(int) +
	       sizeof(long) + 8;
}

static void put_task(struct tmk_cursor *c, const struct task *t)
{
	tmk_put_i32(c, t->pid);
	tmk_put_string(c, t->comm, tmk_strnsize(t->comm, sizeof(t->comm)));
	tmk_put_int(c, t->prio);
	tmk_put_long(c, t->policy);	/* enum over long: the integer */
	tmk_put_u64(c, t->vruntime);
}

static void json_task(struct jbuf *j, const char *k, const struct task *t)
{
	char comm[17];

	memcpy(comm, t->comm, 16);
	comm[16] = 0;
	jopen(j, k, '{');
	ji(j, "pid", t->pid);
	js(j, "comm", comm);
	ji(j, "prio", t->prio);
	jopen(j, "sched", '{');
	jenum(j, "policy", &policy_enum, t->policy, 0, true);
	ju(j, "vruntime", t->vruntime);
	jclose(j, '}');
	jclose(j, '}');
}

static void ev_switch(unsigned int cpu, uint64_t ts, unsigned int k)
{
	struct task prev = { 100 + (int32_t)k, "bash", 120, 0,
			     UINT64_C(1) << 40 };
	struct task next = { 0, "swapper/0", 120 - (int)k, -3,
			     UINT64_C(123456789) * k };
	struct task pair[2] = {
		{ -1, "exactly16chars!!", 139, 2, 0 },	/* comm: no NUL */
		{ 1, "systemd", 99, 1, ~UINT64_C(0) },
	};
	uint8_t state = (uint8_t)((k * 3) % 7);
	struct tmk_rb_ctx ctx;
	struct jbuf j;

	memcpy(pair[0].comm, "exactly16chars!!", 16);
	if (!ev_begin(&ctx, cpu, ts, EV_SWITCH, task_size(&prev) + 1 +
		      task_size(&next) + task_size(&pair[0]) +
		      task_size(&pair[1])))
		return;
	put_task(&ctx.c, &prev);
	tmk_put_u8(&ctx.c, state);
	put_task(&ctx.c, &next);
	put_task(&ctx.c, &pair[0]);
	put_task(&ctx.c, &pair[1]);
	ev_end(&ctx);

	json_begin(&j, "sched_switch_like", cpu, ts);
	json_task(&j, "prev", &prev);
	jenum(&j, "prev_state", &state_enum, 0, state, false);
	json_task(&j, "next", &next);
	jopen(&j, "pair", '[');
	json_task(&j, NULL, &pair[0]);
	json_task(&j, NULL, &pair[1]);
	jclose(&j, ']');
	json_end(&j);
}

static void ev_empty(unsigned int cpu, uint64_t ts)
{
	struct tmk_rb_ctx ctx;
	struct jbuf j;

	if (!ev_begin(&ctx, cpu, ts, EV_EMPTY, 0))
		return;
	ev_end(&ctx);
	json_begin(&j, "tick", cpu, ts);
	json_end(&j);
}

static void ev_big_id(unsigned int cpu, uint64_t ts, uint32_t x)
{
	struct tmk_rb_ctx ctx;
	struct jbuf j;

	if (!ev_begin(&ctx, cpu, ts, EV_BIG_ID, 4))
		return;
	tmk_put_u32(&ctx.c, x);
	ev_end(&ctx);
	json_begin(&j, "big_id_event", cpu, ts);
	ju(&j, "x", x);
	json_end(&j);
}

static void ev_marker(unsigned int cpu, uint64_t ts, unsigned int k)
{
	const char *msg = (k & 1) ? "marker says hi" : "";
	int count = -(int)k;
	unsigned long long big = ULLONG_MAX - k;
	long neg = LONG_MIN + (long)k;
	size_t size = SIZE_MAX / 3 + k;
	const void *ptr = fake_ptr(k);
	double ratio = 0.25 * k - 1.0 / 3.0;
	char ch = (char)('A' + k % 26);
	signed char small = (signed char)(-128 + (int)k);
	unsigned short tiny = (unsigned short)(65535 - k);
	int64_t wide = INT64_MIN + (int64_t)k;
	long long diff = -(long long)k - 7;	/* as ptrdiff_t */
	unsigned long hex = ULONG_MAX / 5 + k;
	struct jbuf j;
	int r;

	tmk_shim_cur_cpu = cpu;
	fake_now = ts;
	r = tmk_marker_write(tmk_chan_this_rb(&chan), &classes[5], msg, count,
			     big, neg, size, ptr, ratio, ch, small, tiny, wide,
			     (ptrdiff_t)diff, hex);
	if (r == -TMK_ENOBUFS || r == -TMK_E2BIG) {
		events_dropped[cpu]++;
		return;
	}
	if (r)
		die("marker: %d", r);
	events_ok[cpu]++;
	json_begin(&j, "debug_marker", cpu, ts);
	js(&j, "msg", msg);
	ji(&j, "count", count);
	ju(&j, "big", big);
	ji(&j, "neg", neg);
	ju(&j, "size", size);
	ju(&j, "ptr", (unsigned long long)(uintptr_t)ptr);
	jd(&j, "ratio", ratio);
	ju(&j, "ch", (unsigned char)ch);
	ji(&j, "small", small);
	ju(&j, "tiny", tiny);
	ji(&j, "wide", wide);
	/* %td is size_t-sized signed: truncate like the ABI does. */
	ji(&j, "diff", sizeof(size_t) == 4 ? (long long)(int32_t)diff : diff);
	ju(&j, "hex", hex);
	json_end(&j);
}

static void ev_late_marker(unsigned int cpu, uint64_t ts, unsigned int step)
{
	struct jbuf j;
	int r;

	tmk_shim_cur_cpu = cpu;
	fake_now = ts;
	r = tmk_marker_write(tmk_chan_this_rb(&chan), &late_marker, step,
			     "late");
	if (r) {
		events_dropped[cpu]++;
		return;
	}
	events_ok[cpu]++;
	json_begin(&j, "late_marker", cpu, ts);
	ju(&j, "step", step);
	js(&j, "label", "late");
	json_end(&j);
}

/* An event larger than a packet: dropped and counted (-E2BIG). */
static void ev_too_big(unsigned int cpu, uint64_t ts)
{
	struct tmk_rb_ctx ctx;

	if (ev_begin(&ctx, cpu, ts, EV_VAR, SUBBUF_SIZE))
		die("oversized event was accepted");
}

/* ---- metadata ------------------------------------------------------------ */

static int enc_clock(struct tmk_sink *s, const void *arg)
{
	return tmk_meta_clock(s, arg);
}

static int enc_stream_class(struct tmk_sink *s, const void *arg)
{
	(void)arg;
	return tmk_meta_stream_class(s, 0, 0, "harness");
}

static int enc_env_domain(struct tmk_sink *s, const void *arg)
{
	(void)arg;
	return tmk_meta_env_str(s, "domain", "harness");
}

static int enc_env_ncpu(struct tmk_sink *s, const void *arg)
{
	(void)arg;
	return tmk_meta_env_i64(s, "nr_cpus", NR_CPUS);
}

static void setup_metadata(void)
{
	static const struct tmk_trace_desc td = {
		.os_name = "Linux",
		.os_release = "harness",
		.architecture = ARCH,
		.hostname = "harness",
		.tracer_name = "tracemark-probe",
		.tracer_version = "0.1.0",
	};
	static const struct tmk_clock_desc clk = {
		.clock_id = 0,
		.frequency = 1000000000u,
		.offset_ns = INT64_C(1700000000000000000),
		.precision = 1,
		.name = "fake",
		.description = "deterministic harness clock",
	};
	struct tmk_trace_desc t = td;
	size_t i;

	memcpy(t.uuid, trace_uuid, 16);
	if (tmk_meta_stream_init(&meta, meta_mem, sizeof(meta_mem),
				 META_PKT_SIZE, &t, true))
		die("metadata init");
	if (tmk_meta_stream_append(&meta, enc_clock, &clk) ||
	    tmk_meta_stream_append(&meta, enc_stream_class, NULL) ||
	    tmk_meta_stream_append(&meta, enc_env_domain, NULL) ||
	    tmk_meta_stream_append(&meta, enc_env_ncpu, NULL))
		die("metadata records");
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		int r = tmk_meta_stream_add_event_class(&meta, &classes[i]);

		if (r)
			die("event class %s: %d", classes[i].name, r);
	}
}

/* Negative tests of the metadata encoders: bad input is refused. */
static void self_test_metadata(void)
{
	static const struct tmk_field dup[] = {
		{ "a", &tmk_type_u8 }, { "a", &tmk_type_u8 },
	};
	static const struct tmk_field badname[] = { { "1x", &tmk_type_u8 } };
	static const struct tmk_type empty_struct = { .code = TMK_T_STRUCT };
	static const struct tmk_type arr_empty = {
		.code = TMK_T_ARRAY, .length = 3, .elem = &empty_struct,
	};
	static const struct tmk_field zero_elem[] = { { "z", &arr_empty } };
	/* One level down: each element takes a byte but holds an empty part. */
	static const struct tmk_field hollow_fields[] = {
		{ "none", &empty_struct }, { "x", &tmk_type_u8 },
	};
	static const struct tmk_type hollow = {
		.code = TMK_T_STRUCT, .nr = 2, .fields = hollow_fields,
	};
	static const struct tmk_type arr_hollow = {
		.code = TMK_T_ARRAY, .length = 3, .elem = &hollow,
	};
	static const struct tmk_field hollow_elem[] = { { "h", &arr_hollow } };
	static const struct tmk_field hollow_field[] = { { "h", &hollow } };
	static const char *const bad_fmts[] = {
		"a %d b", "a %ls", "a%d", "a %d,b %d", "a %d a %u", "a %q",
		"1a %d", "a %hhf", "a %d b %",
	};
	static const char *const good_fmts[] = {
		"", "  ", "a %d", " a\t%hhx  b %zu\t", "x %p y %c z %g",
	};
	struct tmk_event_class ec = { .name = "t" };
	uint8_t buf[512];
	struct tmk_sink s;
	size_t i;

	ec.fields = dup;
	ec.nr_fields = 2;
	tmk_sink_init(&s, buf, sizeof(buf));
	if (tmk_meta_event_class(&s, &ec) != -TMK_EINVAL)
		die("duplicate field accepted");
	ec.fields = badname;
	ec.nr_fields = 1;
	tmk_sink_init(&s, buf, sizeof(buf));
	if (tmk_meta_event_class(&s, &ec) != -TMK_EINVAL)
		die("bad field name accepted");
	ec.fields = zero_elem;
	tmk_sink_init(&s, buf, sizeof(buf));
	if (tmk_meta_event_class(&s, &ec) != -TMK_EINVAL)
		die("zero-size array element accepted");
	ec.fields = hollow_elem;
	tmk_sink_init(&s, buf, sizeof(buf));
	if (tmk_meta_event_class(&s, &ec) != -TMK_EINVAL)
		die("array element holding an empty struct accepted");
	ec.fields = hollow_field;
	tmk_sink_init(&s, buf, sizeof(buf));
	if (tmk_meta_event_class(&s, &ec) != 0)
		die("field holding an empty struct refused");
	/* A valid format over the writer's string limit: refused at
	 * registration, not record by record. */
	ec.fields = NULL;
	ec.nr_fields = 0;
	ec.layout_kind = TMK_LAYOUT_MARKER;
	ec.format = "a %s b %s c %s d %s e %s f %s g %s h %s i %s j %s k %s "
		    "l %s m %s n %s o %s p %s";
	tmk_sink_init(&s, buf, sizeof(buf));
	if (tmk_meta_event_class(&s, &ec) != 0)
		die("marker with %d strings refused", TMK_MARKER_MAX_STRINGS);
	ec.format = "a %s b %s c %s d %s e %s f %s g %s h %s i %s j %s k %s "
		    "l %s m %s n %s o %s p %s q %s";
	tmk_sink_init(&s, buf, sizeof(buf));
	if (tmk_meta_event_class(&s, &ec) != -TMK_EINVAL)
		die("marker with more than %d strings accepted", TMK_MARKER_MAX_STRINGS);
	for (i = 0; i < sizeof(bad_fmts) / sizeof(bad_fmts[0]); i++)
		if (tmk_fmt_validate(bad_fmts[i]) != -TMK_EINVAL)
			die("bad format accepted: '%s'", bad_fmts[i]);
	for (i = 0; i < sizeof(good_fmts) / sizeof(good_fmts[0]); i++)
		if (tmk_fmt_validate(good_fmts[i]))
			die("good format refused: '%s'", good_fmts[i]);
}

/* ---- flight recorder -------------------------------------------------------- */

static FILE *open_out(const char *dir, const char *name);

static void write_snapshot(FILE *f, unsigned int cpu, uint8_t *buf,
			   unsigned long long *nr)
{
	uint32_t n = tmk_rb_snapshot(&chan.bufs[cpu], buf, NR_SUBBUFS);

	if (fwrite(buf, SUBBUF_SIZE, n, f) != n)
		die("write snapshot: %s", strerror(errno));
	*nr = n;
}

static void write_metadata(const char *dir)
{
	FILE *f = open_out(dir, "metadata");
	size_t mlen = tmk_meta_stream_len(&meta);

	if (fwrite(meta_mem, 1, mlen, f) != mlen || fclose(f))
		die("write metadata");
}

/*
 * Overwrite mode (tmk_rb.h): nothing consumes CPUs 0 and 2, so their
 * writers keep overwriting their oldest packets; CPU 1 has a consumer
 * that drains now and then, sometimes too late.  A snapshot of CPU 2 is
 * taken mid-run (OUT/mid); at the end every CPU is flushed, CPU 1
 * drained, and the snapshot of every CPU appended to its stream file.
 * check_overwrite.py then proves every decoded event is exactly one of
 * written.jsonl and every missing one lies in a sequence gap (§10.2).
 */
static void run_overwrite(const char *out)
{
	const struct tmk_rb_config cfg = {
		.subbuf_size = SUBBUF_SIZE,
		.nr_subbufs = NR_SUBBUFS,
		.stream_class_id = 0,
		.crc = true,
		.overwrite = true,
	};
	unsigned long long snap_pkts[NR_CPUS], mid_pkts = 0;
	uint64_t ts = UINT64_C(2000000000);
	static uint8_t snap[NR_SUBBUFS * SUBBUF_SIZE];
	char mid[4096];
	unsigned int cpu, k;
	FILE *f, *sum;

	if (tmk_chan_init(&chan, &cfg, trace_uuid, NR_CPUS))
		die("channel init");
	for (cpu = 0; cpu < NR_CPUS; cpu++) {
		char name[64];

		snprintf(name, sizeof(name), "stream-0-%u.tmk", cpu);
		stream_f[cpu] = open_out(out, name);
	}
	expected_f = open_out(out, "written.jsonl");
	snprintf(mid, sizeof(mid), "%s/mid", out);
	if (mkdir(mid, 0755) && errno != EEXIST)
		die("mkdir %s: %s", mid, strerror(errno));

	for (k = 0; k < 700; k++) {
		cpu = (k * 7 + k / 5) % NR_CPUS;
		ts += 1 + (k * 37) % 1000;
		switch (k % 7) {
		case 0: ev_fixed(cpu, ts, k); break;
		case 1: ev_abi(cpu, ts, k); break;
		case 2: ev_var(cpu, ts, k); break;
		case 3: ev_switch(cpu, ts, k); break;
		case 4: ev_empty(cpu, ts); break;
		case 5: ev_marker(cpu, ts, k); break;
		default: ev_big_id(cpu, ts, 0xB0000000u + k); break;
		}
		/* The consumer of CPU 1 keeps up early, then falls behind. */
		if (k % (k < 300 ? 10 : 150) == 9)
			drain(1);
		if (k == 400) {
			f = open_out(mid, "stream-0-2.tmk");
			write_snapshot(f, 2, snap, &mid_pkts);
			if (fclose(f))
				die("close mid snapshot");
		}
	}

	fake_now = ts + 1000;
	for (cpu = 0; cpu < NR_CPUS; cpu++)
		tmk_rb_flush(&chan.bufs[cpu]);
	drain(1);
	for (cpu = 0; cpu < NR_CPUS; cpu++) {
		write_snapshot(stream_f[cpu], cpu, snap, &snap_pkts[cpu]);
		if (fclose(stream_f[cpu]))
			die("close stream");
	}
	write_metadata(out);
	write_metadata(mid);

	sum = open_out(out, "overwrite-summary.json");
	fprintf(sum, "{\"streams\":[");
	for (cpu = 0; cpu < NR_CPUS; cpu++) {
		const struct tmk_rb *rb = &chan.bufs[cpu];

		fprintf(sum, "%s{\"cpu\":%u,\"written\":%llu,\"dropped\":%llu,"
			"\"discarded\":%" PRIu64 ",\"overwritten\":%" PRIu64
			",\"consumed_packets\":%llu,\"snapshot_packets\":%llu}",
			cpu ? "," : "", cpu, events_ok[cpu],
			events_dropped[cpu], tmk_rb_discarded(rb),
			tmk_rb_overwritten(rb), packets_out[cpu],
			snap_pkts[cpu]);
		printf("cpu %u: %llu events, %llu dropped, %" PRIu64
		       " packets overwritten, %llu consumed, %llu in the "
		       "snapshot\n", cpu, events_ok[cpu], events_dropped[cpu],
		       tmk_rb_overwritten(rb), packets_out[cpu], snap_pkts[cpu]);
		/* The scenario must exercise what it claims to. */
		if (cpu != 1 && !tmk_rb_overwritten(rb))
			die("cpu %u: nothing was overwritten", cpu);
		if (tmk_rb_discarded(rb) != events_dropped[cpu])
			die("cpu %u: discard counter mismatch", cpu);
	}
	fprintf(sum, "],\"mid_snapshot_packets\":%llu}\n", mid_pkts);
	if (!tmk_rb_overwritten(&chan.bufs[1]) || !packets_out[1])
		die("cpu 1: expected both consumed and overwritten packets");
	if (fclose(sum) || fclose(expected_f))
		die("close");
	tmk_chan_destroy(&chan);
}

/* ---- main ---------------------------------------------------------------- */

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		die("open %s: %s", path, strerror(errno));
	return f;
}

int main(int argc, char **argv)
{
	const struct tmk_rb_config cfg = {
		.subbuf_size = SUBBUF_SIZE,
		.nr_subbufs = NR_SUBBUFS,
		.stream_class_id = 0,
		.crc = true,
	};
	const uint64_t t0 = UINT64_C(1000000000);
	uint64_t ts = t0;
	unsigned int cpu, k;
	char name[64];
	FILE *f, *sum;
	size_t mlen;

	bool overwrite = argc == 3 && !strcmp(argv[1], "--overwrite");

	if (argc != 2 && !overwrite)
		die("usage: harness [--overwrite] OUTDIR");
	argv += overwrite;
	if (mkdir(argv[1], 0755) && errno != EEXIST)
		die("mkdir %s: %s", argv[1], strerror(errno));

	self_test_metadata();
	tmk_shim_set_clock(fake_clock);
	tmk_shim_nr_cpus = NR_CPUS;
	setup_metadata();
	if (overwrite) {
		run_overwrite(argv[1]);
		return 0;
	}
	if (tmk_chan_init(&chan, &cfg, trace_uuid, NR_CPUS))
		die("channel init");
	for (cpu = 0; cpu < NR_CPUS; cpu++) {
		snprintf(name, sizeof(name), "stream-0-%u.tmk", cpu);
		stream_f[cpu] = open_out(argv[1], name);
	}
	expected_f = open_out(argv[1], "expected.jsonl");

	/*
	 * The script.  Interleaved CPUs, every event kind, the consumer
	 * draining every few events except on CPU 2 during a stall (which
	 * makes it drop events, §10.1), and clock jumps that exercise both
	 * the 48-bit wrap of compact headers (§5.5) and the >= 2^48 rule
	 * that forces extended ones (§5.4).
	 */
	for (k = 0; k < 240; k++) {
		cpu = (k * 7 + k / 5) % NR_CPUS;
		ts += 1 + (k * 37) % 1000;

		if (k == 60)	/* low 48 bits about to wrap */
			ts = (UINT64_C(5) << 48) - 3;
		if (k == 130)	/* a jump of more than 2^48 ticks */
			ts += (UINT64_C(1) << 48) + 12345;
		if (k == 80)
			stalled[2] = true;
		if (k == 200)
			stalled[2] = false;
		if (k == 150) {
			/* §7.10: a class declared while tracing */
			if (tmk_meta_stream_add_event_class(&meta,
							    &late_marker))
				die("late marker class");
		}

		switch (k % 9) {
		case 0: ev_fixed(cpu, ts, k); break;
		case 1: ev_abi(cpu, ts, k); break;
		case 2: ev_var(cpu, ts, k); break;
		case 3: ev_switch(cpu, ts, k); break;
		case 4: ev_empty(cpu, ts); break;
		case 5: ev_marker(cpu, ts, k); break;
		case 6: ev_big_id(cpu, ts, 0xA0000000u + k); break;
		case 7:
			if (k >= 150)
				ev_late_marker(cpu, ts, k);
			else
				ev_fixed(cpu, ts, k);
			break;
		default: ev_switch(cpu, ts, k); break;
		}
		/* Same CPU, same timestamp twice: equal stamps are legal. */
		if (k % 50 == 17)
			ev_empty(cpu, ts);
		if (k == 201)
			ev_too_big(cpu, ts);
		/* A burst on the stalled CPU: its buffer fills, events drop. */
		if (stalled[2] && k % 2)
			ev_switch(2, ts, k);
		if (k % 4 == 3)
			drain_all();
	}

	/* Stop: close every open packet, take everything. */
	fake_now = ts + 1000;
	for (cpu = 0; cpu < NR_CPUS; cpu++) {
		stalled[cpu] = false;
		tmk_rb_flush(&chan.bufs[cpu]);
	}
	drain_all();

	f = open_out(argv[1], "metadata");
	mlen = tmk_meta_stream_len(&meta);
	if (fwrite(meta_mem, 1, mlen, f) != mlen || fclose(f))
		die("write metadata");

	sum = open_out(argv[1], "expected-summary.json");
	fprintf(sum, "{\"arch\":\"%s\",\"streams\":[", ARCH);
	for (cpu = 0; cpu < NR_CPUS; cpu++) {
		fprintf(sum, "%s{\"cpu\":%u,\"events\":%llu,"
			"\"discarded\":%" PRIu64 ",\"packets\":%llu}",
			cpu ? "," : "", cpu, events_ok[cpu],
			tmk_rb_discarded(&chan.bufs[cpu]), packets_out[cpu]);
		if (tmk_rb_discarded(&chan.bufs[cpu]) != events_dropped[cpu])
			die("cpu %u: discard counter %" PRIu64 " != %llu drops",
			    cpu, tmk_rb_discarded(&chan.bufs[cpu]),
			    events_dropped[cpu]);
		if (fclose(stream_f[cpu]))
			die("close stream");
	}
	fprintf(sum, "]}\n");
	if (fclose(sum) || fclose(expected_f))
		die("close");
	tmk_chan_destroy(&chan);
	for (cpu = 0; cpu < NR_CPUS; cpu++)
		printf("cpu %u: %llu events, %llu discarded, %llu packets\n",
		       cpu, events_ok[cpu], events_dropped[cpu],
		       packets_out[cpu]);
	return 0;
}
