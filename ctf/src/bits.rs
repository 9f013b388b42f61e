//! Reading bit fields (CTF 1.8 §4.1.5): a position in bits over a byte slice.
//!
//! In little-endian fields the first bit read is the least significant bit of the current
//! byte; in big-endian fields, the most significant. Byte-aligned 8, 16, 32 and 64-bit fields
//! (nearly every field LTTng writes) take a fast path.

use crate::model::ByteOrder;

/// The field runs past the end of what may be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastEnd {
    /// Bit position where the field starts.
    pub at: u64,
    /// Bits the field needs.
    pub needs: u64,
}

/// A read position over `data`, in bits, never past `end`.
#[derive(Debug, Clone)]
pub struct BitCursor<'a> {
    data: &'a [u8],
    position: u64,
    end: u64,
}

impl<'a> BitCursor<'a> {
    /// A cursor over all of `data`.
    pub fn new(data: &'a [u8]) -> BitCursor<'a> {
        BitCursor { data, position: 0, end: data.len() as u64 * 8 }
    }

    /// The bit position.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Bits left before the end.
    pub fn remaining(&self) -> u64 {
        self.end - self.position
    }

    /// Reads no further than bit `end` (clamped to the data).
    pub fn limit(&mut self, end: u64) {
        self.end = end.min(self.data.len() as u64 * 8).max(self.position);
    }

    /// Moves to bit `position`, at most the end.
    pub fn seek(&mut self, position: u64) {
        self.position = position.min(self.end);
    }

    /// Moves to the next multiple of `align` bits (a power of two).
    #[inline]
    pub fn align(&mut self, align: u32) -> Result<(), PastEnd> {
        let mask = u64::from(align.max(1)) - 1;
        let aligned = (self.position + mask) & !mask;
        if aligned > self.end {
            return Err(PastEnd { at: self.position, needs: aligned - self.position });
        }
        self.position = aligned;
        Ok(())
    }

    /// Skips `bits` bits.
    pub fn skip(&mut self, bits: u64) -> Result<(), PastEnd> {
        if bits > self.remaining() {
            return Err(PastEnd { at: self.position, needs: bits });
        }
        self.position += bits;
        Ok(())
    }

    /// Reads an unsigned field of `size` bits (1 to 64).
    #[inline(always)]
    pub fn read_unsigned(&mut self, size: u32, order: ByteOrder) -> Result<u64, PastEnd> {
        // Byte-aligned whole bytes: nearly every field LTTng writes.
        if self.position.is_multiple_of(8) && u64::from(size) <= self.remaining() {
            let start = (self.position / 8) as usize;
            let value = match (size, order) {
                (8, _) => self.data.get(start).map(|&byte| u64::from(byte)),
                (16, ByteOrder::Little) => {
                    self.array::<2>(start).map(|bytes| u64::from(u16::from_le_bytes(bytes)))
                }
                (32, ByteOrder::Little) => {
                    self.array::<4>(start).map(|bytes| u64::from(u32::from_le_bytes(bytes)))
                }
                (64, ByteOrder::Little) => self.array::<8>(start).map(u64::from_le_bytes),
                (16, ByteOrder::Big) => {
                    self.array::<2>(start).map(|bytes| u64::from(u16::from_be_bytes(bytes)))
                }
                (32, ByteOrder::Big) => {
                    self.array::<4>(start).map(|bytes| u64::from(u32::from_be_bytes(bytes)))
                }
                (64, ByteOrder::Big) => self.array::<8>(start).map(u64::from_be_bytes),
                _ => None,
            };
            if let Some(value) = value {
                self.position += u64::from(size);
                return Ok(value);
            }
        }
        self.read_bits(size, order)
    }

    #[inline(always)]
    fn array<const N: usize>(&self, start: usize) -> Option<[u8; N]> {
        self.data.get(start..start + N)?.try_into().ok()
    }

    /// Any field: bit fields, odd sizes, unaligned starts.
    #[inline(never)]
    fn read_bits(&mut self, size: u32, order: ByteOrder) -> Result<u64, PastEnd> {
        let needs = u64::from(size);
        if needs > self.remaining() || size == 0 || size > 64 {
            return Err(PastEnd { at: self.position, needs });
        }
        let start = (self.position / 8) as usize;
        let shift = (self.position % 8) as u32;
        self.position += needs;
        if shift == 0 && size.is_multiple_of(8) {
            return Ok(whole_bytes(&self.data[start..start + size as usize / 8], order));
        }
        let len = (shift + size).div_ceil(8) as usize;
        let bytes = &self.data[start..start + len];
        let mask = if size == 64 { u64::MAX } else { (1u64 << size) - 1 };
        let value = match order {
            ByteOrder::Little => {
                let word = bytes.iter().rev().fold(0u128, |word, &byte| (word << 8) | u128::from(byte));
                (word >> shift) as u64
            }
            ByteOrder::Big => {
                let word = bytes.iter().fold(0u128, |word, &byte| (word << 8) | u128::from(byte));
                (word >> (len as u32 * 8 - shift - size)) as u64
            }
        };
        Ok(value & mask)
    }

    /// Reads a two's complement field of `size` bits (1 to 64), sign-extended.
    pub fn read_signed(&mut self, size: u32, order: ByteOrder) -> Result<i64, PastEnd> {
        let value = self.read_unsigned(size, order)?;
        let unused = 64 - size;
        Ok(((value << unused) as i64) >> unused)
    }

    /// Reads the bytes of a NUL-terminated string (byte aligned) and moves past its NUL.
    pub fn read_string(&mut self) -> Result<&'a [u8], PastEnd> {
        self.align(8)?;
        let start = (self.position / 8) as usize;
        let end = (self.end / 8) as usize;
        let rest = &self.data[start..end];
        let Some(len) = rest.iter().position(|&byte| byte == 0) else {
            return Err(PastEnd { at: self.position, needs: rest.len() as u64 * 8 + 8 });
        };
        self.position += (len as u64 + 1) * 8;
        Ok(&rest[..len])
    }

    /// Reads `len` whole bytes (byte aligned).
    pub fn read_bytes(&mut self, len: u64) -> Result<&'a [u8], PastEnd> {
        self.align(8)?;
        let needs = len.saturating_mul(8);
        if needs > self.remaining() {
            return Err(PastEnd { at: self.position, needs });
        }
        let start = (self.position / 8) as usize;
        self.position += needs;
        Ok(&self.data[start..start + len as usize])
    }
}

fn whole_bytes(bytes: &[u8], order: ByteOrder) -> u64 {
    match (bytes.len(), order) {
        (1, _) => u64::from(bytes[0]),
        (2, ByteOrder::Little) => u64::from(u16::from_le_bytes([bytes[0], bytes[1]])),
        (2, ByteOrder::Big) => u64::from(u16::from_be_bytes([bytes[0], bytes[1]])),
        (4, ByteOrder::Little) => u64::from(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        (4, ByteOrder::Big) => u64::from(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        (_, ByteOrder::Little) => bytes.iter().rev().fold(0, |word, &byte| (word << 8) | u64::from(byte)),
        (_, ByteOrder::Big) => bytes.iter().fold(0, |word, &byte| (word << 8) | u64::from(byte)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bit `i` of the stream, in the order the byte order reads bits.
    fn bit(data: &[u8], i: u64, order: ByteOrder) -> u64 {
        let byte = data[(i / 8) as usize];
        let within = (i % 8) as u32;
        u64::from(match order {
            ByteOrder::Little => (byte >> within) & 1,
            ByteOrder::Big => (byte >> (7 - within)) & 1,
        })
    }

    #[test]
    fn lttng_compact_header_fields() {
        // A 5-bit id then a 27-bit timestamp, little-endian: id in the low bits of byte 0.
        let word: u32 = (12_345_678 << 5) | 17;
        let bytes = word.to_le_bytes();
        let mut cursor = BitCursor::new(&bytes);
        assert_eq!(cursor.read_unsigned(5, ByteOrder::Little), Ok(17));
        assert_eq!(cursor.read_unsigned(27, ByteOrder::Little), Ok(12_345_678));
        // Big-endian: the id is in the high bits.
        let word: u32 = (17 << 27) | 12_345_678;
        let bytes = word.to_be_bytes();
        let mut cursor = BitCursor::new(&bytes);
        assert_eq!(cursor.read_unsigned(5, ByteOrder::Big), Ok(17));
        assert_eq!(cursor.read_unsigned(27, ByteOrder::Big), Ok(12_345_678));
        assert_eq!(cursor.read_unsigned(1, ByteOrder::Big), Err(PastEnd { at: 32, needs: 1 }));
    }

    #[test]
    fn strings_and_alignment() {
        let mut cursor = BitCursor::new(b"\x01ab\0\0\0\0\0\x2a\0\0\0");
        assert_eq!(cursor.read_unsigned(3, ByteOrder::Little), Ok(1));
        assert_eq!(cursor.read_string(), Ok(&b"ab"[..]));
        cursor.align(32).unwrap();
        assert_eq!(cursor.position(), 32);
        assert_eq!(cursor.read_signed(8, ByteOrder::Little), Ok(0));
        cursor.align(64).unwrap();
        assert_eq!(cursor.read_unsigned(32, ByteOrder::Little), Ok(42));
        assert!(cursor.read_string().is_err(), "no NUL before the end");
        let mut cursor = BitCursor::new(b"abc");
        cursor.limit(16);
        assert_eq!(cursor.read_string(), Err(PastEnd { at: 0, needs: 24 }));
    }

    proptest! {
        #[test]
        fn fields_are_their_bits(data in proptest::collection::vec(any::<u8>(), 9..24), start in 0u64..64, size in 1u32..=64, big in any::<bool>()) {
            let order = if big { ByteOrder::Big } else { ByteOrder::Little };
            let mut cursor = BitCursor::new(&data);
            cursor.skip(start).unwrap();
            let fits = start + u64::from(size) <= data.len() as u64 * 8;
            let read = cursor.read_unsigned(size, order);
            prop_assert_eq!(read.is_ok(), fits);
            if let Ok(value) = read {
                // Bits come most significant first in big-endian order, least first otherwise.
                let expected = (0..u64::from(size)).fold(0u64, |value, i| match order {
                    ByteOrder::Big => (value << 1) | bit(&data, start + i, order),
                    ByteOrder::Little => value | (bit(&data, start + i, order) << i),
                });
                prop_assert_eq!(value, expected);
                let mut again = BitCursor::new(&data);
                again.skip(start).unwrap();
                let signed = again.read_signed(size, order).unwrap();
                prop_assert_eq!(signed as u64 & if size == 64 { u64::MAX } else { (1 << size) - 1 }, value);
                prop_assert_eq!(signed < 0, size < 64 && value >> (size - 1) == 1 || size == 64 && (value as i64) < 0);
            }
        }
    }
}
