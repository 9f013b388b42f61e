//! The realistic workload shared by the criterion benchmarks (`benches/read.rs`), the
//! `readbench` example and the babeltrace2 comparison (`bench/babeltrace-compare.sh`, whose
//! LTTng-UST program `bench/lttng/app.c` produces the same events from the same generator).
//!
//! Event `i` of a run is a pure function of `i`: its kind and field values come from
//! `splitmix64(i)`, so the Rust writer here and the C program record the same events whatever
//! thread emits them. Thread (stream) `t` of `T` emits the events `i ≡ t (mod T)`.
//!
//! | share | event | fields |
//! |------:|-------|--------|
//! | 38 % | `syscall_entry_read` | `fd: unsigned int`, `buf: pointer`, `count: size_t` |
//! | 38 % | `syscall_exit_read` | `ret: ssize_t` |
//! | 16 % | `sched_switch` | `prev_comm: string`, `prev_tid: i32`, `prev_prio: i32`, `prev_state: long`, `next_comm: string`, `next_tid: i32`, `next_prio: i32` |
//! |  8 % | marker `app_log` | format `"level %d msg %s"` |

#![allow(dead_code, missing_docs)]

use std::path::Path;

use tracemark_writer::{
    event, CLong, CUInt, Config, DirectorySink, HeaderWord, LocalTrace, ManualClock, MarkerArg, PacketSink,
    Pointer, SSizeT, SizeT, StreamWriter, TraceDescription,
};

event! {
    /// `read(2)` entry, as LTTng's `syscall_entry_read`.
    pub struct SyscallEntryRead("syscall_entry_read") {
        pub fd: CUInt,
        pub buf: Pointer,
        pub count: SizeT,
    }
    /// `read(2)` exit, as LTTng's `syscall_exit_read`.
    pub struct SyscallExitRead("syscall_exit_read") {
        pub ret: SSizeT,
    }
    /// A context switch, as the kernel's `sched_switch`.
    pub struct SchedSwitch<'a>("sched_switch") {
        pub prev_comm: &'a str,
        pub prev_tid: i32,
        pub prev_prio: i32,
        pub prev_state: CLong,
        pub next_comm: &'a str,
        pub next_tid: i32,
        pub next_prio: i32,
    }
}

/// The marker's name and format string (§8).
pub const MARKER_NAME: &str = "app_log";
/// The marker's format string.
pub const MARKER_FORMAT: &str = "level %d msg %s";

/// Task names, as `comm` (at most 15 bytes).
pub const COMMS: [&str; 8] =
    ["swapper/0", "kworker/0:1", "bash", "sshd", "systemd-journal", "Xorg", "firefox", "rcu_sched"];

/// Marker messages.
pub const MESSAGES: [&str; 8] = [
    "request handled",
    "cache miss on key lookup",
    "flushing buffers",
    "connection accepted from peer",
    "retrying",
    "config reloaded",
    "slow query detected",
    "gc pause",
];

/// One generated event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generated {
    /// `syscall_entry_read`.
    Entry { fd: u32, buf: u64, count: u64 },
    /// `syscall_exit_read`.
    Exit { ret: i64 },
    /// `sched_switch`.
    Switch {
        prev_comm: &'static str,
        prev_tid: i32,
        prev_prio: i32,
        prev_state: i64,
        next_comm: &'static str,
        next_tid: i32,
        next_prio: i32,
    },
    /// The `app_log` marker.
    Marker { level: i32, msg: &'static str },
}

/// SplitMix64: a well-mixed 64-bit value from `i` (the same function as in `lttng/app.c`).
pub fn splitmix64(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Event `i` of the workload.
pub fn generate(i: u64) -> Generated {
    let h = splitmix64(i);
    let pick = |shift: u32| (h >> shift) as usize % 8;
    match h % 100 {
        0..38 => Generated::Entry {
            fd: ((h >> 8) % 64) as u32,
            buf: 0x7ffd_0000_0000 + ((h >> 16) & 0xffff_fff0),
            count: 1 << ((h >> 40) % 16),
        },
        38..76 => {
            Generated::Exit { ret: if (h >> 20).is_multiple_of(16) { -11 } else { ((h >> 8) % 4096) as i64 } }
        }
        76..92 => Generated::Switch {
            prev_comm: COMMS[pick(8)],
            prev_tid: ((h >> 16) % 32768) as i32,
            prev_prio: 100 + ((h >> 24) % 40) as i32,
            prev_state: ((h >> 32) % 3) as i64,
            next_comm: COMMS[pick(36)],
            next_tid: ((h >> 40) % 32768) as i32,
            next_prio: 100 + ((h >> 48) % 40) as i32,
        },
        _ => Generated::Marker { level: ((h >> 8) % 8) as i32, msg: MESSAGES[pick(16)] },
    }
}

/// Clock ticks between consecutive events of the run (1 GHz clock): the streams interleave
/// event by event, as busy CPUs do.
pub const TICKS_PER_EVENT: u64 = 37;

/// Writes events `0..events` on `streams` streams into `sink`, with `packet_size`-byte
/// packets, [`TICKS_PER_EVENT`] apart; returns the sink.
pub fn write_into<S: PacketSink>(
    sink: S,
    events: u64,
    streams: u32,
    packet_size: u32,
) -> tracemark_writer::Result<S> {
    write_spaced(sink, events, streams, packet_size, TICKS_PER_EVENT, HeaderWord::Wide)
}

/// [`write_into`], the events `ticks_per_event` apart (a trace of the same size spanning a
/// longer time, as a less busy machine writes it), the records starting with `header_word`.
pub fn write_spaced<S: PacketSink>(
    sink: S,
    events: u64,
    streams: u32,
    packet_size: u32,
    ticks_per_event: u64,
    header_word: HeaderWord,
) -> tracemark_writer::Result<S> {
    let clock = ManualClock::new(0);
    let config = Config::with_uuid(*b"realistic-worklo").packet_size(packet_size).header_word(header_word);
    let mut trace = LocalTrace::new(&config, TraceDescription::unknown(), &clock, sink)?;
    let entry = trace.register::<SyscallEntryRead>()?;
    let exit = trace.register::<SyscallExitRead>()?;
    let switch = trace.register::<SchedSwitch>()?;
    let mut writers = Vec::new();
    for cpu in 0..streams {
        let memory = vec![0u8; packet_size as usize];
        writers.push(StreamWriter::new(trace.stream_params(cpu)?, memory, &clock)?);
    }
    let streams = u64::from(streams.max(1));
    for i in 0..events {
        let Some(stream) = writers.get_mut((i % streams) as usize) else { break };
        let at = 1_000 + i * ticks_per_event;
        match generate(i) {
            Generated::Entry { fd, buf, count } => stream.emit_at(
                &mut trace,
                entry,
                &SyscallEntryRead { fd: CUInt(fd.into()), buf: Pointer(buf), count: SizeT(count) },
                at,
            )?,
            Generated::Exit { ret } => {
                stream.emit_at(&mut trace, exit, &SyscallExitRead { ret: SSizeT(ret) }, at)?
            }
            Generated::Switch {
                prev_comm,
                prev_tid,
                prev_prio,
                prev_state,
                next_comm,
                next_tid,
                next_prio,
            } => {
                let event = SchedSwitch {
                    prev_comm,
                    prev_tid,
                    prev_prio,
                    prev_state: CLong(prev_state),
                    next_comm,
                    next_tid,
                    next_prio,
                };
                stream.emit_at(&mut trace, switch, &event, at)?
            }
            Generated::Marker { level, msg } => stream.marker_at(
                &mut trace,
                MARKER_NAME,
                MARKER_FORMAT,
                &[MarkerArg::Int(level.into()), MarkerArg::Str(msg)],
                at,
            )?,
        }
    }
    for stream in &mut writers {
        trace.flush_stream(stream)?;
    }
    trace.finish()
}

/// The workload as a single-file trace in memory.
pub fn single_file(events: u64, streams: u32, packet_size: u32) -> Vec<u8> {
    write_into(Vec::new(), events, streams, packet_size).expect("the realistic workload writes")
}

/// The workload as a trace directory.
pub fn directory(path: &Path, events: u64, streams: u32, packet_size: u32) -> tracemark_writer::Result<()> {
    directory_spaced(path, events, streams, packet_size, TICKS_PER_EVENT, HeaderWord::Wide)
}

/// [`directory`], the events `ticks_per_event` apart, the records starting with `header_word`.
pub fn directory_spaced(
    path: &Path,
    events: u64,
    streams: u32,
    packet_size: u32,
    ticks_per_event: u64,
    header_word: HeaderWord,
) -> tracemark_writer::Result<()> {
    let sink = DirectorySink::create(path)?;
    let mut sink = write_spaced(sink, events, streams, packet_size, ticks_per_event, header_word)?;
    sink.flush()
}

/// The reading side: the same four events as typed analyses, and the ways of reading that the
/// benchmarks and `readbench` compare.
pub mod read {
    use tracemark_reader::{Dispatcher, Item, Trace, TraceEvent, Value};

    /// `syscall_entry_read`, typed. `count` is a `size_t`: a `u64` holds any writer's.
    #[derive(TraceEvent, Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SyscallEntryRead {
        pub fd: u32,
        pub buf: u64,
        pub count: u64,
    }

    /// `syscall_exit_read`, typed (`ssize_t` into `i64`).
    #[derive(TraceEvent, Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SyscallExitRead {
        pub ret: i64,
    }

    /// `sched_switch`, typed.
    #[derive(TraceEvent, Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SchedSwitch<'a> {
        pub prev_comm: &'a str,
        pub prev_tid: i32,
        pub prev_prio: i32,
        pub prev_state: i64,
        pub next_comm: &'a str,
        pub next_tid: i32,
        pub next_prio: i32,
    }

    /// The `app_log` marker, typed: its format string declares `level %d msg %s`.
    #[derive(TraceEvent, Debug, Clone, Copy, PartialEq, Eq)]
    pub struct AppLog<'a> {
        pub level: i32,
        pub msg: &'a str,
    }

    /// What a pass found: events seen and a checksum of what was read, so that no work can be
    /// optimised away and every way of reading can be checked against the others.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct Tally {
        pub events: u64,
        pub checksum: u64,
    }

    fn mix(checksum: u64, value: u64) -> u64 {
        checksum.rotate_left(5) ^ value
    }

    fn value_bits(value: &Value<'_>) -> u64 {
        match value {
            Value::Unsigned(number) => *number,
            Value::Signed(number) => *number as u64,
            Value::Str(bytes) => bytes.len() as u64,
            _ => 1,
        }
    }

    /// Dynamic iteration through the public iterator: every event in time order, every field
    /// decoded as a [`Value`].
    pub fn dynamic_iter(trace: &Trace) -> Tally {
        let mut tally = Tally::default();
        for item in trace.events() {
            if let Item::Event(event) = item {
                tally.events += 1;
                for (_, value) in event.values() {
                    tally.checksum = mix(tally.checksum, value_bits(&value));
                }
            }
        }
        tally
    }

    /// The same iterator with packets decoded ahead by `workers` threads
    /// ([`Trace::with_events`]).
    pub fn dynamic_iter_pipelined(trace: &Trace, workers: usize) -> Tally {
        trace.with_events(workers, |events| {
            let mut tally = Tally::default();
            for item in events {
                if let Item::Event(event) = item {
                    tally.events += 1;
                    for (_, value) in event.values() {
                        tally.checksum = mix(tally.checksum, value_bits(&value));
                    }
                }
            }
            tally
        })
    }

    /// The same through the dispatcher, with `workers` decoding threads.
    pub fn dynamic_dispatch(trace: &Trace, workers: usize) -> Tally {
        let mut tally = Tally::default();
        let mut run = Dispatcher::new(trace);
        run.workers(workers).on_every_event(|event| {
            tally.events += 1;
            for (_, value) in event.values() {
                tally.checksum = mix(tally.checksum, value_bits(&value));
            }
        });
        run.run();
        tally
    }

    /// The typed analysis: the four events bound to their Rust types, every field read and
    /// handed to `add`.
    fn on_the_four_events<'t: 'h, 'h>(run: &mut Dispatcher<'t, 'h>, add: impl Fn(u64) + Copy + 'h) {
        run.on(move |_, e: SyscallEntryRead| {
            add(u64::from(e.fd));
            add(e.buf);
            add(e.count);
        })
        .expect("syscall_entry_read binds");
        run.on(move |_, e: SyscallExitRead| add(e.ret as u64)).expect("syscall_exit_read binds");
        run.on(move |_, e: SchedSwitch| {
            add(e.prev_comm.len() as u64);
            add(e.prev_tid as u64);
            add(e.prev_prio as u64);
            add(e.prev_state as u64);
            add(e.next_comm.len() as u64);
            add(e.next_tid as u64);
            add(e.next_prio as u64);
        })
        .expect("sched_switch binds");
        run.on(move |_, e: AppLog| {
            add(e.level as u64);
            add(e.msg.len() as u64);
        })
        .expect("app_log binds");
    }

    /// Typed binding: the four events bound to their Rust types, every field read, in time
    /// order, with `workers` decoding threads.
    pub fn typed(trace: &Trace, workers: usize) -> Tally {
        typed_run(trace, |run| {
            run.workers(workers);
        })
    }

    /// One dispatcher run of the typed analysis, set up by `configure` first.
    fn typed_run(trace: &Trace, configure: impl FnOnce(&mut Dispatcher<'_, '_>)) -> Tally {
        let checksum = std::cell::Cell::new(0u64);
        let add = |value: u64| checksum.set(mix(checksum.get(), value));
        let mut run = Dispatcher::new(trace);
        configure(&mut run);
        on_the_four_events(&mut run, add);
        let summary = run.run();
        Tally { events: summary.events, checksum: checksum.get() }
    }

    /// Typed binding per stream: the same four handlers, each stream read on its own in
    /// record order by a [`Dispatcher`] restricted to it, streams side by side on `threads`
    /// threads ([`Trace::map_streams`]). No order across streams: for analyses that need none.
    /// The checksum mixes each stream's, in stream order.
    pub fn typed_per_stream(trace: &Trace, threads: usize) -> Tally {
        let per_stream = trace.map_streams(threads, |id| {
            typed_run(trace, |run| {
                run.only_stream(id);
            })
        });
        per_stream.iter().fold(Tally::default(), |total, stream| Tally {
            events: total.events + stream.events,
            checksum: mix(total.checksum, stream.checksum),
        })
    }

    /// Counting only: events per class, packets decoded in parallel on `threads` threads.
    pub fn count(trace: &Trace, threads: usize) -> Tally {
        let counts = trace.count_events(threads);
        Tally { events: counts.events, checksum: counts.by_class.values().fold(0, |sum, n| mix(sum, *n)) }
    }
}
