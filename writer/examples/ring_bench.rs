//! ns/event of the ring writer, for `writer/bench/lttng-compare.sh` (which runs LTTng-UST with the
//! same events beside it) and for people:
//!
//! ```sh
//! cargo run --release -p tracemark-writer --example ring_bench -- [--smoke] [--events N] [--reps R] [--dir DIR]
//!     [--only clock|bare|session|session-idle]... [--subbuf-mib 64]
//! ```
//!
//! Events, as in the LTTng-UST provider of the script: `ints { a: i32, b: i64, c: u64 }` and
//! `str16 { s: "fifteen-chars!!" }` (15 characters and the NUL: 16 bytes). Each case records
//! through a [`RingSession`] (typed `emit`, one ring per thread slot, the streams living across
//! rounds) with 1 and 2 threads, `Local` and `Shared` rings, `CLOCK_MONOTONIC` and the TSC, in
//! two views:
//! - `session` (end to end): rings with the LTTng run's channel geometry (8 sub-buffers of
//!   64 MiB; `--subbuf-mib`), the consumer thread writing complete packets to a single-file
//!   trace in `DIR` while the threads write, as lttng-consumerd does;
//! - `session-idle` (the writers alone): 64 sub-buffers of 1 MiB, the consumer parked during a
//!   round; the packets are closed and drained between rounds, untimed.
//!
//! Also the clock reads alone, and the bare ring's raw API with a null clock (the ring's own cost).
//!
//! Every case: one untimed warm-up round, then `R` timed rounds of `N` events per thread (ring
//! pages are faulted in when a ring is made); the median round is reported, the minimum beside
//! it. Output: one `RESULT key=value ...` line per case; `ns_per_event` is a thread's time per
//! event (the mean over threads), `wall_ns_per_event` the round's wall time over all threads'
//! events (so 2-thread scaling is `wall(1) / wall(2)`).

use std::{
    hint::black_box,
    path::PathBuf,
    sync::Barrier,
    time::{Duration, Instant},
};

use tracemark_writer::{
    event,
    ring::{Concurrency, Discard, HeapRing, Local, Ring, RingConfig, RingSession, RingStream, Shared},
    Clock, Config, EventHandle, FileSink, MonotonicClock, NullClock, TscClock,
};

event! {
    /// Three integers.
    pub struct Ints("ints") { pub a: i32, pub b: i64, pub c: u64 }
    /// A 16-byte string.
    pub struct Str16<'a>("str16") { pub s: &'a str }
}

const TEXT: &str = "fifteen-chars!!";

struct Options {
    events: u64,
    reps: usize,
    dir: PathBuf,
    /// Sub-buffer size of the end-to-end sessions, MiB (the LTTng channel's: 64).
    subbuf_mib: u32,
    /// Only the cases whose group (`clock`, `bare`, `session`, `session-idle`) is listed; all
    /// when empty.
    only: Vec<String>,
}

impl Options {
    fn runs(&self, group: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|only| only == group)
    }
}

fn options() -> Options {
    let mut options =
        Options { events: 1_000_000, reps: 7, dir: std::env::temp_dir(), only: Vec::new(), subbuf_mib: 64 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--smoke" => (options.events, options.reps, options.subbuf_mib) = (100_000, 3, 1),
            "--events" => options.events = value().parse().expect("--events N"),
            "--reps" => options.reps = value().parse().expect("--reps R"),
            "--dir" => options.dir = value().into(),
            "--only" => options.only.push(value()),
            "--subbuf-mib" => options.subbuf_mib = value().parse().expect("--subbuf-mib N"),
            other => panic!("unknown argument {other}"),
        }
    }
    options
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// (median, minimum): the median is the figure reported; on a shared machine the minimum is
/// the better estimate of the undisturbed cost, so it is printed beside it.
fn stats(values: Vec<f64>) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    (median(values), min)
}

/// ns per call of `read`: (median, minimum) of `reps` rounds.
fn clock_cost(reps: usize, events: u64, read: impl Fn() -> u64) -> (f64, f64) {
    stats(
        (0..reps)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..events {
                    black_box(read());
                }
                start.elapsed().as_nanos() as f64 / events as f64
            })
            .collect(),
    )
}

#[derive(Clone, Copy)]
enum Event {
    Ints,
    Str16,
}

impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::Ints => "3ints",
            Event::Str16 => "str16",
        }
    }
}

/// One round: each of `streams.len()` threads writes `events` events into its stream (moved
/// into the thread and back: the streams, like LTTng's per-CPU buffers, live across rounds).
/// Returns (mean per-thread ns/event, wall ns over all events).
fn session_round<C: Clock + Clone + Send + Sync + 'static, K: Concurrency>(
    streams: &mut Vec<RingStream<Discard, C, K>>,
    handles: (EventHandle<Ints>, EventHandle<Str16<'static>>),
    event: Event,
    events: u64,
) -> (f64, f64) {
    let threads = streams.len();
    let ready = Barrier::new(threads + 1);
    let go = Barrier::new(threads + 1);
    let (per_thread, wall) = std::thread::scope(|scope| {
        let workers: Vec<_> = streams
            .drain(..)
            .map(|stream| {
                let (ready, go) = (&ready, &go);
                scope.spawn(move || {
                    ready.wait();
                    go.wait();
                    let start = Instant::now();
                    match event {
                        Event::Ints => {
                            for i in 0..events {
                                let event = Ints { a: i as i32, b: -(i as i64), c: i ^ 0x5555 };
                                let _ = stream.emit(handles.0, &event);
                            }
                        }
                        Event::Str16 => {
                            for _ in 0..events {
                                let _ = stream.emit(handles.1, &Str16 { s: black_box(TEXT) });
                            }
                        }
                    }
                    (stream, start.elapsed())
                })
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        go.wait();
        let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        (results, start.elapsed())
    });
    let mut durations = Vec::new();
    for (stream, elapsed) in per_thread {
        streams.push(stream);
        durations.push(elapsed);
    }
    let mean = durations.iter().map(|d| d.as_nanos() as f64 / events as f64).sum::<f64>() / threads as f64;
    (mean, wall.as_nanos() as f64 / (events * threads as u64) as f64)
}

/// Whether the consumer thread drains while the writers run (end to end, as lttng-consumerd),
/// or is parked then and drains between rounds (the writers alone).
#[derive(Clone, Copy, PartialEq)]
enum Consumer {
    Concurrent,
    Idle,
}

fn session_case<C: Clock + Clone + Send + Sync + 'static, K: Concurrency>(
    options: &Options,
    session: RingSession<Discard, C, K>,
    consumer: Consumer,
    kind: &str,
    clock: &str,
) {
    let mode = if consumer == Consumer::Idle { "idle" } else { "concurrent" };
    let handles = (session.register::<Ints>().unwrap(), session.register::<Str16>().unwrap());
    for event in [Event::Ints, Event::Str16] {
        for threads in [1, 2] {
            let mut streams: Vec<_> = (0..threads).map(|_| session.stream().unwrap()).collect();
            let round = |streams: &mut Vec<_>| {
                let result = session_round(streams, handles, event, options.events);
                if consumer == Consumer::Idle {
                    // Close the packets and drain, untimed: each round starts with empty rings.
                    for stream in streams.iter() {
                        stream.flush();
                    }
                    session.flush();
                }
                result
            };
            round(&mut streams); // warm-up: caches
            let rounds: Vec<(f64, f64)> = (0..options.reps).map(|_| round(&mut streams)).collect();
            let (per_thread, min) = stats(rounds.iter().map(|r| r.0).collect());
            let wall = median(rounds.iter().map(|r| r.1).collect());
            println!(
                "RESULT impl=ours consumer={mode} kind={kind} clock={clock} event={} threads={threads} \
                 ns_per_event={per_thread:.2} \
                 min_ns={min:.2} wall_ns_per_event={wall:.2} discarded={}",
                event.name(),
                session.discarded()
            );
        }
    }
    let summary = session.finish().unwrap();
    eprintln!(
        "  {kind}/{clock}, consumer {mode}: {} events written, {} discarded, {} MB of packets to the trace file",
        summary.events_written,
        summary.events_discarded,
        summary.bytes / 1_000_000
    );
}

/// The LTTng-UST run's channel geometry, per ring: 8 sub-buffers of 64 MiB
/// (`--subbuf-size=64M --num-subbuf=8`). As there, the consumer delivers a sub-buffer when it
/// is complete (it polls every millisecond), so it works while the writers run, but rarely.
fn config(subbuf_mib: u32) -> Config {
    Config::default().packet_size(subbuf_mib << 20)
}

const SUBBUFS: usize = 8;

/// For the writers-alone cases: packets of 1 MiB, 64 per ring, so that the flush between rounds
/// closes small packets; a round's events fit in a ring.
fn idle_config() -> Config {
    Config::default().packet_size(1 << 20)
}

/// The trace file of case `name`; each is removed once its case is done (a full run writes
/// about 1.4 GB per case).
fn trace_path(options: &Options, name: &str) -> PathBuf {
    options.dir.join(format!("ring-bench-{}-{name}.tmk", std::process::id()))
}

/// The bare ring with a null clock: reserve + header + payload + commit, nothing else.
fn bare_ring<K: Concurrency>(
    options: &Options,
    make: impl Fn(RingConfig) -> HeapRing<Discard, NullClock, K>,
) {
    #[inline(never)]
    fn round<K: Concurrency>(ring: &Ring<'_, Discard, NullClock, K>, events: u64) -> f64 {
        let start = Instant::now();
        for i in 0..events {
            if let Some(mut r) = ring.reserve(3, 20) {
                r.write_i32(i as i32);
                r.write_i64(-(i as i64));
                r.write_u64(i ^ 0x5555);
                r.commit();
            }
        }
        start.elapsed().as_nanos() as f64 / events as f64
    }
    let config = RingConfig::new(1 << 20, 64);
    let ring = make(config);
    let mut rounds = Vec::new();
    for rep in 0..=options.reps {
        // Fresh positions each round, the same (faulted-in) memory: drain what the last wrote.
        ring.ring().flush(false);
        let mut consumer = ring.ring().consumer().unwrap();
        while consumer.get_next_packet().is_some() {
            consumer.put_packet();
        }
        drop(consumer);
        let ns = round(ring.ring(), options.events);
        if rep > 0 {
            rounds.push(ns);
        }
    }
    assert_eq!(ring.ring().discarded(), 0, "the bare ring is sized to drop nothing");
    let (median, min) = stats(rounds);
    println!(
        "RESULT impl=ours kind={}-bare clock=null event=3ints threads=1 ns_per_event={median:.2} min_ns={min:.2} \
         wall_ns_per_event={median:.2} discarded=0",
        if K::LOCAL { "local" } else { "shared" },
    );
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    eprintln!("ring_bench measures the x86-64 TSC clock too; it runs on x86-64 only");
}

#[cfg(target_arch = "x86_64")]
fn main() {
    let options = options();
    let tsc = TscClock::calibrate(Duration::from_millis(30));
    println!(
        "# ring_bench: {} events per thread per round, {} rounds (median), TSC {:.1} MHz",
        options.events,
        options.reps,
        tsc.frequency() as f64 / 1e6
    );
    let mono = MonotonicClock::new();
    if options.runs("clock") {
        let (median, min) = clock_cost(options.reps, options.events, || mono.now());
        println!("RESULT impl=ours clock_read=clock_gettime_monotonic ns={median:.2} min_ns={min:.2}");
        let (median, min) = clock_cost(options.reps, options.events, || tsc.now());
        println!("RESULT impl=ours clock_read=rdtsc ns={median:.2} min_ns={min:.2}");
        let (median, min) = clock_cost(options.reps, options.events, || tsc.now_ordered());
        println!("RESULT impl=ours clock_read=lfence_rdtsc ns={median:.2} min_ns={min:.2}");
    }

    if options.runs("bare") {
        // SAFETY: each bare local ring is written by this thread only.
        bare_ring::<Local>(&options, |config| unsafe { HeapRing::new_local(config, NullClock) }.unwrap());
        bare_ring::<Shared>(&options, |config| HeapRing::new(config, NullClock).unwrap());
    }

    let sessions = |consumer: Consumer| {
        let builder = || match consumer {
            Consumer::Concurrent => RingSession::builder(config(options.subbuf_mib)).subbufs(SUBBUFS),
            Consumer::Idle => {
                RingSession::builder(idle_config()).subbufs(64).poll_interval(Duration::from_secs(3600))
            }
        };
        let mode = if consumer == Consumer::Idle { "idle" } else { "concurrent" };
        let path = |name: &str| trace_path(&options, &format!("{mode}-{name}"));
        let sink = |name: &str| FileSink::create(path(name)).unwrap();
        let done = |name: &str| drop(std::fs::remove_file(path(name)));
        session_case(
            &options,
            builder().build_with_clock(mono, sink("local-mono")).unwrap(),
            consumer,
            "local",
            "monotonic",
        );
        done("local-mono");
        session_case(
            &options,
            builder().build_with_clock(tsc, sink("local-tsc")).unwrap(),
            consumer,
            "local",
            "tsc",
        );
        done("local-tsc");
        session_case(
            &options,
            builder().shared().build_with_clock(mono, sink("shared-mono")).unwrap(),
            consumer,
            "shared",
            "monotonic",
        );
        done("shared-mono");
        session_case(
            &options,
            builder().shared().build_with_clock(tsc, sink("shared-tsc")).unwrap(),
            consumer,
            "shared",
            "tsc",
        );
        done("shared-tsc");
    };
    if options.runs("session") {
        sessions(Consumer::Concurrent);
    }
    if options.runs("session-idle") {
        sessions(Consumer::Idle);
    }
}
