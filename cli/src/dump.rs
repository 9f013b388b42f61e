//! `tracemark dump`: every event in time order, one line each; diagnostics where they occur.

use std::{
    io::{self, BufWriter, Write},
    path::PathBuf,
    process::ExitCode,
    time::Duration,
};

use clap::Args;
use tracemark_reader::{Event, Item, Trace};

use crate::{
    follow::{Deliver, FollowEnd, FollowError, FollowOptions, Follower},
    line::{LineBuilder, LineWriter},
    ordered::write_in_order,
    time::parse_window,
    CliResult,
};

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Trace directory or single-file trace.
    path: PathBuf,
    /// Print one JSON object per line instead of text.
    #[arg(long)]
    json: bool,
    /// Print raw clock values instead of wall-clock time.
    #[arg(long)]
    ticks: bool,
    /// Follow a trace still being written: print events as its packets land, and exit when
    /// the writer marks the directory finished (§9.4).
    #[arg(long)]
    follow: bool,
    /// With --follow: also stop after this many seconds without new data.
    #[arg(long, value_name = "SECONDS", requires = "follow")]
    idle_timeout: Option<f64>,
    /// Print only events at or after this time, reading only the packets that reach it:
    /// nanoseconds or a duration (`1.5s`, `250ms`) since the trace's first time, or UTC
    /// wall-clock time as dump prints it (`22:13:20.5`, or `2026-11-26 22:13:20.5`).
    #[arg(long, value_name = "TIME", conflicts_with = "follow")]
    from: Option<String>,
    /// Print only events at or before this time (the forms of --from).
    #[arg(long, value_name = "TIME", conflicts_with = "follow")]
    to: Option<String>,
}

pub fn run(args: &DumpArgs) -> CliResult {
    if args.follow {
        return follow(args);
    }
    let trace = crate::ctf::open(&args.path)?;
    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    // `events()` delivers the diagnostics found while opening too (first and last). Worker
    // threads check and walk the packets ahead of this one, which merges them; the lines are
    // made on this thread and as many helpers, and written in order (`ordered`).
    let mut diagnostics = 0usize;
    let window = window(&trace, args)?;
    let helpers = trace.default_workers();
    let mut print = |items: &mut dyn Iterator<Item = Item<'_>>| -> io::Result<()> {
        let mut lines = LineWriter::new();
        let mut builder = LineBuilder::default();
        let format = move |text: &mut Vec<u8>, item: &Item<'_>| match item {
            Item::Event(event) if args.json => write_json(text, event),
            Item::Event(event) => {
                builder.append(text, event, args.ticks);
                Ok(())
            }
            // A barrier: written by the last closure.
            Item::Diagnostic(_) => Ok(()),
        };
        let written =
            write_in_order(items, &mut out, helpers, format, weight, is_barrier, |out, item| match item {
                Item::Event(event) => write_event(out, &mut lines, &event, args),
                Item::Diagnostic(diagnostic) => {
                    diagnostics += 1;
                    out.flush()?;
                    eprintln!("warning: {diagnostic}");
                    Ok(())
                }
            });
        match written.and_then(|()| out.flush()) {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    };
    match window {
        // A window decodes the few packets that meet it, on this thread.
        Some((from, to)) => print(&mut trace.events_between(from, to))?,
        None => trace.with_events(trace.default_workers(), |mut items| print(&mut items))?,
    }
    if diagnostics > 0 {
        eprintln!("tracemark: {diagnostics} diagnostics");
    }
    Ok(ExitCode::SUCCESS)
}

/// What bounds a chunk of lines in memory: an event's record bytes.
fn weight(item: &Item<'_>) -> usize {
    match item {
        Item::Event(event) => event.record_bytes().len(),
        Item::Diagnostic(_) => 0,
    }
}

/// Whether `item` is written as it comes rather than formatted ahead: a diagnostic, printed
/// on stderr between the lines around it, or an event whose values may be large, whose line
/// is written in pieces as it is built.
fn is_barrier(item: &Item<'_>) -> bool {
    match item {
        Item::Event(event) => event.may_stream_values(),
        Item::Diagnostic(_) => true,
    }
}

/// The window of `--from` and `--to` in nanoseconds since the epoch, when either is given;
/// offsets count from the earliest `timestamp_begin` of the streams with a clock.
fn window(trace: &Trace, args: &DumpArgs) -> Result<Option<(i128, i128)>, Box<dyn std::error::Error>> {
    if args.from.is_none() && args.to.is_none() {
        return Ok(None);
    }
    let start = trace.time_span().map_or(0, |(start, _)| start);
    Ok(Some(parse_window(args.from.as_deref(), args.to.as_deref(), start)?))
}

fn write_event(
    out: &mut impl Write,
    lines: &mut LineWriter,
    event: &Event<'_>,
    args: &DumpArgs,
) -> io::Result<()> {
    if args.json {
        write_json(out, event)
    } else {
        lines.write(out, event, args.ticks)
    }
}

/// `event` as one line of JSON.
fn write_json(out: &mut impl Write, event: &Event<'_>) -> io::Result<()> {
    serde_json::to_writer(&mut *out, event).map_err(io::Error::from)?;
    writeln!(out)
}

/// Prints what a follower delivers, as `run` prints a whole trace.
struct FollowPrinter<'a, W: Write> {
    out: W,
    lines: LineWriter,
    args: &'a DumpArgs,
    diagnostics: usize,
}

impl<W: Write> Deliver for FollowPrinter<'_, W> {
    fn item(&mut self, item: Item<'_>) -> io::Result<()> {
        match item {
            Item::Event(event) => write_event(&mut self.out, &mut self.lines, &event, self.args),
            Item::Diagnostic(diagnostic) => {
                self.diagnostics += 1;
                self.out.flush()?;
                eprintln!("warning: {diagnostic}");
                Ok(())
            }
        }
    }

    fn end_of_poll(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn follow(args: &DumpArgs) -> CliResult {
    let options = FollowOptions {
        poll: Duration::from_millis(100),
        idle_timeout: args.idle_timeout.map(Duration::from_secs_f64),
    };
    let mut printer = FollowPrinter {
        out: BufWriter::with_capacity(1 << 16, io::stdout().lock()),
        lines: LineWriter::new(),
        args,
        diagnostics: 0,
    };
    match Follower::new(&args.path).run(options, &mut printer) {
        Ok(FollowEnd::Finished) => {}
        Ok(FollowEnd::IdleTimeout) => {
            eprintln!("tracemark: no new data for the idle timeout; stopped following")
        }
        Err(FollowError::Output(error)) if error.kind() == io::ErrorKind::BrokenPipe => {
            return Ok(ExitCode::SUCCESS)
        }
        Err(error) => return Err(error.into()),
    }
    if printer.diagnostics > 0 {
        eprintln!("tracemark: {} diagnostics", printer.diagnostics);
    }
    Ok(ExitCode::SUCCESS)
}
