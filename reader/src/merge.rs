//! Merging every stream's events into one timestamp-ordered sequence.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, VecDeque},
};

use crate::{
    stream::{StreamId, StreamIter},
    Diagnostic, Item,
};

/// One stream's iterator and the items taken from it but not yet delivered: diagnostics up
/// to and including the next event.
#[derive(Debug)]
struct Lane<'t> {
    iter: StreamIter<'t>,
    buffered: VecDeque<Item<'t>>,
}

/// Every stream's events in timestamp order, with diagnostics (see
/// [`Trace::events`](crate::Trace::events)).
///
/// A k-way merge over the per-stream iterators: the stream whose next event has the lowest
/// timestamp goes first; ties go to the lower (stream class, instance). Within a stream,
/// record order is kept, even where the stream's timestamps go backwards (a reported
/// violation, §1.7). A stream's diagnostics are delivered just before the event that follows
/// them in that stream. The metadata's diagnostics come first, and container diagnostics
/// attached to no data packet last.
///
/// The iterator is fused.
#[derive(Debug)]
pub struct Events<'t> {
    prelude: std::slice::Iter<'t, Diagnostic>,
    lanes: Vec<Lane<'t>>,
    heap: BinaryHeap<Reverse<(u64, StreamId, usize)>>,
    started: bool,
    out: VecDeque<Item<'t>>,
    trailing: std::slice::Iter<'t, Diagnostic>,
}

impl<'t> Events<'t> {
    pub(crate) fn new(
        prelude: &'t [Diagnostic],
        streams: impl IntoIterator<Item = StreamIter<'t>>,
        trailing: &'t [Diagnostic],
    ) -> Events<'t> {
        Events {
            prelude: prelude.iter(),
            lanes: streams.into_iter().map(|iter| Lane { iter, buffered: VecDeque::new() }).collect(),
            heap: BinaryHeap::new(),
            started: false,
            out: VecDeque::new(),
            trailing: trailing.iter(),
        }
    }

    /// Pulls lane `index` up to its next event and schedules it.
    fn fill(&mut self, index: usize) {
        let Some(lane) = self.lanes.get_mut(index) else { return };
        let mut key = None;
        while let Some((at, item)) = lane.iter.next_keyed() {
            let is_event = matches!(item, Item::Event(_));
            lane.buffered.push_back(item);
            if is_event {
                key = Some(at);
                break;
            }
            // A lane with only diagnostics left sorts at its first one.
            key.get_or_insert(at);
        }
        if let Some(at) = key {
            self.heap.push(Reverse((at, lane.iter.id(), index)));
        }
    }
}

impl<'t> Iterator for Events<'t> {
    type Item = Item<'t>;

    fn next(&mut self) -> Option<Item<'t>> {
        if let Some(diagnostic) = self.prelude.next() {
            return Some(Item::Diagnostic(diagnostic.clone()));
        }
        if !self.started {
            self.started = true;
            for index in 0..self.lanes.len() {
                self.fill(index);
            }
        }
        loop {
            if let Some(item) = self.out.pop_front() {
                return Some(item);
            }
            let Some(Reverse((_, _, index))) = self.heap.pop() else { break };
            if let Some(lane) = self.lanes.get_mut(index) {
                self.out.append(&mut lane.buffered);
            }
            self.fill(index);
        }
        self.trailing.next().map(|diagnostic| Item::Diagnostic(diagnostic.clone()))
    }
}

impl std::iter::FusedIterator for Events<'_> {}
