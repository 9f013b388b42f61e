//! The writer's ABI descriptor (§3).

use crate::ByteOrder;

/// Byte order and C type sizes of the machine that wrote a trace (§3.1).
///
/// ABI-sized payload types (§6.3) are encoded with these sizes, so a reader on any machine
/// decodes a 32-bit kernel's `long` as 4 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Abi {
    /// Trace byte order.
    pub byte_order: ByteOrder,
    /// `sizeof(short)`.
    pub short: u8,
    /// `sizeof(int)`.
    pub int: u8,
    /// `sizeof(long)`.
    pub long: u8,
    /// `sizeof(long long)`.
    pub long_long: u8,
    /// `sizeof(void *)`.
    pub pointer: u8,
    /// `sizeof(size_t)`.
    pub size_t: u8,
}

impl Abi {
    /// The ABI of the machine running this code.
    pub const HOST: Abi = Abi {
        byte_order: ByteOrder::NATIVE,
        short: core::mem::size_of::<core::ffi::c_short>() as u8,
        int: core::mem::size_of::<core::ffi::c_int>() as u8,
        long: core::mem::size_of::<core::ffi::c_long>() as u8,
        long_long: core::mem::size_of::<core::ffi::c_longlong>() as u8,
        pointer: core::mem::size_of::<*const u8>() as u8,
        size_t: core::mem::size_of::<usize>() as u8,
    };

    /// LP64 (64-bit Linux and BSDs) in the given byte order.
    pub const fn lp64(byte_order: ByteOrder) -> Abi {
        Abi { byte_order, short: 2, int: 4, long: 8, long_long: 8, pointer: 8, size_t: 8 }
    }

    /// ILP32 (32-bit Linux: armhf, i386, powerpc) in the given byte order.
    pub const fn ilp32(byte_order: ByteOrder) -> Abi {
        Abi { byte_order, short: 2, int: 4, long: 4, long_long: 8, pointer: 4, size_t: 4 }
    }

    /// The six sizes, in TRACE record order (§7.3).
    pub const fn sizes(&self) -> [u8; 6] {
        [self.short, self.int, self.long, self.long_long, self.pointer, self.size_t]
    }

    /// Whether every size is 1, 2, 4 or 8 (§3.2).
    pub fn is_valid(&self) -> bool {
        self.sizes().iter().all(|size| matches!(size, 1 | 2 | 4 | 8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_abi_is_valid_and_presets_differ_where_c_does() {
        assert!(Abi::HOST.is_valid());
        assert_eq!(Abi::lp64(ByteOrder::Little).long, 8);
        assert_eq!(Abi::ilp32(ByteOrder::Big).long, 4);
        let mut odd = Abi::HOST;
        odd.long = 3;
        assert!(!odd.is_valid());
    }
}
