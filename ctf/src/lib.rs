//! Reading CTF 1.8 traces, as LTTng 2.x writes them, to import them into tracemark.
//!
//! Layers, bottom up:
//! - [`tsdl`] parses the metadata text ([`metadata_text`] takes it out of its packets) into a
//!   syntax tree; [`model`] resolves it into a [`TraceClass`]: clocks, stream classes, event
//!   classes and their field types;
//! - [`plan`] resolves each stream class's field references to registers; [`bits`] reads bit
//!   fields; [`decode`] decodes a scope into values; [`stream`] walks a stream file's packets
//!   and their events ([`CtfTrace`]); [`merge`] delivers a trace's events in time order, and
//!   [`parallel`] too, decoding the stream files on worker threads;
//! - [`import`] writes a CTF trace as a tracemark trace (spec Appendix C).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod bits;
pub mod decode;
pub mod directory;
pub mod import;
pub mod merge;
mod metadata_stream;
pub mod model;
pub mod parallel;
pub mod plan;
pub mod stream;
pub mod tsdl;

pub use metadata_stream::{
    metadata_text, MetadataStreamError, METADATA_PACKET_HEADER_LEN, METADATA_PACKET_MAGIC,
};
pub use model::TraceClass;
pub use stream::{CtfTrace, Decoded, Event, EventError, Events, MetadataError, Packet, PacketError, Packets};
