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
    match bytes.iter().position(|&byte| byte == 0) {
        Some(end) => &bytes[..end],
        None => bytes,
    }
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
