//! `tracemark dump`: every event in time order, one line each; diagnostics where they occur.

use std::{
    io::{self, BufWriter, Write},
    path::PathBuf,
    process::ExitCode,
};

use clap::Args;
use tracemark_reader::{Event, Item, Trace};

use crate::{time::WallClock, CliResult};

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
}

pub fn run(args: &DumpArgs) -> CliResult {
    let trace = Trace::open(&args.path)?;
    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let mut diagnostics = 0usize;
    for diagnostic in trace.diagnostics() {
        diagnostics += 1;
        eprintln!("warning: {diagnostic}");
    }
    for item in trace.events() {
        let written = match item {
            Item::Event(event) if args.json => {
                serde_json::to_writer(&mut out, &event).map_err(io::Error::from).and_then(|()| writeln!(out))
            }
            Item::Event(event) => write_text(&mut out, &event, args.ticks),
            Item::Diagnostic(diagnostic) => {
                diagnostics += 1;
                out.flush()?;
                eprintln!("warning: {diagnostic}");
                Ok(())
            }
        };
        match written {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            other => other?,
        }
    }
    match out.flush() {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        other => other?,
    }
    if diagnostics > 0 {
        eprintln!("tracemark: {diagnostics} diagnostics");
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes one event as `[time] cpu N name: { field = value, ... }`.
pub fn write_text(out: &mut impl Write, event: &Event<'_>, ticks: bool) -> io::Result<()> {
    match event.unix_ns() {
        Some(ns) if !ticks => write!(out, "[{}]", WallClock(ns))?,
        _ => write!(out, "[{}]", event.timestamp())?,
    }
    write!(out, " cpu {} {}: {{ ", event.stream().instance, event.name())?;
    let hints = event.display_hints();
    for (index, (name, value)) in event.fields().iter().enumerate() {
        if index > 0 {
            write!(out, ", ")?;
        }
        match hints.and_then(|hints| hints.get(index)) {
            Some(hint) => write!(out, "{name} = {}", value.display(*hint))?,
            None => write!(out, "{name} = {value}")?,
        }
    }
    writeln!(out, " }}")
}
