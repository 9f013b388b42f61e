//! Decoded events and field values, borrowing from the trace's bytes and metadata.
//!
//! # Serialization
//!
//! [`Event`] and [`Value`] implement [`serde::Serialize`]:
//! - integers as numbers, floats as numbers (a serializer may turn NaN into `null`);
//! - strings ([`Value::Str`]) as text; bytes that are not valid UTF-8 become U+FFFD
//!   replacement characters (§6.5): the exact bytes remain available through [`Value::Str`];
//! - blobs ([`Value::Blob`]) as a string of lowercase hexadecimal digit pairs, e.g. `"00ff10"`;
//! - arrays and sequences as sequences, structs as maps in field order;
//! - enumerations as `{"value": n, "label": "NAME"}`, `label` being `null` when no mapping
//!   matches;
//! - display hints are not applied: a `%x` marker argument is still a number.

use std::{borrow::Cow, fmt, sync::OnceLock};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use tracemark_format::{marker::DisplayHint, ByteOrder, ClockClass, EventClass};

use crate::{
    decode::{find_nul, read_value, Cursor, Kind, Node},
    layout::{fixed_size, Segments},
    metadata::ClassEntry,
    stream::{PacketEntry, StreamId},
    streamed::{EncodedValue, FieldValue},
};

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

fn find<'a, 't>(fields: &'a [(&'t str, Value<'t>)], name: &str) -> Option<&'a Value<'t>> {
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

/// An event's fields as [`FieldsJson`] writes them, decoded as they are written.
struct ValuesJson<'a, 't>(&'a Event<'t>);

impl Serialize for ValuesJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_fields(serializer, None, self.0.streamed_values())
    }
}

impl Serialize for FieldsJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_fields(serializer, Some(self.0.len()), self.0.iter().map(|(name, value)| (*name, value)))
    }
}

/// `fields` as a map from name to value, in order; `len` is their number, when known.
fn serialize_fields<'n, S: Serializer, V: Serialize>(
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

/// A record's location and class, as the stream walk found it: everything an [`Event`] needs,
/// with no value decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawRecord<'t> {
    pub(crate) entry: &'t ClassEntry,
    pub(crate) packet: &'t PacketEntry,
    pub(crate) clock: Option<&'t ClockClass>,
    pub(crate) timestamp: u64,
    /// The record's bytes: event header and payload.
    pub(crate) record: &'t [u8],
    /// Offset of the record in its packet's content.
    pub(crate) start: u32,
    pub(crate) header_len: u8,
    pub(crate) segments: Segments,
}

impl<'t> RawRecord<'t> {
    /// The payload's bytes.
    #[inline(always)]
    pub(crate) fn payload(&self) -> &'t [u8] {
        self.record.get(self.header_len as usize..).unwrap_or(&[])
    }

    #[inline(always)]
    pub(crate) fn order(&self) -> ByteOrder {
        self.packet.raw.order
    }

    /// Where top-level field `index` starts in the payload.
    #[inline(always)]
    pub(crate) fn field_start(&self, index: usize) -> Option<usize> {
        let layout = &self.entry.layout;
        match layout.stored_field_start(index, &self.segments) {
            Some(start) => Some(start),
            None => layout.field_start(index, &self.segments, &self.entry.plan, self.payload(), self.order()),
        }
    }

    /// Decodes top-level field `index`.
    pub(crate) fn value_at(&self, index: usize) -> Option<(&'t str, Value<'t>)> {
        let (name, node) = self.entry.plan.fields.get(index)?;
        let start = self.field_start(index)?;
        let (value, _) = read_value(node, self.payload(), start, self.order())?;
        Some((name.as_str(), value))
    }

    /// The index of the top-level field `name`.
    pub(crate) fn field_index(&self, name: &str) -> Option<usize> {
        self.entry.plan.field_index(name)
    }

    /// Every field, decoded. A payload the walk accepted always decodes; should it not, the
    /// fields before the failing one are returned.
    fn decode_all(&self) -> Vec<(&'t str, Value<'t>)> {
        let mut cursor = Cursor::new(self.payload(), 0, self.order());
        match self.entry.plan.decode(&mut cursor) {
            Ok(fields) => fields,
            Err(_) => Values::new(self).collect(),
        }
    }
}

/// A decoded event record (§1.4).
///
/// Creating one decodes no field: the record has been walked and checked, and each field is
/// decoded when asked for. [`Event::value`], [`Event::value_at`] and [`Event::values`] decode
/// without allocating (except arrays, sequences and structs); [`Event::fields`] decodes every
/// field once, keeps them, and returns them as a slice.
#[derive(Clone)]
// Moving an event out of an `Item` copies it in 16-byte pieces; aligned, those pieces match
// the stores that built it, so the copy does not stall on store forwarding (about 9 % of
// `Trace::events` iteration when misaligned).
#[repr(align(16))]
pub struct Event<'t> {
    raw: RawRecord<'t>,
    fields: OnceLock<Vec<(&'t str, Value<'t>)>>,
}

impl<'t> Event<'t> {
    #[inline(always)]
    pub(crate) fn new(raw: RawRecord<'t>) -> Event<'t> {
        Event { raw, fields: OnceLock::new() }
    }

    pub(crate) fn raw(&self) -> &RawRecord<'t> {
        &self.raw
    }

    /// The event class name.
    pub fn name(&self) -> &'t str {
        &self.raw.entry.class.name
    }

    /// The event class ID.
    pub fn id(&self) -> u32 {
        self.raw.entry.class.id
    }

    /// The event class, as declared in the metadata.
    pub fn class(&self) -> &'t EventClass {
        &self.raw.entry.class
    }

    /// The timestamp in clock ticks, reconstructed as §5.5 says.
    pub fn timestamp(&self) -> u64 {
        self.raw.timestamp
    }

    /// The clock of the event's stream class, when declared.
    pub fn clock(&self) -> Option<&'t ClockClass> {
        self.raw.clock
    }

    /// The timestamp in nanoseconds since the Unix epoch, through the stream class's clock
    /// (§7.4); `None` when the stream class or its clock is not declared.
    pub fn unix_ns(&self) -> Option<i128> {
        self.raw.clock.map(|clock| clock.to_unix_ns(self.raw.timestamp))
    }

    /// The stream: class ID and instance ID (the CPU, by convention).
    pub fn stream(&self) -> StreamId {
        self.raw.packet.id
    }

    /// The sequence number of the packet holding the record.
    pub fn packet_sequence(&self) -> u64 {
        self.raw.packet.raw.header.sequence
    }

    /// The container file holding the record.
    pub fn file(&self) -> &'t str {
        &self.raw.packet.file_name
    }

    /// Whether the record comes from a compressed packet (§15): it has no bytes of its own in
    /// the file, and [`Event::offset`] is the packet's compressed content.
    pub fn is_compressed(&self) -> bool {
        self.raw.packet.raw.header.flags.is_compressed()
    }

    /// Byte offset of the record (its event header) in its file; for a record of a compressed
    /// packet (§15), which has no bytes of its own in the file, the offset of the packet's
    /// compressed content.
    pub fn offset(&self) -> u64 {
        let start = if self.is_compressed() { 0 } else { self.raw.start as u64 };
        self.raw.packet.raw.content_offset().saturating_add(start)
    }

    /// The record's bytes, event header and payload.
    pub fn record_bytes(&self) -> &'t [u8] {
        self.raw.record
    }

    /// The payload's bytes (§6), in the trace's byte order.
    pub fn payload(&self) -> &'t [u8] {
        self.raw.payload()
    }

    /// The trace byte order (§2).
    pub fn byte_order(&self) -> ByteOrder {
        self.raw.order()
    }

    /// How many top-level fields the event class declares.
    pub fn field_count(&self) -> usize {
        self.raw.entry.plan.fields.len()
    }

    /// The top-level field names, in declared order.
    pub fn field_names(&self) -> impl ExactSizeIterator<Item = &'t str> + 't {
        self.raw.entry.plan.fields.iter().map(|(name, _)| name.as_str())
    }

    /// Top-level field `index`, decoded now (not kept).
    pub fn value_at(&self, index: usize) -> Option<Value<'t>> {
        self.raw.value_at(index).map(|(_, value)| value)
    }

    /// The position of the top-level field `name` in declared order (the first, should two
    /// share it), found by binary search.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.raw.field_index(name)
    }

    /// Field `name`, decoded now (not kept).
    pub fn value(&self, name: &str) -> Option<Value<'t>> {
        self.raw.field_index(name).and_then(|index| self.value_at(index))
    }

    /// The fields in declared order, each decoded as the iterator reaches it (not kept).
    pub fn values(&self) -> Values<'t> {
        Values::new(&self.raw)
    }

    /// The fields in declared order, as [`values`](Event::values) gives them, except that an
    /// array, a sequence or a struct of more than 1 KiB is not decoded but walked as it is
    /// written: writing an event with millions of elements holds one at a time (see
    /// [`FieldValue`]).
    pub fn streamed_values(&self) -> StreamedValues<'t> {
        StreamedValues(Values::new(&self.raw))
    }

    /// The fields in declared order, none decoded: each is an [`EncodedValue`], read when
    /// asked for, an array, a sequence or a struct one element or member at a time. For callers
    /// that navigate values (the C API) rather than write them all: nothing is allocated
    /// whatever the record holds.
    pub fn lazy_values(&self) -> LazyValues<'t> {
        LazyValues(Values::new(&self.raw))
    }

    /// Whether [`streamed_values`](Event::streamed_values) may walk a field of this event's
    /// class rather than decode it: whether it has an array, a sequence or a struct whose size
    /// is not fixed at 1 KiB or less. When it has none, [`values`](Event::values) gives the
    /// same values, a little faster.
    #[inline]
    pub fn may_stream_values(&self) -> bool {
        self.raw.entry.may_stream
    }

    /// The payload fields, in declared order, decoded on the first call and kept.
    pub fn fields(&self) -> &[(&'t str, Value<'t>)] {
        self.fields.get_or_init(|| self.raw.decode_all())
    }

    /// A field by name.
    pub fn field(&self, name: &str) -> Option<&Value<'t>> {
        find(self.fields(), name)
    }

    /// The display hint of each field, parallel to [`fields`](Self::fields): a marker's
    /// conversions (§8.2), or hexadecimal for pointers; `None` when every field is natural.
    pub fn display_hints(&self) -> Option<&'t [DisplayHint]> {
        self.raw.entry.hints.as_deref()
    }

    /// Takes the fields out of the event.
    pub fn into_fields(self) -> Vec<(&'t str, Value<'t>)> {
        let raw = self.raw;
        self.fields.into_inner().unwrap_or_else(|| raw.decode_all())
    }
}

/// The fields of an [`Event`], decoded one by one; see [`Event::values`].
///
/// It keeps only what decoding needs (not the whole record), resolved once: a smaller copy
/// per event, and no per-field lookup of the payload.
#[derive(Debug, Clone)]
pub struct Values<'t> {
    entry: &'t ClassEntry,
    payload: &'t [u8],
    segments: Segments,
    order: ByteOrder,
    next: usize,
    /// Where the next field starts in the payload.
    at: usize,
}

impl<'t> Values<'t> {
    #[inline(always)]
    fn new(record: &RawRecord<'t>) -> Values<'t> {
        Values {
            entry: record.entry,
            payload: record.payload(),
            segments: record.segments,
            order: record.order(),
            next: 0,
            at: 0,
        }
    }
}

impl<'t> Iterator for Values<'t> {
    type Item = (&'t str, Value<'t>);

    // Always inlined: on its own it costs a call per field, and `tracemark check` took 10 %
    // longer when a new caller made the compiler stop inlining it.
    #[inline(always)]
    fn next(&mut self) -> Option<(&'t str, Value<'t>)> {
        let plan = &self.entry.plan;
        let (name, node) = plan.fields.get(self.next)?;
        let payload = self.payload;
        let (value, end) = match plan.kinds.get(self.next) {
            // Integers and strings, the common fields, without going through the type tree; a
            // string's end is known when it ends a stored segment.
            Some(Kind::Int(shape)) => {
                let bits = shape.read_bits(payload.get(self.at..)?, self.order)?;
                let value = if shape.signed { Value::Signed(bits as i64) } else { Value::Unsigned(bits) };
                (value, self.at + usize::from(shape.size))
            }
            Some(Kind::Str) => {
                let rest = payload.get(self.at..)?;
                let segment =
                    self.entry.layout.locations().get(self.next).map(|location| location.segment + 1);
                let len = match segment.and_then(|next| self.segments.start(next)) {
                    Some(next_start) => next_start.checked_sub(self.at)?.checked_sub(1)?,
                    None => find_nul(rest)?,
                };
                (Value::Str(rest.get(..len)?), self.at + len + 1)
            }
            _ => read_value(node, payload, self.at, self.order)?,
        };
        self.next += 1;
        self.at = end;
        Some((name.as_str(), value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.entry.plan.fields.len().saturating_sub(self.next);
        (0, Some(left))
    }
}

impl std::iter::FusedIterator for Values<'_> {}

/// An array, sequence or struct of at most this many bytes, when its length is known without
/// walking it, is decoded whole by [`Event::streamed_values`]: faster than walking it as it is
/// written, and at most a few hundred times 1 KiB.
const DECODE_WHOLE_UP_TO: usize = 1024;

impl Values<'_> {
    /// The encoded length of the next field, `node`, when it is known without walking it: a
    /// fixed size, or the start of the segment after it, when stored.
    fn known_len(&self, node: &Node) -> Option<usize> {
        if let Some(size) = fixed_size(node) {
            return Some(size);
        }
        let location = self.entry.layout.locations().get(self.next)?;
        let next_start = self.segments.start(location.segment + 1)?;
        next_start.checked_sub(self.at)
    }
}

/// Whether [`Event::streamed_values`] may walk a field of a class with this plan.
pub(crate) fn may_stream(plan: &crate::decode::Plan) -> bool {
    plan.fields.iter().any(|(_, node)| {
        FieldValue::is_compound(node) && fixed_size(node).is_none_or(|size| size > DECODE_WHOLE_UP_TO)
    })
}

/// The iterator of [`Event::streamed_values`].
#[derive(Debug, Clone)]
pub struct StreamedValues<'t>(Values<'t>);

impl<'t> Iterator for StreamedValues<'t> {
    type Item = (&'t str, FieldValue<'t>);

    // Always inlined, as `Values::next`: `tracemark dump` took 8 % longer when it was a call.
    #[inline(always)]
    fn next(&mut self) -> Option<(&'t str, FieldValue<'t>)> {
        let values = &mut self.0;
        let (name, node) = values.entry.plan.fields.get(values.next)?;
        if !FieldValue::is_compound(node)
            || values.known_len(node).is_some_and(|len| len <= DECODE_WHOLE_UP_TO)
        {
            return values.next().map(|(name, value)| (name, FieldValue::decoded(value)));
        }
        // Skipped here, walked when written: nothing is allocated.
        let (value, end) = EncodedValue::read(node, values.payload, values.at, values.order)?;
        values.next += 1;
        values.at = end;
        Some((name.as_str(), FieldValue::walked(value)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl std::iter::FusedIterator for StreamedValues<'_> {}

/// The iterator of [`Event::lazy_values`].
#[derive(Debug, Clone)]
pub struct LazyValues<'t>(Values<'t>);

impl<'t> Iterator for LazyValues<'t> {
    type Item = (&'t str, EncodedValue<'t>);

    fn next(&mut self) -> Option<(&'t str, EncodedValue<'t>)> {
        let values = &mut self.0;
        let (name, node) = values.entry.plan.fields.get(values.next)?;
        let (value, end) = EncodedValue::read(node, values.payload, values.at, values.order)?;
        values.next += 1;
        values.at = end;
        Some((name.as_str(), value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl std::iter::FusedIterator for LazyValues<'_> {}

impl PartialEq for Event<'_> {
    /// The same record: class, timestamp, stream, packet, file, offset and bytes.
    fn eq(&self, other: &Event<'_>) -> bool {
        self.id() == other.id()
            && self.timestamp() == other.timestamp()
            && self.stream() == other.stream()
            && self.packet_sequence() == other.packet_sequence()
            && self.file() == other.file()
            && self.offset() == other.offset()
            && self.record_bytes() == other.record_bytes()
    }
}

impl fmt::Debug for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("name", &self.name())
            .field("id", &self.id())
            .field("timestamp", &self.timestamp())
            .field("stream", &self.stream())
            .field("sequence", &self.packet_sequence())
            .field("file", &self.file())
            .field("offset", &self.offset())
            .field("fields", &self.values().collect::<Vec<_>>())
            .finish()
    }
}

impl fmt::Display for Event<'_> {
    /// One line: `[timestamp] stream C/I name: field = value, ...`, marker fields displayed
    /// with their hints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {} {}: ", self.timestamp(), self.stream(), self.name())?;
        write_fields(f, self.fields(), self.display_hints())
    }
}

impl Serialize for Event<'_> {
    /// `{"name", "id", "timestamp", "unix_ns" (or null), "stream_class", "stream_instance",
    /// "fields": {...}}`. `unix_ns` is an `i64` when it fits (until the year 2262), else `i128`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut event = serializer.serialize_struct("Event", 7)?;
        event.serialize_field("name", self.name())?;
        event.serialize_field("id", &self.id())?;
        event.serialize_field("timestamp", &self.timestamp())?;
        match self.unix_ns() {
            Some(ns) => match i64::try_from(ns) {
                Ok(ns) => event.serialize_field("unix_ns", &ns)?,
                Err(_) => event.serialize_field("unix_ns", &ns)?,
            },
            None => event.serialize_field("unix_ns", &None::<i64>)?,
        }
        event.serialize_field("stream_class", &self.stream().class)?;
        event.serialize_field("stream_instance", &self.stream().instance)?;
        // Fields already decoded are serialized from where they are kept; otherwise one at a
        // time, without collecting them (`tracemark dump --json`: 230 -> 190 ns an event).
        match self.fields.get() {
            Some(fields) => event.serialize_field("fields", &FieldsJson(fields))?,
            None => event.serialize_field("fields", &ValuesJson(self))?,
        }
        event.end()
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
