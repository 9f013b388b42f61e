//! The progress file of a directory trace (§9.5): how many events the writer has written into
//! each stream so far, kept beside the trace in memory shared with the file, so that after a
//! writer dies (a signal, an abort) a reader can count what was written but never delivered.
//!
//! ```
//! use tracemark_format::progress::{Progress, ProgressHeader, HEADER_LEN, RECORD_LEN};
//! use tracemark_format::ByteOrder;
//!
//! let header = ProgressHeader::new([7; 16], 0);
//! let mut file = header.encode(ByteOrder::Big).to_vec();
//! file.resize(HEADER_LEN + 2 * RECORD_LEN, 0);
//! file[HEADER_LEN + RECORD_LEN..][..8].copy_from_slice(&41u64.to_be_bytes());
//! let progress = Progress::parse(&file).unwrap();
//! assert_eq!((progress.header, progress.order), (header, ByteOrder::Big));
//! assert_eq!(progress.events_written().collect::<Vec<_>>(), [(0, 0), (1, 41)]);
//! ```

use crate::ByteOrder;

/// The file's name in the trace directory.
pub const FILE_NAME: &str = "progress";

/// The first four bytes: "TMKP" in a little-endian file, "PKMT" in a big-endian one.
pub const MAGIC: u32 = 0x504B_4D54;

/// The version this crate writes and reads.
pub const VERSION: u16 = 1;

/// Bytes of the header.
pub const HEADER_LEN: usize = 64;

/// Bytes per stream record in version 1: a cache line, so that writers of different streams
/// never write the same line.
pub const RECORD_LEN: usize = 64;

/// The header (§9.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressHeader {
    /// Bytes per stream record: a multiple of 8, at least 8.
    pub record_len: u16,
    /// The stream class whose instances the records count, record `i` instance `i`.
    pub stream_class_id: u32,
    /// The trace's UUID (§4.1): a file of another trace is not used.
    pub trace_uuid: [u8; 16],
}

/// Why a progress file cannot be used (§9.5). Each names the offset of the value at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProgressError {
    /// Fewer bytes than the header.
    #[error("progress file of {len} bytes is shorter than its {HEADER_LEN}-byte header (§9.5)")]
    Truncated {
        /// The file's length.
        len: usize,
    },
    /// The first four bytes are not the magic in either byte order.
    #[error("bad progress magic {found:02x?}, expected \"TMKP\" or \"PKMT\" (§9.5)")]
    BadMagic {
        /// The bytes found.
        found: [u8; 4],
    },
    /// A version this reader does not know.
    #[error("progress file version {found}; this reader knows version {VERSION} (§9.5)")]
    UnsupportedVersion {
        /// The version found.
        found: u16,
    },
    /// A record length that is not a multiple of 8 of at least 8.
    #[error("progress record length {found} is not a multiple of 8 of at least 8 (§9.5)")]
    RecordLength {
        /// The length found.
        found: u16,
    },
}

impl ProgressError {
    /// Offset in the file of the value at fault (§10.7).
    pub fn offset(&self) -> u64 {
        match self {
            ProgressError::Truncated { .. } | ProgressError::BadMagic { .. } => 0,
            ProgressError::UnsupportedVersion { .. } => 4,
            ProgressError::RecordLength { .. } => 6,
        }
    }
}

impl ProgressHeader {
    /// The header a writer of this crate's version writes.
    pub const fn new(trace_uuid: [u8; 16], stream_class_id: u32) -> ProgressHeader {
        ProgressHeader { record_len: RECORD_LEN as u16, stream_class_id, trace_uuid }
    }

    /// The header's bytes in `order`; reserved bytes zero.
    pub fn encode(&self, order: ByteOrder) -> [u8; HEADER_LEN] {
        let mut bytes = [0u8; HEADER_LEN];
        bytes[0..4].copy_from_slice(&order.u32_bytes(MAGIC));
        bytes[4..6].copy_from_slice(&order.u16_bytes(VERSION));
        bytes[6..8].copy_from_slice(&order.u16_bytes(self.record_len));
        bytes[8..12].copy_from_slice(&order.u32_bytes(self.stream_class_id));
        bytes[16..32].copy_from_slice(&self.trace_uuid);
        bytes
    }
}

/// A progress file, checked: its header, byte order, and records.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The header.
    pub header: ProgressHeader,
    /// The file's byte order, from its magic.
    pub order: ByteOrder,
    /// The whole records after the header (a trailing partial record, a file being extended
    /// when its writer died, is left out).
    records: &'a [u8],
}

impl<'a> Progress<'a> {
    /// Parses the file's bytes. Flags and reserved bytes are ignored (§11.4).
    pub fn parse(bytes: &'a [u8]) -> Result<Progress<'a>, ProgressError> {
        let header = bytes.get(..HEADER_LEN).ok_or(ProgressError::Truncated { len: bytes.len() })?;
        let found = [header[0], header[1], header[2], header[3]];
        let order = if u32::from_le_bytes(found) == MAGIC {
            ByteOrder::Little
        } else if u32::from_be_bytes(found) == MAGIC {
            ByteOrder::Big
        } else {
            return Err(ProgressError::BadMagic { found });
        };
        let u16_at = |at: usize| order.read_u16(&header[at..]).unwrap_or(0);
        let version = u16_at(4);
        if version != VERSION {
            return Err(ProgressError::UnsupportedVersion { found: version });
        }
        let record_len = u16_at(6);
        if record_len < 8 || record_len % 8 != 0 {
            return Err(ProgressError::RecordLength { found: record_len });
        }
        let stream_class_id = order.read_u32(&header[8..]).unwrap_or(0);
        let mut trace_uuid = [0u8; 16];
        trace_uuid.copy_from_slice(&header[16..32]);
        let body = &bytes[HEADER_LEN..];
        let whole = body.len() - body.len() % usize::from(record_len);
        Ok(Progress {
            header: ProgressHeader { record_len, stream_class_id, trace_uuid },
            order,
            records: &body[..whole],
        })
    }

    /// Stream records in the file.
    pub fn streams(&self) -> usize {
        self.records.len() / usize::from(self.header.record_len)
    }

    /// Each stream instance with the events written into it, in instance order.
    pub fn events_written(&self) -> impl Iterator<Item = (u32, u64)> + 'a {
        let order = self.order;
        (0u32..)
            .zip(self.records.chunks_exact(usize::from(self.header.record_len)))
            .map(move |(instance, record)| (instance, order.read_u64(record).unwrap_or(0)))
    }

    /// Offset in the file of stream instance `instance`'s record.
    pub fn record_offset(&self, instance: u32) -> u64 {
        HEADER_LEN as u64 + u64::from(instance) * u64::from(self.header.record_len)
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::*;

    fn file(order: ByteOrder, counts: &[u64]) -> Vec<u8> {
        let mut bytes = ProgressHeader::new([3; 16], 2).encode(order).to_vec();
        for count in counts {
            let mut record = [0u8; RECORD_LEN];
            record[..8].copy_from_slice(&order.u64_bytes(*count));
            bytes.extend_from_slice(&record);
        }
        bytes
    }

    #[test]
    fn both_byte_orders_read_back() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let bytes = file(order, &[5, 0, u64::MAX]);
            let progress = Progress::parse(&bytes).unwrap();
            assert_eq!(progress.order, order);
            assert_eq!(progress.header, ProgressHeader::new([3; 16], 2));
            assert_eq!(progress.events_written().collect::<Vec<_>>(), [(0, 5), (1, 0), (2, u64::MAX)]);
            assert_eq!(progress.record_offset(2), 192);
        }
        assert_eq!(&file(ByteOrder::Little, &[])[..4], b"TMKP");
        assert_eq!(&file(ByteOrder::Big, &[])[..4], b"PKMT");
    }

    #[test]
    fn a_partial_record_is_left_out() {
        let mut bytes = file(ByteOrder::Little, &[7, 8]);
        bytes.truncate(bytes.len() - 1);
        let progress = Progress::parse(&bytes).unwrap();
        assert_eq!(progress.streams(), 1);
        assert_eq!(progress.events_written().collect::<Vec<_>>(), [(0, 7)]);
    }

    #[test]
    fn bad_headers_are_refused_at_their_offset() {
        let good = file(ByteOrder::Little, &[1]);
        assert_eq!(Progress::parse(&good[..63]).unwrap_err(), ProgressError::Truncated { len: 63 });
        let mut bad = good.clone();
        bad[0] = b'X';
        assert_eq!(Progress::parse(&bad).unwrap_err().offset(), 0);
        let mut bad = good.clone();
        bad[4] = 2;
        assert_eq!(Progress::parse(&bad).unwrap_err(), ProgressError::UnsupportedVersion { found: 2 });
        for record_len in [0u16, 4, 12] {
            let mut bad = good.clone();
            bad[6..8].copy_from_slice(&record_len.to_le_bytes());
            let error = Progress::parse(&bad).unwrap_err();
            assert_eq!((error, error.offset()), (ProgressError::RecordLength { found: record_len }, 6));
        }
        // A record length larger than the file: no whole record, not an error.
        let mut long = good;
        long[6..8].copy_from_slice(&0xfff8u16.to_le_bytes());
        assert_eq!(Progress::parse(&long).unwrap().streams(), 0);
    }
}
