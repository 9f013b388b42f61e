//! Packet compression (§15): the descriptor that starts a compressed packet's content, and the
//! bounds a reader checks before it decompresses anything. The codecs themselves live with the
//! reader and the writer.
//!
//! ```
//! use tracemark_format::compress::{Codec, Descriptor, DESCRIPTOR_LEN};
//! use tracemark_format::ByteOrder;
//!
//! let mut content = vec![0u8; DESCRIPTOR_LEN];
//! Descriptor { codec: Codec::Zstd, records_size: 4000 }.encode(ByteOrder::Big, &mut content[..DESCRIPTOR_LEN]);
//! content.extend_from_slice(&[7; 100]); // 100 compressed bytes
//! let (descriptor, compressed) = Descriptor::decode(&content, ByteOrder::Big, 80).unwrap();
//! assert_eq!((descriptor.codec, descriptor.records_size, compressed.len()), (Codec::Zstd, 4000, 100));
//! ```

use alloc::string::String;

use crate::ByteOrder;

/// Bytes of the descriptor before the compressed records (§15.1).
pub const DESCRIPTOR_LEN: usize = 8;

/// How many times its compressed size a packet's records may be (§15.2).
pub const MAX_RATIO: u64 = 64;

/// How a packet's records are compressed (§15.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// One zstd frame (RFC 8878): the smaller trace.
    Zstd,
    /// One LZ4 block, without a frame: the faster read.
    Lz4,
}

impl Codec {
    /// The `codec` byte.
    pub const fn code(self) -> u8 {
        match self {
            Codec::Zstd => 1,
            Codec::Lz4 => 2,
        }
    }

    /// The codec of `code`, if this version knows it.
    pub const fn from_code(code: u8) -> Option<Codec> {
        match code {
            1 => Some(Codec::Zstd),
            2 => Some(Codec::Lz4),
            _ => None,
        }
    }

    /// Its name, as tools spell it: `zstd`, `lz4`.
    pub const fn name(self) -> &'static str {
        match self {
            Codec::Zstd => "zstd",
            Codec::Lz4 => "lz4",
        }
    }
}

/// The descriptor of a compressed packet's records (§15.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Descriptor {
    /// How the records are compressed.
    pub codec: Codec,
    /// Bytes of the records once decompressed.
    pub records_size: u32,
}

/// Why a compressed packet's records cannot be read (§15.2). Each variant names its rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompressionError {
    /// The content is shorter than the descriptor.
    #[error("compressed content of {available} bytes, shorter than its 8-byte descriptor (§15.1)")]
    Truncated {
        /// Bytes of content.
        available: usize,
    },
    /// A codec this version does not know.
    #[error("unknown compression codec {0} (§15.3)")]
    UnknownCodec(u8),
    /// `records_size` beyond the bounds.
    #[error("records_size {records_size} for {compressed} compressed bytes: more than 64 times, or past 4 GiB with the header (§15.2)")]
    TooLarge {
        /// `records_size`.
        records_size: u32,
        /// Bytes of compressed records.
        compressed: u64,
    },
    /// The codec refused the bytes, or they decompress to more than `records_size`.
    #[error("the records do not decompress ({0}) (§15.2)")]
    Corrupt(String),
    /// The records decompress to fewer bytes than `records_size` says.
    #[error("the records decompress to {found} bytes where records_size says {expected} (§15.2)")]
    SizeMismatch {
        /// `records_size`.
        expected: u32,
        /// Bytes decompressed.
        found: usize,
    },
    /// A metadata packet with the `COMPRESSED` flag.
    #[error("a compressed metadata packet (§15.1)")]
    Metadata,
}

impl CompressionError {
    /// The section of the rule broken, e.g. `"15.2"`.
    pub fn section(&self) -> &'static str {
        match self {
            CompressionError::Truncated { .. } | CompressionError::Metadata => "15.1",
            CompressionError::UnknownCodec(_) => "15.3",
            _ => "15.2",
        }
    }
}

impl Descriptor {
    /// The descriptor at the start of `content` (a compressed packet's `[header_len,
    /// content_size)`, in byte order `order`, its header `header_len` bytes long) and the
    /// compressed records after it, the bounds of §15.2 checked.
    pub fn decode(
        content: &[u8],
        order: ByteOrder,
        header_len: u16,
    ) -> Result<(Descriptor, &[u8]), CompressionError> {
        let truncated = CompressionError::Truncated { available: content.len() };
        let (fixed, compressed) = content.split_at_checked(DESCRIPTOR_LEN).ok_or(truncated)?;
        let code = fixed.first().copied().unwrap_or(0);
        let codec = Codec::from_code(code).ok_or(CompressionError::UnknownCodec(code))?;
        let records_size = order.read_u32(fixed.get(4..8).unwrap_or(&[])).unwrap_or(0);
        let compressed_len = compressed.len() as u64;
        let within_ratio = u64::from(records_size) <= compressed_len.saturating_mul(MAX_RATIO);
        let within_u32 = u64::from(records_size) + u64::from(header_len) <= u64::from(u32::MAX);
        if !within_ratio || !within_u32 {
            return Err(CompressionError::TooLarge { records_size, compressed: compressed_len });
        }
        Ok((Descriptor { codec, records_size }, compressed))
    }

    /// Writes the descriptor into the first 8 bytes of `out`, in byte order `order`.
    pub fn encode(&self, order: ByteOrder, out: &mut [u8]) {
        if let Some(fixed) = out.get_mut(..DESCRIPTOR_LEN) {
            fixed.fill(0);
            fixed[0] = self.codec.code();
            fixed[4..8].copy_from_slice(&order.u32_bytes(self.records_size));
        }
    }

    /// Whether records of `records_size` bytes may be stored as `compressed_len` compressed
    /// bytes under a header of `header_len` (§15.2): what a writer asks before it keeps a
    /// packet compressed.
    pub fn fits(records_size: usize, compressed_len: usize, header_len: u16) -> bool {
        let (records, compressed) = (records_size as u64, compressed_len as u64);
        records <= compressed.saturating_mul(MAX_RATIO)
            && records + u64::from(header_len) <= u64::from(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(code: u8, records_size: u32, compressed: usize) -> alloc::vec::Vec<u8> {
        let mut bytes = alloc::vec![code, 0, 0, 0];
        bytes.extend_from_slice(&records_size.to_le_bytes());
        bytes.resize(DESCRIPTOR_LEN + compressed, 0xAB);
        bytes
    }

    #[test]
    fn a_descriptor_round_trips_in_both_byte_orders() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            for codec in [Codec::Zstd, Codec::Lz4] {
                let descriptor = Descriptor { codec, records_size: 6400 };
                let mut bytes = alloc::vec![0xFF; DESCRIPTOR_LEN + 100];
                descriptor.encode(order, &mut bytes);
                assert_eq!(&bytes[1..4], [0, 0, 0]);
                let (decoded, rest) = Descriptor::decode(&bytes, order, 80).unwrap();
                assert_eq!((decoded, rest.len()), (descriptor, 100));
                assert_eq!(Codec::from_code(codec.code()), Some(codec));
            }
        }
    }

    #[test]
    fn the_bounds_are_checked_before_anything_is_decompressed() {
        // 64 times the compressed bytes is the most.
        assert!(Descriptor::decode(&content(1, 6400, 100), ByteOrder::Little, 80).is_ok());
        assert_eq!(
            Descriptor::decode(&content(1, 6401, 100), ByteOrder::Little, 80),
            Err(CompressionError::TooLarge { records_size: 6401, compressed: 100 })
        );
        // A few bytes claiming 4 GiB.
        assert!(matches!(
            Descriptor::decode(&content(2, u32::MAX, 3), ByteOrder::Little, 80),
            Err(CompressionError::TooLarge { .. })
        ));
        // Past 4 GiB with the header, whatever the ratio.
        let big = content(1, u32::MAX - 40, 1 << 26);
        assert!(matches!(
            Descriptor::decode(&big, ByteOrder::Little, 80),
            Err(CompressionError::TooLarge { .. })
        ));
        assert_eq!(
            Descriptor::decode(&content(3, 10, 10), ByteOrder::Little, 80),
            Err(CompressionError::UnknownCodec(3))
        );
        assert_eq!(
            Descriptor::decode(&[1, 0, 0], ByteOrder::Little, 80),
            Err(CompressionError::Truncated { available: 3 })
        );
        assert!(Descriptor::fits(6400, 100, 80) && !Descriptor::fits(6401, 100, 80));
    }
}
