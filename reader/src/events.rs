//! The iterators of events: every stream merged in time order, a time window of them, and one
//! stream in record order; each turns the records and diagnostics below into [`Item`]s.

use crate::{
    event::Event,
    merge::Merger,
    stream::{Advance, StreamCursor},
    stream_id::StreamId,
    stream_index::StreamIndex,
    Diagnostic, Item, Trace,
};

/// Every stream's events in time order, with diagnostics (see
/// [`Trace::events`](crate::Trace::events)).
///
/// A k-way merge over the streams (§10.8): the stream whose next event has the earliest time
/// (through its stream class's clock, §7.4) goes first, then the lower ticks; events of a
/// stream without a clock come after all others, by ticks; ties go to the lower (stream
/// class, instance). Within a stream, record order is
/// kept, even where the stream's timestamps go backwards (a reported violation, §1.7). A
/// stream's diagnostics are delivered just before the event that follows them in that
/// stream. The metadata's diagnostics come first, and container diagnostics attached to no
/// data packet last.
///
/// The iterator is fused.
#[derive(Debug)]
pub struct Events<'t> {
    /// Delivered first of all: why a window read set the stored indexes aside.
    notice: Option<&'t Diagnostic>,
    prelude: std::slice::Iter<'t, Diagnostic>,
    merger: Merger<'t, 't>,
    trailing: std::slice::Iter<'t, Diagnostic>,
}

impl<'t> Events<'t> {
    pub(crate) fn new(
        prelude: &'t [Diagnostic],
        streams: impl IntoIterator<Item = StreamCursor<'t, 't>>,
        trailing: &'t [Diagnostic],
    ) -> Events<'t> {
        Events {
            notice: None,
            prelude: prelude.iter(),
            merger: Merger::new(streams),
            trailing: trailing.iter(),
        }
    }

    /// These events, after `notice`.
    pub(crate) fn after(mut self, notice: Option<&'t Diagnostic>) -> Events<'t> {
        self.notice = notice;
        self
    }
}

impl<'t> Iterator for Events<'t> {
    type Item = Item<'t>;

    #[inline]
    fn next(&mut self) -> Option<Item<'t>> {
        if let Some(diagnostic) = self.notice.take() {
            return Some(Item::Diagnostic(diagnostic.clone()));
        }
        if let Some(diagnostic) = self.prelude.next() {
            return Some(Item::Diagnostic(diagnostic.clone()));
        }
        match self.merger.next() {
            Some(Ok(record)) => Some(Item::Event(Event::new(record))),
            Some(Err(diagnostic)) => Some(Item::Diagnostic(*diagnostic)),
            None => self.trailing.next().map(|diagnostic| Item::Diagnostic(diagnostic.clone())),
        }
    }
}

impl std::iter::FusedIterator for Events<'_> {}

/// The events of a time window, with the diagnostics of the packets read (see
/// [`Trace::events_between`](crate::Trace::events_between)).
#[derive(Debug)]
pub struct EventsBetween<'t> {
    events: Events<'t>,
    from: i128,
    to: i128,
}

impl<'t> EventsBetween<'t> {
    pub(crate) fn new(events: Events<'t>, from: i128, to: i128) -> EventsBetween<'t> {
        EventsBetween { events, from, to }
    }
}

impl<'t> Iterator for EventsBetween<'t> {
    type Item = Item<'t>;

    fn next(&mut self) -> Option<Item<'t>> {
        loop {
            match self.events.next()? {
                // The packets at the window's edges hold events outside it.
                Item::Event(event)
                    if !event.unix_ns().is_some_and(|ns| (self.from..=self.to).contains(&ns)) => {}
                item => return Some(item),
            }
        }
    }
}

impl std::iter::FusedIterator for EventsBetween<'_> {}

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
        StreamIter { cursor: StreamCursor::new(trace.source(), stream) }
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
            if let Some(diagnostic) = self.cursor.take_diagnostic() {
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
