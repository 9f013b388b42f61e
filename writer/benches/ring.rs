//! Criterion benchmarks of the ring's write path: `cargo bench -p tracemark-writer --bench ring`.
//!
//! Per event, on one thread: the raw reservation API (3 integers) and the typed `emit` of the
//! same event and of a 16-byte string, on `Local` and `Shared` rings, with a null clock (the
//! writer's own cost), the TSC and `CLOCK_MONOTONIC`; the clock reads alone; and typed `emit` on
//! 2 threads with a ring each (the per-thread-slot layout), as wall time per event over both, so
//! that throughput scaling is `time(1 thread) / time(2 threads)`.
//!
//! Discard mode. Rings are drained (untimed) whenever the next timed chunk might not fit, so
//! nothing is dropped and what is timed is the writers alone, packet switches included. For the
//! side-by-side comparison with LTTng-UST, with a consumer thread writing a trace file while the
//! writers run, see `writer/bench/lttng-compare.sh` and `examples/ring_bench.rs`.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use tracemark_writer::ring::{Concurrency, Discard, HeapRing, Local, Ring, RingConfig, Shared};
use tracemark_writer::{
    event, Clock, Config, EventHandle, MonotonicClock, NullClock, Registry, TraceDescription, TscClock,
};

event! {
    /// Three integers.
    pub struct Ints("ints") { pub a: i32, pub b: i64, pub c: u64 }
    /// A 16-byte string (15 characters and the NUL).
    pub struct Str16<'a>("str16") { pub s: &'a str }
}

const SUBBUF: usize = 1 << 20;
const NUM: usize = 64;
/// Events one timed chunk may write: well under a ring's capacity for either event.
const CHUNK: u64 = 1_000_000;

#[derive(Clone, Copy)]
enum Case {
    Raw3Ints,
    Emit3Ints,
    EmitStr16,
}

/// Two registry-made ring configs of one trace (typed events allowed), and the two handles.
fn typed_configs() -> ([RingConfig; 2], EventHandle<Ints>, EventHandle<Str16<'static>>) {
    let config = Config::with_uuid([5; 16]).packet_size(SUBBUF as u32);
    let mut registry = Registry::new(&config, TraceDescription::unknown()).unwrap();
    let clock = registry.add_clock(NullClock.class()).unwrap();
    let class = registry.add_stream_class("bench", clock).unwrap();
    let ints = registry.register::<Ints>(class).unwrap();
    let str16 = registry.register::<Str16>(class).unwrap();
    let mut ring = |instance| RingConfig::for_stream(&mut registry, class, instance, NUM).unwrap();
    ([ring(0), ring(1)], ints, str16)
}

trait Make: Concurrency + Sized {
    fn make<C: Clock>(config: RingConfig, clock: C) -> HeapRing<Discard, C, Self>;
}
impl Make for Shared {
    fn make<C: Clock>(config: RingConfig, clock: C) -> HeapRing<Discard, C, Self> {
        HeapRing::new(config, clock).unwrap()
    }
}
impl Make for Local {
    fn make<C: Clock>(config: RingConfig, clock: C) -> HeapRing<Discard, C, Self> {
        // SAFETY: every benchmark writes a ring from one thread at a time, and hands it from
        // thread to thread only through a join (happens-before).
        unsafe { HeapRing::new_local(config, clock) }.unwrap()
    }
}

/// Empties the ring (untimed), so the next chunk has room.
fn drain<C: Clock, K: Concurrency>(ring: &Ring<'_, Discard, C, K>) {
    ring.flush(false);
    let mut consumer = ring.consumer().unwrap();
    while consumer.get_next_packet().is_some() {
        consumer.put_packet();
    }
}

#[inline(always)]
fn write<C: Clock, K: Concurrency>(
    ring: &Ring<'_, Discard, C, K>,
    case: Case,
    ints: EventHandle<Ints>,
    str16: EventHandle<Str16<'static>>,
    i: u64,
) {
    match case {
        Case::Raw3Ints => {
            if let Some(mut r) = ring.reserve(ints.id(), 20) {
                r.write_i32(i as i32);
                r.write_i64(-(i as i64));
                r.write_u64(i ^ 0x5555);
                r.commit();
            }
        }
        Case::Emit3Ints => {
            let _ = ring.emit(ints, &Ints { a: i as i32, b: -(i as i64), c: i ^ 0x5555 });
        }
        Case::EmitStr16 => {
            let _ = ring.emit(str16, &Str16 { s: black_box("fifteen-chars!!") });
        }
    }
}

/// Times `iters` events on `rings.len()` threads (one ring each), chunked and drained between;
/// wall time over all threads.
fn run<C: Clock + Sync, K: Concurrency>(
    rings: &[HeapRing<Discard, C, K>],
    case: Case,
    handles: (EventHandle<Ints>, EventHandle<Str16<'static>>),
    iters: u64,
) -> Duration {
    let threads = rings.len() as u64;
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let chunk = left.min(CHUNK * threads);
        left -= chunk;
        for ring in rings {
            drain(ring.ring());
        }
        let per_thread = chunk / threads;
        if threads == 1 {
            let ring = rings[0].ring();
            let start = Instant::now();
            for i in 0..per_thread {
                write(ring, case, handles.0, handles.1, i);
            }
            total += start.elapsed();
        } else {
            let barrier = Barrier::new(rings.len() + 1);
            total += std::thread::scope(|scope| {
                for owned in rings {
                    let barrier = &barrier;
                    scope.spawn(move || {
                        let ring = owned.ring();
                        barrier.wait();
                        for i in 0..per_thread {
                            write(ring, case, handles.0, handles.1, i);
                        }
                    });
                }
                barrier.wait();
                let start = Instant::now();
                // The scope joins the writers before returning.
                start
            })
            .elapsed();
        }
        assert!(rings.iter().all(|ring| ring.ring().discarded() == 0), "a chunk did not fit");
    }
    total
}

fn cases<C: Clock + Sync + Clone, K: Make>(c: &mut Criterion, clock_name: &str, clock: C) {
    let kind = if K::LOCAL { "local" } else { "shared" };
    let ([config0, config1], ints, str16) = typed_configs();
    let mut group = c.benchmark_group(format!("ring/{kind}/{clock_name}"));
    let one = [K::make(config0, clock.clone())];
    for (case, name) in
        [(Case::Raw3Ints, "raw_3ints"), (Case::Emit3Ints, "emit_3ints"), (Case::EmitStr16, "emit_str16")]
    {
        group.bench_function(name, |b| b.iter_custom(|iters| run(&one, case, (ints, str16), iters)));
    }
    drop(one);
    if clock_name != "null" {
        let two = [K::make(config0, clock.clone()), K::make(config1, clock)];
        group.bench_function("emit_3ints_2threads", |b| {
            b.iter_custom(|iters| run(&two, Case::Emit3Ints, (ints, str16), iters))
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    let tsc = TscClock::calibrate(Duration::from_millis(30));
    let mono = MonotonicClock::new();
    let mut group = c.benchmark_group("clock");
    group.bench_function("clock_gettime_monotonic", |b| b.iter(|| black_box(mono.now())));
    group.bench_function("rdtsc", |b| b.iter(|| black_box(tsc.now())));
    group.bench_function("lfence_rdtsc", |b| b.iter(|| black_box(tsc.now_ordered())));
    group.finish();
    cases::<_, Local>(c, "null", NullClock);
    cases::<_, Local>(c, "tsc", tsc);
    cases::<_, Local>(c, "monotonic", mono);
    cases::<_, Shared>(c, "null", NullClock);
    cases::<_, Shared>(c, "tsc", tsc);
    cases::<_, Shared>(c, "monotonic", mono);
}

criterion_group! {
    name = ring;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(ring);
