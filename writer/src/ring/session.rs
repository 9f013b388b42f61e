//! [`RingSession`]: a tracer built on the ring. One ring per thread slot, a consumer thread that
//! drains complete packets to a sink (a trace directory, a single file, memory), a periodic
//! flush that makes a quiet thread's events reach the sink, snapshots in flight-recorder mode,
//! and a stop that loses nothing.
//!
//! Per thread slot rather than per CPU: see the ring's module documentation. A thread takes a
//! slot with [`RingSession::stream`] and gives it back by dropping the [`RingStream`]; the next
//! thread that takes the slot continues its stream (sequence numbers go on), as an exited
//! thread's CPU buffer would. With [`Local`] rings (the default) the owner writes with CPU-local
//! read-modify-writes and the consumer flushes a quiet ring through `membarrier(2)`
//! ([`ProcessBarrier`]); [`Shared`] rings need no barrier and cost a `lock` prefix per write.
//!
//! Locks: none per event. The registry's mutex is taken to register classes (and a marker
//! format's first use in a stream); the slot table's to take or give back a stream; the sink's
//! by the consumer. Lock order: slots, then sink, then registry.

use std::{
    boxed::Box,
    cell::Cell,
    marker::PhantomData,
    path::PathBuf,
    string::String,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex, MutexGuard, PoisonError,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
    vec::Vec,
};

use tracemark_format::{EnvValue, Field};

use super::{
    progress::{EventCount, ProgressFile},
    sync::local_add,
    Concurrency, Discard, HeapRing, Local, Mode, Overwrite, Ring, RingConfig, Shared, SnapshotStats,
};
use crate::{
    marker::MarkerCache, Clock, Config, Error, EventHandle, EventType, MarkerArg, MonotonicClock, PacketInfo,
    PacketKind, PacketSink, PayloadWriter, RawHandle, Registry, Result, Summary, TraceDescription,
};

fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`: a full memory barrier on every CPU running a
/// thread of this process (Linux 4.14+), the remote half of a [`Local`] ring's flush
/// handshake ([`Ring::flush_remote`]).
#[derive(Debug, Clone, Copy)]
pub struct ProcessBarrier {
    _registered: (),
}

/// From `linux/membarrier.h`.
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

impl ProcessBarrier {
    /// Registers the process for expedited private barriers (idempotent).
    pub fn register() -> std::io::Result<ProcessBarrier> {
        // SAFETY: `membarrier` takes two integers and touches no memory of ours.
        let result =
            unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) };
        if result != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(ProcessBarrier { _registered: () })
    }

    /// Runs the barrier; `false` if the kernel refused.
    pub fn run(&self) -> bool {
        // SAFETY: as in `register`.
        unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0 }
    }
}

/// One thread slot: its ring and what its writers counted.
struct Slot<M: Mode, C: Clock, K: Concurrency> {
    ring: HeapRing<M, C, K>,
    /// Events written through handles, added by the slot's current owner only (CPU-local adds,
    /// safe against its signal handlers), once each record is committed (R-9.5-1); in the
    /// progress file when the session keeps one.
    events: EventCount,
    /// `events_discarded` of the last packet the session delivered (consumer side).
    delivered_discarded: AtomicU64,
    /// Sealed while its stream was held, and its open packet closed ([`Ring::seal_remote`]).
    sealed: AtomicBool,
}

struct SlotTable<M: Mode, C: Clock, K: Concurrency> {
    slots: Vec<Arc<Slot<M, C, K>>>,
    in_use: Vec<bool>,
    /// Where new slots count their events, if not in memory only (§9.5).
    progress: Option<ProgressFile>,
}

/// The sink side, owned by whoever delivers packets (the consumer thread, a flush, the stop).
struct Delivery {
    sink: Option<Box<dyn PacketSink + Send>>,
    /// Every metadata packet delivered so far, for snapshots (which need the whole metadata).
    metadata_log: Vec<(Vec<u8>, PacketInfo)>,
    data_packets: u64,
    bytes: u64,
    first_error: Option<Error>,
}

impl Delivery {
    fn record(&mut self, result: Result<()>) {
        if let Err(error) = result {
            self.first_error.get_or_insert(error);
        }
    }
}

/// Copies metadata packets into the log on their way to the sink.
struct Tee<'d> {
    sink: &'d mut (dyn PacketSink + Send),
    log: &'d mut Vec<(Vec<u8>, PacketInfo)>,
}

impl PacketSink for Tee<'_> {
    fn write_packet(&mut self, packet: &[u8], info: &PacketInfo) -> Result<()> {
        self.log.push((packet.to_vec(), *info));
        self.sink.write_packet(packet, info)
    }
}

struct Inner<M: Mode, C: Clock, K: Concurrency> {
    config: Config,
    clock: C,
    clock_id: u32,
    stream_class_id: u32,
    num_subbufs: usize,
    poll_interval: Duration,
    flush_interval: Option<Duration>,
    barrier: Option<ProcessBarrier>,
    registry: Mutex<Registry>,
    /// Set (under the registry lock) when records are queued; cleared once they reached the sink.
    metadata_dirty: AtomicBool,
    slots: Mutex<SlotTable<M, C, K>>,
    delivery: Mutex<Delivery>,
    stop: AtomicBool,
    finished: AtomicBool,
    consumer: Mutex<Option<JoinHandle<()>>>,
}

impl<M: Mode, C: Clock + Clone + Send + Sync + 'static, K: Concurrency> Inner<M, C, K> {
    fn with_registry<T>(&self, register: impl FnOnce(&mut Registry) -> Result<T>) -> Result<T> {
        let mut registry = lock(&self.registry);
        let result = register(&mut registry);
        if registry.has_pending() {
            self.metadata_dirty.store(true, Ordering::Release);
        }
        result
    }

    fn slots(&self) -> Vec<Arc<Slot<M, C, K>>> {
        lock(&self.slots).slots.clone()
    }

    /// Delivers queued metadata: before any data packet that may use it (§7.6).
    fn deliver_metadata(&self, delivery: &mut Delivery) {
        if !self.metadata_dirty.load(Ordering::Acquire) {
            return;
        }
        let Delivery { sink, metadata_log, first_error, .. } = delivery;
        let Some(sink) = sink.as_deref_mut() else { return };
        let mut registry = lock(&self.registry);
        if let Err(error) = registry.flush(&mut Tee { sink, log: metadata_log }) {
            first_error.get_or_insert(error);
        }
        self.metadata_dirty.store(registry.has_pending(), Ordering::Release);
    }

    fn packet_info(ring: &Ring<'_, M, C, K>, sequence: u64) -> PacketInfo {
        PacketInfo {
            kind: PacketKind::Data,
            stream_class_id: ring.stream_class_id(),
            stream_instance_id: ring.stream_instance_id(),
            sequence,
        }
    }

    /// Delivers every complete packet of `slot` to the sink. Returns how many.
    fn drain(&self, slot: &Slot<M, C, K>, delivery: &mut Delivery) -> u64 {
        let ring = slot.ring.ring();
        // Taken by a snapshot on another thread: it delivers them.
        let Some(mut consumer) = ring.consumer() else { return 0 };
        let mut delivered = 0;
        while let Some(packet) = consumer.get_next_packet() {
            self.deliver_metadata(delivery);
            let info = Self::packet_info(ring, packet.sequence());
            if let Some(sink) = delivery.sink.as_deref_mut() {
                let result = sink.write_packet(packet.bytes(), &info);
                delivery.record(result);
                delivery.data_packets += 1;
                delivery.bytes += packet.bytes().len() as u64;
            }
            slot.delivered_discarded.store(packet.events_discarded(), Ordering::Relaxed);
            consumer.put_packet();
            delivered += 1;
        }
        delivered
    }

    /// Closes `slot`'s open packet from this thread. `false` when its owner was inside a
    /// write (try again later).
    fn flush_remote(&self, slot: &Slot<M, C, K>, empty_packet: bool) -> bool {
        let ring = slot.ring.ring();
        if !empty_packet && !ring.has_open_packet() {
            return true;
        }
        let barrier = self.barrier;
        // SAFETY: for a local ring, `barrier` is `membarrier(PRIVATE_EXPEDITED)`, registered at
        // build (a `Local` session is not built without it); it reports failure, which aborts.
        let flushed = unsafe { ring.flush_remote(empty_packet, || barrier.is_some_and(|b| b.run())) };
        flushed.is_some()
    }

    /// Seals `slot`'s ring against its owner and closes its open packet ([`Ring::seal_remote`]),
    /// marking the slot sealed once done; while the owner is inside a write, it is not yet
    /// (call again).
    fn seal_remote(&self, slot: &Slot<M, C, K>) {
        let barrier = self.barrier;
        // SAFETY: as in `flush_remote`.
        if unsafe { slot.ring.ring().seal_remote(|| barrier.is_some_and(|b| b.run())) }.is_some() {
            slot.sealed.store(true, Ordering::Release);
        }
    }

    /// Flushes every ring and delivers what is complete; returns whether a ring was busy.
    fn flush_all(&self) -> bool {
        let mut busy = false;
        for slot in self.slots() {
            busy |= !self.flush_remote(&slot, false);
        }
        if !M::OVERWRITE {
            let mut delivery = lock(&self.delivery);
            for slot in self.slots() {
                self.drain(&slot, &mut delivery);
            }
            self.deliver_metadata(&mut delivery);
        }
        busy
    }

    /// The consumer thread: drain every `poll_interval`, flush every `flush_interval`.
    fn consume(self: Arc<Self>) {
        let mut last_flush = Instant::now();
        let mut flush_pending = false;
        while !self.stop.load(Ordering::Acquire) {
            {
                let mut delivery = lock(&self.delivery);
                self.deliver_metadata(&mut delivery);
                if !M::OVERWRITE {
                    for slot in self.slots() {
                        self.drain(&slot, &mut delivery);
                    }
                }
            }
            // Overwrite mode leaves packets in the rings for snapshots and the stop.
            if let Some(interval) = self.flush_interval.filter(|_| !M::OVERWRITE) {
                if flush_pending || last_flush.elapsed() >= interval {
                    last_flush = Instant::now();
                    flush_pending = self.flush_all();
                }
            }
            thread::park_timeout(self.poll_interval);
        }
    }
}

/// Builds a [`RingSession`].
#[derive(Debug, Clone)]
pub struct RingSessionBuilder<M: Mode = Discard, K: Concurrency = Local> {
    config: Config,
    description: Option<TraceDescription>,
    env: Vec<(String, EnvValue)>,
    num_subbufs: usize,
    poll_interval: Duration,
    flush_interval: Option<Duration>,
    progress_file: Option<PathBuf>,
    _kind: PhantomData<(M, K)>,
}

impl<M: Mode, K: Concurrency> RingSessionBuilder<M, K> {
    fn with<M2: Mode, K2: Concurrency>(self) -> RingSessionBuilder<M2, K2> {
        RingSessionBuilder {
            config: self.config,
            description: self.description,
            env: self.env,
            num_subbufs: self.num_subbufs,
            poll_interval: self.poll_interval,
            flush_interval: self.flush_interval,
            progress_file: self.progress_file,
            _kind: PhantomData,
        }
    }

    /// Flight-recorder mode: full rings overwrite their oldest packets; the sink gets what the
    /// rings hold at the stop, and [`RingSession::snapshot`] extracts it meanwhile.
    pub fn overwrite(self) -> RingSessionBuilder<Overwrite, K> {
        self.with()
    }

    /// [`Shared`] rings: no `membarrier` needed, a `lock`-prefixed CAS per event.
    pub fn shared(self) -> RingSessionBuilder<M, Shared> {
        self.with()
    }

    /// Overrides the ABI descriptor's text fields (default: [`TraceDescription::from_host`]).
    pub fn description(mut self, description: TraceDescription) -> Self {
        self.description = Some(description);
        self
    }

    /// Adds an ENV record (§7.9).
    pub fn env(mut self, key: impl Into<String>, value: EnvValue) -> Self {
        self.env.push((key.into(), value));
        self
    }

    /// Sub-buffers per ring (a power of two, at least 2; default 16). Each is one packet of
    /// [`Config::packet_size`] bytes, which must be a power of two of at least 256.
    pub fn subbufs(mut self, num_subbufs: usize) -> Self {
        self.num_subbufs = num_subbufs;
        self
    }

    /// How often the consumer thread looks for complete packets (default 1 ms).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How often the consumer closes the packets being filled, so a quiet thread's events reach
    /// the sink (default 1 s; `None` only flushes at the stop). Discard mode only.
    pub fn flush_interval(mut self, interval: Option<Duration>) -> Self {
        self.flush_interval = interval;
        self
    }

    /// Keeps a progress file at `path` (§9.5; conventionally
    /// [`progress::FILE_NAME`](tracemark_format::progress::FILE_NAME) in the trace directory):
    /// each stream's count of events written, in memory shared with the file, so that if the
    /// process is killed or aborts before the session finishes, a reader counts the events
    /// written but never delivered. The file is created (or truncated) at build; it costs 64
    /// bytes per stream and nothing per event.
    pub fn progress_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.progress_file = Some(path.into());
        self
    }

    /// A session timestamped by [`MonotonicClock`].
    pub fn build(self, sink: impl PacketSink + Send + 'static) -> Result<RingSession<M, MonotonicClock, K>> {
        self.build_with_clock(MonotonicClock::new(), sink)
    }

    /// A session timestamped by `clock` (its CLOCK record comes from [`Clock::class`]).
    pub fn build_with_clock<C: Clock + Clone + Send + Sync + 'static>(
        self,
        clock: C,
        sink: impl PacketSink + Send + 'static,
    ) -> Result<RingSession<M, C, K>> {
        let probe = RingConfig::new(self.config.packet_size as usize, self.num_subbufs).abi(self.config.abi);
        probe.validate()?;
        let barrier = if K::LOCAL {
            Some(ProcessBarrier::register().map_err(|_| {
                Error::InvalidConfig("membarrier(2) is unavailable: build the session with `.shared()` rings")
            })?)
        } else {
            None
        };
        let description = self.description.unwrap_or_else(TraceDescription::from_host);
        let mut registry = Registry::new(&self.config, description)?;
        let clock_id = registry.add_clock(clock.class())?;
        let stream_class_id = registry.add_stream_class("default", clock_id)?;
        // Registers the void class now, while event IDs are small (see `RingConfig::for_stream`).
        RingConfig::for_stream(&mut registry, stream_class_id, 0, self.num_subbufs)?;
        for (key, value) in self.env {
            registry.set_env(&key, value)?;
        }
        let progress = match &self.progress_file {
            Some(path) => Some(ProgressFile::create(path, self.config.uuid, stream_class_id)?),
            None => None,
        };
        let inner = Arc::new(Inner {
            config: self.config,
            clock,
            clock_id,
            stream_class_id,
            num_subbufs: self.num_subbufs,
            poll_interval: self.poll_interval,
            flush_interval: self.flush_interval,
            barrier,
            registry: Mutex::new(registry),
            metadata_dirty: AtomicBool::new(true),
            slots: Mutex::new(SlotTable { slots: Vec::new(), in_use: Vec::new(), progress }),
            delivery: Mutex::new(Delivery {
                sink: Some(Box::new(sink)),
                metadata_log: Vec::new(),
                data_packets: 0,
                bytes: 0,
                first_error: None,
            }),
            stop: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            consumer: Mutex::new(None),
        });
        let consumer = Arc::clone(&inner);
        let handle = thread::Builder::new()
            .name("tracemark-consumer".into())
            .spawn(move || consumer.consume())
            .map_err(Error::Io)?;
        *lock(&inner.consumer) = Some(handle);
        Ok(RingSession { inner })
    }
}

/// A trace written through lock-free rings, one per thread slot, drained by a consumer thread.
///
/// ```
/// use tracemark_writer::{event, ring::RingSession, Config, ManualClock, MemorySink};
/// use std::sync::Arc;
///
/// event! { pub struct Work("work") { pub item: u64 } }
///
/// let sink = MemorySink::new();
/// let session = RingSession::builder(Config::with_uuid([9; 16]).packet_size(4096))
///     .build_with_clock(Arc::new(ManualClock::new(0)), sink.clone())?;
/// let work = session.register::<Work>()?;
/// std::thread::scope(|scope| {
///     for _ in 0..2 {
///         scope.spawn(|| {
///             let stream = session.stream()?;
///             for item in 0..100 {
///                 assert!(stream.emit(work, &Work { item })?); // false: dropped, ring full
///             }
///             Ok::<(), tracemark_writer::Error>(())
///         });
///     }
/// });
/// let summary = session.finish()?;
/// // One stream per slot: two, or one if a thread was done before the other asked for a slot.
/// assert_eq!((summary.events_written, summary.events_discarded), (200, 0));
/// # Ok::<(), tracemark_writer::Error>(())
/// ```
pub struct RingSession<M: Mode = Discard, C: Clock = MonotonicClock, K: Concurrency = Local> {
    inner: Arc<Inner<M, C, K>>,
}

impl RingSession<Discard, MonotonicClock, Local> {
    /// Starts configuring a session: discard mode and [`Local`] rings unless the builder says
    /// otherwise.
    pub fn builder(config: Config) -> RingSessionBuilder<Discard, Local> {
        RingSessionBuilder {
            config,
            description: None,
            env: Vec::new(),
            num_subbufs: 16,
            poll_interval: Duration::from_millis(1),
            flush_interval: Some(Duration::from_secs(1)),
            progress_file: None,
            _kind: PhantomData,
        }
    }
}

impl<M: Mode, C: Clock + Clone + Send + Sync + 'static, K: Concurrency> RingSession<M, C, K> {
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The stream class of every ring (timestamped by the session clock).
    pub fn stream_class_id(&self) -> u32 {
        self.inner.stream_class_id
    }

    /// The clock's ID in the metadata.
    pub fn clock_id(&self) -> u32 {
        self.inner.clock_id
    }

    /// Registers `E` (idempotent). The EVENT_CLASS record is queued before this returns and
    /// reaches the sink before any data packet (§7.6).
    pub fn register<E: EventType + ?Sized>(&self) -> Result<EventHandle<E>> {
        let class = self.inner.stream_class_id;
        self.inner.with_registry(|registry| registry.register::<E>(class))
    }

    /// Registers an event class with a field list built at run time.
    pub fn register_fields(&self, name: &str, log_level: u8, fields: Vec<Field>) -> Result<RawHandle> {
        let class = self.inner.stream_class_id;
        self.inner.with_registry(|registry| registry.register_fields(class, name, log_level, fields))
    }

    /// Adds an ENV record (§7.9).
    pub fn set_env(&self, key: &str, value: EnvValue) -> Result<()> {
        self.inner.with_registry(|registry| registry.set_env(key, value))
    }

    /// Makes the next new event class get ID `id` (see [`Registry::set_next_event_id`]).
    pub fn set_next_event_id(&self, id: u32) -> Result<()> {
        self.inner.with_registry(|registry| registry.set_next_event_id(id))
    }

    /// Takes the lowest free thread slot: its ring becomes this thread's stream (instance ID =
    /// slot number) until the handle is dropped.
    pub fn stream(&self) -> Result<RingStream<M, C, K>> {
        let inner = &self.inner;
        let mut table = lock(&inner.slots);
        // Under the slot lock, which `finish` holds while it sets the flag: no stream is taken
        // once `finish` has checked that none is open.
        if inner.finished.load(Ordering::Acquire) {
            return Err(Error::Finished);
        }
        let index = match table.in_use.iter().position(|used| !used) {
            Some(index) => index,
            None => {
                let instance = u32::try_from(table.slots.len()).map_err(|_| Error::IdsExhausted)?;
                let config = inner.with_registry(|registry| {
                    RingConfig::for_stream(registry, inner.stream_class_id, instance, inner.num_subbufs)
                })?;
                // SAFETY (local rings): the slot table hands the ring to one `RingStream` at a
                // time, under this mutex, so one thread writes it and the next owner's use
                // happens-after the previous one's drop; `RingStream` is `!Sync` and gives out no
                // reference to the ring, so nothing else writes it. The consumer only flushes
                // with `flush_remote`, and `finish` only once no stream exists.
                let ring = unsafe { HeapRing::new_any(config, inner.clock.clone()) }?;
                let slot_index = table.slots.len();
                let events = match &mut table.progress {
                    Some(progress) => progress.counter(slot_index)?,
                    None => EventCount::in_memory(),
                };
                table.slots.push(Arc::new(Slot {
                    ring,
                    events,
                    delivered_discarded: AtomicU64::new(0),
                    sealed: AtomicBool::new(false),
                }));
                table.in_use.push(false);
                table.slots.len() - 1
            }
        };
        table.in_use[index] = true;
        Ok(RingStream {
            slot: Arc::clone(&table.slots[index]),
            inner: Arc::clone(inner),
            index,
            markers: MarkerCache::default(),
            _not_sync: PhantomData,
        })
    }

    /// Closes every ring's open packet and delivers every complete packet now (discard mode).
    /// Returns `false` if a ring's owner was inside a write, so its packet stayed open.
    pub fn flush(&self) -> bool {
        !self.inner.flush_all()
    }

    /// Events dropped so far, all rings (§10.1).
    pub fn discarded(&self) -> u64 {
        self.inner.slots().iter().map(|slot| slot.ring.ring().discarded()).sum()
    }

    /// Stops the consumer, closes and delivers every ring's last packets (in overwrite mode:
    /// everything the rings still hold), then the metadata, flushes and releases the sink
    /// (a [`DirectorySink`](crate::DirectorySink) then marks the trace finished, §9.4), and
    /// returns what was written. Every [`RingStream`] must have been dropped (else
    /// [`Error::StreamsOpen`]; see [`finish_sealing`](Self::finish_sealing)). Sink errors
    /// met on the way (a packet that could not be written is lost, §10.2) are returned after
    /// everything else was delivered.
    pub fn finish(&self) -> Result<Summary> {
        let inner = &self.inner;
        let slots = {
            let table = lock(&inner.slots);
            let open = table.in_use.iter().filter(|used| **used).count();
            if open > 0 {
                return Err(Error::StreamsOpen(open));
            }
            if inner.finished.swap(true, Ordering::AcqRel) {
                return Err(Error::Finished);
            }
            table.slots.clone()
        };
        self.finish_slots(&slots, 0)
    }

    /// [`finish`](Self::finish), when threads that will not end first still hold streams (a
    /// pool the program does not shut down): each such [`Local`] ring is sealed
    /// ([`Ring::seal_remote`]) — its owner's later writes are refused (`emit` returns
    /// [`Error::Finished`]), and once its write in progress, if any, has ended, its open packet is
    /// closed — so the trace holds every record written before the seal and is finished whole.
    /// Waits up to `wait` for writes in progress (a few nanoseconds each, unless their thread
    /// is preempted); a ring still busy then makes it return [`Error::StreamsOpen`] without
    /// finishing (rings sealed so far stay sealed; call again). [`Shared`] rings cannot be
    /// sealed: a stream open on one is that error at once.
    pub fn finish_sealing(&self, wait: Duration) -> Result<Summary> {
        let inner = &self.inner;
        let deadline = Instant::now() + wait;
        let mut attempts = 0u32;
        let (slots, sealed) = loop {
            let pending: Vec<Arc<Slot<M, C, K>>> = {
                let table = lock(&inner.slots);
                if inner.finished.load(Ordering::Acquire) {
                    return Err(Error::Finished);
                }
                let pending: Vec<_> = (table.slots.iter().zip(&table.in_use))
                    .filter(|(slot, used)| **used && !slot.sealed.load(Ordering::Acquire))
                    .map(|(slot, _)| Arc::clone(slot))
                    .collect();
                if pending.is_empty() {
                    // Under the slot lock: no stream is taken after this (see `stream`).
                    inner.finished.store(true, Ordering::Release);
                    // Sealed while held, whether or not given back since.
                    let sealed =
                        table.slots.iter().filter(|slot| slot.sealed.load(Ordering::Acquire)).count();
                    break (table.slots.clone(), sealed);
                }
                pending
            };
            if !K::LOCAL {
                return Err(Error::StreamsOpen(pending.len()));
            }
            for slot in &pending {
                inner.seal_remote(slot);
            }
            if Instant::now() >= deadline {
                let busy = pending.iter().filter(|slot| !slot.sealed.load(Ordering::Acquire)).count();
                if busy > 0 {
                    return Err(Error::StreamsOpen(busy));
                }
            }
            // A write in progress ends within nanoseconds unless its thread was preempted.
            attempts += 1;
            if attempts < 100 {
                thread::yield_now();
            } else {
                thread::sleep(Duration::from_millis(1));
            }
        };
        self.finish_slots(&slots, sealed)
    }

    /// The end of [`finish`](Self::finish) and [`finish_sealing`](Self::finish_sealing), once
    /// `finished` is set: delivers every ring's last packets, the metadata, and ends the sink.
    fn finish_slots(&self, slots: &[Arc<Slot<M, C, K>>], sealed_streams: usize) -> Result<Summary> {
        let inner = &self.inner;
        inner.stop_consumer();
        let mut delivery = lock(&inner.delivery);
        let mut summary = Summary { streams: slots.len(), sealed_streams, ..Summary::default() };
        for slot in slots {
            let ring = slot.ring.ring();
            // The consumer has stopped, and each ring either has no stream (this thread
            // happens-after its last owner, through the slot table) or is sealed and closed
            // (its owner writes no more): this thread is its only writer and may flush it.
            let close = |empty_packet: bool| {
                if ring.is_sealed() {
                    // SAFETY: sealed and closed, or sealed and then given back by its owner; the
                    // consumer, the only other flusher, has stopped.
                    unsafe { ring.flush_sealed(empty_packet) }
                } else {
                    ring.flush(empty_packet)
                }
            };
            close(false);
            if M::OVERWRITE {
                Self::deliver_snapshot(inner, slot, &mut delivery);
            } else {
                inner.drain(slot, &mut delivery);
            }
            if ring.discarded() > slot.delivered_discarded.load(Ordering::Relaxed) && close(true) {
                // An empty packet carries the final discard count (§4.2, §10.1).
                if M::OVERWRITE {
                    Self::deliver_snapshot(inner, slot, &mut delivery);
                } else {
                    inner.drain(slot, &mut delivery);
                }
            }
            summary.events_written += slot.events.get().load(Ordering::Relaxed);
            summary.events_discarded += ring.discarded();
        }
        inner.deliver_metadata(&mut delivery);
        if let Some(mut sink) = delivery.sink.take() {
            let flushed = sink.finish();
            delivery.record(flushed);
            drop(sink);
        }
        let metadata = lock(&inner.registry).stats();
        summary.data_packets = delivery.data_packets;
        summary.metadata_packets = metadata.packets;
        summary.bytes = delivery.bytes + metadata.bytes;
        match delivery.first_error.take() {
            Some(error) => Err(error),
            None => Ok(summary),
        }
    }

    /// Hands every complete packet `slot`'s ring holds to the session sink (overwrite mode's stop).
    fn deliver_snapshot(inner: &Inner<M, C, K>, slot: &Slot<M, C, K>, delivery: &mut Delivery) {
        let ring = slot.ring.ring();
        let Some(mut consumer) = ring.consumer() else { return };
        inner.deliver_metadata(delivery);
        let mut written = Vec::new();
        consumer.snapshot(|packet| {
            let info = Inner::<M, C, K>::packet_info(ring, packet.sequence());
            if let Some(sink) = delivery.sink.as_deref_mut() {
                written.push(sink.write_packet(packet.bytes(), &info));
                delivery.data_packets += 1;
                delivery.bytes += packet.bytes().len() as u64;
            }
            slot.delivered_discarded.store(packet.events_discarded(), Ordering::Relaxed);
        });
        for result in written {
            delivery.record(result);
        }
    }
}

/// What [`RingSession::snapshot`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotSummary {
    /// Metadata packets written (the whole metadata so far).
    pub metadata_packets: u64,
    /// Data packets written.
    pub data_packets: u64,
    /// Packets of the snapshot range overwritten by writers while it ran.
    pub lost_packets: u64,
    /// Rings whose open packet could not be closed (their owner was inside a write each time
    /// the snapshot tried); their latest events are missing from the snapshot.
    pub busy_rings: u64,
}

impl<C: Clock + Clone + Send + Sync + 'static, K: Concurrency> RingSession<Overwrite, C, K> {
    /// Flight recorder: writes what the rings hold now to `sink` — the whole metadata, then for
    /// each ring its complete packets, oldest first (the open packet is closed first) — while
    /// writers go on. What a snapshot extracts is released, so the next snapshot holds what was
    /// written since. See [`Consumer::snapshot`](super::Consumer::snapshot) for consistency.
    pub fn snapshot(&self, sink: &mut dyn PacketSink) -> Result<SnapshotSummary> {
        let inner = &self.inner;
        if inner.finished.load(Ordering::Acquire) {
            return Err(Error::Finished);
        }
        let mut summary = SnapshotSummary::default();
        let mut delivery = lock(&inner.delivery);
        inner.deliver_metadata(&mut delivery);
        for (packet, info) in &delivery.metadata_log {
            sink.write_packet(packet, info)?;
            summary.metadata_packets += 1;
        }
        for slot in inner.slots() {
            // The owner is inside a write for a few nanoseconds at a time: retry briefly.
            let closed = (0..1000).any(|attempt| {
                if attempt > 0 {
                    thread::yield_now();
                }
                inner.flush_remote(&slot, false)
            });
            summary.busy_rings += u64::from(!closed);
            let ring = slot.ring.ring();
            let Some(mut consumer) = ring.consumer() else { continue };
            let mut first_error = None;
            let stats: SnapshotStats = consumer.snapshot(|packet| {
                let info = Inner::<Overwrite, C, K>::packet_info(ring, packet.sequence());
                if let Err(error) = sink.write_packet(packet.bytes(), &info) {
                    first_error.get_or_insert(error);
                }
            });
            if let Some(error) = first_error {
                return Err(error);
            }
            summary.data_packets += stats.packets;
            summary.lost_packets += stats.lost;
        }
        sink.finish()?;
        Ok(summary)
    }
}

impl<M: Mode, C: Clock, K: Concurrency> Drop for RingSession<M, C, K> {
    /// A session dropped without [`RingSession::finish`] stops its consumer thread; packets
    /// still in the rings are not delivered.
    fn drop(&mut self) {
        self.inner.stop_consumer();
    }
}

/// One thread's stream in a [`RingSession`]: its thread slot's ring. Emits without locking;
/// `emit` takes `&self` and is async-signal-safe, so a signal handler interrupting this thread
/// may emit into the same stream (through a pointer the thread published), nested inside the
/// thread's own write. `Send` (hand it to another thread) but not `Sync`: one thread writes.
///
/// Dropping it closes the ring's open packet and gives the slot back.
pub struct RingStream<M: Mode, C: Clock + Clone + Send + Sync + 'static, K: Concurrency> {
    slot: Arc<Slot<M, C, K>>,
    inner: Arc<Inner<M, C, K>>,
    index: usize,
    markers: MarkerCache,
    /// `!Sync`: a local ring has one writing thread.
    _not_sync: PhantomData<Cell<()>>,
}

impl<M: Mode, C: Clock + Clone + Send + Sync + 'static, K: Concurrency> RingStream<M, C, K> {
    /// The stream instance ID (the thread slot).
    pub fn instance(&self) -> u32 {
        self.slot.ring.ring().stream_instance_id()
    }

    /// Events written into this slot's ring so far (all its owners).
    pub fn events_written(&self) -> u64 {
        self.slot.events.get().load(Ordering::Relaxed)
    }

    /// Events this slot's ring dropped so far (§10.1).
    pub fn discarded(&self) -> u64 {
        self.slot.ring.ring().discarded()
    }

    #[inline(always)]
    fn count(&self, written: bool) {
        if written {
            // SAFETY: only this slot's owner (this thread, `!Sync`) and its signal handlers add.
            unsafe { local_add(self.slot.events.get(), 1) };
        }
    }

    /// Writes `event`, timestamped now; see [`Ring::emit`] for the result. No lock, no
    /// allocation: `encode` writes straight into the ring.
    #[inline]
    pub fn emit<E: EventType + ?Sized>(&self, handle: EventHandle<E>, event: &E) -> Result<bool> {
        let written = self.slot.ring.ring().emit(handle, event)?;
        self.count(written);
        Ok(written)
    }

    /// Writes a record whose payload `encode` writes (exactly `payload_len` bytes); see
    /// [`Ring::emit_with`].
    #[inline]
    pub fn emit_with(
        &self,
        handle: RawHandle,
        payload_len: usize,
        encode: impl FnOnce(&mut PayloadWriter<'_>),
    ) -> Result<bool> {
        let written = self.slot.ring.ring().emit_with(handle, payload_len, encode)?;
        self.count(written);
        Ok(written)
    }

    /// Writes a marker (§8): the class (`name`, `format`) is registered on first use in this
    /// stream (taking the registry lock), and `args` are checked against the format before
    /// anything is reserved. Not for signal handlers (`&mut self`).
    pub fn marker(&mut self, name: &str, format: &str, args: &[MarkerArg<'_>]) -> Result<bool> {
        if self.markers.get(name, format).is_none() {
            let class = self.inner.stream_class_id;
            let handle =
                self.inner.with_registry(|registry| registry.register_marker(class, name, format))?;
            self.markers.insert(name, format, handle, &self.inner.config.abi)?;
        }
        let Some(compiled) = self.markers.get(name, format) else {
            return Err(Error::Sink("marker cache lost an entry".into()));
        };
        let written = self.slot.ring.ring().emit_marker(compiled, format, args)?;
        self.count(written);
        Ok(written)
    }

    /// Closes the ring's open packet, so the consumer delivers it at its next poll.
    pub fn flush(&self) -> bool {
        self.slot.ring.ring().flush(false)
    }
}

impl<M: Mode, C: Clock + Clone + Send + Sync + 'static, K: Concurrency> Drop for RingStream<M, C, K> {
    fn drop(&mut self) {
        // Close the packet as its owner now: the slot may stay unused for long, and its events
        // would otherwise wait for the consumer's next remote flush.
        self.flush();
        lock(&self.inner.slots).in_use[self.index] = false;
        self.inner.consumer_wake();
    }
}

impl<M: Mode, C: Clock, K: Concurrency> Inner<M, C, K> {
    fn stop_consumer(&self) {
        self.stop.store(true, Ordering::Release);
        let handle = lock(&self.consumer).take();
        if let Some(handle) = handle {
            handle.thread().unpark();
            // A panic in the consumer thread is a bug; the stop still delivers what it can.
            let _ = handle.join();
        }
    }

    fn consumer_wake(&self) {
        if let Some(handle) = lock(&self.consumer).as_ref() {
            handle.thread().unpark();
        }
    }
}
