//! `tracemark cut` and `tracemark split`: time windows of a trace, each a trace of its own.

use std::{
    fs::{self, File},
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    process::ExitCode,
};

use tracemark_export::{write_cut, CutSummary};
use tracemark_reader::Trace;

use crate::{
    time::{parse_point, parse_window},
    CliResult,
};

/// More parts than this is a mistake in `--every`, not a wish for millions of files.
const MAX_PARTS: i128 = 100_000;

#[derive(clap::Args, Debug)]
pub struct CutArgs {
    /// Trace directory or single-file trace.
    pub path: PathBuf,
    /// The single-file trace to write; it must not exist.
    pub out: PathBuf,
    /// The window's first time: nanoseconds or a duration (`1.5s`, `250ms`) since the trace's
    /// first time, or UTC wall-clock time as dump prints it (`22:13:20.5`, or with a date).
    /// Default: the trace's start.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// The window's last time, included (the forms of --from). Default: the trace's end.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct SplitArgs {
    /// Trace directory or single-file trace.
    pub path: PathBuf,
    /// The directory to write `part-0000.tmk`, `part-0001.tmk`, … into: new or empty.
    pub out: PathBuf,
    /// The length of each part: `10s`, `500ms`, `250us`, or nanoseconds.
    #[arg(long, value_name = "DURATION")]
    pub every: String,
}

pub fn run_cut(args: &CutArgs) -> CliResult {
    let trace = Trace::open(&args.path)?;
    let start = trace.time_span().map_or(0, |(start, _)| start);
    let (from, to) = parse_window(args.from.as_deref(), args.to.as_deref(), start)?;
    let summary = write_file(&trace, from, to, &args.out)?;
    println!("{}: {}", args.out.display(), describe(&summary));
    Ok(ExitCode::SUCCESS)
}

pub fn run_split(args: &SplitArgs) -> CliResult {
    let every = parse_point(&args.every, 0).ok().filter(|every| *every > 0 && !args.every.contains(':'));
    let Some(every) = every else {
        return Err(format!("--every {:?}: give a positive duration such as 10s or 500ms", args.every).into());
    };
    let trace = Trace::open(&args.path)?;
    let Some((start, end)) = trace.time_span() else {
        return Err("the trace has no stream with a clock: nothing to split by time".into());
    };
    let parts = (end - start) / every + 1;
    if parts > MAX_PARTS {
        return Err(format!("--every {} would write {parts} parts, more than {MAX_PARTS}", args.every).into());
    }
    if fs::read_dir(&args.out).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(format!("{}: not empty; give a new or empty directory", args.out.display()).into());
    }
    fs::create_dir_all(&args.out)?;
    for part in 0..parts {
        let from = start + part * every;
        let out = args.out.join(format!("part-{part:04}.tmk"));
        let summary = write_file(&trace, from, from + every - 1, &out)?;
        println!("{}: {}", out.display(), describe(&summary));
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the cut from `from` to `to` to the new file `out`.
fn write_file(
    trace: &Trace,
    from: i128,
    to: i128,
    out: &Path,
) -> Result<CutSummary, Box<dyn std::error::Error>> {
    let file = File::options()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|error| format!("{}: {error} (the output must be a new file)", out.display()))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let summary = write_cut(trace, from, to, &mut writer)?;
    writer.flush()?;
    Ok(summary)
}

fn describe(summary: &CutSummary) -> String {
    let mut text = format!(
        "{} packets copied, {} rewritten at the window's edges ({} events), {} metadata packets, {} bytes",
        summary.packets_copied,
        summary.packets_rewritten,
        summary.events_rewritten,
        summary.metadata_packets,
        summary.bytes
    );
    if summary.packets_damaged > 0 {
        text.push_str(&format!("; {} damaged packets left out", summary.packets_damaged));
    }
    if summary.streams_without_time > 0 {
        text.push_str(&format!("; {} streams without a clock left out", summary.streams_without_time));
    }
    if let Some(why) = &summary.index_set_aside {
        text.push_str(&format!("; the index was set aside: {why}"));
    }
    text
}
