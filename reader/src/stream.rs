//! Streams (§1.2): grouping data packets by stream, and iterating one stream's events with
//! the loss and damage reports of §10.

use std::{
    collections::{BTreeMap, VecDeque},
    fmt,
    sync::Arc,
};

use tracemark_format::ClockClass;

use crate::{
    batch::{Batch, Entry},
    container::{Container, FileRole, Releaser},
    diagnostic::{Diagnostic, DiagnosticKind},
    event::{Event, RawRecord},
    metadata::{ClassEntry, Metadata},
    packet::{CrcStatus, RawPacket, Walked},
    pipeline::Pipeline,
    records::Stop,
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
    content: &'t [u8],
    /// Whether the content is cut short: truncated when the trace was opened, or since, by
    /// the file shrinking.
    cut: bool,
    batch: Batch,
    /// The next record of the batch.
    next: usize,
}

/// What [`StreamCursor::advance`] found.
#[derive(Debug)]
pub(crate) enum Advance<'t> {
    /// The next record.
    Record(RawRecord<'t>),
    /// Diagnostics were queued in [`StreamCursor::pending`]: take them, then advance again.
    Pending,
    /// The stream is done.
    End,
}

/// One stream's records in record order, and its diagnostics (§10) in a queue: the engine
/// under [`StreamIter`], the merged [`Events`](crate::Events) and the typed dispatcher.
///
/// Packets are decoded a whole batch at a time ([`Batch`]), by the cursor itself or, when
/// given a [`Pipeline`], by worker threads ahead of it.
#[derive(Debug)]
pub(crate) struct StreamCursor<'t, 'p> {
    trace: &'t Trace,
    stream: &'t StreamIndex,
    classes: &'t [ClassEntry],
    clock: Option<&'t ClockClass>,
    pipeline: Option<&'p Pipeline<'t>>,
    next_packet: usize,
    /// Where reading stops: the stream's packet count, unless a window ends before.
    end_packet: usize,
    state: Option<PacketState<'t>>,
    /// Diagnostics not yet delivered, each with the timestamp it sorts at when merged: the
    /// stream's position when it was found.
    pub(crate) pending: VecDeque<(u64, Diagnostic)>,
    /// A record found together with diagnostics that go before it, or made ready by
    /// [`StreamCursor::peek`].
    held: Option<RawRecord<'t>>,
    /// Diagnostics found while [`StreamCursor::peek`] looks for the next record.
    set_aside: VecDeque<(u64, Diagnostic)>,
    tracking: Tracking,
    position: u64,
    /// The memory of a finished batch, for the next one.
    spare: Vec<Entry>,
    releaser: Releaser<'t>,
}

impl<'t, 'p> StreamCursor<'t, 'p> {
    pub(crate) fn new(trace: &'t Trace, stream: &'t StreamIndex) -> StreamCursor<'t, 'p> {
        StreamCursor {
            trace,
            stream,
            classes: trace.metadata().entries(),
            clock: trace.metadata().stream_clock(stream.id.class),
            pipeline: None,
            next_packet: 0,
            end_packet: stream.packets.len(),
            state: None,
            pending: VecDeque::new(),
            held: None,
            set_aside: VecDeque::new(),
            tracking: Tracking::default(),
            position: 0,
            spare: Vec::new(),
            releaser: Releaser::new(&trace.container),
        }
    }

    /// This cursor, reading only the packets whose time range (§4.5) meets ticks `from` to
    /// `to`: from the first whose `timestamp_end` is at least `from` to the last whose
    /// `timestamp_begin` is at most `to`, and what lies between. Its accounting of sequence
    /// numbers and discards (§10.1, §10.2) goes on from the packet before, as if it had been
    /// read, so that reading a window reports what reading it in a whole read does.
    pub(crate) fn window(self, from: u64, to: u64) -> StreamCursor<'t, 'p> {
        let range = self.stream.window(from, to);
        self.packet_range(range)
    }

    /// This cursor, reading only the packets at `range` of the stream's, its accounting going
    /// on from the packet before as if it had been read.
    pub(crate) fn packet_range(mut self, range: std::ops::Range<usize>) -> StreamCursor<'t, 'p> {
        let packets = &self.stream.packets;
        if let Some(before) = range.start.checked_sub(1).and_then(|index| packets.get(index)) {
            let header = &before.raw.header;
            self.tracking.last_sequence = Some(header.sequence);
            self.tracking.discarded = header.events_discarded;
            self.tracking.last_end = Some(header.timestamp_end);
        }
        self.next_packet = range.start;
        self.end_packet = range.end.min(packets.len());
        self
    }

    /// This cursor, taking its batches from `pipeline`.
    pub(crate) fn with_pipeline(mut self, pipeline: &'p Pipeline<'t>) -> StreamCursor<'t, 'p> {
        self.pipeline = Some(pipeline);
        self
    }

    /// The stream.
    pub(crate) fn id(&self) -> StreamId {
        self.stream.id
    }

    /// The clock of the stream's class, when the class and its clock are declared.
    #[inline(always)]
    pub(crate) fn clock(&self) -> Option<&'t ClockClass> {
        self.clock
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.pending.push_back((self.position, diagnostic));
    }

    /// The next record, or news of queued diagnostics, or the end.
    #[inline(always)]
    pub(crate) fn advance(&mut self) -> Advance<'t> {
        match self.take_simple() {
            Some(record) => Advance::Record(record),
            None => self.advance_slow(),
        }
    }

    /// The current batch's next record when nothing is to be reported before it: the common
    /// case, kept small enough to inline.
    #[inline(always)]
    fn take_simple(&mut self) -> Option<RawRecord<'t>> {
        if !self.pending.is_empty() || self.held.is_some() {
            return None;
        }
        let state = self.state.as_mut()?;
        let entry = state.batch.entries.get(state.next)?;
        let packet = state.entry;
        if entry.backwards {
            return None;
        }
        let class = self.classes.get(entry.slot as usize)?;
        state.next += 1;
        self.position = self.position.max(entry.timestamp);
        Some(RawRecord {
            entry: class,
            packet,
            clock: self.clock,
            timestamp: entry.timestamp,
            record: state.content.get(entry.start as usize..entry.end as usize).unwrap_or(&[]),
            start: entry.start,
            header_len: entry.header_len,
            segments: entry.segments,
        })
    }

    /// The timestamp of the next record, made ready for [`StreamCursor::take_record`]
    /// (diagnostics may be queued before it); when no record is left, the position of the
    /// first diagnostic left, if any.
    #[inline(always)]
    pub(crate) fn peek(&mut self) -> Option<u64> {
        if self.pending.is_empty() && self.held.is_none() {
            if let Some(state) = self.state.as_ref() {
                if let Some(entry) = state.batch.entries.get(state.next) {
                    let known = (entry.slot as usize) < self.classes.len();
                    if known && !entry.backwards {
                        return Some(entry.timestamp);
                    }
                }
            }
        }
        self.peek_slow()
    }

    #[inline(never)]
    fn peek_slow(&mut self) -> Option<u64> {
        if let Some(record) = &self.held {
            return Some(record.timestamp);
        }
        // Keep the diagnostics queued so far; find the record after them.
        let queued = std::mem::take(&mut self.pending);
        let found = loop {
            match self.advance() {
                Advance::Record(record) => break Some(record),
                Advance::Pending => {
                    // `advance` reports `Pending` while `pending` is not empty: set them aside.
                    let mut taken = std::mem::take(&mut self.pending);
                    self.set_aside.append(&mut taken);
                }
                Advance::End => break None,
            }
        };
        let mut all = queued;
        all.append(&mut self.set_aside);
        self.pending = all;
        match found {
            Some(record) => {
                let timestamp = record.timestamp;
                self.held = Some(record);
                Some(timestamp)
            }
            None => self.pending.front().map(|(at, _)| *at),
        }
    }

    /// The next queued diagnostic.
    #[inline(always)]
    pub(crate) fn take_diagnostic(&mut self) -> Option<Diagnostic> {
        if self.pending.is_empty() {
            return None;
        }
        self.pending.pop_front().map(|(_, diagnostic)| diagnostic)
    }

    /// [`StreamCursor::take_record`], then [`StreamCursor::peek`]: the merge's step, fused so
    /// that a run of plain records costs one pass over the cursor's state.
    #[inline(always)]
    pub(crate) fn take_and_peek(&mut self) -> Option<(RawRecord<'t>, Option<u64>)> {
        if self.pending.is_empty() && self.held.is_none() {
            if let Some(state) = self.state.as_mut() {
                let entries = &state.batch.entries;
                if let (Some(entry), Some(next)) = (entries.get(state.next), state.next.checked_add(1)) {
                    if let (false, Some(class)) = (entry.backwards, self.classes.get(entry.slot as usize)) {
                        let record = RawRecord {
                            entry: class,
                            packet: state.entry,
                            clock: self.clock,
                            timestamp: entry.timestamp,
                            record: state
                                .content
                                .get(entry.start as usize..entry.end as usize)
                                .unwrap_or(&[]),
                            start: entry.start,
                            header_len: entry.header_len,
                            segments: entry.segments,
                        };
                        let following = match entries.get(next) {
                            Some(after) if !after.backwards => Some(after.timestamp),
                            _ => None,
                        };
                        state.next = next;
                        self.position = self.position.max(record.timestamp);
                        let key = match following {
                            Some(at) => Some(at),
                            None => self.peek_slow(),
                        };
                        return Some((record, key));
                    }
                }
            }
        }
        let record = self.take_record()?;
        Some((record, self.peek()))
    }

    /// The record [`StreamCursor::peek`] made ready, once the diagnostics before it are taken.
    #[inline(always)]
    pub(crate) fn take_record(&mut self) -> Option<RawRecord<'t>> {
        match self.take_simple() {
            Some(record) => Some(record),
            None => self.held.take(),
        }
    }

    #[inline(never)]
    fn advance_slow(&mut self) -> Advance<'t> {
        if !self.pending.is_empty() {
            return Advance::Pending;
        }
        if let Some(record) = self.held.take() {
            return Advance::Record(record);
        }
        loop {
            if let Some(state) = self.state.as_mut() {
                let Some(&entry) = state.batch.entries.get(state.next) else {
                    if let Some((at, stop)) = state.batch.stop.take() {
                        self.stopped(at, stop);
                    }
                    self.end_packet();
                    if !self.pending.is_empty() {
                        return Advance::Pending;
                    }
                    continue;
                };
                state.next += 1;
                let packet = state.entry;
                let content = state.content;
                let Some(class) = self.classes.get(entry.slot as usize) else { continue };
                let start = entry.start as usize;
                if entry.backwards {
                    // The record before, or the packet's beginning, is what it went back from.
                    let previous = match state.next.checked_sub(2) {
                        Some(index) => state.batch.entries.get(index).map(|before| before.timestamp),
                        None => None,
                    }
                    .unwrap_or(packet.raw.header.timestamp_begin);
                    let kind = DiagnosticKind::TimestampBackwards { previous, found: entry.timestamp };
                    self.report_at(packet, kind, start);
                }
                self.position = self.position.max(entry.timestamp);
                let record = RawRecord {
                    entry: class,
                    packet,
                    clock: self.clock,
                    timestamp: entry.timestamp,
                    record: content.get(start..entry.end as usize).unwrap_or(&[]),
                    start: entry.start,
                    header_len: entry.header_len,
                    segments: entry.segments,
                };
                if self.pending.is_empty() {
                    return Advance::Record(record);
                }
                self.held = Some(record);
                return Advance::Pending;
            }
            if self.next_packet >= self.end_packet {
                return Advance::End;
            }
            let Some(entry) = self.stream.packets.get(self.next_packet) else {
                return Advance::End;
            };
            let index = self.next_packet;
            self.next_packet = self.next_packet.saturating_add(1);
            self.begin_packet(index, entry);
            if !self.pending.is_empty() {
                return Advance::Pending;
            }
        }
    }

    fn report_at(&mut self, entry: &'t PacketEntry, kind: DiagnosticKind, at: usize) {
        let raw = &entry.raw;
        // Decompressed records have no bytes in the file: a finding about one names the
        // compressed content (§10.7).
        let at = if raw.header.flags.is_compressed() { 0 } else { at };
        let offset = raw.content_offset().saturating_add(at as u64);
        let diagnostic =
            Diagnostic::new(kind, entry.file_name.clone(), offset).in_packet(entry.id, raw.header.sequence);
        self.report(diagnostic);
    }

    /// Reports a record that cannot be decoded (§10.5).
    #[cold]
    fn stopped(&mut self, at: usize, stop: Stop) {
        let Some(state) = self.state.as_ref() else { return };
        let entry = state.entry;
        // Past-the-end failures in a truncated packet are the truncation, already reported.
        let cut = state.cut;
        let (kind, offset) = match stop {
            Stop::Header(reason) => {
                if cut && reason.is_past_end() {
                    return;
                }
                (DiagnosticKind::Malformed { event_id: None, reason }, at)
            }
            Stop::Undeclared(id) => (DiagnosticKind::UndeclaredEvent { id }, at),
            Stop::Undecodable(id) => (DiagnosticKind::UndecodableEvent { id }, at),
            Stop::Payload { event_id, reason, at: value_at } => {
                if cut && reason.is_past_end() {
                    return;
                }
                (DiagnosticKind::Malformed { event_id: Some(event_id), reason }, value_at)
            }
            Stop::AfterPacketEnd { timestamp, end } => {
                (DiagnosticKind::TimestampOutsidePacket { timestamp, end }, at)
            }
            Stop::Compressed(error) => {
                // Records cut short do not decompress: the truncation, already reported.
                if cut {
                    return;
                }
                (DiagnosticKind::CompressedPacket(error), 0)
            }
        };
        self.report_at(entry, kind, offset);
    }

    /// Finishes the current packet: its trailing diagnostics, and its pages.
    fn end_packet(&mut self) {
        if let Some(state) = self.state.take() {
            for diagnostic in &state.entry.after {
                self.report(diagnostic.clone());
            }
            let raw = &state.entry.raw;
            self.releaser.consumed(raw.file, raw.offset, raw.available);
            self.spare = state.batch.entries;
        }
    }

    /// Checks a packet's header against the stream's history and its CRC, queueing the
    /// diagnostics, and starts decoding it unless it must not be (§10.3).
    fn begin_packet(&mut self, index: usize, entry: &'t PacketEntry) {
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
        let expected = self.tracking.last_sequence.map_or(0, |last| last.saturating_add(1));
        if let Some(kind) = DiagnosticKind::of_sequence(self.tracking.last_sequence, sequence) {
            self.report(located(kind));
        }

        let bytes = file.bytes();
        let spare = std::mem::take(&mut self.spare);
        let mut batch = match self.pipeline {
            Some(pipeline) => pipeline.take(self.stream, index, spare),
            None => Batch::decode(self.trace, raw, spare),
        };
        // The file may have shrunk since it was opened: past its end, the map reads zeros,
        // which are not the packet's. Asked after decoding, so that whatever the batch was
        // decoded from, the bytes it delivers are ones the file still holds (§10.4).
        let clipped = raw.cut_to(file.backing.len_now());
        let raw = match &clipped {
            Some(clipped) => {
                let kind = DiagnosticKind::TruncatedPacket {
                    available: clipped.available as u64,
                    needed: u64::from(header.packet_size),
                };
                self.report(located(kind));
                batch = Batch::decode(self.trace, clipped, batch.entries);
                clipped
            }
            None => raw,
        };
        let crc = batch.crc.unwrap_or_else(|| raw.crc(bytes));
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
            self.releaser.consumed(raw.file, raw.offset, raw.available);
            self.spare = batch.entries;
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
        let cut = raw.content_cut();
        let content = self.trace.records_of(raw).unwrap_or(&[]);
        self.state = Some(PacketState { entry, content, cut, batch, next: 0 });
    }
}

/// Iterates one stream's events in record order, with its diagnostics in place: a packet's
/// diagnostics (discarded events, gaps, CRC, truncation, …) come just before its first event,
/// a decoding problem just after the last event delivered from its packet.
///
/// The iterator is fused.
#[derive(Debug)]
pub struct StreamIter<'t> {
    cursor: StreamCursor<'t, 't>,
}

impl<'t> StreamIter<'t> {
    pub(crate) fn new(trace: &'t Trace, stream: &'t StreamIndex) -> StreamIter<'t> {
        StreamIter { cursor: StreamCursor::new(trace, stream) }
    }

    pub(crate) fn from_cursor(cursor: StreamCursor<'t, 't>) -> StreamIter<'t> {
        StreamIter { cursor }
    }

    /// The stream iterated.
    pub fn id(&self) -> StreamId {
        self.cursor.id()
    }
}

impl<'t> Iterator for StreamIter<'t> {
    type Item = Item<'t>;

    #[inline]
    fn next(&mut self) -> Option<Item<'t>> {
        loop {
            if let Some((_, diagnostic)) = self.cursor.pending.pop_front() {
                return Some(Item::Diagnostic(diagnostic));
            }
            match self.cursor.advance() {
                Advance::Record(record) => return Some(Item::Event(Event::new(record))),
                Advance::Pending => continue,
                Advance::End => return None,
            }
        }
    }
}

impl std::iter::FusedIterator for StreamIter<'_> {}

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
