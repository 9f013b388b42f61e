//! Decoding packets on worker threads, ahead of the thread that merges and delivers them.
//!
//! Time-ordered reading is sequential, but most of its work is per packet and independent:
//! the CRC (§4.4), and finding every record's class, timestamp and extent ([`Batch`]). A
//! [`Pipeline`] lists every data packet in the order the merge will want them — by
//! `timestamp_begin`, then stream — and worker threads decode them in that order, a bounded
//! number ahead of the consumer. The consumer takes each packet's batch when its cursor
//! reaches it; a packet that no worker has started yet it decodes itself, so it never waits
//! for a worker that is busy elsewhere, and the pipeline cannot deadlock whatever the packet
//! order.

use std::sync::{
    atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering},
    Condvar, Mutex, PoisonError,
};

use crate::{
    batch::Batch,
    records::Entry,
    source::PacketSource,
    stream_index::{PacketEntry, StreamIndex},
};

/// Bytes of packets the workers may decode ahead of the consumer's latest request (at least
/// one packet, whatever its size). A batch takes about one and a half times its packet's
/// size, so this bounds the pipeline's memory.
const LOOKAHEAD_BYTES: u64 = 512 << 10;

/// How many times its own bytes a job must be ahead of the consumer for a worker to follow it
/// up ([`Pipeline::has_slack`]).
const FOLLOW_UP_SLACK: u64 = 2;

/// The least slack for a follow-up, in bytes of packets ([`Pipeline::has_slack`]).
const FOLLOW_UP_MIN_SLACK_BYTES: u64 = 64 << 10;

const PENDING: u8 = 0;
const CLAIMED: u8 = 1;
const DONE: u8 = 2;

/// More work for a worker on each batch it decodes, done before the consumer can take the
/// batch: the typed dispatcher decodes its handlers' values there ([`crate::ahead`]).
pub(crate) trait FollowUp<'t>: Sync {
    /// `entries` are the records a worker found in the first slice of `packet` of `stream`,
    /// whose records are `content`.
    fn batch_decoded(
        &self,
        stream: &'t StreamIndex,
        packet: &'t PacketEntry,
        content: &'t [u8],
        entries: &[Entry],
    );
}

/// One packet to decode. There is one per packet of the trace, so it is kept small: the batch
/// is boxed (a 1 GB trace has 16,000 jobs, which took 2.5 MB with the batch inline).
#[derive(Debug)]
struct Job {
    stream: usize,
    packet: usize,
    state: AtomicU8,
    batch: Mutex<Option<Box<Batch>>>,
}

/// The packets of a trace, decoded ahead by worker threads; see the module documentation.
#[derive(Debug)]
pub(crate) struct Pipeline<'t> {
    source: PacketSource<'t>,
    streams: &'t [StreamIndex],
    jobs: Vec<Job>,
    /// `before[job]`: the bytes of the packets of the jobs before it.
    before: Vec<u64>,
    /// `job_of[stream][packet]`: the job decoding that packet.
    job_of: Vec<Vec<usize>>,
    /// The next job a worker looks at.
    next: AtomicUsize,
    /// One past the highest job the consumer has asked for.
    wanted: AtomicUsize,
    stop: AtomicBool,
    /// Signalled when a job the consumer waits for is done, when the consumer has made room
    /// for a sleeping worker, and at the stop. Waking a thread costs a system call and, in a
    /// virtual machine, an interrupt to another CPU: nobody is woken who is not waiting.
    lock: Mutex<()>,
    changed: Condvar,
    /// Workers waiting for the consumer to make room.
    sleeping: AtomicUsize,
    /// Whether the consumer waits for a job in progress.
    consumer_waiting: AtomicBool,
    /// Finished batches' memory, for the workers to reuse.
    spares: Mutex<Vec<Vec<Entry>>>,
}

impl<'t> Pipeline<'t> {
    pub(crate) fn new(source: PacketSource<'t>, streams: &'t [StreamIndex]) -> Pipeline<'t> {
        let mut order: Vec<(u64, usize, usize)> = streams
            .iter()
            .enumerate()
            .flat_map(|(stream, index)| {
                (index.packets.iter().enumerate())
                    .map(move |(packet, entry)| (entry.raw.header.timestamp_begin, stream, packet))
            })
            .collect();
        order.sort_unstable();
        let mut job_of: Vec<Vec<usize>> =
            streams.iter().map(|stream| vec![usize::MAX; stream.packets.len()]).collect();
        let mut before = Vec::with_capacity(order.len().saturating_add(1));
        let mut total = 0u64;
        for &(_, stream, packet) in &order {
            before.push(total);
            let entry = streams.get(stream).and_then(|stream| stream.packets.get(packet));
            total = total.saturating_add(entry.map_or(0, |entry| entry.raw.available as u64));
        }
        before.push(total);
        let jobs = order
            .into_iter()
            .enumerate()
            .map(|(job, (_, stream, packet))| {
                if let Some(slot) = job_of.get_mut(stream).and_then(|packets| packets.get_mut(packet)) {
                    *slot = job;
                }
                Job { stream, packet, state: AtomicU8::new(PENDING), batch: Mutex::new(None) }
            })
            .collect();
        Pipeline {
            source,
            streams,
            jobs,
            before,
            job_of,
            next: AtomicUsize::new(0),
            wanted: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            lock: Mutex::new(()),
            changed: Condvar::new(),
            sleeping: AtomicUsize::new(0),
            consumer_waiting: AtomicBool::new(false),
            spares: Mutex::new(Vec::new()),
        }
    }

    fn decode(&self, job: &Job, spare: Vec<Entry>) -> Batch {
        let streams = self.streams;
        let Some(entry) = streams.get(job.stream).and_then(|stream| stream.packets.get(job.packet)) else {
            return Batch::default();
        };
        Batch::decode(self.source, &entry.raw, spare)
    }

    fn follow_up(&self, job: &Job, batch: &Batch, follow_up: &dyn FollowUp<'t>) {
        let streams = self.streams;
        let Some(stream) = streams.get(job.stream) else { return };
        let Some(packet) = stream.packets.get(job.packet) else { return };
        // A packet whose records cannot be had has no entries either.
        if let Ok(content) = self.source.records_of(&packet.raw) {
            follow_up.batch_decoded(stream, packet, content, &batch.entries);
        }
    }

    fn notify(&self) {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.changed.notify_all();
    }

    /// A worker's loop: decodes jobs in order, each followed by `follow_up`, until all are
    /// done or [`Pipeline::stop`].
    pub(crate) fn work(&self, follow_up: Option<&dyn FollowUp<'t>>) {
        loop {
            if self.stop.load(Ordering::Acquire) {
                return;
            }
            let index = self.next.load(Ordering::Acquire);
            let Some(job) = self.jobs.get(index) else { return };
            if self.too_far_ahead(index, LOOKAHEAD_BYTES) {
                // Far enough ahead: sleep until the consumer has taken half the lookahead, so
                // that one wake-up buys many packets. `sleeping` is raised before `wanted` is
                // read again (both SeqCst), so a consumer advancing meanwhile sees a sleeper.
                let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
                self.sleeping.fetch_add(1, Ordering::SeqCst);
                while self.too_far_ahead(index, LOOKAHEAD_BYTES / 2) && !self.stop.load(Ordering::SeqCst) {
                    guard = self.changed.wait(guard).unwrap_or_else(PoisonError::into_inner);
                }
                self.sleeping.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            if self.next.compare_exchange(index, index + 1, Ordering::AcqRel, Ordering::Acquire).is_err() {
                continue;
            }
            if job.state.compare_exchange(PENDING, CLAIMED, Ordering::AcqRel, Ordering::Acquire).is_err() {
                // The consumer got there first.
                continue;
            }
            let spare = self.spares.lock().unwrap_or_else(PoisonError::into_inner).pop().unwrap_or_default();
            let batch = self.decode(job, spare);
            if let Some(follow_up) = follow_up.filter(|_| self.has_slack(index)) {
                self.follow_up(job, &batch, follow_up);
            }
            *job.batch.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(batch));
            job.state.store(DONE, Ordering::SeqCst);
            // Paired with the consumer's SeqCst store of `consumer_waiting` and load of the state.
            if self.consumer_waiting.load(Ordering::SeqCst) {
                self.notify();
            }
        }
    }

    /// Whether decoding job `index` would put more than `lookahead` bytes ahead of the
    /// consumer (the job right after its latest request is always allowed).
    fn too_far_ahead(&self, index: usize, lookahead: u64) -> bool {
        let wanted = self.wanted.load(Ordering::SeqCst);
        if index <= wanted {
            return false;
        }
        let start = self.before.get(wanted).copied().unwrap_or(0);
        let end = self.before.get(index.saturating_add(1)).copied().unwrap_or(u64::MAX);
        end.saturating_sub(start) > lookahead
    }

    /// Whether the consumer is far enough behind job `index` for a worker to do more than
    /// decode it: the jobs between the one the consumer is on and it hold at least
    /// [`FOLLOW_UP_SLACK`] times its bytes, and [`FOLLOW_UP_MIN_SLACK_BYTES`]. A follow-up slows
    /// the worker, and a consumer that reaches a job in progress sleeps until it is done (tens
    /// of microseconds to wake on a virtual machine, longer than a small packet takes): with
    /// the slack, the worker follows up while it is ahead and only decodes when the consumer is
    /// close, the consumer then doing the rest itself, so both keep busy and neither waits.
    fn has_slack(&self, index: usize) -> bool {
        let wanted = self.wanted.load(Ordering::SeqCst);
        let (Some(&start), Some(&end), Some(&consumer)) =
            (self.before.get(index), self.before.get(index.saturating_add(1)), self.before.get(wanted))
        else {
            return false;
        };
        let slack = end.saturating_sub(start).saturating_mul(FOLLOW_UP_SLACK).max(FOLLOW_UP_MIN_SLACK_BYTES);
        index > wanted && start.saturating_sub(consumer) >= slack
    }

    /// Stops the workers.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.notify();
    }

    /// The batch of packet `packet` of `stream`: decoded by a worker, or here when no worker
    /// has started it. `spare` is memory for it, or for the workers.
    pub(crate) fn take(&self, stream: &StreamIndex, packet: usize, spare: Vec<Entry>) -> Batch {
        let Some(&index) = self.job_of.get(stream.position).and_then(|packets| packets.get(packet)) else {
            return self.decode_here(stream, packet, spare);
        };
        let Some(job) = self.jobs.get(index) else { return self.decode_here(stream, packet, spare) };
        if self.wanted.fetch_max(index + 1, Ordering::SeqCst) < index + 1
            && self.sleeping.load(Ordering::SeqCst) > 0
            && !self.too_far_ahead(self.next.load(Ordering::SeqCst), LOOKAHEAD_BYTES / 2)
        {
            self.notify();
        }
        if job.state.compare_exchange(PENDING, CLAIMED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            return self.decode(job, spare);
        }
        if spare.capacity() > 0 {
            self.spares.lock().unwrap_or_else(PoisonError::into_inner).push(spare);
        }
        if job.state.load(Ordering::Acquire) != DONE {
            let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.consumer_waiting.store(true, Ordering::SeqCst);
            while job.state.load(Ordering::SeqCst) != DONE {
                guard = self.changed.wait(guard).unwrap_or_else(PoisonError::into_inner);
            }
            self.consumer_waiting.store(false, Ordering::SeqCst);
        }
        job.batch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .map_or_else(Batch::default, |batch| *batch)
    }

    fn decode_here(&self, stream: &StreamIndex, packet: usize, spare: Vec<Entry>) -> Batch {
        match stream.packets.get(packet) {
            Some(entry) => Batch::decode(self.source, &entry.raw, spare),
            None => Batch::default(),
        }
    }
}

/// Runs `consume` with a pipeline over `trace` served by `workers` threads, which follow
/// each batch they decode with `follow_up` and stop when `consume` returns (or unwinds).
pub(crate) fn run<'t, R>(
    source: PacketSource<'t>,
    streams: &'t [StreamIndex],
    workers: usize,
    follow_up: Option<&dyn FollowUp<'t>>,
    consume: impl FnOnce(&Pipeline<'t>) -> R,
) -> R {
    let pipeline = Pipeline::new(source, streams);
    /// Stops the workers however `consume` ends.
    struct StopOnDrop<'a, 't>(&'a Pipeline<'t>);
    impl Drop for StopOnDrop<'_, '_> {
        fn drop(&mut self) {
            self.0.stop();
        }
    }
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| pipeline.work(follow_up));
        }
        let _stop = StopOnDrop(&pipeline);
        consume(&pipeline)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_job_takes_a_few_words() {
        // One per packet of the trace, for the whole read: a 1 GB trace has 16,000.
        assert!(std::mem::size_of::<super::Job>() <= 48, "{} bytes", std::mem::size_of::<super::Job>());
    }
}
