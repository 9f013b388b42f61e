//! `tracemark stats`: how much of what, where, at what rate, and what was lost.
//!
//! Reads every stream once in record order (no merge is needed to count), so it costs one
//! decoding pass; streams are read in parallel, one thread per core. Times are nanoseconds
//! since the Unix epoch through each stream's clock, or raw ticks for a stream without one.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    io::IsTerminal,
    path::PathBuf,
    process::ExitCode,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::{Duration, Instant},
};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tracemark_reader::{DiagnosticKind, Item, StreamId, StreamIter, Summary, Trace};

use crate::{time::DateTime, CliResult};

/// A progress bar appears only when reading takes longer than this.
const PROGRESS_DELAY: Duration = Duration::from_millis(300);
/// Events between two progress updates: updating is cheap, not free.
const PROGRESS_EVERY: u64 = 1 << 14;

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Trace directory or single-file trace.
    path: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Counts for one event class.
#[derive(Debug, Default, Clone, Serialize)]
struct ClassStats {
    id: u32,
    name: String,
    events: u64,
    /// Bytes of records (event header and payload).
    record_bytes: u64,
}

/// Counts for one stream (a CPU, by convention).
#[derive(Debug, Clone, Serialize)]
struct StreamStats {
    stream_class: u32,
    cpu: u32,
    events: u64,
    record_bytes: u64,
    /// Bytes of the stream's packets in the container, headers and padding included.
    packet_bytes: u64,
    packets: usize,
    first_ns: Option<i128>,
    last_ns: Option<i128>,
    events_per_second: Option<f64>,
    discarded: u64,
    missing_packets: u64,
}

/// What `stats` reports; `--json` prints it as is.
#[derive(Debug, Clone, Serialize)]
struct Stats {
    path: String,
    events: u64,
    first_ns: Option<i128>,
    last_ns: Option<i128>,
    span_ns: Option<i128>,
    events_per_second: Option<f64>,
    /// Bytes of data packets, headers and padding included.
    data_bytes: u64,
    metadata_packets: usize,
    data_packets: usize,
    record_bytes: u64,
    /// Data bytes per event: what a trace of this shape costs on disk.
    bytes_per_event: Option<f64>,
    /// Record bytes per event: header and payload only.
    record_bytes_per_event: Option<f64>,
    /// Events the writer discarded (§10.1), from the packet counters.
    discarded_events: u64,
    /// Packets missing from sequence gaps (§10.2), and the number of gaps.
    missing_packets: u64,
    gaps: u64,
    /// Events the writer counted in its progress file (§9.5) but the trace does not deliver;
    /// `None` without a usable progress file.
    undelivered_events: Option<u64>,
    /// Every diagnostic, by kind.
    diagnostics: BTreeMap<&'static str, u64>,
    classes: Vec<ClassStats>,
    streams: Vec<StreamStats>,
}

fn rate(events: u64, first: Option<i128>, last: Option<i128>) -> Option<f64> {
    let span = last? - first?;
    (span > 0).then(|| events as f64 * 1e9 / span as f64)
}

fn progress_bar(total_bytes: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::hidden());
    let style =
        ProgressStyle::with_template("{spinner} reading {bytes}/{total_bytes} [{wide_bar}] {percent}% {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar
}

/// What reading one stream found.
struct StreamPass {
    stats: StreamStats,
    classes: BTreeMap<u32, ClassStats>,
    diagnostics: BTreeMap<&'static str, u64>,
    gaps: u64,
}

/// The progress bar, shared by the threads reading streams: drawn on stderr, and only when
/// it is a terminal and reading is not quick.
struct Progress {
    bar: ProgressBar,
    interactive: bool,
    started: Instant,
    shown: AtomicBool,
    read_bytes: AtomicU64,
}

impl Progress {
    fn add(&self, bytes: u64) {
        let read = self.read_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if self.interactive && !self.shown.load(Ordering::Relaxed) && self.started.elapsed() >= PROGRESS_DELAY
        {
            self.shown.store(true, Ordering::Relaxed);
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.set_position(read);
    }
}

fn read_stream(stream: StreamIter<'_>, summary: &Summary<'_>, progress: &Progress) -> StreamPass {
    let id: StreamId = stream.id();
    let packets = summary.streams.iter().find(|summary| summary.id == id);
    let mut pass = StreamPass {
        stats: StreamStats {
            stream_class: id.class,
            cpu: id.instance,
            events: 0,
            record_bytes: 0,
            packet_bytes: packets.map_or(0, |summary| summary.bytes),
            packets: packets.map_or(0, |summary| summary.packets),
            first_ns: None,
            last_ns: None,
            events_per_second: None,
            discarded: 0,
            missing_packets: 0,
        },
        classes: BTreeMap::new(),
        diagnostics: BTreeMap::new(),
        gaps: 0,
    };
    let stats = &mut pass.stats;
    let (mut since_update, mut unreported_bytes) = (0u64, 0u64);
    for item in stream {
        match item {
            Item::Event(event) => {
                let ns = event.unix_ns().unwrap_or(i128::from(event.timestamp()));
                let bytes = event.record_bytes().len() as u64;
                stats.events += 1;
                stats.record_bytes += bytes;
                stats.first_ns.get_or_insert(ns);
                stats.last_ns = Some(stats.last_ns.map_or(ns, |last| last.max(ns)));
                let class = pass.classes.entry(event.id()).or_insert_with(|| ClassStats {
                    id: event.id(),
                    name: event.name().to_string(),
                    ..ClassStats::default()
                });
                class.events += 1;
                class.record_bytes += bytes;
                unreported_bytes += bytes;
                since_update += 1;
                if since_update == PROGRESS_EVERY {
                    progress.add(unreported_bytes);
                    (since_update, unreported_bytes) = (0, 0);
                }
            }
            Item::Diagnostic(diagnostic) => {
                *pass.diagnostics.entry(diagnostic.kind.name()).or_default() += 1;
                match diagnostic.kind {
                    DiagnosticKind::DiscardedEvents { count, .. } => stats.discarded += count,
                    DiagnosticKind::PacketGap { missing } => {
                        stats.missing_packets += missing;
                        pass.gaps += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    progress.add(unreported_bytes);
    stats.events_per_second = rate(stats.events, stats.first_ns, stats.last_ns);
    pass
}

/// Reads every stream, as many at once as there are cores ([`Trace::map_streams`]: the
/// passes come back in stream order, whatever the schedule).
fn read_streams(trace: &Trace, summary: &Summary<'_>, progress: &Progress) -> Vec<StreamPass> {
    trace
        .map_streams(trace.default_workers() + 1, |id| {
            trace.stream(id).map(|stream| read_stream(stream, summary, progress))
        })
        .into_iter()
        .flatten()
        .collect()
}

fn collect(trace: &Trace) -> Stats {
    let summary = trace.summary();
    let metadata = trace.metadata();
    let total_bytes: u64 = summary.streams.iter().map(|stream| stream.bytes).sum();
    let progress = Progress {
        bar: progress_bar(total_bytes),
        interactive: std::io::stderr().is_terminal(),
        started: Instant::now(),
        shown: AtomicBool::new(false),
        read_bytes: AtomicU64::new(0),
    };

    let mut classes: BTreeMap<u32, ClassStats> = BTreeMap::new();
    let mut diagnostics: BTreeMap<&'static str, u64> = BTreeMap::new();
    for diagnostic in trace.diagnostics() {
        *diagnostics.entry(diagnostic.kind.name()).or_default() += 1;
    }
    let (mut discarded_events, mut missing_packets, mut gaps) = (0u64, 0u64, 0u64);
    let mut streams = Vec::new();
    for pass in read_streams(trace, &summary, &progress) {
        for (id, class) in pass.classes {
            let total = classes.entry(id).or_insert_with(|| ClassStats {
                id,
                name: class.name,
                ..ClassStats::default()
            });
            total.events += class.events;
            total.record_bytes += class.record_bytes;
        }
        for (kind, count) in pass.diagnostics {
            *diagnostics.entry(kind).or_default() += count;
        }
        discarded_events += pass.stats.discarded;
        missing_packets += pass.stats.missing_packets;
        gaps += pass.gaps;
        streams.push(pass.stats);
    }
    progress.bar.finish_and_clear();
    let undelivered_events = match trace.written_counts() {
        Some(Ok(counts)) => {
            let delivered: BTreeMap<(u32, u32), u64> =
                streams.iter().map(|stream| ((stream.stream_class, stream.cpu), stream.events)).collect();
            let mut undelivered = 0u64;
            for diagnostic in
                counts.undelivered(|id| delivered.get(&(id.class, id.instance)).copied().unwrap_or(0))
            {
                if let DiagnosticKind::EventsNotDelivered { written, delivered } = diagnostic.kind {
                    undelivered = undelivered.saturating_add(written - delivered);
                }
                *diagnostics.entry(diagnostic.kind.name()).or_default() += 1;
            }
            Some(undelivered)
        }
        Some(Err(ignored)) => {
            *diagnostics.entry(ignored.kind.name()).or_default() += 1;
            None
        }
        None => None,
    };

    let events: u64 = streams.iter().map(|stream| stream.events).sum();
    let record_bytes: u64 = streams.iter().map(|stream| stream.record_bytes).sum();
    let first_ns = streams.iter().filter_map(|stream| stream.first_ns).min();
    let last_ns = streams.iter().filter_map(|stream| stream.last_ns).max();
    let per_event = |bytes: u64| (events > 0).then(|| bytes as f64 / events as f64);
    let mut classes: Vec<ClassStats> = classes.into_values().collect();
    classes.sort_by(|a, b| b.events.cmp(&a.events).then(a.id.cmp(&b.id)));
    Stats {
        path: trace.path().to_string(),
        events,
        first_ns,
        last_ns,
        span_ns: first_ns.zip(last_ns).map(|(first, last)| last - first),
        events_per_second: rate(events, first_ns, last_ns),
        data_bytes: total_bytes,
        metadata_packets: metadata.packet_count(),
        data_packets: summary.data_packets,
        record_bytes,
        bytes_per_event: per_event(total_bytes),
        record_bytes_per_event: per_event(record_bytes),
        discarded_events,
        missing_packets,
        gaps,
        undelivered_events,
        diagnostics,
        classes,
        streams,
    }
}

fn seconds(ns: Option<i128>) -> String {
    ns.map_or_else(|| "-".to_string(), |ns| format!("{:.9}", ns as f64 / 1e9))
}

fn per_second(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_string(), |rate| format!("{rate:.0}"))
}

fn render(stats: &Stats) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "trace       {}", stats.path);
    let when = match (stats.first_ns, stats.last_ns) {
        (Some(first), Some(last)) => format!(" from {} to {} UTC", DateTime(first), DateTime(last)),
        _ => String::new(),
    };
    let _ = writeln!(out, "events      {}{when}", stats.events);
    let _ = writeln!(
        out,
        "span        {} s, {} events/s",
        seconds(stats.span_ns),
        per_second(stats.events_per_second)
    );
    let _ = writeln!(
        out,
        "size        {} bytes in {} data packets ({} metadata packets); {} bytes/event, records {} bytes/event",
        stats.data_bytes,
        stats.data_packets,
        stats.metadata_packets,
        stats.bytes_per_event.map_or("-".into(), |bytes| format!("{bytes:.1}")),
        stats.record_bytes_per_event.map_or("-".into(), |bytes| format!("{bytes:.1}")),
    );
    let undelivered = stats.undelivered_events.map_or(String::new(), |undelivered| {
        format!(", {undelivered} events written but not delivered (progress file, §9.5)")
    });
    let _ = writeln!(
        out,
        "losses      {} events discarded, {} packets missing in {} gaps{undelivered}",
        stats.discarded_events, stats.missing_packets, stats.gaps
    );
    if !stats.diagnostics.is_empty() {
        let kinds: Vec<String> =
            stats.diagnostics.iter().map(|(kind, count)| format!("{kind} {count}")).collect();
        let _ = writeln!(out, "diagnostics {}", kinds.join(", "));
    }
    let name_width = stats.classes.iter().map(|class| class.name.chars().count()).max().unwrap_or(0).max(11);
    let _ = writeln!(
        out,
        "\n{:<name_width$} {:>10} {:>10} {:>7} {:>12}",
        "event class", "id", "events", "share", "bytes/event"
    );
    for class in &stats.classes {
        let _ = writeln!(
            out,
            "{:<name_width$} {:>10} {:>10} {:>6.1}% {:>12.1}",
            class.name,
            class.id,
            class.events,
            class.events as f64 * 100.0 / stats.events.max(1) as f64,
            class.record_bytes as f64 / class.events.max(1) as f64,
        );
    }
    let _ = writeln!(
        out,
        "\n{:>6} {:>5} {:>10} {:>14} {:>12} {:>8} {:>10} {:>8}",
        "class", "cpu", "events", "span s", "events/s", "packets", "discarded", "missing"
    );
    for stream in &stats.streams {
        let span = stream.first_ns.zip(stream.last_ns).map(|(first, last)| last - first);
        let _ = writeln!(
            out,
            "{:>6} {:>5} {:>10} {:>14} {:>12} {:>8} {:>10} {:>8}",
            stream.stream_class,
            stream.cpu,
            stream.events,
            seconds(span),
            per_second(stream.events_per_second),
            stream.packets,
            stream.discarded,
            stream.missing_packets
        );
    }
    out
}

pub fn run(args: &StatsArgs) -> CliResult {
    let trace = crate::ctf::open(&args.path)?;
    let stats = collect(&trace);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        print!("{}", render(&stats));
    }
    Ok(ExitCode::SUCCESS)
}
