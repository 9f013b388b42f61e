//! What the reader must decode from what a writer was given: one stream's events, field by
//! field, and the only diagnostics a correct writer causes (discarded events, §10.1).

use tracemark_conformance::{compare::expected_integer, Val};
use tracemark_format::{Abi, Field, TypeDesc};
use tracemark_reader::{DiagnosticKind, Integer, Item, StreamId, Trace, Value};

/// One event a writer recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// Class name.
    pub name: String,
    /// Timestamp.
    pub timestamp: u64,
    /// The class's fields (a marker's, from its format string).
    pub fields: Vec<Field>,
    /// The values given, one per field.
    pub values: Vec<Val>,
}

/// Whether `read` is what a writer given `wrote` as `ty` under `abi` must produce.
pub fn value_matches(ty: &TypeDesc, wrote: &Val, read: &Value<'_>, abi: &Abi) -> bool {
    let bits = match wrote {
        Val::U(bits) => Some(*bits),
        Val::I(number) => Some(*number as u64),
        _ => None,
    };
    match (ty, read) {
        (TypeDesc::Bool, Value::Bool(flag)) => *wrote == Val::Bool(*flag),
        (TypeDesc::Int(int), Value::Unsigned(number)) => {
            bits.map(|bits| expected_integer(*int, bits, abi)) == Some(Integer::Unsigned(*number))
        }
        (TypeDesc::Int(int), Value::Signed(number)) => {
            bits.map(|bits| expected_integer(*int, bits, abi)) == Some(Integer::Signed(*number))
        }
        (TypeDesc::Enum { repr, mappings }, Value::Enum { value, label }) => {
            let Some(expected) = bits.map(|bits| expected_integer(*repr, bits, abi)) else { return false };
            let expected_label = mappings
                .iter()
                .find(|mapping| match expected {
                    Integer::Signed(number) => (mapping.lo as i64..=mapping.hi as i64).contains(&number),
                    Integer::Unsigned(number) => (mapping.lo..=mapping.hi).contains(&number),
                })
                .map(|mapping| mapping.label.as_str());
            *value == expected && *label == expected_label
        }
        (TypeDesc::F32, Value::F32(number)) => {
            matches!(wrote, Val::F32(w) if w.to_bits() == number.to_bits())
        }
        (TypeDesc::F64, Value::F64(number)) => {
            matches!(wrote, Val::F64(w) if w.to_bits() == number.to_bits())
        }
        (TypeDesc::String, Value::Str(bytes)) => matches!(wrote, Val::Str(w) if w == bytes),
        (TypeDesc::Blob, Value::Blob(bytes)) => matches!(wrote, Val::Blob(w) if w == bytes),
        (TypeDesc::Array { element, .. }, Value::Array(values))
        | (TypeDesc::Sequence { element }, Value::Sequence(values)) => match wrote {
            Val::List(written) => {
                written.len() == values.len()
                    && written
                        .iter()
                        .zip(values)
                        .all(|(wrote, read)| value_matches(element, wrote, read, abi))
            }
            _ => false,
        },
        (TypeDesc::Struct(fields), Value::Struct(values)) => match wrote {
            Val::Struct(written) => fields_match(fields, written, values, abi),
            _ => false,
        },
        _ => false,
    }
}

/// Whether decoded `(name, value)` pairs are `fields` with the values written.
pub fn fields_match(fields: &[Field], written: &[Val], read: &[(&str, Value<'_>)], abi: &Abi) -> bool {
    fields.len() == written.len()
        && fields.len() == read.len()
        && fields.iter().zip(written).zip(read).all(|((field, wrote), (name, value))| {
            field.name == *name && value_matches(&field.ty, wrote, value, abi)
        })
}

/// Checks one stream of `trace` against the events recorded in it and the number of events
/// its writer discarded. The only diagnostics allowed are the discards, which must add up.
pub fn check_stream(
    trace: &Trace,
    stream: StreamId,
    expected: &[Expected],
    discarded: u64,
) -> Result<(), String> {
    let abi = *trace.metadata().abi();
    let Some(items) = trace.stream(stream) else {
        return if expected.is_empty() && discarded == 0 {
            Ok(())
        } else {
            Err(format!(
                "stream {stream}: no packets, {} events and {discarded} discards expected",
                expected.len()
            ))
        };
    };
    let mut events = 0usize;
    let mut reported = 0u64;
    for item in items {
        match item {
            Item::Event(event) => {
                let Some(want) = expected.get(events) else {
                    return Err(format!("stream {stream}: event {events} ({event}) was never written"));
                };
                let fields_ok = fields_match(&want.fields, &want.values, event.fields(), &abi);
                if event.name() != want.name || event.timestamp() != want.timestamp || !fields_ok {
                    return Err(format!(
                        "stream {stream}: event {events} decoded as {event}, written as {want:?}"
                    ));
                }
                events += 1;
            }
            Item::Diagnostic(diagnostic) => match diagnostic.kind {
                DiagnosticKind::DiscardedEvents { count, .. } => reported += count,
                _ => return Err(format!("stream {stream}: unexpected diagnostic {diagnostic}")),
            },
        }
    }
    if events != expected.len() || reported != discarded {
        return Err(format!(
            "stream {stream}: {events} events and {reported} discards decoded, {} and {discarded} written",
            expected.len()
        ));
    }
    Ok(())
}
