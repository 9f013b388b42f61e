//! The per-stream frontend: reserve a record in the current packet, write it, commit it;
//! switch packets on the (out of line) slow path.
//!
//! The shape is the lock-free ring buffer's (LTTng `lib_ring_buffer_reserve`/`commit`): the
//! fast path of [`StreamWriter::reserve`] is arithmetic plus one predictable branch, and
//! everything that closes or opens a packet lives in the `#[cold]` `reserve_slow`. Single
//! producer per stream for now: the future per-CPU version replaces the plain `offset` with a
//! CAS and `commit` with a commit counter per sub-buffer.

use tracemark_format::{ByteOrder, HeaderWord, PacketFlags, PacketHeader, PACKET_HEADER_LEN};

use crate::{
    backend::PacketBuffer,
    marker::{MarkerArg, MarkerCache},
    packet::{PacketInfo, PacketKind},
    Clock, Error, EventHandle, EventType, PayloadWriter, RawHandle, Result, StreamParams,
};

/// Clears the low 32 bits of `prev` before the wide word's §5.4 header-form test (the narrow
/// word's 24 bits of timestamp need the exact `prev`). §5.4 lets a writer
/// compare with any lower bound of `prev`; this one is what a 32-bit kernel reads atomically
/// and what the C probe writer (`tmk_rb.c`) compares with, so both reference writers choose
/// the same header form for the same records and their packets can be compared byte for byte
/// (`fuzz/`, target `writer_diff`). The cost: a gap within 2^32 ticks below 2^48 ticks gets the
/// extended header.
const PREV_LOWER_BOUND: u64 = !0xFFFF_FFFF;

/// Where a stream writer sends what it cannot do alone: finished data packets, and marker
/// classes used for the first time.
pub trait StreamOutput {
    /// Takes a finished data packet. Implementations MUST first deliver every metadata packet
    /// queued so far, so each event class reaches the sink before data that uses it (§7.6).
    fn data_packet(&mut self, packet: &[u8], info: &PacketInfo) -> Result<()>;

    /// The handle of marker class (`name`, `format`) in `stream_class_id`, registering it on
    /// first use. Called once per stream and format; the stream caches the answer.
    fn marker_class(&mut self, stream_class_id: u32, name: &str, format: &str) -> Result<RawHandle>;
}

impl<O: StreamOutput + ?Sized> StreamOutput for &mut O {
    fn data_packet(&mut self, packet: &[u8], info: &PacketInfo) -> Result<()> {
        (**self).data_packet(packet, info)
    }

    fn marker_class(&mut self, stream_class_id: u32, name: &str, format: &str) -> Result<RawHandle> {
        (**self).marker_class(stream_class_id, name, format)
    }
}

/// A reserved record: header written, payload still to write. Give it back to the writer that
/// reserved it, with [`StreamWriter::commit`] or [`StreamWriter::abort`].
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a reserved slot must be committed or aborted"]
pub struct Slot {
    begin: usize,
    payload: usize,
    end: usize,
    prev_before: u64,
    last_before: u64,
}

impl Slot {
    /// Payload length reserved.
    pub fn payload_len(&self) -> usize {
        self.end - self.payload
    }
}

/// Counters of one stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Records committed.
    pub events: u64,
    /// Events dropped (the `events_discarded` counter, §10.1).
    pub discarded: u64,
    /// Packets delivered.
    pub packets: u64,
    /// Bytes of packets delivered.
    pub bytes: u64,
}

/// Writes the packets of one stream into caller-provided packet memory `B`, timestamped by `C`.
#[derive(Debug)]
pub struct StreamWriter<B, C> {
    backend: PacketBuffer<B>,
    clock: C,
    params: StreamParams,
    order: ByteOrder,
    /// Next free byte of the packet; `packet_size` when no packet is open, so nothing fits and
    /// the fast path needs no separate "open" test.
    offset: usize,
    open: bool,
    timestamp_begin: u64,
    /// `prev` of §5.4: the previous record's timestamp in this packet, or `timestamp_begin`.
    prev: u64,
    /// The latest timestamp written or closed in this stream: later ones are clamped to it.
    last: u64,
    sequence: u64,
    discarded_in_last_packet: u64,
    stats: StreamStats,
    markers: MarkerCache,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>, C: Clock> StreamWriter<B, C> {
    /// A writer of the stream `params` describes (from [`Registry::stream_params`]), using the
    /// first `params.packet_size` bytes of `memory` as its packet.
    ///
    /// [`Registry::stream_params`]: crate::Registry::stream_params
    pub fn new(params: StreamParams, memory: B, clock: C) -> Result<StreamWriter<B, C>> {
        let backend = PacketBuffer::new(memory, params.packet_size)?;
        Ok(StreamWriter {
            offset: backend.packet_size(),
            backend,
            clock,
            order: params.abi.byte_order,
            params,
            open: false,
            timestamp_begin: 0,
            prev: 0,
            last: 0,
            sequence: 0,
            discarded_in_last_packet: 0,
            stats: StreamStats::default(),
            markers: MarkerCache::default(),
        })
    }

    /// The stream's parameters.
    pub fn params(&self) -> &StreamParams {
        &self.params
    }

    /// The stream's counters.
    pub fn stats(&self) -> StreamStats {
        self.stats
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Emits `event` timestamped now.
    #[inline]
    pub fn emit<E: EventType + ?Sized, O: StreamOutput + ?Sized>(
        &mut self,
        out: &mut O,
        handle: EventHandle<E>,
        event: &E,
    ) -> Result<()> {
        let timestamp = self.clock.now();
        self.emit_at(out, handle, event, timestamp)
    }

    /// Emits `event` with an explicit timestamp (clamped to the stream's latest, §1.7).
    #[inline]
    pub fn emit_at<E: EventType + ?Sized, O: StreamOutput + ?Sized>(
        &mut self,
        out: &mut O,
        handle: EventHandle<E>,
        event: &E,
        timestamp: u64,
    ) -> Result<()> {
        let declared = event.encoded_size(&self.params.abi);
        let slot = self.reserve(out, handle.raw(), timestamp, declared)?;
        let mut writer = self.payload(&slot);
        event.encode(&mut writer);
        let (complete, position, overflowed) = (writer.is_complete(), writer.position(), writer.overflowed());
        self.finish_slot(slot, complete, position, overflowed)
    }

    /// Emits a marker (§8) timestamped now: the class (`name`, `format`) is registered on first
    /// use, and `args` are checked against the format before anything is reserved.
    #[inline]
    pub fn marker<O: StreamOutput + ?Sized>(
        &mut self,
        out: &mut O,
        name: &str,
        format: &str,
        args: &[MarkerArg<'_>],
    ) -> Result<()> {
        let timestamp = self.clock.now();
        self.marker_at(out, name, format, args, timestamp)
    }

    /// [`StreamWriter::marker`] with an explicit timestamp.
    pub fn marker_at<O: StreamOutput + ?Sized>(
        &mut self,
        out: &mut O,
        name: &str,
        format: &str,
        args: &[MarkerArg<'_>],
        timestamp: u64,
    ) -> Result<()> {
        if self.markers.get(name, format).is_none() {
            let handle = out.marker_class(self.params.stream_class_id, name, format)?;
            self.markers.insert(name, format, handle, &self.params.abi)?;
        }
        // Inserted just above when it was missing.
        let Some(compiled) = self.markers.get(name, format) else {
            return Err(Error::Sink("marker cache lost an entry".into()));
        };
        let handle = compiled.handle();
        let declared = compiled.payload_size(format, args)?;
        let slot = self.reserve(out, handle, timestamp, declared)?;
        let mut writer = PayloadWriter::new(self.backend.range_mut(slot.payload, slot.end), self.params.abi);
        if let Some(compiled) = self.markers.get(name, format) {
            compiled.encode(args, &mut writer);
        }
        let (complete, position, overflowed) = (writer.is_complete(), writer.position(), writer.overflowed());
        self.finish_slot(slot, complete, position, overflowed)
    }

    #[inline(always)]
    fn finish_slot(&mut self, slot: Slot, complete: bool, position: usize, overflowed: bool) -> Result<()> {
        if complete {
            self.commit(slot);
            return Ok(());
        }
        let declared = slot.payload_len();
        self.abort(slot);
        Err(Error::PayloadSize { declared, written: if overflowed { declared + 1 } else { position } })
    }

    /// Reserves a record of event class `handle` at `timestamp` with `payload_len` payload
    /// bytes, writing its header (§5.4: extended when the ID or the gap from `prev` needs it).
    ///
    /// A timestamp lower than the stream's latest is clamped to it: clocks can step back
    /// (TSC drift across a migration, a non-monotonic source), and §1.7 needs non-decreasing
    /// timestamps in a stream. An event that would not fit even in an empty packet is dropped
    /// and counted in `events_discarded` ([`Error::EventTooLarge`]).
    #[inline]
    pub fn reserve<O: StreamOutput + ?Sized>(
        &mut self,
        out: &mut O,
        handle: RawHandle,
        timestamp: u64,
        payload_len: usize,
    ) -> Result<Slot> {
        if handle.serial() != self.params.serial || handle.stream_class_id() != self.params.stream_class_id {
            return Err(self.foreign(handle));
        }
        let timestamp = if timestamp < self.last { self.last } else { timestamp };
        let id = handle.id();
        let header_len = self.params.header_word.encoded_len(id, timestamp, self.prev_bound());
        let begin = self.offset;
        let end = begin.saturating_add(header_len).saturating_add(payload_len);
        if end > self.backend.packet_size() {
            return self.reserve_slow(out, id, timestamp, payload_len);
        }
        Ok(self.place(id, timestamp, begin, header_len, end))
    }

    /// The lower bound of `prev` the header-form test uses (§5.4): the wide word's loses its
    /// low 32 bits ([`PREV_LOWER_BOUND`]), the narrow word's 24 bits of timestamp need it exact.
    #[inline(always)]
    fn prev_bound(&self) -> u64 {
        match self.params.header_word {
            HeaderWord::Wide => self.prev & PREV_LOWER_BOUND,
            HeaderWord::Narrow => self.prev,
        }
    }

    /// Writes the header of a record that fits at `begin` and advances the position.
    #[inline(always)]
    fn place(&mut self, id: u32, timestamp: u64, begin: usize, header_len: usize, end: usize) -> Slot {
        let payload = begin + header_len;
        let previous = self.prev_bound();
        let word = self.params.header_word;
        let written =
            word.encode(id, timestamp, previous, self.order, self.backend.range_mut(begin, payload));
        debug_assert_eq!(written, Some(header_len));
        let slot = Slot { begin, payload, end, prev_before: self.prev, last_before: self.last };
        self.offset = end;
        self.prev = timestamp;
        self.last = timestamp;
        slot
    }

    #[cold]
    #[inline(never)]
    fn foreign(&self, handle: RawHandle) -> Error {
        Error::ForeignHandle {
            event_id: handle.id(),
            handle_stream_class: handle.stream_class_id(),
            stream_class: self.params.stream_class_id,
        }
    }

    /// The slow path: the record does not fit in the open packet, or no packet is open.
    #[cold]
    #[inline(never)]
    fn reserve_slow<O: StreamOutput + ?Sized>(
        &mut self,
        out: &mut O,
        id: u32,
        timestamp: u64,
        payload_len: usize,
    ) -> Result<Slot> {
        // A packet its last record filled exactly is complete: it is closed as of that record
        // before this event is counted or placed, as the C ring buffer closes a sub-buffer the
        // moment it fills (see `close_packet`).
        if self.open && self.offset == self.backend.packet_size() {
            if let Err(error) = self.close_packet(out, self.last) {
                self.stats.discarded += 1;
                return Err(error);
            }
        }
        let capacity = self.backend.packet_size() - PACKET_HEADER_LEN;
        // In a fresh packet `prev` is the record's own timestamp: only the ID can force the
        // extended form.
        let header_len = self.params.header_word.encoded_len(id, timestamp, timestamp);
        let size = header_len.saturating_add(payload_len);
        if size > capacity {
            self.stats.discarded += 1;
            return Err(Error::EventTooLarge { size, capacity });
        }
        if self.open {
            if let Err(error) = self.close_packet(out, timestamp) {
                // The packet is lost and this event with it; count the event.
                self.stats.discarded += 1;
                return Err(error);
            }
        }
        self.open_packet(timestamp);
        let begin = self.offset;
        Ok(self.place(id, timestamp, begin, header_len, begin + size))
    }

    /// Gives the payload area of `slot` to write into.
    #[inline(always)]
    pub fn payload(&mut self, slot: &Slot) -> PayloadWriter<'_> {
        PayloadWriter::new(self.backend.range_mut(slot.payload, slot.end), self.params.abi)
    }

    /// Commits a record whose payload has been written in full.
    #[inline(always)]
    pub fn commit(&mut self, slot: Slot) {
        let _ = slot;
        self.stats.events += 1;
    }

    /// Drops a reserved record. The most recent reservation is rolled back; an older one
    /// cannot be, and stays with whatever its payload holds, so abort before reserving again.
    /// Either way the event counts as discarded.
    pub fn abort(&mut self, slot: Slot) {
        if slot.end == self.offset && self.open {
            self.offset = slot.begin;
            self.prev = slot.prev_before;
            self.last = slot.last_before;
        }
        self.stats.discarded += 1;
    }

    /// Closes the open packet and delivers it. With no packet open, delivers an empty packet
    /// only when events were discarded since the last one, so the count reaches the reader.
    pub fn flush<O: StreamOutput + ?Sized>(&mut self, out: &mut O) -> Result<()> {
        let now = self.clock.now();
        if !self.open {
            if self.stats.discarded == self.discarded_in_last_packet {
                return Ok(());
            }
            let begin = if now < self.last { self.last } else { now };
            self.open_packet(begin);
        }
        self.close_packet(out, now)
    }

    fn open_packet(&mut self, timestamp: u64) {
        self.open = true;
        self.offset = PACKET_HEADER_LEN;
        self.timestamp_begin = timestamp;
        self.prev = timestamp;
        self.last = timestamp;
    }

    /// Seals the open packet (§4) with `timestamp_end` at least the last record's, exactly
    /// the last record's when that record filled the packet, and delivers it. Its sequence
    /// number is consumed even when delivery fails.
    ///
    /// A full packet's `timestamp_end` does not depend on when the writer gets to close it
    /// (the next event, a flush): the C probe writer closes a sub-buffer as soon as a record
    /// fills it, and both reference writers then write the same bytes.
    fn close_packet<O: StreamOutput + ?Sized>(&mut self, out: &mut O, timestamp_end: u64) -> Result<()> {
        let full = self.offset == self.backend.packet_size();
        let timestamp_end = if full || timestamp_end < self.last { self.last } else { timestamp_end };
        let crc = if self.params.crc { PacketFlags::HAS_CRC } else { 0 };
        let header = PacketHeader {
            version_minor: self.params.header_word.version_minor(),
            flags: PacketFlags(crc | self.params.header_word.flag()),
            sequence: self.sequence,
            timestamp_begin: self.timestamp_begin,
            timestamp_end,
            content_size: self.offset as u32,
            packet_size: self.backend.packet_size() as u32,
            events_discarded: self.stats.discarded,
            ..PacketHeader::new_data(
                self.params.uuid,
                self.params.stream_class_id,
                self.params.stream_instance_id,
            )
        };
        let info = PacketInfo {
            kind: PacketKind::Data,
            stream_class_id: self.params.stream_class_id,
            stream_instance_id: self.params.stream_instance_id,
            sequence: self.sequence,
        };
        self.sequence += 1;
        self.open = false;
        self.offset = self.backend.packet_size();
        self.last = timestamp_end;
        self.discarded_in_last_packet = self.stats.discarded;
        let packet = self.backend.seal(&header, self.order);
        out.data_packet(packet, &info)?;
        self.stats.packets += 1;
        self.stats.bytes += packet.len() as u64;
        Ok(())
    }

    /// Gives the packet memory back (an open packet is not delivered: flush first).
    pub fn into_memory(self) -> B {
        self.backend.into_inner()
    }
}
