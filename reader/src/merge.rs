//! Merging every stream's records into one time-ordered sequence (§10.8).

use tracemark_format::ClockClass;

use crate::{raw_record::RawRecord, stream::StreamCursor, Diagnostic};

/// What the merge delivers next: a record, or a diagnostic (boxed: diagnostics are rare, and
/// records move faster in a smaller type).
pub(crate) type Merged<'t> = Result<RawRecord<'t>, Box<Diagnostic>>;

/// The merge key of §10.8: records with a time first, by time, then ticks; records of a
/// stream without a clock (undeclared stream class or clock) after all of them, by ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TimeKey {
    clockless: bool,
    unix_ns: i128,
    ticks: u64,
}

impl TimeKey {
    fn of(ticks: u64, clock: Option<&ClockClass>) -> TimeKey {
        match clock {
            Some(clock) => TimeKey { clockless: false, unix_ns: clock.to_unix_ns(ticks), ticks },
            None => TimeKey { clockless: true, unix_ns: 0, ticks },
        }
    }
}

/// The k-way merge under [`Events`] and the typed dispatcher.
///
/// The stream whose next record has the lowest key goes first; ties go to the lower
/// (stream class, instance), which is the cursor order. A stream's diagnostics go just before
/// its next record. The stream being delivered from stays apart from the others and keeps
/// going while its next record still sorts first, so a run of records from one stream costs
/// one comparison each; the others wait in a list sorted by key, which for the few streams of
/// a trace (one per CPU) is cheaper to keep than a heap.
///
/// Keys are ticks. When every stream converts ticks to time alike (one clock, the usual case)
/// ticks order records as [`TimeKey`]s do, the conversion being monotonic; otherwise each
/// comparison converts, out of line.
#[derive(Debug)]
pub(crate) struct Merger<'t, 'p> {
    cursors: Vec<StreamCursor<'t, 'p>>,
    /// `(ticks, cursor)` of every cursor with something left except `current`, sorted
    /// descending: the next to go is last.
    waiting: Vec<(u64, usize)>,
    current: Option<usize>,
    started: bool,
    /// Whether the streams' clocks convert ticks differently, or some stream has none.
    by_time: bool,
}

impl<'t, 'p> Merger<'t, 'p> {
    pub(crate) fn new(cursors: impl IntoIterator<Item = StreamCursor<'t, 'p>>) -> Merger<'t, 'p> {
        let cursors: Vec<StreamCursor<'t, 'p>> = cursors.into_iter().collect();
        let conversion =
            |cursor: &StreamCursor<'t, 'p>| cursor.clock().map(|clock| (clock.frequency, clock.offset_ns));
        let first = cursors.first().map(conversion);
        let by_time = cursors.iter().any(|cursor| Some(conversion(cursor)) != first);
        Merger { waiting: Vec::with_capacity(cursors.len()), cursors, current: None, started: false, by_time }
    }

    /// Whether `a` goes before `b`.
    #[inline(always)]
    fn before(&self, a: (u64, usize), b: (u64, usize)) -> bool {
        if self.by_time {
            self.before_by_time(a, b)
        } else {
            a < b
        }
    }

    #[inline(never)]
    fn before_by_time(&self, (a_ticks, a): (u64, usize), (b_ticks, b): (u64, usize)) -> bool {
        let key = |ticks, index| TimeKey::of(ticks, self.cursors.get(index).and_then(StreamCursor::clock));
        (key(a_ticks, a), a) < (key(b_ticks, b), b)
    }

    /// Puts a cursor in the waiting list, keeping it sorted: a push and a few swaps, as the
    /// list is short.
    #[inline(always)]
    fn wait(&mut self, key: (u64, usize)) {
        self.waiting.push(key);
        let mut at = self.waiting.len() - 1;
        while at > 0 {
            match (self.waiting.get(at - 1).copied(), self.waiting.get(at).copied()) {
                (Some(before), Some(this)) if self.before(before, this) => self.waiting.swap(at - 1, at),
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
        self.next_from().map(|(merged, _)| merged)
    }

    /// [`Merger::next`], with the position of the cursor it came from among those the merger
    /// was given.
    #[inline(always)]
    pub(crate) fn next_from(&mut self) -> Option<(Merged<'t>, usize)> {
        if !self.started {
            self.start();
        }
        loop {
            if let Some(index) = self.current {
                if let Some(cursor) = self.cursors.get_mut(index) {
                    if let Some(diagnostic) = cursor.take_diagnostic() {
                        return Some((Err(Box::new(diagnostic)), index));
                    }
                    if let Some((record, key)) = cursor.take_and_peek() {
                        match key {
                            Some(at) => {
                                let stays =
                                    self.waiting.last().is_none_or(|&first| self.before((at, index), first));
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
                        return Some((Ok(record), index));
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
