//! Field values (§6) as the reader delivers them, borrowing from the trace's bytes: the bottom
//! layer's output, knowing nothing of packets or streams.
//!
//! # Serialization
//!
//! [`Value`] implements [`serde::Serialize`]:
//! - integers as numbers, floats as numbers (a serializer may turn NaN into `null`);
//! - strings ([`Value::Str`]) as text; bytes that are not valid UTF-8 become U+FFFD
//!   replacement characters (§6.5): the exact bytes remain available through [`Value::Str`];
//! - blobs ([`Value::Blob`]) as a string of lowercase hexadecimal digit pairs, e.g. `"00ff10"`;
//! - arrays and sequences as sequences, structs as maps in field order;
//! - enumerations as `{"value": n, "label": "NAME"}`, `label` being `null` when no mapping
//!   matches;
//! - display hints are not applied: a `%x` marker argument is still a number.

use std::{borrow::Cow, fmt};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use tracemark_format::marker::DisplayHint;

/// An integer that keeps its signedness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Integer {
    /// From an unsigned type.
    Unsigned(u64),
    /// From a signed type.
    Signed(i64),
}

impl Integer {
    /// The value as an `i128`, which holds both kinds exactly.
    pub fn as_i128(self) -> i128 {
        match self {
            Integer::Unsigned(value) => i128::from(value),
            Integer::Signed(value) => i128::from(value),
        }
    }
}

impl fmt::Display for Integer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Integer::Unsigned(value) => write!(f, "{value}"),
            Integer::Signed(value) => write!(f, "{value}"),
        }
    }
}

impl Serialize for Integer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Integer::Unsigned(value) => serializer.serialize_u64(*value),
            Integer::Signed(value) => serializer.serialize_i64(*value),
        }
    }
}

/// A decoded field value (§6). Byte slices borrow from the trace's bytes; names and labels
/// borrow from its metadata.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'t> {
    /// `bool`.
    Bool(bool),
    /// An unsigned integer of any size, fixed or ABI-sized (§6.2, §6.3).
    Unsigned(u64),
    /// A signed integer of any size, sign-extended.
    Signed(i64),
    /// `f32`.
    F32(f32),
    /// `f64`.
    F64(f64),
    /// A string's bytes, without the NUL; not necessarily UTF-8 (§6.5).
    Str(&'t [u8]),
    /// A blob's bytes.
    Blob(&'t [u8]),
    /// A fixed-length array.
    Array(Vec<Value<'t>>),
    /// A counted sequence.
    Sequence(Vec<Value<'t>>),
    /// An enumeration value and its label (the first matching mapping, §6.6).
    Enum {
        /// The underlying integer.
        value: Integer,
        /// The label, if a mapping matches.
        label: Option<&'t str>,
    },
    /// A struct's fields, in order.
    Struct(Vec<(&'t str, Value<'t>)>),
}

impl<'t> Value<'t> {
    /// The value as a `u64`: unsigned integers, non-negative signed integers, enumerations.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Unsigned(value) | Value::Enum { value: Integer::Unsigned(value), .. } => Some(*value),
            Value::Signed(value) | Value::Enum { value: Integer::Signed(value), .. } => {
                u64::try_from(*value).ok()
            }
            _ => None,
        }
    }

    /// The value as an `i64`: signed integers, unsigned ones that fit, enumerations.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Signed(value) | Value::Enum { value: Integer::Signed(value), .. } => Some(*value),
            Value::Unsigned(value) | Value::Enum { value: Integer::Unsigned(value), .. } => {
                i64::try_from(*value).ok()
            }
            _ => None,
        }
    }

    /// A string's text, with replacement characters for invalid UTF-8.
    pub fn as_str(&self) -> Option<Cow<'t, str>> {
        match self {
            Value::Str(bytes) => Some(String::from_utf8_lossy(bytes)),
            _ => None,
        }
    }

    /// A struct member by name.
    pub fn field(&self, name: &str) -> Option<&Value<'t>> {
        match self {
            Value::Struct(fields) => find(fields, name),
            _ => None,
        }
    }

    /// The elements of an array or sequence.
    pub fn elements(&self) -> Option<&[Value<'t>]> {
        match self {
            Value::Array(values) | Value::Sequence(values) => Some(values),
            _ => None,
        }
    }

    /// Displays the value with a marker display hint (§8.2): `Hex` as `0x1f`, `Octal` as
    /// `017`, `Char` as `'a'`. The hint applies to integers; other values display naturally.
    pub fn display(&self, hint: DisplayHint) -> HintedValue<'_, 't> {
        HintedValue { value: self, hint }
    }
}

pub(crate) fn find<'a, 't>(fields: &'a [(&'t str, Value<'t>)], name: &str) -> Option<&'a Value<'t>> {
    fields.iter().find(|(field, _)| *field == name).map(|(_, value)| value)
}

/// A [`Value`] with a display hint; see [`Value::display`].
#[derive(Debug, Clone, Copy)]
pub struct HintedValue<'a, 't> {
    value: &'a Value<'t>,
    hint: DisplayHint,
}

fn write_char(f: &mut fmt::Formatter<'_>, code: u64) -> fmt::Result {
    match u8::try_from(code) {
        Ok(byte) if byte.is_ascii_graphic() || byte == b' ' => write!(f, "'{}'", byte as char),
        Ok(byte) => write!(f, "'\\x{byte:02x}'"),
        Err(_) => write!(f, "{code}"),
    }
}

impl fmt::Display for HintedValue<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = match self.value {
            Value::Unsigned(value) => *value,
            Value::Signed(value) => *value as u64,
            other => return write!(f, "{other}"),
        };
        match self.hint {
            DisplayHint::Natural => write!(f, "{}", self.value),
            DisplayHint::Hex => write!(f, "{bits:#x}"),
            DisplayHint::Octal if bits == 0 => f.write_str("0"),
            DisplayHint::Octal => write!(f, "0{bits:o}"),
            DisplayHint::Char => write_char(f, bits),
        }
    }
}

fn write_list<'t>(f: &mut fmt::Formatter<'_>, values: &[Value<'t>]) -> fmt::Result {
    f.write_str("[")?;
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{value}")?;
    }
    f.write_str("]")
}

/// Writes `name = value, ...` for a field list.
pub(crate) fn write_fields(
    f: &mut fmt::Formatter<'_>,
    fields: &[(&str, Value<'_>)],
    hints: Option<&[DisplayHint]>,
) -> fmt::Result {
    for (index, (name, value)) in fields.iter().enumerate() {
        if index > 0 {
            f.write_str(", ")?;
        }
        match hints.and_then(|hints| hints.get(index)) {
            Some(hint) => write!(f, "{name} = {}", value.display(*hint))?,
            None => write!(f, "{name} = {value}")?,
        }
    }
    Ok(())
}

impl fmt::Display for Value<'_> {
    /// Natural text: strings quoted (invalid UTF-8 replaced), blobs as `<N bytes: hex>`,
    /// structs as `{ a = 1, b = 2 }`, enumerations as `LABEL (n)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(value) => write!(f, "{value}"),
            Value::Unsigned(value) => write!(f, "{value}"),
            Value::Signed(value) => write!(f, "{value}"),
            Value::F32(value) => write!(f, "{value}"),
            Value::F64(value) => write!(f, "{value}"),
            Value::Str(bytes) => write!(f, "{:?}", String::from_utf8_lossy(bytes)),
            Value::Blob(bytes) => write!(f, "<{} bytes: {}>", bytes.len(), Hex(bytes)),
            Value::Array(values) | Value::Sequence(values) => write_list(f, values),
            Value::Enum { value, label: Some(label) } => write!(f, "{label} ({value})"),
            Value::Enum { value, label: None } => write!(f, "{value}"),
            Value::Struct(fields) => {
                f.write_str("{ ")?;
                write_fields(f, fields, None)?;
                f.write_str(" }")
            }
        }
    }
}

/// Lowercase hexadecimal digit pairs.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

pub(crate) struct FieldsJson<'a, 't>(pub(crate) &'a [(&'t str, Value<'t>)]);

impl Serialize for FieldsJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_fields(serializer, Some(self.0.len()), self.0.iter().map(|(name, value)| (*name, value)))
    }
}

/// `fields` as a map from name to value, in order; `len` is their number, when known.
pub(crate) fn serialize_fields<'n, S: Serializer, V: Serialize>(
    serializer: S,
    len: Option<usize>,
    fields: impl Iterator<Item = (&'n str, V)>,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(len)?;
    for (name, value) in fields {
        map.serialize_entry(name, &value)?;
    }
    map.end()
}

impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Bool(value) => serializer.serialize_bool(*value),
            Value::Unsigned(value) => serializer.serialize_u64(*value),
            Value::Signed(value) => serializer.serialize_i64(*value),
            Value::F32(value) => serializer.serialize_f32(*value),
            Value::F64(value) => serializer.serialize_f64(*value),
            Value::Str(bytes) => serializer.serialize_str(&String::from_utf8_lossy(bytes)),
            Value::Blob(bytes) => serializer.collect_str(&Hex(bytes)),
            Value::Array(values) | Value::Sequence(values) => {
                let mut seq = serializer.serialize_seq(Some(values.len()))?;
                for value in values {
                    seq.serialize_element(value)?;
                }
                seq.end()
            }
            Value::Enum { value, label } => {
                let mut map = serializer.serialize_struct("Enum", 2)?;
                map.serialize_field("value", value)?;
                map.serialize_field("label", label)?;
                map.end()
            }
            Value::Struct(fields) => FieldsJson(fields).serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_serialize_as_documented() {
        let value = Value::Struct(vec![
            ("s", Value::Str(b"ok\xff")),
            ("b", Value::Blob(&[0, 0xAB])),
            ("e", Value::Enum { value: Integer::Signed(-1), label: Some("NEG") }),
            ("a", Value::Array(vec![Value::Unsigned(1), Value::Signed(-2)])),
        ]);
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(json, r#"{"s":"ok�","b":"00ab","e":{"value":-1,"label":"NEG"},"a":[1,-2]}"#);
    }

    #[test]
    fn hints_change_the_display_only() {
        assert_eq!(Value::Unsigned(31).display(DisplayHint::Hex).to_string(), "0x1f");
        assert_eq!(Value::Unsigned(15).display(DisplayHint::Octal).to_string(), "017");
        assert_eq!(Value::Unsigned(97).display(DisplayHint::Char).to_string(), "'a'");
        assert_eq!(Value::Signed(-1).display(DisplayHint::Natural).to_string(), "-1");
        assert_eq!(Value::Str(b"x").display(DisplayHint::Hex).to_string(), "\"x\"");
        assert_eq!(
            Value::Struct(vec![("a", Value::Bool(true)), ("b", Value::Blob(&[1]))]).to_string(),
            "{ a = true, b = <1 bytes: 01> }"
        );
    }
}
