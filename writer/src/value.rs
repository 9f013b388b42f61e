//! [`FieldValue`]: how a Rust value describes and encodes itself as a payload field (§6).

use alloc::{boxed::Box, string::String, vec::Vec};
use core::ffi::CStr;

use tracemark_format::{AbiInt, IntType, TypeDesc};

use crate::payload::{c_string_size, PayloadWriter};
use crate::Abi;

/// A value that can be a payload field.
///
/// `type_desc` is the static layout that goes into the EVENT_CLASS record (§7.7); `encode`
/// must write exactly `encoded_size` bytes in that layout. Neither `encoded_size` nor `encode`
/// may allocate: they run on the per-event path.
pub trait FieldValue {
    /// The type descriptor of every value of this type.
    fn type_desc() -> TypeDesc;

    /// The encoded size under `abi` when it does not depend on the value (lets sequences and
    /// arrays size themselves without iterating).
    #[inline(always)]
    fn fixed_size(abi: &Abi) -> Option<usize> {
        let _ = abi;
        None
    }

    /// Bytes this value encodes to under `abi`.
    fn encoded_size(&self, abi: &Abi) -> usize;

    /// Writes the value.
    fn encode(&self, out: &mut PayloadWriter<'_>);
}

/// An integer field type: usable as an enumeration's underlying type (§6.6).
pub trait IntValue: FieldValue + Copy {
    /// The wire integer type.
    const INT_TYPE: IntType;
    /// The Rust value it wraps (`i64` for the signed ABI wrappers, `u64` for the unsigned).
    type Raw: Copy;
    /// Wraps a raw value.
    fn from_raw(raw: Self::Raw) -> Self;
    /// The bit pattern of `raw` as an enumeration bound (§7.7: sign-extended when signed).
    fn bits(raw: Self::Raw) -> u64;
}

impl FieldValue for bool {
    fn type_desc() -> TypeDesc {
        TypeDesc::Bool
    }
    #[inline(always)]
    fn fixed_size(_: &Abi) -> Option<usize> {
        Some(1)
    }
    #[inline(always)]
    fn encoded_size(&self, _: &Abi) -> usize {
        1
    }
    #[inline(always)]
    fn encode(&self, out: &mut PayloadWriter<'_>) {
        out.write_u8(*self as u8);
    }
}

macro_rules! fixed_ints {
    ($($ty:ty => $int:ident;)*) => {$(
        impl FieldValue for $ty {
            fn type_desc() -> TypeDesc {
                TypeDesc::Int(IntType::$int)
            }
            #[inline(always)]
            fn fixed_size(_: &Abi) -> Option<usize> {
                Some(core::mem::size_of::<$ty>())
            }
            #[inline(always)]
            fn encoded_size(&self, _: &Abi) -> usize {
                core::mem::size_of::<$ty>()
            }
            #[inline(always)]
            fn encode(&self, out: &mut PayloadWriter<'_>) {
                out.write_sized(*self as u64, core::mem::size_of::<$ty>() as u8);
            }
        }

        impl IntValue for $ty {
            const INT_TYPE: IntType = IntType::$int;
            type Raw = $ty;
            #[inline(always)]
            fn from_raw(raw: $ty) -> $ty {
                raw
            }
            #[inline(always)]
            fn bits(raw: $ty) -> u64 {
                raw as u64
            }
        }
    )*};
}

fixed_ints! {
    u8 => U8; u16 => U16; u32 => U32; u64 => U64;
    i8 => I8; i16 => I16; i32 => I32; i64 => I64;
}

impl FieldValue for f32 {
    fn type_desc() -> TypeDesc {
        TypeDesc::F32
    }
    #[inline(always)]
    fn fixed_size(_: &Abi) -> Option<usize> {
        Some(4)
    }
    #[inline(always)]
    fn encoded_size(&self, _: &Abi) -> usize {
        4
    }
    #[inline(always)]
    fn encode(&self, out: &mut PayloadWriter<'_>) {
        out.write_u32(self.to_bits());
    }
}

impl FieldValue for f64 {
    fn type_desc() -> TypeDesc {
        TypeDesc::F64
    }
    #[inline(always)]
    fn fixed_size(_: &Abi) -> Option<usize> {
        Some(8)
    }
    #[inline(always)]
    fn encoded_size(&self, _: &Abi) -> usize {
        8
    }
    #[inline(always)]
    fn encode(&self, out: &mut PayloadWriter<'_>) {
        out.write_u64(self.to_bits());
    }
}

macro_rules! abi_ints {
    ($($(#[$doc:meta])* $name:ident($raw:ty) => $abi:ident;)*) => {$(
        $(#[$doc])*
        ///
        /// Holds a 64-bit value and is encoded with the size the trace's ABI gives the C type
        /// (§6.3), keeping its low bytes: what the C cast to that type does.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub $raw);

        impl FieldValue for $name {
            fn type_desc() -> TypeDesc {
                TypeDesc::Int(IntType::Abi(AbiInt::$abi))
            }
            #[inline(always)]
            fn fixed_size(abi: &Abi) -> Option<usize> {
                Some(AbiInt::$abi.size(abi) as usize)
            }
            #[inline(always)]
            fn encoded_size(&self, abi: &Abi) -> usize {
                AbiInt::$abi.size(abi) as usize
            }
            #[inline(always)]
            fn encode(&self, out: &mut PayloadWriter<'_>) {
                let size = AbiInt::$abi.size(out.abi());
                out.write_sized(self.0 as u64, size);
            }
        }

        impl IntValue for $name {
            const INT_TYPE: IntType = IntType::Abi(AbiInt::$abi);
            type Raw = $raw;
            #[inline(always)]
            fn from_raw(raw: $raw) -> $name {
                $name(raw)
            }
            #[inline(always)]
            fn bits(raw: $raw) -> u64 {
                raw as u64
            }
        }

        impl From<$raw> for $name {
            fn from(raw: $raw) -> $name {
                $name(raw)
            }
        }
    )*};
}

abi_ints! {
    /// C `short`.
    CShort(i64) => Short;
    /// C `unsigned short`.
    CUShort(u64) => UShort;
    /// C `int`.
    CInt(i64) => Int;
    /// C `unsigned int`.
    CUInt(u64) => UInt;
    /// C `long`.
    CLong(i64) => Long;
    /// C `unsigned long`.
    CULong(u64) => ULong;
    /// C `long long`.
    CLongLong(i64) => LongLong;
    /// C `unsigned long long`.
    CULongLong(u64) => ULongLong;
    /// C `size_t`.
    SizeT(u64) => SizeT;
    /// C `ssize_t`.
    SSizeT(i64) => SSizeT;
    /// A pointer (an address, unsigned).
    Pointer(u64) => Pointer;
}

impl Pointer {
    /// The address of `pointer`.
    pub fn from_ptr<T: ?Sized>(pointer: *const T) -> Pointer {
        Pointer(pointer.cast::<u8>() as usize as u64)
    }
}

/// Bytes written as a NUL-terminated string (§6.4 code 0x20), like `&str` but without the
/// UTF-8 guarantee (§6.5 allows it). Truncated at the first interior NUL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByteStr<'a>(pub &'a [u8]);

/// Bytes written as a blob (§6.4 code 0x21): a `u32` length, then the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Blob<'a>(pub &'a [u8]);

/// Strings are written up to their first interior NUL, then a NUL (§6.4): an interior NUL
/// truncates the field instead of corrupting the fields after it.
impl FieldValue for str {
    fn type_desc() -> TypeDesc {
        TypeDesc::String
    }
    #[inline]
    fn encoded_size(&self, _: &Abi) -> usize {
        c_string_size(self.as_bytes())
    }
    #[inline]
    fn encode(&self, out: &mut PayloadWriter<'_>) {
        out.write_c_string(self.as_bytes());
    }
}

impl FieldValue for String {
    fn type_desc() -> TypeDesc {
        TypeDesc::String
    }
    #[inline]
    fn encoded_size(&self, abi: &Abi) -> usize {
        self.as_str().encoded_size(abi)
    }
    #[inline]
    fn encode(&self, out: &mut PayloadWriter<'_>) {
        self.as_str().encode(out);
    }
}

impl FieldValue for CStr {
    fn type_desc() -> TypeDesc {
        TypeDesc::String
    }
    #[inline]
    fn encoded_size(&self, _: &Abi) -> usize {
        self.to_bytes().len() + 1
    }
    #[inline]
    fn encode(&self, out: &mut PayloadWriter<'_>) {
        out.write_bytes(self.to_bytes_with_nul());
    }
}

impl FieldValue for ByteStr<'_> {
    fn type_desc() -> TypeDesc {
        TypeDesc::String
    }
    #[inline]
    fn encoded_size(&self, _: &Abi) -> usize {
        c_string_size(self.0)
    }
    #[inline]
    fn encode(&self, out: &mut PayloadWriter<'_>) {
        out.write_c_string(self.0);
    }
}

impl FieldValue for Blob<'_> {
    fn type_desc() -> TypeDesc {
        TypeDesc::Blob
    }
    #[inline]
    fn encoded_size(&self, _: &Abi) -> usize {
        4 + self.0.len()
    }
    #[inline]
    fn encode(&self, out: &mut PayloadWriter<'_>) {
        out.write_blob(self.0);
    }
}

/// Elements' total size: multiplied when fixed, summed otherwise (saturating, so an absurd
/// size is refused as too large rather than wrapping).
#[inline]
fn elements_size<T: FieldValue>(elements: &[T], abi: &Abi) -> usize {
    match T::fixed_size(abi) {
        Some(size) => size.saturating_mul(elements.len()),
        None => elements.iter().fold(0usize, |sum, element| sum.saturating_add(element.encoded_size(abi))),
    }
}

/// A fixed-length array (§6.4 code 0x22).
impl<T: FieldValue, const N: usize> FieldValue for [T; N] {
    fn type_desc() -> TypeDesc {
        TypeDesc::array(N as u32, T::type_desc())
    }
    #[inline]
    fn fixed_size(abi: &Abi) -> Option<usize> {
        T::fixed_size(abi)?.checked_mul(N)
    }
    #[inline]
    fn encoded_size(&self, abi: &Abi) -> usize {
        elements_size(self, abi)
    }
    #[inline]
    fn encode(&self, out: &mut PayloadWriter<'_>) {
        for element in self {
            element.encode(out);
        }
    }
}

/// A sequence (§6.4 code 0x23): a `u32` count, then the elements.
impl<T: FieldValue> FieldValue for [T] {
    fn type_desc() -> TypeDesc {
        TypeDesc::sequence(T::type_desc())
    }
    #[inline]
    fn encoded_size(&self, abi: &Abi) -> usize {
        elements_size(self, abi).saturating_add(4)
    }
    #[inline]
    fn encode(&self, out: &mut PayloadWriter<'_>) {
        out.write_u32(self.len() as u32);
        for element in self {
            element.encode(out);
        }
    }
}

macro_rules! delegate {
    ($(impl<$($param:ident),*> for $ty:ty => $target:ty;)*) => {$(
        impl<$($param: FieldValue + ?Sized),*> FieldValue for $ty {
            fn type_desc() -> TypeDesc {
                <$target>::type_desc()
            }
            #[inline(always)]
            fn fixed_size(abi: &Abi) -> Option<usize> {
                <$target>::fixed_size(abi)
            }
            #[inline(always)]
            fn encoded_size(&self, abi: &Abi) -> usize {
                (**self).encoded_size(abi)
            }
            #[inline(always)]
            fn encode(&self, out: &mut PayloadWriter<'_>) {
                (**self).encode(out);
            }
        }
    )*};
}

delegate! {
    impl<T> for &T => T;
    impl<T> for &mut T => T;
    impl<T> for Box<T> => T;
}

impl<T: FieldValue> FieldValue for Vec<T> {
    fn type_desc() -> TypeDesc {
        <[T]>::type_desc()
    }
    #[inline]
    fn encoded_size(&self, abi: &Abi) -> usize {
        self.as_slice().encoded_size(abi)
    }
    #[inline]
    fn encode(&self, out: &mut PayloadWriter<'_>) {
        self.as_slice().encode(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use tracemark_format::ByteOrder;

    fn encode<T: FieldValue + ?Sized>(value: &T, abi: Abi) -> Vec<u8> {
        let mut buf = vec![0u8; value.encoded_size(&abi)];
        let mut writer = PayloadWriter::new(&mut buf, abi);
        value.encode(&mut writer);
        assert!(writer.is_complete());
        buf
    }

    #[test]
    fn abi_wrappers_truncate_like_a_c_cast() {
        let ilp32 = Abi::ilp32(ByteOrder::Big);
        let lp64 = Abi::lp64(ByteOrder::Little);
        assert_eq!(encode(&CLong(-2), ilp32), [0xFF, 0xFF, 0xFF, 0xFE]);
        assert_eq!(encode(&CLong(-2), lp64), (-2i64).to_le_bytes());
        assert_eq!(encode(&Pointer(0x1_2345_6789), ilp32), [0x23, 0x45, 0x67, 0x89]);
        assert_eq!(encode(&Pointer(0x1_2345_6789), lp64).len(), 8);
        assert_eq!(encode(&CShort(0x12345), ilp32), [0x23, 0x45]);
        assert_eq!(CULong::fixed_size(&ilp32), Some(4));
    }

    #[test]
    fn strings_sequences_arrays_and_blobs() {
        let abi = Abi::lp64(ByteOrder::Little);
        assert_eq!(encode("ab\0cd", abi), b"ab\0");
        assert_eq!(encode(&ByteStr(b"\xFFx"), abi), b"\xFFx\0");
        assert_eq!(encode(c"hi", abi), b"hi\0");
        assert_eq!(encode(&Blob(b"xyz"), abi), b"\x03\0\0\0xyz");
        assert_eq!(encode(&[1u16, 2], abi), [1, 0, 2, 0]);
        assert_eq!(encode(&[3u8, 4][..], abi), [2, 0, 0, 0, 3, 4]);
        assert_eq!(encode(&vec!["a", "bc"], abi), b"\x02\0\0\0a\0bc\0");
        assert_eq!(<[CLong; 3]>::fixed_size(&Abi::ilp32(ByteOrder::Little)), Some(12));
        assert_eq!(<&[u8]>::type_desc(), TypeDesc::sequence(TypeDesc::Int(IntType::U8)));
    }
}
