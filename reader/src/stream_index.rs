//! Grouping data packets by stream (§1.2): the index the cursors, the pipeline and the packet
//! map read.

use std::{collections::BTreeMap, sync::Arc};

use crate::{
    container::{Container, FileRole},
    diagnostic::{Diagnostic, DiagnosticKind},
    metadata::Metadata,
    packet::{RawPacket, Walked},
    stream_id::StreamId,
};

/// A data packet of a stream, with the container diagnostics found just before it and,
/// for the last packet of a file, just after it.
#[derive(Debug)]
pub(crate) struct PacketEntry {
    pub(crate) raw: RawPacket,
    /// The stream, from the header.
    pub(crate) id: StreamId,
    /// The container file holding the packet.
    pub(crate) file_name: Arc<str>,
    pub(crate) before: Vec<Diagnostic>,
    pub(crate) after: Vec<Diagnostic>,
}

/// The packets of one stream, in container order.
#[derive(Debug)]
pub(crate) struct StreamIndex {
    pub(crate) id: StreamId,
    /// The stream's position in the trace's list of streams.
    pub(crate) position: usize,
    pub(crate) packets: Vec<PacketEntry>,
    /// Whether the packets' `timestamp_begin`s and `timestamp_end`s never go back, as a
    /// writer's do: a window is then found by binary search.
    pub(crate) ordered: bool,
}

impl StreamIndex {
    fn new(id: StreamId) -> StreamIndex {
        StreamIndex { id, position: 0, packets: Vec::new(), ordered: true }
    }

    /// The packets whose time range (§4.5) meets ticks `from` to `to`: from the first whose
    /// `timestamp_end` is at least `from` to the last whose `timestamp_begin` is at most `to`,
    /// and what lies between.
    pub(crate) fn window(&self, from: u64, to: u64) -> std::ops::Range<usize> {
        let packets = &self.packets;
        let (first, end) = if self.ordered {
            let first = packets.partition_point(|packet| packet.raw.header.timestamp_end < from);
            let end = packets.partition_point(|packet| packet.raw.header.timestamp_begin <= to);
            (first, end)
        } else {
            let first = packets
                .iter()
                .position(|packet| packet.raw.header.timestamp_end >= from)
                .unwrap_or(packets.len());
            let end = packets
                .iter()
                .rposition(|packet| packet.raw.header.timestamp_begin <= to)
                .map_or(0, |last| last + 1);
            (first, end)
        };
        first..end.max(first)
    }
}

/// Data packets grouped by stream, and the diagnostics attached to no data packet.
pub(crate) struct Index {
    pub(crate) streams: Vec<StreamIndex>,
    /// Problems in the `metadata` file of a directory, delivered with the metadata's.
    pub(crate) metadata_file: Vec<Diagnostic>,
    /// Problems after the last data packet of a file holding none.
    pub(crate) unattached: Vec<Diagnostic>,
}

/// Groups every data packet of the container by stream.
///
/// Packets of another byte order or UUID than the trace's are reported and dropped here
/// (§2.3, §4.6). Diagnostics between packets attach to the next data packet of the same file,
/// so they are delivered where the problem is; those after a file's last data packet attach
/// to it as trailing diagnostics.
pub(crate) fn index(container: &Container, walked: &[Vec<Walked>], metadata: &Metadata) -> Index {
    let mut streams: Vec<StreamIndex> = Vec::new();
    let mut positions: BTreeMap<StreamId, usize> = BTreeMap::new();
    let mut metadata_file = Vec::new();
    let mut unattached = Vec::new();
    for (items, file) in walked.iter().zip(&container.files) {
        let mut pending: Vec<Diagnostic> = Vec::new();
        let mut last: Option<(usize, usize)> = None;
        let mut file_stream: Option<StreamId> = None;
        for item in items {
            let raw = match item {
                Walked::Problem(diagnostic) => {
                    pending.push(diagnostic.clone());
                    continue;
                }
                Walked::Packet(raw) => raw,
            };
            let header = &raw.header;
            let id = StreamId { class: header.stream_class_id, instance: header.stream_instance_id };
            let report = |kind| Diagnostic::new(kind, file.name.clone(), raw.offset as u64);
            if header.is_metadata() {
                if file.role == FileRole::Stream {
                    pending.push(report(DiagnosticKind::MisplacedPacket));
                }
                continue;
            }
            if raw.order != metadata.byte_order() {
                let kind =
                    DiagnosticKind::ByteOrderMismatch { found: raw.order, expected: metadata.byte_order() };
                pending.push(report(kind).in_packet(id, header.sequence));
                continue;
            }
            if header.trace_uuid != metadata.uuid() {
                let kind = DiagnosticKind::ForeignUuid { found: header.trace_uuid };
                pending.push(report(kind).in_packet(id, header.sequence));
                continue;
            }
            match (file.role, file_stream) {
                (FileRole::Metadata, _) => pending.push(report(DiagnosticKind::MisplacedPacket)),
                (FileRole::Stream, None) => file_stream = Some(id),
                (FileRole::Stream, Some(first)) if first != id => {
                    pending.push(report(DiagnosticKind::MixedStreamFile { first }));
                }
                _ => {}
            }
            let mut before = std::mem::take(&mut pending);
            for diagnostic in &mut before {
                // A truncation reported at the packet's own offset is about this packet.
                if diagnostic.offset == raw.offset as u64 && diagnostic.stream.is_none() {
                    diagnostic.stream = Some(id);
                    diagnostic.sequence = Some(header.sequence);
                }
            }
            let stream = *positions.entry(id).or_insert_with(|| {
                streams.push(StreamIndex::new(id));
                streams.len().saturating_sub(1)
            });
            if let Some(entries) = streams.get_mut(stream) {
                entries.packets.push(PacketEntry {
                    raw: raw.clone(),
                    id,
                    file_name: file.name.clone(),
                    before,
                    after: Vec::new(),
                });
                last = Some((stream, entries.packets.len().saturating_sub(1)));
            }
        }
        if !pending.is_empty() {
            let entry = last.and_then(|(stream, packet)| streams.get_mut(stream)?.packets.get_mut(packet));
            match entry {
                Some(entry) => entry.after.append(&mut pending),
                None if file.role == FileRole::Metadata => metadata_file.append(&mut pending),
                None => unattached.append(&mut pending),
            }
        }
    }
    streams.sort_by_key(|stream| stream.id);
    for (position, stream) in streams.iter_mut().enumerate() {
        stream.position = position;
        stream.ordered = stream.packets.windows(2).all(|pair| match pair {
            [a, b] => {
                let (a, b) = (&a.raw.header, &b.raw.header);
                a.timestamp_begin <= b.timestamp_begin && a.timestamp_end <= b.timestamp_end
            }
            _ => true,
        });
    }
    Index { streams, metadata_file, unattached }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tracemark_format::{ByteOrder, PacketHeader};

    use super::*;
    use crate::packet::RawPacket;

    fn stream(ranges: &[(u64, u64)]) -> StreamIndex {
        let mut stream = StreamIndex::new(StreamId { class: 0, instance: 0 });
        for &(begin, end) in ranges {
            let header = PacketHeader {
                timestamp_begin: begin,
                timestamp_end: end,
                ..PacketHeader::new_data([0; 16], 0, 0)
            };
            let raw = RawPacket { file: 0, offset: 0, header, order: ByteOrder::Little, available: 80 };
            stream.packets.push(PacketEntry {
                raw,
                id: stream.id,
                file_name: Arc::from("f"),
                before: Vec::new(),
                after: Vec::new(),
            });
        }
        stream
    }

    proptest! {
        /// The binary search finds the packets the scan finds, in a stream whose ranges never go back.
        #[test]
        fn a_window_by_binary_search_is_the_window_by_scan(
            steps in proptest::collection::vec((0u64..50, 0u64..50), 0..40),
            from in 0u64..1200,
            length in 0u64..400,
        ) {
            let mut begin = 0;
            let ranges: Vec<(u64, u64)> = steps.iter().map(|&(gap, span)| {
                begin += gap;
                (begin, begin + span)
            }).collect();
            // Ends never go back either: each packet ends after the one before.
            let mut end = 0;
            let ranges: Vec<(u64, u64)> = ranges.into_iter().map(|(begin, e)| { end = end.max(e); (begin, end) }).collect();
            let mut ordered = stream(&ranges);
            let by_search = ordered.window(from, from + length);
            ordered.ordered = false;
            prop_assert_eq!(by_search, ordered.window(from, from + length));
        }
    }
}
