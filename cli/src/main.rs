//! `tracemark`: record a demo trace, describe a trace, print its events.

mod check;
mod convert;
mod ctf;
mod cut;
mod demo;
mod dump;
mod follow;
mod index;
mod info;
mod line;
mod ordered;
mod progress;
mod stats;
mod time;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

/// tracemark: a cross-kernel binary trace format and its tools.
#[derive(Debug, Parser)]
#[command(name = "tracemark", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Record a multi-threaded demo trace with the reference writer, then summarize it.
    Demo(demo::DemoArgs),
    /// Describe a trace: ABI, clocks, streams, event classes, packet and loss counts.
    Info {
        /// Trace directory or single-file trace.
        path: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print every event in time order, one per line, with diagnostics in place.
    Dump(dump::DumpArgs),
    /// Check a trace against every rule of the specification: each violation with its
    /// requirement ID and place; exit 0 valid, 1 invalid, 2 unreadable. `--suite` runs the
    /// conformance vectors.
    Check(check::CheckArgs),
    /// Convert a trace for other tools: CTF 1.8 (babeltrace2, Trace Compass) or Chrome JSON (Perfetto);
    /// or an LTTng CTF 1.8 trace into tracemark (`--from ctf`).
    Convert(convert::ConvertArgs),
    /// Count events per class and per CPU, with rates, time span, losses and bytes per event.
    Stats(stats::StatsArgs),
    /// Write the packet index (§14) of a trace that has none, or an outdated one: the single
    /// file gets it as its last packet, a directory one per stream file in `index/`. Exit 1
    /// when a file is not a sequence of whole packets, which has no index.
    Index(index::IndexArgs),
    /// Write the events of a time window as a single-file trace: packets inside it copied,
    /// the ones at its edges rewritten, loss counters the cut's own. Only the packets that
    /// meet the window are read.
    Cut(cut::CutArgs),
    /// Write a trace as consecutive windows of a given length, one single-file trace each.
    Split(cut::SplitArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Info { path, json } => info::run(&path, json),
        Command::Dump(args) => dump::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Convert(args) => convert::run(&args),
        Command::Stats(args) => stats::run(&args),
        Command::Index(args) => index::run(&args),
        Command::Cut(args) => cut::run_cut(&args),
        Command::Split(args) => cut::run_split(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("tracemark: {error}");
            ExitCode::from(2)
        }
    }
}

/// Errors the commands report before exiting with status 2.
type CliResult = Result<ExitCode, Box<dyn std::error::Error>>;
