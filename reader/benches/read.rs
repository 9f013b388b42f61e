//! Reading speed on the realistic workload (`bench/realistic.rs`): scheduler switches,
//! `read(2)` entry and exit, and a string-carrying marker, on two interleaved streams.
//!
//! `cargo bench -p tracemark-reader --bench read` — each benchmark reports events/s and
//! bytes/s. `TRACEMARK_BENCH_EVENTS` sets the trace size (default 1 000 000 events, 27 MB).
//! The trace is a directory on disk, memory-mapped, as a tool would read it.
//!
//! - `dynamic/iterator`: `Trace::events` in time order, every field decoded as a `Value`;
//! - `dynamic/iterator-pipelined`: the same through `Trace::with_events`, packets decoded by
//!   worker threads ahead of the merge;
//! - `dynamic/dispatcher`: the same through `Dispatcher::on_every_event`, packets decoded by
//!   worker threads ahead of the merge;
//! - `typed/dispatcher`, `typed/dispatcher-1-thread`: the four events bound to Rust types
//!   with `#[derive(TraceEvent)]`, every field read, in time order;
//! - `count/parallel`, `count/1-thread`: events per class, no field decoded.

#[path = "../bench/realistic.rs"]
mod realistic;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tracemark_reader::Trace;

fn reading(c: &mut Criterion) {
    let events: u64 =
        std::env::var("TRACEMARK_BENCH_EVENTS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("tracemark-bench-read-{}-{events}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    realistic::directory(&dir, events, 2, 64 * 1024).expect("writing the workload");
    let trace = Trace::open(&dir).expect("opening the workload");
    let bytes: u64 = trace.summary().streams.iter().map(|stream| stream.bytes).sum();
    let workers = trace.default_workers();

    // Every way of reading sees the same events and reads the same values.
    let reference = realistic::read::dynamic_iter(&trace);
    assert_eq!(reference.events, events);
    assert_eq!(realistic::read::dynamic_iter_pipelined(&trace, workers), reference);
    assert_eq!(realistic::read::dynamic_dispatch(&trace, workers), reference);
    assert_eq!(realistic::read::typed(&trace, workers), reference);
    assert_eq!(realistic::read::count(&trace, workers + 1).events, events);
    assert_eq!(realistic::read::typed_per_stream(&trace, workers + 1).events, events);

    let mut group = c.benchmark_group("realistic");
    group.throughput(Throughput::ElementsAndBytes { elements: events, bytes });
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    group.bench_function(BenchmarkId::new("dynamic", "iterator"), |b| {
        b.iter(|| realistic::read::dynamic_iter(&trace))
    });
    group.bench_function(BenchmarkId::new("dynamic", "iterator-pipelined"), |b| {
        b.iter(|| realistic::read::dynamic_iter_pipelined(&trace, workers))
    });
    group.bench_function(BenchmarkId::new("dynamic", "dispatcher"), |b| {
        b.iter(|| realistic::read::dynamic_dispatch(&trace, workers))
    });
    group.bench_function(BenchmarkId::new("typed", "dispatcher"), |b| {
        b.iter(|| realistic::read::typed(&trace, workers))
    });
    group.bench_function(BenchmarkId::new("typed", "dispatcher-1-thread"), |b| {
        b.iter(|| realistic::read::typed(&trace, 0))
    });
    group.bench_function(BenchmarkId::new("typed", "per-stream-parallel"), |b| {
        b.iter(|| realistic::read::typed_per_stream(&trace, workers + 1))
    });
    group.bench_function(BenchmarkId::new("count", "parallel"), |b| {
        b.iter(|| realistic::read::count(&trace, workers + 1))
    });
    group.bench_function(BenchmarkId::new("count", "1-thread"), |b| {
        b.iter(|| realistic::read::count(&trace, 1))
    });
    group.finish();
    drop(trace);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, reading);
criterion_main!(benches);
