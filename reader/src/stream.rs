//! Streams (§1.2): grouping data packets by stream, and iterating one stream's events with
//! the loss and damage reports of §10.

use std::{
    collections::{BTreeMap, VecDeque},
    fmt,
};

use tracemark_format::{event_header::EventHeaderError, ClockClass, EventHeader};

use crate::{
    container::{Container, ContainerFile, FileRole},
    decode::Cursor,
    diagnostic::{Diagnostic, DiagnosticKind, MalformedReason},
    event::Event,
    metadata::{Lookup, Metadata},
    packet::{CrcStatus, RawPacket, Walked},
    Item, Trace,
};

/// A stream's identity: stream class ID and stream instance ID (§1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct StreamId {
    /// The stream class ID.
    pub class: u32,
    /// The stream instance ID: the CPU, by convention.
    pub instance: u32,
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.class, self.instance)
    }
}

/// A data packet of a stream, with the container diagnostics found just before it and,
/// for the last packet of a file, just after it.
#[derive(Debug)]
pub(crate) struct PacketEntry {
    pub(crate) raw: RawPacket,
    pub(crate) before: Vec<Diagnostic>,
    pub(crate) after: Vec<Diagnostic>,
}

/// The packets of one stream, in container order.
#[derive(Debug)]
pub(crate) struct StreamIndex {
    pub(crate) id: StreamId,
    pub(crate) packets: Vec<PacketEntry>,
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
                streams.push(StreamIndex { id, packets: Vec::new() });
                streams.len().saturating_sub(1)
            });
            if let Some(entries) = streams.get_mut(stream) {
                entries.packets.push(PacketEntry { raw: raw.clone(), before, after: Vec::new() });
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
    Index { streams, metadata_file, unattached }
}

/// Per-stream state carried from packet to packet (§10.1, §10.2, §4.5).
#[derive(Debug, Default)]
struct Tracking {
    last_sequence: Option<u64>,
    discarded: u64,
    last_end: Option<u64>,
    stream_class_checked: bool,
}

/// The packet being decoded.
#[derive(Debug)]
struct PacketState<'t> {
    entry: &'t PacketEntry,
    file: &'t ContainerFile,
    content: &'t [u8],
    cursor_at: usize,
    previous: u64,
    outside_reported: bool,
}

/// Iterates one stream's events in record order, with its diagnostics in place: a packet's
/// diagnostics (discarded events, gaps, CRC, truncation, …) come just before its first event,
/// a decoding problem just after the last event delivered from its packet.
///
/// The iterator is fused.
#[derive(Debug)]
pub struct StreamIter<'t> {
    trace: &'t Trace,
    stream: &'t StreamIndex,
    clock: Option<&'t ClockClass>,
    next_packet: usize,
    state: Option<PacketState<'t>>,
    pending: VecDeque<(u64, Item<'t>)>,
    tracking: Tracking,
    /// The timestamp diagnostics are sorted at when merging: the last position reached.
    position: u64,
}

impl<'t> StreamIter<'t> {
    pub(crate) fn new(trace: &'t Trace, stream: &'t StreamIndex) -> StreamIter<'t> {
        StreamIter {
            trace,
            stream,
            clock: trace.metadata().stream_clock(stream.id.class),
            next_packet: 0,
            state: None,
            pending: VecDeque::new(),
            tracking: Tracking::default(),
            position: 0,
        }
    }

    /// The stream iterated.
    pub fn id(&self) -> StreamId {
        self.stream.id
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.pending.push_back((self.position, Item::Diagnostic(diagnostic)));
    }

    /// The next item and the timestamp it sorts at when merged.
    pub(crate) fn next_keyed(&mut self) -> Option<(u64, Item<'t>)> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if let Some(mut state) = self.state.take() {
                if self.next_record(&mut state) {
                    self.state = Some(state);
                } else {
                    for diagnostic in &state.entry.after {
                        self.report(diagnostic.clone());
                    }
                }
                continue;
            }
            let entry = self.stream.packets.get(self.next_packet)?;
            self.next_packet = self.next_packet.saturating_add(1);
            self.begin_packet(entry);
        }
    }

    /// Checks a packet's header against the stream's history and its CRC, queueing the
    /// diagnostics, and starts decoding it unless it must not be (§10.3).
    fn begin_packet(&mut self, entry: &'t PacketEntry) {
        let raw = &entry.raw;
        let header = &raw.header;
        let Some(file) = self.trace.container.files.get(raw.file) else { return };
        let id = self.stream.id;
        let sequence = header.sequence;
        self.position = self.position.max(header.timestamp_begin);
        for diagnostic in &entry.before {
            self.report(diagnostic.clone());
        }
        let located =
            |kind| Diagnostic::new(kind, file.name.clone(), raw.offset as u64).in_packet(id, sequence);

        if !self.tracking.stream_class_checked {
            self.tracking.stream_class_checked = true;
            if self.trace.metadata().stream_class(id.class).is_none() {
                self.report(located(DiagnosticKind::UndeclaredStreamClass { id: id.class }));
            }
        }

        // §10.2: gaps and non-increasing sequence numbers.
        let expected = match self.tracking.last_sequence {
            None => 0,
            Some(last) => last.saturating_add(1),
        };
        match self.tracking.last_sequence {
            Some(previous) if sequence <= previous => {
                self.report(located(DiagnosticKind::SequenceNotIncreasing { previous, found: sequence }));
            }
            _ if sequence > expected => {
                self.report(located(DiagnosticKind::PacketGap { missing: sequence - expected }));
            }
            _ => {}
        }

        let bytes = file.bytes();
        let crc = raw.crc(bytes);
        if let CrcStatus::Mismatch { expected: stored, found } = crc {
            self.report(located(DiagnosticKind::CrcMismatch { expected: stored, found }));
            // The header is not trusted, except a sequence number that continues the stream,
            // so the packet's own loss is not reported twice. The discard counter is
            // cumulative: the next good packet accounts for this one's discards.
            if sequence == expected {
                self.tracking.last_sequence = Some(sequence);
            }
            for diagnostic in &entry.after {
                self.report(diagnostic.clone());
            }
            return;
        }
        self.tracking.last_sequence =
            Some(self.tracking.last_sequence.map_or(sequence, |last| last.max(sequence)));

        // §10.1: discarded events.
        let counter = header.events_discarded;
        if counter > self.tracking.discarded {
            let kind = DiagnosticKind::DiscardedEvents {
                count: counter - self.tracking.discarded,
                from_ts: self.tracking.last_end,
                to_ts: header.timestamp_end,
            };
            self.report(located(kind));
        } else if counter < self.tracking.discarded {
            let kind =
                DiagnosticKind::DiscardCounterBackwards { previous: self.tracking.discarded, found: counter };
            self.report(located(kind));
        }
        self.tracking.discarded = counter;

        // §4.5: packet timestamps.
        if header.timestamp_begin > header.timestamp_end {
            let kind = DiagnosticKind::PacketTimestampsReversed {
                begin: header.timestamp_begin,
                end: header.timestamp_end,
            };
            self.report(located(kind));
        }
        if let Some(previous_end) = self.tracking.last_end {
            if header.timestamp_begin < previous_end {
                let kind = DiagnosticKind::PacketOverlap { previous_end, begin: header.timestamp_begin };
                self.report(located(kind));
            }
        }
        self.tracking.last_end = Some(header.timestamp_end);

        if crc == CrcStatus::Unchecked {
            self.report(located(DiagnosticKind::CrcUnchecked));
        }
        self.state = Some(PacketState {
            entry,
            file,
            content: raw.content(bytes),
            cursor_at: 0,
            previous: header.timestamp_begin,
            outside_reported: false,
        });
    }

    /// Decodes the next record of the packet, queueing it and any diagnostics; `false` when
    /// the packet is done (its end, or a record after which nothing can be decoded, §10.5).
    fn next_record(&mut self, state: &mut PacketState<'t>) -> bool {
        let raw = &state.entry.raw;
        let content = state.content;
        let start = state.cursor_at;
        let Some(rest) = content.get(start..).filter(|rest| !rest.is_empty()) else {
            return false;
        };
        let id = self.stream.id;
        let sequence = raw.header.sequence;
        let file_offset = |at: usize| raw.content_offset().saturating_add(at as u64);
        let file = state.file;
        let located = |kind, at: usize| {
            Diagnostic::new(kind, file.name.clone(), file_offset(at)).in_packet(id, sequence)
        };
        // Past-the-end failures in a truncated packet are the truncation, already reported.
        let cut = raw.content_cut();
        let malformed = |event_id, reason: MalformedReason, at| {
            (!(cut && reason.is_past_end()))
                .then(|| located(DiagnosticKind::Malformed { event_id, reason }, at))
        };

        let (event_header, header_len) = match EventHeader::decode(rest, raw.order) {
            Ok(decoded) => decoded,
            Err(error) => {
                let reason = match error {
                    EventHeaderError::Truncated => MalformedReason::HeaderPastEnd { remaining: rest.len() },
                    EventHeaderError::NonZeroEscapeBits => MalformedReason::ExtendedHeaderBits,
                };
                if let Some(diagnostic) = malformed(None, reason, start) {
                    self.report(diagnostic);
                }
                return false;
            }
        };
        let event_id = event_header.id();
        let entry = match self.trace.metadata().lookup(event_id) {
            Lookup::Found(entry) => entry,
            Lookup::Undecodable => {
                self.report(located(DiagnosticKind::UndecodableEvent { id: event_id }, start));
                return false;
            }
            Lookup::Undeclared => {
                self.report(located(DiagnosticKind::UndeclaredEvent { id: event_id }, start));
                return false;
            }
        };
        let mut cursor = Cursor::new(content, start.saturating_add(header_len), raw.order);
        let fields = match entry.plan.decode(&mut cursor) {
            Ok(fields) => fields,
            Err(error) => {
                if let Some(diagnostic) = malformed(Some(event_id), error.reason, error.at) {
                    self.report(diagnostic);
                }
                return false;
            }
        };
        let end = cursor.position();
        // Each record consumes at least its 8-byte header, so decoding always advances.
        state.cursor_at = end.max(start.saturating_add(1));

        let timestamp = match event_header.timestamp(state.previous) {
            Ok(timestamp) => timestamp,
            Err(found) => {
                let kind = DiagnosticKind::TimestampBackwards { previous: state.previous, found };
                self.report(located(kind, start));
                found
            }
        };
        state.previous = timestamp;
        if timestamp > raw.header.timestamp_end && !state.outside_reported {
            state.outside_reported = true;
            let kind = DiagnosticKind::TimestampOutsidePacket { timestamp, end: raw.header.timestamp_end };
            self.report(located(kind, start));
        }
        self.position = self.position.max(timestamp);
        let event = Event {
            class: &entry.class,
            hints: entry.hints.as_deref(),
            clock: self.clock,
            timestamp,
            stream: id,
            sequence,
            file: &file.name,
            offset: file_offset(start),
            record: content.get(start..end).unwrap_or(&[]),
            fields,
        };
        self.pending.push_back((timestamp, Item::Event(event)));
        true
    }
}

impl<'t> Iterator for StreamIter<'t> {
    type Item = Item<'t>;

    fn next(&mut self) -> Option<Item<'t>> {
        self.next_keyed().map(|(_, item)| item)
    }
}

impl std::iter::FusedIterator for StreamIter<'_> {}
