//! The fixed packet header (§4).

use binrw::{binrw, io::Cursor, BinRead, BinWrite};

use crate::{ByteOrder, VERSION_MAJOR, VERSION_MINOR};

/// The packet magic number, `"TRMK"` as little-endian bytes (§2.2).
pub const MAGIC: u32 = 0x4B4D_5254;
/// Length of the version 1.0 packet header (§4.1).
pub const PACKET_HEADER_LEN: usize = 80;
/// Byte range of the `crc32` field, which the CRC does not cover (§4.4).
pub const CRC_FIELD: core::ops::Range<usize> = 12..16;
/// Offset of `content_size` in the header, for writers that patch it in place.
pub const CONTENT_SIZE_OFFSET: usize = 64;
/// Packets and headers are sized in multiples of this (§4.2).
pub const PACKET_ALIGN: usize = 8;

/// Packet `flags` (§4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PacketFlags(pub u32);

impl PacketFlags {
    /// Bit 0: the `crc32` field is valid.
    pub const HAS_CRC: u32 = 1 << 0;
    /// Bit 1: a metadata packet.
    pub const METADATA: u32 = 1 << 1;
    /// Bit 2: the content is compressed (§15, since 1.2).
    pub const COMPRESSED: u32 = 1 << 2;
    /// Bit 3: the records' header words are narrow, `u32` (§5.1, since 1.3).
    pub const NARROW_HEADERS: u32 = 1 << 3;
    /// Bits 4–15: flags a reader must understand to decode the packet, none defined.
    pub const INCOMPATIBLE_MASK: u32 = 0x0000_FFF0;

    /// Whether the CRC field is valid.
    pub const fn has_crc(self) -> bool {
        self.0 & Self::HAS_CRC != 0
    }

    /// Whether this is a metadata packet.
    pub const fn is_metadata(self) -> bool {
        self.0 & Self::METADATA != 0
    }

    /// Whether the content is compressed (§15).
    pub const fn is_compressed(self) -> bool {
        self.0 & Self::COMPRESSED != 0
    }

    /// Whether the records' header words are narrow (§5.1).
    pub const fn has_narrow_headers(self) -> bool {
        self.0 & Self::NARROW_HEADERS != 0
    }

    /// Incompatible bits this version does not define (§4.3).
    pub const fn unknown_incompatible(self) -> u32 {
        self.0 & Self::INCOMPATIBLE_MASK
    }
}

/// A decoded packet header. Field order and widths are §4.1's table.
#[binrw]
#[brw(magic = 0x4B4D_5254u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketHeader {
    /// Wire format major version.
    pub version_major: u8,
    /// Wire format minor version.
    pub version_minor: u8,
    /// Header length in bytes; records start here.
    pub header_len: u16,
    /// Packet flags.
    #[br(map = PacketFlags)]
    #[bw(map = |flags: &PacketFlags| flags.0)]
    pub flags: PacketFlags,
    /// CRC-32 of the packet (§4.4), 0 when `HAS_CRC` is clear.
    pub crc32: u32,
    /// Trace UUID, the same in every packet.
    pub trace_uuid: [u8; 16],
    /// Stream class ID; 0 in metadata packets.
    pub stream_class_id: u32,
    /// Stream instance ID (CPU); 0 in metadata packets.
    pub stream_instance_id: u32,
    /// Packet sequence number within its stream.
    pub sequence: u64,
    /// Clock value at or before the first record.
    pub timestamp_begin: u64,
    /// Clock value at or after the last record.
    pub timestamp_end: u64,
    /// Header plus records, in bytes.
    pub content_size: u32,
    /// Header plus records plus padding, in bytes.
    pub packet_size: u32,
    /// Cumulative per-stream discarded event count when the packet closed (§10.1).
    pub events_discarded: u64,
}

/// Why a packet header cannot be used. Each variant names the rule it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// Fewer bytes than a header.
    #[error("packet header truncated: {available} of {PACKET_HEADER_LEN} bytes (§4.1)")]
    Truncated {
        /// Bytes available.
        available: usize,
    },
    /// The first four bytes are not the magic in either byte order.
    #[error("bad magic {found:02x?}, expected \"TRMK\" or \"KMRT\" (§2.2)")]
    BadMagic {
        /// The bytes found.
        found: [u8; 4],
    },
    /// A major version this reader does not implement.
    #[error("unsupported format major version {found}; this reader supports {VERSION_MAJOR} (§11.3): upgrade tracemark to read it")]
    UnsupportedMajor {
        /// The major version found.
        found: u8,
    },
    /// `header_len` below 80 or not a multiple of 8.
    #[error("header length {header_len} is not a multiple of 8 of at least 80 (§4.2)")]
    HeaderLength {
        /// The header length found.
        header_len: u16,
    },
    /// `packet_size` below `header_len` or not a multiple of 8.
    #[error(
        "packet size {packet_size} is not a multiple of 8 of at least the header length {header_len} (§4.2)"
    )]
    PacketSize {
        /// The packet size found.
        packet_size: u32,
        /// The header length found.
        header_len: u16,
    },
    /// `content_size` outside `[header_len, packet_size]`.
    #[error("content size {content_size} outside [{header_len}, {packet_size}] (§4.2)")]
    ContentSize {
        /// The content size found.
        content_size: u32,
        /// The header length found.
        header_len: u16,
        /// The packet size found.
        packet_size: u32,
    },
    /// An incompatible flag bit this version does not define.
    #[error("unknown incompatible flags {flags:#06x} (§4.3)")]
    IncompatibleFlags {
        /// The unknown bits.
        flags: u32,
    },
}

impl HeaderError {
    /// The specification section the error cites.
    pub fn section(&self) -> &'static str {
        match self {
            HeaderError::Truncated { .. } => "4.1",
            HeaderError::BadMagic { .. } => "2.2",
            HeaderError::UnsupportedMajor { .. } => "11.3",
            HeaderError::HeaderLength { .. }
            | HeaderError::PacketSize { .. }
            | HeaderError::ContentSize { .. } => "4.2",
            HeaderError::IncompatibleFlags { .. } => "4.3",
        }
    }
}

impl PacketHeader {
    /// A data packet header for stream (`stream_class_id`, `stream_instance_id`), with
    /// sizes and timestamps still to be filled in.
    pub const fn new_data(trace_uuid: [u8; 16], stream_class_id: u32, stream_instance_id: u32) -> Self {
        PacketHeader {
            version_major: VERSION_MAJOR,
            version_minor: VERSION_MINOR,
            header_len: PACKET_HEADER_LEN as u16,
            flags: PacketFlags(0),
            crc32: 0,
            trace_uuid,
            stream_class_id,
            stream_instance_id,
            sequence: 0,
            timestamp_begin: 0,
            timestamp_end: 0,
            content_size: PACKET_HEADER_LEN as u32,
            packet_size: PACKET_HEADER_LEN as u32,
            events_discarded: 0,
        }
    }

    /// A metadata packet header.
    pub const fn new_metadata(trace_uuid: [u8; 16]) -> Self {
        let mut header = Self::new_data(trace_uuid, 0, 0);
        header.flags = PacketFlags(PacketFlags::METADATA);
        header
    }

    /// The byte order a packet starting with `bytes` is written in, from its magic (§2.2).
    pub fn detect_byte_order(bytes: &[u8]) -> Result<ByteOrder, HeaderError> {
        let found = *bytes.first_chunk::<4>().ok_or(HeaderError::Truncated { available: bytes.len() })?;
        if u32::from_le_bytes(found) == MAGIC {
            Ok(ByteOrder::Little)
        } else if u32::from_be_bytes(found) == MAGIC {
            Ok(ByteOrder::Big)
        } else {
            Err(HeaderError::BadMagic { found })
        }
    }

    /// Decodes and validates the header at the start of `bytes` (§4.1–§4.3, §11.3).
    pub fn decode(bytes: &[u8]) -> Result<(PacketHeader, ByteOrder), HeaderError> {
        let order = Self::detect_byte_order(bytes)?;
        let fixed =
            bytes.get(..PACKET_HEADER_LEN).ok_or(HeaderError::Truncated { available: bytes.len() })?;
        let header = PacketHeader::read_options(&mut Cursor::new(fixed), order.binrw(), ())
            .map_err(|_| HeaderError::Truncated { available: bytes.len() })?;
        header.validate()?;
        Ok((header, order))
    }

    /// Checks the structural rules a reader needs before it can use the header.
    pub fn validate(&self) -> Result<(), HeaderError> {
        if self.version_major != VERSION_MAJOR {
            return Err(HeaderError::UnsupportedMajor { found: self.version_major });
        }
        let header_len = self.header_len;
        if (header_len as usize) < PACKET_HEADER_LEN || !(header_len as usize).is_multiple_of(PACKET_ALIGN) {
            return Err(HeaderError::HeaderLength { header_len });
        }
        if self.packet_size < header_len as u32 || !(self.packet_size as usize).is_multiple_of(PACKET_ALIGN) {
            return Err(HeaderError::PacketSize { packet_size: self.packet_size, header_len });
        }
        if self.content_size < header_len as u32 || self.content_size > self.packet_size {
            return Err(HeaderError::ContentSize {
                content_size: self.content_size,
                header_len,
                packet_size: self.packet_size,
            });
        }
        let unknown = self.flags.unknown_incompatible();
        if unknown != 0 {
            return Err(HeaderError::IncompatibleFlags { flags: unknown });
        }
        Ok(())
    }

    /// Encodes the header into its 80 bytes.
    pub fn encode(&self, order: ByteOrder, out: &mut [u8; PACKET_HEADER_LEN]) {
        let mut cursor = Cursor::new(&mut out[..]);
        // The layout is fixed at 80 bytes, so writing into exactly 80 bytes cannot fail.
        let written = self.write_options(&mut cursor, order.binrw(), ());
        debug_assert!(written.is_ok() && cursor.position() == PACKET_HEADER_LEN as u64);
    }

    /// The name of the first field (in wire order, §4.1) whose value differs between `self`
    /// and `other`, if any: what a diagnostic says of a header that is not the one expected.
    pub fn first_difference(&self, other: &PacketHeader) -> Option<&'static str> {
        let fields: [(&'static str, bool); 14] = [
            ("version_major", self.version_major == other.version_major),
            ("version_minor", self.version_minor == other.version_minor),
            ("header_len", self.header_len == other.header_len),
            ("flags", self.flags == other.flags),
            ("crc32", self.crc32 == other.crc32),
            ("trace_uuid", self.trace_uuid == other.trace_uuid),
            ("stream_class_id", self.stream_class_id == other.stream_class_id),
            ("stream_instance_id", self.stream_instance_id == other.stream_instance_id),
            ("sequence", self.sequence == other.sequence),
            ("timestamp_begin", self.timestamp_begin == other.timestamp_begin),
            ("timestamp_end", self.timestamp_end == other.timestamp_end),
            ("content_size", self.content_size == other.content_size),
            ("packet_size", self.packet_size == other.packet_size),
            ("events_discarded", self.events_discarded == other.events_discarded),
        ];
        fields.into_iter().find(|(_, same)| !same).map(|(name, _)| name)
    }

    /// Whether this is a metadata packet.
    pub const fn is_metadata(&self) -> bool {
        self.flags.is_metadata()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PacketHeader {
        PacketHeader {
            flags: PacketFlags(PacketFlags::HAS_CRC),
            crc32: 0xDEAD_BEEF,
            sequence: 9,
            timestamp_begin: 100,
            timestamp_end: 200,
            content_size: 120,
            packet_size: 4096,
            events_discarded: 3,
            ..PacketHeader::new_data([0xAB; 16], 2, 5)
        }
    }

    #[test]
    fn header_round_trips_in_both_orders_with_spec_offsets() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let mut bytes = [0u8; PACKET_HEADER_LEN];
            sample().encode(order, &mut bytes);
            assert_eq!(order.read_u32(&bytes[0..]), Some(MAGIC));
            assert_eq!(order.read_u64(&bytes[40..]), Some(9));
            assert_eq!(order.read_u32(&bytes[CONTENT_SIZE_OFFSET..]), Some(120));
            assert_eq!(order.read_u64(&bytes[72..]), Some(3));
            assert_eq!(PacketHeader::decode(&bytes), Ok((sample(), order)));
        }
        let mut le = [0u8; PACKET_HEADER_LEN];
        sample().encode(ByteOrder::Little, &mut le);
        assert_eq!(&le[..4], b"TRMK");
    }

    #[test]
    fn structural_errors_are_typed() {
        let encode = |header: PacketHeader| {
            let mut bytes = [0u8; PACKET_HEADER_LEN];
            header.encode(ByteOrder::Little, &mut bytes);
            bytes
        };
        let decode = |header: PacketHeader| PacketHeader::decode(&encode(header)).map(|_| ());
        assert_eq!(
            decode(PacketHeader { version_major: 2, ..sample() }),
            Err(HeaderError::UnsupportedMajor { found: 2 })
        );
        assert!(matches!(
            decode(PacketHeader { header_len: 84, ..sample() }),
            Err(HeaderError::HeaderLength { .. })
        ));
        assert!(matches!(
            decode(PacketHeader { packet_size: 4097, ..sample() }),
            Err(HeaderError::PacketSize { .. })
        ));
        assert!(matches!(
            decode(PacketHeader { content_size: 5000, ..sample() }),
            Err(HeaderError::ContentSize { .. })
        ));
        assert_eq!(
            decode(PacketHeader { flags: PacketFlags(1 << 5), ..sample() }),
            Err(HeaderError::IncompatibleFlags { flags: 1 << 5 })
        );
        assert_eq!(decode(PacketHeader { flags: PacketFlags(1 << 20), ..sample() }), Ok(()));
        let bytes = encode(sample());
        assert_eq!(PacketHeader::decode(&bytes[..40]), Err(HeaderError::Truncated { available: 40 }));
        assert_eq!(
            PacketHeader::decode(b"ELF\x7f and more"),
            Err(HeaderError::BadMagic { found: *b"ELF\x7f" })
        );
    }
}
