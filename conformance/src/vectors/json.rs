//! The events a vector must decode to, as the reader serializes them (its documented serde
//! conventions: integers as numbers, blobs as hexadecimal, enumerations as `{value, label}`,
//! strings with invalid UTF-8 replaced), computed from the values written, never from a read.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use tracemark_format::{Abi, ClockClass, Field, TypeDesc};
use tracemark_reader::Integer;

use crate::{compare::expected_integer, Val};

/// A value as the reader must deliver it.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// `bool`.
    Bool(bool),
    /// An integer, with its signedness.
    Int(Integer),
    /// `f32`.
    F32(f32),
    /// `f64`.
    F64(f64),
    /// A string's bytes.
    Str(Vec<u8>),
    /// A blob.
    Blob(Vec<u8>),
    /// Array or sequence elements.
    List(Vec<Expected>),
    /// An enumeration value and its label.
    Enum(Integer, Option<String>),
    /// Struct members in order.
    Struct(Vec<(String, Expected)>),
}

/// Why a value cannot be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

/// The value the reader must decode for `value` written as `ty` under `abi`.
pub fn expected(ty: &TypeDesc, value: &Val, abi: &Abi) -> Result<Expected, Mismatch> {
    let bits = |value: &Val| match value {
        Val::U(bits) => Some(*bits),
        Val::I(number) => Some(*number as u64),
        _ => None,
    };
    let mismatch = || Mismatch(format!("{value:?} is not a {ty:?}"));
    Ok(match (ty, value) {
        (TypeDesc::Bool, Val::Bool(flag)) => Expected::Bool(*flag),
        (TypeDesc::Int(int), value) => {
            Expected::Int(expected_integer(*int, bits(value).ok_or_else(mismatch)?, abi))
        }
        (TypeDesc::Enum { repr, mappings }, value) => {
            let integer = expected_integer(*repr, bits(value).ok_or_else(mismatch)?, abi);
            let label = mappings
                .iter()
                .find(|mapping| match integer {
                    Integer::Signed(number) => mapping.lo as i64 <= number && number <= mapping.hi as i64,
                    Integer::Unsigned(number) => mapping.lo <= number && number <= mapping.hi,
                })
                .map(|mapping| mapping.label.clone());
            Expected::Enum(integer, label)
        }
        (TypeDesc::F32, Val::F32(number)) => Expected::F32(*number),
        (TypeDesc::F64, Val::F64(number)) => Expected::F64(*number),
        (TypeDesc::String, Val::Str(bytes)) => Expected::Str(bytes.clone()),
        (TypeDesc::Blob, Val::Blob(bytes)) => Expected::Blob(bytes.clone()),
        (TypeDesc::Array { element, .. } | TypeDesc::Sequence { element }, Val::List(values)) => {
            Expected::List(
                values.iter().map(|value| expected(element, value, abi)).collect::<Result<_, _>>()?,
            )
        }
        (TypeDesc::Struct(fields), Val::Struct(values)) if fields.len() == values.len() => Expected::Struct(
            fields
                .iter()
                .zip(values)
                .map(|(field, value)| Ok((field.name.clone(), expected(&field.ty, value, abi)?)))
                .collect::<Result<_, Mismatch>>()?,
        ),
        _ => return Err(mismatch()),
    })
}

struct Hex<'a>(&'a [u8]);

impl std::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

fn serialize_integer<S: Serializer>(integer: &Integer, serializer: S) -> Result<S::Ok, S::Error> {
    match integer {
        Integer::Unsigned(value) => serializer.serialize_u64(*value),
        Integer::Signed(value) => serializer.serialize_i64(*value),
    }
}

struct IntegerJson<'a>(&'a Integer);

impl Serialize for IntegerJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_integer(self.0, serializer)
    }
}

impl Serialize for Expected {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Expected::Bool(flag) => serializer.serialize_bool(*flag),
            Expected::Int(integer) => serialize_integer(integer, serializer),
            Expected::F32(number) => serializer.serialize_f32(*number),
            Expected::F64(number) => serializer.serialize_f64(*number),
            Expected::Str(bytes) => serializer.serialize_str(&String::from_utf8_lossy(bytes)),
            Expected::Blob(bytes) => serializer.collect_str(&Hex(bytes)),
            Expected::List(values) => {
                let mut seq = serializer.serialize_seq(Some(values.len()))?;
                for value in values {
                    seq.serialize_element(value)?;
                }
                seq.end()
            }
            Expected::Enum(integer, label) => {
                let mut map = serializer.serialize_struct("Enum", 2)?;
                map.serialize_field("value", &IntegerJson(integer))?;
                map.serialize_field("label", label)?;
                map.end()
            }
            Expected::Struct(fields) => Members(fields).serialize(serializer),
        }
    }
}

struct Members<'a>(&'a [(String, Expected)]);

impl Serialize for Members<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// One event as the reader must serialize it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventJson {
    /// Class name.
    pub name: String,
    /// Class ID.
    pub id: u32,
    /// Timestamp in ticks.
    pub timestamp: u64,
    /// Nanoseconds since the epoch, when the stream's clock is declared.
    pub unix_ns: Option<i128>,
    /// Stream class.
    pub stream_class: u32,
    /// Stream instance.
    pub stream_instance: u32,
    /// Fields in order.
    pub fields: Vec<(String, Expected)>,
}

impl Serialize for EventJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut event = serializer.serialize_struct("Event", 7)?;
        event.serialize_field("name", &self.name)?;
        event.serialize_field("id", &self.id)?;
        event.serialize_field("timestamp", &self.timestamp)?;
        match self.unix_ns {
            Some(ns) => match i64::try_from(ns) {
                Ok(ns) => event.serialize_field("unix_ns", &ns)?,
                Err(_) => event.serialize_field("unix_ns", &ns)?,
            },
            None => event.serialize_field("unix_ns", &None::<i64>)?,
        }
        event.serialize_field("stream_class", &self.stream_class)?;
        event.serialize_field("stream_instance", &self.stream_instance)?;
        event.serialize_field("fields", &Members(&self.fields))?;
        event.end()
    }
}

/// The JSON line of an event of a class with `fields`, written with `values`.
#[allow(clippy::too_many_arguments)]
pub fn event_line(
    name: &str,
    id: u32,
    timestamp: u64,
    clock: Option<&ClockClass>,
    stream: (u32, u32),
    fields: &[Field],
    values: &[Val],
    abi: &Abi,
) -> Result<String, Mismatch> {
    if fields.len() != values.len() {
        return Err(Mismatch(format!("{} values for {} fields of {name}", values.len(), fields.len())));
    }
    let fields = fields
        .iter()
        .zip(values)
        .map(|(field, value)| Ok((field.name.clone(), expected(&field.ty, value, abi)?)))
        .collect::<Result<_, Mismatch>>()?;
    let event = EventJson {
        name: name.into(),
        id,
        timestamp,
        unix_ns: clock.map(|clock| clock.to_unix_ns(timestamp)),
        stream_class: stream.0,
        stream_instance: stream.1,
        fields,
    };
    serde_json::to_string(&event).map_err(|error| Mismatch(error.to_string()))
}
