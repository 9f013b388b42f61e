//! Payload values, their validation against a layout, and the C put calls that store them.

use core::ffi::{c_int, c_long, c_longlong, c_short, c_uint, c_ulong, c_ulonglong, c_ushort};
use std::{ffi::CString, mem::size_of};

use tracemark_format::{
    types::{code, AbiInt},
    Field, IntType, TypeDesc,
};

use crate::{ffi::RawWriter, Error};

/// One payload value, typed as the C writer stores it. ABI-sized variants (§6.3) carry the
/// host's C types. An enumeration field takes the integer variant of its underlying type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `bool`
    Bool(bool),
    /// `u8`
    U8(u8),
    /// `u16`
    U16(u16),
    /// `u32`
    U32(u32),
    /// `u64`
    U64(u64),
    /// `i8`
    I8(i8),
    /// `i16`
    I16(i16),
    /// `i32`
    I32(i32),
    /// `i64`
    I64(i64),
    /// `f32`
    F32(f32),
    /// `f64`
    F64(f64),
    /// `short`
    Short(c_short),
    /// `unsigned short`
    UShort(c_ushort),
    /// `int`
    Int(c_int),
    /// `unsigned int`
    UInt(c_uint),
    /// `long`
    Long(c_long),
    /// `unsigned long`
    ULong(c_ulong),
    /// `long long`
    LongLong(c_longlong),
    /// `unsigned long long`
    ULongLong(c_ulonglong),
    /// `size_t`
    SizeT(usize),
    /// `ssize_t`
    SSizeT(isize),
    /// A pointer's address.
    Pointer(usize),
    /// A string's bytes, without NUL (any bytes but NUL, not necessarily UTF-8, §6.5).
    Str(Vec<u8>),
    /// A blob.
    Blob(Vec<u8>),
    /// An array: exactly the declared number of elements.
    Array(Vec<Value>),
    /// A sequence.
    Sequence(Vec<Value>),
    /// A struct's field values, in declared order.
    Struct(Vec<Value>),
}

impl Value {
    /// A string value.
    pub fn str(text: &str) -> Value {
        Value::Str(text.as_bytes().to_vec())
    }
}

/// One marker argument. Signed conversions (`%d`, `%ld`, `%hhd`, `%zd`, `%jd`, …) take
/// [`Int`](MarkerArg::Int), unsigned ones and `%c` take [`UInt`](MarkerArg::UInt); the value
/// must fit the host C type of the conversion (§8.2).
#[derive(Debug, Clone, PartialEq)]
pub enum MarkerArg {
    /// Signed integer conversions.
    Int(i64),
    /// Unsigned integer conversions and `%c`.
    UInt(u64),
    /// `%f`, `%e`, `%g`.
    F64(f64),
    /// `%s`: bytes without NUL, at most 65535 (the C marker measures strings up to that).
    Str(Vec<u8>),
    /// `%p`.
    Pointer(usize),
}

impl MarkerArg {
    /// The bits the C side stores for a non-string argument.
    pub(crate) fn bits(&self) -> u64 {
        match self {
            MarkerArg::Int(value) => *value as u64,
            MarkerArg::UInt(value) => *value,
            MarkerArg::F64(value) => value.to_bits(),
            MarkerArg::Pointer(address) => *address as u64,
            MarkerArg::Str(_) => 0,
        }
    }
}

fn payload_error(path: &str, what: impl std::fmt::Display) -> Error {
    Error::Payload(format!("{path}: {what}"))
}

/// Size of an integer value of type `int`, if the value is of that type.
fn int_size(int: IntType, value: &Value) -> Option<usize> {
    Some(match (int, value) {
        (IntType::U8, Value::U8(_)) | (IntType::I8, Value::I8(_)) => 1,
        (IntType::U16, Value::U16(_)) | (IntType::I16, Value::I16(_)) => 2,
        (IntType::U32, Value::U32(_)) | (IntType::I32, Value::I32(_)) => 4,
        (IntType::U64, Value::U64(_)) | (IntType::I64, Value::I64(_)) => 8,
        (IntType::Abi(abi), value) => match (abi, value) {
            (AbiInt::Short, Value::Short(_)) => size_of::<c_short>(),
            (AbiInt::UShort, Value::UShort(_)) => size_of::<c_ushort>(),
            (AbiInt::Int, Value::Int(_)) => size_of::<c_int>(),
            (AbiInt::UInt, Value::UInt(_)) => size_of::<c_uint>(),
            (AbiInt::Long, Value::Long(_)) => size_of::<c_long>(),
            (AbiInt::ULong, Value::ULong(_)) => size_of::<c_ulong>(),
            (AbiInt::LongLong, Value::LongLong(_)) => size_of::<c_longlong>(),
            (AbiInt::ULongLong, Value::ULongLong(_)) => size_of::<c_ulonglong>(),
            (AbiInt::SizeT, Value::SizeT(_)) => size_of::<usize>(),
            (AbiInt::SSizeT, Value::SSizeT(_)) => size_of::<isize>(),
            (AbiInt::Pointer, Value::Pointer(_)) => size_of::<usize>(),
            _ => return None,
        },
        _ => return None,
    })
}

fn type_size(ty: &TypeDesc, value: &Value, path: &str) -> Result<u64, Error> {
    let size = match (ty, value) {
        (TypeDesc::Bool, Value::Bool(_)) => 1,
        (TypeDesc::Int(int) | TypeDesc::Enum { repr: int, .. }, value) => int_size(*int, value)
            .ok_or_else(|| payload_error(path, format_args!("expected {}", int.name())))?
            as u64,
        (TypeDesc::F32, Value::F32(_)) => 4,
        (TypeDesc::F64, Value::F64(_)) => 8,
        (TypeDesc::String, Value::Str(bytes)) => {
            if bytes.contains(&0) {
                return Err(payload_error(path, "NUL inside a string"));
            }
            bytes.len() as u64 + 1
        }
        (TypeDesc::Blob, Value::Blob(bytes)) => {
            u32::try_from(bytes.len()).map_err(|_| payload_error(path, "blob longer than u32"))?;
            4 + bytes.len() as u64
        }
        (TypeDesc::Array { len, element }, Value::Array(values)) => {
            if values.len() != *len as usize {
                return Err(payload_error(
                    path,
                    format_args!("{} elements for an array of {len}", values.len()),
                ));
            }
            elements_size(element, values, path)?
        }
        (TypeDesc::Sequence { element }, Value::Sequence(values)) => {
            u32::try_from(values.len()).map_err(|_| payload_error(path, "sequence longer than u32"))?;
            4 + elements_size(element, values, path)?
        }
        (TypeDesc::Struct(fields), Value::Struct(values)) => fields_size(fields, values, path)?,
        (ty, value) => {
            return Err(payload_error(path, format_args!("{value:?} for a {:#04x} field", ty.code())))
        }
    };
    Ok(size)
}

fn elements_size(element: &TypeDesc, values: &[Value], path: &str) -> Result<u64, Error> {
    values.iter().enumerate().try_fold(0u64, |sum, (i, value)| {
        Ok(sum.saturating_add(type_size(element, value, &format!("{path}[{i}]"))?))
    })
}

fn fields_size(fields: &[Field], values: &[Value], path: &str) -> Result<u64, Error> {
    if fields.len() != values.len() {
        return Err(payload_error(path, format_args!("{} values for {} fields", values.len(), fields.len())));
    }
    fields.iter().zip(values).try_fold(0u64, |sum, (field, value)| {
        Ok(sum.saturating_add(type_size(&field.ty, value, &format!("{path}.{}", field.name))?))
    })
}

/// The payload size of `values` under `fields`, or why they do not match.
pub(crate) fn payload_size(fields: &[Field], values: &[Value]) -> Result<u64, Error> {
    fields_size(fields, values, "")
}

/// Stores `value` (validated against `ty` by [`payload_size`]) with the C put functions.
pub(crate) fn put(raw: &mut RawWriter, ty: &TypeDesc, value: &Value) {
    match value {
        Value::Bool(v) => raw.put_bool(*v),
        Value::U8(v) => raw.put_u8(*v),
        Value::U16(v) => raw.put_u16(*v),
        Value::U32(v) => raw.put_u32(*v),
        Value::U64(v) => raw.put_u64(*v),
        Value::I8(v) => raw.put_i8(*v),
        Value::I16(v) => raw.put_i16(*v),
        Value::I32(v) => raw.put_i32(*v),
        Value::I64(v) => raw.put_i64(*v),
        Value::F32(v) => raw.put_f32(*v),
        Value::F64(v) => raw.put_f64(*v),
        Value::Short(v) => raw.put_short(*v),
        Value::UShort(v) => raw.put_ushort(*v),
        Value::Int(v) => raw.put_int(*v),
        Value::UInt(v) => raw.put_uint(*v),
        Value::Long(v) => raw.put_long(*v),
        Value::ULong(v) => raw.put_ulong(*v),
        Value::LongLong(v) => raw.put_llong(*v),
        Value::ULongLong(v) => raw.put_ullong(*v),
        Value::SizeT(v) => raw.put_size(*v),
        Value::SSizeT(v) => raw.put_ssize(*v as c_longlong),
        Value::Pointer(v) => raw.put_ptr(*v),
        Value::Str(bytes) => {
            // Validated: no NUL inside.
            let c = CString::new(bytes.clone()).unwrap_or_default();
            raw.put_string(&c);
        }
        Value::Blob(bytes) => raw.put_blob(bytes),
        Value::Array(values) | Value::Sequence(values) => {
            let element = match ty {
                TypeDesc::Array { element, .. } | TypeDesc::Sequence { element } => element,
                _ => return,
            };
            if matches!(value, Value::Sequence(_)) {
                raw.put_seq_count(values.len() as u32);
            }
            for v in values {
                put(raw, element, v);
            }
        }
        Value::Struct(values) => {
            if let TypeDesc::Struct(fields) = ty {
                for (field, v) in fields.iter().zip(values) {
                    put(raw, &field.ty, v);
                }
            }
        }
    }
}

#[allow(clippy::useless_conversion, reason = "`c_long` is 32-bit on ILP32 targets")]
fn signed_range(code: u8) -> Option<(i64, i64)> {
    Some(match code {
        code::I8 => (i8::MIN.into(), i8::MAX.into()),
        code::SHORT => (c_short::MIN.into(), c_short::MAX.into()),
        code::INT => (c_int::MIN.into(), c_int::MAX.into()),
        code::LONG => (i64::from(c_long::MIN), i64::from(c_long::MAX)),
        code::LONG_LONG => (c_longlong::MIN, c_longlong::MAX),
        code::I64 => (i64::MIN, i64::MAX),
        code::SSIZE_T => (isize::MIN as i64, isize::MAX as i64),
        _ => return None,
    })
}

#[allow(clippy::useless_conversion, reason = "`c_ulong` is 32-bit on ILP32 targets")]
fn unsigned_max(code: u8) -> Option<u64> {
    Some(match code {
        code::U8 => u8::MAX.into(),
        code::USHORT => c_ushort::MAX.into(),
        code::UINT => c_uint::MAX.into(),
        code::ULONG => u64::from(c_ulong::MAX),
        code::ULONG_LONG => c_ulonglong::MAX,
        code::U64 => u64::MAX,
        code::SIZE_T => usize::MAX as u64,
        _ => return None,
    })
}

/// Checks marker arguments against the pairs' type codes (from the C format parser) and
/// returns the `%s` arguments as C strings, in order.
pub(crate) fn marker_check(codes: &[u8], args: &[MarkerArg]) -> Result<Vec<CString>, Error> {
    if codes.len() != args.len() {
        return Err(Error::Payload(format!("{} arguments for {} conversions", args.len(), codes.len())));
    }
    let mut strings = Vec::new();
    for (i, (&code, arg)) in codes.iter().zip(args).enumerate() {
        let bad =
            || Error::Payload(format!("argument {i}: {arg:?} does not fit conversion type {code:#04x}"));
        match (code, arg) {
            (code::STRING, MarkerArg::Str(bytes)) => {
                if bytes.len() > 65535 {
                    return Err(bad());
                }
                strings.push(CString::new(bytes.clone()).map_err(|_| bad())?);
            }
            (code::F64, MarkerArg::F64(_)) => {}
            (code::POINTER, MarkerArg::Pointer(_)) => {}
            (code, MarkerArg::Int(value)) => match signed_range(code) {
                Some((lo, hi)) if (lo..=hi).contains(value) => {}
                _ => return Err(bad()),
            },
            (code, MarkerArg::UInt(value)) => match unsigned_max(code) {
                Some(max) if *value <= max => {}
                _ => return Err(bad()),
            },
            _ => return Err(bad()),
        }
    }
    Ok(strings)
}
