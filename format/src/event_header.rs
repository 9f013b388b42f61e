//! The event record header (§5): the wide and narrow header words, their compact and extended
//! forms, and timestamp reconstruction.

use crate::{ByteOrder, PacketFlags};

/// Length of the wide word's compact form: one `u64` header word (§5.2).
pub const COMPACT_HEADER_LEN: usize = 8;
/// Length of the wide word's extended form: header word, `u32` ID, `u64` timestamp (§5.3),
/// the longest record header of either word.
pub const EXTENDED_HEADER_LEN: usize = 20;
/// Event class IDs at or above this need the wide word's extended form (§5.4).
pub const COMPACT_ID_LIMIT: u32 = 0xFFFF;
/// Bits of timestamp the wide word's compact form carries.
pub const TIMESTAMP_LOW_BITS: u32 = 48;
/// Mask of the wide word's compact timestamp bits.
pub const TIMESTAMP_LOW_MASK: u64 = (1 << TIMESTAMP_LOW_BITS) - 1;
/// The minor version a packet with narrow header words carries (§11.1).
pub const NARROW_HEADERS_VERSION_MINOR: u8 = 3;

/// The header word of a packet's records (§5.1): the packet's `NARROW_HEADERS` flag (§4.3)
/// says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HeaderWord {
    /// A `u64`: 16-bit class ID and 48 bits of timestamp; compact form 8 bytes, extended 20.
    #[default]
    Wide,
    /// A `u32` (since 1.3): 8-bit class ID and 24 bits of timestamp; compact form 4 bytes,
    /// extended 16.
    Narrow,
}

impl HeaderWord {
    /// The word of the records of a packet with these flags.
    #[inline(always)]
    pub const fn of(flags: PacketFlags) -> HeaderWord {
        if flags.has_narrow_headers() {
            HeaderWord::Narrow
        } else {
            HeaderWord::Wide
        }
    }

    /// The minor version a data packet of this word's records carries (§11.1): the oldest
    /// that can read it.
    pub const fn version_minor(self) -> u8 {
        match self {
            HeaderWord::Wide => crate::VERSION_MINOR,
            HeaderWord::Narrow => NARROW_HEADERS_VERSION_MINOR,
        }
    }

    /// The packet flag bits that select this word.
    pub const fn flag(self) -> u32 {
        match self {
            HeaderWord::Wide => 0,
            HeaderWord::Narrow => PacketFlags::NARROW_HEADERS,
        }
    }

    /// Bytes of the word, which is the whole compact form (§5.2).
    #[inline(always)]
    pub const fn compact_len(self) -> usize {
        match self {
            HeaderWord::Wide => 8,
            HeaderWord::Narrow => 4,
        }
    }

    /// Bytes of the extended form: the word, a `u32` ID and a `u64` timestamp (§5.3).
    #[inline(always)]
    pub const fn extended_len(self) -> usize {
        self.compact_len() + 12
    }

    /// Bits of timestamp in the compact form (`B`, §5.1).
    #[inline(always)]
    pub const fn timestamp_bits(self) -> u32 {
        match self {
            HeaderWord::Wide => TIMESTAMP_LOW_BITS,
            HeaderWord::Narrow => 24,
        }
    }

    /// Mask of the compact form's timestamp bits.
    #[inline(always)]
    pub const fn timestamp_mask(self) -> u64 {
        (1 << self.timestamp_bits()) - 1
    }

    /// The escape ID (`E`, §5.1): the ID field's all-ones value, which selects the extended
    /// form; class IDs from it up need that form.
    #[inline(always)]
    pub const fn escape_id(self) -> u32 {
        match self {
            HeaderWord::Wide => COMPACT_ID_LIMIT,
            HeaderWord::Narrow => 0xFF,
        }
    }

    /// Whether the writer rule (§5.4) requires the extended form for this record.
    #[inline(always)]
    pub const fn needs_extended(self, id: u32, timestamp: u64, previous: u64) -> bool {
        id >= self.escape_id()
            || timestamp.wrapping_sub(previous) > self.timestamp_mask()
            || timestamp < previous
    }

    /// Encoded size of the header for this record (§5.4).
    #[inline(always)]
    pub const fn encoded_len(self, id: u32, timestamp: u64, previous: u64) -> usize {
        if self.needs_extended(id, timestamp, previous) {
            self.extended_len()
        } else {
            self.compact_len()
        }
    }

    /// Writes the header for a record with `id` at `timestamp`, the previous record (or the
    /// packet begin) being at `previous`; returns the bytes written, or `None` if `out` is short.
    #[inline(always)]
    pub fn encode(
        self,
        id: u32,
        timestamp: u64,
        previous: u64,
        order: ByteOrder,
        out: &mut [u8],
    ) -> Option<usize> {
        // One arm per word, each fixed-size stores only: writers call this on their hot path.
        let extended = self.needs_extended(id, timestamp, previous);
        let compact_word = (u64::from(id) << self.timestamp_bits()) | (timestamp & self.timestamp_mask());
        let escape_word = u64::from(self.escape_id()) << self.timestamp_bits();
        match (self, extended) {
            (HeaderWord::Wide, false) => {
                out.get_mut(..8)?.copy_from_slice(&order.u64_bytes(compact_word));
                Some(8)
            }
            (HeaderWord::Wide, true) => {
                let out = out.get_mut(..20)?;
                out[..8].copy_from_slice(&order.u64_bytes(escape_word));
                out[8..12].copy_from_slice(&order.u32_bytes(id));
                out[12..20].copy_from_slice(&order.u64_bytes(timestamp));
                Some(20)
            }
            // The narrow word's ID and timestamp bits are 32 in all.
            (HeaderWord::Narrow, false) => {
                out.get_mut(..4)?.copy_from_slice(&order.u32_bytes(compact_word as u32));
                Some(4)
            }
            (HeaderWord::Narrow, true) => {
                let out = out.get_mut(..16)?;
                out[..4].copy_from_slice(&order.u32_bytes(escape_word as u32));
                out[4..8].copy_from_slice(&order.u32_bytes(id));
                out[8..16].copy_from_slice(&order.u64_bytes(timestamp));
                Some(16)
            }
        }
    }

    /// Decodes the header at the start of `bytes`, returning it and its length.
    #[inline(always)]
    pub fn decode(self, bytes: &[u8], order: ByteOrder) -> Result<(EventHeader, usize), EventHeaderError> {
        let word = match self {
            HeaderWord::Wide => order.read_u64(bytes),
            HeaderWord::Narrow => order.read_u32(bytes).map(u64::from),
        }
        .ok_or(EventHeaderError::Truncated)?;
        let id = (word >> self.timestamp_bits()) as u32;
        if id != self.escape_id() {
            let timestamp_low = word & self.timestamp_mask();
            // The ID fits: it is below the escape, itself at most 16 bits.
            return Ok((
                EventHeader::Compact { word: self, id: id as u16, timestamp_low },
                self.compact_len(),
            ));
        }
        if word & self.timestamp_mask() != 0 {
            return Err(EventHeaderError::NonZeroEscapeBits);
        }
        let rest = bytes.get(self.compact_len()..self.extended_len()).ok_or(EventHeaderError::Truncated)?;
        let id = order.read_u32(rest).ok_or(EventHeaderError::Truncated)?;
        let timestamp = order.read_u64(&rest[4..]).ok_or(EventHeaderError::Truncated)?;
        Ok((EventHeader::Extended { id, timestamp }, self.extended_len()))
    }
}

/// A decoded event header, before timestamp reconstruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventHeader {
    /// Compact form: the class ID and the timestamp's low bits.
    Compact {
        /// The header word it was read from, which says how many bits `timestamp_low` has.
        word: HeaderWord,
        /// Event class ID.
        id: u16,
        /// Low bits of the timestamp.
        timestamp_low: u64,
    },
    /// Extended form: 32-bit ID and full timestamp.
    Extended {
        /// Event class ID.
        id: u32,
        /// Full timestamp.
        timestamp: u64,
    },
}

/// Why an event header cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventHeaderError {
    /// Fewer bytes left in the packet content than the header needs.
    Truncated,
    /// An extended header whose word carries non-zero timestamp bits (§5.3).
    NonZeroEscapeBits,
}

impl EventHeader {
    /// The event class ID.
    pub const fn id(&self) -> u32 {
        match *self {
            EventHeader::Compact { id, .. } => id as u32,
            EventHeader::Extended { id, .. } => id,
        }
    }

    /// The full timestamp, reconstructed from `previous` as §5.5 says. `Err` carries the
    /// timestamp decoded when it breaks non-decreasing order (§1.7), which a reader reports.
    #[inline(always)]
    pub const fn timestamp(&self, previous: u64) -> Result<u64, u64> {
        match *self {
            EventHeader::Compact { word, timestamp_low, .. } => {
                let candidate = (previous & !word.timestamp_mask()) | timestamp_low;
                if candidate >= previous {
                    Ok(candidate)
                } else {
                    match candidate.checked_add(1 << word.timestamp_bits()) {
                        Some(timestamp) => Ok(timestamp),
                        None => Err(candidate),
                    }
                }
            }
            EventHeader::Extended { timestamp, .. } => {
                if timestamp >= previous {
                    Ok(timestamp)
                } else {
                    Err(timestamp)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORDS: [HeaderWord; 2] = [HeaderWord::Wide, HeaderWord::Narrow];

    fn round_trip(
        word: HeaderWord,
        id: u32,
        timestamp: u64,
        previous: u64,
        order: ByteOrder,
    ) -> (EventHeader, usize, u64) {
        let mut buf = [0u8; 32];
        let written = word.encode(id, timestamp, previous, order, &mut buf).unwrap();
        assert_eq!(written, word.encoded_len(id, timestamp, previous));
        let (header, read) = word.decode(&buf, order).unwrap();
        assert_eq!(read, written);
        assert_eq!(header.id(), id);
        (header, read, header.timestamp(previous).unwrap())
    }

    #[test]
    fn compact_and_extended_forms_follow_the_writer_rule() {
        for word in WORDS {
            let (compact, extended) = (word.compact_len(), word.extended_len());
            let (escape, mask) = (word.escape_id(), word.timestamp_mask());
            for order in [ByteOrder::Little, ByteOrder::Big] {
                assert_eq!(round_trip(word, 7, 1000, 10, order).1, compact);
                assert_eq!(round_trip(word, escape - 1, 1000, 10, order).1, compact);
                assert_eq!(round_trip(word, escape, 1000, 10, order).1, extended);
                assert_eq!(round_trip(word, 70_000, 1000, 10, order).1, extended);
                // A gap of exactly 2^B - 1 still fits; 2^B does not.
                assert_eq!(round_trip(word, 1, 5 + mask, 5, order).1, compact);
                assert_eq!(round_trip(word, 1, 6 + mask, 5, order).1, extended);
            }
        }
        assert_eq!((HeaderWord::Wide.compact_len(), HeaderWord::Wide.extended_len()), (8, 20));
        assert_eq!((HeaderWord::Narrow.compact_len(), HeaderWord::Narrow.extended_len()), (4, 16));
        assert_eq!(HeaderWord::Narrow.timestamp_mask(), 0xFF_FFFF);
    }

    #[test]
    fn the_words_are_laid_out_as_section_5_says() {
        let mut buf = [0u8; 20];
        assert_eq!(
            HeaderWord::Narrow.encode(0x12, 0x0A_BCDE_F012, 0x0A_BC00_0000, ByteOrder::Big, &mut buf),
            Some(4)
        );
        assert_eq!(buf[..4], [0x12, 0xDE, 0xF0, 0x12]);
        assert_eq!(HeaderWord::Narrow.encode(0x100, 7, 0, ByteOrder::Little, &mut buf), Some(16));
        assert_eq!(buf[..16], [0, 0, 0, 0xFF, 0, 1, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(HeaderWord::Wide.encode(0x12, 0x0A_BCDE_F012, 0, ByteOrder::Big, &mut buf), Some(8));
        assert_eq!(buf[..8], [0, 0x12, 0, 0x0A, 0xBC, 0xDE, 0xF0, 0x12]);
        assert_eq!(HeaderWord::of(PacketFlags(PacketFlags::NARROW_HEADERS | 1)), HeaderWord::Narrow);
        assert_eq!(HeaderWord::of(PacketFlags(PacketFlags::HAS_CRC)), HeaderWord::Wide);
    }

    #[test]
    fn reconstruction_crosses_a_low_bits_wrap() {
        for word in WORDS {
            let bits = word.timestamp_bits();
            let previous = (3u64 << bits) | (word.timestamp_mask() - 10);
            let timestamp = (4u64 << bits) | 5;
            let (header, len, decoded) = round_trip(word, 1, timestamp, previous, ByteOrder::Little);
            assert!(matches!(header, EventHeader::Compact { .. }));
            assert_eq!((len, decoded), (word.compact_len(), timestamp));
        }
    }

    #[test]
    fn malformed_headers_are_errors() {
        for word in WORDS {
            let (compact, extended) = (word.compact_len(), word.extended_len());
            let mut buf = [0u8; 20];
            word.encode(0x10000, 1, 0, ByteOrder::Big, &mut buf).unwrap();
            let short = word.decode(&buf[..extended - 1], ByteOrder::Big);
            assert_eq!(short, Err(EventHeaderError::Truncated));
            buf[compact - 1] = 1;
            assert_eq!(word.decode(&buf, ByteOrder::Big), Err(EventHeaderError::NonZeroEscapeBits));
            assert_eq!(word.decode(&buf[..compact - 1], ByteOrder::Big), Err(EventHeaderError::Truncated));
            let overflow = EventHeader::Compact { word, id: 1, timestamp_low: 0 };
            assert_eq!(overflow.timestamp(u64::MAX).map_err(|_| ()), Err(()));
        }
        let backwards = EventHeader::Extended { id: 1, timestamp: 5 };
        assert_eq!(backwards.timestamp(6), Err(5));
    }
}
