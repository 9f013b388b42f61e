//! Marker format strings (§8): `"prev_pid %d next_comm %s"`.

use alloc::{collections::BTreeSet, string::String, vec::Vec};

use crate::types::{is_identifier, AbiInt, Field, IntType, TypeDesc};

/// How a marker argument is displayed; it does not change the encoding (§8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisplayHint {
    /// Decimal, or the type's natural form.
    Natural,
    /// Hexadecimal (`%x`, `%X`, `%p`).
    Hex,
    /// Octal (`%o`).
    Octal,
    /// A character (`%c`).
    Char,
}

/// One `name %conv` pair of a format string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MarkerArg {
    /// The field it declares.
    pub field: Field,
    /// How to display it.
    pub hint: DisplayHint,
}

/// Why a format string is invalid (§8.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MarkerError {
    /// Text that is not a `name %conv` pair.
    #[error("format string: expected `name %conv` at byte {at} (§8.1)")]
    Syntax {
        /// Byte offset in the format string.
        at: usize,
    },
    /// A conversion this grammar does not define.
    #[error("format string: unsupported conversion `%{conv}` at byte {at} (§8.2)")]
    Conversion {
        /// The conversion text after `%`.
        conv: String,
        /// Byte offset of the `%`.
        at: usize,
    },
    /// A name declared twice.
    #[error("format string: duplicate field name `{name}` (§8.2)")]
    DuplicateName {
        /// The repeated name.
        name: String,
    },
}

fn is_space(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Parses a format string into its fields, in order.
pub fn parse(format: &str) -> Result<Vec<MarkerArg>, MarkerError> {
    let bytes = format.as_bytes();
    let mut args: Vec<MarkerArg> = Vec::new();
    let mut names = BTreeSet::new();
    let mut at = 0;
    let skip_space = |mut at: usize| {
        while bytes.get(at).copied().is_some_and(is_space) {
            at += 1;
        }
        at
    };
    at = skip_space(at);
    while at < bytes.len() {
        if !args.is_empty() && !is_space(bytes[at - 1]) {
            return Err(MarkerError::Syntax { at });
        }
        let name_start = at;
        while bytes.get(at).is_some_and(|byte| byte.is_ascii_alphanumeric() || *byte == b'_') {
            at += 1;
        }
        let name = &format[name_start..at];
        if !is_identifier(name) {
            return Err(MarkerError::Syntax { at: name_start });
        }
        let after_name = at;
        at = skip_space(at);
        if at == after_name || bytes.get(at) != Some(&b'%') {
            return Err(MarkerError::Syntax { at });
        }
        let percent = at;
        at += 1;
        let conv_start = at;
        while bytes.get(at).is_some_and(|byte| byte.is_ascii_alphabetic()) {
            at += 1;
        }
        let conv = &format[conv_start..at];
        let (ty, hint) =
            conversion(conv).ok_or_else(|| MarkerError::Conversion { conv: conv.into(), at: percent })?;
        if !names.insert(name) {
            return Err(MarkerError::DuplicateName { name: name.into() });
        }
        args.push(MarkerArg { field: Field::new(name, ty), hint });
        at = skip_space(at);
    }
    Ok(args)
}

/// The type and display hint of one conversion (without the `%`).
pub fn conversion(conv: &str) -> Option<(TypeDesc, DisplayHint)> {
    let (length, spec) = conv.split_at(conv.len().checked_sub(1)?);
    let hint = match spec {
        "d" | "i" | "u" | "f" | "e" | "g" | "s" => DisplayHint::Natural,
        "x" | "X" | "p" => DisplayHint::Hex,
        "o" => DisplayHint::Octal,
        "c" => DisplayHint::Char,
        _ => return None,
    };
    let signed = matches!(spec, "d" | "i");
    let int = |signed_type: IntType, unsigned_type: IntType| {
        Some(TypeDesc::Int(if signed { signed_type } else { unsigned_type }))
    };
    let abi = |signed_type: AbiInt, unsigned_type: AbiInt| {
        int(IntType::Abi(signed_type), IntType::Abi(unsigned_type))
    };
    let ty = match (length, spec) {
        ("", "c") => Some(TypeDesc::Int(IntType::U8)),
        ("", "s") => Some(TypeDesc::String),
        ("", "p") => Some(TypeDesc::Int(IntType::Abi(AbiInt::Pointer))),
        ("", "f" | "e" | "g") => Some(TypeDesc::F64),
        (_, "c" | "s" | "p" | "f" | "e" | "g") => None,
        ("hh", _) => int(IntType::I8, IntType::U8),
        ("h", _) => abi(AbiInt::Short, AbiInt::UShort),
        ("", _) => abi(AbiInt::Int, AbiInt::UInt),
        ("l", _) => abi(AbiInt::Long, AbiInt::ULong),
        ("ll", _) => abi(AbiInt::LongLong, AbiInt::ULongLong),
        ("z" | "t", _) => abi(AbiInt::SSizeT, AbiInt::SizeT),
        ("j", _) => int(IntType::I64, IntType::U64),
        _ => None,
    }?;
    Some((ty, hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(format: &str) -> Vec<(String, TypeDesc)> {
        parse(format).unwrap().into_iter().map(|arg| (arg.field.name, arg.field.ty)).collect()
    }

    #[test]
    fn pairs_map_to_abi_types() {
        let parsed = types("  prev_pid %d\tnext_comm %s  addr %p len %zu big %llx c %c t %hhu ");
        let expected = [
            ("prev_pid", TypeDesc::Int(IntType::Abi(AbiInt::Int))),
            ("next_comm", TypeDesc::String),
            ("addr", TypeDesc::Int(IntType::Abi(AbiInt::Pointer))),
            ("len", TypeDesc::Int(IntType::Abi(AbiInt::SizeT))),
            ("big", TypeDesc::Int(IntType::Abi(AbiInt::ULongLong))),
            ("c", TypeDesc::Int(IntType::U8)),
            ("t", TypeDesc::Int(IntType::U8)),
        ];
        assert_eq!(parsed.len(), expected.len());
        for ((name, ty), (expected_name, expected_ty)) in parsed.iter().zip(expected) {
            assert_eq!((name.as_str(), ty), (expected_name, &expected_ty));
        }
        assert_eq!(parse("x %lx").unwrap()[0].hint, DisplayHint::Hex);
        assert!(parse("").unwrap().is_empty() && parse("   ").unwrap().is_empty());
    }

    #[test]
    fn invalid_format_strings_are_rejected_with_a_position() {
        assert_eq!(parse("pid=%d"), Err(MarkerError::Syntax { at: 3 }));
        assert_eq!(parse("pid %d extra"), Err(MarkerError::Syntax { at: 12 }));
        assert_eq!(parse("%d"), Err(MarkerError::Syntax { at: 0 }));
        assert!(matches!(parse("a %q"), Err(MarkerError::Conversion { at: 2, .. })));
        assert!(matches!(parse("a %ls"), Err(MarkerError::Conversion { .. })));
        assert!(matches!(parse("a %"), Err(MarkerError::Conversion { .. })));
        assert!(matches!(parse("a %d a %u"), Err(MarkerError::DuplicateName { .. })));
        assert_eq!(parse("a %d%d"), Err(MarkerError::Syntax { at: 4 }));
    }
}
