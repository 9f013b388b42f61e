//! Wire definitions of the tracemark trace format, version 1.0 (`spec/SPEC.md`).
//!
//! This crate holds what every writer and reader must agree on, and nothing else:
//! constants, the fixed packet header, the event record header, type descriptors,
//! metadata records with their codecs, the marker format-string grammar, the
//! identity hash and the packet CRC. It is `no_std` and needs only `alloc`.
//!
//! ```
//! use tracemark_format::{ByteOrder, PacketHeader, PACKET_HEADER_LEN};
//!
//! let header = PacketHeader::new_data([7; 16], 1, 3);
//! let mut bytes = [0u8; PACKET_HEADER_LEN];
//! header.encode(ByteOrder::Big, &mut bytes);
//! let (decoded, order) = PacketHeader::decode(&bytes).unwrap();
//! assert_eq!((decoded, order), (header, ByteOrder::Big));
//! ```
#![no_std]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod abi;
pub mod byte_order;
pub mod compress;
pub mod crc;
pub mod event_header;
pub mod identity;
pub mod index;
pub mod marker;
pub mod metadata;
pub mod packet;
pub mod progress;
pub mod types;

pub use abi::Abi;
pub use byte_order::ByteOrder;
pub use event_header::{EventHeader, HeaderWord, COMPACT_HEADER_LEN, COMPACT_ID_LIMIT, EXTENDED_HEADER_LEN};
pub use identity::identity_hash;
pub use metadata::{
    ClockClass, EnvEntry, EnvValue, EventClass, Layout, MetadataError, MetadataErrorKind, Record, RecordIter,
    StreamClass, TraceInfo,
};
pub use packet::{HeaderError, PacketFlags, PacketHeader, MAGIC, PACKET_HEADER_LEN};
pub use types::{AbiInt, EnumMapping, Field, IntType, TypeDesc};

/// Wire format major version this crate reads and writes (§11).
pub const VERSION_MAJOR: u8 = 1;
/// Wire format minor version this crate writes on every packet but an index's (§11).
pub const VERSION_MINOR: u8 = 1;
/// The newest minor version this crate reads and defines: 1.3 adds narrow record headers
/// (§5.1), which the packets holding them carry.
pub const VERSION_MINOR_READ: u8 = event_header::NARROW_HEADERS_VERSION_MINOR;
/// The specification text version this crate implements.
pub const SPEC_VERSION: &str = "1.3-draft";
