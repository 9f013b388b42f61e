//! Decoded events, borrowing from the trace's bytes and metadata.
//!
//! # Serialization
//!
//! [`Event`] implements [`serde::Serialize`], its values as [`Value`] serializes them.

use std::{fmt, sync::OnceLock};

use serde::ser::{Serialize, SerializeStruct, Serializer};
use tracemark_format::{marker::DisplayHint, ByteOrder, ClockClass, EventClass, HeaderWord};

use crate::{
    decode::{find_nul, read_value, Cursor, Kind, Node},
    layout::{fixed_size, Segments},
    metadata::ClassEntry,
    raw_record::RawRecord,
    stream_id::StreamId,
    streamed::{EncodedValue, FieldValue, DECODE_WHOLE_UP_TO},
    value::{find, serialize_fields, write_fields, FieldsJson, Value},
};

/// An event's fields as [`FieldsJson`] writes them, decoded as they are written.
struct ValuesJson<'a, 't>(&'a Event<'t>);

impl Serialize for ValuesJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_fields(serializer, None, self.0.streamed_values())
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

    /// The header word the record starts with (§5.1): its packet's.
    pub fn header_word(&self) -> HeaderWord {
        HeaderWord::of(self.raw.packet.raw.header.flags)
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
        self.fields.get_or_init(|| decode_all(&self.raw))
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
        self.fields.into_inner().unwrap_or_else(|| decode_all(&raw))
    }
}

/// Every field, decoded. A payload the walk accepted always decodes; should it not, the
/// fields before the failing one are returned.
fn decode_all<'t>(raw: &RawRecord<'t>) -> Vec<(&'t str, Value<'t>)> {
    let mut cursor = Cursor::new(raw.payload(), 0, raw.order());
    match raw.entry.plan.decode(&mut cursor) {
        Ok(fields) => fields,
        Err(_) => Values::new(raw).collect(),
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
