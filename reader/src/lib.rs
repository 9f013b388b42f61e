//! Reader for tracemark traces (`spec/SPEC.md`, wire format 1.x): the library other tools
//! link.
//!
//! [`Trace::open`] takes a trace directory (§9.1) or a single file (§9.2) and memory-maps it;
//! [`Trace::from_bytes`] reads a single-file trace from memory. Opening walks every packet
//! header and reads all the metadata (§7.10), compiling each event class into a decoding plan
//! with the offset of every field that has one. Events are then decoded lazily, zero-copy:
//! strings and blobs borrow from the mapped bytes, and a field is decoded when asked for.
//!
//! Four ways to read, from the most general to the fastest:
//!
//! - [`Trace::events`]: every event and diagnostic, in time order (§10.8), as [`Item`]s;
//!   [`Trace::with_events`] is the same with packets decoded ahead by worker threads;
//!   [`Trace::stream`] / [`Trace::streams`] give one stream in record order.
//! - Typed binding ([`bind`]): an analysis declares the events and fields it needs as Rust
//!   types (`#[derive(TraceEvent)]` or [`EventSpec`]) and binds them when the trace opens;
//!   a missing event, a missing or renamed field or a changed type is a [`BindError`] that
//!   names the event, the field and both types, and disables that analysis only (§12).
//! - [`Dispatcher`]: several typed analyses over one time-ordered pass, records handed from
//!   the decoded packets straight to the handlers, packets and typed values decoded by worker
//!   threads. An analysis that needs no order across streams runs one dispatcher per stream
//!   ([`Dispatcher::only_stream`]), streams side by side on every core ([`Trace::map_streams`]).
//! - [`Trace::count_events`]: events per class, packets decoded in parallel on every core.
//!
//! [`compat`] tells the same event from a changed one across traces (§12.1).
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
//!             for (name, value) in event.values() {
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
//! [`Trace::summary`] describes the trace for an `info` command.
//!
//! # Memory
//!
//! Reading keeps the resident set bounded whatever the trace size: mapped pages of packets
//! already read are given back to the kernel (`madvise(MADV_DONTNEED)` on the read-only file
//! mapping), so a 1 GB trace is read in under 20 MB of RSS. The index of packet headers is the
//! only memory proportional to the trace (a few hundred bytes per packet).
//!
//! # Safety
//!
//! The crate's `unsafe` code is in one module, [`MappedFile`]'s: the call that memory-maps a
//! file, the call that gives read pages back, and, on Linux, the `SIGBUS` handler that lets a
//! file shrink under its map (a vanished page is replaced by zeros, which the reader never
//! delivers: it checks each packet against the file's length). A file rewritten in place shows
//! other bytes, read as the untrusted input they are. [`ReadMode::Read`] copies files instead.
//! Decoding is safe Rust.
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

// Lets the derive's `::tracemark_reader::…` paths resolve inside this crate's own tests.
extern crate self as tracemark_reader;

mod ahead;
mod batch;
pub mod bind;
pub mod compat;
mod container;
mod count;
mod decode;
mod decompress;
mod diagnostic;
mod dispatch;
mod endian;
mod error;
mod event;
mod events;
mod index;
mod layout;
mod mapping;
mod merge;
mod metadata;
mod packet;
mod packet_map;
mod packets;
mod pipeline;
mod progress;
mod raw_record;
mod records;
mod source;
pub mod steps;
mod stream;
mod stream_id;
mod stream_index;
mod streamed;
mod summary;
mod trace;
mod value;

#[cfg(test)]
mod tests;

/// Derives [`TraceEvent`] for a struct with named fields; see the [`bind`] module.
#[cfg(feature = "derive")]
pub use tracemark_derive::TraceEvent;

#[doc(hidden)]
pub use bind::ExactInt;
pub use bind::{
    BindError, Binding, BoundFields, DecodeError, DynBinding, EventSpec, FieldError, FieldErrorKind,
    FieldSlot, FieldSpec, FieldType, TraceEvent,
};
pub use container::{directory_files, ContainerKind, DirectoryFiles, OpenOptions, ReadMode, MEMORY_NAME};
pub use count::EventCounts;
pub use decompress::decompress_records;
pub use diagnostic::{Declaration, Diagnostic, DiagnosticKind, MalformedReason, ProgressProblem};
pub use dispatch::{Context, Dispatcher, HandlerSummary, RunSummary};
pub use error::{NotATrace, OpenError, SUPPORTED_MAJOR_VERSIONS};
pub use event::{Event, LazyValues, StreamedValues, Values};
pub use events::{Events, EventsBetween, StreamIter};
pub use index::{sidecar_path, FileIndex, IndexPlace, IndexStatus, NotIndexable, StoredIndex};
pub use mapping::MappedFile;
pub use metadata::{Metadata, Version};
pub use packets::PacketView;
pub use progress::WrittenCounts;
pub use stream_id::StreamId;
pub use streamed::{Elements, EncodedKind, EncodedValue, FieldValue, Members, ValueType};
pub use summary::{uuid_string, StreamSummary, Summary};
pub use trace::{PacketWindow, PacketWindows, Trace};
pub use value::{HintedValue, Integer, Value};

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
