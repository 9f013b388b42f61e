//! An open trace: its container, metadata and stream index.

use std::{path::Path, sync::OnceLock};

use tracemark_format::compress::CompressionError;

use crate::{
    bind::{BindError, Binding, DynBinding, EventSpec, TraceEvent},
    container::{Container, ContainerKind, FileRole, OpenOptions},
    count::{self, EventCounts},
    decompress::Decompressed,
    error::OpenError,
    events::{Events, EventsBetween, StreamIter},
    index,
    metadata::{self, Metadata, Version},
    packet::{self, RawPacket, Walked},
    packet_map::{self, PacketMap},
    packets::PacketView,
    pipeline,
    source::PacketSource,
    stream::StreamCursor,
    stream_id::StreamId,
    stream_index::StreamIndex,
    summary::{StreamSummary, Summary},
    Diagnostic, DiagnosticKind,
};

/// An open trace (§1.1): its files, its metadata, and its data packets indexed by stream.
///
/// Opening reads all the metadata (§7.10) and finds the data packets: from the stored index of
/// a file that has a usable one (§14), else by reading the header of each packet. A read of a
/// time window ([`Trace::events_between`]) uses the indexes and reads only the packets it
/// needs; a read of everything walks every file first, once, as the index saves it nothing.
/// Events are decoded lazily by the iterators, borrowing from the trace's bytes.
#[derive(Debug)]
pub struct Trace {
    pub(crate) container: Container,
    metadata: Metadata,
    /// What building the metadata reported.
    metadata_diagnostics: Vec<Diagnostic>,
    /// The whole metadata packets of the single file or `metadata` file: file, offset, size.
    metadata_packets: Vec<(usize, usize, usize)>,
    /// The packets as a walk of every file finds them: at open when no file has a usable index,
    /// else on first use.
    pub(crate) walked: OnceLock<PacketMap>,
    /// The packets as the stored indexes list them (files without one walked), when some file
    /// has a usable index.
    indexed: Option<PacketMap>,
    /// The first packet found not to be what its index entry says (R-14.4-2): from then on the
    /// indexes are set aside.
    index_set_aside: OnceLock<Diagnostic>,
    /// The records of the compressed packets read so far (§15).
    decompressed: Decompressed,
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
        Trace::build(Container::open(path.as_ref(), options)?, options)
    }

    /// Reads a trace in single-file form (§9.2) from bytes in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Trace, OpenError> {
        Trace::from_buffer(bytes)
    }

    /// Reads a trace in single-file form from any buffer: a `Vec<u8>`, a `&'static [u8]`,
    /// an `Arc<[u8]>`, a memory map, …
    pub fn from_buffer<B: AsRef<[u8]> + Send + Sync + 'static>(buffer: B) -> Result<Trace, OpenError> {
        Trace::build(Container::from_buffer(Box::new(buffer))?, OpenOptions::default())
    }

    fn build(container: Container, options: OpenOptions) -> Result<Trace, OpenError> {
        let found: Vec<Option<index::Found>> = container
            .files
            .iter()
            .map(|file| {
                let indexable = !options.ignore_index && file.role != FileRole::Metadata;
                indexable.then(|| index::find_stored(file).ok().flatten()).flatten()
            })
            .collect();
        let mut through_index = None;
        if found.iter().any(Option::is_some) {
            let mut listed_any = false;
            let lists: Vec<Vec<Walked>> = found
                .iter()
                .enumerate()
                .map(|(number, found)| {
                    let file = container.files.get(number);
                    let listed =
                        file.zip(found.as_ref()).and_then(|(file, found)| index::listed(number, file, found));
                    listed_any |= listed.is_some();
                    listed.unwrap_or_else(|| packet_map::walk_file(&container, number))
                })
                .collect();
            // An index of another trace is not this one's (§14.4): then every file is walked.
            if let (true, Ok((metadata, diagnostics))) = (listed_any, metadata::build(&container, &lists)) {
                if found.iter().flatten().all(|found| found.header.trace_uuid == metadata.uuid()) {
                    through_index = Some((lists, metadata, diagnostics));
                }
            }
        }
        let (lists, metadata, metadata_diagnostics, indexed) = match through_index {
            Some((lists, metadata, diagnostics)) => (lists, metadata, diagnostics, true),
            None => {
                let lists = packet_map::walk(&container);
                let (metadata, diagnostics) = metadata::build(&container, &lists)?;
                (lists, metadata, diagnostics, false)
            }
        };
        let map = PacketMap::new(&container, &lists, &metadata, &metadata_diagnostics);
        let metadata_packets = whole_metadata_packets(&container, &lists);
        // Reading the metadata faulted in some pages; reading faults them in again when it
        // gets there. Until then they need not be resident.
        for (file, item) in container.files.iter().enumerate() {
            container.release(file, 0, item.bytes().len());
        }
        let (walked, indexed) =
            if indexed { (OnceLock::new(), Some(map)) } else { (OnceLock::from(map), None) };
        Ok(Trace {
            container,
            metadata,
            metadata_diagnostics,
            metadata_packets,
            walked,
            indexed,
            index_set_aside: OnceLock::new(),
            decompressed: Decompressed::default(),
        })
    }

    /// The records of packet `raw` (§5): its content, or, when it is compressed (§15), its
    /// records, decompressed the first time they are asked for and kept while the trace is open.
    pub(crate) fn records_of(&self, raw: &RawPacket) -> Result<&[u8], CompressionError> {
        self.source().records_of(raw)
    }

    /// What the layers below read packets with.
    pub(crate) fn source(&self) -> PacketSource<'_> {
        PacketSource::new(&self.container, &self.metadata, &self.decompressed)
    }

    /// The packets as a walk of every file finds them, walking now if it has not been done:
    /// what every read of the whole trace uses.
    fn walked(&self) -> &PacketMap {
        self.walked.get_or_init(|| {
            let lists = packet_map::walk(&self.container);
            PacketMap::new(&self.container, &lists, &self.metadata, &self.metadata_diagnostics)
        })
    }

    /// The packets a read that uses only some of them plans with: the indexed map, unless the
    /// trace has none or it was set aside. `used` names, for each stream of the map, the
    /// positions of the packets the read will use: their headers are read and compared with
    /// their entries first (R-14.4-2), and when one differs the indexes are set aside and the
    /// walked map is returned. Also returns the diagnostic saying so, if they were.
    pub(crate) fn plan(
        &self,
        used: impl Fn(&StreamIndex) -> Vec<usize>,
    ) -> (&PacketMap, Option<&Diagnostic>) {
        if let (Some(indexed), None) = (&self.indexed, self.index_set_aside.get()) {
            let used: Vec<(&StreamIndex, Vec<usize>)> =
                indexed.streams.iter().map(|stream| (stream, used(stream))).collect();
            // Only these packets are read: their pages are asked for first, so that reading
            // them reads nothing around them.
            for (stream, positions) in &used {
                for entry in positions.iter().filter_map(|&position| stream.packets.get(position)) {
                    if let Some(file) = self.container.files.get(entry.raw.file) {
                        file.backing.will_need(entry.raw.offset, entry.raw.available);
                    }
                }
            }
            let differing = used.iter().find_map(|(stream, positions)| {
                positions.iter().find_map(|&position| {
                    let entry = stream.packets.get(position)?;
                    let file = self.container.files.get(entry.raw.file)?;
                    let field = packet::header_difference(file, &entry.raw)?;
                    let kind = DiagnosticKind::IndexDisagrees { field };
                    Some(Diagnostic::new(kind, entry.file_name.clone(), entry.raw.offset as u64))
                })
            });
            match differing {
                None => return (indexed, None),
                Some(diagnostic) => {
                    // Another thread may have set it first: either says the same.
                    let _ = self.index_set_aside.set(diagnostic);
                }
            }
        }
        (self.walked(), self.index_set_aside.get())
    }

    /// Whether reads of a time window go through stored indexes (§14): some file has a usable
    /// one, and no packet read through it so far differed from its entry.
    pub fn reads_through_index(&self) -> bool {
        self.indexed.is_some() && self.index_set_aside.get().is_none()
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

    /// The events the writer counted per stream in the progress file beside a directory trace
    /// (§9.5), read now: `None` without one (a single file, a writer that keeps none); the
    /// diagnostic saying why it is ignored when it is invalid or another trace's. An analysis
    /// that read every event compares them with what it got
    /// ([`WrittenCounts::undelivered`](crate::WrittenCounts::undelivered)).
    pub fn written_counts(&self) -> Option<Result<crate::WrittenCounts, Diagnostic>> {
        let directory = self.container.directory.as_deref()?;
        crate::WrittenCounts::read(directory, self.metadata.trace_info().uuid)
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
        let (map, set_aside) = self.window_plan(from, to);
        let (prelude, trailing) = map.opening_diagnostics();
        let cursors = map.streams.iter().filter_map(|stream| self.window_cursor(stream, from, to));
        EventsBetween::new(Events::new(prelude, cursors, trailing).after(set_aside), from, to)
    }

    /// The packet map a read of the window from `from` to `to` nanoseconds plans with, the
    /// packets it reads (and the one before each stream's, whose accounting it continues)
    /// compared with their index entries (R-14.4-2); and the diagnostic saying the indexes
    /// were set aside, if they were.
    pub(crate) fn window_plan(&self, from: i128, to: i128) -> (&PacketMap, Option<&Diagnostic>) {
        self.plan(|stream| {
            let clock = self.metadata.stream_clock(stream.id.class);
            let Some((first, last)) = clock.and_then(|clock| tick_window(clock, from, to)) else {
                return Vec::new();
            };
            let range = stream.window(first, last);
            (range.start.saturating_sub(1)..range.end).collect()
        })
    }

    /// A cursor over the packets of `stream` that meet the window from `from` to `to`
    /// nanoseconds (§10.8); `None` when the stream has no clock or the window holds no tick.
    pub(crate) fn window_cursor<'t, 'p>(
        &'t self,
        stream: &'t StreamIndex,
        from: i128,
        to: i128,
    ) -> Option<StreamCursor<'t, 'p>> {
        let cursor = StreamCursor::new(self.source(), stream);
        let (first, last) = tick_window(cursor.clock()?, from, to)?;
        Some(cursor.window(first, last))
    }

    /// The packets of each stream that [`Trace::events_between`] reads for the window from
    /// `from` to `to` nanoseconds, with the window in the stream's ticks. For tools that copy or
    /// rewrite the window's packets (`tracemark cut`) rather than read its events.
    pub fn packet_windows(&self, from: i128, to: i128) -> PacketWindows<'_> {
        let (map, set_aside) = self.window_plan(from, to);
        let mut windows = Vec::new();
        let mut without_time = Vec::new();
        for stream in &map.streams {
            let Some(clock) = self.metadata.stream_clock(stream.id.class) else {
                without_time.push(stream.id);
                continue;
            };
            let Some((first_tick, last_tick)) = tick_window(clock, from, to) else { continue };
            let range = stream.window(first_tick, last_tick);
            let view = |position| PacketView::at(self, stream, position);
            let before = range.start.checked_sub(1).and_then(view);
            let packets = range.filter_map(view).collect();
            windows.push(PacketWindow { id: stream.id, first_tick, last_tick, packets, before });
        }
        PacketWindows { windows, without_time, set_aside }
    }

    /// The trace's time span in nanoseconds since the epoch (§10.8): from the earliest
    /// `timestamp_begin` to the latest `timestamp_end` of the packets of the streams with a
    /// clock; `None` when no stream has one. Through the stored indexes when the trace has
    /// them: the headers read are those of the packets giving each stream's ends.
    pub fn time_span(&self) -> Option<(i128, i128)> {
        let ends = |stream: &StreamIndex| {
            let packets = &stream.packets;
            let earliest =
                (0..packets.len()).min_by_key(|&at| packets.get(at).map(|p| p.raw.header.timestamp_begin));
            let latest =
                (0..packets.len()).max_by_key(|&at| packets.get(at).map(|p| p.raw.header.timestamp_end));
            earliest.into_iter().chain(latest).collect()
        };
        let (map, _) = self.plan(ends);
        let spans = map.streams.iter().filter_map(|stream| {
            let clock = self.metadata.stream_clock(stream.id.class)?;
            let headers = stream.packets.iter().map(|packet| &packet.raw.header);
            let begin = headers.clone().map(|header| header.timestamp_begin).min()?;
            let end = headers.map(|header| header.timestamp_end).max()?;
            Some((clock.to_unix_ns(begin), clock.to_unix_ns(end)))
        });
        spans.reduce(|(begin, end), (first, last)| (begin.min(first), end.max(last)))
    }

    /// Diagnostics found while opening: problems in the metadata, then container problems
    /// (bad headers, foreign packets, …) attached to no data packet. [`Trace::events`]
    /// delivers them too (the former first, the latter last); per-stream iterators do not.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        self.walked().diagnostics()
    }

    /// Every event of every stream, in time order (§10.8: by time through each stream's clock,
    /// then ticks; streams without a clock last), with diagnostics in place.
    pub fn events(&self) -> Events<'_> {
        let (prelude, trailing) = self.opening_diagnostics();
        let streams = &self.walked().streams;
        Events::new(prelude, streams.iter().map(|stream| StreamCursor::new(self.source(), stream)), trailing)
    }

    /// The diagnostics found at open: those delivered before the events, and after.
    pub(crate) fn opening_diagnostics(&self) -> (&[Diagnostic], &[Diagnostic]) {
        self.walked().opening_diagnostics()
    }

    /// The bytes of every whole metadata packet, in container order: what a copy of the
    /// trace's declarations takes, byte for byte.
    pub fn metadata_packets(&self) -> Vec<&[u8]> {
        let packet = |&(file, offset, size): &(usize, usize, usize)| {
            let bytes = self.container.files.get(file)?.bytes();
            bytes.get(offset..offset.checked_add(size)?)
        };
        self.metadata_packets.iter().filter_map(packet).collect()
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
        pipeline::run(self.source(), self.stream_indexes(), workers, None, |pipeline| {
            let (prelude, trailing) = self.opening_diagnostics();
            let cursors = self
                .stream_indexes()
                .iter()
                .map(|stream| StreamCursor::new(self.source(), stream).with_pipeline(pipeline));
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
        &self.walked().streams
    }

    /// The streams holding data packets, ordered by (class, instance).
    pub fn stream_ids(&self) -> impl Iterator<Item = StreamId> + '_ {
        self.stream_indexes().iter().map(|stream| stream.id)
    }

    /// One stream's events in record order, with its diagnostics; `None` if the trace has no
    /// data packet of that stream.
    pub fn stream(&self, id: StreamId) -> Option<StreamIter<'_>> {
        self.stream_indexes()
            .iter()
            .find(|stream| stream.id == id)
            .map(|stream| StreamIter::new(self, stream))
    }

    /// Every stream's own iterator, ordered by (class, instance).
    pub fn streams(&self) -> impl Iterator<Item = StreamIter<'_>> + '_ {
        self.stream_indexes().iter().map(|stream| StreamIter::new(self, stream))
    }

    /// What an `info` command shows, from the metadata and the packet headers (no event is
    /// decoded).
    pub fn summary(&self) -> Summary<'_> {
        let streams = self
            .stream_indexes()
            .iter()
            .map(|stream| {
                let headers = stream.packets.iter().map(|entry| &entry.raw.header);
                StreamSummary {
                    id: stream.id,
                    name: self.metadata.stream_class(stream.id.class).map(|class| class.name.as_str()),
                    packets: stream.packets.len(),
                    bytes: stream.packets.iter().map(|entry| entry.raw.available as u64).sum(),
                    discarded: headers.clone().map(|header| header.events_discarded).max().unwrap_or(0),
                    narrow_headers: headers
                        .clone()
                        .filter(|header| header.flags.has_narrow_headers())
                        .count(),
                    compressed: headers.clone().filter(|header| header.flags.is_compressed()).count(),
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

/// The packets of one stream that a read of a time window reads ([`Trace::packet_windows`]).
#[derive(Debug, Clone)]
pub struct PacketWindow<'t> {
    /// The stream.
    pub id: StreamId,
    /// The window's first tick of the stream's clock.
    pub first_tick: u64,
    /// Its last tick, included.
    pub last_tick: u64,
    /// The packets whose time range (§4.5) meets it, in stream order.
    pub packets: Vec<PacketView<'t>>,
    /// The packet before them, whose sequence number and discard count they continue.
    pub before: Option<PacketView<'t>>,
}

/// The packets a read of a time window reads, stream by stream ([`Trace::packet_windows`]).
#[derive(Debug, Clone)]
pub struct PacketWindows<'t> {
    /// One per stream with a clock whose window holds a tick, ordered by stream.
    pub windows: Vec<PacketWindow<'t>>,
    /// The streams without a clock (their class or its clock undeclared): without a time,
    /// their events are in no window.
    pub without_time: Vec<StreamId>,
    /// Why the stored indexes were set aside (§14.4), if they were.
    pub set_aside: Option<&'t Diagnostic>,
}

/// The whole metadata packets in `lists` (one per container file) of the single file or the
/// `metadata` file, in container order: file, offset and size.
fn whole_metadata_packets(container: &Container, lists: &[Vec<Walked>]) -> Vec<(usize, usize, usize)> {
    let files = container.files.iter().zip(lists).filter(|(file, _)| file.role != FileRole::Stream);
    let packets = files.flat_map(|(_, list)| list.iter()).filter_map(|item| match item {
        Walked::Packet(raw)
            if raw.header.is_metadata() && raw.available == raw.header.packet_size as usize =>
        {
            Some((raw.file, raw.offset, raw.available))
        }
        _ => None,
    });
    packets.collect()
}
