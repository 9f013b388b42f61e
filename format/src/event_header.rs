//! The event record header (§5): compact and extended forms, and timestamp reconstruction.

use crate::ByteOrder;

/// Length of the compact form: one header word (§5.2).
pub const COMPACT_HEADER_LEN: usize = 8;
/// Length of the extended form: header word, `u32` ID, `u64` timestamp (§5.3).
pub const EXTENDED_HEADER_LEN: usize = 20;
/// Event class IDs at or above this need the extended form (§5.4).
pub const COMPACT_ID_LIMIT: u32 = 0xFFFF;
/// Bits of timestamp the compact form carries.
pub const TIMESTAMP_LOW_BITS: u32 = 48;
/// Mask of the compact form's timestamp bits.
pub const TIMESTAMP_LOW_MASK: u64 = (1 << TIMESTAMP_LOW_BITS) - 1;
const ESCAPE_WORD: u64 = (COMPACT_ID_LIMIT as u64) << TIMESTAMP_LOW_BITS;

/// A decoded event header, before timestamp reconstruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventHeader {
    /// Compact form: 16-bit ID and the timestamp's low 48 bits.
    Compact {
        /// Event class ID.
        id: u16,
        /// Low 48 bits of the timestamp.
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
    /// Whether the writer rule (§5.4) requires the extended form for this record.
    #[inline(always)]
    pub const fn needs_extended(id: u32, timestamp: u64, previous: u64) -> bool {
        id >= COMPACT_ID_LIMIT
            || timestamp.wrapping_sub(previous) > TIMESTAMP_LOW_MASK
            || timestamp < previous
    }

    /// Encoded size of the header for this record (§5.4).
    #[inline(always)]
    pub const fn encoded_len(id: u32, timestamp: u64, previous: u64) -> usize {
        if Self::needs_extended(id, timestamp, previous) {
            EXTENDED_HEADER_LEN
        } else {
            COMPACT_HEADER_LEN
        }
    }

    /// Writes the header for a record with `id` at `timestamp`, the previous record (or the
    /// packet begin) being at `previous`; returns the bytes written, or `None` if `out` is short.
    #[inline(always)]
    pub fn encode(id: u32, timestamp: u64, previous: u64, order: ByteOrder, out: &mut [u8]) -> Option<usize> {
        if Self::needs_extended(id, timestamp, previous) {
            let out = out.get_mut(..EXTENDED_HEADER_LEN)?;
            out[..8].copy_from_slice(&order.u64_bytes(ESCAPE_WORD));
            out[8..12].copy_from_slice(&order.u32_bytes(id));
            out[12..20].copy_from_slice(&order.u64_bytes(timestamp));
            Some(EXTENDED_HEADER_LEN)
        } else {
            let word = ((id as u64) << TIMESTAMP_LOW_BITS) | (timestamp & TIMESTAMP_LOW_MASK);
            out.get_mut(..COMPACT_HEADER_LEN)?.copy_from_slice(&order.u64_bytes(word));
            Some(COMPACT_HEADER_LEN)
        }
    }

    /// Decodes the header at the start of `bytes`, returning it and its length.
    #[inline(always)]
    pub fn decode(bytes: &[u8], order: ByteOrder) -> Result<(EventHeader, usize), EventHeaderError> {
        let word = order.read_u64(bytes).ok_or(EventHeaderError::Truncated)?;
        let id = (word >> TIMESTAMP_LOW_BITS) as u16;
        if u32::from(id) != COMPACT_ID_LIMIT {
            return Ok((
                EventHeader::Compact { id, timestamp_low: word & TIMESTAMP_LOW_MASK },
                COMPACT_HEADER_LEN,
            ));
        }
        if word & TIMESTAMP_LOW_MASK != 0 {
            return Err(EventHeaderError::NonZeroEscapeBits);
        }
        let rest = bytes.get(8..EXTENDED_HEADER_LEN).ok_or(EventHeaderError::Truncated)?;
        let id = order.read_u32(rest).ok_or(EventHeaderError::Truncated)?;
        let timestamp = order.read_u64(&rest[4..]).ok_or(EventHeaderError::Truncated)?;
        Ok((EventHeader::Extended { id, timestamp }, EXTENDED_HEADER_LEN))
    }

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
            EventHeader::Compact { timestamp_low, .. } => {
                let candidate = (previous & !TIMESTAMP_LOW_MASK) | timestamp_low;
                if candidate >= previous {
                    Ok(candidate)
                } else {
                    match candidate.checked_add(1 << TIMESTAMP_LOW_BITS) {
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

    fn round_trip(id: u32, timestamp: u64, previous: u64, order: ByteOrder) -> (EventHeader, usize, u64) {
        let mut buf = [0u8; 32];
        let written = EventHeader::encode(id, timestamp, previous, order, &mut buf).unwrap();
        let (header, read) = EventHeader::decode(&buf, order).unwrap();
        assert_eq!(read, written);
        assert_eq!(header.id(), id);
        (header, read, header.timestamp(previous).unwrap())
    }

    #[test]
    fn compact_and_extended_forms_follow_the_writer_rule() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            assert_eq!(round_trip(7, 1000, 10, order).1, COMPACT_HEADER_LEN);
            assert_eq!(round_trip(0xFFFE, 1000, 10, order).1, COMPACT_HEADER_LEN);
            assert_eq!(round_trip(0xFFFF, 1000, 10, order).1, EXTENDED_HEADER_LEN);
            assert_eq!(round_trip(70_000, 1000, 10, order).1, EXTENDED_HEADER_LEN);
            // A gap of exactly 2^48 - 1 still fits; 2^48 does not.
            assert_eq!(round_trip(1, 5 + TIMESTAMP_LOW_MASK, 5, order).1, COMPACT_HEADER_LEN);
            assert_eq!(round_trip(1, 5 + (1 << 48), 5, order).1, EXTENDED_HEADER_LEN);
        }
    }

    #[test]
    fn reconstruction_crosses_a_low_bits_wrap() {
        let previous = (3u64 << 48) | (TIMESTAMP_LOW_MASK - 10);
        let timestamp = (4u64 << 48) | 5;
        let (header, len, decoded) = round_trip(1, timestamp, previous, ByteOrder::Little);
        assert!(matches!(header, EventHeader::Compact { .. }));
        assert_eq!((len, decoded), (COMPACT_HEADER_LEN, timestamp));
    }

    #[test]
    fn malformed_headers_are_errors() {
        let mut buf = [0u8; 20];
        EventHeader::encode(0x10000, 1, 0, ByteOrder::Big, &mut buf).unwrap();
        assert_eq!(EventHeader::decode(&buf[..12], ByteOrder::Big), Err(EventHeaderError::Truncated));
        buf[7] = 1;
        assert_eq!(EventHeader::decode(&buf, ByteOrder::Big), Err(EventHeaderError::NonZeroEscapeBits));
        assert_eq!(EventHeader::decode(&buf[..7], ByteOrder::Big), Err(EventHeaderError::Truncated));
        let backwards = EventHeader::Extended { id: 1, timestamp: 5 };
        assert_eq!(backwards.timestamp(6), Err(5));
        let overflow = EventHeader::Compact { id: 1, timestamp_low: 0 };
        assert_eq!(overflow.timestamp(u64::MAX).map_err(|_| ()), Err(()));
    }
}
