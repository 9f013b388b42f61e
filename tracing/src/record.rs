//! Recording one event's or span's field values: a `tracing` visitor that keeps each value
//! with its type, in reusable buffers, and the signature (which fields, of which types) that
//! picks its event class.

use std::fmt::{self, Write as _};

use tracemark_writer::{Abi, Blob, FieldValue, PayloadWriter, TypeDesc};
use tracing_core::field::{Field, Visit};

/// The tracemark type a recorded value is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub(crate) enum Kind {
    I64,
    U64,
    F64,
    Bool,
    /// Text: `&str` values, `Debug` and `Display` output, errors, 128-bit integers in decimal.
    Str,
    /// `&[u8]` values.
    Bytes,
}

impl Kind {
    /// The field type values of this kind are declared with.
    pub(crate) fn type_desc(self) -> TypeDesc {
        match self {
            Kind::I64 => i64::type_desc(),
            Kind::U64 => u64::type_desc(),
            Kind::F64 => f64::type_desc(),
            Kind::Bool => bool::type_desc(),
            Kind::Str => str::type_desc(),
            Kind::Bytes => Blob::type_desc(),
        }
    }
}

/// One recorded value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Recorded {
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    /// Bytes `start..end` of the recorder's text buffer.
    Str(usize, usize),
    /// Bytes `start..end` of the recorder's byte buffer.
    Bytes(usize, usize),
}

impl Recorded {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Recorded::I64(_) => Kind::I64,
            Recorded::U64(_) => Kind::U64,
            Recorded::F64(_) => Kind::F64,
            Recorded::Bool(_) => Kind::Bool,
            Recorded::Str(..) => Kind::Str,
            Recorded::Bytes(..) => Kind::Bytes,
        }
    }
}

/// The values of one event or span, as recorded, and their signature. Kept per thread and
/// cleared between records, so recording allocates only while its buffers grow.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    /// (index of the field in its callsite's field set, value), in recording order.
    pub(crate) values: Vec<(usize, Recorded)>,
    pub(crate) text: String,
    pub(crate) bytes: Vec<u8>,
    /// Per value: its field index (two bytes, little-endian) and its kind: what picks the
    /// class. Two records of one callsite with the same signature share a class.
    pub(crate) signature: Vec<u8>,
}

impl Recorder {
    pub(crate) fn clear(&mut self) {
        self.values.clear();
        self.text.clear();
        self.bytes.clear();
        self.signature.clear();
    }

    fn push(&mut self, field: &Field, value: Recorded) {
        // A field set has at most 32 fields in tracing 0.1; a wider one is still told apart.
        let index = field.index();
        self.signature.extend_from_slice(&(index.min(usize::from(u16::MAX)) as u16).to_le_bytes());
        self.signature.push(value.kind() as u8);
        self.values.push((index, value));
    }

    fn push_text(&mut self, field: &Field, write: impl FnOnce(&mut String) -> fmt::Result) {
        let start = self.text.len();
        // Writing to a String fails only if a Debug or Display implementation returns an
        // error: what it wrote so far is kept.
        let _ = write(&mut self.text);
        let end = self.text.len();
        self.push(field, Recorded::Str(start, end));
    }

    /// The text of a `Str` value.
    pub(crate) fn str(&self, start: usize, end: usize) -> &str {
        self.text.get(start..end).unwrap_or("")
    }

    /// The bytes of a `Bytes` value.
    pub(crate) fn slice(&self, start: usize, end: usize) -> &[u8] {
        self.bytes.get(start..end).unwrap_or(&[])
    }

    /// The payload size of the recorded values under `abi`, as the writer sizes each type.
    pub(crate) fn payload_len(&self, abi: &Abi) -> usize {
        self.values
            .iter()
            .map(|(_, value)| match *value {
                Recorded::I64(value) => value.encoded_size(abi),
                Recorded::U64(value) => value.encoded_size(abi),
                Recorded::F64(value) => value.encoded_size(abi),
                Recorded::Bool(value) => value.encoded_size(abi),
                Recorded::Str(start, end) => self.str(start, end).encoded_size(abi),
                Recorded::Bytes(start, end) => Blob(self.slice(start, end)).encoded_size(abi),
            })
            .sum()
    }

    /// Writes the recorded values, as the writer encodes each type (§6).
    pub(crate) fn encode(&self, out: &mut PayloadWriter<'_>) {
        for (_, value) in &self.values {
            match *value {
                Recorded::I64(value) => value.encode(out),
                Recorded::U64(value) => value.encode(out),
                Recorded::F64(value) => value.encode(out),
                Recorded::Bool(value) => value.encode(out),
                Recorded::Str(start, end) => self.str(start, end).encode(out),
                Recorded::Bytes(start, end) => Blob(self.slice(start, end)).encode(out),
            }
        }
    }
}

impl Visit for Recorder {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Recorded::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Recorded::U64(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Recorded::F64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Recorded::Bool(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.push_text(field, |text| write!(text, "{value}"));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.push_text(field, |text| write!(text, "{value}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push_text(field, |text| {
            text.push_str(value);
            Ok(())
        });
    }

    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(value);
        let end = self.bytes.len();
        self.push(field, Recorded::Bytes(start, end));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push_text(field, |text| write!(text, "{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push_text(field, |text| write!(text, "{value:?}"));
    }
}
