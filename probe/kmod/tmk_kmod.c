// SPDX-License-Identifier: GPL-2.0
/*
 * tracemark.ko - a kernel tracer writing the tracemark format.
 *
 * Probes: sched_switch, sched_process_fork/exec/exit, irq_handler_entry/
 * exit, sys_enter/sys_exit, and a "tracemark_debug" marker (§8) emitted
 * at start, at stop and on "mark TEXT" written to the control file.
 *
 * Userspace interface (debugfs, /sys/kernel/debug/tracemark/):
 *   metadata            the metadata stream (§7), complete packets
 *   stream-0-<cpu>.tmk  that CPU's data stream: whole packets, in order;
 *                       a read blocks until a packet is complete and
 *                       returns 0 (EOF) once tracing is stopped and
 *                       everything was read.  One reader at a time.
 *   control             write "stop" (unregister, flush) or "mark TEXT"
 * so `cp` (or cat, one file each) of that directory is a trace
 * directory (§9.1).
 *
 * Tracing starts at insmod.  Each tracepoint is looked up by name with
 * for_each_kernel_tracepoint() because the __tracepoint_* symbols are
 * not exported.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/uaccess.h>
#include <linux/sched.h>
#include <linux/tracepoint.h>
#include <linux/interrupt.h>
#include <linux/binfmts.h>
#include <linux/utsname.h>
#include <linux/uuid.h>
#include <linux/mutex.h>
#include <linux/delay.h>
#include <linux/ptrace.h>
#include <asm/syscall.h>

#include "../core/tmk_meta.h"
#include "../core/tmk_rb.h"
#include "../core/tmk_marker.h"

static unsigned int subbuf_size = 64 * 1024;
module_param(subbuf_size, uint, 0444);
MODULE_PARM_DESC(subbuf_size, "packet size in bytes (power of two)");
static unsigned int nr_subbufs = 8;
module_param(nr_subbufs, uint, 0444);
MODULE_PARM_DESC(nr_subbufs, "packets per CPU buffer (power of two)");
static bool syscalls = true;
module_param(syscalls, bool, 0444);
MODULE_PARM_DESC(syscalls, "trace sys_enter/sys_exit");

#define META_PKT_SIZE	4096
#define META_CAP	(64 * 1024)
#define COMM_LEN	TASK_COMM_LEN

enum {
	EV_SCHED_SWITCH = 1,
	EV_PROCESS_FORK,
	EV_PROCESS_EXEC,
	EV_PROCESS_EXIT,
	EV_IRQ_ENTRY,
	EV_IRQ_EXIT,
	EV_SYS_ENTER,
	EV_SYS_EXIT,
	EV_DEBUG_MARKER,
};

/* ---- event classes ------------------------------------------------------- */

/* TASK_* bits as sched_switch's prev_state reports them. */
static const struct tmk_enum_map state_maps[] = {
	{ "RUNNING", 0, 0 },
	{ "INTERRUPTIBLE", 0x1, 0x1 },
	{ "UNINTERRUPTIBLE", 0x2, 0x2 },
	{ "STOPPED", 0x4, 0x4 },
	{ "TRACED", 0x8, 0x8 },
	{ "EXIT_DEAD", 0x10, 0x10 },
	{ "EXIT_ZOMBIE", 0x20, 0x20 },
	{ "PARKED", 0x40, 0x40 },
	{ "DEAD", 0x80, 0x80 },
	{ "IDLE", 0x402, 0x402 },
	{ "OTHER", 0, 0xFFFFFFFF },
};
static const struct tmk_type state_enum = {
	.code = TMK_T_ENUM, .elem = &tmk_type_uint, .maps = state_maps,
	.nr = ARRAY_SIZE(state_maps),
};
static const struct tmk_field switch_fields[] = {
	{ "prev_comm", &tmk_type_string }, { "prev_pid", &tmk_type_i32 },
	{ "prev_prio", &tmk_type_i32 }, { "prev_state", &state_enum },
	{ "next_comm", &tmk_type_string }, { "next_pid", &tmk_type_i32 },
	{ "next_prio", &tmk_type_i32 },
};
static const struct tmk_field fork_fields[] = {
	{ "parent_comm", &tmk_type_string }, { "parent_pid", &tmk_type_i32 },
	{ "child_comm", &tmk_type_string }, { "child_pid", &tmk_type_i32 },
};
static const struct tmk_field exec_fields[] = {
	{ "filename", &tmk_type_string }, { "pid", &tmk_type_i32 },
	{ "old_pid", &tmk_type_i32 },
};
static const struct tmk_field exit_fields[] = {
	{ "comm", &tmk_type_string }, { "pid", &tmk_type_i32 },
	{ "prio", &tmk_type_i32 },
};
static const struct tmk_field irq_entry_fields[] = {
	{ "irq", &tmk_type_i32 }, { "name", &tmk_type_string },
};
static const struct tmk_field irq_exit_fields[] = {
	{ "irq", &tmk_type_i32 }, { "ret", &tmk_type_i32 },
};
static const struct tmk_type args_array = {
	.code = TMK_T_ARRAY, .length = 6, .elem = &tmk_type_ulong,
};
static const struct tmk_field sys_enter_fields[] = {
	{ "id", &tmk_type_long }, { "args", &args_array },
};
static const struct tmk_field sys_exit_fields[] = {
	{ "id", &tmk_type_long }, { "ret", &tmk_type_long },
};

#define EC(i, n, lvl, f) { .id = (i), .name = (n), .log_level = (lvl), \
			    .fields = (f), .nr_fields = ARRAY_SIZE(f) }
static const struct tmk_event_class classes[] = {
	EC(EV_SCHED_SWITCH, "sched_switch", 7, switch_fields),
	EC(EV_PROCESS_FORK, "sched_process_fork", 7, fork_fields),
	EC(EV_PROCESS_EXEC, "sched_process_exec", 7, exec_fields),
	EC(EV_PROCESS_EXIT, "sched_process_exit", 7, exit_fields),
	EC(EV_IRQ_ENTRY, "irq_handler_entry", 7, irq_entry_fields),
	EC(EV_IRQ_EXIT, "irq_handler_exit", 7, irq_exit_fields),
	EC(EV_SYS_ENTER, "sys_enter", 7, sys_enter_fields),
	EC(EV_SYS_EXIT, "sys_exit", 7, sys_exit_fields),
	{ .id = EV_DEBUG_MARKER, .name = "tracemark_debug", .log_level = 7,
	  .layout_kind = TMK_LAYOUT_MARKER,
	  .format = "msg %s cpu %u value %lld where %p" },
};
#define MARKER (&classes[ARRAY_SIZE(classes) - 1])

/* ---- state --------------------------------------------------------------- */

static struct tmk_chan chan;
static struct tmk_meta_stream meta;
static void *meta_mem;
static uint8_t trace_uuid[16];
static bool tracing;		/* probes registered */
static bool stopped;		/* flushed; readers see EOF when drained */
static DEFINE_MUTEX(ctl_lock);
static struct dentry *dir;

struct stream_file {
	struct tmk_rb *rb;
	struct mutex lock;	/* one consumer per buffer */
	uint32_t pos;		/* bytes of the current packet already read */
	bool busy;
	bool final_flush;	/* flushed again after stop */
};
static struct stream_file *sfiles;

/* ---- probes -------------------------------------------------------------- */

static inline bool ev_reserve(struct tmk_rb_ctx *ctx, uint32_t id, uint32_t len)
{
	return tmk_rb_reserve(tmk_chan_this_rb(&chan), ctx, id, len) == 0;
}

/* task->comm may change under us (prctl): snapshot it first, so the
 * size we reserve is the size we write. */
static inline uint32_t comm_snap(char *dst, const struct task_struct *t)
{
	memcpy(dst, t->comm, COMM_LEN);
	dst[COMM_LEN - 1] = 0;
	return tmk_strnsize(dst, COMM_LEN);
}

static void probe_sched_switch(void *data, bool preempt,
			       struct task_struct *prev,
			       struct task_struct *next,
			       unsigned int prev_state)
{
	char pc[COMM_LEN], nc[COMM_LEN];
	uint32_t pl, nl;
	struct tmk_rb_ctx ctx;

	tmk_preempt_disable();
	pl = comm_snap(pc, prev);
	nl = comm_snap(nc, next);
	if (ev_reserve(&ctx, EV_SCHED_SWITCH, pl + 4 + 4 + sizeof(int) + nl +
		       4 + 4)) {
		tmk_put_string(&ctx.c, pc, pl);
		tmk_put_i32(&ctx.c, prev->pid);
		tmk_put_i32(&ctx.c, prev->prio);
		tmk_put_uint(&ctx.c, prev_state);
		tmk_put_string(&ctx.c, nc, nl);
		tmk_put_i32(&ctx.c, next->pid);
		tmk_put_i32(&ctx.c, next->prio);
		tmk_rb_commit(&ctx);
	}
	tmk_preempt_enable();
}

static void probe_fork(void *data, struct task_struct *parent,
		       struct task_struct *child)
{
	char pc[COMM_LEN], cc[COMM_LEN];
	uint32_t pl, cl;
	struct tmk_rb_ctx ctx;

	tmk_preempt_disable();
	pl = comm_snap(pc, parent);
	cl = comm_snap(cc, child);
	if (ev_reserve(&ctx, EV_PROCESS_FORK, pl + 4 + cl + 4)) {
		tmk_put_string(&ctx.c, pc, pl);
		tmk_put_i32(&ctx.c, parent->pid);
		tmk_put_string(&ctx.c, cc, cl);
		tmk_put_i32(&ctx.c, child->pid);
		tmk_rb_commit(&ctx);
	}
	tmk_preempt_enable();
}

static void probe_exec(void *data, struct task_struct *p, pid_t old_pid,
		       struct linux_binprm *bprm)
{
	/* bprm->filename is stable during exec; bound it anyway. */
	uint32_t fl = tmk_strnsize(bprm->filename, 4095);
	struct tmk_rb_ctx ctx;

	tmk_preempt_disable();
	if (ev_reserve(&ctx, EV_PROCESS_EXEC, fl + 4 + 4)) {
		tmk_put_string(&ctx.c, bprm->filename, fl);
		tmk_put_i32(&ctx.c, p->pid);
		tmk_put_i32(&ctx.c, old_pid);
		tmk_rb_commit(&ctx);
	}
	tmk_preempt_enable();
}

static void probe_exit(void *data, struct task_struct *p)
{
	char c[COMM_LEN];
	uint32_t l;
	struct tmk_rb_ctx ctx;

	tmk_preempt_disable();
	l = comm_snap(c, p);
	if (ev_reserve(&ctx, EV_PROCESS_EXIT, l + 4 + 4)) {
		tmk_put_string(&ctx.c, c, l);
		tmk_put_i32(&ctx.c, p->pid);
		tmk_put_i32(&ctx.c, p->prio);
		tmk_rb_commit(&ctx);
	}
	tmk_preempt_enable();
}

static void probe_irq_entry(void *data, int irq, struct irqaction *action)
{
	const char *name = action && action->name ? action->name : "";
	uint32_t nl = tmk_strnsize(name, 64);
	struct tmk_rb_ctx ctx;

	tmk_preempt_disable();
	if (ev_reserve(&ctx, EV_IRQ_ENTRY, 4 + nl)) {
		tmk_put_i32(&ctx.c, irq);
		tmk_put_string(&ctx.c, name, nl);
		tmk_rb_commit(&ctx);
	}
	tmk_preempt_enable();
}

static void probe_irq_exit(void *data, int irq, struct irqaction *action,
			   int ret)
{
	struct tmk_rb_ctx ctx;

	tmk_preempt_disable();
	if (ev_reserve(&ctx, EV_IRQ_EXIT, 4 + 4)) {
		tmk_put_i32(&ctx.c, irq);
		tmk_put_i32(&ctx.c, ret);
		tmk_rb_commit(&ctx);
	}
	tmk_preempt_enable();
}

static void probe_sys_enter(void *data, struct pt_regs *regs, long id)
{
	unsigned long args[6];
	struct tmk_rb_ctx ctx;
	int i;

	syscall_get_arguments(current, regs, args);
	tmk_preempt_disable();
	if (ev_reserve(&ctx, EV_SYS_ENTER, sizeof(long) * 7)) {
		tmk_put_long(&ctx.c, id);
		for (i = 0; i < 6; i++)
			tmk_put_ulong(&ctx.c, args[i]);
		tmk_rb_commit(&ctx);
	}
	tmk_preempt_enable();
}

static void probe_sys_exit(void *data, struct pt_regs *regs, long ret)
{
	long id = syscall_get_nr(current, regs);
	struct tmk_rb_ctx ctx;

	tmk_preempt_disable();
	if (ev_reserve(&ctx, EV_SYS_EXIT, sizeof(long) * 2)) {
		tmk_put_long(&ctx.c, id);
		tmk_put_long(&ctx.c, ret);
		tmk_rb_commit(&ctx);
	}
	tmk_preempt_enable();
}

static void debug_marker(const char *msg, long long value)
{
	tmk_preempt_disable();
	tmk_marker_write(tmk_chan_this_rb(&chan), MARKER, msg,
			 tmk_cpu_id(), value, (const void *)_RET_IP_);
	tmk_preempt_enable();
}

/* ---- tracepoint registration --------------------------------------------- */

struct probe_def {
	const char *name;
	void *fn;
	bool is_syscall;
	struct tracepoint *tp;
	bool registered;
};

static struct probe_def probes[] = {
	{ "sched_switch", probe_sched_switch },
	{ "sched_process_fork", probe_fork },
	{ "sched_process_exec", probe_exec },
	{ "sched_process_exit", probe_exit },
	{ "irq_handler_entry", probe_irq_entry },
	{ "irq_handler_exit", probe_irq_exit },
	{ "sys_enter", probe_sys_enter, true },
	{ "sys_exit", probe_sys_exit, true },
};

static void find_tp(struct tracepoint *tp, void *priv)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(probes); i++)
		if (!strcmp(tp->name, probes[i].name))
			probes[i].tp = tp;
}

static void unregister_probes(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		if (!probes[i].registered)
			continue;
		tracepoint_probe_unregister(probes[i].tp, probes[i].fn, NULL);
		probes[i].registered = false;
	}
	/* No probe runs on any CPU past this point. */
	tracepoint_synchronize_unregister();
}

static int register_probes(void)
{
	size_t i;
	int ret;

	for_each_kernel_tracepoint(find_tp, NULL);
	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		if (probes[i].is_syscall && !syscalls)
			continue;
		if (!probes[i].tp) {
			pr_warn("tracepoint %s not found\n", probes[i].name);
			continue;
		}
		ret = tracepoint_probe_register(probes[i].tp, probes[i].fn,
						NULL);
		if (ret) {
			pr_err("register %s: %d\n", probes[i].name, ret);
			unregister_probes();
			return ret;
		}
		probes[i].registered = true;
	}
	return 0;
}

/* Stop tracing: no more writers, then close every open packet. */
static void stop_tracing(void)
{
	unsigned int cpu;

	mutex_lock(&ctl_lock);
	if (tracing) {
		debug_marker("tracing stopped", 0);
		unregister_probes();
		tracing = false;
		for (cpu = 0; cpu < chan.nr_cpus; cpu++)
			tmk_rb_flush(&chan.bufs[cpu]);
		smp_store_release(&stopped, true);
	}
	mutex_unlock(&ctl_lock);
}

/* ---- debugfs files ------------------------------------------------------- */

static ssize_t tmk_stream_read(struct file *f, char __user *ubuf, size_t count,
			   loff_t *ppos)
{
	struct stream_file *sf = file_inode(f)->i_private;
	const uint8_t *pkt;
	uint32_t len, n;
	size_t done = 0;
	bool fin;

	if (mutex_lock_interruptible(&sf->lock))
		return -ERESTARTSYS;
	while (done < count) {
		fin = smp_load_acquire(&stopped);
		if (tmk_rb_get_packet(sf->rb, &pkt, &len)) {
			/* Nothing complete.  Stopped: flush once more, now
			 * that there is room, so drops that came after the
			 * last packet still get an (empty) packet (§10.1);
			 * then EOF. */
			if (fin && !sf->final_flush) {
				sf->final_flush = true;
				tmk_rb_flush(sf->rb);
				continue;
			}
			if (done || fin)
				break;
			if (f->f_flags & O_NONBLOCK) {
				mutex_unlock(&sf->lock);
				return -EAGAIN;
			}
			/* Probes cannot wake us (sched_switch holds the rq
			 * lock), so poll, like LTTng's read timer. */
			if (msleep_interruptible(50)) {
				mutex_unlock(&sf->lock);
				return -ERESTARTSYS;
			}
			continue;
		}
		n = min_t(size_t, len - sf->pos, count - done);
		if (copy_to_user(ubuf + done, pkt + sf->pos, n)) {
			mutex_unlock(&sf->lock);
			return done ? done : -EFAULT;
		}
		done += n;
		sf->pos += n;
		if (sf->pos == len) {
			tmk_rb_put_packet(sf->rb);
			sf->pos = 0;
		}
	}
	mutex_unlock(&sf->lock);
	*ppos += done;
	return done;
}

static int tmk_stream_open(struct inode *inode, struct file *f)
{
	struct stream_file *sf = inode->i_private;
	int ret = 0;

	mutex_lock(&sf->lock);
	if (sf->busy)
		ret = -EBUSY;
	else
		sf->busy = true;
	mutex_unlock(&sf->lock);
	return ret ? ret : nonseekable_open(inode, f);
}

static int tmk_stream_release(struct inode *inode, struct file *f)
{
	struct stream_file *sf = inode->i_private;

	mutex_lock(&sf->lock);
	sf->busy = false;
	mutex_unlock(&sf->lock);
	return 0;
}

static const struct file_operations stream_fops = {
	.owner = THIS_MODULE,
	.open = tmk_stream_open,
	.read = tmk_stream_read,
	.release = tmk_stream_release,
	.llseek = no_llseek,
};

static ssize_t meta_read(struct file *f, char __user *ubuf, size_t count,
			 loff_t *ppos)
{
	/* Every metadata record is written at init (markers included), so
	 * the bytes are stable while readers copy them. */
	return simple_read_from_buffer(ubuf, count, ppos, meta_mem,
				       tmk_meta_stream_len(&meta));
}

static const struct file_operations meta_fops = {
	.owner = THIS_MODULE,
	.read = meta_read,
	.llseek = default_llseek,
};

static ssize_t ctl_write(struct file *f, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	char buf[128];
	size_t n = min(count, sizeof(buf) - 1);

	if (copy_from_user(buf, ubuf, n))
		return -EFAULT;
	buf[n] = 0;
	strim(buf);
	if (!strcmp(buf, "stop")) {
		stop_tracing();
	} else if (!strncmp(buf, "mark ", 5)) {
		mutex_lock(&ctl_lock);
		if (tracing)
			debug_marker(buf + 5, (long long)count);
		mutex_unlock(&ctl_lock);
	} else {
		return -EINVAL;
	}
	return count;
}

static const struct file_operations ctl_fops = {
	.owner = THIS_MODULE,
	.write = ctl_write,
	.llseek = noop_llseek,
};

/* ---- init / exit --------------------------------------------------------- */

static int enc_clock(struct tmk_sink *s, const void *arg)
{
	return tmk_meta_clock(s, arg);
}

static int enc_stream_class(struct tmk_sink *s, const void *arg)
{
	return tmk_meta_stream_class(s, 0, 0, "kernel");
}

static int enc_env(struct tmk_sink *s, const void *arg)
{
	return tmk_meta_env_str(s, "domain", "kernel");
}

static int enc_env_cpus(struct tmk_sink *s, const void *arg)
{
	return tmk_meta_env_i64(s, "nr_cpus", nr_cpu_ids);
}

static int setup_metadata(void)
{
	struct tmk_trace_desc td = {
		.os_name = "Linux",
		.os_release = utsname()->release,
		.architecture = utsname()->machine,
		.hostname = utsname()->nodename,
		.tracer_name = "tracemark-kmod",
		.tracer_version = "0.1.0",
	};
	/* Tick 0 of ktime_get_mono_fast_ns() in Unix-epoch nanoseconds. */
	struct tmk_clock_desc clk = {
		.clock_id = 0,
		.frequency = NSEC_PER_SEC,
		.offset_ns = ktime_get_real_ns() - ktime_get_mono_fast_ns(),
		.precision = 1,
		.name = "monotonic",
		.description = "ktime_get_mono_fast_ns",
	};
	size_t i;
	int ret;

	meta_mem = tmk_zalloc(META_CAP);
	if (!meta_mem)
		return -ENOMEM;
	memcpy(td.uuid, trace_uuid, 16);
	ret = tmk_meta_stream_init(&meta, meta_mem, META_CAP, META_PKT_SIZE,
				   &td, true);
	ret = ret ?: tmk_meta_stream_append(&meta, enc_clock, &clk);
	ret = ret ?: tmk_meta_stream_append(&meta, enc_stream_class, NULL);
	ret = ret ?: tmk_meta_stream_append(&meta, enc_env, NULL);
	ret = ret ?: tmk_meta_stream_append(&meta, enc_env_cpus, NULL);
	for (i = 0; !ret && i < ARRAY_SIZE(classes); i++)
		ret = tmk_meta_stream_add_event_class(&meta, &classes[i]);
	return ret;
}

static void cleanup(void)
{
	unsigned int cpu;

	debugfs_remove_recursive(dir);
	dir = NULL;
	if (sfiles)
		for (cpu = 0; cpu < chan.nr_cpus; cpu++)
			mutex_destroy(&sfiles[cpu].lock);
	kfree(sfiles);
	sfiles = NULL;
	tmk_chan_destroy(&chan);
	tmk_free(meta_mem);
	meta_mem = NULL;
}

static int __init tmk_init(void)
{
	const struct tmk_rb_config cfg = {
		.subbuf_size = subbuf_size,
		.nr_subbufs = nr_subbufs,
		.stream_class_id = 0,
		.crc = true,
	};
	char name[32];
	unsigned int cpu;
	int ret;

	generate_random_uuid(trace_uuid);	/* §4.6: version 4 */
	ret = setup_metadata();
	if (ret)
		goto fail;
	ret = tmk_chan_init(&chan, &cfg, trace_uuid, nr_cpu_ids);
	if (ret)
		goto fail;
	sfiles = kcalloc(chan.nr_cpus, sizeof(*sfiles), GFP_KERNEL);
	if (!sfiles) {
		ret = -ENOMEM;
		goto fail;
	}
	dir = debugfs_create_dir("tracemark", NULL);
	if (IS_ERR(dir)) {
		ret = PTR_ERR(dir);
		dir = NULL;
		goto fail;
	}
	debugfs_create_file("metadata", 0400, dir, NULL, &meta_fops);
	debugfs_create_file("control", 0200, dir, NULL, &ctl_fops);
	for (cpu = 0; cpu < chan.nr_cpus; cpu++) {
		sfiles[cpu].rb = &chan.bufs[cpu];
		mutex_init(&sfiles[cpu].lock);
		if (!cpu_possible(cpu))
			continue;
		snprintf(name, sizeof(name), "stream-0-%u.tmk", cpu);
		debugfs_create_file(name, 0400, dir, &sfiles[cpu],
				    &stream_fops);
	}

	mutex_lock(&ctl_lock);
	ret = register_probes();
	if (!ret) {
		tracing = true;
		debug_marker("tracing started", nr_cpu_ids);
	}
	mutex_unlock(&ctl_lock);
	if (ret)
		goto fail;
	pr_info("tracing: %u CPUs, %u x %u bytes per CPU\n", chan.nr_cpus,
		nr_subbufs, subbuf_size);
	return 0;
fail:
	cleanup();
	return ret;
}

static void __exit tmk_exit(void)
{
	unsigned int cpu;

	stop_tracing();
	for (cpu = 0; cpu < chan.nr_cpus; cpu++)
		if (tmk_rb_discarded(&chan.bufs[cpu]))
			pr_info("cpu %u: %llu events discarded\n", cpu,
				tmk_rb_discarded(&chan.bufs[cpu]));
	cleanup();
}

module_init(tmk_init);
module_exit(tmk_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("tracemark kernel tracer");
