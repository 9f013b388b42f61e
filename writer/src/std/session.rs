//! [`Session`]: a trace written by several threads, each owning one stream.
//!
//! Locks: the registry's mutex is taken when registering (event classes, first use of a
//! marker format in a stream) and at packet switches when new metadata is queued; the sink's
//! at packet switches; the stream table's when a stream is taken or given back. None is taken
//! per event. Lock order: streams, then sink, then registry.

use std::{
    boxed::Box,
    collections::BTreeMap,
    path::Path,
    string::String,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, MutexGuard, PoisonError,
    },
    vec,
    vec::Vec,
};

use tracemark_format::{EnvValue, Field};

use super::{DirectorySink, FileSink, MonotonicClock};
use crate::{
    Clock, Config, Error, EventHandle, EventType, MarkerArg, PacketInfo, PacketSink, RawHandle, Registry,
    Result, StreamOutput, StreamStats, StreamWriter, TraceDescription,
};

/// The writer inside a [`StreamHandle`]: heap packet memory, the session's clock.
pub type SessionStreamWriter<C> = StreamWriter<Box<[u8]>, Arc<C>>;
type Writer<C> = SessionStreamWriter<C>;

fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

enum Slot<C> {
    Idle(Box<Writer<C>>),
    InUse,
}

struct Shared<C> {
    config: Config,
    clock: Arc<C>,
    clock_id: u32,
    stream_class_id: u32,
    registry: Mutex<Registry>,
    /// Set (under the registry lock) when records are queued; cleared (under the registry
    /// lock) once they reached the sink. Checked before every data packet.
    metadata_dirty: AtomicBool,
    sink: Mutex<Box<dyn PacketSink + Send>>,
    streams: Mutex<BTreeMap<(u32, u32), Slot<C>>>,
    finished: AtomicBool,
}

impl<C> Shared<C> {
    fn with_registry<T>(&self, register: impl FnOnce(&mut Registry) -> Result<T>) -> Result<T> {
        let mut registry = lock(&self.registry);
        let result = register(&mut registry);
        if registry.has_pending() {
            self.metadata_dirty.store(true, Ordering::Release);
        }
        result
    }

    /// Delivers queued metadata; the caller holds the sink lock.
    fn flush_metadata(&self, sink: &mut dyn PacketSink) -> Result<()> {
        if self.metadata_dirty.load(Ordering::Acquire) {
            let mut registry = lock(&self.registry);
            registry.flush(sink)?;
            self.metadata_dirty.store(false, Ordering::Release);
        }
        Ok(())
    }
}

/// The [`StreamOutput`] of a session's streams: metadata first, then the data packet (§7.6).
pub struct SessionOutput<C> {
    shared: Arc<Shared<C>>,
}

impl<C> StreamOutput for SessionOutput<C> {
    fn data_packet(&mut self, packet: &[u8], info: &PacketInfo) -> Result<()> {
        let mut sink = lock(&self.shared.sink);
        self.shared.flush_metadata(&mut **sink)?;
        sink.write_packet(packet, info)
    }

    fn marker_class(&mut self, stream_class_id: u32, name: &str, format: &str) -> Result<RawHandle> {
        self.shared.with_registry(|registry| registry.register_marker(stream_class_id, name, format))
    }
}

/// What [`Session::finish`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Event records written.
    pub events_written: u64,
    /// Events discarded (sum of the streams' `events_discarded`).
    pub events_discarded: u64,
    /// Data packets delivered.
    pub data_packets: u64,
    /// Metadata packets delivered.
    pub metadata_packets: u64,
    /// Bytes delivered (data and metadata packets).
    pub bytes: u64,
    /// Data streams.
    pub streams: usize,
    /// Streams [`RingSession::finish_sealing`] sealed because live threads held them: their
    /// records up to the seal are in the trace, their later ones refused.
    ///
    /// [`RingSession::finish_sealing`]: crate::ring::RingSession::finish_sealing
    pub sealed_streams: usize,
}

/// Builds a [`Session`].
#[derive(Debug, Clone)]
pub struct SessionBuilder {
    config: Config,
    description: Option<TraceDescription>,
    env: Vec<(String, EnvValue)>,
}

impl SessionBuilder {
    /// Overrides the ABI descriptor's text fields (default: [`TraceDescription::from_host`]).
    pub fn description(mut self, description: TraceDescription) -> SessionBuilder {
        self.description = Some(description);
        self
    }

    /// Adds an ENV record (§7.9).
    pub fn env(mut self, key: impl Into<String>, value: EnvValue) -> SessionBuilder {
        self.env.push((key.into(), value));
        self
    }

    /// A session timestamped by [`MonotonicClock`].
    pub fn build(self, sink: impl PacketSink + Send + 'static) -> Result<Session<MonotonicClock>> {
        self.build_with_clock(MonotonicClock::new(), sink)
    }

    /// A session timestamped by `clock` (its CLOCK record comes from [`Clock::class`]).
    pub fn build_with_clock<C: Clock + Send + Sync + 'static>(
        self,
        clock: C,
        sink: impl PacketSink + Send + 'static,
    ) -> Result<Session<C>> {
        let description = self.description.unwrap_or_else(TraceDescription::from_host);
        let mut registry = Registry::new(&self.config, description)?;
        let clock_id = registry.add_clock(clock.class())?;
        let stream_class_id = registry.add_stream_class("default", clock_id)?;
        for (key, value) in self.env {
            registry.set_env(&key, value)?;
        }
        Ok(Session {
            shared: Arc::new(Shared {
                config: self.config,
                clock: Arc::new(clock),
                clock_id,
                stream_class_id,
                registry: Mutex::new(registry),
                metadata_dirty: AtomicBool::new(true),
                sink: Mutex::new(Box::new(sink)),
                streams: Mutex::new(BTreeMap::new()),
                finished: AtomicBool::new(false),
            }),
        })
    }
}

/// A trace written by several threads: each owns a [`StreamHandle`] (one stream per thread
/// or CPU, its instance ID the thread's slot), and they share the metadata registry and the
/// sink. `Session` is `Sync`: share it by reference (scoped threads) or in an `Arc`.
///
/// ```
/// use tracemark_writer::{event, Config, ManualClock, MemorySink, Session};
///
/// event! { pub struct Work("work") { pub item: u64 } }
///
/// let sink = MemorySink::new();
/// let session = Session::builder(Config::with_uuid([9; 16]))
///     .build_with_clock(ManualClock::new(0), sink.clone())?;
/// let work = session.register::<Work>()?;
/// std::thread::scope(|scope| {
///     for cpu in 0..2 {
///         let session = &session;
///         scope.spawn(move || {
///             let mut stream = session.stream(cpu)?;
///             for item in 0..100 {
///                 stream.emit(work, &Work { item })?;
///             }
///             Ok::<(), tracemark_writer::Error>(())
///         });
///     }
/// });
/// let summary = session.finish()?;
/// assert_eq!((summary.events_written, summary.streams), (200, 2));
/// # Ok::<(), tracemark_writer::Error>(())
/// ```
pub struct Session<C = MonotonicClock> {
    shared: Arc<Shared<C>>,
}

impl Session<MonotonicClock> {
    /// Starts configuring a session.
    pub fn builder(config: Config) -> SessionBuilder {
        SessionBuilder { config, description: None, env: Vec::new() }
    }

    /// A session writing to `sink`, with the host's description and [`MonotonicClock`].
    pub fn new(config: Config, sink: impl PacketSink + Send + 'static) -> Result<Session<MonotonicClock>> {
        Session::builder(config).build(sink)
    }

    /// A session writing the directory form (§9.1) at `path`.
    pub fn create_dir(path: impl AsRef<Path>, config: Config) -> Result<Session<MonotonicClock>> {
        Session::new(config, DirectorySink::create(path)?)
    }

    /// A session writing the single-file form (§9.2) at `path`.
    pub fn create_file(path: impl AsRef<Path>, config: Config) -> Result<Session<MonotonicClock>> {
        Session::new(config, FileSink::create(path)?)
    }
}

impl<C: Clock + Send + Sync + 'static> Session<C> {
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The default stream class (timestamped by the session clock).
    pub fn stream_class_id(&self) -> u32 {
        self.shared.stream_class_id
    }

    /// Registers `E` in the default stream class (idempotent). The EVENT_CLASS record is
    /// queued before this returns and reaches the sink before any data packet (§7.6).
    pub fn register<E: EventType + ?Sized>(&self) -> Result<EventHandle<E>> {
        self.register_in::<E>(self.shared.stream_class_id)
    }

    /// Registers `E` in stream class `stream_class_id`.
    pub fn register_in<E: EventType + ?Sized>(&self, stream_class_id: u32) -> Result<EventHandle<E>> {
        self.shared.with_registry(|registry| registry.register::<E>(stream_class_id))
    }

    /// Registers an event class with a field list built at run time.
    pub fn register_fields(
        &self,
        stream_class_id: u32,
        name: &str,
        log_level: u8,
        fields: Vec<Field>,
    ) -> Result<RawHandle> {
        self.shared
            .with_registry(|registry| registry.register_fields(stream_class_id, name, log_level, fields))
    }

    /// Declares another stream class, timestamped by the session clock.
    pub fn add_stream_class(&self, name: &str) -> Result<u32> {
        let clock_id = self.shared.clock_id;
        self.shared.with_registry(|registry| registry.add_stream_class(name, clock_id))
    }

    /// Adds an ENV record (§7.9).
    pub fn set_env(&self, key: &str, value: EnvValue) -> Result<()> {
        self.shared.with_registry(|registry| registry.set_env(key, value))
    }

    /// Makes the next new event class get ID `id` (see [`Registry::set_next_event_id`]).
    pub fn set_next_event_id(&self, id: u32) -> Result<()> {
        self.shared.with_registry(|registry| registry.set_next_event_id(id))
    }

    /// Takes stream `instance` of the default stream class.
    pub fn stream(&self, instance: u32) -> Result<StreamHandle<C>> {
        self.stream_in(self.shared.stream_class_id, instance)
    }

    /// Takes the lowest-numbered free stream of the default stream class: a thread's slot.
    pub fn next_stream(&self) -> Result<StreamHandle<C>> {
        let class = self.shared.stream_class_id;
        let mut streams = lock(&self.shared.streams);
        let instance = (0..=u32::MAX)
            .find(|&instance| !matches!(streams.get(&(class, instance)), Some(Slot::InUse)))
            .ok_or(Error::IdsExhausted)?;
        self.take(&mut streams, class, instance)
    }

    /// Takes stream (`stream_class_id`, `instance`). A stream given back (its handle dropped)
    /// can be taken again and continues its sequence numbers.
    pub fn stream_in(&self, stream_class_id: u32, instance: u32) -> Result<StreamHandle<C>> {
        let mut streams = lock(&self.shared.streams);
        self.take(&mut streams, stream_class_id, instance)
    }

    fn take(
        &self,
        streams: &mut BTreeMap<(u32, u32), Slot<C>>,
        stream_class_id: u32,
        instance: u32,
    ) -> Result<StreamHandle<C>> {
        if self.shared.finished.load(Ordering::Acquire) {
            return Err(Error::Finished);
        }
        let key = (stream_class_id, instance);
        let writer = match streams.insert(key, Slot::InUse) {
            Some(Slot::Idle(writer)) => writer,
            Some(Slot::InUse) => return Err(Error::StreamInUse { stream_class: stream_class_id, instance }),
            None => {
                let created =
                    lock(&self.shared.registry).stream_params(stream_class_id, instance).and_then(|params| {
                        let memory = vec![0u8; params.packet_size as usize].into_boxed_slice();
                        StreamWriter::new(params, memory, Arc::clone(&self.shared.clock))
                    });
                match created {
                    Ok(writer) => Box::new(writer),
                    Err(error) => {
                        streams.remove(&key);
                        return Err(error);
                    }
                }
            }
        };
        Ok(StreamHandle {
            writer: Some(writer),
            output: SessionOutput { shared: Arc::clone(&self.shared) },
            key,
        })
    }

    /// Flushes the partial packet of every stream and the metadata, flushes the sink, and
    /// returns what was written. Every [`StreamHandle`] must have been dropped. Streams are
    /// all flushed even if one fails; the first error is returned.
    pub fn finish(&self) -> Result<Summary> {
        let mut streams = lock(&self.shared.streams);
        let in_use = streams.values().filter(|slot| matches!(slot, Slot::InUse)).count();
        if in_use > 0 {
            return Err(Error::StreamsOpen(in_use));
        }
        if self.shared.finished.swap(true, Ordering::AcqRel) {
            return Err(Error::Finished);
        }
        let mut output = SessionOutput { shared: Arc::clone(&self.shared) };
        let mut summary = Summary { streams: streams.len(), ..Summary::default() };
        let mut first_error = None;
        for slot in streams.values_mut() {
            if let Slot::Idle(writer) = slot {
                if let Err(error) = writer.flush(&mut output) {
                    first_error.get_or_insert(error);
                }
                let stats = writer.stats();
                summary.events_written += stats.events;
                summary.events_discarded += stats.discarded;
                summary.data_packets += stats.packets;
                summary.bytes += stats.bytes;
            }
        }
        let mut sink = lock(&self.shared.sink);
        let mut registry = lock(&self.shared.registry);
        let flushed = registry.flush(&mut **sink).and_then(|()| sink.finish());
        self.shared.metadata_dirty.store(registry.has_pending(), Ordering::Release);
        let metadata = registry.stats();
        summary.metadata_packets = metadata.packets;
        summary.bytes += metadata.bytes;
        match first_error {
            Some(error) => Err(error),
            None => flushed.map(|()| summary),
        }
    }
}

/// One thread's stream in a [`Session`]: emits without locking. Dropping it gives the stream
/// back to the session (its open packet stays open until [`StreamHandle::flush`] or
/// [`Session::finish`]).
pub struct StreamHandle<C: Clock + Send + Sync + 'static> {
    writer: Option<Box<Writer<C>>>,
    output: SessionOutput<C>,
    key: (u32, u32),
}

impl<C: Clock + Send + Sync + 'static> StreamHandle<C> {
    #[inline(always)]
    fn parts(&mut self) -> Result<(&mut Writer<C>, &mut SessionOutput<C>)> {
        match self.writer.as_deref_mut() {
            Some(writer) => Ok((writer, &mut self.output)),
            None => Err(Error::Finished),
        }
    }

    /// The stream instance ID.
    pub fn instance(&self) -> u32 {
        self.key.1
    }

    /// The stream class ID.
    pub fn stream_class_id(&self) -> u32 {
        self.key.0
    }

    /// Emits `event` timestamped by the session clock.
    #[inline]
    pub fn emit<E: EventType + ?Sized>(&mut self, handle: EventHandle<E>, event: &E) -> Result<()> {
        let (writer, output) = self.parts()?;
        writer.emit(output, handle, event)
    }

    /// Emits `event` at `timestamp` (clamped to the stream's latest, §1.7).
    #[inline]
    pub fn emit_at<E: EventType + ?Sized>(
        &mut self,
        handle: EventHandle<E>,
        event: &E,
        timestamp: u64,
    ) -> Result<()> {
        let (writer, output) = self.parts()?;
        writer.emit_at(output, handle, event, timestamp)
    }

    /// Emits a marker (§8); see [`StreamWriter::marker`].
    pub fn marker(&mut self, name: &str, format: &str, args: &[MarkerArg<'_>]) -> Result<()> {
        let (writer, output) = self.parts()?;
        writer.marker(output, name, format, args)
    }

    /// Emits a marker at `timestamp`.
    pub fn marker_at(
        &mut self,
        name: &str,
        format: &str,
        args: &[MarkerArg<'_>],
        timestamp: u64,
    ) -> Result<()> {
        let (writer, output) = self.parts()?;
        writer.marker_at(output, name, format, args, timestamp)
    }

    /// Closes and delivers the open packet.
    pub fn flush(&mut self) -> Result<()> {
        let (writer, output) = self.parts()?;
        writer.flush(output)
    }

    /// The stream's counters.
    pub fn stats(&self) -> StreamStats {
        self.writer.as_ref().map(|writer| writer.stats()).unwrap_or_default()
    }

    /// The underlying writer and its output, for the raw `reserve`/`payload`/`commit` API.
    pub fn raw(&mut self) -> Result<(&mut SessionStreamWriter<C>, &mut SessionOutput<C>)> {
        self.parts()
    }
}

impl<C: Clock + Send + Sync + 'static> Drop for StreamHandle<C> {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            lock(&self.output.shared.streams).insert(self.key, Slot::Idle(writer));
        }
    }
}
