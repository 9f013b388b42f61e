//! Typed values decoded on the pipeline's workers, ahead of the dispatcher's thread.
//!
//! Decoding a record into its handler's Rust type (strings checked for UTF-8, fields read at
//! their bound offsets) is most of what a typed handler costs, and it needs nothing but the
//! record. So when worker threads decode packets for the dispatcher ([`crate::pipeline`]),
//! the worker that found a packet's records also decodes the values of the typed handlers'
//! events ([`AheadPlan`]), and keeps them per handler and packet in the handler's [`Store`].
//! The dispatcher's thread takes a packet's list when it meets the packet's first record for
//! that handler ([`Taker`]), then value after value, each checked against its record's
//! offset.
//!
//! The lists are a cache, never a source of truth: a record whose value is not in them — its
//! packet decoded on the dispatcher's thread because no worker had started it, a slice after
//! a large packet's first, a packet clipped since the file shrank — is decoded where it is
//! delivered. A value is the same whichever thread decoded it: the same function of the same
//! bytes.
//!
//! Memory: the values of the packets decoded ahead, which the pipeline's lookahead bounds
//! (512 KiB of packets), plus a few emptied lists per handler kept for reuse.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, PoisonError,
    },
};

use crate::{
    bind::{Bound, BoundClass, BoundFields, FieldError, TraceEvent},
    metadata::Metadata,
    pipeline::FollowUp,
    raw_record::RawRecord,
    records::Entry,
    stream_index::{PacketEntry, StreamIndex},
};

/// The most packet lists a handler's store keeps. The pipeline's lookahead bounds how many
/// packets are decoded ahead of the dispatcher's thread; this bounds the store even when
/// lists are never taken (a packet clipped before any of its records was delivered). A
/// worker that finds the store full drops its list, and the dispatcher's thread decodes
/// those records itself.
const MAX_KEPT_PACKETS: usize = 1024;

/// The most emptied lists a handler's store keeps for the workers to fill again, and the
/// largest it keeps, in bytes: a packet's list is allocated once, not grown record by record
/// (which took a tenth of a run of 4 KiB packets).
const MAX_SPARE_LISTS: usize = 8;
const MAX_SPARE_LIST_BYTES: usize = 256 << 10;

/// One record's value, with the record's offset in its packet's records.
type Value<T> = (u32, Result<T, FieldError>);

/// One packet's values, in record order.
type Values<T> = VecDeque<Value<T>>;

/// The values the workers decoded for one handler, per packet, until the dispatcher's thread
/// takes them.
#[derive(Debug)]
pub(crate) struct Store<'t, T> {
    lists: Mutex<Lists<'t, T>>,
    /// Values the dispatcher's thread took, counted when its [`Taker`] is dropped.
    taken: AtomicU64,
}

#[derive(Debug)]
struct Lists<'t, T> {
    kept: VecDeque<(&'t PacketEntry, Values<T>)>,
    /// Emptied lists, for their memory.
    spare: Vec<Values<T>>,
}

impl<'t, T> Store<'t, T> {
    pub(crate) fn new() -> Store<'t, T> {
        Store {
            lists: Mutex::new(Lists { kept: VecDeque::new(), spare: Vec::new() }),
            taken: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lists<'t, T>> {
        self.lists.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The values kept for `packet`, no longer kept; `emptied`, a list taken before, is
    /// kept for its memory.
    fn take(&self, packet: &'t PacketEntry, emptied: Option<Values<T>>) -> Option<Values<T>> {
        // Values left in it are dropped outside the lock.
        let emptied = emptied.map(|mut list| {
            list.clear();
            list
        });
        let mut lists = self.lock();
        if let Some(list) = emptied {
            let bytes = list.capacity().saturating_mul(std::mem::size_of::<Value<T>>());
            if lists.spare.len() < MAX_SPARE_LISTS && bytes <= MAX_SPARE_LIST_BYTES {
                lists.spare.push(list);
            }
        }
        let at = lists.kept.iter().position(|(of, _)| std::ptr::eq(*of, packet))?;
        lists.kept.remove(at).map(|(_, values)| values)
    }

    /// An empty list to fill.
    fn spare(&self) -> Values<T> {
        self.lock().spare.pop().unwrap_or_default()
    }

    fn keep(&self, packet: &'t PacketEntry, values: Values<T>) {
        let mut lists = self.lock();
        if lists.kept.len() < MAX_KEPT_PACKETS {
            lists.kept.push_back((packet, values));
        }
    }
}

/// A typed handler's decoding, as the workers see it: `T` erased.
pub(crate) trait DecodeAhead<'t>: Sync {
    /// An empty list of values for `packet`.
    fn list<'s>(&'s self, packet: &'t PacketEntry) -> Box<dyn PacketList<'t> + 's>;
    /// How many values the handler took from the workers, once its [`Taker`] is dropped.
    fn taken(&self) -> u64;
}

/// One handler's values of one packet, filled by a worker.
pub(crate) trait PacketList<'t> {
    /// Decodes `record`, of a class the handler bound as `class`.
    fn push(&mut self, record: &RawRecord<'t>, class: &BoundClass<'t>);
    /// Hands the values to the handler's store.
    fn keep(self: Box<Self>);
}

impl<'t, T: TraceEvent<'t> + Send> DecodeAhead<'t> for Store<'t, T> {
    fn list<'s>(&'s self, packet: &'t PacketEntry) -> Box<dyn PacketList<'t> + 's> {
        Box::new(Filling { store: self, packet, values: self.spare() })
    }

    fn taken(&self) -> u64 {
        self.taken.load(Ordering::Acquire)
    }
}

struct Filling<'s, 't, T> {
    store: &'s Store<'t, T>,
    packet: &'t PacketEntry,
    values: Values<T>,
}

impl<'t, T: TraceEvent<'t>> PacketList<'t> for Filling<'_, 't, T> {
    fn push(&mut self, record: &RawRecord<'t>, class: &BoundClass<'t>) {
        self.values.push_back((record.start, T::decode(&BoundFields::new(record, class))));
    }

    fn keep(self: Box<Self>) {
        if !self.values.is_empty() {
            self.store.keep(self.packet, self.values);
        }
    }
}

/// What the workers do after decoding a batch for the dispatcher: decode every typed
/// handler's values in it, in one pass over its records.
pub(crate) struct AheadPlan<'a, 't> {
    metadata: &'t Metadata,
    /// `routes[slot]`: the handlers (indexes in `decoders`) that decode that class ahead, with
    /// what they bound of it.
    routes: Vec<Vec<(usize, &'a BoundClass<'t>)>>,
    decoders: Vec<&'a (dyn DecodeAhead<'t> + 'a)>,
}

impl<'a, 't> AheadPlan<'a, 't> {
    /// The plan for `handlers`: each one's binding and its decoding ahead, if it has one.
    /// `None` when no handler decodes ahead.
    pub(crate) fn new(
        metadata: &'t Metadata,
        handlers: impl IntoIterator<Item = (&'a Bound<'t>, &'a (dyn DecodeAhead<'t> + 'a))>,
    ) -> Option<AheadPlan<'a, 't>> {
        let mut routes = vec![Vec::new(); metadata.entries().len()];
        let mut decoders = Vec::new();
        for (bound, decoder) in handlers {
            for class in &bound.classes {
                if let Some(route) = routes.get_mut(class.entry.slot) {
                    route.push((decoders.len(), class));
                }
            }
            decoders.push(decoder);
        }
        (!decoders.is_empty()).then_some(AheadPlan { metadata, routes, decoders })
    }
}

impl<'t> FollowUp<'t> for AheadPlan<'_, 't> {
    fn batch_decoded(
        &self,
        stream: &'t StreamIndex,
        packet: &'t PacketEntry,
        content: &'t [u8],
        entries: &[Entry],
    ) {
        let classes = self.metadata.entries();
        let clock = self.metadata.stream_clock(stream.id.class);
        let mut lists: Vec<Option<Box<dyn PacketList<'t> + '_>>> =
            self.decoders.iter().map(|_| None).collect();
        for entry in entries {
            let slot = entry.slot as usize;
            let (Some(route), Some(class)) = (self.routes.get(slot), classes.get(slot)) else { continue };
            if route.is_empty() {
                continue;
            }
            let record = RawRecord::of_entry(entry, class, packet, clock, content);
            for &(handler, bound) in route {
                let (Some(list), Some(decoder)) = (lists.get_mut(handler), self.decoders.get(handler)) else {
                    continue;
                };
                list.get_or_insert_with(|| decoder.list(packet)).push(&record, bound);
            }
        }
        lists.into_iter().flatten().for_each(|list| list.keep());
    }
}

/// One packet's values for a handler, as the dispatcher's thread takes them.
struct Taking<'t, T> {
    packet: &'t PacketEntry,
    values: Values<T>,
}

/// A typed handler's side of the dispatcher's thread: the list of values it is taking from,
/// per merged cursor (records of different streams interleave).
pub(crate) struct Taker<'t, T> {
    store: Arc<Store<'t, T>>,
    taking: Vec<Option<Taking<'t, T>>>,
    taken: u64,
}

impl<'t, T> Taker<'t, T> {
    pub(crate) fn new(store: Arc<Store<'t, T>>) -> Taker<'t, T> {
        Taker { store, taking: Vec::new(), taken: 0 }
    }

    /// `record`'s value, if a worker decoded it; `source` is the merged cursor it came from,
    /// `None` when no worker decodes values in this run.
    #[inline(always)]
    pub(crate) fn take(
        &mut self,
        source: Option<usize>,
        record: &RawRecord<'t>,
    ) -> Option<Result<T, FieldError>> {
        let source = source?;
        let value = match self.taking.get_mut(source) {
            Some(Some(taking)) if std::ptr::eq(taking.packet, record.packet) => taking.take(record.start),
            _ => self.switch(source, record),
        };
        self.taken += u64::from(value.is_some());
        value
    }

    /// The first record of a packet from `source`: takes the packet's list from the store,
    /// or notes that there is none.
    #[cold]
    #[inline(never)]
    fn switch(&mut self, source: usize, record: &RawRecord<'t>) -> Option<Result<T, FieldError>> {
        if self.taking.len() <= source {
            self.taking.resize_with(source + 1, || None);
        }
        let slot = self.taking.get_mut(source)?;
        let emptied = slot.take().map(|taking| taking.values);
        let values = self.store.take(record.packet, emptied).unwrap_or_default();
        slot.insert(Taking { packet: record.packet, values }).take(record.start)
    }
}

impl<T> Drop for Taker<'_, T> {
    fn drop(&mut self) {
        self.store.taken.fetch_add(self.taken, Ordering::Release);
    }
}

impl<T> Taking<'_, T> {
    #[inline(always)]
    fn take(&mut self, start: u32) -> Option<Result<T, FieldError>> {
        take_value(&mut self.values, start)
    }
}

/// The value of the record at `start` in `values`, skipping values of records before it: the
/// worker decodes exactly the records the dispatcher's thread delivers, in the same order, so
/// this only matters if they ever differ, and then a record with no value is decoded where
/// it is delivered rather than given another's.
#[inline(always)]
fn take_value<T>(values: &mut Values<T>, start: u32) -> Option<Result<T, FieldError>> {
    loop {
        let &(at, _) = values.front()?;
        if at > start {
            return None;
        }
        let (at, value) = values.pop_front()?;
        if at == start {
            return Some(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{take_value, Values};
    use crate::bind::{FieldError, FieldErrorKind};

    #[test]
    fn a_value_is_only_ever_its_own_records() {
        let failure = FieldError { field: 1, kind: FieldErrorKind::NotUtf8 { valid_up_to: 2 } };
        let mut values: Values<u32> = [(8, Ok(80)), (16, Ok(160)), (24, Err(failure)), (40, Ok(400))].into();
        // Before the first value's record: none, and nothing is consumed.
        assert_eq!(take_value(&mut values, 4), None);
        assert_eq!(take_value(&mut values, 8), Some(Ok(80)));
        // The record at 16 was not delivered: its value is skipped, not given to 24.
        assert_eq!(take_value(&mut values, 24), Some(Err(failure)));
        // A record with no value between two that have one.
        assert_eq!(take_value(&mut values, 32), None);
        assert_eq!(take_value(&mut values, 40), Some(Ok(400)));
        assert_eq!(take_value(&mut values, 48), None);
        assert!(values.is_empty());
    }
}
