//! CTF 1.8 traces (LTTng's) where a tracemark trace is expected: `convert --from ctf` imports
//! one into a tracemark file; `info`, `dump` and `stats` read one through a temporary import.
//! What an import cannot carry over is said on stderr (spec Appendix C).

use std::error::Error;
use std::fs::File;
use std::ops::Deref;
use std::path::Path;

use tracemark_ctf::directory::{find_traces, TraceDirectory};
use tracemark_ctf::import::{import_with, ImportReport, StreamFile};
use tracemark_ctf::CtfTrace;
use tracemark_reader::format::HeaderWord;
use tracemark_reader::{MappedFile, Trace};
use tracemark_writer::PacketSink;

/// A trace opened from a tracemark trace, or from a CTF trace imported into a temporary file
/// that lives as long as it.
pub struct Opened {
    trace: Trace,
    _imported: Option<tempfile::TempPath>,
}

impl From<Trace> for Opened {
    fn from(trace: Trace) -> Opened {
        Opened { trace, _imported: None }
    }
}

impl Deref for Opened {
    type Target = Trace;

    fn deref(&self) -> &Trace {
        &self.trace
    }
}

/// Opens `path`: a tracemark trace as it is; a CTF trace (a directory with CTF metadata at or
/// below it) imported first.
pub fn open(path: &Path) -> Result<Opened, Box<dyn Error>> {
    if !path.is_dir() || !tracemark_ctf::directory::is_ctf(path) {
        return Ok(Opened { trace: Trace::open(path)?, _imported: None });
    }
    let dir = single_trace(path)?;
    let temporary = tempfile::Builder::new().prefix("tracemark-ctf-").suffix(".tmk").tempfile()?;
    let mut sink = tracemark_writer::FileSink::create(temporary.path())?;
    let report = import_from(&dir, &mut sink, HeaderWord::Wide)?;
    eprintln!(
        "note: {} read as CTF 1.8 through an import: {} events, {} discarded",
        dir.path.display(),
        report.events,
        report.discarded
    );
    let temporary = temporary.into_temp_path();
    Ok(Opened { trace: Trace::open(&temporary)?, _imported: Some(temporary) })
}

/// The CTF trace at or below `path`; an error when there is none or several (an LTTng
/// session directory with kernel and user space traces: name one).
pub fn single_trace(path: &Path) -> Result<TraceDirectory, Box<dyn Error>> {
    let mut traces = find_traces(path).map_err(|error| format!("{}: {error}", path.display()))?;
    match traces.len() {
        0 => Err(format!("{}: no CTF trace (a directory with a CTF `metadata` file)", path.display()).into()),
        1 => Ok(traces.remove(0)),
        _ => {
            let list: Vec<String> =
                traces.iter().map(|trace| format!("  {}", trace.path.display())).collect();
            Err(format!(
                "{} holds {} CTF traces; name one:\n{}",
                path.display(),
                traces.len(),
                list.join("\n")
            )
            .into())
        }
    }
}

/// Imports the CTF trace in `dir` into `sink`, its records with header word `word` (spec §5.1),
/// saying on stderr what it could not carry over.
pub fn import_from(
    dir: &TraceDirectory,
    sink: &mut dyn PacketSink,
    word: HeaderWord,
) -> Result<ImportReport, Box<dyn Error>> {
    let metadata_path = dir.metadata();
    let metadata =
        std::fs::read(&metadata_path).map_err(|error| format!("{}: {error}", metadata_path.display()))?;
    let trace = CtfTrace::from_metadata(&metadata)
        .map_err(|error| format!("{}: {error}", metadata_path.display()))?;
    let mut mapped = Vec::with_capacity(dir.streams.len());
    for path in &dir.streams {
        let file = File::open(path).map_err(|error| format!("{}: {error}", path.display()))?;
        let map = MappedFile::open(file).map_err(|error| format!("{}: {error}", path.display()))?;
        mapped.push((path.file_name().unwrap_or_default().to_string_lossy().into_owned(), map));
    }
    let streams: Vec<StreamFile<'_>> = mapped
        .iter()
        .map(|(name, map)| StreamFile { name, bytes: map.as_ref().map_or(&[][..], MappedFile::bytes) })
        .collect();
    let report = import_with(&trace, &streams, sink, word)?;
    for plan in trace.plans.iter().filter_map(|plan| plan.as_ref().err()) {
        eprintln!("warning: {plan}: its packets are not imported");
    }
    for (loss, classes) in &report.losses {
        let shown: Vec<&str> = classes.iter().take(3).map(String::as_str).collect();
        let more = if classes.len() > 3 { format!(" and {} more", classes.len() - 3) } else { String::new() };
        let count = match classes.len() {
            1 => "1 event class".to_owned(),
            n => format!("{n} event classes"),
        };
        eprintln!("note: {} in {count} ({}{more})", loss.describe(), shown.join(", "));
    }
    for class in &report.unmapped {
        eprintln!(
            "warning: event class `{}` not imported ({}): {} events skipped",
            class.name, class.reason, class.skipped
        );
    }
    for damage in &report.damage {
        eprintln!("warning: {damage}");
    }
    Ok(report)
}
