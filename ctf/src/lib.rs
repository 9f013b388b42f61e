//! Reading CTF 1.8 traces, as LTTng 2.x writes them, to import them into tracemark.
//!
//! Layers, bottom up: [`tsdl`] parses the metadata text into a syntax tree; [`model`] resolves
//! it into a [`TraceClass`]: clocks, stream classes, event classes and their field types.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod bits;
pub mod decode;
mod metadata_stream;
pub mod model;
pub mod plan;
pub mod stream;
pub mod tsdl;

pub use metadata_stream::{
    metadata_text, MetadataStreamError, METADATA_PACKET_HEADER_LEN, METADATA_PACKET_MAGIC,
};
pub use model::TraceClass;
pub use stream::{CtfTrace, Event, EventError, Events, MetadataError, Packet, PacketError, Packets};
