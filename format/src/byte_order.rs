//! Trace byte order (§2) and fixed-width integer access in it.

/// Byte order of a trace: the writer's native order (§2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

macro_rules! order_accessors {
    ($($read:ident $write:ident $ty:ty;)*) => {
        $(
            #[doc = concat!("Reads a `", stringify!($ty), "` from the start of `bytes`; `None` when too short.")]
            #[inline(always)]
            pub fn $read(self, bytes: &[u8]) -> Option<$ty> {
                let raw = *bytes.first_chunk::<{ core::mem::size_of::<$ty>() }>()?;
                Some(match self {
                    ByteOrder::Little => <$ty>::from_le_bytes(raw),
                    ByteOrder::Big => <$ty>::from_be_bytes(raw),
                })
            }

            #[doc = concat!("The bytes of a `", stringify!($ty), "` in this order.")]
            #[inline(always)]
            pub fn $write(self, value: $ty) -> [u8; core::mem::size_of::<$ty>()] {
                match self {
                    ByteOrder::Little => value.to_le_bytes(),
                    ByteOrder::Big => value.to_be_bytes(),
                }
            }
        )*
    };
}

impl ByteOrder {
    /// The byte order of the machine running this code.
    #[cfg(target_endian = "little")]
    pub const NATIVE: ByteOrder = ByteOrder::Little;
    /// The byte order of the machine running this code.
    #[cfg(target_endian = "big")]
    pub const NATIVE: ByteOrder = ByteOrder::Big;

    /// The other byte order.
    pub const fn opposite(self) -> ByteOrder {
        match self {
            ByteOrder::Little => ByteOrder::Big,
            ByteOrder::Big => ByteOrder::Little,
        }
    }

    /// The TRACE record's `byte_order` code (§7.3).
    pub const fn code(self) -> u8 {
        match self {
            ByteOrder::Little => 0,
            ByteOrder::Big => 1,
        }
    }

    /// Inverse of [`ByteOrder::code`].
    pub const fn from_code(code: u8) -> Option<ByteOrder> {
        match code {
            0 => Some(ByteOrder::Little),
            1 => Some(ByteOrder::Big),
            _ => None,
        }
    }

    /// This order as binrw's endian.
    pub const fn binrw(self) -> binrw::Endian {
        match self {
            ByteOrder::Little => binrw::Endian::Little,
            ByteOrder::Big => binrw::Endian::Big,
        }
    }

    /// Reads an unsigned integer of `size` bytes (1, 2, 4 or 8), zero-extended.
    #[inline]
    pub fn read_uint(self, bytes: &[u8], size: usize) -> Option<u64> {
        Some(match size {
            1 => *bytes.first()? as u64,
            2 => self.read_u16(bytes)? as u64,
            4 => self.read_u32(bytes)? as u64,
            8 => self.read_u64(bytes)?,
            _ => return None,
        })
    }

    /// Reads a signed integer of `size` bytes (1, 2, 4 or 8), sign-extended.
    #[inline]
    pub fn read_int(self, bytes: &[u8], size: usize) -> Option<i64> {
        Some(match size {
            1 => *bytes.first()? as i8 as i64,
            2 => self.read_u16(bytes)? as i16 as i64,
            4 => self.read_u32(bytes)? as i32 as i64,
            8 => self.read_u64(bytes)? as i64,
            _ => return None,
        })
    }

    /// Writes the low `size` bytes (1, 2, 4 or 8) of `value` into the start of `out`,
    /// returning the count written. Truncation to the size is the C cast the writer's ABI does.
    #[inline]
    pub fn write_uint(self, value: u64, size: usize, out: &mut [u8]) -> Option<usize> {
        let dst = out.get_mut(..size)?;
        match size {
            1 => dst.copy_from_slice(&[value as u8]),
            2 => dst.copy_from_slice(&self.u16_bytes(value as u16)),
            4 => dst.copy_from_slice(&self.u32_bytes(value as u32)),
            8 => dst.copy_from_slice(&self.u64_bytes(value)),
            _ => return None,
        }
        Some(size)
    }

    order_accessors! {
        read_u16 u16_bytes u16;
        read_u32 u32_bytes u32;
        read_u64 u64_bytes u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_integers_round_trip_in_both_orders() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            for size in [1usize, 2, 4, 8] {
                let mut buf = [0u8; 8];
                let value = 0x8877_6655_4433_2211u64;
                assert_eq!(order.write_uint(value, size, &mut buf), Some(size));
                let mask = if size == 8 { u64::MAX } else { (1u64 << (size * 8)) - 1 };
                assert_eq!(order.read_uint(&buf, size), Some(value & mask));
                let shift = 64 - 8 * size as u32;
                let sign_extended = ((value << shift) as i64) >> shift;
                assert_eq!(order.read_int(&buf, size), Some(sign_extended));
            }
        }
        assert_eq!(ByteOrder::Big.read_u32(&[1, 2, 3]), None);
        assert_eq!(ByteOrder::Little.read_uint(&[1; 8], 3), None);
    }
}
