//! Payload type descriptors (§6, §7.7).

use alloc::{boxed::Box, string::String, vec::Vec};

use crate::Abi;

/// Maximum type nesting depth a reader accepts (§6.7).
pub const MAX_NESTING_DEPTH: usize = 32;

/// Type codes (§6.2–§6.4).
pub mod code {
    #![allow(missing_docs)]
    pub const BOOL: u8 = 0x01;
    pub const U8: u8 = 0x02;
    pub const U16: u8 = 0x03;
    pub const U32: u8 = 0x04;
    pub const U64: u8 = 0x05;
    pub const I8: u8 = 0x06;
    pub const I16: u8 = 0x07;
    pub const I32: u8 = 0x08;
    pub const I64: u8 = 0x09;
    pub const F32: u8 = 0x0A;
    pub const F64: u8 = 0x0B;
    pub const SHORT: u8 = 0x10;
    pub const USHORT: u8 = 0x11;
    pub const INT: u8 = 0x12;
    pub const UINT: u8 = 0x13;
    pub const LONG: u8 = 0x14;
    pub const ULONG: u8 = 0x15;
    pub const LONG_LONG: u8 = 0x16;
    pub const ULONG_LONG: u8 = 0x17;
    pub const SIZE_T: u8 = 0x18;
    pub const SSIZE_T: u8 = 0x19;
    pub const POINTER: u8 = 0x1A;
    pub const STRING: u8 = 0x20;
    pub const BLOB: u8 = 0x21;
    pub const ARRAY: u8 = 0x22;
    pub const SEQUENCE: u8 = 0x23;
    pub const ENUM: u8 = 0x24;
    pub const STRUCT: u8 = 0x25;
}

/// C integer types whose size the ABI descriptor gives (§6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AbiInt {
    /// `short`
    Short,
    /// `unsigned short`
    UShort,
    /// `int`
    Int,
    /// `unsigned int`
    UInt,
    /// `long`
    Long,
    /// `unsigned long`
    ULong,
    /// `long long`
    LongLong,
    /// `unsigned long long`
    ULongLong,
    /// `size_t`
    SizeT,
    /// `ssize_t`
    SSizeT,
    /// A pointer, unsigned.
    Pointer,
}

impl AbiInt {
    /// All variants, in code order.
    pub const ALL: [AbiInt; 11] = [
        AbiInt::Short,
        AbiInt::UShort,
        AbiInt::Int,
        AbiInt::UInt,
        AbiInt::Long,
        AbiInt::ULong,
        AbiInt::LongLong,
        AbiInt::ULongLong,
        AbiInt::SizeT,
        AbiInt::SSizeT,
        AbiInt::Pointer,
    ];

    /// Size in bytes under `abi`.
    pub const fn size(self, abi: &Abi) -> u8 {
        match self {
            AbiInt::Short | AbiInt::UShort => abi.short,
            AbiInt::Int | AbiInt::UInt => abi.int,
            AbiInt::Long | AbiInt::ULong => abi.long,
            AbiInt::LongLong | AbiInt::ULongLong => abi.long_long,
            AbiInt::SizeT | AbiInt::SSizeT => abi.size_t,
            AbiInt::Pointer => abi.pointer,
        }
    }

    /// Whether the type is signed (fixed by §6.3, not by the writer).
    pub const fn is_signed(self) -> bool {
        matches!(self, AbiInt::Short | AbiInt::Int | AbiInt::Long | AbiInt::LongLong | AbiInt::SSizeT)
    }

    /// The C spelling.
    pub const fn c_name(self) -> &'static str {
        match self {
            AbiInt::Short => "short",
            AbiInt::UShort => "unsigned short",
            AbiInt::Int => "int",
            AbiInt::UInt => "unsigned int",
            AbiInt::Long => "long",
            AbiInt::ULong => "unsigned long",
            AbiInt::LongLong => "long long",
            AbiInt::ULongLong => "unsigned long long",
            AbiInt::SizeT => "size_t",
            AbiInt::SSizeT => "ssize_t",
            AbiInt::Pointer => "pointer",
        }
    }
}

/// Any integer type: fixed-width (§6.2) or ABI-sized (§6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntType {
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `i8`
    I8,
    /// `i16`
    I16,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// An ABI-sized C type.
    Abi(AbiInt),
}

impl IntType {
    /// The type code.
    pub const fn code(self) -> u8 {
        match self {
            IntType::U8 => code::U8,
            IntType::U16 => code::U16,
            IntType::U32 => code::U32,
            IntType::U64 => code::U64,
            IntType::I8 => code::I8,
            IntType::I16 => code::I16,
            IntType::I32 => code::I32,
            IntType::I64 => code::I64,
            IntType::Abi(abi) => code::SHORT + abi as u8,
        }
    }

    /// The integer type with this code, if it is one.
    pub const fn from_code(value: u8) -> Option<IntType> {
        Some(match value {
            code::U8 => IntType::U8,
            code::U16 => IntType::U16,
            code::U32 => IntType::U32,
            code::U64 => IntType::U64,
            code::I8 => IntType::I8,
            code::I16 => IntType::I16,
            code::I32 => IntType::I32,
            code::I64 => IntType::I64,
            code::SHORT..=code::POINTER => IntType::Abi(AbiInt::ALL[(value - code::SHORT) as usize]),
            _ => return None,
        })
    }

    /// Size in bytes under `abi`.
    pub const fn size(self, abi: &Abi) -> u8 {
        match self {
            IntType::U8 | IntType::I8 => 1,
            IntType::U16 | IntType::I16 => 2,
            IntType::U32 | IntType::I32 => 4,
            IntType::U64 | IntType::I64 => 8,
            IntType::Abi(abi_int) => abi_int.size(abi),
        }
    }

    /// Whether the type is signed.
    pub const fn is_signed(self) -> bool {
        match self {
            IntType::I8 | IntType::I16 | IntType::I32 | IntType::I64 => true,
            IntType::U8 | IntType::U16 | IntType::U32 | IntType::U64 => false,
            IntType::Abi(abi_int) => abi_int.is_signed(),
        }
    }

    /// The name used in text output (`u32`, `long`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            IntType::U8 => "u8",
            IntType::U16 => "u16",
            IntType::U32 => "u32",
            IntType::U64 => "u64",
            IntType::I8 => "i8",
            IntType::I16 => "i16",
            IntType::I32 => "i32",
            IntType::I64 => "i64",
            IntType::Abi(abi_int) => abi_int.c_name(),
        }
    }
}

/// One labelled range of an enumeration (§6.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnumMapping {
    /// The label.
    pub label: String,
    /// Lower bound, inclusive, as the bit pattern of the underlying type's value.
    pub lo: u64,
    /// Upper bound, inclusive.
    pub hi: u64,
}

/// A named field of an event payload or a struct.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// Field name, an identifier.
    pub name: String,
    /// Field type.
    pub ty: TypeDesc,
}

impl Field {
    /// A field.
    pub fn new(name: impl Into<String>, ty: TypeDesc) -> Field {
        Field { name: name.into(), ty }
    }
}

/// A payload type (§6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeDesc {
    /// `bool`, one byte.
    Bool,
    /// An integer.
    Int(IntType),
    /// IEEE 754 binary32.
    F32,
    /// IEEE 754 binary64.
    F64,
    /// NUL-terminated string.
    String,
    /// `u32` length-prefixed bytes.
    Blob,
    /// Fixed-length array.
    Array {
        /// Element count.
        len: u32,
        /// Element type.
        element: Box<TypeDesc>,
    },
    /// `u32` count-prefixed sequence.
    Sequence {
        /// Element type.
        element: Box<TypeDesc>,
    },
    /// Enumeration over an integer.
    Enum {
        /// Underlying integer type.
        repr: IntType,
        /// Labelled ranges, first match wins.
        mappings: Vec<EnumMapping>,
    },
    /// Nested struct.
    Struct(Vec<Field>),
}

impl TypeDesc {
    /// The type code.
    pub fn code(&self) -> u8 {
        match self {
            TypeDesc::Bool => code::BOOL,
            TypeDesc::Int(int) => int.code(),
            TypeDesc::F32 => code::F32,
            TypeDesc::F64 => code::F64,
            TypeDesc::String => code::STRING,
            TypeDesc::Blob => code::BLOB,
            TypeDesc::Array { .. } => code::ARRAY,
            TypeDesc::Sequence { .. } => code::SEQUENCE,
            TypeDesc::Enum { .. } => code::ENUM,
            TypeDesc::Struct(_) => code::STRUCT,
        }
    }

    /// An array of `len` elements.
    pub fn array(len: u32, element: TypeDesc) -> TypeDesc {
        TypeDesc::Array { len, element: Box::new(element) }
    }

    /// A sequence of elements.
    pub fn sequence(element: TypeDesc) -> TypeDesc {
        TypeDesc::Sequence { element: Box::new(element) }
    }

    /// Encoded size when it does not depend on the data, under `abi`.
    pub fn fixed_size(&self, abi: &Abi) -> Option<usize> {
        match self {
            TypeDesc::Bool => Some(1),
            TypeDesc::Int(int) | TypeDesc::Enum { repr: int, .. } => Some(int.size(abi) as usize),
            TypeDesc::F32 => Some(4),
            TypeDesc::F64 => Some(8),
            TypeDesc::String | TypeDesc::Blob | TypeDesc::Sequence { .. } => None,
            TypeDesc::Array { len, element } => element.fixed_size(abi)?.checked_mul(*len as usize),
            TypeDesc::Struct(fields) => {
                fields.iter().try_fold(0usize, |sum, field| sum.checked_add(field.ty.fixed_size(abi)?))
            }
        }
    }

    /// The fewest bytes any value of this type encodes to, under `abi` (saturating).
    pub fn min_size(&self, abi: &Abi) -> usize {
        match self {
            TypeDesc::String => 1,
            TypeDesc::Blob | TypeDesc::Sequence { .. } => 4,
            TypeDesc::Array { len, element } => element.min_size(abi).saturating_mul(*len as usize),
            TypeDesc::Struct(fields) => {
                fields.iter().fold(0usize, |sum, field| sum.saturating_add(field.ty.min_size(abi)))
            }
            other => other.fixed_size(abi).unwrap_or(0),
        }
    }

    /// Whether this type, or a type inside it, can encode to 0 bytes (a struct without fields,
    /// an array of length 0, or a type made only of those), under `abi`. Such a type may not be
    /// an array or sequence element, nor lie inside one (§6.7): decoding would visit it once per
    /// element without consuming input.
    pub fn has_empty_part(&self, abi: &Abi) -> bool {
        self.min_size(abi) == 0
            || match self {
                TypeDesc::Array { element, .. } | TypeDesc::Sequence { element } => {
                    element.has_empty_part(abi)
                }
                TypeDesc::Struct(fields) => fields.iter().any(|field| field.ty.has_empty_part(abi)),
                _ => false,
            }
    }

    /// Nesting depth: 0 for a scalar, one more per array, sequence, enum or struct level (§6.7).
    pub fn depth(&self) -> usize {
        match self {
            TypeDesc::Array { element, .. } | TypeDesc::Sequence { element } => 1 + element.depth(),
            TypeDesc::Enum { .. } => 1,
            TypeDesc::Struct(fields) => 1 + fields.iter().map(|field| field.ty.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }
}

/// Whether `name` is a valid field name: `[A-Za-z_][A-Za-z0-9_]*` (§7.2).
pub fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'_'))
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ByteOrder;

    #[test]
    fn int_codes_round_trip_and_abi_sizes_follow_the_descriptor() {
        for value in 0..=255u8 {
            if let Some(int) = IntType::from_code(value) {
                assert_eq!(int.code(), value);
            }
        }
        let long = IntType::Abi(AbiInt::Long);
        assert_eq!(long.size(&Abi::lp64(ByteOrder::Little)), 8);
        assert_eq!(long.size(&Abi::ilp32(ByteOrder::Little)), 4);
        assert!(long.is_signed() && !IntType::Abi(AbiInt::Pointer).is_signed());
        assert_eq!(IntType::from_code(code::POINTER), Some(IntType::Abi(AbiInt::Pointer)));
        assert_eq!(IntType::from_code(code::BOOL), None);
    }

    #[test]
    fn sizes_and_depth() {
        let abi = Abi::ilp32(ByteOrder::Big);
        let point = TypeDesc::Struct(alloc::vec![
            Field::new("x", TypeDesc::Int(IntType::Abi(AbiInt::Long))),
            Field::new("y", TypeDesc::Int(IntType::U16)),
        ]);
        assert_eq!(point.fixed_size(&abi), Some(6));
        assert_eq!(TypeDesc::array(3, point.clone()).fixed_size(&abi), Some(18));
        assert_eq!(TypeDesc::sequence(point.clone()).fixed_size(&abi), None);
        assert_eq!(TypeDesc::sequence(point.clone()).min_size(&abi), 4);
        assert_eq!(TypeDesc::array(0, TypeDesc::F64).min_size(&abi), 0);
        let hollow = TypeDesc::Struct(alloc::vec![Field::new("none", TypeDesc::Struct(alloc::vec![]))]);
        let holding = TypeDesc::Struct(alloc::vec![
            Field::new("hollow", hollow.clone()),
            Field::new("x", TypeDesc::Bool)
        ]);
        assert!(hollow.has_empty_part(&abi));
        assert!(holding.has_empty_part(&abi), "one level down");
        assert!(TypeDesc::sequence(holding).has_empty_part(&abi), "two levels down");
        assert!(!TypeDesc::sequence(point.clone()).has_empty_part(&abi));
        assert!(!TypeDesc::array(3, TypeDesc::sequence(TypeDesc::Bool)).has_empty_part(&abi));
        assert_eq!(TypeDesc::array(2, TypeDesc::sequence(point)).depth(), 3);
        assert_eq!(
            TypeDesc::array(u32::MAX, TypeDesc::array(u32::MAX, TypeDesc::F64)).fixed_size(&Abi::HOST),
            None
        );
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("prev_pid") && is_identifier("_x1"));
        assert!(!is_identifier("") && !is_identifier("1x") && !is_identifier("a-b") && !is_identifier("é"));
    }
}
