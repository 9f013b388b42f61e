//! The cost of recording through `tracing`, per event, against the peers, in one run:
//!
//! - `tracemark`: this crate's layer, into a trace directory; `tracemark-tsc`: the same,
//!   timestamped by the TSC (where it is invariant);
//! - `fmt`: `tracing_subscriber`'s fmt layer, text without colours, into a buffered file;
//! - `chrome`: `tracing-chrome`'s layer, JSON into a file (written by its own thread).
//!
//! Each records N events of three fields (two integers, a string) inside one span entered
//! and exited per event, from one thread; each is timed R times, in turn, and the median is
//! printed: the time the program spends in `tracing` (ns per event), and the time until the
//! output is complete (the guard dropped: the trace finished, the file flushed). Ratios are
//! the peer's time over tracemark's. Every run's output is checked to hold the N events.
//!
//!     cargo run --release -p tracemark-tracing --example layer_bench -- [N] [R] [PEER...]
//!
//! Defaults: 1,000,000 events, 5 rounds.

use std::{
    fs::File,
    io::{BufRead, BufReader, BufWriter},
    path::Path,
    sync::Mutex,
    time::{Duration, Instant},
};

use tracing::{dispatcher::Dispatch, info, info_span};
use tracing_subscriber::prelude::*;

/// Records `events` events with `dispatch` as the default; returns the time spent recording.
fn record(dispatch: &Dispatch, events: u64) -> Duration {
    tracing::dispatcher::with_default(dispatch, || {
        let started = Instant::now();
        for n in 0..events {
            let span = info_span!("work", n);
            let _entered = span.enter();
            info!(n, value = n.wrapping_mul(3), name = "worker", "step");
        }
        started.elapsed()
    })
}

/// One run of `peer`: (time spent recording, time until its output was complete).
fn run(peer: &str, dir: &Path, events: u64) -> (Duration, Duration) {
    let started = Instant::now();
    match peer {
        "tracemark" | "tracemark-tsc" => {
            let path = dir.join("trace");
            // 8 MiB per thread (32 packets of 256 KiB): the consumer shares two cores with the
            // program, and a ring of the default 1 MiB drops records at this rate.
            let config = tracemark_writer::Config::default().packet_size(1 << 18);
            let sink = tracemark_writer::DirectorySink::create(&path).expect("a trace directory");
            let clock = if peer == "tracemark-tsc" {
                tracemark_tracing::LayerClock::tsc().expect("an invariant TSC")
            } else {
                tracemark_tracing::LayerClock::monotonic()
            };
            let session = tracemark_writer::ring::RingSession::builder(config)
                .subbufs(32)
                .build_with_clock(clock, sink)
                .expect("a session");
            let (layer, guard) = tracemark_tracing::TracemarkLayer::new(session);
            let recording = record(&Dispatch::new(tracing_subscriber::registry().with(layer)), events);
            let report = guard.finish().expect("the trace finishes");
            let complete = started.elapsed();
            let trace = tracemark_reader::Trace::open(&path).expect("the trace opens");
            // Per event: the event, and its span's new, enter, exit and close.
            assert_eq!(
                report.events_written + report.events_discarded,
                5 * events,
                "every record accounted for"
            );
            assert_eq!(
                trace.count_events(1).events,
                report.events_written,
                "the trace holds what was written"
            );
            DISCARDED.fetch_add(report.events_discarded, std::sync::atomic::Ordering::Relaxed);
            (recording, complete)
        }
        "fmt" => {
            let path = dir.join("fmt.log");
            let file = Mutex::new(BufWriter::with_capacity(1 << 16, File::create(&path).expect("a file")));
            let layer = tracing_subscriber::fmt::layer().with_ansi(false).with_writer(file);
            let dispatch = Dispatch::new(tracing_subscriber::registry().with(layer));
            let recording = record(&dispatch, events);
            drop(dispatch);
            let complete = started.elapsed();
            let lines = BufReader::new(File::open(&path).expect("the log")).lines().count() as u64;
            assert_eq!(lines, events, "fmt wrote every event");
            (recording, complete)
        }
        "chrome" => {
            let path = dir.join("chrome.json");
            let (layer, guard) = tracing_chrome::ChromeLayerBuilder::new().file(&path).build();
            let dispatch = Dispatch::new(tracing_subscriber::registry().with(layer));
            let recording = record(&dispatch, events);
            drop(dispatch);
            drop(guard);
            let complete = started.elapsed();
            let json: serde_json::Value =
                serde_json::from_reader(BufReader::new(File::open(&path).expect("the JSON")))
                    .expect("valid JSON");
            let instants =
                json.as_array().expect("an array").iter().filter(|event| event["ph"] == "i").count();
            assert_eq!(instants as u64, events, "tracing-chrome wrote every event");
            (recording, complete)
        }
        _ => unreachable!("a peer of the list"),
    }
}

/// Records the tracemark rings dropped, over all rounds (printed: the others drop nothing).
static DISCARDED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let events: u64 = args.next().map_or(1_000_000, |n| n.parse().expect("N events"));
    let rounds: usize = args.next().map_or(5, |r| r.parse().expect("R rounds"));
    // Further arguments name the peers to run (tracemark first, for the ratios).
    let chosen: Vec<String> = args.collect();
    let tsc = tracemark_tracing::LayerClock::tsc().is_some();
    let peers: Vec<&str> = ["tracemark", "tracemark-tsc", "fmt", "chrome"]
        .into_iter()
        .filter(|peer| *peer != "tracemark-tsc" || tsc)
        .filter(|peer| chosen.is_empty() || chosen.iter().any(|c| c == peer))
        .collect();
    let mut recording = vec![Vec::new(); peers.len()];
    let mut complete = vec![Vec::new(); peers.len()];
    for _ in 0..rounds {
        for (index, peer) in peers.iter().enumerate() {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let (recorded, completed) = run(peer, dir.path(), events);
            recording[index].push(recorded);
            complete[index].push(completed);
        }
    }
    let ns = |times: &[Duration]| median(times.to_vec()).as_nanos() as f64 / events as f64;
    let (ours, ours_complete) = (ns(&recording[0]), ns(&complete[0]));
    println!(
        "{events} events of 3 fields, each in a span entered and exited, one thread; medians of {rounds} rounds"
    );
    println!("{:>13}  {:>20}  {:>28}", "", "in tracing (program)", "until the output is complete");
    println!(
        "tracemark rings dropped {} of {} records over all rounds",
        DISCARDED.load(std::sync::atomic::Ordering::Relaxed),
        5 * events * rounds as u64
    );
    for (index, peer) in peers.iter().enumerate() {
        let (recorded, completed) = (ns(&recording[index]), ns(&complete[index]));
        println!(
            "{peer:>13}  {recorded:8.1} ns/event {:5.1}x  {completed:14.1} ns/event {:5.1}x",
            recorded / ours,
            completed / ours_complete
        );
    }
}
