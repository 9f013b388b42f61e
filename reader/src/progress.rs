//! The events a writer counted per stream in the progress file beside a directory trace (§9.5),
//! and what an analysis that read every event learns from them: the events written but never
//! delivered, which a writer killed before delivering its last packets leaves no other sign of.

use std::{fs, io, path::Path, sync::Arc};

use tracemark_format::progress::{self, Progress};

use crate::{
    diagnostic::{Diagnostic, DiagnosticKind, ProgressProblem},
    stream_id::StreamId,
};

/// A usable progress file: valid, and of this trace.
#[derive(Debug, Clone)]
pub struct WrittenCounts {
    file: Arc<str>,
    bytes: Vec<u8>,
}

impl WrittenCounts {
    /// Reads `progress` in trace directory `dir`: `None` when there is none; the diagnostic
    /// saying why it is ignored when it is invalid or of another trace than `trace_uuid`.
    pub(crate) fn read(dir: &Path, trace_uuid: [u8; 16]) -> Option<Result<WrittenCounts, Diagnostic>> {
        let path = dir.join(progress::FILE_NAME);
        let file: Arc<str> = Arc::from(path.display().to_string());
        let ignored =
            |problem, offset| Diagnostic::new(DiagnosticKind::ProgressIgnored(problem), file.clone(), offset);
        // Read whole: a record per stream, so a few kilobytes (the bound is the file's size).
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return None,
            Err(error) => {
                return Some(Err(ignored(ProgressProblem::Unreadable(error.to_string().into()), 0)))
            }
        };
        let parsed = match Progress::parse(&bytes) {
            Ok(parsed) => parsed,
            Err(error) => return Some(Err(ignored(ProgressProblem::Invalid(error), error.offset()))),
        };
        if parsed.header.trace_uuid != trace_uuid {
            let found = parsed.header.trace_uuid;
            return Some(Err(ignored(ProgressProblem::ForeignUuid { found }, 16)));
        }
        Some(Ok(WrittenCounts { file, bytes }))
    }

    fn parsed(&self) -> Progress<'_> {
        // Checked when read.
        Progress::parse(&self.bytes).unwrap_or_else(|_| unreachable!("checked in `read`"))
    }

    /// The file, as opened.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Each stream the writer wrote events into, with how many, in stream order.
    pub fn events_written(&self) -> impl Iterator<Item = (StreamId, u64)> + '_ {
        let parsed = self.parsed();
        let class = parsed.header.stream_class_id;
        parsed
            .events_written()
            .filter(|(_, written)| *written > 0)
            .map(move |(instance, written)| (StreamId { class, instance }, written))
    }

    /// For each stream whose count is above the events `delivered` says were delivered from
    /// it, a diagnostic of the difference (R-9.5-2), located at the stream's record.
    pub fn undelivered<'a>(
        &'a self,
        delivered: impl Fn(StreamId) -> u64 + 'a,
    ) -> impl Iterator<Item = Diagnostic> + 'a {
        let parsed = self.parsed();
        self.events_written().filter_map(move |(stream, written)| {
            let delivered = delivered(stream);
            (written > delivered).then(|| Diagnostic {
                stream: Some(stream),
                ..Diagnostic::new(
                    DiagnosticKind::EventsNotDelivered { written, delivered },
                    self.file.clone(),
                    parsed.record_offset(stream.instance),
                )
            })
        })
    }
}
