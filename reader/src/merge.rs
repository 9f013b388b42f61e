//! Merging every stream's records into one timestamp-ordered sequence.

use crate::{
    event::{Event, RawRecord},
    stream::StreamCursor,
    Diagnostic, Item,
};

/// What the merge delivers next: a record, or a diagnostic (boxed: diagnostics are rare, and
/// records move faster in a smaller type).
pub(crate) type Merged<'t> = Result<RawRecord<'t>, Box<Diagnostic>>;

/// The k-way merge under [`Events`] and the typed dispatcher.
///
/// The stream whose next record has the lowest timestamp goes first; ties go to the lower
/// (stream class, instance), which is the cursor order. A stream's diagnostics go just before
/// its next record. The stream being delivered from stays apart from the others and keeps
/// going while its next record still sorts first, so a run of records from one stream costs
/// one comparison each; the others wait in a list sorted by key, which for the few streams of
/// a trace (one per CPU) is cheaper to keep than a heap.
#[derive(Debug)]
pub(crate) struct Merger<'t, 'p> {
    cursors: Vec<StreamCursor<'t, 'p>>,
    /// `(timestamp, cursor)` of every cursor with something left except `current`, sorted
    /// descending: the next to go is last.
    waiting: Vec<(u64, usize)>,
    current: Option<usize>,
    started: bool,
}

impl<'t, 'p> Merger<'t, 'p> {
    pub(crate) fn new(cursors: impl IntoIterator<Item = StreamCursor<'t, 'p>>) -> Merger<'t, 'p> {
        let cursors: Vec<StreamCursor<'t, 'p>> = cursors.into_iter().collect();
        Merger { waiting: Vec::with_capacity(cursors.len()), cursors, current: None, started: false }
    }

    /// Puts a cursor in the waiting list, keeping it sorted: a push and a few swaps, as the
    /// list is short.
    #[inline(always)]
    fn wait(&mut self, key: (u64, usize)) {
        self.waiting.push(key);
        let mut at = self.waiting.len() - 1;
        while at > 0 {
            match (self.waiting.get(at - 1).copied(), self.waiting.get(at).copied()) {
                (Some(before), Some(this)) if before < this => self.waiting.swap(at - 1, at),
                _ => break,
            }
            at -= 1;
        }
    }

    #[cold]
    fn start(&mut self) {
        self.started = true;
        for index in 0..self.cursors.len() {
            let key = self.cursors.get_mut(index).and_then(StreamCursor::peek);
            if let Some(at) = key {
                self.wait((at, index));
            }
        }
    }

    #[inline(always)]
    pub(crate) fn next(&mut self) -> Option<Merged<'t>> {
        if !self.started {
            self.start();
        }
        loop {
            if let Some(index) = self.current {
                if let Some(cursor) = self.cursors.get_mut(index) {
                    if let Some(diagnostic) = cursor.take_diagnostic() {
                        return Some(Err(Box::new(diagnostic)));
                    }
                    if let Some((record, key)) = cursor.take_and_peek() {
                        match key {
                            Some(at) => {
                                let stays = self.waiting.last().is_none_or(|&first| (at, index) < first);
                                if !stays {
                                    // The first waiting cursor goes next: take it now, so that
                                    // streams interleaving record by record cost one insertion
                                    // per record, not an insertion and a removal.
                                    self.current = self.waiting.pop().map(|(_, first)| first);
                                    self.wait((at, index));
                                }
                            }
                            None => self.current = None,
                        }
                        return Some(Ok(record));
                    }
                }
                // Only diagnostics were left, and they are delivered.
                self.current = None;
            }
            let (_, index) = self.waiting.pop()?;
            self.current = Some(index);
        }
    }
}

/// Every stream's events in timestamp order, with diagnostics (see
/// [`Trace::events`](crate::Trace::events)).
///
/// A k-way merge over the streams: the stream whose next event has the lowest timestamp goes
/// first; ties go to the lower (stream class, instance). Within a stream, record order is
/// kept, even where the stream's timestamps go backwards (a reported violation, §1.7). A
/// stream's diagnostics are delivered just before the event that follows them in that
/// stream. The metadata's diagnostics come first, and container diagnostics attached to no
/// data packet last.
///
/// The iterator is fused.
#[derive(Debug)]
pub struct Events<'t> {
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
        Events { prelude: prelude.iter(), merger: Merger::new(streams), trailing: trailing.iter() }
    }
}

impl<'t> Iterator for Events<'t> {
    type Item = Item<'t>;

    #[inline]
    fn next(&mut self) -> Option<Item<'t>> {
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
