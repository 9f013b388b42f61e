//! Exporters from tracemark traces to the formats existing tools open.
//!
//! - [`write_ctf`]: a CTF 1.8 trace directory (TSDL metadata and data streams) for
//!   babeltrace2, Trace Compass and other CTF readers. Event records are copied byte for
//!   byte; only packet headers are rewritten (see [`ctf`]).
//! - [`write_chrome_json`]: Chrome Trace Event Format JSON for the Perfetto UI and
//!   `chrome://tracing`: one track per CPU, scheduler switches as slices, other events as
//!   instants (see [`chrome`]).
//! - [`write_cut`]: a tracemark single file of a time window, whole packets copied, the two at
//!   each stream's edges rewritten (see [`cut`]).
//! - [`write_repacked`]: a tracemark single file of the whole trace, its data packets compressed
//!   (§15) or decompressed, with its packet index (see [`repack`]).
//!
//! The first two read through [`tracemark_reader`], so they export what the reader delivers
//! and pass every [`Diagnostic`](tracemark_reader::Diagnostic) to the caller.
//!
//! ```no_run
//! use tracemark_reader::Trace;
//!
//! let trace = Trace::open("trace-dir")?;
//! let summary = tracemark_export::write_ctf(&trace, "trace-ctf".as_ref(), |diagnostic| {
//!     eprintln!("warning: {diagnostic}")
//! })?;
//! println!("{} events in {} packets", summary.events, summary.packets);
//! let json = std::io::BufWriter::new(std::fs::File::create("trace.json")?);
//! tracemark_export::write_chrome_json(&trace, json, |_| {})?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod chrome;
pub mod ctf;
pub mod cut;
mod error;
mod reencode;
pub mod repack;
mod tsdl;

pub use chrome::{write_chrome_json, ChromeSummary};
pub use ctf::{write_ctf, CtfSummary};
pub use cut::{write_cut, CutSummary};
pub use error::ExportError;
pub use repack::{write_repacked, RepackSummary};
