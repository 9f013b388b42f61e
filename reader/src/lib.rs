//! Reader for tracemark traces (`spec/SPEC.md`, wire format 1.x).
//!
//! [`Trace::open`] takes a trace directory (§9.1) or a single file (§9.2) and memory-maps it;
//! [`Trace::from_bytes`] reads a single-file trace from memory. Opening walks every packet
//! header and reads all the metadata (§7.10); events are then decoded lazily, zero-copy:
//! strings and blobs in an [`Event`] borrow from the mapped bytes.
//!
//! Damage never stops reading. Each problem — discarded events, missing packets, a CRC
//! mismatch, truncation, a bad header, a malformed record (§10) — is a [`Diagnostic`]
//! delivered in the item stream where it was found, and reading continues with the next good
//! data. Only a trace that has no usable TRACE record, or whose first metadata packet has an
//! unsupported major version, fails to open ([`OpenError`]).
//!
//! ```no_run
//! use tracemark_reader::{Item, Trace};
//!
//! let trace = Trace::open("trace-dir")?;
//! println!("{} on {}", trace.version(), trace.metadata().trace_info().hostname);
//! for item in trace.events() {
//!     match item {
//!         Item::Event(event) => {
//!             print!("[{}] {} {}:", event.timestamp(), event.stream(), event.name());
//!             for (name, value) in event.fields() {
//!                 print!(" {name} = {value}");
//!             }
//!             println!();
//!         }
//!         Item::Diagnostic(diagnostic) => eprintln!("warning: {diagnostic}"),
//!     }
//! }
//! # Ok::<(), tracemark_reader::OpenError>(())
//! ```
//!
//! Per-stream iteration, in record order, is [`Trace::stream`] / [`Trace::streams`];
//! [`Trace::summary`] describes the trace for an `info` command.
//!
//! # Safety
//!
//! The crate has no `unsafe` code except the call that memory-maps a file
//! (`container::map_file`), which requires that trace files are not modified or truncated
//! while a [`Trace`] maps them. [`ReadMode::Read`] copies files instead.
//!
//! # Robustness
//!
//! All input is untrusted: the reader never indexes without a bounds check, uses checked or
//! saturating arithmetic, checks counts and lengths against the bytes remaining before
//! allocating or looping (§6.7), recurses no deeper than the metadata's bounded type
//! nesting, and consumes input on every loop iteration. Fuzzed by a property test that
//! mutates valid traces.
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod container;
mod decode;
mod diagnostic;
mod error;
mod event;
mod merge;
mod metadata;
mod packet;
mod stream;
mod summary;
mod trace;

#[cfg(test)]
mod tests;

pub use container::{ContainerKind, OpenOptions, ReadMode, MEMORY_NAME};
pub use diagnostic::{Declaration, Diagnostic, DiagnosticKind, MalformedReason};
pub use error::{NotATrace, OpenError, SUPPORTED_MAJOR_VERSIONS};
pub use event::{Event, HintedValue, Integer, Value};
pub use merge::Events;
pub use metadata::{Metadata, Version};
pub use stream::{StreamId, StreamIter};
pub use summary::{uuid_string, StreamSummary, Summary};
pub use trace::Trace;

/// Re-export of the format crate, whose types ([`format::EventClass`], [`format::Abi`], …)
/// appear in this crate's API.
pub use tracemark_format as format;
pub use tracemark_format::marker::DisplayHint;

/// One item of an event stream: an event, or a problem found at that point.
#[derive(Debug, Clone, PartialEq)]
pub enum Item<'t> {
    /// A decoded event.
    Event(Event<'t>),
    /// A problem found at this point of the stream.
    Diagnostic(Diagnostic),
}

impl<'t> Item<'t> {
    /// The event, if this is one.
    pub fn event(self) -> Option<Event<'t>> {
        match self {
            Item::Event(event) => Some(event),
            Item::Diagnostic(_) => None,
        }
    }

    /// The diagnostic, if this is one.
    pub fn diagnostic(self) -> Option<Diagnostic> {
        match self {
            Item::Event(_) => None,
            Item::Diagnostic(diagnostic) => Some(diagnostic),
        }
    }
}
