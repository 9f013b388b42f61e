//! `tracemark`: record a demo trace, describe a trace, print its events.

mod demo;
mod dump;
mod info;
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Info { path, json } => info::run(&path, json),
        Command::Dump(args) => dump::run(&args),
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
