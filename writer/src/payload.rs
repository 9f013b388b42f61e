//! [`PayloadWriter`]: packed payload stores (§6) into a reserved slot.

use tracemark_format::Abi;

/// Writes a payload (§6.1: fields packed, no padding, trace byte order) into a reserved slot.
///
/// The slot is exactly as long as the size the event declared. A store past its end writes
/// nothing and marks the writer overflowed instead of panicking; the stream writer then rolls
/// the record back ([`crate::Error::PayloadSize`]), so a buggy encoder cannot corrupt a packet.
#[derive(Debug)]
pub struct PayloadWriter<'a> {
    out: &'a mut [u8],
    position: usize,
    abi: Abi,
    overflowed: bool,
}

impl<'a> PayloadWriter<'a> {
    /// A writer filling `out` with values laid out for `abi`.
    #[inline]
    pub fn new(out: &'a mut [u8], abi: Abi) -> PayloadWriter<'a> {
        PayloadWriter { out, position: 0, abi, overflowed: false }
    }

    /// The ABI (byte order and C sizes) values are written for.
    #[inline(always)]
    pub fn abi(&self) -> &Abi {
        &self.abi
    }

    /// Bytes written so far.
    #[inline(always)]
    pub fn position(&self) -> usize {
        self.position
    }

    /// Whether a store ran past the slot.
    #[inline(always)]
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Whether exactly the whole slot was written.
    #[inline(always)]
    pub fn is_complete(&self) -> bool {
        !self.overflowed && self.position == self.out.len()
    }

    /// Writes raw bytes.
    #[inline(always)]
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        let end = self.position + bytes.len();
        match self.out.get_mut(self.position..end) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.position = end;
            }
            None => self.overflowed = true,
        }
    }

    /// Writes one byte.
    #[inline(always)]
    pub fn write_u8(&mut self, value: u8) {
        self.write_bytes(&[value]);
    }

    /// Writes a `u16` in trace byte order.
    #[inline(always)]
    pub fn write_u16(&mut self, value: u16) {
        self.write_bytes(&self.abi.byte_order.u16_bytes(value));
    }

    /// Writes a `u32` in trace byte order.
    #[inline(always)]
    pub fn write_u32(&mut self, value: u32) {
        self.write_bytes(&self.abi.byte_order.u32_bytes(value));
    }

    /// Writes a `u64` in trace byte order.
    #[inline(always)]
    pub fn write_u64(&mut self, value: u64) {
        self.write_bytes(&self.abi.byte_order.u64_bytes(value));
    }

    /// Writes the low `size` bytes (1, 2, 4 or 8) of `value`: the C cast to a type of that size.
    #[inline(always)]
    pub fn write_sized(&mut self, value: u64, size: u8) {
        match size {
            1 => self.write_u8(value as u8),
            2 => self.write_u16(value as u16),
            4 => self.write_u32(value as u32),
            8 => self.write_u64(value),
            _ => self.overflowed = true,
        }
    }

    /// Writes a NUL-terminated string (§6.4 code 0x20): the bytes before the first interior NUL,
    /// then one NUL. Truncating at an interior NUL keeps the record decodable (a reader would
    /// otherwise end the string there and misread the following fields as string bytes).
    #[inline]
    pub fn write_c_string(&mut self, bytes: &[u8]) {
        self.write_bytes(until_nul(bytes));
        self.write_u8(0);
    }

    /// Writes a `u32` length then the bytes (§6.4 code 0x21, also a sequence count).
    #[inline]
    pub fn write_blob(&mut self, bytes: &[u8]) {
        self.write_u32(bytes.len() as u32);
        self.write_bytes(bytes);
    }
}

/// The bytes before the first NUL, or all of them.
#[inline]
pub fn until_nul(bytes: &[u8]) -> &[u8] {
    match nul_position(bytes) {
        Some(end) => &bytes[..end],
        None => bytes,
    }
}

/// The index of the first NUL in `bytes`, eight bytes at a time.
///
/// On the hot path of every string field (scanned once to size the record, once to write it):
/// a byte loop costs ~50 instructions for a 15-byte string, this ~15. (`memchr` scans short
/// haystacks, under its vector width, a byte at a time.)
#[inline]
pub fn nul_position(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Nonzero exactly when `word` has a zero byte; the lowest flagged byte (in memory order,
    // which `from_le_bytes` makes the lowest bits) is the first zero.
    let zero_flags = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS;
    let first = |flags: u64| (flags.trailing_zeros() / 8) as usize;
    if bytes.len() < 8 {
        return bytes.iter().position(|&byte| byte == 0);
    }
    let mut words = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let flags = zero_flags(u64::from_le_bytes(word));
        if flags != 0 {
            return Some(offset + first(flags));
        }
        offset += 8;
    }
    if words.remainder().is_empty() {
        return None;
    }
    // The last eight bytes, overlapping bytes already found free of NUL: its first NUL is the
    // string's.
    let tail_start = bytes.len() - 8;
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[tail_start..]);
    let flags = zero_flags(u64::from_le_bytes(word));
    (flags != 0).then(|| tail_start + first(flags))
}

/// Encoded size of `bytes` as a string (§6.4): up to the first NUL, plus the terminator.
#[inline]
pub fn c_string_size(bytes: &[u8]) -> usize {
    until_nul(bytes).len() + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracemark_format::ByteOrder;

    #[test]
    fn nul_position_finds_the_first_nul_at_every_length_and_place() {
        // Bytes whose subtraction borrows across bytes (0x01 after a NUL, 0x80 and 0xFF).
        let mut tricky = [0u8; 40];
        for (i, byte) in tricky.iter_mut().enumerate() {
            *byte = [0x01, 0x80, 0xFF, 0x7F][i % 4];
        }
        for len in 0..tricky.len() {
            assert_eq!(nul_position(&[0xA5; 40][..len]), None, "len {len}");
            assert_eq!(nul_position(&tricky[..len]), None, "len {len}");
            for first in 0..len {
                for second in first..len {
                    let mut bytes = tricky;
                    bytes[first] = 0;
                    bytes[second] = 0;
                    assert_eq!(
                        nul_position(&bytes[..len]),
                        Some(first),
                        "len {len}, NULs at {first}, {second}"
                    );
                }
            }
        }
    }

    #[test]
    fn stores_follow_the_abi_byte_order_and_never_overrun() {
        let mut buf = [0u8; 8];
        let mut writer = PayloadWriter::new(&mut buf, Abi::ilp32(ByteOrder::Big));
        writer.write_u16(0x0102);
        writer.write_sized(0x1122_3344_5566_7788, 4);
        assert!(!writer.is_complete());
        writer.write_c_string(b"a\0bc");
        assert!(writer.is_complete());
        writer.write_u8(1);
        assert!(writer.overflowed() && !writer.is_complete());
        assert_eq!(buf, [1, 2, 0x55, 0x66, 0x77, 0x88, b'a', 0]);
        assert_eq!(c_string_size(b"abc"), 4);
        assert_eq!(c_string_size(b"a\0bc"), 2);
    }
}
