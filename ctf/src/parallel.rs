//! Every event of a CTF trace in time order, the stream files decoded on worker threads.
//!
//! One worker per stream file decodes it into batches of events (their values borrowing the
//! file's bytes) and hands them over through a bounded channel; the caller's thread merges the
//! batches by time, as [`crate::merge::Merged`] does on one thread. A worker per file, not a
//! pool: a worker serving two files could wait for room in one file's channel while the merge
//! waits for the other file's next batch. Memory stays bounded: at most [`BATCHES_IN_FLIGHT`]
//! batches per file wait at a time, of [`BATCH_EVENTS`] events shared out among the files, and
//! batches are given back to their worker to be refilled.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use crate::decode::Datum;
use crate::merge::{ReadError, StreamEvents};
use crate::stream::{CtfTrace, Decoded, Event};

/// Events per batch of a two-file trace; with more files, batches are smaller (at least 256
/// events), so the events in flight stay about the same.
pub const BATCH_EVENTS: usize = 4096;
/// Batches a file's worker may have decoded ahead of the merge.
pub const BATCHES_IN_FLIGHT: usize = 4;

/// Events of one file, decoded ahead.
struct Batch<'a, 'p> {
    /// Each event's time (ns from its clock's origin) and where its values are.
    events: Vec<(i128, Decoded<'p>)>,
    values: Vec<Datum<'a>>,
}

impl<'a, 'p> Batch<'a, 'p> {
    fn new() -> Batch<'a, 'p> {
        Batch { events: Vec::with_capacity(BATCH_EVENTS), values: Vec::with_capacity(BATCH_EVENTS * 8) }
    }

    fn event(&self, index: usize) -> Event<'_, 'a, 'p> {
        let decoded = &self.events[index].1;
        let [start, context, fields, end] = decoded.bounds;
        Event {
            position: decoded.position,
            id: decoded.id,
            plan: decoded.plan,
            timestamp: decoded.timestamp,
            stream_context: &self.values[start..context],
            context: &self.values[context..fields],
            fields: &self.values[fields..end],
        }
    }
}

/// A file's side of the merge: its batches arriving, the one being read.
struct Source<'a, 'p> {
    batches: Receiver<Batch<'a, 'p>>,
    recycle: SyncSender<Batch<'a, 'p>>,
    current: Option<Batch<'a, 'p>>,
    next: usize,
}

impl<'a, 'p> Source<'a, 'p> {
    /// Moves to the next event; its time, `None` when the file is done.
    fn advance(&mut self) -> Option<i128> {
        loop {
            if let Some(batch) = &self.current {
                if let Some((time, _)) = batch.events.get(self.next) {
                    return Some(*time);
                }
                if let Some(done) = self.current.take() {
                    let _ = self.recycle.try_send(done);
                }
            }
            self.current = Some(self.batches.recv().ok()?);
            self.next = 0;
        }
    }
}

/// Calls `each` with every event of `files` (the stream files of `trace`) in time order (ties:
/// file order) and the index of its file, each file decoded on a thread of its own. Returns
/// what could not be read.
pub fn for_each_event<'a, 'p>(
    trace: &'p CtfTrace,
    files: &[&'a [u8]],
    each: impl FnMut(usize, &Event<'_, 'a, 'p>),
) -> Vec<ReadError>
where
    'p: 'a,
{
    let batch_events = (BATCH_EVENTS * 2 / files.len().max(1)).clamp(256, BATCH_EVENTS);
    for_each_event_in_batches(trace, files, batch_events, each)
}

/// [`for_each_event`] with batches of `batch_events` events (at least 1).
pub fn for_each_event_in_batches<'a, 'p>(
    trace: &'p CtfTrace,
    files: &[&'a [u8]],
    batch_events: usize,
    mut each: impl FnMut(usize, &Event<'_, 'a, 'p>),
) -> Vec<ReadError>
where
    'p: 'a,
{
    let batch_events = batch_events.max(1);
    std::thread::scope(|scope| {
        let mut sources = Vec::with_capacity(files.len());
        let mut handles = Vec::with_capacity(files.len());
        for (index, data) in files.iter().enumerate() {
            let (send, receive) = sync_channel(BATCHES_IN_FLIGHT);
            let (recycle, recycled) = sync_channel(BATCHES_IN_FLIGHT + 1);
            sources.push(Source { batches: receive, recycle, current: None, next: 0 });
            handles.push(scope.spawn(move || {
                let mut errors = Vec::new();
                decode_file(trace, data, index, batch_events, &send, &recycled, &mut errors);
                errors
            }));
        }

        let mut heap = BinaryHeap::with_capacity(sources.len());
        for (index, source) in sources.iter_mut().enumerate() {
            if let Some(time) = source.advance() {
                heap.push(Reverse((time, index)));
            }
        }
        while let Some(Reverse((_, index))) = heap.pop() {
            let source = &mut sources[index];
            if let Some(batch) = &source.current {
                each(index, &batch.event(source.next));
            }
            source.next += 1;
            if let Some(time) = source.advance() {
                heap.push(Reverse((time, index)));
            }
        }
        drop(sources);
        handles.into_iter().flat_map(|handle| handle.join().unwrap_or_default()).collect()
    })
}

/// Decodes one file into batches sent on `send` (stops when the merge hangs up).
fn decode_file<'a, 'p>(
    trace: &'p CtfTrace,
    data: &'a [u8],
    index: usize,
    batch_events: usize,
    send: &SyncSender<Batch<'a, 'p>>,
    recycled: &Receiver<Batch<'a, 'p>>,
    errors: &mut Vec<ReadError>,
) where
    'p: 'a,
{
    let mut stream = StreamEvents::new(trace, data, index);
    let mut batch = Batch::new();
    while let Some(event) = stream.advance_into(&mut batch.values, errors) {
        batch.events.push((trace.time_of(event.plan.class, event.timestamp), event));
        if batch.events.len() >= batch_events {
            let mut next = recycled.try_recv().unwrap_or_else(|_| Batch::new());
            next.events.clear();
            next.values.clear();
            if send.send(std::mem::replace(&mut batch, next)).is_err() {
                return;
            }
        }
    }
    if !batch.events.is_empty() {
        let _ = send.send(batch);
    }
}
