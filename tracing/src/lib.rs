//! A [`tracing_subscriber::Layer`] that records a Rust program's spans and events into a
//! tracemark trace, in binary: formatting happens later, in `tracemark dump`, if ever.
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//!
//! let (layer, guard) = tracemark_tracing::TracemarkLayer::directory("trace-dir")?;
//! tracing_subscriber::registry().with(layer).init();
//! // ... the program runs, instrumented with `tracing` ...
//! let report = guard.finish()?; // or drop the guard
//! eprintln!("{} events written, {} dropped by full rings", report.events_written, report.events_discarded);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each thread writes into its own lock-free ring of a
//! [`RingSession`] (taken the first time the thread
//! records, given back when it ends); a consumer thread
//! writes the packets out. A full ring drops the record and counts it (§10.1): the program is
//! never blocked.
//!
//! Each callsite gets event classes, declared in the metadata the first time a thread records
//! them:
//!
//! - an event: `TARGET:NAME` (`NAME` is `tracing`'s, `event src/main.rs:12`), one field per
//!   recorded value;
//! - a span: `TARGET:NAME:new` (`span_id`, `parent_id`, 0 for none, then its fields),
//!   `:record` (fields recorded later), `:enter`, `:exit`, `:close` (`span_id`).
//!
//! Field types follow the values: `i64`, `u64`, `f64`, `bool`; strings, `Debug` and `Display`
//! output, errors and 128-bit integers as strings; bytes as blobs. A callsite whose records
//! differ in the fields they set, or in a field's type, gets a class per signature: nothing
//! is declared that a record did not carry. Field names become identifiers (`http.method` is
//! `http_method`).
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod classes;
mod clock;
#[allow(unsafe_code)]
mod exit;
mod layer;
mod record;

use std::{path::Path, sync::Arc};

pub use clock::LayerClock;
pub use layer::{Session, TracemarkLayer};
use tracemark_writer::{ring::RingSession, Config, DirectorySink};

impl TracemarkLayer {
    /// A layer writing into a new trace directory at `path` (§9.1), one ring per thread, the
    /// writer's default packet size, with a progress file (§9.5), so that what a program that
    /// dies without finishing the trace (a signal, an abort) wrote but never delivered is
    /// counted by the tools reading it (`tracemark check`, `tracemark stats`); and the guard
    /// that finishes the trace.
    pub fn directory(
        path: impl AsRef<Path>,
    ) -> Result<(TracemarkLayer, FlushGuard), tracemark_writer::Error> {
        TracemarkLayer::directory_with_clock(path, LayerClock::monotonic())
    }

    /// [`directory`](Self::directory), timestamped by `clock`: [`LayerClock::tsc`] where it
    /// is available takes a record's time in about half the time of `CLOCK_MONOTONIC`.
    pub fn directory_with_clock(
        path: impl AsRef<Path>,
        clock: LayerClock,
    ) -> Result<(TracemarkLayer, FlushGuard), tracemark_writer::Error> {
        let path = path.as_ref();
        let sink = DirectorySink::create(path)?;
        let session = RingSession::builder(Config::default())
            .progress_file(path.join(tracemark_format::progress::FILE_NAME))
            .build_with_clock(clock, sink)?;
        Ok(TracemarkLayer::new(session))
    }

    /// A layer writing into `session`; and the guard that finishes it.
    pub fn new(session: Session) -> (TracemarkLayer, FlushGuard) {
        let shared = Arc::new(layer::Shared::new(session));
        exit::finish_at_exit(&shared);
        (TracemarkLayer { shared: Arc::clone(&shared) }, FlushGuard { shared: Some(shared) })
    }
}

/// Finishes the trace when dropped (or by [`finish`](FlushGuard::finish)): the layer stops
/// recording, every ring's last packet is delivered, then the metadata, and a directory trace
/// is marked finished (§9.4).
///
/// Threads still running then (a pool the program did not shut down first) keep running: their
/// rings are sealed, so that what they recorded until then is in the trace and what they record
/// afterwards is counted in [`Report::after_close`], not written.
///
/// A program that exits normally without dropping it (`std::process::exit`, a guard kept in a
/// static) has its trace finished at exit all the same (an `atexit` hook): only an abnormal
/// end (a signal, an abort) loses the packets not yet delivered, at most the last second's
/// (the session's flush interval), and leaves the trace not marked finished; a trace made by
/// [`TracemarkLayer::directory`] counts that loss exactly in its progress file (§9.5).
#[must_use = "dropping the guard finishes the trace"]
pub struct FlushGuard {
    shared: Option<Arc<layer::Shared>>,
}

/// What a finished trace holds, and what the layer could not record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Records written into the rings.
    pub events_written: u64,
    /// Records the rings dropped when full, counted in the trace (§10.1).
    pub events_discarded: u64,
    /// Records made after the guard closed the layer, not written.
    pub after_close: u64,
    /// Threads still holding their rings when the trace was finished, whose rings were sealed
    /// then (a thread that records meanwhile may see the layer closed and give its ring back
    /// first: it is not counted here).
    pub threads_sealed: usize,
    /// Records made while the same thread was already recording (a `Debug` implementation
    /// that logs) or while it was ending, not written.
    pub reentrant: u64,
    /// Records the writer refused (a class it would not register, a record larger than a
    /// packet), not written.
    pub refused: u64,
}

/// Why a trace could not be finished.
#[derive(Debug, thiserror::Error)]
pub enum FinishError {
    /// Threads were inside a write to their ring for the whole second finishing waited (each
    /// write takes nanoseconds: their threads were stopped or starved): their rings' complete
    /// packets are in the trace, which is not marked finished.
    #[error("{0} threads stayed inside a write to their rings: their last packets are not delivered and the trace is not marked finished")]
    StreamsOpen(usize),
    /// The writer failed (the sink).
    #[error(transparent)]
    Writer(#[from] tracemark_writer::Error),
}

impl FlushGuard {
    /// Finishes the trace now; see [`FlushGuard`].
    pub fn finish(mut self) -> Result<Report, FinishError> {
        match self.shared.take() {
            Some(shared) => finish(&shared, ENDING_THREADS_WAIT),
            None => Ok(Report::default()),
        }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            if let Err(error) = finish(&shared, ENDING_THREADS_WAIT) {
                eprintln!("tracemark-tracing: {error}");
            }
        }
    }
}

/// How long finishing waits for threads inside a write to their ring to leave it.
const ENDING_THREADS_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Closes the layer and finishes its trace, sealing the rings of threads still running and
/// waiting up to `wait` for writes in progress; once only (a second call, the guard's and the
/// exit hook's, does nothing).
fn finish(shared: &layer::Shared, wait: std::time::Duration) -> Result<Report, FinishError> {
    use std::sync::atomic::Ordering;
    if shared.closed.swap(true, Ordering::AcqRel) {
        return Ok(Report::default());
    }
    layer::release_stream(shared.id());
    match shared.session.finish_sealing(wait) {
        Ok(summary) => {
            // Read after the seal: records refused while the rings were being sealed count.
            let counters = &shared.counters;
            Ok(Report {
                events_written: summary.events_written,
                events_discarded: summary.events_discarded,
                threads_sealed: summary.sealed_streams,
                after_close: counters.after_close.load(Ordering::Relaxed),
                reentrant: counters.reentrant.load(Ordering::Relaxed),
                refused: counters.refused.load(Ordering::Relaxed),
            })
        }
        Err(tracemark_writer::Error::StreamsOpen(open)) => {
            shared.session.flush();
            Err(FinishError::StreamsOpen(open))
        }
        Err(error) => Err(error.into()),
    }
}
