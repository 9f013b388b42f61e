//! Every event of a CTF trace in time order: each stream file walked packet after packet,
//! the streams merged by time as babeltrace2's muxer merges them.
//!
//! Damage never stops the others: a packet that cannot be read ends its file's walk, an event
//! that cannot be decoded ends its packet's; both are kept in [`Merged::errors`] with the file
//! they are in, and the other events are delivered.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::decode::Datum;
use crate::stream::{CtfTrace, Decoded, Event, EventError, Events, Packet, PacketError, Packets};

/// Something a walk could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// A packet's header or context: the rest of its file is not read.
    #[error("stream file {file}: {error}")]
    Packet {
        /// Index of the file in the list the merge was made from.
        file: usize,
        /// What was wrong.
        error: PacketError,
    },
    /// An event: the rest of its packet is not read.
    #[error("stream file {file}, packet at byte {packet}: {error}")]
    Event {
        /// Index of the file.
        file: usize,
        /// Byte offset of the packet.
        packet: u64,
        /// What was wrong.
        error: EventError,
    },
}

/// The events of one stream file, packet after packet.
pub struct StreamEvents<'a, 'p> {
    trace: &'p CtfTrace,
    data: &'a [u8],
    file: usize,
    packets: Packets<'a>,
    events: Option<Events<'a, 'p>>,
    packet: Option<Packet>,
}

impl<'a, 'p> StreamEvents<'a, 'p>
where
    'p: 'a,
{
    /// The events of stream file number `file`, whose bytes are `data`.
    pub fn new(trace: &'p CtfTrace, data: &'a [u8], file: usize) -> StreamEvents<'a, 'p> {
        StreamEvents { trace, data, file, packets: trace.packets(data), events: None, packet: None }
    }

    /// Decodes the next event; errors met on the way go to `errors`. `false` at the end.
    pub fn advance(&mut self, errors: &mut Vec<ReadError>) -> bool {
        self.next(errors, Events::advance).is_some()
    }

    /// Decodes the next event, appending its values to `out`; errors met on the way go to
    /// `errors`. `None` at the end.
    pub fn advance_into(
        &mut self,
        out: &mut Vec<Datum<'a>>,
        errors: &mut Vec<ReadError>,
    ) -> Option<Decoded<'p>> {
        self.next(errors, |events| events.advance_into(out))
    }

    /// The next event by `step` across packets.
    fn next<T>(
        &mut self,
        errors: &mut Vec<ReadError>,
        mut step: impl FnMut(&mut Events<'a, 'p>) -> Option<Result<T, EventError>>,
    ) -> Option<T> {
        loop {
            if let Some(events) = &mut self.events {
                match step(events) {
                    Some(Ok(value)) => return Some(value),
                    Some(Err(error)) => {
                        let packet = self.packet.as_ref().map_or(0, |packet| packet.offset);
                        errors.push(ReadError::Event { file: self.file, packet, error });
                    }
                    None => {}
                }
                self.events = None;
            }
            match self.packets.next() {
                None => return None,
                Some(Err(error)) => {
                    errors.push(ReadError::Packet { file: self.file, error });
                    return None;
                }
                Some(Ok(packet)) => {
                    self.events = Some(self.trace.events(self.data, &packet));
                    self.packet = Some(packet);
                }
            }
        }
    }

    /// The event [`advance`](Self::advance) decoded last.
    pub fn current(&self) -> Option<Event<'_, 'a, 'p>> {
        self.events.as_ref()?.current()
    }

    /// The packet the current event is in.
    pub fn packet(&self) -> Option<&Packet> {
        self.packet.as_ref()
    }
}

/// The events of several stream files of one trace, in time order (ties: file order).
pub struct Merged<'a, 'p> {
    streams: Vec<StreamEvents<'a, 'p>>,
    /// (time in ns from the clock's origin, file) of each stream's current event.
    heap: BinaryHeap<Reverse<(i128, usize)>>,
    /// The stream whose event was delivered last: advanced before the next choice.
    delivered: Option<usize>,
    started: bool,
    /// What could not be read, so far.
    pub errors: Vec<ReadError>,
}

impl<'a, 'p> Merged<'a, 'p>
where
    'p: 'a,
{
    /// The events of `files`, the stream files of `trace`.
    pub fn new(trace: &'p CtfTrace, files: &[&'a [u8]]) -> Merged<'a, 'p> {
        let streams =
            files.iter().enumerate().map(|(file, data)| StreamEvents::new(trace, data, file)).collect();
        Merged { streams, heap: BinaryHeap::new(), delivered: None, started: false, errors: Vec::new() }
    }

    /// Moves to the next event in time order; `false` when every stream is done.
    ///
    /// Runs: the stream delivered last keeps delivering, without touching the heap, while its
    /// next event is not later than every other stream's (ties go to the heap, which orders
    /// them by file).
    pub fn advance(&mut self) -> bool {
        if !self.started {
            self.started = true;
            for index in 0..self.streams.len() {
                if let Some(time) = self.next_time(index) {
                    self.heap.push(Reverse((time, index)));
                }
            }
        } else if let Some(index) = self.delivered.take() {
            if let Some(time) = self.next_time(index) {
                match self.heap.peek() {
                    Some(Reverse(head)) if *head <= (time, index) => self.heap.push(Reverse((time, index))),
                    _ => {
                        self.delivered = Some(index);
                        return true;
                    }
                }
            }
        }
        match self.heap.pop() {
            Some(Reverse((_, index))) => {
                self.delivered = Some(index);
                true
            }
            None => false,
        }
    }

    /// The event [`advance`](Self::advance) moved to, and its stream file's index.
    pub fn current(&self) -> Option<(usize, Event<'_, 'a, 'p>)> {
        let index = self.delivered?;
        Some((index, self.streams[index].current()?))
    }

    /// The stream file number `index`.
    pub fn stream(&self, index: usize) -> Option<&StreamEvents<'a, 'p>> {
        self.streams.get(index)
    }

    /// Advances stream `index`; the time of its new current event, `None` when it is done.
    fn next_time(&mut self, index: usize) -> Option<i128> {
        let stream = &mut self.streams[index];
        if !stream.advance(&mut self.errors) {
            return None;
        }
        let event = stream.current()?;
        Some(stream.trace.time_of(event.plan.class, event.timestamp))
    }
}

impl CtfTrace {
    /// Nanoseconds from the clock's origin of tick `timestamp` of an event of class `class`
    /// (index in [`TraceClass::events`](crate::TraceClass::events)): by the clock its stream
    /// class's timestamps map to, ticks as nanoseconds when there is none.
    pub fn time_of(&self, class: usize, timestamp: u64) -> i128 {
        match self.class_clock(class) {
            Some((1_000_000_000, offset)) => offset + i128::from(timestamp),
            Some((frequency, offset)) => {
                offset + i128::from(timestamp) * 1_000_000_000 / i128::from(frequency)
            }
            None => i128::from(timestamp),
        }
    }
}
