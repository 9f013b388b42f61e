//! A record as a stream cursor finds it: located and classified, no value decoded.

use tracemark_format::{ByteOrder, ClockClass};

use crate::{
    decode::read_value, layout::Segments, metadata::ClassEntry, records::Entry, stream_index::PacketEntry,
    value::Value,
};

/// A record's location and class, as the stream walk found it: everything an [`Event`](crate::Event) needs,
/// with no value decoded. What a stream cursor yields, and the merge orders.
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
    /// The record a walk found as `entry`, of class `class`, in `packet`, whose records are
    /// `content`.
    #[inline(always)]
    pub(crate) fn of_entry(
        entry: &Entry,
        class: &'t ClassEntry,
        packet: &'t PacketEntry,
        clock: Option<&'t ClockClass>,
        content: &'t [u8],
    ) -> RawRecord<'t> {
        RawRecord {
            entry: class,
            packet,
            clock,
            timestamp: entry.timestamp,
            record: content.get(entry.start as usize..entry.end as usize).unwrap_or(&[]),
            start: entry.start,
            header_len: entry.header_len,
            segments: entry.segments,
        }
    }

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
}
