//! Iterating one stream's records (§1.2) with the loss and damage reports of §10.

use std::collections::VecDeque;

use tracemark_format::ClockClass;

use crate::{
    batch::Batch,
    container::Releaser,
    diagnostic::{Diagnostic, DiagnosticKind},
    metadata::ClassEntry,
    packet::CrcStatus,
    pipeline::Pipeline,
    raw_record::RawRecord,
    records::{Entry, Stop},
    source::PacketSource,
    stream_id::StreamId,
    stream_index::{PacketEntry, StreamIndex},
};

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
    source: PacketSource<'t>,
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
    pub(crate) fn new(source: PacketSource<'t>, stream: &'t StreamIndex) -> StreamCursor<'t, 'p> {
        StreamCursor {
            source,
            stream,
            classes: source.metadata.entries(),
            clock: source.metadata.stream_clock(stream.id.class),
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
            releaser: Releaser::new(source.container),
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
        Some(RawRecord::of_entry(entry, class, packet, self.clock, state.content))
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
                        let record =
                            RawRecord::of_entry(entry, class, state.entry, self.clock, state.content);
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
                    if let Some(resume) = state.batch.resume.take() {
                        // The packet's next slice (`Batch::slice`), into the same memory.
                        let entries = std::mem::take(&mut state.batch.entries);
                        let metadata = self.source.metadata;
                        state.batch =
                            Batch::slice(metadata, &state.entry.raw, state.content, Some(resume), entries);
                        state.next = 0;
                        continue;
                    }
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
                    .unwrap_or(state.batch.before);
                    let kind = DiagnosticKind::TimestampBackwards { previous, found: entry.timestamp };
                    self.report_at(packet, kind, start);
                }
                self.position = self.position.max(entry.timestamp);
                let record = RawRecord::of_entry(&entry, class, packet, self.clock, content);
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
        let Some(file) = self.source.container.files.get(raw.file) else { return };
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
            if self.source.metadata.stream_class(id.class).is_none() {
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
            None => Batch::decode(self.source, raw, spare),
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
                batch = Batch::decode(self.source, clipped, batch.entries);
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
        let content = self.source.records_of(raw).unwrap_or(&[]);
        self.state = Some(PacketState { entry, content, cut, batch, next: 0 });
    }
}
