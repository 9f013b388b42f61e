//! Writes the realistic workload and times reading it: the tracemark side of
//! `bench/babeltrace-compare.sh`.
//!
//! ```text
//! readbench write DIR EVENTS [STREAMS] [PACKET_SIZE] [TICKS_PER_EVENT] [wide|narrow]   # a trace directory of the workload
//! readbench MODE PATH [WORKERS]                         # read it; one line of key=value results
//! ```
//!
//! Modes: `dynamic` (the `Trace::events` iterator, every field decoded as a `Value`),
//! `dynamic-pipelined` (the same through `Trace::with_events`, packets decoded by the workers),
//! `dynamic-dispatch` (the dispatcher's every-event handler, the same work), `typed` (the four
//! events bound to Rust types through the dispatcher), `typed-streams` (the same handlers run
//! per stream, streams side by side on `WORKERS + 1` threads, no order across streams), `count` (events per class, packets
//! decoded in parallel), `names` (events per event name, for checking that two traces hold the
//! same events), `open` (opening only). `WORKERS` is the number of extra threads (default:
//! cores − 1). Times cover opening and reading; `cpu_s` is user + system time of the whole process, and
//! `max_rss_kb` its peak resident set. `write`'s last argument picks the records' header word
//! (§5.1; default wide).

#[path = "../bench/realistic.rs"]
mod realistic;

use std::{process::ExitCode, time::Instant};

use tracemark_reader::Trace;
use tracemark_writer::HeaderWord;

fn usage() -> ExitCode {
    eprintln!("usage: readbench write DIR EVENTS [STREAMS] [PACKET_SIZE] [TICKS_PER_EVENT] [wide|narrow]");
    eprintln!(
        "       readbench dynamic|dynamic-pipelined|dynamic-dispatch|typed|typed-streams|count|names|open PATH \
         [WORKERS]"
    );
    ExitCode::from(2)
}

/// A field of `/proc/self/status` (`VmHWM`, `VmRSS`), in kB.
fn status_kb(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU seconds of the process (all threads), from `/proc/self/stat`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first() else { return usage() };
    if mode == "write" {
        let (Some(dir), Some(Ok(events))) = (args.get(1), args.get(2).map(|n| n.parse::<u64>())) else {
            return usage();
        };
        let streams = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(2);
        let packet_size = args.get(4).and_then(|n| n.parse().ok()).unwrap_or(64 * 1024);
        let ticks = args.get(5).and_then(|n| n.parse().ok()).unwrap_or(realistic::TICKS_PER_EVENT);
        let word = match args.get(6).map(String::as_str) {
            None | Some("wide") => HeaderWord::Wide,
            Some("narrow") => HeaderWord::Narrow,
            Some(_) => return usage(),
        };
        let started = Instant::now();
        if let Err(error) =
            realistic::directory_spaced(dir.as_ref(), events, streams, packet_size, ticks, word)
        {
            eprintln!("readbench: {error}");
            return ExitCode::FAILURE;
        }
        println!("wrote events={events} streams={streams} seconds={:.3}", started.elapsed().as_secs_f64());
        return ExitCode::SUCCESS;
    }
    let Some(path) = args.get(1) else { return usage() };
    let started = Instant::now();
    let trace = match Trace::open(path) {
        Ok(trace) => trace,
        Err(error) => {
            eprintln!("readbench: {error}");
            return ExitCode::FAILURE;
        }
    };
    let workers = args.get(2).and_then(|n| n.parse().ok()).unwrap_or_else(|| trace.default_workers());
    if mode == "open" {
        // Opening alone: walking the packet headers and reading the metadata.
        println!(
            "mode=open seconds={:.4} max_rss_kb={}",
            started.elapsed().as_secs_f64(),
            status_kb("VmHWM:").unwrap_or(0)
        );
        return ExitCode::SUCCESS;
    }
    if mode == "names" {
        let counts = trace.count_events(workers + 1);
        for (id, count) in &counts.by_class {
            let name = trace.metadata().event_class(*id).map_or("?", |class| class.name.as_str());
            println!("{name} {count}");
        }
        return ExitCode::SUCCESS;
    }
    let bytes: u64 = trace.summary().streams.iter().map(|stream| stream.bytes).sum();
    let tally = match mode.as_str() {
        "dynamic" => realistic::read::dynamic_iter(&trace),
        "dynamic-pipelined" => realistic::read::dynamic_iter_pipelined(&trace, workers),
        "dynamic-dispatch" => realistic::read::dynamic_dispatch(&trace, workers),
        "typed" => realistic::read::typed(&trace, workers),
        "typed-streams" => realistic::read::typed_per_stream(&trace, workers + 1),
        "count" => realistic::read::count(&trace, workers + 1),
        _ => return usage(),
    };
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "mode={mode} workers={workers} events={} bytes={bytes} seconds={seconds:.4} cpu_s={:.2} \
         events_per_s={:.0} mb_per_s={:.1} max_rss_kb={} checksum={:016x}",
        tally.events,
        cpu_seconds().unwrap_or(f64::NAN),
        tally.events as f64 / seconds,
        bytes as f64 / seconds / 1e6,
        status_kb("VmHWM:").unwrap_or(0),
        tally.checksum,
    );
    ExitCode::SUCCESS
}
