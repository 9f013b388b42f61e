//! An open trace: its container, metadata and stream index.

use std::path::Path;

use crate::{
    bind::{BindError, Binding, DynBinding, EventSpec, TraceEvent},
    container::{Container, ContainerKind, OpenOptions},
    count::{self, EventCounts},
    error::OpenError,
    merge::{Events, EventsBetween},
    metadata::{self, Metadata, Version},
    packet,
    packets::PacketView,
    pipeline,
    stream::{self, StreamCursor, StreamId, StreamIndex, StreamIter},
    summary::{StreamSummary, Summary},
    Diagnostic,
};

/// An open trace (§1.1): its files, its metadata, and its data packets indexed by stream.
///
/// Opening reads the packet headers of every file and all the metadata (§7.10); events are
/// decoded lazily by the iterators, borrowing from the trace's bytes.
#[derive(Debug)]
pub struct Trace {
    pub(crate) container: Container,
    metadata: Metadata,
    streams: Vec<StreamIndex>,
    /// Metadata diagnostics, then container diagnostics attached to no data packet.
    diagnostics: Vec<Diagnostic>,
    /// How many of `diagnostics` are the metadata's.
    metadata_diagnostics: usize,
}

impl Trace {
    /// Opens a trace directory (§9.1) or single file (§9.2), memory-mapping its files.
    ///
    /// On Linux, a file that shrinks while the trace is open is survived: the packets it no
    /// longer holds are reported truncated (§10.4). Elsewhere the files must not be truncated
    /// while the trace is open (see [`ReadMode::Mmap`](crate::ReadMode::Mmap)); use
    /// [`Trace::open_with`] and [`ReadMode::Read`](crate::ReadMode::Read) when that cannot be
    /// guaranteed.
    pub fn open(path: impl AsRef<Path>) -> Result<Trace, OpenError> {
        Trace::open_with(path, OpenOptions::default())
    }

    /// Opens a trace directory or single file with options.
    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<Trace, OpenError> {
        Trace::build(Container::open(path.as_ref(), options)?)
    }

    /// Reads a trace in single-file form (§9.2) from bytes in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Trace, OpenError> {
        Trace::from_buffer(bytes)
    }

    /// Reads a trace in single-file form from any buffer: a `Vec<u8>`, a `&'static [u8]`,
    /// an `Arc<[u8]>`, a memory map, …
    pub fn from_buffer<B: AsRef<[u8]> + Send + Sync + 'static>(buffer: B) -> Result<Trace, OpenError> {
        Trace::build(Container::from_buffer(Box::new(buffer))?)
    }

    fn build(container: Container) -> Result<Trace, OpenError> {
        let walked: Vec<_> = container
            .files
            .iter()
            .enumerate()
            .map(|(index, file)| {
                // Headers are read once here, through `pread` where the file is mapped; pages
                // touched through the map (a search for a header after a bad one) need not stay
                // resident.
                let mut released = 0;
                let read_at = |offset: usize, buf: &mut [u8]| file.backing.read_at(offset, buf);
                packet::walk_with_progress(file.bytes(), read_at, index, &file.name, |reached| {
                    container.release(index, released, reached);
                    released = reached;
                })
            })
            .collect();
        let (metadata, mut diagnostics) = metadata::build(&container, &walked)?;
        let index = stream::index(&container, &walked, &metadata);
        // Reading the metadata and searching for headers faulted in some pages; reading faults
        // them in again when it gets there. Until then they need not be resident.
        for (file, item) in container.files.iter().enumerate() {
            container.release(file, 0, item.bytes().len());
        }
        diagnostics.extend(index.metadata_file);
        let metadata_diagnostics = diagnostics.len();
        diagnostics.extend(index.unattached);
        Ok(Trace { container, metadata, streams: index.streams, diagnostics, metadata_diagnostics })
    }

    /// The metadata: TRACE record and ABI, clocks, stream and event classes, environment.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The wire format version (§11); see [`Version::is_newer_than_reader`].
    pub fn version(&self) -> Version {
        self.metadata.version()
    }

    /// The container's form.
    pub fn kind(&self) -> ContainerKind {
        self.container.kind
    }

    /// The path opened, or `<memory>`.
    pub fn path(&self) -> &str {
        &self.container.path
    }

    /// The events whose time (§10.8: nanoseconds since the Unix epoch, through each stream's
    /// clock) lies from `from` to `to`, both included, in time order, with the diagnostics of
    /// the packets read and those found while opening.
    ///
    /// Only the packets whose time range (`timestamp_begin` to `timestamp_end`, §4.5) meets the
    /// window are decoded: reading a second of a day-long trace decodes that second's packets.
    /// The headers vouch for the ranges (a record after its packet's end is not delivered,
    /// §4.5); a record dated before its packet's `timestamp_begin`, a reported violation, is
    /// found only when its packet meets the window. Streams without a clock have no time and
    /// give nothing.
    ///
    /// ```no_run
    /// # let trace = tracemark_reader::Trace::open("trace-dir")?;
    /// let second = 1_700_000_000_000_000_000i128;
    /// let events = trace.events_between(second, second + 999_999_999).filter_map(|i| i.event()).count();
    /// # Ok::<(), tracemark_reader::OpenError>(())
    /// ```
    pub fn events_between(&self, from: i128, to: i128) -> EventsBetween<'_> {
        let (prelude, trailing) = self.opening_diagnostics();
        let cursors = self.streams.iter().filter_map(|stream| self.window_cursor(stream, from, to));
        EventsBetween::new(Events::new(prelude, cursors, trailing), from, to)
    }

    /// A cursor over the packets of `stream` that meet the window from `from` to `to`
    /// nanoseconds (§10.8); `None` when the stream has no clock or the window holds no tick.
    pub(crate) fn window_cursor<'t, 'p>(
        &'t self,
        stream: &'t StreamIndex,
        from: i128,
        to: i128,
    ) -> Option<StreamCursor<'t, 'p>> {
        let cursor = StreamCursor::new(self, stream);
        let (first, last) = tick_window(cursor.clock()?, from, to)?;
        Some(cursor.window(first, last))
    }

    /// The packets of stream `id` that [`Trace::events_between`] reads for the window from
    /// `from` to `to` nanoseconds, with the window in the stream's ticks; `None` when the
    /// stream does not exist, has no clock, or the window holds no tick of it. For tools that
    /// copy or rewrite the window's packets (`tracemark cut`) rather than read its events.
    pub fn packet_window(&self, id: StreamId, from: i128, to: i128) -> Option<PacketWindow<'_>> {
        let stream = self.streams.iter().find(|stream| stream.id == id)?;
        let (first_tick, last_tick) = tick_window(self.metadata.stream_clock(id.class)?, from, to)?;
        let range = stream.window(first_tick, last_tick);
        let all: Vec<PacketView<'_>> = self.packets(id).collect();
        let before = range.start.checked_sub(1).and_then(|before| all.get(before).copied());
        let packets = all.get(range).map(<[_]>::to_vec).unwrap_or_default();
        Some(PacketWindow { first_tick, last_tick, packets, before })
    }

    /// Diagnostics found while opening: problems in the metadata, then container problems
    /// (bad headers, foreign packets, …) attached to no data packet. [`Trace::events`]
    /// delivers them too (the former first, the latter last); per-stream iterators do not.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Every event of every stream, in time order (§10.8: by time through each stream's clock,
    /// then ticks; streams without a clock last), with diagnostics in place.
    pub fn events(&self) -> Events<'_> {
        let (prelude, trailing) = self.opening_diagnostics();
        Events::new(prelude, self.streams.iter().map(|stream| StreamCursor::new(self, stream)), trailing)
    }

    /// The diagnostics found at open: those delivered before the events, and after.
    pub(crate) fn opening_diagnostics(&self) -> (&[Diagnostic], &[Diagnostic]) {
        self.diagnostics.split_at(self.metadata_diagnostics.min(self.diagnostics.len()))
    }

    /// Binds the event type `T` to this trace's metadata (§12): every field `T` declares is
    /// found and its type checked once, here. The error names the event, the field, the type
    /// expected and the type found.
    pub fn bind<'t, T: TraceEvent<'t>>(&'t self) -> Result<Binding<'t, T>, BindError> {
        Binding::new(&self.metadata)
    }

    /// Binds a declaration built at run time; see [`EventSpec`].
    pub fn bind_spec(&self, spec: &EventSpec) -> Result<DynBinding<'_>, BindError> {
        DynBinding::new(&self.metadata, spec)
    }

    /// Counts the events of every class, decoding packets on `threads` threads (at least
    /// one); see [`EventCounts`].
    pub fn count_events(&self, threads: usize) -> EventCounts {
        count::count(self, threads)
    }

    /// Like [`Trace::events`], with `workers` threads decoding packets ahead of the iterator
    /// (checking their CRC and finding their records), for the duration of `read`.
    ///
    /// Delivery stays on the calling thread and in the same order, with the same items; only
    /// the per-packet work moves. With `workers == 0` this is [`Trace::events`].
    /// [`Trace::default_workers`] is one less than the available cores.
    ///
    /// ```no_run
    /// # let trace = tracemark_reader::Trace::open("trace-dir")?;
    /// let events = trace.with_events(trace.default_workers(), |items| items.filter_map(|i| i.event()).count());
    /// # Ok::<(), tracemark_reader::OpenError>(())
    /// ```
    pub fn with_events<R>(&self, workers: usize, read: impl FnOnce(Events<'_>) -> R) -> R {
        if workers == 0 {
            return read(self.events());
        }
        pipeline::run(self, workers, |pipeline| {
            let (prelude, trailing) = self.opening_diagnostics();
            let cursors =
                self.streams.iter().map(|stream| StreamCursor::new(self, stream).with_pipeline(pipeline));
            read(Events::new(prelude, cursors, trailing))
        })
    }

    /// Runs `read` once for each stream ([`Trace::stream_ids`]), on up to `threads` threads
    /// (the calling thread among them; at least one), and returns the results in stream order,
    /// whatever thread ran which stream.
    ///
    /// This is how an analysis that needs no order across streams uses every core: each call
    /// reads its stream alone, with [`Trace::stream`] or a [`Dispatcher`](crate::Dispatcher)
    /// restricted by [`only_stream`](crate::Dispatcher::only_stream), and keeps its own state.
    ///
    /// ```no_run
    /// # let trace = tracemark_reader::Trace::open("trace-dir")?;
    /// let per_stream: Vec<usize> =
    ///     trace.map_streams(4, |id| trace.stream(id).map_or(0, |events| events.filter_map(|i| i.event()).count()));
    /// # Ok::<(), tracemark_reader::OpenError>(())
    /// ```
    pub fn map_streams<R: Send>(&self, threads: usize, read: impl Fn(StreamId) -> R + Sync) -> Vec<R> {
        let ids: Vec<StreamId> = self.stream_ids().collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            while let Some(&id) = ids.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                done.push((id, read(id)));
            }
            done
        };
        let helpers = threads.clamp(1, ids.len().max(1)) - 1;
        let mut results = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..helpers).map(|_| scope.spawn(work)).collect();
            let mut results = work();
            for handle in handles {
                // `read` panicked on a helper thread: the caller sees the panic, as on its own.
                results.extend(handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
            }
            results
        });
        // Stream IDs are unique and `stream_ids` is sorted by them.
        results.sort_unstable_by_key(|(id, _)| *id);
        results.into_iter().map(|(_, result)| result).collect()
    }

    /// Worker threads worth using beside the calling thread: one less than the available
    /// parallelism (so 0 on a single core).
    pub fn default_workers(&self) -> usize {
        std::thread::available_parallelism().map_or(0, |cores| cores.get().saturating_sub(1))
    }

    pub(crate) fn stream_indexes(&self) -> &[StreamIndex] {
        &self.streams
    }

    /// The streams holding data packets, ordered by (class, instance).
    pub fn stream_ids(&self) -> impl Iterator<Item = StreamId> + '_ {
        self.streams.iter().map(|stream| stream.id)
    }

    /// One stream's events in record order, with its diagnostics; `None` if the trace has no
    /// data packet of that stream.
    pub fn stream(&self, id: StreamId) -> Option<StreamIter<'_>> {
        self.streams.iter().find(|stream| stream.id == id).map(|stream| StreamIter::new(self, stream))
    }

    /// Every stream's own iterator, ordered by (class, instance).
    pub fn streams(&self) -> impl Iterator<Item = StreamIter<'_>> + '_ {
        self.streams.iter().map(|stream| StreamIter::new(self, stream))
    }

    /// What an `info` command shows, from the metadata and the packet headers (no event is
    /// decoded).
    pub fn summary(&self) -> Summary<'_> {
        let streams = self
            .streams
            .iter()
            .map(|stream| {
                let headers = stream.packets.iter().map(|entry| &entry.raw.header);
                StreamSummary {
                    id: stream.id,
                    name: self.metadata.stream_class(stream.id.class).map(|class| class.name.as_str()),
                    packets: stream.packets.len(),
                    bytes: stream.packets.iter().map(|entry| entry.raw.available as u64).sum(),
                    discarded: headers.clone().map(|header| header.events_discarded).max().unwrap_or(0),
                    first_sequence: headers.clone().map(|header| header.sequence).min(),
                    last_sequence: headers.clone().map(|header| header.sequence).max(),
                    begin: headers.clone().map(|header| header.timestamp_begin).min(),
                    end: headers.map(|header| header.timestamp_end).max(),
                }
            })
            .collect();
        Summary::new(self, streams)
    }
}

/// The ticks of `clock` from the first at or after `from` nanoseconds to the last at or before
/// `to` (§7.4); `None` when there is none.
fn tick_window(clock: &tracemark_format::ClockClass, from: i128, to: i128) -> Option<(u64, u64)> {
    let first = clock.first_tick_at_or_after(from)?;
    let last = clock.last_tick_at_or_before(to)?;
    (first <= last).then_some((first, last))
}

/// The packets of one stream that a read of a time window reads ([`Trace::packet_window`]).
#[derive(Debug, Clone)]
pub struct PacketWindow<'t> {
    /// The window's first tick of the stream's clock.
    pub first_tick: u64,
    /// Its last tick, included.
    pub last_tick: u64,
    /// The packets whose time range (§4.5) meets it, in stream order.
    pub packets: Vec<PacketView<'t>>,
    /// The packet before them, whose sequence number and discard count they continue.
    pub before: Option<PacketView<'t>>,
}
