//! The packets of a CTF stream file and the events in each (CTF 1.8 §5, §6, §8).
//!
//! A packet's header and context say which stream class it belongs to and where its content
//! and the packet end; its events follow. A packet whose header or context cannot be read
//! ends the file's reading (where the next packet starts is unknown); an event that cannot be
//! decoded ends its packet's, and the next packet is read.

use std::borrow::Cow;

use crate::decode::{datum_count, Datum, DecodeError, Decoder};
use crate::metadata_stream::{metadata_text, MetadataStreamError};
use crate::model::TraceClass;
use crate::plan::{plan, EventPlan, Node, PlanError, Role, StreamPlan, TracePlan};
use crate::tsdl::TsdlError;

/// `magic` of a packet header.
pub const PACKET_MAGIC: u32 = 0xC1FC_1FC1;

/// A CTF trace's metadata, ready to decode its streams.
#[derive(Debug, Clone)]
pub struct CtfTrace {
    /// What the metadata declares.
    pub class: TraceClass,
    /// Each stream class's plan, or why it cannot be read.
    pub plans: Vec<Result<StreamPlan, PlanError>>,
    /// `trace.packet.header`, planned once for every stream class.
    pub packet_header: Option<Node>,
    registers: u32,
    /// For each event class: its stream's clock frequency and offset in nanoseconds.
    clocks: Vec<Option<(u64, i128)>>,
}

/// The metadata cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// The metadata file's packets are damaged.
    #[error(transparent)]
    Stream(#[from] MetadataStreamError),
    /// The TSDL text is malformed or declares what cannot be read.
    #[error(transparent)]
    Tsdl(#[from] TsdlError),
}

impl CtfTrace {
    /// Reads a metadata file (text or packets).
    pub fn from_metadata(file: &[u8]) -> Result<CtfTrace, MetadataError> {
        let text: Cow<'_, str> = metadata_text(file)?;
        Ok(CtfTrace::new(TraceClass::from_tsdl(&text)?))
    }

    /// Plans the decoding of `class`.
    pub fn new(class: TraceClass) -> CtfTrace {
        let TracePlan { packet_header, streams: plans, registers } = plan(&class);
        let clocks = class
            .events
            .iter()
            .map(|event| {
                let plan = plans
                    .iter()
                    .filter_map(|plan| plan.as_ref().ok())
                    .find(|plan| plan.id == event.stream_id)?;
                let clock = class.clock(plan.timestamp_clock()?)?;
                Some((clock.frequency.max(1), clock.offset_ns_wide()))
            })
            .collect();
        CtfTrace { class, plans, packet_header, registers, clocks }
    }

    /// The clock frequency and offset (ns) of the events of class `class` (an index in
    /// [`TraceClass::events`]).
    pub(crate) fn class_clock(&self, class: usize) -> Option<(u64, i128)> {
        self.clocks.get(class).copied().flatten()
    }

    /// The plan of stream class `id`.
    pub fn stream_plan(&self, id: u64) -> Option<&Result<StreamPlan, PlanError>> {
        // Plans come in the order of the stream blocks (one, for stream class 0, without any).
        let index = if self.class.streams.is_empty() {
            (id == 0).then_some(0)?
        } else {
            self.class.streams.iter().position(|stream| stream.id == id)?
        };
        self.plans.get(index)
    }

    /// The packets of a stream file's bytes.
    pub fn packets<'a>(&'a self, data: &'a [u8]) -> Packets<'a> {
        Packets { trace: self, data, offset: 0, done: false }
    }
}

/// A packet: where it lies and what its header and context say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Byte offset in the stream file.
    pub offset: u64,
    /// Bytes the packet takes in the file.
    pub size: u64,
    /// Bit position in the file where its events begin.
    pub events_start: u64,
    /// Bit position in the file where its content ends.
    pub content_end: u64,
    /// Its stream class.
    pub stream_class: u64,
    /// `stream_instance_id`, when the header has one.
    pub stream_instance_id: Option<u64>,
    /// `timestamp_begin`, in clock ticks.
    pub begin: Option<u64>,
    /// `timestamp_end`, in clock ticks.
    pub end: Option<u64>,
    /// `events_discarded`: events the stream lost up to the end of this packet.
    pub discarded: Option<u64>,
    /// `packet_seq_num`.
    pub sequence: Option<u64>,
    /// `cpu_id`.
    pub cpu: Option<u64>,
    /// The file ends before the packet does: its events are read up to the file's end.
    pub truncated: bool,
}

/// A packet's header or context cannot be read: the rest of the stream file is not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stream file byte {offset}: {reason}")]
pub struct PacketError {
    /// Byte offset of the packet in the stream file.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

/// The packets of a stream file, in file order.
pub struct Packets<'a> {
    trace: &'a CtfTrace,
    data: &'a [u8],
    offset: u64,
    done: bool,
}

impl<'a> Iterator for Packets<'a> {
    type Item = Result<Packet, PacketError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.offset >= self.data.len() as u64 {
            return None;
        }
        let packet = self.read_packet();
        match &packet {
            Ok(packet) => self.offset = packet.offset + packet.size,
            Err(_) => self.done = true,
        }
        Some(packet)
    }
}

impl<'a> Packets<'a> {
    fn read_packet(&self) -> Result<Packet, PacketError> {
        let offset = self.offset;
        let fail = |reason: String| PacketError { offset, reason };
        let mut decoder = Decoder::new(self.data, self.trace.registers);
        decoder.cursor.seek(offset * 8);
        let mut values = Vec::new();
        if let Some(header) = &self.trace.packet_header {
            decoder.decode(header, &mut values).map_err(|error| fail(format!("packet header: {error}")))?;
            if let Some((magic, _)) = decoder.specials.get(Role::Magic) {
                if magic != u64::from(PACKET_MAGIC) {
                    return Err(fail(format!("magic {magic:#x}, expected {PACKET_MAGIC:#x}")));
                }
            }
            if let (Some(expected), Some(found)) = (self.trace.class.uuid, uuid_of(header, &values)) {
                if expected != found {
                    return Err(fail("the packet's UUID is not the trace's".into()));
                }
            }
        }
        let stream_class = match decoder.specials.get(Role::StreamId) {
            Some((id, _)) => id,
            None => match self.trace.class.streams.as_slice() {
                [] => 0,
                [only] => only.id,
                _ => {
                    return Err(fail(
                        "no `stream_id` in the packet header, and several stream classes".into(),
                    ))
                }
            },
        };
        let plan = match self.trace.stream_plan(stream_class) {
            Some(Ok(plan)) => plan,
            Some(Err(error)) => {
                return Err(fail(format!("stream class {stream_class} cannot be read: {error}")))
            }
            None => return Err(fail(format!("stream class {stream_class} is not declared"))),
        };
        if let Some(context) = &plan.packet_context {
            values.clear();
            decoder.decode(context, &mut values).map_err(|error| fail(format!("packet context: {error}")))?;
        }
        let events_start = decoder.cursor.position();
        let special = |role| decoder.specials.get(role).map(|(value, _)| value);
        let file_bits = self.data.len() as u64 * 8;
        let packet_bits = special(Role::PacketSize).unwrap_or(file_bits - offset * 8);
        let content_bits = special(Role::ContentSize).unwrap_or(packet_bits);
        if packet_bits % 8 != 0 || packet_bits == 0 {
            return Err(fail(format!(
                "packet size {packet_bits} bits is not a positive whole number of bytes"
            )));
        }
        if content_bits > packet_bits || content_bits < events_start - offset * 8 {
            return Err(fail(format!(
                "content size {content_bits} bits is not between the header and context's {} bits and the packet size {packet_bits}",
                events_start - offset * 8
            )));
        }
        let left = self.data.len() as u64 - offset;
        let truncated = packet_bits / 8 > left;
        Ok(Packet {
            offset,
            size: (packet_bits / 8).min(left),
            events_start,
            content_end: (offset * 8 + content_bits).min(file_bits),
            stream_class,
            stream_instance_id: special(Role::StreamInstanceId),
            begin: special(Role::TimestampBegin),
            end: special(Role::TimestampEnd),
            discarded: special(Role::EventsDiscarded),
            sequence: special(Role::PacketSequence),
            cpu: special(Role::CpuId),
            truncated,
        })
    }
}

/// The values of the `uuid` field of a packet header: 16 bytes.
fn uuid_of(header: &Node, values: &[Datum<'_>]) -> Option<[u8; 16]> {
    let Node::Struct { fields, .. } = header else { return None };
    let mut at = 0;
    for field in fields {
        let count = datum_count(&field.node, &values[at..]);
        if field.name == "uuid" {
            let bytes: Vec<u8> = values[at..at + count]
                .iter()
                .map(|value| match value {
                    Datum::Unsigned(byte) => u8::try_from(*byte).ok(),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            return bytes.try_into().ok();
        }
        at += count;
    }
    None
}

/// An event in a packet.
#[derive(Debug)]
pub struct Event<'v, 'a, 'p> {
    /// Bit position in the stream file where the event starts.
    pub position: u64,
    /// Its event class ID.
    pub id: u64,
    /// How to read its values, and its class's index in [`TraceClass::events`].
    pub plan: &'p EventPlan,
    /// The clock value when it happened, in ticks (the header's timestamp extended to 64 bits
    /// from the previous one, CTF 1.8 §8).
    pub timestamp: u64,
    /// Values of `stream.event.context`.
    pub stream_context: &'v [Datum<'a>],
    /// Values of `event.context`.
    pub context: &'v [Datum<'a>],
    /// Values of `event.fields`.
    pub fields: &'v [Datum<'a>],
}

/// An event cannot be decoded: the rest of its packet is not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Its values do not decode.
    #[error("event at bit {position}: {error}")]
    Decode {
        /// Bit position where the event starts.
        position: u64,
        /// What went wrong.
        error: DecodeError,
    },
    /// Its event class is not declared in its stream class.
    #[error("event at bit {position}: event ID {id} is not declared in stream class {stream_class}")]
    UnknownId {
        /// Bit position where the event starts.
        position: u64,
        /// The ID read.
        id: u64,
        /// The packet's stream class.
        stream_class: u64,
    },
    /// Its event class's types cannot be read.
    #[error("event at bit {position}: event ID {id}: {error}")]
    Unreadable {
        /// Bit position where the event starts.
        position: u64,
        /// The ID read.
        id: u64,
        /// Why.
        error: PlanError,
    },
    /// The event took no bits, so the next would be at the same place.
    #[error("event at bit {position}: it takes no bits")]
    Empty {
        /// Bit position where the event starts.
        position: u64,
    },
}

/// An event decoded into a caller's buffer ([`Events::advance_into`]).
#[derive(Debug, Clone, Copy)]
pub struct Decoded<'p> {
    /// Bit position in the stream file where the event starts.
    pub position: u64,
    /// Its event class ID.
    pub id: u64,
    /// How its values were read.
    pub plan: &'p EventPlan,
    /// Its clock value in ticks.
    pub timestamp: u64,
    /// Where its stream event context, event context and fields start, and where its values
    /// end, in the buffer.
    pub bounds: [usize; 4],
}

/// The events of one packet, read one at a time (each borrows the reader's value buffer).
pub struct Events<'a, 'p> {
    decoder: Decoder<'a>,
    plan: Option<&'p StreamPlan>,
    clock: u64,
    values: Vec<Datum<'a>>,
    done: bool,
    /// The event [`advance`](Self::advance) decoded last: position, ID, plan, where its
    /// context and fields start in `values`.
    current: Option<(u64, u64, &'p EventPlan, [usize; 2])>,
}

impl<'a> CtfTrace {
    /// The events of `packet`, a packet of `data` that [`packets`](Self::packets) gave.
    pub fn events<'p>(&'p self, data: &'a [u8], packet: &Packet) -> Events<'a, 'p> {
        let plan = match self.stream_plan(packet.stream_class) {
            Some(Ok(plan)) => Some(plan),
            _ => None,
        };
        // The packet header and context again, for the registers they set.
        let mut decoder = Decoder::new(data, self.registers);
        decoder.cursor.seek(packet.offset * 8);
        let mut scratch = Vec::new();
        let replayed = plan.map(|plan| {
            self.packet_header
                .iter()
                .chain(&plan.packet_context)
                .try_for_each(|scope| decoder.decode(scope, &mut scratch))
        });
        decoder.cursor.limit(packet.content_end);
        decoder.cursor.seek(packet.events_start);
        Events {
            decoder,
            plan,
            clock: packet.begin.unwrap_or(0),
            values: Vec::new(),
            done: !matches!(replayed, Some(Ok(()))),
            current: None,
        }
    }
}

impl<'a, 'p> Events<'a, 'p> {
    /// The next event, or why the rest of the packet cannot be read.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<Event<'_, 'a, 'p>, EventError>> {
        match self.advance()? {
            Ok(()) => self.current().map(Ok),
            Err(error) => Some(Err(error)),
        }
    }

    /// Decodes the next event, which [`current`](Self::current) then shows; `None` at the end
    /// of the packet, an error when the rest of the packet cannot be read.
    pub fn advance(&mut self) -> Option<Result<(), EventError>> {
        self.current = None;
        let mut values = std::mem::take(&mut self.values);
        values.clear();
        let decoded = self.advance_into(&mut values);
        self.values = values;
        match decoded? {
            Ok(event) => {
                let [_, context, fields, _] = event.bounds;
                self.current = Some((event.position, event.id, event.plan, [context, fields]));
                Some(Ok(()))
            }
            Err(error) => Some(Err(error)),
        }
    }

    /// Decodes the next event, appending its values to `out` (as [`Decoded::bounds`] says);
    /// `None` at the end of the packet, an error when the rest of the packet cannot be read.
    /// [`current`](Self::current) does not show it.
    pub fn advance_into(&mut self, out: &mut Vec<Datum<'a>>) -> Option<Result<Decoded<'p>, EventError>> {
        self.current = None;
        let plan = self.plan?;
        if self.done || self.decoder.cursor.remaining() == 0 {
            return None;
        }
        let position = self.decoder.cursor.position();
        match self.read(plan, position, out) {
            Ok((id, event, bounds)) => {
                Some(Ok(Decoded { position, id, plan: event, timestamp: self.clock, bounds }))
            }
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }

    /// The event [`advance`](Self::advance) decoded last, if it succeeded.
    pub fn current(&self) -> Option<Event<'_, 'a, 'p>> {
        let (position, id, plan, [context, fields]) = self.current?;
        let values = self.values.as_slice();
        Some(Event {
            position,
            id,
            plan,
            timestamp: self.clock,
            stream_context: &values[..context],
            context: &values[context..fields],
            fields: &values[fields..],
        })
    }

    /// Decodes the event at `position`: its ID, plan, and where its context and fields begin
    /// in the value buffer (which holds the stream event context first).
    fn read(
        &mut self,
        plan: &'p StreamPlan,
        position: u64,
        out: &mut Vec<Datum<'a>>,
    ) -> Result<(u64, &'p EventPlan, [usize; 4]), EventError> {
        let decode = |error| EventError::Decode { position, error };
        let start = out.len();
        self.decoder.specials.clear(Role::EventId);
        self.decoder.specials.clear(Role::Timestamp);
        if let Some(header) = &plan.event_header {
            self.decoder.decode(header, out).map_err(decode)?;
            out.truncate(start);
        }
        let id = self.decoder.specials.get(Role::EventId).map_or(0, |(id, _)| id);
        if let Some((value, size)) = self.decoder.specials.get(Role::Timestamp) {
            self.clock = extend_clock(self.clock, value, size);
        }
        let event = match plan.events.get(id) {
            Some(Ok(event)) => event,
            Some(Err(error)) => return Err(EventError::Unreadable { position, id, error: error.clone() }),
            None => return Err(EventError::UnknownId { position, id, stream_class: plan.id }),
        };
        if let Some(context) = &plan.event_context {
            self.decoder.decode(context, out).map_err(decode)?;
        }
        let context = out.len();
        if let Some(scope) = &event.context {
            self.decoder.decode(scope, out).map_err(decode)?;
        }
        let fields = out.len();
        if let Some(scope) = &event.fields {
            self.decoder.decode(scope, out).map_err(decode)?;
        }
        if self.decoder.cursor.position() == position {
            return Err(EventError::Empty { position });
        }
        Ok((id, event, [start, context, fields, out.len()]))
    }
}

/// The clock after a timestamp field of `size` bits holding its low bits (CTF 1.8 §8): the
/// high bits are the previous value's, plus one wrap when the low bits went back.
pub fn extend_clock(previous: u64, low: u64, size: u32) -> u64 {
    if size >= 64 {
        return low;
    }
    let mask = (1u64 << size) - 1;
    let mut value = (previous & !mask) | low;
    if low < previous & mask {
        value = value.wrapping_add(1 << size);
    }
    value
}
