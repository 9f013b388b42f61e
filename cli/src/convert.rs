//! `tracemark convert`: a trace in a format other tools open (CTF 1.8, Chrome JSON), or as one
//! tracemark file, compressed or not; and a CTF 1.8 trace (LTTng's) into tracemark.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::PathBuf,
    process::ExitCode,
};

use clap::{Args, ValueEnum};
use tracemark_reader::{
    format::{compress::Codec, HeaderWord},
    Trace,
};

use crate::CliResult;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// CTF 1.8 trace directory (babeltrace2, Trace Compass): OUT must be new or empty.
    Ctf,
    /// Chrome Trace Event Format JSON file (Perfetto UI, chrome://tracing); `-` for stdout.
    ChromeJson,
    /// A tracemark single file (OUT must be new), its data packets compressed as --compress
    /// says, with its packet index.
    Tracemark,
    /// Apache Parquet tables (DataFusion, DuckDB, Spark): a directory, new or empty, with one
    /// table per event class under `events/`, and `packets`, `diagnostics`, `trace`.
    Parquet,
}

/// Packet compression for `--to tracemark` (spec §15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compression {
    /// Every data packet uncompressed (compressed ones decompressed).
    None,
    /// zstd: the smaller trace.
    Zstd,
    /// LZ4: the faster read.
    Lz4,
}

/// Record header words for `--to tracemark` (spec §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Headers {
    /// 8-byte headers: 16-bit event IDs, 48 bits of timestamp (every reader since 1.0).
    Wide,
    /// 4-byte headers: 8-bit event IDs, 24 bits of timestamp, others escaped to 16 bytes; 4
    /// bytes less per event, read by readers of 1.3 and later.
    Narrow,
}

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// A tracemark trace: a directory or a single file.
    Tracemark,
    /// A CTF 1.8 trace (LTTng): a directory with a CTF `metadata` file at or below it.
    Ctf,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Input format; found from the input when absent.
    #[arg(long = "from", value_enum)]
    from: Option<InputFormat>,
    /// Output format; `tracemark` when absent and the input is CTF.
    #[arg(long = "to", value_enum)]
    to: Option<Format>,
    /// Trace directory or single-file trace.
    path: PathBuf,
    /// Output: a directory for `ctf` and `parquet`, a file (or `-`) for `chrome-json`, a new
    /// file for `tracemark`.
    out: PathBuf,
    /// With `--to tracemark`: how data packets are compressed.
    #[arg(long, value_enum, default_value = "none")]
    compress: Compression,
    /// With `--to tracemark`: the records' header word (a tracemark input's packets keep their
    /// own when absent; a CTF import is wide).
    #[arg(long, value_enum)]
    headers: Option<Headers>,
    /// With `--to parquet`: write the trace as partition KEY=VALUE (`host=web1`) of a fleet's
    /// tables in OUT, which may hold other partitions: OUT/events/NAME/KEY=VALUE/, OUT/packets/KEY=VALUE/, ...
    #[arg(long, value_name = "KEY=VALUE")]
    partition: Option<String>,
}

pub fn run(args: &ConvertArgs) -> CliResult {
    let from = args.from.unwrap_or_else(|| {
        if args.path.is_dir() && tracemark_ctf::directory::is_ctf(&args.path) {
            InputFormat::Ctf
        } else {
            InputFormat::Tracemark
        }
    });
    let to = match (args.to, from) {
        (Some(to), _) => to,
        (None, InputFormat::Ctf) => Format::Tracemark,
        (None, InputFormat::Tracemark) => {
            return Err("--to is needed: ctf, chrome-json, tracemark or parquet".into())
        }
    };
    if args.compress != Compression::None && to != Format::Tracemark {
        return Err("--compress applies to --to tracemark only".into());
    }
    if args.headers.is_some() && to != Format::Tracemark {
        return Err("--headers applies to --to tracemark only".into());
    }
    let headers = args.headers.map(|headers| match headers {
        Headers::Wide => HeaderWord::Wide,
        Headers::Narrow => HeaderWord::Narrow,
    });
    if args.partition.is_some() && to != Format::Parquet {
        return Err("--partition applies to --to parquet only".into());
    }
    let codec = match args.compress {
        Compression::None => None,
        Compression::Zstd => Some(Codec::Zstd),
        Compression::Lz4 => Some(Codec::Lz4),
    };
    if from == InputFormat::Ctf && to == Format::Tracemark {
        return import_ctf(args, codec, headers.unwrap_or(HeaderWord::Wide));
    }
    let trace = match from {
        InputFormat::Ctf => crate::ctf::open(&args.path)?,
        InputFormat::Tracemark => crate::ctf::Opened::from(Trace::open(&args.path)?),
    };
    let mut diagnostics = 0u64;
    let mut warn = |diagnostic: &tracemark_reader::Diagnostic| {
        diagnostics += 1;
        eprintln!("warning: {diagnostic}");
    };
    match to {
        Format::Ctf => {
            let summary = tracemark_export::write_ctf(&trace, &args.out, &mut warn)?;
            eprintln!(
                "wrote {} (CTF 1.8): {} events in {} packets of {} streams, {} discarded; \
                 {} bytes of data, {} of metadata",
                args.out.display(),
                summary.events,
                summary.packets,
                summary.streams,
                summary.discarded,
                summary.data_bytes,
                summary.metadata_bytes
            );
            if summary.beyond_i64_ns > 0 {
                eprintln!(
                    "warning: {} events are after 2262-04-11 (nanoseconds since 1970 overflow 64 bits): \
                     babeltrace2 2.0 cannot read their packets",
                    summary.beyond_i64_ns
                );
            }
        }
        Format::ChromeJson => {
            let summary = if args.out.as_os_str() == "-" {
                tracemark_export::write_chrome_json(&trace, BufWriter::new(io::stdout().lock()), &mut warn)?
            } else {
                let file =
                    File::create(&args.out).map_err(|error| format!("{}: {error}", args.out.display()))?;
                tracemark_export::write_chrome_json(
                    &trace,
                    BufWriter::with_capacity(1 << 16, file),
                    &mut warn,
                )?
            };
            eprintln!(
                "wrote {} (Trace Event Format): {} tracks, {} slices from {} scheduler switches, \
                 {} span slices, {} instant events, {} diagnostics",
                args.out.display(),
                summary.tracks,
                summary.slices,
                summary.switches,
                summary.spans,
                summary.instants,
                summary.diagnostics
            );
        }
        Format::Parquet => write_parquet(&trace, &args.out, args.partition.clone())?,
        Format::Tracemark => {
            let file = File::options().write(true).create_new(true).open(&args.out).map_err(|error| {
                format!("{}: {error} (the output must be a new file)", args.out.display())
            })?;
            let mut out = BufWriter::with_capacity(1 << 20, file);
            let summary = tracemark_export::write_repacked(&trace, codec, headers, &mut out)?;
            out.flush()?;
            let ratio = summary.data_bytes_in as f64 / summary.data_bytes_out.max(1) as f64;
            eprintln!(
                "wrote {} (tracemark): {} data packets ({} compressed), {} metadata packets; \
                 data {} -> {} bytes ({ratio:.2}x){}{}",
                args.out.display(),
                summary.packets,
                summary.compressed,
                summary.metadata_packets,
                summary.data_bytes_in,
                summary.data_bytes_out,
                if summary.reencoded + summary.kept_damaged > 0 {
                    format!(
                        "; {} packets' record headers rewritten, {} damaged ones copied as they are",
                        summary.reencoded, summary.kept_damaged
                    )
                } else {
                    String::new()
                },
                if summary.cut_short > 0 {
                    format!("; {} packets cut short left out", summary.cut_short)
                } else {
                    String::new()
                }
            );
        }
    }
    if diagnostics > 0 {
        eprintln!("tracemark: {diagnostics} diagnostics");
    }
    Ok(ExitCode::SUCCESS)
}

/// `convert --to parquet`: the tables, with a progress bar on a terminal when it takes a while.
fn write_parquet(
    trace: &Trace,
    out: &std::path::Path,
    partition: Option<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let bar = crate::progress::DelayedBar::new(
        1000,
        "{spinner} writing Parquet [{wide_bar}] {percent}% {msg} {eta}",
    );
    let options = tracemark_columnar::ParquetOptions { partition, ..Default::default() };
    let summary = tracemark_columnar::write_parquet(trace, out, &options, |progress| {
        if let Some(fraction) = progress.fraction {
            bar.set(((fraction * 1000.0) as u64, format!("{} events", progress.events)));
        }
    })?;
    bar.finish();
    eprintln!(
        "wrote {} (Parquet): {} events in {} event tables, {} packets, {} diagnostics, {} files",
        out.display(),
        summary.events,
        summary.event_tables,
        summary.packets,
        summary.diagnostics,
        summary.files
    );
    if summary.lossy_strings > 0 {
        eprintln!(
            "note: {} strings were not UTF-8: stored with U+FFFD in place of the bad bytes",
            summary.lossy_strings
        );
    }
    if summary.nulled_values > 0 {
        eprintln!("warning: {} values missing from their records, stored as null", summary.nulled_values);
    }
    Ok(())
}

/// `convert --from ctf CTF_DIR OUT`: the CTF trace imported into a new single-file trace, its
/// data packets compressed and its records' headers in the word asked for. Exit 1 when part of
/// the trace could not be imported.
fn import_ctf(args: &ConvertArgs, codec: Option<Codec>, word: HeaderWord) -> CliResult {
    let dir = crate::ctf::single_trace(&args.path)?;
    if args.out.exists() {
        return Err(format!("{}: exists (the output must be a new file)", args.out.display()).into());
    }
    let sink = tracemark_writer::FileSink::create(&args.out)
        .map_err(|error| format!("{}: {error}", args.out.display()))?;
    let report = match codec {
        Some(codec) => {
            crate::ctf::import_from(&dir, &mut tracemark_writer::CompressingSink::new(sink, codec), word)?
        }
        None => crate::ctf::import_from(&dir, &mut { sink }, word)?,
    };
    eprintln!(
        "wrote {} (tracemark) from {} (CTF 1.8): {} events in {} packets of {} streams, {} discarded by the tracer",
        args.out.display(),
        dir.path.display(),
        report.events,
        report.packets,
        report.streams,
        report.discarded
    );
    let incomplete = !report.unmapped.is_empty() || !report.damage.is_empty();
    Ok(if incomplete { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
