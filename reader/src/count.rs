//! Counting events, with packets decoded in parallel: what `stats`-like tools need, without
//! time order and without decoding any field.

use std::{
    collections::BTreeMap,
    sync::atomic::{AtomicUsize, Ordering},
};

use crate::{
    container::Releaser,
    packet::{CrcStatus, RawPacket},
    records::{walk_packet, Stop},
    stream_index::PacketEntry,
    Trace,
};

/// Event counts of a trace; see [`Trace::count_events`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventCounts {
    /// Events, all classes.
    pub events: u64,
    /// Events per event class ID.
    pub by_class: BTreeMap<u32, u64>,
    /// Data packets read (a CRC failure included).
    pub packets: u64,
    /// Bytes of those packets.
    pub bytes: u64,
    /// Packets whose CRC does not match (§10.3): their events are not counted.
    pub crc_failures: u64,
    /// Packets in which a record does not decode (§10.5): the records after it are lost.
    pub stopped_packets: u64,
    /// Packets that their file no longer held whole when they were counted, because it shrank
    /// after the trace was opened (§10.4): only their records before the file's end are
    /// counted.
    pub shrunk_packets: u64,
}

impl EventCounts {
    fn add(&mut self, other: &EventCounts) {
        self.events += other.events;
        for (id, count) in &other.by_class {
            *self.by_class.entry(*id).or_default() += count;
        }
        self.packets += other.packets;
        self.bytes += other.bytes;
        self.crc_failures += other.crc_failures;
        self.stopped_packets += other.stopped_packets;
        self.shrunk_packets += other.shrunk_packets;
    }
}

/// Bytes of consecutive packets a counting thread claims at a time. Claiming runs, not single
/// packets, lets each thread give back what it read in large contiguous ranges: with several
/// threads in one address space, every `madvise(MADV_DONTNEED)` interrupts the other CPUs to
/// flush their TLBs, which costs tens of microseconds in a virtual machine; one call per
/// 64 KiB packet spent a third of the CPU time of a two-thread count.
const CLAIM_BYTES: usize = 2 << 20;

/// Splits `packets` (in container order) into runs of consecutive packets of about
/// [`CLAIM_BYTES`] each: the half-open index ranges that threads claim.
fn claims(packets: &[&PacketEntry]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut bytes = 0usize;
    for (index, entry) in packets.iter().enumerate() {
        bytes = bytes.saturating_add(entry.raw.available);
        let next_elsewhere = packets.get(index + 1).is_none_or(|next| next.raw.file != entry.raw.file);
        if bytes >= CLAIM_BYTES || next_elsewhere {
            runs.push(start..index + 1);
            start = index + 1;
            bytes = 0;
        }
    }
    runs
}

/// Counts the events of `trace` on `threads` threads (the caller's among them).
pub(crate) fn count(trace: &Trace, threads: usize) -> EventCounts {
    let packets: Vec<&PacketEntry> =
        trace.stream_indexes().iter().flat_map(|stream| stream.packets.iter()).collect();
    let runs = claims(&packets);
    let next = AtomicUsize::new(0);
    let work = || {
        let metadata = trace.metadata();
        let mut per_slot = vec![0u64; metadata.entries().len()];
        let mut counts = EventCounts::default();
        let mut releaser = Releaser::new(&trace.container);
        while let Some(run) = runs.get(next.fetch_add(1, Ordering::Relaxed)) {
            for entry in packets.get(run.clone()).unwrap_or(&[]) {
                let raw = &entry.raw;
                let Some(file) = trace.container.files.get(raw.file) else { continue };
                let bytes = file.bytes();
                counts.packets += 1;
                counts.bytes += raw.available as u64;
                let count = |raw: &RawPacket, per_slot: &mut [u64], add: bool| {
                    // A compressed packet whose records cannot be had counts as stopped at once.
                    let content = match trace.records_of(raw) {
                        Ok(content) => content,
                        Err(error) => return Some((0, Stop::Compressed(error))),
                    };
                    walk_packet(metadata, raw, content, |record| {
                        if let Some(count) = per_slot.get_mut(record.slot as usize) {
                            *count = if add { count.saturating_add(1) } else { count.saturating_sub(1) };
                        }
                    })
                };
                let crc_failed = matches!(raw.crc(bytes), CrcStatus::Mismatch { .. });
                let stop = if crc_failed { None } else { count(raw, &mut per_slot, true) };
                // Asked after the CRC and the walk: the records counted must be ones the file
                // still holds, not the zeros that read past its end once it has shrunk (§10.4).
                if let Some(clipped) = raw.cut_to(file.backing.len_now()) {
                    if !crc_failed {
                        count(raw, &mut per_slot, false);
                    }
                    // A cut packet's CRC cannot be checked, and where its walk stops is the
                    // file's end, not a bad record.
                    count(&clipped, &mut per_slot, true);
                    counts.shrunk_packets += 1;
                } else if crc_failed {
                    counts.crc_failures += 1;
                } else {
                    counts.stopped_packets += u64::from(stop.is_some());
                }
                releaser.consumed(raw.file, raw.offset, raw.available);
            }
        }
        for (entry, count) in metadata.entries().iter().zip(per_slot) {
            if count > 0 {
                counts.events += count;
                *counts.by_class.entry(entry.class.id).or_default() += count;
            }
        }
        counts
    };
    let helpers = threads.saturating_sub(1).min(runs.len().saturating_sub(1));
    let mut total = EventCounts::default();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..helpers).map(|_| scope.spawn(work)).collect();
        total.add(&work());
        for handle in handles {
            // A worker panics only on a bug; the counts are then incomplete, not wrong.
            if let Ok(counts) = handle.join() {
                total.add(&counts);
            }
        }
    });
    total
}
