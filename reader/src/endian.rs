//! Byte order as a type, so that the hot loops are compiled once per order with no branch
//! on it inside (as gimli's `Endianity`); [`ByteOrder`] chooses the instance at run time.

use tracemark_format::ByteOrder;

/// A byte order known at compile time.
pub(crate) trait Endian: Copy {
    fn u32(bytes: [u8; 4]) -> u32;
    fn u64(bytes: [u8; 8]) -> u64;
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Little;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Big;

impl Endian for Little {
    #[inline(always)]
    fn u32(bytes: [u8; 4]) -> u32 {
        u32::from_le_bytes(bytes)
    }
    #[inline(always)]
    fn u64(bytes: [u8; 8]) -> u64 {
        u64::from_le_bytes(bytes)
    }
}

impl Endian for Big {
    #[inline(always)]
    fn u32(bytes: [u8; 4]) -> u32 {
        u32::from_be_bytes(bytes)
    }
    #[inline(always)]
    fn u64(bytes: [u8; 8]) -> u64 {
        u64::from_be_bytes(bytes)
    }
}

/// Calls `$body` with `$e` bound to the [`Endian`] type of `$order`.
macro_rules! with_endian {
    ($order:expr, |$e:ident| $body:expr) => {
        match $order {
            tracemark_format::ByteOrder::Little => {
                type $e = $crate::endian::Little;
                $body
            }
            tracemark_format::ByteOrder::Big => {
                type $e = $crate::endian::Big;
                $body
            }
        }
    };
}
pub(crate) use with_endian;

/// The [`ByteOrder`] of an [`Endian`] type, for code that takes it at run time.
pub(crate) fn order_of<E: Endian>() -> ByteOrder {
    if E::u32([1, 0, 0, 0]) == 1 {
        ByteOrder::Little
    } else {
        ByteOrder::Big
    }
}
